//! Receipts (RT) from the pagoPA Node and their transfers.
//!
//! **Invariant:** a receipt is stored once per (org, IUV, receiptId); the unique key enforces it
//! even under concurrent deliveries.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};
use crate::domain::payment_terms::{PaymentTerms, TermsTransfer, discrepancies};
use crate::domain::{Cents, Day, Party};

/// One transfer of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptTransferRecord {
    pub index: i64,
    pub amount_cents: Cents,
    pub fiscal_code: String,
    pub company_name: Option<String>,
    pub iban: Option<String>,
    pub mbd_attachment: Option<String>,
    pub remittance: String,
    pub category: String,
    pub metadata_json: Option<String>,
}

/// A receipt as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptRecord {
    pub id: i64,
    pub org_id: i64,
    pub debt_id: Option<i64>,
    pub receipt_id: String,
    /// The notice number and IUV (creditorReferenceId) as the Node sent them, not `NoticeNumber`
    /// and `Iuv`: a receipt is stored whatever it carries (it may pay nothing we issued), and
    /// reading it back must never fail on a value that was never ours to check.
    pub notice_number: String,
    pub iuv: String,
    pub outcome: String,
    pub amount_cents: Cents,
    pub fee_cents: Option<Cents>,
    pub description: String,
    pub company_name: String,
    pub office_name: Option<String>,
    /// The debtor as the receipt carries it: a receipt keeps its parties' kind, id, name and
    /// e-mail (the `debtor_*` and `payer_*` columns), never an address.
    pub debtor: Party,
    /// Present when the receipt names a payer (`payer_id` is not NULL).
    pub payer: Option<Party>,
    pub psp_id: String,
    pub psp_fiscal_code: Option<String>,
    pub psp_vat_number: Option<String>,
    pub psp_company_name: String,
    pub channel_id: String,
    pub channel_description: String,
    pub payment_method: Option<String>,
    pub payment_note: Option<String>,
    /// As the Node sent it (local time, no offset): text, read with `clock::rome_local` where needed.
    pub payment_date_time: Option<String>,
    /// The Italian day of the payment outcome, the date exports select on.
    pub payment_date: Day,
    /// The Node's dates, as received and stored, read by nothing: text, like the identifiers.
    pub application_date: Option<String>,
    pub transfer_date: Option<String>,
    pub stand_in: bool,
    pub primitive: String,
    pub flag: Option<String>,
    /// The receipt does not pay what the station asked for: it settles nothing until an operator
    /// accepts it (see `domain::payment_terms`).
    pub held: bool,
    pub request_xml: String,
    pub received_at: String,
    pub transfers: Vec<ReceiptTransferRecord>,
}

impl ReceiptRecord {
    /// Whether the receipt settles its debt: successful and not held for review.
    pub fn pays(&self) -> bool {
        self.outcome == "OK" && !self.held
    }
}

const COLUMNS: &str = "id, org_id, debt_id, receipt_id, notice_number, iuv, outcome, amount_cents, fee_cents, \
     description, company_name, office_name, debtor_kind, debtor_id, debtor_name, debtor_email, payer_kind, payer_id, \
     payer_name, payer_email, psp_id, psp_fiscal_code, psp_vat_number, psp_company_name, channel_id, \
     channel_description, payment_method, payment_note, payment_date_time, application_date, transfer_date, stand_in, \
     primitive, flag, (SELECT request_xml FROM receipt_document WHERE receipt_id = receipt.id), received_at, \
     payment_date, held";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ReceiptRecord> {
    let payer_id: Option<String> = row.get(17)?;
    Ok(ReceiptRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        debt_id: row.get(2)?,
        receipt_id: row.get(3)?,
        notice_number: row.get(4)?,
        iuv: row.get(5)?,
        outcome: row.get(6)?,
        amount_cents: row.get(7)?,
        fee_cents: row.get(8)?,
        description: row.get(9)?,
        company_name: row.get(10)?,
        office_name: row.get(11)?,
        debtor: Party {
            kind: row.get(12)?,
            id: row.get(13)?,
            name: row.get(14)?,
            email: row.get(15)?,
            ..Party::default()
        },
        payer: match payer_id {
            Some(id) => Some(Party {
                kind: row.get::<_, Option<String>>(16)?.unwrap_or_default(),
                id,
                name: row.get::<_, Option<String>>(18)?.unwrap_or_default(),
                email: row.get(19)?,
                ..Party::default()
            }),
            None => None,
        },
        psp_id: row.get(20)?,
        psp_fiscal_code: row.get(21)?,
        psp_vat_number: row.get(22)?,
        psp_company_name: row.get(23)?,
        channel_id: row.get(24)?,
        channel_description: row.get(25)?,
        payment_method: row.get(26)?,
        payment_note: row.get(27)?,
        payment_date_time: row.get(28)?,
        application_date: row.get(29)?,
        transfer_date: row.get(30)?,
        stand_in: row.get(31)?,
        primitive: row.get(32)?,
        flag: row.get(33)?,
        request_xml: row.get(34)?,
        received_at: row.get(35)?,
        payment_date: row.get(36)?,
        held: row.get(37)?,
        transfers: Vec::new(),
    })
}

