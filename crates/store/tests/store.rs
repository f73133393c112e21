//! Storage tests: every case runs on SQLite and on PostgreSQL.

use bdtx_domain::authz::Role;
use bdtx_domain::org::{Level, Restructure, UnitKind};
use bdtx_domain::people::{PersonDraft, validate};
use bdtx_store::accounts::LoginOutcome;
use bdtx_store::people::PeopleQuery;
use bdtx_store::units::NewUnit;
use bdtx_store::{Db, StoreError, on};
use bdtx_testkit::both_backends;
use chrono::NaiveDate;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn nu(code: &str, kind: UnitKind, name: &str, parent: Option<i64>, from: &str) -> NewUnit {
    NewUnit {
        code: code.into(),
        kind,
        name: name.into(),
        levels: if kind == UnitKind::School { vec![Level::TH] } else { vec![] },
        parent_id: parent,
        valid_from: d(from),
        valid_to: None,
    }
}

/// ministry > province > commune > school A, school B
async fn small_tree(db: &Db) -> (i64, i64, i64, i64, i64) {
    let m = db
        .create_unit(None, &nu("BGDDT", UnitKind::Ministry, "Bộ Giáo dục và Đào tạo", None, "1990-01-01"))
        .await
        .unwrap();
    let p =
        db.create_unit(None, &nu("NB", UnitKind::Province, "Sở GDĐT Ninh Bình", Some(m), "2025-07-01")).await.unwrap();
    let c = db.create_unit(None, &nu("KD", UnitKind::Commune, "Xã Kim Đông", Some(p), "2025-07-01")).await.unwrap();
    let a = db
        .create_unit(None, &nu("TH-A", UnitKind::School, "Trường Tiểu học Kim Đông", Some(c), "2025-07-01"))
        .await
        .unwrap();
    let b = db
        .create_unit(None, &nu("TH-B", UnitKind::School, "Trường Tiểu học Ân Hòa", Some(c), "2025-07-01"))
        .await
        .unwrap();
    (m, p, c, a, b)
}

fn person(name: &str, id: Option<&str>) -> bdtx_domain::people::PersonFields {
    validate(
        &PersonDraft {
            full_name: Some(name.into()),
            birth_date: Some("02/09/1985".into()),
            national_id: id.map(String::from),
            phone: Some("0912345678".into()),
            position: Some("teacher".into()),
            levels: Some("TH".into()),
            ..Default::default()
        },
        None,
    )
    .unwrap()
}

