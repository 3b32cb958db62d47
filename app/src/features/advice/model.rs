//! What the Advice feature shows: findings about one database of a target, each with its
//! evidence, what fixing it gains, the exact DDL and the lock that DDL takes. Shared by the
//! server and the browser.

use serde::{Deserialize, Serialize};

/// What a finding is about (the API's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    DuplicateIndex,
    RedundantIndex,
    InvalidIndex,
    FkWithoutIndex,
    UnusedIndex,
    XidWraparound,
    MxidWraparound,
    SequenceExhaustion,
    TableBloat,
    IndexBloat,
    AutovacuumBehind,
    MissingIndex,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::MissingIndex,
        Kind::TableBloat,
        Kind::IndexBloat,
        Kind::AutovacuumBehind,
        Kind::InvalidIndex,
        Kind::DuplicateIndex,
        Kind::RedundantIndex,
        Kind::FkWithoutIndex,
        Kind::UnusedIndex,
        Kind::XidWraparound,
        Kind::MxidWraparound,
        Kind::SequenceExhaustion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DuplicateIndex => "duplicate_index",
            Kind::RedundantIndex => "redundant_index",
            Kind::InvalidIndex => "invalid_index",
            Kind::FkWithoutIndex => "fk_without_index",
            Kind::UnusedIndex => "unused_index",
            Kind::XidWraparound => "xid_wraparound",
            Kind::MxidWraparound => "mxid_wraparound",
            Kind::SequenceExhaustion => "sequence_exhaustion",
            Kind::TableBloat => "table_bloat",
            Kind::IndexBloat => "index_bloat",
            Kind::AutovacuumBehind => "autovacuum_behind",
            Kind::MissingIndex => "missing_index",
        }
    }

    /// The heading of the group on the page.
    pub fn title(self) -> &'static str {
        match self {
            Kind::DuplicateIndex => "Duplicate indexes",
            Kind::RedundantIndex => {
                "Redundant indexes (a longer index starts with the same columns)"
            }
            Kind::InvalidIndex => "Invalid indexes",
            Kind::FkWithoutIndex => "Foreign keys without an index",
            Kind::UnusedIndex => "Unused indexes",
            Kind::XidWraparound => "Transaction id age",
            Kind::MxidWraparound => "Multixact id age",
            Kind::SequenceExhaustion => "Sequences near their end",
            Kind::TableBloat => "Table bloat",
            Kind::IndexBloat => "Index bloat",
            Kind::AutovacuumBehind => "Autovacuum falling behind",
            Kind::MissingIndex => "Missing indexes (from the most expensive statements)",
        }
    }
}

/// How urgent a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing to do yet.
    Info,
    /// Costs space or write time; fix when convenient.
    Warning,
    /// Will hurt soon (wraparound, a sequence running out, a broken unique index).
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One figure behind a finding, as a label and its value in words ("scans since reset": "0").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub value: String,
}

/// One finding. `ddl` is the statement pgpanel itself generated from the catalog (identifiers
/// quoted by PostgreSQL); the client only ever refers to a finding by its `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across analyses while the object and the problem stay the same.
    pub id: String,
    pub kind: Kind,
    pub severity: Severity,
    /// Unquoted names, where they apply.
    pub schema: Option<String>,
    pub table: Option<String>,
    pub index: Option<String>,
    /// One line for people: what is wrong.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Bytes a fix gives back (an index dropped), when known.
    pub gain_bytes: Option<i64>,
    /// The statement(s) that fix it, with comments for people; `None` when the fix is not DDL
    /// (e.g. end a blocker first).
    pub ddl: Option<String>,
    /// What `POST /api/advice/apply` runs, in order, each statement on its own (CONCURRENTLY
    /// cannot share a transaction); empty when pgpanel does not run the fix itself.
    #[serde(default)]
    pub statements: Vec<String>,
    /// The relation the fix acts on (a job on it excludes another) and its name as PostgreSQL
    /// quotes it (the job refuses if it was renamed), when there is one.
    #[serde(default)]
    pub oid: Option<i64>,
    #[serde(default)]
    pub object: Option<String>,
    /// The DDL takes a lock that stops reads and writes: applying it needs `confirm` set to
    /// this word (the object's quoted name).
    #[serde(default)]
    pub confirm: Option<String>,
    /// The lock the DDL takes and what it blocks, in words.
    pub lock: Option<String>,
    /// A caveat a DBA must read before applying.
    pub note: Option<String>,
    /// `missing_index`: the planner's total cost of the statement that gains most, without
    /// and with the index (hypopg, generic plan); `None` when it could not be validated.
    #[serde(default)]
    pub cost_before: Option<f64>,
    #[serde(default)]
    pub cost_after: Option<f64>,
    /// `missing_index`: the statements the index serves, most gain first.
    #[serde(default)]
    pub queries: Vec<QueryUse>,
    /// `missing_index`: the suggested key columns, as PostgreSQL quotes them.
    #[serde(default)]
    pub columns: Vec<String>,
}

