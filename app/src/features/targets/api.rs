//! `GET /api/targets`: every configured target with status, version, capabilities and database
//! sizes, read from memory (the monitor tasks keep it fresh; a call never queries a target).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::TargetOverview;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "targets", input = GetUrl)]
pub async fn list_targets() -> Result<Vec<TargetOverview>, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::session::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    Ok(state.targets.overviews())
}
