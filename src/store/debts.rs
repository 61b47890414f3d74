//! Debt positions (dovuti), the uniqueness of their live IUDs and IUVs, and the IUV17 counters.
//!
//! **Invariant:** a live IUD or IUV is unique per org: the unique indexes on
//! `(org_id, iud, released_id)` and `(org_id, iuv, released_id)` (the latter only of debts that
//! have an IUV) enforce it even if a caller forgot to check, and inserts rely on them: a debt is
//! inserted first and asked about after only if refused. Annulling a debt releases both by setting
//! `released_id` to the debt's own id.

use rusqlite::{CachedStatement, OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};
use crate::domain::{Cents, Day, DebtState, Iuv, NoticeNumber, Party};

/// A debt position as stored: every column of a 1_4 import row plus state and bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DebtRecord {
    pub id: i64,
    pub org_id: i64,
    pub debt_type_id: i64,
    /// Joined in from `debt_type` on reads; ignored on writes.
    pub debt_type_code: String,
    pub iud: String,
    pub iuv: Option<Iuv>,
    pub notice_number: Option<NoticeNumber>,
    pub state: DebtState,
    /// The `debtor_*` columns.
    pub debtor: Party,
    pub due_date: Option<Day>,
    pub amount_cents: Cents,
    pub fee_cents: Option<Cents>,
    pub payment_kinds: String,
    pub causale: String,
    pub collection_data: String,
    pub bilancio: Option<String>,
    pub generate_iuv: bool,
    /// The secondary beneficiary of a multi-beneficiary debt (the `mb_*` columns that name it),
    /// present when `mb_fiscal_code` is. It is an org: its kind is not stored and reads as `G`; it
    /// has no e-mail.
    pub beneficiary: Option<Party>,
    pub mb_iban: Option<String>,
    pub mb_collection_data: Option<String>,
    pub mb_causale: Option<String>,
    pub mb_amount_cents: Option<Cents>,
    pub source: String,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Digital stamp: base64 hash of the stamped document.
    pub stamp_document_hash: Option<String>,
    /// Digital stamp: the payer's province.
    pub stamp_province: Option<String>,
    /// The debt flow (`debt_import`) that last wrote this debt; `None` for other channels.
    pub import_id: Option<i64>,
}

/// The columns `from_row` reads, in order (`debt_search` appends its own after them).
pub(super) const COLUMNS: &str = "d.id, d.org_id, d.debt_type_id, t.code, d.iud, d.iuv, d.notice_number, d.state, \
     d.debtor_kind, d.debtor_id, d.debtor_name, d.debtor_address, d.debtor_civic_number, d.debtor_postal_code, \
     d.debtor_city, d.debtor_province, d.debtor_country, d.debtor_email, d.due_date, d.amount_cents, d.fee_cents, \
     d.payment_kinds, d.causale, d.collection_data, d.bilancio, d.generate_iuv, d.mb_fiscal_code, d.mb_name, \
     d.mb_iban, d.mb_address, d.mb_civic_number, d.mb_postal_code, d.mb_city, d.mb_province, d.mb_country, \
     d.mb_collection_data, d.mb_causale, d.mb_amount_cents, d.source, d.created_at, d.updated_at, d.version, \
     d.stamp_document_hash, d.stamp_province, d.import_id";

pub(super) const FROM: &str = "FROM debt d JOIN debt_type t ON t.id = d.debt_type_id";

const INSERT: &str = "INSERT INTO debt (org_id, debt_type_id, iud, iuv, notice_number, state, debtor_kind, \
     debtor_id, debtor_name, debtor_address, debtor_civic_number, debtor_postal_code, debtor_city, \
     debtor_province, debtor_country, debtor_email, due_date, amount_cents, fee_cents, payment_kinds, causale, \
     collection_data, bilancio, generate_iuv, mb_fiscal_code, mb_name, mb_iban, mb_address, mb_civic_number, \
     mb_postal_code, mb_city, mb_province, mb_country, mb_collection_data, mb_causale, mb_amount_cents, source, \
     stamp_document_hash, stamp_province, import_id, created_at, updated_at) VALUES (:org_id, :debt_type_id, :iud, :iuv, :notice_number, :state, :debtor_kind, \
     :debtor_id, :debtor_name, :debtor_address, :debtor_civic_number, :debtor_postal_code, :debtor_city, \
     :debtor_province, :debtor_country, :debtor_email, :due_date, :amount_cents, :fee_cents, :payment_kinds, \
     :causale, :collection_data, :bilancio, :generate_iuv, :mb_fiscal_code, :mb_name, :mb_iban, :mb_address, \
     :mb_civic_number, :mb_postal_code, :mb_city, :mb_province, :mb_country, :mb_collection_data, :mb_causale, \
     :mb_amount_cents, :source, :stamp_hash, :stamp_province, :import_id, :now, :now)";

