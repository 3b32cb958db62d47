//! From parsed records to what is stored: classified, passwords redacted, long texts cut, errors
//! given a pattern to group by, and the flood rules — `duration:` lines under the slow
//! threshold and entries over the per-minute limit are counted in the minute table, not stored
//! one by one. Pure apart from the per-minute tally it keeps.

use std::collections::HashMap;

use super::model::Kind;
use super::parse::Record;
use super::parse::classify::classify;
use crate::store::{MinuteDelta, NewLogEntry};

/// Message, detail, hint and context are kept up to this many bytes; statements up to twice.
pub const MAX_TEXT: usize = 8 * 1024;

/// How many entries of each minute and kind were stored, to apply the per-minute limit.
#[derive(Debug, Default)]
pub struct Tally {
    stored: HashMap<(i64, Kind), i64>,
}

impl Tally {
    /// Forgets minutes older than `before_ms`.
    pub fn forget_before(&mut self, before_ms: i64) {
        self.stored.retain(|(m, _), _| *m >= before_ms);
    }
}

/// The limits of [`ingest`].
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub slow_ms: f64,
    pub max_per_minute: i64,
    /// A time for records whose time could not be read.
    pub now_ms: i64,
}

/// The entries to store and the minute counts to add for `records`.
pub fn ingest(
    records: Vec<Record>,
    rules: Rules,
    tally: &mut Tally,
) -> (Vec<NewLogEntry>, Vec<MinuteDelta>) {
    let mut entries = Vec::with_capacity(records.len());
    let mut minutes: Vec<MinuteDelta> = Vec::new();
    for r in records {
        let c = classify(&r);
        let at_ms = if r.at_ms > 0 { r.at_ms } else { rules.now_ms };
        let minute_ms = at_ms - at_ms.rem_euclid(60_000);
        let mut keep = match c.kind {
            Kind::Slow => c.duration_ms.is_none_or(|d| d >= rules.slow_ms),
            _ => true,
        };
        if keep {
            let n = tally.stored.entry((minute_ms, c.kind)).or_default();
            *n += 1;
            keep = *n <= rules.max_per_minute;
        }
        match minutes
            .iter_mut()
            .find(|m| m.minute_ms == minute_ms && m.kind == c.kind && m.severity == r.severity)
        {
            Some(m) => {
                m.entries += 1;
                m.summarised += i64::from(!keep);
            }
            None => minutes.push(MinuteDelta {
                minute_ms,
                kind: c.kind,
                severity: r.severity.clone(),
                entries: 1,
                summarised: i64::from(!keep),
            }),
        }
        if !keep {
            continue;
        }
        let mut cut = false;
        let mut keep_text = |s: String, max: usize| {
            let s = redact_passwords(&s);
            if s.len() > max {
                cut = true;
                let mut end = max;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s[..end].to_owned()
            } else {
                s
            }
        };
        let pattern = matches!(r.severity.as_str(), "ERROR" | "FATAL" | "PANIC" | "WARNING")
            .then(|| pattern(&r.message));
        let audit = c.audit.map(|mut a| {
            a.statement = a.statement.map(|s| keep_text(s, 2 * MAX_TEXT));
            a
        });
        entries.push(NewLogEntry {
            at_ms,
            severity: r.severity,
            sqlstate: r.sqlstate,
            kind: Some(c.kind),
            user: r.user,
            database: r.database,
            application: r.application,
            client: r.client,
            pid: r.pid,
            session_id: r.session_id,
            message: keep_text(r.message, MAX_TEXT),
            detail: r.detail.map(|s| keep_text(s, MAX_TEXT)),
            hint: r.hint.map(|s| keep_text(s, MAX_TEXT)),
            context: r.context.map(|s| keep_text(s, MAX_TEXT)),
            statement: r
                .statement
                .or(c.statement)
                .map(|s| keep_text(s, 2 * MAX_TEXT)),
            duration_ms: c.duration_ms,
            query_id: r.query_id,
            audit,
            pattern,
            cut,
            offset: i64::try_from(r.offset).unwrap_or(i64::MAX),
        });
    }
    (entries, minutes)
}

