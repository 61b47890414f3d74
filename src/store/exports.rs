//! Export requests and the streaming selection of the rows of a receipt export.
//!
//! Rows are handed to a callback one at a time, in receipt order, so a million receipts never sit
//! in memory together.

use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};
use crate::domain::{Cents, Day, ExportState, Party};

/// An export request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportRecord {
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    pub version: String,
    /// The selection's bounds: days (`YYYY-MM-DD`, inclusive) or, for an incremental export, UTC
    /// instants as `clock::Now::iso` writes them (`to` excluded). Text, since they are one or the
    /// other, and SQL compares them with the receipts' column of the same kind.
    pub date_from: String,
    pub date_to: String,
    pub incremental: bool,
    pub with_receipt: bool,
    pub debt_types: Option<String>,
    pub requested_by: String,
    pub state: ExportState,
    pub file_name: Option<String>,
    pub rows: Option<i64>,
    pub error: Option<String>,
    pub requested_at: String,
    pub finished_at: Option<String>,
    /// When the retention purge deleted the export's ZIP (the row stays); read only.
    pub file_purged_at: Option<String>,
}

const COLUMNS: &str = "id, org_id, kind, version, date_from, date_to, incremental, with_receipt, debt_types, \
     requested_by, state, file_name, rows, error, requested_at, finished_at, file_purged_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ExportRecord> {
    Ok(ExportRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        kind: row.get(2)?,
        version: row.get(3)?,
        date_from: row.get(4)?,
        date_to: row.get(5)?,
        incremental: row.get(6)?,
        with_receipt: row.get(7)?,
        debt_types: row.get(8)?,
        requested_by: row.get(9)?,
        state: row.get(10)?,
        file_name: row.get(11)?,
        rows: row.get(12)?,
        error: row.get(13)?,
        requested_at: row.get(14)?,
        finished_at: row.get(15)?,
        file_purged_at: row.get(16)?,
    })
}

/// Inserts a request in state LOAD_EXPORT; returns its id.
pub fn insert_export(conn: &Conn, e: &ExportRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite().execute(
        "INSERT INTO export (org_id, kind, version, date_from, date_to, incremental, with_receipt, debt_types, \
         requested_by, state, requested_at) VALUES (:org_id, :kind, :version, :from, :to, :incremental, :with_receipt, \
         :types, :by, 'LOAD_EXPORT', :now)",
        named_params! {
            ":org_id": e.org_id, ":kind": e.kind, ":version": e.version, ":from": e.date_from, ":to": e.date_to,
            ":incremental": e.incremental, ":with_receipt": e.with_receipt, ":types": e.debt_types,
            ":by": e.requested_by, ":now": now,
        },
    )?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Records a state change and, when finished, the outcome.
pub fn update_export_state(
    conn: &Conn,
    id: i64,
    state: ExportState,
    file_name: Option<&str>,
    rows: Option<i64>,
    error: Option<&str>,
    finished_at: Option<&str>,
) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE export SET state = ?2, file_name = ?3, rows = ?4, error = ?5, finished_at = ?6 WHERE id = ?1",
        params![id, state, file_name, rows, error, finished_at],
    )?;
    Ok(())
}

/// The export with this id, within the org.
pub fn find_export(conn: &Conn, org_id: i64, id: i64) -> Result<Option<ExportRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM export WHERE org_id = ?1 AND id = ?2");
    Ok(conn.sqlite().query_row(&sql, params![org_id, id], from_row).optional()?)
}

/// The export with this id (for the job runner, which has no org at hand).
pub fn find_export_by_id(conn: &Conn, id: i64) -> Result<Option<ExportRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM export WHERE id = ?1");
    Ok(conn.sqlite().query_row(&sql, params![id], from_row).optional()?)
}

/// The org's exports, newest first.
pub fn list_exports(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<ExportRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM export WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2");
    Ok(conn.sqlite().prepare(&sql)?.query_map(params![org_id, limit], from_row)?.collect::<Result<_, _>>()?)
}

