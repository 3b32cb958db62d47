//! Actions: what a DBA does through pgpanel to a target. Each runs on the target's action login
//! (never the monitor login), is checked for role on the server, refused when the guard says so,
//! and audited before (intent, failing closed) and after (outcome).
//!
//! Built so far: cancel and terminate a session (`session.rs`), with buttons on the Locks and
//! Activity pages (`buttons.rs`).

pub mod api;
pub mod buttons;
pub mod model;

#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod session;
