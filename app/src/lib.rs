//! pgpanel's product crate: the UI (compiled for the browser with feature `hydrate`) and, behind
//! feature `ssr`, everything the server side of the UI needs: server functions, catalog queries,
//! target monitoring and the store. The throwaway-PostgreSQL harness is its own crate
//! (`harness/`). The app itself — the document, the routes and one island per page — is the
//! `pgpanel-islands` crate (`app/islands`) above this one, so that each page's wasm exports only
//! its own island (docs/ARCHITECTURE.md §11).

#![recursion_limit = "256"]

#[cfg(feature = "ssr")]
pub mod clock;
pub mod codec;
pub mod components;
pub mod error;
#[cfg(feature = "ssr")]
pub mod export;
pub mod features;
pub mod pages;
pub mod sql;

#[cfg(feature = "ssr")]
pub mod security;
pub mod shell;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;
