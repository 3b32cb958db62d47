//! pgpanel's own data. A SQLite file by default (nothing to set up); a PostgreSQL database when
//! several pgpanel instances share state. Both go through sqlx's `Any` driver so every query is
//! written once; each backend has its own migrations folder (types differ a little).
//!
//! Times are stored as integer milliseconds since the Unix epoch in both backends.

mod accounts;
mod advice;
mod audit;
mod cluster;
mod jobs;
mod leases;
mod locks;
mod logs;
mod metrics;
mod sessions;

pub use accounts::{Attempt, AttemptsOf, LoginRecord, UserChange, UserRecord};
pub use audit::{AuditEvent, AuditQuery, StoredAudit};
pub use cluster::InstanceRecord;
pub use leases::{FRAMES_CHANNEL, LeaseRecord};
pub use logs::{LogCursor, LogQuery, MinuteDelta, NewLogEntry, StoredBackfill, TextPlan};
pub use metrics::{CachedText, StatementEvent};
pub use sessions::SessionRecord;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Executor, Row};
use time::OffsetDateTime;

use crate::clock::{from_millis, to_millis as millis};
use crate::error::AppError;
use crate::features::targets::model::{DatabaseSize, DatabaseSizes};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL must start with sqlite: or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    #[error("cannot create the store directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the store: {0}")]
    Open(sqlx::Error),
    #[error("cannot migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the store's schema is newer than this pgpanel: it has migration {found}, this version \
         knows migrations up to {known}. A newer pgpanel upgraded it; run that version (or a \
         later one), or point store.url at another store"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("already exists")]
    Duplicate,
    #[error("not found")]
    NotFound,
    #[error("this is the last enabled admin")]
    LastAdmin,
    #[error("unexpected value in the store: {0}")]
    Corrupt(String),
}

/// The one mapping from a store failure to what the user sees: an outage is a 503 everywhere
/// (logged here with its detail), a constraint the API's 404 or 409.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate => AppError::conflict("That already exists."),
            StoreError::NotFound => AppError::not_found("Not found."),
            StoreError::LastAdmin => {
                AppError::conflict("That is the last enabled admin: make another admin first.")
            }
            other => {
                tracing::error!(error = %other, "pgpanel's store failed");
                AppError::Unavailable {
                    message: "pgpanel cannot reach its own store right now; nothing was changed. \
                              Try again in a moment."
                        .into(),
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Where it is (for a PostgreSQL store's LISTEN connection).
    url: Hidden,
}

/// A store URL may hold a password: its `Debug` never shows it.
#[derive(Clone)]
struct Hidden(std::sync::Arc<str>);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<store url>")
    }
}

impl From<&str> for Hidden {
    fn from(url: &str) -> Self {
        Self(url.into())
    }
}