/// One row of a receipt export: a transfer credited to the exporting org, with its receipt, debt
/// and the receipt's (primary) org.
#[derive(Debug, Clone, Default)]
pub struct ExportRow {
    pub receipt_id: String,
    /// The receipt's, as received: text, as `ReceiptRecord` keeps them.
    pub notice_number: String,
    pub iuv: String,
    pub amount_cents: Cents,
    pub fee_cents: Option<Cents>,
    pub description: String,
    /// The receipt's debtor (kind, id, name, e-mail), with the address of its debt's debtor when
    /// the receipt paid a debt.
    pub debtor: Party,
    /// The receipt's payer, when it names one.
    pub payer: Option<Party>,
    pub psp_id: String,
    pub psp_fiscal_code: Option<String>,
    pub psp_company_name: String,
    pub payment_date_time: Option<String>,
    pub payment_date: Day,
    pub received_at: String,
    pub request_xml: String,
    pub transfer_index: i64,
    pub transfer_amount_cents: Cents,
    pub transfer_category: String,
    pub transfer_remittance: String,
    pub mbd_attachment: Option<String>,
    pub iud: Option<String>,
    pub causale: Option<String>,
    pub collection_data: Option<String>,
    pub bilancio: Option<String>,
    pub debt_type_code: Option<String>,
    pub debt_source: Option<String>,
    pub primary_fiscal_code: String,
    pub primary_name: String,
    /// The exporting org is a secondary beneficiary of this receipt.
    pub secondary: bool,
}

/// A payment made outside pagoPA and recorded by the SIL (`external_payment`), with its debt: what
/// MyPay exports as a "rendicontazione codice 9" row (reference/mypay.md §3.2, §4.2).
#[derive(Debug, Clone)]
pub struct ExternalPaymentRow {
    /// As recorded (`org_id`, `debt_id`, `context_code` and `recorded_by` are not read).
    pub payment: super::sil::ExternalPaymentRecord,
    /// When the SIL recorded it (UTC): MyPay's receipt message time of such a payment.
    pub recorded_at: String,
    pub iud: String,
    /// The debt's debtor.
    pub debtor: Party,
    pub causale: String,
    pub collection_data: String,
    pub debt_type_code: String,
    pub debt_source: String,
}

/// One row of a receipt export, as [`for_each_export_row`] hands it over.
#[derive(Debug, Clone, Copy)]
pub enum ExportItem<'a> {
    /// A transfer of a receipt from the Node.
    Receipt(&'a ExportRow),
    /// A payment recorded by the SIL outside pagoPA.
    External(&'a ExternalPaymentRow),
}

/// What to select.
#[derive(Debug, Clone)]
pub struct ExportSelection<'a> {
    pub org_id: i64,
    pub fiscal_code: &'a str,
    pub incremental: bool,
    pub from: &'a str,
    pub to: &'a str,
    /// `;code;code;` or None for every type.
    pub debt_types: Option<&'a str>,
    /// Include receipts where the org is a secondary beneficiary (layout 1.3).
    pub secondary: bool,
    /// Read the received XML (only the receipt columns need it, and it is most of a row's bytes).
    pub with_receipt: bool,
}

pub(super) const ROW_COLUMNS: &str = "r.receipt_id, r.notice_number, r.iuv, r.amount_cents, r.fee_cents, r.description, \
     r.debtor_kind, r.debtor_id, r.debtor_name, r.debtor_email, r.payer_kind, r.payer_id, r.payer_name, r.payer_email, \
     r.psp_id, r.psp_fiscal_code, r.psp_company_name, r.payment_date_time, r.payment_date, r.received_at, \
     CASE WHEN :with_receipt THEN (SELECT request_xml FROM receipt_document WHERE receipt_id = r.id) ELSE '' END, t.transfer_index, t.amount_cents, t.category, t.remittance, t.mbd_attachment, d.iud, \
     d.debtor_address, d.debtor_civic_number, d.debtor_postal_code, d.debtor_city, d.debtor_province, \
     d.debtor_country, d.causale, d.collection_data, d.bilancio, dt.code, d.source, po.fiscal_code, po.name, \
     r.org_id <> :org_id";

