//! csvlog: one CSV record per entry, quoted fields may hold raw newlines, so a record ends at a
//! newline outside quotes. 23 columns before PostgreSQL 13, `backend_type` from 13, `leader_pid`
//! and `query_id` from 14 (26). The same splitter reads pgaudit's fields.

use time::UtcOffset;

use super::{Parsed, Record, parse_time, text};

/// Where each record of `chunk` ends (the index just past its newline), outside quotes.
fn record_ends(chunk: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut quoted = false;
    for (i, b) in chunk.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => ends.push(i + 1),
            _ => {}
        }
    }
    ends
}

/// The fields of one CSV record: `None` for an empty unquoted field, `""` doubled inside quotes.
pub fn fields(s: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            ',' if !quoted => {
                out.push((was_quoted || !cur.is_empty()).then(|| std::mem::take(&mut cur)));
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    out.push((was_quoted || !cur.is_empty()).then_some(cur));
    out
}

pub fn parse(chunk: &[u8], base: u64, zone: UtcOffset) -> Parsed {
    let mut out = Parsed::default();
    let mut start = 0;
    for end in record_ends(chunk) {
        let line = &chunk[start..end - 1];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            out.records
                .push(record(&text(line), base + start as u64, zone));
        }
        start = end;
    }
    out.consumed = start;
    out
}

fn record(line: &str, offset: u64, zone: UtcOffset) -> Record {
    let f = fields(line);
    if f.len() < 22 {
        return Record {
            offset,
            severity: "LOG".into(),
            message: line.to_owned(),
            ..Record::default()
        };
    }
    let get = |i: usize| f.get(i).cloned().flatten();
    Record {
        offset,
        at_ms: get(0).and_then(|t| parse_time(&t, zone)).unwrap_or(0),
        user: get(1),
        database: get(2),
        pid: get(3).and_then(|p| p.parse().ok()),
        client: get(4),
        session_id: get(5),
        severity: get(11).unwrap_or_else(|| "LOG".into()),
        sqlstate: get(12).filter(|s| s != "00000"),
        message: get(13).unwrap_or_default(),
        detail: get(14),
        hint: get(15),
        context: get(18),
        statement: get(19).or_else(|| get(16)),
        application: get(22).filter(|a| !a.is_empty()),
        query_id: get(25).and_then(|q| q.parse().ok()).filter(|q| *q != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_newlines_commas_and_quotes() {
        let a = "2026-11-30 17:15:04.435 UTC,\"app\",\"shop\",18030,\"127.0.0.1:38452\",674b3a.466e,3,\"SELECT\",2026-11-30 17:15:00 UTC,3/12,0,ERROR,42P01,\"relation \"\"a,b\"\" does not exist\",,,,,,\"select *\nfrom \"\"a,b\"\"\",15,,\"psql\",\"client backend\",,0\n";
        let b = "2026-11-30 17:15:05.000 UTC,,,2232,,674b3a.8b8,1,,2026-11-30 17:00:00 UTC,,0,LOG,00000,\"checkpoint starting: time\",,,,,,,,,\"\",\"checkpointer\",,0\n";
        let chunk = format!("{a}{b}2026-11-30 17:15:06 UTC,\"partial");
        let p = parse(chunk.as_bytes(), 0, UtcOffset::UTC);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.consumed, a.len() + b.len());
        let e = &p.records[0];
        assert_eq!(e.message, "relation \"a,b\" does not exist");
        assert_eq!(e.statement.as_deref(), Some("select *\nfrom \"a,b\""));
        assert_eq!(e.pid, Some(18030));
        assert_eq!(e.application.as_deref(), Some("psql"));
        assert_eq!(e.sqlstate.as_deref(), Some("42P01"));
        let c = &p.records[1];
        assert_eq!(c.offset, a.len() as u64);
        assert_eq!(c.sqlstate, None);
        assert_eq!(c.user, None);
        assert_eq!(c.application, None);
    }

    #[test]
    fn fields_of_a_line() {
        assert_eq!(
            fields("a,,\"\",\"x\"\"y\""),
            vec![
                Some("a".into()),
                None,
                Some(String::new()),
                Some("x\"y".into())
            ]
        );
    }
}
