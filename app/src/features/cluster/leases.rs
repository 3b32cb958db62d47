//! Per-target leases on a PostgreSQL store: each target is probed, sampled, its log tailed and
//! its analyses scheduled by one instance at a time, the holder of its lease. Every `ROUND` each
//! instance renews its leases for `LEASE_TTL_MS` (the store's clock), takes free ones up to its
//! fair share (targets ÷ live instances, rounded up) and gives up what it holds beyond that while
//! another instance holds less. An expired lease (its holder failed), or one free for two rounds
//! in a row, is taken whatever the share, so no target waits for the shares to agree.
//!
//! Fail-over: a holder killed, hung or cut off from the store stops renewing; its leases expire
//! `LEASE_TTL_MS` after its last renewal, and another instance takes them on its next round
//! (at most `LEASE_TTL_MS` + `ROUND` = 10 s). The holder itself stops a margin earlier (its local
//! deadline is `HELD_FOR` after the renewal was sent, on the monotonic clock), so two instances
//! never sample one target at once, whatever their wall clocks say.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::{Instance, LOST_AFTER_MS};
use crate::features::live::Live;
use crate::features::targets::registry::TargetRegistry;
use crate::store::{LeaseRecord, Store, StoreError};

/// How long a renewal keeps a lease, by the store's clock.
pub const LEASE_TTL_MS: i64 = 8_000;
/// How often leases are renewed and free ones looked for.
pub const ROUND: Duration = Duration::from_secs(2);
/// How long this instance considers a lease held after sending its renewal: a second less than
/// the store's expiry, so the holder stops before anyone else may start.
const HELD_FOR: Duration = Duration::from_millis(7_000);
/// A page open here keeps its target's holder at the fast cadence this long (renewed each round).
const WATCH_MS: i64 = 6_000;

/// Keeps this instance's leases.
pub struct Keeper {
    instance: Arc<Instance>,
    targets: Arc<TargetRegistry>,
    live: Arc<Live>,
    store: Store,
    /// Targets nobody held at the previous round.
    unheld_before: HashSet<String>,
    failing: bool,
}

/// What a round does with the leases it may take or hold.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    take: Vec<String>,
    release: Vec<String>,
    /// Targets nobody holds now.
    unheld: HashSet<String>,
}

impl Keeper {
    pub fn new(
        instance: Arc<Instance>,
        targets: Arc<TargetRegistry>,
        live: Arc<Live>,
        store: Store,
    ) -> Self {
        Self {
            instance,
            targets,
            live,
            store,
            unheld_before: HashSet::new(),
            failing: false,
        }
    }

    /// One round: announce the pages open here, renew, take and give up leases, then apply the
    /// result to the targets (a target whose lease is not held here stops at once).
    pub async fn round(&mut self) -> Result<(), StoreError> {
        let sent = Instant::now();
        let me = self.instance.id.clone();
        let ids: Vec<String> = self
            .targets
            .all()
            .iter()
            .map(|t| t.spec.id.clone())
            .collect();
        let mut watched = Vec::new();
        let mut statements = Vec::new();
        for t in self.targets.all().iter().filter(|t| !t.leads()) {
            if let Some(hub) = self.live.hub(&t.spec.id) {
                if hub.viewers() > 0 {
                    watched.push(t.spec.id.clone());
                }
                if hub.statements_watched() {
                    statements.push(t.spec.id.clone());
                }
            }
        }
        self.store
            .mark_watched(&watched, &statements, WATCH_MS)
            .await?;
        let mut held: BTreeSet<String> = self
            .store
            .renew_leases(&me, &ids, LEASE_TTL_MS)
            .await?
            .into_iter()
            .collect();
        let (leases, alive) = self.store.leases(&ids, LOST_AFTER_MS).await?;
        let plan = plan(&me, &ids, &held, &leases, &alive, &self.unheld_before);
        held.extend(
            self.store
                .take_leases(&me, &plan.take, LEASE_TTL_MS)
                .await?,
        );
        if !plan.release.is_empty() {
            self.store.release_leases(&me, Some(&plan.release)).await?;
            for r in &plan.release {
                held.remove(r);
            }
            tracing::info!(targets = ?plan.release, "leases given up to a less busy instance");
        }
        self.unheld_before = plan.unheld;
        // Alone on the store, nobody needs this instance's frames.
        let peers = alive.iter().any(|a| *a != me);
        let by_target: HashMap<&str, &LeaseRecord> =
            leases.iter().map(|l| (l.target_id.as_str(), l)).collect();
        for t in self.targets.all() {
            if let Some(hub) = self.live.hub(&t.spec.id) {
                hub.set_peers(peers);
            }
            let lease = t.lease();
            if held.contains(&t.spec.id) {
                if lease.hold_until(sent + HELD_FOR) {
                    tracing::info!(target_id = %t.spec.id, "lease taken: this instance samples the target");
                }
                let elsewhere = by_target.get(t.spec.id.as_str());
                lease.set_watched_elsewhere(
                    elsewhere.is_some_and(|l| l.watched),
                    elsewhere.is_some_and(|l| l.statements),
                );
            } else {
                if lease.held() {
                    tracing::info!(target_id = %t.spec.id, "lease given up: another instance samples the target");
                }
                lease.give_up();
                t.shed_idle().await;
            }
        }
        self.instance.set_targets(held.into_iter().collect());
        Ok(())
    }

