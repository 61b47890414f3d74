//! One classified row and the documents behind it, for the back office's transfer page: the
//! receipt that pays it, the reporting-flow rows that report it, the treasury movements that
//! joined it (by the flow's IUF or by its IUV) and the municipality's notification.
//!
//! Owns: [`detail`] and [`ItemDetail`]. The documents are read as the classification read them
//! (current flows, outcome 3 left out; movements by upper-case keys), so what the page shows is
//! what decided the labels.
//! Must never: classify (that is `engine`'s), or show another org's documents.

use crate::services::ServiceError;
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::reconciliation::{self as rs, ItemRecord, MovementRecord, NotificationFact, ReportedRow};
use crate::store::{Db, orgs};

/// A classified row with its documents.
#[derive(Debug, Clone)]
pub struct ItemDetail {
    pub item: ItemRecord,
    /// The receipt paying the transfer, when mypay stored one.
    pub receipt: Option<ReceiptRecord>,
    /// The rows of the org's current reporting flows for this transfer (its IUV, and its IUR and
    /// transfer index when it has them).
    pub reported: Vec<ReportedRow>,
    /// The treasury movements it joined: its own, or those naming its IUF or IUV.
    pub movements: Vec<MovementRecord>,
    /// The municipality's notifications: of its IUD, else of its IUV.
    pub notifications: Vec<NotificationFact>,
}

/// Row `id` of org `ipa`'s classification with its documents; `NotFound` for another org's.
pub fn detail(db: &Db, ipa: &str, id: i64) -> Result<ItemDetail, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let item =
            rs::find_item(conn, org.id, id)?.ok_or_else(|| ServiceError::NotFound(format!("reconciled row {id}")))?;
        let receipt = match item.receipt_row {
            Some(row) => receipts::find_receipt_by_id(conn, row)?.filter(|r| r.org_id == org.id),
            None => None,
        };
        let reported = match &item.iuv {
            Some(iuv) if item.movement_id.is_none() => rs::reported_rows_by_iuv(conn, org.id, iuv)?
                .into_iter()
                .filter(|r| item.iur.as_ref().is_none_or(|iur| *iur == r.iur))
                .filter(|r| {
                    item.transfer_index.is_none() || r.transfer_index.is_none_or(|i| Some(i) == item.transfer_index)
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut movements = Vec::new();
        if let Some(movement) = item.movement_id {
            movements.extend(rs::find_movement(conn, org.id, movement)?);
        } else {
            if let Some(iuf) = &item.iuf {
                movements.extend(rs::movements_by_iuf(conn, org.id, iuf)?);
            }
            if let Some(iuv) = &item.iuv {
                for m in rs::movements_by_iuv(conn, org.id, iuv)? {
                    if !movements.iter().any(|known: &MovementRecord| known.id == m.id) {
                        movements.push(m);
                    }
                }
            }
        }
        let notifications = match (&item.iud, &item.iuv) {
            _ if item.movement_id.is_some() => Vec::new(),
            (Some(iud), _) => rs::notification_by_iud(conn, org.id, iud)?.into_iter().collect(),
            (None, Some(iuv)) => rs::notifications_by_iuv(conn, org.id, iuv)?,
            (None, None) => Vec::new(),
        };
        Ok(ItemDetail { item, receipt, reported, movements, notifications })
    })
}
