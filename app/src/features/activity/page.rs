//! The Activity route: every session of the target, live. The first render comes from the hub on
//! the server; then the `/live` activity stream updates the rows every second, IN PLACE (rows are
//! keyed by pid and backend_start, cells follow their session's signal), so a selection survives
//! and text can be copied; Pause freezes the list. Filters and sorting run in the browser on the
//! rows it has; "full text" asks the API for one session. Two clocks per session, labelled: in
//! its state since `state_change`, and its transaction open since `xact_start`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use std::collections::HashMap;

use super::api::{list_sessions, whole_query};
use super::filter::SessionFilter;
use crate::components::copy_button::{CopyButton, write_clipboard};
use crate::components::error_view::ErrorView;
use crate::components::format;
use crate::components::layout::PageHeader;
use crate::components::live::{StreamBadge, subscribe};
use crate::error::{AppError, set_response_status};
use crate::features::actions::bulk_view::IdleBulk;
use crate::features::actions::buttons::SessionActions;
use crate::features::actions::multi::MultiActions;
use crate::features::auth::model::Role;
use crate::features::auth::page::{ReadOnlyNote, current_user};
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
    InState,
    XactAge,
}

fn sort_rows(rows: &mut [SessionRow], by: SortBy, desc: bool) {
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

/// A session's identity: a pid is reused, (pid, backend_start) is not.
type Key = (i32, Option<time::OffsetDateTime>);

fn key(s: &SessionRow) -> Key {
    (s.pid, s.backend_start)
}

/// The table's rows: one signal per session, updated in place when a frame changes it, so a
/// row's cells (and a selection in them) stay put while the ages tick.
#[derive(Clone, Copy)]
struct Rows {
    list: RwSignal<Vec<SessionRow>>,
    cells: StoredValue<HashMap<Key, ArcRwSignal<SessionRow>>>,
}

impl Rows {
    fn new(rows: Vec<SessionRow>) -> Self {
        let this = Self {
            list: RwSignal::new(Vec::new()),
            cells: StoredValue::new(HashMap::new()),
        };
        this.apply(rows);
        this
    }

    fn apply(&self, rows: Vec<SessionRow>) {
        self.cells.update_value(|cells| {
            cells.retain(|k, _| rows.iter().any(|r| key(r) == *k));
            for r in &rows {
                match cells.get(&key(r)) {
                    Some(cell) => {
                        if cell.with_untracked(|c| c != r) {
                            cell.set(r.clone());
                        }
                    }
                    None => {
                        cells.insert(key(r), ArcRwSignal::new(r.clone()));
                    }
                }
            }
        });
        self.list.set(rows);
    }

    fn cell(&self, k: &Key) -> Option<ArcRwSignal<SessionRow>> {
        self.cells.with_value(|c| c.get(k).cloned())
    }
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
    let filter = RwSignal::new(SessionFilter {
        clients_only: true,
        ..SessionFilter::default()
    });
    let sort = RwSignal::new((SortBy::InState, true));
    // While text is selected in the table the rows keep their places (new sessions come last,
    // ended ones go): moving a row would drop the selection. Cells still update.
    let holding = selection_inside("sessions");
    let shown = Memo::new(move |prev: Option<&Vec<Key>>| {
        let f = filter.get();
        let (by, desc) = sort.get();
        let mut v: Vec<SessionRow> =
            rows.with(|r| r.iter().filter(|s| f.matches(s)).cloned().collect());
        sort_rows(&mut v, by, desc);
        let fresh: Vec<Key> = v.iter().map(key).collect();
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
                on:click=move |_| sort.update(|(b, d)| {
                    if *b == by { *d = !*d } else { *b = by; *d = true }
                })
            >
                {label}
            </th>
        }
    };
    let target_id = StoredValue::new(target.id.clone());
    let role = move || {
        current_user()
            .and_then(|u| u.0.get())
            .and_then(Result::ok)
            .map(|me| me.role)
    };
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
                    clock(at),
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
        <div class="card table-card">
            <table class="data sessions" data-testid="sessions">
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
                    <For each=move || shown.get() key=|k| *k let:k>
                        {table.cell(&k).map(|row| view! {
                            <SessionLine row=row target=target_id.get_value() act=can_act().then_some((picked, selected))/>
                        })}
                    </For>
                </tbody>
            </table>
            {move || shown.with(Vec::is_empty).then(|| view! { <p class="muted empty">"No session matches."</p> })}
        </div>
    }
}

