//! What the actions answer. Plain data: compiled for the browser too.

use serde::{Deserialize, Serialize};

/// The answer to `cancel_backend` / `terminate_backend`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalOutcome {
    pub target: String,
    pub pid: i32,
    /// `cancel_backend` or `terminate_backend`.
    pub action: String,
    /// The statement pgpanel ran (as a DBA would type it).
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

impl Signal {
    /// The action's name (audit trail, API path).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cancel => "cancel_backend",
            Self::Terminate => "terminate_backend",
        }
    }

    /// The statement as a DBA would type it (what the UI shows and the audit records).
    pub fn sql(self, pid: i32) -> String {
        match self {
            Self::Cancel => format!("SELECT pg_cancel_backend({pid});"),
            Self::Terminate => format!("SELECT pg_terminate_backend({pid}, {TERMINATE_WAIT_MS});"),
        }
    }
}
