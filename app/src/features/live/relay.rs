//! Frames between instances on a PostgreSQL store. The instance that samples a target (the
//! holder of its lease, `features::cluster::leases`) writes each frame to `live_frames`, one row
//! per target and topic, and announces it on `pgpanel_frames` with only the row's key (frames
//! are far larger than NOTIFY's 8,000-byte payload). Every other instance listens, reads the
//! announced rows and applies them to its own hub: a page on any instance gets every target's
//! frames a few milliseconds after the sample, and its first render has them too.
//!
//! Topics: overview, activity (whole, as the pages read it), locks, statements, queries (the
//! Queries page's current minute and extremes) and target (the monitor's facts).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Live;
use super::hub::RelayFrame;
use crate::features::targets::registry::TargetRegistry;
use crate::store::{FRAMES_CHANNEL, Store};

/// Frames waiting to be written before new ones are dropped (each supersedes the previous one
/// of its topic, so a slow store loses intermediate frames, not the latest).
const QUEUE: usize = 1024;

/// Starts the writer and the listener when the store is PostgreSQL (several instances may share
/// it); nothing with SQLite.
pub fn start(live: Arc<Live>, targets: Arc<TargetRegistry>, store: Store) -> Vec<JoinHandle<()>> {
    let Some(options) = store.postgres_options() else {
        return Vec::new();
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    for t in targets.all() {
        if let Some(hub) = live.hub(&t.spec.id) {
            hub.relay_to(tx.clone());
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options);
    vec![
        tokio::spawn(tracing::Instrument::instrument(
            write(rx, store.clone(), targets.clone()),
            tracing::info_span!("relay_writer"),
        )),
        tokio::spawn(tracing::Instrument::instrument(
            listen(pool, live, targets, store),
            tracing::info_span!("relay_listener"),
        )),
    ]
}

/// Writes what the samplers hand over, the latest frame of each topic first come.
async fn write(mut rx: mpsc::Receiver<RelayFrame>, store: Store, targets: Arc<TargetRegistry>) {
    let mut failing = false;
    while let Some(first) = rx.recv().await {
        let mut batch: HashMap<(String, &'static str), RelayFrame> = HashMap::new();
        batch.insert((first.target.clone(), first.topic), first);
        while let Ok(f) = rx.try_recv() {
            batch.insert((f.target.clone(), f.topic), f);
        }
        for f in batch.into_values() {
            // A sampler that lost its lease during a cycle: its frames stay here.
            if !targets.get(&f.target).is_some_and(|t| t.leads()) {
                continue;
            }
            match store
                .publish_frame(&f.target, f.topic, f.at_ms, &f.body)
                .await
            {
                Ok(()) if failing => {
                    tracing::info!("relaying frames to the other instances again");
                    failing = false;
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "relaying a frame to the other instances failed");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    }
}

/// Listens for frames of the targets another instance samples and applies them; after each
/// (re)connection, reads the latest frames of every such target first.
async fn listen(pool: sqlx::PgPool, live: Arc<Live>, targets: Arc<TargetRegistry>, store: Store) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "listening for relayed frames failed; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(FRAMES_CHANNEL).await {
            tracing::warn!(error = %e, "listening for relayed frames failed; trying again");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        let all: Vec<(String, Option<String>)> = targets
            .all()
            .iter()
            .map(|t| (t.spec.id.clone(), None))
            .collect();
        apply(&live, &targets, &store, &all).await;
        loop {
            match listener.try_recv().await {
                Ok(Some(first)) => {
                    let mut wanted: HashSet<(String, Option<String>)> = HashSet::new();
                    let mut add = |payload: &str| {
                        if let Some((t, topic)) = payload.split_once('\t') {
                            wanted.insert((t.to_owned(), Some(topic.to_owned())));
                        }
                    };
                    add(first.payload());
                    while let Some(n) = listener.next_buffered() {
                        add(n.payload());
                    }
                    let wanted: Vec<_> = wanted.into_iter().collect();
                    apply(&live, &targets, &store, &wanted).await;
                }
                // The connection was lost and made again: what was announced meanwhile is lost.
                Ok(None) => apply(&live, &targets, &store, &all).await,
                Err(e) => {
                    tracing::warn!(error = %e, "the relayed frames' connection failed; connecting again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

/// Reads the wanted frames of targets this instance does not sample and applies them.
async fn apply(
    live: &Live,
    targets: &TargetRegistry,
    store: &Store,
    wanted: &[(String, Option<String>)],
) {
    let wanted: Vec<(String, Option<String>)> = wanted
        .iter()
        .filter(|(t, _)| targets.get(t).is_some_and(|t| !t.leads()))
        .cloned()
        .collect();
    let frames = match store.frames(&wanted).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "reading relayed frames failed");
            return;
        }
    };
    for (target_id, topic, _at_ms, body) in frames {
        let Some(target) = targets.get(&target_id) else {
            continue;
        };
        let applied = if topic == "target" {
            serde_json::from_str(&body).map(|o| target.apply_overview(o))
        } else if let Some(hub) = live.hub(&target_id) {
            hub.apply(&topic, &body)
        } else {
            Ok(())
        };
        if let Err(e) = applied {
            tracing::warn!(target_id = %target_id, topic = %topic, error = %e, "a relayed frame could not be read");
        }
    }
}
