//! The sampler's catalog queries: one function per `sql/*.sql` file, each taking an executor.

use sqlx::{FromRow, PgExecutor};

use crate::features::targets::db::body;
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct ActivityRow {
    pub sampled_at: OffsetDateTime,
    pub pid: i32,
    pub backend_start: Option<OffsetDateTime>,
    pub backend_type: String,
    pub datid: Option<i64>,
    pub usesysid: Option<i64>,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub xact_start: Option<OffsetDateTime>,
    pub query_start: Option<OffsetDateTime>,
    pub state_change: Option<OffsetDateTime>,
    /// The top-level transaction id, once the transaction has written (what a row-lock waiter
    /// waits for: the lock graph describes such waits without reading pg_locks).
    pub backend_xid: Option<String>,
    pub query: String,
    pub is_self: bool,
    /// Every backend's pid, on pgpanel's own row only (see `incremental`).
    pub alive: Option<Vec<i32>>,
}

/// Cluster-wide sums of pg_stat_database.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct DatabaseCounters {
    pub xact_commit: i64,
    pub xact_rollback: i64,
    pub blks_read: i64,
    pub blks_hit: i64,
    pub tup_returned: i64,
    pub tup_fetched: i64,
    pub tup_inserted: i64,
    pub tup_updated: i64,
    pub tup_deleted: i64,
    pub temp_bytes: i64,
    pub deadlocks: i64,
    pub conflicts: i64,
    pub stats_reset: Option<OffsetDateTime>,
    pub server_started: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct ServerCounters {
    pub checkpoints_timed: i64,
    pub checkpoints_req: i64,
    pub buffers_checkpoint: i64,
    pub buffers_backend: i64,
    pub bgwriter_reset: Option<OffsetDateTime>,
    pub wal_bytes: i64,
    pub wal_reset: Option<OffsetDateTime>,
    pub max_xid_age: Option<i64>,
    pub oldest_xid_database: Option<String>,
}

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct ReplicationRow {
    pub kind: String,
    pub name: String,
    pub state: String,
    pub lag_bytes: Option<i64>,
    pub lag_ms: Option<f64>,
    pub active: bool,
}

/// The identity of a pg_stat_statements entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatementKey {
    pub queryid: i64,
    pub dbid: i64,
    pub userid: i64,
    pub toplevel: bool,
}

#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct StatementCounters {
    pub queryid: i64,
    pub dbid: i64,
    pub userid: i64,
    pub toplevel: bool,
    pub calls: i64,
    pub exec_ms: f64,
    pub plan_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    pub temp_blks_read: i64,
    pub temp_blks_written: i64,
    /// Over the entry's life (not additive).
    pub min_ms: f64,
    pub max_ms: f64,
    /// Sum of squared execution times (cumulative: deltas give a window's spread).
    pub exec_sumsq: f64,
    pub io_read_ms: f64,
    pub io_write_ms: f64,
    pub wal_bytes: i64,
}

impl StatementCounters {
    pub fn key(&self) -> StatementKey {
        StatementKey {
            queryid: self.queryid,
            dbid: self.dbid,
            userid: self.userid,
            toplevel: self.toplevel,
        }
    }
}

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct StatementsInfo {
    pub dealloc: i64,
    pub stats_reset: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct StatementText {
    pub queryid: i64,
    pub dbid: i64,
    pub userid: i64,
    pub toplevel: bool,
    pub database_name: String,
    pub user_name: String,
    pub query: String,
}

/// The backends changed since `since` (every backend when `None`) and the pids of all.
pub async fn activity(
    db: impl PgExecutor<'_>,
    since: Option<OffsetDateTime>,
) -> sqlx::Result<Vec<ActivityRow>> {
    sqlx::query_as(body(include_str!("sql/activity.sql")))
        .bind(since)
        .fetch_all(db)
        .await
}

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct Name {
    pub kind: String,
    pub oid: i64,
    pub name: String,
}

/// Database and role names by OID: `(databases, roles)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    pub databases: std::collections::HashMap<i64, String>,
    pub roles: std::collections::HashMap<i64, String>,
}

impl Names {
    /// The OIDs of the roles named `logins`, sorted.
    pub fn role_oids(&self, logins: &[&str]) -> Vec<i64> {
        let mut oids: Vec<i64> = self
            .roles
            .iter()
            .filter(|(_, name)| logins.contains(&name.as_str()))
            .map(|(oid, _)| *oid)
            .collect();
        oids.sort_unstable();
        oids
    }
}

pub async fn names(db: impl PgExecutor<'_>) -> sqlx::Result<Names> {
    let rows: Vec<Name> = sqlx::query_as(body(include_str!("sql/names.sql")))
        .fetch_all(db)
        .await?;
    let mut names = Names::default();
    for n in rows {
        let map = if n.kind == "database" {
            &mut names.databases
        } else {
            &mut names.roles
        };
        map.insert(n.oid, n.name);
    }
    Ok(names)
}

pub async fn database_stats(db: impl PgExecutor<'_>) -> sqlx::Result<DatabaseCounters> {
    sqlx::query_as(body(include_str!("sql/database_stats.sql")))
        .fetch_one(db)
        .await
}

pub async fn server_counters(db: impl PgExecutor<'_>) -> sqlx::Result<ServerCounters> {
    sqlx::query_as(body(include_str!("sql/server_counters.sql")))
        .fetch_one(db)
        .await
}

pub async fn replication(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ReplicationRow>> {
    sqlx::query_as(body(include_str!("sql/replication.sql")))
        .fetch_all(db)
        .await
}

/// The entries whose fingerprint is not in `known` (every entry when `None`), read with the
/// statement for the server's major version (`version_num`).
pub async fn statements(
    db: impl PgExecutor<'_>,
    version_num: i32,
    known: Option<&[i64]>,
) -> sqlx::Result<Vec<StatementCounters>> {
    let sql = if version_num >= 170_000 {
        body(include_str!("sql/statements_17.sql"))
    } else {
        body(include_str!("sql/statements.sql"))
    };
    sqlx::query_as(sql)
        .bind(known)
        // Unnamed, so every read is planned with the array's real size: a plan cached for
        // "about 10 fingerprints" could loop over 5,000 of them for each of 5,000 entries.
        .persistent(false)
        .fetch_all(db)
        .await
}

pub async fn statements_info(db: impl PgExecutor<'_>) -> sqlx::Result<StatementsInfo> {
    sqlx::query_as(body(include_str!("sql/statements_info.sql")))
        .fetch_one(db)
        .await
}

pub async fn statement_texts(
    db: impl PgExecutor<'_>,
    queryids: &[i64],
) -> sqlx::Result<Vec<StatementText>> {
    sqlx::query_as(body(include_str!("sql/statement_texts.sql")))
        .bind(queryids)
        .fetch_all(db)
        .await
}
