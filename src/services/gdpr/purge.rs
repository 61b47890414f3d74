//! The retention purge (`[retention]`): what is past its time, per [`Category`], anonymised
//! (debts, receipts, carts, SIL sessions: the accounting fields stay) or deleted (PINs, mails, sessions, journal
//! payloads, files), in chunks of [`CHUNK`] rows per transaction so the writer is never held long.
//! Each chunk saves the cursor (category and last id) with its change, so a purge stopped halfway
//! resumes where it was. The journal records the whole purge once, with its counts; a dry run
//! only counts and records nothing. Run daily by `Job::RetentionPurge` ([`schedule`]) and by
//! `mypay gdpr purge`.

use std::path::{Path, PathBuf};

use jiff::ToSpan;
use serde_json::json;

use crate::clock::Now;
use crate::config::RetentionSettings;
use crate::jobs::{self, Job, JobCtx, JobError, Step};
use crate::services::{Change, ServiceError, journal_change};
use crate::store::retention::{self, DebtGroup, Deletable};
use crate::store::{Conn, Db, StoreError, audit};

/// Rows changed per transaction.
pub const CHUNK: u32 = 500;

/// What the purge handles, in the order it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    OpenDebts,
    AnnulledDebts,
    ExpiredDebts,
    PaidDebts,
    Receipts,
    EmailPins,
    Mails,
    Sessions,
    JournalPayloads,
    ImportFiles,
    ExportFiles,
    /// Finished carts: the payer's e-mail and the citizen's id.
    Carts,
    /// Expired SIL sessions: their items and payer's e-mail (the sessions category's time).
    SilSessions,
}

impl Category {
    /// Categories added later go last, so a purge's saved cursor keeps its meaning.
    pub const ALL: [Category; 13] = [
        Category::OpenDebts,
        Category::AnnulledDebts,
        Category::ExpiredDebts,
        Category::PaidDebts,
        Category::Receipts,
        Category::EmailPins,
        Category::Mails,
        Category::Sessions,
        Category::JournalPayloads,
        Category::ImportFiles,
        Category::ExportFiles,
        Category::Carts,
        Category::SilSessions,
    ];

    /// The name in `--json` output and in the journal.
    pub fn code(self) -> &'static str {
        match self {
            Category::OpenDebts => "open_debts",
            Category::AnnulledDebts => "annulled_debts",
            Category::ExpiredDebts => "expired_debts",
            Category::PaidDebts => "paid_debts",
            Category::Receipts => "receipts",
            Category::EmailPins => "email_pins",
            Category::Mails => "mails",
            Category::Sessions => "sessions",
            Category::JournalPayloads => "journal_payloads",
            Category::ImportFiles => "import_files",
            Category::ExportFiles => "export_files",
            Category::Carts => "carts",
            Category::SilSessions => "sil_sessions",
        }
    }

    /// What happens to a row past its time.
    pub fn treatment(self) -> &'static str {
        match self {
            Category::OpenDebts
            | Category::AnnulledDebts
            | Category::ExpiredDebts
            | Category::PaidDebts
            | Category::Receipts
            | Category::Carts
            | Category::SilSessions => "anonymised",
            _ => "deleted",
        }
    }
}

/// The instant (UTC ISO 8601) and the day (`YYYY-MM-DD`) before which a category's rows are past
/// their time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoff {
    pub before: String,
    pub before_day: String,
}

