//! Roster import/export on both backends: add, re-import (nothing changes), update, errors held
//! back per unit, look-alikes, dry runs, bad files, created units, and xlsx round trips.

use std::path::{Path, PathBuf};

use bdtx_roster::import::{ImportError, Options, Report, import};
use bdtx_roster::read::Limits;
use bdtx_store::on;
use bdtx_testkit::{TestDb, both_backends};

fn opts() -> Options {
    Options {
        create_units: false,
        accept_similar: false,
        dry_run: false,
        actor: None,
        within: None,
        overrides: vec![],
        limits: Limits::default(),
        from: chrono::NaiveDate::from_ymd_opt(2026, 9, 5).unwrap(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn run(db: &TestDb, path: &Path, o: &Options) -> Result<Report, ImportError> {
    import(db, path, o, &mut |_, _, _| {}).await
}

async fn count(db: &TestDb, sql: &'static str) -> i64 {
    on!(&db.db, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await).unwrap()
}

const HEAD: &str = "STT,Họ và tên,Ngày sinh,Giới tính,Số CCCD,Điện thoại,Email,Tỉnh,Xã/Phường,Trường,Cấp học,Môn dạy,Chức vụ,Cốt cán\n";

both_backends!(import_reimport_update_and_hold_back, |db: TestDb| async move {
    bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 1 }).await.unwrap();
    let people_before = count(&db, "SELECT COUNT(*) FROM people").await;
    let dir = tempfile::tempdir().unwrap();
    let rows = format!(
        "{HEAD}1,Hoàng Thị Thuý,12/03/1995,Nữ,037195001001,0915001001,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,Tiểu học,Tiếng Anh,Giáo viên,x\n\
         2,  trần   văn BÌNH ,2/9/88,Nam,37088001002,912001002,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Toán,GV,\n\
         3,Lê Thị Hoà,1990-05-06,Nữ,037190001003,+84 915 001 003,le.hoa@kimdong.edu.vn,Ninh Bình,Kim Đông,Trường THCS Kim Đông,THCS,Ngữ văn,Phó hiệu trưởng,\n"
    );
    let f = write(dir.path(), "ds.csv", &rows);
    // a dry run reports and writes nothing
    let r = run(&db, &f, &Options { dry_run: true, ..opts() }).await.unwrap();
    assert_eq!((r.rows, r.added, r.errors.len()), (3, 3, 0), "{:?}", r.errors);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await, people_before);
    // apply
    let r = run(&db, &f, &opts()).await.unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (3, 0, 0), "{:?} {:?}", r.errors, r.held_back);
    // what was repaired is listed row by row (Bình's ID lost its leading zero in Excel)
    let notes: Vec<_> = r.notes.iter().map(|n| (n.row_no, n.field, n.code)).collect();
    assert!(notes.contains(&(3, Some(bdtx_roster::columns::Field::NationalId), "leading_zeros")), "{notes:?}");
    assert_eq!(r.notes.len(), r.warnings);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await, people_before + 3);
    let binh = db
        .search_people(&bdtx_store::people::PeopleQuery {
            q: "tran van binh".into(),
            within: None,
            limit: 5,
            offset: 0,
        })
        .await
        .unwrap();
    assert_eq!(binh[0].full_name, "Trần Văn Bình");
    let p = db.person(binh[0].id).await.unwrap().unwrap();
    assert_eq!(
        (p.national_id.as_deref(), p.phone.as_deref(), p.birth_date.as_deref()),
        (Some("037088001002"), Some("0912001002"), Some("1988-09-02"))
    );
    assert!(db.account_of_person(p.id).await.unwrap().is_some(), "one account per person, pending activation");
    let hoa = db
        .search_people(&bdtx_store::people::PeopleQuery { q: "le thi hoa".into(), within: None, limit: 5, offset: 0 })
        .await
        .unwrap();
    assert_eq!(hoa[0].full_name, "Lê Thị Hòa", "tone placement normalised");
    // re-importing the same file changes nothing
    let audit = count(&db, "SELECT COUNT(*) FROM audit_log").await;
    let r = run(&db, &f, &opts()).await.unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 0, 3));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, audit);
    // a changed phone is an update, audited; a blank cell does not erase data
    let changed = rows.replace("0915001001", "0915009999").replace("le.hoa@kimdong.edu.vn", "");
    let f2 = write(dir.path(), "ds2.csv", &changed);
    let r = run(&db, &f2, &opts()).await.unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 1, 2), "{:?}", r.errors);
    let updates: Vec<_> = r.updates.iter().map(|u| (u.row_no, u.full_name.as_str(), u.changed.clone())).collect();
    assert_eq!(updates, [(2, "Hoàng Thị Thúy", vec![bdtx_roster::columns::Field::Phone])], "whom and what");
    let hoa = db.person(hoa[0].id).await.unwrap().unwrap();
    assert_eq!(hoa.email.as_deref(), Some("le.hoa@kimdong.edu.vn"));
    // a row in error holds back its whole school; other schools go in
    let bad = format!(
        "{HEAD}1,Phạm Văn Cường,31/02/1990,Nam,037090001004,,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Toán,GV,\n\
         2,Đỗ Thị Mai,01/01/1991,Nữ,037191001005,,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Toán,GV,\n\
         3,Vũ Văn Nam,01/01/1992,Nam,037092001006,,,Ninh Bình,Xã Kim Đông,Trường THCS Kim Đông,THCS,Toán,GV,\n\
         4,Bùi Thị Lan,01/01/1993,Nữ,037193001007,,,Ninh Bình,Xã Kim Đông,Trường Không Có Thật,THCS,Toán,GV,\n"
    );
    let f3 = write(dir.path(), "ds3.csv", &bad);
    let r = run(&db, &f3, &opts()).await.unwrap();
    assert_eq!(r.added, 1, "only the THCS teacher goes in");
    assert_eq!(r.held_back, vec![("Trường Tiểu học Kim Đông".to_string(), 1)]);
    let codes: Vec<_> = r.errors.iter().map(|e| (e.row_no, e.code)).collect();
    assert_eq!(codes, vec![(2, "invalid_date"), (5, "unit_not_found")]);
    // the error file lists those rows with a reason column, and the good row waiting with them
    assert_eq!(r.waiting, vec![3]);
    let out = dir.path().join("loi.xlsx");
    let n = bdtx_roster::import::write_errors_xlsx(&f3, &r, Limits::default(), &out).unwrap();
    assert_eq!(n, 3);
    let mut lines = Vec::new();
    bdtx_roster::read::for_each_row(&out, Limits::default(), |_, c| {
        lines.push(c);
        Ok::<_, bdtx_roster::read::ReadError>(())
    })
    .unwrap();
    assert_eq!(lines[0].last().unwrap(), "Lỗi");
    assert!(lines[1].last().unwrap().contains("Ngày sinh: không phải ngày hợp lệ"), "{:?}", lines[1]);
    assert!(lines[2][1] == "Đỗ Thị Mai" && lines[2].last().unwrap().starts_with("Chờ nhập"), "{:?}", lines[2]);
    // fixed and uploaded again, the school goes in whole (the "Lỗi" column is not the roster's)
    let fixed: String = lines
        .iter()
        .map(|l| {
            l.iter().map(|c| c.replace("31/02/1990", "28/02/1990").replace(',', " ")).collect::<Vec<_>>().join(",")
        })
        .map(|l| l + "\n")
        .collect();
    let r = run(&db, &write(dir.path(), "da-sua.csv", &fixed), &opts()).await.unwrap();
    assert_eq!((r.added, r.held_back.len()), (2, 0), "{:?}", r.errors);
    assert_eq!(r.errors.iter().map(|e| e.code).collect::<Vec<_>>(), ["unit_not_found"]);
    // look-alike: same name and birth date as someone on record, different ID
    let similar = format!(
        "{HEAD}1,Hoàng Thị Thúy,12/03/1995,Nữ,037195009999,,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,,GV,\n"
    );
    let f4 = write(dir.path(), "ds4.csv", &similar);
    let r = run(&db, &f4, &opts()).await.unwrap();
    assert_eq!((r.added, r.similar.len()), (0, 1));
    let r = run(&db, &f4, &Options { accept_similar: true, ..opts() }).await.unwrap();
    assert_eq!(r.added, 1);
});

