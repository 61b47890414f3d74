//! Durable background work (DESIGN: "a `job` table, so it survives restarts").
//!
//! [`Job`] is the closed list of what mypay does in the background, each kind with its typed
//! payload; [`enqueue`] queues one inside the caller's transaction, so the work exists exactly when
//! the change that asks for it commits. What a kind *does* is not known here: the services
//! register a [`Handler`] per kind at start ([`Handlers`]), and [`runner`] claims due jobs and
//! dispatches to them, so this module imports no service.
//!
//! A claimed job has an owner (`pid:<n>`) and a lease; a running job whose lease ran out, or
//! whose owner process on this machine is gone (a crash, `kill -9`), is queued again. Every claim
//! counts as an attempt, a requeued orphan's too, so a job that kills its process cannot loop: past
//! its kind's [`JobKind::max_attempts`] it fails for good with a reason, and its handler records the
//! failure on its object. A job may keep a durable cursor ([`save_cursor`]) to resume bulk work
//! where it stopped, and reports its progress ([`JobCtx::report`]), which the runner writes on the
//! job's row about once a second, for the back office and `mypay import --status`.
//!
//! Stopping: a handler polls [`JobCtx::cancelled`] between units of work and returns
//! [`JobError::Interrupted`], leaving its cursor; the job is queued again without counting an
//! attempt. `serve` gives the runner a few seconds ([`Runner::stop_by`]) and exits anyway after
//! them, marking the job it left behind the same way.
//! Must never: keep work only in memory, or know what a kind's work is.

mod runner;

pub use runner::{Outcome, Runner, claim, find_queued, owner_alive, requeue_orphans, run_claimed, start};

use serde::{Deserialize, Serialize};

use crate::clock::Now;
use crate::store::{Conn, Db, StoreError, jobs};

/// Every kind of background job, with its arguments. Stored as `job.kind` and a JSON `job.payload`
/// (`{"import_id": 7}`); the spelling is a stored contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    /// Apply an uploaded debt flow.
    Import { import_id: i64 },
    /// `<name>_AVVISI_PDF.zip`, the notices of an import's rows with flagGeneraIuv=true
    /// (mypay.md §2.7), made after the import commits.
    ImportNotices { import_id: i64 },
    /// A receipt export requested from the back office, the SIL or the API.
    Export { export_id: i64 },
    /// Push a receipt's outcome to the org's system (mypay.md §4.8).
    OutcomePush { push_id: i64 },
    /// Fetch an org's reporting flows from pagoPA now, as asked from the back office.
    ReportingFetch { org_id: i64 },
    /// The day's retention purge (`[retention]`), queued once per Rome day (`2026-12-07`).
    RetentionPurge { day: String },
    /// The day's receipt recovery (pagopa.md §4.6), queued once per Rome day; it waits for the
    /// next window when pagoPA's limit of calls is reached.
    ReceiptRecovery { day: String },
    /// Load an uploaded reconciliation file (treasury, notifications, Poste) and classify what it changed.
    ReconImport { upload_id: i64 },
    /// Classify what changed for an org since it was classified (receipts and flows that arrived).
    Reconcile { org_id: i64 },
    /// A reconciliation export booked from the back office, the CLI, the API or the SIL.
    ReconExport { export_id: i64 },
}

/// The kind of a [`Job`], without its arguments: what a handler is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Import,
    ImportNotices,
    Export,
    OutcomePush,
    ReportingFetch,
    RetentionPurge,
    ReceiptRecovery,
    ReconImport,
    Reconcile,
    ReconExport,
}

impl JobKind {
    /// Every kind, for registries and tests.
    pub const ALL: [JobKind; 10] = [
        JobKind::Import,
        JobKind::ImportNotices,
        JobKind::Export,
        JobKind::OutcomePush,
        JobKind::ReportingFetch,
        JobKind::RetentionPurge,
        JobKind::ReceiptRecovery,
        JobKind::ReconImport,
        JobKind::Reconcile,
        JobKind::ReconExport,
    ];

