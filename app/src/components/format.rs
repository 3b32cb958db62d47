//! Numbers with units, the way a DBA reads them: sizes like `pg_size_pretty`, durations in the two
//! largest units, times in UTC with a relative form.

use time::{Duration, OffsetDateTime};

/// Sizes in the units `pg_size_pretty` uses (base 1024), one decimal below 100.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 6] = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let negative = n < 0;
    let mut value = n.unsigned_abs() as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let sign = if negative { "-" } else { "" };
    if unit == 0 {
        format!("{sign}{} bytes", n.unsigned_abs())
    } else if value < 100.0 {
        format!("{sign}{value:.1} {}", UNITS[unit])
    } else {
        format!("{sign}{value:.0} {}", UNITS[unit])
    }
}

/// "3 d 4 h", "2 h 13 min", "5 min 2 s", "42 s", "0 s".
pub fn duration(d: Duration) -> String {
    let total = d.whole_seconds().max(0);
    let (days, hours, minutes, seconds) = (
        total / 86_400,
        total % 86_400 / 3_600,
        total % 3_600 / 60,
        total % 60,
    );
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds} s")
    } else {
        format!("{seconds} s")
    }
}

/// Milliseconds as "420 ms", "4.2 s", or as `duration` from 10 s on.
pub fn millis(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        duration(Duration::milliseconds(ms))
    }
}

/// An optional age in milliseconds, or `none` when there is none.
pub fn age(ms: Option<i64>, none: &str) -> String {
    ms.map_or_else(|| none.to_owned(), millis)
}

/// "2026-11-24 14:03:07 UTC".
pub fn utc(t: OffsetDateTime) -> String {
    utc_with(t, ' ', " UTC")
}

/// "2026-11-24T14:03:07Z": what the API's time parameters take.
pub fn rfc3339(t: OffsetDateTime) -> String {
    utc_with(t, 'T', "Z")
}

fn utc_with(t: OffsetDateTime, between: char, zone: &str) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}{between}{:02}:{:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// "14:03:07": the UTC time of day of ms since the epoch.
pub fn clock_ms(ms: i64) -> String {
    let t = from_ms(ms);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// "3 min ago", "in 8 s", "just now".
pub fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = now - t;
    if d.whole_seconds().abs() < 1 {
        "just now".into()
    } else if d.is_negative() {
        format!("in {}", duration(-d))
    } else {
        format!("{} ago", duration(d))
    }
}

/// Share of a whole as a percentage, for bars (0.0 ..= 100.0).
pub fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part.max(0) as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
    }
}

/// A time from milliseconds since the epoch (the epoch itself if out of range).
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn bytes_like_pg_size_pretty() {
        assert_eq!(bytes(0), "0 bytes");
        assert_eq!(bytes(1023), "1023 bytes");
        assert_eq!(bytes(1024), "1.0 kB");
        assert_eq!(bytes(7_590_000), "7.2 MB");
        assert_eq!(bytes(150 * 1024 * 1024), "150 MB");
        assert_eq!(bytes(3 * 1024_i64.pow(4)), "3.0 TB");
        assert_eq!(bytes(-2048), "-2.0 kB");
    }

    #[test]
    fn durations_use_two_units() {
        assert_eq!(duration(Duration::seconds(0)), "0 s");
        assert_eq!(duration(Duration::seconds(42)), "42 s");
        assert_eq!(duration(Duration::seconds(302)), "5 min 2 s");
        assert_eq!(duration(Duration::seconds(7_980)), "2 h 13 min");
        assert_eq!(duration(Duration::seconds(273_600)), "3 d 4 h");
        assert_eq!(duration(Duration::seconds(-5)), "0 s");
    }

    #[test]
    fn times_are_utc_and_relative() {
        let t = datetime!(2026-11-24 14:03:07 +02:00);
        assert_eq!(utc(t), "2026-11-24 12:03:07 UTC");
        assert_eq!(rfc3339(t), "2026-11-24T12:03:07Z");
        assert_eq!(clock_ms(t.unix_timestamp() * 1000), "12:03:07");
        let now = datetime!(2026-11-24 12:06:07 UTC);
        assert_eq!(relative(t, now), "3 min 0 s ago");
        assert_eq!(relative(now + Duration::seconds(8), now), "in 8 s");
        assert_eq!(relative(now, now), "just now");
    }

    #[test]
    fn share_is_clamped() {
        assert_eq!(share(1, 4), 25.0);
        assert_eq!(share(5, 0), 0.0);
        assert_eq!(share(-1, 10), 0.0);
        assert_eq!(share(20, 10), 100.0);
    }
}
