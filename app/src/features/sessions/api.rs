//! `POST /api/actions/cancel_backend` and `/api/actions/terminate_backend`: dba and admin only,
//! on the target's action login, guarded (see `rules`) and audited (`audit::recorder`).

use leptos::prelude::*;

use super::model::SignalOutcome;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "actions/cancel_backend", output = crate::codec::Json)]
pub async fn cancel_backend(
    target: String,
    pid: i32,
    backend_start: String,
    confirm: Option<String>,
) -> Result<SignalOutcome, AppError> {
    server::signal(
        super::model::Signal::Cancel,
        target,
        pid,
        backend_start,
        confirm,
    )
    .await
}

#[server(prefix = "/api", endpoint = "actions/terminate_backend", output = crate::codec::Json)]
pub async fn terminate_backend(
    target: String,
    pid: i32,
    backend_start: String,
    confirm: Option<String>,
) -> Result<SignalOutcome, AppError> {
    server::signal(
        super::model::Signal::Terminate,
        target,
        pid,
        backend_start,
        confirm,
    )
    .await
}

#[cfg(feature = "ssr")]
mod server {
    use serde_json::json;
    use sqlx::Connection;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::super::db::{self, signal_error};
    use super::super::model::{Signal, SignalOutcome, TERMINATE_WAIT_MS};
    use super::super::rules;
    use crate::error::AppError;
    use crate::features::audit::model::Action;
    use crate::features::audit::recorder::Recorder;
    use crate::features::targets::conn::{LoginKind, open};

    pub async fn signal(
        signal: Signal,
        target: String,
        pid: i32,
        backend_start: String,
        confirm: Option<String>,
    ) -> Result<SignalOutcome, AppError> {
        let action = match signal {
            Signal::Cancel => Action::CancelBackend,
            Signal::Terminate => Action::TerminateBackend,
        };
        let req = Recorder::dba(action, &target, format!("pid {pid}"))?;
        let t = req.state.targets.get(&target).cloned();
        let own_logins = t.as_ref().map(|t| t.own_logins()).unwrap_or_default();
        let sql = signal.sql(pid, backend_start.trim(), &own_logins);
        let mut params = json!({ "pid": pid, "backend_start": backend_start, "sql": sql });
        if pid <= 0 {
            let e = AppError::validation("pid must be a positive number.");
            return Err(req.refused(Some(&params), e).await);
        }
        let Ok(started) = OffsetDateTime::parse(backend_start.trim(), &Rfc3339) else {
            let e = AppError::validation(
                "backend_start must be the session's backend_start as /api/activity/sessions gives it (RFC 3339).",
            );
            return Err(req.refused(Some(&params), e).await);
        };
        let Some(t) = t else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(Some(&params), e).await);
        };
        let mut conn = req
            .check(&params, open(&t, LoginKind::Action, None).await)
            .await?;
        let checked = match db::check(&mut conn, pid).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let e = AppError::not_found(format!("No session with pid {pid} on this target."));
                return Err(req.refused(Some(&params), e).await);
            }
            Err(e) => return Err(req.refused(Some(&params), signal_error(&e)).await),
        };
        params["usename"] = json!(checked.usename);
        params["application_name"] = json!(checked.application_name);
        params["database"] = json!(checked.datname);
        params["state"] = json!(checked.state);
        if let Some(e) = rules::refusal(&checked, started, confirm.as_deref(), &own_logins) {
            return Err(req.refused(Some(&params), e).await);
        }
        req.intent(&params).await?;
        let result = match db::send(&mut conn, signal, pid, started, &own_logins).await {
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
            Err(e) => Err(signal_error(&e)),
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
                    TERMINATE_WAIT_MS
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
