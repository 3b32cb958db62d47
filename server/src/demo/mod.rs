//! `pgpanel demo`: throwaway PostgreSQL clusters and a dashboard watching them through the same
//! least-privilege logins a real deployment uses.
//! - "Demo cluster": a live workload (see workload.rs), watched by a pg_monitor login, with an
//!   action login configured;
//! - "Legacy cluster": idle and under-provisioned on purpose (nothing preloaded, no extensions,
//!   track_io_timing off, a monitor login without pg_monitor), so the Overview shows what pgpanel
//!   says about a server that is missing things.
//!
//! Ctrl-C (or SIGTERM) stops the dashboard, the workload and the clusters, and deletes every file
//! the demo made.

mod workload;

use app::features::audit::model::{Action, Outcome};
use std::net::SocketAddr;
use std::path::Path;

use rand::Rng;
use rand::distributions::Alphanumeric;
use sqlx::{Connection, Executor, PgConnection};

use app::features::auth::model::Role;
use app::features::users::model::check_password;
use app::state::AppState;
use app::store::AuditEvent;
use harness::{ClusterOptions, HarnessError, TempCluster};

use crate::config::{AuthConfig, Config, HttpConfig, MonitorConfig, StoreConfig, TargetConfig};
use crate::serve::{self, ServeError};

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the throwaway PostgreSQL: {0}")]
    Cluster(#[from] HarnessError),
    #[error("cannot prepare the demo database: {0}")]
    Setup(#[from] sqlx::Error),
    #[error("cannot write demo files: {0}")]
    Files(#[from] std::io::Error),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("cannot create the demo users: {0}")]
    Users(String),
}

/// Logins the demo creates; passwords are random per run.
pub struct DemoLogins {
    pub monitor_password: String,
    pub action_password: String,
    pub app_password: String,
    pub legacy_password: String,
}

fn secret() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

pub async fn run(listen: SocketAddr) -> Result<(), DemoError> {
    println!("Starting two throwaway PostgreSQL clusters…");
    let (cluster, legacy) = tokio::try_join!(
        TempCluster::start_async(demo_cluster_options()),
        TempCluster::start_async(ClusterOptions::bare().setting("track_io_timing", "off")),
    )?;
    let logins = DemoLogins {
        monitor_password: secret(),
        action_password: secret(),
        app_password: secret(),
        legacy_password: secret(),
    };
    setup(&cluster, &logins).await?;
    setup_legacy(&legacy, &logins).await?;
    let files = tempfile::Builder::new().prefix("pgpanel-demo-").tempdir()?;
    let config = demo_config(&cluster, &legacy, &logins, files.path(), listen)?;

    let shop_url = cluster.url_as("shop_app", &logins.app_password, "shop");
    let workload = workload::Workload::start(shop_url);
    let server = serve::start(&config).await?;
    let users = seed_users(&server.state).await?;
    // The browser tests open their own sessions on the demo cluster (a session to find on the
    // Activity page, a statement to find on Queries): they read its superuser URL from here.
    if let Some(path) = std::env::var_os("PGPANEL_DEMO_URL_FILE") {
        write_private(std::path::Path::new(&path), &cluster.url("shop"))?;
    }
    let version = cluster.version().unwrap_or_default();
    println!(
        "\npgpanel demo is running.\n\n  \
         Dashboard  http://{addr}/\n  \
         Targets    \"Demo cluster\": PostgreSQL {version} on 127.0.0.1:{port}, watched by login \
         pgpanel_monitor (pg_monitor only)\n             \
         \"Legacy cluster\" on 127.0.0.1:{legacy_port}: idle, missing extensions and privileges on purpose\n  \
         Workload   steady transactions, a table collecting dead tuples, a lock chain every 60 s,\n             \
         a session idle in transaction\n  \
         Advice     duplicate, redundant, unused and invalid indexes, a foreign key without an index,\n             \
         table and index bloat, a sequence near its end, and two statements that want an index\n             \
         (analysed a minute after start; Analyse now on /advice)\n  \
         Logs       the server log (jsonlog) read over SQL: errors every 20 s, slow statements,\n             \
         lock waits, connections, checkpoints, autovacuum and pgaudit's DDL and role records\n  \
         psql       psql \"{su}\"\n\n\
         Sign in as\n{users}\n\n\
         Press Ctrl-C to stop; the cluster and all demo files are then removed.",
        addr = server.addr,
        port = cluster.port(),
        legacy_port = legacy.port(),
        su = cluster.url("shop"),
        users = users
            .iter()
            .map(|(role, password)| format!("  {:<9} password  {password}", role.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
    );

    serve::shutdown_signal().await;
    println!("\nStopping…");
    server.stop().await;
    workload.stop();
    tokio::task::spawn_blocking(move || drop((cluster, legacy)))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    drop(files);
    println!("Stopped. The throwaway clusters and the demo files are gone.");
    Ok(())
}

/// Writes a file only its owner can read (it holds a password).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// The demo's dashboard users: one per role, named after it. Passwords are random per run, or
/// all `$PGPANEL_DEMO_PASSWORD` when set (the browser tests use that).
async fn seed_users(state: &AppState) -> Result<Vec<(Role, String)>, DemoError> {
    let fixed = std::env::var("PGPANEL_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let now = state.auth.clock.now_ms();
    let mut out = Vec::new();
    for role in Role::ALL {
        let password = fixed.clone().unwrap_or_else(secret_words);
        check_password(&password).map_err(|e| DemoError::Users(e.to_string()))?;
        let hash = state
            .auth
            .hasher
            .hash(&password)
            .await
            .map_err(|e| DemoError::Users(e.to_string()))?;
        let ev = AuditEvent::new(now, Action::UserCreate, Outcome::Success)
            .actor("demo", None)
            .client("local")
            .object(role.as_str());
        state
            .store
            .create_user(role.as_str(), &hash, role, now, &ev)
            .await
            .map_err(|e| DemoError::Users(e.to_string()))?;
        out.push((role, password));
    }
    Ok(out)
}

/// A random password that is easy to type from the terminal: three groups of six.
fn secret_words() -> String {
    let s = secret();
    format!("{}-{}-{}", &s[0..6], &s[6..12], &s[12..18])
}

fn demo_config(
    cluster: &TempCluster,
    legacy: &TempCluster,
    logins: &DemoLogins,
    dir: &Path,
    listen: SocketAddr,
) -> Result<Config, std::io::Error> {
    // Passwords travel through files, as a careful deployment would do it.
    let monitor_pw = dir.join("monitor.password");
    let action_pw = dir.join("action.password");
    std::fs::write(&monitor_pw, &logins.monitor_password)?;
    std::fs::write(&action_pw, &logins.action_password)?;
    let url = |user: &str| format!("postgres://{user}@127.0.0.1:{}/shop", cluster.port());
    Ok(Config {
        http: HttpConfig {
            listen: listen.to_string(),
            // Plain http on localhost: a Secure cookie would never come back.
            secure_cookies: false,
            site_root: None,
            allowed_origins: Vec::new(),
            ..HttpConfig::default()
        },
        store: StoreConfig {
            url: format!("sqlite://{}", dir.join("pgpanel.db").display()),
            ..StoreConfig::default()
        },
        monitor: MonitorConfig {
            // Sizes change quickly under the demo workload: show it.
            database_sizes_interval_s: 60,
            ..MonitorConfig::default()
        },
        auth: AuthConfig::default(),
        logs: crate::config::LogsConfig::default(),
        targets: vec![
            TargetConfig {
                id: "demo".into(),
                name: Some("Demo cluster".into()),
                monitor_url: url("pgpanel_monitor"),
                monitor_password_file: Some(monitor_pw),
                action_url: Some(url("pgpanel_action")),
                action_password_file: Some(action_pw),
                logs: None,
                log_path: None,
                log_format: None,
                log_line_prefix: None,
                // Its columns are recognised: nothing but where it is.
                audit_tables: vec![crate::config::AuditTableConfig {
                    name: Some("Shop changes (audit_log)".into()),
                    ..crate::config::AuditTableConfig::new("shop", "public.audit_log")
                }],
            },
            TargetConfig {
                id: "legacy".into(),
                name: Some("Legacy cluster".into()),
                monitor_url: legacy.url_as("legacy_monitor", &logins.legacy_password, "postgres"),
                monitor_password_file: None,
                action_url: None,
                action_password_file: None,
                logs: None,
                log_path: None,
                log_format: None,
                log_line_prefix: None,
                audit_tables: Vec::new(),
            },
        ],
    })
}

/// The demo cluster logs like a well-configured production server: jsonlog through the
/// logging collector, slow statements, lock waits, connections, checkpoints, autovacuum and
/// temporary files, and pgaudit's DDL and role classes — so the Logs page has every kind.
fn demo_cluster_options() -> ClusterOptions {
    let mut options = ClusterOptions::default();
    if harness::has_library("pgaudit") {
        options.preload.push("pgaudit".into());
    }
    options
        .setting("logging_collector", "on")
        .setting("log_destination", "jsonlog")
        .setting("log_min_duration_statement", "200ms")
        .setting("log_lock_waits", "on")
        .setting("log_connections", "on")
        .setting("log_disconnections", "on")
        .setting("log_checkpoints", "on")
        .setting("log_autovacuum_min_duration", "0")
        .setting("log_temp_files", "0")
        .setting("pgaudit.log", "ddl, role")
}

/// The legacy cluster only gets a login, and a deliberately unprivileged one.
async fn setup_legacy(cluster: &TempCluster, logins: &DemoLogins) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(&cluster.url("postgres")).await?;
    admin
        .execute(
            format!(
                "create role legacy_monitor login password '{}'",
                logins.legacy_password
            )
            .as_str(),
        )
        .await?;
    admin.close().await
}

/// Logins, the `shop` database and its schema: accounts, orders (with an unused, a duplicate, a
/// redundant and an invalid index), order items (a foreign key without an index), a sequence
/// near its end, an inventory table for lock chains, an events table that collects dead tuples
/// (autovacuum off), an order archive with free space after deletes (table and index bloat),
/// and a table whose name needs quoting.
async fn setup(cluster: &TempCluster, logins: &DemoLogins) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(&cluster.url("postgres")).await?;
    for statement in [
        format!(
            "create role pgpanel_monitor login password '{}'",
            logins.monitor_password
        ),
        "grant pg_monitor to pgpanel_monitor".into(),
        format!(
            "create role pgpanel_action login password '{}'",
            logins.action_password
        ),
        "grant pg_signal_backend, pg_read_all_stats to pgpanel_action".into(),
        format!(
            "create role shop_app login password '{}'",
            logins.app_password
        ),
        "create database shop owner shop_app".into(),
        // VACUUM and ANALYZE need the table's or the database's owner before PostgreSQL 17
        // (pg_maintain from 17 on): the action login is a member of the database's owner.
        "grant shop_app to pgpanel_action".into(),
        // The demo throttles VACUUM through pgpanel like autovacuum, ten times slower, so its
        // progress bar can be watched on a small table (a server's own settings apply elsewhere).
        "alter role pgpanel_action set vacuum_cost_delay = '20ms'".into(),
    ] {
        admin.execute(statement.as_str()).await?;
    }
    admin.close().await?;

    let mut shop = PgConnection::connect(&cluster.url("shop")).await?;
    // pgpanel watches the demo from `shop` (where the workload and its locks are, so lock
    // objects get their names): the extensions it uses are created there too.
    shop.execute(
        "create extension if not exists pgstattuple; \
         create extension if not exists pg_stat_statements; \
         do $$ begin \
           if exists (select 1 from pg_available_extensions where name = 'hypopg') then \
             create extension if not exists hypopg; \
           end if; \
         end $$",
    )
    .await?;
    shop.close().await?;

    let mut app =
        PgConnection::connect(&cluster.url_as("shop_app", &logins.app_password, "shop")).await?;
    app.execute(include_str!("schema.sql")).await?;
    // A unique build that fails on duplicate keys leaves an invalid index behind (outside a
    // transaction block, so not in schema.sql); the error is the point.
    let _ = app
        .execute("create unique index concurrently orders_status_uq on orders (status)")
        .await;
    // What `pgpanel setup-sql` prints for the Logs page: the log reader in the monitor login's
    // database, granted to it; pgaudit does not audit pgpanel's own monitoring.
    let mut su = PgConnection::connect(&cluster.url("shop")).await?;
    su.execute(app::features::logs::db::READER_SQL).await?;
    su.execute(
        "grant usage on schema pgpanel to pgpanel_monitor; \
         grant execute on function pgpanel.read_log(text, bigint, bigint) to pgpanel_monitor; \
         alter role pgpanel_monitor set pgaudit.log = 'none'; \
         do $$ begin \
           if current_setting('shared_preload_libraries') ~ 'pgaudit' then \
             create extension if not exists pgaudit; \
           end if; \
         end $$",
    )
    .await?;
    su.close().await?;
    // VACUUM cannot run in schema.sql's multi-statement string.
    app.execute("vacuum (analyze) order_archive").await?;
    // What `pgpanel setup-sql` prints for sequences: the monitor may read how far they went.
    app.execute("grant select on all sequences in schema public to pgpanel_monitor")
        .await?;
    // What `pgpanel setup-sql` prints for an application audit table: SELECT on it, nothing else.
    app.execute("grant select on audit_log to pgpanel_monitor")
        .await?;
    app.close().await?;
    // Index scan counts start now, so "not scanned since" has a window from the first analysis.
    let mut shop = PgConnection::connect(&cluster.url("shop")).await?;
    shop.execute("select pg_stat_reset()").await?;
    shop.close().await?;
    // After the reset, so the statistics count these dead tuples (autovacuum falling behind).
    let mut app =
        PgConnection::connect(&cluster.url_as("shop_app", &logins.app_password, "shop")).await?;
    app.execute("delete from abandoned_carts where id % 2 = 0")
        .await?;
    app.close().await?;
    Ok(())
}