async fn audit_count(db: &Db) -> i64 {
    on!(db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log").fetch_one(p).await).unwrap()
}

both_backends!(migrations_are_idempotent_and_load_the_catalog, |db: bdtx_testkit::TestDb| async move {
    db.migrate().await.unwrap();
    let all = db.modules(None).await.unwrap();
    assert!(all.len() >= 166, "{}", all.len());
    let gvpt = db.modules(Some("gvpt_2019")).await.unwrap();
    assert_eq!(gvpt.len(), 15);
    let nd3 = db.module("ND3").await.unwrap().unwrap();
    assert_eq!(nd3.periods, Some(60));
    db.update_module_titles(None, "MN17", "Mô đun MN17: Tên mới", "MN17 new").await.unwrap();
    db.migrate().await.unwrap(); // reloading the shipped catalog keeps edits
    assert_eq!(db.module("MN17").await.unwrap().unwrap().title_vi, "Mô đun MN17: Tên mới");
    assert!(matches!(db.update_module_titles(None, "MN17", "  ", "x").await, Err(StoreError::Invalid(_))));
});

both_backends!(tree_ancestors_and_vietnamese_order, |db: bdtx_testkit::TestDb| async move {
    let (m, p, c, a, b) = small_tree(&db).await;
    assert_eq!(db.ancestors(a, d("2026-01-01")).await.unwrap(), vec![a, c, p, m]);
    let sub = db.subtree(m, d("2026-01-01"), 10).await.unwrap();
    let names: Vec<_> = sub.iter().map(|n| n.name.as_str()).collect();
    // depth-first; schools in Vietnamese order (Ân before Kim)
    assert_eq!(names, vec!["Sở GDĐT Ninh Bình", "Xã Kim Đông", "Trường Tiểu học Ân Hòa", "Trường Tiểu học Kim Đông"]);
    assert_eq!(sub[2].id, b);
    // before the province existed, the tree is empty
    assert!(db.subtree(m, d("2024-01-01"), 10).await.unwrap().is_empty());
    // a school may not hang under a school; a code must be ASCII; nothing was created
    let before = db.unit_counts().await.unwrap();
    assert!(matches!(
        db.create_unit(None, &nu("X", UnitKind::School, "X", Some(a), "2025-07-01")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.create_unit(None, &nu("Mã có dấu", UnitKind::Cluster, "X", Some(c), "2025-07-01")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.create_unit(None, &nu("TH-A", UnitKind::School, "Trùng mã", Some(c), "2025-07-01")).await,
        Err(StoreError::Conflict("code"))
    ));
    assert_eq!(db.unit_counts().await.unwrap(), before);
});

both_backends!(merge_keeps_history_and_rejects_overlaps, |db: bdtx_testkit::TestDb| async move {
    let (m, p, c, a, b) = small_tree(&db).await;
    let teacher =
        db.create_person(None, &person("Nguyễn Văn An", Some("001085012345")), a, d("2025-09-01")).await.unwrap();
    let merged = db
        .merge_units(
            None,
            Restructure::Merge,
            &[a, b],
            None,
            Some(nu("TH-AB", UnitKind::School, "Trường Tiểu học Kim Đông - Ân Hòa", None, "2026-07-01")),
            d("2026-07-01"),
        )
        .await
        .unwrap();
    // today: one school; on 1/1/2026: the two old ones
    let now: Vec<_> = db.subtree(c, d("2026-08-01"), 5).await.unwrap().into_iter().map(|n| n.id).collect();
    assert_eq!(now, vec![merged]);
    let then: Vec<_> = db.subtree(c, d("2026-01-01"), 5).await.unwrap().into_iter().map(|n| n.id).collect();
    assert_eq!(then, vec![b, a]);
    assert_eq!(db.unit(a).await.unwrap().unwrap().successor_id, Some(merged));
    assert_eq!(db.predecessors(merged).await.unwrap().len(), 2);
    // the teacher's history keeps the old school until the date, then the new one
    let stays = db.stays(teacher).await.unwrap();
    assert_eq!(stays.len(), 2);
    assert_eq!((stays[0].unit_id, stays[0].valid_to.clone()), (merged, None));
    assert_eq!((stays[1].unit_id, stays[1].valid_to.as_deref()), (a, Some("2026-07-01")));
    assert_eq!(db.person_chain(teacher).await.unwrap(), vec![merged, c, p, m]);
    // merging a closed unit again, a cycle, a date before the unit existed: refused, nothing changed
    let audits = audit_count(&db).await;
    assert!(matches!(
        db.merge_units(None, Restructure::Merge, &[a], Some(merged), None, d("2026-08-01")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.merge_units(None, Restructure::Merge, &[merged], Some(merged), None, d("2026-08-01")).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        db.merge_units(
            None,
            Restructure::Rename,
            &[merged],
            None,
            Some(nu("TH-X", UnitKind::School, "X", None, "2026-01-01")),
            d("2026-01-01")
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    // moving the commune under its own school is a cycle
    assert!(matches!(db.move_unit(None, c, merged, d("2026-09-01")).await, Err(StoreError::Invalid(_))));
    assert_eq!(audit_count(&db).await, audits);
    assert!(db.unit_by_code("TH-X").await.unwrap().is_none());
    // a rename is a merge of one unit into a new one
    let renamed = db
        .merge_units(
            None,
            Restructure::Rename,
            &[merged],
            None,
            Some(nu("TH-KD", UnitKind::School, "Trường Tiểu học Kim Đông mới", None, "2026-09-01")),
            d("2026-09-01"),
        )
        .await
        .unwrap();
    assert_eq!(db.unit_by_code("TH-KD").await.unwrap().unwrap().id, renamed);
    assert_eq!(db.ancestors(renamed, d("2026-10-01")).await.unwrap(), vec![renamed, c, p, m]);
});

both_backends!(people_are_unique_searchable_and_audited, |db: bdtx_testkit::TestDb| async move {
    let (_m, p, c, a, b) = small_tree(&db).await;
    let an = db.create_person(None, &person("Nguyễn Văn An", Some("001085012345")), a, d("2025-09-01")).await.unwrap();
    db.create_person(None, &person("Trần Thị Ân", None), b, d("2025-09-01")).await.unwrap();
    db.create_person(None, &person("Bùi Văn An", Some("001085099999")), b, d("2025-09-01")).await.unwrap();
    // same national ID: the same real person, refused
    assert!(matches!(
        db.create_person(None, &person("Nguyễn Văn Ân", Some("001085012345")), b, d("2025-09-01")).await,
        Err(StoreError::Conflict("identity"))
    ));
    // without ID: same folded name + birth date + phone is the same person
    assert!(matches!(
        db.create_person(None, &person("TRẦN  thị ân", None), a, d("2025-09-01")).await,
        Err(StoreError::Conflict("identity"))
    ));
    let q = |s: &str, within: Option<i64>| PeopleQuery { q: s.into(), within, limit: 50, offset: 0 };
    let names = |rows: Vec<bdtx_store::people::PersonRow>| rows.into_iter().map(|r| r.full_name).collect::<Vec<_>>();
    assert_eq!(names(db.search_people(&q("nguyen van an", None)).await.unwrap()), vec!["Nguyễn Văn An"]);
    // "an" matches An and Ân; Vietnamese order: given name, then middle, then family
    assert_eq!(
        names(db.search_people(&q("an", Some(p))).await.unwrap()),
        vec!["Bùi Văn An", "Nguyễn Văn An", "Trần Thị Ân"]
    );
    assert_eq!(names(db.search_people(&q("", Some(a))).await.unwrap()), vec!["Nguyễn Văn An"]);
    assert_eq!(names(db.search_people(&q("001085012345", Some(c))).await.unwrap()), vec!["Nguyễn Văn An"]);
    assert_eq!(names(db.search_people(&q("+84 912 345 678", Some(a))).await.unwrap()), vec!["Nguyễn Văn An"]);
    assert!(db.search_people(&q("100%_", None)).await.unwrap().is_empty());
    // an update is audited with before and after, under the person's school
    let before = db.person(an).await.unwrap().unwrap();
    let f = validate(
        &PersonDraft { email: Some("an@kimdong.edu.vn".into()), ..Default::default() },
        Some(&before.fields()),
    )
    .unwrap();
    db.update_person(Some(1), an, &f).await.unwrap();
    assert_eq!(db.person(an).await.unwrap().unwrap().email.as_deref(), Some("an@kimdong.edu.vn"));
    let log = db.audit_list(Some(a), None, 10).await.unwrap();
    assert_eq!(log[0].action, "person.update");
    assert!(log[0].before_json.as_deref().unwrap().contains("\"email\":null"));
    assert!(log[0].after_json.as_deref().unwrap().contains("an@kimdong.edu.vn"));
    assert!(db.audit_list(Some(b), None, 10).await.unwrap().iter().all(|e| e.action != "person.update"));
    // the log is append-only on both backends
    let r = on!(&db.db, p => sqlx::query("UPDATE audit_log SET action = 'x'").execute(p).await.map(|_| ()));
    assert!(r.is_err());
    let r = on!(&db.db, p => sqlx::query("DELETE FROM audit_log").execute(p).await.map(|_| ()));
    assert!(r.is_err());
    // moving school keeps history
    db.move_person(None, an, b, d("2026-09-01")).await.unwrap();
    let stays = db.stays(an).await.unwrap();
    assert_eq!(stays.iter().map(|s| s.unit_id).collect::<Vec<_>>(), vec![b, a]);
    assert!(matches!(db.move_person(None, an, a, d("2026-01-01")).await, Err(StoreError::Invalid(_))));
    // core status needs a module from the catalog
    db.add_core_status(None, an, "GV4660-02", "Toán", d("2020-10-01")).await.unwrap();
    assert!(matches!(
        db.add_core_status(None, an, "GV4660-99", "Toán", d("2020-10-01")).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(db.core_status(an).await.unwrap().len(), 1);
});

both_backends!(accounts_lockout_activation_sessions, |db: bdtx_testkit::TestDb| async move {
    let (_m, p, _c, a, _b) = small_tree(&db).await;
    let an = db.create_person(None, &person("Nguyễn Văn An", Some("001085012345")), a, d("2025-09-01")).await.unwrap();
    let acc = db.create_account("001085012345", Some(an), None).await.unwrap();
    assert!(
        matches!(db.create_account("other", Some(an), None).await, Err(StoreError::Conflict(_))),
        "one account per person"
    );
    assert_eq!(db.login("001085012345", "anything").await.unwrap(), LoginOutcome::NotActivated);
    let code = db.issue_activation(None, acc, Some(a)).await.unwrap();
    assert!(!db.activate("001085012345", "WRONGCODE1", "mật khẩu mới 1").await.unwrap());
    assert!(db.activate("001085012345", &code.to_lowercase(), "mật khẩu mới 1").await.unwrap());
    assert!(!db.activate("001085012345", &code, "lần hai nữa").await.unwrap(), "a code is spent once");
    assert_eq!(db.login("001085012345", "mật khẩu mới 1").await.unwrap(), LoginOutcome::Ok(acc));
    let hash = db.account(acc).await.unwrap().unwrap().password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"));
    for _ in 0..4 {
        assert_eq!(db.login("001085012345", "sai").await.unwrap(), LoginOutcome::BadCredentials);
    }
    assert!(matches!(db.login("001085012345", "sai").await.unwrap(), LoginOutcome::Locked { .. }));
    assert!(
        matches!(db.login("001085012345", "mật khẩu mới 1").await.unwrap(), LoginOutcome::Locked { .. }),
        "locked even with the right password"
    );
    db.unlock_account(None, acc, Some(a)).await.unwrap();
    assert_eq!(db.login("001085012345", "mật khẩu mới 1").await.unwrap(), LoginOutcome::Ok(acc));
    assert_eq!(db.login("nobody", "x").await.unwrap(), LoginOutcome::BadCredentials);
    // roles and sessions
    db.grant_role(None, acc, Role::SchoolAdmin, a).await.unwrap();
    let pr = db.principal(acc).await.unwrap().unwrap();
    assert_eq!(pr.person_id, Some(an));
    assert_eq!(pr.grants[0].role, Role::SchoolAdmin);
    let (token, csrf) = db.create_session(acc).await.unwrap();
    let s = db.session(&token).await.unwrap().unwrap();
    assert_eq!((s.account_id, s.csrf), (acc, csrf));
    db.delete_session(&token).await.unwrap();
    assert!(db.session(&token).await.unwrap().is_none());
    // one account per person, created on demand: the national ID as username, else p<id>
    assert_eq!(db.ensure_account(an).await.unwrap().id, acc, "an existing account is kept");
    db.create_account("001085099999", None, None).await.unwrap(); // someone already uses this name
    let other = db.create_person(None, &person("Bùi Văn An", Some("001085099999")), a, d("2025-09-01")).await.unwrap();
    assert_eq!(db.ensure_account(other).await.unwrap().username, format!("p{other}"));
    let third = db.create_person(None, &person("Lê Văn Ba", Some("001085077777")), a, d("2025-09-01")).await.unwrap();
    assert_eq!(db.ensure_account(third).await.unwrap().username, "001085077777");
    let _ = p;
});

both_backends!(demo_seeds_history_and_logins, |db: bdtx_testkit::TestDb| async move {
    let logins = bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 2 }).await.unwrap();
    let users: Vec<_> = logins.iter().map(|l| l.username.as_str()).collect();
    for u in ["bo.admin", "so.admin", "xa.admin", "hieutruong", "giangvien", "cotcan", "vanhanh", "giaovien"] {
        assert!(users.contains(&u), "{u}");
    }
    assert!(matches!(db.login("so.admin", bdtx_store::demo::DEMO_PASSWORD).await.unwrap(), LoginOutcome::Ok(_)));
    let nb = db.unit_by_code("NB").await.unwrap().unwrap();
    let names_at = |rows: Vec<bdtx_store::units::TreeNode>| rows.into_iter().map(|n| n.code).collect::<Vec<_>>();
    let now = names_at(db.subtree(nb.id, bdtx_domain::dates::today(), 1).await.unwrap());
    assert!(now.contains(&"NB-KS04".to_string()) && !now.contains(&"NB-KS01".to_string()), "{now:?}");
    let before = names_at(db.subtree(nb.id, d("2026-01-01"), 1).await.unwrap());
    assert!(before.contains(&"NB-KS01".to_string()) && !before.contains(&"NB-KS04".to_string()), "{before:?}");
    // before the 2025 merger: the former provinces and their district offices
    let m = db.unit_by_code("BGDDT").await.unwrap().unwrap();
    let old = names_at(db.subtree(m.id, d("2024-01-01"), 2).await.unwrap());
    assert!(
        old.contains(&"HNA".to_string()) && old.contains(&"HNA-PL".to_string()) && !old.contains(&"NB".to_string()),
        "{old:?}"
    );
    let an = db
        .search_people(&PeopleQuery { q: "nguyen van an".into(), within: Some(nb.id), limit: 10, offset: 0 })
        .await
        .unwrap();
    assert!(an.iter().any(|r| r.full_name == "Nguyễn Văn An"));
    // every person has exactly one account
    let (people, accounts): (i64, i64) = on!(&db.db, p => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM people), (SELECT COUNT(*) FROM accounts WHERE person_id IS NOT NULL)").fetch_one(p).await).unwrap();
    assert_eq!(people, accounts);
    assert!(
        bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 1 }).await.is_err(),
        "seeding twice is refused"
    );
});

#[tokio::test]
async fn sqlite_backup_is_a_consistent_copy() {
    let t = bdtx_testkit::db(bdtx_testkit::Backend::Sqlite).await.unwrap();
    small_tree(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy.db");
    t.backup(&dest, &t.url).await.unwrap();
    let copy = Db::connect(&format!("sqlite://{}", dest.display())).await.unwrap();
    assert!(copy.unit_by_code("TH-A").await.unwrap().is_some());
    assert!(t.backup(&dest, &t.url).await.is_err(), "never overwrites");
}

both_backends!(duplicates_are_found_and_merged_without_losing_anything, |db: bdtx_testkit::TestDb| async move {
    let (_m, _p, c, a, b) = small_tree(&db).await;
    let mut one = person("Nguyễn Văn An", Some("001085012345"));
    one.email = Some("an@truong.edu.vn".into());
    let keep = db.create_person(None, &one, a, d("2025-09-01")).await.unwrap();
    let mut two = person("Nguyễn Văn An", None); // same name, birth date, phone; no ID
    two.email = None;
    let dup = db.create_person(None, &two, b, d("2025-09-01")).await.unwrap();
    let groups = db.duplicate_candidates(Some(c), 10).await.unwrap();
    let reasons: Vec<_> = groups.iter().map(|g| g.reason.as_str()).collect();
    assert!(reasons.contains(&"phone") && reasons.contains(&"name_birth"), "{reasons:?}");
    assert!(groups.iter().all(|g| g.people.len() == 2));
    // the duplicate has history, core status, an account with a role
    db.add_core_status(None, dup, "GV4660-03", "Toán", d("2021-01-01")).await.unwrap();
    let acc_keep = db.create_account("an.keep", Some(keep), None).await.unwrap();
    let acc_dup = db.create_account("an.dup", Some(dup), None).await.unwrap();
    db.grant_role(None, acc_dup, Role::CoreTeacher, b).await.unwrap();
    // refusals change nothing
    assert!(matches!(db.merge_people(None, keep, &[keep]).await, Err(StoreError::Invalid(_))));
    assert!(matches!(db.merge_people(None, keep, &[]).await, Err(StoreError::Invalid(_))));
    assert!(matches!(db.merge_people(None, keep, &[999_999]).await, Err(StoreError::NotFound)));
    db.merge_people(Some(acc_keep), keep, &[dup]).await.unwrap();
    let closed = db.person(dup).await.unwrap().unwrap();
    assert_eq!((closed.status.as_str(), closed.merged_into), ("merged", Some(keep)), "closed, not deleted");
    let stays: Vec<_> = db.stays(keep).await.unwrap().into_iter().map(|s| s.unit_id).collect();
    assert!(stays.contains(&a) && stays.contains(&b), "history moved: {stays:?}");
    assert_eq!(db.core_status(keep).await.unwrap().len(), 1);
    assert!(db.account(acc_dup).await.unwrap().unwrap().disabled);
    assert_eq!(db.principal(acc_keep).await.unwrap().unwrap().grants[0].role, Role::CoreTeacher, "roles moved");
    let log = db.audit_list(None, None, 5).await.unwrap();
    assert_eq!(log[0].action, "person.merge");
    assert!(log[0].after_json.as_deref().unwrap().contains("\"moved\""));
    assert!(db.duplicate_candidates(Some(c), 10).await.unwrap().is_empty());
    assert!(matches!(db.merge_people(None, keep, &[dup]).await, Err(StoreError::Invalid(_))), "already merged");
});

/// Migration 0015 rebuilds the accounts table (on SQLite) to make its unique keys droppable:
/// accounts keep their ids and fields, what refers to them still does, and the keys and foreign
/// keys are still enforced on every connection afterwards.
async fn accounts_survive_migration_15(backend: bdtx_testkit::Backend) {
    let Some(t) = bdtx_testkit::unmigrated(backend).await else { return };
    let db = &t.db;
    db.migrate_to(14).await.unwrap();
    let (_, province, _, school, _) = small_tree(db).await;
    let person = db.create_person(None, &person("Nguyễn Văn An", Some("001085000001")), school, d("2025-09-05")).await;
    let person = person.unwrap();
    let admin = db.create_account("admin", None, Some("argon2-hash".into())).await.unwrap();
    let teacher = db.ensure_account(person).await.unwrap();
    db.grant_role(None, admin, Role::ProvinceAdmin, province).await.unwrap();
    let (token, _) = db.create_session(teacher.id).await.unwrap();
    type Row = (i64, String, Option<i64>, Option<String>, i64);
    let all = |db: Db| async move {
        on!(&db, p => sqlx::query_as::<_, Row>(
            "SELECT id, username, person_id, password_hash, created_at FROM accounts ORDER BY id")
            .fetch_all(p).await)
        .unwrap()
    };
    let before = all(db.clone()).await;
    db.migrate().await.unwrap();
    assert_eq!(all(db.clone()).await, before);
    assert_eq!(db.account_of_person(person).await.unwrap().unwrap().username, "001085000001");
    assert!(db.session(&token).await.unwrap().is_some(), "the session still finds its account");
    let grants = db.grants_of(admin).await.unwrap();
    assert_eq!(grants.len(), 1);
    // the keys hold, on every connection of the pool (the migration's own included)
    let conflict = db.create_account("admin", None, None).await.unwrap_err();
    assert!(matches!(conflict, StoreError::Conflict("username")), "{conflict:?}");
    if let Db::Sqlite(p, _) = db {
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut c = p.acquire().await.unwrap();
            let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *c).await.unwrap();
            assert_eq!(on, 1, "foreign keys are on");
            held.push(c);
        }
    }
    let twice = on!(db, p => sqlx::query("INSERT INTO accounts (username, person_id, created_at) VALUES ('khac', $1, 0)")
        .bind(person).execute(p).await.map(|_| ()));
    assert!(twice.is_err(), "one account per person");
    let orphan = on!(db, p => sqlx::query("INSERT INTO role_grants (account_id, role, unit_id, created_at) VALUES (999999, 'teacher', $1, 0)")
        .bind(school).execute(p).await.map(|_| ()));
    assert!(orphan.is_err(), "a grant needs its account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_survive_migration_15_sqlite() {
    accounts_survive_migration_15(bdtx_testkit::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_survive_migration_15_postgres() {
    accounts_survive_migration_15(bdtx_testkit::Backend::Postgres).await;
}

both_backends!(bulk_load_drops_and_restores_the_same_indexes, |db: bdtx_testkit::TestDb| async move {
    async fn names(db: &Db) -> Vec<String> {
        let mut v: Vec<String> = match db {
            Db::Sqlite(p, _) => {
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
                    .fetch_all(p)
                    .await
                    .unwrap()
            }
            // and the foreign keys a load on PostgreSQL drops and adds back
            Db::Postgres(p) => sqlx::query_scalar(
                "SELECT indexname::TEXT FROM pg_indexes WHERE schemaname = 'public'
                 UNION ALL SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                 WHERE contype = 'f' AND confrelid = 'people'::regclass
                   AND conrelid IN ('person_units'::regclass, 'accounts'::regclass)",
            )
            .fetch_all(p)
            .await
            .unwrap(),
        };
        v.sort();
        v
    }
    // the bulk-load definitions are the migrations' own (SQLite keeps the text)
    if let Db::Sqlite(p, _) = &db.db {
        for (name, create) in bdtx_store::roster::BULK_INDEXES {
            let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = $1")
                .bind(name)
                .fetch_one(p)
                .await
                .unwrap();
            assert_eq!(sql, create, "{name} differs from the migration");
        }
    }
    let before = names(&db).await;
    assert!(db.people_is_empty().await.unwrap());
    // a load that fails gives the indexes back (the drops are part of its transaction)
    let from = chrono::NaiveDate::from_ymd_opt(2026, 9, 5).unwrap();
    let load = db.bulk_load(None, from).await.unwrap().expect("nobody on record");
    load.rollback().await.unwrap();
    assert_eq!(names(&db).await, before);
    // an account without a person whose username is a national ID of the file
    bdtx_store::on!(&db.db, p => sqlx::query("INSERT INTO accounts (username, created_at) VALUES ('001085000004', 0)")
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    // a load that succeeds builds them again
    let mut load = db.bulk_load(None, from).await.unwrap().expect("nobody on record");
    let fields = |name: &str, id: &str| bdtx_domain::people::PersonFields {
        full_name: name.into(),
        birth_date: None,
        gender: None,
        national_id: Some(id.into()),
        phone: None,
        email: None,
        position: bdtx_domain::people::Position::Teacher,
        levels: vec![],
        main_subject: None,
        other_subjects: vec![],
    };
    let rows = vec![
        bdtx_store::roster::PersonRow::new(fields("Nguyễn Văn An", "001085000001"), None),
        bdtx_store::roster::PersonRow::new(fields("Trần Thị Bình", "001185000002"), Some(("*".into(), String::new()))),
        bdtx_store::roster::PersonRow::new(fields("Lê Văn Cường", "001085000003"), None),
        bdtx_store::roster::PersonRow::new(fields("Phạm Văn Dũng", "001085000004"), None),
        // what PostgreSQL's COPY text format escapes goes in as it is
        bdtx_store::roster::PersonRow::new(fields("Võ \\N\tÉ\\\nx\r", "001085000005"), None),
        // a row not flagged to keep is not added
        bdtx_store::roster::PersonRow::new(fields("Đỗ Văn Em", "001085000006"), None),
    ];
    let ids = load.add_people(rows, vec![true, true, true, true, true, false]).await.unwrap();
    assert_eq!(ids.len(), 5);
    load.remove_people(vec![ids[2]]).await.unwrap();
    load.add_accounts().await.unwrap();
    load.commit().await.unwrap();
    assert_eq!(names(&db).await, before);
    let count = |sql: &'static str| {
        let db = db.db.clone();
        async move { bdtx_store::on!(&db, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await).unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM people").await, 4);
    let name: String = bdtx_store::on!(&db.db, p => sqlx::query_scalar("SELECT full_name FROM people WHERE national_id = '001085000005'")
        .fetch_one(p)
        .await)
    .unwrap();
    assert_eq!(name, "Võ \\N\tÉ\\\nx\r");
    // one account per person kept, the removed person's taken out with them; the ID that was
    // someone's username already gives p<id>
    let accounts: Vec<(String, i64)> = bdtx_store::on!(&db.db, p => sqlx::query_as(
        "SELECT username, person_id FROM accounts WHERE person_id IS NOT NULL ORDER BY person_id")
        .fetch_all(p)
        .await)
    .unwrap();
    assert_eq!(
        accounts,
        vec![
            ("001085000001".to_string(), ids[0]),
            ("001185000002".to_string(), ids[1]),
            (format!("p{}", ids[3]), ids[3]),
            ("001085000005".to_string(), ids[4])
        ]
    );
    assert_eq!(count("SELECT COUNT(*) FROM core_status").await, 1);
    // PostgreSQL's planner has statistics of what the load wrote (the next import's look-up of
    // everyone on record is planned on them)
    if let Db::Postgres(_) = &db.db {
        for table in ["people", "accounts"] {
            let sql = format!("SELECT COUNT(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = '{table}'");
            let n: i64 = on!(&db.db, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await).unwrap();
            assert!(n > 0, "{table} has no statistics");
        }
    }
    assert!(db.bulk_load(None, from).await.unwrap().is_none(), "people on record: no bulk load");
});

both_backends!(requests_refuse_at_filing_what_cannot_be_answered, |db: bdtx_testkit::TestDb| async move {
    use bdtx_store::requests::RequestKind::{Addition, Correction};
    let (_m, _p, _c, a, b) = small_tree(&db).await;
    let an = db.create_person(None, &person("Nguyễn Văn An", Some("001085012345")), b, d("2025-09-01")).await.unwrap();
    fn code<T: std::fmt::Debug>(r: Result<T, StoreError>) -> (String, &'static str) {
        match r {
            Err(StoreError::Invalid(i)) => (i.errors[0].field.clone(), i.errors[0].code),
            other => panic!("{other:?}"),
        }
    }
    // someone on record (by national ID, or by name + birth date + contact) is not added again
    let twin = person("Nguyễn Văn Ân", Some("001085012345"));
    assert_eq!(
        code(db.file_request(None, Addition, a, None, Some(&twin), "", None).await),
        ("national_id".into(), "already_on_record")
    );
    let same = person("NGUYỄN văn an", None);
    db.create_person(None, &same, b, d("2025-09-01")).await.unwrap();
    assert_eq!(
        code(db.file_request(None, Addition, a, None, Some(&same), "", None).await),
        ("identity".into(), "already_on_record")
    );
    // a deadline before today is refused; today is fine
    let yesterday = bdtx_domain::dates::today().pred_opt().unwrap();
    assert_eq!(
        code(db.file_request(None, Correction, a, Some(an), None, "Sai tên", Some(yesterday)).await),
        ("deadline".into(), "before_today")
    );
    db.file_request(None, Correction, b, Some(an), None, "Sai tên", Some(bdtx_domain::dates::today())).await.unwrap();
    // someone added after the request was filed: accepting says so (not a 409), nothing changes
    let new = person("Lò Văn Mới", Some("037192009911"));
    let id = db.file_request(None, Addition, a, None, Some(&new), "Mới tuyển", None).await.unwrap();
    db.create_person(None, &new, b, d("2025-09-01")).await.unwrap();
    assert_eq!(code(db.resolve_request(None, id, true, "").await), ("national_id".into(), "already_on_record"));
    // rejecting needs a reason; answering twice says how it was answered
    assert_eq!(code(db.resolve_request(None, id, false, "  ").await), ("reason".into(), "required_to_reject"));
    assert_eq!(db.request(id).await.unwrap().unwrap().status, "open");
    db.resolve_request(None, id, false, "Đã có hồ sơ").await.unwrap();
    assert_eq!(code(db.resolve_request(None, id, true, "").await), ("request".into(), "already_rejected"));
    let r = db.request(id).await.unwrap().unwrap();
    assert_eq!((r.status.as_str(), r.resolution.as_deref()), ("rejected", Some("Đã có hồ sơ")));
});

// A merge keeps the person's working login and fills the kept record's gaps; no merge (of people
// or of units) and no move leaves two open stays at one unit.
both_backends!(merges_keep_the_login_and_one_open_stay_a_unit, |db: bdtx_testkit::TestDb| async move {
    let (_m, _p, _c, a, b) = small_tree(&db).await;
    let mut one = person("Nguyễn Văn An", Some("001085012345"));
    one.email = Some("an@truong.edu.vn".into());
    let old = db.create_person(None, &one, a, d("2020-09-01")).await.unwrap();
    let mut two = person("Nguyễn Văn An", None);
    two.phone = Some("0987000111".into());
    two.email = None;
    let new = db.create_person(None, &two, a, d("2025-09-01")).await.unwrap();
    // The old record's account is in use; the new one's was never activated but holds a role.
    let active =
        db.create_account("an.old", Some(old), Some(bdtx_store::password::hash("mat-khau-dai-1"))).await.unwrap();
    let (token, _) = db.create_session(active).await.unwrap();
    let pending = db.ensure_account(new).await.unwrap();
    db.grant_role(None, pending.id, Role::CoreTeacher, a).await.unwrap();
    let listed = db.duplicate_candidates(None, 10).await.unwrap();
    let flags: Vec<_> = listed[0].people.iter().map(|p| (p.id, p.account_active)).collect();
    assert_eq!(flags, vec![(old, true), (new, false)]);

    db.merge_people(None, new, &[old]).await.unwrap();
    let acc = db.account(active).await.unwrap().unwrap();
    assert_eq!((acc.person_id, acc.disabled), (Some(new), false), "the account in use is the kept person's");
    assert!(db.session(&token).await.unwrap().is_some(), "its sessions go on");
    assert_eq!(db.principal(active).await.unwrap().unwrap().grants[0].role, Role::CoreTeacher, "roles moved to it");
    let acc = db.account(pending.id).await.unwrap().unwrap();
    assert_eq!((acc.person_id, acc.disabled), (Some(old), true), "the unused one is kept, disabled");
    assert_eq!(db.login("an.old", "mat-khau-dai-1").await.unwrap(), LoginOutcome::Ok(active));
    let kept = db.person(new).await.unwrap().unwrap();
    assert_eq!(
        (kept.national_id.as_deref(), kept.email.as_deref(), kept.phone.as_deref()),
        (Some("001085012345"), Some("an@truong.edu.vn"), Some("0987000111"))
    );
    assert_eq!(db.person(old).await.unwrap().unwrap().national_id, None, "the national ID moved");
    // The earlier open stay at the school is the kept person's; the later one, closed, stays behind.
    let stays = db.stays(new).await.unwrap();
    assert_eq!(stays.len(), 1);
    assert_eq!((stays[0].unit_id, stays[0].valid_from.as_str(), stays[0].valid_to.as_deref()), (a, "2020-09-01", None));
    let left = db.stays(old).await.unwrap();
    assert_eq!((left.len(), left[0].valid_from.as_str()), (1, "2025-09-01"));
    assert!(left[0].valid_to.is_some());
    let log = db.audit_list(None, None, 1).await.unwrap();
    let detail: serde_json::Value = serde_json::from_str(log[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(detail["national_id_moved"], serde_json::json!({"from": old, "national_id": "001085012345"}));
    assert!(log[0].before_json.as_deref().unwrap().contains("\"national_id\":null"));

    // Moving to where one already works is refused.
    assert!(matches!(db.move_person(None, new, a, d("2026-01-01")).await, Err(StoreError::Invalid(_))));
    // Someone working at two schools merged into one of them gets no second open stay there.
    let mut three = person("Lê Thị Hoa", None);
    three.phone = Some("0900000003".into());
    let hoa = db.create_person(None, &three, a, d("2025-09-01")).await.unwrap();
    three.email = Some("hoa@truong.edu.vn".into());
    three.phone = Some("0900000004".into());
    three.full_name = "Lê Thị Hoa".into();
    let hoa2 = db.create_person(None, &three, b, d("2025-09-01")).await.unwrap();
    db.merge_people(None, hoa, &[hoa2]).await.unwrap();
    assert_eq!(db.stays(hoa).await.unwrap().iter().filter(|s| s.valid_to.is_none()).count(), 2);
    db.merge_units(None, Restructure::Merge, &[b], Some(a), None, d("2026-07-01")).await.unwrap();
    let open: Vec<_> = db.stays(hoa).await.unwrap().into_iter().filter(|s| s.valid_to.is_none()).collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].unit_id, a);
});

both_backends!(moves_need_an_open_other_unit_and_retirements_their_date, |db: bdtx_testkit::TestDb| async move {
    let (_m, _p, c, a, _b) = small_tree(&db).await;
    let closed = NewUnit {
        valid_to: Some(d("2025-08-01")),
        ..nu("TH-CU", UnitKind::School, "Trường cũ", Some(c), "2025-07-01")
    };
    let closed = db.create_unit(None, &closed).await.unwrap();
    let later =
        db.create_unit(None, &nu("TH-MOI", UnitKind::School, "Trường mới", Some(c), "2099-09-01")).await.unwrap();
    let an = db.create_person(None, &person("Nguyễn Văn An", Some("001085012345")), a, d("2025-09-01")).await.unwrap();
    let today = bdtx_domain::dates::today();
    let audits = audit_count(&db).await;
    let refused = |r: Result<(), StoreError>| match r {
        Err(StoreError::Invalid(i)) => (i.errors[0].field.clone(), i.errors[0].code),
        other => panic!("{other:?}"),
    };
    // a unit closed on the move's date, one not yet open, the unit one already works at
    let (field, code) = refused(db.move_person(None, an, closed, today).await);
    assert_eq!(code, "closed_before_move");
    assert!(field.contains("TH-CU") && field.contains("01/08/2025"), "{field}");
    assert_eq!(refused(db.move_person(None, an, later, today).await).1, "not_open_at_move");
    assert_eq!(refused(db.move_person(None, an, a, today).await).1, "already_there");
    assert_eq!(db.stays(an).await.unwrap().len(), 1);
    // nor does a new person start at a closed unit
    let refused_new = |r: Result<i64, StoreError>| refused(r.map(|_| ()));
    let new = db.create_person(None, &person("Trần Thị Bình", None), closed, today).await;
    assert_eq!(refused_new(new).1, "closed_before_move");
    // a retirement is recorded on its date, not ahead of it
    let ahead = today + chrono::Days::new(3);
    assert_eq!(refused(db.retire_person(None, an, ahead).await), ("date".to_string(), "retire_future"));
    assert_eq!(db.person(an).await.unwrap().unwrap().status, "active");
    assert_eq!(audit_count(&db).await, audits, "refusals change nothing");
    let q = PeopleQuery { q: "nguyen van an".into(), within: None, limit: 50, offset: 0 };
    assert_eq!(db.search_people(&q).await.unwrap().len(), 1);
    db.retire_person(None, an, today).await.unwrap();
    assert_eq!(db.person(an).await.unwrap().unwrap().status, "retired");
    assert!(db.search_people(&q).await.unwrap().is_empty());
});
