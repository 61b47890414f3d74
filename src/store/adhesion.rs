//! Orgs' adhesion records (`org_adhesion`): one row per change, the newest the current one; and
//! the upgrade step that gives the orgs stored before version 25 the mode matching what they use.

use rusqlite::{OptionalExtension, Row, named_params};

use super::audit::{self, AuditEntry};
use super::{Conn, StoreError};
use crate::domain::Day;
use crate::domain::adhesion::{ActType, Mode};

/// One adhesion record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdhesionRecord {
    pub id: i64,
    pub org_id: i64,
    pub mode: Mode,
    pub act_type: Option<ActType>,
    pub act_number: Option<String>,
    pub act_date: Option<Day>,
    pub contacts: Option<String>,
    /// The day this record's mode became active.
    pub mode_since: Day,
    pub changed_by: String,
    pub changed_at: String,
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdhesion {
    pub mode: Mode,
    pub act_type: Option<ActType>,
    pub act_number: Option<String>,
    pub act_date: Option<Day>,
    pub contacts: Option<String>,
    pub mode_since: Day,
}

const COLUMNS: &str = "id, org_id, mode, act_type, act_number, act_date, contacts, mode_since, changed_by, changed_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<AdhesionRecord> {
    Ok(AdhesionRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        mode: row.get(2)?,
        act_type: row.get(3)?,
        act_number: row.get(4)?,
        act_date: row.get(5)?,
        contacts: row.get(6)?,
        mode_since: row.get(7)?,
        changed_by: row.get(8)?,
        changed_at: row.get(9)?,
    })
}

/// Appends a record for `org_id`: from now on its current one.
pub fn insert_adhesion(conn: &Conn, org_id: i64, new: &NewAdhesion, actor: &str, now: &str) -> Result<i64, StoreError> {
    conn.sqlite()
        .prepare_cached(
            "INSERT INTO org_adhesion (org_id, mode, act_type, act_number, act_date, contacts, mode_since, \
             changed_by, changed_at) VALUES (:org, :mode, :act_type, :act_number, :act_date, :contacts, :since, \
             :actor, :now)",
        )?
        .execute(named_params! {
            ":org": org_id, ":mode": new.mode, ":act_type": new.act_type, ":act_number": new.act_number,
            ":act_date": new.act_date, ":contacts": new.contacts, ":since": new.mode_since, ":actor": actor,
            ":now": now,
        })?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The org's current record; `None` for an org that has none (none is made without one since
/// version 25, but a caller treats it as `base`).
pub fn current_adhesion(conn: &Conn, org_id: i64) -> Result<Option<AdhesionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org_adhesion WHERE org_id = ?1 ORDER BY id DESC LIMIT 1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([org_id], from_row).optional()?)
}

/// The org's records, newest first: its history.
pub fn adhesion_history(conn: &Conn, org_id: i64, limit: u32) -> Result<Vec<AdhesionRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM org_adhesion WHERE org_id = ?1 ORDER BY id DESC LIMIT ?2");
    let mut stmt = conn.sqlite().prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params![org_id, limit], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The upgrade to version 25: every org gets the mode matching what it uses — `ente` with a SIL
/// password, an API token not revoked or an outcome-push target; `flussi` with a debt flow
/// uploaded; `base` otherwise — and a journal entry saying so, which also names the functionality
/// codes its upgrade dropped. Returns the number of orgs.
pub(super) fn adopt_modes(conn: &Conn, now: &str, today: jiff::civil::Date) -> Result<usize, StoreError> {
    let mut stmt = conn.sqlite().prepare(
        "SELECT o.id, o.ipa_code, \
           CASE WHEN o.sil_password_hash IS NOT NULL \
                  OR EXISTS (SELECT 1 FROM api_token t WHERE t.org_id = o.id AND t.revoked_at IS NULL) \
                  OR EXISTS (SELECT 1 FROM org_push p WHERE p.org_id = o.id) THEN 'ente' \
                WHEN EXISTS (SELECT 1 FROM debt_import i WHERE i.org_id = o.id) THEN 'flussi' \
                ELSE 'base' END, \
           (SELECT codes FROM org_functionality_dropped d WHERE d.org_id = o.id) \
         FROM org o WHERE NOT EXISTS (SELECT 1 FROM org_adhesion a WHERE a.org_id = o.id) ORDER BY o.id",
    )?;
    let orgs: Vec<(i64, String, Mode, Option<String>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    drop(stmt);
    let since = Day::from(today);
    for (org_id, ipa, mode, dropped) in &orgs {
        let new = NewAdhesion {
            mode: *mode,
            act_type: None,
            act_number: None,
            act_date: None,
            contacts: None,
            mode_since: since,
        };
        insert_adhesion(conn, *org_id, &new, "upgrade", now)?;
        let dropped: Vec<&str> = dropped.as_deref().map(|d| d.split(',').collect()).unwrap_or_default();
        let after = serde_json::json!({
            "mode": mode.code(), "mode_since": since.to_string(),
            "reason": "the mode matching what the org used before adhesion modes existed",
            "functionalities_dropped": dropped,
        })
        .to_string();
        let object = format!("org:{ipa}");
        let entry = AuditEntry {
            actor: "upgrade",
            org_id: Some(*org_id),
            action: "org.adhesion",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..AuditEntry::default()
        };
        audit::insert_audit(conn, &entry, now)?;
    }
    conn.sqlite().execute_batch("DROP TABLE org_functionality_dropped")?;
    Ok(orgs.len())
}
