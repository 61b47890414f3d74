//! The notices ZIP of an import (`<name>_AVVISI_PDF.zip`, mypay.md §2.7): the job that writes it
//! ([`NoticesJob`]), how it stands for an operator ([`status`]) and asking for it ([`request`]).
//!
//! `import.notices` says when it is made: `on`, after the import (which queues its job); `on-demand`,
//! when an operator asks (the job the import queued only records that it waits for a request);
//! `off`, never.
//!
//! The job is resumable. It renders the notices in debt-id order into `<name>_AVVISI_PDF.zip.partial`
//! through `pdf::bulk::NoticesArchive`, checkpointing the archive every [`CHECKPOINT_EVERY`] (less
//! often as it grows, so that checkpoints stay a small part of the work) and when asked to stop,
//! and saves its job cursor ([`Mark::Writing`]: the last debt done and the archive's
//! checkpoint) after each checkpoint; a run after a stop or a crash goes on from there. Progress
//! (notices done of all) is reported to the runner, which keeps it on the job's row.
//!
//! It never fills the data disk, which the payments' database shares: before it starts, and every
//! [`SPACE_CHECK_EVERY`] notices, it compares the free space with what the rest will take plus
//! [`MIN_FREE_BYTES`], and when short it removes its partial file and gives up with
//! [`Mark::DiskShort`], which the back office explains; an operator asks again once there is room.
//! **Invariant:** nothing here is logged per notice; the end of a run is one line with counts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::run;
use crate::clock::Now;
use crate::config::NoticesMode;
use crate::domain::ImportState;
use crate::jobs::{self, Handler, Job, JobCtx, JobError, Step, Units};
use crate::pdf::bulk::{Checkpoint, NoticesArchive};
use crate::services::ServiceError;
use crate::services::debts::documents::{self, NoticeKey};
use crate::store::imports::{self, ImportRecord};
use crate::store::jobs::{JobRecord, JobState};
use crate::store::{Db, audit, notices};

/// Space left free on the data disk for the database and the payments that keep arriving.
pub const MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;
/// How often, at least, the archive is made whole and the cursor saved: what a crash can cost.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);
/// Notices between two looks at the free space.
pub const SPACE_CHECK_EVERY: u64 = 200;
/// A notice's share of the archive before any is measured (they weigh about 25 KB).
const FIRST_GUESS_BYTES: u64 = 32 * 1024;
/// A notice's share of the central directory, written in the archive and kept beside it.
const DIRECTORY_BYTES: u64 = 256;
/// Debts read per page.
const PAGE: u32 = 500;

/// What a notices job's cursor says: how it started or how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Mark {
    /// An operator asked for the notices (`import.notices = "on-demand"`, or again after a failure).
    Requested { by: String },
    /// Written up to debt `after` (`written` in the archive, `skipped` without a printable notice);
    /// the archive's checkpoint is `entries_end`/`len`.
    Writing { after: i64, written: u64, skipped: u64, entries_end: u64, len: u64 },
    /// `import.notices = "on-demand"` and nobody asked yet.
    NotRequested,
    /// `import.notices = "off"`.
    Disabled,
    /// Stopped: the data disk had `available` bytes, the rest needed about `needed`.
    DiskShort { needed: u64, available: u64 },
}

