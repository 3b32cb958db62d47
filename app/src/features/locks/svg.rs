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
/// Edge labels sit between two columns: shorter lines (the mode, then the object, wrapped).
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

/// The object an edge names, on as many lines of at most `n` characters as it takes: never cut,
/// since it is the one label that names the table. Lines break after a space or a dot (between
/// schema and table) where they can, inside a word only when one is longer than a line.
fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in s.chars() {
        word.push(c);
        if c == ' ' || c == '.' {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for w in words {
        if !line.is_empty() && line.chars().count() + w.trim_end().chars().count() > n {
            lines.push(line.trim_end().to_owned());
            line.clear();
        }
        let mut rest = w.as_str();
        while line.is_empty() && rest.trim_end().chars().count() > n {
            let at = rest.char_indices().nth(n).map_or(rest.len(), |(i, _)| i);
            lines.push(rest[..at].to_owned());
            rest = &rest[at..];
        }
        line.push_str(rest);
    }
    if !line.trim_end().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// An age in its largest unit ("17 min", "46 s", "2 h"), to fit two clocks on a node's line.
fn brief(ms: Option<i64>) -> String {
    let full = format::age(ms, "?");
    let mut parts = full.splitn(3, ' ');
    match (parts.next(), parts.next()) {
        (Some(n), Some(unit)) => format!("{n} {unit}"),
        _ => full,
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
    } else if n.root && s.idle_in_transaction() {
        // Both clocks: idle for (since its last statement), and the transaction's age, which is
        // how long it has held its locks.
        format!(
            "ROOT · idle {} · tx {} · holds {}",
            brief(s.state_age_ms),
            brief(s.xact_age_ms),
            n.blocks_total
        )
    } else if n.root {
        format!(
            "ROOT · {} {} · holds up {}",
            s.state.as_deref().unwrap_or("?"),
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
            ": root blocker, {} for {}",
            s.state.as_deref().unwrap_or("state hidden"),
            format::age(s.state_age_ms, "?"),
        ));
        if s.idle_in_transaction() {
            t.push_str(&format!(
                ", transaction open for {}",
                format::age(s.xact_age_ms, "?")
            ));
        }
        t.push_str(&format!(
            ", holds up {} session{}",
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
                    // The mode, then the object wrapped (never cut: it is the label naming the table).
                    let mode = if e.mode.is_empty() { "lock".to_owned() } else { format!("{} lock on", short_mode(&e.mode)) };
                    let what = if e.short.is_empty() { e.object.clone() } else { e.short.clone() };
                    let full = format!("pid {} waits for {} on {} held by pid {}", e.waiter, e.mode, e.object, e.blocker);
                    let (lx, ly) = ((x1 + x2) / 2, (y1 + y2) / 2 - 16);
                    Some(view! {
                        <g class="lk-edge" data-waiter=e.waiter data-blocker=e.blocker aria-hidden="true">
                            <title>{full}</title>
                            <path d=d marker-end="url(#lk-arrow)"/>
                            <text x=lx y=ly text-anchor="middle">{cut(&mode, EDGE_CHARS)}</text>
                            {wrap(&what, EDGE_CHARS).into_iter().enumerate().map(|(i, line)| view! {
                                <text x=lx y=ly + 13 * (i as i32 + 1) text-anchor="middle" class="lk-edge-object">{line}</text>
                            }).collect_view()}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_object_is_wrapped_never_cut() {
        let long = "row of public.inventory_reservations_by_warehouse_and_day";
        let lines = wrap(long, EDGE_CHARS);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(
            lines.iter().all(|l| l.chars().count() <= EDGE_CHARS),
            "{lines:?}"
        );
        assert_eq!(lines.concat().replace(' ', ""), long.replace(' ', ""));
        assert!(!lines.concat().contains('…'));
        // Breaks between schema and table where it can.
        assert_eq!(lines[0], "row of public.");
        // A short one stays on one line; a quoted name with spaces keeps every character.
        assert_eq!(wrap("public.orders", EDGE_CHARS), vec!["public.orders"]);
        let odd = r#"row of "Odd Schema"."Mixed ""Name"" ü""#;
        assert_eq!(wrap(odd, EDGE_CHARS).join(" "), odd);
        // A word longer than a line is split inside it, nothing dropped.
        let word = "x".repeat(70);
        assert_eq!(wrap(&word, EDGE_CHARS).concat(), word);
        assert!(wrap("", EDGE_CHARS).is_empty());
    }

    #[test]
    fn a_node_line_keeps_an_age_to_its_largest_unit() {
        assert_eq!(brief(Some(17 * 60_000 + 30_000)), "17 min");
        assert_eq!(brief(Some(46_000)), "46 s");
        assert_eq!(brief(Some(4_200)), "4.2 s");
        assert_eq!(brief(Some(3 * 3_600_000 + 60_000)), "3 h");
        assert_eq!(brief(None), "?");
    }
}
