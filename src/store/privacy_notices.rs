//! The `privacy_notice` table: every version of an org's own privacy notice. Rows are only
//! inserted, never updated, so a version once shown to citizens stays as it was.

use rusqlite::{OptionalExtension, Row, params};

use super::{Conn, StoreError};

/// The sections of the notice template, as the administrator filled them in; all `None` in a
/// notice written as one text before the template existed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeSections {
    pub controller: Option<String>,
    pub dpo_contact: Option<String>,
    pub purposes: Option<String>,
    pub legal_basis: Option<String>,
    pub retention: Option<String>,
    pub recipients: Option<String>,
    pub rights: Option<String>,
}

/// One version of an org's privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyNoticeRecord {
    pub version: i64,
    /// The whole text (the sections joined, with any further text).
    pub body: String,
    pub created_by: String,
    pub created_at: String,
    pub sections: NoticeSections,
}

const COLUMNS: &str = "version, body, created_by, created_at, controller, dpo_contact, purposes, legal_basis, retention, recipients, rights";

fn from_row(row: &Row<'_>) -> rusqlite::Result<PrivacyNoticeRecord> {
    Ok(PrivacyNoticeRecord {
        version: row.get(0)?,
        body: row.get(1)?,
        created_by: row.get(2)?,
        created_at: row.get(3)?,
        sections: NoticeSections {
            controller: row.get(4)?,
            dpo_contact: row.get(5)?,
            purposes: row.get(6)?,
            legal_basis: row.get(7)?,
            retention: row.get(8)?,
            recipients: row.get(9)?,
            rights: row.get(10)?,
        },
    })
}

/// Stores `body` (with its `sections`) as the org's next version (one past its last, 1 for the
/// first); returns it. Run it in the writing transaction, so two saves cannot take the same number.
pub fn insert_next_version(
    conn: &Conn,
    org_id: i64,
    body: &str,
    sections: &NoticeSections,
    created_by: &str,
    now: &str,
) -> Result<i64, StoreError> {
    let s = sections;
    let version: i64 = conn.sqlite().query_row(
        "INSERT INTO privacy_notice (org_id, version, body, created_by, created_at, controller, dpo_contact, \
         purposes, legal_basis, retention, recipients, rights) \
         SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 FROM privacy_notice \
         WHERE org_id = ?1 RETURNING version",
        params![
            org_id,
            body,
            created_by,
            now,
            s.controller,
            s.dpo_contact,
            s.purposes,
            s.legal_basis,
            s.retention,
            s.recipients,
            s.rights
        ],
        |row| row.get(0),
    )?;
    Ok(version)
}

/// The org's current (highest) version, if it ever wrote one.
pub fn find_current(conn: &Conn, org_id: i64) -> Result<Option<PrivacyNoticeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM privacy_notice WHERE org_id = ?1 ORDER BY version DESC LIMIT 1");
    Ok(conn.sqlite().query_row(&sql, [org_id], from_row).optional()?)
}

/// Every version of the org's notice, newest first.
pub fn list_versions(conn: &Conn, org_id: i64) -> Result<Vec<PrivacyNoticeRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM privacy_notice WHERE org_id = ?1 ORDER BY version DESC");
    let mut stmt = conn.sqlite().prepare_cached(&sql)?;
    let rows = stmt.query_map([org_id], from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
