//! Reconciliation exports (MyPivot's "flusso riconciliazione", mypivot.md §4): a booking
//! ([`book`]) records the filters, the layout and the row budget in state PRENOTATO; a job
//! ([`ReconExportJob`], or the caller with [`run`]) writes one line per (classified row × label)
//! into `<IPA>-<id>_ESTRAZIONE_RICONCILIAZIONE_<yyyyMMddhhmmss>-<1_x>.zip`, and the booking ends in
//! one of MyPivot's states: EXPORT_ESEGUITO, EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO,
//! NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO, ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE; a wrong
//! layout ends it at once (VERSIONE_TRACCIATO_ERRATA, CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA).
//! [`status`], [`list_visible`], [`find_visible`] and [`file_path`] read it back.
//!
//! Files go to `<data_dir>/export/<ipa>/`, the receipt exports' folder rather than MyPivot's
//! `<yyyy_MM>` subfolders: one download path, one authorization and one retention purge serve
//! both, and nobody reads the folder but mypay (the name still carries the time).
//!
//! A line's blocks are the stored facts of the row, read in the same read transaction as the
//! classification: the notification (I), the receipt's transfer (E), the reporting row and its
//! flow (R), the treasury movements (T: the row's own, else those joined by the flow's IUF, else
//! by IUV; one line each, as MyPivot's view gives a row per joined movement). DOPPI rows are
//! exported like any label (§8 i). The run stops between rows on shutdown: the partial file is
//! removed, the booking stays PRENOTATO and its job runs it again from the start after the
//! restart (one snapshot per file, as receipt exports).
//! A human operator who is not an org admin books only their enabled debt types; a row then needs
//! a debt type (its receipt's, else its notification's) among them.
//! Must never: decide a label (the classification's) or format a line (`flows::recon_export`'s).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::Now;
use crate::domain::reconciliation::Label;
use crate::domain::{Day, Party, ReconExportState};
use crate::flows::recon_export::{
    self, Headers, Institution, Layout, NotificationBlock, PrimaryOrg, ReceiptBlock, ReconCsvZip, ReconExportError,
    ReconRow, ReportingBlock, TreasuryBlock, Version,
};
use crate::jobs::{self, Handler, Job, JobCtx, JobError, Step};
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::orgs::{self, OrgRecord};
use crate::store::recon_exports::{self as rx, ReconExportRecord};
use crate::store::reconciliation::{self as rs, ItemRecord};
use crate::store::{Conn, Db, StoreError, audit, debt_types, operators};

/// MyPivot's `export.max-records`: lines a booking may write unless it says otherwise.
pub const DEFAULT_MAX_ROWS: u64 = 100_000;
/// The most any booking may ask for.
pub const MAX_ROWS_LIMIT: u64 = 10_000_000;
/// `deNomeFlussoE` of an S row: MyPivot's name for the transfers it upserts from another org's receipt.
const SECONDARY_FLOW_NAME: &str = "DOVUTO_MULTIBENEF_RECEIPT";
/// What MyPivot wrote in the FdR row of a legacy Poste line (§1.5): the PSP and the version.
const POSTE_PSP: &str = "BPPIITRRXXX";
const POSTE_OBJECT_VERSION: &str = "1.0";
/// `versioneOggettoR` of a flow whose kept document names none (a REST flow's JSON, or no document):
/// that of the FlussoRiversamento mypay writes of a flow (`flows::fdr::write_flusso`).
const REST_OBJECT_VERSION: &str = "1.0";
/// Rows between two looks at `cancelled` and two progress reports.
const ROWS_PER_STEP: u64 = 256;
/// Budgets of a booking's lists and of each value in them.
const MAX_LIST: usize = 1_000;
const MAX_VALUE_LEN: usize = 64;

/// An inclusive range of days; an open end is `None`. A range with both ends open admits a row
/// without that day too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<Day>,
    pub to: Option<Day>,
}

impl Range {
    fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    fn admits(&self, day: Option<Day>) -> bool {
        if self.is_open() {
            return true;
        }
        day.is_some_and(|d| self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t))
    }
}

/// What a booking selects (MyPivot's booking filters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Empty: every label.
    pub labels: Vec<Label>,
    /// Debt type codes (the receipt's, else the notification's); empty: every row.
    pub debt_types: Vec<String>,
    pub iuvs: Vec<String>,
    /// Compared without case, as MyPivot's ILIKE.
    pub iufs: Vec<String>,
    /// The row's day (payment, else outcome, notification or booking day), as `reconcile list`.
    pub period: Range,
    /// `dtDataUltimoAggiornamento`: the latest day a source of the row was stored.
    pub last_update: Range,
    /// The outcome day: the reporting row's, else the receipt's.
    pub outcome: Range,
    /// The flow's `dataRegolamento`.
    pub settlement: Range,
    /// The treasury's accounting day (data contabile).
    pub accounting: Range,
    /// The treasury's value day (data valuta).
    pub value: Range,
}

