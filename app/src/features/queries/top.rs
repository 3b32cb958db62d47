//! Top statements over a window from the stored minute deltas plus the current minute's (still in
//! the hub), and one statement's history.

use std::collections::HashMap;

use super::model::{Order, QueryDetail, QueryPoint, StatementRow, TopQueries, Window};
use crate::error::AppError;
use crate::features::live::hub::{TargetHub, minute_of};
use crate::features::live::model::StatementDelta;
use crate::features::live::model::StatementKey;
use crate::features::targets::capabilities::statements_unavailable;
use crate::features::targets::monitor::Target;
use crate::store::{CachedText, Store};

/// Stored totals since the window's first minute, plus the hub's pending minute.
async fn totals(
    store: &Store,
    hub: &TargetHub,
    from_minute: i64,
) -> Result<HashMap<StatementKey, StatementDelta>, AppError> {
    let mut totals = store.statement_totals(&hub.id, from_minute).await?;
    let (minute, pending) = hub.pending_statements();
    if minute >= from_minute {
        for (key, delta) in pending {
            totals.entry(key).or_default().add(&delta);
        }
    }
    Ok(totals)
}

fn row(
    key: &StatementKey,
    d: &StatementDelta,
    text: Option<&CachedText>,
    all_ms: f64,
    own: &[i64],
) -> StatementRow {
    StatementRow {
        stddev_ms: d.stddev_ms(),
        min_ms: None,
        max_ms: None,
        hit_ratio: d.hit_ratio(),
        io_read_ms: d.io_read_ms,
        io_write_ms: d.io_write_ms,
        wal_bytes: d.wal_bytes,
        lock_wait_ms: d.lock_wait_ms,
        own: own.contains(&key.userid),
        queryid: key.queryid.to_string(),
        database: text.map(|t| t.database_name.clone()),
        user: text.map(|t| t.user_name.clone()),
        toplevel: key.toplevel,
        query: text.map(|t| t.query.clone()),
        calls: d.calls,
        total_ms: d.exec_ms,
        mean_ms: d.mean_ms(),
        plan_ms: d.plan_ms,
        rows: d.rows,
        shared_blks_hit: d.shared_blks_hit,
        shared_blks_read: d.shared_blks_read,
        temp_blks: d.temp_blks_read + d.temp_blks_written,
        share: if all_ms > 0.0 {
            d.exec_ms / all_ms
        } else {
            0.0
        },
    }
}

