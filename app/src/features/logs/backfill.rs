//! Backfill: the part of each log file that was there before pgpanel began following the target
//! (a target seen for the first time starts at the end of its log), read on a DBA's request
//! (`POST /api/logs/backfill`) for the files modified within a window. One task per target,
//! forward from each file's start up to where following began, a read of at most 1 MiB at a time
//! with a pause between reads, at most `logs.max_backlog_bytes` in all (newest files first);
//! each chunk's entries, minute counts and progress are stored in one transaction, so an
//! interrupted backfill continues where it stopped and never stores a range twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::db::LogFile;
use super::ingest::{Rules, Tally, ingest};
use super::model::BackfillStatus;
use super::parse::Format;
use super::source::{on_request, problem, reader};
use super::tailer::CHUNK;
use crate::error::AppError;
use crate::features::targets::monitor::Target;
use crate::store::{LogCursor, Store};

/// The pause between two reads: at most about 20 MiB/s from the target.
const PAUSE: Duration = Duration::from_millis(50);

type Shared = Arc<Mutex<BackfillStatus>>;

fn update(status: &Shared, f: impl FnOnce(&mut BackfillStatus)) {
    f(&mut status.lock().unwrap_or_else(|p| p.into_inner()));
}

fn now_ms() -> i64 {
    crate::clock::to_millis(time::OffsetDateTime::now_utc())
}

/// Starts a backfill of `target`'s files modified since `since_ms`; a conflict while one runs
/// or before the log was first read.
pub async fn start(
    state: &super::State,
    target: Arc<Target>,
    store: Store,
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
    let shared: Shared = Arc::new(Mutex::new(BackfillStatus {
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
    }));
    {
        let mut all = state.backfills.lock().unwrap_or_else(|p| p.into_inner());
        if all
            .get(&id)
            .is_some_and(|s| s.lock().unwrap_or_else(|p| p.into_inner()).running)
        {
            return Err(AppError::conflict(
                "A backfill of this target is already running; its progress is on the Logs page.",
            ));
        }
        all.insert(id.clone(), shared.clone());
    }
    let first = shared.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let task = shared.clone();
    let span = tracing::info_span!("logs_backfill", target_id = %target.spec.id);
    tokio::spawn(tracing::Instrument::instrument(
        async move {
            let result = run(&target, &store, &settings, since_ms, &task).await;
            update(&task, |s| {
                s.running = false;
                s.finished_at = Some(crate::clock::rfc3339_millis(now_ms()));
                if let Err(e) = result {
                    tracing::warn!(error = %e, "log backfill stopped");
                    s.error = Some(e.to_string());
                }
            });
        },
        span,
    ));
    Ok(first)
}

async fn run(
    target: &Target,
    store: &Store,
    settings: &super::spec::TailSettings,
    since_ms: i64,
    status: &Shared,
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
            update(status, |s| {
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
    update(status, |s| {
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
                update(status, |s| {
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
                update(status, |s| {
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
                update(status, |s| {
                    s.notes.push(format!(
                        "{} was replaced or backfilled elsewhere meanwhile; left as it is.",
                        file.name
                    ))
                });
                break;
            }
            update(status, |s| {
                s.bytes_done += next - offset;
                s.entries += entries.len() as i64;
            });
            offset = next;
            tokio::time::sleep(PAUSE).await;
        }
    }
    Ok(())
}
