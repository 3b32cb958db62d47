//! Light, dark or follow-the-system. The choice lives in a plain preference cookie so the server
//! renders the right theme on the first paint (no flash), and the browser switches it instantly.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const COOKIE: &str = "pgpanel_theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    Auto,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::Auto,
        }
    }

    fn next(self) -> Self {
        match self {
            Self::Auto => Self::Dark,
            Self::Dark => Self::Light,
            Self::Light => Self::Auto,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Auto => "Theme: system",
            Self::Light => "Theme: light",
            Self::Dark => "Theme: dark",
        }
    }

    /// Finds the theme in a `Cookie` header value.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == COOKIE)
            .map(|(_, v)| Self::parse(v))
            .unwrap_or(Self::Auto)
    }
}

/// The theme the page starts with, from the request's cookie (the frame hands it to the browser).
#[cfg(feature = "ssr")]
pub fn initial_theme() -> Theme {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .map(Theme::from_cookie_header)
        })
        .unwrap_or(Theme::Auto)
}

/// Applies `theme` to the document (its root element carries it, as the server rendered it) and
/// keeps it in the preference cookie.
fn remember(theme: Theme) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme.as_str());
        }
        if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
            let _ = doc.set_cookie(&format!(
                "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict",
                theme.as_str()
            ));
        }
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = theme;
}

#[component]
pub fn ThemeToggle(theme: RwSignal<Theme>) -> impl IntoView {
    view! {
        <button
            type="button"
            class="icon-button theme-toggle"
            data-testid="theme-toggle"
            title=move || format!("{} (click to change)", theme.get().label())
            aria-label=move || theme.get().label()
            on:click=move |_| {
                let next = theme.get_untracked().next();
                theme.set(next);
                remember(next);
            }
        >
            <span class="theme-icon" aria-hidden="true">
                {move || match theme.get() {
                    Theme::Auto => "◐",
                    Theme::Light => "☀",
                    Theme::Dark => "☾",
                }}
            </span>
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_is_parsed() {
        assert_eq!(
            Theme::from_cookie_header("a=b; pgpanel_theme=dark"),
            Theme::Dark
        );
        assert_eq!(
            Theme::from_cookie_header("pgpanel_theme=light"),
            Theme::Light
        );
        assert_eq!(
            Theme::from_cookie_header("pgpanel_theme=<script>"),
            Theme::Auto
        );
        assert_eq!(Theme::from_cookie_header(""), Theme::Auto);
    }

    #[test]
    fn toggle_cycles_through_all_three() {
        assert_eq!(Theme::Auto.next().next().next(), Theme::Auto);
    }
}
