//! The statements of the retention purge: personal data past its time anonymised (debts,
//! receipts, carts, SIL sessions) or deleted (PINs, mails, sessions), a chunk at a time so no transaction holds the
//! writer long, and the counts of a dry run. What is "past its time" is the caller's cutoff;
//! anonymised means the fiscal code and name become [`ANONYMOUS`] and the address and e-mail
//! NULL. A legal person's data (kind `G`) is not personal and stays.

use rusqlite::params;

use super::{Conn, StoreError};

/// What an anonymised fiscal code and name read: MyPay's own spelling of an anonymous debtor.
pub const ANONYMOUS: &str = "ANONIMO";

/// The debts of one retention category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebtGroup {
    /// Neither paid, annulled nor expired: counted from the last change and the due date.
    Open,
    Annulled,
    Expired,
    /// `COMPLETATO`: an accounting record.
    Paid,
}

impl DebtGroup {
    fn clause(self) -> &'static str {
        match self {
            DebtGroup::Open => {
                "(state = 'INSERIMENTO_DOVUTO' OR state = 'PREDISPOSTO' OR state = 'PAGAMENTO_INIZIATO') \
                 AND (due_date IS NULL OR due_date < ?2)"
            }
            DebtGroup::Annulled => "state = 'ANNULLATO' AND ?2 = ?2",
            DebtGroup::Expired => "state = 'SCADUTO' AND ?2 = ?2",
            DebtGroup::Paid => "state = 'COMPLETATO' AND ?2 = ?2",
        }
    }
}

/// A debt whose debtor is a natural person still named.
const DEBT_NAMED: &str = "debtor_kind = 'F' AND (debtor_id <> 'ANONIMO' OR debtor_name <> 'ANONIMO' \
     OR debtor_address IS NOT NULL OR debtor_civic_number IS NOT NULL OR debtor_postal_code IS NOT NULL \
     OR debtor_city IS NOT NULL OR debtor_province IS NOT NULL OR debtor_country IS NOT NULL \
     OR debtor_email IS NOT NULL)";

/// What one chunk did: rows changed, and the last id looked at (the next chunk starts after it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chunk {
    pub changed: usize,
    pub last_id: Option<i64>,
}

