//! The shell: the frame around every page — header with the product name, the target switcher,
//! the signed-in user and the theme switch, the left navigation (only what the user's role may
//! open, from `crate::pages`), and the page body. The only UI module besides `lib.rs` that may
//! import features.
//!
//! The app runs as islands (docs/ARCHITECTURE.md §11): the router and the gates run on the
//! server only. [`Frame`] reads there what the frame shows (the user, the targets, the request's
//! path and query) and renders [`FrameIsland`] from it: the part of the frame that runs in the
//! browser, on every page. It provides what every page's island reads from context — the
//! signed-in user (`features::auth::me::signed_in_role`), the request's query
//! (`components::location::use_query`), the clock and the tab's one live stream — and the page's
//! own island sits inside it, so that context reaches it in the browser too.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::clock::provide_clock;
use crate::components::live::{encode, provide_live_bus, subscribe};
use crate::components::location::{go_to, provide_query};
use crate::components::theme::{Theme, ThemeToggle};
use crate::features::auth::me::provide_signed_in;
use crate::features::auth::model::Me;
use crate::features::auth::page::UserMenu;
use crate::pages::PAGES;

/// The page's first script: until hydration, controls that need the wasm say "still loading"
/// instead of doing nothing; if the scripts cannot be loaded, a banner with a Reload link.
#[cfg(feature = "ssr")]
pub const BEFORE_HYDRATION_SCRIPT: &str = include_str!("before_hydration.js");

/// A target as the switcher shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetChoice {
    pub id: String,
    pub name: String,
    pub state: ChoiceState,
}

/// A target's state as the switcher orders it: the worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChoiceState {
    Unreachable,
    Connecting,
    Up,
}

/// Up to this many targets the switcher lists them all; beyond, the chosen one, the first
/// [`SWITCH_NOT_UP`] targets that are not up (worst first), a way to the Fleet page for the
/// rest, and a search box that opens the Fleet page filtered. Every page carries the list (the
/// frame's props), so a fleet of hundreds costs each page nothing more than a dozen.
pub const SWITCH_ALL_UP_TO: usize = 12;
pub const SWITCH_NOT_UP: usize = 10;

/// What the switcher lists of `all` (in configuration order) when `selected` is shown.
pub fn switch_choices(all: Vec<TargetChoice>, selected: Option<&str>) -> Vec<TargetChoice> {
    if all.len() <= SWITCH_ALL_UP_TO {
        return all;
    }
    let mut chosen = Vec::with_capacity(1);
    let mut not_up = Vec::new();
    for t in all {
        if selected == Some(t.id.as_str()) {
            chosen.push(t);
        } else if t.state != ChoiceState::Up {
            not_up.push(t);
        }
    }
    // Stable: targets in the same state keep their configuration order.
    not_up.sort_by_key(|t| t.state);
    not_up.truncate(SWITCH_NOT_UP);
    chosen.extend(not_up);
    chosen
}

/// What the frame is drawn from: read on the server for each page load and handed to the browser
/// with the page (the island's props), so the browser asks for none of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameData {
    /// None: nobody is signed in (the sign-in page, a refusal).
    pub me: Option<Me>,
    /// What the switcher lists ([`switch_choices`]).
    pub targets: Vec<TargetChoice>,
    /// How many targets the user may see in all.
    pub target_count: usize,
    /// The target this tab shows: `?target=`, else the first one (as every page picks it).
    pub target: Option<String>,
    /// The request's path and query string parameters.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub theme: Theme,
}

