//! Claiming and running jobs: the runner thread of `serve` ([`start`]), the in-process run of one
//! claimed job ([`run_claimed`], also used by `mypay import`), and the recovery of orphans.
//!
//! While a handler runs, a heartbeat renews the job's lease every [`HEARTBEAT`] and writes its
//! progress at most every [`PROGRESS_EVERY`]; a job whose lease ran out ([`LEASE`] without a
//! heartbeat) or whose owner process is gone is an orphan, queued again or, past its kind's
//! attempts, given up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Handler, Handlers, Job, JobCtx, JobError, Progress, Step, Units};
use crate::clock::{self, Now};
use crate::store::{Db, StoreError, jobs};

/// How long a claim holds without a heartbeat.
const LEASE: Duration = Duration::from_secs(10 * 60);
/// How often a running job's lease is renewed.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// How often the runner looks for due jobs.
const POLL: Duration = Duration::from_millis(500);
/// Idle polls between two looks for orphans (~10 s).
const ORPHAN_ROUNDS: u32 = 20;
/// How often a running job's progress is written, at most.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// This process as a job owner.
pub fn owner() -> String {
    format!("pid:{}", std::process::id())
}

/// Whether the process that owns a job still runs on this machine. Without `/proc` (not Linux)
/// every owner is taken as alive, and only its lease tells.
pub fn owner_alive(owner: &str) -> bool {
    let Some(pid) = owner.strip_prefix("pid:").and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new("/proc").join(pid.to_string()).exists()
}

