//! Building the lock graph from one sample: the sessions (the sampler's activity read), each
//! waiter's blockers (pg_blocking_pids) and what each waiter waits for (pg_locks, read only when
//! a new waiter appears). Pure and unit-tested.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::model::{
    GROUP_ABOVE_NODES, GROUP_PIDS_SHOWN, LockEdge, LockGraph, LockGroup, LockNode, LockRoot,
    LockSummaryRow, LockTarget,
};
use crate::features::activity::model::{STREAM_QUERY_CHARS, SessionRow};

/// What a waiter waits for (see `sampling`).
#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    pub target: LockTarget,
    /// When it started waiting (ms since the Unix epoch): pg_locks.waitstart once read, else
    /// when pgpanel first saw the wait.
    pub since_ms: Option<i64>,
}

/// A lock not read from pg_locks yet: its type (the wait event) is all that is known.
pub fn pending_target(wait_event: Option<&str>) -> LockTarget {
    let locktype = wait_event.unwrap_or("lock");
    LockTarget {
        locktype: locktype.to_owned(),
        mode: String::new(),
        object: format!("{locktype} lock (details at the next pg_locks read)"),
        relation: None,
    }
}

/// The graph; waiters or blockers missing from `sessions` (gone between the two reads) are
/// dropped with their edges, and so is a waiter left without a blocker.
pub fn build(
    target: &str,
    at_ms: i64,
    sessions: &[SessionRow],
    blockers: &[(i32, Vec<i32>)],
    waits: &HashMap<i32, Wait>,
) -> LockGraph {
    let by_pid: HashMap<i32, &SessionRow> = sessions.iter().map(|s| (s.pid, s)).collect();
    let mut out: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
    for (waiter, bs) in blockers {
        if !by_pid.contains_key(waiter) {
            continue;
        }
        let alive: BTreeSet<i32> = bs
            .iter()
            .copied()
            .filter(|b| b != waiter && by_pid.contains_key(b))
            .collect();
        if !alive.is_empty() {
            out.insert(*waiter, alive);
        }
    }
    let mut incoming: HashMap<i32, Vec<i32>> = HashMap::new();
    for (w, bs) in &out {
        for b in bs {
            incoming.entry(*b).or_default().push(*w);
        }
    }
    let wait_age = |pid: i32| {
        waits
            .get(&pid)
            .and_then(|w| w.since_ms)
            .map(|s| (at_ms - s).max(0))
    };
    let cycles = cycles(&out);
    let in_cycle: HashSet<i32> = cycles.iter().flatten().copied().collect();
    let mut pids: BTreeSet<i32> = out.keys().copied().collect();
    pids.extend(out.values().flatten().copied());

    let mut nodes: Vec<LockNode> = pids
        .iter()
        .map(|pid| {
            let direct = incoming.get(pid).map_or(0, Vec::len) as i64;
            LockNode {
                // Cut like the live stream's (the page reads the whole text on demand).
                session: by_pid[pid].truncated(STREAM_QUERY_CHARS),
                waits_for: out.contains_key(pid).then(|| {
                    waits
                        .get(pid)
                        .map_or_else(|| pending_target(None), |w| w.target.clone())
                }),
                wait_age_ms: out.contains_key(pid).then(|| wait_age(*pid)).flatten(),
                root: direct > 0 && !out.contains_key(pid),
                blocks_direct: direct,
                blocks_total: reach(*pid, &incoming),
                in_cycle: in_cycle.contains(pid),
                group: None,
            }
        })
        .collect();
    let mut edges: Vec<LockEdge> = out
        .iter()
        .flat_map(|(w, bs)| {
            let t = nodes
                .iter()
                .find(|n| n.session.pid == *w)
                .and_then(|n| n.waits_for.clone())
                .unwrap_or_else(|| pending_target(None));
            bs.iter().map(move |b| LockEdge {
                waiter: *w,
                blocker: *b,
                mode: t.mode.clone(),
                locktype: t.locktype.clone(),
                object: t.object.clone(),
                short: t.short(),
            })
        })
        .collect();
    let mut roots: Vec<LockRoot> = nodes
        .iter()
        .filter(|n| n.root)
        .map(|n| LockRoot {
            pid: n.session.pid,
            blocks_direct: n.blocks_direct,
            blocks_total: n.blocks_total,
            idle_in_transaction: n.session.idle_in_transaction(),
        })
        .collect();
    roots.sort_by(|a, b| b.blocks_total.cmp(&a.blocks_total).then(a.pid.cmp(&b.pid)));
    let summary = summary(&nodes);
    let waiting = out.len() as i64;
    let longest_wait_ms = nodes.iter().filter_map(|n| n.wait_age_ms).max();
    let grouped = nodes.len() > GROUP_ABOVE_NODES;
    if grouped {
        group_waiters(&mut nodes, &mut edges, &out);
    }
    order(&mut nodes);
    LockGraph {
        target: target.to_owned(),
        at_ms,
        nodes,
        edges,
        roots,
        cycles,
        summary,
        waiting,
        longest_wait_ms,
        grouped,
        error: None,
    }
}

