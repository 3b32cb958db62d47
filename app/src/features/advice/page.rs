//! The Advice route: `?target=&database=&sort=`. The latest analysis of one database: a summary
//! (findings by severity, space the fixes give back, when it was analysed and how long it took),
//! "Analyse now" for DBAs, the jobs of the target (an applied fix or a measurement shows its
//! progress there), the largest table and index bloat with bars, method and age ("Measure
//! exactly" for DBAs), and the findings grouped by kind, each with its evidence, the exact DDL
//! (copyable), the lock it takes and, for DBAs, "Apply…" with a confirmation. Reading the page
//! never analyses or measures anything.

use leptos::prelude::*;

use super::api::{PAGE_ROWS, RefreshAdvice, advice_view, apply_finding, measure_bloat};
use super::model::{
    AdvicePageData, Analysis, Bloat, BloatRow, Finding, Kind, Method, QueryUse, Severity, Workload,
};
use crate::components::clock::use_now;
use crate::components::copy_button::CopyButton;
use crate::components::dialog::ConfirmDialog;
use crate::components::error_view::ErrorView;
use crate::components::format::{bytes, from_ms, millis, relative};
use crate::components::live::encode;
use crate::components::location::use_query;
use crate::components::page_header::PageHeader;
use crate::error::set_response_status;
use crate::features::auth::me::{ReadOnlyNote, signed_in_role};
use crate::features::auth::model::Role;
use crate::features::maintenance::job_views::JobsPanel;

/// What the parts of the page share: where they are, whether the viewer may act, and the
/// signal that makes the jobs panel read again at once (a job was started).
#[derive(Clone, Copy)]
struct Ctx {
    target: StoredValue<String>,
    database: StoredValue<String>,
    can_act: Signal<bool>,
    jobs_reload: RwSignal<u32>,
}

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

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "badge bad",
        Severity::Warning => "badge warn",
        Severity::Info => "badge",
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

/// The method and age of a bloat figure, in words.
fn method_words(r: &BloatRow) -> &'static str {
    match r.method {
        Method::Estimate => "dead tuples only",
        Method::Approx => "approx",
        Method::Exact => "exact",
        Method::Unmeasured => "not measured",
    }
}

