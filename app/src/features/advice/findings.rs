//! Index findings from the catalog reads (pure functions, no I/O): duplicate, redundant, invalid
//! and unused indexes, foreign keys without an index (wraparound and sequences: `health.rs`). Each rule avoids the traps measured in the research (constraint-backing,
//! exclusion and replica-identity indexes are never offered for dropping; builds in progress are
//! not "invalid"; opclass, collation, sort order, expressions, predicate and INCLUDE columns
//! all count in "duplicate"). Every DDL is assembled from names PostgreSQL quoted.

use std::collections::{BTreeMap, HashMap};

use super::db::{ForeignKeyRow, IndexRow};
use super::model::{Evidence, Finding, Kind, Severity, finding_id};
use crate::components::format::bytes as fmt_bytes;

const DAY_MS: i64 = 86_400_000;

pub(super) fn ev(label: &str, value: impl Into<String>) -> Evidence {
    Evidence {
        label: label.to_owned(),
        value: value.into(),
    }
}

/// The statement that builds `index` again without blocking writes (from pg_get_indexdef).
pub fn recreate_concurrently(definition: &str) -> String {
    for prefix in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        if let Some(rest) = definition.strip_prefix(prefix) {
            return format!("{prefix}CONCURRENTLY {rest};");
        }
    }
    format!("{definition};")
}

/// How an index is dropped: concurrently, except the parent of a partitioned index (which
/// PostgreSQL cannot drop concurrently).
fn drop_index(ix: &IndexRow) -> (String, &'static str) {
    if ix.is_partitioned {
        (
            format!("DROP INDEX {};", ix.index_quoted),
            "ACCESS EXCLUSIVE on the table and its partitions while it runs (a partitioned index cannot be dropped concurrently)",
        )
    } else {
        (
            format!("DROP INDEX CONCURRENTLY {};", ix.index_quoted),
            "SHARE UPDATE EXCLUSIVE on the table: reads and writes go on; waits for transactions using the index",
        )
    }
}

fn index_finding(kind: Kind, severity: Severity, ix: &IndexRow, summary: String) -> Finding {
    Finding {
        schema: Some(ix.schema_name.clone()),
        table: Some(ix.table_name.clone()),
        index: Some(ix.index_name.clone()),
        ..Finding::new(
            finding_id(kind, &[&ix.schema_name, &ix.table_name, &ix.index_name]),
            kind,
            severity,
            summary,
        )
    }
}

/// What two indexes must share to be duplicates (uniqueness aside: a plain copy of a unique
/// index is as redundant as a second unique one).
type Shape<'a> = (
    i64,
    &'a str,
    &'a [i16],
    Vec<i16>,
    &'a [i64],
    &'a [i64],
    &'a [i16],
    &'a str,
    &'a str,
    bool,
);

fn shape(ix: &IndexRow) -> Shape<'_> {
    let mut included = ix.included().to_vec();
    included.sort_unstable();
    (
        ix.table_oid,
        &ix.method,
        ix.keys(),
        included,
        &ix.opclasses,
        &ix.collations,
        &ix.options,
        &ix.expressions,
        &ix.predicate,
        ix.nulls_not_distinct,
    )
}

/// Which of two equivalent indexes to keep: the one backing a constraint, then unique, then
/// referenced by a foreign key, then replica identity, then the more scanned, then the older.
fn keep_rank(ix: &IndexRow) -> (bool, bool, bool, bool, i64, i64) {
    (
        ix.constraint_name.is_some(),
        ix.is_unique,
        ix.referenced_by_fk,
        ix.is_replica_identity,
        ix.scans,
        -ix.index_oid,
    )
}

/// Exact duplicates: for each group, every index but the one to keep.
pub fn duplicates(indexes: &[IndexRow]) -> Vec<Finding> {
    let mut groups: BTreeMap<Shape<'_>, Vec<&IndexRow>> = BTreeMap::new();
    for ix in indexes
        .iter()
        .filter(|i| i.is_valid && !i.is_partition_member)
    {
        groups.entry(shape(ix)).or_default().push(ix);
    }
    let mut out = Vec::new();
    for mut group in groups.into_values().filter(|g| g.len() > 1) {
        group.sort_by_key(|ix| std::cmp::Reverse(keep_rank(ix)));
        let keep = group[0];
        for ix in &group[1..] {
            let mut f = index_finding(
                Kind::DuplicateIndex,
                Severity::Warning,
                ix,
                format!(
                    "{} is the same index as {} (same columns, operator classes, collations, order, expressions, predicate and INCLUDE columns).",
                    ix.index_name, keep.index_name
                ),
            );
            f.evidence = vec![
                ev("kept", keep.definition.clone()),
                ev("duplicate", ix.definition.clone()),
                ev(
                    "scans since reset",
                    format!("{} (kept: {})", ix.scans, keep.scans),
                ),
            ];
            f.gain_bytes = Some(ix.bytes);
            offer_drop(&mut f, ix);
            out.push(f);
        }
    }
    out
}

