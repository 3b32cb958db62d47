//! `GET /api/maintenance/tables?target=&database=&order=&refresh=`: the tables of one database
//! with their vacuum and analyze state, read on demand over a short-lived monitor connection to
//! that database and kept 30 s (a finished job drops its database's copy), so any number of
//! viewers cost the target one catalog read per database per 30 s at most. Each table's size is
//! the catalog's estimate, or pgpanel's last exact measurement of it (VACUUM dialog, jobs) while
//! that is newer: one size per table everywhere, with its method and time.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::MaintenanceTables;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "maintenance/tables", input = GetUrl)]
pub async fn list_tables(
    target: String,
    database: Option<String>,
    order: Option<String>,
    refresh: Option<String>,
) -> Result<MaintenanceTables, AppError> {
    use super::model::TableOrder;
    use crate::error::choice;
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::session::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let order = choice(
        "order",
        order.as_deref(),
        TableOrder::parse,
        TableOrder::default(),
        "name, size, live, dead, dead_ratio, vacuumed, analyzed, mods, xid_age",
    )?;
    let refresh =
        crate::features::actions::maintenance::flag("refresh", refresh.as_deref(), false)?;
    let t = state
        .targets
        .get(&target)
        .cloned()
        .ok_or_else(|| AppError::not_found("There is no such target."))?;
    let database = database
        .filter(|d| !d.is_empty())
        .or_else(|| t.options().get_database().map(str::to_owned))
        .unwrap_or_else(|| "postgres".to_owned());
    // Only a database that exists gets a cache entry or a connection.
    t.check_database(&database).await?;
    let mut out = state.tables.get(&t, &database, refresh).await?;
    order.sort(&mut out.tables);
    out.order = order;
    Ok(out)
}

#[cfg(feature = "ssr")]
pub use cache::TablesCache;

#[cfg(feature = "ssr")]
mod cache {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use sqlx::{ConnectOptions, Connection};
    use tokio::sync::Mutex;

    use super::super::model::{MaintenanceTables, TableOrder, TableSize, TableStat};
    use crate::error::AppError;
    use crate::features::targets::connect::describe_error;
    use crate::features::targets::db::body;
    use crate::features::targets::monitor::{ConnectFor, Target};

    /// How long a read is served to everyone.
    pub const KEEP: Duration = Duration::from_secs(30);
    /// `refresh=true` re-reads only a copy older than this.
    pub const MIN_AGE_FOR_REFRESH: Duration = Duration::from_secs(2);

    type Key = (String, String);
    /// One (target, database)'s last read, behind the lock a read holds.
    type Slot = Arc<Mutex<Option<(Instant, MaintenanceTables)>>>;

    /// Exact measurements kept (the newest win; an older one is dropped past this).
    pub const MEASURED_MAX: usize = 10_000;
    /// Databases whose tables are held at once.
    pub const MAX_ENTRIES: usize = 64;

    /// The last read per (target, database). One read at a time per key: the lock is held
    /// across it, so a crowd arriving together costs one read.
    #[derive(Debug, Default)]
    pub struct TablesCache {
        entries: std::sync::Mutex<HashMap<Key, Slot>>,
        /// Exact sizes measured by pgpanel, per (target, database, table OID).
        measured: std::sync::Mutex<HashMap<(String, String, i64), TableSize>>,
    }

    impl TablesCache {
        /// Remembers an exact measurement of a table (shown instead of the estimate while it is
        /// the newer of the two).
        pub fn record(&self, target: &str, database: &str, oid: i64, size: TableSize) {
            let mut m = self.measured.lock().unwrap_or_else(|p| p.into_inner());
            if m.len() >= MEASURED_MAX
                && let Some(oldest) = m
                    .iter()
                    .min_by_key(|(_, s)| s.at_ms)
                    .map(|(k, _)| k.clone())
            {
                m.remove(&oldest);
            }
            m.insert((target.to_owned(), database.to_owned(), oid), size);
        }

