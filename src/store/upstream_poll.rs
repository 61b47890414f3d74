//! The cursor of each org's polling of a regional MyPay (`upstream_poll`): where the next
//! incremental receipt export starts, the reservation waiting to be fetched, and how the last poll
//! went. When to reserve, fetch and advance is `crate::services::upstream::polling`'s.
//!
//! **Invariant:** a reservation is stored with the `dateTo` the Region answered, and the cursor
//! moves to it only when the reservation is applied ([`update_applied`]).

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};

/// One org's polling state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollRecord {
    pub org_id: i64,
    /// `dateFrom` of the next reservation, the Region's local time as it answered it.
    pub cursor: String,
    /// A reservation not applied yet: its token and the `dateTo` the Region answered with it.
    pub reservation: Option<Reservation>,
    pub requested_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Receipts polling stored, in all (replays not counted).
    pub receipts_applied: i64,
    pub updated_at: String,
}

/// A reserved export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub token: String,
    pub date_to: String,
}

const COLUMNS: &str = "org_id, cursor, request_token, request_to, requested_at, last_success_at, last_error, \
     last_error_at, receipts_applied, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<PollRecord> {
    let token: Option<String> = row.get(2)?;
    let date_to: Option<String> = row.get(3)?;
    Ok(PollRecord {
        org_id: row.get(0)?,
        cursor: row.get(1)?,
        reservation: token.zip(date_to).map(|(token, date_to)| Reservation { token, date_to }),
        requested_at: row.get(4)?,
        last_success_at: row.get(5)?,
        last_error: row.get(6)?,
        last_error_at: row.get(7)?,
        receipts_applied: row.get(8)?,
        updated_at: row.get(9)?,
    })
}

/// The org's polling state, if it ever polled.
pub fn find_poll(conn: &Conn, org_id: i64) -> Result<Option<PollRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM upstream_poll WHERE org_id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([org_id], from_row).optional()?)
}

/// Starts the org's polling at `cursor`, unless it has a state already; returns the state.
pub fn insert_poll_if_absent(conn: &Conn, org_id: i64, cursor: &str, now: &str) -> Result<PollRecord, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO upstream_poll (org_id, cursor, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (org_id) DO NOTHING",
        )?
        .execute(params![org_id, cursor, now])?;
    find_poll(conn, org_id)?.ok_or(StoreError::Corrupt { column: "upstream_poll.org_id", reason: org_id.to_string() })
}

/// Moves the cursor to `cursor` and forgets any reservation (an operator's new start).
#[allow(dead_code, reason = "polling::start_at's")]
pub fn update_cursor(conn: &Conn, org_id: i64, cursor: &str, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE upstream_poll SET cursor = ?2, request_token = NULL, request_to = NULL, requested_at = NULL, \
             updated_at = ?3 WHERE org_id = ?1",
        )?
        .execute(params![org_id, cursor, now])?;
    Ok(())
}

/// Records a reservation, before anything waits for it.
pub fn update_reserved(conn: &Conn, org_id: i64, reservation: &Reservation, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE upstream_poll SET request_token = ?2, request_to = ?3, requested_at = ?4, updated_at = ?4 \
             WHERE org_id = ?1",
        )?
        .execute(params![org_id, reservation.token, reservation.date_to, now])?;
    Ok(())
}

/// The reservation is applied (or its window was empty): the cursor moves to its `dateTo`, the
/// reservation and the last error are cleared, `applied` receipts are counted.
pub fn update_applied(conn: &Conn, org_id: i64, applied: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE upstream_poll SET cursor = request_to, request_token = NULL, request_to = NULL, \
             requested_at = NULL, last_success_at = ?3, last_error = NULL, last_error_at = NULL, \
             receipts_applied = receipts_applied + ?2, updated_at = ?3 \
             WHERE org_id = ?1 AND request_token IS NOT NULL",
        )?
        .execute(params![org_id, applied.max(0), now])?;
    Ok(())
}

/// Forgets the reservation, keeping the cursor: the next poll reserves the same window again.
pub fn update_dropped(conn: &Conn, org_id: i64, error: &str, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE upstream_poll SET request_token = NULL, request_to = NULL, requested_at = NULL, last_error = ?2, \
             last_error_at = ?3, updated_at = ?3 WHERE org_id = ?1",
        )?
        .execute(params![org_id, error, now])?;
    Ok(())
}

/// Records why a poll failed; cursor and reservation stay. Receipts stored before the failure are
/// counted.
pub fn update_failed(conn: &Conn, org_id: i64, error: &str, applied: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE upstream_poll SET last_error = ?2, last_error_at = ?3, receipts_applied = receipts_applied + ?4, \
             updated_at = ?3 WHERE org_id = ?1",
        )?
        .execute(params![org_id, error, now, applied.max(0)])?;
    Ok(())
}
