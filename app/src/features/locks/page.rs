//! The Locks route: a one-line answer ("N sessions waiting, longest M s, root blocker pid P …"),
//! the graph, the selected session's details (a root blocker with cancel / terminate for DBAs),
//! the waiting sessions, the lock summary and the episodes of the last 7 days. First render from
//! the hub on the server, then the `/live` locks stream.

use leptos::prelude::*;

use super::api::{get_lock_graph, lock_episode_groups};
use super::history::History;
use super::model::{EpisodeGroups, LockGraph};
use super::svg::{GraphSvg, short_mode};
use super::view::{Details, announcement, headline};
use crate::components::error_view::ErrorView;
use crate::components::format;
use crate::components::live::{StreamBadge, subscribe};
use crate::components::location::use_query;
use crate::components::page_data::page_data;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::auth::me::{ReadOnlyNote, signed_in_role};
use crate::features::auth::model::Role;
use crate::features::targets::api::pick_target;
use crate::features::targets::model::TargetOverview;

type Loaded = (TargetOverview, LockGraph, EpisodeGroups);

async fn load(target: Option<String>) -> Result<Option<Loaded>, AppError> {
    let Some(t) = pick_target(target).await? else {
        return Ok(None);
    };
    // Both at once: nothing here waits on the other.
    let (graph, history) = futures::future::join(
        get_lock_graph(t.id.clone()),
        lock_episode_groups(t.id.clone(), None, None),
    )
    .await;
    let graph = match graph {
        Ok(g) => g,
        // Not sampled yet: an empty graph that fills in.
        Err(AppError::TargetUnavailable { .. }) => LockGraph {
            target: t.id.clone(),
            ..LockGraph::default()
        },
        Err(e) => return Err(e),
    };
    Ok(Some((t, graph, history?)))
}

#[component]
pub fn LocksPage() -> impl IntoView {
    let query = use_query();
    let target = Memo::new(move |_| query.with(|q| q.get("target")));
    let data = page_data(move || target.get(), load);
    view! {
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
    let can_act = move || signed_in_role().is_some_and(|r| r >= Role::Dba);
    // The session shown in the details card: the one clicked, else the main root blocker. Only a
    // change of pid rebuilds the card, so an open confirmation and an action's answer stay while
    // the graph refreshes (and after the session is gone).
    let shown = Memo::new(move |_| {
        selected
            .get()
            .or_else(|| graph.with(|g| g.roots.first().map(|r| r.pid)))
    });
    let announce = Memo::new(move |_| graph.with(announcement));
    view! {
        <PageHeader title=format!("Locks · {}", target.name)>
            <StreamBadge/>
        </PageHeader>
        <ReadOnlyNote/>
        <p class=move || if graph.with(|g| g.waiting > 0) { "card lk-headline lk-alert" } else { "card lk-headline" } data-testid="lock-headline">
            {move || graph.with(headline)}
        </p>
        // Announced when the chain changes (who waits, who is the root), not at every sample.
        <p class="visually-hidden" role="status" data-testid="lock-announce">{move || announce.get()}</p>
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
        <div class="card table-card" tabindex="0">
            <h2>"Waiting sessions"</h2>
            <table class="data cards" data-testid="waiting-sessions">
                <thead><tr><th>"pid"</th><th>"User"</th><th>"Database"</th><th>"Application"</th><th>"Waits for"</th><th>"Blocked by"</th><th>"Waiting"</th><th>"Query"</th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|(n, blockers)| {
                        let w = n.waits_for.clone().unwrap_or_default();
                        let count = n.group.as_ref().map(|g| format!(" (+{} like it)", g.count - 1)).unwrap_or_default();
                        view! {
                            <tr data-pid=n.session.pid>
                                <td class="mono" data-label="pid">{n.session.pid}{count}</td>
                                <td data-label="User">{n.session.usename.clone()}</td>
                                <td data-label="Database">{n.session.datname.clone()}</td>
                                <td data-label="Application">{n.session.application_name.clone()}</td>
                                <td data-testid="waits-for" data-label="Waits for">{format!("{} on {}", short_mode(&w.mode), w.object)}</td>
                                <td class="mono" data-label="Blocked by">{blockers}</td>
                                <td class="num" data-label="Waiting">{format::age(n.wait_age_ms, "?")}</td>
                                <td class="query" data-label="Query"><code class="query-text">{n.session.query.clone()}</code></td>
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
        <div class="card table-card" tabindex="0">
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
