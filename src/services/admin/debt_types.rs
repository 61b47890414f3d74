//! Creating and changing debt types (tipi dovuto).

use serde_json::json;

use crate::clock::Now;
use crate::domain::{Cents, TaxonomyCode};
use crate::services::{
    Change, ServiceError, check_len, journal_change, non_empty, parse_iban, parse_postal_account, parse_url, set_text,
};
use crate::store::debt_types::{self, DebtTypeRecord};
use crate::store::{Db, orgs};

/// The pseudo-type MyPay uses only as an export filter; it can never be a real debt type.
pub const RESERVED_EXPORT_CODE: &str = "EXPORT_ENTE_SECONDARIO";

/// Changes to a debt type; `None` leaves a field as it is, `Some("")` clears an optional text.
#[derive(Debug, Clone, Default)]
pub struct DebtTypeChanges {
    pub description: Option<String>,
    pub iban_bank: Option<String>,
    pub iban_postal: Option<String>,
    pub postal_account: Option<String>,
    pub postal_account_holder: Option<String>,
    pub spontaneous: Option<bool>,
    /// A decimal amount (`30.00`); `Some("")` removes the fixed amount.
    pub fixed_amount: Option<String>,
    /// The JSON form definition; `Some("")` removes it.
    pub form_definition: Option<String>,
    pub external_payment_url: Option<String>,
    pub allow_anonymous: Option<bool>,
    pub due_date_mandatory: Option<bool>,
    pub print_due_date: Option<bool>,
    pub sector: Option<String>,
    pub notify_io: Option<bool>,
    pub push_outcome: Option<bool>,
    pub max_push_attempts: Option<i64>,
    pub disable_notice_print: Option<bool>,
    pub taxonomy_code: Option<String>,
    pub active: Option<bool>,
    /// idServizio of the pagoPA service catalogue (5 characters); `Some("")` removes it.
    pub catalog_service_id: Option<String>,
}

/// Checks a debt type code (identificativoTipoDovuto): 1 to 64 letters, digits, `_`, `-` or `.`.
pub fn check_code(code: &str) -> Result<String, ServiceError> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 64
        || !code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(ServiceError::invalid(
            "code",
            format!("{code:?} must be 1 to 64 letters, digits, '_', '-' or '.'"),
        ));
    }
    if code.eq_ignore_ascii_case(RESERVED_EXPORT_CODE) {
        return Err(ServiceError::invalid("code", format!("{RESERVED_EXPORT_CODE} is reserved for exports")));
    }
    Ok(code.to_owned())
}

/// Adds a debt type to the org `ipa`. `changes` must carry the description and the taxonomy code.
pub fn add_debt_type(
    db: &Db,
    actor: &str,
    ipa: &str,
    code: &str,
    changes: &DebtTypeChanges,
    now: Now,
) -> Result<DebtTypeRecord, ServiceError> {
    let code = check_code(code)?;
    for (field, value) in [("description", &changes.description), ("taxonomy", &changes.taxonomy_code)] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            return Err(ServiceError::invalid(field, "is required"));
        }
    }
    let mut record = DebtTypeRecord {
        code: code.clone(),
        print_due_date: true,
        active: true,
        max_push_attempts: 20,
        ..Default::default()
    };
    apply_changes(&mut record, changes)?;
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        record.org_id = org.id;
        if debt_types::find_debt_type(tx, org.id, &code)?.is_some() {
            return Err(ServiceError::Conflict(format!("debt type {code} already exists in org {}", org.ipa_code)));
        }
        record.id = debt_types::insert_debt_type(tx, &record, &now.iso())?;
        let (object, after) = (format!("debt_type:{}/{code}", org.ipa_code), snapshot(&record));
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "debt_type.add",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        debt_types::find_debt_type(tx, org.id, &code)?
            .ok_or_else(|| ServiceError::NotFound(format!("debt type {code}")))
    })
}

/// Changes a debt type; returns it as stored afterwards.
pub fn set_debt_type(
    db: &Db,
    actor: &str,
    ipa: &str,
    code: &str,
    changes: &DebtTypeChanges,
    now: Now,
) -> Result<DebtTypeRecord, ServiceError> {
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let before = debt_types::find_debt_type(tx, org.id, code)?
            .ok_or_else(|| ServiceError::NotFound(format!("debt type {code} in org {}", org.ipa_code)))?;
        let mut record = before.clone();
        apply_changes(&mut record, changes)?;
        debt_types::update_debt_type(tx, &record, &now.iso())?;
        let object = format!("debt_type:{}/{code}", org.ipa_code);
        let (before_json, after_json) = (snapshot(&before), snapshot(&record));
        let change = Change {
            actor,
            org_id: Some(org.id),
            action: "debt_type.set",
            object: &object,
            before: Some(&before_json),
            after: Some(&after_json),
        };
        journal_change(tx, &change, now)?;
        debt_types::find_debt_type(tx, org.id, code)?.ok_or_else(|| ServiceError::NotFound(format!("debt type {code}")))
    })
}

