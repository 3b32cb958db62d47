//! Roles, who may call what, and the signed-in user as the browser sees it.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Ordered: every role may do what the roles before it may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every view, no actions, no user management.
    Analyst,
    /// Every view and every action.
    Dba,
    /// Users, and everything a DBA may do.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Dba, Role::Analyst];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Dba => "dba",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text.trim() {
            "analyst" => Ok(Role::Analyst),
            "dba" => Ok(Role::Dba),
            "admin" => Ok(Role::Admin),
            other => Err(AppError::validation(format!(
                "Unknown role {other:?}: use admin, dba or analyst."
            ))),
        }
    }
}

/// "This page needs the admin role; you are signed in as dba, whose role is dba." — the same
/// sentence for pages and the API (a username may equal a role's name: say which is which).
pub fn needs_role(what: &str, min: Role, username: &str, role: Role) -> String {
    format!("{what} needs the {min} role; you are signed in as {username}, whose role is {role}.")
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may reach an endpoint or a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (the login page and endpoint, static files).
    Public,
    /// Any signed-in user, whatever the role.
    SignedIn,
    /// A signed-in user with at least this role.
    AtLeast(Role),
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (_, None) => false,
            (Access::SignedIn, Some(_)) => true,
            (Access::AtLeast(min), Some(role)) => role >= min,
        }
    }
}

/// `GET /api/auth/me`: the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
}

/// A path to return to after signing in: only a local absolute path (never `//host` or a URL),
/// so the login page cannot be used to send someone elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.starts_with("/\\")
                && !p.starts_with("/login")
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::Dba && Role::Dba > Role::Analyst);
        assert!(Access::AtLeast(Role::Dba).allows(Some(Role::Admin)));
        assert!(!Access::AtLeast(Role::Dba).allows(Some(Role::Analyst)));
        assert!(!Access::SignedIn.allows(None));
        assert!(Access::Public.allows(None));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert_eq!(Role::parse("root").map_err(|e| e.status()), Err(400));
    }

    #[test]
    fn next_stays_local() {
        assert_eq!(safe_next(Some("/users?x=1")), "/users?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "users",
            "/login",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
