//! `GET /api/logs/export`, `/api/audit/export`, `/api/app-audit/export`: a filtered view as a
//! CSV or JSON-lines download. Each feature checks the caller's role and the filters and returns
//! the rows as a stream; this answers with it as an attachment. A failure after the first byte
//! ends the connection without the last chunk, so a cut file never looks complete.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use app::error::AppError;
use app::export::Download;
use app::features::auth::context::Caller;
use app::state::AppState;

use super::api_errors::json_error;

fn respond(result: Result<Download, AppError>) -> Response {
    let d = match result {
        Ok(d) => d,
        Err(e) => return json_error(&e),
    };
    let body = Body::from_stream(d.body.map(|chunk| {
        chunk.map_err(|e| {
            tracing::warn!(error = %e, "an export stopped");
            std::io::Error::other(e.to_string())
        })
    }));
    let disposition = format!("attachment; filename=\"{}\"", d.filename);
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(d.format.content_type()),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

fn caller(req: &Request) -> Option<Caller> {
    req.extensions().get::<Caller>().cloned()
}

pub async fn logs(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let caller = caller(&req);
    respond(app::features::logs::export::download(state, caller.as_ref(), &params).await)
}

pub async fn audit(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let caller = caller(&req);
    respond(app::features::audit::export::download(state, caller.as_ref(), &params).await)
}

pub async fn app_audit(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let caller = caller(&req);
    respond(app::features::app_audit::export::download(state, caller.as_ref(), &params).await)
}
