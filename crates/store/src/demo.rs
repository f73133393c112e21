//! The demo province (`demo/province.yaml`): real-looking Ninh Bình after the 1 July 2025
//! merger, with its history (former provinces and district offices), clusters, schools,
//! teachers and managers, core teachers, a pedagogical university and one admin per level.
//! Deterministic: the same data every time.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

use bdtx_domain::authz::Role;
use bdtx_domain::org::{Level, Restructure, UnitKind};
use bdtx_domain::people::{PersonDraft, validate};

use crate::units::NewUnit;
use crate::{Db, Result, StoreError};

const PROVINCE_YAML: &str = include_str!("../demo/province.yaml");

/// The password of every demo login (printed by `bdtx demo`).
pub const DEMO_PASSWORD: &str = "bdtx-demo-2026";

#[derive(Deserialize)]
struct Named {
    code: String,
    name: String,
    #[serde(default)]
    valid_from: Option<String>,
    /// Last day of a former unit; the store closes former units by the 2025 restructuring instead.
    #[serde(default)]
    #[allow(dead_code)]
    valid_to: Option<String>,
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    levels: Vec<Level>,
}

#[derive(Deserialize)]
struct Cluster {
    code: String,
    name: String,
    schools: Vec<Named>,
}

#[derive(Deserialize)]
struct Commune {
    code: String,
    name: String,
    former_district: String,
    clusters: Vec<Cluster>,
}

#[derive(Deserialize)]
struct University {
    code: String,
    name: String,
    covers: Vec<String>,
}

#[derive(Deserialize)]
struct DemoMerger {
    effective: String,
    merge: Vec<String>,
    into: Named,
}

#[derive(Deserialize)]
struct Names {
    family: Vec<(String, u32)>,
    middle_male: Vec<String>,
    middle_female: Vec<String>,
    given_male: Vec<String>,
    given_female: Vec<String>,
}

#[derive(Deserialize)]
struct Province {
    ministry: Named,
    province: Named,
    former_provinces: Vec<Named>,
    former_districts: Vec<Named>,
    communes: Vec<Commune>,
    upper_secondary: Vec<Named>,
    university: University,
    restructure_demo: DemoMerger,
    names: Names,
    subjects: std::collections::BTreeMap<String, Vec<String>>,
}

/// Common Vietnamese names and subjects by level, from the demo data, for generators.
pub struct NameLists {
    pub family: Vec<(String, u32)>,
    pub middle_male: Vec<String>,
    pub middle_female: Vec<String>,
    pub given_male: Vec<String>,
    pub given_female: Vec<String>,
    pub subjects: std::collections::BTreeMap<String, Vec<String>>,
}

pub fn name_lists() -> NameLists {
    let y: Province = serde_yaml_ng::from_str(PROVINCE_YAML).expect("demo data parses (tested)");
    NameLists {
        family: y.names.family,
        middle_male: y.names.middle_male,
        middle_female: y.names.middle_female,
        given_male: y.names.given_male,
        given_female: y.names.given_female,
        subjects: y.subjects,
    }
}

/// How much of the demo to create: the full demo for `bdtx demo`, a small one for tests.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub teachers_per_school: usize,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize { teachers_per_school: 14 }
    }
}

/// A demo login to print.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: &'static str,
    pub scope: String,
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("demo dates are ISO")
}

struct People<'a> {
    rng: StdRng,
    names: &'a Names,
    family_total: u32,
    next_id: u64,
}

impl People<'_> {
    fn name(&mut self) -> (String, &'static str) {
        let mut pick = self.rng.random_range(0..self.family_total);
        let mut family = &self.names.family[0].0;
        for (f, w) in &self.names.family {
            if pick < *w {
                family = f;
                break;
            }
            pick -= w;
        }
        let female = self.rng.random_bool(0.7); // most teachers are women
        let (mid, given, g) = if female {
            (&self.names.middle_female, &self.names.given_female, "F")
        } else {
            (&self.names.middle_male, &self.names.given_male, "M")
        };
        let m = &mid[self.rng.random_range(0..mid.len())];
        let gv = &given[self.rng.random_range(0..given.len())];
        (format!("{family} {m} {gv}"), g)
    }

    fn draft(
        &mut self,
        full_name: String,
        gender: &str,
        position: &str,
        levels: &str,
        subject: Option<&str>,
    ) -> PersonDraft {
        self.next_id += 1;
        let year = self.rng.random_range(1968..=2000);
        let birth = format!("{:02}/{:02}/{year}", self.rng.random_range(1..=28), self.rng.random_range(1..=12));
        // 12-digit CCCD: province code 037 (Ninh Bình), century/gender digit, year, serial.
        let century_gender = if gender == "F" { 1 } else { 0 };
        let national_id = format!("037{century_gender}{:02}{:06}", year % 100, self.next_id);
        let phone = format!("09{:08}", 10_000_000 + self.next_id * 7919 % 89_999_999);
        PersonDraft {
            full_name: Some(full_name),
            birth_date: Some(birth),
            gender: Some(gender.into()),
            national_id: Some(national_id),
            phone: Some(phone),
            email: Some(format!("gv{}@demo.bdtx.vn", self.next_id)),
            position: Some(position.into()),
            levels: Some(levels.into()),
            main_subject: subject.map(String::from),
            other_subjects: None,
        }
    }
}

