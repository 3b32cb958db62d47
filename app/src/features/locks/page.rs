//! The Locks route: a one-line answer ("N sessions waiting, longest M s, root blocker pid P …"),
//! the graph, the selected session's details (a root blocker with cancel / terminate for DBAs),
//! the waiting sessions, the lock summary and the episodes of the last 7 days. First render from
//! the hub on the server, then the `/live` locks stream.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{get_lock_graph, lock_episode_groups};
use super::history::History;
use super::model::{EpisodeGroups, LockGraph, LockNode};
use super::svg::{GraphSvg, short_mode};
use crate::components::error_view::ErrorView;
use crate::components::format;
use crate::components::layout::PageHeader;
use crate::components::live::{StreamBadge, subscribe};
use crate::error::{AppError, set_response_status};
use crate::features::actions::buttons::SessionActions;
use crate::features::activity::api::whole_query;
use crate::features::auth::model::Role;
use crate::features::auth::page::{ReadOnlyNote, current_user};
use crate::features::targets::api::pick_target;
use crate::features::targets::model::ActionsAvailability;
use crate::features::targets::model::TargetOverview;

type Loaded = (TargetOverview, LockGraph, EpisodeGroups);

async fn load(target: Option<String>) -> Result<Option<Loaded>, AppError> {
    let Some(t) = pick_target(target).await? else {
        return Ok(None);
    };
    let graph = match get_lock_graph(t.id.clone()).await {
        Ok(g) => g,
        // Not sampled yet: an empty graph that fills in.
        Err(AppError::TargetUnavailable { .. }) => LockGraph {
            target: t.id.clone(),
            ..LockGraph::default()
        },
        Err(e) => return Err(e),
    };
    let history = lock_episode_groups(t.id.clone(), None, None).await?;
    Ok(Some((t, graph, history)))
}

#[component]
pub fn LocksPage() -> impl IntoView {
    let query = use_query_map();
    let target = Memo::new(move |_| query.with(|q| q.get("target")));
    let data = Resource::new(move || target.get(), load);
    view! {
        <Title text="Locks · pgpanel"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some((t, g, h))) => view! { <LocksBody target=t graph=g history=h/> }.into_any(),
                    Ok(None) => view! { <PageHeader title="Locks">""</PageHeader><p class="card empty">"No targets configured."</p> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <PageHeader title="Locks">""</PageHeader><ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

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
                "idle in transaction for {}",
                format::age(x.state_age_ms, "?")
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

#[component]
fn LocksBody(target: TargetOverview, graph: LockGraph, history: EpisodeGroups) -> impl IntoView {
    let graph = RwSignal::new(graph);
    Effect::new(move |_| {
        subscribe(&["locks"], move |_, json| {
            if let Ok(g) = serde_json::from_str::<LockGraph>(&json) {
                graph.set(g);
            }
        });
    });
    let selected = RwSignal::new(None::<i32>);
    let can_act = move || {
        current_user()
            .and_then(|u| u.0.get())
            .and_then(Result::ok)
            .is_some_and(|me| me.role >= Role::Dba)
    };
    // The session shown in the details card: the one clicked, else the main root blocker. Only a
    // change of pid rebuilds the card, so an open confirmation and an action's answer stay while
    // the graph refreshes (and after the session is gone).
    let shown = Memo::new(move |_| {
        selected
            .get()
            .or_else(|| graph.with(|g| g.roots.first().map(|r| r.pid)))
    });
    view! {
        <PageHeader title=format!("Locks · {}", target.name)>
            <StreamBadge/>
        </PageHeader>
        <ReadOnlyNote/>
        <p class=move || if graph.with(|g| g.waiting > 0) { "card lk-headline lk-alert" } else { "card lk-headline" } data-testid="lock-headline" role="status">
            {move || graph.with(headline)}
        </p>
        {move || graph.with(|g| g.error.clone()).map(|e| view! { <p class="notice">{format!("No fresh lock sample: {e}")}</p> })}
        {move || graph.with(|g| g.cycles.clone()).into_iter().map(|c| view! {
            <p class="notice lk-deadlock" data-testid="lock-cycle">
                {format!("Deadlock in progress: pids {} wait for each other; the server ends one of them after deadlock_timeout.", c.iter().map(i32::to_string).collect::<Vec<_>>().join(", "))}
            </p>
        }).collect_view()}
        {move || graph.with(|g| g.grouped).then(|| view! {
            <p class="muted">"Large pile-up: waiters with the same blocker and lock are drawn as one node with their count."</p>
        })}
        {move || graph.with(|g| !g.nodes.is_empty()).then(|| view! {
            <div class="card">
                <GraphSvg graph=graph.into() selected=selected/>
                <p class="muted small">"Arrows point from a waiting session to the session it waits for. Roots (thick border) wait for nobody. Click a session for its details."</p>
            </div>
        })}
        {move || shown.get().map(|pid| {
            let node = Signal::derive(move || graph.with(|g| g.node(pid).cloned()));
            view! { <Details pid=pid node=node can_act=can_act() target=Some(target.id.clone()) actions=(target.id.clone(), target.actions.clone())/> }
        })}
        <WaitingTable graph=graph/>
        <Summary graph=graph/>
        <History graph=graph groups=history/>
    }
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
                    <pre class="sql" data-testid="lock-query">{move || full.get().unwrap_or_else(|| text.clone())}</pre>
                    {(cut && live && full.with_untracked(Option::is_none)).then(|| view! {
                        <button class="link" data-testid="lock-full-query" on:click=show_full>"Show the whole query"</button>
                    })}
                }
            })}
            {buttons}
        </div>
    }
}