/// Anonymises the debtor of up to `limit` debts of `group` last changed before `before` (UTC
/// ISO 8601; open debts also due before `before_day`), with ids above `after_id`, in id order.
/// The debt's `updated_at` stays: this is not a change of the debt.
pub fn anonymise_debts(
    conn: &Conn,
    group: DebtGroup,
    before: &str,
    before_day: &str,
    after_id: i64,
    limit: u32,
) -> Result<Chunk, StoreError> {
    let ids: Vec<i64> = conn
        .sqlite()
        .prepare_cached(&format!(
            "SELECT id FROM debt WHERE id > ?3 AND updated_at < ?1 AND {} AND {DEBT_NAMED} ORDER BY id LIMIT ?4",
            group.clause()
        ))?
        .query_map(params![before, before_day, after_id, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut update = conn.sqlite().prepare_cached(
        "UPDATE debt SET debtor_id = 'ANONIMO', debtor_name = 'ANONIMO', debtor_address = NULL, \
         debtor_civic_number = NULL, debtor_postal_code = NULL, debtor_city = NULL, debtor_province = NULL, \
         debtor_country = NULL, debtor_email = NULL, version = version + 1 WHERE id = ?1",
    )?;
    for id in &ids {
        update.execute([id])?;
    }
    Ok(Chunk { changed: ids.len(), last_id: ids.last().copied() })
}

/// How many debts [`anonymise_debts`] would change.
pub fn count_debts_to_anonymise(
    conn: &Conn,
    group: DebtGroup,
    before: &str,
    before_day: &str,
) -> Result<u64, StoreError> {
    let sql = format!("SELECT count(*) FROM debt WHERE updated_at < ?1 AND {} AND {DEBT_NAMED}", group.clause());
    Ok(conn.sqlite().query_row(&sql, params![before, before_day], |r| r.get(0))?)
}

/// A receipt still naming a natural person, or still holding the request it came in.
const RECEIPT_NAMED: &str = "((debtor_kind = 'F' AND (debtor_id <> 'ANONIMO' OR debtor_name <> 'ANONIMO' \
     OR debtor_email IS NOT NULL)) OR (payer_kind = 'F' AND (payer_id <> 'ANONIMO' OR payer_name <> 'ANONIMO' \
     OR payer_email IS NOT NULL)) OR EXISTS (SELECT 1 FROM receipt_document WHERE receipt_id = receipt.id \
     AND request_xml <> ''))";

/// Anonymises up to `limit` receipts paid before `before_day` (ids above `after_id`): the
/// natural persons among debtor and payer, and the request as received (emptied). Amounts,
/// dates, IUV, PSP and transfers stay.
pub fn anonymise_receipts(conn: &Conn, before_day: &str, after_id: i64, limit: u32) -> Result<Chunk, StoreError> {
    let ids: Vec<i64> = conn
        .sqlite()
        .prepare_cached(&format!(
            "SELECT id FROM receipt WHERE id > ?2 AND payment_date < ?1 AND {RECEIPT_NAMED} ORDER BY id LIMIT ?3"
        ))?
        .query_map(params![before_day, after_id, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut debtor = conn.sqlite().prepare_cached(
        "UPDATE receipt SET debtor_id = 'ANONIMO', debtor_name = 'ANONIMO', debtor_email = NULL \
         WHERE id = ?1 AND debtor_kind = 'F'",
    )?;
    let mut payer = conn.sqlite().prepare_cached(
        "UPDATE receipt SET payer_id = 'ANONIMO', payer_name = 'ANONIMO', payer_email = NULL \
         WHERE id = ?1 AND payer_kind = 'F'",
    )?;
    let mut document =
        conn.sqlite().prepare_cached("UPDATE receipt_document SET request_xml = '' WHERE receipt_id = ?1")?;
    for id in &ids {
        debtor.execute([id])?;
        payer.execute([id])?;
        document.execute([id])?;
    }
    Ok(Chunk { changed: ids.len(), last_id: ids.last().copied() })
}

/// How many receipts [`anonymise_receipts`] would change.
pub fn count_receipts_to_anonymise(conn: &Conn, before_day: &str) -> Result<u64, StoreError> {
    let sql = format!("SELECT count(*) FROM receipt WHERE payment_date < ?1 AND {RECEIPT_NAMED}");
    Ok(conn.sqlite().query_row(&sql, [before_day], |r| r.get(0))?)
}

/// The tables whose rows go whole once past their time, with the column that dates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletable {
    /// E-mail PINs, by `created_at`.
    Pins,
    /// Mails sent or given up (never one still to send), by `created_at`.
    Mails,
    /// Portal sessions, by `last_seen_at`.
    Sessions,
}

impl Deletable {
    fn table_and_filter(self) -> (&'static str, &'static str) {
        match self {
            Deletable::Pins => ("email_pin", "created_at < ?1"),
            Deletable::Mails => ("mail_outbox", "created_at < ?1 AND state <> 'DA_INVIARE'"),
            Deletable::Sessions => ("session", "last_seen_at < ?1"),
        }
    }
}

/// Deletes up to `limit` rows of `what` dated before `before`; returns how many went.
pub fn delete_before(conn: &Conn, what: Deletable, before: &str, limit: u32) -> Result<usize, StoreError> {
    let (table, filter) = what.table_and_filter();
    let sql = format!("DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {filter} LIMIT ?2)");
    Ok(conn.sqlite().prepare_cached(&sql)?.execute(params![before, limit])?)
}

/// How many rows [`delete_before`] would delete in all.
pub fn count_before(conn: &Conn, what: Deletable, before: &str) -> Result<u64, StoreError> {
    let (table, filter) = what.table_and_filter();
    Ok(conn.sqlite().query_row(&format!("SELECT count(*) FROM {table} WHERE {filter}"), [before], |r| r.get(0))?)
}

/// Files of an upload or an export the purge is to delete, relative to the data folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFiles {
    pub id: i64,
    pub paths: Vec<String>,
}

/// Up to `limit` finished uploads made before `before` whose files are still there.
pub fn list_import_files_before(conn: &Conn, before: &str, limit: u32) -> Result<Vec<StoredFiles>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT id, stored_file, rejects_file, iuv_file, notices_file FROM debt_import \
         WHERE created_at < ?1 AND files_purged_at IS NULL AND (state = 'IMPORT_ESEGUITO' OR state = 'IMPORT_ABORTITO') \
         ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![before, limit], |r| {
            let mut paths = vec![r.get::<_, String>(1)?];
            for i in 2..5 {
                paths.extend(r.get::<_, Option<String>>(i)?);
            }
            Ok(StoredFiles { id: r.get(0)?, paths })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many uploads [`list_import_files_before`] would find in all.
pub fn count_import_files_before(conn: &Conn, before: &str) -> Result<u64, StoreError> {
    Ok(conn.sqlite().query_row(
        "SELECT count(*) FROM debt_import WHERE created_at < ?1 AND files_purged_at IS NULL \
         AND (state = 'IMPORT_ESEGUITO' OR state = 'IMPORT_ABORTITO')",
        [before],
        |r| r.get(0),
    )?)
}

/// Records that the upload's files are gone.
pub fn update_import_files_purged(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt_import SET files_purged_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

/// Up to `limit` finished exports requested before `before` whose ZIP is still there; each path is
/// `export/<ipa>/<file>`.
pub fn list_export_files_before(conn: &Conn, before: &str, limit: u32) -> Result<Vec<StoredFiles>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT e.id, 'export/' || o.ipa_code || '/' || e.file_name FROM export e JOIN org o ON o.id = e.org_id \
         WHERE e.requested_at < ?1 AND e.file_purged_at IS NULL AND e.file_name IS NOT NULL \
         AND (e.state = 'EXPORT_ESEGUITO' OR e.state = 'ERROR_EXPORT') ORDER BY e.id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![before, limit], |r| Ok(StoredFiles { id: r.get(0)?, paths: vec![r.get(1)?] }))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many exports [`list_export_files_before`] would find in all.
pub fn count_export_files_before(conn: &Conn, before: &str) -> Result<u64, StoreError> {
    Ok(conn.sqlite().query_row(
        "SELECT count(*) FROM export WHERE requested_at < ?1 AND file_purged_at IS NULL AND file_name IS NOT NULL \
         AND (state = 'EXPORT_ESEGUITO' OR state = 'ERROR_EXPORT')",
        [before],
        |r| r.get(0),
    )?)
}

/// Records that the export's ZIP is gone.
pub fn update_export_file_purged(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached("UPDATE export SET file_purged_at = ?2 WHERE id = ?1")?.execute(params![id, now])?;
    Ok(())
}

/// Up to `limit` finished reconciliation exports booked before `before` whose ZIP is still there;
/// each path is `export/<ipa>/<file>`, the folder receipt exports share.
pub fn list_recon_export_files_before(conn: &Conn, before: &str, limit: u32) -> Result<Vec<StoredFiles>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT e.id, 'export/' || o.ipa_code || '/' || e.file_name FROM recon_export e JOIN org o ON o.id = e.org_id \
         WHERE e.requested_at < ?1 AND e.file_purged_at IS NULL AND e.file_name IS NOT NULL \
         AND e.state <> 'PRENOTATO' ORDER BY e.id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![before, limit], |r| Ok(StoredFiles { id: r.get(0)?, paths: vec![r.get(1)?] }))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many reconciliation exports [`list_recon_export_files_before`] would find in all.
pub fn count_recon_export_files_before(conn: &Conn, before: &str) -> Result<u64, StoreError> {
    Ok(conn.sqlite().query_row(
        "SELECT count(*) FROM recon_export WHERE requested_at < ?1 AND file_purged_at IS NULL \
         AND file_name IS NOT NULL AND state <> 'PRENOTATO'",
        [before],
        |r| r.get(0),
    )?)
}

/// Records that the reconciliation export's ZIP is gone.
pub fn update_recon_export_file_purged(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE recon_export SET file_purged_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}

/// A finished cart (paid, annulled or failed) still holding the payer's e-mail or the citizen's id.
const CART_NAMED: &str =
    "state <> 'IN_PAGAMENTO' AND updated_at < ?1 AND (payer_email IS NOT NULL OR citizen_id IS NOT NULL)";

/// Clears the payer's e-mail and the citizen's id of up to `limit` finished carts last changed
/// before `before` (ids above `after_id`). State, total, notices and `updated_at` stay.
pub fn anonymise_carts(conn: &Conn, before: &str, after_id: i64, limit: u32) -> Result<Chunk, StoreError> {
    let ids: Vec<i64> = conn
        .sqlite()
        .prepare_cached(&format!("SELECT id FROM cart WHERE id > ?2 AND {CART_NAMED} ORDER BY id LIMIT ?3"))?
        .query_map(params![before, after_id, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut update =
        conn.sqlite().prepare_cached("UPDATE cart SET payer_email = NULL, citizen_id = NULL WHERE id = ?1")?;
    for id in &ids {
        update.execute([id])?;
    }
    Ok(Chunk { changed: ids.len(), last_id: ids.last().copied() })
}

/// How many carts [`anonymise_carts`] would change.
pub fn count_carts_to_anonymise(conn: &Conn, before: &str) -> Result<u64, StoreError> {
    Ok(conn.sqlite().query_row(&format!("SELECT count(*) FROM cart WHERE {CART_NAMED}"), [before], |r| r.get(0))?)
}

/// A SIL session expired before `?1` still holding its items (debtors' data) or the payer's e-mail.
const SIL_SESSION_NAMED: &str = "expires_at < ?1 AND (payload <> '[]' OR payer_email IS NOT NULL)";

/// Empties the items (`[]`) and clears the payer's e-mail of up to `limit` SIL sessions expired
/// before `before` (ids above `after_id`); the row stays, so the SIL can still ask the outcome of
/// its session.
pub fn clear_sil_sessions(conn: &Conn, before: &str, after_id: i64, limit: u32) -> Result<Chunk, StoreError> {
    let ids: Vec<i64> = conn
        .sqlite()
        .prepare_cached(&format!(
            "SELECT id FROM sil_session WHERE id > ?2 AND {SIL_SESSION_NAMED} ORDER BY id LIMIT ?3"
        ))?
        .query_map(params![before, after_id, limit], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut update =
        conn.sqlite().prepare_cached("UPDATE sil_session SET payload = '[]', payer_email = NULL WHERE id = ?1")?;
    for id in &ids {
        update.execute([id])?;
    }
    Ok(Chunk { changed: ids.len(), last_id: ids.last().copied() })
}

/// How many SIL sessions [`clear_sil_sessions`] would change.
pub fn count_sil_sessions_to_clear(conn: &Conn, before: &str) -> Result<u64, StoreError> {
    Ok(conn.sqlite().query_row(
        &format!("SELECT count(*) FROM sil_session WHERE {SIL_SESSION_NAMED}"),
        [before],
        |r| r.get(0),
    )?)
}
