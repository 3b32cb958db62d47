//! The Logs route: `?target=&since=&until=&severity=&kind=&user=&database=&application=&pid=&text=
//! &before=`. A target's server log as pgpanel has read it: how it is read (or exactly why not
//! and what to run), the older history and its backfill, entries per minute by kind, errors
//! grouped by pattern, and the entries newest first (`entries.rs`). The filter is a GET form, so
//! a filtered view is a link; "Follow" reads the newest page again every 5 s.

use leptos::prelude::*;

use super::api::{backfill_logs, list_logs};
use super::entries::Entries;
use super::model::{
    BackfillStatus, ErrorGroup, Kind, LogFilter, LogsPage, MinuteCount, SourceStatus,
};
use crate::components::error_view::ErrorView;
use crate::components::live::encode;
use crate::components::location::use_query;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::audit::model::opt;

/// Time presets: label and how far back (seconds).
const PRESETS: &[(&str, i64)] = &[("15 min", 900), ("1 hour", 3_600), ("1 day", 86_400)];

async fn load(f: LogFilter) -> Result<LogsPage, AppError> {
    list_logs(
        opt(&f.target),
        opt(&f.since),
        opt(&f.until),
        opt(&f.severity),
        opt(&f.kind),
        opt(&f.user),
        opt(&f.database),
        opt(&f.application),
        opt(&f.pid),
        opt(&f.text),
        opt(&f.before),
        None,
    )
    .await
}

