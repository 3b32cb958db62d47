//! The statements the session actions send: one function per `sql/*.sql` file.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::model::{SIGNAL_SQL, Signal, TERMINATE_IDLE_SQL, TERMINATE_WAIT_MS};
use super::rules::SessionCheck;
use crate::error::AppError;
use crate::features::targets::conn::{LoginKind, statement_error};
use crate::sql::body;

/// A failed signal statement, for people (the privilege it needs named).
pub fn signal_error(e: &sqlx::Error) -> AppError {
    match e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("42501") => AppError::forbidden(
            "The action login lacks the privilege for this (pg_signal_backend for sessions; superuser sessions need a superuser).",
        ),
        _ => statement_error(LoginKind::Action, "Signalling the session", e),
    }
}

pub async fn check(conn: &mut PgConnection, pid: i32) -> sqlx::Result<Option<SessionCheck>> {
    sqlx::query_as(body(include_str!("sql/session_check.sql")))
        .bind(pid)
        .fetch_optional(conn)
        .await
}

/// Sends the signal if the session is still the one chosen; `None` when it is not.
pub async fn send(
    conn: &mut PgConnection,
    signal: Signal,
    pid: i32,
    backend_start: OffsetDateTime,
    own_logins: &[String],
) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar(body(SIGNAL_SQL))
        .bind(pid)
        .bind(backend_start)
        .bind(signal == Signal::Terminate)
        .bind(TERMINATE_WAIT_MS)
        .bind(own_logins)
        .fetch_optional(conn)
        .await
}

/// Terminates the sessions idle in transaction with a transaction open `minutes` or more (only
/// the listed ones when given): (pid, signalled) per session.
pub async fn terminate_idle(
    conn: &mut PgConnection,
    minutes: i32,
    pids: Option<&[i32]>,
    starts: Option<&[OffsetDateTime]>,
    own_logins: &[String],
) -> sqlx::Result<Vec<(i32, bool)>> {
    sqlx::query_as(body(TERMINATE_IDLE_SQL))
        .bind(minutes)
        .bind(pids)
        .bind(starts)
        .bind(own_logins)
        .fetch_all(conn)
        .await
}

/// Which of `pids` still exist.
pub async fn left(conn: &mut PgConnection, pids: &[i32]) -> sqlx::Result<Vec<i32>> {
    sqlx::query_scalar(body(include_str!("sql/sessions_left.sql")))
        .bind(pids)
        .fetch_all(conn)
        .await
}
