//! What the Locks page and its history both show of a graph: the headline and a node's details.

use leptos::prelude::*;

use super::model::{LockGraph, LockNode};
use crate::components::format;
use crate::features::activity::api::whole_query;
use crate::features::sessions::buttons::SessionActions;
use crate::features::targets::model::ActionsAvailability;

/// "3 sessions waiting, longest 42 s, root blocker pid 1234 (alice, billing, idle in transaction
/// for 5 min)".
pub fn headline(g: &LockGraph) -> String {
    if g.waiting == 0 {
        return "No session is waiting on a lock.".into();
    }
    let mut s = format!(
        "{} session{} waiting, longest {}",
        g.waiting,
        if g.waiting == 1 { "" } else { "s" },
        format::age(g.longest_wait_ms, "?")
    );
    if let Some(root) = g.roots.first().and_then(|r| g.node(r.pid)) {
        let x = &root.session;
        let state = if x.idle_in_transaction() {
            format!(
                "idle in transaction for {}, transaction open {}",
                format::age(x.state_age_ms, "?"),
                format::age(x.xact_age_ms, "?")
            )
        } else {
            format!(
                "{} for {}",
                x.state.as_deref().unwrap_or("state hidden"),
                format::age(x.state_age_ms, "?")
            )
        };
        s.push_str(&format!(
            ", root blocker pid {} ({}, {}, {})",
            x.pid,
            x.usename.as_deref().unwrap_or("?"),
            if x.application_name.is_empty() {
                "no application name"
            } else {
                &x.application_name
            },
            state
        ));
        if g.roots.len() > 1 {
            s.push_str(&format!(" and {} more", g.roots.len() - 1));
        }
    }
    s
}

/// What the page announces (a live region): the number waiting and the root blockers, which
/// change with the chain, not with every sample's ages.
pub fn announcement(g: &LockGraph) -> String {
    if g.waiting == 0 {
        return "No session is waiting on a lock.".into();
    }
    let roots = g
        .roots
        .iter()
        .map(|r| r.pid.to_string())
        .collect::<Vec<_>>();
    format!(
        "{} session{} waiting on a lock; root blocker{} pid {}.",
        g.waiting,
        if g.waiting == 1 { "" } else { "s" },
        if roots.len() == 1 { "" } else { "s" },
        roots.join(", ")
    )
}

/// A session's details, following `node` (None once it left the graph: the card says so and
/// keeps an action's answer); `target` set for a live session, whose whole query can be read when
/// the graph carries it cut.
#[component]
pub fn Details(
    pid: i32,
    node: Signal<Option<LockNode>>,
    can_act: bool,
    target: Option<String>,
    /// The live target and whether actions are available on it (none for a past episode).
    #[prop(optional)]
    actions: Option<(String, ActionsAvailability)>,
) -> impl IntoView {
    let full = RwSignal::new(None::<String>);
    let live = target.is_some();
    let show_full = move |_| {
        let Some(target) = target.clone() else { return };
        leptos::task::spawn_local(async move {
            let got = whole_query(target, pid).await;
            full.set(Some(got.unwrap_or_else(|e| format!("({e})"))));
        });
    };
    // The buttons are made once, from the session as first shown (its backend_start is what the
    // server checks), and only for a root blocker.
    let first = node.get_untracked();
    let buttons = (can_act && first.as_ref().is_some_and(|n| n.root))
        .then(|| {
            let n = first.clone()?;
            let (target, availability) = actions?;
            Some(view! {
                <SessionActions target=target session=n.session.clone() availability=availability frees=n.blocks_total/>
            })
        })
        .flatten();
    let facts = move || {
        node.get().map(|n| {
            let s = &n.session;
            vec![
                ("User", s.usename.clone().unwrap_or_default()),
                ("Database", s.datname.clone().unwrap_or_default()),
                ("Application", s.application_name.clone()),
                ("Client", s.client_addr.clone().unwrap_or_default()),
                ("State", s.state.clone().unwrap_or_default()),
                (
                    "Backend start",
                    s.backend_start.map(format::utc).unwrap_or_default(),
                ),
                ("Transaction age", format::age(s.xact_age_ms, "")),
                ("In state for", format::age(s.state_age_ms, "")),
                (
                    "Waits for",
                    n.waits_for
                        .as_ref()
                        .map(|w| format!("{} on {}", w.mode, w.object))
                        .unwrap_or_default(),
                ),
                ("Wait age", format::age(n.wait_age_ms, "")),
                (
                    "Holds up",
                    if n.blocks_direct > 0 {
                        format!("{} directly, {} in all", n.blocks_direct, n.blocks_total)
                    } else {
                        String::new()
                    },
                ),
            ]
        })
    };
    let query = Memo::new(move |_| {
        node.with(|n| {
            n.as_ref()
                .map(|n| (n.session.query.clone(), n.session.query_truncated))
        })
    });
    view! {
        <div class="card lk-details" data-testid="lock-details" data-pid=pid>
            <h2>{format!("pid {pid}")}{move || node.with(|n| n.as_ref().is_some_and(|n| n.root)).then(|| view! { " " <span class="badge lk-root-badge">"root blocker"</span> })}</h2>
            {move || match facts() {
                Some(facts) => view! {
                    <dl class="facts">
                        {facts.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    </dl>
                }.into_any(),
                None => view! { <p class="muted" data-testid="lock-details-gone">{format!("pid {pid} is no longer part of a lock chain.")}</p> }.into_any(),
            }}
            {move || query.get().map(|(text, cut)| {
                let show_full = show_full.clone();
                view! {
                    <pre class="sql" tabindex="0" data-testid="lock-query">{move || full.get().unwrap_or_else(|| text.clone())}</pre>
                    {(cut && live && full.with_untracked(Option::is_none)).then(|| view! {
                        <button class="link" data-testid="lock-full-query" on:click=show_full>"Show the whole query"</button>
                    })}
                }
            })}
            {buttons}
        </div>
    }
}
