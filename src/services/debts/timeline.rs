//! A debt's timeline: every event about one debt, gathered across the keys each is recorded
//! under: the journal entries of the debt (`debt:<ipa>/<iud>`) and of its receipts
//! (`receipt:<ipa>/<iuv>/<id>`), the payment data the station handed out, the receipts, their
//! outcome pushes, the receipt exports that carried them and the changes sent to the Region.
//! Oldest first; the page puts the words.

use crate::domain::Cents;
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::audit::{self, AuditFilter};
use crate::store::debts::{self, DebtRecord};
use crate::store::outbox::{ChangeAction, ChangeState};
use crate::store::pushes::PushState;
use crate::store::{Db, exports, outbox, payment_offers, pushes, receipts};

/// Entries read per key: a debt's life has a handful; a hostile history is cut, not loaded whole.
const PER_KEY: u32 = 200;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When, as stored (UTC ISO 8601).
    pub at: String,
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A journal entry about the debt or one of its receipts (`action` as journaled).
    Journal {
        entry_id: i64,
        actor: String,
        action: String,
        outcome: String,
        before_json: Option<String>,
        after_json: Option<String>,
    },
    /// The debt was created by a path that journals no entry of its own (a debt flow's row).
    Created { source: String, import_id: Option<i64> },
    /// The station gave the Node the payment data: a payment started at a PSP.
    PaymentStarted,
    /// A receipt whose journal entry is not among the debt's (received through the Region).
    Receipt { receipt_id: String, outcome: String, amount: Cents, psp: String },
    /// The outcome push of a receipt.
    Push { receipt_id: String, state: PushState, attempts: i64, last_error: Option<String> },
    /// A receipt export that carries the debt's receipt.
    Exported { export_id: i64, requested_by: String },
    /// A change sent (or to send) to the Region.
    Upstream { action: ChangeAction, state: ChangeState, error_code: Option<String>, error_text: Option<String> },
}

/// The timeline of debt `debt_id`, if it belongs to the org and its type is visible to `access`.
pub fn timeline(db: &Db, access: &OrgAccess, debt_id: i64) -> Result<Vec<Event>, ServiceError> {
    let org = &access.org;
    db.read(|c| {
        let debt = debts::find_debt_by_id(c, debt_id)?
            .filter(|d| d.org_id == org.id && access.sees_type(d.debt_type_id))
            .ok_or_else(|| ServiceError::NotFound(format!("debt {debt_id} in org {}", org.ipa_code)))?;
        let mut events = Vec::new();
        // The same IUD or IUV may have belonged to an annulled debt before this one.
        let journal = |e: audit::AuditRecord| Event {
            at: e.at,
            kind: EventKind::Journal {
                entry_id: e.id,
                actor: e.actor,
                action: e.action,
                outcome: e.outcome,
                before_json: e.before_json,
                after_json: e.after_json,
            },
        };
        let object = super::search::debt_object(&org.ipa_code, &debt.iud);
        events.extend(
            audit::list_audit_of_object(c, org.id, &object, PER_KEY)?
                .into_iter()
                .filter(|e| e.at >= debt.created_at)
                .map(journal),
        );
        let created_journaled = events.iter().any(|e| {
            matches!(&e.kind, EventKind::Journal { action, .. } if action == "debt.add" || action == "sil.debt.add")
        });
        if !created_journaled {
            events.push(Event {
                at: debt.created_at.clone(),
                kind: EventKind::Created { source: debt.source.clone(), import_id: debt.import_id },
            });
        }
        for at in payment_offers::list_offer_times(c, debt.id)? {
            events.push(Event { at, kind: EventKind::PaymentStarted });
        }
        receipt_events(c, org.id, &org.ipa_code, &debt, &mut events)?;
        for change in outbox::list_changes_of_debt(c, debt.id, PER_KEY)? {
            events.push(Event {
                at: change.sent_at.clone().unwrap_or(change.created_at.clone()),
                kind: EventKind::Upstream {
                    action: change.action,
                    state: change.state,
                    error_code: change.last_error_code,
                    error_text: change.last_error_text,
                },
            });
        }
        // Stored instants share one format, so their text sorts in time; ties keep their order.
        events.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(events)
    })
}

