//! `/api/users*`: admin only. Every change is audited in the same transaction as the change.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{Locks, UserView};
use crate::error::AppError;

#[cfg(feature = "ssr")]
mod server {
    use time::OffsetDateTime;

    use crate::clock::from_millis;
    use crate::error::AppError;
    use crate::features::audit::model::Action;
    use crate::features::audit::recorder::Recorder;
    use crate::features::auth::model::{Access, Role};
    use crate::features::auth::throttle::{HOUR_MS, Limits, locked_until};
    use crate::features::users::model::{AddressLock, UserView};
    use crate::state::AppState;
    use crate::store::{Attempt, StoreError, UserRecord};

    /// The read-only handlers: admin role, the state and the time.
    pub fn reader() -> Result<(AppState, i64), AppError> {
        crate::features::auth::context::require_user(Access::AtLeast(Role::Admin))?;
        let state = crate::state::app_state()?;
        let now = state.auth.clock.now_ms();
        Ok((state, now))
    }

    /// Every changing handler starts with this: admin role, state, client, audited as `action`.
    pub fn admin(action: Action) -> Result<Recorder, AppError> {
        Recorder::require(Access::AtLeast(Role::Admin), action)
    }

    /// The store's answer to a change, as the API's error, recorded as a refusal.
    pub async fn store_error(admin: &Recorder, object: &str, e: StoreError) -> AppError {
        let error = match e {
            StoreError::Duplicate => {
                AppError::conflict(format!("A user named {object:?} already exists."))
            }
            StoreError::NotFound => AppError::not_found(format!("No user named {object:?}.")),
            StoreError::LastAdmin => AppError::conflict(format!(
                "{object:?} is the last enabled admin: make another admin first."
            )),
            other => return other.into(),
        };
        admin.refused(None, error).await
    }

    pub async fn attempts(state: &AppState, now_ms: i64) -> Result<Vec<Attempt>, AppError> {
        Ok(state.store.attempts_since(now_ms - HOUR_MS).await?)
    }

    /// Every user as the page shows them, with failures and locks from `attempts`.
    pub async fn user_views(
        state: &AppState,
        now: i64,
        attempts: &[Attempt],
    ) -> Result<Vec<UserView>, AppError> {
        let users = state.store.list_users().await?;
        let limits = state.auth.settings.account_limits;
        Ok(users
            .iter()
            .map(|u| view(u, attempts, now, limits))
            .collect())
    }
    /// Failure times (newest first) since the last reset, for the attempts matching `key`; as
    /// in the store, a success resets an account but only an admin's clear resets an address.
    fn failures(
        attempts: &[Attempt],
        key: impl Fn(&Attempt) -> bool,
        success_resets: bool,
    ) -> Vec<i64> {
        let mut out = Vec::new();
        for a in attempts.iter().filter(|a| key(a)) {
            match a.outcome.as_str() {
                "failure" => out.insert(0, a.at_ms),
                "success" if !success_resets => {}
                _ => out.clear(),
            }
        }
        out
    }

    fn lock(failures: &[i64], now: i64, limits: Limits) -> Option<OffsetDateTime> {
        locked_until(failures, now, limits).map(from_millis)
    }

    pub fn view(user: &UserRecord, attempts: &[Attempt], now: i64, limits: Limits) -> UserView {
        let f = failures(attempts, |a| a.username == user.username, true);
        UserView {
            username: user.username.clone(),
            role: user.role,
            disabled: user.disabled_at_ms.is_some(),
            created_at: from_millis(user.created_at_ms),
            last_login_at: user.last_login_at_ms.map(from_millis),
            recent_failures: u32::try_from(f.len()).unwrap_or(u32::MAX),
            locked_until: lock(&f, now, limits),
        }
    }

    pub fn address_locks(attempts: &[Attempt], now: i64, limits: Limits) -> Vec<AddressLock> {
        let mut addrs: Vec<&str> = attempts
            .iter()
            .filter(|a| !a.client_addr.is_empty())
            .map(|a| a.client_addr.as_str())
            .collect();
        addrs.sort_unstable();
        addrs.dedup();
        addrs
            .into_iter()
            .filter_map(|addr| {
                let f = failures(attempts, |a| a.client_addr == addr, false);
                lock(&f, now, limits).map(|until| AddressLock {
                    client_addr: addr.to_owned(),
                    recent_failures: u32::try_from(f.len()).unwrap_or(u32::MAX),
                    locked_until: until,
                })
            })
            .collect()
    }
}

/// Every user, with sign-in failures and locks.
#[server(prefix = "/api", endpoint = "users", input = GetUrl, output = crate::codec::Json)]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let (state, now) = server::reader()?;
    let attempts = server::attempts(&state, now).await?;
    server::user_views(&state, now, &attempts).await
}

