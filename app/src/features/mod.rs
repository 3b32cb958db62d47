//! One folder per feature; see docs/ARCHITECTURE.md for the files each holds.

pub mod auth;
pub mod overview;
pub mod targets;
pub mod users;
