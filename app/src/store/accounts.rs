//! Users, sessions and login attempts. Every change that must be audited writes its audit event
//! in the same transaction: either both are stored or neither is.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::audit::AuditEvent;
use super::{Backend, Store, StoreError};
use crate::features::auth::model::Role;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub password_changed_at_ms: i64,
    pub last_login_at_ms: Option<i64>,
}

/// What an admin (or the CLI) changes about a user; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

/// Everything a successful sign-in writes, in one transaction.
pub struct LoginRecord<'a> {
    pub user_id: i64,
    pub username: &'a str,
    pub token_hash: &'a str,
    /// The session the browser still carried, ended now (no session survives a login).
    pub replaces: Option<&'a str>,
    pub client_addr: &'a str,
    pub user_agent: &'a str,
    pub now_ms: i64,
    /// Set when the stored hash used weaker parameters than today's.
    pub rehashed: Option<String>,
}

/// Whose failed sign-ins to count.
#[derive(Clone, Copy, Debug)]
pub enum AttemptsOf<'a> {
    User(&'a str),
    Address(&'a str),
}

/// One row of `login_attempts`, for throttling and for the admin's view of locks.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub id: i64,
    pub at_ms: i64,
    pub username: String,
    pub client_addr: String,
    pub outcome: String,
}

/// `select <every user column> from users <tail>`, as one literal.
macro_rules! select_users {
    ($tail:literal) => {
        concat!(
            "select id, username, password_hash, role, disabled_at_ms, created_at_ms, ",
            "updated_at_ms, password_changed_at_ms, last_login_at_ms from users ",
            $tail
        )
    };
}

fn user_of(row: &AnyRow) -> Result<UserRecord, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role: Role::parse(&role).map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
        disabled_at_ms: row.try_get("disabled_at_ms")?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
        password_changed_at_ms: row.try_get("password_changed_at_ms")?,
        last_login_at_ms: row.try_get("last_login_at_ms")?,
    })
}

fn attempt_of(row: &AnyRow) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        id: row.try_get("id")?,
        at_ms: row.try_get("at_ms")?,
        username: row.try_get("username")?,
        client_addr: row.try_get("client_addr")?,
        outcome: row.try_get("outcome")?,
    })
}

fn unique_violation(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
        _ => StoreError::Query(e),
    }
}

