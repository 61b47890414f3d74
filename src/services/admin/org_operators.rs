//! An org admin's management of the org's operators from the back office: who may manage whom,
//! adding an operator with a generated password (shown once), setting their role and debt-type
//! enablement in one change, resetting a password, and an operator changing their own.
//!
//! **Invariant:** an org admin manages only operators whose every role is in their own org and who
//! are not app admins, so no org admin can take over an account that reaches another org.

use super::access::OrgAccess;
use super::operators::{self, NewOperator, Role};
use super::passwords;
use crate::clock::Now;
use crate::services::{Change, ServiceError, journal_change};
use crate::store::operators::OperatorRecord;
use crate::store::{Db, debt_types};

/// Length of generated passwords.
const GENERATED_LEN: usize = 16;

/// Whether `access` may manage `target`.
pub fn may_manage(access: &OrgAccess, target: &OperatorRecord) -> bool {
    if access.app_admin {
        return true;
    }
    let in_org = |ipa: &String| ipa.eq_ignore_ascii_case(&access.org.ipa_code);
    access.admin
        && !target.app_admin
        && target.roles.iter().any(|(ipa, _)| in_org(ipa))
        && target.roles.iter().all(|(ipa, _)| in_org(ipa))
        && target.debt_types.iter().all(|(ipa, _)| in_org(ipa))
}

/// The org's operator `username`, if `access` may manage them; `NotFound` otherwise, so other
/// orgs' usernames cannot be probed.
fn managed(db: &Db, access: &OrgAccess, username: &str) -> Result<OperatorRecord, ServiceError> {
    let op = db.read(|c| crate::store::operators::find_operator(c, username))?;
    op.filter(|op| may_manage(access, op))
        .ok_or_else(|| ServiceError::NotFound(format!("operator {username} in org {}", access.org.ipa_code)))
}

/// Adds an operator (role `operator` or `admin`) to the org with a generated password, returned
/// once.
pub fn add(
    db: &Db,
    access: &OrgAccess,
    username: &str,
    full_name: Option<&str>,
    email: Option<&str>,
    role: Role,
    now: Now,
) -> Result<(OperatorRecord, String), ServiceError> {
    if !access.admin || role == Role::AppAdmin {
        return Err(ServiceError::Conflict("only operator and admin roles can be given here".to_owned()));
    }
    let password = passwords::random_password(GENERATED_LEN)?;
    let actor = format!("operator:{}", access.username);
    let new =
        NewOperator { username, password: &password, role, org_ipa: Some(&access.org.ipa_code), full_name, email };
    let op = operators::add_operator(db, &actor, &new, now)?;
    Ok((op, password))
}

/// Sets the operator's role in the org and the exact set of debt types (codes) they are enabled
/// on, in one transaction with its journal entry.
pub fn set_grants(
    db: &Db,
    access: &OrgAccess,
    username: &str,
    role: Role,
    codes: &[String],
    now: Now,
) -> Result<OperatorRecord, ServiceError> {
    if role == Role::AppAdmin {
        return Err(ServiceError::invalid("role", "app admins are named on the command line"));
    }
    let before = managed(db, access, username)?;
    if before.username.eq_ignore_ascii_case(&access.username) && role != Role::OrgAdmin && !access.app_admin {
        return Err(ServiceError::Conflict("an admin cannot take away their own admin role".to_owned()));
    }
    let org = &access.org;
    db.write(|tx| {
        let types = debt_types::list_debt_types(tx, org.id)?;
        if let Some(code) = codes.iter().find(|c| !types.iter().any(|t| &t.code == *c)) {
            return Err(ServiceError::invalid("debt_type", format!("{code} is not a debt type of {}", org.ipa_code)));
        }
        let role_code = if role == Role::OrgAdmin { "admin" } else { "operator" };
        crate::store::operators::upsert_role(tx, before.id, org.id, role_code)?;
        for t in &types {
            if codes.contains(&t.code) {
                crate::store::operators::insert_enablement(tx, before.id, t.id)?;
            } else {
                crate::store::operators::delete_enablement(tx, before.id, t.id)?;
            }
        }
        let after = crate::store::operators::find_operator(tx, &before.username)?
            .ok_or_else(|| ServiceError::NotFound(format!("operator {}", before.username)))?;
        let json =
            |op: &OperatorRecord| serde_json::json!({ "roles": op.roles, "debt_types": op.debt_types }).to_string();
        let (b, a) = (json(&before), json(&after));
        let object = format!("operator:{}", before.username);
        let actor = format!("operator:{}", access.username);
        let change = Change {
            actor: &actor,
            org_id: Some(org.id),
            action: "operator.grant",
            object: &object,
            before: Some(&b),
            after: Some(&a),
        };
        journal_change(tx, &change, now)?;
        Ok(after)
    })
}

/// Gives the operator a new generated password (shown once) and clears any lockout.
pub fn reset_password(db: &Db, access: &OrgAccess, username: &str, now: Now) -> Result<String, ServiceError> {
    let op = managed(db, access, username)?;
    let password = passwords::random_password(GENERATED_LEN)?;
    operators::set_password(db, &format!("operator:{}", access.username), &op.username, &password, now)?;
    Ok(password)
}

/// An operator changes their own password, proving the current one.
pub fn change_own_password(db: &Db, username: &str, current: &str, new: &str, now: Now) -> Result<(), ServiceError> {
    match operators::authenticate(db, username, current, now) {
        Ok(_) => {}
        Err(ServiceError::Access(_)) => {
            return Err(ServiceError::invalid("current_password", "is not the current password"));
        }
        Err(err) => return Err(err),
    }
    operators::set_password(db, &format!("operator:{username}"), username, new, now)
}