/// A booking's request.
#[derive(Debug, Clone)]
pub struct Booking<'a> {
    pub ipa: &'a str,
    /// `1.0` .. `1.4` (anything else is booked, and ends VERSIONE_TRACCIATO_ERRATA).
    pub version: &'a str,
    pub headers: Headers,
    pub filters: Filters,
    /// Lines allowed; `None`: [`DEFAULT_MAX_ROWS`].
    pub max_rows: Option<u64>,
    /// Who asks: `cli`, `operator:<username>`, `api:<token>`, `sil:<ipa>`.
    pub requested_by: &'a str,
    /// A human operator, whose enabled debt types bound the selection.
    pub operator: Option<&'a str>,
}

/// The filters as stored (JSON in `recon_export.filters`): days as text, labels as codes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StoredFilters {
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    debt_types: Vec<String>,
    #[serde(default)]
    iuvs: Vec<String>,
    #[serde(default)]
    iufs: Vec<String>,
    #[serde(default)]
    ranges: Vec<(String, Option<String>, Option<String>)>,
}

const RANGE_NAMES: [&str; 6] = ["period", "last_update", "outcome", "settlement", "accounting", "value"];

impl Filters {
    fn ranges(&self) -> [Range; 6] {
        [self.period, self.last_update, self.outcome, self.settlement, self.accounting, self.value]
    }

