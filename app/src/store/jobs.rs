//! Maintenance jobs in the store (migration 0005): a row when a job starts, updated when it ends.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::features::maintenance::model::{Job, JobAction, JobState};

const COLUMNS: &str = "id, target_id, action, database, object, sql, state, username, \
                       started_ms, ended_ms, pid, sqlstate, error, result";

fn job(r: &AnyRow) -> Result<Job, StoreError> {
    let action: String = r.try_get("action")?;
    let state: String = r.try_get("state")?;
    let pid: Option<i64> = r.try_get("pid")?;
    Ok(Job {
        id: r.try_get("id")?,
        target: r.try_get("target_id")?,
        action: JobAction::parse(&action)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job action {action}")))?,
        database: r.try_get("database")?,
        object: r.try_get("object")?,
        sql: r.try_get("sql")?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown job state {state}")))?,
        username: r.try_get("username")?,
        started_ms: r.try_get("started_ms")?,
        ended_ms: r.try_get("ended_ms")?,
        pid: pid.map(|p| p as i32),
        sqlstate: r.try_get("sqlstate")?,
        error: r.try_get("error")?,
        result: r.try_get("result")?,
        progress: None,
    })
}

impl Store {
    /// The highest job id so far (0 for none).
    pub async fn max_job_id(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("select coalesce(max(id), 0) as id from action_jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Writes a job as it is now (insert or update by id).
    pub async fn save_job(&self, j: &Job) -> Result<(), StoreError> {
        sqlx::query(
            "insert into action_jobs \
               (id, target_id, action, database, object, sql, state, username, started_ms, \
                ended_ms, pid, sqlstate, error, result) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             on conflict (id) do update set state = excluded.state, \
               ended_ms = excluded.ended_ms, pid = excluded.pid, sqlstate = excluded.sqlstate, \
               error = excluded.error, result = excluded.result",
        )
        .bind(j.id)
        .bind(&j.target)
        .bind(j.action.name())
        .bind(&j.database)
        .bind(&j.object)
        .bind(&j.sql)
        .bind(j.state.name())
        .bind(&j.username)
        .bind(j.started_ms)
        .bind(j.ended_ms)
        .bind(j.pid.map(i64::from))
        .bind(&j.sqlstate)
        .bind(&j.error)
        .bind(&j.result)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The target's most recent jobs, newest first.
    pub async fn recent_jobs(&self, target_id: &str, limit: i64) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from action_jobs where target_id = $1 \
             order by started_ms desc, id desc limit $2"
        ))
        .bind(target_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job).collect()
    }

    /// Marks every job still 'running' as failed with `reason` (at start-up: no job of an
    /// earlier process can still be watched) and returns them.
    pub async fn fail_orphan_jobs(
        &self,
        now_ms: i64,
        reason: &str,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from action_jobs where state = 'running'"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = rows.iter().map(job).collect::<Result<Vec<_>, _>>()?;
        for j in &mut jobs {
            j.state = JobState::Failed;
            j.ended_ms = Some(now_ms);
            j.error = Some(reason.to_owned());
            self.save_job(j).await?;
        }
        Ok(jobs)
    }
}
