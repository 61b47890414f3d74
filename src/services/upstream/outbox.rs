//! The outbox of upstream mode: every change of a mirrored org's debts, queued in the transaction
//! that makes it (`services::debts` calls [`enqueue`]; an import queues its flow with
//! `flows::enqueue`), sent to the Region by [`send_next`] through a port, [`RegionDebts`], which
//! the upstream adapter implements with MyPay's SIL client (and tests with a double).
//!
//! Order: one queue per org, by change id. [`send_next`] takes the org's first unfinished change
//! and nothing after it: while the Region is unreachable the whole queue waits (head of line), so
//! a debt's `I`, `M`, `A` reach the Region in order, whatever the channels that made them.
//! A change sends what its debt is *now* (the current record, not a snapshot): when an `I` or `M`
//! is taken, the later pending `M`s of the same debt read when it was sent are finished with it
//! (`merged_into`), since the Region already has what they would send.
//! Outcomes: taken → `SENT`, the Region's IUV (and its notice number, `3` + IUV17 or the aux-0
//! form with the org's application code) stored on the local debt that has none, so notices and
//! the portal show it; a retryable failure (network, timeout, 5xx, `PAA_SYSTEM_ERROR`) → one more
//! attempt after a backoff of 30 s doubling up to an hour, the queue waiting; a business refusal →
//! `REFUSED` with MyPay's code and text for operators, and the next change goes.
//! Convergence (a box restored from an older backup sends again what the Region has): an `I`
//! answered `PAA_IMPORT_IUD_DUPLICATO` is sent again as `M` with `flagGeneraIuv`, which MyPay
//! (and mypay's SIL server) answers with the IUV the debt already has; an `A` answered
//! `PAA_IMPORT_DOVUTO_NON_PRESENTE` is done (the code is kept as a note: MyPay gives the same
//! answer for a debt paid meanwhile, whose receipt then arrives for an annulled debt and opens an
//! anomaly). An `M` so refused stays `REFUSED` with the code.
//! Must never: hold the writer while talking to the Region; lose a change (it is a row from the
//! moment its debt changed until the Region answered it).

use std::io::Write;
use std::path::Path;

pub use super::RegionFailure;

use jiff::SignedDuration;

use super::flows;
use crate::clock::Now;
use crate::domain::{Iuv, NoticeNumber};
use crate::services::ServiceError;
use crate::store::debts::{self, DebtRecord};
use crate::store::outbox::{self, ChangeAction, ChangeRecord, ChangeState, Outcome};
use crate::store::{Conn, Db, StoreError, audit, orgs};

/// What MyPay's `paaSILImportaDovuto` is asked to do with a debt (its `azione`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebtAction {
    Insert,
    Modify,
    Annul,
}

impl DebtAction {
    /// MyPay's `azione`.
    #[cfg(test)]
    pub fn code(self) -> &'static str {
        match self {
            DebtAction::Insert => "I",
            DebtAction::Modify => "M",
            DebtAction::Annul => "A",
        }
    }
}

/// What the Region answered to a debt it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionAnswer {
    /// `identificativoUnivocoVersamento`: the IUV it assigned or the debt already had.
    pub iuv: Option<String>,
    /// The notice number, when the adapter has it; otherwise it is derived from the IUV.
    pub notice_number: Option<String>,
}

/// What `paaSILChiediStatoImportFlusso` says of an uploaded flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStatus {
    /// MyPay's `stato` as answered: `LOAD_IMPORT`, `IMPORT_IN_ELAB`, `IMPORT_ESEGUITO`,
    /// `IMPORT_ABORTITO`, or the flow's error code (so text, read by `flows`).
    pub stato: String,
    /// `urlFileScarti`, once done, when some row was refused.
    pub scarti_url: Option<String>,
    /// `urlFileIUV`, once done, when some row was loaded.
    pub iuv_url: Option<String>,
}

/// The Region as the outbox needs it: one org's SIL calls at the regional MyPay, with that org's
/// credentials there. Implemented by the upstream adapter, and by a double in tests.
pub trait RegionDebts {
    /// `paaSILImportaDovuto` of `debt` as it is stored (its IUV, when it has one, included) with
    /// `action` and `flagGeneraIuv` = `generate_iuv`.
    fn import_debt(
        &self,
        action: DebtAction,
        debt: &DebtRecord,
        generate_iuv: bool,
    ) -> Result<RegionAnswer, RegionFailure>;

    /// `paaSILAutorizzaImportFlusso` and the upload of `file` as `file_name`; returns the request
    /// token to ask its status with.
    fn upload_flow(&self, file: &Path, file_name: &str) -> Result<String, RegionFailure>;

    /// `paaSILChiediStatoImportFlusso` of `request_token`, asking for the `_SCARTI` and `_IUV` URLs.
    fn flow_status(&self, request_token: &str) -> Result<FlowStatus, RegionFailure>;

    /// Downloads a file URL the Region gave into `out`, at most `max_bytes`; returns the bytes.
    fn download(&self, url: &str, max_bytes: u64, out: &mut dyn Write) -> Result<u64, RegionFailure>;
}

/// What one [`send_next`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing waits to be sent.
    Idle,
    /// The head change waits until `until` (a retry's backoff, a flow the Region is processing,
    /// an import still running here).
    Waiting { change_id: i64, until: String },
    /// The Region took the change; `iuv` is the IUV it answered.
    Sent { change_id: i64, iuv: Option<String> },
    /// The Region refused it with `code`; the next change goes.
    Refused { change_id: i64, code: Option<String> },
    /// It failed and is tried again at `at` (attempt `attempts` failed); the queue waits.
    Retry { change_id: i64, attempts: i64, at: String },
    /// Another sender finished it meanwhile: nothing recorded.
    Overtaken { change_id: i64 },
    /// It had nothing to send (a flow whose import aborted here or loaded no row): removed.
    Dropped { change_id: i64 },
}

/// MyPay's code for an insert of an IUD it already has.
pub const IUD_DUPLICATE: &str = "PAA_IMPORT_IUD_DUPLICATO";
/// MyPay's code for an `M`/`A` of a debt it does not have or no longer changes (paid, in payment).
pub const NOT_PRESENT: &str = "PAA_IMPORT_DOVUTO_NON_PRESENTE";
/// The first retry's delay, doubled at each failure up to [`MAX_RETRY`].
pub const FIRST_RETRY: SignedDuration = SignedDuration::from_secs(30);
pub const MAX_RETRY: SignedDuration = SignedDuration::from_secs(3600);

/// The actor of the audit entries the outbox writes.
const ACTOR: &str = "upstream";

/// Queues a change of debt `debt_id` of org `org_id` in the caller's transaction (the one that
/// changes the debt), due at once.
pub(crate) fn enqueue(
    tx: &Conn,
    org_id: i64,
    action: ChangeAction,
    debt_id: i64,
    now: &str,
) -> Result<i64, StoreError> {
    outbox::insert_change(tx, org_id, action, Some(debt_id), None, now)
}

/// Turns mirroring of org `ipa`'s debts on or off (upstream mode, `mypay org set
/// --upstream-password-stdin`). From now on each change is queued for the Region; turned on, the
/// open debts made before are queued too, a chunk at a time ([`backfill_step`]).
pub fn set_mirrored(db: &Db, actor: &str, ipa: &str, on: bool, now: Now) -> Result<(), ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        let org = orgs::find_org_by_ipa(tx, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        let before = outbox::org_is_mirrored(tx, org.id)?;
        outbox::update_org_mirrored(tx, org.id, on, &iso)?;
        if on != before {
            // Turned on: from the first debt (those the Region has are skipped); off: nothing more.
            outbox::update_org_backfill(tx, org.id, on.then_some(0))?;
        }
        let object = format!("org:{}", org.ipa_code);
        let (before, after) = (format!("{{\"upstream_mirror\":{before}}}"), format!("{{\"upstream_mirror\":{on}}}"));
        let entry = audit::AuditEntry {
            actor,
            org_id: Some(org.id),
            action: "org.upstream_mirror",
            object: Some(&object),
            outcome: "OK",
            before_json: Some(&before),
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok(())
    })
}

