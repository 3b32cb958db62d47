//! The live panels' budgets, on a target made busy on purpose: 300 backends, ~5,000
//! pg_stat_statements entries and 2,000 tables.
//! - cost on the target: execution + planning time of every statement the monitor login ran
//!   (pg_stat_statements with track_planning on; the login is used by nothing else), per minute,
//!   with nobody watching (the sampler's idle cadence, `monitor.live_idle_interval_ms`), with 1 viewer of the Overview and Activity (pg_stat_statements is then read every
//!   `monitor.statements_idle_interval_s`) and then with 200 viewers following every topic, the
//!   Queries page's too (read every slow tick);
//! - connections the monitor login holds (budget: 2);
//! - delay from a sample being taken to its frame arriving at a viewer, and RSS with 200 viewers;
//! - `GET /api/activity/sessions` latency with the 300 backends;
//! - for scale, what pgAdmin 4's dashboard tab costs the same target on the same machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{BenchError, mib, ms, rss_kib, setup};
use harness::TempCluster;

pub const BACKENDS: usize = 300;
const TABLES: usize = 2_000;
const STATEMENTS: usize = 4_900;

/// Settings the busy target needs (passed to the cluster at start).
pub const SETTINGS: &[(&str, &str)] = &[
    ("max_connections", "400"),
    ("pg_stat_statements.max", "5000"),
    ("pg_stat_statements.track_planning", "on"),
];

/// Open sessions that make the target busy; dropped at the end.
pub struct Load {
    _sessions: Vec<PgConnection>,
}

/// 2,000 tables, ~5,000 distinct statements in pg_stat_statements, 300 backends (a few of them
/// active in pg_sleep, one idle in transaction).
pub async fn load(cluster: &TempCluster) -> Result<Load, BenchError> {
    let mut admin = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    admin
        .execute(
            "do $$ begin for i in 1..2000 loop \
               execute format('create table bench_t%s (id int primary key, v text)', i); \
             end loop; end $$",
        )
        .await
        .map_err(|e| setup("creating 2,000 tables", e))?;
    // Distinct statements: each table gets a few shapes (table names are our own numbers).
    let shapes = [
        "select count(*) from bench_t{} where id = 1",
        "select v from bench_t{} where id = 2",
        "select id from bench_t{} order by id limit 3",
    ];
    let mut made = 0;
    'outer: for shape in shapes {
        for i in 1..=TABLES {
            if made == STATEMENTS {
                break 'outer;
            }
            admin
                .execute(shape.replace("{}", &i.to_string()).as_str())
                .await
                .map_err(|e| setup("filling pg_stat_statements", e))?;
            made += 1;
        }
    }
    let entries: i64 = sqlx::query_scalar("select count(*) from pg_stat_statements")
        .fetch_one(&mut admin)
        .await
        .map_err(|e| setup("counting statements", e))?;
    let mut sessions = Vec::with_capacity(BACKENDS);
    for i in 0..BACKENDS - 1 {
        let mut c = PgConnection::connect(&cluster.url("postgres"))
            .await
            .map_err(|e| setup("opening 300 backends", e))?;
        if i < 10 {
            c.execute("set application_name = 'bench-sleeper'")
                .await
                .map_err(|e| setup("sleeper", e))?;
            // Active for the whole run: never awaited, the statement keeps running.
            let _ = tokio::time::timeout(
                Duration::from_millis(20),
                c.execute("select pg_sleep(3600)"),
            )
            .await;
        } else if i == 10 {
            c.execute("begin; select 1")
                .await
                .map_err(|e| setup("idle in transaction", e))?;
        }
        sessions.push(c);
    }
    let backends: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity")
        .fetch_one(&mut admin)
        .await
        .map_err(|e| setup("counting backends", e))?;
    println!(
        "  busy target      {TABLES} tables, {entries} pg_stat_statements entries, {backends} backends"
    );
    sessions.push(admin);
    Ok(Load {
        _sessions: sessions,
    })
}

/// (execution + planning ms, calls) of everything `login` (the monitor, or the pgAdmin
/// reference) ran so far.
async fn login_cost(su: &mut PgConnection, login: &str) -> Result<(f64, i64), BenchError> {
    sqlx::query_as(
        "select coalesce(sum(total_exec_time + total_plan_time), 0)::float8, \
                coalesce(sum(calls), 0)::int8 \
         from pg_stat_statements where userid = $1::regrole",
    )
    .bind(login)
    .fetch_one(su)
    .await
    .map_err(|e| setup(&format!("reading {login}'s cost"), e))
}

