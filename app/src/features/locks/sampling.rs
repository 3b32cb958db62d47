//! The lock graph's part of the live sampler's cycle (same connection, same cycle), every
//! `monitor.locks_interval_ms` (2 s):
//! - the waiting sessions come from the cycle's activity read (wait_event_type = 'Lock'); with
//!   none, nothing else is read;
//! - `pg_blocking_pids()` for those sessions only (lock_blockers.sql), microseconds;
//! - a row-lock waiter (wait event `transactionid`, the usual case) waits for ShareLock on its
//!   blocker's transaction: described at once from the activity read's backend_xid, then named
//!   (table and row, from the tuple lock it holds while it waits) by the next pg_locks read;
//! - every wait is described from pg_locks (lock_waits.sql, ~13 ms with 20,000 locks held),
//!   read only when a waiter has not been read yet, at most once per
//!   `monitor.locks_detail_interval_s` after an episode's first read, and only while the cost
//!   budget (budget.rs: 2 ms per sample on average) allows; names in other databases are read
//!   there in the background (names.rs), from the same budget.
//!
//! A waiter keeps its description while it waits the same wait (same backend, statement and wait
//! event). Its wait age is pg_locks.waitstart once read, else the time pgpanel first saw it wait
//! (at most one lock interval late).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use std::sync::Arc;

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::budget::CostBudget;
use super::db::{self, WaitRow};
use super::episodes::{self, EpisodeTracker};
use super::graph::{self, Wait};
use super::model::{LockEpisode, LockGraph, LockTarget};
use super::names::{ForeignNames, NameKey};
use crate::clock::to_millis;
use crate::features::activity::db::ActivityRow;
use crate::features::activity::model::SessionRow;
use crate::features::targets::monitor::Target;
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

/// A session waiting the same wait since `first_seen_ms`.
#[derive(Clone, Debug)]
struct Waiter {
    key: WaitKey,
    first_seen_ms: i64,
    /// Its pg_locks row, once read.
    row: Option<WaitRow>,
    /// The granted tuple lock it holds while it waits for a transaction (the row it wants).
    tuple: Option<WaitRow>,
}

/// What one lock read found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LockReading {
    /// Each waiting session's blockers (pg_blocking_pids).
    pub blockers: Vec<(i32, Vec<i32>)>,
    /// What the waiters wait for, and since when.
    pub waits: HashMap<i32, Wait>,
    /// Each waiting session's statement (pg_stat_statements query id), when computed.
    pub query_ids: Vec<(i32, i64)>,
    /// How long the waits seen now stand for: the time since the previous read (capped), the
    /// sampling interval of the wait time added to each statement.
    pub span_ms: f64,
}

#[derive(Debug)]
pub struct LockWatch {
    interval: Duration,
    detail_interval: Duration,
    last: Option<Instant>,
    last_detail: Option<Instant>,
    waiters: HashMap<i32, Waiter>,
    budget: CostBudget,
    names: ForeignNames,
    /// The target, to reach its other databases for names (none: labels only).
    target: Option<Arc<Target>>,
    episodes: EpisodeTracker,
    /// A read ran in this cycle (its failure is published at once).
    attempted: bool,
}

/// An episode to store, with the graph at its peak when this sample is a new peak, and the
/// sample's time.
pub type EpisodeWrite = (LockEpisode, Option<LockGraph>, i64);

/// The lock a row-lock waiter asks for: ShareLock on the transaction that holds the row (which
/// row, of which table, comes with the next pg_locks read).
fn transaction_target(xid: &str) -> LockTarget {
    LockTarget {
        locktype: "transactionid".into(),
        mode: "ShareLock".into(),
        object: format!("a row held by transaction {xid} (table not read yet)"),
        relation: None,
    }
}

impl LockWatch {
    pub fn new(interval: Duration, detail_interval: Duration, target: Option<Arc<Target>>) -> Self {
        Self {
            interval,
            detail_interval,
            last: None,
            last_detail: None,
            waiters: HashMap::new(),
            budget: CostBudget::default(),
            names: ForeignNames::default(),
            target,
            episodes: EpisodeTracker::default(),
            attempted: false,
        }
    }

