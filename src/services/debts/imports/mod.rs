//! Debt-flow imports as a service: submit an upload, read import status and lists, find the
//! result files; [`run`] applies a file, [`jobs`] holds the job handler that runs imports in the
//! background, and [`notices`] makes their notices ZIP. The adapters (CLI, back-office upload page, SIL, API) call
//! these; the file formats are `flows::import`'s.
//!
//! [`submit`] streams the upload to `<data_dir>/imports/uploads/` under a random name (synced,
//! then renamed), refusing it past `import.max_upload_bytes`, then records the import
//! (`LOAD_IMPORT`) and its job in one transaction: once `submit` returns, the import will run even
//! if the process dies. File-level checks (name, IPA, version, ZIP, CSV) happen in the job, so
//! their outcome is recorded on the import with MyPay's code, as MyPay does.
//! **Invariant:** the uploaded name is never used as a path.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub mod jobs;
pub mod notices;
pub mod run;

use crate::clock::Now;
use crate::jobs::Job;
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::imports::{self, ImportRecord};
use crate::store::{Db, audit, operators, orgs};

/// The configured upload limit (`[import]`); the decompressed limit is the job's.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_upload_bytes: u64,
}

impl Limits {
    pub fn from_config(config: &crate::config::Config) -> Limits {
        Limits { max_upload_bytes: config.import.max_upload_bytes }
    }
}

/// Who uploads what, for which org.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub org_ipa: &'a str,
    /// The name as uploaded: `<IPA>-<IUF>-<version>.zip`.
    pub file_name: &'a str,
    /// The audit actor: `cli`, `operator:<username>`, `sil:<ipa>`.
    pub actor: &'a str,
    /// The operator whose debt-type enablement applies to the rows; `None` for an administrator
    /// (and for the SIL, like MyPay's `WS_USER`).
    pub operator: Option<&'a str>,
}

/// A submitted import and the job that will run it.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub import: ImportRecord,
    pub job_id: i64,
}

/// The result files of an import, as absolute paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultFiles {
    /// `<name>_SCARTI.zip`: rejected rows with codes; `None` when none was rejected.
    pub rejects: Option<PathBuf>,
    /// `<name>_IUV.zip`: loaded rows with their IUVs; `None` when none was loaded.
    pub iuvs: Option<PathBuf>,
}

/// Stores an upload and queues its import. `body` is read to its end (or to the limit).
pub fn submit(
    db: &Db,
    data_dir: &Path,
    limits: Limits,
    upload: &Upload<'_>,
    body: &mut dyn Read,
    now: Now,
) -> Result<Submitted, ServiceError> {
    let file_name = upload.file_name;
    check_file_name(file_name)?;
    let org = db
        .read(|conn| orgs::find_org_by_ipa(conn, upload.org_ipa))?
        .ok_or_else(|| ServiceError::NotFound(format!("org {}", upload.org_ipa)))?;
    // Before a byte of the file is stored: every way in (CLI, back office, REST, SIL) comes here.
    crate::services::admin::adhesion::require(db, &org, crate::domain::adhesion::Channel::DebtFlows)?;
    if let Some(username) = upload.operator {
        let op = db
            .read(|conn| operators::find_operator(conn, username))?
            .ok_or_else(|| ServiceError::NotFound(format!("operator {username}")))?;
        if !op.active || !(op.app_admin || op.roles.iter().any(|(ipa, _)| *ipa == org.ipa_code)) {
            return Err(ServiceError::invalid("operator", format!("{username} has no role in org {}", org.ipa_code)));
        }
    }

    let StoredUpload { rel: stored_rel, path: stored, size, sha256 } =
        store_upload(data_dir, "imports", body, limits.max_upload_bytes)?;

    let record = ImportRecord {
        org_id: org.id,
        org_ipa: org.ipa_code.clone(),
        file_name: file_name.to_owned(),
        uploader: upload.actor.to_owned(),
        operator: upload.operator.map(str::to_owned),
        stored_file: stored_rel,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        sha256,
        ..ImportRecord::default()
    };
    let res = db.write(|tx| {
        let id = imports::insert_import(tx, &record, &now.iso())?;
        let job_id = crate::jobs::enqueue(tx, &Job::Import { import_id: id }, now)?;
        let object = format!("import:{file_name}");
        let after = serde_json::json!({ "id": id, "size_bytes": size, "sha256": record.sha256 }).to_string();
        let entry = audit::AuditEntry {
            actor: upload.actor,
            org_id: Some(org.id),
            action: "import.submit",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &now.iso())?;
        let import = imports::find_import(tx, id)?.ok_or_else(|| ServiceError::NotFound(format!("import {id}")))?;
        Ok::<_, ServiceError>(Submitted { import, job_id })
    });
    if res.is_err() {
        let _ = std::fs::remove_file(&stored);
    }
    res
}

/// Refuses a name no upload may carry: empty, longer than 255 characters, with a path separator
/// or a control character (the name is shown and journalled, never used as a path).
pub(crate) fn check_file_name(file_name: &str) -> Result<(), ServiceError> {
    if file_name.is_empty()
        || file_name.chars().count() > 255
        || file_name.contains(['/', '\\'])
        || file_name.contains(char::is_control)
    {
        return Err(ServiceError::invalid("file", format!("{file_name:?} is not a file name")));
    }
    Ok(())
}

