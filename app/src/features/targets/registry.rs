//! Every configured target and its monitor task: started together, looked up by id, stopped
//! together at shutdown.

use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

use super::model::TargetOverview;
use super::monitor::{Target, TargetSpec};
use crate::store::Store;

/// Every configured target and its monitor task.
#[derive(Debug)]
pub struct TargetRegistry {
    targets: Vec<Arc<Target>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl TargetRegistry {
    /// Starts one monitor task per target and returns at once: no target is contacted before
    /// this returns (nor, on a PostgreSQL store, before this instance takes its lease). Last known database sizes are loaded from the store first.
    pub async fn start(specs: Vec<TargetSpec>, store: Option<Store>) -> Self {
        let mut targets = Vec::with_capacity(specs.len());
        let mut tasks = Vec::with_capacity(specs.len());
        let n = u32::try_from(specs.len()).unwrap_or(u32::MAX).max(1);
        // A PostgreSQL store may be shared by several instances: each samples a target only
        // while it holds the target's lease (`features::cluster::leases`).
        let shared = store
            .as_ref()
            .is_some_and(|s| s.backend() == crate::store::Backend::Postgres);
        for (i, spec) in specs.into_iter().enumerate() {
            // The i-th of n targets probes i/n of an interval after the first (each probes once
            // at start): a fleet's probes are spread, not all at once.
            let phase = spec.schedule.probe_interval / n * u32::try_from(i).unwrap_or(0);
            let target = Arc::new(Target::new(spec, shared));
            if let Some(store) = &store {
                match store.latest_database_sizes(&target.spec.id).await {
                    Ok(sizes) => target.restore_sizes(sizes),
                    Err(e) => {
                        tracing::warn!(target_id = %target.spec.id, error = %e, "loading stored sizes failed")
                    }
                }
            }
            let span = tracing::info_span!("monitor", target_id = %target.spec.id);
            tasks.push(tokio::spawn(tracing::Instrument::instrument(
                target.clone().run(store.clone(), phase),
                span,
            )));
            targets.push(target);
        }
        Self {
            targets,
            tasks: Mutex::new(tasks),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Target>> {
        self.targets.iter().find(|t| t.spec.id == id)
    }

    /// The target a request names; an unknown id is a 404.
    pub fn require(&self, id: &str) -> Result<&Arc<Target>, crate::error::AppError> {
        self.get(id)
            .ok_or_else(|| crate::error::AppError::not_found("There is no such target."))
    }

    pub fn all(&self) -> &[Arc<Target>] {
        &self.targets
    }

    pub fn overviews(&self) -> Vec<TargetOverview> {
        self.targets.iter().map(|t| t.overview()).collect()
    }

    /// Stops the monitor tasks and closes every target connection cleanly.
    pub async fn shutdown(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
        for target in &self.targets {
            target.close().await;
        }
    }
}

impl Drop for TargetRegistry {
    fn drop(&mut self) {
        for task in self.tasks.get_mut().map(std::mem::take).unwrap_or_default() {
            task.abort();
        }
    }
}
