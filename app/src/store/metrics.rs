//! Live-panel history in the store: minute roll-ups of the samples, pg_stat_statements deltas per
//! entry and minute, the entries' texts, and resets/evictions. Kept `store.metrics_retention_days`.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError};
use crate::features::live::model::{
    FastPoint, Minute, SlowPoint, StatementDelta, StatementKey, StatementText,
};

/// A stored minute, as read back.
#[derive(serde::Serialize, serde::Deserialize)]
struct MinuteData {
    fast: Option<FastPoint>,
    slow: Option<SlowPoint>,
}

/// A cached statement text with the names of its database and role.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedText {
    pub database_name: String,
    pub user_name: String,
    pub query: String,
}

/// A reset of pg_stat_statements or evictions from it, as recorded by the sampler.
#[derive(Clone, Debug, PartialEq)]
pub struct StatementEvent {
    pub at_ms: i64,
    pub reset: bool,
    pub evicted: i64,
}

fn key_of(row: &AnyRow) -> Result<StatementKey, sqlx::Error> {
    Ok(StatementKey {
        queryid: row.try_get("queryid")?,
        dbid: row.try_get("dbid")?,
        userid: row.try_get("userid")?,
        toplevel: row.try_get::<i64, _>("toplevel")? != 0,
    })
}

fn delta_of(row: &AnyRow) -> Result<StatementDelta, sqlx::Error> {
    Ok(StatementDelta {
        calls: row.try_get("calls")?,
        exec_ms: row.try_get("exec_ms")?,
        plan_ms: row.try_get("plan_ms")?,
        rows: row.try_get("row_count")?,
        shared_blks_hit: row.try_get("shared_blks_hit")?,
        shared_blks_read: row.try_get("shared_blks_read")?,
        temp_blks_read: row.try_get("temp_blks_read")?,
        temp_blks_written: row.try_get("temp_blks_written")?,
        exec_sumsq: row.try_get("exec_sumsq")?,
        io_read_ms: row.try_get("io_read_ms")?,
        io_write_ms: row.try_get("io_write_ms")?,
        wal_bytes: row.try_get("wal_bytes")?,
        lock_wait_ms: row.try_get("lock_wait_ms")?,
    })
}

/// The summed columns of `statement_minutes`, cast so both backends return bigint and double.
macro_rules! sums {
    () => {
        "cast(sum(calls) as bigint) as calls, \
         cast(sum(exec_ms) as double precision) as exec_ms, \
         cast(sum(plan_ms) as double precision) as plan_ms, \
         cast(sum(row_count) as bigint) as row_count, \
         cast(sum(shared_blks_hit) as bigint) as shared_blks_hit, \
         cast(sum(shared_blks_read) as bigint) as shared_blks_read, \
         cast(sum(temp_blks_read) as bigint) as temp_blks_read, \
         cast(sum(temp_blks_written) as bigint) as temp_blks_written, \
         cast(sum(exec_sumsq) as double precision) as exec_sumsq, \
         cast(sum(io_read_ms) as double precision) as io_read_ms, \
         cast(sum(io_write_ms) as double precision) as io_write_ms, \
         cast(sum(wal_bytes) as bigint) as wal_bytes, \
         cast(sum(lock_wait_ms) as double precision) as lock_wait_ms"
    };
}

