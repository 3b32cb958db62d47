//! stderr logs: each line starts with `log_line_prefix`, which pgpanel reads from the target and
//! turns into a pattern ([`Prefix::new`]), then `SEVERITY:  message`. Continuation lines of a
//! multi-line text start with one TAB the server added. DETAIL, HINT, CONTEXT, STATEMENT and
//! QUERY lines repeat the prefix and belong to the previous entry of the same process.

use regex::Regex;
use time::UtcOffset;

use super::{Parsed, Record, parse_time, text};

/// Lines that belong to the previous entry of the same pid.
const SECONDARY: [&str; 6] = [
    "DETAIL",
    "HINT",
    "CONTEXT",
    "STATEMENT",
    "QUERY",
    "LOCATION",
];

/// A parser for one `log_line_prefix`.
#[derive(Debug)]
pub struct Prefix {
    setting: String,
    line: Regex,
}

#[derive(Debug, thiserror::Error)]
pub enum PrefixError {
    #[error(
        "log_line_prefix {0:?} has no time (%m, %t or %n): entries cannot be placed in time. Set log_line_prefix = '%m [%p] %q%u@%d ' (or use jsonlog)"
    )]
    NoTime(String),
    #[error("log_line_prefix {0:?} cannot be read: {1}")]
    Pattern(String, String),
}

impl Prefix {
    pub fn new(setting: &str) -> Result<Self, PrefixError> {
        let mut pattern = String::from("^");
        let mut seen = std::collections::HashSet::new();
        let mut optional_from_here = false;
        let mut chars = setting.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                pattern.push_str(&regex::escape(&c.to_string()));
                continue;
            }
            let mut padded = false;
            while let Some(d) = chars
                .peek()
                .copied()
                .filter(|d| *d == '-' || d.is_ascii_digit())
            {
                padded = true;
                chars.next();
                let _ = d;
            }
            let Some(e) = chars.next() else { break };
            let (name, value) = match e {
                'a' => ("a", r".*?"),
                'u' => ("u", r".*?"),
                'd' => ("d", r".*?"),
                'r' => ("r", r"\S*?"),
                'h' => ("h", r"\S*?"),
                'b' => ("b", r".*?"),
                'p' => ("p", r"\d+"),
                'P' => ("lp", r"\d*"),
                't' => ("t", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+"),
                'm' => ("m", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+"),
                'n' => ("n", r"\d+\.\d+"),
                'i' => ("i", r".*?"),
                'e' => ("e", r"[0-9A-Z]{5}"),
                'c' => ("c", r"[0-9a-f]+\.[0-9a-f]+"),
                'l' => ("l", r"\d+"),
                's' => ("s", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+"),
                'v' => ("v", r"\S*?"),
                'x' => ("x", r"\d+"),
                'Q' => ("Q", r"-?\d+"),
                '%' => {
                    pattern.push('%');
                    continue;
                }
                'q' => {
                    pattern.push_str("(?:");
                    optional_from_here = true;
                    continue;
                }
                _ => continue,
            };
            let pad = if padded { " *" } else { "" };
            if seen.insert(name) {
                pattern.push_str(&format!("{pad}(?P<{name}>{value}){pad}"));
            } else {
                pattern.push_str(&format!("{pad}(?:{value}){pad}"));
            }
        }
        if optional_from_here {
            pattern.push_str(")?");
        }
        if !["m", "t", "n"].iter().any(|t| seen.contains(t)) {
            return Err(PrefixError::NoTime(setting.to_owned()));
        }
        pattern.push_str(
            r"(?P<sev>DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):  (?P<msg>.*)$",
        );
        let line = Regex::new(&pattern)
            .map_err(|e| PrefixError::Pattern(setting.to_owned(), e.to_string()))?;
        Ok(Self {
            setting: setting.to_owned(),
            line,
        })
    }

    pub fn setting(&self) -> &str {
        &self.setting
    }

    /// Complete entries of `chunk` (see `Reader::parse`). Unless `at_end`, the last entry is
    /// held back (its DETAIL or continuation lines may still come) and read again next time.
    pub fn parse(&self, chunk: &[u8], base: u64, at_end: bool, zone: UtcOffset) -> Parsed {
        let mut out = Parsed::default();
        // The entry being built for each line: index into out.records.
        let mut last: Option<(usize, Field)> = None;
        let mut start = 0;
        // Where the last primary entry started (what is held back unless at_end).
        let mut last_primary: Option<(usize, usize)> = None;
        while let Some(nl) = chunk[start..].iter().position(|b| *b == b'\n') {
            let raw = &chunk[start..start + nl];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = text(raw);
            let offset = base + start as u64;
            match self.line.captures(&line) {
                Some(caps) => {
                    let sev = caps.name("sev").map_or("LOG", |m| m.as_str());
                    let msg = caps.name("msg").map_or("", |m| m.as_str()).to_owned();
                    let pid: Option<i32> = caps.name("p").and_then(|m| m.as_str().parse().ok());
                    let secondary = SECONDARY.contains(&sev);
                    let owner = secondary
                        .then(|| {
                            out.records
                                .iter()
                                .rposition(|r| r.pid == pid)
                                .filter(|i| out.records.len() - i <= 64)
                        })
                        .flatten();
                    match owner {
                        Some(i) => {
                            let field = Field::of(sev);
                            field.set(&mut out.records[i], msg);
                            last = Some((i, field));
                        }
                        None => {
                            let get = |n: &str| {
                                caps.name(n)
                                    .map(|m| m.as_str().trim().to_owned())
                                    .filter(|s| !s.is_empty() && s != "[unknown]")
                            };
                            let at_ms = ["m", "t", "n"]
                                .iter()
                                .find_map(|n| get(n))
                                .and_then(|t| parse_time(&t, zone))
                                .unwrap_or(0);
                            out.records.push(Record {
                                offset,
                                at_ms,
                                severity: sev.to_owned(),
                                sqlstate: get("e").filter(|s| s != "00000"),
                                user: get("u"),
                                database: get("d"),
                                application: get("a"),
                                client: get("h").or_else(|| get("r")),
                                pid,
                                session_id: get("c"),
                                message: msg,
                                query_id: get("Q").and_then(|q| q.parse().ok()).filter(|q| *q != 0),
                                ..Record::default()
                            });
                            last = Some((out.records.len() - 1, Field::Message));
                            last_primary = Some((out.records.len() - 1, start));
                        }
                    }
                }
                None => {
                    // A continuation line: one server-added TAB, then the text.
                    if let Some((i, field)) = last {
                        let rest = line.strip_prefix('\t').unwrap_or(&line);
                        field.append(&mut out.records[i], rest);
                    }
                }
            }
            start += nl + 1;
        }
        out.consumed = start;
        if !at_end && let Some((i, at)) = last_primary {
            out.records.truncate(i);
            out.consumed = at;
        }
        out
    }
}

/// Which text a line fills.
#[derive(Clone, Copy, Debug)]
enum Field {
    Message,
    Detail,
    Hint,
    Context,
    Statement,
    Ignored,
}

impl Field {
    fn of(sev: &str) -> Self {
        match sev {
            "DETAIL" => Self::Detail,
            "HINT" => Self::Hint,
            "CONTEXT" => Self::Context,
            "STATEMENT" | "QUERY" => Self::Statement,
            _ => Self::Ignored,
        }
    }

