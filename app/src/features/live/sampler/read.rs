//! One cycle's reads on the monitor connection: activity (only what changed), database
//! counters, on the slow tick the server counters and replication, and when due
//! pg_stat_statements (texts only for entries not seen before). A failed query degrades its own
//! panel; a lost connection ends the cycle and is never handed back to the pool.

use std::time::Duration;

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::Sampler;
use crate::features::activity::db as activity_db;
use crate::features::live::compute::StatementsSample;
use crate::features::live::db::{self, DatabaseCounters, ServerCounters};
use crate::features::live::incremental;
use crate::features::live::model::{PanelErrors, StatementKey, StatementText};
use crate::features::locks::sampling::LockReading;
use crate::features::targets::connect::{LoginKind, describe_error};
use crate::features::targets::model::ServerSummary;

/// Whether an error ended the connection (then the rest of the cycle is skipped).
fn connection_lost(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolClosed
    ) || matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c.starts_with("57P")))
}

/// What one cycle read from the target.
#[derive(Default)]
pub(super) struct Reading {
    pub(super) names: Option<activity_db::Names>,
    pub(super) activity: Option<Vec<activity_db::ActivityRow>>,
    pub(super) database: Option<DatabaseCounters>,
    pub(super) server: Option<ServerCounters>,
    pub(super) replication: Option<Vec<db::ReplicationRow>>,
    pub(super) statements: Option<StatementsSample>,
    pub(super) locks: Option<LockReading>,
    pub(super) texts: Vec<StatementText>,
    /// Entries whose texts were asked for in this cycle.
    pub(super) asked: Vec<StatementKey>,
    pub(super) errors: PanelErrors,
    pub(super) lost: bool,
}

impl Sampler {
    pub(super) async fn read(
        &mut self,
        slow_due: bool,
        statements_due: bool,
        server: Option<&ServerSummary>,
    ) -> Reading {
        let session = &self.target.spec.session;
        let mut reading = Reading::default();
        let mut conn =
            match tokio::time::timeout(session.connect_timeout, self.target.pool().acquire()).await
            {
                Ok(Ok(conn)) => conn,
                Ok(Err(e)) => return Reading::failed(&describe_error(&e, LoginKind::Monitor)),
                Err(_) => return Reading::failed("no free monitor connection"),
            };
        // statement_timeout bounds each query; this bounds a server that stopped answering.
        let budget = session.statement_timeout * 2 + Duration::from_secs(1);
        let done = tokio::time::timeout(
            budget,
            self.read_on(&mut conn, slow_due, statements_due, server, &mut reading),
        )
        .await;
        if done.is_err() || reading.lost {
            // Mid-query or broken: never hand it back to the pool.
            drop(conn.detach());
            if done.is_err() {
                let mut failed =
                    Reading::failed(&format!("no answer within {} s", budget.as_secs()));
                failed.activity = reading.activity.take();
                failed.database = reading.database.take();
                return failed;
            }
        }
        reading
    }

    async fn read_on(
        &mut self,
        conn: &mut PgConnection,
        slow_due: bool,
        statements_due: bool,
        server: Option<&ServerSummary>,
        r: &mut Reading,
    ) {
        macro_rules! step {
            ($panel:ident, $query:expr) => {
                match $query.await {
                    Ok(v) => Some(v),
                    Err(e) => {
                        r.errors.$panel = Some(describe_error(&e, LoginKind::Monitor));
                        if connection_lost(&e) {
                            r.lost = true;
                            return;
                        }
                        None
                    }
                }
            };
        }
        if slow_due || self.names.databases.is_empty() {
            r.names = step!(activity, activity_db::names(&mut *conn));
        }
        r.activity = step!(activity, self.read_activity(&mut *conn));
        if let Some(rows) = r
            .activity
            .as_deref()
            .filter(|_| self.locks.due(self.schedule.fast))
        {
            r.locks = step!(locks, self.locks.read(&mut *conn, rows));
        }
        r.database = step!(database, db::database_stats(&mut *conn));
        if !slow_due {
            return;
        }
        let version = server.map_or(0, |s| s.version_num);
        if version >= 140_000 {
            r.server = step!(server, db::server_counters(&mut *conn, version));
        } else {
            r.errors.server =
                Some("checkpoint and WAL panels need PostgreSQL 14 or later (pg_stat_wal)".into());
        }
        r.replication = step!(replication, db::replication(&mut *conn));
        if !statements_due {
            return;
        }
        if let Some(u) = crate::features::targets::capabilities::statements_unavailable(
            self.target.capability("pg_stat_statements"),
            server,
        ) {
            r.errors.statements = Some(match u.sql {
                Some(sql) => format!("{} Run: {sql}", u.detail),
                None => u.detail,
            });
            return;
        }
        let info = step!(statements, db::statements_info(&mut *conn));
        let server_started = server.map_or(OffsetDateTime::UNIX_EPOCH, |s| s.started_at);
        let known = incremental::known_exec_times(
            self.prev_statements.as_ref(),
            info.as_ref(),
            server_started,
            self.partial_statement_reads,
        );
        let Some(rows) = step!(
            statements,
            db::statements(&mut *conn, version, known.as_deref())
        ) else {
            return;
        };
        // Asked for once: an entry whose text does not come back (evicted in between, or
        // unreadable) is not asked for again on every cycle (the text file read is the costly part).
        let new_keys: Vec<StatementKey> = rows
            .iter()
            .map(|row| row.key())
            .filter(|k| !self.known_texts.contains(k))
            .collect();
        let mut new_ids: Vec<i64> = new_keys.iter().map(|k| k.queryid).collect();
        new_ids.sort_unstable();
        new_ids.dedup();

        let rows = match (&known, &self.prev_statements) {
            (Some(_), Some(prev)) => incremental::merge_statements(prev, rows),
            _ => rows.into_iter().map(|row| (row.key(), row)).collect(),
        };
        self.partial_statement_reads = match known {
            Some(_) => self.partial_statement_reads + 1,
            None => 0,
        };
        r.statements = Some(StatementsSample {
            info,
            server_started,
            rows,
        });
        // One call for all of them: each call reads the whole query-text file.
        if !new_ids.is_empty()
            && let Some(texts) = step!(statements, db::statement_texts(&mut *conn, &new_ids))
        {
            r.texts = texts;
            r.asked = new_keys;
        }
    }

    /// The backends that changed since the previous sample, merged with it; a full read when
    /// the merge does not fit.
    async fn read_activity(
        &mut self,
        conn: &mut PgConnection,
    ) -> sqlx::Result<Vec<activity_db::ActivityRow>> {
        let since = self.activity.since();
        let busy = self.activity.busy();
        let sent =
            activity_db::activity(&mut *conn, since, self.activity.backends(), &busy).await?;
        if let Some(rows) = self.activity.apply(since, sent) {
            return Ok(rows);
        }
        let all = activity_db::activity(&mut *conn, None, None, &[]).await?;
        Ok(self.activity.apply(None, all).unwrap_or_default())
    }
}

impl Reading {
    pub(super) fn failed(reason: &str) -> Self {
        let reason = reason.to_owned();
        Self {
            errors: PanelErrors {
                activity: Some(reason.clone()),
                database: Some(reason.clone()),
                server: Some(reason.clone()),
                replication: Some(reason.clone()),
                locks: Some(reason.clone()),
                statements: Some(reason),
            },
            lost: true,
            ..Self::default()
        }
    }
}
