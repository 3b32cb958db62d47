//! The axum router: pages (server-rendered, then hydrated), server functions under /api, health
//! probes, static files, and the middleware every response passes through.

pub mod api_errors;
pub mod assets;
pub mod body;
pub mod client;
pub mod conn;
pub mod export;
pub mod guard;
pub mod headers;
pub mod health;
pub mod live;
pub mod origin;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::Uri;
use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use app::features::auth::policy;
use app::state::AppState;
use pgpanel_islands::{App, shell};

/// What the router needs besides the state: who may send changes, body limits, and whether query
/// strings are logged.
#[derive(Clone, Debug)]
pub struct RouterOptions {
    pub origins: origin::OriginPolicy,
    pub bodies: body::BodyLimits,
    pub log_query_strings: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`http.trusted_proxies`).
    pub proxies: client::TrustedProxies,
}

/// Characters of a request's path the log keeps, as many as its audit row keeps (a 16 KB path
/// from a flood must not write 16 KB per line); the query string, when asked for, is cut at ten
/// times that.
const LOGGED_PATH_CHARS: usize = app::features::auth::refusals::MAX_PATH_CHARS;

/// `s` cut to `n` characters, saying how long it was when it is cut.
fn logged(s: &str, n: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(n) {
        None => s.into(),
        Some((at, _)) => format!("{}… ({} bytes)", &s[..at], s.len()).into(),
    }
}

/// The log's span for a request: its method and path (cut to 200 characters); the query string
/// only when `http.log_query_strings` asks (a secret wrongly put in a URL must not reach the log).
pub fn request_span(req: &axum::http::Request<axum::body::Body>, log_query: bool) -> tracing::Span {
    let uri = req.uri();
    if log_query {
        let uri = uri.to_string();
        tracing::info_span!("request", method = %req.method(), uri = %logged(&uri, 10 * LOGGED_PATH_CHARS))
    } else {
        tracing::info_span!("request", method = %req.method(), path = %logged(uri.path(), LOGGED_PATH_CHARS))
    }
}

/// The whole application. Refuses (returning the paths) when a server function or a page has no
/// rule in the access policy: deny by default means such a route must not exist.
pub fn router(state: AppState, options: RouterOptions) -> Result<Router, Vec<String>> {
    let routes = generate_route_list(App);
    let server_fns: Vec<&'static str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path)
        .collect();
    let missing = policy::missing_rules(server_fns, routes.iter().map(|r| r.path()));
    if !missing.is_empty() {
        return Err(missing);
    }
    let guard = guard::Guard {
        state: state.clone(),
        origins: Arc::new(options.origins),
        proxies: Arc::new(options.proxies),
    };
    let log_query = options.log_query_strings;
    let span = move |req: &axum::http::Request<axum::body::Body>| request_span(req, log_query);
    let site_root = state.leptos_options.site_root.as_ref();
    let assets = Arc::new(assets::Assets::read(
        &std::path::Path::new(site_root).join(state.leptos_options.site_pkg_dir.as_ref()),
    ));
    if !assets.missing().is_empty() {
        tracing::warn!(
            site_root,
            bundles = %assets.missing().join(", "),
            "pages' wasm missing from the site folder: those pages render but do not hydrate (build with `.ci/build-front`)"
        );
    }
    let context = {
        let state = state.clone();
        let names = assets.names().clone();
        move || {
            provide_context(state.clone());
            provide_context(names.clone());
        }
    };
    let page = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Ok(Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/live", get(live::live))
        .route(
            "/pkg/{file}",
            get({
                let assets = assets.clone();
                move |State(state): State<AppState>, Path(file): Path<String>, req: Request| {
                    let assets = assets.clone();
                    async move { assets::pkg(state, &assets, file, req).await }
                }
            }),
        )
        .route("/api/logs/export", get(export::logs))
        .route("/api/audit/export", get(export::audit))
        .route("/api/app-audit/export", get(export::app_audit))
        .leptos_routes_with_context(&state, routes, context.clone(), page)
        .route("/api/{*rest}", any(api_errors::unknown_endpoint))
        .fallback({
            let leptos = file_and_error_handler_with_context::<AppState, _>(context, shell);
            move |uri: Uri, State(state): State<AppState>, req: Request| {
                let leptos = leptos.clone();
                async move { assets::site_file_or(state, uri, req, leptos).await }
            }
        })
        .layer(from_fn_with_state(options.bodies, body::limit_bodies))
        .layer(from_fn_with_state(guard, guard::guard))
        .layer(from_fn(api_errors::map_api_errors))
        .layer(from_fn(headers::security_headers))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::http::Request;

    use super::{logged, request_span};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log_of(uri: &str, log_query: bool) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let req = Request::get(uri).body(Body::empty()).unwrap_or_default();
            let span = request_span(&req, log_query);
            let _in = span.enter();
            tracing::info!("answered");
        });
        let bytes = out.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The probe's F10: a password put in a GET query string does not reach the log.
    #[test]
    fn query_strings_stay_out_of_the_log_unless_asked() {
        let uri = "/api/users/create?username=x&password=pwnpwnpwnpwn1";
        let text = log_of(uri, false);
        assert!(text.contains("/api/users/create"), "{text}");
        assert!(!text.contains("pwnpwn"), "{text}");
        assert!(log_of(uri, true).contains("pwnpwn"));
    }

    /// The probe's F1 in the log: a flood of 16 KB paths writes lines of a few hundred bytes.
    #[test]
    fn long_paths_are_cut_in_the_log() {
        let uri = format!("/api/{}", "a".repeat(16 * 1024));
        let text = log_of(&uri, false);
        assert!(text.len() < 600, "{} bytes: {text}", text.len());
        assert!(text.contains(&format!("… ({} bytes)", uri.len())), "{text}");
        let uri = format!("/api/x?{}", "q".repeat(16 * 1024));
        assert!(log_of(&uri, true).len() < 2_500);
        assert_eq!(logged("/api/ü", 6), "/api/ü");
        assert_eq!(logged("/api/üü", 6), "/api/ü… (9 bytes)");
    }
}
