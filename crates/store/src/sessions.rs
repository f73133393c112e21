//! Professional-activity sessions (sinh hoạt chuyên môn) of a round at a school or cluster, and
//! the in-person days of a 7-2-7 round: scheduling (topic, facilitator, place, dates), attendance
//! by list or QR code, the minutes, and the counts dashboards read.
//!
//! Rules (`bdtx_domain::activity`): the facilitator is core (cốt cán) for the round's module; the
//! unit is a school or a cluster; attendance is only for active enrollments of the session's
//! round within the unit's subtree (at any time, like `round_enrollments`). Bad input changes
//! nothing: everything is checked before the one write transaction.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use bdtx_domain::activity::{SessionContext, SessionDraft, SessionKind, check_session};
use bdtx_domain::dates::{iso, parse_date};
use bdtx_domain::org::UnitKind;
use bdtx_domain::round::Delivery;

use crate::rounds::EnrollmentRow;
use crate::{BeginWrite, Db, Result, StoreError, now, on};

/// The name of the HMAC key of check-in QR codes in `app_secrets`.
pub const QR_SECRET: &str = "qr_checkin";
/// At most this many learners are listed (and eligible) per session.
pub const MAX_SESSION_LEARNERS: i64 = 5_000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ActivitySession {
    pub id: i64,
    pub round_id: i64,
    pub round_title: String,
    pub module_code: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub unit_kind: String,
    /// professional | in_person
    pub kind: String,
    pub topic: String,
    pub facilitator_person_id: i64,
    pub facilitator_name: String,
    pub place: String,
    pub starts_on: String,
    pub ends_on: String,
    pub minutes_sha256: Option<String>,
    pub minutes_name: Option<String>,
    pub minutes_mime: Option<String>,
    pub minutes_at: Option<i64>,
    pub created_at: i64,
}

const SESSION_COLS: &str = "s.id, s.round_id, r.title AS round_title, r.module_code, s.unit_id, u.name AS unit_name,
    u.kind AS unit_kind, s.kind, s.topic, s.facilitator_person_id, f.full_name AS facilitator_name, s.place, s.starts_on,
    s.ends_on, s.minutes_sha256, s.minutes_name, s.minutes_mime, s.minutes_at, s.created_at
    FROM activity_sessions s JOIN rounds r ON r.id = s.round_id JOIN units u ON u.id = s.unit_id
    JOIN people f ON f.id = s.facilitator_person_id";

/// A session to schedule, as typed (dates dd/mm/yyyy or ISO).
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    pub round_id: i64,
    pub unit_id: i64,
    pub kind: String,
    pub topic: String,
    pub facilitator_person_id: Option<i64>,
    pub place: String,
    pub starts_on: String,
    pub ends_on: String,
}

/// One attendance row.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Attendance {
    pub enrollment_id: i64,
    /// list | qr
    pub method: String,
    pub recorded_at: i64,
}

/// What a QR check-in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CheckIn {
    Recorded,
    /// The learner was already recorded for this session: nothing changed.
    Already,
}

/// Attendance of one session, for dashboards.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionCount {
    pub session_id: i64,
    pub unit_id: i64,
    pub kind: String,
    pub starts_on: String,
    /// Active enrollments of the round within the unit.
    pub expected: i64,
    pub present: i64,
}

/// One enrollment's sessions and how many it attended, for dashboards and the learner's record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EnrollmentAttendance {
    pub enrollment_id: i64,
    pub sessions: i64,
    pub attended: i64,
}

/// A session as the learner sees it: attended or not.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerSession {
    pub session: ActivitySession,
    pub attended: bool,
}

