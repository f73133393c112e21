//! Requests a school files to the level above (the commune office, or the Sở for schools
//! directly under the province): corrections of someone's information or support they need
//! (Mẫu số 3), and additions of people missing from the lists (Mẫu số 4). Each has a deadline
//! and a status; resolving an addition adds the person.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use bdtx_domain::dates::{iso, today};
use bdtx_domain::people::PersonFields;

use crate::{BeginWrite, Db, Result, StoreError, now, on};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Mẫu số 3: correct information or give support.
    Correction,
    /// Mẫu số 4: add a person to the lists.
    Addition,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Correction => "correction",
            RequestKind::Addition => "addition",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [RequestKind::Correction, RequestKind::Addition].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Request {
    pub id: i64,
    pub kind: String,
    pub from_unit_id: i64,
    pub from_unit: String,
    pub to_unit_id: i64,
    pub to_unit: String,
    pub person_id: Option<i64>,
    /// The person concerned: their name, or for an addition the proposed record (JSON).
    pub data: String,
    /// What to correct, or the support needed.
    pub note: String,
    pub deadline: Option<String>,
    /// open, resolved, rejected
    pub status: String,
    pub resolution: Option<String>,
    pub created_at: i64,
}

impl Request {
    /// Open past its deadline.
    pub fn late(&self) -> bool {
        self.status == "open" && self.deadline.as_deref().is_some_and(|d| d < iso(today()).as_str())
    }
    /// The proposed person of an addition.
    pub fn proposed(&self) -> Option<PersonFields> {
        serde_json::from_str::<ProposedPerson>(&self.data).ok().map(|p| p.0)
    }
}

/// The proposed person of an addition, stored as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProposedPerson(#[serde(with = "fields_json")] PersonFields);

