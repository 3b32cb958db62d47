//! The one way to open a session on a target on request (another database, an action, a job)
//! and to say why a statement there failed: every message names the login.

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

/// The connection of a job that was started: the login its work needs, the job's session
/// settings (its statement_timeout), and no second attempt from the connection budget (the
/// request that started the job took it).
pub async fn open_job(
    target: &Target,
    login: LoginKind,
    database: &str,
    settings: &SessionSettings,
) -> Result<PgConnection, AppError> {
    connect(target, login, Some(database), settings, false).await
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
