//! The hub of one target: the latest frames, the last hour of samples at full resolution (in
//! compact rings, `super::ring`), the statement deltas of the current minute, and a broadcast
//! channel every `/live` stream listens to. Each frame is serialised once, whatever the number
//! of viewers; a viewer that falls behind loses frames (the channel overwrites them) and resyncs
//! from the latest ones.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::model::{
    ActivityFrame, FastPoint, Minute, OverviewFrame, SlowPoint, StatementDelta, StatementKey,
    StatementsFrame, Topic,
};
use super::ring::Ring;
use crate::features::activity::model::STREAM_QUERY_CHARS;
use crate::features::locks::model::LockGraph;

/// How long samples stay in memory at full resolution.
pub const MEMORY_MS: i64 = 65 * 60_000;
/// Frames a slow viewer may fall behind before it loses some.
const CHANNEL_FRAMES: usize = 16;

/// A frame ready to send: serialised once for every viewer.
#[derive(Debug)]
pub struct Message {
    pub topic: Topic,
    pub at_ms: i64,
    pub json: Arc<str>,
}

#[derive(Debug, Default)]
struct State {
    fast: Ring<FastPoint>,
    slow: Ring<SlowPoint>,
    overview: Option<OverviewFrame>,
    activity: Option<Arc<ActivityFrame>>,
    locks: Option<Arc<LockGraph>>,
    latest: HashMap<Topic, Arc<Message>>,
    /// Statement deltas of the minute starting at `pending_minute_ms`, not yet in the store.
    pending: HashMap<StatementKey, StatementDelta>,
    pending_minute_ms: i64,
    /// Minute roll-up of the samples in progress.
    minute_ms: i64,
    /// The role OIDs of pgpanel's own logins on the target (its statements can be hidden).
    own_roles: Vec<i64>,
    /// Each entry's minimum and maximum execution time over its life, from the latest sample.
    extremes: HashMap<StatementKey, (f64, f64)>,
}

#[derive(Debug)]
pub struct TargetHub {
    pub id: String,
    state: RwLock<State>,
    tx: broadcast::Sender<Arc<Message>>,
    /// Open streams following the statements topic (a Queries page): while there is one, the
    /// sampler reads pg_stat_statements on every slow tick, else every
    /// `LiveSchedule::statements_idle`.
    statement_watchers: AtomicUsize,
    /// Where the frames this instance samples go for the other instances (a PostgreSQL store).
    relay: OnceLock<mpsc::Sender<RelayFrame>>,
    /// Other instances run on the store (the lease keeper says so each round): without them
    /// nothing is relayed.
    peers: AtomicBool,
}

/// A frame for the other instances (`super::relay` writes it to the store).
#[derive(Debug)]
pub struct RelayFrame {
    pub target: String,
    pub topic: &'static str,
    pub at_ms: i64,
    pub body: String,
}

/// What the Queries page reads from the hub besides the frames: relayed when it changes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct QueriesState {
    own_roles: Vec<i64>,
    pending_minute_ms: i64,
    pending: Vec<(StatementKey, StatementDelta)>,
    extremes: Vec<(StatementKey, (f64, f64))>,
}

/// A stream following the statements topic, counted while it lives (`TargetHub::watch_statements`).
#[derive(Debug)]
pub struct StatementsWatch(Arc<TargetHub>);

