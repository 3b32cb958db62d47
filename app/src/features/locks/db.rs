//! The lock graph's catalog queries (`sql/*.sql`).

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;

use super::model::LockTarget;
use crate::sql::body;

#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct BlockerRow {
    pub pid: i32,
    pub blockers: Vec<i32>,
}

/// One ungranted row of pg_locks, or a granted tuple lock (a row-lock waiter holds the tuple
/// lock of the row it waits for while it waits for the transaction that holds the row).
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct WaitRow {
    pub pid: i32,
    pub locktype: String,
    pub mode: String,
    pub granted: bool,
    pub database_oid: Option<i64>,
    pub database_name: Option<String>,
    pub relation_oid: Option<i64>,
    pub relation_name: Option<String>,
    pub page: Option<i32>,
    pub tuple: Option<i32>,
    pub virtualxid: Option<String>,
    pub transactionid: Option<String>,
    pub classid: Option<i64>,
    pub objid: Option<i64>,
    pub objsubid: Option<i32>,
    pub object_name: Option<String>,
    pub waitstart: Option<OffsetDateTime>,
    /// The object lives in a database other than the monitor's: its name comes from
    /// lock_names.sql, read there.
    pub elsewhere: bool,
    /// Why a name in another database is not shown (not read yet, or not readable).
    #[sqlx(skip)]
    pub name_note: Option<String>,
}

/// A name read in another database (lock_names.sql).
#[derive(Clone, Debug, PartialEq, FromRow)]
pub struct NameRow {
    pub kind: String,
    pub classid: i64,
    pub objid: i64,
    pub objsubid: i32,
    pub name: Option<String>,
}

impl WaitRow {
    /// The lock for people: names where pgpanel could read them, OIDs with the database's name
    /// where it could not.
    pub fn target(&self) -> LockTarget {
        let relation = || self.relation_label();
        let object = match self.locktype.as_str() {
            "relation" => relation(),
            "extend" => format!("extension of {}", relation()),
            "page" => format!("page {} of {}", self.page.unwrap_or(0), relation()),
            "tuple" => format!(
                "row ({},{}) of {}",
                self.page.unwrap_or(0),
                self.tuple.unwrap_or(0),
                relation()
            ),
            "transactionid" => format!(
                "transaction {}",
                self.transactionid.as_deref().unwrap_or("?")
            ),
            "virtualxid" => format!(
                "virtual transaction {}",
                self.virtualxid.as_deref().unwrap_or("?")
            ),
            "advisory" => {
                let (hi, lo) = (self.classid.unwrap_or(0), self.objid.unwrap_or(0));
                let key = if self.objsubid == Some(1) {
                    // pg_advisory_lock(bigint): the key is split over classid and objid.
                    ((hi << 32) | lo).to_string()
                } else {
                    format!("({hi}, {lo})")
                };
                format!("advisory lock {key} in database {}", self.database())
            }
            "object" => match &self.object_name {
                Some(name) => name.clone(),
                None => format!(
                    "object {}/{} in database {}{}",
                    self.classid.unwrap_or(0),
                    self.objid.unwrap_or(0),
                    self.database(),
                    self.note()
                ),
            },
            other => other.to_owned(),
        };
        LockTarget {
            locktype: self.locktype.clone(),
            mode: self.mode.clone(),
            object,
            relation: matches!(
                self.locktype.as_str(),
                "relation" | "extend" | "page" | "tuple"
            )
            .then(relation),
        }
    }

    /// The relation's name, or its OID and database with why the name is missing.
    fn relation_label(&self) -> String {
        match (&self.relation_name, self.relation_oid) {
            (Some(name), _) => name.clone(),
            (None, Some(oid)) => format!(
                "relation {oid} in database {}{}",
                self.database(),
                self.note()
            ),
            (None, None) => "relation ?".into(),
        }
    }

