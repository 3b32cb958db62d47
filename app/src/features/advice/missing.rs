//! Missing indexes, from the statements that cost the database most over pgpanel's stored
//! pg_stat_statements window: each is read with PostgreSQL's parser (`statements.rs`), its
//! tables placed against the catalog (`relations.sql`), and per table the candidates built —
//! equality and join columns first, then one range column or the ORDER BY of a LIMIT query, at
//! most 3 columns, plus each column alone; those an existing valid btree already covers are
//! dropped. On the action login (which may EXPLAIN what the application runs) each candidate is
//! tried as a hypopg hypothetical index against the statement's generic plan (`EXPLAIN
//! (GENERIC_PLAN)` from 16, a re-prepared statement under `plan_cache_mode =
//! force_generic_plan` before; EXPLAIN never executes it, and the session is read-only). A
//! candidate stays only if it cuts the cost by half: a single column against today's plan, a
//! longer index against the best single index of its table (real or hypothetical, in a plan
//! that uses it alone) — the trap Dexter falls into is comparing with a BitmapAnd of two
//! indexes nobody would build together. The set is chosen greedily by calls × cost saved, then
//! costed together. Each suggestion says what it costs writes (the table's inserts and non-HOT updates per hour) and when it would stop HOT
//! updates (an UPDATE in the workload sets one of its columns). The validation itself is
//! `hypo.rs`. Without hypopg or the action login, the structural suggestions are listed as not
//! validated, with what to run.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::db::{self, IndexRow, RelationRow};
use super::findings::ev;
use super::hypo::{self, Candidate, Tried};
use super::model::{Finding, Kind, QueryUse, Severity, Skipped, Workload, finding_id};
use super::statements::{self, Parsed, Relation, TableUse};
use crate::components::format::bytes as fmt_bytes;
use crate::features::targets::conn::{LoginKind, open, statement_error};
use crate::features::targets::monitor::Target;
use crate::store::{Store, StoreError};

/// The window of stored pg_stat_statements deltas read: the Queries page's longest, so that a
/// statement's link there shows the same figures.
pub const WINDOW_MS: i64 = 24 * 3_600_000;
/// Statements read from the store (the most expensive in the window), and how many of them
/// (those that parse and read tables) are looked at for indexes.
const READ_STATEMENTS: usize = 200;
pub const MAX_STATEMENTS: usize = 15;
/// Candidates tried per statement.
const MAX_CANDIDATES: usize = 8;

/// A statement of the window: pg_stat_statements' text (`$n` for constants) and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub queryid: i64,
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
}

/// The statements of `database` over the window, most execution time first (pgpanel's own
/// sessions left out); and how many the window held.
pub async fn workload(
    store: &Store,
    target: &Target,
    database: &str,
    now_ms: i64,
) -> Result<Vec<Statement>, StoreError> {
    let from = crate::features::live::hub::minute_of(now_ms - WINDOW_MS);
    let mut totals: Vec<_> = store
        .statement_totals(&target.spec.id, from)
        .await?
        .into_iter()
        .filter(|(_, d)| d.calls > 0)
        .collect();
    totals.sort_by(|a, b| b.1.exec_ms.total_cmp(&a.1.exec_ms).then(a.0.cmp(&b.0)));
    totals.truncate(READ_STATEMENTS * 4);
    let keys: Vec<_> = totals.iter().map(|(k, _)| *k).collect();
    let texts = store.statement_texts(&target.spec.id, &keys).await?;
    let own = target.own_logins();
    let mut out: Vec<Statement> = Vec::new();
    for (k, d) in &totals {
        let Some(t) = texts.get(k) else { continue };
        if t.database_name != database || own.contains(&t.user_name) {
            continue;
        }
        // One entry per role and nesting level: the same text is one statement here.
        if let Some(s) = out.iter_mut().find(|s| s.queryid == k.queryid) {
            s.calls += d.calls;
            s.total_ms += d.exec_ms;
            continue;
        }
        out.push(Statement {
            queryid: k.queryid,
            query: t.query.clone(),
            calls: d.calls,
            total_ms: d.exec_ms,
        });
        if out.len() >= READ_STATEMENTS {
            break;
        }
    }
    out.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    Ok(out)
}