    /// Whether this cycle (ticking every `tick`) should read the locks.
    pub fn due(&self, tick: Duration) -> bool {
        self.last
            .is_none_or(|t| t.elapsed() + tick / 2 >= self.interval)
    }

    /// Reads the blockers of the sessions of `sessions` (the whole activity sample) that wait on
    /// a lock, and what they wait for.
    pub async fn read(
        &mut self,
        conn: &mut PgConnection,
        sessions: &[ActivityRow],
    ) -> sqlx::Result<LockReading> {
        let span_ms = self
            .last
            .map_or(self.interval, |t| t.elapsed().min(self.interval * 4));
        self.last = Some(Instant::now());
        self.attempted = true;
        self.budget.earn();
        self.budget.charge_other(self.names.take_cost());
        let waiting: HashMap<i32, &ActivityRow> = sessions
            .iter()
            .filter(|r| r.wait_event_type.as_deref() == Some("Lock"))
            .map(|r| (r.pid, r))
            .collect();
        self.waiters
            .retain(|pid, w| waiting.get(pid).is_some_and(|r| key_of(r) == w.key));
        if waiting.is_empty() {
            self.names.clear();
            return Ok(LockReading::default());
        }
        for (pid, r) in &waiting {
            self.waiters.entry(*pid).or_insert_with(|| Waiter {
                key: key_of(r),
                first_seen_ms: to_millis(r.sampled_at),
                row: None,
                tuple: None,
            });
        }
        let mut pids: Vec<i32> = waiting.keys().copied().collect();
        pids.sort_unstable();
        let started = Instant::now();
        let blockers = db::blockers(&mut *conn, &pids).await?;
        let round_trip = started.elapsed();

        let xids: HashMap<i32, &str> = sessions
            .iter()
            .filter_map(|r| Some((r.pid, r.backend_xid.as_deref()?)))
            .collect();
        let inferred: HashMap<i32, LockTarget> = blockers
            .iter()
            .filter(|b| {
                waiting
                    .get(&b.pid)
                    .is_some_and(|r| r.wait_event.as_deref() == Some("transactionid"))
            })
            .filter_map(|b| {
                let xid = b.blockers.iter().find_map(|p| xids.get(p))?;
                Some((b.pid, transaction_target(xid)))
            })
            .collect();
        // Row-lock waiters are described from the activity read at once, but only pg_locks names
        // their table: they count as undescribed until it is read.
        let undescribed = self.waiters.values().any(|w| w.row.is_none());
        let detail_due = self.waiters.values().all(|w| w.row.is_none())
            || self
                .last_detail
                .is_none_or(|t| t.elapsed() >= self.detail_interval);
        if undescribed && detail_due && self.budget.allows() {
            self.last_detail = Some(Instant::now());
            let started = Instant::now();
            let rows = db::waits(&mut *conn).await?;
            // The server's part: the round trip itself was measured on the read before.
            self.budget
                .charge(started.elapsed().saturating_sub(round_trip));
            for row in rows {
                if let Some(w) = self.waiters.get_mut(&row.pid) {
                    if row.granted {
                        w.tuple = Some(row);
                    } else {
                        w.row = Some(row);
                    }
                }
            }
        }
        let waits = self.describe(&inferred);
        Ok(LockReading {
            query_ids: waiting
                .iter()
                .filter_map(|(pid, r)| Some((*pid, r.query_id?)))
                .collect(),
            blockers: blockers.into_iter().map(|b| (b.pid, b.blockers)).collect(),
            waits,
            span_ms: span_ms.as_secs_f64() * 1000.0,
        })
    }

