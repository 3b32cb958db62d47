//! The Logs page's entries: newest first, each opening to its detail, hint, context, statement
//! and pgaudit fields, with links to the session (Activity, Locks) and the statement (Queries),
//! the whole text of a cut entry on request, and the filtered view as downloads.

use leptos::prelude::*;

use super::api::get_log_entry;
use super::model::{Kind, LogEntry, LogFilter, LogsPage};
use crate::components::error_view::ErrorView;
use crate::components::format::millis;
use crate::components::live::encode;
use crate::error::AppError;

/// A labelled text of an entry (nothing when empty), rendered as text.
fn field(label: &'static str, v: Option<String>) -> Option<impl IntoView> {
    v.filter(|s| !s.is_empty()).map(|v| view! { <div class="log-field"><span class="small muted">{label}</span><pre class="query-text">{v}</pre></div> })
}

fn severity_class(s: &str) -> &'static str {
    match s {
        "PANIC" | "FATAL" | "ERROR" => "badge bad",
        "WARNING" => "badge warn",
        _ => "badge",
    }
}

#[component]
pub fn Entries(page: LogsPage, filter: LogFilter) -> impl IntoView {
    // The whole filtered view (every page of it) as a download.
    let export = |format: &'static str, label: &'static str| {
        let all = LogFilter {
            before: String::new(),
            ..filter.clone()
        };
        view! {
            <a class="button small" href=format!("/api/logs/export?format={format}&{}", all.query(None)) download data-testid=format!("logs-export-{format}")>{label}</a>
        }
    };
    let newest = (!filter.before.is_empty()).then(|| {
        view! { <a class="button small" href=format!("/logs?{}", filter.query(None))>"← Newest"</a> }
    });
    let older = page.next_before.clone().map(|b| {
        view! { <a class="button small" href=format!("/logs?{}", filter.query(Some(&b))) data-testid="logs-older">"Older →"</a> }
    });
    let summary = match page.entries.len() {
        0 => "No entry matches.".to_owned(),
        1 => "1 entry".to_owned(),
        n if page.next_before.is_some() => format!("{n} entries (more on older pages)"),
        n => format!("{n} entries"),
    };
    let full = page.full_statements;
    let target = page.target.clone();
    let rows = page
        .entries
        .into_iter()
        .map(|e| view! { <Entry e=e target=target.clone() full=full/> })
        .collect_view();
    view! {
        <section class="card table-card" tabindex="0">
            <div class="act-head pad">
                <p class="small muted" data-testid="logs-summary">{summary}
                    {(!full).then_some(" · statements are shown with their constants replaced ($1, $2 …), as on the Queries page")}
                </p>
                <div class="pager">{export("csv", "CSV")}{export("jsonl", "JSON lines")}{newest}{older}</div>
            </div>
            <ol class="log-entries" data-testid="logs-entries">{rows}</ol>
        </section>
    }
}

