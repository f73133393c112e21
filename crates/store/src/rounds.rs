//! Programmes, training rounds and their windows, course versions, enrollments and classes.
//!
//! A round points at one course version; a learner's enrollment carries their own dates
//! (`starts_on`..=`ends_on`, from `bdtx_domain::round::personal_window`), so locking is a
//! comparison, not a computation on each request.

use chrono::NaiveDate;
use serde::Serialize;

use bdtx_course::model::Course;
use bdtx_domain::dates::{iso, parse_date};
use bdtx_domain::error::Checker;
use bdtx_domain::org::Level;
use bdtx_domain::round::{Audience, Delivery, EnrollmentKind, PassRule, PersonalWindow, Tier, Window, personal_window};

use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CourseRow {
    pub id: i64,
    pub module_code: String,
    pub title: String,
    pub version: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Programme {
    pub id: i64,
    pub owner_unit_id: i64,
    pub owner_unit: String,
    pub school_year: i64,
    pub title: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Round {
    pub id: i64,
    pub programme_id: i64,
    pub owner_unit_id: i64,
    pub title: String,
    pub module_code: String,
    pub course_id: i64,
    pub audience: String,
    pub tier: String,
    /// Comma-separated subjects; empty = every subject.
    pub subjects: String,
    pub delivery: String,
    pub in_person_from: Option<String>,
    pub in_person_to: Option<String>,
    pub pass_quiz_percent: i64,
    pub pass_final_graded: bool,
    pub created_at: i64,
}

impl Round {
    pub fn pass_rule(&self) -> PassRule {
        PassRule { quiz_percent: self.pass_quiz_percent.clamp(0, 100) as u8, final_graded: self.pass_final_graded }
    }
    pub fn subject_list(&self) -> Vec<String> {
        self.subjects.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WindowRow {
    pub level: String,
    pub opens: String,
    pub closes: String,
}

impl WindowRow {
    pub fn window(&self) -> Option<Window> {
        Some(Window {
            level: Level::parse(&self.level)?,
            opens: parse_date(&self.opens)?,
            closes: parse_date(&self.closes)?,
        })
    }
}

/// A round to create.
#[derive(Debug, Clone)]
pub struct NewRound {
    pub programme_id: i64,
    pub title: String,
    pub course_id: i64,
    pub audience: Audience,
    pub tier: Tier,
    pub subjects: Vec<String>,
    pub delivery: Delivery,
    pub in_person: Option<(NaiveDate, NaiveDate)>,
    pub pass_rule: PassRule,
    pub windows: Vec<Window>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Enrollment {
    pub id: i64,
    pub round_id: i64,
    pub person_id: i64,
    pub subject: String,
    pub kind: String,
    pub level: String,
    pub unit_id: i64,
    pub class_id: Option<i64>,
    pub starts_on: String,
    pub ends_on: String,
    pub status: String,
    pub items_done: i64,
    pub items_required: i64,
    pub resume_key: Option<String>,
    pub lms_passed_at: Option<i64>,
    pub created_at: i64,
}

impl Enrollment {
    /// A row of `enr_cols!` read through SQLite's lane (crate::lane).
    fn from_lane(r: &rusqlite::Row<'_>) -> rusqlite::Result<Enrollment> {
        Ok(Enrollment {
            id: r.get(0)?,
            round_id: r.get(1)?,
            person_id: r.get(2)?,
            subject: r.get(3)?,
            kind: r.get(4)?,
            level: r.get(5)?,
            unit_id: r.get(6)?,
            class_id: r.get(7)?,
            starts_on: r.get(8)?,
            ends_on: r.get(9)?,
            status: r.get(10)?,
            items_done: r.get(11)?,
            items_required: r.get(12)?,
            resume_key: r.get(13)?,
            lms_passed_at: r.get(14)?,
            created_at: r.get(15)?,
        })
    }
    pub fn window(&self) -> PersonalWindow {
        let d = |s: &str| parse_date(s).unwrap_or_default();
        PersonalWindow { starts: d(&self.starts_on), ends: d(&self.ends_on) }
    }
    pub fn kind(&self) -> EnrollmentKind {
        EnrollmentKind::parse(&self.kind).unwrap_or(EnrollmentKind::Main)
    }
}

/// An enrollment with the learner's and round's names, for lists.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct EnrollmentRow {
    pub id: i64,
    pub round_id: i64,
    pub round_title: String,
    pub person_id: i64,
    pub full_name: String,
    pub unit_name: String,
    pub subject: String,
    pub kind: String,
    pub level: String,
    pub class_id: Option<i64>,
    pub starts_on: String,
    pub ends_on: String,
    pub items_done: i64,
    pub items_required: i64,
    pub lms_passed_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Class {
    pub id: i64,
    pub round_id: i64,
    pub unit_id: i64,
    pub unit_name: String,
    pub name: String,
    pub subject: String,
    pub learners: i64,
    pub staff: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StaffRow {
    pub person_id: i64,
    pub full_name: String,
    pub role: String,
}

/// Which learners a bulk enrollment takes: people currently in `unit_id`'s subtree whose
/// position fits the audience, whose level has a window, optionally one level and one subject.
#[derive(Debug, Clone, Default)]
pub struct EnrollFilter {
    pub unit_id: i64,
    pub level: Option<Level>,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct EnrollReport {
    pub added: usize,
    pub already: usize,
    /// Matching people whose levels have no window in the round.
    pub no_window: usize,
}

/// A proposed class before it is created.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProposedClass {
    pub unit_id: i64,
    pub unit_name: String,
    pub name: String,
    pub subject: String,
    pub enrollment_ids: Vec<i64>,
    /// Core people proposed as reporters (person id, name).
    pub staff: Vec<(i64, String)>,
}

const ROUND_COLS: &str =
    "r.id, r.programme_id, p.owner_unit_id, r.title, r.module_code, r.course_id, r.audience, r.tier,
    r.subjects, r.delivery, r.in_person_from, r.in_person_to, r.pass_quiz_percent, r.pass_final_graded, r.created_at";

macro_rules! enr_cols {
    () => {
        "id, round_id, person_id, subject, kind, level, unit_id, class_id, starts_on, ends_on, status,
    items_done, items_required, resume_key, lms_passed_at, created_at"
    };
}
const ENR_COLS: &str = enr_cols!();
const ENROLLMENT: &str = concat!("SELECT ", enr_cols!(), " FROM enrollments WHERE id = $1 AND status = 'active'");

fn positions(a: Audience) -> &'static [&'static str] {
    match a {
        Audience::Teachers => &["teacher"],
        Audience::Managers => &["principal", "vice_principal"],
    }
}

/// Required items of a course (the count shown as progress).
pub fn required_count(c: &Course) -> i64 {
    c.sections.iter().flat_map(|s| &s.items).filter(|i| i.required).count() as i64
}

impl Db {
    // ----- courses and files -----

    /// Store a course as a new version of its module's course.
    pub async fn create_course(&self, actor: Option<i64>, course: &Course) -> Result<CourseRow> {
        let json = serde_json::to_string(course).map_err(|e| StoreError::Other(e.to_string()))?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM courses WHERE module_code = $1")
                .bind(&course.module_code).fetch_one(&mut *tx).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO courses (module_code, title, version, content, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(&course.module_code).bind(&course.title).bind(version).bind(&json).bind(actor).bind(now())
                .fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "course.create", "course", id, None::<i64>, None::<String>,
                Some(serde_json::json!({"module": course.module_code, "version": version}).to_string()));
            tx.commit().await?;
            Ok(CourseRow { id, module_code: course.module_code.clone(), title: course.title.clone(), version, created_at: now() })
        })
    }

    /// Store a loaded course package: its media in the file store (content-addressed, with
    /// checksums), then the course as a new version.
    pub async fn import_course(
        &self,
        actor: Option<i64>,
        files: &bdtx_course::FileStore,
        pkg: &bdtx_course::Package,
    ) -> Result<CourseRow> {
        for m in &pkg.media {
            let stored = files
                .put(&m.bytes)
                .map_err(|e| StoreError::Other(format!("file store {}: {e}", files.root().display())))?;
            self.record_media(&stored.sha256, stored.size as i64, &m.mime).await?;
        }
        self.create_course(actor, &pkg.course).await
    }

    pub async fn course(&self, id: i64) -> Result<Option<Course>> {
        let json: Option<String> = on!(self, p => sqlx::query_scalar("SELECT content FROM courses WHERE id = $1").bind(id).fetch_optional(p).await)?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Other(format!("course {id}: {e}")))).transpose()
    }

    pub async fn courses(&self) -> Result<Vec<CourseRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, CourseRow>(
            "SELECT id, module_code, title, version, created_at FROM courses ORDER BY module_code, version DESC")
            .fetch_all(p).await)?)
    }

    /// Record a stored file (idempotent: the same content is one row).
    pub async fn record_file(&self, sha256: &str, size: i64, mime: &str) -> Result<()> {
        on!(self, p => sqlx::query("INSERT INTO files (sha256, size, mime, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
            .bind(sha256).bind(size).bind(mime).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Record a file of a course (shown to any signed-in user at `/files/<sha256>/<name>`).
    pub async fn record_media(&self, sha256: &str, size: i64, mime: &str) -> Result<()> {
        on!(self, p => sqlx::query(
            "INSERT INTO files (sha256, size, mime, created_at, course_media) VALUES ($1, $2, $3, $4, TRUE)
             ON CONFLICT (sha256) DO UPDATE SET course_media = TRUE")
            .bind(sha256).bind(size).bind(mime).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The type of a course's media file; `None` for any other file (learners' work, scans).
    pub async fn media_mime(&self, sha256: &str) -> Result<Option<String>> {
        Ok(on!(self, p => sqlx::query_scalar("SELECT mime FROM files WHERE sha256 = $1 AND course_media = TRUE")
            .bind(sha256).fetch_optional(p).await)?)
    }

    /// The type of a stored file.
    pub async fn file_mime(&self, sha256: &str) -> Result<Option<String>> {
        Ok(
            on!(self, p => sqlx::query_scalar("SELECT mime FROM files WHERE sha256 = $1").bind(sha256).fetch_optional(p).await)?,
        )
    }

    // ----- programmes and rounds -----

    pub async fn create_programme(&self, actor: Option<i64>, owner: i64, year: i64, title: &str) -> Result<i64> {
        let title = bdtx_domain::text::clean(title);
        let mut c = Checker::default();
        if title.is_empty() {
            c.add("title", "required");
        }
        if !(2000..=2100).contains(&year) {
            c.add("school_year", "invalid");
        }
        c.finish()?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO programmes (owner_unit_id, school_year, title, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(owner).bind(year).bind(&title).bind(actor).bind(now()).fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "programme.create", "programme", id, Some(owner), None::<String>,
                Some(serde_json::json!({"title": title, "year": year}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn programme(&self, id: i64) -> Result<Option<Programme>> {
        Ok(on!(self, p => sqlx::query_as::<_, Programme>(
            "SELECT g.id, g.owner_unit_id, u.name AS owner_unit, g.school_year, g.title, g.created_at
             FROM programmes g JOIN units u ON u.id = g.owner_unit_id WHERE g.id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    /// Programmes owned by any of `owners` (None: all), newest first.
    pub async fn programmes(&self, owners: Option<&[i64]>) -> Result<Vec<Programme>> {
        let all: Vec<Programme> = on!(self, p => sqlx::query_as::<_, Programme>(
            "SELECT g.id, g.owner_unit_id, u.name AS owner_unit, g.school_year, g.title, g.created_at
             FROM programmes g JOIN units u ON u.id = g.owner_unit_id ORDER BY g.school_year DESC, g.id DESC")
            .fetch_all(p).await)?;
        Ok(match owners {
            None => all,
            Some(o) => all.into_iter().filter(|g| o.contains(&g.owner_unit_id)).collect(),
        })
    }

    pub async fn create_round(&self, actor: Option<i64>, r: &NewRound) -> Result<i64> {
        let title = bdtx_domain::text::clean(&r.title);
        let mut c = Checker::default();
        if title.is_empty() {
            c.add("title", "required");
        }
        if r.pass_rule.quiz_percent > 100 {
            c.add("pass_quiz_percent", "invalid");
        }
        if r.windows.is_empty() {
            c.add("windows", "required");
        }
        let mut levels: Vec<Level> = r.windows.iter().map(|w| w.level).collect();
        levels.sort_by_key(|l| l.as_str());
        levels.dedup();
        if levels.len() != r.windows.len() {
            c.add("windows", "duplicate_level");
        }
        if r.windows.iter().any(|w| w.check().is_err()) {
            c.add("windows", "window_order");
        }
        match (r.delivery, r.in_person) {
            (Delivery::Blended727, None) => c.add("in_person", "required"),
            (_, Some((a, b))) if b < a => c.add("in_person", "window_order"),
            _ => {}
        }
        let programme = self.programme(r.programme_id).await?;
        if programme.is_none() {
            c.add("programme", "not_found");
        }
        let module: Option<String> = on!(self, p => sqlx::query_scalar("SELECT module_code FROM courses WHERE id = $1").bind(r.course_id).fetch_optional(p).await)?;
        if module.is_none() {
            c.add("course", "not_found");
        }
        c.finish()?;
        let (Some(programme), Some(module)) = (programme, module) else { unreachable!() };
        let subjects: Vec<String> =
            r.subjects.iter().map(|s| bdtx_domain::text::clean(s)).filter(|s| !s.is_empty()).collect();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO rounds (programme_id, title, module_code, course_id, audience, tier, subjects, delivery, in_person_from, in_person_to,
                    pass_quiz_percent, pass_final_graded, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id")
                .bind(r.programme_id).bind(&title).bind(&module).bind(r.course_id).bind(r.audience.as_str()).bind(r.tier.as_str())
                .bind(subjects.join(", ")).bind(r.delivery.as_str()).bind(r.in_person.map(|x| iso(x.0))).bind(r.in_person.map(|x| iso(x.1)))
                .bind(i64::from(r.pass_rule.quiz_percent)).bind(r.pass_rule.final_graded).bind(actor).bind(now())
                .fetch_one(&mut *tx).await?;
            for w in &r.windows {
                sqlx::query("INSERT INTO round_windows (round_id, level, opens, closes) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(w.level.as_str()).bind(iso(w.opens)).bind(iso(w.closes)).execute(&mut *tx).await?;
            }
            crate::audit_insert!(tx, actor, "round.create", "round", id, Some(programme.owner_unit_id), None::<String>,
                Some(serde_json::json!({"title": title, "module": module, "course": r.course_id}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn round(&self, id: i64) -> Result<Option<Round>> {
        let sql =
            format!("SELECT {ROUND_COLS} FROM rounds r JOIN programmes p ON p.id = r.programme_id WHERE r.id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    pub async fn rounds_of_programme(&self, programme: i64) -> Result<Vec<Round>> {
        let sql = format!(
            "SELECT {ROUND_COLS} FROM rounds r JOIN programmes p ON p.id = r.programme_id WHERE r.programme_id = $1 ORDER BY r.id"
        );
        Ok(on!(self, p => sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(sql)).bind(programme).fetch_all(p).await)?)
    }

    pub async fn windows(&self, round: i64) -> Result<Vec<WindowRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, WindowRow>(
            "SELECT level, opens, closes FROM round_windows WHERE round_id = $1 ORDER BY opens, level")
            .bind(round).fetch_all(p).await)?)
    }

    // ----- enrollments -----

    /// Enroll, in one transaction, everyone matching the filter (main subject). People already
    /// enrolled are counted, not changed. A learner without a usable account, or enrolled after
    /// the window opened, gets the late-start extension from the day they can log in.
    pub async fn enroll_by_filter(
        &self,
        actor: Option<i64>,
        round_id: i64,
        f: &EnrollFilter,
        today: NaiveDate,
    ) -> Result<EnrollReport> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        let windows: Vec<Window> = self.windows(round_id).await?.iter().filter_map(WindowRow::window).collect();
        let audience = Audience::parse(&round.audience).unwrap_or(Audience::Teachers);
        let subjects = round.subject_list();
        #[derive(sqlx::FromRow)]
        struct Cand {
            id: i64,
            levels: String,
            main_subject: Option<String>,
            unit_id: i64,
            position: String,
            active: bool,
            core: bool,
        }
        let d = iso(today);
        let cands: Vec<Cand> = on!(self, p => sqlx::query_as::<_, Cand>(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($1 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                  WHERE l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2)
             )
             SELECT p.id, p.levels, p.main_subject, pu.unit_id, p.position,
                    (a.password_hash IS NOT NULL) AS active,
                    EXISTS (SELECT 1 FROM core_status c WHERE c.person_id = p.id AND c.module_code = $3) AS core
             FROM person_units pu JOIN people p ON p.id = pu.person_id
             LEFT JOIN accounts a ON a.person_id = p.id
             WHERE pu.unit_id IN (SELECT id FROM down) AND pu.valid_from <= $2 AND (pu.valid_to IS NULL OR pu.valid_to > $2)
               AND p.status = 'active'")
            .bind(f.unit_id).bind(&d).bind(&round.module_code).fetch_all(p).await)?;
        let tier = Tier::parse(&round.tier).unwrap_or(Tier::Mass);
        let required = match self.course(round.course_id).await? {
            Some(course) => required_count(&course),
            None => 0,
        };
        let wanted_positions = positions(audience);
        let mut report = EnrollReport::default();
        let mut rows = Vec::new();
        for c in cands {
            if !wanted_positions.contains(&c.position.as_str()) {
                continue;
            }
            if tier == Tier::Core && !c.core {
                continue;
            }
            let subject = c.main_subject.clone().unwrap_or_default();
            if !subjects.is_empty()
                && !subjects.iter().any(|s| bdtx_domain::text::fold(s) == bdtx_domain::text::fold(&subject))
            {
                continue;
            }
            if let Some(want) = &f.subject {
                if bdtx_domain::text::fold(want) != bdtx_domain::text::fold(&subject) {
                    continue;
                }
            }
            let levels: Vec<Level> = c.levels.split(',').filter_map(Level::parse).collect();
            let Some(w) = windows.iter().find(|w| levels.contains(&w.level) && f.level.is_none_or(|l| l == w.level))
            else {
                if f.level.is_none_or(|l| levels.contains(&l)) {
                    report.no_window += 1;
                }
                continue;
            };
            let first_login = c.active.then_some(today);
            let pw = personal_window(w, EnrollmentKind::Main, first_login);
            rows.push((c.id, subject, w.level, c.unit_id, pw));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut added = Vec::new();
            for (person, subject, level, unit, pw) in &rows {
                let r: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO enrollments (round_id, person_id, subject, kind, level, unit_id, starts_on, ends_on, items_required, enrolled_by, created_at)
                     VALUES ($1, $2, $3, 'main', $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id")
                    .bind(round_id).bind(person).bind(subject).bind(level.as_str()).bind(unit)
                    .bind(iso(pw.starts)).bind(iso(pw.ends)).bind(required).bind(actor).bind(now())
                    .fetch_optional(&mut *tx).await?;
                match r { Some(id) => { report.added += 1; added.push(id) } None => report.already += 1 }
            }
            crate::retally!(tx, &added);
            crate::audit_insert!(tx, actor, "round.enroll", "round", round_id, Some(f.unit_id), None::<String>,
                Some(serde_json::json!({"added": report.added, "level": f.level.map(|l| l.as_str()), "subject": f.subject}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(report)
    }

    /// A learner adds a concurrent (kiêm nhiệm) or reference (tham khảo) subject to a round they
    /// are enrolled in; returns the new enrollment.
    pub async fn add_extra_subject(&self, main: &Enrollment, subject: &str, kind: EnrollmentKind) -> Result<i64> {
        let subject = bdtx_domain::text::clean(subject);
        let mut c = Checker::default();
        if subject.is_empty() {
            c.add("subject", "required");
        }
        if main.kind() != EnrollmentKind::Main || kind == EnrollmentKind::Main {
            c.add("kind", "invalid");
        }
        if kind == EnrollmentKind::Reference && main.level != "TH" {
            c.add("kind", "reference_primary_only");
        }
        if kind == EnrollmentKind::Concurrent && !matches!(main.level.as_str(), "THCS" | "THPT") {
            c.add("kind", "concurrent_secondary_only");
        }
        if bdtx_domain::text::fold(&subject) == bdtx_domain::text::fold(&main.subject) {
            c.add("subject", "same_as_main");
        }
        c.finish()?;
        let w = self
            .windows(main.round_id)
            .await?
            .iter()
            .filter_map(WindowRow::window)
            .find(|w| w.level.as_str() == main.level)
            .ok_or(StoreError::NotFound)?;
        let pw = personal_window(&w, kind, None);
        let required = main.items_required;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO enrollments (round_id, person_id, subject, kind, level, unit_id, class_id, starts_on, ends_on, items_required, enrolled_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11) RETURNING id")
                .bind(main.round_id).bind(main.person_id).bind(&subject).bind(kind.as_str()).bind(&main.level).bind(main.unit_id)
                .bind(main.class_id).bind(iso(pw.starts)).bind(iso(pw.ends)).bind(required).bind(now())
                .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "enrollment"))?;
            crate::retally!(tx, &[id]);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// When a learner's account is activated on `day`: every main enrollment whose window had
    /// already opened gets the late-start extension from that day. Rounds whose window closed
    /// more than [`LATE_START_DAYS`](bdtx_domain::round::LATE_START_DAYS) days before are not
    /// reopened.
    pub async fn extend_late_start(&self, person_id: i64, day: NaiveDate) -> Result<()> {
        let enrollments = self.enrollments_of(person_id).await?;
        for e in enrollments.into_iter().filter(|e| e.kind() == EnrollmentKind::Main) {
            let Some(w) = self
                .windows(e.round_id)
                .await?
                .iter()
                .filter_map(WindowRow::window)
                .find(|w| w.level.as_str() == e.level)
            else {
                continue;
            };
            let horizon = w.closes + chrono::Days::new(bdtx_domain::round::LATE_START_DAYS);
            if day > horizon {
                continue;
            }
            let pw = personal_window(&w, EnrollmentKind::Main, Some(day));
            if iso(pw.ends) > e.ends_on {
                on!(self, p => sqlx::query("UPDATE enrollments SET ends_on = $2 WHERE id = $1").bind(e.id).bind(iso(pw.ends)).execute(p).await.map(|r| r.rows_affected()))?;
            }
        }
        Ok(())
    }

    pub async fn enrollment(&self, id: i64) -> Result<Option<Enrollment>> {
        if let Some(lane) = self.lane() {
            return lane.read(|c| crate::lane::one(c, ENROLLMENT, &[&id], Enrollment::from_lane));
        }
        Ok(on!(self, p => sqlx::query_as::<_, Enrollment>(ENROLLMENT).bind(id).fetch_optional(p).await)?)
    }

    pub async fn enrollments_of(&self, person_id: i64) -> Result<Vec<Enrollment>> {
        let sql =
            format!("SELECT {ENR_COLS} FROM enrollments WHERE person_id = $1 AND status = 'active' ORDER BY id DESC");
        Ok(
            on!(self, p => sqlx::query_as::<_, Enrollment>(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_all(p).await)?,
        )
    }

    /// Enrollments of a round, optionally of one class or of the schools under one unit (at any
    /// time), at most `limit`, sorted the Vietnamese way.
    pub async fn round_enrollments(
        &self,
        round_id: i64,
        class_id: Option<i64>,
        under: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EnrollmentRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, EnrollmentRow>(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($3 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT e.id, e.round_id, r.title AS round_title, e.person_id, p.full_name, u.name AS unit_name, e.subject, e.kind, e.level,
                    e.class_id, e.starts_on, e.ends_on, e.items_done, e.items_required, e.lms_passed_at
             FROM enrollments e JOIN people p ON p.id = e.person_id JOIN units u ON u.id = e.unit_id JOIN rounds r ON r.id = e.round_id
             WHERE e.round_id = $1 AND e.status = 'active' AND (CAST($2 AS BIGINT) IS NULL OR e.class_id = $2)
               AND (CAST($3 AS BIGINT) IS NULL OR e.unit_id IN (SELECT id FROM down))
             ORDER BY p.sort_key, e.id LIMIT $4")
            .bind(round_id).bind(class_id).bind(under).bind(limit).fetch_all(p).await)?)
    }

    /// How many active enrollments a round has (under a unit, if given), and how many of its
    /// main-subject ones are not yet in a class.
    pub async fn round_counts(&self, round_id: i64, under: Option<i64>) -> Result<(i64, i64)> {
        Ok(on!(self, p => sqlx::query_as::<_, (i64, i64)>(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT COUNT(*), COALESCE(SUM(CASE WHEN e.class_id IS NULL AND e.kind = 'main' THEN 1 ELSE 0 END), 0)
             FROM enrollments e
             WHERE e.round_id = $1 AND e.status = 'active' AND (CAST($2 AS BIGINT) IS NULL OR e.unit_id IN (SELECT id FROM down))")
            .bind(round_id).bind(under).fetch_one(p).await)?)
    }

    /// The learner's enrollments with round titles, newest first.
    pub async fn my_enrollments(&self, person_id: i64) -> Result<Vec<EnrollmentRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, EnrollmentRow>(
            "SELECT e.id, e.round_id, r.title AS round_title, e.person_id, p.full_name, u.name AS unit_name, e.subject, e.kind, e.level,
                    e.class_id, e.starts_on, e.ends_on, e.items_done, e.items_required, e.lms_passed_at
             FROM enrollments e JOIN people p ON p.id = e.person_id JOIN units u ON u.id = e.unit_id JOIN rounds r ON r.id = e.round_id
             WHERE e.person_id = $1 AND e.status = 'active' ORDER BY e.starts_on DESC, e.id")
            .bind(person_id).fetch_all(p).await)?)
    }

    // ----- classes -----

    pub async fn create_class(
        &self,
        actor: Option<i64>,
        round_id: i64,
        unit_id: i64,
        name: &str,
        subject: &str,
    ) -> Result<i64> {
        let name = bdtx_domain::text::clean(name);
        if name.is_empty() {
            return Err(bdtx_domain::Invalid::one("name", "required").into());
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO classes (round_id, unit_id, name, subject, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(round_id).bind(unit_id).bind(&name).bind(bdtx_domain::text::clean(subject)).bind(now()).fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "class.create", "class", id, Some(unit_id), None::<String>, Some(serde_json::json!({"name": name}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn class(&self, id: i64) -> Result<Option<Class>> {
        Ok(on!(self, p => sqlx::query_as::<_, Class>(
            "SELECT c.id, c.round_id, c.unit_id, u.name AS unit_name, c.name, c.subject,
                    (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id AND e.status = 'active' AND e.kind = 'main') AS learners,
                    (SELECT COUNT(*) FROM class_staff s WHERE s.class_id = c.id) AS staff
             FROM classes c JOIN units u ON u.id = c.unit_id WHERE c.id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    /// The classes of a round held by one unit (a school or a cluster).
    pub async fn classes_of_unit(&self, round_id: i64, unit_id: i64) -> Result<Vec<Class>> {
        Ok(on!(self, p => sqlx::query_as::<_, Class>(
            "SELECT c.id, c.round_id, c.unit_id, u.name AS unit_name, c.name, c.subject,
                    (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id AND e.status = 'active' AND e.kind = 'main') AS learners,
                    (SELECT COUNT(*) FROM class_staff s WHERE s.class_id = c.id) AS staff
             FROM classes c JOIN units u ON u.id = c.unit_id WHERE c.round_id = $1 AND c.unit_id = $2 ORDER BY c.name")
            .bind(round_id).bind(unit_id).fetch_all(p).await)?)
    }

    pub async fn classes_of_round(&self, round_id: i64) -> Result<Vec<Class>> {
        Ok(on!(self, p => sqlx::query_as::<_, Class>(
            "SELECT c.id, c.round_id, c.unit_id, u.name AS unit_name, c.name, c.subject,
                    (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id AND e.status = 'active' AND e.kind = 'main') AS learners,
                    (SELECT COUNT(*) FROM class_staff s WHERE s.class_id = c.id) AS staff
             FROM classes c JOIN units u ON u.id = c.unit_id WHERE c.round_id = $1 ORDER BY u.sort_key, c.name")
            .bind(round_id).fetch_all(p).await)?)
    }

    /// Classes where `person_id` is a core person (reporter or assistant).
    pub async fn classes_of_staff(&self, person_id: i64) -> Result<Vec<Class>> {
        Ok(on!(self, p => sqlx::query_as::<_, Class>(
            "SELECT c.id, c.round_id, c.unit_id, u.name AS unit_name, c.name, c.subject,
                    (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id AND e.status = 'active' AND e.kind = 'main') AS learners,
                    (SELECT COUNT(*) FROM class_staff s WHERE s.class_id = c.id) AS staff
             FROM classes c JOIN units u ON u.id = c.unit_id JOIN class_staff cs ON cs.class_id = c.id
             WHERE cs.person_id = $1 ORDER BY c.round_id DESC, c.name")
            .bind(person_id).fetch_all(p).await)?)
    }

    pub async fn class_staff(&self, class_id: i64) -> Result<Vec<StaffRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, StaffRow>(
            "SELECT s.person_id, p.full_name, s.role FROM class_staff s JOIN people p ON p.id = s.person_id
             WHERE s.class_id = $1 ORDER BY p.sort_key")
            .bind(class_id).fetch_all(p).await)?)
    }

    pub async fn is_class_staff(&self, class_id: i64, person_id: i64) -> Result<bool> {
        Ok(
            on!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM class_staff WHERE class_id = $1 AND person_id = $2")
            .bind(class_id).bind(person_id).fetch_one(p).await)?
                > 0,
        )
    }

    /// Assign a core person to a class. They must be core (cốt cán) for the round's module, and
    /// the class may then hold at most 50 main-subject learners per core person.
    pub async fn assign_staff(&self, actor: Option<i64>, class_id: i64, person_id: i64, role: &str) -> Result<()> {
        let class = self.class(class_id).await?.ok_or(StoreError::NotFound)?;
        let round = self.round(class.round_id).await?.ok_or(StoreError::NotFound)?;
        let mut c = Checker::default();
        if !matches!(role, "reporter" | "assistant") {
            c.add("role", "invalid");
        }
        let core: i64 = on!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM core_status WHERE person_id = $1 AND module_code = $2")
            .bind(person_id).bind(&round.module_code).fetch_one(p).await)?;
        if core == 0 {
            c.add("person", "not_core");
        }
        c.finish()?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO class_staff (class_id, person_id, role, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(class_id).bind(person_id).bind(role).bind(actor).bind(now())
                .execute(&mut *tx).await.map_err(|e| conflict(e, "class_staff"))?;
            crate::audit_insert!(tx, actor, "class.staff", "class", class_id, Some(class.unit_id), None::<String>,
                Some(serde_json::json!({"person": person_id, "role": role}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn remove_staff(&self, actor: Option<i64>, class_id: i64, person_id: i64) -> Result<()> {
        let class = self.class(class_id).await?.ok_or(StoreError::NotFound)?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("DELETE FROM class_staff WHERE class_id = $1 AND person_id = $2")
                .bind(class_id).bind(person_id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            crate::audit_insert!(tx, actor, "class.unstaff", "class", class_id, Some(class.unit_id),
                Some(serde_json::json!({"person": person_id}).to_string()), None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Put enrollments into a class (all in the same round as the class).
    pub async fn place_in_class(&self, actor: Option<i64>, class_id: i64, enrollment_ids: &[i64]) -> Result<usize> {
        let class = self.class(class_id).await?.ok_or(StoreError::NotFound)?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut n = 0;
            for id in enrollment_ids {
                n += sqlx::query("UPDATE enrollments SET class_id = $1 WHERE id = $2 AND round_id = $3")
                    .bind(class_id).bind(id).bind(class.round_id).execute(&mut *tx).await?.rows_affected() as usize;
            }
            if n != enrollment_ids.len() {
                return Err(bdtx_domain::Invalid::one("enrollment", "not_in_round").into());
            }
            crate::retally!(tx, enrollment_ids);
            crate::audit_insert!(tx, actor, "class.place", "class", class_id, Some(class.unit_id), None::<String>,
                Some(serde_json::json!({"enrollments": enrollment_ids}).to_string()));
            tx.commit().await?;
            Ok(n)
        })
    }

    /// Propose classes for the round's enrollments not yet in a class, under `scope` (None: all):
    /// one group per cluster (or per school outside clusters) and main subject, split into classes
    /// of at most `per_class`, with the cluster's core people for the module spread over them.
    pub async fn propose_classes(
        &self,
        round_id: i64,
        scope: Option<&[i64]>,
        per_class: usize,
    ) -> Result<Vec<ProposedClass>> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        let d = iso(bdtx_domain::dates::today());
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            subject: String,
            group_id: i64,
            group_name: String,
        }
        // The group of a school is its parent cluster if it has one today, else the school.
        let rows: Vec<Row> = on!(self, p => sqlx::query_as::<_, Row>(
            "SELECT e.id, e.subject,
                    COALESCE(c.id, s.id) AS group_id, COALESCE(c.name, s.name) AS group_name
             FROM enrollments e JOIN units s ON s.id = e.unit_id
             LEFT JOIN unit_links l ON l.unit_id = s.id AND l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2)
             LEFT JOIN units c ON c.id = l.parent_id AND c.kind = 'cluster'
             JOIN people p ON p.id = e.person_id
             WHERE e.round_id = $1 AND e.status = 'active' AND e.class_id IS NULL AND e.kind = 'main'
             ORDER BY group_name, e.subject, p.sort_key")
            .bind(round_id).bind(&d).fetch_all(p).await)?;
        let in_scope = |u: i64| scope.is_none_or(|s| s.contains(&u));
        let mut groups: Vec<((i64, String, String), Vec<i64>)> = Vec::new();
        for r in rows.into_iter().filter(|r| in_scope(r.group_id)) {
            let key = (r.group_id, r.group_name, r.subject);
            match groups.last_mut() {
                Some((k, v)) if *k == key => v.push(r.id),
                _ => groups.push((key, vec![r.id])),
            }
        }
        let mut out = Vec::new();
        for ((gid, gname, subject), ids) in groups {
            // Core people of the module (and subject, when recorded) working under the group.
            let core: Vec<(i64, String)> = on!(self, p => sqlx::query_as(
                "WITH RECURSIVE down(id) AS (
                    SELECT CAST($1 AS BIGINT)
                    UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                      WHERE l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2)
                 )
                 SELECT DISTINCT p.id, p.full_name FROM core_status cs JOIN people p ON p.id = cs.person_id
                 JOIN person_units pu ON pu.person_id = p.id AND pu.valid_from <= $2 AND (pu.valid_to IS NULL OR pu.valid_to > $2)
                 WHERE cs.module_code = $3 AND (cs.subject = '' OR cs.subject = $4) AND pu.unit_id IN (SELECT id FROM down)
                   AND p.status = 'active'
                 ORDER BY p.id")
                .bind(gid).bind(&d).bind(&round.module_code).bind(&subject).fetch_all(p).await)?;
            let plan = bdtx_domain::round::propose_classes(ids.len(), core.len(), per_class);
            let mut at = 0;
            let many = plan.len() > 1;
            for (i, (size, staff)) in plan.into_iter().enumerate() {
                let name = match (subject.is_empty(), many) {
                    (true, false) => gname.clone(),
                    (true, true) => format!("{gname} – lớp {}", i + 1),
                    (false, false) => format!("{gname} – {subject}"),
                    (false, true) => format!("{gname} – {subject} – lớp {}", i + 1),
                };
                out.push(ProposedClass {
                    unit_id: gid,
                    unit_name: gname.clone(),
                    name,
                    subject: subject.clone(),
                    enrollment_ids: ids[at..at + size].to_vec(),
                    staff: staff.into_iter().map(|k| core[k].clone()).collect(),
                });
                at += size;
            }
        }
        Ok(out)
    }

    /// Create the proposed classes, place their learners and assign their core people.
    pub async fn apply_class_proposal(
        &self,
        actor: Option<i64>,
        round_id: i64,
        proposal: &[ProposedClass],
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        for pc in proposal {
            let id = self.create_class(actor, round_id, pc.unit_id, &pc.name, &pc.subject).await?;
            self.place_in_class(actor, id, &pc.enrollment_ids).await?;
            for (person, _) in &pc.staff {
                self.assign_staff(actor, id, *person, "reporter").await?;
            }
            ids.push(id);
        }
        Ok(ids)
    }
}

/// What an author typed in the web editor for one field of a course version: `item_key` ""
/// is the course itself (`summary`); fields of activities are `body` (lesson), `quiz`,
/// `prompt` and `rubric` (essay, final).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CourseSource {
    pub item_key: String,
    pub field: String,
    pub source: String,
}

impl Db {
    // ----- authoring course versions in the web editor -----

    /// One course version's row (module, title, version).
    pub async fn course_row(&self, id: i64) -> Result<Option<CourseRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, CourseRow>(
            "SELECT id, module_code, title, version, created_at FROM courses WHERE id = $1")
            .bind(id).fetch_optional(p).await)?)
    }

    /// Whether a round uses this course version (it is then never changed; a draft is a version
    /// no round uses yet).
    pub async fn course_in_use(&self, id: i64) -> Result<bool> {
        let n: i64 = on!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM rounds WHERE course_id = $1")
            .bind(id).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// The rounds that use this course version: (id, title).
    pub async fn course_rounds(&self, id: i64) -> Result<Vec<(i64, String)>> {
        Ok(on!(self, p => sqlx::query_as::<_, (i64, String)>(
            "SELECT id, title FROM rounds WHERE course_id = $1 ORDER BY id")
            .bind(id).fetch_all(p).await)?)
    }

    /// What authors typed for this course version, by activity and field.
    pub async fn course_sources(&self, id: i64) -> Result<Vec<CourseSource>> {
        Ok(on!(self, p => sqlx::query_as::<_, CourseSource>(
            "SELECT item_key, field, source FROM course_sources WHERE course_id = $1 ORDER BY item_key, field")
            .bind(id).fetch_all(p).await)?)
    }

    /// Change a draft (a course version no round uses) in place. Refused with a conflict
    /// (`course_in_use`) once a round uses it, and as invalid if the course does not pass
    /// `bdtx_course::validate` or names another module; nothing is changed then.
    pub async fn update_course_draft(&self, actor: Option<i64>, id: i64, course: &Course) -> Result<()> {
        self.save_course_draft(actor, id, course, &[]).await
    }

    /// [`Db::update_course_draft`], writing in the same transaction what the author typed
    /// (`sources`, replacing those of the same activity and field). Sources of activities no
    /// longer in the course are dropped.
    pub async fn save_course_draft(
        &self,
        actor: Option<i64>,
        id: i64,
        course: &Course,
        sources: &[CourseSource],
    ) -> Result<()> {
        if let Err(e) = bdtx_course::validate(course) {
            // The Vietnamese message names the activity; it travels as the "field".
            let error = bdtx_domain::FieldError { field: e.to_string(), code: "course_content" };
            return Err(bdtx_domain::Invalid { errors: vec![error] }.into());
        }
        let row = self.course_row(id).await?.ok_or(StoreError::NotFound)?;
        if row.module_code != course.module_code {
            return Err(bdtx_domain::Invalid::one("module_code", "invalid").into());
        }
        let json = serde_json::to_string(course).map_err(|e| StoreError::Other(e.to_string()))?;
        let keys: std::collections::HashSet<&str> =
            course.sections.iter().flat_map(|s| &s.items).map(|i| i.key.as_str()).collect();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "UPDATE courses SET content = $2, title = $3
                 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM rounds r WHERE r.course_id = $1)")
                .bind(id).bind(&json).bind(&course.title).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict("course_in_use"));
            }
            for s in sources {
                sqlx::query(
                    "INSERT INTO course_sources (course_id, item_key, field, source) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (course_id, item_key, field) DO UPDATE SET source = excluded.source")
                    .bind(id).bind(&s.item_key).bind(&s.field).bind(&s.source).execute(&mut *tx).await?;
            }
            let stored: Vec<String> = sqlx::query_scalar("SELECT DISTINCT item_key FROM course_sources WHERE course_id = $1")
                .bind(id).fetch_all(&mut *tx).await?;
            for key in stored.iter().filter(|k| !k.is_empty() && !keys.contains(k.as_str())) {
                sqlx::query("DELETE FROM course_sources WHERE course_id = $1 AND item_key = $2")
                    .bind(id).bind(key).execute(&mut *tx).await?;
            }
            crate::audit_insert!(tx, actor, "course.update", "course", id, None::<i64>,
                Some(serde_json::json!({"title": row.title}).to_string()),
                Some(serde_json::json!({"title": course.title, "items": keys.len()}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Copy a course version (with what its authors typed) into a new version of its module,
    /// which is a draft; rounds keep the version they use.
    pub async fn new_course_version(&self, actor: Option<i64>, id: i64) -> Result<CourseRow> {
        let row = self.course_row(id).await?.ok_or(StoreError::NotFound)?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM courses WHERE module_code = $1")
                .bind(&row.module_code).fetch_one(&mut *tx).await?;
            let created_at = now();
            let new_id: i64 = sqlx::query_scalar(
                "INSERT INTO courses (module_code, title, version, content, created_by, created_at)
                 SELECT module_code, title, $2, content, $3, $4 FROM courses WHERE id = $1 RETURNING id")
                .bind(id).bind(version).bind(actor).bind(created_at)
                .fetch_one(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO course_sources (course_id, item_key, field, source)
                 SELECT $2, item_key, field, source FROM course_sources WHERE course_id = $1")
                .bind(id).bind(new_id).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "course.new_version", "course", new_id, None::<i64>,
                Some(serde_json::json!({"course": id, "version": row.version}).to_string()),
                Some(serde_json::json!({"module": row.module_code, "version": version}).to_string()));
            tx.commit().await?;
            Ok(CourseRow { id: new_id, module_code: row.module_code.clone(), title: row.title.clone(), version, created_at })
        })
    }
}
