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
//! updates (an UPDATE in the workload sets one of its columns). Without hypopg or the action
//! login, the structural suggestions are listed as not validated, with what to run.

use std::collections::{HashMap, HashSet};

use sqlx::{Executor, PgConnection, Row};

use super::db::{self, IndexRow, RelationRow};
use super::findings::ev;
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
/// Candidates tried per statement, and suggestions per analysis.
const MAX_CANDIDATES: usize = 8;
const MAX_SUGGESTIONS: usize = 10;
/// A statement whose plan costs less than this is cheap already.
pub const MIN_COST: f64 = 50.0;
/// What a candidate must cut: its cost at most this share of the reference.
const CUT: f64 = 0.5;

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

/// A suggested btree index: a table and its key columns (attnums), the first `eq` of them
/// compared by equality (their order does not matter to the statement).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    pub table: i64,
    pub keys: Vec<i16>,
    pub eq: usize,
}

impl Candidate {
    /// An existing index serves it: a valid, non-partial btree whose leading key columns are the
    /// equality columns (in any order) followed by the rest in order.
    pub fn covered_by(&self, ix: &IndexRow) -> bool {
        let keys = ix.keys();
        ix.table_oid == self.table
            && ix.is_valid
            && ix.method == "btree"
            && ix.predicate.is_empty()
            && keys.len() >= self.keys.len()
            && {
                let mut a = keys[..self.eq].to_vec();
                let mut b = self.keys[..self.eq].to_vec();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            }
            && keys[self.eq..self.keys.len()] == self.keys[self.eq..]
    }
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
    let validated = validate(&mut conn, hypopg, &login, &planned, &by_oid, &updated).await;
    let _ = sqlx::Connection::close(conn).await;
    match validated {
        Ok(v) => {
            out.workload.validated = true;
            out.workload.skipped.extend(v.skipped);
            out.errors.extend(v.denied);
            out.findings = v.findings;
        }
        Err(Refused(message)) => {
            out.errors
                .push(format!("Suggested indexes are not validated: {message}"));
            out.findings = unverified(message);
        }
    }
    out
}

/// Validation could not run at all (the login may not EXPLAIN, hypopg refused).
struct Refused(String);

/// A statement's generic plan: its total cost, and whether it combines indexes (a BitmapAnd:
/// the cost of two indexes together, not of one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    pub cost: f64,
    pub combines: bool,
}

/// The planner's total cost of a statement's generic plan (nothing is executed).
pub async fn plan_cost(
    conn: &mut PgConnection,
    version: i32,
    sql: &str,
    params: i32,
) -> sqlx::Result<Plan> {
    let row = if version >= 160_000 {
        conn.fetch_one(sqlx::raw_sql(&format!(
            "EXPLAIN (GENERIC_PLAN, FORMAT JSON) {sql}"
        )))
        .await?
    } else {
        conn.execute(sqlx::raw_sql(&format!("PREPARE pgpanel_advice AS {sql}")))
            .await?;
        let args = if params > 0 {
            format!("({})", vec!["NULL"; params as usize].join(", "))
        } else {
            String::new()
        };
        let row = conn
            .fetch_one(sqlx::raw_sql(&format!(
                "EXPLAIN (FORMAT JSON) EXECUTE pgpanel_advice{args}"
            )))
            .await;
        conn.execute(sqlx::raw_sql("DEALLOCATE pgpanel_advice"))
            .await?;
        row?
    };
    let text: String = row.try_get_unchecked(0)?;
    let plan: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let cost = plan[0]["Plan"]["Total Cost"]
        .as_f64()
        .ok_or_else(|| sqlx::Error::Protocol("EXPLAIN gave no total cost".into()))?;
    Ok(Plan {
        cost,
        combines: text.contains("\"BitmapAnd\""),
    })
}

/// Session settings for validating: nothing this session runs may write, and prepared
/// statements are planned generically (the `$n` of pg_stat_statements have no values).
const VALIDATE_SESSION: &str =
    "SET default_transaction_read_only = on; SET plan_cache_mode = force_generic_plan";

/// What validation gave: the suggestions, the statements left out, and the statements the
/// action login may not EXPLAIN (in words, with the grant), when some are.
struct Validated {
    findings: Vec<Finding>,
    skipped: Vec<Skipped>,
    denied: Option<String>,
}

