//! Every catalog query of the targets feature, executed against throwaway clusters: as a
//! superuser, as a pg_monitor login with an awkward name, and as a login without privileges.
//! Capability hints are proven by running the SQL they propose.

use crate::common;

use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};

use app::features::targets::capabilities::derive;
use app::features::targets::connect::{LoginKind, SessionSettings, describe_error, monitor_pool};
use app::features::targets::db;
use harness::{ClusterOptions, TempCluster};

use crate::common::{create_login, superuser};

async fn cluster(options: ClusterOptions) -> TempCluster {
    TempCluster::start_async(options).await.expect("cluster")
}

#[tokio::test]
async fn server_info_as_superuser() {
    let c = cluster(ClusterOptions::default()).await;
    let mut conn = superuser(&c, "postgres").await;
    let info = db::server_info(&mut conn).await.expect("server_info");
    assert!(info.version_num >= 100_000, "{info:?}");
    assert!(info.version.starts_with(&c.version().expect("version")));
    assert!(!info.in_recovery);
    assert!(info.is_superuser);
    assert_eq!(info.login, "postgres");
    assert_eq!(info.database, "postgres");
    assert_eq!(info.max_connections, 200);
    assert!(info.track_io_timing);
    assert_eq!(
        info.shared_preload_libraries.as_deref(),
        Some("pg_stat_statements")
    );
    let age = time::OffsetDateTime::now_utc() - info.started_at;
    assert!(age < time::Duration::minutes(5), "started {age} ago?");
}

#[tokio::test]
async fn server_info_as_a_monitor_login_with_an_odd_name() {
    let c = cluster(ClusterOptions::default()).await;
    let name = "Mon \"Itor\" ü";
    let opts = create_login(&c, name, &["pg_monitor"]).await;
    let mut conn = PgConnection::connect_with(&opts).await.expect("connect");
    let info = db::server_info(&mut conn).await.expect("server_info");
    assert_eq!(info.login, name);
    assert_eq!(info.login_ident, "\"Mon \"\"Itor\"\" ü\"");
    assert!(info.has_pg_monitor);
    assert!(!info.is_superuser);
    // pg_monitor includes pg_read_all_settings.
    assert_eq!(
        info.shared_preload_libraries.as_deref(),
        Some("pg_stat_statements")
    );
}

#[tokio::test]
async fn server_info_without_privileges_hides_what_it_cannot_read() {
    let c = cluster(ClusterOptions::default()).await;
    let opts = create_login(&c, "nobody_special", &[]).await;
    let mut conn = PgConnection::connect_with(&opts).await.expect("connect");
    let info = db::server_info(&mut conn)
        .await
        .expect("server_info works without grants");
    assert!(!info.has_pg_monitor);
    assert!(!info.is_superuser);
    assert_eq!(info.shared_preload_libraries, None);

    let caps = derive(
        "main",
        &info,
        &db::list_extensions(&mut conn).await.expect("extensions"),
        None,
    );
    let monitor = caps
        .iter()
        .find(|c| c.key == "pg_monitor")
        .expect("pg_monitor");
    assert!(!monitor.available);
    let grant = monitor.sql.clone().expect("sql");
    assert_eq!(grant, "GRANT pg_monitor TO nobody_special;");

    // The proposed SQL works and fixes it.
    superuser(&c, "postgres")
        .await
        .execute(grant.as_str())
        .await
        .expect("grant");
    let mut again = PgConnection::connect_with(&opts).await.expect("connect");
    let info = db::server_info(&mut again).await.expect("server_info");
    assert!(info.has_pg_monitor);
}

#[tokio::test]
async fn list_extensions_reports_installed_and_available() {
    let c = cluster(ClusterOptions::default()).await;
    let mut conn = superuser(&c, "postgres").await;
    let exts = db::list_extensions(&mut conn)
        .await
        .expect("list_extensions");
    let find = |n: &str| exts.iter().find(|e| e.name == n);
    let pgss = find("pg_stat_statements").expect("contrib installed");
    assert!(pgss.installed_version.is_some());
    assert!(
        find("pgstattuple")
            .and_then(|e| e.installed_version.clone())
            .is_some()
    );
    // hypopg is installed by the project's setup script; when present it was created.
    if let Some(hypopg) = find("hypopg") {
        assert!(hypopg.installed_version.is_some(), "{hypopg:?}");
    }
    assert!(
        exts.iter()
            .all(|e| ["pg_stat_statements", "pgstattuple", "hypopg"].contains(&e.name.as_str()))
    );

    let mut other = superuser(&c, "template1").await;
    let in_template1 = db::list_extensions(&mut other)
        .await
        .expect("list_extensions");
    let pgss = in_template1
        .iter()
        .find(|e| e.name == "pg_stat_statements")
        .expect("available");
    assert_eq!(pgss.installed_version, None, "created only in postgres");
}

