//! A page's data, loaded on the server while it renders the page and handed to the browser inside
//! it (a resource inside an island is written into the page), for pages whose data the browser
//! never asks for again: their source is the request's query, which does not change in the
//! browser (a new filter or target is a new page load). The browser's copy leaves the loading
//! code out, so the page's wasm does not carry it (docs/ARCHITECTURE.md §11).

use std::future::Future;

use leptos::prelude::*;
use serde::{Serialize, de::DeserializeOwned};

pub fn page_data<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    {
        Resource::new(source, fetcher)
    }
    #[cfg(not(feature = "ssr"))]
    {
        drop(fetcher);
        Resource::new(source, |_| std::future::pending())
    }
}
