//! The lock graph against throwaway clusters, driven step by step like PostgreSQL's isolation
//! tester: each session runs its statement, and the test waits until the server reports it
//! blocked before going on; then the sampler's graph must show exactly who blocks whom.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, PgConnection};
use tokio::task::JoinHandle;

use app::features::live::Live;
use app::features::live::sampler::LiveSchedule;
use app::features::locks::model::LockGraph;
use app::features::targets::connect::SessionSettings;
use app::features::targets::monitor::{Schedule, TargetSpec};
use app::features::targets::registry::TargetRegistry;
use app::store::Store;
use harness::{ClusterOptions, TempCluster};

use crate::common::eventually;

const T: Duration = Duration::from_secs(60);

struct Watched {
    cluster: TempCluster,
    _registry: TargetRegistry,
    live: Live,
    store: Store,
    monitor: PgConnection,
    _dir: tempfile::TempDir,
}

impl Watched {
    fn graph(&self) -> Option<LockGraph> {
        self.live.hub("main")?.locks().map(|g| (*g).clone())
    }

    /// The first graph that satisfies `check`.
    async fn graph_where(&self, check: impl Fn(&LockGraph) -> bool) -> LockGraph {
        eventually(T, || self.graph().filter(|g| g.error.is_none() && check(g))).await
    }

    async fn session(&self, application: &str) -> (PgConnection, i32) {
        self.session_in("postgres", application).await
    }