const UPDATE_FIELDS: &str = "UPDATE debt SET iuv = :iuv, notice_number = :notice_number, state = :state, \
     debtor_kind = :debtor_kind, debtor_id = :debtor_id, debtor_name = :debtor_name, \
     debtor_address = :debtor_address, debtor_civic_number = :debtor_civic_number, \
     debtor_postal_code = :debtor_postal_code, debtor_city = :debtor_city, debtor_province = :debtor_province, \
     debtor_country = :debtor_country, debtor_email = :debtor_email, due_date = :due_date, \
     amount_cents = :amount_cents, fee_cents = :fee_cents, payment_kinds = :payment_kinds, causale = :causale, \
     collection_data = :collection_data, bilancio = :bilancio, generate_iuv = :generate_iuv, \
     mb_fiscal_code = :mb_fiscal_code, mb_name = :mb_name, mb_iban = :mb_iban, mb_address = :mb_address, \
     mb_civic_number = :mb_civic_number, mb_postal_code = :mb_postal_code, mb_city = :mb_city, \
     mb_province = :mb_province, mb_country = :mb_country, mb_collection_data = :mb_collection_data, \
     mb_causale = :mb_causale, mb_amount_cents = :mb_amount_cents, import_id = :import_id, updated_at = :now, \
     version = version + 1 WHERE id = :id";

/// How many columns [`COLUMNS`] names.
pub(super) const COLUMN_COUNT: usize = 45;

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<DebtRecord> {
    let mb_fiscal_code: Option<String> = row.get(26)?;
    Ok(DebtRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        debt_type_id: row.get(2)?,
        debt_type_code: row.get(3)?,
        iud: row.get(4)?,
        iuv: row.get(5)?,
        notice_number: row.get(6)?,
        state: row.get(7)?,
        debtor: Party {
            kind: row.get(8)?,
            id: row.get(9)?,
            name: row.get(10)?,
            address: row.get(11)?,
            civic_number: row.get(12)?,
            postal_code: row.get(13)?,
            city: row.get(14)?,
            province: row.get(15)?,
            country: row.get(16)?,
            email: row.get(17)?,
        },
        due_date: row.get(18)?,
        amount_cents: row.get(19)?,
        fee_cents: row.get(20)?,
        payment_kinds: row.get(21)?,
        causale: row.get(22)?,
        collection_data: row.get(23)?,
        bilancio: row.get(24)?,
        generate_iuv: row.get(25)?,
        beneficiary: match mb_fiscal_code {
            Some(id) => Some(Party {
                kind: BENEFICIARY_KIND.to_owned(),
                id,
                name: row.get::<_, Option<String>>(27)?.unwrap_or_default(),
                address: row.get(29)?,
                civic_number: row.get(30)?,
                postal_code: row.get(31)?,
                city: row.get(32)?,
                province: row.get(33)?,
                country: row.get(34)?,
                email: None,
            }),
            None => None,
        },
        mb_iban: row.get(28)?,
        mb_collection_data: row.get(35)?,
        mb_causale: row.get(36)?,
        mb_amount_cents: row.get(37)?,
        source: row.get(38)?,
        created_at: row.get(39)?,
        updated_at: row.get(40)?,
        version: row.get(41)?,
        stamp_document_hash: row.get(42)?,
        stamp_province: row.get(43)?,
        import_id: row.get(44)?,
    })
}

/// The kind a secondary beneficiary reads with: a transfer's beneficiary is an org (pagoPA's
/// `fiscalCodePA`), so the column was never needed.
const BENEFICIARY_KIND: &str = "G";

/// Inserts a debt, its IUD (and IUV, when it has one) live. Returns the new id; a live duplicate
/// IUD or IUV in the org fails with [`StoreError::Duplicate`].
pub fn insert_debt(conn: &Conn, d: &DebtRecord, now: &str) -> Result<i64, StoreError> {
    DebtInserter::new(conn)?.insert(d, now)
}

/// A debt to insert, borrowing its values from wherever the caller holds them: an import binds a
/// validated row as it is, without building a [`DebtRecord`] (a dozen allocations a row).
#[derive(Debug, Clone, Copy)]
pub struct NewDebt<'a> {
    pub org_id: i64,
    pub debt_type_id: i64,
    pub iud: &'a str,
    pub iuv: Option<&'a str>,
    pub notice_number: Option<&'a str>,
    pub state: DebtState,
    pub debtor: PartyRef<'a>,
    pub due_date: Option<Day>,
    pub amount_cents: Cents,
    pub fee_cents: Option<Cents>,
    pub payment_kinds: &'a str,
    pub causale: &'a str,
    pub collection_data: &'a str,
    pub bilancio: Option<&'a str>,
    pub generate_iuv: bool,
    /// The secondary beneficiary (its `kind` and `email` are not stored).
    pub beneficiary: Option<PartyRef<'a>>,
    pub mb_iban: Option<&'a str>,
    pub mb_collection_data: Option<&'a str>,
    pub mb_causale: Option<&'a str>,
    pub mb_amount_cents: Option<Cents>,
    pub source: &'a str,
    pub stamp_document_hash: Option<&'a str>,
    pub stamp_province: Option<&'a str>,
    pub import_id: Option<i64>,
}

