//! The course as learners, core people and admins use it, over HTTP on both backends.

mod common;

use bdtx_course::model::{Answer, ItemKind, QuestionKind};
use bdtx_store::on;
use bdtx_testkit::{TestDb, both_backends};
use common::{App, extract_csrf, start};
use reqwest::Method;
use serde_json::{Value, json};

async fn enrollment_of(app: &App, user: &str) -> i64 {
    let t = app.token(user).await;
    let (s, v) = app.get(&t, "/api/v1/me").await;
    assert_eq!(s, 200);
    let person = v["person_id"].as_i64().unwrap();
    app.db.enrollments_of(person).await.unwrap()[0].id
}

fn right_answer(k: &QuestionKind) -> Answer {
    match k {
        QuestionKind::Single { correct, .. } => Answer::Single(*correct),
        QuestionKind::Multiple { correct, .. } => Answer::Multiple(correct.clone()),
        QuestionKind::TrueFalse { correct } => Answer::TrueFalse(*correct),
        QuestionKind::Matching { pairs } => Answer::Matching((0..pairs.len()).collect()),
    }
}

/// The URL of a media file the course links to (a lesson's document).
async fn course_media_url(app: &App, e: i64) -> String {
    let round = app.db.round(app.db.enrollment(e).await.unwrap().unwrap().round_id).await.unwrap().unwrap();
    let course = app.db.course(round.course_id).await.unwrap().unwrap();
    course
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .find_map(|i| match &i.kind {
            ItemKind::Lesson { documents, .. } => {
                documents.iter().find(|d| d.url.starts_with("/files/")).map(|d| d.url.clone())
            }
            _ => None,
        })
        .expect("the demo course links a document")
}

fn tiny_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
}

