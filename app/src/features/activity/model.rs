//! What the Activity feature reads and shows: one row per backend. Plain data: compiled for the
//! browser too. The sampler (live) and the lock graph (locks) both build on these rows.

use serde::{Deserialize, Serialize};

/// One row of `GET /api/activity/sessions` and of the activity stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub pid: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub backend_start: Option<time::OffsetDateTime>,
    pub backend_type: String,
    pub datname: Option<String>,
    pub usename: Option<String>,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub xact_start: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub query_start: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub state_change: Option<time::OffsetDateTime>,
    pub query: String,
    /// Cut to `STREAM_QUERY_CHARS` in the live stream; the API returns the whole text.
    pub query_truncated: bool,
    pub xact_age_ms: Option<i64>,
    pub query_age_ms: Option<i64>,
    pub state_age_ms: Option<i64>,
    /// A session of pgpanel itself: one of pgpanel's logins on this target (monitor, action)
    /// with pgpanel's application_name, or the monitor's own session.
    pub pgpanel: bool,
    /// Names itself pgpanel (application_name) but is not on one of pgpanel's logins: any role
    /// may set application_name, so it is an ordinary client session.
    #[serde(default)]
    pub claims_pgpanel: bool,
    /// False when the monitor login may not see this session's details.
    pub visible: bool,
}

/// How much query text each session carries in the live stream.
pub const STREAM_QUERY_CHARS: usize = 300;

impl SessionRow {
    pub fn is_client(&self) -> bool {
        self.backend_type == "client backend"
    }

    pub fn waits_on_lock(&self) -> bool {
        self.wait_event_type.as_deref() == Some("Lock")
    }

    pub fn idle_in_transaction(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|s| s.starts_with("idle in transaction"))
    }

    /// A copy with the query cut to `chars` characters (never inside a character).
    pub fn truncated(&self, chars: usize) -> Self {
        let mut row = self.clone();
        if let Some((cut, _)) = row.query.char_indices().nth(chars) {
            row.query.truncate(cut);
            row.query_truncated = true;
        }
        row
    }
}