    /// Runs a round every `ROUND` until aborted. A round that fails or takes longer than `ROUND`
    /// leaves the leases to lapse at their local deadlines: an instance cut off from its store
    /// stops sampling within `HELD_FOR`, and takes its share again once the store answers.
    pub fn spawn(mut self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ROUND);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let failed = match tokio::time::timeout(ROUND, self.round()).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some(format!("no answer within {} s", ROUND.as_secs())),
                };
                match (failed, self.failing) {
                    (Some(e), false) => {
                        tracing::warn!(error = %e, "renewing the target leases failed: this instance stops sampling as they lapse");
                        self.failing = true;
                    }
                    (None, true) => {
                        tracing::info!("the store answers again: taking target leases again");
                        self.failing = false;
                    }
                    _ => {}
                }
            }
        })
    }

    /// A clean shutdown: every lease is given up at once (another instance takes them on its
    /// next round, without waiting for them to expire).
    pub async fn release_all(instance: &Instance, targets: &TargetRegistry, store: &Store) {
        for t in targets.all() {
            t.lease().give_up();
        }
        if let Err(e) = store.release_leases(&instance.id, None).await {
            tracing::warn!(error = %e, "giving up the target leases failed (they expire by themselves)");
        }
    }
}

/// The round's decisions, from the leases after renewal and the live instances.
fn plan(
    me: &str,
    ids: &[String],
    held: &BTreeSet<String>,
    leases: &[LeaseRecord],
    alive: &[String],
    unheld_before: &HashSet<String>,
) -> Plan {
    let holder: HashMap<&str, &str> = leases
        .iter()
        .filter(|l| l.live)
        .map(|l| (l.target_id.as_str(), l.instance_id.as_str()))
        .collect();
    let mut unheld: Vec<&String> = ids
        .iter()
        .filter(|id| !holder.contains_key(id.as_str()))
        .collect();
    let instances = alive.len() + usize::from(!alive.iter().any(|a| a == me));
    let share = ids.len().div_ceil(instances.max(1));
    // Each instance prefers its own order, so two looking at once mostly take different ones.
    unheld.sort_by_key(|id| rank(me, id));
    let room = share.saturating_sub(held.len());
    // A lease that expired was dropped by a holder that died, hung or lost its store: taken at
    // once (fail-over does not wait for the holder to count as lost).
    let expired: HashSet<&str> = leases
        .iter()
        .filter(|l| !l.live)
        .map(|l| l.target_id.as_str())
        .collect();
    let take: Vec<String> = unheld
        .iter()
        .enumerate()
        .filter(|(i, id)| {
            *i < room || expired.contains(id.as_str()) || unheld_before.contains(id.as_str())
        })
        .map(|(_, id)| (*id).clone())
        .collect();
    let mut release = Vec::new();
    if held.len() > share && unheld.is_empty() {
        let mut counts: HashMap<&str, usize> = alive
            .iter()
            .filter(|a| a.as_str() != me)
            .map(|a| (a.as_str(), 0))
            .collect();
        for h in holder.values() {
            if let Some(c) = counts.get_mut(h) {
                *c += 1;
            }
        }
        let below: usize = counts.values().map(|c| share.saturating_sub(*c)).sum();
        let mut mine: Vec<&String> = held.iter().collect();
        mine.sort_by_key(|id| std::cmp::Reverse(rank(me, id)));
        release = mine
            .into_iter()
            .take((held.len() - share).min(below))
            .cloned()
            .collect();
    }
    Plan {
        take,
        release,
        unheld: unheld.into_iter().cloned().collect(),
    }
}

