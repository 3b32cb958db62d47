//! The tailer: one task per target, beside its monitor and sampler. Every poll it reads the log
//! settings (once a minute), lists the files of the format it follows, and for each file reads
//! what is new since its cursor — a bounded number of bytes per poll — parses complete records,
//! and stores them with the cursor that follows them in one transaction.
//!
//! Cursors: per file its name, a hash of its first bytes and the offset past the last complete
//! record. A file smaller than its offset or whose first bytes changed was truncated or reused:
//! it is read again from its start under a new generation. A target seen for the first time
//! starts at the end of every file (history is not read on first contact); a file that appears
//! later (rotation) is read from its start — unless it begins like a file already read (a copy
//! or rename by logrotate: `postgresql-15-main.log.1`), then it continues from that file's
//! offset; compressed rotations are not read. Restarts of pgpanel continue from the stored
//! cursors; a restart of the server changes nothing for them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::db::{self, LogFacts, LogFile};
use super::ingest::{Rules, Tally, ingest};
use super::model::{FileCursor, SourceStatus};
use super::parse::stderr::Prefix;
use super::parse::{Format, Reader, Record};
use super::source::{COLLECTOR_FIX, Problem, Source};
use super::spec::{LogMode, TailSettings};
use crate::features::targets::monitor::Target;
use crate::store::{LogCursor, Store};

/// Bytes per read.
pub const CHUNK: i64 = 1024 * 1024;
/// How many first bytes identify a file.
const HEAD: i64 = 256;
/// The settings are read again after this long.
const FACTS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Tailer {
    target: Arc<Target>,
    store: Store,
    settings: TailSettings,
    cursors: Option<HashMap<String, LogCursor>>,
    /// No cursor was stored for this target: start at the end of every file.
    fresh: bool,
    facts: Option<(Instant, LogFacts)>,
    prefix: Option<Arc<Prefix>>,
    tally: Tally,
    /// The cursors as the current poll began.
    before: HashMap<String, LogCursor>,
}

impl Tailer {
    pub fn new(target: Arc<Target>, store: Store, settings: TailSettings) -> Self {
        Self {
            target,
            store,
            settings,
            cursors: None,
            fresh: false,
            facts: None,
            prefix: None,
            tally: Tally::default(),
            before: HashMap::new(),
        }
    }

    fn id(&self) -> &str {
        &self.target.spec.id
    }

    /// Reads the cursors from the store again at the next poll (another instance read the log
    /// while this one did not hold the target's lease).
    pub fn forget(&mut self) {
        self.cursors = None;
    }

    /// One poll; the status says what was read or why nothing could be.
    pub async fn poll(&mut self) -> SourceStatus {
        let spec = self.target.spec.logs.clone();
        let mode = match &spec.mode {
            LogMode::Sql => "sql",
            LogMode::File(_) => "file",
            LogMode::Off => "off",
        };
        let mut status = SourceStatus {
            mode: mode.into(),
            format: None,
            reading: false,
            problem: None,
            fix: None,
            files: Vec::new(),
            advice: Vec::new(),
            read_elsewhere: None,
            polled_at: Some(crate::clock::rfc3339_millis(crate::clock::to_millis(
                time::OffsetDateTime::now_utc(),
            ))),
        };
        if spec.mode == LogMode::Off {
            status.problem =
                Some("Reading the log is turned off for this target (logs = \"off\").".into());
            return status;
        }
        match self.poll_inner(&mut status).await {
            Ok(()) => status.reading = true,
            Err(p) => {
                status.problem = Some(p.problem);
                status.fix = p.fix;
            }
        }
        status
    }