/// Inserts a receipt with its transfers; returns its id. A second insert of the same
/// (org, IUV, receiptId) fails with [`StoreError::Duplicate`].
pub fn insert_receipt(conn: &Conn, r: &ReceiptRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO receipt (org_id, debt_id, receipt_id, notice_number, iuv, outcome, amount_cents, fee_cents, \
         description, company_name, office_name, debtor_kind, debtor_id, debtor_name, debtor_email, payer_kind, \
         payer_id, payer_name, payer_email, psp_id, psp_fiscal_code, psp_vat_number, psp_company_name, channel_id, \
         channel_description, payment_method, payment_note, payment_date_time, application_date, transfer_date, \
         stand_in, primitive, flag, received_at, payment_date, held) VALUES (:org_id, :debt_id, :receipt_id, \
         :notice_number, :iuv, :outcome, :amount_cents, :fee_cents, :description, :company_name, :office_name, \
         :debtor_kind, :debtor_id, :debtor_name, :debtor_email, :payer_kind, :payer_id, :payer_name, :payer_email, \
         :psp_id, :psp_fiscal_code, :psp_vat_number, :psp_company_name, :channel_id, :channel_description, \
         :payment_method, :payment_note, :payment_date_time, :application_date, :transfer_date, :stand_in, \
         :primitive, :flag, :now, :payment_date, :held)",
        )?
        .execute(named_params! {
            ":org_id": r.org_id, ":debt_id": r.debt_id, ":receipt_id": r.receipt_id, ":notice_number": r.notice_number,
            ":iuv": r.iuv, ":outcome": r.outcome, ":amount_cents": r.amount_cents, ":fee_cents": r.fee_cents,
            ":description": r.description, ":company_name": r.company_name, ":office_name": r.office_name,
            ":debtor_kind": r.debtor.kind, ":debtor_id": r.debtor.id, ":debtor_name": r.debtor.name,
            ":debtor_email": r.debtor.email, ":payer_kind": r.payer.as_ref().map(|p| &p.kind),
            ":payer_id": r.payer.as_ref().map(|p| &p.id), ":payer_name": r.payer.as_ref().map(|p| &p.name),
            ":payer_email": r.payer.as_ref().and_then(|p| p.email.as_ref()), ":psp_id": r.psp_id,
            ":psp_fiscal_code": r.psp_fiscal_code, ":psp_vat_number": r.psp_vat_number,
            ":psp_company_name": r.psp_company_name, ":channel_id": r.channel_id,
            ":channel_description": r.channel_description, ":payment_method": r.payment_method,
            ":payment_note": r.payment_note, ":payment_date_time": r.payment_date_time,
            ":application_date": r.application_date, ":transfer_date": r.transfer_date, ":stand_in": r.stand_in,
            ":primitive": r.primitive, ":flag": r.flag, ":now": now,
            ":payment_date": r.payment_date, ":held": r.held,
        })
        .map_err(StoreError::from_sqlite)?;
    let id = conn.sqlite().last_insert_rowid();
    conn.sqlite()
        .prepare_cached("INSERT INTO receipt_document (receipt_id, request_xml) VALUES (?1, ?2)")?
        .execute(params![id, r.request_xml])?;
    let mut stmt = conn.sqlite().prepare_cached(
        "INSERT INTO receipt_transfer (receipt_id, transfer_index, amount_cents, fiscal_code, company_name, iban, \
         mbd_attachment, remittance, category, metadata_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for t in &r.transfers {
        stmt.execute(params![
            id,
            t.index,
            t.amount_cents,
            t.fiscal_code,
            t.company_name,
            t.iban,
            t.mbd_attachment,
            t.remittance,
            t.category,
            t.metadata_json
        ])
        .map_err(StoreError::from_sqlite)?;
    }
    Ok(id)
}

