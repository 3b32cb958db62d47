//! Lock episodes: from the first sample with a session waiting on a lock to the first sample
//! with none. Pure: the sampler feeds it every lock graph and stores what it returns.

use std::collections::HashMap;

use super::model::{EpisodeGroup, EpisodeRoot, GROUP_EPISODES_LISTED, LockEpisode, LockGraph};

/// Root blockers kept per episode (the largest pile-ups).
const ROOTS_KEPT: usize = 10;

/// An open episode is written at least this often (its `seen_ms`), so the next sampler of the
/// target can tell whether it was still going on.
pub const SEEN_EVERY_MS: i64 = 10_000;

/// An episode left open that was seen within this long is gone on with by the next sampler
/// when sessions still wait (a fail-over takes at most 15 s); an older one is ended when it was
/// last seen.
pub const ADOPT_WITHIN_MS: i64 = 30_000;

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
    /// An episode the previous sampler of the target left open (seen within
    /// [`ADOPT_WITHIN_MS`]): gone on with if sessions wait at the first sample, else ended.
    left_open: Option<LockEpisode>,
    /// The sample time of the open episode's latest write.
    written_ms: i64,
}

impl EpisodeTracker {
    /// Starts sampling the target (again): forgets what this tracker had open (another instance
    /// may have sampled since) and takes up what the store has open.
    pub fn resume(&mut self, left_open: Option<LockEpisode>) {
        *self = Self {
            left_open,
            ..Self::default()
        };
    }

    pub fn observe(&mut self, g: &LockGraph) -> Option<Change> {
        if g.error.is_some() {
            // Nothing known: the episode neither grows nor ends.
            return None;
        }
        if let Some(mut left) = self.left_open.take() {
            if g.waiting > 0 {
                self.open = Some(left);
            } else {
                left.ended_ms = Some(g.at_ms);
                return Some(Change {
                    episode: left,
                    peak: false,
                });
            }
        }
        let change = self.change(g);
        if change.is_some() {
            self.written_ms = g.at_ms;
        }
        change
    }

