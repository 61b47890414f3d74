//! Receipts (RT) from the pagoPA Node and their transfers.
//!
//! **Invariant:** a receipt is stored once per (org, IUV, receiptId); the unique key enforces it
//! even under concurrent deliveries.

use rusqlite::{Connection, OptionalExtension, Row, named_params, params};

use super::StoreError;

/// A payer or debtor as the receipt carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartyRecord {
    pub kind: String,
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

/// One transfer of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptTransferRecord {
    pub index: i64,
    pub amount_cents: i64,
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
    pub notice_number: String,
    pub iuv: String,
    pub outcome: String,
    pub amount_cents: i64,
    pub fee_cents: Option<i64>,
    pub description: String,
    pub company_name: String,
    pub office_name: Option<String>,
    pub debtor: PartyRecord,
    pub payer: Option<PartyRecord>,
    pub psp_id: String,
    pub psp_fiscal_code: Option<String>,
    pub psp_vat_number: Option<String>,
    pub psp_company_name: String,
    pub channel_id: String,
    pub channel_description: String,
    pub payment_method: Option<String>,
    pub payment_note: Option<String>,
    pub payment_date_time: Option<String>,
    /// YYYY-MM-DD of the payment outcome, the date exports select on.
    pub payment_date: String,
    pub application_date: Option<String>,
    pub transfer_date: Option<String>,
    pub stand_in: bool,
    pub primitive: String,
    pub flag: Option<String>,
    pub request_xml: String,
    pub received_at: String,
    pub transfers: Vec<ReceiptTransferRecord>,
}

const COLUMNS: &str = "id, org_id, debt_id, receipt_id, notice_number, iuv, outcome, amount_cents, fee_cents, \
     description, company_name, office_name, debtor_kind, debtor_id, debtor_name, debtor_email, payer_kind, payer_id, \
     payer_name, payer_email, psp_id, psp_fiscal_code, psp_vat_number, psp_company_name, channel_id, \
     channel_description, payment_method, payment_note, payment_date_time, application_date, transfer_date, stand_in, \
     primitive, flag, (SELECT request_xml FROM receipt_document WHERE receipt_id = receipt.id), received_at, \
     payment_date";

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
        debtor: PartyRecord { kind: row.get(12)?, id: row.get(13)?, name: row.get(14)?, email: row.get(15)? },
        payer: match payer_id {
            Some(id) => Some(PartyRecord {
                kind: row.get::<_, Option<String>>(16)?.unwrap_or_default(),
                id,
                name: row.get::<_, Option<String>>(18)?.unwrap_or_default(),
                email: row.get(19)?,
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
        transfers: Vec::new(),
    })
}

/// Inserts a receipt with its transfers; returns its id. A second insert of the same
/// (org, IUV, receiptId) fails with [`StoreError::Duplicate`].
pub fn insert_receipt(conn: &Connection, r: &ReceiptRecord, now: &str) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO receipt (org_id, debt_id, receipt_id, notice_number, iuv, outcome, amount_cents, fee_cents, \
         description, company_name, office_name, debtor_kind, debtor_id, debtor_name, debtor_email, payer_kind, \
         payer_id, payer_name, payer_email, psp_id, psp_fiscal_code, psp_vat_number, psp_company_name, channel_id, \
         channel_description, payment_method, payment_note, payment_date_time, application_date, transfer_date, \
         stand_in, primitive, flag, received_at, payment_date) VALUES (:org_id, :debt_id, :receipt_id, \
         :notice_number, :iuv, :outcome, :amount_cents, :fee_cents, :description, :company_name, :office_name, \
         :debtor_kind, :debtor_id, :debtor_name, :debtor_email, :payer_kind, :payer_id, :payer_name, :payer_email, \
         :psp_id, :psp_fiscal_code, :psp_vat_number, :psp_company_name, :channel_id, :channel_description, \
         :payment_method, :payment_note, :payment_date_time, :application_date, :transfer_date, :stand_in, \
         :primitive, :flag, :now, :payment_date)",
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
        ":payment_date": r.payment_date,
    })
    .map_err(StoreError::from_sqlite)?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO receipt_document (receipt_id, request_xml) VALUES (?1, ?2)")?
        .execute(params![id, r.request_xml])?;
    let mut stmt = conn.prepare_cached(
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

fn with_transfers(conn: &Connection, mut r: ReceiptRecord) -> Result<ReceiptRecord, StoreError> {
    r.transfers = conn
        .prepare_cached(
            "SELECT transfer_index, amount_cents, fiscal_code, company_name, iban, mbd_attachment, remittance, category, \
             metadata_json FROM receipt_transfer WHERE receipt_id = ?1 ORDER BY transfer_index",
        )?
        .query_map([r.id], |row| {
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
        .collect::<Result<_, _>>()?;
    Ok(r)
}

/// The receipt with this key.
pub fn find_receipt(
    conn: &Connection,
    org_id: i64,
    iuv: &str,
    receipt_id: &str,
) -> Result<Option<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE org_id = ?1 AND iuv = ?2 AND receipt_id = ?3");
    let found = conn.prepare_cached(&sql)?.query_row(params![org_id, iuv, receipt_id], from_row).optional()?;
    found.map(|r| with_transfers(conn, r)).transpose()
}

/// Every receipt for an IUV of the org, oldest first.
pub fn list_receipts_for_iuv(conn: &Connection, org_id: i64, iuv: &str) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE org_id = ?1 AND iuv = ?2 ORDER BY id");
    let found: Vec<ReceiptRecord> =
        conn.prepare_cached(&sql)?.query_map(params![org_id, iuv], from_row)?.collect::<Result<_, _>>()?;
    found.into_iter().map(|r| with_transfers(conn, r)).collect()
}

/// How many successful receipts the org has for an IUV.
pub fn count_ok_receipts(conn: &Connection, org_id: i64, iuv: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM receipt WHERE org_id = ?1 AND iuv = ?2 AND outcome = 'OK'")?
        .query_row(params![org_id, iuv], |row| row.get(0))?)
}

/// The receipt with this row id.
pub fn find_receipt_by_id(conn: &Connection, id: i64) -> Result<Option<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE id = ?1");
    let found = conn.prepare_cached(&sql)?.query_row([id], from_row).optional()?;
    found.map(|r| with_transfers(conn, r)).transpose()
}

/// The successful receipts of a debt, oldest first.
pub fn list_ok_receipts_for_debt(conn: &Connection, debt_id: i64) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM receipt WHERE debt_id = ?1 AND outcome = 'OK' ORDER BY id");
    Ok(conn.prepare_cached(&sql)?.query_map([debt_id], from_row)?.collect::<Result<_, _>>()?)
}

/// Successful receipts where this fiscal code is the debtor or the payer, newest first.
pub fn list_receipts_of_party(conn: &Connection, party_id: &str, limit: u32) -> Result<Vec<ReceiptRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM receipt WHERE outcome = 'OK' AND (debtor_id = ?1 OR payer_id = ?1) \
         ORDER BY id DESC LIMIT ?2"
    );
    Ok(conn.prepare_cached(&sql)?.query_map(params![party_id, limit], from_row)?.collect::<Result<_, _>>()?)
}
