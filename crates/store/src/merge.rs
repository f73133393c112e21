//! Duplicate people: candidates (same phone, same e-mail, same name and birth date; each flagged
//! when it has an account in use) and the merge that keeps one record. A merge moves, never
//! deletes: the others' history, core status, roles and account move to the kept person. One
//! account a person: when the kept person already has one, the others' stay, disabled, with the
//! closed records — except that an account in use (activated, not disabled) replaces a kept one
//! that is not, which then goes disabled to the closed record, so the person keeps their login.
//! The kept person ends with one open stay a unit (the earliest; a later twin stays, closed, with
//! the closed record). The kept record's empty fields are filled from the others (a national ID
//! moves: the closed record loses it). The others are closed as `merged` pointing at the kept
//! record; the audit entry lists every moved row and filled field so the merge can be explained.
//!
//! INVARIANT: every table that refers to a person must be handled in `merge_people`.

use serde::Serialize;

use bdtx_domain::dates::{iso, today};

use crate::{BeginWrite, Db, Result, StoreError, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Candidate {
    pub id: i64,
    pub full_name: String,
    pub birth_date: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub unit_name: Option<String>,
    /// The record has an account that can log in (activated, not disabled): the one a merge
    /// keeps for the person when the kept record's own account was never activated.
    pub account_active: bool,
}

/// A group of records that may be one person, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateGroup {
    /// phone, email or name_birth
    pub reason: String,
    pub people: Vec<Candidate>,
}

