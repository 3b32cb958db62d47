//! A fleet on one instance: 60 targets (54 on two small servers, 6 that are down), measured for
//! the instance's CPU and RSS with nobody watching and with a viewer on every target, and for
//! the Fleet page's and `GET /api/fleet`'s latency. Budgets: ≤ 0.25 core, ≤ 200 MiB RSS,
//! `/fleet` ≤ 100 ms. Then the same with 200 targets (194 up), to say how far one instance goes.

use std::time::{Duration, Instant};

use super::live::pct;
use super::pages::cpu_seconds;
use super::{BenchError, login, mib, ms, rss_kib, setup};
use harness::ClusterOptions;

const DOWN: usize = 6;
/// The fleets measured: the budgeted one, and one as large as the issue asks to be practical.
pub const FLEETS: [usize; 2] = [60, 200];

/// Cores used by `pid` over `window`.
async fn cores_over(pid: u32, window: Duration) -> Result<f64, BenchError> {
    let cpu0 = cpu_seconds(pid)?;
    let start = Instant::now();
    tokio::time::sleep(window).await;
    Ok((cpu_seconds(pid)? - cpu0) / start.elapsed().as_secs_f64())
}

/// Keeps a `/live` stream of one target open (a page of it in a browser) until aborted.
async fn follow(addr: String, cookie: String, target: String) -> Result<(), BenchError> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let mut stream = tokio::net::TcpStream::connect(&addr).await?;
    let req = format!(
        "GET /live?target={target}&topics=overview,activity HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let mut lines = BufReader::new(stream).lines();
    while lines.next_line().await?.is_some() {}
    Ok(())
}

/// Median and slowest of `n` GETs of `path`, each a 200.
async fn latency(addr: &str, cookie: &str, path: &str, n: usize) -> Result<String, BenchError> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let (status, _) = login::request(addr, "GET", path, &[("Cookie", cookie)], "").await?;
        times.push(ms(start.elapsed()));
        if status != 200 {
            return Err(setup(&format!("GET {path}"), format!("status {status}")));
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(format!(
        "median {:.1} ms, p95 {:.1} ms, max {:.1} ms over {n}",
        pct(&times, 0.5),
        pct(&times, 0.95),
        pct(&times, 1.0)
    ))
}

/// Starts two servers and pgpanel with `targets` targets, 6 of them down (same store and port
/// as the rest of the bench).
pub async fn run(
    exe: &std::path::Path,
    config: &std::path::Path,
    config_head: &str,
    addr: &str,
    window: Duration,
    targets_n: usize,
) -> Result<(), BenchError> {
    let up_per_server = (targets_n - DOWN) / 2;
    // A target holds up to 3 monitor connections (probe, sampler, a request's read).
    let options = ClusterOptions::default().setting(
        "max_connections",
        &(up_per_server * 3 + 20).max(100).to_string(),
    );
    let mut servers = Vec::new();
    for _ in 0..2 {
        let (cluster, _) = super::monitored_cluster(options.clone(), "").await?;
        servers.push(cluster);
    }
    let mut targets = String::new();
    for (s, cluster) in servers.iter().enumerate() {
        for i in 0..up_per_server {
            targets.push_str(&format!(
                "[[targets]]\nid = \"fleet-{s}-{i:02}\"\nmonitor_url = \"{}\"\n\n",
                cluster.url_as("bench_monitor", "bench", "postgres")
            ));
        }
    }
    // Down: a port nothing listens on (taken and released).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    for i in 0..DOWN {
        targets.push_str(&format!(
            "[[targets]]\nid = \"down-{i}\"\nmonitor_url = \"postgres://bench_monitor:bench@127.0.0.1:{closed}/postgres\"\n\n"
        ));
    }
    std::fs::write(config, format!("{config_head}{targets}"))?;
    let mut child = super::spawn_serve(exe, config)?;
    let pid = child
        .id()
        .ok_or_else(|| setup("starting pgpanel", "no pid"))?;
    let result = measure(addr, pid, window, up_per_server).await;
    let _ = child.start_kill();
    let _ = child.wait().await;
    tokio::task::spawn_blocking(move || drop(servers))
        .await
        .map_err(|e| setup("stopping PostgreSQL", e))?;
    result
}

async fn measure(
    addr: &str,
    pid: u32,
    window: Duration,
    up_per_server: usize,
) -> Result<(), BenchError> {
    let total = 2 * up_per_server + DOWN;
    let deadline = Instant::now() + Duration::from_secs(60);
    let cookie = loop {
        if let Ok(c) = login::sign_in(addr, "bench", super::BENCH_PASSWORD).await {
            break c;
        }
        if Instant::now() > deadline {
            return Err(setup("waiting for pgpanel", "no sign-in within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Every target that can be up is up.
    loop {
        let (status, body) =
            login::request(addr, "GET", "/api/targets", &[("Cookie", &cookie)], "").await?;
        let up = body.matches("\"state\":\"up\"").count();
        if status == 200 && up == 2 * up_per_server {
            break;
        }
        if Instant::now() > deadline {
            return Err(setup(
                "waiting for the fleet",
                format!("{up} of {} targets up after 60 s", 2 * up_per_server),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Settled: the first samples and reads of every target are behind.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let idle = cores_over(pid, window).await?;
    let rss_idle = rss_kib(pid)?;
    println!(
        "  fleet, {total} targets ({DOWN} down), nobody watching: {idle:.3} core, RSS {} over {} s (budget: 0.25 core, 200 MiB)",
        mib(rss_idle * 1024),
        window.as_secs()
    );
    // A wall of screens: one page open on every target.
    let mut ids: Vec<String> = Vec::new();
    for s in 0..2 {
        for i in 0..up_per_server {
            ids.push(format!("fleet-{s}-{i:02}"));
        }
    }
    ids.extend((0..DOWN).map(|i| format!("down-{i}")));
    let viewers: Vec<_> = ids
        .iter()
        .map(|id| tokio::spawn(follow(addr.to_owned(), cookie.clone(), id.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let watched = cores_over(pid, window).await?;
    let rss_watched = rss_kib(pid)?;
    println!(
        "  fleet, {total} targets, a page open on each: {watched:.3} core, RSS {} over {} s (budget: 0.25 core, 200 MiB)",
        mib(rss_watched * 1024),
        window.as_secs()
    );
    println!(
        "  fleet, {total} targets, GET /fleet {} (budget: 100 ms)",
        latency(addr, &cookie, "/fleet", 50).await?
    );
    println!(
        "  fleet, {total} targets, GET /api/fleet {}",
        latency(addr, &cookie, "/api/fleet", 50).await?
    );
    for v in viewers {
        v.abort();
    }
    Ok(())
}
