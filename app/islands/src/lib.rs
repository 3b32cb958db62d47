//! The app as islands (docs/ARCHITECTURE.md §11): the HTML document, the router and the gates run
//! on the server only; in the browser run the frame's island (`app::shell::FrameIsland`) and the
//! page's own island, one wrapper here per page. Each wrapper is an island only under its page's
//! feature (a plain component otherwise), so a wasm built with one feature exports one page's
//! island: `.ci/build-front` builds one per page, and the server names each page's files.

#![recursion_limit = "256"]

use leptos::prelude::*;

use app::features::activity::page::ActivityPage;
use app::features::advice::page::AdvicePage;
use app::features::app_audit::page::AppAuditTablesPage;
use app::features::audit::page::AuditLogPage;
use app::features::auth::page::LoginPage;
use app::features::locks::page::LocksPage;
use app::features::logs::page::ServerLogPage;
use app::features::maintenance::page::MaintenancePage;
use app::features::overview::fleet::FleetPage;
use app::features::overview::page::OverviewPage;
use app::features::queries::page::QueriesPage;
use app::features::users::page::UsersPage;

#[cfg(feature = "ssr")]
mod document;
#[cfg(feature = "ssr")]
pub use document::{App, AssetNames, shell};

#[cfg_attr(feature = "overview", island)]
#[cfg_attr(not(feature = "overview"), component)]
pub fn OverviewIsland() -> impl IntoView {
    view! { <OverviewPage/> }
}

#[cfg_attr(feature = "fleet", island)]
#[cfg_attr(not(feature = "fleet"), component)]
pub fn FleetIsland() -> impl IntoView {
    view! { <FleetPage/> }
}

#[cfg_attr(feature = "activity", island)]
#[cfg_attr(not(feature = "activity"), component)]
pub fn ActivityIsland() -> impl IntoView {
    view! { <ActivityPage/> }
}

#[cfg_attr(feature = "queries", island)]
#[cfg_attr(not(feature = "queries"), component)]
pub fn QueriesIsland() -> impl IntoView {
    view! { <QueriesPage/> }
}

#[cfg_attr(feature = "locks", island)]
#[cfg_attr(not(feature = "locks"), component)]
pub fn LocksIsland() -> impl IntoView {
    view! { <LocksPage/> }
}

#[cfg_attr(feature = "maintenance", island)]
#[cfg_attr(not(feature = "maintenance"), component)]
pub fn MaintenanceIsland() -> impl IntoView {
    view! { <MaintenancePage/> }
}

#[cfg_attr(feature = "advice", island)]
#[cfg_attr(not(feature = "advice"), component)]
pub fn AdviceIsland() -> impl IntoView {
    view! { <AdvicePage/> }
}

#[cfg_attr(feature = "logs", island)]
#[cfg_attr(not(feature = "logs"), component)]
pub fn LogsIsland() -> impl IntoView {
    view! { <ServerLogPage/> }
}

#[cfg_attr(feature = "audit", island)]
#[cfg_attr(not(feature = "audit"), component)]
pub fn AuditIsland() -> impl IntoView {
    view! { <AuditLogPage/> }
}

#[cfg_attr(feature = "app_audit", island)]
#[cfg_attr(not(feature = "app_audit"), component)]
pub fn AppAuditIsland() -> impl IntoView {
    view! { <AppAuditTablesPage/> }
}

#[cfg_attr(feature = "users", island)]
#[cfg_attr(not(feature = "users"), component)]
pub fn UsersIsland() -> impl IntoView {
    view! { <UsersPage/> }
}

#[cfg_attr(feature = "login", island)]
#[cfg_attr(not(feature = "login"), component)]
pub fn LoginIsland() -> impl IntoView {
    view! { <LoginPage/> }
}

#[cfg(test)]
mod tests {
    /// The features a Cargo.toml's `[features]` table defines, but `default`, `ssr` and `hydrate`.
    fn page_features(manifest: &str) -> Vec<String> {
        let mut names: Vec<String> = manifest
            .split("[features]")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
            .filter(|k| !k.is_empty() && !k.starts_with('#'))
            .filter(|k| !["default", "ssr", "hydrate"].contains(&k.as_str()))
            .collect();
        names.sort();
        names
    }

    /// Each page's wasm is built from a feature of the same name in both crates (`.ci/build-front`
    /// reads the entry's), and the server turns every one on: a page added to the table without
    /// its feature would have no wasm.
    #[test]
    fn every_page_has_its_feature_in_both_crates_and_the_server_turns_it_on() {
        let bundles: Vec<String> = app::pages::bundles()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let islands = include_str!("../Cargo.toml");
        assert_eq!(page_features(islands), bundles);
        assert_eq!(
            page_features(include_str!("../../hydrate/Cargo.toml")),
            bundles
        );
        let ssr = islands
            .split("ssr = [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_default();
        for b in &bundles {
            assert!(
                ssr.contains(&format!("\"{b}\"")),
                "ssr does not turn on {b}"
            );
        }
    }
}
