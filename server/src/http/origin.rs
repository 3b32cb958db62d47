//! Whether a request may be answered and may change state, from its headers alone: the Host
//! must be one pgpanel answers to (DNS rebinding), and a state change must come from pgpanel's
//! own pages (Origin compared exactly; else Sec-Fetch-Site, then Referer). The guard applies
//! both before any handler runs.

use axum::http::header::{ORIGIN, REFERER};
use axum::http::{HeaderMap, HeaderValue};

/// Which origins may change state.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    /// Extra origins (besides the one the request was sent to) whose POSTs are accepted.
    pub allowed: Vec<String>,
    /// Served over TLS (`http.secure_cookies`): an `http://` origin is not ours.
    pub require_https: bool,
    /// Listening on loopback only: the Host must be a loopback name too, so a page that
    /// rebinds its own DNS name to 127.0.0.1 is not taken for pgpanel.
    pub loopback_only: bool,
    /// Host names (`host` or `host:port`, lower case) accepted besides IP addresses and
    /// loopback names: `http.allowed_hosts` and the hosts of `http.allowed_origins`.
    pub hosts: Vec<String>,
}

/// Whether a request's Host may be answered. A browser page can reach pgpanel under a name of
/// its own (DNS rebinding); such a name is not in the list. IP addresses and loopback names
/// cannot be rebound by a foreign page and are always accepted.
pub fn host_allowed(authority: &str, policy: &OriginPolicy) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    is_loopback_host(authority)
        || host.parse::<std::net::Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
        || policy
            .hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(authority) || h.eq_ignore_ascii_case(host))
}

