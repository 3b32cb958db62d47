//! The gate in front of every route: who is calling, may they, and did the request come from
//! pgpanel's own pages. Runs before any handler, so a refused request executes nothing.
//!
//! 1. The client address and the session (from the cookie) are put in the request's extensions
//!    for the handlers (`session::require` reads them again: two locks on one door).
//! 2. The Host must be one pgpanel answers to (else 400), and every request that is not
//!    GET/HEAD/OPTIONS must show it comes from pgpanel itself (else 403): both decided from the
//!    headers in `origin.rs`.
//! 3. The route's rule from `policy.rs` is applied: API calls get 401/403 as JSON; pages send an
//!    anonymous visitor to the sign-in page and back afterwards. A page the role may not see is
//!    rendered by its `RoleGate` as a 403 (its data endpoints refuse on their own).
//!
//! Refusals of state-changing requests and every 403 are written to the audit trail, through
//! `auth::refusals` (bounded however many arrive).

use app::features::audit::model::{Action, Outcome};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;
use app::features::auth::context::{Caller, ClientInfo, check};
use app::features::auth::model::Access;
use app::features::auth::policy;
use app::features::auth::refusals::request_object;
use app::features::auth::session::resolve;
use app::state::AppState;
use app::store::AuditEvent;

use super::api_errors::json_error;
use super::client::{TrustedProxies, client_of};
use super::origin::{OriginPolicy, check_origin, host_allowed};

#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub origins: Arc<OriginPolicy>,
    pub proxies: Arc<TrustedProxies>,
}

/// Paths with `.` or `..` segments or an empty segment name no page or endpoint; they are refused
/// before anything could resolve them to one.
fn odd_path(path: &str) -> bool {
    path.contains("//") || path.split('/').any(|seg| seg == "." || seg == "..")
}

/// Percent-encodes a path for the `next` parameter of the sign-in page.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 3);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn refused_event(
    state: &AppState,
    action: Action,
    req: &Request,
    client: &ClientInfo,
    caller: Option<&Caller>,
    error: &str,
) -> AuditEvent {
    let mut ev = AuditEvent::new(state.auth.clock.now_ms(), action, Outcome::Denied)
        .client(client.addr.clone())
        .object(request_object(req.method().as_str(), req.uri().path()))
        .error(error.to_owned());
    if let Some(c) = caller {
        ev = ev.actor(c.username.clone(), Some(c.role.as_str()));
    }
    ev
}

pub async fn guard(State(guard): State<Guard>, mut req: Request, next: Next) -> Response {
    let state = &guard.state;
    let client = client_of(
        &guard.proxies,
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
    );
    req.extensions_mut().insert(client.clone());
    let path = req.uri().path().to_owned();
    if odd_path(&path) {
        return json_error(&AppError::not_found(format!("There is nothing at {path}.")));
    }
    let is_api = policy::is_api_path(&path);
    let access = if is_api {
        policy::api_access(&path)
    } else {
        policy::page_access(&path)
    };
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let authority = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .map(str::to_owned);
    if let Some(a) = authority.as_deref()
        && !host_allowed(a, &guard.origins)
    {
        return json_error(&AppError::validation(
            "This host name is not one pgpanel answers to (add it to http.allowed_hosts).",
        ));
    }

    let settings = &state.auth.settings;
    let tokens = settings.tokens_from(req.headers());
    // With several session cookies, the one naming a valid session is taken; two valid ones
    // (one planted by another site on this host) are both refused, and neither is cleared.
    let mut caller: Option<Caller> = None;
    let mut valid = 0;
    for token in &tokens {
        match resolve(&state.store, &state.auth.clock, settings, token).await {
            Ok(Some(c)) => {
                valid += 1;
                caller.get_or_insert(c);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read the session from the store");
                if matches!(access, Some(a) if a != Access::Public) {
                    return json_error(&AppError::Unavailable {
                        message: "pgpanel cannot reach its own store right now; try again in a \
                                  moment."
                            .into(),
                    });
                }
            }
        }
    }
    if valid > 1 {
        tracing::warn!(client = %client.addr, "two valid session cookies in one request: both refused");
        caller = None;
    }
    let forget_cookie = !tokens.is_empty() && valid == 0;

    if changes_state
        && let Err(reason) = check_origin(req.headers(), authority.as_deref(), &guard.origins)
    {
        let message =
            format!("Refused: {reason}. Changes are accepted only from pgpanel's own pages.");
        let ev = refused_event(
            state,
            Action::RequestForged,
            &req,
            &client,
            caller.as_ref(),
            &message,
        );
        state.auth.refusals.record(&state.store, ev).await;
        return json_error(&AppError::forbidden(message));
    }

    let Some(access) = access else {
        if let Some(c) = caller {
            req.extensions_mut().insert(c);
        }
        return next.run(req).await;
    };
    match check(access, caller.as_ref()) {
        Ok(()) => {
            if let Some(c) = caller {
                req.extensions_mut().insert(c);
            }
            next.run(req).await
        }
        Err(error @ AppError::Unauthorized { .. }) => {
            if changes_state {
                let ev = refused_event(
                    state,
                    Action::RequestUnauthenticated,
                    &req,
                    &client,
                    None,
                    &error.to_string(),
                );
                state.auth.refusals.record(&state.store, ev).await;
            }
            let mut res = if is_api {
                json_error(&error)
            } else {
                let target = req
                    .uri()
                    .path_and_query()
                    .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
                let location = format!("/login?next={}", encode(&target));
                (
                    StatusCode::SEE_OTHER,
                    [(
                        LOCATION,
                        HeaderValue::from_str(&location)
                            .unwrap_or(HeaderValue::from_static("/login")),
                    )],
                )
                    .into_response()
            };
            // A cookie that names no valid session is forgotten.
            if forget_cookie && let Ok(v) = HeaderValue::from_str(&settings.clear_cookie()) {
                res.headers_mut().append(SET_COOKIE, v);
            }
            res
        }
        Err(error) => {
            let ev = refused_event(
                state,
                Action::RequestDenied,
                &req,
                &client,
                caller.as_ref(),
                &error.to_string(),
            );
            state.auth.refusals.record(&state.store, ev).await;
            if is_api {
                return json_error(&error);
            }
            if let Some(c) = caller {
                req.extensions_mut().insert(c);
            }
            next.run(req).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_paths_are_refused() {
        for p in ["/x/../users", "/./users", "//users", "/users/.."] {
            assert!(odd_path(p), "{p}");
        }
        for p in ["/", "/users", "/pkg/pgpanel.js", "/api/auth/me", "/a.b/c"] {
            assert!(!odd_path(p), "{p}");
        }
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(encode("/users?a=b&c"), "/users%3Fa%3Db%26c");
    }
}