/// With the lifetime minimum and maximum from the hub's latest sample.
fn with_extremes(hub: &TargetHub, rows: &mut [(StatementKey, StatementRow)]) {
    let keys: Vec<StatementKey> = rows.iter().map(|(k, _)| *k).collect();
    let extremes = hub.statement_extremes(&keys);
    for (k, r) in rows {
        if let Some((min, max)) = extremes.get(k) {
            r.min_ms = Some(*min);
            r.max_ms = Some(*max);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn top(
    store: &Store,
    hub: &TargetHub,
    target: &Target,
    window: Window,
    order: Order,
    limit: usize,
    hide_own: bool,
    now_ms: i64,
) -> Result<TopQueries, AppError> {
    let from_ms = now_ms - window.millis();
    let mut totals = totals(store, hub, minute_of(from_ms)).await?;
    // Entries with only a sampled lock wait have not finished a call yet: not a statement of
    // this window (their wait is counted once they do).
    totals.retain(|_, d| d.calls > 0 || d.exec_ms > 0.0);
    let own = hub.own_roles();
    let before = totals.len();
    if hide_own {
        totals.retain(|k, _| !own.contains(&k.userid));
    }
    let own_hidden = (before - totals.len()) as i64;
    // `+ 0.0`: an empty sum of f64 is -0.0.
    let all_ms: f64 = totals.values().map(|d| d.exec_ms).sum::<f64>() + 0.0;
    let total_calls: i64 = totals.values().map(|d| d.calls).sum();
    let mut rows: Vec<(StatementKey, StatementRow)> = totals
        .iter()
        .map(|(k, d)| (*k, row(k, d, None, all_ms, &own)))
        .collect();
    rows.sort_by(|a, b| {
        order
            .key(&b.1)
            .total_cmp(&order.key(&a.1))
            .then(a.0.cmp(&b.0))
    });
    rows.truncate(limit);
    with_extremes(hub, &mut rows);
    let keys: Vec<StatementKey> = rows.iter().map(|(k, _)| *k).collect();
    let texts = store.statement_texts(&hub.id, &keys).await?;
    let rows = rows
        .into_iter()
        .map(|(k, r)| match texts.get(&k) {
            Some(t) => StatementRow {
                database: Some(t.database_name.clone()),
                user: Some(t.user_name.clone()),
                query: Some(t.query.clone()),
                ..r
            },
            None => r,
        })
        .collect();
    let events = store.statement_events(&hub.id, from_ms).await?;
    let latest = hub
        .latest(crate::features::live::model::Topic::Statements)
        .and_then(|m| {
            serde_json::from_str::<crate::features::live::model::StatementsFrame>(&m.json).ok()
        });
    let sampled_at_ms = latest.as_ref().map(|f| f.at_ms);
    let error = latest.and_then(|f| f.error);
    Ok(TopQueries {
        target: hub.id.clone(),
        window,
        order,
        from_ms,
        to_ms: now_ms,
        rows,
        statements: totals.len() as i64,
        total_ms: all_ms,
        total_calls,
        resets: events.iter().filter(|e| e.reset).count() as i64,
        evicted: events.iter().map(|e| e.evicted).sum(),
        unavailable: statements_unavailable(
            target.capability("pg_stat_statements"),
            target.server().as_ref(),
        ),
        error,
        hide_own,
        own_hidden,
        sampled_at_ms,
    })
}

pub async fn detail(
    store: &Store,
    hub: &TargetHub,
    queryid: i64,
    window: Window,
    now_ms: i64,
) -> Result<QueryDetail, AppError> {
    let from_minute = minute_of(now_ms - window.millis());
    let totals = totals(store, hub, from_minute).await?;
    let all_ms: f64 = totals.values().map(|d| d.exec_ms).sum();
    let keys: Vec<StatementKey> = totals
        .keys()
        .filter(|k| k.queryid == queryid)
        .copied()
        .collect();
    if keys.is_empty() {
        return Err(AppError::not_found(format!(
            "Statement {queryid} did not run in the last {}.",
            window.as_str()
        )));
    }
    let texts = store.statement_texts(&hub.id, &keys).await?;
    let own = hub.own_roles();
    let mut entries: Vec<(StatementKey, StatementRow)> = keys
        .iter()
        .map(|k| (*k, row(k, &totals[k], texts.get(k), all_ms, &own)))
        .collect();
    with_extremes(hub, &mut entries);
    let mut entries: Vec<StatementRow> = entries.into_iter().map(|(_, r)| r).collect();
    entries.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
    let mut minutes = store
        .statement_minutes(&hub.id, queryid, from_minute)
        .await?;
    let (pending_minute, pending) = hub.pending_statements();
    let mut current = StatementDelta::default();
    for (_, d) in pending.iter().filter(|(k, _)| k.queryid == queryid) {
        current.add(d);
    }
    if current.calls > 0 {
        match minutes.last_mut() {
            Some((m, d)) if *m == pending_minute => d.add(&current),
            _ => minutes.push((pending_minute, current)),
        }
    }
    let points = minutes
        .into_iter()
        .map(|(minute_ms, d)| QueryPoint {
            minute_ms,
            calls: d.calls,
            total_ms: d.exec_ms,
            mean_ms: d.mean_ms(),
            rows: d.rows,
            shared_blks_read: d.shared_blks_read,
            lock_wait_ms: d.lock_wait_ms,
        })
        .collect();
    Ok(QueryDetail {
        target: hub.id.clone(),
        queryid: queryid.to_string(),
        window,
        to_ms: now_ms,
        query: entries.iter().find_map(|e| e.query.clone()),
        entries,
        points,
    })
}