fn is_loopback_host(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

const SEC_FETCH_SITE: axum::http::HeaderName =
    axum::http::HeaderName::from_static("sec-fetch-site");

/// `scheme://authority` → authority, for an Origin or a Referer.
fn authority_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// Whether a state-changing request comes from pgpanel's own pages. `authority` is the Host
/// the request was sent to (the Host header, or the request line's authority). An Origin is
/// compared exactly (`scheme://host[:port]`, nothing after it); a Referer by its authority.
pub fn check_origin(
    headers: &HeaderMap,
    authority: Option<&str>,
    policy: &OriginPolicy,
) -> Result<(), &'static str> {
    let host = authority.ok_or("the request names no host")?;
    let scheme_ok = |url: &str| {
        url.starts_with("https://") || !policy.require_https && url.starts_with("http://")
    };
    let host_ok = !policy.loopback_only || is_loopback_host(host);
    let origin_ok = |origin: &str| {
        policy
            .allowed
            .iter()
            .any(|o| origin.eq_ignore_ascii_case(o))
            || scheme_ok(origin)
                && host_ok
                && origin
                    .split_once("://")
                    .is_some_and(|(_, a)| a.eq_ignore_ascii_case(host))
    };
    let referer_ok = |url: &str| {
        let allowed = policy.allowed.iter().any(|o| {
            url.get(..o.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(o))
                && url[o.len()..].starts_with('/')
        });
        allowed
            || scheme_ok(url)
                && host_ok
                && authority_of(url).is_some_and(|a| a.eq_ignore_ascii_case(host))
    };
    // The presence of an Origin decides, even when it cannot be read.
    if let Some(origin) = headers.get(ORIGIN) {
        return match origin.to_str() {
            Ok(o) if origin_ok(o) => Ok(()),
            _ => Err("its Origin is not pgpanel"),
        };
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(SEC_FETCH_SITE) {
        return if site == "same-origin" && (!policy.loopback_only || is_loopback_host(host)) {
            Ok(())
        } else {
            Err("the browser says it comes from another site (Sec-Fetch-Site)")
        };
    }
    if let Some(referer) = text(REFERER) {
        return if referer_ok(referer) {
            Ok(())
        } else {
            Err("its Referer is not pgpanel")
        };
    }
    Err("it carries no Origin, Sec-Fetch-Site or Referer header")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn origins() {
        let open = OriginPolicy::default();
        let check = |pairs: &[(&str, &str)], policy: &OriginPolicy| {
            let h = headers(pairs);
            let host = h
                .get("host")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            check_origin(&h, host.as_deref(), policy).is_ok()
        };
        let ok = |pairs: &[(&str, &str)]| check(pairs, &open);
        let host = ("host", "pgpanel.local:3000");
        assert!(ok(&[host, ("origin", "http://pgpanel.local:3000")]));
        assert!(ok(&[host, ("origin", "https://PGPANEL.local:3000")]));
        assert!(!ok(&[host, ("origin", "http://evil.example")]));
        assert!(!ok(&[
            host,
            ("origin", "http://pgpanel.local:3000.evil.example")
        ]));
        assert!(!ok(&[host, ("origin", "ftp://pgpanel.local:3000")]));
        assert!(!ok(&[host, ("origin", "null")]));
        // An Origin is scheme://host[:port] exactly: no path, no trailing slash.
        assert!(!ok(&[host, ("origin", "http://pgpanel.local:3000/")]));
        assert!(!ok(&[host, ("origin", "http://pgpanel.local:3000/users")]));
        // Origin wins over a friendly Sec-Fetch-Site.
        assert!(!ok(&[
            host,
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "same-origin")
        ]));
        assert!(ok(&[host, ("sec-fetch-site", "same-origin")]));
        assert!(!ok(&[host, ("sec-fetch-site", "cross-site")]));
        assert!(!ok(&[host, ("sec-fetch-site", "same-site")]));
        assert!(ok(&[
            host,
            ("referer", "http://pgpanel.local:3000/users?x=1")
        ]));
        assert!(!ok(&[
            host,
            ("referer", "http://evil.example/pgpanel.local:3000")
        ]));
        assert!(!ok(&[host]));
        assert!(!ok(&[("origin", "http://pgpanel.local:3000")]));

        // An unreadable Origin is still an Origin: no falling back to Sec-Fetch-Site.
        let mut h = headers(&[host, ("sec-fetch-site", "same-origin")]);
        h.insert(
            ORIGIN,
            HeaderValue::from_bytes(b"http://\xffevil").expect("bytes"),
        );
        assert!(check_origin(&h, Some("pgpanel.local:3000"), &open).is_err());

        let tls = OriginPolicy {
            require_https: true,
            ..OriginPolicy::default()
        };
        assert!(check(
            &[host, ("origin", "https://pgpanel.local:3000")],
            &tls
        ));
        assert!(!check(
            &[host, ("origin", "http://pgpanel.local:3000")],
            &tls
        ));

        // Loopback listener: a rebound name is not pgpanel, even when Host and Origin agree.
        let local = OriginPolicy {
            loopback_only: true,
            ..OriginPolicy::default()
        };
        assert!(check(
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ],
            &local
        ));
        assert!(check(
            &[
                ("host", "localhost:3000"),
                ("origin", "http://localhost:3000")
            ],
            &local
        ));
        assert!(check(
            &[("host", "[::1]:3000"), ("origin", "http://[::1]:3000")],
            &local
        ));
        assert!(!check(
            &[
                ("host", "evil.example:3000"),
                ("origin", "http://evil.example:3000")
            ],
            &local
        ));
        assert!(!check(
            &[
                ("host", "evil.example:3000"),
                ("sec-fetch-site", "same-origin")
            ],
            &local
        ));

        let allowed = OriginPolicy {
            allowed: vec!["https://dash.example.com".to_owned()],
            loopback_only: true,
            ..OriginPolicy::default()
        };
        assert!(check(
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://dash.example.com")
            ],
            &allowed
        ));
        assert!(!check(
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://dash.example.com.evil")
            ],
            &allowed
        ));
    }

    #[test]
    fn hosts() {
        let p = OriginPolicy {
            hosts: vec!["pgpanel.example.com".to_owned()],
            ..OriginPolicy::default()
        };
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "[::1]:3000",
            "10.1.2.3:3000",
            "[fd00::1]",
            "pgpanel.example.com",
            "PGPANEL.example.com:443",
        ] {
            assert!(host_allowed(ok, &p), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:3000",
            "pgpanel.example.com.evil",
        ] {
            assert!(!host_allowed(bad, &p), "{bad}");
        }
    }
}
