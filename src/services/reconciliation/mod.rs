//! Reconciliation as a service (issue 19): the org's flags, loading the municipality's files,
//! classifying every transfer with MyPivot's labels as sources arrive, and reading the result.
//!
//! Owns: [`settings`]/[`set_settings`] (pagati, tesoreria), [`load_items`] (items stored and
//! classified in one transaction: tests, benchmarks, and the job's chunks through `loader`),
//! [`reconcile_pending`] (what changed since it was classified, by chunks; receipts and flows
//! are noted by triggers of the store, so the services that write them need not know),
//! [`rebuild`] (from scratch), [`list`] and [`label_months`] (a page's "counts and amounts per
//! label per month" and a label's drill-down), the [`ReconcileJob`] and its [`schedule`].
//! `uploads` is the durable upload path (submit, job), `engine` the incremental classification,
//! `loader` the keys under which facts are stored, `detail` one row with the documents behind it. Beside it, what operators keep:
//! `accertamenti` (the registry and its bulk import, headers and details) and `notes` (MyPivot's
//! segnalazioni on reconciled elements).
//! Must never: read a file format itself, or classify outside `domain::reconciliation::classify`.
//! Receipts include S rows (another org's receipt paying a transfer to this org, §1.7); legacy
//! Poste lines (P, §1.5) are reporting rows joining nothing (`engine`).
//! Implements: `shared/reference/mypivot.md` §1.0, §1.5, §1.7, §3 to §5, §8 b c d f h j.
//!
//! "Reported but no receipt" (IUV_NO_RT) is the rows [`list`] gives for that label: the same
//! join as `store::reporting`'s receipt recovery (current flows, outcome not 3, no paying receipt).

pub mod accertamenti;
pub mod detail;
pub mod engine;
pub mod exports;
pub mod loader;
pub mod notes;
pub mod uploads;

#[cfg(test)]
mod tests;

use crate::clock::Now;
use crate::domain::Day;
use crate::domain::reconciliation::Label;
use crate::domain::reconciliation::classify::Flags;
use crate::flows::recon::{Item, RejectedRow};
use crate::jobs::{self, Handler, Job, JobCtx, JobError, Step};
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::jobs::JobState;
use crate::store::orgs::{self, OrgRecord};
use crate::store::reconciliation::{self as rs, ItemRecord, LabelMonth, UploadCounts};
use crate::store::{Conn, Db, StoreError, audit};

use engine::OrgCtx;
use loader::Loader;

/// Changes classified per transaction: small enough to leave the writer to others between chunks.
const CHUNK: u32 = 500;

fn org_of(conn: &Conn, ipa: &str) -> Result<OrgRecord, ServiceError> {
    orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))
}

fn ctx_of(conn: &Conn, org: &OrgRecord) -> Result<OrgCtx, StoreError> {
    Ok(OrgCtx { id: org.id, fiscal_code: org.fiscal_code.clone(), flags: rs::get_flags(conn, org.id)? })
}

/// The org's flags.
pub fn settings(db: &Db, ipa: &str) -> Result<Flags, ServiceError> {
    db.read(|conn| Ok(rs::get_flags(conn, org_of(conn, ipa)?.id)?))
}

/// Changes the org's flags (`None` keeps one) and classifies its rows again, since the flags decide
/// which labels apply; returns the new flags.
pub fn set_settings(
    db: &Db,
    ipa: &str,
    pagati: Option<bool>,
    tesoreria: Option<bool>,
    actor: &str,
    now: Now,
) -> Result<Flags, ServiceError> {
    let (org, flags) = db.write(|tx| {
        let org = org_of(tx, ipa)?;
        let before = rs::get_flags(tx, org.id)?;
        let flags = Flags { pagati: pagati.unwrap_or(before.pagati), tesoreria: tesoreria.unwrap_or(before.tesoreria) };
        if flags != before {
            rs::set_flags(tx, org.id, flags, &now.iso())?;
            rs::mark_all_dirty(tx, org.id)?;
            let before_json = serde_json::json!({ "pagati": before.pagati, "tesoreria": before.tesoreria }).to_string();
            let after_json = serde_json::json!({ "pagati": flags.pagati, "tesoreria": flags.tesoreria }).to_string();
            audit::insert_audit(
                tx,
                &audit::AuditEntry {
                    actor,
                    org_id: Some(org.id),
                    action: "reconciliation.settings",
                    object: Some("recon_org"),
                    outcome: "OK",
                    before_json: Some(&before_json),
                    after_json: Some(&after_json),
                    ..Default::default()
                },
                &now.iso(),
            )?;
        }
        Ok::<_, ServiceError>((org, flags))
    })?;
    reconcile_pending(db, org.id, &|| false)?;
    Ok(flags)
}

