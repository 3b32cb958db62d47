//! What the Queries page and `GET /api/queries/top` / `GET /api/queries/detail` return.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    #[default]
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "24h")]
    H24,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::M5, Window::H1, Window::H24];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::M5 => "5m",
            Window::H1 => "1h",
            Window::H24 => "24h",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == s)
    }

    pub fn millis(self) -> i64 {
        match self {
            Window::M5 => 5 * 60_000,
            Window::H1 => 60 * 60_000,
            Window::H24 => 24 * 60 * 60_000,
        }
    }
}

/// The columns the top list can be ordered by (largest first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    TotalTime,
    MeanTime,
    Calls,
    Rows,
    SharedBlksHit,
    SharedBlksRead,
    TempBlks,
    IoTime,
    WalBytes,
    LockWait,
}

impl Order {
    pub const ALL: [Order; 10] = [
        Order::TotalTime,
        Order::MeanTime,
        Order::Calls,
        Order::Rows,
        Order::SharedBlksHit,
        Order::SharedBlksRead,
        Order::TempBlks,
        Order::IoTime,
        Order::WalBytes,
        Order::LockWait,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Order::TotalTime => "total_time",
            Order::MeanTime => "mean_time",
            Order::Calls => "calls",
            Order::Rows => "rows",
            Order::SharedBlksHit => "shared_blks_hit",
            Order::SharedBlksRead => "shared_blks_read",
            Order::TempBlks => "temp_blks",
            Order::IoTime => "io_time",
            Order::WalBytes => "wal_bytes",
            Order::LockWait => "lock_wait",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn key(self, r: &StatementRow) -> f64 {
        match self {
            Order::TotalTime => r.total_ms,
            Order::MeanTime => r.mean_ms,
            Order::Calls => r.calls as f64,
            Order::Rows => r.rows as f64,
            Order::SharedBlksHit => r.shared_blks_hit as f64,
            Order::SharedBlksRead => r.shared_blks_read as f64,
            Order::TempBlks => r.temp_blks as f64,
            Order::IoTime => r.io_read_ms + r.io_write_ms,
            Order::WalBytes => r.wal_bytes as f64,
            Order::LockWait => r.lock_wait_ms,
        }
    }
}

/// One statement over the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatementRow {
    /// pg_stat_statements' queryid, as a string: it does not fit a JavaScript number.
    pub queryid: String,
    pub database: Option<String>,
    pub user: Option<String>,
    pub toplevel: bool,
    /// The normalised text (constants replaced by $1…); None until pgpanel has read it.
    pub query: Option<String>,
    pub calls: i64,
    /// Execution time (total_exec_time) over the window.
    pub total_ms: f64,
    pub mean_ms: f64,
    pub plan_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    /// Temporary blocks read and written.
    pub temp_blks: i64,
    /// Share of the execution time of all statements in the window (0..=1).
    pub share: f64,
    /// Standard deviation of the execution time over the window's calls (None under two).
    #[serde(default)]
    pub stddev_ms: Option<f64>,
    /// Fastest and slowest call over the entry's life (pg_stat_statements keeps no window).
    #[serde(default)]
    pub min_ms: Option<f64>,
    #[serde(default)]
    pub max_ms: Option<f64>,
    /// Shared-buffer accesses found in memory (0..=1; None without any).
    #[serde(default)]
    pub hit_ratio: Option<f64>,
    /// Time reading and writing blocks (needs track_io_timing).
    #[serde(default)]
    pub io_read_ms: f64,
    #[serde(default)]
    pub io_write_ms: f64,
    #[serde(default)]
    pub wal_bytes: i64,
    /// Time its sessions were seen waiting on a lock (sampled every lock interval): part of
    /// `total_ms`, which pg_stat_statements counts as execution.
    #[serde(default)]
    pub lock_wait_ms: f64,
    /// Run by one of pgpanel's own logins.
    #[serde(default)]
    pub own: bool,
}

