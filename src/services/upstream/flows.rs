//! A debt flow mirrored whole (an `F` change): the rows of an import of a mirrored org are not sent
//! one by one; the flow goes up as it was uploaded here, with MyPay's token upload, and the
//! Region's result files come back onto the local import.
//!
//! Queued by the import's first transaction ([`enqueue`], from `debts::imports::run`), so a change
//! another channel makes to one of its rows while it runs comes after it. Sent by
//! `outbox::send_next` in steps that never block: while the local import runs, the change waits;
//! an import that aborted here, or loaded no row, has nothing to send and its change is dropped;
//! then the stored upload (`<data_dir>/<stored_file>`, kept for good) is uploaded once and the
//! Region's request token stored in the change, so a restart polls instead of uploading again;
//! later calls ask its status. A window remains: a crash between the upload and the commit of
//! its token uploads again, and the Region refuses the second as a duplicate flow (the change
//! ends `REFUSED` with that code, for an operator to look at).
//! When the Region says `IMPORT_ESEGUITO`, its `_IUV` and `_SCARTI` are downloaded into
//! `imports/results/<id>/region/` and read line by line (memory holds one line and a batch):
//! each IUV goes to the local live debt of that IUD that has none (in batches, letting other
//! writers in between); the local import's `_IUV` becomes the Region's (the IUVs a SIL learns
//! from `paaSILChiediStatoImportFlusso` here); its `_SCARTI` keeps the local refusals and gains
//! the Region's refusals of rows this flow wrote here, with MyPay's codes. A row the Region
//! refused stays here as it is (an `I` without an IUV cannot be paid; an `M` the Region refused
//! because the debt was paid there must not be undone here): the operator sees it in `_SCARTI`.
//! The new files are written beside the old ones and the import points to them in the
//! transaction that finishes the change, so a crash anywhere before it just does this step again.
//! Then, for layouts 1_3/1_4, the notices job of the import (not queued when it ended, since its
//! rows had no IUV yet).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use jiff::SignedDuration;

use super::outbox::{RegionDebts, RegionFailure, Step, notice_of, retry};
use crate::clock::Now;
use crate::domain::{ImportState, Iuv};
use crate::flows::csv_row;
use crate::flows::results::{self, StreamingZip};
use crate::jobs::Job;
use crate::services::ServiceError;
use crate::store::imports::{self, ImportRecord};
use crate::store::outbox::{self, ChangeAction, ChangeRecord, ChangeState, Outcome};
use crate::store::{Conn, Db, StoreError, audit, debts, orgs};

/// How long an `F` waits for its local import to end before looking again.
pub const IMPORT_WAIT: SignedDuration = SignedDuration::from_secs(3);
/// How often the Region is asked about a flow it is processing (MyPay takes a few flows every 10 s;
/// one short SOAP call, so asking often costs little and ends the wait sooner).
pub const POLL_EVERY: SignedDuration = SignedDuration::from_secs(5);
/// The most a result file of the Region may weigh, compressed and decompressed.
pub const MAX_DOWNLOAD_BYTES: u64 = 1024 * 1024 * 1024;
pub const MAX_CSV_BYTES: u64 = 8 * 1024 * 1024 * 1024;
/// `_IUV` lines applied per transaction.
const BATCH: usize = 2000;

/// Queues the `F` of import `import_id` in the caller's transaction (the import's first).
pub(crate) fn enqueue(tx: &Conn, org_id: i64, import_id: i64, now: &str) -> Result<i64, StoreError> {
    outbox::insert_change(tx, org_id, ChangeAction::Flow, None, Some(import_id), now)
}

