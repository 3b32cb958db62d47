//! A small "Copy" button next to SQL and shell snippets.

use leptos::prelude::*;

#[component]
pub fn CopyButton(#[prop(into)] text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    view! {
        <button
            type="button"
            class="copy-button"
            title="Copy to clipboard"
            on:click=move |_| {
                copy(&text);
                copied.set(true);
                set_timeout(move || copied.set(false), std::time::Duration::from_millis(1500));
            }
        >
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

fn copy(text: &str) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let _ = window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = text;
}
