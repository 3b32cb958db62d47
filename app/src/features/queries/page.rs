//! The Queries route: top statements over a window, ordered by any column; `?queryid=` opens one
//! statement's history above the table.
//!
//! Requests: the target is looked up once per target, the table (and the open statement) once per
//! window / order / statement change, and again only when the `statements` topic of the tab's
//! live stream announces a pg_stat_statements sample newer than the one shown (every
//! `monitor.live_slow_interval_s`, 10 s). The refresh updates signals in place: nothing is
//! re-rendered around the stream, so nothing can loop.

use leptos::prelude::*;

use super::api::{query_detail, top_queries};
use super::model::{Order, QueryDetail, StatementRow, TopQueries, Window};
use crate::components::chart::{Chart, Line, Unit, Window as ChartWindow, short};
use crate::components::copy_button::CopyButton;
use crate::components::error_view::ErrorView;
use crate::components::format::bytes;
use crate::components::live::{encode, subscribe};
use crate::components::location::use_query;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::live::model::StatementsFrame;
use crate::features::targets::api::pick_target;
use crate::features::targets::model::TargetOverview;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Params {
    window: Window,
    order: Order,
    queryid: Option<String>,
    /// Show pgpanel's own statements too (`?own=show`; hidden by default).
    show_own: bool,
}

/// What the page asks the API for, once the target is known.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Ask {
    target: String,
    params: Params,
}

async fn read_top(ask: &Ask) -> Result<TopQueries, AppError> {
    top_queries(
        ask.target.clone(),
        Some(ask.params.window.as_str().to_owned()),
        Some(ask.params.order.as_str().into()),
        None,
        Some((!ask.params.show_own).to_string()),
    )
    .await
}

async fn read_detail(ask: &Ask) -> Result<Option<QueryDetail>, AppError> {
    match &ask.params.queryid {
        Some(q) => query_detail(
            ask.target.clone(),
            q.clone(),
            Some(ask.params.window.as_str().to_owned()),
        )
        .await
        .map(Some),
        None => Ok(None),
    }
}

/// The target the page shows, then what to ask for it.
async fn ask(wanted: Option<String>, params: Params) -> Result<Option<Ask>, AppError> {
    Ok(pick_target(wanted).await?.map(|t: TargetOverview| Ask {
        target: t.id,
        params,
    }))
}

type Loaded = Option<(Ask, TopQueries)>;

