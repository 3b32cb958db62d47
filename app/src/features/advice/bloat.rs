//! Bloat of tables and btree indexes, measured without superuser: `pgstattuple_approx` for
//! tables and `pgstatindex` for btrees (both executable by pg_monitor once a superuser created
//! the extension), within a page budget per analysis so that a large database is measured table
//! by table over several analyses (the least recently measured first; the others keep their last
//! figure and its time). Without the extension every table still gets the cheap indicator (dead
//! tuples from the statistics) and the page says what to run; a statistics-based estimate of free
//! space is never shown (a pg_monitor login sees no pg_stats rows and it reads ~70 % on healthy
//! tables). The findings from these rows are in `bloat_findings.rs`.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::db::{self, Extensions, IndexRow, TableRow};
use super::model::{Bloat, BloatRow, Method, PAGE_BYTES};
use crate::features::targets::conn::{LoginKind, statement_error};

/// Pages the scheduled measurements of one analysis may read (256 MB): what an analysis costs
/// the target stays bounded however large the database is.
pub const BUDGET_PAGES: i64 = 32_768;
/// Relations smaller than this (1 MB) are not measured: their bloat cannot matter.
pub const MIN_BYTES: i64 = 128 * PAGE_BYTES;
/// Measurements per analysis at most (each is a statement).
pub const MAX_MEASUREMENTS: usize = 200;

/// What to run for the better method, when it is missing.
pub fn method_note(ext: &Extensions, monitor: &str) -> Option<String> {
    match (&ext.pgstattuple_schema, ext.pgstattuple_usable) {
        (None, _) => Some(
            "pgstattuple is not installed in this database, so table bloat shows dead tuples from the statistics only (free space unknown) and index bloat is not measured. A superuser runs once: CREATE EXTENSION IF NOT EXISTS pgstattuple; (pgpanel setup-sql prints it for every database)."
                .into(),
        ),
        (Some(_), false) => Some(format!(
            "pgstattuple is installed but {monitor} may not execute it: GRANT pg_monitor TO {monitor}; (or GRANT pg_stat_scan_tables TO {monitor};)"
        )),
        (Some(_), true) => None,
    }
}

/// One relation the analysis may measure, with what it costs (pages read).
struct Candidate {
    oid: i64,
    cost: i64,
    measured_at: Option<i64>,
    bytes: i64,
}

/// Picks what to measure within the budget: never measured first (largest first), then the
/// longest ago; one that does not fit leaves room for smaller ones.
fn choose(mut candidates: Vec<Candidate>, budget: i64, max: usize) -> Vec<i64> {
    candidates.sort_by(|a, b| {
        a.measured_at
            .is_some()
            .cmp(&b.measured_at.is_some())
            .then(a.measured_at.cmp(&b.measured_at))
            .then(b.bytes.cmp(&a.bytes))
    });
    let mut spent = 0;
    let mut out = Vec::new();
    for c in candidates {
        if out.len() >= max {
            break;
        }
        if spent + c.cost <= budget {
            spent += c.cost;
            out.push(c.oid);
        }
    }
    out
}

/// The dead-tuple indicator: the statistics' dead share of the heap.
fn estimate(row: &mut BloatRow, t: &TableRow, now_ms: i64) {
    let dead = (t.bytes as f64 * t.dead_ratio()) as i64;
    row.method = Method::Estimate;
    row.dead_bytes = Some(dead);
    row.free_bytes = None;
    row.bloat_bytes = Some(dead);
    row.bloat_ratio = Some(t.dead_ratio());
    row.measured_at = Some(now_ms);
}

pub(super) fn table_row(t: &TableRow) -> BloatRow {
    BloatRow {
        oid: t.table_oid,
        schema: t.schema_name.clone(),
        table: t.table_name.clone(),
        index: None,
        quoted: t.table_quoted.clone(),
        table_quoted: t.table_quoted.clone(),
        bytes: t.bytes,
        bloat_bytes: None,
        bloat_ratio: None,
        method: Method::Unmeasured,
        measured_at: None,
        dead_bytes: None,
        free_bytes: None,
        toast_bytes: t.toast_bytes,
        toast_bloat_bytes: None,
        toast_oid: t.toast_oid,
        dropped_columns: t.dropped_columns,
        dead_ratio: t.dead_ratio(),
        fillfactor: t.fillfactor,
        exclusion: false,
        note: None,
    }
}

fn index_row(ix: &IndexRow, table: Option<&TableRow>) -> BloatRow {
    BloatRow {
        oid: ix.index_oid,
        schema: ix.schema_name.clone(),
        table: ix.table_name.clone(),
        index: Some(ix.index_name.clone()),
        quoted: ix.index_quoted.clone(),
        table_quoted: ix.table_quoted.clone(),
        bytes: ix.bytes,
        bloat_bytes: None,
        bloat_ratio: None,
        method: Method::Unmeasured,
        measured_at: None,
        dead_bytes: None,
        free_bytes: None,
        toast_bytes: 0,
        toast_bloat_bytes: None,
        toast_oid: None,
        dropped_columns: false,
        dead_ratio: table.map_or(0.0, TableRow::dead_ratio),
        fillfactor: ix.fillfactor,
        exclusion: ix.is_exclusion,
        note: None,
    }
}