/// Seed the demo into an empty, migrated database. Refuses to run twice.
pub async fn seed(db: &Db, size: DemoSize) -> Result<Vec<DemoLogin>> {
    if db.unit_by_code("BGDDT").await?.is_some() {
        return Err(StoreError::Other(
            "the database already has data; the demo is only seeded into an empty database".into(),
        ));
    }
    let y: Province =
        serde_yaml_ng::from_str(PROVINCE_YAML).map_err(|e| StoreError::Other(format!("demo data: {e}")))?;
    let merger = date("2025-07-01");
    let unit = |code: &str,
                kind: UnitKind,
                name: &str,
                parent: Option<i64>,
                from: NaiveDate,
                to: Option<NaiveDate>,
                levels: Vec<Level>| NewUnit {
        code: code.into(),
        kind,
        name: name.into(),
        levels,
        parent_id: parent,
        valid_from: from,
        valid_to: to,
    };

    let ministry = db
        .create_unit(
            None,
            &unit(&y.ministry.code, UnitKind::Ministry, &y.ministry.name, None, date("1990-01-01"), None, vec![]),
        )
        .await?;
    // Before 1 July 2025: the former provinces and their district offices.
    let mut old_provinces = std::collections::HashMap::new();
    for p in &y.former_provinces {
        let id = db
            .create_unit(
                None,
                &unit(
                    &p.code,
                    UnitKind::Province,
                    &p.name,
                    Some(ministry),
                    date(p.valid_from.as_deref().unwrap_or("1990-01-01")),
                    None,
                    vec![],
                ),
            )
            .await?;
        old_provinces.insert(p.code.clone(), id);
    }
    let mut districts = std::collections::HashMap::new();
    for d in &y.former_districts {
        let parent = old_provinces[d.province.as_deref().unwrap_or_default()];
        let id = db
            .create_unit(
                None,
                &unit(
                    &d.code,
                    UnitKind::Commune,
                    &d.name,
                    Some(parent),
                    date(d.valid_from.as_deref().unwrap_or("2000-01-01")),
                    None,
                    vec![],
                ),
            )
            .await?;
        districts.insert(d.code.clone(), (id, date(d.valid_from.as_deref().unwrap_or("2000-01-01"))));
    }
    // Schools existed under the district offices (THPT under the old provinces).
    let mut schools: Vec<(i64, String, Vec<Level>, String)> = Vec::new(); // (id, cluster code, levels, name)
    let mut school_ids = std::collections::HashMap::new();
    for c in &y.communes {
        let (did, dfrom) = districts[&c.former_district];
        for cl in &c.clusters {
            for s in &cl.schools {
                let id = db
                    .create_unit(
                        None,
                        &unit(&s.code, UnitKind::School, &s.name, Some(did), dfrom, None, s.levels.clone()),
                    )
                    .await?;
                schools.push((id, cl.code.clone(), s.levels.clone(), s.name.clone()));
                school_ids.insert(s.code.clone(), id);
            }
        }
    }
    let old: Vec<i64> = y.former_provinces.iter().map(|p| old_provinces[&p.code]).collect();
    for (i, s) in y.upper_secondary.iter().enumerate() {
        let parent = old[i % old.len()];
        let id = db
            .create_unit(
                None,
                &unit(&s.code, UnitKind::School, &s.name, Some(parent), date("2000-01-01"), None, s.levels.clone()),
            )
            .await?;
        schools.push((id, String::new(), s.levels.clone(), s.name.clone()));
        school_ids.insert(s.code.clone(), id);
    }

    // 1 July 2025: the provinces merge; communes take over from the district offices.
    let province = db
        .merge_units(
            None,
            Restructure::Merge,
            &old,
            None,
            Some(unit(&y.province.code, UnitKind::Province, &y.province.name, Some(ministry), merger, None, vec![])),
            merger,
        )
        .await?;
    let mut clusters = std::collections::HashMap::new();
    let mut communes = std::collections::HashMap::new();
    for c in &y.communes {
        let cid = db
            .create_unit(None, &unit(&c.code, UnitKind::Commune, &c.name, Some(province), merger, None, vec![]))
            .await?;
        communes.insert(c.code.clone(), cid);
        for cl in &c.clusters {
            let clid = db
                .create_unit(None, &unit(&cl.code, UnitKind::Cluster, &cl.name, Some(cid), merger, None, vec![]))
                .await?;
            clusters.insert(cl.code.clone(), clid);
        }
    }
    for (id, cluster, _, _) in &schools {
        if !cluster.is_empty() {
            db.move_unit(None, *id, clusters[cluster], merger).await?;
        }
    }
    let district_ids: Vec<i64> = y.former_districts.iter().map(|d| districts[&d.code].0).collect();
    db.merge_units(None, Restructure::Dissolve, &district_ids, Some(province), None, merger).await?;

    let uni = db
        .create_unit(
            None,
            &unit(
                &y.university.code,
                UnitKind::University,
                &y.university.name,
                Some(ministry),
                date("1990-01-01"),
                None,
                vec![],
            ),
        )
        .await?;
    for code in &y.university.covers {
        if code == &y.province.code {
            db.set_university_coverage(None, uni, province).await?;
        }
    }

    // People: a principal, sometimes a vice-principal, and teachers per school.
    let names = &y.names;
    let mut namer = People {
        rng: StdRng::seed_from_u64(2025),
        names,
        family_total: names.family.iter().map(|f| f.1).sum(),
        next_id: 0,
    };
    let today = bdtx_domain::dates::today();
    let started = date("2020-08-15");
    let mut first_teacher = None;
    let mut core_person = None;
    let mut principal_of_kim_dong = None;
    for (i, (school, _, levels, sname)) in schools.iter().enumerate() {
        let lv = bdtx_domain::org::levels_to_string(levels);
        let level = levels.first().copied().unwrap_or(Level::TH);
        let subjects = &y.subjects[level.as_str()];
        let (n, g) = namer.name();
        let d = namer.draft(n, g, "principal", &lv, None);
        let pid = db.create_person(None, &validate(&d, None)?, *school, started).await?;
        if sname.contains("Tiểu học Kim Đông") {
            principal_of_kim_dong = Some((pid, *school));
        }
        if i % 2 == 0 {
            let (n, g) = namer.name();
            let d = namer.draft(n, g, "vice_principal", &lv, None);
            db.create_person(None, &validate(&d, None)?, *school, started).await?;
        }
        for t in 0..size.teachers_per_school {
            // The very first teacher is the one everyone searches for in the demo.
            let (n, g) = if i == 0 && t == 0 { ("Nguyễn Văn An".to_string(), "M") } else { namer.name() };
            let subject = subjects[namer.rng.random_range(0..subjects.len())].clone();
            let d = namer.draft(n, g, "teacher", &lv, Some(&subject));
            let pid = match db.create_person(None, &validate(&d, None)?, *school, started).await {
                Ok(id) => id,
                Err(StoreError::Conflict(_)) => continue, // same name, birth date and contact: skip
                Err(e) => return Err(e),
            };
            if first_teacher.is_none() {
                first_teacher = Some(pid);
            }
            // About one teacher in twelve is core (cốt cán) for module 2 of Decision 4660.
            if t % 12 == 1 {
                db.add_core_status(None, pid, "GV4660-02", &subject, date("2020-10-01")).await?;
                if core_person.is_none() {
                    core_person = Some((pid, *school));
                }
            }
        }
    }
    // A key lecturer at the university and officers at the Sở and a commune.
    let mut staff = |full: &str, g: &str, position: &str| namer.draft(full.to_string(), g, position, "", None);
    let lecturer =
        db.create_person(None, &validate(&staff("Trần Thị Thu Hà", "F", "lecturer"), None)?, uni, started).await?;
    let so_officer =
        db.create_person(None, &validate(&staff("Phạm Quang Huy", "M", "officer"), None)?, province, started).await?;
    let kim_dong = communes["NB-KS02"];
    let xa_officer =
        db.create_person(None, &validate(&staff("Lê Thị Lan", "F", "officer"), None)?, kim_dong, merger).await?;

    // 1 July 2026: two communes merge (history stays visible in the tree at an earlier date).
    let r = &y.restructure_demo;
    let eff = date(&r.effective);
    if eff <= today {
        let sources: Vec<i64> = r.merge.iter().map(|c| communes[c]).collect();
        db.merge_units(
            None,
            Restructure::Merge,
            &sources,
            None,
            Some(unit(&r.into.code, UnitKind::Commune, &r.into.name, Some(province), eff, None, vec![])),
            eff,
        )
        .await?;
    }

    // Accounts: one per person, waiting for activation, except the demo logins below.
    let hash = crate::password::hash_async(DEMO_PASSWORD.to_string()).await;
    let mut logins = Vec::new();
    let mut login = async |username: &str,
                           person: Option<i64>,
                           role: Option<(Role, i64)>,
                           label: &'static str,
                           scope: &str|
           -> Result<()> {
        let acc = db.create_account(username, person, Some(hash.clone())).await?;
        if let Some((r, u)) = role {
            db.grant_role(None, acc, r, u).await?;
        }
        logins.push(DemoLogin { username: username.into(), role: label, scope: scope.into() });
        Ok(())
    };
    let kim_dong_name = db.unit(kim_dong).await?.map(|u| u.name).unwrap_or_default();
    login("bo.admin", None, Some((Role::MinistryAdmin, ministry)), "ministry_admin", &y.ministry.name).await?;
    login("so.admin", Some(so_officer), Some((Role::ProvinceAdmin, province)), "province_admin", &y.province.name)
        .await?;
    login("xa.admin", Some(xa_officer), Some((Role::CommuneAdmin, kim_dong)), "commune_admin", &kim_dong_name).await?;
    if let Some((p, s)) = principal_of_kim_dong.or(Some((first_teacher.unwrap_or_default(), schools[0].0))) {
        let sname = db.unit(s).await?.map(|u| u.name).unwrap_or_default();
        login("hieutruong", Some(p), Some((Role::SchoolAdmin, s)), "school_admin", &sname).await?;
    }
    login("giangvien", Some(lecturer), Some((Role::KeyLecturer, uni)), "key_lecturer", &y.university.name).await?;
    if let Some((p, s)) = core_person {
        let sname = db.unit(s).await?.map(|u| u.name).unwrap_or_default();
        login("cotcan", Some(p), Some((Role::CoreTeacher, s)), "core_teacher", &sname).await?;
    }
    login("vanhanh", None, Some((Role::LmsOperator, province)), "lms_operator", &y.province.name).await?;
    if let Some(p) = first_teacher {
        login("giaovien", Some(p), None, "learner", "Nguyễn Văn An").await?;
    }

    db.create_pending_accounts().await?;
    Ok(logins)
}

