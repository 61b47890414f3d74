//! A logged-in citizen's own page: the open debts and the receipts of their fiscal code across
//! orgs (with a position's payment options), and one receipt (whose right to see it
//! `web::authz` decides).

use super::PortalError;
use crate::clock::Now;
use crate::domain::{DebtState, NoticeNumber};
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

/// "Paga" on one of the citizen's debts: the debt's org fiscal code and notice number, the debt
/// given its IUV first when it has none (`services::debts::iuv`).
pub fn make_payable(db: &Db, fiscal_code: &str, debt_id: i64, now: Now) -> Result<(String, NoticeNumber), PortalError> {
    // A debt past a mandatory due date is not payable (PAA_PAGAMENTO_SCADUTO at the station): it
    // gets no IUV either.
    let past_due = db.read(|conn| {
        let Some(debt) = debts::find_debt_by_id(conn, debt_id)?.filter(|d| d.debtor.id == fiscal_code) else {
            return Ok::<_, crate::store::StoreError>(None);
        };
        let debt_type = crate::store::debt_types::find_debt_type_by_id(conn, debt.org_id, debt.debt_type_id)?;
        Ok(debt_type.filter(|t| crate::services::payments::is_past_due(&debt, t, now.today())).map(|_| debt.iud))
    })?;
    if let Some(iud) = past_due {
        return Err(crate::services::payments::PaymentError::Expired(iud).into());
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::domain::debt_row::DebtFields;
    use crate::services::admin::debt_types::{DebtTypeChanges, add_debt_type};
    use crate::services::debts::{Source, add_debt};
    use crate::services::payments::PaymentError;
    use crate::services::testkit::{IPA, Kit, tari_fields};

    #[test]
    fn a_debt_without_iuv_past_its_mandatory_due_date_gets_no_iuv() {
        let kit = Kit::new();
        let changes = DebtTypeChanges {
            description: Some("Mensa".to_owned()),
            taxonomy_code: Some("0101002IM".to_owned()),
            due_date_mandatory: Some(true),
            ..DebtTypeChanges::default()
        };
        add_debt_type(&kit.db, "test", IPA, "MENSA", &changes, kit.now).unwrap();
        let january = Now::at("2026-01-05T09:00:00Z".parse().unwrap());
        let fields = |iud: &str, due: &str| DebtFields {
            debt_type: "MENSA".to_owned(),
            due_date: due.to_owned(),
            generate_iuv: false,
            ..tari_fields(iud, 4_500)
        };
        let late = add_debt(&kit.db, "test", IPA, &fields("M-LATE", "2026-02-01"), Source::Cli, january).unwrap();
        let due = add_debt(&kit.db, "test", IPA, &fields("M-DUE", "2099-02-01"), Source::Cli, january).unwrap();
        let refused = make_payable(&kit.db, &late.debtor.id, late.id, kit.now);
        assert!(matches!(refused, Err(PortalError::Payment(PaymentError::Expired(_)))), "{refused:?}");
        let stored = kit.db.read(|c| debts::find_debt_by_id(c, late.id)).unwrap().unwrap();
        assert!(stored.iuv.is_none());
        let (org, notice) = make_payable(&kit.db, &due.debtor.id, due.id, kit.now).unwrap();
        assert_eq!(org, crate::services::testkit::FISCAL_CODE);
        assert_eq!(notice.as_str().len(), 18);
    }
}
