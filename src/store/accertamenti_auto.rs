//! What automatic accertamenti (mypivot.md §1.7) read and keep: the org's cursor over its
//! receipts (each considered once, as it arrives), the transfers of the receipts past it, the
//! registry entries of a debt type, and the CHIUSO header an automatic booking adds to.
//!
//! **Invariant:** the cursor only moves forward ([`set_cursor`] keeps the larger value).

use rusqlite::{OptionalExtension, params};

use super::accertamenti::{AccertamentoRecord, REGISTRY_COLUMNS, RegistryRecord, registry_from_row};
use super::{Conn, StoreError};
use crate::domain::{Cents, Day};

/// The last receipt (row id) of the org already considered; 0 when none was.
pub fn cursor(conn: &Conn, org_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT last_receipt_id FROM accertamento_auto_cursor WHERE org_id = ?1")?
        .query_row([org_id], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Moves the org's cursor to `last` (never back).
pub fn set_cursor(conn: &Conn, org_id: i64, last: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO accertamento_auto_cursor (org_id, last_receipt_id) VALUES (?1, ?2) \
             ON CONFLICT (org_id) DO UPDATE SET last_receipt_id = max(last_receipt_id, excluded.last_receipt_id)",
        )?
        .execute(params![org_id, last])?;
    Ok(())
}

/// The row id of the `limit`-th receipt of the org after `after` (or its last one, if fewer).
pub fn receipts_window_end(conn: &Conn, org_id: i64, after: i64, limit: u32) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT max(id) FROM (SELECT id FROM receipt WHERE org_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3)",
        )?
        .query_row(params![org_id, after, limit], |row| row.get(0))?)
}

/// The org of receipt `receipt_row` (row id), `None` when there is no such receipt.
pub fn receipt_org(conn: &Conn, receipt_row: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT org_id FROM receipt WHERE id = ?1")?
        .query_row([receipt_row], |row| row.get(0))
        .optional()?)
}

/// A transfer to the org of a paying receipt, with what its booking needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    pub iuv: String,
    pub iur: String,
    pub transfer_index: i64,
    pub amount: Cents,
    pub debt_type_code: String,
    pub iud: Option<String>,
    pub bilancio: Option<String>,
    /// The outcome day.
    pub payment_date: Day,
    /// How many transfers of the receipt credit the org.
    pub org_transfers: i64,
}

/// The transfers credited to the org (fiscal code `org_fiscal_code`) by its paying receipts (outcome
/// OK, not held) of a debt of ours with row id in `after + 1 ..= last`, in receipt order.
pub fn transfers_in(
    conn: &Conn,
    org_id: i64,
    org_fiscal_code: &str,
    after: i64,
    last: i64,
) -> Result<Vec<NewTransfer>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT r.iuv, r.receipt_id, t.transfer_index, t.amount_cents, dt.code, d.iud, d.bilancio, r.payment_date, \
             (SELECT count(*) FROM receipt_transfer o WHERE o.receipt_id = r.id AND o.fiscal_code = ?2) \
             FROM receipt r JOIN receipt_transfer t ON t.receipt_id = r.id \
             JOIN debt d ON d.id = r.debt_id JOIN debt_type dt ON dt.id = d.debt_type_id \
             WHERE r.org_id = ?1 AND r.id > ?3 AND r.id <= ?4 AND t.fiscal_code = ?2 \
             AND r.outcome = 'OK' AND r.held = 0 ORDER BY r.id, t.transfer_index",
        )?
        .query_map(params![org_id, org_fiscal_code, after, last], |row| {
            Ok(NewTransfer {
                iuv: row.get(0)?,
                iur: row.get(1)?,
                transfer_index: row.get(2)?,
                amount: row.get(3)?,
                debt_type_code: row.get(4)?,
                iud: row.get(5)?,
                bilancio: row.get(6)?,
                payment_date: row.get(7)?,
                org_transfers: row.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// At most `limit` active registry entries of debt type `debt_type_code`.
pub fn active_entries(
    conn: &Conn,
    org_id: i64,
    debt_type_code: &str,
    limit: u32,
) -> Result<Vec<RegistryRecord>, StoreError> {
    let sql = format!(
        "SELECT {REGISTRY_COLUMNS} FROM accertamento_registry WHERE org_id = ?1 AND debt_type_code = ?2 AND active = 1 \
         ORDER BY id LIMIT ?3"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, debt_type_code, limit], registry_from_row)?
        .collect::<Result<_, _>>()?)
}

/// Whether the registry has an entry (active or not, any year) of debt type `debt_type_code` for
/// office, chapter and assessment.
pub fn registry_knows(
    conn: &Conn,
    org_id: i64,
    debt_type_code: &str,
    office_code: &str,
    chapter_code: &str,
    accertamento_code: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM accertamento_registry WHERE org_id = ?1 AND debt_type_code = ?2 \
             AND office_code = ?3 AND chapter_code = ?4 AND accertamento_code = ?5)",
        )?
        .query_row(params![org_id, debt_type_code, office_code, chapter_code, accertamento_code], |row| row.get(0))?)
}

/// The CHIUSO header named `name` of debt type `debt_type_code` that `actor` made.
pub fn find_closed_header(
    conn: &Conn,
    org_id: i64,
    debt_type_code: &str,
    name: &str,
    actor: &str,
) -> Result<Option<AccertamentoRecord>, StoreError> {
    let id: Option<i64> = conn
        .sqlite()
        .prepare_cached(
            "SELECT id FROM accertamento WHERE org_id = ?1 AND debt_type_code = ?2 AND name = ?3 AND created_by = ?4 \
             AND state = 'CHIUSO' ORDER BY id LIMIT 1",
        )?
        .query_row(params![org_id, debt_type_code, name, actor], |row| row.get(0))
        .optional()?;
    match id {
        Some(id) => super::accertamenti::find_accertamento(conn, org_id, id),
        None => Ok(None),
    }
}
