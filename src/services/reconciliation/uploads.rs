//! The durable path of an uploaded reconciliation file (T, C, O, Y, P, D), the same for every
//! channel: [`submit`] stores the ZIP under a random name and records the upload with its job in
//! one transaction; [`ReconImportJob`] refuses a name already loaded (FILE_DUPLICATO), reads the
//! file once without storing (a file the reader refuses is refused whole: ERROR_LOAD, nothing
//! stored), then again, storing its items in chunks, each committed with the job's cursor (a stopped
//! load resumes after its last chunk), writes the refused rows to `<id>_SCARTI.zip` (holding
//! `<uploaded name>.csv`, MyPivot's `;` rows: raw fields then errorMessage; [`rejects_download`]
//! names it for every channel), and classifies what the file changed. [`set_poste_flow`] is the
//! operator's later step for a legacy Poste upload (P): its flow's IUF.
//! Reconciliation is open to every adhesion mode: it reads the org's own books and what mypay
//! already holds, and sends nothing to pagoPA or to the org's systems.
//! **Invariant:** the uploaded name is never used as a path.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::loader::Loader;
use crate::clock::Now;
use crate::domain::reconciliation::Source;
use crate::flows::recon::{self, CashColumns, Item, OrgRef, ReadError, RejectedRow};
use crate::jobs::{self, Handler, Job, JobCtx, JobError, Progress, Step};
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::services::debts::imports::{StoredUpload, check_file_name, store_upload};
use crate::store::reconciliation::{self as rs, UploadCounts, UploadRecord, UploadState};
use crate::store::{Conn, Db, StoreError, audit, orgs};

/// Items stored per transaction.
const CHUNK: usize = 500;

/// MyPivot's refusal of a name already loaded for the org (mypivot.md §1.0).
pub const DUPLICATE: &str = "Un file con lo stesso nome è già stato caricato per questo ente";

/// Who uploads what, for which org.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub org_ipa: &'a str,
    /// The name as uploaded (`<IPA>-<id>-1_0.zip`).
    pub file_name: &'a str,
    /// The source; guessed from the name when `None` ([`guess_kind`]).
    pub kind: Option<Source>,
    /// C only: the columns of the 7 fields; MyPivot's default otherwise.
    pub columns: Option<CashColumns>,
    /// The audit actor: `cli`, `operator:<username>`, `sil:<ipa>`.
    pub actor: &'a str,
}

/// A submitted upload and the job that loads it.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub upload: UploadRecord,
    pub job_id: i64,
}

/// The source a file's name says, by the id part of MyPivot's names (`c_x999-GDC20240520-1_0.zip`:
/// GDC is a giornale di cassa CSV): OPI, GDC/CASSA, MOVCC/MOV, ECPOSTE/ESTRATTO, RENDPOSTE, NOTIF/PAGATI.
pub fn guess_kind(file_name: &str) -> Option<Source> {
    let id = file_name.split('-').nth(1)?.to_uppercase();
    const PREFIXES: [(&str, Source); 9] = [
        ("OPI", Source::Opi),
        ("GDC", Source::CashJournal),
        ("CASSA", Source::CashJournal),
        ("MOV", Source::BankMovements),
        ("ECPOSTE", Source::PosteStatement),
        ("ESTRATTO", Source::PosteStatement),
        ("RENDPOSTE", Source::PosteReporting),
        ("NOTIF", Source::Notification),
        ("PAGATI", Source::Notification),
    ];
    PREFIXES.into_iter().find(|(prefix, _)| id.starts_with(prefix)).map(|(_, source)| source)
}

