//! The shell: the frame around every page — header with the product name, the target switcher,
//! the signed-in user and the theme switch, the left navigation (only what the user's role may
//! open, from `crate::pages`), and the page body. The only UI module besides `lib.rs` that may
//! import features.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::live::{encode, provide_live_bus, subscribe};

use crate::features::auth::me::current_user;
use crate::features::auth::page::UserMenu;
use crate::features::live::model::OverviewFrame;
use crate::features::targets::model::TargetOverview;
use crate::pages::PAGES;

#[component]
pub fn Frame(header_end: AnyView, children: Children) -> impl IntoView {
    use crate::features::targets::api::{KnownTargets, list_targets};
    let user = current_user();
    let query = use_query_map();
    let known = KnownTargets::provide();
    let targets = Resource::new(
        || (),
        move |_| async move {
            match user {
                Some(u) if u.0.await.is_ok() => list_targets().await.unwrap_or_default(),
                _ => Vec::new(),
            }
        },
    );
    // The pages pick their target from this read (no request of their own for it).
    Effect::new(move |_| {
        if let Some(list) = targets.get().filter(|l| !l.is_empty()) {
            known.remember(&list);
        }
    });
    // The target this tab shows: `?target=`, else the first one (as every page picks it).
    let target = Memo::new(move |_| {
        query
            .with(|q| q.get("target"))
            .filter(|t| !t.is_empty())
            .or_else(|| targets.get()?.first().map(|t| t.id.clone()))
    });
    provide_live_bus(target.into());
    // Sessions waiting on a lock now, for the Locks entry: from the hub's overview frames on the
    // tab's one stream (no request of its own).
    let waiting = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        subscribe(&["overview"], move |_, json| {
            if let Ok(frame) = serde_json::from_str::<OverviewFrame>(&json) {
                let n = frame.health.map(|h| h.lock_waiting);
                if waiting.get_untracked() != n {
                    waiting.set(n);
                }
            }
        });
    });
    let suffix = move || {
        query
            .with(|q| q.get("target"))
            .filter(|t| !t.is_empty())
            .map_or_else(String::new, |t| format!("?target={}", encode(&t)))
    };
    let nav_ref = NodeRef::<leptos::html::Nav>::new();
    let menu_open = RwSignal::new(false);
    let nav = move || {
        Suspend::new(async move {
            let role = match user {
                Some(u) => u.0.await.ok().map(|me| me.role),
                None => None,
            };
            role.map(|role| {
                view! {
                    // Below 900 px it is a popover opened by the header's Menu button (the
                    // browser's own: works before hydration, Escape and a click outside close it).
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
                                    view! {
                                        <li>
                                            <A href=move || format!("{}{}", item.path, if item.keeps_target { suffix() } else { String::new() }) exact=item.path == "/">
                                                {label}
                                                {badge}
                                            </A>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </nav>
                }
            })
        })
    };
    view! {
        // rel="external": the browser's own jump to the fragment (it moves focus there), not
        // the router's navigation.
        <a class="skip-link" href="#content" rel="external">"Skip to content"</a>
        <header class="topbar">
            <button type="button" class="icon-button menu-button" popovertarget="sidenav"
                aria-controls="sidenav" aria-expanded=move || menu_open.get().to_string()
                data-testid="menu-button">
                <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" stroke-width="1.6" fill="none" stroke-linecap="round"/></svg>
                <span>"Menu"</span>
            </button>
            <a class="brand" href="/">
                <img src="/favicon.svg" alt="" width="22" height="22"/>
                <span>"pgpanel"</span>
            </a>
            <TargetSwitcher targets=targets/>
            <div class="topbar-end">
                <UserMenu/>
                {header_end}
            </div>
        </header>
        <div class="body">
            <Suspense fallback=|| ()>{nav}</Suspense>
            <main class="content" id="content" tabindex="-1">{children()}</main>
        </div>
    }
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
/// users with more than one target… and with one, as the name of the target being watched.
#[component]
fn TargetSwitcher(targets: Resource<Vec<TargetOverview>>) -> impl IntoView {
    use leptos_router::hooks::{use_location, use_navigate};
    let query = use_query_map();
    let location = use_location();
    let navigate = use_navigate();
    let on_change = move |ev: leptos::ev::Event| {
        let id = event_target_value(&ev);
        let path = location.pathname.get_untracked();
        // Pages without a target (users, fleet) go to the Overview of the chosen one.
        let path = if path.starts_with("/users")
            || path.starts_with("/fleet")
            || path.starts_with("/login")
        {
            "/".to_owned()
        } else {
            path
        };
        navigate(
            &format!("{path}?target={}", encode(&id)),
            Default::default(),
        );
    };
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new({
                let on_change = on_change.clone();
                async move {
                    let list = targets.await;
                    let current = query.with_untracked(|q| q.get("target"));
                    let selected = current.or_else(|| list.first().map(|t| t.id.clone()));
                    (!list.is_empty()).then(|| view! {
                        <label class="target-switch">
                            <span class="muted small">"Target"</span>
                            <select data-testid="target-switch" on:change=on_change.clone()>
                                {list.into_iter().map(|t| {
                                    let is = selected.as_deref() == Some(t.id.as_str());
                                    let dot = if t.status.is_up() { "●" } else { "○" };
                                    view! { <option value=t.id.clone() selected=is>{format!("{dot} {}", t.name)}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                    })
                }
            })}
        </Suspense>
    }
}
