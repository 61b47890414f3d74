//! Payments as the pagoPA Node drives them: verify a notice, hand out its payment data, take the
//! receipt, and create a debt for a payment started at a PSP (reference/pagopa.md §1.4-1.7, §1.10);
//! and what follows a receipt, in the submodules: the outcome push to the org's own system
//! (`outcome_push`), anomalies a person reviews (`anomalies`), the PSPs' reporting flows
//! (`reporting`), and the back office's dashboard of payments (`dashboard`).
//!
//! Verify is read-only. The payment-data call moves an open debt to "payment started" without
//! locking it: the Node may ask again (retries, another PSP) and gets the same answer. A receipt is
//! stored together with the debt's new state and the audit entry in one transaction, before the
//! station answers OK; a replay finds the stored receipt and changes nothing.

pub mod anomalies;
pub mod dashboard;
pub mod flows_view;
#[cfg(test)]
mod option_tests;
pub mod outcome_push;
pub mod recovery;
pub mod reporting;

use jiff::civil::Date;

use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::domain::payment_options::{self, Availability, Target};
use crate::domain::payment_terms::{self, Discrepancy, PaymentTerms, TermsTransfer};
use crate::domain::receipt_shape::ShapeIssue;
use crate::domain::{Cents, CollectionData, DebtEvent, DebtState, NoticeNumber, TaxonomyCode};
use crate::services::ServiceError;
use crate::store::debt_types::{self, DebtTypeRecord};
use crate::store::debts::{self, DebtRecord};
use crate::store::orgs::{self, OrgRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, StoreError, audit, debt_options, payment_offers};

/// Why a notice cannot be paid (or a request refers to nothing we hold). The station maps each to
/// its `PAA_*` fault.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("organisation {0} is not served by this station")]
    UnknownOrg(String),
    #[error("notice {0} is unknown")]
    UnknownNotice(String),
    #[error("notice {0} is already paid")]
    AlreadyPaid(String),
    #[error("notice {0} is annulled")]
    Annulled(String),
    #[error("notice {0} is expired")]
    Expired(String),
    #[error("{0}")]
    Semantic(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ServiceError> for PaymentError {
    fn from(err: ServiceError) -> PaymentError {
        match err {
            ServiceError::Store(store) => PaymentError::Store(store),
            other => PaymentError::Semantic(other.to_string()),
        }
    }
}

/// Where a transfer goes: an account, or (paGetPaymentV2 only) a digital stamp the PSP issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    Iban(String),
    Stamp { document_hash: String, province: String },
}

/// One transfer of the payment data (paGetPayment `transfer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// 1..5.
    pub index: u8,
    pub amount: Cents,
    pub fiscal_code: String,
    pub company_name: Option<String>,
    pub target: TransferTarget,
    pub remittance: String,
    pub category: String,
    /// Key/value pairs the Node copies into the receipt (e.g. `IBANAPPOGGIO`).
    pub metadata: Vec<(String, String)>,
}

/// Everything the station needs to describe a payable notice.
#[derive(Debug, Clone)]
pub struct PaymentView {
    pub org: OrgRecord,
    pub debt: DebtRecord,
    pub debt_type: DebtTypeRecord,
    pub transfers: Vec<Transfer>,
    /// Whether every transfer could be credited to a postal account (verify's `allCCP`).
    pub all_postal: bool,
    /// The payment option asked for when it is not the single one; `debt` then carries its IUV,
    /// notice number, amount and due date.
    pub option: Option<debt_options::OptionRecord>,
}

impl PaymentView {
    /// paymentAmount: the sum of the transfers.
    pub fn amount(&self) -> Cents {
        Cents::new(self.transfers.iter().map(|t| t.amount.get()).sum())
    }

    /// Whether a transfer is a digital stamp, which only paGetPaymentV2 can describe.
    pub fn has_stamp(&self) -> bool {
        self.transfers.iter().any(|t| matches!(t.target, TransferTarget::Stamp { .. }))
    }

