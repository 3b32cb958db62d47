//! `POST /api/actions/vacuum`, `/analyze`, `/reindex` (background jobs), `GET
//! /api/actions/preview` (the statement, its lock and who it would conflict with now),
//! `GET /api/actions/jobs` (running with progress, and recent) and `POST
//! /api/actions/cancel_job`.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{Job, JobPreview};
use crate::error::AppError;

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "actions/vacuum", output = crate::codec::Json)]
pub async fn vacuum(
    target: String,
    database: String,
    schema: String,
    table: String,
    analyze: Option<String>,
    freeze: Option<String>,
    full: Option<String>,
    skip_locked: Option<String>,
    index_cleanup: Option<String>,
    parallel: Option<String>,
    verbose: Option<String>,
    confirm: Option<String>,
) -> Result<Job, AppError> {
    use super::model::JobAction;
    use super::options::RawOptions;
    let raw = RawOptions {
        verbose,
        ..RawOptions::vacuum(analyze, freeze, full, skip_locked, index_cleanup, parallel)
    };
    server::start(
        JobAction::Vacuum,
        target,
        database,
        schema,
        table,
        raw,
        confirm,
    )
    .await
}

/// ANALYZE takes no option: VACUUM's and REINDEX's are accepted as fields only to be refused
/// with a 400 naming them (never silently ignored).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "actions/analyze", output = crate::codec::Json)]
pub async fn analyze(
    target: String,
    database: String,
    schema: String,
    table: String,
    analyze: Option<String>,
    freeze: Option<String>,
    full: Option<String>,
    skip_locked: Option<String>,
    index_cleanup: Option<String>,
    parallel: Option<String>,
    concurrently: Option<String>,
    verbose: Option<String>,
) -> Result<Job, AppError> {
    use super::model::JobAction;
    use super::options::RawOptions;
    let raw = RawOptions {
        concurrently,
        verbose,
        ..RawOptions::vacuum(analyze, freeze, full, skip_locked, index_cleanup, parallel)
    };
    server::start(
        JobAction::Analyze,
        target,
        database,
        schema,
        table,
        raw,
        None,
    )
    .await
}

/// REINDEX takes `concurrently`; VACUUM's options are refused with a 400.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "actions/reindex", output = crate::codec::Json)]
pub async fn reindex(
    target: String,
    database: String,
    schema: String,
    index: String,
    concurrently: Option<String>,
    analyze: Option<String>,
    freeze: Option<String>,
    full: Option<String>,
    skip_locked: Option<String>,
    index_cleanup: Option<String>,
    parallel: Option<String>,
    verbose: Option<String>,
) -> Result<Job, AppError> {
    use super::model::JobAction;
    use super::options::RawOptions;
    let raw = RawOptions {
        concurrently,
        verbose,
        ..RawOptions::vacuum(analyze, freeze, full, skip_locked, index_cleanup, parallel)
    };
    server::start(
        JobAction::Reindex,
        target,
        database,
        schema,
        index,
        raw,
        None,
    )
    .await
}

/// What `action` on the object would run, the lock it takes and the sessions it would conflict
/// with now; nothing is run. `name` is the table (the index for reindex).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "actions/preview", input = GetUrl, output = crate::codec::Json)]
pub async fn preview_job(
    target: String,
    action: String,
    database: String,
    schema: String,
    name: String,
    analyze: Option<String>,
    freeze: Option<String>,
    full: Option<String>,
    skip_locked: Option<String>,
    index_cleanup: Option<String>,
    parallel: Option<String>,
    concurrently: Option<String>,
) -> Result<JobPreview, AppError> {
    use super::options::RawOptions;
    let raw = RawOptions {
        concurrently,
        ..RawOptions::vacuum(analyze, freeze, full, skip_locked, index_cleanup, parallel)
    };
    server::preview(target, action, database, schema, name, raw).await
}

/// The target's running jobs (with progress) and its 30 most recent ones.
#[server(prefix = "/api", endpoint = "actions/jobs", input = GetUrl, output = crate::codec::Json)]
pub async fn list_jobs(target: String) -> Result<Vec<Job>, AppError> {
    server::list(target).await
}

/// Cancels a running job (`pg_cancel_backend` on its backend).
#[server(prefix = "/api", endpoint = "actions/cancel_job", output = crate::codec::Json)]
pub async fn cancel_job(target: String, job: i64) -> Result<Job, AppError> {
    server::cancel(target, job).await
}

