//! Every action through pgpanel is audited, failing closed: the intent is written before anything
//! is sent to the target (if that write fails, nothing runs), the outcome after; refusals (bad
//! input, unknown object, guard) are written too. Wrong role and forged requests are refused and
//! audited by the HTTP guard before a server function runs.

use serde_json::Value;

use crate::error::AppError;
use crate::features::auth::model::{Access, Role};
use crate::features::auth::service::store_unavailable;
use crate::features::auth::session::{Caller, client_info, request_parts, require_user};
use crate::state::AppState;
use crate::store::AuditEvent;

/// One action request: who, from where, on what.
pub struct ActionRequest {
    pub caller: Caller,
    pub state: AppState,
    pub client_addr: String,
    pub action: &'static str,
    pub target: String,
    pub object: String,
    /// The intent's audit id, once written: the outcome names it.
    intent_id: std::sync::OnceLock<i64>,
}

impl ActionRequest {
    /// A DBA (or admin) asking for `action` on `object` of `target`.
    pub fn dba(action: &'static str, target: &str, object: String) -> Result<Self, AppError> {
        let caller = require_user(Access::AtLeast(Role::Dba))?;
        Ok(Self {
            caller,
            state: crate::state::app_state()?,
            client_addr: client_info(&request_parts()?).addr,
            action,
            target: target.to_owned(),
            object,
            intent_id: std::sync::OnceLock::new(),
        })
    }

    fn event(&self, outcome: &str, parameters: &Value) -> AuditEvent {
        AuditEvent {
            target: Some(self.target.clone()),
            ..AuditEvent::new(self.state.auth.clock.now_ms(), self.action, outcome)
                .actor(
                    self.caller.username.clone(),
                    Some(self.caller.role.as_str()),
                )
                .client(self.client_addr.clone())
                .object(self.object.clone())
                .parameters(parameters.to_string())
        }
    }

    /// Audits a refusal (nothing was sent to the target) and hands the error back.
    pub async fn refused(&self, parameters: &Value, error: AppError) -> AppError {
        let ev = self.event("refused", parameters).error(error.to_string());
        if let Err(e) = self.state.store.append_audit(&ev).await {
            return store_unavailable("auditing a refused action", &e);
        }
        error
    }

    /// Writes the intent; an error means nothing may run.
    pub async fn intent(&self, parameters: &Value) -> Result<(), AppError> {
        let id = self
            .state
            .store
            .append_audit(&self.event("intent", parameters))
            .await
            .map_err(|e| store_unavailable("auditing an action's intent", &e))?;
        let _ = self.intent_id.set(id);
        Ok(())
    }

    /// Writes the outcome (the action ran: a failure to record it is logged, not undone).
    pub async fn outcome(&self, parameters: &Value, error: Option<&AppError>) {
        let ev = match error {
            None => self.event("success", parameters),
            Some(e) => self.event("failure", parameters).error(e.to_string()),
        }
        .follows(self.intent_id.get().copied());
        if let Err(e) = self.state.store.append_audit(&ev).await {
            tracing::error!(action = self.action, target_id = %self.target, object = %self.object, error = %e, "recording an action's outcome failed");
        }
    }
}