fn lease_until(now: Now) -> String {
    let lease = jiff::SignedDuration::try_from(LEASE).unwrap_or(jiff::SignedDuration::from_secs(600));
    let now = now.instant();
    clock::iso(now.checked_add(lease).unwrap_or(now))
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Queued again (shutdown, a failure to retry, or the handler's own schedule).
    Requeued(String),
    Failed(String),
}

/// Takes queued job `job_id` for this process, whatever its next run time (the CLI runs its own
/// upload at once); `None` when another process took it first.
pub fn claim(db: &Db, job_id: i64, now: Now) -> Result<Option<jobs::JobRecord>, StoreError> {
    let until = lease_until(now);
    db.write(|tx| jobs::claim_job(tx, job_id, &owner(), &until, &now.iso()))
}

/// The queued job equal to `job`, if any.
pub fn find_queued(db: &Db, job: &Job) -> Result<Option<i64>, StoreError> {
    let (kind, payload) = job.to_stored();
    db.read(|c| jobs::find_queued_job(c, kind, &payload))
}

/// Queues again, or gives up, the running jobs whose owner is gone or whose lease ran out;
/// `at_start` also takes back this process's own (a previous process that had the same pid).
/// Returns how many it handled.
pub fn requeue_orphans(db: &Db, handlers: &Handlers, at_start: bool) -> Result<usize, StoreError> {
    let me = owner();
    let now = Now::read();
    let iso = now.iso();
    db.write(|tx| {
        let mut n = 0;
        for record in jobs::list_running_jobs(tx)? {
            let owner = record.owner.clone().unwrap_or_default();
            let expired = record.lease_until.as_deref().is_none_or(|until| until < iso.as_str());
            let orphan = if owner == me { at_start } else { !owner_alive(&owner) || expired };
            if !orphan {
                continue;
            }
            n += 1;
            let job = Job::from_stored(&record.kind, &record.payload);
            let max = job.as_ref().map_or(1, |j| j.kind().max_attempts());
            if record.attempts >= max {
                // It stopped its process every time it ran: running it again would stop the next.
                let reason = format!(
                    "gave up after {} attempts: the process running it stopped each time ({owner})",
                    record.attempts
                );
                tracing::error!(job = record.id, kind = %record.kind, %owner, "{reason}");
                jobs::update_job_failed(tx, record.id, &reason, &iso)?;
                if let Some(job) = &job
                    && let Some(handler) = handlers.get(job.kind())
                {
                    handler.given_up(tx, job, &reason, now)?;
                }
            } else {
                tracing::warn!(job = record.id, kind = %record.kind, %owner, attempts = record.attempts, "job left running by a stopped process: queued again");
                jobs::update_job_requeued(tx, record.id, &iso, Some("owner process stopped"), &iso)?;
            }
        }
        Ok(n)
    })
}

/// Runs a job this process claimed and records how it ended.
pub fn run_claimed(
    db: &Db,
    handlers: &Handlers,
    record: &jobs::JobRecord,
    cancelled: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Outcome, StoreError> {
    let _span = tracing::info_span!("jobs::run", job = record.id, kind = %record.kind).entered();
    let job = Job::from_stored(&record.kind, &record.payload);
    let handler = job.as_ref().and_then(|j| handlers.get(j.kind()));
    let (Some(job), Some(handler)) = (job, handler) else {
        let reason = format!("no handler for job kind {} with payload {}", record.kind, record.payload);
        tracing::error!(job = record.id, "{reason}");
        let now = Now::read().iso();
        db.write(|tx| jobs::update_job_failed(tx, record.id, &reason, &now))?;
        return Ok(Outcome::Failed(reason));
    };
    let latest = Latest::default();
    let result = with_heartbeat(db, record.id, &latest, || {
        let mut shown = |p: Progress| {
            latest.done(p.units);
            progress(p);
        };
        let report = |units: Units| latest.report(units);
        let mut ctx = JobCtx {
            db,
            job_id: record.id,
            attempt: record.attempts,
            cursor: record.cursor.clone(),
            cancelled,
            progress: &mut shown,
            report: &report,
        };
        handler.run(&mut ctx, &job)
    });
    record_end(db, handler, &job, record, result)
}

fn record_end(
    db: &Db,
    handler: &dyn Handler,
    job: &Job,
    record: &jobs::JobRecord,
    result: Result<Step, JobError>,
) -> Result<Outcome, StoreError> {
    let now = Now::read();
    let iso = now.iso();
    db.write(|tx| match result {
        Ok(Step::Done) => {
            jobs::update_job_done(tx, record.id, &iso)?;
            Ok(Outcome::Done)
        }
        Ok(Step::RunAgainAt { at, reason }) => {
            jobs::update_job_requeued(tx, record.id, &at, Some(&reason), &iso)?;
            Ok(Outcome::Requeued(reason))
        }
        Ok(Step::GaveUp(reason)) => {
            jobs::update_job_failed(tx, record.id, &reason, &iso)?;
            Ok(Outcome::Failed(reason))
        }
        Err(JobError::Interrupted) => {
            jobs::update_job_interrupted(tx, record.id, &iso)?;
            Ok(Outcome::Requeued("interrupted".to_owned()))
        }
        Err(JobError::Failed(err)) if record.attempts < job.kind().max_attempts() => {
            let delay = 10i64.saturating_mul(1 << record.attempts.clamp(0, 10));
            let instant = now.instant();
            let next = instant.checked_add(jiff::SignedDuration::from_secs(delay)).unwrap_or(instant);
            tracing::error!(job = record.id, error = %err, delay, "job failed; will retry");
            jobs::update_job_requeued(tx, record.id, &clock::iso(next), Some(&err), &iso)?;
            Ok(Outcome::Requeued(err))
        }
        Err(JobError::Failed(err)) => {
            tracing::error!(job = record.id, error = %err, "job failed for good");
            jobs::update_job_failed(tx, record.id, &err, &iso)?;
            handler.given_up(tx, job, &err, now)?;
            Ok(Outcome::Failed(err))
        }
    })
}

/// The latest progress of a running job, handed from the handler to its heartbeat.
#[derive(Default)]
struct Latest {
    done: AtomicU64,
    /// `u64::MAX`: not known.
    total: AtomicU64,
    changed: AtomicBool,
}

impl Latest {
    const UNKNOWN: u64 = u64::MAX;

    fn done(&self, done: u64) {
        if self.done.swap(done, Ordering::SeqCst) != done {
            self.changed.store(true, Ordering::SeqCst);
        }
    }

    fn report(&self, units: Units) {
        let total = units.total.unwrap_or(Latest::UNKNOWN);
        if self.total.swap(total, Ordering::SeqCst) != total {
            self.changed.store(true, Ordering::SeqCst);
        }
        self.done(units.done);
    }

    /// Writes the progress if it changed since the last write.
    fn write(&self, db: &Db, job_id: i64) {
        if !self.changed.swap(false, Ordering::SeqCst) {
            return;
        }
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let done = as_i64(self.done.load(Ordering::SeqCst));
        let total = Some(self.total.load(Ordering::SeqCst)).filter(|t| *t != Latest::UNKNOWN).map(as_i64);
        if let Err(err) = db.write(|tx| jobs::update_job_progress(tx, job_id, done, total)) {
            tracing::warn!(job = job_id, error = %err, "cannot record a job's progress");
        }
    }
}

/// Runs `work` while a thread renews the job's lease and writes its progress.
fn with_heartbeat<T>(db: &Db, job_id: i64, latest: &Latest, work: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    let out = std::thread::scope(|scope| {
        let beat = std::thread::Builder::new().name("job-lease".to_owned()).spawn_scoped(scope, || {
            let me = owner();
            let mut last = Instant::now();
            let mut last_progress = Instant::now();
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                if last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = Instant::now();
                    latest.write(db, job_id);
                }
                if last.elapsed() < HEARTBEAT {
                    continue;
                }
                last = Instant::now();
                let until = lease_until(Now::read());
                if let Err(err) = db.write(|tx| jobs::update_job_lease(tx, job_id, &me, &until)) {
                    tracing::warn!(job = job_id, error = %err, "cannot renew a job's lease");
                }
            }
        });
        if let Err(err) = &beat {
            tracing::warn!(job = job_id, error = %err, "cannot start the lease heartbeat");
        }
        let out = work();
        done.store(true, Ordering::SeqCst);
        out
    });
    // The last progress, which the heartbeat may not have written yet.
    latest.write(db, job_id);
    out
}

