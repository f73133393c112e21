//! Rounds, enrollments, classes and the course activity tables, on SQLite and PostgreSQL.

use bdtx_course::model::*;
use bdtx_domain::org::{Level, UnitKind};
use bdtx_domain::people::{PersonDraft, validate};
use bdtx_domain::round::{Audience, Delivery, EnrollmentKind, PassRule, Tier, Window};
use bdtx_store::lms::AttachedFile;
use bdtx_store::rounds::{EnrollFilter, NewRound};
use bdtx_store::units::NewUnit;
use bdtx_store::{Db, StoreError, on};
use bdtx_testkit::both_backends;
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn unit(code: &str, kind: UnitKind, name: &str, parent: Option<i64>, levels: Vec<Level>) -> NewUnit {
    NewUnit {
        code: code.into(),
        kind,
        name: name.into(),
        levels,
        parent_id: parent,
        valid_from: d("2020-01-01"),
        valid_to: None,
    }
}

fn teacher(name: &str, id: &str, level: &str, subject: &str, position: &str) -> bdtx_domain::people::PersonFields {
    validate(
        &PersonDraft {
            full_name: Some(name.into()),
            birth_date: Some("02/09/1985".into()),
            national_id: Some(id.into()),
            position: Some(position.into()),
            levels: Some(level.into()),
            main_subject: Some(subject.into()),
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

pub fn small_course() -> Course {
    let rubric = Rubric {
        pass_percent: 50,
        criteria: vec![
            Criterion { key: "noi-dung".into(), title: "Nội dung".into(), max_points: 6.0, levels: vec![] },
            Criterion { key: "trinh-bay".into(), title: "Trình bày".into(), max_points: 4.0, levels: vec![] },
        ],
    };
    Course {
        module_code: "GV4660-02".into(),
        title: "Mô đun 2".into(),
        summary_html: "<p>Tóm tắt</p>".into(),
        sections: vec![Section {
            title: "Phần 1".into(),
            items: vec![
                Item {
                    key: "bai-1".into(),
                    title: "Bài 1".into(),
                    required: true,
                    kind: ItemKind::Lesson { body_html: "<p>Nội dung</p>".into(), video: None, documents: vec![] },
                },
                Item {
                    key: "kiem-tra".into(),
                    title: "Kiểm tra".into(),
                    required: true,
                    kind: ItemKind::Quiz(Quiz {
                        pass_percent: 70,
                        max_attempts: 2,
                        shuffle: true,
                        questions: vec![Question {
                            key: "c1".into(),
                            prompt_html: "Đúng hay sai?".into(),
                            points: 1.0,
                            kind: QuestionKind::TrueFalse { correct: true },
                        }],
                    }),
                },
                Item {
                    key: "cuoi-khoa".into(),
                    title: "Bài tập cuối khóa".into(),
                    required: true,
                    kind: ItemKind::Final(Assignment { prompt_html: "Viết".into(), allow_files: true, rubric }),
                },
            ],
        }],
    }
}

struct World {
    province: i64,
    cluster: i64,
    school: i64,
    other_school: i64,
    thcs: Vec<i64>,
    th: i64,
    core: i64,
    round: i64,
}

async fn world(db: &Db) -> World {
    let m = db.create_unit(None, &unit("BGD", UnitKind::Ministry, "Bộ GDĐT", None, vec![])).await.unwrap();
    let p = db.create_unit(None, &unit("NB", UnitKind::Province, "Sở GDĐT Ninh Bình", Some(m), vec![])).await.unwrap();
    let c = db.create_unit(None, &unit("XA", UnitKind::Commune, "Xã Gia Viễn", Some(p), vec![])).await.unwrap();
    let k = db.create_unit(None, &unit("CUM1", UnitKind::Cluster, "Cụm 1", Some(c), vec![])).await.unwrap();
    let s = db
        .create_unit(None, &unit("THCS-A", UnitKind::School, "Trường THCS A", Some(k), vec![Level::THCS]))
        .await
        .unwrap();
    let s2 =
        db.create_unit(None, &unit("TH-B", UnitKind::School, "Trường TH B", Some(c), vec![Level::TH])).await.unwrap();
    let mut thcs = Vec::new();
    for (i, name) in ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"].iter().enumerate() {
        let id = format!("00108501234{i}");
        thcs.push(
            db.create_person(None, &teacher(name, &id, "THCS", "Toán", "teacher"), s, d("2020-09-01")).await.unwrap(),
        );
    }
    // Not a maths teacher, and a principal: neither is taken by a maths teachers' round.
    db.create_person(None, &teacher("Phạm Văn Dũng", "001085099991", "THCS", "Ngữ văn", "teacher"), s, d("2020-09-01"))
        .await
        .unwrap();
    db.create_person(None, &teacher("Hoàng Thị Én", "001085099992", "THCS", "Toán", "principal"), s, d("2020-09-01"))
        .await
        .unwrap();
    let th = db
        .create_person(None, &teacher("Vũ Thị Hoa", "001085099993", "TH", "Toán", "teacher"), s2, d("2020-09-01"))
        .await
        .unwrap();
    let core = db
        .create_person(None, &teacher("Đỗ Văn Khải", "001085099994", "THCS", "Toán", "teacher"), s, d("2020-09-01"))
        .await
        .unwrap();
    db.add_core_status(None, core, "GV4660-02", "Toán", d("2020-10-01")).await.unwrap();
    let course = db.create_course(None, &small_course()).await.unwrap();
    assert_eq!(course.version, 1);
    let prog = db.create_programme(None, p, 2020, "Kế hoạch BDTX 2020-2021").await.unwrap();
    let round = db
        .create_round(
            None,
            &NewRound {
                programme_id: prog,
                title: "Mô đun 2 – Toán".into(),
                course_id: course.id,
                audience: Audience::Teachers,
                tier: Tier::Mass,
                subjects: vec!["Toán".into()],
                delivery: Delivery::SelfStudy,
                in_person: None,
                pass_rule: PassRule { quiz_percent: 70, final_graded: false },
                windows: vec![
                    Window { level: Level::THCS, opens: d("2020-12-24"), closes: d("2021-01-08") },
                    Window { level: Level::TH, opens: d("2020-12-26"), closes: d("2021-01-10") },
                ],
            },
        )
        .await
        .unwrap();
    World { province: p, cluster: k, school: s, other_school: s2, thcs, th, core, round }
}

both_backends!(rounds_enroll_by_filter_and_split_into_classes, |db: bdtx_testkit::TestDb| async move {
    let w = world(&db).await;
    // Bad rounds change nothing.
    let bad = NewRound {
        programme_id: 999,
        title: " ".into(),
        course_id: 999,
        audience: Audience::Teachers,
        tier: Tier::Mass,
        subjects: vec![],
        delivery: Delivery::Blended727,
        in_person: None,
        pass_rule: PassRule { quiz_percent: 120, final_graded: false },
        windows: vec![Window { level: Level::TH, opens: d("2021-01-10"), closes: d("2021-01-01") }],
    };
    let Err(StoreError::Invalid(inv)) = db.create_round(None, &bad).await else { panic!() };
    let fields: Vec<_> = inv.errors.iter().map(|e| e.field.as_str()).collect();
    for f in ["title", "pass_quiz_percent", "windows", "in_person", "programme", "course"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let rounds: i64 = on!(&*db, p => sqlx::query_scalar("SELECT COUNT(*) FROM rounds").fetch_one(p).await).unwrap();
    assert_eq!(rounds, 1);

    // Enroll the province's THCS maths teachers: the three teachers and the core teacher.
    let r = db
        .enroll_by_filter(
            None,
            w.round,
            &EnrollFilter { unit_id: w.province, level: Some(Level::THCS), subject: None },
            d("2020-12-20"),
        )
        .await
        .unwrap();
    assert_eq!((r.added, r.already), (4, 0));
    let again = db
        .enroll_by_filter(
            None,
            w.round,
            &EnrollFilter { unit_id: w.province, level: None, subject: None },
            d("2020-12-20"),
        )
        .await
        .unwrap();
    assert_eq!((again.added, again.already), (1, 4), "the TH teacher is added, the others were already in");
    let mine = db.enrollments_of(w.thcs[0]).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].starts_on.as_str(), mine[0].ends_on.as_str()), ("2020-12-24", "2021-01-08"));
    assert_eq!(mine[0].items_required, 3);
    let th = &db.enrollments_of(w.th).await.unwrap()[0];
    assert_eq!(th.ends_on, "2021-01-10");

    // Concurrent subject: +15 days; a reference subject is for primary teachers only.
    let extra = db.add_extra_subject(&mine[0], "Tin học", EnrollmentKind::Concurrent).await.unwrap();
    assert_eq!(db.enrollment(extra).await.unwrap().unwrap().ends_on, "2021-01-23");
    assert!(matches!(
        db.add_extra_subject(&mine[0], "Tin học", EnrollmentKind::Concurrent).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        db.add_extra_subject(&mine[0], "Âm nhạc", EnrollmentKind::Reference).await,
        Err(StoreError::Invalid(_))
    ));
    let reference = db.add_extra_subject(th, "Âm nhạc", EnrollmentKind::Reference).await.unwrap();
    assert_eq!(db.enrollment(reference).await.unwrap().unwrap().ends_on, "2021-01-24");

    // A learner enrolled late, whose account is activated on 05/01, gets 15 days from then.
    db.extend_late_start(w.thcs[1], d("2021-01-05")).await.unwrap();
    assert_eq!(db.enrollments_of(w.thcs[1]).await.unwrap()[0].ends_on, "2021-01-20");
    // An account activated long after the round does not reopen it.
    db.extend_late_start(w.thcs[2], d("2021-06-01")).await.unwrap();
    assert_eq!(db.enrollments_of(w.thcs[2]).await.unwrap()[0].ends_on, "2021-01-08");

    // Classes: the cluster's maths teachers form one class with the core teacher as reporter;
    // the school outside clusters forms its own.
    let proposal = db.propose_classes(w.round, None, 50).await.unwrap();
    assert_eq!(proposal.len(), 2, "{proposal:?}");
    let cluster_class = proposal.iter().find(|c| c.unit_id == w.cluster).unwrap();
    assert_eq!(cluster_class.enrollment_ids.len(), 4);
    assert_eq!(cluster_class.staff.iter().map(|s| s.0).collect::<Vec<_>>(), vec![w.core]);
    assert!(proposal.iter().any(|c| c.unit_id == w.other_school && c.staff.is_empty()));
    let ids = db.apply_class_proposal(None, w.round, &proposal).await.unwrap();
    let class = db.class(ids[0]).await.unwrap().unwrap();
    assert_eq!((class.learners, class.staff), (4, 1));
    assert!(db.is_class_staff(ids[0], w.core).await.unwrap());
    assert!(db.propose_classes(w.round, None, 50).await.unwrap().is_empty(), "everyone is placed");
    // Only core people of the module can be assigned; twice is a conflict.
    assert!(matches!(db.assign_staff(None, ids[0], w.thcs[0], "reporter").await, Err(StoreError::Invalid(_))));
    assert!(matches!(db.assign_staff(None, ids[0], w.core, "reporter").await, Err(StoreError::Conflict(_))));
    let _ = w.school;
});

