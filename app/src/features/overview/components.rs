//! Widgets of the Overview: a card per target, its status line, the database table and the
//! capability list. Everything that came from a database is inserted as text.

use leptos::prelude::*;

use crate::components::clock::use_now;
use crate::components::copy_button::CopyButton;
use crate::components::format;
use crate::features::targets::model::{
    Capability, DatabaseSizes, ServerRole, ServerSummary, TargetOverview, TargetStatus,
};

fn state_name(status: &TargetStatus) -> &'static str {
    match status {
        TargetStatus::Connecting { .. } => "connecting",
        TargetStatus::Up { .. } => "up",
        TargetStatus::Unreachable { .. } => "unreachable",
    }
}

#[component]
pub fn TargetCard(target: TargetOverview) -> impl IntoView {
    let TargetOverview {
        id,
        name,
        endpoint,
        status,
        server,
        capabilities,
        databases,
        actions,
    } = target;
    let state = state_name(&status);
    let stale = !status.is_up();
    let id_attr = id.clone();
    let id_caps = id.clone();
    view! {
        <section class="card target" data-testid="target-card" data-target=id_attr data-state=state>
            <div class="card-head">
                <span class=format!("status-dot {state}") aria-hidden="true"></span>
                <h2>{name}</h2>
                <span class="target-id mono">{id}</span>
                {server
                    .as_ref()
                    .map(|s| {
                        let role = match s.role {
                            ServerRole::Primary => "primary",
                            ServerRole::Standby => "standby",
                        };
                        view! {
                            <span class=format!("badge role-{role}")>{role}</span>
                            <span class="badge">{format!("PostgreSQL {}", s.short_version())}</span>
                        }
                    })}
            </div>
            <StatusLine status=status known=server.is_some()/>
            {match server {
                Some(server) => {
                    view! {
                        <div class="card-body" class:stale=stale>
                            <ServerStats server=server databases=databases.clone()/>
                            <div class="columns">
                                <DatabaseTable databases=databases/>
                                <CapabilityList capabilities=capabilities target=id_caps.clone()/>
                            </div>
                        </div>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <p class="muted empty">
                            "pgpanel has not reached this server yet, so nothing is known about it. It connects as "
                            <code>{endpoint}</code>
                            ": check that the server runs there and that monitor_url is right."
                        </p>
                    }
                        .into_any()
                }
            }}
            <p class="actions-line muted small">
                {if actions.enabled {
                    "Actions: an action login is configured.".to_owned()
                } else {
                    format!("Actions off: {}", actions.reason.unwrap_or_default())
                }}
            </p>
        </section>
    }
}

/// `known`: whether facts from an earlier successful check are shown below.
#[component]
fn StatusLine(status: TargetStatus, known: bool) -> impl IntoView {
    let now = use_now();
    match status {
        TargetStatus::Connecting { since } => view! {
            <p class="status-line connecting" data-testid="status-line">
                "Connecting… (since " {format::utc(since)} ")"
            </p>
        }
        .into_any(),
        TargetStatus::Up { since, checked_at } => view! {
            <p class="status-line up" data-testid="status-line">
                <strong>"Up"</strong>
                " · reachable for " {move || format::duration(now.get() - since)}
                " · last check " <span title=format::utc(checked_at)>{move || format::relative(checked_at, now.get())}</span>
            </p>
        }
        .into_any(),
        TargetStatus::Unreachable {
            since,
            checked_at,
            error,
            next_attempt_at,
        } => view! {
            <p class="status-line unreachable" data-testid="status-line" role="status">
                <strong>"Unreachable since " {format::utc(since)}</strong>
                " (" {move || format::duration(now.get() - since)} ") · " <span class="reason">{error}</span>
                " · last try " <span title=format::utc(checked_at)>{move || format::relative(checked_at, now.get())}</span>
                " · " {move || {
                    if next_attempt_at > now.get() {
                        format!("next attempt {}", format::relative(next_attempt_at, now.get()))
                    } else {
                        "retrying now".to_owned()
                    }
                }}
                {known.then_some(". Facts below are from the last successful check.")}
            </p>
        }
        .into_any(),
    }
}

#[component]
fn Stat(#[prop(into)] label: String, value: AnyView, #[prop(into)] sub: String) -> impl IntoView {
    view! {
        <div class="stat">
            <div class="stat-label">{label}</div>
            <div class="stat-value">{value}</div>
            <div class="stat-sub">{sub}</div>
        </div>
    }
}