    fn to_json(&self) -> String {
        let stored = StoredFilters {
            labels: self.labels.iter().map(|l| l.code().to_owned()).collect(),
            debt_types: self.debt_types.clone(),
            iuvs: self.iuvs.clone(),
            iufs: self.iufs.clone(),
            ranges: RANGE_NAMES
                .iter()
                .zip(self.ranges())
                .filter(|(_, r)| !r.is_open())
                .map(|(name, r)| ((*name).to_owned(), r.from.map(Day::text), r.to.map(Day::text)))
                .collect(),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// The filters of a stored booking.
    pub fn of(record: &ReconExportRecord) -> Result<Filters, ServiceError> {
        let bad = |reason: String| ServiceError::Internal(format!("export {}: filters: {reason}", record.id));
        let stored: StoredFilters = serde_json::from_str(&record.filters).map_err(|e| bad(e.to_string()))?;
        let day = |text: &Option<String>| text.as_deref().map(Day::parse).transpose().map_err(|e| bad(e.to_string()));
        let mut f = Filters {
            labels: stored.labels.iter().filter_map(|c| Label::from_code(c)).collect(),
            debt_types: stored.debt_types,
            iuvs: stored.iuvs,
            iufs: stored.iufs,
            ..Filters::default()
        };
        for (name, from, to) in &stored.ranges {
            let range = Range { from: day(from)?, to: day(to)? };
            match name.as_str() {
                "period" => f.period = range,
                "last_update" => f.last_update = range,
                "outcome" => f.outcome = range,
                "settlement" => f.settlement = range,
                "accounting" => f.accounting = range,
                "value" => f.value = range,
                other => return Err(bad(format!("unknown range {other}"))),
            }
        }
        Ok(f)
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> ServiceError {
    ServiceError::Invalid { field: field.to_owned(), reason: reason.into() }
}

fn check_list(field: &str, values: &[String]) -> Result<(), ServiceError> {
    if values.len() > MAX_LIST {
        return Err(invalid(field, format!("at most {MAX_LIST} values")));
    }
    if let Some(v) = values.iter().find(|v| v.trim().is_empty() || v.len() > MAX_VALUE_LEN) {
        return Err(invalid(field, format!("{v:?} must be 1 to {MAX_VALUE_LEN} characters")));
    }
    Ok(())
}

/// The stored code of a header choice.
fn headers_code(headers: Headers) -> &'static str {
    match headers {
        Headers::MyPivot => "MYPIVOT",
        Headers::P4pa => "P4PA",
    }
}

/// The header choice of a stored booking.
pub fn headers_of(record: &ReconExportRecord) -> Headers {
    if record.headers == "P4PA" { Headers::P4pa } else { Headers::MyPivot }
}

/// Why a layout cannot be written for this org: the final state and its message; `None`: it can.
fn layout_problem(
    version: &str,
    headers: Headers,
    pagati: bool,
    labels: &[Label],
) -> Result<Layout, (ReconExportState, String)> {
    let Some(version) = Version::parse(version) else {
        return Err((ReconExportState::BadVersion, format!("version {version:?} is not one of 1.0 .. 1.4")));
    };
    let layout = Layout::new(version, headers, pagati).map_err(|e| (ReconExportState::BadVersion, e.to_string()))?;
    for label in labels {
        layout.check_label(*label).map_err(|e| (ReconExportState::BadLabel, e.to_string()))?;
    }
    Ok(layout)
}

fn org_of(conn: &Conn, ipa: &str) -> Result<OrgRecord, ServiceError> {
    orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))
}

/// Books an export of org `ipa` (MyPivot's `pivotSILPrenotaExportFlussoRiconciliazione`): checks
/// the filters, records them in state PRENOTATO and, with `queue`, queues its job in the same
/// transaction (without, the caller runs it with [`run`]). A version that is not 1.0..1.4 (or P4PA
/// names outside 1.3/1.4) is booked as VERSIONE_TRACCIATO_ERRATA, and 1.2 asking notification
/// labels of an org without notifications as CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA: both final,
/// as MyPivot answers them through the booking's state. Refused (nothing recorded): an unknown
/// org or debt type, a debt type not enabled for `operator`, a list or value over its budget, a
/// range whose start is after its end.
pub fn book(db: &Db, req: &Booking<'_>, queue: bool, now: Now) -> Result<ReconExportRecord, ServiceError> {
    let f = &req.filters;
    check_list("debt_types", &f.debt_types)?;
    check_list("iuvs", &f.iuvs)?;
    check_list("iufs", &f.iufs)?;
    for (name, range) in RANGE_NAMES.iter().zip(f.ranges()) {
        if let (Some(from), Some(to)) = (range.from, range.to)
            && from > to
        {
            return Err(invalid(name, format!("from {from} is after to {to}")));
        }
    }
    let max_rows = req.max_rows.unwrap_or(DEFAULT_MAX_ROWS);
    if max_rows == 0 || max_rows > MAX_ROWS_LIMIT {
        return Err(invalid("max_rows", format!("must be 1 to {MAX_ROWS_LIMIT}")));
    }
    let now_text = now.iso();
    db.write(|tx| {
        let org = org_of(tx, req.ipa)?;
        let mut filters = req.filters.clone();
        for code in &filters.debt_types {
            if debt_types::find_debt_type(tx, org.id, code)?.is_none() {
                return Err(invalid("debt_types", format!("unknown debt type {code}")));
            }
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
                if filters.debt_types.is_empty() {
                    if enabled.is_empty() {
                        return Err(ServiceError::ExportRefused {
                            code: "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO",
                            message: "no debt type is enabled for you".to_owned(),
                        });
                    }
                    filters.debt_types = enabled;
                } else if let Some(code) = filters.debt_types.iter().find(|c| !enabled.contains(c)) {
                    return Err(ServiceError::ExportRefused {
                        code: "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO",
                        message: format!("debt type {code} is not enabled for you"),
                    });
                }
            }
        }
        let flags = rs::get_flags(tx, org.id)?;
        let problem = layout_problem(req.version, req.headers, flags.pagati, &filters.labels).err();
        let mut record = ReconExportRecord {
            org_id: org.id,
            version: req.version.trim().chars().take(16).collect(),
            headers: headers_code(req.headers).to_owned(),
            filters: filters.to_json(),
            max_rows: i64::try_from(max_rows).unwrap_or(i64::MAX),
            requested_by: req.requested_by.to_owned(),
            state: ReconExportState::Booked,
            requested_at: now_text.clone(),
            ..ReconExportRecord::default()
        };
        if let Some((state, message)) = &problem {
            record.state = *state;
            record.error = Some(message.clone());
            record.finished_at = Some(now_text.clone());
        }
        let id = rx::insert(tx, &record)?;
        audit::insert_audit(
            tx,
            &audit::AuditEntry {
                actor: req.requested_by,
                org_id: Some(org.id),
                action: "reconciliation.export",
                object: Some(&format!("recon_export:{id}")),
                outcome: record.state.code(),
                after_json: Some(&record.filters),
                ..Default::default()
            },
            &now_text,
        )?;
        if queue && problem.is_none() {
            jobs::enqueue(tx, &Job::ReconExport { export_id: id }, now)?;
        }
        Ok(ReconExportRecord { id, ..record })
    })
}

/// Booking `id` of org `ipa` (MyPivot's `pivotSILChiediStatoExportFlussoRiconciliazione`): its
/// state, and once done its file's name; `None` when the org has no such booking.
pub fn status(db: &Db, ipa: &str, id: i64) -> Result<Option<ReconExportRecord>, ServiceError> {
    db.read(|conn| {
        let org = org_of(conn, ipa)?;
        Ok(rx::find(conn, org.id, id)?)
    })
}

