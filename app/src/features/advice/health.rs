//! Health findings from the catalog reads (pure functions, no I/O): transaction id and
//! multixact age against each table's own freeze limit, and sequences near their end (also
//! through a narrower column). Every DDL is assembled from names PostgreSQL quoted.

use super::db::{AgeRow, HorizonRow, SequenceRow};
use super::findings::ev;
use super::model::{Evidence, Finding, Kind, Severity, finding_id};

/// PostgreSQL 14+ stops assigning transaction ids this close to wraparound (2^31 − 3,000,000).
pub const XID_STOP_AGE: i64 = 2_144_483_647;

fn millions(n: i64) -> String {
    format!("{:.1} M", n as f64 / 1e6)
}

/// Tables (and the database) whose transaction id or multixact age comes near the point where
/// PostgreSQL must freeze them (anti-wraparound autovacuum) or stops: reported from half the
/// freeze limit on, critical past the failsafe age.
pub fn wraparound(ages: &[AgeRow], horizon: &[HorizonRow]) -> Vec<Finding> {
    let mut out = Vec::new();
    let holders: Vec<Evidence> = horizon
        .iter()
        .map(|h| {
            ev(
                &format!("holds the horizon: {}", h.kind),
                format!("{} (age {})", h.name, h.age),
            )
        })
        .collect();
    for row in ages {
        for (kind, age, limit, failsafe) in [
            (
                Kind::XidWraparound,
                row.xid_age,
                row.freeze_max_age,
                row.failsafe_age,
            ),
            (
                Kind::MxidWraparound,
                row.mxid_age,
                row.mxid_freeze_max_age,
                row.mxid_failsafe_age,
            ),
        ] {
            if limit <= 0 || age * 2 < limit {
                continue;
            }
            let severity = if age >= failsafe {
                Severity::Critical
            } else if age >= limit {
                Severity::Warning
            } else {
                Severity::Info
            };
            let what = if kind == Kind::XidWraparound {
                "transaction id"
            } else {
                "multixact id"
            };
            let (object, ddl, id_parts): (String, Option<String>, Vec<&str>) =
                match (&row.table_quoted, &row.schema_name, &row.table_name) {
                    (Some(q), Some(s), Some(t)) => (
                        q.clone(),
                        Some(format!("VACUUM (FREEZE) {q};")),
                        vec![s.as_str(), t.as_str()],
                    ),
                    _ => ("the database".into(), None, vec!["database"]),
                };
            let mut evidence = vec![
                ev(&format!("{what} age"), millions(age)),
                ev("freeze limit (anti-wraparound autovacuum)", millions(limit)),
                ev("failsafe age", millions(failsafe)),
                ev("stop limit", millions(XID_STOP_AGE)),
            ];
            evidence.extend(holders.iter().cloned());
            let mut f = Finding {
                id: finding_id(kind, &id_parts),
                kind,
                severity,
                schema: row.schema_name.clone(),
                table: row.table_name.clone(),
                index: None,
                summary: format!(
                    "{object}: {what} age {} is {:.0} % of its freeze limit.",
                    millions(age),
                    age as f64 * 100.0 / limit as f64
                ),
                evidence,
                gain_bytes: None,
                ddl: None,
                statements: Vec::new(),
                oid: None,
                object: None,
                confirm: None,
                lock: None,
                note: (!horizon.is_empty()).then(|| {
                    "Freezing cannot pass the oldest transaction still needed: end what holds the horizon back first.".into()
                }),
                cost_before: None,
                cost_after: None,
                queries: Vec::new(),
                columns: Vec::new(),
            };
            if let Some(ddl) = ddl {
                f.fix(
                    vec![ddl],
                    None,
                    "SHARE UPDATE EXCLUSIVE on the table (reads and writes go on); reads the pages not yet frozen",
                    row.table_oid.zip(row.table_quoted.as_deref()),
                );
            }
            out.push(f);
        }
    }
    out
}

