//! How a payment outcome from the regional MyPay becomes a receipt on the box (issue 18, "Outcomes
//! back"): the port to the Region ([`RegionOutcomes`], implemented by the upstream adapter; tests
//! use a double), the Region's account of one payment ([`RegionPayment`]), storing it as if the
//! box's own station had received it ([`apply`]), and the confirmation of a push hint ([`confirm`]).
//!
//! A receipt from the Region goes through `payments::store_receipt`, the station's own path: one
//! transaction, a replay (same org, IUV and receipt id) stores nothing, it settles only what the
//! debt asks (the box made no offer: the Region's station did), anomalies, the outcome push to the
//! municipality's systems, the audit entry (actor `region`). The receipt is read from the Region's
//! `rt` bytes with the station's lenient reader (`flows::receipt_xml`: a paSendRT(V2) SOAP request,
//! as a regional mypay sends, or a bare `receipt` element, as MyPay does). When the `rt` cannot be
//! read, or names another IUV, the receipt is built from the Region's `Pagati` fields and flagged
//! with a shape issue on `rt` (a `RICEVUTA_NON_CONFORME` anomaly): never lost. The Region's
//! `codiceEsitoPagamento` is authoritative: an `rt` that says OK of a payment the Region does not
//! call paid (code other than `0`) is stored KO, with an issue.
//!
//! Debts are matched by IUV (mirrored debts carry the Region's). A debt of a payment session started
//! at the Region has no IUV yet: it is matched by an IUD of the payment, within the org, and takes
//! the Region's IUV and notice number first, in the same transaction. A receipt of no debt is
//! stored and flagged `DOVUTO_SCONOSCIUTO`, as the station does.
//!
//! Must never: mark anything paid on a push's own word ([`confirm`] applies only what the Region
//! answers to the box's own question).

use std::path::Path;

pub use super::RegionFailure;

use crate::clock::Now;
use crate::domain::receipt_shape::{ShapeIssue, ShapeProblem};
use crate::domain::{Cents, Iuv, NoticeNumber, Party};
use crate::flows::pagati_read::PagatiDoc;
use crate::flows::receipt_xml::{self, RtError};
use crate::services::payments::{self, Exchange, PaymentError, ReceiptOutcome};
use crate::services::{Change, ServiceError, journal_change};
use crate::store::orgs::{self, OrgRecord};
use crate::store::receipts::{ReceiptRecord, ReceiptTransferRecord};
use crate::store::{Conn, StoreError, debts, receipts};

/// The audit actor of what the Region delivers.
pub const ACTOR: &str = "region";

/// What `paaSILChiediPagatiConRicevuta` is asked about: exactly one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidKey {
    Iuv(String),
    Iud(String),
    /// `idSession` of a payment session started at the Region.
    #[allow(dead_code, reason = "the payments' return asks by session through their own port")]
    Session(String),
}

/// A reserved incremental export: its token and the `dateTo` the Region answered (the next
/// `dateFrom`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub token: String,
    pub date_to: String,
}

/// Where a reserved export stands (`paaSILChiediStatoExportFlusso`'s `stato`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportState {
    /// `LOAD_EXPORT`, `EXPORT_IN_ELAB`: ask again later.
    Pending,
    /// `EXPORT_ESEGUITO` with a `downloadUrl`.
    Ready { url: String },
    /// `EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO` (or done without a file): the window is empty.
    Empty,
    /// `ERROR_EXPORT` or any other state: the Region gave up on this reservation.
    Failed { state: String },
}

/// The port to the regional MyPay's SIL services the outcomes need.
pub trait RegionOutcomes {
    /// `paaSILChiediPagatiConRicevuta`: the Region's account of the payment, or `None` when it has
    /// no outcome for the key ([`means_no_outcome`] lists the faults that say so).
    fn paid(&self, key: PaidKey) -> Result<Option<RegionPayment>, RegionFailure>;
    /// `paaSILPrenotaExportFlussoIncrementaleConRicevuta` with `ricevuta` and `incrementale` true,
    /// from `from` to `to` (the Region's now when `None`).
    fn reserve_export(&self, from: &str, to: Option<&str>) -> Result<Reserved, RegionFailure>;
    /// `paaSILChiediStatoExportFlusso`; never waits.
    fn export_status(&self, token: &str) -> Result<ExportState, RegionFailure>;
    /// Downloads the export's ZIP into the file `into`, refusing more than `max_bytes`.
    fn download(&self, url: &str, into: &Path, max_bytes: u64) -> Result<(), RegionFailure>;
}

