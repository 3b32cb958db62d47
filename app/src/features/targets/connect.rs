//! How pgpanel connects to a target: every session it opens names itself and carries timeouts,
//! so a stuck dashboard query can never hold locks or a transaction open on somebody's server.
//! Sessions opened on request go through `conn::open`.

use std::fmt;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `application_name` of every monitoring session: lets DBAs (and pgpanel itself) tell them apart.
pub const APPLICATION_NAME: &str = "pgpanel";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSettings {
    pub statement_timeout: Duration,
    /// Shorter than `statement_timeout`: waiting on a lock gives up first.
    pub lock_timeout: Duration,
    pub idle_in_transaction_session_timeout: Duration,
    /// Budget for opening a connection (TCP, TLS, authentication).
    pub connect_timeout: Duration,
    /// The monitor pool's size: the dashboard never opens more than this per target.
    pub max_connections: u32,
    /// statement_timeout of maintenance jobs (VACUUM, ANALYZE, REINDEX); zero: none.
    pub job_statement_timeout: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(1),
            idle_in_transaction_session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_connections: 2,
            job_statement_timeout: Duration::ZERO,
        }
    }
}

/// A target's connection options with the password set. Debug never prints the password.
#[derive(Clone)]
pub struct Login(pub PgConnectOptions);

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.0.get_username(),
            self.0.get_host(),
            self.0.get_port(),
            self.0.get_database().unwrap_or("")
        )
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

/// The options every monitoring session starts with; the settings travel in the startup packet,
/// so they cost no extra round trip.
pub fn session_options(login: &Login, settings: &SessionSettings) -> PgConnectOptions {
    login.0.clone().application_name(APPLICATION_NAME).options([
        ("statement_timeout", millis(settings.statement_timeout)),
        ("lock_timeout", millis(settings.lock_timeout)),
        (
            "idle_in_transaction_session_timeout",
            millis(settings.idle_in_transaction_session_timeout),
        ),
    ])
}

/// A tiny pool that connects lazily: creating it never waits for the target, so a target that
/// is down cannot delay start-up.
pub fn monitor_pool(login: &Login, settings: &SessionSettings) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(settings.connect_timeout)
        .idle_timeout(Some(Duration::from_secs(300)))
        .max_lifetime(Some(Duration::from_secs(1800)))
        // The monitor loop notices dead connections itself; a ping per acquire would double the
        // round trips on the target.
        .test_before_acquire(false)
        .connect_lazy_with(session_options(login, settings))
}

/// Which of a target's logins a session uses; every message about the session names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginKind {
    /// Reads: needs pg_monitor only.
    Monitor = 0,
    /// A DBA's actions and maintenance jobs.
    Action = 1,
}

impl LoginKind {
    /// "the monitor login" / "the action login".
    pub fn label(self) -> &'static str {
        match self {
            Self::Monitor => "the monitor login",
            Self::Action => "the action login",
        }
    }

    /// The label at the start of a sentence.
    pub fn subject(self) -> &'static str {
        match self {
            Self::Monitor => "The monitor login",
            Self::Action => "The action login",
        }
    }
}

/// A short reason for a failed check that is safe to show to any signed-in user: no credentials,
/// no internals. The full error goes to the server log.
pub fn describe_error(err: &sqlx::Error, login: LoginKind) -> String {
    use std::io::ErrorKind;
    match err {
        sqlx::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => "connection refused".into(),
            ErrorKind::TimedOut => "connection timed out".into(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                "connection lost".into()
            }
            ErrorKind::UnexpectedEof => "connection closed by the server".into(),
            ErrorKind::NotFound => "host or socket not found".into(),
            _ => format!("network error ({})", io.kind()),
        },
        sqlx::Error::PoolTimedOut => "no connection within the connect timeout".into(),
        sqlx::Error::Tls(_) => "TLS handshake failed".into(),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01") => format!("password authentication failed for {}", login.label()),
            Some("28000") => format!("{} was rejected (pg_hba.conf or role)", login.label()),
            Some("3D000") => format!("the database of {} does not exist", login.label()),
            Some("57P03") => "the server is starting up or shutting down".into(),
            Some("53300") => "too many connections on the server".into(),
            Some("57014") => "a query hit statement_timeout".into(),
            Some("57P01") | Some("57P02") => "the server ended the session".into(),
            Some("42501") => format!("permission denied for {}", login.label()),
            Some(code) => format!("server error (SQLSTATE {code})"),
            None => "server error".into(),
        },
        sqlx::Error::Protocol(_) => "protocol error talking to the server".into(),
        _ => "unexpected error (see pgpanel's log)".into(),
    }
}