impl Store {
    /// A transaction for changing users, serialised with every other such change (also across
    /// pgpanel instances sharing a PostgreSQL store), so two admins cannot demote each other at
    /// the same moment. SQLite takes its write lock up front (a deferred transaction that later
    /// writes would fail with SQLITE_BUSY instead of waiting).
    async fn begin_user_change(&self) -> Result<Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("begin immediate").await?),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("select pg_advisory_xact_lock(727170001)")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    pub async fn find_user(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(select_users!("where username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_of).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(select_users!("order by username"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_of).collect()
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Creates a user; `Duplicate` when the name is taken.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        now_ms: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into users (username, password_hash, role, created_at_ms, updated_at_ms, \
             password_changed_at_ms) values ($1, $2, $3, $4, $4, $4)",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(unique_violation)?;
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies `change`. Disabling a user or changing the password ends that user's sessions in
    /// the same transaction; a role change needs nothing more (the role is read per request).
    /// The last enabled admin can be neither demoted nor disabled (`LastAdmin`).
    pub async fn update_user(
        &self,
        username: &str,
        change: &UserChange,
        now_ms: i64,
        audit: &AuditEvent,
    ) -> Result<UserRecord, StoreError> {
        let mut tx = self.begin_user_change().await?;
        let sql = select_users!("where username = $1");
        let row = sqlx::query(sql)
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(user) = row.as_ref().map(user_of).transpose()? else {
            return Err(StoreError::NotFound);
        };
        let enabled_admin = user.role == Role::Admin && user.disabled_at_ms.is_none();
        let demoted = change.role.is_some_and(|r| r != Role::Admin);
        let disabled = change.disabled == Some(true);
        if enabled_admin && (demoted || disabled) {
            let others: i64 = sqlx::query_scalar(
                "select count(*) from users where role = 'admin' and disabled_at_ms is null \
                 and id <> $1",
            )
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Err(StoreError::LastAdmin);
            }
        }
        if let Some(role) = change.role {
            sqlx::query("update users set role = $1, updated_at_ms = $2 where id = $3")
                .bind(role.as_str())
                .bind(now_ms)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        match change.disabled {
            Some(true) if user.disabled_at_ms.is_none() => {
                sqlx::query(
                    "update users set disabled_at_ms = $1, updated_at_ms = $1 where id = $2",
                )
                .bind(now_ms)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            }
            Some(false) => {
                sqlx::query(
                    "update users set disabled_at_ms = null, updated_at_ms = $1 where id = $2",
                )
                .bind(now_ms)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        if let Some(hash) = &change.password_hash {
            sqlx::query(
                "update users set password_hash = $1, password_changed_at_ms = $2, \
                 updated_at_ms = $2 where id = $3",
            )
            .bind(hash)
            .bind(now_ms)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        }
        if disabled || change.password_hash.is_some() {
            sqlx::query("delete from sessions where user_id = $1")
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        if change.password_hash.is_some() {
            // A new password is also the way out of a lock (an attacker may keep an account
            // throttled by guessing): counting restarts.
            sqlx::query(
                "insert into login_attempts (at_ms, username, client_addr, outcome) \
                 values ($1, $2, '', 'cleared')",
            )
            .bind(now_ms)
            .bind(&user.username)
            .execute(&mut *tx)
            .await?;
        }
        audit.insert(&mut tx).await?;
        let row = sqlx::query(sql).bind(username).fetch_one(&mut *tx).await?;
        let updated = user_of(&row)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// A successful sign-in: the new session, the end of the one it replaces, the attempt that
    /// resets throttling, the last-login time, a stronger hash if due, and the audit event.
    pub async fn record_login(
        &self,
        login: &LoginRecord<'_>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(old) = login.replaces {
            sqlx::query("delete from sessions where token_hash = $1")
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "insert into sessions (token_hash, user_id, created_at_ms, last_seen_ms, client_addr, \
             user_agent) values ($1, $2, $3, $3, $4, $5)",
        )
        .bind(login.token_hash)
        .bind(login.user_id)
        .bind(login.now_ms)
        .bind(login.client_addr)
        .bind(login.user_agent)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into login_attempts (at_ms, username, client_addr, outcome) \
             values ($1, $2, $3, 'success')",
        )
        .bind(login.now_ms)
        .bind(login.username)
        .bind(login.client_addr)
        .execute(&mut *tx)
        .await?;
        sqlx::query("update users set last_login_at_ms = $1 where id = $2")
            .bind(login.now_ms)
            .bind(login.user_id)
            .execute(&mut *tx)
            .await?;
        if let Some(hash) = &login.rehashed {
            sqlx::query("update users set password_hash = $1 where id = $2")
                .bind(hash)
                .bind(login.user_id)
                .execute(&mut *tx)
                .await?;
        }
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A failed credential check: counted for throttling and audited, together.
    pub async fn record_login_failure(
        &self,
        username: &str,
        client_addr: &str,
        now_ms: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.record_attempt("failure", username, client_addr, now_ms, audit)
            .await
    }

    /// Clears throttling for an account (`username`) or an address (`client_addr`): later
    /// counts start after this row.
    pub async fn clear_lock(
        &self,
        username: &str,
        client_addr: &str,
        now_ms: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.record_attempt("cleared", username, client_addr, now_ms, audit)
            .await
    }

    async fn record_attempt(
        &self,
        outcome: &str,
        username: &str,
        client_addr: &str,
        now_ms: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into login_attempts (at_ms, username, client_addr, outcome) \
             values ($1, $2, $3, $4)",
        )
        .bind(now_ms)
        .bind(username)
        .bind(client_addr)
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Times (newest first) of the failures of an account since its last success or clear, or of
    /// a client address since an admin last cleared it (a success does not reset an address: one
    /// working account must not let a guesser spray the others), no older than `since_ms`.
    pub async fn recent_failures(
        &self,
        of: AttemptsOf<'_>,
        since_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let (sql, value) = match of {
            AttemptsOf::User(name) => (
                "select at_ms from login_attempts where username = $1 and outcome = 'failure' \
                 and at_ms >= $2 and id > coalesce((select max(id) from login_attempts \
                   where username = $1 and outcome in ('success', 'cleared')), 0) \
                 order by id desc limit 500",
                name,
            ),
            AttemptsOf::Address(addr) => (
                "select at_ms from login_attempts where client_addr = $1 and outcome = 'failure' \
                 and at_ms >= $2 and id > coalesce((select max(id) from login_attempts \
                   where client_addr = $1 and outcome = 'cleared'), 0) \
                 order by id desc limit 5000",
                addr,
            ),
        };
        Ok(sqlx::query_scalar(sql)
            .bind(value)
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every attempt since `since_ms`, oldest first (the admin's view of current locks).
    pub async fn attempts_since(&self, since_ms: i64) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "select id, at_ms, username, client_addr, outcome from login_attempts \
             where at_ms >= $1 order by id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_of).collect()
    }
}
