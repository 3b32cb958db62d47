//! Pure arithmetic of the sampler: rates from cumulative counters, session counts, health, and
//! pg_stat_statements deltas. A counter that went backwards (reset, restart, eviction) gives a
//! gap or a fresh baseline, never a negative or huge number.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::db::{
    DatabaseCounters, ReplicationRow, ServerCounters, StatementCounters, StatementsInfo,
};
use super::model::{FastPoint, Health, LONG_XACT_MS, SlowPoint, StatementDelta, StatementKey};
use super::series::round3;
use crate::features::activity::db::{ActivityRow, Names};
use crate::features::activity::model::SessionRow;
use crate::features::locks::sampling::LockReading;

fn ms_between(from: Option<OffsetDateTime>, to: OffsetDateTime) -> Option<i64> {
    from.map(|f| {
        i64::try_from((to - f).whole_milliseconds())
            .unwrap_or(i64::MAX)
            .max(0)
    })
}

/// Whether a session is pgpanel's own: the monitor's session itself, or one on a login of
/// pgpanel's (`own_roles`: role OIDs of the monitor and action logins) that carries pgpanel's
/// application_name. The name alone proves nothing (any role may set it).
pub fn own_session(a: &ActivityRow, own_roles: &[i64]) -> bool {
    a.is_self
        || a.application_name.starts_with("pgpanel")
            && a.usesysid.is_some_and(|r| own_roles.contains(&r))
}

/// The API's session row from the catalog's, names resolved from `names`.
pub fn session_row(a: &ActivityRow, names: &Names, own_roles: &[i64]) -> SessionRow {
    let visible = a.query != "<insufficient privilege>";
    let pgpanel = own_session(a, own_roles);
    SessionRow {
        pid: a.pid,
        backend_start: a.backend_start,
        backend_type: a.backend_type.clone(),
        datname: a.datid.and_then(|id| names.databases.get(&id).cloned()),
        usename: a.usesysid.and_then(|id| names.roles.get(&id).cloned()),
        application_name: a.application_name.clone(),
        client_addr: a.client_addr.clone(),
        client_port: a.client_port,
        state: a.state.clone(),
        wait_event_type: a.wait_event_type.clone(),
        wait_event: a.wait_event.clone(),
        xact_start: a.xact_start,
        query_start: a.query_start,
        state_change: a.state_change,
        query: if visible {
            a.query.clone()
        } else {
            String::new()
        },
        query_truncated: false,
        xact_age_ms: ms_between(a.xact_start, a.sampled_at),
        query_age_ms: ms_between(a.query_start, a.sampled_at),
        state_age_ms: ms_between(a.state_change, a.sampled_at),
        pgpanel,
        claims_pgpanel: !pgpanel && a.application_name.starts_with("pgpanel"),
        visible,
    }
}

/// Counts of client sessions by state, into the point.
pub fn count_sessions(sessions: &[SessionRow], point: &mut FastPoint) {
    let (mut active, mut idle, mut idle_in_tx, mut waiting) = (0, 0, 0, 0);
    for s in sessions.iter().filter(|s| s.is_client()) {
        match s.state.as_deref() {
            Some("active") if s.waits_on_lock() => waiting += 1,
            Some("active") => active += 1,
            Some("idle") => idle += 1,
            _ if s.idle_in_transaction() => idle_in_tx += 1,
            _ => {}
        }
    }
    point.active = Some(f64::from(active));
    point.idle = Some(f64::from(idle));
    point.idle_in_tx = Some(f64::from(idle_in_tx));
    point.waiting = Some(f64::from(waiting));
}

