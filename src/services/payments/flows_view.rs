//! The back office's view of the reporting flows (FdR) stored for an org: a page of flows, one flow
//! with its rows and, for each row, the receipt it reports (or none); and the acquisition an
//! operator asks for, queued as a `Job::ReportingFetch` that the job runner hands to the
//! [`FlowFetcher`] `serve` registers (the network side is an adapter's, `pagopa::fdr`).

use std::sync::Arc;

use crate::clock::Now;
use crate::jobs::{self, Handler, Job, JobCtx, JobError, Step};
use crate::services::ServiceError;
use crate::store::Db;
use crate::store::jobs::JobRecord;
use crate::store::reporting::{self, MatchedReceipt, ReportingFlowRecord, ReportingPaymentRecord};

/// Flows per page.
pub const PAGE_SIZE: u32 = 50;
/// Rows of one flow shown with their receipts; a larger flow is cut there (its document has all).
pub const ROWS_SHOWN: u32 = 2_000;

/// Page `page` (from 1) of the org's flows, newest first.
pub fn list(db: &Db, org_id: i64, page: u64) -> Result<Vec<ReportingFlowRecord>, ServiceError> {
    let offset = (page.max(1) - 1).saturating_mul(u64::from(PAGE_SIZE));
    Ok(db.read(|c| reporting::list_flows_page(c, org_id, PAGE_SIZE, offset))?)
}

/// One flow with its rows, each with the receipt it matches.
#[derive(Debug, Clone)]
pub struct FlowDetail {
    pub flow: ReportingFlowRecord,
    pub rows: Vec<(ReportingPaymentRecord, Option<MatchedReceipt>)>,
    /// Rows the flow has beyond [`ROWS_SHOWN`].
    pub rows_not_shown: usize,
}

/// Flow `id` of the org; "not found" for another org's.
pub fn detail(db: &Db, org_id: i64, id: i64) -> Result<FlowDetail, ServiceError> {
    db.read(|c| {
        let Some(mut flow) = reporting::find_flow(c, org_id, id)? else {
            return Err(ServiceError::NotFound(format!("reporting flow {id}")));
        };
        let matches = reporting::match_flow_receipts(c, org_id, id, ROWS_SHOWN)?;
        let payments = std::mem::take(&mut flow.payments);
        let rows_not_shown = payments.len().saturating_sub(matches.len());
        let rows = payments.into_iter().zip(matches).collect();
        Ok(FlowDetail { flow, rows, rows_not_shown })
    })
}

/// The job of an org's acquisition.
fn fetch_job(org_id: i64) -> Job {
    Job::ReportingFetch { org_id }
}

/// Queues an acquisition of the org's flows from pagoPA, unless one is already waiting or
/// running; returns the job's id.
pub fn request_fetch(db: &Db, org_id: i64, now: Now) -> Result<i64, ServiceError> {
    db.write(|tx| {
        let job = fetch_job(org_id);
        if let Some(found) = jobs::latest(tx, &job)?
            && matches!(found.state, crate::store::jobs::JobState::Queued | crate::store::jobs::JobState::Running)
        {
            return Ok(found.id);
        }
        Ok(jobs::enqueue(tx, &job, now)?)
    })
}

/// The org's latest acquisition asked for from the back office, if any.
pub fn last_fetch(db: &Db, org_id: i64) -> Result<Option<JobRecord>, ServiceError> {
    Ok(db.read(|c| jobs::latest(c, &fetch_job(org_id)))?)
}

/// What an acquisition found, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchCounts {
    pub listed: usize,
    pub stored: usize,
    pub rejected: usize,
}

/// Fetches an org's new flows from pagoPA and stores them (`pagopa::fdr`, given by `serve`).
pub trait FlowFetcher: Send + Sync + std::fmt::Debug {
    /// Fetches the flows of the org with this id; an error is the reason, in English, for the log
    /// and the job's row.
    fn fetch_org(&self, db: &Db, org_id: i64, now: Now, cancelled: &dyn Fn() -> bool) -> Result<FetchCounts, String>;
}

/// Runs a `Job::ReportingFetch`; without a fetcher (no `node.base_url`, or upstream mode) the job
/// fails with why.
#[derive(Debug, Clone, Default)]
pub struct FetchJob {
    pub fetcher: Option<Arc<dyn FlowFetcher>>,
}

impl Handler for FetchJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::ReportingFetch { org_id } = job else {
            return Err(JobError::Failed(format!("not a reporting fetch: {job:?}")));
        };
        let Some(fetcher) = &self.fetcher else {
            return Ok(Step::GaveUp(
                "reporting flows are not fetched by this installation (node.base_url unset, or upstream mode)"
                    .to_owned(),
            ));
        };
        match fetcher.fetch_org(ctx.db, *org_id, Now::read(), ctx.cancelled) {
            Ok(counts) => {
                let done = u64::try_from(counts.stored).unwrap_or(u64::MAX);
                (ctx.report)(jobs::Units { done, total: u64::try_from(counts.listed).ok() });
                tracing::info!(
                    org_id,
                    listed = counts.listed,
                    stored = counts.stored,
                    rejected = counts.rejected,
                    "reporting flows fetched on request"
                );
                Ok(Step::Done)
            }
            Err(reason) if (ctx.cancelled)() => {
                tracing::info!(org_id, reason, "reporting fetch interrupted");
                Err(JobError::Interrupted)
            }
            Err(reason) => Ok(Step::GaveUp(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn a_second_request_while_one_waits_queues_nothing() {
        let kit = crate::services::testkit::Kit::new();
        let first = request_fetch(&kit.db, 1, kit.now).unwrap();
        assert_eq!(request_fetch(&kit.db, 1, kit.now).unwrap(), first);
        let last = last_fetch(&kit.db, 1).unwrap().unwrap();
        assert_eq!((last.id, last.kind.as_str(), last.payload.as_str()), (first, "reporting_fetch", "{\"org_id\":1}"));
    }
}