/// A [`Party`], borrowed.
#[derive(Debug, Clone, Copy)]
pub struct PartyRef<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub name: &'a str,
    pub address: Option<&'a str>,
    pub civic_number: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub city: Option<&'a str>,
    pub province: Option<&'a str>,
    pub country: Option<&'a str>,
    pub email: Option<&'a str>,
}

impl<'a> PartyRef<'a> {
    pub fn of(p: &'a Party) -> PartyRef<'a> {
        PartyRef {
            kind: &p.kind,
            id: &p.id,
            name: &p.name,
            address: p.address.as_deref(),
            civic_number: p.civic_number.as_deref(),
            postal_code: p.postal_code.as_deref(),
            city: p.city.as_deref(),
            province: p.province.as_deref(),
            country: p.country.as_deref(),
            email: p.email.as_deref(),
        }
    }
}

impl<'a> NewDebt<'a> {
    /// The insert of a whole record (its id, version and times are the store's).
    pub fn of(d: &'a DebtRecord) -> NewDebt<'a> {
        NewDebt {
            org_id: d.org_id,
            debt_type_id: d.debt_type_id,
            iud: &d.iud,
            iuv: d.iuv.as_ref().map(Iuv::as_str),
            notice_number: d.notice_number.as_ref().map(NoticeNumber::as_str),
            state: d.state,
            debtor: PartyRef::of(&d.debtor),
            due_date: d.due_date,
            amount_cents: d.amount_cents,
            fee_cents: d.fee_cents,
            payment_kinds: &d.payment_kinds,
            causale: &d.causale,
            collection_data: &d.collection_data,
            bilancio: d.bilancio.as_deref(),
            generate_iuv: d.generate_iuv,
            beneficiary: d.beneficiary.as_ref().map(PartyRef::of),
            mb_iban: d.mb_iban.as_deref(),
            mb_collection_data: d.mb_collection_data.as_deref(),
            mb_causale: d.mb_causale.as_deref(),
            mb_amount_cents: d.mb_amount_cents,
            source: &d.source,
            stamp_document_hash: d.stamp_document_hash.as_deref(),
            stamp_province: d.stamp_province.as_deref(),
            import_id: d.import_id,
        }
    }
}

/// Debts one multi-row INSERT stores ([`DebtInserter::insert_batch`]).
pub const INSERT_BATCH: usize = 64;

/// Parameters one row of INSERT binds (`:now` is one, used twice).
const INSERT_PARAMS: usize = 41;

/// The INSERT of [`INSERT_BATCH`] rows: the same columns, numbered parameters, `?41`-style `now`
/// repeated in each row.
fn insert_batch_sql() -> String {
    let head = INSERT.split(" VALUES ").next().unwrap_or(INSERT);
    let mut sql = String::with_capacity(head.len() + INSERT_BATCH * INSERT_PARAMS * 7);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for row in 0..INSERT_BATCH {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        let base = row * INSERT_PARAMS;
        for column in 1..=INSERT_PARAMS {
            sql.push_str(&format!("?{},", base + column));
        }
        sql.push_str(&format!("?{})", base + INSERT_PARAMS));
    }
    sql
}

/// Parameters of the narrow batch ([`narrow_batch_sql`]) that every row shares, bound once per
/// batch: org, state, source, import and time.
const SHARED_PARAMS: usize = 5;

/// Parameters one row of the narrow batch binds.
const NARROW_PARAMS: usize = 22;

/// The INSERT of [`INSERT_BATCH`] rows of one org, state, source and import, none with a secondary
/// beneficiary or a stamp (a plain flow's rows): those columns are left to their default (NULL)
/// and the shared values are bound once, so a row binds 22 values instead of 41 (SQLite copies
/// every bound text, a tenth of an import's writer time).
fn narrow_batch_sql() -> String {
    let mut sql = String::from(
        "INSERT INTO debt (org_id, state, source, import_id, created_at, updated_at, debt_type_id, iud, iuv, \
         notice_number, debtor_kind, debtor_id, debtor_name, debtor_address, debtor_civic_number, debtor_postal_code, \
         debtor_city, debtor_province, debtor_country, debtor_email, due_date, amount_cents, fee_cents, payment_kinds, \
         causale, collection_data, bilancio, generate_iuv) VALUES ",
    );
    for row in 0..INSERT_BATCH {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str("(?1,?2,?3,?4,?5,?5");
        let base = SHARED_PARAMS + row * NARROW_PARAMS;
        for column in 1..=NARROW_PARAMS {
            sql.push_str(&format!(",?{}", base + column));
        }
        sql.push(')');
    }
    sql
}

/// Whether these rows can go in the narrow batch: one org, state, source and import, and no
/// value in the columns it leaves out.
fn narrow(rows: &[NewDebt<'_>]) -> bool {
    let Some(first) = rows.first() else { return false };
    rows.iter().all(|d| {
        d.beneficiary.is_none()
            && d.mb_iban.is_none()
            && d.mb_collection_data.is_none()
            && d.mb_causale.is_none()
            && d.mb_amount_cents.is_none()
            && d.stamp_document_hash.is_none()
            && d.stamp_province.is_none()
            && d.org_id == first.org_id
            && d.state == first.state
            && d.source == first.source
            && d.import_id == first.import_id
    })
}

/// Binds one row of the narrow batch at parameters `base + 1 ..= base + NARROW_PARAMS`, in its
/// column order.
fn bind_narrow_row(stmt: &mut CachedStatement<'_>, base: usize, d: &NewDebt<'_>) -> Result<(), StoreError> {
    let values: [&dyn rusqlite::ToSql; NARROW_PARAMS] = [
        &d.debt_type_id,
        &d.iud,
        &d.iuv,
        &d.notice_number,
        &d.debtor.kind,
        &d.debtor.id,
        &d.debtor.name,
        &d.debtor.address,
        &d.debtor.civic_number,
        &d.debtor.postal_code,
        &d.debtor.city,
        &d.debtor.province,
        &d.debtor.country,
        &d.debtor.email,
        &d.due_date,
        &d.amount_cents,
        &d.fee_cents,
        &d.payment_kinds,
        &d.causale,
        &d.collection_data,
        &d.bilancio,
        &d.generate_iuv,
    ];
    for (i, value) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(base + i + 1, value)?;
    }
    Ok(())
}

/// The statements that store new debts, held for as long as the caller inserts: a large import
/// would otherwise look its long INSERT up in the statement cache (hashing its text) on every row.
pub struct DebtInserter<'c> {
    conn: &'c Conn,
    insert: CachedStatement<'c>,
    /// The multi-row INSERT, prepared on first use.
    batch: Option<CachedStatement<'c>>,
    /// The narrow multi-row INSERT ([`narrow_batch_sql`]), prepared on first use.
    narrow_batch: Option<CachedStatement<'c>>,
    live: CachedStatement<'c>,
}

impl<'c> DebtInserter<'c> {
    pub fn new(conn: &'c Conn) -> Result<DebtInserter<'c>, StoreError> {
        Ok(DebtInserter {
            conn,
            insert: conn.sqlite().prepare_cached(INSERT)?,
            batch: None,
            narrow_batch: None,
            live: conn.sqlite().prepare_cached(LIVE_IDENTIFIERS)?,
        })
    }

    /// The connection (the caller's transaction) the statements belong to.
    pub fn conn(&self) -> &'c Conn {
        self.conn
    }

