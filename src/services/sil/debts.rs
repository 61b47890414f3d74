//! One debt position a SIL inserts, modifies, annuls or prints (`paaSILImportaDovuto`, mypay.md
//! §2.9, §4.7): the import's rules (`domain::debt_row`, `services::debts`) applied to a single
//! debt in one transaction with its audit entry, refusals carrying the import's `PAA_IMPORT_*`
//! codes as MyPay answers them.

use super::{SilError, fault};
use crate::clock::Now;
use crate::domain::debt_row::{self, DebtFields, RowError};
use crate::domain::{DebtEvent, DebtState};
use crate::services::ServiceError;
use crate::services::debts::{OrgScope, Source, annul_in, insert_context, insert_valid, modify_valid, rules_of};
use crate::store::debts::{self, DebtRecord};
use crate::store::{Db, audit, debt_types, sil};

/// The audit entry of a SIL change to `debt`.
#[expect(clippy::too_many_arguments, reason = "who, where, what, and the change before and after")]
fn audit_debt(
    tx: &crate::store::Conn,
    actor: &str,
    scope: &OrgScope,
    debt: &DebtRecord,
    action: &str,
    before: Option<&serde_json::Value>,
    after: &serde_json::Value,
    now: Now,
) -> Result<(), SilError> {
    let object = format!("debt:{}/{}", scope.org.ipa_code, debt.iud);
    let (before, after) = (before.map(ToString::to_string), after.to_string());
    let entry = audit::AuditEntry {
        actor,
        org_id: Some(scope.org.id),
        action,
        object: Some(&object),
        outcome: "OK",
        before_json: before.as_deref(),
        after_json: Some(&after),
        ..Default::default()
    };
    audit::insert_audit(tx, &entry, &now.iso())?;
    Ok(())
}

/// `azione` of a `Versamento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `I`: a new debt.
    Insert,
    /// `M`: every field of the live debt with this IUD replaced.
    Modify,
    /// `A`: the live debt with this IUD annulled.
    Annul,
    /// `S`: nothing changes; the notice of the debt with this IUV is printed.
    Print,
}

impl Action {
    pub fn parse(text: &str) -> Option<Action> {
        match text.trim() {
            "I" => Some(Action::Insert),
            "M" => Some(Action::Modify),
            "A" => Some(Action::Annul),
            "S" => Some(Action::Print),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Action::Insert => "I",
            Action::Modify => "M",
            Action::Annul => "A",
            Action::Print => "S",
        }
    }
}

/// The digital stamp's debt type, which MyPay does not import.
const DIGITAL_STAMP: &str = "MARCA_BOLLO_DIGITALE";

fn first(errors: Vec<RowError>) -> SilError {
    match errors.into_iter().next() {
        Some(e) => fault(e.code, e.description),
        None => fault("PAA_SYSTEM_ERROR", "dovuto rifiutato"),
    }
}

/// Applies `action` to org `ipa`'s debt; returns the debt as stored afterwards. With
/// `generate_iuv`, an insert (or a modify of a debt without one) gets an IUV17.
pub fn import_debt(
    db: &Db,
    actor: &str,
    ipa: &str,
    action: Action,
    mut fields: DebtFields,
    generate_iuv: bool,
    now: Now,
) -> Result<DebtRecord, SilError> {
    let today = now.today();
    fields.generate_iuv = generate_iuv;
    if action == Action::Print && (fields.iuv.trim().is_empty() || generate_iuv) {
        return Err(fault("PAA_IUV_NON_VALIDO", "la stampa dell'avviso richiede lo IUV e non flagGeneraIuv"));
    }
    if action == Action::Insert && fields.iud.trim().is_empty() {
        fields.iud =
            format!("SIL-{}-{}", today.strftime("%Y%m%d"), crate::services::ids::random_hex(6)?.to_uppercase());
    }
    let iso = now.iso();
    db.write(|tx| {
        let scope = OrgScope::load(tx, ipa)?;
        if action == Action::Print {
            return debts::find_debt_by_iuv(tx, scope.org.id, fields.iuv.trim())?
                .ok_or_else(|| fault("PAA_IUV_NON_VALIDO", format!("IUV {} non trovato", fields.iuv.trim())));
        }
        let code = fields.debt_type.trim();
        let debt_type = match debt_types::find_debt_type(tx, scope.org.id, code)? {
            None => {
                return Err(fault(
                    "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO",
                    format!("tipo dovuto {code} inesistente"),
                ));
            }
            Some(t) if !t.active || t.code == DIGITAL_STAMP => {
                return Err(fault(
                    "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO",
                    format!("tipo dovuto {code} non abilitato per funzione di import"),
                ));
            }
            Some(t) => t,
        };
        let id = match action {
            Action::Annul => annul_in(tx, &scope, fields.iud.trim(), None, &iso)?.map_err(first)?.0.id,
            Action::Insert | Action::Modify => {
                let mut ctx = insert_context(&scope, Some(rules_of(&debt_type)), today);
                if action == Action::Modify {
                    ctx.is_insert = false;
                    ctx.current_iuv = debts::find_debt_by_iud(tx, scope.org.id, fields.iud.trim())?.and_then(|d| d.iuv).map(|i| i.as_str().to_owned());
                }
                let valid = debt_row::validate(&fields, &ctx).map_err(first)?;
                let applied = if action == Action::Insert {
                    insert_valid(tx, &scope, &debt_type, valid, Source::Sil, None, &iso)?
                } else {
                    modify_valid(tx, &scope, &debt_type, valid, None, &iso)?
                };
                applied.map_err(first)?.id
            }
            Action::Print => 0,
        };
        let debt =
            debts::find_debt_by_id(tx, id)?.ok_or_else(|| ServiceError::NotFound(format!("debt {}", fields.iud)))?;
        let after = serde_json::json!({ "azione": action.code(), "iuv": debt.iuv.as_ref().map(crate::domain::Iuv::as_str), "state": debt.state.code(),
            "amount_cents": debt.amount_cents.get() });
        audit_debt(tx, actor, &scope, &debt, "sil.debt.import", None, &after, now)?;
        Ok(debt)
    })
}