    fn change(&mut self, g: &LockGraph) -> Option<Change> {
        let written_ms = self.written_ms;
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
                (*episode != before || g.at_ms - written_ms >= SEEN_EVERY_MS).then(|| Change {
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

/// A statement with its numbers and quoted strings blanked, so `... where id = 22` and
/// `... where id = 23` are one chain.
fn shape(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            while let Some(q) = chars.next() {
                if q == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            out.push_str("'?'");
        } else if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.')
            {
                chars.next();
            }
            out.push('N');
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|w| w.is_whitespace()) {
                chars.next();
            }
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

type GroupKey = Option<(String, Option<String>, Option<String>, String)>;

fn group_key(e: &LockEpisode) -> GroupKey {
    e.roots.first().map(|r| {
        (
            r.application_name.clone(),
            r.usename.clone(),
            r.datname.clone(),
            shape(&r.query),
        )
    })
}

/// Groups `episodes` (any order) by their main root blocker; the group seen last comes first.
pub fn group(episodes: &[LockEpisode]) -> Vec<EpisodeGroup> {
    let mut sorted: Vec<&LockEpisode> = episodes.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.started_ms));
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut groups: Vec<EpisodeGroup> = Vec::new();
    for e in sorted {
        let i = *index.entry(group_key(e)).or_insert_with(|| {
            groups.push(EpisodeGroup {
                root: e.roots.first().cloned(),
                count: 0,
                first_started_ms: e.started_ms,
                last_started_ms: e.started_ms,
                ongoing: e.ended_ms.is_none(),
                max_peak_waiting: 0,
                max_longest_wait_ms: None,
                episodes: Vec::new(),
            });
            groups.len() - 1
        });
        let g = &mut groups[i];
        g.count += 1;
        g.first_started_ms = g.first_started_ms.min(e.started_ms);
        g.max_peak_waiting = g.max_peak_waiting.max(e.peak_waiting);
        g.max_longest_wait_ms = g.max_longest_wait_ms.max(e.longest_wait_ms);
        if g.episodes.len() < GROUP_EPISODES_LISTED {
            g.episodes.push(e.clone());
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::locks::model::LockRoot;

    fn episode(started_ms: i64, app: &str, query: &str, peak: i64) -> LockEpisode {
        LockEpisode {
            id: started_ms,
            target: "main".into(),
            started_ms,
            ended_ms: Some(started_ms + 25_000),
            peak_waiting: peak,
            peak_ms: started_ms,
            longest_wait_ms: Some(peak * 1000),
            roots: vec![EpisodeRoot {
                pid: started_ms as i32,
                usename: Some("shop_app".into()),
                application_name: app.into(),
                datname: Some("shop".into()),
                state: Some("idle in transaction".into()),
                query: query.into(),
                blocks_total: peak,
            }],
        }
    }

    #[test]
    fn repeats_of_one_chain_are_one_group() {
        let mut list: Vec<LockEpisode> = (0..19)
            .map(|i| {
                episode(
                    i * 60_000,
                    "billing-batch",
                    &format!(
                        "update inventory set qty = qty - 1 where id = {}",
                        20 + i % 3
                    ),
                    3 + i % 2,
                )
            })
            .collect();
        list.push(episode(
            30_000,
            "report",
            "select * from t where name = 'it''s'",
            1,
        ));
        let mut last = episode(
            19 * 60_000,
            "billing-batch",
            "update inventory set qty = qty - 1 where id = 7",
            2,
        );
        last.ended_ms = None;
        list.push(last);
        let groups = group(&list);
        assert_eq!(groups.len(), 2, "{groups:#?}");
        let g = &groups[0];
        assert_eq!(g.count, 20);
        assert!(g.ongoing);
        assert_eq!((g.first_started_ms, g.last_started_ms), (0, 19 * 60_000));
        assert_eq!(g.max_peak_waiting, 4);
        assert_eq!(g.episodes.len(), 20);
        assert!(
            g.episodes
                .windows(2)
                .all(|w| w[0].started_ms > w[1].started_ms)
        );
        assert_eq!(groups[1].count, 1);
        assert_eq!(shape("select  'a''b', 12.5 ,x1"), "select '?', N ,xN");
    }

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

    #[test]
    fn an_open_episode_is_written_at_least_every_ten_seconds() {
        let mut t = EpisodeTracker::default();
        let same = |at| LockGraph {
            longest_wait_ms: Some(500),
            ..graph(at, 2, &[(7, 2)])
        };
        assert!(t.observe(&same(1_000)).is_some(), "started");
        assert!(t.observe(&same(2_000)).is_none(), "nothing new");
        assert!(t.observe(&same(10_999)).is_none());
        let seen = t.observe(&same(11_000)).expect("seen again");
        assert_eq!(seen.episode.started_ms, 1_000);
        assert!(!seen.peak);
        assert!(t.observe(&same(12_000)).is_none());
    }

    #[test]
    fn the_next_sampler_goes_on_with_an_episode_left_open_or_ends_it() {
        let mut first = EpisodeTracker::default();
        first.observe(&graph(1_000, 4, &[(7, 4)]));
        let left = first
            .observe(&graph(2_000, 3, &[(7, 3)]))
            .expect("grew")
            .episode;
        // Sessions still wait: the same episode goes on, its peak kept.
        let mut next = EpisodeTracker::default();
        next.resume(Some(left.clone()));
        let going = next
            .observe(&graph(9_000, 2, &[(8, 2)]))
            .expect("written at once");
        assert_eq!(going.episode.started_ms, 1_000);
        assert_eq!(going.episode.peak_waiting, 4);
        assert_eq!(going.episode.peak_ms, 1_000);
        let end = next.observe(&graph(10_000, 0, &[])).expect("ended");
        assert_eq!(
            (end.episode.started_ms, end.episode.ended_ms),
            (1_000, Some(10_000))
        );
        // Nobody waits any more: it ends at the first sample that knows.
        let mut other = EpisodeTracker::default();
        other.resume(Some(left));
        let unknown = LockGraph {
            error: Some("down".into()),
            ..graph(8_000, 0, &[])
        };
        assert!(other.observe(&unknown).is_none());
        let ended = other.observe(&graph(9_000, 0, &[])).expect("ended");
        assert_eq!(
            (ended.episode.started_ms, ended.episode.ended_ms),
            (1_000, Some(9_000))
        );
        assert!(other.observe(&graph(10_000, 0, &[])).is_none());
        // Resuming forgets what the tracker itself had open (another instance sampled since).
        first.resume(None);
        assert!(first.observe(&graph(20_000, 0, &[])).is_none());
    }
}
