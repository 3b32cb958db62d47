//! The audit trail: append-only. Events are inserted, never updated (a trigger refuses it in
//! both backends); rows are deleted only by the retention job, and only when
//! `audit.retention_days` is set.

use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};

/// One audit event. `parameters` is a JSON object; `error` is the safe message shown to the user
/// (details stay in the server log).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditEvent {
    pub at_ms: i64,
    pub actor: Option<String>,
    pub actor_role: Option<String>,
    pub client_addr: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub object: Option<String>,
    pub parameters: Option<String>,
    pub outcome: String,
    pub error: Option<String>,
}

impl AuditEvent {
    pub fn new(at_ms: i64, action: impl Into<String>, outcome: impl Into<String>) -> Self {
        Self {
            at_ms,
            action: action.into(),
            outcome: outcome.into(),
            ..Self::default()
        }
    }

    pub fn actor(mut self, name: impl Into<String>, role: Option<&str>) -> Self {
        self.actor = Some(name.into());
        self.actor_role = role.map(str::to_owned);
        self
    }

    pub fn client(mut self, addr: impl Into<String>) -> Self {
        self.client_addr = Some(addr.into());
        self
    }

    pub fn object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    pub fn parameters(mut self, json: impl Into<String>) -> Self {
        self.parameters = Some(json.into());
        self
    }

    pub fn error(mut self, message: impl Into<String>) -> Self {
        self.error = Some(message.into());
        self
    }

    pub(super) async fn insert(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into audit_events (at_ms, actor, actor_role, client_addr, action, target, \
             object, parameters, outcome, error) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(self.at_ms)
        .bind(&self.actor)
        .bind(&self.actor_role)
        .bind(&self.client_addr)
        .bind(&self.action)
        .bind(&self.target)
        .bind(&self.object)
        .bind(&self.parameters)
        .bind(&self.outcome)
        .bind(&self.error)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

impl Store {
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` events, newest first (the audit browser arrives later; tests and the
    /// CLI read it now).
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = sqlx::query(
            "select at_ms, actor, actor_role, client_addr, action, target, object, parameters, \
             outcome, error from audit_events order by id desc limit $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEvent {
                    at_ms: r.try_get("at_ms")?,
                    actor: r.try_get("actor")?,
                    actor_role: r.try_get("actor_role")?,
                    client_addr: r.try_get("client_addr")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    object: r.try_get("object")?,
                    parameters: r.try_get("parameters")?,
                    outcome: r.try_get("outcome")?,
                    error: r.try_get("error")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Retention: deletes events older than `before_ms`. Called only when a retention period is
    /// configured.
    pub async fn prune_audit(&self, before_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("delete from audit_events where at_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
