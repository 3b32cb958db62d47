//! One folder per feature; see docs/ARCHITECTURE.md for the files each holds.

pub mod activity;
pub mod advice;
pub mod app_audit;
pub mod audit;
pub mod auth;
pub mod cluster;
pub mod live;
pub mod locks;
pub mod logs;
pub mod maintenance;
pub mod overview;
pub mod queries;
pub mod sessions;
pub mod targets;
pub mod users;
