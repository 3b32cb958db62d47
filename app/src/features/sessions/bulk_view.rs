//! The Activity page's bulk action, for DBAs: "Idle in transaction now, transaction open at least
//! N min: K sessions — Terminate…" (the transaction's clock, `xact_start`: the classic offender
//! holding locks and the xmin horizon), previewing exactly who from the live rows before anything
//! is sent.

use leptos::prelude::*;
use time::format_description::well_known::Rfc3339;

use super::bulk::{stale_idle, terminate_idle};
use super::model::terminate_idle_sql;
use crate::components::dialog::ConfirmDialog;
use crate::components::format::millis;
use crate::features::activity::model::SessionRow;
use crate::features::targets::model::ActionsAvailability;

#[component]
pub fn IdleBulk(
    target: String,
    rows: RwSignal<Vec<SessionRow>>,
    availability: ActionsAvailability,
) -> impl IntoView {
    let minutes = RwSignal::new(5_i32);
    let asking = RwSignal::new(None::<Vec<SessionRow>>);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<String, String>>);
    let target = StoredValue::new(target);
    let matching = Memo::new(move |_| {
        let m = minutes.get();
        rows.with(|r| {
            r.iter()
                .filter(|s| stale_idle(s, m))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let run = move |_| {
        let Some(list) = asking.get_untracked() else {
            return;
        };
        let sessions = list
            .iter()
            .filter_map(|s| {
                Some(format!(
                    "{}@{}",
                    s.pid,
                    s.backend_start?.format(&Rfc3339).ok()?
                ))
            })
            .collect::<Vec<_>>()
            .join(",");
        busy.set(true);
        leptos::task::spawn_local(async move {
            let got = terminate_idle(
                target.get_value(),
                minutes.get_untracked().to_string(),
                Some(sessions),
            )
            .await;
            busy.set(false);
            asking.set(None);
            result.set(Some(got.map(|o| o.message).map_err(|e| e.to_string())));
        });
    };
    let set_minutes = move |v: String| {
        if let Ok(m) = v.trim().parse::<i32>()
            && m >= 0
        {
            minutes.set(m);
        }
    };
    let enabled = availability.enabled;
    let reason = availability.reason.unwrap_or_default();
    let own_logins = StoredValue::new(availability.own_logins);
    view! {
        <div class="card bulk-bar" data-testid="idle-bulk">
            <label class="small" title="Sessions idle in transaction now whose transaction (xact_start) has been open this long: they hold their locks and the xmin horizon.">"Idle in transaction now, transaction open at least "
                <input type="number" min="0" max="10080" class="narrow" data-testid="idle-minutes"
                    // The attribute for the server's render (a property is not rendered), the
                    // property for what is typed afterwards.
                    value=minutes.get_untracked().to_string()
                    prop:value=move || minutes.get().to_string()
                    on:input=move |ev| set_minutes(event_target_value(&ev))/>
                " min: "
            </label>
            <strong data-testid="idle-count">{move || format!("{} session(s)", matching.with(Vec::len))}</strong>
            <button class="button small danger" data-testid="idle-terminate"
                disabled=move || !enabled || matching.with(Vec::is_empty)
                on:click=move |_| { result.set(None); asking.set(Some(matching.get())) }>"Terminate…"</button>
            {(!enabled).then(|| view! { <span class="muted small">{format!("Unavailable: {reason}")}</span> })}
            {move || asking.get().map(|list| {
                let pairs: Vec<(i32, String)> = list
                    .iter()
                    .filter_map(|s| Some((s.pid, s.backend_start?.format(&Rfc3339).ok()?)))
                    .collect();
                let sql = own_logins.with_value(|l| terminate_idle_sql(minutes.get_untracked(), Some(&pairs), l));
                let items = list.iter().map(|s| view! {
                    <tr>
                        <td class="num">{s.pid}</td>
                        <td>{s.usename.clone().unwrap_or_default()}</td>
                        <td>{s.application_name.clone()}</td>
                        <td>{s.datname.clone().unwrap_or_default()}</td>
                        <td class="num">{s.xact_age_ms.map(millis).unwrap_or_default()}</td>
                        <td class="num">{s.state_age_ms.map(millis).unwrap_or_default()}</td>
                        <td class="query">{s.query.clone()}</td>
                    </tr>
                }).collect_view();
                view! {
                    <ConfirmDialog title=format!("Terminate {} idle session(s)?", list.len()) danger=true testid="idle-confirm"
                        on_close=Callback::new(move |()| asking.set(None))>
                        <p class="small">{format!("Ends these {} session(s) and rolls back their open transactions (cancel would not help: they are not running anything). Superusers' sessions are left alone; each session is checked again when it is signalled.", list.len())}</p>
                        <div class="table-scroll" tabindex="0">
                        <table class="data compact">
                            <thead><tr><th class="num">"pid"</th><th>"user"</th><th>"application"</th><th>"database"</th><th class="num">"transaction open"</th><th class="num">"idle for"</th><th>"last query"</th></tr></thead>
                            <tbody>{items}</tbody>
                        </table>
                        </div>
                        <pre class="sql" tabindex="0" data-testid="idle-sql">{sql}</pre>
                        <div class="act-buttons">
                            <button class="button small danger" data-testid="idle-run" disabled=move || busy.get() on:click=run>"Terminate them"</button>
                            <button class="button small" on:click=move |_| asking.set(None)>"Back"</button>
                        </div>
                    </ConfirmDialog>
                }
            })}
            <div role="status" aria-live="polite" class="bulk-result">
                {move || result.get().map(|r| match r {
                    Ok(m) => view! { <p class="notice ok" data-testid="idle-result">{m}</p> }.into_any(),
                    Err(m) => view! { <p class="notice" data-testid="idle-error">{m}</p> }.into_any(),
                })}
            </div>
        </div>
    }
}
