//! Every integration test of app, one module per file of this folder, built as one binary: one
//! compile and link of the app's generic code instead of one per file (about 15 s each in
//! release here). `cargo test --release $(.ci/test-packages) --test app_tests locks::` runs one
//! file's tests. They need the `ssr` feature (`.ci/test-packages` turns it on); without it this
//! binary is empty.
#![cfg(feature = "ssr")]
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

mod advice;
mod advice_bloat;
mod advice_missing;
mod advice_parse;
mod app_audit;
mod catalog;
mod clusters;
mod imports;
mod incremental;
mod live;
mod locks;
mod logs;
mod majors;
mod store;
mod targets;
