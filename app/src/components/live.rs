//! The browser's end of `GET /live`: ONE EventSource per tab, owned by the frame around every page
//! (`LiveBus`), for the target the tab shows. Pages and widgets register the topics they follow
//! with `subscribe`; the stream is reopened only when the set of topics or the target changes
//! (never when a page re-renders and registers the same topics again). Frames arrive as JSON and
//! are handed to every handler of their topic; the server never sends HTML. EventSource reconnects
//! by itself after a network error; the server then starts again with the latest frame of each
//! topic, so handlers must accept a frame they have seen.
//!
//! One stream per tab matters: browsers allow six HTTP/1.1 connections per host, and a second
//! stream per tab would leave two tabs with almost none for requests.

use std::sync::Arc;

use leptos::prelude::*;

/// Whether frames are arriving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    Connecting,
    Open,
    /// Lost; the browser retries on its own (or, after a 401, does not: the page says so).
    Lost,
}

impl StreamState {
    /// CSS suffix and the words shown.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            StreamState::Connecting => ("connecting", "connecting…"),
            StreamState::Open => ("open", "live"),
            StreamState::Lost => ("lost", "stream lost, retrying"),
        }
    }
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

/// Send + Sync: during server rendering the owner that holds them may be dropped on another
/// thread (a `LocalStorage` value would panic there).
type Handler = Arc<dyn Fn(&str, String) + Send + Sync>;

/// The tab's stream: which target, which topics, who listens.
#[derive(Clone, Copy)]
pub struct LiveBus {
    #[cfg_attr(not(all(feature = "hydrate", not(feature = "ssr"))), allow(dead_code))]
    target: Signal<Option<String>>,
    topics: RwSignal<Vec<&'static str>>,
    handlers: StoredValue<Vec<(u64, &'static str, Handler)>>,
    next_id: StoredValue<u64>,
    state: RwSignal<StreamState>,
}

impl LiveBus {
    fn recompute(&self) {
        let mut topics: Vec<&'static str> = self
            .handlers
            .with_value(|hs| hs.iter().map(|h| h.1).collect());
        topics.sort_unstable();
        topics.dedup();
        if self.topics.get_untracked() != topics {
            self.topics.set(topics);
        }
    }

    /// Hands a frame to every handler of its topic (collected first: a handler may register).
    #[cfg_attr(not(all(feature = "hydrate", not(feature = "ssr"))), allow(dead_code))]
    fn dispatch(&self, topic: &str, json: String) {
        let hs: Vec<Handler> = self.handlers.with_value(|hs| {
            hs.iter()
                .filter(|h| h.1 == topic)
                .map(|h| h.2.clone())
                .collect()
        });
        for h in hs {
            h(topic, json.clone());
        }
    }
}

/// Provided once by the frame: the stream follows `target` (the page's target: `?target=` or the
/// first configured one) and the topics registered at the moment.
pub fn provide_live_bus(target: Signal<Option<String>>) -> LiveBus {
    let bus = LiveBus {
        target,
        topics: RwSignal::new(Vec::new()),
        handlers: StoredValue::new(Vec::new()),
        next_id: StoredValue::new(0),
        state: RwSignal::new(StreamState::Connecting),
    };
    provide_context(bus);
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    open_on_change(bus);
    bus
}

/// The state of the tab's stream (Connecting outside a frame).
pub fn stream_state() -> Signal<StreamState> {
    match use_context::<LiveBus>() {
        Some(bus) => bus.state.into(),
        None => Signal::stored(StreamState::Connecting),
    }
}

/// Follows `topics` of the tab's target: `on(topic, json)` for every frame until the calling
/// owner (page, widget) is cleaned up. Does nothing on the server (the first frame is rendered
/// from the hub there); call it from an `Effect` so it runs in the browser only.
pub fn subscribe(topics: &[&'static str], on: impl Fn(&str, String) + Send + Sync + 'static) {
    let Some(bus) = use_context::<LiveBus>() else {
        return;
    };
    let id = bus.next_id.get_value();
    bus.next_id.set_value(id + 1);
    let handler: Handler = Arc::new(on);
    bus.handlers.update_value(|hs| {
        for topic in topics {
            hs.push((id, topic, handler.clone()));
        }
    });
    bus.recompute();
    on_cleanup(move || {
        // The frame may go first (the whole app unmounted): then there is nothing to update.
        if bus
            .handlers
            .try_update_value(|hs| hs.retain(|h| h.0 != id))
            .is_some()
        {
            bus.recompute();
        }
    });
}

/// "live" / "connecting…" / "stream lost, retrying" next to a page title.
#[component]
pub fn StreamBadge() -> impl IntoView {
    let state = stream_state();
    view! {
        <span class=move || format!("stream stream-{}", state.get().label().0) data-testid="stream-state">
            {move || state.get().label().1}
        </span>
    }
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn open_on_change(bus: LiveBus) {
    use leptos::__reexports::send_wrapper::SendWrapper;
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;

    type Open = (web_sys::EventSource, Vec<Closure<dyn Fn(web_sys::Event)>>);
    let current: StoredValue<Option<SendWrapper<Open>>, LocalStorage> =
        StoredValue::new_local(None);
    let close = move || {
        let mut taken = None;
        current.update_value(|c| taken = c.take());
        if let Some(held) = taken {
            let (source, closures) = held.take();
            source.close();
            drop(closures);
        }
    };
    Effect::new(move |prev: Option<Option<(String, Vec<&'static str>)>>| {
        let want = bus
            .target
            .get()
            .filter(|t| !t.is_empty())
            .map(|t| (t, bus.topics.get()))
            .filter(|(_, topics)| !topics.is_empty());
        if prev.as_ref() == Some(&want) {
            return want;
        }
        close();
        let Some((target, topics)) = want.clone() else {
            return want;
        };
        bus.state.set(StreamState::Connecting);
        let url = format!(
            "/live?target={}&topics={}",
            encode(&target),
            topics.join(",")
        );
        let Ok(source) = web_sys::EventSource::new(&url) else {
            bus.state.set(StreamState::Lost);
            return want;
        };
        let mut closures: Vec<Closure<dyn Fn(web_sys::Event)>> = Vec::new();
        for topic in topics.iter().copied() {
            let cb = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
                if let Some(data) = ev
                    .dyn_ref::<web_sys::MessageEvent>()
                    .and_then(|m| m.data().as_string())
                {
                    if bus.state.get_untracked() != StreamState::Open {
                        bus.state.set(StreamState::Open);
                    }
                    bus.dispatch(topic, data);
                }
            });
            let _ = source.add_event_listener_with_callback(topic, cb.as_ref().unchecked_ref());
            closures.push(cb);
        }
        let on_error =
            Closure::<dyn Fn(web_sys::Event)>::new(move |_| bus.state.set(StreamState::Lost));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        closures.push(on_error);
        current.set_value(Some(SendWrapper::new((source, closures))));
        want
    });
    on_cleanup(close);
}
