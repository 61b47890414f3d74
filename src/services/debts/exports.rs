//! Receipt exports and expired-debts exports: a request is checked (MyPay's codes), recorded in
//! state LOAD_EXPORT, then run: EXPORT_IN_ELAB → EXPORT_ESEGUITO (with a file, or without one when
//! nothing matched) or ERROR_EXPORT. Files go under `<data_dir>/export/<ipa>/`.
//!
//! Selection (reference/mypay.md §3.2): successful receipts of the org, digital stamps excluded;
//! by payment-outcome date (inclusive) or, incrementally, by the time the receipt was stored in
//! [from, to); a human operator sees only the debt types enabled for them.
//!
//! Failures are the area's `ServiceError`: a refused request is `ExportRefused` with MyPay's code,
//! a file that cannot be written `ExportFile`; a run records its failure's message as the export's
//! error.
//!
//! A queued export ([`ExportJob`]) stops between two rows when the server stops: its partial file is
//! removed and it goes back to `LOAD_EXPORT`, to be made again from the start after the restart. It
//! keeps no cursor on purpose: the file is one read transaction's snapshot, which a resumed file
//! could not be, and rows cost microseconds, so a stop loses little.

use std::path::{Path, PathBuf};

use jiff::civil::{Date, DateTime};

use crate::clock::Now;
use crate::domain::ExportState;
use crate::flows::expired_export;
use crate::flows::rt_export::{self, Version, ZipCsvWriter};
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::exports::{self, ExportItem, ExportRecord, ExportSelection};
use crate::store::{Db, debt_types, operators, orgs};

/// Rows between two looks at `cancelled` and two calls of `progress`.
const ROWS_PER_STEP: u64 = 1024;

/// A request MyPay refuses, with its code.
fn invalid(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::ExportRefused { code, message: message.into() }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest<'a> {
    pub ipa: &'a str,
    /// `1.0` .. `1.3`.
    pub version: &'a str,
    /// Inclusive dates `YYYY-MM-DD`, or for `incremental` local date-times `YYYY-MM-DDTHH:MM:SS`
    /// (Europe/Rome) with `to` excluded.
    pub from: &'a str,
    pub to: &'a str,
    pub incremental: bool,
    pub with_receipt: bool,
    pub debt_types: Vec<String>,
    /// Who asks: `cli`, `operator:<username>`, `sil:<ipa>`.
    pub requested_by: &'a str,
    /// A human operator, whose debt-type enablement limits the selection.
    pub operator: Option<&'a str>,
}

/// How an export ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutcome {
    pub export: ExportRecord,
    /// The ZIP, or None when no row matched.
    pub file: Option<PathBuf>,
}

fn local_to_utc(text: &str, field: &'static str) -> Result<String, ServiceError> {
    let code = if field == "from" { "PAA_DATE_FROM_NON_VALIDO" } else { "PAA_DATE_TO_NON_VALIDO" };
    let local: DateTime = text.parse().map_err(|_| invalid(code, format!("{text:?} is not a date-time")))?;
    let zoned =
        local.to_zoned(crate::clock::rome()).map_err(|_| invalid(code, format!("{text:?} is not a date-time")))?;
    Ok(crate::clock::iso(zoned.timestamp()))
}

/// The latest `limit` exports of the org with id `org_id`, newest first.
pub fn list_exports(db: &Db, org_id: i64, limit: u32) -> Result<Vec<ExportRecord>, ServiceError> {
    Ok(db.read(|conn| exports::list_exports(conn, org_id, limit))?)
}

/// Export `id` of the org with id `org_id`, when that org has it.
pub fn find_export(db: &Db, org_id: i64, id: i64) -> Result<Option<ExportRecord>, ServiceError> {
    Ok(db.read(|conn| exports::find_export(conn, org_id, id))?)
}

