//! `GET /api/advice?target=&database=`: the latest stored analysis of one database (never an
//! analysis: a page view costs the target nothing); `GET /api/advice/bloat`: its tables and
//! btree indexes with their bloat. `POST /api/advice/refresh` (dba): analyse now, coalesced
//! with a running analysis of the same database. `POST /api/advice/apply` (dba): run a
//! finding's own statements as a job, after checking against the catalog that it still holds.
//! `POST /api/advice/measure` (dba): measure one relation exactly, as a job.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{AdvicePageData, Analysis, Bloat};
use crate::error::AppError;
use crate::features::maintenance::model::Job;

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

#[server(prefix = "/api", endpoint = "advice", input = GetUrl, output = crate::codec::Json)]
pub async fn get_advice(target: String, database: Option<String>) -> Result<Analysis, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let (t, database) = resolve(&state, &target, database).await?;
    advice_of(&state, &t, &database).await
}

/// The stored analysis of a database with what is running now, for a caller already checked.
#[cfg(feature = "ssr")]
async fn advice_of(
    state: &crate::state::AppState,
    t: &crate::features::targets::monitor::Target,
    database: &str,
) -> Result<Analysis, AppError> {
    let database = database.to_owned();
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
#[server(prefix = "/api", endpoint = "advice/refresh", output = crate::codec::Json)]
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

/// The order `GET /api/advice/bloat` sorts by (largest first), `bloat_bytes` unless told.
#[cfg(feature = "ssr")]
fn sort_bloat(rows: &mut [super::model::BloatRow], sort: Option<&str>) -> Result<(), AppError> {
    let by: fn(&super::model::BloatRow) -> i64 = match sort.unwrap_or("bloat_bytes") {
        "bloat_ratio" => |r| (r.bloat_ratio.unwrap_or(-1.0) * 1e6) as i64,
        "bytes" => |r| r.bytes,
        "bloat_bytes" => |r| r.bloat_bytes.unwrap_or(-1),
        other => {
            return Err(AppError::validation(format!(
                "sort must be bloat_bytes, bloat_ratio or bytes, not {:?}.",
                other.chars().take(40).collect::<String>()
            )));
        }
    };
    rows.sort_by_key(|r| std::cmp::Reverse(by(r)));
    Ok(())
}

/// Every table and btree index of the database with its bloat (stored by the latest analysis
/// and the exact measurements since). `kind` = `table` or `index` keeps one of them; `sort`
/// (`bloat_bytes`, `bloat_ratio`, `bytes`; largest first) and `limit` shape the list.
#[server(prefix = "/api", endpoint = "advice/bloat", input = GetUrl, output = crate::codec::Json)]
pub async fn get_bloat(
    target: String,
    database: Option<String>,
    kind: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
) -> Result<Bloat, AppError> {
    use crate::features::auth::model::{Access, Role};
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let (t, database) = resolve(&state, &target, database).await?;
    bloat_of(
        &state,
        &t,
        &database,
        kind.as_deref(),
        sort.as_deref(),
        limit,
    )
    .await
}

/// The stored bloat rows of a database, shaped as `GET /api/advice/bloat` does, for a caller
/// already checked.
#[cfg(feature = "ssr")]
async fn bloat_of(
    state: &crate::state::AppState,
    t: &crate::features::targets::monitor::Target,
    database: &str,
    kind: Option<&str>,
    sort: Option<&str>,
    limit: Option<usize>,
) -> Result<Bloat, AppError> {
    let database = database.to_owned();
    let mut bloat = state
        .store
        .latest_bloat(&t.spec.id, &database)
        .await?
        .unwrap_or_else(|| Bloat {
            target: t.spec.id.clone(),
            database: database.clone(),
            ..Bloat::default()
        });
    match kind {
        None | Some("") => {}
        Some("table") => bloat.rows.retain(|r| r.index.is_none()),
        Some("index") => bloat.rows.retain(|r| r.index.is_some()),
        Some(_) => return Err(AppError::validation("kind must be table or index.")),
    }
    sort_bloat(&mut bloat.rows, sort)?;
    if let Some(n) = limit {
        bloat.more = bloat.rows.len().saturating_sub(n);
        bloat.rows.truncate(n);
    }
    Ok(bloat)
}

/// A finding id as the analysis makes them (`kind-hex`), else a 400 before anything is read.
#[cfg(feature = "ssr")]
fn finding_id_ok(id: &str) -> Result<(), AppError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "finding must be an id from GET /api/advice (letters, digits, _ and -).",
        ))
    }
}

