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

    /// Settings that leave parts of the Logs page empty, each with the line that fixes it.
    pub fn advice(&self, format: Option<&str>) -> Vec<String> {
        let f = self;
        let mut out = Vec::new();
        let set = |name: &str, value: &str, why: &str| {
            format!("{why}: ALTER SYSTEM SET {name} = {value}; SELECT pg_reload_conf();")
        };
        if f.log_min_duration_statement == "-1" {
            out.push(set(
                "log_min_duration_statement",
                "'500ms'",
                "Slow statements are not logged",
            ));
        }
        if !f.log_lock_waits {
            out.push(set("log_lock_waits", "on", "Lock waits are not logged"));
        }
        if !f.log_checkpoints {
            out.push(set("log_checkpoints", "on", "Checkpoints are not logged"));
        }
        if !f.log_connections {
            out.push(set("log_connections", "on", "Connections are not logged"));
        }
        if f.log_autovacuum_min_duration == "-1" {
            out.push(set(
                "log_autovacuum_min_duration",
                "'10s'",
                "Autovacuum runs are not logged",
            ));
        }
        if f.log_temp_files == "-1" {
            out.push(set("log_temp_files", "0", "Temporary files are not logged"));
        }
        let lc = f.lc_messages.to_ascii_lowercase();
        if !(lc.is_empty() || lc == "c" || lc == "posix" || lc.starts_with("en")) {
            out.push(format!(
                "Messages are written in {:?}: entries are classified by severity and SQLSTATE only. For full classification: ALTER SYSTEM SET lc_messages = 'C'; SELECT pg_reload_conf();",
                f.lc_messages
            ));
        }
        let stderr =
            format.map_or_else(|| f.formats().first() == Some(&"stderr"), |x| x == "stderr");
        if stderr && !(f.prefix.contains("%u") && f.prefix.contains("%d")) {
            out.push(format!(
                "log_line_prefix {:?} has no user or database: ALTER SYSTEM SET log_line_prefix = '%m [%p] %q%u@%d '; SELECT pg_reload_conf();",
                f.prefix
            ));
        }
        if !f.preload.as_deref().unwrap_or("").contains("pgaudit") {
            out.push("pgaudit is not loaded, so there are no audit records: add it to shared_preload_libraries (restart), CREATE EXTENSION pgaudit, ALTER SYSTEM SET pgaudit.log = 'ddl, role'.".into());
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
