//! Accertamenti: the registry of offices, chapters and assessments, the accertamento headers and
//! their details (receipt transfers booked to an assessment).
//!
//! **Invariant:** a header's state changes only from INSERITO ([`update_state`] checks it in its
//! statement), and the registry holds one entry per (org, debt type, office, chapter, year,
//! assessment). That a transfer is booked once outside ANNULLATO accertamenti is the service's
//! check, made inside the write transaction ([`find_booking`]).

use rusqlite::{OptionalExtension, Row, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};
use crate::domain::Cents;
use crate::domain::reconciliation::accertamento::{AccertamentoState, RegistryEntry};

stored_as_code!(AccertamentoState, "accertamento.state");

/// A registry entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRecord {
    pub id: i64,
    pub org_id: i64,
    /// `debt_type_code` is empty for an entry of no debt type.
    pub entry: RegistryEntry,
    pub created_at: String,
    pub updated_at: String,
}

pub(super) const REGISTRY_COLUMNS: &str = "id, org_id, ifnull(debt_type_code, ''), office_code, office_name, active, chapter_code, \
     chapter_name, year, accertamento_code, accertamento_name, created_at, updated_at";

pub(super) fn registry_from_row(row: &Row<'_>) -> rusqlite::Result<RegistryRecord> {
    Ok(RegistryRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        entry: RegistryEntry {
            debt_type_code: row.get(2)?,
            office_code: row.get(3)?,
            office_name: row.get(4)?,
            active: row.get(5)?,
            chapter_code: row.get(6)?,
            chapter_name: row.get(7)?,
            year: row.get(8)?,
            accertamento_code: row.get(9)?,
            accertamento_name: row.get(10)?,
        },
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

/// The id of the entry with the key of `entry` (debt type, office, chapter, year, assessment).
pub fn find_registry_id(conn: &Conn, org_id: i64, entry: &RegistryEntry) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT id FROM accertamento_registry WHERE org_id = ?1 AND ifnull(debt_type_code, '') = ?2 \
             AND office_code = ?3 AND chapter_code = ?4 AND year = ?5 AND accertamento_code = ?6",
        )?
        .query_row(
            params![
                org_id,
                entry.debt_type_code,
                entry.office_code,
                entry.chapter_code,
                entry.year,
                entry.accertamento_code
            ],
            |row| row.get(0),
        )
        .optional()?)
}

/// Adds an entry; returns its id.
pub fn insert_registry_entry(conn: &Conn, org_id: i64, entry: &RegistryEntry, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO accertamento_registry (org_id, debt_type_code, office_code, office_name, active, chapter_code, \
             chapter_name, year, accertamento_code, accertamento_name, created_at, updated_at) \
             VALUES (?1, nullif(?2, ''), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        )?
        .execute(params![
            org_id,
            entry.debt_type_code,
            entry.office_code,
            entry.office_name,
            entry.active,
            entry.chapter_code,
            entry.chapter_name,
            entry.year,
            entry.accertamento_code,
            entry.accertamento_name,
            now
        ])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Removes an entry.
pub fn delete_registry_entry(conn: &Conn, id: i64) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached("DELETE FROM accertamento_registry WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// The names the org's registry already gives an office, a chapter (of a year) and an assessment
/// code: a new entry must use the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownNames {
    pub office: Option<String>,
    pub chapter: Option<String>,
    /// `Some(None)`: the assessment is known, without a name.
    pub accertamento: Option<Option<String>>,
}

/// The names already registered for the codes of `entry`.
pub fn known_names(conn: &Conn, org_id: i64, entry: &RegistryEntry) -> Result<KnownNames, StoreError> {
    let sqlite = conn.sqlite();
    let office = sqlite
        .prepare_cached("SELECT office_name FROM accertamento_registry WHERE org_id = ?1 AND office_code = ?2 LIMIT 1")?
        .query_row(params![org_id, entry.office_code], |row| row.get(0))
        .optional()?;
    let chapter = sqlite
        .prepare_cached(
            "SELECT chapter_name FROM accertamento_registry WHERE org_id = ?1 AND chapter_code = ?2 AND year = ?3 LIMIT 1",
        )?
        .query_row(params![org_id, entry.chapter_code, entry.year], |row| row.get(0))
        .optional()?;
    let accertamento = sqlite
        .prepare_cached(
            "SELECT accertamento_name FROM accertamento_registry WHERE org_id = ?1 AND accertamento_code = ?2 LIMIT 1",
        )?
        .query_row(params![org_id, entry.accertamento_code], |row| row.get(0))
        .optional()?;
    Ok(KnownNames { office, chapter, accertamento })
}

/// The org's registry, by office, chapter, year and assessment; at most `limit` entries.
pub fn list_registry(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<RegistryRecord>, StoreError> {
    let sql = format!(
        "SELECT {REGISTRY_COLUMNS} FROM accertamento_registry WHERE org_id = ?1 \
         ORDER BY office_code, chapter_code, year, accertamento_code, debt_type_code LIMIT ?2"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, limit], registry_from_row)?
        .collect::<Result<_, _>>()?)
}

