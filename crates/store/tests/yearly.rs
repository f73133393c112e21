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
    let v2 = text.replace("version: 1", "version: 2");
    db.add_scoring_policy(None, &v2).await.unwrap();
    assert!(matches!(
        db.set_year_policy(None, prov, "2019-2020", Audience::Teacher, "bdtx-2012-teacher@9").await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.set_year_policy(None, commune, "2019-2020", Audience::Teacher, "bdtx-2012-teacher@2").await,
        Err(StoreError::Invalid(_))
    ));
    db.set_year_policy(None, prov, "2019-2020", Audience::Teacher, "bdtx-2012-teacher@2").await.unwrap();
    assert_eq!(db.policy_for(gv, "2019-2020").await.unwrap().reference(), "bdtx-2012-teacher@2");

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
    assert_eq!((plan.status.as_str(), plan.policy.as_str()), ("draft", "bdtx-2012-teacher@2"));
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
