//! Oversight over HTTP on both backends: dashboards and the lists behind their numbers,
//! reminders sent as jobs through a real SMTP client to a local sink, the outbox with failures
//! and retries, jobs surviving a restart, scheduled reminders, Mẫu 1/2 and round reports.

mod common;

use bdtx_store::on;
use bdtx_testkit::{TestDb, both_backends};
use common::{App, start_with};

async fn scalar(app: &App, sql: &'static str, bind: Option<&str>) -> i64 {
    on!(&*app.db, p => {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        if let Some(b) = bind {
            q = q.bind(b.to_string());
        }
        q.fetch_one(p).await
    })
    .unwrap()
}

async fn grant_unit(app: &App, user: &str) -> i64 {
    on!(&*app.db, p => sqlx::query_scalar::<_, i64>(
        "SELECT g.unit_id FROM role_grants g JOIN accounts a ON a.id = g.account_id WHERE a.username = $1")
        .bind(user).fetch_one(p).await)
    .unwrap()
}

async fn count(app: &App, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on!(&*app.db, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(p).await).unwrap()
}

async fn post_form(c: &reqwest::Client, app: &App, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = c.post(app.url(path)).form(form).send().await.unwrap();
    let s = r.status().as_u16();
    let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    let body = r.text().await.unwrap();
    (s, loc.unwrap_or(body))
}