/// Stores an upload and queues its load. `body` is read to its end (or to `max_bytes`).
pub fn submit(
    db: &Db,
    data_dir: &Path,
    max_bytes: u64,
    upload: &Upload<'_>,
    body: &mut dyn Read,
    now: Now,
) -> Result<Submitted, ServiceError> {
    let file_name = upload.file_name;
    check_file_name(file_name)?;
    if !file_name.to_lowercase().ends_with(".zip") {
        return Err(ServiceError::invalid(
            "file",
            format!("{file_name}: the file must be a ZIP (Il formato del file deve essere lo zip.)"),
        ));
    }
    let source = match upload.kind {
        Some(source) => source,
        None => guess_kind(file_name).ok_or_else(|| {
            ServiceError::invalid(
                "kind",
                format!("cannot tell the kind of {file_name} from its name: give it (C, O, T, Y, P or D)"),
            )
        })?,
    };
    if !source.uploaded() {
        return Err(ServiceError::invalid(
            "kind",
            format!("{} is not uploaded: receipts and reporting flows come from mypay's own store", source.code()),
        ));
    }
    if upload.columns.is_some() && source != Source::CashJournal {
        return Err(ServiceError::invalid("columns", "column positions are for a giornale di cassa CSV (C) only"));
    }
    let columns = upload.columns.map(|c| c.positions.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    let org = db
        .read(|conn| orgs::find_org_by_ipa(conn, upload.org_ipa))?
        .ok_or_else(|| ServiceError::NotFound(format!("org {}", upload.org_ipa)))?;

    let StoredUpload { rel: stored_rel, path: stored, size, sha256 } =
        store_upload(data_dir, "reconciliation", body, max_bytes)?;

    let record = UploadRecord {
        org_id: org.id,
        kind: source.code().to_string(),
        file_name: file_name.to_owned(),
        stored_file: stored_rel,
        size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
        sha256,
        columns,
        uploader: upload.actor.to_owned(),
        ..UploadRecord::default()
    };
    let res = db.write(|tx| {
        let id = rs::insert_upload(tx, &record, &now.iso())?;
        let job_id = jobs::enqueue(tx, &Job::ReconImport { upload_id: id }, now)?;
        let object = format!("recon_upload:{file_name}");
        let after = serde_json::json!({ "id": id, "kind": record.kind, "size_bytes": size, "sha256": record.sha256 })
            .to_string();
        audit::insert_audit(
            tx,
            &audit::AuditEntry {
                actor: upload.actor,
                org_id: Some(org.id),
                action: "reconciliation.upload",
                object: Some(&object),
                outcome: "OK",
                after_json: Some(&after),
                ..Default::default()
            },
            &now.iso(),
        )?;
        let upload = rs::find_upload(tx, id)?.ok_or_else(|| ServiceError::NotFound(format!("upload {id}")))?;
        Ok::<_, ServiceError>(Submitted { upload, job_id })
    });
    if res.is_err() {
        let _ = std::fs::remove_file(&stored);
    }
    res
}

/// Upload `id` of org `ipa`.
pub fn get_upload(db: &Db, ipa: &str, id: i64) -> Result<UploadRecord, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        rs::find_upload(conn, id)?
            .filter(|u| u.org_id == org.id)
            .ok_or_else(|| ServiceError::NotFound(format!("upload {id} of org {ipa}")))
    })
}

/// The org's uploads, newest first.
pub fn list_uploads(db: &Db, ipa: &str, limit: u32) -> Result<Vec<UploadRecord>, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(rs::list_uploads(conn, org.id, limit)?)
    })
}

/// The uploads of `access`'s org that it may see, newest first: every one for an admin, an
/// operator's own otherwise (a notifications file and its rejected rows name payers of every debt
/// type), as for debt flows.
pub fn list_visible_uploads(db: &Db, access: &OrgAccess, limit: u32) -> Result<Vec<UploadRecord>, ServiceError> {
    if access.admin {
        return list_uploads(db, &access.org.ipa_code, limit);
    }
    let uploader = format!("operator:{}", access.username);
    Ok(db.read(|conn| rs::list_uploads_of_uploader(conn, access.org.id, &uploader, limit))?)
}

/// Upload `id` of `access`'s org when it may see it (see [`list_visible_uploads`]); anything else
/// is `NotFound`, so ids reveal nothing.
pub fn get_visible_upload(db: &Db, access: &OrgAccess, id: i64) -> Result<UploadRecord, ServiceError> {
    let upload = get_upload(db, &access.org.ipa_code, id)?;
    if access.admin || upload.uploader == format!("operator:{}", access.username) {
        Ok(upload)
    } else {
        Err(ServiceError::NotFound(format!("upload {id} of org {}", access.org.ipa_code)))
    }
}

/// Loads `Job::ReconImport`.
pub struct ReconImportJob {
    pub data_dir: PathBuf,
}

/// Why a load stopped inside the reader's sink.
enum Stop {
    Interrupted,
    Failed(String),
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Stop {
        Stop::Failed(err.to_string())
    }
}