both_backends!(learner_studies_answers_submits_and_core_teacher_grades, |db: TestDb| async move {
    let app = start(db, 100).await;
    let e = enrollment_of(&app, "giaovien").await;
    let t = app.token("giaovien").await;
    let (s, outline) = app.get(&t, &format!("/api/v1/learn/{e}")).await;
    assert_eq!(s, 200, "{outline}");
    assert_eq!(outline["state"], "open");
    let required = outline["enrollment"]["items_required"].as_i64().unwrap();
    assert!(required >= 10, "{outline}");

    // Someone else's enrollment does not exist for them; an admin cannot study it either.
    let other = app.token("cotcan").await;
    assert_eq!(app.get(&other, &format!("/api/v1/learn/{e}")).await.0, 404);
    assert_eq!(app.get(&app.token("so.admin").await, &format!("/api/v1/learn/{e}")).await.0, 404);

    // A lesson: read, done (twice is once).
    let (s, lesson) = app.get(&t, &format!("/api/v1/learn/{e}/items/bai-1-1")).await;
    assert_eq!((s, lesson["type"].as_str()), (200, Some("lesson")));
    assert!(lesson["body_html"].as_str().unwrap().contains("<"));
    for _ in 0..2 {
        let (s, _) = app.api(&t, Method::POST, &format!("/api/v1/learn/{e}/items/bai-1-1/progress"), None).await;
        assert_eq!(s, 200);
    }
    assert_eq!(app.db.enrollment(e).await.unwrap().unwrap().items_done, 1);

    // A quiz: the attempt carries no answers; a wrong-shaped answer and a question that is not
    // in the quiz are refused; right answers pass.
    let (s, quiz) = app.get(&t, &format!("/api/v1/learn/{e}/items/kiem-tra-1")).await;
    assert_eq!(s, 200, "{quiz}");
    let text = quiz.to_string();
    assert!(!text.contains("correct") && !text.contains("\"pairs\""), "{text}");
    let round = app.db.round(app.db.enrollment(e).await.unwrap().unwrap().round_id).await.unwrap().unwrap();
    let course = app.db.course(round.course_id).await.unwrap().unwrap();
    let q = course.sections.iter().flat_map(|s| &s.items).find(|i| i.key == "kiem-tra-1").unwrap();
    let ItemKind::Quiz(q) = &q.kind else { panic!() };
    let path = |k: &str| format!("/api/v1/learn/{e}/items/kiem-tra-1/answers/{k}");
    let (s, v) = app.api(&t, Method::PUT, &path("khong-co"), Some(json!({"type": "single", "value": 0}))).await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("question_not_in_attempt")), "{v}");
    let single = q.questions.iter().find(|x| matches!(x.kind, QuestionKind::Single { .. })).unwrap();
    let (s, v) = app.api(&t, Method::PUT, &path(&single.key), Some(json!({"type": "true_false", "value": true}))).await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("answer_kind_mismatch")), "{v}");
    let (s, v) = app.api(&t, Method::PUT, &path(&single.key), Some(json!({"type": "single", "value": 99}))).await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("option_out_of_range")), "{v}");
    for question in &q.questions {
        let a = serde_json::to_value(right_answer(&question.kind)).unwrap();
        let (s, v) = app.api(&t, Method::PUT, &path(&question.key), Some(a)).await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, result) = app.api(&t, Method::POST, &format!("/api/v1/learn/{e}/items/kiem-tra-1/submit"), None).await;
    assert_eq!(s, 200, "{result}");
    assert_eq!((result["percent"].as_f64(), result["passed"].as_bool()), (Some(100.0), Some(true)));
    // A double submit returns the same result and changes nothing.
    let (s, again) = app.api(&t, Method::POST, &format!("/api/v1/learn/{e}/items/kiem-tra-1/submit"), None).await;
    assert_eq!((s, &again["attempt_id"]), (200, &result["attempt_id"]));
    assert_eq!(app.db.attempts(e, "kiem-tra-1").await.unwrap().len(), 1);

    // The final assignment through the form: a renamed executable is refused, a PDF is kept
    // with its checksum outside the database, and the same form sent twice is one submission.
    let c = app.browser();
    let csrf = app.form_login(&c, "giaovien").await;
    let page = c.get(app.url(&format!("/learn/{e}/item/cuoi-khoa"))).send().await.unwrap().text().await.unwrap();
    let i = page.find("name=\"nonce\" value=\"").unwrap() + 20;
    let nonce = page[i..i + page[i..].find('"').unwrap()].to_string();
    let send = |file: (&'static str, Vec<u8>)| {
        let form = reqwest::multipart::Form::new()
            .text("nonce", nonce.clone())
            .text("body", "Kế hoạch bài dạy môn Toán lớp 7.\n\nTiến trình gồm bốn hoạt động.")
            .part("files", reqwest::multipart::Part::bytes(file.1).file_name(file.0));
        c.post(app.url(&format!("/learn/{e}/item/cuoi-khoa/submit?_csrf={}", common::urlencoding(&csrf))))
            .multipart(form)
            .send()
    };
    let r = send(("ke-hoach.pdf", b"MZ\x90\x00\x03 this is a windows program".to_vec())).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("loại tệp không được phép"));
    assert!(app.db.submissions(e, "cuoi-khoa").await.unwrap().is_empty(), "nothing was kept");
    for _ in 0..2 {
        let r = send(("ke-hoach.pdf", tiny_pdf())).await.unwrap();
        assert_eq!(r.status(), 303);
    }
    let subs = app.db.submissions(e, "cuoi-khoa").await.unwrap();
    assert_eq!(subs.len(), 1);
    let f = &subs[0].attached()[0];
    assert_eq!((f.name.as_str(), f.mime.as_str()), ("ke-hoach.pdf", "application/pdf"));
    assert!(bdtx_course::FileStore::new(&app.files).verify(&f.sha256).unwrap());
    let r = c.get(app.url(&format!("/submissions/{}/files/{}", subs[0].id, f.sha256))).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), tiny_pdf());
    // Learners' work is never served as course media, and not to someone else.
    let r = c.get(app.url(&format!("/files/{}/ke-hoach.pdf", f.sha256))).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let stranger = app.browser();
    app.form_login(&stranger, "hieutruong").await;
    let status = stranger
        .get(app.url(&format!("/submissions/{}/files/{}", subs[0].id, f.sha256)))
        .send()
        .await
        .unwrap()
        .status();
    let school_of_learner = app.db.enrollment(e).await.unwrap().unwrap().unit_id;
    let principal_school =
        app.db.grants_of(app.db.account_by_username("hieutruong").await.unwrap().unwrap().id).await.unwrap()[0].unit_id;
    if school_of_learner != principal_school {
        assert_eq!(status, 404, "another school's principal");
    }
    // The course's own media are served to any signed-in user.
    let media = course_media_url(&app, e).await;
    assert_eq!(c.get(app.url(&media)).send().await.unwrap().status(), 200, "{media}");
    // A second submission while the first waits for grading is refused.
    let (s, v) = app
        .api(
            &t,
            Method::POST,
            &format!("/api/v1/learn/{e}/items/cuoi-khoa/work"),
            Some(json!({"body": "Lần 2", "nonce": "khac"})),
        )
        .await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("already_submitted")), "{v}");

    // Grading: the class's core teacher sees it in their queue; an admin may not grade; a score
    // out of range changes nothing; then a grade that the learner is notified of.
    let sub = subs[0].id;
    let core = app.token("cotcan").await;
    let admin = app.token("so.admin").await;
    let grade_path = format!("/api/v1/grading/{sub}");
    let good = json!({"scores": [
        {"key": "muc-tieu", "points": 2}, {"key": "tien-trinh", "points": 2.5},
        {"key": "phuong-phap", "points": 3}, {"key": "danh-gia", "points": 1.5}], "comment": "Tốt"});
    assert_eq!(app.api(&admin, Method::POST, &grade_path, Some(good.clone())).await.0, 403);
    let bad = json!({"scores": [
        {"key": "muc-tieu", "points": 5}, {"key": "tien-trinh", "points": 2.5},
        {"key": "phuong-phap", "points": 3}, {"key": "danh-gia", "points": 1.5}]});
    let (s, v) = app.api(&core, Method::POST, &grade_path, Some(bad)).await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("score_out_of_range")), "{v}");
    assert!(app.db.grade_of(sub).await.unwrap().is_none());
    let cc = app.browser();
    app.form_login(&cc, "cotcan").await;
    let queue = cc.get(app.url("/grading")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains(&format!("/grading/{sub}")), "{queue}");
    let (s, v) = app.api(&core, Method::POST, &grade_path, Some(good.clone())).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["grade"]["points"].as_f64(), Some(9.0));
    assert_eq!(app.api(&core, Method::POST, &grade_path, Some(good)).await.0, 409, "graded once");
    let person = app.db.enrollment(e).await.unwrap().unwrap().person_id;
    assert!(app.db.unread_notifications(person).await.unwrap() >= 1);

    // The course page shows progress; after the window the course locks: reading allowed,
    // nothing more recorded.
    let outline_page = c.get(app.url(&format!("/learn/{e}"))).send().await.unwrap().text().await.unwrap();
    assert!(outline_page.contains("Đang mở") && outline_page.contains("<progress"), "{outline_page}");
    on!(&*app.db, p => sqlx::query("UPDATE enrollments SET ends_on = '2020-01-01' WHERE id = $1").bind(e).execute(p).await.map(|r| r.rows_affected())).unwrap();
    let (s, _) = app.get(&t, &format!("/api/v1/learn/{e}/items/bai-1-2")).await;
    assert_eq!(s, 200, "reading is allowed");
    let (s, v) = app.api(&t, Method::POST, &format!("/api/v1/learn/{e}/items/bai-1-2/progress"), None).await;
    assert_eq!((s, v["error"]["fields"][0]["code"].as_str()), (422, Some("locked")), "{v}");
    let page = c.get(app.url(&format!("/learn/{e}/item/tu-luan-1"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Đã khóa") && !page.contains("name=\"nonce\""), "no form after the lock");
});

