//! `GET /api/targets`: every configured target with status, version, capabilities and database
//! sizes, read from memory (the monitor tasks keep it fresh; a call never queries a target).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::TargetOverview;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "targets", input = GetUrl, output = crate::codec::Json)]
pub async fn list_targets() -> Result<Vec<TargetOverview>, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    Ok(state.targets.overviews())
}

/// How long a tab reuses the target list it read (a navigation within this costs no request).
pub const REUSE_MS: i128 = 30_000;

/// The target list this tab read last, and when (ms): the shell reads it once per page load and
/// every page picks its target from it, so a navigation asks the server only for the page's own
/// data. Older than [`REUSE_MS`], it is read again.
#[derive(Clone, Copy)]
pub struct KnownTargets(StoredValue<Option<(i128, Vec<TargetOverview>)>>);

fn now_ms() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

impl KnownTargets {
    pub fn provide() -> Self {
        let known = Self(StoredValue::new(None));
        provide_context(known);
        known
    }

    /// Remembers a list read now.
    pub fn remember(&self, list: &[TargetOverview]) {
        self.0.set_value(Some((now_ms(), list.to_vec())));
    }

    #[cfg_attr(feature = "ssr", allow(dead_code))]
    fn fresh(&self) -> Option<Vec<TargetOverview>> {
        self.0.with_value(|v| {
            v.as_ref()
                .filter(|(at, _)| now_ms() - at < REUSE_MS)
                .map(|(_, list)| list.clone())
        })
    }
}

/// The targets: the tab's recent list when there is one (in the browser), else `/api/targets`.
pub async fn targets() -> Result<Vec<TargetOverview>, AppError> {
    let known = use_context::<KnownTargets>();
    // On the server every render reads the registry (memory); only the browser reuses.
    #[cfg(not(feature = "ssr"))]
    if let Some(list) = known.and_then(|k| k.fresh()) {
        return Ok(list);
    }
    let list = list_targets().await?;
    #[cfg(not(feature = "ssr"))]
    if let Some(k) = known {
        k.remember(&list);
    }
    #[cfg(feature = "ssr")]
    let _ = known;
    Ok(list)
}

/// The target a page shows: the one named in `?target=`, else the first configured one. Ok(None)
/// when no target is configured; an unknown id is a 404.
pub async fn pick_target(wanted: Option<String>) -> Result<Option<TargetOverview>, AppError> {
    let list = targets().await?;
    match wanted.filter(|w| !w.is_empty()) {
        None => Ok(list.into_iter().next()),
        Some(id) => match list.into_iter().find(|t| t.id == id) {
            Some(t) => Ok(Some(t)),
            None => {
                let shown: String = id.chars().take(64).collect();
                Err(AppError::not_found(format!(
                    "There is no target {shown:?}."
                )))
            }
        },
    }
}
