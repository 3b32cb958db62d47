//! `GET /api/app-audit/export?format=csv|jsonl&target=&source=&…` (the filters of
//! `GET /api/app-audit`): every change the filter selects, newest first, streamed from the
//! target a batch at a time over one monitor session. Analyst and up, like the page.

use std::collections::HashMap;
use std::sync::Arc;

use super::api::server::{Filters, open, query, resolve};
use super::db::{AppAuditQuery, page};
use super::model::AppAuditRow;
use crate::error::AppError;
use crate::export::{BATCH, Download, Format, after, filename, stream};
use crate::features::auth::context::{Caller, check};
use crate::features::auth::model::{Access, Role};
use crate::state::AppState;

const COLUMNS: &[&str] = &[
    "time",
    "id",
    "table",
    "operation",
    "actor",
    "session",
    "record",
    "changes",
    "old",
    "new",
    "columns",
];

fn csv(r: &AppAuditRow) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let changes = r
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} -> {}",
                c.field,
                json(&c.old).chars().take(200).collect::<String>(),
                json(&c.new).chars().take(200).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        r.time.clone(),
        r.id.clone(),
        s(&r.table),
        s(&r.operation),
        s(&r.actor),
        s(&r.session),
        s(&r.record),
        changes,
        json(&r.old),
        json(&r.new),
        serde_json::Value::Object(r.columns.clone()).to_string(),
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
        table: get("table"),
        operation: get("operation"),
        actor: get("actor"),
        since: get("since"),
        until: get("until"),
        text: get("text"),
        record: get("record"),
        before: get("before"),
        limit: None,
    })?;
    let (t, spec) = resolve(&state, get("target"), get("source"))?;
    // Opened before the first byte is sent: a missing grant or an unknown layout is an error
    // response, not a truncated file.
    let (conn, layout) = open(&t, &spec).await?;
    let session = Arc::new(tokio::sync::Mutex::new(conn));
    let (layout, key) = (Arc::new(layout), spec.record_key.clone());
    let body = stream(
        format,
        COLUMNS,
        csv,
        move |cursor: Option<(i64, String)>| {
            let (session, layout, key) = (session.clone(), layout.clone(), key.clone());
            let q = AppAuditQuery {
                before: cursor.or(q.before.clone()),
                limit: BATCH,
                ..q.clone()
            };
            async move {
                let mut conn = session.lock().await;
                let rows = page(&mut conn, &layout, &q, &key).await?;
                let next = after(&rows, |(_, c)| super::db::parse_before(c));
                Ok((rows.into_iter().map(|(r, _)| r).collect(), next))
            }
        },
    );
    Ok(Download {
        filename: filename(&format!("app-audit-{}-{}", t.spec.id, spec.id), format),
        format,
        body,
    })
}
