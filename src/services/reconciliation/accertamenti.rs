//! Accertamenti: the org's registry of offices, chapters and assessments (one by one or by
//! MyPivot's bulk import), accertamento headers and their details, each booking one receipt
//! transfer to an office/chapter/assessment of the registry.
//!
//! Rules (mypivot.md §5.1): a registry import is all or nothing: the first refused line rolls
//! the file back and is named as MyPivot names it ("Errore di conversione alla linea N: …"); an I
//! of an existing entry, a D of a missing one, a name that differs from the one registered for
//! the same code, a debt type the org lacks or the operator may not see, are refused lines. A
//! header is made INSERITO and changes once, to CHIUSO (with at least one detail) or ANNULLATO. A
//! transfer is booked whole (its amount), only to an INSERITO accertamento of its debt type,
//! only to an active registry entry of that type, never when its debt carries a `bilancio` (that
//! splits it already), and never twice outside ANNULLATO accertamenti. Every change is journalled
//! with it.

use std::path::Path;

use serde_json::json;

use crate::clock::Now;
use crate::domain::reconciliation::accertamento::{AccertamentoState, LineProblem, NO_ACCERTAMENTO, RegistryAction};
use crate::flows::accertamenti_registry::{self, LineError, RegistryFileError, RegistryLine};
use crate::services::admin::access::OrgAccess;
use crate::services::{Change, ServiceError, check_len, journal_change};
use crate::store::accertamenti::{
    self as store, AccertamentoRecord, BookingTarget, DetailRecord, NewDetail, RegistryRecord, TransferKey,
};
use crate::store::{Conn, Db, StoreError, debt_types};

/// How many entries or headers a list shows at most.
pub const LIST_LIMIT: u32 = 5_000;
/// The longest accertamento name (`de_nome_accertamento`).
pub const NAME_MAX_CHARS: usize = 255;

/// The installation's own access to org `ipa` (the CLI without `--operator`): every debt type,
/// journalled as `cli`. Its username is empty, which no operator's is.
pub fn installation_access(db: &Db, ipa: &str) -> Result<OrgAccess, ServiceError> {
    let org = db
        .read(|conn| crate::store::orgs::find_org_by_ipa(conn, ipa))?
        .ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
    Ok(OrgAccess { username: String::new(), org, admin: true, app_admin: true, allowed_types: None })
}

/// Who the journal names: the operator, or `cli` for [`installation_access`].
pub(super) fn actor_of(access: &OrgAccess) -> String {
    if access.username.is_empty() { "cli".to_owned() } else { format!("operator:{}", access.username) }
}

