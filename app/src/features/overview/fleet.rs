//! The fleet view: every target on one screen with its health summary, worst first.

use leptos::prelude::*;

use super::api::list_fleet;
use super::model::{FleetRow, shown};
use crate::components::clock::use_now;
use crate::components::error_view::ErrorView;
use crate::components::format;
use crate::components::page_header::PageHeader;
use crate::error::set_response_status;
use crate::features::live::model::Level;
use crate::features::targets::model::TargetStatus;

pub fn level_class(level: Level) -> &'static str {
    match level {
        Level::Ok => "level-ok",
        Level::Warn => "level-warn",
        Level::Critical => "level-critical",
    }
}

fn age(ms: Option<i64>) -> String {
    format::age(ms, "—")
}

/// Every target's rate in the same form: one decimal ("119.0", "4.0"), thousands as "1.2k".
pub fn rate(v: f64) -> String {
    if v.abs() >= 1000.0 {
        crate::components::chart::short(v)
    } else {
        format!("{:.1}", v + 0.0)
    }
}

#[component]
pub fn FleetPage() -> impl IntoView {
    let rows = Resource::new(|| (), |_| list_fleet());
    let tick = RwSignal::new(0_u32);
    Effect::new(move |_| {
        if let Ok(h) = set_interval_with_handle(
            move || tick.update(|n| *n = n.wrapping_add(1)),
            std::time::Duration::from_secs(5),
        ) {
            on_cleanup(move || h.clear());
        }
    });
    Effect::new(move |prev: Option<u32>| {
        let n = tick.get();
        if prev.is_some() {
            rows.refetch();
        }
        n
    });
    // What the search box holds: from `?q=` at first (the form works without scripts), then
    // as typed.
    let query = crate::components::location::use_query();
    let find = RwSignal::new(query.get_untracked().get("q").unwrap_or_default());
    let problems = RwSignal::new(query.get_untracked().get("problems").as_deref() == Some("1"));
    view! {
        <PageHeader title="Fleet">
            <span class="muted">"Every target, worst first"</span>
        </PageHeader>
        <form class="filters card" method="get" action="/fleet" role="search" data-testid="fleet-filters">
            <label>
                "Find"
                <input
                    type="search"
                    name="q"
                    data-testid="fleet-find"
                    placeholder="name or id"
                    autocomplete="off"
                    value=move || find.get()
                    on:input=move |ev| find.set(event_target_value(&ev))
                />
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    name="problems"
                    value="1"
                    data-testid="fleet-problems"
                    checked=move || problems.get()
                    on:change=move |ev| problems.set(event_target_checked(&ev))
                />
                " Only targets with a problem"
            </label>
            <noscript><button type="submit">"Apply"</button></noscript>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(rows) => view! { <FleetTable rows=rows find=find problems=problems/> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn FleetTable(
    rows: Vec<FleetRow>,
    find: RwSignal<String>,
    problems: RwSignal<bool>,
) -> impl IntoView {
    let now = use_now();
    let total = rows.len();
    // Which rows the search keeps, by index: the rows themselves are built once, and hidden.
    let keep: Vec<FleetRow> = rows.clone();
    let visible = Memo::new(move |_| {
        let (f, p) = (find.get(), problems.get());
        keep.iter().map(|r| shown(r, &f, p)).collect::<Vec<bool>>()
    });
    let count = move || visible.with(|v| v.iter().filter(|s| **s).count());
    view! {
        <p class="muted small" data-testid="fleet-count" aria-live="polite">
            {move || {
                let n = count();
                if n == total { format!("{total} targets") } else { format!("{n} of {total} targets") }
            }}
        </p>
        <div class="card table-card" tabindex="0">
            <table class="data" data-testid="fleet-table">
                <thead>
                    <tr>
                        <th>"Target"</th>
                        <th>"State"</th>
                        <th class="num">"Connections"</th>
                        <th class="num">"Longest transaction"</th>
                        <th class="num" title="sessions idle in transaction now · the oldest one's transaction age">"Idle in transaction"</th>
                        <th class="num" title="sessions waiting on a lock now · the longest wait">"Waiting on a lock"</th>
                        <th class="num">"Oldest xid age"</th>
                        <th class="num">"Commits/s"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .enumerate()
                        .map(|(i, row)| {
                            let hidden = move || !visible.with(|v| v.get(i).copied().unwrap_or(true));
                            let href = format!("/?target={}", crate::components::live::encode(&row.target.id));
                            let (state, detail) = match &row.target.status {
                                TargetStatus::Up { .. } => ("up", String::new()),
                                TargetStatus::Connecting { .. } => ("connecting", String::new()),
                                TargetStatus::Unreachable { since, error, .. } => {
                                    let since = *since;
                                    (
                                        "unreachable",
                                        format!("{error} (since {})", format::relative(since, now.get_untracked())),
                                    )
                                }
                            };
                            let h = row.health.clone().unwrap_or_default();
                            let known = row.health.is_some();
                            let cell = move |level: Level, text: String| {
                                view! {
                                    <td class=format!("num {}", if known { level_class(level) } else { "" })>{text}</td>
                                }
                            };
                            view! {
                                <tr data-testid="fleet-row" data-target=row.target.id.clone() data-rank=row.rank() hidden=hidden>
                                    <td>
                                        <a href=href>{row.target.name.clone()}</a>
                                        " "
                                        <span class="mono muted small">{row.target.id.clone()}</span>
                                    </td>
                                    <td>
                                        <span class=format!("status-dot {state}")></span>
                                        " "
                                        {state}
                                        <div class="muted small">{detail}</div>
                                    </td>
                                    {cell(h.connections_level(), if known { format!("{} / {}", h.connections, h.max_connections) } else { "—".into() })}
                                    {cell(h.xact_level(), age(h.longest_xact_ms))}
                                    {cell(h.idle_in_tx_level(), if known { format!("{} · {}", h.idle_in_tx, age(h.idle_in_tx_xact_ms)) } else { "—".into() })}
                                    {cell(h.lock_level(), if known { format!("{} · {}", h.lock_waiting, age(h.longest_lock_wait_ms)) } else { "—".into() })}
                                    {cell(h.xid_level(), h.max_xid_age.map_or("—".into(), |v| crate::components::chart::short(v as f64)))}
                                    <td class="num" data-testid="fleet-commits">{row.commits.map_or("—".into(), rate)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