impl Drop for StatementsWatch {
    fn drop(&mut self) {
        self.0.statement_watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn minute_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(60_000)
}

impl TargetHub {
    pub fn new(id: &str) -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_FRAMES);
        Self {
            id: id.to_owned(),
            state: RwLock::new(State::default()),
            tx,
            statement_watchers: AtomicUsize::new(0),
            relay: OnceLock::new(),
            peers: AtomicBool::new(false),
        }
    }

    /// From now on, what the sampler pushes is also sent to `relay` for the other instances.
    pub fn relay_to(&self, relay: mpsc::Sender<RelayFrame>) {
        let _ = self.relay.set(relay);
    }

    /// Whether other instances run on the store (they need this one's frames).
    pub fn set_peers(&self, peers: bool) {
        self.peers.store(peers, Ordering::Relaxed);
    }

    /// Whether frames go to other instances (a PostgreSQL store that other instances use).
    pub fn relaying(&self) -> bool {
        self.relay.get().is_some() && self.peers.load(Ordering::Relaxed)
    }

    /// Hands a frame to the relay; dropped when it is full (the next one supersedes it).
    fn relay(&self, topic: &'static str, at_ms: i64, body: Option<String>) {
        if !self.relaying() {
            return;
        }
        if let (Some(relay), Some(body)) = (self.relay.get(), body) {
            let _ = relay.try_send(RelayFrame {
                target: self.id.clone(),
                topic,
                at_ms,
                body,
            });
        }
    }

    /// The target's facts as its monitor last read them, for the other instances.
    pub fn relay_target(
        &self,
        at_ms: i64,
        target: &crate::features::targets::model::TargetOverview,
    ) {
        if self.relaying() {
            self.relay("target", at_ms, serde_json::to_string(target).ok());
        }
    }

    /// The Queries page's state (own roles, the current minute's deltas, the extremes), for the
    /// other instances: after each change.
    pub fn relay_queries(&self, at_ms: i64) {
        if !self.relaying() {
            return;
        }
        let body = {
            let st = self.read();
            serde_json::to_string(&QueriesState {
                own_roles: st.own_roles.clone(),
                pending_minute_ms: st.pending_minute_ms,
                pending: st.pending.iter().map(|(k, d)| (*k, d.clone())).collect(),
                extremes: st.extremes.iter().map(|(k, e)| (*k, *e)).collect(),
            })
            .ok()
        };
        self.relay("queries", at_ms, body);
    }

    /// Applies a frame relayed by the instance that samples the target: viewers here get it as
    /// if sampled here. Unknown topics are ignored (a newer instance during a rolling upgrade).
    pub fn apply(&self, topic: &str, body: &str) -> Result<(), serde_json::Error> {
        // A frame read again after a reconnection is not recorded twice.
        let newer = |topic: Topic, at_ms: i64| {
            self.read()
                .latest
                .get(&topic)
                .is_none_or(|m| m.at_ms < at_ms)
        };
        match topic {
            "overview" => {
                let frame: OverviewFrame = serde_json::from_str(body)?;
                if newer(Topic::Overview, frame.at_ms) {
                    self.record(frame);
                }
            }
            "activity" => {
                let frame: ActivityFrame = serde_json::from_str(body)?;
                if newer(Topic::Activity, frame.at_ms) {
                    self.publish_activity(frame);
                }
            }
            "locks" => {
                let graph: LockGraph = serde_json::from_str(body)?;
                let at_ms = graph.at_ms;
                if newer(Topic::Locks, at_ms) {
                    self.write().locks = Some(Arc::new(graph));
                    self.publish(Topic::Locks, at_ms, Some(body.to_owned()));
                }
            }
            "statements" => {
                let frame: StatementsFrame = serde_json::from_str(body)?;
                if newer(Topic::Statements, frame.at_ms) {
                    self.publish(Topic::Statements, frame.at_ms, Some(body.to_owned()));
                }
            }
            "queries" => {
                let q: QueriesState = serde_json::from_str(body)?;
                let mut st = self.write();
                st.own_roles = q.own_roles;
                st.pending_minute_ms = q.pending_minute_ms;
                st.pending = q.pending.into_iter().collect();
                st.extremes = q.extremes.into_iter().collect();
            }
            _ => {}
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Message>> {
        self.tx.subscribe()
    }

    pub fn viewers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Counts a stream following the statements topic until the returned guard is dropped.
    pub fn watch_statements(self: &Arc<Self>) -> StatementsWatch {
        self.statement_watchers.fetch_add(1, Ordering::Relaxed);
        StatementsWatch(self.clone())
    }

    /// Whether a stream follows the statements topic now (someone has a Queries page open).
    pub fn statements_watched(&self) -> bool {
        self.statement_watchers.load(Ordering::Relaxed) > 0
    }

    /// The latest frame of a topic, for a new or resyncing viewer.
    pub fn latest(&self, topic: Topic) -> Option<Arc<Message>> {
        self.read().latest.get(&topic).cloned()
    }

    pub fn overview(&self) -> Option<OverviewFrame> {
        self.read().overview.clone()
    }

    pub fn activity(&self) -> Option<Arc<ActivityFrame>> {
        self.read().activity.clone()
    }

    /// The latest lock graph.
    pub fn locks(&self) -> Option<Arc<LockGraph>> {
        self.read().locks.clone()
    }

    pub fn push_locks(&self, graph: LockGraph) {
        let json = serde_json::to_string(&graph).ok();
        let at_ms = graph.at_ms;
        self.relay("locks", at_ms, json.clone());
        self.write().locks = Some(Arc::new(graph));
        self.publish(Topic::Locks, at_ms, json);
    }

    fn publish(&self, topic: Topic, at_ms: i64, json: Option<String>) {
        let Some(json) = json else { return };
        let msg = Arc::new(Message {
            topic,
            at_ms,
            json: json.into(),
        });
        self.write().latest.insert(topic, msg.clone());
        // No viewer is not an error.
        let _ = self.tx.send(msg);
    }

    /// Records a fast sample (and a slow one, when taken) and sends the frames. Returns the
    /// minute that just ended, if this sample started a new one, for the store.
    pub fn push(&self, overview: OverviewFrame, activity: Option<ActivityFrame>) -> Option<Minute> {
        if self.relaying() {
            self.relay(
                "overview",
                overview.at_ms,
                serde_json::to_string(&overview).ok(),
            );
            if let Some(a) = &activity {
                self.relay("activity", a.at_ms, serde_json::to_string(a).ok());
            }
        }
        let finished = self.record(overview);
        if let Some(a) = activity {
            self.publish_activity(a);
        }
        finished
    }

    /// The latest sessions: kept whole for the pages, sent with queries cut short.
    fn publish_activity(&self, a: ActivityFrame) {
        let slim = ActivityFrame {
            target: a.target.clone(),
            at_ms: a.at_ms,
            sessions: a
                .sessions
                .iter()
                .map(|s| s.truncated(STREAM_QUERY_CHARS))
                .collect(),
            error: a.error.clone(),
        };
        let at_ms = a.at_ms;
        self.write().activity = Some(Arc::new(a));
        self.publish(Topic::Activity, at_ms, serde_json::to_string(&slim).ok());
    }

    /// Records a fast sample (and a slow one, when taken) in the rings and sends the overview
    /// frame; the minute that just ended, if this sample started a new one.
    fn record(&self, overview: OverviewFrame) -> Option<Minute> {
        let at_ms = overview.at_ms;
        let overview_json = serde_json::to_string(&overview).ok();
        let finished = {
            let mut st = self.write();
            let minute = minute_of(at_ms);
            let finished = if st.minute_ms != 0 && minute > st.minute_ms {
                Some(roll_up(&st, st.minute_ms))
            } else {
                None
            };
            st.minute_ms = minute;
            if let Some(p) = &overview.fast {
                st.fast.push(p);
            }
            if let Some(p) = &overview.slow {
                st.slow.push(p);
            }
            let cutoff = at_ms - MEMORY_MS;
            st.fast.trim_before(cutoff);
            st.slow.trim_before(cutoff);
            // Keep the last health and slow point when this frame has none (a degraded panel).
            let mut merged = overview;
            if let Some(prev) = &st.overview
                && merged.health.is_none()
            {
                merged.health = prev.health.clone();
            }
            st.overview = Some(merged);
            finished.flatten()
        };
        self.publish(Topic::Overview, at_ms, overview_json);
        finished
    }

    pub fn push_statements(&self, frame: &StatementsFrame) {
        let json = serde_json::to_string(frame).ok();
        self.relay("statements", frame.at_ms, json.clone());
        self.publish(Topic::Statements, frame.at_ms, json);
    }

    /// Adds statement deltas to the current minute; returns the previous minute's totals when a
    /// new minute began (to be written to the store).
    pub fn add_statement_deltas(
        &self,
        at_ms: i64,
        deltas: Vec<(StatementKey, StatementDelta)>,
    ) -> Option<(i64, Vec<(StatementKey, StatementDelta)>)> {
        let minute = minute_of(at_ms);
        let mut st = self.write();
        let mut flushed = None;
        if minute != st.pending_minute_ms {
            let done = std::mem::take(&mut st.pending);
            if !done.is_empty() {
                flushed = Some((st.pending_minute_ms, done.into_iter().collect()));
            }
            st.pending_minute_ms = minute;
        }
        for (key, delta) in deltas {
            st.pending.entry(key).or_default().add(&delta);
        }
        flushed
    }

    pub fn set_own_roles(&self, roles: Vec<i64>) {
        self.write().own_roles = roles;
    }

    /// pgpanel's own logins on the target, by role OID.
    pub fn own_roles(&self) -> Vec<i64> {
        self.read().own_roles.clone()
    }

    pub fn set_statement_extremes(&self, extremes: HashMap<StatementKey, (f64, f64)>) {
        self.write().extremes = extremes;
    }

    /// Minimum and maximum execution time of these entries over their life.
    pub fn statement_extremes(&self, keys: &[StatementKey]) -> HashMap<StatementKey, (f64, f64)> {
        let st = self.read();
        keys.iter()
            .filter_map(|k| Some((*k, *st.extremes.get(k)?)))
            .collect()
    }

    /// The deltas not yet in the store, with the minute they belong to.
    pub fn pending_statements(&self) -> (i64, Vec<(StatementKey, StatementDelta)>) {
        let st = self.read();
        (
            st.pending_minute_ms,
            st.pending.iter().map(|(k, d)| (*k, d.clone())).collect(),
        )
    }

    /// Samples since `from_ms` still in memory, and when memory starts.
    pub fn recent(&self, from_ms: i64) -> (Vec<FastPoint>, Vec<SlowPoint>, Option<i64>) {
        let st = self.read();
        (
            st.fast.between(from_ms, i64::MAX),
            st.slow.between(from_ms, i64::MAX),
            st.fast.first_ms(),
        )
    }
}

fn roll_up(st: &State, minute_ms: i64) -> Option<Minute> {
    let end = minute_ms + 60_000;
    let fast = st.fast.between(minute_ms, end);
    let slow = st.slow.between(minute_ms, end);
    if fast.is_empty() && slow.is_empty() {
        return None;
    }
    Some(Minute {
        minute_ms,
        fast: super::series::bucket_fast(&fast, 60_000).into_iter().next(),
        slow: super::series::bucket_slow(&slow, 60_000).into_iter().next(),
    })
}
