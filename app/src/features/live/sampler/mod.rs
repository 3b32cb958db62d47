//! The sampler: one task per target, on the monitor login's pool (at most 2 connections, shared
//! with the monitor probe). Every fast tick (1 s) it reads pg_stat_activity and pg_stat_database;
//! every slow tick (10 s) also the checkpoint, WAL and replication counters; pg_stat_statements
//! (without texts) on a slow tick while a Queries page is open (a stream follows the statements
//! topic) and every 60 s otherwise (the per-minute history needs no more), so opening Queries
//! switches to 10 s within one slow tick. Both big reads send only what changed (`incremental`).
//! Ticks never overlap: a cycle that overruns makes the next
//! tick be skipped, not queued. A query that fails or times out degrades its own panel only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::time::MissedTickBehavior;

use super::compute::{self, StatementsSample};
use super::db::{DatabaseCounters, ServerCounters};
use super::hub::TargetHub;
use super::incremental::ActivityBaseline;
use super::model::{ActivityFrame, OverviewFrame, StatementText, StatementsFrame};
use super::texts::KnownTexts;
use crate::clock::to_millis;
use crate::features::activity::db as activity_db;
use crate::features::locks::sampling::{self as lock_sampling, LockWatch};
use crate::features::targets::model::ServerSummary;
use crate::features::targets::monitor::Target;
use crate::store::Store;

mod read;
use read::Reading;

/// How often the live panels are sampled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSchedule {
    /// pg_stat_activity and pg_stat_database while a `/live` stream follows the target.
    pub fast: Duration,
    /// The same while nobody follows it (no page of the target open): the history, the
    /// health summary and the lock episodes go on, at this coarser grain (a multiple of `fast`
    /// in effect: a read runs on a fast tick).
    pub idle: Duration,
    /// Checkpoints, WAL and replication; pg_stat_statements too while a Queries page is open.
    pub slow: Duration,
    /// pg_stat_statements while no Queries page is open (a multiple of `slow` in effect: it is
    /// read on a slow tick).
    pub statements_idle: Duration,
    /// The lock graph (from the fast sample's waiting sessions).
    pub locks: Duration,
    /// pg_locks, at most this often, and only when a new waiter appears.
    pub locks_detail: Duration,
}

impl Default for LiveSchedule {
    fn default() -> Self {
        Self {
            fast: Duration::from_secs(1),
            idle: Duration::from_secs(5),
            slow: Duration::from_secs(10),
            statements_idle: Duration::from_secs(60),
            locks: Duration::from_secs(2),
            locks_detail: Duration::from_secs(10),
        }
    }
}

pub struct Sampler {
    target: Arc<Target>,
    hub: Arc<TargetHub>,
    store: Store,
    schedule: LiveSchedule,
    /// The last counters and the `at_ms` of their point. Rates divide by the time between the
    /// points' stamps, so a chart's area (rate × the interval between its points) is exactly what
    /// the counters moved by, whatever each read's latency.
    prev_database: Option<(DatabaseCounters, i64)>,
    prev_server: Option<(ServerCounters, i64)>,
    prev_statements: Option<StatementsSample>,
    /// The previous activity sample (reads send only what changed since).
    activity: ActivityBaseline,
    /// Partial pg_stat_statements reads since the last full one.
    partial_statement_reads: u32,
    /// The lock graph's reads and episodes.
    locks: LockWatch,
    /// When the last cycle ran.
    last_cycle: Option<Instant>,
    last_slow: Option<Instant>,
    /// When pg_stat_statements was last read.
    last_statements: Option<Instant>,
    /// Entries whose text pgpanel has (in the store) or already asked for: not fetched again.
    known_texts: KnownTexts,
    /// Database and role names by OID, re-read every slow cycle.
    names: activity_db::Names,
    /// When the monitor's facts relayed last were checked (relayed again when they change).
    relayed_check: Option<String>,
}

impl Sampler {
    pub async fn new(
        target: Arc<Target>,
        hub: Arc<TargetHub>,
        store: Store,
        schedule: LiveSchedule,
    ) -> Self {
        let known_texts = KnownTexts::load(&store, &target.spec.id).await;
        let locks = LockWatch::new(schedule.locks, schedule.locks_detail, Some(target.clone()));
        Self {
            target,
            hub,
            store,
            schedule,
            prev_database: None,
            prev_server: None,
            prev_statements: None,
            activity: ActivityBaseline::default(),
            partial_statement_reads: 0,
            locks,
            last_cycle: None,
            last_slow: None,
            last_statements: None,
            known_texts,
            names: activity_db::Names::default(),
            relayed_check: None,
        }
    }

