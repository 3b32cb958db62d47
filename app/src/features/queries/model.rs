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
}

impl Order {
    pub const ALL: [Order; 7] = [
        Order::TotalTime,
        Order::MeanTime,
        Order::Calls,
        Order::Rows,
        Order::SharedBlksHit,
        Order::SharedBlksRead,
        Order::TempBlks,
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
}

/// Why top queries are not available, and what to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    pub detail: String,
    pub hint: Option<String>,
    pub sql: Option<String>,
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
    pub unavailable: Option<Unavailable>,
    /// The sampler's last error for pg_stat_statements, if its last read failed.
    pub error: Option<String>,
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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryDetail {
    pub target: String,
    pub queryid: String,
    pub window: Window,
    pub query: Option<String>,
    /// The entries with this queryid (one per database, role and nesting level).
    pub entries: Vec<StatementRow>,
    pub points: Vec<QueryPoint>,
}
