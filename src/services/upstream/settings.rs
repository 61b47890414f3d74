//! Each org's settings at the regional node: its IPA code there, its SIL password there (sealed,
//! never shown), the key and identity of the region's pushes (sealed key; `kid`, `iss`, `sub`),
//! and the state of the link the drivers keep ([`record_contact`], [`record_failure`]; the last
//! receipt is `outcomes::apply`'s). [`set`] changes them with an audit entry that names what
//! changed but no secret; [`creds_of`] is the one way the drivers get the clear password.
//! `status` shows it all without secrets.

use super::RegionFailure;
use super::status::UpstreamView;
use crate::clock::Now;
use crate::config::Secret;
use crate::services::payments::outcome_push::{check_jwt_claim, check_secret};
use crate::services::{Change, ServiceError, journal_change};
use crate::store::upstream::{self, UpstreamIdentity};
use crate::store::{Db, orgs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Changes to an org's upstream settings; `None` leaves a value as it is, `Some("")` clears it.
#[derive(Debug, Clone, Default)]
pub struct UpstreamChanges {
    /// The org's IPA code at the region; `""`: the same as here.
    pub region_ipa: Option<String>,
    /// The org's SIL password at the region (8 to 15 characters, as MyPay's `stPassword`).
    pub password: Option<String>,
    /// The base64 HS512 key the region signs its pushes with (at least 64 bytes).
    pub push_secret: Option<String>,
    pub push_kid: Option<String>,
    pub push_iss: Option<String>,
    pub push_sub: Option<String>,
    /// The org's `paaSILInviaCarrelloDovuti` hash at the region (64 lowercase hex characters, as
    /// the Region shows its administrators): what a cart of several orgs' new debts needs.
    pub cart_hash: Option<String>,
}

impl UpstreamChanges {
    /// Whether anything is to change.
    pub fn is_empty(&self) -> bool {
        [
            &self.region_ipa,
            &self.password,
            &self.push_secret,
            &self.push_kid,
            &self.push_iss,
            &self.push_sub,
            &self.cart_hash,
        ]
        .iter()
        .all(|v| v.is_none())
    }
}

/// What a driver needs to call the region for an org. The password prints as `***`.
#[derive(Debug, Clone)]
pub struct UpstreamCreds {
    pub org_id: i64,
    /// The org's IPA code here.
    pub ipa_code: String,
    /// Its IPA code at the region (`codIpaEnte` of the calls).
    pub region_ipa: String,
    /// Its SIL password at the region, in clear.
    pub password: Secret,
}

fn not_found(ipa: &str) -> ServiceError {
    ServiceError::NotFound(format!("org {ipa}"))
}

/// Checks an IPA code at the region: 1 to 35 visible ASCII characters (`codIpaEnte`, `stText35`).
fn check_region_ipa(value: &str) -> Result<Option<String>, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 35 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ServiceError::invalid("upstream-ipa", "must be 1 to 35 letters, digits or signs, without spaces"));
    }
    Ok(Some(value.to_owned()))
}

/// Checks the org's SIL password at the region: MyPay's `stPassword`, 8 to 15 characters.
fn check_password(value: &str) -> Result<(), ServiceError> {
    crate::services::admin::passwords::check_sil_password(value).map_err(|err| match err {
        ServiceError::Invalid { reason, .. } => ServiceError::invalid("upstream-password", reason),
        other => other,
    })
}

/// Checks an org's cart hash: MyPay's is the lowercase hex of a SHA-256 (64 characters); upper
/// case is accepted and lowered, as the Region compares it as written.
fn check_cart_hash(value: &str) -> Result<String, ServiceError> {
    let value = value.trim().to_ascii_lowercase();
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::invalid(
            "upstream-cart-hash",
            "must be the 64 hexadecimal characters the Region shows as paaSILInviaCarrelloDovutiHash",
        ));
    }
    Ok(value)
}

/// Checks the key of the region's pushes: standard base64 of at least 64 bytes (HS512).
fn check_push_secret(value: &str) -> Result<(), ServiceError> {
    check_secret(value).map_err(|err| match err {
        ServiceError::Invalid { reason, .. } => ServiceError::invalid("upstream-push-secret", reason),
        other => other,
    })
}

