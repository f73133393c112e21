//! The yearly cycle in storage, on SQLite and PostgreSQL: policies per year and province (and
//! inconsistent ones refused), personal plans checked against the required periods, approval,
//! results classified by the plan's policy, standard assessments, and merges moving them.

use bdtx_domain::org::{Level, UnitKind};
use bdtx_domain::people::{PersonDraft, validate};
use bdtx_domain::scoring::Audience;
use bdtx_domain::standards::{Level as L, TEACHER_2018};
use bdtx_store::units::NewUnit;
use bdtx_store::yearly::ItemInput;
use bdtx_store::{Db, StoreError, on};
use bdtx_testkit::both_backends;
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn nu(code: &str, kind: UnitKind, name: &str, parent: Option<i64>) -> NewUnit {
    NewUnit {
        code: code.into(),
        kind,
        name: name.into(),
        levels: if kind == UnitKind::School { vec![Level::TH] } else { vec![] },
        parent_id: parent,
        valid_from: d("2019-01-01"),
        valid_to: None,
    }
}

/// ministry > province > commune > school; returns (province, commune, school).
async fn tree(db: &Db) -> (i64, i64, i64) {
    let m = db.create_unit(None, &nu("BGDDT", UnitKind::Ministry, "Bộ Giáo dục và Đào tạo", None)).await.unwrap();
    let p = db.create_unit(None, &nu("NB", UnitKind::Province, "Sở GDĐT Ninh Bình", Some(m))).await.unwrap();
    let c = db.create_unit(None, &nu("KD", UnitKind::Commune, "Xã Kim Đông", Some(p))).await.unwrap();
    let s = db.create_unit(None, &nu("TH-A", UnitKind::School, "Trường Tiểu học Kim Đông", Some(c))).await.unwrap();
    (p, c, s)
}

