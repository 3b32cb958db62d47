//! Running the dashboard: open the store, start a monitor task per target, bind, serve until told
//! to stop, then shut down in order (stop accepting, finish requests, stop monitors, close pools).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use leptos::config::{Env, LeptosOptions};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use app::clock::Clock;
use app::features::auth::password::{HashError, PasswordHasher};
use app::features::auth::service::Auth;
use app::features::cluster::Instance;
use app::features::cluster::leases::Keeper;
use app::features::live::{Live, relay};
use app::features::maintenance;
use app::features::targets::registry::TargetRegistry;
use app::state::AppState;
use app::store::{Backend, Store, StoreError};

use crate::config::{Config, ConfigError};
use crate::http::RouterOptions;
use crate::http::body::BodyLimits;
use crate::http::client::TrustedProxies;
use crate::http::conn::{self, Limits, OpenConnections};
use crate::http::origin::OriginPolicy;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot set up password hashing: {0}")]
    Hash(#[from] HashError),
    #[error("routes without an access rule (add them to app/src/features/auth/policy.rs): {0}")]
    Policy(String),
}

/// The site folder: `http.site_root`, else $LEPTOS_SITE_ROOT (set by cargo-leptos), else `site`
/// next to the binary, else `../site` (the layout of target/), else `target/site`.
pub fn resolve_site_root(configured: Option<&str>) -> PathBuf {
    if let Some(dir) = configured {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("LEPTOS_SITE_ROOT").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
    {
        for candidate in [exe_dir.join("site"), exe_dir.join("../site")] {
            if candidate.join("pkg").is_dir() {
                return candidate.canonicalize().unwrap_or(candidate);
            }
        }
    }
    PathBuf::from("target/site")
}

pub fn leptos_options(site_root: &std::path::Path, addr: SocketAddr) -> LeptosOptions {
    // Each page names its own wasm (`http::assets`, `pgpanel_islands::shell`).
    LeptosOptions::builder()
        .output_name("pgpanel")
        .site_root(site_root.display().to_string())
        .site_pkg_dir("pkg")
        .env(Env::PROD)
        .site_addr(addr)
        .build()
}

/// Opens the store and starts the monitors. Returns at once even when targets are down.
pub async fn build_state(
    config: &Config,
    addr: SocketAddr,
    clock: Clock,
) -> Result<AppState, ServeError> {
    let specs = config.target_specs()?;
    let store = Store::open(&config.store.url).await?;
    let site_root = resolve_site_root(config.http.site_root.as_deref());
    if specs.is_empty() {
        tracing::warn!("no targets configured: add a [[targets]] section");
    }
    let hasher = Arc::new(PasswordHasher::standard()?);
    hasher.dummy().await?;
    let targets = TargetRegistry::start(specs, Some(store.clone())).await;
    let live = Live::start(&targets, store.clone(), config.live_schedule()).await;
    let maintenance = maintenance::State::open(&store, clock.now_ms()).await?;
    // On a PostgreSQL store the lease keeper says which targets this instance samples.
    let sampled = match store.backend() {
        Backend::Postgres => Vec::new(),
        Backend::Sqlite => targets.all().iter().map(|t| t.spec.id.clone()).collect(),
    };
    let instance = Instance::new(&addr.to_string(), sampled);
    instance.register(&store).await?;
    Ok(AppState {
        leptos_options: leptos_options(&site_root, addr),
        targets: Arc::new(targets),
        live: Arc::new(live),
        store,
        auth: Arc::new(Auth::new(
            config.auth.settings(config.http.secure_cookies),
            hasher,
            clock,
        )),
        maintenance: Arc::new(maintenance),
        advice: Arc::default(),
        logs: Arc::default(),
        instance: Arc::new(instance),
        started_at: OffsetDateTime::now_utc(),
    })
}

/// A dashboard serving in the background (the `serve` command, the demo and the tests use it).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// HTTP connections open right now.
    pub connections: Arc<OpenConnections>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    retention: JoinHandle<()>,
    refusals: JoinHandle<()>,
    advice: Option<JoinHandle<()>>,
    /// One log tailer per target.
    tailers: Vec<JoinHandle<()>>,
    heartbeat: JoinHandle<()>,
    /// Marks failed the jobs of instances that stopped or were lost.
    orphans: JoinHandle<()>,
    /// The target leases and the frames relayed between instances (a PostgreSQL store).
    cluster: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, gives open requests a few seconds, then closes targets and store.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "server ended with an error"),
            Ok(_) => {}
            Err(_) => {
                tracing::warn!("open connections did not finish within 10 s; closing them");
                self.task.abort();
            }
        }
        self.retention.abort();
        self.refusals.abort();
        if let Some(advice) = &self.advice {
            advice.abort();
        }
        for tailer in &self.tailers {
            tailer.abort();
        }
        self.heartbeat.abort();
        self.orphans.abort();
        for task in &self.cluster {
            task.abort();
        }
        let state = &self.state;
        if state.store.backend() == Backend::Postgres {
            Keeper::release_all(&state.instance, &state.targets, &state.store).await;
        }
        state.instance.stopped(&state.store).await;
        state
            .auth
            .refusals
            .flush(&state.store, state.auth.clock.now_ms(), true)
            .await;
        self.state.live.shutdown();
        self.state.targets.shutdown().await;
        self.state.store.close().await;
    }
}