/// The faults of `paaSILChiediPagatiConRicevuta` that mean the Region has no outcome for the key, so
/// that [`RegionOutcomes::paid`] answers `None` (reference/mypay.md §4.3): nothing started, the
/// session abandoned or expired, an unknown key. `PAA_PAGAMENTO_IN_CORSO` is not one: the outcome
/// is coming, so it is a retryable failure; so are `PAA_SYSTEM_ERROR` and transport errors.
pub const NO_OUTCOME_FAULTS: [&str; 7] = [
    "PAA_PAGAMENTO_NON_INIZIATO",
    "PAA_PAGAMENTO_ANNULLATO",
    "PAA_PAGAMENTO_SCADUTO",
    "PAA_ID_SESSION_NON_VALIDO",
    "PAA_DATI_NON_TROVATI",
    "PAA_IUV_NON_VALIDO",
    "PAA_IUD_NON_VALIDO",
];

/// Whether a fault of `paaSILChiediPagatiConRicevuta` means "no outcome" (see [`NO_OUTCOME_FAULTS`]).
pub fn means_no_outcome(code: &str) -> bool {
    NO_OUTCOME_FAULTS.contains(&code.trim())
}

/// Whether a failure is retryable by MyPay's code, for the adapter: `PAA_SYSTEM_ERROR` and
/// `PAA_PAGAMENTO_IN_CORSO` are; a code that names the request or the credentials is not.
pub fn retryable_fault(code: &str) -> bool {
    matches!(code.trim(), "PAA_SYSTEM_ERROR" | "PAA_PAGAMENTO_IN_CORSO")
}

/// One `datiSingoloPagamento` of the Region's account (one paid dovuto).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaidLine {
    /// `identificativoUnivocoDovuto`.
    pub iud: String,
    /// `singoloImportoPagato`.
    pub amount: Cents,
    /// `indiceDatiSingoloPagamento` (the receipt's transfer), when given.
    pub index: Option<i64>,
    /// `causaleVersamento`.
    pub causale: String,
    /// `datiSpecificiRiscossione` (`9/<taxonomy>/…`).
    pub collection_data: String,
}

/// What the Region says about one payment: a `PagatiConRicevuta` answer, a push's `esito`, or the
/// rows of one receipt in an export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionPayment {
    /// `identificativoUnivocoVersamento`.
    pub iuv: String,
    pub lines: Vec<PaidLine>,
    /// `codiceEsitoPagamento`: `0` paid, `1` not paid, `2` partial, `3`/`4` expired.
    pub outcome_code: String,
    /// `importoTotalePagato`.
    pub total_paid: Cents,
    /// `identificativoUnivocoRiscossione`: pagoPA's `receiptId`.
    pub receipt_id: String,
    /// When it was paid: `dataOraMessaggioRicevuta`, else `dataEsitoSingoloPagamento`.
    pub paid_at: Option<String>,
    /// `soggettoPagatore`: the debtor.
    pub debtor: Option<Party>,
    /// The versante, when the Region names one (exports do).
    pub payer: Option<Party>,
    /// The attestante: the PSP's code and name, when known.
    pub psp_id: String,
    pub psp_name: String,
    /// The receipt as the Region keeps it (the `rt`).
    pub rt: Vec<u8>,
    /// The Pagati document as received, for the audit journal; empty when there is none (exports).
    pub document: String,
}

impl RegionPayment {
    /// Whether the Region calls it paid (`codiceEsitoPagamento` 0).
    pub fn is_paid(&self) -> bool {
        self.outcome_code.trim() == "0"
    }

    /// The account of a `PagatiConRicevuta` answer (`flows::pagati_read`), with its `rt` and the
    /// document as received: what the adapter's [`RegionOutcomes::paid`] returns. The receipt id is
    /// the first payment's IUR, else `identificativoMessaggioRicevuta`.
    pub fn from_pagati(doc: &PagatiDoc, rt: Option<Vec<u8>>, document: String) -> RegionPayment {
        let first = doc.payments.first();
        let receipt_id = first.map(|p| p.collection_id.trim()).filter(|id| !id.is_empty()).unwrap_or(&doc.receipt_id);
        let paid_at = Some(doc.receipt_at.trim()).filter(|t| !t.is_empty()).map(str::to_owned);
        RegionPayment {
            iuv: doc.iuv.clone(),
            lines: doc
                .payments
                .iter()
                .map(|p| PaidLine {
                    iud: p.iud.clone(),
                    amount: p.amount,
                    index: p.index.map(i64::from),
                    causale: p.causale.clone(),
                    collection_data: p.collection_data.clone(),
                })
                .collect(),
            outcome_code: doc.outcome.code().to_owned(),
            total_paid: doc.total_paid,
            receipt_id: receipt_id.to_owned(),
            paid_at: paid_at.or_else(|| first.map(|p| p.date.to_string())),
            debtor: Some(doc.payer.clone()).filter(|p| !p.id.is_empty()),
            payer: None,
            psp_id: doc.attestor.code.clone(),
            psp_name: doc.attestor.name.clone(),
            rt: rt.unwrap_or_default(),
            document,
        }
    }
}