    /// Samples every fast interval from `first_tick` on (`Live::start` staggers the targets)
    /// while a `/live` stream follows the target, and every idle interval while none does: a
    /// page opened on it gets a fresh sample on the next fast tick.
    pub async fn run(mut self, first_tick: tokio::time::Instant) {
        let mut tick = tokio::time::interval_at(first_tick, self.schedule.fast);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut leading = false;
        loop {
            tick.tick().await;
            // Another instance samples the target (it holds the lease): this one starts afresh
            // when it takes the lease, so no rate or delta spans the time it did not sample.
            if !self.target.leads() {
                if leading {
                    self.forget();
                    leading = false;
                }
                continue;
            }
            if !leading {
                self.locks.resume(&self.store, &self.target.spec.id).await;
            }
            leading = true;
            let lease = self.target.lease();
            if self.cycle_due(self.hub.viewers() > 0 || lease.watched_elsewhere()) {
                self.last_cycle = Some(Instant::now());
                self.cycle().await;
            }
        }
    }

    /// Drops what the last cycles remembered (the previous counters, the activity baseline, the
    /// schedule's stamps): after a time without the lease.
    fn forget(&mut self) {
        self.prev_database = None;
        self.prev_server = None;
        self.prev_statements = None;
        self.activity = ActivityBaseline::default();
        self.partial_statement_reads = 0;
        self.last_cycle = None;
        self.last_slow = None;
        self.last_statements = None;
        self.relayed_check = None;
    }

    /// Whether a fast tick runs a cycle: always while the target is watched, else once an idle
    /// interval has passed since the last one.
    fn cycle_due(&self, watched: bool) -> bool {
        watched || due(self.last_cycle, self.schedule.idle, self.schedule.fast)
    }

    /// One cycle: read what is due, publish the frames, then write to the store (after the
    /// connection is back, so a slow store never holds a target connection).
    pub async fn cycle(&mut self) {
        let at = OffsetDateTime::now_utc();
        let at_ms = to_millis(at);
        let is_due = |last: Option<Instant>, every: Duration| due(last, every, self.schedule.fast);
        let slow_due = is_due(self.last_slow, self.schedule.slow);
        let statements_every =
            if self.hub.statements_watched() || self.target.lease().statements_elsewhere() {
                self.schedule.slow
            } else {
                self.schedule.statements_idle
            };
        let statements_due = slow_due && is_due(self.last_statements, statements_every);
        // One snapshot of the monitor's facts per cycle (version, start time, max_connections).
        let server = self.target.server();
        let reading = if self.target.is_up() {
            self.read(slow_due, statements_due, server.as_ref()).await
        } else {
            Reading::failed("the target is not reachable")
        };
        if slow_due {
            self.last_slow = Some(Instant::now());
        }
        // A read that failed (the target down at start-up, a timeout) is tried again on the next
        // slow tick, not an idle interval later.
        if statements_due && reading.statements.is_some() {
            self.last_statements = Some(Instant::now());
        }
        self.publish(at_ms, slow_due, statements_due, reading, server.as_ref())
            .await;
    }

