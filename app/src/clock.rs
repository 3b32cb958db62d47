//! The time as pgpanel sees it. Production reads the system clock; tests hold a manual clock and
//! move it forward to cross session and throttling time limits without waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<OffsetDateTime>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands still until `advance` is called.
    pub fn manual(start: OffsetDateTime) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        match &self.manual {
            None => OffsetDateTime::now_utc(),
            Some(t) => *t.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }

    /// Moves a manual clock forward (no effect on the system clock).
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            let mut t = t.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *t += by;
        }
    }

    /// Milliseconds since the Unix epoch, the store's time format.
    pub fn now_ms(&self) -> i64 {
        to_millis(self.now())
    }
}

pub fn to_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// "2026-11-30T17:15:04.366Z": ms since the epoch in RFC 3339, UTC, with milliseconds (log
/// entries are written to the millisecond).
pub fn rfc3339_millis(ms: i64) -> String {
    let t = from_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The inverse of [`rfc3339_millis`]: ms since the epoch of an RFC 3339 time (0 if it is not one).
pub fn millis_of_rfc3339(rfc3339: &str) -> i64 {
    OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map_or(0, to_millis)
}
