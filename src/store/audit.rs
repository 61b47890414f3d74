//! The append-only audit journal. Triggers in `schema.sql` refuse any UPDATE or DELETE, so not even
//! a bug here can rewrite history.

use rusqlite::{Connection, named_params};

use super::StoreError;

/// One journal entry to append.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub org_id: Option<i64>,
    pub action: &'a str,
    pub object: Option<&'a str>,
    pub outcome: &'a str,
    pub before_json: Option<&'a str>,
    pub after_json: Option<&'a str>,
    pub request: Option<&'a str>,
    pub response: Option<&'a str>,
    pub duration_ms: Option<i64>,
}

/// A stored journal entry, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub org_id: Option<i64>,
    pub action: String,
    pub object: Option<String>,
    pub outcome: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// Appends an entry.
pub fn insert_audit(conn: &Connection, entry: &AuditEntry<'_>, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, org_id, action, object, outcome, before_json, after_json, request, response, \
         duration_ms) VALUES (:at, :actor, :org_id, :action, :object, :outcome, :before, :after, :request, \
         :response, :duration_ms)",
    )?
    .execute(named_params! {
        ":at": now, ":actor": entry.actor, ":org_id": entry.org_id, ":action": entry.action,
        ":object": entry.object, ":outcome": entry.outcome, ":before": entry.before_json,
        ":after": entry.after_json, ":request": entry.request, ":response": entry.response,
        ":duration_ms": entry.duration_ms,
    })?;
    Ok(())
}

/// The newest entries first, optionally for one org.
pub fn list_audit(conn: &Connection, org_id: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, org_id, action, object, outcome, before_json, after_json FROM audit \
         WHERE (:org_id IS NULL OR org_id = :org_id) ORDER BY id DESC LIMIT :limit",
    )?;
    let rows = stmt
        .query_map(named_params! { ":org_id": org_id, ":limit": limit }, audit_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The entries about one object of an org (e.g. `debt:<ipa>/<iud>`), oldest first: its history.
pub fn list_audit_of_object(
    conn: &Connection,
    org_id: i64,
    object: &str,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, org_id, action, object, outcome, before_json, after_json FROM audit \
         WHERE org_id = ?1 AND object = ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(rusqlite::params![org_id, object, limit], audit_from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

fn audit_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.get(0)?,
        at: row.get(1)?,
        actor: row.get(2)?,
        org_id: row.get(3)?,
        action: row.get(4)?,
        object: row.get(5)?,
        outcome: row.get(6)?,
        before_json: row.get(7)?,
        after_json: row.get(8)?,
    })
}
