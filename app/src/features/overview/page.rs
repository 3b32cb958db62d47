//! The Overview route: one target's health, live charts over a chosen range, and its facts.

use leptos::prelude::*;

use super::api::get_overview;
use super::charts::LiveOverview;
use super::components::TargetCard;
use crate::components::error_view::ErrorView;
use crate::components::live::encode;
use crate::components::location::use_query;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::live::model::{OverviewData, Range};
use crate::features::targets::api::pick_target;

async fn load(target: Option<String>, range: Range) -> Result<Option<OverviewData>, AppError> {
    match pick_target(target).await? {
        None => Ok(None),
        Some(t) => get_overview(t.id, Some(range.as_str().to_owned()))
            .await
            .map(Some),
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = use_query();
    let target = Memo::new(move |_| query.with(|q| q.get("target")));
    let range = Memo::new(move |_| {
        query
            .with(|q| q.get("range"))
            .and_then(|r| Range::parse(&r))
            .unwrap_or_default()
    });
    let data = Resource::new(move || (target.get(), range.get()), |(t, r)| load(t, r));
    let refetch = Callback::new(move |()| data.refetch());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(d)) => view! { <OverviewBody data=d refetch=refetch/> }.into_any(),
                    Ok(None) => no_targets(),
                    Err(error) => failed(error),
                }
            })}
        </Transition>
    }
}

#[component]
fn OverviewBody(data: OverviewData, refetch: Callback<()>) -> impl IntoView {
    let target = data.target.clone();
    let id = encode(&target.id);
    let current = data.range;
    view! {
        <PageHeader title=format!("Overview · {}", target.name)>
            <nav class="segmented" aria-label="Time range" data-testid="range">
                {Range::ALL
                    .into_iter()
                    .map(|r| {
                        view! {
                            <a
                                href=format!("/?target={id}&range={}", r.as_str())
                                class:selected=r == current
                                aria-current=if r == current { Some("true") } else { None }
                            >
                                {r.as_str()}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
        </PageHeader>
        <LiveOverview data=data refetch=refetch/>
        <TargetCard target=target/>
    }
}

fn no_targets() -> AnyView {
    view! {
        <PageHeader title="Overview">""</PageHeader>
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
}

fn failed(error: AppError) -> AnyView {
    set_response_status(&error);
    view! {
        <PageHeader title="Overview">""</PageHeader>
        <ErrorView error=error/>
    }
    .into_any()
}
