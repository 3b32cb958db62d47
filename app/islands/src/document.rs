//! The server's side of the app: the HTML document, the router and the gates. None of it reaches
//! the browser.

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::{SsrMode, path};

use app::components::page_header::PageHeader;
use app::error::{AppError, set_response_status};
use app::features::auth::page::RoleGate;
use app::features::cluster::page::ClusterPage;
use app::pages;
use app::shell::{BEFORE_HYDRATION_SCRIPT, Frame};

use super::*;

/// The names pages load their files under, by content hash (`pgpanel.<hash>.css`, each page's
/// `pgpanel-<bundle>.<hash>.js` and `.wasm`): read by the server at start-up.
#[derive(Clone, Debug, Default)]
pub struct AssetNames {
    /// The stylesheet's name without `.css`.
    pub css: String,
    /// Each bundle's output name (its `.js` and `.wasm`).
    pub bundles: Vec<(&'static str, String)>,
}

impl AssetNames {
    /// A bundle's output name (`pgpanel-<bundle>` when its files are missing).
    pub fn bundle(&self, bundle: &str) -> String {
        self.bundles
            .iter()
            .find(|(b, _)| *b == bundle)
            .map_or_else(|| format!("pgpanel-{bundle}"), |(_, n)| n.clone())
    }
}

/// The HTML document around the app, rendered on the server for every page: it loads the
/// stylesheet and the wasm of the page asked for.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    app::security::set_page_policy();
    let names = use_context::<AssetNames>();
    let path = use_context::<http::request::Parts>()
        .map(|p| p.uri.path().to_owned())
        .unwrap_or_default();
    let bundle = pages::bundle_for(&path);
    let (css, output_name) = match &names {
        Some(n) => (n.css.clone(), n.bundle(bundle)),
        None => ("pgpanel".to_owned(), format!("pgpanel-{bundle}")),
    };
    let pkg = &options.site_pkg_dir;
    let css = format!("/{pkg}/{css}.css");
    let js = format!("/{pkg}/{output_name}.js");
    let wasm = format!("/{pkg}/{output_name}.wasm");
    let nonce = leptos::nonce::use_nonce();
    // The theme is on the root element from the first byte (the whole document takes its
    // background and colour scheme); the theme switch updates it there.
    let theme = app::components::theme::initial_theme().as_str();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // Before the scripts: a control clicked before they have taken over says so, and
                // if they cannot be loaded (offline, a proxy, a build replaced under an open tab)
                // a banner says that with a reload button, instead of a page that silently does
                // nothing. Before the stylesheet too, which would otherwise hold the parser here
                // until it has arrived.
                <script nonce=nonce.clone()>{BEFORE_HYDRATION_SCRIPT}</script>
                <link rel="stylesheet" id="leptos" href=css/>
                <PageScripts js wasm nonce/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's JS and wasm, fetched at once (the preload links), and the loader (`loader.js`) that
/// compiles the wasm as it arrives and hydrates the islands once the document is parsed.
#[component]
fn PageScripts(js: String, wasm: String, nonce: Option<leptos::nonce::Nonce>) -> impl IntoView {
    // As leptos' own `HydrationScripts` does in islands mode: only what islands read is sent
    // along with the page (a resource outside them is not serialized).
    if let Some(sc) = leptos::reactive::owner::Owner::current_shared_context() {
        sc.set_is_hydrating(false);
    }
    let script = format!("{}({js:?}, {wasm:?});", include_str!("loader.js"));
    view! {
        <link rel="modulepreload" href=js/>
        <link rel="preload" href=wasm r#as="fetch" r#type="application/wasm" crossorigin=""/>
        <script type="module" async nonce=nonce>{script}</script>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="color-scheme" content="light dark"/>
        <Title text="pgpanel"/>
        <Router>
            <Frame>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=|| view! { <Titled/><LoginIsland/> } ssr=SsrMode::Async/>
                    <Route path=path!("/") view=|| view! { <Gate><OverviewIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/fleet") view=|| view! { <Gate><FleetIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/activity") view=|| view! { <Gate><ActivityIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/queries") view=|| view! { <Gate><QueriesIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/locks") view=|| view! { <Gate><LocksIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/maintenance") view=|| view! { <Gate><MaintenanceIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/advice") view=|| view! { <Gate><AdviceIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/logs") view=|| view! { <Gate><LogsIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=|| view! { <Gate><AuditIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/audit/app") view=|| view! { <Gate><AppAuditIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/users") view=|| view! { <Gate><UsersIsland/></Gate> } ssr=SsrMode::Async/>
                    <Route path=path!("/cluster") view=|| view! { <Gate><ClusterPage/></Gate> } ssr=SsrMode::Async/>
                </Routes>
            </Frame>
        </Router>
    }
}

/// The page's title, from its row of the table of pages.
#[component]
fn Titled() -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    let title = pages::find(&path).map_or("pgpanel", |p| p.title);
    view! { <Title text=format!("{title} · pgpanel")/> }
}

/// A page behind its row of the table of pages: the role and title come from there.
#[component]
fn Gate(children: Children) -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    let (min, title) = pages::min_role(&path);
    view! {
        <Titled/>
        <RoleGate min=min title=title>{children()}</RoleGate>
    }
}

/// Any path without a page: a real 404, inside the normal frame.
#[component]
fn NotFound() -> impl IntoView {
    set_response_status(&AppError::not_found(""));
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
