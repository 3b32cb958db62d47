//! A target's budget for connections opened on request: token buckets per login kind, so a
//! flood of reads cannot use up what a DBA needs during an incident, and a target never sees a
//! connection flood from pgpanel.

use std::sync::Mutex;
use std::time::Instant;

use super::connect::LoginKind;
use crate::error::AppError;

/// Connections pgpanel opens on request to one target, at once and then per second: whoever
/// asks, a target never sees a connection flood from pgpanel.
pub const CONNECT_BURST: f64 = 20.0;
pub const CONNECT_PER_SECOND: f64 = 5.0;

/// A target's connection attempts on request: reads of another database (any role) and actions
/// (dba) have budgets of their own, so reads cannot use up what a DBA needs during an incident.
#[derive(Debug)]
pub(super) struct ConnectBudgets([Mutex<Bucket>; 2]);

/// A token bucket: [`CONNECT_BURST`] attempts at once, then [`CONNECT_PER_SECOND`] a second.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl ConnectBudgets {
    pub(super) fn new() -> Self {
        Self([LoginKind::Monitor, LoginKind::Action].map(|_| {
            Mutex::new(Bucket {
                tokens: CONNECT_BURST,
                at: Instant::now(),
            })
        }))
    }

    /// Takes one attempt from `purpose`'s bucket, or says to wait.
    pub(super) fn admit(&self, target_id: &str, purpose: LoginKind) -> Result<(), AppError> {
        let mut b = self.0[purpose as usize]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * CONNECT_PER_SECOND;
        b.tokens = (b.tokens + refill).min(CONNECT_BURST);
        b.at = now;
        if b.tokens < 1.0 {
            tracing::warn!(%target_id, "connection attempts to this target are being throttled");
            return Err(AppError::RateLimited {
                message: format!(
                    "pgpanel is opening too many connections to target {target_id} right now; try again in a second."
                ),
                retry_after_s: 1,
            });
        }
        b.tokens -= 1.0;
        Ok(())
    }
}