    /// What a receipt for this payment data must carry: the creditor, the amount and each
    /// transfer's amount, beneficiary and account (a stamp's has none to check).
    pub fn terms(&self) -> PaymentTerms {
        PaymentTerms {
            creditor: self.org.fiscal_code.clone(),
            amount: self.amount(),
            transfers: self
                .transfers
                .iter()
                .map(|t| TermsTransfer {
                    index: i64::from(t.index),
                    amount: t.amount,
                    fiscal_code: t.fiscal_code.clone(),
                    iban: match &t.target {
                        TransferTarget::Iban(iban) => Some(iban.clone()),
                        TransferTarget::Stamp { .. } => None,
                    },
                })
                .collect(),
        }
    }
}

/// The id of the org with this fiscal code if this station serves it (any state past `INSERITO`,
/// the state of an org not yet registered with pagoPA).
pub fn served_org_id(db: &Db, fiscal_code: &str) -> Result<Option<i64>, PaymentError> {
    Ok(db
        .read(|conn| orgs::find_org_by_fiscal_code(conn, fiscal_code))?
        .filter(|o| o.state.is_registered_with_pagopa())
        .map(|o| o.id))
}

/// Looks up the debt of a notice and checks it can be paid; changes nothing.
pub fn verify(db: &Db, fiscal_code: &str, notice: &NoticeNumber, today: Date) -> Result<PaymentView, PaymentError> {
    db.read(|conn| load_payable(conn, fiscal_code, notice, false, today))
}

/// The payment data of a notice, for the Node's activation. Moves an open debt to
/// `PAGAMENTO_INIZIATO` (once; later calls find it there and answer the same) and records the
/// answer as an offer, which the receipt must then match (see [`accept_receipt`]).
pub fn get_payment(
    db: &Db,
    fiscal_code: &str,
    notice: &NoticeNumber,
    postal: bool,
    now: Now,
) -> Result<PaymentView, PaymentError> {
    let today = now.today();
    let (view, offered) = db.read(|conn| {
        let view = load_payable(conn, fiscal_code, notice, postal, today)?;
        let offered = payment_offers::offer_exists(conn, view.debt.id, &view.terms())?;
        Ok::<_, PaymentError>((view, offered))
    })?;
    if view.debt.state == DebtState::PaymentStarted && offered {
        return Ok(view);
    }
    db.write(|tx| {
        // Read again inside the write transaction: a receipt may have arrived meanwhile.
        let fresh = load_payable(tx, fiscal_code, notice, postal, today)?;
        let next =
            fresh.debt.state.apply(DebtEvent::StartPayment).map_err(|err| PaymentError::Semantic(err.to_string()))?;
        debts::update_payment_started(tx, fresh.debt.id, next, &now.iso())?;
        payment_offers::insert_offer(tx, fresh.debt.id, &fresh.terms(), &now.iso())?;
        Ok(fresh)
    })
}