/// A statement a suggested index serves, from pgpanel's stored pg_stat_statements deltas.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryUse {
    /// pg_stat_statements' queryid, as a string (it does not fit a JavaScript number).
    pub queryid: String,
    pub query: String,
    /// Calls and execution time over the window.
    pub calls: i64,
    pub total_ms: f64,
    /// The planner's total cost (generic plan) with today's indexes, and with the suggested
    /// ones (`None`: not validated).
    pub cost_before: Option<f64>,
    pub cost_after: Option<f64>,
}

/// What the missing-index section looked at (`GET /api/advice`'s `workload`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workload {
    /// The window of pg_stat_statements deltas read (ms), and how many statements of this
    /// database it held.
    pub window_ms: i64,
    pub statements: i64,
    /// The statements looked at (the most expensive, by execution time in the window).
    pub considered: i64,
    /// Statements left out and why (does not parse, a utility statement, …).
    pub skipped: Vec<Skipped>,
    /// Suggestions were validated with hypopg on the action login.
    pub validated: bool,
}

/// A statement the missing-index section did not use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub queryid: String,
    pub reason: String,
}

impl Finding {
    /// A finding about nothing in particular yet: no names, evidence, gain, fix or note (set
    /// what applies with struct update syntax or `fix`).
    pub fn new(id: String, kind: Kind, severity: Severity, summary: String) -> Self {
        Self {
            id,
            kind,
            severity,
            schema: None,
            table: None,
            index: None,
            summary,
            evidence: Vec::new(),
            gain_bytes: None,
            ddl: None,
            statements: Vec::new(),
            oid: None,
            object: None,
            confirm: None,
            lock: None,
            note: None,
            cost_before: None,
            cost_after: None,
            queries: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// Sets the fix: the statements `apply` runs (shown in order, then the `comment` lines),
    /// the lock they take, and the relation they act on.
    pub fn fix(
        &mut self,
        statements: Vec<String>,
        comment: Option<String>,
        lock: impl Into<String>,
        on: Option<(i64, &str)>,
    ) {
        let mut ddl = statements.join("\n");
        if let Some(c) = comment {
            ddl.push('\n');
            ddl.push_str(&c);
        }
        self.ddl = Some(ddl);
        self.statements = statements;
        self.lock = Some(lock.into());
        self.oid = on.map(|(oid, _)| oid);
        self.object = on.map(|(_, name)| name.to_owned());
    }
}

/// A part of the analysis that could not be done, and why (the rest still shows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SectionError {
    pub section: String,
    pub message: String,
}

/// The latest analysis of one database (`GET /api/advice`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub target: String,
    pub database: String,
    /// When it finished (ms since the epoch); `None`: never analysed yet.
    pub analysed_at: Option<i64>,
    /// How long its statements took, wall clock (an upper bound of what it cost the target).
    pub duration_ms: i64,
    pub findings: Vec<Finding>,
    pub errors: Vec<SectionError>,
    /// An analysis of this database is running now (started by a DBA or the schedule).
    pub running: bool,
    /// What the missing-index section looked at.
    #[serde(default)]
    pub workload: Workload,
}

impl Analysis {
    /// Bytes the findings' fixes give back, each object counted once (an index can be both a
    /// duplicate and unused).
    pub fn reclaimable_bytes(&self) -> i64 {
        let mut seen = std::collections::HashSet::new();
        self.findings
            .iter()
            .filter_map(|f| Some(((&f.schema, &f.table, &f.index), f.gain_bytes?)))
            .filter(|(object, _)| seen.insert(*object))
            .map(|(_, bytes)| bytes)
            .sum()
    }

    pub fn never(target: &str, database: &str) -> Self {
        Self {
            target: target.to_owned(),
            database: database.to_owned(),
            analysed_at: None,
            duration_ms: 0,
            findings: Vec::new(),
            errors: Vec::new(),
            running: false,
            workload: Workload::default(),
        }
    }
}

/// How a relation's bloat was measured (the API's `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Dead tuples from the statistics only (pgstattuple is not installed or not executable):
    /// free space is unknown.
    Estimate,
    /// `pgstattuple_approx` (tables).
    Approx,
    /// `pgstattuple` (tables) or `pgstatindex` (btree indexes): every page read.
    Exact,
    /// Not measured: too small to matter, over this analysis' budget, or no method available
    /// (an index without pgstattuple); `note` says which.
    Unmeasured,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Estimate => "estimate",
            Method::Approx => "approx",
            Method::Exact => "exact",
            Method::Unmeasured => "unmeasured",
        }
    }
}