impl StatementRow {
    /// The share of its time spent waiting on locks, when that is most of it (at least half
    /// and a second): the hint that its "execution time" is queueing, not work.
    pub fn mostly_lock_wait(&self) -> Option<f64> {
        (self.total_ms > 0.0 && self.lock_wait_ms >= 1000.0)
            .then(|| (self.lock_wait_ms / self.total_ms).min(1.0))
            .filter(|share| *share >= 0.5)
    }

    /// A heading for people: the statement's first words, not its (often negative) queryid.
    pub fn title(&self) -> String {
        match &self.query {
            Some(q) => {
                let flat = q.split_whitespace().collect::<Vec<_>>().join(" ");
                match flat.char_indices().nth(80) {
                    Some((cut, _)) => format!("{}…", &flat[..cut]),
                    None => flat,
                }
            }
            None => "a statement whose text pgpanel has not read yet".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopQueries {
    pub target: String,
    pub window: Window,
    pub order: Order,
    pub from_ms: i64,
    pub to_ms: i64,
    pub rows: Vec<StatementRow>,
    /// Statements with activity in the window (the list shows the first `limit`).
    pub statements: i64,
    pub total_ms: f64,
    pub total_calls: i64,
    pub resets: i64,
    pub evicted: i64,
    pub unavailable: Option<crate::features::targets::model::Unavailable>,
    /// The sampler's last error for pg_stat_statements, if its last read failed.
    pub error: Option<String>,
    /// Statements of pgpanel's own logins were left out (`hide_own`), and how many.
    #[serde(default)]
    pub hide_own: bool,
    #[serde(default)]
    pub own_hidden: i64,
    /// The pg_stat_statements sample this answer includes (the `statements` frame's `at_ms`):
    /// the page re-reads only after a newer one.
    pub sampled_at_ms: Option<i64>,
}

/// One minute of a statement's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryPoint {
    pub minute_ms: i64,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
    pub shared_blks_read: i64,
    #[serde(default)]
    pub lock_wait_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryDetail {
    pub target: String,
    pub queryid: String,
    pub window: Window,
    /// The window's end (ms since the epoch): the charts span `window` up to here.
    #[serde(default)]
    pub to_ms: i64,
    pub query: Option<String>,
    /// The entries with this queryid (one per database, role and nesting level).
    pub entries: Vec<StatementRow>,
    pub points: Vec<QueryPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(total_ms: f64, lock_wait_ms: f64, query: Option<&str>) -> StatementRow {
        StatementRow {
            queryid: "-42".into(),
            database: None,
            user: None,
            toplevel: true,
            query: query.map(Into::into),
            calls: 1,
            total_ms,
            mean_ms: total_ms,
            plan_ms: 0.0,
            rows: 1,
            shared_blks_hit: 3,
            shared_blks_read: 0,
            temp_blks: 0,
            share: 1.0,
            stddev_ms: None,
            min_ms: None,
            max_ms: None,
            hit_ratio: Some(1.0),
            io_read_ms: 0.0,
            io_write_ms: 0.0,
            wal_bytes: 0,
            lock_wait_ms,
            own: false,
        }
    }

    #[test]
    fn lock_wait_hint_only_when_it_is_most_of_the_time() {
        assert_eq!(
            row(21_660.0, 20_000.0, None)
                .mostly_lock_wait()
                .map(|s| (s * 100.0).round()),
            Some(92.0)
        );
        assert_eq!(row(21_660.0, 2_000.0, None).mostly_lock_wait(), None);
        assert_eq!(
            row(600.0, 500.0, None).mostly_lock_wait(),
            None,
            "under a second"
        );
    }

    #[test]
    fn titles_are_words_not_ids() {
        assert_eq!(
            row(1.0, 0.0, Some("update  inventory\n set qty = $1")).title(),
            "update inventory set qty = $1"
        );
        assert!(row(1.0, 0.0, Some(&"x".repeat(200))).title().ends_with('…'));
        assert!(!row(1.0, 0.0, None).title().contains("-42"));
        for o in Order::ALL {
            assert_eq!(Order::parse(o.as_str()), Some(o));
        }
    }
}
