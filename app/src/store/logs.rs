//! The server logs pgpanel has read (migration 0012): where reading got to in each file, the
//! entries, and per-minute counts. A batch of entries and the cursor that follows them are
//! written in one transaction, and an entry is unique by its provenance (file, generation,
//! offset), so reading a range twice stores it once.

use sqlx::Row;

use super::{Backend, Bind, Store, StoreError, Where, like_escape, query_with};
use crate::features::logs::model::{AuditFields, ErrorGroup, Kind, LogEntry, MinuteCount};

/// Where reading has got to in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCursor {
    pub file_name: String,
    /// Changes when the file is found truncated or reused.
    pub generation: i64,
    /// How many first bytes `head_hash` covers.
    pub head_len: i64,
    pub head_hash: String,
    /// Just past the last complete record stored.
    pub offset: i64,
    pub size_seen: i64,
    /// Inside a record longer than a read: the rest of it up to the next line is dropped.
    pub skipping: bool,
    /// Where following began: the bytes before it were not read (a target seen for the first
    /// time starts at the end of its log) until a backfill reads them.
    pub start: i64,
    /// How far a backfill has read from the file's start (unread: `backfilled..start`).
    pub backfilled: i64,
}

/// A target's latest backfill as the store has it (`Store::log_backfill`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBackfill {
    /// The instance that runs (or ran) it.
    pub instance_id: String,
    pub running: bool,
    /// The status as JSON (`logs::model::BackfillStatus`).
    pub body: String,
    /// Whether that instance is alive (a running backfill of a lost one is interrupted).
    pub instance_alive: bool,
}

impl LogCursor {
    /// The bytes at the file's start not read yet (`backfilled..start`) of a file now `size`
    /// bytes long.
    pub fn unread(&self, size: i64) -> i64 {
        (self.start.min(size) - self.backfilled).max(0)
    }
}

/// An entry to store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewLogEntry {
    pub at_ms: i64,
    pub severity: String,
    pub sqlstate: Option<String>,
    pub kind: Option<Kind>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub application: Option<String>,
    pub client: Option<String>,
    pub pid: Option<i32>,
    pub session_id: Option<String>,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub context: Option<String>,
    pub statement: Option<String>,
    pub duration_ms: Option<f64>,
    pub query_id: Option<i64>,
    pub audit: Option<AuditFields>,
    /// The message with numbers, quoted names and literals replaced (errors grouped by it).
    pub pattern: Option<String>,
    pub cut: bool,
    pub offset: i64,
}

/// Counts of one minute, kind and severity to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinuteDelta {
    pub minute_ms: i64,
    pub kind: Kind,
    pub severity: String,
    pub entries: i64,
    pub summarised: i64,
}

/// A page of entries: every filter optional, newest first, keyset on (time, id).
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    pub target: String,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub severities: Vec<&'static str>,
    pub kinds: Vec<Kind>,
    pub user: Option<String>,
    pub database: Option<String>,
    pub application: Option<String>,
    pub pid: Option<i64>,
    pub text: Option<String>,
    /// Entries older than this (time, id).
    pub before: Option<(i64, i64)>,
    pub limit: i64,
    /// How the text filter is answered ([`Store::log_text_plan`]); None: decided again by
    /// each statement.
    pub text_plan: Option<TextPlan>,
}

/// How the text filter is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextPlan {
    /// Reading the newest entries (frequent text, short text, the PostgreSQL store).
    Scan,
    /// The ids of the entries the trigram index found, as a JSON array (SQLite store, rare
    /// text): the index is searched once per request, not once per statement.
    Hits(std::sync::Arc<str>),
}

const COLUMNS: &str = "id, at_ms, severity, sqlstate, kind, username, database_name, application, \
     client, pid, session_id, message, detail, hint, context, statement, duration_ms, query_id, \
     audit, cut, file_name, file_offset";

