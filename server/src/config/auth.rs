//! `[auth]`: session lifetimes and audit retention; and the shape of `http.allowed_origins`
//! (the forgery check compares them with a request's Origin).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use app::features::auth::session::AuthSettings;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session without requests for this long ends.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, active or not.
    pub session_absolute_hours: u64,
    /// Audit events older than this many days are deleted; 0 keeps them forever (the default).
    pub audit_retention_days: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            audit_retention_days: 0,
        }
    }
}

impl AuthConfig {
    /// Checks the values; `Err((key, message))` names the offending key.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            return Err((
                "auth.session_idle_minutes",
                "must be between 1 and 1440".into(),
            ));
        }
        if !(1..=24 * 30).contains(&self.session_absolute_hours) {
            return Err((
                "auth.session_absolute_hours",
                "must be between 1 and 720".into(),
            ));
        }
        if self.session_idle_minutes > self.session_absolute_hours * 60 {
            return Err((
                "auth.session_idle_minutes",
                "must not exceed auth.session_absolute_hours".into(),
            ));
        }
        Ok(())
    }

    pub fn settings(&self, secure_cookies: bool) -> AuthSettings {
        AuthSettings {
            secure_cookies,
            idle_timeout: Duration::from_secs(self.session_idle_minutes * 60),
            absolute_timeout: Duration::from_secs(self.session_absolute_hours * 3600),
            ..AuthSettings::default()
        }
    }
}

/// `scheme://host[:port]` with http or https and nothing after the authority.
pub fn valid_origin(origin: &str) -> bool {
    origin.split_once("://").is_some_and(|(scheme, host)| {
        matches!(scheme, "http" | "https")
            && !host.is_empty()
            && !host.contains(['/', '?', '#', '@', ' '])
    })
}

/// `host[:port]`: a name or address as a Host header carries it, nothing else.
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
}
