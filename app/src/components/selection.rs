//! Whether the reader is selecting text in a part of the page (so live updates can keep still).

use leptos::prelude::*;

/// True while the page's text selection is not empty and starts inside the element with this
/// `data-testid` (browser only; always false on the server).
pub fn selection_inside(testid: &'static str) -> RwSignal<bool> {
    let inside = RwSignal::new(false);
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    Effect::new(move |_| {
        use leptos::__reexports::send_wrapper::SendWrapper;
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        let check = move |_: web_sys::Event| {
            let now = document()
                .get_selection()
                .ok()
                .flatten()
                .filter(|s| !s.is_collapsed())
                .and_then(|s| s.anchor_node())
                .and_then(|n| match n.dyn_into::<web_sys::Element>() {
                    Ok(e) => Some(e),
                    Err(n) => n.parent_element(),
                })
                .and_then(|e| {
                    e.closest(&format!("[data-testid=\"{testid}\"]"))
                        .ok()
                        .flatten()
                })
                .is_some();
            if inside.get_untracked() != now {
                inside.set(now);
            }
        };
        let cb = Closure::<dyn Fn(web_sys::Event)>::new(check);
        let doc = document();
        let _ =
            doc.add_event_listener_with_callback("selectionchange", cb.as_ref().unchecked_ref());
        let held = SendWrapper::new(cb);
        on_cleanup(move || {
            let cb = held.take();
            let _ = document().remove_event_listener_with_callback(
                "selectionchange",
                cb.as_ref().unchecked_ref(),
            );
        });
    });
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = testid;
    inside
}
