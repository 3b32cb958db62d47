//! Logs: the server log of each target, read remotely with least privilege, parsed, stored and
//! searchable. A tailer per target (`tailer.rs`) reads new bytes over SQL — `pg_ls_logdir()`
//! (pg_monitor) and the `pgpanel.read_log` SECURITY DEFINER function `pgpanel setup-sql` installs
//! (`db.rs`, `sql/`) — or from files on the database host (`source.rs`), parses jsonlog, csvlog
//! and stderr with the target's `log_line_prefix` (`parse/`), classifies each entry and splits
//! pgaudit's records (`parse/classify.rs`, `parse/pgaudit.rs`), applies the flood rules
//! (`ingest.rs`) and stores entries, per-minute counts and the file cursors
//! (`store/logs.rs`). `GET /api/logs` (`api.rs`) and the Logs page (`page.rs`) read only the
//! store. Privileges: pg_monitor and EXECUTE on pgpanel.read_log; never pg_read_file,
//! pg_read_binary_file or pg_read_server_files (they read any table's raw files).

pub mod api;
pub mod entries;
pub mod model;
pub mod page;

#[cfg(feature = "ssr")]
pub mod backfill;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod full;
#[cfg(feature = "ssr")]
pub mod ingest;
#[cfg(feature = "ssr")]
pub mod parse;
#[cfg(feature = "ssr")]
pub mod source;
#[cfg(feature = "ssr")]
pub mod spec;
#[cfg(feature = "ssr")]
pub mod tailer;

/// What the Logs feature keeps in memory: how each target's log is read (the latest poll's
/// status).
#[cfg(feature = "ssr")]
#[derive(Debug, Default)]
pub struct State {
    statuses: std::sync::Mutex<std::collections::HashMap<String, model::SourceStatus>>,
    /// Each target's latest backfill (shared with the task running it).
    backfills: std::sync::Mutex<
        std::collections::HashMap<String, std::sync::Arc<std::sync::Mutex<model::BackfillStatus>>>,
    >,
    /// The tailers' settings, which a backfill reads with too.
    settings: std::sync::Mutex<spec::TailSettings>,
}

#[cfg(feature = "ssr")]
impl State {
    /// The latest status of a target's log (before the first poll: not read yet).
    pub fn status(&self, target: &str) -> model::SourceStatus {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(target)
            .cloned()
            .unwrap_or_else(|| model::SourceStatus {
                mode: String::new(),
                format: None,
                reading: false,
                problem: Some("The log has not been read yet; the first read follows within seconds of start-up.".into()),
                fix: None,
                files: Vec::new(),
                advice: Vec::new(),
                polled_at: None,
            })
    }

    /// The latest backfill of a target since start-up.
    pub fn backfill(&self, target: &str) -> Option<model::BackfillStatus> {
        self.backfills
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(target)
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn set(&self, target: &str, status: model::SourceStatus) {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target.to_owned(), status);
    }
}

/// What the Logs page says on an instance that does not sample the target: another reads it.
#[cfg(feature = "ssr")]
fn elsewhere(target: &crate::features::targets::monitor::Target) -> model::SourceStatus {
    model::SourceStatus {
        mode: match target.spec.logs.mode {
            spec::LogMode::File(_) => "file",
            _ => "sql",
        }
        .into(),
        format: None,
        reading: true,
        problem: None,
        fix: None,
        files: Vec::new(),
        advice: vec![
            "Another pgpanel instance reads this log (the one that samples this target); the \
             entries are shared through the store."
                .into(),
        ],
        polled_at: None,
    }
}

/// Starts one tailer per target; they poll every `settings.poll_interval` until aborted.
#[cfg(feature = "ssr")]
pub fn spawn_tailers(
    state: std::sync::Arc<State>,
    targets: &crate::features::targets::registry::TargetRegistry,
    store: crate::store::Store,
    settings: spec::TailSettings,
) -> Vec<tokio::task::JoinHandle<()>> {
    *state.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings.clone();
    targets
        .all()
        .iter()
        .filter(|t| t.spec.logs.mode != spec::LogMode::Off)
        .map(|target| {
            let state = state.clone();
            let every = settings.poll_interval;
            let mut tailer = tailer::Tailer::new(target.clone(), store.clone(), settings.clone());
            let target = target.clone();
            let id = target.spec.id.clone();
            let span = tracing::info_span!("logs", target_id = %id);
            tokio::spawn(tracing::Instrument::instrument(
                async move {
                    // Let the monitor connect first.
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    let mut leading = true;
                    loop {
                        // Only the instance that samples the target reads its log; the cursors
                        // are in the shared store, and the next holder goes on from them.
                        if target.leads() {
                            if !leading {
                                tailer.forget();
                                leading = true;
                            }
                            let status = tailer.poll().await;
                            state.set(&id, status);
                        } else {
                            if leading {
                                state.set(&id, elsewhere(&target));
                            }
                            leading = false;
                        }
                        tokio::time::sleep(every).await;
                    }
                },
                span,
            ))
        })
        .collect()
}
