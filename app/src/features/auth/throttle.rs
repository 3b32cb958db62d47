//! Failed-login throttling, as a pure function of the failure times, so the rule is easy to read
//! and to test. Failures count since the last success (or an admin's clear) and within the last
//! hour:
//! - at most `per_window` failures in any `window` (10 per 15 minutes for an account): the next
//!   attempt waits until the oldest of those leaves the window;
//! - past that, every further failure doubles a delay after the latest one (2 s, 4 s, … up to the
//!   window), so guessing slows down instead of resuming at full speed;
//! - never more than `per_hour` failures in an hour.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_window: usize,
    pub window: Duration,
    pub per_hour: usize,
}

/// Per account: 10 per 15 minutes, at most 100 an hour.
pub const ACCOUNT: Limits = Limits {
    per_window: 10,
    window: Duration::from_secs(15 * 60),
    per_hour: 100,
};

/// Per client address (many accounts guessed from one place): 50 per 15 minutes, 300 an hour.
pub const ADDRESS: Limits = Limits {
    per_window: 50,
    window: Duration::from_secs(15 * 60),
    per_hour: 300,
};

pub const HOUR_MS: i64 = 3_600_000;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// When the next attempt may be made, if not now. `failures` are the failure times of the last
/// hour (since the last reset), newest first.
pub fn locked_until(failures: &[i64], now_ms: i64, limits: Limits) -> Option<i64> {
    let recent: Vec<i64> = failures
        .iter()
        .copied()
        .filter(|t| now_ms - t < HOUR_MS)
        .collect();
    let mut until = i64::MIN;
    if recent.len() >= limits.per_window {
        until = until.max(recent[limits.per_window - 1] + ms(limits.window));
    }
    if recent.len() > limits.per_window {
        let extra = u32::try_from(recent.len() - limits.per_window).unwrap_or(u32::MAX);
        let delay = 1000_i64
            .saturating_mul(2_i64.saturating_pow(extra))
            .min(ms(limits.window));
        until = until.max(recent[0] + delay);
    }
    if recent.len() >= limits.per_hour {
        until = until.max(recent[limits.per_hour - 1] + HOUR_MS);
    }
    (until > now_ms).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// Simulates an attacker who tries whenever allowed; returns the failures made in `span_ms`.
    fn attack(limits: Limits, span_ms: i64) -> usize {
        let mut failures: Vec<i64> = Vec::new();
        let mut now = 0;
        while now < span_ms {
            match locked_until(&failures, now, limits) {
                Some(t) => now = t,
                None => {
                    failures.insert(0, now);
                    now += 100;
                }
            }
        }
        failures.iter().filter(|t| **t < span_ms).count()
    }

    #[test]
    fn ten_then_locked_for_the_window() {
        let fails: Vec<i64> = (0..10).rev().map(|i| i * 1000).collect();
        assert_eq!(locked_until(&fails[1..], 10_000, ACCOUNT), None);
        let until = locked_until(&fails, 10_000, ACCOUNT).expect("locked");
        assert_eq!(until, 15 * MIN);
        assert_eq!(locked_until(&fails, 15 * MIN, ACCOUNT), None);
    }

    #[test]
    fn the_delay_grows_and_the_hour_is_capped() {
        let in_hour = attack(ACCOUNT, 60 * MIN);
        assert!(
            (10..=100).contains(&in_hour),
            "{in_hour} failures in the first hour"
        );
        // Continuous guessing never exceeds the hourly cap, in any hour.
        let day = attack(ACCOUNT, 24 * 60 * MIN);
        assert!(day <= 24 * 100, "{day}");
        let addr = attack(ADDRESS, 60 * MIN);
        assert!((50..=300).contains(&addr), "{addr}");
    }

    #[test]
    fn failures_older_than_an_hour_do_not_count() {
        let fails: Vec<i64> = (0..20).map(|i| -2 * 60 * MIN - i).collect();
        assert_eq!(locked_until(&fails, 0, ACCOUNT), None);
    }
}