    /// Whether `iud`, and `iuv` when given, are live identifiers in the org, in one statement.
    pub fn live_identifiers(&mut self, org_id: i64, iud: &str, iuv: Option<&str>) -> Result<(bool, bool), StoreError> {
        Ok(self.live.query_row(params![org_id, iud, iuv], |row| Ok((row.get(0)?, row.get(1)?)))?)
    }

    /// Inserts a debt, as [`insert_debt`].
    pub fn insert(&mut self, d: &DebtRecord, now: &str) -> Result<i64, StoreError> {
        self.insert_new(&NewDebt::of(d), now)
    }

    /// Inserts a debt given by reference, as [`insert_debt`]: a live duplicate IUD or IUV fails
    /// with [`StoreError::Duplicate`] and writes nothing (a one-row INSERT checks its unique
    /// indexes before it writes), so a caller may try first and ask why after.
    pub fn insert_new(&mut self, d: &NewDebt<'_>, now: &str) -> Result<i64, StoreError> {
        bind_row(&mut self.insert, 0, d, now)?;
        self.insert.raw_execute().map_err(StoreError::from_sqlite)?;
        Ok(self.conn.sqlite().last_insert_rowid())
    }

    /// Inserts [`INSERT_BATCH`] debts in one statement, all or none: a live duplicate IUD or IUV
    /// among them (or between two of them) fails the whole statement with
    /// [`StoreError::Duplicate`] and leaves nothing of it. One statement keeps the cursors of the
    /// table and its indexes open from row to row, so a key that goes at the end of an index
    /// (an increasing IUD or IUV, a common state or due date) costs no search from the root.
    /// A call with another number of rows inserts them one by one.
    pub fn insert_batch(&mut self, rows: &[NewDebt<'_>], now: &str) -> Result<(), StoreError> {
        if rows.len() != INSERT_BATCH {
            for d in rows {
                self.insert_new(d, now)?;
            }
            return Ok(());
        }
        if narrow(rows) {
            let stmt = match &mut self.narrow_batch {
                Some(stmt) => stmt,
                None => {
                    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                    let sql = SQL.get_or_init(narrow_batch_sql);
                    self.narrow_batch.insert(self.conn.sqlite().prepare_cached(sql)?)
                }
            };
            if let Some(first) = rows.first() {
                let shared: [&dyn rusqlite::ToSql; SHARED_PARAMS] =
                    [&first.org_id, &first.state, &first.source, &first.import_id, &now];
                for (i, value) in shared.into_iter().enumerate() {
                    stmt.raw_bind_parameter(i + 1, value)?;
                }
            }
            for (row, d) in rows.iter().enumerate() {
                bind_narrow_row(stmt, SHARED_PARAMS + row * NARROW_PARAMS, d)?;
            }
            stmt.raw_execute().map_err(StoreError::from_sqlite)?;
            return Ok(());
        }
        let stmt = match &mut self.batch {
            Some(stmt) => stmt,
            None => {
                static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                let sql = SQL.get_or_init(insert_batch_sql);
                self.batch.insert(self.conn.sqlite().prepare_cached(sql)?)
            }
        };
        for (row, d) in rows.iter().enumerate() {
            bind_row(stmt, row * INSERT_PARAMS, d, now)?;
        }
        stmt.raw_execute().map_err(StoreError::from_sqlite)?;
        Ok(())
    }
}

/// Binds one row of INSERT at parameters `base + 1 ..= base + INSERT_PARAMS`, by position in the
/// order the names first appear in INSERT (`:now` twice is one parameter): looking 41 names up
/// on every row of a million-row import is measurable.
fn bind_row(stmt: &mut CachedStatement<'_>, base: usize, d: &NewDebt<'_>, now: &str) -> Result<(), StoreError> {
    let mb = d.beneficiary.as_ref();
    let values: [&dyn rusqlite::ToSql; INSERT_PARAMS] = [
        &d.org_id,
        &d.debt_type_id,
        &d.iud,
        &d.iuv,
        &d.notice_number,
        &d.state,
        &d.debtor.kind,
        &d.debtor.id,
        &d.debtor.name,
        &d.debtor.address,
        &d.debtor.civic_number,
        &d.debtor.postal_code,
        &d.debtor.city,
        &d.debtor.province,
        &d.debtor.country,
        &d.debtor.email,
        &d.due_date,
        &d.amount_cents,
        &d.fee_cents,
        &d.payment_kinds,
        &d.causale,
        &d.collection_data,
        &d.bilancio,
        &d.generate_iuv,
        &mb.map(|b| b.id),
        &mb.map(|b| b.name),
        &d.mb_iban,
        &mb.and_then(|b| b.address),
        &mb.and_then(|b| b.civic_number),
        &mb.and_then(|b| b.postal_code),
        &mb.and_then(|b| b.city),
        &mb.and_then(|b| b.province),
        &mb.and_then(|b| b.country),
        &d.mb_collection_data,
        &d.mb_causale,
        &d.mb_amount_cents,
        &d.source,
        &d.stamp_document_hash,
        &d.stamp_province,
        &d.import_id,
        &now,
    ];
    for (i, value) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(base + i + 1, value)?;
    }
    Ok(())
}

/// Replaces every field of debt `d.id` (action `M`): identifiers, state and fields as given,
/// `source` and creation time kept, version bumped. A new IUV already live in the org fails with
/// [`StoreError::Duplicate`].
pub fn update_debt_fields(conn: &Conn, d: &DebtRecord, now: &str) -> Result<(), StoreError> {
    let (debtor, mb) = (&d.debtor, d.beneficiary.as_ref());
    conn.sqlite()
        .prepare_cached(UPDATE_FIELDS)?
        .execute(named_params! {
            ":id": d.id, ":iuv": d.iuv, ":notice_number": d.notice_number, ":state": d.state,
            ":debtor_kind": debtor.kind, ":debtor_id": debtor.id, ":debtor_name": debtor.name,
            ":debtor_address": debtor.address, ":debtor_civic_number": debtor.civic_number,
            ":debtor_postal_code": debtor.postal_code, ":debtor_city": debtor.city,
            ":debtor_province": debtor.province, ":debtor_country": debtor.country,
            ":debtor_email": debtor.email, ":due_date": d.due_date, ":amount_cents": d.amount_cents,
            ":fee_cents": d.fee_cents, ":payment_kinds": d.payment_kinds, ":causale": d.causale,
            ":collection_data": d.collection_data, ":bilancio": d.bilancio, ":generate_iuv": d.generate_iuv,
            ":mb_fiscal_code": mb.map(|b| &b.id), ":mb_name": mb.map(|b| &b.name), ":mb_iban": d.mb_iban,
            ":mb_address": mb.and_then(|b| b.address.as_ref()),
            ":mb_civic_number": mb.and_then(|b| b.civic_number.as_ref()),
            ":mb_postal_code": mb.and_then(|b| b.postal_code.as_ref()), ":mb_city": mb.and_then(|b| b.city.as_ref()),
            ":mb_province": mb.and_then(|b| b.province.as_ref()), ":mb_country": mb.and_then(|b| b.country.as_ref()),
            ":mb_collection_data": d.mb_collection_data,
            ":mb_causale": d.mb_causale, ":mb_amount_cents": d.mb_amount_cents, ":import_id": d.import_id,
            ":now": now,
        })
        .map_err(StoreError::from_sqlite)?;
    Ok(())
}

/// Gives a debt that has no IUV one, with its notice number: the one the Region assigned (upstream
/// mode: mirrored, or made by a payment session there), or one drawn here when a payment of it
/// starts (`services::debts::iuv`); returns whether it did (a debt that has one meanwhile keeps it). An IUV live on another debt of the org fails with [`StoreError::Duplicate`].
pub fn update_debt_region_iuv(
    conn: &Conn,
    debt_id: i64,
    iuv: &Iuv,
    notice_number: Option<&NoticeNumber>,
    now: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached(
            "UPDATE debt SET iuv = ?2, notice_number = ?3, updated_at = ?4, version = version + 1 \
             WHERE id = ?1 AND iuv IS NULL",
        )?
        .execute(params![debt_id, iuv, notice_number, now])
        .map_err(StoreError::from_sqlite)?;
    Ok(changed == 1)
}

/// Up to `limit` payable debts of the org (`INSERIMENTO_DOVUTO`) that have no IUV (and are not a
/// plan of payment options, whose options carry the IUVs), of debt flow
/// `import_id` when given, with ids above `after`, oldest first: what a bulk IUV assignment takes one
/// chunk at a time (`after`, the last id of the chunk before, so no chunk scans the ones done).
pub fn list_debts_without_iuv(
    conn: &Conn,
    org_id: i64,
    import_id: Option<i64>,
    after: i64,
    limit: usize,
) -> Result<Vec<DebtRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE d.org_id = ?1 AND d.iuv IS NULL AND d.released_id = 0 \
         AND d.state = 'INSERIMENTO_DOVUTO' AND (?2 IS NULL OR d.import_id = ?2) AND d.id > ?4 \
         AND NOT EXISTS (SELECT 1 FROM debt_option o WHERE o.debt_id = d.id) ORDER BY d.id LIMIT ?3"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, import_id, limit, after], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Up to `limit` debts the portal made for a spontaneous payment (source `portal`, IUD `WEB-…`)
/// still `INSERIMENTO_DOVUTO` and made before `before`, oldest first: the unpaid ones the
/// housekeeping expires (read through the partial index `debt_portal_unpaid`).
pub fn list_unpaid_portal_debts(conn: &Conn, before: &str, limit: usize) -> Result<Vec<DebtRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE d.source = 'portal' AND d.state = 'INSERIMENTO_DOVUTO' AND d.created_at < ?1 \
         AND d.iud LIKE 'WEB-%' ORDER BY d.created_at, d.id LIMIT ?2"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map(params![before, limit], from_row)?.collect::<Result<_, _>>()?)
}