    async fn poll_inner(&mut self, status: &mut SourceStatus) -> Result<(), Problem> {
        let spec = self.target.spec.logs.clone();
        let up = self.target.is_up();
        if up
            && self
                .facts
                .as_ref()
                .is_none_or(|(at, _)| at.elapsed() > FACTS_EVERY)
        {
            match db::facts(self.target.pool()).await {
                Ok(f) => self.facts = Some((Instant::now(), f)),
                Err(e) => {
                    if spec.mode == LogMode::Sql {
                        return Err(super::source::sql_problem(
                            &e,
                            self.id(),
                            "reading the log settings",
                        ));
                    }
                }
            }
        }
        let facts = self.facts.as_ref().map(|(_, f)| f.clone());
        if let Some(f) = &facts {
            status.advice = f.advice(self.target.spec.logs.format.as_deref());
        }
        let source = match &spec.mode {
            LogMode::Sql => {
                if !up {
                    return Err(Problem::new(
                        "The target is not reachable; the log is read again when it is back.",
                        None,
                    ));
                }
                let Some(f) = &facts else {
                    return Err(Problem::new(
                        "The log settings could not be read yet.",
                        None,
                    ));
                };
                if let Some(service) = &f.managed_by {
                    return Err(Problem::new(
                        format!(
                            "This looks like a managed service ({service}): its log is not in a directory SQL can read. Use the provider's log service; pgpanel shows what it can read from SQL."
                        ),
                        None,
                    ));
                }
                if !f.collector {
                    return Err(Problem::new(
                        "The server writes its log to stderr without the logging collector (logging_collector = off): the log is outside log_directory, where SQL cannot read it.",
                        Some(COLLECTOR_FIX.into()),
                    ));
                }
                if !f.has_reader || !f.can_read {
                    let why = if f.has_reader {
                        format!(
                            "The monitor login may not execute pgpanel.read_log in database {:?}.",
                            f.database
                        )
                    } else {
                        format!(
                            "pgpanel's log reader function pgpanel.read_log is not installed in database {:?} (the monitor login's).",
                            f.database
                        )
                    };
                    return Err(Problem::new(
                        why,
                        Some(format!(
                            "Run the SQL printed by `pgpanel setup-sql --target {}` as a superuser (it installs the reader — a SECURITY DEFINER function that reads only bare file names inside log_directory — and grants it to the monitor login; idempotent). Never grant pg_read_file, pg_read_binary_file or pg_read_server_files: they read every table's raw files.",
                            self.id()
                        )),
                    ));
                }
                Source::Sql {
                    pool: self.target.pool().clone(),
                    target_id: self.id().to_owned(),
                }
            }
            LogMode::File(path) => Source::File(path.clone()),
            LogMode::Off => return Ok(()),
        };
        let files = source.files().await?;
        let format = spec
            .format
            .as_deref()
            .and_then(Format::parse)
            .or_else(|| {
                facts
                    .as_ref()
                    .and_then(|f| f.formats().first().copied())
                    .and_then(Format::parse)
            })
            .or_else(|| files.last().map(|f| Format::of_file(&f.name)))
            .unwrap_or(Format::Stderr);
        status.format = Some(format.name().into());
        let reader = self.reader(format, facts.as_ref())?;
        // Compressed files (rotated away by logrotate) are not read.
        let files: Vec<LogFile> = files
            .into_iter()
            .filter(|f| Format::of_file(&f.name) == format)
            .filter(|f| {
                ![".gz", ".bz2", ".xz", ".zst"]
                    .iter()
                    .any(|z| f.name.ends_with(z))
            })
            .collect();
        if self.cursors.is_none() {
            let stored = self
                .store
                .log_cursors(self.id())
                .await
                .map_err(store_problem)?;
            self.fresh = stored.is_empty();
            self.cursors = Some(
                stored
                    .into_iter()
                    .map(|c| (c.file_name.clone(), c))
                    .collect(),
            );
        }
        // The cursors as the poll began: a renamed copy is matched against these (its original
        // may be found truncated, and its cursor reset, earlier in this poll).
        self.before = self.cursors.clone().unwrap_or_default();
        let mut budget = i64::try_from(self.settings.max_bytes_per_poll).unwrap_or(i64::MAX);
        let newest = files.last().map(|f| f.name.clone());
        for file in &files {
            let is_newest = Some(&file.name) == newest.as_ref();
            self.follow(&source, &reader, file, is_newest, &mut budget)
                .await?;
        }
        // Files that are gone: forget their cursors.
        let listed: std::collections::HashSet<&str> =
            files.iter().map(|f| f.name.as_str()).collect();
        let gone: Vec<String> = self
            .cursors
            .as_ref()
            .map(|c| {
                c.keys()
                    .filter(|k| !listed.contains(k.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for name in gone {
            self.store
                .forget_log_file(self.id(), &name)
                .await
                .map_err(store_problem)?;
            if let Some(c) = self.cursors.as_mut() {
                c.remove(&name);
            }
        }
        self.fresh = false;
        let cursors = self.cursors.as_ref();
        status.files = files
            .iter()
            .map(|f| FileCursor {
                name: f.name.clone(),
                size: f.size,
                offset: cursors.and_then(|c| c.get(&f.name)).map_or(0, |c| c.offset),
                unread: cursors
                    .and_then(|c| c.get(&f.name))
                    .map_or(0, |c| c.unread(f.size)),
            })
            .collect();
        let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
        self.tally.forget_before(now - 10 * 60_000);
        Ok(())
    }

    fn reader(&mut self, format: Format, facts: Option<&LogFacts>) -> Result<Reader, Problem> {
        let prefix = if format == Format::Stderr {
            let setting = super::source::prefix_setting(&self.target, facts);
            match &self.prefix {
                Some(p) if p.setting() == setting => Some(p.clone()),
                _ => {
                    let p = Arc::new(
                        Prefix::new(&setting).map_err(|e| Problem::new(e.to_string(), None))?,
                    );
                    self.prefix = Some(p.clone());
                    Some(p)
                }
            }
        } else {
            None
        };
        Ok(Reader {
            format,
            prefix,
            zone: super::source::zone(facts),
        })
    }

    /// Reads what is new in one file.
    async fn follow(
        &mut self,
        source: &Source,
        reader: &Reader,
        file: &LogFile,
        is_newest: bool,
        budget: &mut i64,
    ) -> Result<(), Problem> {
        let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
        let known = self
            .cursors
            .as_ref()
            .and_then(|c| c.get(&file.name))
            .cloned();
        let mut cursor = match known {
            Some(c) => c,
            None => {
                let mut c = LogCursor {
                    file_name: file.name.clone(),
                    generation: now,
                    head_len: 0,
                    head_hash: String::new(),
                    offset: if self.fresh { file.size } else { 0 },
                    size_seen: -1,
                    skipping: false,
                    // A target seen for the first time: what is already there is left for a
                    // backfill.
                    start: if self.fresh { file.size } else { 0 },
                    backfilled: 0,
                };
                // A file renamed by rotation (logrotate's `.1`, or copytruncate's copy) begins
                // like one already read: continue where that one was.
                if !self.fresh && file.size > 0 {
                    let head = source
                        .read(&file.name, 0, HEAD.min(file.size))
                        .await?
                        .unwrap_or_default();
                    let same_start = |k: &&LogCursor| {
                        usize::try_from(k.head_len).is_ok_and(|n| {
                            n > 0
                                && n <= head.len()
                                && hash(&head[..n]) == k.head_hash
                                && k.offset <= file.size
                        })
                    };
                    if let Some(known) = self.before.values().find(same_start) {
                        c.offset = known.offset;
                        c.start = known.start.min(known.offset);
                    }
                    c.head_len = i64::try_from(head.len()).unwrap_or(0);
                    c.head_hash = hash(&head);
                }
                c
            }
        };
        let mut notes: Vec<Record> = Vec::new();
        // Truncated or reused?
        let mut reset = file.size < cursor.offset;
        if !reset && cursor.head_len > 0 && file.size != cursor.size_seen {
            let head = source
                .read(&file.name, 0, cursor.head_len)
                .await?
                .unwrap_or_default();
            reset = hash(&head) != cursor.head_hash;
        }
        if reset {
            notes.push(note(
                now,
                cursor.offset,
                format!("pgpanel: log file {} was truncated or replaced; reading it again from its start.", file.name),
            ));
            cursor = LogCursor {
                generation: now.max(cursor.generation + 1),
                head_len: 0,
                head_hash: String::new(),
                offset: 0,
                skipping: false,
                start: 0,
                backfilled: 0,
                ..cursor
            };
        }
        if cursor.head_len == 0 && file.size > 0 {
            let head = source
                .read(&file.name, 0, HEAD.min(file.size))
                .await?
                .unwrap_or_default();
            cursor.head_len = i64::try_from(head.len()).unwrap_or(0);
            cursor.head_hash = hash(&head);
        }
        let backlog = file.size - cursor.offset;
        let max_backlog = i64::try_from(self.settings.max_backlog_bytes).unwrap_or(i64::MAX);
        if backlog > max_backlog {
            notes.push(note(
                now,
                cursor.offset,
                format!(
                    "pgpanel: skipped {} MB of log file {} (more than the {} MB a target may be behind); older entries were not read.",
                    backlog / 1_000_000,
                    file.name,
                    max_backlog / 1_000_000
                ),
            ));
            cursor.offset = file.size;
            cursor.skipping = reader.format != Format::Stderr;
        }
        let unchanged = file.size == cursor.size_seen;
        let rules = Rules {
            slow_ms: self.settings.slow_ms,
            max_per_minute: self.settings.max_entries_per_minute,
            now_ms: now,
        };
        let mut first = true;
        loop {
            let len = CHUNK.min(file.size - cursor.offset).min(*budget);
            let mut records = std::mem::take(&mut notes);
            let mut progressed = false;
            if len > 0 {
                let Some(bytes) = source.read(&file.name, cursor.offset, len).await? else {
                    break;
                };
                if bytes.is_empty() {
                    break;
                }
                *budget -= i64::try_from(bytes.len()).unwrap_or(0);
                let mut start = 0;
                if cursor.skipping {
                    match bytes.iter().position(|b| *b == b'\n') {
                        Some(i) => {
                            start = i + 1;
                            cursor.skipping = false;
                        }
                        None => start = bytes.len(),
                    }
                }
                let read_to = cursor.offset + i64::try_from(bytes.len()).unwrap_or(0);
                let at_end = read_to >= file.size && (unchanged || !is_newest);
                let base = u64::try_from(cursor.offset).unwrap_or(0) + start as u64;
                let parsed = reader.parse(&bytes[start..], base, at_end);
                if parsed.consumed == 0
                    && start == 0
                    && i64::try_from(bytes.len()).unwrap_or(0) == CHUNK
                {
                    // One record longer than a read: keep its beginning, drop the rest.
                    records.push(note(
                        now,
                        cursor.offset,
                        format!(
                            "pgpanel: a log record of more than {} KiB at byte {} of {} was not read; its start: {}",
                            CHUNK / 1024,
                            cursor.offset,
                            file.name,
                            super::parse::text(&bytes[..bytes.len().min(2048)])
                        ),
                    ));
                    cursor.offset = read_to;
                    cursor.skipping = true;
                    progressed = true;
                } else {
                    let used = start + parsed.consumed;
                    cursor.offset += i64::try_from(used).unwrap_or(0);
                    progressed = used > 0;
                    records.extend(parsed.records);
                }
            }
            let last = !progressed || cursor.offset >= file.size || *budget <= 0;
            if last {
                cursor.size_seen = file.size;
            }
            if !records.is_empty() || progressed || first || last {
                let (entries, minutes) = ingest(records, rules, &mut self.tally);
                self.store
                    .record_log_batch(self.id(), &cursor, &entries, &minutes, now)
                    .await
                    .map_err(store_problem)?;
                if let Some(c) = self.cursors.as_mut() {
                    c.insert(cursor.file_name.clone(), cursor.clone());
                }
            }
            first = false;
            if last {
                break;
            }
        }
        Ok(())
    }
}

/// A record pgpanel writes itself (a gap, a reset), shown among the server's.
fn note(now: i64, offset: i64, message: String) -> Record {
    Record {
        offset: u64::try_from(offset).unwrap_or(0),
        at_ms: now,
        severity: "WARNING".into(),
        application: Some("pgpanel".into()),
        message,
        ..Record::default()
    }
}

fn hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn store_problem(e: crate::store::StoreError) -> Problem {
    tracing::error!(error = %e, "storing log entries failed");
    Problem::new(
        "pgpanel could not write to its own store; reading resumes from the last stored place.",
        None,
    )
}
