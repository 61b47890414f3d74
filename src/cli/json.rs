//! The JSON shapes the CLI prints with `--json`: a contract for scripts, built here by hand from
//! store records so that internal renames never change them.

use serde_json::{Value, json};

use crate::domain::{Cents, NoticeNumber};
use crate::store::debt_types::DebtTypeRecord;
use crate::store::debts::DebtRecord;
use crate::store::operators::OperatorRecord;
use crate::store::orgs::OrgRecord;

pub fn org(o: &OrgRecord) -> Value {
    json!({
        "ipa_code": o.ipa_code, "fiscal_code": o.fiscal_code, "name": o.name, "state": o.state.code(),
        "segregation_code": o.segregation_code, "application_code": o.application_code,
        "generator_id": o.generator_id, "cbill_code": o.cbill_code, "iban": o.iban_bank,
        "iban_postal": o.iban_postal, "postal_account": o.postal_account,
        "postal_account_holder": o.postal_account_holder, "poste_authorization": o.poste_authorization,
        "admin_email": o.admin_email, "address": o.address, "civic_number": o.civic_number,
        "postal_code": o.postal_code, "city": o.city, "province": o.province, "country": o.country,
        "phone": o.phone, "website": o.website, "email": o.email, "info_text": o.info_text,
        "back_url": o.back_url, "notice_language": o.notice_language, "sil_password_set": o.has_sil_password, "functionalities": o.functionalities,
        "created_at": o.created_at, "updated_at": o.updated_at,
    })
}

/// An org's adhesion: the current record and its history, newest first.
pub fn adhesion(a: &crate::services::admin::adhesion::Adhesion) -> Value {
    let record = |r: &crate::store::adhesion::AdhesionRecord| {
        json!({
            "mode": r.mode.code(), "mode_since": r.mode_since.to_string(),
            "act_type": r.act_type.map(|t| t.code()), "act_number": r.act_number,
            "act_date": r.act_date.map(|d| d.to_string()), "contacts": r.contacts,
            "changed_by": r.changed_by, "changed_at": r.changed_at,
        })
    };
    let mut current = record(&a.current);
    if let Some(map) = current.as_object_mut() {
        map.insert("history".to_owned(), Value::Array(a.history.iter().map(record).collect()));
    }
    current
}

pub fn debt_type(t: &DebtTypeRecord) -> Value {
    let form: Value = t.form_definition.as_deref().and_then(|f| serde_json::from_str(f).ok()).unwrap_or(Value::Null);
    json!({
        "code": t.code, "description": t.description, "taxonomy": t.taxonomy_code, "iban": t.iban_bank,
        "iban_postal": t.iban_postal, "postal_account": t.postal_account,
        "postal_account_holder": t.postal_account_holder, "spontaneous": t.spontaneous,
        "amount": t.fixed_amount_cents.map(Cents::to_decimal_string),
        "amount_cents": t.fixed_amount_cents.map(Cents::get), "form": form, "external_url": t.external_payment_url,
        "allow_anonymous": t.allow_anonymous, "due_date_mandatory": t.due_date_mandatory,
        "print_due_date": t.print_due_date, "sector": t.sector, "notify_io": t.notify_io,
        "push_outcome": t.push_outcome, "max_push_attempts": t.max_push_attempts,
        "disable_notice_print": t.disable_notice_print, "active": t.active,
        "catalog_service_id": t.catalog_service_id,
        "created_at": t.created_at, "updated_at": t.updated_at,
    })
}

pub fn operator(op: &OperatorRecord) -> Value {
    json!({
        "username": op.username, "full_name": op.full_name, "email": op.email, "app_admin": op.app_admin,
        "active": op.active,
        "roles": op.roles.iter().map(|(org, role)| json!({ "org": org, "role": role })).collect::<Vec<_>>(),
        "debt_types": op.debt_types.iter().map(|(org, code)| json!({ "org": org, "code": code })).collect::<Vec<_>>(),
        "created_at": op.created_at,
    })
}

pub fn debt(d: &DebtRecord) -> Value {
    let grouped = d.notice_number.as_ref().map(NoticeNumber::grouped);
    json!({
        "iud": d.iud, "iuv": d.iuv.as_ref().map(crate::domain::Iuv::as_str), "notice_number": d.notice_number.as_ref().map(NoticeNumber::as_str), "notice_number_grouped": grouped,
        "state": d.state.code(), "debt_type": d.debt_type_code, "debtor_kind": d.debtor.kind, "debtor_id": d.debtor.id,
        "debtor_name": d.debtor.name, "address": d.debtor.address, "civic_number": d.debtor.civic_number,
        "postal_code": d.debtor.postal_code, "city": d.debtor.city, "province": d.debtor.province,
        "country": d.debtor.country, "email": d.debtor.email, "due_date": d.due_date.map(|day| day.to_string()),
        "amount": d.amount_cents.to_decimal_string(), "amount_cents": d.amount_cents.get(),
        "payment_kinds": d.payment_kinds, "causale": d.causale, "collection_data": d.collection_data,
        "stamp_document_hash": d.stamp_document_hash, "stamp_province": d.stamp_province,
        "source": d.source, "created_at": d.created_at, "updated_at": d.updated_at,
    })
}

/// A debt with its payment options (`debt show`, `debt add`): each option's kind (`UNICA`,
/// `RATA`, `RIDOTTO`), number, notice number, amount, due date and state.
pub fn debt_with_options(d: &DebtRecord, options: &[crate::services::debts::options::OptionView]) -> Value {
    let mut value = debt(d);
    if let Value::Object(map) = &mut value {
        let list = options
            .iter()
            .map(|o| {
                json!({
                    "kind": o.kind.code(), "seq": o.seq, "iuv": o.iuv,
                    "notice_number": o.notice_number.as_ref().map(NoticeNumber::as_str),
                    "amount": o.amount.to_decimal_string(), "amount_cents": o.amount.get(),
                    "due_date": o.due_date.map(|day| day.to_string()), "state": o.state.code(),
                })
            })
            .collect();
        map.insert("options".to_owned(), Value::Array(list));
    }
    value
}

/// A flat `key: value` rendering of a JSON object, for `show` without `--json`.
pub fn as_text(value: &Value) -> String {
    let Value::Object(map) = value else {
        return value.to_string();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
