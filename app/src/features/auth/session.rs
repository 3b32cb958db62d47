//! Session tokens and cookies, and finding who is calling.
//!
//! A token is 256 random bits, sent only in an HttpOnly, SameSite=Strict cookie (`__Host-` and
//! Secure under TLS); the store keeps its SHA-256, never the token. A session ends after
//! `idle_timeout` without requests or `absolute_timeout` after sign-in, whichever comes first, and
//! at once on logout, password change or when its user is disabled. The role is read from the
//! users table on every request, so a role change applies to the next one.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use http::HeaderMap;
use http::header::COOKIE;
use sha2::{Digest, Sha256};

use super::context::Caller;
use super::throttle::Limits;
use crate::clock::Clock;
use crate::store::{Store, StoreError};

pub const SECURE_COOKIE: &str = "__Host-pgpanel_session";
pub const PLAIN_COOKIE: &str = "pgpanel_session";

/// A session is touched at most this often (its idle clock has this resolution).
const TOUCH_EVERY_MS: i64 = 30_000;

#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub secure_cookies: bool,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub account_limits: Limits,
    pub address_limits: Limits,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            account_limits: super::throttle::ACCOUNT,
            address_limits: super::throttle::ADDRESS,
        }
    }
}

impl AuthSettings {
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            SECURE_COOKIE
        } else {
            PLAIN_COOKIE
        }
    }

    fn attributes(&self, max_age: u64) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
    }

    /// The `Set-Cookie` value that starts a session.
    pub fn set_cookie(&self, token: &str) -> String {
        format!(
            "{}={token}; {}",
            self.cookie_name(),
            self.attributes(self.absolute_timeout.as_secs())
        )
    }

    /// The `Set-Cookie` value that makes the browser forget the session.
    pub fn clear_cookie(&self) -> String {
        format!("{}=; {}", self.cookie_name(), self.attributes(0))
    }

    /// The session token the request carries, if any.
    pub fn token_from(&self, headers: &HeaderMap) -> Option<String> {
        self.tokens_from(headers).into_iter().next()
    }

    /// Every session cookie the request carries, in order, at most [`MAX_COOKIES`] (another
    /// service on the same host can plant a second `pgpanel_session` with a narrower Path; the
    /// guard then takes the one that names a valid session, not simply the first).
    pub fn tokens_from(&self, headers: &HeaderMap) -> Vec<String> {
        let name = self.cookie_name();
        let mut out: Vec<String> = Vec::new();
        for (_, v) in headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(k, v)| *k == name && !v.is_empty() && v.len() <= 128)
        {
            if out.len() == MAX_COOKIES {
                break;
            }
            if !out.iter().any(|t| t == v) {
                out.push(v.to_owned());
            }
        }
        out
    }
}

/// Session cookies looked at per request.
pub const MAX_COOKIES: usize = 4;

/// 256 random bits from the operating system, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session behind `token`, if it is still valid; ends it in the store when it is not.
pub async fn resolve(
    store: &Store,
    clock: &Clock,
    settings: &AuthSettings,
    token: &str,
) -> Result<Option<Caller>, StoreError> {
    resolve_hash(store, clock, settings, token_hash(token)).await
}

/// `resolve` by the token's hash (what a `Caller` keeps).
pub async fn resolve_hash(
    store: &Store,
    clock: &Clock,
    settings: &AuthSettings,
    hash: String,
) -> Result<Option<Caller>, StoreError> {
    let Some(session) = store.find_session(&hash).await? else {
        return Ok(None);
    };
    let now = clock.now_ms();
    let idle = now - session.last_seen_ms > ms(settings.idle_timeout);
    let expired = now - session.created_at_ms > ms(settings.absolute_timeout);
    if session.disabled || idle || expired {
        store.end_session(&hash, None).await?;
        return Ok(None);
    }
    if now - session.last_seen_ms >= TOUCH_EVERY_MS {
        store.touch_session(&hash, now).await?;
    }
    Ok(Some(Caller {
        user_id: session.user_id,
        username: session.username,
        role: session.role,
        token_hash: hash,
    }))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn cookies_carry_the_attributes() {
        let secure = AuthSettings::default();
        let c = secure.set_cookie("abc");
        assert!(c.starts_with("__Host-pgpanel_session=abc; Path=/; HttpOnly; SameSite=Strict"));
        assert!(c.ends_with("; Secure"), "{c}");
        let plain = AuthSettings {
            secure_cookies: false,
            ..AuthSettings::default()
        };
        assert!(plain.set_cookie("abc").starts_with("pgpanel_session=abc;"));
        assert!(!plain.set_cookie("abc").contains("Secure"));
        assert!(plain.clear_cookie().contains("Max-Age=0"));

        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "x=1; pgpanel_session=tok; y=2".parse().expect("header"),
        );
        assert_eq!(plain.token_from(&headers).as_deref(), Some("tok"));
        assert_eq!(secure.token_from(&headers), None);
    }
}
