//! Security and caching headers on every response.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub async fn security_headers(req: Request, next: Next) -> Response {
    let static_asset = req.uri().path().starts_with("/pkg/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // HTML pages set their own policy with the render's nonce; everything else gets the strictest.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(app::security::DEFAULT_POLICY));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not "no-referrer": with it, browsers send `Origin: null` on same-origin POSTs, and the
    // forgery check needs the real origin.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    // Pages and API answers show live server state: never cache. Files named by their content's
    // hash set a year's caching themselves (`assets`); other files revalidate.
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(if static_asset {
            "no-cache"
        } else {
            "no-store"
        }));
    res
}
