//! Activity: every backend of the target (all databases) from the sampler's latest
//! pg_stat_activity read — pid, database, user, application, client, backend type, state, wait,
//! transaction and query ages, and the query — with filters, sorting and highlighting of
//! long-running and idle-in-transaction sessions. pgpanel's own sessions are marked. Page views
//! and `GET /api/activity/sessions` read the hub; they never query the target.
//! Minimum server version: 10. Privileges: pg_monitor, else other roles' sessions are hidden.

pub mod api;
pub mod filter;
pub mod model;
pub mod page;
pub mod table;

#[cfg(feature = "ssr")]
pub mod db;
