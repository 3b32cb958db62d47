//! The Activity route: every session of the target, live. The first render comes from the hub on
//! the server; then the `/live` activity stream replaces the rows every second. Filters and
//! sorting run in the browser on the rows it has; "full text" asks the API for one session.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{list_sessions, whole_query};
use super::filter::{SessionFilter, duration_ms};
use crate::components::error_view::ErrorView;
use crate::components::format;
use crate::components::layout::PageHeader;
use crate::components::live::{StreamState, subscribe};
use crate::error::{AppError, set_response_status};
use crate::features::actions::bulk_view::IdleBulk;
use crate::features::actions::buttons::SessionActions;
use crate::features::auth::model::Role;
use crate::features::auth::page::current_user;
use crate::features::live::model::{ActivityFrame, SessionRow};
use crate::features::targets::api::pick_target;
use crate::features::targets::model::TargetOverview;

/// Active for longer than this: highlighted as long-running.
const LONG_QUERY_MS: i64 = 60_000;

async fn load(
    target: Option<String>,
) -> Result<Option<(TargetOverview, Vec<SessionRow>)>, AppError> {
    let Some(t) = pick_target(target).await? else {
        return Ok(None);
    };
    let rows = match list_sessions(t.id.clone(), None, None, None, None, None, None, None).await {
        Ok(rows) => rows,
        // Not sampled yet (just started, or the target is down): an empty table that fills in.
        Err(AppError::TargetUnavailable { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Some((t, rows)))
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let target = Memo::new(move |_| query.with(|q| q.get("target")));
    let data = Resource::new(move || target.get(), load);
    view! {
        <Title text="Activity · pgpanel"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some((t, rows))) => view! { <ActivityBody target=t rows=rows/> }.into_any(),
                    Ok(None) => view! { <PageHeader title="Activity">""</PageHeader><p class="card empty">"No targets configured."</p> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <PageHeader title="Activity">""</PageHeader><ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortBy {
    Pid,
    Database,
    User,
    Application,
    State,
    XactAge,
    QueryAge,
}

fn sort_rows(rows: &mut [SessionRow], by: SortBy, desc: bool) {
    rows.sort_by(|a, b| {
        let o = match by {
            SortBy::Pid => a.pid.cmp(&b.pid),
            SortBy::Database => a.datname.cmp(&b.datname),
            SortBy::User => a.usename.cmp(&b.usename),
            SortBy::Application => a.application_name.cmp(&b.application_name),
            SortBy::State => a.state.cmp(&b.state),
            SortBy::XactAge => a.xact_age_ms.cmp(&b.xact_age_ms),
            SortBy::QueryAge => duration_ms(a).cmp(&duration_ms(b)),
        };
        if desc { o.reverse() } else { o }
    });
}

fn age(ms: Option<i64>) -> String {
    format::age(ms, "")
}

fn options(rows: &[SessionRow], f: impl Fn(&SessionRow) -> Option<String>) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .filter_map(f)
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[component]
fn ActivityBody(target: TargetOverview, rows: Vec<SessionRow>) -> impl IntoView {
    let rows = RwSignal::new(rows);
    let stream = RwSignal::new(StreamState::Connecting);
    let error = RwSignal::new(None::<String>);
    let id = target.id.clone();
    Effect::new(move |_| {
        subscribe(&id, &["activity"], stream, move |_, json| {
            if let Ok(frame) = serde_json::from_str::<ActivityFrame>(&json) {
                error.set(frame.error.clone());
                if frame.error.is_none() || !frame.sessions.is_empty() {
                    rows.set(frame.sessions);
                }
            }
        });
    });
    let filter = RwSignal::new(SessionFilter {
        clients_only: true,
        ..SessionFilter::default()
    });
    let sort = RwSignal::new((SortBy::QueryAge, true));
    let shown = Memo::new(move |_| {
        let f = filter.get();
        let (by, desc) = sort.get();
        let mut v: Vec<SessionRow> =
            rows.with(|r| r.iter().filter(|s| f.matches(s)).cloned().collect());
        sort_rows(&mut v, by, desc);
        v
    });
    let hidden = Memo::new(move |_| rows.with(|r| r.iter().filter(|s| !s.visible).count()));
    let grant = target
        .capabilities
        .iter()
        .find(|c| c.key == "pg_monitor" && !c.available)
        .and_then(|c| c.sql.clone())
        .unwrap_or_else(|| "GRANT pg_monitor TO <monitor login>;".into());
    let set = move |apply: fn(&mut SessionFilter, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            filter.update(|f| apply(f, v));
        }
    };
    let select = move |label: &'static str,
                       key: &'static str,
                       opts: Memo<Vec<String>>,
                       apply: fn(&mut SessionFilter, String)| {
        view! {
            <label>
                {label}
                <select data-filter=key on:change=set(apply)>
                    <option value="">"all"</option>
                    {move || opts.get().into_iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                </select>
            </label>
        }
    };
    let dbs = Memo::new(move |_| rows.with(|r| options(r, |s| s.datname.clone())));
    let users = Memo::new(move |_| rows.with(|r| options(r, |s| s.usename.clone())));
    let apps = Memo::new(move |_| rows.with(|r| options(r, |s| Some(s.application_name.clone()))));
    let states = Memo::new(move |_| {
        let mut v = rows.with(|r| options(r, |s| s.state.clone()));
        v.push("waiting".into());
        v
    });
    let header = move |label: &'static str, by: SortBy| {
        view! {
            <th
                class="sortable"
                aria-sort=move || match sort.get() {
                    (b, true) if b == by => "descending",
                    (b, false) if b == by => "ascending",
                    _ => "none",
                }
                on:click=move |_| sort.update(|(b, d)| {
                    if *b == by { *d = !*d } else { *b = by; *d = true }
                })
            >
                {label}
            </th>
        }
    };
    let target_id = StoredValue::new(target.id.clone());
    let can_act = move || {
        current_user()
            .and_then(|u| u.0.get())
            .and_then(Result::ok)
            .is_some_and(|me| me.role >= Role::Dba)
    };
    // The session a DBA picked to act on (a snapshot: the confirmation survives new frames).
    let picked = RwSignal::new(None::<i32>);
    let picked_row = Memo::new(move |_| {
        let pid = picked.get()?;
        rows.with_untracked(|r| r.iter().find(|s| s.pid == pid).cloned())
    });
    let availability = target.actions.clone();
    let bulk_availability = availability.clone();
    view! {
        <PageHeader title=format!("Activity · {}", target.name)>
            <span class="muted" data-testid="session-count">
                {move || format!("{} of {} sessions", shown.with(Vec::len), rows.with(Vec::len))}
            </span>
            <span class=move || format!("stream stream-{}", match stream.get() { StreamState::Open => "open", StreamState::Lost => "lost", StreamState::Connecting => "connecting" })>
                {move || match stream.get() { StreamState::Open => "live", StreamState::Lost => "stream lost, retrying", StreamState::Connecting => "connecting…" }}
            </span>
        </PageHeader>
        {move || error.get().map(|e| view! { <p class="notice" data-testid="activity-error">{format!("No fresh sample: {e}")}</p> })}
        {move || (hidden.get() > 0).then(|| view! {
            <p class="notice" data-testid="hidden-sessions">
                {format!("{} sessions belong to other roles and their details are hidden from the monitor login. Run: ", hidden.get())}
                <code>{grant.clone()}</code>
            </p>
        })}
        <div class="filters card" data-testid="filters">
            {select("Database", "database", dbs, |f, v| f.database = Some(v))}
            {select("User", "user", users, |f, v| f.user = Some(v))}
            {select("State", "state", states, |f, v| f.state = Some(v))}
            {select("Application", "application", apps, |f, v| f.application = Some(v))}
            <label>
                "Running at least (s)"
                <input type="number" min="0" step="1" data-filter="min_duration" on:input=set(|f, v| {
                    f.min_duration_ms = v.trim().parse::<f64>().ok().filter(|s| *s > 0.0).map(|s| (s * 1000.0) as i64);
                })/>
            </label>
            <label class="grow">
                "Search"
                <input type="search" placeholder="query, user, application, pid" data-filter="q" on:input=set(|f, v| f.q = Some(v))/>
            </label>
            <label class="check">
                <input type="checkbox" data-filter="background" on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    filter.update(|f| f.clients_only = !on);
                }/>
                "Background processes"
            </label>
        </div>
        {move || can_act().then(|| view! { <IdleBulk target=target_id.get_value() rows=rows availability=bulk_availability.clone()/> })}
        {move || picked_row.get().map(|row| view! {
            <div class="card act-card" data-testid="picked-session">
                <div class="act-head">
                    <h2>{format!("Session pid {}", row.pid)}</h2>
                    <button type="button" class="button small" on:click=move |_| picked.set(None)>"Close"</button>
                </div>
                <p class="small"><code class="query-text">{row.query.clone()}</code></p>
                <SessionActions target=target_id.get_value() session=row availability=availability.clone()/>
            </div>
        })}
        <div class="card table-card">
            <table class="data sessions" data-testid="sessions">
                <thead>
                    <tr>
                        {header("pid", SortBy::Pid)}
                        {header("Database", SortBy::Database)}
                        {header("User", SortBy::User)}
                        {header("Application", SortBy::Application)}
                        <th>"Client"</th>
                        {header("State", SortBy::State)}
                        <th>"Wait"</th>
                        {header("Transaction", SortBy::XactAge)}
                        {header("Running", SortBy::QueryAge)}
                        <th>"Query"</th>
                        {move || can_act().then(|| view! { <th></th> })}
                    </tr>
                </thead>
                <tbody>
                    <For each=move || shown.get() key=|s| (s.pid, s.backend_start, s.state.clone(), s.query.clone(), s.query_age_ms, s.xact_age_ms) let:s>
                        <SessionLine s=s target=target_id.get_value() act=can_act().then_some(picked)/>
                    </For>
                </tbody>
            </table>
            {move || shown.with(Vec::is_empty).then(|| view! { <p class="muted empty">"No session matches."</p> })}
        </div>
    }
}

/// One session; `act` set for DBAs: an "Act…" button that picks a client session for the
/// actions card.
#[component]
fn SessionLine(s: SessionRow, target: String, act: Option<RwSignal<Option<i32>>>) -> impl IntoView {
    let actionable = s.is_client() && !s.pgpanel;
    let long = s.state.as_deref() == Some("active")
        && s.query_age_ms.is_some_and(|ms| ms >= LONG_QUERY_MS);
    let class = if s.idle_in_transaction() {
        "row-idle-tx"
    } else if s.waits_on_lock() {
        "row-waiting"
    } else if long {
        "row-long"
    } else {
        ""
    };
    let full = RwSignal::new(None::<Result<String, String>>);
    let pid = s.pid;
    let truncated = s.query_truncated;
    let show_full = move |_| {
        let target = target.clone();
        leptos::task::spawn_local(async move {
            full.set(Some(whole_query(target, pid).await));
        });
    };
    // An idle session always "waits" for its client: not worth a word.
    let wait = match (&s.wait_event_type, &s.wait_event) {
        _ if s.state.as_deref() == Some("idle") => String::new(),
        (Some(t), Some(e)) => format!("{t}: {e}"),
        _ => String::new(),
    };
    let client = match (&s.client_addr, s.client_port) {
        (Some(a), Some(p)) if p > 0 => format!("{a}:{p}"),
        (Some(a), _) => a.clone(),
        _ if s.is_client() => "local socket".into(),
        _ => String::new(),
    };
    let state = s.state.clone().unwrap_or_else(|| {
        if s.is_client() {
            "—".into()
        } else {
            s.backend_type.clone()
        }
    });
    view! {
        <tr class=class data-testid="session" data-pid=s.pid data-pgpanel=s.pgpanel.to_string()>
            <td class="mono">{s.pid}</td>
            <td>{s.datname.clone()}</td>
            <td>{s.usename.clone()}</td>
            <td>
                {s.application_name.clone()}
                {s.pgpanel.then(|| view! { " " <span class="badge" title="pgpanel's own monitoring session">"pgpanel"</span> })}
            </td>
            <td class="mono small">{client}</td>
            <td>{state}{(!s.is_client()).then(|| view! { <div class="muted small">{s.backend_type.clone()}</div> })}</td>
            <td class="small">{wait}</td>
            <td class="num">{age(s.xact_age_ms)}</td>
            <td class="num">{age(duration_ms(&s))}</td>
            <td class="query">
                {move || match full.get() {
                    Some(Ok(text)) => view! { <pre class="sql" data-testid="full-query">{text}</pre> }.into_any(),
                    Some(Err(e)) => view! { <span class="muted">{e}</span> }.into_any(),
                    None => view! {
                        <code class="query-text">{s.query.clone()}</code>
                        {truncated.then(|| view! { " " <button type="button" class="link" on:click=show_full.clone()>"full text"</button> })}
                    }.into_any(),
                }}
            </td>
            {act.map(|picked| {
                view! {
                    <td>
                        {actionable.then(|| view! {
                            <button type="button" class="button small" data-testid="act-on-session" on:click=move |_| picked.set(Some(pid))>"Act…"</button>
                        })}
                    </td>
                }
            })}
        </tr>
    }
}
