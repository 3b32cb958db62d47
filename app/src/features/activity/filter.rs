//! The Activity filters, shared by `GET /api/activity/sessions` and the page (which filters the
//! live stream in the browser with the same rules).

use serde::{Deserialize, Serialize};

use crate::features::activity::model::SessionRow;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFilter {
    pub database: Option<String>,
    pub user: Option<String>,
    /// `active`, `idle`, `idle in transaction`, … or `waiting` (waiting on a lock).
    pub state: Option<String>,
    pub application: Option<String>,
    /// Sessions whose current query (or transaction, when idle in one) runs at least this long.
    pub min_duration_ms: Option<i64>,
    /// Case-insensitive search in the query, user, application and database.
    pub q: Option<String>,
    pub pid: Option<i32>,
    /// Client backends only (hide background workers, autovacuum, walsenders…).
    pub clients_only: bool,
}

fn empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// How long a session has been doing what it does: the query when active, the transaction when
/// idle in one.
pub fn duration_ms(s: &SessionRow) -> Option<i64> {
    if s.idle_in_transaction() {
        s.xact_age_ms
    } else if s.state.as_deref() == Some("active") {
        s.query_age_ms
    } else {
        None
    }
}

impl SessionFilter {
    pub fn matches(&self, s: &SessionRow) -> bool {
        let same = |want: Option<&str>, have: Option<&str>| want.is_none_or(|w| have == Some(w));
        if self.clients_only && !s.is_client() {
            return false;
        }
        if !same(empty(&self.database), s.datname.as_deref())
            || !same(empty(&self.user), s.usename.as_deref())
            || !same(empty(&self.application), Some(s.application_name.as_str()))
        {
            return false;
        }
        match empty(&self.state) {
            None => {}
            Some("waiting") if !s.waits_on_lock() => return false,
            Some("waiting") => {}
            Some(state) if s.state.as_deref() != Some(state) => return false,
            Some(_) => {}
        }
        if let Some(min) = self.min_duration_ms
            && duration_ms(s).is_none_or(|d| d < min)
        {
            return false;
        }
        if self.pid.is_some_and(|pid| pid != s.pid) {
            return false;
        }
        if let Some(q) = empty(&self.q) {
            let q = q.to_lowercase();
            let hit = |v: Option<&str>| v.is_some_and(|v| v.to_lowercase().contains(&q));
            if !(hit(Some(&s.query))
                || hit(s.usename.as_deref())
                || hit(Some(&s.application_name))
                || hit(s.datname.as_deref())
                || s.pid.to_string() == q)
            {
                return false;
            }
        }
        true
    }
}