pub(super) const ROW_FROM: &str = "FROM receipt r JOIN receipt_transfer t ON t.receipt_id = r.id JOIN org po ON po.id = r.org_id \
     LEFT JOIN debt d ON d.id = r.debt_id LEFT JOIN debt_type dt ON dt.id = d.debt_type_id";

const ROW_FILTER: &str = "r.outcome = 'OK' AND r.held = 0 AND t.fiscal_code = :fiscal_code \
     AND (dt.code IS NULL OR dt.code <> 'MARCA_BOLLO_DIGITALE') \
     AND ((:incremental = 1 AND r.received_at >= :from AND r.received_at < :to) \
       OR (:incremental = 0 AND r.payment_date BETWEEN :from AND :to))";

/// Copies a text column into `dst`, reusing its allocation (NULL becomes "").
fn set_text(dst: &mut String, row: &Row<'_>, idx: usize) -> rusqlite::Result<()> {
    dst.clear();
    match row.get_ref(idx)? {
        ValueRef::Text(bytes) => dst.push_str(&String::from_utf8_lossy(bytes)),
        ValueRef::Null => {}
        other => dst.push_str(&format!("{other:?}")),
    }
    Ok(())
}

/// Copies a nullable text column into `dst`, reusing its allocation.
fn set_opt(dst: &mut Option<String>, row: &Row<'_>, idx: usize) -> rusqlite::Result<()> {
    match row.get_ref(idx)? {
        ValueRef::Null => *dst = None,
        ValueRef::Text(bytes) => {
            let text = dst.get_or_insert_with(String::new);
            text.clear();
            text.push_str(&String::from_utf8_lossy(bytes));
        }
        _ => *dst = Some(row.get::<_, String>(idx)?),
    }
    Ok(())
}

/// Fills `r` from the current result row, reusing its strings: a million-row export then
/// allocates almost nothing per row.
pub(super) fn fill_export_row(r: &mut ExportRow, row: &Row<'_>) -> rusqlite::Result<()> {
    set_text(&mut r.receipt_id, row, 0)?;
    set_text(&mut r.notice_number, row, 1)?;
    set_text(&mut r.iuv, row, 2)?;
    r.amount_cents = row.get(3)?;
    r.fee_cents = row.get(4)?;
    set_text(&mut r.description, row, 5)?;
    set_text(&mut r.debtor.kind, row, 6)?;
    set_text(&mut r.debtor.id, row, 7)?;
    set_text(&mut r.debtor.name, row, 8)?;
    set_opt(&mut r.debtor.email, row, 9)?;
    // As `receipts` reads it: a payer when `payer_id` is not NULL, its buffers kept for the next row.
    match row.get_ref(11)? {
        ValueRef::Null => r.payer = None,
        _ => {
            let payer = r.payer.get_or_insert_with(Party::default);
            set_text(&mut payer.kind, row, 10)?;
            set_text(&mut payer.id, row, 11)?;
            set_text(&mut payer.name, row, 12)?;
            set_opt(&mut payer.email, row, 13)?;
        }
    }
    set_text(&mut r.psp_id, row, 14)?;
    set_opt(&mut r.psp_fiscal_code, row, 15)?;
    set_text(&mut r.psp_company_name, row, 16)?;
    set_opt(&mut r.payment_date_time, row, 17)?;
    r.payment_date = row.get(18)?;
    set_text(&mut r.received_at, row, 19)?;
    set_text(&mut r.request_xml, row, 20)?;
    r.transfer_index = row.get(21)?;
    r.transfer_amount_cents = row.get(22)?;
    set_text(&mut r.transfer_category, row, 23)?;
    set_text(&mut r.transfer_remittance, row, 24)?;
    set_opt(&mut r.mbd_attachment, row, 25)?;
    set_opt(&mut r.iud, row, 26)?;
    set_opt(&mut r.debtor.address, row, 27)?;
    set_opt(&mut r.debtor.civic_number, row, 28)?;
    set_opt(&mut r.debtor.postal_code, row, 29)?;
    set_opt(&mut r.debtor.city, row, 30)?;
    set_opt(&mut r.debtor.province, row, 31)?;
    set_opt(&mut r.debtor.country, row, 32)?;
    set_opt(&mut r.causale, row, 33)?;
    set_opt(&mut r.collection_data, row, 34)?;
    set_opt(&mut r.bilancio, row, 35)?;
    set_opt(&mut r.debt_type_code, row, 36)?;
    set_opt(&mut r.debt_source, row, 37)?;
    set_text(&mut r.primary_fiscal_code, row, 38)?;
    set_text(&mut r.primary_name, row, 39)?;
    r.secondary = row.get(40)?;
    Ok(())
}

