//! Professional-activity sessions on SQLite and PostgreSQL: scheduling checks, attendance only
//! for the round's learners within the unit, idempotent QR check-ins, the dashboards' counts,
//! and merges moving sessions and attendance to the kept record.

use bdtx_course::model::*;
use bdtx_domain::org::{Level, UnitKind};
use bdtx_domain::people::{PersonDraft, validate};
use bdtx_domain::round::{Audience, Delivery, PassRule, Tier, Window};
use bdtx_store::rounds::{EnrollFilter, NewRound};
use bdtx_store::sessions::{CheckIn, NewSession};
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

fn teacher(name: &str, id: &str, level: &str) -> bdtx_domain::people::PersonFields {
    validate(
        &PersonDraft {
            full_name: Some(name.into()),
            birth_date: Some("02/09/1985".into()),
            national_id: Some(id.into()),
            position: Some("teacher".into()),
            levels: Some(level.into()),
            main_subject: Some("Toán".into()),
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

fn course() -> Course {
    Course {
        module_code: "GV4660-02".into(),
        title: "Mô đun 2".into(),
        summary_html: "<p>Tóm tắt</p>".into(),
        sections: vec![Section {
            title: "Phần 1".into(),
            items: vec![Item {
                key: "bai-1".into(),
                title: "Bài 1".into(),
                required: true,
                kind: ItemKind::Lesson { body_html: "<p>Nội dung</p>".into(), video: None, documents: vec![] },
            }],
        }],
    }
}

struct World {
    commune: i64,
    cluster: i64,
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
        thcs.push(
            db.create_person(None, &teacher(name, &format!("00108501234{i}"), "THCS"), s, d("2020-09-01"))
                .await
                .unwrap(),
        );
    }
    let th = db.create_person(None, &teacher("Vũ Thị Hoa", "001085099993", "TH"), s2, d("2020-09-01")).await.unwrap();
    let core =
        db.create_person(None, &teacher("Đỗ Văn Khải", "001085099994", "THCS"), s, d("2020-09-01")).await.unwrap();
    db.add_core_status(None, core, "GV4660-02", "Toán", d("2020-10-01")).await.unwrap();
    let course = db.create_course(None, &course()).await.unwrap();
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
                subjects: vec![],
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
    db.enroll_by_filter(None, round, &EnrollFilter { unit_id: p, level: None, subject: None }, d("2020-12-20"))
        .await
        .unwrap();
    World { commune: c, cluster: k, thcs, th, core, round }
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on!(db, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(p).await).unwrap()
}

fn session(w: &World, unit: i64, facilitator: i64, kind: &str) -> NewSession {
    NewSession {
        round_id: w.round,
        unit_id: unit,
        kind: kind.into(),
        topic: "Thảo luận nội dung mô đun 2".into(),
        facilitator_person_id: Some(facilitator),
        place: "Phòng họp Trường THCS A".into(),
        starts_on: "29/12/2020".into(),
        ends_on: "31/12/2020".into(),
    }
}

fn codes(e: StoreError) -> Vec<(String, &'static str)> {
    match e {
        StoreError::Invalid(i) => i.errors.into_iter().map(|f| (f.field, f.code)).collect(),
        other => panic!("{other:?}"),
    }
}

async fn enrollment(db: &Db, person: i64) -> i64 {
    db.enrollments_of(person).await.unwrap()[0].id
}

both_backends!(sessions_attendance_and_counts, |db: bdtx_testkit::TestDb| async move {
    let w = world(&db).await;
    // Bad sessions change nothing: a facilitator who is not core, a commune instead of a school
    // or cluster, an in-person day in a self-study round, dates outside the round.
    let e = db.create_activity_session(None, &session(&w, w.cluster, w.thcs[0], "professional")).await.unwrap_err();
    assert_eq!(codes(e), vec![("session_facilitator".into(), "session_not_core")]);
    let e = db.create_activity_session(None, &session(&w, w.commune, w.core, "professional")).await.unwrap_err();
    assert_eq!(codes(e), vec![("session_unit".into(), "session_unit_kind")]);
    let e = db.create_activity_session(None, &session(&w, w.cluster, w.core, "in_person")).await.unwrap_err();
    assert_eq!(codes(e), vec![("session_kind".into(), "session_in_person_727")]);
    let mut late = session(&w, w.cluster, w.core, "professional");
    late.starts_on = "2021-01-11".into();
    late.ends_on = "2021-01-12".into();
    assert_eq!(
        codes(db.create_activity_session(None, &late).await.unwrap_err()),
        vec![("session_dates".into(), "session_outside_round")]
    );
    // A school of another province: not this round's.
    let ministry = *db.ancestors(w.commune, bdtx_domain::dates::today()).await.unwrap().last().unwrap();
    let p2 =
        db.create_unit(None, &unit("HN", UnitKind::Province, "Sở GDĐT Hà Nội", Some(ministry), vec![])).await.unwrap();
    let far = db
        .create_unit(None, &unit("HN-THCS", UnitKind::School, "Trường THCS Xa", Some(p2), vec![Level::THCS]))
        .await
        .unwrap();
    let e = db.create_activity_session(None, &session(&w, far, w.core, "professional")).await.unwrap_err();
    assert_eq!(codes(e), vec![("session_unit".into(), "session_unit_outside_round")]);
    assert_eq!(count(&db, "activity_sessions").await, 0);

    let id = db.create_activity_session(Some(1), &session(&w, w.cluster, w.core, "professional")).await.unwrap();
    let s = db.activity_session(id).await.unwrap().unwrap();
    assert_eq!(
        (s.starts_on.as_str(), s.ends_on.as_str(), s.facilitator_person_id),
        ("2020-12-29", "2020-12-31", w.core)
    );
    assert_eq!(db.sessions_of_round(w.round, Some(w.commune)).await.unwrap().len(), 1);
    assert_eq!(db.sessions_facilitated(w.core).await.unwrap().len(), 1);
    // The cluster's learners: the THCS school's three teachers and the core teacher, not the
    // primary school's teacher (in the commune, outside the cluster).
    let learners = db.session_learners(&s).await.unwrap();
    assert_eq!(learners.len(), 4);
    let th = enrollment(&db, w.th).await;
    assert!(!learners.iter().any(|l| l.id == th));
    assert!(db.facilitator_choices(w.round, w.cluster).await.unwrap().iter().any(|(p, _)| *p == w.core));

    // Attendance for someone not enrolled in the unit: refused, nothing changed.
    let (a, b) = (enrollment(&db, w.thcs[0]).await, enrollment(&db, w.thcs[1]).await);
    assert_eq!(
        codes(db.set_attendance(None, id, &[a, th]).await.unwrap_err()),
        vec![("attendance".into(), "session_not_enrolled")]
    );
    assert_eq!(codes(db.set_attendance(None, id, &[999_999]).await.unwrap_err()).len(), 1);
    assert_eq!(count(&db, "session_attendance").await, 0);
    assert_eq!(db.set_attendance(None, id, &[a, b]).await.unwrap(), (2, 0));
    assert_eq!(db.set_attendance(None, id, &[a, b]).await.unwrap(), (0, 0));
    assert_eq!(db.set_attendance(None, id, &[a]).await.unwrap(), (0, 1));

    // QR check-ins: the primary teacher is not on the list; a learner checks in once.
    assert_eq!(
        codes(db.check_in(None, id, w.th, "nonce0001").await.unwrap_err()),
        vec![("checkin".into(), "session_not_learner")]
    );
    assert_eq!(db.check_in(None, id, w.thcs[2], "nonce0001").await.unwrap(), CheckIn::Recorded);
    assert_eq!(db.check_in(None, id, w.thcs[2], "nonce0002").await.unwrap(), CheckIn::Already);
    assert_eq!(db.check_in(None, id, w.thcs[0], "nonce0002").await.unwrap(), CheckIn::Already, "ticked on the list");
    assert_eq!(count(&db, "session_attendance").await, 2);
    // The dashboards count those who attended, kept as attendance changes.
    let fresh: std::collections::BTreeMap<_, _> =
        db.recount(w.round).await.unwrap().into_iter().filter(|(_, n)| *n != 0).collect();
    assert_eq!(db.tally_map(w.round).await.unwrap(), fresh);
    let counts = db.node_counts(w.round, "u", &[w.commune], &Default::default()).await.unwrap()[&w.commune];
    assert_eq!(counts.attended, 2, "{counts:?}");
    let rows = db.session_attendance(id).await.unwrap();
    let c = enrollment(&db, w.thcs[2]).await;
    assert_eq!(rows.iter().map(|r| (r.enrollment_id, r.method.as_str())).collect::<Vec<_>>(), {
        let mut v = vec![(a, "list"), (c, "qr")];
        v.sort();
        v
    });

    // Minutes.
    db.record_file("ab", 1, "application/pdf").await.unwrap();
    db.attach_session_minutes(None, id, "ab", "bien-ban.pdf", "application/pdf").await.unwrap();
    assert_eq!(db.activity_session(id).await.unwrap().unwrap().minutes_sha256.as_deref(), Some("ab"));

    // Counts for dashboards, and the learner's record.
    let (per_session, per_enrollment) = db.attendance_counts(w.round, None).await.unwrap();
    assert_eq!(per_session.len(), 1);
    assert_eq!((per_session[0].expected, per_session[0].present), (4, 2));
    assert_eq!(per_enrollment.len(), 4);
    let of = |e: i64| per_enrollment.iter().find(|x| x.enrollment_id == e).copied().unwrap();
    assert_eq!((of(a).sessions, of(a).attended), (1, 1));
    assert_eq!((of(b).sessions, of(b).attended), (1, 0));
    let mine = db.learner_sessions(c).await.unwrap();
    assert_eq!((mine.len(), mine[0].attended), (1, true));
    assert!(db.learner_sessions(th).await.unwrap().is_empty());
    let primary = db.person_chain(w.th).await.unwrap()[0];
    let (none, _) = db.attendance_counts(w.round, Some(primary)).await.unwrap();
    assert!(none.is_empty());
});

both_backends!(merges_move_sessions_and_attendance, |db: bdtx_testkit::TestDb| async move {
    let w = world(&db).await;
    let school = db.person_chain(w.thcs[0]).await.unwrap()[0];
    // A duplicate of the core teacher facilitates; a duplicate of a learner checks in.
    let dup_core =
        db.create_person(None, &teacher("Đỗ Văn Khải", "001085099995", "THCS"), school, d("2020-09-01")).await.unwrap();
    db.add_core_status(None, dup_core, "GV4660-02", "Toán", d("2020-10-01")).await.unwrap();
    let dup = db
        .create_person(None, &teacher("Nguyễn Văn An", "001085099996", "THCS"), school, d("2020-09-01"))
        .await
        .unwrap();
    db.enroll_by_filter(
        None,
        w.round,
        &EnrollFilter { unit_id: w.cluster, level: None, subject: None },
        d("2020-12-20"),
    )
    .await
    .unwrap();
    let id = db.create_activity_session(None, &session(&w, w.cluster, dup_core, "professional")).await.unwrap();
    assert_eq!(db.check_in(None, id, dup, "nonce0001").await.unwrap(), CheckIn::Recorded);
    let kept = enrollment(&db, w.thcs[0]).await;
    db.merge_people(None, w.core, &[dup_core]).await.unwrap();
    db.merge_people(None, w.thcs[0], &[dup]).await.unwrap();
    assert_eq!(db.activity_session(id).await.unwrap().unwrap().facilitator_person_id, w.core);
    let rows = db.session_attendance(id).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.enrollment_id).collect::<Vec<_>>(), vec![kept], "moved to the kept enrollment");
    assert_eq!(count(&db, "session_attendance").await, 1);
});
