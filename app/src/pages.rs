//! The one table of pages: path, title, who may open it and the navigation label. The router's
//! gates (`lib.rs`), the navigation (`shell`) and the access policy (`auth::policy`, which the
//! server enforces before any page renders) all read it; a route without a row here cannot be
//! opened (the server refuses to start).

use crate::features::auth::model::{Access, Role};

pub struct Page {
    pub path: &'static str,
    pub title: &'static str,
    pub access: Access,
    /// The label in the left navigation, in this order (None: not in the navigation).
    pub nav: Option<&'static str>,
    /// Moving to it keeps the `?target=` being shown (the Audit trail's `target` is a filter
    /// that would hide sign-ins and user changes; Fleet and Users have no target).
    pub keeps_target: bool,
    /// The page's own wasm (`pgpanel-<bundle>`): the frame's island and this page's, built with
    /// the `pgpanel-islands` feature of that name (docs/ARCHITECTURE.md §11).
    pub bundle: &'static str,
}

const fn page(
    path: &'static str,
    title: &'static str,
    min: Role,
    nav: &'static str,
    keeps_target: bool,
    bundle: &'static str,
) -> Page {
    Page {
        path,
        title,
        access: Access::AtLeast(min),
        nav: Some(nav),
        keeps_target,
        bundle,
    }
}

pub const PAGES: &[Page] = &[
    page("/", "Overview", Role::Analyst, "Overview", true, "overview"),
    page(
        "/activity",
        "Activity",
        Role::Analyst,
        "Activity",
        true,
        "activity",
    ),
    page(
        "/queries",
        "Queries",
        Role::Analyst,
        "Queries",
        true,
        "queries",
    ),
    page("/locks", "Locks", Role::Analyst, "Locks", true, "locks"),
    page(
        "/maintenance",
        "Maintenance",
        Role::Analyst,
        "Maintenance",
        true,
        "maintenance",
    ),
    page("/advice", "Advice", Role::Analyst, "Advice", true, "advice"),
    page("/logs", "Logs", Role::Analyst, "Logs", true, "logs"),
    page("/audit", "Audit", Role::Analyst, "Audit", false, "audit"),
    Page {
        path: "/audit/app",
        title: "Application audit",
        access: Access::AtLeast(Role::Analyst),
        // Reached from the Audit area's own links.
        nav: None,
        keeps_target: false,
        bundle: "app_audit",
    },
    page("/fleet", "Fleet", Role::Analyst, "Fleet", false, "fleet"),
    page("/users", "Users", Role::Admin, "Users", false, "users"),
    // Rendered on the server only: the frame's island is its only wasm.
    page(
        "/cluster",
        "Cluster",
        Role::Admin,
        "Cluster",
        false,
        LOGIN_BUNDLE,
    ),
    Page {
        path: "/login",
        title: "Sign in",
        access: Access::Public,
        nav: None,
        keeps_target: false,
        bundle: LOGIN_BUNDLE,
    },
];

/// The wasm of the sign-in page, also loaded by pages without an island of their own (a 404):
/// the frame's island and the sign-in form's.
pub const LOGIN_BUNDLE: &str = "login";

/// Every page's wasm, each once.
pub fn bundles() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = PAGES.iter().map(|p| p.bundle).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The wasm a request for `path` loads: its page's, else the sign-in page's (the frame alone).
pub fn bundle_for(path: &str) -> &'static str {
    find(path).map_or(LOGIN_BUNDLE, |p| p.bundle)
}

/// The page at `path`; `/users/` is `/users` (the router renders the same page).
pub fn find(path: &str) -> Option<&'static Page> {
    let trimmed = path.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    PAGES.iter().find(|p| p.path == path)
}

/// The role a gated page needs: the table's, else admin (an unknown page is not left open).
pub fn min_role(path: &str) -> (Role, &'static str) {
    match find(path) {
        Some(Page {
            access: Access::AtLeast(role),
            title,
            ..
        }) => (*role, title),
        Some(p) => (Role::Analyst, p.title),
        None => (Role::Admin, "pgpanel"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_path_and_unknown_pages_need_admin() {
        for (i, p) in PAGES.iter().enumerate() {
            assert!(PAGES[..i].iter().all(|q| q.path != p.path), "{}", p.path);
        }
        assert_eq!(min_role("/users/"), (Role::Admin, "Users"));
        assert_eq!(min_role("/locks"), (Role::Analyst, "Locks"));
        assert_eq!(min_role("/nowhere").0, Role::Admin);
        assert!(matches!(
            find("/login").map(|p| p.access),
            Some(Access::Public)
        ));
        assert_eq!(bundle_for("/audit/app"), "app_audit");
        assert_eq!(bundle_for("/nowhere"), LOGIN_BUNDLE);
        // One wasm per page, but the Cluster page's, which has no island of its own.
        assert_eq!(bundles().len(), PAGES.len() - 1);
    }

    /// The request-count test and the bench open the pages listed in end2end/pages.json: every
    /// page of this table must be there, so a new page cannot start a request loop unseen.
    #[test]
    fn the_request_count_test_opens_every_page() {
        let listed: serde_json::Value =
            serde_json::from_str(include_str!("../../end2end/pages.json"))
                .expect("end2end/pages.json is JSON");
        let paths: Vec<&str> = listed["pages"]
            .as_array()
            .expect("a pages array")
            .iter()
            .filter_map(|p| p["path"].as_str())
            .map(|p| p.split('?').next().unwrap_or(p))
            .collect();
        for page in PAGES {
            assert!(
                paths.contains(&page.path),
                "{} is missing from end2end/pages.json",
                page.path
            );
        }
    }
}
