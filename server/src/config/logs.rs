//! `[logs]`: how every target's server log is followed (the per-target keys `logs`, `log_path`,
//! `log_format` and `log_line_prefix` say where it is read from).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use app::features::logs::spec::TailSettings;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Seconds between two reads of a target's log.
    pub poll_interval_s: u64,
    /// `duration:` lines shorter than this (ms) are counted per minute, not stored one by one.
    pub slow_ms: f64,
    /// Entries stored per target, minute and kind at most; the rest are counted.
    pub max_entries_per_minute: i64,
    /// Bytes read per target and poll at most (the target reads them from disk).
    pub max_bytes_per_poll: u64,
    /// A file further behind than this many bytes is skipped to its end, with a note.
    pub max_backlog_bytes: u64,
}

impl Default for LogsConfig {
    fn default() -> Self {
        let t = TailSettings::default();
        Self {
            poll_interval_s: t.poll_interval.as_secs(),
            slow_ms: t.slow_ms,
            max_entries_per_minute: t.max_entries_per_minute,
            max_bytes_per_poll: t.max_bytes_per_poll,
            max_backlog_bytes: t.max_backlog_bytes,
        }
    }
}

impl LogsConfig {
    pub fn settings(&self) -> TailSettings {
        TailSettings {
            poll_interval: Duration::from_secs(self.poll_interval_s),
            slow_ms: self.slow_ms,
            max_entries_per_minute: self.max_entries_per_minute,
            max_bytes_per_poll: self.max_bytes_per_poll,
            max_backlog_bytes: self.max_backlog_bytes,
        }
    }

    /// The first key with a value out of range, and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=600).contains(&self.poll_interval_s) {
            return Err(("logs.poll_interval_s", "must be between 1 and 600".into()));
        }
        if !(self.slow_ms >= 0.0 && self.slow_ms.is_finite()) {
            return Err(("logs.slow_ms", "must be 0 or more".into()));
        }
        if self.max_entries_per_minute < 1 {
            return Err(("logs.max_entries_per_minute", "must be at least 1".into()));
        }
        if !(64 * 1024..=256 * 1024 * 1024).contains(&self.max_bytes_per_poll) {
            return Err((
                "logs.max_bytes_per_poll",
                "must be between 65536 and 268435456".into(),
            ));
        }
        if self.max_backlog_bytes < self.max_bytes_per_poll {
            return Err((
                "logs.max_backlog_bytes",
                "must be at least logs.max_bytes_per_poll".into(),
            ));
        }
        Ok(())
    }
}
