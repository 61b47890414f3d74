//! The background jobs of imports: applying an uploaded flow ([`ImportJob`]) and writing the
//! `_AVVISI_PDF.zip` of its rows with a generated IUV ([`NoticesJob`]). Registered with the job
//! runner by `services::background`.

use std::path::PathBuf;

use super::run::{self, RunEnv};
use crate::clock::Now;
use crate::flows::import::RunError;
use crate::jobs::{Handler, Job, JobCtx, JobError, Step};
use crate::store::{Conn, StoreError, imports};

/// Applies `Job::Import`.
pub struct ImportJob {
    pub data_dir: PathBuf,
    pub max_uncompressed_bytes: u64,
}

impl Handler for ImportJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::Import { import_id } = job else {
            return Err(JobError::Failed(format!("not an import job: {job:?}")));
        };
        let mut env = RunEnv {
            db: ctx.db,
            data_dir: &self.data_dir,
            max_uncompressed_bytes: self.max_uncompressed_bytes,
            now: Now::read(),
            job_id: ctx.job_id,
            cursor: ctx.cursor.clone(),
            cancelled: ctx.cancelled,
            progress: ctx.progress,
        };
        match run::run(&mut env, *import_id) {
            Ok(_) => Ok(Step::Done),
            Err(RunError::Interrupted) => Err(JobError::Interrupted),
            Err(RunError::System(err)) => Err(JobError::Failed(err)),
        }
    }

    /// An import whose job is given up ends aborted with MyPay's generic code, so that its uploader
    /// sees an outcome instead of an import forever "in elaborazione". Chunks it committed stay
    /// applied: the description says how many rows, so the operator knows what to check.
    fn given_up(&self, tx: &Conn, job: &Job, reason: &str, now: Now) -> Result<(), StoreError> {
        let Job::Import { import_id } = job else { return Ok(()) };
        let Some(import) = imports::find_import(tx, *import_id)?.filter(|i| !i.state.is_final()) else {
            return Ok(());
        };
        let applied = import.rows_loaded.unwrap_or(0) + import.rows_rejected.unwrap_or(0);
        let description = if applied > 0 {
            format!("{reason}; {applied} righe erano già state elaborate e restano applicate")
        } else {
            reason.to_owned()
        };
        imports::update_import_aborted(tx, *import_id, "PAA_IMPORT_ERRORE_GENERICO", &description, &now.iso())?;
        Ok(())
    }
}

/// Writes `<name>_AVVISI_PDF.zip` beside an import's other results (`Job::ImportNotices`).
pub struct NoticesJob {
    pub data_dir: PathBuf,
}

impl Handler for NoticesJob {
    /// Idempotent: an import that has its file already is left alone; the ZIP is written under a
    /// temporary name and renamed.
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::ImportNotices { import_id: id } = job else {
            return Err(JobError::Failed(format!("not an import-notices job: {job:?}")));
        };
        let id = *id;
        let db = ctx.db;
        let Some(record) = db.read(|c| imports::find_import(c, id))? else {
            return Ok(Step::Done);
        };
        if record.notices_file.is_some() {
            return Ok(Step::Done);
        }
        let iuds = db.read(|c| imports::list_notice_iuds(c, id))?;
        if iuds.is_empty() {
            return Ok(Step::Done);
        }
        let stem = record.file_name.strip_suffix(".zip").unwrap_or(&record.file_name).to_owned();
        let rel = format!("{}/{stem}_AVVISI_PDF.zip", run::results_dir(id));
        let path = self.data_dir.join(&rel);
        let io_err = |err: std::io::Error| JobError::Failed(format!("cannot write the notices: {err}"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let tmp = path.with_extension("zip.partial");
        let file = std::fs::File::create(&tmp).map_err(io_err)?;
        let views = crate::services::debts::documents::notice_views(db, &record.org_ipa, &iuds);
        let summary = crate::pdf::write_notices_zip(std::io::BufWriter::new(file), views)
            .map_err(|err| JobError::Failed(format!("cannot render the notices: {err}")))?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(io_err)?;
        std::fs::rename(&tmp, &path).map_err(io_err)?;
        db.write(|tx| imports::update_import_notices(tx, id, &rel))?;
        // Counts, never the lists: a large flow has a million notices.
        let skipped_examples: Vec<&String> = summary.skipped.iter().take(3).collect();
        tracing::info!(
            import = id,
            written = summary.written.len(),
            skipped = summary.skipped.len(),
            ?skipped_examples,
            "import notices written"
        );
        Ok(Step::Done)
    }
}