async fn teacher(db: &Db, name: &str, id: &str, position: &str, school: i64) -> i64 {
    let f = validate(
        &PersonDraft {
            full_name: Some(name.into()),
            birth_date: Some("02/09/1985".into()),
            national_id: Some(id.into()),
            phone: Some("0912345678".into()),
            position: Some(position.into()),
            levels: Some("TH".into()),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    db.create_person(None, &f, school, d("2019-08-01")).await.unwrap()
}

fn it(g: &str, c: &str, n: i64) -> ItemInput {
    ItemInput { group: g.into(), code: c.into(), periods: n }
}

async fn count(db: &Db, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on!(db, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(p).await).unwrap()
}

both_backends!(yearly_plan_results_and_policies, |db: bdtx_testkit::TestDb| async move {
    let (prov, commune, school) = tree(&db).await;
    let gv = teacher(&db, "Nguyễn Văn An", "001085000001", "teacher", school).await;
    let ht = teacher(&db, "Trần Thị Bình", "001085000002", "principal", school).await;

    // Policies: the year's default, a province's choice, inconsistent versions refused.
    assert_eq!(db.year_policy(Some(prov), "2024-2025", Audience::Teacher).await.unwrap(), "bdtx-2019@1");
    assert_eq!(db.year_policy(Some(prov), "2019-2020", Audience::Manager).await.unwrap(), "bdtx-2012-manager@1");
    assert_eq!(db.audience_of(ht).await.unwrap(), Audience::Manager);
    let text = bdtx_domain::scoring::SHIPPED[0];
    let overlap = text.replace("from: 7, to: 9", "from: 7, to: 9.5");
    match db.add_scoring_policy(None, &overlap).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "policy_overlap"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(db.add_scoring_policy(None, text).await, Err(StoreError::Conflict(_))), "shipped version");
    assert_eq!(count(&db, "scoring_policies").await, 0, "nothing stored");
    let v3 = text.replace("version: 1", "version: 3");
    db.add_scoring_policy(None, &v3).await.unwrap();
    assert!(matches!(
        db.set_year_policy(None, prov, "2019-2020", Audience::Teacher, "bdtx-2012-teacher@9").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.set_year_policy(None, commune, "2019-2020", Audience::Teacher, "bdtx-2012-teacher@3").await,
        Err(StoreError::Invalid(_))
    ));
    db.set_year_policy(None, prov, "2019-2020", Audience::Teacher, "bdtx-2012-teacher@3").await.unwrap();
    assert_eq!(db.policy_for(gv, "2019-2020").await.unwrap().reference(), "bdtx-2012-teacher@3");

    // A plan short of content 3's 60 periods, or naming a module of another catalog: nothing.
    let short = [it("ND1", "ND1", 30), it("ND2", "ND2", 30), it("ND3", "TH1", 45)];
    match db.save_year_plan(None, gv, "2019-2020", &short).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_periods_short"),
        other => panic!("{other:?}"),
    }
    let wrong = [it("ND1", "ND1", 30), it("ND2", "ND2", 30), it("ND3", "GVPT05", 60)];
    match db.save_year_plan(None, gv, "2019-2020", &wrong).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_module_not_in_group"),
        other => panic!("{other:?}"),
    }
    assert!(db.year_plan_of(gv, "2019-2020").await.unwrap().is_none());
    let full = [it("ND1", "ND1", 30), it("ND2", "ND2", 30), it("ND3", "TH1", 30), it("ND3", "TH2", 30)];
    let id = db.save_year_plan(None, gv, "2019-2020", &full).await.unwrap();
    let plan = db.year_plan(id).await.unwrap().unwrap();
    assert_eq!((plan.status.as_str(), plan.policy.as_str()), ("draft", "bdtx-2012-teacher@3"));
    assert_eq!(db.year_items(id).await.unwrap().len(), 4);

    // Submitted to the school; approved; changing it now is refused until reopened.
    let plan = db.submit_year_plan(None, id).await.unwrap();
    assert_eq!(plan.approver_unit_id, Some(school));
    assert!(matches!(db.decide_year_plan(None, id, "return", " ").await, Err(StoreError::Invalid(_))));
    db.decide_year_plan(None, id, "approve", "").await.unwrap();
    assert!(matches!(db.decide_year_plan(None, id, "approve", "").await, Err(StoreError::Conflict(_))));
    match db.save_year_plan(None, gv, "2019-2020", &short).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_plan_locked"),
        other => panic!("{other:?}"),
    }
    assert_eq!(db.year_items(id).await.unwrap().len(), 4);

    // Results: one part out of range refuses the whole entry.
    let items = db.year_items(id).await.unwrap();
    let s = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
    let mut entries: Vec<(i64, Vec<String>)> = items.iter().map(|i| (i.id, s("4,5", "4,5"))).collect();
    entries[3].1 = s("5,5", "4");
    match db.enter_year_results(None, id, &entries).await {
        Err(StoreError::Invalid(e)) => {
            assert_eq!(e.errors.len(), 1);
            assert_eq!(e.errors[0].code, "score_range");
        }
        other => panic!("{other:?}"),
    }
    assert!(db.year_items(id).await.unwrap().iter().all(|i| i.score.is_none()));
    assert!(db.year_plan(id).await.unwrap().unwrap().result_label.is_none());
    entries[3].1 = s("5", "4");
    let o = db.enter_year_results(None, id, &entries).await.unwrap();
    assert_eq!((o.average, o.label_vi.as_str()), (Some(900), "Giỏi"));
    let plan = db.year_plan(id).await.unwrap().unwrap();
    assert_eq!((plan.result_average, plan.result_label.as_deref()), (Some(900), Some("Giỏi")));
    // Reopened: the author may change it again.
    db.decide_year_plan(None, id, "reopen", "Bổ sung mô đun TH3").await.unwrap();
    db.save_year_plan(None, gv, "2019-2020", &full).await.unwrap();
    // The classification waits for the school again; the scores of the items kept stay.
    let plan = db.year_plan(id).await.unwrap().unwrap();
    assert_eq!((plan.status.as_str(), plan.result_label.as_deref()), ("returned", None));
    assert!(db.year_items(id).await.unwrap().iter().all(|i| i.score == Some(900)));

    // Standards: submit needs every criterion; evaluated once.
    let mut levels = vec![Some(L::Tot); 15];
    levels[4] = None;
    assert!(db.save_self_assessment(None, gv, "2024-2025", &TEACHER_2018, &levels, "", true).await.is_err());
    assert_eq!(count(&db, "standard_assessments").await, 0);
    let draft = db.save_self_assessment(None, gv, "2024-2025", &TEACHER_2018, &levels, "nháp", false).await.unwrap();
    levels[4] = Some(L::Dat);
    let a = db.save_self_assessment(None, gv, "2024-2025", &TEACHER_2018, &levels, "", true).await.unwrap();
    assert_eq!(a, draft);
    let got = db.assessment(a).await.unwrap().unwrap();
    assert_eq!((got.status.as_str(), got.self_overall.as_deref()), ("submitted", Some("kha")));
    db.comment_assessment(None, Some(ht), a, "Đồng ý với tự đánh giá").await.unwrap();
    let overall = db.evaluate_assessment(None, a, &levels, "").await.unwrap();
    assert_eq!(overall, L::Kha);
    assert!(matches!(db.evaluate_assessment(None, a, &levels, "").await, Err(StoreError::Conflict(_))));
    let r = db.standard_rollup(Some(prov), "2024-2025", &TEACHER_2018).await.unwrap();
    assert_eq!((r.people, r.overall), (1, [0, 0, 1, 0]));
    assert_eq!(r.per_criterion[4], [0, 1, 0, 0]);
    assert_eq!(bdtx_domain::standards::weakest(&r.per_criterion, 3), vec![(5, 1)]);

    // A duplicate record of the teacher is merged into them: their yearly records move.
    let dup = teacher(&db, "Nguyễn Văn An", "001085000009", "teacher", school).await;
    let plan19 = [it("CT01", "CT01", 40), it("CT02", "CT02", 40), it("CT03", "GVPT01", 40)];
    let id2 = db.save_year_plan(None, dup, "2023-2024", &plan19).await.unwrap();
    db.merge_people(None, gv, &[dup]).await.unwrap();
    assert_eq!(db.year_plan(id2).await.unwrap().unwrap().person_id, gv);
    assert_eq!(db.year_plans_of(gv).await.unwrap().len(), 2);
});