/// Per-second rates between two samples of pg_stat_database; all `None` when the counters were
/// reset or went backwards in between.
pub fn database_rates(
    prev: &DatabaseCounters,
    cur: &DatabaseCounters,
    seconds: f64,
    point: &mut FastPoint,
) {
    let deltas = [
        cur.xact_commit - prev.xact_commit,
        cur.xact_rollback - prev.xact_rollback,
        cur.blks_read - prev.blks_read,
        cur.blks_hit - prev.blks_hit,
        cur.tup_returned - prev.tup_returned,
        cur.tup_fetched - prev.tup_fetched,
        cur.tup_inserted - prev.tup_inserted,
        cur.tup_updated - prev.tup_updated,
        cur.tup_deleted - prev.tup_deleted,
        cur.temp_bytes - prev.temp_bytes,
        cur.deadlocks - prev.deadlocks,
        cur.conflicts - prev.conflicts,
    ];
    if seconds <= 0.0
        || prev.stats_reset != cur.stats_reset
        || prev.server_started != cur.server_started
        || deltas.iter().any(|d| *d < 0)
    {
        return;
    }
    let rate = |d: i64| Some(round3(d as f64 / seconds));
    let [
        commit,
        rollback,
        read,
        hit,
        returned,
        fetched,
        inserted,
        updated,
        deleted,
        temp,
        dl,
        cf,
    ] = deltas;
    point.commits = rate(commit);
    point.rollbacks = rate(rollback);
    point.cache_hit = (hit + read > 0).then(|| round3(hit as f64 / (hit + read) as f64));
    point.tup_returned = rate(returned);
    point.tup_fetched = rate(fetched);
    point.tup_inserted = rate(inserted);
    point.tup_updated = rate(updated);
    point.tup_deleted = rate(deleted);
    point.temp_bytes = rate(temp);
    point.deadlocks = rate(dl);
    point.conflicts = rate(cf);
}

/// The slow point: WAL bytes/s and checkpoints per minute since `prev`, and the replication lag.
pub fn slow_point(
    at_ms: i64,
    prev: Option<(&ServerCounters, f64)>,
    cur: Option<&ServerCounters>,
    replication: Option<&[ReplicationRow]>,
) -> SlowPoint {
    let mut point = SlowPoint {
        at_ms,
        ..SlowPoint::default()
    };
    if let (Some((prev, seconds)), Some(cur)) = (prev, cur)
        && seconds > 0.0
    {
        let wal = cur.wal_bytes - prev.wal_bytes;
        if wal >= 0 && cur.wal_reset == prev.wal_reset {
            point.wal_bytes = Some(round3(wal as f64 / seconds));
        }
        let timed = cur.checkpoints_timed - prev.checkpoints_timed;
        let req = cur.checkpoints_req - prev.checkpoints_req;
        if timed >= 0 && req >= 0 && cur.bgwriter_reset == prev.bgwriter_reset {
            point.checkpoints_timed = Some(round3(timed as f64 * 60.0 / seconds));
            point.checkpoints_req = Some(round3(req as f64 * 60.0 / seconds));
        }
    }
    if let Some(rows) = replication {
        point.repl_lag_bytes = Some(
            rows.iter()
                .filter_map(|r| r.lag_bytes)
                .max()
                .unwrap_or(0)
                .max(0) as f64,
        );
        point.repl_lag_ms = Some(rows.iter().filter_map(|r| r.lag_ms).fold(0.0_f64, f64::max));
    }
    point
}

/// The health summary from the latest sessions and server counters.
pub fn health(
    sessions: &[SessionRow],
    max_connections: i64,
    counters: Option<&ServerCounters>,
) -> Health {
    let clients = || sessions.iter().filter(|s| s.is_client());
    // pgpanel's own sessions use connection slots, but their transactions are its own business.
    let others = || clients().filter(|s| !s.pgpanel);
    let idle_in_tx: Vec<&SessionRow> = others().filter(|s| s.idle_in_transaction()).collect();
    Health {
        // Every client backend holds a connection slot counted against max_connections.
        connections: clients().count() as i64,
        max_connections,
        longest_xact_ms: others().filter_map(|s| s.xact_age_ms).max(),
        long_xacts: others()
            .filter(|s| s.xact_age_ms.is_some_and(|ms| ms >= LONG_XACT_MS))
            .count() as i64,
        idle_in_tx: idle_in_tx.len() as i64,
        idle_in_tx_xact_ms: idle_in_tx.iter().filter_map(|s| s.xact_age_ms).max(),
        idle_in_tx_idle_ms: idle_in_tx.iter().filter_map(|s| s.state_age_ms).max(),
        // Filled in from the lock graph by the sampler.
        lock_waiting: others().filter(|s| s.waits_on_lock()).count() as i64,
        longest_lock_wait_ms: None,
        max_xid_age: counters.and_then(|c| c.max_xid_age),
        oldest_xid_database: counters.and_then(|c| c.oldest_xid_database.clone()),
        hidden_sessions: sessions.iter().filter(|s| !s.visible).count() as i64,
    }
}

