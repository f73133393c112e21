//! Start the real server (port 0) over a test database seeded with a small demo province.
#![allow(dead_code)]

use std::net::SocketAddr;

use bdtx_testkit::TestDb;
use serde_json::{Value, json};

pub struct App {
    pub base: String,
    pub db: TestDb,
    pub files: std::path::PathBuf,
    /// The server's state (to drive the background worker in tests).
    pub st: bdtx_web::AppState,
    _files: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

pub const PW: &str = bdtx_store::demo::DEMO_PASSWORD;

pub async fn start(db: TestDb, login_per_minute: u32) -> App {
    start_with(db, login_per_minute, |_| {}).await
}

/// [`start`] with the configuration adjusted (e.g. e-mail going to a local sink).
pub async fn start_with(db: TestDb, login_per_minute: u32, configure: impl FnOnce(&mut bdtx_web::Config)) -> App {
    bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 2 }).await.expect("seed demo");
    let files = tempfile::tempdir().unwrap();
    bdtx_store::demo::seed_lms(&db, &bdtx_course::FileStore::new(files.path())).await.expect("seed demo training");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = bdtx_web::Config::for_listen(&addr);
    cfg.login_per_minute = login_per_minute;
    cfg.files_dir = files.path().to_path_buf();
    configure(&mut cfg);
    let st = bdtx_web::AppState::new(db.db.clone(), cfg);
    let app = bdtx_web::app(st.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    App { base: format!("http://{addr}"), db, files: files.path().to_path_buf(), st, _files: files, _server: server }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: cookies, no automatic redirects.
    pub fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
    }

    pub async fn token(&self, user: &str) -> String {
        let r = reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login {user}");
        r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    pub async fn api(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = reqwest::Client::new().request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.api(token, reqwest::Method::GET, path, None).await
    }

    /// The id of a person found by name within the province, as the province admin sees it.
    pub async fn person_id(&self, name: &str) -> i64 {
        let t = self.token("so.admin").await;
        let (s, v) = self.get(&t, &format!("/api/v1/people?q={}", urlencoding(name))).await;
        assert_eq!(s, 200, "{v}");
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["full_name"] == name)
            .unwrap_or_else(|| panic!("{name} not found: {v}"))["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn unit_id(&self, code: &str) -> i64 {
        self.db.unit_by_code(code).await.unwrap().unwrap().id
    }

    /// Log a browser in through the form; returns its CSRF token.
    pub async fn form_login(&self, c: &reqwest::Client, user: &str) -> String {
        let page = c.get(self.url("/login")).send().await.unwrap().text().await.unwrap();
        let csrf = extract_csrf(&page);
        let r = c
            .post(self.url("/login"))
            .form(&[("_csrf", csrf.as_str()), ("username", user), ("password", PW), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "form login {user}");
        let home = c.get(self.url("/")).send().await.unwrap().text().await.unwrap();
        extract_csrf(&home)
    }
}

pub fn extract_csrf(html: &str) -> String {
    let i = html.find("name=\"_csrf\" value=\"").expect("csrf field") + "name=\"_csrf\" value=\"".len();
    html[i..i + html[i..].find('"').unwrap()].to_string()
}

pub fn urlencoding(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
