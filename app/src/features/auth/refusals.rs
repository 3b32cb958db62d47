//! Refused requests in the audit trail, bounded: anyone can send a refused request (a forged
//! POST needs no sign-in), so what one costs the store must not depend on the sender.
//!
//! - What is kept is cut: the object is `METHOD /path`, the path at most [`MAX_PATH_CHARS`]
//!   characters and never its query string.
//! - Repeats are aggregated: per (client address, kind, signed-in user, minute) the first refusal
//!   is written as it happens (a DBA sees an attempt at once); the others are only counted, and
//!   one summary row with their number (`{"repeats": n}`) is written by a timer once the minute
//!   is over.
//! - The table of sources is bounded too: past [`MAX_SOURCES`] addresses in one minute, further
//!   addresses share one bucket (`client_addr` "many").
//!
//! So a flood costs at most two rows per source, kind and minute, whatever its rate.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::store::{AuditEvent, Store};

/// Longest path kept in an audit row (characters).
pub const MAX_PATH_CHARS: usize = 200;
/// Distinct sources tracked per minute before they are lumped together.
pub const MAX_SOURCES: usize = 256;
const MINUTE_MS: i64 = 60_000;

/// `METHOD /path` for the audit trail: the query string left out, the path cut.
pub fn request_object(method: &str, path: &str) -> String {
    let mut cut: String = path.chars().take(MAX_PATH_CHARS).collect();
    if cut.len() < path.len() {
        cut.push('…');
    }
    format!("{method} {cut}")
}

#[derive(Debug)]
struct Bucket {
    /// The first refusal of the minute (already written): the summary repeats its fields.
    first: AuditEvent,
    /// Refusals after the first.
    repeats: u64,
}

#[derive(Debug, Default)]
struct Minute {
    minute: i64,
    buckets: HashMap<Key, Bucket>,
    /// Summaries of ended minutes, written by the timer (never inside the request that notices
    /// the new minute: that may hold sign-in locks).
    pending: Vec<AuditEvent>,
}

/// (client address, action, outcome, signed-in user): refusals of different users behind one
/// address (a proxy, NAT) are not merged into one another's rows.
type Key = (String, String, String, Option<String>);

/// The aggregator; one per process, in `Auth`.
#[derive(Debug, Default)]
pub struct Refusals {
    current: Mutex<Minute>,
}

impl Refusals {
    /// Records a refusal: written now if it is the first of its source and kind this minute,
    /// else counted. A minute that has ended is set aside for the timer to summarise.
    pub async fn record(&self, store: &Store, event: AuditEvent) {
        let minute = event.at_ms.div_euclid(MINUTE_MS);
        let write = {
            let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            if cur.minute != minute {
                let old = std::mem::take(&mut cur.buckets);
                cur.pending.extend(summaries(old));
                cur.minute = minute;
            }
            let key_of = |addr: &str| {
                (
                    addr.to_owned(),
                    event.action.clone(),
                    event.outcome.clone(),
                    event.actor.clone(),
                )
            };
            let mut key = key_of(event.client_addr.as_deref().unwrap_or_default());
            if !cur.buckets.contains_key(&key) && cur.buckets.len() >= MAX_SOURCES {
                key = key_of("many");
            }
            match cur.buckets.get_mut(&key) {
                Some(b) => {
                    b.repeats += 1;
                    None
                }
                None => {
                    let mut first = event;
                    first.client_addr = Some(key.0.clone());
                    cur.buckets.insert(
                        key,
                        Bucket {
                            first: first.clone(),
                            repeats: 0,
                        },
                    );
                    Some(first)
                }
            }
        };
        if let Some(ev) = write {
            append(store, &ev).await;
        }
    }

    /// Writes the summaries of minutes that ended before `now_ms` (a timer calls this, so a
    /// flood that stops is still summed up); `all` also closes the current minute (shutdown).
    pub async fn flush(&self, store: &Store, now_ms: i64, all: bool) {
        let ended = {
            let mut cur = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            let mut ended = std::mem::take(&mut cur.pending);
            if all || cur.minute < now_ms.div_euclid(MINUTE_MS) {
                ended.extend(summaries(std::mem::take(&mut cur.buckets)));
            }
            ended
        };
        for ev in &ended {
            append(store, ev).await;
        }
    }
}

/// One row per bucket that saw repeats.
fn summaries(buckets: HashMap<Key, Bucket>) -> Vec<AuditEvent> {
    buckets
        .into_values()
        .filter(|b| b.repeats > 0)
        .map(|b| {
            let mut ev = b.first;
            ev.at_ms = (ev.at_ms.div_euclid(MINUTE_MS) + 1) * MINUTE_MS - 1;
            ev.parameters = Some(serde_json::json!({ "repeats": b.repeats }).to_string());
            ev.error = Some(format!(
                "{} more like this in the same minute (counted, not stored one by one): {}",
                b.repeats,
                ev.error.as_deref().unwrap_or("refused")
            ));
            ev
        })
        .collect()
}

async fn append(store: &Store, event: &AuditEvent) {
    if let Err(e) = store.append_audit(event).await {
        tracing::error!(error = %e, action = %event.action, "cannot audit a refused request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::audit::model::{Action, Outcome};

    #[test]
    fn objects_are_cut_and_never_hold_a_query() {
        assert_eq!(request_object("POST", "/api/x"), "POST /api/x");
        let long = format!("/{}", "é".repeat(5000));
        let o = request_object("POST", &long);
        assert_eq!(o.chars().count(), "POST ".len() + MAX_PATH_CHARS + 1);
        assert!(o.ends_with('…'));
    }

    #[test]
    fn summaries_carry_the_count_at_the_end_of_the_minute() {
        let key = |a: &str| {
            (
                a.to_owned(),
                "request.forged".to_owned(),
                "denied".to_owned(),
                None,
            )
        };
        let mut buckets = HashMap::new();
        let first =
            AuditEvent::new(90_000, Action::RequestForged, Outcome::Denied).client("10.0.0.1");
        buckets.insert(key("10.0.0.1"), Bucket { first, repeats: 41 });
        buckets.insert(
            key("10.0.0.2"),
            Bucket {
                first: AuditEvent::new(61_000, Action::RequestForged, Outcome::Denied),
                repeats: 0,
            },
        );
        let rows = summaries(buckets);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].at_ms, 119_999);
        assert_eq!(rows[0].parameters.as_deref(), Some(r#"{"repeats":41}"#));
    }
}
