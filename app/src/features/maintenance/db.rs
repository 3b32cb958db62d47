//! The Maintenance feature's reads on a target: one function per `sql/*.sql` file (resolving
//! objects and their lock conflicts is in `options.rs`, beside the rules that use them).

use std::time::Instant;

use sqlx::{Connection, FromRow, PgConnection, PgPool};

use super::model::{MaintenanceTables, TableOrder, TableStat};
use crate::error::AppError;
use crate::features::targets::conn::{LoginKind, open, statement_error};
use crate::features::targets::monitor::Target;
use crate::sql::body;

/// Every table of `database` with its statistics, on the monitor login.
pub async fn tables(target: &Target, database: &str) -> Result<MaintenanceTables, AppError> {
    let mut conn = open(target, LoginKind::Monitor, Some(database)).await?;
    let started = Instant::now();
    let result = async {
        let databases: Vec<String> = sqlx::query_scalar(body(include_str!("sql/databases.sql")))
            .fetch_all(&mut conn)
            .await?;
        let tables: Vec<TableStat> = sqlx::query_as(body(include_str!("sql/tables.sql")))
            .fetch_all(&mut conn)
            .await?;
        Ok::<_, sqlx::Error>((databases, tables))
    }
    .await;
    let read_ms = started.elapsed().as_millis() as i64;
    let _ = conn.close().await;
    let (databases, tables) =
        result.map_err(|e| statement_error(LoginKind::Monitor, "Reading the tables", &e))?;
    Ok(MaintenanceTables {
        target: target.spec.id.clone(),
        database: database.to_owned(),
        databases,
        order: TableOrder::default(),
        read_at_ms: crate::clock::to_millis(time::OffsetDateTime::now_utc()),
        read_ms,
        total: tables.len(),
        tables,
    })
}

/// The object's quoted name now and this session's pid (`None`: the object is gone).
pub async fn object_name(conn: &mut PgConnection, oid: i64) -> sqlx::Result<Option<(String, i32)>> {
    sqlx::query_as(body(include_str!("sql/object_name.sql")))
        .bind(oid)
        .fetch_optional(conn)
        .await
}

/// A table's size and total size (with indexes) and the server's time (ms).
pub async fn table_size(
    conn: &mut PgConnection,
    oid: i64,
) -> sqlx::Result<(Option<i64>, Option<i64>, i64)> {
    sqlx::query_as(body(include_str!("sql/table_size.sql")))
        .bind(oid)
        .fetch_one(conn)
        .await
}

/// A row of `job_progress.sql`.
#[derive(Clone, Debug, FromRow)]
pub struct ProgressRow {
    pub pid: i32,
    pub command: String,
    pub phase: String,
    pub blocks_done: Option<i64>,
    pub blocks_total: Option<i64>,
}

/// The progress of these backends (the monitor pool: an on-demand read of the jobs endpoint).
pub async fn progress(pool: &PgPool, pids: &[i32]) -> sqlx::Result<Vec<ProgressRow>> {
    if pids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(body(include_str!("sql/job_progress.sql")))
        .bind(pids)
        .fetch_all(pool)
        .await
}

/// Cancels a job's running statement (`cancel_job.sql`).
/// False when the backend is gone (or is not the action login's any more).
pub async fn cancel_job(conn: &mut PgConnection, pid: i32) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar::<_, bool>(body(include_str!("sql/cancel_job.sql")))
            .bind(pid)
            .fetch_optional(conn)
            .await?
            .unwrap_or(false),
    )
}
