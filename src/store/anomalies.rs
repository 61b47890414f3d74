//! Anomalies: what a person must look at, one row per (kind, object), open until an org admin
//! resolves it.
//!
//! **Invariant:** an anomaly is opened in the transaction of the change that found it, so a stored
//! receipt that needs review never exists without its open anomaly. Opening the same (kind, object)
//! twice keeps the first.
//!
//! [`AnomalyState`] lives here, beside the record, and not in `domain`: its one move (`open` to
//! `resolved`, never back) is [`update_resolved`]'s statement, which checks it too.

use rusqlite::{OptionalExtension, Row, params};
use serde_json::{Value, json};

use super::codes::stored_as_code;
use super::{Conn, StoreError};
use crate::domain::Cents;
use crate::domain::payment_terms::Discrepancy;
use crate::domain::receipt_shape::{ShapeIssue, ShapeProblem};

/// The kind of a receipt that does not pay what the station asked for (the others are the
/// receipt flags of `receipt.flag`).
pub const RECEIPT_MISMATCH: &str = "RICEVUTA_DIFFORME";
/// The kind of a receipt stored although it deviates from paForNode.xsd (a missing
/// `transferCategory`, an unreadable amount): its deviations are in the details.
pub const RECEIPT_NONCONFORMING: &str = "RICEVUTA_NON_CONFORME";

/// Whether an anomaly still waits for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AnomalyState {
    /// `open`: waiting for an org admin; the state every anomaly starts in.
    #[default]
    Open,
    /// `resolved`: accepted or dismissed, with a note. Final.
    Resolved,
}

impl AnomalyState {
    /// Every state.
    pub const ALL: [AnomalyState; 2] = [AnomalyState::Open, AnomalyState::Resolved];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            AnomalyState::Open => "open",
            AnomalyState::Resolved => "resolved",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<AnomalyState> {
        AnomalyState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(AnomalyState, "anomaly.state");

/// An anomaly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRecord {
    pub id: i64,
    pub org_id: i64,
    /// `RICEVUTA_DIFFORME`, or a receipt flag (`DOPPIO_PAGAMENTO`, `DOVUTO_SCONOSCIUTO`, ...).
    pub kind: String,
    /// What it is about: `receipt`.
    pub object_kind: String,
    pub object_id: i64,
    /// JSON facts of the kind (a receipt's discrepancies).
    pub details: String,
    pub found_at: String,
    pub state: AnomalyState,
    /// `accepted` or `dismissed` once resolved.
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution_note: Option<String>,
}

/// A new anomaly.
#[derive(Debug, Clone, Copy)]
pub struct NewAnomaly<'a> {
    pub org_id: i64,
    pub kind: &'a str,
    pub object_kind: &'a str,
    pub object_id: i64,
    pub details: &'a str,
}

const COLUMNS: &str = "id, org_id, kind, object_kind, object_id, details, found_at, state, resolution, resolved_by, \
     resolved_at, resolution_note";

fn from_row(row: &Row<'_>) -> rusqlite::Result<AnomalyRecord> {
    Ok(AnomalyRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        kind: row.get(2)?,
        object_kind: row.get(3)?,
        object_id: row.get(4)?,
        details: row.get(5)?,
        found_at: row.get(6)?,
        state: row.get(7)?,
        resolution: row.get(8)?,
        resolved_by: row.get(9)?,
        resolved_at: row.get(10)?,
        resolution_note: row.get(11)?,
    })
}

/// Opens an anomaly; an existing one for the same (kind, object) is kept as it is.
pub fn insert_anomaly(conn: &Conn, new: &NewAnomaly<'_>, now: &str) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached(
        "INSERT INTO anomaly (org_id, kind, object_kind, object_id, details, found_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (kind, object_kind, object_id) DO NOTHING",
    )?
    .execute(params![new.org_id, new.kind, new.object_kind, new.object_id, new.details, now])?;
    Ok(())
}

/// The anomaly with this id in the org.
pub fn find_anomaly(conn: &Conn, org_id: i64, id: i64) -> Result<Option<AnomalyRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM anomaly WHERE org_id = ?1 AND id = ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, id], from_row).optional()?)
}

