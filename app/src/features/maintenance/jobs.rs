//! Maintenance jobs: each VACUUM / ANALYZE / REINDEX — and each advice fix or exact
//! measurement (`Work::Other`) — runs in the background on its own connection (the action login
//! unless the work says otherwise, outside a transaction, the target's short lock_timeout so it
//! never queues ahead of application locks, no statement_timeout unless
//! `monitor.job_statement_timeout_ms` is set), so the browser may close and
//! come back. Running jobs live here (with their backend's pid, for progress and cancel); every
//! job is also in the store, where a job left 'running' by an earlier process is marked failed at
//! start-up.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};

use super::db::{self, ProgressRow};
use super::model::{Job, JobAction, JobOptions, JobProgress, JobState, TableSize};
use super::options::{self, Resolved};
use crate::error::AppError;
use crate::features::audit::model::Outcome;
use crate::features::audit::recorder::Recorder;
use crate::features::targets::conn::open_job;
use crate::features::targets::connect::{LoginKind, SessionSettings, describe_error};
use crate::features::targets::monitor::Target;
use crate::store::{AuditEvent, Store, StoreError};
use futures::future::BoxFuture;

/// What a job left running by a stopped or lost pgpanel instance is marked with.
pub const ORPHAN_REASON: &str = "the pgpanel instance running the job stopped or was lost; its outcome is unknown (the statement may have finished, or may still run on the server until it notices the closed connection)";

struct Running {
    job: Job,
    oid: i64,
    cancel_requested: bool,
    /// The phase last seen, when, and its blocks done then (for the ETA).
    phase: Option<(String, Instant, i64)>,
}

/// The jobs of this process.
#[derive(Debug, Default)]
pub struct Jobs {
    next_id: AtomicI64,
    running: Mutex<HashMap<i64, RunningSlot>>,
    /// The last progress read per target: viewers polling together share one read a second.
    progress: Mutex<HashMap<String, (Instant, Vec<ProgressRow>)>>,
}

/// `Running` behind a Debug that does not print it.
struct RunningSlot(Running);

impl std::fmt::Debug for RunningSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {}", self.0.job.id)
    }
}

impl Jobs {
    /// Marks jobs that instances no longer running left 'running' as failed (and audits that),
    /// then counts on from the highest id in the store (SQLite; PostgreSQL hands out ids).
    pub async fn open(store: &Store, now_ms: i64) -> Result<Self, StoreError> {
        fail_orphans(store, now_ms).await?;
        Ok(Self {
            next_id: AtomicI64::new(store.max_job_id().await? + 1),
            running: Mutex::default(),
            progress: Mutex::default(),
        })
    }

