//! Backups of an installation: a consistent copy of the database taken while the server serves,
//! and its checked restore while no server runs. Today the database is the whole state to keep
//! (uploads and result files can be made again from it); the store does the SQLite work
//! (`store::backup`), this is the seam the adapters call, where files beside the database (a
//! secrets key file) will join the backup.

use std::path::{Path, PathBuf};

pub use crate::store::backup::{BackupError, BackupInfo};

/// Writes a consistent copy of the database at `database` to `dest`.
pub fn backup_to(database: &Path, dest: &Path) -> Result<BackupInfo, BackupError> {
    crate::store::backup::backup_to(database, dest)
}

/// Replaces the database at `database` with the checked backup `file`; returns what was restored
/// and where the replaced database was kept, if there was one.
pub fn restore(file: &Path, database: &Path) -> Result<(BackupInfo, Option<PathBuf>), BackupError> {
    crate::store::backup::restore(file, database)
}
