//! The incremental classification: what changed (`store::reconciliation::Dirty`: an IUV, a flow's
//! IUF, a treasury movement, a legacy Poste line) is classified again, and only that.
//!
//! The unit is one IUV of one org: every source joins on it (E and R by IUV, IUR and transfer
//! index; N to E by the debt's IUD; treasury by IUV, or by the flow's IUF for the rows of that
//! flow), so the rows of an IUV are deleted and written again from the facts stored now. A
//! treasury movement that joins nothing has a row of its own, recomputed by movement. Because a
//! row is a function of the facts stored when it is computed, the result does not depend on the
//! order in which sources arrived, and reloading a source that changed nothing changes nothing.
//! E includes S rows (§1.7): another org's receipt's transfer to this org, with an IBAN, keyed by
//! that receipt's IUR and the transfer's index with the transfer's amount; the store's triggers
//! note it for this org when the receipt arrives. A legacy Poste line (P) is a reporting row that
//! can join nothing, classified alone (`classify_poste`).
//! Must never: filter by dates (§8 c: no "since last year" window) or join across orgs (§8 b).

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::Cents;
use crate::domain::reconciliation::Label;
use crate::domain::reconciliation::classify::{self, Facts, Flags, Paid, Reported};
use crate::store::reconciliation::{
    self as rs, Dirty, ItemRecord, MovementRecord, NotificationFact, PaidTransfer, ReportedRow,
};
use crate::store::{Conn, StoreError};

/// The org as the classification needs it.
#[derive(Debug, Clone)]
pub struct OrgCtx {
    pub id: i64,
    pub fiscal_code: String,
    pub flags: Flags,
}

/// Classifies again what `batch` names and forgets it; returns the number of rows written.
pub fn classify_batch(tx: &Conn, org: &OrgCtx, batch: &[Dirty]) -> Result<usize, StoreError> {
    let mut iuvs = BTreeSet::new();
    let mut movements = BTreeSet::new();
    let mut written = 0;
    for what in batch {
        match what {
            Dirty::Iuv(iuv) => {
                iuvs.insert(iuv.clone());
            }
            // A flow's IUF or a movement touches many IUVs: they are noted, for the next chunks,
            // so that one transaction classifies at most a chunk of IUVs.
            Dirty::Iuf(iuf) => {
                for iuv in rs::reported_iuvs_of_iuf(tx, org.id, iuf)? {
                    rs::mark_dirty(tx, org.id, &Dirty::Iuv(iuv))?;
                }
                movements.extend(rs::movements_by_iuf(tx, org.id, iuf)?.into_iter().map(|m| m.id));
                for key in rs::poste_lines_of_iuf(tx, org.id, iuf)?.0 {
                    rs::mark_dirty(tx, org.id, &Dirty::Poste(key))?;
                }
            }
            Dirty::Poste(key) => written += classify_poste(tx, org, key)?,
            Dirty::Movement(id) => {
                movements.insert(*id);
                if let Some(m) = rs::find_movement(tx, org.id, *id)? {
                    if let Some(iuv) = m.iuv {
                        rs::mark_dirty(tx, org.id, &Dirty::Iuv(iuv))?;
                    }
                    if let Some(iuf) = m.iuf {
                        rs::mark_dirty(tx, org.id, &Dirty::Iuf(iuf))?;
                    }
                }
            }
        }
    }
    for iuv in &iuvs {
        let (rows, touched) = classify_iuv(tx, org, iuv)?;
        written += rows;
        movements.extend(touched);
    }
    for id in &movements {
        written += classify_movement(tx, org, *id)?;
    }
    // What was classified again is up to date, whether the batch named it or a flow's IUF did.
    for what in batch {
        rs::clear_dirty(tx, org.id, what)?;
    }
    for iuv in iuvs {
        rs::clear_dirty(tx, org.id, &Dirty::Iuv(iuv))?;
    }
    for id in movements {
        rs::clear_dirty(tx, org.id, &Dirty::Movement(id))?;
    }
    Ok(written)
}