#[component]
pub fn QueriesPage() -> impl IntoView {
    let query = use_query();
    let wanted = Memo::new(move |_| query.with(|q| q.get("target")));
    let params = Memo::new(move |_| {
        query.with(|q| Params {
            window: q
                .get("window")
                .and_then(|w| Window::parse(&w))
                .unwrap_or_default(),
            order: q
                .get("order")
                .and_then(|o| Order::parse(&o))
                .unwrap_or_default(),
            queryid: q.get("queryid").filter(|q| !q.is_empty()),
            show_own: q.get("own").as_deref() == Some("show"),
        })
    });
    // One load per target, window, order or statement (GET /api/targets, then the table; the
    // statement in a resource of its own); the live refresh (`follow_samples`) re-reads only
    // those two. During server rendering a server function called after another one has really
    // waited (a store read) no longer finds the request in the context: one each per resource.
    let data = Resource::new(
        move || (wanted.get(), params.get()),
        |(wanted, p)| async move {
            let Some(ask) = ask(wanted, p).await? else {
                return Ok::<Loaded, AppError>(None);
            };
            let top = read_top(&ask).await?;
            Ok(Some((ask, top)))
        },
    );
    let detail = Resource::new(
        move || (wanted.get(), params.get()),
        |(wanted, p)| async move {
            match ask(wanted, p).await? {
                Some(ask) => read_detail(&ask).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let loaded = match (data.await, detail.await) {
                    (Ok(d), Ok(detail)) => Ok(d.map(|(ask, top)| (ask, top, detail))),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                match loaded {
                    Ok(Some((ask, top, detail))) => view! { <QueriesBody ask=ask top=top detail=detail/> }.into_any(),
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

fn href(p: &Params, target: &str) -> String {
    let mut h = format!(
        "/queries?target={}&window={}&order={}",
        encode(target),
        p.window.as_str(),
        p.order.as_str()
    );
    if p.show_own {
        h.push_str("&own=show");
    }
    if let Some(q) = &p.queryid {
        h.push_str("&queryid=");
        h.push_str(&encode(q));
    }
    h
}

/// The same view with one thing changed.
fn with(p: &Params, f: impl FnOnce(&mut Params)) -> Params {
    let mut p = p.clone();
    f(&mut p);
    p
}

fn ms(v: f64) -> String {
    let v = v + 0.0; // never "-0.00"
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else {
        format!("{v:.2} ms")
    }
}

/// Re-reads the table (and the open statement) when a newer pg_stat_statements sample is
/// announced; one read at a time (a sample announced during a read is caught by the next one).
fn follow_samples(ask: Ask, top: RwSignal<TopQueries>, detail: RwSignal<Option<QueryDetail>>) {
    let seen = StoredValue::new(top.with_untracked(|t| t.sampled_at_ms));
    let busy = StoredValue::new(false);
    let ask = StoredValue::new(ask);
    subscribe(&["statements"], move |_, json| {
        let Ok(frame) = serde_json::from_str::<StatementsFrame>(&json) else {
            return;
        };
        if seen.get_value().is_some_and(|s| frame.at_ms <= s) || busy.get_value() {
            return;
        }
        busy.set_value(true);
        let ask = ask.get_value();
        leptos::task::spawn_local(async move {
            if let (Ok(t), Ok(d)) = (read_top(&ask).await, read_detail(&ask).await) {
                seen.set_value(t.sampled_at_ms.or(Some(frame.at_ms)));
                top.set(t);
                detail.set(d);
            }
            busy.set_value(false);
        });
    });
}

#[component]
fn QueriesBody(ask: Ask, top: TopQueries, detail: Option<QueryDetail>) -> impl IntoView {
    let p = ask.params.clone();
    let (window, order) = (p.window, p.order);
    let target = ask.target.clone();
    let top = RwSignal::new(top);
    let detail = RwSignal::new(detail);
    Effect::new({
        let ask = ask.clone();
        move |_| follow_samples(ask.clone(), top, detail)
    });
    let (t, pw) = (target.clone(), p.clone());
    let windows = Window::ALL
        .into_iter()
        .map(|w| {
            view! {
                <a href=href(&with(&pw, |x| { x.window = w; x.queryid = None }), &t) class:selected=w == window aria-current=(w == window).then_some("true")>{w.as_str()}</a>
            }
        })
        .collect_view();
    let (t, pc) = (target.clone(), p.clone());
    let column = move |label: &'static str, unit: &'static str, o: Order| {
        let selected = o == order;
        view! {
            <th class="num sortable" aria-sort=if selected { "descending" } else { "none" }>
                <a href=href(&with(&pc, |x| { x.order = o; x.queryid = None }), &t)>{label}</a>
                {(!unit.is_empty()).then(|| view! { <div class="unit">{unit}</div> })}
            </th>
        }
    };
    let summary = move || {
        top.with(|top| {
            let mut s = format!(
                "{} statements · {} calls · {} execution time in the last {}",
                top.statements,
                short(top.total_calls as f64),
                ms(top.total_ms),
                window.as_str()
            );
            if top.hide_own && top.own_hidden > 0 {
                s.push_str(&format!(" · {} of pgpanel's own hidden", top.own_hidden));
            }
            s
        })
    };
    let own_toggle = href(&with(&p, |x| x.show_own = !x.show_own), &target);
    let unavailable = move || top.with(|t| t.unavailable.is_some());
    let close = href(&with(&p, |x| x.queryid = None), &target);
    let (row_target, row_params) = (target.clone(), p.clone());
    let locks_href = format!("/locks?target={}", encode(&target));
    view! {
        <PageHeader title="Queries">
            <a class="button small" href=own_toggle data-testid="own-toggle"
                title="pgpanel's monitor and action logins run statements of their own">
                {if p.show_own { "Hide pgpanel's statements" } else { "Show pgpanel's statements" }}
            </a>
            <nav class="segmented" aria-label="Window" data-testid="window">{windows}</nav>
        </PageHeader>
        {move || top.with(|t| t.unavailable.clone()).map(|u| view! {
            <div class="card notice-card" data-testid="statements-unavailable">
                <h2>"pg_stat_statements is not available"</h2>
                <p>{u.detail}</p>
                {u.hint.map(|h| view! { <p class="muted">{h}</p> })}
                {u.sql.map(|sql| view! { <div class="sql-line"><code>{sql.clone()}</code><CopyButton text=sql/></div> })}
            </div>
        })}
        {move || top.with(|t| t.error.clone().filter(|_| t.unavailable.is_none())).map(|e| view! { <p class="notice">{format!("Last read of pg_stat_statements failed: {e}")}</p> })}
        {move || top.with(|t| (t.resets > 0 || t.evicted > 0).then_some((t.resets, t.evicted))).map(|(resets, evicted)| view! {
            <p class="notice" data-testid="statements-resets">
                {format!(
                    "In this window pg_stat_statements was reset {resets} time(s) and evicted {evicted} entries: statements that ran before a reset or were evicted are undercounted (never negative).",
                )}
            </p>
        })}
        {move || detail.get().map(|d| view! { <Detail detail=d close=close.clone() locks=locks_href.clone()/> })}
        <p class="muted" data-testid="queries-summary" class:hidden=unavailable>{summary}</p>
        <div class="card table-card" tabindex="0" class:hidden=move || top.with(|t| t.unavailable.is_some() && t.rows.is_empty())>
            <div class="table-scroll" tabindex="0">
            <table class="data queries" data-testid="queries">
                <thead>
                    <tr>
                        <th>"Statement"</th>
                        <th class="num">"Share"</th>
                        {column("Total time", "", Order::TotalTime)}
                        {column("Mean", "± stddev", Order::MeanTime)}
                        {column("Calls", "", Order::Calls)}
                        {column("Rows", "", Order::Rows)}
                        <th class="num" title="shared blocks found in shared buffers, of all shared blocks accessed">"Hit"<div class="unit">"%"</div></th>
                        {column("Shared hit", "blocks", Order::SharedBlksHit)}
                        {column("Shared read", "blocks", Order::SharedBlksRead)}
                        {column("Temp", "blocks", Order::TempBlks)}
                        {column("I/O time", "read + write", Order::IoTime)}
                        {column("WAL", "bytes", Order::WalBytes)}
                        {column("Lock wait", "sampled", Order::LockWait)}
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || top.with(|t| t.rows.clone())
                        key=|r| (r.queryid.clone(), r.database.clone(), r.user.clone(), r.toplevel, r.calls, r.total_ms.to_bits(), r.share.to_bits(), r.lock_wait_ms.to_bits())
                        let:r
                    >
                        {
                            let link = href(&with(&row_params, |x| x.queryid = Some(r.queryid.clone())), &row_target);
                            let who = format!("{} · {}{}", r.database.clone().unwrap_or_default(), r.user.clone().unwrap_or_default(), if r.toplevel { "" } else { " · nested" });
                            let waiting = r.mostly_lock_wait();
                            view! {
                                <tr data-testid="statement" data-queryid=r.queryid.clone() data-own=r.own.to_string()>
                                    <td class="query">
                                        <a href=link class="query-text">
                                            {r.query.clone().unwrap_or_else(|| format!("queryid {} (text not read yet)", r.queryid))}
                                            // One text can run in several databases or as several users.
                                            <span class="visually-hidden">{format!(" — {who}")}</span>
                                        </a>
                                        <div class="muted small">
                                            {who}
                                            {r.own.then(|| view! { " " <span class="badge">"pgpanel"</span> })}
                                        </div>
                                        {waiting.map(|share| view! {
                                            <div class="small warn-text" data-testid="lock-wait-hint">
                                                {format!("{:.0} % of its time was waiting on locks, not executing: ", share * 100.0)}
                                                <a href=format!("/locks?target={}", encode(&row_target))>"see Locks"</a>
                                            </div>
                                        })}
                                    </td>
                                    <td class="num">
                                        <div class="bar"><span class=format!("fill w{}", (r.share * 20.0).round() as u32)></span></div>
                                        {format!("{:.1} %", r.share * 100.0)}
                                    </td>
                                    <td class="num">{ms(r.total_ms)}</td>
                                    <td class="num">{ms(r.mean_ms)}{r.stddev_ms.map(|s| view! { <div class="muted small">{format!("± {}", ms(s))}</div> })}</td>
                                    <td class="num">{short(r.calls as f64)}</td>
                                    <td class="num">{short(r.rows as f64)}</td>
                                    <td class="num">{r.hit_ratio.map_or("—".into(), |h| format!("{:.1}", h * 100.0))}</td>
                                    <td class="num">{short(r.shared_blks_hit as f64)}</td>
                                    <td class="num">{short(r.shared_blks_read as f64)}</td>
                                    <td class="num">{short(r.temp_blks as f64)}</td>
                                    <td class="num">{ms(r.io_read_ms + r.io_write_ms)}</td>
                                    <td class="num">{bytes(r.wal_bytes)}</td>
                                    <td class="num">{if r.lock_wait_ms > 0.0 { ms(r.lock_wait_ms) } else { "—".into() }}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            </div>
            {move || top.with(|t| t.rows.is_empty()).then(|| view! { <p class="muted empty">"No statement ran in this window (or pgpanel has not taken two samples yet)."</p> })}
        </div>
    }
}

/// Per-minute points over the whole window: a minute without calls is a zero call count and a
/// gap in the mean (no call, no time).
fn minutes(detail: &QueryDetail) -> (ChartWindow, Vec<Line>, Vec<Line>) {
    let to = detail.to_ms - detail.to_ms.rem_euclid(60_000) + 60_000;
    let from = to - detail.window.millis();
    let w = ChartWindow {
        from_ms: from,
        to_ms: to,
        gap_ms: 90_000,
    };
    let mut calls = Vec::new();
    let mut mean = Vec::new();
    let mut lock = Vec::new();
    let mut m = from;
    while m < to {
        let p = detail.points.iter().find(|p| p.minute_ms == m);
        calls.push((m, Some(p.map_or(0.0, |p| p.calls as f64))));
        mean.push((m, p.filter(|p| p.calls > 0).map(|p| p.mean_ms)));
        lock.push((m, Some(p.map_or(0.0, |p| p.lock_wait_ms / 1000.0))));
        m += 60_000;
    }
    (
        w,
        vec![
            Line {
                label: "calls per minute",
                points: calls,
            },
            Line {
                label: "lock wait, s per minute",
                points: lock,
            },
        ],
        vec![Line {
            label: "mean time",
            points: mean,
        }],
    )
}

#[component]
fn Detail(detail: QueryDetail, close: String, locks: String) -> impl IntoView {
    let (w, calls, mean) = minutes(&detail);
    let text = detail.query.clone().unwrap_or_default();
    let heading = detail
        .entries
        .first()
        .map_or_else(|| "Statement".to_owned(), StatementRow::title);
    let waiting = detail
        .entries
        .iter()
        .find_map(StatementRow::mostly_lock_wait);
    view! {
        <section class="card detail" data-testid="query-detail" data-queryid=detail.queryid.clone()>
            <div class="card-head">
                <h2 data-testid="query-detail-title">{heading}</h2>
                <a href=close class="muted">"close"</a>
            </div>
            <p class="muted small">{format!("queryid {} · last {}", detail.queryid, detail.window.as_str())}</p>
            {waiting.map(|share| view! {
                <p class="notice small" data-testid="lock-wait-hint">
                    {format!("{:.0} % of this statement's time in the window was spent waiting on locks (sampled), which pg_stat_statements counts as execution. ", share * 100.0)}
                    <a href=locks.clone()>"See who blocks on the Locks page."</a>
                </p>
            })}
            <pre class="sql" tabindex="0">{text.clone()}</pre>
            <CopyButton text=text/>
            <div class="chart-grid">
                <Chart title="Calls" key="query-calls" unit=Unit::Count lines=Signal::stored(calls) window=Signal::stored(w)/>
                <Chart title="Mean execution time" key="query-mean" unit=Unit::Millis lines=Signal::stored(mean) window=Signal::stored(w)/>
            </div>
            <div class="table-scroll" tabindex="0">
            <table class="data" data-testid="query-entries">
                <thead><tr>
                    <th>"Database"</th><th>"User"</th><th class="num">"Calls"</th><th class="num">"Total"</th>
                    <th class="num">"Mean"</th><th class="num">"Stddev"</th>
                    <th class="num" title="over the entry's life: pg_stat_statements keeps no window">"Min · max (all time)"</th>
                    <th class="num">"Planning"</th><th class="num">"Rows"</th><th class="num">"Hit %"</th>
                    <th class="num">"I/O read · write"</th><th class="num">"WAL"</th><th class="num">"Lock wait"</th>
                </tr></thead>
                <tbody>
                    {detail.entries.iter().map(|e| view! {
                        <tr>
                            <td>{e.database.clone()}</td>
                            <td>{e.user.clone()}{(!e.toplevel).then_some(" (nested)")}{e.own.then_some(" · pgpanel")}</td>
                            <td class="num">{short(e.calls as f64)}</td>
                            <td class="num">{ms(e.total_ms)}</td>
                            <td class="num">{ms(e.mean_ms)}</td>
                            <td class="num">{e.stddev_ms.map_or("—".into(), ms)}</td>
                            <td class="num">{match (e.min_ms, e.max_ms) { (Some(a), Some(b)) => format!("{} · {}", ms(a), ms(b)), _ => "—".into() }}</td>
                            <td class="num">{ms(e.plan_ms)}</td>
                            <td class="num">{short(e.rows as f64)}</td>
                            <td class="num">{e.hit_ratio.map_or("—".into(), |h| format!("{:.1}", h * 100.0))}</td>
                            <td class="num">{format!("{} · {}", ms(e.io_read_ms), ms(e.io_write_ms))}</td>
                            <td class="num">{bytes(e.wal_bytes)}</td>
                            <td class="num">{ms(e.lock_wait_ms)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            <p class="muted small">"Stddev, I/O time, WAL and lock wait are over the window; min and max over the entry's life (since pg_stat_statements created or reset it). Planning time needs pg_stat_statements.track_planning, I/O time track_io_timing."</p>
        </section>
    }
}
