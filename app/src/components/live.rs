//! The browser's end of `GET /live`: one EventSource per page, closed when the page goes away.
//! Frames arrive as JSON and are handed to the page's callback; the server never sends HTML.
//! EventSource reconnects by itself after a network error; the server then starts again with the
//! latest frame of each topic.

use leptos::prelude::*;

/// Whether frames are arriving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    Connecting,
    Open,
    /// Lost; the browser retries on its own (or, after a 401, does not: the page says so).
    Lost,
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Opens `/live?target=…&topics=…` in the browser and calls `on(topic, json)` for every frame.
/// Does nothing on the server (the first frame is rendered from the hub there).
pub fn subscribe(
    target: &str,
    topics: &[&'static str],
    state: RwSignal<StreamState>,
    on: impl Fn(&str, String) + Clone + 'static,
) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        use leptos::__reexports::send_wrapper::SendWrapper;
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;

        let url = format!(
            "/live?target={}&topics={}",
            encode(target),
            topics.join(",")
        );
        let Ok(source) = web_sys::EventSource::new(&url) else {
            state.set(StreamState::Lost);
            return;
        };
        let mut closures: Vec<Closure<dyn Fn(web_sys::Event)>> = Vec::new();
        for topic in topics.iter().copied() {
            let on = on.clone();
            let cb = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
                if let Some(data) = ev
                    .dyn_ref::<web_sys::MessageEvent>()
                    .and_then(|m| m.data().as_string())
                {
                    state.set(StreamState::Open);
                    on(topic, data);
                }
            });
            let _ = source.add_event_listener_with_callback(topic, cb.as_ref().unchecked_ref());
            closures.push(cb);
        }
        let on_error =
            Closure::<dyn Fn(web_sys::Event)>::new(move |_| state.set(StreamState::Lost));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        closures.push(on_error);
        let held = SendWrapper::new((source, closures));
        on_cleanup(move || {
            let (source, closures) = held.take();
            source.close();
            drop(closures);
        });
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    {
        let _ = (target, topics, state, on);
    }
}
