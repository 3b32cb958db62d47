//! The frame around every page: header with the product name, the signed-in user and the theme
//! switch, the left navigation (only what the user's role may open), and the page body.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::features::auth::model::Role;
use crate::features::auth::page::{UserMenu, current_user};

/// One entry of the left navigation. Entries appear only when their page exists and the role
/// may open it (the server enforces the same rule; hiding a link is only courtesy).
struct NavItem {
    href: &'static str,
    label: &'static str,
    min: Role,
}

const NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label: "Overview",
        min: Role::Analyst,
    },
    NavItem {
        href: "/users",
        label: "Users",
        min: Role::Admin,
    },
];

#[component]
pub fn Frame(header_end: AnyView, children: Children) -> impl IntoView {
    let user = current_user();
    let nav = move || {
        Suspend::new(async move {
            let role = match user {
                Some(u) => u.0.await.ok().map(|me| me.role),
                None => None,
            };
            role.map(|role| {
                view! {
                    <nav class="sidenav" aria-label="Main" data-testid="sidenav">
                        <ul>
                            {NAV
                                .iter()
                                .filter(|item| role >= item.min)
                                .map(|item| {
                                    view! {
                                        <li>
                                            <A href=item.href exact=true>
                                                {item.label}
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
        <header class="topbar">
            <a class="brand" href="/">
                <img src="/favicon.svg" alt="" width="22" height="22"/>
                <span>"pgpanel"</span>
            </a>
            <div class="topbar-end">
                <UserMenu/>
                {header_end}
            </div>
        </header>
        <div class="body">
            <Suspense fallback=|| ()>{nav}</Suspense>
            <main class="content">{children()}</main>
        </div>
    }
}

/// A page title with an optional line of context on the right.
#[component]
pub fn PageHeader(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <div class="page-header">
            <h1>{title}</h1>
            <div class="page-header-end">{children()}</div>
        </div>
    }
}
