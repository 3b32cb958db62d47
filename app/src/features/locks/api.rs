//! `GET /api/locks/graph` (the latest graph, from the hub: a call never queries the target) and
//! `GET /api/locks/history` (lock episodes of the last days, from the store).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{LockEpisode, LockGraph};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "locks/graph", input = GetUrl)]
pub async fn get_lock_graph(target: String) -> Result<LockGraph, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::session::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let hub = state.live.require(&target)?;
    let graph = hub.locks().ok_or_else(|| AppError::TargetUnavailable {
        message: format!("No lock sample of target {target} yet: it is connecting or unreachable."),
    })?;
    Ok((*graph).clone())
}

/// Longest history the API serves (the store keeps `store.metrics_retention_days`).
#[cfg(feature = "ssr")]
const HISTORY_MAX_DAYS: i64 = 31;

#[server(prefix = "/api", endpoint = "locks/history", input = GetUrl)]
pub async fn lock_history(
    target: String,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Vec<LockEpisode>, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::session::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    state.live.require(&target)?;
    let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
    let to_ms = to_ms.unwrap_or(now);
    let from_ms = from_ms.unwrap_or(to_ms - 7 * 86_400_000);
    if from_ms > to_ms {
        return Err(AppError::validation("from_ms must not be after to_ms."));
    }
    if to_ms - from_ms > HISTORY_MAX_DAYS * 86_400_000 {
        return Err(AppError::validation(format!(
            "The window may span at most {HISTORY_MAX_DAYS} days."
        )));
    }
    state
        .store
        .lock_episodes(&target, from_ms, to_ms)
        .await
        .map_err(|e| AppError::internal("reading lock episodes", e))
}

/// The graph at the peak of the episode of `target` that started at `started_ms` (as listed by
/// `lock_history`), from the store.
#[server(prefix = "/api", endpoint = "locks/peak", input = GetUrl)]
pub async fn lock_peak(target: String, started_ms: i64) -> Result<LockGraph, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::session::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    state.live.require(&target)?;
    state
        .store
        .lock_episode_peak(&target, started_ms)
        .await
        .map_err(|e| AppError::internal("reading a lock episode's peak", e))?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "No lock episode of target {target} started at {started_ms}."
            ))
        })
}
