//! Spontaneous payments: the form of a debt type (its JSON `form_definition` read into
//! `domain::form`), the debt created from a filled form, and the duplicate-payment check.
//!
//! The JSON layout (documented in ARCHITECTURE.md, "Spontaneous payment forms"):
//! `{"fields": [{"name", "type": "text|number|date|select|checkbox|email", "label", "required",
//! "regex", "help", "min", "max", "options": [{"value", "label"}] | ["a", "b"]}], "causale":
//! "Contributo {evento}", "amount": "fixed" | "typed" | {"computed": {"field", "unit", "base"}}}`.
//! `amount` defaults to `fixed` when the debt type has a fixed amount, `typed` otherwise.

use jiff::civil::Date;
use serde::Deserialize;

use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::domain::form::{AmountRule, FieldKind, FieldSpec, Filled, FormDefinition};
use crate::domain::{Cents, PartyId, PartyKind};
use crate::services::debts::{Source, add_debt};
use crate::services::{ServiceError, check_len};
use crate::store::debt_types::DebtTypeRecord;
use crate::store::debts::DebtRecord;
use crate::store::{Db, debts, orgs};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireForm {
    fields: Vec<WireField>,
    causale: String,
    #[serde(default)]
    amount: Option<WireAmount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    label: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    min: Option<i64>,
    #[serde(default)]
    max: Option<i64>,
    #[serde(default)]
    options: Vec<WireOption>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireOption {
    Plain(String),
    Labelled { value: String, label: String },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireAmount {
    Named(String),
    Computed { computed: WireComputed },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireComputed {
    field: String,
    unit: String,
    #[serde(default)]
    base: Option<String>,
}

/// Reads and checks a form definition. `fixed` tells whether the debt type has a fixed amount.
pub fn parse_definition(json: &str, fixed: bool) -> Result<FormDefinition, ServiceError> {
    let invalid = |reason: String| ServiceError::invalid("form", reason);
    let wire: WireForm = serde_json::from_str(json).map_err(|err| invalid(err.to_string()))?;
    let mut specs = Vec::with_capacity(wire.fields.len());
    for f in wire.fields {
        let kind = match f.kind.as_str() {
            "text" => FieldKind::Text,
            "number" => FieldKind::Number,
            "date" => FieldKind::Date,
            "checkbox" => FieldKind::Checkbox,
            "email" => FieldKind::Email,
            "select" => FieldKind::Select(
                f.options
                    .into_iter()
                    .map(|o| match o {
                        WireOption::Plain(v) => (v.clone(), v),
                        WireOption::Labelled { value, label } => (value, label),
                    })
                    .collect(),
            ),
            other => return Err(invalid(format!("field {:?}: unknown type {other:?}", f.name))),
        };
        specs.push(FieldSpec {
            name: f.name,
            kind,
            label: f.label,
            required: f.required,
            regex: f.regex,
            help: f.help,
            min: f.min,
            max: f.max,
        });
    }
    let cents = |text: &str| Cents::parse_decimal(text).map_err(|err| invalid(format!("amount: {err}")));
    let amount = match wire.amount {
        None if fixed => AmountRule::Fixed,
        None => AmountRule::Typed,
        Some(WireAmount::Named(name)) => match name.as_str() {
            "fixed" if fixed => AmountRule::Fixed,
            "fixed" => return Err(invalid("amount \"fixed\" needs the debt type's fixed amount".to_owned())),
            "typed" => AmountRule::Typed,
            other => return Err(invalid(format!("unknown amount rule {other:?}"))),
        },
        Some(WireAmount::Computed { computed }) => AmountRule::Computed {
            field: computed.field,
            unit: cents(&computed.unit)?,
            base: computed.base.as_deref().map(cents).transpose()?.unwrap_or(Cents::ZERO),
        },
    };
    FormDefinition::new(specs, &wire.causale, amount).map_err(|err| invalid(err.0))
}

/// The form a citizen fills for this debt type: its definition, or causale (+ amount).
pub fn form_for(debt_type: &DebtTypeRecord) -> Result<FormDefinition, ServiceError> {
    let fixed = debt_type.fixed_amount_cents.is_some();
    match debt_type.form_definition.as_deref() {
        Some(json) => parse_definition(json, fixed),
        None => Ok(FormDefinition::default_form(fixed)),
    }
}

/// Who owes a spontaneous payment, as typed.
#[derive(Debug, Clone, Default)]
pub struct Debtor {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub province: String,
    pub email: String,
}

/// Checks the debtor's kind and identifier; returns the normalised identifier.
pub fn check_debtor(debtor: &Debtor) -> Result<PartyId, ServiceError> {
    let kind =
        PartyKind::parse(debtor.kind.trim()).map_err(|err| ServiceError::invalid("debtor_kind", err.to_string()))?;
    let id = PartyId::parse(kind, debtor.id.trim(), false)
        .map_err(|err| ServiceError::invalid("debtor_id", err.to_string()))?;
    if debtor.name.trim().is_empty() {
        return Err(ServiceError::invalid("debtor_name", "is required"));
    }
    check_len("debtor_name", debtor.name.trim(), 70)?;
    Ok(id)
}

/// Whether the debtor paid a debt of this type with the same causale in the last 30 days.
pub fn recently_paid(
    db: &Db,
    ipa: &str,
    debt_type: &DebtTypeRecord,
    debtor_id: &str,
    causale: &str,
    today: Date,
) -> Result<bool, ServiceError> {
    let since = today.checked_sub(jiff::Span::new().days(30)).unwrap_or(today).to_string();
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(debts::has_recent_paid_duplicate(conn, org.id, debt_type.id, debtor_id, causale, &since)?)
    })
}

/// Creates the debt of a filled form, with a generated IUV and notice number.
pub fn create_debt(
    db: &Db,
    ipa: &str,
    debt_type: &DebtTypeRecord,
    filled: &Filled,
    debtor: &Debtor,
    actor: &str,
    now: Now,
) -> Result<DebtRecord, ServiceError> {
    add_debt(db, actor, ipa, &debt_fields(debt_type, filled, debtor, now)?, Source::Portal, now)
}

/// The debt of a filled form, with a random IUD and `generate_iuv` set.
pub fn debt_fields(
    debt_type: &DebtTypeRecord,
    filled: &Filled,
    debtor: &Debtor,
    now: Now,
) -> Result<DebtFields, ServiceError> {
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    let suffix: String = random.iter().map(|b| format!("{b:02X}")).collect();
    Ok(DebtFields {
        iud: format!("WEB-{}-{suffix}", now.today().strftime("%Y%m%d")),
        debtor_kind: debtor.kind.trim().to_owned(),
        debtor_id: debtor.id.trim().to_uppercase(),
        debtor_name: debtor.name.trim().to_owned(),
        debtor_address: debtor.address.trim().to_owned(),
        debtor_postal_code: debtor.postal_code.trim().to_owned(),
        debtor_city: debtor.city.trim().to_owned(),
        debtor_province: debtor.province.trim().to_uppercase(),
        debtor_email: debtor.email.trim().to_owned(),
        amount: filled.amount.to_decimal_string(),
        debt_type: debt_type.code.clone(),
        causale: filled.causale.clone(),
        collection_data: format!("9/{}/", debt_type.taxonomy_code),
        generate_iuv: true,
        ..DebtFields::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn the_demo_definition_and_the_documented_forms_parse() {
        let def = parse_definition(
            r#"{"fields": [{"name": "evento", "type": "text", "label": "Evento", "required": true, "max": 60},
                {"name": "tipo", "type": "select", "label": "Tipo", "options": ["a", {"value": "b", "label": "B"}]},
                {"name": "n", "type": "number", "label": "Numero", "min": 1}],
               "causale": "Contributo {evento}", "amount": {"computed": {"field": "n", "unit": "2.50"}}}"#,
            false,
        )
        .unwrap();
        assert_eq!(def.fields().len(), 3);
        let err = parse_definition(r#"{"fields": [], "causale": "x", "amount": "fixed"}"#, false).unwrap_err();
        assert!(err.to_string().contains("fixed amount"), "{err}");
        let err =
            parse_definition(r#"{"fields": [{"name": "a", "type": "blob", "label": "A"}], "causale": "x"}"#, false)
                .unwrap_err();
        assert!(err.to_string().contains("unknown type"), "{err}");
    }
}