/// How confirming a push hint ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The Region confirmed it; its receipt is stored.
    Applied,
    /// The Region confirmed it; the receipt was stored before.
    Replay,
    /// The Region has no such payment: nothing is marked paid.
    NotConfirmed,
    /// The Region could not be asked; ask again later (also when it refused the org's credentials:
    /// the hint waits until they are fixed). Nothing changed.
    Retry(String),
}

/// Confirms a push hint about `key` of org `org_id`: asks the Region and applies *its* answer, never
/// the pushed bytes. An answer about another payment than the one asked is not a confirmation.
pub fn confirm(
    db: &crate::store::Db,
    org_id: i64,
    key: PaidKey,
    region: &dyn RegionOutcomes,
    now: Now,
) -> Result<Confirmation, ServiceError> {
    let payment = match region.paid(key.clone()) {
        Ok(Some(payment)) => payment,
        Ok(None) => {
            tracing::warn!(org_id, key = ?key, "the Region has no outcome for a pushed payment: nothing marked paid");
            return Ok(Confirmation::NotConfirmed);
        }
        Err(failure) => return Ok(Confirmation::Retry(failure.to_string())),
    };
    let answers_the_question = match &key {
        PaidKey::Iuv(iuv) => payment.iuv.trim() == iuv.trim(),
        PaidKey::Iud(iud) => payment.lines.iter().any(|l| l.iud.trim() == iud.trim()),
        PaidKey::Session(_) => true,
    };
    if !answers_the_question {
        tracing::warn!(org_id, key = ?key, iuv = %payment.iuv, "the Region answered about another payment: nothing applied");
        return Ok(Confirmation::NotConfirmed);
    }
    Ok(match apply(db, org_id, &payment, &payment.document, now)? {
        ReceiptOutcome::Stored { .. } => Confirmation::Applied,
        ReceiptOutcome::Replay => Confirmation::Replay,
    })
}

/// Stores the Region's account of a payment as a receipt of org `org_id`, as if the box's station
/// had received it (see the module doc). `response` is what the audit entry records as the
/// Region's answer.
pub fn apply(
    db: &crate::store::Db,
    org_id: i64,
    payment: &RegionPayment,
    response: &str,
    now: Now,
) -> Result<ReceiptOutcome, ServiceError> {
    let org =
        db.read(|c| orgs::find_org_by_id(c, org_id))?.ok_or_else(|| ServiceError::NotFound(format!("org {org_id}")))?;
    let (creditor, receipt, issues) = receipt_of(&org, payment);
    let exchange = Exchange { actor: ACTOR, response, duration_ms: 0 };
    db.write(|tx| {
        // A replay changes nothing, not even a debt's IUV.
        let replay = receipts::find_receipt(tx, org.id, &receipt.iuv, &receipt.receipt_id)?.is_some();
        if !replay && debts::find_any_debt_by_iuv(tx, org.id, &receipt.iuv)?.is_none() {
            adopt_by_iud(tx, &org, payment, &receipt, now)?;
        }
        let outcome = payments::store_receipt(tx, &org, &creditor, receipt, &issues, &exchange, now)?;
        if matches!(outcome, ReceiptOutcome::Stored { .. }) {
            // The link's last receipt, whichever way it came (push, polling, the payer's return).
            crate::store::upstream::update_link_receipt(tx, org.id, &now.iso())?;
        }
        Ok(outcome)
    })
    .map_err(|err| match err {
        PaymentError::Store(store) => ServiceError::Store(store),
        other => ServiceError::Internal(other.to_string()),
    })
}

/// The receipt of a payment, the creditor it names and its shape issues: read from the `rt`, or
/// built from the Pagati fields when the `rt` is missing, unreadable or about another IUV.
fn receipt_of(org: &OrgRecord, payment: &RegionPayment) -> (String, ReceiptRecord, Vec<ShapeIssue>) {
    let problem = match receipt_xml::read_rt(&payment.rt) {
        Ok(read) if payment.iuv.is_empty() || read.receipt.iuv == payment.iuv.trim() => {
            let (mut receipt, mut issues) = (read.receipt, read.issues);
            if receipt.outcome == "OK" && !payment.outcome_code.trim().is_empty() && !payment.is_paid() {
                issues.push(ShapeIssue::invalid("esito/codiceEsitoPagamento", &payment.outcome_code));
                receipt.outcome = "KO".to_owned();
            }
            let creditor = read.fiscal_code.unwrap_or_else(|| org.fiscal_code.clone());
            return (creditor, receipt, issues);
        }
        Ok(read) => ShapeIssue::invalid("rt/receipt/creditorReferenceId", &read.receipt.iuv),
        Err(RtError::Empty) => ShapeIssue::new("rt", ShapeProblem::Missing),
        Err(err) => ShapeIssue::invalid("rt", &err.to_string()),
    };
    tracing::warn!(iuv = %payment.iuv, problem = %problem, "the Region's rt is not a readable receipt: built from its Pagati");
    (org.fiscal_code.clone(), from_pagati(org, payment), vec![problem])
}