/// Paid (0) or paid without RPT (8, 9: §8 h treats 8 like 9), for DOPPI and implicit receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Paid,
    WithoutRpt,
}

fn outcome_of(code: &str) -> Option<Outcome> {
    match code {
        "0" => Some(Outcome::Paid),
        "8" | "9" => Some(Outcome::WithoutRpt),
        _ => None,
    }
}

/// One transfer key of an IUV: (IUR, transfer index) with its receipt and reporting sides.
#[derive(Default)]
struct Key<'a> {
    paid: Option<&'a PaidTransfer>,
    reported: Option<&'a ReportedRow>,
}

/// Writes the rows of one IUV again; returns how many, and the movements whose own row may have
/// changed (those joined to the IUV or to one of its flows).
fn classify_iuv(tx: &Conn, org: &OrgCtx, iuv: &str) -> Result<(usize, BTreeSet<i64>), StoreError> {
    rs::delete_iuv_items(tx, org.id, iuv)?;
    let paid = rs::paid_transfers_by_iuv(tx, org.id, &org.fiscal_code, iuv)?;
    let reported = rs::reported_rows_by_iuv(tx, org.id, iuv)?;
    let notified = rs::notifications_by_iuv(tx, org.id, iuv)?;
    let by_iuv = rs::movements_by_iuv(tx, org.id, iuv)?;
    let mut by_iuf: BTreeMap<String, Vec<MovementRecord>> = BTreeMap::new();
    for r in &reported {
        if let std::collections::btree_map::Entry::Vacant(slot) = by_iuf.entry(r.iuf.to_uppercase()) {
            let found = rs::movements_by_iuf(tx, org.id, slot.key())?;
            slot.insert(found);
        }
    }
    let mut touched: BTreeSet<i64> = by_iuv.iter().map(|m| m.id).collect();
    touched.extend(by_iuf.values().flatten().map(|m| m.id));

    let mut keys: BTreeMap<(String, i64), Key<'_>> = BTreeMap::new();
    for e in &paid {
        keys.entry((e.iur.clone(), e.transfer_index)).or_default().paid.get_or_insert(e);
    }
    for r in &reported {
        // An FdR row without indiceDatiSingoloPagamento reports the receipt's first transfer.
        keys.entry((r.iur.clone(), r.transfer_index.unwrap_or(1))).or_default().reported.get_or_insert(r);
    }

    let mut written = 0;
    let mut attached: BTreeSet<String> = BTreeSet::new();
    let tv: Vec<Cents> = by_iuv.iter().map(|m| m.amount).collect();
    for ((iur, index), key) in &keys {
        // N joins E on the debt's IUD; a receipt that paid no debt of ours has none, so it joins
        // the notification of its IUV, if there is exactly one.
        let notification: Option<NotificationFact> = match key.paid {
            Some(e) => match &e.iud {
                Some(iud) => rs::notification_by_iud(tx, org.id, iud)?,
                None if notified.len() == 1 => notified.first().cloned(),
                None => None,
            },
            None => None,
        };
        if let Some(n) = &notification {
            attached.insert(n.iud.clone());
        }
        let implicit = key.paid.is_none()
            && key.reported.is_some_and(|r| outcome_of(&r.outcome_code) == Some(Outcome::WithoutRpt));
        let facts = Facts {
            notified: notification.as_ref().map(|n| n.amount),
            paid: key
                .paid
                .map(|e| Paid { amount: e.amount, total: e.total })
                .or_else(|| key.reported.filter(|_| implicit).map(|r| Paid { amount: r.amount, total: r.amount })),
            reported: key.reported.map(|r| Reported { amount: r.amount, flow_total: r.flow_total }),
            treasury_by_iuf: key
                .reported
                .and_then(|r| by_iuf.get(&r.iuf.to_uppercase()))
                .map(|ms| ms.iter().map(|m| m.amount).collect())
                .unwrap_or_default(),
            treasury_by_iuv: tv.clone(),
            keyless_treasury: false,
            doppi: key.reported.is_some_and(|r| is_doppi(r, key.paid.is_some() || implicit, &reported)),
        };
        let labels = classify::classify(&facts, org.flags);
        if labels.is_empty() {
            continue;
        }
        let day = match (key.paid, key.reported, &notification) {
            (Some(e), _, _) => e.payment_date.to_string(),
            (None, Some(r), _) => r.outcome_date.chars().take(10).collect(),
            (None, None, Some(n)) => n.paid_on.to_string(),
            (None, None, None) => String::new(),
        };
        let item = ItemRecord {
            iuv: Some(iuv.to_owned()),
            iur: Some(iur.clone()),
            transfer_index: Some(*index),
            iud: notification.as_ref().map(|n| n.iud.clone()).or_else(|| key.paid.and_then(|e| e.iud.clone())),
            iuf: key.reported.map(|r| r.iuf.clone()),
            receipt_row: key.paid.map(|e| e.receipt_row),
            day,
            amount: facts.paid.map(|p| p.amount.get()).or(facts.reported.map(|r| r.amount.get())).unwrap_or(0),
            n_cents: facts.notified.map(Cents::get),
            e_cents: facts.paid.map(|p| p.amount.get()),
            e_total_cents: facts.paid.map(|p| p.total.get()),
            r_cents: facts.reported.map(|r| r.amount.get()),
            r_total_cents: facts.reported.and_then(|r| r.flow_total).map(Cents::get),
            r_outcome: key.reported.map(|r| r.outcome_code.clone()),
            t_iuf_cents: facts.treasury_by_iuf.first().map(|c| c.get()),
            t_iuv_cents: facts.treasury_by_iuv.first().map(|c| c.get()),
            t_count: i64::try_from(facts.treasury_by_iuf.len() + facts.treasury_by_iuv.len()).unwrap_or(i64::MAX),
            labels,
            ..ItemRecord::default()
        };
        rs::insert_item(tx, org.id, &item)?;
        written += 1;
    }

    // Notifications that no receipt of the org pays: a row each (IUD_NO_RT).
    for n in &notified {
        if attached.contains(&n.iud) || rs::iud_paid(tx, org.id, &org.fiscal_code, &n.iud)? {
            continue;
        }
        let facts = Facts { notified: Some(n.amount), ..Facts::default() };
        let labels = classify::classify(&facts, org.flags);
        if labels.is_empty() {
            continue;
        }
        let item = ItemRecord {
            iuv: Some(iuv.to_owned()),
            iud: Some(n.iud.clone()),
            day: n.paid_on.to_string(),
            amount: n.amount.get(),
            n_cents: Some(n.amount.get()),
            labels,
            ..ItemRecord::default()
        };
        rs::insert_item(tx, org.id, &item)?;
        written += 1;
    }
    Ok((written, touched))
}