/// Sessions that wait on `pid`, directly or through others.
fn reach(pid: i32, incoming: &HashMap<i32, Vec<i32>>) -> i64 {
    let mut seen = HashSet::from([pid]);
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        for w in incoming.get(&p).into_iter().flatten() {
            if seen.insert(*w) {
                stack.push(*w);
            }
        }
    }
    seen.len() as i64 - 1
}

/// Wait cycles (strongly connected components of two or more sessions), each sorted.
fn cycles(out: &BTreeMap<i32, BTreeSet<i32>>) -> Vec<Vec<i32>> {
    // Tarjan's algorithm, iterative.
    struct State {
        index: HashMap<i32, usize>,
        low: HashMap<i32, usize>,
        on_stack: HashSet<i32>,
        stack: Vec<i32>,
        next: usize,
        found: Vec<Vec<i32>>,
    }
    impl State {
        /// Numbers a newly reached session and puts it on the stack.
        fn enter(&mut self, v: i32) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
        }
    }
    let mut st = State {
        index: HashMap::new(),
        low: HashMap::new(),
        on_stack: HashSet::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    let empty = BTreeSet::new();
    let succ = |v: i32| -> Vec<i32> { out.get(&v).unwrap_or(&empty).iter().copied().collect() };
    for &start in out.keys() {
        if st.index.contains_key(&start) {
            continue;
        }
        // (node, its successors, next successor to visit)
        let mut work: Vec<(i32, Vec<i32>, usize)> = Vec::new();
        st.enter(start);
        work.push((start, succ(start), 0));
        while let Some((v, ws, i)) = work.last_mut() {
            let v = *v;
            if let Some(&w) = ws.get(*i) {
                *i += 1;
                if !st.index.contains_key(&w) {
                    st.enter(w);
                    work.push((w, succ(w), 0));
                } else if st.on_stack.contains(&w) {
                    let lw = st.index[&w];
                    if let Some(lv) = st.low.get_mut(&v) {
                        *lv = (*lv).min(lw);
                    }
                }
                continue;
            }
            work.pop();
            if let Some((parent, _, _)) = work.last() {
                let lv = st.low[&v];
                if let Some(lp) = st.low.get_mut(parent) {
                    *lp = (*lp).min(lv);
                }
            }
            if st.low[&v] == st.index[&v] {
                let mut component = Vec::new();
                while let Some(w) = st.stack.pop() {
                    st.on_stack.remove(&w);
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort_unstable();
                    st.found.push(component);
                }
            }
        }
    }
    st.found.sort();
    st.found
}