pub async fn start(config: &Config) -> Result<RunningServer, ServeError> {
    start_with_clock(config, Clock::system()).await
}

/// `start` with a given clock (tests move a manual clock across session and throttling limits).
pub async fn start_with_clock(config: &Config, clock: Clock) -> Result<RunningServer, ServeError> {
    let listener = TcpListener::bind(&config.http.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.http.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr()?;
    let state = build_state(config, addr, clock).await?;
    let http = &config.http;
    let hosts = http
        .allowed_hosts
        .iter()
        .cloned()
        .chain(
            http.allowed_origins
                .iter()
                .filter_map(|o| o.split_once("://").map(|(_, a)| a.to_owned())),
        )
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let options = RouterOptions {
        origins: OriginPolicy {
            allowed: http.allowed_origins.clone(),
            require_https: http.secure_cookies,
            loopback_only: addr.ip().is_loopback(),
            hosts,
        },
        bodies: BodyLimits {
            max_bytes: http.max_body_bytes,
            timeout: Duration::from_secs(http.body_timeout_secs),
        },
        log_query_strings: http.log_query_strings,
        // Checked when the configuration was loaded.
        proxies: TrustedProxies::parse(&http.trusted_proxies).unwrap_or_default(),
    };
    let router = crate::http::router(state.clone(), options)
        .map_err(|missing| ServeError::Policy(missing.join(", ")))?;
    let limits = Limits {
        header_timeout: Duration::from_secs(http.header_timeout_secs),
        write_timeout: Duration::from_secs(http.write_timeout_secs),
        max_connections: http.max_connections,
        max_per_client: http.max_connections_per_client,
    };
    let connections = Arc::new(OpenConnections::default());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(conn::serve(
        listener,
        router,
        limits,
        connections.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    // Frames from the instances that sample other targets; then this instance's leases (its
    // first round at once, so a lone instance samples from the start).
    let mut cluster = relay::start(
        state.live.clone(),
        state.targets.clone(),
        state.store.clone(),
    );
    if state.store.backend() == Backend::Postgres {
        let mut keeper = Keeper::new(
            state.instance.clone(),
            state.targets.clone(),
            state.live.clone(),
            state.store.clone(),
        );
        if let Err(e) = keeper.round().await {
            tracing::warn!(error = %e, "taking target leases failed; trying again in a moment");
        }
        cluster.push(keeper.spawn());
    }
    let retention = spawn_retention(&state, &config.store, config.auth.audit_retention_days);
    let tailers = app::features::logs::spawn_tailers(
        state.logs.clone(),
        &state.targets,
        state.store.clone(),
        config.logs.settings(),
    );
    let refusals = spawn_refusal_summaries(&state);
    let heartbeat = state.instance.clone().spawn_heartbeat(state.store.clone());
    let orphans =
        maintenance::State::spawn_orphan_sweep(state.store.clone(), state.auth.clock.clone());
    let advice = (config.monitor.advice_interval_minutes > 0).then(|| {
        app::features::advice::spawn_schedule(
            state.advice.clone(),
            state.targets.clone(),
            state.store.clone(),
            Duration::from_secs(config.monitor.advice_interval_minutes * 60),
        )
    });
    Ok(RunningServer {
        addr,
        state,
        connections,
        stop: Some(stop),
        task,
        retention,
        refusals,
        advice,
        tailers,
        heartbeat,
        orphans,
        cluster,
    })
}

/// Every 10 s: the refused-request counts of minutes that have ended go to the audit trail (so a
/// flood that stops is still summed up).
fn spawn_refusal_summaries(state: &AppState) -> JoinHandle<()> {
    let store = state.store.clone();
    let auth = state.auth.clone();
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                auth.refusals
                    .flush(&store, auth.clock.now_ms(), false)
                    .await;
            }
        },
        tracing::info_span!("refusal summaries"),
    ))
}

