//! Operators' notes on reconciled elements (MyPivot's segnalazioni): one element is (org, label,
//! IUD, IUV, IUF), any of the three keys absent, compared null-safely (`IS`).
//!
//! **Invariant:** an element has at most one active note (a partial unique index); adding one
//! first makes the active one inactive ([`deactivate`]), so every earlier note stays as history.
//! A note names at least one key (a CHECK).

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};

/// What a note is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteElement {
    /// A label code (`RT_NO_IUD`, `DOPPI`, …).
    pub label: String,
    pub iud: Option<String>,
    pub iuv: Option<String>,
    pub iuf: Option<String>,
}

/// A note as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    pub id: i64,
    pub org_id: i64,
    pub author: String,
    pub element: NoteElement,
    pub note: String,
    pub hidden: bool,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

const COLUMNS: &str = "id, org_id, author, label, iud, iuv, iuf, note, hidden, active, created_at, updated_at, version";

fn from_row(row: &Row<'_>) -> rusqlite::Result<NoteRecord> {
    Ok(NoteRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        author: row.get(2)?,
        element: NoteElement { label: row.get(3)?, iud: row.get(4)?, iuv: row.get(5)?, iuf: row.get(6)? },
        note: row.get(7)?,
        hidden: row.get(8)?,
        active: row.get(9)?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
        version: row.get(12)?,
    })
}

/// Makes the element's active note(s) inactive; returns how many.
pub fn deactivate(conn: &Conn, org_id: i64, element: &NoteElement, now: &str) -> Result<usize, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "UPDATE recon_note SET active = 0, updated_at = ?6, version = version + 1 WHERE org_id = ?1 AND label = ?2 \
             AND iud IS ?3 AND iuv IS ?4 AND iuf IS ?5 AND active = 1",
        )?
        .execute(params![org_id, element.label, element.iud, element.iuv, element.iuf, now])?)
}

/// Adds an active note; returns its id.
pub fn insert_note(
    conn: &Conn,
    org_id: i64,
    author: &str,
    element: &NoteElement,
    note: &str,
    now: &str,
) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO recon_note (org_id, author, label, iud, iuv, iuf, note, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        )?
        .execute(params![org_id, author, element.label, element.iud, element.iuv, element.iuf, note, now])?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The org's note `id`.
pub fn find_note(conn: &Conn, org_id: i64, id: i64) -> Result<Option<NoteRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM recon_note WHERE org_id = ?1 AND id = ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![org_id, id], from_row).optional()?)
}

/// Every note of the element, the active one first, then newest first.
pub fn list_history(conn: &Conn, org_id: i64, element: &NoteElement) -> Result<Vec<NoteRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recon_note WHERE org_id = ?1 AND label = ?2 AND iud IS ?3 AND iuv IS ?4 AND iuf IS ?5 \
         ORDER BY active DESC, id DESC"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, element.label, element.iud, element.iuv, element.iuf], from_row)?
        .collect::<Result<_, _>>()?)
}

/// The org's active notes (of `label` when given), hidden ones only with `with_hidden`, newest
/// first, at most `limit`.
pub fn list_active(
    conn: &Conn,
    org_id: i64,
    label: Option<&str>,
    with_hidden: bool,
    limit: u32,
) -> Result<Vec<NoteRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recon_note WHERE org_id = ?1 AND active = 1 AND (?2 IS NULL OR label = ?2) \
         AND (?3 OR hidden = 0) ORDER BY id DESC LIMIT ?4"
    );
    Ok(conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, label, with_hidden, limit], from_row)?
        .collect::<Result<_, _>>()?)
}

/// Hides or shows note `id`; false when it already was so.
pub fn update_hidden(conn: &Conn, id: i64, hidden: bool, now: &str) -> Result<bool, StoreError> {
    let changed = conn
        .sqlite()
        .prepare_cached(
            "UPDATE recon_note SET hidden = ?2, updated_at = ?3, version = version + 1 WHERE id = ?1 AND hidden <> ?2",
        )?
        .execute(params![id, hidden, now])?;
    Ok(changed == 1)
}
