//! Who the client of a request is: the TCP peer, or, when the peer is a reverse proxy listed in
//! `http.trusted_proxies`, the address that proxy forwarded in `X-Forwarded-For`. The audit trail
//! and the sign-in throttling per address use it.
//!
//! The header is read from the right: each proxy appends the address it was connected from, so
//! the rightmost entries were written by trusted proxies and the first entry, from the right,
//! that is not a trusted proxy is the client. Anything to its left was sent by the client and is
//! ignored (a client cannot choose its own address by sending the header). An entry that is not
//! an address stops the walk: the last trusted hop is then the best that is known.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;

use app::features::auth::context::ClientInfo;

/// The networks whose connections may say who the client is.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

/// `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`: an address and its prefix length.
pub fn parse_network(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let addr: IpAddr = addr.trim().parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((addr.to_canonical(), bits))
}

fn in_network(ip: IpAddr, (net, bits): (IpAddr, u8)) -> bool {
    match (ip.to_canonical(), net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port (`[v6]:port`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<IpAddr>()
        .or_else(|_| s.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

impl TrustedProxies {
    /// Parses the configured list; the index of the first entry that is not a network.
    pub fn parse(list: &[String]) -> Result<Self, usize> {
        list.iter()
            .enumerate()
            .map(|(i, s)| parse_network(s).ok_or(i))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| in_network(ip, *n))
    }

    /// The client's address given the TCP peer and the request's `X-Forwarded-For` values (in
    /// the order they came).
    pub fn client_addr<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// Who sent `req`: its address (see the module) and its User-Agent, cut to 256 characters.
pub fn client_of(
    proxies: &TrustedProxies,
    headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
) -> ClientInfo {
    let addr = peer.map_or_else(
        || "unknown".to_owned(),
        |c| {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            proxies.client_addr(c.0.ip(), forwarded).to_string()
        },
    );
    let user_agent = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(256)
        .collect();
    ClientInfo { addr, user_agent }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("valid")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn networks_parse_with_or_without_a_prefix() {
        assert_eq!(parse_network("10.0.0.0/8"), Some((ip("10.0.0.0"), 8)));
        assert_eq!(parse_network("10.1.2.3"), Some((ip("10.1.2.3"), 32)));
        assert_eq!(parse_network("fd00::/8"), Some((ip("fd00::"), 8)));
        assert_eq!(parse_network("::1"), Some((ip("::1"), 128)));
        assert_eq!(parse_network("10.0.0.0/33"), None);
        assert_eq!(parse_network("proxy.local"), None);
        assert_eq!(parse_network("10.0.0.0/"), None);
        assert_eq!(
            TrustedProxies::parse(&["10.0.0.1".into(), "x".into()]).err(),
            Some(1)
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client_addr(ip("192.0.2.9"), ["203.0.113.7"].into_iter()),
            ip("192.0.2.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_addr(ip("127.0.0.1"), ["203.0.113.7"].into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        // One proxy.
        assert_eq!(
            p.client_addr(ip("10.0.0.2"), ["203.0.113.7"].into_iter()),
            ip("203.0.113.7")
        );
        // The client sent its own header: what it wrote is on the left, ignored.
        assert_eq!(
            p.client_addr(ip("10.0.0.2"), ["1.1.1.1, 203.0.113.7"].into_iter()),
            ip("203.0.113.7")
        );
        // Two proxies, the header in two lines, a port and an IPv4-mapped peer.
        assert_eq!(
            p.client_addr(
                ip("::ffff:127.0.0.1"),
                ["198.51.100.4:5123", " 10.0.0.3"].into_iter()
            ),
            ip("198.51.100.4")
        );
        assert_eq!(
            p.client_addr(ip("10.0.0.2"), ["[2001:db8::1]:443"].into_iter()),
            ip("2001:db8::1")
        );
        // No header: the proxy itself.
        assert_eq!(
            p.client_addr(ip("10.0.0.2"), std::iter::empty()),
            ip("10.0.0.2")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            p.client_addr(ip("10.0.0.2"), ["203.0.113.7, junk, 10.0.0.3"].into_iter()),
            ip("10.0.0.3")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            p.client_addr(ip("10.0.0.2"), ["10.0.0.9, 10.0.0.3"].into_iter()),
            ip("10.0.0.9")
        );
    }
}
