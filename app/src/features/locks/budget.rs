//! What the lock graph may cost the target. A lock sample's own reads (the waiters' blockers)
//! cost microseconds; what costs is pg_locks (~13 ms with 20,000 locks held, measured) and a
//! connection to another database to name its objects. Those are paid from a balance that earns
//! `PER_SAMPLE` per lock sample, up to `CAPACITY`. A read may run whenever the balance is not in
//! debt, and is charged what it cost: the first waiter of an episode is described at once (the
//! read overdraws), and under continuous churn the reads space themselves out so that over any
//! window of N samples the target pays at most `PER_SAMPLE` × N + `CAPACITY` + one read: under the 2 ms
//! per sample budget as the window grows.
//! Pure, unit-tested.

use std::time::Duration;

/// Earned per lock sample. The budget is 2 ms per sample; a quarter is kept as margin, because
/// pgpanel measures a read's cost from its side (wall time minus a round trip), which can fall
/// short of what pg_stat_statements counts on the server.
pub const PER_SAMPLE: Duration = Duration::from_micros(1_500);

/// Saved up while nothing needs reading (kept small: a read may overdraw, and what is saved
/// adds to what a window of samples can cost).
pub const CAPACITY: Duration = Duration::from_millis(4);

#[derive(Clone, Debug, PartialEq)]
pub struct CostBudget {
    /// May go below zero: a read dearer than expected is repaid before the next one.
    balance_us: i64,
    /// What the last expensive read cost (the next one is expected to cost the same).
    last_cost_us: i64,
    /// Everything charged, for the record.
    spent_us: i64,
}

impl Default for CostBudget {
    fn default() -> Self {
        Self {
            balance_us: micros(CAPACITY),
            last_cost_us: 0,
            spent_us: 0,
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl CostBudget {
    /// One lock sample taken: earns `PER_SAMPLE`.
    pub fn earn(&mut self) {
        self.balance_us = (self.balance_us + micros(PER_SAMPLE)).min(micros(CAPACITY));
    }

    /// Whether an expensive read may run now (expected to cost what the last one did).
    pub fn allows(&self) -> bool {
        let expected = self.last_cost_us.clamp(0, micros(CAPACITY));
        self.balance_us > 0 && self.balance_us >= expected
    }

    /// Pays for a read that ran.
    pub fn charge(&mut self, cost: Duration) {
        let us = micros(cost);
        self.balance_us -= us;
        self.last_cost_us = us;
        self.spent_us += us;
    }

    /// Pays for work done elsewhere (a name lookup), without changing the expected read cost.
    pub fn charge_other(&mut self, us: i64) {
        self.balance_us -= us;
        self.spent_us += us;
    }

    pub fn spent(&self) -> Duration {
        Duration::from_micros(u64::try_from(self.spent_us).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_read_runs_at_once_and_churn_averages_the_budget() {
        let mut b = CostBudget::default();
        b.earn();
        assert!(b.allows(), "a full balance pays the first read");
        let read = Duration::from_millis(13);
        b.charge(read);
        // Continuous churn: a read whenever allowed, over 1,000 samples.
        let mut reads = 1;
        for _ in 0..1_000 {
            b.earn();
            if b.allows() {
                b.charge(read);
                reads += 1;
            }
        }
        // What was saved up, plus 1.5 ms for each of the 1,001 samples, plus one overdraft.
        assert!(
            b.spent() <= CAPACITY + PER_SAMPLE * 1_001 + read,
            "{:?}",
            b.spent()
        );
        assert!(
            reads >= 100,
            "reads still happen, every ~9 samples: {reads}"
        );
    }

    #[test]
    fn a_dear_read_is_repaid_before_the_next() {
        let mut b = CostBudget::default();
        b.charge(Duration::from_millis(60));
        let mut waited = 0;
        while !b.allows() {
            b.earn();
            waited += 1;
        }
        // 56 ms in debt, then saving up to the 4 ms cap (what a read is expected to cost, at most).
        assert_eq!(waited, 40);
        b.charge_other(5_000);
        assert!(!b.allows());
    }
}