#[component]
fn WaitingTable(graph: RwSignal<LockGraph>) -> impl IntoView {
    let rows = Memo::new(move |_| {
        graph.with(|g| {
            g.nodes
                .iter()
                .filter(|n| n.waits_for.is_some())
                .map(|n| {
                    let blockers: Vec<String> = g
                        .edges
                        .iter()
                        .filter(|e| e.waiter == n.session.pid)
                        .map(|e| e.blocker.to_string())
                        .collect();
                    (n.clone(), blockers.join(", "))
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="card table-card">
            <h2>"Waiting sessions"</h2>
            <table class="data" data-testid="waiting-sessions">
                <thead><tr><th>"pid"</th><th>"User"</th><th>"Database"</th><th>"Application"</th><th>"Waits for"</th><th>"Blocked by"</th><th>"Waiting"</th><th>"Query"</th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|(n, blockers)| {
                        let w = n.waits_for.clone().unwrap_or_default();
                        let count = n.group.as_ref().map(|g| format!(" (+{} like it)", g.count - 1)).unwrap_or_default();
                        view! {
                            <tr data-pid=n.session.pid>
                                <td class="mono">{n.session.pid}{count}</td>
                                <td>{n.session.usename.clone()}</td>
                                <td>{n.session.datname.clone()}</td>
                                <td>{n.session.application_name.clone()}</td>
                                <td data-testid="waits-for">{format!("{} on {}", short_mode(&w.mode), w.object)}</td>
                                <td class="mono">{blockers}</td>
                                <td class="num">{format::age(n.wait_age_ms, "?")}</td>
                                <td class="query"><code class="query-text">{n.session.query.clone()}</code></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || rows.with(Vec::is_empty).then(|| view! { <p class="muted empty">"Nobody is waiting."</p> })}
        </div>
    }
}

#[component]
fn Summary(graph: RwSignal<LockGraph>) -> impl IntoView {
    view! {
        <div class="card table-card">
            <h2>"Locks waited for, by object and mode"</h2>
            <table class="data" data-testid="lock-summary">
                <thead><tr><th>"Object"</th><th>"Mode"</th><th>"Kind"</th><th class="num">"Waiting"</th><th class="num">"Longest"</th></tr></thead>
                <tbody>
                    {move || graph.with(|g| g.summary.clone()).into_iter().map(|r| view! {
                        <tr>
                            <td>{r.object}</td>
                            <td>{r.mode}</td>
                            <td>{r.locktype}</td>
                            <td class="num">{r.waiting}</td>
                            <td class="num">{format::age(r.longest_wait_ms, "?")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {move || graph.with(|g| g.summary.is_empty()).then(|| view! { <p class="muted empty">"No lock is waited for."</p> })}
        </div>
    }
}