/// One step of an `F` change whose time has come.
pub(super) fn send(
    db: &Db,
    data_dir: &Path,
    change: &ChangeRecord,
    region: &dyn RegionDebts,
    now: Now,
) -> Result<Step, ServiceError> {
    let import_id =
        change.import_id.ok_or_else(|| ServiceError::Internal(format!("flow change {} has no import", change.id)))?;
    let import = db
        .read(|conn| imports::find_import(conn, import_id))?
        .ok_or_else(|| ServiceError::Internal(format!("import {import_id} of change {} vanished", change.id)))?;
    if !import.state.is_final() {
        return later(db, change, now, IMPORT_WAIT, None);
    }
    if import.state == ImportState::Aborted || import.rows_loaded.unwrap_or(0) == 0 {
        if import.rows_loaded.unwrap_or(0) > 0 {
            // A job given up after applying some chunks: those rows are here only.
            tracing::warn!(
                import = import.id,
                rows = import.rows_loaded,
                "an aborted import's applied rows are not mirrored"
            );
        }
        db.write(|tx| outbox::delete_pending_change(tx, change.id))?;
        return Ok(Step::Dropped { change_id: change.id });
    }
    let Some(token) = change.request_token.as_deref() else {
        let upload = upload_as_region(db, data_dir, &import)?;
        let sent = region.upload_flow(&upload.path, &upload.name);
        if upload.temporary {
            let _ = std::fs::remove_file(&upload.path);
        }
        return match sent {
            Ok(token) => {
                tracing::info!(change = change.id, import = import.id, name = %upload.name, "flow uploaded to the Region");
                later(db, change, now, POLL_EVERY, Some(&token))
            }
            Err(failure) => failed(db, change, &failure, now),
        };
    };
    let status = match region.flow_status(token) {
        Ok(status) => status,
        Err(failure) => return failed(db, change, &failure, now),
    };
    match ImportState::from_code(status.stato.trim()) {
        Some(ImportState::Queued | ImportState::InProgress) => later(db, change, now, POLL_EVERY, None),
        Some(ImportState::Done) => {
            let urls = (status.iuv_url.as_deref(), status.scarti_url.as_deref());
            match apply_results(db, data_dir, change, &import, urls, region, now) {
                Err(Failed::Region(failure)) => failed(db, change, &failure, now),
                Err(Failed::Local(err)) => Err(err),
                Ok(step) => Ok(step),
            }
        }
        // IMPORT_ABORTITO, or the flow's error code (PAA_IMPORT_FLUSSO_DUPLICATO, ...).
        _ => {
            let failure = RegionFailure {
                retryable: false,
                code: Some(status.stato.clone()),
                text: format!("la Regione non ha caricato il flusso {}: {}", import.file_name, status.stato),
            };
            failed(db, change, &failure, now)
        }
    }
}

/// The file a flow goes up as, and its name there.
struct Upload {
    path: std::path::PathBuf,
    name: String,
    /// A renamed copy, removed once sent.
    temporary: bool,
}

/// The flow as the Region must receive it: MyPay checks that a flow's name (`<IPA>-<IUF>-<version>`,
/// and its CSV's) starts with the org's IPA code there, so an org known there by another code
/// (`--upstream-ipa`) sends a copy renamed to it (the rows carry no IPA code); the Region's result
/// files are read back by row, whatever their names.
fn upload_as_region(db: &Db, data_dir: &Path, import: &ImportRecord) -> Result<Upload, ServiceError> {
    let stored = data_dir.join(&import.stored_file);
    let region_ipa =
        db.read(|conn| crate::store::upstream::find_org_upstream(conn, import.org_id))?.and_then(|u| u.region_ipa);
    let renamed = region_ipa.as_deref().and_then(|ipa| {
        let (local, rest) = import.file_name.split_once('-')?;
        (local != ipa).then(|| format!("{ipa}-{rest}"))
    });
    let Some(name) = renamed else {
        return Ok(Upload { path: stored, name: import.file_name.clone(), temporary: false });
    };
    let dir = data_dir.join(crate::services::debts::imports::run::results_dir(import.id)).join("region");
    std::fs::create_dir_all(&dir)
        .map_err(|err| ServiceError::Internal(format!("cannot create {}: {err}", dir.display())))?;
    let path = dir.join(&name);
    let base = |n: &str| n.strip_suffix(".zip").unwrap_or(n).to_owned();
    crate::flows::zipfile::copy_renamed(&stored, &path, &base(&import.file_name), &base(&name)).map_err(|err| {
        ServiceError::Internal(format!("cannot rename flow {} for the Region: {err}", import.file_name))
    })?;
    Ok(Upload { path, name, temporary: true })
}

