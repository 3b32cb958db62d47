//! The Audit area's application tables: `/audit/app?target=&source=&table=&operation=&actor=
//! &since=&until=&text=&record=&before=`. Each recorded change as an old → new diff, newest
//! first; a row's history (`record`); the filtered view as a link and as CSV or JSON lines.

use leptos::prelude::*;
use serde_json::Value;

use super::api::list_app_audit;
use super::model::{AppAuditFilter, AppAuditPage, AppAuditRow, Change, OPERATIONS};
use crate::components::error_view::ErrorView;
use crate::components::location::use_query;
use crate::components::page_data::page_data;
use crate::components::page_header::PageHeader;
use crate::components::subnav::{AUDIT_AREA, SubNav};
use crate::error::{AppError, set_response_status};
use crate::features::audit::model::opt;

async fn load(f: AppAuditFilter) -> Result<AppAuditPage, AppError> {
    list_app_audit(
        opt(&f.target),
        opt(&f.source),
        opt(&f.table),
        opt(&f.operation),
        opt(&f.actor),
        opt(&f.since),
        opt(&f.until),
        opt(&f.text),
        opt(&f.record),
        opt(&f.before),
        None,
    )
    .await
}

#[component]
pub fn AppAuditTablesPage() -> impl IntoView {
    let query = use_query();
    let filter = Memo::new(move |_| {
        query.with(|q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            AppAuditFilter {
                target: get("target"),
                source: get("source"),
                table: get("table"),
                operation: get("operation"),
                actor: get("actor"),
                since: get("since"),
                until: get("until"),
                text: get("text"),
                record: get("record"),
                before: get("before"),
            }
        })
    });
    let page = page_data(move || filter.get(), load);
    view! {
        <PageHeader title="Audit">
            <span class="muted small">"What the applications' own audit tables recorded, newest first"</span>
        </PageHeader>
        <SubNav label="Audit area" items=AUDIT_AREA current="/audit/app"/>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let f = AppAuditFilter {
                            target: p.target.clone(),
                            source: p.source.clone(),
                            ..filter.get_untracked()
                        };
                        view! { <Body page=p filter=f/> }.into_any()
                    }
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
fn Body(page: AppAuditPage, filter: AppAuditFilter) -> impl IntoView {
    let sources = (page.sources.len() > 1).then(|| {
        let links = page
            .sources
            .iter()
            .map(|s| {
                let here = s.target == page.target && s.id == page.source;
                let href = format!(
                    "/audit/app?target={}&source={}",
                    crate::components::live::encode(&s.target),
                    crate::components::live::encode(&s.id)
                );
                view! { <a class="button small" href=href aria-current=here.then_some("page")>{format!("{} · {}", s.target, s.name)}</a> }
            })
            .collect_view();
        view! { <div class="presets" data-testid="app-audit-sources">{links}</div> }
    });
    let layout = page
        .layout
        .iter()
        .map(|(meaning, column)| format!("{meaning}: {column}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let hint = page.index_hint.clone().map(|sql| {
        view! {
            <div class="notice warn small" data-testid="app-audit-index-hint">
                "No index starts with the time column, so each page reads the table. A DBA can add one:"
                <code class="query-text">{sql}</code>
            </div>
        }
    });
    let history = (!filter.record.is_empty()).then(|| {
        let all = AppAuditFilter {
            record: String::new(),
            before: String::new(),
            ..filter.clone()
        };
        view! {
            <p class="small" data-testid="app-audit-history">
                {format!(
                    "History of row {}{}, every recorded change, newest first. ",
                    filter.record,
                    if filter.table.is_empty() { String::new() } else { format!(" of {}", filter.table) }
                )}
                <a href=format!("/audit/app?{}", all.query(None))>"All rows"</a>
            </p>
        }
    });
    let export = |format: &'static str, label: &'static str| {
        let f = AppAuditFilter {
            before: String::new(),
            ..filter.clone()
        };
        view! {
            <a class="button small" href=format!("/api/app-audit/export?format={format}&{}", f.query(None)) download data-testid=format!("app-audit-export-{format}")>{label}</a>
        }
    };
    let newest = (!filter.before.is_empty()).then(|| {
        view! { <a class="button small" href=format!("/audit/app?{}", filter.query(None))>"← Newest"</a> }
    });
    let older = page.next_before.clone().map(|b| {
        view! { <a class="button small" href=format!("/audit/app?{}", filter.query(Some(&b))) data-testid="app-audit-older">"Older →"</a> }
    });
    let summary = match page.rows.len() {
        0 => "No change matches.".to_owned(),
        1 => "1 change".to_owned(),
        n if page.next_before.is_some() => format!("{n} changes (more on older pages)"),
        n => format!("{n} changes"),
    };
    let empty = page.rows.is_empty();
    let rows = page
        .rows
        .into_iter()
        .map(|r| view! { <Row row=r filter=filter.clone()/> })
        .collect_view();
    view! {
        {sources}
        <p class="small muted" data-testid="app-audit-source">
            {format!("{} · table {} in database {} · ", page.source_name, page.relation, page.database)}
            <span title="Which column carries which meaning (recognised, or named in the configuration)">{layout}</span>
        </p>
        {hint}
        <Filters filter=filter.clone()/>
        {history}
        <section class="card table-card" tabindex="0">
            <div class="act-head pad">
                <p class="small muted" data-testid="app-audit-summary">{summary}</p>
                <div class="pager">{export("csv", "CSV")}{export("jsonl", "JSON lines")}{newest}{older}</div>
            </div>
            {(!empty).then(|| view! {
                <table class="data" data-testid="app-audit-rows">
                    <thead><tr>
                        <th>"When"</th>
                        <th>"Table · row"</th>
                        <th>"Operation"</th>
                        <th>"Who"</th>
                        <th>"What changed"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            })}
        </section>
    }
}