    async fn session_in(&self, database: &str, application: &str) -> (PgConnection, i32) {
        let opts: PgConnectOptions = self.cluster.url("postgres").parse().expect("url");
        let opts = opts.database(database);
        let mut conn = opts
            .application_name(application)
            .connect()
            .await
            .expect("connect");
        let pid = sqlx::query_scalar("select pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .expect("pid");
        (conn, pid)
    }

    /// Waits until the server reports `pid` waiting on a lock.
    async fn until_blocked(&mut self, pid: i32) {
        let deadline = std::time::Instant::now() + T;
        loop {
            let waiting: Option<bool> = sqlx::query_scalar(
                "select coalesce(wait_event_type = 'Lock', false) from pg_stat_activity where pid = $1",
            )
            .bind(pid)
            .fetch_optional(&mut self.monitor)
            .await
            .expect("poll");
            if waiting == Some(true) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "pid {pid} never blocked"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn watched(options: ClusterOptions) -> Watched {
    let cluster = TempCluster::start_async(options).await.expect("cluster");
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .expect("store");
    let spec = TargetSpec {
        id: "main".into(),
        name: "Main".into(),
        monitor: common::superuser_login(&cluster),
        action: None,
        session: SessionSettings::default(),
        schedule: Schedule {
            probe_interval: Duration::from_millis(200),
            ..Schedule::default()
        },
        logs: Default::default(),
        audit_tables: Vec::new(),
    };
    let registry = TargetRegistry::start(vec![spec], None).await;
    eventually(T, || registry.get("main").and_then(|t| t.server())).await;
    let live = Live::start(
        &registry,
        store.clone(),
        LiveSchedule {
            fast: Duration::from_millis(200),
            idle: Duration::from_millis(200),
            slow: Duration::from_secs(5),
            statements_idle: Duration::from_secs(60),
            locks: Duration::from_millis(200),
            locks_detail: Duration::from_millis(200),
        },
    )
    .await;
    let monitor = common::superuser(&cluster, "postgres").await;
    Watched {
        cluster,
        _registry: registry,
        live,
        store,
        monitor,
        _dir: dir,
    }
}

/// Runs `sql` on `conn` in the background (it blocks); hands the connection back when done.
fn blocked(mut conn: PgConnection, sql: &'static str) -> JoinHandle<PgConnection> {
    tokio::spawn(async move {
        let _ = conn.execute(sql).await;
        conn
    })
}

fn edges(g: &LockGraph) -> BTreeSet<(i32, i32)> {
    g.edges.iter().map(|e| (e.waiter, e.blocker)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn chains_rows_advisory_two_roots_and_odd_names() {
    let mut w = watched(ClusterOptions::default()).await;
    w.monitor
        .execute(
            "create table \"Odd Table ü\" (id int primary key, v int); \
             create table rows_t (id int primary key, v int); \
             insert into \"Odd Table ü\" values (1, 0); insert into rows_t values (1, 0), (2, 0)",
        )
        .await
        .unwrap();
    let first = w.graph_where(|_| true).await;
    assert_eq!(first.waiting, 0, "nobody waits yet: {first:?}");

    // 1. Table lock chain: A holds ACCESS EXCLUSIVE; B (holding a row lock of its own) and C
    //    wait for A; D waits for B through that row lock.
    let (mut a, pa) = w.session("<b>holder</b>").await;
    a.execute("begin; lock table \"Odd Table ü\" in access exclusive mode")
        .await
        .unwrap();
    let (mut b, pb) = w.session("chain-b").await;
    b.execute("begin; update rows_t set v = 1 where id = 1")
        .await
        .unwrap();
    let b_xid: String = sqlx::query_scalar("select pg_current_xact_id()::text")
        .fetch_one(&mut b)
        .await
        .unwrap();
    let b = blocked(b, "select * from \"Odd Table ü\"");
    w.until_blocked(pb).await;
    let (c, pc) = w.session("chain-c").await;
    let c = blocked(c, "select count(*) from \"Odd Table ü\"");
    w.until_blocked(pc).await;
    let (d, pd) = w.session("chain-d").await;
    let d = blocked(d, "update rows_t set v = 2 where id = 1");
    w.until_blocked(pd).await;

    // D's row wait is named after pg_locks is read (the tuple lock D holds while it waits).
    let g = w
        .graph_where(|g| {
            g.waiting == 3
                && g.edges.iter().all(|e| !e.mode.is_empty())
                && g.edges.iter().any(|e| e.object.starts_with("row ("))
        })
        .await;
    assert_eq!(edges(&g), BTreeSet::from([(pb, pa), (pc, pa), (pd, pb)]));
    assert_eq!(g.roots.len(), 1);
    let root = &g.roots[0];
    assert_eq!(
        (root.pid, root.blocks_direct, root.blocks_total),
        (pa, 2, 3)
    );
    assert!(g.node(pa).unwrap().root);
    assert!(!g.node(pb).unwrap().root, "B waits itself: not a root");
    let on_table = g.edges.iter().find(|e| e.waiter == pb).unwrap();
    assert_eq!(on_table.mode, "AccessShareLock");
    assert_eq!(on_table.object, "public.\"Odd Table ü\"");
    let on_row = g.edges.iter().find(|e| e.waiter == pd).unwrap();
    assert_eq!(on_row.locktype, "transactionid");
    assert_eq!(on_row.mode, "ShareLock");
    // The table and row, and the transaction that holds it (B's, from the activity read).
    assert!(on_row.object.starts_with("row (0,"), "{}", on_row.object);
    assert!(
        on_row
            .object
            .ends_with(&format!(" of public.rows_t held by transaction {b_xid}")),
        "{}",
        on_row.object
    );
    assert_eq!(on_row.short, "row of public.rows_t");
    assert_eq!(on_table.short, "public.\"Odd Table ü\"");
    let summary_row = g
        .summary
        .iter()
        .find(|r| r.locktype == "transactionid")
        .unwrap();
    assert!(
        summary_row.object.contains("public.rows_t"),
        "{summary_row:?}"
    );
    // The waits are added to the waiting statements (pg_stat_statements counts them as
    // execution): D's update has sampled lock-wait time in the pending minute.
    let hub = w.live.hub("main").unwrap();
    eventually(T, || {
        hub.pending_statements()
            .1
            .iter()
            .any(|(_, d)| d.lock_wait_ms > 0.0)
            .then_some(())
    })
    .await;
    assert!(g.cycles.is_empty());
    assert!(g.longest_wait_ms.is_some_and(|ms| ms >= 0));
    assert_eq!(
        g.node(pa).unwrap().session.application_name,
        "<b>holder</b>",
        "names are data, passed through as they are"
    );
    let json = serde_json::to_string(&g).unwrap();
    assert!(
        !json.contains("relation 1"),
        "names resolved, not OIDs: {json}"
    );

    // The blocker ends: everybody moves on and the episode closes.
    a.execute("rollback").await.unwrap();
    for h in [b, c] {
        let mut conn = h.await.unwrap();
        conn.execute("rollback").await.unwrap();
    }
    d.await.unwrap();
    w.graph_where(|g| g.waiting == 0).await;
    let deadline = std::time::Instant::now() + T;
    let episodes = loop {
        let got = w
            .store
            .lock_episodes("main", 0, i64::MAX, 1000)
            .await
            .unwrap();
        if let Some(e) = got.into_iter().find(|e| e.ended_ms.is_some()) {
            break e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no finished episode stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(episodes.peak_waiting >= 3, "{episodes:?}");
    assert_eq!(episodes.roots[0].pid, pa);
    assert_eq!(episodes.roots[0].blocks_total, 3);

    // 2. Row-lock chain: B waits for A's transaction, C queues behind B for the row.
    let (mut a, pa) = w.session("row-a").await;
    a.execute("begin; update rows_t set v = 10 where id = 2")
        .await
        .unwrap();
    let (b, pb) = w.session("row-b").await;
    let b = blocked(b, "update rows_t set v = 11 where id = 2");
    w.until_blocked(pb).await;
    let (c, pc) = w.session("row-c").await;
    let c = blocked(c, "update rows_t set v = 12 where id = 2");
    w.until_blocked(pc).await;
    let g = w
        .graph_where(|g| g.waiting == 2 && g.edges.iter().all(|e| !e.mode.is_empty()))
        .await;
    let e = edges(&g);
    assert!(e.contains(&(pb, pa)), "{e:?}");
    assert!(e.contains(&(pc, pb)), "C queues behind B: {e:?}");
    assert_eq!(g.roots.iter().map(|r| r.pid).collect::<Vec<_>>(), vec![pa]);
    let c_waits = g.edges.iter().find(|e| e.waiter == pc).unwrap();
    assert!(c_waits.object.starts_with("row (0,"), "{}", c_waits.object);
    let g = w
        .graph_where(|g| {
            g.edges
                .iter()
                .any(|e| e.waiter == pb && e.object.starts_with("row ("))
        })
        .await;
    let b_waits = g.edges.iter().find(|e| e.waiter == pb).unwrap();
    assert!(
        b_waits
            .object
            .contains(" of public.rows_t held by transaction "),
        "{}",
        b_waits.object
    );
    a.execute("rollback").await.unwrap();
    b.await.unwrap();
    c.await.unwrap();
    w.graph_where(|g| g.waiting == 0).await;

    // 3. Advisory locks, and 4. two independent roots at once.
    let (mut a1, pa1) = w.session("adv-a").await;
    a1.execute("select pg_advisory_lock(42)").await.unwrap();
    let (b1, pb1) = w.session("adv-b").await;
    let b1 = blocked(b1, "select pg_advisory_lock(42)");
    w.until_blocked(pb1).await;
    let (mut a2, pa2) = w.session("tbl-a").await;
    a2.execute("begin; lock table rows_t in exclusive mode")
        .await
        .unwrap();
    let (b2, pb2) = w.session("tbl-b").await;
    let b2 = blocked(b2, "update rows_t set v = 3 where id = 1");
    w.until_blocked(pb2).await;
    let g = w
        .graph_where(|g| g.waiting == 2 && g.edges.iter().all(|e| !e.mode.is_empty()))
        .await;
    assert_eq!(edges(&g), BTreeSet::from([(pb1, pa1), (pb2, pa2)]));
    let roots: BTreeSet<i32> = g.roots.iter().map(|r| r.pid).collect();
    assert_eq!(roots, BTreeSet::from([pa1, pa2]));
    let adv = g.edges.iter().find(|e| e.waiter == pb1).unwrap();
    assert_eq!(adv.locktype, "advisory");
    assert_eq!(adv.object, "advisory lock 42 in database postgres");
    assert_eq!(adv.mode, "ExclusiveLock");
    a1.execute("select pg_advisory_unlock(42)").await.unwrap();
    a2.execute("rollback").await.unwrap();
    let mut b1 = b1.await.unwrap();
    b1.execute("select pg_advisory_unlock_all()").await.unwrap();
    b2.await.unwrap();
    w.graph_where(|g| g.waiting == 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn names_in_other_databases_are_read_there_or_labelled_with_the_reason() {
    let mut w = watched(ClusterOptions::default()).await;
    for db in ["\"Other Db ü\"", "closed_db"] {
        w.monitor
            .execute(format!("create database {db}").as_str())
            .await
            .unwrap();
    }
    let mut held = Vec::new();
    let mut waiters = Vec::new();
    for db in ["Other Db ü", "closed_db"] {
        let (mut setup, _) = w.session_in(db, "setup").await;
        setup
            .execute("create table \"Tbl ü\" (id int)")
            .await
            .unwrap();
        let (mut a, pa) = w.session_in(db, "other-a").await;
        a.execute("begin; lock table \"Tbl ü\"").await.unwrap();
        let (b, pb) = w.session_in(db, "other-b").await;
        let b = blocked(b, "select * from \"Tbl ü\"");
        w.until_blocked(pb).await;
        held.push(a);
        waiters.push((b, pa, pb));
    }
    // No new connection to closed_db is allowed: its names cannot be read.
    w.monitor
        .execute("alter database closed_db allow_connections false")
        .await
        .unwrap();
    let (open_b, closed_b) = (waiters[0].2, waiters[1].2);
    let g = w
        .graph_where(|g| {
            let object = |pid| {
                g.edges
                    .iter()
                    .find(|e| e.waiter == pid)
                    .map(|e| e.object.clone())
            };
            object(open_b).as_deref() == Some("public.\"Tbl ü\"")
                && object(closed_b).is_some_and(|o| o.contains("name not readable"))
        })
        .await;
    let closed = g.edges.iter().find(|e| e.waiter == closed_b).unwrap();
    assert!(
        closed.object.starts_with("relation ") && closed.object.contains("in database closed_db"),
        "{}",
        closed.object
    );
    assert_eq!(closed.mode, "AccessShareLock");
    for mut a in held {
        a.execute("rollback").await.unwrap();
    }
    for (b, _, _) in waiters {
        b.await.unwrap();
    }
    w.graph_where(|g| g.waiting == 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadlock_in_progress_is_reported_as_a_cycle() {
    let mut w = watched(ClusterOptions::default().setting("deadlock_timeout", "60s")).await;
    w.monitor
        .execute("create table x (id int); create table y (id int)")
        .await
        .unwrap();
    let (mut a, pa) = w.session("dl-a").await;
    let (mut b, pb) = w.session("dl-b").await;
    a.execute("begin; lock table x").await.unwrap();
    b.execute("begin; lock table y").await.unwrap();
    let a = blocked(a, "lock table y");
    w.until_blocked(pa).await;
    let b = blocked(b, "lock table x");
    w.until_blocked(pb).await;
    let g = w.graph_where(|g| !g.cycles.is_empty()).await;
    assert_eq!(
        g.cycles,
        vec![{
            let mut c = vec![pa, pb];
            c.sort_unstable();
            c
        }]
    );
    assert!(g.roots.is_empty(), "nobody in a cycle is a root");
    assert!(g.nodes.iter().all(|n| n.in_cycle));
    sqlx::query("select pg_terminate_backend($1)")
        .bind(pa)
        .execute(&mut w.monitor)
        .await
        .unwrap();
    a.await.unwrap();
    let mut b = b.await.unwrap();
    b.execute("rollback").await.unwrap();
    w.graph_where(|g| g.waiting == 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn five_hundred_waiters_are_grouped_and_twenty_thousand_locks_change_nothing() {
    let mut w = watched(
        ClusterOptions::default()
            .setting("max_connections", "600")
            .setting("max_locks_per_transaction", "128"),
    )
    .await;
    w.monitor
        .execute("create table hot (id int)")
        .await
        .unwrap();
    // The holder also holds 20,000 advisory locks: pg_locks is big, the graph is not.
    let (mut a, pa) = w.session("big-holder").await;
    a.execute(
        "begin; lock table hot in access exclusive mode; \
         select count(pg_advisory_xact_lock(g)) from generate_series(1, 20000) g",
    )
    .await
    .unwrap();
    let held: i64 = sqlx::query_scalar("select count(*) from pg_locks where pid = $1")
        .bind(pa)
        .fetch_one(&mut w.monitor)
        .await
        .unwrap();
    assert!(held >= 20_000, "{held}");
    let mut waiters = Vec::new();
    for i in 0..500 {
        let (c, pid) = w.session("pile-up").await;
        waiters.push((blocked(c, "select count(*) from hot"), pid));
        if i == 0 {
            w.until_blocked(pid).await;
        }
    }
    let g = w
        .graph_where(|g| g.waiting == 500 && g.summary.len() == 1 && g.grouped)
        .await;
    assert!(g.grouped);
    assert_eq!(g.roots.len(), 1);
    assert_eq!(
        (
            g.roots[0].pid,
            g.roots[0].blocks_direct,
            g.roots[0].blocks_total
        ),
        (pa, 500, 500)
    );
    let group = g.nodes.iter().find_map(|n| n.group.clone()).unwrap();
    assert_eq!(group.count, 500);
    assert!(
        g.nodes.len() <= 3,
        "one root and one group: {}",
        g.nodes.len()
    );
    assert_eq!(g.summary.len(), 1);
    assert_eq!(g.summary[0].waiting, 500);
    assert_eq!(g.summary[0].object, "public.hot");
    let json = serde_json::to_string(&g).unwrap();
    assert!(json.len() <= 50_000, "graph JSON {} bytes", json.len());

    a.execute("rollback").await.unwrap();
    for (h, _) in waiters {
        h.await.unwrap();
    }
    w.graph_where(|g| g.waiting == 0).await;
}
