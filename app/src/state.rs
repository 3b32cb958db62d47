//! What every server function and route handler can reach: the targets, the store, options.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::*;
use time::OffsetDateTime;

use crate::error::AppError;
use crate::features::auth::service::Auth;
use crate::features::live::Live;
use crate::features::targets::registry::TargetRegistry;
use crate::store::Store;

#[derive(Clone, Debug)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub targets: Arc<TargetRegistry>,
    pub live: Arc<Live>,
    pub store: Store,
    pub auth: Arc<Auth>,
    /// The Maintenance feature's state (its jobs and table cache), opaque to everyone else.
    pub maintenance: Arc<crate::features::maintenance::State>,
    /// The Advice feature's state (which analyses are running), opaque to everyone else.
    pub advice: Arc<crate::features::advice::State>,
    /// The Logs feature's state (how each target's log is being read), opaque to everyone else.
    pub logs: Arc<crate::features::logs::State>,
    /// This instance as the store's table of instances knows it (`features::cluster`).
    pub instance: Arc<crate::features::cluster::Instance>,
    pub started_at: OffsetDateTime,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// The hub and the monitor of the target named in a request; an unknown id is a 404.
    pub fn live_target(
        &self,
        id: &str,
    ) -> Result<
        (
            &Arc<crate::features::live::hub::TargetHub>,
            &Arc<crate::features::targets::monitor::Target>,
        ),
        AppError,
    > {
        let hub = self.live.require(id)?;
        let target = self
            .targets
            .get(id)
            .ok_or_else(|| AppError::not_found("There is no such target."))?;
        Ok((hub, target))
    }
}

/// The state, from the context the router provides to every render and server function.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        AppError::internal("reading the application state", "AppState not in context")
    })
}