/// Runs a finding's own statements as a job (the client names the finding; the SQL is the
/// server's). Checked first against the catalog now: a finding that no longer holds is a 409
/// with nothing run. A statement that blocks reads and writes needs `confirm` (the object's
/// name, as the finding's `confirm` says).
#[server(prefix = "/api", endpoint = "advice/apply", output = crate::codec::Json)]
pub async fn apply_finding(
    target: String,
    database: String,
    finding: String,
    confirm: Option<String>,
) -> Result<Job, AppError> {
    use crate::features::audit::model::Action;
    use crate::features::audit::recorder::Recorder;
    use crate::features::maintenance::jobs::{self, Request, Work};
    use crate::features::maintenance::model::JobAction;
    let shown: String = finding.chars().take(80).collect();
    let mut rec = Recorder::dba(Action::AdviceApply, &target, format!("finding {shown}"))?;
    let mut params = serde_json::json!({
        "database": database.chars().take(64).collect::<String>(),
        "finding": shown,
    });
    rec.check(&params, finding_id_ok(&finding)).await?;
    let resolved = resolve(&rec.state, &target, Some(database)).await;
    let (t, database) = rec.check(&params, resolved).await?;
    let stored = rec.state.store.latest_advice(&t.spec.id, &database).await;
    let stored = rec.check(&params, stored.map_err(AppError::from)).await?;
    let Some(f) = stored.and_then(|(a, _)| a.findings.into_iter().find(|f| f.id == finding)) else {
        let e = AppError::not_found(format!(
            "There is no finding {finding} in the latest analysis of database {database}."
        ));
        return Err(rec.refused(Some(&params), e).await);
    };
    rec.on(format!(
        "{} ({})",
        f.object.clone().unwrap_or_default(),
        f.kind.as_str()
    ));
    params["kind"] = serde_json::json!(f.kind.as_str());
    params["sql"] = serde_json::json!(f.statements.join("\n"));
    let (Some(oid), Some(object), false) = (f.oid, f.object.clone(), f.statements.is_empty())
    else {
        let e = AppError::conflict(format!(
            "pgpanel does not run this finding's fix itself{}",
            f.note.as_deref().map_or(".".into(), |n| format!(": {n}"))
        ));
        return Err(rec.refused(Some(&params), e).await);
    };
    if let Some(word) = &f.confirm
        && confirm.as_deref().map(str::trim) != Some(word.as_str())
    {
        let e = AppError::validation(format!(
            "{} — type {word} in `confirm` to go ahead.",
            f.lock
                .as_deref()
                .unwrap_or("This statement blocks the application")
        ));
        return Err(rec.refused(Some(&params), e).await);
    }
    // Does it still hold? The catalog now, not the stored analysis (nothing is measured).
    let previous = super::previous(&rec.state.store, &t.spec.id, &database).await;
    let previous = rec.check(&params, previous.map_err(AppError::from)).await?;
    let now = crate::clock::to_millis(time::OffsetDateTime::now_utc());
    let check = super::analysis::analyse(&t, &database, &previous, false, now, &[]).await;
    let check = rec.check(&params, check).await?;
    if !check
        .analysis
        .findings
        .iter()
        .any(|g| g.id == f.id && g.statements == f.statements)
    {
        let e = AppError::conflict(format!(
            "This finding no longer holds ({} has changed since the analysis): nothing ran. Analyse again to see what is left.",
            object
        ));
        return Err(rec.refused(Some(&params), e).await);
    }
    let work = super::work::Apply {
        statements: f.statements.clone(),
        advice: rec.state.advice.clone(),
        target: t.clone(),
        database: database.clone(),
        store: rec.state.store.clone(),
    };
    jobs::start(Request {
        req: rec,
        target: t,
        action: JobAction::Apply,
        database,
        oid,
        object,
        sql: f.statements.join("\n"),
        work: Work::Other(Box::new(work)),
        params,
    })
    .await
}

