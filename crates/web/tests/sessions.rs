//! Professional-activity sessions (sinh hoạt chuyên môn) over HTTP on both backends: scheduled by
//! an admin with the default dates prefilled, attendance ticked by the facilitator or a school
//! admin, learners checking in with the rotating QR code, the minutes kept by content, and the
//! learner's record. Every bad input shows a clear message and changes nothing.

mod common;

use bdtx_domain::activity::{default_dates, qr_sign};
use bdtx_domain::authz::Role;
use bdtx_domain::dates::{iso, now_unix, show};
use bdtx_domain::round::Delivery;
use bdtx_store::{Db, on};
use bdtx_testkit::{TestDb, both_backends};
use common::{App, PW, start};

async fn person_of(app: &App, user: &str) -> i64 {
    app.db.account_by_username(user).await.unwrap().unwrap().person_id.unwrap()
}

type FormBody = Vec<(&'static str, String)>;

async fn post(app: &App, c: &reqwest::Client, path: &str, form: FormBody) -> reqwest::Response {
    c.post(app.url(path)).form(&form).send().await.unwrap()
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on!(db, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(p).await).unwrap()
}

async fn admin_login(app: &App, username: &str, role: Role, unit: i64) {
    let hash = bdtx_store::password::hash_async(PW.to_string()).await;
    let acc = app.db.create_account(username, None, Some(hash)).await.unwrap();
    app.db.grant_role(None, acc, role, unit).await.unwrap();
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

fn session_id(r: &reqwest::Response) -> i64 {
    let loc = location(r);
    let rest = loc.strip_prefix("/sessions/").unwrap_or_else(|| panic!("{loc}"));
    rest[..rest.find('?').unwrap_or(rest.len())].parse().unwrap()
}

fn schedule(csrf: &str, unit: i64, facilitator: i64, starts: &str, ends: &str) -> FormBody {
    vec![
        ("_csrf", csrf.to_string()),
        ("unit", unit.to_string()),
        ("kind", "professional".into()),
        ("topic", "Thảo luận vận dụng mô đun 2 vào kế hoạch dạy học".into()),
        ("facilitator", facilitator.to_string()),
        ("place", "Phòng hội đồng nhà trường".into()),
        ("starts_on", starts.to_string()),
        ("ends_on", ends.to_string()),
    ]
}

/// The check-in link a QR page shows (its token).
fn token_of(page: &str, session: i64) -> String {
    let marker = format!("/sessions/{session}/checkin?t=");
    let i = page.find(&marker).unwrap_or_else(|| panic!("{page}")) + marker.len();
    page[i..i + page[i..].find('"').unwrap()].to_string()
}

fn multipart(bytes: &[u8], name: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part("minutes", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()))
}

both_backends!(sessions_scheduled_attended_by_list_and_qr, |db: TestDb| async move {
    let app = start(db, 200).await;
    let core = person_of(&app, "cotcan").await;
    let learner = person_of(&app, "giaovien").await;
    let e = app.db.enrollments_of(learner).await.unwrap()[0].clone();
    let round = app.db.round(e.round_id).await.unwrap().unwrap();
    assert_eq!(round.module_code, "GV4660-02");
    let school = e.unit_id;
    let unit = app.db.unit(school).await.unwrap().unwrap();
    admin_login(&app, "truong.admin", Role::SchoolAdmin, school).await;

    // The province's admin opens the schedule form for the learner's school: the default dates
    // are the 3 days after the first 5 days of the school's window.
    let so = app.browser();
    let csrf = app.form_login(&so, "so.admin").await;
    let windows: Vec<_> = app.db.windows(round.id).await.unwrap().iter().filter_map(|w| w.window()).collect();
    let levels = bdtx_domain::org::parse_levels(&unit.levels).unwrap();
    let (a, b) = default_dates(Delivery::SelfStudy, &windows, &levels, None).unwrap();
    let (a, b) = (show(&iso(a)), show(&iso(b)));
    let page = so.get(app.url(&format!("/rounds/{}/sessions?unit={school}", round.id))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!("name=\"starts_on\" value=\"{a}\"")), "{page}");
    assert!(page.contains(&format!("name=\"ends_on\" value=\"{b}\"")), "{page}");
    assert!(page.contains(&format!("<option value=\"{core}\">")), "core people are offered: {page}");
    let round_page = so.get(app.url(&format!("/rounds/{}", round.id))).send().await.unwrap().text().await.unwrap();
    assert!(round_page.contains(&format!("/rounds/{}/sessions", round.id)));

    // A facilitator who is not core: a clear message, nothing scheduled.
    let r = post(&app, &so, &format!("/rounds/{}/sessions", round.id), schedule(&csrf, school, learner, &a, &b)).await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("Người chủ trì: không phải GV/CBQL cốt cán của mô đun này")
            && text.contains("chưa có gì thay đổi"),
        "{text}"
    );
    assert_eq!(count(&app.db, "activity_sessions").await, 0);
    // A learner may not schedule.
    let gv = app.browser();
    let gcsrf = app.form_login(&gv, "giaovien").await;
    let r = post(&app, &gv, &format!("/rounds/{}/sessions", round.id), schedule(&gcsrf, school, core, &a, &b)).await;
    assert_eq!(r.status(), 403);
    assert_eq!(count(&app.db, "activity_sessions").await, 0);

    let r = post(&app, &so, &format!("/rounds/{}/sessions", round.id), schedule(&csrf, school, core, &a, &b)).await;
    assert_eq!(r.status(), 303);
    let id = session_id(&r);
    let s = app.db.activity_session(id).await.unwrap().unwrap();
    assert_eq!((s.facilitator_person_id, show(&s.starts_on), show(&s.ends_on)), (core, a.clone(), b.clone()));
    // A second session (for the "another session's code" case), and a past one.
    let r = post(&app, &so, &format!("/rounds/{}/sessions", round.id), schedule(&csrf, school, core, &a, &b)).await;
    assert_eq!(r.status(), 303);
    let other = session_id(&r);
    let first_day = windows.iter().map(|w| w.opens).min().unwrap();
    let past = show(&iso(first_day));
    let r =
        post(&app, &so, &format!("/rounds/{}/sessions", round.id), schedule(&csrf, school, core, &past, &past)).await;
    assert_eq!(r.status(), 303);
    let past_id = session_id(&r);

    // The facilitator sees the list of the school's learners; a learner does not.
    let cc = app.browser();
    let ccsrf = app.form_login(&cc, "cotcan").await;
    let page = cc.get(app.url(&format!("/sessions/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("name=\"present\" value=\"{}\"", e.id)), "{page}");
    assert_eq!(gv.get(app.url(&format!("/sessions/{id}"))).send().await.unwrap().status(), 403);
    let mine = cc.get(app.url("/sessions")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains(&format!("/sessions/{id}/qr")), "{mine}");
    let list = cc.get(app.url(&format!("/rounds/{}/sessions", round.id))).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("/sessions/{id}\"")) && !list.contains("name=\"unit\""), "{list}");
    assert_eq!(gv.get(app.url(&format!("/rounds/{}/sessions", round.id))).send().await.unwrap().status(), 403);

    // Attendance for someone not enrolled at the school: a clear message, nothing recorded.
    let outsider: i64 = on!(&*app.db, p => sqlx::query_scalar(
        "SELECT id FROM enrollments WHERE round_id = $1 AND unit_id <> $2 AND status = 'active' ORDER BY id LIMIT 1")
        .bind(round.id).bind(school).fetch_one(p).await)
    .unwrap();
    let classmate: Option<i64> = on!(&*app.db, p => sqlx::query_scalar(
        "SELECT id FROM enrollments WHERE round_id = $1 AND unit_id = $2 AND id <> $3 AND status = 'active' ORDER BY id LIMIT 1")
        .bind(round.id).bind(school).bind(e.id).fetch_optional(p).await)
    .unwrap();
    let r = post(
        &app,
        &cc,
        &format!("/sessions/{id}/attendance"),
        vec![("_csrf", ccsrf.clone()), ("present", outsider.to_string())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.contains("Điểm danh: có người không ghi danh trong đợt này"), "{text}");
    assert_eq!(count(&app.db, "session_attendance").await, 0);
    // A learner may not take attendance.
    let r = post(
        &app,
        &gv,
        &format!("/sessions/{id}/attendance"),
        vec![("_csrf", gcsrf.clone()), ("present", e.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(count(&app.db, "session_attendance").await, 0);
    // The school's admin ticks a classmate (if the school has one), the facilitator can too.
    let ta = app.browser();
    let tcsrf = app.form_login(&ta, "truong.admin").await;
    let mut form = vec![("_csrf", tcsrf.clone())];
    if let Some(c) = classmate {
        form.push(("present", c.to_string()));
    }
    let r = post(&app, &ta, &format!("/sessions/{id}/attendance"), form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let listed = i64::from(classmate.is_some());
    assert_eq!(count(&app.db, "session_attendance").await, listed);

    // The QR code: the facilitator's page, not a learner's.
    assert_eq!(gv.get(app.url(&format!("/sessions/{id}/qr"))).send().await.unwrap().status(), 403);
    let qr = cc.get(app.url(&format!("/sessions/{id}/qr"))).send().await.unwrap().text().await.unwrap();
    assert!(qr.contains("<svg") && qr.contains("http-equiv=\"refresh\""), "{qr}");
    let token = token_of(&qr, id);
    // No QR code outside the session's days, and no check-in with one made then.
    let r = cc.get(app.url(&format!("/sessions/{past_id}/qr"))).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("chỉ điểm danh bằng mã QR trong những ngày sinh hoạt"));
    let key = app.db.app_secret(bdtx_store::sessions::QR_SECRET).await.unwrap();
    let stale = qr_sign(&key, past_id, now_unix() + 600, "a1b2c3d4e5f6a7b8");
    let r =
        post(&app, &gv, &format!("/sessions/{past_id}/checkin"), vec![("_csrf", gcsrf.clone()), ("t", stale)]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("chỉ điểm danh bằng mã QR trong những ngày sinh hoạt"));

    // Bad codes: expired, another session's, forged. A clear message each time, nothing changed.
    let expired = qr_sign(&key, id, now_unix() - 1, "a1b2c3d4e5f6a7b8");
    let other_qr = cc.get(app.url(&format!("/sessions/{other}/qr"))).send().await.unwrap().text().await.unwrap();
    let others = token_of(&other_qr, other);
    let forged = qr_sign(b"not the server's key", id, now_unix() + 600, "a1b2c3d4e5f6a7b8");
    let mut altered = token.clone();
    altered.replace_range(altered.len() - 1.., if altered.ends_with('0') { "1" } else { "0" });
    for (t, message) in [
        (expired.as_str(), "Mã QR điểm danh: mã đã hết hạn"),
        (others.as_str(), "Mã QR điểm danh: mã này là của buổi sinh hoạt khác"),
        (forged.as_str(), "Mã QR điểm danh: mã không hợp lệ"),
        (altered.as_str(), "Mã QR điểm danh: mã không hợp lệ"),
        ("", "Mã QR điểm danh: mã không hợp lệ"),
    ] {
        let r = gv.get(app.url(&format!("/sessions/{id}/checkin?t={t}"))).send().await.unwrap();
        assert_eq!(r.status(), 422, "{t}");
        assert!(r.text().await.unwrap().contains(message), "{t}");
        let r =
            post(&app, &gv, &format!("/sessions/{id}/checkin"), vec![("_csrf", gcsrf.clone()), ("t", t.to_string())])
                .await;
        assert_eq!(r.status(), 422, "{t}");
        let text = r.text().await.unwrap();
        assert!(text.contains(message) && text.contains("chưa có gì thay đổi"), "{text}");
    }
    assert_eq!(count(&app.db, "session_attendance").await, listed);

    // Someone who is not among the session's learners (the demo principal): a clear message.
    let ht = app.browser();
    let hcsrf = app.form_login(&ht, "hieutruong").await;
    let r = post(&app, &ht, &format!("/sessions/{id}/checkin"), vec![("_csrf", hcsrf), ("t", token.clone())]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("bạn không có tên trong danh sách học viên của buổi sinh hoạt này"));
    assert_eq!(count(&app.db, "session_attendance").await, listed);

    // Not logged in: to the login page, back to the check-in afterwards.
    let r = app.browser().get(app.url(&format!("/sessions/{id}/checkin?t={token}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login?next="), "{}", location(&r));

    // The learner scans: a confirmation page, then recorded once; scanning again changes nothing.
    let page = gv.get(app.url(&format!("/sessions/{id}/checkin?t={token}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Xác nhận có mặt"));
    let r =
        post(&app, &gv, &format!("/sessions/{id}/checkin"), vec![("_csrf", gcsrf.clone()), ("t", token.clone())]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/learn/{}?ok=sessions.checked_in", e.id));
    assert_eq!(count(&app.db, "session_attendance").await, listed + 1);
    let rows = app.db.session_attendance(id).await.unwrap();
    assert_eq!(rows.iter().find(|x| x.enrollment_id == e.id).unwrap().method, "qr");
    let r =
        post(&app, &gv, &format!("/sessions/{id}/checkin"), vec![("_csrf", gcsrf.clone()), ("t", token.clone())]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/learn/{}?ok=sessions.already_recorded", e.id));
    let again =
        gv.get(app.url(&format!("/sessions/{id}/checkin?t={token}"))).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("Bạn đã được ghi nhận có mặt ở buổi này; không có gì thay đổi."), "{again}");
    assert!(!again.contains("Xác nhận có mặt"));
    assert_eq!(count(&app.db, "session_attendance").await, listed + 1);

    // The learner's record shows it.
    let course = gv.get(app.url(&format!("/learn/{}", e.id))).send().await.unwrap().text().await.unwrap();
    assert!(course.contains("Sinh hoạt chuyên môn: đã tham dự 1/3 buổi"), "{course}");
    let record = so.get(app.url(&format!("/people/{learner}"))).send().await.unwrap().text().await.unwrap();
    assert!(record.contains("Quá trình bồi dưỡng") && record.contains("đã tham dự 1/3 buổi"), "{record}");
    let mine = gv.get(app.url("/sessions")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains("Thảo luận vận dụng mô đun 2"), "{mine}");

    // Minutes: an .exe renamed .pdf is refused and not stored; a PDF is kept.
    let files = bdtx_course::FileStore::new(&app.files);
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xffThis program cannot be run in DOS mode.".to_vec();
    let up = format!("/sessions/{id}/minutes?_csrf={}", common::urlencoding(&ccsrf));
    let r = cc.post(app.url(&up)).multipart(multipart(&exe, "bien-ban.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Biên bản sinh hoạt: không phải tệp PDF hoặc ảnh JPG, PNG"));
    assert!(files.path(&bdtx_course::files::sha256_hex(&exe)).is_none());
    assert_eq!(app.db.activity_session(id).await.unwrap().unwrap().minutes_sha256, None);
    let gup = format!("/sessions/{id}/minutes?_csrf={}", common::urlencoding(&gcsrf));
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let r = gv.post(app.url(&gup)).multipart(multipart(&pdf, "bien-ban.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = cc.post(app.url(&up)).multipart(multipart(&pdf, "bien-ban.pdf")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let sha = app.db.activity_session(id).await.unwrap().unwrap().minutes_sha256.unwrap();
    assert_eq!(sha, bdtx_course::files::sha256_hex(&pdf));
    let r = so.get(app.url(&format!("/sessions/{id}/minutes"))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);

    // What the dashboards read.
    let (per_session, per_enrollment) = app.db.attendance_counts(round.id, Some(school)).await.unwrap();
    let first = per_session.iter().find(|s| s.session_id == id).unwrap();
    assert_eq!(first.present, listed + 1);
    let me = per_enrollment.iter().find(|x| x.enrollment_id == e.id).unwrap();
    assert_eq!((me.sessions, me.attended), (3, 1));
    let list = so.get(app.url(&format!("/rounds/{}/sessions", round.id))).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("/sessions/{id}\"")), "{list}");
});
