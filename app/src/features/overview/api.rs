//! `GET /api/overview`: one target's facts, its latest live frame and its history over a range —
//! from the hub's memory for the last hour, from the store's minute roll-ups before that.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::features::live::model::OverviewData;

#[server(prefix = "/api", endpoint = "overview", input = GetUrl, output = crate::codec::Json)]
pub async fn get_overview(target: String, range: Option<String>) -> Result<OverviewData, AppError> {
    use crate::features::auth::model::{Access, Role};
    use crate::features::live::model::Range;
    use crate::features::live::series::{bucket_fast, bucket_slow};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let (hub, monitored) = state.live_target(&target)?;
    let range = crate::error::choice(
        "range",
        range.as_deref(),
        Range::parse,
        Range::default(),
        "15m, 1h, 6h, 24h, 7d",
    )?;
    let now_ms = crate::clock::to_millis(time::OffsetDateTime::now_utc());
    let from_ms = now_ms - range.millis();
    let (mut fast, mut slow, memory_from) = hub.recent(from_ms);
    // Before what memory holds (pgpanel restarted, or a long range): the stored minutes.
    let stored_until = memory_from.unwrap_or(now_ms).max(from_ms);
    if stored_until > from_ms {
        let (f, s) = state
            .store
            .metric_minutes(&target, from_ms, stored_until)
            .await?;
        fast.splice(0..0, f);
        slow.splice(0..0, s);
    }
    let step = range.step_ms();
    Ok(OverviewData {
        target: monitored.overview(),
        range,
        step_ms: step,
        now_ms,
        fast: bucket_fast(&fast, step),
        slow: bucket_slow(&slow, step),
        latest: hub.overview(),
    })
}

/// `GET /api/fleet`: every target with its health summary, worst first.
#[server(prefix = "/api", endpoint = "fleet", input = GetUrl, output = crate::codec::Json)]
pub async fn list_fleet() -> Result<Vec<super::model::FleetRow>, AppError> {
    use super::model::{FleetRow, worst_first};
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let mut rows: Vec<FleetRow> = state
        .targets
        .all()
        .iter()
        .map(|t| {
            let frame = state.live.hub(&t.spec.id).and_then(|h| h.overview());
            FleetRow {
                target: t.overview(),
                health: frame.as_ref().and_then(|f| f.health.clone()),
                commits: frame
                    .as_ref()
                    .and_then(|f| f.fast.as_ref())
                    .and_then(|p| p.commits),
                at_ms: frame.map(|f| f.at_ms),
            }
        })
        .collect();
    rows.sort_by(worst_first);
    Ok(rows)
}
