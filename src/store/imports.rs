//! Debt-flow imports (`debt_import`): the upload, its state and totals (kept current chunk by chunk
//! while it runs), and where its result files are. The rows themselves are written through `debts`,
//! in the transactions of the import's chunks.

use rusqlite::{OptionalExtension, Row, named_params, params};

use super::{Conn, StoreError};
use crate::domain::ImportState;

/// An import as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportRecord {
    pub id: i64,
    pub org_id: i64,
    /// Joined in from `org` on reads; ignored on writes.
    pub org_ipa: String,
    pub file_name: String,
    pub iuf: Option<String>,
    pub layout_version: Option<String>,
    pub state: ImportState,
    pub error_code: Option<String>,
    pub error_description: Option<String>,
    pub uploader: String,
    pub operator: Option<String>,
    pub stored_file: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub rows_total: Option<i64>,
    pub rows_loaded: Option<i64>,
    pub rows_rejected: Option<i64>,
    pub rejects_file: Option<String>,
    pub iuv_file: Option<String>,
    /// `<name>_AVVISI_PDF.zip` relative to data_dir, once the notices job made it.
    pub notices_file: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// When the retention purge deleted the upload's files (the row stays); read only.
    pub files_purged_at: Option<String>,
}

/// The totals and files of an import that ran to the end.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportTotals {
    pub iuf: String,
    pub layout_version: String,
    pub rows_total: i64,
    pub rows_loaded: i64,
    pub rows_rejected: i64,
    pub rejects_file: Option<String>,
    pub iuv_file: Option<String>,
}

const COLUMNS: &str = "i.id, i.org_id, o.ipa_code, i.file_name, i.iuf, i.layout_version, i.state, i.error_code, \
     i.error_description, i.uploader, i.operator, i.stored_file, i.size_bytes, i.sha256, i.rows_total, \
     i.rows_loaded, i.rows_rejected, i.rejects_file, i.iuv_file, i.created_at, i.started_at, i.finished_at, \
     i.notices_file, i.files_purged_at";

const FROM: &str = "FROM debt_import i JOIN org o ON o.id = i.org_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ImportRecord> {
    Ok(ImportRecord {
        id: row.get(0)?,
        org_id: row.get(1)?,
        org_ipa: row.get(2)?,
        file_name: row.get(3)?,
        iuf: row.get(4)?,
        layout_version: row.get(5)?,
        state: row.get(6)?,
        error_code: row.get(7)?,
        error_description: row.get(8)?,
        uploader: row.get(9)?,
        operator: row.get(10)?,
        stored_file: row.get(11)?,
        size_bytes: row.get(12)?,
        sha256: row.get(13)?,
        rows_total: row.get(14)?,
        rows_loaded: row.get(15)?,
        rows_rejected: row.get(16)?,
        rejects_file: row.get(17)?,
        iuv_file: row.get(18)?,
        created_at: row.get(19)?,
        started_at: row.get(20)?,
        finished_at: row.get(21)?,
        notices_file: row.get(22)?,
        files_purged_at: row.get(23)?,
    })
}

/// Inserts a new import in state `LOAD_IMPORT`; returns its id.
pub fn insert_import(conn: &Conn, i: &ImportRecord, now: &str) -> Result<i64, StoreError> {
    conn.sqlite().execute(
        "INSERT INTO debt_import (org_id, file_name, state, uploader, operator, stored_file, size_bytes, sha256, \
         created_at) VALUES (:org_id, :file_name, 'LOAD_IMPORT', :uploader, :operator, :stored_file, :size_bytes, \
         :sha256, :now)",
        named_params! {
            ":org_id": i.org_id, ":file_name": i.file_name, ":uploader": i.uploader, ":operator": i.operator,
            ":stored_file": i.stored_file, ":size_bytes": i.size_bytes, ":sha256": i.sha256, ":now": now,
        },
    )?;
    Ok(conn.sqlite().last_insert_rowid())
}

/// The import with this id.
pub fn find_import(conn: &Conn, id: i64) -> Result<Option<ImportRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE i.id = ?1");
    Ok(conn.sqlite().prepare_cached(&sql)?.query_row([id], from_row).optional()?)
}

