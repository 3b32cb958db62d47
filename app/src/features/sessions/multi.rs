//! Several sessions at once, for DBAs on the Activity page: the sessions ticked in the table are
//! listed with the exact statement for each, and on confirmation cancelled or terminated ONE BY
//! ONE through the same endpoints as a single session (each checked against its backend_start,
//! refused for pgpanel's own, background and unconfirmed superuser sessions, and audited on its
//! own). The answer for every session is shown.

use leptos::prelude::*;
use time::format_description::well_known::Rfc3339;

use super::api::{cancel_backend, terminate_backend};
use super::model::Signal as Kind;
use crate::components::dialog::ConfirmDialog;
use crate::features::activity::model::SessionRow;
use crate::features::targets::model::ActionsAvailability;

/// One session's answer.
#[derive(Clone, Debug, PartialEq)]
struct Answer {
    pid: i32,
    result: Result<String, String>,
}

#[component]
pub fn MultiActions(
    target: String,
    /// The sessions ticked (snapshots taken when ticked: their backend_start is what is checked).
    selected: RwSignal<Vec<SessionRow>>,
    availability: ActionsAvailability,
) -> impl IntoView {
    let asking = RwSignal::new(None::<Kind>);
    let busy = RwSignal::new(false);
    let answers = RwSignal::new(Vec::<Answer>::new());
    let target = StoredValue::new(target);
    let run = move |kind: Kind| {
        let list = selected.get_untracked();
        busy.set(true);
        answers.set(Vec::new());
        leptos::task::spawn_local(async move {
            for s in list {
                let start = s
                    .backend_start
                    .and_then(|t| t.format(&Rfc3339).ok())
                    .unwrap_or_default();
                let got = match kind {
                    Kind::Cancel => cancel_backend(target.get_value(), s.pid, start, None).await,
                    Kind::Terminate => {
                        terminate_backend(target.get_value(), s.pid, start, None).await
                    }
                };
                let result = got.map(|o| o.message).map_err(|e| e.to_string());
                answers.update(|a| a.push(Answer { pid: s.pid, result }));
            }
            busy.set(false);
            asking.set(None);
            selected.set(Vec::new());
        });
    };
    let enabled = availability.enabled;
    let reason = availability.reason.unwrap_or_default();
    let own_logins = StoredValue::new(availability.own_logins);
    view! {
        {move || (!selected.with(Vec::is_empty) || !answers.with(Vec::is_empty)).then(|| view! {
            <div class="card bulk-bar" data-testid="multi-actions">
                <strong data-testid="multi-count">{move || format!("{} selected", selected.with(Vec::len))}</strong>
                <button type="button" class="button small" data-testid="multi-cancel"
                    disabled=move || !enabled || busy.get() || selected.with(Vec::is_empty)
                    on:click=move |_| { answers.set(Vec::new()); asking.set(Some(Kind::Cancel)) }>"Cancel their queries…"</button>
                <button type="button" class="button small danger" data-testid="multi-terminate"
                    disabled=move || !enabled || busy.get() || selected.with(Vec::is_empty)
                    on:click=move |_| { answers.set(Vec::new()); asking.set(Some(Kind::Terminate)) }>"Terminate them…"</button>
                <button type="button" class="button small" data-testid="multi-clear"
                    disabled=move || busy.get()
                    on:click=move |_| { asking.set(None); selected.set(Vec::new()); answers.set(Vec::new()) }>"Clear"</button>
                {(!enabled).then(|| view! { <span class="muted small">{format!("Unavailable: {reason}")}</span> })}
                {move || asking.get().map(|kind| {
                    let list = selected.get();
                    let idle = list.iter().filter(|s| s.state.as_deref() != Some("active")).count();
                    let chosen: Vec<(i32, String)> = list
                        .iter()
                        .map(|s| (s.pid, s.backend_start.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()))
                        .collect();
                    let sql = own_logins.with_value(|l| kind.sql_many(&chosen, l));
                    let title = match kind {
                        Kind::Cancel => format!("Cancel the queries of {} session(s)?", list.len()),
                        Kind::Terminate => format!("Terminate {} session(s)?", list.len()),
                    };
                    let rows = list.into_iter().map(|s| view! {
                        <tr>
                            <td class="num">{s.pid}</td>
                            <td>{s.usename.clone().unwrap_or_default()}</td>
                            <td>{s.application_name.clone()}</td>
                            <td>{s.state.clone().unwrap_or_default()}</td>
                            <td class="query"><code class="query-text">{s.query.clone()}</code></td>
                        </tr>
                    }).collect_view();
                    let effect = match kind {
                        Kind::Cancel if idle > 0 => format!("Stops the statement each one is running; sessions and transactions stay. {idle} of them run nothing now: cancel does not affect them."),
                        Kind::Cancel => "Stops the statement each one is running; sessions and transactions stay.".to_owned(),
                        Kind::Terminate => "Ends each session and rolls back its open transaction.".to_owned(),
                    };
                    view! {
                        <ConfirmDialog title=title danger=kind == Kind::Terminate testid="multi-confirm"
                            on_close=Callback::new(move |()| if !busy.get_untracked() { asking.set(None) })>
                            <div class="table-scroll" tabindex="0">
                            <table class="data compact">
                                <thead><tr><th class="num">"pid"</th><th>"user"</th><th>"application"</th><th>"state"</th><th>"query"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            </div>
                            <pre class="sql" tabindex="0" data-testid="multi-sql">{sql}</pre>
                            <p class="small">{effect}" Each session is checked again and audited on its own, one after the other; a superuser's session is refused here (end it on its own, typing its pid)."</p>
                            <div class="act-buttons">
                                <button type="button" class="button small danger" data-testid="multi-run" disabled=move || busy.get() on:click=move |_| run(kind)>
                                    {match kind { Kind::Cancel => "Cancel the queries", Kind::Terminate => "Terminate the sessions" }}
                                </button>
                                <button type="button" class="button small" on:click=move |_| asking.set(None)>"Back"</button>
                            </div>
                        </ConfirmDialog>
                    }
                })}
                // The live region exists before the first answer, so each answer is announced.
                <ul class="multi-answers" data-testid="multi-answers" role="status">
                    {move || answers.get().into_iter().map(|a| match a.result {
                        Ok(m) => view! { <li class="ok-text" data-pid=a.pid data-ok="true">{m}</li> }.into_any(),
                        Err(m) => view! { <li class="bad-text" data-pid=a.pid data-ok="false">{format!("pid {}: {m}", a.pid)}</li> }.into_any(),
                    }).collect_view()}
                </ul>
            </div>
        })}
    }
}