#[cfg(feature = "ssr")]
pub use server::jobs_of;

#[cfg(feature = "ssr")]
mod server {
    use serde_json::json;
    use sqlx::Connection;

    use super::super::db;
    use super::super::jobs::{self, Request};
    use super::super::model::{Job, JobAction, JobPreview, JobProgress, JobState};
    use super::super::options::{self, RawOptions};
    use crate::error::AppError;
    use crate::features::audit::model::Action;
    use crate::features::audit::recorder::Recorder;
    use crate::features::auth::context::require;
    use crate::features::auth::model::{Access, Role};
    use crate::features::targets::conn::{LoginKind, open, statement_error};

    fn non_empty(field: &str, v: &str) -> Result<(), AppError> {
        if v.is_empty() {
            return Err(AppError::validation(format!("{field} is required.")));
        }
        if v.len() > 63 * 4 || v.contains('\0') {
            return Err(AppError::validation(format!(
                "{field} is not a PostgreSQL name (too long or with a NUL)."
            )));
        }
        Ok(())
    }

    fn object_field(action: JobAction) -> &'static str {
        if action == JobAction::Reindex {
            "index"
        } else {
            "table"
        }
    }

    pub async fn start(
        action: JobAction,
        target: String,
        database: String,
        schema: String,
        name: String,
        raw: RawOptions,
        confirm: Option<String>,
    ) -> Result<Job, AppError> {
        let req = Recorder::dba(
            action.audit(),
            &target,
            format!("{schema:?}.{name:?} in database {database:?}"),
        )?;
        let mut params = json!({
            "database": database,
            "schema": schema,
            object_field(action): name,
            "options": {
                "analyze": raw.analyze, "freeze": raw.freeze, "full": raw.full,
                "skip_locked": raw.skip_locked, "index_cleanup": raw.index_cleanup,
                "parallel": raw.parallel, "concurrently": raw.concurrently,
                "verbose": raw.verbose,
            },
        });
        let checked = non_empty("database", &database)
            .and_then(|_| non_empty("schema", &schema))
            .and_then(|_| non_empty(object_field(action), &name))
            .and_then(|_| options::options(action, &raw));
        let options = req.check(&params, checked).await?;
        let Some(t) = req.state.targets.get(&target).cloned() else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(Some(&params), e).await);
        };
        let mut conn = req
            .check(&params, open(&t, LoginKind::Action, Some(&database)).await)
            .await?;
        let resolved = options::resolve(&mut conn, action, &database, &schema, &name).await;
        let _ = conn.close().await;
        let resolved = req.check(&params, resolved).await?;
        if action != JobAction::Reindex {
            req.state
                .maintenance
                .tables
                .record(&target, &database, resolved.oid, resolved.size());
        }
        params["sql"] = json!(options.statement(action, &resolved.quoted));
        params["oid"] = json!(resolved.oid);
        if let Some(word) = options::confirm_word(action, &options, &resolved)
            && confirm.as_deref().map(str::trim) != Some(word.as_str())
        {
            let e = AppError::validation(format!(
                "VACUUM FULL locks {word} against every read and write until it ends: type {word} in `confirm` to go ahead."
            ));
            return Err(req.refused(Some(&params), e).await);
        }
        jobs::start(Request {
            req,
            target: t,
            action,
            database,
            oid: resolved.oid,
            object: resolved.quoted.clone(),
            sql: options.statement(action, &resolved.quoted),
            work: jobs::Work::Maintenance { options, resolved },
            params,
        })
        .await
    }

    pub async fn preview(
        target: String,
        action: String,
        database: String,
        schema: String,
        name: String,
        raw: RawOptions,
    ) -> Result<JobPreview, AppError> {
        require(Access::AtLeast(Role::Dba))?;
        let state = crate::state::app_state()?;
        let action = JobAction::parse(&action)
            .filter(|a| a.maintenance())
            .ok_or_else(|| {
                AppError::validation("action must be one of vacuum, analyze, reindex.")
            })?;
        non_empty("database", &database)?;
        non_empty("schema", &schema)?;
        non_empty("name", &name)?;
        let options = options::options(action, &raw)?;
        let t = state
            .targets
            .get(&target)
            .cloned()
            .ok_or_else(|| AppError::not_found("There is no such target."))?;
        let mut conn = open(&t, LoginKind::Action, Some(&database)).await?;
        let out = async {
            let r = options::resolve(&mut conn, action, &database, &schema, &name).await?;
            let conflicts = options::conflicts(&mut conn, action, &options, &r)
                .await
                .map_err(|e| {
                    statement_error(LoginKind::Action, "Reading the locks in the way", &e)
                })?;
            if action != JobAction::Reindex {
                state
                    .maintenance
                    .tables
                    .record(&target, &database, r.oid, r.size());
            }
            Ok(options::preview(
                &target, action, &database, &options, &r, conflicts,
            ))
        }
        .await;
        let _ = conn.close().await;
        out
    }

    pub async fn list(target: String) -> Result<Vec<Job>, AppError> {
        require(Access::AtLeast(Role::Analyst))?;
        let state = crate::state::app_state()?;
        jobs_of(&state, &target).await
    }

    /// The jobs of a target, running first, for a caller already checked (a page's one call).
    pub async fn jobs_of(
        state: &crate::state::AppState,
        target: &str,
    ) -> Result<Vec<Job>, AppError> {
        let t = state
            .targets
            .get(target)
            .cloned()
            .ok_or_else(|| AppError::not_found("There is no such target."))?;
        let recent = state.store.recent_jobs(target, 30).await?;
        let here: Vec<i64> = state
            .maintenance
            .jobs
            .running(target, &[])
            .iter()
            .map(|j| j.id)
            .collect();
        // Jobs another instance runs (several on one store): their progress is read here too,
        // from the backend the row names.
        let (elsewhere, ended): (Vec<Job>, Vec<Job>) = recent
            .into_iter()
            .filter(|j| !here.contains(&j.id))
            .partition(|j| j.state == JobState::Running);
        let pids: Vec<i32> = elsewhere.iter().filter_map(|j| j.pid).collect();
        let rows = state.maintenance.jobs.progress(&t, &pids).await;
        let mut out = state.maintenance.jobs.running(target, &rows);
        out.extend(elsewhere.into_iter().map(|mut j| {
            j.progress = j
                .pid
                .and_then(|pid| rows.iter().find(|p| p.pid == pid))
                .map(|p| JobProgress {
                    command: p.command.clone(),
                    phase: p.phase.clone(),
                    blocks_done: p.blocks_done,
                    blocks_total: p.blocks_total,
                    eta_ms: None,
                });
            j
        }));
        out.extend(ended);
        Ok(out)
    }

    pub async fn cancel(target: String, id: i64) -> Result<Job, AppError> {
        let req = Recorder::dba(Action::CancelJob, &target, format!("job {id}"))?;
        let mut params = json!({ "job": id });
        // Run here, or by another instance on this store (the row names its backend).
        let found = match req.state.maintenance.jobs.request_cancel(&target, id) {
            Some(found) => Some(found),
            None => {
                let now = req.state.auth.clock.now_ms();
                match req.state.store.request_job_cancel(&target, id, now).await {
                    Ok(row) => row.map(|(job, _instance)| {
                        let pid = job.pid;
                        (job, pid)
                    }),
                    Err(e) => return Err(req.refused(Some(&params), e.into()).await),
                }
            }
        };
        let Some((job, pid)) = found else {
            let e = AppError::not_found(format!("Job {id} is not running on target {target}."));
            return Err(req.refused(Some(&params), e).await);
        };
        params["job_sql"] = json!(job.sql);
        let Some(pid) = pid else {
            let e = AppError::conflict(format!(
                "Job {id} is still connecting; try again in a moment."
            ));
            return Err(req.refused(Some(&params), e).await);
        };
        params["pid"] = json!(pid);
        params["sql"] = json!(crate::sql::shown(
            include_str!("sql/cancel_job.sql"),
            &[vec![pid.to_string()]]
        ));
        let Some(t) = req.state.targets.get(&target).cloned() else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(Some(&params), e).await);
        };
        req.intent(&params).await?;
        let sent = match open(&t, LoginKind::Action, None).await {
            Ok(mut conn) => {
                let r = db::cancel_job(&mut conn, pid)
                    .await
                    .map_err(|e| statement_error(LoginKind::Action, "Cancelling the job", &e));
                let _ = conn.close().await;
                r
            }
            Err(e) => Err(e),
        };
        req.outcome(&params, sent.as_ref().err()).await;
        sent?;
        Ok(job)
    }
}
