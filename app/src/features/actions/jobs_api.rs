//! `POST /api/actions/vacuum`, `/analyze`, `/reindex` (background jobs), `GET
//! /api/actions/preview` (the statement, its lock and who it would conflict with now),
//! `GET /api/actions/jobs` (running with progress, and recent) and `POST
//! /api/actions/cancel_job`.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{Job, JobPreview};
use crate::error::AppError;

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "actions/vacuum")]
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
    use super::maintenance::RawOptions;
    use super::model::JobAction;
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
#[server(prefix = "/api", endpoint = "actions/analyze")]
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
    use super::maintenance::RawOptions;
    use super::model::JobAction;
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
#[server(prefix = "/api", endpoint = "actions/reindex")]
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
    use super::maintenance::RawOptions;
    use super::model::JobAction;
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
#[server(prefix = "/api", endpoint = "actions/preview", input = GetUrl)]
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
    use super::maintenance::RawOptions;
    let raw = RawOptions {
        concurrently,
        ..RawOptions::vacuum(analyze, freeze, full, skip_locked, index_cleanup, parallel)
    };
    server::preview(target, action, database, schema, name, raw).await
}

/// The target's running jobs (with progress) and its 30 most recent ones.
#[server(prefix = "/api", endpoint = "actions/jobs", input = GetUrl)]
pub async fn list_jobs(target: String) -> Result<Vec<Job>, AppError> {
    server::list(target).await
}

/// Cancels a running job (`pg_cancel_backend` on its backend).
#[server(prefix = "/api", endpoint = "actions/cancel_job")]
pub async fn cancel_job(target: String, job: i64) -> Result<Job, AppError> {
    server::cancel(target, job).await
}

#[cfg(feature = "ssr")]
mod server {
    use serde_json::json;
    use sqlx::Connection;

    use super::super::api::server::{action_connection, target_error};
    use super::super::audit::ActionRequest;
    use super::super::jobs::{self, Request};
    use super::super::maintenance::{self, RawOptions};
    use super::super::model::{Job, JobAction, JobPreview};
    use crate::error::AppError;
    use crate::features::auth::model::{Access, Role};
    use crate::features::auth::session::require;

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
        let req = ActionRequest::dba(
            action.name(),
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
            .and_then(|_| maintenance::options(action, &raw));
        let options = match checked {
            Ok(o) => o,
            Err(e) => return Err(req.refused(&params, e).await),
        };
        let Some(t) = req.state.targets.get(&target).cloned() else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(&params, e).await);
        };
        let mut conn = match action_connection(&t, Some(&database)).await {
            Ok(c) => c,
            Err(e) => return Err(req.refused(&params, e).await),
        };
        let resolved = maintenance::resolve(&mut conn, action, &database, &schema, &name).await;
        let _ = conn.close().await;
        let resolved = match resolved {
            Ok(r) => r,
            Err(e) => return Err(req.refused(&params, e).await),
        };
        if action != JobAction::Reindex {
            req.state
                .tables
                .record(&target, &database, resolved.oid, resolved.size());
        }
        params["sql"] = json!(options.statement(action, &resolved.quoted));
        params["oid"] = json!(resolved.oid);
        if let Some(word) = maintenance::confirm_word(action, &options, &resolved)
            && confirm.as_deref().map(str::trim) != Some(word.as_str())
        {
            let e = AppError::validation(format!(
                "VACUUM FULL locks {word} against every read and write until it ends: type {word} in `confirm` to go ahead."
            ));
            return Err(req.refused(&params, e).await);
        }
        jobs::start(Request {
            req,
            target: t,
            action,
            database,
            options,
            resolved,
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
        let action = JobAction::parse(&action).ok_or_else(|| {
            AppError::validation("action must be one of vacuum, analyze, reindex.")
        })?;
        non_empty("database", &database)?;
        non_empty("schema", &schema)?;
        non_empty("name", &name)?;
        let options = maintenance::options(action, &raw)?;
        let t = state
            .targets
            .get(&target)
            .cloned()
            .ok_or_else(|| AppError::not_found("There is no such target."))?;
        let mut conn = action_connection(&t, Some(&database)).await?;
        let out = async {
            let r = maintenance::resolve(&mut conn, action, &database, &schema, &name).await?;
            let conflicts = maintenance::conflicts(&mut conn, action, &options, &r)
                .await
                .map_err(|e| target_error(&e))?;
            if action != JobAction::Reindex {
                state.tables.record(&target, &database, r.oid, r.size());
            }
            Ok(maintenance::preview(
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
        let t = state
            .targets
            .get(&target)
            .cloned()
            .ok_or_else(|| AppError::not_found("There is no such target."))?;
        let rows = state.jobs.progress(&t).await;
        let mut out = state.jobs.running(&target, &rows);
        let recent = state
            .store
            .recent_jobs(&target, 30)
            .await
            .map_err(|e| AppError::internal("reading recent jobs", e))?;
        let running: Vec<i64> = out.iter().map(|j| j.id).collect();
        out.extend(recent.into_iter().filter(|j| !running.contains(&j.id)));
        Ok(out)
    }

    pub async fn cancel(target: String, id: i64) -> Result<Job, AppError> {
        let req = ActionRequest::dba("cancel_job", &target, format!("job {id}"))?;
        let mut params = json!({ "job": id });
        let Some((job, pid)) = req.state.jobs.request_cancel(&target, id) else {
            let e = AppError::not_found(format!("Job {id} is not running on target {target}."));
            return Err(req.refused(&params, e).await);
        };
        params["sql"] = json!(job.sql);
        let Some(pid) = pid else {
            let e = AppError::conflict(format!(
                "Job {id} is still connecting; try again in a moment."
            ));
            return Err(req.refused(&params, e).await);
        };
        params["pid"] = json!(pid);
        let Some(t) = req.state.targets.get(&target).cloned() else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(&params, e).await);
        };
        req.intent(&params).await?;
        let sent = match action_connection(&t, None).await {
            Ok(mut conn) => {
                let r = sqlx::query_scalar::<_, bool>("select pg_cancel_backend($1)")
                    .bind(pid)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| target_error(&e));
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