#[tokio::test]
async fn database_sizes_cover_every_database_and_degrade_without_connect() {
    let c = cluster(ClusterOptions::bare()).await;
    let mut su = superuser(&c, "postgres").await;
    su.execute("create database \"Grüße db\"")
        .await
        .expect("create db");
    su.execute("create database locked_away")
        .await
        .expect("create db");
    su.execute("revoke connect on database locked_away from public")
        .await
        .expect("revoke");

    let sizes = db::database_sizes(&mut su).await.expect("database_sizes");
    let names: Vec<&str> = sizes.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Grüße db", "locked_away", "postgres"]);
    assert!(
        sizes
            .iter()
            .all(|d| d.size_bytes.is_some_and(|s| s > 1_000_000))
    );

    let opts = create_login(&c, "plain", &[]).await;
    let mut plain = PgConnection::connect_with(&opts).await.expect("connect");
    let sizes = db::database_sizes(&mut plain)
        .await
        .expect("no error without privileges");
    let locked = sizes
        .iter()
        .find(|d| d.name == "locked_away")
        .expect("listed");
    assert_eq!(locked.size_bytes, None);
    let open = sizes.iter().find(|d| d.name == "postgres").expect("listed");
    assert!(open.size_bytes.is_some());

    let opts = create_login(&c, "monitor", &["pg_monitor"]).await;
    let mut monitor = PgConnection::connect_with(&opts).await.expect("connect");
    let sizes = db::database_sizes(&mut monitor)
        .await
        .expect("database_sizes");
    assert!(
        sizes.iter().all(|d| d.size_bytes.is_some()),
        "pg_read_all_stats sees all: {sizes:?}"
    );
}