/// Sets, changes or clears an org's upstream settings; returns them as they now are. Secrets are
/// checked before anything is written, and written sealed in the same transaction as the rest and
/// the audit entry (which says which secret changed, never its value).
pub fn set(db: &Db, actor: &str, ipa: &str, changes: &UpstreamChanges, now: Now) -> Result<UpstreamView, ServiceError> {
    let region_ipa = changes.region_ipa.as_deref().map(check_region_ipa).transpose()?;
    let claim = |field: &str, value: &Option<String>| value.as_deref().map(|v| check_jwt_claim(field, v)).transpose();
    let push_kid = claim("upstream-push-kid", &changes.push_kid)?;
    let push_iss = claim("upstream-push-iss", &changes.push_iss)?;
    let push_sub = claim("upstream-push-sub", &changes.push_sub)?;
    let password = match changes.password.as_deref() {
        Some("") => Some(None),
        Some(value) => {
            check_password(value)?;
            Some(Some(value))
        }
        None => None,
    };
    let push_secret = match changes.push_secret.as_deref().map(str::trim) {
        Some("") => Some(None),
        Some(value) => {
            check_push_secret(value)?;
            Some(Some(value))
        }
        None => None,
    };
    let cart_hash = match changes.cart_hash.as_deref().map(str::trim) {
        Some("") => Some(None),
        Some(value) => Some(Some(check_cart_hash(value)?)),
        None => None,
    };
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| not_found(ipa))?;
        let current = upstream::find_org_upstream(tx, org.id)?.unwrap_or_default();
        let identity = UpstreamIdentity {
            region_ipa: region_ipa.clone().unwrap_or(current.region_ipa),
            push_kid: push_kid.clone().unwrap_or(current.push_kid),
            push_iss: push_iss.clone().unwrap_or(current.push_iss),
            push_sub: push_sub.clone().unwrap_or(current.push_sub),
        };
        let iso = now.iso();
        upstream::update_org_upstream(tx, org.id, &identity, &iso)?;
        if let Some(password) = password {
            upstream::update_upstream_password(tx, org.id, password, &iso)?;
        }
        if let Some(secret) = push_secret {
            upstream::update_upstream_push_secret(tx, org.id, secret, &iso)?;
        }
        if let Some(hash) = &cart_hash {
            upstream::update_upstream_cart_hash(tx, org.id, hash.as_deref(), &iso)?;
        }
        let view = super::status::view_in(tx, &org)?;
        let secret_change = |change: Option<Option<&str>>| match change {
            None => "unchanged",
            Some(None) => "cleared",
            Some(Some(_)) => "set",
        };
        let after = serde_json::json!({
            "region_ipa": view.region_ipa, "push_kid": view.push_kid, "push_iss": view.push_iss,
            "push_sub": view.push_sub, "password": secret_change(password),
            "push_secret": secret_change(push_secret),
            "cart_hash": secret_change(cart_hash.as_ref().map(Option::as_deref)),
        })
        .to_string();
        let object = format!("org:{}", org.ipa_code);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.upstream",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok(view)
    })
}

/// The clear credentials of org `org_id` at the region, for the drivers that call it; `None` when
/// its password there is not set. A password that no longer opens (altered, or sealed with another
/// key file) is an error naming the column: the operator sets it again.
pub fn creds_of(db: &Db, org_id: i64) -> Result<Option<UpstreamCreds>, ServiceError> {
    db.read(|c| {
        let Some(password) = upstream::find_upstream_password(c, org_id)? else { return Ok(None) };
        let org = orgs::find_org_by_id(c, org_id)?.ok_or_else(|| not_found(&org_id.to_string()))?;
        let record = upstream::find_org_upstream(c, org_id)?.unwrap_or_default();
        Ok(Some(UpstreamCreds {
            org_id,
            region_ipa: record.region_ipa.unwrap_or_else(|| org.ipa_code.clone()),
            ipa_code: org.ipa_code,
            password: Secret::new(password),
        }))
    })
}

/// Org `org_id`'s `paaSILInviaCarrelloDovuti` hash at the region, for a cart of several orgs;
/// `None` when not set. Like the password, one that no longer opens is an error.
pub fn cart_hash_of(db: &Db, org_id: i64) -> Result<Option<Secret>, ServiceError> {
    Ok(db.read(|c| upstream::find_upstream_cart_hash(c, org_id))?.map(Secret::new))
}

/// The IPA code here of the org the region calls `region_ipa` (a cart's outcome names its orgs so).
pub fn ipa_of_region_ipa(db: &Db, region_ipa: &str) -> Result<Option<String>, ServiceError> {
    Ok(db.read(|c| upstream::find_ipa_of_region_ipa(c, region_ipa.trim()))?)
}

