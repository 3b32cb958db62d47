//! Findings from bloat rows and table statistics (pure functions: the same rows give the same
//! findings, so an exact measurement updates them without a new analysis): table bloat with
//! the remedy that fits what dominates, btree bloat, and autovacuum falling behind its own
//! trigger. Every DDL uses names PostgreSQL quoted (`format('%I.%I')` in the catalog reads).

use super::bloat::{MIN_BYTES, table_row};
use super::db::TableRow;
use super::findings::ev;
use super::model::{Bloat, BloatRow, Finding, Kind, Method, Severity, finding_id};
use crate::components::format::{bytes as fmt_bytes, utc};

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

/// The comment under a VACUUM: how to have autovacuum come sooner to the table.
fn sooner(quoted: &str) -> String {
    format!(
        "-- to have autovacuum come sooner: ALTER TABLE {quoted} SET (autovacuum_vacuum_scale_factor = 0.02);"
    )
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
                    Some(sooner(&r.quoted)),
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
            sooner(&t.table_quoted)
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
    use crate::features::advice::model::PAGE_BYTES;

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