#[component]
fn ServerStats(server: ServerSummary, databases: Option<DatabaseSizes>) -> impl IntoView {
    let now = use_now();
    let started = server.started_at;
    let (db_count, db_total) = match &databases {
        Some(d) => (
            d.items.len().to_string(),
            format!("{} in total", format::bytes(d.total_bytes())),
        ),
        None => ("–".into(), "not measured yet".into()),
    };
    view! {
        <div class="stats" data-testid="server-stats">
            <Stat
                label="Version"
                value=view! { {server.short_version().to_owned()} }.into_any()
                sub=server.version.clone()
            />
            <Stat
                label="Uptime"
                value=view! { {move || format::duration(now.get() - started)} }.into_any()
                sub=format!("since {}", format::utc(started))
            />
            <Stat
                label="Role"
                value=view! {
                    {match server.role {
                        ServerRole::Primary => "Primary",
                        ServerRole::Standby => "Standby",
                    }}
                }
                    .into_any()
                sub=match server.role {
                    ServerRole::Primary => "accepts writes",
                    ServerRole::Standby => "in recovery, read-only",
                }
            />
            <Stat label="Databases" value=view! { {db_count} }.into_any() sub=db_total/>
            <Stat
                label="Max connections"
                value=view! { {server.max_connections} }.into_any()
                sub="max_connections"
            />
            <Stat
                label="Monitor login"
                value=view! { <span class="mono">{server.login.clone()}</span> }.into_any()
                sub=format!("database {}", server.database)
            />
        </div>
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    Name,
    Size,
}

#[component]
fn DatabaseTable(databases: Option<DatabaseSizes>) -> impl IntoView {
    let Some(DatabaseSizes { measured_at, items }) = databases else {
        return view! {
            <div class="panel">
                <h3>"Databases"</h3>
                <p class="muted">"Sizes are measured every few minutes; none yet."</p>
            </div>
        }
        .into_any();
    };
    let now = use_now();
    // Largest first is what a DBA looks for; a click on a header sorts by it (again: reverses).
    let sort = RwSignal::new((SortKey::Size, true));
    let largest = items.iter().filter_map(|d| d.size_bytes).max().unwrap_or(0);
    let click = move |key: SortKey| {
        sort.update(|(k, desc)| {
            if *k == key {
                *desc = !*desc;
            } else {
                *k = key;
                *desc = key == SortKey::Size;
            }
        })
    };
    let arrow = move |key: SortKey| {
        move || match sort.get() {
            (k, true) if k == key => "▼",
            (k, false) if k == key => "▲",
            _ => "",
        }
    };
    let aria = move |key: SortKey| {
        move || match sort.get() {
            (k, true) if k == key => "descending",
            (k, false) if k == key => "ascending",
            _ => "none",
        }
    };
    let rows = move || {
        let (key, desc) = sort.get();
        let mut items = items.clone();
        items.sort_by(|a, b| {
            let ord = match key {
                SortKey::Name => a.name.cmp(&b.name),
                SortKey::Size => a.size_bytes.cmp(&b.size_bytes).then(b.name.cmp(&a.name)),
            };
            if desc { ord.reverse() } else { ord }
        });
        items
            .into_iter()
            .map(|d| {
                let pct = d.size_bytes.map(|s| format::share(s, largest)).unwrap_or(0.0);
                view! {
                    <tr>
                        <td class="name">{d.name}</td>
                        <td class="num">
                            {match d.size_bytes {
                                Some(s) => format::bytes(s),
                                None => "no access".into(),
                            }}
                        </td>
                        <td class="bar-cell">
                            <svg class="bar" viewBox="0 0 100 6" preserveAspectRatio="none" aria-hidden="true">
                                <rect class="bar-track" x="0" y="0" width="100" height="6"></rect>
                                <rect class="bar-fill" x="0" y="0" width=format!("{pct:.2}") height="6"></rect>
                            </svg>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="panel">
            <h3>
                "Databases"
                <span class="muted small" title=format::utc(measured_at)>
                    " · measured " {move || format::relative(measured_at, now.get())}
                </span>
            </h3>
            <div class="table-scroll" tabindex="0">
            <table class="data" data-testid="database-table">
                <thead>
                    <tr>
                        <th aria-sort=aria(SortKey::Name)>
                            <button type="button" class="sort" data-testid="sort-name" on:click=move |_| click(SortKey::Name)>
                                "Database " {arrow(SortKey::Name)}
                            </button>
                        </th>
                        <th class="num" aria-sort=aria(SortKey::Size)>
                            <button type="button" class="sort" data-testid="sort-size" on:click=move |_| click(SortKey::Size)>
                                "Size " {arrow(SortKey::Size)}
                            </button>
                        </th>
                        <th class="bar-cell"><span class="visually-hidden">"Share of largest"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn CapabilityList(
    capabilities: Vec<Capability>,
    /// The target's id, for the setup-sql command line.
    target: String,
) -> impl IntoView {
    if capabilities.is_empty() {
        return view! {
            <div class="panel">
                <h3>"Capabilities"</h3>
                <p class="muted">"Not read yet."</p>
            </div>
        }
        .into_any();
    }
    let missing = capabilities.iter().filter(|c| !c.available).count();
    let mut sorted = capabilities;
    // Missing ones first: they are what needs doing.
    sorted.sort_by_key(|c| c.available);
    view! {
        <div class="panel">
            <h3>
                "Capabilities"
                <span class="muted small">
                    {if missing == 0 {
                        " · all available".to_owned()
                    } else {
                        format!(" · {missing} missing")
                    }}
                </span>
            </h3>
            <ul class="capabilities" data-testid="capabilities">
                {sorted
                    .into_iter()
                    .map(|c| {
                        let Capability { key, label, available, detail, hint, sql } = c;
                        view! {
                            <li class:ok=available class:missing=!available data-capability=key>
                                <span class="cap-icon" aria-hidden="true">
                                    {if available { "✓" } else { "!" }}
                                </span>
                                <div class="cap-text">
                                    <div class="cap-label">
                                        {label}
                                        <span class="visually-hidden">
                                            {if available { " (available)" } else { " (missing)" }}
                                        </span>
                                    </div>
                                    <div class="cap-detail">{detail}</div>
                                    {hint.map(|h| view! { <div class="cap-hint">{h}</div> })}
                                    {sql.map(|s| {
                                        view! {
                                            <div class="snippet">
                                                <pre><code>{s.clone()}</code></pre>
                                                <CopyButton text=s/>
                                            </div>
                                        }
                                    })}
                                </div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {(missing > 0).then(|| view! {
                <p class="muted small" data-testid="setup-sql-hint">
                    "All of it as one script a superuser runs once: "
                    <code>{format!("pgpanel setup-sql --target {target}")}</code>
                </p>
            })}
        </div>
    }
    .into_any()
}
