//! Configuration: one TOML file (`--config PATH` or `PGPANEL_CONFIG`), every key overridable from
//! the environment as `PGPANEL__SECTION__KEY` (array entries by index: `PGPANEL__TARGETS__0__ID`),
//! typed, unknown keys rejected. Errors name the file, the line and the key (or the environment
//! variable). Passwords never appear in errors, logs or `check-config` output.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;

use app::features::logs::spec::{LogMode, LogSpec};
use app::features::targets::connect::Login;
use app::features::targets::monitor::TargetSpec;
use app::store::{Backend, default_sqlite_url};

mod audit_tables;
pub use audit_tables::AuditTableConfig;
mod auth;
mod locate;
mod logs;
mod monitor;
mod overrides;

pub use auth::AuthConfig;
pub use locate::mask_url;
use locate::{line_of_key, line_of_offset};
pub use logs::LogsConfig;
pub use monitor::MonitorConfig;
use overrides::apply_override;

pub const ENV_PREFIX: &str = "PGPANEL__";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub store: StoreConfig,
    pub monitor: MonitorConfig,
    pub auth: AuthConfig,
    pub logs: LogsConfig,
    pub targets: Vec<TargetConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// Secure + `__Host-` session cookie. Turn off only for plain-http local use.
    pub secure_cookies: bool,
    /// Folder with `pkg/` (wasm, js, css) and the public assets. Default: `site` next to the
    /// binary, or `../site` (the layout of `target/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_root: Option<String>,
    /// Origins besides pgpanel's own (`scheme://host[:port]`) whose POSTs are accepted, e.g. the
    /// public address when a proxy changes the Host header.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    /// Host names (`host[:port]`) answered besides IP addresses, loopback names and the hosts of
    /// `allowed_origins`, on every listener. Anything else gets 400 (a page that rebinds its own
    /// DNS name to pgpanel's address is not pgpanel); behind a proxy that forwards the Host it
    /// was sent (`proxy_set_header Host $host`), list the public name here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Reverse proxies (addresses or networks: `10.0.0.5`, `10.0.0.0/8`, `fd00::/8`) whose
    /// connections name the client in `X-Forwarded-For`: the audit trail and the sign-in
    /// throttling per address then see the real client, not the proxy. A connection from
    /// anywhere else is its own client, whatever it sends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<String>,
    /// A client must send a request's headers within this many seconds of connecting or of the
    /// previous response; an idle keep-alive connection is closed after it too.
    pub header_timeout_secs: u64,
    /// A request body must arrive within this many seconds (else 408).
    pub body_timeout_secs: u64,
    /// A response that the client does not read for this many seconds (a write that cannot make
    /// progress, live streams included) ends the connection.
    pub write_timeout_secs: u64,
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Open connections of one client address at most (more are closed at once). Behind a
    /// reverse proxy every client has the proxy's address: raise it to `max_connections`.
    pub max_connections_per_client: usize,
    /// Largest request body accepted (bytes; else 413). pgpanel's forms are a few hundred bytes.
    pub max_body_bytes: usize,
    /// Log query strings of requests (paths only by default: a secret put in a URL by mistake
    /// must not reach the log).
    pub log_query_strings: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3000".into(),
            secure_cookies: true,
            site_root: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            write_timeout_secs: 30,
            max_connections: 1024,
            max_connections_per_client: 256,
            max_body_bytes: 64 * 1024,
            log_query_strings: false,
        }
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://PATH` (default: pgpanel.db in the data directory) or `postgres://…`.
    pub url: String,
    /// Database size samples older than this are deleted.
    pub size_history_days: u32,
    /// Live-panel minute roll-ups and statement history older than this are deleted.
    pub metrics_retention_days: u32,
    /// Server log entries and their per-minute counts older than this are deleted.
    pub logs_retention_days: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: default_sqlite_url(&default_data_dir()),
            size_history_days: 90,
            metrics_retention_days: 7,
            logs_retention_days: 14,
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &mask_url(&self.url))
            .field("size_history_days", &self.size_history_days)
            .field("metrics_retention_days", &self.metrics_retention_days)
            .field("logs_retention_days", &self.logs_retention_days)
            .finish()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `[a-z0-9_-]+`, used in URLs.
    pub id: String,
    /// Display name; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub monitor_url: String,
    /// A file holding the monitor password (wins over a password in the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_password_file: Option<PathBuf>,
    /// Without it, actions are disabled for this target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_password_file: Option<PathBuf>,
    /// How the server log is read: `sql` (the default: pg_ls_logdir and pgpanel.read_log),
    /// `file` (from `log_path` on this host) or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// With `logs = "file"`: a directory of log files or one file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_path: Option<PathBuf>,
    /// `jsonlog`, `csvlog` or `stderr`: which files to follow (default: the best the server writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    /// The server's log_line_prefix for stderr files, when it cannot be read from the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_line_prefix: Option<String>,
    /// Application audit tables to browse (`[[targets.audit_tables]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_tables: Vec<audit_tables::AuditTableConfig>,
}