/// The org's anomalies in `state`, newest first, at most `limit`.
pub fn list_anomalies(
    conn: &Conn,
    org_id: i64,
    state: AnomalyState,
    limit: u32,
) -> Result<Vec<AnomalyRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM anomaly WHERE org_id = ?1 AND state = ?2 ORDER BY id DESC LIMIT ?3");
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, state, limit], from_row)?
        .collect::<Result<_, _>>()?)
}

/// The anomalies of an object (all kinds, any state), oldest first.
#[cfg(test)]
pub fn list_anomalies_of(conn: &Conn, object_kind: &str, object_id: i64) -> Result<Vec<AnomalyRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM anomaly WHERE object_kind = ?1 AND object_id = ?2 ORDER BY id");
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![object_kind, object_id], from_row)?
        .collect::<Result<_, _>>()?)
}

/// How many anomalies the org has open.
pub fn count_open(conn: &Conn, org_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM anomaly WHERE org_id = ?1 AND state = 'open'")?
        .query_row([org_id], |row| row.get(0))?)
}

/// Open anomalies of every org by kind, for `/metrics`.
pub fn count_open_by_kind(conn: &Conn) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT kind, count(*) FROM anomaly WHERE state = 'open' GROUP BY kind ORDER BY kind")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

/// Resolves an open anomaly; false when it was not open (resolved meanwhile by someone else).
pub fn update_resolved(
    conn: &Conn,
    id: i64,
    resolution: &str,
    actor: &str,
    note: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached(
            "UPDATE anomaly SET state = 'resolved', resolution = ?2, resolved_by = ?3, resolution_note = ?4, \
             resolved_at = ?5 WHERE id = ?1 AND state = 'open'",
        )?
        .execute(params![id, resolution, actor, note, now])?;
    Ok(changed == 1)
}

/// The details of a receipt anomaly: its discrepancies, as JSON.
pub fn receipt_details(found: &[Discrepancy]) -> String {
    let items: Vec<Value> = found
        .iter()
        .map(|d| match d {
            Discrepancy::Creditor { expected, received } => {
                json!({ "kind": "creditor", "expected": expected, "received": received })
            }
            Discrepancy::Amount { expected, received } => {
                json!({ "kind": "amount", "expected": expected.get(), "received": received.get() })
            }
            Discrepancy::TransferCount { expected, received } => {
                json!({ "kind": "transfer_count", "expected": expected, "received": received })
            }
            Discrepancy::TransferMissing { index } => json!({ "kind": "transfer_missing", "index": index }),
            Discrepancy::TransferAmount { index, expected, received } => json!({
                "kind": "transfer_amount", "index": index, "expected": expected.get(), "received": received.get()
            }),
            Discrepancy::TransferBeneficiary { index, expected, received } => json!({
                "kind": "transfer_beneficiary", "index": index, "expected": expected, "received": received
            }),
            Discrepancy::TransferIban { index, expected, received } => json!({
                "kind": "transfer_iban", "index": index, "expected": expected, "received": received
            }),
        })
        .collect();
    json!({ "discrepancies": items }).to_string()
}

/// The details of a `RICEVUTA_NON_CONFORME` anomaly: `{"shape": [{"field", "problem", ...}]}`.
pub fn shape_details(issues: &[ShapeIssue]) -> String {
    let items: Vec<Value> = issues
        .iter()
        .map(|issue| match &issue.problem {
            ShapeProblem::Missing => json!({ "field": issue.field, "problem": "missing" }),
            ShapeProblem::Invalid(value) => json!({ "field": issue.field, "problem": "invalid", "value": value }),
            ShapeProblem::TooLong { max } => json!({ "field": issue.field, "problem": "too_long", "max": max }),
            ShapeProblem::Ignored => json!({ "field": issue.field, "problem": "ignored" }),
            ShapeProblem::SumDiffers => json!({ "field": issue.field, "problem": "sum_differs" }),
        })
        .collect();
    json!({ "shape": items }).to_string()
}

