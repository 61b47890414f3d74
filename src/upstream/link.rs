//! The box's link with the Region, kept by one background thread in upstream mode (`serve` starts
//! it): for each org whose password at the Region is set, every tick it queues a chunk of the debts
//! made before its mirroring was on (`outbox::backfill_step`), sends the outbox's changes in order
//! (`services::upstream::outbox::send_next`), confirms the pushes received
//! (`outcomes::confirm`, then `pushes::mark`), and on its own period polls the Region's receipt
//! export (`polling::poll`) and fetches the reporting flows (`paaSILChiediElencoFlussiSPC`,
//! `paaSILChiediFlussoSPC`, stored by `reporting::store_region_flow`).
//! Everything it does is durable in the services' tables, so a restart resumes where it stopped;
//! a shutdown is seen between two calls, and each call is bounded by the client's timeouts.
//! Must never: hold the database writer during a call to the Region (the services do not);
//! stop for one org's failure.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::region::{self, OrgAtRegion};
use super::{SilClient, SpcKind, Timeouts};
use crate::clock::Now;
use crate::services::payments::reporting::ListedFlow;
use crate::services::upstream::outbox::{self, Step};
use crate::services::upstream::outcomes::{self, Confirmation as Applied, PaidKey};
use crate::services::upstream::polling::{self, PollStep};
use crate::services::upstream::pushes::{self, Confirmation};
use crate::services::upstream::settings::{self, UpstreamCreds};
use crate::store::Db;

/// How many changes of one org go up in one tick, so that every org gets its turn.
const CHANGES_PER_TICK: usize = 200;
/// How many push hints are confirmed in one tick.
const HINTS_PER_TICK: u32 = 50;
/// How long the thread sleeps between ticks when there was nothing to do.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// Largest reporting flow downloaded from the Region.
const MAX_FLOW_BYTES: u64 = 64 * 1024 * 1024;
/// How many days back the reporting flows are listed each time (the Region lists by the day it
/// stored them; a box offline for a while catches up within this window).
const FLOW_DAYS: i64 = 7;

/// What the link needs: the store, the data directory, the client, and how often to poll.
pub struct Link<'a> {
    pub db: &'a Db,
    pub data_dir: PathBuf,
    pub client: SilClient,
    pub poll_every: Duration,
    pub flows_every: Duration,
}

