//! The axum router: pages (server-rendered, then hydrated), server functions under /api, health
//! probes, static files, and the middleware every response passes through.

pub mod api_errors;
pub mod guard;
pub mod headers;
pub mod health;
pub mod live;

use axum::Router;
use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use app::features::auth::policy;
use app::state::AppState;
use app::{App, shell};

/// The whole application. Refuses (returning the paths) when a server function or a page has no
/// rule in the access policy: deny by default means such a route must not exist.
pub fn router(state: AppState, origins: guard::OriginPolicy) -> Result<Router, Vec<String>> {
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
        origins: Arc::new(origins),
    };
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let page = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    Ok(Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/live", get(live::live))
        .leptos_routes_with_context(&state, routes, context.clone(), page)
        .route("/api/{*rest}", any(api_errors::unknown_endpoint))
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .layer(from_fn_with_state(guard, guard::guard))
        .layer(from_fn(api_errors::map_api_errors))
        .layer(from_fn(headers::security_headers))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state))
}