impl Handler for ReconImportJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::ReconImport { upload_id } = job else {
            return Err(JobError::Failed(format!("not a reconciliation upload job: {job:?}")));
        };
        match self.load(ctx, *upload_id) {
            Ok(()) => Ok(Step::Done),
            Err(Stop::Interrupted) => Err(JobError::Interrupted),
            Err(Stop::Failed(err)) => Err(JobError::Failed(err)),
        }
    }

    fn given_up(&self, tx: &Conn, job: &Job, reason: &str, now: Now) -> Result<(), StoreError> {
        let Job::ReconImport { upload_id } = job else { return Ok(()) };
        if rs::find_upload(tx, *upload_id)?.is_some_and(|u| !u.state.is_final()) {
            rs::update_upload_state(tx, *upload_id, UploadState::Refused, Some(reason), &now.iso())?;
        }
        Ok(())
    }
}

impl ReconImportJob {
    fn load(&self, ctx: &mut JobCtx<'_>, upload_id: i64) -> Result<(), Stop> {
        let db = ctx.db;
        let Some(upload) = db.read(|conn| rs::find_upload(conn, upload_id))? else { return Ok(()) };
        if upload.state.is_final() {
            return Ok(());
        }
        let now = Now::read();
        let org = db
            .read(|conn| orgs::find_org_by_id(conn, upload.org_id))?
            .ok_or_else(|| Stop::Failed(format!("org {} of upload {upload_id} is gone", upload.org_id)))?;
        let duplicate = db.read(|conn| rs::loaded_name_exists(conn, org.id, &upload.file_name, upload_id))?;
        if duplicate {
            db.write(|tx| {
                rs::update_upload_state(tx, upload_id, UploadState::Duplicate, Some(DUPLICATE), &now.iso())?;
                rs::set_upload_error_it(tx, upload_id, DUPLICATE)
            })?;
            return Ok(());
        }
        let source = upload
            .kind
            .chars()
            .next()
            .and_then(Source::from_code)
            .ok_or_else(|| Stop::Failed(format!("upload {upload_id} has kind {:?}", upload.kind)))?;
        let columns = parse_columns(upload.columns.as_deref()).unwrap_or_default();
        let path = self.data_dir.join(&upload.stored_file);
        let org_ref = OrgRef { ipa: &org.ipa_code, fiscal_code: &org.fiscal_code };
        db.write(|tx| rs::update_upload_state(tx, upload_id, UploadState::Loading, None, &now.iso()))?;

        // The read-only pass: a file refused whole stores nothing.
        let checked = recon::read(source, &upload.file_name, &path, org_ref, columns, |_item| {
            if (ctx.cancelled)() { Err(Stop::Interrupted) } else { Ok(()) }
        });
        let total = match checked {
            Ok(summary) => summary.accepted + summary.rejected,
            Err(ReadError::File(rejection)) => {
                let text = rejection.to_string();
                db.write(|tx| {
                    rs::update_upload_state(tx, upload_id, UploadState::Refused, Some(&text), &now.iso())?;
                    rs::set_upload_error_it(tx, upload_id, &rejection.message_it())
                })?;
                return Ok(());
            }
            Err(ReadError::Sink(stop)) => return Err(stop),
        };

        // The storing pass, from the cursor.
        let skip: u64 = ctx.cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
        let rejects_rel = format!("reconciliation/results/{upload_id}_SCARTI.csv");
        let rejects_path = self.data_dir.join(&rejects_rel);
        let mut rejects = Rejects::create(&rejects_path)?;
        let mut loader = Loader::new(org.id, Some(upload_id), now.iso());
        if skip > 0 {
            loader.counts = UploadCounts {
                accepted: upload.rows_accepted.unwrap_or(0),
                rejected: upload.rows_rejected.unwrap_or(0),
                ignored: 0,
                warnings: upload.warnings.unwrap_or(0),
            };
        }
        let job_id = ctx.job_id;
        let cancelled = ctx.cancelled;
        let report = ctx.report;
        let mut chunk: Vec<(u64, Item)> = Vec::with_capacity(CHUNK);
        let mut index = 0u64;
        let flush = |chunk: &mut Vec<(u64, Item)>, loader: &mut Loader, rejects: &mut Rejects, upto: u64| {
            if chunk.is_empty() {
                return Ok(());
            }
            if cancelled() {
                return Err(Stop::Interrupted);
            }
            let refused = db.write(|tx| {
                let mut refused = Vec::new();
                for (line, item) in chunk.drain(..) {
                    refused.extend(loader.apply(tx, line, item)?);
                }
                rs::update_upload_counts(tx, upload_id, loader.counts, None)?;
                jobs::save_cursor(tx, job_id, &upto.to_string())?;
                Ok::<_, StoreError>(refused)
            })?;
            for row in &refused {
                rejects.write(row)?;
            }
            report(jobs::Units { done: upto, total: Some(total) });
            Ok(())
        };
        let read = recon::read(source, &upload.file_name, &path, org_ref, columns, |item| {
            index += 1;
            if index <= skip {
                // Stored by an earlier run: its refused rows go to the rewritten rejects file.
                if let Item::Rejected(row) = &item {
                    rejects.write(row)?;
                }
                loader.skip(&item);
                return Ok(());
            }
            chunk.push((index, item));
            if chunk.len() >= CHUNK {
                flush(&mut chunk, &mut loader, &mut rejects, index)?;
            }
            Ok(())
        });
        let summary = match read {
            Ok(summary) => summary,
            Err(ReadError::Sink(stop)) => return Err(stop),
            Err(ReadError::File(rejection)) => {
                return Err(Stop::Failed(format!("the file changed while read: {rejection}")));
            }
        };
        flush(&mut chunk, &mut loader, &mut rejects, index)?;
        (ctx.progress)(Progress { units: index, ..Progress::default() });
        let any_rejected = rejects.finish()?;

        match super::reconcile_pending(db, org.id, cancelled) {
            Ok(_) => {}
            Err(ServiceError::Interrupted) => return Err(Stop::Interrupted),
            Err(err) => return Err(Stop::Failed(err.to_string())),
        }
        loader.counts.ignored = i64::try_from(summary.ignored).unwrap_or(i64::MAX);
        let rejects_zip = if any_rejected {
            let dir = rejects_path.parent().unwrap_or(&self.data_dir);
            let entry = format!("{}.csv", upload_stem(&upload.file_name));
            let name = crate::flows::results::zip_part_as(&rejects_path, dir, &format!("{upload_id}_SCARTI"), &entry)
                .map_err(|err| Stop::Failed(format!("cannot write the rejects of upload {upload_id}: {err}")))?;
            Some(format!("reconciliation/results/{name}"))
        } else {
            None
        };
        let _ = std::fs::remove_file(&rejects_path);
        let rejects_file = rejects_zip.as_deref();
        db.write(|tx| {
            rs::update_upload_counts(tx, upload_id, loader.counts, rejects_file)?;
            rs::update_upload_state(tx, upload_id, UploadState::Loaded, None, &Now::read().iso())
        })?;
        Ok(())
    }
}

