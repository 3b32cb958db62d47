//! Live panels: one sampler per target feeds a hub that every viewer reads (the target's cost is
//! the same for 1 viewer or 1,000), with the last hour in memory and minute roll-ups in the store.
//!
//! Catalogs: pg_stat_activity and pg_stat_database every second; pg_stat_bgwriter, pg_stat_wal,
//! pg_database (xid age), pg_stat_replication, pg_replication_slots, pg_stat_statements(false)
//! and pg_stat_statements_info every 10 s; pg_stat_statements(true) only for entries not seen
//! before. Minimum server version: 14 for WAL, checkpoints and statements (the rest: 12).
//! Privileges: pg_monitor; without it other roles' sessions and statements are hidden and the
//! pages say which grant is missing.
//!
//! With several instances on one PostgreSQL store, a target's sampler runs only on the holder of
//! its lease (`features::cluster::leases`), which relays its frames to the others (`relay`).

pub mod model;
pub mod series;

#[cfg(feature = "ssr")]
pub mod compute;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod incremental;
#[cfg(feature = "ssr")]
pub mod relay;
#[cfg(feature = "ssr")]
pub mod ring;
#[cfg(feature = "ssr")]
pub mod sampler;
#[cfg(feature = "ssr")]
pub mod texts;

#[cfg(feature = "ssr")]
pub use registry::Live;

#[cfg(feature = "ssr")]
mod registry {
    use std::sync::{Arc, Mutex};

    use tokio::task::JoinHandle;

    use super::hub::TargetHub;
    use super::sampler::{LiveSchedule, Sampler};
    use crate::features::targets::registry::TargetRegistry;
    use crate::store::Store;

    /// Every target's hub and sampler task.
    #[derive(Debug)]
    pub struct Live {
        hubs: Vec<Arc<TargetHub>>,
        pub store: Store,
        pub schedule: LiveSchedule,
        tasks: Mutex<Vec<JoinHandle<()>>>,
    }

    impl Live {
        /// Starts one sampler per target; returns at once. The samplers' ticks are spread evenly
        /// over the fast interval (the i-th of n starts i/n of it later), so that a fleet's
        /// reads, and the frames and store writes after them, do not all come at once.
        pub async fn start(targets: &TargetRegistry, store: Store, schedule: LiveSchedule) -> Self {
            let mut hubs = Vec::new();
            let mut tasks = Vec::new();
            let all = targets.all();
            let start = tokio::time::Instant::now();
            let n = u32::try_from(all.len()).unwrap_or(u32::MAX).max(1);
            for (i, target) in all.iter().enumerate() {
                let i = u32::try_from(i).unwrap_or(0);
                let first_tick = start + schedule.fast / n * i;
                let hub = Arc::new(TargetHub::new(&target.spec.id));
                let sampler =
                    Sampler::new(target.clone(), hub.clone(), store.clone(), schedule.clone())
                        .await;
                let span = tracing::info_span!("sampler", target_id = %target.spec.id);
                tasks.push(tokio::spawn(tracing::Instrument::instrument(
                    sampler.run(first_tick),
                    span,
                )));
                hubs.push(hub);
            }
            Self {
                hubs,
                store,
                schedule,
                tasks: Mutex::new(tasks),
            }
        }

        pub fn hub(&self, id: &str) -> Option<&Arc<TargetHub>> {
            self.hubs.iter().find(|h| h.id == id)
        }

        /// The hub of a target named in a request: unknown ids are a 404.
        pub fn require(&self, id: &str) -> Result<&Arc<TargetHub>, crate::error::AppError> {
            self.hub(id).ok_or_else(|| {
                let shown: String = id.chars().take(64).collect();
                crate::error::AppError::not_found(format!("There is no target {shown:?}."))
            })
        }

        pub fn shutdown(&self) {
            let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
            for task in tasks {
                task.abort();
            }
        }
    }

    impl Drop for Live {
        fn drop(&mut self) {
            self.shutdown();
        }
    }
}
