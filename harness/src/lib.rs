//! Throwaway PostgreSQL clusters, for the tests, the demo and the benchmarks.
//!
//! `TempCluster::start()` finds the server binaries, runs initdb in a fresh temporary folder (as
//! the OS user `postgres` when running as root, since initdb refuses root), starts the server on a
//! free 127.0.0.1 port with pg_stat_statements preloaded and track_io_timing on, creates the
//! extensions and hands out connection URLs. Dropping it stops the server and deletes the folder,
//! also while a test panics. Clusters are independent, so many can run at once. Folders left by a
//! process that was killed outright are reaped by the next start.
//!
//! The calls block (a start takes about a second); async code can use `start_async`.

mod discovery;
mod reap;

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, Uid, User};

pub use discovery::{find_bin_dir, has_library};

/// An application audit table, `audit_log(id, table_name, operation, old_values, new_values,
/// user_id, changed_at, session_id)`, and the trigger function `audit_row()` that fills it, for
/// tests of the Audit area's application tables.
pub const AUDIT_LOG_SQL: &str = include_str!("audit_log.sql");
use rand::Rng;
use rand::distributions::Alphanumeric;
use reap::reap_stale_clusters;

const DIR_PREFIX: &str = "pgpanel-pg-";
const READY_LINE: &str = "database system is ready to accept connections";
/// What a standby logs once it takes (read-only) connections.
const STANDBY_READY_LINE: &str = "database system is ready to accept read-only connections";
/// With logging_collector = on the ready line goes to the collector's files; only this is
/// written to stderr, and readiness is checked by connecting.
const COLLECTOR_LINE: &str = "redirecting log output to logging collector process";

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(
        "PostgreSQL server binaries not found (looked at $PGPANEL_PG_BIN, pg_config --bindir, \
         /usr/lib/postgresql/*/bin and PATH); install the postgresql package"
    )]
    NoBinaries,
    #[error("running as root needs the OS user `postgres` to own the cluster: {0}")]
    NoPostgresUser(String),
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

fn step(step: &'static str, detail: impl Into<String>) -> HarnessError {
    HarnessError::Step {
        step,
        detail: detail.into(),
    }
}

/// What the cluster is started with.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// `shared_preload_libraries`.
    pub preload: Vec<String>,
    /// Extensions created in database `postgres` when the server has them.
    pub extensions: Vec<String>,
    /// Extra `-c name=value` settings.
    pub settings: Vec<(String, String)>,
    /// The server binaries to use (default: `find_bin_dir`), e.g. another major's.
    pub bin: Option<PathBuf>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            preload: vec!["pg_stat_statements".into()],
            extensions: vec![
                "pg_stat_statements".into(),
                "pgstattuple".into(),
                "hypopg".into(),
            ],
            settings: Vec::new(),
            bin: None,
        }
    }
}

impl ClusterOptions {
    /// A bare cluster: nothing preloaded, no extensions.
    pub fn bare() -> Self {
        Self {
            preload: Vec::new(),
            extensions: Vec::new(),
            settings: Vec::new(),
            bin: None,
        }
    }

    /// Runs the server binaries in `dir` (initdb, postgres) instead of the machine's.
    pub fn bin(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bin = Some(dir.into());
        self
    }

    pub fn setting(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }
}

/// A running throwaway cluster. The superuser is `postgres` with a random password.
#[derive(Debug)]
pub struct TempCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    password: String,
    owner: Option<User>,
    child: Option<Child>,
    options: ClusterOptions,
}

