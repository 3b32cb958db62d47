//! The one audit recorder. Every audited operation goes through a [`Recorder`]: the caller's role
//! is checked when it is made, refusals are recorded as `refused` (nothing ran), and an action
//! is recorded before it runs (`intent`, failing closed: if that write fails, nothing runs) and
//! after (`success` / `failure`, naming its intent). Wrong role and forged requests are refused
//! and audited by the HTTP guard before a server function runs.

use std::sync::OnceLock;

use serde_json::Value;

use super::model::{Action, Outcome};
use crate::error::AppError;
use crate::features::auth::context::{Caller, client_info, request_parts, require_user};
use crate::features::auth::model::{Access, Role};
use crate::state::AppState;
use crate::store::AuditEvent;

/// One audited request: who, from where, doing what, on what.
pub struct Recorder {
    pub caller: Caller,
    pub state: AppState,
    pub client_addr: String,
    pub action: Action,
    target: Option<String>,
    object: String,
    /// The intent's audit id, once written: the outcome names it.
    intent_id: OnceLock<i64>,
}

impl Recorder {
    /// The signed-in caller, with at least `access`, about to do `action`.
    pub fn require(access: Access, action: Action) -> Result<Self, AppError> {
        let caller = require_user(access)?;
        Ok(Self {
            caller,
            state: crate::state::app_state()?,
            client_addr: client_info(&request_parts()?).addr,
            action,
            target: None,
            object: String::new(),
            intent_id: OnceLock::new(),
        })
    }

    /// A DBA (or admin) asking for `action` on `object` of `target`.
    pub fn dba(action: Action, target: &str, object: impl Into<String>) -> Result<Self, AppError> {
        let mut r = Self::require(Access::AtLeast(Role::Dba), action)?;
        r.target = Some(target.to_owned());
        r.object = object.into();
        Ok(r)
    }

    /// Names the object acted on, once known (user changes learn it from their input).
    pub fn on(&mut self, object: impl Into<String>) {
        self.object = object.into();
    }

    pub fn now_ms(&self) -> i64 {
        self.state.auth.clock.now_ms()
    }

    /// The event for `outcome`, with actor, client, target and object filled in.
    pub fn event(&self, outcome: Outcome) -> AuditEvent {
        let mut ev = AuditEvent::new(self.now_ms(), self.action, outcome)
            .actor(
                self.caller.username.clone(),
                Some(self.caller.role.as_str()),
            )
            .client(self.client_addr.clone())
            .object(self.object.clone());
        ev.target = self.target.clone();
        ev
    }

    /// Records a refusal (nothing ran) and hands the error back.
    pub async fn refused(&self, parameters: Option<&Value>, error: AppError) -> AppError {
        let mut ev = self.event(Outcome::Refused).error(error.to_string());
        if let Some(p) = parameters {
            ev = ev.parameters(p.to_string());
        }
        if let Err(e) = self.state.store.append_audit(&ev).await {
            return e.into();
        }
        error
    }

    /// `result`, with its error recorded as a refusal.
    pub async fn check<T>(
        &self,
        parameters: &Value,
        result: Result<T, AppError>,
    ) -> Result<T, AppError> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(self.refused(Some(parameters), e).await),
        }
    }

    /// Writes the intent; an error means nothing may run.
    pub async fn intent(&self, parameters: &Value) -> Result<(), AppError> {
        let ev = self
            .event(Outcome::Intent)
            .parameters(parameters.to_string());
        let id = self.state.store.append_audit(&ev).await?;
        let _ = self.intent_id.set(id);
        Ok(())
    }

    /// Writes the outcome (the action ran: a failure to record it is logged, not undone).
    pub async fn outcome(&self, parameters: &Value, error: Option<&AppError>) {
        let ev = match error {
            None => self.event(Outcome::Success),
            Some(e) => self.event(Outcome::Failure).error(e.to_string()),
        }
        .parameters(parameters.to_string())
        .follows(self.intent_id.get().copied());
        if let Err(e) = self.state.store.append_audit(&ev).await {
            tracing::error!(action = self.action.name(), target_id = ?self.target, object = %self.object, error = %e, "recording an action's outcome failed");
        }
    }
}
