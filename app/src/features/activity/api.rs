//! `GET /api/activity/sessions`: one row per backend from the sampler's latest read (memory; a
//! call never queries the target).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::features::activity::model::SessionRow;

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "activity/sessions", input = GetUrl, output = crate::codec::Json)]
pub async fn list_sessions(
    target: String,
    database: Option<String>,
    user: Option<String>,
    state: Option<String>,
    application: Option<String>,
    min_duration_ms: Option<i64>,
    q: Option<String>,
    pid: Option<i32>,
) -> Result<Vec<SessionRow>, AppError> {
    use super::filter::SessionFilter;
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state_ = crate::state::app_state()?;
    let hub = state_.live.require(&target)?;
    if min_duration_ms.is_some_and(|ms| ms < 0) {
        return Err(AppError::validation("min_duration_ms must be 0 or more."));
    }
    if pid.is_some_and(|p| p <= 0) {
        return Err(AppError::validation("pid must be a positive number."));
    }
    let filter = SessionFilter {
        database,
        user,
        state,
        application,
        min_duration_ms,
        q,
        pid,
        clients_only: false,
    };
    let frame = hub.activity().ok_or_else(|| AppError::TargetUnavailable {
        message: format!("No sample of target {target} yet: it is connecting or unreachable."),
    })?;
    if let Some(error) = &frame.error
        && frame.sessions.is_empty()
    {
        return Err(AppError::TargetUnavailable {
            message: format!("Target {target}: {error}"),
        });
    }
    Ok(frame
        .sessions
        .iter()
        .filter(|s| filter.matches(s))
        .cloned()
        .collect())
}

/// The whole query of session `pid` (the stream and the lock graph carry it cut), for the pages'
/// "full text" links; `Err` with a message for people when it cannot be read.
pub async fn whole_query(target: String, pid: i32) -> Result<String, String> {
    match list_sessions(target, None, None, None, None, None, None, Some(pid)).await {
        Ok(rows) => rows
            .into_iter()
            .next()
            .map(|r| r.query)
            .ok_or_else(|| "The session has ended.".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}