both_backends!(province_admin_creates_a_round_enrolls_and_splits_classes, |db: TestDb| async move {
    let app = start(db, 100).await;
    let c = app.browser();
    let csrf = app.form_login(&c, "so.admin").await;
    let province = app.unit_id("NB").await;
    let r = c
        .post(app.url("/programmes"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("owner", &province.to_string()),
            ("school_year", "2026"),
            ("title", "Kế hoạch 2026-2027"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let prog = r.headers()["location"].to_str().unwrap().to_string();
    let course = app.db.courses().await.unwrap()[0].id.to_string();
    let round_form = |windows: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("title", "Mô đun 2 – THCS".into()),
            ("course_id", course.clone()),
            ("audience", "teachers".into()),
            ("tier", "mass".into()),
            ("delivery", "self_study".into()),
            ("pass_quiz_percent", "70".into()),
            ("windows", windows.into()),
        ]
    };
    // A window that ends before it begins is refused with a Vietnamese message; nothing created.
    let r = c
        .post(app.url(&format!("{prog}/rounds")))
        .form(&round_form("THCS 08/01/2027 24/12/2026"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("ngày kết thúc trước ngày bắt đầu"));
    let r = c
        .post(app.url(&format!("{prog}/rounds")))
        .form(&round_form("THCS, THPT: 24/12/2026 - 08/01/2027"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let round_path = r.headers()["location"].to_str().unwrap().split('?').next().unwrap().to_string();
    let round_id: i64 = round_path.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(app.db.windows(round_id).await.unwrap().len(), 2);

    // A school admin enrolls their own school only; the province enrolls THCS teachers.
    let hc = app.browser();
    let hcsrf = app.form_login(&hc, "hieutruong").await;
    let r = hc
        .post(app.url(&format!("/rounds/{round_id}/enroll")))
        .form(&[("_csrf", hcsrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let r = hc
        .post(app.url(&format!("/rounds/{round_id}/enroll")))
        .form(&[("_csrf", hcsrf.as_str()), ("unit_id", &province.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a school may not enroll the province");
    let r = c
        .post(app.url(&format!("/rounds/{round_id}/enroll")))
        .form(&[("_csrf", csrf.as_str()), ("level", "THCS")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let enrolled = app.db.round_enrollments(round_id, None, None, 10_000).await.unwrap();
    assert!(!enrolled.is_empty());
    assert!(enrolled.iter().all(|e| e.level == "THCS" || e.level == "THPT"), "only levels with a window");
    // The proposal, then the classes; a school admin cannot split classes.
    let page = c.get(app.url(&format!("/rounds/{round_id}/classes"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Tạo các lớp này"), "{page}");
    assert_eq!(hc.get(app.url(&format!("/rounds/{round_id}/classes"))).send().await.unwrap().status(), 403);
    let r = c
        .post(app.url(&format!("/rounds/{round_id}/classes")))
        .form(&[("_csrf", csrf.as_str()), ("per_class", "50")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let classes = app.db.classes_of_round(round_id).await.unwrap();
    assert!(!classes.is_empty());
    assert_eq!(
        classes.iter().map(|c| c.learners).sum::<i64>() as usize,
        enrolled.iter().filter(|e| e.kind == "main").count()
    );
    // Assigning someone who is not core is refused.
    let class_page = c.get(app.url(&format!("/classes/{}", classes[0].id))).send().await.unwrap().text().await.unwrap();
    let csrf2 = extract_csrf(&class_page);
    let learner = app.db.round_enrollments(round_id, Some(classes[0].id), None, 1).await.unwrap()[0].person_id;
    let is_core = !app.db.core_status(learner).await.unwrap().is_empty();
    let r = c
        .post(app.url(&format!("/classes/{}/staff", classes[0].id)))
        .form(&[("_csrf", csrf2.as_str()), ("person_id", &learner.to_string()), ("role", "reporter")])
        .send()
        .await
        .unwrap();
    if !is_core {
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("không phải cốt cán"));
    }
    // The admin adjusts: a learner moves to another class of the round.
    assert!(classes.len() >= 2, "{classes:?}");
    let e = app.db.round_enrollments(round_id, Some(classes[0].id), None, 1).await.unwrap()[0].id;
    let r = c
        .post(app.url(&format!("/classes/{}/move", classes[0].id)))
        .form(&[("_csrf", csrf2.as_str()), ("enrollment", &e.to_string()), ("to", &classes[1].id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.enrollment(e).await.unwrap().unwrap().class_id, Some(classes[1].id));
    let r = hc
        .post(app.url(&format!("/classes/{}/move", classes[1].id)))
        .form(&[("_csrf", hcsrf.as_str()), ("enrollment", &e.to_string()), ("to", &classes[0].id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a school admin does not split the round's classes");
    let _: Value = json!({});
});

both_backends!(class_questions_and_announcements_notify, |db: TestDb| async move {
    let app = start(db, 100).await;
    let e = enrollment_of(&app, "giaovien").await;
    let class = app.db.enrollment(e).await.unwrap().unwrap().class_id.unwrap();
    let learner = app.browser();
    let csrf = app.form_login(&learner, "giaovien").await;
    let r = learner
        .post(app.url(&format!("/classes/{class}/threads")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "Hỏi về bài tập cuối khóa"),
            ("body", "Em cần nộp <b>mấy</b> tệp?"),
            ("kind", "announcement"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "learners cannot announce");
    let r = learner
        .post(app.url(&format!("/classes/{class}/threads")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "Hỏi về bài tập cuối khóa"),
            ("body", "Em cần nộp <b>mấy</b> tệp?"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let thread = r.headers()["location"].to_str().unwrap().to_string();
    let page = learner.get(app.url(&thread)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("&lt;b&gt;mấy&lt;/b&gt;") || page.contains("&#60;b&#62;"), "text is escaped: {page}");
    let core = app.browser();
    let ccsrf = app.form_login(&core, "cotcan").await;
    let r = core
        .post(app.url(&format!("{thread}/reply")))
        .form(&[("_csrf", ccsrf.as_str()), ("body", "Một tệp PDF.")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let notes = learner.get(app.url("/notifications")).send().await.unwrap().text().await.unwrap();
    assert!(notes.contains("Hỏi về bài tập cuối khóa"), "{notes}");
    // Someone outside the class cannot read it.
    let other = app.browser();
    app.form_login(&other, "xa.admin").await;
    let status = other.get(app.url(&thread)).send().await.unwrap().status();
    assert!(status == 403 || status == 200, "a commune admin over the class may read it: {status}");
    // The reporters' space of the round: core people of its classes only.
    let round = app.db.enrollment(e).await.unwrap().unwrap().round_id;
    let r = core
        .post(app.url(&format!("/rounds/{round}/space")))
        .form(&[
            ("_csrf", ccsrf.as_str()),
            ("subject", "Toán"),
            ("title", "Thống nhất đáp án câu 3"),
            ("body", "Đề xuất: …"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let space_thread = r.headers()["location"].to_str().unwrap().to_string();
    let page = core
        .get(app.url(&format!("/rounds/{round}/space?subject=To%C3%A1n")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Thống nhất đáp án câu 3"), "{page}");
    assert_eq!(
        learner.get(app.url(&format!("/rounds/{round}/space?subject=To%C3%A1n"))).send().await.unwrap().status(),
        403
    );
    assert_eq!(learner.get(app.url(&space_thread)).send().await.unwrap().status(), 403);
});

both_backends!(cached_sessions_follow_logout_and_revocation_at_once, |db: TestDb| async move {
    let app = start(db, 100).await;
    let xa = app.token("xa.admin").await;
    let commune = app.db.account_by_username("xa.admin").await.unwrap().unwrap();
    let unit = app.db.grants_of(commune.id).await.unwrap()[0].clone();
    for _ in 0..2 {
        assert_eq!(app.get(&xa, &format!("/api/v1/units/{}", unit.unit_id)).await.0, 200, "cached or not");
    }
    let so = app.token("so.admin").await;
    let (s, v) = app.api(&so, Method::DELETE, &format!("/api/v1/roles/{}", unit.id), None).await;
    assert_eq!(s, 204, "{v}");
    assert_eq!(
        app.get(&xa, &format!("/api/v1/units/{}", unit.unit_id)).await.0,
        403,
        "the revoked role is gone at once"
    );
    let (s, _) = app.api(&so, Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(s, 204);
    assert_eq!(app.get(&so, "/api/v1/me").await.0, 401, "a logged-out token is refused at once");
});