    fn slot(self, r: &mut Record) -> Option<&mut String> {
        match self {
            Self::Message => Some(&mut r.message),
            Self::Detail => Some(r.detail.get_or_insert_default()),
            Self::Hint => Some(r.hint.get_or_insert_default()),
            Self::Context => Some(r.context.get_or_insert_default()),
            Self::Statement => Some(r.statement.get_or_insert_default()),
            Self::Ignored => None,
        }
    }

    fn set(self, r: &mut Record, value: String) {
        // A STATEMENT line beats a QUERY line (the internal query of a function).
        if let Some(s) = self.slot(r)
            && s.is_empty()
        {
            *s = value;
        }
    }

    fn append(self, r: &mut Record, line: &str) {
        if let Some(s) = self.slot(r) {
            s.push('\n');
            s.push_str(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTURED: &str = "2026-11-30 17:15:04.366 UTC [18030] postgres@postgres LOG:  duration: 0.343 ms  statement: select 1\n\
\t  + 1 as two,\n\
\t  'multi\n\
\tline literal' as x;\n\
2026-11-30 17:15:04.434 UTC [18030] postgres@postgres LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp18030.1\", size 2457600\n\
2026-11-30 17:15:04.434 UTC [18030] postgres@postgres STATEMENT:  select count(*) from (...) s;\n\
2026-11-30 17:15:04.435 UTC [18030] postgres@postgres ERROR:  relation \"nonexistent_table\" does not exist at character 17\n\
2026-11-30 17:15:05.538 UTC [18088] postgres@postgres LOG:  process 18088 still waiting for AccessShareLock on relation 16393 of database 5 after 500.093 ms at character 15\n\
2026-11-30 17:15:04.435 UTC [18030] postgres@postgres STATEMENT:  select * from\n\
\t  nonexistent_table\n\
\t  where x = 1;\n\
2026-11-30 17:15:05.538 UTC [18088] postgres@postgres DETAIL:  Process holding the lock: 18036. Wait queue: 18088.\n\
2026-11-30 17:15:07.662 UTC [2232] LOG:  checkpoint starting: immediate force wait\n";

    #[test]
    fn debian_prefix_with_continuations_and_secondary_lines_by_pid() {
        let p = Prefix::new("%m [%p] %q%u@%d ").unwrap();
        let out = p.parse(CAPTURED.as_bytes(), 0, true, UtcOffset::UTC);
        let r = &out.records;
        assert_eq!(r.len(), 5, "{r:#?}");
        assert_eq!(out.consumed, CAPTURED.len());
        assert_eq!(
            r[0].message,
            "duration: 0.343 ms  statement: select 1\n  + 1 as two,\n  'multi\nline literal' as x;"
        );
        assert_eq!(r[0].user.as_deref(), Some("postgres"));
        assert_eq!(r[0].database.as_deref(), Some("postgres"));
        assert_eq!(r[0].pid, Some(18030));
        assert_eq!(
            r[1].statement.as_deref(),
            Some("select count(*) from (...) s;")
        );
        assert_eq!(
            r[2].statement.as_deref(),
            Some("select * from\n  nonexistent_table\n  where x = 1;")
        );
        assert_eq!(
            r[3].detail.as_deref(),
            Some("Process holding the lock: 18036. Wait queue: 18088.")
        );
        // A process outside a session: the prefix stops at %q.
        assert_eq!(r[4].pid, Some(2232));
        assert_eq!(r[4].user, None);
        assert_eq!(r[4].message, "checkpoint starting: immediate force wait");
        assert_eq!(r[4].at_ms, 1_796_058_907_662);
    }

    #[test]
    fn the_last_entry_waits_for_its_followers_unless_at_end() {
        let p = Prefix::new("%m [%p] %q%u@%d ").unwrap();
        let out = p.parse(CAPTURED.as_bytes(), 0, false, UtcOffset::UTC);
        assert_eq!(out.records.len(), 4);
        let held = &CAPTURED[out.consumed..];
        assert!(held.starts_with("2026-11-30 17:15:07.662 UTC [2232] LOG:  checkpoint"));
        // A partial line is never read.
        let cut = &CAPTURED.as_bytes()[..CAPTURED.len() - 5];
        let out = p.parse(cut, 0, true, UtcOffset::UTC);
        assert_eq!(out.records.len(), 4);
    }

    #[test]
    fn another_prefix_with_application_client_and_session() {
        let p = Prefix::new("%t:%r:%u@%d:[%p]:%c:%e:app=%a ").unwrap();
        let line = "2026-11-30 17:15:04 UTC:127.0.0.1(51234):shop@shop:[4242]:674b3a.1092:23505:app=shop web ERROR:  duplicate key value violates unique constraint \"orders_pkey\"\n\
2026-11-30 17:15:04 UTC:127.0.0.1(51234):shop@shop:[4242]:674b3a.1092:23505:app=shop web DETAIL:  Key (id)=(1) already exists.\n";
        let out = p.parse(line.as_bytes(), 0, true, UtcOffset::UTC);
        assert_eq!(out.records.len(), 1);
        let r = &out.records[0];
        assert_eq!(r.application.as_deref(), Some("shop web"));
        assert_eq!(r.client.as_deref(), Some("127.0.0.1(51234)"));
        assert_eq!(r.session_id.as_deref(), Some("674b3a.1092"));
        assert_eq!(r.sqlstate.as_deref(), Some("23505"));
        assert_eq!(r.detail.as_deref(), Some("Key (id)=(1) already exists."));
        assert_eq!(r.at_ms, 1_796_058_904_000);
    }

    #[test]
    fn a_prefix_without_time_is_refused() {
        assert!(matches!(Prefix::new("[%p] "), Err(PrefixError::NoTime(_))));
    }
}
