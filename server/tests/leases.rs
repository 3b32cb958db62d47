//! Target leases with several instances on one PostgreSQL store, against a real target: each
//! target is sampled by one instance (the target sees as many reads with two instances as with
//! one, and no more than 3 monitor connections per target); the leases spread; the instance
//! that does not sample a target streams its frames within 500 ms of the sample and renders
//! them; a holder killed with SIGKILL is replaced within 15 s, also among three instances (the
//! two left take its share), and so is one that hangs (SIGSTOP), which does not sample again when
//! it wakes; an instance cut off from its store stops sampling, answers "store unavailable", and
//! the other takes over.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};

use crate::common::{Caller, PASSWORD, eventually_json, fixture_from, read_events, test_config};
use harness::{ClusterOptions, TempCluster};
use server::config::{Config, TargetConfig};
use server::serve::{RunningServer, start_with_clock};

const TARGETS: [&str; 4] = ["main", "t2", "t3", "t4"];

/// The activity read, as pg_stat_statements normalises it.
const ACTIVITY_READ: &str = "%pg_backend_pid() as is_self%";

async fn clusters() -> (TempCluster, TempCluster) {
    let store = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("store cluster");
    let target = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("target cluster");
    (store, target)
}

/// An instance's configuration: the store at `store_url`, `targets` on `target`, every target
/// sampled each second whether watched or not (so reads can be counted in seconds).
fn config(
    dir: &std::path::Path,
    store_url: &str,
    target: &TempCluster,
    targets: &[&str],
) -> Config {
    let mut config = test_config(dir, Some(store_url.to_owned()));
    config.monitor.live_idle_interval_ms = 1_000;
    config.monitor.probe_interval_ms = 1_000;
    config.targets = targets
        .iter()
        .map(|id| TargetConfig {
            id: (*id).into(),
            ..common::monitor_only(target.url("postgres"))
        })
        .collect();
    config
}

async fn start(config: &Config) -> (RunningServer, String) {
    let clock = app::clock::Clock::manual(time::OffsetDateTime::now_utc());
    let server = start_with_clock(config, clock).await.expect("start");
    let base = format!("http://{}", server.addr);
    (server, base)
}

async fn superuser(cluster: &TempCluster) -> PgConnection {
    PgConnection::connect(&cluster.url("postgres"))
        .await
        .expect("connect")
}

/// Activity reads the target has counted so far, over every target (they share one server).
async fn activity_reads(target: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(calls), 0)::int8 from pg_stat_statements where query like $1",
    )
    .bind(ACTIVITY_READ)
    .fetch_one(target)
    .await
    .expect("pg_stat_statements")
}

/// Whether `other` reads per second are `one`'s within 10 % (and one read more or less in the
/// 8 s window: a tick's jitter at its edges).
fn same_rate(one: f64, other: f64) -> bool {
    (other - one).abs() <= one * 0.1 + 0.15
}

/// pgpanel's monitor connections on the target, over every instance.
async fn monitor_connections(target: &mut PgConnection) -> i64 {
    sqlx::query_scalar("select count(*) from pg_stat_activity where application_name = 'pgpanel'")
        .fetch_one(target)
        .await
        .unwrap()
}

/// Activity reads per second over `window`.
async fn read_rate(target: &mut PgConnection, window: Duration) -> f64 {
    let before = activity_reads(target).await;
    tokio::time::sleep(window).await;
    let after = activity_reads(target).await;
    (after - before) as f64 / window.as_secs_f64()
}

/// Which of `servers` samples each of `targets` now (`None`: none of them; a panic: several).
fn holders(servers: &[&RunningServer], targets: &[&str]) -> Vec<Option<usize>> {
    targets
        .iter()
        .map(|id| {
            let leading: Vec<usize> = servers
                .iter()
                .enumerate()
                .filter(|(_, s)| s.state.targets.get(id).unwrap().leads())
                .map(|(i, _)| i)
                .collect();
            assert!(leading.len() <= 1, "{id} is sampled by {leading:?}");
            leading.first().copied()
        })
        .collect()
}

