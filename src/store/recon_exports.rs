//! Reconciliation exports (`recon_export`): the bookings and their outcome, and what a run reads to
//! write a line: the classified rows in order, then each row's facts in full (the notification,
//! the receipt's transfer, the reporting row with its flow, the treasury movement).
//!
//! The facts are read with the same conditions as the classification's joins
//! (`store::reconciliation`): an OK receipt not held, a current flow's row whose outcome is not 3.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::exports::{ExportRow, ROW_COLUMNS, ROW_FROM, fill_export_row};
use super::reconciliation::{ITEM_COLUMNS, ItemRecord, item_from_row};
use super::{Conn, StoreError};
use crate::domain::reconciliation::{
    BankDetails, Bolletta, PaymentNotification, PosteReportingRow, Provisional, Source, TreasuryMovement,
};
use crate::domain::{Cents, Day, Party, ReconExportState};

/// A booking as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconExportRecord {
    pub id: i64,
    pub org_id: i64,
    /// As asked (a wrong one is kept, and ends the booking VERSIONE_TRACCIATO_ERRATA).
    pub version: String,
    /// `MYPIVOT` or `P4PA`.
    pub headers: String,
    /// The filters, JSON the service writes and reads.
    pub filters: String,
    pub max_rows: i64,
    pub requested_by: String,
    pub state: ReconExportState,
    pub file_name: Option<String>,
    pub rows: Option<i64>,
    pub error: Option<String>,
    pub requested_at: String,
    pub finished_at: Option<String>,
    pub file_purged_at: Option<String>,
}

const COLUMNS: &str = "id, org_id, version, headers, filters, max_rows, requested_by, state, file_name, rows, error, \
     requested_at, finished_at, file_purged_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ReconExportRecord> {
    Ok(ReconExportRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        version: row.get(2)?,
        headers: row.get(3)?,
        filters: row.get(4)?,
        max_rows: row.get(5)?,
        requested_by: row.get(6)?,
        state: row.get(7)?,
        file_name: row.get(8)?,
        rows: row.get(9)?,
        error: row.get(10)?,
        requested_at: row.get(11)?,
        finished_at: row.get(12)?,
        file_purged_at: row.get(13)?,
    })
}

/// Stores a booking; returns its id.
pub fn insert(conn: &Conn, e: &ReconExportRecord) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO recon_export (org_id, version, headers, filters, max_rows, requested_by, state, file_name, \
             rows, error, requested_at, finished_at) VALUES (:org, :version, :headers, :filters, :max, :by, :state, \
             :file, :rows, :error, :at, :finished)",
        )?
        .execute(named_params! {
            ":org": e.org_id, ":version": e.version, ":headers": e.headers, ":filters": e.filters,
            ":max": e.max_rows, ":by": e.requested_by, ":state": e.state, ":file": e.file_name, ":rows": e.rows,
            ":error": e.error, ":at": e.requested_at, ":finished": e.finished_at,
        })?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Records how a booking ended (or, with `Booked`, that it waits again).
pub fn update_state(
    conn: &Conn,
    id: i64,
    state: ReconExportState,
    file_name: Option<&str>,
    rows: Option<i64>,
    error: Option<&str>,
    finished_at: Option<&str>,
) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE recon_export SET state = ?2, file_name = ?3, rows = ?4, error = ?5, finished_at = ?6 WHERE id = ?1",
        )?
        .execute(params![id, state, file_name, rows, error, finished_at])?;
    Ok(())
}

/// Booking `id` of the org.
pub fn find(conn: &Conn, org_id: i64, id: i64) -> Result<Option<ReconExportRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(&format!("SELECT {COLUMNS} FROM recon_export WHERE id = ?1 AND org_id = ?2"))?
        .query_row(params![id, org_id], from_row)
        .optional()?)
}