/// Puts the change off by `wait` (not an attempt), keeping `token` when given.
fn later(
    db: &Db,
    change: &ChangeRecord,
    now: Now,
    wait: SignedDuration,
    token: Option<&str>,
) -> Result<Step, ServiceError> {
    let until = crate::clock::iso(now.instant().checked_add(wait).unwrap_or(now.instant()));
    db.write(|tx| outbox::update_change_later(tx, change.id, &until, token))?;
    Ok(Step::Waiting { change_id: change.id, until })
}

/// A failed call: retried when worth it, else the change is refused with the Region's code.
fn failed(db: &Db, change: &ChangeRecord, failure: &RegionFailure, now: Now) -> Result<Step, ServiceError> {
    if failure.retryable {
        return retry(db, change, failure, now);
    }
    let outcome = Outcome { code: failure.code.as_deref(), text: Some(&failure.text), region_iuv: None };
    if !db.write(|tx| {
        outbox::update_change_finished(tx, change.id, change.attempts, ChangeState::Refused, outcome, &now.iso())
    })? {
        return Ok(Step::Overtaken { change_id: change.id });
    }
    tracing::warn!(change = change.id, code = ?failure.code, text = %failure.text, "the Region refused a flow");
    Ok(Step::Refused { change_id: change.id, code: failure.code.clone() })
}

/// Why mapping the results back stopped: the Region (a download), or this side.
enum Failed {
    Region(RegionFailure),
    Local(ServiceError),
}

impl From<ServiceError> for Failed {
    fn from(err: ServiceError) -> Failed {
        Failed::Local(err)
    }
}

impl From<StoreError> for Failed {
    fn from(err: StoreError) -> Failed {
        Failed::Local(err.into())
    }
}

fn io_failed(what: &str, err: &io::Error) -> Failed {
    Failed::Local(ServiceError::Internal(format!("{what}: {err}")))
}

