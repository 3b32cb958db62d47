//! Where each node of the lock graph goes: roots in the first column on the left, then each
//! waiter one column right of the furthest blocker it waits for (chains read left to right).
//! Within a column, nodes follow their blockers' order so edges cross little. Sessions in a wait
//! cycle have no root: they share the first column. Pure: used by the server's first render and
//! by the browser on every frame.

use std::collections::HashMap;

use super::model::LockGraph;

pub const NODE_W: i32 = 250;
pub const NODE_H: i32 = 58;
const COL_GAP: i32 = 180;
const ROW_GAP: i32 = 18;
const MARGIN: i32 = 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    pub pid: i32,
    pub column: usize,
    pub x: i32,
    pub y: i32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    pub nodes: Vec<Placed>,
    pub width: i32,
    pub height: i32,
}

impl Layout {
    pub fn at(&self, pid: i32) -> Option<&Placed> {
        self.nodes.iter().find(|p| p.pid == pid)
    }
}

pub fn layout(g: &LockGraph) -> Layout {
    let mut blockers: HashMap<i32, Vec<i32>> = HashMap::new();
    for e in &g.edges {
        blockers.entry(e.waiter).or_default().push(e.blocker);
    }
    let mut column: HashMap<i32, usize> = HashMap::new();
    for n in &g.nodes {
        depth(n.session.pid, &blockers, &mut column, &mut Vec::new());
    }
    let columns = column.values().copied().max().map_or(0, |c| c + 1);
    let mut by_column: Vec<Vec<i32>> = vec![Vec::new(); columns];
    // The graph's node order (roots by size, then longest waits) seeds the first column.
    for n in &g.nodes {
        if let Some(&c) = column.get(&n.session.pid) {
            by_column[c].push(n.session.pid);
        }
    }
    let mut row: HashMap<i32, usize> = HashMap::new();
    for (c, pids) in by_column.iter_mut().enumerate() {
        if c > 0 {
            // Next to the first blocker already placed (stable, so ties keep the graph's order).
            pids.sort_by_key(|p| {
                blockers
                    .get(p)
                    .into_iter()
                    .flatten()
                    .filter_map(|b| row.get(b))
                    .min()
                    .copied()
                    .unwrap_or(usize::MAX)
            });
        }
        for (i, p) in pids.iter().enumerate() {
            row.insert(*p, i);
        }
    }
    let mut nodes = Vec::with_capacity(g.nodes.len());
    let mut tallest = 0;
    for (c, pids) in by_column.iter().enumerate() {
        tallest = tallest.max(pids.len());
        for (i, pid) in pids.iter().enumerate() {
            nodes.push(Placed {
                pid: *pid,
                column: c,
                x: MARGIN + c as i32 * (NODE_W + COL_GAP),
                y: MARGIN + i as i32 * (NODE_H + ROW_GAP),
            });
        }
    }
    Layout {
        nodes,
        width: 2 * MARGIN + columns as i32 * NODE_W + (columns as i32 - 1).max(0) * COL_GAP,
        height: 2 * MARGIN + tallest as i32 * (NODE_H + ROW_GAP),
    }
}

/// 0 for a session that waits for nobody (or only within a cycle); else one more than its
/// deepest blocker.
fn depth(
    pid: i32,
    blockers: &HashMap<i32, Vec<i32>>,
    memo: &mut HashMap<i32, usize>,
    path: &mut Vec<i32>,
) -> usize {
    if let Some(&d) = memo.get(&pid) {
        return d;
    }
    if path.contains(&pid) {
        return 0;
    }
    path.push(pid);
    let mut d = 0;
    for b in blockers.get(&pid).into_iter().flatten() {
        if !path.contains(b) {
            d = d.max(depth(*b, blockers, memo, path) + 1);
        }
    }
    path.pop();
    memo.insert(pid, d);
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::locks::model::{LockEdge, LockNode};

    fn graph(pids: &[i32], edges: &[(i32, i32)]) -> LockGraph {
        let json = |pid: i32| {
            serde_json::json!({
                "session": {
                    "pid": pid, "backend_start": null, "backend_type": "client backend",
                    "datname": null, "usename": null, "application_name": "", "client_addr": null,
                    "client_port": null, "state": "active", "wait_event_type": null,
                    "wait_event": null, "xact_start": null, "query_start": null,
                    "state_change": null, "query": "", "query_truncated": false,
                    "xact_age_ms": null, "query_age_ms": null, "state_age_ms": null,
                    "pgpanel": false, "visible": true
                },
                "waits_for": null, "wait_age_ms": null, "root": false, "blocks_direct": 0,
                "blocks_total": 0, "in_cycle": false, "group": null
            })
        };
        LockGraph {
            nodes: pids
                .iter()
                .map(|p| serde_json::from_value::<LockNode>(json(*p)).expect("node"))
                .collect(),
            edges: edges
                .iter()
                .map(|(w, b)| LockEdge {
                    waiter: *w,
                    blocker: *b,
                    mode: String::new(),
                    locktype: String::new(),
                    object: String::new(),
                    short: String::new(),
                })
                .collect(),
            ..LockGraph::default()
        }
    }

    #[test]
    fn chains_read_left_to_right_and_cycles_stay_finite() {
        // 1 ← 2 ← 4, 1 ← 3; 5 ↔ 6 (a cycle).
        let g = graph(
            &[1, 2, 3, 4, 5, 6],
            &[(2, 1), (3, 1), (4, 2), (5, 6), (6, 5)],
        );
        let l = layout(&g);
        let col = |p| l.at(p).expect("placed").column;
        assert_eq!((col(1), col(2), col(3), col(4)), (0, 1, 1, 2));
        assert!(col(5) <= 1 && col(6) <= 1);
        assert!(l.at(4).unwrap().x > l.at(2).unwrap().x);
        assert!(l.width >= 3 * NODE_W && l.height >= 2 * NODE_H);
        assert_eq!(layout(&LockGraph::default()).nodes.len(), 0);
    }
}