/// One table or btree index and its bloat (`GET /api/advice/bloat`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BloatRow {
    /// The relation's OID (the index's for an index).
    pub oid: i64,
    pub schema: String,
    pub table: String,
    /// `None` for a table.
    pub index: Option<String>,
    /// The relation as PostgreSQL quotes it (`schema.name`).
    pub quoted: String,
    /// Its table, quoted.
    pub table_quoted: String,
    /// Size of the relation's main fork now (TOAST apart).
    pub bytes: i64,
    /// What a rewrite would give back, when measured.
    pub bloat_bytes: Option<i64>,
    /// `bloat_bytes / bytes` (0–1).
    pub bloat_ratio: Option<f64>,
    pub method: Method,
    /// When it was measured (ms since the epoch).
    pub measured_at: Option<i64>,
    /// Tables: the bytes of dead tuples and of free space (less the fillfactor reserve) behind
    /// `bloat_bytes`; dead tuples alone for `estimate`.
    pub dead_bytes: Option<i64>,
    pub free_bytes: Option<i64>,
    /// Tables: the TOAST table's size and its dead + free bytes (an upper bound: chunk gaps
    /// count), when measured.
    pub toast_bytes: i64,
    pub toast_bloat_bytes: Option<i64>,
    /// Tables: the TOAST table's OID, when it has one.
    #[serde(default)]
    pub toast_oid: Option<i64>,
    /// Tables with dropped columns: rows written before the DROP still carry the data, which
    /// a rewrite gives back and no method counts.
    pub dropped_columns: bool,
    /// The table's share of dead tuples in the statistics (its own for an index's table).
    pub dead_ratio: f64,
    /// The fillfactor the figures allow for.
    pub fillfactor: i32,
    /// Indexes: it implements an exclusion constraint (no concurrent rebuild).
    #[serde(default)]
    pub exclusion: bool,
    /// How the figure came about or why there is none.
    pub note: Option<String>,
}

impl BloatRow {
    /// The dead + free figures of a measurement, less the fillfactor's reserve.
    pub fn set_table_measurement(
        &mut self,
        method: Method,
        at_ms: i64,
        bytes: i64,
        dead: i64,
        free: i64,
    ) {
        let reserve = bytes * i64::from(100 - self.fillfactor.clamp(10, 100)) / 100;
        let free = (free - reserve).max(0);
        let bloat = (dead + free).min(bytes).max(0);
        self.bytes = bytes;
        self.dead_bytes = Some(dead);
        self.free_bytes = Some(free);
        self.bloat_bytes = Some(bloat);
        self.bloat_ratio = Some(if bytes > 0 {
            bloat as f64 / bytes as f64
        } else {
            0.0
        });
        self.method = method;
        self.measured_at = Some(at_ms);
    }

    /// The pgstatindex formula: pages − (leaf pages × density / fillfactor + internal + 1).
    pub fn set_index_measurement(
        &mut self,
        at_ms: i64,
        bytes: i64,
        internal_pages: i64,
        leaf_pages: i64,
        avg_leaf_density: f64,
    ) {
        let pages = bytes / PAGE_BYTES;
        let ff = f64::from(self.fillfactor.clamp(10, 100));
        let needed = (leaf_pages as f64 * avg_leaf_density / ff).ceil() as i64 + internal_pages + 1;
        let bloat = (pages - needed).max(0) * PAGE_BYTES;
        self.bytes = bytes;
        self.bloat_bytes = Some(bloat);
        self.bloat_ratio = Some(if bytes > 0 {
            bloat as f64 / bytes as f64
        } else {
            0.0
        });
        self.method = Method::Exact;
        self.measured_at = Some(at_ms);
        self.note = None;
    }
}

/// The block size the bloat figures assume (PostgreSQL's default; the sizes read are exact).
pub const PAGE_BYTES: i64 = 8192;

/// Every table and btree index of one database with its bloat, as of the latest analysis and
/// the exact measurements since (`GET /api/advice/bloat`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bloat {
    pub target: String,
    pub database: String,
    /// When the analysis that listed these relations ran.
    pub analysed_at: Option<i64>,
    /// Why the better method is unavailable and what to run (none when pgstattuple is usable).
    pub method_note: Option<String>,
    /// pg_repack is installed (an online rewrite is possible).
    pub repack: bool,
    /// What holds the xmin horizon back now (VACUUM cannot remove tuples it still needs).
    pub cleanup_blockers: Vec<String>,
    pub rows: Vec<BloatRow>,
    /// Rows left out by `limit`.
    #[serde(default)]
    pub more: usize,
}

