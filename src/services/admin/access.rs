//! What a back-office operator may reach: the orgs (an app admin every one, others those where they
//! hold a role) and, within an org, the debt types (an org admin or app admin all of them, an
//! operator only those enabled for them). Roles and enablements are read afresh on every request,
//! so a revoked right takes effect at once. A refusal is `ServiceError::Access`, its
//! [`AccessDenied`] saying why.

use crate::services::ServiceError;
use crate::store::operators::OperatorRecord;
use crate::store::orgs::OrgRecord;
use crate::store::{Db, debt_types, operators, orgs};

/// An operator's access to one org.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub username: String,
    pub org: OrgRecord,
    /// Org admin or app admin: every debt type, the org's settings and operators.
    pub admin: bool,
    /// App admin: every org, and the orgs' life cycle.
    pub app_admin: bool,
    /// Ids of the debt types the operator may see; `None`: every type of the org.
    pub allowed_types: Option<Vec<i64>>,
}

impl OrgAccess {
    /// Whether debts of the debt type with this id are visible.
    pub fn sees_type(&self, debt_type_id: i64) -> bool {
        self.allowed_types.as_ref().is_none_or(|ids| ids.contains(&debt_type_id))
    }

    /// The operator whose debt-type enablement filters imports and exports; `None` for an admin.
    pub fn enablement_operator(&self) -> Option<&str> {
        (!self.admin).then_some(self.username.as_str())
    }
}

/// Why an operator was refused: at login, or at an org they may not reach; reaches callers as
/// [`ServiceError::Access`]. The login page shows one message for every login refusal, so that a
/// visitor cannot tell which usernames exist.
#[derive(Debug, thiserror::Error)]
pub enum AccessDenied {
    /// At login: an unknown username or a wrong password.
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("account locked until {0}")]
    Locked(String),
    #[error("account disabled")]
    Disabled,
    /// Unknown or disabled operator: the session no longer stands for anyone.
    #[error("operator {0} is unknown or disabled")]
    NoOperator(String),
    /// The org does not exist, or the operator holds no role in it.
    #[error("operator {username} has no role in org {ipa}")]
    NotYours { username: String, ipa: String },
}

fn active_operator(conn: &crate::store::Conn, username: &str) -> Result<OperatorRecord, ServiceError> {
    operators::find_operator(conn, username)?
        .filter(|op| op.active)
        .ok_or_else(|| AccessDenied::NoOperator(username.to_owned()).into())
}

/// The operator's access to org `ipa`.
pub fn org_access(db: &Db, username: &str, ipa: &str) -> Result<OrgAccess, ServiceError> {
    db.read(|conn| {
        let op = active_operator(conn, username)?;
        let not_yours =
            || ServiceError::from(AccessDenied::NotYours { username: username.to_owned(), ipa: ipa.to_owned() });
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(not_yours)?;
        let role = op.roles.iter().find(|(o, _)| o.eq_ignore_ascii_case(&org.ipa_code)).map(|(_, r)| r.as_str());
        if !op.app_admin && role.is_none() {
            return Err(not_yours());
        }
        let admin = op.app_admin || role == Some("admin");
        let allowed_types = if admin {
            None
        } else {
            let enabled: Vec<&str> = op
                .debt_types
                .iter()
                .filter(|(o, _)| o.eq_ignore_ascii_case(&org.ipa_code))
                .map(|(_, code)| code.as_str())
                .collect();
            let types = debt_types::list_debt_types(conn, org.id)?;
            Some(types.iter().filter(|t| enabled.contains(&t.code.as_str())).map(|t| t.id).collect())
        };
        Ok(OrgAccess { username: op.username, org, admin, app_admin: op.app_admin, allowed_types })
    })
}

/// The orgs the operator may open, by IPA code; all of them for an app admin.
pub fn operator_orgs(db: &Db, username: &str) -> Result<(OperatorRecord, Vec<OrgRecord>), ServiceError> {
    db.read(|conn| {
        let op = active_operator(conn, username)?;
        let all = orgs::list_orgs(conn)?;
        let mine = all
            .into_iter()
            .filter(|o| op.app_admin || op.roles.iter().any(|(ipa, _)| ipa.eq_ignore_ascii_case(&o.ipa_code)))
            .collect();
        Ok((op, mine))
    })
}
