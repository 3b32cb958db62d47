//! Advice on the database of 2,000 tables (after the Maintenance phase created it), with a
//! duplicate index on every tenth table and 20 tables of 2 MB with dead tuples to measure: what one analysis costs the target (execution and
//! planning time of its statements, from pg_stat_statements; budget 1 s), how long it takes, and
//! the Advice page's time (budget 300 ms).

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use super::{BenchError, login, ms, setup};
use harness::TempCluster;

const DB: &str = "bench_tables";

/// Fragments found only in the analysis' statements (names, not literals: pg_stat_statements
/// replaces literals with placeholders).
const MARKS: [&str; 15] = [
    "indnkeyatts",
    "conparentid",
    "mxid_freeze_max_age",
    "pg_prepared_xacts",
    "has_sequence_privilege",
    "stats_reset from pg_stat_database",
    "vacuum_scale_factor",
    "pgstattuple_usable",
    "pgstattuple_approx",
    "pgstatindex",
    // The missing-index section: its catalog reads, hypopg, and the EXPLAINs of statements.
    "column_numbers",
    "columns_quoted",
    "hypopg_",
    "GENERIC_PLAN",
    "pgpanel_advice",
];

/// Execution + planning ms and calls of the analysis' statements so far.
async fn cost(su: &mut PgConnection) -> Result<(f64, i64), BenchError> {
    let patterns: Vec<String> = MARKS.iter().map(|m| format!("%{m}%")).collect();
    sqlx::query_as(
        "select coalesce(sum(total_exec_time + total_plan_time), 0)::float8, \
                coalesce(sum(calls), 0)::int8 \
         from pg_stat_statements where query like any($1)",
    )
    .bind(&patterns)
    .fetch_one(su)
    .await
    .map_err(|e| setup("reading the analysis' cost", e))
}

/// A field of the JSON answer (raw HTTP text): the digits after `"name":`.
fn number(body: &str, name: &str) -> Option<i64> {
    body.split(&format!("\"{name}\":"))
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

pub async fn run(addr: &str, cookie: &str, cluster: &TempCluster) -> Result<(), BenchError> {
    let mut db = PgConnection::connect(&cluster.url(DB))
        .await
        .map_err(|e| setup("connecting", e))?;
    db.execute(
        "do $$ begin for i in 1..2000 by 10 loop \
           execute format('create index on t%s (v); create index on t%s (v)', i, i); \
         end loop; end $$",
    )
    .await
    .map_err(|e| setup("creating duplicate indexes", e))?;
    // Bloat: pgstattuple in the database, and 20 tables of 2 MB (half their rows deleted) with
    // an index each, for the measurements within the page budget.
    db.execute(
        "create extension if not exists pgstattuple; \
         do $$ begin for i in 1..20 loop \
           execute format('create table big%s as select g as id, repeat(''x'', 100) as pad \
                           from generate_series(1, 15000) g; \
                           create index on big%s (id); analyze big%s; \
                           delete from big%s where id %% 2 = 0', i, i, i, i); \
         end loop; end $$",
    )
    .await
    .map_err(|e| setup("creating tables with bloat", e))?;
    db.close().await.map_err(|e| setup("connecting", e))?;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;

    let (ms0, calls0) = cost(&mut su).await?;
    let origin = format!("http://{addr}");
    let started = Instant::now();
    let (status, body) = login::request(
        addr,
        "POST",
        "/api/advice/refresh",
        &[("Cookie", cookie), ("Origin", &origin)],
        &format!("target=bench&database={DB}"),
    )
    .await?;
    if status != 200 {
        return Err(setup("starting an analysis", format!("{status}: {body}")));
    }
    let api = format!("/api/advice?target=bench&database={DB}");
    let (wall, duration_ms, findings) = loop {
        let (status, body) = login::request(
            addr,
            "GET",
            &api,
            &[("Cookie", cookie), ("Accept", "application/json")],
            "",
        )
        .await?;
        if status != 200 {
            return Err(setup("reading the analysis", format!("{status}")));
        }
        if body.contains("\"running\":false") && number(&body, "analysed_at").is_some() {
            break (
                started.elapsed(),
                number(&body, "duration_ms").unwrap_or(-1),
                body.matches("\"kind\":").count(),
            );
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(setup("analysing", "no result within 120 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // pg_stat_statements counts a statement when it ends; give the flush a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ms1, calls1) = cost(&mut su).await?;

    let page = format!("/advice?target=bench&database={DB}");
    let mut times = Vec::new();
    let mut html_bytes = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let (status, body) = login::request(
            addr,
            "GET",
            &page,
            &[("Cookie", cookie), ("Accept", "text/html")],
            "",
        )
        .await?;
        times.push(start.elapsed());
        if status != 200 || !body.contains("data-testid=\"finding\"") {
            return Err(setup("rendering the Advice page", format!("{status}")));
        }
        html_bytes = body.len();
    }
    times.sort();
    println!(
        "  advice           2000 tables (+20 of 2 MB measured by pgstattuple_approx and pgstatindex), 400 indexes planted as 200 duplicate pairs: analysis cost the target {:.1} ms ({} statements; budget 1,000 ms), {duration_ms} ms of reads, {:.0} ms until stored; {findings} findings",
        ms1 - ms0,
        calls1 - calls0,
        ms(wall),
    );
    println!(
        "                   Advice page median {:.0} ms, max {:.0} ms, {} KB HTML (budget: 300 ms)",
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1]),
        html_bytes / 1024
    );
    Ok(())
}