impl Db {
    /// Give every person without an account one waiting for activation, username = national ID
    /// (or `p<id>`). No password is hashed: the school hands out activation codes.
    pub async fn create_pending_accounts(&self) -> Result<u64> {
        let n = crate::on!(self, p => sqlx::query(
            "INSERT INTO accounts (username, person_id, created_at)
             SELECT COALESCE(p.national_id, 'p' || CAST(p.id AS TEXT)), p.id, $1 FROM people p
             WHERE p.status = 'active' AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id)")
            .bind(crate::now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n)
    }
}

/// The demo's training: the Vietnamese demo course of module 2 (its media stored in `files`), a
/// province programme with one round open now (window from a week ago to two weeks ahead),
/// every teacher of the province enrolled in their main subject, classes per cluster with their
/// core teachers, and the demo learner in the demo core teacher's class.
pub async fn seed_lms(db: &Db, files: &bdtx_course::FileStore) -> Result<()> {
    use bdtx_domain::round::{Audience, Delivery, PassRule, Tier, Window};
    let pkg = bdtx_course::demo_package();
    let course = db.import_course(None, files, &pkg).await?;
    let province = db.unit_by_code("NB").await?.ok_or(StoreError::NotFound)?.id;
    let today = bdtx_domain::dates::today();
    let day = |n: i64| today + chrono::Duration::days(n);
    let year = i64::from(chrono::Datelike::year(&today)) - i64::from(chrono::Datelike::month(&today) < 8);
    let programme = db.create_programme(None, province, year, "Kế hoạch bồi dưỡng thường xuyên giáo viên").await?;
    let mut windows = Vec::new();
    for level in [Level::MN, Level::THCS, Level::THPT, Level::GDTX] {
        windows.push(Window { level, opens: day(-7), closes: day(14) });
    }
    windows.push(Window { level: Level::TH, opens: day(-5), closes: day(16) });
    let round = db
        .create_round(
            None,
            &crate::rounds::NewRound {
                programme_id: programme,
                title: format!("Bồi dưỡng {} – đợt 1", pkg.course.title),
                course_id: course.id,
                audience: Audience::Teachers,
                tier: Tier::Mass,
                subjects: vec![],
                delivery: Delivery::SelfStudy,
                in_person: None,
                pass_rule: PassRule { quiz_percent: 70, final_graded: false },
                windows,
            },
        )
        .await?;
    let filter = crate::rounds::EnrollFilter { unit_id: province, level: None, subject: None };
    db.enroll_by_filter(None, round, &filter, day(-7)).await?;
    let proposal = db.propose_classes(round, None, 50).await?;
    db.apply_class_proposal(None, round, &proposal).await?;
    // The demo learner studies in the demo core teacher's class.
    let person_of = async |username: &str| -> Result<Option<i64>> {
        Ok(db.account_by_username(username).await?.and_then(|a| a.person_id))
    };
    if let (Some(learner), Some(core)) = (person_of("giaovien").await?, person_of("cotcan").await?) {
        if let Some(class) = db.enrollments_of(learner).await?.first().and_then(|e| e.class_id) {
            if !db.is_class_staff(class, core).await? {
                db.assign_staff(None, class, core, "reporter").await?;
            }
        }
    }
    Ok(())
}

/// The yearly cycle of last school year at the demo learner's school: each teacher's approved
/// personal plan (Circular 19/2019 programmes 01–03) with results classified, and their
/// self-assessment against the teacher standard evaluated by the school, so the roll-up has weak
/// criteria to suggest modules from. Seeded by `bdtx demo` (not by every test).
pub async fn seed_yearly(db: &Db) -> Result<()> {
    use crate::yearly::ItemInput;
    use bdtx_domain::standards::{Level as L, TEACHER_2018};
    let Some(learner) = db.account_by_username("giaovien").await?.and_then(|a| a.person_id) else { return Ok(()) };
    let Some(&school) = db.person_chain(learner).await?.first() else { return Ok(()) };
    let current = crate::yearly::current_school_year();
    let start: i32 = current[..4].parse().unwrap_or(2025) - 1;
    let year = format!("{start}-{}", start + 1);
    let query = crate::people::PeopleQuery { q: String::new(), within: Some(school), limit: 20, offset: 0 };
    let teachers: Vec<i64> =
        db.search_people(&query).await?.into_iter().filter(|p| p.position == "teacher").map(|p| p.id).collect();
    let modules = [("GVPT05", "GVPT08"), ("GVPT06", "GVPT14"), ("GVPT04", "GVPT15")];
    for (i, t) in teachers.iter().take(6).enumerate() {
        if db.year_plan_of(*t, &year).await?.is_some() {
            continue;
        }
        let (a, b) = modules[i % modules.len()];
        let items = [
            ItemInput { group: "CT01".into(), code: "CT01".into(), periods: 40 },
            ItemInput { group: "CT02".into(), code: "CT02".into(), periods: 40 },
            ItemInput { group: "CT03".into(), code: a.into(), periods: 20 },
            ItemInput { group: "CT03".into(), code: b.into(), periods: 20 },
        ];
        let id = db.save_year_plan(None, *t, &year, &items).await?;
        db.submit_year_plan(None, id).await?;
        db.decide_year_plan(None, id, "approve", "").await?;
        let scores = ["8", "7,5", "9", if i == 2 { "4,5" } else { "6,5" }];
        let entries: Vec<(i64, Vec<String>)> =
            db.year_items(id).await?.iter().zip(scores).map(|(it, s)| (it.id, vec![s.to_string()])).collect();
        db.enter_year_results(None, id, &entries).await?;
        // Criteria 5 (methods), 6 (assessment) and 14 (languages) are the usual weak spots.
        let levels: Vec<Option<L>> = (1..=15)
            .map(|n| match n {
                1 | 2 => Some(L::Tot),
                5 | 14 => Some(if i % 2 == 0 { L::Dat } else { L::Kha }),
                6 => Some(if i % 3 == 0 { L::ChuaDat } else { L::Dat }),
                _ => Some(L::Kha),
            })
            .collect();
        let note = "Tự đánh giá cuối năm học";
        let a = db.save_self_assessment(None, *t, &year, &TEACHER_2018, &levels, note, true).await?;
        db.evaluate_assessment(None, a, &levels, "Nhất trí với tự đánh giá").await?;
    }
    Ok(())
}
