//! The per-target monitor: up, down, slow and back again, against real clusters; one target's
//! trouble never holds up another; sizes persist in the store across restarts.

use crate::common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use app::features::targets::connect::{Login, SessionSettings};
use app::features::targets::model::{TargetOverview, TargetStatus};
use app::features::targets::monitor::{Schedule, TargetSpec};
use app::features::targets::registry::TargetRegistry;
use app::store::Store;
use harness::{ClusterOptions, TempCluster};
use sqlx::Executor;

use crate::common::eventually;

fn fast_spec(id: &str, login: Login) -> TargetSpec {
    TargetSpec {
        id: id.into(),
        name: format!("Target {id}"),
        monitor: login,
        action: None,
        session: SessionSettings {
            connect_timeout: Duration::from_millis(700),
            ..SessionSettings::default()
        },
        schedule: Schedule {
            probe_interval: Duration::from_millis(200),
            facts_interval: Duration::from_millis(500),
            sizes_interval: Duration::from_secs(300),
            max_backoff: Duration::from_millis(800),
        },
        logs: Default::default(),
        audit_tables: Vec::new(),
    }
}

/// A throwaway cluster watched by a registry with the fast schedule, as target "main".
async fn watched(options: ClusterOptions) -> (TempCluster, TargetRegistry) {
    let cluster = TempCluster::start_async(options).await.expect("cluster");
    let registry = TargetRegistry::start(
        vec![fast_spec("main", common::superuser_login(&cluster))],
        None,
    )
    .await;
    (cluster, registry)
}

fn overview(registry: &TargetRegistry, id: &str) -> TargetOverview {
    registry.get(id).expect("target").overview()
}

fn up_since(o: &TargetOverview) -> Option<time::OffsetDateTime> {
    match o.status {
        TargetStatus::Up { since, .. } => Some(since),
        _ => None,
    }
}

