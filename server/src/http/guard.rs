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
use app::features::auth::refusals::request_object;
use app::features::auth::session::{Caller, ClientInfo, check, resolve};
use app::state::AppState;
use app::store::AuditEvent;

use super::api_errors::json_error;

#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub origins: Arc<OriginPolicy>,
}

/// Which origins may change state.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    /// Extra origins (besides the one the request was sent to) whose POSTs are accepted.
    pub allowed: Vec<String>,
    /// Served over TLS (`http.secure_cookies`): an `http://` origin is not ours.
    pub require_https: bool,
    /// Listening on loopback only: the Host must be a loopback name too, so a page that
    /// rebinds its own DNS name to 127.0.0.1 is not taken for pgpanel.
    pub loopback_only: bool,
    /// Host names (`host` or `host:port`, lower case) accepted besides IP addresses and
    /// loopback names: `http.allowed_hosts` and the hosts of `http.allowed_origins`.
    pub hosts: Vec<String>,
}

/// Whether a request's Host may be answered. A browser page can reach pgpanel under a name of
/// its own (DNS rebinding); such a name is not in the list. IP addresses and loopback names
/// cannot be rebound by a foreign page and are always accepted.
pub fn host_allowed(authority: &str, policy: &OriginPolicy) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    is_loopback_host(authority)
        || host.parse::<std::net::Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
        || policy
            .hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(authority) || h.eq_ignore_ascii_case(host))
}

fn is_loopback_host(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
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

const SEC_FETCH_SITE: axum::http::HeaderName =
    axum::http::HeaderName::from_static("sec-fetch-site");

/// `scheme://authority` → authority, for an Origin or a Referer.
fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// Whether a state-changing request comes from pgpanel's own pages. `authority` is the Host
/// the request was sent to (the Host header, or the request line's authority). An Origin is
/// compared exactly (`scheme://host[:port]`, nothing after it); a Referer by its authority.
pub fn check_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    policy: &OriginPolicy,
) -> Result<(), &'static str> {
    let host = authority.ok_or("the request names no host")?;
    let scheme_ok = |url: &str| {
        url.starts_with("https://") || !policy.require_https && url.starts_with("http://")
    };
    let host_ok = !policy.loopback_only || is_loopback_host(host);
    let origin_ok = |origin: &str| {
        policy
            .allowed
            .iter()
            .any(|o| origin.eq_ignore_ascii_case(o))
            || scheme_ok(origin)
                && host_ok
                && origin
                    .split_once("://")
                    .is_some_and(|(_, a)| a.eq_ignore_ascii_case(host))
    };
    let referer_ok = |url: &str| {
        let allowed = policy.allowed.iter().any(|o| {
            url.get(..o.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(o))
                && url[o.len()..].starts_with('/')
        });
        allowed
            || scheme_ok(url)
                && host_ok
                && authority_of(url).is_some_and(|a| a.eq_ignore_ascii_case(host))
    };
    // The presence of an Origin decides, even when it cannot be read.
    if let Some(origin) = headers.get(ORIGIN) {
        return match origin.to_str() {
            Ok(o) if origin_ok(o) => Ok(()),
            _ => Err("its Origin is not pgpanel"),
        };
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(SEC_FETCH_SITE) {
        return if site == "same-origin" && (!policy.loopback_only || is_loopback_host(host)) {
            Ok(())
        } else {
            Err("the browser says it comes from another site (Sec-Fetch-Site)")
        };
    }
    if let Some(referer) = text(REFERER) {
        return if referer_ok(referer) {
            Ok(())
        } else {
            Err("its Referer is not pgpanel")
        };
    }
    Err("it carries no Origin, Sec-Fetch-Site or Referer header")
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

/// Refusals go through the aggregator: a flood costs the store a bounded number of rows.
async fn audit(state: &AppState, event: AuditEvent) {
    state.auth.refusals.record(&state.store, event).await;
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
        .object(request_object(req.method().as_str(), req.uri().path()))
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
            if forget_cookie && let Ok(v) = HeaderValue::from_str(&settings.clear_cookie()) {
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
        let open = OriginPolicy::default();
        let check = |pairs: &[(&str, &str)], policy: &OriginPolicy| {
            let h = headers(pairs);
            let host = h
                .get("host")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            check_origin(&h, host.as_deref(), policy).is_ok()
        };
        let ok = |pairs: &[(&str, &str)]| check(pairs, &open);
        let host = ("host", "pgpanel.local:3000");
        assert!(ok(&[host, ("origin", "http://pgpanel.local:3000")]));
        assert!(ok(&[host, ("origin", "https://PGPANEL.local:3000")]));
        assert!(!ok(&[host, ("origin", "http://evil.example")]));
        assert!(!ok(&[
            host,
            ("origin", "http://pgpanel.local:3000.evil.example")
        ]));
        assert!(!ok(&[host, ("origin", "ftp://pgpanel.local:3000")]));
        assert!(!ok(&[host, ("origin", "null")]));
        // An Origin is scheme://host[:port] exactly: no path, no trailing slash.
        assert!(!ok(&[host, ("origin", "http://pgpanel.local:3000/")]));
        assert!(!ok(&[host, ("origin", "http://pgpanel.local:3000/users")]));
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

        // An unreadable Origin is still an Origin: no falling back to Sec-Fetch-Site.
        let mut h = headers(&[host, ("sec-fetch-site", "same-origin")]);
        h.insert(
            ORIGIN,
            HeaderValue::from_bytes(b"http://\xffevil").expect("bytes"),
        );
        assert!(check_origin(&h, Some("pgpanel.local:3000"), &open).is_err());

        let tls = OriginPolicy {
            require_https: true,
            ..OriginPolicy::default()
        };
        assert!(check(
            &[host, ("origin", "https://pgpanel.local:3000")],
            &tls
        ));
        assert!(!check(
            &[host, ("origin", "http://pgpanel.local:3000")],
            &tls
        ));

        // Loopback listener: a rebound name is not pgpanel, even when Host and Origin agree.
        let local = OriginPolicy {
            loopback_only: true,
            ..OriginPolicy::default()
        };
        assert!(check(
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ],
            &local
        ));
        assert!(check(
            &[
                ("host", "localhost:3000"),
                ("origin", "http://localhost:3000")
            ],
            &local
        ));
        assert!(check(
            &[("host", "[::1]:3000"), ("origin", "http://[::1]:3000")],
            &local
        ));
        assert!(!check(
            &[
                ("host", "evil.example:3000"),
                ("origin", "http://evil.example:3000")
            ],
            &local
        ));
        assert!(!check(
            &[
                ("host", "evil.example:3000"),
                ("sec-fetch-site", "same-origin")
            ],
            &local
        ));

        let allowed = OriginPolicy {
            allowed: vec!["https://dash.example.com".to_owned()],
            loopback_only: true,
            ..OriginPolicy::default()
        };
        assert!(check(
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://dash.example.com")
            ],
            &allowed
        ));
        assert!(!check(
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://dash.example.com.evil")
            ],
            &allowed
        ));
    }

    #[test]
    fn hosts() {
        let p = OriginPolicy {
            hosts: vec!["pgpanel.example.com".to_owned()],
            ..OriginPolicy::default()
        };
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
            "10.1.2.3:3000",
            "[fd00::1]",
            "pgpanel.example.com",
            "PGPANEL.example.com:443",
        ] {
            assert!(host_allowed(ok, &p), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:3000",
            "pgpanel.example.com.evil",
        ] {
            assert!(!host_allowed(bad, &p), "{bad}");
        }
    }

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
