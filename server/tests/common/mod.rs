//! Helpers shared by the HTTP tests: users created straight in the store, and a small client
//! that keeps a session cookie and sends the Origin header a browser would.
#![allow(dead_code)]
#![allow(clippy::expect_used, clippy::unwrap_used)]

use time::OffsetDateTime;

use app::clock::Clock;
use app::features::auth::model::Role;
use app::state::AppState;
use app::store::AuditEvent;
use server::config::{Config, HttpConfig, StoreConfig};
use server::serve::{RunningServer, start_with_clock};

/// A password every test user gets unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

pub async fn add_user(state: &AppState, name: &str, role: Role) {
    add_user_with(state, name, role, PASSWORD).await;
}

pub async fn add_user_with(state: &AppState, name: &str, role: Role, password: &str) {
    let hash = state.auth.hasher.hash(password).await.expect("hash");
    let ev = AuditEvent::new(
        0,
        app::features::audit::model::Action::UserCreate,
        app::features::audit::model::Outcome::Success,
    )
    .actor("test", None);
    state
        .store
        .create_user(name, &hash, role, state.auth.clock.now_ms(), &ev)
        .await
        .expect("create user");
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `name=value` of a `Set-Cookie` header, or None.
pub fn cookie_of(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("pgpanel_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// A browser-like caller: same-origin POSTs, a cookie once signed in.
#[derive(Clone)]
pub struct Caller {
    pub base: String,
    pub cookie: Option<String>,
    pub http: reqwest::Client,
}

impl Caller {
    pub fn anonymous(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            cookie: None,
            http: client(),
        }
    }

    pub async fn signed_in(base: &str, user: &str, password: &str) -> Self {
        let mut c = Self::anonymous(base);
        let res = c
            .post(
                "/api/auth/login",
                &[("username", user), ("password", password)],
            )
            .await;
        assert_eq!(res.status(), 200, "login of {user}");
        c.cookie = cookie_of(&res);
        assert!(c.cookie.is_some(), "session cookie for {user}");
        c
    }

    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.with_cookie(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await
            .expect("get")
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_with(path, form, &[("origin", &self.base)]).await
    }

    /// A POST with exactly these extra headers (no Origin unless given).
    pub async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .with_cookie(self.http.post(format!("{}{path}", self.base)))
            .form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("post")
    }

    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }
}

