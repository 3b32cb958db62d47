//! The Advice route: `?target=&database=&sort=`. The latest analysis of one database: a summary
//! (findings by severity, space the fixes give back, when it was analysed and how long it took),
//! "Analyse now" for DBAs, the jobs of the target (an applied fix or a measurement shows its
//! progress there), the largest table and index bloat with bars, method and age ("Measure
//! exactly" for DBAs), and the findings grouped by kind, each with its evidence, the exact DDL
//! (copyable), the lock it takes and, for DBAs, "Apply…" with a confirmation. Reading the page
//! never analyses or measures anything.
//!
//! The bloat tables are in `bloat_table.rs`, the findings in `finding_view.rs`.

use leptos::prelude::*;

use super::api::{RefreshAdvice, advice_view};
use super::bloat_table::BloatTable;
use super::finding_view::Group;
use super::model::{AdvicePageData, Analysis, Finding, Kind, Severity, Workload};
use super::view::Ctx;
use crate::components::clock::use_now;
use crate::components::error_view::ErrorView;
use crate::components::format::{bytes, from_ms, millis, relative};
use crate::components::live::encode;
use crate::components::location::use_query;
use crate::components::page_header::PageHeader;
use crate::error::set_response_status;
use crate::features::auth::me::{ReadOnlyNote, signed_in_role};
use crate::features::auth::model::Role;
use crate::features::maintenance::job_views::JobsPanel;

#[component]
pub fn AdvicePage() -> impl IntoView {
    let query = use_query();
    let params =
        Memo::new(move |_| query.with(|q| (q.get("target"), q.get("database"), q.get("sort"))));
    let refresh = ServerAction::<RefreshAdvice>::new();
    // Re-read every 2 s while an analysis runs, after "Analyse now" and when a job ends.
    let poll = RwSignal::new(0_u32);
    let data = Resource::new(
        move || (params.get(), refresh.version().get(), poll.get()),
        |((t, d, s), _, _)| advice_view(t, d, s),
    );
    Effect::new(move |_| {
        let running = data
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|v| v.analysis.running);
        if running {
            set_timeout(
                move || poll.update(|n| *n += 1),
                std::time::Duration::from_secs(2),
            );
        }
    });
    let sort = Signal::derive(move || params.get().2);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(v)) => view! { <Body view=v refresh=refresh poll=poll sort=sort/> }.into_any(),
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

#[component]
fn Body(
    view: AdvicePageData,
    refresh: ServerAction<RefreshAdvice>,
    poll: RwSignal<u32>,
    sort: Signal<Option<String>>,
) -> impl IntoView {
    let AdvicePageData {
        name,
        databases,
        analysis,
        tables,
        indexes,
        jobs,
    } = view;
    let now = use_now();
    let can_act = Signal::derive(move || signed_in_role().is_some_and(|r| r >= Role::Dba));
    let ctx = Ctx {
        target: StoredValue::new(analysis.target.clone()),
        database: StoredValue::new(analysis.database.clone()),
        can_act,
        jobs_reload: RwSignal::new(0),
    };
    provide_context(ctx);
    let target = analysis.target.clone();
    let database = analysis.database.clone();
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
    let analysed = analysis.analysed_at.is_some();
    let method_note = tables.method_note.clone();
    let workload = analysis.workload.clone();
    view! {
        <PageHeader title=format!("Advice · {name}")>
            <label class="inline">
                <span class="muted small">"Database"</span>
                <select
                    data-testid="advice-database"
                    on:change=move |ev| crate::components::location::go_to(&event_target_value(&ev))
                >
                    {db_links}
                </select>
            </label>
        </PageHeader>
        <ReadOnlyNote actions="Analysing, applying fixes and measuring bloat"/>
        <Summary analysis=analysis refresh=refresh now=now/>
        <JobsPanel target=target.clone() initial=jobs can_act=can_act
            on_finished=Callback::new(move |()| poll.update(|n| *n += 1)) reload=ctx.jobs_reload/>
        {errors}
        {method_note.map(|n| view! { <p class="notice" data-testid="bloat-method-note">{n}</p> })}
        {analysed.then(|| view! {
            <BloatTable title="Table bloat" bloat=tables sort=sort testid="bloat-tables"/>
            <BloatTable title="Index bloat (btree)" bloat=indexes sort=sort testid="bloat-indexes"/>
        })}
        {analysed.then(|| view! { <WorkloadNote workload=workload/> })}
        {if empty && analysed {
            view! { <p class="card empty" data-testid="advice-none">"Nothing to fix in this database."</p> }.into_any()
        } else {
            groups.into_any()
        }}
    }
}

#[component]
fn Summary(
    analysis: Analysis,
    refresh: ServerAction<RefreshAdvice>,
    now: Signal<time::OffsetDateTime>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let count = |s: Severity| analysis.findings.iter().filter(|f| f.severity == s).count();
    let summary = format!(
        "{} critical · {} warning · {} info · {} the fixes give back",
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
        bytes(analysis.reclaimable_bytes())
    );
    let analysed = analysis.analysed_at;
    let duration = analysis.duration_ms;
    let running = analysis.running;
    let refused = move || {
        refresh
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <ErrorView error=e/> })
    };
    view! {
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
                "Read from the catalogs on a monitor session (pg_monitor) on a schedule or on request, bloat measured within a page budget, index suggestions validated with hypopg on the action login (EXPLAIN only, nothing runs); viewing this page costs the server nothing."
            </p>
            {move || ctx.can_act.get().then(|| view! {
                <ActionForm action=refresh attr:class="inline-form">
                    <input type="hidden" name="target" value=ctx.target.get_value()/>
                    <input type="hidden" name="database" value=ctx.database.get_value()/>
                    <button type="submit" class="button" data-testid="advice-refresh" disabled=running>
                        "Analyse now"
                    </button>
                </ActionForm>
            })}
            {refused}
        </div>
    }
}

/// What the missing-index section looked at: statements of the window, how many were considered,
/// whether hypopg validated the suggestions, and the statements left out with the reason.
#[component]
fn WorkloadNote(workload: Workload) -> impl IntoView {
    let Workload {
        window_ms,
        statements,
        considered,
        skipped,
        validated,
    } = workload;
    let hours = window_ms / 3_600_000;
    let line = if statements == 0 {
        format!(
            "Missing indexes: no statement of this database in pgpanel's pg_stat_statements history of the last {hours} h yet."
        )
    } else {
        format!(
            "Missing indexes: {statements} statement{} of this database in the last {hours} h; the {considered} most expensive that a new index could serve were {}.",
            if statements == 1 { "" } else { "s" },
            if validated {
                "validated with hypopg on their generic plans"
            } else {
                "read but not validated"
            }
        )
    };
    let n = skipped.len();
    view! {
        <div class="notice" data-testid="advice-workload">
            <p>{line}</p>
            {(n > 0).then(|| view! {
                <details>
                    <summary class="small">{format!("{n} left out")}</summary>
                    <ul class="small">
                        {skipped.into_iter().map(|s| view! {
                            <li><code>{s.queryid}</code>": "{s.reason}</li>
                        }).collect_view()}
                    </ul>
                </details>
            })}
        </div>
    }
}