    /// The code stored in `job.kind`.
    pub fn code(self) -> &'static str {
        match self {
            JobKind::Import => "import",
            JobKind::ImportNotices => "import_notices",
            JobKind::Export => "export",
            JobKind::OutcomePush => "outcome_push",
            JobKind::ReportingFetch => "reporting_fetch",
            JobKind::RetentionPurge => "retention_purge",
            JobKind::ReceiptRecovery => "receipt_recovery",
            JobKind::ReconImport => "recon_import",
            JobKind::Reconcile => "reconcile",
            JobKind::ReconExport => "recon_export",
        }
    }

    /// Claims of one job before it is given up. The outcome push keeps its own attempt count and
    /// backoff (the debt type's), so its bound only stops a push that keeps killing the process.
    pub fn max_attempts(self) -> i64 {
        match self {
            JobKind::Import
            | JobKind::ImportNotices
            | JobKind::Export
            | JobKind::RetentionPurge
            | JobKind::ReconImport
            | JobKind::Reconcile
            | JobKind::ReconExport => 5,
            JobKind::OutcomePush => 1_000,
            // A failed fetch is asked for again by a person, or done by the periodic one.
            JobKind::ReportingFetch => 1,
            // Every hourly wait for pagoPA's limit is a claim: a day of windows and some more.
            JobKind::ReceiptRecovery => 48,
        }
    }
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::Import { .. } => JobKind::Import,
            Job::ImportNotices { .. } => JobKind::ImportNotices,
            Job::Export { .. } => JobKind::Export,
            Job::OutcomePush { .. } => JobKind::OutcomePush,
            Job::ReportingFetch { .. } => JobKind::ReportingFetch,
            Job::RetentionPurge { .. } => JobKind::RetentionPurge,
            Job::ReceiptRecovery { .. } => JobKind::ReceiptRecovery,
            Job::ReconImport { .. } => JobKind::ReconImport,
            Job::Reconcile { .. } => JobKind::Reconcile,
            Job::ReconExport { .. } => JobKind::ReconExport,
        }
    }

    /// The stored `(kind, payload)`.
    fn to_stored(&self) -> (&'static str, String) {
        let payload = serde_json::to_value(self)
            .ok()
            .and_then(|mut v| v.get_mut("payload").map(serde_json::Value::take))
            .unwrap_or_default();
        (self.kind().code(), payload.to_string())
    }

    /// The job a stored row describes; `None` for a kind or payload this version does not know.
    fn from_stored(kind: &str, payload: &str) -> Option<Job> {
        let payload: serde_json::Value = serde_json::from_str(payload).ok()?;
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload })).ok()
    }
}

/// Queues `job` to run from `now` on, in the caller's transaction; returns its id.
pub fn enqueue(tx: &Conn, job: &Job, now: Now) -> Result<i64, StoreError> {
    let (kind, payload) = job.to_stored();
    jobs::insert_job(tx, kind, &payload, &now.iso())
}

/// Saves how far a running job got, in the transaction that did that part of the work: a job run
/// again after a stop or a crash reads it back in [`JobCtx::cursor`]. A service may also set the
/// cursor of a job it just queued, in the same transaction, to tell its handler how to start.
pub fn save_cursor(tx: &Conn, job_id: i64, cursor: &str) -> Result<(), StoreError> {
    jobs::update_job_cursor(tx, job_id, cursor)
}

/// The newest job equal to `job`, whatever its state: how the work asked for one object went
/// (its state, cursor, progress and last error).
pub fn latest(conn: &Conn, job: &Job) -> Result<Option<jobs::JobRecord>, StoreError> {
    let (kind, payload) = job.to_stored();
    jobs::find_latest_job(conn, kind, &payload)
}

/// How far a job is, for progress bars: units of work (rows) and bytes read of all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub units: u64,
    pub bytes: u64,
    pub total_bytes: u64,
}

/// Units of work done, of how many when known: the progress the runner keeps on the job's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Units {
    pub done: u64,
    pub total: Option<u64>,
}

/// What a handler gets besides its job.
pub struct JobCtx<'a> {
    pub db: &'a Db,
    pub job_id: i64,
    /// This claim's number, 1 for the first.
    #[allow(dead_code, reason = "no handler treats a retry differently yet; the runner's tests read it")]
    pub attempt: i64,
    /// What the job saved with [`save_cursor`] before it last stopped.
    pub cursor: Option<String>,
    /// Polled between units of work; true asks the handler to stop with [`JobError::Interrupted`].
    pub cancelled: &'a dyn Fn() -> bool,
    /// Progress for the caller to show as it goes (the CLI's bar); its `units` are also kept on the
    /// job's row, as by [`JobCtx::report`] with an unknown total.
    pub progress: &'a mut dyn FnMut(Progress),
    /// Progress kept on the job's row (cheap: the runner writes the latest about once a second).
    pub report: &'a dyn Fn(Units),
}

