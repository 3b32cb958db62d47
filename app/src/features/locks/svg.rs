//! The lock graph drawn as SVG: roots on the left, each waiter a column right of its deepest
//! blocker, edges from waiter to blocker labelled with the lock mode and object, nodes coloured by
//! state with their wait age. Every string from the database is a text node (never markup).
//! Clicking a node selects it (the page shows its details).

use leptos::prelude::*;

use super::layout::{Layout, NODE_H, NODE_W, layout};
use super::model::{LockGraph, LockNode};
use super::view::headline;
use crate::components::format;

/// Characters of an edge label or a node line before it is cut (the full text is in the tooltip).
const LABEL_CHARS: usize = 36;
/// Edge labels sit between two columns: shorter (two lines: the mode, then the object).
const EDGE_CHARS: usize = 28;

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// "AccessExclusiveLock" → "AccessExclusive".
pub fn short_mode(mode: &str) -> &str {
    mode.strip_suffix("Lock").unwrap_or(mode)
}

fn node_class(n: &LockNode, selected: bool) -> String {
    let state = match n.session.state.as_deref() {
        _ if n.waits_for.is_some() => "lk-waiting",
        Some(s) if s.starts_with("idle in transaction") => "lk-idle-tx",
        Some("active") => "lk-active",
        _ => "lk-idle",
    };
    let mut c = format!("lk-node {state}");
    if n.root {
        c.push_str(" lk-root");
    }
    if n.in_cycle {
        c.push_str(" lk-cycle");
    }
    if selected {
        c.push_str(" lk-selected");
    }
    c
}

/// The node's second and third lines.
fn node_lines(n: &LockNode) -> (String, String) {
    let s = &n.session;
    let who = format!(
        "{} · {}",
        s.application_name
            .as_str()
            .chars()
            .take(18)
            .collect::<String>(),
        s.datname.as_deref().unwrap_or("?")
    );
    let what = if let Some(g) = &n.group {
        format!(
            "{} sessions waiting, longest {}",
            g.count,
            format::age(g.longest_wait_ms, "?")
        )
    } else if n.root {
        let state = match s.state.as_deref() {
            Some(st) if st.starts_with("idle in transaction") => "idle in tx",
            Some(st) => st,
            None => "?",
        };
        format!(
            "ROOT · {state} {} · holds up {}",
            format::age(s.state_age_ms, ""),
            n.blocks_total
        )
    } else if let Some(t) = &n.waits_for {
        format!(
            "waits {} for {}",
            format::age(n.wait_age_ms, "?"),
            short_mode(&t.mode)
        )
    } else {
        s.state.clone().unwrap_or_default()
    };
    (who, what)
}

/// What a screen reader says of a node after its visible lines (its button's description): who,
/// and what it does in the chain.
fn spoken(n: &LockNode, blockers: &[i32]) -> String {
    let s = &n.session;
    let mut t = format!(
        "pid {}, {}, {}",
        s.pid,
        s.usename.as_deref().unwrap_or("unknown user"),
        if s.application_name.is_empty() {
            "no application name"
        } else {
            &s.application_name
        }
    );
    if let Some(g) = &n.group {
        t.push_str(&format!(
            ", {} sessions waiting, longest {}",
            g.count,
            format::age(g.longest_wait_ms, "?")
        ));
    } else if n.root {
        t.push_str(&format!(
            ": root blocker, {} for {}, holds up {} session{}",
            s.state.as_deref().unwrap_or("state hidden"),
            format::age(s.state_age_ms, "?"),
            n.blocks_total,
            if n.blocks_total == 1 { "" } else { "s" }
        ));
    } else if let Some(w) = &n.waits_for {
        t.push_str(&format!(
            ": waits {} for {} on {}",
            format::age(n.wait_age_ms, "?"),
            w.mode,
            w.object
        ));
    }
    if !blockers.is_empty() {
        let pids = blockers
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        t.push_str(&format!(", blocked by pid {pids}"));
    }
    t.push_str(". Enter shows the details.");
    t
}

fn tooltip(n: &LockNode) -> String {
    let s = &n.session;
    let mut t = format!(
        "pid {} · {} · {} · {}\nstate: {}",
        s.pid,
        s.usename.as_deref().unwrap_or("?"),
        s.application_name,
        s.datname.as_deref().unwrap_or("?"),
        s.state.as_deref().unwrap_or("?")
    );
    if let Some(w) = &n.waits_for {
        t.push_str(&format!("\nwaits for {} on {}", w.mode, w.object));
    }
    t.push_str(&format!("\n{}", s.query));
    t
}