/// Set when a change was queued that someone waits for (a SIL `paaSILImportaDovuto`): the link
/// takes it at once instead of at the end of its idle tick ([`take_nudge`]).
static NUDGED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks the link to send now (see [`NUDGED`]).
pub fn nudge() {
    NUDGED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the link was asked to send now; clears the request.
pub fn take_nudge() -> bool {
    NUDGED.swap(false, std::sync::atomic::Ordering::Relaxed)
}

/// How a debt's own change fared at the Region within a wait ([`await_region`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionVerdict {
    /// The org is not mirrored (or the debt a payment session's): nothing to wait for.
    NotMirrored,
    /// The Region took it: the debt as now stored, with the Region's IUV when it gave one.
    Taken(DebtRecord),
    /// The Region refused it with its code; an insert was annulled here (see [`await_region`]).
    Refused { code: Option<String>, text: String },
    /// No answer within the wait: it stays queued and goes when the Region answers.
    Queued(DebtRecord),
}

/// Waits at most `wait` for the Region's answer to the last change queued for `debt` (the SIL's
/// `paaSILImportaDovuto` answers synchronously with the IUV, as MyPay does). The link is nudged
/// first. A refused insert is annulled here (its `A` then finds nothing at the Region), so the
/// IUD is free for the caller to send again once corrected, as after MyPay's refusal.
pub fn await_region(
    db: &Db,
    ipa: &str,
    debt: &DebtRecord,
    insert: bool,
    wait: std::time::Duration,
    now: Now,
) -> Result<RegionVerdict, ServiceError> {
    let deadline = std::time::Instant::now() + wait;
    nudge();
    loop {
        let (last, current) = db.read_tx(|conn| {
            let last = outbox::list_changes_of_debt(conn, debt.id, 1000)?.pop();
            Ok::<_, StoreError>((last, debts::find_debt_by_id(conn, debt.id)?))
        })?;
        let (Some(last), Some(current)) = (last, current) else { return Ok(RegionVerdict::NotMirrored) };
        match last.state {
            ChangeState::Sent => return Ok(RegionVerdict::Taken(current)),
            ChangeState::Refused => {
                let (code, text) = (last.last_error_code.clone(), last.last_error_text.clone().unwrap_or_default());
                if insert {
                    crate::services::debts::annul_own_debt(db, ACTOR, ipa, &debt.iud, now)?;
                }
                return Ok(RegionVerdict::Refused { code, text });
            }
            ChangeState::Pending if std::time::Instant::now() >= deadline => {
                return Ok(RegionVerdict::Queued(current));
            }
            ChangeState::Pending => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
}

/// How many earlier debts one [`backfill_step`] queues: one short transaction each.
pub const BACKFILL_CHUNK: u32 = 500;

/// Queues the next chunk of org `org_id`'s open debts made before its mirroring was turned on (or
/// while it was off) as `I` changes, in id order, and moves the org's durable cursor past them in
/// the same transaction; returns how many were queued (0: none left, and the cursor is cleared).
/// Debts the Region has or will have from us (a change or their flow queued) and payment sessions'
/// are skipped; one the Region has anyway (mirrored before, then off and on) converges as any
/// `I` answered `PAA_IMPORT_IUD_DUPLICATO` does. A debt changed meanwhile is sent as it is then.
pub fn backfill_step(db: &Db, org_id: i64, now: Now) -> Result<usize, ServiceError> {
    backfill_chunk(db, org_id, BACKFILL_CHUNK, now)
}

fn backfill_chunk(db: &Db, org_id: i64, chunk: u32, now: Now) -> Result<usize, ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        let Some(after) = outbox::find_org_backfill(tx, org_id)? else { return Ok(0) };
        if !outbox::org_is_mirrored(tx, org_id)? {
            outbox::update_org_backfill(tx, org_id, None)?;
            return Ok(0);
        }
        let ids = outbox::list_unmirrored_open_debts(tx, org_id, after, chunk)?;
        for id in &ids {
            enqueue(tx, org_id, ChangeAction::Insert, *id, &iso)?;
        }
        let done = ids.len() < chunk as usize;
        outbox::update_org_backfill(tx, org_id, if done { None } else { ids.last().copied() })?;
        if !ids.is_empty() {
            let after = serde_json::json!({ "queued": ids.len(), "done": done }).to_string();
            let entry = audit::AuditEntry {
                actor: ACTOR,
                org_id: Some(org_id),
                action: "upstream.backfill",
                object: Some("outbox"),
                outcome: "OK",
                after_json: Some(&after),
                ..Default::default()
            };
            audit::insert_audit(tx, &entry, &iso)?;
        }
        Ok(ids.len())
    })
}

/// Whether org `ipa`'s debts are mirrored to the Region.
#[cfg(test)]
pub fn is_mirrored(db: &Db, ipa: &str) -> Result<bool, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(outbox::org_is_mirrored(conn, org.id)?)
    })
}

/// Whether org `org_id`'s head change waits for a retry (the Region did not answer it).
pub fn waits_for_region(db: &Db, org_id: i64) -> Result<bool, ServiceError> {
    Ok(db.read(|conn| outbox::find_head(conn, org_id))?.is_some_and(|head| head.attempts > 0))
}

/// The Region answered another call of org `org_id`: the changes waiting for a retry are due now
/// rather than at the end of their backoff (which is for a Region that stays away).
pub fn retry_now(db: &Db, org_id: i64, now: Now) -> Result<usize, ServiceError> {
    Ok(db.write(|tx| outbox::update_retries_due(tx, org_id, &now.iso()))?)
}

/// Sends org `org_id`'s first unfinished change if its time has come, and records the Region's
/// answer. Call it again while it returns `Sent`, `Refused`, `Overtaken` or `Dropped`; after `Waiting` or
/// `Retry`, not before its time; after `Idle`, when something is queued.
/// `data_dir` holds the uploads and result files of the org's flows.
pub fn send_next(
    db: &Db,
    data_dir: &Path,
    org_id: i64,
    region: &dyn RegionDebts,
    now: Now,
) -> Result<Step, ServiceError> {
    let Some(change) = db.read(|conn| outbox::find_head(conn, org_id))? else {
        return Ok(Step::Idle);
    };
    if change.next_attempt_at > now.iso() {
        return Ok(Step::Waiting { change_id: change.id, until: change.next_attempt_at });
    }
    match change.action {
        ChangeAction::Flow => flows::send(db, data_dir, &change, region, now),
        ChangeAction::Insert => send_debt(db, &change, DebtAction::Insert, region, now),
        ChangeAction::Modify => send_debt(db, &change, DebtAction::Modify, region, now),
        ChangeAction::Annul => send_debt(db, &change, DebtAction::Annul, region, now),
    }
}

