//! Downloads of a filtered view (`GET /api/logs/export`, `/api/audit/export`,
//! `/api/app-audit/export`): the same filters as the page, read a page at a time and streamed as
//! CSV (RFC 4180, a header row) or JSON lines (one object per line), so a million rows never sit
//! in memory. Cells that a spreadsheet would run as a formula are prefixed with `'`.

use std::future::Future;
use std::pin::Pin;

use futures::Stream;
use serde::Serialize;

use crate::error::AppError;

/// The most rows one download holds (a narrower filter gets the rest).
pub const MAX_ROWS: usize = 1_000_000;
/// Rows read from the store or the target per round trip.
pub const BATCH: i64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The `format` parameter: `csv` or `jsonl`.
    pub fn parse(v: Option<&str>) -> Result<Self, AppError> {
        match v.map(str::trim) {
            Some("csv") => Ok(Self::Csv),
            Some("jsonl") => Ok(Self::JsonLines),
            _ => Err(AppError::validation("format must be csv or jsonl.")),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::JsonLines => "application/jsonl; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
        }
    }
}

/// One CSV record (with its line break): every field quoted when it needs it; a field that
/// starts like a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`.
pub fn csv_record<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        let guarded;
        let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            guarded = format!("'{f}");
            guarded.as_str()
        } else {
            f
        };
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
    out
}

/// A download: its file name, format and body.
pub struct Download {
    pub filename: String,
    pub format: Format,
    pub body: Pin<Box<dyn Stream<Item = Result<String, AppError>> + Send>>,
}

/// One batch of rows and the cursor after them (None: no more).
pub type Batch<T, C> = Result<(Vec<T>, Option<C>), AppError>;

/// Streams every row `fetch` returns, batch after batch from cursor `None`, as `format`: a
/// header row first for CSV (`columns`), then each row as `csv(row)` or its JSON. Stops after
/// [`MAX_ROWS`].
pub fn stream<T, C, F, Fut>(
    format: Format,
    columns: &'static [&'static str],
    csv: fn(&T) -> Vec<String>,
    mut fetch: F,
) -> Pin<Box<dyn Stream<Item = Result<String, AppError>> + Send>>
where
    T: Serialize + Send + 'static,
    C: Send + 'static,
    F: FnMut(Option<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Batch<T, C>> + Send + 'static,
{
    enum Step<C> {
        Start,
        Next(C),
        Done,
    }
    let header = (format == Format::Csv).then(|| Ok(csv_record(columns)));
    let rows = futures::stream::unfold((Step::Start, 0usize), move |(step, sent)| {
        let cursor = match step {
            Step::Done => return futures::future::Either::Left(futures::future::ready(None)),
            Step::Start => None,
            Step::Next(c) => Some(c),
        };
        let batch = fetch(cursor);
        futures::future::Either::Right(async move {
            match batch.await {
                Err(e) => Some((Err(e), (Step::Done, sent))),
                Ok((rows, next)) => {
                    let room = MAX_ROWS.saturating_sub(sent);
                    let n = rows.len().min(room);
                    let mut chunk = String::new();
                    for r in rows.iter().take(n) {
                        match format {
                            Format::Csv => chunk.push_str(&csv_record(&csv(r))),
                            Format::JsonLines => {
                                chunk.push_str(&serde_json::to_string(r).unwrap_or_default());
                                chunk.push('\n');
                            }
                        }
                    }
                    let step = match next {
                        Some(c) if sent + n < MAX_ROWS => Step::Next(c),
                        _ => Step::Done,
                    };
                    Some((Ok(chunk), (step, sent + n)))
                }
            }
        })
    });
    // Fused: a compressing layer polls once more after the end, which `unfold` does not allow.
    Box::pin(futures::StreamExt::fuse(futures::StreamExt::chain(
        futures::stream::iter(header),
        rows,
    )))
}

/// The cursor after a batch of [`BATCH`] rows (a shorter batch is the last one): `key` of its
/// last row.
pub fn after<T, C>(rows: &[T], key: impl FnOnce(&T) -> Option<C>) -> Option<C> {
    (rows.len() as i64 == BATCH)
        .then(|| rows.last().and_then(key))
        .flatten()
}

/// A file name for a download: `pgpanel-<what>-<UTC time>.<ext>`.
pub fn filename(what: &str, format: Format) -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "pgpanel-{what}-{:04}{:02}{:02}T{:02}{:02}{:02}Z.{}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        format.extension()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_guards() {
        assert_eq!(
            csv_record(&["a", "b,c", "say \"hi\"", "x\ny"]),
            "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\r\n"
        );
        assert_eq!(
            csv_record(&["=1+1", "-2", "@SUM(A1)", "ok"]),
            "'=1+1,'-2,'@SUM(A1),ok\r\n"
        );
    }

    #[tokio::test]
    async fn batches_are_streamed_in_order() {
        use futures::StreamExt;
        #[derive(Serialize)]
        struct R {
            n: i64,
        }
        let body = stream(
            Format::Csv,
            &["n"],
            |r: &R| vec![r.n.to_string()],
            |c: Option<i64>| async move {
                let from = c.unwrap_or(0);
                let rows: Vec<R> = (from..(from + 2).min(5)).map(|n| R { n }).collect();
                let next = (from + 2 < 5).then_some(from + 2);
                Ok((rows, next))
            },
        );
        let text: Vec<String> = body.map(|r| r.unwrap()).collect().await;
        assert_eq!(text.concat(), "n\r\n0\r\n1\r\n2\r\n3\r\n4\r\n");
        let body = stream(
            Format::JsonLines,
            &["n"],
            |r: &R| vec![r.n.to_string()],
            |_c: Option<i64>| async move { Ok((vec![R { n: 7 }], None)) },
        );
        let text: Vec<String> = body.map(|r| r.unwrap()).collect().await;
        assert_eq!(text.concat(), "{\"n\":7}\n");
        // Polled again after its end (as a compressing layer does): still the end, no panic.
        let mut body = stream(
            Format::Csv,
            &["n"],
            |r: &R| vec![r.n.to_string()],
            |_c: Option<i64>| async move { Ok((vec![R { n: 1 }], None)) },
        );
        while body.next().await.is_some() {}
        assert!(body.next().await.is_none());
    }
}