/// A measurement the analysis could not take, in words for the row's note.
fn skipped(e: &sqlx::Error) -> String {
    let code = match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    };
    match code.as_deref() {
        Some("55P03") => "skipped this time: another session holds a lock on it (gave up after lock_timeout rather than wait)".into(),
        Some("57014") => "skipped this time: the measurement ran past statement_timeout".into(),
        _ => format!(
            "skipped this time: {}",
            statement_error(LoginKind::Monitor, "Measuring it", e)
        ),
    }
}

/// Carries a relation's last measurement forward (same OID and name) when it is not measured
/// this time.
fn carry(row: &mut BloatRow, previous: Option<&BloatRow>) -> bool {
    let Some(p) = previous.filter(|p| p.quoted == row.quoted && p.measured_at.is_some()) else {
        return false;
    };
    if !matches!(p.method, Method::Approx | Method::Exact) {
        return false;
    }
    row.method = p.method;
    row.measured_at = p.measured_at;
    row.bloat_bytes = p.bloat_bytes;
    row.bloat_ratio = p.bloat_ratio;
    row.dead_bytes = p.dead_bytes;
    row.free_bytes = p.free_bytes;
    row.toast_bloat_bytes = p.toast_bloat_bytes;
    true
}

/// Reads and measures the bloat of the database on `conn` (a monitor session in it).
/// `previous` is what the last analysis stored; `horizon` what holds cleanup back now.
pub async fn measure(
    conn: &mut PgConnection,
    tables: &[TableRow],
    indexes: &[IndexRow],
    ext: &Extensions,
    previous: &Bloat,
    monitor: &str,
    now_ms: i64,
) -> Bloat {
    let before: HashMap<i64, &BloatRow> = previous.rows.iter().map(|r| (r.oid, r)).collect();
    let by_oid: HashMap<i64, &TableRow> = tables.iter().map(|t| (t.table_oid, t)).collect();
    let btrees: Vec<&IndexRow> = indexes
        .iter()
        .filter(|ix| ix.method == "btree" && ix.is_valid && !ix.is_partitioned)
        .collect();
    let schema = ext
        .pgstattuple_schema
        .clone()
        .filter(|_| ext.pgstattuple_usable);

    let mut chosen: Vec<i64> = Vec::new();
    if schema.is_some() {
        let mut candidates: Vec<Candidate> = Vec::new();
        for t in tables
            .iter()
            .filter(|t| t.bytes >= MIN_BYTES || t.toast_bytes >= MIN_BYTES || size_unknown(t))
        {
            // A table the catalog has no size for yet: guess from its tuples (~200 bytes each).
            let pages = if size_unknown(t) {
                (t.live_tuples + t.dead_tuples) / 40
            } else {
                t.bytes / PAGE_BYTES
            };
            let unseen = (pages - t.all_visible_pages).clamp(pages / 64, pages);
            let toast = if t.toast_bytes >= MIN_BYTES {
                t.toast_bytes / PAGE_BYTES
            } else {
                0
            };
            candidates.push(Candidate {
                oid: t.table_oid,
                cost: unseen.max(1) + toast,
                measured_at: before
                    .get(&t.table_oid)
                    .and_then(|p| fresh(p, &t.table_quoted)),
                bytes: t.bytes,
            });
        }
        for ix in btrees.iter().filter(|ix| ix.bytes >= MIN_BYTES) {
            candidates.push(Candidate {
                oid: ix.index_oid,
                cost: ix.bytes / PAGE_BYTES,
                measured_at: before
                    .get(&ix.index_oid)
                    .and_then(|p| fresh(p, &ix.index_quoted)),
                bytes: ix.bytes,
            });
        }
        chosen = choose(candidates, BUDGET_PAGES, MAX_MEASUREMENTS);
    }

    let mut rows = Vec::with_capacity(tables.len() + btrees.len());
    for t in tables {
        let mut row = table_row(t);
        if let (Some(schema), true) = (&schema, chosen.contains(&t.table_oid)) {
            match db::measure_table(conn, schema, t.table_oid, false).await {
                Ok(m) => {
                    row.set_table_measurement(
                        Method::Approx,
                        now_ms,
                        m.bytes,
                        m.dead_bytes,
                        m.free_bytes,
                    );
                    if let Some(toast) = t.toast_oid.filter(|_| t.toast_bytes >= MIN_BYTES) {
                        match db::measure_table(conn, schema, toast, false).await {
                            Ok(m) => row.toast_bloat_bytes = Some(m.dead_bytes + m.free_bytes),
                            Err(e) => row.note = Some(format!("TOAST {}", skipped(&e))),
                        }
                    }
                }
                Err(e) => {
                    row.note = Some(skipped(&e));
                    if !carry(&mut row, before.get(&t.table_oid).copied()) {
                        estimate(&mut row, t, now_ms);
                    }
                }
            }
        } else if !carry(&mut row, before.get(&t.table_oid).copied()) {
            estimate(&mut row, t, now_ms);
            if schema.is_some() {
                row.note = Some(if t.bytes < MIN_BYTES && !size_unknown(t) {
                    "under 1 MB: dead tuples from the statistics only".into()
                } else {
                    "not measured yet (over this analysis' page budget): dead tuples from the statistics only; Measure exactly, or wait for the next analysis".into()
                });
            }
        }
        rows.push(row);
    }
    for ix in btrees {
        let mut row = index_row(ix, by_oid.get(&ix.table_oid).copied());
        if let (Some(schema), true) = (&schema, chosen.contains(&ix.index_oid)) {
            match db::measure_index(conn, schema, ix.index_oid).await {
                Ok(m) => row.set_index_measurement(
                    now_ms,
                    m.bytes,
                    m.internal_pages,
                    m.leaf_pages,
                    m.avg_leaf_density,
                ),
                Err(e) => {
                    row.note = Some(skipped(&e));
                    carry(&mut row, before.get(&ix.index_oid).copied());
                }
            }
        } else if !carry(&mut row, before.get(&ix.index_oid).copied()) {
            row.note = Some(if schema.is_none() {
                "not measured: pgstatindex (extension pgstattuple) is unavailable".into()
            } else if ix.bytes < MIN_BYTES {
                "under 1 MB: not measured".into()
            } else {
                "not measured yet (over this analysis' page budget): Measure exactly, or wait for the next analysis".into()
            });
        }
        rows.push(row);
    }
    Bloat {
        target: previous.target.clone(),
        database: previous.database.clone(),
        analysed_at: Some(now_ms),
        method_note: method_note(ext, monitor),
        repack: ext.has_pg_repack,
        cleanup_blockers: Vec::new(),
        rows,
        more: 0,
    }
}

