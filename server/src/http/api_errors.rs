//! Gives every `/api/…` error its contract status and a JSON body: server functions answer errors
//! with 500 by default, so the `kind` in the body decides the real status here, in one place that
//! also covers argument-parsing errors and unknown paths or methods.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

/// Header server_fn puts on error responses.
const SERVER_FN_ERROR: &str = "serverfnerror";
const MAX_ERROR_BODY: usize = 64 * 1024;

pub fn json_error(error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string(error).unwrap_or_else(|_| "{\"kind\":\"internal\"}".into());
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub async fn map_api_errors(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let res = next.run(req).await;
    if res.status() == StatusCode::METHOD_NOT_ALLOWED {
        let allow = res.headers().get(header::ALLOW).cloned();
        let mut out = json_error(&AppError::MethodNotAllowed {
            message: format!("This endpoint does not accept {method}."),
        });
        if let Some(allow) = allow {
            out.headers_mut().insert(header::ALLOW, allow);
        }
        return out;
    }
    if !res.headers().contains_key(SERVER_FN_ERROR) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    let error = serde_json::from_slice::<AppError>(&bytes).unwrap_or_else(|_| {
        AppError::internal(
            "answering an API call",
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(500)
                .collect::<String>(),
        )
    });
    parts.status =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    if let AppError::RateLimited { retry_after_s, .. } = &error {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
    }
    let body = serde_json::to_vec(&error).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

/// `/api/…` paths that name no endpoint.
pub async fn unknown_endpoint(req: Request) -> Response {
    json_error(&AppError::not_found(format!(
        "There is no API endpoint at {}.",
        req.uri().path()
    )))
}
