//! The module catalog: loaded from the shipped data file on first start, editable afterwards.

use serde::Serialize;

use bdtx_domain::catalog::shipped;
use bdtx_domain::org::levels_to_string;
use bdtx_domain::text::clean;

use crate::{BeginWrite, Db, Result, StoreError, now, on};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Module {
    pub code: String,
    pub family: String,
    pub number: i64,
    pub title_vi: String,
    pub title_en: String,
    pub levels: String,
    pub periods: Option<i64>,
    pub criterion: Option<String>,
    pub verified: bool,
    pub source: String,
}

const COLS: &str = "code, family, number, title_vi, title_en, levels, periods, criterion, verified, source";

impl Db {
    /// Insert shipped modules that are not in the database yet (edited titles are kept).
    pub async fn load_catalog(&self) -> Result<usize> {
        let modules = shipped();
        let mut added = 0;
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            for m in &modules {
                let n = sqlx::query(
                    "INSERT INTO modules (code, family, number, title_vi, title_en, levels, periods, criterion, verified, source, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (code) DO NOTHING")
                    .bind(&m.code).bind(&m.family).bind(m.number).bind(clean(&m.title_vi)).bind(clean(&m.title_en))
                    .bind(levels_to_string(&m.levels)).bind(m.periods).bind(&m.criterion).bind(m.verified).bind(&m.source).bind(now())
                    .execute(&mut *tx).await?.rows_affected();
                added += n as usize;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(added)
    }

    pub async fn modules(&self, family: Option<&str>) -> Result<Vec<Module>> {
        let sql = format!("SELECT {COLS} FROM modules WHERE ($1 = '' OR family = $1) ORDER BY family, number, code");
        Ok(
            on!(self, p => sqlx::query_as::<_, Module>(sqlx::AssertSqlSafe(sql)).bind(family.unwrap_or("")).fetch_all(p).await)?,
        )
    }

    pub async fn module(&self, code: &str) -> Result<Option<Module>> {
        let sql = format!("SELECT {COLS} FROM modules WHERE code = $1");
        Ok(on!(self, p => sqlx::query_as::<_, Module>(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(p).await)?)
    }

    /// Edit a module's titles (e.g. fill in a title the seeds did not give); marks it verified.
    pub async fn update_module_titles(
        &self,
        actor: Option<i64>,
        code: &str,
        title_vi: &str,
        title_en: &str,
    ) -> Result<()> {
        let before = self.module(code).await?.ok_or(StoreError::NotFound)?;
        let (vi, en) = (clean(title_vi), clean(title_en));
        let mut c = bdtx_domain::error::Checker::default();
        if vi.is_empty() {
            c.add("title_vi", "required");
        }
        if vi.chars().count() > 300 {
            c.add("title_vi", "too_long");
        }
        if en.chars().count() > 300 {
            c.add("title_en", "too_long");
        }
        c.finish()?;
        let before_json = serde_json::json!({"title_vi": before.title_vi, "title_en": before.title_en}).to_string();
        let after_json = serde_json::json!({"title_vi": vi, "title_en": en}).to_string();
        on!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE modules SET title_vi = $2, title_en = $3, verified = TRUE, updated_at = $4 WHERE code = $1")
                .bind(code).bind(&vi).bind(&en).bind(now()).execute(&mut *tx).await?;
            crate::audit_insert!(tx, actor, "module.update", "module", code, None::<i64>, Some(before_json.clone()), Some(after_json.clone()));
            tx.commit().await?;
            Ok(())
        })
    }
}
