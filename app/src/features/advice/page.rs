//! The Advice route: `?target=&database=`. The latest analysis of one database: a summary
//! (findings by severity, space a fix gives back, when it was analysed and how long it took),
//! "Analyse now" for DBAs, and the findings grouped by kind, each with its evidence, the exact
//! DDL (copyable) and the lock it takes. Reading the page never analyses anything.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{RefreshAdvice, get_advice};
use super::model::{Analysis, Finding, Kind, Severity};
use crate::components::clock::use_now;
use crate::components::copy_button::CopyButton;
use crate::components::error_view::ErrorView;
use crate::components::format::{bytes, from_ms, millis, relative};
use crate::components::live::encode;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::auth::me::current_user;
use crate::features::auth::model::Role;
use crate::features::targets::api::pick_target;

/// The analysis, the target's database names and the target's name.
type Loaded = (Analysis, Vec<String>, String);

async fn load(
    target: Option<String>,
    database: Option<String>,
) -> Result<Option<Loaded>, AppError> {
    let Some(t) = pick_target(target).await? else {
        return Ok(None);
    };
    let analysis = get_advice(t.id.clone(), database).await?;
    let databases = t
        .databases
        .map(|d| d.items.into_iter().map(|i| i.name).collect())
        .unwrap_or_default();
    Ok(Some((analysis, databases, t.name)))
}

