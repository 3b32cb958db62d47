//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use app::features::targets::connect::{Login, SessionSettings};
use app::features::targets::monitor::{Schedule, TargetSpec};
use app::features::targets::registry::TargetRegistry;
use harness::TempCluster;

pub async fn superuser(cluster: &TempCluster, db: &str) -> PgConnection {
    PgConnection::connect(&cluster.url(db))
        .await
        .expect("connect as superuser")
}

/// Creates a login (any name, quoted by the server) and returns its connect options.
pub async fn create_login(cluster: &TempCluster, name: &str, grants: &[&str]) -> PgConnectOptions {
    let mut su = superuser(cluster, "postgres").await;
    let quoted: String = sqlx::query_scalar("select quote_ident($1)")
        .bind(name)
        .fetch_one(&mut su)
        .await
        .expect("quote");
    su.execute(format!("create role {quoted} login password 'secret-pw-123'").as_str())
        .await
        .expect("create role");
    for grant in grants {
        su.execute(format!("grant {grant} to {quoted}").as_str())
            .await
            .expect("grant");
    }
    PgConnectOptions::new()
        .host("127.0.0.1")
        .port(cluster.port())
        .username(name)
        .password("secret-pw-123")
        .database("postgres")
}

pub fn login(opts: PgConnectOptions) -> Login {
    Login(opts)
}

pub fn superuser_login(cluster: &TempCluster) -> Login {
    Login(cluster.url("postgres").parse().expect("url"))
}

/// Polls `check` until it returns Some or the timeout passes.
pub async fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Target "main" watched by a new `monitor` login with pg_monitor only, connected to
/// `database`, with an optional action login; returns once the monitor has read the server.
pub async fn monitored(
    cluster: &TempCluster,
    monitor: &str,
    database: &str,
    action: Option<Login>,
) -> TargetRegistry {
    let opts = create_login(cluster, monitor, &["pg_monitor"])
        .await
        .database(database);
    let spec = TargetSpec {
        id: "main".into(),
        name: "Main".into(),
        monitor: login(opts),
        action,
        session: SessionSettings::default(),
        schedule: Schedule {
            probe_interval: Duration::from_millis(200),
            ..Schedule::default()
        },
        logs: Default::default(),
        audit_tables: Vec::new(),
    };
    let registry = TargetRegistry::start(vec![spec], None).await;
    eventually(Duration::from_secs(20), || {
        registry.get("main").and_then(|t| t.server())
    })
    .await;
    registry
}
