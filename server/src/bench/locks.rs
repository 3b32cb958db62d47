//! The lock graph's budgets, on a target of its own (600 connections allowed):
//! - cost per lock sample with 20,000 locks held (one holder) and a chain of 3 waiters: execution
//!   + planning time of the monitor login's lock statements (pg_stat_statements), per sample;
//! - the same under churn: new waiters on a relation lock (which only pg_locks describes) arrive
//!   about every 250 ms, so the cost budget (not the detail interval) spaces the pg_locks reads;
//! - `GET /api/locks/graph` with 500 sessions waiting on one blocker: response size and time.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use super::{BenchError, login, ms, setup};
use harness::{ClusterOptions, TempCluster};

const HELD: i64 = 20_000;
const WAITERS: usize = 500;

/// Per-statement (ms, calls) of the monitor login's lock statements.
async fn lock_cost(su: &mut PgConnection) -> Result<(f64, i64, f64, i64), BenchError> {
    sqlx::query_as(
        "select \
           coalesce(sum(total_exec_time + total_plan_time) filter (where query like '%pg_blocking_pids%'), 0)::float8, \
           coalesce(sum(calls) filter (where query like '%pg_blocking_pids%'), 0)::int8, \
           coalesce(sum(total_exec_time + total_plan_time) filter (where query like '%from pg_locks%'), 0)::float8, \
           coalesce(sum(calls) filter (where query like '%from pg_locks%'), 0)::int8 \
         from pg_stat_statements where userid = 'bench_monitor'::regrole",
    )
    .fetch_one(su)
    .await
    .map_err(|e| setup("reading the lock cost", e))
}

async fn graph(addr: &str, cookie: &str) -> Result<(Duration, String), BenchError> {
    let start = Instant::now();
    let (status, body) = login::request(
        addr,
        "GET",
        "/api/locks/graph?target=locks",
        &[("Cookie", cookie)],
        "",
    )
    .await?;
    if status != 200 {
        return Err(setup("GET /api/locks/graph", format!("status {status}")));
    }
    Ok((start.elapsed(), body))
}

/// The JSON body of a raw HTTP/1.1 answer (`Connection: close`; chunked or not).
fn json_body(answer: &str) -> String {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if !answer
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let (Some(chunk), Some(next)) = (after.get(..n), after.get(n..)) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(chunk);
        rest = next.trim_start_matches("\r\n");
    }
    out
}

fn waiting_of(answer: &str) -> i64 {
    serde_json::from_str::<serde_json::Value>(&json_body(answer))
        .ok()
        .and_then(|v| v["waiting"].as_i64())
        .unwrap_or(0)
}

