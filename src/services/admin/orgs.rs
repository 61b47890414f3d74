//! Creating and changing orgs (enti), with every field validated before anything is written.

use serde_json::json;

use super::adhesion;
use super::logo::{self, LogoError};
use super::passwords;
use crate::clock::Now;
use crate::domain::adhesion::Mode;
use crate::domain::org::{Functionality, OrgState};
use crate::domain::{OrgFiscalCode, SegregationCode};
use crate::services::{
    Change, ServiceError, check_len, journal_change, non_empty, parse_email, parse_iban, parse_postal_account,
    parse_two_letters, parse_url, set_text,
};
use crate::store::{Db, orgs, orgs::OrgRecord};

/// Changes to an org's registry data; `None` leaves a field as it is, `Some("")` clears an
/// optional one. Used for both `add` (with the mandatory fields set) and `set`.
#[derive(Debug, Clone, Default)]
pub struct OrgChanges {
    pub fiscal_code: Option<String>,
    pub name: Option<String>,
    pub state: Option<String>,
    pub segregation_code: Option<String>,
    pub application_code: Option<String>,
    pub generator_id: Option<String>,
    pub cbill_code: Option<String>,
    pub iban_bank: Option<String>,
    pub iban_postal: Option<String>,
    pub postal_account: Option<String>,
    pub postal_account_holder: Option<String>,
    pub poste_authorization: Option<String>,
    pub admin_email: Option<String>,
    pub address: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub info_text: Option<String>,
    pub back_url: Option<String>,
    /// Second language of the payment notices: `de`, `en`, or empty for Italian only.
    pub notice_language: Option<String>,
    /// Replaces the set of active functionalities when given.
    pub functionalities: Option<Vec<String>>,
    /// The adhesion mode a new org starts in (default `base`); only `add_org` reads it, a later
    /// change is `adhesion::set`'s (with its act).
    pub mode: Option<String>,
}

/// Checks an IPA code: the key MyPay uses in file names and SIL headers (up to 80 characters).
pub fn check_ipa_code(ipa: &str) -> Result<String, ServiceError> {
    let ipa = ipa.trim();
    if ipa.is_empty() || ipa.len() > 80 || !ipa.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(ServiceError::invalid("ipa", format!("{ipa:?} must be 1 to 80 letters, digits, '_' or '-'")));
    }
    Ok(ipa.to_owned())
}

/// Adds an org. `changes` must carry fiscal code, name and segregation code.
pub fn add_org(db: &Db, actor: &str, ipa: &str, changes: &OrgChanges, now: Now) -> Result<OrgRecord, ServiceError> {
    let ipa = check_ipa_code(ipa)?;
    let mut org = OrgRecord {
        ipa_code: ipa.clone(),
        state: OrgState::Inserted,
        generator_id: "00".to_owned(),
        ..OrgRecord::default()
    };
    for (field, value) in [
        ("fiscal-code", &changes.fiscal_code),
        ("name", &changes.name),
        ("segregation-code", &changes.segregation_code),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            return Err(ServiceError::invalid(field, "is required"));
        }
    }
    apply_changes(&mut org, changes, None)?;
    let mode = match non_empty(changes.mode.as_deref()) {
        None => Mode::Base,
        Some(code) => Mode::parse(&code).map_err(|err| ServiceError::invalid("mode", err.to_string()))?,
    };
    db.write(|tx| {
        if orgs::find_org_by_ipa(tx, &ipa)?.is_some() {
            return Err(ServiceError::Conflict(format!("an org with IPA code {ipa} already exists")));
        }
        if orgs::find_org_by_fiscal_code(tx, &org.fiscal_code)?.is_some() {
            return Err(ServiceError::Conflict(format!("an org with fiscal code {} already exists", org.fiscal_code)));
        }
        org.id = orgs::insert_org(tx, &org, &now.iso())?;
        adhesion::start_in(tx, org.id, mode, actor, now)?;
        let mut after = snapshot(&org);
        if let Some(map) = after.as_object_mut() {
            map.insert("mode".to_owned(), json!(mode.code()));
        }
        let after = after.to_string();
        let object = format!("org:{ipa}");
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.add",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        orgs::find_org_by_ipa(tx, &ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))
    })
}

