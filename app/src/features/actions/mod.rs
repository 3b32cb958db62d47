//! Actions: what a DBA does through pgpanel to a target. Each runs on the target's action login
//! (never the monitor login), is checked for role on the server, refused when the guard says so,
//! and audited before (intent, failing closed) and after (outcome).
//!
//! Sessions: cancel and terminate (`session.rs`), with buttons on the Locks and Activity pages
//! (`buttons.rs`), several at once from Activity (`multi.rs`), and every session idle in a
//! transaction open for N minutes (`bulk.rs`, `bulk_view.rs`). Maintenance: VACUUM, ANALYZE and REINDEX on objects resolved in the catalog
//! (`maintenance.rs`), run as background jobs with progress (`jobs.rs`, `jobs_api.rs`).

pub mod api;
pub mod bulk;
pub mod bulk_view;
pub mod buttons;
pub mod job_views;
pub mod jobs_api;
pub mod model;
pub mod multi;

#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod maintenance;
#[cfg(feature = "ssr")]
pub mod session;
