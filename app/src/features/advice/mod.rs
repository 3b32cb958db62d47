//! Advice: what a DBA should fix in one database, measured without superuser and never on page
//! view. An analysis (`analysis.rs`) reads the catalogs on a monitor session in that database —
//! indexes (`indexes.sql`), foreign keys (`foreign_keys.sql`), transaction id and multixact ages
//! (`wraparound.sql`, `horizon.sql`), sequences (`sequences.sql`) and tables (`bloat_tables.sql`)
//! — measures bloat within a page budget (`bloat.rs`: pgstattuple_approx, pgstatindex) and
//! derives the findings (`findings.rs`, `health.rs`, `bloat.rs`): invalid, duplicate, redundant
//! and unused indexes, foreign keys without an index, wraparound, sequences near their end,
//! table and index bloat and autovacuum falling behind, each with its evidence and the DDL that
//! fixes it. It runs when a DBA asks (`POST /api/advice/refresh`, coalesced with a running one)
//! and on a schedule; the latest result per database is kept in the store with the index scan
//! snapshot that makes "unused for N days" pgpanel's own observation and the bloat rows. A DBA
//! applies a finding or measures a relation exactly through the maintenance jobs (`work.rs`).
//! Privileges: pg_monitor; SELECT on sequences for how far they have gone; the action login
//! for applying.

pub mod api;
mod bloat_table;
mod finding_view;
pub mod model;
pub mod page;
mod view;

#[cfg(feature = "ssr")]
pub mod analysis;
#[cfg(feature = "ssr")]
pub mod bloat;
#[cfg(feature = "ssr")]
pub mod bloat_findings;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod findings;
#[cfg(feature = "ssr")]
pub mod health;
#[cfg(feature = "ssr")]
pub mod hypo;
#[cfg(feature = "ssr")]
pub mod missing;
#[cfg(feature = "ssr")]
pub mod statements;
#[cfg(feature = "ssr")]
pub mod work;

/// A database of a target: (target id, database name).
#[cfg(feature = "ssr")]
type DatabaseKey = (String, String);

/// When (ms) and why an analysis could not run.
#[cfg(feature = "ssr")]
type Failure = (i64, String);

/// What the Advice feature keeps in memory: which analyses are running now, and which of this
/// process' last analyses could not run.
#[cfg(feature = "ssr")]
#[derive(Debug, Default)]
pub struct State {
    running: std::sync::Mutex<std::collections::HashSet<DatabaseKey>>,
    /// Per database analysed by this process: when and why its last analysis could not run
    /// (`None`: it ran). One entry per database the targets have.
    failures: std::sync::Mutex<std::collections::HashMap<DatabaseKey, Option<Failure>>>,
}

#[cfg(feature = "ssr")]
impl State {
    /// Whether an analysis of this database is running.
    pub fn is_running(&self, target: &str, database: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&(target.to_owned(), database.to_owned()))
    }

    /// When and why the last analysis of this database could not run, if it failed.
    pub fn last_failure(&self, target: &str, database: &str) -> Option<Failure> {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(target.to_owned(), database.to_owned()))
            .cloned()
            .flatten()
    }

    fn running_count(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Starts an analysis of `database` in the background unless one is running (then `false`:
    /// the caller's request joins it). The result replaces the stored one.
    pub fn start(
        self: &std::sync::Arc<Self>,
        target: std::sync::Arc<crate::features::targets::monitor::Target>,
        database: String,
        store: crate::store::Store,
    ) -> bool {
        let key = (target.spec.id.clone(), database.clone());
        if !self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone())
        {
            return false;
        }
        let state = self.clone();
        let span = tracing::info_span!("advice", target_id = %target.spec.id, database = %database);
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                let failed = run(&target, &database, &store).await.err().map(|message| {
                    (
                        crate::clock::to_millis(time::OffsetDateTime::now_utc()),
                        message,
                    )
                });
                state
                    .failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key.clone(), failed);
                state
                    .running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
            },
            span,
        ));
        true
    }
}