/// The frame, on the server: reads the user and the targets (both in memory: the guard put the
/// caller in the request), then draws [`FrameIsland`] around the page. Nothing here waits: the
/// router's routes inside must render at once (that is how the server lists them).
#[cfg(feature = "ssr")]
#[component]
pub fn Frame(children: Children) -> impl IntoView {
    use crate::components::theme::initial_theme;
    use crate::features::auth::context::require_user;
    use crate::features::auth::model::{Access, Role};
    use crate::features::targets::model::TargetStatus;
    use leptos_router::hooks::{use_location, use_query_map};
    let me = require_user(Access::SignedIn).ok().map(|c| Me {
        username: c.username,
        role: c.role,
    });
    let may_see_targets = me.as_ref().is_some_and(|m| m.role >= Role::Analyst);
    // No state while the server lists its routes at start-up (nothing to show then).
    let all: Vec<TargetChoice> = use_context::<crate::state::AppState>()
        .filter(|_| may_see_targets)
        .map(|state| {
            state
                .targets
                .all()
                .iter()
                .map(|t| TargetChoice {
                    id: t.spec.id.clone(),
                    name: t.spec.name.clone(),
                    state: match t.status() {
                        TargetStatus::Up { .. } => ChoiceState::Up,
                        TargetStatus::Connecting { .. } => ChoiceState::Connecting,
                        TargetStatus::Unreachable { .. } => ChoiceState::Unreachable,
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let query: Vec<(String, String)> = use_query_map().with_untracked(|q| {
        q.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_owned()))
            .collect()
    });
    let target = target_in(&query).or_else(|| all.first().map(|t| t.id.clone()));
    let target_count = all.len();
    let frame = FrameData {
        me,
        targets: switch_choices(all, target.as_deref()),
        target_count,
        target,
        path: use_location().pathname.get_untracked(),
        query,
        theme: initial_theme(),
    };
    view! { <FrameIsland frame=frame>{children()}</FrameIsland> }
}

/// The target a query string names (`?target=`, not empty).
fn target_in(query: &[(String, String)]) -> Option<String> {
    query
        .iter()
        .find(|(k, v)| k == "target" && !v.is_empty())
        .map(|(_, v)| v.clone())
}

/// The frame in the browser: theme, header, navigation with the Locks badge, and the page.
#[island]
pub fn FrameIsland(frame: FrameData, children: Children) -> impl IntoView {
    let FrameData {
        me,
        targets,
        target_count,
        target,
        path,
        query,
        theme,
    } = frame;
    provide_signed_in(me.clone());
    let target_in_query = target_in(&query);
    provide_query(query);
    provide_clock();
    provide_live_bus(Signal::stored(target.clone()));
    let theme = RwSignal::new(theme);
    // Sessions waiting on a lock now, for the Locks entry: from the hub's overview frames on the
    // tab's one stream (no request of its own).
    let waiting = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        subscribe(&["overview"], move |_, json| {
            if let Ok(frame) = serde_json::from_str::<LockBadgeFrame>(&json) {
                let n = frame.health.map(|h| h.lock_waiting);
                if waiting.get_untracked() != n {
                    waiting.set(n);
                }
            }
        });
    });
    let suffix = target_in_query.map_or_else(String::new, |t| format!("?target={}", encode(&t)));
    let nav_ref = NodeRef::<leptos::html::Nav>::new();
    let menu_open = RwSignal::new(false);
    let role = me.as_ref().map(|m| m.role);
    let nav = role.map(|role| {
        view! {
            // Below 900 px it is a popover opened by the header's Menu button (the browser's
            // own: works before hydration, Escape and a click outside close it).
            <nav class="sidenav" id="sidenav" popover="auto" aria-label="Main" data-testid="sidenav"
                node_ref=nav_ref on:click=move |_| close_menu(nav_ref)
                on:toggle=move |_| menu_open.set(is_open(nav_ref))>
                <ul>
                    {PAGES
                        .iter()
                        .filter_map(|p| Some((p, p.nav?)))
                        .filter(|(p, _)| p.access.allows(Some(role)))
                        .map(|(item, label)| {
                            let badge = (item.path == "/locks").then(|| view! {
                                {move || waiting.get().filter(|n| *n > 0).map(|n| view! {
                                    " "
                                    <span class="nav-badge" data-testid="locks-badge" title="sessions waiting on a lock now">{n}</span>
                                })}
                            });
                            let href = format!("{}{}", item.path, if item.keeps_target { suffix.as_str() } else { "" });
                            let current = is_current(&path, item.path).then_some("page");
                            view! {
                                <li>
                                    <a href=href aria-current=current>
                                        {label}
                                        {badge}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
        }
    });
    view! {
        <div class="app" data-theme=move || theme.get().as_str() data-hydrated="false">
            // rel="external": the browser's own jump to the fragment (it moves focus there).
            <a class="skip-link" href="#content" rel="external">"Skip to content"</a>
            <header class="topbar">
                // Only with a navigation to open (signed in).
                {role.map(|_| view! {
                    <button type="button" class="icon-button menu-button" popovertarget="sidenav"
                        aria-controls="sidenav" aria-expanded=move || menu_open.get().to_string()
                        data-testid="menu-button">
                        <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" stroke-width="1.6" fill="none" stroke-linecap="round"/></svg>
                        <span>"Menu"</span>
                    </button>
                })}
                <a class="brand" href="/">
                    // Drawn in the page: an `<img>` of the SVG costs the browser a document of
                    // its own to render (~30 ms of a phone's main thread on every first visit).
                    <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true">
                        <rect width="32" height="32" rx="7" fill="#2f6fdd"/>
                        <rect x="6" y="18" width="4" height="8" rx="1" fill="#fff"/>
                        <rect x="12" y="12" width="4" height="14" rx="1" fill="#fff"/>
                        <rect x="18" y="15" width="4" height="11" rx="1" fill="#fff"/>
                        <rect x="24" y="7" width="4" height="19" rx="1" fill="#cfe0ff"/>
                    </svg>
                    <span>"pgpanel"</span>
                </a>
                <TargetSwitcher targets=targets total=target_count selected=target path=path.clone()/>
                <div class="topbar-end">
                    {me.map(|me| view! { <UserMenu me=me/> })}
                    <ThemeToggle theme=theme/>
                </div>
            </header>
            <div class="body">
                {nav}
                <main class="content" id="content" tabindex="-1">{children()}</main>
            </div>
        </div>
    }
}

/// The one number the navigation reads from the hub's overview frames
/// (`features::live::model::OverviewFrame`; the rest of the frame is skipped, so every page's
/// wasm does not carry that type's decoder).
#[derive(Deserialize)]
struct LockBadgeFrame {
    health: Option<LockBadgeHealth>,
}

#[derive(Deserialize)]
struct LockBadgeHealth {
    lock_waiting: i64,
}

/// Whether the navigation entry `item` is the page at `path` ("/" only for itself; "/audit" for
/// its sub-pages too).
fn is_current(path: &str, item: &str) -> bool {
    let path = path.trim_end_matches('/');
    let item = item.trim_end_matches('/');
    if item.is_empty() {
        return path.is_empty();
    }
    path == item
        || path
            .strip_prefix(item)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// After a choice in the navigation the menu (a popover on narrow screens) closes.
fn close_menu(nav: NodeRef<leptos::html::Nav>) {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    if let Some(el) = nav.get_untracked() {
        let _ = el.hide_popover();
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    let _ = nav;
}

/// Whether the navigation is open as a popover (a narrow screen's menu).
fn is_open(nav: NodeRef<leptos::html::Nav>) -> bool {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        nav.get_untracked()
            .and_then(|el| el.matches(":popover-open").ok())
            .unwrap_or(false)
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    {
        let _ = nav;
        false
    }
}

/// The target switcher in the header: the same page for another target. Shown only to signed-in
/// users with a target (with one, as the name of the target being watched). With more than
/// [`SWITCH_ALL_UP_TO`] targets it lists [`switch_choices`] and leads to the Fleet page (worst
/// first, searchable) for the rest, with a search box that opens it filtered (a plain form: it
/// works before the page's scripts load).
#[component]
fn TargetSwitcher(
    targets: Vec<TargetChoice>,
    total: usize,
    selected: Option<String>,
    path: String,
) -> impl IntoView {
    // Pages without a target (users, fleet) go to the Overview of the chosen one.
    let path =
        if path.starts_with("/users") || path.starts_with("/fleet") || path.starts_with("/login") {
            "/".to_owned()
        } else {
            path
        };
    let on_change = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        if id.is_empty() {
            go_to("/fleet");
        } else {
            go_to(&format!("{path}?target={}", encode(&id)));
        }
    };
    let chosen = selected.clone();
    let option = move |t: TargetChoice| {
        let is = chosen.as_deref() == Some(t.id.as_str());
        let dot = if t.state == ChoiceState::Up {
            "●"
        } else {
            "○"
        };
        view! { <option value=t.id.clone() selected=is>{format!("{dot} {}", t.name)}</option> }
    };
    let many = total > targets.len();
    (!targets.is_empty()).then(|| {
        // With many, the chosen target first, then the ones that are not up under a heading.
        let (first, not_up): (Vec<TargetChoice>, Vec<TargetChoice>) = if many {
            targets
                .into_iter()
                .partition(|t| selected.as_deref() == Some(t.id.as_str()))
        } else {
            (targets, Vec::new())
        };
        let not_up = (!not_up.is_empty()).then(|| {
            let label = format!("Not up ({} shown)", not_up.len());
            view! { <optgroup label=label>{not_up.into_iter().map(option.clone()).collect_view()}</optgroup> }
        });
        view! {
            <label class="target-switch">
                <span class="muted small">"Target"</span>
                <select data-testid="target-switch" on:change=on_change>
                    {first.into_iter().map(option).collect_view()}
                    {not_up}
                    {many.then(|| view! {
                        <option value="" data-testid="target-switch-all">{format!("All {total} targets…")}</option>
                    })}
                </select>
            </label>
            {many.then(|| view! {
                <form class="target-find" method="get" action="/fleet" role="search" data-testid="target-find">
                    <input type="search" name="q" autocomplete="off" aria-label="Find a target"
                        placeholder=format!("Find among {total} targets")/>
                </form>
            })}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{
        ChoiceState, SWITCH_ALL_UP_TO, SWITCH_NOT_UP, TargetChoice, is_current, switch_choices,
    };

    fn fleet(n: usize, state: impl Fn(usize) -> ChoiceState) -> Vec<TargetChoice> {
        (0..n)
            .map(|i| TargetChoice {
                id: format!("t{i:03}"),
                name: format!("Target {i}"),
                state: state(i),
            })
            .collect()
    }

    fn ids(choices: &[TargetChoice]) -> Vec<&str> {
        choices.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn a_small_fleet_is_listed_whole_in_configuration_order() {
        let all = fleet(SWITCH_ALL_UP_TO, |i| {
            if i == 3 {
                ChoiceState::Unreachable
            } else {
                ChoiceState::Up
            }
        });
        let expected = all.clone();
        assert_eq!(switch_choices(all, Some("t005")), expected);
    }

    #[test]
    fn a_large_fleet_lists_the_chosen_target_then_the_worst_few() {
        // 200 targets: every 7th unreachable, every 11th still connecting.
        let all = fleet(200, |i| match i {
            _ if i % 7 == 0 => ChoiceState::Unreachable,
            _ if i % 11 == 0 => ChoiceState::Connecting,
            _ => ChoiceState::Up,
        });
        let shown = switch_choices(all.clone(), Some("t050"));
        assert_eq!(shown.len(), 1 + SWITCH_NOT_UP);
        assert_eq!(shown[0].id, "t050");
        // 29 unreachable targets: the first ten of them (configuration order), no connecting one.
        assert_eq!(
            ids(&shown[1..]),
            [
                "t000", "t007", "t014", "t021", "t028", "t035", "t042", "t049", "t056", "t063"
            ]
        );
        // The chosen target is listed once even when it is down; an unknown one is not listed.
        let shown = switch_choices(all.clone(), Some("t007"));
        assert_eq!(ids(&shown).iter().filter(|id| **id == "t007").count(), 1);
        let shown = switch_choices(all, Some("nope"));
        assert_eq!(shown.len(), SWITCH_NOT_UP);
        assert!(shown.iter().all(|c| c.state == ChoiceState::Unreachable));
    }

    #[test]
    fn connecting_targets_follow_unreachable_ones_and_a_healthy_fleet_lists_one() {
        let all = fleet(40, |i| match i {
            1 | 30 => ChoiceState::Connecting,
            20 => ChoiceState::Unreachable,
            _ => ChoiceState::Up,
        });
        assert_eq!(
            ids(&switch_choices(all, Some("t005"))),
            ["t005", "t020", "t001", "t030"]
        );
        let healthy = fleet(300, |_| ChoiceState::Up);
        assert_eq!(ids(&switch_choices(healthy, Some("t299"))), ["t299"]);
    }

    #[test]
    fn the_current_entry_is_the_page_or_its_parent() {
        assert!(is_current("/", "/"));
        assert!(!is_current("/locks", "/"));
        assert!(is_current("/locks", "/locks"));
        assert!(is_current("/locks/", "/locks"));
        assert!(is_current("/audit/app", "/audit"));
        assert!(!is_current("/auditx", "/audit"));
    }
}