/// The DDL that drops `ix`, or why pgpanel does not offer it.
fn offer_drop(f: &mut Finding, ix: &IndexRow) {
    if ix.referenced_by_fk {
        f.note = Some(
            "A foreign key references this index: dropping it needs CASCADE and drops the foreign key. pgpanel does not offer it.".into(),
        );
        return;
    }
    if let (Some(constraint), Some(quoted)) = (&ix.constraint_name, &ix.constraint_quoted) {
        f.fix(
            vec![format!(
                "ALTER TABLE {} DROP CONSTRAINT {};",
                ix.table_quoted, quoted
            )],
            None,
            "ACCESS EXCLUSIVE on the table while the constraint is dropped",
            Some((ix.table_oid, &ix.table_quoted)),
        );
        f.confirm = Some(ix.table_quoted.clone());
        f.note = Some(format!(
            "This index implements the constraint {constraint:?}: the DDL drops the constraint; the kept index still enforces the same rule only if it is unique."
        ));
        return;
    }
    let (ddl, lock) = drop_index(ix);
    f.fix(
        vec![ddl],
        Some(format!(
            "-- to undo: {}",
            recreate_concurrently(&ix.definition)
        )),
        lock,
        Some((ix.index_oid, &ix.index_quoted)),
    );
    if ix.is_partitioned {
        f.confirm = Some(ix.index_quoted.clone());
    }
}

/// Left-prefix redundant btrees: a plain index whose key columns start a longer valid index with
/// the same operator classes, collations, order and predicate, its INCLUDE columns among the
/// longer one's columns.
pub fn redundant(indexes: &[IndexRow]) -> Vec<Finding> {
    let plain = |ix: &IndexRow| {
        ix.method == "btree" && ix.is_valid && ix.expressions.is_empty() && !ix.is_partition_member
    };
    let mut by_table: HashMap<i64, Vec<&IndexRow>> = HashMap::new();
    for ix in indexes.iter().filter(|i| plain(i)) {
        by_table.entry(ix.table_oid).or_default().push(ix);
    }
    let mut out = Vec::new();
    for ixs in by_table.values() {
        for a in ixs {
            if a.is_unique
                || a.constraint_name.is_some()
                || a.is_replica_identity
                || a.referenced_by_fk
                || a.is_exclusion
            {
                continue;
            }
            let n = a.keys().len();
            let covering = ixs
                .iter()
                .filter(|b| b.index_oid != a.index_oid && b.keys().len() > n)
                .filter(|b| b.predicate == a.predicate && b.keys()[..n] == *a.keys())
                .filter(|b| {
                    b.opclasses.get(..n) == a.opclasses.get(..n)
                        && b.collations.get(..n) == a.collations.get(..n)
                        && b.options.get(..n) == a.options.get(..n)
                })
                .filter(|b| a.included().iter().all(|c| b.columns.contains(c)))
                .max_by_key(|b| (b.scans, -b.index_oid));
            let Some(b) = covering else {
                continue;
            };
            let mut f = index_finding(
                Kind::RedundantIndex,
                Severity::Warning,
                a,
                format!(
                    "{} is covered by {}, which starts with the same columns.",
                    a.index_name, b.index_name
                ),
            );
            f.evidence = vec![
                ev("redundant", a.definition.clone()),
                ev("covered by", b.definition.clone()),
                ev(
                    "scans since reset",
                    format!("{} (longer index: {})", a.scans, b.scans),
                ),
            ];
            f.gain_bytes = Some(a.bytes);
            f.note = Some(format!(
                "Queries on {}'s columns will read the wider {} instead: slightly more pages per lookup.",
                a.index_name, b.index_name
            ));
            offer_drop(&mut f, a);
            out.push(f);
        }
    }
    out.sort_by(|x, y| x.id.cmp(&y.id));
    out
}