    async fn publish(
        &mut self,
        at_ms: i64,
        slow_due: bool,
        statements_due: bool,
        mut r: Reading,
        server: Option<&ServerSummary>,
    ) {
        let id = self.target.spec.id.clone();
        if let Some(names) = r.names.take() {
            self.names = names;
            // pgpanel's own logins: their sessions are marked, their statements left out of
            // the Queries page.
            let logins = self.target.own_logins();
            let logins: Vec<&str> = logins.iter().map(String::as_str).collect();
            self.hub.set_own_roles(self.names.role_oids(&logins));
        }
        let names = &self.names;
        let own_roles = &self.hub.own_roles();
        let sessions: Option<Vec<_>> = r.activity.as_ref().map(|rows| {
            rows.iter()
                .map(|a| compute::session_row(a, names, own_roles))
                .collect()
        });
        let mut fast = sessions.as_ref().map(|s| {
            let mut p = super::model::FastPoint {
                at_ms,
                ..Default::default()
            };
            compute::count_sessions(s, &mut p);
            p
        });
        if let Some(cur) = r.database.take() {
            if let (Some((prev, then)), Some(point)) = (&self.prev_database, fast.as_mut()) {
                compute::database_rates(prev, &cur, seconds_between(*then, at_ms), point);
            }
            self.prev_database = Some((cur, at_ms));
        } else if r.lost {
            self.prev_database = None;
        }
        let slow = slow_due.then(|| {
            let prev = self
                .prev_server
                .as_ref()
                .map(|(c, t)| (c, seconds_between(*t, at_ms)));
            compute::slow_point(at_ms, prev, r.server.as_ref(), r.replication.as_deref())
        });
        if let Some(cur) = r.server.take() {
            self.prev_server = Some((cur, at_ms));
        }
        let max_connections = server.map_or(0, |s| i64::from(s.max_connections));
        // Sampled lock waits, added to the statements they hold up.
        let mut deltas = match (&r.locks, &r.activity) {
            (Some(locks), Some(rows)) => compute::statement_waits(locks, rows),
            _ => Vec::new(),
        };
        // The lock graph first: the health summary takes the longest wait from it.
        let lock_write = self
            .locks
            .graph(
                &id,
                at_ms,
                self.schedule.fast,
                sessions.as_deref(),
                r.locks.take(),
                r.errors.locks.clone(),
            )
            .and_then(|(graph, write)| {
                self.hub.push_locks(graph);
                write
            });
        let health = sessions.as_ref().map(|s| {
            let mut h = compute::health(
                s,
                max_connections,
                self.prev_server.as_ref().map(|(c, _)| c),
            );
            if h.lock_waiting > 0 {
                h.longest_lock_wait_ms = self.hub.locks().and_then(|g| g.longest_wait_ms);
            }
            h
        });
        let overview = OverviewFrame {
            target: id.clone(),
            at_ms,
            fast,
            slow,
            health,
            errors: r.errors.clone(),
        };
        let activity = ActivityFrame {
            target: id.clone(),
            at_ms,
            sessions: sessions.unwrap_or_default(),
            error: r.errors.activity.clone(),
        };
        let minute = self.hub.push(overview, Some(activity));

        let mut flushed = None;
        if let Some(sample) = r.statements.take() {
            let diff = compute::diff_statements(self.prev_statements.as_ref(), &sample);
            let frame = StatementsFrame {
                target: id.clone(),
                at_ms,
                entries: sample.rows.len() as i64,
                evicted: diff.evicted,
                reset: diff.reset,
                error: None,
            };
            if diff.reset || diff.evicted > 0 {
                tracing::info!(target_id = %id, reset = diff.reset, evicted = diff.evicted, "pg_stat_statements reset or evicted entries");
                if let Err(e) = self
                    .store
                    .record_statement_event(&id, at_ms, diff.reset, diff.evicted)
                    .await
                {
                    tracing::warn!(target_id = %id, error = %e, "recording a statements reset failed");
                }
            }
            deltas.extend(diff.deltas);
            self.hub.set_statement_extremes(
                sample
                    .rows
                    .iter()
                    .map(|(k, c)| (*k, (c.min_ms, c.max_ms)))
                    .collect(),
            );
            self.prev_statements = Some(sample);
            self.hub.push_statements(&frame);
        } else if statements_due {
            if r.lost {
                self.prev_statements = None;
            }
            self.hub.push_statements(&StatementsFrame {
                target: id.clone(),
                at_ms,
                error: r.errors.statements.clone(),
                ..StatementsFrame::default()
            });
        }

        if !deltas.is_empty() {
            flushed = self.hub.add_statement_deltas(at_ms, deltas);
        }
        // The Queries page's state, for the other instances, after each pg_stat_statements
        // read only (it holds thousands of entries on a busy target): lock waits added between
        // reads reach them with the next read.
        if statements_due {
            self.hub.relay_queries(at_ms);
        }
        // The monitor's facts, for the other instances, when it checked the target again.
        if self.hub.relaying() {
            let target = self.target.overview();
            let checked = format!("{:?}", target.status);
            if self.relayed_check.as_ref() != Some(&checked) {
                self.hub.relay_target(at_ms, &target);
                self.relayed_check = Some(checked);
            }
        }

        // The store, last: the frames are out already.
        if let Some(minute) = minute
            && let Err(e) = self.store.insert_metric_minute(&id, &minute).await
        {
            tracing::warn!(target_id = %id, error = %e, "storing a metrics minute failed");
        }
        if let Some((minute_ms, rows)) = flushed
            && let Err(e) = self.store.add_statement_minute(&id, minute_ms, &rows).await
        {
            tracing::warn!(target_id = %id, error = %e, "storing statement deltas failed");
        }
        lock_sampling::store_episode(&self.store, lock_write).await;
        if !r.asked.is_empty() {
            // Texts the login may not read are remembered only in memory: after a GRANT and a
            // restart of pgpanel they are read again.
            let readable: Vec<StatementText> = r
                .texts
                .iter()
                .filter(|t| t.query != "<insufficient privilege>")
                .cloned()
                .collect();
            match self
                .store
                .insert_statement_texts(&id, at_ms, &readable)
                .await
            {
                Ok(()) => self.known_texts.extend(r.asked.iter().copied()),
                Err(e) => {
                    tracing::warn!(target_id = %id, error = %e, "storing statement texts failed")
                }
            }
        }
        self.known_texts.resync_if_due(&self.store, &id).await;
    }
}

/// Whether `every` has passed since `last`, on a clock that ticks every `tick` (half a tick
/// early counts: a tick's jitter must not skip a whole interval).
fn due(last: Option<Instant>, every: Duration, tick: Duration) -> bool {
    last.is_none_or(|t| t.elapsed() + tick / 2 >= every)
}

/// Seconds between two points' stamps (zero or negative after a wall-clock step back, which the
/// rate functions treat as "no rate").
fn seconds_between(from_ms: i64, to_ms: i64) -> f64 {
    (to_ms - from_ms) as f64 / 1000.0
}