#[component]
fn BloatTable(
    title: &'static str,
    bloat: Bloat,
    sort: Signal<Option<String>>,
    testid: &'static str,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let now = use_now();
    let is_index = testid == "bloat-indexes";
    let shown = bloat.rows.len();
    let more = bloat.more;
    let header = move |key: &'static str, label: &'static str| {
        let href = format!(
            "/advice?target={}&database={}&sort={key}",
            encode(&ctx.target.get_value()),
            encode(&ctx.database.get_value())
        );
        let current = move || sort.get().as_deref().unwrap_or("bloat_bytes") == key;
        view! {
            <th class="num" aria-sort=move || if current() { "descending" } else { "none" }>
                <a href=href class:current=current data-testid=format!("sort-{key}")>{label}</a>
            </th>
        }
    };
    let rows = bloat
        .rows
        .into_iter()
        .map(|r| view! { <BloatLine r=r now=now/> })
        .collect_view();
    view! {
        <section class="card" data-testid=testid>
            <h2 class="card-title">{title}" "
                <span class="muted small">{if more > 0 { format!("(largest {shown} of {})", shown + more) } else { format!("({shown})") }}</span>
            </h2>
            {if shown == 0 {
                view! { <p class="muted small">{if is_index { "No btree indexes." } else { "No tables." }}</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" tabindex="0">
                        <table class="data compact bloat">
                            <thead><tr>
                                <th>{if is_index { "index" } else { "table" }}</th>
                                {header("bytes", "size")}
                                {header("bloat_ratio", "bloat")}
                                {header("bloat_bytes", "reclaimable")}
                                <th>"method"</th>
                                <th>"measured"</th>
                                <th><span class="visually-hidden">"actions"</span></th>
                            </tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            {(shown > 0 && PAGE_ROWS == shown && more > 0).then(|| view! {
                <p class="muted small">"The rest: GET /api/advice/bloat (every table and btree index)."</p>
            })}
        </section>
    }
}

#[component]
fn BloatLine(r: BloatRow, now: Signal<time::OffsetDateTime>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = r.index.clone().map_or_else(
        || format!("{}.{}", r.schema, r.table),
        |i| format!("{}.{} (on {})", r.schema, i, r.table),
    );
    let pct = r.bloat_ratio.map(|x| (x * 100.0).clamp(0.0, 100.0));
    // A meter, not a styled bar: the page's CSP allows no inline style.
    let bar = pct.map(|p| {
        view! {
            <meter class="bloat-meter" min="0" max="100" low="20" high="50" optimum="0" value=p
                aria-label=format!("{p:.0} % reclaimable")></meter>
            <span>{format!(" {p:.0} %")}</span>
        }
    });
    let toast = (r.index.is_none() && r.toast_bytes > 0).then(|| {
        format!(
            "TOAST {}{}",
            bytes(r.toast_bytes),
            r.toast_bloat_bytes
                .map_or(String::new(), |t| format!(", dead + free ≤ {}", bytes(t)))
        )
    });
    let measured = r.measured_at;
    let note = r.note.clone();
    let dropped = r.dropped_columns;
    let size = r.bytes;
    let label = name.clone();
    let measure_title = format!("Measure {name} exactly?");
    let reads = format!(
        "Reads every page of the relation ({}) with {} on the monitor login; on a large relation that takes a while and competes for I/O. The figure then replaces the estimate.",
        bytes(size),
        if r.index.is_some() {
            "pgstatindex"
        } else {
            "pgstattuple"
        }
    );
    let shown_name = name.clone();
    let (schema, table, index) = (r.schema.clone(), r.table.clone(), r.index.clone());
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let run = move |_| {
        let (t, d) = (ctx.target.get_value(), ctx.database.get_value());
        let (s, tb, ix) = (schema.clone(), table.clone(), index.clone());
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let got = if ix.is_some() {
                measure_bloat(t, d, s, None, ix).await
            } else {
                measure_bloat(t, d, s, Some(tb), None).await
            };
            busy.set(false);
            match got {
                Ok(_) => {
                    open.set(false);
                    ctx.jobs_reload.update(|n| *n = n.wrapping_add(1));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <tr data-testid="bloat-row" data-name=name data-method=r.method.as_str()>
            <td>
                <span class="name">{shown_name}</span>
                {toast.map(|t| view! { <span class="muted small block">{t}</span> })}
                {dropped.then(|| view! { <span class="muted small block">"dropped columns: a rewrite gives back more than shown"</span> })}
                {note.map(|n| view! { <span class="muted small block">{n}</span> })}
            </td>
            <td class="num">{bytes(r.bytes)}</td>
            <td class="num bloat-bar">{bar}</td>
            <td class="num">{r.bloat_bytes.map(bytes)}</td>
            <td>{method_words(&r)}</td>
            <td>{measured.map(|at| view! { <span title=crate::components::format::utc(from_ms(at))>{move || relative(from_ms(at), now.get())}</span> })}</td>
            <td>
                {move || ctx.can_act.get().then(|| view! {
                    <button class="button small" data-testid="measure-exactly"
                        aria-label=format!("Measure exactly: {label}")
                        on:click=move |_| open.update(|o| *o = !*o)>"Measure exactly"</button>
                })}
                {move || open.get().then(|| {
                    let (run, reads) = (run.clone(), reads.clone());
                    view! {
                    <ConfirmDialog title=measure_title.clone() testid="measure-confirm"
                        on_close=Callback::new(move |()| open.set(false))>
                        <p class="small">{reads}</p>
                        <div role="status" aria-live="polite">
                            {move || error.get().map(|e| view! { <p class="notice small" data-testid="measure-error">{e}</p> })}
                        </div>
                        <div class="act-buttons">
                            <button class="button small primary" data-testid="measure-run" disabled=move || busy.get() on:click=run>"Measure"</button>
                            <button class="button small" on:click=move |_| open.set(false)>"Cancel"</button>
                        </div>
                    </ConfirmDialog>
                }})}
            </td>
        </tr>
    }
}

#[component]
fn Group(kind: Kind, findings: Vec<Finding>) -> impl IntoView {
    let n = findings.len();
    let link = match kind {
        Kind::TableBloat | Kind::AutovacuumBehind => Some(("/maintenance", "Maintenance")),
        _ => None,
    };
    let ctx = expect_context::<Ctx>();
    view! {
        <section class="card advice-group" data-testid="advice-group" data-kind=kind.as_str()>
            <h2 class="card-title">{kind.title()}" "<span class="muted">{format!("({n})")}</span>
                {link.map(|(path, label)| view! {
                    <a class="small card-link" href=format!("{path}?target={}&database={}", encode(&ctx.target.get_value()), encode(&ctx.database.get_value()))>
                        {format!("{label} →")}
                    </a>
                })}
            </h2>
            <ul class="findings">
                {findings.into_iter().map(|f| view! { <FindingView finding=f/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn FindingView(finding: Finding) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let Finding {
        id,
        severity,
        summary,
        evidence,
        gain_bytes,
        ddl,
        statements,
        confirm,
        lock,
        note,
        queries,
        ..
    } = finding;
    let runnable = !statements.is_empty();
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let typed = RwSignal::new(String::new());
    let fid = StoredValue::new(id.clone());
    let word = StoredValue::new(confirm.clone());
    let run = move |_| {
        let (t, d, f) = (
            ctx.target.get_value(),
            ctx.database.get_value(),
            fid.get_value(),
        );
        let c = word.get_value().map(|_| typed.get_untracked());
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let got = apply_finding(t, d, f, c).await;
            busy.set(false);
            match got {
                Ok(_) => {
                    open.set(false);
                    ctx.jobs_reload.update(|n| *n = n.wrapping_add(1));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    // What blocks the application or drops something is confirmed in red.
    let drops = statements.iter().any(|s| s.starts_with("DROP "));
    let shown = statements.join("\n");
    let lock_line = lock.clone();
    // Every finding has a Copy and an Apply button: their names say which finding.
    let object = summary.clone();
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
            {(!queries.is_empty()).then(|| view! { <Served queries=queries/> })}
            {ddl.map(|sql| {
                let copy = sql.clone();
                let copy_label = format!("Copy the DDL: {object}");
                let apply_of = format!(" the fix: {object}");
                view! {
                    <div class="ddl">
                        <pre class="sql" tabindex="0" data-testid="finding-ddl">{sql}</pre>
                        <CopyButton text=copy label=copy_label/>
                        {move || (runnable && ctx.can_act.get()).then(|| {
                            let apply_of = apply_of.clone();
                            view! {
                                <button class="button small" data-testid="finding-apply"
                                    on:click=move |_| open.update(|o| *o = !*o)>
                                    "Apply…"<span class="visually-hidden">{apply_of}</span>
                                </button>
                            }
                        })}
                    </div>
                }
            })}
            {lock.map(|l| view! { <p class="muted small">"Lock: "{l}</p> })}
            {move || open.get().then(|| {
                let needs = word.get_value();
                let (shown, lock_line, run) = (shown.clone(), lock_line.clone(), run);
                let danger = needs.is_some() || drops;
                view! {
                    <ConfirmDialog title="Apply this change?" danger=danger testid="apply-confirm"
                        on_close=Callback::new(move |()| open.set(false))>
                        <p class="small">"pgpanel checks the catalog again, then runs on the action login, as a job:"</p>
                        <pre class="sql" tabindex="0">{shown}</pre>
                        {lock_line.map(|l| view! { <p class="small">"Lock: "{l}</p> })}
                        {needs.map(|w| view! {
                            <label class="small block">
                                {format!("This blocks the application while it runs: type {w} to go ahead ")}
                                <input type="text" data-testid="apply-confirm-word" autocomplete="off"
                                    on:input=move |ev| typed.set(event_target_value(&ev))/>
                            </label>
                        })}
                        <div role="status" aria-live="polite">
                            {move || error.get().map(|e| view! { <p class="notice small" data-testid="apply-error">{e}</p> })}
                        </div>
                        <div class="act-buttons">
                            <button class=if danger { "button small danger" } else { "button small primary" } data-testid="apply-run"
                                disabled=move || busy.get() on:click=run>"Run"</button>
                            <button class="button small" on:click=move |_| open.set(false)>"Cancel"</button>
                        </div>
                    </ConfirmDialog>
                }
            })}
        </li>
    }
}

/// The statements a suggested index serves: the text as pg_stat_statements keeps it, what they
/// cost in the window, the plan cost before → after, and the statement on the Queries page.
#[component]
fn Served(queries: Vec<QueryUse>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let target = ctx.target.get_value();
    view! {
        <ul class="served" data-testid="finding-queries">
            {queries.into_iter().map(|q| {
                let href = format!(
                    "/queries?target={}&window=24h&queryid={}",
                    encode(&target),
                    encode(&q.queryid)
                );
                // One link per statement, and a finding may list several: the name says which.
                let which = format!(", statement {}", q.queryid);
                let cost = match (q.cost_before, q.cost_after) {
                    (Some(b), Some(a)) => format!(" · plan cost {b:.0} → {a:.0}"),
                    (Some(b), None) => format!(" · plan cost {b:.0}"),
                    _ => String::new(),
                };
                view! {
                    <li>
                        <pre class="sql query-text">{q.query}</pre>
                        <span class="muted small">
                            {format!("{} calls, {} in the last 24 h{cost} · ", q.calls, millis(q.total_ms.round() as i64))}
                            <a href=href data-testid="finding-query-link">"In Queries"<span class="visually-hidden">{which}</span>" →"</a>
                        </span>
                    </li>
                }
            }).collect_view()}
        </ul>
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
