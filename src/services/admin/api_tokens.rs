//! Bearer tokens of the REST API: one org each, created (and shown) once, stored as the SHA-256 of
//! the token, revocable. A token is `mpy_` and 64 hex characters (256 random bits), so a plain
//! SHA-256 suffices: there is nothing to guess that a slow hash would protect.
//! Must never: store or log a token itself.

use sha2::{Digest, Sha256};

use crate::clock::Now;
use crate::services::{Change, ServiceError, check_len, journal_change};
use crate::store::api_tokens::{self, ApiTokenRecord};
use crate::store::{Db, orgs};

/// What every token starts with, so that a leaked one is recognisable in logs and scanners.
pub const PREFIX: &str = "mpy_";

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a token for org `ipa`; returns its record and the token, which is never shown again.
pub fn create_token(
    db: &Db,
    actor: &str,
    ipa: &str,
    label: &str,
    now: Now,
) -> Result<(ApiTokenRecord, String), ServiceError> {
    let label = label.trim();
    check_len("label", label, 100)?;
    let token = format!("{PREFIX}{}", crate::services::ids::random_hex(32)?);
    let hashed = hash(&token);
    let iso = now.iso();
    let record = db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let id = api_tokens::insert_api_token(tx, org.id, &hashed, label, &iso)?;
        let object = format!("api_token:{}/{id}", org.ipa_code);
        let after = serde_json::json!({ "id": id, "label": label }).to_string();
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "api_token.create",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok::<_, ServiceError>(ApiTokenRecord {
            id,
            org_id: org.id,
            org_ipa: org.ipa_code,
            label: label.to_owned(),
            created_at: iso.clone(),
            ..ApiTokenRecord::default()
        })
    })?;
    Ok((record, token))
}

/// The tokens of org `ipa`, revoked ones included.
pub fn list_tokens(db: &Db, ipa: &str) -> Result<Vec<ApiTokenRecord>, ServiceError> {
    db.read(|c| {
        let org = orgs::find_org_by_ipa(c, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(api_tokens::list_api_tokens(c, org.id)?)
    })
}

/// Revokes token `id` of org `ipa`: later calls with it get 401.
pub fn revoke_token(db: &Db, actor: &str, ipa: &str, id: i64, now: Now) -> Result<(), ServiceError> {
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        if !api_tokens::update_api_token_revoked(tx, org.id, id, &now.iso())? {
            return Err(ServiceError::NotFound(format!("valid API token {id} of org {ipa}")));
        }
        let object = format!("api_token:{}/{id}", org.ipa_code);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "api_token.revoke",
            object: &object,
            before: None,
            after: None,
        };
        journal_change(tx, &change, now)?;
        Ok(())
    })
}

/// The valid token a bearer presented, if any; notes its use (at most once a minute, so that
/// reads cost no write of their own).
pub fn authenticate(db: &Db, bearer: &str, now: Now) -> Result<Option<ApiTokenRecord>, ServiceError> {
    if !bearer.starts_with(PREFIX) || bearer.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let hashed = hash(bearer);
    let Some(token) = db.read(|c| api_tokens::find_api_token_by_hash(c, &hashed))? else {
        return Ok(None);
    };
    if token.revoked_at.is_some() {
        return Ok(None);
    }
    let instant = now.instant();
    let minute_ago = crate::clock::iso(instant.checked_sub(jiff::SignedDuration::from_secs(60)).unwrap_or(instant));
    if token.last_used_at.as_deref().is_none_or(|t| t < minute_ago.as_str()) {
        db.write(|tx| api_tokens::update_api_token_used(tx, token.id, &now.iso()))?;
    }
    Ok(Some(token))
}
