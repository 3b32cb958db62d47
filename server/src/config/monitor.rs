//! `[monitor]`: how pgpanel talks to every target's monitor login, and how often it samples.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use app::features::live::sampler::LiveSchedule;
use app::features::targets::connect::SessionSettings;
use app::features::targets::monitor::Schedule;

use super::Config;

/// How pgpanel talks to every target's monitor login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    pub statement_timeout_ms: u64,
    /// Must be shorter than statement_timeout_ms.
    pub lock_timeout_ms: u64,
    pub idle_in_transaction_session_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Connections per target (monitor login).
    pub max_connections: u32,
    pub probe_interval_ms: u64,
    pub facts_interval_s: u64,
    pub database_sizes_interval_s: u64,
    pub max_backoff_s: u64,
    /// Live panels: pg_stat_activity and pg_stat_database while a page of the target is open.
    pub live_interval_ms: u64,
    /// The same while no page of the target is open (read on a live tick).
    pub live_idle_interval_ms: u64,
    /// Checkpoints, WAL and replication; pg_stat_statements too while a Queries page is open.
    pub live_slow_interval_s: u64,
    /// pg_stat_statements while no Queries page is open (read on a slow tick).
    pub statements_idle_interval_s: u64,
    /// Lock graph: pg_blocking_pids() for the waiting sessions.
    pub locks_interval_ms: u64,
    /// Lock graph: pg_locks, at most this often (only when a new waiter appears).
    pub locks_detail_interval_s: u64,
    /// statement_timeout of maintenance jobs on the action login; 0: none (the default). Jobs
    /// always use lock_timeout_ms.
    pub job_statement_timeout_ms: u64,
    /// Advice: every database of every target is analysed again when its last analysis is this
    /// old (one database at a time); 0: only when a DBA asks.
    pub advice_interval_minutes: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        let session = SessionSettings::default();
        let schedule = Schedule::default();
        let live = LiveSchedule::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            statement_timeout_ms: ms(session.statement_timeout),
            lock_timeout_ms: ms(session.lock_timeout),
            idle_in_transaction_session_timeout_ms: ms(session.idle_in_transaction_session_timeout),
            connect_timeout_ms: ms(session.connect_timeout),
            max_connections: session.max_connections,
            probe_interval_ms: ms(schedule.probe_interval),
            facts_interval_s: schedule.facts_interval.as_secs(),
            database_sizes_interval_s: schedule.sizes_interval.as_secs(),
            max_backoff_s: schedule.max_backoff.as_secs(),
            live_interval_ms: ms(live.fast),
            live_idle_interval_ms: ms(live.idle),
            live_slow_interval_s: live.slow.as_secs(),
            statements_idle_interval_s: live.statements_idle.as_secs(),
            locks_interval_ms: ms(live.locks),
            locks_detail_interval_s: live.locks_detail.as_secs(),
            job_statement_timeout_ms: ms(session.job_statement_timeout),
            advice_interval_minutes: 360,
        }
    }
}

/// The section's rules; the error names the key.
pub fn check(m: &MonitorConfig) -> Result<(), (&'static str, String)> {
    for (key, value) in [
        ("monitor.statement_timeout_ms", m.statement_timeout_ms),
        ("monitor.lock_timeout_ms", m.lock_timeout_ms),
        ("monitor.connect_timeout_ms", m.connect_timeout_ms),
        ("monitor.probe_interval_ms", m.probe_interval_ms),
        ("monitor.facts_interval_s", m.facts_interval_s),
        (
            "monitor.database_sizes_interval_s",
            m.database_sizes_interval_s,
        ),
        ("monitor.max_backoff_s", m.max_backoff_s),
    ] {
        if value == 0 {
            return Err((key, "must be greater than 0".into()));
        }
    }
    if m.lock_timeout_ms >= m.statement_timeout_ms {
        return Err((
            "monitor.lock_timeout_ms",
            "must be shorter than monitor.statement_timeout_ms (waiting on a lock gives up first)"
                .into(),
        ));
    }
    if !(1..=10).contains(&m.max_connections) {
        return Err(("monitor.max_connections", "must be between 1 and 10".into()));
    }
    if m.live_interval_ms < 100 {
        return Err(("monitor.live_interval_ms", "must be at least 100".into()));
    }
    if m.live_slow_interval_s == 0 || m.live_slow_interval_s * 1000 < m.live_interval_ms {
        return Err((
            "monitor.live_slow_interval_s",
            "must be greater than 0 and not shorter than monitor.live_interval_ms".into(),
        ));
    }
    if m.live_idle_interval_ms < m.live_interval_ms
        || m.live_idle_interval_ms > m.live_slow_interval_s * 1000
    {
        return Err((
            "monitor.live_idle_interval_ms",
            "must not be shorter than monitor.live_interval_ms (it is read on a live tick) nor \
             longer than monitor.live_slow_interval_s (the slow reads ride on it)"
                .into(),
        ));
    }
    if m.statements_idle_interval_s < m.live_slow_interval_s {
        return Err((
            "monitor.statements_idle_interval_s",
            "must not be shorter than monitor.live_slow_interval_s (it is read on a slow tick)"
                .into(),
        ));
    }
    if m.locks_interval_ms < m.live_interval_ms {
        return Err((
            "monitor.locks_interval_ms",
            "must not be shorter than monitor.live_interval_ms (the lock graph uses its sample)"
                .into(),
        ));
    }
    if m.advice_interval_minutes != 0 && !(10..=10_080).contains(&m.advice_interval_minutes) {
        return Err((
            "monitor.advice_interval_minutes",
            "must be 0 (only on request) or between 10 and 10080 (a week)".into(),
        ));
    }
    if m.locks_detail_interval_s == 0 {
        return Err((
            "monitor.locks_detail_interval_s",
            "must be greater than 0".into(),
        ));
    }
    Ok(())
}

impl Config {
    pub fn session_settings(&self) -> SessionSettings {
        let m = &self.monitor;
        SessionSettings {
            statement_timeout: Duration::from_millis(m.statement_timeout_ms),
            lock_timeout: Duration::from_millis(m.lock_timeout_ms),
            idle_in_transaction_session_timeout: Duration::from_millis(
                m.idle_in_transaction_session_timeout_ms,
            ),
            connect_timeout: Duration::from_millis(m.connect_timeout_ms),
            max_connections: m.max_connections,
            job_statement_timeout: Duration::from_millis(m.job_statement_timeout_ms),
        }
    }

    pub fn schedule(&self) -> Schedule {
        let m = &self.monitor;
        Schedule {
            probe_interval: Duration::from_millis(m.probe_interval_ms),
            facts_interval: Duration::from_secs(m.facts_interval_s),
            sizes_interval: Duration::from_secs(m.database_sizes_interval_s),
            max_backoff: Duration::from_secs(m.max_backoff_s),
        }
    }

    pub fn live_schedule(&self) -> LiveSchedule {
        LiveSchedule {
            fast: Duration::from_millis(self.monitor.live_interval_ms),
            idle: Duration::from_millis(self.monitor.live_idle_interval_ms),
            slow: Duration::from_secs(self.monitor.live_slow_interval_s),
            statements_idle: Duration::from_secs(self.monitor.statements_idle_interval_s),
            locks: Duration::from_millis(self.monitor.locks_interval_ms),
            locks_detail: Duration::from_secs(self.monitor.locks_detail_interval_s),
        }
    }
}
