//! Certificates: issued in batches (one transaction; an enrollment has at most one valid
//! certificate, so issuing twice is a conflict), found by their public code, revoked with a
//! reason. Each issuing university has one Ed25519 key (`issuer_keys`).

use serde::Serialize;
use sqlx::QueryBuilder;

use crate::{BeginWrite, Db, Result, StoreError, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Certificate {
    pub id: i64,
    pub enrollment_id: i64,
    pub number: String,
    pub code: String,
    pub issuer_unit_id: i64,
    pub holder_person_id: i64,
    pub module_code: String,
    /// The certificate's content (JSON of `bdtx_cert::CertificateData`).
    pub data: String,
    pub pdf_sha256: String,
    /// The signed credential (JSON).
    pub credential: String,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
}

/// A certificate to store.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub enrollment_id: i64,
    pub number: String,
    pub code: String,
    pub issuer_unit_id: i64,
    pub holder_person_id: i64,
    pub module_code: String,
    pub data: String,
    pub pdf_sha256: String,
    pub credential: String,
}

const COLS: &str =
    "id, enrollment_id, number, code, issuer_unit_id, holder_person_id, module_code, data, pdf_sha256, credential,
    issued_at, revoked_at, revoke_reason";

impl Db {
    /// The issuer's key seed (hex) and public key, created by `make` the first time.
    pub async fn issuer_key(&self, unit_id: i64, make: impl FnOnce() -> (String, String)) -> Result<(String, String)> {
        let found: Option<(String, String)> = on!(self, p => sqlx::query_as(
            "SELECT seed_hex, public_multibase FROM issuer_keys WHERE unit_id = $1").bind(unit_id).fetch_optional(p).await)?;
        if let Some(k) = found {
            return Ok(k);
        }
        let (seed, public) = make();
        on!(self, p => sqlx::query(
            "INSERT INTO issuer_keys (unit_id, seed_hex, public_multibase, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (unit_id) DO NOTHING")
            .bind(unit_id).bind(&seed).bind(&public).bind(now()).execute(p).await.map(|r| r.rows_affected()))?;
        // Whoever won a concurrent first issue, everyone uses the stored key.
        let k: (String, String) = on!(self, p => sqlx::query_as(
            "SELECT seed_hex, public_multibase FROM issuer_keys WHERE unit_id = $1").bind(unit_id).fetch_one(p).await)?;
        Ok(k)
    }

    pub async fn issuer_public_key(&self, unit_id: i64) -> Result<Option<String>> {
        Ok(on!(self, p => sqlx::query_scalar("SELECT public_multibase FROM issuer_keys WHERE unit_id = $1")
            .bind(unit_id).fetch_optional(p).await)?)
    }

    /// The next sequence number of an issuer's certificates for a year: numbers are
    /// `<prefix>-<year>-<nnnnnn>`.
    pub async fn next_certificate_seq(&self, prefix: &str) -> Result<i64> {
        let like = format!("{}-%", bdtx_domain::text::like_escape(prefix));
        let n: i64 = on!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM certificates WHERE number LIKE $1 ESCAPE '\\'").bind(&like).fetch_one(p).await)?;
        Ok(n + 1)
    }

    /// Store a batch of certificates in one transaction: all or nothing. An enrollment that
    /// already has a valid certificate makes the whole batch a conflict.
    pub async fn store_certificates(
        &self,
        actor: Option<i64>,
        certs: &[NewCertificate],
        unit: Option<i64>,
    ) -> Result<usize> {
        self.store_certificates_with_files(actor, certs, &[], unit).await
    }