    /// Every waiter's lock, with names from other databases where read (starting the lookups
    /// still needed, when the budget allows).
    fn describe(&mut self, inferred: &HashMap<i32, LockTarget>) -> HashMap<i32, Wait> {
        let mut lookups: HashMap<i64, (String, Vec<NameKey>)> = HashMap::new();
        let waits = self
            .waiters
            .iter()
            .map(|(pid, w)| {
                let first_seen = Some(w.first_seen_ms);
                let mut named = |row: &WaitRow| {
                    let mut row = row.clone();
                    if let Some((db, key)) = self.names.fill(&mut row) {
                        let name = row.database_name.clone().unwrap_or_default();
                        lookups.entry(db).or_insert((name, Vec::new())).1.push(key);
                    }
                    row
                };
                let wait = match (&w.row, inferred.get(pid)) {
                    (Some(row), _) => {
                        let row = named(row);
                        let target = if row.locktype == "transactionid" {
                            row.row_lock_target(w.tuple.as_ref().map(&mut named).as_ref())
                        } else {
                            row.target()
                        };
                        Wait {
                            target,
                            since_ms: row.waitstart.map(to_millis).or(first_seen),
                        }
                    }
                    (None, Some(target)) => Wait {
                        target: target.clone(),
                        since_ms: first_seen,
                    },
                    (None, None) => Wait {
                        target: graph::pending_target(w.key.wait_event.as_deref()),
                        since_ms: first_seen,
                    },
                };
                (*pid, wait)
            })
            .collect();
        if let Some(target) = &self.target {
            for (db, (name, keys)) in lookups {
                if !name.is_empty() && self.budget.allows() {
                    self.names.lookup(target, db, &name, keys);
                }
            }
        }
        waits
    }
}

impl LockWatch {
    /// The graph of a cycle that read the locks (or failed to: then a graph that says why, at
    /// the lock interval), for the sampler to publish, and the episode to store if it changed.
    pub fn graph(
        &mut self,
        target_id: &str,
        at_ms: i64,
        tick: Duration,
        sessions: Option<&[SessionRow]>,
        reading: Option<LockReading>,
        error: Option<String>,
    ) -> Option<(LockGraph, Option<EpisodeWrite>)> {
        let attempted = std::mem::take(&mut self.attempted);
        let graph = match (reading, sessions, error) {
            (Some(r), Some(sessions), error) => {
                let mut g = graph::build(target_id, at_ms, sessions, &r.blockers, &r.waits);
                g.error = error;
                g
            }
            (_, _, Some(error)) if attempted || self.due(tick) => {
                self.last = Some(Instant::now());
                LockGraph {
                    target: target_id.to_owned(),
                    at_ms,
                    error: Some(error),
                    ..LockGraph::default()
                }
            }
            _ => return None,
        };
        let change = self.episodes.observe(&graph);
        let write = change.map(|c| (c.episode, c.peak.then(|| graph.clone()), at_ms));
        Some((graph, write))
    }
}

impl LockWatch {
    /// Starts sampling the target (at start-up, or on taking its lease again): goes on with the
    /// episode the previous sampler left open if it was seen within
    /// [`episodes::ADOPT_WITHIN_MS`], and ends older ones when they were last seen.
    pub async fn resume(&mut self, store: &Store, target_id: &str) {
        let fresh_after =
            crate::clock::to_millis(time::OffsetDateTime::now_utc()) - episodes::ADOPT_WITHIN_MS;
        let left_open = match store.take_open_lock_episode(target_id, fresh_after).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(target_id = %target_id, error = %e, "reading the open lock episode failed");
                None
            }
        };
        self.episodes.resume(left_open);
    }
}

/// Writes an episode change (after the frames are out and the target connection is back).
pub async fn store_episode(store: &Store, write: Option<EpisodeWrite>) {
    let Some((episode, peak, seen_ms)) = write else {
        return;
    };
    if let Err(e) = store
        .save_lock_episode(&episode, peak.as_ref(), seen_ms)
        .await
    {
        tracing::warn!(target_id = %episode.target, error = %e, "storing a lock episode failed");
    }
}
