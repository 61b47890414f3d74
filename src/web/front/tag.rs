//! What the front end tells the server about each request's connection, and the client address
//! behind trusted proxies.
//!
//! tiny_http reads every request from a unix socket, so it cannot see who connected. The front end
//! therefore adds one header line to every request head it forwards, the *tag*: a secret drawn at
//! start, the connection's id (for [`super::Front::responded`]), whether the connection may call
//! the station, and the TCP peer's address. Only the front end knows the secret, and it refuses a
//! head that already carries the header, so a client can neither forge a tag nor smuggle a request
//! past the front end with one: a request without a valid tag is refused by the server.
//!
//! [`client_address`] reads `X-Forwarded-For` when the TCP peer is one of `server.trusted_proxies`.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::net::IpRange;

/// The tag's header name, lower case as `server` sees header names.
pub const TAG_HEADER: &str = "x-mypay-front";

/// How many `X-Forwarded-For` hops are looked at, from the right: more proxies than this in front
/// of one server is not a configuration anyone runs, and the header is the client's to fill.
const MAX_HOPS: usize = 32;

/// What the front end knows about a request's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The connection's id in the front end.
    pub connection: u64,
    /// The connection may call the station (`config::NodeAuth`).
    pub node_trusted: bool,
    /// The TCP peer: the client itself, or the proxy in front of it.
    pub peer: IpAddr,
}

/// The secret that makes a tag the front end's own: 128 random bits, as 32 hex digits.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> std::io::Result<Secret> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|err| std::io::Error::other(format!("no randomness: {err}")))?;
        Ok(Secret::from_bytes(bytes))
    }

    fn from_bytes(bytes: [u8; 16]) -> Secret {
        let mut hex = String::with_capacity(32);
        for byte in bytes {
            let _ = write!(hex, "{byte:02x}");
        }
        Secret(hex)
    }

    /// The header line (with its CRLF) the front end puts in every head of a connection.
    pub fn line(&self, tag: &Tag) -> Vec<u8> {
        let node = if tag.node_trusted { 1 } else { 0 };
        format!("X-Mypay-Front: {} {} {node} {}\r\n", self.0, tag.connection, tag.peer).into_bytes()
    }

    /// The tag in a header value, if it carries this secret and is well formed.
    pub fn verify(&self, value: &str) -> Option<Tag> {
        let mut parts = value.split(' ');
        let secret = parts.next()?;
        if !same(secret.as_bytes(), self.0.as_bytes()) {
            return None;
        }
        let connection = parts.next()?.parse().ok()?;
        let node_trusted = match parts.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let peer = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Tag { connection, node_trusted, peer })
    }
}

/// Compares without stopping at the first difference, so that the time taken says nothing about
/// how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The address of the client behind `peer`. When `peer` is a trusted proxy, the `X-Forwarded-For`
/// values (every such header, in order) are read from the right: each proxy appends the address
/// it saw, so the first address that is not a trusted proxy is the client; what lies to its left
/// came from the client and is not believed. When every hop is trusted (a proxy's own health
/// check), the leftmost one is the client; an unreadable hop ends the walk at the last trusted one.
/// Otherwise `peer` is the client, whatever the header says.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpRange]) -> IpAddr {
    if !crate::net::any_contains(trusted, peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for.iter().rev().flat_map(|value| value.rsplit(',')).take(MAX_HOPS);
    for hop in hops {
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !crate::net::any_contains(trusted, ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` element: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`) as some balancers write it.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn ranges(list: &[&str]) -> Vec<IpRange> {
        list.iter().map(|r| IpRange::parse(r).unwrap()).collect()
    }

    #[test]
    fn a_tag_round_trips_and_needs_the_secret() {
        let secret = Secret::from_bytes([7; 16]);
        let tag = Tag { connection: 42, node_trusted: true, peer: ip("2001:db8::1") };
        let line = String::from_utf8(secret.line(&tag)).unwrap();
        assert!(line.starts_with("X-Mypay-Front: 0707") && line.ends_with("\r\n"), "{line}");
        let value = line.trim_end().split_once(": ").unwrap().1;
        assert_eq!(secret.verify(value), Some(tag));
        let other = Secret::from_bytes([8; 16]);
        assert_eq!(other.verify(value), None, "another secret");
        for forged in ["", "07 1 1 10.0.0.1", &value.replace(" 1 2001", " 2 2001"), &format!("{value} x")] {
            assert_eq!(secret.verify(forged), None, "{forged}");
        }
        assert_ne!(Secret::generate().unwrap().0, Secret::generate().unwrap().0);
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn forwarded_for_is_read_only_from_a_trusted_proxy() {
        let lb = ranges(&["10.0.0.0/24"]);
        // An untrusted peer: the header is the client's own words.
        assert_eq!(client_address(ip("192.0.2.7"), &["198.51.100.1"], &lb), ip("192.0.2.7"));
        assert_eq!(client_address(ip("192.0.2.7"), &["198.51.100.1"], &[]), ip("192.0.2.7"));
        // Through the balancer: the rightmost hop the balancer appended.
        assert_eq!(client_address(ip("10.0.0.5"), &["198.51.100.1"], &lb), ip("198.51.100.1"));
        // A client-supplied prefix is ignored: the rightmost untrusted hop wins.
        assert_eq!(client_address(ip("10.0.0.5"), &["6.6.6.6, 198.51.100.1"], &lb), ip("198.51.100.1"));
        // Two trusted proxies in a row, over two header lines.
        assert_eq!(client_address(ip("10.0.0.5"), &["6.6.6.6, 198.51.100.1", "10.0.0.9"], &lb), ip("198.51.100.1"));
        // Ports and brackets, as some balancers write them; IPv6.
        assert_eq!(client_address(ip("10.0.0.5"), &["198.51.100.1:4711"], &lb), ip("198.51.100.1"));
        assert_eq!(client_address(ip("10.0.0.5"), &["[2001:db8::1]:4711"], &lb), ip("2001:db8::1"));
        assert_eq!(client_address(ip("10.0.0.5"), &[" 2001:db8::2 "], &lb), ip("2001:db8::2"));
        // No header, or only trusted hops (the balancer's health check): the leftmost trusted hop.
        assert_eq!(client_address(ip("10.0.0.5"), &[], &lb), ip("10.0.0.5"));
        assert_eq!(client_address(ip("10.0.0.5"), &["10.0.0.8, 10.0.0.9"], &lb), ip("10.0.0.8"));
        // An unreadable hop stops the walk at the last trusted address seen.
        assert_eq!(client_address(ip("10.0.0.5"), &["198.51.100.1, unknown, 10.0.0.9"], &lb), ip("10.0.0.9"));
        assert_eq!(client_address(ip("10.0.0.5"), &["unknown"], &lb), ip("10.0.0.5"));
        assert_eq!(client_address(ip("10.0.0.5"), &[""], &lb), ip("10.0.0.5"));
        // IPv4-mapped peers count as IPv4 for the trust check.
        assert_eq!(client_address(ip("::ffff:10.0.0.5"), &["198.51.100.1"], &lb), ip("198.51.100.1"));
    }

    #[test]
    fn a_long_forwarded_for_is_read_only_so_far() {
        let everyone = ranges(&["0.0.0.0/0"]);
        let long: String = (0..100).map(|i| format!("10.1.0.{i}")).collect::<Vec<_>>().join(",");
        // Every hop trusted: the walk stops after MAX_HOPS hops from the right.
        assert_eq!(client_address(ip("10.0.0.5"), &[&long], &everyone), ip("10.1.0.68"));
    }
}
