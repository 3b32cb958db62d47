//! The audit trail: append-only. Events are inserted, never updated (a trigger refuses it in
//! both backends); rows are deleted only by the retention job, and only when
//! `audit.retention_days` is set.

use sqlx::{Any, Row, Transaction};

use super::{Bind, Where, like_escape, query_with};
use super::{Store, StoreError};
use crate::features::audit::model::{Action, Outcome};

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
    /// For an action's outcome: the id of its intent.
    pub intent_id: Option<i64>,
}

impl AuditEvent {
    pub fn new(at_ms: i64, action: Action, outcome: Outcome) -> Self {
        Self {
            at_ms,
            action: action.name().to_owned(),
            outcome: outcome.name().to_owned(),
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

    pub fn follows(mut self, intent_id: Option<i64>) -> Self {
        self.intent_id = intent_id;
        self
    }

    /// Inserts the event; returns its id.
    pub(super) async fn insert(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "insert into audit_events (at_ms, actor, actor_role, client_addr, action, target, \
             object, parameters, outcome, error, intent_id) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
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
        .bind(self.intent_id)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }
}

/// What the audit browser asks for: every field set narrows the selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Any of these actions (none: every action).
    pub actions: Vec<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    /// Part of the object, letters in any case (SQLite folds only ASCII letters; `%` and `_`
    /// match themselves).
    pub object_contains: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Events older than this one (the previous page's last id).
    pub before_id: Option<i64>,
    pub limit: i64,
    /// Leave out intents whose outcome was recorded (the outcome carries them: `intents_of`).
    pub fold: bool,
}

const COLUMNS: &str = "e.id, e.at_ms, e.actor, e.actor_role, e.client_addr, e.action, e.target, \
                       e.object, e.parameters, e.outcome, e.error, e.intent_id";

fn stored(r: &sqlx::any::AnyRow) -> Result<StoredAudit, sqlx::Error> {
    Ok(StoredAudit {
        id: r.try_get("id")?,
        event: AuditEvent {
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
            intent_id: r.try_get("intent_id")?,
        },
    })
}

/// An event with its id (the paging cursor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAudit {
    pub id: i64,
    pub event: AuditEvent,
}

impl Store {
    /// Appends an event; returns its id (an outcome names its intent by it).
    pub async fn append_audit(&self, event: &AuditEvent) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The events with these ids (the intents that folded outcomes follow).
    pub async fn audit_by_ids(&self, ids: &[i64]) -> Result<Vec<StoredAudit>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "select {COLUMNS} from audit_events e where id in ({})",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(stored)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The newest `limit` events, newest first.
    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEvent>, StoreError> {
        let page = self
            .audit_page(&AuditQuery {
                limit,
                ..AuditQuery::default()
            })
            .await?;
        Ok(page.into_iter().map(|s| s.event).collect())
    }

    /// The events `q` selects, newest first (by id, so paging by `before_id` never skips or
    /// repeats an event, even when two share a millisecond). Every value is bound.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<Vec<StoredAudit>, StoreError> {
        let mut w = Where::default();
        if !q.actions.is_empty() {
            let marks: Vec<String> = q.actions.iter().map(|a| w.bind(Bind::Text(a))).collect();
            w.conditions
                .push(format!("action in ({})", marks.join(", ")));
        }
        for (column, value) in [
            ("actor", &q.actor),
            ("target", &q.target),
            ("outcome", &q.outcome),
        ] {
            if let Some(v) = value {
                w.add(column, "=", Bind::Text(v));
            }
        }
        if let Some(text) = &q.object_contains {
            let mark = w.bind(Bind::Owned(format!("%{}%", like_escape(text))));
            w.conditions
                .push(format!("lower(object) like lower({mark}) escape '\\'"));
        }
        if let Some(ms) = q.since_ms {
            w.add("at_ms", ">=", Bind::Int(ms));
        }
        if let Some(ms) = q.until_ms {
            w.add("at_ms", "<", Bind::Int(ms));
        }
        if let Some(id) = q.before_id {
            w.add("id", "<", Bind::Int(id));
        }
        if q.fold {
            w.conditions.push(
                "not (outcome = 'intent' and exists \
                 (select 1 from audit_events o where o.intent_id = e.id))"
                    .into(),
            );
        }
        let limit = w.bind(Bind::Int(q.limit));
        let sql = format!(
            "select {COLUMNS} from audit_events e{} order by id desc limit {limit}",
            if w.conditions.is_empty() {
                String::new()
            } else {
                format!(" where {}", w.conditions.join(" and "))
            },
        );
        let rows = query_with(&sql, w.binds).fetch_all(&self.pool).await?;
        rows.iter()
            .map(stored)
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
