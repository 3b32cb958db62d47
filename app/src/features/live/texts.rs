//! The statements whose text pgpanel has (in the store) or already asked for: their text is not
//! fetched again (reading the query-text file is the costly part of pg_stat_statements). The set
//! is re-read from the store every [`RESYNC`], so it follows the store's retention, and sooner
//! once it passes [`MAX`] entries, so it cannot grow without bound.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::model::StatementKey;
use crate::store::Store;

/// How often the set is re-read from the store.
pub const RESYNC: Duration = Duration::from_secs(3600);
/// Entries held at most (pg_stat_statements keeps 5,000 by default); past it, a re-read at most
/// once a minute.
pub const MAX: usize = 50_000;
const MIN_RESYNC: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct KnownTexts {
    keys: HashSet<StatementKey>,
    synced: Instant,
}

impl KnownTexts {
    /// The target's keys as the store holds them (an empty set if it cannot be read).
    pub async fn load(store: &Store, target_id: &str) -> Self {
        let keys = match store.known_statement_keys(target_id).await {
            Ok(keys) => keys.into_iter().take(MAX).collect(),
            Err(e) => {
                tracing::warn!(target_id = %target_id, error = %e, "loading cached statement texts failed");
                HashSet::new()
            }
        };
        Self {
            keys,
            synced: Instant::now(),
        }
    }

    pub fn contains(&self, key: &StatementKey) -> bool {
        self.keys.contains(key)
    }

    pub fn extend(&mut self, keys: impl IntoIterator<Item = StatementKey>) {
        self.keys.extend(keys);
    }

    /// Re-reads the set from the store when it is due.
    pub async fn resync_if_due(&mut self, store: &Store, target_id: &str) {
        let since = self.synced.elapsed();
        if since >= RESYNC || self.keys.len() > MAX && since >= MIN_RESYNC {
            *self = Self::load(store, target_id).await;
        }
    }
}
