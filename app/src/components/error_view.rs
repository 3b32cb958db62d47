//! Shows an AppError as a calm, readable box. The message is text, never HTML.

use leptos::prelude::*;

use crate::error::AppError;

#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    let title = match &error {
        AppError::Validation { .. } => "Invalid request",
        AppError::Unauthorized { .. } => "Please sign in",
        AppError::Forbidden { .. } => "Not allowed",
        AppError::NotFound { .. } => "Not found",
        AppError::MethodNotAllowed { .. } => "Not allowed",
        AppError::Conflict { .. } => "Conflict",
        AppError::RequestTimeout { .. } => "Request too slow",
        AppError::TooLarge { .. } => "Request too large",
        AppError::UnsupportedMediaType { .. } => "Invalid request",
        AppError::RateLimited { .. } => "Too many attempts",
        AppError::Unavailable { .. } | AppError::TargetUnavailable { .. } => "Unavailable",
        AppError::Timeout { .. } => "Timed out",
        AppError::Internal { .. } => "Something went wrong",
    };
    view! {
        <div class="error-box" role="alert" data-kind=error.kind()>
            <strong>{title}</strong>
            <p>{error.to_string()}</p>
        </div>
    }
}
