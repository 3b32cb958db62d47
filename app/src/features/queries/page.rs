//! The Queries route: top statements over a window, ordered by any column, re-read after every
//! pg_stat_statements sample (the `/live` statements topic); `?queryid=` opens one statement's
//! history above the table.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{query_detail, top_queries};
use super::model::{Order, QueryDetail, TopQueries, Window};
use crate::components::chart::{Chart, Line, Unit, Window as ChartWindow, short};
use crate::components::copy_button::CopyButton;
use crate::components::error_view::ErrorView;
use crate::components::layout::PageHeader;
use crate::components::live::{StreamState, encode, subscribe};
use crate::error::{AppError, set_response_status};
use crate::features::targets::api::pick_target;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Params {
    target: Option<String>,
    window: Window,
    order: Order,
    queryid: Option<String>,
}

async fn load(p: Params) -> Result<Option<(TopQueries, Option<QueryDetail>)>, AppError> {
    let Some(t) = pick_target(p.target).await? else {
        return Ok(None);
    };
    let top = top_queries(
        t.id.clone(),
        Some(p.window.as_str().into()),
        Some(p.order.as_str().into()),
        None,
    )
    .await?;
    let detail = match p.queryid {
        Some(q) if !q.is_empty() => {
            Some(query_detail(t.id, q, Some(p.window.as_str().into())).await?)
        }
        _ => None,
    };
    Ok(Some((top, detail)))
}

#[component]
pub fn QueriesPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        query.with(|q| Params {
            target: q.get("target"),
            window: q
                .get("window")
                .and_then(|w| Window::parse(&w))
                .unwrap_or_default(),
            order: q
                .get("order")
                .and_then(|o| Order::parse(&o))
                .unwrap_or_default(),
            queryid: q.get("queryid"),
        })
    });
    let data = Resource::new(move || params.get(), load);
    view! {
        <Title text="Queries · pgpanel"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some((top, detail))) => view! { <QueriesBody top=top detail=detail refetch=Callback::new(move |()| data.refetch())/> }.into_any(),
                    Ok(None) => view! { <PageHeader title="Queries">""</PageHeader><p class="card empty">"No targets configured."</p> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <PageHeader title="Queries">""</PageHeader><ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn href(target: &str, window: Window, order: Order, queryid: Option<&str>) -> String {
    let mut h = format!(
        "/queries?target={}&window={}&order={}",
        encode(target),
        window.as_str(),
        order.as_str()
    );
    if let Some(q) = queryid {
        h.push_str("&queryid=");
        h.push_str(&encode(q));
    }
    h
}

fn ms(v: f64) -> String {
    let v = v + 0.0; // never "-0.00"
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.2} ms")
    }
}