/// One pg_stat_statements sample.
#[derive(Clone, Debug)]
pub struct StatementsSample {
    pub info: Option<StatementsInfo>,
    pub server_started: OffsetDateTime,
    pub rows: HashMap<StatementKey, StatementCounters>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatementsDiff {
    pub deltas: Vec<(StatementKey, StatementDelta)>,
    /// The whole view was reset (or the server restarted): this sample is a new baseline.
    pub reset: bool,
    /// Entries pg_stat_statements evicted to make room (pg_stat_statements_info.dealloc).
    pub evicted: i64,
    /// Entries whose counters went backwards (evicted and re-created): skipped this time.
    pub restarted_entries: i64,
}

/// What happened between two samples. The first sample only sets the baseline.
pub fn diff_statements(prev: Option<&StatementsSample>, cur: &StatementsSample) -> StatementsDiff {
    let Some(prev) = prev else {
        return StatementsDiff::default();
    };
    let reset_at = |s: &StatementsSample| s.info.as_ref().map(|i| i.stats_reset);
    if prev.server_started != cur.server_started || reset_at(prev) != reset_at(cur) {
        return StatementsDiff {
            reset: true,
            ..StatementsDiff::default()
        };
    }
    let evicted = match (&prev.info, &cur.info) {
        (Some(p), Some(c)) => (c.dealloc - p.dealloc).max(0),
        _ => 0,
    };
    let mut diff = StatementsDiff {
        evicted,
        ..StatementsDiff::default()
    };
    for (key, row) in &cur.rows {
        let delta = match prev.rows.get(key) {
            // New since the last sample: everything it counted happened in this interval.
            None => StatementDelta::from_counters(row),
            Some(before) => match StatementDelta::between(before, row) {
                Some(d) => d,
                None => {
                    diff.restarted_entries += 1;
                    continue;
                }
            },
        };
        if delta.calls > 0 || delta.exec_ms > 0.0 || delta.plan_ms > 0.0 {
            diff.deltas.push((*key, delta));
        }
    }
    diff.deltas.sort_by_key(|(k, _)| *k);
    diff
}

/// Sampled lock-wait time per pg_stat_statements entry: each waiting session stands for the
/// time since the previous read. pg_stat_statements counts that wait as execution time, so the
/// Queries page can say how much of a statement's time was waiting on locks.
pub fn statement_waits(
    reading: &LockReading,
    sessions: &[ActivityRow],
) -> Vec<(StatementKey, StatementDelta)> {
    if reading.query_ids.is_empty() {
        return Vec::new();
    }
    let by_pid: HashMap<i32, &ActivityRow> = sessions.iter().map(|a| (a.pid, a)).collect();
    let mut out: HashMap<StatementKey, StatementDelta> = HashMap::new();
    for (pid, query_id) in &reading.query_ids {
        let Some(a) = by_pid.get(pid) else {
            continue;
        };
        let (Some(dbid), Some(userid)) = (a.datid, a.usesysid) else {
            continue;
        };
        let key = StatementKey {
            queryid: *query_id,
            dbid,
            userid,
            toplevel: true,
        };
        out.entry(key).or_default().lock_wait_ms += reading.span_ms;
    }
    let mut v: Vec<_> = out.into_iter().collect();
    v.sort_by_key(|(k, _)| *k);
    v
}

/// Deltas from pg_stat_statements counters (ssr only: the counters are read by `db`).
impl StatementDelta {
    fn between(prev: &StatementCounters, cur: &StatementCounters) -> Option<Self> {
        let d = StatementDelta {
            calls: cur.calls - prev.calls,
            exec_ms: cur.exec_ms - prev.exec_ms,
            plan_ms: cur.plan_ms - prev.plan_ms,
            rows: cur.rows - prev.rows,
            shared_blks_hit: cur.shared_blks_hit - prev.shared_blks_hit,
            shared_blks_read: cur.shared_blks_read - prev.shared_blks_read,
            temp_blks_read: cur.temp_blks_read - prev.temp_blks_read,
            temp_blks_written: cur.temp_blks_written - prev.temp_blks_written,
            // Rebuilt from stddev and mean: rounding may make it a hair negative.
            exec_sumsq: (cur.exec_sumsq - prev.exec_sumsq).max(0.0),
            io_read_ms: cur.io_read_ms - prev.io_read_ms,
            io_write_ms: cur.io_write_ms - prev.io_write_ms,
            wal_bytes: cur.wal_bytes - prev.wal_bytes,
            lock_wait_ms: 0.0,
        };
        let backwards = d.calls < 0
            || d.exec_ms < -1e-6
            || d.plan_ms < -1e-6
            || d.rows < 0
            || d.shared_blks_hit < 0
            || d.shared_blks_read < 0
            || d.temp_blks_read < 0
            || d.temp_blks_written < 0
            || d.io_read_ms < -1e-6
            || d.io_write_ms < -1e-6
            || d.wal_bytes < 0;
        (!backwards).then_some(d)
    }

