//! The credential check, shared by every way of signing in: validate, throttle, verify, then
//! record the outcome (session + audit in one transaction). Throttling lives here, inside the
//! check, so no login path can skip it.

use std::sync::Arc;

use super::model::Me;
use super::password::{HashError, PasswordHasher};
use super::session::{AuthSettings, ClientInfo, new_token, token_hash};
use super::throttle::{HOUR_MS, locked_until};
use crate::clock::Clock;
use crate::error::AppError;
use crate::features::users::model::{MAX_PASSWORD_CHARS, normalize_username};
use crate::store::{AttemptsOf, AuditEvent, LoginRecord, Store, StoreError};

/// Everything sign-in needs, shared through the application state.
#[derive(Debug)]
pub struct Auth {
    pub settings: AuthSettings,
    pub hasher: Arc<PasswordHasher>,
    pub clock: Clock,
}

/// A successful sign-in: who, and the token for the cookie.
pub struct SignedIn {
    pub me: Me,
    pub token: String,
}

const INVALID: &str = "Invalid username or password.";

/// Maps a store failure to a safe 503, logging the detail.
pub fn store_unavailable(context: &str, e: &StoreError) -> AppError {
    tracing::error!(error = %e, "{context}: the store failed");
    AppError::Unavailable {
        message: "pgpanel cannot reach its own store right now; nothing was changed. Try again \
                  in a moment."
            .into(),
    }
}

pub fn hash_unavailable(e: &HashError) -> AppError {
    match e {
        HashError::Busy => AppError::Unavailable {
            message: "Too many sign-ins are being checked right now; try again in a moment.".into(),
        },
        HashError::Failed(detail) => AppError::internal("checking a password", detail),
    }
}

/// A username for the audit trail and the attempts table, whatever was typed.
fn recorded_name(typed: &str) -> String {
    typed.trim().to_lowercase().chars().take(64).collect()
}

/// Input refused before any check: audited (best effort), not counted for throttling.
async fn audit_refusal(store: &Store, event: AuditEvent) {
    if let Err(e) = store.append_audit(&event).await {
        tracing::error!(error = %e, "cannot audit a refused sign-in");
    }
}

impl Auth {
    /// Checks a username and password and, if they are right, starts a session (ending
    /// `replaces`, the session the browser still carried).
    pub async fn login(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        client: &ClientInfo,
        replaces: Option<&str>,
    ) -> Result<SignedIn, AppError> {
        let now = self.clock.now_ms();
        let name = recorded_name(username);
        let event = |outcome: &str| {
            AuditEvent::new(now, "auth.login", outcome)
                .actor(name.clone(), None)
                .client(client.addr.clone())
        };

        let username = match normalize_username(username) {
            Ok(u) if !password.is_empty() => u,
            _ => {
                audit_refusal(
                    store,
                    event("failure").error("malformed username or password"),
                )
                .await;
                return Err(AppError::validation(
                    "Enter a username (letters, digits, . _ - @; up to 64) and a password.",
                ));
            }
        };
        if password.chars().count() > MAX_PASSWORD_CHARS {
            audit_refusal(
                store,
                event("failure").error("password longer than allowed"),
            )
            .await;
            return Err(AppError::validation(format!(
                "Passwords are at most {MAX_PASSWORD_CHARS} characters."
            )));
        }

        let since = now - HOUR_MS;
        let user_failures = store
            .recent_failures(AttemptsOf::User(&username), since)
            .await
            .map_err(|e| store_unavailable("signing in", &e))?;
        let addr_failures = store
            .recent_failures(AttemptsOf::Address(&client.addr), since)
            .await
            .map_err(|e| store_unavailable("signing in", &e))?;
        let lock = [
            locked_until(&user_failures, now, self.settings.account_limits).map(|t| (t, "account")),
            locked_until(&addr_failures, now, self.settings.address_limits).map(|t| (t, "address")),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some((until, what)) = lock {
            let retry_after_s = u64::try_from((until - now + 999) / 1000)
                .unwrap_or(1)
                .max(1);
            let ev = event("throttled").error(format!("{what} locked for {retry_after_s} s"));
            store
                .append_audit(&ev)
                .await
                .map_err(|e| store_unavailable("signing in", &e))?;
            let whose = if what == "account" {
                "this account"
            } else {
                "your address"
            };
            return Err(AppError::RateLimited {
                message: format!(
                    "Too many failed sign-ins for {whose}. Try again in {retry_after_s} s, or ask \
                     an administrator to clear the lock."
                ),
                retry_after_s,
            });
        }

        let user = store
            .find_user(&username)
            .await
            .map_err(|e| store_unavailable("signing in", &e))?;
        let verified = self
            .hasher
            .verify(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await
            .map_err(|e| hash_unavailable(&e))?;

        let failure = match &user {
            _ if !verified.ok => Some((INVALID, "wrong username or password")),
            Some(u) if u.disabled_at_ms.is_some() => Some((
                "This account is disabled; ask an administrator.",
                "account disabled",
            )),
            _ => None,
        };
        let (Some(user), None) = (user, failure) else {
            let (message, reason) = failure.unwrap_or((INVALID, "wrong username or password"));
            store
                .record_login_failure(
                    &username,
                    &client.addr,
                    now,
                    &event("failure").error(reason),
                )
                .await
                .map_err(|e| store_unavailable("signing in", &e))?;
            return Err(AppError::unauthorized(message));
        };

        let rehashed = if verified.needs_rehash {
            self.hasher.hash(password).await.ok()
        } else {
            None
        };
        let token = new_token();
        let hash = token_hash(&token);
        let record = LoginRecord {
            user_id: user.id,
            username: &user.username,
            token_hash: &hash,
            replaces,
            client_addr: &client.addr,
            user_agent: &client.user_agent,
            now_ms: now,
            rehashed,
        };
        let ev = AuditEvent::new(now, "auth.login", "success")
            .actor(user.username.clone(), Some(user.role.as_str()))
            .client(client.addr.clone());
        store
            .record_login(&record, &ev)
            .await
            .map_err(|e| store_unavailable("signing in", &e))?;
        Ok(SignedIn {
            me: Me {
                username: user.username,
                role: user.role,
            },
            token,
        })
    }
}