/// The org's latest `limit` bookings, newest first.
pub fn list(db: &Db, org_id: i64, limit: u32) -> Result<Vec<ReconExportRecord>, ServiceError> {
    Ok(db.read(|conn| rx::list(conn, org_id, limit))?)
}

/// Booking `id` of the org with id `org_id`.
pub fn find(db: &Db, org_id: i64, id: i64) -> Result<Option<ReconExportRecord>, ServiceError> {
    Ok(db.read(|conn| rx::find(conn, org_id, id))?)
}

/// The codes of the debt types `access` may see; `None`: all of them.
fn enabled_codes(db: &Db, access: &OrgAccess) -> Result<Option<Vec<String>>, ServiceError> {
    let Some(ids) = &access.allowed_types else { return Ok(None) };
    let types = db.read(|conn| debt_types::list_debt_types(conn, access.org.id))?;
    Ok(Some(types.into_iter().filter(|t| ids.contains(&t.id)).map(|t| t.code).collect()))
}

/// Whether `access` may see a booking: an admin every one; an operator their own, and those
/// limited to debt types all enabled for them (as receipt exports).
fn visible(access: &OrgAccess, enabled: Option<&[String]>, record: &ReconExportRecord) -> bool {
    let Some(enabled) = enabled else { return true };
    if record.requested_by == format!("operator:{}", access.username) {
        return true;
    }
    Filters::of(record)
        .is_ok_and(|f| !f.debt_types.is_empty() && f.debt_types.iter().all(|c| enabled.iter().any(|e| e == c)))
}

/// The latest `limit` bookings of `access`'s org it may see, newest first.
pub fn list_visible(db: &Db, access: &OrgAccess, limit: u32) -> Result<Vec<ReconExportRecord>, ServiceError> {
    let enabled = enabled_codes(db, access)?;
    Ok(list(db, access.org.id, limit)?.into_iter().filter(|e| visible(access, enabled.as_deref(), e)).collect())
}

/// Booking `id` of `access`'s org when it may see it.
pub fn find_visible(db: &Db, access: &OrgAccess, id: i64) -> Result<Option<ReconExportRecord>, ServiceError> {
    let enabled = enabled_codes(db, access)?;
    Ok(find(db, access.org.id, id)?.filter(|e| visible(access, enabled.as_deref(), e)))
}

/// The ZIP of a done booking of the org `ipa`, while the retention purge has not deleted it.
pub fn file_path(data_dir: &Path, ipa: &str, record: &ReconExportRecord) -> Option<PathBuf> {
    let name = record.file_name.as_deref()?;
    if record.state != ReconExportState::Done || record.file_purged_at.is_some() {
        return None;
    }
    Some(data_dir.join("export").join(ipa).join(name))
}

/// Why a run stopped before its end.
enum Stop {
    Interrupted,
    TooMany,
    BadLabel(String),
    Failed(ServiceError),
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Stop {
        Stop::Failed(err.into())
    }
}

