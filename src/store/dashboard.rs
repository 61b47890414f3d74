//! The back office's dashboard figures: successful payments per day, and the work in progress or
//! needing an eye (imports and exports running, outcome pushes pending or failed, reporting flows
//! refused).

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};

use super::{Conn, StoreError};
use crate::domain::{Cents, Day};

/// Successful payments of one day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayTotal {
    /// The receipts' payment date (a Europe/Rome day).
    pub day: Day,
    pub count: i64,
    pub cents: Cents,
}

/// Successful receipts of the org with a payment date in `[from, to]`, per day (days without any
/// are absent); with `allowed_types`, only receipts of debts of those types.
pub fn list_payments_per_day(
    conn: &Conn,
    org_id: i64,
    from: &str,
    to: &str,
    allowed_types: Option<&[i64]>,
) -> Result<Vec<DayTotal>, StoreError> {
    let types = match allowed_types {
        // A literal list of ids (integers, never text from a user).
        Some(ids) => format!(
            " AND r.debt_id IN (SELECT d.id FROM debt d WHERE d.id = r.debt_id AND d.debt_type_id IN ({}))",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT r.payment_date, count(*), sum(r.amount_cents) FROM receipt r WHERE r.org_id = ? AND r.outcome = 'OK' AND r.held = 0 \
         AND r.payment_date >= ? AND r.payment_date <= ?{types} GROUP BY r.payment_date ORDER BY r.payment_date"
    );
    let values = vec![Value::Integer(org_id), Value::Text(from.to_owned()), Value::Text(to.to_owned())];
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params_from_iter(values), |row| {
            Ok(DayTotal { day: row.get(0)?, count: row.get(1)?, cents: row.get(2)? })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Counts of what is under way or needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Activity {
    pub imports_running: i64,
    pub exports_running: i64,
    pub pushes_pending: i64,
    pub pushes_failed: i64,
    pub flows_rejected: i64,
}

/// The org's [`Activity`].
pub fn get_activity(conn: &Conn, org_id: i64) -> Result<Activity, StoreError> {
    let count = |sql: &str| -> Result<i64, StoreError> {
        Ok(conn.sqlite().prepare_cached(sql)?.query_row([org_id], |r| r.get(0))?)
    };
    Ok(Activity {
        imports_running: count(
            "SELECT count(*) FROM debt_import WHERE org_id = ?1 AND state IN ('LOAD_IMPORT', 'IMPORT_IN_ELAB')",
        )?,
        exports_running: count(
            "SELECT count(*) FROM export WHERE org_id = ?1 AND state IN ('LOAD_EXPORT', 'EXPORT_IN_ELAB')",
        )?,
        pushes_pending: count("SELECT count(*) FROM outcome_push WHERE org_id = ?1 AND state = 'pending'")?,
        pushes_failed: count("SELECT count(*) FROM outcome_push WHERE org_id = ?1 AND state = 'failed'")?,
        flows_rejected: count("SELECT count(*) FROM reporting_flow WHERE org_id = ?1 AND state = 'RIFIUTATO'")?,
    })
}

/// A refused reporting flow, for the list on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedFlow {
    pub iuf: String,
    pub psp_id: String,
    pub fetched_at: String,
    pub reason: Option<String>,
}

/// The org's most recent refused reporting flows.
pub fn list_rejected_flows(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<RejectedFlow>, StoreError> {
    let rows = conn.sqlite()
        .prepare_cached(
            "SELECT iuf, psp_id, fetched_at, reject_reason FROM reporting_flow WHERE org_id = ?1 AND state = 'RIFIUTATO' \
             ORDER BY id DESC LIMIT ?2",
        )?
        .query_map(params![org_id, limit], |row| {
            Ok(RejectedFlow { iuf: row.get(0)?, psp_id: row.get(1)?, fetched_at: row.get(2)?, reason: row.get(3)? })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
