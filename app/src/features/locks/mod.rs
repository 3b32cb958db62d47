//! Locks: who blocks whom, sampled with the live panels every `monitor.locks_interval_ms` (2 s)
//! from the sampler's own activity read (waiting sessions), `pg_blocking_pids()` for those only,
//! and pg_locks only for waits the activity read cannot describe, within a cost budget of 2 ms
//! per sample (see `sampling` and `budget`).
//! The graph (nodes, waiter → blocker edges with mode and object, roots with the sessions they
//! hold up, wait cycles) goes to the hub and the `/live` locks stream; each episode (first
//! waiter to last) goes to the store. Pages and `GET /api/locks/*` read those, never the target.
//! Minimum server version: 14 (pg_locks.waitstart). Privileges: pg_monitor to see other roles'
//! sessions; names of objects in databases other than the monitor's are read there over a
//! short-lived connection (CONNECT privilege), else shown as OIDs with the reason.

pub mod api;
pub mod history;
pub mod layout;
pub mod model;
pub mod page;
pub mod svg;
pub mod view;

#[cfg(feature = "ssr")]
pub mod budget;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod episodes;
#[cfg(feature = "ssr")]
pub mod graph;
#[cfg(feature = "ssr")]
pub mod names;
#[cfg(feature = "ssr")]
pub mod sampling;
