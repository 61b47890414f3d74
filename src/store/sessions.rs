//! Web sessions (server side).
//!
//! A session row is keyed by the SHA-256 of the cookie value; the web layer owns what `data_json`
//! holds. **Invariant:** the cookie value itself is never stored.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionRecord {
    pub id_hash: String,
    pub csrf_token: String,
    pub citizen_id: Option<String>,
    pub citizen_name: Option<String>,
    pub citizen_email: Option<String>,
    pub auth_method: Option<String>,
    pub data_json: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

const COLUMNS: &str = "id_hash, csrf_token, citizen_id, citizen_name, citizen_email, auth_method, data_json, \
     created_at, last_seen_at, expires_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id_hash: row.get(0)?,
        csrf_token: row.get(1)?,
        citizen_id: row.get(2)?,
        citizen_name: row.get(3)?,
        citizen_email: row.get(4)?,
        auth_method: row.get(5)?,
        data_json: row.get(6)?,
        created_at: row.get(7)?,
        last_seen_at: row.get(8)?,
        expires_at: row.get(9)?,
    })
}

/// Inserts a new session.
pub fn insert_session(conn: &Conn, s: &SessionRecord) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached(
        "INSERT INTO session (id_hash, csrf_token, citizen_id, citizen_name, citizen_email, auth_method, data_json, \
         created_at, last_seen_at, expires_at) VALUES (:id_hash, :csrf, :cid, :cname, :cemail, :auth, :data, \
         :created, :seen, :expires)",
    )?
    .execute(named_params! {
        ":id_hash": s.id_hash, ":csrf": s.csrf_token, ":cid": s.citizen_id, ":cname": s.citizen_name,
        ":cemail": s.citizen_email, ":auth": s.auth_method, ":data": s.data_json, ":created": s.created_at,
        ":seen": s.last_seen_at, ":expires": s.expires_at,
    })
    .map_err(StoreError::from_sqlite)?;
    Ok(())
}

/// The session with this id hash, if it has not expired at `now`.
pub fn find_live_session(conn: &Conn, id_hash: &str, now: &str) -> Result<Option<SessionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM session WHERE id_hash = ?1 AND expires_at > ?2");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row(params![id_hash, now], from_row).optional()?)
}

/// Writes the mutable fields of a session (data, citizen, expiry).
pub fn update_session(conn: &Conn, s: &SessionRecord) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached(
        "UPDATE session SET citizen_id = :cid, citizen_name = :cname, citizen_email = :cemail, auth_method = :auth, \
         data_json = :data, last_seen_at = :seen, expires_at = :expires WHERE id_hash = :id_hash",
    )?
    .execute(named_params! {
        ":id_hash": s.id_hash, ":cid": s.citizen_id, ":cname": s.citizen_name, ":cemail": s.citizen_email,
        ":auth": s.auth_method, ":data": s.data_json, ":seen": s.last_seen_at, ":expires": s.expires_at,
    })?;
    Ok(())
}

/// Deletes a session (logout, rotation).
pub fn delete_session(conn: &Conn, id_hash: &str) -> Result<(), StoreError> {
    conn.sqlite().prepare_cached("DELETE FROM session WHERE id_hash = ?1")?.execute([id_hash])?;
    Ok(())
}

/// Deletes sessions expired before `now`; returns how many.
pub fn delete_expired_sessions(conn: &Conn, now: &str) -> Result<usize, StoreError> {
    Ok(conn.sqlite().prepare_cached("DELETE FROM session WHERE expires_at <= ?1")?.execute([now])?)
}