        /// The read with each table's size chosen (estimate or newer measurement).
        fn sized(&self, mut read: MaintenanceTables) -> MaintenanceTables {
            let m = self.measured.lock().unwrap_or_else(|p| p.into_inner());
            read.tables = std::mem::take(&mut read.tables)
                .into_iter()
                .map(|t| {
                    let exact = m
                        .get(&(read.target.clone(), read.database.clone(), t.oid))
                        .copied();
                    t.with_measured(exact)
                })
                .collect();
            read
        }

        /// The slot of a key; entries past their time are swept when a new one is added, and
        /// past [`MAX_ENTRIES`] the oldest idle ones go (keys are validated database names, so
        /// this bounds memory even with many databases).
        fn slot(&self, key: Key) -> Slot {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if !map.contains_key(&key) {
                let stale = |slot: &Slot| {
                    slot.try_lock()
                        .is_ok_and(|held| held.as_ref().is_none_or(|(at, _)| at.elapsed() >= KEEP))
                };
                map.retain(|_, slot| !stale(slot));
                while map.len() >= MAX_ENTRIES {
                    let oldest = map
                        .iter()
                        .filter_map(|(k, slot)| {
                            slot.try_lock()
                                .ok()
                                .map(|held| (k.clone(), held.as_ref().map(|(at, _)| *at)))
                        })
                        .min_by_key(|(_, at)| *at)
                        .map(|(k, _)| k);
                    match oldest {
                        Some(k) => {
                            map.remove(&k);
                        }
                        None => break,
                    }
                }
            }
            map.entry(key).or_default().clone()
        }

        /// Entries held now (tests).
        pub fn held(&self) -> usize {
            self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
        }

        /// Drops the copy of a database (a job there just ended).
        pub fn invalidate(&self, target: &str, database: &str) {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            map.remove(&(target.to_owned(), database.to_owned()));
        }

        pub async fn get(
            &self,
            target: &Target,
            database: &str,
            refresh: bool,
        ) -> Result<MaintenanceTables, AppError> {
            let slot = self.slot((target.spec.id.clone(), database.to_owned()));
            let mut held = slot.lock().await;
            if let Some((at, tables)) = held.as_ref() {
                let age = at.elapsed();
                if age < KEEP && !(refresh && age >= MIN_AGE_FOR_REFRESH) {
                    return Ok(self.sized(tables.clone()));
                }
            }
            let read = read(target, database).await?;
            *held = Some((Instant::now(), read.clone()));
            Ok(self.sized(read))
        }
    }

    async fn read(target: &Target, database: &str) -> Result<MaintenanceTables, AppError> {
        target.admit_connection(ConnectFor::Read)?;
        let options = target.options().clone().database(database);
        let mut conn = match tokio::time::timeout(
            target.spec.session.connect_timeout,
            options.connect(),
        )
        .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(sqlx::Error::Database(d))) if d.code().as_deref() == Some("3D000") => {
                return Err(AppError::not_found(format!(
                    "There is no database {database:?} on this target."
                )));
            }
            Ok(Err(e)) => {
                tracing::warn!(target_id = %target.spec.id, error = %e, "maintenance read could not connect");
                return Err(AppError::TargetUnavailable {
                    message: format!(
                        "Could not connect to database {database:?}: {}.",
                        describe_error(&e)
                    ),
                });
            }
            Err(_) => {
                return Err(AppError::Timeout {
                    message: "Could not connect within the connect timeout.".into(),
                });
            }
        };
        let started = Instant::now();
        let result = async {
            let databases: Vec<String> =
                sqlx::query_scalar(body(include_str!("sql/databases.sql")))
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
        let (databases, tables) = result.map_err(|e| {
            tracing::warn!(target_id = %target.spec.id, error = %e, "maintenance read failed");
            match &e {
                sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => {
                    AppError::Timeout {
                        message: "Reading the tables hit statement_timeout on the target.".into(),
                    }
                }
                _ => AppError::TargetUnavailable {
                    message: format!("Reading the tables failed: {}.", describe_error(&e)),
                },
            }
        })?;
        Ok(MaintenanceTables {
            target: target.spec.id.clone(),
            database: database.to_owned(),
            databases,
            order: TableOrder::default(),
            read_at_ms: (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
            read_ms,
            tables,
        })
    }
}
