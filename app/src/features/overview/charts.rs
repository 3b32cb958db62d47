//! The Overview's live part: the health summary and the charts, fed by the first render's data
//! and then by the `/live` stream (or, for ranges of 6 h and more, re-read every minute).

use leptos::prelude::*;

use super::fleet::level_class;
use crate::components::chart::{Chart, Line, Unit, Window};
use crate::components::format;
use crate::components::live::{StreamState, stream_state, subscribe};
use crate::features::live::model::{
    FastPoint, Health, Level, OverviewData, OverviewFrame, SlowPoint,
};
use crate::features::live::series::Values;

/// One chart line: a value of each sample.
fn line<P: Values>(points: &[P], label: &'static str, f: fn(&P) -> Option<f64>) -> Line {
    Line {
        label,
        points: points.iter().map(|p| (p.at_ms(), f(p))).collect(),
    }
}

/// Appends a streamed sample (unless it is not newer) and drops those before `from_ms`.
fn follow<P: Values>(v: &mut Vec<P>, p: P, from_ms: i64) {
    if v.last().is_none_or(|l| l.at_ms() < p.at_ms()) {
        v.push(p);
    }
    let cut = v.iter().take_while(|p| p.at_ms() < from_ms).count();
    v.drain(..cut);
}

#[component]
pub fn LiveOverview(data: OverviewData, refetch: Callback<()>) -> impl IntoView {
    let range = data.range;
    let fast = RwSignal::new(data.fast);
    let slow = RwSignal::new(data.slow);
    let now_ms = RwSignal::new(data.latest.as_ref().map_or(data.now_ms, |f| f.at_ms));
    let latest = RwSignal::new(data.latest);
    let stream = stream_state();
    Effect::new(move |_| {
        subscribe(&["overview"], move |_, json| {
            let Ok(frame) = serde_json::from_str::<OverviewFrame>(&json) else {
                return;
            };
            if range.follows_stream() {
                let from = frame.at_ms - range.millis();
                if let Some(p) = frame.fast.clone() {
                    fast.update(|v| follow(v, p, from));
                }
                if let Some(p) = frame.slow.clone() {
                    slow.update(|v| follow(v, p, from));
                }
                now_ms.set(frame.at_ms);
            }
            latest.set(Some(frame));
        });
        if !range.follows_stream()
            && let Ok(h) = set_interval_with_handle(
                move || refetch.run(()),
                std::time::Duration::from_secs(60),
            )
        {
            on_cleanup(move || h.clear());
        }
    });
    let step = range.step_ms();
    let window = Signal::derive(move || {
        let to = now_ms.get();
        Window {
            from_ms: to - range.millis(),
            to_ms: to,
            gap_ms: (3 * step).max(3_500),
        }
    });
    let slow_window = Signal::derive(move || Window {
        gap_ms: (3 * step).max(35_000),
        ..window.get()
    });
    let errors = move || latest.with(|l| l.as_ref().map(|f| f.errors.clone()).unwrap_or_default());
    let server_note = Signal::derive(move || errors().server);
    let repl_note = Signal::derive(move || errors().replication);
    let db_note = Signal::derive(move || errors().database);
    let act_note = Signal::derive(move || errors().activity);
    let health = Signal::derive(move || latest.with(|l| l.as_ref().and_then(|f| f.health.clone())));

    let f =
        move |lines: fn(&[FastPoint]) -> Vec<Line>| Signal::derive(move || fast.with(|v| lines(v)));
    let s =
        move |lines: fn(&[SlowPoint]) -> Vec<Line>| Signal::derive(move || slow.with(|v| lines(v)));
    view! {
        <HealthStrip health=health stream=stream/>
        <div class="chart-grid" data-testid="charts" data-range=range.as_str()>
            <Chart title="Transactions" key="tps" unit=Unit::PerSecond window=window note=db_note
                lines=f(|v| vec![line(v, "commit", |p| p.commits), line(v, "rollback", |p| p.rollbacks)])/>
            <Chart title="Sessions by state" key="sessions" unit=Unit::Count window=window note=act_note
                lines=f(|v| vec![
                    line(v, "active", |p| p.active),
                    line(v, "idle in transaction", |p| p.idle_in_tx),
                    line(v, "waiting on a lock", |p| p.waiting),
                    line(v, "idle", |p| p.idle),
                ])/>
            <Chart title="Cache hit ratio" key="cache" unit=Unit::Ratio window=window note=db_note
                lines=f(|v| vec![line(v, "shared buffers", |p| p.cache_hit)])/>
            <Chart title="Tuples" key="tuples" unit=Unit::PerSecond window=window note=db_note
                lines=f(|v| vec![
                    line(v, "returned", |p| p.tup_returned),
                    line(v, "fetched", |p| p.tup_fetched),
                    line(v, "inserted", |p| p.tup_inserted),
                    line(v, "updated", |p| p.tup_updated),
                    line(v, "deleted", |p| p.tup_deleted),
                ])/>
            <Chart title="Temporary files" key="temp" unit=Unit::BytesPerSecond window=window note=db_note
                lines=f(|v| vec![line(v, "written", |p| p.temp_bytes)])/>
            <Chart title="Deadlocks and conflicts" key="deadlocks" unit=Unit::PerMinute window=window note=db_note
                lines=f(|v| vec![
                    line(v, "deadlocks", |p| p.deadlocks.map(|x| x * 60.0)),
                    line(v, "recovery conflicts", |p| p.conflicts.map(|x| x * 60.0)),
                ])/>
            <Chart title="WAL written" key="wal" unit=Unit::BytesPerSecond window=slow_window note=server_note
                lines=s(|v| vec![line(v, "WAL", |p| p.wal_bytes)])/>
            <Chart title="Checkpoints" key="checkpoints" unit=Unit::PerMinute window=slow_window note=server_note
                lines=s(|v| vec![
                    line(v, "timed", |p| p.checkpoints_timed),
                    line(v, "requested", |p| p.checkpoints_req),
                ])/>
            <Chart title="Replication lag (bytes)" key="lag_bytes" unit=Unit::Bytes window=slow_window note=repl_note
                lines=s(|v| vec![line(v, "largest", |p| p.repl_lag_bytes)])/>
            <Chart title="Replication lag (time)" key="lag_time" unit=Unit::Millis window=slow_window note=repl_note
                lines=s(|v| vec![line(v, "replay", |p| p.repl_lag_ms)])/>
        </div>
    }
}