#[component]
fn Entry(e: LogEntry, target: String, full: bool) -> impl IntoView {
    let t = encode(&target);
    let who = [e.user.clone(), e.database.clone().map(|d| format!("@{d}"))]
        .into_iter()
        .flatten()
        .collect::<String>();
    let links = e.pid.map(|pid| {
        view! {
            <a class="button small" href=format!("/activity?target={t}&pid={pid}") data-testid="logs-to-activity">{format!("Session {pid} on Activity")}</a>
            <a class="button small" href=format!("/locks?target={t}")>"Locks"</a>
            <a class="button small" href=format!("/logs?target={t}&pid={pid}")>{format!("Everything pid {pid} logged")}</a>
        }
    });
    let to_query = e.query_id.map(|q| {
        view! { <a class="button small" href=format!("/queries?target={t}&window=24h&queryid={q}") data-testid="logs-to-queries">"Statement on Queries"</a> }
    });
    let audit = e.audit.clone().map(|a| {
        let line = [
            Some(a.audit_type.clone()),
            Some(a.class.clone()),
            Some(a.command.clone()),
            a.object_type.clone(),
            a.object_name.clone(),
            a.statement_id.map(|s| format!("statement {s}")),
            a.substatement_id.map(|s| format!("substatement {s}")),
            a.rows.map(|r| format!("{r} rows")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        view! {
            <div class="log-field" data-testid="logs-audit"><span class="small muted">"pgaudit"</span><div>{line}</div></div>
            {a.statement.map(|s| view! { <div class="log-field"><span class="small muted">"audited statement"</span><pre class="query-text">{s}</pre></div> })}
            {a.parameter.map(|p| view! { <div class="log-field"><span class="small muted">"parameters"</span><pre class="query-text">{p}</pre></div> })}
        }
    });
    let headline = match (&e.audit, e.duration_ms) {
        (Some(a), _) => format!(
            "{} {} {}",
            a.class,
            a.command,
            a.object_name.clone().unwrap_or_default()
        ),
        (None, Some(d)) if e.kind == Kind::Slow => {
            format!("{} · {}", millis(d.round() as i64), e.message)
        }
        _ => e.message.clone(),
    };
    let time = e.time.replace('T', " ").replace('Z', " UTC");
    view! {
        <li class="log-entry" data-testid="logs-entry" data-id=e.id data-kind=e.kind.name() data-severity=e.severity.clone()>
            <details>
                <summary>
                    <span class="nowrap small">{time}</span>
                    <span class=severity_class(&e.severity)>{e.severity.clone()}</span>
                    <span class="badge">{e.kind.label()}</span>
                    {(!who.is_empty()).then(|| view! { <span class="small">{who.clone()}</span> })}
                    {e.pid.map(|p| view! { <span class="small muted">{format!("pid {p}")}</span> })}
                    <span class="log-message">{headline}</span>
                </summary>
                <div class="log-detail" data-testid="logs-detail">
                    <div class="small muted">
                        {[e.sqlstate.clone().map(|s| format!("SQLSTATE {s}")), e.application.clone().map(|a| format!("application {a}")), e.client.clone().map(|c| format!("client {c}")), e.session_id.clone().map(|s| format!("session {s}")), e.duration_ms.map(|d| format!("{d} ms"))].into_iter().flatten().collect::<Vec<_>>().join(" · ")}
                    </div>
                    {field("message", (e.audit.is_some() || e.kind == Kind::Slow).then(|| e.message.clone()))}
                    {field("detail", e.detail.clone())}
                    {field("hint", e.hint.clone())}
                    {field("context", e.context.clone())}
                    {field(if full { "statement" } else { "statement (constants replaced)" }, e.statement.clone())}
                    {audit}
                    {e.cut.then(|| view! { <WholeText target=target.clone() id=e.id full=full/> })}
                    <div class="log-links">{links}{to_query}</div>
                    <p class="small muted">{format!("{} at byte {}", e.file, e.offset)}</p>
                </div>
            </details>
        </li>
    }
}

/// For an entry the store keeps cut: its whole texts, read again from the server log on request.
#[component]
fn WholeText(target: String, id: i64, full: bool) -> impl IntoView {
    let read = RwSignal::new(None::<Result<LogEntry, AppError>>);
    let busy = RwSignal::new(false);
    let load = move |_| {
        let target = target.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = get_log_entry(Some(target), id.to_string()).await;
            read.set(Some(r));
            busy.set(false);
        });
    };
    view! {
        <div class="log-field" data-testid="logs-whole">
            <p class="small muted">"A text of this entry was longer than pgpanel keeps (8 KiB, statements 16 KiB) and is cut here. "
                <button type="button" class="button small" on:click=load disabled=move || busy.get() data-testid="logs-whole-read">"Read the whole entry from the server log"</button>
            </p>
            {move || read.get().map(|r| match r {
                Ok(w) => view! {
                    <div data-testid="logs-whole-text">
                        {field("whole message", Some(w.message))}
                        {field("whole detail", w.detail)}
                        {field("whole context", w.context)}
                        {field(if full { "whole statement" } else { "whole statement (constants replaced)" }, w.statement)}
                    </div>
                }.into_any(),
                Err(e) => view! { <ErrorView error=e/> }.into_any(),
            })}
        </div>
    }
}