/// Indexes that are not valid and not being built now: a failed CREATE INDEX CONCURRENTLY or
/// REINDEX CONCURRENTLY left them; they cost writes (when ready) and serve no read.
pub fn invalid(indexes: &[IndexRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    for ix in indexes.iter().filter(|i| !i.is_valid && !i.being_built) {
        // REINDEX CONCURRENTLY names its copies `…_ccnew` (the new one) and `…_ccold` (the
        // one replaced), with a number when taken: either, left invalid, is only dropped.
        let leftover = ix.index_name.contains("_ccnew") || ix.index_name.contains("_ccold");
        let severity = if ix.is_unique && !leftover {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut f = index_finding(
            Kind::InvalidIndex,
            severity,
            ix,
            if leftover {
                format!(
                    "{} is an invalid copy a failed REINDEX CONCURRENTLY left behind.",
                    ix.index_name
                )
            } else if ix.is_unique {
                format!(
                    "{} is invalid: the unique build failed (probably duplicate keys), so no query uses it{}.",
                    ix.index_name,
                    if ix.is_ready {
                        " though every write still maintains it"
                    } else {
                        " and it enforces nothing"
                    }
                )
            } else {
                format!(
                    "{} is invalid (a failed concurrent build): no query uses it{}.",
                    ix.index_name,
                    if ix.is_ready {
                        " but every write still maintains it"
                    } else {
                        ""
                    }
                )
            },
        );
        f.evidence = vec![
            ev("definition", ix.definition.clone()),
            ev(
                "ready (maintained by writes)",
                if ix.is_ready { "yes" } else { "no" },
            ),
            ev(
                "build in progress",
                "no (pg_stat_progress_create_index has no row for it)",
            ),
        ];
        f.gain_bytes = Some(ix.bytes);
        if ix.is_partitioned {
            f.note = Some(
                "A partitioned index is invalid while a partition lacks its index: create the missing partition index and ATTACH it (ALTER INDEX … ATTACH PARTITION).".into(),
            );
        } else if leftover {
            let (ddl, lock) = drop_index(ix);
            f.fix(
                vec![ddl],
                None,
                lock,
                Some((ix.index_oid, &ix.index_quoted)),
            );
        } else {
            let comment = ix.is_unique.then(|| {
                let cols = ix.key_exprs.join(", ");
                format!(
                    "-- a unique build fails again while duplicate keys remain; they are:\n-- SELECT {cols}, count(*) FROM {} GROUP BY {cols} HAVING count(*) > 1;",
                    ix.table_quoted
                )
            });
            f.fix(
                vec![
                    format!("DROP INDEX CONCURRENTLY {};", ix.index_quoted),
                    recreate_concurrently(&ix.definition),
                ],
                comment,
                "SHARE UPDATE EXCLUSIVE on the table (reads and writes go on); the build reads the whole table",
                Some((ix.index_oid, &ix.index_quoted)),
            );
        }
        out.push(f);
    }
    out
}

/// Foreign keys whose referencing columns lead no valid, non-partial btree (or a one-column
/// hash): deleting or updating a referenced row scans the whole referencing table.
pub fn fk_without_index(fks: &[ForeignKeyRow], indexes: &[IndexRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    for fk in fks {
        let n = fk.columns.len();
        let mut wanted = fk.columns.clone();
        wanted.sort_unstable();
        let supported = indexes.iter().any(|ix| {
            ix.table_oid == fk.table_oid
                && ix.is_valid
                && ix.predicate.is_empty()
                && ix.keys().len() >= n
                && (ix.method == "btree" || (ix.method == "hash" && n == 1))
                && {
                    let mut lead = ix.keys()[..n].to_vec();
                    lead.sort_unstable();
                    lead == wanted
                }
        });
        if supported {
            continue;
        }
        let kind = Kind::FkWithoutIndex;
        let busy = fk.referenced_churn > 0 || fk.table_bytes >= 10 * 1024 * 1024;
        let cols = fk.columns_quoted.join(", ");
        let ddl = if fk.is_partitioned {
            format!("CREATE INDEX ON {} ({cols});", fk.table_quoted)
        } else {
            format!("CREATE INDEX CONCURRENTLY ON {} ({cols});", fk.table_quoted)
        };
        let mut f = Finding {
            id: finding_id(
                kind,
                &[&fk.schema_name, &fk.table_name, &fk.constraint_name],
            ),
            kind,
            severity: if busy {
                Severity::Warning
            } else {
                Severity::Info
            },
            schema: Some(fk.schema_name.clone()),
            table: Some(fk.table_name.clone()),
            index: None,
            summary: format!(
                "The foreign key {} on {} ({}) has no index: each delete or key update in {} scans {}.",
                fk.constraint_name,
                fk.table_name,
                fk.column_names.join(", "),
                fk.referenced_quoted,
                fk.table_quoted
            ),
            evidence: vec![
                ev("references", fk.referenced_quoted.clone()),
                ev(
                    "deletes and updates of the referenced table since reset",
                    fk.referenced_churn.to_string(),
                ),
                ev(
                    "referencing table size (catalog, as of its last VACUUM or ANALYZE)",
                    fmt_bytes(fk.table_bytes),
                ),
            ],
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
        };
        f.fix(
            vec![ddl],
            None,
            if fk.is_partitioned {
                "SHARE on every partition while it builds: writes wait (a partitioned table cannot be indexed concurrently)"
            } else {
                "SHARE UPDATE EXCLUSIVE on the table (reads and writes go on); the build reads the whole table"
            },
            Some((fk.table_oid, &fk.table_quoted)),
        );
        if fk.is_partitioned {
            f.confirm = Some(fk.table_quoted.clone());
        }
        out.push(f);
    }
    out
}

/// Indexes whose scan count has not moved over the window pgpanel can vouch for. `unchanged_ms`
/// is, per index OID, how long its count has been what it is now (pgpanel's own snapshots, or
/// since the statistics reset when the count is 0 and that is longer).
pub fn unused(
    indexes: &[IndexRow],
    fks: &[ForeignKeyRow],
    unchanged_ms: &HashMap<i64, i64>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for ix in indexes {
        if !ix.is_valid
            || ix.is_unique
            || ix.is_primary
            || ix.is_exclusion
            || ix.constraint_name.is_some()
            || ix.is_replica_identity
            || ix.referenced_by_fk
            || ix.is_partition_member
        {
            continue;
        }
        let Some(&window) = unchanged_ms.get(&ix.index_oid) else {
            continue;
        };
        if window <= 0 {
            continue;
        }
        let days = window as f64 / DAY_MS as f64;
        let supports_fk = fks.iter().find(|fk| {
            ix.table_oid == fk.table_oid && {
                let n = fk.columns.len();
                let mut lead = ix.keys().get(..n).map(<[i16]>::to_vec).unwrap_or_default();
                lead.sort_unstable();
                let mut want = fk.columns.clone();
                want.sort_unstable();
                lead == want
            }
        });
        let severity = if supports_fk.is_some() || days < 7.0 {
            Severity::Info
        } else {
            Severity::Warning
        };
        let mut f = index_finding(
            Kind::UnusedIndex,
            severity,
            ix,
            format!(
                "{} has not been scanned for {} ({}).",
                ix.index_name,
                window_words(window),
                if days < 1.0 {
                    "a hint: too short a window to be sure"
                } else if days < 7.0 {
                    "a weekly job would not show yet"
                } else if days < 30.0 {
                    "likely unused; a monthly job would not show yet"
                } else {
                    "unused"
                }
            ),
        );
        f.evidence = vec![
            ev("scans", ix.scans.to_string()),
            ev("unchanged for", window_words(window)),
            ev(
                "last scan (PostgreSQL 16+ last_idx_scan)",
                ix.last_scan_ms.map_or("not recorded".into(), |ms| {
                    crate::components::format::utc(crate::clock::from_millis(ms))
                }),
            ),
            ev("size", fmt_bytes(ix.bytes)),
        ];
        f.gain_bytes = Some(ix.bytes);
        if let Some(fk) = supports_fk {
            f.note = Some(format!(
                "It supports the foreign key {}: deletes and key updates in {} use it. Keep it unless that table is never deleted from or updated ({} such changes since reset).",
                fk.constraint_name, fk.referenced_quoted, fk.referenced_churn
            ));
        } else {
            offer_drop(&mut f, ix);
            f.note = Some(
                "Scan counts are per server: check every standby before dropping, as reads there use it too.".into(),
            );
        }
        out.push(f);
    }
    out
}

fn window_words(ms: i64) -> String {
    let hours = ms / 3_600_000;
    if hours < 1 {
        format!("{} min", (ms / 60_000).max(1))
    } else if hours < 48 {
        format!("{hours} h")
    } else {
        format!("{} days", hours / 24)
    }
}