/// Runs a booked export to its final state, streaming lines into the ZIP; `progress` gets the
/// lines written so far every few hundred rows. Stops between rows when `cancelled` says so:
/// then the partial file is removed, the booking stays PRENOTATO, and the answer is
/// [`ServiceError::Interrupted`]. A failure is recorded as ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE
/// and returned.
pub fn run(
    db: &Db,
    data_dir: &Path,
    station_id: &str,
    record: &ReconExportRecord,
    progress: &mut dyn FnMut(u64),
    cancelled: &dyn Fn() -> bool,
) -> Result<ReconExportRecord, ServiceError> {
    let Some(org) = db.read(|c| orgs::find_org_by_id(c, record.org_id))? else {
        return Err(ServiceError::NotFound(format!("org {}", record.org_id)));
    };
    let finish = |state: ReconExportState, file: Option<&str>, rows: Option<u64>, error: Option<&str>| {
        let finished = Now::read().iso();
        let rows = rows.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let finished = state.is_final().then_some(finished);
        db.write(|tx| rx::update_state(tx, record.id, state, file, rows, error, finished.as_deref()))?;
        let found = db.read(|c| rx::find(c, org.id, record.id))?;
        Ok::<_, ServiceError>(found.unwrap_or_else(|| record.clone()))
    };
    let filters = match Filters::of(record) {
        Ok(f) => f,
        Err(err) => {
            finish(ReconExportState::Failed, None, None, Some(&err.to_string()))?;
            return Err(err);
        }
    };
    // What arrived since the last classification (receipts, flows) is classified first: the file
    // reflects the facts stored when it is made.
    match super::reconcile_pending(db, org.id, cancelled) {
        Ok(_) => {}
        Err(ServiceError::Interrupted) => return Err(ServiceError::Interrupted),
        Err(err) => {
            finish(ReconExportState::Failed, None, None, Some(&err.to_string()))?;
            return Err(err);
        }
    }
    let flags = db.read(|c| rs::get_flags(c, org.id))?;
    let layout = match layout_problem(&record.version, headers_of(record), flags.pagati, &filters.labels) {
        Ok(layout) => layout,
        Err((state, message)) => return finish(state, None, None, Some(&message)),
    };
    let stem = recon_export::file_stem(layout.version, &org.ipa_code, record.id, &Now::read().rome());
    let dir = data_dir.join("export").join(&org.ipa_code);
    let path = dir.join(format!("{stem}.zip"));
    let partial = dir.join(format!(".{stem}.zip.partial"));
    let max_rows = u64::try_from(record.max_rows).unwrap_or(0);
    let written = (|| -> Result<u64, Stop> {
        std::fs::create_dir_all(&dir).map_err(|e| Stop::Failed(ServiceError::ExportFile(e)))?;
        let file = File::create(&partial).map_err(|e| Stop::Failed(ServiceError::ExportFile(e)))?;
        let mut zip = ReconCsvZip::start(BufWriter::new(file), &stem, layout).map_err(export_error)?;
        let mut seen = 0u64;
        // `versioneOggetto` by flow id: read once per flow, not once per row.
        let mut versions = HashMap::new();
        db.read_tx(|conn| {
            rx::for_each_item(conn, org.id, filters.period.from, filters.period.to, |item| {
                seen += 1;
                if seen % ROWS_PER_STEP == 1 {
                    if cancelled() {
                        return Err(Stop::Interrupted);
                    }
                    progress(zip.lines());
                }
                for (row, labels) in lines_of(conn, &org, station_id, &filters, item, &mut versions)? {
                    zip.write(&row, &labels).map_err(export_error)?;
                    if zip.lines() > max_rows {
                        return Err(Stop::TooMany);
                    }
                }
                Ok(())
            })
        })?;
        let lines = zip.lines();
        progress(lines);
        let mut out = zip.finish().map_err(export_error)?;
        out.flush().map_err(|e| Stop::Failed(ServiceError::ExportFile(e)))?;
        out.get_ref().sync_all().map_err(|e| Stop::Failed(ServiceError::ExportFile(e)))?;
        Ok(lines)
    })();
    let outcome = match written {
        Ok(0) => {
            let _ = std::fs::remove_file(&partial);
            finish(ReconExportState::NothingFound, None, Some(0), None)
        }
        Ok(lines) => match std::fs::rename(&partial, &path) {
            Ok(()) => finish(ReconExportState::Done, Some(&format!("{stem}.zip")), Some(lines), None),
            Err(err) => {
                let _ = std::fs::remove_file(&partial);
                let err = ServiceError::ExportFile(err);
                finish(ReconExportState::Failed, None, None, Some(&err.to_string()))?;
                Err(err)
            }
        },
        Err(stop) => {
            let _ = std::fs::remove_file(&partial);
            match stop {
                Stop::Interrupted => {
                    finish(ReconExportState::Booked, None, None, None)?;
                    Err(ServiceError::Interrupted)
                }
                Stop::TooMany => {
                    let message = format!("more than {max_rows} lines");
                    finish(ReconExportState::TooManyRows, None, None, Some(&message))
                }
                Stop::BadLabel(message) => finish(ReconExportState::BadLabel, None, None, Some(&message)),
                Stop::Failed(err) => {
                    finish(ReconExportState::Failed, None, None, Some(&err.to_string()))?;
                    Err(err)
                }
            }
        }
    };
    if let Ok(done) = &outcome {
        tracing::info!(export = done.id, state = done.state.code(), rows = ?done.rows, "reconciliation export ended");
    }
    outcome
}

fn export_error(err: ReconExportError) -> Stop {
    match err {
        ReconExportError::LabelNeedsNotifications(_) => Stop::BadLabel(err.to_string()),
        ReconExportError::P4paVersion(_) => Stop::Failed(ServiceError::Internal(err.to_string())),
        ReconExportError::Io(io) => Stop::Failed(ServiceError::ExportFile(io)),
    }
}