/// The latest `limit` exports of `access`'s org that it may see, newest first: every one for an
/// admin; for an operator, their own requests and those limited to debt types enabled for them (an
/// export holds the payments of its debt types, the same grant as the debt search).
pub fn list_visible_exports(db: &Db, access: &OrgAccess, limit: u32) -> Result<Vec<ExportRecord>, ServiceError> {
    let all = list_exports(db, access.org.id, limit)?;
    let enabled = enabled_codes(db, access)?;
    Ok(all.into_iter().filter(|e| visible(access, enabled.as_deref(), e)).collect())
}

/// Export `id` of `access`'s org when it may see it (see [`list_visible_exports`]).
pub fn find_visible_export(db: &Db, access: &OrgAccess, id: i64) -> Result<Option<ExportRecord>, ServiceError> {
    let enabled = enabled_codes(db, access)?;
    Ok(find_export(db, access.org.id, id)?.filter(|e| visible(access, enabled.as_deref(), e)))
}

/// The codes of the debt types `access` may see; `None`: all of them.
fn enabled_codes(db: &Db, access: &OrgAccess) -> Result<Option<Vec<String>>, ServiceError> {
    let Some(ids) = &access.allowed_types else { return Ok(None) };
    let types = db.read(|conn| debt_types::list_debt_types(conn, access.org.id))?;
    Ok(Some(types.into_iter().filter(|t| ids.contains(&t.id)).map(|t| t.code).collect()))
}

fn visible(access: &OrgAccess, enabled: Option<&[String]>, export: &ExportRecord) -> bool {
    let Some(enabled) = enabled else { return true };
    if export.requested_by == format!("operator:{}", access.username) {
        return true;
    }
    // `;A;B;`: every type of the export must be one of the operator's; no list means every type.
    export.debt_types.as_deref().is_some_and(|list| {
        let mut codes = list.split(';').filter(|c| !c.is_empty()).peekable();
        codes.peek().is_some() && codes.all(|c| enabled.iter().any(|e| e == c))
    })
}

/// How long before the booking an incremental window ends at the latest: more than a receipt's
/// request takes from reading its time to committing (its write waits at most the store's busy
/// timeout behind another process; within this one, writes are short).
pub const INCREMENTAL_SETTLE: jiff::SignedDuration = jiff::SignedDuration::from_secs(3);

/// An incremental export's end (UTC, as recorded) as the local date-time the SIL answers.
pub fn local_date_to(record: &ExportRecord) -> String {
    crate::clock::rome_local(&record.date_to)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|| record.date_to.clone())
}

/// Checks and records the request; returns its record (state LOAD_EXPORT) and the normalized
/// selection bounds. `now` bounds an incremental window: its end may not be in the future, or a
/// receipt stored later with an earlier time could be skipped by both this export and the next.
/// With `queue`, a job runs it in the background ([`ExportJob`]), queued in the same
/// transaction so a request is never lost; without, the caller runs it with [`run_export`].
pub fn request_export(db: &Db, req: &ExportRequest<'_>, queue: bool, now: Now) -> Result<ExportRecord, ServiceError> {
    request(db, req, queue, now, false)
}

/// [`request_export`] of a window whose end is the next one's start (the SIL's incremental
/// booking, `dateTo` answered): the window ends [`INCREMENTAL_SETTLE`] before `now` at the latest,
/// and a window starting inside that margin is empty (it ends where it starts).
pub fn request_cursor_export(
    db: &Db,
    req: &ExportRequest<'_>,
    queue: bool,
    now: Now,
) -> Result<ExportRecord, ServiceError> {
    request(db, req, queue, now, true)
}