/// Finds the org and debt of a notice and checks the debt can be paid today.
fn load_payable(
    conn: &crate::store::Conn,
    fiscal_code: &str,
    notice: &NoticeNumber,
    postal: bool,
    today: Date,
) -> Result<PaymentView, PaymentError> {
    let org = orgs::find_org_by_fiscal_code(conn, fiscal_code)?
        .filter(|o| o.state.is_registered_with_pagopa())
        .ok_or_else(|| PaymentError::UnknownOrg(fiscal_code.to_owned()))?;
    let iuv = notice.iuv();
    let unknown = || PaymentError::UnknownNotice(notice.as_str().to_owned());
    let (debt, option) = match debts::find_any_debt_by_iuv(conn, org.id, iuv.as_str())? {
        Some(debt) => (debt, None),
        None => {
            // One of a position's other payment options (version 29), found by the same IUV.
            let option = debt_options::find_any_option_by_iuv(conn, org.id, iuv.as_str())?.ok_or_else(unknown)?;
            let debt = debts::find_debt_by_id(conn, option.debt_id)?.ok_or_else(unknown)?;
            (debt, Some(option))
        }
    };
    let own_notice = option.as_ref().map_or(debt.notice_number.as_ref(), |o| Some(&o.notice_number));
    if own_notice != Some(notice) {
        return Err(unknown());
    }
    let debt_type = debt_types::find_debt_type_by_id(conn, org.id, debt.debt_type_id)?.ok_or_else(unknown)?;
    let options = debt_options::list_options(conn, debt.id)?;
    match debt.state {
        DebtState::Annulled => return Err(PaymentError::Annulled(notice.as_str().to_owned())),
        DebtState::Expired => return Err(PaymentError::Expired(notice.as_str().to_owned())),
        DebtState::Prepared => return Err(unknown()),
        DebtState::Paid if options.is_empty() => return Err(PaymentError::AlreadyPaid(notice.as_str().to_owned())),
        DebtState::Paid | DebtState::Inserted | DebtState::PaymentStarted => {}
    }
    let facts: Vec<_> = options.iter().map(debt_options::OptionRecord::facts).collect();
    let target = match &option {
        Some(o) => Target::Option(options.iter().position(|x| x.id == o.id).ok_or_else(unknown)?),
        None => Target::Single,
    };
    let paid = debt.state == DebtState::Paid;
    match payment_options::availability(target, paid, &facts, debt_type.due_date_mandatory, today) {
        Availability::Payable => {}
        Availability::Paid => return Err(PaymentError::AlreadyPaid(notice.as_str().to_owned())),
        // BR-12: the alternative of an option paid is unknown to the Node.
        Availability::Closed => return Err(unknown()),
        Availability::Expired => return Err(PaymentError::Expired(notice.as_str().to_owned())),
    }
    if option.is_none() && is_past_due(&debt, &debt_type, today) {
        return Err(PaymentError::Expired(notice.as_str().to_owned()));
    }
    // An option is paid as the position would be, with its own IUV, amount and due date: the
    // position as that option describes it (options have one transfer: see services::debts::options).
    let debt = match &option {
        Some(o) => DebtRecord {
            iuv: Some(o.iuv.clone()),
            notice_number: Some(o.notice_number.clone()),
            amount_cents: o.amount_cents,
            due_date: Some(o.due_date),
            ..debt
        },
        None => debt,
    };
    let (transfers, all_postal) = transfers_of(&org, &debt_type, &debt, postal)?;
    Ok(PaymentView { org, debt, debt_type, transfers, all_postal, option })
}

/// A debt whose type makes the due date binding cannot be paid after it (reference/mypay.md §1.7).
pub(crate) fn is_past_due(debt: &DebtRecord, debt_type: &DebtTypeRecord, today: Date) -> bool {
    debt_type.due_date_mandatory && debt.due_date.is_some_and(|due| due.date() < today)
}

/// Builds the transfers: the org's share to the debt type's (or the org's) IBAN, and the secondary
/// org's share of a multi-beneficiary debt. With `postal`, postal IBANs are preferred where they
/// exist (what GPD does for `transferType=POSTAL`).
fn transfers_of(
    org: &OrgRecord,
    debt_type: &DebtTypeRecord,
    debt: &DebtRecord,
    postal: bool,
) -> Result<(Vec<Transfer>, bool), PaymentError> {
    let bank = debt_type.iban_bank.clone().or_else(|| org.iban_bank.clone());
    let postal_iban = debt_type.iban_postal.clone().or_else(|| org.iban_postal.clone());
    let mut metadata = Vec::new();
    let target = match (&debt.stamp_document_hash, &debt.stamp_province) {
        (Some(hash), Some(province)) => {
            TransferTarget::Stamp { document_hash: hash.clone(), province: province.clone() }
        }
        _ => match (postal, &postal_iban, &bank) {
            (true, Some(p), _) => TransferTarget::Iban(p.clone()),
            (_, p, Some(b)) => {
                // As GPD does: the bank IBAN, and the postal one as IBANAPPOGGIO for the PSP.
                if let Some(p) = p {
                    metadata.push(("IBANAPPOGGIO".to_owned(), p.clone()));
                }
                TransferTarget::Iban(b.clone())
            }
            (_, Some(p), None) => TransferTarget::Iban(p.clone()),
            (_, None, None) => {
                return Err(PaymentError::Semantic(format!(
                    "no IBAN configured for debt type {} of org {}",
                    debt_type.code, org.ipa_code
                )));
            }
        },
    };
    let category = CollectionData::parse(&debt.collection_data)
        .ok()
        .and_then(|c| c.taxonomy_code())
        .map(|t| t.as_str().to_owned())
        .unwrap_or_else(|| debt_type.taxonomy_code.clone());
    let remittance = truncate(&debt.causale, 140);
    let mut transfers = vec![Transfer {
        index: 1,
        amount: debt.amount_cents,
        fiscal_code: org.fiscal_code.clone(),
        company_name: Some(truncate(&org.name, 140)),
        target,
        remittance: remittance.clone(),
        category,
        metadata,
    }];
    let mut all_postal = postal_iban.is_some() && debt.stamp_document_hash.is_none();
    if let (Some(cents), Some(beneficiary), Some(mb_iban)) = (debt.mb_amount_cents, &debt.beneficiary, &debt.mb_iban) {
        let mb_category = debt
            .mb_collection_data
            .as_deref()
            .and_then(|d| CollectionData::parse(d).ok())
            .and_then(|c| c.taxonomy_code())
            .or_else(|| TaxonomyCode::parse(&debt_type.taxonomy_code).ok())
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| debt_type.taxonomy_code.clone());
        all_postal = all_postal && crate::domain::Iban::parse(mb_iban).is_ok_and(|i| i.is_postal());
        transfers.push(Transfer {
            index: 2,
            amount: cents,
            fiscal_code: beneficiary.id.clone(),
            company_name: Some(truncate(&beneficiary.name, 140)),
            target: TransferTarget::Iban(mb_iban.clone()),
            remittance: debt.mb_causale.as_deref().map(|c| truncate(c, 140)).unwrap_or(remittance),
            category: mb_category,
            metadata: Vec::new(),
        });
    }
    Ok((transfers, all_postal))
}