/// The runner thread of `serve`, and the job it is running.
pub struct Runner {
    thread: std::thread::JoinHandle<()>,
    /// The id of the job being run, 0 between jobs.
    current: Arc<AtomicI64>,
}

impl Runner {
    /// Waits for the runner to end (it ends when `stopping` says so and the job it runs has
    /// returned, normally within a second: handlers poll their `cancelled`), but not past
    /// `deadline`: then the job still running is queued again without counting an attempt, as if
    /// it had stopped, since this process is about to exit, and the thread is left behind. Returns
    /// whether the runner ended in time.
    pub fn stop_by(self, db: &Db, deadline: Instant) -> bool {
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.thread.is_finished() {
            if self.thread.join().is_err() {
                tracing::error!("the job runner stopped abnormally");
            }
            return true;
        }
        let id = self.current.load(Ordering::SeqCst);
        if id == 0 {
            return false;
        }
        let now = Now::read().iso();
        // The handler may be inside a long transaction on this process's writer: do not wait for it.
        match db.try_write(Duration::from_millis(500), |tx| jobs::update_job_interrupted(tx, id, &now)) {
            Some(Ok(true)) => {
                tracing::warn!(job = id, "a job did not stop in time: left to run again at the next start")
            }
            Some(Ok(false)) => {}
            Some(Err(err)) => tracing::error!(job = id, error = %err, "cannot queue a job left running again"),
            None => tracing::warn!(
                job = id,
                "a job did not stop in time and holds the database: the next start runs it again, as an attempt"
            ),
        }
        false
    }
}