both_backends!(bad_files_write_nothing, |db: TestDb| async move {
    bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 1 }).await.unwrap();
    let before = count(&db, "SELECT COUNT(*) FROM people").await;
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", vec![], "rỗng"),
        ("missing.csv", "Ngày sinh,Giới tính\n01/01/1990,Nam\n".as_bytes().to_vec(), "thiếu"),
        ("dup.csv", "Họ và tên,Họ tên,Trường\nA,B,C\n".as_bytes().to_vec(), "trùng"),
        ("old.xlsx", vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0], ".xls"),
        ("cut.xlsx", b"PK\x03\x04\x14\x00\x00\x00truncated".to_vec(), "hỏng"),
        ("headings.csv", HEAD.as_bytes().to_vec(), "chỉ có dòng tiêu đề"),
    ];
    for (name, bytes, needle) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let e = run(&db, &p, &opts()).await.unwrap_err().to_string();
        assert!(e.contains(needle), "{name}: {e}");
    }
    let big = dir.path().join("big.csv");
    std::fs::write(&big, format!("{HEAD}{}", "x,".repeat(10))).unwrap();
    let e = run(&db, &big, &Options { limits: Limits { max_bytes: 100, ..Limits::default() }, ..opts() })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("giới hạn"));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await, before);
});