impl Db {
    /// The server's secret named `name` (32 random bytes, hex), made on first use.
    pub async fn app_secret(&self, name: &str) -> Result<Vec<u8>> {
        let get = async || -> Result<Option<String>> {
            Ok(on!(self, p => sqlx::query_scalar("SELECT value FROM app_secrets WHERE name = $1")
                .bind(name).fetch_optional(p).await)?)
        };
        let value = match get().await? {
            Some(v) => v,
            None => {
                let fresh = crate::accounts::random_token(32);
                on!(self, p => sqlx::query(
                    "INSERT INTO app_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                    .bind(name).bind(&fresh).bind(now()).execute(p).await.map(|_| ()))?;
                get().await?.ok_or(StoreError::NotFound)?
            }
        };
        hex::decode(value.trim()).map_err(|e| StoreError::Other(format!("secret {name}: {e}")))
    }

    /// Schedule a session. Every rule is checked first; nothing is written if one fails.
    pub async fn create_activity_session(&self, actor: Option<i64>, n: &NewSession) -> Result<i64> {
        let round = self.round(n.round_id).await?.ok_or(StoreError::NotFound)?;
        let unit = self.unit(n.unit_id).await?.ok_or(StoreError::NotFound)?;
        let topic = bdtx_domain::text::clean(&n.topic);
        let place = bdtx_domain::text::clean(&n.place);
        let kind = SessionKind::parse(&n.kind);
        let (starts, ends) = (parse_date(&n.starts_on), parse_date(&n.ends_on));
        let facilitator = match n.facilitator_person_id {
            Some(id) => self.person(id).await?.filter(|p| p.status == "active"),
            None => None,
        };
        let core = match &facilitator {
            Some(f) => {
                let c: i64 = on!(self, p => sqlx::query_scalar(
                    "SELECT COUNT(*) FROM core_status WHERE person_id = $1 AND module_code = $2")
                    .bind(f.id).bind(&round.module_code).fetch_one(p).await)?;
                c > 0
            }
            None => false,
        };
        let windows: Vec<_> = self.windows(round.id).await?.iter().filter_map(|w| w.window()).collect();
        let span = windows.iter().map(|w| w.opens).min().zip(windows.iter().map(|w| w.closes).max()).map(|(a, b)| {
            // The in-person days of a 7-2-7 round may fall outside the online windows.
            let ip = (
                round.in_person_from.as_deref().and_then(parse_date),
                round.in_person_to.as_deref().and_then(parse_date),
            );
            match ip {
                (Some(x), Some(y)) => (a.min(x), b.max(y)),
                _ => (a, b),
            }
        });
        let cx = SessionContext {
            delivery: Delivery::parse(&round.delivery).unwrap_or(Delivery::SelfStudy),
            round_span: span,
            unit_ok: matches!(UnitKind::parse(&unit.kind), Some(UnitKind::School | UnitKind::Cluster)),
            unit_in_round: self.ancestors(unit.id, bdtx_domain::dates::today()).await?.contains(&round.owner_unit_id)
                || self.unit_chain(&unit).await?.contains(&round.owner_unit_id),
            facilitator_given: facilitator.is_some(),
            facilitator_core: core,
        };
        let draft = SessionDraft { kind, topic: &topic, place: &place, starts_on: starts, ends_on: ends };
        check_session(&draft, &cx)?;
        let (kind, starts, ends, fid) = (
            kind.expect("checked").as_str(),
            iso(starts.expect("checked")),
            iso(ends.expect("checked")),
            facilitator.expect("checked").id,
        );
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO activity_sessions (round_id, unit_id, kind, topic, facilitator_person_id, place, starts_on, ends_on,
                    created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id")
                .bind(round.id).bind(unit.id).bind(kind).bind(&topic).bind(fid).bind(&place).bind(&starts).bind(&ends)
                .bind(actor).bind(t).fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "session.create", "session", id, Some(unit.id), None::<String>,
                Some(serde_json::json!({"round": round.id, "kind": kind, "topic": topic, "facilitator": fid,
                    "place": place, "starts_on": starts, "ends_on": ends}).to_string()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn activity_session(&self, id: i64) -> Result<Option<ActivitySession>> {
        let sql = format!("SELECT {SESSION_COLS} WHERE s.id = $1");
        Ok(
            on!(self, p => sqlx::query_as::<_, ActivitySession>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?,
        )
    }

    /// A round's sessions held by `under` or units below it (at any time), or all of them.
    pub async fn sessions_of_round(&self, round_id: i64, under: Option<i64>) -> Result<Vec<ActivitySession>> {
        let sql = format!(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT {SESSION_COLS}
             WHERE s.round_id = $1 AND (CAST($2 AS BIGINT) IS NULL OR s.unit_id IN (SELECT id FROM down))
             ORDER BY s.starts_on, u.sort_key, s.id"
        );
        Ok(on!(self, p => sqlx::query_as::<_, ActivitySession>(sqlx::AssertSqlSafe(sql))
            .bind(round_id).bind(under).fetch_all(p).await)?)
    }

    /// Sessions where `person_id` is the facilitator, newest first.
    pub async fn sessions_facilitated(&self, person_id: i64) -> Result<Vec<ActivitySession>> {
        let sql = format!("SELECT {SESSION_COLS} WHERE s.facilitator_person_id = $1 ORDER BY s.starts_on DESC, s.id");
        Ok(on!(self, p => sqlx::query_as::<_, ActivitySession>(sqlx::AssertSqlSafe(sql))
            .bind(person_id).fetch_all(p).await)?)
    }

    /// The learners a session is for: active enrollments of its round within its unit.
    pub async fn session_learners(&self, s: &ActivitySession) -> Result<Vec<EnrollmentRow>> {
        self.round_enrollments(s.round_id, None, Some(s.unit_id), MAX_SESSION_LEARNERS).await
    }

    pub async fn session_attendance(&self, session_id: i64) -> Result<Vec<Attendance>> {
        Ok(on!(self, p => sqlx::query_as::<_, Attendance>(
            "SELECT enrollment_id, method, recorded_at FROM session_attendance WHERE session_id = $1 ORDER BY enrollment_id")
            .bind(session_id).fetch_all(p).await)?)
    }

    pub async fn attendance_count(&self, session_id: i64) -> Result<i64> {
        Ok(on!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM session_attendance WHERE session_id = $1")
            .bind(session_id).fetch_one(p).await)?)
    }

    /// Make the list ticked by the facilitator the session's attendance: `present` are added
    /// (method `list`), anyone not in it is removed. Every id must be a learner of the session,
    /// else nothing changes. Returns (added, removed).
    pub async fn set_attendance(&self, actor: Option<i64>, session_id: i64, present: &[i64]) -> Result<(usize, usize)> {
        let s = self.activity_session(session_id).await?.ok_or(StoreError::NotFound)?;
        let eligible: HashSet<i64> = self.session_learners(&s).await?.iter().map(|e| e.id).collect();
        let wanted: HashSet<i64> = present.iter().copied().collect();
        if wanted.iter().any(|e| !eligible.contains(e)) {
            return Err(bdtx_domain::Invalid::one("attendance", "session_not_enrolled").into());
        }
        let current: HashSet<i64> =
            self.session_attendance(session_id).await?.iter().map(|a| a.enrollment_id).collect();
        let mut add: Vec<i64> = wanted.difference(&current).copied().collect();
        let mut remove: Vec<i64> = current.difference(&wanted).copied().collect();
        add.sort_unstable();
        remove.sort_unstable();
        if add.is_empty() && remove.is_empty() {
            return Ok((0, 0));
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            for e in &add {
                sqlx::query(
                    "INSERT INTO session_attendance (session_id, enrollment_id, method, recorded_by, recorded_at)
                     VALUES ($1, $2, 'list', $3, $4) ON CONFLICT (session_id, enrollment_id) DO NOTHING")
                    .bind(session_id).bind(e).bind(actor).bind(t).execute(&mut *tx).await?;
            }
            for e in &remove {
                sqlx::query("DELETE FROM session_attendance WHERE session_id = $1 AND enrollment_id = $2")
                    .bind(session_id).bind(e).execute(&mut *tx).await?;
            }
            let changed: Vec<i64> = add.iter().chain(&remove).copied().collect();
            crate::retally!(tx, &changed);
            crate::audit_insert!(tx, actor, "session.attendance", "session", session_id, Some(s.unit_id),
                (!remove.is_empty()).then(|| serde_json::json!({"removed": remove}).to_string()),
                Some(serde_json::json!({"added": add}).to_string()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok((add.len(), remove.len()))
    }

    /// The enrollment a person checks in with: their active enrollment in the session's round
    /// within its unit (the main subject first).
    pub async fn session_enrollment_of(&self, s: &ActivitySession, person_id: i64) -> Result<Option<i64>> {
        Ok(on!(self, p => sqlx::query_scalar(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($3 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
             )
             SELECT e.id FROM enrollments e
             WHERE e.round_id = $1 AND e.person_id = $2 AND e.status = 'active' AND e.unit_id IN (SELECT id FROM down)
             ORDER BY CASE WHEN e.kind = 'main' THEN 0 ELSE 1 END, e.id LIMIT 1")
            .bind(s.round_id).bind(person_id).bind(s.unit_id).fetch_optional(p).await)?)
    }

    /// Record a learner's QR check-in (the token already verified). A second scan, of the same or
    /// a newer code, changes nothing and says so.
    pub async fn check_in(&self, actor: Option<i64>, session_id: i64, person_id: i64, nonce: &str) -> Result<CheckIn> {
        let s = self.activity_session(session_id).await?.ok_or(StoreError::NotFound)?;
        let e = self
            .session_enrollment_of(&s, person_id)
            .await?
            .ok_or_else(|| bdtx_domain::Invalid::one("checkin", "session_not_learner"))?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query(
                "INSERT INTO session_attendance (session_id, enrollment_id, method, qr_nonce, recorded_by, recorded_at)
                 VALUES ($1, $2, 'qr', $3, $4, $5) ON CONFLICT (session_id, enrollment_id) DO NOTHING")
                .bind(session_id).bind(e).bind(nonce).bind(actor).bind(now()).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok(CheckIn::Already);
            }
            crate::retally!(tx, &[e]);
            crate::audit_insert!(tx, actor, "session.checkin", "session", session_id, Some(s.unit_id), None::<String>,
                Some(serde_json::json!({"enrollment": e, "nonce": nonce}).to_string()));
            tx.commit().await?;
            Ok(CheckIn::Recorded)
        })
    }

    /// Keep a session's minutes (already checked and stored in the file store and `files`); a
    /// new upload replaces the reference, the audit log keeps both.
    pub async fn attach_session_minutes(
        &self,
        actor: Option<i64>,
        id: i64,
        sha256: &str,
        name: &str,
        mime: &str,
    ) -> Result<()> {
        let s = self.activity_session(id).await?.ok_or(StoreError::NotFound)?;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let t = now();
            sqlx::query(
                "UPDATE activity_sessions SET minutes_sha256 = $2, minutes_name = $3, minutes_mime = $4, minutes_at = $5,
                    minutes_by = $6, updated_at = $5 WHERE id = $1")
                .bind(id).bind(sha256).bind(name).bind(mime).bind(t).bind(actor).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "session.minutes", "session", id, Some(s.unit_id),
                s.minutes_sha256.as_ref().map(|x| serde_json::json!({"sha256": x}).to_string()),
                Some(serde_json::json!({"sha256": sha256, "name": name, "mime": mime}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// The sessions of an enrollment's round held by its unit or a unit above it (at any time),
    /// each with whether the enrollment attended.
    pub async fn learner_sessions(&self, enrollment_id: i64) -> Result<Vec<LearnerSession>> {
        let Some(e) = self.enrollment(enrollment_id).await? else { return Ok(vec![]) };
        let sql = format!(
            "WITH RECURSIVE up(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT l.parent_id FROM unit_links l JOIN up ON l.unit_id = up.id
             )
             SELECT {SESSION_COLS}
             WHERE s.round_id = $1 AND s.unit_id IN (SELECT id FROM up) ORDER BY s.starts_on, s.id"
        );
        let sessions: Vec<ActivitySession> = on!(self, p => sqlx::query_as::<_, ActivitySession>(sqlx::AssertSqlSafe(sql))
            .bind(e.round_id).bind(e.unit_id).fetch_all(p).await)?;
        let attended: HashSet<i64> = on!(self, p => sqlx::query_scalar::<_, i64>(
            "SELECT session_id FROM session_attendance WHERE enrollment_id = $1")
            .bind(enrollment_id).fetch_all(p).await)?
        .into_iter()
        .collect();
        Ok(sessions.into_iter().map(|s| LearnerSession { attended: attended.contains(&s.id), session: s }).collect())
    }

    /// Attendance per session and per enrollment of a round, for dashboards: the sessions held by
    /// `under` or below it (or all), each with its expected learners and those present; and every
    /// enrollment concerned with its number of sessions and how many it attended.
    pub async fn attendance_counts(
        &self,
        round_id: i64,
        under: Option<i64>,
    ) -> Result<(Vec<SessionCount>, Vec<EnrollmentAttendance>)> {
        let sessions = self.sessions_of_round(round_id, under).await?;
        let rows: Vec<(i64, i64)> = on!(self, p => sqlx::query_as::<_, (i64, i64)>(
            "SELECT a.session_id, a.enrollment_id FROM session_attendance a JOIN activity_sessions s ON s.id = a.session_id
             WHERE s.round_id = $1")
            .bind(round_id).fetch_all(p).await)?;
        let mut present: HashMap<i64, HashSet<i64>> = HashMap::new();
        for (s, e) in rows {
            present.entry(s).or_default().insert(e);
        }
        let mut per_enrollment: HashMap<i64, EnrollmentAttendance> = HashMap::new();
        let mut counts = Vec::with_capacity(sessions.len());
        for s in &sessions {
            let learners = self.session_learners(s).await?;
            let here = present.get(&s.id);
            let mut n = 0;
            for l in &learners {
                let a = per_enrollment
                    .entry(l.id)
                    .or_insert(EnrollmentAttendance { enrollment_id: l.id, ..Default::default() });
                a.sessions += 1;
                if here.is_some_and(|h| h.contains(&l.id)) {
                    a.attended += 1;
                    n += 1;
                }
            }
            counts.push(SessionCount {
                session_id: s.id,
                unit_id: s.unit_id,
                kind: s.kind.clone(),
                starts_on: s.starts_on.clone(),
                expected: learners.len() as i64,
                present: n,
            });
        }
        let mut per: Vec<EnrollmentAttendance> = per_enrollment.into_values().collect();
        per.sort_by_key(|a| a.enrollment_id);
        Ok((counts, per))
    }

    /// Core people of a round's module a unit might ask to facilitate: those working today in
    /// the subtree of the unit's parent (the cluster or commune around a school), by name.
    pub async fn facilitator_choices(&self, round_id: i64, unit_id: i64) -> Result<Vec<(i64, String)>> {
        let round = self.round(round_id).await?.ok_or(StoreError::NotFound)?;
        let today = bdtx_domain::dates::today();
        let root = self.ancestors(unit_id, today).await?.get(1).copied().unwrap_or(unit_id);
        let d = iso(today);
        Ok(on!(self, p => sqlx::query_as::<_, (i64, String, String)>(
            "WITH RECURSIVE down(id) AS (
                SELECT CAST($2 AS BIGINT)
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                  WHERE l.valid_from <= $3 AND (l.valid_to IS NULL OR l.valid_to > $3)
             )
             SELECT DISTINCT p.id, p.full_name, p.sort_key FROM core_status c JOIN people p ON p.id = c.person_id
             JOIN person_units pu ON pu.person_id = p.id AND pu.valid_from <= $3 AND (pu.valid_to IS NULL OR pu.valid_to > $3)
             WHERE c.module_code = $1 AND p.status = 'active' AND pu.unit_id IN (SELECT id FROM down)
             ORDER BY p.sort_key LIMIT 300")
            .bind(&round.module_code).bind(root).bind(&d).fetch_all(p).await)?
            .into_iter()
            .map(|(id, name, _): (i64, String, String)| (id, name))
            .collect())
    }
}