/// The imports of an org, newest first.
pub fn list_imports(conn: &Conn, org_id: i64, limit: u32, offset: u32) -> Result<Vec<ImportRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE i.org_id = ?1 ORDER BY i.id DESC LIMIT ?2 OFFSET ?3");
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, limit, offset], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The imports of the org uploaded by `uploader` (an audit actor), newest first.
pub fn list_imports_of_uploader(
    conn: &Conn,
    org_id: i64,
    uploader: &str,
    limit: u32,
    offset: u32,
) -> Result<Vec<ImportRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE i.org_id = ?1 AND i.uploader = ?2 ORDER BY i.id DESC LIMIT ?3 OFFSET ?4"
    );
    let rows = conn
        .sqlite()
        .prepare_cached(&sql)?
        .query_map(params![org_id, uploader, limit, offset], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The states of the org's other imports of this IUF (newest first), for the duplicate checks.
pub fn list_states_of_iuf(
    conn: &Conn,
    org_id: i64,
    iuf: &str,
    except_id: i64,
) -> Result<Vec<(i64, ImportState)>, StoreError> {
    let rows = conn
        .sqlite()
        .prepare_cached(
            "SELECT id, state FROM debt_import WHERE org_id = ?1 AND iuf = ?2 AND id <> ?3 ORDER BY id DESC",
        )?
        .query_map(params![org_id, iuf, except_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Moves an import to `IMPORT_IN_ELAB` (a run starts, or starts again after a crash).
pub fn update_import_started(conn: &Conn, id: i64, now: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .execute("UPDATE debt_import SET state = 'IMPORT_IN_ELAB', started_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// Records what the read-only pass found before the first row is applied: the flow's IUF and
/// layout version and how many rows it has, so that progress can say "n of total".
pub fn update_import_begun(conn: &Conn, id: i64, iuf: &str, version: &str, rows_total: i64) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE debt_import SET iuf = ?2, layout_version = ?3, rows_total = ?4, rows_loaded = 0, rows_rejected = 0 \
         WHERE id = ?1",
        params![id, iuf, version, rows_total],
    )?;
    Ok(())
}

/// Records the rows applied so far by an import in progress, with the chunk that applied them.
pub fn update_import_progress(conn: &Conn, id: i64, loaded: i64, rejected: i64) -> Result<(), StoreError> {
    conn.sqlite()
        .prepare_cached("UPDATE debt_import SET rows_loaded = ?2, rows_rejected = ?3 WHERE id = ?1")?
        .execute(params![id, loaded, rejected])?;
    Ok(())
}

/// Ends an import in `IMPORT_ESEGUITO` with its totals and result files.
pub fn update_import_done(conn: &Conn, id: i64, t: &ImportTotals, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE debt_import SET state = 'IMPORT_ESEGUITO', iuf = :iuf, layout_version = :version, \
         rows_total = :total, rows_loaded = :loaded, rows_rejected = :rejected, rejects_file = :rejects, \
         iuv_file = :iuvs, error_code = NULL, error_description = NULL, finished_at = :now WHERE id = :id",
        named_params! {
            ":id": id, ":iuf": t.iuf, ":version": t.layout_version, ":total": t.rows_total,
            ":loaded": t.rows_loaded, ":rejected": t.rows_rejected, ":rejects": t.rejects_file,
            ":iuvs": t.iuv_file, ":now": now,
        },
    )?;
    Ok(())
}

/// Ends an import in `IMPORT_ABORTITO` with a file-level code; nothing of it was applied.
pub fn update_import_aborted(conn: &Conn, id: i64, code: &str, description: &str, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE debt_import SET state = 'IMPORT_ABORTITO', error_code = ?2, error_description = ?3, \
         finished_at = ?4 WHERE id = ?1",
        params![id, code, description, now],
    )?;
    Ok(())
}

/// Sets the page cache of this connection, in KiB: a large import touches many index pages, and
/// the default 2 MiB makes SQLite re-read them. Returns the previous setting, to restore it.
pub fn set_cache_kib(conn: &Conn, kib: i64) -> Result<i64, StoreError> {
    let previous: i64 = conn.sqlite().query_row("PRAGMA cache_size", [], |row| row.get(0))?;
    conn.sqlite().pragma_update(None, "cache_size", -kib)?;
    Ok(previous)
}

/// Restores a cache setting returned by [`set_cache_kib`].
pub fn restore_cache(conn: &Conn, previous: i64) -> Result<(), StoreError> {
    conn.sqlite().pragma_update(None, "cache_size", previous)?;
    Ok(())
}

/// Replaces an ended import's result files and counts with the ones its mirror at the Region
/// gave (upstream mode: the Region's IUVs, and its refusals added to ours).
pub fn update_import_results(
    conn: &Conn,
    id: i64,
    iuv_file: Option<&str>,
    rejects_file: Option<&str>,
    loaded: i64,
    rejected: i64,
) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "UPDATE debt_import SET iuv_file = ?2, rejects_file = ?3, rows_loaded = ?4, rows_rejected = ?5 WHERE id = ?1",
        params![id, iuv_file, rejects_file, loaded, rejected],
    )?;
    Ok(())
}

/// Records the notices ZIP of an import.
pub fn update_import_notices(conn: &Conn, id: i64, notices_file: &str) -> Result<(), StoreError> {
    conn.sqlite()
        .execute("UPDATE debt_import SET notices_file = ?2 WHERE id = ?1", rusqlite::params![id, notices_file])?;
    Ok(())
}
