//! Server-side sessions: a random 256-bit id in a cookie (`HttpOnly; SameSite=Lax; Path=/`, plus
//! `Secure` when the public URL is https), its SHA-256 in the `session` table with a CSRF token, the
//! logged-in citizen and the web state ([`SessionData`]: cart, flash messages, verified e-mail).
//!
//! Sessions expire after [`IDLE_MINUTES`] without use; a login rotates the id
//! ([`Session::rotate`]) so a cookie planted before the login is worthless after it.
//! **Invariant:** the cookie value is never stored or logged; only this module reads the cookie.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AppState;
use super::router::Request;
use crate::clock::Now;
use crate::config::HttpUrl;
use crate::services::ServiceError;
use crate::services::admin::operators;
use crate::services::ids;
use crate::services::portal::carts::CartLine;
use crate::services::sessions::{self, SessionRecord};

/// The cookie's name.
pub const COOKIE: &str = "mypay_sid";
/// Idle lifetime.
pub const IDLE_MINUTES: i64 = 60;

/// The web layer's state kept in a session.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SessionData {
    /// The cart: (org fiscal code, notice number), at most five.
    pub cart: Vec<(String, String)>,
    /// Messages shown once on the next page: (kind, text), kind is a Bootstrap alert colour.
    pub flash: Vec<(String, String)>,
    /// An anonymous payer's address, verified by PIN.
    pub verified_email: Option<String>,
    /// The address a PIN was sent to, waiting for the PIN.
    pub pending_email: Option<String>,
    /// The back-office operator logged in on this session (roles are read afresh on every request).
    pub operator: Option<String>,
    /// The operator's password stamp at login (`services::admin::operators::password_stamp`): a password
    /// changed or reset since ends this session.
    pub operator_stamp: Option<String>,
    /// What the citizen last typed as a payment's debtor (form field, value): offered again in the
    /// next spontaneous form, and its e-mail in the cart, so nothing is asked twice.
    pub typed_debtor: Vec<(String, String)>,
    /// Where a citizen goes back after logging in (a path of this portal, e.g. `/carrello`), so
    /// the cart they were filling is where the login ends.
    pub after_login: Option<String>,
    /// The org fiscal code last typed to look a notice up.
    pub typed_org: Option<String>,
    /// An OpenID Connect login started and not finished: state, nonce and PKCE verifier, used once.
    pub oidc: Option<crate::oidc::Pending>,
}

/// The logged-in citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    pub fiscal_code: String,
    pub name: String,
    pub email: Option<String>,
    pub method: String,
}

/// The current request's session.
#[derive(Debug, Clone)]
pub struct Session {
    record: SessionRecord,
    pub data: SessionData,
    /// A cookie value to send (new or rotated session).
    new_cookie: Option<String>,
    dirty: bool,
    /// The CSRF token went into a page: a new session must then be stored.
    issued: std::cell::Cell<bool>,
}