both_backends!(
    answering_opens_an_attempt_and_a_passing_submit_marks_the_quiz_done,
    |db: bdtx_testkit::TestDb| async move {
        let w = world(&db).await;
        db.enroll_by_filter(
            None,
            w.round,
            &EnrollFilter { unit_id: w.province, level: None, subject: None },
            d("2020-12-20"),
        )
        .await
        .unwrap();
        let (e, f) = (
            db.enrollments_of(w.thcs[0]).await.unwrap().remove(0),
            db.enrollments_of(w.thcs[1]).await.unwrap().remove(0),
        );
        let new = |seed| bdtx_store::lms::NewAttempt { max_attempts: 2, max_points: 1.0, seed };
        let pass = |pts: f64| pts >= 1.0;
        let t = r#"{"type":"true_false","value":true}"#;

        // The first answer opens an attempt; the next goes into the same one.
        let a = db.answer_quiz(e.id, "kiem-tra", new(1), "c1", t, 0.0).await.unwrap().unwrap();
        assert_eq!(db.answer_quiz(e.id, "kiem-tra", new(2), "c1", t, 1.0).await.unwrap(), Some(a));
        assert_eq!(db.answers(a).await.unwrap().len(), 1, "the last answer wins");
        let done = db.submit_quiz_attempt(a, "kiem-tra", true, pass).await.unwrap();
        assert_eq!((done.number, done.percent), (1, Some(100.0)));
        let st = db.learner_state(e.id).await.unwrap();
        assert!(st.done.contains("kiem-tra"), "a pass marks the quiz done with the submit");
        let e1 = db.enrollment(e.id).await.unwrap().unwrap();
        assert_eq!((e1.items_done, e1.resume_key.as_deref()), (1, Some("kiem-tra")));
        // Submitting again: the same result, nothing more recorded.
        let again = db.submit_quiz_attempt(a, "kiem-tra", true, pass).await.unwrap();
        assert_eq!(again.submitted_at, done.submitted_at);
        assert_eq!(db.enrollment(e.id).await.unwrap().unwrap().items_done, 1);

        // A failing attempt records nothing; after the last attempt, answering is refused.
        let b = db.answer_quiz(f.id, "kiem-tra", new(3), "c1", t, 0.0).await.unwrap().unwrap();
        let failed = db.submit_quiz_attempt(b, "kiem-tra", true, pass).await.unwrap();
        assert_eq!(failed.percent, Some(0.0));
        assert!(!db.learner_state(f.id).await.unwrap().done.contains("kiem-tra"));
        let c = db.answer_quiz(f.id, "kiem-tra", new(4), "c1", t, 1.0).await.unwrap().unwrap();
        assert_ne!(c, b, "a submitted attempt is never answered again: a new one opens");
        db.submit_quiz_attempt(c, "kiem-tra", true, pass).await.unwrap();
        assert!(db.learner_state(f.id).await.unwrap().done.contains("kiem-tra"));
        assert_eq!(db.answer_quiz(f.id, "kiem-tra", new(5), "c1", t, 1.0).await.unwrap(), None, "no third attempt");
    }
);

