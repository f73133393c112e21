//! The three sign-offs and the province's list of completers, over HTTP on both backends.

mod common;

use bdtx_testkit::{TestDb, both_backends};
use common::{App, start};

async fn person_of(app: &App, user: &str) -> i64 {
    app.db.account_by_username(user).await.unwrap().unwrap().person_id.unwrap()
}

both_backends!(core_teacher_then_university_sign_off_and_the_province_approves, |db: TestDb| async move {
    let app = start(db, 100).await;
    let learner = person_of(&app, "giaovien").await;
    let e = app.db.enrollments_of(learner).await.unwrap()[0].clone();
    let class = e.class_id.unwrap();
    let others: Vec<i64> =
        app.db.class_signoffs(class).await.unwrap().iter().map(|r| r.enrollment_id).filter(|id| *id != e.id).collect();
    assert!(!others.is_empty(), "the class has other learners");
    app.db.set_lms_passed(e.id, true).await.unwrap();

    let core = app.browser();
    let csrf = app.form_login(&core, "cotcan").await;
    let page = core.get(app.url(&format!("/classes/{class}/signoff"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let post = |c: &reqwest::Client, path: String, form: Vec<(&'static str, String)>| {
        let c = c.clone();
        let url = app.url(&path);
        async move { c.post(url).form(&form).send().await.unwrap() }
    };
    let path = format!("/classes/{class}/signoff");
    // The core teacher cannot confirm for the university.
    let r = post(
        &core,
        path.clone(),
        vec![("_csrf", csrf.clone()), ("gate", "university".into()), ("pass", "1".into()), ("e", e.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 403);
    // A batch with someone the LMS has not passed is refused whole.
    let r = post(
        &core,
        path.clone(),
        vec![
            ("_csrf", csrf.clone()),
            ("gate", "core".into()),
            ("pass", "1".into()),
            ("e", e.id.to_string()),
            ("e", others[0].to_string()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("chưa được LMS đánh giá đạt"));
    assert!(app.db.signoff_history(e.id).await.unwrap().is_empty(), "nothing was written");
    // A not-pass needs a comment.
    let r = post(
        &core,
        path.clone(),
        vec![("_csrf", csrf.clone()), ("gate", "core".into()), ("pass", "0".into()), ("e", others[0].to_string())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post(
        &core,
        path.clone(),
        vec![("_csrf", csrf.clone()), ("gate", "core".into()), ("pass", "1".into()), ("e", e.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 303);

    // The university's key lecturer sees the class and confirms; not before the core pass.
    let uni = app.browser();
    let ucsrf = app.form_login(&uni, "giangvien").await;
    let list = uni.get(app.url("/confirm")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&format!("/classes/{class}/signoff")), "{list}");
    let r = post(
        &uni,
        path.clone(),
        vec![
            ("_csrf", ucsrf.clone()),
            ("gate", "university".into()),
            ("pass", "1".into()),
            ("e", others[0].to_string()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("báo cáo viên chưa đánh giá đạt"));
    let r = post(
        &uni,
        path.clone(),
        vec![("_csrf", ucsrf.clone()), ("gate", "core".into()), ("pass", "1".into()), ("e", e.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 403, "the lecturer is not the class's core person");
    let r = post(
        &uni,
        path.clone(),
        vec![("_csrf", ucsrf.clone()), ("all", "1".into()), ("gate", "university".into()), ("pass", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let rows = app.db.class_signoffs(class).await.unwrap();
    let mine = rows.iter().find(|r| r.enrollment_id == e.id).unwrap();
    assert!(mine.state().complete());
    assert!(
        rows.iter().filter(|r| r.enrollment_id != e.id).all(|r| r.university_pass.is_none()),
        "only those the core passed"
    );

    // Undo goes backwards and needs a reason; the history keeps every mark.
    let undo = format!("/classes/{class}/signoff/undo");
    let r = post(
        &core,
        undo.clone(),
        vec![
            ("_csrf", csrf.clone()),
            ("gate", "core".into()),
            ("e", e.id.to_string()),
            ("reason", "đánh giá nhầm".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "the university's confirmation stands");
    let r = post(
        &uni,
        undo.clone(),
        vec![("_csrf", ucsrf.clone()), ("gate", "university".into()), ("e", e.id.to_string()), ("reason", "x".into())],
    )
    .await;
    assert_eq!(r.status(), 422, "a reason is required");
    let r = post(
        &uni,
        undo.clone(),
        vec![
            ("_csrf", ucsrf.clone()),
            ("gate", "university".into()),
            ("e", e.id.to_string()),
            ("reason", "xác nhận nhầm lớp".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        &uni,
        path.clone(),
        vec![("_csrf", ucsrf.clone()), ("gate", "university".into()), ("pass", "1".into()), ("e", e.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let history = app.db.signoff_history(e.id).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[1].undo_reason.as_deref(), Some("xác nhận nhầm lớp"));

    // Someone outside: a commune admin may look but not mark.
    let xa = app.browser();
    let xcsrf = app.form_login(&xa, "xa.admin").await;
    let r = post(
        &xa,
        path.clone(),
        vec![("_csrf", xcsrf), ("gate", "core".into()), ("pass", "1".into()), ("e", e.id.to_string())],
    )
    .await;
    assert_eq!(r.status(), 403);

    // The province's list of completers, approved and exported; a school sees its own list only.
    let so = app.browser();
    let scsrf = app.form_login(&so, "so.admin").await;
    let list =
        so.get(app.url(&format!("/rounds/{}/completers", e.round_id))).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("Nguyễn Văn An"), "{list}");
    let r = so
        .post(app.url(&format!("/rounds/{}/completers", e.round_id)))
        .form(&[("_csrf", scsrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.approvals(e.round_id).await.unwrap()[0].count, 1);
    let x = so.get(app.url(&format!("/rounds/{}/completers.xlsx", e.round_id))).send().await.unwrap();
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
    let school = app.browser();
    let hcsrf = app.form_login(&school, "hieutruong").await;
    assert_eq!(school.get(app.url(&format!("/rounds/{}/completers", e.round_id))).send().await.unwrap().status(), 200);
    let r = school
        .post(app.url(&format!("/rounds/{}/completers", e.round_id)))
        .form(&[("_csrf", hcsrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
});

both_backends!(university_issues_certificates_anyone_verifies_the_masked_card, |db: TestDb| async move {
    let app = start(db, 100).await;
    let learner = person_of(&app, "giaovien").await;
    let core = person_of(&app, "cotcan").await;
    let lecturer = person_of(&app, "giangvien").await;
    let e = app.db.enrollments_of(learner).await.unwrap()[0].clone();
    let class = e.class_id.unwrap();
    let uni = app.browser();
    let ucsrf = app.form_login(&uni, "giangvien").await;
    let path = format!("/classes/{class}/certificates");
    // Nobody has completed yet: nothing to issue, nothing written.
    let r = uni.post(app.url(&path)).form(&[("_csrf", ucsrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 422);
    app.db.set_lms_passed(e.id, true).await.unwrap();
    app.db.sign_off(None, Some(core), &[e.id], bdtx_domain::completion::Gate::Core, true, "", None).await.unwrap();
    app.db
        .sign_off(None, Some(lecturer), &[e.id], bdtx_domain::completion::Gate::University, true, "", None)
        .await
        .unwrap();
    // The core teacher may not issue.
    let cc = app.browser();
    let ccsrf = app.form_login(&cc, "cotcan").await;
    assert_eq!(cc.post(app.url(&path)).form(&[("_csrf", ccsrf.as_str())]).send().await.unwrap().status(), 403);
    let r = uni.post(app.url(&path)).form(&[("_csrf", ucsrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let certs = app.db.class_certificates(class).await.unwrap();
    assert_eq!(certs.len(), 1);
    let c = &certs[0];
    // Issuing twice gives nobody a second certificate.
    let r = uni.post(app.url(&path)).form(&[("_csrf", ucsrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(app.db.class_certificates(class).await.unwrap().len(), 1);

    // The PDF is kept with its checksum; the class ZIP holds it.
    assert!(bdtx_course::FileStore::new(&app.files).verify(&c.pdf_sha256).unwrap());
    let zip = uni.get(app.url(&format!("{path}.zip"))).send().await.unwrap();
    assert_eq!(zip.status(), 200);
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));

    // Anyone verifies without logging in and sees only the masked name.
    let anon = reqwest::Client::new();
    let page = anon.get(app.url(&format!("/verify/{}", c.code))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("hợp lệ") && html.contains("N. V. An"), "{html}");
    assert!(!html.contains("Nguyễn Văn An"), "the full name is never shown");
    let r = anon.get(app.url("/verify/khongcoma2345678abcd")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Không tìm thấy"));
    let r = anon.get(app.url("/verify/%3Cscript%3E")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // The holder downloads the signed credential; it verifies offline with the issuer's key,
    // and an altered copy does not.
    let me = app.browser();
    app.form_login(&me, "giaovien").await;
    let mine = me.get(app.url("/learn")).send().await.unwrap().text().await.unwrap();
    assert!(mine.contains(&c.number), "{mine}");
    let vc: serde_json::Value =
        me.get(app.url(&format!("/certificates/{}/credential", c.id))).send().await.unwrap().json().await.unwrap();
    let profile: serde_json::Value =
        anon.get(app.url(&format!("/issuers/{}", c.issuer_unit_id))).send().await.unwrap().json().await.unwrap();
    let key = profile["verificationMethod"][0]["publicKeyMultibase"].as_str().unwrap();
    bdtx_cert::verify(&vc, key).unwrap();
    let mut forged = vc.clone();
    forged["credentialSubject"]["name"] = serde_json::json!("Trần Văn Giả");
    assert!(bdtx_cert::verify(&forged, key).is_err());
    let pdf = me.get(app.url(&format!("/certificates/{}/pdf", c.id))).send().await.unwrap();
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    // Someone else's certificate does not exist for another learner.
    let other = app.browser();
    app.form_login(&other, "hieutruong").await;
    let status = other.get(app.url(&format!("/certificates/{}/pdf", c.id))).send().await.unwrap().status();
    assert!(status == 200 || status == 404, "{status}");

    // Revocation needs a reason, is shown on the public page, and happens once.
    let revoke = format!("/certificates/{}/revoke", c.id);
    assert_eq!(
        uni.post(app.url(&revoke)).form(&[("_csrf", ucsrf.as_str()), ("reason", "x")]).send().await.unwrap().status(),
        422
    );
    assert_eq!(
        cc.post(app.url(&revoke))
            .form(&[("_csrf", ccsrf.as_str()), ("reason", "cấp nhầm người")])
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        uni.post(app.url(&revoke))
            .form(&[("_csrf", ucsrf.as_str()), ("reason", "cấp nhầm người")])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        uni.post(app.url(&revoke))
            .form(&[("_csrf", ucsrf.as_str()), ("reason", "cấp nhầm người")])
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    let html = anon.get(app.url(&format!("/verify/{}", c.code))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("đã bị thu hồi") && html.contains("cấp nhầm người"), "{html}");
});

both_backends!(converted_periods_by_payer_and_concurrent_participation, |db: TestDb| async move {
    let app = start(db, 100).await;
    let core = person_of(&app, "cotcan").await;
    let core_name = app.db.person(core).await.unwrap().unwrap().full_name;
    let learner = person_of(&app, "giaovien").await;
    let e = app.db.enrollments_of(learner).await.unwrap()[0].clone();
    let round = e.round_id;
    let so = app.browser();
    app.form_login(&so, "so.admin").await;
    let page = so.get(app.url(&format!("/rounds/{round}/periods"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&core_name), "{page}");
    // 40 periods for 50 learners, pro rata: the demo core teacher's share of their classes.
    let province = app.unit_id("NB").await;
    let rule = bdtx_domain::stipend::PeriodRule::default();
    let rows = app.db.round_periods(round, None, rule, &|l| bdtx_domain::stipend::Payer::default_for(l)).await.unwrap();
    let mine = rows.iter().find(|r| r.person_id == core).unwrap();
    assert!((mine.periods - mine.learners * 0.8).abs() < 0.011, "{mine:?}");
    // The province changes the rule: 30 periods per group of 50.
    bdtx_store::on!(&*app.db, p => sqlx::query("INSERT INTO settings (unit_id, key, value) VALUES ($1, 'periods_per_group', '30')")
        .bind(province).execute(p).await.map(|r| r.rows_affected())).unwrap();
    let settings = app.db.stipend_settings(province).await.unwrap();
    assert_eq!(settings.get("periods_per_group").map(String::as_str), Some("30"));
    let x = so.get(app.url(&format!("/rounds/{round}/periods.xlsx?payer=province"))).send().await.unwrap();
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));

    // Concurrent subjects: participation listed without grades; a school sees its own.
    let main = app
        .db
        .round_enrollments(round, None, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.kind == "main" && (r.level == "THCS" || r.level == "THPT"))
        .expect("a secondary teacher");
    let main = app.db.enrollment(main.id).await.unwrap().unwrap();
    app.db.add_extra_subject(&main, "Tin học", bdtx_domain::round::EnrollmentKind::Concurrent).await.unwrap();
    let list = so.get(app.url(&format!("/rounds/{round}/concurrent"))).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("Tin học"), "{list}");
    let x = so.get(app.url(&format!("/rounds/{round}/concurrent.xlsx"))).send().await.unwrap();
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
    let outsider = app.browser();
    app.form_login(&outsider, "giaovien").await;
    assert_eq!(outsider.get(app.url(&format!("/rounds/{round}/periods"))).send().await.unwrap().status(), 403);
    assert_eq!(outsider.get(app.url(&format!("/rounds/{round}/concurrent"))).send().await.unwrap().status(), 403);
});
