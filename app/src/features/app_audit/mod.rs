//! Application audit tables: the changes an application's own triggers record (configured as
//! `[[targets.audit_tables]]`), read on request with the monitor login, shown in the Audit area
//! as old → new diffs with each row's history (`GET /api/app-audit`), and exported.

pub mod api;
#[cfg(feature = "ssr")]
pub mod layout;
pub mod model;
pub mod page;
pub mod spec;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod export;
