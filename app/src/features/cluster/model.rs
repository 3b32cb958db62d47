//! What the Cluster page and `GET /api/cluster` show. Plain data: compiled for the browser too.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Heard of within the last `LOST_AFTER_MS`.
    Running,
    /// No heartbeat for longer than that: crashed, hung or cut off from the store.
    Lost,
    /// Shut down cleanly.
    Stopped,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Lost => "lost",
            Self::Stopped => "stopped",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: String,
    /// pgpanel's version.
    pub version: String,
    pub host: String,
    /// The address it listens on.
    pub listen: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
    /// How long ago the latest heartbeat was, by the store's clock.
    pub heartbeat_age_ms: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
    pub state: InstanceState,
    /// The ids of the targets it samples.
    pub targets: Vec<String>,
    /// The instance that answered this request.
    pub this: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    /// `postgres` (instances may share it) or `sqlite` (one instance).
    pub store: String,
    /// The store's clock when it was read.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// The latest started first.
    pub instances: Vec<InstanceView>,
}

/// An instance's state from its stamps (the store's clock, ms).
pub fn state_of(
    now_ms: i64,
    heartbeat_at_ms: i64,
    stopped: bool,
    lost_after_ms: i64,
) -> InstanceState {
    if stopped {
        InstanceState::Stopped
    } else if now_ms - heartbeat_at_ms > lost_after_ms {
        InstanceState::Lost
    } else {
        InstanceState::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_lost_once_its_heartbeat_is_older_than_the_limit() {
        assert_eq!(
            state_of(20_000, 10_000, false, 15_000),
            InstanceState::Running
        );
        assert_eq!(
            state_of(25_000, 10_000, false, 15_000),
            InstanceState::Running
        );
        assert_eq!(state_of(25_001, 10_000, false, 15_000), InstanceState::Lost);
        assert_eq!(
            state_of(25_001, 10_000, true, 15_000),
            InstanceState::Stopped
        );
        // A heartbeat stamped after the read (the store's clock read first): running.
        assert_eq!(
            state_of(9_000, 10_000, false, 15_000),
            InstanceState::Running
        );
    }
}