#[component]
pub fn ServerLogPage() -> impl IntoView {
    let query = use_query();
    let filter = Memo::new(move |_| {
        query.with(|q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            LogFilter {
                target: get("target"),
                since: get("since"),
                until: get("until"),
                severity: get("severity"),
                kind: get("kind"),
                user: get("user"),
                database: get("database"),
                application: get("application"),
                pid: get("pid"),
                text: get("text"),
                before: get("before"),
            }
        })
    });
    // "Follow": the newest page is read again every 5 s (browser only).
    let follow = RwSignal::new(false);
    let tick = RwSignal::new(0_u32);
    let page = Resource::new(move || (filter.get(), tick.get()), |(f, _)| load(f));
    // One timer at a time, however often "Follow" is toggled.
    let pending = StoredValue::new(false);
    Effect::new(move |_| {
        if follow.get() && page.get().is_some() && !pending.get_value() {
            pending.set_value(true);
            set_timeout(
                move || {
                    pending.set_value(false);
                    if follow.get_untracked() {
                        tick.update(|n| *n += 1);
                    }
                },
                std::time::Duration::from_secs(5),
            );
        }
    });
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let f = LogFilter { target: p.target.clone(), ..filter.get_untracked() };
                        view! { <Body page=p filter=f follow=follow/> }.into_any()
                    }
                    Err(e) => {
                        set_response_status(&e);
                        view! { <PageHeader title="Logs">""</PageHeader><ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn Body(page: LogsPage, filter: LogFilter, follow: RwSignal<bool>) -> impl IntoView {
    let newest = filter.before.is_empty();
    let subtitle = format!("{} · read by pgpanel, newest first", page.target_name);
    view! {
        <PageHeader title="Server log">
            <span class="muted small">{subtitle}</span>
            {newest.then(|| view! {
                <label class="check small" title="Read the newest entries again every 5 seconds">
                    <input type="checkbox" data-testid="logs-follow" prop:checked=move || follow.get()
                        on:change=move |ev| follow.set(event_target_checked(&ev))/>
                    "Follow"
                </label>
            })}
        </PageHeader>
        <Source status=page.source.clone() target=page.target.clone()/>
        <Backfill status=page.source.clone() backfill=page.backfill.clone() target=page.target.clone() follow=follow/>
        <Filters filter=filter.clone()/>
        <Histogram minutes=page.histogram.clone()/>
        <Errors groups=page.errors.clone() filter=filter.clone()/>
        <Entries page=page filter=filter/>
    }
}

#[component]
fn Source(status: SourceStatus, target: String) -> impl IntoView {
    let how = match (status.mode.as_str(), status.format.as_deref()) {
        ("file", Some(f)) => format!("Read from files on this host ({f})"),
        ("sql", Some(f)) => format!("Read over SQL with pgpanel.read_log ({f})"),
        ("off", _) => "Not read (turned off)".to_owned(),
        _ => "Not read yet".to_owned(),
    };
    let files = status
        .files
        .iter()
        .rev()
        .take(3)
        .map(|f| format!("{} ({} of {} bytes read)", f.name, f.offset, f.size))
        .collect::<Vec<_>>()
        .join(" · ");
    let advice = status.advice.clone();
    let class = if status.reading {
        "card source ok"
    } else {
        "card source problem"
    };
    view! {
        <section class=class data-testid="logs-source" data-reading=status.reading.to_string()>
            <div class="small"><strong>{how}</strong>
                {status.polled_at.clone().map(|t| view! { <span class="muted">" · last read "{t}</span> })}
            </div>
            {status.problem.clone().map(|p| view! { <p class="bad-text" data-testid="logs-problem">{p}</p> })}
            {status.fix.clone().map(|f| view! {
                <p class="small" data-testid="logs-fix">{f}</p>
            })}
            {(!status.reading && status.mode == "sql").then(|| view! {
                <p class="small muted">"The script: "<code>{format!("pgpanel setup-sql --target {target}")}</code></p>
            })}
            {status.read_elsewhere.clone().map(|r| view! { <p class="small" data-testid="logs-read-elsewhere">{r}</p> })}
            {(!files.is_empty()).then(|| view! { <p class="small muted">"Files: "{files}</p> })}
            {(!advice.is_empty()).then(|| view! {
                <details data-testid="logs-advice">
                    <summary class="small">{format!("{} logging setting(s) leave parts of this page empty", advice.len())}</summary>
                    <ul class="small">{advice.into_iter().map(|a| view! { <li><code>{a}</code></li> }).collect_view()}</ul>
                </details>
            })}
        </section>
    }
}

#[component]
fn Filters(filter: LogFilter) -> impl IntoView {
    let severities = ["", "PANIC", "FATAL", "ERROR", "WARNING", "NOTICE", "LOG"]
        .into_iter()
        .map(|s| {
            let label = if s.is_empty() {
                "any".to_owned()
            } else {
                format!("{s} or worse")
            };
            view! { <option value=s selected=filter.severity == s>{label}</option> }
        })
        .collect_view();
    let kinds = Kind::ALL
        .iter()
        .map(|k| view! { <option value=k.name() selected=filter.kind == k.name()>{k.label()}</option> })
        .collect_view();
    let now = time::OffsetDateTime::now_utc();
    let presets = PRESETS
        .iter()
        .map(|(label, secs)| {
            let f = LogFilter {
                since: crate::components::format::rfc3339(now - time::Duration::seconds(*secs)),
                until: String::new(),
                before: String::new(),
                ..filter.clone()
            };
            view! { <a class="button small" href=format!("/logs?{}", f.query(None))>{*label}</a> }
        })
        .collect_view();
    view! {
        <form method="get" action="/logs" class="filters card" data-testid="logs-filters">
            <input type="hidden" name="target" value=filter.target.clone()/>
            <label>"Severity"<select name="severity" data-testid="filter-severity">{severities}</select></label>
            <label>"Kind"
                <select name="kind" data-testid="filter-kind">
                    <option value="" selected=filter.kind.is_empty()>"any"</option>
                    {kinds}
                </select>
            </label>
            <label>"User"<input type="search" name="user" value=filter.user.clone()/></label>
            <label>"Database"<input type="search" name="database" value=filter.database.clone()/></label>
            <label>"Application"<input type="search" name="application" value=filter.application.clone()/></label>
            <label>"pid"<input type="search" name="pid" inputmode="numeric" value=filter.pid.clone() size="7"/></label>
            <label class="grow">"Text"<input type="search" name="text" value=filter.text.clone() placeholder="in message, detail, statement" data-testid="filter-text"/></label>
            <label>"Since (UTC)"<input type="search" name="since" value=filter.since.clone() placeholder="2026-11-24T09:00:00Z"/></label>
            <label>"Until (UTC)"<input type="search" name="until" value=filter.until.clone() placeholder="2026-11-24T10:00:00Z"/></label>
            <div class="filter-buttons">
                <button type="submit" class="button primary small" data-testid="filter-apply">"Filter"</button>
                <a class="button small" href=format!("/logs?target={}", encode(&filter.target))>"Clear"</a>
            </div>
            <div class="presets"><span class="small muted">"Last: "</span>{presets}</div>
        </form>
    }
}

/// A colour class per kind for the histogram.
fn kind_class(k: Kind) -> &'static str {
    match k {
        Kind::Error | Kind::Server => "k-error",
        Kind::Warning => "k-warning",
        Kind::Lock => "k-lock",
        Kind::Slow | Kind::Statement | Kind::TempFile => "k-slow",
        Kind::Audit => "k-audit",
        Kind::Connection => "k-connection",
        _ => "k-other",
    }
}

#[component]
fn Histogram(minutes: Vec<MinuteCount>) -> impl IntoView {
    if minutes.is_empty() {
        return view! { <section class="card"><p class="small muted" data-testid="logs-histogram-empty">"No entries in the last 6 hours of this window."</p></section> }.into_any();
    }
    // At least an hour on the axis, so a few minutes read as thin bars in time.
    let last = minutes.iter().map(|m| m.minute_ms).max().unwrap_or(0);
    let first = minutes
        .iter()
        .map(|m| m.minute_ms)
        .min()
        .unwrap_or(0)
        .min(last - 59 * 60_000);
    let span = (last - first) / 60_000 + 1;
    let mut per_minute: std::collections::BTreeMap<i64, Vec<&MinuteCount>> = Default::default();
    for m in &minutes {
        per_minute.entry(m.minute_ms).or_default().push(m);
    }
    let peak = per_minute
        .values()
        .map(|v| v.iter().map(|m| m.count).sum::<i64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h) = (720.0_f64, 80.0_f64);
    let bar = (w / span as f64).max(1.0);
    let mut totals: std::collections::BTreeMap<&'static str, (i64, i64)> = Default::default();
    let rects = per_minute
        .iter()
        .flat_map(|(minute, kinds)| {
            let x = (minute - first) as f64 / 60_000.0 * bar;
            let mut y = h;
            kinds
                .iter()
                .map(|m| {
                    let t = totals.entry(m.kind.label()).or_default();
                    t.0 += m.count;
                    t.1 += m.summarised;
                    let height = m.count as f64 / peak as f64 * h;
                    y -= height;
                    let title = format!("{} · {}: {}", crate::components::format::clock_ms(*minute), m.kind.label(), m.count);
                    view! { <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", (bar - 0.5).max(0.8)) height=format!("{height:.1}") class=kind_class(m.kind)><title>{title}</title></rect> }
                })
                .collect::<Vec<_>>()
        })
        .collect_view();
    let summary = totals
        .iter()
        .map(|(k, (n, s))| {
            if *s > 0 {
                format!("{k} {n} ({s} only counted)")
            } else {
                format!("{k} {n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let summarised: i64 = totals.values().map(|t| t.1).sum();
    let legend = Kind::ALL
        .iter()
        .filter_map(|k| totals.get(k.label()).map(|(n, _)| (*k, *n)))
        .map(|(k, n)| view! { <span class="legend-item"><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" class=kind_class(k)/></svg>{format!(" {} {n}", k.label())}</span> })
        .collect_view();
    view! {
        <section class="card" data-testid="logs-histogram">
            <h2 class="small">"Entries per minute by kind"<span class="muted">" · every entry of this target, stored or only counted"</span></h2>
            <svg viewBox=format!("0 0 {w} {h}") class="histogram" role="img" aria-label=format!("Entries per minute: {summary}")>
                {rects}
            </svg>
            <p class="small muted histogram-legend">{format!("{} to {} UTC: ", crate::components::format::clock_ms(first), crate::components::format::clock_ms(last + 60_000))}{legend}</p>
            {(summarised > 0).then(|| view! {
                <p class="small" data-testid="logs-summarised">{format!("{summarised} entries were counted but not stored one by one (statements under the slow threshold, or over the per-minute limit).")}</p>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn Errors(groups: Vec<ErrorGroup>, filter: LogFilter) -> impl IntoView {
    if groups.is_empty() {
        return ().into_any();
    }
    let rows = groups
        .into_iter()
        .map(|g| {
            // The words before the first replaced part find the group's entries.
            let words: String = g.pattern.split(['"', '\'', '…']).next().unwrap_or("").split(" N").next().unwrap_or("").trim().chars().take(60).collect();
            let f = LogFilter { text: words, severity: "ERROR".into(), before: String::new(), ..filter.clone() };
            view! {
                <tr data-testid="logs-error-group">
                    <td class="num">{g.count}</td>
                    <td class="pattern"><a href=format!("/logs?{}", f.query(None))><span class="query-text">{g.pattern.clone()}</span></a></td>
                    <td><code>{g.sqlstate.clone().unwrap_or_default()}</code></td>
                    <td class="nowrap small">{g.last.replace('T', " ").replace('Z', " UTC")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card table-card" tabindex="0">
            <details open=true>
                <summary class="pad"><strong>"Errors by pattern"</strong><span class="small muted">" (last hour of this window)"</span></summary>
                <div class="table-scroll" tabindex="0">
                    <table class="data" data-testid="logs-errors">
                        <thead><tr><th>"Count"</th><th>"Message pattern"</th><th>"SQLSTATE"</th><th>"Last"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </section>
    }
    .into_any()
}

/// The older history: how much of the log was there before pgpanel began following it, the
/// latest backfill's progress, and (dba) the button that starts one.
#[component]
fn Backfill(
    status: SourceStatus,
    backfill: Option<BackfillStatus>,
    target: String,
    follow: RwSignal<bool>,
) -> impl IntoView {
    use crate::features::auth::me::signed_in_role;
    use crate::features::auth::model::Role;
    let unread: i64 = status.files.iter().map(|f| f.unread).sum();
    if unread == 0 && backfill.is_none() {
        return ().into_any();
    }
    let can_act = move || signed_in_role().is_some_and(|r| r >= Role::Dba);
    let hours = RwSignal::new("24".to_owned());
    let started = RwSignal::new(None::<Result<BackfillStatus, AppError>>);
    let start = move |_| {
        let (t, h) = (target.clone(), hours.get_untracked());
        leptos::task::spawn_local(async move {
            let r = backfill_logs(t, Some(h)).await;
            if r.is_ok() {
                follow.set(true);
            }
            started.set(Some(r));
        });
    };
    // "2026-12-05 19:16:27 UTC" (as sent when it does not parse).
    let when = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_or_else(|_| t.to_owned(), crate::components::format::utc)
    };
    let progress = move |b: &BackfillStatus| {
        let state = match (b.running, &b.finished_at) {
            (true, _) => "running".to_owned(),
            (false, Some(at)) => format!("finished {}", when(at)),
            (false, None) => "interrupted".to_owned(),
        };
        format!(
            "Backfill by {} ({state}): files modified since {}, {} of {} read, {} entries stored{}",
            b.by,
            when(&b.since),
            crate::components::format::bytes(b.bytes_done),
            crate::components::format::bytes(b.bytes_total),
            b.entries,
            b.error
                .as_ref()
                .map(|e| format!(" · stopped: {e}"))
                .unwrap_or_default()
        )
    };
    let latest = backfill.map(|b| {
        let notes = b.notes.clone();
        view! {
            <p class="small" data-testid="logs-backfill-status" data-running=b.running.to_string()>{progress(&b)}</p>
            {(!notes.is_empty()).then(|| view! { <ul class="small muted">{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul> })}
        }
    });
    view! {
        <section class="card source" data-testid="logs-backfill">
            {(unread > 0).then(|| view! {
                <p class="small">{format!(
                    "{} of the log files were there before pgpanel began following this target and have not been read.",
                    crate::components::format::bytes(unread)
                )}</p>
            })}
            {latest}
            {move || (can_act() && unread > 0).then(|| view! {
                <div class="filter-buttons">
                    <label class="small">"Read the files modified in the last "
                        <select prop:value=move || hours.get() on:change=move |ev| hours.set(event_target_value(&ev)) data-testid="logs-backfill-hours">
                            <option value="1">"1 hour"</option>
                            <option value="24" selected=true>"24 hours"</option>
                            <option value="168">"7 days"</option>
                        </select>
                    </label>
                    <button type="button" class="button small" on:click=start.clone() data-testid="logs-backfill-start">"Read older history"</button>
                </div>
            })}
            {move || started.get().map(|r| match r {
                Ok(_) => view! { <p class="small ok-text">"Started: the progress shows here as the page follows the log."</p> }.into_any(),
                Err(e) => view! { <ErrorView error=e/> }.into_any(),
            })}
        </section>
    }
    .into_any()
}