/// Up to `limit` debts whose payment started (`PAGAMENTO_INIZIATO`) before `before`, oldest start
/// first (partial index `debt_payment_started`): started and never told how it ended.
pub fn list_payments_started_before(conn: &Conn, before: &str, limit: usize) -> Result<Vec<DebtRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE d.state = 'PAGAMENTO_INIZIATO' AND d.payment_started_at < ?1 \
         ORDER BY d.payment_started_at, d.id LIMIT ?2"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map(params![before, limit], from_row)?.collect::<Result<_, _>>()?)
}

/// Records that debt flow `import_id` last wrote this debt.
pub fn update_debt_import(conn: &Conn, debt_id: i64, import_id: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt SET import_id = ?2 WHERE id = ?1")?
        .execute(params![debt_id, import_id])?;
    Ok(())
}

/// Whether debt flow `import_id` wrote a debt with this IUD (inserted, modified or annulled it).
pub fn import_wrote_iud(conn: &Conn, org_id: i64, iud: &str, import_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached("SELECT 1 FROM debt WHERE org_id = ?1 AND iud = ?2 AND import_id = ?3")?
        .exists(params![org_id, iud, import_id])?)
}

/// The two identifiers of a debt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Iud,
    Iuv,
}

/// Whether `value` is a live IUD or IUV (as `kind` says) of some debt of the org.
pub fn identifier_is_live(conn: &Conn, org_id: i64, kind: IdKind, value: &str) -> Result<bool, StoreError> {
    let sql = match kind {
        IdKind::Iud => "SELECT 1 FROM debt WHERE org_id = ?1 AND iud = ?2 AND released_id = 0",
        // A live IUV may be a debt's or one of its payment options' (version 29).
        IdKind::Iuv => {
            "SELECT 1 FROM debt WHERE org_id = ?1 AND iuv = ?2 AND released_id = 0 \
             UNION ALL SELECT 1 FROM debt_option WHERE org_id = ?1 AND iuv = ?2 AND released_id = 0"
        }
    };
    Ok(conn.sqlite().prepare_cached(sql)?.exists(params![org_id, value])?)
}