/// What [`load_items`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub counts: UploadCounts,
    pub rejected: Vec<RejectedRow>,
    /// Rows of the classification written again.
    pub classified: usize,
}

/// Stores `items` (as a reader gives them) for org `ipa` in one transaction, as a file's load does,
/// then classifies what they changed.
pub fn load_items(db: &Db, ipa: &str, items: Vec<Item>, now: Now) -> Result<Loaded, ServiceError> {
    let (org_id, counts, rejected) = db.write(|tx| {
        let org = org_of(tx, ipa)?;
        let mut loader = Loader::new(org.id, None, now.iso());
        let mut rejected = Vec::new();
        for (line, item) in (1u64..).zip(items) {
            rejected.extend(loader.apply(tx, line, item)?);
        }
        Ok::<_, ServiceError>((org.id, loader.counts, rejected))
    })?;
    let classified = reconcile_pending(db, org_id, &|| false)?;
    Ok(Loaded { counts, rejected, classified })
}

/// Classifies what changed for the org since it was last classified, a chunk per transaction;
/// returns the rows written. Stops between chunks when `cancelled` says so (what is left stays noted).
/// Then books the receipts that arrived to automatic accertamenti (`accertamenti::auto`, §1.7):
/// every path that consumes the noted changes (this job, an upload's, the receipt recovery's) does.
pub fn reconcile_pending(db: &Db, org_id: i64, cancelled: &dyn Fn() -> bool) -> Result<usize, ServiceError> {
    let mut written = 0;
    loop {
        if cancelled() {
            return Err(ServiceError::Interrupted);
        }
        let done = db.write(|tx| {
            let Some(org) = orgs::find_org_by_id(tx, org_id)? else { return Ok::<_, StoreError>(None) };
            let batch = rs::take_dirty(tx, org_id, CHUNK)?;
            if batch.is_empty() {
                return Ok(None);
            }
            let ctx = ctx_of(tx, &org)?;
            Ok(Some(engine::classify_batch(tx, &ctx, &batch)?))
        })?;
        match done {
            Some(rows) => written += rows,
            None => break,
        }
    }
    accertamenti::auto::book_new(db, org_id, Now::read(), cancelled)?;
    Ok(written)
}

/// Classifies the org from scratch: every row deleted and written again from the stored facts.
pub fn rebuild(db: &Db, ipa: &str, cancelled: &dyn Fn() -> bool) -> Result<usize, ServiceError> {
    let org_id = db.write(|tx| {
        let org = org_of(tx, ipa)?;
        rs::delete_all_items(tx, org.id)?;
        rs::mark_all_dirty(tx, org.id)?;
        Ok::<_, ServiceError>(org.id)
    })?;
    reconcile_pending(db, org_id, cancelled)
}

/// Which rows [`list`] gives.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub label: Option<Label>,
    /// Inclusive days on the row's day (payment, else outcome, notification or booking day).
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub limit: u32,
    pub offset: u32,
}

/// The org's classified rows (one per transfer, notification without receipt, or lone movement)
/// with their amounts per source and labels.
pub fn list(db: &Db, ipa: &str, filter: Filter) -> Result<Vec<ItemRecord>, ServiceError> {
    list_within(db, ipa, filter, None)
}

