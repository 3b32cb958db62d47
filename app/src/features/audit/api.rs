//! `GET /api/audit?action=&actor=&target=&outcome=&object=&since=&until=&before=&limit=&fold=`:
//! the audit trail, newest first, filtered and paged by id (`before` = the previous page's
//! `next_before`); `fold=true` shows an action's intent inside its outcome (one entry per action).
//! Analyst and up: every signed-in role may see who did what.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::AuditPage;
use crate::error::AppError;

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "audit", input = GetUrl, output = crate::codec::Json)]
pub async fn list_audit(
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    outcome: Option<String>,
    object: Option<String>,
    since: Option<String>,
    until: Option<String>,
    before: Option<String>,
    limit: Option<String>,
    fold: Option<String>,
) -> Result<AuditPage, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    // Anything malformed is a 400 naming the parameter; nothing is read.
    let q = server::query(server::Filters {
        action,
        actor,
        target,
        outcome,
        object,
        since,
        until,
        before,
        limit,
        fold,
    })?;
    let (limit, fold) = (q.limit, q.fold);
    // One more than shown: whether an older page exists.
    let q = crate::store::AuditQuery {
        limit: limit + 1,
        ..q
    };
    let mut rows = state.store.audit_page(&q).await?;
    let next_before = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map_or(0, |r| r.id)
    });
    // The intents the outcomes on this page follow (fold: they are not listed on their own).
    let intents = if fold {
        let ids: Vec<i64> = rows.iter().filter_map(|r| r.event.intent_id).collect();
        state.store.audit_by_ids(&ids).await?
    } else {
        Vec::new()
    };
    let events = rows
        .into_iter()
        .map(|r| {
            let intent = r
                .event
                .intent_id
                .and_then(|id| intents.iter().find(|i| i.id == id).cloned())
                .map(|i| Box::new(server::entry(i)));
            crate::features::audit::model::AuditEntry {
                intent,
                ..server::entry(r)
            }
        })
        .collect();
    Ok(AuditPage {
        events,
        next_before,
    })
}

#[cfg(feature = "ssr")]
pub(crate) mod server {

    use super::super::model::AuditEntry;
    use crate::components::format::from_ms;
    use crate::error::{AppError, moment, number, text};
    use crate::store::StoredAudit;

    /// The longest free-text filter accepted.
    /// The most actions one filter may list.
    const MAX_ACTIONS: usize = 20;

    /// The filters as the request gave them.
    #[derive(Default)]
    pub struct Filters {
        pub action: Option<String>,
        pub actor: Option<String>,
        pub target: Option<String>,
        pub outcome: Option<String>,
        pub object: Option<String>,
        pub since: Option<String>,
        pub until: Option<String>,
        pub before: Option<String>,
        pub limit: Option<String>,
        pub fold: Option<String>,
    }

    /// The store query for the filters (`limit` rows); anything malformed is a 400 naming the
    /// parameter.
    pub fn query(f: Filters) -> Result<crate::store::AuditQuery, AppError> {
        use super::super::model::{Outcome, PAGE_DEFAULT, PAGE_MAX};
        let outcome = text("outcome", f.outcome)?;
        if let Some(o) = &outcome
            && Outcome::parse(o).is_none()
        {
            let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.name()).collect();
            return Err(AppError::validation(format!(
                "outcome must be one of {}.",
                names.join(", ")
            )));
        }
        let (since_ms, until_ms) = (moment("since", f.since)?, moment("until", f.until)?);
        if let (Some(s), Some(u)) = (since_ms, until_ms)
            && u <= s
        {
            return Err(AppError::validation("until must be later than since."));
        }
        let fold = match text("fold", f.fold)?.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(AppError::validation("fold must be true or false.")),
        };
        Ok(crate::store::AuditQuery {
            actions: actions(f.action)?,
            actor: text("actor", f.actor)?,
            target: text("target", f.target)?,
            outcome,
            object_contains: text("object", f.object)?,
            since_ms,
            until_ms,
            before_id: number("before", f.before, 1, i64::MAX)?,
            limit: number("limit", f.limit, 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT),
            fold,
        })
    }

    pub fn actions(v: Option<String>) -> Result<Vec<String>, AppError> {
        let Some(list) = text("action", v)? else {
            return Ok(Vec::new());
        };
        let names: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        let valid = |a: &String| {
            a.len() <= 64
                && a.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
        };
        if names.len() > MAX_ACTIONS || !names.iter().all(valid) {
            return Err(AppError::validation(format!(
                "action must be up to {MAX_ACTIONS} action names separated by commas, such as \
                 terminate_backend,vacuum."
            )));
        }
        Ok(names)
    }

    pub fn entry(s: StoredAudit) -> AuditEntry {
        let e = s.event;
        AuditEntry {
            id: s.id,
            at: from_ms(e.at_ms),
            actor: e.actor,
            actor_role: e.actor_role,
            client_addr: e.client_addr,
            action: e.action,
            target: e.target,
            object: e.object,
            parameters: e
                .parameters
                .map(|p| serde_json::from_str(&p).unwrap_or(serde_json::Value::String(p))),
            outcome: e.outcome,
            error: e.error,
            intent_id: e.intent_id,
            intent: None,
        }
    }
}