/// The largest value a column of this type can hold, when it is an integer type.
fn type_max(column_type: &str) -> Option<i64> {
    match column_type {
        "smallint" => Some(i64::from(i16::MAX)),
        "integer" => Some(i64::from(i32::MAX)),
        "bigint" => Some(i64::MAX),
        _ => None,
    }
}

/// Sequences (and the columns they feed) past half their range, and type mismatches between a
/// sequence and its column; sequences the login may not read are returned by name.
pub fn sequences(rows: &[SequenceRow]) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    for s in rows.iter().filter(|s| !s.cycles && s.increment > 0) {
        if !s.readable {
            unreadable.push(s.sequence_quoted.clone());
            continue;
        }
        let Some(last) = s.last_value else {
            continue;
        };
        let column_max = s.column_type.as_deref().and_then(type_max);
        let limit = column_max.map_or(s.sequence_max, |c| c.min(s.sequence_max));
        if limit <= 0 {
            continue;
        }
        let used = last.max(0) as f64 / limit as f64;
        let mismatch = column_max.is_some_and(|c| c != s.sequence_max && s.sequence_max < c);
        let column_narrower = column_max.is_some_and(|c| c < s.sequence_max);
        let severity = if used >= 0.9 {
            Severity::Critical
        } else if used >= 0.75 {
            Severity::Warning
        } else if used >= 0.5 || (mismatch && used >= 0.1) {
            Severity::Info
        } else {
            continue;
        };
        let column = match (&s.table_quoted, &s.column_quoted) {
            (Some(t), Some(c)) => Some(format!("{t}.{c}")),
            _ => None,
        };
        let mut ddl = Vec::new();
        let mut lock = "none worth noting (ALTER SEQUENCE is instant)".to_owned();
        if s.sequence_max < i64::MAX && s.sequence_type != "bigint" {
            ddl.push(format!("ALTER SEQUENCE {} AS bigint;", s.sequence_quoted));
        }
        if let (true, Some(t), Some(c)) = (column_narrower, &s.table_quoted, &s.column_quoted) {
            ddl.push(format!("ALTER TABLE {t} ALTER COLUMN {c} TYPE bigint;"));
            lock = "ACCESS EXCLUSIVE on the table while it is rewritten (reads and writes wait); widen the foreign key columns that reference it too".into();
        }
        let kind = Kind::SequenceExhaustion;
        let mut f = Finding {
            id: finding_id(kind, &[&s.schema_name, &s.sequence_name]),
            kind,
            severity,
            schema: Some(s.schema_name.clone()),
            table: s.table_name.clone(),
            index: None,
            summary: format!(
                "{} has used {:.1} % of its range ({} of {}{}).",
                column.as_deref().unwrap_or(&s.sequence_quoted),
                used * 100.0,
                last,
                limit,
                if column_narrower {
                    format!(
                        ": the column ({}) ends before the sequence ({})",
                        s.column_type.as_deref().unwrap_or("?"),
                        s.sequence_type
                    )
                } else if mismatch {
                    format!(
                        ": the sequence ({}) ends before its column ({})",
                        s.sequence_type,
                        s.column_type.as_deref().unwrap_or("?")
                    )
                } else {
                    String::new()
                }
            ),
            evidence: vec![
                ev(
                    "sequence",
                    format!("{} ({})", s.sequence_quoted, s.sequence_type),
                ),
                ev(
                    "column",
                    match (&column, &s.column_type) {
                        (Some(c), Some(t)) => format!("{c} ({t})"),
                        _ => "none found".into(),
                    },
                ),
                ev("last value", last.to_string()),
                ev("limit", limit.to_string()),
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
        if !ddl.is_empty() {
            f.fix(ddl, None, lock, Some((s.sequence_oid, &s.sequence_quoted)));
            if column_narrower {
                f.confirm = s.table_quoted.clone();
            }
        }
        out.push(f);
    }
    (out, unreadable)
}
