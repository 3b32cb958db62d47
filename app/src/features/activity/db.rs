//! The activity read (every backend, incrementally) and the OID-to-name maps it is shown with:
//! one function per `sql/*.sql` file. Run by the live sampler once per cycle.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;

use crate::sql::body;

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct ActivityRow {
    pub sampled_at: OffsetDateTime,
    pub pid: i32,
    pub backend_start: Option<OffsetDateTime>,
    pub backend_type: String,
    pub datid: Option<i64>,
    pub usesysid: Option<i64>,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub xact_start: Option<OffsetDateTime>,
    pub query_start: Option<OffsetDateTime>,
    pub state_change: Option<OffsetDateTime>,
    /// The top-level transaction id, once the transaction has written (what a row-lock waiter
    /// waits for: the lock graph describes such waits without reading pg_locks).
    pub backend_xid: Option<String>,
    pub query: String,
    /// A lock waiter's pg_stat_statements query id (NULL for other sessions, before 14, or
    /// when compute_query_id is off).
    pub query_id: Option<i64>,
    pub is_self: bool,
    /// Every backend's pid, on pgpanel's own row only, when their number changed (see
    /// `incremental`).
    pub alive: Option<Vec<i32>>,
}

/// The backends changed since `since` (every backend when `None`) and those of `busy` (not
/// idle in the previous sample), and the pids of all when there are not `backends` of them
/// (always when `None`).
pub async fn activity(
    db: impl PgExecutor<'_>,
    since: Option<OffsetDateTime>,
    backends: Option<i32>,
    busy: &[i32],
) -> sqlx::Result<Vec<ActivityRow>> {
    sqlx::query_as(body(include_str!("sql/activity.sql")))
        .bind(since)
        .bind(backends)
        .bind(busy)
        .fetch_all(db)
        .await
}

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct Name {
    pub kind: String,
    pub oid: i64,
    pub name: String,
}

/// Database and role names by OID: `(databases, roles)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    pub databases: std::collections::HashMap<i64, String>,
    pub roles: std::collections::HashMap<i64, String>,
}

impl Names {
    /// The OIDs of the roles named `logins`, sorted.
    pub fn role_oids(&self, logins: &[&str]) -> Vec<i64> {
        let mut oids: Vec<i64> = self
            .roles
            .iter()
            .filter(|(_, name)| logins.contains(&name.as_str()))
            .map(|(oid, _)| *oid)
            .collect();
        oids.sort_unstable();
        oids
    }
}

pub async fn names(db: impl PgExecutor<'_>) -> sqlx::Result<Names> {
    let rows: Vec<Name> = sqlx::query_as(body(include_str!("sql/names.sql")))
        .fetch_all(db)
        .await?;
    let mut names = Names::default();
    for n in rows {
        let map = if n.kind == "database" {
            &mut names.databases
        } else {
            &mut names.roles
        };
        map.insert(n.oid, n.name);
    }
    Ok(names)
}
