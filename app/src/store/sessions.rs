//! Sessions: looked up by the SHA-256 of their token (with their user, so a role change or a
//! disabled account counts at the next request), touched, ended, pruned.

use sqlx::Row;

use super::audit::AuditEvent;
use super::{Store, StoreError};
use crate::features::auth::model::Role;

/// A session joined with its user, as the guard needs it on every request.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
}

impl Store {
    pub async fn find_session(
        &self,
        token_hash: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "select s.user_id, u.username, u.role, u.disabled_at_ms, s.created_at_ms, \
             s.last_seen_ms from sessions s join users u on u.id = s.user_id \
             where s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let disabled: Option<i64> = row.try_get("disabled_at_ms")?;
        Ok(Some(SessionRecord {
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            role: Role::parse(&role).map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
            disabled: disabled.is_some(),
            created_at_ms: row.try_get("created_at_ms")?,
            last_seen_ms: row.try_get("last_seen_ms")?,
        }))
    }

    pub async fn touch_session(&self, token_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("update sessions set last_seen_ms = $1 where token_hash = $2")
            .bind(now_ms)
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends one session; with `audit`, records why in the same transaction.
    pub async fn end_session(
        &self,
        token_hash: &str,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("delete from sessions where token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if let Some(audit) = audit {
            audit.insert(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn count_sessions(&self, username: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "select count(*) from sessions s join users u on u.id = s.user_id \
             where u.username = $1",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Deletes sessions idle since `idle_before_ms` or created before `created_before_ms`, and
    /// login attempts older than `attempts_before_ms`.
    pub async fn prune_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
        attempts_before_ms: i64,
    ) -> Result<u64, StoreError> {
        let sessions =
            sqlx::query("delete from sessions where last_seen_ms < $1 or created_at_ms < $2")
                .bind(idle_before_ms)
                .bind(created_before_ms)
                .execute(&self.pool)
                .await?;
        sqlx::query("delete from login_attempts where at_ms < $1")
            .bind(attempts_before_ms)
            .execute(&self.pool)
            .await?;
        Ok(sessions.rows_affected())
    }
}
