//! Authorization decisions of the portal, in one place (style-anchors C11): a handler that needs a
//! right obtains a grant value from here, so a missing check does not compile.
//!
//! Every deny is logged under the `security` target.

use super::session::{Citizen, Session};
use crate::services::ServiceError;
use crate::services::admin::access::{self, AccessDenied};
use crate::services::links::Links;
use crate::services::portal::carts;
use crate::store::receipts::ReceiptRecord;

/// Why access was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    NotLoggedIn,
    NotYours,
}

/// An operator's right to work on one org, obtained from [`operator`]: the org, the role, and the
/// debt types whose debts the operator may see.
pub type OperatorGrant = crate::services::admin::access::OrgAccess;

/// The logged-in operator's grant on org `ipa`: an app admin has every org, others need a role in it.
pub fn operator(db: &crate::store::Db, session: &Session, ipa: &str) -> Result<OperatorGrant, Deny> {
    let Some(username) = session.operator() else {
        return Err(Deny::NotLoggedIn);
    };
    match access::org_access(db, username, ipa) {
        Ok(grant) => Ok(grant),
        Err(ServiceError::Access(AccessDenied::NoOperator(_))) => Err(Deny::NotLoggedIn),
        Err(err) => {
            tracing::warn!(target: "security", username, ipa, error = %err, "operator refused");
            Err(Deny::NotYours)
        }
    }
}

/// The right to see one receipt, and why it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptGrant {
    /// A cart of this session paid it.
    PayingSession,
    /// The logged-in citizen is its debtor or payer.
    Party,
    /// The signed link mailed to the payer.
    SignedLink,
}

/// The logged-in citizen, or [`Deny::NotLoggedIn`].
pub fn citizen(session: &Session) -> Result<Citizen, Deny> {
    session.citizen().ok_or(Deny::NotLoggedIn)
}

/// Decides whether the session (with `signature` from the link, if any) may see `receipt`.
pub fn receipt(
    db: &crate::store::Db,
    links: &Links,
    session: &Session,
    receipt: &ReceiptRecord,
    signature: Option<&str>,
    now: crate::clock::Now,
) -> Result<ReceiptGrant, Deny> {
    if let Some(sig) = signature
        && links.verify_receipt(receipt.id, sig, now)
    {
        return Ok(ReceiptGrant::SignedLink);
    }
    if let Some(c) = session.citizen() {
        let is_party = receipt.debtor.id.eq_ignore_ascii_case(&c.fiscal_code)
            || receipt.payer.as_ref().is_some_and(|p| p.id.eq_ignore_ascii_case(&c.fiscal_code));
        if is_party {
            return Ok(ReceiptGrant::Party);
        }
    }
    if let Some(debt_id) = receipt.debt_id
        && carts::session_paid(db, session.id_hash(), debt_id).unwrap_or(false)
    {
        return Ok(ReceiptGrant::PayingSession);
    }
    tracing::warn!(target: "security", receipt = receipt.id, "receipt access denied");
    Err(Deny::NotYours)
}
