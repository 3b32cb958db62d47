//! What the sampler produces and the live stream carries. Plain data only: compiled for the
//! browser too. Rates are per second over the interval since the previous sample; `None` marks a
//! gap (first sample, a counter reset, a restart of the target) instead of a wrong number.

use serde::{Deserialize, Serialize};

use crate::features::activity::model::SessionRow;

/// One sample of the fast (1 s) panels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FastPoint {
    /// When the sample was taken (ms since the Unix epoch, pgpanel's clock).
    pub at_ms: i64,
    pub commits: Option<f64>,
    pub rollbacks: Option<f64>,
    /// Share of block reads served from shared buffers during the interval (0..=1).
    pub cache_hit: Option<f64>,
    pub tup_returned: Option<f64>,
    pub tup_fetched: Option<f64>,
    pub tup_inserted: Option<f64>,
    pub tup_updated: Option<f64>,
    pub tup_deleted: Option<f64>,
    pub temp_bytes: Option<f64>,
    pub deadlocks: Option<f64>,
    pub conflicts: Option<f64>,
    /// Client sessions by state (pgpanel's own included); `waiting` = waiting on a lock.
    pub active: Option<f64>,
    pub idle: Option<f64>,
    pub idle_in_tx: Option<f64>,
    pub waiting: Option<f64>,
}

/// One sample of the slow (10 s) panels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlowPoint {
    pub at_ms: i64,
    pub wal_bytes: Option<f64>,
    /// Checkpoints started in the interval, per minute (timed by checkpoint_timeout vs requested).
    pub checkpoints_timed: Option<f64>,
    pub checkpoints_req: Option<f64>,
    /// The largest replication lag among standbys and slots.
    pub repl_lag_bytes: Option<f64>,
    pub repl_lag_ms: Option<f64>,
}

/// How worrying a health figure is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Ok,
    Warn,
    Critical,
}

/// The health summary at the top of the Overview and in the fleet view. pgpanel's own sessions
/// count against connections only.
///
/// Two clocks for a session idle in transaction: how long its TRANSACTION has been open
/// (`xact_start`: what holds locks and the xmin horizon back) and how long it has been IDLE
/// (`state_change`: since its last statement ended). The classic offender is idle in transaction
/// now with a transaction open for minutes; the level and the bulk tool go by the transaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub connections: i64,
    pub max_connections: i64,
    pub longest_xact_ms: Option<i64>,
    /// Transactions open for longer than `LONG_XACT_MS`.
    pub long_xacts: i64,
    /// Sessions idle in transaction now.
    pub idle_in_tx: i64,
    /// Of those, the transaction open longest (transaction clock).
    pub idle_in_tx_xact_ms: Option<i64>,
    /// Of those, the one idle longest (idle clock).
    pub idle_in_tx_idle_ms: Option<i64>,
    /// Sessions waiting on a lock now, and the longest wait (from the lock graph, at most one
    /// lock interval old).
    pub lock_waiting: i64,
    pub longest_lock_wait_ms: Option<i64>,
    pub max_xid_age: Option<i64>,
    pub oldest_xid_database: Option<String>,
    /// Sessions of other roles whose details the monitor login may not read.
    pub hidden_sessions: i64,
}

pub const LONG_XACT_MS: i64 = 5 * 60_000;

impl Health {
    pub fn connections_level(&self) -> Level {
        if self.max_connections <= 0 {
            return Level::Ok;
        }
        let used = self.connections as f64 / self.max_connections as f64;
        if used >= 0.9 {
            Level::Critical
        } else if used >= 0.75 {
            Level::Warn
        } else {
            Level::Ok
        }
    }

    pub fn xact_level(&self) -> Level {
        match self.longest_xact_ms {
            Some(ms) if ms >= 30 * 60_000 => Level::Critical,
            Some(ms) if ms >= LONG_XACT_MS => Level::Warn,
            _ => Level::Ok,
        }
    }

    /// By the transaction clock: an idle session whose transaction has been open a minute
    /// holds its locks and the xmin horizon for that minute.
    pub fn idle_in_tx_level(&self) -> Level {
        match self.idle_in_tx_xact_ms {
            Some(ms) if ms >= 10 * 60_000 => Level::Critical,
            Some(ms) if ms >= 60_000 => Level::Warn,
            _ => Level::Ok,
        }
    }

    /// A wait of a few milliseconds is normal; ten seconds is a queue someone notices, a minute
    /// (or twenty sessions) an outage.
    pub fn lock_level(&self) -> Level {
        let longest = self.longest_lock_wait_ms.unwrap_or(0);
        if self.lock_waiting == 0 {
            Level::Ok
        } else if longest >= 60_000 || self.lock_waiting >= 20 {
            Level::Critical
        } else if longest >= 10_000 || self.lock_waiting >= 5 {
            Level::Warn
        } else {
            Level::Ok
        }
    }

