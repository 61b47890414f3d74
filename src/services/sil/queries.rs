//! What a SIL may ask about a person or an org (mypay.md §4.2): a person's open positions across
//! orgs (`paaSILChiediPosizioniAperte`), their paid history (`paaSILChiediStoricoPagamenti`), and
//! an org's notices still to pay created in a period (`paaSILChiediAvvisiPendenti`, which MyPay
//! declared and never implemented: here, the debts with a notice number, not yet paid, whose
//! notice was created in the period).

use jiff::civil::Date;

use super::sessions::OutcomeLine;
use super::{SilError, fault};
use crate::domain::DebtState;
use crate::store::debts::{self, DebtRecord};
use crate::store::orgs::{self, OrgRecord};
use crate::store::{Db, receipts, sil};

/// At most this many positions, receipts or notices in one answer.
pub const MAX_RESULTS: u32 = 200;

fn org_filter(conn: &crate::store::Conn, ipa: Option<&str>) -> Result<Option<OrgRecord>, SilError> {
    match ipa {
        None => Ok(None),
        Some(ipa) => Ok(Some(
            orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| fault("PAA_ENTE_NON_VALIDO", format!("ente {ipa}")))?,
        )),
    }
}

/// The debts still to pay of the person `fiscal_code`, with their org (only `ipa`'s when given).
pub fn open_positions(db: &Db, fiscal_code: &str, ipa: Option<&str>) -> Result<Vec<(OrgRecord, DebtRecord)>, SilError> {
    db.read_tx(|conn| {
        let only = org_filter(conn, ipa)?;
        let mut out = Vec::new();
        for debt in debts::list_debts_of_debtor(conn, fiscal_code.trim(), &[DebtState::Inserted], MAX_RESULTS)? {
            if debt.notice_number.is_none() || only.as_ref().is_some_and(|o| o.id != debt.org_id) {
                continue;
            }
            if let Some(org) = orgs::find_org_by_id(conn, debt.org_id)? {
                out.push((org, debt));
            }
        }
        Ok(out)
    })
}

/// The successful receipts where `fiscal_code` is debtor or payer, paid from `from` to `to`
/// (`YYYY-MM-DDTHH:MM:SS`, Rome, inclusive), with their org and debt.
pub fn payment_history(
    db: &Db,
    fiscal_code: &str,
    ipa: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<OutcomeLine>, SilError> {
    db.read_tx(|conn| {
        let only = org_filter(conn, ipa)?;
        let mut out = Vec::new();
        for receipt in receipts::list_receipts_of_party(conn, fiscal_code.trim(), MAX_RESULTS)? {
            // Compared in Rome's local time, to the second (`received_at` is UTC).
            let at = receipt.payment_date_time.as_deref().unwrap_or(&receipt.received_at);
            let at = crate::clock::rome_local(at)
                .map_or_else(|| at.to_owned(), |t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string());
            if receipt.outcome != "OK" || at.as_str() < from || at.as_str() > to {
                continue;
            }
            if only.as_ref().is_some_and(|o| o.id != receipt.org_id) {
                continue;
            }
            let (Some(debt_id), Some(org)) = (receipt.debt_id, orgs::find_org_by_id(conn, receipt.org_id)?) else {
                continue;
            };
            let Some(debt) = debts::find_debt_by_id(conn, debt_id)? else { continue };
            out.push(OutcomeLine { org, debt, receipt: Some(receipt) });
        }
        Ok(out)
    })
}

/// Org `ipa`'s notices still to pay created from `from` to `to` (Europe/Rome days, inclusive).
pub fn pending_notices(db: &Db, ipa: &str, from: Date, to: Date) -> Result<Vec<DebtRecord>, SilError> {
    if from > to {
        return Err(fault("PAA_INTERVALLO_DATE_NON_VALIDO", format!("dateFrom {from} dopo dateTo {to}")));
    }
    let utc = |instant: Result<jiff::Timestamp, jiff::Error>| {
        instant.map(crate::clock::iso).map_err(|err| fault("PAA_DATE_TO_NON_VALIDO", err.to_string()))
    };
    let (begin, end) = (utc(crate::clock::rome_day_start(from))?, utc(crate::clock::rome_day_end(to))?);
    db.read_tx(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| fault("PAA_ENTE_NON_VALIDO", ipa.to_owned()))?;
        let mut out = Vec::new();
        for id in sil::list_pending_debt_ids(conn, org.id, &begin, &end, MAX_RESULTS)? {
            if let Some(debt) = debts::find_debt_by_id(conn, id)? {
                out.push(debt);
            }
        }
        Ok(out)
    })
}
