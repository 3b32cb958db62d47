//! The credential check, shared by every way of signing in: validate, throttle, verify, then
//! record the outcome (session + audit in one transaction). Throttling lives here, inside the
//! check, so no login path can skip it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::context::ClientInfo;
use super::model::Me;
use super::password::{HashError, PasswordHasher};
use super::refusals::Refusals;
use super::session::{AuthSettings, new_token, token_hash};
use super::throttle::{HOUR_MS, locked_until};
use crate::clock::Clock;
use crate::error::AppError;
use crate::features::audit::model::{Action, Outcome};
use crate::features::users::model::{MAX_PASSWORD_CHARS, normalize_username};
use crate::store::{AttemptsOf, AuditEvent, LoginRecord, Store, UserRecord};

/// Everything sign-in needs, shared through the application state.
#[derive(Debug)]
pub struct Auth {
    pub settings: AuthSettings,
    pub hasher: Arc<PasswordHasher>,
    pub clock: Clock,
    /// Refused requests, aggregated before they reach the audit trail.
    pub refusals: Refusals,
    names: KeyLocks,
    addresses: KeyLocks,
}

/// A successful sign-in: who, and the token for the cookie.
pub struct SignedIn {
    pub me: Me,
    pub token: String,
}

const INVALID: &str = "Invalid username or password.";

/// Maps a store failure to a safe 503, logging the detail.
impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => AppError::Unavailable {
                message: "Too many sign-ins are being checked right now; try again in a moment."
                    .into(),
            },
            HashError::Failed(detail) => AppError::internal("checking a password", detail),
        }
    }
}

/// One async lock per key (a username, a client address): sign-ins for the same name, and from
/// the same address, are checked one after the other, so a burst of parallel guesses cannot all
/// pass the throttling check before any failure is stored (count and record are one step).
/// Different names from different addresses still sign in in parallel. The map holds only locks
/// in use (weak references; dead ones are swept past 1,024 entries).
#[derive(Debug, Default)]
struct KeyLocks(Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>);

impl KeyLocks {
    fn get(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lock) = map.get(name).and_then(Weak::upgrade) {
            return lock;
        }
        if map.len() >= 1024 {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(name.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

impl Auth {
    pub fn new(settings: AuthSettings, hasher: Arc<PasswordHasher>, clock: Clock) -> Self {
        Self {
            settings,
            hasher,
            clock,
            refusals: Refusals::default(),
            names: KeyLocks::default(),
            addresses: KeyLocks::default(),
        }
    }

    /// Checks a username and password and, if they are right, starts a session (ending
    /// `replaces`, the session the browser still carried).
    ///
    /// The audit trail names the user only when the account exists: a password typed into the
    /// username field by mistake must not be kept forever.
    pub async fn login(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        client: &ClientInfo,
        replaces: Option<&str>,
    ) -> Result<SignedIn, AppError> {
        let username = match normalize_username(username) {
            Ok(u) if !password.is_empty() => u,
            _ => {
                let ev = AuditEvent::new(self.clock.now_ms(), Action::Login, Outcome::Failure)
                    .client(client.addr.clone())
                    .error("malformed username or empty password");
                self.refusals.record(store, ev).await;
                return Err(AppError::validation(
                    "Enter a username (letters, digits, . _ - @; up to 64) and a password.",
                ));
            }
        };
        // Address first, then name, always in this order (no deadlock).
        let address_lock = self.addresses.get(&client.addr);
        let _address_serialised = address_lock.lock().await;
        let name_lock = self.names.get(&username);
        let _serialised = name_lock.lock().await;
        // After the wait: attempts queued behind others are timed when they are checked.
        let now = self.clock.now_ms();
        let event = |outcome: Outcome, user: Option<&UserRecord>| {
            let ev = AuditEvent::new(now, Action::Login, outcome).client(client.addr.clone());
            match user {
                Some(u) => ev.actor(u.username.clone(), Some(u.role.as_str())),
                None => ev,
            }
        };
        let user = store.find_user(&username).await?;
        let user = user.as_ref();
        // A refused attempt, with why; for a name that has no account, the reason says so.
        let refused = |outcome: Outcome, reason: &str| {
            let reason = if user.is_none() {
                format!("{reason} (unknown user)")
            } else {
                reason.to_owned()
            };
            event(outcome, user).error(reason)
        };
        if password.chars().count() > MAX_PASSWORD_CHARS {
            let ev = refused(Outcome::Failure, "password longer than allowed");
            self.refusals.record(store, ev).await;
            return Err(AppError::validation(format!(
                "Passwords are at most {MAX_PASSWORD_CHARS} characters."
            )));
        }

        if let Some((until, what)) = self.locked(store, &username, &client.addr, now).await? {
            let retry_after_s = u64::try_from((until - now + 999) / 1000)
                .unwrap_or(1)
                .max(1);
            // Throttled attempts can come in a flood: aggregated like other refusals.
            let ev = refused(Outcome::Throttled, &format!("{what} locked"));
            self.refusals.record(store, ev).await;
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

        let verified = match self
            .hasher
            .verify(password, user.map(|u| u.password_hash.as_str()))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                let ev = refused(Outcome::Failure, &e.to_string());
                self.refusals.record(store, ev).await;
                return Err(e.into());
            }
        };
        let refusal = match user {
            _ if !verified.ok => Some((INVALID, "wrong username or password")),
            Some(u) if u.disabled_at_ms.is_some() => Some((
                "This account is disabled; ask an administrator.",
                "account disabled",
            )),
            _ => None,
        };
        let (Some(user), None) = (user, refusal) else {
            let (message, reason) = refusal.unwrap_or((INVALID, "wrong username or password"));
            let ev = refused(Outcome::Failure, reason);
            store
                .record_login_failure(&username, &client.addr, now, &ev)
                .await?;
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
        store
            .record_login(&record, &event(Outcome::Success, Some(user)))
            .await?;
        Ok(SignedIn {
            me: Me {
                username: user.username.clone(),
                role: user.role,
            },
            token,
        })
    }

    /// Until when the account or the client address is throttled, if it is.
    async fn locked(
        &self,
        store: &Store,
        username: &str,
        addr: &str,
        now: i64,
    ) -> Result<Option<(i64, &'static str)>, AppError> {
        let since = now - HOUR_MS;
        let user_failures = store
            .recent_failures(AttemptsOf::User(username), since)
            .await?;
        let addr_failures = store
            .recent_failures(AttemptsOf::Address(addr), since)
            .await?;
        Ok([
            locked_until(&user_failures, now, self.settings.account_limits).map(|t| (t, "account")),
            locked_until(&addr_failures, now, self.settings.address_limits).map(|t| (t, "address")),
        ]
        .into_iter()
        .flatten()
        .max())
    }
}
