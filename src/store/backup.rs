//! Backups of the database file: a consistent copy taken while the server writes, and the checks a
//! file must pass before it may replace the database.
//!
//! The copy uses SQLite's online backup API in one step: the source is read inside a single read
//! transaction, so in WAL mode it is one snapshot even while the server commits, and the server's
//! writers are never blocked (readers do not block writers in WAL). A step-by-step copy would start
//! again each time another connection writes, and might never finish on a busy station.
//! Files are written under a temporary name, synced and renamed, so a backup or restore that fails
//! half-way leaves no file that looks complete. The database file only: its key file (`keys`) joins
//! the backup in `services::backup`, told by [`BackupInfo::key_id`] which key a copy needs.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{SCHEMA_VERSION, StoreError};

/// Tables every mypay database has had since schema version 1; a file without them is not ours.
const CORE_TABLES: &[&str] = &["org", "debt_type", "operator", "debt", "audit"];

/// What a backup file holds, as checked by [`inspect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The schema version (`PRAGMA user_version`); older versions are upgraded when the restored
    /// database is next opened.
    pub schema_version: i64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Number of organisations and debt positions, so an operator sees what they restore.
    pub orgs: i64,
    pub debts: i64,
    /// The id of the key file the database's secrets are sealed with; `None` for a database from
    /// before sealed secrets (schema version 15 or older), which holds its installation key itself.
    pub key_id: Option<String>,
}

/// Why a file cannot be used as a mypay database.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path} is not a mypay database: {reason}")]
    NotMypay { path: String, reason: String },
    #[error("{path} has schema version {found}, newer than this mypay ({supported}): upgrade mypay first")]
    TooNew { path: String, found: i64, supported: i64 },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error(
        "{path} keeps its secrets sealed with the key file of id {key_id}, which is not here ({looked}): name the \
         key file saved with that backup with --key FILE (or, if that key is lost for good, restore with \
         --forget-secrets: its push secrets are dropped); nothing was changed"
    )]
    KeyNotFound { path: String, key_id: String, looked: String },
    #[error(
        "{key} is not the key file of {path} (it is another installation's or another backup's); nothing was changed"
    )]
    WrongKey { key: String, path: String },
    #[error(
        "{path} is from an older mypay (schema version {version}) and holds its installation key itself: restore \
         it without --key or --forget-secrets; nothing was changed"
    )]
    KeyNotNeeded { path: String, version: i64 },
}

impl BackupError {
    /// Whether the file given by the user is at fault (exit code 2), not the system.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            BackupError::NotMypay { .. }
                | BackupError::TooNew { .. }
                | BackupError::KeyNotFound { .. }
                | BackupError::WrongKey { .. }
                | BackupError::KeyNotNeeded { .. }
        )
    }
}

fn io(path: &Path, err: impl std::fmt::Display) -> BackupError {
    BackupError::Io { path: path.display().to_string(), reason: err.to_string() }
}

/// Copies the database at `source` to `dest` (replacing it), consistent as of one instant, while
/// other processes may keep writing to `source`. Returns what the copy holds.
pub fn backup_to(source: &Path, dest: &Path) -> Result<BackupInfo, BackupError> {
    if !source.exists() {
        return Err(io(source, "no database here (check --data-dir or data_dir)"));
    }
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(StoreError::from)?;
    src.busy_timeout(super::BUSY_TIMEOUT).map_err(StoreError::from)?;
    let tmp = temporary_name(dest);
    let _ = std::fs::remove_file(&tmp);
    let copied = (|| -> Result<(), BackupError> {
        // A backup holds what the database holds: only its owner may read it.
        super::private_file(&tmp).map_err(|err| io(&tmp, err))?;
        let mut dst = Connection::open(&tmp).map_err(StoreError::from)?;
        {
            let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(StoreError::from)?;
            // -1: every page in one step, inside one read transaction on the source.
            match backup.step(-1).map_err(StoreError::from)? {
                rusqlite::backup::StepResult::Done => {}
                other => return Err(io(source, format!("backup did not complete ({other:?}); try again"))),
            }
        }
        // A backup is one self-contained file: no WAL beside it.
        let mode: String =
            dst.query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0)).map_err(StoreError::from)?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(io(dest, format!("cannot leave WAL mode (got {mode})")));
        }
        dst.close().map_err(|(_, err)| StoreError::from(err))?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|err| io(&tmp, err))
    })();
    if let Err(err) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    let info = match inspect(&tmp) {
        Ok(info) => info,
        Err(err) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(err);
        }
    };
    std::fs::rename(&tmp, dest).map_err(|err| io(dest, err))?;
    sync_parent(dest);
    Ok(info)
}