/// True while the page's text selection is not empty and starts inside the element with this
/// `data-testid` (browser only; always false on the server).
fn selection_inside(testid: &'static str) -> RwSignal<bool> {
    let inside = RwSignal::new(false);
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    Effect::new(move |_| {
        use leptos::__reexports::send_wrapper::SendWrapper;
        use leptos::wasm_bindgen::JsCast;
        use leptos::wasm_bindgen::closure::Closure;
        let check = move |_: web_sys::Event| {
            let now = document()
                .get_selection()
                .ok()
                .flatten()
                .filter(|s| !s.is_collapsed())
                .and_then(|s| s.anchor_node())
                .and_then(|n| match n.dyn_into::<web_sys::Element>() {
                    Ok(e) => Some(e),
                    Err(n) => n.parent_element(),
                })
                .and_then(|e| {
                    e.closest(&format!("[data-testid=\"{testid}\"]"))
                        .ok()
                        .flatten()
                })
                .is_some();
            if inside.get_untracked() != now {
                inside.set(now);
            }
        };
        let cb = Closure::<dyn Fn(web_sys::Event)>::new(check);
        let doc = document();
        let _ =
            doc.add_event_listener_with_callback("selectionchange", cb.as_ref().unchecked_ref());
        let held = SendWrapper::new(cb);
        on_cleanup(move || {
            let cb = held.take();
            let _ = document().remove_event_listener_with_callback(
                "selectionchange",
                cb.as_ref().unchecked_ref(),
            );
        });
    });
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = testid;
    inside
}