fn entry(r: &sqlx::any::AnyRow) -> Result<LogEntry, StoreError> {
    let kind: String = r.try_get("kind")?;
    let audit: Option<String> = r.try_get("audit")?;
    let pid: Option<i64> = r.try_get("pid")?;
    Ok(LogEntry {
        id: r.try_get("id")?,
        time: crate::clock::rfc3339_millis(r.try_get("at_ms")?),
        severity: r.try_get("severity")?,
        sqlstate: r.try_get("sqlstate")?,
        kind: Kind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("log kind {kind}")))?,
        user: r.try_get("username")?,
        database: r.try_get("database_name")?,
        application: r.try_get("application")?,
        client: r.try_get("client")?,
        pid: pid.and_then(|p| i32::try_from(p).ok()),
        session_id: r.try_get("session_id")?,
        message: r.try_get("message")?,
        detail: r.try_get("detail")?,
        hint: r.try_get("hint")?,
        context: r.try_get("context")?,
        statement: r.try_get("statement")?,
        duration_ms: r.try_get("duration_ms")?,
        query_id: r.try_get("query_id")?,
        audit: audit
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("log audit fields: {e}")))?,
        cut: r.try_get::<i64, _>("cut")? != 0,
        file: r.try_get("file_name")?,
        offset: r.try_get("file_offset")?,
    })
}

/// Text found by the trigram index at most this often is looked up there (SQLite store);
/// more often, reading the newest entries finds a page sooner.
const RARE_TEXT: i64 = 1000;

/// The text as an FTS5 phrase: a substring, any case (three characters or more).
fn phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

impl LogQuery {
    /// The FROM and WHERE clauses of every filter but the keyset, the text filter as `plan`
    /// says: the index's hits are the outer loop (`cross join` fixes SQLite's join order: else
    /// it walks the time index and looks each entry up in the hits), else a scan of the newest
    /// entries.
    fn filters(&self, plan: &TextPlan, backend: Backend) -> (String, Where<'_>) {
        let mut w = Where::default();
        let from = match plan {
            TextPlan::Hits(ids) => format!(
                "(select value as hit from json_each({})) hits \
                 cross join log_entries on log_entries.id = hits.hit",
                w.bind(Bind::Owned(ids.to_string()))
            ),
            TextPlan::Scan => "log_entries".into(),
        };
        let indexed = matches!(plan, TextPlan::Hits(_));
        w.add("target_id", "=", Bind::Text(&self.target));
        if let Some(ms) = self.since_ms {
            w.add("at_ms", ">=", Bind::Int(ms));
        }
        if let Some(ms) = self.until_ms {
            w.add("at_ms", "<", Bind::Int(ms));
        }
        if !self.severities.is_empty() {
            let marks: Vec<String> = self
                .severities
                .iter()
                .map(|s| w.bind(Bind::Text(s)))
                .collect();
            w.conditions
                .push(format!("severity in ({})", marks.join(", ")));
        }
        if !self.kinds.is_empty() {
            let marks: Vec<String> = self
                .kinds
                .iter()
                .map(|k| w.bind(Bind::Text(k.name())))
                .collect();
            w.conditions.push(format!("kind in ({})", marks.join(", ")));
        }
        for (column, value) in [
            ("username", &self.user),
            ("database_name", &self.database),
            ("application", &self.application),
        ] {
            if let Some(v) = value {
                w.add(column, "=", Bind::Text(v));
            }
        }
        if let Some(pid) = self.pid {
            w.add("pid", "=", Bind::Int(pid));
        }
        if let Some(text) = self.text.as_ref().filter(|_| !indexed) {
            let mark = w.bind(Bind::Owned(format!("%{}%", like_escape(text))));
            // Any case: SQLite's LIKE already ignores the case of ASCII letters (its lower()
            // folds nothing more, so lowering every row's three texts would only cost time);
            // PostgreSQL's LIKE does not.
            let fold = |column: &str| match backend {
                Backend::Sqlite => format!("{column} like {mark} escape '\\'"),
                Backend::Postgres => format!("lower({column}) like lower({mark}) escape '\\'"),
            };
            w.conditions.push(format!(
                "({} or {} or {})",
                fold("message"),
                fold("detail"),
                fold("statement")
            ));
        }
        (from, w)
    }
}

fn clause(w: &Where<'_>) -> String {
    if w.conditions.is_empty() {
        String::new()
    } else {
        format!(" where {}", w.conditions.join(" and "))
    }
}