/// Everything the Advice page shows in one server call (`GET /api/advice/view`): the target's
/// name and databases, the analysis, the largest table and index bloat by the order asked for,
/// and the target's jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdvicePageData {
    pub name: String,
    pub databases: Vec<String>,
    pub analysis: Analysis,
    pub tables: Bloat,
    pub indexes: Bloat,
    pub jobs: Vec<crate::features::maintenance::model::Job>,
}

/// Per index (by OID): its scan count at the last analysis and since when (ms) the count has
/// been that. pgpanel's own record of "not used since", kept with each stored analysis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexSnapshot(pub std::collections::BTreeMap<i64, (i64, i64)>);

impl IndexSnapshot {
    /// The snapshot after reading `scans` (OID, count) at `now_ms`: a count that moved (or an
    /// index not seen before) starts its clock now. A count still at 0 has been so since the
    /// statistics were reset (`reset_ms`), when that is earlier.
    pub fn next(
        &self,
        scans: impl IntoIterator<Item = (i64, i64)>,
        now_ms: i64,
        reset_ms: Option<i64>,
    ) -> Self {
        Self(
            scans
                .into_iter()
                .map(|(oid, count)| {
                    let mut since = match self.0.get(&oid) {
                        Some(&(before, since)) if before == count => since,
                        _ => now_ms,
                    };
                    if count == 0
                        && let Some(reset) = reset_ms
                    {
                        since = since.min(reset);
                    }
                    (oid, (count, since))
                })
                .collect(),
        )
    }

    /// Since when the index's scan count has not moved.
    pub fn unchanged_since(&self, oid: i64) -> Option<i64> {
        self.0.get(&oid).map(|&(_, since)| since)
    }
}

/// A stable id for a finding: its kind and the names it is about, hashed (FNV-1a, 64 bits) so
/// that ids are short, URL-safe and the same in every process.
pub fn finding_id(kind: Kind, parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in kind.as_str().bytes().chain(
        parts
            .iter()
            .flat_map(|p| std::iter::once(0u8).chain(p.bytes())),
    ) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}-{h:016x}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_tell_names_apart() {
        let a = finding_id(Kind::DuplicateIndex, &["public", "t", "i"]);
        assert_eq!(a, finding_id(Kind::DuplicateIndex, &["public", "t", "i"]));
        assert!(a.starts_with("duplicate_index-"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(
            finding_id(Kind::DuplicateIndex, &["ab", "c"]),
            finding_id(Kind::DuplicateIndex, &["a", "bc"])
        );
        assert_ne!(a, finding_id(Kind::RedundantIndex, &["public", "t", "i"]));
    }

    #[test]
    fn reclaimable_bytes_count_each_object_once() {
        let finding = |kind, index: &str, bytes| Finding {
            schema: Some("public".into()),
            table: Some("t".into()),
            index: Some(index.into()),
            gain_bytes: Some(bytes),
            ..Finding::new(
                finding_id(kind, &[index]),
                kind,
                Severity::Warning,
                String::new(),
            )
        };
        let mut a = Analysis::never("main", "db");
        a.findings = vec![
            finding(Kind::DuplicateIndex, "i", 100),
            finding(Kind::UnusedIndex, "i", 100),
            finding(Kind::UnusedIndex, "j", 50),
        ];
        assert_eq!(a.reclaimable_bytes(), 150);
    }

    #[test]
    fn the_unused_clock_restarts_when_the_count_moves_and_reaches_back_to_a_reset() {
        let first = IndexSnapshot::default().next([(1, 0), (2, 5)], 1_000, None);
        assert_eq!(first.unchanged_since(1), Some(1_000));
        let second = first.next([(1, 0), (2, 6), (3, 0)], 2_000, None);
        assert_eq!(
            second.unchanged_since(1),
            Some(1_000),
            "still 0: the clock runs on"
        );
        assert_eq!(
            second.unchanged_since(2),
            Some(2_000),
            "scanned: starts again"
        );
        assert_eq!(second.unchanged_since(3), Some(2_000), "new index");
        // A count of 0 since an earlier statistics reset counts from the reset.
        let third = second.next([(1, 0), (2, 6)], 3_000, Some(500));
        assert_eq!(third.unchanged_since(1), Some(500));
        assert_eq!(
            third.unchanged_since(2),
            Some(2_000),
            "non-zero counts ignore the reset"
        );
        assert_eq!(
            third.unchanged_since(3),
            None,
            "dropped indexes leave the snapshot"
        );
    }
}