    /// Wraparound comes at 2^31; autovacuum's forced freeze starts at 200 million by default.
    pub fn xid_level(&self) -> Level {
        match self.max_xid_age {
            Some(age) if age >= 1_200_000_000 => Level::Critical,
            Some(age) if age >= 500_000_000 => Level::Warn,
            _ => Level::Ok,
        }
    }

    pub fn worst(&self) -> Level {
        [
            self.connections_level(),
            self.xact_level(),
            self.idle_in_tx_level(),
            self.lock_level(),
            self.xid_level(),
        ]
        .into_iter()
        .max()
        .unwrap_or_default()
    }
}

/// Why a panel has no fresh data, per panel: one slow or refused query degrades only its panel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelErrors {
    pub activity: Option<String>,
    pub database: Option<String>,
    pub server: Option<String>,
    pub replication: Option<String>,
    pub statements: Option<String>,
    pub locks: Option<String>,
}

/// A target's state as the stream and the first render see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverviewFrame {
    pub target: String,
    pub at_ms: i64,
    pub fast: Option<FastPoint>,
    /// Present in the frame that follows a slow sample.
    pub slow: Option<SlowPoint>,
    pub health: Option<Health>,
    pub errors: PanelErrors,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityFrame {
    pub target: String,
    pub at_ms: i64,
    pub sessions: Vec<SessionRow>,
    pub error: Option<String>,
}

/// Sent after each pg_stat_statements sample: the Queries page re-reads its table then.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatementsFrame {
    pub target: String,
    pub at_ms: i64,
    pub entries: i64,
    /// Entries evicted by pg_stat_statements since the previous sample.
    pub evicted: i64,
    /// pg_stat_statements was reset since the previous sample.
    pub reset: bool,
    pub error: Option<String>,
}

/// The topics a `/live` stream can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Overview,
    Activity,
    Statements,
    Locks,
}

impl Topic {
    pub const ALL: [Topic; 4] = [
        Topic::Overview,
        Topic::Activity,
        Topic::Statements,
        Topic::Locks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Overview => "overview",
            Topic::Activity => "activity",
            Topic::Statements => "statements",
            Topic::Locks => "locks",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The Overview's time ranges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Range {
    #[default]
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "6h")]
    H6,
    #[serde(rename = "24h")]
    H24,
    #[serde(rename = "7d")]
    D7,
}

impl Range {
    pub const ALL: [Range; 5] = [Range::M15, Range::H1, Range::H6, Range::H24, Range::D7];

    pub fn as_str(self) -> &'static str {
        match self {
            Range::M15 => "15m",
            Range::H1 => "1h",
            Range::H6 => "6h",
            Range::H24 => "24h",
            Range::D7 => "7d",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn millis(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            Range::M15 => 15 * MIN,
            Range::H1 => 60 * MIN,
            Range::H6 => 6 * 60 * MIN,
            Range::H24 => 24 * 60 * MIN,
            Range::D7 => 7 * 24 * 60 * MIN,
        }
    }

    /// Resolution of the chart: at most ~450 points per line.
    pub fn step_ms(self) -> i64 {
        match self {
            Range::M15 => 2_000,
            Range::H1 => 10_000,
            Range::H6 => 60_000,
            Range::H24 => 5 * 60_000,
            Range::D7 => 30 * 60_000,
        }
    }

    /// Short ranges come from memory at full resolution and follow the stream point by point.
    pub fn follows_stream(self) -> bool {
        matches!(self, Range::M15 | Range::H1)
    }
}

/// `GET /api/overview`: one target's latest state and its history over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverviewData {
    pub target: crate::features::targets::model::TargetOverview,
    pub range: Range,
    pub step_ms: i64,
    pub now_ms: i64,
    pub fast: Vec<FastPoint>,
    pub slow: Vec<SlowPoint>,
    pub latest: Option<OverviewFrame>,
}

/// The identity of a pg_stat_statements entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StatementKey {
    pub queryid: i64,
    pub dbid: i64,
    pub userid: i64,
    pub toplevel: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StatementText {
    pub queryid: i64,
    pub dbid: i64,
    pub userid: i64,
    pub toplevel: bool,
    pub database_name: String,
    pub user_name: String,
    pub query: String,
}

/// What one pg_stat_statements entry did between two samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatementDelta {
    pub calls: i64,
    pub exec_ms: f64,
    pub plan_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    pub temp_blks_read: i64,
    pub temp_blks_written: i64,
    pub exec_sumsq: f64,
    pub io_read_ms: f64,
    pub io_write_ms: f64,
    pub wal_bytes: i64,
    /// Time its sessions were seen waiting on a lock (sampled by the lock graph, not counted by
    /// pg_stat_statements: part of exec_ms).
    pub lock_wait_ms: f64,
}

