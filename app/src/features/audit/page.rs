//! The Audit route: `?action=&actor=&target=&outcome=&object=&since=&until=&before=`. Every
//! action, refusal and sign-in through pgpanel, newest first, a page at a time. The filter is a
//! plain GET form, so a filtered view is a link one can paste into an incident channel.

use leptos::prelude::*;

use super::api::list_audit;
use super::model::{Action, AuditEntry, AuditFilter, AuditPage, Outcome, action_label, opt};
use crate::components::clock::use_now;
use crate::components::error_view::ErrorView;
use crate::components::format::{millis, relative, rfc3339, utc};
use crate::components::location::use_query;
use crate::components::page_data::page_data;
use crate::components::page_header::PageHeader;
use crate::components::subnav::{AUDIT_AREA, SubNav};
use crate::error::{AppError, set_response_status};

/// The action groups offered before the single actions (the API takes comma-separated lists).
const ACTION_GROUPS: &[(&str, &str)] = &[
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
];

/// Time presets: label and how far back.
const PRESETS: &[(&str, i64)] = &[
    ("Last hour", 3_600),
    ("Last day", 86_400),
    ("Last week", 7 * 86_400),
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
        Some((f.intents != "separate").to_string()),
    )
    .await
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query();
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
                intents: get("intents"),
            }
        })
    });
    let page = page_data(move || filter.get(), load);
    view! {
        <PageHeader title="Audit">
            <span class="muted small">"Every action, refusal and sign-in through pgpanel, newest first, for every target"</span>
        </PageHeader>
        <SubNav label="Audit area" items=AUDIT_AREA current="/audit"/>
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
    let known = ACTION_GROUPS.iter().any(|(v, _)| *v == filter.action)
        || Action::parse(&filter.action).is_some();
    // A list typed into the URL that is not one of the choices stays selected as itself.
    let custom = (!filter.action.is_empty() && !known).then(|| {
        let a = filter.action.clone();
        view! { <option value=a.clone() selected=true>{a.clone()}</option> }
    });
    let option = |value: &'static str, label: String, current: &str| {
        let selected = value == current;
        view! { <option value=value selected=selected>{label}</option> }
    };
    let groups = ACTION_GROUPS
        .iter()
        .map(|(value, label)| option(value, (*label).to_owned(), &filter.action))
        .collect_view();
    let actions = Action::ALL
        .iter()
        .map(|a| {
            option(
                a.name(),
                format!("{} ({})", a.label(), a.name()),
                &filter.action,
            )
        })
        .collect_view();
    let outcomes = Outcome::ALL
        .iter()
        .map(|o| {
            option(
                o.name(),
                format!("{}: {}", o.name(), o.label()),
                &filter.outcome,
            )
        })
        .collect_view();
    let now = use_now();
    let presets = {
        let filter = filter.clone();
        move || {
            let now = now.get();
            PRESETS
                .iter()
                .map(|(label, secs)| {
                    let f = AuditFilter {
                        since: rfc3339(now - time::Duration::seconds(*secs)),
                        until: String::new(),
                        before: String::new(),
                        ..filter.clone()
                    };
                    view! { <a class="button small" href=format!("/audit?{}", f.query(None)) data-testid="audit-preset">{*label}</a> }
                })
                .collect_view()
        }
    };
    view! {
        <form method="get" action="/audit" class="filters card" data-testid="audit-filters">
            <label>"Action"
                <select name="action" data-testid="filter-action">
                    <option value="" selected=filter.action.is_empty()>"any"</option>
                    {custom}
                    <optgroup label="Groups">{groups}</optgroup>
                    <optgroup label="Actions">{actions}</optgroup>
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
            <label>"Since (UTC, RFC 3339)"<input type="search" name="since" value=filter.since.clone() placeholder="e.g. 2026-11-24T09:00:00Z" aria-describedby="audit-time-hint" data-testid="filter-since"/></label>
            <label>"Until (UTC, RFC 3339)"<input type="search" name="until" value=filter.until.clone() placeholder="e.g. 2026-11-24T10:00:00Z" aria-describedby="audit-time-hint"/></label>
            <label class="check">
                <input type="checkbox" name="intents" value="separate" checked=filter.intents == "separate" data-testid="filter-intents"/>
                "Intents as separate rows"
            </label>
            <div class="filter-buttons">
                <button type="submit" class="button primary small" data-testid="filter-apply">"Filter"</button>
                <a class="button small" href="/audit">"Clear"</a>
            </div>
            <div class="presets">
                <span class="small muted" id="audit-time-hint">"Times are UTC, like 2026-11-24T09:00:00Z. Quick windows: "</span>
                {presets}
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
    // The whole filtered view (every event, intents as their own rows) as a download.
    let export = |format: &'static str, label: &'static str| {
        let all = AuditFilter {
            before: String::new(),
            ..filter.clone()
        };
        view! {
            <a class="button small" href=format!("/api/audit/export?format={format}&{}", all.query(None)) download data-testid=format!("audit-export-{format}")>{label}</a>
        }
    };
    let newest = (!filter.before.is_empty()).then(|| {
        view! { <a class="button small" href=format!("/audit?{}", filter.query(None)) data-testid="audit-newest">"← Newest"</a> }
    });
    let older = page.next_before.map(|b| {
        view! { <a class="button small" href=format!("/audit?{}", filter.query(Some(b))) data-testid="audit-older">"Older →"</a> }
    });
    let folded = filter.intents != "separate";
    let summary = match page.events.len() {
        0 => "No event matches.".to_owned(),
        1 => "1 entry".to_owned(),
        n if page.next_before.is_some() => format!("{n} entries (more on older pages)"),
        n => format!("{n} entries"),
    } + if folded {
        " · an action's intent is shown inside its outcome"
    } else {
        ""
    };
    let empty = page.events.is_empty();
    let rows = page
        .events
        .into_iter()
        .map(|e| view! { <Row e=e now=now/> })
        .collect_view();
    view! {
        <section class="card table-card" tabindex="0">
            <div class="act-head pad">
                <p class="small muted" data-testid="audit-summary">{summary}</p>
                <div class="pager">{export("csv", "CSV")}{export("jsonl", "JSON lines")}{newest}{older}</div>
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
    let intent = e.intent.clone().map(|i| {
        let took = (e.at - i.at).whole_milliseconds().max(0) as i64;
        view! {
            <details data-testid="audit-intent">
                <summary class="small muted">{format!("intent recorded {} before (id {})", millis(took), i.id)}</summary>
                <div class="small">{format!("{} · before anything was sent to the target", utc(i.at))}</div>
            </details>
        }
    });
    let outcome = e.outcome.clone();
    // Said after "parameters", which every row may show: whose parameters they are.
    let id = e.id;
    view! {
        <tr data-testid="audit-row" data-id=e.id data-action=e.action.clone() data-outcome=e.outcome.clone() data-intent=e.intent.as_ref().map(|i| i.id)>
            <td class="nowrap" title=utc(at)>
                <div>{utc(at)}</div>
                <div class="small muted">{move || relative(at, now.get())}</div>
            </td>
            <td>
                <div>{e.actor.clone().unwrap_or_else(|| "–".into())}" "{role}</div>
                <div class="small muted">{e.client_addr.clone()}</div>
            </td>
            <td>
                <div>{action_label(&e.action).to_owned()}</div>
                <code class="small muted">{e.action.clone()}</code>
            </td>
            <td>{e.target.clone().unwrap_or_default()}</td>
            <td class="query"><span class="query-text">{e.object.clone().unwrap_or_default()}</span></td>
            <td>
                <span class=outcome_class(&outcome) data-testid="audit-outcome" title=crate::features::audit::model::outcome_label(&outcome).to_owned()>{outcome.clone()}</span>
                {(outcome == "intent").then(|| view! { <div class="small muted">"no outcome recorded (yet)"</div> })}
            </td>
            <td class="audit-details">
                {e.error.clone().map(|m| view! { <div class="bad-text small" data-testid="audit-error">{m}</div> })}
                {sql.map(|s| view! { <code class="query-text small">{s}</code> })}
                {intent}
                {parameters.map(|p| view! {
                    <details><summary class="small muted">"parameters"<span class="visually-hidden">{format!(" of entry {id}")}</span></summary><code class="query-text small">{p}</code></details>
                })}
            </td>
        </tr>
    }
}