async fn until<T>(limit: Duration, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_sample_each_target_once_and_the_other_streams_its_frames() {
    let (store, target) = clusters().await;
    let url = store.url("postgres");
    let mut su = superuser(&target).await;
    let dir_a = tempfile::tempdir().unwrap();
    let a = fixture_from(config(dir_a.path(), &url, &target, &TARGETS), dir_a).await;

    // Alone, A samples every target, from its first lease round on.
    assert!(
        holders(&[&a.server], &TARGETS)
            .iter()
            .all(|h| *h == Some(0)),
        "A alone holds every lease at start"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let one = read_rate(&mut su, Duration::from_secs(8)).await;
    assert!(
        (3.0..=5.0).contains(&one),
        "4 targets sampled each second by one instance: {one} reads/s"
    );

    // B joins: A gives up two leases, B takes them; never one target on both.
    let dir_b = tempfile::tempdir().unwrap();
    let (b, b_base) = start(&config(dir_b.path(), &url, &target, &TARGETS)).await;
    let split = until(Duration::from_secs(15), "the leases spread", async || {
        let h = holders(&[&a.server, &b], &TARGETS);
        let on_a = h.iter().filter(|x| **x == Some(0)).count();
        let on_b = h.iter().filter(|x| **x == Some(1)).count();
        (on_a == 2 && on_b == 2).then_some(h)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let two = read_rate(&mut su, Duration::from_secs(8)).await;
    assert!(
        same_rate(one, two),
        "two instances read as often as one: {one} against {two} reads/s"
    );
    assert_eq!(holders(&[&a.server, &b], &TARGETS), split, "stable");

    // At most 3 monitor connections per target, over both instances.
    let monitors = monitor_connections(&mut su).await;
    assert!(
        monitors <= 3 * TARGETS.len() as i64,
        "{monitors} monitor connections"
    );

    // /api/cluster says which targets each samples.
    let root = Caller::signed_in(&a.base, "root", PASSWORD).await;
    let view = eventually_json(&root, "/api/cluster", |v| {
        v["instances"].as_array().is_some_and(|i| {
            i.iter()
                .all(|i| i["targets"].as_array().map(Vec::len) == Some(2))
        })
    })
    .await;
    assert_eq!(view["instances"].as_array().unwrap().len(), 2, "{view}");

    // A target A samples, watched on B: B streams its frames within 500 ms of the sample.
    let on_a = TARGETS[split.iter().position(|h| *h == Some(0)).unwrap()];
    let ana = Caller::signed_in(&b_base, "ana", PASSWORD).await;
    let mut res = ana
        .get(&format!("/live?target={on_a}&topics=overview,activity"))
        .await;
    assert_eq!(res.status(), 200);
    // The first of each topic is the latest frame B had; then B's viewer makes A sample each
    // second (through the lease row) and every frame is relayed as it is taken.
    let _ = read_events(&mut res, 2).await;
    let mut delays = Vec::new();
    for _ in 0..6 {
        let (name, data) = read_events(&mut res, 1).await.remove(0);
        let got = app::clock::to_millis(time::OffsetDateTime::now_utc());
        let frame: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(frame["target"], on_a, "{name}");
        if name == "overview" {
            delays.push(got - frame["at_ms"].as_i64().unwrap());
        }
    }
    println!(
        "activity reads/s: {one:.2} with one instance, {two:.2} with two; {monitors} monitor connections; relay delays {delays:?} ms"
    );
    assert!(delays.len() >= 2, "{delays:?}");
    assert!(
        delays.iter().all(|d| (0..=500).contains(d)),
        "delays from sample to B's stream (ms): {delays:?}"
    );
    // The viewer on B makes A sample that target at the fast cadence: A learns of it through
    // the lease row within two lease rounds (B's, then its own).
    let lease_on_a = async || {
        a.server
            .state
            .targets
            .get(on_a)
            .unwrap()
            .lease()
            .watched_elsewhere()
            .then_some(())
    };
    until(
        Duration::from_secs(6),
        "A learns the target is watched on B",
        lease_on_a,
    )
    .await;
    // B renders what A sampled: the overview, the sessions and the target's facts.
    let overview = eventually_json(&ana, &format!("/api/overview?target={on_a}"), |v| {
        v["latest"]["fast"].is_object() && v["target"]["status"]["state"] == "up"
    })
    .await;
    assert_eq!(overview["target"]["id"], on_a);
    let (status, sessions) = ana
        .json(&format!("/api/activity/sessions?target={on_a}"))
        .await;
    assert_eq!(status, 200, "{sessions}");
    let page = ana.get(&format!("/activity?target={on_a}")).await;
    assert_eq!(page.status(), 200);
    drop(res);

    // B stops cleanly: A takes its leases back at once (no expiry to wait for).
    let stopped = Instant::now();
    b.stop().await;
    until(
        Duration::from_secs(5),
        "A takes every lease back",
        async || {
            holders(&[&a.server], &TARGETS)
                .iter()
                .all(|h| *h == Some(0))
                .then_some(())
        },
    )
    .await;
    println!("leases back on A {:?} after B stopped", stopped.elapsed());
    a.server.stop().await;
}

/// A `pgpanel serve` process.
struct Process {
    child: std::process::Child,
    listen: String,
    _dir: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_serve(store_url: &str, target: &TempCluster, targets: &[&str]) -> Process {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let file = dir.path().join("pgpanel.toml");
    std::fs::write(
        &file,
        format!(
            "[http]\nlisten = \"{listen}\"\nsecure_cookies = false\nsite_root = \"{site}\"\n\n\
             [store]\nurl = \"{store_url}\"\n\n\
             [monitor]\nlive_idle_interval_ms = 1000\nadvice_interval_minutes = 0\n\n{targets}",
            site = dir.path().join("site").display(),
            targets = targets
                .iter()
                .map(|id| format!(
                    "[[targets]]\nid = \"{id}\"\nmonitor_url = \"{}\"\n",
                    target.url("postgres")
                ))
                .collect::<String>(),
        ),
    )
    .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pgpanel"))
        .args(["serve", "--config"])
        .arg(&file)
        .env_remove("PGPANEL_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn pgpanel serve");
    Process {
        child,
        listen,
        _dir: dir,
    }
}

/// The instance (by its listen address) that holds `main`'s lease now.
async fn lease_of_main(store: &mut PgConnection) -> Option<String> {
    lease_holders(store, &["main"]).await.remove(0)
}

/// Waits until the store lists two running instances.
async fn both_run(db: &mut PgConnection) {
    until(Duration::from_secs(60), "both instances run", async || {
        let n: i64 =
            sqlx::query_scalar("select count(*) from instances where stopped_at_ms is null")
                .fetch_one(&mut *db)
                .await
                .unwrap();
        (n == 2).then_some(())
    })
    .await;
}

/// After `main`'s holder failed (`how`, at `at`; it reads nothing more, and the other does not
/// sample yet): waits for `survivor` to take the lease and for the target's next activity read,
/// which is the survivor's, and checks that came within 15 s.
async fn take_over(
    db: &mut PgConnection,
    on_target: &mut PgConnection,
    survivor: &str,
    at: Instant,
    how: &str,
) {
    let reads = activity_reads(on_target).await;
    until(
        Duration::from_secs(20),
        "the survivor takes the lease",
        async || (lease_of_main(db).await.as_deref() == Some(survivor)).then_some(()),
    )
    .await;
    let taken = at.elapsed();
    until(
        Duration::from_secs(20),
        "the survivor samples",
        async || (activity_reads(on_target).await > reads).then_some(()),
    )
    .await;
    let sampling = at.elapsed();
    println!("after {how}: lease taken in {taken:?}, first sample in {sampling:?}");
    assert!(
        sampling <= Duration::from_secs(15),
        "fail-over took {sampling:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_with_sigkill_is_replaced_within_fifteen_seconds() {
    let (store, target) = clusters().await;
    let url = store.url("postgres");
    let mut db = superuser(&store).await;
    let first = spawn_serve(&url, &target, &["main"]);
    let holder = until(
        Duration::from_secs(60),
        "the first instance samples main",
        async || lease_of_main(&mut db).await,
    )
    .await;
    assert_eq!(holder, first.listen);
    let mut second = Some(spawn_serve(&url, &target, &["main"]));
    let mut first = Some(first);
    both_run(&mut db).await;
    // With one target, the first keeps it: the second has nothing to take.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(lease_of_main(&mut db).await, Some(holder.clone()));

    // A session waits on a row lock across the fail-over: one lock episode, not two.
    let mut on_target = superuser(&target).await;
    on_target
        .execute("create table \"Held Row\" (id int); insert into \"Held Row\" values (1)")
        .await
        .unwrap();
    let mut holder_tx = superuser(&target).await;
    holder_tx
        .execute("begin; update \"Held Row\" set id = 2")
        .await
        .unwrap();
    let mut waiter_conn = superuser(&target).await;
    let waiter = tokio::spawn(async move {
        waiter_conn
            .execute("update \"Held Row\" set id = 3")
            .await
            .map(|_| ())
    });
    let episodes = async |db: &mut PgConnection| -> Vec<(i64, Option<i64>)> {
        sqlx::query_as(
            "select started_ms, ended_ms from lock_episodes where target_id = 'main' \
             order by started_ms",
        )
        .fetch_all(db)
        .await
        .unwrap()
    };
    let started = until(
        Duration::from_secs(20),
        "the first instance records the episode",
        async || {
            let e = episodes(&mut db).await;
            (e.len() == 1 && e[0].1.is_none()).then(|| e[0].0)
        },
    )
    .await;

    let mut killed = first.take().unwrap();
    killed.child.kill().expect("SIGKILL");
    killed.child.wait().unwrap();
    let at = Instant::now();
    let killed_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let survivor = &second.as_ref().unwrap().listen;
    take_over(&mut db, &mut on_target, survivor, at, "SIGKILL").await;
    // The survivor goes on with the episode (written again within 10 s of its first sample)…
    until(
        Duration::from_secs(20),
        "the survivor writes the episode",
        async || {
            let seen: Option<i64> = sqlx::query_scalar(
                "select max(seen_ms) from lock_episodes where target_id = 'main'",
            )
            .fetch_one(&mut db)
            .await
            .unwrap();
            seen.is_some_and(|s| s > killed_ms).then_some(())
        },
    )
    .await;
    assert_eq!(episodes(&mut db).await, vec![(started, None)]);
    // …and ends it when the lock is released.
    holder_tx.execute("commit").await.unwrap();
    waiter.await.unwrap().unwrap();
    let ended = until(Duration::from_secs(20), "the episode ends", async || {
        let e = episodes(&mut db).await;
        e.first().and_then(|e| e.1).map(|_| e)
    })
    .await;
    assert_eq!(
        ended.len(),
        1,
        "one episode across the fail-over: {ended:?}"
    );
    assert_eq!(ended[0].0, started);
    drop(second.take());
}

/// Sends `signal` (`STOP`, `CONT`) to `process`.
fn signal(process: &Process, signal: &str) {
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(process.child.id().to_string())
        .status()
        .expect("kill");
    assert!(sent.success(), "kill -{signal}");
}

/// The holder hangs (SIGSTOP: it neither renews nor samples, its connections stay open): the
/// other instance takes over within 15 s. When the hung one wakes (SIGCONT) it finds its lease
/// gone by its own clock and does not sample again: the target is still read once a tick.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_holder_is_replaced_and_does_not_sample_when_it_wakes() {
    let (store, target) = clusters().await;
    let url = store.url("postgres");
    let mut db = superuser(&store).await;
    let mut on_target = superuser(&target).await;
    let first = spawn_serve(&url, &target, &["main"]);
    until(
        Duration::from_secs(60),
        "the first instance samples main",
        async || (lease_of_main(&mut db).await == Some(first.listen.clone())).then_some(()),
    )
    .await;
    let second = spawn_serve(&url, &target, &["main"]);
    both_run(&mut db).await;
    let one = read_rate(&mut on_target, Duration::from_secs(8)).await;
    assert!(one >= 0.8, "one instance reads {one:.2} times a second");

    signal(&first, "STOP");
    let at = Instant::now();
    take_over(&mut db, &mut on_target, &second.listen, at, "SIGSTOP").await;
    let taken_over = read_rate(&mut on_target, Duration::from_secs(8)).await;
    assert!(
        same_rate(one, taken_over),
        "{one:.2} then {taken_over:.2} reads/s"
    );

    // Woken, the first sees its deadline passed: one sampler still, the lease stays where it is.
    signal(&first, "CONT");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let woken = read_rate(&mut on_target, Duration::from_secs(8)).await;
    assert!(
        same_rate(one, woken),
        "{one:.2} reads/s with one sampler, {woken:.2} after the hung instance woke"
    );
    assert_eq!(lease_of_main(&mut db).await, Some(second.listen.clone()));
    // It serves again (its pages show what the holder relays).
    let health = common::client()
        .get(format!("http://{}/healthz", first.listen))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), 200);
}

/// Which instance (by listen address) holds each of `targets` by the store's lease rows now
/// (`None`: no live lease).
async fn lease_holders(store: &mut PgConnection, targets: &[&str]) -> Vec<Option<String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select l.target_id, i.listen from target_leases l join instances i on i.id = l.instance_id \
         where l.expires_at_ms > (extract(epoch from clock_timestamp()) * 1000)::int8",
    )
    .fetch_all(store)
    .await
    // Not migrated yet (the first instance is starting).
    .unwrap_or_default();
    targets
        .iter()
        .map(|t| rows.iter().find(|(id, _)| id == t).map(|(_, l)| l.clone()))
        .collect()
}

/// How many of `holders` each of `instances` holds.
fn shares(holders: &[Option<String>], instances: &[&Process]) -> Vec<usize> {
    instances
        .iter()
        .map(|p| {
            holders
                .iter()
                .filter(|h| h.as_deref() == Some(&p.listen))
                .count()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_share_six_targets_and_the_two_left_take_a_killed_ones_share() {
    const SIX: [&str; 6] = ["s1", "s2", "s3", "s4", "s5", "s6"];
    let (store, target) = clusters().await;
    let url = store.url("postgres");
    let mut db = superuser(&store).await;
    let mut su = superuser(&target).await;

    // One instance alone samples all six, each every second.
    let a = spawn_serve(&url, &target, &SIX);
    until(Duration::from_secs(60), "A holds every lease", async || {
        (shares(&lease_holders(&mut db, &SIX).await, &[&a]) == [6]).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let one = read_rate(&mut su, Duration::from_secs(8)).await;
    assert!(
        (5.0..=7.5).contains(&one),
        "6 targets sampled each second by one instance: {one} reads/s"
    );

    // Two more: the leases spread two by two, and the target is read as often as before.
    let b = spawn_serve(&url, &target, &SIX);
    let mut c = Some(spawn_serve(&url, &target, &SIX));
    until(
        Duration::from_secs(60),
        "the leases spread 2/2/2",
        async || {
            let h = lease_holders(&mut db, &SIX).await;
            (shares(&h, &[&a, &b, c.as_ref().unwrap()]) == [2, 2, 2]).then_some(())
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let three = read_rate(&mut su, Duration::from_secs(8)).await;
    assert!(
        same_rate(one, three),
        "three instances read as often as one: {one} against {three} reads/s"
    );
    let monitors = monitor_connections(&mut su).await;
    assert!(
        monitors <= 3 * SIX.len() as i64,
        "{monitors} monitor connections"
    );

    // SIGKILL of C: A and B take its two targets within 15 s, three each, and the target is
    // still read as often as with one instance (never one target sampled twice).
    let mut killed = c.take().unwrap();
    let orphans: Vec<&str> = SIX
        .iter()
        .zip(lease_holders(&mut db, &SIX).await)
        .filter(|(_, h)| h.as_deref() == Some(&killed.listen))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(orphans.len(), 2, "{orphans:?}");
    killed.child.kill().expect("SIGKILL");
    killed.child.wait().unwrap();
    let at = Instant::now();
    until(
        Duration::from_secs(20),
        "A and B hold every lease",
        async || {
            let h = lease_holders(&mut db, &SIX).await;
            (shares(&h, &[&a, &b]).iter().sum::<usize>() == 6).then_some(())
        },
    )
    .await;
    let taken = at.elapsed();
    assert!(
        taken <= Duration::from_secs(15),
        "the killed one's leases taken after {taken:?}"
    );
    until(
        Duration::from_secs(20),
        "the leases spread 3/3",
        async || (shares(&lease_holders(&mut db, &SIX).await, &[&a, &b]) == [3, 3]).then_some(()),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let two = read_rate(&mut su, Duration::from_secs(8)).await;
    println!(
        "activity reads/s: {one:.2} with one instance, {three:.2} with three, {two:.2} with two after SIGKILL of the third (its leases taken in {taken:?}); {monitors} monitor connections"
    );
    assert!(
        same_rate(one, two),
        "two instances after the fail-over read as often as one: {one} against {two} reads/s"
    );
    drop((a, b));
}

/// A TCP proxy to `to` that can be cut: every connection through it ends, and new ones fail.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(to: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        let task = tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        if flag.load(Ordering::SeqCst) {
                            continue;
                        }
                        links.spawn(async move {
                            if let Ok(mut out) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            }
                        });
                    }
                    () = tokio::time::sleep(Duration::from_millis(50)) => {
                        if flag.load(Ordering::SeqCst) {
                            links.abort_all();
                        }
                    }
                }
            }
        });
        Self { port, cut, task }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_cut_off_from_its_store_stops_sampling_and_the_other_takes_over() {
    let (store, target) = clusters().await;
    let proxy = Proxy::start(store.port()).await;
    let through_proxy = store
        .url("postgres")
        .replace(&format!(":{}/", store.port()), &format!(":{}/", proxy.port));
    let dir_a = tempfile::tempdir().unwrap();
    let a = fixture_from(
        config(dir_a.path(), &through_proxy, &target, &["main"]),
        dir_a,
    )
    .await;
    let dir_b = tempfile::tempdir().unwrap();
    let (b, b_base) = start(&config(
        dir_b.path(),
        &store.url("postgres"),
        &target,
        &["main"],
    ))
    .await;
    let ana = Caller::signed_in(&a.base, "ana", PASSWORD).await;
    assert!(a.server.state.targets.get("main").unwrap().leads());
    assert!(!b.state.targets.get("main").unwrap().leads());

    proxy.cut.store(true, Ordering::SeqCst);
    let cut = Instant::now();
    // A stops by itself before the lease expires in the store; B takes it after it expired.
    until(Duration::from_secs(12), "A stops sampling", async || {
        (!a.server.state.targets.get("main").unwrap().leads()).then_some(())
    })
    .await;
    let stopped = cut.elapsed();
    until(Duration::from_secs(16), "B takes over", async || {
        b.state.targets.get("main").unwrap().leads().then_some(())
    })
    .await;
    let over = cut.elapsed();
    println!("store cut: A stopped after {stopped:?}, B sampled after {over:?}");
    assert!(over <= Duration::from_secs(15), "{over:?}");
    assert!(holders(&[&a.server, &b], &["main"])[0] == Some(1));

    // A says its store is unavailable; B goes on serving the same session.
    let res = ana.get("/api/auth/me").await;
    assert_eq!(res.status(), 503);
    let text = res.text().await.unwrap();
    assert!(text.contains("cannot reach its own store"), "{text}");
    let on_b = Caller {
        base: b_base.clone(),
        cookie: ana.cookie.clone(),
        http: common::client(),
    };
    let (status, me) = on_b.json("/api/auth/me").await;
    assert_eq!((status, me["username"].as_str()), (200, Some("ana")));
    eventually_json(&on_b, "/api/overview?target=main", |v| {
        v["latest"]["fast"].is_object()
    })
    .await;
    b.stop().await;
    drop(proxy);
    a.server.stop().await;
}

/// Job `id` as instance `c` lists it.
async fn job_on(c: &Caller, id: i64) -> serde_json::Value {
    let (status, jobs) = c.json("/api/actions/jobs?target=main").await;
    assert_eq!(status, 200, "{jobs}");
    jobs.as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id)
        .cloned()
        .expect("job listed")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_started_on_one_instance_is_followed_and_cancelled_from_the_other() {
    let (store, target) = clusters().await;
    let mut su = superuser(&target).await;
    // A table big enough for many seconds of VACUUM once the action login's vacuum is throttled.
    su.execute(
        "create role pgpanel_action login password 'act'; \
         grant pg_signal_backend, pg_read_all_stats to pgpanel_action; \
         create table big (id int, pad text) with (autovacuum_enabled = false); \
         alter table big owner to pgpanel_action; \
         insert into big select g, repeat('x', 100) from generate_series(1, 300000) g; \
         delete from big where id % 2 = 0; \
         alter role pgpanel_action set vacuum_cost_delay = '10ms'; \
         alter role pgpanel_action set vacuum_cost_limit = 20",
    )
    .await
    .unwrap();
    let with_action = |dir: &std::path::Path| {
        let mut c = config(dir, &store.url("postgres"), &target, &["main"]);
        c.targets[0].action_url = Some(target.url_as("pgpanel_action", "act", "postgres"));
        c
    };
    let dir_a = tempfile::tempdir().unwrap();
    let a = fixture_from(with_action(dir_a.path()), dir_a).await;
    let dir_b = tempfile::tempdir().unwrap();
    let (b, b_base) = start(&with_action(dir_b.path())).await;
    let dora_a = Caller::signed_in(&a.base, "dora", PASSWORD).await;
    let dora_b = Caller {
        base: b_base.clone(),
        cookie: dora_a.cookie.clone(),
        http: common::client(),
    };

    let (status, job) = common::body(
        dora_a
            .post(
                "/api/actions/vacuum",
                &[
                    ("target", "main"),
                    ("database", "postgres"),
                    ("schema", "public"),
                    ("table", "big"),
                ],
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{job}");
    let id = job["id"].as_i64().unwrap();

    // B lists A's job as running, with its progress read from the backend its row names.
    let progress = until(
        Duration::from_secs(30),
        "B shows the job's progress",
        async || {
            let j = job_on(&dora_b, id).await;
            assert_eq!(j["state"], "running", "{j}");
            (j["progress"]["blocks_done"].as_i64().unwrap_or(0) > 0).then(|| j["progress"].clone())
        },
    )
    .await;
    assert_eq!(progress["command"], "VACUUM", "{progress}");
    assert!(
        progress["blocks_total"].as_i64().unwrap() > 1000,
        "{progress}"
    );

    // Cancelled from B: A's job ends cancelled (not failed), as both list it.
    let (status, body) = common::body(
        dora_b
            .post(
                "/api/actions/cancel_job",
                &[("target", "main"), ("job", &id.to_string())],
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let done = until(Duration::from_secs(30), "the job ends", async || {
        let j = job_on(&dora_a, id).await;
        (j["state"] != "running").then_some(j)
    })
    .await;
    assert_eq!(done["state"], "cancelled", "{done}");
    assert_eq!(job_on(&dora_b, id).await["state"], "cancelled");
    // Not running any more: 404 from either.
    for c in [&dora_a, &dora_b] {
        let res = c
            .post(
                "/api/actions/cancel_job",
                &[("target", "main"), ("job", &id.to_string())],
            )
            .await;
        assert_eq!(res.status(), 404);
    }
    b.stop().await;
    a.server.stop().await;
}

/// Log entries of target `main` whose message contains `marker`, as instance `c` lists them.
async fn logged(c: &Caller, marker: &str) -> (usize, serde_json::Value) {
    let (status, page) = c.json("/api/logs?target=main").await;
    assert_eq!(status, 200, "{page}");
    let n = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["message"].as_str().is_some_and(|m| m.contains(marker)))
        .count();
    (n, page["source"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_log_is_read_by_the_holder_once_and_shown_on_every_instance() {
    let store = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("store cluster");
    let (target, mut config, dir_a) = common::logging_target(&[]).await;
    config.store.url = store.url("postgres");
    // About 20 MB of log before pgpanel first reads it (it follows from the end): a backfill of
    // them takes a few seconds (1 MiB a read, a pause between reads).
    let mut su = superuser(&target).await;
    su.execute(
        "do $$ begin for i in 1..2500 loop \
           raise log 'backfill filler % %', i, repeat('x', 8000); end loop; end $$",
    )
    .await
    .unwrap();
    let a = fixture_from(config.clone(), dir_a).await;
    let (b, b_base) = start(&config).await;
    assert!(a.server.state.targets.get("main").unwrap().leads());
    let ana = Caller::signed_in(&a.base, "ana", PASSWORD).await;
    let on_b = Caller {
        base: b_base.clone(),
        cookie: ana.cookie.clone(),
        http: common::client(),
    };
    // A new target's log is followed from its end at the first read: wait for that read.
    until(Duration::from_secs(10), "A reads the log", async || {
        logged(&ana, "-").await.1["polled_at"]
            .is_string()
            .then_some(())
    })
    .await;
    let _ = sqlx::query("select * from \"first_marker_table\"")
        .execute(&mut su)
        .await;
    // Read by A; listed by both from the store, once. B says who reads it.
    let source = until(
        Duration::from_secs(20),
        "the error is listed on B",
        async || {
            let (n, source) = logged(&on_b, "first_marker_table").await;
            (n == 1).then_some(source)
        },
    )
    .await;
    assert_eq!(source["reading"], true, "{source}");
    assert!(
        source["read_elsewhere"]
            .as_str()
            .is_some_and(|a| a.contains("Another pgpanel instance reads this log")),
        "{source}"
    );
    // B shows what A found: the same format and files (from the store), and when A read.
    let on_a = logged(&ana, "first_marker_table").await;
    assert_eq!(on_a.0, 1);
    assert_eq!(source["format"], on_a.1["format"], "{source}");
    assert!(source["format"].is_string(), "{source}");
    let names = |s: &serde_json::Value| -> Vec<String> {
        s["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["name"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(!names(&source).is_empty(), "{source}");
    assert_eq!(names(&source), names(&on_a.1), "{source}");
    assert!(source["polled_at"].is_string(), "{source}");

    // A backfill started on B (which does not read the log) runs there, once: A refuses a
    // second one while it runs, shows its progress from the store, and both show its end.
    let dora_b = Caller::signed_in(&b_base, "dora", PASSWORD).await;
    let dora_a = Caller {
        base: a.base.clone(),
        cookie: dora_b.cookie.clone(),
        http: common::client(),
    };
    let backfill = [("target", "main"), ("hours", "24")];
    let (status, started) = common::body(dora_b.post("/api/logs/backfill", &backfill).await).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["running"], true, "{started}");
    let (status, refused) = common::body(dora_a.post("/api/logs/backfill", &backfill).await).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused
            .to_string()
            .contains("on this or another pgpanel instance"),
        "{refused}"
    );
    let ended = until(
        Duration::from_secs(60),
        "A shows the backfill's end",
        async || {
            let (_, page) = dora_a.json("/api/logs?target=main").await;
            let b = page["backfill"].clone();
            assert_eq!(b["by"], "dora", "{page}");
            (b["running"] == false).then_some(b)
        },
    )
    .await;
    assert!(ended["error"].is_null(), "{ended}");
    assert!(
        ended["bytes_done"].as_i64().unwrap() > 20_000_000,
        "{ended}"
    );
    assert_eq!(ended["bytes_done"], ended["bytes_total"], "{ended}");
    assert_eq!(
        dora_b.json("/api/logs?target=main").await.1["backfill"],
        ended,
        "both show the same end"
    );
    assert!(logged(&ana, "backfill filler").await.0 > 0);

    // A stops: B takes the lease and follows the log from A's cursors, reading nothing twice.
    a.server.stop().await;
    until(Duration::from_secs(10), "B samples main", async || {
        b.state.targets.get("main").unwrap().leads().then_some(())
    })
    .await;
    let _ = sqlx::query("select * from \"second_marker_table\"")
        .execute(&mut su)
        .await;
    let source = until(
        Duration::from_secs(20),
        "B reads the log itself",
        async || {
            let (n, source) = logged(&on_b, "second_marker_table").await;
            (n == 1).then_some(source)
        },
    )
    .await;
    assert!(
        source["files"].as_array().is_some_and(|f| !f.is_empty()),
        "{source}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(logged(&on_b, "first_marker_table").await.0, 1, "read once");
    assert_eq!(logged(&on_b, "second_marker_table").await.0, 1, "read once");
    b.stop().await;
}
