//! Every integration test of the server, one module per file of this folder, built as one binary:
//! one compile and link instead of one per file (about 25 s each in release here).
//! `cargo test --release $(.ci/test-packages) --test server_tests leases::` runs one file's tests.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

mod access;
mod actions;
mod advice;
mod audit;
mod auth;
mod cli;
mod cluster;
mod config;
mod exports;
mod http;
mod leases;
mod live;
mod logs;
mod maintenance;
mod security;
mod users;
