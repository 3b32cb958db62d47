//! The audit trail through pgpanel: every action, refusal and sign-in, filtered and paged
//! (`GET /api/audit`, the Audit page), and the one recorder every feature writes it with
//! (`recorder.rs`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod export;
pub mod model;
pub mod page;

#[cfg(feature = "ssr")]
pub mod recorder;
