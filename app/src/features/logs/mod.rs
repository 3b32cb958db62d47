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
                read_elsewhere: None,
            })
    }

    /// The latest backfill of a target this instance started since start-up.
    fn own_backfill(&self, target: &str) -> Option<model::BackfillStatus> {
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

/// What the Logs page says on an instance that does not read the target's log.
#[cfg(feature = "ssr")]
const READ_ELSEWHERE: &str = "Another pgpanel instance reads this log (the one that samples this \
     target); the entries are shared through the store, and this status is as that instance last \
     reported it.";

#[cfg(feature = "ssr")]
impl State {
    /// The status the Logs page shows: this instance's own when it reads the target's log,
    /// otherwise what the instance that reads it last stored (its files, format and problems),
    /// so every instance tells the same.
    pub async fn shown_status(
        &self,
        target: &crate::features::targets::monitor::Target,
        store: &crate::store::Store,
    ) -> model::SourceStatus {
        let id = &target.spec.id;
        if target.leads() || target.spec.logs.mode == spec::LogMode::Off {
            return self.status(id);
        }
        let stored = match store.log_source(id).await {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(target_id = %id, error = %e, "reading the log's status from the store failed");
                None
            }
        };
        match stored.map(|b| serde_json::from_str::<model::SourceStatus>(&b)) {
            Some(Ok(s)) => model::SourceStatus {
                read_elsewhere: Some(READ_ELSEWHERE.into()),
                ..s
            },
            Some(Err(e)) => {
                tracing::warn!(target_id = %id, error = %e, "the stored log status could not be read");
                elsewhere(target)
            }
            None => elsewhere(target),
        }
    }
}

#[cfg(feature = "ssr")]
impl State {
    /// The latest backfill of a target, the same on every instance: the store's row (taken by
    /// whichever instance started it), this instance's own progress when it runs it (fresher
    /// than the row, written every second), and interrupted when the instance that ran it is
    /// gone. This instance's own when the store cannot be read.
    pub async fn shown_backfill(
        &self,
        target: &str,
        store: &crate::store::Store,
        instance: &str,
    ) -> Option<model::BackfillStatus> {
        let own = self.own_backfill(target);
        match store
            .log_backfill(target, crate::features::cluster::LOST_AFTER_MS)
            .await
        {
            Ok(stored) => shown_backfill(own, stored, instance),
            Err(e) => {
                tracing::warn!(target_id = %target, error = %e, "reading the log backfill from the store failed");
                own
            }
        }
    }
}

/// What a backfill that ran on a lost instance says.
#[cfg(feature = "ssr")]
const INTERRUPTED: &str = "the pgpanel instance that ran it stopped or lost touch with the \
     store; start it again to go on where it stopped (nothing is read twice).";

/// See [`State::shown_backfill`].
#[cfg(feature = "ssr")]
fn shown_backfill(
    own: Option<model::BackfillStatus>,
    stored: Option<crate::store::StoredBackfill>,
    instance: &str,
) -> Option<model::BackfillStatus> {
    let Some(stored) = stored else {
        return own;
    };
    if stored.instance_id == instance && own.is_some() {
        return own;
    }
    let mut shown: model::BackfillStatus = match serde_json::from_str(&stored.body) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "the stored log backfill could not be read");
            return own;
        }
    };
    if stored.running && !stored.instance_alive {
        shown.running = false;
        shown.error = Some(INTERRUPTED.into());
    }
    Some(shown)
}

/// When the reader stores its status for the other instances: at once when something other than
/// sizes, offsets and the poll time changed, else at most every [`Published::EVERY`].
#[cfg(feature = "ssr")]
#[derive(Default)]
struct Published {
    last: Option<(model::SourceStatus, std::time::Instant)>,
}

#[cfg(feature = "ssr")]
impl Published {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(30);

    fn due(&self, status: &model::SourceStatus) -> bool {
        let shape = |s: &model::SourceStatus| {
            let mut s = s.clone();
            s.polled_at = None;
            for f in &mut s.files {
                (f.size, f.offset, f.unread) = (0, 0, 0);
            }
            s
        };
        self.last
            .as_ref()
            .is_none_or(|(last, at)| at.elapsed() >= Self::EVERY || shape(last) != shape(status))
    }
}