both_backends!(generated_roster_creates_units_and_round_trips_through_xlsx, |db: TestDb| async move {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("quocgia.csv");
    bdtx_roster::generate::generate(1500, 7, &csv).unwrap();
    // without --create-units every unit is unknown
    let r = run(&db, &csv, &Options { dry_run: true, ..opts() }).await.unwrap();
    assert_eq!(r.added, 0);
    assert!(r.errors.iter().any(|e| e.code == "unit_not_found"));
    let r = run(&db, &csv, &Options { create_units: true, accept_similar: true, ..opts() }).await.unwrap();
    assert!(r.units_created > 40, "{}", r.units_created);
    // Most rows go in; a school with a row in error is held back whole, a school this import
    // creates included (≈ 45 schools here, about one in five with a messy row that fails).
    assert!(r.added > 1000, "added {} of {}: {:?}", r.added, r.rows, &r.errors[..r.errors.len().min(5)]);
    assert!(r.warnings > 0, "messy rows were repaired");
    // the file's duplicates, named by the national ID they share (or by name when they have none)
    assert!(r.errors.iter().any(|e| e.code == "duplicate_id_in_file"
        && e.field == Some(bdtx_roster::columns::Field::NationalId)
        && e.value.contains(" (dòng ")));
    assert!(r.errors.iter().any(|e| e.code == "invalid_date"));
    let people = count(&db, "SELECT COUNT(*) FROM people").await as usize;
    assert_eq!(people, r.added);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM accounts").await as usize, people);
    // no legacy or NFD text got in
    let names: Vec<String> =
        on!(&db.db, p => sqlx::query_scalar("SELECT full_name FROM people").fetch_all(p).await).unwrap();
    for n in &names {
        use unicode_normalization::UnicodeNormalization;
        assert_eq!(n.nfc().collect::<String>(), *n);
        assert!(!n.contains('Ô') && !n.contains('¨') && !n.contains("aø"), "legacy text left: {n}");
    }
    // the targeted index of a small file sees exactly what the full national index sees
    let full = db.people_index().await.unwrap();
    let keys: Vec<String> = full.by_identity.keys().cloned().collect();
    let names: Vec<String> =
        on!(&db.db, p => sqlx::query_scalar("SELECT DISTINCT name_folded FROM people").fetch_all(p).await).unwrap();
    let some = db.people_index_for(&keys, &names).await.unwrap();
    assert_eq!(some.by_identity, full.by_identity);
    assert_eq!(some.by_national_id, full.by_national_id);
    let few = db.people_index_for(&keys[..3], &[]).await.unwrap();
    assert_eq!(few.by_identity.len(), 3);
    // export to xlsx, import it back: nothing changes
    let xlsx = dir.path().join("xuat.xlsx");
    let n = bdtx_roster::export::export(&db, None, &xlsx).await.unwrap();
    assert_eq!(n as usize, people);
    let r = run(&db, &xlsx, &opts()).await.unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 0, people), "{:?}", &r.errors[..r.errors.len().min(3)]);
    // CSV export is sorted the Vietnamese way and formula-safe
    let mut out = Vec::new();
    bdtx_roster::export::export_csv(&db, None, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let given: Vec<String> = text
        .lines()
        .skip(1)
        .take(50)
        .map(|l| l.split(',').nth(1).unwrap().split(' ').last().unwrap().to_string())
        .collect();
    let mut sorted = given.clone();
    sorted.sort_by(|a, b| bdtx_domain::text::collate(a, b));
    assert_eq!(given, sorted);
    // a text a spreadsheet would take for a formula leaves guarded, and comes back as it was
    on!(&db.db, p => sqlx::query("UPDATE people SET main_subject = '=1+1' WHERE id = (SELECT MIN(id) FROM people)")
        .execute(p).await.map(|_| ()))
    .unwrap();
    let mut out = Vec::new();
    bdtx_roster::export::export_csv(&db, None, &mut out).await.unwrap();
    assert!(String::from_utf8_lossy(&out).contains(",'=1+1,"));
    let csv = dir.path().join("xuat.csv");
    std::fs::write(&csv, out).unwrap();
    let r = run(&db, &csv, &opts()).await.unwrap();
    assert_eq!((r.added, r.updated, r.unchanged), (0, 0, people), "{:?}", r.updates.first());
});

