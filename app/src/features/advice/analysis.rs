//! One analysis of one database: the catalog reads on a monitor session in that database (each
//! under the target's statement_timeout and lock_timeout; a failed read costs its own section
//! only), the findings from them, and the index scan snapshot that carries the unused-index
//! window from one analysis to the next.

use std::collections::HashMap;
use std::time::Instant;

use sqlx::Connection;

use super::bloat;
use super::bloat_findings;
use super::db;
use super::findings;
use super::health;
use super::missing;
use super::model::{Analysis, Bloat, Finding, IndexSnapshot, SectionError, Workload};
use crate::error::AppError;
use crate::features::targets::conn::{LoginKind, open, statement_error};
use crate::features::targets::monitor::Target;

/// How many of the oldest tables the wraparound section looks at.
const OLDEST_TABLES: i64 = 20;

/// What an analysis continues from: the last one's index scan snapshot (scan counts and since
/// when they have not moved), bloat rows (measurements not repeated this time), and missing
/// index suggestions with what they rested on (kept by a recheck, which validates nothing).
#[derive(Clone, Debug, Default)]
pub struct Previous {
    pub snapshot: IndexSnapshot,
    pub bloat: Bloat,
    pub missing: Vec<Finding>,
    pub workload: Workload,
}

/// What an analysis gives: its findings, and what the next one continues from.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub analysis: Analysis,
    pub snapshot: IndexSnapshot,
    pub bloat: Bloat,
}