impl Mark {
    fn parse(text: Option<&str>) -> Option<Mark> {
        serde_json::from_str(text?).ok()
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Free bytes for an unprivileged writer on the filesystem holding `dir` (`statvfs`).
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// How the free space is read: [`free_bytes`], or a stand-in in tests.
pub type FreeSpace = Arc<dyn Fn(&Path) -> std::io::Result<u64> + Send + Sync>;

/// Writes `<name>_AVVISI_PDF.zip` beside an import's other results (`Job::ImportNotices`).
pub struct NoticesJob {
    data_dir: PathBuf,
    mode: NoticesMode,
    free_space: FreeSpace,
    min_free: u64,
    checkpoint_every: Duration,
    space_check_every: u64,
}

impl NoticesJob {
    pub fn new(data_dir: &Path, mode: NoticesMode) -> NoticesJob {
        NoticesJob {
            data_dir: data_dir.to_owned(),
            mode,
            free_space: Arc::new(free_bytes),
            min_free: MIN_FREE_BYTES,
            checkpoint_every: CHECKPOINT_EVERY,
            space_check_every: SPACE_CHECK_EVERY,
        }
    }

    /// The same with another reading of the free space, reserve and period between two looks at
    /// it (tests).
    #[cfg(test)]
    fn with(mut self, free_space: FreeSpace, min_free: u64, space_check_every: u64) -> NoticesJob {
        self.free_space = free_space;
        self.min_free = min_free;
        self.space_check_every = space_check_every;
        self
    }
}

/// Where an import's notices go.
struct Paths {
    /// Relative to the data directory, as stored on the import.
    rel: String,
    file: PathBuf,
    partial: PathBuf,
}

impl Paths {
    fn of(data_dir: &Path, import: &ImportRecord) -> Paths {
        let stem = import.file_name.strip_suffix(".zip").unwrap_or(&import.file_name);
        let rel = format!("{}/{stem}_AVVISI_PDF.zip", run::results_dir(import.id));
        let file = data_dir.join(&rel);
        let partial = file.with_extension("zip.partial");
        Paths { rel, file, partial }
    }
}

/// How far a run is.
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    after: i64,
    written: u64,
    skipped: u64,
    checkpoint: Option<Checkpoint>,
}

impl Position {
    fn done(&self) -> u64 {
        self.written + self.skipped
    }

    fn mark(&self) -> Option<Mark> {
        let at = self.checkpoint?;
        Some(Mark::Writing {
            after: self.after,
            written: self.written,
            skipped: self.skipped,
            entries_end: at.entries_end,
            len: at.len,
        })
    }
}

/// Why a run stopped short.
enum Stop {
    Short { needed: u64, available: u64 },
    Job(JobError),
}

impl From<JobError> for Stop {
    fn from(err: JobError) -> Stop {
        Stop::Job(err)
    }
}

impl From<crate::store::StoreError> for Stop {
    fn from(err: crate::store::StoreError) -> Stop {
        Stop::Job(err.into())
    }
}

impl From<crate::pdf::PdfError> for Stop {
    fn from(err: crate::pdf::PdfError) -> Stop {
        match err {
            // The disk filled up under it (another writer): how much it still needed is not known.
            crate::pdf::PdfError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
                Stop::Short { needed: 0, available: 0 }
            }
            other => Stop::Job(JobError::Failed(format!("cannot write the notices: {other}"))),
        }
    }
}

fn io_stop(err: std::io::Error) -> Stop {
    Stop::from(crate::pdf::PdfError::Io(err))
}

impl Handler for NoticesJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::ImportNotices { import_id } = job else {
            return Err(JobError::Failed(format!("not an import-notices job: {job:?}")));
        };
        let db = ctx.db;
        let Some(import) = db.read(|c| imports::find_import(c, *import_id))? else {
            return Ok(Step::Done);
        };
        if import.notices_file.is_some() {
            return Ok(Step::Done);
        }
        let paths = Paths::of(&self.data_dir, &import);
        let mark = Mark::parse(ctx.cursor.as_deref());
        let waiting = match (self.mode, &mark) {
            (NoticesMode::Off, _) => Some(Mark::Disabled),
            (NoticesMode::OnDemand, None | Some(Mark::NotRequested)) => Some(Mark::NotRequested),
            _ => None,
        };
        if let Some(waiting) = waiting {
            crate::pdf::bulk::discard(&paths.partial);
            db.write(|tx| jobs::save_cursor(tx, ctx.job_id, &waiting.text()))?;
            tracing::info!(import = import.id, mode = ?self.mode, "import notices not made now (import.notices)");
            return Ok(Step::Done);
        }
        let resume = match mark {
            Some(Mark::Writing { after, written, skipped, entries_end, len }) => Some(Position {
                after,
                written,
                skipped,
                checkpoint: Some(Checkpoint { entries_end, len, entries: written }),
            }),
            _ => None,
        };
        match self.write(ctx, &import, &paths, resume) {
            Ok(step) => Ok(step),
            Err(Stop::Job(err)) => Err(err),
            Err(Stop::Short { needed, available }) => {
                crate::pdf::bulk::discard(&paths.partial);
                let available =
                    if needed == 0 { (self.free_space)(&self.data_dir).unwrap_or(available) } else { available };
                let mark = Mark::DiskShort { needed, available };
                db.write(|tx| jobs::save_cursor(tx, ctx.job_id, &mark.text()))?;
                let short = if needed == 0 {
                    "the data disk filled up while the notices were written".to_owned()
                } else {
                    format!(
                        "not enough room on the data disk for the notices: about {} more needed",
                        bytes_text(needed)
                    )
                };
                let reason = format!(
                    "{short}, {} available, {} kept free for the database; the partial file was removed: free some \
                     space and ask again",
                    bytes_text(available),
                    bytes_text(self.min_free)
                );
                tracing::error!(import = import.id, needed, available, "{reason}");
                Ok(Step::GaveUp(reason))
            }
        }
    }
}