/// Where each category's time ends, from `now` and the settings.
pub fn cutoff(category: Category, r: &RetentionSettings, now: Now) -> Cutoff {
    let days = match category {
        Category::OpenDebts => r.open_debt_days,
        Category::AnnulledDebts => r.annulled_debt_days,
        Category::ExpiredDebts => r.expired_debt_days,
        Category::PaidDebts | Category::Receipts => {
            let years = i16::try_from(r.accounting_years).unwrap_or(100);
            let day = now.today().checked_sub(years.years()).unwrap_or(jiff::civil::Date::MIN);
            return Cutoff { before: format!("{day}T00:00:00Z"), before_day: day.to_string() };
        }
        Category::EmailPins | Category::Mails => r.mail_days,
        Category::Sessions | Category::SilSessions => r.session_days,
        Category::Carts => r.cart_days,
        Category::JournalPayloads => r.journal_payload_days,
        Category::ImportFiles | Category::ExportFiles => r.file_days,
    };
    let days = i64::try_from(days).unwrap_or(i64::MAX / 86_400);
    let instant =
        now.instant().checked_sub(jiff::SignedDuration::from_hours(24 * days)).unwrap_or(jiff::Timestamp::MIN);
    let day = now.today().checked_sub(days.days()).unwrap_or(jiff::civil::Date::MIN);
    Cutoff { before: crate::clock::iso(instant), before_day: day.to_string() }
}

/// How far a purge got: the index in [`Category::ALL`] it is at, and the last id it looked at
/// there. Kept as `<index>:<id>` in the job's cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub category: usize,
    pub after_id: i64,
}

impl Cursor {
    pub fn parse(text: &str) -> Option<Cursor> {
        let (a, b) = text.split_once(':')?;
        Some(Cursor { category: a.parse().ok()?, after_id: b.parse().ok()? })
    }
    pub fn text(self) -> String {
        format!("{}:{}", self.category, self.after_id)
    }
}

/// What a purge did (or, dry, would do): rows per category, in [`Category::ALL`]'s order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub dry_run: bool,
    pub counts: Vec<(Category, u64)>,
}

impl PurgeReport {
    #[cfg(test)]
    pub fn count(&self, category: Category) -> u64 {
        self.counts.iter().find(|(c, _)| *c == category).map_or(0, |(_, n)| *n)
    }
    /// The counts as the journal and `--json` show them.
    pub fn to_json(&self) -> serde_json::Value {
        let counts: serde_json::Map<String, serde_json::Value> =
            self.counts.iter().map(|(c, n)| (c.code().to_owned(), json!(n))).collect();
        json!({ "dry_run": self.dry_run, "counts": counts })
    }
}

/// What the purge reads from the configuration.
#[derive(Debug, Clone)]
pub struct PurgeSettings {
    pub data_dir: PathBuf,
    pub retention: RetentionSettings,
}