fn request(
    db: &Db,
    req: &ExportRequest<'_>,
    queue: bool,
    now: Now,
    settle: bool,
) -> Result<ExportRecord, ServiceError> {
    let Some(_) = Version::parse(req.version) else {
        return Err(invalid(
            "PAA_VERSIONE_TRACCIATO_NON_VALIDA",
            format!("version {:?} must be 1.0, 1.1, 1.2 or 1.3", req.version),
        ));
    };
    let (from, to) = if req.incremental {
        let (from, to) = (local_to_utc(req.from, "from")?, local_to_utc(req.to, "to")?);
        if from >= to {
            return Err(invalid("PAA_INTERVALLO_DATE_NON_VALIDO", "from must be before to"));
        }
        if to > now.iso() {
            return Err(invalid("PAA_DATE_TO_NON_VALIDO", "an incremental export cannot end in the future"));
        }
        // A cursor's window ends no later than SETTLE ago (the answer gives the end used, the next
        // window's start): a receipt whose time was read just before and committed just after
        // would otherwise fall between two windows. An end inside the margin gives an empty window.
        if !settle {
            (from, to)
        } else {
            let settled = crate::clock::iso(now.instant().checked_sub(INCREMENTAL_SETTLE).unwrap_or(now.instant()));
            let to = to.min(settled).max(from.clone());
            (from, to)
        }
    } else {
        let from: Date = req
            .from
            .parse()
            .map_err(|_| invalid("PAA_DATE_FROM_NON_VALIDO", format!("{:?} is not a date", req.from)))?;
        let to: Date =
            req.to.parse().map_err(|_| invalid("PAA_DATE_TO_NON_VALIDO", format!("{:?} is not a date", req.to)))?;
        if from > to {
            return Err(invalid("PAA_INTERVALLO_DATE_NON_VALIDO", format!("from {from} is after to {to}")));
        }
        (from.to_string(), to.to_string())
    };
    let now_text = now.iso();
    db.write(|tx| {
        let org =
            orgs::find_org_by_ipa(tx, req.ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {}", req.ipa)))?;
        // Every mode admits receipt exports; the check keeps the one table the only word on it.
        crate::services::admin::adhesion::require_in(tx, &org, crate::domain::adhesion::Channel::ReceiptExports)?;
        let mut types: Vec<String> = Vec::new();
        for code in &req.debt_types {
            if debt_types::find_debt_type(tx, org.id, code)?.is_none() {
                return Err(invalid("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO", format!("unknown debt type {code}")));
            }
            types.push(code.clone());
        }
        if let Some(username) = req.operator {
            let op = operators::find_operator(tx, username)?
                .ok_or_else(|| ServiceError::NotFound(format!("operator {username}")))?;
            let role =
                op.roles.iter().find(|(ipa, _)| ipa.eq_ignore_ascii_case(&org.ipa_code)).map(|(_, r)| r.as_str());
            if !op.app_admin && role != Some("admin") {
                let enabled: Vec<String> = op
                    .debt_types
                    .iter()
                    .filter(|(ipa, _)| ipa.eq_ignore_ascii_case(&org.ipa_code))
                    .map(|(_, c)| c.clone())
                    .collect();
                if types.is_empty() {
                    types = enabled;
                    if types.is_empty() {
                        return Err(invalid(
                            "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO",
                            "no debt type is enabled for you",
                        ));
                    }
                } else if let Some(code) = types.iter().find(|c| !enabled.contains(c)) {
                    return Err(invalid(
                        "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO",
                        format!("debt type {code} is not enabled for you"),
                    ));
                }
            }
        }
        let record = ExportRecord {
            org_id: org.id,
            kind: "RT".to_owned(),
            version: req.version.trim().to_owned(),
            date_from: from.clone(),
            date_to: to.clone(),
            incremental: req.incremental,
            with_receipt: req.with_receipt,
            debt_types: (!types.is_empty()).then(|| format!(";{};", types.join(";"))),
            requested_by: req.requested_by.to_owned(),
            state: ExportState::Queued,
            requested_at: now_text.clone(),
            ..ExportRecord::default()
        };
        let id = exports::insert_export(tx, &record, &now_text)?;
        if queue {
            crate::jobs::enqueue(tx, &crate::jobs::Job::Export { export_id: id }, now)?;
        }
        Ok(ExportRecord { id, ..record })
    })
}

/// Runs a recorded export to its end state, streaming the rows into the ZIP; `progress` is called
/// with the number of rows written so far, every thousand rows or so.
pub fn run_export(
    db: &Db,
    data_dir: &Path,
    station_id: &str,
    export: &ExportRecord,
    now: Now,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportOutcome, ServiceError> {
    run_export_until(db, data_dir, station_id, export, now, progress, &|| false)
}

/// [`run_export`], stopping between two rows when `cancelled` says so: then the partial file is
/// removed, the export is back in `LOAD_EXPORT`, and the answer is [`ServiceError::Interrupted`].
pub fn run_export_until(
    db: &Db,
    data_dir: &Path,
    station_id: &str,
    export: &ExportRecord,
    now: Now,
    progress: &mut dyn FnMut(u64),
    cancelled: &dyn Fn() -> bool,
) -> Result<ExportOutcome, ServiceError> {
    let Some(org) = db.read(|c| orgs::find_org_by_id(c, export.org_id))? else {
        return Err(ServiceError::NotFound(format!("org {}", export.org_id)));
    };
    let version = Version::parse(&export.version)
        .ok_or_else(|| invalid("PAA_VERSIONE_TRACCIATO_NON_VALIDA", export.version.clone()))?;
    db.write(|tx| exports::update_export_state(tx, export.id, ExportState::InProgress, None, None, None, None))?;
    let local = now.rome();
    let stem = rt_export::file_stem(version, &org.ipa_code, export.id, &local);
    let dir = data_dir.join("export").join(&org.ipa_code);
    let header = rt_export::header(version, export.with_receipt);
    let result = (|| -> Result<(u64, Option<PathBuf>), ServiceError> {
        let mut writer = ZipCsvWriter::create(&dir, &stem, &header).map_err(ServiceError::ExportFile)?;
        let selection = ExportSelection {
            org_id: org.id,
            fiscal_code: &org.fiscal_code,
            incremental: export.incremental,
            from: &export.date_from,
            to: &export.date_to,
            debt_types: export.debt_types.as_deref(),
            secondary: version == Version::V1_3,
            with_receipt: export.with_receipt,
        };
        // One read transaction: the file is a consistent snapshot even while receipts keep arriving.
        let mut seen = 0u64;
        let n_rows = db.read_tx(|conn| {
            exports::for_each_export_row(conn, &selection, |item| {
                seen += 1;
                if seen % ROWS_PER_STEP == 0 {
                    if cancelled() {
                        return Err(ServiceError::Interrupted);
                    }
                    progress(seen);
                }
                match item {
                    ExportItem::Receipt(row) => writer
                        .row(&rt_export::row_fields(version, export.with_receipt, &org, station_id, row))
                        .map_err(ServiceError::ExportFile)?,
                    ExportItem::External(row) => writer
                        .row(&rt_export::external_row_fields(version, export.with_receipt, &org, row))
                        .map_err(ServiceError::ExportFile)?,
                }
                Ok::<_, ServiceError>(())
            })
        });
        let n_rows = match n_rows {
            Ok(n) => n,
            Err(err) => {
                writer.discard();
                return Err(err);
            }
        };
        progress(n_rows);
        if n_rows == 0 {
            writer.discard();
            return Ok((0, None));
        }
        Ok((n_rows, Some(writer.finish().map_err(ServiceError::ExportFile)?)))
    })();
    // When it ended, not when it was asked for.
    let finished = Now::read().iso();
    match result {
        Err(ServiceError::Interrupted) => {
            db.write(|tx| exports::update_export_state(tx, export.id, ExportState::Queued, None, None, None, None))?;
            Err(ServiceError::Interrupted)
        }
        Ok((n_rows, file)) => {
            let name = file.as_ref().and_then(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned());
            let rows = i64::try_from(n_rows).unwrap_or(i64::MAX);
            db.write(|tx| {
                exports::update_export_state(
                    tx,
                    export.id,
                    ExportState::Done,
                    name.as_deref(),
                    Some(rows),
                    None,
                    Some(&finished),
                )
            })?;
            let export = db.read(|c| exports::find_export(c, org.id, export.id))?.unwrap_or_else(|| export.clone());
            Ok(ExportOutcome { export, file })
        }
        Err(err) => {
            let message = err.to_string();
            db.write(|tx| {
                exports::update_export_state(
                    tx,
                    export.id,
                    ExportState::Failed,
                    None,
                    None,
                    Some(&message),
                    Some(&finished),
                )
            })?;
            Err(err)
        }
    }
}

/// The expired-debts export of org `ipa`: open debts of types with a mandatory due date, due before
/// `due_before`; `debt_types` optionally narrows the types. Runs at once.
pub fn export_expired(
    db: &Db,
    data_dir: &Path,
    ipa: &str,
    due_before: &str,
    debt_types: &[String],
    requested_by: &str,
    now: Now,
) -> Result<ExportOutcome, ServiceError> {
    let due: Date =
        due_before.parse().map_err(|_| invalid("PAA_DATE_TO_NON_VALIDO", format!("{due_before:?} is not a date")))?;
    let now_text = now.iso();
    let (org, record) = db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        for code in debt_types {
            match debt_types::find_debt_type(tx, org.id, code)? {
                Some(t) if t.due_date_mandatory => {}
                Some(_) => {
                    return Err(invalid(
                        "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO",
                        format!("debt type {code} has no mandatory due date"),
                    ));
                }
                None => {
                    return Err(invalid(
                        "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO",
                        format!("unknown debt type {code}"),
                    ));
                }
            }
        }
        let record = ExportRecord {
            org_id: org.id,
            kind: "SCADUTI".to_owned(),
            version: "1.0".to_owned(),
            date_from: due.to_string(),
            date_to: due.to_string(),
            debt_types: (!debt_types.is_empty()).then(|| format!(";{};", debt_types.join(";"))),
            requested_by: requested_by.to_owned(),
            state: ExportState::Queued,
            requested_at: now_text.clone(),
            ..ExportRecord::default()
        };
        let id = exports::insert_export(tx, &record, &now_text)?;
        Ok::<_, ServiceError>((org, ExportRecord { id, ..record }))
    })?;
    let stem = expired_export::file_stem(record.id);
    let dir = data_dir.join("export").join(&org.ipa_code);
    let mut writer = ZipCsvWriter::create(&dir, &stem, &expired_export::HEADER).map_err(ServiceError::ExportFile)?;
    let n_rows = db.read_tx(|conn| {
        exports::for_each_expired_debt(conn, org.id, &due.to_string(), record.debt_types.as_deref(), |debt| {
            writer.row(&expired_export::row_fields(debt)).map_err(ServiceError::ExportFile)?;
            Ok::<_, ServiceError>(())
        })
    })?;
    let file = if n_rows == 0 {
        writer.discard();
        None
    } else {
        Some(writer.finish().map_err(ServiceError::ExportFile)?)
    };
    let name = file.as_ref().and_then(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned());
    let rows = i64::try_from(n_rows).unwrap_or(i64::MAX);
    let finished = Now::read().iso();
    db.write(|tx| {
        exports::update_export_state(
            tx,
            record.id,
            ExportState::Done,
            name.as_deref(),
            Some(rows),
            None,
            Some(&finished),
        )
    })?;
    let export = db.read(|c| exports::find_export(c, org.id, record.id))?.unwrap_or(record);
    Ok(ExportOutcome { export, file })
}

