//! Orgs (enti) and their functionalities.
//!
//! Values arrive here already validated by `services::admin::orgs`; this file only moves them in and out
//! of the `org` and `org_functionality` tables.

use rusqlite::{OptionalExtension, Row, named_params};

use super::{Conn, StoreError};
use crate::domain::OrgState;

/// Every column of an org except the logo bytes, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgRecord {
    pub id: i64,
    pub ipa_code: String,
    pub fiscal_code: String,
    pub name: String,
    pub state: OrgState,
    pub segregation_code: String,
    pub application_code: Option<String>,
    pub generator_id: String,
    pub cbill_code: Option<String>,
    pub iban_bank: Option<String>,
    pub iban_postal: Option<String>,
    pub postal_account: Option<String>,
    pub postal_account_holder: Option<String>,
    pub poste_authorization: Option<String>,
    pub admin_email: Option<String>,
    pub address: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub info_text: Option<String>,
    pub back_url: Option<String>,
    /// Second language of the payment notices: `de`, `en`, or `None` for Italian only.
    pub notice_language: Option<String>,
    /// Whether a SIL password is set (the hash itself never leaves the store but through
    /// [`find_sil_password_hash`]).
    pub has_sil_password: bool,
    pub functionalities: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, ipa_code, fiscal_code, name, state, segregation_code, application_code, generator_id, \
     cbill_code, iban_bank, iban_postal, postal_account, postal_account_holder, poste_authorization, admin_email, \
     address, civic_number, postal_code, city, province, country, phone, website, email, info_text, back_url, \
     sil_password_hash IS NOT NULL, created_at, updated_at, notice_language";

const INSERT: &str = "INSERT INTO org (ipa_code, fiscal_code, name, state, segregation_code, application_code, \
     generator_id, cbill_code, iban_bank, iban_postal, postal_account, postal_account_holder, poste_authorization, \
     admin_email, address, civic_number, postal_code, city, province, country, phone, website, email, info_text, \
     back_url, notice_language, created_at, updated_at) VALUES (:ipa_code, :fiscal_code, :name, :state, :segregation_code, \
     :application_code, :generator_id, :cbill_code, :iban_bank, :iban_postal, :postal_account, \
     :postal_account_holder, :poste_authorization, :admin_email, :address, :civic_number, :postal_code, :city, \
     :province, :country, :phone, :website, :email, :info_text, :back_url, :notice_language, :now, :now)";

const UPDATE: &str = "UPDATE org SET fiscal_code = :fiscal_code, name = :name, state = :state, \
     segregation_code = :segregation_code, application_code = :application_code, generator_id = :generator_id, \
     cbill_code = :cbill_code, iban_bank = :iban_bank, iban_postal = :iban_postal, postal_account = :postal_account, \
     postal_account_holder = :postal_account_holder, poste_authorization = :poste_authorization, \
     admin_email = :admin_email, address = :address, civic_number = :civic_number, postal_code = :postal_code, \
     city = :city, province = :province, country = :country, phone = :phone, website = :website, email = :email, \
     info_text = :info_text, back_url = :back_url, notice_language = :notice_language, updated_at = :now \
     WHERE id = :id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<OrgRecord> {
    Ok(OrgRecord {
        id: row.get(0)?,
        ipa_code: row.get(1)?,
        fiscal_code: row.get(2)?,
        name: row.get(3)?,
        state: row.get(4)?,
        segregation_code: row.get(5)?,
        application_code: row.get(6)?,
        generator_id: row.get(7)?,
        cbill_code: row.get(8)?,
        iban_bank: row.get(9)?,
        iban_postal: row.get(10)?,
        postal_account: row.get(11)?,
        postal_account_holder: row.get(12)?,
        poste_authorization: row.get(13)?,
        admin_email: row.get(14)?,
        address: row.get(15)?,
        civic_number: row.get(16)?,
        postal_code: row.get(17)?,
        city: row.get(18)?,
        province: row.get(19)?,
        country: row.get(20)?,
        phone: row.get(21)?,
        website: row.get(22)?,
        email: row.get(23)?,
        info_text: row.get(24)?,
        back_url: row.get(25)?,
        notice_language: row.get(29)?,
        has_sil_password: row.get(26)?,
        functionalities: Vec::new(),
        created_at: row.get(27)?,
        updated_at: row.get(28)?,
    })
}

fn with_functionalities(conn: &Conn, mut org: OrgRecord) -> Result<OrgRecord, StoreError> {
    let mut stmt = conn
        .sqlite()
        .prepare_cached("SELECT code FROM org_functionality WHERE org_id = ?1 AND active = 1 ORDER BY code")?;
    org.functionalities = stmt.query_map([org.id], |row| row.get(0))?.collect::<Result<_, _>>()?;
    Ok(org)
}

/// Inserts a new org and returns its id.
pub fn insert_org(conn: &Conn, org: &OrgRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .execute(
            INSERT,
            named_params! {
                ":ipa_code": org.ipa_code, ":fiscal_code": org.fiscal_code, ":name": org.name, ":state": org.state,
                ":segregation_code": org.segregation_code, ":application_code": org.application_code,
                ":generator_id": org.generator_id, ":cbill_code": org.cbill_code, ":iban_bank": org.iban_bank,
                ":iban_postal": org.iban_postal, ":postal_account": org.postal_account,
                ":postal_account_holder": org.postal_account_holder, ":poste_authorization": org.poste_authorization,
                ":admin_email": org.admin_email, ":address": org.address, ":civic_number": org.civic_number,
                ":postal_code": org.postal_code, ":city": org.city, ":province": org.province, ":country": org.country,
                ":phone": org.phone, ":website": org.website, ":email": org.email, ":info_text": org.info_text,
                ":back_url": org.back_url, ":notice_language": org.notice_language, ":now": now,
            },
        )
        .map_err(StoreError::from_sqlite)?;
    let id = conn.sqlite().last_insert_rowid();
    set_functionalities(conn, id, &org.functionalities)?;
    Ok(id)
}

