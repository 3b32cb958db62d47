//! Bloat of tables and btree indexes, measured without superuser: `pgstattuple_approx` for
//! tables and `pgstatindex` for btrees (both executable by pg_monitor once a superuser created
//! the extension), within a page budget per analysis so that a large database is measured table
//! by table over several analyses (the least recently measured first; the others keep their last
//! figure and its time). Without the extension every table still gets the cheap indicator (dead
//! tuples from the statistics) and the page says what to run; a statistics-based estimate of free
//! space is never shown (a pg_monitor login sees no pg_stats rows and it reads ~70 % on healthy
//! tables). The findings (`findings`) are pure functions of the stored rows, so an exact
//! measurement a DBA asks for updates them without a new analysis.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::db::{self, Extensions, IndexRow, TableRow};
use super::findings::ev;
use super::model::{Bloat, BloatRow, Finding, Kind, Method, PAGE_BYTES, Severity, finding_id};
use crate::components::format::{bytes as fmt_bytes, utc};
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

fn table_row(t: &TableRow) -> BloatRow {
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

/// Bloat worth acting on: at least 1 MB and a fifth of the table (three tenths of an index).
const TABLE_MIN_RATIO: f64 = 0.2;
const INDEX_MIN_RATIO: f64 = 0.3;

fn severity(bloat: i64, ratio: f64) -> Severity {
    if bloat >= 1 << 30 || (ratio >= 0.5 && bloat >= 100 << 20) {
        Severity::Warning
    } else {
        Severity::Info
    }
}

fn measured_words(r: &BloatRow) -> String {
    let how = match r.method {
        Method::Estimate => "dead tuples from pg_stat_user_tables (free space unknown)",
        Method::Approx => {
            "pgstattuple_approx (pages not all-visible read, the rest from the free space map)"
        }
        Method::Exact => {
            if r.index.is_some() {
                "pgstatindex (every page read)"
            } else {
                "pgstattuple (every page read)"
            }
        }
        Method::Unmeasured => "not measured",
    };
    match r.measured_at {
        Some(at) => format!("{how}, {}", utc(crate::clock::from_millis(at))),
        None => how.into(),
    }
}

fn blank(kind: Kind, r: &BloatRow, summary: String) -> Finding {
    let id = finding_id(
        kind,
        &[&r.schema, &r.table, r.index.as_deref().unwrap_or("")],
    );
    Finding {
        schema: Some(r.schema.clone()),
        table: Some(r.table.clone()),
        index: r.index.clone(),
        ..Finding::new(id, kind, Severity::Info, summary)
    }
}

const VACUUM_LOCK: &str =
    "SHARE UPDATE EXCLUSIVE on the table: reads and writes go on; another VACUUM or DDL waits";

/// Table and index bloat findings from the rows (pure: the same rows give the same findings).
pub fn findings(b: &Bloat) -> Vec<Finding> {
    let mut out = Vec::new();
    let blockers = (!b.cleanup_blockers.is_empty()).then(|| {
        format!(
            "VACUUM cannot remove rows that these may still see: {}. End them first, or the dead tuples stay.",
            b.cleanup_blockers.join("; ")
        )
    });
    for r in &b.rows {
        let (Some(bloat), Some(ratio)) = (r.bloat_bytes, r.bloat_ratio) else {
            continue;
        };
        if bloat < MIN_BYTES {
            continue;
        }
        if r.index.is_none() && ratio >= TABLE_MIN_RATIO {
            let dead = r.dead_bytes.unwrap_or(0);
            let free = r.free_bytes.unwrap_or(0);
            let rewrite = r.method != Method::Estimate && free > dead;
            let mut f = blank(
                Kind::TableBloat,
                r,
                format!(
                    "{} could give back {} of {} ({:.0} %): mostly {}.",
                    r.quoted,
                    fmt_bytes(bloat),
                    fmt_bytes(r.bytes),
                    ratio * 100.0,
                    if rewrite {
                        "free space left by deleted rows (only a rewrite returns it)"
                    } else {
                        "dead rows that VACUUM can remove"
                    }
                ),
            );
            f.severity = severity(bloat, ratio);
            f.gain_bytes = Some(bloat);
            f.evidence = vec![
                ev("size (main fork)", fmt_bytes(r.bytes)),
                ev("dead tuples", r.dead_bytes.map_or("?".into(), fmt_bytes)),
                ev(
                    &format!(
                        "free space beyond the fillfactor reserve (fillfactor {})",
                        r.fillfactor
                    ),
                    r.free_bytes.map_or("unknown".into(), fmt_bytes),
                ),
                ev("measured by", measured_words(r)),
            ];
            if r.toast_bytes > 0 {
                f.evidence.push(ev(
                    "TOAST (not in the figures above)",
                    format!(
                        "{}{}",
                        fmt_bytes(r.toast_bytes),
                        r.toast_bloat_bytes.map_or(String::new(), |t| format!(
                            ", dead + free at most {}",
                            fmt_bytes(t)
                        ))
                    ),
                ));
            }
            if rewrite {
                let alt = if b.repack {
                    format!(
                        "-- online instead (pg_repack is installed; run from a shell): pg_repack --dbname={} --table={}",
                        b.database, r.quoted
                    )
                } else {
                    "-- online instead: pg_repack (not installed in this database)".to_owned()
                };
                f.fix(
                    vec![format!("VACUUM (FULL, ANALYZE) {};", r.quoted)],
                    Some(alt),
                    "ACCESS EXCLUSIVE on the table until it ends: every read and write waits; needs free disk about the size of the table and its indexes",
                    Some((r.oid, &r.quoted)),
                );
                f.confirm = Some(r.quoted.clone());
            } else {
                f.fix(
                    vec![format!("VACUUM (ANALYZE) {};", r.quoted)],
                    Some(format!(
                        "-- to have autovacuum come sooner: ALTER TABLE {} SET (autovacuum_vacuum_scale_factor = 0.02);",
                        r.quoted
                    )),
                    VACUUM_LOCK,
                    Some((r.oid, &r.quoted)),
                );
                f.note = blockers.clone();
            }
            if r.dropped_columns {
                let dropped = "The table has dropped columns: rows written before the DROP still carry their data, which a rewrite gives back and no measurement counts.";
                f.note = Some(match f.note.take() {
                    Some(n) => format!("{n} {dropped}"),
                    None => dropped.into(),
                });
            }
            out.push(f);
        } else if r.index.is_some() && ratio >= INDEX_MIN_RATIO {
            let mut f = blank(
                Kind::IndexBloat,
                r,
                format!(
                    "{} could give back {} of {} ({:.0} %) if rebuilt.",
                    r.quoted,
                    fmt_bytes(bloat),
                    fmt_bytes(r.bytes),
                    ratio * 100.0
                ),
            );
            f.severity = severity(bloat, ratio);
            f.gain_bytes = Some(bloat);
            f.evidence = vec![
                ev("size", fmt_bytes(r.bytes)),
                ev("fillfactor", r.fillfactor.to_string()),
                ev("measured by", measured_words(r)),
                ev(
                    "dead tuples in its table",
                    format!("{:.0} %", r.dead_ratio * 100.0),
                ),
            ];
            if r.dead_ratio > 0.1 {
                f.summary
                    .push_str(" Its table has many dead tuples: VACUUM first, then measure again.");
                f.fix(
                    vec![format!("VACUUM (ANALYZE) {};", r.table_quoted)],
                    None,
                    VACUUM_LOCK,
                    Some((r.oid, &r.quoted)),
                );
                f.note = Some("pgstatindex counts entries of dead rows as used space until VACUUM removes them; a REINDEX now would keep them.".into());
            } else if r.exclusion {
                f.fix(
                    vec![format!("REINDEX INDEX {};", r.quoted)],
                    None,
                    "SHARE on the table (writes wait) and ACCESS EXCLUSIVE on the index (reads using it wait): an exclusion constraint's index cannot be rebuilt concurrently",
                    Some((r.oid, &r.quoted)),
                );
                f.confirm = Some(r.quoted.clone());
            } else {
                f.fix(
                    vec![format!("REINDEX INDEX CONCURRENTLY {};", r.quoted)],
                    None,
                    "SHARE UPDATE EXCLUSIVE on the table: reads and writes go on; needs room for a second copy while it builds",
                    Some((r.oid, &r.quoted)),
                );
                f.note = Some("A failed concurrent rebuild leaves an invalid copy ending in _ccnew: drop it (the Advice page lists it as an invalid index).".into());
            }
            out.push(f);
        }
    }
    out
}

/// Tables whose dead tuples are well past autovacuum's own trigger (threshold + scale factor ×
/// rows) with no VACUUM running on them now: autovacuum is off for them, starved of workers, or
/// cannot clean up behind an old snapshot.
pub fn autovacuum_behind(tables: &[TableRow], blockers: &[String], now_ms: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in tables {
        let trigger = t.vacuum_threshold as f64 + t.vacuum_scale_factor * t.reltuples;
        let dead = t.dead_tuples as f64;
        if t.vacuum_running || t.dead_tuples < 1_000 || dead < 2.0 * trigger.max(1.0) {
            continue;
        }
        let row = table_row(t);
        let kind = Kind::AutovacuumBehind;
        let mut f = blank(
            kind,
            &row,
            format!(
                "{}: {} dead tuples, {:.0}× autovacuum's trigger of {:.0}{}.",
                t.table_quoted,
                t.dead_tuples,
                dead / trigger.max(1.0),
                trigger,
                if t.autovacuum_enabled {
                    ""
                } else {
                    " — autovacuum is off for this table"
                }
            ),
        );
        f.severity = if !t.autovacuum_enabled || dead >= 10.0 * trigger {
            Severity::Warning
        } else {
            Severity::Info
        };
        f.evidence = vec![
            ev(
                "dead tuples (pg_stat_user_tables)",
                t.dead_tuples.to_string(),
            ),
            ev("live tuples", t.live_tuples.to_string()),
            ev(
                "autovacuum trigger",
                format!(
                    "{} + {} × {:.0} rows = {trigger:.0}",
                    t.vacuum_threshold, t.vacuum_scale_factor, t.reltuples
                ),
            ),
            ev(
                "autovacuum",
                if t.autovacuum_enabled {
                    "on"
                } else {
                    "off (autovacuum_enabled = false)"
                },
            ),
            ev(
                "last vacuum",
                t.last_vacuum_ms.map_or("never".into(), |ms| {
                    format!(
                        "{} ({} ago)",
                        utc(crate::clock::from_millis(ms)),
                        crate::components::format::millis(now_ms - ms)
                    )
                }),
            ),
        ];
        let tune = if t.autovacuum_enabled {
            format!(
                "-- to have autovacuum come sooner: ALTER TABLE {} SET (autovacuum_vacuum_scale_factor = 0.02);",
                t.table_quoted
            )
        } else {
            format!(
                "-- to let autovacuum look after it again: ALTER TABLE {} RESET (autovacuum_enabled);",
                t.table_quoted
            )
        };
        f.fix(
            vec![format!("VACUUM (ANALYZE) {};", t.table_quoted)],
            Some(tune),
            VACUUM_LOCK,
            Some((t.table_oid, &t.table_quoted)),
        );
        if !blockers.is_empty() {
            f.note = Some(format!(
                "Dead rows that these may still see stay after VACUUM: {}.",
                blockers.join("; ")
            ));
        }
        out.push(f);
    }
    out
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

    #[test]
    fn the_remedy_follows_what_dominates() {
        let mut b = Bloat::default();
        let mut dead = row();
        dead.set_table_measurement(Method::Approx, 1, 1000 * PAGE_BYTES, 600 * PAGE_BYTES, 0);
        let mut free = row();
        free.oid = 8;
        free.table = "u".into();
        free.quoted = "s.u".into();
        free.set_table_measurement(Method::Approx, 1, 1000 * PAGE_BYTES, 0, 600 * PAGE_BYTES);
        b.rows = vec![dead, free];
        b.cleanup_blockers = vec!["pid 1".into()];
        let f = findings(&b);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].statements, vec!["VACUUM (ANALYZE) s.t;"]);
        assert!(f[0].note.as_deref().unwrap_or("").contains("pid 1"));
        assert_eq!(f[0].confirm, None);
        assert_eq!(f[1].statements, vec!["VACUUM (FULL, ANALYZE) s.u;"]);
        assert_eq!(f[1].confirm.as_deref(), Some("s.u"));
        // Under a fifth of the table: nothing.
        b.rows[0].set_table_measurement(Method::Approx, 1, 1000 * PAGE_BYTES, 190 * PAGE_BYTES, 0);
        b.rows.truncate(1);
        assert!(findings(&b).is_empty());
    }
}