/// A pool on the store, every connection set up alike: SQLite in WAL mode with a busy timeout,
/// PostgreSQL sessions named `pgpanel-store` with statement and lock timeouts.
async fn connect(url: &str, backend: Backend, max: u32) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                match backend {
                    // WAL lets the HTTP handlers read while a sampler writes; reads through a
                    // shared memory map, not each connection's own page cache (a log search
                    // reads megabytes of the text index).
                    Backend::Sqlite => {
                        conn.execute(
                            "pragma journal_mode = wal; pragma busy_timeout = 5000; \
                             pragma synchronous = normal; pragma foreign_keys = on; \
                             pragma mmap_size = 268435456;",
                        )
                        .await?;
                    }
                    Backend::Postgres => {
                        conn.execute(
                            "set application_name = 'pgpanel-store'; \
                             set statement_timeout = '10s'; set lock_timeout = '5s';",
                        )
                        .await?;
                    }
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(StoreError::Open)
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `url`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend =
            Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let pool = connect(
            &url,
            backend,
            match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 5,
            },
        )
        .await?;
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
        };
        // Two instances starting at once migrate one after the other: sqlx holds an advisory
        // lock on PostgreSQL (SQLite's write lock on a file) for the whole run, and the second
        // finds nothing left to do.
        match migrator.run(&pool).await {
            Ok(()) => {}
            Err(sqlx::migrate::MigrateError::VersionMissing(found)) => {
                pool.close().await;
                return Err(StoreError::NewerSchema {
                    found,
                    known: migrator.iter().map(|m| m.version).max().unwrap_or(0),
                });
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Self {
            pool,
            backend,
            url: url.as_str().into(),
        })
    }

    /// The pool, for tests that must reach past the store's API (e.g. to prove that audit rows
    /// cannot be updated).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A PostgreSQL store's connect options (LISTEN needs a connection of its own).
    pub fn postgres_options(&self) -> Option<sqlx::postgres::PgConnectOptions> {
        (self.backend == Backend::Postgres)
            .then(|| self.url.0.parse::<sqlx::postgres::PgConnectOptions>().ok())
            .flatten()
            .map(|o| {
                o.application_name("pgpanel-store")
                    .options([("statement_timeout", "10s"), ("lock_timeout", "5s")])
            })
    }

    /// A transaction that will write: on SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`, waiting up to the busy timeout), so it never fails half-way when another
    /// connection wrote between its first read and its first write ("database is locked").
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool (see [`close_pool`]).
    pub async fn close(&self) {
        close_pool(&self.pool, "store").await;
    }

    pub async fn record_database_sizes(
        &self,
        target_id: &str,
        sizes: &DatabaseSizes,
    ) -> Result<(), StoreError> {
        let at = millis(sizes.measured_at);
        let mut tx = self.pool.begin().await?;
        for item in &sizes.items {
            sqlx::query(
                "insert into database_size_samples \
                 (target_id, measured_at_ms, database_name, size_bytes) values ($1, $2, $3, $4)",
            )
            .bind(target_id)
            .bind(at)
            .bind(&item.name)
            .bind(item.size_bytes)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The most recent sample of every database of a target.
    pub async fn latest_database_sizes(
        &self,
        target_id: &str,
    ) -> Result<Option<DatabaseSizes>, StoreError> {
        let rows = sqlx::query(
            "select database_name, size_bytes, measured_at_ms from database_size_samples \
             where target_id = $1 and measured_at_ms = \
               (select max(measured_at_ms) from database_size_samples where target_id = $1) \
             order by database_name",
        )
        .bind(target_id)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let measured_at = from_millis(first.try_get("measured_at_ms")?);
        let items = rows
            .iter()
            .map(|r| {
                Ok(DatabaseSize {
                    name: r.try_get("database_name")?,
                    size_bytes: r.try_get("size_bytes")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(DatabaseSizes { measured_at, items }))
    }

    /// Deletes size samples older than `keep`; returns how many rows went.
    pub async fn prune_database_sizes(&self, keep: Duration) -> Result<u64, StoreError> {
        let cutoff = millis(OffsetDateTime::now_utc() - keep);
        let done = sqlx::query("delete from database_size_samples where measured_at_ms < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

pub(crate) enum Bind<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
}

/// A WHERE clause under construction: conditions with numbered placeholders, values in order.
#[derive(Default)]
pub(crate) struct Where<'a> {
    pub(crate) conditions: Vec<String>,
    pub(crate) binds: Vec<Bind<'a>>,
}

impl<'a> Where<'a> {
    /// Binds a value; returns its placeholder.
    pub(crate) fn bind(&mut self, b: Bind<'a>) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub(crate) fn add(&mut self, column: &str, op: &str, b: Bind<'a>) {
        let mark = self.bind(b);
        self.conditions.push(format!("{column} {op} {mark}"));
    }
}

/// `text` for a LIKE pattern with `\` as the escape character.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A statement with the values of a [`Where`] bound in order.
pub(crate) fn query_with<'q>(
    sql: &'q str,
    binds: Vec<Bind<'q>>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = match b {
            Bind::Text(s) => query.bind(s),
            Bind::Owned(s) => query.bind(s),
            Bind::Int(i) => query.bind(i),
        };
    }
    query
}

/// Normalises a sqlite URL: creates the parent directory and asks sqlx to create the file.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    if url.contains(":memory:") {
        return Ok(url.to_owned());
    }
    let opts =
        SqliteConnectOptions::from_str(url).map_err(|_| StoreError::UnsupportedUrl(url.into()))?;
    let file = opts.get_filename();
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// The default store file inside a data directory.
pub fn default_sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("pgpanel.db").display())
}

/// Closes a pool, the store's or a target's: new work is refused at once; connections in use get
/// 2 s to come back. Bounded because sqlx's `close` can wait forever when a connection's return
/// races it (it checks "closed", pings, then puts the connection back in the idle queue), which
/// once held a shutdown for good in the HTTP tests.
pub async fn close_pool<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, what: &str) {
    if tokio::time::timeout(Duration::from_secs(2), pool.close())
        .await
        .is_err()
    {
        tracing::warn!(
            pool = what,
            open = pool.size(),
            "connections did not all close within 2 s; going on without them"
        );
    }
}
