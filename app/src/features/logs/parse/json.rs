//! jsonlog (PostgreSQL 15+): one JSON object per line, keys named by the server, a key left out
//! when its value is NULL. A line that is not such an object is kept as an `other` record with
//! its raw text, so nothing is silently lost.

use serde::Deserialize;
use time::UtcOffset;

use super::{Parsed, Record, parse_time, text};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Line {
    timestamp: Option<String>,
    user: Option<String>,
    dbname: Option<String>,
    pid: Option<i64>,
    remote_host: Option<String>,
    remote_port: Option<i64>,
    session_id: Option<String>,
    error_severity: Option<String>,
    state_code: Option<String>,
    message: Option<String>,
    detail: Option<String>,
    hint: Option<String>,
    context: Option<String>,
    statement: Option<String>,
    internal_query: Option<String>,
    application_name: Option<String>,
    query_id: Option<i64>,
}

pub fn parse(chunk: &[u8], base: u64, zone: UtcOffset) -> Parsed {
    let mut out = Parsed::default();
    let mut start = 0;
    while let Some(nl) = memchr(b'\n', &chunk[start..]) {
        let line = &chunk[start..start + nl];
        if !line.iter().all(u8::is_ascii_whitespace) {
            out.records.push(record(line, base + start as u64, zone));
        }
        start += nl + 1;
    }
    out.consumed = start;
    out
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|b| *b == needle)
}

fn record(line: &[u8], offset: u64, zone: UtcOffset) -> Record {
    let raw = text(line);
    let Ok(l) = serde_json::from_str::<Line>(&raw) else {
        return Record {
            offset,
            severity: "LOG".into(),
            message: raw,
            ..Record::default()
        };
    };
    let client = l.remote_host.map(|h| match l.remote_port {
        Some(p) => format!("{h}:{p}"),
        None => h,
    });
    Record {
        offset,
        at_ms: l
            .timestamp
            .as_deref()
            .and_then(|t| parse_time(t, zone))
            .unwrap_or(0),
        severity: l.error_severity.unwrap_or_else(|| "LOG".into()),
        sqlstate: l.state_code.filter(|s| s != "00000"),
        user: l.user,
        database: l.dbname,
        application: l.application_name.filter(|a| !a.is_empty()),
        client,
        pid: l.pid.and_then(|p| i32::try_from(p).ok()),
        session_id: l.session_id,
        message: l.message.unwrap_or_default(),
        detail: l.detail,
        hint: l.hint,
        context: l.context,
        statement: l.statement.or(l.internal_query),
        query_id: l.query_id.filter(|q| *q != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_lines_only_and_null_keys_left_out() {
        let a = br#"{"timestamp":"2026-11-30 17:15:04.435 UTC","user":"app","dbname":"shop","pid":18030,"remote_host":"127.0.0.1","remote_port":38452,"session_id":"674b3a.466e","error_severity":"ERROR","state_code":"42P01","message":"relation \"nonexistent\" does not exist","statement":"select * from\n  nonexistent","application_name":"psql","query_id":0}"#;
        let b = br#"{"timestamp":"2026-11-30 17:15:05.000 UTC","pid":2232,"error_severity":"LOG","message":"checkpoint starting: time"}"#;
        let mut chunk = Vec::new();
        chunk.extend_from_slice(a);
        chunk.push(b'\n');
        chunk.extend_from_slice(b);
        chunk.push(b'\n');
        chunk.extend_from_slice(&b[..20]); // a partial line
        let p = parse(&chunk, 1000, UtcOffset::UTC);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.consumed, a.len() + b.len() + 2);
        let e = &p.records[0];
        assert_eq!(e.offset, 1000);
        assert_eq!(e.severity, "ERROR");
        assert_eq!(e.sqlstate.as_deref(), Some("42P01"));
        assert_eq!(e.client.as_deref(), Some("127.0.0.1:38452"));
        assert_eq!(e.statement.as_deref(), Some("select * from\n  nonexistent"));
        assert_eq!(e.query_id, None);
        let c = &p.records[1];
        assert_eq!(c.offset, 1000 + a.len() as u64 + 1);
        assert_eq!(c.user, None);
        assert_eq!(c.at_ms, 1_796_058_905_000);
    }

    #[test]
    fn invalid_utf8_and_garbage_are_kept_as_text() {
        let p = parse(b"not json \xff\xfe\n", 0, UtcOffset::UTC);
        assert_eq!(p.records.len(), 1);
        assert!(p.records[0].message.starts_with("not json"));
        assert!(p.records[0].message.contains('\u{fffd}'));
    }
}
