//! The Maintenance page: per database, every table's size, live and dead tuples, last (auto)
//! vacuum and analyze, modifications since analyze and xid age, sortable (`api.rs`, `cache.rs`),
//! with VACUUM / ANALYZE / REINDEX for DBAs: options from an allow-list and objects resolved in
//! the catalog (`options.rs`), previewed and run as background jobs with progress (`jobs_api.rs`,
//! `jobs.rs`, `job_views.rs`). The feature's state (running jobs, the table cache) is
//! [`State`], held by `AppState` as one opaque handle.

pub mod api;
pub mod job_views;
pub mod jobs_api;
pub mod model;
pub mod page;

#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod options;

/// What the Maintenance feature keeps in memory: the jobs running in this process and the
/// catalog reads of the table list, kept a short while.
#[cfg(feature = "ssr")]
#[derive(Debug)]
pub struct State {
    jobs: jobs::Jobs,
    tables: cache::TablesCache,
}

#[cfg(feature = "ssr")]
impl State {
    /// Marks the jobs an earlier process left running as failed (see `jobs::Jobs::open`).
    pub async fn open(
        store: &crate::store::Store,
        now_ms: i64,
    ) -> Result<Self, crate::store::StoreError> {
        Ok(Self {
            jobs: jobs::Jobs::open(store, now_ms).await?,
            tables: cache::TablesCache::default(),
        })
    }

    /// Every heartbeat interval, marks failed the jobs whose instance stopped or was lost while
    /// they ran (another instance's, on a shared store), until aborted.
    pub fn spawn_orphan_sweep(
        store: crate::store::Store,
        clock: crate::clock::Clock,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(crate::features::cluster::HEARTBEAT).await;
                if let Err(e) = jobs::fail_orphans(&store, clock.now_ms()).await {
                    tracing::warn!(error = %e, "looking for orphaned jobs failed");
                }
            }
        })
    }

    /// Databases whose table lists are held now (tests: the cache stays bounded).
    pub fn tables_held(&self) -> usize {
        self.tables.held()
    }
}
