//! The Activity route: every session of the target, live. The first render comes from the hub on
//! the server; then the `/live` activity stream updates the rows every second, IN PLACE (rows are
//! keyed by pid and backend_start, cells follow their session's signal), so a selection survives
//! and text can be copied; Pause freezes the list. Filters and sorting run in the browser on the
//! rows it has; "full text" asks the API for one session. Two clocks per session, labelled: in
//! its state since `state_change`, and its transaction open since `xact_start`.

use leptos::prelude::*;

use super::api::list_sessions;
use super::filter::SessionFilter;
use super::table::{Key, Rows, SessionLine, key};
use crate::components::error_view::ErrorView;
use crate::components::format::clock_ms;
use crate::components::live::{StreamBadge, subscribe};
use crate::components::location::use_query;
use crate::components::page_data::page_data;
use crate::components::page_header::PageHeader;
use crate::components::selection::selection_inside;
use crate::error::{AppError, set_response_status};
use crate::features::activity::model::{STREAM_QUERY_CHARS, SessionRow};
use crate::features::auth::me::{ReadOnlyNote, signed_in_role};
use crate::features::auth::model::Role;
use crate::features::live::model::ActivityFrame;
use crate::features::sessions::bulk_view::IdleBulk;
use crate::features::sessions::buttons::SessionActions;
use crate::features::sessions::multi::MultiActions;
use crate::features::targets::api::pick_target;
use crate::features::targets::model::TargetOverview;

