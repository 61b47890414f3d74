//! The outcome push (reference/mypay.md §4.8): each org's push target (`org_push`) and the push of
//! each receipt (`outcome_push`) with its attempts. When and how to push is
//! `crate::services::payments::outcome_push`'s.
//!
//! [`PushState`] lives here, beside the record, and not in `domain`: it is delivery bookkeeping
//! (retry until sent or out of attempts), with no business rule of its own.
//!
//! The push secret (the HS512 key of the bearer JWT) is stored sealed with the key file (`keys`),
//! bound to its org, and read apart from the target ([`find_push_secret`]): only a delivery opens
//! it, so a secret that no longer opens fails deliveries with the reason and can still be replaced,
//! and a receipt that queues a push never depends on it.

use rusqlite::{OptionalExtension, Row, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};

/// Where the push of one receipt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PushState {
    /// `pending`: not delivered yet, attempts left; the state every push starts in.
    #[default]
    Pending,
    /// `sent`: the org's system accepted it. Final.
    Sent,
    /// `failed`: every attempt failed. Final.
    Failed,
}

impl PushState {
    /// Every state.
    pub const ALL: [PushState; 3] = [PushState::Pending, PushState::Sent, PushState::Failed];

    /// The stored code, also the `state` of the CLI's and the API's JSON.
    pub const fn code(self) -> &'static str {
        match self {
            PushState::Pending => "pending",
            PushState::Sent => "sent",
            PushState::Failed => "failed",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<PushState> {
        PushState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(PushState, "outcome_push.state");

/// Where `org_push.secret` is sealed for: the column, bound with the org's id.
const SECRET_COLUMN: &str = "org_push.secret";

/// An org's push target, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushTargetRecord {
    pub org_id: i64,
    pub url: String,
    /// Whether a bearer key is stored (read it with [`find_push_secret`]); `false`: no
    /// Authorization header. Not written by [`update_push_target`].
    pub signed: bool,
    /// Delay before the first retry, in seconds; each later one doubles it.
    pub retry_seconds: i64,
    /// The bearer JWT's identity, as a regional MyPay's push carries it: header `kid`, claims `iss`
    /// and `sub`; `None`: no `kid`, `iss` mypay, `sub` the org's IPA code.
    pub jwt_kid: Option<String>,
    pub jwt_iss: Option<String>,
    pub jwt_sub: Option<String>,
}

/// The push of one receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PushRecord {
    pub id: i64,
    pub org_id: i64,
    /// `receipt.id`.
    pub receipt_id: i64,
    pub state: PushState,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub created_at: String,
    /// Joined in from `receipt` on reads: text, as the receipt holds it (see `ReceiptRecord::iuv`).
    pub iuv: String,
    /// The receipt's pagoPA receiptId, joined in on reads.
    pub receipt_code: String,
}

/// The push target of an org, if it has one.
pub fn find_push_target(conn: &Conn, org_id: i64) -> Result<Option<PushTargetRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT org_id, url, secret IS NOT NULL, retry_seconds, jwt_kid, jwt_iss, jwt_sub FROM org_push \
             WHERE org_id = ?1",
        )?
        .query_row([org_id], |row| {
            Ok(PushTargetRecord {
                org_id: row.get(0)?,
                url: row.get(1)?,
                signed: row.get(2)?,
                retry_seconds: row.get(3)?,
                jwt_kid: row.get(4)?,
                jwt_iss: row.get(5)?,
                jwt_sub: row.get(6)?,
            })
        })
        .optional()?)
}

/// The push secret of an org (base64 HS512 key), opened; `None` when it has no target or no
/// secret. One that does not open (altered, or sealed with another key file) is
/// [`StoreError::Corrupt`].
pub fn find_push_secret(conn: &Conn, org_id: i64) -> Result<Option<String>, StoreError> {
    let sealed: Option<Option<String>> = conn
        .sqlite()
        .prepare_cached("SELECT secret FROM org_push WHERE org_id = ?1")?
        .query_row([org_id], |row| row.get(0))
        .optional()?;
    sealed.flatten().map(|sealed| conn.keys().open(SECRET_COLUMN, org_id, &sealed)).transpose()
}

/// Creates an org's push target (without a secret) or changes its URL, retry delay and JWT
/// identity; the secret, if any, stays.
pub fn update_push_target(conn: &Conn, target: &PushTargetRecord, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "INSERT INTO org_push (org_id, url, retry_seconds, updated_at, jwt_kid, jwt_iss, jwt_sub) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (org_id) DO UPDATE SET url = excluded.url, retry_seconds = excluded.retry_seconds, \
         updated_at = excluded.updated_at, jwt_kid = excluded.jwt_kid, jwt_iss = excluded.jwt_iss, \
         jwt_sub = excluded.jwt_sub",
        params![target.org_id, target.url, target.retry_seconds, now, target.jwt_kid, target.jwt_iss, target.jwt_sub],
    )?;
    Ok(())
}