#[component]
pub fn AdvicePage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| query.with(|q| (q.get("target"), q.get("database"))));
    let refresh = ServerAction::<RefreshAdvice>::new();
    // Re-read every 2 s while an analysis runs, and once after "Analyse now".
    let poll = RwSignal::new(0_u32);
    let data = Resource::new(
        move || (params.get(), refresh.version().get(), poll.get()),
        |((t, d), _, _)| load(t, d),
    );
    Effect::new(move |_| {
        let running = data
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|(a, _, _)| a.running);
        if running {
            set_timeout(
                move || poll.update(|n| *n += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    view! {
        <Title text="Advice · pgpanel"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some((analysis, databases, name))) => view! { <Body analysis=analysis databases=databases name=name refresh=refresh/> }.into_any(),
                    Ok(None) => view! { <PageHeader title="Advice">""</PageHeader><p class="card empty">"No targets configured."</p> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <PageHeader title="Advice">""</PageHeader><ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "badge bad",
        Severity::Warning => "badge warn",
        Severity::Info => "badge",
    }
}

#[component]
fn Body(
    analysis: Analysis,
    databases: Vec<String>,
    /// The target's name.
    name: String,
    refresh: ServerAction<RefreshAdvice>,
) -> impl IntoView {
    let now = use_now();
    let can_act = Signal::derive(move || {
        current_user()
            .and_then(|u| u.0.get())
            .and_then(Result::ok)
            .is_some_and(|me| me.role >= Role::Dba)
    });
    let target = analysis.target.clone();
    let database = analysis.database.clone();
    let count = |s: Severity| analysis.findings.iter().filter(|f| f.severity == s).count();
    let reclaimable = analysis.reclaimable_bytes();
    let summary = format!(
        "{} critical · {} warning · {} info · {} a fix gives back",
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
        bytes(reclaimable)
    );
    let analysed = analysis.analysed_at;
    let duration = analysis.duration_ms;
    let running = analysis.running;
    let db_links = databases
        .into_iter()
        .map(|d| {
            let href = format!("/advice?target={}&database={}", encode(&target), encode(&d));
            let current = d == database;
            view! {
                <option value=href selected=current>{d}</option>
            }
        })
        .collect_view();
    let (t2, d2) = (target.clone(), database.clone());
    let navigate = leptos_router::hooks::use_navigate();
    let refused = move || {
        refresh
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <ErrorView error=e/> })
    };
    let groups = Kind::ALL
        .iter()
        .filter_map(|kind| {
            let items: Vec<Finding> = analysis
                .findings
                .iter()
                .filter(|f| f.kind == *kind)
                .cloned()
                .collect();
            (!items.is_empty()).then(|| view! { <Group kind=*kind findings=items/> })
        })
        .collect_view();
    let errors = analysis
        .errors
        .iter()
        .map(|e| {
            view! {
                <p class="notice warn" data-testid="advice-section-error">
                    <strong>{e.section.clone()}</strong>": "{e.message.clone()}
                </p>
            }
        })
        .collect_view();
    let empty = analysis.findings.is_empty();
    view! {
        <PageHeader title=format!("Advice · {name}")>
            <label class="inline">
                <span class="muted small">"Database"</span>
                <select
                    data-testid="advice-database"
                    on:change=move |ev| navigate(&event_target_value(&ev), Default::default())
                >
                    {db_links}
                </select>
            </label>
        </PageHeader>
        <div class="card advice-summary" data-testid="advice-summary">
            <p>
                {match analysed {
                    Some(at) => view! {
                        <span>
                            "Analysed "
                            <span title=crate::components::format::utc(from_ms(at))>{move || relative(from_ms(at), now.get())}</span>
                            {format!(" in {}. ", millis(duration))}
                        </span>
                    }.into_any(),
                    None => view! { <span>"Not analysed yet. "</span> }.into_any(),
                }}
                {running.then(|| view! { <span class="badge" data-testid="advice-running">"analysing…"</span> })}
            </p>
            <p data-testid="advice-counts">{summary}</p>
            <p class="muted small">
                "Read from the catalogs on a monitor session (pg_monitor), on request; viewing this page costs the server nothing."
            </p>
            {move || can_act.get().then(|| {
                let (t, d) = (t2.clone(), d2.clone());
                view! {
                <ActionForm action=refresh attr:class="inline-form">
                    <input type="hidden" name="target" value=t/>
                    <input type="hidden" name="database" value=d/>
                    <button type="submit" class="button" data-testid="advice-refresh" disabled=running>
                        "Analyse now"
                    </button>
                </ActionForm>
                }
            })}
            {refused}
        </div>
        {errors}
        {if empty && analysed.is_some() {
            view! { <p class="card empty" data-testid="advice-none">"Nothing to fix in this database."</p> }.into_any()
        } else {
            groups.into_any()
        }}
    }
}

#[component]
fn Group(kind: Kind, findings: Vec<Finding>) -> impl IntoView {
    let n = findings.len();
    view! {
        <section class="card advice-group" data-testid="advice-group" data-kind=kind.as_str()>
            <h2 class="card-title">{kind.title()}" "<span class="muted">{format!("({n})")}</span></h2>
            <ul class="findings">
                {findings.into_iter().map(|f| view! { <FindingView finding=f/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn FindingView(finding: Finding) -> impl IntoView {
    let Finding {
        id,
        severity,
        summary,
        evidence,
        gain_bytes,
        ddl,
        lock,
        note,
        ..
    } = finding;
    view! {
        <li class="finding" data-testid="finding" data-id=id>
            <p>
                <span class=severity_class(severity)>{severity.as_str()}</span>" "
                <span class="finding-summary">{summary}</span>
                {gain_bytes.filter(|b| *b > 0).map(|b| view! { <span class="muted">{format!(" · frees {}", bytes(b))}</span> })}
            </p>
            <dl class="evidence">
                {evidence.into_iter().map(|e| view! { <dt>{e.label}</dt><dd>{e.value}</dd> }).collect_view()}
            </dl>
            {note.map(|n| view! { <p class="muted small finding-note">{n}</p> })}
            {ddl.map(|sql| {
                let copy = sql.clone();
                view! {
                    <div class="ddl">
                        <pre class="sql" data-testid="finding-ddl">{sql}</pre>
                        <CopyButton text=copy label="Copy the DDL"/>
                    </div>
                }
            })}
            {lock.map(|l| view! { <p class="muted small">"Lock: "{l}</p> })}
        </li>
    }
}
