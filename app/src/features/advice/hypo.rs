//! Validating missing-index candidates with hypopg on the action login (`missing.rs` builds
//! them and the findings): a read-only session whose prepared statements are planned
//! generically; per statement today's plan cost and each candidate's as a hypothetical index,
//! kept when it halves the cost against the best single index; the set chosen greedily by
//! calls × cost saved and costed together. EXPLAIN never executes a statement.

use std::collections::{HashMap, HashSet};

use sqlx::{Executor, PgConnection, Row};

use super::db::{self, IndexRow};
use super::model::Skipped;
use crate::features::targets::conn::{LoginKind, statement_error};

/// Suggestions per analysis.
const MAX_SUGGESTIONS: usize = 10;
/// A statement whose plan costs less than this is cheap already.
pub const MIN_COST: f64 = 50.0;
/// What a candidate must cut: its cost at most this share of the reference.
const CUT: f64 = 0.5;

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

/// Validation could not run at all (the login may not EXPLAIN, hypopg refused).
pub struct Refused(pub String);

/// A statement to validate: its text and parameters, its calls in the window, its candidates.
pub struct Tried<'a> {
    pub queryid: i64,
    pub query: &'a str,
    pub params: i32,
    pub calls: i64,
    pub candidates: &'a [Candidate],
}

/// A chosen index: the statements PostgreSQL wrote for it, its estimated size, and the
/// statements it serves.
pub struct Chosen {
    pub candidate: Candidate,
    pub statement: db::CandidateRow,
    pub bytes: i64,
    pub served: Vec<Served>,
}

/// A statement a chosen index serves (`index` into the statements validated): its plan cost
/// today and with the whole chosen set.
pub struct Served {
    pub index: usize,
    pub before: f64,
    pub after: Option<f64>,
}

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

/// What validation gave: the chosen indexes, the statements left out, and the statements the
/// action login may not EXPLAIN (in words, with the grant), when some are.
pub struct Validated {
    pub chosen: Vec<Chosen>,
    pub skipped: Vec<Skipped>,
    pub denied: Option<String>,
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

/// Validates each statement's candidates on `conn` (the action login in the database), then
/// chooses the set and costs it together.
pub async fn validate(
    conn: &mut PgConnection,
    hypopg: &str,
    login: &str,
    planned: &[Tried<'_>],
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
            queryid: p.queryid.to_string(),
            reason,
        };
        db::hypothetical_reset(conn, hypopg)
            .await
            .map_err(|e| refused(&e, "Resetting hypothetical indexes"))?;
        let before = match plan_cost(conn, version, p.query, p.params).await {
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
                tracing::info!(queryid = p.queryid, error = %e, "statement not planned");
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
        for c in p.candidates {
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
            match plan_cost(conn, version, p.query, p.params).await {
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
                g.0 += planned[i].calls.max(1) as f64 * (before - t.cost);
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
        if let Ok(plan) = plan_cost(conn, version, p.query, p.params).await {
            after.insert(i, plan.cost);
        }
    }
    let _ = db::hypothetical_reset(conn, hypopg).await;
    let chosen = chosen
        .into_iter()
        .filter_map(|(candidate, bytes, stmts)| {
            let statement = texts.remove(&candidate)?;
            let served = stmts
                .into_iter()
                .filter_map(|i| {
                    Some(Served {
                        index: i,
                        before: baseline[i]?,
                        after: after.get(&i).copied(),
                    })
                })
                .collect();
            Some(Chosen {
                candidate,
                statement,
                bytes,
                served,
            })
        })
        .collect();
    Ok(Validated {
        chosen,
        skipped,
        denied: (!denied.is_empty()).then(|| denied_message(login, &denied, planned.len())),
    })
}

/// A database error's message alone (its detail goes to the server log).
fn short(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        _ => "the target did not answer".into(),
    }
}