fn summary(nodes: &[LockNode]) -> Vec<LockSummaryRow> {
    let mut rows: BTreeMap<(String, String, String), LockSummaryRow> = BTreeMap::new();
    for n in nodes {
        let Some(t) = &n.waits_for else { continue };
        let row = rows
            .entry((t.object.clone(), t.mode.clone(), t.locktype.clone()))
            .or_insert_with(|| LockSummaryRow {
                locktype: t.locktype.clone(),
                object: t.object.clone(),
                mode: t.mode.clone(),
                waiting: 0,
                longest_wait_ms: None,
            });
        row.waiting += 1;
        row.longest_wait_ms = row.longest_wait_ms.max(n.wait_age_ms);
    }
    let mut rows: Vec<LockSummaryRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.waiting.cmp(&a.waiting).then(a.object.cmp(&b.object)));
    rows
}

/// Collapses waiters nobody waits on that share their blockers and their lock into one node.
fn group_waiters(
    nodes: &mut Vec<LockNode>,
    edges: &mut Vec<LockEdge>,
    out: &BTreeMap<i32, BTreeSet<i32>>,
) {
    let mut groups: BTreeMap<(Vec<i32>, String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let (Some(t), Some(bs)) = (&n.waits_for, out.get(&n.session.pid)) else {
            continue;
        };
        if n.blocks_direct > 0 || n.in_cycle {
            continue;
        }
        let key = (
            bs.iter().copied().collect(),
            t.locktype.clone(),
            t.mode.clone(),
            t.object.clone(),
        );
        groups.entry(key).or_default().push(i);
    }
    let mut drop: HashSet<i32> = HashSet::new();
    for members in groups.values().filter(|m| m.len() > 1) {
        // The longest waiter stands for the group.
        let mut members = members.clone();
        members.sort_by_key(|&i| std::cmp::Reverse(nodes[i].wait_age_ms.unwrap_or(0)));
        let head = members[0];
        let pids: Vec<i32> = members.iter().map(|&i| nodes[i].session.pid).collect();
        nodes[head].group = Some(LockGroup {
            count: members.len() as i64,
            pids: pids.iter().take(GROUP_PIDS_SHOWN).copied().collect(),
            longest_wait_ms: nodes[head].wait_age_ms,
        });
        drop.extend(pids.into_iter().skip(1));
    }
    nodes.retain(|n| !drop.contains(&n.session.pid));
    edges.retain(|e| !drop.contains(&e.waiter));
}

