//! The lock graph as the API returns it and the page draws it. Plain data only: compiled for the
//! browser too.

use serde::{Deserialize, Serialize};

use crate::features::activity::model::SessionRow;

/// The lock a session waits for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LockTarget {
    /// pg_locks.locktype: relation, tuple, transactionid, advisory, object, …
    pub locktype: String,
    /// The mode asked for (e.g. AccessExclusiveLock).
    pub mode: String,
    /// What is locked, for people: a schema-qualified name, "row (0,22) of public.inventory held
    /// by transaction 1234", "advisory lock 42", or an honest label when the name lives in a
    /// database pgpanel is not connected to.
    pub object: String,
    /// The table (or other relation) the lock is about, when known: what a short label keeps.
    #[serde(default)]
    pub relation: Option<String>,
}

impl LockTarget {
    /// The object in a few words for the graph's edges: "row of public.inventory",
    /// "public.orders", "transaction 1234".
    pub fn short(&self) -> String {
        match (&self.relation, self.locktype.as_str()) {
            (Some(r), "tuple" | "transactionid") => format!("row of {r}"),
            (Some(r), "page") => format!("page of {r}"),
            (Some(r), "extend") => format!("extension of {r}"),
            (Some(r), _) => r.clone(),
            (None, _) => self.object.clone(),
        }
    }
}

/// A session in the graph (or, when `group` is set, several waiters collapsed into one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockNode {
    pub session: SessionRow,
    /// What it waits for; `None` for a blocker that waits for nothing (a root) or while the
    /// details are being read.
    pub waits_for: Option<LockTarget>,
    /// How long it has waited for the lock (pg_locks.waitstart; PG14+).
    pub wait_age_ms: Option<i64>,
    /// Blocks others and waits for nothing.
    pub root: bool,
    /// Sessions waiting on it directly, and in all (through chains).
    pub blocks_direct: i64,
    pub blocks_total: i64,
    /// Part of a wait cycle (a deadlock the server has not broken yet).
    pub in_cycle: bool,
    /// Waiters with the same blocker and lock collapsed into this node (large pile-ups only).
    pub group: Option<LockGroup>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockGroup {
    pub count: i64,
    /// Some of the pids (the first `GROUP_PIDS_SHOWN`).
    pub pids: Vec<i32>,
    pub longest_wait_ms: Option<i64>,
}

/// How many pids a group node lists.
pub const GROUP_PIDS_SHOWN: usize = 20;

/// Above this many nodes, waiters with the same blocker and lock are grouped.
pub const GROUP_ABOVE_NODES: usize = 200;

/// waiter → blocker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEdge {
    pub waiter: i32,
    pub blocker: i32,
    pub mode: String,
    pub locktype: String,
    pub object: String,
    /// The object in a few words, for the drawn edge ("row of public.inventory").
    #[serde(default)]
    pub short: String,
}

/// A blocker that waits for nobody, with how many sessions it holds up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRoot {
    pub pid: i32,
    pub blocks_direct: i64,
    pub blocks_total: i64,
    pub idle_in_transaction: bool,
}

/// Waiting locks counted by object and mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockSummaryRow {
    pub locktype: String,
    pub object: String,
    pub mode: String,
    pub waiting: i64,
    pub longest_wait_ms: Option<i64>,
}

/// The graph of one target at one sample.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LockGraph {
    pub target: String,
    /// When it was sampled (ms since the Unix epoch).
    pub at_ms: i64,
    pub nodes: Vec<LockNode>,
    pub edges: Vec<LockEdge>,
    /// Largest pile-up first.
    pub roots: Vec<LockRoot>,
    /// Each wait cycle's pids.
    pub cycles: Vec<Vec<i32>>,
    pub summary: Vec<LockSummaryRow>,
    /// Sessions waiting on a lock (before grouping).
    pub waiting: i64,
    pub longest_wait_ms: Option<i64>,
    /// Waiters were grouped (the graph was larger than `GROUP_ABOVE_NODES`).
    pub grouped: bool,
    pub error: Option<String>,
}

impl LockGraph {
    pub fn node(&self, pid: i32) -> Option<&LockNode> {
        self.nodes.iter().find(|n| n.session.pid == pid)
    }
}

/// One lock episode: from the first waiter to the last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockEpisode {
    pub id: i64,
    pub target: String,
    pub started_ms: i64,
    /// `None` while it lasts.
    pub ended_ms: Option<i64>,
    pub peak_waiting: i64,
    pub peak_ms: i64,
    pub longest_wait_ms: Option<i64>,
    /// The root blockers seen during the episode (pid, user, application, query).
    pub roots: Vec<EpisodeRoot>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeRoot {
    pub pid: i32,
    pub usename: Option<String>,
    pub application_name: String,
    pub datname: Option<String>,
    pub state: Option<String>,
    pub query: String,
    pub blocks_total: i64,
}

/// Repeats of one lock chain: episodes whose main root blocker was the same application, user,
/// database and statement (its numbers and quoted strings aside), as `GET /api/locks/episodes`
/// lists them, the most recent first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeGroup {
    /// The main root blocker of the group's latest episode (`None`: episodes without a root,
    /// e.g. a deadlock that ended before a sample saw its root).
    pub root: Option<EpisodeRoot>,
    pub count: i64,
    pub first_started_ms: i64,
    pub last_started_ms: i64,
    /// The latest episode still lasts.
    pub ongoing: bool,
    pub max_peak_waiting: i64,
    pub max_longest_wait_ms: Option<i64>,
    /// The newest of its episodes (at most `GROUP_EPISODES_LISTED`), newest first.
    pub episodes: Vec<LockEpisode>,
}

/// Episodes listed per group.
pub const GROUP_EPISODES_LISTED: usize = 50;

/// One page of groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeGroups {
    pub target: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub groups: Vec<EpisodeGroup>,
    pub offset: i64,
    /// Groups and episodes in the whole window (every page).
    pub total_groups: i64,
    pub total_episodes: i64,
}
