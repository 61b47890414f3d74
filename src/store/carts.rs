//! Carts sent to pagoPA Checkout, their items, and privacy notice acceptances recorded when a
//! payment starts.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};
use crate::domain::{CartState, Cents, NoticeNumber};

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CartRecord {
    pub id: i64,
    pub token: String,
    pub session_hash: String,
    pub state: CartState,
    pub checkout_url: Option<String>,
    pub payer_email: Option<String>,
    pub citizen_id: Option<String>,
    pub total_cents: Cents,
    pub mail_queued: bool,
    pub created_at: String,
    pub updated_at: String,
    pub items: Vec<CartItemRecord>,
}

/// One debt of a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItemRecord {
    pub position: i64,
    pub org_id: i64,
    pub debt_id: i64,
    /// `None` for a debt the Region creates at its own checkout (upstream mode).
    pub notice_number: Option<NoticeNumber>,
    pub amount_cents: Cents,
}

const COLUMNS: &str = "id, token, session_hash, state, checkout_url, payer_email, citizen_id, total_cents, \
     mail_queued, created_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<CartRecord> {
    Ok(CartRecord {
        id: row.get(0)?,
        token: row.get(1)?,
        session_hash: row.get(2)?,
        state: row.get(3)?,
        checkout_url: row.get(4)?,
        payer_email: row.get(5)?,
        citizen_id: row.get(6)?,
        total_cents: row.get(7)?,
        mail_queued: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        items: Vec::new(),
    })
}

/// Inserts a cart and its items; returns its id.
pub fn insert_cart(conn: &Conn, c: &CartRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO cart (token, session_hash, state, checkout_url, payer_email, citizen_id, total_cents, \
         created_at, updated_at) VALUES (:token, :session, :state, :url, :email, :citizen, :total, :now, :now)",
        )?
        .execute(named_params! {
            ":token": c.token, ":session": c.session_hash, ":state": c.state, ":url": c.checkout_url,
            ":email": c.payer_email, ":citizen": c.citizen_id, ":total": c.total_cents, ":now": now,
        })
        .map_err(StoreError::from_sqlite)?;
    let id = conn.sqlite().last_insert_rowid();
    let mut stmt = conn.sqlite().prepare_cached(
        "INSERT INTO cart_item (cart_id, position, org_id, debt_id, notice_number, amount_cents) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for item in &c.items {
        stmt.execute(params![id, item.position, item.org_id, item.debt_id, item.notice_number, item.amount_cents])
            .map_err(StoreError::from_sqlite)?;
    }
    Ok(id)
}

/// The cart with this token, with its items.
pub fn find_cart_by_token(conn: &Conn, token: &str) -> Result<Option<CartRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM cart WHERE token = ?1");
    let Some(mut cart) = conn.sqlite().prepare_cached(&sql)?.query_row([token], from_row).optional()? else {
        return Ok(None);
    };
    cart.items = conn
        .sqlite()
        .prepare_cached(
            "SELECT position, org_id, debt_id, notice_number, amount_cents FROM cart_item WHERE cart_id = ?1 \
             ORDER BY position",
        )?
        .query_map([cart.id], |row| {
            Ok(CartItemRecord {
                position: row.get(0)?,
                org_id: row.get(1)?,
                debt_id: row.get(2)?,
                notice_number: row.get(3)?,
                amount_cents: row.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(cart))
}

/// The cart with this id, with its items.
pub fn find_cart_by_id(conn: &Conn, cart_id: i64) -> Result<Option<CartRecord>, StoreError> {
    let token: Option<String> = conn
        .sqlite()
        .prepare_cached("SELECT token FROM cart WHERE id = ?1")?
        .query_row([cart_id], |r| r.get(0))
        .optional()?;
    match token {
        Some(token) => find_cart_by_token(conn, &token),
        None => Ok(None),
    }
}

/// Moves a cart to `state` and records where Checkout sent the browser.
pub fn update_cart_state(
    conn: &Conn,
    cart_id: i64,
    state: CartState,
    checkout_url: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE cart SET state = ?2, checkout_url = coalesce(?3, checkout_url), updated_at = ?4 WHERE id = ?1",
        )?
        .execute(params![cart_id, state, checkout_url, now])?;
    Ok(())
}

/// Moves the carts still `IN_PAGAMENTO` whose last change is at or before `before` to `ANNULLATO`
/// (abandoned at Checkout); returns how many.
pub fn update_stale_carts_abandoned(conn: &Conn, before: &str, now: &str) -> Result<usize, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "UPDATE cart SET state = 'ANNULLATO', updated_at = ?2 WHERE state = 'IN_PAGAMENTO' AND updated_at <= ?1",
        )?
        .execute(params![before, now])?)
}