    /// A new job id: the store's (shared by every instance) or the next of this process.
    async fn next_id(&self, store: &Store) -> Result<i64, StoreError> {
        Ok(match store.next_job_id().await? {
            Some(id) => id,
            None => self.next_id.fetch_add(1, Ordering::Relaxed),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, RunningSlot>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a job unless one runs on the same object of the same target (409).
    fn claim(&self, mut job: Job, id: i64, oid: i64) -> Result<Job, AppError> {
        let mut running = self.lock();
        if let Some(other) = running.values().find(|r| {
            r.0.job.target == job.target && r.0.job.database == job.database && r.0.oid == oid
        }) {
            return Err(AppError::conflict(format!(
                "Job {} ({}) is already running on {}: wait for it or cancel it.",
                other.0.job.id,
                other.0.job.action.name(),
                other.0.job.object
            )));
        }
        job.id = id;
        running.insert(
            job.id,
            RunningSlot(Running {
                job: job.clone(),
                oid,
                cancel_requested: false,
                phase: None,
            }),
        );
        Ok(job)
    }

    fn release(&self, id: i64) {
        self.lock().remove(&id);
    }

    fn set_pid(&self, id: i64, pid: i32) {
        if let Some(r) = self.lock().get_mut(&id) {
            r.0.job.pid = Some(pid);
        }
    }

    fn cancel_requested(&self, id: i64) -> bool {
        self.lock().get(&id).is_some_and(|r| r.0.cancel_requested)
    }

    /// The running job `id` of `target`, marked as being cancelled; its backend's pid.
    pub fn request_cancel(&self, target: &str, id: i64) -> Option<(Job, Option<i32>)> {
        let mut running = self.lock();
        let r = running.get_mut(&id).filter(|r| r.0.job.target == target)?;
        r.0.cancel_requested = true;
        Some((r.0.job.clone(), r.0.job.pid))
    }

    /// The target's running jobs, with their progress rows folded in (ETA from each phase's rate).
    pub fn running(&self, target: &str, progress: &[ProgressRow]) -> Vec<Job> {
        let now = Instant::now();
        let mut running = self.lock();
        let mut out: Vec<Job> = running
            .values_mut()
            .filter(|r| r.0.job.target == target)
            .map(|slot| {
                let r = &mut slot.0;
                let row = r
                    .job
                    .pid
                    .and_then(|pid| progress.iter().find(|p| p.pid == pid));
                let mut job = r.job.clone();
                job.progress = row.map(|p| {
                    let done = p.blocks_done.unwrap_or(0);
                    if r.phase.as_ref().is_none_or(|(ph, _, _)| *ph != p.phase) {
                        r.phase = Some((p.phase.clone(), now, done));
                    }
                    JobProgress {
                        command: p.command.clone(),
                        phase: p.phase.clone(),
                        blocks_done: p.blocks_done,
                        blocks_total: p.blocks_total,
                        eta_ms: r.phase.as_ref().and_then(|(_, since, done0)| {
                            eta_ms(now - *since, done - done0, p.blocks_total? - done)
                        }),
                    }
                });
                job
            })
            .collect();
        out.sort_by_key(|j| std::cmp::Reverse(j.id));
        out
    }
}

impl Jobs {
    /// The progress of the target's running jobs (this instance's, and the backends `others`
    /// of jobs other instances run), read at most about once a second.
    pub async fn progress(&self, target: &Target, others: &[i32]) -> Vec<ProgressRow> {
        let id = &target.spec.id;
        let fresh = {
            let cache = self.progress.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .get(id)
                .filter(|(at, _)| at.elapsed() < Duration::from_millis(900))
                .map(|(_, rows)| rows.clone())
        };
        if let Some(rows) = fresh {
            return rows;
        }
        let pids: Vec<i32> = self
            .running(id, &[])
            .iter()
            .filter_map(|j| j.pid)
            .chain(others.iter().copied())
            .collect();
        let rows = db::progress(target.pool(), &pids)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(target_id = %id, error = %e, "reading job progress failed");
                Vec::new()
            });
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), (Instant::now(), rows.clone()));
        rows
    }
}

/// Marks failed the jobs whose instance stopped or was lost while they ran, and audits each
/// (at start-up, and after that every heartbeat: `maintenance::State::spawn_orphan_sweep`).
pub async fn fail_orphans(store: &Store, now_ms: i64) -> Result<(), StoreError> {
    let lost_after = crate::features::cluster::LOST_AFTER_MS;
    for j in store
        .fail_orphan_jobs(now_ms, ORPHAN_REASON, lost_after)
        .await?
    {
        tracing::warn!(job = j.id, target_id = %j.target, sql = %j.sql, "a job's instance stopped or was lost while it ran: marked failed");
        let ev = AuditEvent {
            target: Some(j.target.clone()),
            ..AuditEvent::new(now_ms, j.action.audit(), Outcome::Failure)
                .actor(j.username.clone(), None)
                .object(format!("{} in database {}", j.object, j.database))
                .parameters(json!({ "job": j.id, "sql": j.sql }).to_string())
                .error(ORPHAN_REASON)
        };
        store.append_audit(&ev).await?;
    }
    Ok(())
}

/// Time left at the rate seen so far: `None` until some progress was made.
pub fn eta_ms(elapsed: Duration, done: i64, left: i64) -> Option<i64> {
    (done > 0 && left >= 0).then(|| (elapsed.as_millis() as i64).saturating_mul(left) / done)
}

/// Another feature's work in a job: it runs on the job's connection once the object was found
/// under its name; `Ok` is the result line for people.
pub trait OtherWork: Send + Sync {
    /// The login the job connects as.
    fn login(&self) -> LoginKind;
    fn run<'a>(&'a self, conn: &'a mut PgConnection) -> BoxFuture<'a, End>;
}

/// What a job does once connected.
pub enum Work {
    /// VACUUM / ANALYZE / REINDEX of an object the Maintenance page resolved.
    Maintenance {
        options: JobOptions,
        resolved: Resolved,
    },
    Other(Box<dyn OtherWork>),
}

