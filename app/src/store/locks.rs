//! Lock episodes in the store (migration 0004): one row per target and episode start, written
//! when an episode starts, grows and ends.

use sqlx::Row;

use super::{Store, StoreError};
use crate::features::locks::model::{LockEpisode, LockGraph};

impl Store {
    /// Inserts or updates the episode (keyed by target and start); `peak` is the graph at the
    /// peak, stored when the episode reaches a new one; `seen_ms`: the sample this write comes
    /// from.
    pub async fn save_lock_episode(
        &self,
        episode: &LockEpisode,
        peak: Option<&LockGraph>,
        seen_ms: i64,
    ) -> Result<(), StoreError> {
        let roots = serde_json::to_string(&episode.roots)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let peak = peak
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "insert into lock_episodes \
               (target_id, started_ms, ended_ms, peak_waiting, peak_ms, longest_wait_ms, roots, peak_graph, seen_ms) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             on conflict (target_id, started_ms) do update set \
               ended_ms = excluded.ended_ms, peak_waiting = excluded.peak_waiting, \
               peak_ms = excluded.peak_ms, longest_wait_ms = excluded.longest_wait_ms, \
               roots = excluded.roots, seen_ms = excluded.seen_ms, \
               peak_graph = coalesce(excluded.peak_graph, lock_episodes.peak_graph)",
        )
        .bind(&episode.target)
        .bind(episode.started_ms)
        .bind(episode.ended_ms)
        .bind(episode.peak_waiting)
        .bind(episode.peak_ms)
        .bind(episode.longest_wait_ms)
        .bind(roots)
        .bind(peak)
        .bind(seen_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What the previous sampler of the target left open (another instance before a fail-over,
    /// or this one before a restart): episodes not seen since `fresh_after_ms` are ended when
    /// they were last seen; the latest one seen since is returned, for the new sampler to go on
    /// with.
    pub async fn take_open_lock_episode(
        &self,
        target_id: &str,
        fresh_after_ms: i64,
    ) -> Result<Option<LockEpisode>, StoreError> {
        // Rows from before migration 0017 have no seen_ms: their peak is the last sure sign.
        sqlx::query(
            "update lock_episodes set ended_ms = coalesce(seen_ms, peak_ms) \
             where target_id = $1 and ended_ms is null and coalesce(seen_ms, peak_ms) < $2",
        )
        .bind(target_id)
        .bind(fresh_after_ms)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "select started_ms, ended_ms, peak_waiting, peak_ms, longest_wait_ms, roots \
             from lock_episodes where target_id = $1 and ended_ms is null \
             order by started_ms desc limit 1",
        )
        .bind(target_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| episode(target_id, &r)).transpose()
    }

    /// Episodes that overlap `[from_ms, to_ms]`, newest first, at most `max`.
    pub async fn lock_episodes(
        &self,
        target_id: &str,
        from_ms: i64,
        to_ms: i64,
        max: i64,
    ) -> Result<Vec<LockEpisode>, StoreError> {
        let rows = sqlx::query(
            "select started_ms, ended_ms, peak_waiting, peak_ms, longest_wait_ms, roots \
             from lock_episodes \
             where target_id = $1 and started_ms <= $3 and (ended_ms is null or ended_ms >= $2) \
             order by started_ms desc limit $4",
        )
        .bind(target_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(max)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| episode(target_id, r)).collect()
    }

    /// The graph at an episode's peak.
    pub async fn lock_episode_peak(
        &self,
        target_id: &str,
        started_ms: i64,
    ) -> Result<Option<LockGraph>, StoreError> {
        let row = sqlx::query(
            "select peak_graph from lock_episodes where target_id = $1 and started_ms = $2",
        )
        .bind(target_id)
        .bind(started_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let json: Option<String> = row.try_get("peak_graph")?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
}

fn episode(target_id: &str, r: &sqlx::any::AnyRow) -> Result<LockEpisode, StoreError> {
    let roots: String = r.try_get("roots")?;
    Ok(LockEpisode {
        id: r.try_get("started_ms")?,
        target: target_id.to_owned(),
        started_ms: r.try_get("started_ms")?,
        ended_ms: r.try_get("ended_ms")?,
        peak_waiting: r.try_get("peak_waiting")?,
        peak_ms: r.try_get("peak_ms")?,
        longest_wait_ms: r.try_get("longest_wait_ms")?,
        roots: serde_json::from_str(&roots).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}
