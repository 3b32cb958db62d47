//! The Cluster page (admin): the instances on this store, rendered on the server (no island:
//! nothing on it changes anything; Reload reads it again).

use leptos::prelude::*;

use super::api::cluster;
use super::model::{ClusterView, InstanceView};
use crate::components::error_view::ErrorView;
use crate::components::format::{millis, relative, utc};
use crate::components::page_header::PageHeader;
use crate::error::set_response_status;

#[component]
pub fn ClusterPage() -> impl IntoView {
    let view = Resource::new(|| (), |_| cluster());
    view! {
        <PageHeader title="Cluster">
            <a class="button" href="/cluster" data-testid="cluster-reload">"Reload"</a>
        </PageHeader>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match view.await {
                    Ok(v) => view! { <Instances view=v/> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Instances(view: ClusterView) -> impl IntoView {
    let now = view.now;
    let running = view
        .instances
        .iter()
        .filter(|i| i.state == super::model::InstanceState::Running)
        .count();
    let summary = if view.store == "sqlite" {
        "The store is a SQLite file: one instance uses it. Several instances share a postgres:// \
         store (docs/OPERATIONS.md, \"Several instances\")."
            .to_owned()
    } else {
        format!(
            "{running} instance{} running on this PostgreSQL store. Each target is sampled by one \
             instance at a time (the holder of its lease), which relays its frames to the others; \
             another takes over within about 11 s when it fails.",
            if running == 1 { "" } else { "s" }
        )
    };
    view! {
        <p class="muted" data-testid="cluster-summary">{summary}</p>
        <div class="card table-card" tabindex="0">
            <table class="data" data-testid="cluster-table">
                <caption class="visually-hidden">"pgpanel instances on this store"</caption>
                <thead>
                    <tr>
                        <th>"Instance"</th>
                        <th>"State"</th>
                        <th>"Version"</th>
                        <th>"Started"</th>
                        <th>"Last heartbeat"</th>
                        <th>"Samples"</th>
                    </tr>
                </thead>
                <tbody>
                    {view.instances.into_iter().map(|i| row(i, now)).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn row(i: InstanceView, now: time::OffsetDateTime) -> impl IntoView {
    let state = i.state.as_str();
    let dot = match state {
        "running" => "up",
        "lost" => "unreachable",
        _ => "connecting",
    };
    let targets = if i.targets.is_empty() {
        "—".to_owned()
    } else {
        format!(
            "{} target{}",
            i.targets.len(),
            if i.targets.len() == 1 { "" } else { "s" }
        )
    };
    let list = i.targets.join(", ");
    let title = list.clone();
    view! {
        <tr data-testid="cluster-row" data-instance=i.id.clone() data-state=state>
            <td>
                <span class="mono">{i.id.clone()}</span>
                {i.this.then(|| view! { " " <span class="badge">"this instance"</span> })}
                <div class="muted small">{format!("{} · {}", i.host, i.listen)}</div>
            </td>
            <td>
                <span class=format!("status-dot {dot}")></span>
                " "
                {state}
                {i.stopped_at.map(|t| view! { <div class="muted small">{format!("at {}", utc(t))}</div> })}
            </td>
            <td class="mono">{i.version}</td>
            <td title=utc(i.started_at)>{relative(i.started_at, now)}</td>
            <td title=utc(i.heartbeat_at)>{format!("{} ago", millis(i.heartbeat_age_ms))}</td>
            <td title=title>
                {targets}
                <div class="muted small">{list}</div>
            </td>
        </tr>
    }
}
