//! The background job that applies an uploaded flow ([`ImportJob`]); the one that writes the
//! `_AVVISI_PDF.zip` of its rows with a generated IUV is `notices`'. Registered with the job runner
//! by `services::background`.

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
