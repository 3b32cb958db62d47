//! Lock episodes: from the first sample with a session waiting on a lock to the first sample
//! with none. Pure: the sampler feeds it every lock graph and stores what it returns.

use super::model::{EpisodeRoot, LockEpisode, LockGraph};

/// Root blockers kept per episode (the largest pile-ups).
const ROOTS_KEPT: usize = 10;

/// What changed with a sample, to be written to the store. `peak` says the graph is the
/// episode's new peak (store it with the episode).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub episode: LockEpisode,
    pub peak: bool,
}

#[derive(Debug, Default)]
pub struct EpisodeTracker {
    open: Option<LockEpisode>,
}

impl EpisodeTracker {
    pub fn observe(&mut self, g: &LockGraph) -> Option<Change> {
        if g.error.is_some() {
            // Nothing known: the episode neither grows nor ends.
            return None;
        }
        match (&mut self.open, g.waiting > 0) {
            (None, false) => None,
            (None, true) => {
                let mut episode = LockEpisode {
                    id: g.at_ms,
                    target: g.target.clone(),
                    started_ms: g.at_ms,
                    ended_ms: None,
                    peak_waiting: 0,
                    peak_ms: g.at_ms,
                    longest_wait_ms: None,
                    roots: Vec::new(),
                };
                let peak = absorb(&mut episode, g);
                self.open = Some(episode.clone());
                Some(Change { episode, peak })
            }
            (Some(episode), true) => {
                let before = episode.clone();
                let peak = absorb(episode, g);
                (*episode != before).then(|| Change {
                    episode: episode.clone(),
                    peak,
                })
            }
            (Some(_), false) => {
                let mut episode = self.open.take()?;
                episode.ended_ms = Some(g.at_ms);
                Some(Change {
                    episode,
                    peak: false,
                })
            }
        }
    }
}

/// Adds a sample to the episode; true when it is a new peak.
fn absorb(e: &mut LockEpisode, g: &LockGraph) -> bool {
    e.longest_wait_ms = e.longest_wait_ms.max(g.longest_wait_ms);
    for root in &g.roots {
        let Some(node) = g.node(root.pid) else {
            continue;
        };
        let s = &node.session;
        match e.roots.iter_mut().find(|r| r.pid == root.pid) {
            Some(known) => known.blocks_total = known.blocks_total.max(root.blocks_total),
            None => e.roots.push(EpisodeRoot {
                pid: s.pid,
                usename: s.usename.clone(),
                application_name: s.application_name.clone(),
                datname: s.datname.clone(),
                state: s.state.clone(),
                query: s.query.clone(),
                blocks_total: root.blocks_total,
            }),
        }
    }
    e.roots
        .sort_by(|a, b| b.blocks_total.cmp(&a.blocks_total).then(a.pid.cmp(&b.pid)));
    e.roots.truncate(ROOTS_KEPT);
    if g.waiting > e.peak_waiting {
        e.peak_waiting = g.waiting;
        e.peak_ms = g.at_ms;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::locks::model::LockRoot;

    fn graph(at_ms: i64, waiting: i64, roots: &[(i32, i64)]) -> LockGraph {
        LockGraph {
            target: "main".into(),
            at_ms,
            waiting,
            longest_wait_ms: (waiting > 0).then_some(at_ms / 10),
            roots: roots
                .iter()
                .map(|(pid, total)| LockRoot {
                    pid: *pid,
                    blocks_direct: *total,
                    blocks_total: *total,
                    idle_in_transaction: false,
                })
                .collect(),
            ..LockGraph::default()
        }
    }

    #[test]
    fn an_episode_starts_peaks_and_ends() {
        let mut t = EpisodeTracker::default();
        assert!(t.observe(&graph(1_000, 0, &[])).is_none());
        let start = t.observe(&graph(2_000, 2, &[(7, 2)])).expect("started");
        assert!(start.peak);
        assert_eq!(
            (start.episode.started_ms, start.episode.peak_waiting),
            (2_000, 2)
        );
        assert!(
            t.observe(&graph(3_000, 2, &[(7, 2)])).is_some(),
            "longer wait recorded"
        );
        let peak = t.observe(&graph(4_000, 5, &[(7, 5)])).expect("grew");
        assert!(peak.peak);
        assert_eq!(
            (peak.episode.peak_waiting, peak.episode.peak_ms),
            (5, 4_000)
        );
        let failed = LockGraph {
            error: Some("down".into()),
            ..graph(5_000, 0, &[])
        };
        assert!(
            t.observe(&failed).is_none(),
            "an unknown sample ends nothing"
        );
        let end = t.observe(&graph(6_000, 0, &[])).expect("ended");
        assert_eq!(end.episode.ended_ms, Some(6_000));
        assert_eq!(end.episode.started_ms, 2_000);
        assert!(t.observe(&graph(7_000, 0, &[])).is_none());
    }
}
