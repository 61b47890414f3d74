//! Who may call the SIL web services (reference/mypay.md §4.1): an org in production
//! (`ESERCIZIO`) with its SIL password, checked in MyPay's order, whose adhesion mode is `ente`, and the cache that spares a busy
//! SIL an argon2id verification on every call. The SIL adapter maps each refusal to its fault.
//!
//! Guessing is bounded: after [`MAX_FAILURES`] wrong passwords for one org from one client
//! address within [`FAILURE_WINDOW`], that address is refused for the org, without a look at the
//! password, until the window has passed. Keyed by address too, so that an attacker elsewhere
//! cannot lock the municipality's own SIL out. Kept in memory: a restart forgets it, which only
//! gives a guesser one more window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::SilError;
use crate::domain::OrgState;
use crate::domain::adhesion::Channel;
use crate::services::admin::adhesion;
use crate::services::admin::passwords;
use crate::store::Db;
use crate::store::orgs::{self, OrgRecord};

/// Wrong passwords allowed for one org from one address within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 10;
/// How long wrong passwords are remembered.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Who is guessing: an org's IPA code and the client address.
type Caller = (String, Option<IpAddr>);

/// SIL passwords already verified (the SHA-256 of the password that matched each stored hash; a
/// changed password has a new hash and misses the cache), and recent wrong passwords per org and
/// client address.
#[derive(Default)]
pub struct PasswordCache {
    verified: Mutex<HashMap<String, [u8; 32]>>,
    failures: Mutex<HashMap<Caller, (u32, Instant)>>,
}

impl PasswordCache {
    const MAX: usize = 4096;

    /// Whether `ipa` is refused to `peer` for now.
    fn throttled(&self, ipa: &str, peer: Option<IpAddr>) -> bool {
        let Ok(map) = self.failures.lock() else { return false };
        map.get(&(ipa.to_owned(), peer))
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
    }

    /// Counts a wrong password (a new window once the last one has passed).
    fn failed(&self, ipa: &str, peer: Option<IpAddr>) {
        let Ok(mut map) = self.failures.lock() else { return };
        if map.len() >= Self::MAX {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if map.len() >= Self::MAX {
                map.clear();
            }
        }
        let entry = map.entry((ipa.to_owned(), peer)).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 = entry.0.saturating_add(1);
    }

    fn succeeded(&self, ipa: &str, peer: Option<IpAddr>) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&(ipa.to_owned(), peer));
        }
    }

    fn verify(&self, password: &str, phc: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        if let Ok(map) = self.verified.lock()
            && map.get(phc).is_some_and(|known| known == &digest)
        {
            return true;
        }
        if !passwords::verify_password(password, phc) {
            return false;
        }
        if let Ok(mut map) = self.verified.lock() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(phc.to_owned(), digest);
        }
        true
    }
}

/// The org `ipa` if it exists and is in production (`ESERCIZIO`).
pub fn org_in_production(db: &Db, ipa: &str) -> Result<OrgRecord, SilError> {
    let org = db.read(|conn| orgs::find_org_by_ipa(conn, ipa))?.ok_or_else(|| SilError::UnknownOrg(ipa.to_owned()))?;
    if org.state != OrgState::Production {
        return Err(SilError::NotInProduction { ipa: ipa.to_owned(), state: org.state });
    }
    Ok(org)
}

/// Checks, in MyPay's order, that `ipa` is an org, in production, and that `password` (trimmed)
/// is its SIL password; `peer`, the caller's address, bounds the guesses.
pub fn authenticate(
    db: &Db,
    cache: &PasswordCache,
    ipa: &str,
    password: Option<&str>,
    peer: Option<IpAddr>,
) -> Result<OrgRecord, SilError> {
    let org = org_in_production(db, ipa)?;
    if cache.throttled(ipa, peer) {
        return Err(SilError::Throttled(ipa.to_owned()));
    }
    let phc = db.read(|conn| orgs::find_sil_password_hash(conn, org.id))?;
    let password = password.map(str::trim).unwrap_or_default();
    match phc {
        Some(phc) if !password.is_empty() && cache.verify(password, &phc) => {
            cache.succeeded(ipa, peer);
            // After the password: a stranger learns nothing of an org's mode.
            adhesion::require(db, &org, Channel::Sil)?;
            Ok(org)
        }
        _ => {
            cache.failed(ipa, peer);
            tracing::warn!(target: "security", ipa, ?peer, "wrong SIL password");
            Err(SilError::BadPassword(ipa.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn guesses_are_bounded_per_org_and_address() {
        let cache = PasswordCache::default();
        let attacker = Some("192.0.2.7".parse().unwrap());
        let sil = Some("10.0.0.5".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert!(!cache.throttled("c_a", attacker));
            cache.failed("c_a", attacker);
        }
        assert!(cache.throttled("c_a", attacker));
        assert!(!cache.throttled("c_a", sil), "the municipality's own SIL is not locked out");
        assert!(!cache.throttled("c_b", attacker), "nor another org");
        cache.failed("c_a", sil);
        cache.succeeded("c_a", sil);
        assert!(!cache.throttled("c_a", sil));
    }
}
