//! `POST /api/actions/terminate_idle`: end the sessions that are idle in transaction now and
//! whose TRANSACTION has been open for at least N minutes (`xact_start`, not `state_change`: a
//! session that ran one quick statement a few seconds ago can still hold a transaction, its locks
//! and the xmin horizon for an hour). Cancel does nothing to an idle session: only terminate
//! releases them. The Activity page previews who from its live rows and sends the sessions it
//! showed; the server checks every one again in the statement that signals it.

use leptos::prelude::*;

use super::model::BulkOutcome;
use crate::error::AppError;
use crate::features::activity::model::SessionRow;

/// The sessions the bulk action would end, as the Activity page sees them (the server applies
/// the same rule, and leaves superusers' sessions alone too): idle in transaction now, with the
/// transaction open for at least `minutes`.
pub fn stale_idle(s: &SessionRow, minutes: i32) -> bool {
    s.is_client()
        && !s.pgpanel
        && s.idle_in_transaction()
        && s.xact_age_ms.unwrap_or(0) >= i64::from(minutes) * 60_000
}

/// `sessions`: optional comma-separated `pid@backend_start` (RFC 3339) pairs.
#[server(prefix = "/api", endpoint = "actions/terminate_idle", output = crate::codec::Json)]
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

    use super::super::db::{self, signal_error};
    use super::super::model::terminate_idle_sql;
    use super::BulkOutcome;
    use crate::error::AppError;
    use crate::features::audit::model::Action;
    use crate::features::audit::recorder::Recorder;
    use crate::features::targets::conn::{LoginKind, open};

    /// `pid@backend_start` pairs: the pid, the time and the time as it was given.
    fn pairs(s: &str) -> Option<Vec<(i32, OffsetDateTime, String)>> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (pid, start) = item.split_once('@')?;
            let pid: i32 = pid.trim().parse().ok().filter(|p| *p > 0)?;
            let at = OffsetDateTime::parse(start.trim(), &Rfc3339).ok()?;
            out.push((pid, at, start.trim().to_owned()));
        }
        (!out.is_empty()).then_some(out)
    }

    pub async fn run(
        target: String,
        minutes: String,
        sessions: Option<String>,
    ) -> Result<BulkOutcome, AppError> {
        let req = Recorder::dba(
            Action::TerminateIdle,
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
            return Err(req.refused(Some(&params), e).await);
        };
        let listed = match sessions.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match pairs(s) {
                Some(p) => Some(p),
                None => {
                    let e = AppError::validation(
                        "sessions must be pid@backend_start pairs (RFC 3339), separated by commas.",
                    );
                    return Err(req.refused(Some(&params), e).await);
                }
            },
        };
        let Some(t) = req.state.targets.get(&target).cloned() else {
            let e = AppError::not_found("There is no such target.");
            return Err(req.refused(Some(&params), e).await);
        };
        let own_logins = t.own_logins();
        let shown_pairs: Option<Vec<(i32, String)>> = listed
            .as_ref()
            .map(|l| l.iter().map(|(p, _, s)| (*p, s.clone())).collect());
        let sql = terminate_idle_sql(m, shown_pairs.as_deref(), &own_logins);
        params["sql"] = json!(sql);
        let mut conn = req
            .check(&params, open(&t, LoginKind::Action, None).await)
            .await?;
        req.intent(&params).await?;
        let pids: Option<Vec<i32>> = listed.as_ref().map(|l| l.iter().map(|x| x.0).collect());
        let starts: Option<Vec<OffsetDateTime>> =
            listed.as_ref().map(|l| l.iter().map(|x| x.1).collect());
        let result = async {
            let rows = db::terminate_idle(
                &mut conn,
                m,
                pids.as_deref(),
                starts.as_deref(),
                &own_logins,
            )
            .await
            .map_err(|e| signal_error(&e))?;
            let terminated: Vec<i32> = rows.iter().filter(|r| r.1).map(|r| r.0).collect();
            let deadline = Instant::now() + Duration::from_secs(5);
            let still_there = loop {
                let left = db::left(&mut conn, &terminated)
                    .await
                    .map_err(|e| signal_error(&e))?;
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