both_backends!(yearly_deadlines_and_lists_sent_upward, |db: bdtx_testkit::TestDb| async move {
    let (prov, commune, school) = tree(&db).await;
    // A second school sits under a cluster of the commune: it still reports to the commune.
    let cluster = db.create_unit(None, &nu("C1", UnitKind::Cluster, "Cụm trường số 1", Some(commune))).await.unwrap();
    let school2 =
        db.create_unit(None, &nu("TH-B", UnitKind::School, "Trường Tiểu học Kim Tân", Some(cluster))).await.unwrap();
    assert_eq!(db.report_office_of(school2).await.unwrap(), Some(commune));
    assert_eq!(db.report_office_of(school).await.unwrap(), Some(commune));
    assert_eq!(db.report_office_of(commune).await.unwrap(), Some(prov));
    let gv = teacher(&db, "Nguyễn Văn An", "001085000001", "teacher", school).await;
    let year = bdtx_store::yearly::current_school_year();
    let start: i32 = year[..4].parse().unwrap();
    let d = |y: i32, m: u32, day: u32| NaiveDate::from_ymd_opt(y, m, day).unwrap();

    // Deadlines: without a setting, personal plans are due on 31 May (the 2019 rules).
    assert_eq!(db.yearly_deadline(Some(prov), &year, "plan_submit").await.unwrap(), Some(d(start + 1, 5, 31)));
    assert_eq!(db.yearly_deadline(Some(prov), &year, "school_report").await.unwrap(), None);
    // Schools after the office, a date outside the year, or a commune: refused, nothing stored.
    let swapped = [("school_report", Some(d(start + 1, 5, 22))), ("office_report", Some(d(start + 1, 5, 21)))];
    match db.set_yearly_deadlines(None, prov, &year, &swapped).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_deadline_order"),
        other => panic!("{other:?}"),
    }
    let outside = [("plan_submit", Some(d(start + 2, 5, 31)))];
    assert!(matches!(db.set_yearly_deadlines(None, prov, &year, &outside).await, Err(StoreError::Invalid(_))));
    let ok = [("school_report", Some(d(start + 1, 12, 30))), ("office_report", Some(d(start + 1, 12, 31)))];
    assert!(matches!(db.set_yearly_deadlines(None, commune, &year, &ok).await, Err(StoreError::Invalid(_))));
    assert_eq!(count(&db, "yearly_deadlines").await, 0);
    db.set_yearly_deadlines(None, prov, &year, &ok).await.unwrap();
    // Each kind is checked with those kept: an office deadline before the schools' is refused.
    let early = [("office_report", Some(d(start + 1, 12, 1)))];
    assert!(matches!(db.set_yearly_deadlines(None, prov, &year, &early).await, Err(StoreError::Invalid(_))));
    assert_eq!(db.report_deadline_of(school2, &year).await.unwrap(), Some(d(start + 1, 12, 30)));
    assert_eq!(db.report_deadline_of(commune, &year).await.unwrap(), Some(d(start + 1, 12, 31)));

    // Nothing approved yet: nothing to send; a cluster or a province sends nothing upward.
    match db.send_yearly_report(None, school, &year, "").await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_report_empty"),
        other => panic!("{other:?}"),
    }
    for u in [cluster, prov] {
        match db.send_yearly_report(None, u, &year, "").await {
            Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_report_unit"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(count(&db, "yearly_reports").await, 0);

    // A teacher's plan approved and classified; the school sends its list, on time.
    let plan = [it("CT01", "CT01", 40), it("CT02", "CT02", 40), it("CT03", "GVPT05", 40)];
    let id = db.save_year_plan(None, gv, &year, &plan).await.unwrap();
    db.submit_year_plan(None, id).await.unwrap();
    db.decide_year_plan(None, id, "approve", "").await.unwrap();
    let items = db.year_items(id).await.unwrap();
    let entries: Vec<(i64, Vec<String>)> = items.iter().map(|i| (i.id, vec!["8".to_string()])).collect();
    db.enter_year_results(None, id, &entries).await.unwrap();
    let r = db.send_yearly_report(None, school, &year, "Kèm danh sách").await.unwrap();
    assert_eq!((r.to_unit_id, r.times, r.first_sent_at == r.sent_at), (commune, 1, true));
    let f = r.figures_json();
    assert_eq!((f["approved"].as_i64(), f["classified"].as_i64()), (Some(1), Some(1)));
    assert_eq!(f["classes"][0], serde_json::json!(["Hoàn thành", 1]));
    assert_eq!(f["rows"][0]["name"], "Nguyễn Văn An");
    // Sent again: the first time stays, the count grows.
    let again = db.send_yearly_report(None, school, &year, "").await.unwrap();
    assert_eq!((again.times, again.first_sent_at), (2, r.first_sent_at));
    assert_eq!(count(&db, "yearly_reports").await, 1);

    // The commune sees who sent: the school on time, the other school not yet (not late yet).
    let senders = db.yearly_senders(commune, &year).await.unwrap();
    let got: Vec<_> = senders.iter().map(|s| (s.unit_id, s.report.is_some(), s.late)).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.contains(&(school, true, false)) && got.contains(&(school2, false, false)), "{got:?}");
    // The province expects the commune's summary, not the schools' lists.
    let to_prov: Vec<_> = db.yearly_senders(prov, &year).await.unwrap().into_iter().map(|s| s.unit_id).collect();
    assert_eq!(to_prov, vec![commune]);

    // A past year with seed 001's dates (schools by 20/5/2020): whoever has not sent is late.
    let seed = [("school_report", Some(d(2020, 5, 20))), ("office_report", Some(d(2020, 5, 21)))];
    db.set_yearly_deadlines(None, prov, "2019-2020", &seed).await.unwrap();
    let past = db.yearly_senders(commune, "2019-2020").await.unwrap();
    assert!(past.iter().all(|s| s.late && s.due.as_deref() == Some("2020-05-20")), "{past:?}");
    // Clearing a deadline: no longer late.
    db.set_yearly_deadlines(None, prov, "2019-2020", &[("school_report", None)]).await.unwrap();
    assert!(db.yearly_senders(commune, "2019-2020").await.unwrap().iter().all(|s| !s.late));
});

