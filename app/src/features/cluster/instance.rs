//! This instance in the store: registered at start, a heartbeat every `HEARTBEAT`, stopped at a
//! clean shutdown.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use tokio::task::JoinHandle;

use crate::store::{Store, StoreError};

/// How often an instance says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// An instance not heard of for this long is lost (three heartbeats missed).
pub const LOST_AFTER_MS: i64 = 15_000;
/// A stopped or lost instance's row is deleted after this.
const FORGET_AFTER_MS: i64 = 24 * 3_600_000;

/// Who this instance is.
#[derive(Debug)]
pub struct Instance {
    /// Random, new at every start (12 hex digits).
    pub id: String,
    pub version: String,
    pub host: String,
    pub listen: String,
    /// The targets it samples (every configured one, or those whose lease it holds).
    targets: std::sync::Mutex<Vec<String>>,
}

impl Instance {
    pub fn new(listen: &str, targets: Vec<String>) -> Self {
        let mut bytes = [0_u8; 6];
        OsRng.fill_bytes(&mut bytes);
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Self {
            id: hex::encode(bytes),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            host,
            listen: listen.to_owned(),
            targets: std::sync::Mutex::new(targets),
        }
    }

    /// The targets it samples now.
    pub fn targets(&self) -> Vec<String> {
        self.targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The lease keeper says which targets it samples now (written with the next heartbeat).
    pub fn set_targets(&self, targets: Vec<String>) {
        *self.targets.lock().unwrap_or_else(|p| p.into_inner()) = targets;
    }

    /// Writes this instance's row (at start, before serving).
    pub async fn register(&self, store: &Store) -> Result<(), StoreError> {
        store
            .register_instance(
                &self.id,
                &self.version,
                &self.host,
                &self.listen,
                &self.targets(),
            )
            .await
            .map(|_| ())
    }

    /// Beats every `HEARTBEAT` until aborted; registers again if its row was deleted (after a
    /// long hang), and deletes long-gone instances' rows now and then.
    pub fn spawn_heartbeat(self: Arc<Self>, store: Store) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut beats: u64 = 0;
            loop {
                tick.tick().await;
                match store.instance_heartbeat(&self.id, &self.targets()).await {
                    Ok(()) => {}
                    Err(StoreError::NotFound) => {
                        if let Err(e) = self.register(&store).await {
                            tracing::warn!(error = %e, "registering this instance again failed");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "the instance heartbeat failed"),
                }
                // About every ten minutes.
                if beats.is_multiple_of(120)
                    && let Err(e) = store.prune_instances(FORGET_AFTER_MS).await
                {
                    tracing::warn!(error = %e, "deleting old instances failed");
                }
                beats += 1;
            }
        })
    }

    /// A clean shutdown: the row says so at once (others need not wait for it to be lost).
    pub async fn stopped(&self, store: &Store) {
        if let Err(e) = store.instance_stopped(&self.id).await {
            tracing::warn!(error = %e, "marking this instance stopped failed");
        }
    }
}