/// `PASSWORD '…'` in a statement (CREATE / ALTER ROLE or USER) becomes `PASSWORD '***'`
/// before anything is stored.
pub fn redact_passwords(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find("password") {
        let at = i + found + "password".len();
        out.push_str(&s[i..at]);
        let rest = &s[at..];
        let spaces = rest.len() - rest.trim_start().len();
        let after = &rest[spaces..];
        if spaces > 0
            && let Some(body) = after.strip_prefix('\'')
        {
            // The literal ends at a quote that is not doubled.
            let bytes = body.as_bytes();
            let mut j = 0;
            while j < bytes.len() {
                if bytes[j] == b'\'' {
                    if bytes.get(j + 1) == Some(&b'\'') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            out.push_str(&rest[..spaces]);
            out.push_str("'***'");
            i = at + spaces + 1 + (j + 1).min(body.len());
        } else {
            i = at;
        }
    }
    out.push_str(&s[i..]);
    out
}

/// A message with what varies between occurrences replaced: numbers by `N`, quoted names and
/// literals by `"…"` / `'…'`, so the same error groups together.
pub fn pattern(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(300));
    let mut chars = message.chars().peekable();
    let mut prev_word = false;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                out.push(c);
                out.push('…');
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                out.push(c);
                prev_word = false;
            }
            d if d.is_ascii_digit() && !prev_word => {
                out.push('N');
                while chars
                    .peek()
                    .is_some_and(|x| x.is_ascii_digit() || *x == '.')
                {
                    chars.next();
                }
            }
            c => {
                prev_word = c.is_alphanumeric() || c == '_';
                out.push(c);
            }
        }
        if out.len() >= 300 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at_ms: i64, message: &str) -> Record {
        Record {
            at_ms,
            severity: "LOG".into(),
            message: message.into(),
            ..Record::default()
        }
    }

    #[test]
    fn fast_statements_are_counted_and_the_minute_limit_holds() {
        let mut tally = Tally::default();
        let rules = Rules {
            slow_ms: 100.0,
            max_per_minute: 2,
            now_ms: 0,
        };
        let records = vec![
            rec(60_000, "duration: 1.5 ms  statement: select 1"),
            rec(60_001, "duration: 150 ms  statement: select pg_sleep(0.15)"),
            rec(60_002, "checkpoint starting: time"),
            rec(60_003, "checkpoint starting: time"),
            rec(60_004, "checkpoint starting: time"),
        ];
        let (entries, minutes) = ingest(records, rules, &mut tally);
        assert_eq!(entries.len(), 3);
        let slow = minutes.iter().find(|m| m.kind == Kind::Slow).unwrap();
        assert_eq!((slow.entries, slow.summarised), (2, 1));
        let ck = minutes.iter().find(|m| m.kind == Kind::Checkpoint).unwrap();
        assert_eq!((ck.entries, ck.summarised, ck.minute_ms), (3, 1, 60_000));
    }

    #[test]
    fn passwords_never_stored() {
        assert_eq!(
            redact_passwords("ALTER ROLE x PASSWORD 'se''cret' VALID UNTIL 'infinity'"),
            "ALTER ROLE x PASSWORD '***' VALID UNTIL 'infinity'"
        );
        assert_eq!(
            redact_passwords("create user y with password\n 'abc'"),
            "create user y with password\n '***'"
        );
        assert_eq!(
            redact_passwords("password authentication failed"),
            "password authentication failed"
        );
        assert_eq!(redact_passwords("password 'unterminated"), "password '***'");
    }

    #[test]
    fn patterns_group_the_same_error() {
        assert_eq!(
            pattern("relation \"orders_2024\" does not exist at character 17"),
            pattern("relation \"x\" does not exist at character 9")
        );
        assert_eq!(
            pattern("invalid input syntax for type integer: 'abc'"),
            "invalid input syntax for type integer: '…'"
        );
        assert_eq!(pattern("table t1 has 3 rows"), "table t1 has N rows");
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let mut tally = Tally::default();
        let rules = Rules {
            slow_ms: 0.0,
            max_per_minute: 10,
            now_ms: 5,
        };
        let long = "é".repeat(MAX_TEXT);
        let (entries, _) = ingest(vec![rec(0, &long)], rules, &mut tally);
        assert!(entries[0].cut);
        assert!(entries[0].message.len() <= MAX_TEXT);
        assert_eq!(entries[0].at_ms, 5);
    }
}
