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

/// The target a page shows: the one named in `?target=`, else the first configured one. Ok(None)
/// when no target is configured; an unknown id is a 404.
pub async fn pick_target(wanted: Option<String>) -> Result<Option<TargetOverview>, AppError> {
    let list = list_targets().await?;
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
