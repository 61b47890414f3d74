//! Durable background work (DESIGN: "a `job` table, so it survives restarts"). [`JobKind`] is the
//! closed list of everything mypay does in the background through the queue; [`start`] is the
//! runner thread `serve` starts; [`run_claimed`] runs one claimed job (the CLI uses it to run its
//! own upload in-process).
//!
//! A job is claimed by setting it `running` with its owner `pid:<n>`. A running job whose owner
//! process is gone (a crash, `kill -9`) is queued again by the runner, at start and periodically;
//! the work must therefore be idempotent, which the import is (it checks its own state inside the
//! transaction that applies it). Failures of the system are retried with a growing delay, up to
//! [`MAX_ATTEMPTS`]; a graceful shutdown interrupts a running import, which rolls back and is
//! queued again.
//! Must never: keep work only in memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::clock;
use crate::flows::import::{self, Progress, RunEnv, RunError};
use crate::store::{Db, StoreError, imports, jobs};

/// Attempts before a job is given up.
pub const MAX_ATTEMPTS: i64 = 5;
/// How often the runner looks for due jobs and orphaned ones.
const POLL: Duration = Duration::from_millis(500);

/// Every kind of background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Apply an uploaded debt flow: payload `{"import_id": n}`.
    Import,
    /// `<name>_AVVISI_PDF.zip`, the notices of an import's rows with flagGeneraIuv=true
    /// (mypay.md §2.7), made after the import commits: payload `{"import_id": n}`.
    ImportNotices,
    /// A receipt export requested from the back office: payload `{"export_id": n}`.
    Export,
    /// Push a receipt's outcome to the org's system (mypay.md §4.8): payload `{"push_id": n}`.
    /// It keeps its own attempt count and backoff (the org's settings), not [`MAX_ATTEMPTS`].
    OutcomePush,
}

impl JobKind {
    /// The code stored in `job.kind`.
    pub fn code(self) -> &'static str {
        match self {
            JobKind::Import => "import",
            JobKind::ImportNotices => "import_notices",
            JobKind::Export => "export",
            JobKind::OutcomePush => "outcome_push",
        }
    }

    pub fn parse(code: &str) -> Option<JobKind> {
        [JobKind::Import, JobKind::ImportNotices, JobKind::Export, JobKind::OutcomePush]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// What the runner needs besides the database.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub data_dir: PathBuf,
    pub max_uncompressed_bytes: u64,
    /// The station id written in receipt exports.
    pub station_id: String,
}

/// This process as a job owner.
pub fn owner() -> String {
    format!("pid:{}", std::process::id())
}