/// Booking `id`, whatever its org (the job's).
pub fn find_by_id(conn: &Conn, id: i64) -> Result<Option<ReconExportRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(&format!("SELECT {COLUMNS} FROM recon_export WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The org's latest `limit` bookings, newest first.
pub fn list(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<ReconExportRecord>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(&format!("SELECT {COLUMNS} FROM recon_export WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2"))?
        .query_map(params![org_id, limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Calls `each` for each classified row of the org with a day within `from..=to` (either open),
/// in the order of the back office's list; returns how many.
pub fn for_each_item<E: From<StoreError>>(
    conn: &Conn,
    org_id: i64,
    from: Option<Day>,
    to: Option<Day>,
    mut each: impl FnMut(&ItemRecord) -> Result<(), E>,
) -> Result<u64, E> {
    let from = from.map(Day::text).unwrap_or_default();
    let to = to.map(Day::text).unwrap_or_else(|| "9999-12-31".to_owned());
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM recon_item i WHERE i.org_id = ?1 AND i.day BETWEEN ?2 AND ?3 \
         ORDER BY i.day, i.iuv, i.iur, i.transfer_index, i.id"
    );
    let mut stmt = conn.sqlite().prepare_cached(&sql).map_err(StoreError::from)?;
    let mut rows = stmt.query(params![org_id, from, to]).map_err(StoreError::from)?;
    let mut n = 0;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let item = item_from_row(row).map_err(StoreError::from)?;
        each(&item)?;
        n += 1;
    }
    Ok(n)
}

/// A stored fact with the upload that brought it and when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub fact: T,
    pub upload_id: Option<i64>,
    /// UTC instant.
    pub stored_at: String,
}

/// The org's notification with this IUD, in full.
pub fn notification(conn: &Conn, org_id: i64, iud: &str) -> Result<Option<Stored<PaymentNotification>>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT iud, iuv, payer_kind, payer_id, payer_name, payer_email, paid_on, amount_cents, fee_cents, \
             debt_type, payment_kind, causale, collection_data, bilancio, upload_id, loaded_at \
             FROM recon_notification WHERE org_id = ?1 AND iud = ?2",
        )?
        .query_row(params![org_id, iud], |row| {
            Ok(Stored {
                fact: PaymentNotification {
                    iud: row.get(0)?,
                    iuv: row.get(1)?,
                    payer: Party {
                        kind: row.get(2)?,
                        id: row.get(3)?,
                        name: row.get(4)?,
                        email: row.get(5)?,
                        ..Party::default()
                    },
                    paid_on: row.get(6)?,
                    amount: row.get(7)?,
                    fee: row.get(8)?,
                    debt_type: row.get(9)?,
                    payment_kind: row.get(10)?,
                    causale: row.get(11)?,
                    collection_data: row.get(12)?,
                    bilancio: row.get(13)?,
                },
                upload_id: row.get(14)?,
                stored_at: row.get(15)?,
            })
        })
        .optional()?)
}

/// Transfer `transfer_index` of receipt row `receipt_row`, as a receipt export reads it
/// (`store::exports::ExportRow`), when it still pays and is the org's: a receipt of the org, or
/// another org's receipt whose transfer pays the org's fiscal code (an S row, mypivot.md §1.7;
/// `secondary` then says so, with the collecting org's debt type in [`ReceiptTransfer::primary_type`]).
pub fn receipt_transfer(
    conn: &Conn,
    org_id: i64,
    fiscal_code: &str,
    receipt_row: i64,
    transfer_index: i64,
) -> Result<Option<ReceiptTransfer>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS}, dt.description, dt.taxonomy_code {ROW_FROM} WHERE r.id = :rid \
         AND (r.org_id = :org_id OR t.fiscal_code = :fiscal_code) AND t.transfer_index = :idx \
         AND r.outcome = 'OK' AND r.held = 0"
    );
    let mut stmt = conn.sqlite().prepare_cached(&sql)?;
    let mut rows = stmt.query(named_params! {
        ":with_receipt": false, ":org_id": org_id, ":fiscal_code": fiscal_code, ":rid": receipt_row,
        ":idx": transfer_index,
    })?;
    let Some(row) = rows.next()? else { return Ok(None) };
    let mut out = ExportRow::default();
    fill_export_row(&mut out, row)?;
    let extra = row.as_ref().column_count().saturating_sub(2);
    let primary_type = match (out.secondary, out.debt_type_code.clone()) {
        (true, Some(code)) => Some(DebtTypeFact {
            code,
            name: row.get::<_, Option<String>>(extra)?.unwrap_or_default(),
            taxonomy_code: row.get::<_, Option<String>>(extra + 1)?.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Some(ReceiptTransfer { row: out, primary_type }))
}

/// The first paying receipt of IUV `iuv` with a transfer `transfer_index` to the org (its own, or
/// another org's paying the org's fiscal code): the receipt of an FdR row paid without RPT (outcome
/// 8 or 9) whose IUR is not the receipt's.
pub fn receipt_of_iuv(
    conn: &Conn,
    org_id: i64,
    fiscal_code: &str,
    iuv: &str,
    transfer_index: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT r.id FROM receipt r JOIN receipt_transfer t ON t.receipt_id = r.id WHERE r.iuv = ?1 \
             AND t.transfer_index = ?2 AND (r.org_id = ?3 OR t.fiscal_code = ?4) AND r.outcome = 'OK' \
             AND r.held = 0 ORDER BY r.id LIMIT 1",
        )?
        .query_row(params![iuv, transfer_index, org_id, fiscal_code], |row| row.get(0))
        .optional()?)
}