/// Sends an `I`, `M` or `A`: the debt as it is now.
fn send_debt(
    db: &Db,
    change: &ChangeRecord,
    action: DebtAction,
    region: &dyn RegionDebts,
    now: Now,
) -> Result<Step, ServiceError> {
    let debt_id = change.debt_id.ok_or_else(|| ServiceError::Internal(format!("change {} has no debt", change.id)))?;
    // One snapshot: the debt and the `M`s its current fields already carry.
    let (debt, carried) = db.read_tx(|conn| {
        let debt = debts::find_debt_by_id(conn, debt_id)?;
        Ok::<_, StoreError>((debt, outbox::list_pending_modifies(conn, debt_id, change.id)?))
    })?;
    let debt =
        debt.ok_or_else(|| ServiceError::Internal(format!("debt {debt_id} of change {} vanished", change.id)))?;
    let mut note = None;
    let mut answer = region.import_debt(action, &debt, debt.generate_iuv);
    if action == DebtAction::Insert
        && let Err(failure) = &answer
        && !failure.retryable
        && failure.code.as_deref() == Some(IUD_DUPLICATE)
    {
        // The Region has it already (sent before a restore from an older backup, or an answer
        // lost on the way back): an `M` with the flag makes it what we have and tells its IUV.
        note = Some("IUD già presente alla Regione: allineato con un M".to_owned());
        answer = region.import_debt(DebtAction::Modify, &debt, true);
    }
    match answer {
        Ok(answer) => {
            let carried = if action == DebtAction::Annul { Vec::new() } else { carried };
            sent(db, change, &debt, &answer, note, &carried, now)
        }
        Err(failure) if failure.retryable => retry(db, change, &failure, now),
        Err(failure) if action == DebtAction::Annul && failure.code.as_deref() == Some(NOT_PRESENT) => {
            // Not there (never was, or annulled already): what an annulment wants. The code stays
            // as a note: MyPay says the same of a debt paid meanwhile.
            let outcome = Outcome { code: Some(NOT_PRESENT), text: Some(&failure.text), region_iuv: None };
            finish(db, change, ChangeState::Sent, outcome, now, |_| Ok(()))?
                .map_or(Ok(Step::Overtaken { change_id: change.id }), |()| {
                    Ok(Step::Sent { change_id: change.id, iuv: None })
                })
        }
        Err(failure) => refused(db, change, &failure, now),
    }
}

/// Finishes `change` as `state` with `outcome` and runs `more` in the same transaction; `None`
/// when another sender finished it first (then nothing is written).
fn finish(
    db: &Db,
    change: &ChangeRecord,
    state: ChangeState,
    outcome: Outcome<'_>,
    now: Now,
    more: impl FnOnce(&Conn) -> Result<(), ServiceError>,
) -> Result<Option<()>, ServiceError> {
    let iso = now.iso();
    db.write(|tx| {
        if !outbox::update_change_finished(tx, change.id, change.attempts, state, outcome, &iso)? {
            return Ok(None);
        }
        more(tx)?;
        Ok(Some(()))
    })
}

/// The Region took the change: records it, gives the debt the Region's IUV when it has none, and
/// finishes the `M`s the send carried.
fn sent(
    db: &Db,
    change: &ChangeRecord,
    debt: &DebtRecord,
    answer: &RegionAnswer,
    mut note: Option<String>,
    carried: &[i64],
    now: Now,
) -> Result<Step, ServiceError> {
    let iso = now.iso();
    let region_iuv = answer.iuv.as_deref().map(str::trim).filter(|i| !i.is_empty());
    let iuv = match region_iuv.map(Iuv::parse) {
        Some(Ok(iuv)) => Some(iuv),
        Some(Err(err)) => {
            note = Some(format!("IUV della Regione non valido: {err}"));
            None
        }
        None => None,
    };
    let mut code = None;
    let done = db.write(|tx| {
        if let Some(iuv) = &iuv {
            match &debt.iuv {
                Some(local) if local != iuv => {
                    note = Some(format!("IUV locale {local} diverso da quello della Regione {iuv}"));
                    code = Some("IUV_DIVERSO");
                }
                Some(_) => {}
                None => match give_iuv(tx, debt, iuv, answer.notice_number.as_deref(), &iso) {
                    Ok(()) => {}
                    Err(ServiceError::Store(StoreError::Duplicate(_))) => {
                        note = Some(format!("IUV della Regione {iuv} già attivo su un altro dovuto locale"));
                        code = Some("PAA_IMPORT_IUV_DUPLICATO");
                    }
                    Err(err) => return Err(err),
                },
            }
        }
        let outcome = Outcome { code, text: note.as_deref(), region_iuv };
        if !outbox::update_change_finished(tx, change.id, change.attempts, ChangeState::Sent, outcome, &iso)? {
            return Ok(false);
        }
        outbox::update_changes_merged(tx, carried, change.id, &iso)?;
        Ok::<_, ServiceError>(true)
    });
    match done {
        Ok(true) => {}
        Ok(false) => return Ok(Step::Overtaken { change_id: change.id }),
        Err(err) => return Err(err),
    }
    tracing::info!(change = change.id, org = change.org_id, action = change.action.code(), iuv = ?region_iuv, "mirrored to the Region");
    Ok(Step::Sent { change_id: change.id, iuv: region_iuv.map(str::to_owned) })
}

/// Stores the Region's IUV and notice number on a local debt that has no IUV, with its audit entry.
fn give_iuv(tx: &Conn, debt: &DebtRecord, iuv: &Iuv, notice: Option<&str>, iso: &str) -> Result<(), ServiceError> {
    let org =
        orgs::find_org_by_id(tx, debt.org_id)?.ok_or_else(|| ServiceError::NotFound(format!("org {}", debt.org_id)))?;
    let notice = notice_of(iuv, notice, org.application_code.as_deref());
    if debts::update_debt_region_iuv(tx, debt.id, iuv, notice.as_ref(), iso)? {
        let object = format!("debt:{}/{}", org.ipa_code, debt.iud);
        let after =
            serde_json::json!({ "iuv": iuv.as_str(), "notice_number": notice.as_ref().map(NoticeNumber::as_str) })
                .to_string();
        let entry = audit::AuditEntry {
            actor: ACTOR,
            org_id: Some(org.id),
            action: "debt.region_iuv",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, iso)?;
    }
    Ok(())
}

/// The notice number of the Region's IUV: the one it answered when it is that IUV's, else derived
/// (`3` + an IUV17; `0` + the application code + an IUV15); `None` for an IUV that makes no notice.
pub(crate) fn notice_of(iuv: &Iuv, answered: Option<&str>, application_code: Option<&str>) -> Option<NoticeNumber> {
    if let Some(notice) = answered.and_then(|n| NoticeNumber::parse(n.trim()).ok())
        && notice.iuv() == *iuv
    {
        return Some(notice);
    }
    let app = application_code.and_then(|c| crate::domain::ApplicationCode::parse(c).ok());
    iuv.notice_number(app)
}

/// The Region refused the change: `REFUSED` with its code and text; the next change goes.
fn refused(db: &Db, change: &ChangeRecord, failure: &RegionFailure, now: Now) -> Result<Step, ServiceError> {
    let outcome = Outcome { code: failure.code.as_deref(), text: Some(&failure.text), region_iuv: None };
    if finish(db, change, ChangeState::Refused, outcome, now, |_| Ok(()))?.is_none() {
        return Ok(Step::Overtaken { change_id: change.id });
    }
    tracing::warn!(change = change.id, org = change.org_id, action = change.action.code(), code = ?failure.code,
        text = %failure.text, "the Region refused a change");
    Ok(Step::Refused { change_id: change.id, code: failure.code.clone() })
}

/// A failure worth retrying: one more attempt, due after the backoff; the org's queue waits.
pub(super) fn retry(db: &Db, change: &ChangeRecord, failure: &RegionFailure, now: Now) -> Result<Step, ServiceError> {
    let at = crate::clock::iso(now.instant().checked_add(backoff(change.attempts)).unwrap_or(now.instant()));
    let outcome = Outcome { code: failure.code.as_deref(), text: Some(&failure.text), region_iuv: None };
    if !db.write(|tx| outbox::update_change_retry(tx, change.id, change.attempts, &at, outcome))? {
        return Ok(Step::Overtaken { change_id: change.id });
    }
    tracing::warn!(change = change.id, org = change.org_id, attempt = change.attempts + 1, %at, text = %failure.text,
        "the Region did not answer a change; will retry");
    Ok(Step::Retry { change_id: change.id, attempts: change.attempts + 1, at })
}

/// The delay after `failed` earlier failures: [`FIRST_RETRY`], doubling, at most [`MAX_RETRY`].
pub(super) fn backoff(failed: i64) -> SignedDuration {
    let factor = 1i32 << failed.clamp(0, 12);
    FIRST_RETRY.checked_mul(factor).unwrap_or(MAX_RETRY).min(MAX_RETRY)
}

