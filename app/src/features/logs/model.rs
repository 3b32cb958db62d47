//! The server log as the API returns it and the Logs page shows it: entries, their kind, pgaudit's
//! fields, and why a target's log is (not) being read.

use serde::{Deserialize, Serialize};

/// What an entry is about, decided from its severity, SQLSTATE and message (`parse::classify`).
/// Stored by [`Kind::name`]; the `kind` filter accepts these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// ERROR, FATAL or PANIC not classified below.
    Error,
    /// WARNING not classified below.
    Warning,
    /// A `duration:` line at or above the slow threshold (shorter ones are only counted).
    Slow,
    /// Lock waits (`log_lock_waits`), lock timeouts, deadlocks.
    Lock,
    /// Connections, disconnections, authentication failures, too many connections.
    Connection,
    Checkpoint,
    /// Autovacuum and autoanalyze runs, and autovacuum cancelled by a lock.
    Autovacuum,
    /// `log_temp_files`.
    TempFile,
    /// A pgaudit record (`AUDIT: …`).
    Audit,
    /// `log_statement` lines.
    Statement,
    /// Start, shutdown, crashes and restarts of the server.
    Server,
    Other,
}

impl Kind {
    pub const ALL: [Self; 12] = [
        Self::Error,
        Self::Warning,
        Self::Slow,
        Self::Lock,
        Self::Connection,
        Self::Checkpoint,
        Self::Autovacuum,
        Self::TempFile,
        Self::Audit,
        Self::Statement,
        Self::Server,
        Self::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Slow => "slow",
            Self::Lock => "lock",
            Self::Connection => "connection",
            Self::Checkpoint => "checkpoint",
            Self::Autovacuum => "autovacuum",
            Self::TempFile => "temp_file",
            Self::Audit => "audit",
            Self::Statement => "statement",
            Self::Server => "server",
            Self::Other => "other",
        }
    }

    /// The label on the page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Error => "Error",
            Self::Warning => "Warning",
            Self::Slow => "Slow statement",
            Self::Lock => "Lock",
            Self::Connection => "Connection",
            Self::Checkpoint => "Checkpoint",
            Self::Autovacuum => "Autovacuum",
            Self::TempFile => "Temporary file",
            Self::Audit => "pgaudit",
            Self::Statement => "Statement",
            Self::Server => "Server",
            Self::Other => "Other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// The severities PostgreSQL writes, most severe first; the `severity` filter accepts these
/// names and means "this or worse".
pub const SEVERITIES: [&str; 9] = [
    "PANIC",
    "FATAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "LOG",
    "INFO",
    "DEBUG",
    "STATEMENT",
];

/// The severities at least as severe as `s` (`None` for a name PostgreSQL does not use).
pub fn at_least(s: &str) -> Option<&'static [&'static str]> {
    let upper = s.to_ascii_uppercase();
    let i = SEVERITIES[..8].iter().position(|x| *x == upper)?;
    Some(&SEVERITIES[..=i])
}

/// The fields of a pgaudit record (`AUDIT: type,statement id,substatement id,class,command,
/// object type,object name,statement,parameter[,rows]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFields {
    /// `SESSION` or `OBJECT`.
    pub audit_type: String,
    pub statement_id: Option<i64>,
    pub substatement_id: Option<i64>,
    /// READ, WRITE, FUNCTION, ROLE, DDL, MISC, MISC_SET.
    pub class: String,
    pub command: String,
    pub object_type: Option<String>,
    pub object_name: Option<String>,
    /// The statement (hidden from analysts); `None` when pgaudit did not log it.
    pub statement: Option<String>,
    /// The bound parameters (hidden from analysts); `None` when not logged.
    pub parameter: Option<String>,
    /// With `pgaudit.log_rows`.
    pub rows: Option<i64>,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: i64,
    /// RFC 3339.
    pub time: String,
    pub severity: String,
    pub sqlstate: Option<String>,
    pub kind: Kind,
    pub user: Option<String>,
    pub database: Option<String>,
    pub application: Option<String>,
    pub client: Option<String>,
    pub pid: Option<i32>,
    pub session_id: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub context: Option<String>,
    /// The statement (the STATEMENT line, or the text of a `duration:` line). Analysts see it
    /// with its constants replaced, as on the Queries page.
    pub statement: Option<String>,
    pub duration_ms: Option<f64>,
    /// pg_stat_statements' queryid, where the log has it (`compute_query_id`).
    pub query_id: Option<i64>,
    pub audit: Option<AuditFields>,
    /// A text was longer than the store keeps: the page says so.
    pub cut: bool,
    /// Where it was read: the file and the byte offset of the record.
    pub file: String,
    pub offset: i64,
}

