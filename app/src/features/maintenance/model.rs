//! What the Maintenance page reads: per table of one database, sizes, tuples, last (auto)vacuum
//! and (auto)analyze, modifications since analyze and xid age. Plain data (browser too).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TableStat {
    pub oid: i64,
    pub schema: String,
    pub name: String,
    /// r (table), p (partitioned), m (materialized view).
    pub kind: String,
    /// Estimated from pg_class.relpages as of the last VACUUM / ANALYZE (free to read): the
    /// table with its TOAST, and that plus its indexes. `size` is what to show.
    pub est_table_bytes: i64,
    pub est_total_bytes: i64,
    pub live: i64,
    pub dead: i64,
    pub mods_since_analyze: i64,
    pub last_vacuum_ms: Option<i64>,
    pub last_autovacuum_ms: Option<i64>,
    pub last_analyze_ms: Option<i64>,
    pub last_autoanalyze_ms: Option<i64>,
    pub xid_age: Option<i64>,
    /// The size shown everywhere: the estimate above, or pgpanel's last exact measurement of the
    /// table when that is newer.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    #[serde(default)]
    pub size: TableSize,
}

/// How a size was obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeMethod {
    /// pg_class.relpages × block size: as of the table's last VACUUM / ANALYZE.
    #[default]
    Estimate,
    /// pg_table_size / pg_total_relation_size, read by pgpanel.
    Exact,
}

/// A table's size, one definition everywhere (list, VACUUM dialog, job result): the table as
/// pg_table_size counts it (heap, TOAST, free-space and visibility maps), and the total with its
/// indexes (pg_total_relation_size); with how and when it was measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSize {
    pub table_bytes: i64,
    pub total_bytes: i64,
    pub method: SizeMethod,
    /// Exact: when it was read. Estimate: the last VACUUM / ANALYZE, when relpages was set (None:
    /// never vacuumed nor analyzed, so it may be far off).
    pub at_ms: Option<i64>,
}

impl TableSize {
    pub fn exact(table_bytes: i64, total_bytes: i64, at_ms: i64) -> Self {
        Self {
            table_bytes,
            total_bytes,
            method: SizeMethod::Exact,
            at_ms: Some(at_ms),
        }
    }

    /// "est." or "exact".
    pub fn method_word(&self) -> &'static str {
        match self.method {
            SizeMethod::Estimate => "est.",
            SizeMethod::Exact => "exact",
        }
    }

    /// How and when, in a sentence (for a tooltip or a dialog).
    pub fn how(&self) -> String {
        let when = self
            .at_ms
            .map(|ms| crate::components::format::utc(crate::components::format::from_ms(ms)));
        match (self.method, when) {
            (SizeMethod::Exact, Some(t)) => format!("exact, measured by pgpanel at {t}"),
            (SizeMethod::Exact, None) => "exact".into(),
            (SizeMethod::Estimate, Some(t)) => {
                format!("estimated from pg_class.relpages as of the last VACUUM / ANALYZE ({t})")
            }
            (SizeMethod::Estimate, None) => {
                "estimated from pg_class.relpages; never vacuumed nor analyzed, so it may be far off".into()
            }
        }
    }

    /// "39.2 MB table, 50.1 MB with indexes (exact, measured … )".
    pub fn sentence(&self) -> String {
        format!(
            "table {}, {} with indexes ({})",
            crate::components::format::bytes(self.table_bytes),
            crate::components::format::bytes(self.total_bytes),
            self.how()
        )
    }
}

impl TableStat {
    /// The estimate from the catalog read, timed by the last VACUUM / ANALYZE.
    pub fn estimate(&self) -> TableSize {
        TableSize {
            table_bytes: self.est_table_bytes,
            total_bytes: self.est_total_bytes,
            method: SizeMethod::Estimate,
            at_ms: [
                self.last_vacuum_ms,
                self.last_autovacuum_ms,
                self.last_analyze_ms,
                self.last_autoanalyze_ms,
            ]
            .into_iter()
            .flatten()
            .max(),
        }
    }

    /// Shows `exact` instead of the estimate when it is newer than the estimate's basis.
    pub fn with_measured(mut self, exact: Option<TableSize>) -> Self {
        let estimate = self.estimate();
        self.size = match exact {
            Some(e) if e.at_ms > estimate.at_ms => e,
            _ => estimate,
        };
        self
    }
    /// Dead tuples over all tuples (0 for an empty table).
    pub fn dead_ratio(&self) -> f64 {
        let all = self.live + self.dead;
        if all <= 0 {
            0.0
        } else {
            self.dead as f64 / all as f64
        }
    }

    /// The later of the manual and the automatic vacuum.
    pub fn vacuumed_ms(&self) -> Option<i64> {
        self.last_vacuum_ms.max(self.last_autovacuum_ms)
    }