/// At most `max` characters (the contracts' text140 and friends).
pub fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// What happened to a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// Stored; `flag` says why an operator should look at it, if at all; `held` that it does not
    /// pay what was asked and settled nothing.
    Stored { flag: Option<String>, held: bool },
    /// The same receipt was already stored: nothing changed.
    Replay,
}

/// The exchange a receipt arrived in, for the audit journal.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// Who delivered it: `node` (the station), `region` (an upstream MyPay).
    pub actor: &'a str,
    pub response: &'a str,
    pub duration_ms: i64,
}

/// Stores a receipt (for the org with `fiscal_code`) and updates its debt, all in one transaction,
/// together with the audit entry of the exchange and, when the org and the debt type want it, the
/// queued outcome push: see [`store_receipt`].
pub fn accept_receipt(
    db: &Db,
    fiscal_code: &str,
    receipt: ReceiptRecord,
    issues: &[ShapeIssue],
    exchange: &Exchange<'_>,
    now: Now,
) -> Result<ReceiptOutcome, PaymentError> {
    db.write(|tx| {
        let org = orgs::find_org_by_fiscal_code(tx, fiscal_code)?
            .ok_or_else(|| PaymentError::UnknownOrg(fiscal_code.to_owned()))?;
        store_receipt(tx, &org, fiscal_code, receipt, issues, exchange, now)
    })
}

