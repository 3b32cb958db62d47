//! `GET /api/locks/graph` (the latest graph, from the hub: a call never queries the target) and
//! `GET /api/locks/history` (lock episodes of the last days, from the store).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{EpisodeGroups, LockEpisode, LockGraph};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "locks/graph", input = GetUrl, output = crate::codec::Json)]
pub async fn get_lock_graph(target: String) -> Result<LockGraph, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
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

#[server(prefix = "/api", endpoint = "locks/history", input = GetUrl, output = crate::codec::Json)]
pub async fn lock_history(
    target: String,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Vec<LockEpisode>, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
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
    Ok(state
        .store
        .lock_episodes(&target, from_ms, to_ms, 1000)
        .await?)
}

/// Episodes grouped in memory from at most this many (a chain recurring every minute for the 7
/// days kept is ~10,000).
#[cfg(feature = "ssr")]
const GROUPED_MAX: i64 = 20_000;

/// `GET /api/locks/episodes?target=&offset=&limit=`: the last 7 days' lock episodes grouped by
/// their main root blocker (repeats of one chain are one group with a count), the group seen
/// last first; `limit` groups (1–100, default 20) from `offset`.
#[server(prefix = "/api", endpoint = "locks/episodes", input = GetUrl, output = crate::codec::Json)]
pub async fn lock_episode_groups(
    target: String,
    offset: Option<i64>,
    limit: Option<i64>,
) -> Result<EpisodeGroups, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    state.live.require(&target)?;
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(AppError::validation("offset must be 0 or more."));
    }
    let limit = match limit {
        None => 20,
        Some(n @ 1..=100) => n,
        Some(_) => return Err(AppError::validation("limit must be between 1 and 100.")),
    };
    let to_ms = crate::clock::to_millis(time::OffsetDateTime::now_utc());
    let from_ms = to_ms - 7 * 86_400_000;
    let episodes = state
        .store
        .lock_episodes(&target, from_ms, to_ms, GROUPED_MAX)
        .await?;
    let groups = super::episodes::group(&episodes);
    Ok(EpisodeGroups {
        target,
        from_ms,
        to_ms,
        total_groups: groups.len() as i64,
        total_episodes: episodes.len() as i64,
        groups: groups
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect(),
        offset,
    })
}

/// The graph at the peak of the episode of `target` that started at `started_ms` (as listed by
/// `lock_history`), from the store.
#[server(prefix = "/api", endpoint = "locks/peak", input = GetUrl, output = crate::codec::Json)]
pub async fn lock_peak(target: String, started_ms: i64) -> Result<LockGraph, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    state.live.require(&target)?;
    state
        .store
        .lock_episode_peak(&target, started_ms)
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "No lock episode of target {target} started at {started_ms}."
            ))
        })
}
