//! One background task per target keeps what the Overview shows up to date: connection state,
//! server facts, capabilities and database sizes. Page views read the last result from memory and
//! never query a target. A target that is down or slow only affects its own task.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;

use super::budget::ConnectBudgets;
use super::capabilities;
use super::connect::{
    Login, LoginKind, SessionSettings, describe_error, monitor_pool, session_options,
};
use super::db::{self, ServerInfo};
use super::model::{
    ActionsAvailability, Capability, DatabaseSizes, ServerRole, ServerSummary, TargetOverview,
    TargetStatus,
};
use crate::error::AppError;
use crate::store::Store;

/// How often each kind of fact is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Connection check and server facts (cheap: settings and two functions).
    pub probe_interval: Duration,
    /// Extensions and capabilities (reads the extension directory).
    pub facts_interval: Duration,
    /// `pg_database_size()` of every database (walks directories: every few minutes at most).
    pub sizes_interval: Duration,
    /// Retry delay after a failure doubles from 1 s up to this.
    pub max_backoff: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            probe_interval: Duration::from_secs(5),
            facts_interval: Duration::from_secs(60),
            sizes_interval: Duration::from_secs(300),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A configured target, as the app needs it.
#[derive(Clone, Debug)]
pub struct TargetSpec {
    pub id: String,
    pub name: String,
    pub monitor: Login,
    pub action: Option<Login>,
    pub session: SessionSettings,
    pub schedule: Schedule,
    /// How its server log is read.
    pub logs: crate::features::logs::spec::LogSpec,
    /// Application audit tables to browse (`[[targets.audit_tables]]`).
    pub audit_tables: Vec<crate::features::app_audit::spec::AuditTableSpec>,
}

#[derive(Debug)]
struct State {
    status: TargetStatus,
    server: Option<ServerSummary>,
    capabilities: Vec<Capability>,
    databases: Option<DatabaseSizes>,
    facts_read_at: Option<Instant>,
    sizes_read_at: Option<Instant>,
    /// The last read of the extension directory, and when.
    extensions: Option<(Vec<db::ExtensionInfo>, Instant)>,
}

/// The extension directory (pg_available_extensions, list_extensions.sql: it reads every control
/// file, ~3 ms) is read again at most this often while the created extensions stay the same.
const EXTENSION_DIRECTORY_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug)]
pub struct Target {
    pub spec: TargetSpec,
    pool: PgPool,
    /// The pool's connect options, for diagnosing a failed connection.
    options: PgConnectOptions,
    state: RwLock<State>,
    /// Connection attempts on request: reads of another database (any role) and actions (dba)
    /// have budgets of their own, so reads cannot use up what a DBA needs during an incident.
    connects: ConnectBudgets,
    /// Whether this instance samples the target now (always, with one instance).
    lease: super::lease::Lease,
}

/// PostgreSQL's longest identifier (NAMEDATALEN - 1 bytes).
pub const MAX_NAME_BYTES: usize = 63;

impl Target {
    /// `shared`: instances share the store, and this one samples the target only while it holds
    /// the target's lease.
    pub(super) fn new(spec: TargetSpec, shared: bool) -> Self {
        let pool = monitor_pool(&spec.monitor, &spec.session);
        let options = session_options(&spec.monitor, &spec.session);
        Self {
            spec,
            pool,
            options,
            state: RwLock::new(State {
                status: TargetStatus::Connecting {
                    since: OffsetDateTime::now_utc(),
                },
                server: None,
                capabilities: Vec::new(),
                databases: None,
                facts_read_at: None,
                sizes_read_at: None,
                extensions: None,
            }),
            connects: ConnectBudgets::new(),
            lease: if shared {
                super::lease::Lease::not_held()
            } else {
                super::lease::Lease::always()
            },
        }
    }

    /// This instance's lease on the target.
    pub fn lease(&self) -> &super::lease::Lease {
        &self.lease
    }

    /// Whether this instance samples the target now: probes, samples, tails its log and runs
    /// its scheduled analyses (another instance does while this one does not).
    pub fn leads(&self) -> bool {
        self.lease.held()
    }

    /// What the instance that samples the target last knew of it (relayed through the store).
    pub fn apply_overview(&self, o: TargetOverview) {
        self.update(|state| {
            state.status = o.status;
            state.server = o.server;
            state.capabilities = o.capabilities;
            if o.databases.is_some() {
                state.databases = o.databases;
            }
        });
    }

    /// Closes the monitor pool's idle connections (an instance that does not sample the target
    /// keeps none open: the holder's are the target's only standing ones).
    pub async fn shed_idle(&self) {
        for _ in 0..self.pool.num_idle() {
            match self.pool.try_acquire() {
                Some(conn) => {
                    let _ = conn.close().await;
                }
                None => break,
            }
        }
    }

