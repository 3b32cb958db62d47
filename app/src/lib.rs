//! pgpanel's product crate: the UI (compiled for the browser with feature `hydrate`) and, behind
//! feature `ssr`, everything the server side of the UI needs: server functions, catalog queries,
//! target monitoring and the store. The throwaway-PostgreSQL harness is its own crate
//! (`harness/`).

#![recursion_limit = "256"]

#[cfg(feature = "ssr")]
pub mod clock;
pub mod codec;
pub mod components;
pub mod error;
#[cfg(feature = "ssr")]
pub mod export;
pub mod features;
pub mod pages;
pub mod sql;

#[cfg(feature = "ssr")]
pub mod security;
pub mod shell;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use components::clock::provide_clock;
use components::page_header::PageHeader;
use components::theme::{ThemeToggle, initial_theme};
use features::activity::page::ActivityPage;
use features::advice::page::AdvicePage;
use features::app_audit::page::AppAuditTablesPage;
use features::audit::page::AuditLogPage;
use features::auth::me::provide_current_user;
use features::auth::page::{LoginPage, RoleGate};
use features::locks::page::LocksPage;
use features::logs::page::ServerLogPage;
use features::maintenance::page::MaintenancePage;
use features::overview::fleet::FleetPage;
use features::overview::page::OverviewPage;
use features::queries::page::QueriesPage;
use features::users::page::UsersPage;
use shell::Frame;

/// The page's first script: until hydration, controls that need the wasm say "still loading"
/// instead of doing nothing; if the scripts cannot be loaded, a banner with a Reload link.
#[cfg(feature = "ssr")]
const BEFORE_HYDRATION_SCRIPT: &str = include_str!("shell/before_hydration.js");

/// The HTML document around the app, rendered on the server for every page.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    security::set_page_policy();
    // The stylesheet and the scripts under their content-hashed names (the server sets
    // `output_name` to `pgpanel.<hash>`), cached for a year.
    let css = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" id="leptos" href=css/>
                // Before the scripts: a control clicked before they have taken over says so, and
                // if they cannot be loaded (offline, a proxy, a build replaced under an open tab)
                // a banner says that with a reload button, instead of a page that silently does
                // nothing.
                <script nonce=nonce>{BEFORE_HYDRATION_SCRIPT}</script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_clock();
    provide_current_user();
    let theme = RwSignal::new(initial_theme());
    // Set once the wasm has taken over the page: tests wait for it before clicking.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="color-scheme" content="light dark"/>
        <Title text="pgpanel"/>
        <div
            class="app"
            data-theme=move || theme.get().as_str()
            data-hydrated=move || if hydrated.get() { "true" } else { "false" }
        >
            <Router>
                <Frame header_end=view! { <ThemeToggle theme=theme/> }.into_any()>
                    <Routes fallback=NotFound>
                        <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                        <Route
                            path=path!("/")
                            view=|| view! { <Gate path="/"><OverviewPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/fleet")
                            view=|| view! { <Gate path="/fleet"><FleetPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/activity")
                            view=|| view! { <Gate path="/activity"><ActivityPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/queries")
                            view=|| view! { <Gate path="/queries"><QueriesPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/locks")
                            view=|| view! { <Gate path="/locks"><LocksPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/maintenance")
                            view=|| view! { <Gate path="/maintenance"><MaintenancePage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/advice")
                            view=|| view! { <Gate path="/advice"><AdvicePage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/logs")
                            view=|| view! { <Gate path="/logs"><ServerLogPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/audit")
                            view=|| view! { <Gate path="/audit"><AuditLogPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/audit/app")
                            view=|| view! { <Gate path="/audit/app"><AppAuditTablesPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/users")
                            view=|| view! { <Gate path="/users"><UsersPage/></Gate> }
                            ssr=SsrMode::Async
                        />
                    </Routes>
                </Frame>
            </Router>
        </div>
    }
}

/// A page behind its row of the table of pages: the role and title come from there.
#[component]
fn Gate(path: &'static str, children: ChildrenFn) -> impl IntoView {
    let (min, title) = pages::min_role(path);
    view! { <RoleGate min=min title=title>{children()}</RoleGate> }
}

/// Any path without a page: a real 404, inside the normal frame.
#[component]
fn NotFound() -> impl IntoView {
    error::set_response_status(&error::AppError::not_found(""));
    view! {
        <Title text="Not found · pgpanel"/>
        <PageHeader title="Page not found">""</PageHeader>
        <div class="card empty" data-testid="not-found">
            <p>"There is no page at this address."</p>
            <p>
                <a href="/">"Go to the Overview"</a>
            </p>
        </div>
    }
}
