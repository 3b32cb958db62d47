//! Probes for load balancers and orchestrators. Both are public (no session) and read-only.
//! `/healthz`: the process answers. `/readyz`: the store answers too. A target being down does
//! not make pgpanel unready: showing that is pgpanel's job.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use app::state::AppState;

pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let targets = state.targets.overviews();
    let up = targets.iter().filter(|t| t.status.is_up()).count();
    let store = match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    };
    match store {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "store": "ok",
                "targets_total": targets.len(),
                "targets_up": up,
            })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "not_ready", "store": "unavailable" })),
            )
        }
    }
}
