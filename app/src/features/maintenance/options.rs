//! VACUUM, ANALYZE and REINDEX requests: options checked against the allow-list, the object
//! resolved in that database's catalog (never assembled from the request), the statement built
//! from the name PostgreSQL quoted, and the sessions it would conflict with right now.

use sqlx::{FromRow, PgConnection};

use super::model::{Conflict, IndexCleanup, JobAction, JobOptions, JobPreview, TableSize};
use crate::error::{AppError, choice, flag};
use crate::features::targets::conn::{LoginKind, statement_error};
use crate::sql::body;

/// The most parallel workers a DBA may ask VACUUM for.
pub const MAX_PARALLEL: u16 = 64;

/// The raw option fields of a request, as they arrive.
#[derive(Clone, Debug, Default)]
pub struct RawOptions {
    pub analyze: Option<String>,
    pub freeze: Option<String>,
    pub full: Option<String>,
    pub skip_locked: Option<String>,
    pub index_cleanup: Option<String>,
    pub parallel: Option<String>,
    pub concurrently: Option<String>,
    pub verbose: Option<String>,
}

impl RawOptions {
    /// VACUUM's option fields as they arrive.
    pub fn vacuum(
        analyze: Option<String>,
        freeze: Option<String>,
        full: Option<String>,
        skip_locked: Option<String>,
        index_cleanup: Option<String>,
        parallel: Option<String>,
    ) -> Self {
        Self {
            analyze,
            freeze,
            full,
            skip_locked,
            index_cleanup,
            parallel,
            ..Self::default()
        }
    }
}

/// Checks every option against the allow-list for `action`.
pub fn options(action: JobAction, raw: &RawOptions) -> Result<JobOptions, AppError> {
    if flag("verbose", raw.verbose.as_deref(), false)? {
        return Err(AppError::validation(
            "verbose is not offered: its output would go nowhere (pgpanel records sizes before and after instead).",
        ));
    }
    let vacuum_only = [
        ("analyze", &raw.analyze),
        ("freeze", &raw.freeze),
        ("full", &raw.full),
        ("skip_locked", &raw.skip_locked),
        ("index_cleanup", &raw.index_cleanup),
        ("parallel", &raw.parallel),
    ];
    if action != JobAction::Vacuum
        && let Some((name, _)) = vacuum_only.iter().find(|(_, v)| v.is_some())
    {
        return Err(AppError::validation(format!(
            "{name} is a VACUUM option; {} takes none.",
            action.name()
        )));
    }
    if action != JobAction::Reindex && raw.concurrently.is_some() {
        return Err(AppError::validation("concurrently is a REINDEX option."));
    }
    let parallel = match raw.parallel.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match v.parse::<u16>() {
            Ok(n) if n <= MAX_PARALLEL => Some(n),
            _ => {
                return Err(AppError::validation(format!(
                    "parallel must be a whole number from 0 to {MAX_PARALLEL}."
                )));
            }
        },
    };
    let o = JobOptions {
        analyze: flag("analyze", raw.analyze.as_deref(), false)?,
        freeze: flag("freeze", raw.freeze.as_deref(), false)?,
        full: flag("full", raw.full.as_deref(), false)?,
        skip_locked: flag("skip_locked", raw.skip_locked.as_deref(), false)?,
        index_cleanup: choice(
            "index_cleanup",
            raw.index_cleanup.as_deref().map(str::trim),
            |v| match v {
                "auto" => Some(Some(IndexCleanup::Auto)),
                "on" => Some(Some(IndexCleanup::On)),
                "off" => Some(Some(IndexCleanup::Off)),
                _ => None,
            },
            None,
            "auto, on, off",
        )?,
        parallel,
        concurrently: flag(
            "concurrently",
            raw.concurrently.as_deref(),
            action == JobAction::Reindex,
        )?,
    };
    if o.full && o.parallel.is_some() {
        return Err(AppError::validation(
            "VACUUM FULL cannot run with parallel workers: choose one.",
        ));
    }
    Ok(o)
}

/// A relation found in the catalog.
#[derive(Clone, Debug, FromRow)]
pub struct Resolved {
    pub oid: i64,
    pub relkind: String,
    /// `schema.name` as PostgreSQL quotes it.
    pub quoted: String,
    pub table_oid: Option<i64>,
    /// Measured when resolved: pg_table_size and pg_total_relation_size.
    pub table_bytes: i64,
    pub total_bytes: i64,
    /// When (the server's clock, ms since the epoch).
    pub measured_ms: i64,
    pub in_recovery: bool,
    pub may_maintain: bool,
}