/// Entries of one file (provenance: its name and generation) and the minute counts they add;
/// an entry already stored at that place is left alone.
async fn insert_entries(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    target: &str,
    file: &str,
    generation: i64,
    entries: &[NewLogEntry],
    minutes: &[MinuteDelta],
) -> Result<(), StoreError> {
    for e in entries {
        let audit = e
            .audit
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "insert into log_entries (target_id, at_ms, severity, sqlstate, kind, username, \
             database_name, application, client, pid, session_id, message, detail, hint, \
             context, statement, duration_ms, query_id, audit, pattern, cut, file_name, \
             generation, file_offset) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) \
             on conflict (target_id, file_name, generation, file_offset) do nothing",
        )
        .bind(target)
        .bind(e.at_ms)
        .bind(&e.severity)
        .bind(&e.sqlstate)
        .bind(e.kind.unwrap_or(Kind::Other).name())
        .bind(&e.user)
        .bind(&e.database)
        .bind(&e.application)
        .bind(&e.client)
        .bind(e.pid.map(i64::from))
        .bind(&e.session_id)
        .bind(&e.message)
        .bind(&e.detail)
        .bind(&e.hint)
        .bind(&e.context)
        .bind(&e.statement)
        .bind(e.duration_ms)
        .bind(e.query_id)
        .bind(audit)
        .bind(&e.pattern)
        .bind(i64::from(e.cut))
        .bind(file)
        .bind(generation)
        .bind(e.offset)
        .execute(&mut **tx)
        .await?;
    }
    for m in minutes {
        sqlx::query(
            "insert into log_minutes (target_id, minute_ms, kind, severity, entries, summarised) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (target_id, minute_ms, kind, severity) do update set \
             entries = log_minutes.entries + excluded.entries, \
             summarised = log_minutes.summarised + excluded.summarised",
        )
        .bind(target)
        .bind(m.minute_ms)
        .bind(m.kind.name())
        .bind(&m.severity)
        .bind(m.entries)
        .bind(m.summarised)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Stores how `target`'s log is read (the Logs page's source status, JSON), for the
    /// instances that do not read it (migration 0017).
    pub async fn put_log_source(
        &self,
        target: &str,
        at_ms: i64,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into log_sources (target_id, at_ms, body) values ($1, $2, $3) \
             on conflict (target_id) do update set at_ms = excluded.at_ms, body = excluded.body",
        )
        .bind(target)
        .bind(at_ms)
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How `target`'s log is read, as its reader last stored it.
    pub async fn log_source(&self, target: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("select body from log_sources where target_id = $1")
                .bind(target)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Takes `target`'s backfill row for `instance` with the new backfill's status `body`;
    /// false (nothing changed) while another backfill of the target runs on an instance that is
    /// alive: running, not stopped, heard of within `lost_after_ms` by the store's clock.
    pub async fn claim_log_backfill(
        &self,
        target: &str,
        instance: &str,
        body: &str,
        lost_after_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken: Option<String> = sqlx::query_scalar(&format!(
            "insert into log_backfills (target_id, instance_id, running, body) \
             values ($1, $2, 1, $3) \
             on conflict (target_id) do update set instance_id = excluded.instance_id, \
                 running = 1, body = excluded.body \
             where log_backfills.running = 0 or not exists ( \
                 select 1 from instances i where i.id = log_backfills.instance_id \
                 and i.stopped_at_ms is null and i.heartbeat_at_ms >= {} - $4) \
             returning target_id",
            self.now_sql()
        ))
        .bind(target)
        .bind(instance)
        .bind(body)
        .bind(lost_after_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(taken.is_some())
    }

    /// Stores the progress of `instance`'s backfill of `target`; false when the row is no
    /// longer that instance's (another one took it over, seeing this one lost).
    pub async fn put_log_backfill(
        &self,
        target: &str,
        instance: &str,
        running: bool,
        body: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "update log_backfills set running = $3, body = $4 \
             where target_id = $1 and instance_id = $2",
        )
        .bind(target)
        .bind(instance)
        .bind(i64::from(running))
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `target`'s latest backfill as its instance last stored it, and whether that instance is
    /// alive (running, not stopped, heard of within `lost_after_ms` by the store's clock).
    pub async fn log_backfill(
        &self,
        target: &str,
        lost_after_ms: i64,
    ) -> Result<Option<StoredBackfill>, StoreError> {
        let row = sqlx::query(&format!(
            "select b.instance_id, b.running, b.body, cast(case when exists ( \
                 select 1 from instances i where i.id = b.instance_id \
                 and i.stopped_at_ms is null and i.heartbeat_at_ms >= {} - $2) \
                 then 1 else 0 end as bigint) as alive \
             from log_backfills b where b.target_id = $1",
            self.now_sql()
        ))
        .bind(target)
        .bind(lost_after_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredBackfill {
                instance_id: r.try_get("instance_id")?,
                running: r.try_get::<i64, _>("running")? != 0,
                body: r.try_get("body")?,
                instance_alive: r.try_get::<i64, _>("alive")? != 0,
            })
        })
        .transpose()
    }

    /// Every file cursor of a target.
    pub async fn log_cursors(&self, target: &str) -> Result<Vec<LogCursor>, StoreError> {
        let rows = sqlx::query(
            "select file_name, generation, head_len, head_hash, offset_bytes, size_seen, skipping, \
             start_offset, backfilled from log_cursors where target_id = $1",
        )
        .bind(target)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogCursor {
                    file_name: r.try_get("file_name")?,
                    generation: r.try_get("generation")?,
                    head_len: r.try_get("head_len")?,
                    head_hash: r.try_get("head_hash")?,
                    offset: r.try_get("offset_bytes")?,
                    size_seen: r.try_get("size_seen")?,
                    skipping: r.try_get::<i64, _>("skipping")? != 0,
                    start: r.try_get("start_offset")?,
                    backfilled: r.try_get("backfilled")?,
                })
            })
            .collect()
    }

    /// Stores a batch of entries of one file, the minute counts they add, and the cursor past
    /// them, in one transaction (an entry already stored at that place is left alone).
    pub async fn record_log_batch(
        &self,
        target: &str,
        cursor: &LogCursor,
        entries: &[NewLogEntry],
        minutes: &[MinuteDelta],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_entries(
            &mut tx,
            target,
            &cursor.file_name,
            cursor.generation,
            entries,
            minutes,
        )
        .await?;
        sqlx::query(
            "insert into log_cursors (target_id, file_name, generation, head_len, head_hash, \
             offset_bytes, size_seen, skipping, updated_ms, start_offset) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             on conflict (target_id, file_name) do update set generation = excluded.generation, \
             head_len = excluded.head_len, head_hash = excluded.head_hash, \
             offset_bytes = excluded.offset_bytes, size_seen = excluded.size_seen, \
             skipping = excluded.skipping, updated_ms = excluded.updated_ms, \
             start_offset = excluded.start_offset, \
             backfilled = case when log_cursors.generation = excluded.generation \
                 then log_cursors.backfilled else 0 end",
        )
        .bind(target)
        .bind(&cursor.file_name)
        .bind(cursor.generation)
        .bind(cursor.head_len)
        .bind(&cursor.head_hash)
        .bind(cursor.offset)
        .bind(cursor.size_seen)
        .bind(i64::from(cursor.skipping))
        .bind(now_ms)
        .bind(cursor.start)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores what a backfill read of a file's unread start and how far it has got, in one
    /// transaction; nothing when the file was replaced since (another generation).
    pub async fn record_log_backfill(
        &self,
        target: &str,
        cursor: &LogCursor,
        entries: &[NewLogEntry],
        minutes: &[MinuteDelta],
        backfilled: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query(
            "update log_cursors set backfilled = $1 where target_id = $2 and file_name = $3 \
             and generation = $4 and backfilled < $1",
        )
        .bind(backfilled)
        .bind(target)
        .bind(&cursor.file_name)
        .bind(cursor.generation)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        insert_entries(
            &mut tx,
            target,
            &cursor.file_name,
            cursor.generation,
            entries,
            minutes,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets the cursor of a file that is gone.
    pub async fn forget_log_file(&self, target: &str, file: &str) -> Result<(), StoreError> {
        sqlx::query("delete from log_cursors where target_id = $1 and file_name = $2")
            .bind(target)
            .bind(file)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A page of entries, newest first.
    pub async fn log_page(&self, q: &LogQuery) -> Result<Vec<LogEntry>, StoreError> {
        let plan = self.text_plan(q).await?;
        let (from, mut w) = q.filters(&plan, self.backend());
        if let Some((at, id)) = q.before {
            let (a, b, c) = (
                w.bind(Bind::Int(at)),
                w.bind(Bind::Int(at)),
                w.bind(Bind::Int(id)),
            );
            w.conditions
                .push(format!("(at_ms < {a} or (at_ms = {b} and id < {c}))"));
        }
        let limit = w.bind(Bind::Int(q.limit));
        let sql = format!(
            "select {COLUMNS} from {from}{} order by at_ms desc, id desc limit {limit}",
            clause(&w)
        );
        let rows = query_with(&sql, w.binds).fetch_all(&self.pool).await?;
        rows.iter().map(entry).collect()
    }

    /// The query's [`LogQuery::text_plan`], else [`Store::log_text_plan`].
    async fn text_plan(&self, q: &LogQuery) -> Result<TextPlan, StoreError> {
        match &q.text_plan {
            Some(plan) => Ok(plan.clone()),
            None => self.log_text_plan(q).await,
        }
    }

    /// The text filter if the trigram index can answer it: a SQLite store, three characters
    /// or more.
    fn indexable<'q>(&self, q: &'q LogQuery) -> Option<&'q String> {
        q.text
            .as_ref()
            .filter(|t| t.chars().count() >= 3 && self.backend() == Backend::Sqlite)
    }

    /// How the text filter is best answered: through the trigram index when it can be
    /// ([`Store::indexable`]) and at most [`RARE_TEXT`] indexed entries contain the text (the
    /// search stops there; a few ms), else by reading. Decide once per request and keep it in
    /// [`LogQuery::text_plan`].
    pub async fn log_text_plan(&self, q: &LogQuery) -> Result<TextPlan, StoreError> {
        let Some(text) = self.indexable(q) else {
            return Ok(TextPlan::Scan);
        };
        let hits: Vec<i64> =
            sqlx::query_scalar("select rowid from log_search where log_search match $1 limit $2")
                .bind(phrase(text))
                .bind(RARE_TEXT + 1)
                .fetch_all(&self.pool)
                .await?;
        if hits.len() as i64 > RARE_TEXT {
            return Ok(TextPlan::Scan);
        }
        let list: Vec<String> = hits.iter().map(i64::to_string).collect();
        Ok(TextPlan::Hits(format!("[{}]", list.join(",")).into()))
    }

    /// One entry of a target.
    pub async fn log_entry(&self, target: &str, id: i64) -> Result<Option<LogEntry>, StoreError> {
        let sql = format!("select {COLUMNS} from log_entries where target_id = $1 and id = $2");
        let row = sqlx::query(&sql)
            .bind(target)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry).transpose()
    }

    /// Entries per minute by kind over [since, until) (every severity summed).
    pub async fn log_minutes(
        &self,
        target: &str,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<MinuteCount>, StoreError> {
        let rows = sqlx::query(
            "select minute_ms, kind, cast(sum(entries) as bigint) as entries, \
             cast(sum(summarised) as bigint) as summarised \
             from log_minutes where target_id = $1 and minute_ms >= $2 and minute_ms < $3 \
             group by minute_ms, kind order by minute_ms, kind",
        )
        .bind(target)
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(MinuteCount {
                    minute_ms: r.try_get("minute_ms")?,
                    kind: Kind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("log kind {kind}")))?,
                    count: r.try_get("entries")?,
                    summarised: r.try_get("summarised")?,
                })
            })
            .collect()
    }

    /// Errors (ERROR, FATAL, PANIC) matching the filters, grouped by message pattern, most
    /// frequent first.
    pub async fn log_error_groups(
        &self,
        q: &LogQuery,
        limit: i64,
    ) -> Result<Vec<ErrorGroup>, StoreError> {
        let plan = self.text_plan(q).await?;
        let (from, mut w) = q.filters(&plan, self.backend());
        w.conditions
            .push("severity in ('ERROR', 'FATAL', 'PANIC') and pattern is not null".into());
        let limit = w.bind(Bind::Int(limit));
        let sql = format!(
            "select pattern, max(sqlstate) as sqlstate, count(*) as n, max(at_ms) as last_ms, \
             max(id) as example from {from}{} group by pattern \
             order by n desc, last_ms desc limit {limit}",
            clause(&w)
        );
        let rows = query_with(&sql, w.binds).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(ErrorGroup {
                    pattern: r.try_get("pattern")?,
                    sqlstate: r.try_get("sqlstate")?,
                    count: r.try_get("n")?,
                    last: crate::clock::rfc3339_millis(r.try_get("last_ms")?),
                    example_id: r.try_get("example")?,
                })
            })
            .collect()
    }

    /// Retention: entries and minute counts older than `before_ms`.
    pub async fn prune_logs(&self, before_ms: i64) -> Result<u64, StoreError> {
        let entries = sqlx::query("delete from log_entries where at_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("delete from log_minutes where minute_ms < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(entries.rows_affected())
    }
}
