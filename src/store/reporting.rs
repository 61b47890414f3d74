//! Reporting flows (FdR) and their rows.
//!
//! [`ReportingFlowState`] lives here, beside the record, and not in `domain`: a flow never moves
//! once stored, so the state is only the verdict `services::payments::reporting` reached when it fetched it.
//! A flow's versions (same IUF and PSP) are rows of their own; `superseded_by` links an earlier
//! version to the one that replaced it.

use rusqlite::{OptionalExtension, named_params, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};
use crate::domain::Cents;

/// What became of a fetched reporting flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ReportingFlowState {
    /// `ACQUISITO`: stored with its rows.
    #[default]
    Acquired,
    /// `RIFIUTATO`: kept with the reason, without rows.
    Refused,
}

impl ReportingFlowState {
    /// Every state.
    pub const ALL: [ReportingFlowState; 2] = [ReportingFlowState::Acquired, ReportingFlowState::Refused];

    /// The stored code, also the outcome of the flow's journal entry.
    pub const fn code(self) -> &'static str {
        match self {
            ReportingFlowState::Acquired => "ACQUISITO",
            ReportingFlowState::Refused => "RIFIUTATO",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<ReportingFlowState> {
        ReportingFlowState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(ReportingFlowState, "reporting_flow.state");

/// One reported transfer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportingPaymentRecord {
    pub iuv: String,
    pub iur: String,
    pub transfer_index: Option<i64>,
    pub amount_cents: Cents,
    pub outcome_code: String,
    pub outcome_date: String,
}

/// A flow as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportingFlowRecord {
    pub id: i64,
    pub org_id: i64,
    pub iuf: String,
    pub revision: i64,
    pub psp_id: String,
    pub psp_name: Option<String>,
    pub flow_date: Option<String>,
    pub settlement_id: Option<String>,
    pub settlement_date: Option<String>,
    pub total_payments: Option<i64>,
    pub total_amount_cents: Option<Cents>,
    pub state: ReportingFlowState,
    pub reject_reason: Option<String>,
    pub source: String,
    pub document: Option<String>,
    pub fetched_at: String,
    /// The version that replaced this one, if any.
    pub superseded_by: Option<i64>,
    pub payments: Vec<ReportingPaymentRecord>,
}

/// One stored version of a flow (IUF and PSP), as [`list_versions`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVersion {
    pub id: i64,
    pub revision: i64,
    pub flow_date: Option<String>,
    pub state: ReportingFlowState,
    pub superseded_by: Option<i64>,
}

/// Whether (IUF, revision, PSP) is stored for the org. `psp_id` `None` matches any PSP (the SOAP
/// list names flows by IUF only).
pub fn flow_exists(
    conn: &Conn,
    org_id: i64,
    iuf: &str,
    revision: i64,
    psp_id: Option<&str>,
) -> Result<bool, StoreError> {
    Ok(conn.sqlite()
        .prepare_cached(
            "SELECT 1 FROM reporting_flow WHERE org_id = ?1 AND iuf = ?2 AND revision = ?3 AND (?4 IS NULL OR psp_id = ?4)",
        )?
        .exists(params![org_id, iuf, revision, psp_id])?)
}

