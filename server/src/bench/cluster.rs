//! Two instances on one PostgreSQL store, watching one target, as `pgpanel serve` processes:
//! the statements the target runs for pgpanel with one instance and with two (each target is
//! sampled by one instance: budget within 10 %), the monitor connections on the target (≤ 3),
//! the delay from a sample to its frame on the instance that does not sample the target
//! (≤ 500 ms), and the time until the other instance samples after SIGKILL of the holder (≤ 15 s).

use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::live::pct;
use super::{BENCH_PASSWORD, BenchError, login, setup};
use harness::{ClusterOptions, TempCluster};

/// One `pgpanel serve` of the pair.
struct Instance {
    child: tokio::process::Child,
    addr: String,
}

pub async fn run(exe: &Path, dir: &Path, window: Duration) -> Result<(), BenchError> {
    let store = TempCluster::start_async(ClusterOptions::bare())
        .await
        .map_err(|e| setup("starting the store's PostgreSQL", e))?;
    let (target, mut su) = super::monitored_cluster(ClusterOptions::default(), "").await?;
    let result = measure(exe, dir, &store, &target, &mut su, window).await;
    let _ = su.close().await;
    tokio::task::spawn_blocking(move || drop((store, target)))
        .await
        .map_err(|e| setup("stopping PostgreSQL", e))?;
    result
}

fn config(
    dir: &Path,
    name: &str,
    store: &TempCluster,
    target: &TempCluster,
) -> Result<(std::path::PathBuf, String), BenchError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let file = dir.join(format!("cluster-{name}.toml"));
    std::fs::write(
        &file,
        format!(
            "[http]\nlisten = \"{addr}\"\nsecure_cookies = false\n\n\
             [store]\nurl = \"{store}\"\n\n\
             [monitor]\nadvice_interval_minutes = 0\n\n\
             [[targets]]\nid = \"solo\"\nmonitor_url = \"{target}\"\n",
            store = store.url("postgres"),
            target = target.url_as("bench_monitor", "bench", "postgres"),
        ),
    )?;
    Ok((file, addr))
}