/// What the Logs page says on an instance that does not sample the target and finds nothing
/// stored by the one that does (it has not read the log yet).
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
        advice: Vec::new(),
        polled_at: None,
        read_elsewhere: Some(READ_ELSEWHERE.into()),
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
            let store = store.clone();
            let shared = store.backend() == crate::store::Backend::Postgres;
            let span = tracing::info_span!("logs", target_id = %id);
            tokio::spawn(tracing::Instrument::instrument(
                async move {
                    // Let the monitor connect first.
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    let mut leading = true;
                    let mut published = Published::default();
                    loop {
                        // Only the instance that samples the target reads its log; the cursors
                        // are in the shared store, and the next holder goes on from them.
                        if target.leads() {
                            if !leading {
                                tailer.forget();
                                leading = true;
                            }
                            let status = tailer.poll().await;
                            // Only a shared (PostgreSQL) store has other instances to tell.
                            if shared && published.due(&status) {
                                publish(&store, &id, &status).await;
                                published.last = Some((status.clone(), std::time::Instant::now()));
                            }
                            state.set(&id, status);
                        } else {
                            if leading {
                                state.set(&id, elsewhere(&target));
                                published = Published::default();
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

/// Stores the reader's status for the other instances; a failure costs only their view of it.
#[cfg(feature = "ssr")]
async fn publish(store: &crate::store::Store, target: &str, status: &model::SourceStatus) {
    let at_ms = crate::clock::to_millis(time::OffsetDateTime::now_utc());
    let stored = match serde_json::to_string(status) {
        Ok(body) => store.put_log_source(target, at_ms, &body).await,
        Err(e) => {
            tracing::warn!(target_id = %target, error = %e, "the log's status could not be written");
            return;
        }
    };
    if let Err(e) = stored {
        tracing::warn!(target_id = %target, error = %e, "storing the log's status failed");
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::model::{BackfillStatus, FileCursor, SourceStatus};
    use super::{INTERRUPTED, Published, shown_backfill};
    use crate::store::StoredBackfill;

    fn status(size: i64, problem: Option<&str>) -> SourceStatus {
        SourceStatus {
            mode: "sql".into(),
            format: Some("jsonlog".into()),
            reading: problem.is_none(),
            problem: problem.map(str::to_owned),
            fix: None,
            files: vec![FileCursor {
                name: "postgresql.json".into(),
                size,
                offset: size,
                unread: 0,
            }],
            advice: Vec::new(),
            polled_at: Some(format!("t{size}")),
            read_elsewhere: None,
        }
    }

    #[test]
    fn the_status_is_stored_when_it_changes_not_when_the_log_only_grows() {
        let mut p = Published::default();
        assert!(p.due(&status(10, None)), "nothing stored yet");
        p.last = Some((status(10, None), std::time::Instant::now()));
        assert!(!p.due(&status(20, None)), "only grown");
        assert!(p.due(&status(20, Some("permission denied"))));
        let mut renamed = status(20, None);
        renamed.files[0].name = "postgresql-2.json".into();
        assert!(p.due(&renamed), "another file");
        p.last = Some((
            status(10, None),
            std::time::Instant::now() - Published::EVERY,
        ));
        assert!(p.due(&status(20, None)), "grown, and the stored one is old");
    }

    fn backfill(by: &str, running: bool, done: i64) -> BackfillStatus {
        BackfillStatus {
            by: by.into(),
            started_at: "2026-12-05T10:00:00.000Z".into(),
            since: "2026-12-04T10:00:00.000Z".into(),
            running,
            files: 2,
            bytes_total: 3_000_000,
            bytes_done: done,
            entries: done / 100,
            finished_at: None,
            error: None,
            notes: Vec::new(),
        }
    }

    fn stored(instance: &str, running: bool, alive: bool, s: &BackfillStatus) -> StoredBackfill {
        StoredBackfill {
            instance_id: instance.into(),
            running,
            body: serde_json::to_string(s).unwrap_or_default(),
            instance_alive: alive,
        }
    }

    #[test]
    fn every_instance_shows_the_stored_backfill_and_its_runner_its_fresher_own() {
        let mine = backfill("dba", true, 2_000_000);
        let as_stored = backfill("dba", true, 1_000_000);
        // On the instance that runs it: its own progress, fresher than the row.
        assert_eq!(
            shown_backfill(
                Some(mine.clone()),
                Some(stored("a", true, true, &as_stored)),
                "a"
            ),
            Some(mine.clone())
        );
        // On another instance: the row, still running.
        assert_eq!(
            shown_backfill(None, Some(stored("a", true, true, &as_stored)), "b"),
            Some(as_stored.clone())
        );
        // A later backfill by another instance replaces this instance's older one.
        let theirs = backfill("alice", true, 5);
        assert_eq!(
            shown_backfill(
                Some(mine.clone()),
                Some(stored("b", true, true, &theirs)),
                "a"
            ),
            Some(theirs)
        );
        // The instance that ran it is lost: interrupted, with how far it got.
        let lost = shown_backfill(None, Some(stored("a", true, false, &as_stored)), "b");
        assert_eq!(
            lost.as_ref()
                .map(|b| (b.running, b.error.as_deref(), b.bytes_done)),
            Some((false, Some(INTERRUPTED), 1_000_000))
        );
        // Finished on a lost instance: shown as it ended.
        let mut ended = backfill("dba", false, 3_000_000);
        ended.finished_at = Some("2026-12-05T10:01:00.000Z".into());
        assert_eq!(
            shown_backfill(None, Some(stored("a", false, false, &ended)), "b"),
            Some(ended)
        );
        // Nothing stored (or unreadable): this instance's own, if any.
        assert_eq!(
            shown_backfill(Some(mine.clone()), None, "a"),
            Some(mine.clone())
        );
        let mut garbled = stored("b", true, true, &as_stored);
        garbled.body = "{".into();
        assert_eq!(
            shown_backfill(Some(mine.clone()), Some(garbled), "a"),
            Some(mine)
        );
        assert_eq!(shown_backfill(None, None, "a"), None);
    }
}