impl fmt::Debug for TargetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TargetConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("monitor_url", &mask_url(&self.monitor_url))
            .field("monitor_password_file", &self.monitor_password_file)
            .field("action_url", &self.action_url.as_deref().map(mask_url))
            .field("action_password_file", &self.action_password_file)
            .field("logs", &self.logs)
            .field("log_path", &self.log_path)
            .field("log_format", &self.log_format)
            .field("log_line_prefix", &self.log_line_prefix)
            .field("audit_tables", &self.audit_tables)
            .finish()
    }
}

impl TargetConfig {
    /// How its log is read; the key that is wrong and why.
    pub fn log_spec(&self) -> Result<LogSpec, (&'static str, String)> {
        let mode = match (self.logs.as_deref(), &self.log_path) {
            (None | Some("sql"), None) => LogMode::Sql,
            (None | Some("file"), Some(path)) => LogMode::File(path.clone()),
            (Some("off"), _) => LogMode::Off,
            (Some("file"), None) => {
                return Err((
                    "log_path",
                    "logs = \"file\" needs log_path (a directory of log files or one file)".into(),
                ));
            }
            (Some("sql"), Some(_)) => {
                return Err((
                    "log_path",
                    "log_path is read only with logs = \"file\"".into(),
                ));
            }
            (Some(other), _) => {
                return Err((
                    "logs",
                    format!("expected \"sql\", \"file\" or \"off\", got {other:?}"),
                ));
            }
        };
        if let Some(f) = &self.log_format
            && !matches!(f.as_str(), "jsonlog" | "csvlog" | "stderr")
        {
            return Err((
                "log_format",
                format!("expected jsonlog, csvlog or stderr, got {f:?}"),
            ));
        }
        if let Some(p) = &self.log_line_prefix
            && let Err(e) = app::features::logs::parse::stderr::Prefix::new(p)
        {
            return Err(("log_line_prefix", e.to_string()));
        }
        Ok(LogSpec {
            mode,
            format: self.log_format.clone(),
            line_prefix: self.log_line_prefix.clone(),
        })
    }
}

/// Where the data directory is when nothing says otherwise: systemd's $STATE_DIRECTORY,
/// /var/lib/pgpanel for root, else $XDG_DATA_HOME/pgpanel or ~/.local/share/pgpanel.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("STATE_DIRECTORY") {
        return dir;
    }
    if nix::unistd::Uid::effective().is_root() {
        return PathBuf::from("/var/lib/pgpanel");
    }
    if let Some(dir) = env("XDG_DATA_HOME") {
        return dir.join("pgpanel");
    }
    match env("HOME") {
        Some(home) => home.join(".local/share/pgpanel"),
        None => PathBuf::from("pgpanel-data"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read the configuration file: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
}

/// Where a setting came from, for error messages.
struct Sources<'a> {
    file: Option<&'a Path>,
    text: &'a str,
    /// Config path (`targets[0].id`) → environment variable that set it.
    env: BTreeMap<String, String>,
}

impl Sources<'_> {
    fn locate(&self, key: &str) -> String {
        if let Some(var) = self.env.get(key) {
            return format!("environment variable {var}");
        }
        let file = self
            .file
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "configuration".into());
        match line_of_key(self.text, key) {
            Some(line) => format!("{file}:{line}: key `{key}`"),
            None => format!("{file}: key `{key}` (default value)"),
        }
    }

    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            location: self.locate(key),
            message: message.into(),
        }
    }
}