mod fields_json {
    use bdtx_domain::people::{PersonDraft, PersonFields, validate};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &PersonFields, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(f, s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PersonFields, D::Error> {
        #[derive(Deserialize)]
        struct Stored {
            full_name: String,
            birth_date: Option<String>,
            gender: Option<String>,
            national_id: Option<String>,
            phone: Option<String>,
            email: Option<String>,
            position: String,
            levels: Vec<String>,
            main_subject: Option<String>,
        }
        let s = Stored::deserialize(d)?;
        let draft = PersonDraft {
            full_name: Some(s.full_name),
            birth_date: s.birth_date,
            gender: s.gender,
            national_id: s.national_id,
            phone: s.phone,
            email: s.email,
            position: Some(s.position),
            levels: Some(s.levels.join(",")),
            main_subject: s.main_subject,
            other_subjects: None,
        };
        validate(&draft, None).map_err(serde::de::Error::custom)
    }
}

/// A request already answered: it stays as it was, and the message says how it was answered.
fn answered(status: &str) -> bdtx_domain::Invalid {
    bdtx_domain::Invalid::one("request", if status == "rejected" { "already_rejected" } else { "already_resolved" })
}

/// The proposed person of an addition is already on record (by national ID, else by name, birth
/// date and contact): an addition is the wrong form, a correction (Mẫu số 3) the right one.
pub fn already_on_record(f: &PersonFields) -> bdtx_domain::Invalid {
    bdtx_domain::Invalid::one(if f.national_id.is_some() { "national_id" } else { "identity" }, "already_on_record")
}

const COLS: &str =
    "r.id, r.kind, r.from_unit_id, fu.name AS from_unit, r.to_unit_id, tu.name AS to_unit, r.person_id, r.data, r.note,
    r.deadline, r.status, r.resolution, r.created_at";

impl Db {
    /// The level a school reports to: its nearest commune office, else its province.
    pub async fn level_above(&self, unit_id: i64) -> Result<Option<i64>> {
        for id in self.ancestors(unit_id, today()).await?.into_iter().skip(1) {
            let Some(u) = self.unit(id).await? else { continue };
            if u.kind == "commune" || u.kind == "province" {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The person on record (not merged away) with this identity key, if any.
    pub async fn person_on_record(&self, identity_key: &str) -> Result<Option<i64>> {
        Ok(on!(self, p => sqlx::query_scalar::<_, i64>(
            "SELECT id FROM people WHERE identity_key = $1 AND status <> 'merged' ORDER BY id LIMIT 1")
            .bind(identity_key).fetch_optional(p).await)?)
    }

    /// File a request from a school. For a correction, `person_id` names who; for an addition,
    /// `proposed` is the person to add.
    #[allow(clippy::too_many_arguments)]
    pub async fn file_request(
        &self,
        actor: Option<i64>,
        kind: RequestKind,
        from_unit: i64,
        person_id: Option<i64>,
        proposed: Option<&PersonFields>,
        note: &str,
        deadline: Option<NaiveDate>,
    ) -> Result<i64> {
        let note = bdtx_domain::text::clean(note);
        let mut c = bdtx_domain::error::Checker::default();
        match kind {
            RequestKind::Correction if person_id.is_none() => c.add("person", "required"),
            RequestKind::Addition if proposed.is_none() => c.add("full_name", "required"),
            _ => {}
        }
        if kind == RequestKind::Correction && note.is_empty() {
            c.add("note", "required");
        }
        if note.chars().count() > 2000 {
            c.add("note", "too_long");
        }
        if deadline.is_some_and(|d| d < today()) {
            c.add("deadline", "before_today");
        }
        c.finish()?;
        // An addition of someone already on record cannot be accepted: refuse it now (the caller
        // may say where the record is, when the filer may see it; see `person_on_record`).
        if let (RequestKind::Addition, Some(f)) = (kind, proposed)
            && self.person_on_record(&f.identity_key()).await?.is_some()
        {
            return Err(already_on_record(f).into());
        }
        let to = self
            .level_above(from_unit)
            .await?
            .ok_or(StoreError::Invalid(bdtx_domain::Invalid::one("unit", "not_allowed")))?;
        let data = match (kind, proposed) {
            (RequestKind::Addition, Some(f)) => serde_json::to_string(f).unwrap_or_default(),
            _ => match person_id {
                Some(p) => {
                    serde_json::json!({"full_name": self.person(p).await?.ok_or(StoreError::NotFound)?.full_name})
                        .to_string()
                }
                None => "{}".into(),
            },
        };
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO requests (kind, from_unit_id, to_unit_id, person_id, data, note, deadline, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
                .bind(kind.as_str()).bind(from_unit).bind(to).bind(person_id).bind(&data).bind(&note)
                .bind(deadline.map(iso)).bind(actor).bind(now()).fetch_one(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "request.file", "request", id, Some(from_unit), None::<String>, Some(data.clone()));
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn request(&self, id: i64) -> Result<Option<Request>> {
        let sql = format!(
            "SELECT {COLS} FROM requests r JOIN units fu ON fu.id = r.from_unit_id JOIN units tu ON tu.id = r.to_unit_id WHERE r.id = $1"
        );
        Ok(on!(self, p => sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// Requests filed from or addressed to units of `within`'s subtree (all when `None`),
    /// of one kind, open ones first, newest first.
    pub async fn requests(&self, within: Option<i64>, kind: RequestKind) -> Result<Vec<Request>> {
        let d = iso(today());
        let sql = format!(
            "WITH RECURSIVE down(id) AS (
                SELECT id FROM units WHERE ($1 = 0 AND NOT EXISTS (SELECT 1 FROM unit_links l WHERE l.unit_id = units.id)) OR id = $1
                UNION SELECT l.unit_id FROM unit_links l JOIN down ON l.parent_id = down.id
                WHERE l.valid_from <= $2 AND (l.valid_to IS NULL OR l.valid_to > $2)
             )
             SELECT {COLS} FROM requests r JOIN units fu ON fu.id = r.from_unit_id JOIN units tu ON tu.id = r.to_unit_id
             WHERE r.kind = $3 AND (r.from_unit_id IN (SELECT id FROM down) OR r.to_unit_id IN (SELECT id FROM down))
             ORDER BY r.status = 'open' DESC, r.id DESC LIMIT 1000"
        );
        Ok(on!(self, p => sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(sql))
            .bind(within.unwrap_or(0)).bind(&d).bind(kind.as_str()).fetch_all(p).await)?)
    }

    /// Resolve (accept) or reject an open request; accepting an addition adds the person at the
    /// school that asked, in the same transaction. Returns the added person's id, if any.
    pub async fn resolve_request(
        &self,
        actor: Option<i64>,
        id: i64,
        accept: bool,
        resolution: &str,
    ) -> Result<Option<i64>> {
        let r = self.request(id).await?.ok_or(StoreError::NotFound)?;
        if r.status != "open" {
            return Err(answered(&r.status).into());
        }
        let resolution = bdtx_domain::text::clean(resolution);
        if resolution.chars().count() > 2000 {
            return Err(bdtx_domain::Invalid::one("resolution", "too_long").into());
        }
        if !accept && resolution.is_empty() {
            return Err(bdtx_domain::Invalid::one("reason", "required_to_reject").into());
        }
        let added = if accept && r.kind == "addition" {
            let f = r.proposed().ok_or(StoreError::Other("stored addition is not a valid person".into()))?;
            // Added since it was filed (by an import, another request): say so rather than 409.
            if self.person_on_record(&f.identity_key()).await?.is_some() {
                return Err(already_on_record(&f).into());
            }
            Some(self.create_person(actor, &f, r.from_unit_id, today()).await?)
        } else {
            None
        };
        if let Some(p) = added {
            self.ensure_account(p).await?;
        }
        let status = if accept { "resolved" } else { "rejected" };
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE requests SET status = $2, resolution = $3, resolved_by = $4, resolved_at = $5 WHERE id = $1 AND status = 'open'")
                .bind(id).bind(status).bind(&resolution).bind(actor).bind(now()).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                let current: String = sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
                    .bind(id).fetch_one(&mut *tx).await?;
                return Err(answered(&current).into());
            }
            crate::audit_insert!(tx, actor, &format!("request.{status}"), "request", id, Some(r.to_unit_id), None::<String>, Some(resolution.clone()));
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(added)
    }
}