impl StatementDelta {
    /// Mean execution time per call (0 without calls).
    pub fn mean_ms(&self) -> f64 {
        if self.calls > 0 {
            self.exec_ms / self.calls as f64
        } else {
            0.0
        }
    }

    /// Standard deviation of the execution time over the calls counted (None under two calls).
    pub fn stddev_ms(&self) -> Option<f64> {
        (self.calls >= 2).then(|| {
            let n = self.calls as f64;
            let mean = self.exec_ms / n;
            (self.exec_sumsq / n - mean * mean).max(0.0).sqrt()
        })
    }

    /// Share of shared-buffer block accesses found in memory (None without any).
    pub fn hit_ratio(&self) -> Option<f64> {
        let all = self.shared_blks_hit + self.shared_blks_read;
        (all > 0).then(|| self.shared_blks_hit as f64 / all as f64)
    }

    pub fn add(&mut self, other: &StatementDelta) {
        self.calls += other.calls;
        self.exec_ms += other.exec_ms;
        self.plan_ms += other.plan_ms;
        self.rows += other.rows;
        self.shared_blks_hit += other.shared_blks_hit;
        self.shared_blks_read += other.shared_blks_read;
        self.temp_blks_read += other.temp_blks_read;
        self.temp_blks_written += other.temp_blks_written;
        self.exec_sumsq += other.exec_sumsq;
        self.io_read_ms += other.io_read_ms;
        self.io_write_ms += other.io_write_ms;
        self.wal_bytes += other.wal_bytes;
        self.lock_wait_ms += other.lock_wait_ms;
    }
}

/// A finished minute, to be written to the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Minute {
    pub minute_ms: i64,
    pub fast: Option<FastPoint>,
    pub slow: Option<SlowPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_thresholds_turn_amber_then_red() {
        let mut h = Health {
            connections: 70,
            max_connections: 100,
            ..Health::default()
        };
        assert_eq!(h.connections_level(), Level::Ok);
        h.connections = 75;
        assert_eq!(h.connections_level(), Level::Warn);
        h.connections = 95;
        assert_eq!(h.worst(), Level::Critical);
        h.connections = 1;
        // Idle for a few seconds, but in a transaction open for more than a minute.
        h.idle_in_tx = 1;
        h.idle_in_tx_idle_ms = Some(5_000);
        h.idle_in_tx_xact_ms = Some(61_000);
        assert_eq!(h.worst(), Level::Warn);
        h.idle_in_tx_xact_ms = Some(11 * 60_000);
        assert_eq!(h.worst(), Level::Critical);
        h.idle_in_tx_xact_ms = None;
        h.lock_waiting = 2;
        h.longest_lock_wait_ms = Some(3_000);
        assert_eq!(h.worst(), Level::Ok);
        h.longest_lock_wait_ms = Some(12_000);
        assert_eq!(h.worst(), Level::Warn);
        h.lock_waiting = 25;
        assert_eq!(h.worst(), Level::Critical);
        h.lock_waiting = 0;
        h.max_xid_age = Some(1_500_000_000);
        assert_eq!(h.worst(), Level::Critical);
        assert_eq!(Health::default().worst(), Level::Ok);
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        let row = SessionRow {
            pid: 1,
            backend_start: None,
            backend_type: "client backend".into(),
            datname: None,
            usename: None,
            application_name: String::new(),
            client_addr: None,
            client_port: None,
            state: None,
            wait_event_type: None,
            wait_event: None,
            xact_start: None,
            query_start: None,
            state_change: None,
            query: "séléct ✓✓✓".into(),
            query_truncated: false,
            xact_age_ms: None,
            query_age_ms: None,
            state_age_ms: None,
            pgpanel: false,
            claims_pgpanel: false,
            visible: true,
        };
        let cut = row.truncated(4);
        assert_eq!(cut.query, "sélé");
        assert!(cut.query_truncated);
        assert!(!row.truncated(100).query_truncated);
    }

    #[test]
    fn ranges_and_topics_parse_only_known_values() {
        assert_eq!(Range::parse("6h"), Some(Range::H6));
        assert_eq!(Range::parse("2h"), None);
        assert_eq!(Topic::parse("activity"), Some(Topic::Activity));
        assert_eq!(Topic::parse("locks"), Some(Topic::Locks));
        assert_eq!(Topic::parse("bloat"), None);
        for r in Range::ALL {
            assert!(r.millis() / r.step_ms() <= 450);
        }
    }
}