/// The debt type `code` of org `ipa`.
pub fn get_debt_type(db: &Db, ipa: &str, code: &str) -> Result<DebtTypeRecord, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        debt_types::find_debt_type(conn, org.id, code)?
            .ok_or_else(|| ServiceError::NotFound(format!("debt type {code} in org {}", org.ipa_code)))
    })
}

/// Every debt type of org `ipa`.
pub fn list_debt_types(db: &Db, ipa: &str) -> Result<Vec<DebtTypeRecord>, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(debt_types::list_debt_types(conn, org.id)?)
    })
}

fn snapshot(t: &DebtTypeRecord) -> String {
    json!({
        "code": t.code, "description": t.description, "iban_bank": t.iban_bank, "iban_postal": t.iban_postal,
        "postal_account": t.postal_account, "postal_account_holder": t.postal_account_holder,
        "spontaneous": t.spontaneous, "fixed_amount_cents": t.fixed_amount_cents.map(Cents::get),
        "form_definition": t.form_definition, "external_payment_url": t.external_payment_url,
        "allow_anonymous": t.allow_anonymous, "due_date_mandatory": t.due_date_mandatory,
        "print_due_date": t.print_due_date, "sector": t.sector, "notify_io": t.notify_io,
        "push_outcome": t.push_outcome, "max_push_attempts": t.max_push_attempts,
        "disable_notice_print": t.disable_notice_print, "taxonomy_code": t.taxonomy_code, "active": t.active,
        "catalog_service_id": t.catalog_service_id,
    })
    .to_string()
}

fn apply_changes(t: &mut DebtTypeRecord, c: &DebtTypeChanges) -> Result<(), ServiceError> {
    if let Some(value) = &c.description {
        let value = value.trim();
        if value.is_empty() {
            return Err(ServiceError::invalid("description", "must not be empty"));
        }
        check_len("description", value, 256)?;
        t.description = value.to_owned();
    }
    if let Some(value) = &c.iban_bank {
        t.iban_bank = parse_iban("iban", value)?;
    }
    if let Some(value) = &c.iban_postal {
        t.iban_postal = parse_iban("iban-postal", value)?;
    }
    if let Some(value) = &c.postal_account {
        t.postal_account = parse_postal_account(value)?;
    }
    set_text(&mut t.postal_account_holder, &c.postal_account_holder, "postal-account-holder", 50)?;
    if let Some(value) = c.spontaneous {
        t.spontaneous = value;
    }
    if let Some(value) = &c.fixed_amount {
        t.fixed_amount_cents = match non_empty(Some(value)) {
            None => None,
            Some(v) => {
                let cents = Cents::parse_decimal(&v).map_err(|err| ServiceError::invalid("amount", err.to_string()))?;
                if cents.get() <= 0 {
                    return Err(ServiceError::invalid("amount", "must be greater than zero"));
                }
                Some(cents)
            }
        };
    }
    if let Some(value) = &c.form_definition {
        t.form_definition = match non_empty(Some(value)) {
            None => None,
            Some(v) => {
                check_len("form", &v, 64 * 1024)?;
                // The same reader the portal uses, so a stored definition always renders.
                crate::services::portal::spontaneous::parse_definition(&v, t.fixed_amount_cents.is_some())?;
                Some(v)
            }
        };
    }
    if let Some(value) = &c.external_payment_url {
        t.external_payment_url = parse_url("external-url", value)?;
    }
    if let Some(value) = c.allow_anonymous {
        t.allow_anonymous = value;
    }
    if let Some(value) = c.due_date_mandatory {
        t.due_date_mandatory = value;
    }
    if let Some(value) = c.print_due_date {
        t.print_due_date = value;
    }
    set_text(&mut t.sector, &c.sector, "sector", 50)?;
    if let Some(value) = c.notify_io {
        t.notify_io = value;
    }
    if let Some(value) = c.push_outcome {
        t.push_outcome = value;
    }
    if let Some(value) = c.max_push_attempts {
        if !(0..=1000).contains(&value) {
            return Err(ServiceError::invalid("max-push-attempts", "must be between 0 and 1000"));
        }
        t.max_push_attempts = value;
    }
    if let Some(value) = c.disable_notice_print {
        t.disable_notice_print = value;
    }
    if let Some(value) = &c.taxonomy_code {
        let code =
            TaxonomyCode::parse(value.trim()).map_err(|err| ServiceError::invalid("taxonomy", err.to_string()))?;
        t.taxonomy_code = code.as_str().to_owned();
    }
    if let Some(value) = c.active {
        t.active = value;
    }
    if let Some(value) = &c.catalog_service_id {
        t.catalog_service_id = non_empty(Some(value));
        if let Some(id) = &t.catalog_service_id
            && !(id.chars().count() == 5 && id.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(ServiceError::invalid("catalog-service-id", format!("{id:?} must be 5 letters or digits")));
        }
    }
    if !t.spontaneous && !t.due_date_mandatory && !t.print_due_date {
        return Err(ServiceError::invalid(
            "print-due-date",
            "a debt type that is not spontaneous must require or print the due date",
        ));
    }
    Ok(())
}
