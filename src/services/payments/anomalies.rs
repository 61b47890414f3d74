//! Anomalies for people: the list an org admin reviews, the counts the dashboard and `/metrics`
//! show, and the resolution of one (with its audit entry).
//!
//! Resolving a held receipt (`RICEVUTA_DIFFORME`) either accepts it, so that from then on it pays
//! its debt exactly as a matching receipt would have (debt paid if still open, outcome push queued),
//! (and booked to automatic accertamenti, `reconciliation::accertamenti::auto::book_released`),
//! or dismisses it, leaving it held. Any other kind is only marked as handled.

use serde_json::json;

use crate::clock::Now;
use crate::domain::DebtEvent;
use crate::domain::payment_terms::Discrepancy;
use crate::domain::receipt_shape::ShapeIssue;
use crate::services::admin::access::OrgAccess;
use crate::services::{Change, ServiceError, check_len, journal_change};
use crate::store::anomalies::{self, AnomalyRecord, AnomalyState};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, debts};

/// How many anomalies a list shows at most.
pub const LIST_LIMIT: u32 = 500;
/// The longest note a resolution takes, in characters.
pub const NOTE_MAX_CHARS: usize = 1_000;

/// One anomaly with what it is about.
#[derive(Debug, Clone)]
pub struct AnomalyView {
    pub record: AnomalyRecord,
    /// The receipt it is about, when it is about one.
    pub receipt: Option<ReceiptRecord>,
    /// The IUD of the receipt's debt.
    pub debt_iud: Option<String>,
    /// How the receipt differs from what was asked (for `RICEVUTA_DIFFORME`).
    pub discrepancies: Vec<Discrepancy>,
    /// How the receipt deviates from the schema (for `RICEVUTA_NON_CONFORME`).
    pub shape: Vec<ShapeIssue>,
}

impl AnomalyView {
    /// Whether the receipt can still be accepted as the payment of its debt.
    pub fn can_accept(&self) -> bool {
        self.record.state == AnomalyState::Open
            && self.record.kind == anomalies::RECEIPT_MISMATCH
            && self.receipt.as_ref().is_some_and(|r| r.held)
    }
}

/// What an admin decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The held receipt pays its debt after all.
    Accept,
    /// Reviewed and handled elsewhere (a refund, a call to the PSP); a held receipt stays held.
    Dismiss,
}

impl Resolution {
    fn code(self) -> &'static str {
        match self {
            Resolution::Accept => "accepted",
            Resolution::Dismiss => "dismissed",
        }
    }
}

/// The org's open (or resolved) anomalies, newest first. Org admins only: an anomaly may concern
/// any debt type.
pub fn list(db: &Db, access: &OrgAccess, open: bool) -> Result<Vec<AnomalyView>, ServiceError> {
    require_admin(access)?;
    let state = if open { AnomalyState::Open } else { AnomalyState::Resolved };
    db.read(|conn| {
        let found = anomalies::list_anomalies(conn, access.org.id, state, LIST_LIMIT)?;
        found.into_iter().map(|record| view(conn, record)).collect()
    })
}

/// Whether the org has anomaly `id` (any state).
pub fn exists(db: &Db, access: &OrgAccess, id: i64) -> Result<bool, ServiceError> {
    require_admin(access)?;
    Ok(db.read(|conn| anomalies::find_anomaly(conn, access.org.id, id))?.is_some())
}

/// Open anomalies of every org by kind, for `/metrics`.
pub fn open_by_kind(db: &Db) -> Result<Vec<(String, i64)>, ServiceError> {
    Ok(db.read(anomalies::count_open_by_kind)?)
}