/// Whether the process that owns a job still runs. Without `/proc` (not Linux) every owner is
/// assumed alive, so orphans wait for an operator rather than run twice.
pub fn owner_alive(owner: &str) -> bool {
    let Some(pid) = owner.strip_prefix("pid:").and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Queues again the running jobs whose owner died; `at_start` also takes back this process's
/// own (a previous process that had the same pid). Returns how many.
pub fn requeue_orphans(db: &Db, at_start: bool) -> Result<usize, StoreError> {
    let me = owner();
    let now = clock::iso(clock::now());
    db.write(|tx| {
        let mut n = 0;
        for job in jobs::list_running_jobs(tx)? {
            let owner = job.owner.clone().unwrap_or_default();
            let orphan = if owner == me { at_start } else { !owner_alive(&owner) };
            if orphan {
                tracing::warn!(job = job.id, kind = %job.kind, %owner, "job left running by a stopped process: queued again");
                jobs::update_job_requeued(tx, job.id, &now, Some("owner process stopped"), &now)?;
                n += 1;
            }
        }
        Ok(n)
    })
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Queued again (shutdown, or a failure to retry).
    Requeued(String),
    Failed(String),
}

/// Runs a job this process claimed and records how it ended.
pub fn run_claimed(
    db: &Db,
    settings: &JobSettings,
    job: &jobs::JobRecord,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, StoreError> {
    let _span = tracing::info_span!("jobs::run", job = job.id, kind = %job.kind).entered();
    let result = match JobKind::parse(&job.kind) {
        Some(JobKind::Import) => run_import(db, settings, job, cancelled, progress),
        Some(JobKind::ImportNotices) => run_import_notices(db, settings, job),
        Some(JobKind::Export) => run_export(db, settings, job),
        Some(JobKind::OutcomePush) => return run_push(db, job),
        None => Err(RunError::System(format!("unknown job kind {}", job.kind))),
    };
    let now_ts = clock::now();
    let now = clock::iso(now_ts);
    // Notices and exports are retried too; only unknown kinds fail at once.
    let permanent = JobKind::parse(&job.kind).is_none();
    db.write(|tx| match result {
        Ok(()) => {
            jobs::update_job_done(tx, job.id, &now)?;
            Ok(Outcome::Done)
        }
        Err(RunError::Interrupted) => {
            jobs::update_job_requeued(tx, job.id, &now, Some("interrupted by shutdown"), &now)?;
            Ok(Outcome::Requeued("interrupted".to_owned()))
        }
        Err(RunError::System(err)) if !permanent && job.attempts < MAX_ATTEMPTS => {
            let delay = 10i64.saturating_mul(1 << job.attempts.clamp(0, 10));
            let next = now_ts.checked_add(jiff::SignedDuration::from_secs(delay)).unwrap_or(now_ts);
            tracing::error!(job = job.id, error = %err, delay, "job failed; will retry");
            jobs::update_job_requeued(tx, job.id, &clock::iso(next), Some(&err), &now)?;
            Ok(Outcome::Requeued(err))
        }
        Err(RunError::System(err)) => {
            tracing::error!(job = job.id, error = %err, "job failed for good");
            jobs::update_job_failed(tx, job.id, &err, &now)?;
            if let Some(id) = import_id(job) {
                let code = "PAA_IMPORT_ERRORE_GENERICO";
                if imports::find_import(tx, id)?.is_some_and(|i| !import::is_final(&i.state)) {
                    imports::update_import_aborted(tx, id, code, &err, &now)?;
                }
            }
            Ok(Outcome::Failed(err))
        }
    })
}

/// One attempt of an outcome push; the push decides when to retry and when to give up.
fn run_push(db: &Db, job: &jobs::JobRecord) -> Result<Outcome, StoreError> {
    use crate::services::outcome_push::{self, Delivery};
    let now_ts = clock::now();
    let now = clock::iso(now_ts);
    let delivery = match payload_id(job, "push_id") {
        // A failure of mypay itself (the database) is tried again in a minute, not counted.
        Some(id) => outcome_push::deliver(db, id, now_ts).unwrap_or_else(|err| Delivery::Retry {
            at: clock::iso(now_ts.checked_add(jiff::SignedDuration::from_secs(60)).unwrap_or(now_ts)),
            error: err.to_string(),
        }),
        None => Delivery::Failed(format!("bad push payload {}", job.payload)),
    };
    db.write(|tx| match delivery {
        Delivery::Done => {
            jobs::update_job_done(tx, job.id, &now)?;
            Ok(Outcome::Done)
        }
        Delivery::Retry { at, error } => {
            jobs::update_job_requeued(tx, job.id, &at, Some(&error), &now)?;
            Ok(Outcome::Requeued(error))
        }
        Delivery::Failed(error) => {
            jobs::update_job_failed(tx, job.id, &error, &now)?;
            Ok(Outcome::Failed(error))
        }
    })
}

fn import_id(job: &jobs::JobRecord) -> Option<i64> {
    payload_id(job, "import_id").filter(|_| JobKind::parse(&job.kind) == Some(JobKind::Import))
}

fn payload_id(job: &jobs::JobRecord, key: &str) -> Option<i64> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
    payload.get(key)?.as_i64()
}

/// Writes `<name>_AVVISI_PDF.zip` beside the import's other results. Idempotent: an import that
/// has its file already is left alone; the ZIP is written under a temporary name and renamed.
fn run_import_notices(db: &Db, settings: &JobSettings, job: &jobs::JobRecord) -> Result<(), RunError> {
    let id = payload_id(job, "import_id").ok_or_else(|| RunError::System("payload without import_id".to_owned()))?;
    let store_err = |err: StoreError| RunError::System(err.to_string());
    let Some(record) = db.read(|c| imports::find_import(c, id)).map_err(store_err)? else {
        return Ok(());
    };
    if record.notices_file.is_some() {
        return Ok(());
    }
    let iuds = db.read(|c| imports::list_notice_iuds(c, id)).map_err(store_err)?;
    if iuds.is_empty() {
        return Ok(());
    }
    let stem = record.file_name.strip_suffix(".zip").unwrap_or(&record.file_name).to_owned();
    let rel = format!("{}/{stem}_AVVISI_PDF.zip", import::results_dir(id));
    let path = settings.data_dir.join(&rel);
    let io_err = |err: std::io::Error| RunError::System(format!("cannot write the notices: {err}"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let tmp = path.with_extension("zip.partial");
    let file = std::fs::File::create(&tmp).map_err(io_err)?;
    let views = crate::services::documents::notice_views(db, &record.org_ipa, &iuds);
    let summary = crate::pdf::write_notices_zip(std::io::BufWriter::new(file), views)
        .map_err(|err| RunError::System(format!("cannot render the notices: {err}")))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io_err)?;
    std::fs::rename(&tmp, &path).map_err(io_err)?;
    db.write(|tx| imports::update_import_notices(tx, id, &rel)).map_err(store_err)?;
    tracing::info!(import = id, ?summary, "import notices written");
    Ok(())
}

/// Runs a queued receipt export to its end state.
fn run_export(db: &Db, settings: &JobSettings, job: &jobs::JobRecord) -> Result<(), RunError> {
    use crate::services::exports::{self, ExportError};
    let id = payload_id(job, "export_id").ok_or_else(|| RunError::System("payload without export_id".to_owned()))?;
    let export = db
        .read(|c| crate::store::exports::find_export_by_id(c, id))
        .map_err(|err| RunError::System(err.to_string()))?;
    let Some(export) = export.filter(|e| e.state == "LOAD_EXPORT" || e.state == "EXPORT_IN_ELAB") else {
        return Ok(());
    };
    match exports::run_export(db, &settings.data_dir, &settings.station_id, &export, clock::now(), &mut |_| {}) {
        Ok(_) => Ok(()),
        // The request itself was refused: recorded as ERROR_EXPORT, nothing to retry.
        Err(ExportError::Invalid { .. } | ExportError::NotFound(_)) => Ok(()),
        Err(err) => Err(RunError::System(err.to_string())),
    }
}

/// Runs, in this process, the queued jobs an import left behind (its notices), for a CLI import
/// with no server to pick them up.
pub fn run_import_follow_ups(db: &Db, settings: &JobSettings, import_id: i64) -> Result<(), StoreError> {
    let payload = serde_json::json!({ "import_id": import_id }).to_string();
    let now = clock::iso(clock::now());
    let Some(job_id) = db.read(|c| jobs::find_queued_job(c, JobKind::ImportNotices.code(), &payload))? else {
        return Ok(());
    };
    if let Some(job) = claim(db, job_id, &now)? {
        run_claimed(db, settings, &job, &|| false, &mut |_| {})?;
    }
    Ok(())
}

/// Takes queued job `job_id` for this process; `None` when another one took it first.
pub fn claim(db: &Db, job_id: i64, now: &str) -> Result<Option<jobs::JobRecord>, StoreError> {
    db.write(|tx| jobs::claim_job(tx, job_id, &owner(), now))
}

fn run_import(
    db: &Db,
    settings: &JobSettings,
    job: &jobs::JobRecord,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), RunError> {
    let id = import_id(job).ok_or_else(|| RunError::System(format!("bad import payload {}", job.payload)))?;
    let now_ts = clock::now();
    let now = clock::iso(now_ts);
    let mut env = RunEnv {
        db,
        data_dir: &settings.data_dir,
        max_uncompressed_bytes: settings.max_uncompressed_bytes,
        today: clock::today_rome(now_ts),
        now: &now,
        cancelled,
        progress,
    };
    import::run(&mut env, id).map(|_| ())
}

/// Starts the runner thread: it queues orphaned jobs again, then runs due jobs one at a time
/// until `stopping` says so. `db_of` reaches the database inside the shared state.
pub fn start<T: Send + Sync + 'static>(
    state: Arc<T>,
    db_of: fn(&T) -> &Db,
    settings: JobSettings,
    stopping: Arc<dyn Fn() -> bool + Send + Sync>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("jobs".to_owned()).spawn(move || {
        let db = db_of(&state);
        if let Err(err) = requeue_orphans(db, true) {
            tracing::error!(error = %err, "cannot look for orphaned jobs");
        }
        let me = owner();
        let mut idle_rounds = 0u32;
        while !stopping() {
            let claimed = db.write(|tx| jobs::claim_next_job(tx, &me, &clock::iso(clock::now())));
            match claimed {
                Ok(Some(job)) => {
                    let cancelled = || stopping();
                    match run_claimed(db, &settings, &job, &cancelled, &mut |_| {}) {
                        Ok(outcome) => tracing::info!(job = job.id, ?outcome, "job ended"),
                        Err(err) => tracing::error!(job = job.id, error = %err, "cannot record a job's end"),
                    }
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::error!(error = %err, "cannot claim a job"),
            }
            idle_rounds += 1;
            // Every ~10 s, take back jobs of processes (a CLI import) that died meanwhile.
            if idle_rounds % 20 == 0
                && let Err(err) = requeue_orphans(db, false)
            {
                tracing::error!(error = %err, "cannot look for orphaned jobs");
            }
            std::thread::sleep(POLL);
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in [JobKind::Import, JobKind::ImportNotices, JobKind::Export, JobKind::OutcomePush] {
            assert_eq!(JobKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(JobKind::parse("x"), None);
    }

    #[test]
    fn owners() {
        assert!(owner_alive(&owner()));
        assert!(!owner_alive("pid:4000000000"));
        assert!(!owner_alive("nobody"));
    }
}