async fn load(
    target: Option<String>,
) -> Result<Option<(TargetOverview, Vec<SessionRow>)>, AppError> {
    let Some(t) = pick_target(target).await? else {
        return Ok(None);
    };
    let rows = match list_sessions(t.id.clone(), None, None, None, None, None, None, None).await {
        // Query texts cut as the stream cuts them (a row's "full text" reads the rest): the page
        // carries every session, and the next frame would cut them anyway.
        Ok(rows) => rows
            .iter()
            .map(|r| r.truncated(STREAM_QUERY_CHARS))
            .collect(),
        // Not sampled yet (just started, or the target is down): an empty table that fills in.
        Err(AppError::TargetUnavailable { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(Some((t, rows)))
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query();
    let target = Memo::new(move |_| query.with(|q| q.get("target")));
    let data = page_data(move || target.get(), load);
    view! {
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
    InState,
    XactAge,
}

/// Sessions listed until "Show all": at CPU ×4 on the throttled link each row costs about 5 ms of
/// hydration (`pgpanel bench`: 300 rows took Activity from 1.7 s to 3.4 s before it worked).
const FIRST_SESSIONS: usize = 50;

fn sort_rows(rows: &mut [&SessionRow], by: SortBy, desc: bool) {
    rows.sort_by(|a, b| {
        let o = match by {
            SortBy::Pid => a.pid.cmp(&b.pid),
            SortBy::Database => a.datname.cmp(&b.datname),
            SortBy::User => a.usename.cmp(&b.usename),
            SortBy::Application => a.application_name.cmp(&b.application_name),
            SortBy::State => a.state.cmp(&b.state),
            SortBy::InState => a.state_age_ms.cmp(&b.state_age_ms),
            SortBy::XactAge => a.xact_age_ms.cmp(&b.xact_age_ms),
        };
        let o = if desc { o.reverse() } else { o };
        o.then(a.pid.cmp(&b.pid))
    });
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
    let table = Rows::new(rows);
    let rows = table.list;
    let error = RwSignal::new(None::<String>);
    // Pause: frames keep arriving and the newest is kept; the table shows the moment paused.
    let paused = RwSignal::new(None::<i64>);
    let waiting = StoredValue::new(None::<ActivityFrame>);
    let missed = RwSignal::new(0_u32);
    // When the rows shown were sampled.
    let shown_at = StoredValue::new(
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
    );
    let apply = move |frame: ActivityFrame| {
        shown_at.set_value(frame.at_ms);
        error.set(frame.error.clone());
        if frame.error.is_none() || !frame.sessions.is_empty() {
            table.apply(frame.sessions);
        }
    };
    Effect::new(move |_| {
        subscribe(&["activity"], move |_, json| {
            if let Ok(frame) = serde_json::from_str::<ActivityFrame>(&json) {
                if paused.get_untracked().is_some() {
                    waiting.set_value(Some(frame));
                    missed.update(|n| *n += 1);
                } else {
                    apply(frame);
                }
            }
        });
    });
    let pause = move |_| {
        paused.set(Some(shown_at.get_value()));
        missed.set(0);
    };
    let resume = move |_| {
        paused.set(None);
        missed.set(0);
        let mut frame = None;
        waiting.update_value(|w| frame = w.take());
        if let Some(frame) = frame {
            apply(frame);
        }
    };
    // `?pid=` (a link from a log entry): that session is searched for.
    let linked_pid = use_query()
        .with_untracked(|q| q.get("pid"))
        .filter(|p| p.parse::<i32>().is_ok());
    let filter = RwSignal::new(SessionFilter {
        clients_only: true,
        q: linked_pid.clone(),
        ..SessionFilter::default()
    });
    let sort = RwSignal::new((SortBy::InState, true));
    // While text is selected in the table the rows keep their places (new sessions come last,
    // ended ones go): moving a row would drop the selection. Cells still update.
    let holding = selection_inside("sessions");
    let shown = Memo::new(move |prev: Option<&Vec<Key>>| {
        let f = filter.get();
        let (by, desc) = sort.get();
        let fresh: Vec<Key> = rows.with(|r| {
            let mut v: Vec<&SessionRow> = r.iter().filter(|s| f.matches(s)).collect();
            sort_rows(&mut v, by, desc);
            v.into_iter().map(key).collect()
        });
        match prev {
            Some(prev) if holding.get() => {
                let mut kept: Vec<Key> =
                    prev.iter().filter(|k| fresh.contains(k)).copied().collect();
                kept.extend(fresh.into_iter().filter(|k| !prev.contains(k)));
                kept
            }
            _ => fresh,
        }
    });
    // The first FIRST_SESSIONS of the matching rows until "Show all": the sort puts the longest
    // running first, and fewer rows to hydrate is what makes the page usable sooner.
    let all = RwSignal::new(false);
    let listed = Memo::new(move |_| {
        let mut v = shown.get();
        if !all.get() {
            v.truncate(FIRST_SESSIONS);
        }
        v
    });
    let hidden = Memo::new(move |_| rows.with(|r| r.iter().filter(|s| !s.visible).count()));
    let background = Memo::new(move |_| {
        if filter.with(|f| f.clients_only) {
            rows.with(|r| r.iter().filter(|s| !s.is_client()).count())
        } else {
            0
        }
    });
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
    // A sortable header holds a button, so the keyboard sorts as a click does; aria-sort on the
    // header says the order to a screen reader. On a phone these headers are the "Sort by" strip
    // above the cards.
    let header = move |label: &'static str, title: &'static str, by: SortBy| {
        view! {
            <th
                class="sortable"
                title=title
                aria-sort=move || match sort.get() {
                    (b, true) if b == by => "descending",
                    (b, false) if b == by => "ascending",
                    _ => "none",
                }
            >
                <button type="button" class="sort" on:click=move |_| sort.update(|(b, d)| {
                    if *b == by { *d = !*d } else { *b = by; *d = true }
                })>
                    {label}
                </button>
            </th>
        }
    };
    let target_id = StoredValue::new(target.id.clone());
    let role = move || signed_in_role();
    let can_act = move || role().is_some_and(|r| r >= Role::Dba);
    // The session a DBA picked to act on (a snapshot: the confirmation survives new frames).
    let picked = RwSignal::new(None::<i32>);
    let picked_row = Memo::new(move |_| {
        let pid = picked.get()?;
        rows.with_untracked(|r| r.iter().find(|s| s.pid == pid).cloned())
    });
    // Sessions ticked for a multi-session action (snapshots, like the picked one).
    let selected = RwSignal::new(Vec::<SessionRow>::new());
    let availability = target.actions.clone();
    let bulk_availability = availability.clone();
    let multi_availability = availability.clone();
    view! {
        <PageHeader title=format!("Activity · {}", target.name)>
            <span class="muted" data-testid="session-count">
                {move || {
                    let bg = background.get();
                    let mut s = format!("{} of {} sessions", shown.with(Vec::len), rows.with(Vec::len));
                    if bg > 0 {
                        s.push_str(&format!(" ({bg} background process{} hidden)", if bg == 1 { "" } else { "es" }));
                    }
                    s
                }}
            </span>
            {move || match paused.get() {
                None => view! { <button type="button" class="button small" data-testid="pause" on:click=pause title="Freeze the list to read or copy from it">"Pause"</button> }.into_any(),
                Some(_) => view! { <button type="button" class="button small primary" data-testid="resume" on:click=resume>"Resume"</button> }.into_any(),
            }}
            <StreamBadge/>
        </PageHeader>
        <ReadOnlyNote/>
        {move || paused.get().map(|at| view! {
            <p class="notice paused" data-testid="paused-banner" role="status">
                {format!(
                    "Paused at {} UTC: the list is frozen and its ages stopped; {} newer sample{} waiting. ",
                    clock_ms(at),
                    missed.get(),
                    if missed.get() == 1 { "" } else { "s" },
                )}
                <button type="button" class="link" on:click=resume>"Resume"</button>
                " catches up."
            </p>
        })}
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
            <label title="Active sessions: how long their query runs. Idle in transaction: how long their transaction has been open.">
                "Running at least"
                <input type="number" min="0" step="1" placeholder="seconds" data-filter="min_duration" on:input=set(|f, v| {
                    f.min_duration_ms = v.trim().parse::<f64>().ok().filter(|s| *s > 0.0).map(|s| (s * 1000.0) as i64);
                })/>
            </label>
            <label class="grow">
                "Search"
                <input type="search" placeholder="query, user, application, pid" data-filter="q" value=linked_pid.clone().unwrap_or_default() on:input=set(|f, v| f.q = Some(v))/>
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
        {move || can_act().then(|| view! { <MultiActions target=target_id.get_value() selected=selected availability=multi_availability.clone()/> })}
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
        <div class="card table-card" tabindex="0">
            <table class="data sessions cards" data-testid="sessions">
                <thead>
                    <tr>
                        {move || can_act().then(|| view! { <th><span class="visually-hidden">"Select"</span></th> })}
                        {header("pid", "process id", SortBy::Pid)}
                        {header("Database", "", SortBy::Database)}
                        {header("User", "", SortBy::User)}
                        {header("Application", "", SortBy::Application)}
                        <th>"Client"</th>
                        {header("State", "", SortBy::State)}
                        <th>"Wait"</th>
                        {header("In state", "Since state_change: how long the session has been in its state (running its query, or idle)", SortBy::InState)}
                        {header("Transaction", "Since xact_start: how long its transaction has been open (what holds locks and the xmin horizon)", SortBy::XactAge)}
                        <th>"Query"</th>
                        {move || can_act().then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    <For each=move || listed.get() key=|k| *k let:k>
                        {table.cell(&k).map(|row| view! {
                            <SessionLine row=row target=target_id.get_value() act=can_act().then_some((picked, selected))/>
                        })}
                    </For>
                </tbody>
            </table>
            {move || shown.with(Vec::is_empty).then(|| view! { <p class="muted empty">"No session matches."</p> })}
            {move || {
                let matching = shown.with(Vec::len);
                (!all.get() && matching > FIRST_SESSIONS).then(|| view! {
                    <p class="small table-more" data-testid="sessions-partial">
                        {format!("Showing the first {FIRST_SESSIONS} of {matching} matching sessions in this order. ")}
                        <button type="button" class="link" data-testid="show-all-sessions" on:click=move |_| all.set(true)>
                            {format!("Show all {matching}")}
                        </button>
                    </p>
                })
            }}
        </div>
    }
}
