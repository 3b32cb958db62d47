//! `pgpanel bench`: the figures the budgets are about, measured the same way every time.
//! - wasm size, raw and gzip (what a browser downloads);
//! - the server binary's size;
//! - resident memory of `pgpanel serve` watching one throwaway target, idle and after the load;
//! - time to first byte of the Overview page: sequential requests on fresh connections, timed from
//!   the request's last byte to the response's first byte; median and 95th percentile.
//!
//! - sign-in: latency at 20 logins/s, memory with 200 logins at once (login.rs);
//! - live panels on a busy target: cost on the target with nobody watching, 1 and 200 viewers, connections, frame
//!   delay, memory with 200 viewers, the activity API (live.rs);
//! - the lock graph on a target of its own: cost per sample with 20,000 locks held, the graph
//!   API with 500 sessions waiting (locks.rs);
//! - fleets of 60 and 200 targets on one instance: CPU and memory with nobody watching and with
//!   a page open on every target, the Fleet page's latency (fleet.rs);
//! - two instances on one PostgreSQL store: the target's statements with one and with two,
//!   monitor connections, frames relayed to the instance that does not sample, fail-over after
//!   SIGKILL (cluster.rs).
//!
//! - the Maintenance page on a database of 2,000 tables (maintenance.rs);
//! - every page's requests per second in a real browser, and pgpanel's CPU with a Queries tab
//!   open (pages.rs).
//!
//! - the server log: a burst of 10,000 lines until found through the API, the API with filters
//!   over 1,000,000 stored entries (logs.rs); following the log is in the live phase's cost.
//!
//! - a flood of refused requests: the store's growth, latency during it and memory; the audit
//!   trail's API and page with 100,000 refused rows in it (flood.rs).
//!
//! `--phases` runs some of them: `main` (one busy target: everything but the lock graph, the
//! fleets and the instances), `locks`, `fleet`, `cluster`.
//!
//! Later issues add their own measurements here.

mod advice;
mod cluster;
mod fleet;
mod flood;
mod live;
mod locks;
mod login;
mod logs;
mod maintenance;
mod pages;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use sqlx::{Connection, Executor, PgConnection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use harness::{ClusterOptions, TempCluster};

const BENCH_PASSWORD: &str = "bench passphrase 1";

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Requests for the time-to-first-byte measurement.
    #[arg(long, default_value_t = 500)]
    requests: usize,
    /// Seconds to let the server settle before reading its idle memory.
    #[arg(long, default_value_t = 10)]
    idle_seconds: u64,
    /// Seconds of steady sign-in load at 20 logins/s.
    #[arg(long, default_value_t = 15)]
    login_seconds: u64,
    /// Seconds over which the live panels' cost on the target is measured (each of 1 and 200
    /// viewers); reported per minute.
    #[arg(long, default_value_t = 60)]
    cost_seconds: u64,
    /// Seconds each page is watched for its request rate (0: skip the browser phase).
    #[arg(long, default_value_t = 10)]
    page_seconds: u64,
    /// Site folder with the pages' pkg/pgpanel-<page>.wasm (default: as `serve` finds it).
    #[arg(long, value_name = "DIR")]
    site_root: Option<PathBuf>,
    /// The phases to run, comma-separated (default: all of them, in this order).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "main,locks,fleet,cluster"
    )]
    phases: Vec<Phase>,
}