/// CPU time (user + system, ms) each backend of the monitor login has used so far, read from
/// `/proc/<pid>/stat` (the bench's target runs on this machine). Unlike the execution times
/// pg_stat_statements records, it leaves out the time a backend waits for a core, which on a
/// small machine shared with pgpanel and the bench's own viewers is not a cost of pgpanel's
/// statements; it adds the protocol and transaction work around them.
async fn monitor_cpu(su: &mut PgConnection) -> Result<HashMap<i32, f64>, BenchError> {
    let pids: Vec<i32> =
        sqlx::query_scalar("select pid from pg_stat_activity where usename = 'bench_monitor'")
            .fetch_all(su)
            .await
            .map_err(|e| setup("listing the monitor's backends", e))?;
    Ok(pids
        .into_iter()
        .filter_map(|pid| Some((pid, cpu_ms(pid)?)))
        .collect())
}

/// The CPU time (user + system, ms) process `pid` has used, from `/proc/<pid>/stat`.
fn cpu_ms(pid: i32) -> Option<f64> {
    // /proc counts in USER_HZ, 100 a second on Linux.
    const MS_PER_TICK: f64 = 10.0;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After "pid (comm) ": state is field 0, utime 11 and stime 12.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * MS_PER_TICK)
}

async fn monitor_connections(su: &mut PgConnection) -> Result<i64, BenchError> {
    sqlx::query_scalar("select count(*) from pg_stat_activity where usename = 'bench_monitor'")
        .fetch_one(su)
        .await
        .map_err(|e| setup("counting connections", e))
}

/// Each monitor statement's queryid, first words, execution + planning ms, calls and planning
/// ms (entries of one statement in several databases summed). Keyed by queryid: the counters
/// read and the texts read of pg_stat_statements begin with the same words.
async fn monitor_statements(
    su: &mut PgConnection,
) -> Result<Vec<(i64, String, f64, i64, f64)>, BenchError> {
    sqlx::query_as(
        "select queryid::int8, min(left(regexp_replace(query, '\\s+', ' ', 'g'), 60)), \
                sum(total_exec_time + total_plan_time)::float8, sum(calls)::int8, \
                sum(total_plan_time)::float8 \
         from pg_stat_statements where userid = 'bench_monitor'::regrole group by queryid",
    )
    .fetch_all(su)
    .await
    .map_err(|e| setup("reading the monitor's statements", e))
}

/// How the statements that follow the log begin (`logs/sql/`: log_settings, log_files,
/// read_log), as [`monitor_statements`] shows them.
const LOG_STATEMENTS: &[&str] = &[
    "with reader as (",
    "select name, size::int8 as size, modification from pg_ls_",
    "select pgpanel.read_log(",
];

