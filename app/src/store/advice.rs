//! Advice analyses in the store (migration 0009): the latest one per target and database, with
//! the index scan snapshot the next analysis continues from.

use sqlx::Row;

use super::{Store, StoreError};
use crate::features::advice::model::{Analysis, IndexSnapshot};

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Replaces the stored analysis of its target and database.
    pub async fn save_advice(
        &self,
        analysis: &Analysis,
        snapshot: &IndexSnapshot,
    ) -> Result<(), StoreError> {
        let findings = serde_json::to_string(&analysis.findings).map_err(corrupt)?;
        let errors = serde_json::to_string(&analysis.errors).map_err(corrupt)?;
        let snapshot = serde_json::to_string(snapshot).map_err(corrupt)?;
        sqlx::query(
            "insert into advice_analyses \
               (target_id, database, analysed_ms, duration_ms, findings, errors, snapshot) \
             values ($1, $2, $3, $4, $5, $6, $7) \
             on conflict (target_id, database) do update set \
               analysed_ms = excluded.analysed_ms, duration_ms = excluded.duration_ms, \
               findings = excluded.findings, errors = excluded.errors, snapshot = excluded.snapshot",
        )
        .bind(&analysis.target)
        .bind(&analysis.database)
        .bind(analysis.analysed_at.unwrap_or_default())
        .bind(analysis.duration_ms)
        .bind(findings)
        .bind(errors)
        .bind(snapshot)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored analysis of `database` on `target_id` and its snapshot, if any.
    pub async fn latest_advice(
        &self,
        target_id: &str,
        database: &str,
    ) -> Result<Option<(Analysis, IndexSnapshot)>, StoreError> {
        let row = sqlx::query(
            "select analysed_ms, duration_ms, findings, errors, snapshot \
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
        Ok(Some((
            Analysis {
                target: target_id.to_owned(),
                database: database.to_owned(),
                analysed_at: Some(r.try_get("analysed_ms")?),
                duration_ms: r.try_get("duration_ms")?,
                findings: serde_json::from_str(&findings).map_err(corrupt)?,
                errors: serde_json::from_str(&errors).map_err(corrupt)?,
                running: false,
            },
            serde_json::from_str(&snapshot).map_err(corrupt)?,
        )))
    }
}