/// "14:03:07".
fn clock(ms: i64) -> String {
    let t = format::from_ms(ms);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// For DBAs: the session picked for the actions card, and those ticked for a multi-session action.
type Acting = (RwSignal<Option<i32>>, RwSignal<Vec<SessionRow>>);

/// One session, its cells following its signal; `act` set for DBAs: a tick box for several
/// sessions at once and an "Act…" button that picks a client session for the actions card.
#[component]
fn SessionLine(row: ArcRwSignal<SessionRow>, target: String, act: Option<Acting>) -> impl IntoView {
    let s = row.get_untracked();
    let pid = s.pid;
    let start = s.backend_start;
    let actionable = s.is_client() && !s.pgpanel;
    let r = row.clone();
    let class = move || {
        r.with(|s| {
            let long = s.state.as_deref() == Some("active")
                && s.query_age_ms.is_some_and(|ms| ms >= LONG_QUERY_MS);
            if s.idle_in_transaction() {
                "row-idle-tx"
            } else if s.waits_on_lock() {
                "row-waiting"
            } else if long {
                "row-long"
            } else {
                ""
            }
        })
    };
    let full = RwSignal::new(None::<Result<String, String>>);
    let show_full = {
        let target = target.clone();
        move |_| {
            let target = target.clone();
            leptos::task::spawn_local(async move {
                full.set(Some(whole_query(target, pid).await));
            });
        }
    };
    let r = row.clone();
    let field = move |f: fn(&SessionRow) -> String| {
        let r = r.clone();
        move || r.with(f)
    };
    let r = row.clone();
    let query = Memo::new(move |_| r.with(|s| (s.query.clone(), s.query_truncated)));
    let copy_target = target.clone();
    view! {
        <tr class=class data-testid="session" data-pid=pid data-pgpanel=s.pgpanel.to_string()>
            {act.map(|(_, selected)| {
                let snapshot = row.clone();
                view! {
                    <td>
                        {actionable.then(|| view! {
                            <input type="checkbox" data-testid="select-session" aria-label=format!("Select pid {pid}")
                                prop:checked=move || selected.with(|v| v.iter().any(|x| key(x) == (pid, start)))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let now = snapshot.get_untracked();
                                    selected.update(|v| {
                                        v.retain(|x| key(x) != (pid, start));
                                        if on { v.push(now) }
                                    });
                                }/>
                        })}
                    </td>
                }
            })}
            <td class="mono nowrap">{pid}" "<CopyButton text=pid.to_string() label=format!("Copy pid {pid}") compact=true/></td>
            <td>{field(|s| s.datname.clone().unwrap_or_default())}</td>
            <td>{field(|s| s.usename.clone().unwrap_or_default())}</td>
            <td>
                {field(|s| s.application_name.clone())}
                {s.pgpanel.then(|| view! { " " <span class="badge" title="pgpanel's own monitoring session">"pgpanel"</span> })}
            </td>
            <td class="mono small">{field(client)}</td>
            <td>{field(state)}{(!s.is_client()).then(|| view! { <div class="muted small">{s.backend_type.clone()}</div> })}</td>
            <td class="small">{field(wait)}</td>
            <td class="num" data-testid="in-state">{field(|s| format::age(s.state_age_ms, ""))}</td>
            <td class="num" data-testid="xact-age">{field(|s| format::age(s.xact_age_ms, ""))}</td>
            <td class="query">
                {move || match full.get() {
                    Some(Ok(text)) => view! {
                        <pre class="sql" data-testid="full-query">{text.clone()}</pre>
                        <CopyButton text=text label="Copy query" compact=true/>
                    }.into_any(),
                    Some(Err(e)) => view! { <span class="muted">{e}</span> }.into_any(),
                    None => {
                        let (text, truncated) = query.get();
                        let show_full = show_full.clone();
                        view! {
                            <code class="query-text">{text.clone()}</code>
                            {truncated.then(|| view! { " " <button type="button" class="link" on:click=show_full>"full text"</button> })}
                            {(!text.is_empty()).then(|| view! { " " <CopyQuery target=copy_target.clone() pid=pid text=text truncated=truncated/> })}
                        }.into_any()
                    }
                }}
            </td>
            {act.map(|(picked, _)| {
                view! {
                    <td>
                        {actionable.then(|| view! {
                            <button type="button" class="button small" data-testid="act-on-session" aria-label=format!("Actions for pid {pid}") on:click=move |_| picked.set(Some(pid))>"Act…"</button>
                        })}
                    </td>
                }
            })}
        </tr>
    }
}

/// Copies a session's query; when the stream carries it cut, the whole text is read first.
#[component]
fn CopyQuery(target: String, pid: i32, text: String, truncated: bool) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let on_click = move |_| {
        let (target, text) = (target.clone(), text.clone());
        leptos::task::spawn_local(async move {
            let whole = if truncated {
                whole_query(target, pid).await.ok()
            } else {
                Some(text)
            };
            copied.set(Some(whole.is_some_and(|t| write_clipboard(&t))));
            set_timeout(
                move || copied.set(None),
                std::time::Duration::from_millis(1500),
            );
        });
    };
    view! {
        <button type="button" class="copy-button" data-testid="copy-query" aria-label=format!("Copy the query of pid {pid}") on:click=on_click>
            {move || match copied.get() { Some(true) => "Copied", Some(false) => "Not copied", None => "Copy" }}
        </button>
    }
}

fn client(s: &SessionRow) -> String {
    match (&s.client_addr, s.client_port) {
        (Some(a), Some(p)) if p > 0 => format!("{a}:{p}"),
        (Some(a), _) => a.clone(),
        _ if s.is_client() => "local socket".into(),
        _ => String::new(),
    }
}

fn state(s: &SessionRow) -> String {
    s.state.clone().unwrap_or_else(|| {
        if s.is_client() {
            "—".into()
        } else {
            s.backend_type.clone()
        }
    })
}

/// An idle session always "waits" for its client: not worth a word.
fn wait(s: &SessionRow) -> String {
    match (&s.wait_event_type, &s.wait_event) {
        _ if s.state.as_deref() == Some("idle") => String::new(),
        (Some(t), Some(e)) => format!("{t}: {e}"),
        _ => String::new(),
    }
}
