//! `GET /api/logs/export?format=csv|jsonl&target=&…` (the filters of `GET /api/logs`): every
//! entry the filter selects, newest first, streamed; analysts get what the page shows them
//! (statements without constants, no pgaudit parameters).

use std::collections::HashMap;

use super::api::server::{Filters, mask, query, target};
use super::model::LogEntry;
use crate::error::AppError;
use crate::export::{BATCH, Download, Format, after, filename, stream};
use crate::features::auth::context::{Caller, check};
use crate::features::auth::model::{Access, Role};
use crate::state::AppState;

const COLUMNS: &[&str] = &[
    "time",
    "severity",
    "kind",
    "sqlstate",
    "user",
    "database",
    "application",
    "client",
    "pid",
    "session_id",
    "message",
    "detail",
    "hint",
    "context",
    "statement",
    "duration_ms",
    "query_id",
    "audit_class",
    "audit_command",
    "audit_object",
    "cut",
    "file",
    "offset",
];

fn csv(e: &LogEntry) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        e.time.clone(),
        e.severity.clone(),
        e.kind.name().to_owned(),
        s(&e.sqlstate),
        s(&e.user),
        s(&e.database),
        s(&e.application),
        s(&e.client),
        e.pid.map(|p| p.to_string()).unwrap_or_default(),
        s(&e.session_id),
        e.message.clone(),
        s(&e.detail),
        s(&e.hint),
        s(&e.context),
        s(&e.statement),
        e.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
        e.query_id.map(|q| q.to_string()).unwrap_or_default(),
        e.audit
            .as_ref()
            .map(|a| a.class.clone())
            .unwrap_or_default(),
        e.audit
            .as_ref()
            .map(|a| a.command.clone())
            .unwrap_or_default(),
        e.audit
            .as_ref()
            .and_then(|a| a.object_name.clone())
            .unwrap_or_default(),
        e.cut.to_string(),
        e.file.clone(),
        e.offset.to_string(),
    ]
}

pub async fn download(
    state: AppState,
    caller: Option<&Caller>,
    params: &HashMap<String, String>,
) -> Result<Download, AppError> {
    check(Access::AtLeast(Role::Analyst), caller)?;
    let full = caller.is_some_and(|c| c.role >= Role::Dba);
    let format = Format::parse(params.get("format").map(String::as_str))?;
    let get = |k: &str| params.get(k).cloned();
    let (id, _) = target(&state, get("target"))?;
    let q = query(
        id.clone(),
        Filters {
            since: get("since"),
            until: get("until"),
            severity: get("severity"),
            kind: get("kind"),
            user: get("user"),
            database: get("database"),
            application: get("application"),
            pid: get("pid"),
            text: get("text"),
            before: get("before"),
            limit: None,
        },
    )?;
    // One decision for every batch.
    let q = crate::store::LogQuery {
        text_plan: Some(state.store.log_text_plan(&q).await?),
        ..q
    };
    let body = stream(format, COLUMNS, csv, move |cursor: Option<(i64, i64)>| {
        let state = state.clone();
        let q = crate::store::LogQuery {
            before: cursor.or(q.before),
            limit: BATCH,
            ..q.clone()
        };
        async move {
            let mut rows = state.store.log_page(&q).await?;
            let next = after(&rows, |e| {
                Some((crate::clock::millis_of_rfc3339(&e.time), e.id))
            });
            if !full {
                rows.iter_mut().for_each(mask);
            }
            Ok((rows, next))
        }
    });
    Ok(Download {
        filename: filename(&format!("logs-{id}"), format),
        format,
        body,
    })
}
