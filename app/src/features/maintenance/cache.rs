//! The Maintenance page's catalog reads, kept a short while per (target, database), and the exact
//! sizes pgpanel measured around its own jobs.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::db;
use super::model::{MaintenanceTables, TableSize};
use crate::error::AppError;
use crate::features::targets::monitor::Target;

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
        let read = db::tables(target, database).await?;
        *held = Some((Instant::now(), read.clone()));
        Ok(self.sized(read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe's F3: however many databases are asked for, at most MAX_ENTRIES table lists are
    /// held, and at most MEASURED_MAX exact sizes (the oldest measurement goes first).
    #[test]
    fn the_caches_are_bounded() {
        let cache = TablesCache::default();
        for i in 0..MAX_ENTRIES + 40 {
            let slot = cache.slot(("t".into(), format!("db{i}")));
            // A fresh read in each (an empty slot would be swept as stale at once).
            *slot.try_lock().expect("free") = Some((
                Instant::now(),
                MaintenanceTables {
                    target: "t".into(),
                    database: format!("db{i}"),
                    databases: Vec::new(),
                    order: Default::default(),
                    read_at_ms: 0,
                    read_ms: 0,
                    total: 0,
                    tables: Vec::new(),
                },
            ));
        }
        assert_eq!(cache.held(), MAX_ENTRIES);
        for i in 0..MEASURED_MAX as i64 + 5 {
            cache.record("t", "db", i, TableSize::exact(1, 2, 1_000 + i));
        }
        let m = cache.measured.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(m.len(), MEASURED_MAX);
        assert!(!m.contains_key(&("t".into(), "db".into(), 0)));
        assert!(m.contains_key(&("t".into(), "db".into(), MEASURED_MAX as i64 + 4)));
    }
}
