//! Polling the regional MyPay for the receipts of an org's debts, which needs no inbound
//! connection (issue 18, "Outcomes back" (b)): MyPay's incremental receipt export
//! (`paaSILPrenotaExportFlussoIncrementaleConRicevuta`, then `paaSILChiediStatoExportFlusso` and
//! the download) with a durable per-org cursor (`store::upstream_poll`).
//!
//! [`poll`] does one step and never waits: the driver calls it every few seconds. Without a
//! pending reservation it reserves from the cursor to the Region's now and stores the token and
//! the answered `dateTo` before anything else; with one it asks the state; once the export is ready
//! it downloads the ZIP to a file in the data directory (bounded), reads the rows
//! (`flows::rt_export_reader`) and applies each receipt through `outcomes::apply` (no further
//! confirmation: the export is the Region's own data). Only then does the cursor move to the
//! `dateTo` and the reservation go, in one write; each window starts [`OVERLAP_SECONDS`] before the
//! cursor, so a receipt committed late at the Region is in the next one. Re-applying a file is harmless (a receipt already
//! stored is a replay), so a failure or a shutdown half-way keeps the reservation and the next
//! poll applies the file again; a box offline for a day catches up in one reservation.
//!
//! The first cursor is [`FIRST_WINDOW_DAYS`] before the first poll, in Rome time; the upstream
//! setup moves it with [`start_at`] (e.g. to the org's setup time minus a margin). An empty window
//! (`EXPORT_ESEGUITO_NESSUN_DOVUTO_TROVATO`, or `PAA_DATI_NON_TROVATI` when asking its state)
//! advances the cursor to the reservation's `dateTo`; an export the Region failed or a token it no
//! longer knows drops the reservation and keeps the cursor (the window is reserved again); any
//! other failure keeps both and is recorded as the org's last error.
//!
//! Rows that pay no debt of the org are skipped and counted: receipts where the org is only a
//! secondary beneficiary (`EXPORT_ENTE_SECONDARIO`), payments recorded outside pagoPA
//! (`PAGATO CON RENDICONTAZIONE 9`, no receipt), rows of another creditor or without an IUV.

use std::path::{Path, PathBuf};

use super::outcomes::{self, ExportState, PaidLine, RegionFailure, RegionOutcomes, RegionPayment, Reserved};
use crate::clock::Now;
use crate::domain::Cents;
use crate::flows::rt_export::{EXTERNAL_OUTCOME, SECONDARY_DEBT_TYPE};
use crate::flows::rt_export_reader::{ExportZip, ReadError, ReceiptRow};
use crate::services::ServiceError;
use crate::services::payments::ReceiptOutcome;
use crate::store::upstream_poll::{self, Reservation};
use crate::store::{Db, orgs};

/// How far back the first poll of an org reaches.
pub const FIRST_WINDOW_DAYS: i64 = 7;

/// How far before the cursor each window starts: a receipt the Region timestamped just before a
/// window's `dateTo` but committed after its export ran is in no window of its own; asking again
/// from a little earlier takes it in the next one, whatever Region answers (the receipts already
/// stored are replays, applied once).
pub const OVERLAP_SECONDS: i64 = 300;
/// The largest export ZIP downloaded.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;
/// The most its CSV may inflate to (rows are streamed: memory stays flat).
pub const MAX_CSV_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// A receipt pays at most five dovuti (MyPay's `datiSingoloPagamento`).
const MAX_LINES: usize = 5;

/// What one [`poll`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollStep {
    /// An export was reserved; its state is asked next time.
    Reserved { token: String, date_to: String },
    /// The Region is still preparing the export.
    Pending,
    /// The export was applied and the cursor advanced.
    Applied(PollReport),
    /// The window held nothing: the cursor advanced to `cursor`.
    Empty { cursor: String },
    /// The Region dropped the reservation (a failed export, an unknown token): the same window is
    /// reserved again next time.
    Dropped(String),
    /// A failure that keeps cursor and reservation; try again later.
    Retry(String),
    /// Stopped between two receipts by a shutdown; the next poll applies the file again.
    Stopped,
}

/// What an applied export held.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollReport {
    /// The cursor now.
    pub cursor: String,
    /// Rows read.
    pub rows: u64,
    /// Receipts stored.
    pub stored: u64,
    /// Receipts already stored (a push, an earlier poll).
    pub replays: u64,
    /// Rows of no debt of the org (see the module doc).
    pub skipped: u64,
}

