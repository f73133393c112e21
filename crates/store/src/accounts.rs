//! Accounts (one per person), role grants, sessions, activation codes and login lockout.

use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use bdtx_domain::authz::{Grant, Principal, Role};

use crate::{BeginWrite, Db, Result, StoreError, conflict, now, on, password};

/// Failed logins before an account locks, and for how long.
pub const MAX_FAILED: i64 = 5;
pub const LOCK_SECONDS: i64 = 15 * 60;
pub const SESSION_SECONDS: i64 = 12 * 3600;
pub const ACTIVATION_SECONDS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub person_id: Option<i64>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
}

impl Account {
    pub fn activated(&self) -> bool {
        self.password_hash.is_some()
    }
}

/// Result of a login attempt. The caller shows one message for unknown user and wrong password.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok(i64),
    BadCredentials,
    Locked { until: i64 },
    NotActivated,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GrantRow {
    pub id: i64,
    pub role: String,
    pub unit_id: i64,
    pub unit_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub account_id: i64,
    pub csrf: String,
    pub expires_at: i64,
}

/// Random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill(&mut b[..]);
    hex::encode(b)
}

/// Activation codes are short enough to read over the phone: 10 characters without look-alikes.
fn activation_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

const ACCOUNT_COLS: &str =
    "id, username, person_id, password_hash, failed_logins, locked_until, disabled, created_at, last_login_at";
// Read on every new session of the learner's hot path, so also through SQLite's lane (crate::lane).
const ACCOUNT: &str =
    "SELECT id, username, person_id, password_hash, failed_logins, locked_until, disabled, created_at,
    last_login_at FROM accounts WHERE id = $1";
const SESSION: &str = "SELECT account_id, csrf, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2";
const GRANTS: &str = "SELECT role, unit_id FROM role_grants WHERE account_id = $1 ORDER BY id";
const COVERAGE: &str = "SELECT province_id FROM university_coverage WHERE university_id = $1";

impl Account {
    fn from_lane(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
        Ok(Account {
            id: r.get(0)?,
            username: r.get(1)?,
            person_id: r.get(2)?,
            password_hash: r.get(3)?,
            failed_logins: r.get(4)?,
            locked_until: r.get(5)?,
            disabled: r.get(6)?,
            created_at: r.get(7)?,
            last_login_at: r.get(8)?,
        })
    }
}