both_backends!(progress_quizzes_submissions_and_grades_are_idempotent, |db: bdtx_testkit::TestDb| async move {
    let w = world(&db).await;
    db.enroll_by_filter(
        None,
        w.round,
        &EnrollFilter { unit_id: w.province, level: None, subject: None },
        d("2020-12-20"),
    )
    .await
    .unwrap();
    let proposal = db.propose_classes(w.round, None, 50).await.unwrap();
    let classes = db.apply_class_proposal(None, w.round, &proposal).await.unwrap();
    let e = db.enrollments_of(w.thcs[0]).await.unwrap().remove(0);

    assert!(db.record_progress(e.id, "bai-1", true).await.unwrap());
    assert!(!db.record_progress(e.id, "bai-1", true).await.unwrap(), "the second time changes nothing");
    let e1 = db.enrollment(e.id).await.unwrap().unwrap();
    assert_eq!((e1.items_done, e1.resume_key.as_deref()), (1, Some("bai-1")));

    // Two attempts allowed; answers while open, the last wins; submitting twice is one result.
    let a = db.open_attempt(e.id, "kiem-tra", 2, 1.0, 42).await.unwrap().unwrap();
    assert_eq!(
        db.open_attempt(e.id, "kiem-tra", 2, 1.0, 43).await.unwrap().unwrap().id,
        a.id,
        "the open attempt is resumed"
    );
    db.save_answer(a.id, "c1", r#"{"type":"true_false","value":false}"#, 0.0).await.unwrap();
    db.save_answer(a.id, "c1", r#"{"type":"true_false","value":true}"#, 1.0).await.unwrap();
    let done = db.submit_attempt(a.id).await.unwrap();
    assert_eq!(done.percent, Some(100.0));
    let again = db.submit_attempt(a.id).await.unwrap();
    assert_eq!(again.submitted_at, done.submitted_at);
    assert!(matches!(db.save_answer(a.id, "c1", "{}", 0.0).await, Err(StoreError::Invalid(_))));
    let b = db.open_attempt(e.id, "kiem-tra", 2, 1.0, 44).await.unwrap().unwrap();
    assert_eq!(b.number, 2);
    db.submit_attempt(b.id).await.unwrap();
    assert!(db.open_attempt(e.id, "kiem-tra", 2, 1.0, 45).await.unwrap().is_none(), "no third attempt");
    let st = db.learner_state(e.id).await.unwrap();
    assert_eq!(st.best_quiz.get("kiem-tra"), Some(&100.0));

    // A submission: the same nonce is the same submission; a second one waits for the grade.
    let f =
        AttachedFile { sha256: "ab".repeat(32), name: "ke-hoach.pdf".into(), mime: "application/pdf".into(), size: 10 };
    let s1 = db.submit_work(e.id, "cuoi-khoa", "Bài làm", std::slice::from_ref(&f), "n1", true).await.unwrap();
    let s1b = db.submit_work(e.id, "cuoi-khoa", "Bài làm", std::slice::from_ref(&f), "n1", true).await.unwrap();
    assert_eq!(s1.id, s1b.id);
    assert_eq!(s1.attached(), vec![f.clone()]);
    assert!(matches!(db.submit_work(e.id, "cuoi-khoa", "Lần 2", &[], "n2", true).await, Err(StoreError::Invalid(_))));
    assert_eq!(db.enrollment(e.id).await.unwrap().unwrap().items_done, 2);

    // The queue of the class's core person; returning needs a comment; a revision is version 2.
    let q = db.grading_queue(w.core).await.unwrap();
    assert_eq!(q.iter().map(|r| r.submission_id).collect::<Vec<_>>(), vec![s1.id]);
    assert!(db.grading_queue(w.thcs[1]).await.unwrap().is_empty());
    assert!(matches!(
        db.grade_submission(None, s1.id, w.core, "returned", "[]", None, None, " ", None).await,
        Err(StoreError::Invalid(_))
    ));
    db.grade_submission(None, s1.id, w.core, "returned", "[]", None, None, "Bổ sung mục tiêu", None).await.unwrap();
    assert!(matches!(
        db.grade_submission(None, s1.id, w.core, "graded", "[]", Some(8.0), Some(true), "", None).await,
        Err(StoreError::Conflict(_))
    ));
    let s2 = db.submit_work(e.id, "cuoi-khoa", "Bài làm sửa", &[], "n3", true).await.unwrap();
    assert_eq!(s2.version, 2);
    assert_eq!(db.enrollment(e.id).await.unwrap().unwrap().items_done, 2, "a revision does not count twice");
    db.grade_submission(
        None,
        s2.id,
        w.core,
        "graded",
        r#"[{"key":"noi-dung","points":5}]"#,
        Some(8.0),
        Some(true),
        "Tốt",
        None,
    )
    .await
    .unwrap();
    let st = db.learner_state(e.id).await.unwrap();
    assert_eq!(st.submissions.get("cuoi-khoa"), Some(&("graded".to_string(), Some(true))));
    assert_eq!(db.grade_of(s2.id).await.unwrap().unwrap().points, Some(8.0));
    db.set_lms_passed(e.id, true).await.unwrap();
    assert!(db.enrollment(e.id).await.unwrap().unwrap().lms_passed_at.is_some());

    // Q&A: a reply notifies the others in the thread.
    let t = db
        .create_thread(w.round, Some(classes[0]), "", "question", "Hỏi về bài 1", w.thcs[0], "<p>Em hỏi</p>")
        .await
        .unwrap();
    db.reply(t, w.core, "<p>Trả lời</p>", "/x").await.unwrap();
    assert_eq!(db.unread_notifications(w.thcs[0]).await.unwrap(), 1);
    assert_eq!(db.unread_notifications(w.core).await.unwrap(), 0);
    assert_eq!(db.posts(t).await.unwrap().len(), 2);
    assert_eq!(db.class_threads(classes[0]).await.unwrap()[0].posts, 2);
    db.mark_notifications_read(w.thcs[0]).await.unwrap();
    assert_eq!(db.unread_notifications(w.thcs[0]).await.unwrap(), 0);
    assert!(matches!(
        db.create_thread(w.round, None, "Toán", "question", "", w.core, "").await,
        Err(StoreError::Invalid(_))
    ));
});

// Many learners at once on the hot path (on SQLite, the lane's group commit): every write lands
// once, a refused write changes nothing, and the counters stay equal to the rows.
both_backends!(concurrent_hot_path_writes_all_land_once, |db: bdtx_testkit::TestDb| async move {
    let w = world(&db).await;
    db.enroll_by_filter(
        None,
        w.round,
        &EnrollFilter { unit_id: w.province, level: None, subject: None },
        d("2020-12-20"),
    )
    .await
    .unwrap();
    let mut es = Vec::new();
    for p in &w.thcs {
        let e = db.enrollments_of(*p).await.unwrap().remove(0);
        assert!(db.record_progress(e.id, "bai-1", true).await.unwrap(), "first progress (counted on the dashboards)");
        es.push(e.id);
    }
    let closed = db.open_attempt(es[0], "kiem-tra", 0, 60.0, 1).await.unwrap().unwrap();
    db.save_answer(closed.id, "c1", "1", 1.0).await.unwrap();
    db.submit_attempt(closed.id).await.unwrap();
    let open = db.open_attempt(es[1], "kiem-tra", 0, 60.0, 2).await.unwrap().unwrap();
    let db = std::sync::Arc::new(db);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let db = db.clone();
        let es = es.clone();
        tasks.push(tokio::spawn(async move {
            let q = format!("c{i}");
            let refused = db.save_answer(closed.id, &q, "2", 1.0).await;
            assert!(matches!(refused, Err(StoreError::Invalid(_))), "answer to a submitted attempt: {refused:?}");
            db.save_answer(open.id, &q, "1", 1.0).await.unwrap();
            // The same lessons from many requests at once: each counted once.
            db.record_progress(es[2], &format!("bai-{}", 2 + i % 5), true).await.unwrap();
            db.set_resume(es[2], &format!("bai-{}", 2 + i % 5)).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(db.answers(closed.id).await.unwrap().len(), 1, "the submitted attempt is unchanged");
    assert_eq!(db.answers(open.id).await.unwrap().len(), 60);
    let e2 = db.enrollment(es[2]).await.unwrap().unwrap();
    assert_eq!(e2.items_done, 6, "bai-1 … bai-6, each once");
    assert_eq!(db.learner_state(es[2]).await.unwrap().done.len(), 6);
    let submitted = db.submit_attempt(open.id).await.unwrap();
    assert_eq!(submitted.points, Some(60.0));
    assert_eq!(submitted.percent, Some(100.0));
});

both_backends!(merging_people_moves_enrollments, |db: bdtx_testkit::TestDb| async move {
    let w = world(&db).await;
    db.enroll_by_filter(
        None,
        w.round,
        &EnrollFilter { unit_id: w.province, level: None, subject: None },
        d("2020-12-20"),
    )
    .await
    .unwrap();
    let e0 = db.enrollments_of(w.thcs[0]).await.unwrap().remove(0);
    let e1 = db.enrollments_of(w.thcs[1]).await.unwrap().remove(0);
    db.record_progress(e1.id, "bai-1", true).await.unwrap();
    db.merge_people(None, w.thcs[0], &[w.thcs[1]]).await.unwrap();
    // Both enrollments belong to the kept person; the duplicate one is kept as merged history.
    let all: Vec<(i64, String)> =
        on!(&*db, p => sqlx::query_as("SELECT id, status FROM enrollments WHERE person_id = $1 ORDER BY id")
        .bind(w.thcs[0]).fetch_all(p).await)
        .unwrap();
    assert_eq!(all, vec![(e0.id, "active".into()), (e1.id, "merged".into())]);
});

both_backends!(dashboard_tallies_equal_a_full_recount_after_random_operations, |db: bdtx_testkit::TestDb| async move {
    use bdtx_domain::completion::Gate;
    use bdtx_store::certificates::NewCertificate;
    use rand::{Rng, SeedableRng};
    let w = world(&db).await;
    // A second maths teacher in the other school makes a look-alike to merge later.
    let dup = db
        .create_person(
            None,
            &teacher("Nguyễn Văn An", "001085012999", "THCS", "Toán", "teacher"),
            w.school,
            d("2020-09-01"),
        )
        .await
        .unwrap();
    db.enroll_by_filter(
        None,
        w.round,
        &EnrollFilter { unit_id: w.province, level: None, subject: None },
        d("2020-12-20"),
    )
    .await
    .unwrap();
    let check = |label: String| {
        let db = db.clone();
        async move {
            let stored = db.tally_map(w.round).await.unwrap();
            let fresh: std::collections::BTreeMap<_, _> =
                db.recount(w.round).await.unwrap().into_iter().filter(|(_, n)| *n != 0).collect();
            assert_eq!(stored, fresh, "after {label}");
        }
    };
    check("enrolling".into()).await;
    let total: i64 = db
        .tally_map(w.round)
        .await
        .unwrap()
        .iter()
        .filter(|(k, _)| k.scope == "u" && k.scope_id == w.province)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 6, "every enrollment counted once at the province");
    let proposal = db.propose_classes(w.round, None, 50).await.unwrap();
    let classes = db.apply_class_proposal(None, w.round, &proposal).await.unwrap();
    check("placing in classes".into()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261126);
    let mut seq = 0;
    for step in 0..80 {
        let ids: Vec<i64> = on!(&*db, p => sqlx::query_scalar("SELECT id FROM enrollments WHERE round_id = $1 AND status = 'active' ORDER BY id")
            .bind(w.round).fetch_all(p).await)
        .unwrap();
        let e = ids[rng.random_range(0..ids.len())];
        let en = db.enrollment(e).await.unwrap().unwrap();
        let op = rng.random_range(0..10);
        let label = format!("step {step}: op {op} on {e}");
        let _ = match op {
            0 => db.set_resume(e, "bai-1").await.map(|_| ()),
            1 => db.record_progress(e, "kiem-tra", true).await.map(|_| ()),
            2 => db.set_lms_passed(e, rng.random_bool(0.8)).await,
            3 => db.sign_off(None, Some(w.core), &[e], Gate::Core, true, "Đạt", None).await.map(|_| ()),
            4 => db.sign_off(None, None, &[e], Gate::University, true, "", None).await.map(|_| ()),
            5 => {
                let gate = if rng.random_bool(0.5) { Gate::Core } else { Gate::University };
                db.undo_sign_off(None, e, gate, "Nhầm lớp", None).await
            }
            6 => {
                seq += 1;
                let c = NewCertificate {
                    enrollment_id: e,
                    number: format!("N{seq}"),
                    code: format!("C{seq}"),
                    issuer_unit_id: w.province,
                    holder_person_id: en.person_id,
                    module_code: "GV4660-02".into(),
                    data: "{}".into(),
                    pdf_sha256: "x".into(),
                    credential: "{}".into(),
                };
                if db.store_certificates(None, &[c], None).await.is_ok() && rng.random_bool(0.3) {
                    let id: i64 = on!(&*db, p => sqlx::query_scalar("SELECT id FROM certificates WHERE code = $1")
                        .bind(format!("C{seq}")).fetch_one(p).await)
                    .unwrap();
                    db.revoke_certificate(None, id, "Cấp nhầm người", None).await.unwrap();
                }
                Ok(())
            }
            7 => {
                let account = db.ensure_account(en.person_id).await.unwrap();
                db.set_password(account.id, "mat-khau-dai-1").await
            }
            8 => db.place_in_class(None, classes[rng.random_range(0..classes.len())], &[e]).await.map(|_| ()),
            _ => db.add_extra_subject(&en, "Tin học", EnrollmentKind::Concurrent).await.map(|_| ()),
        };
        check(label).await;
    }
    // Merging moves the duplicate's enrollment (kept as history when both had one).
    db.merge_people(None, w.thcs[0], &[dup]).await.unwrap();
    check("merging".into()).await;
    // Stage lists are the enrollments behind the numbers.
    let counts = db.node_counts(w.round, "u", &[w.province], &Default::default()).await.unwrap()[&w.province];
    for s in 0..7 {
        let list = db
            .stage_list(w.round, bdtx_store::oversight::Node::Unit(w.province), s, s, &Default::default(), 1000, 0)
            .await
            .unwrap();
        assert_eq!(list.len() as i64, counts.at[s as usize], "stage {s}");
    }
    // A restructuring: the primary school merges into the THCS school today. After the rebuild
    // (the job a restructuring queues) its learners count under the successor, the province's
    // total is unchanged, and the lists behind the numbers still find them.
    let at_province = |m: &std::collections::BTreeMap<bdtx_store::oversight::TallyKey, i64>| -> i64 {
        m.iter().filter(|(k, _)| k.scope == "u" && k.scope_id == w.province && k.stage < 7).map(|(_, n)| n).sum()
    };
    let province_before = at_province(&db.tally_map(w.round).await.unwrap());
    let today = bdtx_domain::dates::today();
    db.merge_units(None, bdtx_domain::org::Restructure::Merge, &[w.other_school], Some(w.school), None, today)
        .await
        .unwrap();
    db.rebuild_tallies(None).await.unwrap();
    let after = db.tally_map(w.round).await.unwrap();
    assert_eq!(at_province(&after), province_before);
    let fresh: std::collections::BTreeMap<_, _> =
        db.recount(w.round).await.unwrap().into_iter().filter(|(_, n)| *n != 0).collect();
    assert_eq!(after, fresh);
    let school_counts = db.node_counts(w.round, "u", &[w.school], &Default::default()).await.unwrap()[&w.school];
    let listed = db
        .stage_list(w.round, bdtx_store::oversight::Node::Unit(w.school), 0, 6, &Default::default(), 1000, 0)
        .await
        .unwrap();
    assert_eq!(listed.len() as i64, school_counts.total());
    assert!(listed.iter().any(|r| r.unit_name == "Trường TH B"), "the merged school's learners are listed");
    // A rebuild gives the same numbers.
    let before = db.tally_map(w.round).await.unwrap();
    let stages: std::collections::BTreeSet<i64> = before.keys().map(|k| k.stage).collect();
    assert!(stages.len() >= 4, "the operations reached several stages: {stages:?}");
    db.rebuild_tallies(Some(w.round)).await.unwrap();
    assert_eq!(db.tally_map(w.round).await.unwrap(), before);
});
