//! Receipts that never arrived (pagopa.md §4.6): the daily `Job::ReceiptRecovery` asks pagoPA's
//! biz-events receipt API for the receipts of reported transfers that have none (reconciliation's
//! `IUV_NO_RT`, brought up to date first: [`crate::store::reporting::reported_without_receipt`]), stores
//! what it gets through the station's own receipt path ([`super::store_receipt`]: replay-safe,
//! settles the debt, opens anomalies, queues the outcome push), and leaves the rest as anomalies;
//! payments started more than [`STARTED_HOURS`] hours ago (the Node retries paSendRT that long)
//! and still without a receipt become anomalies too.
//!
//! pagoPA's rules: at most [`CALLS_PER_WINDOW`] calls in any [`WINDOW_MINUTES`] minutes, only for
//! exceptions found in reporting flows, never in loops. So every call is recorded before it is
//! made (`store::recovery`: the limit holds across restarts and crashes), a transfer pagoPA
//! answered about is never asked for again, and a full window ends the run with the instant the
//! next call may be made ([`Recovery::wait_until`]), which the job waits for.
//! Not in upstream mode: a box behind a Region has no station and no subscription.

use std::collections::HashSet;

use jiff::SignedDuration;
use serde_json::json;

use super::{Exchange, ReceiptOutcome};
use crate::clock::Now;
use crate::flows::receipt_xml;
use crate::jobs::{self, Handler, Job, JobCtx, JobError, Step};
use crate::services::ServiceError;
use crate::store::anomalies::{self, NewAnomaly};
use crate::store::recovery::{self, CallResult};
use crate::store::reporting::{self, ReportedTransfer};
use crate::store::{Db, StoreError, debts, orgs, outbox};

/// pagoPA's limit: calls in any window.
pub const CALLS_PER_WINDOW: i64 = 10;
/// The window of [`CALLS_PER_WINDOW`], in minutes.
pub const WINDOW_MINUTES: i64 = 60;
/// How long the Node retries paSendRT: a payment started longer ago with no receipt is an anomaly.
pub const STARTED_HOURS: i64 = 48;
/// How many reported transfers without a receipt one run reads per org.
pub const SCAN_LIMIT: usize = 1_000;
/// The anomaly of a reported transfer whose receipt pagoPA does not have either; about the call
/// (`receipt_recovery_call`) that asked, its details name the flow and the transfer.
pub const REPORTED_WITHOUT_RECEIPT: &str = "RICEVUTA_NON_RECUPERATA";
/// The anomaly of a debt whose payment started more than [`STARTED_HOURS`] hours ago and that no
/// receipt closed; about the debt.
pub const STARTED_WITHOUT_RECEIPT: &str = "PAGAMENTO_SENZA_RICEVUTA";

/// What pagoPA answered about one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The receipt, as a `receipt` element (ctReceiptV2) the client wrote from the API's JSON.
    Found(String),
    NotFound,
    /// HTTP 429: the subscription's limit is reached.
    Throttled,
}

/// The biz-events receipt API (`pagopa::bizevents`, or a test double).
pub trait ReceiptSource: Send + Sync + std::fmt::Debug {
    /// The receipt `iur` (payment token) of IUV `iuv` of the org with `org_fiscal_code`; an error
    /// is the reason, in English.
    fn fetch(&self, org_fiscal_code: &str, iur: &str, iuv: &str) -> Result<Fetched, String>;
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Calls made.
    pub asked: usize,
    /// Receipts found and stored (a replay counts: it was there after all).
    pub recovered: usize,
    /// Receipts pagoPA has not got either: anomalies.
    pub missing: usize,
    /// Calls without a usable answer, asked again on a later run.
    pub failed: usize,
    /// Payments started more than [`STARTED_HOURS`] hours ago without a receipt (anomalies).
    pub stalled: usize,
    /// The window is full (or pagoPA said so): the next call not before this instant (UTC ISO).
    pub wait_until: Option<String>,
}