/// Starts the runner thread: it takes back orphaned jobs, then runs due jobs one at a time until
/// `stopping` says so, which is also what the running job's `cancelled` answers. `db_of` reaches
/// the database inside the shared state.
pub fn start<T: Send + Sync + 'static>(
    state: Arc<T>,
    db_of: fn(&T) -> &Db,
    handlers: Handlers,
    stopping: Arc<dyn Fn() -> bool + Send + Sync>,
) -> std::io::Result<Runner> {
    for kind in handlers.missing() {
        tracing::error!(kind = kind.code(), "no handler registered: jobs of this kind will fail");
    }
    let current = Arc::new(AtomicI64::new(0));
    let running = Arc::clone(&current);
    let thread = std::thread::Builder::new().name("jobs".to_owned()).spawn(move || {
        let db = db_of(&state);
        if let Err(err) = requeue_orphans(db, &handlers, true) {
            tracing::error!(error = %err, "cannot look for orphaned jobs");
        }
        let me = owner();
        let mut idle_rounds = 0u32;
        while !stopping() {
            let now = Now::read();
            let until = lease_until(now);
            let claimed = db.write(|tx| jobs::claim_next_job(tx, &me, &until, &now.iso()));
            match claimed {
                Ok(Some(record)) => {
                    running.store(record.id, Ordering::SeqCst);
                    let cancelled = || stopping();
                    match run_claimed(db, &handlers, &record, &cancelled, &mut |_| {}) {
                        Ok(outcome) => tracing::info!(job = record.id, ?outcome, "job ended"),
                        Err(err) => tracing::error!(job = record.id, error = %err, "cannot record a job's end"),
                    }
                    running.store(0, Ordering::SeqCst);
                    continue;
                }
                Ok(None) => {}
                Err(err) => tracing::error!(error = %err, "cannot claim a job"),
            }
            idle_rounds += 1;
            // Take back, now and then, jobs of processes (a CLI import) that died meanwhile.
            if idle_rounds % ORPHAN_ROUNDS == 0
                && let Err(err) = requeue_orphans(db, &handlers, false)
            {
                tracing::error!(error = %err, "cannot look for orphaned jobs");
            }
            // Short naps, so that a stop is seen at once.
            let idle_until = Instant::now() + POLL;
            while Instant::now() < idle_until && !stopping() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })?;
    Ok(Runner { thread, current })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::sync::Mutex;

    use super::super::{JobKind, enqueue, save_cursor};
    use super::*;
    use crate::store::jobs::JobState;

    fn temp_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        (dir, db)
    }

    /// A handler that answers what it is told and remembers the cursors it saw.
    struct Scripted {
        answers: Mutex<Vec<Result<Step, JobError>>>,
        cursors: Arc<Mutex<Vec<Option<String>>>>,
        given_up: Arc<Mutex<Vec<String>>>,
    }

    impl Handler for Scripted {
        fn run(&self, ctx: &mut JobCtx<'_>, _job: &Job) -> Result<Step, JobError> {
            self.cursors.lock().unwrap().push(ctx.cursor.clone());
            ctx.db.write(|tx| save_cursor(tx, ctx.job_id, &format!("row {}", ctx.attempt)))?;
            self.answers.lock().unwrap().remove(0)
        }

        fn given_up(&self, _tx: &crate::store::Conn, _job: &Job, reason: &str, _now: Now) -> Result<(), StoreError> {
            self.given_up.lock().unwrap().push(reason.to_owned());
            Ok(())
        }
    }

    type Seen<T> = Arc<Mutex<Vec<T>>>;

    fn scripted(answers: Vec<Result<Step, JobError>>) -> (Handlers, Seen<Option<String>>, Seen<String>) {
        let cursors = Arc::new(Mutex::new(Vec::new()));
        let given_up = Arc::new(Mutex::new(Vec::new()));
        let handler =
            Scripted { answers: Mutex::new(answers), cursors: Arc::clone(&cursors), given_up: Arc::clone(&given_up) };
        (Handlers::new().on(JobKind::Export, handler), cursors, given_up)
    }

    fn state_of(db: &Db, id: i64) -> (JobState, i64, Option<String>) {
        let job = db.read(|c| jobs::find_job(c, id)).unwrap().unwrap();
        (job.state, job.attempts, job.last_error)
    }

    #[test]
    fn a_job_resumes_from_its_cursor_and_failures_are_retried_then_given_up() {
        let (_dir, db) = temp_db();
        let now = Now::read();
        let id = db.write(|tx| enqueue(tx, &Job::Export { export_id: 1 }, now)).unwrap();
        let fail = || Err(JobError::Failed("disk full".to_owned()));
        let (handlers, cursors, given_up) = scripted(vec![fail(), fail(), fail(), fail(), fail()]);
        for attempt in 1..=5 {
            let record = claim(&db, id, now).unwrap().unwrap();
            assert_eq!(record.attempts, attempt);
            let outcome = run_claimed(&db, &handlers, &record, &|| false, &mut |_| {}).unwrap();
            if attempt < 5 {
                assert_eq!(outcome, Outcome::Requeued("disk full".to_owned()));
            } else {
                assert_eq!(outcome, Outcome::Failed("disk full".to_owned()));
            }
        }
        assert_eq!(state_of(&db, id), (JobState::Failed, 5, Some("disk full".to_owned())));
        assert_eq!(given_up.lock().unwrap().as_slice(), ["disk full"]);
        let seen = cursors.lock().unwrap().clone();
        assert_eq!(seen[0], None);
        assert_eq!(seen[1].as_deref(), Some("row 1"), "the second run starts where the first saved");
    }

    #[test]
    fn a_job_that_keeps_killing_its_process_is_given_up_with_a_reason() {
        let (_dir, db) = temp_db();
        let now = Now::read();
        let id = db.write(|tx| enqueue(tx, &Job::Export { export_id: 1 }, now)).unwrap();
        let now = now.iso();
        let (handlers, _, given_up) = scripted(Vec::new());
        // A dead owner claims it every time (what a crash loop looks like from the table).
        for round in 1..=5 {
            db.write(|tx| {
                jobs::claim_job(tx, id, "pid:4000000000", &now, &now)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
            assert_eq!(requeue_orphans(&db, &handlers, false).unwrap(), 1);
            let (state, attempts, _) = state_of(&db, id);
            assert_eq!(attempts, round);
            assert_eq!(state, if round < 5 { JobState::Queued } else { JobState::Failed });
        }
        let (_, _, error) = state_of(&db, id);
        assert!(error.unwrap().starts_with("gave up after 5 attempts"));
        assert_eq!(given_up.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_live_owner_keeps_its_job_until_its_lease_runs_out() {
        let (_dir, db) = temp_db();
        let now = Now::read();
        let id = db.write(|tx| enqueue(tx, &Job::Export { export_id: 1 }, now)).unwrap();
        let handlers = Handlers::new();
        // Another live process (our parent) holds it with a lease in the future: left alone.
        let parent = format!("pid:{}", std::os::unix::process::parent_id());
        let future = lease_until(now);
        db.write(|tx| jobs::claim_job(tx, id, &parent, &future, &now.iso())).unwrap();
        assert_eq!(requeue_orphans(&db, &handlers, false).unwrap(), 0);
        // Its lease ran out (no heartbeat): taken back.
        db.write(|tx| jobs::update_job_lease(tx, id, &parent, "2000-01-01T00:00:00Z")).unwrap();
        assert_eq!(requeue_orphans(&db, &handlers, false).unwrap(), 1);
        assert_eq!(state_of(&db, id).0, JobState::Queued);
    }

    #[test]
    fn an_unknown_kind_fails_at_once() {
        let (_dir, db) = temp_db();
        let now = Now::read();
        let id = db.write(|tx| jobs::insert_job(tx, "gone", "{}", &now.iso())).unwrap();
        let record = claim(&db, id, now).unwrap().unwrap();
        let outcome = run_claimed(&db, &Handlers::new(), &record, &|| false, &mut |_| {}).unwrap();
        assert!(matches!(outcome, Outcome::Failed(reason) if reason.contains("no handler")));
    }

    #[test]
    fn owners() {
        assert!(owner_alive(&owner()));
        assert!(!owner_alive("pid:4000000000"));
        assert!(!owner_alive("nobody"));
    }

    /// Works until told to stop, reporting its progress; `stubborn` ignores the request until
    /// `release` says so (a call that does not return).
    struct Patient {
        stubborn: bool,
        release: Arc<AtomicBool>,
        started: Arc<AtomicBool>,
    }

    impl Handler for Patient {
        fn run(&self, ctx: &mut JobCtx<'_>, _job: &Job) -> Result<Step, JobError> {
            (ctx.report)(Units { done: 41, total: Some(100) });
            (ctx.progress)(Progress { units: 42, ..Progress::default() });
            self.started.store(true, Ordering::SeqCst);
            loop {
                let stop = if self.stubborn { self.release.load(Ordering::SeqCst) } else { (ctx.cancelled)() };
                if stop {
                    return Err(JobError::Interrupted);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn started_runner(stubborn: bool) -> (tempfile::TempDir, Arc<Db>, i64, Runner, Arc<AtomicBool>, Arc<AtomicBool>) {
        let (dir, db) = temp_db();
        let db = Arc::new(db);
        let id = db.write(|tx| enqueue(tx, &Job::Export { export_id: 1 }, Now::read())).unwrap();
        let release = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let handler = Patient { stubborn, release: Arc::clone(&release), started: Arc::clone(&started) };
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopping);
        let runner = start(
            Arc::clone(&db),
            |db: &Db| db,
            Handlers::new().on(JobKind::Export, handler),
            Arc::new(move || flag.load(Ordering::SeqCst)),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !started.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(started.load(Ordering::SeqCst), "the job started");
        (dir, db, id, runner, stopping, release)
    }

    #[test]
    fn a_stop_requeues_the_running_job_without_counting_it_and_keeps_its_progress() {
        let (_dir, db, id, runner, stopping, _) = started_runner(false);
        stopping.store(true, Ordering::SeqCst);
        assert!(runner.stop_by(&db, Instant::now() + Duration::from_secs(30)), "the runner ended");
        let job = db.read(|c| jobs::find_job(c, id)).unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
        assert_eq!((job.units_done, job.units_total), (42, Some(100)), "the last progress was written");
    }

    #[test]
    fn a_job_that_does_not_stop_in_time_is_left_behind_and_queued_again() {
        let (_dir, db, id, runner, stopping, release) = started_runner(true);
        stopping.store(true, Ordering::SeqCst);
        assert!(!runner.stop_by(&db, Instant::now() + Duration::from_millis(200)));
        let job = db.read(|c| jobs::find_job(c, id)).unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Queued, 0), "queued again, the attempt not counted");
        release.store(true, Ordering::SeqCst);
    }
}
