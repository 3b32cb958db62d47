//! The Advice page's bloat tables: the largest tables and btree indexes by what a rewrite gives
//! back, with a meter, the method and age of each figure, TOAST and dropped columns, sorting by
//! link, and "Measure exactly" (a confirmed measurement job) for DBAs.

use leptos::prelude::*;

use super::api::{PAGE_ROWS, measure_bloat};
use super::model::{Bloat, BloatRow, Method};
use super::view::{Ctx, JobDialog};
use crate::components::clock::use_now;
use crate::components::dialog::ConfirmDialog;
use crate::components::format::{bytes, from_ms, relative};
use crate::components::live::encode;

/// The method and age of a bloat figure, in words.
fn method_words(r: &BloatRow) -> &'static str {
    match r.method {
        Method::Estimate => "dead tuples only",
        Method::Approx => "approx",
        Method::Exact => "exact",
        Method::Unmeasured => "not measured",
    }
}

#[component]
pub(super) fn BloatTable(
    title: &'static str,
    bloat: Bloat,
    sort: Signal<Option<String>>,
    testid: &'static str,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let now = use_now();
    let is_index = testid == "bloat-indexes";
    let shown = bloat.rows.len();
    let more = bloat.more;
    let header = move |key: &'static str, label: &'static str| {
        let href = format!(
            "/advice?target={}&database={}&sort={key}",
            encode(&ctx.target.get_value()),
            encode(&ctx.database.get_value())
        );
        let current = move || sort.get().as_deref().unwrap_or("bloat_bytes") == key;
        view! {
            <th class="num" aria-sort=move || if current() { "descending" } else { "none" }>
                <a href=href class:current=current data-testid=format!("sort-{key}")>{label}</a>
            </th>
        }
    };
    let rows = bloat
        .rows
        .into_iter()
        .map(|r| view! { <BloatLine r=r now=now/> })
        .collect_view();
    view! {
        <section class="card" data-testid=testid>
            <h2 class="card-title">{title}" "
                <span class="muted small">{if more > 0 { format!("(largest {shown} of {})", shown + more) } else { format!("({shown})") }}</span>
            </h2>
            {if shown == 0 {
                view! { <p class="muted small">{if is_index { "No btree indexes." } else { "No tables." }}</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll" tabindex="0">
                        <table class="data compact bloat">
                            <thead><tr>
                                <th>{if is_index { "index" } else { "table" }}</th>
                                {header("bytes", "size")}
                                {header("bloat_ratio", "bloat")}
                                {header("bloat_bytes", "reclaimable")}
                                <th>"method"</th>
                                <th>"measured"</th>
                                <th><span class="visually-hidden">"actions"</span></th>
                            </tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            {(shown > 0 && PAGE_ROWS == shown && more > 0).then(|| view! {
                <p class="muted small">"The rest: GET /api/advice/bloat (every table and btree index)."</p>
            })}
        </section>
    }
}

#[component]
fn BloatLine(r: BloatRow, now: Signal<time::OffsetDateTime>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = r.index.clone().map_or_else(
        || format!("{}.{}", r.schema, r.table),
        |i| format!("{}.{} (on {})", r.schema, i, r.table),
    );
    let pct = r.bloat_ratio.map(|x| (x * 100.0).clamp(0.0, 100.0));
    // A meter, not a styled bar: the page's CSP allows no inline style.
    let bar = pct.map(|p| {
        view! {
            <meter class="bloat-meter" min="0" max="100" low="20" high="50" optimum="0" value=p
                aria-label=format!("{p:.0} % reclaimable")></meter>
            <span>{format!(" {p:.0} %")}</span>
        }
    });
    let toast = (r.index.is_none() && r.toast_bytes > 0).then(|| {
        format!(
            "TOAST {}{}",
            bytes(r.toast_bytes),
            r.toast_bloat_bytes
                .map_or(String::new(), |t| format!(", dead + free ≤ {}", bytes(t)))
        )
    });
    let measured = r.measured_at;
    let note = r.note.clone();
    let dropped = r.dropped_columns;
    let size = r.bytes;
    let label = name.clone();
    let measure_title = format!("Measure {name} exactly?");
    let reads = format!(
        "Reads every page of the relation ({}) with {} on the monitor login; on a large relation that takes a while and competes for I/O. The figure then replaces the estimate.",
        bytes(size),
        if r.index.is_some() {
            "pgstatindex"
        } else {
            "pgstattuple"
        }
    );
    let shown_name = name.clone();
    let (schema, table, index) = (r.schema.clone(), r.table.clone(), r.index.clone());
    let dialog = JobDialog::new();
    let JobDialog { open, busy, error } = dialog;
    let run = move |_| {
        let (t, d) = (ctx.target.get_value(), ctx.database.get_value());
        let (s, tb, ix) = (schema.clone(), table.clone(), index.clone());
        dialog.ask(ctx, async move {
            if ix.is_some() {
                measure_bloat(t, d, s, None, ix).await
            } else {
                measure_bloat(t, d, s, Some(tb), None).await
            }
        });
    };
    view! {
        <tr data-testid="bloat-row" data-name=name data-method=r.method.as_str()>
            <td>
                <span class="name">{shown_name}</span>
                {toast.map(|t| view! { <span class="muted small block">{t}</span> })}
                {dropped.then(|| view! { <span class="muted small block">"dropped columns: a rewrite gives back more than shown"</span> })}
                {note.map(|n| view! { <span class="muted small block">{n}</span> })}
            </td>
            <td class="num">{bytes(r.bytes)}</td>
            <td class="num bloat-bar">{bar}</td>
            <td class="num">{r.bloat_bytes.map(bytes)}</td>
            <td>{method_words(&r)}</td>
            <td>{measured.map(|at| view! { <span title=crate::components::format::utc(from_ms(at))>{move || relative(from_ms(at), now.get())}</span> })}</td>
            <td>
                {move || ctx.can_act.get().then(|| view! {
                    <button class="button small" data-testid="measure-exactly"
                        aria-label=format!("Measure exactly: {label}")
                        on:click=move |_| open.update(|o| *o = !*o)>"Measure exactly"</button>
                })}
                {move || open.get().then(|| {
                    let (run, reads) = (run.clone(), reads.clone());
                    view! {
                    <ConfirmDialog title=measure_title.clone() testid="measure-confirm"
                        on_close=Callback::new(move |()| open.set(false))>
                        <p class="small">{reads}</p>
                        <div role="status" aria-live="polite">
                            {move || error.get().map(|e| view! { <p class="notice small" data-testid="measure-error">{e}</p> })}
                        </div>
                        <div class="act-buttons">
                            <button class="button small primary" data-testid="measure-run" disabled=move || busy.get() on:click=run>"Measure"</button>
                            <button class="button small" on:click=move |_| open.set(false)>"Cancel"</button>
                        </div>
                    </ConfirmDialog>
                }})}
            </td>
        </tr>
    }
}