pub async fn body(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// A dashboard with no targets, a SQLite store, a manual clock and three users (`root` admin,
/// `dora` dba, `ana` analyst), all with `PASSWORD`.
pub struct Fixture {
    pub server: RunningServer,
    pub base: String,
    pub clock: Clock,
    pub dir: tempfile::TempDir,
}

/// A configuration for a test server in `dir`: any free port, plain-http cookies, no targets,
/// the store at `store_url` (default: a SQLite file in `dir`).
pub fn test_config(dir: &std::path::Path, store_url: Option<String>) -> Config {
    Config {
        http: HttpConfig {
            listen: "127.0.0.1:0".into(),
            secure_cookies: false,
            site_root: Some(dir.join("site").display().to_string()),
            // Every test client is 127.0.0.1: tests that stand for many users are not one client.
            max_connections_per_client: 1024,
            allowed_origins: Vec::new(),
            ..HttpConfig::default()
        },
        store: StoreConfig {
            url: store_url
                .unwrap_or_else(|| format!("sqlite://{}", dir.join("pgpanel.db").display())),
            ..StoreConfig::default()
        },
        // Analyses only when a test asks: a scheduled one would add connections mid-test.
        monitor: server::config::MonitorConfig {
            advice_interval_minutes: 0,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// Target `main` watched through `monitor_url`, without an action login.
pub fn monitor_only(monitor_url: String) -> server::config::TargetConfig {
    server::config::TargetConfig {
        id: "main".into(),
        name: None,
        monitor_url,
        monitor_password_file: None,
        action_url: None,
        action_password_file: None,
        logs: None,
        log_path: None,
        log_format: None,
        log_line_prefix: None,
        audit_tables: Vec::new(),
    }
}

pub async fn fixture_with(secure_cookies: bool) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.http.secure_cookies = secure_cookies;
    fixture_from(config, dir).await
}

pub async fn fixture_from(config: Config, dir: tempfile::TempDir) -> Fixture {
    let clock = Clock::manual(OffsetDateTime::now_utc());
    let server = start_with_clock(&config, clock.clone())
        .await
        .expect("start");
    let base = format!("http://{}", server.addr);
    for (name, role) in [
        ("root", Role::Admin),
        ("dora", Role::Dba),
        ("ana", Role::Analyst),
    ] {
        add_user(&server.state, name, role).await;
    }
    Fixture {
        server,
        base,
        clock,
        dir,
    }
}

pub async fn fixture() -> Fixture {
    fixture_with(false).await
}

/// The audit trail after the refused-request counts of the current minute are written.
pub async fn audit_flushed(f: &Fixture) -> Vec<AuditEvent> {
    let state = &f.server.state;
    state
        .auth
        .refusals
        .flush(&state.store, state.auth.clock.now_ms(), true)
        .await;
    audit(f).await
}

/// How many requests these events stand for: a summary of refused requests counts its
/// `repeats`, any other event one.
pub fn weight(events: &[AuditEvent], keep: impl Fn(&AuditEvent) -> bool) -> u64 {
    events
        .iter()
        .filter(|e| keep(e))
        .map(|e| {
            e.parameters
                .as_deref()
                .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
                .and_then(|v| v["repeats"].as_u64())
                .unwrap_or(1)
        })
        .sum()
}

pub async fn audit(f: &Fixture) -> Vec<AuditEvent> {
    f.server
        .state
        .store
        .recent_audit(5000)
        .await
        .expect("audit")
}

pub async fn login(f: &Fixture, user: &str, password: &str) -> reqwest::Response {
    Caller::anonymous(&f.base)
        .post(
            "/api/auth/login",
            &[("username", user), ("password", password)],
        )
        .await
}

/// A dashboard on a throwaway cluster with two targets: `main` with an action login
/// (`pgpanel_action`, which may signal sessions and read all stats) and `noact` without one;
/// role `app_user` (password `app`) plays the application.
pub async fn actions_fixture() -> (Fixture, harness::TempCluster) {
    let cluster = harness::TempCluster::start_async(harness::ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = <sqlx::PgConnection as sqlx::Connection>::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::Executor::execute(
        &mut su,
        "create role pgpanel_action login password 'act'; \
         grant pg_signal_backend, pg_read_all_stats to pgpanel_action; \
         create role weak_action login password 'weak'; \
         grant pg_signal_backend to weak_action; \
         create role app_user login password 'app'",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.monitor.probe_interval_ms = 200;
    let target = |id: &str, action: Option<String>| server::config::TargetConfig {
        id: id.into(),
        name: None,
        monitor_url: cluster.url("postgres"),
        monitor_password_file: None,
        action_url: action,
        action_password_file: None,
        logs: None,
        log_path: None,
        log_format: None,
        log_line_prefix: None,
        audit_tables: Vec::new(),
    };
    config.targets = vec![
        target(
            "main",
            Some(cluster.url_as("pgpanel_action", "act", "postgres")),
        ),
        target("noact", None),
        // Can signal, cannot see other roles' sessions (no pg_read_all_stats).
        target(
            "weak",
            Some(cluster.url_as("weak_action", "weak", "postgres")),
        ),
    ];
    (fixture_from(config, dir).await, cluster)
}

/// A throwaway cluster writing jsonlog through the logging collector (plus `settings`), the log
/// reader installed and a `watcher` login (password `w`) with pg_monitor and the reader's
/// grants, as `pgpanel setup-sql` prints them; and a configuration watching it as target
/// `main` that polls the log every second.
pub async fn logging_target(
    settings: &[(&str, &str)],
) -> (harness::TempCluster, Config, tempfile::TempDir) {
    use sqlx::{Connection, Executor};
    let mut options = harness::ClusterOptions::default()
        .setting("logging_collector", "on")
        .setting("log_destination", "jsonlog");
    for (name, value) in settings {
        options = options.setting(name, value);
    }
    let cluster = harness::TempCluster::start_async(options)
        .await
        .expect("cluster");
    let mut su = sqlx::PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    su.execute(app::features::logs::db::READER_SQL)
        .await
        .unwrap();
    su.execute(
        "create role watcher login password 'w'; grant pg_monitor to watcher; \
         grant usage on schema pgpanel to watcher; \
         grant execute on function pgpanel.read_log(text, bigint, bigint) to watcher",
    )
    .await
    .unwrap();
    let _ = su.close().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path(), None);
    config.monitor.probe_interval_ms = 200;
    config.logs.poll_interval_s = 1;
    config.targets = vec![monitor_only(cluster.url_as("watcher", "w", "postgres"))];
    (cluster, config, dir)
}

/// A VACUUM job of `public.<object>` on target `main`, as a running job's row says it.
pub fn running_job(id: i64, object: &str) -> app::features::maintenance::model::Job {
    use app::features::maintenance::model::{Job, JobAction, JobState};
    Job {
        id,
        target: "main".into(),
        action: JobAction::Vacuum,
        database: "postgres".into(),
        object: format!("public.{object}"),
        sql: format!("VACUUM public.{object};"),
        state: JobState::Running,
        username: "dora".into(),
        started_ms: 1,
        ended_ms: None,
        pid: Some(1),
        sqlstate: None,
        error: None,
        result: None,
        progress: None,
    }
}

/// Polls `path` until it answers 200 with a body `ok` accepts (30 s at most).
pub async fn eventually_json(
    c: &Caller,
    path: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, body) = c.json(path).await;
        if status == 200 && ok(&body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path}: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Reads `n` events of a stream; returns (event name, data) pairs.
pub async fn read_events(res: &mut reqwest::Response, n: usize) -> Vec<(String, String)> {
    let mut buf = String::new();
    let mut events = Vec::new();
    while events.len() < n {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), res.chunk())
            .await
            .expect("a frame within 10 s")
            .expect("read")
            .expect("stream still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if !name.is_empty() {
                events.push((name, data));
            }
        }
    }
    events
}
