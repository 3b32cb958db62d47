//! Reading only what changed since the previous sample, so the target's cost depends on what
//! moved rather than on how many backends and statements it holds:
//! - pg_stat_activity: backends idle in the previous sample that started no statement since are
//!   not sent; pgpanel keeps their previous rows, and the pid list comes only when the number of
//!   backends changed (sql/activity.sql);
//! - pg_stat_statements: entries that did not run since the previous read are not sent; pgpanel
//!   keeps their previous counters (sql/statements.sql).
//!
//! The merges are pure and unit-tested; a read that does not fit the baseline falls back to a full
//! read, so a mistake here costs a query, never a wrong number.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::compute::StatementsSample;
use super::db::{StatementCounters, StatementsInfo};
use super::model::StatementKey;
use crate::features::activity::db::ActivityRow;

/// An idle backend is sent again when it changed after the previous sample's time minus this:
/// room for a backend that stamped its change just before that sample read it.
const ACTIVITY_MARGIN: time::Duration = time::Duration::SECOND;

/// Every this many partial reads of pg_stat_statements, one full read: an entry whose new total
/// execution time equals another entry's old one by chance is then late by at most this many
/// reads, never lost (its counters are cumulative), and entries gone from the view leave the
/// baseline.
pub const STATEMENTS_FULL_EVERY: u32 = 30;

/// The previous activity sample, by pid, and its pids in order.
#[derive(Debug, Default)]
pub struct ActivityBaseline {
    rows: HashMap<i32, ActivityRow>,
    order: Vec<i32>,
    sampled_at: Option<OffsetDateTime>,
}

impl ActivityBaseline {
    /// What to pass to the next read: `None` (every backend) until a sample was taken.
    pub fn since(&self) -> Option<OffsetDateTime> {
        self.sampled_at.map(|t| t - ACTIVITY_MARGIN)
    }

    /// How many backends the previous sample held (the read lists every pid only when the
    /// count differs); `None` until a sample was taken.
    pub fn backends(&self) -> Option<i32> {
        self.sampled_at
            .map(|_| i32::try_from(self.order.len()).unwrap_or(i32::MAX))
    }

    /// The backends whose row in the previous sample was not idle (active, in a transaction, or
    /// without a state: background processes, rows hidden by missing privilege): the next read
    /// sends them whatever their times say (one whose statement began before `since` and ended
    /// after it is idle now with an old query_start).
    pub fn busy(&self) -> Vec<i32> {
        self.order
            .iter()
            .filter(|pid| {
                self.rows
                    .get(pid)
                    .is_some_and(|r| r.state.as_deref() != Some("idle"))
            })
            .copied()
            .collect()
    }

    /// The whole sample from a read made with `since` and [`Self::backends`], or `None` when
    /// the read does not fit the baseline: then read everything. It fits when it lists every
    /// pid and each is sent or known, or when it lists none (the count did not change) and
    /// every backend sent is known (one that exited while another started does not fit).
    pub fn apply(
        &mut self,
        since: Option<OffsetDateTime>,
        mut fresh: Vec<ActivityRow>,
    ) -> Option<Vec<ActivityRow>> {
        let alive = fresh.iter_mut().find_map(|r| r.alive.take());
        let sampled_at = fresh.first()?.sampled_at;
        let rows = if since.is_none() {
            fresh
        } else {
            let mut sent: HashMap<i32, ActivityRow> =
                fresh.into_iter().map(|r| (r.pid, r)).collect();
            let listed = match alive {
                Some(pids) => pids,
                None if sent.keys().all(|pid| self.rows.contains_key(pid)) => self.order.clone(),
                None => return None,
            };
            let mut rows = Vec::with_capacity(listed.len().max(sent.len()));
            for pid in listed {
                match sent.remove(&pid) {
                    Some(row) => rows.push(row),
                    None => {
                        let mut row = self.rows.get(&pid)?.clone();
                        row.sampled_at = sampled_at;
                        rows.push(row);
                    }
                }
            }
            // Sent but missing from the pid list (a process the list does not number).
            let mut rest: Vec<ActivityRow> = sent.into_values().collect();
            rest.sort_by_key(|r| r.pid);
            rows.extend(rest);
            rows
        };
        self.order = rows.iter().map(|r| r.pid).collect();
        self.rows = rows.iter().map(|r| (r.pid, r.clone())).collect();
        self.sampled_at = Some(sampled_at);
        Some(rows)
    }
}

