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
