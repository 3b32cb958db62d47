//! Catalog queries for target facts: one function per `sql/*.sql` file, each taking an executor.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;

use super::model::DatabaseSize;
use crate::sql::body;

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct ServerInfo {
    pub version: String,
    pub version_num: i32,
    pub in_recovery: bool,
    pub started_at: OffsetDateTime,
    pub login: String,
    pub login_ident: String,
    pub database: String,
    pub database_ident: String,
    pub max_connections: i32,
    pub has_pg_monitor: bool,
    pub is_superuser: bool,
    pub shared_preload_libraries: Option<String>,
    pub track_io_timing: bool,
    pub logging_collector: bool,
    /// pgpanel.read_log exists and the login may execute it.
    pub log_reader: bool,
}

/// What the action login may do (action_login.sql).
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct ActionLoginInfo {
    pub found: bool,
    pub login_ident: String,
    pub superuser: bool,
    pub can_login: bool,
    pub signal_backend: bool,
    pub read_all_stats: bool,
    /// pg_maintain (PostgreSQL 17+); None before 17.
    pub maintain: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct ExtensionInfo {
    pub name: String,
    pub default_version: Option<String>,
    pub installed_version: Option<String>,
}

pub async fn server_info(db: impl PgExecutor<'_>) -> sqlx::Result<ServerInfo> {
    sqlx::query_as(body(include_str!("sql/server_info.sql")))
        .fetch_one(db)
        .await
}

pub async fn list_extensions(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ExtensionInfo>> {
    sqlx::query_as(body(include_str!("sql/list_extensions.sql")))
        .fetch_all(db)
        .await
}

/// (name, version) of the extensions pgpanel can use that are created, by name.
pub async fn installed_extensions(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(body(include_str!("sql/installed_extensions.sql")))
        .fetch_all(db)
        .await
}

/// Whether `listed` (a read of list_extensions.sql) still says what `installed` does.
pub fn same_installed(listed: &[ExtensionInfo], installed: &[(String, String)]) -> bool {
    let mut from_list: Vec<(&str, &str)> = listed
        .iter()
        .filter_map(|e| Some((e.name.as_str(), e.installed_version.as_deref()?)))
        .collect();
    from_list.sort_unstable();
    let mut now: Vec<(&str, &str)> = installed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    now.sort_unstable();
    from_list == now
}

pub async fn action_login(db: impl PgExecutor<'_>, name: &str) -> sqlx::Result<ActionLoginInfo> {
    sqlx::query_as(body(include_str!("sql/action_login.sql")))
        .bind(name)
        .fetch_one(db)
        .await
}

pub async fn database_sizes(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<DatabaseSize>> {
    sqlx::query_as(body(include_str!("sql/database_sizes.sql")))
        .fetch_all(db)
        .await
}