/// The candidates for one statement's tables (pure): single columns first, then the longer
/// ones; those an existing index covers are left out, and partitioned tables (hypopg and
/// CONCURRENTLY cannot build on them).
pub fn candidates(
    uses: &[TableUse],
    relations: &HashMap<Relation, RelationRow>,
    indexes: &[IndexRow],
) -> Vec<Candidate> {
    let mut singles = Vec::new();
    let mut longer = Vec::new();
    for u in uses {
        let Some(rel) = relations.get(&u.relation) else {
            continue;
        };
        if rel.relkind == "p" {
            continue;
        }
        let nums = |cols: &[String]| -> Vec<i16> {
            let mut out: Vec<i16> = Vec::new();
            for n in cols.iter().filter_map(|c| rel.attnum(c)) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            out
        };
        let eq = nums(&[u.equality.clone(), u.join.clone()].concat());
        let range: Vec<i16> = nums(&u.range)
            .into_iter()
            .filter(|c| !eq.contains(c))
            .collect();
        let order: Vec<i16> = nums(&u.order)
            .into_iter()
            .filter(|c| !eq.contains(c))
            .collect();
        let table = rel.table_oid;
        for &c in &eq {
            singles.push(Candidate {
                table,
                keys: vec![c],
                eq: 1,
            });
        }
        for &c in range.iter().chain(order.first()) {
            singles.push(Candidate {
                table,
                keys: vec![c],
                eq: 0,
            });
        }
        let e = eq.len().min(3);
        if e >= 2 {
            longer.push(Candidate {
                table,
                keys: eq[..e].to_vec(),
                eq: e,
            });
        }
        if e >= 1
            && let Some(&r) = range.first()
        {
            let e = e.min(2);
            longer.push(Candidate {
                table,
                keys: [&eq[..e], &[r]].concat(),
                eq: e,
            });
        } else if e >= 1 && !order.is_empty() {
            let keys: Vec<i16> = eq[..e].iter().chain(&order).take(3).copied().collect();
            if keys.len() > e {
                longer.push(Candidate { table, keys, eq: e });
            }
        }
    }
    let mut out: Vec<Candidate> = Vec::new();
    for c in singles.into_iter().take(MAX_CANDIDATES / 2).chain(longer) {
        let dup = out.iter().any(|o| o.table == c.table && o.keys == c.keys);
        if !dup && !indexes.iter().any(|ix| c.covered_by(ix)) {
            out.push(c);
        }
    }
    out.truncate(MAX_CANDIDATES);
    out
}

/// A statement of the window, read and placed.
struct Planned {
    stmt: Statement,
    parsed: Parsed,
    candidates: Vec<Candidate>,
}

/// What the section found: its findings, what it looked at, and why a part could not run.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub workload: Workload,
    pub errors: Vec<String>,
}