/// The org's polling state, if it ever polled.
#[cfg(test)]
pub fn status(db: &Db, org_id: i64) -> Result<Option<upstream_poll::PollRecord>, ServiceError> {
    Ok(db.read(|c| upstream_poll::find_poll(c, org_id))?)
}

/// Moves the org's cursor to `from` (a date-time, Rome time), forgetting any reservation.
#[allow(dead_code, reason = "a cursor set by hand; the first poll starts a week back by itself")]
pub fn start_at(db: &Db, org_id: i64, from: &str, now: Now) -> Result<(), ServiceError> {
    let from = from.trim();
    let parsed = from.parse::<jiff::civil::DateTime>().map_err(|_| {
        ServiceError::invalid("poll-from", format!("{from:?} is not a date-time (YYYY-MM-DDTHH:MM:SS)"))
    })?;
    let cursor = parsed.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    db.write(|tx| {
        orgs::find_org_by_id(tx, org_id)?.ok_or_else(|| ServiceError::NotFound(format!("org {org_id}")))?;
        upstream_poll::insert_poll_if_absent(tx, org_id, &cursor, &now.iso())?;
        upstream_poll::update_cursor(tx, org_id, &cursor, &now.iso())?;
        Ok(())
    })
}

/// The first cursor: [`FIRST_WINDOW_DAYS`] before `now`, Rome time.
fn first_cursor(now: Now) -> String {
    let back = jiff::SignedDuration::from_hours(24 * FIRST_WINDOW_DAYS);
    let start = now.instant().checked_sub(back).unwrap_or(now.instant());
    start.to_zoned(crate::clock::rome()).strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

/// The window's start: [`OVERLAP_SECONDS`] before `cursor` (a Rome date-time as stored); a
/// cursor that is no time is sent as it is.
fn overlapped(cursor: &str) -> String {
    match crate::clock::rome_local(cursor)
        .and_then(|at| at.checked_sub(jiff::SignedDuration::from_secs(OVERLAP_SECONDS)).ok())
    {
        Some(from) => from.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        None => cursor.to_owned(),
    }
}

/// One step of the org's polling (see the module doc). `cancelled` is looked at between receipts.
pub fn poll(
    db: &Db,
    org_id: i64,
    region: &dyn RegionOutcomes,
    data_dir: &Path,
    now: Now,
    cancelled: &dyn Fn() -> bool,
) -> Result<PollStep, ServiceError> {
    let state = db.write(|tx| {
        orgs::find_org_by_id(tx, org_id)?.ok_or_else(|| ServiceError::NotFound(format!("org {org_id}")))?;
        Ok::<_, ServiceError>(upstream_poll::insert_poll_if_absent(tx, org_id, &first_cursor(now), &now.iso())?)
    })?;
    if cancelled() {
        return Ok(PollStep::Stopped);
    }
    let step = Step { db, org_id, now };
    let Some(reservation) = state.reservation else {
        return step.reserve(region, &state.cursor);
    };
    match region.export_status(&reservation.token) {
        Ok(ExportState::Pending) => Ok(PollStep::Pending),
        Ok(ExportState::Empty) => step.advance_empty(&reservation),
        Ok(ExportState::Ready { url }) => {
            let window = format!("receipt export {} to {}", state.cursor, reservation.date_to);
            step.fetch(region, &download_path(data_dir, org_id), &url, &window, &reservation, cancelled)
        }
        Ok(ExportState::Failed { state }) => step.drop_reservation(&format!("the Region's export ended in {state}")),
        Err(failure) => match failure.code.as_deref().map(str::trim) {
            Some("PAA_DATI_NON_TROVATI") => step.advance_empty(&reservation),
            Some("PAA_REQUEST_TOKEN_NON_VALIDO") => step.drop_reservation(&failure.to_string()),
            _ => step.record_failure(&failure.to_string(), 0),
        },
    }
}

/// Where an org's export is downloaded: a fixed name per org (one poll at a time), removed after.
fn download_path(data_dir: &Path, org_id: i64) -> PathBuf {
    data_dir.join("upstream").join(format!(".receipts-{org_id}.zip.partial"))
}

fn cut(text: &str) -> String {
    text.chars().take(64).collect()
}

/// One poll of one org.
struct Step<'a> {
    db: &'a Db,
    org_id: i64,
    now: Now,
}

