//! What the session actions answer. Plain data: compiled for the browser too.

use serde::{Deserialize, Serialize};

use crate::sql::{literal, shown, text_array};

/// The answer to `cancel_backend` / `terminate_backend`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalOutcome {
    pub target: String,
    pub pid: i32,
    /// `cancel_backend` or `terminate_backend`.
    pub action: String,
    /// The statement pgpanel ran, with its values.
    pub sql: String,
    /// The server accepted the signal.
    pub signalled: bool,
    /// Terminate only: the backend was gone within the wait.
    pub gone: Option<bool>,
    /// For people: what happened.
    pub message: String,
}

/// How long terminate waits for the backend to be gone (ms).
pub const TERMINATE_WAIT_MS: i64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Cancel,
    Terminate,
}

/// The statements pgpanel runs for these actions (shown before they run and audited as sent).
pub const SIGNAL_SQL: &str = include_str!("sql/signal_backend.sql");
pub const TERMINATE_IDLE_SQL: &str = include_str!("sql/terminate_idle.sql");

impl Signal {
    /// The action's name (audit trail, API path).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cancel => "cancel_backend",
            Self::Terminate => "terminate_backend",
        }
    }

    /// The values `signal_backend.sql` is sent with for one session, as SQL literals.
    fn values(self, pid: i32, backend_start: &str, own_logins: &[String]) -> Vec<String> {
        vec![
            pid.to_string(),
            literal(backend_start),
            (self == Self::Terminate).to_string(),
            TERMINATE_WAIT_MS.to_string(),
            text_array(own_logins),
        ]
    }

    /// The statement pgpanel sends for one session, with its values: what the confirmation
    /// shows and the audit trail records.
    pub fn sql(self, pid: i32, backend_start: &str, own_logins: &[String]) -> String {
        shown(SIGNAL_SQL, &[self.values(pid, backend_start, own_logins)])
    }

    /// The same statement for several sessions, one line of values per session (each is sent
    /// and audited on its own).
    pub fn sql_many(self, sessions: &[(i32, String)], own_logins: &[String]) -> String {
        let values: Vec<Vec<String>> = sessions
            .iter()
            .map(|(pid, start)| self.values(*pid, start, own_logins))
            .collect();
        shown(SIGNAL_SQL, &values)
    }

    /// What a DBA can type in psql when pgpanel may not act (no guard: a suggestion only).
    pub fn by_hand(self, pid: i32) -> String {
        match self {
            Self::Cancel => format!("SELECT pg_cancel_backend({pid});"),
            Self::Terminate => format!("SELECT pg_terminate_backend({pid}, {TERMINATE_WAIT_MS});"),
        }
    }
}

/// The statement `terminate_idle` sends, with its values: sessions idle in transaction with the
/// transaction open `minutes` or more, limited to `sessions` (pid, backend_start) when given.
pub fn terminate_idle_sql(
    minutes: i32,
    sessions: Option<&[(i32, String)]>,
    own_logins: &[String],
) -> String {
    let (pids, starts) = match sessions {
        None => ("null".to_owned(), "null".to_owned()),
        Some(list) => (
            format!(
                "'{{{}}}'",
                list.iter()
                    .map(|(p, _)| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            text_array(&list.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>()),
        ),
    };
    shown(
        TERMINATE_IDLE_SQL,
        &[vec![
            minutes.to_string(),
            pids,
            starts,
            text_array(own_logins),
        ]],
    )
}

/// What `terminate_idle` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub target: String,
    pub older_than_minutes: i32,
    /// The statement pgpanel ran, with its values.
    pub sql: String,
    /// Sessions signalled, and those of them still there after 5 s.
    pub terminated: Vec<i32>,
    pub still_there: Vec<i32>,
    /// Listed sessions left alone (no longer idle that long, gone, superuser, pgpanel's own).
    pub skipped: Vec<i32>,
    pub message: String,
}