/// The lines of `item` with the labels the booking asks for, those the filters admit: one per
/// treasury movement joined to it (MyPivot's view gives a row per joined movement), else one.
fn lines_of(
    conn: &Conn,
    org: &OrgRecord,
    station_id: &str,
    f: &Filters,
    item: &ItemRecord,
    versions: &mut HashMap<i64, String>,
) -> Result<Vec<(ReconRow, Vec<Label>)>, StoreError> {
    let labels: Vec<Label> =
        item.labels.iter().copied().filter(|l| f.labels.is_empty() || f.labels.contains(l)).collect();
    if labels.is_empty() {
        return Ok(Vec::new());
    }
    if !f.iuvs.is_empty() && !item.iuv.as_ref().is_some_and(|iuv| f.iuvs.iter().any(|v| v.trim() == iuv)) {
        return Ok(Vec::new());
    }
    if !f.iufs.is_empty()
        && !item.iuf.as_ref().is_some_and(|iuf| f.iufs.iter().any(|v| v.trim().eq_ignore_ascii_case(iuf)))
    {
        return Ok(Vec::new());
    }
    let (base, movements, debt_type) = row_of(conn, org, station_id, item, versions)?;
    if !f.debt_types.is_empty() && !debt_type.as_ref().is_some_and(|t| f.debt_types.contains(t)) {
        return Ok(Vec::new());
    }
    let outcome_day = base
        .reporting
        .as_ref()
        .and_then(|r| r.outcome_day)
        .or_else(|| base.receipt.as_ref().and_then(|e| e.transfer_outcome_day));
    let settlement_day = base.reporting.as_ref().and_then(|r| r.settlement_day);
    if !(f.outcome.admits(outcome_day) && f.settlement.admits(settlement_day)) {
        return Ok(Vec::new());
    }
    let treasuries: Vec<Option<TreasuryBlock>> =
        if movements.is_empty() { vec![None] } else { movements.into_iter().map(Some).collect() };
    let mut lines = Vec::with_capacity(treasuries.len());
    for treasury in treasuries {
        let mut row = base.clone();
        row.treasury = treasury;
        row.last_update = [
            row.notification.as_ref().and_then(|n| n.acquired_on),
            row.receipt.as_ref().and_then(|e| e.acquired_on),
            row.reporting.as_ref().and_then(|r| r.acquired_on),
            row.treasury.as_ref().and_then(|t| t.acquired_on),
        ]
        .into_iter()
        .flatten()
        .max();
        let t = row.treasury.as_ref();
        let admitted = f.last_update.admits(row.last_update)
            && f.accounting.admits(t.and_then(|t| t.booking_day))
            && f.value.admits(t.and_then(|t| t.value_day));
        if admitted {
            lines.push((row, labels.clone()));
        }
    }
    Ok(lines)
}

/// The Rome day of a stored UTC instant.
fn rome_day(instant: &str) -> Option<Day> {
    crate::clock::rome_local(instant).map(|t| Day::from(t.date()))
}

/// A stored day, or the day of a stored date-time.
fn day_of(text: &str) -> Option<Day> {
    text.get(..10).and_then(|d| Day::parse(d).ok())
}

