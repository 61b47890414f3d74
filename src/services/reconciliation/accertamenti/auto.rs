//! Automatic accertamenti (mypivot.md §1.7): a paying receipt whose debt carries a valid
//! `bilancio`, or carries none while the registry has exactly one active entry for its debt type,
//! is booked without an operator into a CHIUSO accertamento, one detail per bilancio line (the
//! whole transfer to the registry's one entry otherwise); office, chapter and assessment codes the
//! registry lacks are registered (named as the registry already names the code, else by the code
//! itself; year: the outcome's; office or assessment absent: `n/a`).
//!
//! Where MyPivot names the accertamento after the loaded file (`<file>_<codTipoDovuto>`), mypay's
//! receipts come one by one: the name is [`header_name`], `RICEVUTE_<yyyyMMdd>_<codTipoDovuto>` on
//! the receipt's outcome day, stable per day and debt type. Its header is made CHIUSO by `system`
//! and only this step adds to it (a receipt of that day arriving later joins it).
//!
//! When: at the end of `reconciliation::reconcile_pending`, which every consumer of the changes
//! the store's triggers note runs (the reconcile job queued as receipts arrive, an upload's job, the
//! receipt recovery). Each receipt is considered once, as it
//! arrives, past the org's cursor (a registry imported later does not book older receipts, as in
//! MyPivot, where the decision is made when the file is loaded); the cursor moves in the same
//! transaction as the bookings, and a transfer already booked (not ANNULLATO) is skipped, so a
//! transfer is never booked twice. A receipt held for review when it arrived is passed by the
//! cursor unbooked: it is considered when an operator accepts it ([`book_released`], in the
//! acceptance's transaction). Left to operators: a bilancio whose amounts do not add up to
//! the org's transfer, or a receipt with several transfers to the org and a bilancio (which of
//! them it splits cannot be told); the log says so.

use serde_json::json;

use crate::clock::Now;
use crate::domain::reconciliation::accertamento::{AccertamentoState, NO_ACCERTAMENTO, RegistryEntry};
use crate::domain::{Cents, Day};
use crate::flows::bilancio;
use crate::services::{Change, ServiceError, journal_change};
use crate::store::accertamenti::{self as store, AccertamentoRecord, BookingTarget, NewDetail, TransferKey};
use crate::store::accertamenti_auto::{self as auto, NewTransfer};
use crate::store::orgs::{self, OrgRecord};
use crate::store::{Conn, Db, StoreError};

/// Who the journal and the headers name.
pub const ACTOR: &str = "system";
/// Receipts considered per transaction.
const CHUNK: u32 = 500;

