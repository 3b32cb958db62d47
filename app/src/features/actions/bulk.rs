//! `POST /api/actions/terminate_idle`: end the sessions that are idle in transaction now and
//! whose TRANSACTION has been open for at least N minutes (`xact_start`, not `state_change`: a
//! session that ran one quick statement a few seconds ago can still hold a transaction, its locks
//! and the xmin horizon for an hour). Cancel does nothing to an idle session: only terminate
//! releases them. The Activity page previews who from its live rows and sends the sessions it
//! showed; the server checks every one again in the statement that signals it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::features::live::model::SessionRow;

/// What `terminate_idle` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub target: String,
    pub older_than_minutes: i32,
    /// The statement, as a DBA would type it.
    pub sql: String,
    /// Sessions signalled, and those of them still there after 5 s.
    pub terminated: Vec<i32>,
    pub still_there: Vec<i32>,
    /// Listed sessions left alone (no longer idle that long, gone, superuser, pgpanel's own).
    pub skipped: Vec<i32>,
    pub message: String,
}

/// The sessions the bulk action would end, as the Activity page sees them (the server applies
/// the same rule, and leaves superusers' sessions alone too): idle in transaction now, with the
/// transaction open for at least `minutes`.
pub fn stale_idle(s: &SessionRow, minutes: i32) -> bool {
    s.is_client()
        && !s.pgpanel
        && s.idle_in_transaction()
        && s.xact_age_ms.unwrap_or(0) >= i64::from(minutes) * 60_000
}

pub fn bulk_sql(minutes: i32) -> String {
    format!(
        "SELECT a.pid, pg_terminate_backend(a.pid)\n\
         FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid\n\
         WHERE a.state IN ('idle in transaction', 'idle in transaction (aborted)')\n  \
         AND a.xact_start <= now() - interval '{minutes} minutes'\n  \
         AND a.backend_type = 'client backend' AND NOT coalesce(r.rolsuper, false)\n  \
         AND NOT (a.application_name LIKE 'pgpanel%' AND a.usename = ANY(pgpanel's logins));"
    )
}

/// `sessions`: optional comma-separated `pid@backend_start` (RFC 3339) pairs.
#[server(prefix = "/api", endpoint = "actions/terminate_idle")]
pub async fn terminate_idle(
    target: String,
    older_than_minutes: String,
    sessions: Option<String>,
) -> Result<BulkOutcome, AppError> {
    server::run(target, older_than_minutes, sessions).await
}

#[cfg(feature = "ssr")]
mod server {
    use std::time::{Duration, Instant};

    use serde_json::json;
    use sqlx::Connection;
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use super::super::api::server::{action_connection, target_error};
    use super::super::audit::ActionRequest;
    use super::BulkOutcome;
    use crate::error::AppError;
    use crate::features::targets::db::body;

    fn pairs(s: &str) -> Option<(Vec<i32>, Vec<OffsetDateTime>)> {
        let mut pids = Vec::new();
        let mut starts = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (pid, start) = item.split_once('@')?;
            let pid: i32 = pid.trim().parse().ok().filter(|p| *p > 0)?;
            pids.push(pid);
            starts.push(OffsetDateTime::parse(start.trim(), &Rfc3339).ok()?);
        }
        (!pids.is_empty()).then_some((pids, starts))
    }

    pub async fn run(
        target: String,
        minutes: String,
        sessions: Option<String>,
    ) -> Result<BulkOutcome, AppError> {
        let req = ActionRequest::dba(
            "terminate_idle",
            &target,
            format!(
                "sessions idle in transaction, transaction open {} min or more",
                minutes.trim()
            ),
        )?;
        let mut params = json!({ "older_than_minutes": minutes, "sessions": sessions });
        let Some(m) = minutes
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|m| (0..=10_080).contains(m))
        else {
            let e =
                AppError::validation("older_than_minutes must be a whole number from 0 to 10080.");
            return Err(req.refused(&params, e).await);
        };
        let listed = match sessions.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match pairs(s) {
                Some(p) => Some(p),
                None => {
                    let e = AppError::validation(
                        "sessions must be pid@backend_start pairs (RFC 3339), separated by commas.",
                    );
                    return Err(req.refused(&params, e).await);
                }
            },
        };
        let sql = super::bulk_sql(m);
        params["sql"] = json!(sql);
        let Some(t) = req.state.targets.get(&target).cloned() else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(&params, e).await);
        };
        let mut conn = match action_connection(&t, None).await {
            Ok(c) => c,
            Err(e) => return Err(req.refused(&params, e).await),
        };
        req.intent(&params).await?;
        let (pids, starts) = listed.clone().unzip();
        let result = async {
            let rows: Vec<(i32, bool)> =
                sqlx::query_as(body(include_str!("sql/terminate_idle.sql")))
                    .bind(m)
                    .bind(&pids)
                    .bind(&starts)
                    .bind(t.own_logins())
                    .fetch_all(&mut conn)
                    .await
                    .map_err(|e| target_error(&e))?;
            let terminated: Vec<i32> = rows.iter().filter(|r| r.1).map(|r| r.0).collect();
            let deadline = Instant::now() + Duration::from_secs(5);
            let still_there = loop {
                let left: Vec<i32> = sqlx::query_scalar(
                    "select pid from pg_stat_activity where pid = any($1::int4[])",
                )
                .bind(&terminated)
                .fetch_all(&mut conn)
                .await
                .map_err(|e| target_error(&e))?;
                if left.is_empty() || Instant::now() > deadline {
                    break left;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            Ok::<_, AppError>((terminated, still_there))
        }
        .await;
        let _ = conn.close().await;
        let outcome = result.map(|(terminated, still_there)| {
            let skipped: Vec<i32> = pids
                .unwrap_or_default()
                .into_iter()
                .filter(|p| !terminated.contains(p))
                .collect();
            let message = format!(
                "Terminated {} session(s) idle in transaction with a transaction open {m} min or more{}{}.",
                terminated.len(),
                if still_there.is_empty() {
                    String::new()
                } else {
                    format!(" ({} still there after 5 s)", still_there.len())
                },
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; left {} alone (no longer idle in a transaction that old, gone, or a superuser's)",
                        skipped.len()
                    )
                },
            );
            BulkOutcome {
                target: target.clone(),
                older_than_minutes: m,
                sql: sql.clone(),
                terminated,
                still_there,
                skipped,
                message,
            }
        });
        if let Ok(o) = &outcome {
            params["terminated"] = json!(o.terminated);
            params["skipped"] = json!(o.skipped);
        }
        req.outcome(&params, outcome.as_ref().err()).await;
        outcome
    }
}