/// The blocks of a classified row from the facts stored now but its treasury, the treasury
/// movements joined to it (its own; else those of the flow's IUF, else those of its IUV), and the
/// row's debt type.
fn row_of(
    conn: &Conn,
    org: &OrgRecord,
    station_id: &str,
    item: &ItemRecord,
    versions: &mut HashMap<i64, String>,
) -> Result<(ReconRow, Vec<TreasuryBlock>, Option<String>), StoreError> {
    let mut row = ReconRow::default();
    let mut debt_type = None;
    if item.n_cents.is_some()
        && let Some(iud) = &item.iud
        && let Some(n) = rx::notification(conn, org.id, iud)?
    {
        debt_type = Some(n.fact.debt_type.clone());
        let acquired = rome_day(&n.stored_at).unwrap_or(n.fact.paid_on);
        row.notification = Some(NotificationBlock::of(&n.fact, n.upload_id, acquired));
    }
    // A row paid without RPT (FdR outcome 8 or 9) joins no receipt by its IUR; when a receipt of
    // its IUV exists all the same, its E block is that receipt's.
    let implicit = item.receipt_row.is_none() && matches!(item.r_outcome.as_deref(), Some("8" | "9"));
    let receipt_row = match (item.receipt_row, &item.iuv, item.transfer_index) {
        (Some(id), _, _) => Some(id),
        (None, Some(iuv), Some(index)) if implicit => rx::receipt_of_iuv(conn, org.id, &org.fiscal_code, iuv, index)?,
        _ => None,
    };
    if let (Some(receipt_row), Some(index)) = (receipt_row, item.transfer_index)
        && let Some(found) = rx::receipt_transfer(conn, org.id, &org.fiscal_code, receipt_row, index)?
    {
        let e = found.row;
        if e.secondary {
            // An S row (§1.7): the collecting org's debt type is not one of this org's, so it
            // neither selects the row nor names it; its data goes to 1.4's `*_pa1` columns.
            let t = found.primary_type.unwrap_or_default();
            row.primary = Some(PrimaryOrg {
                debt_type_code: t.code,
                debt_type_name: t.name,
                taxonomy_code: t.taxonomy_code,
                fiscal_code: e.primary_fiscal_code.clone(),
                name: e.primary_name.clone(),
            });
        } else if e.debt_type_code.is_some() {
            debt_type = e.debt_type_code.clone();
        }
        row.receipt = Some(receipt_block(org, station_id, e));
    }
    if item.r_cents.is_some()
        && let (Some(iuf), Some(iuv), Some(iur)) = (&item.iuf, &item.iuv, &item.iur)
        && let Some(r) = rx::reported(conn, org.id, iuf, iuv, iur, item.transfer_index.unwrap_or(1))?
    {
        let object_version = match versions.get(&r.flow_id) {
            Some(v) => v.clone(),
            None => {
                let v = rx::flow_object_version(conn, r.flow_id)?.unwrap_or_else(|| REST_OBJECT_VERSION.to_owned());
                versions.insert(r.flow_id, v.clone());
                v
            }
        };
        row.reporting = Some(ReportingBlock {
            upload_id: None,
            object_version,
            iuf: r.iuf,
            flow_at: r.flow_date.as_deref().and_then(crate::clock::rome_local),
            settlement_id: r.settlement_id.unwrap_or_default(),
            settlement_day: r.settlement_date.as_deref().and_then(day_of),
            sender: Party {
                kind: "B".to_owned(),
                id: r.psp_id,
                name: r.psp_name.unwrap_or_default(),
                ..Party::default()
            },
            receiver: Party {
                kind: "G".to_owned(),
                id: org.fiscal_code.clone(),
                name: org.name.clone(),
                ..Party::default()
            },
            total_count: r.total_payments,
            total_amount: r.total_amount,
            iuv: r.iuv,
            iur: r.iur,
            amount: Some(r.amount),
            outcome_code: r.outcome_code,
            outcome_day: day_of(&r.outcome_date),
            acquired_on: rome_day(&r.fetched_at),
        });
    }
    if let Some(key) = &item.poste_key
        && let Some(p) = rx::poste_line(conn, org.id, key)?
    {
        row.reporting = Some(poste_block(org, p));
    }
    let movement_ids: Vec<i64> = match item.movement_id {
        Some(id) => vec![id],
        None if item.t_count > 0 => {
            let by_iuf = match (&item.iuf, item.r_cents) {
                (Some(iuf), Some(_)) => rs::movements_by_iuf(conn, org.id, iuf)?,
                _ => Vec::new(),
            };
            let found = match (by_iuf.is_empty(), &item.iuv) {
                (false, _) => by_iuf,
                (true, Some(iuv)) => rs::movements_by_iuv(conn, org.id, iuv)?,
                (true, None) => Vec::new(),
            };
            found.into_iter().map(|m| m.id).collect()
        }
        None => Vec::new(),
    };
    let mut treasury = Vec::with_capacity(movement_ids.len());
    for id in movement_ids {
        if let Some(m) = rx::movement(conn, org.id, id)? {
            let acquired = rome_day(&m.stored_at).unwrap_or(m.fact.booking_day);
            treasury.push(TreasuryBlock::of(&m.fact, m.upload_id, acquired));
        }
    }
    Ok((row, treasury, debt_type))
}

/// The R block of a legacy Poste line: MyPivot made each one an FdR row of Poste's (§1.5), with the
/// flow's IUF the operator gave; the line has no IUV, its day is the operation's.
fn poste_block(org: &OrgRecord, p: rx::PosteFact) -> ReportingBlock {
    ReportingBlock {
        upload_id: p.upload_id,
        object_version: POSTE_OBJECT_VERSION.to_owned(),
        iuf: p.iuf.unwrap_or_default(),
        flow_at: None,
        settlement_id: String::new(),
        settlement_day: None,
        sender: Party { kind: "B".to_owned(), id: POSTE_PSP.to_owned(), ..Party::default() },
        receiver: Party {
            kind: "G".to_owned(),
            id: org.fiscal_code.clone(),
            name: org.name.clone(),
            ..Party::default()
        },
        total_count: p.flow_count,
        total_amount: p.flow_total,
        iuv: String::new(),
        iur: p.line.iur,
        amount: Some(p.line.amount),
        outcome_code: "0".to_owned(),
        outcome_day: Some(p.line.operation_day),
        acquired_on: p.stored_at.as_deref().and_then(rome_day),
    }
}

