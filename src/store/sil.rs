//! SIL sessions of the redirect flow: what a paaSILInviaDovuti (or carrello, or VerificaAvviso)
//! left for the citizen's landing page, and the cart it became.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};
use crate::domain::{Cents, Day, Iuv};

/// A SIL session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SilSessionRecord {
    pub id: i64,
    pub id_session: String,
    pub token: String,
    pub org_id: i64,
    pub kind: String,
    pub show_mode: String,
    pub back_url: Option<String>,
    pub payer_email: Option<String>,
    pub payload: String,
    pub cart_id: Option<i64>,
    pub created_at: String,
    pub expires_at: String,
}

const COLUMNS: &str =
    "id, id_session, token, org_id, kind, show_mode, back_url, payer_email, payload, cart_id, created_at, expires_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<SilSessionRecord> {
    Ok(SilSessionRecord {
        id: row.get(0)?,
        id_session: row.get(1)?,
        token: row.get(2)?,
        org_id: row.get(3)?,
        kind: row.get(4)?,
        show_mode: row.get(5)?,
        back_url: row.get(6)?,
        payer_email: row.get(7)?,
        payload: row.get(8)?,
        cart_id: row.get(9)?,
        created_at: row.get(10)?,
        expires_at: row.get(11)?,
    })
}

/// Inserts a session; returns its id.
pub fn insert_sil_session(conn: &Conn, s: &SilSessionRecord) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO sil_session (id_session, token, org_id, kind, show_mode, back_url, payer_email, payload, \
         created_at, expires_at) VALUES (:id_session, :token, :org, :kind, :show, :back, :email, :payload, :created, \
         :expires)",
        )?
        .execute(named_params! {
            ":id_session": s.id_session, ":token": s.token, ":org": s.org_id, ":kind": s.kind, ":show": s.show_mode,
            ":back": s.back_url, ":email": s.payer_email, ":payload": s.payload, ":created": s.created_at,
            ":expires": s.expires_at,
        })
        .map_err(StoreError::from_sqlite)?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The session with this idSession.
pub fn find_sil_session(conn: &Conn, id_session: &str) -> Result<Option<SilSessionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sil_session WHERE id_session = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([id_session], from_row).optional()?)
}

/// The session whose landing URL carries this token.
pub fn find_sil_session_by_token(conn: &Conn, token: &str) -> Result<Option<SilSessionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sil_session WHERE token = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([token], from_row).optional()?)
}

/// Links a session to the cart it became; returns false when it already had one (a second
/// confirmation of the same landing page).
pub fn update_sil_session_cart(conn: &Conn, id: i64, cart_id: i64) -> Result<bool, StoreError> {
    let n = conn
        .sqlite()
        .prepare_cached("UPDATE sil_session SET cart_id = ?2 WHERE id = ?1 AND cart_id IS NULL")?
        .execute(params![id, cart_id])?;
    Ok(n == 1)
}

/// A flow upload authorized by `paaSILAutorizzaImportFlusso`, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SilUploadRecord {
    pub request_token: String,
    pub org_id: i64,
    pub import_id: Option<i64>,
    pub used_at: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    /// MyPivot's reconciliation kind (`T`, `C`, `O`, `Y`, `D`); `None`: a MyPay debt flow.
    pub recon_kind: Option<String>,
    /// The reconciliation upload it became.
    pub recon_upload_id: Option<i64>,
}

/// Records an authorized upload.
pub fn insert_sil_upload(conn: &Conn, u: &SilUploadRecord) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO sil_upload (request_token, org_id, created_at, expires_at, recon_kind) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![u.request_token, u.org_id, u.created_at, u.expires_at, u.recon_kind])
        .map_err(StoreError::from_sqlite)?;
    Ok(())
}

