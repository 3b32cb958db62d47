//! Whether this instance samples a target now. With one instance (a SQLite store) it always
//! does. With several on one PostgreSQL store, one instance at a time holds a lease per target
//! (`features::cluster::leases` renews it in the store) and only the holder probes, samples,
//! tails the log and runs scheduled analyses; the others show what it relays.
//!
//! The lease is held until a deadline on this process's monotonic clock, set a margin before the
//! store's expiry would let another instance take it: a holder that hangs or loses its store
//! stops by itself before anyone else starts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// `until_ms` of a lease that never lapses (one instance).
const ALWAYS: u64 = u64::MAX;

#[derive(Debug)]
pub struct Lease {
    base: Instant,
    /// Milliseconds after `base` until which the lease is held (0: not held).
    until_ms: AtomicU64,
    /// A page of the target is open on another instance (the holder keeps its fast cadence).
    watched_elsewhere: AtomicBool,
    /// A Queries page of the target is open on another instance.
    statements_elsewhere: AtomicBool,
    /// Woken when the lease is taken (the probe runs at once instead of at its next turn).
    taken: Notify,
}

impl Lease {
    /// Held for good: the only instance.
    pub fn always() -> Self {
        Self::with(ALWAYS)
    }

    /// Not held until the lease keeper takes it.
    pub fn not_held() -> Self {
        Self::with(0)
    }

    fn with(until_ms: u64) -> Self {
        Self {
            base: Instant::now(),
            until_ms: AtomicU64::new(until_ms),
            watched_elsewhere: AtomicBool::new(false),
            statements_elsewhere: AtomicBool::new(false),
            taken: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(ALWAYS - 1)
    }

    /// Whether this instance samples the target now.
    pub fn held(&self) -> bool {
        self.now_ms() < self.until_ms.load(Ordering::Acquire)
    }

    /// Holds the lease until `deadline`; true when it was not held before (just taken).
    pub fn hold_until(&self, deadline: Instant) -> bool {
        let was = self.held();
        let until = u64::try_from(deadline.saturating_duration_since(self.base).as_millis())
            .unwrap_or(ALWAYS - 1);
        if self.until_ms.load(Ordering::Acquire) != ALWAYS {
            self.until_ms.store(until, Ordering::Release);
        }
        let now = self.held();
        if now && !was {
            self.taken.notify_waiters();
        }
        now && !was
    }

    /// Stops holding it at once (released, or another instance holds it).
    pub fn give_up(&self) {
        if self.until_ms.load(Ordering::Acquire) != ALWAYS {
            self.until_ms.store(0, Ordering::Release);
        }
    }

    /// Waits until the lease is taken (or for ever, when it is never taken again).
    pub async fn taken(&self) {
        self.taken.notified().await;
    }

    /// What the store says about pages open on other instances.
    pub fn set_watched_elsewhere(&self, watched: bool, statements: bool) {
        self.watched_elsewhere.store(watched, Ordering::Relaxed);
        self.statements_elsewhere
            .store(statements, Ordering::Relaxed);
    }

    pub fn watched_elsewhere(&self) -> bool {
        self.watched_elsewhere.load(Ordering::Relaxed)
    }

    pub fn statements_elsewhere(&self) -> bool {
        self.statements_elsewhere.load(Ordering::Relaxed)
    }

    /// How long the lease is still held (zero when not held; `None` when held for good).
    pub fn remaining(&self) -> Option<Duration> {
        let until = self.until_ms.load(Ordering::Acquire);
        (until != ALWAYS).then(|| Duration::from_millis(until.saturating_sub(self.now_ms())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lapses_at_its_deadline_and_one_held_for_good_never_does() {
        let lease = Lease::not_held();
        assert!(!lease.held());
        assert!(lease.hold_until(Instant::now() + Duration::from_secs(5)));
        assert!(lease.held());
        // Renewed: not "just taken".
        assert!(!lease.hold_until(Instant::now() + Duration::from_secs(5)));
        lease.hold_until(Instant::now() - Duration::from_millis(1));
        assert!(!lease.held(), "a deadline in the past");
        lease.hold_until(Instant::now() + Duration::from_secs(5));
        lease.give_up();
        assert!(!lease.held());

        let one = Lease::always();
        assert!(one.held());
        one.give_up();
        one.hold_until(Instant::now());
        assert!(one.held());
        assert_eq!(one.remaining(), None);
    }
}