/// Analyses `database` of `target` now; `statements` are the window's most expensive ones for
/// the missing-index section. With `measure` false (a check before applying a finding) nothing
/// is measured or validated: bloat figures and missing-index suggestions are the stored ones,
/// kept while they still hold. Fails only when no session can be opened; a failed read is a
/// section error in the result.
pub async fn analyse(
    target: &Target,
    database: &str,
    previous: &Previous,
    measure: bool,
    now_ms: i64,
    statements: &[missing::Statement],
) -> Result<Outcome, AppError> {
    let mut conn = open(target, LoginKind::Monitor, Some(database)).await?;
    let started = Instant::now();
    let mut errors = Vec::new();
    macro_rules! section {
        ($name:expr, $what:expr, $read:expr) => {
            match $read.await {
                Ok(v) => Some(v),
                Err(e) => {
                    errors.push(SectionError {
                        section: $name.into(),
                        message: statement_error(LoginKind::Monitor, $what, &e).to_string(),
                    });
                    None
                }
            }
        };
    }
    let indexes = section!("indexes", "Reading the indexes", db::indexes(&mut conn));
    let fks = section!(
        "indexes",
        "Reading the foreign keys",
        db::foreign_keys(&mut conn)
    );
    let reset = section!(
        "indexes",
        "Reading the statistics reset time",
        db::stats_reset(&mut conn)
    );
    let ages = section!(
        "wraparound",
        "Reading transaction id ages",
        db::ages(&mut conn, OLDEST_TABLES)
    );
    let horizon = section!(
        "wraparound",
        "Reading what holds the horizon back",
        db::horizon(&mut conn)
    );
    let sequences = section!(
        "sequences",
        "Reading the sequences",
        db::sequences(&mut conn)
    );
    let tables = section!("bloat", "Reading the tables", db::bloat_tables(&mut conn));
    let extensions = section!(
        "bloat",
        "Reading the installed extensions",
        db::extensions(&mut conn)
    );
    let monitor = target
        .own_logins()
        .first()
        .cloned()
        .unwrap_or_else(|| "the monitor login".into());
    let blockers: Vec<String> = horizon
        .iter()
        .flatten()
        .map(|h| format!("{} {} (xmin age {})", h.kind, h.name, h.age))
        .collect();
    let prev = Bloat {
        target: target.spec.id.clone(),
        database: database.to_owned(),
        ..previous.bloat.clone()
    };
    let mut bloat_rows = prev.clone();
    if let (Some(tables), Some(ext)) = (&tables, &extensions) {
        let none = Default::default();
        let ext = if measure { ext.clone() } else { none };
        bloat_rows = bloat::measure(
            &mut conn,
            tables,
            indexes.as_deref().unwrap_or_default(),
            &ext,
            &prev,
            &monitor,
            now_ms,
        )
        .await;
        if !measure {
            bloat_rows.method_note = prev.method_note.clone();
        }
        bloat_rows.cleanup_blockers = blockers.clone();
    }
    let mut workload = previous.workload.clone();
    let mut suggested = Vec::new();
    if let Some(indexes) = &indexes {
        if measure {
            let hypopg = extensions.as_ref().and_then(|e| e.hypopg_schema.as_deref());
            let m = missing::advise(&mut conn, target, database, statements, indexes, hypopg).await;
            errors.extend(m.errors.into_iter().map(|message| SectionError {
                section: "missing indexes".into(),
                message,
            }));
            workload = m.workload;
            suggested = m.findings;
        } else if let Some(tables) = &tables {
            let oids: Vec<i64> = tables.iter().map(|t| t.table_oid).collect();
            suggested = missing::still_missing(&previous.missing, indexes, &oids);
        }
    }
    let duration_ms = started.elapsed().as_millis() as i64;
    let _ = conn.close().await;

    let mut out: Vec<Finding> = suggested;
    let mut snapshot = IndexSnapshot::default();
    if let Some(tables) = &tables {
        out.extend(bloat_findings::findings(&bloat_rows));
        out.extend(bloat_findings::autovacuum_behind(tables, &blockers, now_ms));
    }
    if let Some(indexes) = &indexes {
        let reset_ms = reset.flatten().map(crate::clock::to_millis);
        snapshot = previous.snapshot.next(
            indexes.iter().map(|i| (i.index_oid, i.scans)),
            now_ms,
            reset_ms,
        );
        // pgpanel's own window, or PostgreSQL 16's last scan time when that reaches further.
        let unchanged: HashMap<i64, i64> = indexes
            .iter()
            .filter_map(|i| {
                let ours = now_ms - snapshot.unchanged_since(i.index_oid)?;
                let server = i.last_scan_ms.map_or(0, |at| now_ms - at);
                Some((i.index_oid, ours.max(server)))
            })
            .collect();
        let fks = fks.unwrap_or_default();
        out.extend(findings::invalid(indexes));
        let duplicates = findings::duplicates(indexes);
        // An index dropped as a duplicate is not also listed as redundant.
        let named = |f: &Finding| (f.schema.clone(), f.table.clone(), f.index.clone());
        let dropped: Vec<_> = duplicates.iter().map(named).collect();
        out.extend(
            findings::redundant(indexes)
                .into_iter()
                .filter(|f| !dropped.contains(&named(f))),
        );
        out.extend(duplicates);
        out.extend(findings::fk_without_index(&fks, indexes));
        out.extend(findings::unused(indexes, &fks, &unchanged));
    }
    if let Some(ages) = &ages {
        out.extend(health::wraparound(ages, &horizon.unwrap_or_default()));
    }
    if let Some(rows) = &sequences {
        let (found, unreadable) = health::sequences(rows);
        out.extend(found);
        if !unreadable.is_empty() {
            errors.push(SectionError {
                section: "sequences".into(),
                message: format!(
                    "{} sequence(s) could not be read by {}, so how far they have gone is unknown (e.g. {}). Grant it: GRANT SELECT ON ALL SEQUENCES IN SCHEMA … TO {};",
                    unreadable.len(),
                    LoginKind::Monitor.label(),
                    unreadable[0],
                    target.own_logins().first().map_or("the monitor login", String::as_str),
                ),
            });
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.kind.cmp(&b.kind))
            .then(a.id.cmp(&b.id))
    });
    // Two findings about one object and kind (a table that is oldest by both ages is listed
    // once by the read) keep the first.
    out.dedup_by(|a, b| a.id == b.id);
    Ok(Outcome {
        analysis: Analysis {
            target: target.spec.id.clone(),
            database: database.to_owned(),
            analysed_at: Some(now_ms),
            duration_ms,
            findings: out,
            errors,
            running: false,
            workload,
        },
        snapshot,
        bloat: bloat_rows,
    })
}
