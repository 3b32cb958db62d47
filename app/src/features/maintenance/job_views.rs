//! The maintenance job views: the dialog a DBA fills in before VACUUM / ANALYZE (options, the
//! exact statement, its lock, the sessions it would conflict with now, a typed name for VACUUM
//! FULL), and the list of running and recent jobs with progress bars.

use leptos::prelude::*;
use time::OffsetDateTime;

use super::jobs_api::{analyze, cancel_job, list_jobs, preview_job, vacuum};
use super::model::{Job, JobAction, JobPreview, JobState};
use crate::components::clock::use_now;
use crate::components::dialog::ConfirmDialog;
use crate::components::format::{from_ms, millis, relative};

fn on(v: bool) -> Option<String> {
    v.then(|| "true".to_owned())
}

fn text(v: String) -> Option<String> {
    (!v.trim().is_empty()).then_some(v)
}

/// The options a DBA picks, as the form fields the API takes.
#[derive(Clone, Debug, PartialEq)]
struct Picked {
    analyze: bool,
    freeze: bool,
    full: bool,
    skip_locked: bool,
    index_cleanup: String,
    parallel: String,
}

#[component]
pub fn JobDialog(
    target: String,
    database: String,
    schema: String,
    name: String,
    action: JobAction,
    on_close: Callback<()>,
    on_started: Callback<Job>,
) -> impl IntoView {
    let picked = RwSignal::new(Picked {
        analyze: action == JobAction::Vacuum,
        freeze: false,
        full: false,
        skip_locked: false,
        index_cleanup: String::new(),
        parallel: String::new(),
    });
    let confirm = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let ids = StoredValue::new((target, database, schema, name));
    let preview = LocalResource::new(move || {
        let p = picked.get();
        let (t, d, s, n) = ids.get_value();
        let vac = action == JobAction::Vacuum;
        async move {
            preview_job(
                t,
                action.name().to_owned(),
                d,
                s,
                n,
                on(vac && p.analyze),
                on(vac && p.freeze),
                on(vac && p.full),
                on(vac && p.skip_locked),
                text(p.index_cleanup).filter(|_| vac),
                text(p.parallel).filter(|_| vac),
                None,
            )
            .await
        }
    });
    let run = move |_| {
        let p = picked.get_untracked();
        let (t, d, s, n) = ids.get_value();
        let typed = text(confirm.get_untracked());
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let got = match action {
                JobAction::Vacuum => {
                    vacuum(
                        t,
                        d,
                        s,
                        n,
                        on(p.analyze),
                        on(p.freeze),
                        on(p.full),
                        on(p.skip_locked),
                        text(p.index_cleanup),
                        text(p.parallel),
                        None,
                        typed,
                    )
                    .await
                }
                _ => analyze(t, d, s, n, None, None, None, None, None, None, None, None).await,
            };
            busy.set(false);
            match got {
                Ok(job) => on_started.run(job),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let check = move |label: &'static str,
                      testid: &'static str,
                      get: fn(&Picked) -> bool,
                      set: fn(&mut Picked, bool)| {
        view! {
            <label class="small check">
                <input type="checkbox" data-testid=testid prop:checked=move || picked.with(get)
                    on:change=move |ev| picked.update(|p| set(p, event_target_checked(&ev)))/>
                {label}
            </label>
        }
    };
    let options = (action == JobAction::Vacuum).then(|| {
        view! {
            <div class="job-options">
                {check("ANALYZE", "opt-analyze", |p| p.analyze, |p, v| p.analyze = v)}
                {check("FREEZE", "opt-freeze", |p| p.freeze, |p, v| p.freeze = v)}
                {check("SKIP_LOCKED", "opt-skip-locked", |p| p.skip_locked, |p, v| p.skip_locked = v)}
                {check("FULL (rewrites, locks out reads and writes)", "opt-full", |p| p.full, |p, v| p.full = v)}
                <label class="small">"INDEX_CLEANUP "
                    <select data-testid="opt-index-cleanup" on:change=move |ev| picked.update(|p| p.index_cleanup = event_target_value(&ev))>
                        <option value="">"default"</option>
                        <option value="auto">"auto"</option>
                        <option value="on">"on"</option>
                        <option value="off">"off"</option>
                    </select>
                </label>
                <label class="small">"PARALLEL "
                    <input type="number" min="0" max="64" class="narrow" data-testid="opt-parallel"
                        on:change=move |ev| picked.update(|p| p.parallel = event_target_value(&ev))/>
                </label>
            </div>
        }
    });
    let title = format!(
        "{} {}",
        action.name().to_uppercase(),
        ids.with_value(|(_, d, s, n)| format!("{s}.{n} in {d}"))
    );
    view! {
        <ConfirmDialog title=title testid="job-dialog" on_close=on_close>
            {options}
            <Suspense fallback=|| view! { <p class="muted small">"Reading the catalog…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(p) => view! { <PreviewView p=p confirm=confirm/> }.into_any(),
                        Err(e) => view! { <p class="notice" data-testid="job-preview-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <div class="act-buttons">
                <button class="button small primary" data-testid="job-run" disabled=move || busy.get() on:click=run>
                    {format!("Run {}", action.name().to_uppercase())}
                </button>
                <button class="button small" on:click=move |_| on_close.run(())>"Back"</button>
            </div>
            <div role="status" aria-live="polite">
                {move || error.get().map(|m| view! { <p class="notice" data-testid="job-error">{m}</p> })}
            </div>
        </ConfirmDialog>
    }
}

#[component]
fn PreviewView(p: JobPreview, confirm: RwSignal<String>) -> impl IntoView {
    let conflicts = if p.conflicts.is_empty() {
        view! { <p class="small muted" data-testid="job-conflicts">"No session holds or awaits a conflicting lock right now."</p> }.into_any()
    } else {
        let rows = p
            .conflicts
            .iter()
            .map(|c| {
                view! {
                    <tr>
                        <td class="num">{c.pid}</td>
                        <td>{c.mode.clone()}{if c.granted { " (held)" } else { " (waiting)" }}</td>
                        <td>{c.usename.clone().unwrap_or_default()}</td>
                        <td>{c.application_name.clone().unwrap_or_default()}</td>
                        <td>{c.state.clone().unwrap_or_default()}</td>
                        <td class="num">{c.xact_age_ms.map(millis).unwrap_or_default()}</td>
                        <td class="query">{c.query.clone().unwrap_or_default()}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <p class="small"><strong>{format!("{} session(s) conflict now", p.conflicts.len())}</strong>
                ": with a short lock_timeout the job gives up instead of queueing behind them (and blocking the application)."</p>
            <div class="table-scroll" tabindex="0">
            <table class="data compact" data-testid="job-conflicts">
                <thead><tr><th class="num">"pid"</th><th>"lock"</th><th>"user"</th><th>"application"</th><th>"state"</th><th class="num">"in transaction"</th><th>"query"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
        }
        .into_any()
    };
    view! {
        <pre class="sql" tabindex="0" data-testid="job-sql">{p.sql.clone()}</pre>
        <p class="small" data-testid="job-lock"><strong>{p.lock_mode.clone()}</strong>{format!(": {}", p.lock_effect)}</p>
        {p.size.map(|size| view! { <p class="small" data-testid="job-size">{format!("Size: {}", size.sentence())}</p> })}
        {conflicts}
        {p.confirm.clone().map(|word| view! {
            <label class="small">{format!("Type {word} to confirm ")}
                <input type="text" data-testid="job-confirm" prop:value=move || confirm.get() on:input=move |ev| confirm.set(event_target_value(&ev))/>
            </label>
        })}
    }
}

/// What the Jobs card announces of its newest job (a live region): the milestones — started,
/// each phase, every quarter of a counted phase, the end — not every progress tick.
fn milestone(job: &Job) -> String {
    let head = format!(
        "Job {}: {} {}",
        job.id,
        job.action.name().to_uppercase(),
        job.object
    );
    match (&job.state, &job.progress) {
        (JobState::Running, Some(p)) => {
            let quarter = match (p.blocks_done, p.blocks_total) {
                (Some(d), Some(t)) if t > 0 => format!(", {} %", (d * 4 / t).clamp(0, 4) * 25),
                _ => String::new(),
            };
            format!("{head} running, {}{quarter}.", p.phase)
        }
        (JobState::Running, None) => format!("{head} started."),
        (state, _) => match &job.error {
            Some(e) => format!("{head} {}: {e}", state.name()),
            None => format!("{head} {}.", state.name()),
        },
    }
}

/// Running and recent jobs of a target: `initial` as the page was rendered, then re-read in the
/// browser every second while one runs, every 10 s otherwise (and at once when `reload`
/// changes); `on_finished` runs when a job this view saw running has ended.
#[component]
pub fn JobsPanel(
    target: String,
    initial: Vec<Job>,
    can_act: Signal<bool>,
    on_finished: Callback<()>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let jobs = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let t = StoredValue::new(target);
    let fetch = move || {
        leptos::task::spawn_local(async move {
            match list_jobs(t.get_value()).await {
                Ok(list) => {
                    // A job seen running has ended, or a job this view never saw has come and
                    // gone between two reads (a quick DROP INDEX): either way the page is stale.
                    let ended = jobs.with_untracked(|old| {
                        list.iter()
                            .filter(|n| n.state != JobState::Running)
                            .any(|n| match old.iter().find(|o| o.id == n.id) {
                                Some(o) => o.state == JobState::Running,
                                None => old.iter().all(|o| o.id < n.id),
                            })
                    });
                    error.set(None);
                    jobs.set(list);
                    if ended {
                        on_finished.run(());
                    }
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    // Every second while a job runs (its progress bar), else every 10 s (a job someone else
    // started shows up): an idle page costs 0.1 request/s.
    let ticks = StoredValue::new(0_u32);
    Effect::new(move |_| {
        let tick = move || {
            let n = ticks.get_value().wrapping_add(1);
            ticks.set_value(n);
            let running = jobs.with_untracked(|l| l.iter().any(|j| j.state == JobState::Running));
            if running || n.is_multiple_of(10) {
                fetch();
            }
        };
        if let Ok(h) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
            on_cleanup(move || h.clear());
        }
    });
    Effect::new(move |prev: Option<u32>| {
        let n = reload.get();
        if prev.is_some() {
            fetch();
        }
        n
    });
    let now = use_now();
    let cancel = move |id: i64| {
        leptos::task::spawn_local(async move {
            let _ = cancel_job(t.get_value(), id).await;
            reload.update(|n| *n = n.wrapping_add(1));
        });
    };
    let milestone = Memo::new(move |_| jobs.with(|l| l.iter().max_by_key(|j| j.id).map(milestone)));
    view! {
        <section class="card" data-testid="jobs">
            <h2 class="card-title">"Jobs"</h2>
            <p class="visually-hidden" role="status" data-testid="job-announce">{move || milestone.get()}</p>
            {move || error.get().map(|e| view! { <p class="notice small">{e}</p> })}
            {move || {
                let list = jobs.get();
                if list.is_empty() {
                    return view! { <p class="muted small">"No jobs through pgpanel on this target yet (VACUUM, ANALYZE, REINDEX, applied advice, exact measurements)."</p> }.into_any();
                }
                let rows = list.into_iter().take(15).map(|j| view! { <JobRow j=j now=now can_act=can_act cancel=cancel/> }).collect_view();
                view! {
                    <div class="table-scroll" tabindex="0"><table class="data compact">
                        <thead><tr><th class="num">"job"</th><th>"statement"</th><th>"database"</th><th>"by"</th><th>"started"</th><th>"state"</th><th>"progress / result"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table></div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn JobRow(
    j: Job,
    now: Signal<OffsetDateTime>,
    can_act: Signal<bool>,
    cancel: impl Fn(i64) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = j.id;
    let running = j.state == JobState::Running;
    let detail = if running {
        let p = j.progress.clone();
        let bar = match p
            .as_ref()
            .and_then(|p| Some((p.blocks_done?, p.blocks_total?)))
        {
            Some((done, total)) => {
                view! { <progress data-testid="job-progress" max=total value=done></progress> }
                    .into_any()
            }
            None => view! { <progress data-testid="job-progress"></progress> }.into_any(),
        };
        let label = match &p {
            Some(p) => {
                let blocks = match (p.blocks_done, p.blocks_total) {
                    (Some(d), Some(t)) => format!(
                        " · {d} of {t} blocks ({:.0}%)",
                        d as f64 * 100.0 / t.max(1) as f64
                    ),
                    _ => String::new(),
                };
                let eta = p
                    .eta_ms
                    .map(|e| format!(" · about {} left", millis(e)))
                    .unwrap_or_default();
                format!("{}: {}{blocks}{eta}", p.command, p.phase)
            }
            None => "starting…".to_owned(),
        };
        view! { <div class="job-progress">{bar}<span class="small" data-testid="job-phase">{label}</span></div> }.into_any()
    } else {
        let took = j
            .ended_ms
            .map(|e| format!(" ({})", millis(e - j.started_ms)))
            .unwrap_or_default();
        let msg = match (&j.error, &j.result) {
            (Some(e), _) => format!(
                "{}{}{took}",
                j.sqlstate
                    .as_ref()
                    .map(|s| format!("{s}: "))
                    .unwrap_or_default(),
                e
            ),
            (None, Some(r)) => format!("{r}{took}"),
            _ => took,
        };
        view! { <span class="small">{msg}</span> }.into_any()
    };
    let started = from_ms(j.started_ms);
    view! {
        <tr data-testid="job-row" data-state=j.state.name()>
            <td class="num">{id}</td>
            <td class="job-sql"><code>{j.sql.clone()}</code></td>
            <td>{j.database.clone()}</td>
            <td>{j.username.clone()}</td>
            <td>{move || relative(started, now.get())}</td>
            <td><span class=format!("badge state-{}", j.state.name())>{j.state.name()}</span></td>
            <td class="job-detail">{detail}</td>
            <td>{(running && can_act.get_untracked()).then(|| view! {
                <button class="button small danger" data-testid="job-cancel" on:click=move |_| cancel(id)>"Cancel"<span class="visually-hidden">{format!(" job {id}")}</span></button>
            })}</td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::JobProgress;
    use super::*;

    /// The milestone said of job 7 in this state.
    fn said(state: JobState, progress: Option<JobProgress>, error: Option<&str>) -> String {
        milestone(&Job {
            id: 7,
            target: "t".into(),
            action: JobAction::Vacuum,
            database: "shop".into(),
            object: "public.orders".into(),
            sql: "VACUUM public.orders;".into(),
            state,
            username: "dba".into(),
            started_ms: 0,
            ended_ms: None,
            pid: None,
            sqlstate: None,
            error: error.map(str::to_owned),
            result: None,
            progress,
        })
    }

    #[test]
    fn milestones_change_by_phase_and_quarter_not_by_block() {
        let at = |done| {
            said(
                JobState::Running,
                Some(JobProgress {
                    command: "VACUUM".into(),
                    phase: "scanning heap".into(),
                    blocks_done: Some(done),
                    blocks_total: Some(1000),
                    eta_ms: None,
                }),
                None,
            )
        };
        assert_eq!(
            at(510),
            "Job 7: VACUUM public.orders running, scanning heap, 50 %."
        );
        assert_eq!(at(510), at(740));
        assert_ne!(at(740), at(750));
        assert_eq!(
            said(JobState::Running, None, None),
            "Job 7: VACUUM public.orders started."
        );
        assert_eq!(
            said(
                JobState::Failed,
                None,
                Some("canceling statement due to lock timeout")
            ),
            "Job 7: VACUUM public.orders failed: canceling statement due to lock timeout"
        );
        assert_eq!(
            said(JobState::Succeeded, None, None),
            "Job 7: VACUUM public.orders succeeded."
        );
    }
}