impl NoticesJob {
    /// Writes the notices from `resume` (or from the start) to the end, or until asked to stop.
    fn write(
        &self,
        ctx: &mut JobCtx<'_>,
        import: &ImportRecord,
        paths: &Paths,
        resume: Option<Position>,
    ) -> Result<Step, Stop> {
        let db = ctx.db;
        let (mut archive, mut pos) = match resume.and_then(|pos| Some((pos, pos.checkpoint?))) {
            Some((pos, at)) => match NoticesArchive::resume(&paths.partial, at) {
                Ok(archive) => (Some(archive), pos),
                Err(err) => {
                    tracing::warn!(import = import.id, error = %err, "cannot resume the notices: starting again");
                    (None, Position::default())
                }
            },
            None => (None, Position::default()),
        };
        let remaining = db.read(|c| notices::count_notice_debts(c, import.id, pos.after))?;
        let total = pos.done() + remaining;
        (ctx.report)(Units { done: pos.done(), total: Some(total) });
        if total == 0 {
            crate::pdf::bulk::discard(&paths.partial);
            tracing::info!(import = import.id, "no notices to write");
            return Ok(Step::Done);
        }
        self.check_space(paths, remaining, total, archive.as_ref())?;
        if let Some(dir) = paths.partial.parent() {
            std::fs::create_dir_all(dir).map_err(io_stop)?;
        }
        let mut archive = match archive.take() {
            Some(archive) => archive,
            None => NoticesArchive::create(&paths.partial)?,
        };
        let mut last_checkpoint = Instant::now();
        let mut checkpoint_every = self.checkpoint_every;
        let mut skipped_examples: Vec<String> = Vec::new();
        // The day that decides which payment options the notices still print.
        let now = Now::read();
        loop {
            let page = db.read(|c| notices::list_notice_debts(c, import.id, pos.after, PAGE))?;
            if page.is_empty() {
                break;
            }
            for (id, iud) in page {
                if (ctx.cancelled)() {
                    let at = archive.pause()?;
                    self.record(ctx, paths, &mut pos, at)?;
                    tracing::info!(import = import.id, done = pos.done(), total, "import notices paused");
                    return Err(Stop::Job(JobError::Interrupted));
                }
                match documents::notice_view(db, &import.org_ipa, &NoticeKey::Iud(iud.clone()), now) {
                    Ok(view) => match archive.add(&view) {
                        Ok(()) => pos.written += 1,
                        // Options no layout prints: this notice is left out, the others go on.
                        Err(err @ crate::pdf::PdfError::Options(_)) => {
                            pos.skipped += 1;
                            if skipped_examples.len() < 3 {
                                skipped_examples.push(format!("{iud}: {err}"));
                            }
                        }
                        Err(err) => return Err(err.into()),
                    },
                    Err(ServiceError::Store(err)) => return Err(err.into()),
                    Err(err) => {
                        pos.skipped += 1;
                        if skipped_examples.len() < 3 {
                            skipped_examples.push(format!("{iud}: {err}"));
                        }
                    }
                }
                pos.after = id;
                (ctx.progress)(jobs::Progress { units: pos.done(), ..jobs::Progress::default() });
                (ctx.report)(Units { done: pos.done(), total: Some(total) });
                if pos.done() % self.space_check_every == 0 {
                    self.check_space(paths, total.saturating_sub(pos.done()), total, Some(&archive))?;
                }
                if last_checkpoint.elapsed() >= checkpoint_every {
                    let started = Instant::now();
                    let at = archive.checkpoint()?;
                    self.record(ctx, paths, &mut pos, at)?;
                    // A checkpoint costs more as the archive grows (its central directory is
                    // written, copied and read back): spaced so that it stays a twentieth of the work.
                    checkpoint_every = self.checkpoint_every.max(started.elapsed() * 20);
                    last_checkpoint = Instant::now();
                }
            }
        }
        let written = archive.finish()?;
        std::fs::rename(&paths.partial, &paths.file).map_err(io_stop)?;
        if let Some(dir) = paths.file.parent() {
            crate::flows::results::sync_dir(dir).map_err(io_stop)?;
        }
        db.write(|tx| imports::update_import_notices(tx, import.id, &paths.rel))?;
        // Counts, never the lists: a large flow has a million notices.
        tracing::info!(import = import.id, written, skipped = pos.skipped, ?skipped_examples, "import notices written");
        Ok(Step::Done)
    }