/// The missing-index section of one analysis. `monitor` is the analysis' session in the
/// database; the validation opens the action login's own, when the target has one.
pub async fn advise(
    monitor: &mut PgConnection,
    target: &Target,
    database: &str,
    statements_in: &[Statement],
    indexes: &[IndexRow],
    hypopg: Option<&str>,
) -> Outcome {
    let mut out = Outcome {
        workload: Workload {
            window_ms: WINDOW_MS,
            statements: statements_in.len() as i64,
            ..Workload::default()
        },
        ..Outcome::default()
    };
    // Read every statement: the expensive ones for candidates, every UPDATE for the columns
    // whose index would stop HOT updates.
    let mut read: Vec<(Statement, Parsed)> = Vec::new();
    for s in statements_in {
        match statements::parse(&s.query) {
            Ok(p) => read.push((s.clone(), p)),
            Err(skip) => {
                if out.workload.skipped.len() < MAX_STATEMENTS {
                    out.workload.skipped.push(Skipped {
                        queryid: s.queryid.to_string(),
                        reason: skip.to_string(),
                    });
                }
            }
        }
    }
    let mut names: Vec<(String, String)> = Vec::new();
    for (_, p) in &read {
        for scope in &p.scopes {
            for (r, _) in &scope.tables {
                let n = (r.schema.clone().unwrap_or_default(), r.name.clone());
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    let rows = match db::relations(monitor, &names).await {
        Ok(rows) => rows,
        Err(e) => {
            out.errors.push(
                statement_error(LoginKind::Monitor, "Reading the statements' tables", &e)
                    .to_string(),
            );
            return out;
        }
    };
    let relations: HashMap<Relation, RelationRow> = rows
        .into_iter()
        .filter_map(|r| {
            let (schema, name) = names.get(usize::try_from(r.ord).ok()?.checked_sub(1)?)?;
            let key = Relation {
                schema: (!schema.is_empty()).then(|| schema.clone()),
                name: name.clone(),
            };
            Some((key, r))
        })
        .collect();
    let columns: HashMap<Relation, Vec<String>> = relations
        .iter()
        .map(|(k, r)| (k.clone(), r.column_names.clone()))
        .collect();
    let mut updated: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    let mut planned: Vec<Planned> = Vec::new();
    for (stmt, parsed) in read {
        let uses = statements::resolve(&parsed, &columns);
        for u in &uses {
            if let Some(rel) = relations.get(&u.relation) {
                for c in &u.updated {
                    updated
                        .entry(rel.table_oid)
                        .or_default()
                        .push((c.clone(), stmt.calls));
                }
            }
        }
        if planned.len() >= MAX_STATEMENTS {
            continue;
        }
        let candidates = candidates(&uses, &relations, indexes);
        if candidates.is_empty() {
            let partitioned = uses
                .iter()
                .any(|u| relations.get(&u.relation).is_some_and(|r| r.relkind == "p"));
            let reason = if partitioned {
                "reads a partitioned table (no index is suggested on a partitioned parent)"
            } else if uses
                .iter()
                .any(|u| !u.equality.is_empty() || !u.join.is_empty() || !u.range.is_empty())
            {
                "an existing index serves every column it filters or joins on"
            } else {
                "no predicate an index could serve"
            };
            if out.workload.skipped.len() < MAX_STATEMENTS {
                out.workload.skipped.push(Skipped {
                    queryid: stmt.queryid.to_string(),
                    reason: reason.into(),
                });
            }
            continue;
        }
        planned.push(Planned {
            stmt,
            parsed,
            candidates,
        });
    }
    out.workload.considered = planned.len() as i64;
    if planned.is_empty() {
        return out;
    }
    let by_oid: HashMap<i64, &RelationRow> = relations.values().map(|r| (r.table_oid, r)).collect();
    let unverified = |why: String| -> Vec<Finding> { structural(&planned, &by_oid, &why) };
    let Some(hypopg) = hypopg else {
        out.errors.push(format!(
            "hypopg is not installed in database {database}, so suggested indexes are not validated: a superuser runs CREATE EXTENSION hypopg; in it (pgpanel setup-sql --target {} prints it).",
            target.spec.id
        ));
        out.findings = unverified("hypopg is not installed in this database".into());
        return out;
    };
    if target.spec.action.is_none() {
        out.errors.push(format!(
            "Target {} has no action login, so suggested indexes are not validated: validating needs a login that may EXPLAIN the application's statements (SELECT on their tables); set action_url.",
            target.spec.id
        ));
        out.findings = unverified("no action login to EXPLAIN the statements with".into());
        return out;
    }
    let mut conn = match open(target, LoginKind::Action, Some(database)).await {
        Ok(c) => c,
        Err(e) => {
            out.errors
                .push(format!("Suggested indexes are not validated: {e}"));
            out.findings = unverified(e.to_string());
            return out;
        }
    };
    let login = target
        .spec
        .action
        .as_ref()
        .map_or_else(String::new, |l| l.0.get_username().to_owned());
    let tried: Vec<Tried> = planned
        .iter()
        .map(|p| Tried {
            queryid: p.stmt.queryid,
            query: &p.stmt.query,
            params: p.parsed.params,
            calls: p.stmt.calls,
            candidates: &p.candidates,
        })
        .collect();
    let validated = hypo::validate(&mut conn, hypopg, &login, &tried).await;
    let _ = sqlx::Connection::close(conn).await;
    match validated {
        Ok(v) => {
            out.workload.validated = true;
            out.workload.skipped.extend(v.skipped);
            out.errors.extend(v.denied);
            out.findings = v
                .chosen
                .iter()
                .filter_map(|c| {
                    let rel = by_oid.get(&c.candidate.table)?;
                    let mut queries: Vec<QueryUse> = c
                        .served
                        .iter()
                        .map(|s| {
                            let st = &planned[s.index].stmt;
                            QueryUse {
                                queryid: st.queryid.to_string(),
                                query: st.query.clone(),
                                calls: st.calls,
                                total_ms: st.total_ms,
                                cost_before: Some(s.before),
                                cost_after: s.after,
                            }
                        })
                        .collect();
                    queries.sort_by(|a, b| saved(b).total_cmp(&saved(a)));
                    let updated = updated.get(&c.candidate.table);
                    Some(suggestion(
                        rel,
                        &c.statement,
                        Some(c.bytes),
                        queries,
                        updated.map(Vec::as_slice).unwrap_or_default(),
                        None,
                    ))
                })
                .collect();
        }
        Err(hypo::Refused(message)) => {
            out.errors
                .push(format!("Suggested indexes are not validated: {message}"));
            out.findings = unverified(message);
        }
    }
    out
}

/// Calls × cost saved, for ordering a suggestion's statements.
fn saved(q: &QueryUse) -> f64 {
    match (q.cost_before, q.cost_after) {
        (Some(b), Some(a)) => q.calls as f64 * (b - a),
        _ => 0.0,
    }
}

/// Not validated: each statement's longest candidate, named from the catalog read; no DDL is
/// offered (nothing shows the planner would use it).
fn structural(
    planned: &[Planned],
    relations: &HashMap<i64, &RelationRow>,
    why: &str,
) -> Vec<Finding> {
    let mut seen: Vec<Candidate> = Vec::new();
    let mut out = Vec::new();
    for p in planned {
        let Some(c) = p.candidates.iter().max_by_key(|c| c.keys.len()) else {
            continue;
        };
        if seen.contains(c) {
            continue;
        }
        seen.push(c.clone());
        let Some(rel) = relations.get(&c.table) else {
            continue;
        };
        let names: Vec<String> = c
            .keys
            .iter()
            .filter_map(|k| {
                let i = rel.column_numbers.iter().position(|n| n == k)?;
                rel.column_names.get(i).cloned()
            })
            .collect();
        out.push(suggestion(
            rel,
            &db::CandidateRow {
                hypothetical: String::new(),
                ddl: String::new(),
                column_names: names,
                columns_quoted: Vec::new(),
            },
            None,
            vec![QueryUse {
                queryid: p.stmt.queryid.to_string(),
                query: p.stmt.query.clone(),
                calls: p.stmt.calls,
                total_ms: p.stmt.total_ms,
                cost_before: None,
                cost_after: None,
            }],
            &[],
            Some(why),
        ));
    }
    out
}

/// One suggestion as a finding. `unverified`: why it could not be validated (no DDL is
/// offered to apply then: nothing shows the index would be used).
fn suggestion(
    rel: &RelationRow,
    text: &db::CandidateRow,
    bytes: Option<i64>,
    queries: Vec<QueryUse>,
    updated: &[(String, i64)],
    unverified: Option<&str>,
) -> Finding {
    let kind = Kind::MissingIndex;
    let cols = text.column_names.join(", ");
    let id_parts: Vec<&str> = [rel.schema_name.as_str(), rel.table_name.as_str()]
        .into_iter()
        .chain(text.column_names.iter().map(String::as_str))
        .collect();
    let first = queries.first().cloned();
    let calls: i64 = queries.iter().map(|q| q.calls).sum();
    let mut evidence = vec![
        ev("table", rel.table_quoted.clone()),
        ev("columns", cols.clone()),
        ev(
            "statements served",
            format!("{} ({} calls in the window)", queries.len(), calls),
        ),
    ];
    if let Some(q) = &first
        && let (Some(b), Some(a)) = (q.cost_before, q.cost_after)
    {
        evidence.push(ev(
            "plan cost of the top statement (generic plan, hypopg)",
            format!(
                "{b:.0} → {a:.0} ({:.0} % less)",
                (1.0 - a / b.max(1e-9)) * 100.0
            ),
        ));
    }
    if let Some(b) = bytes {
        evidence.push(ev("estimated size (hypopg)", fmt_bytes(b)));
    }
    let writes = rel.inserted + (rel.updated - rel.hot_updated).max(0);
    let hours = rel.stats_seconds / 3600.0;
    evidence.push(ev(
        "write overhead",
        if hours > 0.0 {
            format!(
                "≈ {:.0} index entries per hour ({writes} inserts and non-HOT updates of the table in the {} since its statistics began)",
                writes as f64 / hours,
                crate::components::format::duration(time::Duration::seconds_f64(
                    rel.stats_seconds
                ))
            )
        } else {
            format!("{writes} index entries (inserts and non-HOT updates since statistics began)")
        },
    ));
    evidence.push(ev("table rows (statistics)", rel.live_rows.to_string()));
    let breaks_hot: Vec<String> = text
        .column_names
        .iter()
        .filter_map(|c| {
            let n: i64 = updated.iter().filter(|(u, _)| u == c).map(|(_, n)| n).sum();
            (n > 0).then(|| format!("{c} (set by UPDATE statements called {n} times)"))
        })
        .collect();
    let mut notes = Vec::new();
    if !breaks_hot.is_empty() && rel.hot_updated > 0 {
        notes.push(format!(
            "Stops HOT updates: {} of the table's {} updates were HOT (no index touched); an index on {} makes such updates write every index of the table.",
            rel.hot_updated,
            rel.updated,
            breaks_hot.join(", ")
        ));
    }
    if let Some(why) = unverified {
        notes.push(format!(
            "Not validated ({why}): a structural suggestion from the statement's predicates; nothing shows the planner would use it."
        ));
    }
    let summary = match unverified {
        None => format!(
            "An index on {} ({cols}) would cut the plan cost of {} statement{} ({} calls).",
            rel.table_quoted,
            queries.len(),
            if queries.len() == 1 { "" } else { "s" },
            calls
        ),
        Some(_) => format!(
            "Not validated: an index on {} ({cols}) may serve {} statement{}.",
            rel.table_quoted,
            queries.len(),
            if queries.len() == 1 { "" } else { "s" },
        ),
    };
    let mut f = Finding {
        schema: Some(rel.schema_name.clone()),
        table: Some(rel.table_name.clone()),
        evidence,
        note: (!notes.is_empty()).then(|| notes.join(" ")),
        cost_before: first.as_ref().and_then(|q| q.cost_before),
        cost_after: first.as_ref().and_then(|q| q.cost_after),
        queries,
        ..Finding::new(
            finding_id(kind, &id_parts),
            kind,
            if unverified.is_some() {
                Severity::Info
            } else {
                Severity::Warning
            },
            summary,
        )
    };
    if unverified.is_none() {
        f.columns = text.columns_quoted.clone();
        f.fix(
            vec![text.ddl.clone()],
            None,
            "SHARE UPDATE EXCLUSIVE on the table while it builds: reads and writes go on; the build reads the whole table (a failed build leaves an invalid index to drop)",
            Some((rel.table_oid, &rel.table_quoted)),
        );
    }
    f
}

/// The recheck before applying (nothing validated again): a stored suggestion still holds while
/// its table exists and no valid btree there starts with its columns.
pub fn still_missing(previous: &[Finding], indexes: &[IndexRow], tables: &[i64]) -> Vec<Finding> {
    previous
        .iter()
        .filter(|f| f.kind == Kind::MissingIndex)
        .filter(|f| f.oid.is_some_and(|oid| tables.contains(&oid)))
        .filter(|f| {
            !indexes.iter().any(|ix| {
                Some(ix.table_oid) == f.oid
                    && ix.is_valid
                    && ix.method == "btree"
                    && ix.predicate.is_empty()
                    && ix.key_exprs.len() >= f.columns.len()
                    && ix.key_exprs[..f.columns.len()]
                        .iter()
                        .zip(&f.columns)
                        .all(|(a, b)| a == b)
            })
        })
        .cloned()
        .collect()
}