fn rank(me: &str, id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (me, id).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(target: &str, instance: &str, live: bool) -> LeaseRecord {
        LeaseRecord {
            target_id: target.into(),
            instance_id: instance.into(),
            live,
            watched: false,
            statements: false,
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    #[test]
    fn alone_an_instance_takes_every_target() {
        let p = plan(
            "a",
            &ids(5),
            &BTreeSet::new(),
            &[],
            &["a".into()],
            &HashSet::new(),
        );
        assert_eq!(p.take.len(), 5);
        assert!(p.release.is_empty());
    }

    #[test]
    fn a_second_instance_gets_half_and_the_first_gives_up_only_what_it_can_take() {
        let all = ids(5);
        let leases: Vec<_> = all.iter().map(|t| lease(t, "a", true)).collect();
        let held: BTreeSet<String> = all.iter().cloned().collect();
        let alive = vec!["a".to_owned(), "b".to_owned()];
        let p = plan("a", &all, &held, &leases, &alive, &HashSet::new());
        assert_eq!(p.release.len(), 2, "5 targets, 2 instances: a keeps 3");
        assert!(p.take.is_empty());
        // b, meanwhile, finds nothing free and takes nothing.
        let p = plan(
            "b",
            &all,
            &BTreeSet::new(),
            &leases,
            &alive,
            &HashSet::new(),
        );
        assert!(p.take.is_empty() && p.release.is_empty());
        // Once a let two go, b takes them: 3 + 2, stable.
        let leases: Vec<_> = all
            .iter()
            .enumerate()
            .map(|(i, t)| lease(t, "a", i < 3))
            .collect();
        let p = plan(
            "b",
            &all,
            &BTreeSet::new(),
            &leases,
            &alive,
            &HashSet::new(),
        );
        assert_eq!(p.take.len(), 2);
        let a_held: BTreeSet<String> = all[..3].iter().cloned().collect();
        let after: Vec<_> = all
            .iter()
            .enumerate()
            .map(|(i, t)| lease(t, if i < 3 { "a" } else { "b" }, true))
            .collect();
        let p = plan("a", &all, &a_held, &after, &alive, &HashSet::new());
        assert!(p.take.is_empty() && p.release.is_empty(), "{p:?}");
    }

    #[test]
    fn an_expired_lease_is_taken_at_once_and_one_free_twice_beyond_the_share() {
        let all = ids(4);
        // a died holding t0 and t1 (it still counts as alive: its last heartbeat is recent);
        // b holds t2 and t3 and takes the expired ones at once, beyond its share of 2.
        let leases = vec![
            lease("t0", "a", false),
            lease("t1", "a", false),
            lease("t2", "b", true),
            lease("t3", "b", true),
        ];
        let held: BTreeSet<String> = ["t2".to_owned(), "t3".to_owned()].into();
        let alive = vec!["a".to_owned(), "b".to_owned()];
        let p = plan("b", &all, &held, &leases, &alive, &HashSet::new());
        assert_eq!(p.take.len(), 2);
        // Released (no row) while b is at its share: taken at the next round if still free.
        let leases = vec![lease("t2", "b", true), lease("t3", "b", true)];
        let p = plan("b", &all, &held, &leases, &alive, &HashSet::new());
        assert!(p.take.is_empty());
        let p = plan("b", &all, &held, &leases, &alive, &p.unheld);
        assert_eq!(p.take.len(), 2);
    }
}