fn with_transfers(conn: &Conn, mut r: ReceiptRecord) -> Result<ReceiptRecord, StoreError> {
    r.transfers = list_transfers(conn, r.id)?;
    Ok(r)
}

fn list_transfers(conn: &Conn, receipt_id: i64) -> Result<Vec<ReceiptTransferRecord>, StoreError> {
    Ok(conn.sqlite()
        .prepare_cached(
            "SELECT transfer_index, amount_cents, fiscal_code, company_name, iban, mbd_attachment, remittance, category, \
             metadata_json FROM receipt_transfer WHERE receipt_id = ?1 ORDER BY transfer_index",
        )?
        .query_map([receipt_id], |row| {
            Ok(ReceiptTransferRecord {
                index: row.get(0)?,
                amount_cents: row.get(1)?,
                fiscal_code: row.get(2)?,
                company_name: row.get(3)?,
                iban: row.get(4)?,
                mbd_attachment: row.get(5)?,
                remittance: row.get(6)?,
                category: row.get(7)?,
                metadata_json: row.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// The receipt with this key.
pub fn find_receipt(
    conn: &Conn,
    org_id: i64,
    iuv: &str,
    receipt_id: &str,
) -> Result<Option<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE org_id = ?1 AND iuv = ?2 AND receipt_id = ?3");
    let found = conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, iuv, receipt_id], from_row).optional()?;
    found.map(|r| with_transfers(conn, r)).transpose()
}

/// Every receipt for an IUV of the org, oldest first.
pub fn list_receipts_for_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE org_id = ?1 AND iuv = ?2 ORDER BY id");
    let found: Vec<ReceiptRecord> =
        conn.sqlite().prepare_cached(&sql)?.query_map(params![org_id, iuv], from_row)?.collect::<Result<_, _>>()?;
    found.into_iter().map(|r| with_transfers(conn, r)).collect()
}

/// How many receipts pay an IUV of the org (successful and not held).
pub fn count_ok_receipts(conn: &Conn, org_id: i64, iuv: &str) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM receipt WHERE org_id = ?1 AND iuv = ?2 AND outcome = 'OK' AND held = 0")?
        .query_row(params![org_id, iuv], |row| row.get(0))?)
}

/// The receipt with this row id.
pub fn find_receipt_by_id(conn: &Conn, id: i64) -> Result<Option<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE id = ?1");
    let found = conn.sqlite().prepare_cached(&sql)?.query_row([id], from_row).optional()?;
    found.map(|r| with_transfers(conn, r)).transpose()
}

/// The receipts that pay a debt (successful and not held), oldest first.
pub fn list_ok_receipts_for_debt(conn: &Conn, debt_id: i64) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE debt_id = ?1 AND outcome = 'OK' AND held = 0 ORDER BY id");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map([debt_id], from_row)?.collect::<Result<_, _>>()?)
}

/// Paying receipts (successful, not held) where this fiscal code is the debtor or the payer,
/// newest first.
pub fn list_receipts_of_party(conn: &Conn, party_id: &str, limit: u32) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM receipt WHERE outcome = 'OK' AND held = 0 AND (debtor_id = ?1 OR payer_id = ?1) \
         ORDER BY id DESC LIMIT ?2"
    );
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map(params![party_id, limit], from_row)?.collect::<Result<_, _>>()?)
}

