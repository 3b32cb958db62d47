//! `GET /api/maintenance/tables?target=&database=&order=&refresh=&limit=`: the tables of one database
//! with their vacuum and analyze state, read on demand over a short-lived monitor connection to
//! that database and kept 30 s (a finished job drops its database's copy), so any number of
//! viewers cost the target one catalog read per database per 30 s at most. Each table's size is
//! the catalog's estimate, or pgpanel's last exact measurement of it (VACUUM dialog, jobs) while
//! that is newer: one size per table everywhere, with its method and time.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::MaintenanceTables;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "maintenance/tables", input = GetUrl, output = crate::codec::Json)]
pub async fn list_tables(
    target: String,
    database: Option<String>,
    order: Option<String>,
    refresh: Option<String>,
    limit: Option<String>,
) -> Result<MaintenanceTables, AppError> {
    use super::model::TableOrder;
    use crate::error::choice;
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let order = choice(
        "order",
        order.as_deref(),
        TableOrder::parse,
        TableOrder::default(),
        "name, size, live, dead, dead_ratio, vacuumed, analyzed, mods, xid_age",
    )?;
    let refresh = crate::error::flag("refresh", refresh.as_deref(), false)?;
    let limit = crate::error::number("limit", limit, 1, 1_000_000)?;
    let t = state.targets.require(&target)?.clone();
    // Only a database that exists gets a cache entry or a connection.
    let database = t.database(database).await?;
    let mut out = state.maintenance.tables.get(&t, &database, refresh).await?;
    order.sort(&mut out.tables);
    out.order = order;
    if let Some(limit) = limit {
        out.tables
            .truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    Ok(out)
}
