//! Upstream mode's payments started at the box: the Region's session of a cart sent to the
//! regional MyPay (`region_payment`), and the debts the Region creates itself at its checkout,
//! which are never mirrored (`region_session_debt`).

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};

/// A cart sent to the Region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionPaymentRecord {
    pub cart_id: i64,
    /// The Region's idSession (idSessionCarrello for a cart of several orgs).
    pub id_session: String,
    /// `dovuti`, `carrello` or `avviso`: the operation that opened it.
    pub operation: String,
    /// The org the box called as (whose SIL credentials ask for the outcome).
    pub org_id: i64,
    pub created_at: String,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<RegionPaymentRecord> {
    Ok(RegionPaymentRecord {
        cart_id: row.get(0)?,
        id_session: row.get(1)?,
        operation: row.get(2)?,
        org_id: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// Records the Region's session of a cart.
pub fn insert_region_payment(conn: &Conn, r: &RegionPaymentRecord) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO region_payment (cart_id, id_session, operation, org_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![r.cart_id, r.id_session, r.operation, r.org_id, r.created_at])
        .map_err(StoreError::from_sqlite)?;
    Ok(())
}

/// The cart sent to the Region under this idSession.
pub fn find_region_payment(conn: &Conn, id_session: &str) -> Result<Option<RegionPaymentRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT cart_id, id_session, operation, org_id, created_at FROM region_payment WHERE id_session = ?1",
        )?
        .query_row([id_session], from_row)
        .optional()?)
}

/// Marks a debt as created by the Region at its checkout: never to be mirrored.
pub fn insert_region_session_debt(conn: &Conn, debt_id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("INSERT OR IGNORE INTO region_session_debt (debt_id, created_at) VALUES (?1, ?2)")?
        .execute(params![debt_id, now])?;
    Ok(())
}

/// Whether the Region creates this debt itself (see [`insert_region_session_debt`]).
#[cfg(test)]
pub fn is_region_session_debt(conn: &Conn, debt_id: i64) -> Result<bool, StoreError> {
    Ok(conn.sqlite().prepare_cached("SELECT 1 FROM region_session_debt WHERE debt_id = ?1")?.exists([debt_id])?)
}
