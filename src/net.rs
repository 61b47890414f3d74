//! IP address ranges as the configuration writes them (`10.1.2.3`, `10.1.2.0/24`, `2001:db8::/32`):
//! the addresses allowed to call the station; and where this machine is reached (a socket bound to
//! all interfaces, the machine's own network addresses), for the demo and the health check.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// One address or a CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// Parses `addr` or `addr/prefix`; bits of the address past the prefix must be zero, so that
    /// `10.1.2.3/24` (a typo for a single address or for `10.1.2.0/24`) is refused.
    pub fn parse(text: &str) -> Result<IpRange, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| format!("{text:?} is not an IP address or a CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        let range = IpRange { network, prefix };
        if range.masked(network) != bits(network) {
            return Err(format!("{text:?}: the address has bits set past /{prefix}"));
        }
        Ok(range)
    }

    /// Whether `ip` is in the range. An IPv4 address seen as IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
    /// what a dual-stack socket reports) counts as the IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ip.is_ipv4() == self.network.is_ipv4() && self.masked(ip) == bits(self.network)
    }

    fn masked(&self, ip: IpAddr) -> u128 {
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let host_bits = u32::from(width - self.prefix.min(width));
        let mask = if host_bits >= 128 { 0 } else { u128::MAX << host_bits };
        bits(ip) & mask
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.network.is_ipv4() { 32 } else { 128 };
        if self.prefix == max { write!(f, "{}", self.network) } else { write!(f, "{}/{}", self.network, self.prefix) }
    }
}

/// Whether any range of `ranges` contains `ip`.
pub fn any_contains(ranges: &[IpRange], ip: IpAddr) -> bool {
    ranges.iter().any(|r| r.contains(ip))
}

/// Where this machine reaches a socket bound to `addr`: an unspecified address (all interfaces)
/// on loopback.
pub fn reachable_here(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

/// The machine's own network addresses that other machines may reach, IPv4 first: the source
/// address the system would use towards a documentation address (RFC 5737, RFC 3849), learnt by
/// connecting a UDP socket, which sends nothing. Empty without a route (no network).
pub fn machine_addresses() -> Vec<IpAddr> {
    let probes: [(&str, &str); 2] = [("0.0.0.0:0", "192.0.2.1:9"), ("[::]:0", "[2001:db8::1]:9")];
    probes
        .iter()
        .filter_map(|(bind, towards)| {
            let socket = UdpSocket::bind(bind).ok()?;
            socket.connect(towards).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        assert_eq!(reachable_here("0.0.0.0:8080".parse().unwrap()).to_string(), "127.0.0.1:8080");
        assert_eq!(reachable_here("[::]:443".parse().unwrap()).to_string(), "[::1]:443");
        assert_eq!(reachable_here("10.0.0.5:8443".parse().unwrap()).to_string(), "10.0.0.5:8443");
    }

    #[test]
    fn machine_addresses_are_never_loopback() {
        assert!(machine_addresses().iter().all(|ip| !ip.is_loopback() && !ip.is_unspecified()));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn single_addresses_and_blocks() {
        let one = IpRange::parse("10.1.2.3").unwrap();
        assert!(one.contains(ip("10.1.2.3")) && !one.contains(ip("10.1.2.4")));
        let block = IpRange::parse("10.1.2.0/24").unwrap();
        assert!(block.contains(ip("10.1.2.200")) && !block.contains(ip("10.1.3.1")));
        assert!(block.contains(ip("::ffff:10.1.2.9")), "IPv4-mapped IPv6 counts as IPv4");
        let v6 = IpRange::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.1.2.3")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("192.0.2.1")));
        assert_eq!(block.to_string(), "10.1.2.0/24");
        assert_eq!(IpRange::parse(" ::1 ").unwrap().to_string(), "::1");
    }

    #[test]
    fn malformed_ranges_are_refused_with_a_reason() {
        for bad in ["", "pagopa.it", "10.1.2.0/33", "10.1.2.0/x", "10.1.2.3/24", "::1/129"] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
        assert!(IpRange::parse("10.1.2.3/24").unwrap_err().contains("bits set past /24"));
    }
}