impl Db {
    /// Create an account; `password_hash` is `None` for an account waiting for activation.
    pub async fn create_account(
        &self,
        username: &str,
        person_id: Option<i64>,
        password_hash: Option<String>,
    ) -> Result<i64> {
        let username = username.trim().to_lowercase();
        if username.is_empty() || username.len() > 64 || username.chars().any(|c| c.is_whitespace()) {
            return Err(bdtx_domain::Invalid::one("username", "invalid").into());
        }
        let id = on!(self, p => sqlx::query_scalar(
            "INSERT INTO accounts (username, person_id, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(&username).bind(person_id).bind(&password_hash).bind(now())
            .fetch_one(p).await).map_err(|e| conflict(e, "username"))?;
        if let (Some(person), Some(_)) = (person_id, &password_hash) {
            self.retally_person(person).await?;
        }
        Ok(id)
    }

    /// The person's account, created waiting for activation if they have none: username = their
    /// national ID, or `p<id>` when they have none or it is already someone's username.
    pub async fn ensure_account(&self, person_id: i64) -> Result<Account> {
        if let Some(a) = self.account_of_person(person_id).await? {
            return Ok(a);
        }
        let person = self.person(person_id).await?.ok_or(StoreError::NotFound)?;
        let fallback = format!("p{person_id}");
        let username = match person.national_id {
            Some(n) if self.account_by_username(&n).await?.is_none() => n,
            _ => fallback,
        };
        let id = self.create_account(&username, Some(person_id), None).await?;
        self.account(id).await?.ok_or(StoreError::NotFound)
    }

    pub async fn account(&self, id: i64) -> Result<Option<Account>> {
        if let Some(lane) = self.lane() {
            return lane.read(|c| crate::lane::one(c, ACCOUNT, &[&id], Account::from_lane));
        }
        Ok(on!(self, p => sqlx::query_as::<_, Account>(ACCOUNT).bind(id).fetch_optional(p).await)?)
    }

    pub async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE username = $1");
        Ok(
            on!(self, p => sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql)).bind(username.trim().to_lowercase()).fetch_optional(p).await)?,
        )
    }

    pub async fn account_of_person(&self, person_id: i64) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE person_id = $1");
        Ok(
            on!(self, p => sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_optional(p).await)?,
        )
    }

    /// Check a password, counting failures: after [`MAX_FAILED`] the account locks for
    /// [`LOCK_SECONDS`], and even the right password is refused until then.
    pub async fn login(&self, username: &str, pw: &str) -> Result<LoginOutcome> {
        let Some(acc) = self.account_by_username(username).await? else {
            // Spend the same time as a real check so usernames cannot be probed by timing.
            let _ = password::verify_async(pw.to_string(), dummy_hash().to_string()).await;
            return Ok(LoginOutcome::BadCredentials);
        };
        let t = now();
        if let Some(until) = acc.locked_until.filter(|u| *u > t) {
            return Ok(LoginOutcome::Locked { until });
        }
        if acc.disabled {
            return Ok(LoginOutcome::BadCredentials);
        }
        let Some(hash) = acc.password_hash.clone() else {
            return Ok(LoginOutcome::NotActivated);
        };
        if password::verify_async(pw.to_string(), hash).await {
            on!(self, p => sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $2 WHERE id = $1")
                .bind(acc.id).bind(t).execute(p).await.map(|r| r.rows_affected()))?;
            Ok(LoginOutcome::Ok(acc.id))
        } else {
            let failed = acc.failed_logins + 1;
            let lock = (failed >= MAX_FAILED).then_some(t + LOCK_SECONDS);
            on!(self, p => sqlx::query("UPDATE accounts SET failed_logins = $2, locked_until = $3 WHERE id = $1")
                .bind(acc.id).bind(if lock.is_some() { 0 } else { failed }).bind(lock).execute(p).await.map(|r| r.rows_affected()))?;
            Ok(match lock {
                Some(until) => LoginOutcome::Locked { until },
                None => LoginOutcome::BadCredentials,
            })
        }
    }

    /// Issue a fresh activation code for an account (replacing any earlier one) and return it
    /// in clear once; only its hash is stored. No password is hashed here.
    pub async fn issue_activation(&self, actor: Option<i64>, account_id: i64, unit: Option<i64>) -> Result<String> {
        let code = activation_code();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE accounts SET activation_hash = $2, activation_expires = $3 WHERE id = $1")
                .bind(account_id).bind(sha256_hex(&code)).bind(now() + ACTIVATION_SECONDS)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            crate::audit_insert!(tx, actor, "account.activation_issued", "account", account_id, unit, None::<String>, None::<String>);
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(code)
    }

    /// Set the password with a valid activation code; the code is then spent.
    pub async fn activate(&self, username: &str, code: &str, new_password: &str) -> Result<bool> {
        let Some(acc) = self.account_by_username(username).await? else {
            return Ok(false);
        };
        let code = code.trim().to_uppercase();
        let ok: Option<i64> = on!(self, p => sqlx::query_scalar(
            "SELECT id FROM accounts WHERE id = $1 AND activation_hash = $2 AND activation_expires > $3")
            .bind(acc.id).bind(sha256_hex(&code)).bind(now()).fetch_optional(p).await)?;
        if ok.is_none() {
            return Ok(false);
        }
        let hash = password::hash_async(new_password.to_string()).await;
        on!(self, p => sqlx::query(
            "UPDATE accounts SET password_hash = $2, activation_hash = NULL, activation_expires = NULL, failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(acc.id).bind(&hash).execute(p).await.map(|r| r.rows_affected()))?;
        // The learner could only log in from today: open rounds give them their late-start days.
        if let Some(person) = acc.person_id {
            self.extend_late_start(person, bdtx_domain::dates::today()).await?;
            self.retally_person(person).await?;
        }
        Ok(true)
    }

    pub async fn set_password(&self, account_id: i64, new_password: &str) -> Result<()> {
        let hash = password::hash_async(new_password.to_string()).await;
        on!(self, p => sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1").bind(account_id).bind(&hash).execute(p).await.map(|r| r.rows_affected()))?;
        if let Some(person) = self.account(account_id).await?.and_then(|a| a.person_id) {
            self.retally_person(person).await?;
        }
        Ok(())
    }

    /// Lift a lockout (support action).
    pub async fn unlock_account(&self, actor: Option<i64>, account_id: i64, unit: Option<i64>) -> Result<()> {
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(account_id).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "account.unlock", "account", account_id, unit, None::<String>, None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn grant_role(&self, actor: Option<i64>, account_id: i64, role: Role, unit_id: i64) -> Result<()> {
        let detail = serde_json::json!({"account": account_id, "role": role.as_str(), "unit": unit_id}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO role_grants (account_id, role, unit_id, granted_by, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(account_id).bind(role.as_str()).bind(unit_id).bind(actor).bind(now())
                .execute(&mut *tx).await.map_err(|e| conflict(e, "role"))?;
            crate::audit_insert!(tx, actor, "role.grant", "account", account_id, Some(unit_id), None::<String>, Some(detail.clone()));
            tx.commit().await?;
            Ok(())
        })
    }

    /// Grants with their unit names, for display.
    pub async fn grants_named(&self, account_id: i64) -> Result<Vec<(String, i64, String)>> {
        Ok(self.grants_of(account_id).await?.into_iter().map(|g| (g.role, g.unit_id, g.unit_name)).collect())
    }

    pub async fn grants_of(&self, account_id: i64) -> Result<Vec<GrantRow>> {
        Ok(on!(self, p => sqlx::query_as::<_, GrantRow>(
            "SELECT g.id, g.role, g.unit_id, u.name AS unit_name FROM role_grants g JOIN units u ON u.id = g.unit_id WHERE g.account_id = $1 ORDER BY g.id")
            .bind(account_id).fetch_all(p).await)?)
    }

    pub async fn grant(&self, grant_id: i64) -> Result<Option<(i64, GrantRow)>> {
        let row: Option<(i64, i64, String, i64, String)> = on!(self, p => sqlx::query_as(
            "SELECT g.account_id, g.id, g.role, g.unit_id, u.name FROM role_grants g JOIN units u ON u.id = g.unit_id WHERE g.id = $1")
            .bind(grant_id).fetch_optional(p).await)?;
        Ok(row.map(|(a, id, role, unit_id, unit_name)| (a, GrantRow { id, role, unit_id, unit_name })))
    }

    /// Withdraw a role (audited with what it was).
    pub async fn revoke_role(&self, actor: Option<i64>, grant_id: i64) -> Result<()> {
        let (account, g) = self.grant(grant_id).await?.ok_or(StoreError::NotFound)?;
        let before = serde_json::json!({"account": account, "role": g.role, "unit": g.unit_id}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM role_grants WHERE id = $1").bind(grant_id).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "role.revoke", "account", account, Some(g.unit_id), Some(before.clone()), None::<String>);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Everything authorization needs to know about an account.
    pub async fn principal(&self, account_id: i64) -> Result<Option<Principal>> {
        match self.account(account_id).await? {
            Some(acc) => self.principal_of(&acc).await,
            None => Ok(None),
        }
    }

    /// [`Db::principal`] of an account already read (a new session reads it anyway).
    pub async fn principal_of(&self, acc: &Account) -> Result<Option<Principal>> {
        let account_id = acc.id;
        if acc.disabled {
            return Ok(None);
        }
        let rows: Vec<(String, i64)> = match self.lane() {
            Some(lane) => lane.read(|c| crate::lane::all(c, GRANTS, &[&account_id], |r| Ok((r.get(0)?, r.get(1)?))))?,
            None => on!(self, p => sqlx::query_as(GRANTS).bind(account_id).fetch_all(p).await)?,
        };
        let mut grants = Vec::new();
        for (role, unit_id) in rows {
            let Some(role) = Role::parse(&role) else {
                continue;
            };
            let reach = if role == Role::KeyLecturer {
                match self.lane() {
                    Some(lane) => lane.read(|c| crate::lane::all(c, COVERAGE, &[&unit_id], |r| r.get(0)))?,
                    None => on!(self, p => sqlx::query_scalar(COVERAGE).bind(unit_id).fetch_all(p).await)?,
                }
            } else {
                Vec::new()
            };
            grants.push(Grant { role, unit_id, reach });
        }
        Ok(Some(Principal { account_id, person_id: acc.person_id, grants }))
    }

    /// Start a session; returns the token for the cookie (only its hash is stored) and the
    /// CSRF token bound to the session.
    pub async fn create_session(&self, account_id: i64) -> Result<(String, String)> {
        let token = random_token(32);
        let csrf = random_token(16);
        let t = now();
        on!(self, p => sqlx::query("INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(sha256_hex(&token)).bind(account_id).bind(&csrf).bind(t).bind(t + SESSION_SECONDS).execute(p).await.map(|r| r.rows_affected()))?;
        Ok((token, csrf))
    }

    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        let (hash, t) = (sha256_hex(token), now());
        if let Some(lane) = self.lane() {
            return lane.read(|c| {
                crate::lane::one(c, SESSION, &[&hash, &t], |r| {
                    Ok(Session { account_id: r.get(0)?, csrf: r.get(1)?, expires_at: r.get(2)? })
                })
            });
        }
        Ok(on!(self, p => sqlx::query_as::<_, Session>(SESSION).bind(hash).bind(t).fetch_optional(p).await)?)
    }

    pub async fn delete_session(&self, token: &str) -> Result<()> {
        on!(self, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(sha256_hex(token)).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// A real argon2id hash (of a random string), verified against when the username is unknown so
/// that a missing account takes as long to refuse as a wrong password.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| password::hash(&random_token(16)))
}
