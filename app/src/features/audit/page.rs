//! The Audit route: `?action=&actor=&target=&outcome=&object=&since=&until=&before=`. Every
//! action, refusal and sign-in through pgpanel, newest first, a page at a time. The filter is a
//! plain GET form, so a filtered view is a link one can paste into an incident channel.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::list_audit;
use super::model::{AuditEntry, AuditFilter, AuditPage, OUTCOMES, opt};
use crate::components::clock::use_now;
use crate::components::error_view::ErrorView;
use crate::components::format::{relative, utc};
use crate::components::layout::PageHeader;
use crate::error::{AppError, set_response_status};

/// The action choices: groups first (the API takes comma-separated lists), then each action.
const ACTION_CHOICES: &[(&str, &str)] = &[
    (
        "cancel_backend,terminate_backend,terminate_idle",
        "Session actions",
    ),
    ("vacuum,analyze,reindex,cancel_job", "Maintenance jobs"),
    ("auth.login,auth.logout", "Sign-ins and sign-outs"),
    ("user.create,user.update,user.unlock", "User changes"),
    (
        "request.denied,request.forged,request.unauthenticated",
        "Refused requests",
    ),
    ("cancel_backend", "cancel_backend"),
    ("terminate_backend", "terminate_backend"),
    ("terminate_idle", "terminate_idle"),
    ("vacuum", "vacuum"),
    ("analyze", "analyze"),
    ("reindex", "reindex"),
    ("cancel_job", "cancel_job"),
    ("auth.login", "auth.login"),
    ("auth.logout", "auth.logout"),
    ("user.create", "user.create"),
    ("user.update", "user.update"),
    ("user.unlock", "user.unlock"),
    ("request.denied", "request.denied"),
    ("request.forged", "request.forged"),
    ("request.unauthenticated", "request.unauthenticated"),
];

async fn load(f: AuditFilter) -> Result<AuditPage, AppError> {
    list_audit(
        opt(&f.action),
        opt(&f.actor),
        opt(&f.target),
        opt(&f.outcome),
        opt(&f.object),
        opt(&f.since),
        opt(&f.until),
        opt(&f.before),
        None,
    )
    .await
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            AuditFilter {
                action: get("action"),
                actor: get("actor"),
                target: get("target"),
                outcome: get("outcome"),
                object: get("object"),
                since: get("since"),
                until: get("until"),
                before: get("before"),
            }
        })
    });
    let page = Resource::new(move || filter.get(), load);
    view! {
        <Title text="Audit · pgpanel"/>
        <PageHeader title="Audit trail">
            <span class="muted small">"Every action, refusal and sign-in through pgpanel, newest first"</span>
        </PageHeader>
        // Rebuilt when the URL changes (the pager and "Clear" navigate inside the app).
        {move || view! { <Filters filter=filter.get()/> }}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <Events page=p filter=filter.get_untracked()/> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn Filters(filter: AuditFilter) -> impl IntoView {
    let known = ACTION_CHOICES.iter().any(|(v, _)| *v == filter.action);
    // A list typed into the URL that is not one of the choices stays selected as itself.
    let custom = (!filter.action.is_empty() && !known).then(|| {
        let a = filter.action.clone();
        view! { <option value=a.clone() selected=true>{a.clone()}</option> }
    });
    let actions = ACTION_CHOICES
        .iter()
        .map(|(value, label)| {
            let selected = *value == filter.action;
            view! { <option value=*value selected=selected>{*label}</option> }
        })
        .collect_view();
    let outcomes = OUTCOMES
        .iter()
        .map(|o| {
            let selected = *o == filter.outcome;
            view! { <option value=*o selected=selected>{*o}</option> }
        })
        .collect_view();
    view! {
        <form method="get" action="/audit" class="filters card" data-testid="audit-filters">
            <label>"Action"
                <select name="action" data-testid="filter-action">
                    <option value="" selected=filter.action.is_empty()>"any"</option>
                    {custom}
                    {actions}
                </select>
            </label>
            <label>"Outcome"
                <select name="outcome" data-testid="filter-outcome">
                    <option value="" selected=filter.outcome.is_empty()>"any"</option>
                    {outcomes}
                </select>
            </label>
            <label>"User"<input type="search" name="actor" value=filter.actor.clone() placeholder="username"/></label>
            <label>"Target"<input type="search" name="target" value=filter.target.clone() placeholder="target id"/></label>
            <label class="grow">"Object contains"<input type="search" name="object" value=filter.object.clone() placeholder="table, pid, user…" data-testid="filter-object"/></label>
            <label>"Since (UTC)"<input type="search" name="since" value=filter.since.clone() placeholder="2026-11-24T09:00:00Z"/></label>
            <label>"Until (UTC)"<input type="search" name="until" value=filter.until.clone() placeholder="RFC 3339"/></label>
            <div class="filter-buttons">
                <button type="submit" class="button primary small" data-testid="filter-apply">"Filter"</button>
                <a class="button small" href="/audit">"Clear"</a>
            </div>
        </form>
    }
}

fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "success" => "badge good",
        "failure" | "refused" | "denied" => "badge bad",
        "throttled" => "badge warn",
        _ => "badge",
    }
}