/// Counts what a purge would change now, changing nothing.
pub fn dry_run(db: &Db, settings: &PurgeSettings, now: Now) -> Result<PurgeReport, ServiceError> {
    let counts = db.read(|conn| {
        Category::ALL
            .iter()
            .map(|&c| Ok((c, count(conn, c, &cutoff(c, &settings.retention, now))?)))
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    Ok(PurgeReport { dry_run: true, counts })
}

fn count(conn: &Conn, category: Category, cut: &Cutoff) -> Result<u64, StoreError> {
    let (b, d) = (cut.before.as_str(), cut.before_day.as_str());
    match category {
        Category::OpenDebts => retention::count_debts_to_anonymise(conn, DebtGroup::Open, b, d),
        Category::AnnulledDebts => retention::count_debts_to_anonymise(conn, DebtGroup::Annulled, b, d),
        Category::ExpiredDebts => retention::count_debts_to_anonymise(conn, DebtGroup::Expired, b, d),
        Category::PaidDebts => retention::count_debts_to_anonymise(conn, DebtGroup::Paid, b, d),
        Category::Receipts => retention::count_receipts_to_anonymise(conn, d),
        Category::EmailPins => retention::count_before(conn, Deletable::Pins, b),
        Category::Mails => retention::count_before(conn, Deletable::Mails, b),
        Category::Sessions => retention::count_before(conn, Deletable::Sessions, b),
        Category::JournalPayloads => audit::count_payloads_before(conn, b),
        Category::ImportFiles => retention::count_import_files_before(conn, b),
        Category::ExportFiles => {
            Ok(retention::count_export_files_before(conn, b)? + retention::count_recon_export_files_before(conn, b)?)
        }
        Category::Carts => retention::count_carts_to_anonymise(conn, b),
        Category::SilSessions => retention::count_sil_sessions_to_clear(conn, b),
    }
}

/// Runs the purge from `from` to the end, a chunk per transaction; `save` records the cursor in
/// each chunk's transaction (the job's; nothing for the CLI) and `cancelled` is asked between
/// chunks. The counts are this run's (a resumed purge counts from where it resumed). The last
/// transaction journals the purge as `gdpr.purge` by `actor`.
pub fn run(
    db: &Db,
    settings: &PurgeSettings,
    actor: &str,
    from: Cursor,
    save: &dyn Fn(&Conn, Cursor) -> Result<(), StoreError>,
    cancelled: &dyn Fn() -> bool,
    now: Now,
) -> Result<PurgeReport, ServiceError> {
    let mut counts: Vec<(Category, u64)> = Category::ALL.iter().map(|&c| (c, 0)).collect();
    let mut at = from;
    let iso = now.iso();
    while let Some(&category) = Category::ALL.get(at.category) {
        if cancelled() {
            return Err(ServiceError::Interrupted);
        }
        let cut = cutoff(category, &settings.retention, now);
        let (done, next) = chunk(db, &settings.data_dir, category, &cut, at, &iso, save)?;
        if let Some((_, n)) = counts.get_mut(at.category) {
            *n += done;
        }
        at = next;
    }
    let report = PurgeReport { dry_run: false, counts };
    let after = report.to_json().to_string();
    db.write(|tx| {
        let change = Change {
            actor,
            org_id: None,
            action: "gdpr.purge",
            object: "retention",
            before: None,
            after: Some(&after),
        };
        journal_change(tx, &change, now)
    })?;
    Ok(report)
}

/// One chunk of `category` from `at`: rows changed, and where the next chunk starts (the next
/// category once this one has nothing left).
fn chunk(
    db: &Db,
    data_dir: &Path,
    category: Category,
    cut: &Cutoff,
    at: Cursor,
    now: &str,
    save: &dyn Fn(&Conn, Cursor) -> Result<(), StoreError>,
) -> Result<(u64, Cursor), ServiceError> {
    let next_category = Cursor { category: at.category + 1, after_id: 0 };
    let (b, d) = (cut.before.as_str(), cut.before_day.as_str());
    // Files go first, outside the transaction; a crash before the row is marked finds them gone
    // next time, which is fine.
    // Receipt exports first, then reconciliation exports (same folder, same time): a chunk holds
    // files of one table, so the marks below know which.
    let mut recon_exports = false;
    let files = match category {
        Category::ImportFiles => Some(db.read(|c| retention::list_import_files_before(c, b, CHUNK))?),
        Category::ExportFiles => {
            let receipts = db.read(|c| retention::list_export_files_before(c, b, CHUNK))?;
            if receipts.is_empty() {
                recon_exports = true;
                Some(db.read(|c| retention::list_recon_export_files_before(c, b, CHUNK))?)
            } else {
                Some(receipts)
            }
        }
        _ => None,
    };
    if let Some(files) = &files {
        for path in files.iter().flat_map(|f| &f.paths) {
            remove_file(data_dir, path)?;
        }
    }
    let step = db.write(|tx| {
        let (changed, next) = match category {
            Category::OpenDebts | Category::AnnulledDebts | Category::ExpiredDebts | Category::PaidDebts => {
                let group = match category {
                    Category::OpenDebts => DebtGroup::Open,
                    Category::AnnulledDebts => DebtGroup::Annulled,
                    Category::ExpiredDebts => DebtGroup::Expired,
                    _ => DebtGroup::Paid,
                };
                let c = retention::anonymise_debts(tx, group, b, d, at.after_id, CHUNK)?;
                (c.changed, c.last_id.map_or(next_category, |id| Cursor { category: at.category, after_id: id }))
            }
            Category::Receipts | Category::Carts | Category::SilSessions => {
                let c = match category {
                    Category::Receipts => retention::anonymise_receipts(tx, d, at.after_id, CHUNK)?,
                    Category::Carts => retention::anonymise_carts(tx, b, at.after_id, CHUNK)?,
                    _ => retention::clear_sil_sessions(tx, b, at.after_id, CHUNK)?,
                };
                (c.changed, c.last_id.map_or(next_category, |id| Cursor { category: at.category, after_id: id }))
            }
            Category::EmailPins | Category::Mails | Category::Sessions | Category::JournalPayloads => {
                let n = match category {
                    Category::EmailPins => retention::delete_before(tx, Deletable::Pins, b, CHUNK)?,
                    Category::Mails => retention::delete_before(tx, Deletable::Mails, b, CHUNK)?,
                    Category::Sessions => retention::delete_before(tx, Deletable::Sessions, b, CHUNK)?,
                    _ => audit::delete_payloads_before(tx, b, CHUNK)?,
                };
                (n, if n == 0 { next_category } else { at })
            }
            Category::ImportFiles | Category::ExportFiles => {
                let files = files.as_deref().unwrap_or_default();
                for f in files {
                    if category == Category::ImportFiles {
                        retention::update_import_files_purged(tx, f.id, now)?;
                    } else if recon_exports {
                        retention::update_recon_export_file_purged(tx, f.id, now)?;
                    } else {
                        retention::update_export_file_purged(tx, f.id, now)?;
                    }
                }
                (files.len(), if files.is_empty() { next_category } else { at })
            }
        };
        save(tx, next)?;
        Ok::<_, StoreError>((changed as u64, next))
    })?;
    Ok(step)
}

/// Deletes `<data_dir>/<relative>`; a file already gone is fine. A path leaving the data folder
/// is refused (the rows hold relative paths mypay wrote, so this only guards against a bug).
fn remove_file(data_dir: &Path, relative: &str) -> Result<(), ServiceError> {
    let rel = Path::new(relative);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(ServiceError::Internal(format!("refusing to delete {relative:?}: not inside the data folder")));
    }
    match std::fs::remove_file(data_dir.join(rel)) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(ServiceError::Internal(format!("cannot delete {relative}: {err}"))),
    }
}