/// One run: the stalled payments become anomalies, then the reported transfers without a receipt
/// of every org this station serves are asked for, within the limit.
pub fn run(
    db: &Db,
    source: &dyn ReceiptSource,
    now: Now,
    cancelled: &dyn Fn() -> bool,
) -> Result<Recovery, ServiceError> {
    let mut done = Recovery { stalled: flag_stalled_payments(db, now)?, ..Recovery::default() };
    let orgs = db.read(|conn| {
        let mut served = Vec::new();
        for org in orgs::list_orgs(conn)? {
            if !outbox::org_is_mirrored(conn, org.id)? {
                served.push(org);
            }
        }
        Ok::<_, StoreError>(served)
    })?;
    for org in orgs {
        crate::services::reconciliation::reconcile_pending(db, org.id, cancelled)?;
        let rows = db.read(|conn| reporting::reported_without_receipt(conn, org.id, SCAN_LIMIT))?;
        let mut seen = HashSet::new();
        for row in rows {
            // One receipt has a row per transfer: it is asked for once.
            if !seen.insert((row.iuv.clone(), row.iur.clone())) {
                continue;
            }
            if cancelled() {
                return Err(ServiceError::Interrupted);
            }
            if done.wait_until.is_some() {
                return Ok(done);
            }
            ask(db, source, &org, &row, now, &mut done)?;
        }
    }
    Ok(done)
}

/// Asks for one receipt, if the window has room and pagoPA was not already asked about it.
fn ask(
    db: &Db,
    source: &dyn ReceiptSource,
    org: &orgs::OrgRecord,
    row: &ReportedTransfer,
    now: Now,
    done: &mut Recovery,
) -> Result<(), ServiceError> {
    let window = SignedDuration::from_mins(WINDOW_MINUTES);
    let since = crate::clock::iso(now.instant() - window);
    let call = db.write(|tx| {
        if recovery::answered(tx, org.id, &row.iuv, &row.iur)? {
            return Ok::<_, StoreError>(Err(None));
        }
        let (calls, first) = recovery::calls_since(tx, &since)?;
        if calls >= CALLS_PER_WINDOW {
            let first = first.and_then(|at| at.parse::<jiff::Timestamp>().ok()).unwrap_or(now.instant());
            return Ok(Err(Some(crate::clock::iso(first + window))));
        }
        Ok(Ok(recovery::insert_call(tx, org.id, &row.iuv, &row.iur, &now.iso())?))
    })?;
    let id = match call {
        Ok(id) => id,
        Err(None) => return Ok(()),
        Err(Some(wait)) => {
            done.wait_until = Some(wait);
            return Ok(());
        }
    };
    done.asked += 1;
    let started = std::time::Instant::now();
    let answer = source.fetch(&org.fiscal_code, &row.iur, &row.iuv);
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match answer {
        Ok(Fetched::Found(xml)) => match receipt_xml::read_rt(xml.as_bytes()) {
            Ok(read) => {
                let exchange = Exchange { actor: "bizevents", response: "", duration_ms };
                let creditor = read.fiscal_code.clone().unwrap_or_else(|| org.fiscal_code.clone());
                db.write(|tx| {
                    let outcome = super::store_receipt(tx, org, &creditor, read.receipt, &read.issues, &exchange, now)?;
                    recovery::update_call_result(tx, id, CallResult::Found)?;
                    Ok::<_, super::PaymentError>(outcome)
                })
                .map_err(|err| ServiceError::Internal(format!("cannot store a recovered receipt: {err}")))
                .map(|outcome: ReceiptOutcome| {
                    tracing::info!(iuv = %row.iuv, iur = %row.iur, ?outcome, "receipt recovered from pagoPA");
                    done.recovered += 1;
                })?;
            }
            Err(err) => {
                tracing::warn!(iuv = %row.iuv, iur = %row.iur, error = %err, "the recovered receipt cannot be read");
                db.write(|tx| recovery::update_call_result(tx, id, CallResult::Error))?;
                done.failed += 1;
            }
        },
        Ok(Fetched::NotFound) => {
            let details = json!({
                "iuf": row.iuf, "psp_id": row.psp_id, "flow_id": row.flow_id, "iuv": row.iuv, "iur": row.iur,
                "transfer_index": row.transfer_index, "amount_cents": row.amount.get(),
                "outcome_code": row.outcome_code, "outcome_date": row.outcome_date,
            })
            .to_string();
            db.write(|tx| {
                recovery::update_call_result(tx, id, CallResult::NotFound)?;
                let new = NewAnomaly {
                    org_id: org.id,
                    kind: REPORTED_WITHOUT_RECEIPT,
                    object_kind: "receipt_recovery_call",
                    object_id: id,
                    details: &details,
                };
                anomalies::insert_anomaly(tx, &new, &now.iso())
            })?;
            tracing::warn!(iuv = %row.iuv, iur = %row.iur, iuf = %row.iuf, "reported payment without a receipt, none at pagoPA either");
            done.missing += 1;
        }
        Ok(Fetched::Throttled) => {
            db.write(|tx| recovery::update_call_result(tx, id, CallResult::Throttled))?;
            done.wait_until = Some(crate::clock::iso(now.instant() + window));
        }
        Err(reason) => {
            tracing::warn!(iuv = %row.iuv, iur = %row.iur, error = %reason, "cannot ask pagoPA for a receipt");
            db.write(|tx| recovery::update_call_result(tx, id, CallResult::Error))?;
            done.failed += 1;
        }
    }
    Ok(())
}