#[component]
fn Events(page: AuditPage, filter: AuditFilter) -> impl IntoView {
    let now = use_now();
    let newest = (!filter.before.is_empty()).then(|| {
        view! { <a class="button small" href=format!("/audit?{}", filter.query(None)) data-testid="audit-newest">"← Newest"</a> }
    });
    let older = page.next_before.map(|b| {
        view! { <a class="button small" href=format!("/audit?{}", filter.query(Some(b))) data-testid="audit-older">"Older →"</a> }
    });
    let summary = match page.events.len() {
        0 => "No event matches.".to_owned(),
        1 => "1 event".to_owned(),
        n if page.next_before.is_some() => format!("{n} events (more below)"),
        n => format!("{n} events"),
    };
    let empty = page.events.is_empty();
    let rows = page
        .events
        .into_iter()
        .map(|e| view! { <Row e=e now=now/> })
        .collect_view();
    view! {
        <section class="card table-card">
            <div class="act-head pad">
                <p class="small muted" data-testid="audit-summary">{summary}</p>
                <div class="pager">{newest}{older}</div>
            </div>
            {(!empty).then(|| view! {
                <table class="data audit" data-testid="audit-events">
                    <thead><tr>
                        <th>"When"</th>
                        <th>"Who"</th>
                        <th>"Action"</th>
                        <th>"Target"</th>
                        <th>"Object"</th>
                        <th>"Outcome"</th>
                        <th>"Details"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })}
        </section>
    }
}

#[component]
fn Row(e: AuditEntry, now: Signal<time::OffsetDateTime>) -> impl IntoView {
    let at = e.at;
    let role = e.actor_role.clone().map(|r| {
        let class = format!("role-badge role-{r}");
        view! { <span class=class>{r}</span> }
    });
    // The statement stands on its own line; the other parameters fold away.
    let mut parameters = e.parameters.clone();
    let sql = match &mut parameters {
        Some(serde_json::Value::Object(m)) => match m.remove("sql") {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    };
    let parameters = parameters.and_then(|p| match p {
        serde_json::Value::Object(m) if m.is_empty() => None,
        p => Some(p.to_string()),
    });
    view! {
        <tr data-testid="audit-row" data-id=e.id data-action=e.action.clone() data-outcome=e.outcome.clone()>
            <td class="nowrap" title=utc(at)>
                <div>{utc(at)}</div>
                <div class="small muted">{move || relative(at, now.get())}</div>
            </td>
            <td>
                <div>{e.actor.clone().unwrap_or_else(|| "–".into())}" "{role}</div>
                <div class="small muted">{e.client_addr.clone()}</div>
            </td>
            <td><code>{e.action.clone()}</code></td>
            <td>{e.target.clone().unwrap_or_default()}</td>
            <td class="query"><span class="query-text">{e.object.clone().unwrap_or_default()}</span></td>
            <td><span class=outcome_class(&e.outcome) data-testid="audit-outcome">{e.outcome.clone()}</span></td>
            <td class="audit-details">
                {e.error.clone().map(|m| view! { <div class="bad-text small" data-testid="audit-error">{m}</div> })}
                {sql.map(|s| view! { <code class="query-text small">{s}</code> })}
                {parameters.map(|p| view! {
                    <details><summary class="small muted">"parameters"</summary><code class="query-text small">{p}</code></details>
                })}
            </td>
        </tr>
    }
}