impl Step<'_> {
    /// Reserves the window from `cursor`, storing the token before anything waits for it.
    fn reserve(&self, region: &dyn RegionOutcomes, cursor: &str) -> Result<PollStep, ServiceError> {
        let from = overlapped(cursor);
        let Reserved { token, date_to } = match region.reserve_export(&from, None) {
            Ok(reserved) => reserved,
            Err(failure) => return self.record_failure(&failure.to_string(), 0),
        };
        let (token, date_to) = (token.trim().to_owned(), date_to.trim().to_owned());
        // The dateTo becomes the next dateFrom: one that is not a time would stop the polling for good.
        if token.is_empty() || token.len() > 4096 || date_to.len() > 35 || crate::clock::rome_local(&date_to).is_none()
        {
            let failure = RegionFailure {
                retryable: true,
                code: None,
                text: format!(
                    "the Region answered the reservation with token {:?} and dateTo {:?}",
                    cut(&token),
                    cut(&date_to)
                ),
            };
            return self.record_failure(&failure.to_string(), 0);
        }
        let reservation = Reservation { token, date_to };
        self.db.write(|tx| upstream_poll::update_reserved(tx, self.org_id, &reservation, &self.now.iso()))?;
        tracing::info!(org_id = self.org_id, from = %cursor, to = %reservation.date_to, "receipt export reserved at the Region");
        Ok(PollStep::Reserved { token: reservation.token, date_to: reservation.date_to })
    }

    fn advance_empty(&self, reservation: &Reservation) -> Result<PollStep, ServiceError> {
        self.db.write(|tx| upstream_poll::update_applied(tx, self.org_id, 0, &self.now.iso()))?;
        Ok(PollStep::Empty { cursor: reservation.date_to.clone() })
    }

    fn drop_reservation(&self, reason: &str) -> Result<PollStep, ServiceError> {
        tracing::warn!(
            org_id = self.org_id,
            reason,
            "the Region dropped the receipt export: the window is reserved again"
        );
        self.db.write(|tx| upstream_poll::update_dropped(tx, self.org_id, reason, &self.now.iso()))?;
        Ok(PollStep::Dropped(reason.to_owned()))
    }

    /// Records a failure that keeps cursor and reservation, counting the receipts stored before it.
    fn record_failure(&self, reason: &str, stored: u64) -> Result<PollStep, ServiceError> {
        tracing::warn!(org_id = self.org_id, reason, "polling the Region failed; cursor kept");
        let stored = i64::try_from(stored).unwrap_or(i64::MAX);
        self.db.write(|tx| upstream_poll::update_failed(tx, self.org_id, reason, stored, &self.now.iso()))?;
        Ok(PollStep::Retry(reason.to_owned()))
    }

    /// Downloads the ready export to `path`, applies it, and advances the cursor.
    fn fetch(
        &self,
        region: &dyn RegionOutcomes,
        path: &Path,
        url: &str,
        window: &str,
        reservation: &Reservation,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<PollStep, ServiceError> {
        if let Some(dir) = path.parent()
            && let Err(err) = std::fs::create_dir_all(dir)
        {
            return self.record_failure(&format!("cannot create {}: {err}", dir.display()), 0);
        }
        if let Err(failure) = region.download(url, path, MAX_DOWNLOAD_BYTES) {
            let _ = std::fs::remove_file(path);
            return self.record_failure(&format!("download: {failure}"), 0);
        }
        let mut report = PollReport { cursor: reservation.date_to.clone(), ..PollReport::default() };
        let result = self.apply_file(path, window, &mut report, cancelled);
        let _ = std::fs::remove_file(path);
        let stored = i64::try_from(report.stored).unwrap_or(i64::MAX);
        match result {
            Ok(true) => {
                self.db.write(|tx| upstream_poll::update_applied(tx, self.org_id, stored, &self.now.iso()))?;
                tracing::info!(org_id = self.org_id, rows = report.rows, stored = report.stored,
                    replays = report.replays, skipped = report.skipped, cursor = %report.cursor,
                    "receipt export applied");
                Ok(PollStep::Applied(report))
            }
            Ok(false) => {
                let iso = self.now.iso();
                self.db
                    .write(|tx| upstream_poll::update_failed(tx, self.org_id, "stopped by shutdown", stored, &iso))?;
                Ok(PollStep::Stopped)
            }
            Err(Failure::Read(err)) => self.record_failure(&format!("the export file: {err}"), report.stored),
            Err(Failure::Service(err)) => Err(err),
        }
    }

    /// Applies every receipt of the export at `path`; `Ok(false)` when stopped by `cancelled`.
    fn apply_file(
        &self,
        path: &Path,
        window: &str,
        report: &mut PollReport,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<bool, Failure> {
        let org = self
            .db
            .read(|c| orgs::find_org_by_id(c, self.org_id))
            .map_err(|err| Failure::Service(err.into()))?
            .ok_or_else(|| Failure::Service(ServiceError::NotFound(format!("org {}", self.org_id))))?;
        let mut zip = ExportZip::open(path, MAX_CSV_BYTES).map_err(Failure::Read)?;
        let mut rows = zip.rows().map_err(Failure::Read)?;
        let apply = |group: Group, report: &mut PollReport| -> Result<bool, Failure> {
            if cancelled() {
                return Ok(false);
            }
            let response = format!("{window}, line {}", group.first.line);
            match outcomes::apply(self.db, self.org_id, &group.payment(), &response, self.now)
                .map_err(Failure::Service)?
            {
                ReceiptOutcome::Stored { .. } => report.stored += 1,
                ReceiptOutcome::Replay => report.replays += 1,
            }
            Ok(true)
        };
        let mut pending: Option<Group> = None;
        while let Some(row) = rows.next_row().map_err(Failure::Read)? {
            report.rows += 1;
            if let Some(reason) = skip_reason(&row, &org.fiscal_code) {
                tracing::info!(org_id = self.org_id, line = row.line, iuv = %row.iuv, reason, "receipt export row skipped");
                report.skipped += 1;
                continue;
            }
            if let Some(group) = pending
                .as_mut()
                .filter(|g| g.first.iuv == row.iuv && g.first.receipt_id == row.receipt_id && g.lines.len() < MAX_LINES)
            {
                group.lines.push(line_of(&row));
                continue;
            }
            let next = Group { lines: vec![line_of(&row)], first: row };
            if let Some(done) = pending.replace(next)
                && !apply(done, report)?
            {
                return Ok(false);
            }
        }
        match pending {
            Some(done) => apply(done, report),
            None => Ok(true),
        }
    }
}

/// Why applying a file stopped.
enum Failure {
    Read(ReadError),
    Service(ServiceError),
}

/// The rows of one receipt, grouped (consecutive rows with the same IUV and receipt id).
struct Group {
    first: ReceiptRow,
    lines: Vec<PaidLine>,
}

impl Group {
    fn payment(self) -> RegionPayment {
        let row = self.first;
        let sum = self.lines.iter().map(|l| l.amount.get()).sum();
        let paid_at = [row.message_date_time, row.outcome_date].into_iter().find(|t| !t.trim().is_empty());
        RegionPayment {
            iuv: row.iuv,
            lines: self.lines,
            // The export lists only completed payments (reference/mypay.md §3.2).
            outcome_code: Some(row.outcome_code).filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "0".to_owned()),
            total_paid: row.total.unwrap_or(Cents::new(sum)),
            receipt_id: row.receipt_id,
            paid_at,
            debtor: Some(row.debtor).filter(|d| !d.id.is_empty()),
            payer: row.payer,
            psp_id: row.psp_code,
            psp_name: row.psp_name,
            rt: row.rt,
            document: String::new(),
        }
    }
}