/// Everything a job needs to run.
pub struct Request {
    pub req: Recorder,
    pub target: std::sync::Arc<Target>,
    pub action: JobAction,
    pub database: String,
    /// The relation it acts on (one job per relation at a time), as PostgreSQL quotes it.
    pub oid: i64,
    pub object: String,
    /// The statement(s) shown, stored and audited: exactly what runs.
    pub sql: String,
    pub work: Work,
    pub params: Value,
}

/// Claims the object (409 if a job runs on it), audits the intent (nothing runs if that fails),
/// stores the job and starts it; returns the job as it starts.
pub async fn start(r: Request) -> Result<Job, AppError> {
    let state = r.req.state.clone();
    let job = Job {
        id: 0,
        target: r.target.spec.id.clone(),
        action: r.action,
        database: r.database.clone(),
        object: r.object.clone(),
        sql: r.sql.clone(),
        state: JobState::Running,
        username: r.req.caller.username.clone(),
        started_ms: state.auth.clock.now_ms(),
        ended_ms: None,
        pid: None,
        sqlstate: None,
        error: None,
        result: None,
        progress: None,
    };
    let id = match state.maintenance.jobs.next_id(&state.store).await {
        Ok(id) => id,
        Err(e) => return Err(r.req.refused(Some(&r.params), e.into()).await),
    };
    let job = match state.maintenance.jobs.claim(job, id, r.oid) {
        Ok(j) => j,
        Err(e) => return Err(r.req.refused(Some(&r.params), e).await),
    };
    let mut params = r.params.clone();
    params["job"] = json!(job.id);
    if let Err(e) = r.req.intent(&params).await {
        state.maintenance.jobs.release(job.id);
        return Err(e);
    }
    if let Err(e) = state.store.save_job(&job, &state.instance.id).await {
        state.maintenance.jobs.release(job.id);
        let e = AppError::from(e);
        r.req.outcome(&params, Some(&e)).await;
        return Err(e);
    }
    let started = job.clone();
    let span = tracing::info_span!("job", target_id = %job.target, job = job.id);
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let at = Instant::now();
            let mut job = job;
            let end = run(&r, &mut job).await;
            finish(r, job, params, end, at.elapsed()).await;
        },
        span,
    ));
    Ok(started)
}

/// How a job ended: Ok(result for people) or Err((sqlstate, message)).
pub type End = Result<String, (Option<String>, String)>;

async fn run(r: &Request, job: &mut Job) -> End {
    let settings = SessionSettings {
        statement_timeout: r.target.spec.session.job_statement_timeout,
        ..r.target.spec.session.clone()
    };
    let login = match &r.work {
        Work::Maintenance { .. } => LoginKind::Action,
        Work::Other(w) => w.login(),
    };
    let mut conn = open_job(&r.target, login, &r.database, &settings)
        .await
        .map_err(|e| (None, e.to_string()))?;
    let end = execute(r, job, &mut conn).await;
    let _ = conn.close().await;
    end
}

async fn execute(r: &Request, job: &mut Job, conn: &mut PgConnection) -> End {
    let now = db::object_name(conn, r.oid).await.map_err(|e| failed(&e))?;
    let pid = match now {
        Some((quoted, pid)) if quoted == r.object => pid,
        Some((quoted, _)) => {
            return Err((
                None,
                format!("the object was renamed to {quoted} since the request; nothing ran"),
            ));
        }
        None => {
            return Err((
                None,
                "the object was dropped since the request; nothing ran".into(),
            ));
        }
    };
    job.pid = Some(pid);
    r.req.state.maintenance.jobs.set_pid(job.id, pid);
    if let Err(e) = r
        .req
        .state
        .store
        .save_job(job, &r.req.state.instance.id)
        .await
    {
        tracing::warn!(job = job.id, error = %e, "could not record a job's pid");
    }
    let (options, resolved) = match &r.work {
        Work::Maintenance { options, resolved } => (options, resolved),
        Work::Other(w) => return w.run(conn).await,
    };
    // `conn.execute(raw_sql)`, not `raw_sql.execute(conn)`: the latter's future is not Send for
    // every lifetime, which tokio::spawn needs. Simple protocol: no implicit transaction block.
    if let Err(e) = conn.execute(sqlx::raw_sql(&job.sql)).await {
        let mut end = failed(&e);
        if end.0.as_deref() == Some("55P03") {
            end.1 = locked_by(r.action, options, resolved, conn).await;
        }
        return Err(end);
    }
    // The same sizes as the preview and the Maintenance list, measured again now.
    let after = db::table_size(conn, resolved.oid).await.ok();
    let before = resolved.size();
    Ok(match after {
        Some((Some(table), Some(total), at_ms)) => {
            let after = TableSize::exact(table, total, at_ms);
            if r.action != JobAction::Reindex {
                r.req.state.maintenance.tables.record(
                    &r.target.spec.id,
                    &r.database,
                    resolved.oid,
                    after,
                );
            }
            size_change(&before, &after)
        }
        _ => "done".to_owned(),
    })
}

