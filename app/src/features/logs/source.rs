//! Where a target's log bytes come from: over SQL (`pg_ls_logdir()` and `pgpanel.read_log` on
//! the monitor pool) or from files on this host. Both list files with their size and read byte
//! ranges; a failure is a [`Problem`] that says why and what to run.

use std::path::{Path, PathBuf};

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::db::{self, LogFile};

/// Why the log cannot be read, and what would make it readable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub problem: String,
    pub fix: Option<String>,
}

impl Problem {
    pub fn new(problem: impl Into<String>, fix: Option<String>) -> Self {
        Self {
            problem: problem.into(),
            fix,
        }
    }
}

/// The prefix when neither the configuration nor the target says (Debian's default).
pub const DEFAULT_PREFIX: &str = "%m [%p] %q%u@%d ";

/// The SQL a superuser runs to turn the logging collector on with jsonlog (restart needed).
pub const COLLECTOR_FIX: &str = "As a superuser: ALTER SYSTEM SET logging_collector = on; \
     ALTER SYSTEM SET log_destination = 'jsonlog'; then restart PostgreSQL (logging_collector \
     needs a restart). Or run pgpanel on the database host and read the file directly \
     (logs = \"file\", log_path = \"/var/log/postgresql\" in the target's configuration).";

#[derive(Clone, Debug)]
pub enum Source {
    Sql {
        pool: PgPool,
        target_id: String,
    },
    /// A directory of log files, or one file.
    File(PathBuf),
}

impl Source {
    pub async fn files(&self) -> Result<Vec<LogFile>, Problem> {
        match self {
            Self::Sql { pool, target_id } => db::files(pool)
                .await
                .map_err(|e| sql_problem(&e, target_id, "listing the log directory")),
            Self::File(path) => list_path(path).await,
        }
    }

    /// Up to `len` bytes from `offset`; `None` when the file is gone.
    pub async fn read(
        &self,
        name: &str,
        offset: i64,
        len: i64,
    ) -> Result<Option<Vec<u8>>, Problem> {
        match self {
            Self::Sql { pool, target_id } => db::read(pool, name, offset, len)
                .await
                .map_err(|e| sql_problem(&e, target_id, "reading the log")),
            Self::File(path) => read_file(path, name, offset, len).await,
        }
    }
}

/// A failed log read over SQL, for people: the missing function or grant gets the command
/// that installs it.
pub fn sql_problem(e: &sqlx::Error, target_id: &str, what: &str) -> Problem {
    let setup = format!(
        "Run the SQL printed by `pgpanel setup-sql --target {target_id}` as a superuser on the \
         target (it installs the log reader function pgpanel.read_log and grants it to the \
         monitor login; it is idempotent)."
    );
    tracing::warn!(error = %e, "{what} failed");
    match e {
        sqlx::Error::Database(d) => match d.code().as_deref() {
            Some("42883") | Some("3F000") => Problem::new(
                "pgpanel's log reader function pgpanel.read_log is not installed on the target.",
                Some(setup),
            ),
            Some("42501") => Problem::new(
                format!("The monitor login may not do this ({}).", d.message()),
                Some(setup),
            ),
            Some("58P01") => Problem::new(
                format!(
                    "The server has no log directory to read ({}): the logging collector has not \
                     written one (logging_collector = off, the log goes to the server's stderr).",
                    d.message()
                ),
                Some(COLLECTOR_FIX.into()),
            ),
            Some("57014") => Problem::new(format!("{what} hit statement_timeout."), None),
            _ => Problem::new(format!("{what} failed: {}.", d.message()), None),
        },
        _ => Problem::new(
            format!(
                "{what} failed: {}.",
                crate::features::targets::connect::describe_error(
                    e,
                    crate::features::targets::connect::LoginKind::Monitor
                )
            ),
            None,
        ),
    }
}

/// A bare file name: no directory part, nothing hidden, no `..`.
pub fn bare_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