/// The flow ran at the Region: its results onto the local rows and files, and the change `SENT`.
fn apply_results(
    db: &Db,
    data_dir: &Path,
    change: &ChangeRecord,
    import: &ImportRecord,
    (iuv_url, scarti_url): (Option<&str>, Option<&str>),
    region: &dyn RegionDebts,
    now: Now,
) -> Result<Step, Failed> {
    let dir_rel = format!("{}/region", crate::services::debts::imports::run::results_dir(import.id));
    let dir = data_dir.join(&dir_rel);
    std::fs::create_dir_all(&dir).map_err(|err| io_failed(&format!("cannot create {}", dir.display()), &err))?;
    let base = import.file_name.strip_suffix(".zip").unwrap_or(&import.file_name).to_owned();
    let download = |url: Option<&str>, name: &str| -> Result<Option<std::path::PathBuf>, Failed> {
        let Some(url) = url else { return Ok(None) };
        let path = dir.join(name);
        let file = File::create(&path).map_err(|err| io_failed("cannot write a download", &err))?;
        let mut out = BufWriter::new(file);
        region.download(url, MAX_DOWNLOAD_BYTES, &mut out).map_err(Failed::Region)?;
        let file = out.into_inner().map_err(|err| io_failed("cannot write a download", err.error()))?;
        file.sync_all().map_err(|err| io_failed("cannot write a download", &err))?;
        Ok(Some(path))
    };
    let region_iuvs = download(iuv_url, "download_IUV.zip")?;
    let region_scarti = download(scarti_url, "download_SCARTI.zip")?;

    let app = db.read(|conn| orgs::find_org_by_id(conn, import.org_id))?.and_then(|org| org.application_code);
    // The Region's `_IUV`: each IUV onto its row, and the lines into the local import's new `_IUV`.
    let mut iuv_zip = StreamingZip::new(&dir, format!("{base}_IUV"), String::new());
    let (mut loaded, mut given, mut batch) = (0i64, 0u64, Vec::with_capacity(BATCH));
    if let Some(path) = &region_iuvs {
        let mut columns = None;
        let mut apply_batch = |batch: &mut Vec<(String, Iuv)>| -> io::Result<()> {
            given += give_iuvs(db, import.org_id, app.as_deref(), batch, now).map_err(io::Error::other)?;
            batch.clear();
            db.let_writers_in(std::time::Duration::from_millis(200));
            Ok(())
        };
        results::read_result_lines(path, MAX_CSV_BYTES, |line| {
            let Some((iud_at, iuv_at)) = columns else {
                columns = Some(iud_iuv_columns(line));
                iuv_zip = StreamingZip::new(&dir, format!("{base}_IUV"), line.to_owned());
                return Ok(());
            };
            iuv_zip.write_line(line)?;
            loaded += 1;
            let mut fields = Vec::new();
            if csv_row::split(line, &mut fields).is_ok()
                && let (Some(iud), Some(iuv)) = (fields.get(iud_at), fields.get(iuv_at))
                && let Ok(iuv) = Iuv::parse(iuv.trim())
                && !iud.trim().is_empty()
            {
                batch.push((iud.trim().to_owned(), iuv));
            }
            if batch.len() >= BATCH {
                apply_batch(&mut batch)?;
            }
            Ok(())
        })
        .map_err(|err| io_failed("cannot read the Region's _IUV", &err))?;
        apply_batch(&mut batch).map_err(|err| io_failed("cannot apply the Region's IUVs", &err))?;
    }
    let iuv_file = iuv_zip.finish().map_err(|err| io_failed("cannot write _IUV", &err))?;

    // `_SCARTI`: ours, then the Region's refusals of rows this flow wrote here.
    let mut scarti_zip: Option<StreamingZip> = None;
    let mut rejected = 0i64;
    let start = |header: &str| StreamingZip::new(&dir, format!("{base}_SCARTI"), header.to_owned());
    if let Some(local) = import.rejects_file.as_ref().map(|f| data_dir.join(f)) {
        results::read_result_lines(&local, MAX_CSV_BYTES, |line| {
            match &mut scarti_zip {
                None => scarti_zip = Some(start(line)),
                Some(zip) => {
                    zip.write_line(line)?;
                    rejected += 1;
                }
            }
            Ok(())
        })
        .map_err(|err| io_failed("cannot read the local _SCARTI", &err))?;
    }
    let mut added = 0u64;
    if let Some(path) = &region_scarti {
        let mut header_seen = false;
        results::read_result_lines(path, MAX_CSV_BYTES, |line| {
            if !header_seen {
                header_seen = true;
                if scarti_zip.is_none() {
                    scarti_zip = Some(start(line));
                }
                return Ok(());
            }
            let mut fields = Vec::new();
            let iud = match csv_row::split(line, &mut fields) {
                Ok(()) => fields.first().map(|f| f.trim().to_owned()).unwrap_or_default(),
                Err(_) => String::new(),
            };
            let ours = !iud.is_empty()
                && db
                    .read(|conn| debts::import_wrote_iud(conn, import.org_id, &iud, import.id))
                    .map_err(io::Error::other)?;
            if ours && let Some(zip) = &mut scarti_zip {
                zip.write_line(line)?;
                rejected += 1;
                added += 1;
            }
            Ok(())
        })
        .map_err(|err| io_failed("cannot read the Region's _SCARTI", &err))?;
    }
    let rejects_file = match scarti_zip {
        Some(zip) => zip.finish().map_err(|err| io_failed("cannot write _SCARTI", &err))?,
        None => None,
    };
    results::sync_dir(&dir).map_err(|err| io_failed("cannot sync the results", &err))?;

    let iso = now.iso();
    let path_of = |name: Option<String>| name.map(|n| format!("{dir_rel}/{n}"));
    let (iuv_file, rejects_file) = (path_of(iuv_file), path_of(rejects_file));
    let text = format!("{loaded} righe caricate dalla Regione, {added} scartate");
    let done = db.write(|tx| {
        let outcome = Outcome { code: None, text: Some(&text), region_iuv: None };
        if !outbox::update_change_finished(tx, change.id, change.attempts, ChangeState::Sent, outcome, &iso)? {
            return Ok(false);
        }
        imports::update_import_results(tx, import.id, iuv_file.as_deref(), rejects_file.as_deref(), loaded, rejected)?;
        let notices = matches!(import.layout_version.as_deref(), Some("1_3" | "1_4"));
        if notices && given > 0 && import.notices_file.is_none() {
            crate::jobs::enqueue(tx, &Job::ImportNotices { import_id: import.id }, now)?;
        }
        let object = format!("import:{}", import.file_name);
        let after = serde_json::json!({ "loaded": loaded, "iuvs": given, "refused": added }).to_string();
        let entry = audit::AuditEntry {
            actor: "upstream",
            org_id: Some(import.org_id),
            action: "import.region",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok::<_, ServiceError>(true)
    })?;
    for name in ["download_IUV.zip", "download_SCARTI.zip"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    if !done {
        return Ok(Step::Overtaken { change_id: change.id });
    }
    tracing::info!(
        change = change.id,
        import = import.id,
        loaded,
        iuvs = given,
        refused = added,
        "flow mirrored to the Region"
    );
    Ok(Step::Sent { change_id: change.id, iuv: None })
}

/// Where the IUD and the IUV are in a `_IUV` header (`IUD` and `codIuv`; the first two columns
/// when it names neither).
fn iud_iuv_columns(header: &str) -> (usize, usize) {
    let names: Vec<String> =
        header.split(';').map(|n| n.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    let at = |wanted: &str, default: usize| names.iter().position(|n| n == wanted).unwrap_or(default);
    (at("iud", 0), at("codiuv", 1))
}

/// Gives the live debts of these IUDs that have no IUV the Region's, in one transaction; returns
/// how many took one. An IUV live on another local debt is left (and logged).
fn give_iuvs(
    db: &Db,
    org_id: i64,
    application_code: Option<&str>,
    batch: &[(String, Iuv)],
    now: Now,
) -> Result<u64, ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        let mut given = 0;
        for (iud, iuv) in batch {
            let Some(debt) = debts::find_debt_by_iud(tx, org_id, iud)? else { continue };
            if debt.iuv.is_some() {
                continue;
            }
            let notice = notice_of(iuv, None, application_code);
            match debts::update_debt_region_iuv(tx, debt.id, iuv, notice.as_ref(), &iso) {
                Ok(true) => given += 1,
                Ok(false) => {}
                Err(StoreError::Duplicate(_)) => {
                    tracing::warn!(iud, iuv = iuv.as_str(), "the Region's IUV is live on another local debt");
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(given)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn the_iud_and_iuv_columns_come_from_the_header() {
        assert_eq!(iud_iuv_columns("IUD;codIuv;tipo"), (0, 1));
        assert_eq!(iud_iuv_columns("\u{feff}x;IUD;y;codIUV"), (1, 3));
        assert_eq!(iud_iuv_columns("a;b"), (0, 1));
    }
}

#[cfg(test)]
mod flow_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use std::io::Write;

    use super::super::outbox::tests::{FakeRegion, changes, data_dir, drain, fields, mirrored, org_id};
    use super::super::outbox::{self as service, FlowStatus};
    use super::*;
    use crate::jobs::{self, Outcome};
    use crate::services::debts::{self as debt_service, DebtKey, imports};
    use crate::services::testkit::{IPA, Kit};
    use crate::store::debts::DebtRecord;

    use crate::services::testkit::HEADER_1_4 as HEADER;

    fn row(iud: &str, debt_type: &str) -> String {
        format!(
            "{iud};;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;;2099-12-31;10.00;;{debt_type};;\
             TARI 2099;9/0101002IM/;;true;false;;;;;;;;;;;;;I"
        )
    }

    fn zip_of(name: &str, lines: &[String]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(format!("{name}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
        for line in lines {
            zip.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    /// Uploads and runs a 1_4 flow `name` of these rows through the import job.
    fn import(kit: &Kit, name: &str, rows: &[String]) -> ImportRecord {
        let mut lines = vec![HEADER.to_owned()];
        lines.extend(rows.iter().cloned());
        let bytes = zip_of(name, &lines);
        let upload = imports::Upload { org_ipa: IPA, file_name: &format!("{name}.zip"), actor: "cli", operator: None };
        let limits = imports::Limits { max_upload_bytes: 1 << 30 };
        let submitted =
            imports::submit(&kit.db, &data_dir(kit), limits, &upload, &mut bytes.as_slice(), kit.now).unwrap();
        let settings = crate::services::background::JobSettings {
            data_dir: data_dir(kit),
            max_uncompressed_bytes: 1 << 30,
            station_id: "S".to_owned(),
            notices: crate::config::NoticesMode::On,
            reporting: None,
            retention: crate::config::RetentionSettings::default(),
            receipts: None,
        };
        let record = jobs::claim(&kit.db, submitted.job_id, kit.now).unwrap().unwrap();
        let handlers = crate::services::background::handlers(&settings);
        assert_eq!(jobs::run_claimed(&kit.db, &handlers, &record, &|| false, &mut |_| {}).unwrap(), Outcome::Done);
        imports::get_import(&kit.db, IPA, submitted.import.id).unwrap()
    }

    fn debt(kit: &Kit, iud: &str) -> DebtRecord {
        debt_service::get_debt(&kit.db, IPA, &DebtKey::Iud(iud.to_owned())).unwrap()
    }

    fn lines_of(kit: &Kit, file: &str) -> Vec<String> {
        let mut out = Vec::new();
        results::read_result_lines(&data_dir(kit).join(file), 1 << 30, |l| {
            out.push(l.to_owned());
            Ok(())
        })
        .unwrap();
        out
    }

    fn notices_jobs(kit: &Kit, import: &ImportRecord) -> bool {
        kit.db.read(|c| jobs::latest(c, &Job::ImportNotices { import_id: import.id })).unwrap().is_some()
    }

    /// `secs` after `t0`. The import's job reads the clock (its flow is due from then): the
    /// sender's times in these tests start after it.
    fn later(t0: Now, secs: i64) -> Now {
        Now::at(t0.instant() + SignedDuration::from_secs(secs))
    }

    #[test]
    fn a_mirrored_flow_goes_up_whole_and_brings_the_regions_iuvs_and_refusals_back() {
        let kit = mirrored();
        let name = format!("{IPA}-F3-1_4");
        let rows = [row("F3-1", "TARI"), row("F3-2", "TARI"), row("F3-3", "TARI"), row("F3-4", "NESSUNO")];
        let import = import(&kit, &name, &rows);
        let t0 = Now::read();
        assert_eq!((import.rows_loaded, import.rows_rejected), (Some(3), Some(1)));
        // One F, no change per row, no IUV drawn here, no notices yet.
        let queued = changes(&kit);
        assert_eq!(queued.len(), 1);
        assert_eq!(
            (queued[0].action, queued[0].import_id, queued[0].debt_id),
            (ChangeAction::Flow, Some(import.id), None)
        );
        assert_eq!(debt(&kit, "F3-1").iuv, None);
        assert!(!notices_jobs(&kit, &import));

        // A change to one of its rows comes after the flow.
        debt_service::modify_debt(&kit.db, "test", IPA, &fields("F3-2", 1500), kit.now).unwrap();
        assert_eq!(changes(&kit)[1].action, ChangeAction::Modify);

        let region = FakeRegion::default();
        let f = queued[0].id;
        // Uploaded once; the token kept; then polled, never uploaded again.
        let waiting = |secs| Step::Waiting { change_id: f, until: later(t0, secs).iso() };
        assert_eq!(drain(&kit, &region, t0), [waiting(5)]);
        assert_eq!(*region.uploads.borrow(), [(format!("{name}.zip"), import.size_bytes as u64)]);
        assert_eq!(changes(&kit)[0].request_token.as_deref(), Some("token-1"));
        assert_eq!(drain(&kit, &region, later(t0, 2)), [waiting(5)]);
        region.statuses.borrow_mut().push_back(FlowStatus { stato: "IMPORT_IN_ELAB".into(), ..FlowStatus::default() });
        assert_eq!(drain(&kit, &region, later(t0, 5)), [waiting(10)]);
        assert!(region.calls.borrow().is_empty(), "the M waits behind the flow");

        // Done at the Region: rows 1 and 2 loaded with its IUVs, row 3 refused.
        let (iuv1, iuv2) = (region.new_iuv(), region.new_iuv());
        let with_iuv = |r: &String, iud: &str, iuv: &str| r.replacen(&format!("{iud};;"), &format!("{iud};{iuv};"), 1);
        let region_iuvs = vec![HEADER.to_owned(), with_iuv(&rows[0], "F3-1", &iuv1), with_iuv(&rows[1], "F3-2", &iuv2)];
        let refused = format!("{};PAA_IMPORT_SINTASSI_CSV_CAUSALE;causale non valida", rows[2]);
        let region_scarti = vec![
            format!("{HEADER};cod_rifiuto;de_rifiuto"),
            refused.clone(),
            format!("{};PAA_IMPORT_COD_TIPO_DOVUTO_INESISTENTE;tipo dovuto inesistente", rows[3]),
        ];
        region.files.borrow_mut().insert("https://r/iuv".into(), zip_of(&format!("{name}_IUV"), &region_iuvs));
        region.files.borrow_mut().insert("https://r/scarti".into(), zip_of(&format!("{name}_SCARTI"), &region_scarti));
        region.statuses.borrow_mut().push_back(FlowStatus {
            stato: "IMPORT_ESEGUITO".into(),
            scarti_url: Some("https://r/scarti".into()),
            iuv_url: Some("https://r/iuv".into()),
        });
        region.debts.borrow_mut().insert("F3-2".into(), Some(iuv2.clone()));
        let steps = drain(&kit, &region, later(t0, 10));
        assert_eq!(steps[0], Step::Sent { change_id: f, iuv: None });
        assert!(matches!(steps[1], Step::Sent { .. }));

        // The Region's IUVs and notice numbers are on the rows; the refused row stays without one.
        assert_eq!(debt(&kit, "F3-1").iuv.map(|i| i.as_str().to_owned()), Some(iuv1.clone()));
        assert_eq!(debt(&kit, "F3-1").notice_number.map(|n| n.as_str().to_owned()), Some(format!("3{iuv1}")));
        assert_eq!(debt(&kit, "F3-3").iuv, None);
        // Then the M went, with the Region's IUV.
        let call = region.calls.borrow()[0].clone();
        assert_eq!((call.action, call.iud.as_str(), call.cents, call.iuv), ("M", "F3-2", 1500, Some(iuv2)));

        // The local import's results are the Region's: its `_IUV`, and `_SCARTI` ours plus its refusal.
        let done = imports::get_import(&kit.db, IPA, import.id).unwrap();
        let iuv_file = done.iuv_file.clone().unwrap();
        assert_eq!(iuv_file, format!("imports/results/{}/region/{name}_IUV.zip", import.id));
        assert_eq!(lines_of(&kit, &iuv_file), region_iuvs);
        let scarti = lines_of(&kit, done.rejects_file.as_deref().unwrap());
        assert_eq!(scarti.len(), 3, "header, our refusal of F3-4, the Region's of F3-3: {scarti:?}");
        assert!(scarti[1].starts_with("F3-4;") && scarti[1].contains("PAA_IMPORT_"));
        assert_eq!(scarti[2], refused);
        assert_eq!((done.rows_loaded, done.rows_rejected), (Some(2), Some(2)));
        let change = &changes(&kit)[0];
        assert_eq!(
            (change.state, change.last_error_text.as_deref()),
            (ChangeState::Sent, Some("2 righe caricate dalla Regione, 1 scartate"))
        );
        assert!(notices_jobs(&kit, &import), "the notices follow the Region's IUVs");
        assert!(!data_dir(&kit).join(format!("imports/results/{}/region/download_IUV.zip", import.id)).exists());
        assert_eq!(region.uploads.borrow().len(), 1);
    }

    /// Rows enough for the import's batches (one multi-row INSERT each): a mirrored org's rows
    /// with flagGeneraIuv draw no IUV there either, and none is queued on its own.
    /// An org known at the Region by another IPA code: its flow goes up renamed (the ZIP and its
    /// CSV), the copy removed once sent; the Region's results come back onto the local import.
    #[test]
    fn a_flow_goes_up_under_the_orgs_ipa_code_at_the_region() {
        let kit = mirrored();
        let changes_ipa = crate::services::upstream::settings::UpstreamChanges {
            region_ipa: Some("C_PROVA".to_owned()),
            ..Default::default()
        };
        crate::services::upstream::settings::set(&kit.db, "test", IPA, &changes_ipa, kit.now).unwrap();
        let name = format!("{IPA}-F9-1_4");
        let import = import(&kit, &name, &[row("F9-1", "TARI")]);
        let t0 = Now::read();
        let region = FakeRegion::default();
        drain(&kit, &region, t0);
        let uploads = region.uploads.borrow().clone();
        assert_eq!(uploads.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["C_PROVA-F9-1_4.zip"]);
        assert_eq!(*region.upload_entries.borrow(), ["C_PROVA-F9-1_4.csv"]);
        let copy = data_dir(&kit)
            .join(crate::services::debts::imports::run::results_dir(import.id))
            .join("region/C_PROVA-F9-1_4.zip");
        assert!(!copy.exists(), "the renamed copy is removed once sent");
        // The local import keeps its name; its stored upload is untouched.
        assert_eq!(imports::get_import(&kit.db, IPA, import.id).unwrap().file_name, format!("{name}.zip"));
        assert!(data_dir(&kit).join(&import.stored_file).exists());
    }

    #[test]
    fn a_mirrored_flows_batched_rows_draw_no_iuv() {
        let kit = mirrored();
        let rows: Vec<String> = (1..=150).map(|i| row(&format!("B-{i:03}"), "TARI")).collect();
        let import = import(&kit, &format!("{IPA}-BATCH-1_4"), &rows);
        assert_eq!((import.rows_loaded, import.rows_rejected), (Some(150), Some(0)));
        let queued = changes(&kit);
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].action, ChangeAction::Flow);
        for i in 1..=150 {
            let d = debt(&kit, &format!("B-{i:03}"));
            assert_eq!((d.iuv, d.notice_number), (None, None), "B-{i:03}");
        }
        let iuvs = lines_of(&kit, import.iuv_file.as_deref().unwrap());
        assert_eq!(iuvs.len(), 151);
        assert!(iuvs.iter().skip(1).all(|l| l.starts_with("B-") && l[5..].starts_with(";;")), "{:?}", iuvs[1]);
    }

    #[test]
    fn a_flow_waits_for_its_import_and_one_that_loaded_nothing_is_dropped() {
        let kit = mirrored();
        let import = import(&kit, &format!("{IPA}-NONE-1_4"), &[row("N-1", "NESSUNO")]);
        let t0 = Now::read();
        assert_eq!(import.rows_loaded, Some(0));
        let f = changes(&kit)[0].id;
        let region = FakeRegion::default();
        assert_eq!(drain(&kit, &region, t0), [Step::Dropped { change_id: f }, Step::Idle]);
        assert!(region.uploads.borrow().is_empty());
        assert_eq!(service::depth(&kit.db, IPA).unwrap(), 0);

        // An import still running holds its flow (and the queue).
        let bytes = zip_of(&format!("{IPA}-RUN-1_4"), &[HEADER.to_owned(), row("R-1", "TARI")]);
        let upload =
            imports::Upload { org_ipa: IPA, file_name: &format!("{IPA}-RUN-1_4.zip"), actor: "cli", operator: None };
        let limits = imports::Limits { max_upload_bytes: 1 << 30 };
        let submitted =
            imports::submit(&kit.db, &data_dir(&kit), limits, &upload, &mut bytes.as_slice(), kit.now).unwrap();
        let id = kit.db.write(|tx| enqueue(tx, org_id(&kit), submitted.import.id, &kit.now.iso())).unwrap();
        assert_eq!(drain(&kit, &region, t0), [Step::Waiting { change_id: id, until: later(t0, 3).iso() }]);
    }

    #[test]
    fn a_flow_the_region_refuses_is_kept_with_its_code_and_an_unreachable_one_retries() {
        let kit = mirrored();
        import(&kit, &format!("{IPA}-DUP-1_4"), &[row("D-1", "TARI")]);
        let t0 = Now::read();
        let f = changes(&kit)[0].id;
        let region = FakeRegion::default();
        region.down.set(true);
        let steps = drain(&kit, &region, t0);
        assert_eq!(steps, [Step::Retry { change_id: f, attempts: 1, at: later(t0, 30).iso() }]);
        region.down.set(false);
        drain(&kit, &region, later(t0, 30));
        region
            .statuses
            .borrow_mut()
            .push_back(FlowStatus { stato: "PAA_IMPORT_FLUSSO_DUPLICATO".into(), ..FlowStatus::default() });
        let steps = drain(&kit, &region, later(t0, 60));
        assert_eq!(steps[0], Step::Refused { change_id: f, code: Some("PAA_IMPORT_FLUSSO_DUPLICATO".into()) });
        assert_eq!(changes(&kit)[0].state, ChangeState::Refused);
    }
}
