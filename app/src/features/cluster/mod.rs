//! Several pgpanel instances on one store: which instances there are, their version, when each
//! started, its latest heartbeat and the targets it samples (`GET /api/cluster`, the Cluster
//! page, `pgpanel check-config`). Each instance registers at start and beats every
//! `HEARTBEAT` with the store's clock; one not heard of for `LOST_AFTER_MS` is shown lost, and
//! its row is deleted a day after it stopped or was lost. Only pgpanel's own store is involved.
//!
//! On a PostgreSQL store each target is sampled by one instance at a time, the holder of its
//! lease (`leases`); the others show the frames it relays (`features::live::relay`).

pub mod api;
pub mod model;
pub mod page;

#[cfg(feature = "ssr")]
mod instance;
#[cfg(feature = "ssr")]
pub mod leases;
#[cfg(feature = "ssr")]
pub use instance::{HEARTBEAT, Instance, LOST_AFTER_MS};