/// DOPPI (§3.3): a row paid (0) or paid without RPT (8, 9) that has a receipt, and another row
/// of the same IUV and amount with the other outcome.
fn is_doppi(row: &ReportedRow, has_receipt: bool, rows: &[ReportedRow]) -> bool {
    let Some(outcome) = outcome_of(&row.outcome_code) else { return false };
    has_receipt
        && rows.iter().any(|other| {
            !std::ptr::eq(other, row)
                && other.amount == row.amount
                && outcome_of(&other.outcome_code).is_some_and(|o| o != outcome)
        })
}

/// Writes again the row of a legacy Poste line (P, mypivot.md §1.5). MyPivot loads each line as
/// an FdR row (PSP `BPPIITRRXXX`, outcome 0) with no IUV, its IUF and total given by the operator.
/// In the join graph (§3.1) such a row never meets a receipt (E joins R on the IUV), so it is
/// IUV_NO_RT ("Rendicontazioni di pagamenti non eseguiti"); it meets the treasury by its flow's
/// IUF (TI/FI, within the org, §8 b) once the operator gave one (`uploads::set_poste_flow`; the
/// flow's total is the sum of its lines), else never: IUF_NO_TES with tesoreria. It is classified
/// on its own, under its key, and never touches an IUV.
fn classify_poste(tx: &Conn, org: &OrgCtx, key: &str) -> Result<usize, StoreError> {
    rs::delete_poste_item(tx, org.id, key)?;
    let Some((p, iuf)) = rs::find_poste_row(tx, org.id, key)? else { return Ok(0) };
    let (flow_total, treasury_by_iuf) = match &iuf {
        Some(iuf) => (
            Some(rs::poste_lines_of_iuf(tx, org.id, iuf)?.1),
            rs::movements_by_iuf(tx, org.id, iuf)?.iter().map(|m| m.amount).collect(),
        ),
        None => (None, Vec::new()),
    };
    let facts =
        Facts { reported: Some(Reported { amount: p.amount, flow_total }), treasury_by_iuf, ..Facts::default() };
    let labels = classify::classify(&facts, org.flags);
    if labels.is_empty() {
        return Ok(0);
    }
    let item = ItemRecord {
        iur: Some(p.iur.clone()),
        iuf,
        day: p.operation_day.to_string(),
        amount: p.amount.get(),
        r_cents: Some(p.amount.get()),
        r_total_cents: flow_total.map(Cents::get),
        r_outcome: Some("0".to_owned()),
        t_iuf_cents: facts.treasury_by_iuf.first().map(|c| c.get()),
        t_count: i64::try_from(facts.treasury_by_iuf.len()).unwrap_or(i64::MAX),
        labels,
        poste_key: Some(key.to_owned()),
        ..ItemRecord::default()
    };
    rs::insert_item(tx, org.id, &item)?;
    Ok(1)
}