/// Releases a held receipt: from now on it pays its debt. False when it was not held.
pub fn update_released(conn: &Conn, id: i64) -> Result<bool, StoreError> {
    Ok(conn.sqlite().prepare_cached("UPDATE receipt SET held = 0 WHERE id = ?1 AND held = 1")?.execute([id])? == 1)
}

/// The payment a receipt carries, as terms to compare with what was asked for.
pub fn received_terms(creditor: &str, r: &ReceiptRecord) -> PaymentTerms {
    PaymentTerms {
        creditor: creditor.to_owned(),
        amount: r.amount_cents,
        transfers: r
            .transfers
            .iter()
            .map(|t| TermsTransfer {
                index: t.index,
                amount: t.amount_cents,
                fiscal_code: t.fiscal_code.clone(),
                iban: t.iban.clone(),
            })
            .collect(),
    }
}

/// The upgrade to version 14: every successful receipt that paid a debt is checked against that
/// debt's amount and beneficiaries (accounts are not known any more); one that does not match is
/// held and gets an open `RICEVUTA_DIFFORME` anomaly. The debt's state is left as it is: the
/// anomaly tells the operator what it was paid with. Returns how many were held.
pub(super) fn recheck_all(conn: &Conn, now: &str) -> Result<u64, StoreError> {
    /// A receipt to check: its id, org, paid amount, and what its debt asks for.
    struct Candidate {
        id: i64,
        org_id: i64,
        paid: Cents,
        expected: PaymentTerms,
    }
    let candidates: Vec<Candidate> = conn
        .sqlite()
        .prepare(
            "SELECT r.id, r.org_id, r.amount_cents, o.fiscal_code, d.amount_cents, d.mb_amount_cents, d.mb_fiscal_code \
             FROM receipt r JOIN debt d ON d.id = r.debt_id JOIN org o ON o.id = r.org_id \
             WHERE r.outcome = 'OK' AND r.held = 0 ORDER BY r.id",
        )?
        .query_map([], |row| {
            let creditor: String = row.get(3)?;
            let mb_fiscal_code: Option<String> = row.get(6)?;
            let secondary = match (row.get::<_, Option<Cents>>(5)?, &mb_fiscal_code) {
                (Some(cents), Some(code)) => Some((cents, code.as_str())),
                _ => None,
            };
            Ok(Candidate {
                id: row.get(0)?,
                org_id: row.get(1)?,
                paid: row.get(2)?,
                expected: PaymentTerms::of_debt(&creditor, row.get(4)?, secondary),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut held = 0;
    for c in candidates {
        // Only what the comparison reads: not the stored XML of each receipt.
        let receipt =
            ReceiptRecord { amount_cents: c.paid, transfers: list_transfers(conn, c.id)?, ..ReceiptRecord::default() };
        let found = discrepancies(&c.expected, &received_terms(&c.expected.creditor, &receipt));
        if found.is_empty() {
            continue;
        }
        conn.sqlite().prepare_cached("UPDATE receipt SET held = 1 WHERE id = ?1")?.execute([c.id])?;
        let details = super::anomalies::receipt_details(&found);
        let anomaly = super::anomalies::NewAnomaly {
            org_id: c.org_id,
            kind: super::anomalies::RECEIPT_MISMATCH,
            object_kind: "receipt",
            object_id: c.id,
            details: &details,
        };
        super::anomalies::insert_anomaly(conn, &anomaly, now)?;
        held += 1;
    }
    Ok(held)
}

/// Every receipt naming `party_id` as debtor or payer, in one org or all, newest first (a data
/// subject's access request), at most `limit`.
pub fn list_receipts_of_subject(
    conn: &Conn,
    party_id: &str,
    org_id: Option<i64>,
    limit: u32,
) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM receipt WHERE (debtor_id = ?1 OR payer_id = ?1) AND (?2 IS NULL OR org_id = ?2) \
         ORDER BY id DESC LIMIT ?3"
    );
    let rows: Vec<ReceiptRecord> = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![party_id, org_id, limit], from_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter().map(|r| with_transfers(conn, r)).collect()
}
