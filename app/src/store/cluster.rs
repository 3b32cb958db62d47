//! The pgpanel instances that share this store: each registers at start, beats every few seconds
//! and marks itself stopped at a clean shutdown (`features::cluster`). Every time here is the
//! store's own clock, read in the statement that writes it.

use sqlx::Row;

use super::{Backend, Store, StoreError};

/// One instance as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRecord {
    pub id: String,
    pub version: String,
    pub host: String,
    pub listen: String,
    pub started_at_ms: i64,
    pub heartbeat_at_ms: i64,
    pub stopped_at_ms: Option<i64>,
    pub targets: Vec<String>,
}

impl Store {
    /// A PostgreSQL store opened only to read it (`pgpanel check-config`): not created, not
    /// migrated, one connection (set up as `open`'s are).
    pub async fn open_to_read(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if Backend::of_url(url) != Some(Backend::Postgres) {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let pool = super::connect(url, Backend::Postgres, 1).await?;
        Ok(Self {
            pool,
            backend: Backend::Postgres,
            url: url.into(),
        })
    }

    /// The store's clock, in milliseconds since the epoch, as SQL.
    pub(super) fn now_sql(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "(extract(epoch from clock_timestamp()) * 1000)::int8",
            Backend::Sqlite => "cast((julianday('now') - 2440587.5) * 86400000.0 as integer)",
        }
    }

    /// The store's clock now (ms since the epoch).
    pub async fn store_now_ms(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!("select {}", self.now_sql()))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Registers (or registers again, after its row was pruned) an instance; its start time.
    pub async fn register_instance(
        &self,
        id: &str,
        version: &str,
        host: &str,
        listen: &str,
        targets: &[String],
    ) -> Result<i64, StoreError> {
        let now = self.now_sql();
        let targets = serde_json::to_string(targets).unwrap_or_else(|_| "[]".into());
        Ok(sqlx::query_scalar(&format!(
            "insert into instances \
             (id, version, host, listen, started_at_ms, heartbeat_at_ms, stopped_at_ms, targets) \
             values ($1, $2, $3, $4, {now}, {now}, null, $5) \
             on conflict (id) do update set heartbeat_at_ms = excluded.heartbeat_at_ms, \
                 stopped_at_ms = null, targets = excluded.targets \
             returning started_at_ms"
        ))
        .bind(id)
        .bind(version)
        .bind(host)
        .bind(listen)
        .bind(targets)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The instance is alive and samples `targets`; `NotFound` when its row is gone (pruned
    /// after a long hang: register again).
    pub async fn instance_heartbeat(&self, id: &str, targets: &[String]) -> Result<(), StoreError> {
        let targets = serde_json::to_string(targets).unwrap_or_else(|_| "[]".into());
        let done = sqlx::query(&format!(
            "update instances set heartbeat_at_ms = {}, targets = $2 \
             where id = $1 and stopped_at_ms is null",
            self.now_sql()
        ))
        .bind(id)
        .bind(targets)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// A clean shutdown: it samples nothing any more.
    pub async fn instance_stopped(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "update instances set stopped_at_ms = {}, targets = '[]' where id = $1",
            self.now_sql()
        ))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The store's clock and every instance, the latest started first.
    pub async fn instances(&self) -> Result<(i64, Vec<InstanceRecord>), StoreError> {
        let mut tx = self.pool.begin().await?;
        let now: i64 = sqlx::query_scalar(&format!("select {}", self.now_sql()))
            .fetch_one(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "select id, version, host, listen, started_at_ms, heartbeat_at_ms, stopped_at_ms, \
                    targets \
             from instances order by started_at_ms desc, id",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let instances = rows
            .iter()
            .map(|r| {
                let targets: String = r.try_get("targets")?;
                Ok(InstanceRecord {
                    id: r.try_get("id")?,
                    version: r.try_get("version")?,
                    host: r.try_get("host")?,
                    listen: r.try_get("listen")?,
                    started_at_ms: r.try_get("started_at_ms")?,
                    heartbeat_at_ms: r.try_get("heartbeat_at_ms")?,
                    stopped_at_ms: r.try_get("stopped_at_ms")?,
                    targets: serde_json::from_str(&targets)
                        .map_err(|e| StoreError::Corrupt(format!("instances.targets: {e}")))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok((now, instances))
    }

    /// Deletes instances stopped, or last heard of, more than `age_ms` ago (by the store's clock).
    pub async fn prune_instances(&self, age_ms: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(&format!(
            "delete from instances where coalesce(stopped_at_ms, heartbeat_at_ms) < {} - $1",
            self.now_sql()
        ))
        .bind(age_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