/// The active entry a payment of `debt_type_code` may be booked to.
pub fn find_registry_target(
    conn: &Conn,
    org_id: i64,
    debt_type_code: &str,
    target: &BookingTarget,
) -> Result<Option<RegistryRecord>, StoreError> {
    let sql = format!(
        "SELECT {REGISTRY_COLUMNS} FROM accertamento_registry WHERE org_id = ?1 AND debt_type_code = ?2 \
         AND office_code = ?3 AND chapter_code = ?4 AND accertamento_code = ?5 AND active = 1 ORDER BY year DESC LIMIT 1"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_row(
            params![org_id, debt_type_code, target.office_code, target.chapter_code, target.accertamento_code],
            registry_from_row,
        )
        .optional()?)
}

/// An accertamento header as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccertamentoRecord {
    pub id: i64,
    pub org_id: i64,
    pub debt_type_code: String,
    pub name: String,
    pub state: AccertamentoState,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub printed: bool,
}

const HEADER_COLUMNS: &str = "id, org_id, debt_type_code, name, state, created_by, created_at, updated_at, printed";

fn header_from_row(row: &Row<'_>) -> rusqlite::Result<AccertamentoRecord> {
    Ok(AccertamentoRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        debt_type_code: row.get(2)?,
        name: row.get(3)?,
        state: row.get(4)?,
        created_by: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        printed: row.get(8)?,
    })
}

/// A new header, INSERITO; returns its id.
pub fn insert_accertamento(
    conn: &Conn,
    org_id: i64,
    debt_type_code: &str,
    name: &str,
    actor: &str,
    now: &str,
) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO accertamento (org_id, debt_type_code, name, created_by, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![org_id, debt_type_code, name, actor, now])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The org's header `id`.
pub fn find_accertamento(conn: &Conn, org_id: i64, id: i64) -> Result<Option<AccertamentoRecord>, StoreError> {
    let sql = format!("SELECT {HEADER_COLUMNS} FROM accertamento WHERE org_id = ?1 AND id = ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, id], header_from_row).optional()?)
}

/// The org's headers, newest first, at most `limit`.
pub fn list_accertamenti(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<AccertamentoRecord>, StoreError> {
    let sql = format!("SELECT {HEADER_COLUMNS} FROM accertamento WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2");
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, limit], header_from_row)?
        .collect::<Result<_, _>>()?)
}

/// Moves header `id` from `from` to `to`; false when it was not in `from` any more.
pub fn update_state(
    conn: &Conn,
    id: i64,
    from: AccertamentoState,
    to: AccertamentoState,
    now: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached("UPDATE accertamento SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2")?
        .execute(params![id, from, to, now])?;
    Ok(changed == 1)
}

/// Where a payment is booked: office, chapter, assessment (`n/a` for none).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookingTarget {
    pub office_code: String,
    pub chapter_code: String,
    pub accertamento_code: String,
}

/// A receipt transfer, by its reconciliation key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransferKey {
    pub iuv: String,
    /// The receipt id (identificativoUnivocoRiscossione).
    pub iur: String,
    pub transfer_index: i64,
}

/// A transfer that may be booked: the org's own, of a paying receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookableTransfer {
    pub amount: Cents,
    /// The debt type of the receipt's debt; `None` when the receipt paid no debt of ours.
    pub debt_type_code: Option<String>,
    pub iud: Option<String>,
    /// The debt's `bilancio`: a payment that carries one is split by it, not booked by hand.
    pub bilancio: Option<String>,
}

