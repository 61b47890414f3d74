//! E-mail verification PINs: a 6-digit PIN mailed to the address a citizen gives, hashed by
//! [`Links`] and kept an hour, with a bounded number of requests and of wrong guesses.

use super::PortalError;
use crate::clock::Now;
use crate::services::ServiceError;
use crate::services::links::Links;
use crate::store::{Db, mail};

/// PINs a session, or an address, may ask for per hour.
pub const PINS_PER_HOUR: i64 = 5;
/// Wrong guesses that kill a PIN.
pub const PIN_ATTEMPTS: i64 = 5;

/// Issues a 6-digit PIN for `email` and queues the mail `compose(pin)` = (subject, body) in the same
/// transaction. Refused past [`PINS_PER_HOUR`] per session or per address.
pub fn issue_pin(
    db: &Db,
    links: &Links,
    session_hash: &str,
    email: &str,
    now: Now,
    compose: impl FnOnce(&str) -> (String, String),
) -> Result<(), PortalError> {
    let email = email.trim().to_lowercase();
    let iso = now.iso();
    let hour_ago = crate::clock::iso(now.instant() - jiff::SignedDuration::from_hours(1));
    let expires = crate::clock::iso(now.instant() + jiff::SignedDuration::from_hours(1));
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    let pin = format!("{:06}", u32::from_le_bytes(random) % 1_000_000);
    let pin_hash = links.pin_hash(session_hash, &email, &pin);
    let (subject, body) = compose(&pin);
    db.write(|tx| {
        let (by_session, by_email) = mail::count_pins_since(tx, session_hash, &email, &hour_ago)?;
        if by_session >= PINS_PER_HOUR || by_email >= PINS_PER_HOUR {
            return Err(PortalError::PinRateLimited);
        }
        mail::insert_pin(tx, session_hash, &email, &pin_hash, &iso, &expires)?;
        mail::insert_mail(tx, &email, &subject, &body, &iso)?;
        Ok(())
    })
}

/// Checks the PIN typed for the session's latest request; a right PIN is used up.
pub fn check_pin(db: &Db, links: &Links, session_hash: &str, pin: &str, now: Now) -> Result<String, PortalError> {
    let iso = now.iso();
    db.write(|tx| {
        let Some(record) = mail::find_latest_pin(tx, session_hash)? else {
            return Err(PortalError::PinWrong);
        };
        if record.used_at.is_some() {
            return Err(PortalError::PinUsed);
        }
        if record.expires_at.as_str() <= iso.as_str() {
            return Err(PortalError::PinExpired);
        }
        if record.attempts >= PIN_ATTEMPTS {
            return Err(PortalError::PinDead);
        }
        if !links.verify_pin(session_hash, &record.email, pin.trim(), &record.pin_hash) {
            mail::update_pin_attempt(tx, record.id)?;
            return Err(PortalError::PinWrong);
        }
        mail::update_pin_used(tx, record.id, &iso)?;
        Ok(record.email)
    })
}
