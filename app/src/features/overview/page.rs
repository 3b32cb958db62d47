//! The Overview route: the state of every target at a glance.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;

use super::components::TargetCard;
use crate::components::error_view::ErrorView;
use crate::components::layout::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::targets::api::list_targets;
use crate::features::targets::model::TargetOverview;

/// The page re-reads `/api/targets` this often (memory on the server; no target is queried).
const REFRESH: Duration = Duration::from_secs(5);

#[component]
pub fn OverviewPage() -> impl IntoView {
    let tick = RwSignal::new(0_u32);
    let targets = Resource::new(move || tick.get(), |_| list_targets());
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || tick.update(|n| *n = n.wrapping_add(1)), REFRESH)
        {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Title text="Overview · pgpanel"/>
        <Transition fallback=|| view! { <p class="muted">"Loading targets…"</p> }>
            {move || Suspend::new(async move {
                match targets.await {
                    Ok(list) => view! { <OverviewBody targets=list/> }.into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Transition>
    }
}

fn failed(error: AppError) -> AnyView {
    set_response_status(&error);
    view! {
        <PageHeader title="Overview">""</PageHeader>
        <ErrorView error=error/>
    }
    .into_any()
}

#[component]
fn OverviewBody(targets: Vec<TargetOverview>) -> impl IntoView {
    let total = targets.len();
    let up = targets.iter().filter(|t| t.status.is_up()).count();
    let summary = match (total, total - up) {
        (0, _) => "no targets".to_owned(),
        (1, 0) => "1 target, up".to_owned(),
        (1, _) => "1 target, not reachable".to_owned(),
        (n, 0) => format!("{n} targets, all up"),
        (n, down) => format!("{n} targets · {up} up · {down} not reachable"),
    };
    view! {
        <PageHeader title="Overview">
            <span class="muted" data-testid="overview-summary">{summary}</span>
        </PageHeader>
        {if targets.is_empty() {
            view! {
                <div class="card empty">
                    <h2>"No targets configured"</h2>
                    <p>
                        "Add a " <code>"[[targets]]"</code>
                        " section with an id, a name and a monitor_url to the configuration file, then restart pgpanel. "
                        "docs/OPERATIONS.md lists the GRANTs the monitor login needs."
                    </p>
                </div>
            }
                .into_any()
        } else {
            targets
                .into_iter()
                .map(|target| view! { <TargetCard target=target/> })
                .collect_view()
                .into_any()
        }}
    }
}