/// People with their unit, comparable across databases (ids differ, identity keys do not).
async fn people_and_units(
    db: &TestDb,
) -> Vec<(String, String, String, Option<String>, Option<String>, String, String)> {
    on!(&db.db, p => sqlx::query_as(
        "SELECT p.identity_key, p.full_name, p.sort_key, p.national_id, p.phone, p.levels, u.code
         FROM people p JOIN person_units pu ON pu.person_id = p.id JOIN units u ON u.id = pu.unit_id
         WHERE u.code NOT LIKE 'THU-NGHIEM%' ORDER BY p.identity_key").fetch_all(p).await)
    .unwrap()
}

/// A second database of `db`'s backend with one person on record, so that an import into it
/// takes the batched path rather than the first load's.
async fn someone_on_record(db: &TestDb, dir: &Path) -> TestDb {
    let other = bdtx_testkit::db(match &db.db {
        bdtx_store::Db::Sqlite(..) => bdtx_testkit::Backend::Sqlite,
        bdtx_store::Db::Postgres(_) => bdtx_testkit::Backend::Postgres,
    })
    .await
    .unwrap();
    let one = write(
        dir,
        "mot.csv",
        &format!("{HEAD}1,Ngô Văn Thử,01/01/1980,Nam,001080999999,,,Thử Nghiệm,,Trường Thử Nghiệm,THPT,Toán,GV,\n"),
    );
    let o = Options { create_units: true, accept_similar: true, ..opts() };
    assert_eq!(run(&other, &one, &o).await.unwrap().added, 1);
    other
}

both_backends!(a_first_load_streams_and_matches_the_batched_import, |db: TestDb| async move {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("quocgia.csv");
    // More rows than the load holds back before writing (2 × 5,000), and a last row in error
    // at the school of the first: that school's rows are written first and taken out again.
    bdtx_roster::generate::generate(15_000, 11, &csv).unwrap();
    let mut text = std::fs::read_to_string(&csv).unwrap();
    let mut first: Vec<String> = text.lines().nth(1).unwrap().split(',').map(String::from).collect();
    (first[0], first[2], first[4]) = ("15001".into(), "31/02/1990".into(), String::new());
    text.push_str(&(first.join(",") + "\n"));
    std::fs::write(&csv, text).unwrap();
    let o = Options { create_units: true, accept_similar: true, ..opts() };
    // into an empty people table: the streamed bulk load, which writes its error file meanwhile
    let bulk_errors = dir.path().join("loi-1.xlsx");
    let (bulk, listed) =
        bdtx_roster::import::import_with_errors(&db, &csv, &o, &bulk_errors, &mut |_, _, _| {}).await.unwrap();
    assert_eq!(listed, bulk.rejected() + bulk.waiting.len());
    assert!(!bulk.waiting.is_empty());
    assert!(!bulk.held_back.is_empty() && bulk.added > 8000, "{} {:?}", bulk.added, bulk.held_back.len());
    // the same file into a database that already has someone: the batched path
    let other = someone_on_record(&db, dir.path()).await;
    let batched_errors = dir.path().join("loi-2.xlsx");
    let mut stages: Vec<&'static str> = Vec::new();
    let (batched, listed) =
        bdtx_roster::import::import_with_errors(&other, &csv, &o, &batched_errors, &mut |s, _, _| {
            if stages.last() != Some(&s) {
                stages.push(s)
            }
        })
        .await
        .unwrap();
    assert_eq!(listed, batched.rejected() + batched.waiting.len());
    // a file this size (over 2 MiB) is planned against everyone on record, loaded first: the
    // progress names that stage before the reading starts
    assert!(std::fs::metadata(&csv).unwrap().len() > 2 << 20);
    assert_eq!(stages, ["index", "read", "write"]);
    // the same rows rejected, for the same reasons
    let rows = |p: &Path| {
        let mut rows = Vec::new();
        bdtx_roster::read::for_each_row(p, Limits::default(), |_, c| {
            rows.push(c);
            Ok::<_, bdtx_roster::read::ReadError>(())
        })
        .unwrap();
        rows
    };
    let listed_rows = rows(&bulk_errors);
    assert_eq!(listed_rows.len(), listed + 1, "a heading row and one row per row rejected or waiting");
    assert_eq!(listed_rows, rows(&batched_errors));
    assert_eq!(
        (bulk.added, bulk.units_created, &bulk.held_back, &bulk.errors, &bulk.waiting),
        (batched.added, batched.units_created, &batched.held_back, &batched.errors, &batched.waiting)
    );
    assert_eq!(people_and_units(&db).await, people_and_units(&other).await);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM accounts").await as usize, bulk.added);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM audit_log WHERE action = 'roster.import'").await,
        count(&other, "SELECT COUNT(*) FROM audit_log WHERE action = 'roster.import'").await - 1
    );
    // and the load left every index in place: re-importing changes nothing (fewer rows count
    // as unchanged: a school created by the first import is now held back by its rows in error)
    let again = run(&db, &csv, &o).await.unwrap();
    assert_eq!((again.added, again.updated), (0, 0));
    assert!(again.unchanged > 8000, "{}", again.unchanged);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await as usize, bulk.added);
});

