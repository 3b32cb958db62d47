//! The whole text of an entry the store keeps cut (`GET /api/logs/entry?target=&id=`): read
//! again from the server log at the entry's provenance (file, byte offset) through the same
//! reader the tailer uses, at most [`MAX_RECORD`] bytes, checked to be the same record (a file
//! truncated and written again since holds another one there).

use super::model::{Kind, LogEntry};
use super::parse::Format;
use crate::error::AppError;
use crate::features::targets::monitor::Target;

/// The longest record read back.
pub const MAX_RECORD: i64 = 1024 * 1024;

/// `stored` with its texts as the server log has them now (passwords still redacted).
pub async fn whole(target: &Target, stored: LogEntry) -> Result<LogEntry, AppError> {
    if !stored.cut {
        return Ok(stored);
    }
    let (source, facts) = super::source::on_request(target).await?;
    let reader = super::source::reader(target, Format::of_file(&stored.file), facts.as_ref())?;
    let bytes = source
        .read(&stored.file, stored.offset, MAX_RECORD)
        .await
        .map_err(super::source::problem)?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "{} is no longer in the log directory (rotated away): only the text pgpanel kept is left.",
                stored.file
            ))
        })?;
    let base = u64::try_from(stored.offset).unwrap_or(0);
    let record = reader
        .parse(&bytes, base, true)
        .records
        .into_iter()
        .find(|r| r.offset == base)
        .ok_or_else(|| {
            AppError::conflict(format!(
                "The record at byte {} of {} is longer than {} MiB or no longer there: only the text pgpanel kept is shown.",
                stored.offset,
                stored.file,
                MAX_RECORD / 1024 / 1024
            ))
        })?;
    let stored_ms = crate::clock::millis_of_rfc3339(&stored.time);
    if record.pid != stored.pid || (record.at_ms > 0 && (record.at_ms - stored_ms).abs() > 1000) {
        return Err(AppError::conflict(format!(
            "{} was written again since this entry was read: the record at byte {} is another one.",
            stored.file, stored.offset
        )));
    }
    let keep = |s: Option<String>| s.map(|s| super::ingest::redact_passwords(&s));
    let message = super::ingest::redact_passwords(&record.message);
    let audit = if stored.kind == Kind::Audit {
        super::parse::pgaudit::parse(&message).map(|mut a| {
            a.statement = keep(a.statement);
            a
        })
    } else {
        stored.audit.clone()
    };
    let statement = keep(record.statement).or_else(|| {
        // A `duration: … statement: …` line carries its statement in the message.
        message
            .find("statement: ")
            .map(|i| message[i + "statement: ".len()..].to_owned())
            .filter(|_| stored.statement.is_some())
    });
    Ok(LogEntry {
        message,
        detail: keep(record.detail),
        hint: keep(record.hint),
        context: keep(record.context),
        statement,
        audit,
        cut: false,
        ..stored
    })
}
