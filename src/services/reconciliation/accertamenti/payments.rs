//! What the back office needs of accertamenti beyond the CLI's one-at-a-time calls: the payments
//! an accertamento may still take (MyPivot's `get_pagamenti_inseribili_in_accertamento`: filtered,
//! by bounded pages), several of them booked in one transaction, the totals of every header, and a
//! registry file received as an upload (copied, within its budget, to a private temporary file).
//!
//! Rules (mypivot.md §5.1): the insertable payments are the org's own transfers of paying receipts
//! of the accertamento's debt type whose debt has no `bilancio` and that no accertamento, but an
//! ANNULLATO one, books; the booking's own checks are [`super::assign`]'s, made for each payment
//! inside one transaction, so a refused payment books none of the others.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::{RegistryImport, RegistryImportError, assign_in, find_visible, import_registry};
use crate::clock::Now;
use crate::domain::Day;
use crate::domain::reconciliation::accertamento::AccertamentoState;
use crate::services::admin::access::OrgAccess;
use crate::services::{ServiceError, check_len};
use crate::store::Db;
use crate::store::accertamenti::{
    self as store, BookingTarget, DetailTotals, InsertableFilter, InsertablePayment, TransferKey,
};

/// Payments per page of the insertable list.
pub const PAGE_SIZE: u32 = 50;
/// The last page one may ask for: a longer list is narrowed with the filters.
pub const MAX_PAGE: u32 = 200;
/// The most payments one booking request may name.
pub const MAX_BOOKINGS: usize = 200;
/// The largest registry upload (the ZIP): a registry of thousands of lines compresses well under it.
pub const REGISTRY_UPLOAD_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// The longest IUD, IUV or fiscal code a filter accepts.
const FILTER_MAX_CHARS: usize = 35;

/// One page of insertable payments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InsertablePage {
    pub payments: Vec<InsertablePayment>,
    /// Whether a next page exists.
    pub more: bool,
}

/// The filters as an operator typed them: blank ones filter nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput<'a> {
    pub iud: &'a str,
    pub iuv: &'a str,
    pub fiscal_code: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// Checks and normalizes the typed filters (fiscal codes in capitals, days as `YYYY-MM-DD`).
pub fn filter_of(input: &FilterInput<'_>) -> Result<InsertableFilter, ServiceError> {
    let text = |field: &str, value: &str| -> Result<Option<String>, ServiceError> {
        let value = value.trim();
        check_len(field, value, FILTER_MAX_CHARS)?;
        Ok((!value.is_empty()).then(|| value.to_owned()))
    };
    let day = |field: &str, value: &str| -> Result<Option<Day>, ServiceError> {
        match value.trim() {
            "" => Ok(None),
            value => Day::parse(value).map(Some).map_err(|_| ServiceError::invalid(field, "not a YYYY-MM-DD day")),
        }
    };
    let filter = InsertableFilter {
        iud: text("iud", input.iud)?,
        iuv: text("iuv", input.iuv)?,
        fiscal_code: text("fiscal_code", input.fiscal_code)?.map(|code| code.to_uppercase()),
        from: day("from", input.from)?,
        to: day("to", input.to)?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ServiceError::invalid("to", "before from"));
    }
    Ok(filter)
}

/// Page `page` (from 1, at most [`MAX_PAGE`]) of the payments accertamento `id` may take.
pub fn insertable(
    db: &Db,
    access: &OrgAccess,
    id: i64,
    filter: &InsertableFilter,
    page: u32,
) -> Result<InsertablePage, ServiceError> {
    let page = page.clamp(1, MAX_PAGE);
    db.read(|conn| {
        let header = find_visible(conn, access, id)?;
        let offset = (page - 1) * PAGE_SIZE;
        let mut payments = store::insertable_payments(
            conn,
            access.org.id,
            &access.org.fiscal_code,
            &header.debt_type_code,
            filter,
            PAGE_SIZE + 1,
            offset,
        )?;
        let more = payments.len() > PAGE_SIZE as usize;
        payments.truncate(PAGE_SIZE as usize);
        Ok(InsertablePage { payments, more })
    })
}

/// Books every payment of `keys` (whole) to `target` in accertamento `id`, each with its journal
/// entry, all or none; returns how many.
pub fn assign_all(
    db: &Db,
    access: &OrgAccess,
    id: i64,
    keys: &[TransferKey],
    target: &BookingTarget,
    now: Now,
) -> Result<usize, ServiceError> {
    if keys.is_empty() {
        return Err(ServiceError::invalid("payments", "none chosen"));
    }
    if keys.len() > MAX_BOOKINGS {
        return Err(ServiceError::invalid("payments", format!("more than {MAX_BOOKINGS}")));
    }
    db.write(|tx| {
        for key in keys {
            assign_in(tx, access, id, key, target, now)?;
        }
        Ok(keys.len())
    })
}

/// The totals of the org's accertamenti that have details, by id.
pub fn totals(db: &Db, access: &OrgAccess) -> Result<HashMap<i64, DetailTotals>, ServiceError> {
    Ok(db.read(|conn| store::detail_totals(conn, access.org.id))?)
}

/// Whether accertamento `state` still takes payments.
pub fn takes_payments(state: AccertamentoState) -> bool {
    state == AccertamentoState::Inserito
}

/// Why an uploaded registry was refused before its lines were read.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is larger than {REGISTRY_UPLOAD_MAX_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Import(#[from] RegistryImportError),
}

/// Imports a registry received as `data`, named `file_name`: copied (at most
/// [`REGISTRY_UPLOAD_MAX_BYTES`]) to a file of its own in `tmp_dir`, read, then removed.
pub fn import_upload(
    db: &Db,
    access: &OrgAccess,
    tmp_dir: &Path,
    file_name: &str,
    data: &mut dyn Read,
    now: Now,
) -> Result<RegistryImport, UploadError> {
    let internal = |what: &str, err: std::io::Error| {
        UploadError::Import(RegistryImportError::Service(ServiceError::Internal(format!("{what}: {err}"))))
    };
    std::fs::create_dir_all(tmp_dir).map_err(|err| internal("cannot make the temporary folder", err))?;
    let random = crate::services::ids::random_hex(12).map_err(|err| UploadError::Import(err.into()))?;
    let path = tmp_dir.join(format!("registry-{random}.zip"));
    let copied = copy_limited(data, &path);
    let result = match copied {
        Ok(true) => import_registry(db, access, &path, file_name, now).map_err(UploadError::Import),
        Ok(false) => Err(UploadError::TooLarge),
        Err(err) => Err(internal("cannot store the upload", err)),
    };
    if let Err(err) = std::fs::remove_file(&path) {
        tracing::warn!(error = %err, path = %path.display(), "cannot remove a registry upload");
    }
    result
}

/// Copies `data` into a new file at `path` (owner only); false when it exceeds the budget.
fn copy_limited(data: &mut dyn Read, path: &Path) -> std::io::Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let copied = std::io::copy(&mut data.take(REGISTRY_UPLOAD_MAX_BYTES + 1), &mut file)?;
    Ok(copied <= REGISTRY_UPLOAD_MAX_BYTES)
}
