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

/// The binary in `dir`, with only the arguments given (no database from the environment).
fn bdtx_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bdtx"))
        .args(args)
        .current_dir(dir)
        .env_remove("BDTX_DATABASE_URL")
        .env_remove("BDTX_FILES_DIR")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run bdtx")
}

const ROSTER: &str = "STT,Họ và tên,Ngày sinh,Số CCCD,Tỉnh,Xã/Phường,Trường,Cấp học,Chức vụ\n\
    1,Hoàng Thị Thuý,12/03/1995,037195001001,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Giáo viên\n\
    2,Phạm Văn Cường,31/02/1990,037090001004,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Giáo viên\n";

#[test]
fn commands_create_no_database_they_do_not_need() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    // generating a roster needs no database: none appears in ./data
    ok(&bdtx_in(d, &["generate", "roster", "--people", "10", "--out", "ds.csv"]));
    assert!(d.join("ds.csv").exists());
    assert!(!d.join("data").exists(), "generate created ./data");
    // a dry run on a database that does not exist says so and creates nothing
    let url = format!("sqlite://{}", d.join("new.db").display());
    let out = bdtx_in(d, &["import", "roster", "ds.csv", "--dry-run", "--database-url", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("chưa tồn tại") && stderr(&out).contains("new.db"), "{}", stderr(&out));
    assert!(!d.join("new.db").exists(), "the dry run created the database");
    // a missing input file is named before any database is opened
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["import", "roster", "khong-co.csv", "--database-url", &url];
        args.extend_from_slice(extra);
        let out = bdtx_in(d, &args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("Không đọc được tệp khong-co.csv"), "{}", stderr(&out));
        assert!(!d.join("new.db").exists(), "an import of a missing file created the database");
    }
}

#[test]
fn an_unwritable_error_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).to_string();
    let url = format!("sqlite://{}", d.join("bdtx.db").display());
    ok(&bdtx_in(d, &["migrate", "--database-url", &url]));
    std::fs::write(d.join("ds.csv"), ROSTER).unwrap();
    let bad = "/nonexistent/dir/x.xlsx";
    // planned in batches (dry run) and streamed into an empty database (first load)
    for extra in [&["--dry-run"][..], &[][..]] {
        let mut args = vec!["import", "roster", "ds.csv", "--create-units", "--errors", bad, "--database-url", &url];
        args.extend_from_slice(extra);
        let out = bdtx_in(d, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("không ghi được tệp danh sách lỗi /nonexistent/dir/x.xlsx"), "{err}");
        assert!(!err.contains("không đọc được tệp"), "{err}");
    }
    // a huge --max-mb is no overflow panic
    let out =
        bdtx_in(d, &["import", "roster", "ds.csv", "--dry-run", "--max-mb", "17592186044416", "--database-url", &url]);
    assert_eq!(out.status.code(), Some(1), "one row rejected: {}", stderr(&out));
}