/// A table never analysed with enough rows to be worth measuring: the catalog says 0 bytes.
fn size_unknown(t: &TableRow) -> bool {
    t.never_analysed && t.live_tuples + t.dead_tuples >= 10_000
}

/// When a stored row was measured, if it is about the same relation.
fn fresh(p: &BloatRow, quoted: &str) -> Option<i64> {
    (p.quoted == quoted && matches!(p.method, Method::Approx | Method::Exact))
        .then_some(p.measured_at)
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(oid: i64, cost: i64, measured_at: Option<i64>, bytes: i64) -> Candidate {
        Candidate {
            oid,
            cost,
            measured_at,
            bytes,
        }
    }

    #[test]
    fn the_budget_goes_to_the_never_measured_then_the_longest_ago() {
        let picked = choose(
            vec![
                c(1, 10, Some(500), 100),
                c(2, 10, None, 50),
                c(3, 10, None, 900),
                c(4, 10, Some(100), 100),
                c(5, 10, Some(900), 100),
            ],
            30,
            10,
        );
        assert_eq!(picked, vec![3, 2, 4]);
        // One too big for the budget leaves room for smaller ones.
        assert_eq!(
            choose(vec![c(1, 50, None, 9), c(2, 5, None, 1)], 30, 10),
            vec![2]
        );
        assert_eq!(
            choose(vec![c(1, 1, None, 2), c(2, 1, None, 1)], 30, 1),
            vec![1]
        );
    }

    fn row() -> BloatRow {
        table_row(&TableRow {
            table_oid: 7,
            schema_name: "s".into(),
            table_name: "t".into(),
            table_quoted: "s.t".into(),
            bytes: 100 * PAGE_BYTES,
            fillfactor: 100,
            ..TableRow::default()
        })
    }

    #[test]
    fn table_figures_leave_out_the_fillfactor_reserve() {
        let mut r = row();
        r.fillfactor = 70;
        r.set_table_measurement(Method::Approx, 1, 1_000_000, 100_000, 400_000);
        // 30 % of 1,000,000 is the reserve: 400,000 − 300,000 = 100,000 free counts.
        assert_eq!(r.free_bytes, Some(100_000));
        assert_eq!(r.bloat_bytes, Some(200_000));
        assert_eq!(r.bloat_ratio, Some(0.2));
    }

    #[test]
    fn the_pgstatindex_formula() {
        let mut r = row();
        r.index = Some("i".into());
        r.fillfactor = 90;
        // 100 pages: 40 leaf pages at 45 % density are 20 pages' worth at fillfactor 90, plus 2
        // internal and the meta page: 77 pages reclaimable.
        r.set_index_measurement(1, 100 * PAGE_BYTES, 2, 40, 45.0);
        assert_eq!(r.bloat_bytes, Some(77 * PAGE_BYTES));
        // A fresh index at its fillfactor has nothing to give back.
        r.set_index_measurement(1, 100 * PAGE_BYTES, 1, 98, 90.0);
        assert_eq!(r.bloat_bytes, Some(0));
    }
}
