//! `GET /api/audit/export?format=csv|jsonl&action=&actor=&target=&outcome=&object=&since=&until=`:
//! pgpanel's own trail for the same filters as the Audit page, every event (intents as their own
//! rows), newest first, streamed. Analyst and up, like the page.

use std::collections::HashMap;

use super::api::server::{Filters, entry, query};
use super::model::AuditEntry;
use crate::error::AppError;
use crate::export::{BATCH, Download, Format, after, filename, stream};
use crate::features::auth::context::{Caller, check};
use crate::features::auth::model::{Access, Role};
use crate::state::AppState;

const COLUMNS: &[&str] = &[
    "id",
    "time",
    "actor",
    "actor_role",
    "client_addr",
    "action",
    "target",
    "object",
    "parameters",
    "outcome",
    "error",
    "intent_id",
];

fn csv(e: &AuditEntry) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        e.id.to_string(),
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        s(&e.actor),
        s(&e.actor_role),
        s(&e.client_addr),
        e.action.clone(),
        s(&e.target),
        s(&e.object),
        e.parameters
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        e.outcome.clone(),
        s(&e.error),
        e.intent_id.map(|i| i.to_string()).unwrap_or_default(),
    ]
}

pub async fn download(
    state: AppState,
    caller: Option<&Caller>,
    params: &HashMap<String, String>,
) -> Result<Download, AppError> {
    check(Access::AtLeast(Role::Analyst), caller)?;
    let format = Format::parse(params.get("format").map(String::as_str))?;
    let get = |k: &str| params.get(k).cloned();
    let q = query(Filters {
        action: get("action"),
        actor: get("actor"),
        target: get("target"),
        outcome: get("outcome"),
        object: get("object"),
        since: get("since"),
        until: get("until"),
        before: get("before"),
        ..Filters::default()
    })?;
    let body = stream(format, COLUMNS, csv, move |cursor: Option<i64>| {
        let state = state.clone();
        let q = crate::store::AuditQuery {
            before_id: cursor.or(q.before_id),
            limit: BATCH,
            fold: false,
            ..q.clone()
        };
        async move {
            let rows: Vec<AuditEntry> = state
                .store
                .audit_page(&q)
                .await?
                .into_iter()
                .map(entry)
                .collect();
            let next = after(&rows, |e| Some(e.id));
            Ok((rows, next))
        }
    });
    Ok(Download {
        filename: filename("audit", format),
        format,
        body,
    })
}
