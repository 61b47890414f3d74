//! What MyPivot's SIL services read (mypivot.md §5.1, §6): an org's paying receipt transfers (S
//! rows included, §1.7) with the reporting row that reported each
//! (`pivotSILChiediPagatiRiconciliati`: receipts ⟗ current flows, RT_IUF and RT_NO_IUF, no treasury), a treasury bolletta's keys and the sums of the
//! CHIUSO accertamenti booked on what an IUF or an IUV reached (`pivotSILChiediAccertamento`).
//!
//! A flow counts when it is ACQUISITO and not superseded; a reporting row matches a transfer by
//! IUV, IUR and transfer index (a row without index matches any transfer of that receipt).

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

use super::{Conn, StoreError};

/// The reporting row (and its flow) that reported a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedPart {
    pub iuf: String,
    pub flow_date: Option<String>,
    pub settlement_id: Option<String>,
    pub settlement_date: Option<String>,
    pub psp_id: String,
    pub psp_name: Option<String>,
    pub total_payments: Option<i64>,
    pub total_amount_cents: Option<i64>,
    pub iur: String,
    pub transfer_index: Option<i64>,
    pub amount_cents: i64,
    pub outcome_code: String,
    pub outcome_date: String,
}

/// One paying receipt transfer of the org, with its reporting row when one reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidTransfer {
    pub receipt_id: String,
    pub iuv: String,
    pub transfer_index: i64,
    pub transfer_cents: i64,
    pub total_cents: i64,
    pub payment_date: String,
    pub payment_date_time: Option<String>,
    pub received_at: String,
    pub psp_id: String,
    pub psp_name: String,
    pub company_name: String,
    pub debtor_kind: String,
    pub debtor_id: String,
    pub debtor_name: String,
    pub payer_kind: Option<String>,
    pub payer_id: Option<String>,
    pub payer_name: Option<String>,
    pub remittance: String,
    pub category: String,
    pub iud: Option<String>,
    pub debt_type: Option<String>,
    pub reported: Option<ReportedPart>,
    /// The later of the receipt's and the flow's arrival: what a by-date request ranges over.
    pub data: String,
    /// For an S row, the fiscal code of the org that collected the payment (the receipt's creditor).
    pub collector_fiscal_code: Option<String>,
}

/// Which transfers [`paid_transfers`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaidSelection {
    /// Arrived (see [`PaidTransfer::data`]) in [`from`, `to`), UTC ISO text, oldest first.
    ByDate { from: String, to: String },
    /// Of these IUVs, or reported by these flows (IUF, compared ignoring case).
    ByKeys { iuvs: Vec<String>, iufs: Vec<String> },
}

/// The debt type of an S row, as MyPivot files it (mypivot.md §1.7).
pub const S_ROW_DEBT_TYPE: &str = "EXPORT_ENTE_SECONDARIO";

/// The reporting row of the org's current flows that reported transfer `t` of receipt `r`.
const REPORTED_JOIN: &str = "LEFT JOIN (reporting_payment p JOIN reporting_flow f ON f.id = p.flow_id AND f.org_id = ?1 \
     AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL) \
     ON p.iuv = r.iuv AND p.iur = r.receipt_id AND (p.transfer_index IS NULL OR p.transfer_index = t.transfer_index)";

/// The columns of both branches of [`paid_sql`]; `{total}`, `{iud}`, `{dtcode}` and `{collector}`
/// differ between the org's own receipts and S rows.
fn paid_columns(total: &str, iud: &str, dtcode: &str, collector: &str) -> String {
    format!(
        "r.receipt_id, r.iuv AS riuv, t.transfer_index AS tidx, t.amount_cents, {total}, \
         r.payment_date, r.payment_date_time, r.received_at, r.psp_id, r.psp_company_name, r.company_name, \
         r.debtor_kind, r.debtor_id, r.debtor_name, r.payer_kind, r.payer_id, r.payer_name, t.remittance, t.category, \
         {iud}, {dtcode} AS dtcode, f.iuf AS fiuf, f.flow_date, f.settlement_id, f.settlement_date, f.psp_id, f.psp_name, \
         f.total_payments, f.total_amount_cents, p.iur, p.transfer_index, p.amount_cents, p.outcome_code, \
         p.outcome_date, max(r.received_at, coalesce(f.fetched_at, r.received_at)) AS data, r.id AS rid, \
         p.flow_id AS fid, p.row_index AS prow, {collector} AS collector"
    )
}