/// The events of the debt's receipts: their journal entries (or the receipt itself when it has
/// none), their pushes and the exports that carry them.
fn receipt_events(
    c: &crate::store::Conn,
    org_id: i64,
    ipa: &str,
    debt: &DebtRecord,
    events: &mut Vec<Event>,
) -> Result<(), ServiceError> {
    let Some(iuv) = &debt.iuv else { return Ok(()) };
    let found: Vec<_> = receipts::list_receipts_for_iuv(c, org_id, iuv.as_str())?
        .into_iter()
        .filter(|r| r.debt_id.is_none_or(|id| id == debt.id) && r.received_at >= debt.created_at)
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    // The journal object of a receipt, `receipt:<ipa>/<iuv>/<receiptId>`, as `payments` writes it.
    let prefix = ["receipt", ":", ipa, "/", iuv.as_str(), "/"].concat();
    let filter = AuditFilter { object_prefix: Some(prefix.clone()), ..AuditFilter::default() };
    let entries: Vec<_> =
        audit::search_audit(c, org_id, &filter, PER_KEY, 0)?.into_iter().filter(|e| e.at >= debt.created_at).collect();
    let recent_exports = exports::list_exports(c, org_id, PER_KEY)?;
    for r in &found {
        let object = format!("{prefix}{}", r.receipt_id);
        let mut journaled = false;
        for e in entries.iter().filter(|e| e.object.as_deref() == Some(object.as_str())) {
            journaled = true;
            events.push(Event {
                at: e.at.clone(),
                kind: EventKind::Journal {
                    entry_id: e.id,
                    actor: e.actor.clone(),
                    action: e.action.clone(),
                    outcome: e.outcome.clone(),
                    before_json: e.before_json.clone(),
                    after_json: e.after_json.clone(),
                },
            });
        }
        if !journaled {
            events.push(Event {
                at: r.received_at.clone(),
                kind: EventKind::Receipt {
                    receipt_id: r.receipt_id.clone(),
                    outcome: r.outcome.clone(),
                    amount: r.amount_cents,
                    psp: r.psp_company_name.clone(),
                },
            });
        }
        if let Some(push) = pushes::find_push_of_receipt(c, r.id)? {
            let at = push.sent_at.clone().or(push.last_attempt_at.clone()).unwrap_or(push.created_at.clone());
            events.push(Event {
                at,
                kind: EventKind::Push {
                    receipt_id: r.receipt_id.clone(),
                    state: push.state,
                    attempts: push.attempts,
                    last_error: push.last_error,
                },
            });
        }
        if !r.pays() {
            continue;
        }
        for export in recent_exports.iter().filter(|e| carries(e, r, &debt.debt_type_code)) {
            events.push(Event {
                at: export.finished_at.clone().unwrap_or(export.requested_at.clone()),
                kind: EventKind::Exported { export_id: export.id, requested_by: export.requested_by.clone() },
            });
        }
    }
    Ok(())
}

/// Whether a finished receipt export selected receipt `r` of a debt of type `debt_type`: its
/// period holds the receipt's payment day (or, incremental, its arrival) and its types the debt's.
fn carries(e: &exports::ExportRecord, r: &receipts::ReceiptRecord, debt_type: &str) -> bool {
    let done = e.kind == "RT" && e.state == crate::domain::ExportState::Done && e.rows.unwrap_or(0) > 0;
    let in_period = if e.incremental {
        e.date_from.as_str() <= r.received_at.as_str() && r.received_at.as_str() < e.date_to.as_str()
    } else {
        let day = r.payment_date.to_string();
        e.date_from <= day && day <= e.date_to
    };
    let typed = e.debt_types.as_deref().is_none_or(|types| types.contains(&format!(";{debt_type};")));
    done && in_period && typed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn a_new_debt_has_its_creation() {
        let kit = crate::services::testkit::Kit::new();
        let debt = kit.debt("TL-1", 1500);
        let access = kit.admin_access();
        let events = timeline(&kit.db, &access, debt.id).unwrap();
        let kinds: Vec<_> = events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Journal { action, .. } => action.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["debt.add"]);
        let hidden = crate::services::admin::access::OrgAccess { allowed_types: Some(Vec::new()), ..access };
        assert!(matches!(timeline(&kit.db, &hidden, debt.id), Err(ServiceError::NotFound(_))));
    }
}
