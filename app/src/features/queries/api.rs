//! `GET /api/queries/top?target=&window=&order=&limit=&hide_own=` and `GET /api/queries/detail`:
//! read from the store and the hub; a call never queries the target. `hide_own=true` leaves out
//! the statements of pgpanel's own logins.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;

#[cfg(feature = "ssr")]
const WINDOWS: &str = "5m, 1h, 24h";

#[server(prefix = "/api", endpoint = "queries/top", input = GetUrl, output = crate::codec::Json)]
pub async fn top_queries(
    target: String,
    window: Option<String>,
    order: Option<String>,
    limit: Option<u32>,
    hide_own: Option<String>,
) -> Result<super::model::TopQueries, AppError> {
    use super::model::{Order, Window};
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    use crate::error::choice;
    let (hub, monitored) = state.live_target(&target)?;
    let window = choice(
        "window",
        window.as_deref(),
        Window::parse,
        Window::default(),
        WINDOWS,
    )?;
    let order = choice(
        "order",
        order.as_deref(),
        Order::parse,
        Order::default(),
        "total_time, mean_time, calls, rows, shared_blks_hit, shared_blks_read, temp_blks, \
         io_time, wal_bytes, lock_wait",
    )?;
    let hide_own = match hide_own.as_deref().map(str::trim) {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AppError::validation("hide_own must be true or false.")),
    };
    let limit = match limit {
        None => 50,
        Some(n @ 1..=500) => n as usize,
        Some(_) => return Err(AppError::validation("limit must be between 1 and 500.")),
    };
    super::top::top(
        &state.store,
        hub,
        monitored,
        window,
        order,
        limit,
        hide_own,
        crate::clock::to_millis(time::OffsetDateTime::now_utc()),
    )
    .await
}

#[server(prefix = "/api", endpoint = "queries/detail", input = GetUrl, output = crate::codec::Json)]
pub async fn query_detail(
    target: String,
    queryid: String,
    window: Option<String>,
) -> Result<super::model::QueryDetail, AppError> {
    use super::model::Window;
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let hub = state.live.require(&target)?;
    let queryid: i64 = queryid.trim().parse().map_err(|_| {
        AppError::validation("queryid must be a whole number (pg_stat_statements' queryid).")
    })?;
    let window = crate::error::choice(
        "window",
        window.as_deref(),
        Window::parse,
        Window::H1,
        WINDOWS,
    )?;
    super::top::detail(
        &state.store,
        hub,
        queryid,
        window,
        crate::clock::to_millis(time::OffsetDateTime::now_utc()),
    )
    .await
}
