//! "Cancel query" and "Terminate session" for one session, for DBAs: a click opens a confirmation
//! with the exact SQL and what it does; a superuser's session asks for its pid to be typed; the
//! answer (or the refusal) is shown as text. The server checks role, session and pid again.

use leptos::prelude::*;
use time::format_description::well_known::Rfc3339;

use super::api::{cancel_backend, terminate_backend};
use super::model::Signal as Kind;
use crate::components::dialog::ConfirmDialog;
use crate::error::AppError;
use crate::features::activity::model::SessionRow;
use crate::features::targets::model::ActionsAvailability;

#[component]
pub fn SessionActions(
    target: String,
    session: SessionRow,
    availability: ActionsAvailability,
    /// Sessions waiting on this one (directly or through chains), when known.
    #[prop(optional)]
    frees: Option<i64>,
) -> impl IntoView {
    let pid = session.pid;
    if !availability.enabled {
        let reason = availability
            .reason
            .unwrap_or_else(|| "Actions are unavailable for this target.".into());
        return view! {
            <div class="act-box" data-testid="actions-unavailable">
                <p class="muted small">{format!("Cancel and terminate are unavailable: {reason} A DBA can run:")}</p>
                <pre class="sql" tabindex="0">{format!("{}\n{}", Kind::Cancel.by_hand(pid), Kind::Terminate.by_hand(pid))}</pre>
            </div>
        }
        .into_any();
    }
    let backend_start = session
        .backend_start
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    let shown_start = backend_start.clone();
    let own_logins = availability.own_logins.clone();
    let asking = RwSignal::new(None::<Kind>);
    let confirm = RwSignal::new(String::new());
    let needs_confirm = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<String, String>>);
    let frees_text = frees
        .filter(|n| *n > 0)
        .map(|n| {
            format!(
                " It frees {n} waiting session{}.",
                if n == 1 { "" } else { "s" }
            )
        })
        .unwrap_or_default();
    let who = [
        format!("pid {pid}"),
        session.usename.clone().unwrap_or_default(),
        session.application_name.clone(),
        session.datname.clone().unwrap_or_default(),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    let run = move |kind: Kind| {
        let (target, backend_start) = (target.clone(), backend_start.clone());
        let typed = confirm.get_untracked();
        let typed = (!typed.trim().is_empty()).then_some(typed);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let got = match kind {
                Kind::Cancel => cancel_backend(target, pid, backend_start, typed).await,
                Kind::Terminate => terminate_backend(target, pid, backend_start, typed).await,
            };
            busy.set(false);
            match got {
                Ok(o) => {
                    asking.set(None);
                    result.set(Some(Ok(o.message)));
                }
                Err(AppError::Validation { message }) if message.contains("superuser") => {
                    needs_confirm.set(true);
                    result.set(Some(Err(message)));
                }
                Err(e) => result.set(Some(Err(e.to_string()))),
            }
        });
    };
    // Cancel reaches a running statement only: an idle session (in a transaction or not) has
    // none, and a root blocker idle in transaction is freed only by Terminate.
    let idle = session.state.clone().filter(|s| s.starts_with("idle"));
    let cancel_note = idle.clone().map(|s| {
        if s.starts_with("idle in transaction") {
            format!("Cancel is off: the session is {s} and runs no statement. Only Terminate ends its transaction and releases its locks.")
        } else {
            format!("Cancel is off: the session is {s} and runs no statement.")
        }
    });
    let effect_of = move |kind: Kind| {
        match kind {
        Kind::Cancel => "Stops the statement it is running; the session and its transaction stay (an idle session is not affected).".to_owned(),
        Kind::Terminate => format!("Ends the session and rolls back its open transaction.{frees_text}"),
    }
    };
    view! {
        <div class="act-box" data-testid="session-actions" data-pid=pid>
            <div class="act-buttons">
                <button class="button small" data-testid="cancel-backend" disabled=idle.is_some()
                    aria-label=format!("Cancel query of pid {pid}")
                    on:click=move |_| { result.set(None); asking.set(Some(Kind::Cancel)) }>"Cancel query"</button>
                <button class="button small danger" data-testid="terminate-backend"
                    aria-label=format!("Terminate session of pid {pid}")
                    on:click=move |_| { result.set(None); asking.set(Some(Kind::Terminate)) }>"Terminate session"</button>
            </div>
            {cancel_note.map(|n| view! { <p class="muted small" data-testid="cancel-off">{n}</p> })}
            {move || asking.get().map(|kind| {
                let run = run.clone();
                let who = who.clone();
                let sql = kind.sql(pid, &shown_start, &own_logins);
                let effect = effect_of(kind);
                let title = match kind {
                    Kind::Cancel => format!("Cancel the query of pid {pid}?"),
                    Kind::Terminate => format!("Terminate the session of pid {pid}?"),
                };
                view! {
                    <ConfirmDialog title=title danger=kind == Kind::Terminate testid="action-confirm"
                        on_close=Callback::new(move |()| asking.set(None))>
                        <p>{who}</p>
                        <pre class="sql" tabindex="0" data-testid="action-sql">{sql}</pre>
                        <p class="small">{effect}</p>
                        {move || needs_confirm.get().then(|| view! {
                            <label class="small">"Type the pid to confirm "
                                <input type="text" inputmode="numeric" data-testid="action-confirm-pid" prop:value=move || confirm.get() on:input=move |ev| confirm.set(event_target_value(&ev))/>
                            </label>
                        })}
                        // A refusal while the dialog is open is read here (the page behind is inert).
                        {move || result.get().and_then(Result::err).map(|m| view! {
                            <p class="notice" role="alert" data-testid="action-error">{m}</p>
                        })}
                        <div class="act-buttons">
                            <button class=match kind { Kind::Cancel => "button small primary", Kind::Terminate => "button small danger" } data-testid="action-run" disabled=move || busy.get() on:click=move |_| run(kind)>
                                {match kind { Kind::Cancel => "Cancel the query", Kind::Terminate => "Terminate the session" }}
                            </button>
                            <button class="button small" on:click=move |_| asking.set(None)>"Back"</button>
                        </div>
                    </ConfirmDialog>
                }
            })}
            // The answer, announced when it arrives.
            <div role="status" aria-live="polite">
                {move || result.get().filter(|_| asking.with(Option::is_none)).map(|r| match r {
                    Ok(m) => view! { <p class="notice ok" data-testid="action-result">{m}</p> }.into_any(),
                    Err(m) => view! { <p class="notice" data-testid="action-error">{m}</p> }.into_any(),
                })}
            </div>
        </div>
    }
    .into_any()
}
