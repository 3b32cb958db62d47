//! The Maintenance page on a database of 2,000 tables (budget: renders within 300 ms). Measured:
//! the catalog read on the target (as pgpanel reports it), the tables API with a fresh read, and
//! the whole page with every row (`show=all`, server-rendered HTML) cold (first request, catalog
//! read included) and warm (the 30 s copy); and the page as it opens (the first 50 rows).

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use super::{BenchError, login, ms, setup};
use harness::TempCluster;

const TABLES: usize = 2_000;
const DB: &str = "bench_tables";

async fn get(
    addr: &str,
    path: &str,
    cookie: &str,
    accept: &str,
) -> Result<(Duration, String), BenchError> {
    let start = Instant::now();
    let (status, body) = login::request(
        addr,
        "GET",
        path,
        &[("Cookie", cookie), ("Accept", accept)],
        "",
    )
    .await?;
    let took = start.elapsed();
    if status != 200 {
        return Err(setup(
            "requesting the Maintenance page",
            format!("{path}: {status}"),
        ));
    }
    Ok((took, body))
}

pub async fn run(addr: &str, cookie: &str, cluster: &TempCluster) -> Result<(), BenchError> {
    let mut admin = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    admin
        .execute(format!("create database {DB}").as_str())
        .await
        .map_err(|e| setup("creating the tables database", e))?;
    admin.close().await.map_err(|e| setup("connecting", e))?;
    let mut db = PgConnection::connect(&cluster.url(DB))
        .await
        .map_err(|e| setup("connecting", e))?;
    db.execute(
        format!(
            "do $$ begin for i in 1..{TABLES} loop \
               execute format('create table t%s (id int primary key, v text); \
                               insert into t%s values (1, ''x'')', i, i); \
             end loop; end $$"
        )
        .as_str(),
    )
    .await
    .map_err(|e| setup("creating 2,000 tables", e))?;
    db.close().await.map_err(|e| setup("connecting", e))?;

    let page = format!("/maintenance?target=bench&database={DB}&show=all");
    let (cold, html) = get(addr, &page, cookie, "text/html").await?;
    let rows = html.matches("data-testid=\"table-row\"").count();
    if rows != TABLES {
        return Err(setup(
            "rendering the Maintenance page",
            format!("{rows} rows instead of {TABLES}"),
        ));
    }
    let mut warm = Vec::new();
    for _ in 0..20 {
        warm.push(get(addr, &page, cookie, "text/html").await?.0);
    }
    warm.sort();
    // As it opens: the first 50 in the default order, and a link to the rest.
    let (first_took, first) = get(
        addr,
        &format!("/maintenance?target=bench&database={DB}"),
        cookie,
        "text/html",
    )
    .await?;
    let first_rows = first.matches("data-testid=\"table-row\"").count();
    if first_rows != 50 || !first.contains(&format!("Show all {TABLES}")) {
        return Err(setup(
            "rendering the Maintenance page as it opens",
            format!("{first_rows} rows, or no \"Show all {TABLES}\""),
        ));
    }
    let api = format!("/api/maintenance/tables?target=bench&database={DB}&refresh=true");
    let mut fresh = Vec::new();
    let mut read_ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        // A refresh re-reads a copy older than 2 s.
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let (took, body) = get(addr, &api, cookie, "application/json").await?;
        bytes = body.len();
        // The raw answer (headers, maybe chunked): pick the one number out of it.
        let read = body
            .split("\"read_ms\":")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(|| setup("reading the tables API", "no read_ms in the answer"))?;
        read_ms.push(read);
        fresh.push(took);
    }
    fresh.sort();
    read_ms.sort();
    println!(
        "  maintenance      {TABLES} tables, every row: page cold {:.0} ms (catalog read included), warm median {:.0} ms, max {:.0} ms, {} KB HTML (budget: 300 ms); as it opens (50 rows): {:.0} ms, {} KB HTML",
        ms(cold),
        ms(warm[warm.len() / 2]),
        ms(warm[warm.len() - 1]),
        html.len() / 1024,
        ms(first_took),
        first.len() / 1024
    );
    println!(
        "                   tables API with a fresh read: median {:.0} ms, max {:.0} ms, {} KB; catalog read on the target median {} ms",
        ms(fresh[fresh.len() / 2]),
        ms(fresh[fresh.len() - 1]),
        bytes / 1024,
        read_ms[read_ms.len() / 2]
    );
    Ok(())
}
