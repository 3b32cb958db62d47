//! Overview: one card per target with its state (up, or unreachable since when and why), version,
//! uptime, primary or standby, databases with sizes, and the capabilities pgpanel can use with a
//! hint for each missing one. Data comes from `GET /api/targets` (memory only); the page polls it
//! every few seconds in the browser.

pub mod api;
pub mod charts;
pub mod components;
pub mod fleet;
pub mod model;
pub mod page;
