//! A logged-in citizen's own page: the open debts and the receipts of their fiscal code across
//! orgs (with a position's payment options), and one receipt (whose right to see it
//! `web::authz` decides).

use super::PortalError;
use crate::domain::DebtState;
use crate::services::debts::options::{self, OptionView};
use crate::store::debts::DebtRecord;
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, debt_options, debt_types, debts, orgs};

/// An open debt of the citizen.
#[derive(Debug, Clone)]
pub struct MyDebt {
    pub debt: DebtRecord,
    pub org_name: String,
    pub org_fiscal_code: String,
    /// The position's payment options in every state (as [`options::options_of`]), when it has
    /// options beside the single one; empty otherwise.
    pub options: Vec<OptionView>,
}

/// The receipt with this id.
pub fn receipt(db: &Db, id: i64) -> Result<Option<ReceiptRecord>, PortalError> {
    Ok(db.read(|conn| receipts::find_receipt_by_id(conn, id))?)
}

/// The open debts of a fiscal code across orgs, with their org and their options as of `today`.
pub fn debts_of(db: &Db, fiscal_code: &str, today: jiff::civil::Date) -> Result<Vec<MyDebt>, PortalError> {
    db.read(|conn| {
        let list =
            debts::list_debts_of_debtor(conn, fiscal_code, &[DebtState::Inserted, DebtState::PaymentStarted], 200)?;
        let all = orgs::list_orgs(conn)?;
        let mut out = Vec::with_capacity(list.len());
        for debt in list {
            let Some(org) = all.iter().find(|o| o.id == debt.org_id) else { continue };
            let rows = debt_options::list_options(conn, debt.id)?;
            let options = if rows.is_empty() {
                Vec::new()
            } else {
                let binding = debt_types::find_debt_type_by_id(conn, debt.org_id, debt.debt_type_id)?
                    .is_some_and(|t| t.due_date_mandatory);
                options::views(&debt, &rows, binding, today)
            };
            out.push(MyDebt { org_name: org.name.clone(), org_fiscal_code: org.fiscal_code.clone(), options, debt });
        }
        Ok(out)
    })
}

/// The receipts where a fiscal code is debtor or payer.
pub fn receipts_of(db: &Db, fiscal_code: &str) -> Result<Vec<ReceiptRecord>, PortalError> {
    Ok(db.read(|conn| receipts::list_receipts_of_party(conn, fiscal_code, 200))?)
}