/// [`list`] as `access` may see it: an operator (not an admin) sees the rows of the debt types
/// enabled for them, a row's type being its receipt's debt's, else that of the org's debt or the
/// municipality's notification with its IUD, else with its IUV; rows of no debt type (a treasury
/// movement alone, an S row, a reported IUV known to neither) are an admin's only, as are exports
/// without debt types.
pub fn list_visible(db: &Db, access: &OrgAccess, filter: Filter) -> Result<Vec<ItemRecord>, ServiceError> {
    let types = visible_types(db, access)?;
    list_within(db, &access.org.ipa_code, filter, types.as_deref())
}

fn list_within(db: &Db, ipa: &str, filter: Filter, types: Option<&[String]>) -> Result<Vec<ItemRecord>, ServiceError> {
    db.read(|conn| {
        let org = org_of(conn, ipa)?;
        let limit = if filter.limit == 0 { u32::MAX } else { filter.limit };
        let which = rs::ItemSelection {
            label: filter.label,
            from: filter.from,
            to: filter.to,
            limit,
            offset: filter.offset,
            debt_types: types,
        };
        Ok(rs::list_items(conn, org.id, &which)?)
    })
}

/// The codes of the debt types whose rows `access` may see; `None`: every row (an admin).
pub(crate) fn visible_types(db: &Db, access: &OrgAccess) -> Result<Option<Vec<String>>, ServiceError> {
    let Some(ids) = access.allowed_types.as_ref().filter(|_| !access.admin) else { return Ok(None) };
    let types = db.read(|conn| crate::store::debt_types::list_debt_types(conn, access.org.id))?;
    Ok(Some(types.into_iter().filter(|t| ids.contains(&t.id)).map(|t| t.code).collect()))
}

/// Counts and amounts per label per month (every row; the CLI's).
pub fn label_months(db: &Db, ipa: &str, from: Option<Day>, to: Option<Day>) -> Result<Vec<LabelMonth>, ServiceError> {
    db.read(|conn| Ok(rs::label_months(conn, org_of(conn, ipa)?.id, from, to, None)?))
}

/// [`label_months`] of the rows `access` may see (see [`list_visible`]), for the back office's overview.
pub fn label_months_visible(
    db: &Db,
    access: &OrgAccess,
    from: Option<Day>,
    to: Option<Day>,
) -> Result<Vec<LabelMonth>, ServiceError> {
    let types = visible_types(db, access)?;
    db.read(|conn| Ok(rs::label_months(conn, access.org.id, from, to, types.as_deref())?))
}

/// Queues a [`Job::Reconcile`] for each org with changes not yet classified and no such job
/// waiting; returns how many it queued. The server calls it every few seconds.
pub fn schedule(db: &Db, now: Now) -> Result<usize, ServiceError> {
    // Read first: most calls find nothing, and need not take the writer.
    if db.read(rs::orgs_with_dirty)?.is_empty() {
        return Ok(0);
    }
    Ok(db.write(|tx| {
        let mut queued = 0;
        for org_id in rs::orgs_with_dirty(tx)? {
            let job = Job::Reconcile { org_id };
            let waiting =
                jobs::latest(tx, &job)?.is_some_and(|j| matches!(j.state, JobState::Queued | JobState::Running));
            if !waiting {
                jobs::enqueue(tx, &job, now)?;
                queued += 1;
            }
        }
        Ok::<_, StoreError>(queued)
    })?)
}

/// Runs `Job::Reconcile`: the org's pending changes, classified.
pub struct ReconcileJob;

impl Handler for ReconcileJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::Reconcile { org_id } = job else {
            return Err(JobError::Failed(format!("not a reconciliation job: {job:?}")));
        };
        match reconcile_pending(ctx.db, *org_id, ctx.cancelled) {
            Ok(_) => Ok(Step::Done),
            Err(ServiceError::Interrupted) => Err(JobError::Interrupted),
            Err(err) => Err(JobError::Failed(err.to_string())),
        }
    }
}