/// Whether an IUD, and an IUV when given, are live in the org: one statement for both, as an
/// import asks it once per row ([`DebtInserter::live_identifiers`]).
const LIVE_IDENTIFIERS: &str = "SELECT EXISTS (SELECT 1 FROM debt WHERE org_id = ?1 AND iud = ?2 AND released_id = 0), \
     ?3 IS NOT NULL AND (EXISTS (SELECT 1 FROM debt WHERE org_id = ?1 AND iuv = ?3 AND released_id = 0) \
     OR EXISTS (SELECT 1 FROM debt_option WHERE org_id = ?1 AND iuv = ?3 AND released_id = 0))";

/// Takes the next IUV17 counter value for (org, generator): it only grows, and since it is taken
/// inside the caller's transaction a rolled-back debt gives its number back unused, never twice.
#[cfg(test)]
pub fn next_iuv_counter(conn: &Conn, org_id: i64, generator_id: &str) -> Result<u64, StoreError> {
    reserve_iuv_counters(conn, org_id, generator_id, 1)
}

/// Takes `n` consecutive counter values at once and returns the first; the caller uses them in the
/// same transaction. Values it leaves unused are simply never issued (gaps, never reuse).
pub fn reserve_iuv_counters(conn: &Conn, org_id: i64, generator_id: &str, n: u64) -> Result<u64, StoreError> {
    let n = i64::try_from(n.max(1)).unwrap_or(1);
    let last: i64 = conn
        .sqlite()
        .prepare_cached(
            "INSERT INTO iuv_counter (org_id, generator_id, last_value) VALUES (?1, ?2, ?3) \
             ON CONFLICT (org_id, generator_id) DO UPDATE SET last_value = last_value + ?3 RETURNING last_value",
        )?
        .query_row(params![org_id, generator_id, n], |row| row.get(0))?;
    u64::try_from(last - n + 1)
        .map_err(|_| StoreError::Corrupt { column: "iuv_counter.last_value", reason: last.to_string() })
}