impl TempCluster {
    /// initdb + start with the default options.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(ClusterOptions::default())
    }

    pub fn start_with(options: ClusterOptions) -> Result<Self, HarnessError> {
        reap_stale_clusters();
        let bin = match &options.bin {
            Some(dir) => dir.clone(),
            None => find_bin_dir().ok_or(HarnessError::NoBinaries)?,
        };
        let owner = if Uid::effective().is_root() {
            Some(
                User::from_name("postgres")
                    .map_err(|e| HarnessError::NoPostgresUser(e.to_string()))?
                    .ok_or_else(|| HarnessError::NoPostgresUser("no such user".into()))?,
            )
        } else {
            None
        };
        let dir = tempfile::Builder::new().prefix(DIR_PREFIX).tempdir()?;
        fs::write(dir.path().join("owner.pid"), std::process::id().to_string())?;
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        let pwfile = dir.path().join("pwfile");
        fs::File::create(&pwfile)?.write_all(password.as_bytes())?;
        if let Some(user) = &owner {
            for path in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
            }
        }
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            password,
            owner,
            child: None,
            options,
        };
        cluster.initdb(&pwfile)?;
        fs::remove_file(&pwfile)?;
        cluster.launch_on_free_port()?;
        cluster.create_extensions()?;
        Ok(cluster)
    }

    /// `start` off the async runtime's threads.
    pub async fn start_async(options: ClusterOptions) -> Result<Self, HarnessError> {
        tokio::task::spawn_blocking(move || Self::start_with(options))
            .await
            .map_err(|e| step("start task", e.to_string()))?
    }

    fn command(&self, program: &str) -> Command {
        // A server-only build (npm's embedded-postgres: initdb, postgres, pg_ctl) has no psql:
        // the machine's client talks to any major over the socket.
        let path = Some(self.bin.join(program))
            .filter(|p| p.exists())
            .or_else(|| {
                find_bin_dir()
                    .map(|d| d.join(program))
                    .filter(|p| p.exists())
            })
            .unwrap_or_else(|| PathBuf::from(program));
        let mut cmd = Command::new(path);
        cmd.current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGUSER")
            .env_remove("PGPASSWORD")
            .env_remove("PGDATABASE");
        if let Some(user) = &self.owner {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
            cmd.env("HOME", self.dir.path());
        }
        cmd
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn initdb(&self, pwfile: &Path) -> Result<(), HarnessError> {
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()?;
        if !out.status.success() {
            return Err(step(
                "initdb",
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            ));
        }
        Ok(())
    }

    fn launch_on_free_port(&mut self) -> Result<(), HarnessError> {
        let mut last = None;
        // Another process may take the port between our probe and the server's bind: retry.
        for _ in 0..5 {
            self.port = free_port()?;
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(e) if self.log_tail().contains("could not bind") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| step("start", "no free port")))
    }

    fn launch(&mut self) -> Result<(), HarnessError> {
        let log = fs::File::create(self.log_file())?;
        if let Some(user) = &self.owner {
            std::os::unix::fs::chown(
                self.log_file(),
                Some(user.uid.as_raw()),
                Some(user.gid.as_raw()),
            )?;
        }
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(self.data_dir())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg("listen_addresses=127.0.0.1")
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ));
        let mut settings = vec![
            ("track_io_timing".to_owned(), "on".to_owned()),
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("max_connections".into(), "200".into()),
            ("shared_buffers".into(), "32MB".into()),
            ("logging_collector".into(), "off".into()),
            ("log_line_prefix".into(), "%m [%p] ".into()),
        ];
        // Command-line settings beat ALTER SYSTEM: pass it only when asked, so a bare cluster can
        // be configured like a real one.
        if !self.options.preload.is_empty() {
            settings.push((
                "shared_preload_libraries".into(),
                self.options.preload.join(","),
            ));
        }
        settings.extend(self.options.settings.iter().cloned());
        for (name, value) in settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        // Own process group: a Ctrl-C in the terminal reaches us, and we stop the server in order.
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.child = Some(cmd.spawn()?);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(step(
                    "start",
                    format!("postgres exited with {status}: {}", self.log_tail()),
                ));
            }
            // The ready line can be logged before the TCP socket accepts, so check both.
            let log = fs::read_to_string(self.log_file()).unwrap_or_default();
            let tcp = || std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok();
            if (log.contains(READY_LINE) || log.contains(STANDBY_READY_LINE)) && tcp() {
                return Ok(());
            }
            if log.contains(COLLECTOR_LINE) && tcp() && self.psql("postgres", "select 1").is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(step(
                    "start",
                    format!("not ready after 30 s: {}", self.log_tail()),
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn create_extensions(&self) -> Result<(), HarnessError> {
        if self.options.extensions.is_empty() {
            return Ok(());
        }
        let wanted: Vec<String> = self
            .options
            .extensions
            .iter()
            .map(|e| format!("'{}'", e.replace('\'', "''")))
            .collect();
        let available = self.psql(
            "postgres",
            &format!(
                "select name from pg_available_extensions where name in ({}) order by name",
                wanted.join(",")
            ),
        )?;
        for name in available.lines().map(str::trim).filter(|l| !l.is_empty()) {
            self.psql(
                "postgres",
                &format!(
                    "create extension if not exists \"{}\"",
                    name.replace('"', "\"\"")
                ),
            )?;
        }
        Ok(())
    }

    /// Runs SQL as the superuser through psql on the local socket; returns unaligned output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, HarnessError> {
        self.run_psql(database, ["-c", sql])
    }

    /// Runs a psql script file as the superuser (meta-commands such as \gexec and \connect
    /// work); returns the output, or psql's error.
    pub fn psql_file(&self, database: &str, file: &Path) -> Result<String, HarnessError> {
        self.run_psql(database, [std::ffi::OsStr::new("-f"), file.as_os_str()])
    }

    fn run_psql<I, S>(&self, database: &str, what: I) -> Result<String, HarnessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self
            .command("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.dir.path())
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", database])
            .args(what)
            .output()?;
        if !out.status.success() {
            return Err(step(
                "psql",
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding the data directory, socket and log (deleted on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// Superuser URL over TCP with password authentication.
    pub fn url(&self, database: &str) -> String {
        self.url_as("postgres", &self.password, database)
    }

    /// URL for another login (its name and password must be URL-safe).
    pub fn url_as(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Server version, e.g. "15.20".
    pub fn version(&self) -> Result<String, HarnessError> {
        Ok(self
            .psql("postgres", "show server_version")?
            .trim()
            .to_owned())
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Fast shutdown (SIGINT), keeping the data: `restart` brings it back on the same port.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        for (signal, wait) in [
            (Signal::SIGINT, Duration::from_secs(10)),
            (Signal::SIGQUIT, Duration::from_secs(5)),
        ] {
            let _ = kill(pid, signal);
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts a stopped cluster again on the same port.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        self.launch()
    }

    /// Restarts the cluster as a standby without a primary (`standby.signal`): it stays in
    /// recovery, read-only, with everything it held.
    pub fn make_standby(&mut self) -> Result<(), HarnessError> {
        self.stop();
        let signal = self.data_dir().join("standby.signal");
        fs::File::create(&signal)?;
        if let Some(user) = &self.owner {
            std::os::unix::fs::chown(&signal, Some(user.uid.as_raw()), Some(user.gid.as_raw()))?;
        }
        self.launch()
    }

    /// The last lines of the server log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        self.stop();
        // The TempDir field removes the folder after this.
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