both_backends!(a_first_load_that_fails_midway_leaves_nothing, |db: TestDb| async move {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("quocgia.csv");
    bdtx_roster::generate::generate(25_000, 5, &csv).unwrap();
    // a 40,000-character cell near the end, read after the first rows were written
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str(&format!("25001,{},01/01/1990,Nam,,,,Hà Nội,,Trường A,TH,,GV,\n", "x".repeat(40_000)));
    std::fs::write(&csv, text).unwrap();
    let units = count(&db, "SELECT COUNT(*) FROM units").await;
    let audit = count(&db, "SELECT COUNT(*) FROM audit_log").await;
    let mut written = 0;
    let o = Options { create_units: true, accept_similar: true, ..opts() };
    // a file of headings only, into a fresh database: a clear message, not even the Ministry
    let headings = write(dir.path(), "tieude.csv", HEAD);
    let e = run(&db, &headings, &o).await.unwrap_err();
    assert!(matches!(e, ImportError::Read(bdtx_roster::read::ReadError::NoRows)), "{e}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM units").await, units);
    let errors = dir.path().join("loi.xlsx");
    let e = bdtx_roster::import::import_with_errors(&db, &csv, &o, &errors, &mut |stage, done, _| {
        if stage == "read" {
            written = done;
        }
    })
    .await
    .unwrap_err();
    assert!(!errors.exists(), "a failed import leaves no error file");
    assert!(matches!(e, ImportError::Read(bdtx_roster::read::ReadError::CellTooBig { .. })), "{e}");
    assert!(written >= 20_000, "rows were written before the bad cell was read ({written})");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM accounts").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM units").await, units, "not even the Ministry");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM audit_log").await, audit);
    // the indexes dropped for the load are back
    for (name, _) in bdtx_store::roster::BULK_INDEXES {
        let n: i64 = on!(&db.db, p => sqlx::query_scalar(sqlx::AssertSqlSafe(match &db.db {
            bdtx_store::Db::Sqlite(..) => format!("SELECT COUNT(*) FROM sqlite_master WHERE name = '{name}'"),
            bdtx_store::Db::Postgres(_) => format!("SELECT COUNT(*) FROM pg_indexes WHERE indexname = '{name}'"),
        })).fetch_one(p).await)
        .unwrap();
        assert_eq!(n, 1, "{name}");
    }
});

both_backends!(a_row_in_error_holds_back_a_school_the_import_would_create, |db: TestDb| async move {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "moi.csv",
        &format!(
            "{HEAD}1,Đào Văn Một,01/01/1980,Nam,001080000001,,,Tỉnh Mới,Xã Một,Trường Tiểu học Mới A,TH,Toán,GV,\n\
             2,Đào Văn Hai,31/02/1981,Nam,001081000002,,,Tỉnh Mới,Xã Một,Trường Tiểu học Mới A,TH,Toán,GV,\n\
             3,Đào Văn Ba,01/01/1982,Nam,001082000003,,,Tỉnh Mới,Xã Một,Trường Tiểu học Mới B,TH,Toán,GV,\n"
        ),
    );
    let o = Options { create_units: true, accept_similar: true, ..opts() };
    // the batched path: someone is on record already
    let other = someone_on_record(&db, dir.path()).await;
    // the streamed bulk load (nobody on record) and the batched import agree
    for (d, people_before) in [(&db, 0), (&other, 1)] {
        let r = run(d, &csv, &o).await.unwrap();
        assert_eq!((r.added, r.units_created), (1, 3), "{:?} {:?}", r.held_back, r.errors);
        assert_eq!(r.held_back, vec![("Trường Tiểu học Mới A".to_string(), 1)]);
        assert_eq!(r.errors.iter().map(|e| (e.row_no, e.code)).collect::<Vec<_>>(), vec![(3, "invalid_date")]);
        assert_eq!(count(d, "SELECT COUNT(*) FROM people").await, people_before + 1);
        assert_eq!(count(d, "SELECT COUNT(*) FROM units WHERE name = 'Trường Tiểu học Mới A'").await, 0);
        // a re-import counts what the first import added as unchanged, and holds back the same
        let again = run(d, &csv, &o).await.unwrap();
        assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 1));
        assert_eq!(again.held_back, r.held_back);
    }
});