/// The transfer `key` credited to the org (fiscal code `org_fiscal_code`) by one of its paying
/// receipts (outcome OK, not held).
pub fn find_bookable_transfer(
    conn: &Conn,
    org_id: i64,
    org_fiscal_code: &str,
    key: &TransferKey,
) -> Result<Option<BookableTransfer>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT t.amount_cents, dt.code, d.iud, d.bilancio FROM receipt r \
             JOIN receipt_transfer t ON t.receipt_id = r.id \
             LEFT JOIN debt d ON d.id = r.debt_id LEFT JOIN debt_type dt ON dt.id = d.debt_type_id \
             WHERE r.org_id = ?1 AND r.iuv = ?2 AND r.receipt_id = ?3 AND t.transfer_index = ?4 \
             AND t.fiscal_code = ?5 AND r.outcome = 'OK' AND r.held = 0",
        )?
        .query_row(params![org_id, key.iuv, key.iur, key.transfer_index, org_fiscal_code], |row| {
            Ok(BookableTransfer {
                amount: row.get(0)?,
                debt_type_code: row.get(1)?,
                iud: row.get(2)?,
                bilancio: row.get(3)?,
            })
        })
        .optional()?)
}

/// The accertamento (not ANNULLATO) that already books transfer `key`, if any.
pub fn find_booking(conn: &Conn, org_id: i64, key: &TransferKey) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT a.id FROM accertamento_detail x JOIN accertamento a ON a.id = x.accertamento_id \
             WHERE x.org_id = ?1 AND x.iuv = ?2 AND x.iur = ?3 AND x.transfer_index = ?4 AND a.state <> 'ANNULLATO' \
             LIMIT 1",
        )?
        .query_row(params![org_id, key.iuv, key.iur, key.transfer_index], |row| row.get(0))
        .optional()?)
}

/// A detail as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailRecord {
    pub id: i64,
    pub accertamento_id: i64,
    pub debt_type_code: String,
    pub iud: Option<String>,
    pub key: TransferKey,
    pub target: BookingTarget,
    pub amount: Cents,
    pub amount_entered: bool,
    pub inserted_by: String,
    pub inserted_at: String,
}

/// A new detail.
#[derive(Debug, Clone)]
pub struct NewDetail<'a> {
    pub accertamento: &'a AccertamentoRecord,
    pub iud: Option<&'a str>,
    pub key: &'a TransferKey,
    pub target: &'a BookingTarget,
    pub amount: Cents,
    pub actor: &'a str,
}

/// Adds a detail; returns its id.
pub fn insert_detail(conn: &Conn, new: &NewDetail<'_>, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO accertamento_detail (accertamento_id, org_id, debt_type_code, iud, iuv, iur, transfer_index, \
             office_code, chapter_code, accertamento_code, amount_cents, inserted_by, inserted_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
        )?
        .execute(params![
            new.accertamento.id,
            new.accertamento.org_id,
            new.accertamento.debt_type_code,
            new.iud,
            new.key.iuv,
            new.key.iur,
            new.key.transfer_index,
            new.target.office_code,
            new.target.chapter_code,
            new.target.accertamento_code,
            new.amount,
            new.actor,
            now
        ])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The details of header `accertamento_id`, in insertion order.
pub fn list_details(conn: &Conn, accertamento_id: i64) -> Result<Vec<DetailRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT id, accertamento_id, debt_type_code, iud, iuv, iur, transfer_index, office_code, chapter_code, \
             accertamento_code, amount_cents, amount_entered, inserted_by, inserted_at \
             FROM accertamento_detail WHERE accertamento_id = ?1 ORDER BY id",
        )?
        .query_map([accertamento_id], |row| {
            Ok(DetailRecord {
                id: row.get(0)?,
                accertamento_id: row.get(1)?,
                debt_type_code: row.get(2)?,
                iud: row.get(3)?,
                key: TransferKey { iuv: row.get(4)?, iur: row.get(5)?, transfer_index: row.get(6)? },
                target: BookingTarget {
                    office_code: row.get(7)?,
                    chapter_code: row.get(8)?,
                    accertamento_code: row.get(9)?,
                },
                amount: row.get(10)?,
                amount_entered: row.get(11)?,
                inserted_by: row.get(12)?,
                inserted_at: row.get(13)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// How many details header `accertamento_id` has.
pub fn count_details(conn: &Conn, accertamento_id: i64) -> Result<i64, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM accertamento_detail WHERE accertamento_id = ?1")?
        .query_row([accertamento_id], |row| row.get(0))?)
}

/// What narrows the payments an accertamento may take (MyPivot's filters); `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsertableFilter {
    pub iud: Option<String>,
    pub iuv: Option<String>,
    /// The debtor's or the payer's fiscal code.
    pub fiscal_code: Option<String>,
    /// The outcome day (`payment_date`), inclusive.
    pub from: Option<crate::domain::Day>,
    pub to: Option<crate::domain::Day>,
}

/// A payment an accertamento may take: one transfer of a paying receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertablePayment {
    pub key: TransferKey,
    pub iud: Option<String>,
    pub amount: Cents,
    pub debtor_id: String,
    pub debtor_name: String,
    pub payer_id: Option<String>,
    pub payment_date: String,
    pub remittance: String,
}