    /// A wait for a transaction (this row) told with the row the waiter holds the tuple lock of:
    /// what a DBA means by "waiting on a row lock of public.inventory".
    pub fn row_lock_target(&self, tuple: Option<&WaitRow>) -> LockTarget {
        let xact = self.transactionid.as_deref().unwrap_or("?");
        match tuple {
            Some(t) => {
                let relation = t.relation_label();
                LockTarget {
                    locktype: self.locktype.clone(),
                    mode: self.mode.clone(),
                    object: format!(
                        "row ({},{}) of {relation} held by transaction {xact}",
                        t.page.unwrap_or(0),
                        t.tuple.unwrap_or(0)
                    ),
                    relation: Some(relation),
                }
            }
            None => LockTarget {
                locktype: self.locktype.clone(),
                mode: self.mode.clone(),
                object: format!(
                    "transaction {xact} (no row lock found: e.g. a unique-key check waits for it)"
                ),
                relation: None,
            },
        }
    }

    fn note(&self) -> String {
        self.name_note
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    }

    fn database(&self) -> String {
        match (&self.database_name, self.database_oid) {
            (Some(name), _) => name.clone(),
            (None, Some(oid)) => oid.to_string(),
            (None, None) => "?".into(),
        }
    }
}

pub async fn blockers(db: impl PgExecutor<'_>, waiters: &[i32]) -> sqlx::Result<Vec<BlockerRow>> {
    sqlx::query_as(body(include_str!("sql/lock_blockers.sql")))
        .bind(waiters)
        .fetch_all(db)
        .await
}

pub async fn waits(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<WaitRow>> {
    sqlx::query_as(body(include_str!("sql/lock_waits.sql")))
        .fetch_all(db)
        .await
}

/// Names in the database `conn` is connected to: relations by OID, objects by (class, object,
/// sub-id).
pub async fn names(
    db: impl PgExecutor<'_>,
    relations: &[i64],
    objects: &[(i64, i64, i32)],
) -> sqlx::Result<Vec<NameRow>> {
    let classids: Vec<i64> = objects.iter().map(|o| o.0).collect();
    let objids: Vec<i64> = objects.iter().map(|o| o.1).collect();
    let subids: Vec<i32> = objects.iter().map(|o| o.2).collect();
    sqlx::query_as(body(include_str!("sql/lock_names.sql")))
        .bind(relations)
        .bind(classids)
        .bind(objids)
        .bind(subids)
        .fetch_all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_what_is_locked() {
        let rel = WaitRow {
            locktype: "relation".into(),
            mode: "AccessShareLock".into(),
            relation_oid: Some(16385),
            relation_name: Some("public.\"Odd Name\"".into()),
            ..WaitRow::default()
        };
        assert_eq!(rel.target().object, "public.\"Odd Name\"");
        let elsewhere = WaitRow {
            relation_name: None,
            database_name: Some("app".into()),
            elsewhere: true,
            name_note: Some("name not readable: permission denied".into()),
            ..rel.clone()
        };
        assert_eq!(
            elsewhere.target().object,
            "relation 16385 in database app (name not readable: permission denied)"
        );
        let advisory = WaitRow {
            locktype: "advisory".into(),
            classid: Some(0),
            objid: Some(42),
            objsubid: Some(1),
            database_name: Some("postgres".into()),
            ..WaitRow::default()
        };
        assert_eq!(
            advisory.target().object,
            "advisory lock 42 in database postgres"
        );
        let tuple = WaitRow {
            locktype: "tuple".into(),
            page: Some(0),
            tuple: Some(3),
            ..rel.clone()
        };
        assert_eq!(tuple.target().object, "row (0,3) of public.\"Odd Name\"");
        let xid = WaitRow {
            locktype: "transactionid".into(),
            transactionid: Some("745".into()),
            ..WaitRow::default()
        };
        assert_eq!(xid.target().object, "transaction 745");
        let held = WaitRow {
            granted: true,
            ..tuple.clone()
        };
        let row = xid.row_lock_target(Some(&held));
        assert_eq!(
            row.object,
            "row (0,3) of public.\"Odd Name\" held by transaction 745"
        );
        assert_eq!(row.short(), "row of public.\"Odd Name\"");
        assert!(
            xid.row_lock_target(None)
                .object
                .starts_with("transaction 745 (")
        );
        assert_eq!(
            tuple.target().relation.as_deref(),
            Some("public.\"Odd Name\"")
        );
    }
}