/// How many of org `ipa`'s changes wait for the Region.
#[cfg(test)]
pub fn depth(db: &Db, ipa: &str) -> Result<i64, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(outbox::count_pending(conn, org.id)?)
    })
}

/// Org `ipa`'s latest `limit` changes, newest first.
#[cfg(test)]
pub fn list(db: &Db, ipa: &str, limit: u32) -> Result<Vec<ChangeRecord>, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(outbox::list_changes(conn, org.id, limit)?)
    })
}

/// When the Region last answered one of org `ipa`'s changes (taken or refused).
#[cfg(test)]
pub fn last_answer(db: &Db, ipa: &str) -> Result<Option<String>, ServiceError> {
    db.read(|conn| {
        let org = orgs::find_org_by_ipa(conn, ipa)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok(outbox::find_last_answer(conn, org.id)?)
    })
}

/// The ids of the orgs with changes waiting, for the sender's round.
#[cfg(test)]
pub fn orgs_with_pending(db: &Db) -> Result<Vec<i64>, ServiceError> {
    Ok(db.read(outbox::list_orgs_with_pending)?)
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use std::cell::{Cell, RefCell};
    use std::collections::{HashMap, VecDeque};

    use super::*;
    use crate::domain::debt_row::DebtFields;
    use crate::domain::{DebtState, GeneratorId, SegregationCode, generate_iuv17};
    use crate::services::debts::{self as debt_service, Source};
    use crate::services::testkit::{IPA, Kit};

    /// One call the Region received: action, IUD, flagGeneraIuv, amount, the IUV sent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) struct Call {
        pub action: &'static str,
        pub iud: String,
        pub generate: bool,
        pub cents: i64,
        pub iuv: Option<String>,
    }

    /// A Region that keeps debts by IUD as MyPay does for `paaSILImportaDovuto`: IUV17s of
    /// segregation code 01 from its own counter, `PAA_IMPORT_IUD_DUPLICATO` for a second `I`,
    /// `PAA_IMPORT_DOVUTO_NON_PRESENTE` for an `M`/`A` of a debt it has not; `down` makes every call
    /// fail as the network does; `scripted` answers come first.
    #[derive(Default)]
    pub(crate) struct FakeRegion {
        pub debts: RefCell<HashMap<String, Option<String>>>,
        pub counter: Cell<u64>,
        pub down: Cell<bool>,
        pub scripted: RefCell<VecDeque<Result<RegionAnswer, RegionFailure>>>,
        pub calls: RefCell<Vec<Call>>,
        /// Flows uploaded: name and size.
        pub uploads: RefCell<Vec<(String, u64)>>,
        /// The entries of the ZIPs uploaded, by name.
        pub upload_entries: RefCell<Vec<String>>,
        /// What `flow_status` answers, in turn.
        pub statuses: RefCell<VecDeque<FlowStatus>>,
        /// Files to download, by URL.
        pub files: RefCell<HashMap<String, Vec<u8>>>,
    }

    pub(crate) fn business(code: &str) -> RegionFailure {
        RegionFailure { retryable: false, code: Some(code.to_owned()), text: format!("{code} (test)") }
    }

    impl FakeRegion {
        pub(crate) fn new_iuv(&self) -> String {
            self.counter.set(self.counter.get() + 1);
            let seg = SegregationCode::parse("01").unwrap();
            let (iuv, _) = generate_iuv17(seg, GeneratorId::parse("00").unwrap(), 1000 + self.counter.get()).unwrap();
            iuv.as_str().to_owned()
        }

        fn actions(&self) -> Vec<(&'static str, String)> {
            self.calls.borrow().iter().map(|c| (c.action, c.iud.clone())).collect()
        }
    }

    impl RegionDebts for FakeRegion {
        fn import_debt(
            &self,
            action: DebtAction,
            debt: &DebtRecord,
            generate_iuv: bool,
        ) -> Result<RegionAnswer, RegionFailure> {
            let iuv = debt.iuv.as_ref().map(|i| i.as_str().to_owned());
            self.calls.borrow_mut().push(Call {
                action: action.code(),
                iud: debt.iud.clone(),
                generate: generate_iuv,
                cents: debt.amount_cents.get(),
                iuv: iuv.clone(),
            });
            if self.down.get() {
                return Err(RegionFailure { retryable: true, code: None, text: "connection refused".to_owned() });
            }
            if let Some(answer) = self.scripted.borrow_mut().pop_front() {
                return answer;
            }
            let mut debts = self.debts.borrow_mut();
            let answer = |iuv: Option<String>| Ok(RegionAnswer { iuv, notice_number: None });
            match action {
                DebtAction::Insert if debts.contains_key(&debt.iud) => Err(business(IUD_DUPLICATE)),
                DebtAction::Insert => {
                    let iuv = iuv.or_else(|| generate_iuv.then(|| self.new_iuv()));
                    debts.insert(debt.iud.clone(), iuv.clone());
                    answer(iuv)
                }
                DebtAction::Modify => match debts.get_mut(&debt.iud) {
                    None => Err(business(NOT_PRESENT)),
                    Some(held) => {
                        if held.is_none() && generate_iuv {
                            *held = Some(iuv.unwrap_or_else(|| self.new_iuv()));
                        }
                        answer(held.clone())
                    }
                },
                DebtAction::Annul => match debts.remove(&debt.iud) {
                    None => Err(business(NOT_PRESENT)),
                    Some(_) => answer(None),
                },
            }
        }

        fn upload_flow(&self, file: &Path, file_name: &str) -> Result<String, RegionFailure> {
            if self.down.get() {
                return Err(RegionFailure { retryable: true, code: None, text: "connection refused".to_owned() });
            }
            let size = std::fs::metadata(file).map_err(|err| business(&err.to_string()))?.len();
            self.uploads.borrow_mut().push((file_name.to_owned(), size));
            let archive = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
            self.upload_entries.borrow_mut().extend(archive.file_names().map(str::to_owned));
            Ok(format!("token-{}", self.uploads.borrow().len()))
        }

        fn flow_status(&self, _request_token: &str) -> Result<FlowStatus, RegionFailure> {
            if self.down.get() {
                return Err(RegionFailure { retryable: true, code: None, text: "connection refused".to_owned() });
            }
            self.statuses.borrow_mut().pop_front().ok_or_else(|| business("PAA_REQUEST_TOKEN_NON_VALIDO"))
        }

        fn download(&self, url: &str, max_bytes: u64, out: &mut dyn Write) -> Result<u64, RegionFailure> {
            let files = self.files.borrow();
            let bytes = files.get(url).ok_or_else(|| business("404"))?;
            assert!(bytes.len() as u64 <= max_bytes);
            out.write_all(bytes).map_err(|err| business(&err.to_string()))?;
            Ok(bytes.len() as u64)
        }
    }

    pub(crate) fn fields(iud: &str, cents: i64) -> DebtFields {
        crate::services::testkit::tari_fields(iud, cents)
    }

    /// The kit with its org mirrored to the Region.
    pub(crate) fn mirrored() -> Kit {
        let kit = Kit::new();
        set_mirrored(&kit.db, "test", IPA, true, kit.now).unwrap();
        kit
    }

    pub(crate) fn data_dir(kit: &Kit) -> std::path::PathBuf {
        kit.db.path().parent().unwrap().to_owned()
    }

    pub(crate) fn org_id(kit: &Kit) -> i64 {
        kit.db.read(|c| orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap().id
    }

    fn add(kit: &Kit, iud: &str, cents: i64) -> DebtRecord {
        debt_service::add_debt(&kit.db, "test", IPA, &fields(iud, cents), Source::Cli, kit.now).unwrap()
    }

    fn modify(kit: &Kit, iud: &str, cents: i64) -> DebtRecord {
        debt_service::modify_debt(&kit.db, "test", IPA, &fields(iud, cents), kit.now).unwrap()
    }

    fn annul(kit: &Kit, iud: &str) {
        debt_service::annul_debt(&kit.db, "test", IPA, iud, kit.now).unwrap();
    }

    /// Sends until the queue is empty or waits; the steps taken.
    pub(crate) fn drain(kit: &Kit, region: &dyn RegionDebts, now: Now) -> Vec<Step> {
        let mut steps = Vec::new();
        loop {
            let step = send_next(&kit.db, &data_dir(kit), org_id(kit), region, now).unwrap();
            let stop = matches!(step, Step::Idle | Step::Waiting { .. } | Step::Retry { .. });
            steps.push(step);
            if stop || steps.len() > 100 {
                return steps;
            }
        }
    }

    /// The org's changes, oldest first: (action, state, debt id).
    pub(crate) fn changes(kit: &Kit) -> Vec<ChangeRecord> {
        let mut all = list(&kit.db, IPA, 1000).unwrap();
        all.reverse();
        all
    }

    fn summary(kit: &Kit) -> Vec<(&'static str, &'static str)> {
        changes(kit).iter().map(|c| (c.action.code(), c.state.code())).collect()
    }

    fn later(kit: &Kit, secs: i64) -> Now {
        Now::at(kit.now.instant() + SignedDuration::from_secs(secs))
    }

    fn stored(kit: &Kit, iud: &str) -> DebtRecord {
        let id = changes(kit).iter().rev().find_map(|c| c.debt_id).unwrap();
        let debt = kit.db.read(|c| debts::find_debt_by_id(c, id)).unwrap().unwrap();
        if debt.iud == iud {
            return debt;
        }
        debt_service::get_debt(&kit.db, IPA, &debt_service::DebtKey::Iud(iud.to_owned())).unwrap()
    }

    #[test]
    fn an_org_not_mirrored_queues_nothing_and_draws_its_own_iuvs() {
        let kit = Kit::new();
        let debt = add(&kit, "LOCAL-1", 1000);
        assert!(debt.iuv.is_some() && debt.notice_number.is_some());
        modify(&kit, "LOCAL-1", 1200);
        annul(&kit, "LOCAL-1");
        assert_eq!(depth(&kit.db, IPA).unwrap(), 0);
        assert!(!is_mirrored(&kit.db, IPA).unwrap());
        assert_eq!(
            send_next(&kit.db, &data_dir(&kit), org_id(&kit), &FakeRegion::default(), kit.now).unwrap(),
            Step::Idle
        );
    }

    #[test]
    fn mirroring_is_switched_per_org_with_its_audit_entry() {
        let kit = Kit::new();
        set_mirrored(&kit.db, "cli", IPA, true, kit.now).unwrap();
        assert!(is_mirrored(&kit.db, IPA).unwrap());
        set_mirrored(&kit.db, "cli", IPA, false, kit.now).unwrap();
        assert!(!is_mirrored(&kit.db, IPA).unwrap());
        let entries = kit
            .db
            .read(|c| crate::store::audit::list_audit_of_object(c, org_id(&kit), &format!("org:{IPA}"), 100))
            .unwrap();
        let mine: Vec<_> = entries.iter().filter(|e| e.action == "org.upstream_mirror").collect();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[1].after_json.as_deref(), Some("{\"upstream_mirror\":false}"));
        assert!(matches!(set_mirrored(&kit.db, "cli", "c_nessuno", true, kit.now), Err(ServiceError::NotFound(_))));
    }

    /// Debts made before mirroring was turned on: the open ones are queued in id order, a chunk at
    /// a time with a durable cursor, sent as they are then (their own IUV), the Region's copy
    /// converging; an annulled one, a session's, and one queued already are not; later changes
    /// follow them; off and on again queues nothing twice.
    #[test]
    fn earlier_open_debts_are_queued_in_chunks_when_mirroring_is_turned_on() {
        let kit = Kit::new();
        let first = add(&kit, "OLD-1", 1000);
        let annulled = add(&kit, "OLD-2", 2000);
        annul(&kit, "OLD-2");
        let known = add(&kit, "OLD-3", 3000);
        let late = add(&kit, "OLD-4", 4000);
        assert!(first.iuv.is_some() && annulled.iuv.is_some(), "made locally, with the box's IUVs");
        let org = org_id(&kit);
        assert_eq!(backfill_step(&kit.db, org, kit.now).unwrap(), 0, "not mirrored: nothing");

        set_mirrored(&kit.db, "test", IPA, true, kit.now).unwrap();
        assert_eq!(backfill_chunk(&kit.db, org, 1, kit.now).unwrap(), 1);
        assert_eq!(kit.db.read(|c| outbox::find_org_backfill(c, org)).unwrap(), Some(first.id), "the cursor");
        // Changed before its turn: not queued as an M (the Region has not got it), sent as it is.
        modify(&kit, "OLD-4", 4500);
        assert_eq!(depth(&kit.db, IPA).unwrap(), 1);
        assert_eq!(backfill_chunk(&kit.db, org, 1, kit.now).unwrap(), 1);
        assert_eq!(backfill_chunk(&kit.db, org, 1, kit.now).unwrap(), 1);
        assert_eq!(backfill_chunk(&kit.db, org, 1, kit.now).unwrap(), 0);
        assert_eq!(kit.db.read(|c| outbox::find_org_backfill(c, org)).unwrap(), None, "done");
        let queued: Vec<_> = changes(&kit).iter().map(|c| (c.action.code(), c.debt_id)).collect();
        assert_eq!(queued, [("I", Some(first.id)), ("I", Some(known.id)), ("I", Some(late.id))]);
        // Changed after its turn: queued behind it.
        modify(&kit, "OLD-1", 1100);

        // The Region had OLD-3 already (an earlier mirroring): it converges with an M.
        let region = FakeRegion::default();
        region.debts.borrow_mut().insert("OLD-3".to_owned(), known.iuv.as_ref().map(|i| i.as_str().to_owned()));
        drain(&kit, &region, kit.now);
        assert_eq!(summary(&kit), [("I", "SENT"), ("I", "SENT"), ("I", "SENT"), ("M", "SENT")]);
        let held = region.debts.borrow();
        assert_eq!(held.get("OLD-1").cloned().flatten(), first.iuv.as_ref().map(|i| i.as_str().to_owned()));
        assert!(held.contains_key("OLD-4") && !held.contains_key("OLD-2"));
        drop(held);

        // Off and on again: nothing is queued twice.
        set_mirrored(&kit.db, "test", IPA, false, kit.now).unwrap();
        set_mirrored(&kit.db, "test", IPA, true, kit.now).unwrap();
        assert_eq!(backfill_step(&kit.db, org, kit.now).unwrap(), 0);
        assert_eq!(changes(&kit).len(), 4);
    }

    /// What a SIL's paaSILImportaDovuto waits for: the Region's IUV when it answers in time, its
    /// refusal (the insert then annulled here, its A finding nothing there), or the change left
    /// queued; nothing for an org not mirrored.
    #[test]
    fn a_change_is_awaited_until_the_region_answers_or_the_wait_ends() {
        let wait = std::time::Duration::from_secs(10);
        let kit = mirrored();
        let debt = add(&kit, "SIL-1", 1000);
        let answered = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(150));
                drain(&kit, &FakeRegion::default(), kit.now);
            });
            await_region(&kit.db, IPA, &debt, true, wait, kit.now).unwrap()
        });
        let RegionVerdict::Taken(taken) = answered else { panic!("{answered:?}") };
        assert!(taken.iuv.is_some() && taken.notice_number.is_some(), "{taken:?}");

        let refused = add(&kit, "SIL-2", 1000);
        let region = FakeRegion::default();
        region.scripted.borrow_mut().push_back(Err(business("PAA_IMPORT_IUV_DUPLICATO")));
        drain(&kit, &region, kit.now);
        let verdict = await_region(&kit.db, IPA, &refused, true, wait, kit.now).unwrap();
        assert!(
            matches!(&verdict, RegionVerdict::Refused { code: Some(c), .. } if c == "PAA_IMPORT_IUV_DUPLICATO"),
            "{verdict:?}"
        );
        assert_eq!(stored(&kit, "SIL-2").state, crate::domain::DebtState::Annulled);
        drain(&kit, &region, kit.now);
        assert_eq!(summary(&kit).last(), Some(&("A", "SENT")), "the annulment found nothing there");

        let queued = add(&kit, "SIL-3", 1000);
        let short = std::time::Duration::from_millis(120);
        let verdict = await_region(&kit.db, IPA, &queued, true, short, kit.now).unwrap();
        assert!(matches!(&verdict, RegionVerdict::Queued(d) if d.iuv.is_none()), "{verdict:?}");
        assert!(take_nudge(), "the link was asked to send at once");

        let local = Kit::new();
        let debt = debt_service::add_debt(&local.db, "test", IPA, &fields("L-1", 100), Source::Sil, local.now);
        let verdict = await_region(&local.db, IPA, &debt.unwrap(), true, short, local.now).unwrap();
        assert_eq!(verdict, RegionVerdict::NotMirrored);
    }

    #[test]
    fn a_mirrored_insert_draws_no_iuv_and_takes_the_regions() {
        let kit = mirrored();
        let debt = add(&kit, "UP-1", 1000);
        assert_eq!((debt.iuv.clone(), debt.notice_number.clone(), debt.generate_iuv), (None, None, true));
        assert_eq!(depth(&kit.db, IPA).unwrap(), 1);
        // A modify before the Region answered draws none either.
        let modified = modify(&kit, "UP-1", 1100);
        assert_eq!(modified.iuv, None);
        let region = FakeRegion::default();
        let steps = drain(&kit, &region, kit.now);
        let iuv = region.debts.borrow()["UP-1"].clone().unwrap();
        let first = changes(&kit)[0].id;
        assert_eq!(steps, [Step::Sent { change_id: first, iuv: Some(iuv.clone()) }, Step::Idle]);
        // The I carried the M: one call, with the debt as it is now and the flag.
        let calls = region.calls.borrow().clone();
        assert_eq!(calls, [Call { action: "I", iud: "UP-1".into(), generate: true, cents: 1100, iuv: None }]);
        assert_eq!(summary(&kit), [("I", "SENT"), ("M", "SENT")]);
        assert_eq!(changes(&kit)[1].merged_into, Some(first));
        assert_eq!(changes(&kit)[0].region_iuv.as_deref(), Some(iuv.as_str()));
        let debt = stored(&kit, "UP-1");
        assert_eq!(debt.iuv.as_ref().map(Iuv::as_str), Some(iuv.as_str()));
        assert_eq!(debt.notice_number.as_ref().map(NoticeNumber::as_str), Some(format!("3{iuv}").as_str()));
        // The notice number now finds it, as the portal and the notice PDF do.
        let by_notice = debt_service::DebtKey::NoticeNumber(format!("3{iuv}"));
        assert_eq!(debt_service::get_debt(&kit.db, IPA, &by_notice).unwrap().id, debt.id);
        assert_eq!(depth(&kit.db, IPA).unwrap(), 0);
        assert_eq!(last_answer(&kit.db, IPA).unwrap(), Some(kit.now.iso()));
        // A later M sends the Region's IUV back as it is.
        modify(&kit, "UP-1", 1200);
        drain(&kit, &region, kit.now);
        let last = region.calls.borrow().last().cloned().unwrap();
        assert_eq!(last, Call { action: "M", iud: "UP-1".into(), generate: true, cents: 1200, iuv: Some(iuv) });
    }

    #[test]
    fn a_given_iuv_is_sent_as_it_is() {
        let kit = mirrored();
        let mut given = fields("GIVEN-1", 500);
        given.generate_iuv = false;
        // An IUV of the org's own segregation code (01), not MyPay's reserved generator 00.
        let iuv = {
            let seg = SegregationCode::parse("01").unwrap();
            generate_iuv17(seg, GeneratorId::parse("07").unwrap(), 5).unwrap().0
        };
        given.iuv = iuv.as_str().to_owned();
        let debt = debt_service::add_debt(&kit.db, "test", IPA, &given, Source::Cli, kit.now).unwrap();
        assert_eq!(debt.iuv.as_ref(), Some(&iuv));
        let region = FakeRegion::default();
        drain(&kit, &region, kit.now);
        let call = region.calls.borrow()[0].clone();
        assert_eq!((call.action, call.generate, call.iuv), ("I", false, Some(iuv.as_str().to_owned())));
        assert_eq!(stored(&kit, "GIVEN-1").iuv, Some(iuv));
    }

    #[test]
    fn changes_of_one_debt_go_in_order() {
        let kit = mirrored();
        let region = FakeRegion::default();
        add(&kit, "ORD-1", 1000);
        drain(&kit, &region, kit.now);
        modify(&kit, "ORD-1", 1500);
        drain(&kit, &region, kit.now);
        annul(&kit, "ORD-1");
        drain(&kit, &region, kit.now);
        let calls = region.calls.borrow().clone();
        let seen: Vec<_> = calls.iter().map(|c| (c.action, c.cents)).collect();
        assert_eq!(seen, [("I", 1000), ("M", 1500), ("A", 1500)]);
        assert_eq!(summary(&kit), [("I", "SENT"), ("M", "SENT"), ("A", "SENT")]);
        assert!(region.debts.borrow().is_empty(), "annulled at the Region");
        // Queued all at once, they go in the same order (the M rides with the I).
        add(&kit, "ORD-2", 100);
        modify(&kit, "ORD-2", 200);
        annul(&kit, "ORD-2");
        drain(&kit, &region, kit.now);
        let tail: Vec<_> = region.calls.borrow()[3..].iter().map(|c| (c.action, c.cents)).collect();
        assert_eq!(tail, [("I", 200), ("A", 200)]);
        assert_eq!(summary(&kit)[3..], [("I", "SENT"), ("M", "SENT"), ("A", "SENT")]);
    }

    #[test]
    fn two_debts_interleaved_keep_the_orgs_order() {
        let kit = mirrored();
        add(&kit, "X-1", 100);
        add(&kit, "X-2", 200);
        modify(&kit, "X-1", 110);
        annul(&kit, "X-2");
        modify(&kit, "X-1", 120);
        let region = FakeRegion::default();
        drain(&kit, &region, kit.now);
        let seen: Vec<_> = region.calls.borrow().iter().map(|c| (c.action, c.iud.clone(), c.cents)).collect();
        assert_eq!(seen, [("I", "X-1".to_owned(), 120), ("I", "X-2".to_owned(), 200), ("A", "X-2".to_owned(), 200)]);
        let all = changes(&kit);
        assert!(all.iter().all(|c| c.state == ChangeState::Sent));
        assert_eq!((all[2].merged_into, all[4].merged_into), (Some(all[0].id), Some(all[0].id)));
    }

    #[test]
    fn an_unreachable_region_holds_the_queue_with_a_growing_backoff() {
        let kit = mirrored();
        add(&kit, "HOL-1", 100);
        add(&kit, "HOL-2", 200);
        let region = FakeRegion::default();
        region.down.set(true);
        let head = changes(&kit)[0].id;
        let retry = |n: i64, secs: i64| Step::Retry { change_id: head, attempts: n, at: later(&kit, secs).iso() };
        assert_eq!(send_next(&kit.db, &data_dir(&kit), org_id(&kit), &region, kit.now).unwrap(), retry(1, 30));
        // Not before its time, and nothing behind it goes meanwhile.
        let wait = send_next(&kit.db, &data_dir(&kit), org_id(&kit), &region, later(&kit, 29)).unwrap();
        assert_eq!(wait, Step::Waiting { change_id: head, until: later(&kit, 30).iso() });
        assert_eq!(
            send_next(&kit.db, &data_dir(&kit), org_id(&kit), &region, later(&kit, 30)).unwrap(),
            retry(2, 30 + 60)
        );
        assert_eq!(
            send_next(&kit.db, &data_dir(&kit), org_id(&kit), &region, later(&kit, 90)).unwrap(),
            retry(3, 90 + 120)
        );
        assert_eq!(region.actions(), vec![("I", "HOL-1".to_owned()); 3]);
        let head_record = &changes(&kit)[0];
        assert_eq!((head_record.attempts, head_record.last_error_text.as_deref()), (3, Some("connection refused")));
        assert_eq!(depth(&kit.db, IPA).unwrap(), 2);
        assert_eq!(orgs_with_pending(&kit.db).unwrap(), [org_id(&kit)]);
        // Back up: both go, in order.
        region.down.set(false);
        let steps = drain(&kit, &region, later(&kit, 210));
        assert_eq!(steps.len(), 3);
        assert_eq!(region.actions()[3..], [("I", "HOL-1".to_owned()), ("I", "HOL-2".to_owned())]);
        assert_eq!(summary(&kit), [("I", "SENT"), ("I", "SENT")]);
        assert_eq!(region.debts.borrow().len(), 2, "none twice");
        assert!(orgs_with_pending(&kit.db).unwrap().is_empty());
    }

    #[test]
    fn the_backoff_doubles_up_to_an_hour() {
        let secs: Vec<i64> = (0..10).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(i64::MAX).as_secs(), 3600);
    }

    #[test]
    fn a_refusal_is_kept_with_the_regions_code_and_the_next_change_goes() {
        let kit = mirrored();
        add(&kit, "REF-1", 100);
        add(&kit, "REF-2", 200);
        let region = FakeRegion::default();
        region.scripted.borrow_mut().push_back(Err(business("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO")));
        let steps = drain(&kit, &region, kit.now);
        let all = changes(&kit);
        assert_eq!(
            steps[0],
            Step::Refused { change_id: all[0].id, code: Some("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO".into()) }
        );
        assert_eq!(summary(&kit), [("I", "REFUSED"), ("I", "SENT")]);
        assert_eq!(all[0].last_error_code.as_deref(), Some("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO"));
        assert_eq!(all[0].last_error_text.as_deref(), Some("PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO (test)"));
        assert_eq!(stored(&kit, "REF-1").iuv, None, "refused: no IUV");
        assert!(stored(&kit, "REF-2").iuv.is_some());
        assert_eq!(depth(&kit.db, IPA).unwrap(), 0);
    }

    #[test]
    fn a_debt_paid_at_the_region_meanwhile_refuses_the_modify_visibly() {
        let kit = mirrored();
        let region = FakeRegion::default();
        add(&kit, "PAID-1", 100);
        drain(&kit, &region, kit.now);
        // Paid at the Region: it no longer takes changes of it.
        region.debts.borrow_mut().remove("PAID-1");
        modify(&kit, "PAID-1", 150);
        drain(&kit, &region, kit.now);
        let m = &changes(&kit)[1];
        assert_eq!((m.state, m.last_error_code.as_deref()), (ChangeState::Refused, Some(NOT_PRESENT)));
        // An annulment of a debt the Region has not is done, the code kept as a note.
        annul(&kit, "PAID-1");
        let steps = drain(&kit, &region, kit.now);
        let a = &changes(&kit)[2];
        assert_eq!(steps[0], Step::Sent { change_id: a.id, iuv: None });
        assert_eq!((a.state, a.last_error_code.as_deref()), (ChangeState::Sent, Some(NOT_PRESENT)));
    }

    #[test]
    fn an_insert_the_region_has_already_converges_with_its_iuv() {
        let kit = mirrored();
        let region = FakeRegion::default();
        // Sent before the backup this box was restored from: the Region has it, with its IUV.
        let theirs = region.new_iuv();
        region.debts.borrow_mut().insert("OLD-1".to_owned(), Some(theirs.clone()));
        add(&kit, "OLD-1", 100);
        let steps = drain(&kit, &region, kit.now);
        let change = &changes(&kit)[0];
        assert_eq!(steps[0], Step::Sent { change_id: change.id, iuv: Some(theirs.clone()) });
        let seen: Vec<_> = region.calls.borrow().iter().map(|c| (c.action, c.generate)).collect();
        assert_eq!(seen, [("I", true), ("M", true)]);
        assert_eq!(stored(&kit, "OLD-1").iuv.as_ref().map(Iuv::as_str), Some(theirs.as_str()));
        assert_eq!(change.state, ChangeState::Sent);
        assert!(change.last_error_text.as_deref().unwrap().contains("IUD già presente"));
        assert_eq!(region.debts.borrow().len(), 1, "no duplicate at the Region");
    }

    #[test]
    fn a_region_iuv_already_live_here_is_noted_not_forced() {
        let kit = Kit::new();
        let local = add(&kit, "LIVE-1", 100);
        set_mirrored(&kit.db, "test", IPA, true, kit.now).unwrap();
        add(&kit, "NEW-1", 200);
        let region = FakeRegion::default();
        region.scripted.borrow_mut().push_back(Ok(RegionAnswer {
            iuv: Some(local.iuv.as_ref().unwrap().as_str().to_owned()),
            notice_number: None,
        }));
        drain(&kit, &region, kit.now);
        let change = &changes(&kit)[0];
        assert_eq!(
            (change.state, change.last_error_code.as_deref()),
            (ChangeState::Sent, Some("PAA_IMPORT_IUV_DUPLICATO"))
        );
        assert_eq!(stored(&kit, "NEW-1").iuv, None);
    }

    #[test]
    fn notice_numbers_come_from_the_answer_or_the_iuv() {
        let iuv17 = Iuv::parse("01000000000000144").unwrap();
        assert_eq!(notice_of(&iuv17, None, None).unwrap().as_str(), "301000000000000144");
        assert_eq!(notice_of(&iuv17, Some("301000000000000144"), None).unwrap().as_str(), "301000000000000144");
        // An answer that is not this IUV's notice is not believed.
        assert_eq!(notice_of(&iuv17, Some("001340000013900808"), None).unwrap().as_str(), "301000000000000144");
        let iuv15 = Iuv::parse("340000013900808").unwrap();
        assert_eq!(notice_of(&iuv15, None, Some("01")).unwrap().as_str(), "001340000013900808");
        assert_eq!(notice_of(&iuv15, None, None), None);
    }

    #[test]
    fn the_change_commits_with_its_debt_or_not_at_all() {
        let kit = mirrored();
        // A transaction that fails after the insert leaves neither the debt nor its change.
        let failed: Result<(), ServiceError> = kit.db.write(|tx| {
            let scope = debt_service::OrgScope::load(tx, IPA)?;
            let t = crate::store::debt_types::find_debt_type(tx, scope.org.id, "TARI")?.unwrap();
            let ctx = debt_service::insert_context(&scope, Some(debt_service::rules_of(&t)), kit.now.today());
            let valid = crate::domain::debt_row::validate(&fields("TX-1", 100), &ctx).unwrap();
            debt_service::insert_valid(tx, &scope, &t, valid, Source::Cli, None, &kit.now.iso())?.unwrap();
            assert_eq!(outbox::count_pending(tx, scope.org.id)?, 1, "queued inside the transaction");
            Err(ServiceError::Internal("crash".to_owned()))
        });
        assert!(failed.is_err());
        assert_eq!(depth(&kit.db, IPA).unwrap(), 0);
        assert!(debt_service::get_debt(&kit.db, IPA, &debt_service::DebtKey::Iud("TX-1".into())).is_err());
        // A committed one is on disk with its change: another process (a restart) finds both.
        let debt = add(&kit, "TX-2", 100);
        let (again, _) = Db::open(kit.db.path()).unwrap();
        let pending = again.read(|c| outbox::find_head(c, debt.org_id)).unwrap().unwrap();
        assert_eq!(
            (pending.debt_id, pending.action, pending.state),
            (Some(debt.id), ChangeAction::Insert, ChangeState::Pending)
        );
        let region = FakeRegion::default();
        assert!(matches!(
            send_next(&again, &data_dir(&kit), debt.org_id, &region, kit.now).unwrap(),
            Step::Sent { .. }
        ));
        assert_eq!(region.actions(), [("I", "TX-2".to_owned())]);
    }

    #[test]
    fn every_channel_queues_and_payment_sessions_do_not() {
        let kit = mirrored();
        // CLI, back office, REST (add_debt with their sources).
        for (iud, source) in [("CH-CLI", Source::Cli), ("CH-BO", Source::Backoffice), ("CH-API", Source::Sil)] {
            debt_service::add_debt(&kit.db, "test", IPA, &fields(iud, 100), source, kit.now).unwrap();
        }
        modify(&kit, "CH-CLI", 120);
        annul(&kit, "CH-BO");
        // The SIL's paaSILImportaDovuto, I, M and A.
        use crate::services::sil::debts::{Action, import_debt};
        for (action, cents) in [(Action::Insert, 100), (Action::Modify, 130), (Action::Annul, 130)] {
            let debt = import_debt(&kit.db, "sil:test", IPA, action, fields("CH-SIL", cents), true, kit.now).unwrap();
            assert_eq!(debt.iuv, None);
        }
        let seen: Vec<_> = changes(&kit)
            .iter()
            .map(|c| {
                let debt = kit.db.read(|conn| debts::find_debt_by_id(conn, c.debt_id.unwrap())).unwrap().unwrap();
                (c.action.code(), debt.iud)
            })
            .collect();
        let want = [
            ("I", "CH-CLI"),
            ("I", "CH-BO"),
            ("I", "CH-API"),
            ("M", "CH-CLI"),
            ("A", "CH-BO"),
            ("I", "CH-SIL"),
            ("M", "CH-SIL"),
            ("A", "CH-SIL"),
        ];
        assert_eq!(seen, want.map(|(a, i)| (a, i.to_owned())));

        // A notice a citizen makes on the portal to pay later is mirrored like any other debt.
        let before = depth(&kit.db, IPA).unwrap();
        let portal =
            debt_service::add_debt(&kit.db, "citizen", IPA, &fields("CH-WEB", 100), Source::Portal, kit.now).unwrap();
        assert!(portal.iuv.is_none());
        assert_eq!(depth(&kit.db, IPA).unwrap(), before + 1);
        // A citizen's "pay now": the Region's own session makes the debt there; a change of it
        // stays here.
        let before = depth(&kit.db, IPA).unwrap();
        let (_, now_debt) = crate::services::upstream::payments::add_session_debt(
            &kit.db,
            "citizen",
            IPA,
            &fields("CH-NOW", 100),
            Source::Portal,
            kit.now,
        )
        .unwrap();
        assert!(now_debt.iuv.is_none());
        modify(&kit, "CH-NOW", 110);
        annul(&kit, "CH-NOW");
        // A SIL payment session's debts.
        use crate::services::sil::sessions::{self, NewSession, SessionItem, SessionKind, ShowMode};
        let new = NewSession {
            ipa: IPA.to_owned(),
            kind: SessionKind::Dovuti,
            show: ShowMode::Short,
            back_url: None,
            items: vec![SessionItem {
                ipa: IPA.to_owned(),
                fields: DebtFields { iud: "CH-SES".into(), ..fields("", 100) },
            }],
        };
        let started = sessions::start(&kit.db, "sil:test", &new, kit.now).unwrap();
        let checkout = sessions::begin_checkout(&kit.db, &started.token, None, kit.now).unwrap();
        assert_eq!(checkout.views.len(), 1);
        let session_debt = debt_service::get_debt(&kit.db, IPA, &debt_service::DebtKey::Iud("CH-SES".into())).unwrap();
        assert!(session_debt.iuv.is_some());
        assert_eq!(session_debt.state, DebtState::Inserted);
        assert_eq!(depth(&kit.db, IPA).unwrap(), before);
    }

    /// mypay's own SIL service as the Region (a regional mypay): `paaSILImportaDovuto` as the
    /// upstream adapter would call it, with the debt's fields.
    struct OwnSil<'k> {
        region: &'k Kit,
    }

    impl RegionDebts for OwnSil<'_> {
        fn import_debt(
            &self,
            action: DebtAction,
            debt: &DebtRecord,
            generate_iuv: bool,
        ) -> Result<RegionAnswer, RegionFailure> {
            use crate::services::sil::{SilError, debts as sil_debts};
            let mut sent = fields(&debt.iud, debt.amount_cents.get());
            sent.iuv = debt.iuv.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default();
            let action = match action {
                DebtAction::Insert => sil_debts::Action::Insert,
                DebtAction::Modify => sil_debts::Action::Modify,
                DebtAction::Annul => sil_debts::Action::Annul,
            };
            let r = &self.region;
            match sil_debts::import_debt(&r.db, "sil:box", IPA, action, sent, generate_iuv, r.now) {
                Ok(d) => Ok(RegionAnswer { iuv: d.iuv.map(|i| i.as_str().to_owned()), notice_number: None }),
                Err(SilError::Fault { code, description }) => Err(RegionFailure {
                    retryable: code == "PAA_SYSTEM_ERROR",
                    code: Some(code.to_owned()),
                    text: description,
                }),
                Err(err) => Err(RegionFailure { retryable: true, code: None, text: err.to_string() }),
            }
        }

        fn upload_flow(&self, _file: &Path, _file_name: &str) -> Result<String, RegionFailure> {
            Err(business("NO_FLOWS"))
        }

        fn flow_status(&self, _request_token: &str) -> Result<FlowStatus, RegionFailure> {
            Err(business("NO_FLOWS"))
        }

        fn download(&self, _url: &str, _max_bytes: u64, _out: &mut dyn Write) -> Result<u64, RegionFailure> {
            Err(business("NO_FLOWS"))
        }
    }

    #[test]
    fn a_restored_box_converges_with_a_regional_mypay() {
        let region = Kit::new();
        let sil = OwnSil { region: &region };
        let at_region =
            |iud: &str| debt_service::get_debt(&region.db, IPA, &debt_service::DebtKey::Iud(iud.to_owned())).ok();
        let kit = mirrored();
        add(&kit, "CONV-1", 100);
        add(&kit, "CONV-2", 200);
        drain(&kit, &sil, kit.now);
        let theirs = at_region("CONV-1").unwrap().iuv.unwrap();
        assert_eq!(stored(&kit, "CONV-1").iuv.as_ref(), Some(&theirs));
        annul(&kit, "CONV-2");
        drain(&kit, &sil, kit.now);
        assert!(at_region("CONV-2").is_none(), "annulled at the Region");

        // The box restored from a backup older than all that: it sends everything again.
        let restored = mirrored();
        add(&restored, "CONV-1", 100);
        add(&restored, "CONV-2", 200);
        annul(&restored, "CONV-2");
        let steps = drain(&restored, &sil, restored.now);
        assert_eq!(steps.len(), 4, "{steps:?}");
        assert_eq!(stored(&restored, "CONV-1").iuv.as_ref(), Some(&theirs), "the Region's IUV, no duplicate");
        assert_eq!(at_region("CONV-1").unwrap().iuv.as_ref(), Some(&theirs));
        let all = changes(&restored);
        assert!(all.iter().all(|c| c.state == ChangeState::Sent), "{all:?}");
        // CONV-2 was annulled at the Region, so its IUD was free again: the I made it anew, the A
        // annulled it again; nothing is left live there that the box does not have.
        assert!(at_region("CONV-2").is_none());
    }
}