/// Resolves anomaly `id` of the org as `actor` decided, with a note saying why.
pub fn resolve(
    db: &Db,
    access: &OrgAccess,
    id: i64,
    resolution: Resolution,
    note: &str,
    now: Now,
) -> Result<(), ServiceError> {
    require_admin(access)?;
    let note = note.trim();
    if note.is_empty() {
        return Err(ServiceError::invalid("nota", "say why (a refund, a PSP's confirmation, ...)"));
    }
    check_len("nota", note, NOTE_MAX_CHARS)?;
    let actor = format!("operator:{}", access.username);
    db.write(|tx| {
        let record = anomalies::find_anomaly(tx, access.org.id, id)?
            .ok_or_else(|| ServiceError::NotFound(format!("anomaly {id}")))?;
        let current = view(tx, record)?;
        if current.record.state != AnomalyState::Open {
            return Err(ServiceError::Conflict(format!("anomaly {id} is already resolved")));
        }
        if resolution == Resolution::Accept {
            let Some(receipt) = current.receipt.as_ref().filter(|_| current.can_accept()) else {
                return Err(ServiceError::Conflict(format!("anomaly {id} is not a held receipt")));
            };
            settle(tx, receipt, now)?;
        }
        if !anomalies::update_resolved(tx, id, resolution.code(), &actor, note, &now.iso())? {
            return Err(ServiceError::Conflict(format!("anomaly {id} is already resolved")));
        }
        let object = format!("anomaly:{id}");
        let after = json!({ "kind": current.record.kind, "resolution": resolution.code(), "note": note }).to_string();
        let change = Change {
            actor: &actor,
            org_id: Some(access.org.id),
            action: "anomaly.resolve",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok(())
    })
}

/// An accepted receipt pays its debt: released, the debt paid and the outcome pushed as for any
/// paying receipt when the debt is still open; booked to automatic accertamenti as a receipt
/// arriving now would be (the automatic step's cursor passed it while it was held).
fn settle(tx: &crate::store::Conn, receipt: &ReceiptRecord, now: Now) -> Result<(), ServiceError> {
    receipts::update_released(tx, receipt.id)?;
    crate::services::reconciliation::accertamenti::auto::book_released(tx, receipt.id, now)?;
    let Some(debt) = receipt.debt_id.map(|id| debts::find_debt_by_id(tx, id)).transpose()?.flatten() else {
        return Ok(());
    };
    // A receipt of one of the position's other payment options pays that option; the position
    // is paid when the option completes it (a reduced amount, the last instalment).
    let options = crate::store::debt_options::list_options(tx, debt.id)?;
    if let Some(i) = options.iter().position(|o| o.iuv.as_str() == receipt.iuv) {
        let mut facts: Vec<_> = options.iter().map(crate::store::debt_options::OptionRecord::facts).collect();
        if let (Some(option), Some(f)) = (options.get(i), facts.get_mut(i)) {
            crate::store::debt_options::mark_paid(tx, option.id, &now.iso())?;
            f.state = crate::domain::payment_options::OptionState::Paid;
        }
        if !crate::domain::payment_options::completes_position(&facts, i) {
            return Ok(());
        }
    }
    // A debt that another receipt paid meanwhile stays as it is: this one is then a second
    // payment, already visible as such on the debt, and the municipality was told once.
    let next = debt.state.apply(DebtEvent::PaymentSucceeded).ok();
    if let Some(next) = next.filter(|n| *n != debt.state) {
        debts::update_debt_state(tx, debt.id, next, &now.iso())?;
        super::outcome_push::queue_in(tx, &debt, receipt.id, now)?;
    }
    Ok(())
}

fn view(conn: &crate::store::Conn, record: AnomalyRecord) -> Result<AnomalyView, ServiceError> {
    let receipt =
        if record.object_kind == "receipt" { receipts::find_receipt_by_id(conn, record.object_id)? } else { None };
    let debt_iud = match receipt.as_ref().and_then(|r| r.debt_id) {
        Some(debt_id) => debts::find_debt_by_id(conn, debt_id)?.map(|d| d.iud),
        None => None,
    };
    let discrepancies = anomalies::decode_receipt_details(&record.details);
    let shape = anomalies::decode_shape_details(&record.details);
    Ok(AnomalyView { record, receipt, debt_iud, discrepancies, shape })
}

fn require_admin(access: &OrgAccess) -> Result<(), ServiceError> {
    if access.admin {
        Ok(())
    } else {
        Err(ServiceError::Conflict("anomalies are reviewed by the org's administrators".to_owned()))
    }
}