    pub fn analyzed_ms(&self) -> Option<i64> {
        self.last_analyze_ms.max(self.last_autoanalyze_ms)
    }
}

/// How the table list is ordered (every column can be).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableOrder {
    Name,
    Size,
    Live,
    #[default]
    Dead,
    DeadRatio,
    /// Least recently vacuumed first (never first of all).
    Vacuumed,
    Analyzed,
    Mods,
    XidAge,
}

impl TableOrder {
    pub const ALL: [Self; 9] = [
        Self::Name,
        Self::Size,
        Self::Live,
        Self::Dead,
        Self::DeadRatio,
        Self::Vacuumed,
        Self::Analyzed,
        Self::Mods,
        Self::XidAge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Size => "size",
            Self::Live => "live",
            Self::Dead => "dead",
            Self::DeadRatio => "dead_ratio",
            Self::Vacuumed => "vacuumed",
            Self::Analyzed => "analyzed",
            Self::Mods => "mods",
            Self::XidAge => "xid_age",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The order in words: "Showing the first 50 … ordered by {label}".
    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Size => "size, largest first",
            Self::Live => "live rows, most first",
            Self::Dead => "dead rows, most first",
            Self::DeadRatio => "dead %, highest first",
            Self::Vacuumed => "last vacuum, never or oldest first",
            Self::Analyzed => "last analyze, never or oldest first",
            Self::Mods => "changes since analyze, most first",
            Self::XidAge => "xid age, oldest first",
        }
    }

    /// Sorts in place: names ascending, times oldest first, everything else largest first.
    pub fn sort(self, rows: &mut [TableStat]) {
        use std::cmp::Reverse;
        match self {
            Self::Name => rows.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name))),
            Self::Size => rows.sort_by_key(|r| Reverse(r.size.total_bytes)),
            Self::Live => rows.sort_by_key(|r| Reverse(r.live)),
            Self::Dead => rows.sort_by_key(|r| Reverse(r.dead)),
            Self::DeadRatio => rows.sort_by(|a, b| b.dead_ratio().total_cmp(&a.dead_ratio())),
            Self::Vacuumed => rows.sort_by_key(|r| r.vacuumed_ms()),
            Self::Analyzed => rows.sort_by_key(|r| r.analyzed_ms()),
            Self::Mods => rows.sort_by_key(|r| Reverse(r.mods_since_analyze)),
            Self::XidAge => rows.sort_by_key(|r| Reverse(r.xid_age)),
        }
    }
}

/// `GET /api/maintenance/tables`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaintenanceTables {
    pub target: String,
    pub database: String,
    /// The databases one can choose from.
    pub databases: Vec<String>,
    pub order: TableOrder,
    /// When the catalog was read (ms since the epoch) and what the read took on the server side.
    pub read_at_ms: i64,
    pub read_ms: i64,
    /// How many tables the database has; `tables` holds the first `limit` of them in `order`
    /// when the caller asked for fewer.
    pub total: usize,
    pub tables: Vec<TableStat>,
}

/// A maintenance statement pgpanel runs as a background job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobAction {
    Vacuum,
    Analyze,
    Reindex,
    /// An advice finding's own statements (`POST /api/advice/apply`).
    Apply,
    /// An exact bloat measurement (`POST /api/advice/measure`).
    Measure,
}

impl JobAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Vacuum => "vacuum",
            Self::Analyze => "analyze",
            Self::Reindex => "reindex",
            Self::Apply => "apply",
            Self::Measure => "measure",
        }
    }

    /// The action's name in the audit trail.
    pub fn audit(self) -> crate::features::audit::model::Action {
        use crate::features::audit::model::Action;
        match self {
            Self::Vacuum => Action::Vacuum,
            Self::Analyze => Action::Analyze,
            Self::Reindex => Action::Reindex,
            Self::Apply => Action::AdviceApply,
            Self::Measure => Action::AdviceMeasure,
        }
    }

    /// The three actions of the Maintenance page (what `GET /api/actions/preview` accepts).
    pub fn maintenance(self) -> bool {
        matches!(self, Self::Vacuum | Self::Analyze | Self::Reindex)
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vacuum" => Some(Self::Vacuum),
            "analyze" => Some(Self::Analyze),
            "reindex" => Some(Self::Reindex),
            "apply" => Some(Self::Apply),
            "measure" => Some(Self::Measure),
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
            JobAction::Reindex | JobAction::Apply | JobAction::Measure => {}
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
            // Their statements come from the advice feature, never from options.
            JobAction::Apply | JobAction::Measure => String::new(),
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
            JobAction::Apply | JobAction::Measure => ("", "see the finding"),
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
    pub size: Option<TableSize>,
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