fn hash(cookie: &str) -> String {
    Sha256::digest(cookie.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn expiry(now: Now) -> String {
    crate::clock::iso(now.instant() + jiff::SignedDuration::from_mins(IDLE_MINUTES))
}

/// The value of our cookie in a `Cookie` header.
fn cookie_value<'a>(request: &'a Request<'_>) -> Option<&'a str> {
    request.headers.iter().filter(|(n, _)| n == "cookie").find_map(|(_, v)| {
        v.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
    })
}

/// The debtor's fields of the spontaneous form that [`SessionData::typed_debtor`] keeps.
pub const DEBTOR_FIELDS: [&str; 8] =
    ["tipo_soggetto", "codice_fiscale", "anagrafica", "indirizzo", "cap", "localita", "provincia", "email"];

impl SessionData {
    /// The e-mail the citizen last typed in a form, if any.
    pub fn typed_email(&self) -> Option<&str> {
        self.typed_debtor.iter().find(|(n, v)| n == "email" && !v.is_empty()).map(|(_, v)| v.as_str())
    }
}

impl Session {
    /// The request's live session, or a new one (stored when [`Session::save`] runs).
    pub fn load(state: &AppState, request: &Request<'_>, now: Now) -> Result<Session, ServiceError> {
        let iso = now.iso();
        if let Some(cookie) =
            cookie_value(request).filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
            && let Some(record) = sessions::find_live(&state.db, &hash(cookie), now)?
        {
            let data = serde_json::from_str(&record.data_json).unwrap_or_default();
            // Move the expiry forward at most once a minute, so reading pages costs no write.
            let dirty = record.last_seen_at.get(..16) != iso.get(..16);
            return Ok(Session { record, data, new_cookie: None, dirty, issued: Default::default() });
        }
        Session::fresh(now)
    }

    fn fresh(now: Now) -> Result<Session, ServiceError> {
        let random = |n| ids::random_hex(n).map_err(|e| ServiceError::Internal(format!("session: {e}")));
        let cookie = random(32)?;
        let iso = now.iso();
        let record = SessionRecord {
            id_hash: hash(&cookie),
            csrf_token: random(32)?,
            data_json: "{}".to_owned(),
            created_at: iso.clone(),
            last_seen_at: iso,
            expires_at: expiry(now),
            ..SessionRecord::default()
        };
        Ok(Session {
            record,
            data: SessionData::default(),
            new_cookie: Some(cookie),
            dirty: false,
            issued: Default::default(),
        })
    }

    /// No live session came with the request (or it was replaced since): a form cannot carry
    /// this session's CSRF token yet.
    pub fn is_fresh(&self) -> bool {
        self.new_cookie.is_some()
    }

    /// The SHA-256 of the id: what carts and PINs are tied to.
    pub fn id_hash(&self) -> &str {
        &self.record.id_hash
    }

    /// The CSRF token, for a form; using it makes a new session worth storing.
    pub fn csrf_token(&self) -> &str {
        self.issued.set(true);
        &self.record.csrf_token
    }

    /// Compares a submitted CSRF token in constant time.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        let expected = self.record.csrf_token.as_bytes();
        let given = submitted.as_bytes();
        expected.len() == given.len() && expected.iter().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn citizen(&self) -> Option<Citizen> {
        Some(Citizen {
            fiscal_code: self.record.citizen_id.clone()?,
            name: self.record.citizen_name.clone().unwrap_or_default(),
            email: self.record.citizen_email.clone(),
            method: self.record.auth_method.clone().unwrap_or_default(),
        })
    }

    /// Logs a citizen in: a new id (rotation), the old row deleted.
    pub fn login(&mut self, state: &AppState, citizen: &Citizen, now: Now) -> Result<(), ServiceError> {
        let old = self.record.id_hash.clone();
        let mut fresh = Session::fresh(now)?;
        fresh.data = std::mem::take(&mut self.data);
        fresh.record.citizen_id = Some(citizen.fiscal_code.clone());
        fresh.record.citizen_name = Some(citizen.name.clone());
        fresh.record.citizen_email = citizen.email.clone();
        fresh.record.auth_method = Some(citizen.method.clone());
        if self.new_cookie.is_none() {
            sessions::end(&state.db, &old)?;
        }
        *self = fresh;
        self.dirty = true;
        Ok(())
    }

    /// Logs out: the row is deleted and a fresh anonymous session takes its place.
    pub fn logout(&mut self, state: &AppState, now: Now) -> Result<(), ServiceError> {
        if self.new_cookie.is_none() {
            let old = self.record.id_hash.clone();
            sessions::end(&state.db, &old)?;
        }
        *self = Session::fresh(now)?;
        Ok(())
    }

    /// Logs an operator in: a new id (rotation), the old row deleted, nothing of the old state kept.
    pub fn login_operator(&mut self, state: &AppState, username: &str, now: Now) -> Result<(), ServiceError> {
        if self.new_cookie.is_none() {
            let old = self.record.id_hash.clone();
            sessions::end(&state.db, &old)?;
        }
        *self = Session::fresh(now)?;
        self.data.operator = Some(username.to_owned());
        self.data.operator_stamp = operators::password_stamp(&state.db, username)?;
        self.dirty = true;
        Ok(())
    }

    /// The password stamp the operator of this session logged in with.
    pub fn operator_stamp(&self) -> Option<&str> {
        self.data.operator_stamp.as_deref()
    }

    /// Keeps this session's operator logged in past a change of their own password made here.
    pub fn renew_operator(&mut self, state: &AppState) -> Result<(), ServiceError> {
        if let Some(username) = self.data.operator.clone() {
            self.data.operator_stamp = operators::password_stamp(&state.db, &username)?;
            self.dirty = true;
        }
        Ok(())
    }

    /// Forgets the operator (their password changed, or they were disabled): the next operator
    /// page asks for a login.
    pub fn forget_operator(&mut self) {
        self.data.operator = None;
        self.data.operator_stamp = None;
        self.dirty = true;
    }

    /// The logged-in operator's username.
    pub fn operator(&self) -> Option<&str> {
        self.data.operator.as_deref()
    }

    /// Changes the citizen's profile e-mail.
    pub fn set_citizen_email(&mut self, email: Option<String>) {
        self.record.citizen_email = email;
        self.dirty = true;
    }

    /// Queues a message for the next page.
    pub fn flash(&mut self, kind: &str, text: impl Into<String>) {
        self.data.flash.push((kind.to_owned(), text.into()));
        self.dirty = true;
    }

    /// Takes the queued messages.
    pub fn take_flash(&mut self) -> Vec<(String, String)> {
        if self.data.flash.is_empty() {
            return Vec::new();
        }
        self.dirty = true;
        std::mem::take(&mut self.data.flash)
    }

    /// Marks the data as changed.
    pub fn touch(&mut self) {
        self.dirty = true;
    }

    /// The cart as service lines.
    pub fn cart_lines(&self) -> Vec<CartLine> {
        self.data
            .cart
            .iter()
            .map(|(org, notice)| CartLine { org_fiscal_code: org.clone(), notice_number: notice.clone() })
            .collect()
    }

    /// Writes the session if it changed; returns the `Set-Cookie` value when one must be sent.
    pub fn save(&mut self, state: &AppState, now: Now) -> Result<Option<String>, ServiceError> {
        if self.new_cookie.is_some() && !self.dirty && !self.issued.get() {
            // A visitor who only read pages leaves nothing behind.
            return Ok(None);
        }
        if self.dirty || self.new_cookie.is_some() {
            self.record.data_json = serde_json::to_string(&self.data).unwrap_or_else(|_| "{}".to_owned());
            self.record.last_seen_at = now.iso();
            self.record.expires_at = expiry(now);
            let record = &self.record;
            if self.new_cookie.is_some() {
                sessions::create(&state.db, record)?;
            } else {
                sessions::update(&state.db, record)?;
            }
            self.dirty = false;
        }
        let secure =
            if state.config.server.public_url.as_ref().is_some_and(HttpUrl::is_https) { "; Secure" } else { "" };
        Ok(self.new_cookie.take().map(|cookie| format!("{COOKIE}={cookie}; HttpOnly; SameSite=Lax; Path=/{secure}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn csrf_comparison_needs_the_exact_token() {
        let s = Session::fresh(Now::at(jiff::Timestamp::UNIX_EPOCH)).unwrap();
        let token = s.csrf_token().to_owned();
        assert_eq!(token.len(), 64);
        assert!(s.csrf_matches(&token));
        assert!(!s.csrf_matches(""));
        assert!(!s.csrf_matches(&token[..63]));
        assert_ne!(s.id_hash(), token);
    }
}
