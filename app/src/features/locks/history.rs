//! The Locks page's episode list (last 7 days, from the store) and, on request, the graph an
//! episode had at its peak: "what blocked at 14:03" after the fact.

use leptos::prelude::*;

use super::api::{lock_history, lock_peak};
use super::model::{LockEpisode, LockGraph};
use super::page::{Details, headline};
use super::svg::GraphSvg;
use crate::components::format;

fn utc_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(format::utc)
        .unwrap_or_default()
}

#[component]
pub fn History(graph: RwSignal<LockGraph>, episodes: Vec<LockEpisode>) -> impl IntoView {
    let episodes = RwSignal::new(episodes);
    // Re-read when an episode starts or ends (the list is the store's, not the stream's).
    let waiting = Memo::new(move |_| graph.with(|g| g.waiting > 0));
    Effect::new(move |prev: Option<bool>| {
        let now = waiting.get();
        if prev.is_some_and(|p| p != now) {
            let target = graph.with_untracked(|g| g.target.clone());
            leptos::task::spawn_local(async move {
                if let Ok(list) = lock_history(target, None, None).await {
                    episodes.set(list);
                }
            });
        }
        now
    });
    // The episode whose peak is shown (its start), and the graph read for it.
    let shown = RwSignal::new(None::<i64>);
    let peak = RwSignal::new(None::<Result<LockGraph, String>>);
    let show = move |started_ms: i64| {
        if shown.get_untracked() == Some(started_ms) {
            shown.set(None);
            return;
        }
        shown.set(Some(started_ms));
        peak.set(None);
        let target = graph.with_untracked(|g| g.target.clone());
        leptos::task::spawn_local(async move {
            let got = lock_peak(target, started_ms)
                .await
                .map_err(|e| e.to_string());
            if shown.get_untracked() == Some(started_ms) {
                peak.set(Some(got));
            }
        });
    };
    view! {
        <div class="card table-card">
            <h2>"Lock episodes, last 7 days"</h2>
            <table class="data" data-testid="lock-history">
                <thead><tr><th>"Started (UTC)"</th><th>"Lasted"</th><th class="num">"Peak waiting"</th><th class="num">"Longest wait"</th><th>"Root blockers"</th><th></th></tr></thead>
                <tbody>
                    {move || episodes.get().into_iter().map(|e| {
                        let lasted = match e.ended_ms {
                            Some(end) => format::millis(end - e.started_ms),
                            None => "ongoing".into(),
                        };
                        let started_ms = e.started_ms;
                        let open = move || shown.get() == Some(started_ms);
                        view! {
                            <tr class=move || if open() { "lk-shown" } else { "" } data-started=started_ms>
                                <td class="mono">{utc_ms(e.started_ms)}</td>
                                <td>{lasted}</td>
                                <td class="num">{e.peak_waiting}</td>
                                <td class="num">{format::age(e.longest_wait_ms, "?")}</td>
                                <td>
                                    {e.roots.into_iter().map(|r| view! {
                                        <div class="small">
                                            {format!("pid {} · {} · {} · {} · held up {}: ", r.pid, r.usename.unwrap_or_default(), r.application_name, r.state.unwrap_or_default(), r.blocks_total)}
                                            <code class="query-text">{r.query}</code>
                                        </div>
                                    }).collect_view()}
                                </td>
                                <td>
                                    <button class="button small" data-testid="show-peak" on:click=move |_| show(started_ms)>
                                        {move || if open() { "Hide peak" } else { "Show peak" }}
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || episodes.with(Vec::is_empty).then(|| view! { <p class="muted empty">"No lock waits recorded."</p> })}
            {move || shown.get().map(|started_ms| view! { <Peak started_ms=started_ms peak=peak/> })}
        </div>
    }
}

/// An episode's graph at its peak, drawn like the live one (details of a clicked session, no
/// actions: those sessions may be long gone).
#[component]
fn Peak(started_ms: i64, peak: RwSignal<Option<Result<LockGraph, String>>>) -> impl IntoView {
    let selected = RwSignal::new(None::<i32>);
    view! {
        <div class="lk-peak" data-testid="lock-peak">
            {move || match peak.get() {
                None => view! { <p class="muted">"Reading the peak…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="notice">{e}</p> }.into_any(),
                Some(Ok(g)) => {
                    let title = format!(
                        "Peak of the episode started {}: at {}, {}",
                        utc_ms(started_ms),
                        utc_ms(g.at_ms),
                        headline(&g)
                    );
                    let node = selected
                        .get()
                        .or_else(|| g.roots.first().map(|r| r.pid))
                        .and_then(|pid| g.node(pid).cloned());
                    let graph = Signal::derive(move || g.clone());
                    view! {
                        <h3 data-testid="lock-peak-title">{title}</h3>
                        <GraphSvg graph=graph selected=selected/>
                        {node.map(|n| view! { <Details n=n can_act=false target=None/> })}
                    }.into_any()
                }
            }}
        </div>
    }
}
