//! A debt position's payment options (issue 20): adding a debt with instalments and/or a reduced
//! amount, and reading a position's options as every channel shows them ([`options_of`]).
//!
//! The `debt` row stays the position and, when it has an IUV, its single option (pay in full);
//! the other options are `debt_option` rows with IUVs drawn from the org's counter, so an option
//! is found by IUV or notice number as fast as a debt. A position of instalments only has no IUV of
//! its own (its amount is their sum): nothing can pay it but its instalments. Options are refused
//! where one option is all there can be: a multi-beneficiary debt or a digital stamp (one transfer
//! per option here), and an org mirrored to the Region (MyPay's SIL carries one option per debt).

use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::domain::payment_options::{self, Availability, OptionKind, Plan, Target};
use crate::domain::{Cents, Day, DebtState, NoticeNumber};
use crate::services::ServiceError;
use crate::services::debts::{OrgScope, Source, add_debt_in, generate};
use crate::store::debt_options::{self, NewOption, OptionRecord};
use crate::store::debts::DebtRecord;
use crate::store::{Db, audit, debt_types};

/// The field of the refusal of options for an org mirrored to the Region (channels name it).
pub const UPSTREAM_FIELD: &str = "upstream";

/// How an option reads on every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionView {
    pub kind: ViewKind,
    /// 1..n among instalments; 1 otherwise.
    pub seq: i64,
    pub iuv: Option<String>,
    pub notice_number: Option<NoticeNumber>,
    pub amount: Cents,
    /// The due date; a reduced amount's last day.
    pub due_date: Option<Day>,
    pub state: ViewState,
}

/// Which option a view is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// Pay in full: the debt's own IUV.
    Single,
    Instalment,
    Reduced,
}

impl ViewKind {
    /// The code the CLI and the API print.
    pub fn code(self) -> &'static str {
        match self {
            ViewKind::Single => "UNICA",
            ViewKind::Instalment => "RATA",
            ViewKind::Reduced => "RIDOTTO",
        }
    }
}

/// An option's state as people read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewState {
    /// `DA_PAGARE`: payable.
    Open,
    /// `PAGATA`.
    Paid,
    /// `CHIUSA`: an alternative was paid (BR-12), or the position is annulled.
    Closed,
    /// `SCADUTA`: a reduced amount past its last day, an instalment past a binding due date, or
    /// the position expired.
    Expired,
}

impl ViewState {
    pub fn code(self) -> &'static str {
        match self {
            ViewState::Open => "DA_PAGARE",
            ViewState::Paid => "PAGATA",
            ViewState::Closed => "CHIUSA",
            ViewState::Expired => "SCADUTA",
        }
    }
}

/// Adds a debt (as [`super::add_debt`]) with the payment options of `plan`, in one transaction:
/// the single option is `fields` itself (which must then get an IUV: given or generated), the
/// options draw IUVs from the org's counter. Without `plan.single` the debt gets no IUV and its
/// amount is the instalments' sum.
pub fn add_debt_with_options(
    db: &Db,
    actor: &str,
    ipa: &str,
    fields: &DebtFields,
    plan: &Plan,
    source: Source,
    now: Now,
) -> Result<DebtRecord, ServiceError> {
    if !plan.has_options() {
        return super::add_debt(db, actor, ipa, fields, source, now);
    }
    payment_options::check_plan(plan, now.today()).map_err(|err| ServiceError::invalid("options", err.to_string()))?;
    let mut fields = fields.clone();
    match plan.single {
        Some(amount) => {
            fields.amount = amount.to_decimal_string();
            if fields.iuv.trim().is_empty() && !fields.generate_iuv {
                return Err(ServiceError::invalid(
                    "iuv",
                    "the single option of a debt with payment options needs an IUV: give one or generate it",
                ));
            }
        }
        None => {
            let total =
                plan.position_amount().ok_or_else(|| ServiceError::invalid("instalment", "amounts too large"))?;
            fields.amount = total.to_decimal_string();
            fields.iuv = String::new();
            fields.generate_iuv = false;
        }
    }
    if !fields.stamp_document_hash.trim().is_empty() || fields.secondary.is_some() {
        return Err(ServiceError::invalid(
            "options",
            "a debt with a digital stamp or a second beneficiary has a single payment option",
        ));
    }
    let iso = now.iso();
    db.write(|tx| {
        let scope = OrgScope::load(tx, ipa)?;
        if scope.mirror {
            return Err(ServiceError::invalid(
                UPSTREAM_FIELD,
                format!(
                    "org {ipa} is mirrored to the Region, whose debts have one payment option: \
                     a debt with instalments or a reduced amount cannot be represented there"
                ),
            ));
        }
        let debt = add_debt_in(tx, actor, ipa, &fields, source, now, false, true)?;
        insert_options_in(tx, &scope, actor, debt.id, &debt.iud, plan, &iso)?;
        Ok(debt)
    })
}