/// Reads the file (if any), applies `PGPANEL__…` overrides from `env`, checks every value.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.display().to_string(),
            source,
        })?,
        None => String::new(),
    };
    let file_name = file
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "configuration".into());
    let from_file: Config = serde_path_to_error::deserialize(toml::Deserializer::new(&text))
        .map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner
                .span()
                .map(|s| format!(":{}", line_of_offset(&text, s.start)))
                .unwrap_or_default();
            let key = if key == "." || key.is_empty() {
                String::new()
            } else {
                format!(" key `{key}`:")
            };
            ConfigError::Invalid {
                location: format!("{file_name}{line}:{key}"),
                message: inner.message().trim().to_owned(),
            }
        })?;

    let mut sources = Sources {
        file,
        text: &text,
        env: BTreeMap::new(),
    };
    let overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    let config = if overrides.is_empty() {
        from_file
    } else {
        let mut value = toml::Value::try_from(&from_file).map_err(|e| ConfigError::Invalid {
            location: file_name.clone(),
            message: e.to_string(),
        })?;
        for (var, raw) in overrides {
            let path =
                apply_override(&mut value, &var, &raw).map_err(|message| ConfigError::Invalid {
                    location: format!("environment variable {var}"),
                    message,
                })?;
            sources.env.insert(path, var);
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            sources.invalid(&key, e.into_inner().message().trim().to_owned())
        })?
    };
    validate(&config, &sources)?;
    Ok(config)
}

fn valid_target_id(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_pg_url(url: &str) -> Result<(), String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("expected a postgres:// URL".into());
    }
    PgConnectOptions::from_str(url)
        .map(|_| ())
        // sqlx's message can quote the URL: never echo it, it may hold a password.
        .map_err(|_| "not a valid PostgreSQL connection URL".into())
}

fn validate(config: &Config, src: &Sources<'_>) -> Result<(), ConfigError> {
    if config.http.listen.parse::<SocketAddr>().is_err() {
        return Err(src.invalid(
            "http.listen",
            format!(
                "expected an address and port like 127.0.0.1:3000, got `{}`",
                config.http.listen
            ),
        ));
    }
    if Backend::of_url(&config.store.url).is_none() {
        return Err(src.invalid("store.url", "expected a sqlite: or postgres:// URL"));
    }
    if config.store.url.starts_with("postgres") {
        check_pg_url(&config.store.url).map_err(|m| src.invalid("store.url", m))?;
    }
    config
        .auth
        .check()
        .map_err(|(key, message)| src.invalid(key, message))?;
    for (i, origin) in config.http.allowed_origins.iter().enumerate() {
        if !auth::valid_origin(origin) {
            return Err(src.invalid(
                &format!("http.allowed_origins[{i}]"),
                "expected scheme://host[:port], like https://pgpanel.example.com",
            ));
        }
    }
    for (i, host) in config.http.allowed_hosts.iter().enumerate() {
        if !auth::valid_host(host) {
            return Err(src.invalid(
                &format!("http.allowed_hosts[{i}]"),
                "expected host[:port], like pgpanel.example.com or 10.0.0.5:3000",
            ));
        }
    }
    if let Err(i) = crate::http::client::TrustedProxies::parse(&config.http.trusted_proxies) {
        return Err(src.invalid(
            &format!("http.trusted_proxies[{i}]"),
            "expected an address or a network, like 10.0.0.5, 10.0.0.0/8 or fd00::/8",
        ));
    }
    let http = &config.http;
    for (key, value, range) in [
        (
            "http.header_timeout_secs",
            http.header_timeout_secs,
            1..=300,
        ),
        ("http.body_timeout_secs", http.body_timeout_secs, 1..=600),
        ("http.write_timeout_secs", http.write_timeout_secs, 1..=600),
    ] {
        if !range.contains(&value) {
            return Err(src.invalid(
                key,
                format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            ));
        }
    }
    if !(1..=1_000_000).contains(&http.max_connections) {
        return Err(src.invalid("http.max_connections", "must be between 1 and 1000000"));
    }
    if !(1024..=16 * 1024 * 1024).contains(&http.max_body_bytes) {
        return Err(src.invalid("http.max_body_bytes", "must be between 1024 and 16777216"));
    }
    monitor::check(&config.monitor).map_err(|(key, message)| src.invalid(key, message))?;
    config
        .logs
        .check()
        .map_err(|(key, message)| src.invalid(key, message))?;
    let mut seen = BTreeMap::new();
    for (i, t) in config.targets.iter().enumerate() {
        if !valid_target_id(&t.id) {
            return Err(src.invalid(
                &format!("targets[{i}].id"),
                format!(
                    "`{}` is not a valid id: use 1 to 63 of a-z, 0-9, _ and -",
                    t.id.escape_default()
                ),
            ));
        }
        if let Some(first) = seen.insert(t.id.as_str(), i) {
            return Err(src.invalid(
                &format!("targets[{i}].id"),
                format!("`{}` is already the id of targets[{first}]", t.id),
            ));
        }
        check_pg_url(&t.monitor_url)
            .map_err(|m| src.invalid(&format!("targets[{i}].monitor_url"), m))?;
        if let Some(url) = &t.action_url {
            check_pg_url(url).map_err(|m| src.invalid(&format!("targets[{i}].action_url"), m))?;
        }
        t.log_spec()
            .map_err(|(key, m)| src.invalid(&format!("targets[{i}].{key}"), m))?;
        audit_tables::specs(&t.audit_tables).map_err(|(j, key, m)| {
            src.invalid(&format!("targets[{i}].audit_tables[{j}].{key}"), m)
        })?;
        if t.action_password_file.is_some() && t.action_url.is_none() {
            return Err(src.invalid(
                &format!("targets[{i}].action_password_file"),
                "given without action_url",
            ));
        }
    }
    Ok(())
}