/// Queues today's purge (`Job::RetentionPurge` for today's Rome day) unless it was already queued;
/// returns whether it queued it. Called by the server's housekeeping every few minutes.
pub fn schedule(db: &Db, now: Now) -> Result<bool, ServiceError> {
    let job = Job::RetentionPurge { day: now.today().to_string() };
    Ok(db.write(|tx| {
        if jobs::latest(tx, &job)?.is_some() {
            return Ok::<_, StoreError>(false);
        }
        jobs::enqueue(tx, &job, now)?;
        Ok(true)
    })?)
}

/// Runs `Job::RetentionPurge`, resuming from its cursor.
pub struct PurgeJob {
    pub settings: PurgeSettings,
}

impl jobs::Handler for PurgeJob {
    fn run(&self, ctx: &mut JobCtx<'_>, job: &Job) -> Result<Step, JobError> {
        let Job::RetentionPurge { .. } = job else {
            return Err(JobError::Failed(format!("not a purge job: {job:?}")));
        };
        let from = ctx.cursor.as_deref().and_then(Cursor::parse).unwrap_or_default();
        let job_id = ctx.job_id;
        let save = |tx: &Conn, at: Cursor| jobs::save_cursor(tx, job_id, &at.text());
        match run(ctx.db, &self.settings, "system", from, &save, ctx.cancelled, Now::read()) {
            Ok(report) => {
                tracing::info!(purge = %report.to_json(), "retention purge done");
                Ok(Step::Done)
            }
            Err(ServiceError::Interrupted) => Err(JobError::Interrupted),
            Err(err) => Err(JobError::Failed(err.to_string())),
        }
    }
}
