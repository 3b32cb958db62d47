//! Where the page is, in the browser as on the server. The router runs on the server only (the app
//! is islands, docs/ARCHITECTURE.md §11): the frame hands every page the request's query string
//! ([`use_query`]), and moving elsewhere — another filter, target or page — is a full page load
//! ([`go_to`]), rendered by the server.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

#[derive(Clone, Copy)]
struct PageQuery(StoredValue<ParamsMap>);

/// Provided once by the frame, from the request's query string.
pub fn provide_query(pairs: Vec<(String, String)>) {
    let mut params = ParamsMap::new();
    for (k, v) in pairs {
        params.insert(k, v);
    }
    provide_context(PageQuery(StoredValue::new(params)));
}

/// The query string of the page being shown (an empty one outside a frame).
pub fn use_query() -> Signal<ParamsMap> {
    match use_context::<PageQuery>() {
        Some(PageQuery(q)) => Signal::derive(move || q.get_value()),
        None => Signal::stored(ParamsMap::new()),
    }
}

/// Goes to `url` with a full page load.
pub fn go_to(url: &str) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let _ = window().location().set_href(url);
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = url;
}