/// The transfers of debt type `debt_type_code` credited to the org by its paying receipts whose
/// debt carries no `bilancio` and that no accertamento (but an ANNULLATO one) books, newest
/// first: at most `limit` from `offset`.
pub fn insertable_payments(
    conn: &Conn,
    org_id: i64,
    org_fiscal_code: &str,
    debt_type_code: &str,
    filter: &InsertableFilter,
    limit: u32,
    offset: u32,
) -> Result<Vec<InsertablePayment>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT r.iuv, r.receipt_id, t.transfer_index, t.amount_cents, d.iud, r.debtor_id, r.debtor_name, \
             r.payer_id, r.payment_date, t.remittance FROM receipt r \
             JOIN receipt_transfer t ON t.receipt_id = r.id \
             JOIN debt d ON d.id = r.debt_id JOIN debt_type dt ON dt.id = d.debt_type_id \
             WHERE r.org_id = ?1 AND t.fiscal_code = ?2 AND dt.code = ?3 AND r.outcome = 'OK' AND r.held = 0 \
             AND d.bilancio IS NULL \
             AND (?4 IS NULL OR d.iud = ?4) AND (?5 IS NULL OR r.iuv = ?5) \
             AND (?6 IS NULL OR r.debtor_id = ?6 OR r.payer_id = ?6) \
             AND (?7 IS NULL OR r.payment_date >= ?7) AND (?8 IS NULL OR r.payment_date <= ?8) \
             AND NOT EXISTS (SELECT 1 FROM accertamento_detail x JOIN accertamento a ON a.id = x.accertamento_id \
                 WHERE x.org_id = r.org_id AND x.iuv = r.iuv AND x.iur = r.receipt_id \
                 AND x.transfer_index = t.transfer_index AND a.state <> 'ANNULLATO') \
             ORDER BY r.payment_date DESC, r.id DESC, t.transfer_index LIMIT ?9 OFFSET ?10",
        )?
        .query_map(
            params![
                org_id,
                org_fiscal_code,
                debt_type_code,
                filter.iud,
                filter.iuv,
                filter.fiscal_code,
                filter.from,
                filter.to,
                limit,
                offset
            ],
            |row| {
                Ok(InsertablePayment {
                    key: TransferKey { iuv: row.get(0)?, iur: row.get(1)?, transfer_index: row.get(2)? },
                    amount: row.get(3)?,
                    iud: row.get(4)?,
                    debtor_id: row.get(5)?,
                    debtor_name: row.get(6)?,
                    payer_id: row.get(7)?,
                    payment_date: row.get(8)?,
                    remittance: row.get(9)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?)
}

/// How many details an accertamento has and what they add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DetailTotals {
    pub count: i64,
    pub amount: Cents,
}

/// The totals of every accertamento of the org that has details, by accertamento id.
pub fn detail_totals(conn: &Conn, org_id: i64) -> Result<std::collections::HashMap<i64, DetailTotals>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT accertamento_id, count(*), sum(amount_cents) FROM accertamento_detail WHERE org_id = ?1 \
             GROUP BY accertamento_id",
        )?
        .query_map([org_id], |row| Ok((row.get(0)?, DetailTotals { count: row.get(1)?, amount: row.get(2)? })))?
        .collect::<Result<_, _>>()?)
}