#[component]
pub fn GraphSvg(graph: Signal<LockGraph>, selected: RwSignal<Option<i32>>) -> impl IntoView {
    let placed = Memo::new(move |_| graph.with(layout));
    view! {
        <div class="lk-scroll" data-testid="lock-graph">
            {move || {
                let g = graph.get();
                let lay: Layout = placed.get();
                let sel = selected.get();
                let edges = g.edges.iter().filter_map(|e| {
                    let (w, b) = (lay.at(e.waiter)?, lay.at(e.blocker)?);
                    let (x1, y1) = (w.x, w.y + NODE_H / 2);
                    let (x2, y2) = (b.x + NODE_W, b.y + NODE_H / 2);
                    // Within a column or backwards (a cycle): bend around.
                    let bend = if x1 > x2 { (x1 - x2) / 2 } else { 80 };
                    let d = format!("M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}", x1 - bend, x2 + bend);
                    // Two lines, so the one naming the table is not cut after the mode.
                    let mode = if e.mode.is_empty() { "lock".to_owned() } else { format!("{} lock on", short_mode(&e.mode)) };
                    let what = if e.short.is_empty() { e.object.clone() } else { e.short.clone() };
                    let full = format!("pid {} waits for {} on {} held by pid {}", e.waiter, e.mode, e.object, e.blocker);
                    let (lx, ly) = ((x1 + x2) / 2, (y1 + y2) / 2 - 16);
                    Some(view! {
                        <g class="lk-edge" data-waiter=e.waiter data-blocker=e.blocker aria-hidden="true">
                            <title>{full}</title>
                            <path d=d marker-end="url(#lk-arrow)"/>
                            <text x=lx y=ly text-anchor="middle">{cut(&mode, EDGE_CHARS)}</text>
                            <text x=lx y=ly + 13 text-anchor="middle" class="lk-edge-object">{cut(&what, EDGE_CHARS)}</text>
                        </g>
                    })
                }).collect_view();
                let nodes = g.nodes.iter().filter_map(|n| {
                    let p = lay.at(n.session.pid)?;
                    let pid = n.session.pid;
                    let (who, what) = node_lines(n);
                    let head = format!("pid {} · {}", pid, n.session.usename.as_deref().unwrap_or("?"));
                    let blockers: Vec<i32> = g.edges.iter().filter(|e| e.waiter == pid).map(|e| e.blocker).collect();
                    Some(view! {
                        <g
                            class=node_class(n, sel == Some(pid))
                            data-testid="lock-node"
                            data-pid=pid
                            data-root=n.root.to_string()
                            role="button"
                            tabindex="0"
                            // Named by its visible lines; the rest is said as its description.
                            aria-description=spoken(n, &blockers)
                            aria-pressed=(sel == Some(pid)).to_string()
                            on:click=move |_| selected.set(Some(pid))
                            on:keydown=move |ev| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    selected.set(Some(pid));
                                }
                            }
                        >
                            <title>{tooltip(n)}</title>
                            <rect x=p.x y=p.y width=NODE_W height=NODE_H rx="6"/>
                            <text x=p.x + 10 y=p.y + 18 class="lk-head">{cut(&head, LABEL_CHARS)}</text>
                            <text x=p.x + 10 y=p.y + 34>{cut(&who, LABEL_CHARS)}</text>
                            <text x=p.x + 10 y=p.y + 50 class="lk-what">{cut(&what, LABEL_CHARS)}</text>
                        </g>
                    })
                }).collect_view();
                view! {
                    <svg
                        class="lk-svg"
                        width=lay.width
                        height=lay.height
                        viewBox=format!("0 0 {} {}", lay.width, lay.height)
                        role="group"
                        aria-label=format!("Lock graph, who blocks whom: {}", headline(&g))
                    >
                        <defs>
                            <marker id="lk-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                                <path d="M0,0 L10,5 L0,10 z" class="lk-arrow"/>
                            </marker>
                        </defs>
                        {edges}
                        {nodes}
                    </svg>
                }
            }}
        </div>
    }
}