    fn from_counters(c: &StatementCounters) -> Self {
        Self::between(&StatementCounters::default(), c).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(queryid: i64, calls: i64, exec_ms: f64) -> StatementCounters {
        StatementCounters {
            queryid,
            dbid: 5,
            userid: 10,
            toplevel: true,
            calls,
            exec_ms,
            rows: calls,
            ..StatementCounters::default()
        }
    }

    fn sample(reset_s: i64, dealloc: i64, rows: &[StatementCounters]) -> StatementsSample {
        StatementsSample {
            info: Some(StatementsInfo {
                dealloc,
                stats_reset: OffsetDateTime::from_unix_timestamp(reset_s).expect("time"),
            }),
            server_started: OffsetDateTime::UNIX_EPOCH,
            rows: rows.iter().map(|r| (r.key(), r.clone())).collect(),
        }
    }

    #[test]
    fn deltas_count_what_happened_in_the_interval() {
        let a = sample(1, 0, &[counters(1, 10, 5.0), counters(2, 3, 1.0)]);
        let b = sample(
            1,
            0,
            &[
                counters(1, 15, 7.5),
                counters(2, 3, 1.0),
                counters(3, 4, 2.0),
            ],
        );
        assert_eq!(diff_statements(None, &a), StatementsDiff::default());
        let d = diff_statements(Some(&a), &b);
        assert!(!d.reset);
        let calls: Vec<(i64, i64)> = d.deltas.iter().map(|(k, d)| (k.queryid, d.calls)).collect();
        // 2 did nothing; 3 is new, so all its calls happened in the interval.
        assert_eq!(calls, vec![(1, 5), (3, 4)]);
        assert!((d.deltas[0].1.exec_ms - 2.5).abs() < 1e-9);
    }

    #[test]
    fn a_reset_gives_a_new_baseline_and_an_eviction_skips_the_entry() {
        let a = sample(1, 0, &[counters(1, 10, 5.0), counters(2, 50, 9.0)]);
        let reset = sample(2, 0, &[counters(1, 1, 0.1)]);
        let d = diff_statements(Some(&a), &reset);
        assert!(d.reset);
        assert!(d.deltas.is_empty());
        // Entry 2 was evicted and re-created with fewer calls than before: skipped, not negative.
        let evicted = sample(1, 7, &[counters(1, 12, 6.0), counters(2, 2, 0.5)]);
        let d = diff_statements(Some(&a), &evicted);
        assert!(!d.reset);
        assert_eq!(d.evicted, 7);
        assert_eq!(d.restarted_entries, 1);
        assert_eq!(d.deltas.len(), 1);
        assert_eq!(d.deltas[0].1.calls, 2);
    }

    #[test]
    fn database_counters_going_backwards_leave_a_gap() {
        let prev = DatabaseCounters {
            xact_commit: 100,
            blks_hit: 90,
            blks_read: 10,
            ..DatabaseCounters::default()
        };
        let cur = DatabaseCounters {
            xact_commit: 300,
            blks_hit: 189,
            blks_read: 11,
            ..DatabaseCounters::default()
        };
        let mut p = FastPoint::default();
        database_rates(&prev, &cur, 2.0, &mut p);
        assert_eq!(p.commits, Some(100.0));
        assert_eq!(p.cache_hit, Some(0.99));
        let mut p = FastPoint::default();
        database_rates(&cur, &prev, 2.0, &mut p);
        assert_eq!(p.commits, None);
        assert_eq!(p.cache_hit, None);
    }
}