/// The credentials of every org linked to the region (its password there set), at most a few
/// hundred: the link's loop calls the region for each.
pub fn linked(db: &Db) -> Result<Vec<UpstreamCreds>, ServiceError> {
    const MAX_LINKED_ORGS: u32 = 500;
    let ids = db.read(|c| upstream::list_linked_org_ids(c, MAX_LINKED_ORGS))?;
    let mut all = Vec::with_capacity(ids.len());
    for id in ids {
        match creds_of(db, id) {
            Ok(Some(creds)) => all.push(creds),
            Ok(None) => {}
            // One org whose password no longer opens must not stop the others.
            Err(err) => {
                tracing::error!(org_id = id, error = %err, "the org's credentials at the region cannot be read")
            }
        }
    }
    Ok(all)
}

/// The region answered one of org `org_id`'s calls as asked at `now`: its last contact, and the
/// last error forgotten (the link works again). For the link loop, after each such call.
pub fn record_contact(db: &Db, org_id: i64, now: Now) -> Result<(), ServiceError> {
    Ok(db.write(|tx| upstream::update_link_contact(tx, org_id, &now.iso()))?)
}

/// One of org `org_id`'s calls to the region failed at `now`: the org's last error, for operators
/// (a refusal of one change is the outbox's to show; this is for the link: credentials refused,
/// the region unreachable or answering garbage). A failure with the region's fault code was an
/// answer, so it is a contact too. The text is a [`RegionFailure`]'s, never a credential.
pub fn record_failure(db: &Db, org_id: i64, failure: &RegionFailure, now: Now) -> Result<(), ServiceError> {
    let answered = failure.code.is_some();
    Ok(db.write(|tx| {
        upstream::update_link_failure(tx, org_id, failure.code.as_deref(), &failure.text, answered, &now.iso())
    })?)
}

