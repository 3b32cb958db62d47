//! The Maintenance route: `?target=&database=&order=&show=all`. Tables of one database with their
//! vacuum and analyze state (every column sorts; the first 50 in that order unless `show=all`, so
//! a database of thousands of tables still loads in a second), VACUUM / ANALYZE per table for
//! DBAs, and the target's running and recent jobs with progress.

use leptos::prelude::*;
use time::OffsetDateTime;

use super::api::list_tables;
use super::job_views::{JobDialog, JobsPanel};
use super::jobs_api::list_jobs;
use super::model::{Job, JobAction};
use super::model::{MaintenanceTables, TableOrder, TableStat};
use crate::components::clock::use_now;
use crate::components::error_view::ErrorView;
use crate::components::format::{bytes, from_ms, relative};
use crate::components::live::encode;
use crate::components::location::use_query;
use crate::components::page_header::PageHeader;
use crate::error::{AppError, set_response_status};
use crate::features::auth::me::{ReadOnlyNote, signed_in_role};
use crate::features::auth::model::Role;
use crate::features::targets::api::pick_target;
use crate::features::targets::model::ActionsAvailability;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Params {
    target: Option<String>,
    database: Option<String>,
    order: TableOrder,
    /// Every table rather than the first [`FIRST_TABLES`].
    all: bool,
}

/// Tables shown until "Show all": on a throttled link 2,000 rows took the page from 1.3 s to
/// 3.6 s before it worked and 200 still to 2.8 s (`pgpanel bench`, about 6 ms of hydration a row
/// at CPU ×4); the order puts the ones that need care first.
const FIRST_TABLES: usize = 50;

/// The tables, whether actions are available, and the target's name (for the title).
type Loaded = (MaintenanceTables, ActionsAvailability, String);

async fn load(p: Params, refresh: bool) -> Result<Option<Loaded>, AppError> {
    let Some(t) = pick_target(p.target).await? else {
        return Ok(None);
    };
    let tables = list_tables(
        t.id.clone(),
        p.database,
        Some(p.order.as_str().into()),
        refresh.then(|| "true".to_owned()),
        (!p.all).then(|| FIRST_TABLES.to_string()),
    )
    .await?;
    Ok(Some((tables, t.actions, t.name)))
}

/// A resource of its own: during server-side rendering a server function called after another
/// one has really waited no longer finds the request in the context.
async fn load_jobs(target: Option<String>) -> Result<Vec<Job>, AppError> {
    match pick_target(target).await? {
        Some(t) => list_jobs(t.id).await,
        None => Ok(Vec::new()),
    }
}

