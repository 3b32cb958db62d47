//! The live sampler against a throwaway cluster with a real workload: the deltas it publishes
//! match what the workload did, resets and restarts give gaps or new baselines (never negative
//! numbers), texts are read once, and a login without pg_monitor is handled.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};

use app::features::live::Live;
use app::features::live::hub::TargetHub;
use app::features::live::model::{FastPoint, Topic};
use app::features::live::sampler::LiveSchedule;
use app::features::queries::model::{Order, Window};
use app::features::targets::connect::{Login, SessionSettings};
use app::features::targets::monitor::{Schedule, TargetSpec};
use app::features::targets::registry::TargetRegistry;
use app::store::Store;
use harness::{ClusterOptions, TempCluster};

use crate::common::eventually;

const T: Duration = Duration::from_secs(30);

struct Watched {
    cluster: TempCluster,
    registry: TargetRegistry,
    live: Live,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Watched {
    fn hub(&self) -> &Arc<TargetHub> {
        self.live.hub("main").expect("hub")
    }
}

/// A store in a directory of its own (kept as long as the directory).
async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .expect("store");
    (dir, store)
}

/// A target watched through `monitor`, probed every 200 ms.
fn spec(id: &str, monitor: Login) -> TargetSpec {
    TargetSpec {
        id: id.into(),
        name: id.into(),
        monitor,
        action: None,
        session: SessionSettings::default(),
        schedule: Schedule {
            probe_interval: Duration::from_millis(200),
            facts_interval: Duration::from_millis(500),
            ..Schedule::default()
        },
        logs: Default::default(),
        audit_tables: Vec::new(),
    }
}

/// Every slow tick (1 s) reads pg_stat_statements, watched or not; every fast tick samples.
async fn watched(login: impl FnOnce(&TempCluster) -> Login, cluster: TempCluster) -> Watched {
    let schedule = LiveSchedule {
        fast: Duration::from_millis(250),
        idle: Duration::from_millis(250),
        slow: Duration::from_millis(1000),
        statements_idle: Duration::from_millis(1000),
        ..LiveSchedule::default()
    };
    watched_with(login, cluster, schedule).await
}

async fn watched_with(
    login: impl FnOnce(&TempCluster) -> Login,
    cluster: TempCluster,
    schedule: LiveSchedule,
) -> Watched {
    let (dir, store) = temp_store().await;
    let registry = TargetRegistry::start(vec![spec("main", login(&cluster))], None).await;
    eventually(T, || {
        registry
            .get("main")
            .and_then(|t| t.capability("pg_stat_statements"))
    })
    .await;
    let live = Live::start(&registry, store.clone(), schedule).await;
    Watched {
        cluster,
        registry,
        live,
        store,
        _dir: dir,
    }
}

/// Two samples so rates exist.
async fn until_rates(w: &Watched) {
    eventually(T, || {
        w.hub()
            .recent(0)
            .0
            .iter()
            .any(|p| p.commits.is_some())
            .then_some(())
    })
    .await;
}

async fn connect(cluster: &TempCluster, application: &str) -> PgConnection {
    let opts: PgConnectOptions = cluster.url("postgres").parse().expect("url");
    opts.application_name(application)
        .connect()
        .await
        .expect("connect")
}

fn points_since(hub: &TargetHub, from_ms: i64) -> Vec<FastPoint> {
    hub.recent(from_ms).0
}

/// Rates × interval between consecutive samples: what the counters moved by.
fn integrate(points: &[FastPoint], f: fn(&FastPoint) -> Option<f64>) -> f64 {
    points
        .windows(2)
        .map(|w| f(&w[1]).unwrap_or(0.0) * (w[1].at_ms - w[0].at_ms) as f64 / 1000.0)
        .sum()
}

fn now_ms() -> i64 {
    app::clock::to_millis(time::OffsetDateTime::now_utc())
}