/// Replaces every editable column of the org `org.id`.
pub fn update_org(conn: &Conn, org: &OrgRecord, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .execute(
            UPDATE,
            named_params! {
                ":id": org.id, ":fiscal_code": org.fiscal_code, ":name": org.name, ":state": org.state,
                ":segregation_code": org.segregation_code, ":application_code": org.application_code,
                ":generator_id": org.generator_id, ":cbill_code": org.cbill_code, ":iban_bank": org.iban_bank,
                ":iban_postal": org.iban_postal, ":postal_account": org.postal_account,
                ":postal_account_holder": org.postal_account_holder, ":poste_authorization": org.poste_authorization,
                ":admin_email": org.admin_email, ":address": org.address, ":civic_number": org.civic_number,
                ":postal_code": org.postal_code, ":city": org.city, ":province": org.province, ":country": org.country,
                ":phone": org.phone, ":website": org.website, ":email": org.email, ":info_text": org.info_text,
                ":back_url": org.back_url, ":notice_language": org.notice_language, ":now": now,
            },
        )
        .map_err(StoreError::from_sqlite)?;
    set_functionalities(conn, org.id, &org.functionalities)
}

fn set_functionalities(conn: &Conn, org_id: i64, codes: &[String]) -> Result<(), StoreError> {
    conn.sqlite().execute("DELETE FROM org_functionality WHERE org_id = ?1", [org_id])?;
    let mut stmt =
        conn.sqlite().prepare_cached("INSERT INTO org_functionality (org_id, code, active) VALUES (?1, ?2, 1)")?;
    for code in codes {
        stmt.execute(rusqlite::params![org_id, code]).map_err(StoreError::from_sqlite)?;
    }
    Ok(())
}

/// Stores the argon2id hash of the org's SIL password.
pub fn update_sil_password_hash(conn: &Conn, org_id: i64, hash: &str, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE org SET sil_password_hash = ?2, updated_at = ?3 WHERE id = ?1",
        rusqlite::params![org_id, hash, now],
    )?;
    Ok(())
}

/// The SIL password hash of an org, when one is set.
pub fn find_sil_password_hash(conn: &Conn, org_id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .sqlite()
        .query_row("SELECT sil_password_hash FROM org WHERE id = ?1", [org_id], |row| row.get(0))
        .optional()?
        .flatten())
}

/// The org with this IPA code (case-insensitive, as MyPay compares them).
pub fn find_org_by_ipa(conn: &Conn, ipa_code: &str) -> Result<Option<OrgRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org WHERE ipa_code = ?1 COLLATE NOCASE");
    let org = conn.sqlite().prepare_cached(&sql)?.query_row([ipa_code], from_row).optional()?;
    org.map(|org| with_functionalities(conn, org)).transpose()
}

/// The org with this id.
pub fn find_org_by_id(conn: &Conn, id: i64) -> Result<Option<OrgRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org WHERE id = ?1");
    let org = conn.sqlite().prepare_cached(&sql)?.query_row([id], from_row).optional()?;
    org.map(|org| with_functionalities(conn, org)).transpose()
}

/// The org with this fiscal code (pagoPA idPA).
pub fn find_org_by_fiscal_code(conn: &Conn, fiscal_code: &str) -> Result<Option<OrgRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org WHERE fiscal_code = ?1");
    let org = conn.sqlite().prepare_cached(&sql)?.query_row([fiscal_code], from_row).optional()?;
    org.map(|org| with_functionalities(conn, org)).transpose()
}

/// Every org, by name.
pub fn list_orgs(conn: &Conn) -> Result<Vec<OrgRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org ORDER BY name, ipa_code");
    let orgs: Vec<OrgRecord> =
        conn.sqlite().prepare_cached(&sql)?.query_map([], from_row)?.collect::<Result<_, _>>()?;
    orgs.into_iter().map(|org| with_functionalities(conn, org)).collect()
}

/// Orgs in `ESERCIZIO`, the ones that accept payments, by name.
pub fn list_orgs_in_production(conn: &Conn) -> Result<Vec<OrgRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org WHERE state = 'ESERCIZIO' ORDER BY name, ipa_code");
    let orgs: Vec<OrgRecord> =
        conn.sqlite().prepare_cached(&sql)?.query_map([], from_row)?.collect::<Result<_, _>>()?;
    orgs.into_iter().map(|org| with_functionalities(conn, org)).collect()
}

/// An org's logo as stored: the image bytes and their MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoRecord {
    pub bytes: Vec<u8>,
    pub mime: String,
}

/// The logo of org `org_id`, when one is stored with its MIME type.
pub fn find_org_logo(conn: &Conn, org_id: i64) -> Result<Option<LogoRecord>, StoreError> {
    let row: Option<(Option<Vec<u8>>, Option<String>)> = conn
        .sqlite()
        .prepare_cached("SELECT logo, logo_mime FROM org WHERE id = ?1")?
        .query_row([org_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((Some(bytes), Some(mime))) if !bytes.is_empty() => Some(LogoRecord { bytes, mime }),
        _ => None,
    })
}

/// Stores (or, with `None`, removes) the logo of org `org_id`.
pub fn update_org_logo(conn: &Conn, org_id: i64, logo: Option<&LogoRecord>, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE org SET logo = ?2, logo_mime = ?3, updated_at = ?4 WHERE id = ?1",
        rusqlite::params![org_id, logo.map(|l| &l.bytes), logo.map(|l| &l.mime), now],
    )?;
    Ok(())
}
