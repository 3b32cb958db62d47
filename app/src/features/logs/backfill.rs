//! Backfill: the part of each log file that was there before pgpanel began following the target
//! (a target seen for the first time starts at the end of its log), read on a DBA's request
//! (`POST /api/logs/backfill`) for the files modified within a window. One task per target,
//! forward from each file's start up to where following began, a read of at most 1 MiB at a time
//! with a pause between reads, at most `logs.max_backlog_bytes` in all (newest files first);
//! each chunk's entries, minute counts and progress are stored in one transaction, so an
//! interrupted backfill continues where it stopped and never stores a range twice.
//!
//! With several instances it runs on the one that got the request, one at a time per target
//! across all of them: starting takes the target's `log_backfills` row in the store, and the
//! task writes its progress there every second, so every instance shows it, and shows it
//! interrupted when its instance is lost.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::db::LogFile;
use super::ingest::{Rules, Tally, ingest};
use super::model::BackfillStatus;
use super::parse::Format;
use super::source::{on_request, problem, reader};
use super::tailer::CHUNK;
use crate::error::AppError;
use crate::features::cluster::LOST_AFTER_MS;
use crate::features::targets::monitor::Target;
use crate::store::{LogCursor, Store};

/// The pause between two reads: at most about 20 MiB/s from the target.
const PAUSE: Duration = Duration::from_millis(50);

type Shared = Arc<Mutex<BackfillStatus>>;

fn now_ms() -> i64 {
    crate::clock::to_millis(time::OffsetDateTime::now_utc())
}

/// Starts a backfill of `target`'s files modified since `since_ms` on this instance
/// (`instance`); a conflict while one runs for the target on any instance, or before the log
/// was first read.
pub async fn start(
    state: &super::State,
    target: Arc<Target>,
    store: Store,
    instance: String,
    since_ms: i64,
    by: &str,
) -> Result<BackfillStatus, AppError> {
    let id = target.spec.id.clone();
    if store.log_cursors(&id).await?.is_empty() {
        return Err(AppError::conflict(
            "The log of this target has not been read yet: there is nothing to backfill before it.",
        ));
    }
    let settings = state
        .settings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let first = BackfillStatus {
        by: by.to_owned(),
        started_at: crate::clock::rfc3339_millis(now_ms()),
        since: crate::clock::rfc3339_millis(since_ms),
        running: true,
        files: 0,
        bytes_total: 0,
        bytes_done: 0,
        entries: 0,
        finished_at: None,
        error: None,
        notes: Vec::new(),
    };
    // The store's row is the one lock: two requests, on this instance or on two, never start
    // two backfills of one target.
    if !store
        .claim_log_backfill(&id, &instance, &body(&first), LOST_AFTER_MS)
        .await?
    {
        return Err(AppError::conflict(
            "A backfill of this target is already running (on this or another pgpanel instance); \
             its progress is on the Logs page.",
        ));
    }
    let shared: Shared = Arc::new(Mutex::new(first.clone()));
    state
        .backfills
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), shared.clone());
    let span = tracing::info_span!("logs_backfill", target_id = %target.spec.id);
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let mut progress = Progress {
                store: store.clone(),
                target: id.clone(),
                instance,
                status: shared,
                stored_at: Instant::now(),
            };
            let result = run(&target, &store, &settings, since_ms, &mut progress).await;
            let mut end = progress.now();
            end.running = false;
            end.finished_at = Some(crate::clock::rfc3339_millis(now_ms()));
            if let Err(e) = result {
                tracing::warn!(error = %e, "log backfill stopped");
                end.error = Some(e.to_string());
            }
            // The store first: whoever sees it ended here may start the next one at once. A
            // few tries: a row left running keeps every instance from starting another.
            for attempt in 1..=3 {
                match progress.store(&end).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, attempt, "storing the end of the log backfill failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            progress.update(|s| *s = end);
        },
        span,
    ));
    Ok(first)
}

fn body(status: &BackfillStatus) -> String {
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_string(status).unwrap_or_default()
}

/// A running backfill's status: in memory for this instance (`State::backfills`) and in the
/// store for every other one, written at most every [`Progress::EVERY`] while it runs.
struct Progress {
    store: Store,
    target: String,
    instance: String,
    status: Shared,
    stored_at: Instant,
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(1);