/// What `paaSILRegistraPagamento` reports: a debt paid outside pagoPA.
#[derive(Debug, Clone, Default)]
pub struct ExternalPayment {
    pub iuv: String,
    pub context_code: Option<String>,
    /// `singoloImportoPagato` as sent (`\d+\.\d{2}`).
    pub amount: String,
    /// `dataEsitoSingoloPagamento`, `YYYY-MM-DD`.
    pub outcome_date: String,
    pub payment_index: Option<i64>,
    pub collection_id: String,
    pub attestor_kind: String,
    pub attestor_code: String,
    pub attestor_name: String,
}

/// Records a payment made outside pagoPA (mypay.md §4.2, "rendicontazione codice 9"): the org's
/// open debt with this IUV becomes paid. The amount must be the debt's; the same IUV and
/// collection id again is a replay and answers the same.
pub fn register_payment(db: &Db, actor: &str, ipa: &str, payment: &ExternalPayment, now: Now) -> Result<(), SilError> {
    let amount = crate::domain::Cents::parse_xsd_amount(payment.amount.trim()).map_err(|err| {
        fault("PAA_IMPORTO_SINGOLO_VERSAMENTO_NON_VALIDO", format!("importo {}: {err}", payment.amount))
    })?;
    let Some(outcome_date) = debt_row::parse_date(payment.outcome_date.trim()) else {
        return Err(fault("PAA_XML_NON_VALIDO", format!("data {} non valida", payment.outcome_date)));
    };
    db.write(|tx| {
        let scope = OrgScope::load(tx, ipa)?;
        let iuv = payment.iuv.trim();
        let unknown = || fault("PAA_IUV_NON_VALIDO", format!("IUV {iuv} sconosciuto"));
        let debt = debts::find_any_debt_by_iuv(tx, scope.org.id, iuv)?.ok_or_else(unknown)?;
        let record = sil::ExternalPaymentRecord {
            org_id: scope.org.id,
            debt_id: debt.id,
            // The debt was found by this IUV, so it has it.
            iuv: debt.iuv.clone().ok_or_else(unknown)?,
            context_code: payment.context_code.clone(),
            amount_cents: amount,
            outcome_date: outcome_date.into(),
            payment_index: payment.payment_index,
            collection_id: payment.collection_id.trim().to_owned(),
            attestor_kind: payment.attestor_kind.trim().to_owned(),
            attestor_code: payment.attestor_code.trim().to_owned(),
            attestor_name: payment.attestor_name.trim().to_owned(),
            recorded_by: actor.to_owned(),
        };
        let state = debt.state;
        if state == DebtState::Paid {
            // Already paid: a replay of this very payment is answered OK, anything else refused.
            return if sil::insert_external_payment(tx, &record, &now.iso())? {
                Err(fault("PAA_IUV_NON_VALIDO", format!("IUV {iuv}: dovuto già pagato")))
            } else {
                Ok(())
            };
        }
        let next = state
            .apply(DebtEvent::PaymentSucceeded)
            .map_err(|_| fault("PAA_IUV_NON_VALIDO", format!("IUV {iuv}: dovuto nello stato {}", debt.state.code())))?;
        if amount != debt.amount_cents {
            return Err(fault(
                "PAA_IMPORTO_SINGOLO_VERSAMENTO_NON_VALIDO",
                format!("importo {} diverso da quello del dovuto", payment.amount.trim()),
            ));
        }
        sil::insert_external_payment(tx, &record, &now.iso())?;
        debts::update_debt_state(tx, debt.id, next, &now.iso())?;
        let after = serde_json::json!({ "state": next.code(), "esito": "PAGATO CON RENDICONTAZIONE 9",
            "identificativoUnivocoRiscossione": record.collection_id });
        let before = serde_json::json!({ "state": debt.state.code() });
        audit_debt(tx, actor, &scope, &debt, "sil.payment.register", Some(&before), &after, now)?;
        Ok(())
    })
}