/// The name of the automatic accertamento of debt type `debt_type_code` for outcome day `day`.
pub fn header_name(day: Day, debt_type_code: &str) -> String {
    format!("RICEVUTE_{}_{debt_type_code}", day.text().replace('-', ""))
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoBooked {
    /// Transfers booked.
    pub transfers: usize,
    pub details: usize,
    /// Headers made.
    pub headers: usize,
    /// Registry entries added.
    pub registered: usize,
}

/// Books the org's receipts that arrived since the last run, a chunk per transaction.
pub fn book_new(db: &Db, org_id: i64, now: Now, cancelled: &dyn Fn() -> bool) -> Result<AutoBooked, ServiceError> {
    let mut done = AutoBooked::default();
    loop {
        if cancelled() {
            return Err(ServiceError::Interrupted);
        }
        let step = db.write(|tx| {
            let Some(org) = orgs::find_org_by_id(tx, org_id)? else { return Ok::<_, ServiceError>(None) };
            let after = auto::cursor(tx, org.id)?;
            let Some(last) = auto::receipts_window_end(tx, org.id, after, CHUNK)? else { return Ok(None) };
            let mut step = AutoBooked::default();
            for transfer in auto::transfers_in(tx, org.id, &org.fiscal_code, after, last)? {
                book(tx, &org, &transfer, now, &mut step)?;
            }
            auto::set_cursor(tx, org.id, last)?;
            Ok(Some(step))
        })?;
        let Some(step) = step else { return Ok(done) };
        done.transfers += step.transfers;
        done.details += step.details;
        done.headers += step.headers;
        done.registered += step.registered;
    }
}

/// Books the transfers of receipt `receipt_row` (row id), just released from review by an operator
/// who accepted it, as if it had arrived now; runs in the caller's transaction. A transfer already
/// booked is skipped, so calling it again books nothing. Returns what it did.
pub fn book_released(tx: &Conn, receipt_row: i64, now: Now) -> Result<AutoBooked, ServiceError> {
    let mut step = AutoBooked::default();
    let Some(org_id) = auto::receipt_org(tx, receipt_row)? else { return Ok(step) };
    let Some(org) = orgs::find_org_by_id(tx, org_id)? else { return Ok(step) };
    for transfer in auto::transfers_in(tx, org.id, &org.fiscal_code, receipt_row.saturating_sub(1), receipt_row)? {
        book(tx, &org, &transfer, now, &mut step)?;
    }
    Ok(step)
}

/// The lines `transfer` is booked by, or `None` when it is left to operators.
fn lines_of(tx: &Conn, org: &OrgRecord, t: &NewTransfer) -> Result<Option<Vec<(BookingTarget, Cents)>>, StoreError> {
    let Some(xml) = &t.bilancio else {
        let entries = auto::active_entries(tx, org.id, &t.debt_type_code, 2)?;
        return Ok(match entries.as_slice() {
            [only] => Some(vec![(
                BookingTarget {
                    office_code: only.entry.office_code.clone(),
                    chapter_code: only.entry.chapter_code.clone(),
                    accertamento_code: only.entry.accertamento_code.clone(),
                },
                t.amount,
            )]),
            _ => None,
        });
    };
    let skip = |why: &str| {
        tracing::info!(iuv = %t.iuv, iur = %t.iur, transfer = t.transfer_index, why, "bilancio not booked automatically");
        Ok(None)
    };
    if t.org_transfers != 1 {
        return skip("several transfers to the org");
    }
    let lines = match bilancio::read_lines(xml) {
        Ok(lines) => lines,
        Err(err) => return skip(&err.to_string()),
    };
    let sum = lines.iter().try_fold(Cents::ZERO, |sum, l| sum.checked_add(l.amount));
    if sum != Some(t.amount) {
        return skip("the amounts do not add up to the transfer");
    }
    let na = || NO_ACCERTAMENTO.to_owned();
    Ok(Some(
        lines
            .into_iter()
            .map(|l| {
                let target = BookingTarget {
                    office_code: l.office_code.unwrap_or_else(na),
                    chapter_code: l.chapter_code,
                    accertamento_code: l.accertamento_code.unwrap_or_else(na),
                };
                (target, l.amount)
            })
            .collect(),
    ))
}

fn book(tx: &Conn, org: &OrgRecord, t: &NewTransfer, now: Now, step: &mut AutoBooked) -> Result<(), ServiceError> {
    let key = TransferKey { iuv: t.iuv.clone(), iur: t.iur.clone(), transfer_index: t.transfer_index };
    if store::find_booking(tx, org.id, &key)?.is_some() {
        return Ok(());
    }
    let Some(lines) = lines_of(tx, org, t)? else { return Ok(()) };
    for (target, _) in &lines {
        if register(tx, org, t, target, now)? {
            step.registered += 1;
        }
    }
    let header = header_for(tx, org, t, now, step)?;
    let object = format!("accertamento:{}", header.id);
    for (target, amount) in &lines {
        let new = NewDetail {
            accertamento: &header,
            iud: t.iud.as_deref(),
            key: &key,
            target,
            amount: *amount,
            actor: ACTOR,
        };
        store::insert_detail(tx, &new, &now.iso())?;
        step.details += 1;
    }
    let after = json!({ "iuv": key.iuv, "iur": key.iur, "transfer_index": key.transfer_index, "lines": lines.len(),
        "amount": t.amount.to_decimal_string(), "by": if t.bilancio.is_some() { "bilancio" } else { "registry" } })
    .to_string();
    let change = Change {
        actor: ACTOR,
        org_id: Some(org.id),
        action: "accertamento.auto_assign",
        object: &object,
        before: None,
        after: Some(&after),
    };
    journal_change(tx, &change, now)?;
    step.transfers += 1;
    Ok(())
}

/// The CHIUSO header of the transfer's day and debt type, made if missing.
fn header_for(
    tx: &Conn,
    org: &OrgRecord,
    t: &NewTransfer,
    now: Now,
    step: &mut AutoBooked,
) -> Result<AccertamentoRecord, ServiceError> {
    let name = header_name(t.payment_date, &t.debt_type_code);
    if let Some(found) = auto::find_closed_header(tx, org.id, &t.debt_type_code, &name, ACTOR)? {
        return Ok(found);
    }
    let id = store::insert_accertamento(tx, org.id, &t.debt_type_code, &name, ACTOR, &now.iso())?;
    store::update_state(tx, id, AccertamentoState::Inserito, AccertamentoState::Chiuso, &now.iso())?;
    let object = format!("accertamento:{id}");
    let after = json!({ "debt_type": t.debt_type_code, "name": name, "state": "CHIUSO" }).to_string();
    let change = Change {
        actor: ACTOR,
        org_id: Some(org.id),
        action: "accertamento.auto_create",
        object: &object,
        before: None,
        after: Some(&after),
    };
    journal_change(tx, &change, now)?;
    step.headers += 1;
    store::find_accertamento(tx, org.id, id)?.ok_or_else(|| ServiceError::Internal("lost".to_owned()))
}

/// Adds `target` to the registry for the transfer's debt type when it lacks it; true if it did.
fn register(
    tx: &Conn,
    org: &OrgRecord,
    t: &NewTransfer,
    target: &BookingTarget,
    now: Now,
) -> Result<bool, ServiceError> {
    let code = &t.debt_type_code;
    if auto::registry_knows(tx, org.id, code, &target.office_code, &target.chapter_code, &target.accertamento_code)? {
        return Ok(false);
    }
    let year: String = t.payment_date.text().chars().take(4).collect();
    let probe = RegistryEntry {
        office_code: target.office_code.clone(),
        chapter_code: target.chapter_code.clone(),
        year: year.clone(),
        accertamento_code: target.accertamento_code.clone(),
        debt_type_code: code.clone(),
        ..RegistryEntry::default()
    };
    let known = store::known_names(tx, org.id, &probe)?;
    let accertamento_name = if target.accertamento_code == NO_ACCERTAMENTO {
        None
    } else {
        known.accertamento.unwrap_or_else(|| Some(target.accertamento_code.clone()))
    };
    let entry = RegistryEntry {
        office_name: known.office.unwrap_or_else(|| target.office_code.clone()),
        chapter_name: known.chapter.unwrap_or_else(|| target.chapter_code.clone()),
        accertamento_name,
        active: true,
        ..probe
    };
    store::insert_registry_entry(tx, org.id, &entry, &now.iso())?;
    let after = json!({ "debt_type": code, "office": entry.office_code, "chapter": entry.chapter_code, "year": year,
        "accertamento": entry.accertamento_code })
    .to_string();
    let change = Change {
        actor: ACTOR,
        org_id: Some(org.id),
        action: "accertamenti.registry_auto",
        object: "accertamento_registry",
        before: None,
        after: Some(&after),
    };
    journal_change(tx, &change, now)?;
    Ok(true)
}