/// The deviations [`shape_details`] wrote; none for other details or unreadable JSON.
pub fn decode_shape_details(details: &str) -> Vec<ShapeIssue> {
    let Ok(value) = serde_json::from_str::<Value>(details) else {
        return Vec::new();
    };
    let Some(items) = value.get("shape").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let field = item.get("field").and_then(Value::as_str)?;
            let problem = match item.get("problem").and_then(Value::as_str)? {
                "missing" => ShapeProblem::Missing,
                "invalid" => ShapeProblem::Invalid(item.get("value").and_then(Value::as_str)?.to_owned()),
                "too_long" => ShapeProblem::TooLong {
                    max: item.get("max").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok())?,
                },
                "ignored" => ShapeProblem::Ignored,
                "sum_differs" => ShapeProblem::SumDiffers,
                _ => return None,
            };
            Some(ShapeIssue::new(field, problem))
        })
        .collect()
}

/// The discrepancies [`receipt_details`] wrote; what does not read back is left out (details of
/// other kinds, or written by a later version).
pub fn decode_receipt_details(details: &str) -> Vec<Discrepancy> {
    let Ok(value) = serde_json::from_str::<Value>(details) else {
        return Vec::new();
    };
    let Some(items) = value.get("discrepancies").and_then(Value::as_array) else {
        return Vec::new();
    };
    items.iter().filter_map(decode_discrepancy).collect()
}

fn decode_discrepancy(item: &Value) -> Option<Discrepancy> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let int = |key: &str| item.get(key).and_then(Value::as_i64);
    let cents = |key: &str| int(key).map(Cents::new);
    let count = |key: &str| int(key).and_then(|n| usize::try_from(n).ok());
    Some(match item.get("kind").and_then(Value::as_str)? {
        "creditor" => Discrepancy::Creditor { expected: text("expected")?, received: text("received")? },
        "amount" => Discrepancy::Amount { expected: cents("expected")?, received: cents("received")? },
        "transfer_count" => Discrepancy::TransferCount { expected: count("expected")?, received: count("received")? },
        "transfer_missing" => Discrepancy::TransferMissing { index: int("index")? },
        "transfer_amount" => Discrepancy::TransferAmount {
            index: int("index")?,
            expected: cents("expected")?,
            received: cents("received")?,
        },
        "transfer_beneficiary" => Discrepancy::TransferBeneficiary {
            index: int("index")?,
            expected: text("expected")?,
            received: text("received")?,
        },
        "transfer_iban" => {
            Discrepancy::TransferIban { index: int("index")?, expected: text("expected")?, received: text("received") }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn receipt_details_read_back() {
        let found = vec![
            Discrepancy::Creditor { expected: "80012345678".to_owned(), received: "01199250158".to_owned() },
            Discrepancy::Amount { expected: Cents::new(2000), received: Cents::new(1) },
            Discrepancy::TransferCount { expected: 2, received: 1 },
            Discrepancy::TransferMissing { index: 2 },
            Discrepancy::TransferAmount { index: 1, expected: Cents::new(2000), received: Cents::new(1) },
            Discrepancy::TransferBeneficiary { index: 1, expected: "a".to_owned(), received: "b".to_owned() },
            Discrepancy::TransferIban { index: 1, expected: "IT1".to_owned(), received: None },
        ];
        assert_eq!(decode_receipt_details(&receipt_details(&found)), found);
        assert!(decode_receipt_details("{}").is_empty());
        assert!(decode_receipt_details("not json").is_empty());
    }

    #[test]
    fn shape_details_round_trip() {
        let issues = vec![
            ShapeIssue::new("receipt/transferList/transfer[1]/transferCategory", ShapeProblem::Missing),
            ShapeIssue::invalid("receipt/outcome", "MAYBE"),
            ShapeIssue::new("receipt/description", ShapeProblem::TooLong { max: 140 }),
            ShapeIssue::new("receipt/transferList/transfer[6]", ShapeProblem::Ignored),
            ShapeIssue::new("receipt/paymentAmount", ShapeProblem::SumDiffers),
        ];
        assert_eq!(decode_shape_details(&shape_details(&issues)), issues);
        assert!(decode_shape_details(&receipt_details(&[])).is_empty());
    }
}
