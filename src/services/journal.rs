//! Group commit for the audit entries of read-only exchanges (paVerifyPaymentNotice, faults).
//!
//! Writing each verify's journal entry in its own transaction would cost an fsync per request
//! (`synchronous=FULL`) and cap the station at the disk's fsync rate. Entries of exchanges that
//! change nothing are therefore buffered and written together, at the latest [`MAX_DELAY`] later
//! or when [`MAX_BATCH`] are waiting; the server also flushes when idle and at shutdown. Exchanges
//! that change data (a receipt, a new debt) write their entry in their own transaction instead.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::{Db, StoreError, audit};

/// Entries waiting longer than this are written by the next caller.
pub const MAX_DELAY: Duration = Duration::from_millis(200);
/// A batch this large is written at once.
pub const MAX_BATCH: usize = 512;

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
    pending: Mutex<(Vec<JournalEntry>, Instant)>,
}

impl Default for Journal {
    fn default() -> Journal {
        Journal { pending: Mutex::new((Vec::new(), Instant::now())) }
    }
}

impl Journal {
    /// Buffers an entry; writes the batch when it is due.
    pub fn record(&self, db: &Db, entry: JournalEntry) {
        let due = {
            let mut pending = lock(&self.pending);
            if pending.0.is_empty() {
                pending.1 = Instant::now();
            }
            pending.0.push(entry);
            pending.0.len() >= MAX_BATCH || pending.1.elapsed() >= MAX_DELAY
        };
        if due {
            self.flush(db);
        }
    }

    /// Writes the batch if its oldest entry has waited long enough (called by idle workers).
    pub fn flush_if_due(&self, db: &Db) {
        let due = {
            let pending = lock(&self.pending);
            !pending.0.is_empty() && pending.1.elapsed() >= MAX_DELAY
        };
        if due {
            self.flush(db);
        }
    }

    /// Writes everything buffered, in one transaction.
    pub fn flush(&self, db: &Db) {
        let batch = std::mem::take(&mut lock(&self.pending).0);
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