#[component]
fn QueriesBody(
    top: TopQueries,
    detail: Option<QueryDetail>,
    refetch: Callback<()>,
) -> impl IntoView {
    let stream = RwSignal::new(StreamState::Connecting);
    let target = top.target.clone();
    Effect::new(move |_| {
        subscribe(&target, &["statements"], stream, move |_, _| {
            refetch.run(())
        });
    });
    let t = top.target.clone();
    let (window, order) = (top.window, top.order);
    let windows = Window::ALL
        .into_iter()
        .map(|w| {
            view! {
                <a href=href(&t, w, order, None) class:selected=w == window>{w.as_str()}</a>
            }
        })
        .collect_view();
    let column = |label: &'static str, o: Order| {
        let selected = o == order;
        view! {
            <th class="num sortable" aria-sort=if selected { "descending" } else { "none" }>
                <a href=href(&top.target, window, o, None)>{label}</a>
            </th>
        }
    };
    let summary = format!(
        "{} statements · {} calls · {} execution time in the last {}",
        top.statements,
        short(top.total_calls as f64),
        ms(top.total_ms),
        window.as_str()
    );
    view! {
        <PageHeader title="Queries">
            <nav class="segmented" aria-label="Window" data-testid="window">{windows}</nav>
        </PageHeader>
        {top.unavailable.clone().map(|u| view! {
            <div class="card notice-card" data-testid="statements-unavailable">
                <h2>"pg_stat_statements is not available"</h2>
                <p>{u.detail}</p>
                {u.hint.map(|h| view! { <p class="muted">{h}</p> })}
                {u.sql.map(|sql| view! { <div class="sql-line"><code>{sql.clone()}</code><CopyButton text=sql/></div> })}
            </div>
        })}
        {top.error.clone().filter(|_| top.unavailable.is_none()).map(|e| view! { <p class="notice">{format!("Last read of pg_stat_statements failed: {e}")}</p> })}
        {(top.resets > 0 || top.evicted > 0).then(|| view! {
            <p class="notice" data-testid="statements-resets">
                {format!(
                    "In this window pg_stat_statements was reset {} time(s) and evicted {} entries: statements that ran before a reset or were evicted are undercounted (never negative).",
                    top.resets, top.evicted
                )}
            </p>
        })}
        {detail.map(|d| view! { <Detail detail=d close=href(&top.target, window, order, None)/> })}
        <p class="muted" data-testid="queries-summary" class:hidden=top.unavailable.is_some()>{summary}</p>
        <div class="card table-card" class:hidden=top.unavailable.is_some() && top.rows.is_empty()>
            <table class="data queries" data-testid="queries">
                <thead>
                    <tr>
                        <th>"Statement"</th>
                        <th class="num">"Share"</th>
                        {column("Total time", Order::TotalTime)}
                        {column("Mean", Order::MeanTime)}
                        {column("Calls", Order::Calls)}
                        {column("Rows", Order::Rows)}
                        {column("Shared hit", Order::SharedBlksHit)}
                        {column("Shared read", Order::SharedBlksRead)}
                        {column("Temp blocks", Order::TempBlks)}
                    </tr>
                </thead>
                <tbody>
                    {top.rows.iter().map(|r| {
                        let link = href(&top.target, window, order, Some(&r.queryid));
                        let who = format!("{} · {}{}", r.database.clone().unwrap_or_default(), r.user.clone().unwrap_or_default(), if r.toplevel { "" } else { " · nested" });
                        view! {
                            <tr data-testid="statement" data-queryid=r.queryid.clone()>
                                <td class="query">
                                    <a href=link class="query-text">{r.query.clone().unwrap_or_else(|| format!("queryid {} (text not read yet)", r.queryid))}</a>
                                    <div class="muted small">{who}</div>
                                </td>
                                <td class="num">
                                    <div class="bar"><span class=format!("fill w{}", (r.share * 20.0).round() as u32)></span></div>
                                    {format!("{:.1} %", r.share * 100.0)}
                                </td>
                                <td class="num">{ms(r.total_ms)}</td>
                                <td class="num">{ms(r.mean_ms)}</td>
                                <td class="num">{short(r.calls as f64)}</td>
                                <td class="num">{short(r.rows as f64)}</td>
                                <td class="num">{short(r.shared_blks_hit as f64)}</td>
                                <td class="num">{short(r.shared_blks_read as f64)}</td>
                                <td class="num">{short(r.temp_blks as f64)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {top.rows.is_empty().then(|| view! { <p class="muted empty">"No statement ran in this window (or pgpanel has not taken two samples yet)."</p> })}
        </div>
    }
}

#[component]
fn Detail(detail: QueryDetail, close: String) -> impl IntoView {
    let to = detail.points.last().map_or(0, |p| p.minute_ms + 60_000);
    let from = to - detail.window.millis().max(15 * 60_000);
    let w = ChartWindow {
        from_ms: from,
        to_ms: to,
        gap_ms: 150_000,
    };
    let calls = vec![Line {
        label: "calls per minute",
        points: detail
            .points
            .iter()
            .map(|p| (p.minute_ms, Some(p.calls as f64)))
            .collect(),
    }];
    let mean = vec![Line {
        label: "mean time",
        points: detail
            .points
            .iter()
            .map(|p| (p.minute_ms, Some(p.mean_ms)))
            .collect(),
    }];
    let text = detail.query.clone().unwrap_or_default();
    view! {
        <section class="card detail" data-testid="query-detail" data-queryid=detail.queryid.clone()>
            <div class="card-head">
                <h2>{format!("Statement {}", detail.queryid)}</h2>
                <a href=close class="muted">"close"</a>
            </div>
            <pre class="sql">{text.clone()}</pre>
            <CopyButton text=text/>
            <div class="chart-grid">
                <Chart title="Calls" key="query-calls" unit=Unit::Count lines=Signal::stored(calls) window=Signal::stored(w)/>
                <Chart title="Mean execution time" key="query-mean" unit=Unit::Millis lines=Signal::stored(mean) window=Signal::stored(w)/>
            </div>
            <table class="data">
                <thead><tr><th>"Database"</th><th>"User"</th><th class="num">"Calls"</th><th class="num">"Total"</th><th class="num">"Mean"</th><th class="num">"Rows"</th></tr></thead>
                <tbody>
                    {detail.entries.iter().map(|e| view! {
                        <tr>
                            <td>{e.database.clone()}</td>
                            <td>{e.user.clone()}{(!e.toplevel).then_some(" (nested)")}</td>
                            <td class="num">{short(e.calls as f64)}</td>
                            <td class="num">{ms(e.total_ms)}</td>
                            <td class="num">{ms(e.mean_ms)}</td>
                            <td class="num">{short(e.rows as f64)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
