//! Debt types (tipi dovuto), per org.

use rusqlite::{OptionalExtension, Row, named_params};

use super::{Conn, StoreError};
use crate::domain::Cents;

/// A debt type as stored. Booleans are flags of MyPay's `mygov_ente_tipo_dovuto`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DebtTypeRecord {
    pub id: i64,
    pub org_id: i64,
    pub code: String,
    pub description: String,
    pub iban_bank: Option<String>,
    pub iban_postal: Option<String>,
    pub postal_account: Option<String>,
    pub postal_account_holder: Option<String>,
    pub spontaneous: bool,
    pub fixed_amount_cents: Option<Cents>,
    pub form_definition: Option<String>,
    pub external_payment_url: Option<String>,
    pub default_bilancio: Option<String>,
    pub allow_anonymous: bool,
    pub due_date_mandatory: bool,
    pub print_due_date: bool,
    pub sector: Option<String>,
    pub notify_io: bool,
    pub push_outcome: bool,
    pub max_push_attempts: i64,
    pub disable_notice_print: bool,
    pub taxonomy_code: String,
    pub active: bool,
    /// idServizio of the pagoPA service catalogue, for paDemandPaymentNotice.
    pub catalog_service_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, org_id, code, description, iban_bank, iban_postal, postal_account, \
     postal_account_holder, spontaneous, fixed_amount_cents, form_definition, external_payment_url, \
     default_bilancio, allow_anonymous, due_date_mandatory, print_due_date, sector, notify_io, push_outcome, \
     max_push_attempts, disable_notice_print, taxonomy_code, active, created_at, updated_at, catalog_service_id";

const INSERT: &str = "INSERT INTO debt_type (org_id, code, description, iban_bank, iban_postal, postal_account, \
     postal_account_holder, spontaneous, fixed_amount_cents, form_definition, external_payment_url, \
     default_bilancio, allow_anonymous, due_date_mandatory, print_due_date, sector, notify_io, push_outcome, \
     max_push_attempts, disable_notice_print, taxonomy_code, active, catalog_service_id, created_at, updated_at) \
     VALUES (:org_id, \
     :code, :description, :iban_bank, :iban_postal, :postal_account, :postal_account_holder, :spontaneous, \
     :fixed_amount_cents, :form_definition, :external_payment_url, :default_bilancio, :allow_anonymous, \
     :due_date_mandatory, :print_due_date, :sector, :notify_io, :push_outcome, :max_push_attempts, \
     :disable_notice_print, :taxonomy_code, :active, :catalog_service_id, :now, :now)";

const UPDATE: &str = "UPDATE debt_type SET description = :description, iban_bank = :iban_bank, \
     iban_postal = :iban_postal, postal_account = :postal_account, postal_account_holder = :postal_account_holder, \
     spontaneous = :spontaneous, fixed_amount_cents = :fixed_amount_cents, form_definition = :form_definition, \
     external_payment_url = :external_payment_url, default_bilancio = :default_bilancio, \
     allow_anonymous = :allow_anonymous, due_date_mandatory = :due_date_mandatory, \
     print_due_date = :print_due_date, sector = :sector, notify_io = :notify_io, push_outcome = :push_outcome, \
     max_push_attempts = :max_push_attempts, disable_notice_print = :disable_notice_print, \
     taxonomy_code = :taxonomy_code, active = :active, catalog_service_id = :catalog_service_id, updated_at = :now \
     WHERE id = :id AND org_id = :org_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<DebtTypeRecord> {
    Ok(DebtTypeRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        code: row.get(2)?,
        description: row.get(3)?,
        iban_bank: row.get(4)?,
        iban_postal: row.get(5)?,
        postal_account: row.get(6)?,
        postal_account_holder: row.get(7)?,
        spontaneous: row.get(8)?,
        fixed_amount_cents: row.get(9)?,
        form_definition: row.get(10)?,
        external_payment_url: row.get(11)?,
        default_bilancio: row.get(12)?,
        allow_anonymous: row.get(13)?,
        due_date_mandatory: row.get(14)?,
        print_due_date: row.get(15)?,
        sector: row.get(16)?,
        notify_io: row.get(17)?,
        push_outcome: row.get(18)?,
        max_push_attempts: row.get(19)?,
        disable_notice_print: row.get(20)?,
        taxonomy_code: row.get(21)?,
        active: row.get(22)?,
        created_at: row.get(23)?,
        updated_at: row.get(24)?,
        catalog_service_id: row.get(25)?,
    })
}