async fn until_waiting(addr: &str, cookie: &str, n: i64) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let body = graph(addr, cookie).await?.1;
        if waiting_of(&body) >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            let start: String = body.chars().take(400).collect();
            return Err(setup(
                "waiting for the lock graph",
                format!("{n} waiters not seen; last answer: {start}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts its own target and pgpanel (same store and port as the rest of the bench).
pub async fn run(
    exe: &std::path::Path,
    config: &std::path::Path,
    config_head: &str,
    addr: &str,
    window: Duration,
) -> Result<(), BenchError> {
    let (cluster, mut su) = super::monitored_cluster(
        ClusterOptions::default()
            .setting("max_connections", "600")
            .setting("max_locks_per_transaction", "128"),
        "create table hot (id int); create table chain_t (id int)",
    )
    .await?;
    std::fs::write(
        config,
        format!(
            "{config_head}[[targets]]\nid = \"locks\"\nname = \"Locks\"\nmonitor_url = \"{}\"\n",
            cluster.url_as("bench_monitor", "bench", "postgres")
        ),
    )?;
    let mut child = super::spawn_serve(exe, config)?;
    let result = measure(&cluster, &mut su, addr, window).await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .map_err(|e| setup("stopping PostgreSQL", e))?;
    result
}

async fn measure(
    cluster: &TempCluster,
    su: &mut PgConnection,
    addr: &str,
    window: Duration,
) -> Result<(), BenchError> {
    let cookie = super::wait_until_target_up(addr).await?;
    // A holder of 20,000 locks, and a chain behind it.
    let mut holder = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    holder
        .execute(
            format!(
                "begin; lock table hot in access exclusive mode; lock table chain_t; \
                 select count(pg_advisory_xact_lock(g)) from generate_series(1, {HELD}) g"
            )
            .as_str(),
        )
        .await
        .map_err(|e| setup("taking 20,000 locks", e))?;
    let mut chain = Vec::new();
    for _ in 0..3 {
        let mut c = PgConnection::connect(&cluster.url("postgres"))
            .await
            .map_err(|e| setup("connecting", e))?;
        let _ = tokio::time::timeout(
            Duration::from_millis(50),
            c.execute("select count(*) from chain_t"),
        )
        .await;
        chain.push(c);
    }
    until_waiting(addr, &cookie, 3).await?;
    let locks: i64 = sqlx::query_scalar("select count(*) from pg_locks")
        .fetch_one(&mut *su)
        .await
        .map_err(|e| setup("counting locks", e))?;
    let (b0, n0, l0, m0) = lock_cost(su).await?;
    tokio::time::sleep(window).await;
    let (b1, n1, l1, m1) = lock_cost(su).await?;
    let samples = (n1 - n0).max(1);
    println!(
        "  lock sample      {:.3} ms per sample on the target over {} s with {locks} locks held and 3 waiting \
         (pg_blocking_pids {:.3} ms × {}, pg_locks {:.2} ms × {}); a sample that reads pg_locks (a waiter \
         only pg_locks describes, spaced by the cost budget) cost {:.2} ms (budget: 2 ms per sample)",
        ((b1 - b0) + (l1 - l0)) / samples as f64,
        window.as_secs(),
        (b1 - b0) / samples as f64,
        n1 - n0,
        if m1 > m0 {
            (l1 - l0) / (m1 - m0) as f64
        } else {
            0.0
        },
        m1 - m0,
        if m1 > 0 { l1 / m1 as f64 } else { 0.0 },
    );

    churn(cluster, su, window * 2).await?;

    // 500 sessions waiting on one blocker.
    let (_, _, l1, m1) = lock_cost(su).await?;
    let mut waiters = Vec::with_capacity(WAITERS);
    for _ in 0..WAITERS {
        let mut c = PgConnection::connect(&cluster.url("postgres"))
            .await
            .map_err(|e| setup("opening 500 waiters", e))?;
        let _ = tokio::time::timeout(
            Duration::from_millis(20),
            c.execute("select count(*) from hot"),
        )
        .await;
        waiters.push(c);
    }
    until_waiting(addr, &cookie, (WAITERS + 3) as i64).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..200 {
        let (t, body) = graph(addr, &cookie).await?;
        times.push(ms(t));
        size = size.max(json_body(&body).len());
    }
    times.sort_by(f64::total_cmp);
    let (_, _, l2, m2) = lock_cost(su).await?;
    println!(
        "  lock graph API   {} bytes, p50 {:.2} ms, p95 {:.2} ms over 200 requests with {} sessions waiting (budget: 50 KB, 20 ms); pg_locks {:.2} ms per read",
        size,
        super::live::pct(&times, 0.5),
        super::live::pct(&times, 0.95),
        WAITERS + 3,
        if m2 > m1 {
            (l2 - l1) / (m2 - m1) as f64
        } else {
            0.0
        },
    );
    holder
        .execute("rollback")
        .await
        .map_err(|e| setup("releasing the locks", e))?;
    drop(chain);
    drop(waiters);
    Ok(())
}

/// New relation-lock waiters all the time (4 sessions, each waiting 1 s for `chain_t` and giving
/// up on lock_timeout): every one needs pg_locks to be described.
async fn churn(
    cluster: &TempCluster,
    su: &mut PgConnection,
    window: Duration,
) -> Result<(), BenchError> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut c = PgConnection::connect(&cluster.url("postgres"))
            .await
            .map_err(|e| setup("connecting", e))?;
        c.execute("set lock_timeout = '1s'")
            .await
            .map_err(|e| setup("setting lock_timeout", e))?;
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut waits = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = c.execute("select count(*) from chain_t").await;
                waits += 1;
            }
            waits
        }));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (b0, n0, l0, m0) = lock_cost(su).await?;
    tokio::time::sleep(window).await;
    let (b1, n1, l1, m1) = lock_cost(su).await?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut waits = 0;
    for t in tasks {
        waits += t.await.map_err(|e| setup("churn", e))?;
    }
    let samples = (n1 - n0).max(1);
    println!(
        "  lock churn       {:.3} ms per sample on the target over {} s, {} samples, {waits} new waiters \
         (pg_locks read {} times, {:.2} ms each; budget: 2 ms per sample)",
        ((b1 - b0) + (l1 - l0)) / samples as f64,
        window.as_secs(),
        n1 - n0,
        m1 - m0,
        if m1 > m0 {
            (l1 - l0) / (m1 - m0) as f64
        } else {
            0.0
        },
    );
    Ok(())
}
