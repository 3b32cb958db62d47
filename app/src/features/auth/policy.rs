//! The one table of who may call what. Every server function and every page route has a row;
//! the server refuses to start if one is missing (see `missing_rules`), and the guard middleware
//! enforces the table before any handler runs. Handlers check again (`context::require`).

use super::model::{Access, Role};

pub struct Rule {
    pub path: &'static str,
    pub access: Access,
}

const fn rule(path: &'static str, access: Access) -> Rule {
    Rule { path, access }
}

const ANALYST: Access = Access::AtLeast(Role::Analyst);
const DBA: Access = Access::AtLeast(Role::Dba);
const ADMIN: Access = Access::AtLeast(Role::Admin);

/// Server functions (`/api/…`) and the download routes (`…/export`).
pub const API: &[Rule] = &[
    rule("/api/auth/login", Access::Public),
    rule("/api/auth/logout", Access::SignedIn),
    rule("/api/auth/me", Access::SignedIn),
    rule("/api/users", ADMIN),
    rule("/api/users/create", ADMIN),
    rule("/api/users/update", ADMIN),
    rule("/api/users/locks", ADMIN),
    rule("/api/users/unlock", ADMIN),
    rule("/api/cluster", ADMIN),
    rule("/api/targets", ANALYST),
    rule("/api/overview", ANALYST),
    rule("/api/fleet", ANALYST),
    rule("/api/activity/sessions", ANALYST),
    rule("/api/queries/top", ANALYST),
    rule("/api/queries/detail", ANALYST),
    rule("/api/locks/graph", ANALYST),
    rule("/api/locks/history", ANALYST),
    rule("/api/locks/peak", ANALYST),
    rule("/api/locks/episodes", ANALYST),
    rule("/api/actions/cancel_backend", DBA),
    rule("/api/actions/terminate_backend", DBA),
    rule("/api/actions/terminate_idle", DBA),
    rule("/api/actions/vacuum", DBA),
    rule("/api/actions/analyze", DBA),
    rule("/api/actions/reindex", DBA),
    rule("/api/actions/preview", DBA),
    rule("/api/actions/cancel_job", DBA),
    rule("/api/actions/jobs", ANALYST),
    rule("/api/maintenance/tables", ANALYST),
    rule("/api/advice", ANALYST),
    rule("/api/advice/refresh", DBA),
    rule("/api/advice/bloat", ANALYST),
    rule("/api/advice/view", ANALYST),
    rule("/api/advice/apply", DBA),
    rule("/api/advice/measure", DBA),
    rule("/api/audit", ANALYST),
    rule("/api/audit/export", ANALYST),
    rule("/api/logs", ANALYST),
    rule("/api/logs/entry", ANALYST),
    rule("/api/logs/export", ANALYST),
    rule("/api/logs/backfill", DBA),
    rule("/api/app-audit", ANALYST),
    rule("/api/app-audit/export", ANALYST),
    // The Server-Sent Events stream: answered like the API (401/403 as JSON, no redirect).
    rule("/live", ANALYST),
];

/// Page routes: the table of pages (`crate::pages`), which also drives the router and the
/// navigation.
pub use crate::pages::PAGES;

fn find(table: &[Rule], path: &str) -> Option<Access> {
    table.iter().find(|r| r.path == path).map(|r| r.access)
}

pub fn api_access(path: &str) -> Option<Access> {
    find(API, path)
}

/// Paths answered like the API (JSON errors, never a redirect to the sign-in page).
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/") || path == "/live"
}

/// A page's rule; `/users/` is `/users` (the router would render the same page).
pub fn page_access(path: &str) -> Option<Access> {
    crate::pages::find(path).map(|p| p.access)
}

/// Paths among `server_fns` and `pages` that have no rule: a server that has any must not start.
pub fn missing_rules<'a>(
    server_fns: impl IntoIterator<Item = &'a str>,
    pages: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut missing: Vec<String> = server_fns
        .into_iter()
        .filter(|p| api_access(p).is_none())
        .chain(pages.into_iter().filter(|p| page_access(p).is_none()))
        .map(str::to_owned)
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_are_reported() {
        assert_eq!(
            missing_rules(["/api/targets", "/api/new_thing"], ["/", "/secret"]),
            vec!["/api/new_thing".to_owned(), "/secret".to_owned()]
        );
        assert!(missing_rules(API.iter().map(|r| r.path), PAGES.iter().map(|r| r.path)).is_empty());
        assert_eq!(page_access("/users/"), page_access("/users"));
        assert_eq!(page_access("//"), page_access("/"));
    }
}
