//! Storing what a reconciliation file says, item by item, inside the caller's transaction: the
//! one path for the upload job and for tests and benchmarks that build items themselves.
//!
//! Keys make a reload change nothing: a C or O movement is its bolletta (a later file replaces
//! it, an OPI reversal deletes it), a T or Y movement is its content with its occurrence in the
//! file (Y's `P000001` numbers restart with every file, so they are no key), a notification is its
//! IUD, a Poste line its IUR, day and amount. Each change notes what it touched
//! (`store::reconciliation::Dirty`) for the classification.
//! Must never: classify (that is `engine`'s), or read a file (that is `flows::recon`'s).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::domain::reconciliation::{Source, TreasuryEvent, TreasuryMovement};
use crate::flows::recon::{Item, RejectedRow};
use crate::store::reconciliation::{self as rs, Dirty, MovementChange, UploadCounts};
use crate::store::{Conn, StoreError};

/// MyPivot's words for an OPI reversal of a bolletta it never loaded (mypivot.md §7.6).
pub const REVERSAL_UNKNOWN: &str = "La bolletta non è presente: lo storno non può essere applicato";

/// The state of one file's load: its org, the occurrences of T/Y contents seen so far and
/// the counts.
pub struct Loader {
    pub org_id: i64,
    pub upload_id: Option<i64>,
    pub now: String,
    occurrences: HashMap<[u8; 32], u32>,
    pub counts: UploadCounts,
}

impl Loader {
    pub fn new(org_id: i64, upload_id: Option<i64>, now: String) -> Loader {
        Loader { org_id, upload_id, now, occurrences: HashMap::new(), counts: UploadCounts::default() }
    }