impl Link<'_> {
    /// The client of `endpoint` with the default timeouts.
    pub fn client(endpoint: &str) -> Result<SilClient, String> {
        SilClient::new(endpoint, Timeouts::default()).map_err(|e| e.to_string())
    }

    /// Runs until `stopping()` says so.
    pub fn run(&self, stopping: &dyn Fn() -> bool) {
        let mut next_poll: std::collections::HashMap<i64, Instant> = std::collections::HashMap::new();
        let mut next_flows: std::collections::HashMap<i64, Instant> = std::collections::HashMap::new();
        let mut waiting = std::collections::HashSet::new();
        while !stopping() {
            let busy = self.tick(&mut next_poll, &mut next_flows, &mut waiting, stopping);
            if !busy {
                let until = Instant::now() + IDLE_TICK;
                // A change someone waits for (a SIL's paaSILImportaDovuto) ends the idle wait.
                while Instant::now() < until && !stopping() && !outbox::take_nudge() {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    fn db(&self) -> &Db {
        self.db
    }

    /// One round over the linked orgs; whether anything moved (then the next round comes at once).
    fn tick(
        &self,
        next_poll: &mut std::collections::HashMap<i64, Instant>,
        next_flows: &mut std::collections::HashMap<i64, Instant>,
        waiting: &mut std::collections::HashSet<i64>,
        stopping: &dyn Fn() -> bool,
    ) -> bool {
        let linked = match settings::linked(self.db()) {
            Ok(linked) => linked,
            Err(err) => {
                tracing::error!(error = %err, "upstream: cannot read the linked orgs");
                return false;
            }
        };
        let mut busy = false;
        for creds in &linked {
            if stopping() {
                return false;
            }
            // Debts made before the org's mirroring was turned on join its queue, a chunk a tick.
            match outbox::backfill_step(self.db(), creds.org_id, Now::read()) {
                Ok(0) => {}
                Ok(queued) => {
                    tracing::info!(org = %creds.ipa_code, queued, "upstream: earlier debts queued for the Region");
                    busy = true;
                }
                Err(err) => {
                    tracing::error!(org = %creds.ipa_code, error = %err, "upstream: cannot queue earlier debts")
                }
            }
            let org = OrgAtRegion::new(&self.client, region::creds(creds));
            let (moved, held) = self.send_changes(creds, &org, stopping);
            busy |= moved;
            if held {
                waiting.insert(creds.org_id);
            } else {
                waiting.remove(&creds.org_id);
            }
            let now = Instant::now();
            if next_poll.get(&creds.org_id).is_none_or(|at| *at <= now) {
                let (again, answered) = self.poll(creds, &org, stopping);
                if answered && waiting.remove(&creds.org_id) {
                    // The Region is back: what waited for it goes now, not at the end of its backoff.
                    match outbox::retry_now(self.db(), creds.org_id, Now::read()) {
                        Ok(n) if n > 0 => busy = true,
                        Ok(_) => {}
                        Err(err) => tracing::error!(org = %creds.ipa_code, error = %err, "upstream: cannot reschedule"),
                    }
                }
                if again {
                    busy = true;
                } else {
                    next_poll.insert(creds.org_id, now + self.poll_every);
                }
            }
            if next_flows.get(&creds.org_id).is_none_or(|at| *at <= now) {
                self.fetch_flows(creds, &org);
                next_flows.insert(creds.org_id, now + self.flows_every);
            }
            self.record_link(creds, &org);
        }
        busy |= self.confirm_pushes(&linked, stopping);
        busy
    }

    /// Sends the org's changes while the Region takes them; whether any went, and whether the head
    /// waits for a retry (the Region did not answer).
    fn send_changes(&self, creds: &UpstreamCreds, org: &OrgAtRegion<'_>, stopping: &dyn Fn() -> bool) -> (bool, bool) {
        let mut moved = false;
        let mut held = false;
        for _ in 0..CHANGES_PER_TICK {
            if stopping() {
                break;
            }
            match outbox::send_next(self.db(), &self.data_dir, creds.org_id, org, Now::read()) {
                Ok(Step::Idle) => break,
                Ok(Step::Waiting { .. }) => {
                    held = outbox::waits_for_region(self.db(), creds.org_id).unwrap_or(false);
                    break;
                }
                Ok(Step::Retry { change_id, attempts, at }) => {
                    held = true;
                    tracing::warn!(org = %creds.ipa_code, change_id, attempts, next = %at, "upstream: the Region did not take a change; retrying later");
                    break;
                }
                Ok(Step::Sent { change_id, iuv }) => {
                    tracing::info!(org = %creds.ipa_code, change_id, iuv = ?iuv, "upstream: change sent");
                    moved = true;
                }
                Ok(Step::Refused { change_id, code }) => {
                    tracing::warn!(org = %creds.ipa_code, change_id, code = ?code, "upstream: the Region refused a change");
                    moved = true;
                }
                Ok(Step::Overtaken { .. } | Step::Dropped { .. }) => moved = true,
                Err(err) => {
                    tracing::error!(org = %creds.ipa_code, error = %err, "upstream: sending a change failed");
                    break;
                }
            }
        }
        (moved, held)
    }

    /// One step of the org's receipt polling: whether another should follow at once (a
    /// reservation was just made, or the export is being prepared), and whether the Region answered.
    fn poll(&self, creds: &UpstreamCreds, org: &OrgAtRegion<'_>, stopping: &dyn Fn() -> bool) -> (bool, bool) {
        match polling::poll(self.db(), creds.org_id, org, &region::work_dir(&self.data_dir), Now::read(), stopping) {
            Ok(PollStep::Reserved { .. } | PollStep::Pending) => (true, true),
            Ok(PollStep::Applied(report)) => {
                tracing::info!(org = %creds.ipa_code, rows = report.rows, stored = report.stored, replays = report.replays, skipped = report.skipped, cursor = %report.cursor, "upstream: receipts polled");
                (false, true)
            }
            Ok(PollStep::Empty { .. }) => (false, true),
            Ok(PollStep::Stopped) => (false, false),
            Ok(PollStep::Dropped(reason)) => {
                tracing::warn!(org = %creds.ipa_code, %reason, "upstream: the Region dropped the receipt export; asking again");
                (false, true)
            }
            Ok(PollStep::Retry(reason)) => {
                tracing::warn!(org = %creds.ipa_code, %reason, "upstream: polling failed; retrying later");
                (false, false)
            }
            Err(err) => {
                tracing::error!(org = %creds.ipa_code, error = %err, "upstream: polling failed");
                (false, false)
            }
        }
    }

    /// Confirms the pushes received with the Region's own answer; whether any was decided.
    fn confirm_pushes(&self, linked: &[UpstreamCreds], stopping: &dyn Fn() -> bool) -> bool {
        let hints = match pushes::pending(self.db(), HINTS_PER_TICK) {
            Ok(hints) => hints,
            Err(err) => {
                tracing::error!(error = %err, "upstream: cannot read the pushes to confirm");
                return false;
            }
        };
        let mut decided = false;
        for hint in hints {
            if stopping() {
                break;
            }
            let Some(creds) = linked.iter().find(|c| c.org_id == hint.org_id) else { continue };
            let key = match (&hint.iuv, &hint.iud) {
                (Some(iuv), _) if !iuv.trim().is_empty() => PaidKey::Iuv(iuv.trim().to_owned()),
                (_, Some(iud)) if !iud.trim().is_empty() => PaidKey::Iud(iud.trim().to_owned()),
                _ => {
                    let verdict = Confirmation::NotConfirmed { detail: "the push names no IUV or IUD".to_owned() };
                    decided |= pushes::mark(self.db(), hint.id, &verdict, Now::read()).unwrap_or(false);
                    continue;
                }
            };
            let org = OrgAtRegion::new(&self.client, region::creds(creds));
            let verdict = match outcomes::confirm(self.db(), creds.org_id, key, &org, Now::read()) {
                Ok(Applied::Applied) => Confirmation::Confirmed { detail: None },
                Ok(Applied::Replay) => Confirmation::Confirmed { detail: Some("receipt already stored".to_owned()) },
                Ok(Applied::NotConfirmed) => Confirmation::NotConfirmed {
                    detail: "the Region does not confirm this payment: nothing marked paid".to_owned(),
                },
                Ok(Applied::Retry(reason)) => {
                    tracing::warn!(org = %creds.ipa_code, push = hint.id, %reason, "upstream: a push cannot be confirmed yet");
                    continue;
                }
                Err(err) => {
                    tracing::error!(org = %creds.ipa_code, push = hint.id, error = %err, "upstream: confirming a push failed");
                    continue;
                }
            };
            self.record_link(creds, &org);
            match pushes::mark(self.db(), hint.id, &verdict, Now::read()) {
                Ok(marked) => decided |= marked,
                Err(err) => {
                    tracing::error!(push = hint.id, error = %err, "upstream: cannot record a push's confirmation")
                }
            }
        }
        decided
    }

    /// Records how the Region last answered the org, for the operators' view of the link.
    fn record_link(&self, creds: &UpstreamCreds, org: &OrgAtRegion<'_>) {
        let recorded = match org.link_state() {
            None => return,
            Some(Ok(())) => settings::record_contact(self.db(), creds.org_id, Now::read()),
            Some(Err(failure)) => settings::record_failure(self.db(), creds.org_id, &failure, Now::read()),
        };
        if let Err(err) = recorded {
            tracing::error!(org = %creds.ipa_code, error = %err, "upstream: cannot record the link's state");
        }
    }

    /// Lists the org's reporting flows of the last days at the Region and stores the new ones.
    fn fetch_flows(&self, creds: &UpstreamCreds, org: &OrgAtRegion<'_>) {
        let now = Now::read();
        let today = now.today();
        let from = today.checked_sub(jiff::Span::new().days(FLOW_DAYS)).unwrap_or(today);
        let listed = match self.client.elenco_flussi_spc(
            &org.creds,
            None,
            SpcKind::Reporting,
            crate::domain::Day::from(from),
            crate::domain::Day::from(today),
        ) {
            Ok(listed) => listed,
            Err(err) => {
                tracing::warn!(org = %creds.ipa_code, error = %err, "upstream: cannot list the reporting flows");
                return;
            }
        };
        let fiscal_code = match crate::services::admin::orgs::get_org(self.db(), &creds.ipa_code) {
            Ok(o) => o.fiscal_code,
            Err(err) => {
                tracing::error!(org = %creds.ipa_code, error = %err, "upstream: org not found");
                return;
            }
        };
        let mut stored = 0usize;
        for flow in &listed {
            let known = crate::services::payments::reporting::is_version_stored(
                self.db(),
                &fiscal_code,
                &flow.id,
                Some(&flow.date_time),
            );
            if known.unwrap_or(false) {
                continue;
            }
            let file = match self.client.flusso_spc(&org.creds, None, SpcKind::Reporting, flow) {
                Ok(file) => file,
                Err(err) => {
                    tracing::warn!(org = %creds.ipa_code, flow = %flow.id, error = %err, "upstream: cannot ask for a reporting flow");
                    continue;
                }
            };
            let Some(url) = file.download_url.filter(|_| file.stato == "OK") else { continue };
            let xml = match self.client.download(&url, MAX_FLOW_BYTES) {
                Ok(xml) => xml,
                Err(err) => {
                    tracing::warn!(org = %creds.ipa_code, flow = %flow.id, error = %err, "upstream: cannot download a reporting flow");
                    continue;
                }
            };
            let listed = ListedFlow { iuf: &flow.id, revision: 0, psp_id: "", flow_date: Some(&flow.date_time) };
            match crate::services::payments::reporting::store_region_flow(self.db(), &fiscal_code, &listed, &xml, now) {
                Ok(_) => stored += 1,
                Err(err) => {
                    tracing::error!(org = %creds.ipa_code, flow = %flow.id, error = %err, "upstream: cannot store a reporting flow")
                }
            }
        }
        if stored > 0 {
            tracing::info!(org = %creds.ipa_code, listed = listed.len(), stored, "upstream: reporting flows fetched");
        }
    }
}