/// The authorized upload with this request token.
pub fn find_sil_upload(conn: &Conn, request_token: &str) -> Result<Option<SilUploadRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT request_token, org_id, import_id, used_at, created_at, expires_at, recon_kind, recon_upload_id \
             FROM sil_upload WHERE request_token = ?1",
        )?
        .query_row([request_token], |row| {
            Ok(SilUploadRecord {
                request_token: row.get(0)?,
                org_id: row.get(1)?,
                import_id: row.get(2)?,
                used_at: row.get(3)?,
                created_at: row.get(4)?,
                expires_at: row.get(5)?,
                recon_kind: row.get(6)?,
                recon_upload_id: row.get(7)?,
            })
        })
        .optional()?)
}

/// Marks an upload used; returns false when it already was (a token works once).
pub fn update_sil_upload_used(conn: &Conn, request_token: &str, now: &str) -> Result<bool, StoreError> {
    let n = conn
        .sqlite()
        .prepare_cached("UPDATE sil_upload SET used_at = ?2 WHERE request_token = ?1 AND used_at IS NULL")?
        .execute(params![request_token, now])?;
    Ok(n == 1)
}

/// Links an upload to the import it became.
pub fn update_sil_upload_import(conn: &Conn, request_token: &str, import_id: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE sil_upload SET import_id = ?2 WHERE request_token = ?1")?
        .execute(params![request_token, import_id])?;
    Ok(())
}

/// Links a MyPivot upload to the reconciliation upload it became.
pub fn update_sil_upload_recon(conn: &Conn, request_token: &str, upload_id: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE sil_upload SET recon_upload_id = ?2 WHERE request_token = ?1")?
        .execute(params![request_token, upload_id])?;
    Ok(())
}

/// Ids of org `org_id`'s debts still to pay that have a notice and were created in
/// [`from`, `to`) (ISO timestamps), oldest first (paaSILChiediAvvisiPendenti).
pub fn list_pending_debt_ids(
    conn: &Conn,
    org_id: i64,
    from: &str,
    to: &str,
    limit: u32,
) -> Result<Vec<i64>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT id FROM debt WHERE org_id = ?1 AND state = 'INSERIMENTO_DOVUTO' AND notice_number IS NOT NULL \
             AND created_at >= ?2 AND created_at < ?3 ORDER BY id LIMIT ?4",
        )?
        .query_map(params![org_id, from, to, limit], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

/// A payment made outside pagoPA, as `paaSILRegistraPagamento` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalPaymentRecord {
    pub org_id: i64,
    pub debt_id: i64,
    /// The IUV of the debt it pays.
    pub iuv: Iuv,
    pub context_code: Option<String>,
    pub amount_cents: Cents,
    pub outcome_date: Day,
    pub payment_index: Option<i64>,
    pub collection_id: String,
    pub attestor_kind: String,
    pub attestor_code: String,
    pub attestor_name: String,
    pub recorded_by: String,
}

/// Records an external payment; `false` when the same (org, IUV, collection id) was recorded
/// already (a replay).
pub fn insert_external_payment(conn: &Conn, p: &ExternalPaymentRecord, now: &str) -> Result<bool, StoreError> {
    let n = conn
        .sqlite()
        .prepare_cached(
            "INSERT INTO external_payment (org_id, debt_id, iuv, context_code, amount_cents, outcome_date, \
             payment_index, collection_id, attestor_kind, attestor_code, attestor_name, recorded_by, created_at) \
             VALUES (:org, :debt, :iuv, :ccp, :amount, :date, :idx, :coll, :kind, :code, :name, :by, :now) \
             ON CONFLICT (org_id, iuv, collection_id) DO NOTHING",
        )?
        .execute(named_params! {
            ":org": p.org_id, ":debt": p.debt_id, ":iuv": p.iuv, ":ccp": p.context_code, ":amount": p.amount_cents,
            ":date": p.outcome_date, ":idx": p.payment_index, ":coll": p.collection_id, ":kind": p.attestor_kind,
            ":code": p.attestor_code, ":name": p.attestor_name, ":by": p.recorded_by, ":now": now,
        })?;
    Ok(n == 1)
}
