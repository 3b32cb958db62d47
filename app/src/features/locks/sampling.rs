//! The lock graph's part of the live sampler's cycle (same connection, same cycle), every
//! `monitor.locks_interval_ms` (2 s):
//! - the waiting sessions come from the cycle's activity read (wait_event_type = 'Lock'); with
//!   none, nothing else is read;
//! - `pg_blocking_pids()` for those sessions only (lock_blockers.sql);
//! - pg_locks (lock_waits.sql) only when a waiter appears that is not described yet, and at most
//!   once per `monitor.locks_detail_interval_s` after the first read of an episode: with 20,000
//!   locks held, pg_locks costs the server ~9 ms while the rest costs microseconds. A waiter keeps
//!   its description while it waits the same wait (same backend, statement and wait event).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::db;
use super::episodes::EpisodeTracker;
use super::graph::{self, Wait};
use super::model::{LockEpisode, LockGraph};
use crate::clock::to_millis;
use crate::features::live::db::ActivityRow;
use crate::features::live::hub::TargetHub;
use crate::features::live::model::SessionRow;
use crate::store::Store;

#[derive(Clone, Debug, PartialEq)]
struct WaitKey {
    backend_start: Option<OffsetDateTime>,
    query_start: Option<OffsetDateTime>,
    wait_event: Option<String>,
}

fn key_of(r: &ActivityRow) -> WaitKey {
    WaitKey {
        backend_start: r.backend_start,
        query_start: r.query_start,
        wait_event: r.wait_event.clone(),
    }
}

/// What one lock read found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LockReading {
    /// Each waiting session's blockers (pg_blocking_pids).
    pub blockers: Vec<(i32, Vec<i32>)>,
    /// What the waiters wait for, where known.
    pub waits: HashMap<i32, Wait>,
}

#[derive(Debug)]
pub struct LockWatch {
    interval: Duration,
    detail_interval: Duration,
    last: Option<Instant>,
    last_detail: Option<Instant>,
    waits: HashMap<i32, (WaitKey, Wait)>,
    episodes: EpisodeTracker,
    /// A read ran in this cycle (its failure is published at once).
    attempted: bool,
}

/// An episode to store, with the graph at its peak when this sample is a new peak.
pub type EpisodeWrite = (LockEpisode, Option<LockGraph>);

impl LockWatch {
    pub fn new(interval: Duration, detail_interval: Duration) -> Self {
        Self {
            interval,
            detail_interval,
            last: None,
            last_detail: None,
            waits: HashMap::new(),
            episodes: EpisodeTracker::default(),
            attempted: false,
        }
    }

    /// Whether this cycle (ticking every `tick`) should read the locks.
    pub fn due(&self, tick: Duration) -> bool {
        self.last
            .is_none_or(|t| t.elapsed() + tick / 2 >= self.interval)
    }

    /// The sessions of an activity sample that wait on a lock (what `read` needs).
    pub fn waiting(sessions: &[ActivityRow]) -> Vec<ActivityRow> {
        sessions
            .iter()
            .filter(|r| r.wait_event_type.as_deref() == Some("Lock"))
            .cloned()
            .collect()
    }

    pub async fn read(
        &mut self,
        conn: &mut PgConnection,
        sessions: &[ActivityRow],
    ) -> sqlx::Result<LockReading> {
        self.last = Some(Instant::now());
        self.attempted = true;
        let waiting: HashMap<i32, &ActivityRow> = sessions
            .iter()
            .filter(|r| r.wait_event_type.as_deref() == Some("Lock"))
            .map(|r| (r.pid, r))
            .collect();
        self.waits
            .retain(|pid, (key, _)| waiting.get(pid).is_some_and(|r| key_of(r) == *key));
        if waiting.is_empty() {
            return Ok(LockReading::default());
        }
        let mut pids: Vec<i32> = waiting.keys().copied().collect();
        pids.sort_unstable();
        let blockers = db::blockers(&mut *conn, &pids).await?;
        let undescribed = waiting.keys().any(|pid| !self.waits.contains_key(pid));
        let detail_due = self.waits.is_empty()
            || self
                .last_detail
                .is_none_or(|t| t.elapsed() >= self.detail_interval);
        if undescribed && detail_due {
            self.last_detail = Some(Instant::now());
            for w in db::waits(&mut *conn).await? {
                if let Some(r) = waiting.get(&w.pid) {
                    let wait = Wait {
                        target: w.target(),
                        since_ms: w.waitstart.map(to_millis),
                    };
                    self.waits.insert(w.pid, (key_of(r), wait));
                }
            }
        }
        Ok(LockReading {
            blockers: blockers.into_iter().map(|b| (b.pid, b.blockers)).collect(),
            waits: self
                .waits
                .iter()
                .map(|(pid, (_, w))| (*pid, w.clone()))
                .collect(),
        })
    }
}

impl LockWatch {
    /// Builds and publishes the graph of a cycle that read the locks (or failed to: then a
    /// graph that says why, at the lock interval); returns the episode to store, if it changed.
    pub fn publish(
        &mut self,
        hub: &TargetHub,
        at_ms: i64,
        tick: Duration,
        sessions: Option<&[SessionRow]>,
        reading: Option<LockReading>,
        error: Option<String>,
    ) -> Option<EpisodeWrite> {
        let attempted = std::mem::take(&mut self.attempted);
        let graph = match (reading, sessions, error) {
            (Some(r), Some(sessions), error) => {
                let mut g = graph::build(&hub.id, at_ms, sessions, &r.blockers, &r.waits);
                g.error = error;
                g
            }
            (_, _, Some(error)) if attempted || self.due(tick) => {
                self.last = Some(Instant::now());
                LockGraph {
                    target: hub.id.clone(),
                    at_ms,
                    error: Some(error),
                    ..LockGraph::default()
                }
            }
            _ => return None,
        };
        let change = self.episodes.observe(&graph);
        let write = change.map(|c| (c.episode, c.peak.then(|| graph.clone())));
        hub.push_locks(graph);
        write
    }
}

/// Writes an episode change (after the frames are out and the target connection is back).
pub async fn store_episode(store: &Store, write: Option<EpisodeWrite>) {
    let Some((episode, peak)) = write else { return };
    if let Err(e) = store.save_lock_episode(&episode, peak.as_ref()).await {
        tracing::warn!(target_id = %episode.target, error = %e, "storing a lock episode failed");
    }
}
