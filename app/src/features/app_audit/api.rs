//! `GET /api/app-audit?target=&source=&table=&operation=&actor=&since=&until=&text=&record=
//! &before=&limit=`: the rows of an application audit table configured under the target
//! (`[[targets.audit_tables]]`), newest first, keyset-paged on (time, row id), each with its
//! old → new diff. Analyst and up. Read with the monitor login in the table's database, which
//! needs SELECT on that table only.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::AppAuditPage;
use crate::error::AppError;

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "app-audit", input = GetUrl, output = crate::codec::Json)]
pub async fn list_app_audit(
    target: Option<String>,
    source: Option<String>,
    table: Option<String>,
    operation: Option<String>,
    actor: Option<String>,
    since: Option<String>,
    until: Option<String>,
    text: Option<String>,
    record: Option<String>,
    before: Option<String>,
    limit: Option<String>,
) -> Result<AppAuditPage, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let f = server::Filters {
        table,
        operation,
        actor,
        since,
        until,
        text,
        record,
        before,
        limit,
    };
    let q = server::query(f)?;
    let (t, spec) = server::resolve(&state, target, source)?;
    let (mut conn, layout) = server::open(&t, &spec).await?;
    let mut rows = super::db::page(
        &mut conn,
        &layout,
        &super::db::AppAuditQuery {
            limit: q.limit + 1,
            ..q.clone()
        },
        &spec.record_key,
    )
    .await?;
    let next_before = (rows.len() as i64 > q.limit).then(|| {
        rows.truncate(q.limit as usize);
        rows.last().map(|(_, c)| c.clone()).unwrap_or_default()
    });
    Ok(AppAuditPage {
        target: t.spec.id.clone(),
        source: spec.id.clone(),
        source_name: spec.name.clone(),
        relation: layout.relation.clone(),
        database: spec.database.clone(),
        layout: layout.describe(),
        index_hint: layout.index_hint(),
        rows: rows.into_iter().map(|(r, _)| r).collect(),
        next_before,
        sources: server::sources(&state),
    })
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use std::sync::Arc;

    use super::super::db::{AppAuditQuery, parse_before};
    use super::super::layout::Layout;
    use super::super::model::{OPERATIONS, PAGE_DEFAULT, PAGE_MAX, SourceInfo};
    use super::super::spec::AuditTableSpec;
    use crate::error::AppError;
    use crate::error::{moment, number, text};
    use crate::features::targets::conn::{LoginKind, open as open_session};
    use crate::features::targets::monitor::Target;
    use crate::state::AppState;

    /// The filters as the request gave them.
    #[derive(Default)]
    pub struct Filters {
        pub table: Option<String>,
        pub operation: Option<String>,
        pub actor: Option<String>,
        pub since: Option<String>,
        pub until: Option<String>,
        pub text: Option<String>,
        pub record: Option<String>,
        pub before: Option<String>,
        pub limit: Option<String>,
    }

    /// Anything malformed is a 400 naming the parameter; nothing is read.
    pub fn query(f: Filters) -> Result<AppAuditQuery, AppError> {
        let (since_ms, until_ms) = (moment("since", f.since)?, moment("until", f.until)?);
        if let (Some(s), Some(u)) = (since_ms, until_ms)
            && u <= s
        {
            return Err(AppError::validation("until must be later than since."));
        }
        let operation = match text("operation", f.operation)? {
            None => None,
            Some(o) => Some(
                OPERATIONS
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(&o))
                    .map(|n| (*n).to_owned())
                    .ok_or_else(|| {
                        AppError::validation(format!(
                            "operation must be one of {}.",
                            OPERATIONS.join(", ")
                        ))
                    })?,
            ),
        };
        let before = match text("before", f.before)? {
            None => None,
            Some(b) => Some(parse_before(&b).ok_or_else(|| {
                AppError::validation("before must be the next_before of a previous page.")
            })?),
        };
        let at = |ms: Option<i64>| ms.map(crate::components::format::from_ms);
        Ok(AppAuditQuery {
            table: text("table", f.table)?,
            operation,
            actor: text("actor", f.actor)?,
            since: at(since_ms),
            until: at(until_ms),
            text: text("text", f.text)?,
            record: text("record", f.record)?,
            before,
            limit: number("limit", f.limit, 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT),
        })
    }

    /// The target (else the first with an audit table) and the source (else its first).
    pub fn resolve(
        state: &AppState,
        target: Option<String>,
        source: Option<String>,
    ) -> Result<(Arc<Target>, AuditTableSpec), AppError> {
        let t = match target.filter(|t| !t.is_empty()) {
            Some(id) => state.targets.require(&id)?.clone(),
            None => state
                .targets
                .all()
                .iter()
                .find(|t| !t.spec.audit_tables.is_empty())
                .cloned()
                .ok_or_else(|| {
                    AppError::not_found(
                        "No application audit table is configured (add [[targets.audit_tables]]).",
                    )
                })?,
        };
        let spec = match source.filter(|s| !s.is_empty()) {
            Some(s) => t
                .spec
                .audit_tables
                .iter()
                .find(|a| a.id == s)
                .ok_or_else(|| {
                    AppError::not_found(format!(
                        "Target {} has no audit table with source id {s:?}.",
                        t.spec.id
                    ))
                })?,
            None => t.spec.audit_tables.first().ok_or_else(|| {
                AppError::not_found(format!(
                    "Target {} has no application audit table configured.",
                    t.spec.id
                ))
            })?,
        };
        let spec = spec.clone();
        Ok((t, spec))
    }

    /// A session in the table's database (the monitor login) and the table's layout.
    pub async fn open(
        t: &Target,
        spec: &AuditTableSpec,
    ) -> Result<(sqlx::PgConnection, Layout), AppError> {
        let mut conn = open_session(t, LoginKind::Monitor, Some(&spec.database)).await?;
        let layout = super::super::layout::read(&mut conn, spec).await?;
        Ok((conn, layout))
    }

    /// Every configured audit table.
    pub fn sources(state: &AppState) -> Vec<SourceInfo> {
        state
            .targets
            .all()
            .iter()
            .flat_map(|t| {
                t.spec.audit_tables.iter().map(|a| SourceInfo {
                    target: t.spec.id.clone(),
                    id: a.id.clone(),
                    name: a.name.clone(),
                })
            })
            .collect()
    }
}
