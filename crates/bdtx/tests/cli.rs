//! Boot the real `bdtx` binary against each database: migrate, create-admin, demo, backup, serve.

use std::process::{Command, Stdio};
use std::time::Duration;

use bdtx_testkit::{TestDb, both_backends};

fn bdtx(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bdtx"))
        .args(args)
        .env("BDTX_DATABASE_URL", url)
        .env("BDTX_ADMIN_PASSWORD", "mật khẩu quản trị")
        .env("BDTX_FILES_DIR", files_dir())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run bdtx")
}

/// Course media and uploads of the CLI tests (never the source tree).
fn files_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("bdtx-cli-test-files")
}

fn ok(out: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    stdout
}

both_backends!(binary_migrates_seeds_backs_up_and_serves, |db: TestDb| async move {
    let url = db.url.clone();
    ok(&bdtx(&url, &["migrate"]));
    let out = ok(&bdtx(&url, &["demo", "--teachers-per-school", "1"]));
    assert!(out.contains("so.admin") && out.contains("bdtx-demo-2026"), "{out}");
    let again = bdtx(&url, &["demo"]);
    assert!(!again.status.success(), "the demo refuses a database that has data");
    ok(&bdtx(&url, &["create-admin", "--username", "root", "--role", "province_admin", "--unit", "NB"]));
    let dup = bdtx(&url, &["create-admin", "--username", "root"]);
    assert!(!dup.status.success(), "usernames are unique");
    let bad = bdtx("mysql://nope", &["migrate"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unsupported database URL"));

    // A course package: the demo course again becomes version 2; a broken one changes nothing.
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../course/demo/gv4660-02");
    let out = ok(&bdtx(&url, &["import", "course", demo]));
    assert!(out.contains("phiên bản 2"), "{out}");
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("course.yaml"), "module_code: GV4660-02\nsections: [").unwrap();
    let bad = bdtx(&url, &["import", "course", broken.path().to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("course.yaml"), "{}", String::from_utf8_lossy(&bad.stderr));

    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    ok(&bdtx(&url, &["backup", "--out", backup.to_str().unwrap()]));
    assert!(std::fs::metadata(&backup).unwrap().len() > 10_000);
    assert!(!bdtx(&url, &["backup", "--out", backup.to_str().unwrap()]).status.success(), "never overwrites");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_bdtx"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("BDTX_DATABASE_URL", &url)
        .env("BDTX_FILES_DIR", files_dir())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "root", "password": "mật khẩu quản trị"}))
        .send()
        .await;
    let _ = server.kill();
    let _ = server.wait();
    assert!(up, "server answered /healthz");
    assert_eq!(login.unwrap().status(), 200);
});