/// Marks the receipt mail of a cart as queued; returns false when it already was.
pub fn update_cart_mail_queued(conn: &Conn, cart_id: i64, now: &str) -> Result<bool, StoreError> {
    let n = conn
        .sqlite()
        .prepare_cached("UPDATE cart SET mail_queued = 1, updated_at = ?2 WHERE id = ?1 AND mail_queued = 0")?
        .execute(params![cart_id, now])?;
    Ok(n == 1)
}

/// Whether a cart started by this session holds the debt.
pub fn session_paid_debt(conn: &Conn, session_hash: &str, debt_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT 1 FROM cart c JOIN cart_item i ON i.cart_id = c.id WHERE c.session_hash = ?1 AND i.debt_id = ?2",
        )?
        .exists(params![session_hash, debt_id])?)
}

/// An acceptance of an org's privacy notice, to record.
#[derive(Debug, Clone, Copy)]
pub struct NewAcceptance<'a> {
    pub org_id: i64,
    /// The label of the version shown.
    pub version: &'a str,
    pub cart_id: Option<i64>,
    pub session_hash: &'a str,
    pub citizen_id: Option<&'a str>,
    /// Where it was accepted: `portale`, `sil`.
    pub channel: &'a str,
}

/// Records that the privacy notice `a.version` of the org was accepted, through `a.channel`.
pub fn insert_privacy_acceptance(conn: &Conn, a: &NewAcceptance<'_>, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO privacy_acceptance (org_id, version, cart_id, session_hash, citizen_id, accepted_at, channel) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![a.org_id, a.version, a.cart_id, a.session_hash, a.citizen_id, now, a.channel])?;
    Ok(())
}

/// An acceptance of an org's privacy notice, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyAcceptanceRecord {
    pub org_id: i64,
    pub version: String,
    pub channel: String,
    pub citizen_id: Option<String>,
    pub accepted_at: String,
}

/// The acceptances recorded for this citizen (logged in when they accepted), in one org or all,
/// newest first, at most `limit`.
pub fn list_privacy_acceptances_of_citizen(
    conn: &Conn,
    citizen_id: &str,
    org_id: Option<i64>,
    limit: u32,
) -> Result<Vec<PrivacyAcceptanceRecord>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT org_id, version, channel, citizen_id, accepted_at FROM privacy_acceptance \
         WHERE citizen_id = ?1 AND (?2 IS NULL OR org_id = ?2) ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![citizen_id, org_id, limit], acceptance_from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A [`PrivacyAcceptanceRecord`] from `org_id, version, channel, citizen_id, accepted_at`.
fn acceptance_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PrivacyAcceptanceRecord> {
    Ok(PrivacyAcceptanceRecord {
        org_id: r.get(0)?,
        version: r.get(1)?,
        channel: r.get(2)?,
        citizen_id: r.get(3)?,
        accepted_at: r.get(4)?,
    })
}

/// The acceptances of the cart with this id.
#[cfg(test)]
pub fn list_privacy_acceptances_of_cart(conn: &Conn, cart_id: i64) -> Result<Vec<PrivacyAcceptanceRecord>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT org_id, version, channel, citizen_id, accepted_at FROM privacy_acceptance WHERE cart_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([cart_id], acceptance_from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The e-mail addresses given when this citizen paid logged in, in one org's carts or all.
pub fn list_payer_emails_of_citizen(
    conn: &Conn,
    citizen_id: &str,
    org_id: Option<i64>,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(
        "SELECT DISTINCT c.payer_email FROM cart c WHERE c.citizen_id = ?1 AND c.payer_email IS NOT NULL \
         AND (?2 IS NULL OR EXISTS (SELECT 1 FROM cart_item i WHERE i.cart_id = c.id AND i.org_id = ?2)) LIMIT 100",
    )?;
    let rows = stmt.query_map(params![citizen_id, org_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(rows)
}