    /// The key of a movement in this file: computed for every item in file order, also for items
    /// a resumed load skips, so that occurrences count the same way.
    pub fn movement_key(&mut self, m: &TreasuryMovement) -> (&'static str, String) {
        let group = key_group(m.source);
        if let (Source::CashJournal | Source::Opi, Some(b)) = (m.source, &m.bolletta) {
            return (group, format!("B:{}/{}", b.year, b.number));
        }
        let mut hasher = Sha256::new();
        let bank_reference = m.bank.as_ref().and_then(|b| b.bank_reference.clone()).unwrap_or_default();
        for part in [
            m.booking_day.to_string(),
            m.value_day.map(|d| d.to_string()).unwrap_or_default(),
            m.amount.get().to_string(),
            m.account.clone().unwrap_or_default(),
            m.causale.clone(),
            bank_reference,
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let seen = self.occurrences.entry(digest).or_insert(0);
        *seen += 1;
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        (group, format!("H:{hex}:{seen}"))
    }

    /// Stores one item; returns the row refused by the store (a reversal of an unknown bolletta)
    /// or given as refused by the reader, for the rejects file.
    pub fn apply(&mut self, tx: &Conn, line: u64, item: Item) -> Result<Option<RejectedRow>, StoreError> {
        match item {
            Item::Rejected(row) => {
                self.counts.rejected += 1;
                Ok(Some(row))
            }
            Item::Treasury(TreasuryEvent::Movement(m)) => {
                let (group, key) = self.movement_key(&m);
                self.store_movement(tx, group, &key, &m)?;
                self.counts.accepted += 1;
                Ok(None)
            }
            Item::Treasury(TreasuryEvent::Reversal(b)) => {
                let key = format!("B:{}/{}", b.year, b.number);
                match rs::delete_movement(tx, self.org_id, "CO", &key)? {
                    Some(gone) => {
                        self.mark(tx, &Dirty::Movement(gone.id))?;
                        self.mark_keys(tx, gone.iuf.as_deref(), gone.iuv.as_deref())?;
                        self.counts.accepted += 1;
                        Ok(None)
                    }
                    None => {
                        self.counts.rejected += 1;
                        Ok(Some(RejectedRow {
                            line,
                            fields: vec![b.year.to_string(), b.number],
                            message: REVERSAL_UNKNOWN.to_owned(),
                        }))
                    }
                }
            }
            Item::Notification(n) => {
                if let Some(old_iuv) = rs::upsert_notification(tx, self.org_id, &n, self.upload_id, &self.now)? {
                    self.mark(tx, &Dirty::Iuv(n.iuv.clone()))?;
                    if let Some(old) = old_iuv.filter(|old| *old != n.iuv) {
                        self.mark(tx, &Dirty::Iuv(old))?;
                    }
                    for iuv in rs::receipt_iuvs_of_iud(tx, self.org_id, &n.iud)? {
                        self.mark(tx, &Dirty::Iuv(iuv))?;
                    }
                }
                self.counts.accepted += 1;
                Ok(None)
            }
            Item::PosteReporting(p) => {
                if rs::insert_poste_row(tx, self.org_id, &p, self.upload_id)? {
                    self.mark(tx, &Dirty::Poste(rs::poste_key(&p)))?;
                }
                self.counts.accepted += 1;
                Ok(None)
            }
        }
    }

    /// Counts an item a resumed load already stored, keeping T/Y occurrences in step.
    pub fn skip(&mut self, item: &Item) {
        if let Item::Treasury(TreasuryEvent::Movement(m)) = item {
            let _ = self.movement_key(m);
        }
    }

    fn store_movement(&mut self, tx: &Conn, group: &str, key: &str, m: &TreasuryMovement) -> Result<(), StoreError> {
        match rs::upsert_movement(tx, self.org_id, group, key, m, self.upload_id, &self.now)? {
            MovementChange::Unchanged(_) => {}
            MovementChange::Inserted(id) => {
                if rs::twin_in_other_source(tx, self.org_id, group, m.iuf.as_deref(), m.iuv.as_deref(), m.amount)? {
                    self.counts.warnings += 1;
                    tracing::warn!(
                        org_id = self.org_id,
                        source = %m.source.code(),
                        iuf = m.iuf.as_deref().unwrap_or(""),
                        iuv = m.iuv.as_deref().unwrap_or(""),
                        "a treasury movement with the same key and amount came from another treasury source: both join"
                    );
                }
                self.mark(tx, &Dirty::Movement(id))?;
                self.mark_keys(tx, m.iuf.as_deref(), m.iuv.as_deref())?;
            }
            MovementChange::Replaced { id, old_iuf, old_iuv } => {
                self.mark(tx, &Dirty::Movement(id))?;
                self.mark_keys(tx, m.iuf.as_deref(), m.iuv.as_deref())?;
                self.mark_keys(tx, old_iuf.as_deref(), old_iuv.as_deref())?;
            }
        }
        Ok(())
    }

    fn mark_keys(&self, tx: &Conn, iuf: Option<&str>, iuv: Option<&str>) -> Result<(), StoreError> {
        if let Some(iuf) = iuf {
            self.mark(tx, &Dirty::Iuf(iuf.to_uppercase()))?;
        }
        if let Some(iuv) = iuv {
            // Receipts and flows keep IUVs as sent (digits); a movement's is upper case.
            self.mark(tx, &Dirty::Iuv(iuv.to_owned()))?;
            if iuv != iuv.to_uppercase() {
                self.mark(tx, &Dirty::Iuv(iuv.to_uppercase()))?;
            }
        }
        Ok(())
    }

    fn mark(&self, tx: &Conn, what: &Dirty) -> Result<(), StoreError> {
        rs::mark_dirty(tx, self.org_id, what)
    }
}

/// Which movements share keys: C and O are the same giornale di cassa in two formats.
pub fn key_group(source: Source) -> &'static str {
    match source {
        Source::CashJournal | Source::Opi => "CO",
        Source::BankMovements => "T",
        Source::PosteStatement => "Y",
        _ => "X",
    }
}
