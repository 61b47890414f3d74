//! An org's own privacy notice, versioned: saving a text publishes version N+1 (with its audit
//! entry) and leaves every earlier version as citizens saw it.

use serde_json::json;

use crate::clock::Now;
use crate::services::{Change, ServiceError, check_len, journal_change};
use crate::store::privacy_notices::{self, PrivacyNoticeRecord};
use crate::store::{Db, orgs};

/// The privacy notice's version, recorded with every acceptance.
pub const PRIVACY_VERSION: &str = "1.0";
/// The longest notice accepted, in characters.
pub const MAX_CHARS: usize = 20_000;

/// Publishes `body` as the org's next version of its privacy notice; returns the version number.
/// An empty text is refused (field `privacy-notice`) and nothing is stored.
pub fn publish(db: &Db, actor: &str, ipa: &str, body: &str, now: Now) -> Result<i64, ServiceError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(ServiceError::invalid("privacy-notice", "must not be empty"));
    }
    check_len("privacy-notice", body, MAX_CHARS)?;
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let version = privacy_notices::insert_next_version(tx, org.id, body, actor, &now.iso())?;
        let object = format!("org:{}", org.ipa_code);
        let after = json!({ "privacy_notice_version": version, "privacy_notice": body }).to_string();
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.privacy_notice",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok(version)
    })
}

/// The org's current notice, if it wrote one.
pub fn current(db: &Db, org_id: i64) -> Result<Option<PrivacyNoticeRecord>, ServiceError> {
    db.read(|conn| Ok(privacy_notices::find_current(conn, org_id)?))
}

/// Every version of the org's notice, newest first.
pub fn versions(db: &Db, org_id: i64) -> Result<Vec<PrivacyNoticeRecord>, ServiceError> {
    db.read(|conn| Ok(privacy_notices::list_versions(conn, org_id)?))
}