/// An account that gives way to another in a merge: its roles the other lacks move to the other,
/// it is disabled and its sessions end. Evaluates to the ids of the roles moved.
macro_rules! hand_over_account {
    ($tx:expr, $from:expr, $to:expr) => {{
        let grants: Vec<i64> = sqlx::query_scalar(
            "SELECT g.id FROM role_grants g WHERE g.account_id = $1 AND NOT EXISTS
               (SELECT 1 FROM role_grants x WHERE x.account_id = $2 AND x.role = g.role AND x.unit_id = g.unit_id)",
        )
        .bind($from)
        .bind($to)
        .fetch_all(&mut *$tx)
        .await?;
        for g in &grants {
            sqlx::query("UPDATE role_grants SET account_id = $2 WHERE id = $1")
                .bind(g)
                .bind($to)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query("UPDATE accounts SET disabled = TRUE WHERE id = $1").bind($from).execute(&mut *$tx).await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind($from).execute(&mut *$tx).await?;
        grants
    }};
}

impl Db {
    /// Candidate duplicates among active people working today in `within`'s subtree (all when
    /// `None`), at most `limit` groups.
    pub async fn duplicate_candidates(&self, within: Option<i64>, limit: i64) -> Result<Vec<DuplicateGroup>> {
        let d = iso(today());
        let mut groups = Vec::new();
        for (reason, key) in
            [("phone", "p.phone"), ("email", "p.email"), ("name_birth", "p.name_folded || '|' || p.birth_date")]
        {
            let sql = format!(
                "WITH RECURSIVE down(id) AS (
                    SELECT id FROM units WHERE ($2 = 0 AND NOT EXISTS (SELECT 1 FROM unit_links l WHERE l.unit_id = units.id)) OR id = $2
                    UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                    WHERE l.valid_from <= $1 AND (l.valid_to IS NULL OR l.valid_to > $1)
                 ), scoped AS (
                    SELECT p.id, {key} AS k FROM people p
                    JOIN person_units pu ON pu.person_id = p.id AND pu.valid_from <= $1 AND (pu.valid_to IS NULL OR pu.valid_to > $1)
                    WHERE p.status = 'active' AND pu.unit_id IN (SELECT id FROM down) AND {key} IS NOT NULL
                 ), dup AS (
                    SELECT k FROM scoped GROUP BY k HAVING COUNT(DISTINCT id) > 1 ORDER BY k LIMIT $3
                 )
                 SELECT s.k, p.id, p.full_name, p.birth_date, p.national_id, p.phone, p.email,
                        (SELECT MIN(u.name) FROM person_units pu JOIN units u ON u.id = pu.unit_id
                          WHERE pu.person_id = p.id AND pu.valid_to IS NULL) AS unit_name,
                        EXISTS (SELECT 1 FROM accounts a WHERE a.person_id = p.id AND a.password_hash IS NOT NULL
                                AND NOT a.disabled) AS account_active
                 FROM scoped s JOIN dup ON dup.k = s.k JOIN people p ON p.id = s.id
                 ORDER BY s.k, p.id"
            );
            #[derive(sqlx::FromRow)]
            struct Row {
                k: String,
                #[sqlx(flatten)]
                c: Candidate,
            }
            let rows: Vec<Row> = on!(self, p => sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql))
                .bind(&d).bind(within.unwrap_or(0)).bind(limit).fetch_all(p).await)?;
            let mut current: Option<(String, DuplicateGroup)> = None;
            for r in rows {
                match &mut current {
                    Some((k, g)) if *k == r.k => {
                        if !g.people.iter().any(|p| p.id == r.c.id) {
                            g.people.push(r.c)
                        }
                    }
                    _ => {
                        if let Some((_, g)) = current.take() {
                            groups.push(g);
                        }
                        current = Some((r.k, DuplicateGroup { reason: reason.into(), people: vec![r.c] }));
                    }
                }
            }
            if let Some((_, g)) = current {
                groups.push(g);
            }
        }
        Ok(groups)
    }

    /// Merge `others` into `keep`. Everything attached to the others moves to `keep`; the others
    /// are closed (status `merged`, `merged_into = keep`), never deleted.
    pub async fn merge_people(&self, actor: Option<i64>, keep: i64, others: &[i64]) -> Result<()> {
        let mut c = bdtx_domain::error::Checker::default();
        if others.is_empty() {
            c.add("others", "required");
        }
        if others.contains(&keep) {
            c.add("others", "cycle");
        }
        let mut seen = std::collections::HashSet::new();
        for o in others {
            if !seen.insert(*o) {
                c.add("others", "duplicate");
            }
        }
        c.finish()?;
        let mut people = Vec::with_capacity(others.len() + 1);
        for id in std::iter::once(&keep).chain(others) {
            let p = self.person(*id).await?.ok_or(StoreError::NotFound)?;
            if p.status != "active" {
                return Err(bdtx_domain::Invalid::one("person", "not_active").into());
            }
            people.push(p);
        }
        // The kept record's empty fields are filled from the others, in the order given.
        let kept_before = people[0].fields();
        let (fields, filled, national_id_from) = fill_fields(&people[0], &people[1..]);
        let keep_account = self.account_of_person(keep).await?;
        let unit = self.stays(keep).await?.into_iter().find(|s| s.valid_to.is_none()).map(|s| s.unit_id);
        let t = now();
        let today_iso = iso(today());
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let mut moved = serde_json::Map::new();
            // The kept person's account as the merge goes: its id and whether it can log in.
            let mut kept_account: Option<(i64, bool)> = keep_account.as_ref().map(|a| (a.id, a.activated() && !a.disabled));
            for o in others {
                // Stays move, except that the kept person ends with one open stay at a unit: of two
                // open stays at the same unit the earlier-started one is the kept person's; the
                // other stays with (or goes to) the closed record, closed today, as history.
                let open_kept: Vec<(i64, i64, String)> = sqlx::query_as(
                    "SELECT id, unit_id, valid_from FROM person_units WHERE person_id = $1 AND valid_to IS NULL")
                    .bind(keep).fetch_all(&mut *tx).await?;
                let theirs: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
                    "SELECT id, unit_id, valid_from, valid_to FROM person_units WHERE person_id = $1 ORDER BY id")
                    .bind(o).fetch_all(&mut *tx).await?;
                let mut stays = Vec::new();
                let mut stays_left = Vec::new();
                for (id, unit_id, from, to) in &theirs {
                    let twin = if to.is_none() { open_kept.iter().find(|k| k.1 == *unit_id) } else { None };
                    let (to_keep, to_close) = match twin {
                        None => (Some(*id), None),
                        Some(k) if *from < k.2 => (Some(*id), Some((k.0, k.2.clone()))),
                        Some(_) => (None, Some((*id, from.clone()))),
                    };
                    if let Some(id) = to_keep {
                        sqlx::query("UPDATE person_units SET person_id = $2 WHERE id = $1").bind(id).bind(keep).execute(&mut *tx).await?;
                        stays.push(id);
                    }
                    if let Some((id, from)) = to_close {
                        let end = if from > today_iso { from } else { today_iso.clone() };
                        sqlx::query("UPDATE person_units SET person_id = $2, valid_to = $3 WHERE id = $1")
                            .bind(id).bind(o).bind(&end).execute(&mut *tx).await?;
                        stays_left.push(serde_json::json!({"stay": id, "closed_on": end}));
                    }
                }
                // Core status the kept person already has stays with the closed record (unique key).
                let cores: Vec<i64> = sqlx::query_scalar(
                    "SELECT c.id FROM core_status c WHERE c.person_id = $1 AND NOT EXISTS
                       (SELECT 1 FROM core_status k WHERE k.person_id = $2 AND k.module_code = c.module_code AND k.subject = c.subject)")
                    .bind(o).bind(keep).fetch_all(&mut *tx).await?;
                for cid in &cores {
                    sqlx::query("UPDATE core_status SET person_id = $2 WHERE id = $1").bind(cid).bind(keep).execute(&mut *tx).await?;
                }
                // Session attendance of an enrollment about to be closed as a duplicate moves to
                // the kept person's enrollment of the same round and subject (unless already there).
                sqlx::query(
                    "UPDATE session_attendance SET enrollment_id = (SELECT k.id FROM enrollments k JOIN enrollments m
                        ON k.round_id = m.round_id AND k.subject = m.subject
                        WHERE m.id = session_attendance.enrollment_id AND k.person_id = $2 AND k.status <> 'merged')
                     WHERE enrollment_id IN (SELECT m.id FROM enrollments m WHERE m.person_id = $1 AND m.status <> 'merged'
                        AND EXISTS (SELECT 1 FROM enrollments k WHERE k.person_id = $2 AND k.round_id = m.round_id
                            AND k.subject = m.subject AND k.status <> 'merged'))
                       AND NOT EXISTS (SELECT 1 FROM session_attendance x JOIN enrollments k ON k.id = x.enrollment_id
                        JOIN enrollments m ON k.round_id = m.round_id AND k.subject = m.subject
                        WHERE x.session_id = session_attendance.session_id AND m.id = session_attendance.enrollment_id
                          AND k.person_id = $2 AND k.status <> 'merged')")
                    .bind(o).bind(keep).execute(&mut *tx).await?;
                // Enrollments move; one the kept person also has (same round and subject) is kept
                // as history with status 'merged'.
                let enrollments: Vec<i64> = sqlx::query_scalar("SELECT id FROM enrollments WHERE person_id = $1").bind(o).fetch_all(&mut *tx).await?;
                sqlx::query(
                    "UPDATE enrollments SET status = 'merged' WHERE person_id = $1 AND status <> 'merged' AND EXISTS
                       (SELECT 1 FROM enrollments k WHERE k.person_id = $2 AND k.round_id = enrollments.round_id AND k.subject = enrollments.subject AND k.status <> 'merged')")
                    .bind(o).bind(keep).execute(&mut *tx).await?;
                sqlx::query("UPDATE enrollments SET person_id = $2 WHERE person_id = $1").bind(o).bind(keep).execute(&mut *tx).await?;
                sqlx::query(
                    "UPDATE class_staff SET person_id = $2 WHERE person_id = $1 AND NOT EXISTS
                       (SELECT 1 FROM class_staff k WHERE k.person_id = $2 AND k.class_id = class_staff.class_id)")
                    .bind(o).bind(keep).execute(&mut *tx).await?;
                for sql in [
                    "UPDATE grades SET grader_person_id = $2 WHERE grader_person_id = $1",
                    "UPDATE threads SET author_person_id = $2 WHERE author_person_id = $1",
                    "UPDATE posts SET author_person_id = $2 WHERE author_person_id = $1",
                    "UPDATE notifications SET person_id = $2 WHERE person_id = $1",
                    "UPDATE signoffs SET by_person_id = $2 WHERE by_person_id = $1",
                    "UPDATE certificates SET holder_person_id = $2 WHERE holder_person_id = $1",
                    "UPDATE peer_plans SET person_id = $2 WHERE person_id = $1 AND NOT EXISTS (SELECT 1 FROM peer_plans k WHERE k.person_id = $2 AND k.round_id = peer_plans.round_id)",
                    // Yearly plans and standard assessments: one per person and year; a year the kept
                    // person already has stays with the closed record, as history.
                    "UPDATE year_plans SET person_id = $2 WHERE person_id = $1 AND NOT EXISTS (SELECT 1 FROM year_plans k WHERE k.person_id = $2 AND k.school_year = year_plans.school_year)",
                    "UPDATE standard_assessments SET person_id = $2 WHERE person_id = $1 AND NOT EXISTS (SELECT 1 FROM standard_assessments k WHERE k.person_id = $2 AND k.school_year = standard_assessments.school_year AND k.standard = standard_assessments.standard)",
                    "UPDATE standard_comments SET author_person_id = $2 WHERE author_person_id = $1",
                    "UPDATE activity_sessions SET facilitator_person_id = $2 WHERE facilitator_person_id = $1",
                ] {
                    sqlx::query(sql).bind(o).bind(keep).execute(&mut *tx).await?;
                }
                let account: Option<(i64, Option<String>, bool)> =
                    sqlx::query_as("SELECT id, password_hash, disabled FROM accounts WHERE person_id = $1")
                    .bind(o).fetch_optional(&mut *tx).await?;
                let mut account_note = serde_json::Value::Null;
                if let Some((a, hash, disabled)) = account {
                    let usable = hash.is_some() && !disabled;
                    match kept_account {
                        None => {
                            // The kept person had no account: this one becomes theirs.
                            sqlx::query("UPDATE accounts SET person_id = $2 WHERE id = $1").bind(a).bind(keep).execute(&mut *tx).await?;
                            account_note = serde_json::json!({"account": a, "moved": true});
                            kept_account = Some((a, usable));
                        }
                        Some((k, false)) if usable => {
                            // The kept record's account cannot log in (never activated, or
                            // disabled) and this one can: this one becomes the kept person's, with
                            // its password and sessions; the other one's roles move to it, and the
                            // other one, disabled, goes to the closed record (one account a person).
                            sqlx::query("UPDATE accounts SET person_id = NULL WHERE id = $1").bind(k).execute(&mut *tx).await?;
                            sqlx::query("UPDATE accounts SET person_id = $2 WHERE id = $1").bind(a).bind(keep).execute(&mut *tx).await?;
                            sqlx::query("UPDATE accounts SET person_id = $2 WHERE id = $1").bind(k).bind(o).execute(&mut *tx).await?;
                            let grants = hand_over_account!(tx, k, a);
                            account_note = serde_json::json!({"account": a, "moved": true, "replaced": k,
                                "replaced_disabled": true, "replaced_to": o, "roles_moved": grants});
                            kept_account = Some((a, true));
                        }
                        Some((k, _)) => {
                            // One account per person: roles move to the kept account, this one is disabled.
                            let grants = hand_over_account!(tx, a, k);
                            account_note = serde_json::json!({"account": a, "disabled": true, "roles_moved": grants});
                        }
                    }
                }
                sqlx::query("UPDATE people SET status = 'merged', merged_into = $2, updated_at = $3 WHERE id = $1")
                    .bind(o).bind(keep).bind(t).execute(&mut *tx).await?;
                if national_id_from == Some(*o) {
                    // A national ID is one person's: it moves to the kept record, off the closed one.
                    let closed = people.iter().find(|p| p.id == *o).map(|p| {
                        let mut f = p.fields();
                        f.national_id = None;
                        f.identity_key()
                    });
                    sqlx::query("UPDATE people SET national_id = NULL, identity_key = $2 WHERE id = $1")
                        .bind(o).bind(closed).execute(&mut *tx).await?;
                }
                moved.insert(o.to_string(), serde_json::json!({"stays": stays, "stays_left": stays_left,
                    "core_status": cores, "enrollments": enrollments, "account": account_note}));
            }
            if !filled.is_empty() {
                let f = &fields;
                sqlx::query(
                    "UPDATE people SET birth_date = $2, gender = $3, national_id = $4, phone = $5, email = $6, levels = $7,
                        main_subject = $8, other_subjects = $9, identity_key = $10, updated_at = $11 WHERE id = $1")
                    .bind(keep).bind(f.birth_date.map(iso)).bind(&f.gender).bind(&f.national_id).bind(&f.phone).bind(&f.email)
                    .bind(f.levels_string()).bind(&f.main_subject).bind(f.other_subjects.join(";"))
                    .bind(f.identity_key()).bind(t)
                    .execute(&mut *tx).await.map_err(|e| crate::conflict(e, "identity"))?;
            }
            let recount: Vec<i64> = sqlx::query_scalar("SELECT id FROM enrollments WHERE person_id = $1").bind(keep).fetch_all(&mut *tx).await?;
            crate::retally!(tx, &recount);
            let national_id_moved = national_id_from
                .map(|from| serde_json::json!({"from": from, "national_id": fields.national_id}));
            let detail = serde_json::json!({"kept": keep, "merged": others, "moved": moved, "filled": filled,
                "national_id_moved": national_id_moved}).to_string();
            let before = (!filled.is_empty()).then(|| serde_json::to_string(&kept_before).unwrap_or_default());
            crate::audit_insert!(tx, actor, "person.merge", "person", keep, unit, before.clone(), Some(detail));
            tx.commit().await?;
            Ok(())
        })
    }
}