/// Runs a queued export (`Job::Export`) to its end state.
pub struct ExportJob {
    pub data_dir: std::path::PathBuf,
    /// The station id written in receipt exports.
    pub station_id: String,
}

impl crate::jobs::Handler for ExportJob {
    fn run(
        &self,
        ctx: &mut crate::jobs::JobCtx<'_>,
        job: &crate::jobs::Job,
    ) -> Result<crate::jobs::Step, crate::jobs::JobError> {
        use crate::jobs::{Job, JobError, Step};
        let Job::Export { export_id } = job else {
            return Err(JobError::Failed(format!("not an export job: {job:?}")));
        };
        let export = ctx.db.read(|c| exports::find_export_by_id(c, *export_id))?;
        let Some(export) = export.filter(|e| !e.state.is_final()) else {
            return Ok(Step::Done);
        };
        let report = ctx.report;
        let mut progress = |rows: u64| report(crate::jobs::Units { done: rows, total: None });
        match run_export_until(
            ctx.db,
            &self.data_dir,
            &self.station_id,
            &export,
            Now::read(),
            &mut progress,
            ctx.cancelled,
        ) {
            Ok(_) => Ok(Step::Done),
            Err(ServiceError::Interrupted) => Err(JobError::Interrupted),
            // The request itself was refused: recorded as ERROR_EXPORT, nothing to retry.
            Err(ServiceError::ExportRefused { .. } | ServiceError::NotFound(_)) => Ok(Step::Done),
            Err(err) => Err(JobError::Failed(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::services::testkit::{IPA, Kit};

    /// An incremental window ends [`INCREMENTAL_SETTLE`] before the booking at the latest, and the
    /// end recorded is the one answered: a receipt whose time (read at 10:00:09, committed a moment
    /// after a booking at 10:00:10) is before `to` would be skipped by both windows; it is after this
    /// window's end, so it is in the next one, which starts there.
    #[test]
    fn an_incremental_window_ends_before_the_receipts_still_committing() {
        let kit = Kit::new();
        let now = Now::at("2026-03-02T09:00:10Z".parse().unwrap());
        let request = |from: &'static str, to: &'static str| ExportRequest {
            ipa: IPA,
            version: "1.3",
            from,
            to,
            incremental: true,
            with_receipt: true,
            debt_types: Vec::new(),
            requested_by: "test",
            operator: None,
        };
        // Asked up to now (10:00:10 in Rome): it ends at 10:00:07.
        let record = request_cursor_export(&kit.db, &request("2026-03-02T09:00:00", "2026-03-02T10:00:10"), false, now);
        let record = record.unwrap();
        assert_eq!(
            (record.date_from.as_str(), record.date_to.as_str()),
            ("2026-03-02T08:00:00Z", "2026-03-02T09:00:07Z")
        );
        assert_eq!(local_date_to(&record), "2026-03-02T10:00:07");
        // An end asked well before the margin is kept.
        let record = request_cursor_export(&kit.db, &request("2026-03-02T09:00:00", "2026-03-02T09:30:00"), false, now);
        assert_eq!(record.unwrap().date_to, "2026-03-02T08:30:00Z");
        // A window starting inside the margin is empty: it ends where it starts.
        let record = request_cursor_export(&kit.db, &request("2026-03-02T10:00:08", "2026-03-02T10:00:10"), false, now);
        let record = record.unwrap();
        assert_eq!(
            (record.date_from.as_str(), record.date_to.as_str()),
            ("2026-03-02T09:00:08Z", "2026-03-02T09:00:08Z")
        );
        // An export asked without a cursor (the CLI's, the back office's) ends where asked.
        let record = request_export(&kit.db, &request("2026-03-02T09:00:00", "2026-03-02T10:00:10"), false, now);
        assert_eq!(record.unwrap().date_to, "2026-03-02T09:00:10Z");
        // Still refused: an end in the future, a start after the end.
        let future = request_cursor_export(&kit.db, &request("2026-03-02T09:00:00", "2026-03-02T10:00:11"), false, now);
        assert!(future.unwrap_err().to_string().starts_with("PAA_DATE_TO_NON_VALIDO"));
    }
}
