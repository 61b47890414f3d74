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
    /// Reserved for `<name>_AVVISI_PDF.zip` (the notices of an import's rows with
    /// flagGeneraIuv=true, mypay.md §2.7), which comes with the PDF issue. Nothing queues it yet;
    /// a runner that meets one leaves it failed with a clear message rather than pretend.
    ImportNotices,
}

impl JobKind {
    /// The code stored in `job.kind`.
    pub fn code(self) -> &'static str {
        match self {
            JobKind::Import => "import",
            JobKind::ImportNotices => "import_notices",
        }
    }

    pub fn parse(code: &str) -> Option<JobKind> {
        [JobKind::Import, JobKind::ImportNotices].into_iter().find(|k| k.code() == code)
    }
}

/// What the runner needs besides the database.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub data_dir: PathBuf,
    pub max_uncompressed_bytes: u64,
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
        Some(JobKind::ImportNotices) => {
            Err(RunError::System("import_notices jobs need the notice PDFs, not built yet".to_owned()))
        }
        None => Err(RunError::System(format!("unknown job kind {}", job.kind))),
    };
    let now_ts = clock::now();
    let now = clock::iso(now_ts);
    let permanent = !matches!(JobKind::parse(&job.kind), Some(JobKind::Import));
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

fn import_id(job: &jobs::JobRecord) -> Option<i64> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).ok()?;
    payload.get("import_id")?.as_i64()
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
        for kind in [JobKind::Import, JobKind::ImportNotices] {
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