async fn queryid_of(conn: &mut PgConnection, marker: &str) -> i64 {
    sqlx::query_scalar("select queryid from pg_stat_statements where query like $1 limit 1")
        .bind(format!("%{marker}%"))
        .fetch_one(conn)
        .await
        .expect("queryid")
}

#[tokio::test(flavor = "multi_thread")]
async fn deltas_match_the_workload_and_resets_never_go_negative() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    // A replication slot nobody reads from: its lag grows with the WAL the workload writes.
    cluster
        .psql(
            "postgres",
            "select pg_create_physical_replication_slot('pgpanel_test', true)",
        )
        .expect("slot");
    let w = watched(common::superuser_login, cluster).await;
    until_rates(&w).await;

    // 1. Tuples inserted: exactly 4,000, on a connection that then closes (flushing its stats).
    let started = now_ms();
    let mut conn = connect(&w.cluster, "live-test").await;
    conn.execute("create table t (id int, pad text)")
        .await
        .unwrap();
    for _ in 0..4 {
        conn.execute("insert into t select g, 'x' from generate_series(1, 1000) g")
            .await
            .unwrap();
    }
    conn.close().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let inserted = integrate(&points_since(w.hub(), started - 500), |p| p.tup_inserted);
    // pgpanel inserts nothing on the target; the catalog rows of CREATE TABLE add a few dozen.
    assert!(
        (4_000.0..4_200.0).contains(&inserted),
        "inserted rows seen by the sampler: {inserted}"
    );

    let slow = w.hub().recent(0).1;
    assert!(
        slow.iter()
            .any(|p| p.repl_lag_bytes.is_some_and(|b| b > 0.0)),
        "the slot's lag is read: {slow:?}"
    );
    assert!(
        slow.iter().any(|p| p.wal_bytes.is_some_and(|b| b > 0.0)),
        "{slow:?}"
    );

    // 2. A statement run 37 times: its delta is exactly 37 calls.
    let mut conn = connect(&w.cluster, "live-test").await;
    for i in 0..37 {
        sqlx::query("select count(*) as pgpanel_probe_a from t where id = $1")
            .bind(i)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let queryid = queryid_of(&mut conn, "pgpanel_probe_a").await;
    let top = |order| {
        let (store, hub, target) = (&w.store, w.hub(), w.registry.get("main").unwrap());
        async move {
            app::features::queries::top::top(
                store,
                hub,
                target,
                Window::M5,
                order,
                500,
                false,
                now_ms(),
            )
            .await
            .expect("top")
        }
    };
    let calls_of = |t: &app::features::queries::model::TopQueries| {
        t.rows
            .iter()
            .filter(|r| r.queryid == queryid.to_string())
            .map(|r| r.calls)
            .sum::<i64>()
    };
    let deadline = std::time::Instant::now() + T;
    let found = loop {
        let t = top(Order::Calls).await;
        if calls_of(&t) >= 37 {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "statement not seen");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(calls_of(&found), 37);
    let row = found
        .rows
        .iter()
        .find(|r| r.queryid == queryid.to_string())
        .unwrap();
    let text = row.query.clone().expect("text read once and cached");
    assert!(
        text.contains("pgpanel_probe_a") && text.contains("$1"),
        "{text}"
    );
    assert_eq!(row.database.as_deref(), Some("postgres"));

    // 3. pg_stat_statements_reset() by somebody else: a new baseline, reported, never negative.
    conn.execute("select pg_stat_statements_reset()")
        .await
        .unwrap();
    eventually(T, || {
        w.hub()
            .latest(Topic::Statements)
            .filter(|m| m.json.contains("\"reset\":true"))
    })
    .await;
    for i in 0..5 {
        sqlx::query("select count(*) as pgpanel_probe_a from t where id = $1")
            .bind(i)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + T;
    loop {
        let t = top(Order::Calls).await;
        assert!(t.rows.iter().all(|r| r.calls >= 0 && r.total_ms >= 0.0));
        if calls_of(&t) >= 42 {
            assert_eq!(calls_of(&t), 42, "37 before the reset + 5 after");
            assert!(t.resets >= 1);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "calls after the reset not seen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 4. pg_stat_reset() of the database counters: a gap, never a negative rate.
    let before_reset = now_ms();
    conn.execute("select pg_stat_reset()").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = points_since(w.hub(), before_reset);
    assert!(
        after.iter().any(|p| p.commits.is_none()),
        "the reset shows as a gap"
    );
    for p in w.hub().recent(0).0 {
        for v in [
            p.commits,
            p.rollbacks,
            p.tup_inserted,
            p.tup_returned,
            p.temp_bytes,
        ] {
            assert!(v.unwrap_or(0.0) >= 0.0, "negative rate in {p:?}");
        }
    }

    // 5. A session with HTML in its name is listed as it is (shown as text by the pages).
    let evil = "<img src=x onerror=alert(1)>";
    let _held = connect(&w.cluster, evil).await;
    let session = eventually(T, || {
        w.hub().activity().and_then(|a| {
            a.sessions
                .iter()
                .find(|s| s.application_name == evil)
                .cloned()
        })
    })
    .await;
    assert!(session.visible && !session.pgpanel);
    let own = w.hub().activity().unwrap();
    assert!(
        own.sessions.iter().any(|s| s.pgpanel),
        "pgpanel's own session is marked"
    );

    // 6. A minute roll-up reaches the store when a minute ends (wait for one boundary).
    let deadline = std::time::Instant::now() + Duration::from_secs(70);
    loop {
        let (fast, _) = w.store.metric_minutes("main", 0, i64::MAX).await.unwrap();
        if !fast.is_empty() {
            assert!(fast[0].active.is_some());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no minute stored");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    w.live.shutdown();
    w.registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_mid_run_shows_a_gap_and_sampling_resumes() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut w = watched(common::superuser_login, cluster).await;
    until_rates(&w).await;
    tokio::task::block_in_place(|| w.cluster.stop());
    let down_at = now_ms();
    eventually(T, || {
        w.hub()
            .overview()
            .filter(|f| f.at_ms > down_at && f.errors.activity.is_some())
    })
    .await;
    tokio::task::block_in_place(|| w.cluster.restart()).expect("restart");
    let back = eventually(T, || {
        w.hub()
            .recent(down_at)
            .0
            .into_iter()
            .find(|p| p.commits.is_some())
    })
    .await;
    let (points, _, _) = w.hub().recent(0);
    let gap = points
        .windows(2)
        .map(|p| p[1].at_ms - p[0].at_ms)
        .max()
        .unwrap();
    assert!(gap > 1_000, "the outage is a gap in the samples ({gap} ms)");
    assert!(back.commits.unwrap() >= 0.0);
    w.live.shutdown();
    w.registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_without_pg_monitor_sees_hidden_sessions_and_no_other_texts() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let opts = common::create_login(&cluster, "plain watcher", &[]).await;
    let _other = connect(&cluster, "someone-else").await;
    let w = watched(|_| Login(opts), cluster).await;
    let frame = eventually(T, || {
        w.hub()
            .activity()
            .filter(|a| a.sessions.iter().any(|s| !s.visible))
    })
    .await;
    let hidden = frame.sessions.iter().find(|s| !s.visible).unwrap();
    assert!(
        hidden.query.is_empty(),
        "no '<insufficient privilege>' text is passed on"
    );
    let health = eventually(T, || w.hub().overview().and_then(|o| o.health)).await;
    assert!(health.hidden_sessions >= 1);
    w.live.shutdown();
    w.registry.shutdown().await;
}

/// Calls so far, on the target, of the statements whose text contains `marker`.
async fn calls_of(conn: &mut PgConnection, marker: &str) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(calls), 0)::int8 from pg_stat_statements where query like $1",
    )
    .bind(format!("%{marker}%"))
    .fetch_one(conn)
    .await
    .expect("reads")
}

/// Calls of the sampler's pg_stat_statements read (statements.sql) on the target so far.
async fn statement_reads(conn: &mut PgConnection) -> i64 {
    calls_of(conn, "min_exec_time::float8 as min_ms").await
}

/// Calls of the sampler's activity read (activity.sql) on the target so far.
async fn activity_reads(conn: &mut PgConnection) -> i64 {
    calls_of(conn, "pg_backend_pid() as is_self").await
}

#[tokio::test(flavor = "multi_thread")]
async fn nobody_watching_samples_every_idle_interval_and_a_viewer_brings_the_fast_ticks_back() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    // Watched: every 200 ms; unwatched: every second.
    let schedule = LiveSchedule {
        fast: Duration::from_millis(200),
        idle: Duration::from_millis(1000),
        slow: Duration::from_millis(1000),
        statements_idle: Duration::from_secs(3600),
        ..LiveSchedule::default()
    };
    let w = watched_with(common::superuser_login, cluster, schedule).await;
    let mut conn = connect(&w.cluster, "idle cadence test").await;
    eventually(T, || w.hub().overview().map(|_| ())).await;
    assert_eq!(w.hub().viewers(), 0);

    // Nobody watching: one read a second (3 in 3 s, give or take the window's edges).
    let before = activity_reads(&mut conn).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_reads = activity_reads(&mut conn).await - before;
    assert!(
        (2..=4).contains(&idle_reads),
        "one activity read per idle interval while unwatched, got {idle_reads} in 3 s"
    );

    // A page opens (a stream subscribes): a fresh sample on the next fast tick, then one per
    // tick.
    let last = w.hub().overview().map(|o| o.at_ms).expect("a sample");
    let viewer = w.hub().subscribe();
    let opened = std::time::Instant::now();
    eventually(T, || {
        w.hub().overview().map(|o| o.at_ms).filter(|at| *at > last)
    })
    .await;
    assert!(
        opened.elapsed() < Duration::from_millis(600),
        "a sample within a fast tick of the page opening, took {:?}",
        opened.elapsed()
    );
    let before = activity_reads(&mut conn).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let watched_reads = activity_reads(&mut conn).await - before;
    assert!(
        (8..=12).contains(&watched_reads),
        "one activity read per fast tick while watched, got {watched_reads} in 2 s"
    );

    // The page closes: back to one a second.
    drop(viewer);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = activity_reads(&mut conn).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_again = activity_reads(&mut conn).await - before;
    assert!(
        (2..=4).contains(&idle_again),
        "one activity read per idle interval once unwatched again, got {idle_again} in 3 s"
    );
    w.live.shutdown();
    w.registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_stat_statements_is_read_every_slow_tick_only_while_a_queries_page_is_open() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    // Slow tick 1 s; unwatched, once an hour (so: once, at start).
    let schedule = LiveSchedule {
        fast: Duration::from_millis(250),
        idle: Duration::from_millis(250),
        slow: Duration::from_millis(1000),
        statements_idle: Duration::from_secs(3600),
        ..LiveSchedule::default()
    };
    let w = watched_with(common::superuser_login, cluster, schedule).await;
    let mut conn = connect(&w.cluster, "cadence test").await;
    // The first read, at start.
    let first = eventually(T, || w.hub().latest(Topic::Statements).map(|m| m.at_ms)).await;
    let reads_before = statement_reads(&mut conn).await;
    assert!(reads_before >= 1, "the first read is on the target");

    // Nobody watching: 3 slow ticks go by with no read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        statement_reads(&mut conn).await,
        reads_before,
        "no read while unwatched"
    );
    assert_eq!(
        w.hub().latest(Topic::Statements).map(|m| m.at_ms),
        Some(first)
    );
    assert!(!w.hub().statements_watched());

    // A Queries page opens (a stream follows the statements topic): a read within one slow
    // tick, then one every tick.
    let watch = w.hub().watch_statements();
    assert!(w.hub().statements_watched());
    let opened = std::time::Instant::now();
    let second = eventually(T, || {
        w.hub()
            .latest(Topic::Statements)
            .map(|m| m.at_ms)
            .filter(|at| *at > first)
    })
    .await;
    assert!(
        opened.elapsed() < Duration::from_millis(2000),
        "read within one slow tick of the page opening, took {:?}",
        opened.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let watched_reads = statement_reads(&mut conn).await - reads_before;
    assert!(
        (3..=6).contains(&watched_reads),
        "one read per slow tick while watched, got {watched_reads} in ~3 s"
    );
    assert!(w.hub().latest(Topic::Statements).map(|m| m.at_ms) > Some(second));

    // The page closes: back to the idle cadence.
    drop(watch);
    assert!(!w.hub().statements_watched());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let after_close = statement_reads(&mut conn).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        statement_reads(&mut conn).await,
        after_close,
        "no read once unwatched again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_targets_samples_are_spread_over_the_interval() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let (_dir, store) = temp_store().await;
    // Four targets (one server under four ids), sampled every second.
    let ids = ["t0", "t1", "t2", "t3"];
    let specs = ids
        .iter()
        .map(|id| spec(id, common::superuser_login(&cluster)))
        .collect();
    let registry = TargetRegistry::start(specs, None).await;
    eventually(T, || {
        ids.iter()
            .all(|id| registry.get(id).is_some_and(|t| t.is_up()))
            .then_some(())
    })
    .await;
    let fast = Duration::from_millis(1000);
    let live = Live::start(
        &registry,
        store,
        LiveSchedule {
            fast,
            idle: fast,
            ..LiveSchedule::default()
        },
    )
    .await;
    // A few samples each; then each target's phase in the second (when its samples are taken).
    let phases: Vec<i64> = eventually(T, || {
        ids.iter()
            .map(|id| {
                let points = live.hub(id)?.recent(0).0;
                (points.len() >= 3).then(|| points[2].at_ms)
            })
            .collect::<Option<Vec<i64>>>()
    })
    .await
    .iter()
    .map(|at| at.rem_euclid(1000))
    .collect();
    // Evenly spread: every two phases at least 150 ms apart (a quarter second by design),
    // going round the second.
    for (i, a) in phases.iter().enumerate() {
        for b in &phases[i + 1..] {
            let d = (a - b).rem_euclid(1000);
            assert!(
                d.min(1000 - d) >= 150,
                "samples of two targets {d} ms apart in the second: {phases:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_comes_up_late_has_its_statements_read_on_the_next_slow_tick() {
    let mut cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    tokio::task::block_in_place(|| cluster.stop());
    // Unwatched, pg_stat_statements would be read once an hour: only a read that worked counts.
    let (_dir, store) = temp_store().await;
    let registry =
        TargetRegistry::start(vec![spec("main", common::superuser_login(&cluster))], None).await;
    let schedule = LiveSchedule {
        fast: Duration::from_millis(250),
        idle: Duration::from_millis(250),
        slow: Duration::from_millis(1000),
        statements_idle: Duration::from_secs(3600),
        ..LiveSchedule::default()
    };
    let live = Live::start(&registry, store, schedule).await;
    let hub = live.hub("main").expect("hub");
    // The first slow ticks fail: the target is down.
    let failed = eventually(T, || {
        hub.latest(Topic::Statements)
            .filter(|m| m.json.contains("not reachable"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| cluster.restart()).expect("restart");
    let up = std::time::Instant::now();
    let mut conn = connect(&cluster, "late target test").await;
    loop {
        if statement_reads(&mut conn).await >= 1 {
            break;
        }
        assert!(
            up.elapsed() < Duration::from_secs(20),
            "pg_stat_statements not read within 20 s of the target coming up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let read = eventually(T, || {
        hub.latest(Topic::Statements)
            .filter(|m| m.at_ms > failed.at_ms && !m.json.contains("\"error\":\""))
    })
    .await;
    assert!(read.json.contains("\"entries\":"), "{}", read.json);
    live.shutdown();
    registry.shutdown().await;
}