/// Inserts the options of `plan` (instalments, then the reduced amount) for the debt `debt_id`
/// just added, with IUVs drawn from the org's counter, and audits them; inside the caller's
/// transaction (a manual add, or an import's chunk).
pub(crate) fn insert_options_in(
    tx: &crate::store::Conn,
    scope: &OrgScope,
    actor: &str,
    debt_id: i64,
    iud: &str,
    plan: &Plan,
    iso: &str,
) -> Result<(), ServiceError> {
    let mut added = Vec::new();
    let instalments = plan.instalments.iter().map(|(a, d)| (OptionKind::Instalment, *a, *d));
    for (n, (kind, amount, due)) in
        instalments.chain(plan.reduced.map(|(a, d)| (OptionKind::Reduced, a, d))).enumerate()
    {
        let (iuv, notice, _) = generate(tx, scope)?;
        let seq = match kind {
            OptionKind::Instalment => i64::try_from(n + 1).unwrap_or(i64::MAX),
            OptionKind::Reduced => 1,
        };
        let new = NewOption {
            debt_id,
            org_id: scope.org.id,
            kind,
            seq,
            iuv: iuv.as_str(),
            notice_number: notice.as_str(),
            amount_cents: amount,
            due_date: due,
        };
        debt_options::insert_option(tx, &new, iso)?;
        added.push(serde_json::json!({ "kind": kind.code(), "seq": seq, "notice_number": notice.as_str(),
                "amount_cents": amount.get(), "due_date": due.to_string() }));
    }
    let object = format!("debt:{}/{}", scope.org.ipa_code, iud);
    let after = serde_json::json!({ "options": added }).to_string();
    let entry = audit::AuditEntry {
        actor,
        org_id: Some(scope.org.id),
        action: "debt.options",
        object: Some(&object),
        outcome: "OK",
        after_json: Some(&after),
        ..Default::default()
    };
    audit::insert_audit(tx, &entry, iso)?;
    Ok(())
}

/// The payment options of `debt` as of `today`: its single option (unless it has none: options
/// but no IUV of its own), then its instalments in order, then its reduced amount. A debt without
/// options lists its single option only.
pub fn options_of(db: &Db, debt: &DebtRecord, today: jiff::civil::Date) -> Result<Vec<OptionView>, ServiceError> {
    db.read(|conn| {
        let options = debt_options::list_options(conn, debt.id)?;
        let binding = debt_types::find_debt_type_by_id(conn, debt.org_id, debt.debt_type_id)?
            .is_some_and(|t| t.due_date_mandatory);
        Ok(views(debt, &options, binding, today))
    })
}

/// [`options_of`] from rows already read.
pub(crate) fn views(
    debt: &DebtRecord,
    options: &[OptionRecord],
    binding_due: bool,
    today: jiff::civil::Date,
) -> Vec<OptionView> {
    let facts: Vec<_> = options.iter().map(OptionRecord::facts).collect();
    let paid = debt.state == DebtState::Paid;
    let state_of = |target: Target| match debt.state {
        DebtState::Annulled => ViewState::Closed,
        DebtState::Expired => ViewState::Expired,
        _ => match payment_options::availability(target, paid, &facts, binding_due, today) {
            Availability::Payable => ViewState::Open,
            Availability::Paid => ViewState::Paid,
            Availability::Closed => ViewState::Closed,
            Availability::Expired => ViewState::Expired,
        },
    };
    let mut out = Vec::new();
    if debt.iuv.is_some() || options.is_empty() {
        out.push(OptionView {
            kind: ViewKind::Single,
            seq: 1,
            iuv: debt.iuv.as_ref().map(|i| i.as_str().to_owned()),
            notice_number: debt.notice_number.clone(),
            amount: debt.amount_cents,
            due_date: debt.due_date,
            state: state_of(Target::Single),
        });
    }
    for (index, o) in options.iter().enumerate() {
        out.push(OptionView {
            kind: match o.kind {
                OptionKind::Instalment => ViewKind::Instalment,
                OptionKind::Reduced => ViewKind::Reduced,
            },
            seq: o.seq,
            iuv: Some(o.iuv.as_str().to_owned()),
            notice_number: Some(o.notice_number.clone()),
            amount: o.amount_cents,
            due_date: Some(o.due_date),
            state: state_of(Target::Option(index)),
        });
    }
    out
}