/// Opens a [`STARTED_WITHOUT_RECEIPT`] anomaly for each debt whose payment started more than
/// [`STARTED_HOURS`] hours ago and is still in progress (an anomaly already open is kept);
/// returns how many such debts there are.
pub fn flag_stalled_payments(db: &Db, now: Now) -> Result<usize, ServiceError> {
    let before = crate::clock::iso(now.instant() - SignedDuration::from_hours(STARTED_HOURS));
    Ok(db.write(|tx| {
        let stalled = debts::list_payments_started_before(tx, &before, SCAN_LIMIT)?;
        for debt in &stalled {
            if outbox::org_is_mirrored(tx, debt.org_id)? {
                continue;
            }
            let details = json!({ "iud": debt.iud, "iuv": debt.iuv.as_ref().map(crate::domain::Iuv::as_str),
                "amount_cents": debt.amount_cents.get() })
            .to_string();
            let new = NewAnomaly {
                org_id: debt.org_id,
                kind: STARTED_WITHOUT_RECEIPT,
                object_kind: "debt",
                object_id: debt.id,
                details: &details,
            };
            anomalies::insert_anomaly(tx, &new, &now.iso())?;
        }
        Ok::<_, StoreError>(stalled.len())
    })?)
}

/// Queues today's recovery (`Job::ReceiptRecovery` for today's Rome day) unless it was already
/// queued; returns whether it queued it. Called by the server's housekeeping every few minutes.
pub fn schedule(db: &Db, now: Now) -> Result<bool, ServiceError> {
    let job = Job::ReceiptRecovery { day: now.today().to_string() };
    Ok(db.write(|tx| {
        if jobs::latest(tx, &job)?.is_some() {
            return Ok::<_, StoreError>(false);
        }
        jobs::enqueue(tx, &job, now)?;
        Ok(true)
    })?)
}

/// Runs `Job::ReceiptRecovery`; without a source (no `node.base_url`, or upstream mode) the job
/// fails with why. A full window makes the job wait for it ([`Step::RunAgainAt`]).
#[derive(Debug, Clone, Default)]
pub struct RecoveryJob {
    pub source: Option<std::sync::Arc<dyn ReceiptSource>>,
}

impl Handler for RecoveryJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::ReceiptRecovery { .. } = job else {
            return Err(JobError::Failed(format!("not a receipt recovery job: {job:?}")));
        };
        let Some(source) = &self.source else {
            return Err(JobError::Failed(
                "no pagoPA to ask: node.base_url is not set, or this box is behind a Region".to_owned(),
            ));
        };
        match run(ctx.db, source.as_ref(), Now::read(), ctx.cancelled) {
            Ok(done) => {
                tracing::info!(
                    asked = done.asked,
                    recovered = done.recovered,
                    missing = done.missing,
                    failed = done.failed,
                    stalled = done.stalled,
                    "receipt recovery"
                );
                Ok(match done.wait_until {
                    Some(at) => Step::RunAgainAt { at, reason: "pagoPA's limit of 10 calls an hour".to_owned() },
                    None => Step::Done,
                })
            }
            Err(ServiceError::Interrupted) => Err(JobError::Interrupted),
            Err(err) => Err(JobError::Failed(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