const EXTERNAL_ROWS: &str = "SELECT e.iuv, e.amount_cents, e.outcome_date, e.payment_index, e.collection_id, \
     e.attestor_kind, e.attestor_code, e.attestor_name, e.created_at, d.iud, d.debtor_id, d.debtor_name, \
     d.debtor_address, d.debtor_civic_number, d.debtor_postal_code, d.debtor_city, d.debtor_province, d.causale, \
     d.collection_data, dt.code, d.source, d.debtor_kind, d.debtor_country, d.debtor_email \
     FROM external_payment e JOIN debt d ON d.id = e.debt_id JOIN debt_type dt ON dt.id = d.debt_type_id \
     WHERE e.org_id = :org_id AND e.amount_cents > 0 AND dt.code <> 'MARCA_BOLLO_DIGITALE' \
     AND ((:incremental = 1 AND e.created_at >= :from AND e.created_at < :to) \
       OR (:incremental = 0 AND e.outcome_date BETWEEN :from AND :to)) \
     AND (:types IS NULL OR instr(:types, ';' || dt.code || ';') > 0) ORDER BY e.id";

/// The current result row of [`EXTERNAL_ROWS`]: a new record each time, as such payments are few
/// (their IUV is checked as it is read).
fn external_row(row: &Row<'_>) -> rusqlite::Result<ExternalPaymentRow> {
    Ok(ExternalPaymentRow {
        payment: super::sil::ExternalPaymentRecord {
            org_id: 0,
            debt_id: 0,
            iuv: row.get(0)?,
            context_code: None,
            amount_cents: row.get(1)?,
            outcome_date: row.get(2)?,
            payment_index: row.get(3)?,
            collection_id: row.get(4)?,
            attestor_kind: row.get(5)?,
            attestor_code: row.get(6)?,
            attestor_name: row.get(7)?,
            recorded_by: String::new(),
        },
        recorded_at: row.get(8)?,
        iud: row.get(9)?,
        debtor: Party {
            kind: row.get(21)?,
            id: row.get(10)?,
            name: row.get(11)?,
            address: row.get(12)?,
            civic_number: row.get(13)?,
            postal_code: row.get(14)?,
            city: row.get(15)?,
            province: row.get(16)?,
            country: row.get(22)?,
            email: row.get(23)?,
        },
        causale: row.get(17)?,
        collection_data: row.get(18)?,
        debt_type_code: row.get(19)?,
        debt_source: row.get(20)?,
    })
}