    /// The logins pgpanel connects to this target with (monitor, then action): a session is
    /// pgpanel's own only on one of these.
    pub fn own_logins(&self) -> Vec<String> {
        std::iter::once(&self.spec.monitor)
            .chain(self.spec.action.as_ref())
            .map(|l| l.0.get_username().to_owned())
            .collect()
    }

    /// Takes one connection attempt from the target's budget for `purpose`, or says to wait.
    pub fn admit_connection(&self, purpose: LoginKind) -> Result<(), AppError> {
        self.connects.admit(&self.spec.id, purpose)
    }

    /// Checks that `name` is a database of this target that accepts connections, before anything
    /// is cached under it or any connection is opened to it: from the names the monitor already
    /// read, else one catalog lookup on the monitor's own connection (a database created since).
    pub async fn check_database(&self, name: &str) -> Result<(), AppError> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES || name.contains('\0') {
            return Err(AppError::validation(format!(
                "database must be a database name (1 to {MAX_NAME_BYTES} bytes)."
            )));
        }
        let known = {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            state
                .databases
                .as_ref()
                .is_some_and(|d| d.items.iter().any(|i| i.name == name))
        };
        if known {
            return Ok(());
        }
        let exists: bool = sqlx::query_scalar(crate::sql::body(include_str!(
            "sql/database_exists.sql"
        )))
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            tracing::warn!(target_id = %self.spec.id, error = %e, "looking up a database failed");
            AppError::TargetUnavailable {
                message: format!(
                    "Could not check the database name: {}.",
                    describe_error(&e, LoginKind::Monitor)
                ),
            }
        })?;
        if exists {
            Ok(())
        } else {
            Err(AppError::not_found(format!(
                "There is no database {name:?} on target {} that accepts connections.",
                self.spec.id
            )))
        }
    }

    /// The database a request names (`requested`; else the monitor login's own, else
    /// `postgres`), checked to exist on this target before anything is cached under it or any
    /// connection is opened to it.
    pub async fn database(&self, requested: Option<String>) -> Result<String, AppError> {
        let database = requested
            .filter(|d| !d.is_empty())
            .or_else(|| self.options.get_database().map(str::to_owned))
            .unwrap_or_else(|| "postgres".to_owned());
        self.check_database(&database).await?;
        Ok(database)
    }

    /// The monitor pool, for on-demand reads by later features.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The monitor login's connect options (application_name and timeouts set), for the rare
    /// read that needs another database.
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    pub fn is_up(&self) -> bool {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .status
            .is_up()
    }

    /// The state of the last check (cheap: what the header's switcher reads on every page).
    pub fn status(&self) -> TargetStatus {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .status
            .clone()
    }

    /// Facts from the last successful check.
    pub fn server(&self) -> Option<ServerSummary> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .server
            .clone()
    }

    /// Whether a capability (by key) was found usable at the last check.
    pub fn capability(&self, key: &str) -> Option<Capability> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .capabilities
            .iter()
            .find(|c| c.key == key)
            .cloned()
    }

    pub fn overview(&self) -> TargetOverview {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        TargetOverview {
            id: self.spec.id.clone(),
            name: self.spec.name.clone(),
            endpoint: format!("{:?}", self.spec.monitor),
            status: state.status.clone(),
            server: state.server.clone(),
            capabilities: state.capabilities.clone(),
            databases: state.databases.clone(),
            actions: match self.spec.action {
                Some(_) => ActionsAvailability {
                    enabled: true,
                    reason: None,
                    own_logins: self.own_logins(),
                },
                None => ActionsAvailability {
                    enabled: false,
                    reason: Some(
                        "No action login is configured for this target (action_url).".into(),
                    ),
                    own_logins: Vec::new(),
                },
            },
        }
    }

    /// The database sizes last stored, shown until the monitor reads new ones.
    pub(super) fn restore_sizes(&self, sizes: Option<DatabaseSizes>) {
        self.update(|s| s.databases = sizes);
    }

    /// Closes the monitor pool, waiting up to 2 s for its connections to end cleanly.
    pub(super) async fn close(&self) {
        crate::store::close_pool(&self.pool, "target monitor").await;
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        f(&mut state);
    }

    fn due(&self, pick: impl Fn(&State) -> Option<Instant>, every: Duration) -> bool {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        pick(&state).is_none_or(|at| at.elapsed() >= every)
    }

    /// One check: reads what is due and records the result. Returns a safe reason on failure.
    async fn check(&self, store: Option<&Store>) -> Result<(), String> {
        let session = &self.spec.session;
        let mut conn = match self.pool.acquire().await {
            Ok(conn) => conn,
            Err(sqlx::Error::PoolTimedOut) => return Err(self.diagnose_connect().await),
            Err(e) => return Err(self.failed(&e)),
        };
        // statement_timeout bounds each query on a live server; this bounds a server that stopped
        // answering altogether (a hung host, a SIGSTOPped postmaster).
        let budget = session.connect_timeout + session.statement_timeout * 3;
        let sizes = match tokio::time::timeout(budget, self.read_facts(&mut conn)).await {
            Ok(result) => result?,
            Err(_) => {
                // The connection is mid-query: do not hand it back to the pool.
                drop(conn.detach());
                return Err(format!("no answer within {} s", budget.as_secs()));
            }
        };
        // Outside the target's budget and after its connection is back: a slow store must not
        // make a healthy target look unreachable.
        drop(conn);
        if let (Some(store), Some(sizes)) = (store, &sizes)
            && let Err(e) = store.record_database_sizes(&self.spec.id, sizes).await
        {
            tracing::warn!(target_id = %self.spec.id, error = %e, "storing database sizes failed");
        }
        Ok(())
    }

    /// Reads what is due and records it; returns new database sizes for the store, if read.
    async fn read_facts(
        &self,
        conn: &mut PoolConnection<sqlx::Postgres>,
    ) -> Result<Option<DatabaseSizes>, String> {
        let info = db::server_info(&mut **conn)
            .await
            .map_err(|e| self.failed(&e))?;
        let restarted = {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            state
                .server
                .as_ref()
                .is_some_and(|s| s.started_at != info.started_at)
        };
        let schedule = &self.spec.schedule;
        let capabilities = if restarted || self.due(|s| s.facts_read_at, schedule.facts_interval) {
            let action = match &self.spec.action {
                Some(login) => match db::action_login(&mut **conn, login.0.get_username()).await {
                    Ok(a) => Some(a),
                    Err(e) => {
                        tracing::warn!(target_id = %self.spec.id, error = %e, "reading the action login's grants failed");
                        None
                    }
                },
                None => None,
            };
            match self.extensions(conn, restarted).await {
                Ok(exts) => Some(capabilities::derive(
                    &self.spec.id,
                    &info,
                    &exts,
                    action.as_ref(),
                )),
                Err(e) => {
                    tracing::warn!(target_id = %self.spec.id, error = %e, "reading extensions failed");
                    None
                }
            }
        } else {
            None
        };
        let sizes = if restarted || self.due(|s| s.sizes_read_at, schedule.sizes_interval) {
            match db::database_sizes(&mut **conn).await {
                Ok(items) => Some(DatabaseSizes {
                    measured_at: OffsetDateTime::now_utc(),
                    items,
                }),
                Err(e) => {
                    // Sizes degrade alone: the target is still up.
                    tracing::warn!(target_id = %self.spec.id, error = %e, "reading database sizes failed");
                    None
                }
            }
        } else {
            None
        };
        self.record_up(info, capabilities, sizes.clone());
        Ok(sizes)
    }

    /// The extensions pgpanel can use: the created ones from the catalog each time, the
    /// extension directory only when they changed, after a restart, or every
    /// [`EXTENSION_DIRECTORY_EVERY`] (a package installed without CREATE EXTENSION shows within it).
    async fn extensions(
        &self,
        conn: &mut PgConnection,
        restarted: bool,
    ) -> sqlx::Result<Vec<db::ExtensionInfo>> {
        let installed = db::installed_extensions(&mut *conn).await?;
        let cached = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .extensions
            .clone();
        if let Some((listed, at)) = cached
            && !restarted
            && at.elapsed() < EXTENSION_DIRECTORY_EVERY
            && db::same_installed(&listed, &installed)
        {
            return Ok(listed);
        }
        let listed = db::list_extensions(&mut *conn).await?;
        self.update(|s| s.extensions = Some((listed.clone(), Instant::now())));
        Ok(listed)
    }

    /// The pool retries connecting until its timeout and then only says "timed out". One direct
    /// attempt tells the real reason (refused, authentication, unknown database…). It runs only
    /// while the target is failing.
    async fn diagnose_connect(&self) -> String {
        let timeout = self.spec.session.connect_timeout;
        match tokio::time::timeout(timeout, PgConnection::connect_with(&self.options)).await {
            Err(_) => format!("no answer within {} s", timeout.as_secs_f32()),
            Ok(Err(e)) => self.failed(&e),
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                "no free monitor connection within the connect timeout".into()
            }
        }
    }

    fn failed(&self, err: &sqlx::Error) -> String {
        tracing::debug!(target_id = %self.spec.id, error = %err, "target check failed");
        describe_error(err, LoginKind::Monitor)
    }

    fn record_up(
        &self,
        info: ServerInfo,
        capabilities: Option<Vec<Capability>>,
        sizes: Option<DatabaseSizes>,
    ) {
        let now = OffsetDateTime::now_utc();
        self.update(|state| {
            let since = match &state.status {
                TargetStatus::Up { since, .. } => *since,
                _ => {
                    tracing::info!(
                        target_id = %self.spec.id,
                        version = %info.version,
                        standby = info.in_recovery,
                        "target is up"
                    );
                    now
                }
            };
            state.status = TargetStatus::Up {
                since,
                checked_at: now,
            };
            state.server = Some(ServerSummary {
                version: info.version,
                version_num: info.version_num,
                role: if info.in_recovery {
                    ServerRole::Standby
                } else {
                    ServerRole::Primary
                },
                started_at: info.started_at,
                login: info.login,
                database: info.database,
                max_connections: info.max_connections,
            });
            if let Some(caps) = capabilities {
                state.capabilities = caps;
                state.facts_read_at = Some(Instant::now());
            }
            if let Some(sizes) = sizes {
                state.databases = Some(sizes);
                state.sizes_read_at = Some(Instant::now());
            }
        });
    }

    fn record_down(&self, error: String, retry_in: Duration) {
        let now = OffsetDateTime::now_utc();
        self.update(|state| {
            let since = match &state.status {
                TargetStatus::Unreachable { since, .. } => *since,
                _ => {
                    tracing::warn!(target_id = %self.spec.id, reason = %error, "target is unreachable");
                    now
                }
            };
            state.status = TargetStatus::Unreachable {
                since,
                checked_at: now,
                error,
                next_attempt_at: now + retry_in,
            };
            // Force a fresh read of everything once it is back (it may have been upgraded).
            state.facts_read_at = None;
            state.extensions = None;
        });
    }

    /// Probes at once, then every probe interval on a grid shifted by `phase` (`TargetRegistry`
    /// spreads a fleet's probes over the interval); an unreachable target is tried again with a
    /// doubling back-off instead.
    pub(super) async fn run(self: Arc<Self>, store: Option<Store>, phase: Duration) {
        let schedule = self.spec.schedule.clone();
        let anchor = tokio::time::Instant::now() + phase;
        let mut backoff = Duration::from_secs(1);
        loop {
            if !self.leads() {
                // Another instance probes it; this one probes at once when it takes the lease.
                tokio::select! {
                    () = self.lease.taken() => {}
                    () = tokio::time::sleep(schedule.probe_interval) => {}
                }
                continue;
            }
            let next = match self.check(store.as_ref()).await {
                Ok(()) => {
                    backoff = Duration::from_secs(1);
                    next_on_grid(anchor, schedule.probe_interval, tokio::time::Instant::now())
                }
                Err(reason) => {
                    let delay = backoff.min(schedule.max_backoff);
                    self.record_down(reason, delay);
                    backoff = (backoff * 2).min(schedule.max_backoff);
                    tokio::time::Instant::now() + delay
                }
            };
            tokio::time::sleep_until(next).await;
        }
    }
}