both_backends!(a_dry_run_on_a_fresh_database_plans_the_units_and_writes_nothing, |db: TestDb| async move {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "moi.csv",
        &format!(
            "{HEAD}1,Đào Văn Một,01/01/1980,Nam,001080000001,,,Tỉnh Mới,Xã Một,Trường Tiểu học Mới A,TH,Toán,GV,\n"
        ),
    );
    let o = Options { create_units: true, accept_similar: true, ..opts() };
    // no Ministry yet: the plan hangs the new province under the one the import would create
    let dry = run(&db, &csv, &Options { dry_run: true, ..o.clone() }).await.unwrap();
    assert_eq!((dry.added, dry.units_created), (1, 3));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM units").await, 0);
    let r = run(&db, &csv, &o).await.unwrap();
    assert_eq!((r.added, r.units_created), (1, 3));
    // the province, commune and school, and the Ministry the province hangs under
    assert_eq!(count(&db, "SELECT COUNT(*) FROM units").await, 4);
    let parent: String = on!(&db.db, p => sqlx::query_scalar(
        "SELECT m.kind FROM units u JOIN unit_links l ON l.unit_id = u.id JOIN units m ON m.id = l.parent_id
         WHERE u.kind = 'province'")
        .fetch_one(p).await)
    .unwrap();
    assert_eq!(parent, "ministry");
});

both_backends!(an_import_neither_reassigns_an_id_nor_reaches_out_of_scope_nor_revives, |db: TestDb| async move {
    bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 1 }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rows = format!(
        "{HEAD}1,Hoàng Thị Thuý,12/03/1995,Nữ,037195001001,0915001001,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Tiếng Anh,GV,\n\
         2,Trần Văn Bình,02/09/1988,Nam,037088001002,0912001002,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Toán,GV,\n\
         3,Lê Thị Hòa,06/05/1990,Nữ,037190001003,,,Ninh Bình,Xã Kim Đông,Trường THCS Kim Đông,THCS,Ngữ văn,GV,\n"
    );
    let r = run(&db, &write(dir.path(), "ds.csv", &rows), &opts()).await.unwrap();
    assert_eq!(r.added, 3, "{:?}", r.errors);
    let person = |cccd: &'static str| {
        let db = &db;
        async move {
            let row = on!(&db.db, p => sqlx::query_as::<_, (i64, String, Option<String>, Option<String>)>(
                "SELECT id, full_name, birth_date, phone FROM people WHERE national_id = $1").bind(cccd).fetch_one(p).await)
            .unwrap();
            let unit: Option<i64> = on!(&db.db, p => sqlx::query_scalar(
                "SELECT unit_id FROM person_units WHERE person_id = $1 AND valid_to IS NULL").bind(row.0).fetch_optional(p).await)
            .unwrap();
            (row, unit)
        }
    };
    let thuy = person("037195001001").await;
    // Thuý's ID under another name and birth date: refused, not a rename
    let other = format!(
        "{HEAD}1,Phạm Văn Zung,01/01/1970,Nam,037195001001,,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,TH,Toán,GV,\n"
    );
    let r = run(&db, &write(dir.path(), "zung.csv", &other), &opts()).await.unwrap();
    let codes: Vec<_> = r.errors.iter().map(|e| (e.row_no, e.field, e.code, e.value.as_str())).collect();
    assert_eq!(codes, vec![(2, Some(bdtx_roster::columns::Field::NationalId), "identity_conflict", "037195001001")]);
    assert_eq!((r.added, r.updated), (0, 0));
    assert_eq!(person("037195001001").await, thuy);
    // an upload of the THCS (its admin's scope) naming Bình of the primary school: not moved
    let thcs = count(&db, "SELECT id FROM units WHERE name = 'Trường THCS Kim Đông'").await;
    let binh = person("037088001002").await;
    let moved = format!(
        "{HEAD}1,Trần Văn Bình,02/09/1988,Nam,037088001002,,,Ninh Bình,Xã Kim Đông,Trường THCS Kim Đông,THCS,Toán,GV,\n"
    );
    let scoped = Options { within: Some(thcs), ..opts() };
    let r = run(&db, &write(dir.path(), "binh.csv", &moved), &scoped).await.unwrap();
    assert_eq!(r.errors.iter().map(|e| e.code).collect::<Vec<_>>(), ["person_out_of_scope"]);
    assert_eq!(r.updated, 0);
    // nor may it name the primary school, which is there but not its own
    let elsewhere = rows.replace("Tiếng Anh", "Tin học");
    let r = run(&db, &write(dir.path(), "th.csv", &elsewhere), &scoped).await.unwrap();
    let codes: Vec<_> = r.errors.iter().map(|e| (e.row_no, e.code)).collect();
    assert_eq!(codes, [(2, "unit_out_of_scope"), (3, "unit_out_of_scope")], "Hòa, of the THCS, is its own");
    assert_eq!(person("037088001002").await, binh);
    // the province (no scope limit) may move him; the update's audit keeps every field before
    let r = run(&db, &write(dir.path(), "binh.csv", &moved), &opts()).await.unwrap();
    assert_eq!(r.updated, 1, "{:?}", r.errors);
    assert_eq!(person("037088001002").await.1, Some(thcs));
    let before: String = on!(&db.db, p => sqlx::query_scalar(
        "SELECT before_json FROM audit_log WHERE action = 'person.update' AND entity_id = $1")
        .bind(binh.0 .0.to_string()).fetch_one(p).await)
    .unwrap();
    assert!(before.contains("\"birth_date\":\"1988-09-02\"") && before.contains("0912001002"), "{before}");
    // Hòa retired: her row is refused with a reason, not added again (which the unique ID
    // would refuse at the write, failing the whole import)
    let hoa = person("037190001003").await;
    db.retire_person(None, hoa.0.0, bdtx_domain::dates::today()).await.unwrap();
    let again = format!(
        "{HEAD}1,Lê Thị Hòa,06/05/1990,Nữ,037190001003,,,Ninh Bình,Xã Kim Đông,Trường THCS Kim Đông,THCS,Ngữ văn,GV,\n"
    );
    let f = write(dir.path(), "hoa.csv", &again);
    let dry = run(&db, &f, &Options { dry_run: true, ..opts() }).await.unwrap();
    let r = run(&db, &f, &opts()).await.unwrap();
    for r in [&dry, &r] {
        assert_eq!((r.added, r.updated), (0, 0));
        assert_eq!(r.errors.iter().map(|e| e.code).collect::<Vec<_>>(), ["person_inactive"]);
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM people WHERE national_id = '037190001003'").await, 1);
});

