//! The one way to open a session on a target on request (another database, an action, a job)
//! and to say why a statement there failed: every message names the login.

use std::sync::Mutex;
use std::time::Instant;

use sqlx::{ConnectOptions, PgConnection};

pub use super::connect::LoginKind;
use super::connect::{SessionSettings, describe_error, session_options};
use super::monitor::Target;
use crate::error::AppError;

/// Opens one session on `target` as `login`, in `database` (None: the login's own database),
/// with the target's session settings. The database must exist on the target before anything
/// connects to it, the attempt is taken from the target's connection budget for that login, and
/// it gives up after the connect timeout; every failure says which login it was.
pub async fn open(
    target: &Target,
    login: LoginKind,
    database: Option<&str>,
) -> Result<PgConnection, AppError> {
    connect(target, login, database, &target.spec.session, true).await
}

/// The connection of a maintenance job that was started: the action login, the job's session
/// settings (its statement_timeout), and no second attempt from the connection budget (the
/// request that started the job took it).
pub async fn open_job(
    target: &Target,
    database: &str,
    settings: &SessionSettings,
) -> Result<PgConnection, AppError> {
    connect(target, LoginKind::Action, Some(database), settings, false).await
}

async fn connect(
    target: &Target,
    login: LoginKind,
    database: Option<&str>,
    settings: &SessionSettings,
    admit: bool,
) -> Result<PgConnection, AppError> {
    let spec = &target.spec;
    let credentials = match login {
        LoginKind::Monitor => &spec.monitor,
        LoginKind::Action => spec.action.as_ref().ok_or_else(|| {
            AppError::conflict(format!(
                "Actions are unavailable on target {}: it has no action login (set action_url in its configuration).",
                spec.id
            ))
        })?,
    };
    let mut options = session_options(credentials, settings);
    if let Some(db) = database {
        target.check_database(db).await?;
        options = options.database(db);
    }
    if admit {
        target.admit_connection(login)?;
    }
    match tokio::time::timeout(spec.session.connect_timeout, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => {
            tracing::warn!(login = login.label(), database, error = %e, "could not connect to the target");
            Err(match &e {
                sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000") => {
                    AppError::not_found(format!(
                        "There is no database {:?} on this target.",
                        database.unwrap_or(credentials.0.get_database().unwrap_or(""))
                    ))
                }
                _ => AppError::TargetUnavailable {
                    message: format!(
                        "{} could not connect: {}.",
                        login.subject(),
                        describe_error(&e, login)
                    ),
                },
            })
        }
        Err(_) => Err(AppError::Timeout {
            message: format!(
                "{} could not connect within the connect timeout ({} s).",
                login.subject(),
                spec.session.connect_timeout.as_secs_f32()
            ),
        }),
    }
}

/// A statement that failed on the target, for people: `what` is what pgpanel was doing
/// ("Reading the tables"). The detail goes to the server log.
pub fn statement_error(login: LoginKind, what: &str, e: &sqlx::Error) -> AppError {
    tracing::warn!(login = login.label(), error = %e, "{what} failed on the target");
    match e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("42501") => {
            AppError::forbidden(format!(
                "{what} was refused: {} lacks the privilege ({}).",
                login.label(),
                d.message()
            ))
        }
        sqlx::Error::Database(d) if d.code().as_deref() == Some("57014") => AppError::Timeout {
            message: format!("{what} hit statement_timeout on the target."),
        },
        _ => AppError::TargetUnavailable {
            message: format!("{what} failed: {}.", describe_error(e, login)),
        },
    }
}

/// Connections pgpanel opens on request to one target, at once and then per second: whoever
/// asks, a target never sees a connection flood from pgpanel.
pub const CONNECT_BURST: f64 = 20.0;
pub const CONNECT_PER_SECOND: f64 = 5.0;

/// A target's connection attempts on request: reads of another database (any role) and actions
/// (dba) have budgets of their own, so reads cannot use up what a DBA needs during an incident.
#[derive(Debug)]
pub(super) struct ConnectBudgets([Mutex<Bucket>; 2]);

/// A token bucket: [`CONNECT_BURST`] attempts at once, then [`CONNECT_PER_SECOND`] a second.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl ConnectBudgets {
    pub(super) fn new() -> Self {
        Self([LoginKind::Monitor, LoginKind::Action].map(|_| {
            Mutex::new(Bucket {
                tokens: CONNECT_BURST,
                at: Instant::now(),
            })
        }))
    }

    /// Takes one attempt from `purpose`'s bucket, or says to wait.
    pub(super) fn admit(&self, target_id: &str, purpose: LoginKind) -> Result<(), AppError> {
        let mut b = self.0[purpose as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * CONNECT_PER_SECOND;
        b.tokens = (b.tokens + refill).min(CONNECT_BURST);
        b.at = now;
        if b.tokens < 1.0 {
            tracing::warn!(%target_id, "connection attempts to this target are being throttled");
            return Err(AppError::RateLimited {
                message: format!(
                    "pgpanel is opening too many connections to target {target_id} right now; try again in a second."
                ),
                retry_after_s: 1,
            });
        }
        b.tokens -= 1.0;
        Ok(())
    }
}
