//! The log reads on the monitor login's pool: the log settings (`sql/log_settings.sql`), the
//! files (`sql/log_files.sql`, `pg_ls_logdir()`) and byte ranges through pgpanel's reader
//! function (`sql/read_log.sql`).

use sqlx::{PgPool, Row};

use crate::sql::body;

/// The reader function a superuser installs once (`reader.sql`: schema, function, no
/// grants; `pgpanel setup-sql` adds the monitor login's).
pub const READER_SQL: &str = include_str!("reader.sql");

/// How the server writes its log, as the monitor login sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFacts {
    pub collector: bool,
    pub destination: String,
    /// None without pg_read_all_settings.
    pub directory: Option<String>,
    pub prefix: String,
    pub timezone: String,
    pub zone_offset_s: i32,
    pub lc_messages: String,
    pub log_min_duration_statement: String,
    pub log_lock_waits: bool,
    pub log_connections: bool,
    pub log_checkpoints: bool,
    pub log_autovacuum_min_duration: String,
    pub log_temp_files: String,
    pub preload: Option<String>,
    pub has_reader: bool,
    pub can_read: bool,
    /// `rds`, `cloudsql`, `azure`, `alloydb` on a managed service.
    pub managed_by: Option<String>,
    /// The database the reader function is looked up in (the monitor login's).
    pub database: String,
}

impl LogFacts {
    /// The formats log_destination writes, best first (jsonlog and csvlog only with the
    /// collector).
    pub fn formats(&self) -> Vec<&'static str> {
        let has = |f: &str| self.destination.split(',').any(|d| d.trim() == f);
        let mut out = Vec::new();
        if self.collector && has("jsonlog") {
            out.push("jsonlog");
        }
        if self.collector && has("csvlog") {
            out.push("csvlog");
        }
        if has("stderr") {
            out.push("stderr");
        }
        out
    }
}

pub async fn facts(pool: &PgPool) -> Result<LogFacts, sqlx::Error> {
    let r = sqlx::query(body(include_str!("sql/log_settings.sql")))
        .fetch_one(pool)
        .await?;
    Ok(LogFacts {
        collector: r.try_get("collector")?,
        destination: r.try_get("destination")?,
        directory: r.try_get("directory")?,
        prefix: r.try_get("prefix")?,
        timezone: r.try_get("timezone")?,
        zone_offset_s: r.try_get("zone_offset_s")?,
        lc_messages: r.try_get("lc_messages")?,
        log_min_duration_statement: r.try_get("log_min_duration_statement")?,
        log_lock_waits: r.try_get("log_lock_waits")?,
        log_connections: r.try_get("log_connections")?,
        log_checkpoints: r.try_get("log_checkpoints")?,
        log_autovacuum_min_duration: r.try_get("log_autovacuum_min_duration")?,
        log_temp_files: r.try_get("log_temp_files")?,
        preload: r.try_get("preload")?,
        has_reader: r.try_get("has_reader")?,
        can_read: r.try_get("can_read")?,
        managed_by: r.try_get("managed_by")?,
        database: r.try_get("database")?,
    })
}

/// A file in the log directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    pub name: String,
    pub size: i64,
    pub modified_ms: i64,
}

pub async fn files(pool: &PgPool) -> Result<Vec<LogFile>, sqlx::Error> {
    let rows = sqlx::query(body(include_str!("sql/log_files.sql")))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let modified: time::OffsetDateTime = r.try_get("modification")?;
            Ok(LogFile {
                name: r.try_get("name")?,
                size: r.try_get("size")?,
                modified_ms: crate::clock::to_millis(modified),
            })
        })
        .collect()
}

/// Up to `len` bytes of `file` from `offset`; `None` when the file is gone.
pub async fn read(
    pool: &PgPool,
    file: &str,
    offset: i64,
    len: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar(body(include_str!("sql/read_log.sql")))
        .bind(file)
        .bind(offset)
        .bind(len)
        .fetch_one(pool)
        .await
}
