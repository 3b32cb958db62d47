//! A confirmation dialog: the browser's own modal `<dialog>` (opened with `showModal()`), so the
//! page behind is inert, Tab stays inside, Escape closes it and screen readers announce it by its
//! title. Rendered next to what opened it; when it goes, focus returns to that control.
//! Destructive confirmations (terminate, drop) carry a red edge.

use leptos::prelude::*;

/// A fresh id for the dialog's title (dialogs are only ever opened in the browser, so SSR and
/// hydration never disagree about it).
fn title_id() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("dialog-title-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[component]
pub fn ConfirmDialog(
    /// The visible heading, which also names the dialog.
    #[prop(into)]
    title: String,
    /// What it confirms ends or destroys something: the red edge.
    #[prop(optional)]
    danger: bool,
    /// Escape, or the browser closing the dialog: the owner drops it.
    on_close: Callback<()>,
    /// The `data-testid` of the dialog element.
    #[prop(optional)]
    testid: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    let id = title_id();
    let labelled_by = id.clone();
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use leptos::wasm_bindgen::JsCast;
        // The control that opened it (focused by the click or the key), for when it closes.
        let opener = send_wrapper::SendWrapper::new(
            document()
                .active_element()
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
        );
        Effect::new(move |_| {
            if let Some(d) = node.get()
                && !d.open()
            {
                let _ = d.show_modal();
            }
        });
        on_cleanup(move || {
            if let Some(el) = opener.take()
                && el.is_connected()
            {
                let _ = el.focus();
            }
        });
    }
    view! {
        <dialog
            node_ref=node
            class=if danger { "confirm-dialog danger" } else { "confirm-dialog" }
            aria-labelledby=labelled_by
            data-testid=testid
            on:close=move |_| on_close.run(())
        >
            <h2 id=id class="dialog-title">{title}</h2>
            {children()}
        </dialog>
    }
}
