//! Queries: the top statements of pg_stat_statements over a window (5 min, 1 h, 24 h), computed
//! from the deltas the sampler stores every minute (never from the cumulative counters, which
//! count since the last reset), with a per-queryid history. Texts are the normalised ones, read
//! once per new entry. Resets and evictions are shown, not turned into negative numbers.
//! Minimum server version: 14. Privileges: pg_monitor (pg_read_all_stats) to see every role's
//! statements; pg_stat_statements in shared_preload_libraries and created in the monitor database.

pub mod api;
pub mod model;
pub mod page;
#[cfg(feature = "ssr")]
pub mod top;