    fn update(&self, f: impl FnOnce(&mut BackfillStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn now(&self) -> BackfillStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stores `status`. An error when another instance took the backfill over (it saw this
    /// one lost): this one stops, so only one reads.
    async fn store(&mut self, status: &BackfillStatus) -> Result<(), AppError> {
        self.stored_at = Instant::now();
        if self
            .store
            .put_log_backfill(&self.target, &self.instance, status.running, &body(status))
            .await?
        {
            Ok(())
        } else {
            Err(AppError::conflict(
                "Another pgpanel instance took this backfill over (this one was out of touch \
                 with the store); it goes on there.",
            ))
        }
    }

    /// Stores the status when the last write is [`Progress::EVERY`] old.
    async fn tick(&mut self) -> Result<(), AppError> {
        if self.stored_at.elapsed() >= Self::EVERY {
            let now = self.now();
            self.store(&now).await?;
        }
        Ok(())
    }
}

async fn run(
    target: &Target,
    store: &Store,
    settings: &super::spec::TailSettings,
    since_ms: i64,
    progress: &mut Progress,
) -> Result<(), AppError> {
    let id = &target.spec.id;
    let (source, facts) = on_request(target).await?;
    let mut files: Vec<LogFile> = source.files().await.map_err(problem)?;
    let cursors = store.log_cursors(id).await?;
    // Newest first, within the window, with something unread, up to the byte limit.
    files.sort_by_key(|f| std::cmp::Reverse(f.modified_ms));
    let mut budget = i64::try_from(settings.max_backlog_bytes).unwrap_or(i64::MAX);
    let mut work: Vec<(LogFile, LogCursor)> = Vec::new();
    for f in files.into_iter().filter(|f| f.modified_ms >= since_ms) {
        let Some(c) = cursors.iter().find(|c| c.file_name == f.name) else {
            continue;
        };
        let unread = c.unread(f.size);
        if unread <= 0 {
            continue;
        }
        if unread > budget {
            progress.update(|s| {
                s.notes.push(format!(
                    "{} was left out: {} MB unread, more than the {} MB left of logs.max_backlog_bytes.",
                    f.name,
                    unread / 1_000_000,
                    budget / 1_000_000
                ))
            });
            continue;
        }
        budget -= unread;
        work.push((f, c.clone()));
    }
    progress.update(|s| {
        s.files = work.len() as i64;
        s.bytes_total = work
            .iter()
            .map(|(f, c)| c.start.min(f.size) - c.backfilled)
            .sum();
    });
    let mut tally = Tally::default();
    for (file, cursor) in work {
        let reader = reader(target, Format::of_file(&file.name), facts.as_ref())?;
        let end = cursor.start.min(file.size);
        let mut offset = cursor.backfilled;
        while offset < end {
            let len = CHUNK.min(end - offset);
            let Some(bytes) = source
                .read(&file.name, offset, len)
                .await
                .map_err(problem)?
            else {
                progress.update(|s| {
                    s.notes.push(format!(
                        "{} was rotated away during the backfill.",
                        file.name
                    ))
                });
                break;
            };
            let at_end = offset + len >= end;
            let parsed = reader.parse(&bytes, u64::try_from(offset).unwrap_or(0), at_end);
            // A record longer than a read: skip it whole, with a note.
            let used = if parsed.consumed == 0 {
                progress.update(|s| {
                    s.notes.push(format!(
                        "A record longer than 1 MiB at byte {offset} of {} was skipped.",
                        file.name
                    ))
                });
                bytes.len()
            } else {
                parsed.consumed
            };
            let rules = Rules {
                slow_ms: settings.slow_ms,
                max_per_minute: settings.max_entries_per_minute,
                now_ms: now_ms(),
            };
            let (entries, minutes) = ingest(parsed.records, rules, &mut tally);
            let next = offset + i64::try_from(used).unwrap_or(len);
            if !store
                .record_log_backfill(id, &cursor, &entries, &minutes, next)
                .await?
            {
                progress.update(|s| {
                    s.notes.push(format!(
                        "{} was replaced or backfilled elsewhere meanwhile; left as it is.",
                        file.name
                    ))
                });
                break;
            }
            progress.update(|s| {
                s.bytes_done += next - offset;
                s.entries += entries.len() as i64;
            });
            offset = next;
            progress.tick().await?;
            tokio::time::sleep(PAUSE).await;
        }
    }
    Ok(())
}