/// The action login may not EXPLAIN `denied` of `of` statements: what to grant.
fn denied_message(login: &str, denied: &[String], of: usize) -> String {
    format!(
        "{} ({login}) may not EXPLAIN {} of the {of} statements ({}): grant it SELECT on their tables (and INSERT, UPDATE or DELETE for statements that change rows), e.g. GRANT SELECT ON ALL TABLES IN SCHEMA … TO {login}; or GRANT pg_read_all_data TO {login}; (PostgreSQL 14+).",
        LoginKind::Action.subject(),
        denied.len(),
        denied.first().map_or("", String::as_str)
    )
}

/// One candidate tried on one statement.
struct Trial {
    candidate: Candidate,
    cost: f64,
    /// The plan combines this index with another (a BitmapAnd).
    combines: bool,
    bytes: i64,
}

async fn validate(
    conn: &mut PgConnection,
    hypopg: &str,
    login: &str,
    planned: &[Planned],
    relations: &HashMap<i64, &RelationRow>,
    updated: &HashMap<i64, Vec<(String, i64)>>,
) -> Result<Validated, Refused> {
    let refused = |e: &sqlx::Error, what: &str| {
        Refused(statement_error(LoginKind::Action, what, e).to_string())
    };
    conn.execute(sqlx::raw_sql(VALIDATE_SESSION))
        .await
        .map_err(|e| refused(&e, "Preparing the validation session"))?;
    let version = crate::features::targets::db::server_info(&mut *conn)
        .await
        .map_err(|e| refused(&e, "Reading the server version"))?
        .version_num;
    let mut skipped = Vec::new();
    let mut denied: Vec<String> = Vec::new();
    // Per statement: today's cost and each kept candidate's.
    let mut baseline: Vec<Option<f64>> = Vec::new();
    let mut kept: Vec<Vec<Trial>> = Vec::new();
    let mut texts: HashMap<Candidate, db::CandidateRow> = HashMap::new();
    for p in planned {
        let skip = |reason: String| Skipped {
            queryid: p.stmt.queryid.to_string(),
            reason,
        };
        db::hypothetical_reset(conn, hypopg)
            .await
            .map_err(|e| refused(&e, "Resetting hypothetical indexes"))?;
        let before = match plan_cost(conn, version, &p.stmt.query, p.parsed.params).await {
            Ok(plan) => plan.cost,
            Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42501") => {
                denied.push(d.message().to_owned());
                skipped.push(skip(format!(
                    "{} may not EXPLAIN it ({})",
                    LoginKind::Action.label(),
                    d.message()
                )));
                baseline.push(None);
                kept.push(Vec::new());
                continue;
            }
            Err(e) => {
                tracing::info!(queryid = p.stmt.queryid, error = %e, "statement not planned");
                skipped.push(skip(format!("the planner refused it ({})", short(&e))));
                baseline.push(None);
                kept.push(Vec::new());
                continue;
            }
        };
        if before < MIN_COST {
            skipped.push(skip(format!("cheap already (plan cost {before:.0})")));
            baseline.push(None);
            kept.push(Vec::new());
            continue;
        }
        let mut trials: Vec<Trial> = Vec::new();
        for c in &p.candidates {
            if !texts.contains_key(c) {
                match db::candidate(conn, c.table, &c.keys).await {
                    Ok(Some(row)) => {
                        texts.insert(c.clone(), row);
                    }
                    Ok(None) => continue,
                    Err(e) => return Err(refused(&e, "Writing a candidate index")),
                }
            }
            let create = &texts[c].hypothetical;
            db::hypothetical_reset(conn, hypopg)
                .await
                .map_err(|e| refused(&e, "Resetting hypothetical indexes"))?;
            let (_, bytes) = db::hypothetical(conn, hypopg, create)
                .await
                .map_err(|e| refused(&e, "Creating a hypothetical index"))?;
            match plan_cost(conn, version, &p.stmt.query, p.parsed.params).await {
                Ok(plan) => trials.push(Trial {
                    candidate: c.clone(),
                    cost: plan.cost,
                    combines: plan.combines,
                    bytes,
                }),
                Err(e) => tracing::info!(error = %e, "candidate not planned"),
            }
        }
        // A single column against today's plan; a longer index against its table's best
        // single index (real: today's plan; or hypothetical) — not against a BitmapAnd of a
        // single column with another index, two indexes nobody would build for this.
        let best_single: HashMap<i64, f64> = trials
            .iter()
            .filter(|t| t.candidate.keys.len() == 1 && !t.combines)
            .fold(HashMap::new(), |mut m, t| {
                let e = m.entry(t.candidate.table).or_insert(before);
                *e = e.min(t.cost);
                m
            });
        trials.retain(|t| {
            let reference = if t.candidate.keys.len() == 1 {
                before
            } else {
                best_single
                    .get(&t.candidate.table)
                    .copied()
                    .unwrap_or(before)
            };
            t.cost <= CUT * reference
        });
        if trials.is_empty() {
            skipped.push(skip(format!(
                "no candidate index halves its plan cost ({before:.0})"
            )));
        }
        baseline.push(Some(before));
        kept.push(trials);
    }
    if !denied.is_empty() && denied.len() == planned.len() {
        return Err(Refused(denied_message(login, &denied, planned.len())));
    }
    // Greedy: the candidate that saves most (calls × cost) over the statements not yet served.
    let mut served: HashSet<usize> = HashSet::new();
    let mut chosen: Vec<(Candidate, i64, Vec<usize>)> = Vec::new();
    while chosen.len() < MAX_SUGGESTIONS {
        let mut gains: HashMap<&Candidate, (f64, i64, Vec<usize>)> = HashMap::new();
        for (i, trials) in kept.iter().enumerate() {
            let (Some(before), false) = (baseline[i], served.contains(&i)) else {
                continue;
            };
            for t in trials {
                let g = gains
                    .entry(&t.candidate)
                    .or_insert((0.0, t.bytes, Vec::new()));
                g.0 += planned[i].stmt.calls.max(1) as f64 * (before - t.cost);
                g.2.push(i);
            }
        }
        let Some((c, (gain, bytes, stmts))) = gains.into_iter().max_by(|a, b| {
            a.1.0
                .total_cmp(&b.1.0)
                .then(b.0.keys.len().cmp(&a.0.keys.len()))
        }) else {
            break;
        };
        if gain <= 0.0 {
            break;
        }
        served.extend(stmts.iter().copied());
        chosen.push((c.clone(), bytes, stmts));
    }
    // The chosen set together: each statement's cost with all of them.
    db::hypothetical_reset(conn, hypopg)
        .await
        .map_err(|e| refused(&e, "Resetting hypothetical indexes"))?;
    for (c, ..) in &chosen {
        db::hypothetical(conn, hypopg, &texts[c].hypothetical)
            .await
            .map_err(|e| refused(&e, "Creating a hypothetical index"))?;
    }
    let mut after: HashMap<usize, f64> = HashMap::new();
    for &i in &served {
        let p = &planned[i];
        if let Ok(plan) = plan_cost(conn, version, &p.stmt.query, p.parsed.params).await {
            after.insert(i, plan.cost);
        }
    }
    let _ = db::hypothetical_reset(conn, hypopg).await;
    let findings = chosen
        .iter()
        .filter_map(|(c, bytes, stmts)| {
            let rel = relations.get(&c.table)?;
            let text = texts.get(c)?;
            let mut queries: Vec<QueryUse> = stmts
                .iter()
                .map(|&i| QueryUse {
                    queryid: planned[i].stmt.queryid.to_string(),
                    query: planned[i].stmt.query.clone(),
                    calls: planned[i].stmt.calls,
                    total_ms: planned[i].stmt.total_ms,
                    cost_before: baseline[i],
                    cost_after: after.get(&i).copied(),
                })
                .collect();
            queries.sort_by(|a, b| saved(b).total_cmp(&saved(a)));
            Some(suggestion(
                rel,
                text,
                Some(*bytes),
                queries,
                updated.get(&c.table).map(Vec::as_slice).unwrap_or_default(),
                None,
            ))
        })
        .collect();
    Ok(Validated {
        findings,
        skipped,
        denied: (!denied.is_empty()).then(|| denied_message(login, &denied, planned.len())),
    })
}

/// Calls × cost saved, for ordering a suggestion's statements.
fn saved(q: &QueryUse) -> f64 {
    match (q.cost_before, q.cost_after) {
        (Some(b), Some(a)) => q.calls as f64 * (b - a),
        _ => 0.0,
    }
}

/// A database error's message alone (its detail goes to the server log).
fn short(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        _ => "the target did not answer".into(),
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