async fn start(exe: &Path, file: &Path, addr: String) -> Result<Instance, BenchError> {
    let child = super::spawn_serve(exe, file)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while login::sign_in(&addr, "bench", BENCH_PASSWORD)
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            return Err(setup("starting an instance", "no sign-in within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(Instance { child, addr })
}

/// Statements pgpanel's monitor login has run on the target so far.
async fn monitor_calls(su: &mut PgConnection) -> Result<i64, BenchError> {
    sqlx::query_scalar(
        "select coalesce(sum(calls), 0)::int8 from pg_stat_statements \
         where userid = 'bench_monitor'::regrole",
    )
    .fetch_one(su)
    .await
    .map_err(|e| setup("reading pg_stat_statements", e))
}

/// Statements per minute over `window`, and the most monitor connections seen (each second).
async fn cost(su: &mut PgConnection, window: Duration) -> Result<(f64, i64), BenchError> {
    let before = monitor_calls(su).await?;
    let start = Instant::now();
    let mut most = 0;
    while start.elapsed() < window {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where usename = 'bench_monitor'",
        )
        .fetch_one(&mut *su)
        .await
        .map_err(|e| setup("reading pg_stat_activity", e))?;
        most = most.max(n);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let calls = monitor_calls(su).await? - before;
    Ok((calls as f64 * 60.0 / start.elapsed().as_secs_f64(), most))
}

/// The listen address of the instance holding the target's lease, if any.
async fn holder(store: &mut PgConnection) -> Result<Option<String>, BenchError> {
    sqlx::query_scalar(
        "select i.listen from target_leases l join instances i on i.id = l.instance_id \
         where l.target_id = 'solo' \
           and l.expires_at_ms > (extract(epoch from clock_timestamp()) * 1000)::int8",
    )
    .fetch_optional(store)
    .await
    .map_err(|e| setup("reading the leases", e))
}

/// Delays (ms) from the sample to its overview frame on a stream of the instance at `addr`.
async fn frame_delays(addr: &str, n: usize) -> Result<Vec<f64>, BenchError> {
    let cookie = login::sign_in(addr, "bench", BENCH_PASSWORD).await?;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let req = format!(
        "GET /live?target=solo&topics=overview HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut lines = BufReader::new(stream).lines();
    let mut delays = Vec::new();
    // The first frame is the latest the instance had when the stream opened.
    let mut skipped = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    while delays.len() < n && Instant::now() < deadline {
        let Some(line) = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .map_err(|_| setup("reading frames", "none within 10 s"))??
        else {
            break;
        };
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let arrived = app::clock::to_millis(time::OffsetDateTime::now_utc());
        let Some(at_ms) = serde_json::from_str::<serde_json::Value>(data.trim())
            .ok()
            .and_then(|v| v["at_ms"].as_i64())
        else {
            continue;
        };
        if skipped {
            delays.push((arrived - at_ms) as f64);
        }
        skipped = true;
    }
    Ok(delays)
}

async fn measure(
    exe: &Path,
    dir: &Path,
    store: &TempCluster,
    target: &TempCluster,
    su: &mut PgConnection,
    window: Duration,
) -> Result<(), BenchError> {
    let (file_a, addr_a) = config(dir, "a", store, target)?;
    let (file_b, addr_b) = config(dir, "b", store, target)?;
    // The bench's analyst, in this store.
    super::add_user(exe, &file_a, "bench", "analyst").await?;
    let mut a = start(exe, &file_a, addr_a).await?;
    let settle = Duration::from_secs(15);
    tokio::time::sleep(settle).await;
    let (one, one_conns) = cost(su, window).await?;
    let mut b = start(exe, &file_b, addr_b).await?;
    tokio::time::sleep(settle).await;
    let (two, two_conns) = cost(su, window).await?;
    println!(
        "  cluster, target statements per minute: {one:.0} with one instance, {two:.0} with two ({:+.1} %; budget: within 10 %)",
        (two - one) / one.max(1.0) * 100.0
    );
    println!(
        "  cluster, monitor connections on the target at most: {one_conns} with one instance, {two_conns} with two (budget: 3)"
    );
    let mut db = PgConnection::connect(&store.url("postgres"))
        .await
        .map_err(|e| setup("connecting to the store", e))?;
    let held = holder(&mut db)
        .await?
        .ok_or_else(|| setup("reading the leases", "nobody holds the target"))?;
    let (follower, leader) = if held == a.addr {
        (&b, &mut a)
    } else {
        (&a, &mut b)
    };
    let mut delays = frame_delays(&follower.addr, 20).await?;
    delays.sort_by(f64::total_cmp);
    if delays.is_empty() {
        return Err(setup("reading relayed frames", "none arrived"));
    }
    println!(
        "  cluster, sample to frame on the other instance: median {:.0} ms, p95 {:.0} ms, max {:.0} ms over {} frames (budget: 500 ms)",
        pct(&delays, 0.5),
        pct(&delays, 0.95),
        pct(&delays, 1.0),
        delays.len()
    );
    let follower_addr = follower.addr.clone();
    let killed_at = Instant::now();
    leader.child.start_kill()?;
    let _ = leader.child.wait().await;
    // The dead one reads nothing more, and the other reads nothing until it samples.
    let calls = monitor_calls(su).await?;
    let deadline = killed_at + Duration::from_secs(60);
    let taken = loop {
        if holder(&mut db).await?.as_deref() == Some(follower_addr.as_str()) {
            break killed_at.elapsed();
        }
        if Instant::now() > deadline {
            return Err(setup("fail-over", "no take-over within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let sampling = loop {
        if monitor_calls(su).await? > calls {
            break killed_at.elapsed();
        }
        if Instant::now() > deadline {
            return Err(setup("fail-over", "no sample within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "  cluster, SIGKILL of the sampling instance: lease taken after {:.1} s, first sample after {:.1} s (budget: 15 s)",
        taken.as_secs_f64(),
        sampling.as_secs_f64()
    );
    let _ = db.close().await;
    for i in [&mut a, &mut b] {
        let _ = i.child.start_kill();
        let _ = i.child.wait().await;
    }
    Ok(())
}
