//! The Activity table's rows: one signal per session, keyed by (pid, backend_start), so each
//! row's cells update in place while the ages tick (a text selection survives, nothing is
//! rebuilt), with copy buttons and, for DBAs, a tick box and an "Actions" button.

use std::collections::HashMap;

use leptos::prelude::*;

use super::api::whole_query;
use crate::components::copy_button::{CopyButton, write_clipboard};
use crate::components::format;
use crate::features::activity::model::SessionRow;

/// Active for longer than this: highlighted as long-running.
const LONG_QUERY_MS: i64 = 60_000;

/// A session's identity: a pid is reused, (pid, backend_start) is not.
pub type Key = (i32, Option<time::OffsetDateTime>);

pub fn key(s: &SessionRow) -> Key {
    (s.pid, s.backend_start)
}

/// The table's rows: one signal per listed session, updated in place when a frame changes it, so
/// a row's cells (and a selection in them) stay put while the ages tick. A session gets its signal
/// when a row shows it (the page lists the first 50 of hundreds until "Show all").
#[derive(Clone, Copy)]
pub struct Rows {
    /// The latest frame's sessions, for filters, sorting and the counts.
    pub list: RwSignal<Vec<SessionRow>>,
    cells: StoredValue<HashMap<Key, ArcRwSignal<SessionRow>>>,
}

impl Rows {
    pub fn new(rows: Vec<SessionRow>) -> Self {
        Self {
            list: RwSignal::new(rows),
            cells: StoredValue::new(HashMap::new()),
        }
    }

    pub fn apply(&self, rows: Vec<SessionRow>) {
        self.cells.update_value(|cells| {
            if !cells.is_empty() {
                let present: HashMap<Key, &SessionRow> = rows.iter().map(|r| (key(r), r)).collect();
                cells.retain(|k, cell| match present.get(k) {
                    Some(r) => {
                        if cell.with_untracked(|c| c != *r) {
                            cell.set((*r).clone());
                        }
                        true
                    }
                    None => false,
                });
            }
        });
        self.list.set(rows);
    }

    /// The signal of the session `k` (made on first use from the latest frame; None once it ended).
    pub fn cell(&self, k: &Key) -> Option<ArcRwSignal<SessionRow>> {
        if let Some(cell) = self.cells.with_value(|c| c.get(k).cloned()) {
            return Some(cell);
        }
        let row = self
            .list
            .with_untracked(|l| l.iter().find(|r| key(r) == *k).cloned())?;
        let cell = ArcRwSignal::new(row);
        self.cells.update_value(|c| {
            c.insert(*k, cell.clone());
        });
        Some(cell)
    }
}

/// For DBAs: the session picked for the actions card, and those ticked for a multi-session action.
pub type Acting = (RwSignal<Option<i32>>, RwSignal<Vec<SessionRow>>);

/// One session, its cells following its signal; `act` set for DBAs: a tick box for several
/// sessions at once and an "Actions" button that picks a client session for the actions card.
#[component]
pub fn SessionLine(
    row: ArcRwSignal<SessionRow>,
    target: String,
    act: Option<Acting>,
) -> impl IntoView {
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
                    <td class="card-select">
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
            <td class="mono nowrap" data-label="pid">{pid}" "<CopyButton text=pid.to_string() label=format!("Copy pid {pid}") compact=true/></td>
            <td data-label="Database">{field(|s| s.datname.clone().unwrap_or_default())}</td>
            <td data-label="User">{field(|s| s.usename.clone().unwrap_or_default())}</td>
            <td data-label="Application">
                {field(|s| s.application_name.clone())}
                {s.pgpanel.then(|| view! { " " <span class="badge" title="pgpanel's own session (one of its logins on this target)">"pgpanel"</span> })}
                {s.claims_pgpanel.then(|| view! {
                    " " <span class="badge warn" data-testid="claims-pgpanel"
                        title="This session names itself pgpanel, but it is not on one of pgpanel's logins: an ordinary client session, which can be cancelled or terminated">
                        "claims to be pgpanel"
                    </span>
                })}
            </td>
            <td class="mono small" data-label="Client">{field(client)}</td>
            <td data-label="State">{field(state)}{(!s.is_client()).then(|| view! { <div class="muted small">{s.backend_type.clone()}</div> })}</td>
            <td class="small" data-label="Wait">{field(wait)}</td>
            <td class="num" data-testid="in-state" data-label="In state">{field(|s| format::age(s.state_age_ms, ""))}</td>
            <td class="num" data-testid="xact-age" data-label="Transaction">{field(|s| format::age(s.xact_age_ms, ""))}</td>
            <td class="query" data-label="Query">
                {move || match full.get() {
                    Some(Ok(text)) => view! {
                        <pre class="sql" tabindex="0" data-testid="full-query">{text.clone()}</pre>
                        <CopyButton text=text label=format!("Copy the query of pid {pid}") compact=true/>
                    }.into_any(),
                    Some(Err(e)) => view! { <span class="muted">{e}</span> }.into_any(),
                    None => {
                        let (text, truncated) = query.get();
                        let show_full = show_full.clone();
                        view! {
                            <code class="query-text">{text.clone()}</code>
                            {truncated.then(|| view! { " " <button type="button" class="link" on:click=show_full>"full text"<span class="visually-hidden">{format!(" of the query of pid {pid}")}</span></button> })}
                            {(!text.is_empty()).then(|| view! { " " <CopyQuery target=copy_target.clone() pid=pid text=text truncated=truncated/> })}
                        }.into_any()
                    }
                }}
            </td>
            {act.map(|(picked, _)| {
                view! {
                    <td class="card-actions">
                        {actionable.then(|| view! {
                            <button type="button" class="button small" data-testid="act-on-session" aria-label=format!("Actions for pid {pid}") on:click=move |_| picked.set(Some(pid))>"Actions"</button>
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