#[tokio::test]
async fn installed_extensions_say_when_the_listed_ones_are_out_of_date() {
    let c = cluster(ClusterOptions::default()).await;
    let mut conn = superuser(&c, "postgres").await;
    let listed = db::list_extensions(&mut conn).await.expect("list");
    let installed = db::installed_extensions(&mut conn)
        .await
        .expect("installed");
    assert!(installed.iter().any(|(n, _)| n == "pg_stat_statements"));
    assert!(
        db::same_installed(&listed, &installed),
        "{listed:?} {installed:?}"
    );
    conn.execute("drop extension pgstattuple")
        .await
        .expect("drop");
    let now = db::installed_extensions(&mut conn)
        .await
        .expect("installed");
    assert!(now.iter().all(|(n, _)| n != "pgstattuple"));
    assert!(!db::same_installed(&listed, &now));
    let again = db::list_extensions(&mut conn).await.expect("list");
    assert!(db::same_installed(&again, &now));
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_stat_statements_hint_is_exactly_what_fixes_it() {
    let mut c = cluster(ClusterOptions::bare()).await;
    let read = |c: &TempCluster| {
        let url = c.url("postgres");
        async move {
            let mut conn = PgConnection::connect(&url).await.expect("connect");
            let info = db::server_info(&mut conn).await.expect("info");
            let exts = db::list_extensions(&mut conn).await.expect("exts");
            derive("main", &info, &exts, None)
                .into_iter()
                .find(|cap| cap.key == "pg_stat_statements")
                .expect("capability")
        }
    };
    let cap = read(&c).await;
    assert!(!cap.available);
    let sql = cap.sql.expect("sql");
    assert!(
        sql.starts_with("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';"),
        "{sql}"
    );

    // Run the hint step by step: ALTER SYSTEM, restart, CREATE EXTENSION.
    let statements: Vec<&str> = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    superuser(&c, "postgres")
        .await
        .execute(statements[0])
        .await
        .expect("alter system");
    tokio::task::block_in_place(|| c.restart()).expect("restart");
    let cap = read(&c).await;
    assert!(!cap.available);
    assert_eq!(
        cap.sql.as_deref(),
        Some("CREATE EXTENSION pg_stat_statements;")
    );
    superuser(&c, "postgres")
        .await
        .execute(statements[1])
        .await
        .expect("create extension");
    assert!(read(&c).await.available);
}

/// The monitor login reads the action login's grants (role memberships are public), and the
/// GRANT the Overview proposes is exactly what makes it whole.
#[tokio::test(flavor = "multi_thread")]
async fn action_login_grants_are_read_by_the_monitor_and_the_hint_fixes_them() {
    let c = cluster(ClusterOptions::bare()).await;
    let opts = create_login(&c, "monitor", &["pg_monitor"]).await;
    let mut monitor = PgConnection::connect_with(&opts).await.expect("connect");
    let name = "Act \"ion\" ü";
    create_login(&c, name, &["pg_signal_backend"]).await;
    async fn read(
        monitor: &mut PgConnection,
        name: &str,
    ) -> (
        db::ActionLoginInfo,
        Vec<app::features::targets::model::Capability>,
    ) {
        let info = db::server_info(&mut *monitor).await.expect("info");
        let exts = db::list_extensions(&mut *monitor).await.expect("exts");
        let a = db::action_login(&mut *monitor, name)
            .await
            .expect("action_login");
        let caps = derive("main", &info, &exts, Some(&a));
        (a, caps)
    }
    let (a, caps) = read(&mut monitor, name).await;
    assert!(a.found && a.can_login && a.signal_backend && !a.read_all_stats && !a.superuser);
    assert_eq!(a.login_ident, "\"Act \"\"ion\"\" ü\"");
    let cap = caps
        .iter()
        .find(|c| c.key == "action_login")
        .expect("listed");
    assert!(!cap.available);
    let sql = cap.sql.clone().expect("sql");
    superuser(&c, "postgres")
        .await
        .execute(sql.as_str())
        .await
        .expect("grant");
    let (a, caps) = read(&mut monitor, name).await;
    assert!(a.read_all_stats);
    assert!(caps.iter().any(|c| c.key == "action_login" && c.available));
    let missing = db::action_login(&mut monitor, "nobody here")
        .await
        .expect("read");
    assert!(!missing.found && !missing.signal_backend && !missing.read_all_stats);
}

#[tokio::test]
async fn monitor_sessions_carry_name_and_timeouts() {
    let c = cluster(ClusterOptions::bare()).await;
    let settings = SessionSettings {
        statement_timeout: Duration::from_millis(300),
        lock_timeout: Duration::from_millis(100),
        idle_in_transaction_session_timeout: Duration::from_secs(7),
        ..SessionSettings::default()
    };
    let pool = monitor_pool(&common::superuser_login(&c), &settings);
    let row: (String, String, String, String) = sqlx::query_as(
        "select current_setting('application_name'), current_setting('statement_timeout'), \
         current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout')",
    )
    .fetch_one(&pool)
    .await
    .expect("settings");
    assert_eq!(
        row,
        (
            "pgpanel".into(),
            "300ms".into(),
            "100ms".into(),
            "7s".into()
        )
    );

    // The timeout is enforced, and reported in words.
    let err = sqlx::query("select pg_sleep(5)")
        .execute(&pool)
        .await
        .expect_err("timeout");
    assert_eq!(
        describe_error(&err, LoginKind::Monitor),
        "a query hit statement_timeout"
    );

    // Seen from the server: the session is labelled.
    let mut su = superuser(&c, "postgres").await;
    let labelled: i64 = sqlx::query_scalar(
        "select count(*) from pg_stat_activity where application_name = 'pgpanel'",
    )
    .fetch_one(&mut su)
    .await
    .expect("activity");
    assert!(labelled >= 1);
    pool.close().await;
}

#[tokio::test]
async fn connection_errors_are_described_without_secrets() {
    let c = cluster(ClusterOptions::bare()).await;
    let mut opts = common::superuser_login(&c);
    opts.0 = opts.0.password("wrong-password-42");
    let err = PgConnection::connect_with(&opts.0)
        .await
        .expect_err("bad password");
    let text = describe_error(&err, LoginKind::Monitor);
    assert_eq!(text, "password authentication failed for the monitor login");
    // The same failure on the action login names that login.
    assert_eq!(
        describe_error(&err, LoginKind::Action),
        "password authentication failed for the action login"
    );
    assert!(!text.contains("wrong-password-42"));
    assert!(
        !format!("{opts:?}").contains("wrong-password-42"),
        "Debug of a Login hides it"
    );

    let port = c.port();
    drop(c);
    let refused = PgConnection::connect(&format!("postgres://x:y@127.0.0.1:{port}/postgres"))
        .await
        .expect_err("refused");
    assert_eq!(
        describe_error(&refused, LoginKind::Action),
        "connection refused"
    );
}
