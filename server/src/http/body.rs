//! Request bodies, read before any handler sees them: at most `http.max_body_bytes` (else 413,
//! also when a Content-Length announces more), within `http.body_timeout_secs` (else 408), and,
//! for the API's server functions, only the form encoding they read (else 415), in UTF-8 (else
//! 400). The errors are the API's JSON errors; nothing internal is shown.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;

use app::error::AppError;

use super::api_errors::json_error;

#[derive(Clone, Debug)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub timeout: Duration,
}

/// What pgpanel's server functions read: `application/x-www-form-urlencoded`, UTF-8.
fn is_form(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let media_ok = parts
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    media_ok
        && parts.all(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("charset")
                    && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            })
        })
}

/// Whether every name and value of a form decodes to UTF-8.
pub fn form_is_utf8(body: &[u8]) -> bool {
    body.split(|b| *b == b'&').all(|pair| {
        pair.split(|b| *b == b'=').all(|part| {
            let mut out = Vec::with_capacity(part.len());
            let mut i = 0;
            while i < part.len() {
                match part[i] {
                    b'%' if i + 2 < part.len() => {
                        let hex = std::str::from_utf8(&part[i + 1..i + 3]).ok();
                        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            Some(b) => out.push(b),
                            None => return false,
                        }
                        i += 3;
                    }
                    b'%' => return false,
                    b'+' => {
                        out.push(b' ');
                        i += 1;
                    }
                    b => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            std::str::from_utf8(&out).is_ok()
        })
    })
}

fn too_large(max: usize) -> Response {
    json_error(&AppError::TooLarge {
        message: format!("The request body is larger than pgpanel accepts ({max} bytes)."),
    })
}

pub async fn limit_bodies(State(limits): State<BodyLimits>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return too_large(limits.max_bytes);
    }
    let has_body = declared.map_or(parts.headers.contains_key(TRANSFER_ENCODING), |n| n > 0);
    let server_fn_post = parts.method == Method::POST && parts.uri.path().starts_with("/api/");
    if server_fn_post && !is_form(&parts.headers) && has_body {
        return json_error(&AppError::UnsupportedMediaType {
            message: "pgpanel's API reads forms: send application/x-www-form-urlencoded \
                      (UTF-8)."
                .into(),
        });
    }
    if !has_body {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let read = async {
        let mut body = body;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Err(AppError::validation("The request body could not be read."));
            };
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limits.max_bytes {
                    return Err(AppError::TooLarge {
                        message: format!(
                            "The request body is larger than pgpanel accepts ({} bytes).",
                            limits.max_bytes
                        ),
                    });
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buf))
    };
    let bytes = match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return json_error(&e),
        Err(_) => {
            return json_error(&AppError::RequestTimeout {
                message: format!(
                    "The request body did not arrive within {} s.",
                    limits.timeout.as_secs()
                ),
            });
        }
    };
    if server_fn_post && !form_is_utf8(&bytes) {
        return json_error(&AppError::validation(
            "The form is not valid UTF-8 (or holds a malformed %-escape).",
        ));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_only() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(CONTENT_TYPE, v.parse().expect("value"));
            m
        };
        assert!(is_form(&h("application/x-www-form-urlencoded")));
        assert!(is_form(&h(
            "application/x-www-form-urlencoded; charset=UTF-8"
        )));
        assert!(!is_form(&h(
            "application/x-www-form-urlencoded; charset=utf-16"
        )));
        assert!(!is_form(&h("text/plain")));
        assert!(!is_form(&h("multipart/form-data; boundary=x")));
        assert!(!is_form(&h("application/cbor")));
        assert!(!is_form(&HeaderMap::new()));
    }

    #[test]
    fn utf8_forms() {
        assert!(form_is_utf8(b"username=j%C3%BCrgen&password=a+b"));
        assert!(form_is_utf8(b""));
        assert!(form_is_utf8("name=jürgen".as_bytes()));
        assert!(!form_is_utf8(b"username=\xff\xfe\xfd"));
        assert!(!form_is_utf8(b"username=%ff%fe"));
        assert!(!form_is_utf8(b"username=%zz"));
        assert!(!form_is_utf8(b"username=%f"));
    }
}
