//! What the citizens' portal offers: the orgs in production, an org's page with its active
//! spontaneous debt types, and the one spontaneous debt type a payment form is for. An org not in
//! production, or a debt type inactive or not spontaneous, is simply not offered (None).

use crate::domain::org::{Functionality, OrgState};
use crate::services::ServiceError;
use crate::store::debt_types::{self, DebtTypeRecord};
use crate::store::orgs::{self, OrgRecord};
use crate::store::{Conn, Db};

/// An org's page on the portal.
#[derive(Debug, Clone)]
pub struct OrgOffer {
    pub org: OrgRecord,
    /// Its active spontaneous debt types, in the store's order.
    pub spontaneous_types: Vec<DebtTypeRecord>,
}

/// The orgs in production, for the home page.
pub fn orgs_in_production(db: &Db) -> Result<Vec<OrgRecord>, ServiceError> {
    Ok(db.read(orgs::list_orgs_in_production)?)
}

fn in_production(conn: &Conn, ipa: &str) -> Result<Option<OrgRecord>, ServiceError> {
    Ok(orgs::find_org_by_ipa(conn, ipa)?.filter(|o| o.state == OrgState::Production))
}

/// The org with IPA code `ipa` when in production, with its active spontaneous debt types.
pub fn org_offer(db: &Db, ipa: &str) -> Result<Option<OrgOffer>, ServiceError> {
    db.read(|conn| {
        let Some(org) = in_production(conn, ipa)? else { return Ok(None) };
        let spontaneous_types =
            debt_types::list_debt_types(conn, org.id)?.into_iter().filter(|t| t.active && t.spontaneous).collect();
        Ok(Some(OrgOffer { org, spontaneous_types }))
    })
}

/// Debt type `code` of org `ipa`, when the org is in production and offers spontaneous payments
/// and the type is active and spontaneous.
pub fn spontaneous_type(db: &Db, ipa: &str, code: &str) -> Result<Option<(OrgRecord, DebtTypeRecord)>, ServiceError> {
    db.read(|conn| {
        let spontaneous = Functionality::SpontaneousPayment.code();
        let Some(org) = in_production(conn, ipa)?.filter(|o| o.functionalities.iter().any(|f| f == spontaneous)) else {
            return Ok(None);
        };
        let found = debt_types::find_debt_type(conn, org.id, code)?.filter(|t| t.active && t.spontaneous);
        Ok(found.map(|t| (org, t)))
    })
}