/// Creates a user (`role`: admin, dba or analyst).
#[server(prefix = "/api", endpoint = "users/create", output = crate::codec::Json)]
pub async fn create_user(
    username: String,
    password: String,
    role: String,
) -> Result<UserView, AppError> {
    use super::model::{check_password, confusable_with, normalize_username};
    use crate::features::audit::model::{Action, Outcome};
    use crate::features::auth::model::Role;

    let mut admin = server::admin(Action::UserCreate)?;
    let shown: String = username.trim().chars().take(64).collect();
    admin.on(shown.clone());
    let parsed = normalize_username(&username)
        .and_then(|u| check_password(&password).map(|()| u))
        .and_then(|u| Role::parse(&role).map(|r| (u, r)));
    let (name, role) = match parsed {
        Ok(v) => v,
        Err(e) => return Err(admin.refused(None, e).await),
    };
    admin.on(name.clone());
    let existing = match admin.state.store.list_users().await {
        Ok(users) => users,
        Err(e) => return Err(server::store_error(&admin, &name, e).await),
    };
    if let Some(other) = confusable_with(&name, existing.iter().map(|u| u.username.as_str())) {
        let e = AppError::conflict(format!(
            "{name:?} can be mistaken for the existing user {other:?}; choose a name that looks different."
        ));
        return Err(admin.refused(None, e).await);
    }
    let hash = admin.state.auth.hasher.hash(&password).await?;
    let ev = admin
        .event(Outcome::Success)
        .parameters(serde_json::json!({ "role": role }).to_string());
    if let Err(e) = admin
        .state
        .store
        .create_user(&name, &hash, role, admin.now_ms(), &ev)
        .await
    {
        return Err(server::store_error(&admin, &name, e).await);
    }
    // Answered from what was written: the user exists now, whatever a re-read would say.
    Ok(UserView {
        username: name,
        role,
        disabled: false,
        created_at: crate::clock::from_millis(admin.now_ms()),
        last_login_at: None,
        recent_failures: 0,
        locked_until: None,
    })
}

/// Changes a user's role, enables or disables them, or resets their password. Empty fields are
/// left alone. Disabling and password resets end the user's sessions at once.
#[server(prefix = "/api", endpoint = "users/update", output = crate::codec::Json)]
pub async fn update_user(
    username: String,
    role: Option<String>,
    disabled: Option<String>,
    password: Option<String>,
) -> Result<UserView, AppError> {
    use super::model::{check_password, parse_flag, username_key};
    use crate::features::audit::model::{Action, Outcome};
    use crate::features::auth::model::Role;
    use crate::store::UserChange;

    let mut admin = server::admin(Action::UserUpdate)?;
    let present = |v: Option<String>| v.filter(|s| !s.is_empty());
    let (role, disabled, password) = (present(role), present(disabled), present(password));
    let shown: String = username.trim().chars().take(64).collect();
    admin.on(shown);
    let parsed = (|| {
        let name = username_key(&username)?;
        let role = role.as_deref().map(Role::parse).transpose()?;
        let disabled = disabled
            .as_deref()
            .map(|d| parse_flag("disabled", d))
            .transpose()?;
        if let Some(p) = &password {
            check_password(p)?;
        }
        if role.is_none() && disabled.is_none() && password.is_none() {
            return Err(AppError::validation(
                "Nothing to change: give a role, disabled or password.",
            ));
        }
        Ok((name, role, disabled))
    })();
    let (name, role, disabled) = match parsed {
        Ok(v) => v,
        Err(e) => return Err(admin.refused(None, e).await),
    };
    admin.on(name.clone());
    let password_hash = match &password {
        Some(p) => Some(admin.state.auth.hasher.hash(p).await?),
        None => None,
    };
    // What changed, never the password itself.
    let mut params = serde_json::Map::new();
    if let Some(r) = role {
        params.insert("role".into(), serde_json::json!(r));
    }
    if let Some(d) = disabled {
        params.insert("disabled".into(), serde_json::json!(d));
    }
    if password_hash.is_some() {
        params.insert("password".into(), serde_json::json!("reset"));
    }
    let ev = admin
        .event(Outcome::Success)
        .parameters(serde_json::Value::Object(params).to_string());
    let change = UserChange {
        role,
        disabled,
        password_hash,
    };
    let user = match admin
        .state
        .store
        .update_user(&name, &change, admin.now_ms(), &ev)
        .await
    {
        Ok(u) => u,
        Err(e) => return Err(server::store_error(&admin, &name, e).await),
    };
    let attempts = server::attempts(&admin.state, admin.now_ms()).await?;
    let limits = admin.state.auth.settings.account_limits;
    Ok(server::view(&user, &attempts, admin.now_ms(), limits))
}

/// Accounts and addresses throttled right now.
#[server(prefix = "/api", endpoint = "users/locks", input = GetUrl, output = crate::codec::Json)]
pub async fn list_locks() -> Result<Locks, AppError> {
    let (state, now) = server::reader()?;
    let attempts = server::attempts(&state, now).await?;
    let accounts = server::user_views(&state, now, &attempts).await?;
    Ok(Locks {
        accounts: accounts
            .into_iter()
            .filter(|v| v.locked_until.is_some())
            .collect(),
        addresses: server::address_locks(&attempts, now, state.auth.settings.address_limits),
    })
}

/// Clears the sign-in lock of an account (`username`) or a client address (`client_addr`).
#[server(prefix = "/api", endpoint = "users/unlock", output = crate::codec::Json)]
pub async fn unlock(username: Option<String>, client_addr: Option<String>) -> Result<(), AppError> {
    use super::model::username_key;
    use crate::features::audit::model::{Action, Outcome};

    let mut admin = server::admin(Action::UserUnlock)?;
    let username = username.filter(|s| !s.is_empty());
    let client_addr = client_addr.filter(|s| !s.trim().is_empty());
    let target = match (&username, &client_addr) {
        (Some(u), None) => username_key(u).map(|u| (u, String::new())),
        (None, Some(a)) if a.len() <= 64 && a.parse::<std::net::IpAddr>().is_ok() => {
            Ok((String::new(), a.trim().to_owned()))
        }
        (None, Some(_)) => Err(AppError::validation("client_addr must be an IP address.")),
        _ => Err(AppError::validation("Give either username or client_addr.")),
    };
    let (user, addr) = match target {
        Ok(t) => t,
        Err(e) => return Err(admin.refused(None, e).await),
    };
    admin.on(if user.is_empty() { &addr } else { &user });
    let ev = admin.event(Outcome::Success);
    Ok(admin
        .state
        .store
        .clear_lock(&user, &addr, admin.now_ms(), &ev)
        .await?)
}
