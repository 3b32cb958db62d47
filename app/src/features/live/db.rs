//! The sampler's catalog queries: one function per `sql/*.sql` file, each taking an executor.

use sqlx::{FromRow, PgExecutor};

use super::model::{StatementKey, StatementText};
use crate::sql::body;
use time::OffsetDateTime;

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

pub async fn database_stats(db: impl PgExecutor<'_>) -> sqlx::Result<DatabaseCounters> {
    sqlx::query_as(body(include_str!("sql/database_stats.sql")))
        .fetch_one(db)
        .await
}

/// Checkpoints, WAL and xid age, from the statement for the server's major (`version_num`).
pub async fn server_counters(
    db: impl PgExecutor<'_>,
    version_num: i32,
) -> sqlx::Result<ServerCounters> {
    let sql = if version_num >= 170_000 {
        body(include_str!("sql/server_counters_17.sql"))
    } else {
        body(include_str!("sql/server_counters.sql"))
    };
    sqlx::query_as(sql).fetch_one(db).await
}

pub async fn replication(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ReplicationRow>> {
    sqlx::query_as(body(include_str!("sql/replication.sql")))
        .fetch_all(db)
        .await
}

/// The entries whose total execution time is not in `known` (every entry when `None`), read
/// with the statement for the server's major version (`version_num`).
pub async fn statements(
    db: impl PgExecutor<'_>,
    version_num: i32,
    known: Option<&[f64]>,
) -> sqlx::Result<Vec<StatementCounters>> {
    let sql = if version_num >= 170_000 {
        body(include_str!("sql/statements_17.sql"))
    } else {
        body(include_str!("sql/statements.sql"))
    };
    sqlx::query_as(sql)
        .bind(known)
        // Unnamed, so every read is planned with its array as a constant, which PostgreSQL
        // hashes: a cached generic plan would compare each entry with every known total.
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