/// Writes again the own row of a treasury movement: one when it joins nothing (TES_NO_MATCH
/// without keys, TES_NO_IUF_OR_IUV with keys no receipt nor flow has), none otherwise.
fn classify_movement(tx: &Conn, org: &OrgCtx, id: i64) -> Result<usize, StoreError> {
    rs::delete_movement_item(tx, id)?;
    let Some(m) = rs::find_movement(tx, org.id, id)? else { return Ok(0) };
    let by_iuv = match &m.iuv {
        Some(iuv) => rs::iuv_known(tx, org.id, &org.fiscal_code, iuv)?,
        None => false,
    };
    let by_iuf = match &m.iuf {
        Some(iuf) => {
            !rs::reported_iuvs_of_iuf(tx, org.id, iuf)?.is_empty()
                || !rs::poste_lines_of_iuf(tx, org.id, iuf)?.0.is_empty()
        }
        None => false,
    };
    if by_iuv || by_iuf {
        return Ok(0);
    }
    let facts = Facts {
        treasury_by_iuf: m.iuf.iter().map(|_| m.amount).collect(),
        treasury_by_iuv: m.iuv.iter().map(|_| m.amount).collect(),
        keyless_treasury: m.iuf.is_none() && m.iuv.is_none(),
        ..Facts::default()
    };
    let labels: Vec<Label> = classify::classify(&facts, org.flags);
    if labels.is_empty() {
        return Ok(0);
    }
    let item = ItemRecord {
        iuv: m.iuv.clone(),
        movement_id: Some(m.id),
        iuf: m.iuf.clone(),
        day: m.booking_day.to_string(),
        amount: m.amount.get(),
        t_iuf_cents: m.iuf.as_ref().map(|_| m.amount.get()),
        t_iuv_cents: m.iuv.as_ref().map(|_| m.amount.get()),
        t_count: 1,
        labels,
        ..ItemRecord::default()
    };
    rs::insert_item(tx, org.id, &item)?;
    Ok(1)
}