/// A session holding a lock on the object, as `lock_holders.sql` reads it.
#[derive(Debug, FromRow)]
struct LockHolder {
    pid: i32,
    mode: String,
    usename: Option<String>,
    state: Option<String>,
}

/// Reading the object waited past lock_timeout: who holds it, as a 409.
async fn locked(conn: &mut PgConnection, schema: &str, name: &str) -> AppError {
    let holders: Vec<LockHolder> = sqlx::query_as(body(include_str!("sql/lock_holders.sql")))
        .bind(schema)
        .bind(name)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading who holds a lock failed");
            Vec::new()
        });
    let who: Vec<String> = holders
        .iter()
        .map(|h| {
            let mut s = format!("pid {} ({}", h.pid, h.mode);
            if let Some(u) = &h.usename {
                s.push_str(&format!(", user {u}"));
            }
            if let Some(st) = &h.state {
                s.push_str(&format!(", {st}"));
            }
            s.push(')');
            s
        })
        .collect();
    let by = if who.is_empty() {
        "another session".to_owned()
    } else {
        who.join(", ")
    };
    AppError::conflict(format!(
        "{schema}.{name} is locked by {by}: pgpanel could not read it within lock_timeout. Nothing was run; try again when the lock is released, or end that session from the Locks page."
    ))
}

/// Looks the object up by exact schema and name; unknown → 404, standby → 409.
pub async fn resolve(
    conn: &mut PgConnection,
    action: JobAction,
    database: &str,
    schema: &str,
    name: &str,
) -> Result<Resolved, AppError> {
    let kinds: &[&str] = match action {
        JobAction::Reindex => &["i", "I"],
        _ => &["r", "m", "p"],
    };
    let found: sqlx::Result<Option<Resolved>> =
        sqlx::query_as(body(include_str!("sql/resolve_object.sql")))
            .bind(schema)
            .bind(name)
            .bind(kinds)
            .fetch_optional(&mut *conn)
            .await;
    let found = match found {
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("55P03") => {
            return Err(locked(conn, schema, name).await);
        }
        other => {
            other.map_err(|e| statement_error(LoginKind::Action, "Resolving the object", &e))?
        }
    };
    let what = if action == JobAction::Reindex {
        "index"
    } else {
        "table"
    };
    let r = found.ok_or_else(|| {
        AppError::not_found(format!(
            "There is no {what} named {name:?} in schema {schema:?} of database {database:?}."
        ))
    })?;
    if r.in_recovery {
        return Err(AppError::conflict(
            "The target is a standby (in recovery): VACUUM, ANALYZE and REINDEX run on the primary.",
        ));
    }
    if !r.may_maintain {
        return Err(AppError::forbidden(format!(
            "The action login may not {} {}: it must own the {what} (or the database), be a superuser, or on PostgreSQL 17+ have MAINTAIN on it.",
            action.name(),
            r.quoted
        )));
    }
    if action == JobAction::Reindex && r.relkind == "I" {
        return Err(AppError::validation(
            "That is a partitioned index: reindex its partitions' indexes one by one.",
        ));
    }
    Ok(r)
}

const ALL_MODES: &[&str] = &[
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];
/// Modes that conflict with SHARE UPDATE EXCLUSIVE.
const VS_SHARE_UPDATE_EXCLUSIVE: &[&str] = &[
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];
/// Modes that conflict with SHARE.
const VS_SHARE: &[&str] = &[
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// (relations, modes that conflict with the job's lock on them), per lock the job takes.
pub fn lock_checks(
    action: JobAction,
    o: &JobOptions,
    r: &Resolved,
) -> Vec<(Vec<i64>, &'static [&'static str])> {
    match action {
        JobAction::Vacuum if o.full => vec![(vec![r.oid], ALL_MODES)],
        JobAction::Vacuum | JobAction::Analyze => vec![(vec![r.oid], VS_SHARE_UPDATE_EXCLUSIVE)],
        JobAction::Reindex => {
            let table = r.table_oid.unwrap_or(r.oid);
            if o.concurrently {
                vec![(vec![table, r.oid], VS_SHARE_UPDATE_EXCLUSIVE)]
            } else {
                vec![(vec![table], VS_SHARE), (vec![r.oid], ALL_MODES)]
            }
        }
        // The advice feature's jobs are not checked here.
        JobAction::Apply | JobAction::Measure => Vec::new(),
    }
}