fn line_of(row: &ReceiptRow) -> PaidLine {
    PaidLine {
        iud: row.iud.clone(),
        amount: row.amount.unwrap_or(Cents::ZERO),
        index: row.transfer_index,
        causale: row.causale.clone(),
        collection_data: row.collection_data.clone(),
    }
}

/// Why a row pays no debt of the org, if it does not.
fn skip_reason(row: &ReceiptRow, org_fiscal_code: &str) -> Option<&'static str> {
    if row.debt_type == SECONDARY_DEBT_TYPE {
        Some("the org is a secondary beneficiary")
    } else if row.line_outcome == EXTERNAL_OUTCOME || row.message_id.starts_with("-9-") {
        Some("a payment recorded outside pagoPA")
    } else if !row.org_fiscal_code.is_empty() && row.org_fiscal_code != org_fiscal_code {
        Some("another creditor's")
    } else if row.iuv.trim().is_empty() || row.receipt_id.trim().is_empty() {
        Some("no IUV or receipt id")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use std::cell::Cell;

    use super::super::fake_region::{FakeRegion, export_row, export_zip, rt_envelope};
    use super::*;
    use crate::services::testkit::{IPA, Kit};
    use crate::store::debts::{self, DebtRecord};
    use crate::store::receipts;

    fn org_id(kit: &Kit) -> i64 {
        kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap().id
    }

    fn state(kit: &Kit, debt: &DebtRecord) -> &'static str {
        kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap().state.code()
    }

    fn receipts_of(kit: &Kit, debt: &DebtRecord) -> usize {
        let iuv = debt.iuv.as_ref().unwrap().as_str().to_owned();
        kit.db.read(|c| receipts::list_receipts_for_iuv(c, org_id(kit), &iuv)).unwrap().len()
    }

    /// The export row of a receipt of `debt`'s whole amount, its rt a regional mypay's request.
    fn row(debt: &DebtRecord, id: &str) -> Vec<(&'static str, String)> {
        let iuv = debt.iuv.as_ref().unwrap().as_str();
        let cents = debt.amount_cents.get();
        export_row(debt, iuv, id, cents, rt_envelope(iuv, id, cents).as_bytes())
    }

    fn reserved(token: &str, date_to: &str) -> Result<Reserved, RegionFailure> {
        Ok(Reserved { token: token.to_owned(), date_to: date_to.to_owned() })
    }

    fn fault(code: &str, retryable: bool) -> RegionFailure {
        RegionFailure { retryable, code: Some(code.to_owned()), text: "x".to_owned() }
    }

    fn ready() -> Result<ExportState, RegionFailure> {
        Ok(ExportState::Ready { url: "https://region.example/download?t=1".to_owned() })
    }

    struct Poller {
        kit: Kit,
        dir: tempfile::TempDir,
        region: FakeRegion,
    }

    impl Poller {
        fn new() -> Poller {
            Poller { kit: Kit::new(), dir: tempfile::tempdir().unwrap(), region: FakeRegion::default() }
        }

        fn poll(&self) -> PollStep {
            self.poll_until(&|| false)
        }

        fn poll_until(&self, cancelled: &dyn Fn() -> bool) -> PollStep {
            let org = org_id(&self.kit);
            poll(&self.kit.db, org, &self.region, self.dir.path(), self.kit.now, cancelled).unwrap()
        }

        fn state(&self) -> upstream_poll::PollRecord {
            status(&self.kit.db, org_id(&self.kit)).unwrap().unwrap()
        }
    }

    #[test]
    fn a_window_is_reserved_then_waited_for_then_applied_and_the_cursor_advances() {
        let p = Poller::new();
        let (d1, d2) = (p.kit.debt("D1", 2000), p.kit.debt("D2", 3050));
        p.region.reservations.borrow_mut().push_back(reserved("T1", "2026-12-07T10:00:00"));
        p.region.statuses.borrow_mut().extend([Ok(ExportState::Pending), ready()]);
        *p.region.zip.borrow_mut() = export_zip(&[row(&d1, "R1"), row(&d2, "R2")], "");

        let step = p.poll();
        assert_eq!(step, PollStep::Reserved { token: "T1".to_owned(), date_to: "2026-12-07T10:00:00".to_owned() });
        // The kit's now is 2026-12-07 10:00 in Rome: the cursor starts a week before, and the
        // window asked for 5 minutes before the cursor (OVERLAP_SECONDS).
        assert_eq!(p.region.reserved_from.borrow().as_slice(), ["2026-11-30T09:55:00"]);
        let stored = p.state();
        assert_eq!(stored.cursor, "2026-11-30T10:00:00");
        assert_eq!(
            stored.reservation.as_ref().map(|r| r.token.as_str()),
            Some("T1"),
            "the token is kept before waiting"
        );

        assert_eq!(p.poll(), PollStep::Pending);
        assert_eq!(state(&p.kit, &d1), "INSERIMENTO_DOVUTO");

        let applied = PollReport { cursor: "2026-12-07T10:00:00".to_owned(), rows: 2, stored: 2, ..Default::default() };
        assert_eq!(p.poll(), PollStep::Applied(applied));
        assert_eq!((state(&p.kit, &d1), state(&p.kit, &d2)), ("COMPLETATO", "COMPLETATO"));
        let after = p.state();
        assert_eq!(after.cursor, "2026-12-07T10:00:00");
        assert_eq!(after.reservation, None);
        assert_eq!(after.receipts_applied, 2);
        assert_eq!(after.last_success_at.as_deref(), Some("2026-12-07T09:00:00Z"));
        assert!(!download_path(p.dir.path(), org_id(&p.kit)).exists(), "the download is removed");

        // The next window starts where this one ended, less the overlap.
        p.region.reservations.borrow_mut().push_back(reserved("T2", "2026-12-07T10:05:00"));
        assert!(matches!(p.poll(), PollStep::Reserved { .. }));
        assert_eq!(p.region.reserved_from.borrow()[1], "2026-12-07T09:55:00");
    }

    #[test]
    fn a_failure_or_a_shutdown_half_way_keeps_the_cursor_and_the_retry_applies_each_receipt_once() {
        let p = Poller::new();
        let (d1, d2, d3) = (p.kit.debt("D1", 2000), p.kit.debt("D2", 3000), p.kit.debt("D3", 4000));
        p.region.reservations.borrow_mut().push_back(reserved("T1", "2026-12-07T10:00:00"));
        assert!(matches!(p.poll(), PollStep::Reserved { .. }));

        // The file breaks after two rows: the first receipt is stored, the cursor stays.
        p.region.statuses.borrow_mut().push_back(ready());
        *p.region.zip.borrow_mut() = export_zip(&[row(&d1, "R1"), row(&d2, "R2")], "\"01\";\"broken");
        let step = p.poll();
        let PollStep::Retry(reason) = step else { panic!("a broken file is retried: {step:?}") };
        assert!(reason.starts_with("the export file: line 4"), "{reason}");
        assert_eq!((state(&p.kit, &d1), state(&p.kit, &d2)), ("COMPLETATO", "INSERIMENTO_DOVUTO"));
        let kept = p.state();
        assert_eq!((kept.cursor.as_str(), kept.reservation.is_some()), ("2026-11-30T10:00:00", true));
        assert_eq!(kept.last_error.as_deref(), Some(reason.as_str()));
        assert_eq!(kept.receipts_applied, 1);

        // A shutdown after the first receipt of the whole file.
        let good = export_zip(&[row(&d1, "R1"), row(&d2, "R2"), row(&d3, "R3")], "");
        *p.region.zip.borrow_mut() = good;
        p.region.statuses.borrow_mut().push_back(ready());
        let applied = Cell::new(0);
        let stop_after_one = || {
            applied.set(applied.get() + 1);
            applied.get() > 2
        };
        assert_eq!(p.poll_until(&stop_after_one), PollStep::Stopped);
        assert_eq!(state(&p.kit, &d2), "INSERIMENTO_DOVUTO");

        // The retry applies the same file: what was stored is a replay, nothing twice.
        p.region.statuses.borrow_mut().push_back(ready());
        let report =
            PollReport { cursor: "2026-12-07T10:00:00".to_owned(), rows: 3, stored: 2, replays: 1, skipped: 0 };
        assert_eq!(p.poll(), PollStep::Applied(report));
        for debt in [&d1, &d2, &d3] {
            assert_eq!((state(&p.kit, debt), receipts_of(&p.kit, debt)), ("COMPLETATO", 1), "{}", debt.iud);
        }
        let done = p.state();
        assert_eq!((done.receipts_applied, done.last_error), (3, None));
        assert_eq!(*p.region.downloads.borrow(), 3);
    }

    #[test]
    fn empty_windows_advance_and_dropped_exports_are_reserved_again() {
        let p = Poller::new();
        let first = "2026-11-30T09:55:00";
        let mut reservations = p.region.reservations.borrow_mut();
        reservations.push_back(reserved("T1", "2026-12-01T00:00:00"));
        reservations.push_back(reserved("T2", "2026-12-02T00:00:00"));
        reservations.push_back(reserved("T3", "2026-12-03T00:00:00"));
        reservations.push_back(reserved("T4", "2026-12-04T00:00:00"));
        reservations.push_back(Err(fault("PAA_SYSTEM_ERROR", true)));
        reservations.push_back(reserved("T5", "not a time"));
        drop(reservations);
        p.region.statuses.borrow_mut().extend([
            Ok(ExportState::Empty),
            Err(fault("PAA_REQUEST_TOKEN_NON_VALIDO", false)),
            Err(fault("PAA_DATI_NON_TROVATI", false)),
            Ok(ExportState::Failed { state: "ERROR_EXPORT".to_owned() }),
        ]);

        assert!(matches!(p.poll(), PollStep::Reserved { .. }));
        assert_eq!(p.poll(), PollStep::Empty { cursor: "2026-12-01T00:00:00".to_owned() });
        assert!(matches!(p.poll(), PollStep::Reserved { .. }));
        assert!(matches!(p.poll(), PollStep::Dropped(_)));
        assert_eq!(p.state().cursor, "2026-12-01T00:00:00", "a token the Region forgot keeps the cursor");
        assert!(matches!(p.poll(), PollStep::Reserved { .. }));
        assert_eq!(p.poll(), PollStep::Empty { cursor: "2026-12-03T00:00:00".to_owned() });
        assert!(matches!(p.poll(), PollStep::Reserved { .. }));
        assert!(matches!(p.poll(), PollStep::Dropped(reason) if reason.contains("ERROR_EXPORT")));
        assert_eq!(p.poll(), PollStep::Retry("PAA_SYSTEM_ERROR: x".to_owned()));
        assert!(matches!(p.poll(), PollStep::Retry(reason) if reason.contains("not a time")));
        let last = p.state();
        assert_eq!((last.cursor.as_str(), last.reservation), ("2026-12-03T00:00:00", None));
        assert!(last.last_error.unwrap().contains("not a time"));
        assert_eq!(
            p.region.reserved_from.borrow().as_slice(),
            [
                first,
                "2026-11-30T23:55:00",
                "2026-11-30T23:55:00",
                "2026-12-02T23:55:00",
                "2026-12-02T23:55:00",
                "2026-12-02T23:55:00"
            ]
        );
    }

    #[test]
    fn rows_that_pay_no_debt_of_the_org_are_skipped_and_one_receipt_of_two_rows_is_one() {
        let p = Poller::new();
        let (d1, d2) = (p.kit.debt("D1", 2000), p.kit.debt("D2", 3000));
        let mut secondary = row(&d2, "R-SEC");
        secondary.push(("tipoDovuto", SECONDARY_DEBT_TYPE.to_owned()));
        secondary.retain(|(n, v)| *n != "tipoDovuto" || v == SECONDARY_DEBT_TYPE);
        let mut external = row(&d2, "R-EXT");
        external.retain(|(n, _)| *n != "esitoSingoloPagamento" && *n != "rt");
        external.push(("esitoSingoloPagamento", EXTERNAL_OUTCOME.to_owned()));
        let mut foreign = row(&d2, "R-FOR");
        foreign.retain(|(n, _)| *n != "identificativoDominio");
        foreign.push(("identificativoDominio", "80050050154".to_owned()));
        // One receipt, two rows (two dovuti of one payment): one receipt stored.
        let (first, second) = (row(&d1, "R1"), row(&d1, "R1"));
        p.region.reservations.borrow_mut().push_back(reserved("T1", "2026-12-07T10:00:00"));
        p.region.statuses.borrow_mut().push_back(ready());
        *p.region.zip.borrow_mut() = export_zip(&[secondary, first, second, external, foreign], "");
        p.poll();
        let report =
            PollReport { cursor: "2026-12-07T10:00:00".to_owned(), rows: 5, stored: 1, replays: 0, skipped: 3 };
        assert_eq!(p.poll(), PollStep::Applied(report));
        assert_eq!((state(&p.kit, &d1), state(&p.kit, &d2)), ("COMPLETATO", "INSERIMENTO_DOVUTO"));
        assert_eq!(receipts_of(&p.kit, &d1), 1);
    }

    #[test]
    fn an_operator_moves_the_start() {
        let p = Poller::new();
        let org = org_id(&p.kit);
        start_at(&p.kit.db, org, "2026-10-01T08:00:00", p.kit.now).unwrap();
        assert_eq!(p.state().cursor, "2026-10-01T08:00:00");
        assert!(matches!(start_at(&p.kit.db, org, "ieri", p.kit.now), Err(ServiceError::Invalid { .. })));
        p.region.reservations.borrow_mut().push_back(reserved("T1", "2026-12-07T10:00:00"));
        p.poll();
        assert_eq!(p.region.reserved_from.borrow().as_slice(), ["2026-10-01T07:55:00"]);
    }
}