/// MyPivot's longest IUF (`cod_id_univoco_flusso`, §1.2).
const IUF_MAX: usize = 35;

/// Gives the lines of a loaded legacy Poste upload (P) the IUF of their flow, as MyPivot's
/// operator does with the upload (§1.5): by it they meet the org's treasury movements naming the
/// same flow, whose total is the sum of the lines. Returns how many lines; a second call replaces
/// the IUF. One transaction with its audit entry, then what it changed is classified.
pub fn set_poste_flow(db: &Db, ipa: &str, id: i64, iuf: &str, actor: &str, now: Now) -> Result<usize, ServiceError> {
    let iuf = iuf.trim();
    if iuf.is_empty() || iuf.chars().count() > IUF_MAX || iuf.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServiceError::invalid("iuf", format!("IUF {iuf:?}: 1 to {IUF_MAX} characters, no spaces")));
    }
    let upload = get_upload(db, ipa, id)?;
    if upload.kind != Source::PosteReporting.code().to_string() {
        return Err(ServiceError::invalid("iuf", format!("upload {id} is no Poste rendicontazione (P)")));
    }
    if upload.state != UploadState::Loaded {
        return Err(ServiceError::Conflict(format!("upload {id} is {}, not loaded", upload.state.code())));
    }
    let lines = db.write(|tx| {
        let (keys, before) = rs::set_poste_iuf(tx, upload.org_id, id, iuf)?;
        for key in &keys {
            rs::mark_dirty(tx, upload.org_id, &rs::Dirty::Poste(key.clone()))?;
        }
        for old in before.iter().map(String::as_str).chain([iuf]) {
            rs::mark_dirty(tx, upload.org_id, &rs::Dirty::Iuf(old.to_owned()))?;
        }
        let before_json = serde_json::json!({ "iuf": before }).to_string();
        let after_json = serde_json::json!({ "iuf": iuf.to_uppercase(), "lines": keys.len() }).to_string();
        let object = format!("recon_upload:{}", upload.file_name);
        audit::insert_audit(
            tx,
            &audit::AuditEntry {
                actor,
                org_id: Some(upload.org_id),
                action: "reconciliation.poste_flow",
                object: Some(&object),
                outcome: "OK",
                before_json: Some(&before_json),
                after_json: Some(&after_json),
                ..Default::default()
            },
            &now.iso(),
        )?;
        Ok::<_, StoreError>(keys.len())
    })?;
    super::reconcile_pending(db, upload.org_id, &|| false)?;
    Ok(lines)
}