/// The schedule: a minute after start and then every minute, the first database (of any
/// target that is up) whose last analysis is older than `every` is analysed — one at a time, so
/// a fleet of large databases is spread out instead of read at once.
#[cfg(feature = "ssr")]
pub fn spawn_schedule(
    state: std::sync::Arc<State>,
    targets: std::sync::Arc<crate::features::targets::registry::TargetRegistry>,
    store: crate::store::Store,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let span = tracing::info_span!("advice_schedule");
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let tick = std::time::Duration::from_secs(60);
            loop {
                tokio::time::sleep(tick).await;
                let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
                let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
                if let Some((target, database)) = next_due(&targets, &store, now, every_ms).await
                    && state.start(target, database, store.clone())
                {
                    // Wait for it to finish before looking for the next one.
                    while state.running_count() > 0 {
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        },
        span,
    ))
}

/// The first database due for an analysis, over the targets that are up.
#[cfg(feature = "ssr")]
pub async fn next_due(
    targets: &crate::features::targets::registry::TargetRegistry,
    store: &crate::store::Store,
    now_ms: i64,
    every_ms: i64,
) -> Option<(
    std::sync::Arc<crate::features::targets::monitor::Target>,
    String,
)> {
    // Only the instance that samples a target schedules its analyses.
    for target in targets.all().iter().filter(|t| t.is_up() && t.leads()) {
        let databases = target
            .overview()
            .databases
            .map(|d| d.items)
            .unwrap_or_default();
        for db in databases {
            match store.latest_advice(&target.spec.id, &db.name).await {
                Ok(Some((a, _))) if a.analysed_at.is_some_and(|at| now_ms - at < every_ms) => {}
                Ok(_) => return Some((target.clone(), db.name)),
                Err(e) => {
                    tracing::warn!(error = %e, "reading the last analysis failed");
                    return None;
                }
            }
        }
    }
    None
}

/// What the next analysis of a database continues from, as stored.
#[cfg(feature = "ssr")]
pub async fn previous(
    store: &crate::store::Store,
    target: &str,
    database: &str,
) -> Result<analysis::Previous, crate::store::StoreError> {
    let (analysis, snapshot) = store
        .latest_advice(target, database)
        .await?
        .map(|(a, s)| (Some(a), s))
        .unwrap_or_default();
    let (missing, workload) = analysis
        .map(|a| {
            let kept = a
                .findings
                .into_iter()
                .filter(|f| f.kind == model::Kind::MissingIndex)
                .collect();
            (kept, a.workload)
        })
        .unwrap_or_default();
    let bloat = store
        .latest_bloat(target, database)
        .await?
        .unwrap_or_default();
    Ok(analysis::Previous {
        snapshot,
        bloat,
        missing,
        workload,
    })
}

/// One analysis, stored. A failure is logged and returned as the message people see (the
/// previous result stays).
#[cfg(feature = "ssr")]
pub async fn run(
    target: &crate::features::targets::monitor::Target,
    database: &str,
    store: &crate::store::Store,
) -> Result<(), String> {
    let previous = previous(store, &target.spec.id, database)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "reading the previous analysis failed");
            crate::error::AppError::from(e).to_string()
        })?;
    let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
    // Without the window's statements the rest of the analysis still runs.
    let statements = missing::workload(store, target, database, now)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading the statements of the window failed");
            Vec::new()
        });
    let done = analysis::analyse(target, database, &previous, true, now, &statements)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the analysis could not run");
            e.to_string()
        })?;
    tracing::info!(
        findings = done.analysis.findings.len(),
        duration_ms = done.analysis.duration_ms,
        "analysis done"
    );
    store
        .save_advice(&done.analysis, &done.snapshot, &done.bloat)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "storing the analysis failed");
            crate::error::AppError::from(e).to_string()
        })
}