/// Changes an org's data; returns the org as stored afterwards.
pub fn set_org(db: &Db, actor: &str, ipa: &str, changes: &OrgChanges, now: Now) -> Result<OrgRecord, ServiceError> {
    if changes.mode.is_some() {
        return Err(ServiceError::invalid("mode", "changes with the adhesion record (adhesion::set)"));
    }
    db.write(|tx| {
        let before = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let mut org = before.clone();
        apply_changes(&mut org, changes, Some(before.state))?;
        if org.fiscal_code != before.fiscal_code && orgs::find_org_by_fiscal_code(tx, &org.fiscal_code)?.is_some() {
            return Err(ServiceError::Conflict(format!("an org with fiscal code {} already exists", org.fiscal_code)));
        }
        orgs::update_org(tx, &org, &now.iso())?;
        let (before_json, after_json) = (snapshot(&before).to_string(), snapshot(&org).to_string());
        let object = format!("org:{}", org.ipa_code);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.set",
            object: &object,
            before: Some(&before_json),
            after: Some(&after_json),
        };
        journal_change(tx, &change, now)?;
        orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))
    })
}

/// Sets the org's SIL password (8 to 15 characters), stored as argon2id.
pub fn set_sil_password(db: &Db, actor: &str, ipa: &str, password: &str, now: Now) -> Result<(), ServiceError> {
    passwords::check_sil_password(password)?;
    let hash = passwords::hash_password(password)?;
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        orgs::update_sil_password_hash(tx, org.id, &hash, &now.iso())?;
        let object = format!("org:{}", org.ipa_code);
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.sil_password",
            object: &object,
            before: None,
            after: None,
        };
        journal_change(tx, &change, now)?;
        Ok(())
    })
}

/// The largest logo accepted: the notice prints it in a 30 mm box, so more is waste.
pub const LOGO_MAX_BYTES: usize = 256 * 1024;

/// Sets (or, with `None`, removes) the org's logo: a PNG or JPEG image, recognised by its
/// signature, of at most [`LOGO_MAX_BYTES`], stored as a PNG scaled down to fit
/// [`logo::LOGO_MAX_SIDE`] (see `services::admin::logo`).
pub fn set_logo(db: &Db, actor: &str, ipa: &str, image: Option<&[u8]>, now: Now) -> Result<(), ServiceError> {
    let logo = match image {
        None => None,
        Some(bytes) => {
            if bytes.len() > LOGO_MAX_BYTES {
                return Err(ServiceError::invalid("logo", format!("must be at most {LOGO_MAX_BYTES} bytes")));
            }
            let png = logo::normalize(bytes).map_err(|err| match err {
                LogoError::NotAnImage => ServiceError::invalid("logo", err.to_string()),
                LogoError::Encode(_) => ServiceError::Internal(err.to_string()),
                LogoError::Undecodable(_) | LogoError::TooManyPixels(..) => {
                    ServiceError::invalid("logo-image", err.to_string())
                }
            })?;
            Some(orgs::LogoRecord { bytes: png, mime: "image/png".to_owned() })
        }
    };
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        orgs::update_org_logo(tx, org.id, logo.as_ref(), &now.iso())?;
        let object = format!("org:{}", org.ipa_code);
        let after =
            json!({ "logo_mime": logo.as_ref().map(|l| &l.mime), "logo_bytes": logo.as_ref().map(|l| l.bytes.len()) })
                .to_string();
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "org.logo",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok(())
    })
}

/// The org with this IPA code.
pub fn get_org(db: &Db, ipa: &str) -> Result<OrgRecord, ServiceError> {
    db.read(|conn| orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}"))))
}

/// What the audit journal keeps of an org: its registry data, never secrets.
fn snapshot(org: &OrgRecord) -> serde_json::Value {
    json!({
        "ipa_code": org.ipa_code, "fiscal_code": org.fiscal_code, "name": org.name, "state": org.state.code(),
        "segregation_code": org.segregation_code, "application_code": org.application_code,
        "generator_id": org.generator_id, "cbill_code": org.cbill_code, "iban_bank": org.iban_bank,
        "iban_postal": org.iban_postal, "postal_account": org.postal_account,
        "postal_account_holder": org.postal_account_holder, "poste_authorization": org.poste_authorization,
        "admin_email": org.admin_email, "address": org.address, "civic_number": org.civic_number,
        "postal_code": org.postal_code, "city": org.city, "province": org.province, "country": org.country,
        "phone": org.phone, "website": org.website, "email": org.email, "info_text": org.info_text,
        "back_url": org.back_url, "notice_language": org.notice_language, "functionalities": org.functionalities,
    })
}