/// The org's paying transfers: those of its own receipts, and its S rows (another org of this
/// installation collected the payment, a transfer with an IBAN pays this org; a stamp is none),
/// whose total is the transfer's amount, with no IUD, filed under [`S_ROW_DEBT_TYPE`], as MyPivot
/// writes them. Each with the reporting row that reported it, if any.
fn paid_sql() -> String {
    let own = paid_columns("r.amount_cents", "d.iud", "dt.code", "NULL");
    let s_rows = paid_columns("t.amount_cents", "NULL", &format!("'{S_ROW_DEBT_TYPE}'"), "c.fiscal_code");
    format!(
        "SELECT * FROM (SELECT {own} \
         FROM receipt r JOIN org o ON o.id = r.org_id \
         JOIN receipt_transfer t ON t.receipt_id = r.id AND t.fiscal_code = o.fiscal_code \
         LEFT JOIN debt d ON d.id = r.debt_id LEFT JOIN debt_type dt ON dt.id = d.debt_type_id {REPORTED_JOIN} \
         WHERE r.org_id = ?1 AND r.outcome = 'OK' AND r.held = 0 \
         UNION ALL SELECT {s_rows} \
         FROM org o JOIN receipt_transfer t ON t.fiscal_code = o.fiscal_code JOIN receipt r ON r.id = t.receipt_id \
         JOIN org c ON c.id = r.org_id {REPORTED_JOIN} \
         WHERE o.id = ?1 AND r.org_id <> ?1 AND r.outcome = 'OK' AND r.held = 0 AND t.iban IS NOT NULL) WHERE "
    )
}

/// `placeholders(3, 2)` = `?3, ?4`.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("?{n}")).collect::<Vec<_>>().join(", ")
}

/// The org's paying transfers selected by `selection`, of `debt_types` when not empty, at most
/// `limit`, in the order of their `data`.
pub fn paid_transfers(
    conn: &Conn,
    org_id: i64,
    selection: &PaidSelection,
    debt_types: &[String],
    limit: u32,
) -> Result<Vec<PaidTransfer>, StoreError> {
    let mut values = vec![Value::Integer(org_id)];
    let mut sql = paid_sql();
    match selection {
        PaidSelection::ByDate { from, to } => {
            sql.push_str("data >= ?2 AND data < ?3");
            values.push(Value::Text(from.clone()));
            values.push(Value::Text(to.clone()));
        }
        PaidSelection::ByKeys { iuvs, iufs } => {
            let mut alternatives = Vec::new();
            if !iuvs.is_empty() {
                alternatives.push(format!("riuv IN ({})", placeholders(values.len() + 1, iuvs.len())));
                values.extend(iuvs.iter().cloned().map(Value::Text));
            }
            if !iufs.is_empty() {
                alternatives.push(format!("upper(fiuf) IN ({})", placeholders(values.len() + 1, iufs.len())));
                values.extend(iufs.iter().map(|iuf| Value::Text(iuf.to_uppercase())));
            }
            if alternatives.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!("({})", alternatives.join(" OR ")));
        }
    }
    if !debt_types.is_empty() {
        sql.push_str(&format!(" AND dtcode IN ({})", placeholders(values.len() + 1, debt_types.len())));
        values.extend(debt_types.iter().cloned().map(Value::Text));
    }
    sql.push_str(&format!(" ORDER BY data, rid, tidx, fid, prow LIMIT ?{}", values.len() + 1));
    values.push(Value::Integer(i64::from(limit)));
    let mut stmt = conn.sqlite().prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), |row| {
            let iuf: Option<String> = row.get(21)?;
            let reported = match iuf {
                Some(iuf) => Some(ReportedPart {
                    iuf,
                    flow_date: row.get(22)?,
                    settlement_id: row.get(23)?,
                    settlement_date: row.get(24)?,
                    psp_id: row.get(25)?,
                    psp_name: row.get(26)?,
                    total_payments: row.get(27)?,
                    total_amount_cents: row.get(28)?,
                    iur: row.get(29)?,
                    transfer_index: row.get(30)?,
                    amount_cents: row.get(31)?,
                    outcome_code: row.get(32)?,
                    outcome_date: row.get(33)?,
                }),
                None => None,
            };
            Ok(PaidTransfer {
                receipt_id: row.get(0)?,
                iuv: row.get(1)?,
                transfer_index: row.get(2)?,
                transfer_cents: row.get(3)?,
                total_cents: row.get(4)?,
                payment_date: row.get(5)?,
                payment_date_time: row.get(6)?,
                received_at: row.get(7)?,
                psp_id: row.get(8)?,
                psp_name: row.get(9)?,
                company_name: row.get(10)?,
                debtor_kind: row.get(11)?,
                debtor_id: row.get(12)?,
                debtor_name: row.get(13)?,
                payer_kind: row.get(14)?,
                payer_id: row.get(15)?,
                payer_name: row.get(16)?,
                remittance: row.get(17)?,
                category: row.get(18)?,
                iud: row.get(19)?,
                debt_type: row.get(20)?,
                reported,
                data: row.get(34)?,
                collector_fiscal_code: row.get(38)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A treasury bolletta's payment keys: the IUF and the IUV its causale gave (either may be absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bolletta {
    pub iuf: Option<String>,
    pub iuv: Option<String>,
}

/// The org's giornale di cassa or Poste bolletta (C, O, Y) of `year` and `number` (leading zeros
/// ignored), `None` when none was loaded.
pub fn find_bolletta(conn: &Conn, org_id: i64, year: i64, number: &str) -> Result<Option<Bolletta>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT iuf, iuv FROM recon_movement WHERE org_id = ?1 AND source IN ('C', 'O', 'Y') \
             AND bolletta_year = ?2 AND ltrim(bolletta_number, '0') = ltrim(?3, '0') ORDER BY id LIMIT 1",
        )?
        .query_row(params![org_id, year, number], |row| Ok(Bolletta { iuf: row.get(0)?, iuv: row.get(1)? }))
        .optional()?)
}