/// The uploaded name without its `.zip`: what MyPivot names the rejects after.
fn upload_stem(file_name: &str) -> &str {
    let cut = file_name.len().saturating_sub(4);
    match (file_name.get(..cut), file_name.get(cut..)) {
        (Some(stem), Some(ext)) if ext.eq_ignore_ascii_case(".zip") && !stem.is_empty() => stem,
        _ => file_name,
    }
}

/// An upload's rejects as a download: where the ZIP is and the name to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectsDownload {
    pub path: PathBuf,
    /// `<uploaded name>_SCARTI.zip`; the CSV inside is `<uploaded name>.csv`.
    pub file_name: String,
}

/// The rejects ZIP of upload `id` of org `ipa` (`None`: no row was refused, or not loaded yet).
/// What every channel serves: the back office, the REST API and the CLI's `--json` path.
pub fn rejects_download(db: &Db, data_dir: &Path, ipa: &str, id: i64) -> Result<Option<RejectsDownload>, ServiceError> {
    let upload = get_upload(db, ipa, id)?;
    Ok(upload.rejects_file.map(|rel| RejectsDownload {
        path: data_dir.join(rel),
        file_name: format!("{}_SCARTI.zip", upload_stem(&upload.file_name)),
    }))
}

/// The C column positions as stored (`1,2,3,4,5,6,7`).
pub fn parse_columns(text: Option<&str>) -> Option<CashColumns> {
    let text = text?;
    let numbers: Vec<usize> = text.split(',').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
    let positions: [usize; 7] = numbers.try_into().ok()?;
    positions.iter().all(|p| (1..=100).contains(p)).then_some(CashColumns { positions })
}

/// `<id>_SCARTI.csv`: the refused rows, `;`-separated, their raw fields then `errorMessage`; zipped
/// once the load is complete (MyPivot mails its `.log` zipped to `<name>.zip`, §1.0).
struct Rejects {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    rows: u64,
}

impl Rejects {
    fn create(path: &Path) -> Result<Rejects, Stop> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|err| Stop::Failed(format!("cannot write {}: {err}", dir.display())))?;
        }
        let file = std::fs::File::create(path)
            .map_err(|err| Stop::Failed(format!("cannot write {}: {err}", path.display())))?;
        let mut rejects = Rejects { file: std::io::BufWriter::new(file), path: path.to_owned(), rows: 0 };
        rejects.line("numRiga;campi;errorMessage")?;
        Ok(rejects)
    }

    fn write(&mut self, row: &RejectedRow) -> Result<(), Stop> {
        self.rows += 1;
        let fields = row.fields.iter().map(|f| quoted(f)).collect::<Vec<_>>().join(";");
        let text = format!("{};{};{}", row.line, fields, quoted(&row.message));
        self.line(&text)
    }

    fn line(&mut self, text: &str) -> Result<(), Stop> {
        writeln!(self.file, "{text}")
            .map_err(|err| Stop::Failed(format!("cannot write {}: {err}", self.path.display())))
    }

    /// Flushes and syncs; returns whether any row was refused.
    fn finish(mut self) -> Result<bool, Stop> {
        let fail = |err: std::io::Error| Stop::Failed(format!("cannot write {}: {err}", self.path.display()));
        self.file.flush().map_err(fail)?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(|err| Stop::Failed(format!("cannot write {}: {err}", self.path.display())))?;
        Ok(self.rows > 0)
    }
}

fn quoted(field: &str) -> String {
    if field.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
