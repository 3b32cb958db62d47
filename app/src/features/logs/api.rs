//! `GET /api/logs?target=&since=&until=&severity=&kind=&user=&database=&application=&pid=&text=
//! &before=&limit=`: a target's server log as stored by its tailer, newest first, keyset-paged
//! (`before` = the previous page's `next_before`), with the per-minute histogram and the errors
//! grouped by pattern over the same filters, and how the log is being read. Analyst and up;
//! statement texts follow the Queries page's rule — analysts see them with constants replaced
//! ($1, $2 …), pgaudit parameters and the DETAIL of data errors (which quote row values) only
//! for dba and admin.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use super::model::{LogEntry, LogsPage};
use crate::error::AppError;

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "logs", input = GetUrl, output = crate::codec::Json)]
pub async fn list_logs(
    target: Option<String>,
    since: Option<String>,
    until: Option<String>,
    severity: Option<String>,
    kind: Option<String>,
    user: Option<String>,
    database: Option<String>,
    application: Option<String>,
    pid: Option<String>,
    text: Option<String>,
    before: Option<String>,
    limit: Option<String>,
) -> Result<LogsPage, AppError> {
    use crate::features::auth::model::{Access, Role};
    let caller = crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let full = caller.is_some_and(|c| c.role >= Role::Dba);
    let state = crate::state::app_state()?;
    let (target, name) = server::target(&state, target)?;
    let q = server::query(
        target,
        server::Filters {
            since,
            until,
            severity,
            kind,
            user,
            database,
            application,
            pid,
            text,
            before,
            limit,
        },
    )?;
    server::page(&state, q, full, name).await
}

/// `GET /api/logs/entry?target=&id=`: one entry with the whole of its texts, read again from the
/// server log when the store keeps them cut. Analyst and up, with the same masking as the list.
#[server(prefix = "/api", endpoint = "logs/entry", input = GetUrl, output = crate::codec::Json)]
pub async fn get_log_entry(target: Option<String>, id: String) -> Result<LogEntry, AppError> {
    use crate::features::auth::model::{Access, Role};
    let caller = crate::features::auth::context::require(Access::AtLeast(Role::Analyst))?;
    let full = caller.is_some_and(|c| c.role >= Role::Dba);
    let state = crate::state::app_state()?;
    let (target, _) = server::target(&state, target)?;
    let id = crate::error::number("id", Some(id), 1, i64::MAX)?.unwrap_or_default();
    let stored = state.store.log_entry(&target, id).await?.ok_or_else(|| {
        AppError::not_found(format!("There is no log entry {id} of target {target}."))
    })?;
    let t = state.targets.require(&target)?.clone();
    let mut entry = super::full::whole(&t, stored).await?;
    if !full {
        server::mask(&mut entry);
    }
    Ok(entry)
}