/// A part of the benchmark that can run alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// One busy target: memory, TTFB, sign-in, live panels' cost, pages, maintenance, advice,
    /// logs and the request flood.
    Main,
    /// The lock graph with 20,000 locks held.
    Locks,
    /// Fleets of 60 and 200 targets on one instance.
    Fleet,
    /// Two instances on one PostgreSQL store.
    Cluster,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Setup(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

fn setup(what: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(format!("{what}: {e}"))
}

pub async fn run(args: BenchArgs) -> Result<(), BenchError> {
    if cfg!(debug_assertions) {
        println!("warning: this is a debug build; budgets are for release builds");
    }
    let site_root = args
        .site_root
        .clone()
        .unwrap_or_else(|| crate::serve::resolve_site_root(None));
    let exe = std::env::current_exe()?;

    println!("pgpanel bench");
    // Each page's own wasm (`.ci/build-front`): what its first visit loads besides the JS glue
    // and the stylesheet.
    for bundle in app::pages::bundles() {
        let wasm = site_root.join(format!("pkg/pgpanel-{bundle}.wasm"));
        match std::fs::read(&wasm) {
            Ok(bytes) => {
                let gz = gzip_len(&bytes)?;
                println!(
                    "  wasm {bundle:<12} {}: {} raw, {} gzip (budget: 400 KB gzip with JS and CSS)",
                    wasm.display(),
                    kib(bytes.len() as u64),
                    kib(gz)
                );
            }
            Err(e) => println!("  wasm {bundle:<12} {}: not found ({e})", wasm.display()),
        }
    }
    println!("  server binary    {}", mib(std::fs::metadata(&exe)?.len()));

    let dir = tempfile::Builder::new()
        .prefix("pgpanel-bench-")
        .tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = dir.path().join("pgpanel.toml");
    let config_head = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\nsecure_cookies = false\nsite_root = {site:?}\n\n\
         [store]\nurl = \"sqlite://{store}\"\n\n\
         [monitor]\nadvice_interval_minutes = 0\n\n\
         [logs]\nmax_entries_per_minute = 20000\n\n",
        site = site_root.display().to_string(),
        store = dir.path().join("pgpanel.db").display(),
    );
    let addr = format!("127.0.0.1:{port}");
    // The dashboard's users, made the way an operator would: the CLI, password on stdin. The
    // analyst watches; the dba starts what only a dba may (an advice analysis). Every phase's
    // instance uses this store.
    std::fs::write(&config, &config_head)?;
    for (username, role) in [("bench", "analyst"), ("bench_dba", "dba")] {
        add_user(&exe, &config, username, role).await?;
    }
    let window = Duration::from_secs(args.cost_seconds.min(30));
    for phase in &args.phases {
        match phase {
            Phase::Main => main_phase(&args, &exe, &config, &config_head, &addr).await?,
            Phase::Locks => locks::run(&exe, &config, &config_head, &addr, window).await?,
            Phase::Fleet => {
                for targets in fleet::FLEETS {
                    fleet::run(&exe, &config, &config_head, &addr, window, targets).await?;
                }
            }
            Phase::Cluster => {
                cluster::run(&exe, dir.path(), Duration::from_secs(args.cost_seconds)).await?
            }
        }
    }
    Ok(())
}

/// The busy target on one instance with a SQLite store (`config`, in the bench's folder).
async fn main_phase(
    args: &BenchArgs,
    exe: &Path,
    config: &Path,
    config_head: &str,
    addr: &str,
) -> Result<(), BenchError> {
    let mut options = ClusterOptions::default();
    for (name, value) in live::SETTINGS.iter().chain(logs::SETTINGS) {
        options = options.setting(name, value);
    }
    let (cluster, admin) = monitored_cluster(options, "").await?;
    admin.close().await.map_err(|e| setup("connecting", e))?;
    let busy = live::load(&cluster).await?;
    logs::prepare(&cluster, "bench_monitor").await?;
    std::fs::write(
        config,
        format!(
            "{config_head}[[targets]]\nid = \"bench\"\nname = \"Bench\"\nmonitor_url = \"{url}\"\n",
            url = cluster.url_as("bench_monitor", "bench", "postgres"),
        ),
    )?;
    let mut child = spawn_serve(exe, config)?;
    let pid = child
        .id()
        .ok_or_else(|| setup("starting pgpanel", "no pid"))?;

    let result = async {
        let cookie = wait_until_target_up(addr).await?;
        tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
        let idle = rss_kib(pid)?;
        println!(
            "  idle RSS         {} with 1 target, after {} s idle (budget: 40 MiB): {} anonymous, {} the binary's code and other files",
            mib(idle * 1024),
            args.idle_seconds,
            mib(status_kib(pid, "RssAnon")? * 1024),
            mib(status_kib(pid, "RssFile")? * 1024),
        );
        for _ in 0..20 {
            ttfb(addr, "/", &cookie).await?;
        }
        let mut samples = Vec::with_capacity(args.requests);
        for _ in 0..args.requests {
            samples.push(ttfb(addr, "/", &cookie).await?);
        }
        samples.sort();
        let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        println!(
            "  Overview TTFB    median {:.2} ms, p95 {:.2} ms, max {:.2} ms over {} requests (budget: 20 ms median)",
            ms(pick(0.5)),
            ms(pick(0.95)),
            ms(pick(1.0)),
            samples.len()
        );
        println!("  RSS after load   {}", mib(rss_kib(pid)? * 1024));
        login::run(addr, "bench", BENCH_PASSWORD, pid, args.login_seconds).await?;
        let cookie = login::sign_in(addr, "bench", BENCH_PASSWORD).await?;
        live::run(
            addr,
            &cookie,
            pid,
            &cluster,
            Duration::from_secs(args.cost_seconds),
        )
        .await?;
        // In a browser, on the busy target (the Queries page has 5,000 statements to show).
        if args.page_seconds > 0 {
            pages::run(addr, "bench", BENCH_PASSWORD, pid, args.page_seconds).await?;
        }
        // After the live measurements: 2,000 more tables would add to their database reads.
        maintenance::run(addr, &cookie, &cluster).await?;
        let dba = login::sign_in(addr, "bench_dba", BENCH_PASSWORD).await?;
        advice::run(addr, &dba, &cluster).await?;
        let store = config.with_file_name("pgpanel.db");
        logs::run(addr, &cookie, &cluster, &store).await?;
        flood::run(addr, &cookie, pid, &store).await?;
        Ok::<(), BenchError>(())
    }
    .await;

    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    drop(busy);
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .map_err(|e| setup("stopping PostgreSQL", e))?;
    result
}