/// The decoded key of a base64 push secret, for the verifier.
pub(super) fn push_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.trim()).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::services::testkit::{IPA, Kit};
    use crate::services::upstream::status::{link, view};

    fn some(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn settings_are_checked_stored_sealed_and_shown_without_secrets() {
        let kit = Kit::new();
        let org_id = crate::services::admin::orgs::get_org(&kit.db, IPA).unwrap().id;
        assert!(!view(&kit.db, IPA).unwrap().configured);
        assert!(creds_of(&kit.db, org_id).unwrap().is_none());
        assert!(link(&kit.db, org_id).unwrap().is_none());

        let refused = |changes: UpstreamChanges| set(&kit.db, "test", IPA, &changes, kit.now).unwrap_err().to_string();
        assert_eq!(
            refused(UpstreamChanges { password: some("short"), ..Default::default() }),
            "invalid upstream-password: must be 8 to 15 characters long"
        );
        let short_key = STANDARD.encode([1u8; 32]);
        assert!(
            refused(UpstreamChanges { push_secret: Some(short_key), ..Default::default() })
                .starts_with("invalid upstream-push-secret: the key has 32 bytes")
        );
        assert!(
            refused(UpstreamChanges { region_ipa: some("C F205"), ..Default::default() })
                .starts_with("invalid upstream-ipa")
        );
        assert!(!view(&kit.db, IPA).unwrap().configured, "a refusal writes nothing");

        let key = STANDARD.encode([9u8; 64]);
        let changes = UpstreamChanges {
            region_ipa: some("C_PROVA"),
            password: some("Regione-1234"),
            push_secret: Some(key.clone()),
            push_kid: some("k1"),
            push_iss: some("mypay-regione"),
            push_sub: some("sil@prova.it"),
            cart_hash: None,
        };
        let shown = set(&kit.db, "test", IPA, &changes, kit.now).unwrap();
        assert!(shown.configured && shown.password_set && shown.push_secret_set);
        assert_eq!((shown.region_ipa.as_str(), shown.push_kid.as_deref()), ("C_PROVA", Some("k1")));
        let json = serde_json::to_string(&shown).unwrap();
        assert!(!json.contains("Regione-1234") && !json.contains(&key), "{json}");

        // The cart hash: 64 hex characters (upper case lowered), sealed, shown only as set.
        let hash = "AB".repeat(32);
        assert!(
            refused(UpstreamChanges { cart_hash: some("abc"), ..Default::default() })
                .starts_with("invalid upstream-cart-hash")
        );
        let shown = set(
            &kit.db,
            "test",
            IPA,
            &UpstreamChanges { cart_hash: Some(hash.clone()), ..Default::default() },
            kit.now,
        );
        assert!(shown.unwrap().cart_hash_set);
        assert_eq!(cart_hash_of(&kit.db, org_id).unwrap().unwrap().expose(), "ab".repeat(32));
        assert_eq!(ipa_of_region_ipa(&kit.db, "C_PROVA").unwrap().as_deref(), Some(IPA));
        assert_eq!(ipa_of_region_ipa(&kit.db, IPA).unwrap(), None, "known there by another code");

        let creds = creds_of(&kit.db, org_id).unwrap().unwrap();
        assert_eq!((creds.region_ipa.as_str(), creds.password.expose()), ("C_PROVA", "Regione-1234"));
        assert!(!format!("{creds:?}").contains("Regione-1234"), "the password prints masked");

        // One value changes, the others stay; "" clears.
        let shown = set(&kit.db, "test", IPA, &UpstreamChanges { push_kid: some(""), ..Default::default() }, kit.now);
        let shown = shown.unwrap();
        assert_eq!((shown.push_kid, shown.push_iss.as_deref()), (None, Some("mypay-regione")));
        assert!(shown.password_set && shown.push_secret_set);
        let cleared = UpstreamChanges { region_ipa: some(""), password: some(""), ..Default::default() };
        let shown = set(&kit.db, "test", IPA, &cleared, kit.now).unwrap();
        assert_eq!((shown.region_ipa.as_str(), shown.password_set), (IPA, false));
        assert_eq!(ipa_of_region_ipa(&kit.db, IPA).unwrap().as_deref(), Some(IPA));
        let shown = set(&kit.db, "test", IPA, &UpstreamChanges { cart_hash: some(""), ..Default::default() }, kit.now);
        assert!(!shown.unwrap().cart_hash_set);
        assert!(cart_hash_of(&kit.db, org_id).unwrap().is_none());
        assert!(creds_of(&kit.db, org_id).unwrap().is_none());
        assert!(link(&kit.db, org_id).unwrap().is_some());

        let object = format!("org:{IPA}");
        let audit = kit.db.read(|c| crate::store::audit::list_audit_of_object(c, org_id, &object, 50)).unwrap();
        let entries: Vec<_> = audit.iter().filter(|e| e.action == "org.upstream").collect();
        assert_eq!(entries.len(), 5);
        for e in &entries {
            let after = e.after_json.as_deref().unwrap();
            assert!(!after.contains("Regione-1234") && !after.contains(&key), "{after}");
        }
        assert!(entries.iter().any(|e| e.after_json.as_deref().unwrap().contains(r#""password":"set""#)));
    }

    /// The link's state: a contact clears the last error; a failure the region answered (a fault
    /// code) is a contact too, a transport failure is not; texts are cut; an org without a link
    /// records nothing.
    #[test]
    fn contacts_and_failures_are_the_links_state() {
        let kit = Kit::new();
        let org_id = crate::services::admin::orgs::get_org(&kit.db, IPA).unwrap().id;
        let at = |s: &str| crate::clock::Now::at(s.parse().unwrap());
        let unreachable = RegionFailure { retryable: true, code: None, text: "connection refused".to_owned() };
        record_failure(&kit.db, org_id, &unreachable, at("2025-03-01T10:00:00Z")).unwrap();
        record_contact(&kit.db, org_id, at("2025-03-01T10:00:00Z")).unwrap();
        assert!(!view(&kit.db, IPA).unwrap().configured, "no link, nothing recorded");

        set(&kit.db, "test", IPA, &UpstreamChanges { password: some("Regione-1234"), ..Default::default() }, kit.now)
            .unwrap();
        record_failure(&kit.db, org_id, &unreachable, at("2025-03-01T10:00:00Z")).unwrap();
        let v = view(&kit.db, IPA).unwrap();
        assert_eq!(v.last_contact_at, None, "no answer, no contact");
        assert_eq!(
            (v.last_error_code, v.last_error_text.as_deref(), v.last_error_at.as_deref()),
            (None, Some("connection refused"), Some("2025-03-01T10:00:00Z"))
        );

        record_contact(&kit.db, org_id, at("2025-03-01T10:05:00Z")).unwrap();
        let v = view(&kit.db, IPA).unwrap();
        assert_eq!(v.last_contact_at.as_deref(), Some("2025-03-01T10:05:00Z"));
        assert_eq!((v.last_error_code, v.last_error_text, v.last_error_at), (None, None, None), "the link works again");

        let refused =
            RegionFailure { retryable: false, code: Some("PAA_ENTE_NON_VALIDO".to_owned()), text: "x".repeat(5000) };
        record_failure(&kit.db, org_id, &refused, at("2025-03-01T10:10:00Z")).unwrap();
        let v = view(&kit.db, IPA).unwrap();
        assert_eq!(v.last_contact_at.as_deref(), Some("2025-03-01T10:10:00Z"), "a fault is an answer");
        assert_eq!(v.last_error_code.as_deref(), Some("PAA_ENTE_NON_VALIDO"));
        assert_eq!(v.last_error_text.map(|t| t.len()), Some(1024), "cut to its bound");
    }
}
