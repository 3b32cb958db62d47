//! The Content-Security-Policy of HTML pages. Leptos puts a fresh nonce on each response's inline
//! hydration scripts; the policy allows exactly those, our own files, and WebAssembly compilation.
//! No 'unsafe-inline', no 'unsafe-eval'.

use leptos::prelude::*;

/// The policy for a page whose inline scripts carry `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for every other response (JSON, files): nothing may run or embed it.
pub const DEFAULT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Called while rendering the page shell: sets the response's CSP to match this render's nonce.
pub fn set_page_policy() {
    let Some(nonce) = leptos::nonce::use_nonce() else {
        return;
    };
    if let (Some(res), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::HeaderValue::from_str(&page_policy(&nonce)),
    ) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
