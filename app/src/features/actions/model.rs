//! What the actions answer. Plain data: compiled for the browser too.

use serde::{Deserialize, Serialize};

/// The answer to `cancel_backend` / `terminate_backend`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalOutcome {
    pub target: String,
    pub pid: i32,
    /// `cancel_backend` or `terminate_backend`.
    pub action: String,
    /// The statement pgpanel ran (as a DBA would type it).
    pub sql: String,
    /// The server accepted the signal.
    pub signalled: bool,
    /// Terminate only: the backend was gone within the wait.
    pub gone: Option<bool>,
    /// For people: what happened.
    pub message: String,
}

/// How long terminate waits for the backend to be gone (ms).
pub const TERMINATE_WAIT_MS: i64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Cancel,
    Terminate,
}

impl Signal {
    /// The action's name (audit trail, API path).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cancel => "cancel_backend",
            Self::Terminate => "terminate_backend",
        }
    }

    /// The statement as a DBA would type it (what the UI shows and the audit records).
    pub fn sql(self, pid: i32) -> String {
        match self {
            Self::Cancel => format!("SELECT pg_cancel_backend({pid});"),
            Self::Terminate => format!("SELECT pg_terminate_backend({pid}, {TERMINATE_WAIT_MS});"),
        }
    }
}

/// A maintenance statement pgpanel runs as a background job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    Vacuum,
    Analyze,
    Reindex,
}

impl JobAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Vacuum => "vacuum",
            Self::Analyze => "analyze",
            Self::Reindex => "reindex",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vacuum" => Some(Self::Vacuum),
            "analyze" => Some(Self::Analyze),
            "reindex" => Some(Self::Reindex),
            _ => None,
        }
    }
}

/// `index_cleanup` of VACUUM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexCleanup {
    Auto,
    On,
    Off,
}

/// What a DBA may choose for a maintenance job: the allow-list, nothing else reaches the
/// statement. `verbose` is always off (its output would go nowhere).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    pub analyze: bool,
    pub freeze: bool,
    pub full: bool,
    pub skip_locked: bool,
    pub index_cleanup: Option<IndexCleanup>,
    pub parallel: Option<u16>,
    /// REINDEX only: CONCURRENTLY (the default).
    pub concurrently: bool,
}

impl JobOptions {
    /// The option list of the statement, from constants only (empty when there is none).
    pub fn clause(&self, action: JobAction) -> String {
        let mut parts: Vec<String> = Vec::new();
        match action {
            JobAction::Vacuum => {
                for (on, name) in [
                    (self.full, "FULL"),
                    (self.freeze, "FREEZE"),
                    (self.analyze, "ANALYZE"),
                    (self.skip_locked, "SKIP_LOCKED"),
                ] {
                    if on {
                        parts.push(name.to_owned());
                    }
                }
                if let Some(c) = self.index_cleanup {
                    parts.push(
                        match c {
                            IndexCleanup::Auto => "INDEX_CLEANUP AUTO",
                            IndexCleanup::On => "INDEX_CLEANUP ON",
                            IndexCleanup::Off => "INDEX_CLEANUP OFF",
                        }
                        .to_owned(),
                    );
                }
                if let Some(n) = self.parallel {
                    parts.push(format!("PARALLEL {n}"));
                }
            }
            JobAction::Analyze => {
                if self.skip_locked {
                    parts.push("SKIP_LOCKED".to_owned());
                }
            }
            // REINDEX's CONCURRENTLY goes after INDEX (the form servers before 14 accept).
            JobAction::Reindex => {}
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({}) ", parts.join(", "))
        }
    }

    /// The statement for an object whose name PostgreSQL quoted (`format('%I.%I')`).
    pub fn statement(&self, action: JobAction, quoted_name: &str) -> String {
        match action {
            JobAction::Vacuum => format!("VACUUM {}{quoted_name};", self.clause(action)),
            JobAction::Analyze => format!("ANALYZE {}{quoted_name};", self.clause(action)),
            JobAction::Reindex if self.concurrently => {
                format!("REINDEX INDEX CONCURRENTLY {quoted_name};")
            }
            JobAction::Reindex => format!("REINDEX INDEX {quoted_name};"),
        }
    }

    /// The lock the statement takes, and what that means for the application.
    pub fn lock(&self, action: JobAction) -> (&'static str, &'static str) {
        match action {
            JobAction::Vacuum if self.full => (
                "ACCESS EXCLUSIVE",
                "blocks every read and write of the table until it ends; rewrites the table and its indexes (needs free disk space about the table's size)",
            ),
            JobAction::Vacuum | JobAction::Analyze => (
                "SHARE UPDATE EXCLUSIVE",
                "reads and writes go on; waits for (and blocks) DDL, other VACUUM / ANALYZE and CREATE INDEX CONCURRENTLY on the table",
            ),
            JobAction::Reindex if self.concurrently => (
                "SHARE UPDATE EXCLUSIVE",
                "reads and writes go on; builds a new copy of the index and swaps it in, waiting for transactions that use the table",
            ),
            JobAction::Reindex => (
                "SHARE on the table, ACCESS EXCLUSIVE on the index",
                "blocks writes to the table, and reads that would use the index, until it ends",
            ),
        }
    }
}

/// A lock held or awaited right now that the job's lock conflicts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Conflict {
    pub pid: i32,
    pub mode: String,
    pub granted: bool,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub state: Option<String>,
    /// Since the session's transaction started (ms).
    pub xact_age_ms: Option<i64>,
    pub query: Option<String>,
}

/// What a maintenance job would do, before it runs (`GET /api/actions/preview`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPreview {
    pub target: String,
    pub action: JobAction,
    pub database: String,
    /// The object as PostgreSQL quotes it (`schema.name`).
    pub object: String,
    pub sql: String,
    pub lock_mode: String,
    pub lock_effect: String,
    /// Sessions whose locks conflict with it now: with a short lock_timeout, the job would fail
    /// rather than queue behind them.
    pub conflicts: Vec<Conflict>,
    /// What the DBA must type in `confirm` to go ahead (VACUUM FULL: the table's name).
    pub confirm: Option<String>,
    /// The table's size measured for this preview (the same definition as the Maintenance
    /// list's, which shows it from now on).
    pub size: Option<crate::features::maintenance::model::TableSize>,
}

/// A job's progress from pg_stat_progress_* (the job's backend).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    /// The progress view's command: VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, VACUUM FULL…
    pub command: String,
    pub phase: String,
    /// Blocks done and in all, in this phase (both absent when the phase has no count).
    pub blocks_done: Option<i64>,
    pub blocks_total: Option<i64>,
    /// Estimated time left in this phase (ms), from its rate so far.
    pub eta_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// A maintenance job: running, or recent (`GET /api/actions/jobs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub target: String,
    pub action: JobAction,
    pub database: String,
    pub object: String,
    pub sql: String,
    pub state: JobState,
    pub username: String,
    /// Times in ms since the epoch.
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
    /// The job's backend on the target, once connected.
    pub pid: Option<i32>,
    /// Failed or cancelled: SQLSTATE and message.
    pub sqlstate: Option<String>,
    pub error: Option<String>,
    /// For people: sizes before and after, when known.
    pub result: Option<String>,
    pub progress: Option<JobProgress>,
}
