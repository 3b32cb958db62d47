//! The frame around every page: header with the product name and theme switch, left navigation,
//! and the page body.

use leptos::prelude::*;
use leptos_router::components::A;

/// One entry of the left navigation. Entries appear only when their page exists.
struct NavItem {
    href: &'static str,
    label: &'static str,
}

const NAV: &[NavItem] = &[NavItem {
    href: "/",
    label: "Overview",
}];

#[component]
pub fn Frame(header_end: AnyView, children: Children) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <img src="/favicon.svg" alt="" width="22" height="22"/>
                <span>"pgpanel"</span>
            </a>
            <div class="topbar-end">{header_end}</div>
        </header>
        <div class="body">
            <nav class="sidenav" aria-label="Main">
                <ul>
                    {NAV
                        .iter()
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