/// Entries per minute of one kind, for the histogram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteCount {
    /// Start of the minute, ms since the epoch.
    pub minute_ms: i64,
    pub kind: Kind,
    /// Entries of that minute (stored or not).
    pub count: i64,
    /// Of those, not stored one by one: statements under the slow threshold (counted only) and
    /// entries over the per-minute limit.
    pub summarised: i64,
}

/// Errors grouped by message pattern (numbers, quoted names and literals replaced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorGroup {
    pub pattern: String,
    pub sqlstate: Option<String>,
    pub count: i64,
    /// RFC 3339.
    pub last: String,
    /// An example entry's id.
    pub example_id: i64,
}

/// How a target's log is read, and why not when it is not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `sql`, `file` or `off`.
    pub mode: String,
    /// `jsonlog`, `csvlog` or `stderr` once known.
    pub format: Option<String>,
    /// Reading works: the latest poll read what was new.
    pub reading: bool,
    /// Why it cannot be read (or what went wrong last), in a sentence.
    pub problem: Option<String>,
    /// What to run or set to make it work.
    pub fix: Option<String>,
    /// The files being followed: name, size, offset read up to.
    pub files: Vec<FileCursor>,
    /// Settings that leave parts of the page empty, with the line that turns each on.
    pub advice: Vec<String>,
    /// RFC 3339 of the latest poll.
    pub polled_at: Option<String>,
    /// On an instance that does not read the log itself: who does (the rest is as that
    /// instance last stored it).
    #[serde(default)]
    pub read_elsewhere: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCursor {
    pub name: String,
    pub size: i64,
    pub offset: i64,
    /// Bytes at the file's start that were there before pgpanel began following it and have
    /// not been read (a backfill reads them).
    #[serde(default)]
    pub unread: i64,
}

/// A backfill of a target's older log: what was there before pgpanel began following it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillStatus {
    /// Who started it, and when (RFC 3339).
    pub by: String,
    pub started_at: String,
    /// Files modified since this time (RFC 3339) were read.
    pub since: String,
    pub running: bool,
    pub files: i64,
    pub bytes_total: i64,
    pub bytes_done: i64,
    pub entries: i64,
    pub finished_at: Option<String>,
    /// Why it stopped early.
    pub error: Option<String>,
    /// What was left out (files over the size limit, a record longer than a read).
    pub notes: Vec<String>,
}

/// `GET /api/logs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogsPage {
    /// The target shown (the first one when the request named none).
    pub target: String,
    pub target_name: String,
    pub entries: Vec<LogEntry>,
    /// The `before` of the next (older) page; none when this is the last.
    pub next_before: Option<String>,
    /// Entries per minute by kind over the filter's time window (newest 6 h at most).
    pub histogram: Vec<MinuteCount>,
    /// Errors of the window's last hour grouped by pattern, most frequent first.
    pub errors: Vec<ErrorGroup>,
    pub source: SourceStatus,
    /// The latest backfill of this target since pgpanel started, if any.
    #[serde(default)]
    pub backfill: Option<BackfillStatus>,
    /// Whether statement texts and pgaudit parameters are shown in full (dba and admin).
    pub full_statements: bool,
}

/// Entries per page by default and at most.
pub const PAGE_DEFAULT: i64 = 100;
pub const PAGE_MAX: i64 = 1000;

/// The Logs page's filters as they stand in its URL (blank: not set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub target: String,
    pub since: String,
    pub until: String,
    pub severity: String,
    pub kind: String,
    pub user: String,
    pub database: String,
    pub application: String,
    pub pid: String,
    pub text: String,
    pub before: String,
}

impl LogFilter {
    /// The URL query of these filters, with `before` replaced.
    pub fn query(&self, before: Option<&str>) -> String {
        [
            ("target", self.target.as_str()),
            ("since", &self.since),
            ("until", &self.until),
            ("severity", &self.severity),
            ("kind", &self.kind),
            ("user", &self.user),
            ("database", &self.database),
            ("application", &self.application),
            ("pid", &self.pid),
            ("text", &self.text),
            ("before", before.unwrap_or("")),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::components::live::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}
