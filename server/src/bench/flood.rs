//! A flood of refused requests (the security probe's F1): 500 POSTs a second for 10 s, each
//! with a 16 KB path and no Origin, from no signed-in user. Measured: how much the store grows
//! (budget 100 KB), `/healthz` and a signed-in page's latency during the flood (budget 50 ms
//! p95), and pgpanel's memory growth (budget 10 MiB). Then the audit trail with 100,000 refused
//! rows in it: the audit API's and page's latency (paging keeps them flat).

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::{Connection, SqliteConnection};

use super::login::request;
use super::{BenchError, mib, ms, rss_kib, setup};

const RATE: u64 = 500;
const SECONDS: u64 = 10;

/// The SQLite store's bytes on disk (database and write-ahead log).
fn store_size(db: &Path) -> u64 {
    let wal = db.with_extension("db-wal");
    [db.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn p95(mut samples: Vec<Duration>) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    samples[((samples.len() - 1) as f64 * 0.95).round() as usize]
}

async fn timed(addr: &str, path: &str, cookie: Option<&str>) -> Result<Duration, BenchError> {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    let started = Instant::now();
    let (status, _) = request(addr, "GET", path, &headers, "").await?;
    if status != 200 {
        return Err(setup(
            "timing a page during the flood",
            format!("{path}: {status}"),
        ));
    }
    Ok(started.elapsed())
}

pub async fn run(addr: &str, cookie: &str, pid: u32, store: &Path) -> Result<(), BenchError> {
    let size_before = store_size(store);
    let rss_before = rss_kib(pid)?;
    let path = format!("/{}", "A".repeat(16_000));
    let flood = {
        let addr = addr.to_owned();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
            let mut tasks = Vec::new();
            let mut refused = 0_u64;
            for i in 0..RATE * SECONDS {
                tick.tick().await;
                let addr = addr.clone();
                let path = format!("{path}{i}");
                tasks.push(tokio::spawn(async move {
                    request(&addr, "POST", &path, &[], "").await.map(|r| r.0)
                }));
            }
            for t in tasks {
                if let Ok(Ok(403)) = t.await {
                    refused += 1;
                }
            }
            refused
        })
    };
    let mut health = Vec::new();
    let mut page = Vec::new();
    let until = Instant::now() + Duration::from_secs(SECONDS);
    while Instant::now() < until {
        health.push(timed(addr, "/healthz", None).await?);
        page.push(timed(addr, "/audit", Some(cookie)).await?);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = flood.await.map_err(|e| setup("flooding", e))?;
    // The per-minute summaries are written within 10 s of the minute's end.
    tokio::time::sleep(Duration::from_secs(75)).await;
    let grown = store_size(store).saturating_sub(size_before);
    let rss_grown = rss_kib(pid)?.saturating_sub(rss_before);
    println!(
        "  refused flood    {refused} of {} refused POSTs (16 KB paths, {RATE}/s for {SECONDS} s): store grew {:.1} KB (budget 100 KB), RSS grew {} (budget 10 MiB)",
        RATE * SECONDS,
        grown as f64 / 1024.0,
        mib(rss_grown * 1024),
    );
    println!(
        "                   during it: /healthz p95 {:.2} ms, /audit signed in p95 {:.2} ms (budget 50 ms)",
        ms(p95(health)),
        ms(p95(page)),
    );

    // 100,000 refused rows, as an unbounded trail would have held them.
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", store.display()))
        .await
        .map_err(|e| setup("opening the store", e))?;
    sqlx::query(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000) \
         insert into audit_events (at_ms, client_addr, action, object, outcome, error) \
         select 1700000000000 + i, '10.0.0.' || (i % 250), 'request.forged', \
         'POST /' || substr(hex(randomblob(100)), 1, 200), 'denied', \
         'Refused: it carries no Origin, Sec-Fetch-Site or Referer header.' from n",
    )
    .execute(&mut conn)
    .await
    .map_err(|e| setup("filling the audit trail", e))?;
    let _ = conn.close().await;
    let mut api = Vec::new();
    let mut html = Vec::new();
    for _ in 0..20 {
        api.push(timed(addr, "/api/audit?fold=true", Some(cookie)).await?);
        html.push(timed(addr, "/audit", Some(cookie)).await?);
    }
    println!(
        "  audit, 100k rows /api/audit p95 {:.2} ms, /audit page p95 {:.2} ms (100 per page)",
        ms(p95(api)),
        ms(p95(html)),
    );
    Ok(())
}