/// Inside the caller's transaction: stores a receipt of `org` naming `creditor` as its creditor,
/// updates its debt, writes the audit entry of the exchange and, when the org and the debt type
/// want it, queues the outcome push. The one path of every receipt, whoever delivered it.
///
/// A receipt settles an open debt only when it pays what the station offered for it in
/// paGetPayment (any of the offers; without one, e.g. after the Node's stand-in or when a regional
/// MyPay's station took the payment, the debt's own amount and beneficiaries). One that does not
/// is stored held, settles nothing and opens a `RICEVUTA_DIFFORME` anomaly; every other flag but
/// `ESITO_KO` opens an anomaly of its name. A receipt that deviates from the schema (`issues`) is
/// stored all the same and opens a `RICEVUTA_NON_CONFORME` anomaly naming the deviations; whether
/// it settles is still its terms'. A receipt already stored (org, IUV, receipt id) is a replay.
pub(crate) fn store_receipt(
    tx: &crate::store::Conn,
    org: &OrgRecord,
    creditor: &str,
    mut receipt: ReceiptRecord,
    issues: &[ShapeIssue],
    exchange: &Exchange<'_>,
    now: Now,
) -> Result<ReceiptOutcome, PaymentError> {
    let today = now.today();
    if receipts::find_receipt(tx, org.id, &receipt.iuv, &receipt.receipt_id)?.is_some() {
        return Ok(ReceiptOutcome::Replay);
    }
    receipt.org_id = org.id;
    let (debt, option) = match debts::find_any_debt_by_iuv(tx, org.id, &receipt.iuv)? {
        Some(debt) => (Some(debt), None),
        // One of a position's other payment options: the receipt belongs to the position.
        None => match debt_options::find_any_option_by_iuv(tx, org.id, &receipt.iuv)? {
            Some(o) => (debts::find_debt_by_id(tx, o.debt_id)?, Some(o)),
            None => (None, None),
        },
    };
    let options = match &debt {
        Some(d) => debt_options::list_options(tx, d.id)?,
        None => Vec::new(),
    };
    receipt.debt_id = debt.as_ref().map(|d| d.id);
    let ok = receipt.outcome == "OK";
    let state = debt.as_ref().map(|d| d.state);
    let earlier_ok = receipts::count_ok_receipts(tx, org.id, &receipt.iuv)? > 0;
    let mut mismatch = None;
    // The option this receipt pays, when it settles one (marked paid once the receipt is stored).
    let mut settles_option = None;
    let mut details = "{}".to_owned();
    let (flag, new_state) = match (ok, &debt, state) {
        (false, Some(_), Some(s)) => (Some("ESITO_KO"), s.apply(DebtEvent::PaymentFailed).ok()),
        (false, _, _) => (Some("ESITO_KO"), None),
        (true, None, _) | (true, Some(_), None) => (Some("DOVUTO_SCONOSCIUTO"), None),
        (true, Some(_), Some(DebtState::Annulled)) => (Some("DOVUTO_ANNULLATO"), None),
        (true, Some(_), Some(DebtState::Expired)) => (Some("DOVUTO_SCADUTO"), None),
        (true, Some(d), Some(s)) if !options.is_empty() => {
            // A position with payment options: BR-12 says whether this one may still be paid.
            let facts: Vec<_> = options.iter().map(debt_options::OptionRecord::facts).collect();
            let index = option.as_ref().and_then(|o| options.iter().position(|x| x.id == o.id));
            let target = index.map_or(Target::Single, Target::Option);
            let binding =
                debt_types::find_debt_type_by_id(tx, org.id, d.debt_type_id)?.is_some_and(|t| t.due_date_mandatory);
            match payment_options::availability(target, s == DebtState::Paid, &facts, binding, today) {
                Availability::Paid => (if earlier_ok { Some("DOPPIO_PAGAMENTO") } else { None }, None),
                Availability::Closed => {
                    // Paid through an alternative already paid: stored and flagged, never lost.
                    details = serde_json::json!({ "closed_alternative": receipt.iuv }).to_string();
                    (Some("DOPPIO_PAGAMENTO"), None)
                }
                found @ (Availability::Payable | Availability::Expired) => {
                    let amount = option.as_ref().map_or(d.amount_cents, |o| o.amount_cents);
                    let received = receipts::received_terms(creditor, &receipt);
                    mismatch = unmatched_offer(tx, org, d, amount, option.is_none(), &received)?;
                    let next = match (&mismatch, index) {
                        (Some(_), _) => None,
                        (None, Some(i)) => {
                            settles_option = option.as_ref().map(|o| o.id);
                            let mut after = facts.clone();
                            if let Some(f) = after.get_mut(i) {
                                f.state = payment_options::OptionState::Paid;
                            }
                            if payment_options::completes_position(&after, i) {
                                s.apply(DebtEvent::PaymentSucceeded).ok()
                            } else {
                                None
                            }
                        }
                        (None, None) => s.apply(DebtEvent::PaymentSucceeded).ok(),
                    };
                    let late = found == Availability::Expired
                        || (option.is_none()
                            && debt_types::find_debt_type_by_id(tx, org.id, d.debt_type_id)?
                                .is_some_and(|t| is_past_due(d, &t, today)));
                    (if late { Some("DOVUTO_SCADUTO") } else { None }, next)
                }
            }
        }
        (true, Some(_), Some(DebtState::Paid)) => (if earlier_ok { Some("DOPPIO_PAGAMENTO") } else { None }, None),
        (true, Some(d), Some(s)) => {
            mismatch =
                unmatched_offer(tx, org, d, d.amount_cents, true, &receipts::received_terms(creditor, &receipt))?;
            let past_due = debt_types::find_debt_type_by_id(tx, org.id, d.debt_type_id)?
                .is_some_and(|t| is_past_due(d, &t, today));
            let next = if mismatch.is_some() { None } else { s.apply(DebtEvent::PaymentSucceeded).ok() };
            (if past_due { Some("DOVUTO_SCADUTO") } else { None }, next)
        }
    };
    receipt.flag = flag.map(str::to_owned);
    receipt.held = mismatch.is_some();
    // The outcome date is the payment's Italian day (a time with an offset converted to
    // Europe/Rome); without a readable one, today.
    receipt.payment_date =
        receipt.payment_date_time.as_deref().and_then(crate::clock::rome_local).map_or(today, |t| t.date()).into();
    let id = match receipts::insert_receipt(tx, &receipt, &now.iso()) {
        Ok(id) => id,
        // A concurrent delivery of the same receipt won the race inside SQLite's lock.
        Err(StoreError::Duplicate(_)) => return Ok(ReceiptOutcome::Replay),
        Err(other) => return Err(other.into()),
    };
    if let (Some(d), Some(next)) = (&debt, new_state) {
        debts::update_debt_state(tx, d.id, next, &now.iso())?;
    }
    if let Some(option_id) = settles_option {
        debt_options::mark_paid(tx, option_id, &now.iso())?;
    }
    if let (Some(d), false) = (&debt, receipt.held) {
        outcome_push::queue_in(tx, d, id, now)?;
    }
    let mut found = Vec::new();
    match (&mismatch, &receipt.flag) {
        (Some(discrepancies), _) => found
            .push((crate::store::anomalies::RECEIPT_MISMATCH, crate::store::anomalies::receipt_details(discrepancies))),
        (None, Some(flag)) if flag != "ESITO_KO" => found.push((flag.as_str(), details.clone())),
        _ => {}
    }
    if !issues.is_empty() {
        found.push((crate::store::anomalies::RECEIPT_NONCONFORMING, crate::store::anomalies::shape_details(issues)));
    }
    for (kind, details) in &found {
        let new = crate::store::anomalies::NewAnomaly {
            org_id: org.id,
            kind,
            object_kind: "receipt",
            object_id: id,
            details,
        };
        crate::store::anomalies::insert_anomaly(tx, &new, &now.iso())?;
    }
    let anomaly = found.first();
    let object = format!("receipt:{}/{}/{}", org.ipa_code, receipt.iuv, receipt.receipt_id);
    let outcome = match &anomaly {
        Some((kind, _)) => (*kind).to_owned(),
        None => receipt.flag.clone().unwrap_or_else(|| "OK".to_owned()),
    };
    let entry = audit::AuditEntry {
        actor: exchange.actor,
        org_id: Some(org.id),
        action: &receipt.primitive,
        object: Some(&object),
        outcome: &outcome,
        request: Some(&receipt.request_xml),
        response: Some(exchange.response),
        duration_ms: Some(exchange.duration_ms),
        ..Default::default()
    };
    audit::insert_audit(tx, &entry, &now.iso())?;
    match &mismatch {
        Some(found) => {
            let what = found.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            tracing::warn!(receipt = id, iuv = %receipt.iuv, discrepancies = %what, "receipt held: it does not pay what was asked");
        }
        None => tracing::info!(receipt = id, iuv = %receipt.iuv, flag = ?receipt.flag, "receipt stored"),
    }
    if !issues.is_empty() {
        tracing::warn!(receipt = id, iuv = %receipt.iuv, issues = issues.len(), first = %issues.iter().next().map(ToString::to_string).unwrap_or_default(), "receipt stored though it deviates from the schema");
    }
    Ok(ReceiptOutcome::Stored { flag: receipt.flag.clone(), held: receipt.held })
}

