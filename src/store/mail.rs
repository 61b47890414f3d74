//! The mail outbox and the e-mail verification PINs of anonymous payers.
//!
//! [`MailState`] lives here, beside the record, and not in `domain`: it is the outbox's own
//! bookkeeping, and its every move is one of this file's statements.

use rusqlite::{Row, params};

use super::codes::stored_as_code;
use super::{Conn, StoreError};

/// Where a mail of the outbox stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MailState {
    /// `DA_INVIARE`: waiting for its next attempt; the state every mail starts in.
    #[default]
    ToSend,
    /// `INVIATA`: delivered to the SMTP server. Final.
    Sent,
    /// `FALLITA`: given up after the last attempt. Final.
    Failed,
}

impl MailState {
    /// Every state.
    pub const ALL: [MailState; 3] = [MailState::ToSend, MailState::Sent, MailState::Failed];

    /// The stored code (shown as is on the demo's outbox page).
    pub const fn code(self) -> &'static str {
        match self {
            MailState::ToSend => "DA_INVIARE",
            MailState::Sent => "INVIATA",
            MailState::Failed => "FALLITA",
        }
    }

    /// The state with this code, if any.
    pub fn from_code(code: &str) -> Option<MailState> {
        MailState::ALL.into_iter().find(|state| state.code() == code)
    }
}

stored_as_code!(MailState, "mail_outbox.state");

/// A mail as queued.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailRecord {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub state: MailState,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

const COLUMNS: &str = "id, recipient, subject, body, state, attempts, next_attempt_at, last_error, created_at, sent_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<MailRecord> {
    Ok(MailRecord {
        id: row.get(0)?,
        recipient: row.get(1)?,
        subject: row.get(2)?,
        body: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        next_attempt_at: row.get(6)?,
        last_error: row.get(7)?,
        created_at: row.get(8)?,
        sent_at: row.get(9)?,
    })
}

/// Queues a mail, due at once; returns its id.
pub fn insert_mail(conn: &Conn, recipient: &str, subject: &str, body: &str, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO mail_outbox (recipient, subject, body, state, next_attempt_at, created_at) \
         VALUES (?1, ?2, ?3, 'DA_INVIARE', ?4, ?4)",
        )?
        .execute(params![recipient, subject, body, now])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Mails due for an attempt at `now`, oldest first.
pub fn list_due_mails(conn: &Conn, now: &str, limit: u32) -> Result<Vec<MailRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE state = 'DA_INVIARE' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2"
    );
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map(params![now, limit], from_row)?.collect::<Result<_, _>>()?)
}

/// The newest mails, newest first (the demo's outbox page, tests).
pub fn list_recent_mails(conn: &Conn, limit: u32) -> Result<Vec<MailRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map([limit], from_row)?.collect::<Result<_, _>>()?)
}

/// Records a delivered mail.
pub fn update_mail_sent(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached(
        "UPDATE mail_outbox SET state = 'INVIATA', attempts = attempts + 1, sent_at = ?2, last_error = NULL WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Records a failed attempt: retried at `next_attempt_at`, or given up (`final_failure`).
pub fn update_mail_failed(
    conn: &Conn,
    id: i64,
    error: &str,
    next_attempt_at: &str,
    final_failure: bool,
) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3, \
         state = CASE WHEN ?4 THEN 'FALLITA' ELSE state END WHERE id = ?1",
        )?
        .execute(params![id, error, next_attempt_at, final_failure])?;
    Ok(())
}

/// A PIN as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PinRecord {
    pub id: i64,
    pub email: String,
    pub pin_hash: String,
    pub attempts: i64,
    pub expires_at: String,
    pub used_at: Option<String>,
}

/// Stores a new PIN for the session's e-mail.
pub fn insert_pin(
    conn: &Conn,
    session_hash: &str,
    email: &str,
    pin_hash: &str,
    now: &str,
    expires_at: &str,
) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO email_pin (session_hash, email, pin_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![session_hash, email, pin_hash, now, expires_at])?;
    Ok(())
}

/// How many PINs were sent since `since` to this session and to this e-mail.
pub fn count_pins_since(conn: &Conn, session_hash: &str, email: &str, since: &str) -> Result<(i64, i64), StoreError> {
    let by_session = conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM email_pin WHERE session_hash = ?1 AND created_at >= ?2")?
        .query_row(params![session_hash, since], |r| r.get(0))?;
    let by_email = conn
        .sqlite()
        .prepare_cached("SELECT count(*) FROM email_pin WHERE email = ?1 AND created_at >= ?2")?
        .query_row(params![email, since], |r| r.get(0))?;
    Ok((by_session, by_email))
}

/// The session's newest PIN (used or not).
pub fn find_latest_pin(conn: &Conn, session_hash: &str) -> Result<Option<PinRecord>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .sqlite()
        .prepare_cached(
            "SELECT id, email, pin_hash, attempts, expires_at, used_at FROM email_pin WHERE session_hash = ?1 \
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row([session_hash], |row| {
            Ok(PinRecord {
                id: row.get(0)?,
                email: row.get(1)?,
                pin_hash: row.get(2)?,
                attempts: row.get(3)?,
                expires_at: row.get(4)?,
                used_at: row.get(5)?,
            })
        })
        .optional()?)
}

/// Counts a wrong guess.
pub fn update_pin_attempt(conn: &Conn, id: i64) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached("UPDATE email_pin SET attempts = attempts + 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Marks a PIN used, so that it cannot be replayed.
pub fn update_pin_used(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE email_pin SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL")?
        .execute(params![id, now])?;
    Ok(())
}

/// The mails queued for any of these addresses (compared without case), newest first, at most
/// `limit`.
pub fn list_mails_to(conn: &Conn, recipients: &[String], limit: u32) -> Result<Vec<MailRecord>, StoreError> {
    let list = serde_json::to_string(&recipients.iter().map(|r| r.to_lowercase()).collect::<Vec<_>>())
        .map_err(|e| StoreError::Corrupt { column: "recipient", reason: e.to_string() })?;
    let sql = format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE lower(recipient) IN (SELECT value FROM json_each(?1)) \
         ORDER BY id DESC LIMIT ?2"
    );
    Ok(conn.sqlite().prepare_cached(&sql)?.query_map(params![list, limit], from_row)?.collect::<Result<_, _>>()?)
}