async fn list_path(path: &Path) -> Result<Vec<LogFile>, Problem> {
    let cannot = |e: std::io::Error| {
        Problem::new(
            format!("pgpanel cannot read {}: {e}.", path.display()),
            Some(
                "Give the user pgpanel runs as read access (e.g. add it to the group adm on \
                 Debian, which owns /var/log/postgresql), or set log_path to the right place."
                    .into(),
            ),
        )
    };
    let meta = tokio::fs::metadata(path).await.map_err(cannot)?;
    let mut out = Vec::new();
    let entry = |name: String, m: &std::fs::Metadata| LogFile {
        name,
        size: i64::try_from(m.len()).unwrap_or(i64::MAX),
        modified_ms: m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0)),
    };
    if meta.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(entry(name, &meta));
    } else {
        let mut dir = tokio::fs::read_dir(path).await.map_err(cannot)?;
        while let Some(e) = dir.next_entry().await.map_err(cannot)? {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(m) = e.metadata().await
                && m.is_file()
                && bare_name(&name)
            {
                out.push(entry(name, &m));
            }
        }
    }
    out.sort_by(|a, b| (a.modified_ms, &a.name).cmp(&(b.modified_ms, &b.name)));
    Ok(out)
}

async fn read_file(
    path: &Path,
    name: &str,
    offset: i64,
    len: i64,
) -> Result<Option<Vec<u8>>, Problem> {
    if !bare_name(name) {
        return Err(Problem::new("invalid log file name", None));
    }
    let file = if path.is_dir() {
        path.join(name)
    } else {
        path.to_path_buf()
    };
    let mut f = match tokio::fs::File::open(&file).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Problem::new(
                format!("pgpanel cannot read {}: {e}.", file.display()),
                None,
            ));
        }
    };
    let io =
        |e: std::io::Error| Problem::new(format!("reading {} failed: {e}", file.display()), None);
    f.seek(std::io::SeekFrom::Start(u64::try_from(offset).unwrap_or(0)))
        .await
        .map_err(io)?;
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(u64::try_from(len).unwrap_or(0))
        .read_to_end(&mut buf)
        .await
        .map_err(io)?;
    Ok(Some(buf))
}

/// A read on request (a cut entry read whole, a backfill), as people see its failure.
pub fn problem(p: Problem) -> crate::error::AppError {
    crate::error::AppError::TargetUnavailable {
        message: match p.fix {
            Some(fix) => format!("{} {fix}", p.problem),
            None => p.problem,
        },
    }
}

/// The source of `target`'s log for a read on request, and its logging settings when they can
/// be read (a catalog read).
pub async fn on_request(
    target: &crate::features::targets::monitor::Target,
) -> Result<(Source, Option<super::db::LogFacts>), crate::error::AppError> {
    use super::spec::LogMode;
    let source = match &target.spec.logs.mode {
        LogMode::Sql => Source::Sql {
            pool: target.pool().clone(),
            target_id: target.spec.id.clone(),
        },
        LogMode::File(path) => Source::File(path.clone()),
        LogMode::Off => {
            return Err(crate::error::AppError::conflict(
                "Reading the log is turned off for this target (logs = \"off\").",
            ));
        }
    };
    Ok((source, db::facts(target.pool()).await.ok()))
}

/// The reader of `format` files as the tailer builds it: the prefix from the configuration, else
/// the target's setting, else Debian's; times in log_timezone's offset.
pub fn reader(
    target: &crate::features::targets::monitor::Target,
    format: super::parse::Format,
    facts: Option<&super::db::LogFacts>,
) -> Result<super::parse::Reader, crate::error::AppError> {
    let prefix = if format == super::parse::Format::Stderr {
        Some(std::sync::Arc::new(
            super::parse::stderr::Prefix::new(&prefix_setting(target, facts))
                .map_err(|e| crate::error::AppError::conflict(e.to_string()))?,
        ))
    } else {
        None
    };
    Ok(super::parse::Reader {
        format,
        prefix,
        zone: zone(facts),
    })
}

/// The `log_line_prefix` stderr files are parsed with: the configuration's, else the target's
/// setting, else Debian's default.
pub fn prefix_setting(
    target: &crate::features::targets::monitor::Target,
    facts: Option<&super::db::LogFacts>,
) -> String {
    target
        .spec
        .logs
        .line_prefix
        .clone()
        .or_else(|| facts.map(|f| f.prefix.clone()))
        .unwrap_or_else(|| DEFAULT_PREFIX.into())
}

/// log_timezone's offset now (UTC when unknown), for times written with a zone abbreviation.
pub fn zone(facts: Option<&super::db::LogFacts>) -> time::UtcOffset {
    facts
        .and_then(|f| time::UtcOffset::from_whole_seconds(f.zone_offset_s).ok())
        .unwrap_or(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_names() {
        assert!(bare_name("postgresql-2026-12-02_000000.json"));
        assert!(!bare_name("../PG_VERSION"));
        assert!(!bare_name("/etc/passwd"));
        assert!(!bare_name(".."));
        assert!(!bare_name("a/b"));
        assert!(!bare_name(""));
    }
}