/// The total execution times of the previous sample's entries, to leave out of the next read
/// (sql/statements.sql: an entry whose total did not move did not run); `None` to read every
/// entry: no previous sample, a reset, an eviction or a restart since (stale entries must leave
/// the baseline), or a full read is due.
pub fn known_exec_times(
    prev: Option<&StatementsSample>,
    info: Option<&StatementsInfo>,
    server_started: OffsetDateTime,
    partial_reads: u32,
) -> Option<Vec<f64>> {
    let prev = prev?;
    if partial_reads >= STATEMENTS_FULL_EVERY
        || info.is_none()
        || prev.info.as_ref() != info
        || prev.server_started != server_started
    {
        return None;
    }
    Some(prev.rows.values().map(|c| c.exec_ms).collect())
}

/// The whole sample after a partial read: the previous counters, updated by what was sent.
pub fn merge_statements(
    prev: &StatementsSample,
    sent: Vec<StatementCounters>,
) -> HashMap<StatementKey, StatementCounters> {
    let mut rows = prev.rows.clone();
    rows.extend(sent.into_iter().map(|c| (c.key(), c)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).expect("time")
    }

    fn row(pid: i32, sampled: i64, query: &str) -> ActivityRow {
        ActivityRow {
            sampled_at: at(sampled),
            pid,
            backend_start: Some(at(0)),
            backend_type: "client backend".into(),
            datid: Some(5),
            usesysid: Some(10),
            application_name: String::new(),
            client_addr: None,
            client_port: None,
            state: Some("idle".into()),
            wait_event_type: None,
            wait_event: None,
            xact_start: None,
            query_start: Some(at(0)),
            state_change: Some(at(0)),
            backend_xid: None,
            query: query.into(),
            query_id: None,
            is_self: false,
            alive: None,
        }
    }

    fn own(sampled: i64, alive: &[i32]) -> ActivityRow {
        ActivityRow {
            is_self: true,
            state: Some("active".into()),
            alive: Some(alive.to_vec()),
            ..row(1, sampled, "select")
        }
    }

    #[test]
    fn busy_backends_are_those_not_idle_in_the_previous_sample() {
        let mut base = ActivityBaseline::default();
        assert!(base.busy().is_empty());
        let in_tx = ActivityRow {
            state: Some("idle in transaction".into()),
            ..row(3, 10, "begin")
        };
        let background = ActivityRow {
            state: None,
            backend_type: "checkpointer".into(),
            ..row(4, 10, "")
        };
        base.apply(
            None,
            vec![own(10, &[1, 2, 3, 4]), row(2, 10, "a"), in_tx, background],
        )
        .expect("full read");
        assert_eq!(
            base.busy(),
            vec![1, 3, 4],
            "idle 2 only is left to its times"
        );
    }

    #[test]
    fn activity_keeps_unchanged_backends_and_drops_gone_ones() {
        let mut base = ActivityBaseline::default();
        assert_eq!(base.since(), None);
        let first = base
            .apply(
                None,
                vec![own(10, &[1, 2, 3]), row(2, 10, "a"), row(3, 10, "b")],
            )
            .expect("full read");
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|r| r.alive.is_none()));
        assert_eq!(base.since(), Some(at(9)));

        // Backend 2 unchanged (not sent), 3 ran something, 4 is new, nothing else exited.
        let second = base
            .apply(
                base.since(),
                vec![own(11, &[1, 2, 3, 4]), row(3, 11, "c"), row(4, 11, "d")],
            )
            .expect("fits");
        let by_pid: HashMap<i32, &ActivityRow> = second.iter().map(|r| (r.pid, r)).collect();
        assert_eq!(second.len(), 4);
        assert_eq!(by_pid[&2].query, "a");
        assert_eq!(
            by_pid[&2].sampled_at,
            at(11),
            "kept rows take the new sample time"
        );
        assert_eq!(by_pid[&3].query, "c");

        // Backend 2 exited.
        let third = base
            .apply(base.since(), vec![own(12, &[1, 3, 4])])
            .expect("fits");
        let pids: Vec<i32> = third.iter().map(|r| r.pid).collect();
        assert_eq!(pids, vec![1, 3, 4]);
    }

    #[test]
    fn activity_without_a_pid_list_keeps_the_same_backends() {
        let mut base = ActivityBaseline::default();
        assert_eq!(base.backends(), None);
        base.apply(
            None,
            vec![own(10, &[1, 2, 3]), row(2, 10, "a"), row(3, 10, "b")],
        )
        .expect("full read");
        assert_eq!(base.backends(), Some(3));
        // The count did not change: no list; 3 ran something, 2 is kept, in the same order.
        let mut me = own(11, &[]);
        me.alive = None;
        let rows = base
            .apply(base.since(), vec![me.clone(), row(3, 11, "c")])
            .expect("fits");
        let got: Vec<(i32, &str)> = rows.iter().map(|r| (r.pid, r.query.as_str())).collect();
        assert_eq!(got, vec![(1, "select"), (2, "a"), (3, "c")]);
        assert_eq!(rows[1].sampled_at, at(11));
        // Same count, but 4 is new (so one of them exited): read everything.
        assert!(
            base.apply(base.since(), vec![me, row(4, 12, "d")])
                .is_none()
        );
        assert_eq!(base.backends(), Some(3), "a failed merge changes nothing");
    }

    #[test]
    fn activity_read_that_does_not_fit_asks_for_a_full_read() {
        let mut base = ActivityBaseline::default();
        base.apply(None, vec![own(10, &[1, 2])]);
        // Backend 7 is listed but neither sent nor known.
        assert!(base.apply(base.since(), vec![own(11, &[1, 7])]).is_none());
        // No pid list, and a backend sent that the baseline does not hold.
        assert!(base.apply(base.since(), vec![row(5, 11, "x")]).is_none());
        assert!(base.apply(base.since(), Vec::new()).is_none());
        // The failed merges changed nothing: a full read starts over.
        let full = base
            .apply(None, vec![own(12, &[1, 7]), row(7, 12, "y")])
            .expect("full");
        assert_eq!(full.len(), 2);
    }

    #[test]
    fn activity_keeps_rows_sent_outside_the_pid_list() {
        let mut base = ActivityBaseline::default();
        base.apply(None, vec![own(10, &[1])]);
        let rows = base
            .apply(base.since(), vec![own(11, &[1]), row(900, 11, "")])
            .expect("fits");
        assert_eq!(rows.len(), 2);
    }

    fn counters(queryid: i64, userid: i64, calls: i64) -> StatementCounters {
        StatementCounters {
            queryid,
            dbid: 5,
            userid,
            toplevel: true,
            calls,
            exec_ms: calls as f64 * 1.5 + queryid as f64,
            ..StatementCounters::default()
        }
    }

    fn sample(dealloc: i64, rows: &[StatementCounters]) -> StatementsSample {
        StatementsSample {
            info: Some(StatementsInfo {
                dealloc,
                stats_reset: at(0),
            }),
            server_started: at(-100),
            rows: rows.iter().map(|c| (c.key(), c.clone())).collect(),
        }
    }

    #[test]
    fn statements_known_only_when_the_view_did_not_change_under_us() {
        // Entries sharing a queryid (another role, or nested and top level) are told apart by
        // their totals too.
        let prev = sample(
            3,
            &[counters(1, 10, 5), counters(2, 10, 7), counters(2, 11, 7)],
        );
        let info = prev.info.clone();
        let started = prev.server_started;
        let mut known = known_exec_times(Some(&prev), info.as_ref(), started, 0).expect("partial");
        known.sort_by(f64::total_cmp);
        assert_eq!(known, vec![8.5, 12.5, 12.5]);

        assert!(known_exec_times(None, info.as_ref(), started, 0).is_none());
        assert!(known_exec_times(Some(&prev), None, started, 0).is_none());
        let evicted = sample(4, &[]).info;
        assert!(known_exec_times(Some(&prev), evicted.as_ref(), started, 0).is_none());
        assert!(known_exec_times(Some(&prev), info.as_ref(), at(5), 0).is_none());
        assert!(
            known_exec_times(Some(&prev), info.as_ref(), started, STATEMENTS_FULL_EVERY).is_none()
        );
    }

    #[test]
    fn merged_statements_keep_unsent_entries_and_take_sent_ones() {
        let prev = sample(0, &[counters(1, 10, 5), counters(2, 10, 7)]);
        let rows = merge_statements(&prev, vec![counters(2, 10, 9), counters(3, 10, 1)]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[&counters(1, 10, 0).key()].calls, 5);
        assert_eq!(rows[&counters(2, 10, 0).key()].calls, 9);
        assert_eq!(rows[&counters(3, 10, 0).key()].calls, 1);
    }
}