both_backends!(dashboards_lists_and_reminders_by_email, |db: TestDb| async move {
    let sink = bdtx_testkit::smtp::start().await;
    let smtp = sink.url();
    let app = start_with(db, 1000, |c| {
        c.smtp_url = Some(smtp);
        c.xlsx_inline_rows = 5;
    })
    .await;
    let round = scalar(&app, "SELECT MIN(id) FROM rounds", None).await;
    let province = app.unit_id("NB").await;
    let enrolled = scalar(&app, "SELECT COUNT(*) FROM enrollments WHERE status = 'active'", None).await;
    assert!(enrolled > 10);
    // The tallies the dashboards read equal a full recount after the demo's seeding.
    let fresh: std::collections::BTreeMap<_, _> =
        app.db.recount(round).await.unwrap().into_iter().filter(|(_, n)| *n != 0).collect();
    assert_eq!(app.db.tally_map(round).await.unwrap(), fresh);

    // The province sees its whole round, the number of enrollments first.
    let so = app.browser();
    app.form_login(&so, "so.admin").await;
    let page = so.get(app.url(&format!("/rounds/{round}/dashboard"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!("<span class=\"big\">{enrolled}</span>")), "{page}");
    assert!(page.contains("Đã dự sinh hoạt chuyên môn"), "attendance is a dashboard column");
    // Drill down: every child link works, and the list behind a number has that many rows.
    let school = grant_unit(&app, "hieutruong").await;
    let school_n: i64 = on!(&*app.db, p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM enrollments WHERE status = 'active' AND unit_id = $1").bind(school).fetch_one(p).await)
    .unwrap();
    let page = so
        .get(app.url(&format!("/rounds/{round}/dashboard?unit={school}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("<span class=\"big\">{school_n}</span>")), "{page}");
    let csv = so.get(app.url(&format!("/rounds/{round}/list.csv?unit={school}&from=0&to=6"))).send().await.unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\u{feff}STT,Họ và tên"), "{csv}");
    assert_eq!(csv.lines().count() as i64, school_n + 1, "{csv}");
    let xlsx = so.get(app.url(&format!("/rounds/{round}/list.xlsx?unit={school}&from=0&to=0"))).send().await.unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    // A list longer than the inline limit (5 here) is exported by a job; its file is then on
    // the jobs page, for whoever asked (and admins over it), not for a learner.
    let r = so.get(app.url(&format!("/rounds/{round}/list.xlsx?unit={province}&from=0&to=6"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let export_job: i64 =
        r.headers()["location"].to_str().unwrap().trim_start_matches("/jobs?highlight=").parse().unwrap();
    assert_eq!(so.get(app.url(&format!("/jobs/{export_job}/file"))).send().await.unwrap().status(), 404, "not yet run");
    assert_eq!(bdtx_web::worker::run_once(&app.st).await.jobs_done, 1);
    let file = so.get(app.url(&format!("/jobs/{export_job}/file"))).send().await.unwrap();
    assert_eq!(file.status(), 200);
    let bytes = file.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
    assert_eq!(sheet.height() as i64, enrolled + 1, "every enrollment and the headings");
    let jobs_page = so.get(app.url("/jobs")).send().await.unwrap().text().await.unwrap();
    assert!(jobs_page.contains(&format!("/jobs/{export_job}/file")), "{jobs_page}");
    let learner = app.browser();
    app.form_login(&learner, "giaovien").await;
    assert_eq!(learner.get(app.url(&format!("/jobs/{export_job}/file"))).send().await.unwrap().status(), 403);
    on!(&*app.db, p => sqlx::query("DELETE FROM jobs WHERE id = $1").bind(export_job).execute(p).await.map(|r| r.rows_affected())).unwrap();

    // The same numbers as JSON; out of scope is 403.
    let (s, v) = app.get(&app.token("so.admin").await, &format!("/api/v1/rounds/{round}/dashboard")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["unit"]["counts"]["enrolled"].as_i64(), Some(enrolled), "{v}");
    let sum: i64 = v["children"].as_array().unwrap().iter().map(|c| c["counts"]["enrolled"].as_i64().unwrap()).sum();
    assert_eq!(sum, enrolled, "the children add up: {v}");
    let (s, v) =
        app.get(&app.token("hieutruong").await, &format!("/api/v1/rounds/{round}/dashboard?unit={province}")).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("forbidden")), "{v}");
    // A school admin sees their school, not the province or another school.
    let head = app.browser();
    let csrf = app.form_login(&head, "hieutruong").await;
    assert_eq!(head.get(app.url(&format!("/rounds/{round}/dashboard"))).send().await.unwrap().status(), 200);
    assert_eq!(
        head.get(app.url(&format!("/rounds/{round}/dashboard?unit={province}"))).send().await.unwrap().status(),
        403
    );
    let other: i64 = on!(&*app.db, p => sqlx::query_scalar::<_, i64>(
        "SELECT MIN(unit_id) FROM enrollments WHERE unit_id <> $1").bind(school).fetch_one(p).await)
    .unwrap();
    assert_eq!(
        head.get(app.url(&format!("/rounds/{round}/list.csv?unit={other}"))).send().await.unwrap().status(),
        403
    );

    // Reminding another school is refused; a too-short message is refused; nothing is queued.
    let other_s = other.to_string();
    let school_s = school.to_string();
    let remind = |unit: &str, msg: &str, nonce: &str| {
        vec![
            ("_csrf".to_string(), csrf.clone()),
            ("scope".into(), "u".into()),
            ("id".into(), unit.to_string()),
            ("from".into(), "0".into()),
            ("to".into(), "6".into()),
            ("message".into(), msg.to_string()),
            ("nonce".into(), nonce.to_string()),
        ]
    };
    let send = |form: Vec<(String, String)>| {
        let head = head.clone();
        let url = app.url(&format!("/rounds/{round}/remind"));
        async move {
            let r = head.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.headers().get("location").map(|l| l.to_str().unwrap().to_string()))
        }
    };
    assert_eq!(send(remind(&other_s, "Nhắc học đúng hạn", "a1")).await.0, 403);
    assert_eq!(send(remind(&school_s, "Hi", "a2")).await.0, 422);
    assert_eq!(count(&app, "jobs").await, 0);
    // Each rendering of a list's reminder form carries a fresh nonce (a later reminder is new).
    let nonce = || async {
        let page = head
            .get(app.url(&format!("/rounds/{round}/list?unit={school}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let i = page.find("name=\"nonce\" value=\"").expect("reminder form") + 20;
        page[i..i + page[i..].find('"').unwrap()].to_string()
    };
    let (n1, n2) = (nonce().await, nonce().await);
    assert!(n1.len() >= 12 && n1 != n2, "{n1} {n2}");
    // One reminder, sent twice by a double click: one job.
    let (s, loc) = send(remind(&school_s, "Đề nghị thầy/cô hoàn thành mô đun trước hạn.", "n1")).await;
    assert_eq!(s, 303);
    assert!(loc.unwrap().starts_with("/jobs?highlight="));
    send(remind(&school_s, "Đề nghị thầy/cô hoàn thành mô đun trước hạn.", "n1")).await;
    assert_eq!(count(&app, "jobs").await, 1);

    // The worker runs the job: a notification per learner, one e-mail each over SMTP.
    let pass = bdtx_web::worker::run_once(&app.st).await;
    assert_eq!((pass.jobs_done, pass.mails_sent as i64, pass.mails_failed), (1, school_n, 0), "{pass:?}");
    let got = sink.messages();
    assert_eq!(got.len() as i64, school_n);
    assert!(got.iter().all(|m| m.to.len() == 1 && m.to[0].ends_with("@demo.bdtx.vn")));
    assert!(got[0].data.contains("Subject:"), "{}", got[0].data);
    let reminded = scalar(&app, "SELECT COUNT(*) FROM notifications WHERE kind = 'reminder'", None).await;
    assert_eq!(reminded, school_n);
    // Running again sends nothing twice.
    assert_eq!(bdtx_web::worker::run_once(&app.st).await, bdtx_web::worker::Pass::default());
    assert_eq!(sink.messages().len() as i64, school_n);
    let outbox = head.get(app.url("/outbox?status=sent")).send().await.unwrap().text().await.unwrap();
    assert!(outbox.contains("@demo.bdtx.vn"), "{outbox}");

    // A refused address: retried with backoff, then failed after five tries; an admin retries it.
    let victim: i64 = on!(&*app.db, p => sqlx::query_scalar::<_, i64>(
        "SELECT MIN(person_id) FROM enrollments WHERE unit_id = $1").bind(school).fetch_one(p).await)
    .unwrap();
    on!(&*app.db, p => sqlx::query("UPDATE people SET email = 'reject-me@demo.bdtx.vn' WHERE id = $1").bind(victim).execute(p).await.map(|r| r.rows_affected())).unwrap();
    let (s, _) = send(remind(&school_s, "Lần nhắc thứ hai cho cả trường.", "n2")).await;
    assert_eq!(s, 303);
    let pass = bdtx_web::worker::run_once(&app.st).await;
    assert_eq!((pass.mails_sent as i64, pass.mails_failed), (school_n - 1, 1));
    for _ in 0..4 {
        on!(&*app.db, p => sqlx::query("UPDATE outbox SET next_try_at = 0 WHERE status = 'pending'").execute(p).await.map(|r| r.rows_affected())).unwrap();
        assert_eq!(bdtx_web::worker::run_once(&app.st).await.mails_failed, 1);
    }
    let failed: i64 = scalar(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = 5", None).await;
    assert_eq!(failed, 1);
    let id = scalar(&app, "SELECT id FROM outbox WHERE status = 'failed'", None).await;
    let page = head.get(app.url("/outbox?status=failed")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("reject-me@demo.bdtx.vn") && page.contains("550"), "{page}");
    let (s, _) = post_form(&head, &app, &format!("/outbox/{id}/retry"), &[("_csrf", &csrf)]).await;
    assert_eq!(s, 303);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'", None).await, 1);
    // Another school's admin may not retry it.
    let xa = app.browser();
    let xa_csrf = app.form_login(&xa, "giaovien").await;
    assert_eq!(post_form(&xa, &app, &format!("/outbox/{id}/retry"), &[("_csrf", &xa_csrf)]).await.0, 403);

    // A job whose worker died (lease run out) is taken again after a restart.
    let (job, _) = app
        .db
        .enqueue_job(&bdtx_store::jobs::NewJob {
            kind: "rebuild_tallies",
            payload: serde_json::json!({ "round_id": round }),
            dedupe_key: None,
            unit_id: Some(province),
            created_by: None,
            run_at: None,
        })
        .await
        .unwrap();
    let claimed = app.db.claim_job().await.unwrap().unwrap();
    assert_eq!(claimed.id, job);
    assert!(app.db.claim_job().await.unwrap().is_none(), "a running job is not taken twice");
    on!(&*app.db, p => sqlx::query("UPDATE jobs SET locked_until = 0 WHERE id = $1").bind(job).execute(p).await.map(|r| r.rows_affected())).unwrap();
    assert_eq!(bdtx_web::worker::run_once(&app.st).await.jobs_done, 1);
    assert_eq!(app.db.job(job).await.unwrap().unwrap().status, "done");
    assert_eq!(app.db.tally_map(round).await.unwrap(), fresh);
});

both_backends!(scheduled_reminders_reports_and_class_forms, |db: TestDb| async move {
    let app = start_with(db, 1000, |_| {}).await;
    let round = scalar(&app, "SELECT MIN(id) FROM rounds", None).await;
    // One learner's window closes in two days: the daily job reminds them once.
    let learner_enrollment: i64 = scalar(
        &app,
        "SELECT MIN(e.id) FROM enrollments e JOIN accounts a ON a.person_id = e.person_id WHERE a.username = $1",
        Some("giaovien"),
    )
    .await;
    let soon = bdtx_domain::dates::iso(bdtx_domain::dates::today() + chrono::Days::new(2));
    on!(&*app.db, p => sqlx::query("UPDATE enrollments SET ends_on = $2 WHERE id = $1").bind(learner_enrollment).bind(&soon).execute(p).await.map(|r| r.rows_affected())).unwrap();
    bdtx_web::worker::schedule_daily(&app.st).await.unwrap();
    bdtx_web::worker::schedule_daily(&app.st).await.unwrap();
    assert_eq!(count(&app, "jobs").await, 1, "one scheduled job a day");
    bdtx_web::worker::run_once(&app.st).await;
    let closing = scalar(&app, "SELECT COUNT(*) FROM notifications WHERE link LIKE '%close:%'", None).await;
    assert_eq!(closing, 1);
    // Mail waits in the outbox when no SMTP server is configured.
    assert!(scalar(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'", None).await >= 1);
    on!(&*app.db, p => sqlx::query("UPDATE jobs SET dedupe_key = 'old'").execute(p).await.map(|r| r.rows_affected()))
        .unwrap();
    bdtx_web::worker::schedule_daily(&app.st).await.unwrap();
    bdtx_web::worker::run_once(&app.st).await;
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM notifications WHERE link LIKE '%close:%'", None).await, 1);

    // The class's core teacher exports Mẫu 1 and files a supplement request (Mẫu 2).
    let class: i64 = on!(&*app.db, p => sqlx::query_scalar::<_, i64>("SELECT class_id FROM enrollments WHERE id = $1")
        .bind(learner_enrollment).fetch_one(p).await)
    .unwrap();
    let core = app.browser();
    let csrf = app.form_login(&core, "cotcan").await;
    let r = core.get(app.url(&format!("/classes/{class}/mau-1.xlsx"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The core teacher reminds their class and is sent back to its list (not to the admins'
    // jobs page).
    let jobs_before = count(&app, "jobs").await;
    let (s, loc) = post_form(
        &core,
        &app,
        &format!("/rounds/{round}/remind"),
        &[
            ("_csrf", &csrf),
            ("scope", "c"),
            ("id", &class.to_string()),
            ("from", "0"),
            ("to", "2"),
            ("message", "Các thầy cô nhớ nộp bài tập cuối khóa."),
            ("nonce", "lop1"),
        ],
    )
    .await;
    assert_eq!(s, 303, "{loc}");
    assert!(loc.contains(&format!("class={class}")) && loc.contains("ok=dash.reminder_queued"), "{loc}");
    assert_eq!(count(&app, "jobs").await, jobs_before + 1);
    let page = core.get(app.url(&loc)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Đã xếp lịch gửi nhắc nhở"), "{page}");
    let learner = app.browser();
    let l_csrf = app.form_login(&learner, "giaovien").await;
    assert_eq!(learner.get(app.url(&format!("/classes/{class}/mau-1.xlsx"))).send().await.unwrap().status(), 403);
    let path = format!("/classes/{class}/supplements");
    let (s, body) =
        post_form(&core, &app, &path, &[("_csrf", &csrf), ("full_name", " "), ("school", "Trường THCS X")]).await;
    assert_eq!(s, 422, "{body}");
    let (s, _) = post_form(
        &core,
        &app,
        &path,
        &[("_csrf", &csrf), ("full_name", "Nguyễn Văn Ba"), ("school", "Trường THCS X"), ("phone", "12")],
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(count(&app, "supplement_requests").await, 0);
    let (s, _) = post_form(
        &core,
        &app,
        &path,
        &[("_csrf", &csrf), ("full_name", "nguyễn văn ba"), ("school", "Trường THCS X"), ("birth_date", "02/09/1990")],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        post_form(&learner, &app, &path, &[("_csrf", &l_csrf), ("full_name", "A B"), ("school", "X")]).await.0,
        403
    );
    let page = core.get(app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Nguyễn Văn Ba"), "{page}");
    let r = core.get(app.url(&format!("/classes/{class}/mau-2.xlsx"))).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Round reports: the school submits its own; the commune cannot submit for it; the province
    // sees who has submitted, and who is late once the due date has passed.
    let school = grant_unit(&app, "hieutruong").await;
    let head = app.browser();
    let h_csrf = app.form_login(&head, "hieutruong").await;
    let xa = app.browser();
    let xa_csrf = app.form_login(&xa, "xa.admin").await;
    let school_s = school.to_string();
    let rpath = format!("/rounds/{round}/reports");
    assert_eq!(post_form(&xa, &app, &rpath, &[("_csrf", &xa_csrf), ("unit", &school_s), ("note", "x")]).await.0, 403);
    let (s, _) =
        post_form(&head, &app, &rpath, &[("_csrf", &h_csrf), ("unit", &school_s), ("note", "Đã hoàn thành 90%")]).await;
    assert_eq!(s, 303);
    assert_eq!(count(&app, "round_reports").await, 1);
    let so = app.browser();
    let so_csrf = app.form_login(&so, "so.admin").await;
    assert_eq!(
        post_form(&head, &app, &format!("{rpath}/due"), &[("_csrf", &h_csrf), ("due", "01/01/2020")]).await.0,
        403
    );
    assert_eq!(post_form(&so, &app, &format!("{rpath}/due"), &[("_csrf", &so_csrf), ("due", "hôm qua")]).await.0, 422);
    let r = post_form(&so, &app, &format!("{rpath}/due"), &[("_csrf", &so_csrf), ("due", "01/01/2020")]).await;
    assert_eq!(r.0, 303, "{}", r.1);
    let parent = app.db.ancestors(school, bdtx_domain::dates::today()).await.unwrap()[1];
    let page = so.get(app.url(&format!("{rpath}?unit={parent}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Đã hoàn thành 90%"), "{page}");
    assert!(page.contains("nộp muộn / quá hạn"), "the due date has passed: {page}");
});
