//! The Locks page's episode list (last 7 days, from the store), repeats of the same chain grouped
//! (same main root blocker: application, user, database, statement) with a count, 20 groups a
//! page; a group opens to its episodes, and any episode's graph at its peak can be drawn again
//! right below it: "what blocked at 14:03" after the fact.

use leptos::prelude::*;

use super::api::{lock_episode_groups, lock_peak};
use super::model::{EpisodeGroup, EpisodeGroups, LockEpisode, LockGraph};
use super::svg::GraphSvg;
use super::view::{Details, headline};
use crate::components::format;

fn utc_ms(ms: i64) -> String {
    format::utc(format::from_ms(ms))
}

fn lasted(e: &LockEpisode) -> String {
    match e.ended_ms {
        Some(end) => format::millis(end - e.started_ms),
        None => "ongoing".into(),
    }
}

#[component]
pub fn History(graph: RwSignal<LockGraph>, groups: EpisodeGroups) -> impl IntoView {
    let page = RwSignal::new(groups);
    let reload = move |offset: i64| {
        let target = graph.with_untracked(|g| g.target.clone());
        leptos::task::spawn_local(async move {
            if let Ok(p) = lock_episode_groups(target, Some(offset), None).await {
                page.set(p);
            }
        });
    };
    // Re-read when an episode starts or ends (the list is the store's, not the stream's).
    let waiting = Memo::new(move |_| graph.with(|g| g.waiting > 0));
    Effect::new(move |prev: Option<bool>| {
        let now = waiting.get();
        if prev.is_some_and(|p| p != now) {
            reload(page.with_untracked(|p| p.offset));
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
    let summary = move || {
        page.with(|p| match (p.total_groups, p.total_episodes) {
            (0, _) => String::new(),
            (g, e) => format!(
                "{e} episode{} in {g} chain{} (repeats of the same root blocker are grouped)",
                if e == 1 { "" } else { "s" },
                if g == 1 { "" } else { "s" }
            ),
        })
    };
    let pager = move || {
        page.with(|p| {
            let shown_to = p.offset + p.groups.len() as i64;
            let newer = (p.offset > 0).then(|| {
                let to = (p.offset - 20).max(0);
                view! { <button type="button" class="button small" data-testid="episodes-newer" on:click=move |_| reload(to)>"← Newer"</button> }
            });
            let older = (shown_to < p.total_groups).then(|| {
                view! { <button type="button" class="button small" data-testid="episodes-older" on:click=move |_| reload(shown_to)>"Older →"</button> }
            });
            (p.total_groups > 0).then(|| view! {
                <span class="small muted">{format!("chains {}–{} of {}", p.offset + 1, shown_to, p.total_groups)}</span>
                {newer}
                {older}
            })
        })
    };
    view! {
        <div class="card table-card" tabindex="0">
            <div class="act-head pad">
                <h2>"Lock episodes, last 7 days"</h2>
                <div class="pager">{pager}</div>
            </div>
            <p class="small muted pad-x" data-testid="episodes-summary">{summary}</p>
            <table class="data" data-testid="lock-history">
                <thead><tr>
                    <th>"Main root blocker"</th>
                    <th class="num">"Episodes"</th>
                    <th>"First · last (UTC)"</th>
                    <th class="num">"Peak waiting"</th>
                    <th class="num">"Longest wait"</th>
                    <th><span class="visually-hidden">"Peaks"</span></th>
                </tr></thead>
                {move || page.get().groups.into_iter().map(|g| view! { <Group g=g shown=shown peak=peak show=Callback::new(show)/> }).collect_view()}
            </table>
            {move || page.with(|p| p.groups.is_empty()).then(|| view! { <p class="muted empty">"No lock waits recorded."</p> })}
        </div>
    }
}

/// One chain: its summary row, its episodes when opened, and the peak shown below the row it
/// was asked from.
#[component]
fn Group(
    g: EpisodeGroup,
    shown: RwSignal<Option<i64>>,
    peak: RwSignal<Option<Result<LockGraph, String>>>,
    show: Callback<i64>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let latest = g.episodes.first().map(|e| e.started_ms);
    let root = match &g.root {
        Some(r) => view! {
            <div>
                <strong>{r.application_name.clone()}</strong>
                {format!(" · {} · {}", r.usename.clone().unwrap_or_default(), r.datname.clone().unwrap_or_default())}
                {r.state.clone().map(|s| view! { <span class="muted small">{format!(" · {s}")}</span> })}
            </div>
            <code class="query-text small">{r.query.clone()}</code>
        }
        .into_any(),
        None => view! { <span class="muted">"no root blocker seen (a cycle)"</span> }.into_any(),
    };
    let count = g.count;
    let listed = g.episodes.len() as i64;
    let when = format!(
        "{} · {}{}",
        utc_ms(g.first_started_ms),
        format::clock_ms(g.last_started_ms),
        if g.ongoing { " (ongoing)" } else { "" }
    );
    let episodes = g.episodes.clone();
    // Every chain has these buttons: the hidden words name the chain (its root and when).
    let who = g
        .root
        .as_ref()
        .map_or_else(|| "a cycle".to_owned(), |r| r.application_name.clone());
    let which = format!(" — {who}, {when}");
    let which_episodes = which.clone();
    view! {
        <tbody data-testid="episode-group" data-count=count>
            <tr class:lk-shown=move || latest.is_some_and(|l| shown.get() == Some(l))>
                <td>{root}</td>
                <td class="num">{format!("{count}×")}</td>
                <td class="mono small">{when}</td>
                <td class="num">{g.max_peak_waiting}</td>
                <td class="num">{format::age(g.max_longest_wait_ms, "?")}</td>
                <td class="nowrap">
                    {latest.map(|started| view! {
                        <button class="button small" data-testid="show-peak" data-started=started on:click=move |_| show.run(started)>
                            {move || if shown.get() == Some(started) { "Hide peak" } else if count > 1 { "Latest peak" } else { "Show peak" }}
                            <span class="visually-hidden">{which}</span>
                        </button>
                    })}
                    {(count > 1).then(|| view! {
                        " "
                        <button class="button small" data-testid="group-open" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
                            {move || if open.get() { "Hide episodes" } else { "Episodes" }}
                            <span class="visually-hidden">{which_episodes}</span>
                        </button>
                    })}
                </td>
            </tr>
            {move || (open.get() || latest.is_some_and(|l| shown.get() == Some(l))).then(|| {
                let rows = episodes.iter().filter(|e| open.get() || shown.get() == Some(e.started_ms)).cloned().map(|e| {
                    let started = e.started_ms;
                    view! {
                        <tr class="lk-episode" data-started=started>
                            <td colspan="6">
                                <div class="lk-episode-line">
                                    <span class="mono small">{utc_ms(started)}</span>
                                    <span class="small">{format!("lasted {} · peak {} waiting · longest wait {}", lasted(&e), e.peak_waiting, format::age(e.longest_wait_ms, "?"))}</span>
                                    {open.get().then(|| view! {
                                        <button class="button small" data-testid="episode-peak" on:click=move |_| show.run(started)>
                                            {move || if shown.get() == Some(started) { "Hide peak" } else { "Show peak" }}
                                            <span class="visually-hidden">{format!(" — the episode of {}", utc_ms(started))}</span>
                                        </button>
                                    })}
                                </div>
                                {move || (shown.get() == Some(started)).then(|| view! { <Peak started_ms=started episode=e.clone() peak=peak/> })}
                            </td>
                        </tr>
                    }
                }).collect_view();
                view! {
                    {rows}
                    {(open.get() && count > listed).then(|| view! {
                        <tr><td colspan="6" class="muted small">{format!("…and {} older episode{} of this chain", count - listed, if count - listed == 1 { "" } else { "s" })}</td></tr>
                    })}
                }
            })}
        </tbody>
    }
}

/// An episode's graph at its peak, drawn like the live one (details of a clicked session, no
/// actions: those sessions may be long gone).
#[component]
fn Peak(
    started_ms: i64,
    episode: LockEpisode,
    peak: RwSignal<Option<Result<LockGraph, String>>>,
) -> impl IntoView {
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
                        format::clock_ms(g.at_ms),
                        headline(&g)
                    );
                    let note = format!(
                        "The peak is the sample with the most sessions waiting; its waits were {} long then. Over the whole episode the longest wait reached {}.",
                        format::age(g.longest_wait_ms, "?"),
                        format::age(episode.longest_wait_ms, "?")
                    );
                    let pid = selected.get().or_else(|| g.roots.first().map(|r| r.pid));
                    let node = pid.and_then(|pid| g.node(pid).cloned());
                    let graph = Signal::derive(move || g.clone());
                    view! {
                        <h3 data-testid="lock-peak-title">{title}</h3>
                        <p class="small muted">{note}</p>
                        <GraphSvg graph=graph selected=selected/>
                        {pid.map(|pid| view! { <Details pid=pid node=Signal::stored(node) can_act=false target=None/> })}
                    }.into_any()
                }
            }}
        </div>
    }
}