/// Gives back the unused end of a reservation: `last_value` goes from `reserved_last` down to
/// `used_last`, but only if nothing was taken after the reservation (always true inside the one
/// write transaction that reserved it).
pub fn release_iuv_counters(
    conn: &Conn,
    org_id: i64,
    generator_id: &str,
    reserved_last: u64,
    used_last: u64,
) -> Result<(), StoreError> {
    let (reserved, used) = (i64::try_from(reserved_last).unwrap_or(i64::MAX), i64::try_from(used_last).unwrap_or(0));
    conn.sqlite()
        .prepare_cached(
            "UPDATE iuv_counter SET last_value = ?4 WHERE org_id = ?1 AND generator_id = ?2 AND last_value = ?3",
        )?
        .execute(params![org_id, generator_id, reserved, used])?;
    Ok(())
}

/// The live (not annulled) debt with this IUD in the org.
pub fn find_debt_by_iud(conn: &Conn, org_id: i64, iud: &str) -> Result<Option<DebtRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE d.org_id = ?1 AND d.iud = ?2 AND d.released_id = 0");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, iud], from_row).optional()?)
}

/// The live debt with this IUV in the org.
pub fn find_debt_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Option<DebtRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE d.org_id = ?1 AND d.iuv = ?2 AND d.released_id = 0");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, iuv], from_row).optional()?)
}

/// The most recent debt that ever had this IUV in the org, annulled ones included: a receipt may
/// arrive for a debt the org has annulled meanwhile.
pub fn find_any_debt_by_iuv(conn: &Conn, org_id: i64, iuv: &str) -> Result<Option<DebtRecord>, StoreError> {
    // The id first, from the IUV's index alone: joined with the debt type and ordered by id, the
    // planner may prefer another index of the org's debts (a scan of all of them).
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE d.id = (SELECT max(id) FROM debt WHERE org_id = ?1 AND iuv = ?2)");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, iuv], from_row).optional()?)
}

/// Moves a debt to `state`, bumping its version.
pub fn update_debt_state(conn: &Conn, debt_id: i64, state: DebtState, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt SET state = ?2, updated_at = ?3, version = version + 1 WHERE id = ?1")?
        .execute(params![debt_id, state, now])?;
    Ok(())
}