    /// Saves the cursor that points at the archive's checkpoint `at`, then forgets older ones.
    fn record(&self, ctx: &JobCtx<'_>, paths: &Paths, pos: &mut Position, at: Checkpoint) -> Result<(), Stop> {
        pos.checkpoint = Some(at);
        if let Some(mark) = pos.mark() {
            ctx.db.write(|tx| jobs::save_cursor(tx, ctx.job_id, &mark.text()))?;
        }
        crate::pdf::bulk::prune(&paths.partial, &at);
        Ok(())
    }

    /// Stops with [`Stop::Short`] when the data disk cannot take `remaining` more notices (of
    /// `total`) and still keep its reserve.
    fn check_space(
        &self,
        paths: &Paths,
        remaining: u64,
        total: u64,
        archive: Option<&NoticesArchive>,
    ) -> Result<(), Stop> {
        let dir = paths.partial.parent().filter(|d| d.exists()).unwrap_or(&self.data_dir);
        let available = (self.free_space)(dir).map_err(io_stop)?;
        let measured = archive
            .filter(|a| a.entries() >= 20)
            .and_then(|a| a.bytes().ok().map(|bytes| bytes / a.entries()))
            // A little more than measured: notices differ (names, logos, the bollettino).
            .map(|per| per + per / 10);
        let per_notice = measured.unwrap_or(FIRST_GUESS_BYTES);
        let needed = remaining.saturating_mul(per_notice).saturating_add(total.saturating_mul(DIRECTORY_BYTES));
        if available < needed.saturating_add(self.min_free) {
            return Err(Stop::Short { needed, available });
        }
        Ok(())
    }
}

/// `1.2 GB`, `350 MB`: sizes for people (decimal units, as disks are sold).
pub fn bytes_text(bytes: u64) -> String {
    const GB: u64 = 1_000_000_000;
    const MB: u64 = 1_000_000;
    if bytes >= GB {
        format!("{}.{} GB", bytes / GB, bytes % GB / (GB / 10))
    } else {
        format!("{} MB", bytes.div_ceil(MB))
    }
}

/// How an import's notices stand, for the back office and `mypay import --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticesStatus {
    /// No notices to make (no flagGeneraIuv rows, a layout without them, or nothing loaded).
    None,
    /// The ZIP is there.
    Ready,
    /// Waiting for the job runner; `done` of `total` when it was stopped half-way.
    Queued {
        done: u64,
        total: Option<u64>,
    },
    Running {
        done: u64,
        total: Option<u64>,
    },
    /// `on-demand`: made when an operator asks.
    NotRequested,
    /// `off`.
    Disabled,
    /// Given up for lack of room; asking again after freeing some starts over. `needed` is 0 when
    /// the disk filled up under it (another writer), so that what it needed is not known.
    DiskShort {
        needed: u64,
        available: u64,
    },
    /// Given up on a failure (the reason, in English, is the job's).
    Failed {
        reason: String,
    },
}

impl NoticesStatus {
    /// Whether an operator may ask for the notices now (with `import.notices` not `off`).
    pub fn can_request(&self, mode: NoticesMode) -> bool {
        mode != NoticesMode::Off
            && matches!(
                self,
                NoticesStatus::NotRequested | NoticesStatus::DiskShort { .. } | NoticesStatus::Failed { .. }
            )
    }
}