fn unreachable(o: &TargetOverview) -> Option<(time::OffsetDateTime, String)> {
    match &o.status {
        TargetStatus::Unreachable { since, error, .. } => Some((*since, error.clone())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_stopped_mid_run_shows_unreachable_and_recovers() {
    let (mut cluster, registry) = watched(ClusterOptions::default()).await;
    let t = Duration::from_secs(15);

    let first_up = eventually(t, || up_since(&overview(&registry, "main"))).await;
    let o = overview(&registry, "main");
    let server = o.server.clone().expect("facts");
    assert!(o.databases.is_some(), "sizes read at the first check");
    assert_eq!(o.capabilities.len(), 6);

    tokio::task::block_in_place(|| cluster.stop());
    let (down_since, reason) = eventually(t, || unreachable(&overview(&registry, "main"))).await;
    assert!(down_since > first_up);
    assert!(
        [
            "connection refused",
            "connection lost",
            "connection closed by the server",
            "the server ended the session"
        ]
        .contains(&reason.as_str()),
        "{reason}"
    );
    // Last known facts stay visible while it is down.
    assert_eq!(overview(&registry, "main").server, Some(server.clone()));
    // The outage keeps its start time across retries.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        unreachable(&overview(&registry, "main")).map(|u| u.0),
        Some(down_since)
    );

    tokio::task::block_in_place(|| cluster.restart()).expect("restart");
    let back_up = eventually(t, || up_since(&overview(&registry, "main"))).await;
    assert!(back_up > down_since);
    let restarted = overview(&registry, "main").server.expect("facts");
    assert!(
        restarted.started_at > server.started_at,
        "facts were read again after the restart"
    );
    registry.shutdown().await;
}

/// Calls of the statements whose text contains `marker` (pg_stat_statements).
async fn calls(cluster: &TempCluster, marker: &str) -> i64 {
    let mut su = common::superuser(cluster, "postgres").await;
    sqlx::query_scalar(
        "select coalesce(sum(calls), 0)::int8 from pg_stat_statements where query like '%' || $1 || '%' \
         and query not like '%pg_stat_statements%'",
    )
    .bind(marker)
    .fetch_one(&mut su)
    .await
    .expect("calls")
}

fn capability(registry: &TargetRegistry, key: &str) -> Option<bool> {
    overview(registry, "main")
        .capabilities
        .iter()
        .find(|c| c.key == key)
        .map(|c| c.available)
}

/// Every facts read checks the created extensions in the catalog; the extension directory
/// (pg_available_extensions, ~3 ms) is read only at first and when those change.
#[tokio::test(flavor = "multi_thread")]
async fn the_extension_directory_is_read_again_only_when_the_created_extensions_change() {
    let (cluster, registry) = watched(ClusterOptions::default()).await;
    let t = Duration::from_secs(15);
    eventually(t, || capability(&registry, "pgstattuple").filter(|a| *a)).await;
    // Six facts reads (every 500 ms) later: one directory read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let catalog = calls(&cluster, "from pg_extension e").await;
    assert!(
        catalog >= 5,
        "the created extensions were read {catalog} times"
    );
    assert_eq!(calls(&cluster, "from pg_available_extensions e").await, 1);

    // Dropped: seen at the next facts read, with the directory read again.
    common::superuser(&cluster, "postgres")
        .await
        .execute("drop extension pgstattuple")
        .await
        .expect("drop");
    eventually(t, || capability(&registry, "pgstattuple").filter(|a| !*a)).await;
    assert_eq!(calls(&cluster, "from pg_available_extensions e").await, 2);
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_target_never_delays_start_up_or_another_target() {
    // Accepts TCP connections and never answers: the worst kind of "slow".
    let blackhole = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_port = blackhole.local_addr().expect("addr").port();
    let silent = Login(
        format!("postgres://postgres:x@127.0.0.1:{silent_port}/postgres")
            .parse()
            .expect("url"),
    );
    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");

    let started = Instant::now();
    let registry = TargetRegistry::start(
        vec![
            fast_spec("silent", silent),
            fast_spec("good", common::superuser_login(&cluster)),
        ],
        None,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "start-up waited for a target"
    );

    eventually(Duration::from_secs(5), || {
        up_since(&overview(&registry, "good"))
    })
    .await;
    let (_, reason) = eventually(Duration::from_secs(10), || {
        unreachable(&overview(&registry, "silent"))
    })
    .await;
    assert!(
        reason.contains("no answer") || reason.contains("timed out") || reason.contains("timeout"),
        "{reason}"
    );
    assert!(
        overview(&registry, "good").status.is_up(),
        "the good target is untouched"
    );
    registry.shutdown().await;
    drop(blackhole);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_reported_safely() {
    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let mut login = common::superuser_login(&cluster);
    login.0 = login.0.password("definitely-wrong-pw");
    let registry = TargetRegistry::start(vec![fast_spec("main", login)], None).await;
    let (_, reason) = eventually(Duration::from_secs(10), || {
        unreachable(&overview(&registry, "main"))
    })
    .await;
    assert_eq!(
        reason,
        "password authentication failed for the monitor login"
    );
    let json = serde_json::to_string(&registry.overviews()).expect("json");
    assert!(!json.contains("definitely-wrong-pw"));
    assert!(!json.contains(cluster.password()));
    assert!(
        json.contains(&format!("postgres@127.0.0.1:{}/postgres", cluster.port())),
        "{json}"
    );
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sizes_are_stored_and_shown_after_a_restart_while_the_target_is_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store_url = format!("sqlite://{}", dir.path().join("store/pgpanel.db").display());
    let store = Store::open(&store_url).await.expect("store");
    let mut cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let spec = fast_spec("main", common::superuser_login(&cluster));

    let registry = TargetRegistry::start(vec![spec.clone()], Some(store.clone())).await;
    let measured = eventually(Duration::from_secs(10), || {
        overview(&registry, "main").databases
    })
    .await;
    registry.shutdown().await;
    store.close().await;

    tokio::task::block_in_place(|| cluster.stop());
    let store = Store::open(&store_url).await.expect("reopen");
    let registry = TargetRegistry::start(vec![spec], Some(store.clone())).await;
    // Before any check: the stored sample, with its original time.
    let shown = overview(&registry, "main")
        .databases
        .expect("from the store");
    assert_eq!(shown.items, measured.items);
    assert_eq!(
        shown.measured_at.unix_timestamp_nanos() / 1_000_000,
        measured.measured_at.unix_timestamp_nanos() / 1_000_000
    );
    eventually(Duration::from_secs(10), || {
        unreachable(&overview(&registry, "main"))
    })
    .await;
    assert!(
        overview(&registry, "main").databases.is_some(),
        "kept while down"
    );
    registry.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_closes_every_monitor_connection() {
    let (cluster, registry) = watched(ClusterOptions::bare()).await;
    eventually(Duration::from_secs(10), || {
        up_since(&overview(&registry, "main"))
    })
    .await;
    let count = || async {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where application_name = 'pgpanel'",
        )
        .fetch_one(&mut common::superuser(&cluster, "postgres").await)
        .await
        .expect("count");
        n
    };
    assert!(count().await >= 1);
    assert!(count().await <= 2, "the pool never exceeds its size");
    registry.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count().await, 0);
}

/// `connect::open`, the one way pgpanel opens a session on request: each failure names the
/// login it was for (the action login's are not blamed on the monitor login), an unknown
/// database is a 404 before any connection, and a target without an action login says so.
#[tokio::test]
async fn opening_a_session_names_the_login_in_every_failure() {
    use app::features::targets::conn::{LoginKind, open};

    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let good = common::superuser_login(&cluster);
    let mut bad = good.clone();
    bad.0 = bad.0.password("not-the-password");
    let mut spec = fast_spec("main", good.clone());
    spec.action = Some(bad.clone());
    let mut monitor_wrong = fast_spec("other", bad);
    monitor_wrong.action = None;
    let registry = TargetRegistry::start(vec![spec, monitor_wrong], None).await;
    let main = registry.get("main").expect("main").clone();
    eventually(Duration::from_secs(10), || {
        up_since(&overview(&registry, "main"))
    })
    .await;

    // The monitor login works; the action login's password is wrong.
    let conn = open(&main, LoginKind::Monitor, None)
        .await
        .expect("monitor");
    drop(conn);
    let e = open(&main, LoginKind::Action, None)
        .await
        .expect_err("action");
    assert_eq!(e.status(), 503);
    assert_eq!(
        e.to_string(),
        "The action login could not connect: password authentication failed for the action login."
    );
    assert!(!e.to_string().contains("not-the-password"));

    // A database that does not exist: refused before connecting, whatever the login.
    let e = open(&main, LoginKind::Monitor, Some("no such db"))
        .await
        .expect_err("unknown database");
    assert_eq!(e.status(), 404, "{e}");

    // The other target's monitor login is the wrong one; it has no action login at all.
    let other = registry.get("other").expect("other").clone();
    let e = open(&other, LoginKind::Monitor, None)
        .await
        .expect_err("monitor");
    assert_eq!(
        e.to_string(),
        "The monitor login could not connect: password authentication failed for the monitor login."
    );
    let e = open(&other, LoginKind::Action, None)
        .await
        .expect_err("none");
    assert_eq!(e.status(), 409);
    assert!(e.to_string().contains("no action login"), "{e}");
    registry.shutdown().await;
}

/// `conn::statement_error`, the one way a failed statement on a target is told: a refused
/// privilege is a 403 naming the login it ran as (the action login's refusals are not blamed on
/// the monitor login), and statement_timeout is a 504 that says so.
#[tokio::test]
async fn a_failed_statement_names_its_login() {
    use app::features::targets::conn::{LoginKind, open, statement_error};

    let cluster = TempCluster::start_async(ClusterOptions::bare())
        .await
        .expect("cluster");
    let mut su = common::superuser(&cluster, "postgres").await;
    for sql in [
        "create role \"Plain Login\" login password 'plain pw'",
        "create table secret (x int)",
    ] {
        sqlx::query(sql).execute(&mut su).await.expect(sql);
    }
    let good = common::superuser_login(&cluster);
    let mut plain = good.clone();
    plain.0 = plain.0.username("Plain Login").password("plain pw");
    let mut spec = fast_spec("main", plain.clone());
    spec.action = Some(plain);
    let registry = TargetRegistry::start(vec![spec], None).await;
    let main = registry.get("main").expect("main").clone();
    eventually(Duration::from_secs(10), || {
        up_since(&overview(&registry, "main"))
    })
    .await;

    for (login, name) in [
        (LoginKind::Monitor, "the monitor login"),
        (LoginKind::Action, "the action login"),
    ] {
        let mut conn = open(&main, login, None).await.expect("open");
        let e = sqlx::query("select * from secret")
            .execute(&mut conn)
            .await
            .expect_err("no privilege");
        let e = statement_error(login, "Reading the table", &e);
        assert_eq!(e.status(), 403, "{e}");
        assert!(
            e.to_string().starts_with(&format!(
                "Reading the table was refused: {name} lacks the privilege"
            )),
            "{e}"
        );
        assert!(e.to_string().contains("secret"), "{e}");

        sqlx::query("set statement_timeout = 50")
            .execute(&mut conn)
            .await
            .expect("set");
        let e = sqlx::query("select pg_sleep(2)")
            .execute(&mut conn)
            .await
            .expect_err("timeout");
        let e = statement_error(login, "Reading the table", &e);
        assert_eq!(e.status(), 504, "{e}");
        assert_eq!(
            e.to_string(),
            "Reading the table hit statement_timeout on the target."
        );
    }
    registry.shutdown().await;
}
