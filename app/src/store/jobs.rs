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
    /// A new job id from the store's sequence, shared by every instance (PostgreSQL); None on
    /// SQLite, whose one instance counts on from [`Store::max_job_id`].
    pub async fn next_job_id(&self) -> Result<Option<i64>, StoreError> {
        match self.backend {
            super::Backend::Postgres => Ok(Some(
                sqlx::query_scalar("select nextval('action_job_ids')")
                    .fetch_one(&self.pool)
                    .await?,
            )),
            super::Backend::Sqlite => Ok(None),
        }
    }

    /// The highest job id so far (0 for none).
    pub async fn max_job_id(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("select coalesce(max(id), 0) as id from action_jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Writes a job as it is now (insert or update by id).
    pub async fn save_job(&self, j: &Job, instance: &str) -> Result<(), StoreError> {
        sqlx::query(
            "insert into action_jobs \
               (id, target_id, action, database, object, sql, state, username, started_ms, \
                ended_ms, pid, sqlstate, error, result, instance_id) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
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
        .bind(instance)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a running job of `target_id` as being cancelled (from any instance); the job and
    /// the instance that runs it, or `None` when no such job is running.
    pub async fn request_job_cancel(
        &self,
        target_id: &str,
        id: i64,
        now_ms: i64,
    ) -> Result<Option<(Job, Option<String>)>, StoreError> {
        let row = sqlx::query(&format!(
            "update action_jobs set cancel_requested_ms = $3 \
             where id = $1 and target_id = $2 and state = 'running' \
             returning {COLUMNS}, instance_id"
        ))
        .bind(id)
        .bind(target_id)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((job(&r)?, r.try_get("instance_id")?)))
            .transpose()
    }

    /// Whether a cancel of the job was asked for (on any instance).
    pub async fn job_cancel_requested(&self, id: i64) -> Result<bool, StoreError> {
        let at: Option<Option<i64>> =
            sqlx::query_scalar("select cancel_requested_ms from action_jobs where id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(at.flatten().is_some())
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

    /// Marks failed, with `reason`, every job still 'running' whose instance is not running
    /// (stopped, or no heartbeat for `lost_after_ms` by the store's clock, or unknown: a job
    /// written by an earlier version), and returns them. At start-up and then every heartbeat,
    /// so a job never stays 'running' long after its instance is gone.
    pub async fn fail_orphan_jobs(
        &self,
        now_ms: i64,
        reason: &str,
        lost_after_ms: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from action_jobs j where state = 'running' and not exists ( \
                 select 1 from instances i where i.id = j.instance_id \
                 and i.stopped_at_ms is null and i.heartbeat_at_ms >= {} - $1)",
            self.now_sql()
        ))
        .bind(lost_after_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = rows.iter().map(job).collect::<Result<Vec<_>, _>>()?;
        for j in &mut jobs {
            // Only if it is still running (its instance may have ended it meanwhile).
            let done = sqlx::query(
                "update action_jobs set state = 'failed', ended_ms = $2, error = $3 \
                 where id = $1 and state = 'running'",
            )
            .bind(j.id)
            .bind(now_ms)
            .bind(reason)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 1 {
                j.state = JobState::Failed;
                j.ended_ms = Some(now_ms);
                j.error = Some(reason.to_owned());
            }
        }
        jobs.retain(|j| j.state == JobState::Failed);
        Ok(jobs)
    }
}