impl Config {
    /// The effective configuration as TOML with every password masked.
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        masked.store.url = mask_url(&masked.store.url);
        for t in &mut masked.targets {
            t.monitor_url = mask_url(&t.monitor_url);
            t.action_url = t.action_url.as_deref().map(mask_url);
        }
        toml::to_string_pretty(&masked).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }

    /// The targets as the app needs them, with passwords read from their files.
    pub fn target_specs(&self) -> Result<Vec<TargetSpec>, ConfigError> {
        self.targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let monitor = login(
                    &t.monitor_url,
                    t.monitor_password_file.as_deref(),
                    &format!("targets[{i}].monitor_password_file"),
                )?;
                let action = t
                    .action_url
                    .as_deref()
                    .map(|url| {
                        login(
                            url,
                            t.action_password_file.as_deref(),
                            &format!("targets[{i}].action_password_file"),
                        )
                    })
                    .transpose()?;
                Ok(TargetSpec {
                    id: t.id.clone(),
                    name: t.name.clone().unwrap_or_else(|| t.id.clone()),
                    monitor,
                    action,
                    session: self.session_settings(),
                    schedule: self.schedule(),
                    logs: t
                        .log_spec()
                        .map_err(|(key, message)| ConfigError::Invalid {
                            location: format!("key `targets[{i}].{key}`"),
                            message,
                        })?,
                    audit_tables: audit_tables::specs(&t.audit_tables).map_err(
                        |(j, key, message)| ConfigError::Invalid {
                            location: format!("key `targets[{i}].audit_tables[{j}].{key}`"),
                            message,
                        },
                    )?,
                })
            })
            .collect()
    }
}

fn login(url: &str, password_file: Option<&Path>, key: &str) -> Result<Login, ConfigError> {
    let mut opts = PgConnectOptions::from_str(url).map_err(|_| ConfigError::Invalid {
        location: format!("key `{key}`"),
        message: "not a valid PostgreSQL connection URL".into(),
    })?;
    if let Some(path) = password_file {
        let secret = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            location: format!("key `{key}`"),
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        opts = opts.password(secret.trim_end_matches(['\n', '\r']));
    }
    Ok(Login(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ids() {
        assert!(valid_target_id("main-1_a"));
        assert!(!valid_target_id(""));
        assert!(!valid_target_id("Main"));
        assert!(!valid_target_id("a b"));
        assert!(!valid_target_id("ü"));
        assert!(!valid_target_id(&"a".repeat(64)));
    }
}
