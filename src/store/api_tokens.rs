//! Bearer tokens of the REST API (`api_token`): only the SHA-256 of each token is stored.

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};

/// A token as stored (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiTokenRecord {
    pub id: i64,
    pub org_id: i64,
    /// Joined in from `org` on reads.
    pub org_ipa: String,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

const COLUMNS: &str = "t.id, t.org_id, o.ipa_code, t.label, t.created_at, t.revoked_at, t.last_used_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        org_ipa: row.get(2)?,
        label: row.get(3)?,
        created_at: row.get(4)?,
        revoked_at: row.get(5)?,
        last_used_at: row.get(6)?,
    })
}

/// Stores a new token's hash; returns its id.
pub fn insert_api_token(conn: &Conn, org_id: i64, hash: &str, label: &str, now: &str) -> Result<i64, StoreError> {
    conn.sqlite().execute(
        "INSERT INTO api_token (org_id, token_hash, label, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![org_id, hash, label, now],
    )?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The token whose hash this is, revoked or not.
pub fn find_api_token_by_hash(conn: &Conn, hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_token t JOIN org o ON o.id = t.org_id WHERE t.token_hash = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([hash], from_row).optional()?)
}

/// An org's tokens, oldest first.
pub fn list_api_tokens(conn: &Conn, org_id: i64) -> Result<Vec<ApiTokenRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM api_token t JOIN org o ON o.id = t.org_id WHERE t.org_id = ?1 ORDER BY t.id");
    let rows = conn.sqlite().prepare_cached(&sql)?.query_map([org_id], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Revokes an org's token; false when the org has no such valid token.
pub fn update_api_token_revoked(conn: &Conn, org_id: i64, id: i64, now: &str) -> Result<bool, StoreError> {
    let n = conn.sqlite().execute(
        "UPDATE api_token SET revoked_at = ?3 WHERE id = ?1 AND org_id = ?2 AND revoked_at IS NULL",
        params![id, org_id, now],
    )?;
    Ok(n == 1)
}

/// Notes that a token was used (at most the time of the call; a lost update only ages it).
pub fn update_api_token_used(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute("UPDATE api_token SET last_used_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}