    /// [`Db::store_certificates`], recording the batch's PDFs (`(sha256, size)`, already in the
    /// file store) in `files` in the same transaction. Rows go in with multi-row INSERTs.
    pub async fn store_certificates_with_files(
        &self,
        actor: Option<i64>,
        certs: &[NewCertificate],
        pdfs: &[(String, i64)],
        unit: Option<i64>,
    ) -> Result<usize> {
        if certs.is_empty() {
            return Ok(0);
        }
        // Bound variables per statement stay far below either backend's limit.
        const CHUNK: usize = 500;
        let t = now();
        let mut seen = std::collections::HashSet::new();
        let pdfs: Vec<&(String, i64)> = pdfs.iter().filter(|(sha, _)| seen.insert(sha.as_str())).collect();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            for chunk in pdfs.chunks(CHUNK) {
                let mut q = QueryBuilder::new("INSERT INTO files (sha256, size, mime, created_at) ");
                q.push_values(chunk, |mut b, (sha, size)| {
                    b.push_bind(sha.as_str()).push_bind(*size).push_bind("application/pdf").push_bind(t);
                });
                q.push(" ON CONFLICT (sha256) DO NOTHING");
                q.build().execute(&mut *tx).await?;
            }
            for chunk in certs.chunks(CHUNK) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO certificates (enrollment_id, number, code, issuer_unit_id, holder_person_id, module_code, data, pdf_sha256, credential, issued_by, issued_at) ");
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(c.enrollment_id).push_bind(c.number.as_str()).push_bind(c.code.as_str()).push_bind(c.issuer_unit_id)
                        .push_bind(c.holder_person_id).push_bind(c.module_code.as_str()).push_bind(c.data.as_str())
                        .push_bind(c.pdf_sha256.as_str()).push_bind(c.credential.as_str()).push_bind(actor).push_bind(t);
                });
                q.build().execute(&mut *tx).await.map_err(|e| crate::conflict(e, "certificate"))?;
            }
            let ids: Vec<i64> = certs.iter().map(|c| c.enrollment_id).collect();
            crate::retally!(tx, &ids);
            let numbers: Vec<&str> = certs.iter().map(|c| c.number.as_str()).collect();
            crate::audit_insert!(tx, actor, "certificate.issue", "certificate", certs[0].number, unit, None::<String>,
                Some(serde_json::json!({"count": certs.len(), "numbers": numbers}).to_string()));
            tx.commit().await?;
            Ok(certs.len())
        })
    }

    pub async fn certificate_by_code(&self, code: &str) -> Result<Option<Certificate>> {
        let sql = format!("SELECT {COLS} FROM certificates WHERE code = $1");
        Ok(
            on!(self, p => sqlx::query_as::<_, Certificate>(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(p).await)?,
        )
    }

    pub async fn certificate(&self, id: i64) -> Result<Option<Certificate>> {
        let sql = format!("SELECT {COLS} FROM certificates WHERE id = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Certificate>(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
    }

    /// Valid (not revoked) certificates of a class's learners.
    pub async fn class_certificates(&self, class_id: i64) -> Result<Vec<Certificate>> {
        let sql = format!(
            "SELECT {COLS} FROM certificates WHERE revoked_at IS NULL AND enrollment_id IN
               (SELECT id FROM enrollments WHERE class_id = $1) ORDER BY number"
        );
        Ok(
            on!(self, p => sqlx::query_as::<_, Certificate>(sqlx::AssertSqlSafe(sql)).bind(class_id).fetch_all(p).await)?,
        )
    }

    /// Certificates held by a person (valid and revoked), newest first.
    pub async fn person_certificates(&self, person_id: i64) -> Result<Vec<Certificate>> {
        let sql =
            format!("SELECT {COLS} FROM certificates WHERE holder_person_id = $1 ORDER BY issued_at DESC, id DESC");
        Ok(
            on!(self, p => sqlx::query_as::<_, Certificate>(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_all(p).await)?,
        )
    }

    /// Revoke a certificate with a reason (audited); revoking twice is a conflict.
    pub async fn revoke_certificate(&self, actor: Option<i64>, id: i64, reason: &str, unit: Option<i64>) -> Result<()> {
        let reason = bdtx_domain::text::clean(reason);
        if reason.chars().count() < 5 {
            return Err(bdtx_domain::Invalid::one("reason", "reason_required").into());
        }
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE certificates SET revoked_at = $2, revoked_by = $3, revoke_reason = $4 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id).bind(now()).bind(actor).bind(&reason).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("certificate"));
            }
            let enrollment: i64 = sqlx::query_scalar("SELECT enrollment_id FROM certificates WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
            crate::retally!(tx, &[enrollment]);
            crate::audit_insert!(tx, actor, "certificate.revoke", "certificate", id, unit, None::<String>,
                Some(serde_json::json!({"reason": reason}).to_string()));
            tx.commit().await?;
            Ok(())
        })
    }
}
