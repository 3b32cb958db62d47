//! What a record is about ([`Kind`]), from its severity, SQLSTATE and the server's (English)
//! message; the duration of `duration:` lines and lock waits; the statement a `duration:` line
//! carries; pgaudit's fields. Messages in another `lc_messages` are classified by severity and
//! SQLSTATE only (the Logs page says so).

use super::Record;
use crate::features::logs::model::{AuditFields, Kind};

#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    pub kind: Kind,
    pub duration_ms: Option<f64>,
    /// The statement of a `duration: … statement:` or `statement:` line.
    pub statement: Option<String>,
    pub audit: Option<AuditFields>,
}

pub fn classify(r: &Record) -> Classified {
    let m = r.message.as_str();
    let state = r.sqlstate.as_deref().unwrap_or("");
    let mut out = Classified {
        kind: Kind::Other,
        duration_ms: None,
        statement: None,
        audit: None,
    };
    if let Some(audit) = super::pgaudit::parse(m) {
        out.kind = Kind::Audit;
        out.audit = Some(audit);
        return out;
    }
    if let Some(rest) = m.strip_prefix("duration: ") {
        out.kind = Kind::Slow;
        let (ms, tail) = rest.split_once(" ms").unwrap_or((rest, ""));
        out.duration_ms = ms.trim().parse().ok();
        out.statement = tail
            .trim_start()
            .split_once(": ")
            .map(|(_, s)| s.to_owned())
            .filter(|s| !s.is_empty());
        return out;
    }
    if let Some(s) = ["statement: ", "execute "]
        .iter()
        .find_map(|p| m.strip_prefix(p))
    {
        out.kind = Kind::Statement;
        out.statement = Some(match s.split_once(": ") {
            Some((name, text)) if m.starts_with("execute ") && !name.contains(' ') => text.into(),
            _ => s.into(),
        });
        return out;
    }
    out.kind = if m.starts_with("process ")
        && (m.contains(" still waiting for ")
            || m.contains(" acquired ")
            || m.contains(" avoided deadlock"))
        || state == "40P01"
        || state == "55P03"
        || m.starts_with("deadlock detected")
    {
        if let Some(after) = m.rsplit_once(" after ").map(|(_, a)| a) {
            out.duration_ms = after.split(' ').next().and_then(|v| v.parse().ok());
        }
        Kind::Lock
    } else if m.starts_with("connection received")
        || m.starts_with("connection authorized")
        || m.starts_with("connection authenticated")
        || m.starts_with("disconnection:")
        || state.starts_with("28")
        || state == "53300"
        || m.starts_with("password authentication failed")
        || m.starts_with("no pg_hba.conf entry")
    {
        Kind::Connection
    } else if m.starts_with("checkpoint ")
        || m.starts_with("restartpoint ")
        || m.starts_with("checkpoints are occurring too frequently")
    {
        Kind::Checkpoint
    } else if m.starts_with("automatic vacuum")
        || m.starts_with("automatic aggressive vacuum")
        || m.starts_with("automatic analyze")
        || m.starts_with("canceling autovacuum task")
        || m.starts_with("skipping vacuum of")
        || m.starts_with("skipping analyze of")
    {
        Kind::Autovacuum
    } else if m.starts_with("temporary file: ") {
        Kind::TempFile
    } else if m.starts_with("database system is ready")
        || m.starts_with("database system is shut down")
        || m.starts_with("database system was ")
        || m.starts_with("starting PostgreSQL")
        || m.starts_with("received fast shutdown")
        || m.starts_with("received smart shutdown")
        || m.starts_with("received immediate shutdown")
        || m.starts_with("received SIGHUP")
        || m.starts_with("shutting down")
        || m.starts_with("all server processes terminated")
        || m.starts_with("terminating any other active server processes")
        || (m.starts_with("server process") && m.contains("terminated by signal"))
        || r.severity == "PANIC"
    {
        Kind::Server
    } else {
        match r.severity.as_str() {
            "ERROR" | "FATAL" | "PANIC" => Kind::Error,
            "WARNING" => Kind::Warning,
            _ => Kind::Other,
        }
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(severity: &str, sqlstate: Option<&str>, message: &str) -> Record {
        Record {
            severity: severity.into(),
            sqlstate: sqlstate.map(Into::into),
            message: message.into(),
            ..Record::default()
        }
    }

    #[test]
    fn kinds_of_real_messages() {
        let cases = [
            (
                rec("ERROR", Some("42P01"), "relation \"x\" does not exist"),
                Kind::Error,
            ),
            (
                rec(
                    "WARNING",
                    Some("01000"),
                    "there is no transaction in progress",
                ),
                Kind::Warning,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "process 18088 still waiting for AccessShareLock on relation 16393 of database 5 after 500.093 ms",
                ),
                Kind::Lock,
            ),
            (rec("ERROR", Some("40P01"), "deadlock detected"), Kind::Lock),
            (
                rec(
                    "ERROR",
                    Some("55P03"),
                    "canceling statement due to lock timeout",
                ),
                Kind::Lock,
            ),
            (
                rec("LOG", None, "connection authorized: user=app database=shop"),
                Kind::Connection,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "disconnection: session time: 0:00:00.007 user=postgres",
                ),
                Kind::Connection,
            ),
            (
                rec(
                    "FATAL",
                    Some("28P01"),
                    "password authentication failed for user \"x\"",
                ),
                Kind::Connection,
            ),
            (
                rec("FATAL", Some("53300"), "sorry, too many clients already"),
                Kind::Connection,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "checkpoint complete: wrote 1891 buffers (11.5%)",
                ),
                Kind::Checkpoint,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "automatic vacuum of table \"shop.public.orders\": index scans: 1",
                ),
                Kind::Autovacuum,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "automatic analyze of table \"shop.public.orders\"",
                ),
                Kind::Autovacuum,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "temporary file: path \"base/pgsql_tmp/x\", size 2457600",
                ),
                Kind::TempFile,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "database system is ready to accept connections",
                ),
                Kind::Server,
            ),
            (
                rec(
                    "LOG",
                    None,
                    "AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.t,create table t(),<none>",
                ),
                Kind::Audit,
            ),
            (
                rec("LOG", None, "parameter \"work_mem\" changed to \"8MB\""),
                Kind::Other,
            ),
        ];
        for (r, kind) in cases {
            assert_eq!(classify(&r).kind, kind, "{}", r.message);
        }
    }

    #[test]
    fn durations_and_statements() {
        let c = classify(&rec(
            "LOG",
            None,
            "duration: 1234.5 ms  statement: select pg_sleep(1.2)",
        ));
        assert_eq!(c.kind, Kind::Slow);
        assert_eq!(c.duration_ms, Some(1234.5));
        assert_eq!(c.statement.as_deref(), Some("select pg_sleep(1.2)"));
        let c = classify(&rec(
            "LOG",
            None,
            "duration: 12.000 ms  execute S_1: select * from t where id = $1",
        ));
        assert_eq!(
            c.statement.as_deref(),
            Some("select * from t where id = $1")
        );
        let c = classify(&rec("LOG", None, "duration: 0.343 ms"));
        assert_eq!((c.kind, c.statement), (Kind::Slow, None));
        let c = classify(&rec(
            "LOG",
            None,
            "process 1 acquired ShareLock on transaction 9 after 2004.391 ms",
        ));
        assert_eq!(c.duration_ms, Some(2004.391));
        let c = classify(&rec("LOG", None, "statement: select 1"));
        assert_eq!(
            (c.kind, c.statement.as_deref()),
            (Kind::Statement, Some("select 1"))
        );
    }
}
