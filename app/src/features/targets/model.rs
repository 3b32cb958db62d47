//! What pgpanel knows about each target, as shipped to the browser and to `GET /api/targets`.
//! Plain data only: this file is compiled for the browser too.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One configured target with its connection state and the facts last read from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetOverview {
    pub id: String,
    pub name: String,
    /// Where the monitor login connects: `user@host:port/database` (never a password).
    pub endpoint: String,
    pub status: TargetStatus,
    /// Facts from the last successful check; kept while the target is unreachable so the page can
    /// say what it was.
    pub server: Option<ServerSummary>,
    pub capabilities: Vec<Capability>,
    pub databases: Option<DatabaseSizes>,
    pub actions: ActionsAvailability,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TargetStatus {
    /// No check has finished yet (pgpanel just started).
    Connecting {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
    Up {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        checked_at: OffsetDateTime,
    },
    Unreachable {
        /// First failed check of this outage.
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        checked_at: OffsetDateTime,
        /// A safe, short reason (no credentials, no internal detail).
        error: String,
        #[serde(with = "time::serde::rfc3339")]
        next_attempt_at: OffsetDateTime,
    },
}

impl TargetStatus {
    pub fn is_up(&self) -> bool {
        matches!(self, Self::Up { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerRole {
    Primary,
    Standby,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerSummary {
    /// `server_version`, e.g. "15.20 (Debian 15.20-0+deb12u1)".
    pub version: String,
    /// `server_version_num`, e.g. 150020.
    pub version_num: i32,
    pub role: ServerRole,
    /// `pg_postmaster_start_time()`: uptime is measured from here.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The login pgpanel monitors with, and the database it connects to.
    pub login: String,
    pub database: String,
    pub max_connections: i32,
}

impl ServerSummary {
    /// "15.20" out of "15.20 (Debian 15.20-0+deb12u1)".
    pub fn short_version(&self) -> &str {
        self.version
            .split_whitespace()
            .next()
            .unwrap_or(&self.version)
    }
}

/// A feature pgpanel can use on this target, whether it is usable, and what to do if it is not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    /// Stable key: pg_monitor, pg_stat_statements, pgstattuple, hypopg, track_io_timing.
    pub key: String,
    pub label: String,
    pub available: bool,
    /// What was found, in a sentence.
    pub detail: String,
    /// What to do to enable it; only for missing capabilities.
    pub hint: Option<String>,
    /// The exact SQL to run, when there is some (copyable on its own).
    pub sql: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSizes {
    /// Sizes are measured every few minutes, not per page view; this says when.
    #[serde(with = "time::serde::rfc3339")]
    pub measured_at: OffsetDateTime,
    pub items: Vec<DatabaseSize>,
}

impl DatabaseSizes {
    pub fn total_bytes(&self) -> i64 {
        self.items.iter().filter_map(|d| d.size_bytes).sum()
    }
}

/// Also the row type of `database_sizes.sql` on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DatabaseSize {
    pub name: String,
    /// None when the monitor login may not connect to that database (and lacks pg_read_all_stats).
    pub size_bytes: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionsAvailability {
    pub enabled: bool,
    /// Why actions are off, when they are.
    pub reason: Option<String>,
    /// pgpanel's logins on the target (a bound value of the statements the actions send, shown
    /// with them before they run).
    #[serde(default)]
    pub own_logins: Vec<String>,
}

/// Why a capability cannot be used on a target (pg_stat_statements for top queries), and what
/// to run about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unavailable {
    pub detail: String,
    pub hint: Option<String>,
    pub sql: Option<String>,
}