/// Why a registry import was refused; nothing of the file is kept.
#[derive(Debug, thiserror::Error)]
pub enum RegistryImportError {
    /// The file: its name, its ZIP, its text, or a line it cannot read (MyPivot's message).
    #[error(transparent)]
    File(#[from] RegistryFileError),
    /// A line the registry refuses (MyPivot's message).
    #[error(transparent)]
    Line(#[from] LineError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for RegistryImportError {
    fn from(error: StoreError) -> RegistryImportError {
        RegistryImportError::Service(error.into())
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegistryImport {
    pub inserted: usize,
    pub deleted: usize,
}

/// Imports the registry file at `path`, uploaded as `file_name` (`<IPA>-<NAME>-1_0.zip`).
pub fn import_registry(
    db: &Db,
    access: &OrgAccess,
    path: &Path,
    file_name: &str,
    now: Now,
) -> Result<RegistryImport, RegistryImportError> {
    let lines = accertamenti_registry::read_lines(path, file_name, &access.org.ipa_code)?;
    let actor = actor_of(access);
    db.write(|tx| {
        let mut done = RegistryImport::default();
        for line in &lines {
            match apply_line(tx, access, line, &now.iso())? {
                Ok(Applied::Inserted) => done.inserted += 1,
                Ok(Applied::Deleted) => done.deleted += 1,
                Err(problem) => return Err(LineError { line: line.line, problem }.into()),
            }
        }
        let after = json!({ "file": file_name, "inserted": done.inserted, "deleted": done.deleted }).to_string();
        let change = Change {
            actor: &actor,
            org_id: Some(access.org.id),
            action: "accertamenti.registry_import",
            object: "accertamento_registry",
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        Ok::<_, RegistryImportError>(done)
    })
}

/// What a line did.
enum Applied {
    Inserted,
    Deleted,
}

/// One line: what it did, or why the registry refuses it. The store's own failures abort the
/// import as they are.
fn apply_line(
    tx: &Conn,
    access: &OrgAccess,
    line: &RegistryLine,
    now: &str,
) -> Result<Result<Applied, LineProblem>, StoreError> {
    let entry = &line.entry;
    let debt_type = debt_types::find_debt_type(tx, access.org.id, &entry.debt_type_code)?;
    if !debt_type.is_some_and(|t| access.sees_type(t.id)) {
        return Ok(Err(LineProblem::DebtType(entry.debt_type_code.clone())));
    }
    let existing = store::find_registry_id(tx, access.org.id, entry)?;
    Ok(match (line.action, existing) {
        (RegistryAction::Insert, Some(_)) => Err(LineProblem::Exists),
        (RegistryAction::Delete, None) => Err(LineProblem::Missing),
        (RegistryAction::Delete, Some(id)) => {
            store::delete_registry_entry(tx, id)?;
            Ok(Applied::Deleted)
        }
        (RegistryAction::Insert, None) => {
            let known = store::known_names(tx, access.org.id, entry)?;
            let differs = |known: Option<&str>, new: &str| known.is_some_and(|k| k != new);
            let no_code = entry.accertamento_code == NO_ACCERTAMENTO;
            if differs(known.office.as_deref(), &entry.office_name) {
                Err(LineProblem::Description { field: "cod_ufficio", code: entry.office_code.clone() })
            } else if differs(known.chapter.as_deref(), &entry.chapter_name) {
                Err(LineProblem::Description { field: "cod_capitolo", code: entry.chapter_code.clone() })
            } else if !no_code && known.accertamento.as_ref().is_some_and(|name| *name != entry.accertamento_name) {
                Err(LineProblem::Description { field: "cod_accertamento", code: entry.accertamento_code.clone() })
            } else {
                store::insert_registry_entry(tx, access.org.id, entry, now)?;
                Ok(Applied::Inserted)
            }
        }
    })
}

/// The org's registry.
pub fn registry(db: &Db, access: &OrgAccess) -> Result<Vec<RegistryRecord>, ServiceError> {
    Ok(db.read(|conn| store::list_registry(conn, access.org.id, LIST_LIMIT))?)
}

/// A new accertamento of debt type `debt_type_code`, INSERITO.
pub fn create(
    db: &Db,
    access: &OrgAccess,
    debt_type_code: &str,
    name: &str,
    now: Now,
) -> Result<AccertamentoRecord, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("nome", "required"));
    }
    check_len("nome", name, NAME_MAX_CHARS)?;
    let actor = actor_of(access);
    db.write(|tx| {
        let debt_type = debt_types::find_debt_type(tx, access.org.id, debt_type_code)?
            .filter(|t| access.sees_type(t.id))
            .ok_or_else(|| ServiceError::NotFound(format!("debt type {debt_type_code}")))?;
        let id = store::insert_accertamento(tx, access.org.id, &debt_type.code, name, &actor, &now.iso())?;
        let object = format!("accertamento:{id}");
        let after = json!({ "debt_type": debt_type.code, "name": name, "state": "INSERITO" }).to_string();
        let change = Change {
            actor: &actor,
            org_id: Some(access.org.id),
            action: "accertamento.create",
            object: &object,
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        store::find_accertamento(tx, access.org.id, id)?.ok_or_else(|| ServiceError::Internal("lost".to_owned()))
    })
}

/// The org's accertamenti, newest first, those of debt types the operator sees.
pub fn list(db: &Db, access: &OrgAccess) -> Result<Vec<AccertamentoRecord>, ServiceError> {
    db.read(|conn| {
        let all = store::list_accertamenti(conn, access.org.id, LIST_LIMIT)?;
        let mut seen = Vec::with_capacity(all.len());
        for record in all {
            if visible(conn, access, &record.debt_type_code)? {
                seen.push(record);
            }
        }
        Ok(seen)
    })
}

/// Accertamento `id` with its details.
pub fn get(db: &Db, access: &OrgAccess, id: i64) -> Result<(AccertamentoRecord, Vec<DetailRecord>), ServiceError> {
    db.read(|conn| {
        let record = find_visible(conn, access, id)?;
        let details = store::list_details(conn, id)?;
        Ok((record, details))
    })
}

fn visible(conn: &Conn, access: &OrgAccess, debt_type_code: &str) -> Result<bool, ServiceError> {
    Ok(debt_types::find_debt_type(conn, access.org.id, debt_type_code)?.is_some_and(|t| access.sees_type(t.id)))
}

fn find_visible(conn: &Conn, access: &OrgAccess, id: i64) -> Result<AccertamentoRecord, ServiceError> {
    let record = store::find_accertamento(conn, access.org.id, id)?;
    match record {
        Some(record) if visible(conn, access, &record.debt_type_code)? => Ok(record),
        _ => Err(ServiceError::NotFound(format!("accertamento {id}"))),
    }
}

/// Books transfer `key` (whole) to `target` in accertamento `id`.
pub fn assign(
    db: &Db,
    access: &OrgAccess,
    id: i64,
    key: &TransferKey,
    target: &BookingTarget,
    now: Now,
) -> Result<DetailRecord, ServiceError> {
    db.write(|tx| {
        let detail_id = assign_in(tx, access, id, key, target, now)?;
        let details = store::list_details(tx, id)?;
        details.into_iter().find(|d| d.id == detail_id).ok_or_else(|| ServiceError::Internal("lost".to_owned()))
    })
}

/// [`assign`] inside the caller's transaction, with its journal entry; returns the detail's id.
fn assign_in(
    tx: &Conn,
    access: &OrgAccess,
    id: i64,
    key: &TransferKey,
    target: &BookingTarget,
    now: Now,
) -> Result<i64, ServiceError> {
    let actor = actor_of(access);
    let header = find_visible(tx, access, id)?;
    if header.state != AccertamentoState::Inserito {
        return Err(ServiceError::Conflict(format!("accertamento {id} is {}", header.state.code())));
    }
    let payment = format!("IUV {} IUR {} transfer {}", key.iuv, key.iur, key.transfer_index);
    let transfer = store::find_bookable_transfer(tx, access.org.id, &access.org.fiscal_code, key)?
        .ok_or_else(|| ServiceError::NotFound(format!("paid transfer {payment}")))?;
    if transfer.debt_type_code.as_deref() != Some(header.debt_type_code.as_str()) {
        return Err(ServiceError::Conflict(format!(
            "{payment} is not a payment of debt type {}",
            header.debt_type_code
        )));
    }
    if transfer.bilancio.is_some() {
        return Err(ServiceError::Conflict(format!("{payment} carries a bilancio, which books it already")));
    }
    if let Some(other) = store::find_booking(tx, access.org.id, key)? {
        return Err(ServiceError::Conflict(format!("{payment} is already booked in accertamento {other}")));
    }
    if store::find_registry_target(tx, access.org.id, &header.debt_type_code, target)?.is_none() {
        return Err(ServiceError::NotFound(format!(
            "active registry entry {}/{}/{} for debt type {}",
            target.office_code, target.chapter_code, target.accertamento_code, header.debt_type_code
        )));
    }
    let new = NewDetail {
        accertamento: &header,
        iud: transfer.iud.as_deref(),
        key,
        target,
        amount: transfer.amount,
        actor: &actor,
    };
    let detail_id = store::insert_detail(tx, &new, &now.iso())?;
    let object = format!("accertamento:{id}");
    let after = json!({ "detail": detail_id, "iuv": key.iuv, "iur": key.iur, "transfer_index": key.transfer_index,
        "office": target.office_code, "chapter": target.chapter_code, "accertamento": target.accertamento_code,
        "amount": transfer.amount.to_decimal_string() })
    .to_string();
    let change = Change {
        actor: &actor,
        org_id: Some(access.org.id),
        action: "accertamento.assign",
        object: &object,
        before: None,
        after: Some(&after),
    };
    journal_change(tx, &change, now)?;
    Ok(detail_id)
}

/// Moves accertamento `id` to `to` (CHIUSO or ANNULLATO).
pub fn change_state(
    db: &Db,
    access: &OrgAccess,
    id: i64,
    to: AccertamentoState,
    now: Now,
) -> Result<AccertamentoRecord, ServiceError> {
    let actor = actor_of(access);
    db.write(|tx| {
        let header = find_visible(tx, access, id)?;
        if !header.state.may_become(to) {
            return Err(ServiceError::Conflict(format!(
                "accertamento {id} is {} and cannot become {}",
                header.state.code(),
                to.code()
            )));
        }
        if to == AccertamentoState::Chiuso && store::count_details(tx, id)? == 0 {
            return Err(ServiceError::Conflict(format!("accertamento {id} has no payment to close with")));
        }
        if !store::update_state(tx, id, header.state, to, &now.iso())? {
            return Err(ServiceError::Conflict(format!("accertamento {id} changed meanwhile")));
        }
        let object = format!("accertamento:{id}");
        let before = json!({ "state": header.state.code() }).to_string();
        let after = json!({ "state": to.code() }).to_string();
        let change = Change {
            actor: &actor,
            org_id: Some(access.org.id),
            action: "accertamento.state",
            object: &object,
            before: Some(&before),
            after: Some(&after),
        };
        journal_change(tx, &change, now)?;
        store::find_accertamento(tx, access.org.id, id)?
            .ok_or_else(|| ServiceError::NotFound(format!("accertamento {id}")))
    })
}

pub mod auto;
pub mod payments;

#[cfg(test)]
mod tests;