/// A receipt's transfer the org is paid by, as [`receipt_transfer`] reads it.
#[derive(Debug, Clone, Default)]
pub struct ReceiptTransfer {
    pub row: ExportRow,
    /// An S row: the collecting org's debt type of the receipt, when its debt has one.
    pub primary_type: Option<DebtTypeFact>,
}

/// A debt type's code, description and taxonomy code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtTypeFact {
    pub code: String,
    pub name: String,
    pub taxonomy_code: String,
}

/// One row of a current reporting flow with its flow's header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportedFact {
    pub flow_id: i64,
    pub iuf: String,
    pub flow_date: Option<String>,
    pub settlement_id: Option<String>,
    pub settlement_date: Option<String>,
    pub psp_id: String,
    pub psp_name: Option<String>,
    pub total_payments: Option<i64>,
    pub total_amount: Option<Cents>,
    pub fetched_at: String,
    pub iuv: String,
    pub iur: String,
    pub amount: Cents,
    pub outcome_code: String,
    pub outcome_date: String,
}

/// The row (IUV, IUR, transfer index; no index counts as 1) of the org's current flow `iuf`.
pub fn reported(
    conn: &Conn,
    org_id: i64,
    iuf: &str,
    iuv: &str,
    iur: &str,
    transfer_index: i64,
) -> Result<Option<ReportedFact>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT f.id, f.iuf, f.flow_date, f.settlement_id, f.settlement_date, f.psp_id, f.psp_name, \
             f.total_payments, f.total_amount_cents, f.fetched_at, p.iuv, p.iur, p.amount_cents, p.outcome_code, \
             p.outcome_date FROM reporting_payment p JOIN reporting_flow f ON f.id = p.flow_id \
             WHERE p.iuv = ?3 AND f.org_id = ?1 AND upper(f.iuf) = upper(?2) AND p.iur = ?4 \
             AND ifnull(p.transfer_index, 1) = ?5 AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL \
             AND p.outcome_code <> '3' ORDER BY f.id, p.row_index LIMIT 1",
        )?
        .query_row(params![org_id, iuf, iuv, iur, transfer_index], |row| {
            Ok(ReportedFact {
                flow_id: row.get(0)?,
                iuf: row.get(1)?,
                flow_date: row.get(2)?,
                settlement_id: row.get(3)?,
                settlement_date: row.get(4)?,
                psp_id: row.get(5)?,
                psp_name: row.get(6)?,
                total_payments: row.get(7)?,
                total_amount: row.get(8)?,
                fetched_at: row.get(9)?,
                iuv: row.get(10)?,
                iur: row.get(11)?,
                amount: row.get(12)?,
                outcome_code: row.get(13)?,
                outcome_date: row.get(14)?,
            })
        })
        .optional()?)
}

