//! A logged-in citizen's own page: the open debts and the receipts of their fiscal code across
//! orgs, and one receipt (whose right to see it `web::authz` decides).

use super::PortalError;
use crate::clock::Now;
use crate::domain::{DebtState, NoticeNumber};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, debts, orgs};

/// The receipt with this id.
pub fn receipt(db: &Db, id: i64) -> Result<Option<ReceiptRecord>, PortalError> {
    Ok(db.read(|conn| receipts::find_receipt_by_id(conn, id))?)
}

/// The open debts of a fiscal code across orgs, with their org's name and fiscal code.
pub fn debts_of(
    db: &Db,
    fiscal_code: &str,
) -> Result<Vec<(crate::store::debts::DebtRecord, String, String)>, PortalError> {
    db.read(|conn| {
        let list =
            debts::list_debts_of_debtor(conn, fiscal_code, &[DebtState::Inserted, DebtState::PaymentStarted], 200)?;
        let all = orgs::list_orgs(conn)?;
        Ok(list
            .into_iter()
            .filter_map(|d| {
                let org = all.iter().find(|o| o.id == d.org_id)?;
                Some((d, org.name.clone(), org.fiscal_code.clone()))
            })
            .collect())
    })
}

/// "Paga" on one of the citizen's debts: the debt's org fiscal code and notice number, the debt
/// given its IUV first when it has none (`services::debts::iuv`).
pub fn make_payable(db: &Db, fiscal_code: &str, debt_id: i64, now: Now) -> Result<(String, NoticeNumber), PortalError> {
    let (debt, org_fiscal_code) = crate::services::debts::iuv::make_payable_for_citizen(db, fiscal_code, debt_id, now)?;
    let notice = debt
        .notice_number
        .ok_or_else(|| crate::services::ServiceError::Conflict(format!("debt {debt_id} has no notice number")))?;
    Ok((org_fiscal_code, notice))
}

/// The receipts where a fiscal code is debtor or payer.
pub fn receipts_of(db: &Db, fiscal_code: &str) -> Result<Vec<ReceiptRecord>, PortalError> {
    Ok(db.read(|conn| receipts::list_receipts_of_party(conn, fiscal_code, 200))?)
}
