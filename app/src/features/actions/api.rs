//! `POST /api/actions/cancel_backend` and `/api/actions/terminate_backend`: dba and admin only,
//! on the target's action login, guarded (see `session`) and audited (see `audit`).

use leptos::prelude::*;

use super::model::SignalOutcome;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "actions/cancel_backend")]
pub async fn cancel_backend(
    target: String,
    pid: i32,
    backend_start: String,
    confirm: Option<String>,
) -> Result<SignalOutcome, AppError> {
    server::signal(
        super::session::Signal::Cancel,
        target,
        pid,
        backend_start,
        confirm,
    )
    .await
}

#[server(prefix = "/api", endpoint = "actions/terminate_backend")]
pub async fn terminate_backend(
    target: String,
    pid: i32,
    backend_start: String,
    confirm: Option<String>,
) -> Result<SignalOutcome, AppError> {
    server::signal(
        super::session::Signal::Terminate,
        target,
        pid,
        backend_start,
        confirm,
    )
    .await
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use serde_json::json;
    use sqlx::{ConnectOptions, Connection, PgConnection};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::super::audit::ActionRequest;
    use super::super::model::SignalOutcome;
    use super::super::session::{self, Signal};
    use crate::error::AppError;
    use crate::features::targets::connect::{describe_error, session_options};
    use crate::features::targets::monitor::{ConnectFor, Target};

    /// A connection on the target's action login (its default database).
    pub async fn action_connection(
        target: &Target,
        database: Option<&str>,
    ) -> Result<PgConnection, AppError> {
        let login = target.spec.action.as_ref().ok_or_else(|| {
            AppError::conflict(format!(
                "Actions are unavailable on target {}: it has no action login (set action_url in its configuration).",
                target.spec.id
            ))
        })?;
        let mut options = session_options(login, &target.spec.session);
        if let Some(db) = database {
            target.check_database(db).await?;
            options = options.database(db);
        }
        target.admit_connection(ConnectFor::Action)?;
        match tokio::time::timeout(target.spec.session.connect_timeout, options.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => {
                tracing::warn!(target_id = %target.spec.id, error = %e, "action login could not connect");
                Err(match &e {
                    sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000") => {
                        AppError::not_found("There is no such database on this target.")
                    }
                    _ => AppError::TargetUnavailable {
                        message: format!(
                            "The action login could not connect: {}.",
                            describe_error(&e)
                        ),
                    },
                })
            }
            Err(_) => Err(AppError::Timeout {
                message: "The action login could not connect within the connect timeout.".into(),
            }),
        }
    }

    /// A failed statement on the target, for people.
    pub fn target_error(e: &sqlx::Error) -> AppError {
        match e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42501") => {
                AppError::forbidden(
                    "The action login lacks the privilege for this (pg_signal_backend for sessions; superuser sessions need a superuser).",
                )
            }
            sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => AppError::Timeout {
                message: "The statement hit statement_timeout on the target.".into(),
            },
            _ => AppError::TargetUnavailable {
                message: format!("The target failed: {}.", describe_error(e)),
            },
        }
    }

    pub async fn signal(
        signal: Signal,
        target: String,
        pid: i32,
        backend_start: String,
        confirm: Option<String>,
    ) -> Result<SignalOutcome, AppError> {
        let req = ActionRequest::dba(signal.name(), &target, format!("pid {pid}"))?;
        let sql = signal.sql(pid);
        let mut params = json!({ "pid": pid, "backend_start": backend_start, "sql": sql });
        if pid <= 0 {
            let e = AppError::validation("pid must be a positive number.");
            return Err(req.refused(&params, e).await);
        }
        let Ok(started) = OffsetDateTime::parse(backend_start.trim(), &Rfc3339) else {
            let e = AppError::validation(
                "backend_start must be the session's backend_start as /api/activity/sessions gives it (RFC 3339).",
            );
            return Err(req.refused(&params, e).await);
        };
        let Some(t) = req.state.targets.get(&target) else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(&params, e).await);
        };
        let t = t.clone();
        let mut conn = match action_connection(&t, None).await {
            Ok(c) => c,
            Err(e) => return Err(req.refused(&params, e).await),
        };
        let checked = match session::check(&mut conn, pid).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let e = AppError::not_found(format!("No session with pid {pid} on this target."));
                return Err(req.refused(&params, e).await);
            }
            Err(e) => return Err(req.refused(&params, target_error(&e)).await),
        };
        params["usename"] = json!(checked.usename);
        params["application_name"] = json!(checked.application_name);
        params["database"] = json!(checked.datname);
        params["state"] = json!(checked.state);
        let own_logins = t.own_logins();
        if let Some(e) = session::refusal(&checked, started, confirm.as_deref(), &own_logins) {
            return Err(req.refused(&params, e).await);
        }
        req.intent(&params).await?;
        let result = match session::send(&mut conn, signal, pid, started, &own_logins).await {
            Ok(Some(signalled)) => Ok(outcome(
                signal,
                &target,
                pid,
                sql,
                signalled,
                checked.state.as_deref(),
            )),
            Ok(None) => Err(AppError::conflict(format!(
                "Session ended or pid reused: pid {pid} is no longer the session chosen. Nothing was signalled."
            ))),
            Err(e) => Err(target_error(&e)),
        };
        let _ = conn.close().await;
        if let Ok(o) = &result {
            params["signalled"] = json!(o.signalled);
            params["gone"] = json!(o.gone);
        }
        req.outcome(&params, result.as_ref().err()).await;
        result
    }

    /// What happened, in words; `state` is the session's state when it was checked, just before
    /// the signal (a cancel reaches only a running statement).
    fn outcome(
        signal: Signal,
        target: &str,
        pid: i32,
        sql: String,
        signalled: bool,
        state: Option<&str>,
    ) -> SignalOutcome {
        let idle = state.filter(|s| s.starts_with("idle"));
        let (gone, message) = match (signal, signalled) {
            (Signal::Cancel, true) if idle.is_some() => (
                None,
                format!(
                    "Nothing to cancel: pid {pid} was {} and running no statement, so nothing changed{}.",
                    idle.unwrap_or("idle"),
                    if idle.is_some_and(|s| s.starts_with("idle in transaction")) {
                        " (its transaction and locks stay: only Terminate ends them)"
                    } else {
                        ""
                    }
                ),
            ),
            (Signal::Cancel, true) => (
                None,
                format!(
                    "Sent a cancel to pid {pid}: its running statement (if any) stops; the session stays."
                ),
            ),
            (Signal::Cancel, false) => (
                None,
                format!("The server did not accept the cancel for pid {pid}."),
            ),
            (Signal::Terminate, true) => (
                Some(true),
                format!("pid {pid} is gone: its transaction was rolled back."),
            ),
            (Signal::Terminate, false) => (
                Some(false),
                format!(
                    "pid {pid} was sent terminate but was still there after {} ms.",
                    session::TERMINATE_WAIT_MS
                ),
            ),
        };
        SignalOutcome {
            target: target.to_owned(),
            pid,
            action: signal.name().to_owned(),
            sql,
            signalled,
            gone,
            message,
        }
    }
}