/// At most `max` characters.
fn cut(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

/// The transfer category of `datiSpecificiRiscossione` (`9/0101002IM/…` gives `0101002IM`).
fn category(collection_data: &str) -> String {
    collection_data.split('/').nth(1).map(|c| cut(c, 140)).unwrap_or_default()
}

/// A receipt built from the Region's Pagati fields: IUV, IUR as receipt id, amounts (one transfer
/// per paid dovuto, to the org), date, debtor and payer, outcome. Its document is the `rt` as
/// received (or the Pagati when there is no `rt`), so nothing the Region sent is lost.
fn from_pagati(org: &OrgRecord, payment: &RegionPayment) -> ReceiptRecord {
    let iuv = cut(&payment.iuv, 35);
    let document = if payment.rt.is_empty() {
        payment.document.clone()
    } else {
        String::from_utf8_lossy(&payment.rt).into_owned()
    };
    let receipt_id = match cut(&payment.receipt_id, 35) {
        id if !id.is_empty() => id,
        _ => {
            // Without an IUR the same account must still be recognised as one receipt.
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(format!("{iuv}\n{}\n{document}", payment.total_paid.get()).as_bytes());
            let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
            format!("SENZA-ID-{hex}")
        }
    };
    let notice_number =
        Iuv::parse(&iuv).ok().and_then(|i| i.notice_number(None)).map(|n| n.as_str().to_owned()).unwrap_or_default();
    let mut transfers: Vec<ReceiptTransferRecord> = Vec::new();
    for line in payment.lines.iter().take(5) {
        let free = |i: &i64| transfers.iter().all(|t| t.index != *i);
        let Some(index) = line.index.filter(|i| (1..=5).contains(i) && free(i)).or_else(|| (1..=5).find(free)) else {
            break;
        };
        transfers.push(ReceiptTransferRecord {
            index,
            amount_cents: line.amount,
            fiscal_code: org.fiscal_code.clone(),
            remittance: cut(&line.causale, 140),
            category: category(&line.collection_data),
            ..ReceiptTransferRecord::default()
        });
    }
    ReceiptRecord {
        receipt_id,
        notice_number,
        iuv,
        outcome: if payment.is_paid() { "OK" } else { "KO" }.to_owned(),
        amount_cents: payment.total_paid,
        description: payment.lines.first().map(|l| cut(&l.causale, 140)).unwrap_or_default(),
        company_name: cut(&org.name, 140),
        debtor: payment.debtor.clone().unwrap_or_default(),
        payer: payment.payer.clone(),
        psp_id: cut(&payment.psp_id, 35),
        psp_company_name: cut(&payment.psp_name, 70),
        payment_date_time: payment.paid_at.as_deref().map(|t| cut(t, 35)).filter(|t| !t.is_empty()),
        primitive: "paSendRTV2".to_owned(),
        request_xml: document,
        transfers,
        ..ReceiptRecord::default()
    }
}

/// Inside the receipt's transaction, when no debt has its IUV: the live debt of the org with one of
/// the payment's IUDs and no IUV yet (a payment session started at the Region) takes the Region's
/// IUV and notice number, so that the receipt then finds it. A debt with another IUV is left alone.
fn adopt_by_iud(
    tx: &Conn,
    org: &OrgRecord,
    payment: &RegionPayment,
    receipt: &ReceiptRecord,
    now: Now,
) -> Result<(), StoreError> {
    let Ok(iuv) = Iuv::parse(&receipt.iuv) else {
        return Ok(());
    };
    let notice =
        NoticeNumber::parse(&receipt.notice_number).ok().filter(|n| n.iuv() == iuv).or_else(|| iuv.notice_number(None));
    for line in payment.lines.iter().filter(|l| !l.iud.trim().is_empty()) {
        let Some(debt) = debts::find_debt_by_iud(tx, org.id, line.iud.trim())? else {
            continue;
        };
        if debt.iuv.is_some() {
            continue;
        }
        match debts::update_debt_region_iuv(tx, debt.id, &iuv, notice.as_ref(), &now.iso()) {
            Ok(true) => {}
            Ok(false) | Err(StoreError::Duplicate(_)) => continue,
            Err(other) => return Err(other),
        }
        let object = format!("debt:{}/{}", org.ipa_code, debt.iud);
        let after = serde_json::json!({ "iud": debt.iud, "iuv": iuv.as_str(),
            "notice_number": notice.as_ref().map(NoticeNumber::as_str) })
        .to_string();
        let change = Change {
            actor: ACTOR,
            org_id: Some(org.id),
            action: "debt.iuv",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        tracing::info!(iud = %debt.iud, iuv = %iuv, "a debt paid at the Region takes the Region's IUV");
        return Ok(());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::super::fake_region::{FakeRegion, bare_receipt, payment, rt_envelope};
    use super::*;
    use crate::domain::debt_row::DebtFields;
    use crate::domain::{GeneratorId, SegregationCode, generate_iuv17};
    use crate::services::admin::debt_types::{DebtTypeChanges, set_debt_type};
    use crate::services::payments::outcome_push::{self, PushSettings};
    use crate::services::testkit::{FISCAL_CODE, IPA, Kit};
    use crate::store::anomalies::{self, AnomalyState};
    use crate::store::debts::DebtRecord;

    fn org_id(kit: &Kit) -> i64 {
        kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap().id
    }

    fn reread(kit: &Kit, debt: &DebtRecord) -> DebtRecord {
        kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap()
    }

    fn iuv_of(debt: &DebtRecord) -> String {
        debt.iuv.as_ref().unwrap().as_str().to_owned()
    }

    fn receipts_for(kit: &Kit, iuv: &str) -> Vec<ReceiptRecord> {
        kit.db.read(|c| receipts::list_receipts_for_iuv(c, org_id(kit), iuv)).unwrap()
    }

    /// The kinds of the org's open anomalies.
    fn anomaly_kinds(kit: &Kit) -> Vec<String> {
        let found = kit.db.read(|c| anomalies::list_anomalies(c, org_id(kit), AnomalyState::Open, 50)).unwrap();
        found.into_iter().map(|a| a.kind).collect()
    }

    /// A region that knows one payment by `key`.
    fn region_with(key: PaidKey, payment: RegionPayment) -> FakeRegion {
        let region = FakeRegion::default();
        region.payments.borrow_mut().push((key, payment));
        region
    }

    #[test]
    fn a_confirmed_push_marks_the_debt_paid_once_and_queues_the_outcome_push() {
        let kit = Kit::new();
        let changes = DebtTypeChanges { push_outcome: Some(true), max_push_attempts: Some(3), ..Default::default() };
        set_debt_type(&kit.db, "test", IPA, "TARI", &changes, kit.now).unwrap();
        let target = PushSettings { url: Some("http://127.0.0.1:9/esito".to_owned()), ..Default::default() };
        outcome_push::set_push_target(&kit.db, "test", IPA, &target, kit.now).unwrap();
        let debt = kit.debt("D1", 2000);
        let iuv = iuv_of(&debt);
        let rt = rt_envelope(&iuv, "R1", 2000);
        let region = region_with(PaidKey::Iuv(iuv.clone()), payment(&debt, &iuv, "R1", 2000, rt.as_bytes()));

        let confirmed = confirm(&kit.db, org_id(&kit), PaidKey::Iuv(iuv.clone()), &region, kit.now).unwrap();
        assert_eq!(confirmed, Confirmation::Applied);
        assert_eq!(reread(&kit, &debt).state.code(), "COMPLETATO");
        let stored = receipts_for(&kit, &iuv);
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].receipt_id.as_str(), stored[0].outcome.as_str()), ("R1", "OK"));
        assert_eq!(stored[0].request_xml, rt, "the Region's rt is the receipt's document");
        assert_eq!(stored[0].psp_id, "BCITITMM");
        assert_eq!(stored[0].payment_date.to_string(), "2026-12-06");
        assert!(anomaly_kinds(&kit).is_empty(), "{:?}", anomaly_kinds(&kit));
        assert_eq!(outcome_push::list_pushes(&kit.db, IPA, 10).unwrap().len(), 1, "the municipality's push is queued");
        let (org, object) = (org_id(&kit), format!("receipt:{IPA}/{iuv}/R1"));
        let journal = kit.db.read(|c| crate::store::audit::list_audit_of_object(c, org, &object, 10)).unwrap();
        assert_eq!(
            journal.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect::<Vec<_>>(),
            [(ACTOR, "paSendRTV2")]
        );

        // The same hint again, and the same receipt by polling: stored once.
        let again = confirm(&kit.db, org_id(&kit), PaidKey::Iuv(iuv.clone()), &region, kit.now).unwrap();
        assert_eq!(again, Confirmation::Replay);
        let polled = payment(&debt, &iuv, "R1", 2000, rt.as_bytes());
        assert_eq!(apply(&kit.db, org_id(&kit), &polled, "", kit.now).unwrap(), ReceiptOutcome::Replay);
        assert_eq!(receipts_for(&kit, &iuv).len(), 1);
        assert_eq!(outcome_push::list_pushes(&kit.db, IPA, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_push_the_region_does_not_confirm_marks_nothing_paid() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        let iuv = iuv_of(&debt);
        let nothing = FakeRegion::default();
        let key = PaidKey::Iuv(iuv.clone());
        assert_eq!(confirm(&kit.db, org_id(&kit), key.clone(), &nothing, kit.now).unwrap(), Confirmation::NotConfirmed);
        assert_eq!(nothing.asked.borrow().as_slice(), std::slice::from_ref(&key), "the box asked the Region itself");

        // An answer about another payment confirms nothing either.
        let other = payment(&debt, "01000000000000999", "R1", 2000, rt_envelope(&iuv, "R1", 2000).as_bytes());
        let confused = region_with(key.clone(), other);
        assert_eq!(
            confirm(&kit.db, org_id(&kit), key.clone(), &confused, kit.now).unwrap(),
            Confirmation::NotConfirmed
        );
        let by_iud = PaidKey::Iud("D9".to_owned());
        let confused = region_with(by_iud.clone(), payment(&debt, &iuv, "R1", 2000, b""));
        assert_eq!(confirm(&kit.db, org_id(&kit), by_iud, &confused, kit.now).unwrap(), Confirmation::NotConfirmed);

        // The Region down: try again later.
        let down = FakeRegion::default();
        let failure =
            RegionFailure { retryable: true, code: Some("PAA_SYSTEM_ERROR".to_owned()), text: "x".to_owned() };
        *down.paid_failure.borrow_mut() = Some(failure);
        let retry = confirm(&kit.db, org_id(&kit), key, &down, kit.now).unwrap();
        assert_eq!(retry, Confirmation::Retry("PAA_SYSTEM_ERROR: x".to_owned()));

        assert_eq!(reread(&kit, &debt).state.code(), "INSERIMENTO_DOVUTO");
        assert!(receipts_for(&kit, &iuv).is_empty());
    }

    #[test]
    fn a_debt_of_a_session_at_the_region_is_found_by_its_iud_and_takes_the_regions_iuv() {
        let kit = Kit::new();
        let fields = DebtFields {
            iud: "SESS-1".to_owned(),
            debtor_kind: "F".to_owned(),
            debtor_id: "RSSMRA85T10A562S".to_owned(),
            debtor_name: "Mario Rossi".to_owned(),
            amount: "16.00".to_owned(),
            debt_type: "TARI".to_owned(),
            causale: "Certificato".to_owned(),
            collection_data: "9/0101002IM/".to_owned(),
            ..DebtFields::default()
        };
        let debt = crate::services::debts::add_debt(
            &kit.db,
            "test",
            IPA,
            &fields,
            crate::services::debts::Source::Portal,
            kit.now,
        )
        .unwrap();
        assert!(debt.iuv.is_none());
        let seg = SegregationCode::parse("01").unwrap();
        let (iuv, notice) = generate_iuv17(seg, GeneratorId::parse("50").unwrap(), 7).unwrap();
        let rt = rt_envelope(iuv.as_str(), "R-S1", 1600);
        // The portal's return from the Region names its session; the Pagati names the IUD.
        let key = PaidKey::Session("c0ffee00-0000-4000-8000-261207100000".to_owned());
        let region = region_with(key.clone(), payment(&debt, iuv.as_str(), "R-S1", 1600, rt.as_bytes()));

        assert_eq!(confirm(&kit.db, org_id(&kit), key, &region, kit.now).unwrap(), Confirmation::Applied);
        let now = reread(&kit, &debt);
        assert_eq!(now.iuv.as_ref(), Some(&iuv));
        assert_eq!(now.notice_number.as_ref(), Some(&notice));
        assert_eq!(now.state.code(), "COMPLETATO");
        assert_eq!(receipts_for(&kit, iuv.as_str())[0].debt_id, Some(debt.id));
        assert!(anomaly_kinds(&kit).is_empty(), "{:?}", anomaly_kinds(&kit));
    }

    #[test]
    fn a_receipt_of_no_debt_is_stored_and_flagged() {
        let kit = Kit::new();
        let stranger = DebtRecord { iud: "NONE".to_owned(), ..DebtRecord::default() };
        let seg = SegregationCode::parse("01").unwrap();
        let (iuv, _) = generate_iuv17(seg, GeneratorId::parse("50").unwrap(), 99).unwrap();
        let rt = rt_envelope(iuv.as_str(), "R-X", 500);
        let paid = payment(&stranger, iuv.as_str(), "R-X", 500, rt.as_bytes());
        let outcome = apply(&kit.db, org_id(&kit), &paid, "", kit.now);
        assert_eq!(
            outcome.unwrap(),
            ReceiptOutcome::Stored { flag: Some("DOVUTO_SCONOSCIUTO".to_owned()), held: false }
        );
        assert_eq!(anomaly_kinds(&kit), ["DOVUTO_SCONOSCIUTO"]);
    }

    #[test]
    fn an_rt_that_is_a_soap_request_and_one_that_is_a_bare_receipt_both_settle() {
        let kit = Kit::new();
        for (iud, bare) in [("D1", false), ("D2", true)] {
            let debt = kit.debt(iud, 2000);
            let iuv = iuv_of(&debt);
            let envelope = rt_envelope(&iuv, &format!("R-{iud}"), 2000);
            let rt = if bare { bare_receipt(&envelope) } else { envelope };
            let paid = payment(&debt, &iuv, &format!("R-{iud}"), 2000, rt.as_bytes());
            let outcome = apply(&kit.db, org_id(&kit), &paid, "", kit.now).unwrap();
            assert_eq!(outcome, ReceiptOutcome::Stored { flag: None, held: false }, "bare: {bare}");
            assert_eq!(reread(&kit, &debt).state.code(), "COMPLETATO");
            let stored = &receipts_for(&kit, &iuv)[0];
            assert_eq!((stored.psp_company_name.as_str(), stored.channel_id.as_str()), ("Intesa", "00799960158_01"));
            assert_eq!(stored.primitive, "paSendRTV2");
        }
        assert!(anomaly_kinds(&kit).is_empty(), "{:?}", anomaly_kinds(&kit));
    }

    #[test]
    fn an_unreadable_rt_falls_back_to_the_pagati_fields_with_a_flag() {
        let kit = Kit::new();
        let cases: [(&str, &[u8], &str); 3] = [
            ("D1", b"\xff\xfe not a receipt", "rt"),
            ("D2", b"", "rt"),
            (
                "D3",
                b"<Envelope><receipt><creditorReferenceId>01000000000000999</creditorReferenceId></receipt></Envelope>",
                "rt/receipt/creditorReferenceId",
            ),
        ];
        for (iud, rt, field) in cases {
            let debt = kit.debt(iud, 2000);
            let iuv = iuv_of(&debt);
            let paid = payment(&debt, &iuv, &format!("IUR-{iud}"), 2000, rt);
            let outcome = apply(&kit.db, org_id(&kit), &paid, "", kit.now).unwrap();
            assert_eq!(outcome, ReceiptOutcome::Stored { flag: None, held: false }, "{iud}");
            assert_eq!(reread(&kit, &debt).state.code(), "COMPLETATO", "the Region's word settles it");
            let stored = &receipts_for(&kit, &iuv)[0];
            assert_eq!(
                (stored.receipt_id.as_str(), stored.amount_cents),
                (format!("IUR-{iud}").as_str(), Cents::new(2000))
            );
            assert_eq!(stored.notice_number, debt.notice_number.as_ref().unwrap().as_str());
            assert_eq!(stored.transfers[0].category, "0101002IM");
            let document =
                if rt.is_empty() { "<Pagati/>".to_owned() } else { String::from_utf8_lossy(rt).into_owned() };
            assert_eq!(stored.request_xml, document, "nothing the Region sent is lost");
            let anomaly = kit.db.read(|c| anomalies::list_anomalies_of(c, "receipt", stored.id)).unwrap();
            assert_eq!(anomaly.len(), 1);
            assert_eq!(anomaly[0].kind, "RICEVUTA_NON_CONFORME");
            assert_eq!(anomalies::decode_shape_details(&anomaly[0].details)[0].field, field);
        }
    }

    #[test]
    fn the_regions_esito_outranks_the_rt() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        let iuv = iuv_of(&debt);
        let mut paid = payment(&debt, &iuv, "R1", 2000, rt_envelope(&iuv, "R1", 2000).as_bytes());
        paid.outcome_code = "1".to_owned();
        let outcome = apply(&kit.db, org_id(&kit), &paid, "", kit.now).unwrap();
        assert_eq!(outcome, ReceiptOutcome::Stored { flag: Some("ESITO_KO".to_owned()), held: false });
        assert_eq!(reread(&kit, &debt).state.code(), "INSERIMENTO_DOVUTO");
    }

    /// A paSendRTV2 sent to MyPay4 by pagoPA's own feature test (../shared/fixtures/real-world),
    /// as the Region's rt: whole, and its receipt element alone.
    #[test]
    fn a_real_world_receipt_sent_to_mypay4_reads_as_the_regions_rt() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real-world/node/p4pa_paSendRTV2.xml");
        let Ok(template) = std::fs::read_to_string(path) else {
            eprintln!("skipped: the real-world receipt needs ../shared/fixtures/real-world");
            return;
        };
        let kit = Kit::new();
        for (iud, bare) in [("D1", false), ("D2", true)] {
            let debt = kit.debt(iud, 2000);
            let iuv = iuv_of(&debt);
            let token = format!("p4pa-{iud}");
            let filled = template
                .replace("@@CF@@", FISCAL_CODE)
                .replace("@@BROKER@@", "80050050154")
                .replace("@@STATION@@", "80050050154_01")
                .replace("@@TOKEN@@", &token)
                .replace("@@IUV@@", &iuv)
                .replace("@@AMOUNT@@", "20.00")
                .replace("@@ORGNAME@@", "Comune di Prova")
                .replace("@@DEBTOR_CF@@", "RSSMRA85T10A562S")
                .replace("@@NOW@@", "2026-12-06T18:30:00")
                .replace("@@TODAY@@", "2026-12-06");
            let rt = if bare { bare_receipt(&filled) } else { filled };
            let paid = payment(&debt, &iuv, &token, 2000, rt.as_bytes());
            let outcome = apply(&kit.db, org_id(&kit), &paid, "", kit.now).unwrap();
            assert_eq!(outcome, ReceiptOutcome::Stored { flag: None, held: false }, "bare: {bare}");
            assert_eq!(reread(&kit, &debt).state.code(), "COMPLETATO");
            let stored = &receipts_for(&kit, &iuv)[0];
            assert_eq!(stored.payer.as_ref().map(|p| p.name.as_str()), Some("Maria Bianchi"));
            assert_eq!(stored.fee_cents, Some(Cents::new(130)));
        }
        assert!(anomaly_kinds(&kit).is_empty(), "{:?}", anomaly_kinds(&kit));
    }

    /// What our own SIL answers (`flows::pagati`'s document, read back by `flows::pagati_read`)
    /// becomes the Region's account the outcomes apply.
    #[test]
    fn a_pagati_con_ricevuta_answer_is_the_regions_account() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2000);
        let iuv = iuv_of(&debt);
        let rt = rt_envelope(&iuv, "R1", 2000);
        let receipt = receipts::ReceiptRecord {
            receipt_id: "R1".to_owned(),
            iuv: iuv.clone(),
            outcome: "OK".to_owned(),
            amount_cents: Cents::new(2000),
            payment_date_time: Some("2026-12-06T18:30:00".to_owned()),
            psp_id: "BCITITMM".to_owned(),
            psp_company_name: "Intesa".to_owned(),
            ..Default::default()
        };
        let header = crate::flows::pagati::Header {
            org_fiscal_code: FISCAL_CODE,
            org_name: "Comune di Prova",
            station_id: None,
            request_ref: "R1",
            request_date: "2026-12-06",
            outcome_code: "0",
        };
        let line = crate::flows::pagati::Line { debt: Some(&debt), receipt: Some(&receipt) };
        let xml = crate::flows::pagati::write(crate::flows::pagati::Kind::PagatiConRicevuta, &header, &[line]);
        let doc = crate::flows::pagati_read::read(xml.as_bytes()).unwrap();
        let account = RegionPayment::from_pagati(&doc, Some(rt.clone().into_bytes()), xml.clone());
        assert_eq!(
            (account.iuv.as_str(), account.receipt_id.as_str(), account.outcome_code.as_str()),
            (iuv.as_str(), "R1", "0")
        );
        assert_eq!(
            account.lines,
            [PaidLine {
                iud: "D1".to_owned(),
                amount: Cents::new(2000),
                index: Some(1),
                causale: "TARI 2026".to_owned(),
                collection_data: "9/0101002IM/".to_owned()
            }]
        );
        assert_eq!(account.paid_at.as_deref(), Some("2026-12-06T18:30:00"));
        let region = region_with(PaidKey::Iuv(iuv.clone()), account);
        assert_eq!(confirm(&kit.db, org_id(&kit), PaidKey::Iuv(iuv), &region, kit.now).unwrap(), Confirmation::Applied);
        assert_eq!(reread(&kit, &debt).state.code(), "COMPLETATO");
    }

    #[test]
    fn the_faults_that_mean_no_outcome() {
        assert!(means_no_outcome("PAA_PAGAMENTO_NON_INIZIATO"));
        assert!(means_no_outcome("PAA_DATI_NON_TROVATI"));
        assert!(!means_no_outcome("PAA_PAGAMENTO_IN_CORSO"), "the outcome is coming: retry");
        assert!(retryable_fault("PAA_PAGAMENTO_IN_CORSO") && retryable_fault("PAA_SYSTEM_ERROR"));
        assert!(!retryable_fault("PAA_ENTE_NON_VALIDO"));
    }
}
