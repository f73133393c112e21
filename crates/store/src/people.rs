//! People (one record per real person), their dated history of units and their core status.

use chrono::NaiveDate;
use serde::Serialize;

use bdtx_domain::dates::{iso, today};
use bdtx_domain::people::{PersonFields, Position};
use bdtx_domain::text::{fold, like_escape, name_sort_key};

use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Person {
    pub id: i64,
    pub full_name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub position: String,
    pub levels: String,
    pub main_subject: Option<String>,
    pub other_subjects: String,
    pub status: String,
    pub merged_into: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Person {
    /// Back to validated domain fields (the stored values were validated on the way in).
    pub fn fields(&self) -> PersonFields {
        PersonFields {
            full_name: self.full_name.clone(),
            birth_date: self.birth_date.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            gender: self.gender.clone(),
            national_id: self.national_id.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            position: Position::parse(&self.position).unwrap_or(Position::Teacher),
            levels: bdtx_domain::org::parse_levels(&self.levels).unwrap_or_default(),
            main_subject: self.main_subject.clone(),
            other_subjects: self.other_subjects.split(';').filter(|s| !s.is_empty()).map(String::from).collect(),
        }
    }
}

/// A row of a people list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PersonRow {
    pub id: i64,
    pub full_name: String,
    pub birth_date: Option<String>,
    pub position: String,
    pub main_subject: Option<String>,
    pub unit_id: i64,
    pub unit_name: String,
}

/// A stay of a person at a unit.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Stay {
    pub unit_id: i64,
    pub unit_name: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CoreStatus {
    pub module_code: String,
    pub subject: String,
    pub since: String,
}