/// `mode` tells a job queued by the import of an `on-demand` installation, which will only record
/// that it waits, from one asked for.
fn status_of(import: &ImportRecord, job: Option<&JobRecord>, mode: NoticesMode) -> NoticesStatus {
    if import.notices_file.is_some() {
        return NoticesStatus::Ready;
    }
    let Some(job) = job else { return NoticesStatus::None };
    let done = u64::try_from(job.units_done).unwrap_or(0);
    let total = job.units_total.and_then(|t| u64::try_from(t).ok());
    let mark = Mark::parse(job.cursor.as_deref());
    match (job.state, mark) {
        (JobState::Queued, None | Some(Mark::NotRequested)) if mode == NoticesMode::OnDemand => {
            NoticesStatus::NotRequested
        }
        (JobState::Queued, _) if mode == NoticesMode::Off => NoticesStatus::Disabled,
        (JobState::Queued, _) => NoticesStatus::Queued { done, total },
        (JobState::Running, _) => NoticesStatus::Running { done, total },
        (JobState::Failed, Some(Mark::DiskShort { needed, available })) => {
            NoticesStatus::DiskShort { needed, available }
        }
        (JobState::Failed, _) => NoticesStatus::Failed { reason: job.last_error.clone().unwrap_or_default() },
        (JobState::Done, Some(Mark::NotRequested)) => NoticesStatus::NotRequested,
        (JobState::Done, Some(Mark::Disabled)) => NoticesStatus::Disabled,
        (JobState::Done, _) => NoticesStatus::None,
    }
}

/// How the notices of each of `list` stand, in order (one read), with `import.notices` = `mode`.
pub fn statuses(db: &Db, list: &[ImportRecord], mode: NoticesMode) -> Result<Vec<NoticesStatus>, ServiceError> {
    Ok(db.read_tx(|c| {
        list.iter()
            .map(|import| {
                let job = jobs::latest(c, &Job::ImportNotices { import_id: import.id })?;
                Ok(status_of(import, job.as_ref(), mode))
            })
            .collect::<Result<Vec<_>, crate::store::StoreError>>()
    })?)
}

/// How the notices of `import` stand, with `import.notices` = `mode`.
pub fn status(db: &Db, import: &ImportRecord, mode: NoticesMode) -> Result<NoticesStatus, ServiceError> {
    Ok(statuses(db, std::slice::from_ref(import), mode)?.pop().unwrap_or(NoticesStatus::None))
}

