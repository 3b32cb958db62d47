//! The gate in front of every route: who is calling, may they, and did the request come from
//! pgpanel's own pages. Runs before any handler, so a refused request executes nothing.
//!
//! 1. The client address and the session (from the cookie) are put in the request's extensions
//!    for the handlers (`session::require` reads them again: two locks on one door).
//! 2. Every request that is not GET/HEAD/OPTIONS must show it comes from pgpanel itself: its
//!    Origin (or, without one, Sec-Fetch-Site, then Referer) must be our own; else 403.
//! 3. The route's rule from `policy.rs` is applied: API calls get 401/403 as JSON; pages send an
//!    anonymous visitor to the sign-in page and back afterwards. A page the role may not see is
//!    rendered by its `RoleGate` as a 403 (its data endpoints refuse on their own).
//!
//! Refusals of state-changing requests and every 403 are written to the audit trail.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{HOST, LOCATION, ORIGIN, REFERER, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;
use app::features::auth::model::Access;
use app::features::auth::policy;
use app::features::auth::session::{Caller, ClientInfo, check, resolve};
use app::state::AppState;
use app::store::AuditEvent;

use super::api_errors::json_error;

#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    /// Extra origins (besides the Host header's) whose POSTs are accepted.
    pub allowed_origins: Arc<Vec<String>>,
}

fn client_of(req: &Request) -> ClientInfo {
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(256)
        .collect();
    ClientInfo { addr, user_agent }
}

/// `scheme://authority` → authority, for an Origin or a Referer.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// Whether a state-changing request comes from pgpanel's own pages.
pub fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), &'static str> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let host = text(HOST).ok_or("the request has no Host header")?;
    let own = |url: &str| {
        let origin = url.trim_end_matches('/');
        authority(url).is_some_and(|a| a.eq_ignore_ascii_case(host))
            || allowed.iter().any(|o| {
                let o = o.trim_end_matches('/');
                origin.eq_ignore_ascii_case(o)
                    || origin
                        .get(..o.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(o))
                        && origin[o.len()..].starts_with('/')
            })
    };
    if let Some(origin) = text(ORIGIN) {
        return if origin != "null" && own(origin) {
            Ok(())
        } else {
            Err("its Origin is not pgpanel")
        };
    }
    if let Some(site) = text("sec-fetch-site".parse().map_err(|_| "header")?) {
        return if site == "same-origin" {
            Ok(())
        } else {
            Err("the browser says it comes from another site (Sec-Fetch-Site)")
        };
    }
    if let Some(referer) = text(REFERER) {
        return if own(referer) {
            Ok(())
        } else {
            Err("its Referer is not pgpanel")
        };
    }
    Err("it carries no Origin, Sec-Fetch-Site or Referer header")
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

async fn audit(state: &AppState, event: AuditEvent) {
    if let Err(e) = state.store.append_audit(&event).await {
        tracing::error!(error = %e, action = %event.action, "cannot audit a refused request");
    }
}

fn refused_event(
    state: &AppState,
    action: &str,
    req: &Request,
    client: &ClientInfo,
    caller: Option<&Caller>,
    error: &str,
) -> AuditEvent {
    let mut ev = AuditEvent::new(state.auth.clock.now_ms(), action, "denied")
        .client(client.addr.clone())
        .object(format!("{} {}", req.method(), req.uri().path()))
        .error(error.to_owned());
    if let Some(c) = caller {
        ev = ev.actor(c.username.clone(), Some(c.role.as_str()));
    }
    ev
}

pub async fn guard(State(guard): State<Guard>, mut req: Request, next: Next) -> Response {
    let state = &guard.state;
    let client = client_of(&req);
    req.extensions_mut().insert(client.clone());
    let path = req.uri().path().to_owned();
    let is_api = path.starts_with("/api/");
    let access = if is_api {
        policy::api_access(&path)
    } else {
        policy::page_access(&path)
    };
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);

    let settings = &state.auth.settings;
    let token = settings.token_from(req.headers());
    let caller = match &token {
        None => None,
        Some(token) => match resolve(&state.store, &state.auth.clock, settings, token).await {
            Ok(caller) => caller,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the session from the store");
                if matches!(access, Some(a) if a != Access::Public) {
                    return json_error(&AppError::Unavailable {
                        message: "pgpanel cannot reach its own store right now; try again in a \
                                  moment."
                            .into(),
                    });
                }
                None
            }
        },
    };

    if changes_state && let Err(reason) = check_origin(req.headers(), &guard.allowed_origins) {
        let message =
            format!("Refused: {reason}. Changes are accepted only from pgpanel's own pages.");
        let ev = refused_event(
            state,
            "request.forged",
            &req,
            &client,
            caller.as_ref(),
            &message,
        );
        audit(state, ev).await;
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
                    "request.unauthenticated",
                    &req,
                    &client,
                    None,
                    &error.to_string(),
                );
                audit(state, ev).await;
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
            if token.is_some()
                && let Ok(v) = HeaderValue::from_str(&settings.clear_cookie())
            {
                res.headers_mut().append(SET_COOKIE, v);
            }
            res
        }
        Err(error) => {
            let ev = refused_event(
                state,
                "request.denied",
                &req,
                &client,
                caller.as_ref(),
                &error.to_string(),
            );
            audit(state, ev).await;
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

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn origins() {
        let ok = |pairs: &[(&str, &str)]| check_origin(&headers(pairs), &[]).is_ok();
        let host = ("host", "pgpanel.local:3000");
        assert!(ok(&[host, ("origin", "http://pgpanel.local:3000")]));
        assert!(ok(&[host, ("origin", "https://PGPANEL.local:3000")]));
        assert!(!ok(&[host, ("origin", "http://evil.example")]));
        assert!(!ok(&[
            host,
            ("origin", "http://pgpanel.local:3000.evil.example")
        ]));
        assert!(!ok(&[host, ("origin", "null")]));
        // Origin wins over a friendly Sec-Fetch-Site.
        assert!(!ok(&[
            host,
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "same-origin")
        ]));
        assert!(ok(&[host, ("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[host, ("sec-fetch-site", "cross-site")]));
        assert!(!ok(&[host, ("sec-fetch-site", "same-site")]));
        assert!(ok(&[
            host,
            ("referer", "http://pgpanel.local:3000/users?x=1")
        ]));
        assert!(!ok(&[
            host,
            ("referer", "http://evil.example/pgpanel.local:3000")
        ]));
        assert!(!ok(&[host]));
        assert!(!ok(&[("origin", "http://pgpanel.local:3000")]));

        let allowed = vec!["https://dash.example.com".to_owned()];
        let h = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://dash.example.com"),
        ]);
        assert!(check_origin(&h, &allowed).is_ok());
        let h = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://dash.example.com.evil"),
        ]);
        assert!(check_origin(&h, &allowed).is_err());
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(encode("/users?a=b&c"), "/users%3Fa%3Db%26c");
    }
}
