//! The pgpanel process: command line, configuration, telemetry, the HTTP router and middleware,
//! serving, demo mode and the benchmark. The product itself (pages, server functions, catalog
//! queries, monitors, store) lives in the `app` crate.

pub mod allocator;
pub mod bench;
pub mod cli;
pub mod cluster_cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod serve;
pub mod setup_sql;
pub mod telemetry;
pub mod users_cli;