/// A dashboard user, made the way an operator would: the CLI, the password on stdin.
pub(crate) async fn add_user(
    exe: &Path,
    config: &Path,
    username: &str,
    role: &str,
) -> Result<(), BenchError> {
    let mut add = tokio::process::Command::new(exe)
        .args([
            "user",
            "add",
            "--username",
            username,
            "--role",
            role,
            "--config",
        ])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = add.stdin.take() {
        stdin.write_all(BENCH_PASSWORD.as_bytes()).await?;
    }
    if !add.wait().await?.success() {
        return Err(setup("creating the bench users", "pgpanel user add failed"));
    }
    Ok(())
}

/// A throwaway server with the bench's monitor login (`bench_monitor`, pg_monitor); `sql` runs
/// after, as the superuser; the superuser's connection is handed back.
pub(crate) async fn monitored_cluster(
    options: ClusterOptions,
    sql: &str,
) -> Result<(TempCluster, PgConnection), BenchError> {
    let cluster = TempCluster::start_async(options)
        .await
        .map_err(|e| setup("starting PostgreSQL", e))?;
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .map_err(|e| setup("connecting", e))?;
    su.execute(
        format!(
            "create role bench_monitor login password 'bench'; grant pg_monitor to bench_monitor; {sql}"
        )
        .as_str(),
    )
    .await
    .map_err(|e| setup("preparing a target", e))?;
    Ok((cluster, su))
}

/// `pgpanel serve --config FILE`, quiet, ended when dropped.
pub(crate) fn spawn_serve(exe: &Path, config: &Path) -> std::io::Result<tokio::process::Child> {
    tokio::process::Command::new(exe)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
}

fn gzip_len(bytes: &[u8]) -> std::io::Result<u64> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::best());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len() as u64)
}

fn kib(n: u64) -> String {
    format!("{:.1} KB", n as f64 / 1024.0)
}

fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / 1024.0 / 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn rss_kib(pid: u32) -> Result<u64, BenchError> {
    status_kib(pid, "VmRSS")
}

/// A memory figure of /proc/PID/status, in KiB (`VmRSS`, `RssAnon`, `RssFile`).
fn status_kib(pid: u32, field: &str) -> Result<u64, BenchError> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| setup("reading memory", format!("no {field} in /proc/PID/status")))
}

/// One GET on a fresh connection, signed in: time from sending the request to the first
/// response byte. The whole response is read and must be a 200.
async fn ttfb(addr: &str, path: &str, cookie: &str) -> Result<Duration, BenchError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let start = Instant::now();
    let mut first = [0_u8; 1];
    stream.read_exact(&mut first).await?;
    let elapsed = start.elapsed();
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await?;
    let head = String::from_utf8_lossy(&rest[..rest.len().min(16)]).into_owned();
    if !(first[0] == b'H' && head.starts_with("TTP/1.1 200")) {
        return Err(setup(
            "requesting the Overview",
            format!("unexpected answer: H{head}"),
        ));
    }
    Ok(elapsed)
}

/// Signs in once the server answers, then waits for the target; returns the session cookie.
async fn wait_until_target_up(addr: &str) -> Result<String, BenchError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut cookie = None;
    loop {
        if cookie.is_none() {
            cookie = login::sign_in(addr, "bench", BENCH_PASSWORD).await.ok();
        }
        if let Some(c) = &cookie
            && let Ok((200, body)) =
                login::request(addr, "GET", "/api/targets", &[("Cookie", c)], "").await
            && body.contains("\"state\":\"up\"")
            && body.contains("\"measured_at\"")
        {
            return Ok(c.clone());
        }
        if Instant::now() > deadline {
            return Err(setup(
                "waiting for pgpanel",
                "the target was not up within 60 s",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