/// How `received` differs from every payment the station offered for `debt` (or, with no offer
/// on record, from the debt's own amount and beneficiaries); `None` when it pays one of them.
///
/// `amount` is what the option paid for asks (the debt's own amount for its single option); only
/// the single option has a secondary beneficiary. The offers of every option of the position are
/// on record together: a receipt must pay one of them, its IUV says which option it paid.
fn unmatched_offer(
    tx: &crate::store::Conn,
    org: &OrgRecord,
    debt: &DebtRecord,
    amount: Cents,
    single: bool,
    received: &PaymentTerms,
) -> Result<Option<Vec<Discrepancy>>, StoreError> {
    let mut offers = payment_offers::list_offers(tx, debt.id)?;
    if offers.is_empty() {
        let secondary = match (debt.mb_amount_cents, &debt.beneficiary, single) {
            (Some(cents), Some(beneficiary), true) => Some((cents, beneficiary.id.as_str())),
            _ => None,
        };
        offers.push(PaymentTerms::of_debt(&org.fiscal_code, amount, secondary));
    }
    Ok(payment_terms::unmatched(&offers, received))
}

/// A spontaneous payment started at a PSP (paDemandPaymentNotice): creates the debt of the debt type
/// that the org offers in the service catalogue as `service_id`, with a generated notice number.
pub fn demand_notice(db: &Db, fiscal_code: &str, service_id: &str, now: Now) -> Result<PaymentView, PaymentError> {
    let today = now.today();
    let (org, debt_type) = db.read(|conn| {
        let org = orgs::find_org_by_fiscal_code(conn, fiscal_code)?
            .filter(|o| o.state.is_registered_with_pagopa())
            .ok_or_else(|| PaymentError::UnknownOrg(fiscal_code.to_owned()))?;
        let debt_type = debt_types::find_debt_type_by_service(conn, org.id, service_id)?
            .filter(|t| t.active)
            .ok_or_else(|| PaymentError::UnknownNotice(format!("service {service_id}")))?;
        Ok::<_, PaymentError>((org, debt_type))
    })?;
    let Some(amount) = debt_type.fixed_amount_cents else {
        return Err(PaymentError::Semantic(format!("debt type {} has no fixed amount", debt_type.code)));
    };
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).map_err(|err| PaymentError::Semantic(format!("no randomness: {err}")))?;
    let suffix: String = random.iter().map(|b| format!("{b:02X}")).collect();
    let fields = DebtFields {
        iud: format!("PSP-{}-{suffix}", today.strftime("%Y%m%d")),
        debtor_kind: "F".to_owned(),
        debtor_id: "ANONIMO".to_owned(),
        debtor_name: "ANONIMO".to_owned(),
        amount: amount.to_decimal_string(),
        debt_type: debt_type.code.clone(),
        causale: debt_type.description.clone(),
        collection_data: format!("9/{}/", debt_type.taxonomy_code),
        generate_iuv: true,
        ..DebtFields::default()
    };
    // The debtor of a payment started at a PSP is unknown to us: allow ANONIMO for this one debt.
    let debt = crate::services::debts::add_debt_as(
        db,
        "node",
        &org.ipa_code,
        &fields,
        crate::services::debts::Source::Node,
        now,
        true,
    )?;
    let notice = debt.notice_number.ok_or_else(|| PaymentError::Semantic("no notice number generated".to_owned()))?;
    verify(db, &org.fiscal_code, &notice, today)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::anomalies::{self, Resolution};
    use super::*;
    use crate::services::testkit::{FISCAL_CODE, IBAN, Kit, POSTAL_IBAN};
    use crate::store::receipts::ReceiptTransferRecord;

    /// A successful receipt of `cents` for `debt`, crediting `iban`.
    fn receipt(debt: &DebtRecord, id: &str, cents: i64, iban: &str) -> ReceiptRecord {
        ReceiptRecord {
            receipt_id: id.to_owned(),
            notice_number: debt.notice_number.clone().unwrap().to_string(),
            iuv: debt.iuv.clone().unwrap().to_string(),
            outcome: "OK".to_owned(),
            amount_cents: Cents::new(cents),
            primitive: "paSendRTV2".to_owned(),
            payment_date_time: Some("2026-12-07T10:15:00".to_owned()),
            transfers: vec![ReceiptTransferRecord {
                index: 1,
                amount_cents: Cents::new(cents),
                fiscal_code: FISCAL_CODE.to_owned(),
                iban: Some(iban.to_owned()),
                ..ReceiptTransferRecord::default()
            }],
            ..ReceiptRecord::default()
        }
    }

    fn accept(kit: &Kit, r: ReceiptRecord) -> ReceiptOutcome {
        let exchange = Exchange { actor: "node", response: "<ok/>", duration_ms: 1 };
        accept_receipt(&kit.db, FISCAL_CODE, r, &[], &exchange, kit.now).unwrap()
    }

    fn state(kit: &Kit, debt: &DebtRecord) -> String {
        kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap().state.code().to_owned()
    }

    #[test]
    fn a_receipt_that_pays_the_offer_settles_the_debt() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        let view = get_payment(&kit.db, FISCAL_CODE, &Kit::notice(&debt), false, kit.now).unwrap();
        assert_eq!(view.terms().transfers[0].iban.as_deref(), Some(IBAN));
        assert_eq!(accept(&kit, receipt(&debt, "R1", 2000, IBAN)), ReceiptOutcome::Stored { flag: None, held: false });
        assert_eq!(state(&kit, &debt), "COMPLETATO");
        assert_eq!(accept(&kit, receipt(&debt, "R1", 2000, IBAN)), ReceiptOutcome::Replay);
    }

    #[test]
    fn a_postal_offer_is_one_more_way_to_pay_not_a_replacement() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        let notice = Kit::notice(&debt);
        get_payment(&kit.db, FISCAL_CODE, &notice, false, kit.now).unwrap();
        get_payment(&kit.db, FISCAL_CODE, &notice, true, kit.now).unwrap();
        let offers = kit.db.read(|c| payment_offers::list_offers(c, debt.id)).unwrap();
        assert_eq!(offers.len(), 2, "the bank and the postal answer are both on record");
        let outcome = accept(&kit, receipt(&debt, "R1", 2000, POSTAL_IBAN));
        assert_eq!(outcome, ReceiptOutcome::Stored { flag: None, held: false });
    }

    #[test]
    fn a_receipt_that_differs_is_held_with_an_anomaly_until_an_admin_accepts_it() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        assert_eq!(accept(&kit, receipt(&debt, "R1", 1, IBAN)), ReceiptOutcome::Stored { flag: None, held: true });
        assert_eq!(state(&kit, &debt), "INSERIMENTO_DOVUTO", "a held receipt settles nothing");
        assert!(kit.db.read(|c| receipts::list_ok_receipts_for_debt(c, debt.id)).unwrap().is_empty());

        let org = kit.db.read(|c| orgs::find_org_by_ipa(c, crate::services::testkit::IPA)).unwrap().unwrap();
        let admin = crate::services::admin::access::OrgAccess {
            username: "admin".to_owned(),
            org: org.clone(),
            admin: true,
            app_admin: false,
            allowed_types: None,
        };
        let open = anomalies::list(&kit.db, &admin, true).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].record.kind, "RICEVUTA_DIFFORME");
        assert!(open[0].can_accept());
        let operator = crate::services::admin::access::OrgAccess { admin: false, ..admin.clone() };
        assert!(anomalies::list(&kit.db, &operator, true).is_err(), "operators do not review anomalies");
        let id = open[0].record.id;
        assert!(anomalies::resolve(&kit.db, &admin, id, Resolution::Accept, " ", kit.now).is_err());
        anomalies::resolve(&kit.db, &admin, id, Resolution::Accept, "confirmed by the PSP", kit.now).unwrap();
        assert_eq!(state(&kit, &debt), "COMPLETATO");
        assert_eq!(kit.db.read(|c| receipts::list_ok_receipts_for_debt(c, debt.id)).unwrap().len(), 1);
        assert!(anomalies::resolve(&kit.db, &admin, id, Resolution::Dismiss, "again", kit.now).is_err());
    }

    #[test]
    fn without_an_offer_the_debt_itself_is_the_measure() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        // The Node's stand-in answered the PSP itself: no offer of ours, any account accepted.
        let outcome = accept(&kit, receipt(&debt, "R1", 2000, "IT02A0301503200000003517230"));
        assert_eq!(outcome, ReceiptOutcome::Stored { flag: None, held: false });
        assert_eq!(state(&kit, &debt), "COMPLETATO");
        // A second payment of a paid debt is a double payment, with its anomaly.
        let outcome = accept(&kit, receipt(&debt, "R2", 2000, IBAN));
        assert_eq!(outcome, ReceiptOutcome::Stored { flag: Some("DOPPIO_PAGAMENTO".to_owned()), held: false });
    }
}