/// Records that the Node asked for the payment data, and moves the debt to `state`.
pub fn update_payment_started(conn: &Conn, debt_id: i64, state: DebtState, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE debt SET state = ?2, payment_started_at = ?3, updated_at = ?3, version = version + 1 WHERE id = ?1",
        )?
        .execute(params![debt_id, state, now])?;
    Ok(())
}

/// Releases the identifiers of a debt (on annulment), so its IUD and IUV can be used again.
pub fn release_identifiers(conn: &Conn, debt: &DebtRecord) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached("UPDATE debt SET released_id = id WHERE id = ?1")?.execute([debt.id])?;
    // The position's other payment options go with it.
    super::debt_options::release_options(conn, debt.id)
}

/// Filters for [`list_debts`].
#[derive(Debug, Clone, Default)]
pub struct DebtFilter {
    pub state: Option<DebtState>,
    pub debt_type_code: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// Debts of the org, newest first.
pub fn list_debts(conn: &Conn, org_id: i64, filter: &DebtFilter) -> Result<Vec<DebtRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE d.org_id = :org_id AND (:state IS NULL OR d.state = :state) \
         AND (:code IS NULL OR t.code = :code) ORDER BY d.id DESC LIMIT :limit OFFSET :offset"
    );
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(
            named_params! {
                ":org_id": org_id, ":state": filter.state, ":code": filter.debt_type_code,
                ":limit": filter.limit, ":offset": filter.offset,
            },
            from_row,
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many debts the org has.
#[cfg(test)]
pub fn count_debts(conn: &Conn, org_id: i64) -> Result<i64, StoreError> {
    Ok(conn.sqlite().query_row("SELECT count(*) FROM debt WHERE org_id = ?1", [org_id], |row| row.get(0))?)
}

/// The debt with this id.
pub fn find_debt_by_id(conn: &Conn, debt_id: i64) -> Result<Option<DebtRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE d.id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([debt_id], from_row).optional()?)
}

/// The debts of one debtor across every org, in the given states, newest first.
pub fn list_debts_of_debtor(
    conn: &Conn,
    debtor_id: &str,
    states: &[DebtState],
    limit: u32,
) -> Result<Vec<DebtRecord>, StoreError> {
    let codes: Vec<&str> = states.iter().map(|state| state.code()).collect();
    let states =
        serde_json::to_string(&codes).map_err(|e| StoreError::Corrupt { column: "state", reason: e.to_string() })?;
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE d.debtor_id = ?1 AND d.state IN (SELECT value FROM json_each(?2)) \
         ORDER BY d.id DESC LIMIT ?3"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![debtor_id, states, limit], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Whether the debtor already has a paid debt of the type with this causale, updated since `since`
/// (the duplicate-payment warning, reference/mypay.md §1.3).
pub fn has_recent_paid_duplicate(
    conn: &Conn,
    org_id: i64,
    debt_type_id: i64,
    debtor_id: &str,
    causale: &str,
    since: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 FROM debt WHERE org_id = ?1 AND debt_type_id = ?2 AND debtor_id = ?3 AND causale = ?4 \
             AND state = 'COMPLETATO' AND updated_at >= ?5",
        )?
        .exists(params![org_id, debt_type_id, debtor_id, causale, since])?)
}

/// Every debt naming `debtor_id` as its debtor, in one org or all, newest first (a data subject's
/// access request), at most `limit`.
pub fn list_debts_of_subject(
    conn: &Conn,
    debtor_id: &str,
    org_id: Option<i64>,
    limit: u32,
) -> Result<Vec<DebtRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE d.debtor_id = ?1 AND (?2 IS NULL OR d.org_id = ?2) ORDER BY d.id DESC LIMIT ?3"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![debtor_id, org_id, limit], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Updates the debtor's contact data (address and e-mail) of one debt, bumping its version.
pub fn update_debtor_contact(conn: &Conn, d: &DebtRecord, now: &str) -> Result<(), StoreError> {
    let p = &d.debtor;
    conn.sqlite()
        .prepare_cached(
            "UPDATE debt SET debtor_address = ?2, debtor_civic_number = ?3, debtor_postal_code = ?4, \
             debtor_city = ?5, debtor_province = ?6, debtor_country = ?7, debtor_email = ?8, \
             version = version + 1, updated_at = ?9 WHERE id = ?1",
        )?
        .execute(params![
            d.id,
            p.address,
            p.civic_number,
            p.postal_code,
            p.city,
            p.province,
            p.country,
            p.email,
            now
        ])?;
    Ok(())
}

/// Replaces the debtor's identity and contact data of one debt (an erasure: [`Party`] anonymous),
/// bumping its version.
pub fn update_debtor_identity(conn: &Conn, d: &DebtRecord, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt SET debtor_id = ?2, debtor_name = ?3 WHERE id = ?1")?
        .execute(params![d.id, d.debtor.id, d.debtor.name])?;
    update_debtor_contact(conn, d, now)
}