/// `POST /api/logs/backfill` (dba): reads what was in the target's log files before pgpanel
/// began following it, for the files modified within the last `hours` (1–720, default 24), in
/// the background; its progress is on the Logs page (`backfill`). Audited.
#[server(prefix = "/api", endpoint = "logs/backfill", output = crate::codec::Json)]
pub async fn backfill_logs(
    target: String,
    hours: Option<String>,
) -> Result<super::model::BackfillStatus, AppError> {
    use crate::features::audit::model::{Action, Outcome};
    use crate::features::audit::recorder::Recorder;
    let mut rec = Recorder::dba(Action::LogsBackfill, &target, "server log")?;
    let hours = match crate::error::number("hours", hours, 1, 720) {
        Ok(h) => h.unwrap_or(24),
        Err(e) => return Err(rec.refused(None, e).await),
    };
    let t = match rec.state.targets.require(&target) {
        Ok(t) => t.clone(),
        Err(e) => return Err(rec.refused(None, e).await),
    };
    rec.on(format!("server log, files of the last {hours} h"));
    let since = crate::clock::to_millis(time::OffsetDateTime::now_utc()) - hours * 3_600_000;
    let by = rec.event(Outcome::Intent).actor.clone().unwrap_or_default();
    let started = match super::backfill::start(
        &rec.state.logs,
        t,
        rec.state.store.clone(),
        rec.state.instance.id.clone(),
        since,
        &by,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return Err(rec.refused(None, e).await),
    };
    let ev = rec
        .event(Outcome::Success)
        .parameters(serde_json::json!({ "hours": hours }).to_string());
    rec.state.store.append_audit(&ev).await?;
    Ok(started)
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::super::model::{Kind, LogEntry, LogsPage, PAGE_DEFAULT, PAGE_MAX, at_least};
    use crate::error::AppError;
    use crate::error::{moment, number, text};
    use crate::state::AppState;
    use crate::store::LogQuery;

    /// The histogram covers at most this long before `until` (read from the minute counts).
    const SUMMARY_WINDOW_MS: i64 = 6 * 3600 * 1000;
    /// Errors are grouped over at most this long before `until` (read from the entries).
    const GROUPS_WINDOW_MS: i64 = 3600 * 1000;

    /// The target named (else the first configured): its id and name.
    pub fn target(state: &AppState, target: Option<String>) -> Result<(String, String), AppError> {
        let t = match target.filter(|t| !t.is_empty()) {
            Some(t) => state.targets.require(&t)?.clone(),
            None => state
                .targets
                .all()
                .first()
                .cloned()
                .ok_or_else(|| AppError::not_found("No targets are configured."))?,
        };
        Ok((t.spec.id.clone(), t.spec.name.clone()))
    }

    /// The filters as the request gave them.
    #[derive(Default)]
    pub struct Filters {
        pub since: Option<String>,
        pub until: Option<String>,
        pub severity: Option<String>,
        pub kind: Option<String>,
        pub user: Option<String>,
        pub database: Option<String>,
        pub application: Option<String>,
        pub pid: Option<String>,
        pub text: Option<String>,
        pub before: Option<String>,
        pub limit: Option<String>,
    }

    /// The store query for the filters; anything malformed is a 400 naming the parameter.
    pub fn query(target: String, f: Filters) -> Result<LogQuery, AppError> {
        let (since_ms, until_ms) = (moment("since", f.since)?, moment("until", f.until)?);
        if let (Some(s), Some(u)) = (since_ms, until_ms)
            && u <= s
        {
            return Err(AppError::validation("until must be later than since."));
        }
        let severities = match text("severity", f.severity)? {
            None => Vec::new(),
            Some(s) => at_least(&s)
                .ok_or_else(|| {
                    AppError::validation(
                        "severity must be one of PANIC, FATAL, ERROR, WARNING, NOTICE, LOG, INFO, DEBUG.",
                    )
                })?
                .to_vec(),
        };
        let kinds = match text("kind", f.kind)? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|k| {
                    Kind::parse(k.trim()).ok_or_else(|| {
                        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                        AppError::validation(format!(
                            "kind must be one or more of {} (comma-separated).",
                            names.join(", ")
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let before = match text("before", f.before)? {
            None => None,
            Some(b) => Some(
                b.split_once('-')
                    .and_then(|(t, i)| Some((t.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
                    .filter(|(t, i)| *t >= 0 && *i > 0)
                    .ok_or_else(|| {
                        AppError::validation(
                            "before must be the next_before of a previous page (time-id).",
                        )
                    })?,
            ),
        };
        Ok(LogQuery {
            target,
            since_ms,
            until_ms,
            severities,
            kinds,
            user: text("user", f.user)?,
            database: text("database", f.database)?,
            application: text("application", f.application)?,
            pid: number("pid", f.pid, 1, i64::from(i32::MAX))?,
            text: text("text", f.text)?,
            before,
            limit: number("limit", f.limit, 1, PAGE_MAX)?.unwrap_or(PAGE_DEFAULT),
            text_plan: None,
        })
    }

    /// The page for a checked query; `full`: statement texts and parameters as logged.
    pub async fn page(
        state: &AppState,
        q: LogQuery,
        full: bool,
        target_name: String,
    ) -> Result<LogsPage, AppError> {
        let limit = q.limit;
        let until = q
            .until_ms
            .unwrap_or_else(|| crate::clock::to_millis(time::OffsetDateTime::now_utc()) + 60_000);
        let since = q.since_ms.unwrap_or(0).max(until - SUMMARY_WINDOW_MS);
        // The page and the error groups share one decision on the text filter; the four reads
        // are independent and run side by side on the store's connections (the request takes
        // as long as the slowest, not the sum).
        let entries_and_groups = async {
            let q = LogQuery {
                text_plan: Some(state.store.log_text_plan(&q).await?),
                ..q.clone()
            };
            let page = LogQuery {
                limit: limit + 1,
                ..q.clone()
            };
            let groups = LogQuery {
                since_ms: Some(q.since_ms.unwrap_or(0).max(until - GROUPS_WINDOW_MS)),
                until_ms: Some(until),
                before: None,
                ..q
            };
            futures::try_join!(
                state.store.log_page(&page),
                state.store.log_error_groups(&groups, 20)
            )
        };
        let ((mut entries, errors), histogram, cursors) = futures::try_join!(
            entries_and_groups,
            state.store.log_minutes(&q.target, since, until),
            state.store.log_cursors(&q.target),
        )?;
        let next_before = (entries.len() as i64 > limit).then(|| {
            entries.truncate(limit as usize);
            entries
                .last()
                .map(|e| format!("{}-{}", crate::clock::millis_of_rfc3339(&e.time), e.id))
                .unwrap_or_default()
        });
        if !full {
            entries.iter_mut().for_each(mask);
        }
        // What is still unread at each file's start, as the store has it now (a backfill
        // moves it while the tailer keeps following).
        let mut source = match state.targets.get(&q.target) {
            Some(t) => state.logs.shown_status(t, &state.store).await,
            None => state.logs.status(&q.target),
        };
        let backfill = state
            .logs
            .shown_backfill(&q.target, &state.store, &state.instance.id)
            .await;
        for f in &mut source.files {
            f.unread = cursors
                .iter()
                .find(|c| c.file_name == f.name)
                .map_or(0, |c| c.unread(f.size));
        }
        Ok(LogsPage {
            target: q.target.clone(),
            target_name,
            entries,
            next_before,
            histogram,
            errors,
            source,
            backfill,
            full_statements: full,
        })
    }

    /// What an analyst sees: constants replaced in statements, no pgaudit parameters, no
    /// DETAIL of data errors (class 22 and 23 quote the row's values).
    pub fn mask(e: &mut LogEntry) {
        e.statement = e.statement.take().map(|s| normalize(&s));
        if let Some(a) = e.audit.as_mut() {
            a.statement = a.statement.take().map(|s| normalize(&s));
            a.parameter = a
                .parameter
                .take()
                .map(|_| "(hidden: dba and admin only)".into());
            // The raw record carries the statement and parameters as logged.
            e.message = format!(
                "AUDIT: {},{},{},{},{},{},{},(statement and parameters: see the fields)",
                a.audit_type,
                a.statement_id.map(|i| i.to_string()).unwrap_or_default(),
                a.substatement_id.map(|i| i.to_string()).unwrap_or_default(),
                a.class,
                a.command,
                a.object_type.as_deref().unwrap_or(""),
                a.object_name.as_deref().unwrap_or(""),
            );
        }
        if e.sqlstate
            .as_deref()
            .is_some_and(|s| s.starts_with("22") || s.starts_with("23"))
        {
            e.detail = e
                .detail
                .take()
                .map(|_| "(hidden: it quotes row values; dba and admin only)".into());
        }
        if (e.kind == Kind::Slow || e.kind == Kind::Statement)
            && let Some(at) = e
                .message
                .find("statement: ")
                .map(|i| i + "statement: ".len())
        {
            e.message = format!("{}{}", &e.message[..at], normalize(&e.message[at..]));
        }
    }

    /// A statement with its constants replaced by $1, $2 … (PostgreSQL's own parser); text
    /// that does not parse has every quoted literal and number replaced instead.
    pub fn normalize(sql: &str) -> String {
        if let Ok(n) = pg_query::normalize(sql) {
            return n;
        }
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        let mut prev_word = false;
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    out.push('?');
                    while let Some(d) = chars.next() {
                        if d == '\'' {
                            if chars.peek() == Some(&'\'') {
                                chars.next();
                                continue;
                            }
                            break;
                        }
                    }
                    prev_word = false;
                }
                d if d.is_ascii_digit() && !prev_word => {
                    out.push('?');
                    while chars
                        .peek()
                        .is_some_and(|x| x.is_ascii_digit() || *x == '.')
                    {
                        chars.next();
                    }
                }
                c => {
                    prev_word = c.is_alphanumeric() || c == '_' || c == '$';
                    out.push(c);
                }
            }
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn analysts_see_no_constants() {
            assert_eq!(
                normalize("select * from t where a = 'secret' and b = 42"),
                "select * from t where a = $1 and b = $2"
            );
            assert_eq!(normalize("select 'x''y', 3 +"), "select ?, ? +");
            let mut e = LogEntry {
                id: 1,
                time: String::new(),
                severity: "LOG".into(),
                sqlstate: None,
                kind: Kind::Slow,
                user: None,
                database: None,
                application: None,
                client: None,
                pid: None,
                session_id: None,
                message: "duration: 5.1 ms  statement: select 'secret'".into(),
                detail: None,
                hint: None,
                context: None,
                statement: Some("select 'secret'".into()),
                duration_ms: Some(5.1),
                query_id: None,
                audit: None,
                cut: false,
                file: String::new(),
                offset: 0,
            };
            let mut audited = e.clone();
            mask(&mut e);
            assert_eq!(e.message, "duration: 5.1 ms  statement: select $1");
            audited.kind = Kind::Audit;
            audited.message =
                "AUDIT: SESSION,1,1,WRITE,UPDATE,TABLE,public.t,update t set pw = 'x',<none>"
                    .into();
            audited.audit = crate::features::logs::parse::pgaudit::parse(&audited.message);
            mask(&mut audited);
            assert!(!audited.message.contains("'x'"), "{}", audited.message);
            assert_eq!(
                audited.audit.and_then(|a| a.statement).as_deref(),
                Some("update t set pw = $1")
            );
            assert_eq!(e.statement.as_deref(), Some("select $1"));
        }
    }
}
