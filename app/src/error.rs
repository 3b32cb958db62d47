//! The one error type shared by browser and server. Server functions return it; its JSON form is
//! the API's error body (`{"kind": "...", "message": "..."}`) and its kind decides the HTTP status.

use crate::codec::JsonText;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// Bad input: malformed id, value outside the allowed set, missing field.
    #[error("{message}")]
    Validation { message: String },
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    MethodNotAllowed { message: String },
    #[error("{message}")]
    Conflict { message: String },
    /// The client took too long to send its request (408).
    #[error("{message}")]
    RequestTimeout { message: String },
    /// The request body is larger than pgpanel accepts (413).
    #[error("{message}")]
    TooLarge { message: String },
    /// The request body is not of a type this endpoint reads (415).
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// Too many failed sign-ins: try again after `retry_after_s` seconds.
    #[error("{message}")]
    RateLimited { message: String, retry_after_s: u64 },
    /// pgpanel's own store (or its password hashing capacity) is not available right now.
    #[error("{message}")]
    Unavailable { message: String },
    #[error("{message}")]
    TargetUnavailable { message: String },
    #[error("{message}")]
    Timeout { message: String },
    /// Something went wrong inside pgpanel. The detail is in the server log under `reference`;
    /// the browser only ever sees the reference.
    #[error("{message} (reference {reference})")]
    Internal { message: String, reference: String },
}

/// An optional parameter from a fixed set: absent or empty gives `default`, anything unknown a
/// 400 naming the allowed values.
pub fn choice<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    default: T,
    allowed: &str,
) -> Result<T, AppError> {
    match value {
        None | Some("") => Ok(default),
        Some(v) => parse(v)
            .ok_or_else(|| AppError::validation(format!("{name} must be one of {allowed}."))),
    }
}

/// A yes/no form field: absent or empty is `default`; anything but true/false/on/off is a 400.
pub fn flag(name: &str, value: Option<&str>, default: bool) -> Result<bool, AppError> {
    choice(
        name,
        value.map(str::trim),
        |v| match v {
            "true" | "on" => Some(true),
            "false" | "off" => Some(false),
            _ => None,
        },
        default,
        "true, false",
    )
}

/// The longest free-text query parameter (a filter, a name) accepted.
#[cfg(feature = "ssr")]
const MAX_PARAM_TEXT: usize = 200;

/// An optional free-text parameter: absent or blank is None, trimmed; longer than 200
/// characters is a 400.
#[cfg(feature = "ssr")]
pub fn text(name: &str, v: Option<String>) -> Result<Option<String>, AppError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_PARAM_TEXT => Err(AppError::validation(format!(
            "{name} may be at most {MAX_PARAM_TEXT} characters."
        ))),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

/// An optional RFC 3339 time parameter, as Unix milliseconds; anything else is a 400.
#[cfg(feature = "ssr")]
pub fn moment(name: &str, v: Option<String>) -> Result<Option<i64>, AppError> {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let Some(t) = text(name, v)? else {
        return Ok(None);
    };
    let at = OffsetDateTime::parse(&t, &Rfc3339).map_err(|_| {
        AppError::validation(format!(
            "{name} must be an RFC 3339 time such as 2026-11-24T09:30:00Z."
        ))
    })?;
    Ok(Some((at.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// An optional whole-number parameter within `min..=max`; anything else is a 400 naming the range.
#[cfg(feature = "ssr")]
pub fn number(name: &str, v: Option<String>, min: i64, max: i64) -> Result<Option<i64>, AppError> {
    match text(name, v)? {
        None => Ok(None),
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| {
                AppError::validation(format!(
                    "{name} must be a whole number from {min} to {max}."
                ))
            }),
    }
}

impl AppError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized {
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation { .. } => 400,
            Self::Unauthorized { .. } => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Conflict { .. } => 409,
            Self::RequestTimeout { .. } => 408,
            Self::TooLarge { .. } => 413,
            Self::UnsupportedMediaType { .. } => 415,
            Self::RateLimited { .. } => 429,
            Self::Unavailable { .. } => 503,
            Self::TargetUnavailable { .. } => 503,
            Self::Timeout { .. } => 504,
            Self::Internal { .. } => 500,
        }
    }

    /// The machine-readable kind, as in the JSON body.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "validation",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Conflict { .. } => "conflict",
            Self::RequestTimeout { .. } => "request_timeout",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable { .. } => "unavailable",
            Self::TargetUnavailable { .. } => "target_unavailable",
            Self::Timeout { .. } => "timeout",
            Self::Internal { .. } => "internal",
        }
    }

    /// Logs `detail` on the server and returns an error that carries only an opaque reference.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, detail: impl std::fmt::Display) -> Self {
        use rand::Rng;
        let reference = format!("{:08x}", rand::thread_rng().r#gen::<u32>());
        tracing::error!(reference = %reference, "{context}: {detail}");
        Self::Internal {
            message: format!("Internal error while {context}"),
            reference,
        }
    }
}

/// During server rendering, answers the page with the error's HTTP status (a no-op in the browser).
pub fn set_response_status(error: &AppError) {
    #[cfg(feature = "ssr")]
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(
            http::StatusCode::from_u16(error.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
    }
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}

impl FromServerFnError for AppError {
    type Encoder = JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) => Self::validation(format!("Invalid parameters: {m}")),
            ServerFnErrorErr::MissingArg(m) => Self::validation(format!("Missing parameter: {m}")),
            // The arguments could not be read (not a form, not UTF-8): the caller's mistake, told
            // without the decoder's internals.
            ServerFnErrorErr::Deserialization(m) => {
                #[cfg(feature = "ssr")]
                tracing::info!(detail = %m, "unreadable server function arguments");
                #[cfg(not(feature = "ssr"))]
                let _ = m;
                Self::validation("The request body could not be read as a form.")
            }
            // The browser could not reach pgpanel (not a target being down).
            ServerFnErrorErr::Request(m) => Self::Unavailable {
                message: format!("Could not reach pgpanel: {m}"),
            },
            other => Self::Internal {
                message: other.to_string(),
                reference: "-".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_is_kind_and_message() {
        let e = AppError::not_found("unknown target \"x\"");
        let json = serde_json::to_string(&e).expect("serialize");
        assert_eq!(
            json,
            r#"{"kind":"not_found","message":"unknown target \"x\""}"#
        );
        let back: AppError = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, e);
        assert_eq!(back.status(), 404);
    }

    #[test]
    fn choices_default_when_absent_and_refuse_unknown_values() {
        let parse = |s: &str| ["a", "b"].contains(&s).then(|| s.to_owned());
        assert_eq!(
            choice("x", None, parse, "a".into(), "a, b").ok(),
            Some("a".into())
        );
        assert_eq!(
            choice("x", Some(""), parse, "a".into(), "a, b").ok(),
            Some("a".into())
        );
        assert_eq!(
            choice("x", Some("b"), parse, "a".into(), "a, b").ok(),
            Some("b".into())
        );
        let err = choice("x", Some("c"), parse, "a".into(), "a, b").unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.to_string(), "x must be one of a, b.");
    }

    #[test]
    fn argument_errors_are_bad_requests() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into()));
        assert_eq!(e.status(), 400);
        assert_eq!(e.kind(), "validation");
    }
}