/// The sessions whose locks conflict with the job's right now.
pub async fn conflicts(
    conn: &mut PgConnection,
    action: JobAction,
    o: &JobOptions,
    r: &Resolved,
) -> sqlx::Result<Vec<Conflict>> {
    let mut out: Vec<Conflict> = Vec::new();
    for (oids, modes) in lock_checks(action, o, r) {
        let rows: Vec<Conflict> = sqlx::query_as(body(include_str!("sql/lock_conflicts.sql")))
            .bind(&oids)
            .bind(modes)
            .fetch_all(&mut *conn)
            .await?;
        for c in rows {
            if out.iter().any(|o| o.pid == c.pid && o.mode == c.mode) {
                continue;
            }
            out.push(c);
        }
    }
    Ok(out)
}

impl Resolved {
    /// Its size as measured when resolved.
    pub fn size(&self) -> TableSize {
        TableSize::exact(self.table_bytes, self.total_bytes, self.measured_ms)
    }
}

/// The preview of a resolved job.
pub fn preview(
    target: &str,
    action: JobAction,
    database: &str,
    o: &JobOptions,
    r: &Resolved,
    conflicts: Vec<Conflict>,
) -> JobPreview {
    let (mode, effect) = o.lock(action);
    JobPreview {
        target: target.to_owned(),
        action,
        database: database.to_owned(),
        object: r.quoted.clone(),
        sql: o.statement(action, &r.quoted),
        lock_mode: mode.to_owned(),
        lock_effect: effect.to_owned(),
        conflicts,
        confirm: confirm_word(action, o, r),
        size: Some(r.size()),
    }
}

/// What must be typed to go ahead: VACUUM FULL needs the table's name (unquoted, as listed).
pub fn confirm_word(action: JobAction, o: &JobOptions, r: &Resolved) -> Option<String> {
    (action == JobAction::Vacuum && o.full).then(|| r.quoted.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawOptions {
        RawOptions::default()
    }

    #[test]
    fn options_allow_list() {
        let o = options(JobAction::Vacuum, &raw()).expect("defaults");
        assert_eq!(
            o.statement(JobAction::Vacuum, "public.t"),
            "VACUUM public.t;"
        );
        let o = options(
            JobAction::Vacuum,
            &RawOptions {
                analyze: Some("true".into()),
                freeze: Some("on".into()),
                skip_locked: Some("true".into()),
                index_cleanup: Some("off".into()),
                parallel: Some("2".into()),
                ..raw()
            },
        )
        .expect("valid");
        assert_eq!(
            o.statement(JobAction::Vacuum, "s.\"T\""),
            "VACUUM (FREEZE, ANALYZE, SKIP_LOCKED, INDEX_CLEANUP OFF, PARALLEL 2) s.\"T\";"
        );
        for bad in [
            RawOptions {
                index_cleanup: Some("maybe".into()),
                ..raw()
            },
            RawOptions {
                parallel: Some("-1".into()),
                ..raw()
            },
            RawOptions {
                parallel: Some("2; drop table x".into()),
                ..raw()
            },
            RawOptions {
                parallel: Some("65".into()),
                ..raw()
            },
            RawOptions {
                full: Some("yes".into()),
                ..raw()
            },
            RawOptions {
                verbose: Some("true".into()),
                ..raw()
            },
            RawOptions {
                full: Some("true".into()),
                parallel: Some("2".into()),
                ..raw()
            },
            RawOptions {
                concurrently: Some("true".into()),
                ..raw()
            },
        ] {
            let e = options(JobAction::Vacuum, &bad).expect_err("refused");
            assert_eq!(e.status(), 400, "{bad:?}");
        }
        assert!(
            options(
                JobAction::Analyze,
                &RawOptions {
                    full: Some("true".into()),
                    ..raw()
                }
            )
            .is_err()
        );
        let r = options(JobAction::Reindex, &raw()).expect("reindex");
        assert_eq!(
            r.statement(JobAction::Reindex, "public.i"),
            "REINDEX INDEX CONCURRENTLY public.i;"
        );
        let r = options(
            JobAction::Reindex,
            &RawOptions {
                concurrently: Some("false".into()),
                ..raw()
            },
        )
        .expect("plain");
        assert_eq!(
            r.statement(JobAction::Reindex, "public.i"),
            "REINDEX INDEX public.i;"
        );
        assert_eq!(
            r.lock(JobAction::Reindex).0,
            "SHARE on the table, ACCESS EXCLUSIVE on the index"
        );
    }
}