both_backends!(
    a_batched_import_stopped_partway_says_what_it_wrote_and_the_same_file_finishes,
    |db: TestDb| async move {
        let dir = tempfile::tempdir().unwrap();
        let db = someone_on_record(&db, dir.path()).await;
        let csv = dir.path().join("tinh.csv");
        bdtx_roster::generate::generate(12_000, 3, &csv).unwrap();
        // the database refuses people past the 6,000th: a disk filling up, say
        let refuse = |on: bool| match &db.db {
            bdtx_store::Db::Sqlite(..) => vec![if on {
                "CREATE TRIGGER boom BEFORE INSERT ON people WHEN (SELECT COUNT(*) FROM people) >= 6000
             BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
            } else {
                "DROP TRIGGER boom"
            }],
            bdtx_store::Db::Postgres(_) if on => vec![
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
               IF (SELECT COUNT(*) FROM people) >= 6000 THEN RAISE EXCEPTION 'simulated failure'; END IF;
               RETURN NEW; END $$",
                "CREATE TRIGGER boom BEFORE INSERT ON people FOR EACH ROW EXECUTE FUNCTION boom()",
            ],
            bdtx_store::Db::Postgres(_) => vec!["DROP TRIGGER boom ON people"],
        };
        for sql in refuse(true) {
            on!(&db.db, p => sqlx::query(sql).execute(p).await.map(|_| ())).unwrap();
        }
        let o = Options { create_units: true, accept_similar: true, ..opts() };
        let e = run(&db, &csv, &o).await.unwrap_err();
        let ImportError::Interrupted { units_created, added, updated, .. } = &e else { panic!("{e}") };
        let people = count(&db, "SELECT COUNT(*) FROM people").await;
        assert!(*added > 0 && *units_created > 0 && *updated == 0, "{e}");
        assert_eq!(people as usize, 1 + added, "the error counts exactly what was committed");
        let message = e.to_string();
        assert!(message.contains(&format!("thêm {added} người")) && message.contains("nhập lại cùng tệp"), "{message}");
        // the same file again writes the rest and leaves what is there unchanged
        for sql in refuse(false) {
            on!(&db.db, p => sqlx::query(sql).execute(p).await.map(|_| ())).unwrap();
        }
        let r = run(&db, &csv, &o).await.unwrap();
        assert_eq!((r.unchanged, r.updated), (*added, 0), "{:?}", r.errors.len());
        assert_eq!(count(&db, "SELECT COUNT(*) FROM people").await as usize, 1 + added + r.added);
    }
);

/// Unicode → Windows-1258 bytes as Excel writes them: a base letter of the code page (â ê ô ơ
/// ư ă đ are), then the tone as a combining byte.
fn to_cp1258(s: &str) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization;
    let is_tone = |m: &char| matches!(m, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}');
    let mut out = Vec::new();
    for c in s.nfc() {
        let d: Vec<char> = std::iter::once(c).nfd().collect();
        let base: String = d.iter().filter(|m| !is_tone(m)).collect::<String>().nfc().collect();
        let one = |t: &str| {
            let (b, _, bad) = encoding_rs::WINDOWS_1258.encode(t);
            assert!(!bad, "{t}");
            b.into_owned()
        };
        match d.iter().find(|m| is_tone(m)) {
            Some(t) => {
                out.extend(one(&base));
                out.extend(one(&t.to_string()));
            }
            None => out.extend(one(&c.to_string())),
        }
    }
    out
}

