//! One classified row and the documents behind it, for the back office's transfer page: the
//! receipt that pays it, the reporting-flow rows that report it, the treasury movements that
//! joined it (by the flow's IUF or by its IUV) and the municipality's notification.
//!
//! Owns: [`detail`], [`ItemDetail`] and [`current_id`] (a stale link's row, by its key). The
//! documents are read as the classification read them (current flows, outcome 3 left out;
//! movements by upper-case keys), so what the page shows is what decided the labels.
//! Must never: classify (that is `engine`'s), or show another org's documents.

use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::Db;
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::reconciliation::{self as rs, ItemKey, ItemRecord, MovementRecord, NotificationFact, ReportedRow};

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

/// The id the row named by `key` has now, when one row of `access`'s org (that `access` may see)
/// has that key: a link made before the row was classified again finds it.
pub fn current_id(db: &Db, access: &OrgAccess, key: &ItemKey) -> Result<Option<i64>, ServiceError> {
    let types = super::visible_types(db, access)?;
    let ids = db.read(|conn| rs::find_item_ids_by_key(conn, access.org.id, key, types.as_deref()))?;
    Ok(match ids.as_slice() {
        [id] => Some(*id),
        _ => None,
    })
}

/// Row `id` of `access`'s org's classification with its documents; `NotFound` for another org's
/// or one `access` may not see (`reconciliation::list_visible`).
pub fn detail(db: &Db, access: &OrgAccess, id: i64) -> Result<ItemDetail, ServiceError> {
    let types = super::visible_types(db, access)?;
    db.read(|conn| {
        let org = &access.org;
        let item = rs::find_item(conn, org.id, id, types.as_deref())?
            .ok_or_else(|| ServiceError::NotFound(format!("reconciled row {id}")))?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::services::reconciliation::{Filter, list};
    use crate::services::testkit::{IPA, Kit};

    fn row_of(kit: &Kit, iuv: &str) -> ItemRecord {
        let items = list(&kit.db, IPA, Filter::default()).unwrap();
        items.into_iter().find(|i| i.iuv.as_deref() == Some(iuv) && i.movement_id.is_none()).unwrap()
    }

    #[test]
    fn a_transfer_shows_the_documents_that_decided_its_labels() {
        let kit = Kit::new();
        crate::services::reconciliation::tests::all_of_7(&kit);
        // P1 of §7: notified, paid, reported in FdR1, transferred with bolletta 1201.
        let p1 = row_of(&kit, "01000000000012301");
        let found = detail(&kit.db, &kit.admin_access(), p1.id).unwrap();
        let receipt = found.receipt.unwrap();
        assert_eq!((receipt.receipt_id.as_str(), receipt.debt_id.is_some()), ("IUR20240516000001", true));
        assert_eq!(found.reported.len(), 1);
        assert_eq!(
            (found.reported[0].iuf.as_str(), found.reported[0].iur.as_str()),
            ("2024-05-17TESTITM1XXX-S000001", "IUR20240516000001")
        );
        let bollette: Vec<_> = found.movements.iter().map(|m| m.bolletta_number.clone().unwrap()).collect();
        assert_eq!(bollette, ["1201"]);
        assert_eq!(found.notifications.iter().map(|n| n.iud.as_str()).collect::<Vec<_>>(), ["TARI-2024-000123"]);
        // …303 transferred on its own: the movement found by its IUV, no flow.
        let single = detail(&kit.db, &kit.admin_access(), row_of(&kit, "01000000000012303").id).unwrap();
        assert!(single.reported.is_empty());
        assert_eq!(single.movements.iter().map(|m| m.amount.get()).collect::<Vec<_>>(), [4550]);
        // A lone movement shows itself only; another org's id or an unknown one is not found.
        let items = list(&kit.db, IPA, Filter::default()).unwrap();
        let lone = items.iter().find(|i| i.movement_id.is_some() && i.iuf.is_none() && i.iuv.is_none()).unwrap();
        let lone = detail(&kit.db, &kit.admin_access(), lone.id).unwrap();
        assert_eq!((lone.movements.len(), lone.receipt.is_none(), lone.notifications.len()), (1, true, 0));
        assert!(matches!(detail(&kit.db, &kit.admin_access(), 999_999), Err(ServiceError::NotFound(_))));
    }

    /// An operator limited to some debt types sees the rows of debts of theirs (by the receipt's
    /// debt, else the notification's); rows of no debt of the org are an admin's.
    #[test]
    fn an_operator_sees_the_rows_of_their_debt_types_only() {
        use crate::services::reconciliation::{label_months_visible, list_visible};
        let kit = Kit::new();
        crate::services::reconciliation::tests::all_of_7(&kit);
        let admin = kit.admin_access();
        let types = kit.db.read(|c| crate::store::debt_types::list_debt_types(c, admin.org.id)).unwrap();
        let tari = types.iter().find(|t| t.code == "TARI").unwrap().id;
        let operator = |allowed: Vec<i64>| OrgAccess { admin: false, allowed_types: Some(allowed), ..admin.clone() };
        let all = list_visible(&kit.db, &admin, Filter::default()).unwrap();
        assert_eq!(all, list(&kit.db, IPA, Filter::default()).unwrap());
        let of_tari = operator(vec![tari]);
        let seen = list_visible(&kit.db, &of_tari, Filter::default()).unwrap();
        let p1 = row_of(&kit, "01000000000012301");
        assert!(seen.iter().any(|i| i.id == p1.id), "{seen:?}");
        let iud_seen = |iud: &str| seen.iter().any(|i| i.iud.as_deref() == Some(iud));
        // A notification alone by the type the municipality filed it under (TARI); a paid one by
        // the type of the debt the receipt paid (the kit's debts are all TARI, whatever the
        // notification says: MENSA_SCOLASTICA).
        assert!(iud_seen("TARI-2024-000124") && iud_seen("MENSA-2024-000045"), "{seen:?}");
        let hidden: Vec<_> = all.iter().filter(|i| !seen.contains(i)).collect();
        assert!(hidden.iter().any(|i| i.movement_id.is_some() && i.iuv.is_none()), "{hidden:?}");
        assert!(detail(&kit.db, &of_tari, p1.id).is_ok());
        for item in &hidden {
            assert!(matches!(detail(&kit.db, &of_tari, item.id), Err(ServiceError::NotFound(_))));
        }
        let count = |access: &OrgAccess| {
            label_months_visible(&kit.db, access, None, None).unwrap().iter().map(|m| m.count).sum::<i64>()
        };
        let labels_of = |items: &[ItemRecord]| items.iter().map(|i| i.labels.len() as i64).sum::<i64>();
        assert_eq!((count(&admin), count(&of_tari)), (labels_of(&all), labels_of(&seen)));
        // Enabled on no debt type of these rows: nothing.
        let none = operator(vec![-1]);
        assert_eq!(list_visible(&kit.db, &none, Filter::default()).unwrap(), []);
        assert_eq!(count(&none), 0);
        assert!(matches!(detail(&kit.db, &none, p1.id), Err(ServiceError::NotFound(_))));
    }
}