/// An upload's bytes as stored: `rel` to the data directory, its absolute `path`, size and SHA-256.
pub(crate) struct StoredUpload {
    pub rel: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// Stores `body` (at most `max_bytes`) durably as `<data_dir>/<area>/uploads/<random>.zip`: written
/// to a `.part`, renamed, its directory synced, so a stored upload is always whole.
pub(crate) fn store_upload(
    data_dir: &Path,
    area: &str,
    body: &mut dyn Read,
    max_bytes: u64,
) -> Result<StoredUpload, ServiceError> {
    let dir = data_dir.join(area).join("uploads");
    std::fs::create_dir_all(&dir).map_err(|err| io_error(&dir, &err))?;
    let mut token = [0u8; 16];
    getrandom::fill(&mut token).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    let rel = format!("{area}/uploads/{token}.zip");
    let path = data_dir.join(&rel);
    let partial = dir.join(format!("{token}.zip.part"));
    let (size, sha256) = match copy_limited(body, &partial, max_bytes) {
        Ok(done) => done,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    std::fs::rename(&partial, &path).map_err(|err| io_error(&path, &err))?;
    crate::flows::results::sync_dir(&dir).map_err(|err| io_error(&dir, &err))?;
    Ok(StoredUpload { rel, path, size, sha256 })
}

pub(crate) fn io_error(path: &Path, err: &std::io::Error) -> ServiceError {
    ServiceError::Internal(format!("cannot write {}: {err}", path.display()))
}

/// The start of the reason of an upload refused for its size.
const TOO_LARGE: &str = "larger than import.max_upload_bytes";
/// The start of the reason of an upload whose body could not be read to its end.
const CUT_OFF: &str = "cannot read the upload";

/// Why the upload itself (not its content) was refused, for an adapter that words it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadProblem {
    /// Over `import.max_upload_bytes`.
    TooLarge,
    /// The body ended or failed before its end.
    CutOff,
    /// The file's name.
    BadName,
}

/// The [`UploadProblem`] of an error [`submit`] returned, if it is one.
pub fn upload_problem(err: &ServiceError) -> Option<UploadProblem> {
    match err {
        ServiceError::Invalid { field, reason } if field == "file" => Some(if reason.starts_with(TOO_LARGE) {
            UploadProblem::TooLarge
        } else if reason.starts_with(CUT_OFF) {
            UploadProblem::CutOff
        } else {
            UploadProblem::BadName
        }),
        _ => None,
    }
}

/// Copies `body` to `path` (synced), refusing more than `limit` bytes; returns the size and SHA-256.
pub(crate) fn copy_limited(body: &mut dyn Read, path: &Path, limit: u64) -> Result<(u64, String), ServiceError> {
    let mut file = std::fs::File::create(path).map_err(|err| io_error(path, &err))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = body.read(&mut buf).map_err(|err| ServiceError::invalid("file", format!("{CUT_OFF}: {err}")))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limit {
            return Err(ServiceError::invalid("file", format!("{TOO_LARGE} ({limit} bytes)")));
        }
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        file.write_all(chunk).map_err(|err| io_error(path, &err))?;
    }
    file.sync_all().map_err(|err| io_error(path, &err))?;
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((size, digest))
}

/// The import `id` of org `ipa`.
pub fn get_import(db: &Db, ipa: &str, id: i64) -> Result<ImportRecord, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        imports::find_import(conn, id)?
            .filter(|i| i.org_id == org.id)
            .ok_or_else(|| ServiceError::NotFound(format!("import {id} of org {ipa}")))
    })
}

/// The imports of org `ipa`, newest first.
pub fn list_imports(db: &Db, ipa: &str, limit: u32, offset: u32) -> Result<Vec<ImportRecord>, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(imports::list_imports(conn, org.id, limit, offset)?)
    })
}

/// The imports of `access`'s org that it may see, newest first: every one for an admin, an
/// operator's own uploads otherwise (a flow's result files hold rows of every debt type in it).
pub fn list_visible_imports(
    db: &Db,
    access: &OrgAccess,
    limit: u32,
    offset: u32,
) -> Result<Vec<ImportRecord>, ServiceError> {
    if access.admin {
        return list_imports(db, &access.org.ipa_code, limit, offset);
    }
    let uploader = format!("operator:{}", access.username);
    Ok(db.read(|conn| imports::list_imports_of_uploader(conn, access.org.id, &uploader, limit, offset))?)
}

/// Import `id` of `access`'s org when it may see it (see [`list_visible_imports`]); anything else is
/// `NotFound`, so ids reveal nothing.
pub fn get_visible_import(db: &Db, access: &OrgAccess, id: i64) -> Result<ImportRecord, ServiceError> {
    let import = get_import(db, &access.org.ipa_code, id)?;
    if visible(access, &import) {
        Ok(import)
    } else {
        Err(ServiceError::NotFound(format!("import {id} of org {}", access.org.ipa_code)))
    }
}

fn visible(access: &OrgAccess, import: &ImportRecord) -> bool {
    access.admin || import.uploader == format!("operator:{}", access.username)
}

/// Where an import's result files are, when it has them.
pub fn result_files(data_dir: &Path, import: &ImportRecord) -> ResultFiles {
    ResultFiles {
        rejects: import.rejects_file.as_ref().map(|f| data_dir.join(f)),
        iuvs: import.iuv_file.as_ref().map(|f| data_dir.join(f)),
    }
}
