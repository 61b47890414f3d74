//! The receipt recovery call log (`receipt_recovery_call`): every call to pagoPA's biz-events
//! receipt API, written before the call is made, so the limit on calls (pagopa.md §4.6: 10 in
//! any 60 minutes) holds across restarts and a reported transfer is never asked for twice once
//! pagoPA answered about it.

use rusqlite::{OptionalExtension, params};

use super::{Conn, StoreError};

/// How a call ended; `None` (stored NULL) while it runs or when the process stopped during it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// The receipt came and was stored.
    Found,
    /// pagoPA has no such receipt.
    NotFound,
    /// pagoPA's 429: asked again on a later run.
    Throttled,
    /// No usable answer: asked again on a later run.
    Error,
}

impl CallResult {
    pub const fn code(self) -> &'static str {
        match self {
            CallResult::Found => "FOUND",
            CallResult::NotFound => "NOT_FOUND",
            CallResult::Throttled => "THROTTLED",
            CallResult::Error => "ERROR",
        }
    }
}

/// Records a call about to be made at `at`; returns its id.
pub fn insert_call(conn: &Conn, org_id: i64, iuv: &str, iur: &str, at: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached("INSERT INTO receipt_recovery_call (org_id, iuv, iur, called_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![org_id, iuv, iur, at])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Records how call `id` ended.
pub fn update_call_result(conn: &Conn, id: i64, result: CallResult) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE receipt_recovery_call SET result = ?2 WHERE id = ?1")?
        .execute(params![id, result.code()])?;
    Ok(())
}

/// The calls made after `since` (of every org: the limit is the subscription's), and the instant
/// of the first of them.
pub fn calls_since(conn: &Conn, since: &str) -> Result<(i64, Option<String>), StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*), min(called_at) FROM receipt_recovery_call WHERE called_at > ?1")?
        .query_row([since], |row| Ok((row.get(0)?, row.get(1)?)))?)
}

/// Whether pagoPA already answered about the org's (IUV, IUR): found or not found. A throttled or
/// failed call does not count: it is asked again.
pub fn answered(conn: &Conn, org_id: i64, iuv: &str, iur: &str) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 FROM receipt_recovery_call WHERE org_id = ?1 AND iuv = ?2 AND iur = ?3 \
             AND result IN ('FOUND', 'NOT_FOUND') LIMIT 1",
        )?
        .query_row(params![org_id, iuv, iur], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A recorded call: (org, IUV, IUR, at, result).
#[cfg(test)]
pub type CallRow = (i64, String, String, String, Option<String>);

/// Every call, oldest first: for tests.
#[cfg(test)]
pub fn list_calls(conn: &Conn) -> Result<Vec<CallRow>, StoreError> {
    let mut stmt = conn
        .sqlite()
        .prepare_cached("SELECT org_id, iuv, iur, called_at, result FROM receipt_recovery_call ORDER BY id")?;
    let rows = stmt
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