/// Asks for the notices of import `import_id` of org `ipa` on behalf of `actor`: the queued job
/// takes the request, or a new one is queued; returns the job's id. Refused when `import.notices`
/// is `off`, the import is not applied, the notices are there, or they are being made.
pub fn request(
    db: &Db,
    ipa: &str,
    import_id: i64,
    actor: &str,
    mode: NoticesMode,
    now: Now,
) -> Result<i64, ServiceError> {
    if mode == NoticesMode::Off {
        return Err(ServiceError::Conflict(
            "the notices of imports are switched off (import.notices = \"off\")".into(),
        ));
    }
    let import = super::get_import(db, ipa, import_id)?;
    if import.state != ImportState::Done {
        return Err(ServiceError::Conflict(format!("import {import_id} has not been applied")));
    }
    let job = Job::ImportNotices { import_id };
    let requested = Mark::Requested { by: actor.to_owned() }.text();
    db.write(|tx| {
        let import = imports::find_import(tx, import_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("import {import_id}")))?;
        let latest = jobs::latest(tx, &job)?;
        match status_of(&import, latest.as_ref(), mode) {
            NoticesStatus::Ready => {
                return Err(ServiceError::Conflict(format!("the notices of import {import_id} are already there")));
            }
            NoticesStatus::Running { .. } => {
                return Err(ServiceError::Conflict(format!("the notices of import {import_id} are being made")));
            }
            _ => {}
        }
        let id = match latest.filter(|j| j.state == JobState::Queued) {
            Some(queued) => {
                // A queued job that already started keeps its cursor, and so its progress.
                if !matches!(Mark::parse(queued.cursor.as_deref()), Some(Mark::Writing { .. })) {
                    jobs::save_cursor(tx, queued.id, &requested)?;
                }
                queued.id
            }
            None => {
                let id = jobs::enqueue(tx, &job, now)?;
                jobs::save_cursor(tx, id, &requested)?;
                id
            }
        };
        let object = format!("import:{}", import.file_name);
        let entry = audit::AuditEntry {
            actor,
            org_id: Some(import.org_id),
            action: "import.notices",
            object: Some(&object),
            outcome: "OK",
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &now.iso())?;
        Ok(id)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::io::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::jobs::{Handlers, JobKind, Outcome};
    use crate::services::testkit::{IPA, Kit};

    use crate::services::testkit::HEADER_1_4 as HEADER;

    fn data_dir(kit: &Kit) -> PathBuf {
        kit.db.path().parent().unwrap().to_owned()
    }

    /// Imports a 1_4 flow of `rows` TARI debts with flagGeneraIuv, through the import job.
    fn imported(kit: &Kit, rows: usize) -> ImportRecord {
        let mut csv = format!("{HEADER}\r\n");
        for n in 1..=rows {
            csv.push_str(&format!(
                "F{rows}-{n:05};;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;;2099-12-31;10.00;;TARI;;\
                 TARI 2099;9/0101002IM/;;true;false;;;;;;;;;;;;;I\r\n"
            ));
        }
        let name = format!("{IPA}-F{rows}-1_4");
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(format!("{name}.csv"), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(csv.as_bytes()).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let upload =
            super::super::Upload { org_ipa: IPA, file_name: &format!("{name}.zip"), actor: "cli", operator: None };
        let limits = super::super::Limits { max_upload_bytes: 1 << 30 };
        let submitted =
            super::super::submit(&kit.db, &data_dir(kit), limits, &upload, &mut bytes.as_slice(), kit.now).unwrap();
        let settings = crate::services::background::JobSettings {
            data_dir: data_dir(kit),
            max_uncompressed_bytes: 1 << 30,
            station_id: "S".to_owned(),
            notices: NoticesMode::On,
            reporting: None,
            retention: crate::config::RetentionSettings::default(),
            receipts: None,
        };
        let record = jobs::claim(&kit.db, submitted.job_id, kit.now).unwrap().unwrap();
        let handlers = crate::services::background::handlers(&settings);
        assert_eq!(jobs::run_claimed(&kit.db, &handlers, &record, &|| false, &mut |_| {}).unwrap(), Outcome::Done);
        let import = super::super::get_import(&kit.db, IPA, submitted.import.id).unwrap();
        assert_eq!(import.rows_loaded, Some(i64::try_from(rows).unwrap()));
        import
    }

    fn notices_job(kit: &Kit, import: &ImportRecord) -> JobRecord {
        kit.db.read(|c| jobs::latest(c, &Job::ImportNotices { import_id: import.id })).unwrap().unwrap()
    }

    fn handlers(job: NoticesJob) -> Handlers {
        Handlers::new().on(JobKind::ImportNotices, job)
    }

    /// Claims the import's notices job and runs it; `cancel_after` notices asks it to stop.
    fn run(kit: &Kit, import: &ImportRecord, handlers: &Handlers, cancel_after: Option<u64>) -> Outcome {
        let job = notices_job(kit, import);
        let record = jobs::claim(&kit.db, job.id, kit.now).unwrap().unwrap();
        let polled = AtomicU64::new(0);
        let cancelled = || cancel_after.is_some_and(|n| polled.fetch_add(1, Ordering::SeqCst) >= n);
        jobs::run_claimed(&kit.db, handlers, &record, &cancelled, &mut |_| {}).unwrap()
    }

    fn entries(kit: &Kit, import: &ImportRecord) -> Vec<String> {
        let import = super::super::get_import(&kit.db, IPA, import.id).unwrap();
        let path = data_dir(kit).join(import.notices_file.expect("a notices file"));
        let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().to_owned()).collect()
    }

    /// The partial archive and its checkpoints, if any are left.
    fn work_files(kit: &Kit, import: &ImportRecord) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(data_dir(kit).join(run::results_dir(import.id))) else { return Vec::new() };
        dir.map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n.contains(".partial")).collect()
    }

    fn status_now(kit: &Kit, import: &ImportRecord) -> NoticesStatus {
        status_in(kit, import, NoticesMode::On)
    }

    fn status_in(kit: &Kit, import: &ImportRecord, mode: NoticesMode) -> NoticesStatus {
        status(&kit.db, &super::super::get_import(&kit.db, IPA, import.id).unwrap(), mode).unwrap()
    }

    #[test]
    fn stopped_notices_resume_where_they_stopped_and_the_stop_costs_no_attempt() {
        let kit = Kit::new();
        let import = imported(&kit, 7);
        assert_eq!(status_now(&kit, &import), NoticesStatus::Queued { done: 0, total: None });
        let handlers = handlers(NoticesJob::new(&data_dir(&kit), NoticesMode::On));
        // Stopped after three notices: queued again, its cursor at the third, the attempt not counted.
        assert_eq!(run(&kit, &import, &handlers, Some(3)), Outcome::Requeued("interrupted".to_owned()));
        let job = notices_job(&kit, &import);
        assert_eq!((job.state, job.attempts, job.units_done, job.units_total), (JobState::Queued, 0, 3, Some(7)));
        assert!(matches!(Mark::parse(job.cursor.as_deref()), Some(Mark::Writing { written: 3, .. })));
        assert_eq!(status_now(&kit, &import), NoticesStatus::Queued { done: 3, total: Some(7) });
        // Stopped again, then to the end: each notice exactly once, in order.
        assert_eq!(run(&kit, &import, &handlers, Some(2)), Outcome::Requeued("interrupted".to_owned()));
        assert_eq!(run(&kit, &import, &handlers, None), Outcome::Done);
        let names = entries(&kit, &import);
        assert_eq!(names.len(), 7);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 7, "no notice twice: {names:?}");
        assert_eq!(status_now(&kit, &import), NoticesStatus::Ready);
        let job = notices_job(&kit, &import);
        assert_eq!((job.state, job.units_done, job.units_total), (JobState::Done, 7, Some(7)));
        assert!(work_files(&kit, &import).is_empty(), "no work file left");
    }

    #[test]
    fn a_short_disk_stops_the_notices_with_what_they_need_and_a_request_starts_again() {
        let kit = Kit::new();
        let import = imported(&kit, 30);
        // Before the first notice: the reserve alone is more than the disk has.
        let short = NoticesJob::new(&data_dir(&kit), NoticesMode::On).with(Arc::new(|_| Ok(100_000)), 0, 10);
        assert!(
            matches!(run(&kit, &import, &handlers(short), None), Outcome::Failed(reason) if reason.contains("not enough room"))
        );
        let NoticesStatus::DiskShort { needed, available } = status_now(&kit, &import) else {
            panic!("{:?}", status_now(&kit, &import));
        };
        assert_eq!(available, 100_000);
        assert!(needed > available);
        assert!(status_now(&kit, &import).can_request(NoticesMode::On));
        // Room runs out on the way (the space is looked at before the first notice and every ten):
        // stopped at the twentieth, the partial file removed.
        let looks = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&looks);
        let shrinking: FreeSpace =
            Arc::new(move |_| Ok(if counted.fetch_add(1, Ordering::SeqCst) < 2 { u64::MAX / 4 } else { 0 }));
        request(&kit.db, IPA, import.id, "operator:mario", NoticesMode::On, kit.now).unwrap();
        let job = NoticesJob::new(&data_dir(&kit), NoticesMode::On).with(shrinking, 0, 10);
        assert!(matches!(run(&kit, &import, &handlers(job), None), Outcome::Failed(_)));
        assert_eq!(looks.load(Ordering::SeqCst), 3);
        assert!(matches!(status_now(&kit, &import), NoticesStatus::DiskShort { available: 0, .. }));
        assert_eq!(notices_job(&kit, &import).units_done, 20);
        assert!(work_files(&kit, &import).is_empty(), "the partial file is removed to give the room back");
        // Asked again with room: made from the start.
        request(&kit.db, IPA, import.id, "operator:mario", NoticesMode::On, kit.now).unwrap();
        let roomy = NoticesJob::new(&data_dir(&kit), NoticesMode::On).with(Arc::new(|_| Ok(u64::MAX / 4)), 0, 10);
        assert_eq!(run(&kit, &import, &handlers(roomy), None), Outcome::Done);
        assert_eq!(entries(&kit, &import).len(), 30);
    }

    #[test]
    fn on_demand_notices_wait_for_a_request_and_off_makes_none() {
        let kit = Kit::new();
        let import = imported(&kit, 2);
        assert_eq!(status_in(&kit, &import, NoticesMode::OnDemand), NoticesStatus::NotRequested);
        let on_demand = handlers(NoticesJob::new(&data_dir(&kit), NoticesMode::OnDemand));
        assert_eq!(run(&kit, &import, &on_demand, None), Outcome::Done);
        assert_eq!(status_now(&kit, &import), NoticesStatus::NotRequested);
        assert!(status_now(&kit, &import).can_request(NoticesMode::OnDemand));
        let job_id = request(&kit.db, IPA, import.id, "operator:mario", NoticesMode::OnDemand, kit.now).unwrap();
        assert_eq!(status_now(&kit, &import), NoticesStatus::Queued { done: 0, total: None });
        let again = request(&kit.db, IPA, import.id, "operator:mario", NoticesMode::OnDemand, kit.now).unwrap();
        assert_eq!(again, job_id, "a second request joins the queued one");
        assert_eq!(run(&kit, &import, &on_demand, None), Outcome::Done);
        assert_eq!(entries(&kit, &import).len(), 2);
        assert!(matches!(
            request(&kit.db, IPA, import.id, "cli", NoticesMode::OnDemand, kit.now),
            Err(ServiceError::Conflict(_))
        ));

        let other = imported(&kit, 1);
        let off = handlers(NoticesJob::new(&data_dir(&kit), NoticesMode::Off));
        assert_eq!(run(&kit, &other, &off, None), Outcome::Done);
        assert_eq!(status_now(&kit, &other), NoticesStatus::Disabled);
        assert!(!status_now(&kit, &other).can_request(NoticesMode::Off));
        assert!(matches!(
            request(&kit.db, IPA, other.id, "cli", NoticesMode::Off, kit.now),
            Err(ServiceError::Conflict(_))
        ));
    }

    #[test]
    fn a_notice_no_layout_prints_is_skipped_and_the_others_are_written() {
        use crate::domain::payment_options::OptionKind;
        use crate::store::debt_options::{self, NewOption};
        let kit = Kit::new();
        let import = imported(&kit, 3);
        // The second debt gets an instalment and a reduced amount beside its single option: a
        // combination no notice layout prints.
        kit.db
            .write(|tx| {
                let org = crate::store::orgs::find_org_by_ipa(tx, IPA)?.unwrap();
                let debt = crate::store::debts::find_debt_by_iud(tx, org.id, "F3-00002")?.unwrap();
                for (n, kind, due) in
                    [(1u64, OptionKind::Instalment, "2099-01-31"), (2, OptionKind::Reduced, "2099-01-05")]
                {
                    let body = format!("3{:015}", 990_000 + n);
                    let nav = format!("{body}{:02}", body.parse::<u64>().unwrap() % 93);
                    let new = NewOption {
                        debt_id: debt.id,
                        org_id: org.id,
                        kind,
                        seq: 1,
                        iuv: &nav[1..],
                        notice_number: &nav,
                        amount_cents: crate::domain::Cents::new(500),
                        due_date: crate::domain::Day::parse(due).unwrap(),
                    };
                    debt_options::insert_option(tx, &new, &kit.now.iso())?;
                }
                Ok::<_, ServiceError>(())
            })
            .unwrap();
        // Its view is built; the layout is what refuses it.
        let view = documents::notice_view(&kit.db, IPA, &NoticeKey::Iud("F3-00002".to_owned()), kit.now).unwrap();
        assert!(matches!(crate::pdf::notice_pdf(&view), Err(crate::pdf::PdfError::Options(_))));
        let handlers = handlers(NoticesJob::new(&data_dir(&kit), NoticesMode::On));
        assert_eq!(run(&kit, &import, &handlers, None), Outcome::Done);
        assert_eq!(entries(&kit, &import).len(), 2, "the other two notices are written");
        let job = notices_job(&kit, &import);
        assert_eq!((job.state, job.units_done, job.units_total), (JobState::Done, 3, Some(3)));
        assert_eq!(status_now(&kit, &import), NoticesStatus::Ready);
    }

    #[test]
    fn a_disk_that_fills_up_while_writing_is_a_short_disk_not_a_retry() {
        let full = crate::pdf::PdfError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(matches!(Stop::from(full), Stop::Short { needed: 0, .. }));
        let other = crate::pdf::PdfError::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(matches!(Stop::from(other), Stop::Job(JobError::Failed(_))));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes_text(1), "1 MB");
        assert_eq!(bytes_text(350_000_000), "350 MB");
        assert_eq!(bytes_text(25_400_000_000), "25.4 GB");
    }
}