fn duration_text(ms: Option<i64>) -> String {
    format::age(ms, "none")
}

/// Both clocks, named: the transaction's age (what the level goes by) and how long it has been
/// idle.
pub fn idle_in_tx_detail(h: &Health) -> String {
    match (h.idle_in_tx_xact_ms, h.idle_in_tx_idle_ms) {
        (Some(xact), idle) if h.idle_in_tx > 0 => format!(
            "oldest transaction open {} · idle for {}",
            format::millis(xact),
            format::age(idle, "?")
        ),
        _ => "none now".into(),
    }
}

pub fn lock_detail(h: &Health) -> String {
    match h.longest_lock_wait_ms {
        Some(ms) if h.lock_waiting > 0 => format!("longest wait {}", format::millis(ms)),
        _ if h.lock_waiting > 0 => "longest wait: reading…".into(),
        _ => "nobody waits".into(),
    }
}

#[component]
fn Stat(
    label: &'static str,
    key: &'static str,
    level: Level,
    value: String,
    detail: String,
) -> impl IntoView {
    view! {
        <div class=format!("stat {}", level_class(level)) data-testid="health" data-key=key data-level=level_class(level)>
            <div class="stat-label">{label}</div>
            <div class="stat-value mono">{value}</div>
            <div class="stat-detail muted small">{detail}</div>
        </div>
    }
}

#[component]
fn HealthStrip(health: Signal<Option<Health>>, stream: Signal<StreamState>) -> impl IntoView {
    let stream_label = move || match stream.get() {
        StreamState::Connecting => ("connecting", "connecting to the live stream…"),
        StreamState::Open => ("open", "live"),
        StreamState::Lost => (
            "lost",
            "live stream lost — retrying (reload the page if this stays)",
        ),
    };
    view! {
        <div class="health-head">
            <h2>"Health"</h2>
            <span class=move || format!("stream stream-{}", stream_label().0) data-testid="stream-state">
                {move || stream_label().1}
            </span>
        </div>
        {move || match health.get() {
            None => view! { <p class="muted" data-testid="health-none">"No sample yet: the target is connecting or unreachable."</p> }.into_any(),
            Some(h) => {
                let pct = if h.max_connections > 0 { h.connections * 100 / h.max_connections } else { 0 };
                let hidden = h.hidden_sessions;
                view! {
                    <div class="stats" data-testid="health-strip">
                        <Stat label="Connections" key="connections" level=h.connections_level()
                            value=format!("{} / {}", h.connections, h.max_connections)
                            detail=format!("{pct} % of max_connections")/>
                        <Stat label="Longest transaction" key="xact" level=h.xact_level()
                            value=duration_text(h.longest_xact_ms)
                            detail=format!("{} open longer than 5 min", h.long_xacts)/>
                        <Stat label="Idle in transaction" key="idle_in_tx" level=h.idle_in_tx_level()
                            value=h.idle_in_tx.to_string()
                            detail=idle_in_tx_detail(&h)/>
                        <Stat label="Waiting on a lock" key="lock_waiting" level=h.lock_level()
                            value=h.lock_waiting.to_string()
                            detail=lock_detail(&h)/>
                        <Stat label="Oldest xid age" key="xid" level=h.xid_level()
                            value=h.max_xid_age.map_or("—".into(), |v| crate::components::chart::short(v as f64))
                            detail=h.oldest_xid_database.clone().map_or("read every 10 s".into(), |d| format!("database {d}"))/>
                    </div>
                    {(hidden > 0).then(|| view! {
                        <p class="notice small" data-testid="hidden-sessions">
                            {format!("{hidden} sessions of other roles are hidden from the monitor login: grant it pg_monitor (see the capability list below).")}
                        </p>
                    })}
                }.into_any()
            }
        }}
    }
}