/// The kept record's fields with its empty ones (birth date, gender, national ID, phone, e-mail,
/// levels, subjects) taken from the first of the others that has them; what was filled from
/// whom; and which record the national ID came from (it moves: the closed record loses it).
fn fill_fields(
    kept: &crate::people::Person,
    others: &[crate::people::Person],
) -> (bdtx_domain::people::PersonFields, serde_json::Map<String, serde_json::Value>, Option<i64>) {
    let mut f = kept.fields();
    let mut filled = serde_json::Map::new();
    let mut national_id_from = None;
    for o in others {
        let of = o.fields();
        let mut note = |field: &str, value: serde_json::Value| {
            filled.insert(field.into(), serde_json::json!({"from": o.id, "value": value}));
        };
        if f.birth_date.is_none() && of.birth_date.is_some() {
            f.birth_date = of.birth_date;
            note("birth_date", serde_json::json!(of.birth_date.map(iso)));
        }
        for (field, mine, theirs) in [
            ("gender", &mut f.gender, &of.gender),
            ("national_id", &mut f.national_id, &of.national_id),
            ("phone", &mut f.phone, &of.phone),
            ("email", &mut f.email, &of.email),
            ("main_subject", &mut f.main_subject, &of.main_subject),
        ] {
            if mine.is_none() && theirs.is_some() {
                mine.clone_from(theirs);
                note(field, serde_json::json!(theirs));
                if field == "national_id" {
                    national_id_from = Some(o.id);
                }
            }
        }
        if f.levels.is_empty() && !of.levels.is_empty() {
            f.levels = of.levels.clone();
            note("levels", serde_json::json!(of.levels_string()));
        }
        if f.other_subjects.is_empty() && !of.other_subjects.is_empty() {
            f.other_subjects = of.other_subjects.clone();
            note("other_subjects", serde_json::json!(of.other_subjects.join(";")));
        }
    }
    (f, filled, national_id_from)
}