/// Roots first (largest pile-up first), then the longest waits.
fn order(nodes: &mut [LockNode]) {
    nodes.sort_by(|a, b| {
        b.root
            .cmp(&a.root)
            .then(b.blocks_total.cmp(&a.blocks_total))
            .then(b.wait_age_ms.unwrap_or(0).cmp(&a.wait_age_ms.unwrap_or(0)))
            .then(a.session.pid.cmp(&b.session.pid))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pid: i32, state: &str) -> SessionRow {
        SessionRow {
            pid,
            backend_start: None,
            backend_type: "client backend".into(),
            datname: Some("app".into()),
            usename: Some("u".into()),
            application_name: "a".into(),
            client_addr: None,
            client_port: None,
            state: Some(state.into()),
            wait_event_type: None,
            wait_event: None,
            xact_start: None,
            query_start: None,
            state_change: None,
            query: "select".into(),
            query_truncated: false,
            xact_age_ms: None,
            query_age_ms: None,
            state_age_ms: None,
            pgpanel: false,
            claims_pgpanel: false,
            visible: true,
        }
    }

    fn wait(object: &str, since_ms: i64) -> Wait {
        Wait {
            target: LockTarget {
                locktype: "relation".into(),
                mode: "AccessShareLock".into(),
                object: object.into(),
                relation: Some(object.into()),
            },
            since_ms: Some(since_ms),
        }
    }

    #[test]
    fn chain_roots_counts_and_vanished_sessions() {
        let long = SessionRow {
            query: "é".repeat(1_000),
            ..session(1, "idle in transaction")
        };
        let sessions: Vec<SessionRow> = vec![
            long,
            session(2, "active"),
            session(3, "active"),
            session(4, "active"),
            session(5, "active"),
        ];
        // 4 waits on 2 and on 9 (gone); 5 waits on 8 only (gone: 5 is dropped).
        let blockers = vec![(2, vec![1]), (3, vec![1]), (4, vec![2, 9]), (5, vec![8])];
        let waits = HashMap::from([(2, wait("public.t", 1_000)), (3, wait("public.t", 4_000))]);
        let g = build("main", 10_000, &sessions, &blockers, &waits);
        assert_eq!(g.waiting, 3);
        assert_eq!(g.nodes.len(), 4);
        assert!(
            g.node(5).is_none(),
            "a waiter whose blocker vanished is dropped"
        );
        assert_eq!(g.roots.len(), 1);
        assert_eq!(
            (
                g.roots[0].pid,
                g.roots[0].blocks_direct,
                g.roots[0].blocks_total
            ),
            (1, 2, 3)
        );
        assert!(g.roots[0].idle_in_transaction);
        assert_eq!(g.nodes[0].session.pid, 1, "roots first");
        let root = &g.nodes[0].session;
        assert!(
            root.query_truncated,
            "queries are cut like the live stream's"
        );
        assert_eq!(root.query.chars().count(), STREAM_QUERY_CHARS);
        assert_eq!(g.longest_wait_ms, Some(9_000));
        let unknown = g.edges.iter().find(|e| e.waiter == 4).unwrap();
        assert_eq!(unknown.object, pending_target(None).object);
        assert_eq!(g.summary[0].waiting, 2);
        assert_eq!(g.summary[0].longest_wait_ms, Some(9_000));
        assert!(g.cycles.is_empty() && !g.grouped);
    }

    #[test]
    fn cycles_are_found_and_have_no_root() {
        let sessions: Vec<SessionRow> = (1..=4).map(|p| session(p, "active")).collect();
        let blockers = vec![(1, vec![2]), (2, vec![3]), (3, vec![1]), (4, vec![3])];
        let g = build("main", 0, &sessions, &blockers, &HashMap::new());
        assert_eq!(g.cycles, vec![vec![1, 2, 3]]);
        assert!(g.roots.is_empty());
        assert!(!g.node(4).unwrap().in_cycle);
    }

    #[test]
    fn large_pile_ups_group_waiters_with_the_same_blocker_and_lock() {
        let mut sessions = vec![session(1, "active")];
        let mut blockers = Vec::new();
        let mut waits = HashMap::new();
        for pid in 2..=301 {
            sessions.push(session(pid, "active"));
            blockers.push((pid, vec![1]));
            let object = if pid <= 251 { "public.a" } else { "public.b" };
            waits.insert(pid, wait(object, i64::from(pid)));
        }
        let g = build("main", 1_000, &sessions, &blockers, &waits);
        assert!(g.grouped);
        assert_eq!(g.waiting, 300);
        assert_eq!(g.nodes.len(), 3, "the root and one node per lock");
        let counts: BTreeSet<i64> = g
            .nodes
            .iter()
            .filter_map(|n| n.group.as_ref().map(|x| x.count))
            .collect();
        assert_eq!(counts, BTreeSet::from([50, 250]));
        assert_eq!(g.edges.len(), 2);
        assert_eq!(
            g.roots[0].blocks_total, 300,
            "counts are taken before grouping"
        );
        let big = g
            .nodes
            .iter()
            .find(|n| n.group.as_ref().is_some_and(|x| x.count == 250))
            .unwrap();
        assert_eq!(
            big.session.pid, 2,
            "the longest waiter stands for its group"
        );
        assert_eq!(big.group.as_ref().unwrap().pids.len(), GROUP_PIDS_SHOWN);
    }
}