both_backends!(english_teachers_claim_the_content_3_exemption, |db: bdtx_testkit::TestDb| async move {
    let (_, _, school) = tree(&db).await;
    let gv = teacher(&db, "Lê Thị Hoa", "001085000003", "teacher", school).await;
    let year = "2019-2020";
    let two = [it("ND1", "ND1", 30), it("ND2", "ND2", 30)];
    // Without English among their subjects the claim is refused; nothing is written.
    match db.save_year_plan_claiming(None, gv, year, &two, Some("tieng-anh-he-2019")).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_exemption_not_eligible"),
        other => panic!("{other:?}"),
    }
    assert!(db.year_plan_of(gv, year).await.unwrap().is_none());
    on!(&db.db, p => sqlx::query("UPDATE people SET main_subject = $2 WHERE id = $1").bind(gv).bind("Tiếng Anh")
        .execute(p).await.map(|_| ()))
    .unwrap();
    // An unknown exemption, or content 3 while exempt from it: refused.
    assert!(matches!(
        db.save_year_plan_claiming(None, gv, year, &two, Some("khac")).await,
        Err(StoreError::Invalid(_))
    ));
    let with_nd3 = [it("ND1", "ND1", 30), it("ND2", "ND2", 30), it("ND3", "TH1", 60)];
    match db.save_year_plan_claiming(None, gv, year, &with_nd3, Some("tieng-anh-he-2019")).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.errors[0].code, "yearly_group_exempt"),
        other => panic!("{other:?}"),
    }
    // Not claimed, content 3 is still required; claimed, contents 1 and 2 make the plan.
    assert!(matches!(db.save_year_plan(None, gv, year, &two).await, Err(StoreError::Invalid(_))));
    let id = db.save_year_plan_claiming(None, gv, year, &two, Some("tieng-anh-he-2019")).await.unwrap();
    let plan = db.year_plan(id).await.unwrap().unwrap();
    assert_eq!((plan.policy.as_str(), plan.exemption.as_deref()), ("bdtx-2012-teacher@2", Some("tieng-anh-he-2019")));
    db.submit_year_plan(None, id).await.unwrap();
    db.decide_year_plan(None, id, "approve", "").await.unwrap();
    let items = db.year_items(id).await.unwrap();
    let s = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
    let entries = vec![(items[0].id, s("4", "4")), (items[1].id, s("4,5", "4,5"))];
    let o = db.enter_year_results(None, id, &entries).await.unwrap();
    // (8 + 9) / 2 = 8,5: Khá, content 3 left out of the average.
    assert_eq!((o.average, o.label_vi.as_str()), (Some(850), "Khá"));
    // The next school year the exemption no longer applies.
    let next = [it("CT01", "CT01", 40), it("CT02", "CT02", 40)];
    assert!(matches!(
        db.save_year_plan_claiming(None, gv, "2020-2021", &next, Some("tieng-anh-he-2019")).await,
        Err(StoreError::Invalid(_))
    ));
});