/// Checks that `file` is a mypay database this binary can open (schema version 1 to
/// [`SCHEMA_VERSION`], the core tables, SQLite's `quick_check`), without changing it.
pub fn inspect(file: &Path) -> Result<BackupInfo, BackupError> {
    let path = file.display().to_string();
    let not_mypay = |reason: String| BackupError::NotMypay { path: path.clone(), reason };
    let bytes = std::fs::metadata(file).map_err(|err| io(file, err))?.len();
    let mut header = [0u8; 16];
    let read = std::io::Read::read(&mut std::fs::File::open(file).map_err(|err| io(file, err))?, &mut header)
        .map_err(|err| io(file, err))?;
    if read < header.len() || &header != b"SQLite format 3\0" {
        return Err(not_mypay("not an SQLite database".to_owned()));
    }
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(StoreError::from)?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(StoreError::from)?;
    if version > SCHEMA_VERSION {
        return Err(BackupError::TooNew { path, found: version, supported: SCHEMA_VERSION });
    }
    if version < 1 {
        return Err(not_mypay(format!("schema version {version}")));
    }
    for table in CORE_TABLES {
        let found: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", [table], |row| {
                row.get(0)
            })
            .map_err(StoreError::from)?;
        if found == 0 {
            return Err(not_mypay(format!("no {table} table")));
        }
    }
    let check: String = conn.query_row("PRAGMA quick_check", [], |row| row.get(0)).map_err(StoreError::from)?;
    if check != "ok" {
        return Err(not_mypay(format!("damaged: {check}")));
    }
    let count = |table: &str| -> Result<i64, BackupError> {
        Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).map_err(StoreError::from)?)
    };
    Ok(BackupInfo {
        schema_version: version,
        bytes,
        orgs: count("org")?,
        debts: count("debt")?,
        key_id: super::keys::recorded_id(&conn)?,
    })
}

/// Replaces the database at `database` with the checked copy of `file`. The current database (if
/// any) is first kept as `<database>.before-restore` by the same consistent copy, so a wrong
/// restore can be undone; a database too damaged to be copied is moved there as it is (with its
/// WAL), since a damaged database is exactly when one restores. The caller makes sure no server
/// uses `database`.
pub fn restore(file: &Path, database: &Path) -> Result<(BackupInfo, Option<PathBuf>), BackupError> {
    let info = inspect(file)?;
    let kept = if database.exists() {
        let kept = database.with_extension("db.before-restore");
        if backup_to(database, &kept).is_err() {
            std::fs::rename(database, &kept).map_err(|err| io(database, err))?;
            let wal = side_file(database, "-wal");
            if wal.exists() {
                std::fs::rename(&wal, side_file(&kept, "-wal")).map_err(|err| io(&wal, err))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| io(dir, err))?;
    }
    let tmp = temporary_name(database);
    let copied = std::fs::copy(file, &tmp)
        .and_then(|_| std::fs::OpenOptions::new().write(true).open(&tmp))
        .and_then(|f| f.sync_all());
    if let Err(err) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp, err));
    }
    // The old WAL belongs to the old file: left beside the new one it would be replayed into it.
    for suffix in ["-wal", "-shm"] {
        let side = side_file(database, suffix);
        if side.exists() {
            std::fs::remove_file(&side).map_err(|err| io(&side, err))?;
        }
    }
    std::fs::rename(&tmp, database).map_err(|err| io(database, err))?;
    sync_parent(database);
    Ok((info, kept))
}

fn temporary_name(path: &Path) -> PathBuf {
    side_file(path, &format!(".tmp-{}", std::process::id()))
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal`, `-shm`).
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes a rename durable; best effort (not every filesystem lets a directory be synced).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::store::Db;

    #[test]
    fn backup_then_restore_round_trips_and_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("mypay.db");
        let (db, _) = Db::open(&db_path).unwrap();
        crate::services::demo::seed(&db, crate::clock::Now::at("2026-11-30T00:00:00Z".parse().unwrap())).unwrap();
        let copy = dir.path().join("copy.db");
        let info = backup_to(&db_path, &copy).unwrap();
        assert_eq!(info.schema_version, SCHEMA_VERSION);
        assert_eq!(info.orgs, 1);
        assert!(info.debts > 0);
        assert!(!dir.path().join("copy.db-wal").exists());
        drop(db);

        let other = dir.path().join("other").join("mypay.db");
        let (restored, kept) = restore(&copy, &other).unwrap();
        assert_eq!((restored, kept), (info.clone(), None));
        let (_, kept) = restore(&copy, &other).unwrap();
        assert_eq!(kept, Some(dir.path().join("other").join("mypay.db.before-restore")));
        // The database file only: its key file is `services::backup`'s to bring along.
        assert!(matches!(Db::open(&other), Err(StoreError::KeyMissing { .. })));
        std::fs::copy(dir.path().join("mypay.key"), dir.path().join("other").join("mypay.key")).unwrap();
        let (db, applied) = Db::open(&other).unwrap();
        assert_eq!(applied, 0);
        drop(db);

        let text = dir.path().join("notes.db");
        std::fs::write(&text, "hello, not a database at all").unwrap();
        assert_eq!(
            inspect(&text).unwrap_err().to_string(),
            format!("{} is not a mypay database: not an SQLite database", text.display())
        );
        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x); PRAGMA user_version = 3;").unwrap();
        assert_eq!(
            inspect(&foreign).unwrap_err().to_string(),
            format!("{} is not a mypay database: no org table", foreign.display())
        );
        // A database too damaged to copy is moved aside as it is, and the restore goes on.
        std::fs::write(&other, b"SQLite format 3\0 and then nothing SQLite can read").unwrap();
        let (_, kept) = restore(&copy, &other).unwrap();
        let kept = kept.unwrap();
        assert!(std::fs::read(&kept).unwrap().ends_with(b"nothing SQLite can read"));
        assert_eq!(inspect(&other).unwrap().debts, info.debts);

        let newer = dir.path().join("newer.db");
        std::fs::copy(&copy, &newer).unwrap();
        Connection::open(&newer).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let err = restore(&newer, &other).unwrap_err();
        assert!(err.is_user_error());
        assert!(err.to_string().contains("upgrade mypay first"), "{err}");
    }
}