/// Whether the org holds a current reporting flow `iuf` (ignoring case).
pub fn flow_exists(conn: &Conn, org_id: i64, iuf: &str) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 FROM reporting_flow WHERE org_id = ?1 AND upper(iuf) = upper(?2) AND state = 'ACQUISITO' \
             AND superseded_by IS NULL LIMIT 1",
        )?
        .query_row(params![org_id, iuf], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The amount booked to one office, debt type, chapter and assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedSum {
    pub office: String,
    pub debt_type: String,
    pub chapter: String,
    pub accertamento: String,
    pub cents: i64,
}

const BOOKED_SQL: &str = "SELECT d.office_code, d.debt_type_code, d.chapter_code, d.accertamento_code, \
     sum(d.amount_cents) FROM accertamento_detail d \
     JOIN accertamento a ON a.id = d.accertamento_id AND a.state = 'CHIUSO' WHERE d.org_id = ?1 AND ";

/// What whose keys are selected by `clause` (on `d`, with `?2`) adds up to, in CHIUSO accertamenti.
fn booked(conn: &Conn, org_id: i64, clause: &str, key: &str) -> Result<Vec<BookedSum>, StoreError> {
    let sql = format!("{BOOKED_SQL}{clause} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    let mut stmt = conn.sqlite().prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![org_id, key], |row| {
            Ok(BookedSum {
                office: row.get(0)?,
                debt_type: row.get(1)?,
                chapter: row.get(2)?,
                accertamento: row.get(3)?,
                cents: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The CHIUSO accertamenti's sums on the transfers reported by the org's current flow `iuf`.
pub fn booked_by_iuf(conn: &Conn, org_id: i64, iuf: &str) -> Result<Vec<BookedSum>, StoreError> {
    booked(
        conn,
        org_id,
        "EXISTS (SELECT 1 FROM reporting_payment p JOIN reporting_flow f ON f.id = p.flow_id \
         WHERE f.org_id = ?1 AND upper(f.iuf) = upper(?2) AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL \
         AND p.iuv = d.iuv AND p.iur = d.iur AND (p.transfer_index IS NULL OR p.transfer_index = d.transfer_index))",
        iuf,
    )
}

/// The CHIUSO accertamenti's sums on the transfers of IUV `iuv`.
pub fn booked_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Vec<BookedSum>, StoreError> {
    booked(conn, org_id, "d.iuv = ?2", iuv)
}