/// The E block of a receipt's transfer: the columns a receipt export 1.2 writes for it (§7.2).
fn receipt_block(org: &OrgRecord, station_id: &str, e: crate::store::exports::ExportRow) -> ReceiptBlock {
    let (psp_kind, psp_code) = match &e.psp_fiscal_code {
        Some(code) => ("G", code.clone()),
        None => ("B", e.psp_id.clone()),
    };
    let receipt_at = e.payment_date_time.as_deref().and_then(crate::clock::rome_local).or_else(|| {
        // Stored as UTC when the Node sent no local time.
        crate::clock::rome_local(&e.received_at)
    });
    // An S row is MyPivot's upsert of the transfer alone (§1.7): its own flow name, debt type and
    // amounts; the collecting org's debt (its collection data, its bilancio) is not this org's.
    let (flow_name, debt_type, total_paid, collection_data, bilancio) = if e.secondary {
        (
            SECONDARY_FLOW_NAME.to_owned(),
            crate::flows::rt_export::SECONDARY_DEBT_TYPE.to_owned(),
            e.transfer_amount_cents,
            format!("9/{}/", e.transfer_category),
            None,
        )
    } else {
        (
            crate::flows::rt_export::pseudo_flow(&org.ipa_code, e.debt_source.as_deref()),
            e.debt_type_code.clone().unwrap_or_default(),
            e.amount_cents,
            e.collection_data.clone().unwrap_or_else(|| format!("9/{}/", e.transfer_category)),
            e.bilancio.clone(),
        )
    };
    ReceiptBlock {
        upload_id: None,
        flow_name,
        flow_row: Some(1),
        // The collecting org's debt key joins nothing of this org's.
        iud: if e.secondary { None } else { e.iud.clone() },
        iuv: e.iuv.clone(),
        object_version: "6.2.0".to_owned(),
        domain_id: org.fiscal_code.clone(),
        station_id: station_id.to_owned(),
        receipt_message_id: e.receipt_id.clone(),
        receipt_at,
        request_message_ref: e.receipt_id.clone(),
        request_day: Some(e.payment_date),
        attestor: Institution {
            party: Party {
                kind: psp_kind.to_owned(),
                id: psp_code,
                name: e.psp_company_name.clone(),
                ..Party::default()
            },
            unit_code: None,
            unit_name: None,
        },
        beneficiary: Institution {
            party: Party {
                kind: "G".to_owned(),
                id: org.fiscal_code.clone(),
                name: org.name.clone(),
                address: org.address.clone(),
                civic_number: org.civic_number.clone(),
                postal_code: org.postal_code.clone(),
                city: org.city.clone(),
                province: org.province.clone(),
                country: org.country.clone(),
                email: None,
            },
            unit_code: None,
            unit_name: None,
        },
        payer: e.payer.clone(),
        debtor: e.debtor.clone(),
        outcome_code: "0".to_owned(),
        total_paid: Some(total_paid),
        context_code: e.receipt_id.clone(),
        transfer_amount: Some(e.transfer_amount_cents),
        transfer_outcome: "ESEGUITO".to_owned(),
        transfer_outcome_day: Some(e.payment_date),
        iur: e.receipt_id.clone(),
        causale: e.causale.clone().unwrap_or_else(|| e.description.clone()),
        collection_data,
        debt_type,
        acquired_on: rome_day(&e.received_at),
        bilancio,
    }
}

/// Runs a booked reconciliation export (`Job::ReconExport`) to its final state.
pub struct ReconExportJob {
    pub data_dir: PathBuf,
    /// The station id written in the E block.
    pub station_id: String,
}

impl Handler for ReconExportJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::ReconExport { export_id } = job else {
            return Err(JobError::Failed(format!("not a reconciliation export job: {job:?}")));
        };
        let record = ctx.db.read(|c| rx::find_by_id(c, *export_id))?;
        let Some(record) = record.filter(|e| !e.state.is_final()) else {
            return Ok(Step::Done);
        };
        let report = ctx.report;
        let mut progress = |lines: u64| report(jobs::Units { done: lines, total: None });
        match run(ctx.db, &self.data_dir, &self.station_id, &record, &mut progress, ctx.cancelled) {
            Ok(_) => Ok(Step::Done),
            Err(ServiceError::Interrupted) => Err(JobError::Interrupted),
            // Recorded as ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE: booked again by a person, not retried.
            Err(ServiceError::NotFound(_) | ServiceError::Internal(_)) => Ok(Step::Done),
            Err(err) => Err(JobError::Failed(err.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