/// Calls `each` for every row of the selection: first the org's own receipts, then the payments
/// its SIL recorded outside pagoPA (MyPay keeps both as paid debts of the org), then (when asked)
/// the receipts of other orgs where it is a secondary beneficiary. Returns the number of rows.
pub fn for_each_export_row<E: From<StoreError>>(
    conn: &Conn,
    sel: &ExportSelection<'_>,
    mut each: impl FnMut(ExportItem<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    let primary = format!(
        "SELECT {ROW_COLUMNS} {ROW_FROM} WHERE r.org_id = :org_id AND {ROW_FILTER} \
         AND (:types IS NULL OR instr(:types, ';' || dt.code || ';') > 0) ORDER BY r.id, t.transfer_index"
    );
    let mut n_rows = each_receipt_row(conn, sel, &primary, &mut each)?;
    let mut stmt = conn.sqlite().prepare(EXTERNAL_ROWS).map_err(StoreError::from)?;
    let params = named_params! {
        ":org_id": sel.org_id, ":incremental": sel.incremental, ":from": sel.from, ":to": sel.to,
        ":types": sel.debt_types,
    };
    let mut rows = stmt.query(params).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        let record = external_row(row).map_err(StoreError::from)?;
        each(ExportItem::External(&record))?;
        n_rows += 1;
    }
    // A debt-type filter names the org's own types, which secondary rows never have.
    if sel.secondary && sel.debt_types.is_none() {
        let secondary = format!(
            "SELECT {ROW_COLUMNS} {ROW_FROM} WHERE r.org_id <> :org_id AND {ROW_FILTER} ORDER BY r.id, t.transfer_index"
        );
        n_rows += each_receipt_row(conn, sel, &secondary, &mut each)?;
    }
    Ok(n_rows)
}

/// Runs one query of receipt rows, calling `each` for every row; returns how many.
fn each_receipt_row<E: From<StoreError>>(
    conn: &Conn,
    sel: &ExportSelection<'_>,
    sql: &str,
    each: &mut impl FnMut(ExportItem<'_>) -> Result<(), E>,
) -> Result<u64, E> {
    let mut stmt = conn.sqlite().prepare(sql).map_err(StoreError::from)?;
    let mut params = vec![
        (":org_id", &sel.org_id as &dyn rusqlite::ToSql),
        (":fiscal_code", &sel.fiscal_code),
        (":incremental", &sel.incremental),
        (":from", &sel.from),
        (":to", &sel.to),
        (":with_receipt", &sel.with_receipt),
    ];
    if sql.contains(":types") {
        params.push((":types", &sel.debt_types));
    }
    let mut rows = stmt.query(params.as_slice()).map_err(StoreError::from)?;
    let mut record = ExportRow::default();
    let mut n_rows = 0;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        fill_export_row(&mut record, row).map_err(StoreError::from)?;
        each(ExportItem::Receipt(&record))?;
        n_rows += 1;
    }
    Ok(n_rows)
}

/// Calls `each` for every open debt of the org whose due date is before `due_before`, of debt types
/// with a mandatory due date (`;code;` filter optional), unless one of its payment options is still
/// unpaid and due on or after that day (an instalment plan is not expired while a rate is still due).
/// Returns the number of rows.
pub fn for_each_expired_debt<E: From<StoreError>>(
    conn: &Conn,
    org_id: i64,
    due_before: &str,
    debt_types: Option<&str>,
    mut each: impl FnMut(&super::debts::DebtRecord) -> Result<(), E>,
) -> Result<u64, E> {
    let ids: Vec<(i64, String)> = conn
        .sqlite()
        .prepare(
            "SELECT d.id, d.iud FROM debt d JOIN debt_type t ON t.id = d.debt_type_id WHERE d.org_id = :org_id \
             AND t.due_date_mandatory = 1 AND d.due_date < :before AND d.state IN ('INSERIMENTO_DOVUTO', 'SCADUTO') \
             AND (:types IS NULL OR instr(:types, ';' || t.code || ';') > 0) \
             AND NOT EXISTS (SELECT 1 FROM debt_option o WHERE o.debt_id = d.id AND o.released_id = 0 \
                             AND o.state = 'DA_PAGARE' AND o.due_date >= :before) ORDER BY d.id",
        )
        .map_err(StoreError::from)?
        .query_map(named_params! { ":org_id": org_id, ":before": due_before, ":types": debt_types }, |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(StoreError::from)?
        .collect::<Result<_, _>>()
        .map_err(StoreError::from)?;
    let mut n_rows = 0;
    for (_, iud) in ids {
        if let Some(debt) = super::debts::find_debt_by_iud(conn, org_id, &iud)? {
            each(&debt)?;
            n_rows += 1;
        }
    }
    Ok(n_rows)
}