/// The first instant `anchor + k × every` (k ≥ 0) at least half an interval after `now`: the
/// probes keep their phase whatever each one took, and never come closer than half an interval.
fn next_on_grid(
    anchor: tokio::time::Instant,
    every: Duration,
    now: tokio::time::Instant,
) -> tokio::time::Instant {
    let earliest = now + every / 2;
    if earliest <= anchor || every.is_zero() {
        return anchor.max(earliest);
    }
    let behind = (earliest - anchor).as_nanos();
    let step = every.as_nanos();
    let k = behind.div_ceil(step);
    anchor + every * u32::try_from(k).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod grid_tests {
    use super::*;

    #[test]
    fn probes_keep_their_phase_and_half_an_interval_apart() {
        let t0 = tokio::time::Instant::now();
        let every = Duration::from_secs(5);
        let anchor = t0 + Duration::from_millis(1_250);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // The first probe ran at start: the next is the first grid point half an interval on.
        assert_eq!(next_on_grid(anchor, every, t0), at(6_250));
        assert_eq!(
            next_on_grid(t0 + Duration::from_secs(4), every, t0),
            at(4_000)
        );
        // Later probes: the next grid point half an interval away at least, whatever the
        // probe took.
        assert_eq!(next_on_grid(anchor, every, at(1_300)), at(6_250));
        assert_eq!(next_on_grid(anchor, every, at(3_700)), at(6_250));
        assert_eq!(next_on_grid(anchor, every, at(3_800)), at(11_250));
        assert_eq!(next_on_grid(anchor, every, at(6_300)), at(11_250));
    }
}