impl Store {
    pub async fn insert_metric_minute(
        &self,
        target_id: &str,
        minute: &Minute,
    ) -> Result<(), StoreError> {
        let data = serde_json::to_string(&MinuteData {
            fast: minute.fast.clone(),
            slow: minute.slow.clone(),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "insert into metric_minutes (target_id, minute_ms, data) values ($1, $2, $3) \
             on conflict (target_id, minute_ms) do update set data = excluded.data",
        )
        .bind(target_id)
        .bind(minute.minute_ms)
        .bind(data)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stored minutes in `[from_ms, to_ms)`, oldest first.
    pub async fn metric_minutes(
        &self,
        target_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(Vec<FastPoint>, Vec<SlowPoint>), StoreError> {
        let rows = sqlx::query(
            "select minute_ms, data from metric_minutes \
             where target_id = $1 and minute_ms >= $2 and minute_ms < $3 order by minute_ms",
        )
        .bind(target_id)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for row in rows {
            let data: String = row.try_get("data")?;
            let minute: MinuteData =
                serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            fast.extend(minute.fast);
            slow.extend(minute.slow);
        }
        Ok((fast, slow))
    }

    /// Adds one minute of statement deltas (added to what the minute already holds).
    pub async fn add_statement_minute(
        &self,
        target_id: &str,
        minute_ms: i64,
        rows: &[(StatementKey, StatementDelta)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (k, d) in rows {
            sqlx::query(
                "insert into statement_minutes (target_id, minute_ms, queryid, dbid, userid, \
                 toplevel, calls, exec_ms, plan_ms, row_count, shared_blks_hit, shared_blks_read, \
                 temp_blks_read, temp_blks_written, exec_sumsq, io_read_ms, io_write_ms, \
                 wal_bytes, lock_wait_ms) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19) \
                 on conflict (target_id, minute_ms, queryid, dbid, userid, toplevel) do update set \
                 calls = statement_minutes.calls + excluded.calls, \
                 exec_ms = statement_minutes.exec_ms + excluded.exec_ms, \
                 plan_ms = statement_minutes.plan_ms + excluded.plan_ms, \
                 row_count = statement_minutes.row_count + excluded.row_count, \
                 shared_blks_hit = statement_minutes.shared_blks_hit + excluded.shared_blks_hit, \
                 shared_blks_read = statement_minutes.shared_blks_read + excluded.shared_blks_read, \
                 temp_blks_read = statement_minutes.temp_blks_read + excluded.temp_blks_read, \
                 temp_blks_written = statement_minutes.temp_blks_written + excluded.temp_blks_written, \
                 exec_sumsq = statement_minutes.exec_sumsq + excluded.exec_sumsq, \
                 io_read_ms = statement_minutes.io_read_ms + excluded.io_read_ms, \
                 io_write_ms = statement_minutes.io_write_ms + excluded.io_write_ms, \
                 wal_bytes = statement_minutes.wal_bytes + excluded.wal_bytes, \
                 lock_wait_ms = statement_minutes.lock_wait_ms + excluded.lock_wait_ms",
            )
            .bind(target_id)
            .bind(minute_ms)
            .bind(k.queryid)
            .bind(k.dbid)
            .bind(k.userid)
            .bind(i64::from(k.toplevel))
            .bind(d.calls)
            .bind(d.exec_ms)
            .bind(d.plan_ms)
            .bind(d.rows)
            .bind(d.shared_blks_hit)
            .bind(d.shared_blks_read)
            .bind(d.temp_blks_read)
            .bind(d.temp_blks_written)
            .bind(d.exec_sumsq)
            .bind(d.io_read_ms)
            .bind(d.io_write_ms)
            .bind(d.wal_bytes)
            .bind(d.lock_wait_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every entry's totals over the minutes from `from_minute_ms` on.
    pub async fn statement_totals(
        &self,
        target_id: &str,
        from_minute_ms: i64,
    ) -> Result<HashMap<StatementKey, StatementDelta>, StoreError> {
        let sql = concat!(
            "select queryid, dbid, userid, toplevel, ",
            sums!(),
            " from statement_minutes where target_id = $1 and minute_ms >= $2 \
             group by queryid, dbid, userid, toplevel"
        );
        let rows = sqlx::query(sql)
            .bind(target_id)
            .bind(from_minute_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((key_of(r)?, delta_of(r)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// One query id's totals per minute (all databases and roles together), oldest first.
    pub async fn statement_minutes(
        &self,
        target_id: &str,
        queryid: i64,
        from_minute_ms: i64,
    ) -> Result<Vec<(i64, StatementDelta)>, StoreError> {
        let sql = concat!(
            "select minute_ms, ",
            sums!(),
            " from statement_minutes where target_id = $1 and queryid = $2 and minute_ms >= $3 \
             group by minute_ms order by minute_ms"
        );
        let rows = sqlx::query(sql)
            .bind(target_id)
            .bind(queryid)
            .bind(from_minute_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("minute_ms")?, delta_of(r)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub async fn known_statement_keys(
        &self,
        target_id: &str,
    ) -> Result<Vec<StatementKey>, StoreError> {
        let rows = sqlx::query(
            "select queryid, dbid, userid, toplevel from statement_texts where target_id = $1",
        )
        .bind(target_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(key_of)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub async fn insert_statement_texts(
        &self,
        target_id: &str,
        at_ms: i64,
        texts: &[StatementText],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for t in texts {
            sqlx::query(
                "insert into statement_texts (target_id, queryid, dbid, userid, toplevel, \
                 database_name, user_name, query, first_seen_ms) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 on conflict (target_id, queryid, dbid, userid, toplevel) do nothing",
            )
            .bind(target_id)
            .bind(t.queryid)
            .bind(t.dbid)
            .bind(t.userid)
            .bind(i64::from(t.toplevel))
            .bind(&t.database_name)
            .bind(&t.user_name)
            .bind(&t.query)
            .bind(at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The cached texts of the given entries (missing ones are absent from the map).
    pub async fn statement_texts(
        &self,
        target_id: &str,
        keys: &[StatementKey],
    ) -> Result<HashMap<StatementKey, CachedText>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut out = HashMap::new();
        for k in keys {
            let row = sqlx::query(
                "select database_name, user_name, query from statement_texts where target_id = $1 \
                 and queryid = $2 and dbid = $3 and userid = $4 and toplevel = $5",
            )
            .bind(target_id)
            .bind(k.queryid)
            .bind(k.dbid)
            .bind(k.userid)
            .bind(i64::from(k.toplevel))
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(row) = row {
                out.insert(
                    *k,
                    CachedText {
                        database_name: row.try_get("database_name")?,
                        user_name: row.try_get("user_name")?,
                        query: row.try_get("query")?,
                    },
                );
            }
        }
        Ok(out)
    }

    pub async fn record_statement_event(
        &self,
        target_id: &str,
        at_ms: i64,
        reset: bool,
        evicted: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "insert into statement_events (target_id, at_ms, reset, evicted) values ($1, $2, $3, $4)",
        )
        .bind(target_id)
        .bind(at_ms)
        .bind(i64::from(reset))
        .bind(evicted)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn statement_events(
        &self,
        target_id: &str,
        from_ms: i64,
    ) -> Result<Vec<StatementEvent>, StoreError> {
        let rows = sqlx::query(
            "select at_ms, reset, evicted from statement_events \
             where target_id = $1 and at_ms >= $2 order by at_ms",
        )
        .bind(target_id)
        .bind(from_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StatementEvent {
                    at_ms: r.try_get("at_ms")?,
                    reset: r.try_get::<i64, _>("reset")? != 0,
                    evicted: r.try_get("evicted")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Deletes live-panel history (lock episodes included) older than `before_ms`, and texts no
    /// longer referenced.
    pub async fn prune_metrics(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut n = 0;
        for sql in [
            "delete from metric_minutes where minute_ms < $1",
            "delete from statement_minutes where minute_ms < $1",
            "delete from statement_events where at_ms < $1",
            "delete from lock_episodes where ended_ms < $1",
            "delete from statement_texts where first_seen_ms < $1 and not exists \
             (select 1 from statement_minutes m where m.target_id = statement_texts.target_id \
              and m.queryid = statement_texts.queryid)",
        ] {
            n += sqlx::query(sql)
                .bind(before_ms)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(n)
    }
}
