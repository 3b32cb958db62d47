//! A small "Copy" button next to SQL, pids and queries.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    #[prop(into)] text: String,
    /// The accessible name ("Copy pid 951"); "Copy" when absent.
    #[prop(optional, into)]
    label: Option<String>,
    /// A smaller button for table cells.
    #[prop(optional)]
    compact: bool,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    view! {
        <button
            type="button"
            class=if compact { "copy-button compact" } else { "copy-button" }
            title="Copy to clipboard"
            aria-label=label
            on:click=move |_| {
                copied.set(Some(write_clipboard(&text)));
                set_timeout(move || copied.set(None), std::time::Duration::from_millis(1500));
            }
        >
            {move || match copied.get() { Some(true) => "Copied", Some(false) => "Not copied", None => "Copy" }}
        </button>
    }
}

/// Puts `text` on the clipboard; false where there is none (the server, an old browser).
pub fn write_clipboard(text: &str) -> bool {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let _ = window().navigator().clipboard().write_text(text);
        true
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    {
        let _ = text;
        false
    }
}