/// How a handler's run ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing (left) to do.
    Done,
    /// Run again not before `at` (UTC ISO 8601): the handler keeps its own schedule (a push whose
    /// receiver did not answer).
    RunAgainAt { at: String, reason: String },
    /// The handler gave up on its own terms (a push past its attempts): recorded as failed.
    GaveUp(String),
}

/// Why a handler's run stopped short.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The process is stopping: run it again later, from its cursor.
    #[error("interrupted by shutdown")]
    Interrupted,
    /// A failure of the system (disk, database): tried again with a growing delay, up to the
    /// kind's attempts.
    #[error("{0}")]
    Failed(String),
}

impl From<StoreError> for JobError {
    fn from(err: StoreError) -> JobError {
        JobError::Failed(err.to_string())
    }
}

/// The work of one kind of job.
pub trait Handler: Send + Sync {
    /// Runs `job`. It must be idempotent: a job is run again after a crash, and finds its object
    /// already done or resumes from its cursor.
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError>;

    /// Records, in the transaction that fails the job for good, what that means for its object
    /// (an import aborted with MyPay's generic code). Nothing by default.
    fn given_up(&self, _tx: &Conn, _job: &Job, _reason: &str, _now: Now) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The handler of each kind, registered once at start.
#[derive(Default)]
pub struct Handlers {
    registered: Vec<(JobKind, Box<dyn Handler>)>,
}

impl Handlers {
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Registers `handler` for `kind` (a later registration replaces an earlier one).
    pub fn on(mut self, kind: JobKind, handler: impl Handler + 'static) -> Handlers {
        self.registered.retain(|(k, _)| *k != kind);
        self.registered.push((kind, Box::new(handler)));
        self
    }

    fn get(&self, kind: JobKind) -> Option<&dyn Handler> {
        self.registered.iter().find(|(k, _)| *k == kind).map(|(_, h)| h.as_ref())
    }

    /// The kinds with no handler (for a check at start).
    pub fn missing(&self) -> Vec<JobKind> {
        JobKind::ALL.into_iter().filter(|k| self.get(*k).is_none()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn jobs_are_stored_as_before_and_read_back() {
        let cases = [
            (Job::Import { import_id: 7 }, "import", "{\"import_id\":7}"),
            (Job::ImportNotices { import_id: 7 }, "import_notices", "{\"import_id\":7}"),
            (Job::Export { export_id: 3 }, "export", "{\"export_id\":3}"),
            (Job::OutcomePush { push_id: 9 }, "outcome_push", "{\"push_id\":9}"),
            (Job::ReportingFetch { org_id: 2 }, "reporting_fetch", "{\"org_id\":2}"),
            (Job::RetentionPurge { day: "2026-12-07".to_owned() }, "retention_purge", "{\"day\":\"2026-12-07\"}"),
            (Job::ReceiptRecovery { day: "2026-12-07".to_owned() }, "receipt_recovery", "{\"day\":\"2026-12-07\"}"),
            (Job::ReconImport { upload_id: 4 }, "recon_import", "{\"upload_id\":4}"),
            (Job::Reconcile { org_id: 2 }, "reconcile", "{\"org_id\":2}"),
            (Job::ReconExport { export_id: 5 }, "recon_export", "{\"export_id\":5}"),
        ];
        for (job, kind, payload) in cases {
            assert_eq!(job.to_stored(), (kind, payload.to_owned()));
            assert_eq!(Job::from_stored(kind, payload), Some(job));
        }
        assert_eq!(Job::from_stored("x", "{}"), None);
        assert_eq!(Job::from_stored("import", "{\"export_id\":1}"), None);
        assert_eq!(Job::from_stored("import", "not json"), None);
    }

    #[test]
    fn every_kind_is_a_job_kind() {
        let codes: Vec<&str> = JobKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(
            codes,
            [
                "import",
                "import_notices",
                "export",
                "outcome_push",
                "reporting_fetch",
                "retention_purge",
                "receipt_recovery",
                "recon_import",
                "reconcile",
                "recon_export"
            ]
        );
    }
}
