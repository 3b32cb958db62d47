//! How a target's log is read, from the configuration (`[[targets]]` keys `logs`, `log_path`,
//! `log_format`, `log_line_prefix`).

use std::path::PathBuf;

/// Where the bytes come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LogMode {
    /// Over SQL: `pg_ls_logdir()` and the `pgpanel.read_log` function (the default).
    #[default]
    Sql,
    /// From files on this host: a directory of log files, or one file (Debian's
    /// /var/log/postgresql/postgresql-15-main.log, which SQL cannot reach).
    File(PathBuf),
    Off,
}

/// The log settings of one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSpec {
    pub mode: LogMode,
    /// `jsonlog`, `csvlog` or `stderr`: which files to follow. Default: the best the server
    /// writes (log_destination), else by file name.
    pub format: Option<String>,
    /// The server's `log_line_prefix` for stderr files, when it cannot be read from the target.
    pub line_prefix: Option<String>,
}

/// What the tailer does, the same for every target (`[logs]`).
#[derive(Clone, Debug, PartialEq)]
pub struct TailSettings {
    pub poll_interval: std::time::Duration,
    /// `duration:` lines shorter than this are counted, not stored one by one.
    pub slow_ms: f64,
    /// Entries stored per target, minute and kind at most; the rest are counted.
    pub max_entries_per_minute: i64,
    /// Bytes read per target and poll at most.
    pub max_bytes_per_poll: u64,
    /// A file further behind than this is skipped to its end (the page says how much).
    pub max_backlog_bytes: u64,
}

impl Default for TailSettings {
    fn default() -> Self {
        Self {
            poll_interval: std::time::Duration::from_secs(5),
            slow_ms: 100.0,
            max_entries_per_minute: 2000,
            max_bytes_per_poll: 8 * 1024 * 1024,
            max_backlog_bytes: 256 * 1024 * 1024,
        }
    }
}