#[component]
pub fn MaintenancePage() -> impl IntoView {
    let query = use_query();
    let params = Memo::new(move |_| {
        query.with(|q| Params {
            target: q.get("target"),
            database: q.get("database"),
            order: q
                .get("order")
                .and_then(|o| TableOrder::parse(&o))
                .unwrap_or_default(),
            all: q.get("show").as_deref() == Some("all"),
        })
    });
    // Bumped by "Refresh" and when a job ends: re-read past the 30 s copy.
    let refresh = RwSignal::new(0_u32);
    let data = Resource::new(
        move || (params.get(), refresh.get()),
        |(p, r)| load(p, r > 0),
    );
    let jobs = Resource::new(
        move || (params.with(|p| p.target.clone()), refresh.get()),
        |(t, _)| load_jobs(t),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let loaded = match (data.await, jobs.await) {
                    (Ok(d), Ok(j)) => Ok(d.map(|d| (d, j))),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                match loaded {
                    Ok(Some(((tables, availability, name), jobs))) => {
                        let all = params.with_untracked(|p| p.all);
                        view! { <Body tables=tables jobs=jobs availability=availability name=name refresh=refresh all=all/> }.into_any()
                    }
                    Ok(None) => view! { <PageHeader title="Maintenance">""</PageHeader><p class="card empty">"No targets configured."</p> }.into_any(),
                    Err(e) => {
                        set_response_status(&e);
                        view! { <PageHeader title="Maintenance">""</PageHeader><ErrorView error=e/> }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn href(target: &str, database: &str, order: TableOrder, all: bool) -> String {
    format!(
        "/maintenance?target={}&database={}&order={}{}",
        encode(target),
        encode(database),
        order.as_str(),
        if all { "&show=all" } else { "" }
    )
}

/// "3 h ago (auto)", or "never".
fn last(manual: Option<i64>, auto: Option<i64>, now: OffsetDateTime) -> String {
    match (manual, auto) {
        (None, None) => "never".into(),
        (m, a) if m >= a => relative(from_ms(m.unwrap_or_default()), now),
        (_, a) => format!("{} (auto)", relative(from_ms(a.unwrap_or_default()), now)),
    }
}

fn count(n: i64) -> String {
    crate::components::chart::short(n as f64)
}

#[component]
fn Body(
    tables: MaintenanceTables,
    jobs: Vec<Job>,
    availability: ActionsAvailability,
    /// The target's name.
    name: String,
    refresh: RwSignal<u32>,
    /// Every table was asked for.
    all: bool,
) -> impl IntoView {
    let can_act = Signal::derive(move || signed_in_role().is_some_and(|r| r >= Role::Dba));
    let dialog = RwSignal::new(None::<(JobAction, String, String)>);
    let jobs_reload = RwSignal::new(0_u32);
    let (target, database, order) = (tables.target.clone(), tables.database.clone(), tables.order);
    let now = use_now();
    let databases = tables
        .databases
        .iter()
        .map(|d| {
            let selected = *d == database;
            view! { <option value=d.clone() selected=selected>{d.clone()}</option> }
        })
        .collect_view();
    let (tc, dc) = (target.clone(), database.clone());
    let column = move |label: &'static str, o: TableOrder, num: bool| {
        view! {
            <th class:num=num class="sortable" aria-sort=if o == order { if o == TableOrder::Name || o == TableOrder::Vacuumed || o == TableOrder::Analyzed { "ascending" } else { "descending" } } else { "none" }>
                <a href=href(&tc, &dc, o, all) data-testid=format!("sort-{}", o.as_str())>{label}</a>
            </th>
        }
    };
    let read_at = from_ms(tables.read_at_ms);
    let summary = format!(
        "{} tables in {} · catalog read in {} ms · sizes: \"est.\" from pg_class.relpages as of each table's last VACUUM / ANALYZE, \"exact\" as pgpanel last measured it (hover for when)",
        tables.total, tables.database, tables.read_ms
    );
    // Fewer shown than there are: say which, and offer the rest.
    let partial = (tables.tables.len() < tables.total).then(|| {
        let shown = format!(
            "Showing the first {} of {} tables, ordered by {}. ",
            tables.tables.len(),
            tables.total,
            order.label()
        );
        let rest = href(&target, &database, order, true);
        let label = format!("Show all {}", tables.total);
        view! {
            <p class="small" data-testid="tables-partial">{shown}<a href=rest data-testid="tables-show-all">{label}</a></p>
        }
    });
    let unavailable = (!availability.enabled).then(|| {
        availability
            .reason
            .clone()
            .unwrap_or_else(|| "Actions are unavailable for this target.".into())
    });
    let act_enabled = availability.enabled;
    let rows = tables
        .tables
        .iter()
        .map(|t| view! { <Row t=t.clone() now=now can_act=can_act act_enabled=act_enabled dialog=dialog/> })
        .collect_view();
    let (t2, d2, t3) = (target.clone(), database.clone(), target.clone());
    let (t4, t5) = (target.clone(), target.clone());
    view! {
        <PageHeader title=format!("Maintenance · {name}")>
            <form method="get" action="/maintenance" class="inline-form" data-testid="database-picker">
                <input type="hidden" name="target" value=t4/>
                <input type="hidden" name="order" value=order.as_str()/>
                {all.then(|| view! { <input type="hidden" name="show" value="all"/> })}
                <label class="small">"Database "
                    <select name="database" on:change=move |ev| crate::components::location::go_to(&href(&t3, &event_target_value(&ev), order, all))>{databases}</select>
                </label>
            </form>
        </PageHeader>
        <ReadOnlyNote/>
        <JobsPanel target=t5 initial=jobs can_act=can_act on_finished=Callback::new(move |()| refresh.update(|n| *n += 1)) reload=jobs_reload/>
        {move || dialog.get().map(|(action, schema, name)| view! {
            <JobDialog target=t2.clone() database=d2.clone() schema=schema name=name action=action
                on_close=Callback::new(move |()| dialog.set(None))
                on_started=Callback::new(move |_| { dialog.set(None); jobs_reload.update(|n| *n += 1); })/>
        })}
        <section class="card">
            <div class="act-head">
                <p class="small muted" data-testid="tables-summary">{summary}" · "{move || relative(read_at, now.get())}</p>
                <button class="button small" data-testid="tables-refresh" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
            </div>
            {partial}
            {unavailable.filter(|_| can_act.get_untracked()).map(|r| view! {
                <p class="notice small" data-testid="actions-unavailable">{format!("VACUUM and ANALYZE are unavailable: {r}")}</p>
            })}
            <div class="table-scroll" tabindex="0">
            <table class="data" data-testid="maintenance-tables">
                <thead><tr>
                    {column("table", TableOrder::Name, false)}
                    {column("table size", TableOrder::Size, true)}
                    <th class="num" title="The table with its indexes (and TOAST), as pg_total_relation_size counts it">"with indexes"</th>
                    {column("live", TableOrder::Live, true)}
                    {column("dead", TableOrder::Dead, true)}
                    {column("dead %", TableOrder::DeadRatio, true)}
                    {column("last vacuum", TableOrder::Vacuumed, false)}
                    {column("last analyze", TableOrder::Analyzed, false)}
                    {column("mods since analyze", TableOrder::Mods, true)}
                    {column("xid age", TableOrder::XidAge, true)}
                    {move || can_act.get().then(|| view! { <th><span class="visually-hidden">"Actions"</span></th> })}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
        </section>
    }
}

#[component]
fn Row(
    t: TableStat,
    now: Signal<OffsetDateTime>,
    can_act: Signal<bool>,
    act_enabled: bool,
    dialog: RwSignal<Option<(JobAction, String, String)>>,
) -> impl IntoView {
    let ratio = t.dead_ratio();
    let (vm, va, am, aa) = (
        t.last_vacuum_ms,
        t.last_autovacuum_ms,
        t.last_analyze_ms,
        t.last_autoanalyze_ms,
    );
    let (s1, n1) = (t.schema.clone(), t.name.clone());
    let (s2, n2) = (t.schema.clone(), t.name.clone());
    // Said after the visible verb, so each row's buttons have names of their own.
    let which = format!(" {}.{}", t.schema, t.name);
    let kind = match t.kind.as_str() {
        "p" => " (partitioned)",
        "m" => " (materialized view)",
        _ => "",
    };
    view! {
        <tr data-testid="table-row" data-table=format!("{}.{}", t.schema, t.name)>
            <td><span class="muted">{format!("{}.", t.schema)}</span>{t.name.clone()}<span class="muted small">{kind}</span></td>
            <td class="num nowrap" title=t.size.how() data-testid="table-size" data-method=t.size.method_word()>
                {bytes(t.size.table_bytes)}" "<span class="muted small">{t.size.method_word()}</span>
            </td>
            <td class="num" title=t.size.how() data-testid="total-size">{bytes(t.size.total_bytes)}</td>
            <td class="num">{count(t.live)}</td>
            <td class="num" data-testid="dead">{count(t.dead)}</td>
            <td class="num" class:warn={ratio >= 0.2}>{format!("{:.1}%", ratio * 100.0)}</td>
            <td data-testid="last-vacuum">{move || last(vm, va, now.get())}</td>
            <td>{move || last(am, aa, now.get())}</td>
            <td class="num">{count(t.mods_since_analyze)}</td>
            <td class="num">{t.xid_age.map(count).unwrap_or_else(|| "–".into())}</td>
            {move || can_act.get().then(|| {
                let (s1, n1, s2, n2) = (s1.clone(), n1.clone(), s2.clone(), n2.clone());
                let (w1, w2) = (which.clone(), which.clone());
                view! {
                    <td class="row-actions">
                        <button class="button small" data-testid="vacuum" disabled=!act_enabled
                            on:click=move |_| dialog.set(Some((JobAction::Vacuum, s1.clone(), n1.clone())))>"VACUUM…"<span class="visually-hidden">{w1}</span></button>
                        <button class="button small" data-testid="analyze" disabled=!act_enabled
                            on:click=move |_| dialog.set(Some((JobAction::Analyze, s2.clone(), n2.clone())))>"ANALYZE…"<span class="visually-hidden">{w2}</span></button>
                    </td>
                }
            })}
        </tr>
    }
}