/// Sets (sealed) or removes (`None`) the secret of an org's existing push target.
pub fn update_push_secret(conn: &Conn, org_id: i64, secret: Option<&str>, now: &str) -> Result<(), StoreError> {
    let sealed = secret.map(|secret| conn.keys().seal(SECRET_COLUMN, org_id, secret)).transpose()?;
    conn.sqlite()
        .execute("UPDATE org_push SET secret = ?2, updated_at = ?3 WHERE org_id = ?1", params![org_id, sealed, now])?;
    Ok(())
}

/// Removes the push targets whose secret is sealed (`keys::forget_sealed`, for a lost key file);
/// returns the IPA codes of their orgs.
pub(super) fn forget_sealed_secrets(conn: &rusqlite::Connection) -> Result<Vec<String>, StoreError> {
    let orgs: Vec<String> = conn
        .prepare(
            "SELECT o.ipa_code FROM org_push p JOIN org o ON o.id = p.org_id WHERE p.secret IS NOT NULL \
             ORDER BY o.ipa_code",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    conn.execute("DELETE FROM org_push WHERE secret IS NOT NULL", [])?;
    Ok(orgs)
}

/// Seals the secrets a database before `migrate::SEALED_SINCE` kept in clear, in the upgrade's
/// transaction; returns how many.
pub(super) fn seal_clear_secrets(conn: &Conn) -> Result<usize, StoreError> {
    let clear: Vec<(i64, String)> = conn
        .sqlite()
        .prepare("SELECT org_id, secret FROM org_push WHERE secret IS NOT NULL")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (org_id, secret) in &clear {
        let sealed = conn.keys().seal(SECRET_COLUMN, *org_id, secret)?;
        conn.sqlite().execute("UPDATE org_push SET secret = ?2 WHERE org_id = ?1", params![org_id, sealed])?;
    }
    Ok(clear.len())
}

/// Removes an org's push target: later receipts are not pushed.
pub fn delete_push_target(conn: &Conn, org_id: i64) -> Result<(), StoreError> {
    conn.sqlite().execute("DELETE FROM org_push WHERE org_id = ?1", [org_id])?;
    Ok(())
}

/// Records a pending push of a receipt, to be tried up to `max_attempts` times; returns its id.
pub fn insert_push(conn: &Conn, org_id: i64, receipt_id: i64, max_attempts: i64, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO outcome_push (org_id, receipt_id, state, max_attempts, created_at) \
         VALUES (?1, ?2, 'pending', ?3, ?4)",
        )?
        .execute(params![org_id, receipt_id, max_attempts, now])?;
    Ok(conn.sqlite().last_insert_rowid())
}

const COLUMNS: &str = "p.id, p.org_id, p.receipt_id, p.state, p.attempts, p.max_attempts, p.last_error, \
     p.last_attempt_at, p.sent_at, p.created_at, r.iuv, r.receipt_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<PushRecord> {
    Ok(PushRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        receipt_id: row.get(2)?,
        state: row.get(3)?,
        attempts: row.get(4)?,
        max_attempts: row.get(5)?,
        last_error: row.get(6)?,
        last_attempt_at: row.get(7)?,
        sent_at: row.get(8)?,
        created_at: row.get(9)?,
        iuv: row.get(10)?,
        receipt_code: row.get(11)?,
    })
}

/// The push with this id.
pub fn find_push(conn: &Conn, id: i64) -> Result<Option<PushRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM outcome_push p JOIN receipt r ON r.id = p.receipt_id WHERE p.id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// The push of one receipt, if it was queued.
pub fn find_push_of_receipt(conn: &Conn, receipt_id: i64) -> Result<Option<PushRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM outcome_push p JOIN receipt r ON r.id = p.receipt_id WHERE p.receipt_id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([receipt_id], from_row).optional()?)
}

/// An org's pushes, newest first.
pub fn list_pushes(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<PushRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outcome_push p JOIN receipt r ON r.id = p.receipt_id WHERE p.org_id = ?1 \
         ORDER BY p.id DESC LIMIT ?2"
    );
    let rows =
        conn.sqlite().prepare_cached(&sql)?.query_map(params![org_id, limit], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Records one attempt: `state` is where the push now stands, `error` what a failed attempt got.
pub fn update_push_attempt(
    conn: &Conn,
    id: i64,
    state: PushState,
    error: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE outcome_push SET state = ?2, attempts = attempts + 1, last_error = coalesce(?3, last_error), \
         last_attempt_at = ?4, sent_at = CASE WHEN ?2 = 'sent' THEN ?4 ELSE sent_at END WHERE id = ?1",
        params![id, state, error, now],
    )?;
    Ok(())
}