/// Cost per minute over `window`, printed with who watched meanwhile.
async fn cost_over(
    su: &mut PgConnection,
    window: Duration,
    viewers: &str,
    budget_ms: u32,
) -> Result<f64, BenchError> {
    let (ms0, calls0) = login_cost(su, "bench_monitor").await?;
    let before = monitor_statements(su).await?;
    let cpu0 = monitor_cpu(su).await?;
    let mut most = 0;
    let end = Instant::now() + window;
    while Instant::now() < end {
        most = most.max(monitor_connections(su).await?);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (ms1, calls1) = login_cost(su, "bench_monitor").await?;
    let cpu1 = monitor_cpu(su).await?;
    let per_min = 60.0 / window.as_secs_f64();
    // A backend that appeared meanwhile counts whole; one that ended is lost (said so).
    let cpu: f64 = cpu1
        .iter()
        .map(|(pid, t)| t - cpu0.get(pid).copied().unwrap_or(0.0))
        .sum();
    let ended = cpu0.keys().filter(|p| !cpu1.contains_key(p)).count();
    let after = monitor_statements(su).await?;
    // Two statements that begin alike (the counters and the texts read) also say their queryid.
    let alike = |q: &str| after.iter().filter(|a| a.1 == q).count() > 1;
    let mut parts: Vec<(String, f64, i64, f64)> = after
        .iter()
        .map(|(id, q, t, c, p)| {
            let (t0, c0, p0) = before
                .iter()
                .find(|b| b.0 == *id)
                .map_or((0.0, 0, 0.0), |b| (b.2, b.3, b.4));
            let name = if alike(q) {
                format!("{q} [queryid {id}]")
            } else {
                q.clone()
            };
            (name, (t - t0) * per_min, c - c0, (p - p0) * per_min)
        })
        .collect();
    parts.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (q, t, c, p) in parts.iter().filter(|p| p.1 >= 0.5) {
        println!(
            "                   {t:6.1} ms/min ({p:.1} planning) {:4.0} calls/min  {q}",
            *c as f64 * per_min
        );
    }
    // Following the log: its settings (once a minute), the file list and the reads.
    let logs: f64 = parts
        .iter()
        .filter(|p| LOG_STATEMENTS.iter().any(|s| p.0.starts_with(s)))
        .map(|p| p.1)
        .sum();
    println!("  following the log {logs:.1} ms/min of it (budget: 20 ms/min)");
    let cost = (ms1 - ms0) * per_min;
    println!(
        "  target cost      {cost:.1} ms/min execution + planning, {:.0} statements/min, {} monitor connections at most, with {viewers} (budget: {budget_ms} ms/min with the log followed, 2 connections)",
        (calls1 - calls0) as f64 * per_min,
        most
    );
    println!(
        "  target CPU       {:.1} ms/min of the monitor's backends' CPU time (/proc; without the time they waited for a core{})",
        cpu * per_min,
        if ended > 0 {
            format!("; {ended} backend(s) ended meanwhile, not counted")
        } else {
            String::new()
        }
    );
    Ok(cost)
}

/// A viewer: reads `/live` and records, for each overview frame, how long after the sample it
/// arrived (same machine, same clock). The first frame is skipped: it is the latest sample sent
/// on connecting, up to one interval old by design, not a delivery delay.
async fn viewer(
    addr: String,
    cookie: String,
    topics: &'static str,
    delays: Arc<Mutex<Vec<f64>>>,
) -> Result<(), BenchError> {
    let mut stream = TcpStream::connect(&addr).await?;
    let req = format!(
        "GET /live?target=bench&topics={topics} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut lines = BufReader::new(stream).lines();
    let mut event = String::new();
    let mut first = true;
    while let Some(line) = lines.next_line().await? {
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_owned();
        } else if let Some(data) = line.strip_prefix("data:")
            && event == "overview"
        {
            let now = app::clock::to_millis(time::OffsetDateTime::now_utc());
            if std::mem::take(&mut first) {
                continue;
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim_start())
                && let Some(at) = v["at_ms"].as_i64()
            {
                delays
                    .lock()
                    .map_err(|_| setup("viewer", "poisoned"))?
                    .push((now - at) as f64);
            }
        }
    }
    Ok(())
}

pub(crate) fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub async fn run(
    addr: &str,
    cookie: &str,
    pid: u32,
    cluster: &TempCluster,
    window: Duration,
) -> Result<(), BenchError> {
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    // Texts of the 5,000 new entries are read once, at the first samples: not the steady cost.
    tokio::time::sleep(Duration::from_secs(25)).await;

    // No page of the target open: the sampler reads at its idle cadence.
    let nobody = cost_over(&mut su, window, "nobody watching", 25).await?;

    let delays = Arc::new(Mutex::new(Vec::new()));
    // An Overview or Activity page: no Queries page open.
    let one = tokio::spawn(viewer(
        addr.to_owned(),
        cookie.to_owned(),
        "overview,activity",
        delays.clone(),
    ));
    let one_viewer = cost_over(&mut su, window, "1 viewer, no Queries page open", 60).await?;
    one.abort();

    delays
        .lock()
        .map_err(|_| setup("viewers", "poisoned"))?
        .clear();
    let many: Vec<_> = (0..200)
        .map(|_| {
            tokio::spawn(viewer(
                addr.to_owned(),
                cookie.to_owned(),
                "overview,activity,statements,locks",
                delays.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_start = rss_kib(pid)?;
    let every_page = cost_over(
        &mut su,
        window,
        "200 viewers following every topic (Queries open)",
        60,
    )
    .await?;
    let rss = rss_kib(pid)?.max(rss_start);
    let mut d = delays
        .lock()
        .map_err(|_| setup("viewers", "poisoned"))?
        .clone();
    for task in many {
        task.abort();
    }
    d.sort_by(f64::total_cmp);
    println!(
        "  frame delay      p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms from sample to viewer over {} frames, 200 viewers (budget: 250 ms)",
        pct(&d, 0.5),
        pct(&d, 0.95),
        pct(&d, 1.0),
        d.len()
    );
    println!("  RSS, 200 viewers {} (budget: 100 MiB)", mib(rss * 1024));

    let mut times = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let (status, body) = super::login::request(
            addr,
            "GET",
            "/api/activity/sessions?target=bench",
            &[("Cookie", cookie)],
            "",
        )
        .await?;
        times.push(ms(start.elapsed()));
        if status != 200 || !body.contains("bench-sleeper") {
            return Err(setup(
                "GET /api/activity/sessions",
                format!("status {status}"),
            ));
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  activity API     p50 {:.2} ms, p95 {:.2} ms over 200 requests with {BACKENDS} backends (budget: 5 ms p50)",
        pct(&times, 0.5),
        pct(&times, 0.95)
    );
    reference(&mut su, cluster, window, [nobody, one_viewer, every_page]).await
}

/// pgAdmin 4's server dashboard tab, as a yardstick on the same target and machine: the one
/// statement it runs every second for its five charts (sessions from pg_stat_activity three
/// times; transactions, tuples in, tuples out and block I/O as sums over pg_stat_database).
const PGADMIN_DASHBOARD: &str = "\
select 'session_stats' as chart_name, row_to_json(t) as chart_data from (select \
  (select count(*) from pg_stat_activity) as \"Total\", \
  (select count(*) from pg_stat_activity where state = 'active') as \"Active\", \
  (select count(*) from pg_stat_activity where state = 'idle') as \"Idle\") t \
union all select 'tps_stats', row_to_json(t) from (select \
  (select sum(xact_commit) + sum(xact_rollback) from pg_stat_database) as \"Transactions\", \
  (select sum(xact_commit) from pg_stat_database) as \"Commits\", \
  (select sum(xact_rollback) from pg_stat_database) as \"Rollbacks\") t \
union all select 'ti_stats', row_to_json(t) from (select \
  (select sum(tup_inserted) from pg_stat_database) as \"Inserts\", \
  (select sum(tup_updated) from pg_stat_database) as \"Updates\", \
  (select sum(tup_deleted) from pg_stat_database) as \"Deletes\") t \
union all select 'to_stats', row_to_json(t) from (select \
  (select sum(tup_fetched) from pg_stat_database) as \"Fetched\", \
  (select sum(tup_returned) from pg_stat_database) as \"Returned\") t \
union all select 'bio_stats', row_to_json(t) from (select \
  (select sum(blks_read) from pg_stat_database) as \"Reads\", \
  (select sum(blks_hit) from pg_stat_database) as \"Hits\") t";

/// What pgAdmin's dashboard tab costs this target over `window` (its statement once a second,
/// as a pg_monitor login of its own), printed beside pgpanel's figures (`pgpanel`: nobody
/// watching, 1 viewer, every page open) as their share of it: the budgets were set against it
/// (46 ms/min) on another machine and target, where they were 54 % and 130 % of it.
async fn reference(
    su: &mut PgConnection,
    cluster: &TempCluster,
    window: Duration,
    pgpanel: [f64; 3],
) -> Result<(), BenchError> {
    su.execute(
        "create role bench_reference login password 'bench'; grant pg_monitor to bench_reference",
    )
    .await
    .map_err(|e| setup("creating the reference login", e))?;
    let mut conn = PgConnection::connect(&cluster.url_as("bench_reference", "bench", "postgres"))
        .await
        .map_err(|e| setup("connecting as the reference login", e))?;
    let pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| setup("reading the reference's pid", e))?;
    let (before, _) = login_cost(su, "bench_reference").await?;
    let cpu_before = cpu_ms(pid);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let end = Instant::now() + window;
    while Instant::now() < end {
        tick.tick().await;
        sqlx::raw_sql(PGADMIN_DASHBOARD)
            .fetch_all(&mut conn)
            .await
            .map_err(|e| setup("running pgAdmin's dashboard statement", e))?;
    }
    let per_min = 60.0 / window.as_secs_f64();
    let spent = (login_cost(su, "bench_reference").await?.0 - before) * per_min;
    let cpu = cpu_ms(pid)
        .zip(cpu_before)
        .map_or(f64::NAN, |(b, a)| (b - a) * per_min);
    println!(
        "  for scale        pgAdmin's dashboard tab (its five charts' statement once a second) costs this target {spent:.1} ms/min execution + planning, {cpu:.1} ms/min CPU, on this machine"
    );
    let share = |ms: f64| 100.0 * ms / spent;
    println!(
        "  share of it      pgpanel {:.0} % with nobody watching, {:.0} % with 1 viewer, {:.0} % with every page open (the budgets, set against this tab at 46 ms/min elsewhere: 54 % and 130 %)",
        share(pgpanel[0]),
        share(pgpanel[1]),
        share(pgpanel[2])
    );
    Ok(())
}