/// Measures one table (pgstattuple, its TOAST table too) or btree index (pgstatindex) exactly,
/// as a job: it reads the whole relation. The figure replaces the stored one.
#[server(prefix = "/api", endpoint = "advice/measure", output = crate::codec::Json)]
pub async fn measure_bloat(
    target: String,
    database: String,
    schema: String,
    table: Option<String>,
    index: Option<String>,
) -> Result<Job, AppError> {
    use crate::features::audit::model::Action;
    use crate::features::audit::recorder::Recorder;
    use crate::features::maintenance::jobs::{self, Request, Work};
    use crate::features::maintenance::model::JobAction;
    use crate::features::targets::conn::{LoginKind, open, statement_error};
    let cut = |s: &str| s.chars().take(64).collect::<String>();
    let name = index.clone().or(table.clone()).unwrap_or_default();
    let mut rec = Recorder::dba(
        Action::AdviceMeasure,
        &target,
        format!("{:?}.{:?}", cut(&schema), cut(&name)),
    )?;
    let params = serde_json::json!({
        "database": cut(&database), "schema": cut(&schema),
        "table": table.as_deref().map(cut), "index": index.as_deref().map(cut),
    });
    let one = match (&table, &index) {
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(AppError::validation("Name either a table or an index.")),
    };
    rec.check(&params, one).await?;
    let resolved = resolve(&rec.state, &target, Some(database)).await;
    let (t, database) = rec.check(&params, resolved).await?;
    let stored = rec.state.store.latest_bloat(&t.spec.id, &database).await;
    let stored = rec.check(&params, stored.map_err(AppError::from)).await?;
    let Some(row) = stored.and_then(|b| {
        b.rows.into_iter().find(|r| {
            r.schema == schema
                && match (&table, &index) {
                    (Some(tb), None) => r.index.is_none() && &r.table == tb,
                    (None, Some(ix)) => r.index.as_ref() == Some(ix),
                    _ => false,
                }
        })
    }) else {
        let e = AppError::not_found(format!(
            "{:?}.{:?} is not among the tables and btree indexes of the latest analysis of database {database}.",
            cut(&schema),
            cut(&name)
        ));
        return Err(rec.refused(Some(&params), e).await);
    };
    rec.on(format!("{} in database {database}", row.quoted));
    // pgstattuple's schema, and whether the monitor login may use it, read now.
    let ext = async {
        let mut conn = open(&t, LoginKind::Monitor, Some(&database)).await?;
        let ext = super::db::extensions(&mut conn)
            .await
            .map_err(|e| statement_error(LoginKind::Monitor, "Reading the extensions", &e));
        let _ = sqlx::Connection::close(conn).await;
        ext
    }
    .await;
    let ext = rec.check(&params, ext).await?;
    let Some(schema) = ext
        .pgstattuple_schema
        .clone()
        .filter(|_| ext.pgstattuple_usable)
    else {
        let monitor = t.own_logins().first().cloned().unwrap_or_default();
        let e = AppError::conflict(
            super::bloat::method_note(&ext, &monitor)
                .unwrap_or_else(|| "pgstattuple is unavailable.".into()),
        );
        return Err(rec.refused(Some(&params), e).await);
    };
    let sql = super::work::measure_sql(&schema, row.index.is_some(), row.oid);
    let mut params = params;
    params["sql"] = serde_json::json!(sql);
    let work = super::work::Measure {
        schema,
        row: row.clone(),
        target_id: t.spec.id.clone(),
        database: database.clone(),
        store: rec.state.store.clone(),
    };
    jobs::start(Request {
        req: rec,
        target: t,
        action: JobAction::Measure,
        database,
        oid: row.oid,
        object: row.quoted.clone(),
        sql,
        work: Work::Other(Box::new(work)),
        params,
    })
    .await
}

/// Rows of each bloat table the Advice page shows.
pub const PAGE_ROWS: usize = 50;

/// The Advice page's data in one call: the target (`None` when none is configured), its
/// analysis, the largest bloat by `sort` and its jobs.
#[server(prefix = "/api", endpoint = "advice/view", input = GetUrl, output = crate::codec::Json)]
pub async fn advice_view(
    target: Option<String>,
    database: Option<String>,
    sort: Option<String>,
) -> Result<Option<AdvicePageData>, AppError> {
    use crate::features::auth::model::{Access, Role};
    // The caller is checked once, before anything awaits: during server rendering the request
    // is only in the context until the first real wait.
    crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let state = crate::state::app_state()?;
    let overviews = state.targets.overviews();
    let t = match target.filter(|w| !w.is_empty()) {
        None => overviews.into_iter().next(),
        Some(id) => Some(overviews.into_iter().find(|t| t.id == id).ok_or_else(|| {
            let shown: String = id.chars().take(64).collect();
            AppError::not_found(format!("There is no target {shown:?}."))
        })?),
    };
    let Some(t) = t else {
        return Ok(None);
    };
    let (target, database) = resolve(&state, &t.id, database).await?;
    let analysis = advice_of(&state, &target, &database).await?;
    let tables = bloat_of(
        &state,
        &target,
        &database,
        Some("table"),
        sort.as_deref(),
        Some(PAGE_ROWS),
    )
    .await?;
    let indexes = bloat_of(
        &state,
        &target,
        &database,
        Some("index"),
        sort.as_deref(),
        Some(PAGE_ROWS),
    )
    .await?;
    let jobs = crate::features::maintenance::jobs_api::jobs_of(&state, &t.id).await?;
    Ok(Some(AdvicePageData {
        name: t.name,
        databases: t
            .databases
            .map(|d| d.items.into_iter().map(|i| i.name).collect())
            .unwrap_or_default(),
        analysis,
        tables,
        indexes,
        jobs,
    }))
}
