//! `GET /api/advice?target=&database=`: the latest stored analysis of one database (never an
//! analysis: a page view costs the target nothing). `POST /api/advice/refresh` (dba): analyse
//! now, coalesced with a running analysis of the same database.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::Analysis;
use crate::error::AppError;

/// The target, and the database named (else the monitor login's own), checked to exist on it.
#[cfg(feature = "ssr")]
async fn resolve(
    state: &crate::state::AppState,
    target: &str,
    database: Option<String>,
) -> Result<
    (
        std::sync::Arc<crate::features::targets::monitor::Target>,
        String,
    ),
    AppError,
> {
    let t = state.targets.require(target)?.clone();
    let database = t.database(database).await?;
    Ok((t, database))
}

#[server(prefix = "/api", endpoint = "advice", input = GetUrl)]
pub async fn get_advice(target: String, database: Option<String>) -> Result<Analysis, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let (t, database) = resolve(&state, &target, database).await?;
    let mut analysis = match state.store.latest_advice(&t.spec.id, &database).await? {
        Some((a, _)) => a,
        None => Analysis::never(&t.spec.id, &database),
    };
    analysis.running = state.advice.is_running(&t.spec.id, &database);
    if let Some((at, message)) = state.advice.last_failure(&t.spec.id, &database) {
        analysis.errors.insert(
            0,
            super::model::SectionError {
                section: "analysis".into(),
                message: format!(
                    "The analysis of {} could not run: {message} {}",
                    crate::components::format::utc(crate::clock::from_millis(at)),
                    if analysis.analysed_at.is_some() {
                        "The findings shown are from the analysis before."
                    } else {
                        "Nothing has been analysed yet."
                    }
                ),
            },
        );
    }
    Ok(analysis)
}

/// Starts an analysis of the database now; `true` when this request started it, `false` when
/// it joined one already running.
#[server(prefix = "/api", endpoint = "advice/refresh")]
pub async fn refresh_advice(target: String, database: Option<String>) -> Result<bool, AppError> {
    use crate::features::audit::model::{Action, Outcome};
    use crate::features::audit::recorder::Recorder;
    let shown: String = database.as_deref().unwrap_or("").chars().take(64).collect();
    let mut rec = Recorder::dba(Action::AdviceRefresh, &target, shown)?;
    let (t, database) = match resolve(&rec.state, &target, database).await {
        Ok(v) => v,
        Err(e) => return Err(rec.refused(None, e).await),
    };
    rec.on(database.clone());
    let started = rec.state.advice.start(t, database, rec.state.store.clone());
    let ev = rec
        .event(Outcome::Success)
        .parameters(serde_json::json!({ "started": started }).to_string());
    rec.state.store.append_audit(&ev).await?;
    Ok(started)
}
