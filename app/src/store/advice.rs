//! Advice analyses in the store (migrations 0009 to 0011): the latest one per target and
//! database, with the index scan snapshot and the bloat rows the next analysis continues from.

use sqlx::Row;

use super::{Store, StoreError};
use crate::features::advice::model::{Analysis, Bloat, Finding, IndexSnapshot};

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Replaces the stored analysis of its target and database.
    pub async fn save_advice(
        &self,
        analysis: &Analysis,
        snapshot: &IndexSnapshot,
        bloat: &Bloat,
    ) -> Result<(), StoreError> {
        let findings = serde_json::to_string(&analysis.findings).map_err(corrupt)?;
        let errors = serde_json::to_string(&analysis.errors).map_err(corrupt)?;
        let snapshot = serde_json::to_string(snapshot).map_err(corrupt)?;
        let bloat = serde_json::to_string(bloat).map_err(corrupt)?;
        let workload = serde_json::to_string(&analysis.workload).map_err(corrupt)?;
        sqlx::query(
            "insert into advice_analyses \
               (target_id, database, analysed_ms, duration_ms, findings, errors, snapshot, bloat, \
                workload) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             on conflict (target_id, database) do update set \
               analysed_ms = excluded.analysed_ms, duration_ms = excluded.duration_ms, \
               findings = excluded.findings, errors = excluded.errors, \
               snapshot = excluded.snapshot, bloat = excluded.bloat, workload = excluded.workload",
        )
        .bind(&analysis.target)
        .bind(&analysis.database)
        .bind(analysis.analysed_at.unwrap_or_default())
        .bind(analysis.duration_ms)
        .bind(findings)
        .bind(errors)
        .bind(snapshot)
        .bind(bloat)
        .bind(workload)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Replaces the bloat rows and findings of a stored analysis (an exact measurement), the
    /// rest of it as it was. `false` when there is no stored analysis of that database.
    pub async fn save_measurement(
        &self,
        bloat: &Bloat,
        findings: &[Finding],
    ) -> Result<bool, StoreError> {
        let findings = serde_json::to_string(findings).map_err(corrupt)?;
        let rows = serde_json::to_string(bloat).map_err(corrupt)?;
        let done = sqlx::query(
            "update advice_analyses set bloat = $1, findings = $2 \
             where target_id = $3 and database = $4",
        )
        .bind(rows)
        .bind(findings)
        .bind(&bloat.target)
        .bind(&bloat.database)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The stored bloat rows of `database` on `target_id`, if analysed.
    pub async fn latest_bloat(
        &self,
        target_id: &str,
        database: &str,
    ) -> Result<Option<Bloat>, StoreError> {
        let row =
            sqlx::query("select bloat from advice_analyses where target_id = $1 and database = $2")
                .bind(target_id)
                .bind(database)
                .fetch_optional(&self.pool)
                .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let text: String = r.try_get("bloat")?;
        let mut bloat: Bloat = serde_json::from_str(&text).map_err(corrupt)?;
        bloat.target = target_id.to_owned();
        bloat.database = database.to_owned();
        Ok(Some(bloat))
    }

    /// The stored analysis of `database` on `target_id` and its snapshot, if any.
    pub async fn latest_advice(
        &self,
        target_id: &str,
        database: &str,
    ) -> Result<Option<(Analysis, IndexSnapshot)>, StoreError> {
        let row = sqlx::query(
            "select analysed_ms, duration_ms, findings, errors, snapshot, workload \
             from advice_analyses where target_id = $1 and database = $2",
        )
        .bind(target_id)
        .bind(database)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let findings: String = r.try_get("findings")?;
        let errors: String = r.try_get("errors")?;
        let snapshot: String = r.try_get("snapshot")?;
        let workload: String = r.try_get("workload")?;
        Ok(Some((
            Analysis {
                target: target_id.to_owned(),
                database: database.to_owned(),
                analysed_at: Some(r.try_get("analysed_ms")?),
                duration_ms: r.try_get("duration_ms")?,
                findings: serde_json::from_str(&findings).map_err(corrupt)?,
                errors: serde_json::from_str(&errors).map_err(corrupt)?,
                running: false,
                workload: serde_json::from_str(&workload).map_err(corrupt)?,
            },
            serde_json::from_str(&snapshot).map_err(corrupt)?,
        )))
    }
}