/// Validates `changes` and applies them to `org`. `old_state` is `None` for a new org.
fn apply_changes(org: &mut OrgRecord, changes: &OrgChanges, old_state: Option<OrgState>) -> Result<(), ServiceError> {
    if let Some(value) = &changes.fiscal_code {
        let code = OrgFiscalCode::parse(value).map_err(|err| ServiceError::invalid("fiscal-code", err.to_string()))?;
        org.fiscal_code = code.as_str().to_owned();
    }
    if let Some(value) = &changes.name {
        let name = value.trim();
        if name.is_empty() {
            return Err(ServiceError::invalid("name", "must not be empty"));
        }
        check_len("name", name, 100)?;
        org.name = name.to_owned();
    }
    if let Some(value) = &changes.state {
        let to = OrgState::parse(value).map_err(|err| ServiceError::invalid("state", err.to_string()))?;
        let to = match old_state {
            Some(from) => from.change_to(to).map_err(|err| ServiceError::invalid("state", err.to_string()))?,
            None => to,
        };
        org.state = to;
    }
    if let Some(value) = &changes.segregation_code {
        let code = SegregationCode::parse(value.trim())
            .map_err(|err| ServiceError::invalid("segregation-code", err.to_string()))?;
        org.segregation_code = code.as_str().to_owned();
    }
    if let Some(value) = &changes.application_code {
        org.application_code = match non_empty(Some(value)) {
            None => None,
            Some(v) => Some(
                crate::domain::ApplicationCode::parse(&v)
                    .map_err(|err| ServiceError::invalid("application-code", err.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
        };
    }
    if let Some(value) = &changes.generator_id {
        let id = crate::domain::GeneratorId::parse(value.trim())
            .map_err(|err| ServiceError::invalid("generator-id", err.to_string()))?;
        org.generator_id = id.as_str().to_owned();
    }
    if let Some(value) = &changes.cbill_code {
        org.cbill_code = non_empty(Some(value));
        if let Some(code) = &org.cbill_code
            && !(code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(ServiceError::invalid("cbill-code", format!("{code:?} must be 5 letters or digits")));
        }
    }
    if let Some(value) = &changes.iban_bank {
        org.iban_bank = parse_iban("iban-bank", value)?;
    }
    if let Some(value) = &changes.iban_postal {
        org.iban_postal = parse_iban("iban-postal", value)?;
    }
    if let Some(value) = &changes.postal_account {
        org.postal_account = parse_postal_account(value)?;
    }
    set_text(&mut org.postal_account_holder, &changes.postal_account_holder, "postal-account-holder", 50)?;
    set_text(&mut org.poste_authorization, &changes.poste_authorization, "poste-authorization", 50)?;
    if let Some(value) = &changes.admin_email {
        org.admin_email = parse_email("admin-email", value)?;
    }
    if let Some(value) = &changes.email {
        org.email = parse_email("email", value)?;
    }
    set_text(&mut org.address, &changes.address, "address", 70)?;
    set_text(&mut org.civic_number, &changes.civic_number, "civic-number", 16)?;
    set_text(&mut org.postal_code, &changes.postal_code, "postal-code", 16)?;
    set_text(&mut org.city, &changes.city, "city", 35)?;
    if let Some(value) = &changes.province {
        org.province = parse_two_letters("province", value)?;
    }
    if let Some(value) = &changes.country {
        org.country = parse_two_letters("country", value)?;
    }
    set_text(&mut org.phone, &changes.phone, "phone", 35)?;
    if let Some(value) = &changes.website {
        org.website = parse_url("website", value)?;
    }
    set_text(&mut org.info_text, &changes.info_text, "info-text", 4000)?;
    if let Some(value) = &changes.back_url {
        org.back_url = parse_url("back-url", value)?;
    }
    if let Some(value) = &changes.notice_language {
        org.notice_language = match non_empty(Some(value)).map(|v| v.to_ascii_lowercase()) {
            None => None,
            Some(v) if v == "de" || v == "en" => Some(v),
            Some(v) => return Err(ServiceError::invalid("notice-language", format!("{v:?} must be de, en or empty"))),
        };
    }
    if let Some(codes) = &changes.functionalities {
        let mut parsed = codes
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| Functionality::parse(c).map(|f| f.code().to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| ServiceError::invalid("functionality", err.to_string()))?;
        parsed.sort();
        parsed.dedup();
        org.functionalities = parsed;
    }
    Ok(())
}