/// "table 39.3 MB → 40.3 MB, with indexes 50.1 MB → 51.0 MB (exact, before and after)".
pub fn size_change(before: &TableSize, after: &TableSize) -> String {
    use crate::components::format::bytes;
    format!(
        "table {} → {}, with indexes {} → {} (exact, measured before and after)",
        bytes(before.table_bytes),
        bytes(after.table_bytes),
        bytes(before.total_bytes),
        bytes(after.total_bytes)
    )
}

/// "object is locked by pid …", from the sessions whose locks conflict now.
async fn locked_by(
    action: JobAction,
    options: &JobOptions,
    resolved: &Resolved,
    conn: &mut PgConnection,
) -> String {
    match options::conflicts(conn, action, options, resolved).await {
        Ok(c) if !c.is_empty() => {
            let who: Vec<String> = c
                .iter()
                .take(5)
                .map(|c| {
                    format!(
                        "pid {} ({}{}, {})",
                        c.pid,
                        c.mode,
                        if c.granted { " held" } else { " awaited" },
                        c.usename.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            format!(
                "object is locked by {}: gave up after lock_timeout rather than queue ahead of the application",
                who.join(", ")
            )
        }
        _ => "object is locked by another session (it had let go by the time pgpanel looked): gave up after lock_timeout".to_owned(),
    }
}

/// A statement's failure as a job's end: SQLSTATE and message.
pub fn failed(e: &sqlx::Error) -> (Option<String>, String) {
    match e {
        sqlx::Error::Database(d) => (d.code().map(|c| c.into_owned()), d.message().to_owned()),
        _ => (
            None,
            format!(
                "connection to the target lost: {}",
                describe_error(e, LoginKind::Action)
            ),
        ),
    }
}

async fn finish(r: Request, mut job: Job, mut params: Value, end: End, took: Duration) {
    let state = r.req.state.clone();
    job.ended_ms = Some(state.auth.clock.now_ms());
    params["duration_ms"] = json!(took.as_millis() as i64);
    let error = match end {
        Ok(result) => {
            job.state = JobState::Succeeded;
            params["result"] = json!(result);
            job.result = Some(result);
            None
        }
        Err((sqlstate, message)) => {
            // Cancelled through pgpanel: here, or from another instance (in the store).
            let cancelled = sqlstate.as_deref() == Some("57014")
                && (state.maintenance.jobs.cancel_requested(job.id)
                    || state
                        .store
                        .job_cancel_requested(job.id)
                        .await
                        .unwrap_or(false));
            job.state = if cancelled {
                JobState::Cancelled
            } else {
                JobState::Failed
            };
            let message = if cancelled {
                "cancelled by a DBA through pgpanel".to_owned()
            } else {
                message
            };
            params["sqlstate"] = json!(sqlstate);
            job.sqlstate = sqlstate;
            job.error = Some(message.clone());
            Some(AppError::conflict(message))
        }
    };
    state.maintenance.jobs.release(job.id);
    state
        .maintenance
        .tables
        .invalidate(&job.target, &job.database);
    if let Err(e) = state.store.save_job(&job, &state.instance.id).await {
        tracing::error!(job = job.id, error = %e, "recording a job's end failed");
    }
    r.req.outcome(&params, error.as_ref()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_from_rate() {
        assert_eq!(eta_ms(Duration::from_secs(2), 100, 300), Some(6_000));
        assert_eq!(eta_ms(Duration::from_secs(2), 0, 300), None);
    }
}
