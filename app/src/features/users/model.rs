//! Users as the admin page and `/api/users*` show them, and the rules for names and passwords.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::features::auth::model::Role;

pub const MAX_USERNAME_CHARS: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Long passphrases are welcome; the bound only keeps a request from costing unbounded hashing.
pub const MAX_PASSWORD_CHARS: usize = 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    /// Failed sign-ins since the last success (last hour).
    pub recent_failures: u32,
    /// Set while the account is throttled.
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
}

/// A throttled client address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressLock {
    pub client_addr: String,
    pub recent_failures: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub locked_until: OffsetDateTime,
}

/// `GET /api/users/locks`: accounts and addresses throttled right now.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Locks {
    pub accounts: Vec<UserView>,
    pub addresses: Vec<AddressLock>,
}

/// Usernames are case-insensitive (stored in lower case, after Unicode NFKC normalisation, so
/// `ａｄｍｉｎ` is `admin`): letters, digits, `.`, `_`, `-`, `@`, starting with a letter or digit,
/// at most 64 characters, letters from one script (`аdmin` with a Cyrillic а is refused).
pub fn normalize_username(text: &str) -> Result<String, AppError> {
    #[cfg(feature = "ssr")]
    let text: String = unicode_normalization::UnicodeNormalization::nfkc(text).collect();
    let name = text.trim().to_lowercase();
    let count = name.chars().count();
    if count == 0 {
        return Err(AppError::validation("Enter a username."));
    }
    if count > MAX_USERNAME_CHARS {
        return Err(AppError::validation(format!(
            "A username is at most {MAX_USERNAME_CHARS} characters (this one has {count})."
        )));
    }
    let first_ok = name.chars().next().is_some_and(char::is_alphanumeric);
    let ok = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !first_ok || !ok {
        return Err(AppError::validation(
            "A username may hold letters, digits and . _ - @, and starts with a letter or digit.",
        ));
    }
    #[cfg(feature = "ssr")]
    if !unicode_security::MixedScript::is_single_script(name.as_str()) {
        return Err(AppError::validation(
            "A username takes its letters from one script (mixing, say, Latin and Cyrillic letters \
             makes names that look like others).",
        ));
    }
    Ok(name)
}

/// The name an existing account is looked up by for administration (update, unlock, password
/// reset): trimmed and in lower case, nothing more, so an account created before the stricter
/// rules (a mixed-script or fullwidth name) can still be found, disabled and unlocked.
pub fn username_key(text: &str) -> Result<String, AppError> {
    let name = text.trim().to_lowercase();
    let count = name.chars().count();
    if count == 0 || count > MAX_USERNAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::validation(format!(
            "Enter a username (1 to {MAX_USERNAME_CHARS} characters)."
        )));
    }
    Ok(name)
}

/// The existing username that `name` could be mistaken for (same Unicode TR39 skeleton, like
/// `rn` and `m`, or Latin and Cyrillic look-alikes), if any; the same name is not a look-alike.
#[cfg(feature = "ssr")]
pub fn confusable_with<'a>(
    name: &str,
    existing: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let skeleton = |s: &str| -> String { unicode_security::skeleton(s).collect() };
    let mine = skeleton(name);
    existing
        .into_iter()
        .find(|other| *other != name && skeleton(other) == mine)
}

/// At least 12 and at most 1024 characters; any Unicode; kept exactly as typed (no trimming, no
/// truncation).
pub fn check_password(password: &str) -> Result<(), AppError> {
    let count = password.chars().count();
    if count < MIN_PASSWORD_CHARS {
        return Err(AppError::validation(format!(
            "A password needs at least {MIN_PASSWORD_CHARS} characters (this one has {count})."
        )));
    }
    if count > MAX_PASSWORD_CHARS {
        return Err(AppError::validation(format!(
            "A password is at most {MAX_PASSWORD_CHARS} characters (this one has {count})."
        )));
    }
    if password.trim().is_empty() {
        return Err(AppError::validation("A password cannot be only spaces."));
    }
    Ok(())
}

/// `"true"` / `"false"` from a form; anything else is a 400 naming the field.
pub fn parse_flag(field: &str, text: &str) -> Result<bool, AppError> {
    match text.trim() {
        "true" | "on" | "1" => Ok(true),
        "false" | "off" | "0" => Ok(false),
        other => Err(AppError::validation(format!(
            "{field} must be true or false (got {other:?})."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(
            normalize_username("  Alice.B@corp ").as_deref(),
            Ok("alice.b@corp")
        );
        assert_eq!(normalize_username("jürgen").as_deref(), Ok("jürgen"));
        // NFKC: fullwidth letters are the ASCII name.
        assert_eq!(normalize_username("ａｄｍｉｎ").as_deref(), Ok("admin"));
        // One script per name: a Cyrillic а among Latin letters is refused.
        assert_eq!(
            normalize_username("\u{430}dmin").map_err(|e| e.status()),
            Err(400)
        );
        assert_eq!(normalize_username("иван").as_deref(), Ok("иван"));
        assert_eq!(
            confusable_with("rnary", ["admin", "mary"]),
            Some("mary"),
            "rn looks like m"
        );
        assert_eq!(confusable_with("admin", ["admin"]), None);
        // Existing accounts are still found by their stored name.
        assert_eq!(username_key(" \u{430}dmin ").as_deref(), Ok("\u{430}dmin"));
        assert!(username_key("").is_err());
        assert_eq!(
            confusable_with("\u{430}\u{441}\u{435}", ["ace"]),
            Some("ace")
        );
        for bad in [
            "",
            "   ",
            "-lead",
            "a b",
            "x'; drop",
            "<b>",
            &"a".repeat(65),
        ] {
            assert_eq!(
                normalize_username(bad).map_err(|e| e.status()),
                Err(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords() {
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
        assert!(check_password("ünïcødé🔑🔑🔑🔑🔑").is_ok());
        assert!(check_password(&"x".repeat(1024)).is_ok());
        assert!(check_password(&"x".repeat(1025)).is_err());
        assert!(check_password(&" ".repeat(20)).is_err());
        assert_eq!(parse_flag("disabled", "true"), Ok(true));
        assert!(parse_flag("disabled", "yes please").is_err());
    }
}
