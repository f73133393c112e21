//! A real browser (Debian's chromium driven through chromedriver) logs in, browses the
//! organisation tree and finds a person, on a phone-sized window. Skips when the browser is not
//! installed, except under CI=true, where that is a failure.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

/// Kills chromedriver (and with it the browser) even when the test panics.
struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_binary(names: &[&str]) -> Option<String> {
    names.iter().find(|p| std::path::Path::new(p).exists()).map(|p| p.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_browse_tree_and_search_in_chromium() {
    let chromium = find_binary(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let driver_bin = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let (Some(chromium), Some(driver_bin)) = (chromium, driver_bin) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but chromium/chromedriver are not installed");
        }
        eprintln!("skipping browser test: chromium/chromedriver not installed");
        return;
    };
    let db = bdtx_testkit::db(bdtx_testkit::Backend::Sqlite).await.unwrap();
    let app = common::start(db, 100).await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _driver = Driver(
        Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=390,844", format!("--user-data-dir={}", profile.path().display()), "--lang=vi"]
        }),
    );
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let c = client.expect("connect to chromedriver");

    // Log in as the provincial administrator.
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Id("username")).await.unwrap().send_keys("so.admin").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(common::PW).await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("a[href='/units']")).await.unwrap();
    let home = c.source().await.unwrap();
    assert!(home.contains("Quản trị cấp Sở"), "home shows the role in Vietnamese");

    // Browse the tree: the province, then a commune, then one of its clusters.
    c.find(Locator::Css("header a[href='/units']")).await.unwrap().click().await.unwrap();
    let commune = c.wait().for_element(Locator::LinkText("Xã Kim Đông")).await.unwrap();
    commune.click().await.unwrap();
    let h1 = c.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert_eq!(h1.text().await.unwrap(), "Xã Kim Đông");
    c.find(Locator::XPath("//a[starts-with(normalize-space(.), 'Cụm trường số 1')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h1 = c.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert!(h1.text().await.unwrap().starts_with("Cụm trường số 1"));
    // The tree at a date before the 2025 merger shows the former province.
    c.goto(&app.url("/units")).await.unwrap();
    let at = c.find(Locator::Id("at")).await.unwrap();
    at.clear().await.unwrap();
    at.send_keys("01/01/2024").await.unwrap();
    c.find(Locator::Css("form.row button")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::LinkText("Sở Giáo dục và Đào tạo Hà Nam")).await.unwrap();

    // Search a person without typing accents.
    c.find(Locator::Css("header a[href='/people']")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Id("q")).await.unwrap().send_keys("nguyen van an").await.unwrap();
    c.find(Locator::Id("search")).await.unwrap().click().await.unwrap();
    // The unfiltered list may already show the same name: wait for the results page itself.
    for _ in 0..100 {
        if c.current_url().await.unwrap().as_str().contains("q=nguyen") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(c.current_url().await.unwrap().as_str().contains("q=nguyen+van+an"));
    let results = c.source().await.unwrap();
    assert!(results.contains("Nguyễn Văn An"), "accent-insensitive search found him");
    c.wait().for_element(Locator::LinkText("Nguyễn Văn An")).await.unwrap().click().await.unwrap();
    let h1 = c.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert_eq!(h1.text().await.unwrap(), "Nguyễn Văn An");

    // Usable on a phone: nothing wider than the screen.
    let overflow = c.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
    assert!(overflow.as_i64().unwrap_or(0) <= 0, "page wider than a 390px phone: {overflow}");

    // A teacher on a phone opens their course, reads a lesson and takes a quiz.
    c.delete_all_cookies().await.unwrap();
    c.goto(&app.url("/login")).await.unwrap();
    c.find(Locator::Id("username")).await.unwrap().send_keys("giaovien").await.unwrap();
    c.find(Locator::Id("password")).await.unwrap().send_keys(common::PW).await.unwrap();
    c.find(Locator::Id("login")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("header a[href='/learn']")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("ul.cards a")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("progress")).await.unwrap();
    c.find(Locator::Css("ol a")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("article.lesson")).await.unwrap();
    c.find(Locator::Css("form button[type=submit]:not(.link)")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("p.flash")).await.unwrap();
    let lesson_url = c.current_url().await.unwrap();
    c.goto(lesson_url.as_str().replace("bai-1-1", "kiem-tra-1").split('?').next().unwrap()).await.unwrap();
    c.wait().for_element(Locator::Css("form.quiz")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(!page.contains("correct"), "answers are not sent to the browser");
    // Answer every question: first option of each radio group and of each select.
    c.execute(
        "document.querySelectorAll('form.quiz fieldset').forEach(f => {
           const r = f.querySelector('input[type=radio], input[type=checkbox]'); if (r) r.checked = true;
           f.querySelectorAll('select').forEach((s, i) => { s.selectedIndex = i + 1; });
         }); return true;",
        vec![],
    )
    .await
    .unwrap();
    let overflow = c.execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![]).await.unwrap();
    assert!(overflow.as_i64().unwrap_or(0) <= 0, "quiz wider than a 390px phone: {overflow}");
    c.find(Locator::Css("form.quiz button[type=submit]")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("p.flash")).await.unwrap();
    let result = c.source().await.unwrap();
    assert!(result.contains("Kết quả") && result.contains("Đã nộp bài kiểm tra"), "the quiz result is shown");

    c.close().await.unwrap();
}