both_backends!(whole_legacy_8bit_files_import_end_to_end, |db: TestDb| async move {
    bdtx_store::demo::seed(&db, bdtx_store::demo::DemoSize { teachers_per_school: 1 }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let list = |names: [&str; 2], ids: [&str; 2]| {
        format!(
            "{HEAD}1,{},02/09/1985,Nam,{},0915002001,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,Tiểu học,Toán,Giáo viên,\n\
             2,{},15/04/1990,Nữ,{},0915002002,,Ninh Bình,Xã Kim Đông,Trường Tiểu học Kim Đông,Tiểu học,Ngữ văn,Hiệu trưởng,\n",
            names[0], ids[0], names[1], ids[1]
        )
    };
    let name_of = |id: &'static str| {
        let db = &db;
        async move {
            on!(&db.db, p => sqlx::query_as::<_, (String, Option<String>, String, Option<String>)>(
                "SELECT full_name, gender, position, main_subject FROM people WHERE national_id = $1")
                .bind(id).fetch_one(p).await)
            .unwrap()
        }
    };
    // TCVN3 (.VnTime): every byte of the file, headings included
    let glyphs = bdtx_domain::clean::unicode_to_tcvn3(&list(
        ["Nguyễn Văn Đạt", "Trương Thị Hường"],
        ["037185002001", "037190002002"],
    ));
    let (tcvn3, _, bad) = encoding_rs::WINDOWS_1252.encode(&glyphs);
    assert!(!bad && std::str::from_utf8(&tcvn3).is_err());
    let f = dir.path().join("tcvn3.csv");
    std::fs::write(&f, &tcvn3).unwrap();
    let r = run(&db, &f, &opts()).await.unwrap();
    assert_eq!((r.added, r.errors.len()), (2, 0), "{:?}", r.errors);
    assert_eq!(r.encoding, Some(bdtx_roster::read::TextEncoding::Tcvn3));
    assert_eq!(r.headers[1], "Họ và tên");
    assert_eq!(
        name_of("037185002001").await,
        ("Nguyễn Văn Đạt".to_string(), Some("M".to_string()), "teacher".to_string(), Some("Toán".to_string()))
    );
    assert_eq!(
        name_of("037190002002").await,
        ("Trương Thị Hường".to_string(), Some("F".to_string()), "principal".to_string(), Some("Ngữ văn".to_string()))
    );
    // Windows-1258 (Excel's "CSV" on a Vietnamese Windows): tone marks as combining bytes
    let cp1258 = to_cp1258(&list(["Phạm Quốc Việt", "Lê Thị Ánh Tuyết"], ["037185003001", "037190003002"]));
    assert!(std::str::from_utf8(&cp1258).is_err());
    let f = dir.path().join("cp1258.csv");
    std::fs::write(&f, &cp1258).unwrap();
    let r = run(&db, &f, &opts()).await.unwrap();
    assert_eq!((r.added, r.errors.len()), (2, 0), "{:?}", r.errors);
    assert_eq!(r.encoding, Some(bdtx_roster::read::TextEncoding::Windows1258));
    assert_eq!(name_of("037185003001").await.0, "Phạm Quốc Việt");
    assert_eq!(name_of("037190003002").await.0, "Lê Thị Ánh Tuyết");
    // an .xlsx typed in .VnTime fonts: its cells hold TCVN3 glyphs, headings included
    let text = bdtx_domain::clean::unicode_to_tcvn3(&list(
        ["Đỗ Văn Hưng", "Vũ Thị Ngọc Hà"],
        ["037185004001", "037190004002"],
    ));
    let f = dir.path().join("vntime.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, line) in text.lines().enumerate() {
        for (c, v) in line.split(',').enumerate() {
            ws.write_string(r as u32, c as u16, v).unwrap();
        }
    }
    wb.save(&f).unwrap();
    let r = run(&db, &f, &opts()).await.unwrap();
    assert_eq!((r.added, r.errors.len()), (2, 0), "{:?}", r.errors);
    assert_eq!(r.headers[1], "Họ và tên");
    // a heading that reads as Unicode too ("Sè") stays as written, and is known by its conversion
    assert_eq!(r.headers[4], "Sè CCCD");
    assert!(r.unknown_columns.is_empty(), "{:?}", r.unknown_columns);
    assert_eq!(
        name_of("037190004002").await,
        ("Vũ Thị Ngọc Hà".to_string(), Some("F".to_string()), "principal".to_string(), Some("Ngữ văn".to_string()))
    );
});
