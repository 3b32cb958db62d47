//! Reading log bytes into records: jsonlog (`json.rs`), csvlog (`csv.rs`) and stderr with any
//! `log_line_prefix` (`stderr.rs`); what each record is about (`classify.rs`) and pgaudit's
//! fields (`pgaudit.rs`). Pure functions over byte chunks: a chunk may end anywhere (inside a
//! record, inside a UTF-8 character); only complete records are returned, with how many bytes
//! they used, so the cursor never moves past a record it has not stored. Invalid UTF-8 is
//! replaced, never an error.

pub mod classify;
pub mod csv;
pub mod json;
pub mod pgaudit;
pub mod stderr;

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// A log format PostgreSQL writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Stderr,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "jsonlog",
            Self::Csv => "csvlog",
            Self::Stderr => "stderr",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jsonlog" | "json" => Some(Self::Json),
            "csvlog" | "csv" => Some(Self::Csv),
            "stderr" => Some(Self::Stderr),
            _ => None,
        }
    }

    /// The format of a file by its name: the collector names csvlog files `.csv` and jsonlog
    /// files `.json`; anything else is stderr.
    pub fn of_file(name: &str) -> Self {
        // A rotated copy (`postgresql.json.1`) is of the format of its name before the number.
        let name = match name.rsplit_once('.') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => name,
        };
        if name.ends_with(".json") {
            Self::Json
        } else if name.ends_with(".csv") {
            Self::Csv
        } else {
            Self::Stderr
        }
    }
}

/// One record as the server wrote it, before classification.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Byte offset of its first byte in the file.
    pub offset: u64,
    pub at_ms: i64,
    pub severity: String,
    pub sqlstate: Option<String>,
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
    pub query_id: Option<i64>,
}

/// What a chunk held.
#[derive(Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    /// Bytes of the chunk the records used (the cursor moves by this much); the rest is read
    /// again with what follows.
    pub consumed: usize,
}

/// How to read one file.
#[derive(Clone, Debug)]
pub struct Reader {
    pub format: Format,
    /// The stderr line parser built from `log_line_prefix`.
    pub prefix: Option<std::sync::Arc<stderr::Prefix>>,
    /// The offset of `log_timezone` now, for times written with a zone abbreviation other
    /// than UTC or GMT.
    pub zone: UtcOffset,
}

impl Reader {
    /// Complete records of `chunk`, which starts at byte `base` of the file. `at_end`: nothing
    /// more will follow for now (the file did not grow): a stderr record whose continuation
    /// lines could still follow is returned too.
    pub fn parse(&self, chunk: &[u8], base: u64, at_end: bool) -> Parsed {
        match self.format {
            Format::Json => json::parse(chunk, base, self.zone),
            Format::Csv => csv::parse(chunk, base, self.zone),
            Format::Stderr => match &self.prefix {
                Some(p) => p.parse(chunk, base, at_end, self.zone),
                None => Parsed::default(),
            },
        }
    }
}

/// Text from bytes: invalid UTF-8 replaced, control characters other than newline and tab
/// kept as they are (the page renders everything as text).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A time as PostgreSQL writes it in logs: `2026-11-30 17:15:04.366 UTC` (`%m`, csvlog,
/// jsonlog), without milliseconds (`%t`), or epoch seconds (`%n`: `1796058904.366`). A zone
/// abbreviation other than UTC/GMT/Z or a numeric offset is read as `log_timezone`'s current
/// offset (`zone`). Milliseconds since the epoch.
pub fn parse_time(s: &str, zone: UtcOffset) -> Option<i64> {
    let s = s.trim();
    if !s.contains('-') {
        let secs: f64 = s.parse().ok()?;
        return Some((secs * 1000.0).round() as i64);
    }
    let (date, rest) = s.split_once(' ')?;
    let (clock, tz) = rest.split_once(' ').unwrap_or((rest, "UTC"));
    let mut d = date.split('-');
    let year: i32 = d.next()?.parse().ok()?;
    let month: u8 = d.next()?.parse().ok()?;
    let day: u8 = d.next()?.parse().ok()?;
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut t = hms.split(':');
    let hour: u8 = t.next()?.parse().ok()?;
    let minute: u8 = t.next()?.parse().ok()?;
    let second: u8 = t.next()?.parse().ok()?;
    let millis: u16 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    let at = PrimitiveDateTime::new(
        Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?,
        Time::from_hms_milli(hour, minute, second, millis).ok()?,
    );
    let offset = match tz {
        "UTC" | "GMT" | "Z" | "UCT" => UtcOffset::UTC,
        z if z.starts_with(['+', '-']) => numeric_offset(z)?,
        _ => zone,
    };
    Some((at.assume_offset(offset).unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `+03`, `-0330`, `+05:30`.
fn numeric_offset(z: &str) -> Option<UtcOffset> {
    let sign: i8 = if z.starts_with('-') { -1 } else { 1 };
    let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i8>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// Server-added TABs: every continuation line of a multi-line text in a stderr log (and in a
/// pgaudit statement) starts with exactly one TAB the server added; remove it.
pub fn untab(s: &str) -> String {
    s.replace("\n\t", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form() {
        let utc = UtcOffset::UTC;
        assert_eq!(
            parse_time("2026-11-30 17:15:04.366 UTC", utc),
            Some(1_796_058_904_366)
        );
        assert_eq!(
            parse_time("2026-11-30 17:15:04 UTC", utc),
            Some(1_796_058_904_000)
        );
        assert_eq!(parse_time("1796058904.366", utc), Some(1_796_058_904_366));
        assert_eq!(
            parse_time("2026-11-30 18:15:04.366 +01", utc),
            Some(1_796_058_904_366)
        );
        let cet = UtcOffset::from_hms(1, 0, 0).unwrap();
        assert_eq!(
            parse_time("2026-11-30 18:15:04.366 CET", cet),
            Some(1_796_058_904_366)
        );
        assert_eq!(parse_time("yesterday", utc), None);
        assert_eq!(parse_time("2026-13-30 18:15:04 UTC", utc), None);
    }

    #[test]
    fn formats_by_file_name() {
        assert_eq!(Format::of_file("postgresql-Mon.json"), Format::Json);
        assert_eq!(Format::of_file("postgresql.csv"), Format::Csv);
        assert_eq!(Format::of_file("postgresql-15-main.log"), Format::Stderr);
        assert_eq!(Format::of_file("postgresql.json.1"), Format::Json);
        assert_eq!(Format::of_file("postgresql-15-main.log.1"), Format::Stderr);
    }
}