#[derive(Debug, Clone, Default)]
pub struct PeopleQuery {
    /// Free text: a name (accent-insensitive, any part), a national ID, a phone or an e-mail.
    pub q: String,
    /// Only people currently in this unit's subtree; `None` = everyone.
    pub within: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

const PERSON_COLS: &str = "id, full_name, birth_date, gender, national_id, phone, email, position, levels, main_subject, other_subjects, status, merged_into, created_at, updated_at";

fn fields_json(f: &PersonFields) -> String {
    serde_json::to_string(f).unwrap_or_default()
}

impl Db {
    /// Create a person working at `unit_id` from `from`. A second record for the same real
    /// person (same national ID, or same name + birth date + contact) is a conflict.
    pub async fn create_person(
        &self,
        actor: Option<i64>,
        f: &PersonFields,
        unit_id: i64,
        from: NaiveDate,
    ) -> Result<i64> {
        // (a new person's start may predate the unit's record: staff of a unit re-created by a
        // restructuring keep their start; only a closed unit is refused)
        self.unit_open_on(unit_id, &iso(from), false).await?;
        let t = now();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO people (full_name, name_folded, sort_key, birth_date, gender, national_id, phone, email, position,
                    levels, main_subject, other_subjects, identity_key, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id")
                .bind(&f.full_name).bind(fold(&f.full_name)).bind(name_sort_key(&f.full_name))
                .bind(f.birth_date.map(iso)).bind(&f.gender).bind(&f.national_id).bind(&f.phone).bind(&f.email)
                .bind(f.position.as_str()).bind(f.levels_string()).bind(&f.main_subject).bind(f.other_subjects.join(";"))
                .bind(f.identity_key()).bind(t)
                .fetch_one(&mut *tx).await.map_err(|e| conflict(e, "identity"))?;
            sqlx::query("INSERT INTO person_units (person_id, unit_id, valid_from) VALUES ($1, $2, $3)")
                .bind(id).bind(unit_id).bind(iso(from)).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "person.create", "person", id, Some(unit_id), None::<String>, Some(fields_json(f)));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn person(&self, id: i64) -> Result<Option<Person>> {
        let sql = format!("SELECT {PERSON_COLS} FROM people WHERE id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// Replace a person's fields (already validated and authorized), keeping an audit entry
    /// with the before and after values, filed under the person's current unit.
    pub async fn update_person(&self, actor: Option<i64>, id: i64, f: &PersonFields) -> Result<()> {
        let before = self.person(id).await?.ok_or(StoreError::NotFound)?;
        if before.status != "active" {
            return Err(bdtx_domain::Invalid::one("person", "not_active").into());
        }
        let unit = self.stays(id).await?.into_iter().find(|s| s.valid_to.is_none()).map(|s| s.unit_id);
        let before_json = fields_json(&before.fields());
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query(
                "UPDATE people SET full_name = $2, name_folded = $3, sort_key = $4, birth_date = $5, gender = $6, national_id = $7,
                    phone = $8, email = $9, position = $10, levels = $11, main_subject = $12, other_subjects = $13,
                    identity_key = $14, updated_at = $15 WHERE id = $1")
                .bind(id).bind(&f.full_name).bind(fold(&f.full_name)).bind(name_sort_key(&f.full_name))
                .bind(f.birth_date.map(iso)).bind(&f.gender).bind(&f.national_id).bind(&f.phone).bind(&f.email)
                .bind(f.position.as_str()).bind(f.levels_string()).bind(&f.main_subject).bind(f.other_subjects.join(";"))
                .bind(f.identity_key()).bind(now())
                .execute(&mut *tx).await.map_err(|e| conflict(e, "identity"))?;
            crate::audit_insert!(tx, actor, "person.update", "person", id, unit, Some(before_json.clone()), Some(fields_json(f)));
            tx.commit().await?;
            Ok(())
        })
    }

    /// The person's units over time, newest first.
    pub async fn stays(&self, person_id: i64) -> Result<Vec<Stay>> {
        Ok(on!(self, p => sqlx::query_as::<_, Stay>(
            "SELECT pu.unit_id, u.name AS unit_name, pu.valid_from, pu.valid_to FROM person_units pu JOIN units u ON u.id = pu.unit_id
             WHERE pu.person_id = $1 ORDER BY pu.valid_from DESC, pu.id DESC")
            .bind(person_id).fetch_all(p).await)?)
    }

    /// Units (with all their ancestors) that place this person in the tree: the current ones,
    /// or the last one for someone who has left. Authorization decides on this chain.
    pub async fn person_chain(&self, person_id: i64) -> Result<Vec<i64>> {
        // A record merged into another is placed where the kept record is.
        let mut person_id = person_id;
        for _ in 0..10 {
            match self.person(person_id).await?.and_then(|p| p.merged_into) {
                Some(kept) => person_id = kept,
                None => break,
            }
        }
        let stays = self.stays(person_id).await?;
        let today = iso(today());
        // Where they work today; else where they last worked; else where they will start.
        let current: Vec<i64> = stays
            .iter()
            .filter(|s| s.valid_from <= today && s.valid_to.as_ref().is_none_or(|t| *t > today))
            .map(|s| s.unit_id)
            .collect();
        let picks = if !current.is_empty() {
            current
        } else {
            stays.iter().find(|s| s.valid_from <= today).or(stays.last()).map(|s| vec![s.unit_id]).unwrap_or_default()
        };
        let mut chain = Vec::new();
        for unit_id in picks {
            let Some(unit) = self.unit(unit_id).await? else {
                continue;
            };
            for id in self.unit_chain(&unit).await? {
                if !chain.contains(&id) {
                    chain.push(id);
                }
            }
        }
        Ok(chain)
    }

    /// The unit, when it takes people in on `d` (ISO): it exists, is not closed by then and,
    /// with `opened`, has opened by then; the message names the unit and its dates.
    async fn unit_open_on(&self, unit_id: i64, d: &str, opened: bool) -> Result<crate::units::Unit> {
        let Some(unit) = self.unit(unit_id).await? else {
            return Err(bdtx_domain::Invalid::one("unit", "not_found").into());
        };
        if unit.valid_to.as_deref().is_some_and(|t| t <= d) {
            let to = bdtx_domain::dates::show(unit.valid_to.as_deref().unwrap_or_default());
            let field = format!("{} – {} (ngừng hoạt động từ {to})", unit.code, unit.name);
            return Err(bdtx_domain::Invalid::one(&field, "closed_before_move").into());
        }
        if opened && unit.valid_from.as_str() > d {
            let from = bdtx_domain::dates::show(&unit.valid_from);
            let field = format!("{} – {} (hoạt động từ {from})", unit.code, unit.name);
            return Err(bdtx_domain::Invalid::one(&field, "not_open_at_move").into());
        }
        Ok(unit)
    }

    /// A person moves to another unit from `date` (their history keeps the old one).
    pub async fn move_person(&self, actor: Option<i64>, person_id: i64, unit_id: i64, date: NaiveDate) -> Result<()> {
        let stays = self.stays(person_id).await?;
        let d = iso(date);
        if stays.iter().any(|s| s.valid_to.is_none() && s.valid_from >= d) {
            return Err(bdtx_domain::Invalid::one("date", "overlap").into());
        }
        let unit = self.unit_open_on(unit_id, &d, true).await?;
        // Moving to where one already works would leave two open stays at the same unit.
        if stays.iter().any(|s| s.valid_to.is_none() && s.unit_id == unit_id) {
            let field = format!("{} – {}", unit.code, unit.name);
            return Err(bdtx_domain::Invalid::one(&field, "already_there").into());
        }
        let detail = serde_json::json!({"to_unit": unit_id, "date": d}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE person_units SET valid_to = $2 WHERE person_id = $1 AND valid_to IS NULL")
                .bind(person_id).bind(&d).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO person_units (person_id, unit_id, valid_from) VALUES ($1, $2, $3)")
                .bind(person_id).bind(unit_id).bind(&d).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "person.move", "person", person_id, Some(unit_id), None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// A person retires (or leaves) on `date`: their stay closes that day and the record is marked
    /// retired; history, account and everything attached stay.
    pub async fn retire_person(&self, actor: Option<i64>, person_id: i64, date: NaiveDate) -> Result<()> {
        let p = self.person(person_id).await?.ok_or(StoreError::NotFound)?;
        if p.status != "active" {
            return Err(bdtx_domain::Invalid::one("person", "not_active").into());
        }
        // The record is marked retired when it is written, so a retirement is recorded on or after
        // its date, never ahead of it (until then the person still works and is listed).
        if date > today() {
            return Err(bdtx_domain::Invalid::one("date", "retire_future").into());
        }
        let d = iso(date);
        let stays = self.stays(person_id).await?;
        if stays.iter().any(|s| s.valid_to.is_none() && s.valid_from >= d) {
            return Err(bdtx_domain::Invalid::one("date", "overlap").into());
        }
        let unit = stays.iter().find(|s| s.valid_to.is_none()).map(|s| s.unit_id);
        let detail = serde_json::json!({"retired_on": d}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE person_units SET valid_to = $2 WHERE person_id = $1 AND valid_to IS NULL")
                .bind(person_id).bind(&d).execute(&mut *tx).await?;
            sqlx::query("UPDATE people SET status = 'retired', updated_at = $2 WHERE id = $1").bind(person_id).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "person.retire", "person", person_id, unit, None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Search people, sorted the Vietnamese way (given name, middle, family).
    pub async fn search_people(&self, q: &PeopleQuery) -> Result<Vec<PersonRow>> {
        let text = q.q.trim();
        let pat = format!("%{}%", like_escape(&fold(text)));
        let exact = text.to_lowercase();
        let exact_phone = bdtx_domain::people::normalize_phone(text).unwrap_or_default();
        // People where they work today (a move dated in the future has not happened yet).
        let select =
            "SELECT p.id, p.full_name, p.birth_date, p.position, p.main_subject, u.id AS unit_id, u.name AS unit_name
             FROM people p JOIN person_units pu ON pu.person_id = p.id
                AND pu.valid_from <= $4 AND (pu.valid_to IS NULL OR pu.valid_to > $4)
             JOIN units u ON u.id = pu.unit_id
             WHERE p.status = 'active'
               AND (p.name_folded LIKE $1 ESCAPE '\\' OR p.national_id = $2 OR p.email = $2 OR p.phone = $3)";
        let today = iso(today());
        let rows = match q.within {
            None => {
                let sql = format!("{select} ORDER BY p.sort_key, p.id LIMIT $5 OFFSET $6");
                on!(self, p => sqlx::query_as::<_, PersonRow>(sqlx::AssertSqlSafe(sql))
                    .bind(&pat).bind(&exact).bind(&exact_phone).bind(&today).bind(q.limit).bind(q.offset)
                    .fetch_all(p).await)?
            }
            Some(root) => {
                let sql = format!(
                    "WITH RECURSIVE down(id) AS (
                        SELECT CAST($7 AS BIGINT)
                        UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                        WHERE l.valid_from <= $4 AND (l.valid_to IS NULL OR l.valid_to > $4)
                     ) {select} AND pu.unit_id IN (SELECT id FROM down) ORDER BY p.sort_key, p.id LIMIT $5 OFFSET $6"
                );
                on!(self, p => sqlx::query_as::<_, PersonRow>(sqlx::AssertSqlSafe(sql))
                    .bind(&pat).bind(&exact).bind(&exact_phone).bind(&today).bind(q.limit).bind(q.offset).bind(root)
                    .fetch_all(p).await)?
            }
        };
        Ok(rows)
    }

    pub async fn core_status(&self, person_id: i64) -> Result<Vec<CoreStatus>> {
        Ok(on!(self, p => sqlx::query_as::<_, CoreStatus>(
            "SELECT module_code, subject, since FROM core_status WHERE person_id = $1 ORDER BY module_code, subject")
            .bind(person_id).fetch_all(p).await)?)
    }

    /// Mark a person core (cốt cán) for a module and subject from `since`.
    pub async fn add_core_status(
        &self,
        actor: Option<i64>,
        person_id: i64,
        module_code: &str,
        subject: &str,
        since: NaiveDate,
    ) -> Result<()> {
        if self.module(module_code).await?.is_none() {
            return Err(bdtx_domain::Invalid::one("module_code", "not_found").into());
        }
        let unit = self.stays(person_id).await?.into_iter().find(|s| s.valid_to.is_none()).map(|s| s.unit_id);
        let detail = serde_json::json!({"module": module_code, "subject": subject, "since": iso(since)}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO core_status (person_id, module_code, subject, since) VALUES ($1, $2, $3, $4)")
                .bind(person_id).bind(module_code).bind(subject).bind(iso(since))
                .execute(&mut *tx).await.map_err(|e| conflict(e, "core_status"))?;
            crate::audit_insert!(tx, actor, "person.core", "person", person_id, unit, None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn count_people(&self) -> Result<i64> {
        Ok(
            on!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE status = 'active'").fetch_one(p).await)?,
        )
    }
}
