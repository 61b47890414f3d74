//! Who may call the SIL web services (reference/mypay.md §4.1): an org in production
//! (`ESERCIZIO`) with its SIL password, checked in MyPay's order, and the cache that spares a busy
//! SIL an argon2id verification on every call. The SIL adapter maps each refusal to its fault.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::passwords;
use crate::domain::OrgState;
use crate::store::orgs::{self, OrgRecord};
use crate::store::{Db, StoreError};

/// Why a SIL caller was refused.
#[derive(Debug, thiserror::Error)]
pub enum SilAccessError {
    #[error("org {0} is unknown")]
    UnknownOrg(String),
    /// The org exists but is not in production.
    #[error("org {ipa} is in state {state}")]
    NotInProduction { ipa: String, state: OrgState },
    #[error("wrong SIL password for org {0}")]
    BadPassword(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// SIL passwords already verified: the SHA-256 of the password that matched each stored hash. A
/// changed password has a new hash and misses the cache.
#[derive(Default)]
pub struct PasswordCache {
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

impl PasswordCache {
    const MAX: usize = 4096;

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
pub fn org_in_production(db: &Db, ipa: &str) -> Result<OrgRecord, SilAccessError> {
    let org =
        db.read(|conn| orgs::find_org_by_ipa(conn, ipa))?.ok_or_else(|| SilAccessError::UnknownOrg(ipa.to_owned()))?;
    if org.state != OrgState::Production {
        return Err(SilAccessError::NotInProduction { ipa: ipa.to_owned(), state: org.state });
    }
    Ok(org)
}

/// Checks, in MyPay's order, that `ipa` is an org, in production, and that `password` (trimmed)
/// is its SIL password.
pub fn authenticate(
    db: &Db,
    cache: &PasswordCache,
    ipa: &str,
    password: Option<&str>,
) -> Result<OrgRecord, SilAccessError> {
    let org = org_in_production(db, ipa)?;
    let phc = db.read(|conn| orgs::find_sil_password_hash(conn, org.id))?;
    let password = password.map(str::trim).unwrap_or_default();
    match phc {
        Some(phc) if !password.is_empty() && cache.verify(password, &phc) => Ok(org),
        _ => Err(SilAccessError::BadPassword(ipa.to_owned())),
    }
}
