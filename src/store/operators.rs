//! Operators, their roles per org and their enablement per debt type.

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};

/// An operator as stored, with roles and enablements joined in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorRecord {
    pub id: i64,
    pub username: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub app_admin: bool,
    pub active: bool,
    pub created_at: String,
    pub password_changed_at: String,
    /// (org IPA code, role), by IPA code.
    pub roles: Vec<(String, String)>,
    /// (org IPA code, debt type code) pairs the operator is enabled on, in order.
    pub debt_types: Vec<(String, String)>,
}

const COLUMNS: &str = "id, username, full_name, email, app_admin, active, created_at, password_changed_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<OperatorRecord> {
    Ok(OperatorRecord {
        id: row.get(0)?,
        username: row.get(1)?,
        full_name: row.get(2)?,
        email: row.get(3)?,
        app_admin: row.get(4)?,
        active: row.get(5)?,
        created_at: row.get(6)?,
        password_changed_at: row.get(7)?,
        roles: Vec::new(),
        debt_types: Vec::new(),
    })
}

fn with_grants(conn: &Conn, mut op: OperatorRecord) -> Result<OperatorRecord, StoreError> {
    op.roles = conn
        .sqlite()
        .prepare_cached(
            "SELECT org.ipa_code, r.role FROM operator_role r JOIN org ON org.id = r.org_id \
             WHERE r.operator_id = ?1 ORDER BY org.ipa_code",
        )?
        .query_map([op.id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    op.debt_types = conn
        .sqlite()
        .prepare_cached(
            "SELECT org.ipa_code, t.code FROM operator_debt_type e JOIN debt_type t ON t.id = e.debt_type_id \
             JOIN org ON org.id = t.org_id WHERE e.operator_id = ?1 ORDER BY org.ipa_code, t.code",
        )?
        .query_map([op.id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(op)
}

/// Inserts an operator with an already hashed password; returns its id.
pub fn insert_operator(
    conn: &Conn,
    username: &str,
    password_hash: &str,
    full_name: Option<&str>,
    email: Option<&str>,
    app_admin: bool,
    now: &str,
) -> Result<i64, StoreError> {
    conn.sqlite().execute(
        "INSERT INTO operator (username, password_hash, full_name, email, app_admin, created_at, password_changed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![username, password_hash, full_name, email, app_admin, now],
    )
    .map_err(StoreError::from_sqlite)?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// Replaces the password hash and resets the lockout.
pub fn update_password(conn: &Conn, operator_id: i64, password_hash: &str, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE operator SET password_hash = ?2, password_changed_at = ?3, failed_logins = 0, locked_until = NULL \
         WHERE id = ?1",
        params![operator_id, password_hash, now],
    )?;
    Ok(())
}

/// Sets or clears the app-admin flag.
pub fn update_app_admin(conn: &Conn, operator_id: i64, app_admin: bool) -> Result<(), StoreError> {
    conn.sqlite().execute("UPDATE operator SET app_admin = ?2 WHERE id = ?1", params![operator_id, app_admin])?;
    Ok(())
}

/// Gives the operator `role` in the org, replacing any previous role there.
pub fn upsert_role(conn: &Conn, operator_id: i64, org_id: i64, role: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "INSERT INTO operator_role (operator_id, org_id, role) VALUES (?1, ?2, ?3) \
         ON CONFLICT (operator_id, org_id) DO UPDATE SET role = excluded.role",
        params![operator_id, org_id, role],
    )?;
    Ok(())
}

/// Removes the operator's role in the org and every enablement on that org's debt types.
pub fn delete_role(conn: &Conn, operator_id: i64, org_id: i64) -> Result<bool, StoreError> {
    conn.sqlite().execute(
        "DELETE FROM operator_debt_type WHERE operator_id = ?1 \
         AND debt_type_id IN (SELECT id FROM debt_type WHERE org_id = ?2)",
        params![operator_id, org_id],
    )?;
    let n = conn
        .sqlite()
        .execute("DELETE FROM operator_role WHERE operator_id = ?1 AND org_id = ?2", params![operator_id, org_id])?;
    Ok(n > 0)
}

/// Enables the operator on a debt type (idempotent).
pub fn insert_enablement(conn: &Conn, operator_id: i64, debt_type_id: i64) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "INSERT OR IGNORE INTO operator_debt_type (operator_id, debt_type_id) VALUES (?1, ?2)",
        params![operator_id, debt_type_id],
    )?;
    Ok(())
}

/// Removes an enablement; returns whether there was one.
pub fn delete_enablement(conn: &Conn, operator_id: i64, debt_type_id: i64) -> Result<bool, StoreError> {
    let n = conn.sqlite().execute(
        "DELETE FROM operator_debt_type WHERE operator_id = ?1 AND debt_type_id = ?2",
        params![operator_id, debt_type_id],
    )?;
    Ok(n > 0)
}

/// The operator with this username (case-insensitive).
pub fn find_operator(conn: &Conn, username: &str) -> Result<Option<OperatorRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM operator WHERE username = ?1");
    let op = conn.sqlite().prepare_cached(&sql)?.query_row([username], from_row).optional()?;
    op.map(|op| with_grants(conn, op)).transpose()
}

/// What a login check needs to know of an operator.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub id: i64,
    pub password_hash: String,
    pub active: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
}

/// Login bookkeeping of an operator.
pub fn find_login(conn: &Conn, username: &str) -> Result<Option<LoginRecord>, StoreError> {
    Ok(conn
        .sqlite()
        .query_row(
            "SELECT id, password_hash, active, failed_logins, locked_until FROM operator WHERE username = ?1",
            [username],
            |row| {
                Ok(LoginRecord {
                    id: row.get(0)?,
                    password_hash: row.get(1)?,
                    active: row.get(2)?,
                    failed_logins: row.get(3)?,
                    locked_until: row.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Records a failed login; locks the account until `lock_until` when given.
pub fn update_failed_login(
    conn: &Conn,
    operator_id: i64,
    failed_logins: i64,
    lock_until: Option<&str>,
) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE operator SET failed_logins = ?2, locked_until = ?3 WHERE id = ?1",
        params![operator_id, failed_logins, lock_until],
    )?;
    Ok(())
}

/// Clears the failure count after a successful login.
pub fn update_successful_login(conn: &Conn, operator_id: i64) -> Result<(), StoreError> {
    conn.sqlite().execute("UPDATE operator SET failed_logins = 0, locked_until = NULL WHERE id = ?1", [operator_id])?;
    Ok(())
}

/// Every operator, or those with a role in the org `org_id`, by username.
pub fn list_operators(conn: &Conn, org_id: Option<i64>) -> Result<Vec<OperatorRecord>, StoreError> {
    let ops: Vec<OperatorRecord> = match org_id {
        None => {
            let sql = format!("SELECT {COLUMNS} FROM operator ORDER BY username");
            conn.sqlite().prepare_cached(&sql)?.query_map([], from_row)?.collect::<Result<_, _>>()?
        }
        Some(org_id) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM operator WHERE id IN (SELECT operator_id FROM operator_role WHERE org_id = ?1) \
                 ORDER BY username"
            );
            conn.sqlite().prepare_cached(&sql)?.query_map([org_id], from_row)?.collect::<Result<_, _>>()?
        }
    };
    ops.into_iter().map(|op| with_grants(conn, op)).collect()
}
