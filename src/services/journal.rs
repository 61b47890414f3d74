//! Group commit for the audit entries of read-only exchanges (paVerifyPaymentNotice, faults).
//!
//! Writing each verify's journal entry in its own transaction would cost an fsync per request
//! (`synchronous=FULL`) and cap the station at the disk's fsync rate. Entries of exchanges that
//! change nothing are therefore buffered and written together, at the latest [`MAX_DELAY`] later
//! or when [`MAX_BATCH`] or [`MAX_PENDING_BYTES`] are waiting; the server also flushes when idle
//! and at shutdown. Exchanges that change data (a receipt, a new debt) write their entry in their
//! own transaction instead.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::{Db, StoreError, audit};

/// Entries waiting longer than this are written by the next caller.
pub const MAX_DELAY: Duration = Duration::from_millis(200);
/// A batch this large is written at once.
pub const MAX_BATCH: usize = 512;
/// A batch whose requests and responses add up to this many bytes is written at once: SIL
/// requests (read before their sender is known) may be 4 MiB each, and 200 ms of them from eight
/// workers kept over 100 MiB waiting.
pub const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;

/// One exchange to journal, owned so it can wait in the buffer.
#[derive(Debug, Clone, Default)]
pub struct JournalEntry {
    pub at: String,
    pub actor: String,
    pub org_id: Option<i64>,
    pub action: String,
    pub object: Option<String>,
    pub outcome: String,
    pub request: Option<String>,
    pub response: Option<String>,
    pub duration_ms: Option<i64>,
}

/// The buffer.
pub struct Journal {
    pending: Mutex<Pending>,
}

/// The entries waiting, since when the oldest has, and their requests' and responses' bytes.
struct Pending {
    entries: Vec<JournalEntry>,
    since: Instant,
    bytes: usize,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal { pending: Mutex::new(Pending { entries: Vec::new(), since: Instant::now(), bytes: 0 }) }
    }
}

impl Journal {
    /// Buffers an entry; writes the batch when it is due.
    pub fn record(&self, db: &Db, entry: JournalEntry) {
        let due = {
            let mut pending = lock(&self.pending);
            if pending.entries.is_empty() {
                pending.since = Instant::now();
            }
            let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
            pending.bytes += text(&entry.request) + text(&entry.response);
            pending.entries.push(entry);
            pending.entries.len() >= MAX_BATCH
                || pending.bytes >= MAX_PENDING_BYTES
                || pending.since.elapsed() >= MAX_DELAY
        };
        if due {
            self.flush(db);
        }
    }

    /// Writes the batch if its oldest entry has waited long enough (called by idle workers).
    pub fn flush_if_due(&self, db: &Db) {
        let due = {
            let pending = lock(&self.pending);
            !pending.entries.is_empty() && pending.since.elapsed() >= MAX_DELAY
        };
        if due {
            self.flush(db);
        }
    }

    /// Writes everything buffered, in one transaction.
    pub fn flush(&self, db: &Db) {
        let batch = {
            let mut pending = lock(&self.pending);
            pending.bytes = 0;
            std::mem::take(&mut pending.entries)
        };
        if batch.is_empty() {
            return;
        }
        let n = batch.len();
        let written = db.write(|tx| {
            for e in &batch {
                let entry = audit::AuditEntry {
                    actor: &e.actor,
                    org_id: e.org_id,
                    action: &e.action,
                    object: e.object.as_deref(),
                    outcome: &e.outcome,
                    request: e.request.as_deref(),
                    response: e.response.as_deref(),
                    duration_ms: e.duration_ms,
                    ..Default::default()
                };
                audit::insert_audit(tx, &entry, &e.at)?;
            }
            Ok::<_, StoreError>(())
        });
        if let Err(err) = written {
            tracing::error!(error = %err, entries = n, "cannot write the audit journal");
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    /// Found measuring hostile SIL requests: entries waited for 200 ms or 512 of them whatever
    /// their size, and 4 MiB requests from eight workers kept over 100 MiB waiting. Now 8 MiB of
    /// them are written at once; small entries still wait to be written together.
    #[test]
    fn large_entries_are_written_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let journal = Journal::default();
        let entry = |request: String| JournalEntry {
            at: "2026-12-07T09:00:00Z".to_owned(),
            actor: "sil".to_owned(),
            action: "sil".to_owned(),
            outcome: "SOAP_FAULT".to_owned(),
            request: Some(request),
            ..JournalEntry::default()
        };
        journal.record(&db, entry("<small/>".to_owned()));
        journal.record(&db, entry("<small/>".to_owned()));
        assert_eq!(lock(&journal.pending).entries.len(), 2, "small entries wait");
        journal.record(&db, entry("x".repeat(MAX_PENDING_BYTES / 2)));
        assert_eq!(lock(&journal.pending).entries.len(), 3);
        journal.record(&db, entry("x".repeat(MAX_PENDING_BYTES / 2)));
        let pending = lock(&journal.pending);
        assert!(pending.entries.is_empty() && pending.bytes == 0, "written at 8 MiB");
    }
}