#[component]
fn Filters(filter: AppAuditFilter) -> impl IntoView {
    let operations = OPERATIONS
        .iter()
        .map(|o| view! { <option value=*o selected=filter.operation.eq_ignore_ascii_case(o)>{*o}</option> })
        .collect_view();
    let clear = AppAuditFilter {
        target: filter.target.clone(),
        source: filter.source.clone(),
        ..Default::default()
    };
    view! {
        <form method="get" action="/audit/app" class="filters card" data-testid="app-audit-filters">
            <input type="hidden" name="target" value=filter.target.clone()/>
            <input type="hidden" name="source" value=filter.source.clone()/>
            <label>"Table"<input type="search" name="table" value=filter.table.clone() placeholder="orders" data-testid="app-audit-table"/></label>
            <label>"Operation"
                <select name="operation" data-testid="app-audit-operation">
                    <option value="" selected=filter.operation.is_empty()>"any"</option>
                    {operations}
                </select>
            </label>
            <label>"Who"<input type="search" name="actor" value=filter.actor.clone() placeholder="user"/></label>
            <label>"Row id"<input type="search" name="record" value=filter.record.clone() placeholder="42" data-testid="app-audit-record"/></label>
            <label class="grow">"Text"<input type="search" name="text" value=filter.text.clone() placeholder="anywhere in the change" data-testid="app-audit-text"/></label>
            <label>"Since (UTC, RFC 3339)"<input type="search" name="since" value=filter.since.clone() placeholder="e.g. 2026-11-24T09:00:00Z"/></label>
            <label>"Until (UTC, RFC 3339)"<input type="search" name="until" value=filter.until.clone() placeholder="e.g. 2026-11-24T10:00:00Z"/></label>
            <div class="filter-buttons">
                <button type="submit" class="button primary small" data-testid="app-audit-apply">"Filter"</button>
                <a class="button small" href=format!("/audit/app?{}", clear.query(None))>"Clear"</a>
            </div>
        </form>
    }
}

/// A JSON value as a person reads it: strings without their quotes.
fn shown(v: &Option<Value>) -> String {
    match v {
        None => "–".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn operation_class(op: &str) -> &'static str {
    match op {
        "INSERT" => "badge good",
        "DELETE" | "TRUNCATE" => "badge bad",
        "UPDATE" => "badge warn",
        _ => "badge",
    }
}

#[component]
fn Row(row: AppAuditRow, filter: AppAuditFilter) -> impl IntoView {
    let op = row.operation.clone().unwrap_or_default();
    let history = row.record.clone().map(|key| {
        // Every change of that row: the other filters do not apply.
        let f = AppAuditFilter {
            target: filter.target.clone(),
            source: filter.source.clone(),
            record: key.clone(),
            table: row.table.clone().unwrap_or_default(),
            ..AppAuditFilter::default()
        };
        view! { <a class="small" href=format!("/audit/app?{}", f.query(None)) data-testid="app-audit-row-history">{format!("row {key} · history")}</a> }
    });
    let brief = row
        .changes
        .iter()
        .take(3)
        .map(|c| match op.as_str() {
            "INSERT" => format!("{} = {}", c.field, shown(&c.new)),
            "DELETE" => format!("{} was {}", c.field, shown(&c.old)),
            _ => format!("{}: {} → {}", c.field, shown(&c.old), shown(&c.new)),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let more = row.changes.len().saturating_sub(3);
    let changes = row
        .changes
        .iter()
        .map(|c: &Change| {
            view! {
                <tr data-testid="app-audit-change" data-field=c.field.clone()>
                    <th scope="row"><code>{c.field.clone()}</code></th>
                    <td class="diff-old">{shown(&c.old)}</td>
                    <td class="diff-new">{shown(&c.new)}</td>
                </tr>
            }
        })
        .collect_view();
    let columns = row
        .columns
        .iter()
        .map(|(k, v)| format!("{k}: {}", shown(&Some(v.clone()))))
        .collect::<Vec<_>>()
        .join(" · ");
    let session = row.session.clone().map(|s| format!("session {s}"));
    view! {
        <tr data-testid="app-audit-row" data-operation=op.clone() data-id=row.id.clone()>
            <td class="nowrap">{row.time.replace('T', " ")}</td>
            <td>
                <div>{row.table.clone().unwrap_or_else(|| "–".into())}</div>
                {history}
            </td>
            <td><span class=operation_class(&op)>{if op.is_empty() { "–".to_owned() } else { op.clone() }}</span></td>
            <td>
                <div>{row.actor.clone().unwrap_or_else(|| "–".into())}</div>
                <div class="small muted">{session}</div>
            </td>
            <td class="audit-details">
                <details data-testid="app-audit-diff">
                    <summary class="small">
                        {if brief.is_empty() { "no field changed".to_owned() } else { brief }}
                        {(more > 0).then(|| format!(" (+{more} more)"))}
                        <span class="visually-hidden">{format!(" — audit row {}", row.id)}</span>
                    </summary>
                    <table class="data diff">
                        <thead><tr><th>"Field"</th><th>"Old"</th><th>"New"</th></tr></thead>
                        <tbody>{changes}</tbody>
                    </table>
                    {(!columns.is_empty()).then(|| view! { <p class="small muted">{format!("Audit row {} · {columns}", row.id)}</p> })}
                </details>
            </td>
        </tr>
    }
}
