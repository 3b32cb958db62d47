//! `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/auth/me`.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::Me;
use crate::error::AppError;

/// Signs in with a username and password; sets the session cookie. `next` (optional) is where a
/// plain HTML form post is sent afterwards; script callers get `{username, role}`.
#[server(prefix = "/api", endpoint = "auth/login", output = crate::codec::Json)]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Me, AppError> {
    use http::HeaderValue;
    use http::header::{ACCEPT, SET_COOKIE};

    use super::context::{client_info, request_parts, require};
    use super::model::{Access, safe_next};

    require(Access::Public)?;
    let state = crate::state::app_state()?;
    let parts = request_parts()?;
    let client = client_info(&parts);
    let auth = &state.auth;
    // The session the browser carried, as the guard resolved it (with several cookies, the
    // valid one, not simply the first): it ends with this sign-in.
    let replaces = parts
        .extensions
        .get::<super::context::Caller>()
        .map(|c| c.token_hash.clone());
    let signed_in = auth
        .login(
            &state.store,
            &username,
            &password,
            &client,
            replaces.as_deref(),
        )
        .await?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = HeaderValue::from_str(&auth.settings.set_cookie(&signed_in.token))
        .map_err(|e| AppError::internal("setting the session cookie", e))?;
    response.append_header(SET_COOKIE, cookie);
    let plain_form = parts
        .headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if plain_form {
        leptos_axum::redirect(&safe_next(next.as_deref()));
    }
    Ok(signed_in.me)
}

/// Ends the caller's session server-side and clears the cookie.
#[server(prefix = "/api", endpoint = "auth/logout", output = crate::codec::Json)]
pub async fn logout() -> Result<(), AppError> {
    use http::HeaderValue;
    use http::header::SET_COOKIE;

    use super::context::{client_info, request_parts, require_user};
    use super::model::Access;
    use crate::store::AuditEvent;

    let caller = require_user(Access::SignedIn)?;
    let state = crate::state::app_state()?;
    let client = client_info(&request_parts()?);
    let ev = AuditEvent::new(
        state.auth.clock.now_ms(),
        crate::features::audit::model::Action::Logout,
        crate::features::audit::model::Outcome::Success,
    )
    .actor(caller.username.clone(), Some(caller.role.as_str()))
    .client(client.addr);
    state
        .store
        .end_session(&caller.token_hash, Some(&ev))
        .await?;
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = HeaderValue::from_str(&state.auth.settings.clear_cookie())
        .map_err(|e| AppError::internal("clearing the session cookie", e))?;
    response.append_header(SET_COOKIE, cookie);
    Ok(())
}

/// The signed-in user.
#[server(prefix = "/api", endpoint = "auth/me", input = GetUrl, output = crate::codec::Json)]
pub async fn get_me() -> Result<Me, AppError> {
    let caller = super::context::require_user(super::model::Access::SignedIn)?;
    Ok(Me {
        username: caller.username,
        role: caller.role,
    })
}
