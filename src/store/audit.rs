//! The append-only audit journal. Triggers in `schema.sql` refuse any UPDATE or DELETE, so not even
//! a bug here can rewrite history. An entry's payloads (before/after, request/response) live in
//! `audit_payload`, which the retention purge may clear ([`delete_payloads_before`]); readers get
//! them joined back, `None` once purged.

use rusqlite::named_params;

use super::{Conn, StoreError};

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

/// Appends an entry, with its payloads when it has any.
pub fn insert_audit(conn: &Conn, entry: &AuditEntry<'_>, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO audit (at, actor, org_id, action, object, outcome, duration_ms) \
             VALUES (:at, :actor, :org_id, :action, :object, :outcome, :duration_ms)",
        )?
        .execute(named_params! {
            ":at": now, ":actor": entry.actor, ":org_id": entry.org_id, ":action": entry.action,
            ":object": entry.object, ":outcome": entry.outcome, ":duration_ms": entry.duration_ms,
        })?;
    let payloads = [entry.before_json, entry.after_json, entry.request, entry.response];
    if payloads.iter().any(Option::is_some) {
        let id = conn.sqlite().last_insert_rowid();
        conn.sqlite()
            .prepare_cached(
                "INSERT INTO audit_payload (audit_id, before_json, after_json, request, response) \
                 VALUES (:id, :before, :after, :request, :response)",
            )?
            .execute(named_params! {
                ":id": id, ":before": entry.before_json, ":after": entry.after_json,
                ":request": entry.request, ":response": entry.response,
            })?;
    }
    Ok(())
}

/// The columns of [`audit_from_row`], over `audit a LEFT JOIN audit_payload p`.
const COLUMNS: &str = "a.id, a.at, a.actor, a.org_id, a.action, a.object, a.outcome, p.before_json, p.after_json";
const FROM: &str = "audit a LEFT JOIN audit_payload p ON p.audit_id = a.id";

/// Deletes the payloads of entries made before `before` (UTC ISO 8601), at most `limit` of them,
/// oldest first; returns how many went. The entries themselves stay.
pub fn delete_payloads_before(conn: &Conn, before: &str, limit: u32) -> Result<usize, StoreError> {
    Ok(conn
        .sqlite()
        .prepare_cached(
            "DELETE FROM audit_payload WHERE audit_id IN (SELECT p.audit_id FROM audit_payload p \
             JOIN audit a ON a.id = p.audit_id WHERE a.at < ?1 ORDER BY p.audit_id LIMIT ?2)",
        )?
        .execute(rusqlite::params![before, limit])?)
}

/// How many entries made before `before` still have payloads.
pub fn count_payloads_before(conn: &Conn, before: &str) -> Result<u64, StoreError> {
    Ok(conn.sqlite().query_row(
        "SELECT count(*) FROM audit_payload p JOIN audit a ON a.id = p.audit_id WHERE a.at < ?1",
        [before],
        |row| row.get(0),
    )?)
}

/// The entries about one object of an org (e.g. `debt:<ipa>/<iud>`), oldest first: its history.
pub fn list_audit_of_object(
    conn: &Conn,
    org_id: i64,
    object: &str,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut stmt = conn.sqlite().prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE a.org_id = ?1 AND a.object = ?2 ORDER BY a.id LIMIT ?3"
    ))?;
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

/// Filters of the journal page; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Actors starting with it (`operator:` for every operator).
    pub actor_prefix: Option<String>,
    pub action: Option<String>,
    /// Objects starting with it (`debt:c_x/` for every debt).
    pub object_prefix: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive lower bound on `at`, a UTC timestamp as stored (`2026-03-28T23:00:00Z`).
    pub from: Option<String>,
    /// Exclusive upper bound on `at`, likewise.
    pub until: Option<String>,
}

/// One page of the org's journal, newest first.
pub fn search_audit(
    conn: &Conn,
    org_id: i64,
    f: &AuditFilter,
    limit: u32,
    offset: u64,
) -> Result<Vec<AuditRecord>, StoreError> {
    use rusqlite::types::Value;
    let mut sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE a.org_id = ?");
    let mut values = vec![Value::Integer(org_id)];
    let prefix = |column: &str, v: &Option<String>, sql: &mut String, values: &mut Vec<Value>| {
        if let Some(p) = v {
            sql.push_str(&format!(" AND a.{column} >= ? AND a.{column} < ?"));
            values.push(Value::Text(p.clone()));
            values.push(Value::Text(format!("{p}\u{10FFFF}")));
        }
    };
    prefix("actor", &f.actor_prefix, &mut sql, &mut values);
    prefix("object", &f.object_prefix, &mut sql, &mut values);
    for (clause, v) in [
        (" AND a.action = ?", &f.action),
        (" AND a.outcome = ?", &f.outcome),
        (" AND a.at >= ?", &f.from),
        (" AND a.at < ?", &f.until),
    ] {
        if let Some(v) = v {
            sql.push_str(clause);
            values.push(Value::Text(v.clone()));
        }
    }
    sql.push_str(" ORDER BY a.at DESC, a.id DESC LIMIT ? OFFSET ?");
    values.push(Value::Integer(i64::from(limit)));
    values.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(values), audit_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One entry with the exchanged payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDetail {
    pub entry: AuditRecord,
    pub request: Option<String>,
    pub response: Option<String>,
    pub duration_ms: Option<i64>,
}

/// The org's entry with this id.
pub fn find_audit_entry(conn: &Conn, org_id: i64, id: i64) -> Result<Option<AuditDetail>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .sqlite()
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, p.request, p.response, a.duration_ms FROM {FROM} WHERE a.org_id = ?1 AND a.id = ?2"
        ))?
        .query_row(rusqlite::params![org_id, id], |row| {
            Ok(AuditDetail {
                entry: audit_from_row(row)?,
                request: row.get(9)?,
                response: row.get(10)?,
                duration_ms: row.get(11)?,
            })
        })
        .optional()?)
}
