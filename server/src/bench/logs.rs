//! The server log (issue 19's budgets): what following the log costs the target is in the live
//! phase's per-statement breakdown (the bench target writes jsonlog through the collector and
//! has the reader installed); here a burst of 10,000 log lines, timed from the end of the burst
//! until the last line is found through `GET /api/logs` (budget 10 s), and `GET /api/logs` with
//! filters over 1,000,000 stored entries in the SQLite store (budget p50 20 ms).

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection, SqliteConnection};

use super::login::request;
use super::{BenchError, ms, setup};
use harness::TempCluster;

/// Settings the bench target needs for its log to be read over SQL.
pub const SETTINGS: &[(&str, &str)] =
    &[("logging_collector", "on"), ("log_destination", "jsonlog")];

/// Installs the reader and grants it to the bench's monitor login (what `setup-sql` prints).
pub async fn prepare(cluster: &TempCluster, monitor: &str) -> Result<(), BenchError> {
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    su.execute(app::features::logs::db::READER_SQL)
        .await
        .map_err(|e| setup("installing the log reader", e))?;
    su.execute(
        format!(
            "grant usage on schema pgpanel to {monitor}; \
             grant execute on function pgpanel.read_log(text, bigint, bigint) to {monitor}"
        )
        .as_str(),
    )
    .await
    .map_err(|e| setup("granting the log reader", e))?;
    let _ = su.close().await;
    Ok(())
}

async fn get(addr: &str, path: &str, cookie: &str) -> Result<(Duration, String), BenchError> {
    let started = Instant::now();
    let (status, body) = request(addr, "GET", path, &[("Cookie", cookie)], "").await?;
    if status != 200 {
        return Err(setup("reading the log", format!("{path}: {status} {body}")));
    }
    Ok((started.elapsed(), body))
}

pub async fn run(
    addr: &str,
    cookie: &str,
    cluster: &TempCluster,
    store: &Path,
) -> Result<(), BenchError> {
    // A burst: 10,000 lines in one statement.
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    su.execute(
        "do $$ begin for i in 1..10000 loop \
         raise log 'bench burst line % of 10000', i; end loop; end $$",
    )
    .await
    .map_err(|e| setup("writing the burst", e))?;
    let written = Instant::now();
    let _ = su.close().await;
    let last = "/api/logs?target=bench&text=bench%20burst%20line%2010000%20of&limit=1";
    let found = loop {
        let (_, body) = get(addr, last, cookie).await?;
        if body.contains("line 10000 of 10000") {
            break written.elapsed();
        }
        if written.elapsed() > Duration::from_secs(60) {
            return Err(setup(
                "the burst",
                "the last line was not found within 60 s",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "  logs burst       10,000 lines parsed, stored and found in {:.2} s (budget: 10 s; the tailer reads every 5 s)",
        found.as_secs_f64()
    );

    // 1,000,000 entries over the last day, as a busy server's week would leave after the
    // flood rules: one in ten an error of a few patterns, users and applications spread.
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", store.display()))
        .await
        .map_err(|e| setup("opening the store", e))?;
    let now = app::clock::to_millis(time::OffsetDateTime::now_utc());
    let started = Instant::now();
    // In transactions of 100,000 (under two seconds each): the server keeps writing samples
    // and log entries meanwhile, and waits at most 5 s for the store's write lock.
    for chunk in 0..10 {
        sqlx::query(
            "with recursive n(i) as (select $2 + 1 union all select i + 1 from n where i < $2 + 100000) \
             insert into log_entries (target_id, at_ms, severity, sqlstate, kind, username, \
             database_name, application, pid, message, statement, pattern, cut, file_name, \
             generation, file_offset) \
             select 'bench', $1 - 86400000 + i * 86, \
               case when i % 10 = 0 then 'ERROR' else 'LOG' end, \
               case when i % 10 = 0 then '42P01' end, \
               case when i % 10 = 0 then 'error' when i % 10 = 1 then 'slow' \
                    when i % 10 = 2 then 'connection' else 'other' end, \
               'app_' || (i % 20), 'shop', 'svc_' || (i % 7), 10000 + i % 5000, \
               case when i % 10 = 0 then 'relation \"t' || (i % 13) || '\" does not exist' \
                    else 'bench filler message ' || i end, \
               'select * from t where id = ' || i, \
               case when i % 10 = 0 then 'relation \"…\" does not exist' end, \
               0, 'bench-fill.json', 1, i from n",
        )
        .bind(now)
        .bind(chunk * 100_000_i64)
        .execute(&mut conn)
        .await
        .map_err(|e| setup("filling the log store", e))?;
    }
    let _ = conn.close().await;
    println!(
        "  logs store       1,000,000 entries written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let since = app::clock::rfc3339_millis(now - 3_600_000);
    let last_hour = format!("&since={}Z", &since[..19]);
    for (label, query) in [
        ("newest", ""),
        ("kind=error", "&kind=error"),
        ("severity+user", "&severity=ERROR&user=app_10"),
        ("application", "&application=svc_3"),
        ("pid", "&pid=12345"),
        ("text, frequent", "&text=does%20not%20exist"),
        ("text, rare", "&text=filler%20message%20999999"),
        ("last hour", last_hour.as_str()),
    ] {
        let path = format!("/api/logs?target=bench{query}");
        get(addr, &path, cookie).await?;
        let mut samples = Vec::new();
        for _ in 0..21 {
            samples.push(get(addr, &path, cookie).await?.0);
        }
        samples.sort();
        println!(
            "                   /api/logs {label:<15} p50 {:.2} ms, max {:.2} ms (budget: 20 ms p50)",
            ms(samples[samples.len() / 2]),
            ms(samples[samples.len() - 1]),
        );
    }
    Ok(())
}