/// The stored versions of (IUF, PSP) for the org, in the order they were stored.
pub fn list_versions(conn: &Conn, org_id: i64, iuf: &str, psp_id: &str) -> Result<Vec<FlowVersion>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT id, revision, flow_date, state, superseded_by FROM reporting_flow \
         WHERE org_id = ?1 AND iuf = ?2 AND psp_id = ?3 ORDER BY id",
    )?;
    let rows = stmt
        .query_map(params![org_id, iuf, psp_id], |row| {
            Ok(FlowVersion {
                id: row.get(0)?,
                revision: row.get(1)?,
                flow_date: row.get(2)?,
                state: row.get(3)?,
                superseded_by: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records which version replaced flow `id` (`None`: it is the current one).
pub fn update_superseded_by(conn: &Conn, id: i64, by: Option<i64>) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE reporting_flow SET superseded_by = ?2 WHERE id = ?1")?
        .execute(params![id, by])?;
    Ok(())
}

/// Inserts a flow with its rows; returns its id.
pub fn insert_flow(conn: &Conn, f: &ReportingFlowRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite().prepare_cached(
        "INSERT INTO reporting_flow (org_id, iuf, revision, psp_id, psp_name, flow_date, settlement_id, settlement_date, \
         total_payments, total_amount_cents, state, reject_reason, source, document, fetched_at) VALUES (:org_id, :iuf, \
         :revision, :psp_id, :psp_name, :flow_date, :settlement_id, :settlement_date, :total_payments, :total_amount, \
         :state, :reason, :source, :document, :now)",
    )?
    .execute(named_params! {
        ":org_id": f.org_id, ":iuf": f.iuf, ":revision": f.revision, ":psp_id": f.psp_id, ":psp_name": f.psp_name,
        ":flow_date": f.flow_date, ":settlement_id": f.settlement_id, ":settlement_date": f.settlement_date,
        ":total_payments": f.total_payments, ":total_amount": f.total_amount_cents, ":state": f.state,
        ":reason": f.reject_reason, ":source": f.source, ":document": f.document, ":now": now,
    })
    .map_err(StoreError::from_sqlite)?;
    let id = conn.sqlite().last_insert_rowid();
    let mut stmt = conn.sqlite().prepare_cached(
        "INSERT INTO reporting_payment (flow_id, row_index, iuv, iur, transfer_index, amount_cents, outcome_code, outcome_date) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (idx, p) in f.payments.iter().enumerate() {
        stmt.execute(params![
            id,
            i64::try_from(idx + 1).unwrap_or(i64::MAX),
            p.iuv,
            p.iur,
            p.transfer_index,
            p.amount_cents,
            p.outcome_code,
            p.outcome_date
        ])?;
    }
    Ok(id)
}

/// A version of a flow, of any PSP, as the SIL's list and look-ups see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub id: i64,
    pub iuf: String,
    pub psp_id: String,
    pub flow_date: Option<String>,
    pub state: ReportingFlowState,
    pub superseded_by: Option<i64>,
}

fn stored_version(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredVersion> {
    Ok(StoredVersion {
        id: row.get(0)?,
        iuf: row.get(1)?,
        psp_id: row.get(2)?,
        flow_date: row.get(3)?,
        state: row.get(4)?,
        superseded_by: row.get(5)?,
    })
}

/// The org's current flows (accepted, not superseded) stored in `[from, to)` (stored instants),
/// of PSP `psp_id` when given, in the order they were stored; at most `limit`.
pub fn list_current_flows(
    conn: &Conn,
    org_id: i64,
    psp_id: Option<&str>,
    (from, to): (&str, &str),
    limit: usize,
) -> Result<Vec<StoredVersion>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT id, iuf, psp_id, flow_date, state, superseded_by FROM reporting_flow \
         WHERE org_id = ?1 AND fetched_at >= ?2 AND fetched_at < ?3 AND (?4 IS NULL OR psp_id = ?4) \
         AND state = 'ACQUISITO' AND superseded_by IS NULL ORDER BY fetched_at, id LIMIT ?5",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![org_id, from, to, psp_id, limit], stored_version)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The stored versions of flow `iuf` for the org, of any PSP and state, in the order they were
/// stored.
pub fn list_iuf_versions(conn: &Conn, org_id: i64, iuf: &str) -> Result<Vec<StoredVersion>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT id, iuf, psp_id, flow_date, state, superseded_by FROM reporting_flow \
         WHERE org_id = ?1 AND iuf = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![org_id, iuf], stored_version)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The columns [`flow_of`] reads, in its order.
const FLOW_COLUMNS: &str = "id, org_id, iuf, revision, psp_id, psp_name, flow_date, settlement_id, settlement_date, \
     total_payments, total_amount_cents, state, reject_reason, source, document, fetched_at, superseded_by";

/// A flow of a row of [`FLOW_COLUMNS`] (its rows not loaded).
fn flow_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReportingFlowRecord> {
    Ok(ReportingFlowRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        iuf: row.get(2)?,
        revision: row.get(3)?,
        psp_id: row.get(4)?,
        psp_name: row.get(5)?,
        flow_date: row.get(6)?,
        settlement_id: row.get(7)?,
        settlement_date: row.get(8)?,
        total_payments: row.get(9)?,
        total_amount_cents: row.get(10)?,
        state: row.get(11)?,
        reject_reason: row.get(12)?,
        source: row.get(13)?,
        document: row.get(14)?,
        fetched_at: row.get(15)?,
        superseded_by: row.get(16)?,
        payments: Vec::new(),
    })
}

/// Flow `id` of the org with its document and rows, if it is stored.
pub fn find_flow(conn: &Conn, org_id: i64, id: i64) -> Result<Option<ReportingFlowRecord>, StoreError> {
    let flow = conn
        .sqlite()
        .prepare_cached(&format!("SELECT {FLOW_COLUMNS} FROM reporting_flow WHERE id = ?1 AND org_id = ?2"))?
        .query_row(params![id, org_id], flow_of)
        .optional()?;
    let Some(mut flow) = flow else { return Ok(None) };
    let mut rows = conn.sqlite().prepare_cached(
        "SELECT iuv, iur, transfer_index, amount_cents, outcome_code, outcome_date FROM reporting_payment \
         WHERE flow_id = ?1 ORDER BY row_index",
    )?;
    flow.payments = rows
        .query_map([id], |row| {
            Ok(ReportingPaymentRecord {
                iuv: row.get(0)?,
                iur: row.get(1)?,
                transfer_index: row.get(2)?,
                amount_cents: row.get(3)?,
                outcome_code: row.get(4)?,
                outcome_date: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(flow))
}

/// The flows of an org, newest first (rows not loaded).
#[cfg(test)]
pub fn list_flows(conn: &Conn, org_id: i64) -> Result<Vec<ReportingFlowRecord>, StoreError> {
    let mut stmt = conn
        .sqlite()
        .prepare_cached(&format!("SELECT {FLOW_COLUMNS} FROM reporting_flow WHERE org_id = ?1 ORDER BY id DESC"))?;
    let rows = stmt.query_map([org_id], flow_of)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A page of the org's flows, newest first, without their documents or rows.
pub fn list_flows_page(
    conn: &Conn,
    org_id: i64,
    limit: u32,
    offset: u64,
) -> Result<Vec<ReportingFlowRecord>, StoreError> {
    let columns = FLOW_COLUMNS.replace("document", "NULL");
    let mut stmt = conn.sqlite().prepare_cached(&format!(
        "SELECT {columns} FROM reporting_flow WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![org_id, limit, offset], flow_of)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The receipt a flow's row reports, as the flow detail shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedReceipt {
    pub id: i64,
    pub debt_id: Option<i64>,
    pub receipt_id: String,
    pub amount_cents: Cents,
    pub outcome: String,
}

/// For each row of flow `flow_id` (in its order, at most `limit`), the org's receipt with the
/// row's IUV and IUR, if one is stored.
pub fn match_flow_receipts(
    conn: &Conn,
    org_id: i64,
    flow_id: i64,
    limit: u32,
) -> Result<Vec<Option<MatchedReceipt>>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT r.id, r.debt_id, r.receipt_id, r.amount_cents, r.outcome FROM reporting_payment p \
         LEFT JOIN receipt r ON r.org_id = ?2 AND r.iuv = p.iuv AND r.receipt_id = p.iur \
         WHERE p.flow_id = ?1 ORDER BY p.row_index LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![flow_id, org_id, limit], |row| {
            let id: Option<i64> = row.get(0)?;
            Ok(match id {
                Some(id) => Some(MatchedReceipt {
                    id,
                    debt_id: row.get(1)?,
                    receipt_id: row.get(2)?,
                    amount_cents: row.get(3)?,
                    outcome: row.get(4)?,
                }),
                None => None,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many rows a flow has.
#[cfg(test)]
pub fn count_flow_payments(conn: &Conn, flow_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM reporting_payment WHERE flow_id = ?1")?
        .query_row([flow_id], |row| row.get(0))?)
}

/// A reported transfer (a row of a current flow version) with no stored receipt, as
/// [`reported_without_receipt`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedTransfer {
    pub flow_id: i64,
    pub iuf: String,
    pub psp_id: String,
    pub iuv: String,
    pub iur: String,
    pub transfer_index: Option<i64>,
    pub amount: Cents,
    pub outcome_code: String,
    pub outcome_date: String,
}

/// THE "reported but no receipt" join: the reported transfers reconciliation labels `IUV_NO_RT`
/// (rows of the org's current flow versions, outcome neither 3 (revoked) nor 8/9 (paid without a
/// receipt), that no paying receipt of the org matches by IUV, IUR and transfer index: the rule
/// is `domain::reconciliation::classify`'s), with their flow, oldest flow first, at most `limit`.
/// Receipt recovery (`services::payments::recovery`) asks pagoPA for these, after bringing the
/// org's classification up to date, so the two never disagree on what is missing.
pub fn reported_without_receipt(conn: &Conn, org_id: i64, limit: usize) -> Result<Vec<ReportedTransfer>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT f.id, f.iuf, f.psp_id, p.iuv, p.iur, p.transfer_index, p.amount_cents, p.outcome_code, p.outcome_date \
         FROM recon_label l JOIN recon_item i ON i.id = l.item_id \
         JOIN reporting_flow f ON f.org_id = i.org_id AND f.iuf = i.iuf \
              AND f.state = 'ACQUISITO' AND f.superseded_by IS NULL \
         JOIN reporting_payment p ON p.flow_id = f.id AND p.iuv = i.iuv AND p.iur = i.iur \
              AND coalesce(p.transfer_index, 1) = coalesce(i.transfer_index, 1) \
         WHERE l.org_id = ?1 AND l.label = 'IUV_NO_RT' \
         ORDER BY f.id, p.row_index LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![org_id, limit], |row| {
            Ok(ReportedTransfer {
                flow_id: row.get(0)?,
                iuf: row.get(1)?,
                psp_id: row.get(2)?,
                iuv: row.get(3)?,
                iur: row.get(4)?,
                transfer_index: row.get(5)?,
                amount: row.get(6)?,
                outcome_code: row.get(7)?,
                outcome_date: row.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