/// The `versioneOggetto` of flow `flow_id` as its kept document says it: a SOAP flow's XML names
/// it near its start; a REST flow's JSON has none (`None`), nor has a flow whose document is gone.
pub fn flow_object_version(conn: &Conn, flow_id: i64) -> Result<Option<String>, StoreError> {
    let head: Option<(String, Option<String>)> = conn
        .sqlite()
        .prepare_cached("SELECT source, substr(document, 1, 4096) FROM reporting_flow WHERE id = ?1")?
        .query_row([flow_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((source, Some(head))) = head else { return Ok(None) };
    if source != "SOAP" {
        return Ok(None);
    }
    // `<versioneOggetto>` or `<ns:versioneOggetto>`: the value runs from the tag's end to the next tag.
    let value = head
        .split_once("versioneOggetto>")
        .and_then(|(_, rest)| rest.split_once('<'))
        .map(|(value, _)| value.trim())
        .filter(|v| !v.is_empty() && v.len() <= 16);
    Ok(value.map(str::to_owned))
}

/// A legacy Poste line (P, mypivot.md §1.5) with what its flow says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosteFact {
    pub line: PosteReportingRow,
    /// The IUF the operator gave its flow.
    pub iuf: Option<String>,
    /// The count and total of the lines of that flow.
    pub flow_count: Option<i64>,
    pub flow_total: Option<Cents>,
    pub upload_id: Option<i64>,
    /// UTC instant the upload that brought it was submitted.
    pub stored_at: Option<String>,
}

/// The org's legacy Poste line with key `key` (`store::reconciliation::poste_key`).
pub fn poste_line(conn: &Conn, org_id: i64, key: &str) -> Result<Option<PosteFact>, StoreError> {
    let Some((line, iuf)) = super::reconciliation::find_poste_row(conn, org_id, key)? else { return Ok(None) };
    let (upload_id, stored_at) = conn
        .sqlite()
        .prepare_cached(
            "SELECT p.upload_id, u.submitted_at FROM recon_poste_row p LEFT JOIN recon_upload u ON u.id = p.upload_id \
             WHERE p.org_id = ?1 AND p.iur = ?2 AND p.operation_day = ?3 AND p.amount_cents = ?4",
        )?
        .query_row(params![org_id, line.iur, line.operation_day, line.amount], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?
        .unwrap_or((None, None));
    let (flow_count, flow_total) = match &iuf {
        Some(iuf) => {
            let (keys, total) = super::reconciliation::poste_lines_of_iuf(conn, org_id, iuf)?;
            (Some(i64::try_from(keys.len()).unwrap_or(i64::MAX)), Some(total))
        }
        None => (None, None),
    };
    Ok(Some(PosteFact { line, iuf, flow_count, flow_total, upload_id, stored_at }))
}

/// Treasury movement `id` of the org, in full (a bank sheet's own fields and an OPI sospeso's
/// since version 37; a movement stored before has none).
pub fn movement(conn: &Conn, org_id: i64, id: i64) -> Result<Option<Stored<TreasuryMovement>>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT source, bolletta_year, bolletta_number, account, booking_day, value_day, amount_cents, causale, \
             payer_name, iuf, iuv, end_to_end_id, document, upload_id, loaded_at, bank_abi, bank_cab, bank_currency, \
             bank_cheque, bank_reference, bank_customer_reference, bank_order_day, bank_orderer, bank_tags, \
             provisional_day, provisional_code FROM recon_movement WHERE org_id = ?1 AND id = ?2",
        )?
        .query_row(params![org_id, id], |row| {
            let source: String = row.get(0)?;
            let source = source.chars().next().and_then(Source::from_code).unwrap_or(Source::CashJournal);
            let year: Option<i32> = row.get(1)?;
            let number: Option<String> = row.get(2)?;
            let tags: Option<String> = row.get(23)?;
            // Written by `set_movement_details`; unreadable tags are left out rather than failing the export.
            let tags: Vec<(String, String)> = tags.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
            let bank = (source == Source::BankMovements).then(|| {
                Ok::<_, rusqlite::Error>(BankDetails {
                    abi: row.get(15)?,
                    cab: row.get(16)?,
                    currency: row.get(17)?,
                    cheque: row.get(18)?,
                    bank_reference: row.get(19)?,
                    customer_reference: row.get(20)?,
                    order_day: row.get(21)?,
                    orderer: row.get(22)?,
                    tags,
                })
            });
            let provisional_day: Option<Day> = row.get(24)?;
            let provisional_code: Option<String> = row.get(25)?;
            let provisional = (provisional_day.is_some() || provisional_code.is_some())
                .then_some(Provisional { day: provisional_day, code: provisional_code });
            Ok(Stored {
                fact: TreasuryMovement {
                    source,
                    bolletta: year.zip(number).map(|(year, number)| Bolletta { year, number }),
                    account: row.get(3)?,
                    booking_day: row.get(4)?,
                    value_day: row.get(5)?,
                    amount: row.get(6)?,
                    causale: row.get(7)?,
                    payer_name: row.get(8)?,
                    iuf: row.get(9)?,
                    iuv: row.get(10)?,
                    end_to_end_id: row.get(11)?,
                    document: row.get(12)?,
                    provisional,
                    bank: bank.transpose()?,
                },
                upload_id: row.get(13)?,
                stored_at: row.get(14)?,
            })
        })
        .optional()?)
}
