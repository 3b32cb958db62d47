//! Per-target leases and the frames their holders relay, for several instances on one
//! PostgreSQL store (`features::cluster::leases`, `features::live::relay`). Every time here is
//! the store's clock, read in the statement that uses it, so no instance's clock decides who
//! holds a lease. Lists of target ids are bound as one JSON array.

use std::collections::HashMap;

use sqlx::Row;

use super::{Backend, Store, StoreError};

/// A lease as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    pub target_id: String,
    pub instance_id: String,
    /// Not expired.
    pub live: bool,
    /// A page of the target is open on some instance.
    pub watched: bool,
    /// A Queries page of the target is open on some instance.
    pub statements: bool,
}

/// The channel frames are announced on; the payload is `target id <tab> topic`.
pub const FRAMES_CHANNEL: &str = "pgpanel_frames";

impl Store {
    /// The elements of the JSON array bound as parameter `n`, as a subquery.
    fn json_ids(&self, n: u8) -> String {
        match self.backend {
            Backend::Postgres => format!("(select json_array_elements_text(${n}::json))"),
            Backend::Sqlite => format!("(select value from json_each(${n}))"),
        }
    }

    /// Says that pages of these targets (Queries pages of `statements`) are open here, for the
    /// next `for_ms`: their holder samples them at the fast cadence.
    pub async fn mark_watched(
        &self,
        watched: &[String],
        statements: &[String],
        for_ms: i64,
    ) -> Result<(), StoreError> {
        let now = self.now_sql();
        for (ids, column) in [
            (watched, "watched_until_ms"),
            (statements, "statements_until_ms"),
        ] {
            if ids.is_empty() {
                continue;
            }
            sqlx::query(&format!(
                "update target_leases set {column} = {now} + $2 where target_id in {}",
                self.json_ids(1)
            ))
            .bind(json(ids))
            .bind(for_ms)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Renews `instance`'s leases among `targets` for `ttl_ms`; the ones it still holds.
    pub async fn renew_leases(
        &self,
        instance: &str,
        targets: &[String],
        ttl_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let now = self.now_sql();
        let sql = format!(
            "update target_leases set expires_at_ms = {now} + $3 \
             where instance_id = $1 and expires_at_ms >= {now} and target_id in {} \
             returning target_id",
            self.json_ids(2)
        );
        self.lease_statement(&sql, instance, targets, ttl_ms).await
    }

    /// Runs a lease statement (`$1` the instance, `$2` the targets, `$3` the lease's length);
    /// the targets it returns.
    async fn lease_statement(
        &self,
        sql: &str,
        instance: &str,
        targets: &[String],
        ttl_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(sql)
            .bind(instance)
            .bind(json(targets))
            .bind(ttl_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("target_id"))
            .collect::<Result<Vec<String>, _>>()?)
    }

    /// Takes the leases of `targets` that nobody holds (never taken, or expired); the ones taken.
    /// Two instances taking one lease at once: the row lock makes the second see the first's
    /// fresh expiry and take nothing.
    pub async fn take_leases(
        &self,
        instance: &str,
        targets: &[String],
        ttl_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.now_sql();
        let wanted = match self.backend {
            Backend::Postgres => {
                format!("select t, $1, {now} + $3 from json_array_elements_text($2::json) as t")
            }
            // `where true`: SQLite's upsert after a select needs it to parse.
            Backend::Sqlite => {
                format!("select value, $1, {now} + $3 from json_each($2) where true")
            }
        };
        let sql = format!(
            "insert into target_leases (target_id, instance_id, expires_at_ms) {wanted} \
             on conflict (target_id) do update \
               set instance_id = excluded.instance_id, expires_at_ms = excluded.expires_at_ms \
               where target_leases.expires_at_ms < {now} \
             returning target_id"
        );
        self.lease_statement(&sql, instance, targets, ttl_ms).await
    }

    /// Gives up `instance`'s leases of `targets` (every one of its leases when `None`): another
    /// instance takes them on its next round.
    pub async fn release_leases(
        &self,
        instance: &str,
        targets: Option<&[String]>,
    ) -> Result<(), StoreError> {
        match targets {
            None => {
                sqlx::query("delete from target_leases where instance_id = $1")
                    .bind(instance)
                    .execute(&self.pool)
                    .await?;
            }
            Some(ids) => {
                sqlx::query(&format!(
                    "delete from target_leases where instance_id = $1 and target_id in {}",
                    self.json_ids(2)
                ))
                .bind(instance)
                .bind(json(ids))
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The leases of `targets`, and the instances alive now (a heartbeat within
    /// `lost_after_ms`, not stopped), by the store's clock.
    pub async fn leases(
        &self,
        targets: &[String],
        lost_after_ms: i64,
    ) -> Result<(Vec<LeaseRecord>, Vec<String>), StoreError> {
        let now = self.now_sql();
        let rows = sqlx::query(&format!(
            "select target_id, instance_id, \
                    case when expires_at_ms >= {now} then cast(1 as bigint) else cast(0 as bigint) end as live, \
                    case when watched_until_ms >= {now} then cast(1 as bigint) else cast(0 as bigint) end as watched, \
                    case when statements_until_ms >= {now} then cast(1 as bigint) else cast(0 as bigint) end as statements \
             from target_leases where target_id in {} order by target_id",
            self.json_ids(1)
        ))
        .bind(json(targets))
        .fetch_all(&self.pool)
        .await?;
        let leases = rows
            .iter()
            .map(|r| {
                Ok(LeaseRecord {
                    target_id: r.try_get("target_id")?,
                    instance_id: r.try_get("instance_id")?,
                    live: r.try_get::<i64, _>("live")? == 1,
                    watched: r.try_get::<i64, _>("watched")? == 1,
                    statements: r.try_get::<i64, _>("statements")? == 1,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let alive = sqlx::query_scalar(&format!(
            "select id from instances \
             where stopped_at_ms is null and heartbeat_at_ms >= {now} - $1 order by id"
        ))
        .bind(lost_after_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok((leases, alive))
    }

    /// Stores the latest frame of a topic of a target and announces it to the other instances
    /// (PostgreSQL only: the notification is delivered when the row is visible).
    pub async fn publish_frame(
        &self,
        target_id: &str,
        topic: &str,
        at_ms: i64,
        body: &str,
    ) -> Result<(), StoreError> {
        let upsert = "insert into live_frames (target_id, topic, at_ms, body) \
                      values ($1, $2, $3, $4) on conflict (target_id, topic) do update \
                      set at_ms = excluded.at_ms, body = excluded.body";
        let sql = match self.backend {
            Backend::Postgres => format!(
                "with w as ({upsert} returning 1) \
                 select pg_notify('{FRAMES_CHANNEL}', $1 || chr(9) || $2) from w"
            ),
            Backend::Sqlite => upsert.to_owned(),
        };
        sqlx::query(&sql)
            .bind(target_id)
            .bind(topic)
            .bind(at_ms)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The latest frames of these (target, topic) pairs (all topics of a target when its topic
    /// is `None`): target, topic, sample time, body.
    pub async fn frames(
        &self,
        wanted: &[(String, Option<String>)],
    ) -> Result<Vec<(String, String, i64, String)>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_target: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
        for (t, topic) in wanted {
            by_target.entry(t).or_default().push(topic.as_deref());
        }
        let targets: Vec<String> = by_target.keys().map(|t| (*t).to_owned()).collect();
        let rows = sqlx::query(&format!(
            "select target_id, topic, at_ms, body from live_frames where target_id in {}",
            self.json_ids(1)
        ))
        .bind(json(&targets))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let target: String = r.try_get("target_id")?;
            let topic: String = r.try_get("topic")?;
            let asked = by_target
                .get(target.as_str())
                .is_some_and(|t| t.iter().any(|w| w.is_none_or(|w| w == topic)));
            if asked {
                out.push((target, topic, r.try_get("at_ms")?, r.try_get("body")?));
            }
        }
        Ok(out)
    }
}

fn json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}
