//! Sessions: what a DBA does to a target's backends — cancel and terminate one (`api.rs`, with
//! buttons on the Activity and Locks pages in `buttons.rs`), several chosen on Activity at once
//! (`multi.rs`), and every session idle in a transaction open for N minutes (`bulk.rs`,
//! `bulk_view.rs`). Each runs on the target's action login, is checked for role on the server,
//! guarded against pid reuse and pgpanel's own sessions (`rules.rs`) and audited through
//! `audit::recorder`.

pub mod api;
pub mod bulk;
pub mod bulk_view;
pub mod buttons;
pub mod model;
pub mod multi;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod rules;
