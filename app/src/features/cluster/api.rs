//! `GET /api/cluster`: admin only. Read from the store on request; nothing is changed.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::ClusterView;
use crate::error::AppError;

/// The instances on this store, with their state and the targets each samples.
#[server(prefix = "/api", endpoint = "cluster", input = GetUrl, output = crate::codec::Json)]
pub async fn cluster() -> Result<ClusterView, AppError> {
    use super::model::{InstanceView, state_of};
    use crate::clock::from_millis;
    use crate::features::auth::model::{Access, Role};
    use crate::store::Backend;

    crate::features::auth::context::require_user(Access::AtLeast(Role::Admin))?;
    let state = crate::state::app_state()?;
    let (now_ms, records) = state.store.instances().await?;
    let instances = records
        .into_iter()
        .map(|r| InstanceView {
            state: state_of(
                now_ms,
                r.heartbeat_at_ms,
                r.stopped_at_ms.is_some(),
                super::LOST_AFTER_MS,
            ),
            this: r.id == state.instance.id,
            heartbeat_age_ms: (now_ms - r.heartbeat_at_ms).max(0),
            started_at: from_millis(r.started_at_ms),
            heartbeat_at: from_millis(r.heartbeat_at_ms),
            stopped_at: r.stopped_at_ms.map(from_millis),
            id: r.id,
            version: r.version,
            host: r.host,
            listen: r.listen,
            targets: r.targets,
        })
        .collect();
    Ok(ClusterView {
        store: match state.store.backend() {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
        .into(),
        now: from_millis(now_ms),
        instances,
    })
}
