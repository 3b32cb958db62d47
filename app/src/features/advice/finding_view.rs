//! The Advice page's findings, grouped by kind: severity, summary, evidence, the statements a
//! suggested index serves, the exact DDL (copyable), the lock it takes and, for DBAs, "Apply…"
//! with a confirmation (a typed word where it blocks the application).

use leptos::prelude::*;

use super::api::apply_finding;
use super::model::{Finding, Kind, QueryUse, Severity};
use super::view::{Ctx, JobDialog};
use crate::components::copy_button::CopyButton;
use crate::components::dialog::ConfirmDialog;
use crate::components::format::{bytes, millis};
use crate::components::live::encode;

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "badge bad",
        Severity::Warning => "badge warn",
        Severity::Info => "badge",
    }
}

#[component]
pub(super) fn Group(kind: Kind, findings: Vec<Finding>) -> impl IntoView {
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
    let dialog = JobDialog::new();
    let JobDialog { open, busy, error } = dialog;
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
        dialog.ask(ctx, apply_finding(t, d, f, c));
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