/// A minute after start and then every hour: deletes old database-size samples, live-panel
/// history, ended sessions and old login attempts, and audit events only when a retention period
/// is configured.
fn spawn_retention(
    state: &AppState,
    config: &crate::config::StoreConfig,
    audit_days: u32,
) -> JoinHandle<()> {
    const DAY_MS: i64 = 86_400_000;
    let store = state.store.clone();
    let auth = state.auth.clone();
    let keep_sizes = Duration::from_secs(u64::from(config.size_history_days) * 86_400);
    let metrics_days = i64::from(config.metrics_retention_days);
    let logs_days = i64::from(config.logs_retention_days);
    let span = tracing::info_span!("retention");
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            loop {
                let now = auth.clock.now_ms();
                let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                match store.prune_database_sizes(keep_sizes).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "pruned old database size samples"),
                    Err(e) => tracing::warn!(error = %e, "pruning database size samples failed"),
                }
                let system_now = app::clock::to_millis(OffsetDateTime::now_utc());
                match store
                    .prune_metrics(system_now - metrics_days * DAY_MS)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "pruned old live-panel history"),
                    Err(e) => tracing::warn!(error = %e, "pruning live-panel history failed"),
                }
                match store.prune_logs(system_now - logs_days * DAY_MS).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "pruned old server log entries"),
                    Err(e) => tracing::warn!(error = %e, "pruning server log entries failed"),
                }
                let idle_before = now - ms(auth.settings.idle_timeout);
                let created_before = now - ms(auth.settings.absolute_timeout);
                if let Err(e) = store
                    .prune_sessions(idle_before, created_before, now - DAY_MS)
                    .await
                {
                    tracing::warn!(error = %e, "pruning ended sessions failed");
                }
                if audit_days > 0 {
                    match store
                        .prune_audit(now - i64::from(audit_days) * DAY_MS)
                        .await
                    {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(rows = n, days = audit_days, "audit retention"),
                        Err(e) => tracing::warn!(error = %e, "audit retention failed"),
                    }
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        },
        span,
    ))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `pgpanel serve`: runs until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, until: impl Future<Output = ()>) -> Result<(), ServeError> {
    let server = start(&config).await?;
    tracing::info!(
        addr = %server.addr,
        targets = config.targets.len(),
        store = ?server.state.store.backend(),
        "pgpanel is listening on http://{}/",
        server.addr
    );
    until.await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}