/// Inserts a debt type and returns its id.
pub fn insert_debt_type(conn: &Conn, t: &DebtTypeRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .execute(
            INSERT,
            named_params! {
                ":org_id": t.org_id, ":code": t.code, ":description": t.description, ":iban_bank": t.iban_bank,
                ":iban_postal": t.iban_postal, ":postal_account": t.postal_account,
                ":postal_account_holder": t.postal_account_holder, ":spontaneous": t.spontaneous,
                ":fixed_amount_cents": t.fixed_amount_cents, ":form_definition": t.form_definition,
                ":external_payment_url": t.external_payment_url, ":default_bilancio": t.default_bilancio,
                ":allow_anonymous": t.allow_anonymous, ":due_date_mandatory": t.due_date_mandatory,
                ":print_due_date": t.print_due_date, ":sector": t.sector, ":notify_io": t.notify_io,
                ":push_outcome": t.push_outcome, ":max_push_attempts": t.max_push_attempts,
                ":disable_notice_print": t.disable_notice_print, ":taxonomy_code": t.taxonomy_code,
                ":active": t.active, ":catalog_service_id": t.catalog_service_id, ":now": now,
            },
        )
        .map_err(StoreError::from_sqlite)?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Replaces the editable columns of debt type `t.id` (its org and code never change).
pub fn update_debt_type(conn: &Conn, t: &DebtTypeRecord, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .execute(
            UPDATE,
            named_params! {
                ":id": t.id, ":org_id": t.org_id, ":description": t.description, ":iban_bank": t.iban_bank,
                ":iban_postal": t.iban_postal, ":postal_account": t.postal_account,
                ":postal_account_holder": t.postal_account_holder, ":spontaneous": t.spontaneous,
                ":fixed_amount_cents": t.fixed_amount_cents, ":form_definition": t.form_definition,
                ":external_payment_url": t.external_payment_url, ":default_bilancio": t.default_bilancio,
                ":allow_anonymous": t.allow_anonymous, ":due_date_mandatory": t.due_date_mandatory,
                ":print_due_date": t.print_due_date, ":sector": t.sector, ":notify_io": t.notify_io,
                ":push_outcome": t.push_outcome, ":max_push_attempts": t.max_push_attempts,
                ":disable_notice_print": t.disable_notice_print, ":taxonomy_code": t.taxonomy_code,
                ":active": t.active, ":catalog_service_id": t.catalog_service_id, ":now": now,
            },
        )
        .map_err(StoreError::from_sqlite)?;
    Ok(())
}

/// The debt type `code` of org `org_id`.
pub fn find_debt_type(conn: &Conn, org_id: i64, code: &str) -> Result<Option<DebtTypeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM debt_type WHERE org_id = ?1 AND code = ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(rusqlite::params![org_id, code], from_row).optional()?)
}

/// The debt type with this id, within org `org_id` (never another org's).
pub fn find_debt_type_by_id(conn: &Conn, org_id: i64, id: i64) -> Result<Option<DebtTypeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM debt_type WHERE org_id = ?1 AND id = ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(rusqlite::params![org_id, id], from_row).optional()?)
}

/// The debt type of the org offered in the pagoPA service catalogue as `service_id`.
pub fn find_debt_type_by_service(
    conn: &Conn,
    org_id: i64,
    service_id: &str,
) -> Result<Option<DebtTypeRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM debt_type WHERE org_id = ?1 AND catalog_service_id = ?2 ORDER BY id LIMIT 1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(rusqlite::params![org_id, service_id], from_row).optional()?)
}

/// Every debt type of the org, by code.
pub fn list_debt_types(conn: &Conn, org_id: i64) -> Result<Vec<DebtTypeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM debt_type WHERE org_id = ?1 ORDER BY code");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map([org_id], from_row)?.collect::<Result<_, _>>()?)
}
