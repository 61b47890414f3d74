//! Connection budgets: how many connections the front end holds in each state, in total and per
//! client, so that no single address can take every slot. A [`Slot`] is held from admission to
//! release (its `Drop`), so a connection that ends in any way gives its slot back.
//!
//! Clients are counted by IPv4 address, or by IPv6 /64 (one subscriber's usual allocation: counting
//! single IPv6 addresses would give one attacker 2^64 budgets). Connections from a configured
//! trusted proxy (`server.trusted_proxies`) carry many clients and count in the totals only.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::net::IpRange;

/// What a slot is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A TLS connection still handshaking: its own, smaller budget, so that handshakes never hold
    /// a slot an established connection needs.
    Handshake,
    /// An established connection (plain HTTP from accept, TLS after its handshake).
    Connection,
    /// A connection attached to tiny_http (one thread there) while it has requests in flight.
    Attached,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::Handshake => 0,
            Kind::Connection => 1,
            Kind::Attached => 2,
        }
    }
}

/// The numbers, in total and per client, for each [`Kind`].
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    pub total: [usize; 3],
    pub per_client: [u32; 3],
}

impl Budgets {
    fn total(&self, kind: Kind) -> usize {
        self.total.get(kind.index()).copied().unwrap_or(0)
    }
    fn per_client(&self, kind: Kind) -> u32 {
        self.per_client.get(kind.index()).copied().unwrap_or(0)
    }
}

/// Why a slot was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot of the kind is taken.
    Total,
    /// The client holds its share.
    PerClient,
}

/// Who a client is, for the per-client budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(Ipv4Addr),
    /// The /64 prefix.
    V6(u64),
}

impl ClientKey {
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4),
                None => ClientKey::V6(u64::try_from(u128::from(v6) >> 64).unwrap_or(u64::MAX)),
            },
        }
    }
}

/// The shared counters.
#[derive(Debug)]
pub struct Caps {
    budgets: Budgets,
    proxies: Vec<IpRange>,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: [usize; 3],
    clients: HashMap<ClientKey, [u32; 3]>,
}

/// A slot held; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    caps: Arc<Caps>,
    kind: Kind,
    /// `None` for a trusted proxy's connection (totals only).
    client: Option<ClientKey>,
}

impl Caps {
    pub fn new(budgets: Budgets, proxies: Vec<IpRange>) -> Arc<Caps> {
        Arc::new(Caps { budgets, proxies, counts: Mutex::new(Counts::default()) })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Each critical section is a few additions: the counts stay consistent even if a thread
        // panicked while holding the lock.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a slot of `kind` for a connection from `ip`.
    pub fn take(self: &Arc<Caps>, ip: IpAddr, kind: Kind) -> Result<Slot, Refused> {
        let client = (!crate::net::any_contains(&self.proxies, ip)).then(|| ClientKey::of(ip));
        let i = kind.index();
        let mut counts = self.counts();
        let total = counts.total.get(i).copied().unwrap_or(0);
        if total >= self.budgets.total(kind) {
            return Err(Refused::Total);
        }
        if let Some(key) = client {
            let held = counts.clients.entry(key).or_default();
            let mine = held.get_mut(i).ok_or(Refused::Total)?;
            if *mine >= self.budgets.per_client(kind) {
                let idle = held.iter().all(|n| *n == 0);
                if idle {
                    counts.clients.remove(&key);
                }
                return Err(Refused::PerClient);
            }
            *mine = mine.saturating_add(1);
        }
        if let Some(total) = counts.total.get_mut(i) {
            *total = total.saturating_add(1);
        }
        Ok(Slot { caps: Arc::clone(self), kind, client })
    }

    /// Slots held now, by kind (handshakes, connections, attached).
    #[cfg(test)]
    pub fn held(&self) -> [usize; 3] {
        self.counts().total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let i = self.kind.index();
        let mut counts = self.caps.counts();
        if let Some(total) = counts.total.get_mut(i) {
            *total = total.saturating_sub(1);
        }
        if let Some(key) = self.client {
            let empty = match counts.clients.get_mut(&key) {
                Some(held) => {
                    if let Some(mine) = held.get_mut(i) {
                        *mine = mine.saturating_sub(1);
                    }
                    held.iter().all(|n| *n == 0)
                }
                None => false,
            };
            if empty {
                counts.clients.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn caps() -> Arc<Caps> {
        Caps::new(Budgets { total: [2, 4, 1], per_client: [1, 2, 1] }, vec![IpRange::parse("10.0.0.1").unwrap()])
    }

    #[test]
    fn per_client_then_total() {
        let caps = caps();
        let a1 = caps.take(ip("192.0.2.1"), Kind::Connection).unwrap();
        let _a2 = caps.take(ip("192.0.2.1"), Kind::Connection).unwrap();
        assert_eq!(caps.take(ip("192.0.2.1"), Kind::Connection).unwrap_err(), Refused::PerClient);
        assert_eq!(caps.take(ip("::ffff:192.0.2.1"), Kind::Connection).unwrap_err(), Refused::PerClient);
        let _b1 = caps.take(ip("192.0.2.2"), Kind::Connection).unwrap();
        let _b2 = caps.take(ip("192.0.2.2"), Kind::Connection).unwrap();
        assert_eq!(caps.take(ip("192.0.2.3"), Kind::Connection).unwrap_err(), Refused::Total);
        drop(a1);
        assert_eq!(caps.held(), [0, 3, 0]);
        let _c = caps.take(ip("192.0.2.3"), Kind::Connection).unwrap();
        // Other kinds have budgets of their own.
        let _h = caps.take(ip("192.0.2.1"), Kind::Handshake).unwrap();
        assert_eq!(caps.take(ip("192.0.2.1"), Kind::Handshake).unwrap_err(), Refused::PerClient);
    }

    #[test]
    fn a_trusted_proxy_counts_in_the_totals_only() {
        let caps = caps();
        let held: Vec<Slot> = (0..4).map(|_| caps.take(ip("10.0.0.1"), Kind::Connection).unwrap()).collect();
        assert_eq!(caps.take(ip("10.0.0.1"), Kind::Connection).unwrap_err(), Refused::Total);
        drop(held);
        assert_eq!(caps.held(), [0, 0, 0]);
        assert!(caps.counts().clients.is_empty(), "nothing left behind");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(ClientKey::of(ip("2001:db8:1:2::1")), ClientKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(ClientKey::of(ip("::ffff:192.0.2.1")), ClientKey::of(ip("192.0.2.1")));
        let caps = caps();
        let _a = caps.take(ip("2001:db8::1"), Kind::Handshake).unwrap();
        assert_eq!(caps.take(ip("2001:db8::2"), Kind::Handshake).unwrap_err(), Refused::PerClient);
    }
}
