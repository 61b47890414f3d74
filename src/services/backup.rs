//! Backups of an installation: a consistent copy of the database taken while the server serves,
//! with its key file beside it, and their checked restore while no server runs.
//!
//! The state to keep is the database and its key file `mypay.key` (uploads and result files can be
//! made again from the database). The store copies and checks database files (`store::backup`)
//! and reads and writes key files (`store::keys`); this decides which key goes with which copy. A
//! backup writes the key as `<copy>.key` (0600) unless asked not to, so that a copy restores on a
//! new machine with no other step; whoever keeps the copies apart from the key instead (a copy
//! alone gives no working credential) passes `with_key = false` and keeps `mypay.key` themselves.
//! A restore installs the key the copy's secrets are sealed with: the one named, else the data
//! directory's if it is that key, else the one beside the copy; when none is, it refuses before
//! changing anything, since the database would not open. A replaced key file is kept as
//! `mypay.key.before-restore`, beside `mypay.db.before-restore`. A copy from before key files
//! (schema version 15 or older) holds its key itself; the first start moves it to the key file.
//! When a copy's key is lost for good, [`RestoreKey::Forget`] restores it all the same, without its
//! sealed secrets (`store::keys::forget_sealed`): the data is worth more than a few secrets an
//! operator sets again, and refusing for ever would leave only hand-made SQL.

use std::path::{Path, PathBuf};

pub use crate::store::backup::{BackupError, BackupInfo};
use crate::store::keys::{self, KeyFile};

/// A backup as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub info: BackupInfo,
    /// The key file written beside the copy; `None` when not asked for, or when the copy holds its
    /// key itself (a database not yet upgraded to key files).
    pub key_file: Option<PathBuf>,
}

/// Where the restored database's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// This key file (beside the copy, or named), installed in the data directory.
    Installed(PathBuf),
    /// The data directory's key file was already the right one.
    DataDir,
    /// The database is from before key files: the first start moves its own key (if it has one)
    /// to the key file, or makes one.
    Database,
    /// The key was forgotten with the sealed secrets: the first start makes a new key file.
    New,
}

/// Which key a restore installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreKey<'a> {
    /// The data directory's if it is the right one, else the one beside the copy.
    Find,
    /// This key file.
    Given(&'a Path),
    /// None: the key is lost. The sealed secrets are dropped (the push targets that had one are
    /// removed) and links and tokens signed before stop working.
    Forget,
}

/// A restore as done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub info: BackupInfo,
    /// Where the replaced database was kept, if there was one.
    pub previous_database: Option<PathBuf>,
    /// The data directory's key file.
    pub key_file: PathBuf,
    pub key_source: KeySource,
    /// Where the replaced key file was kept, if one was replaced.
    pub previous_key: Option<PathBuf>,
    /// With [`RestoreKey::Forget`]: the orgs whose push target was removed and whose credentials at
    /// the regional node were cleared.
    pub forgotten: keys::Forgotten,
}

/// The key file of the database at `database`: `mypay.key` beside it.
pub fn key_file_of(database: &Path) -> PathBuf {
    keys::key_path(database)
}

/// The key file that goes with the copy `copy`: `<copy>.key`.
pub fn key_beside(copy: &Path) -> PathBuf {
    let mut name = copy.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// Writes a consistent copy of the database at `database` to `dest`, and its key file to
/// `<dest>.key` when `with_key`.
pub fn backup_to(database: &Path, dest: &Path, with_key: bool) -> Result<Backup, BackupError> {
    let info = crate::store::backup::backup_to(database, dest)?;
    let Some(key_id) = info.key_id.as_deref().filter(|_| with_key) else {
        return Ok(Backup { info, key_file: None });
    };
    let live = keys::key_path(database);
    let beside = key_beside(dest);
    // The copy stays: losing a night's data over its key would be worse than a copy to pair by hand.
    let unpaired = |reason: String| BackupError::Io {
        path: beside.display().to_string(),
        reason: format!("{reason}; the copy {} is written without its key file", dest.display()),
    };
    let key = match KeyFile::read(&live) {
        Ok(Some(key)) if key.id() == key_id => key,
        Ok(Some(_)) => return Err(unpaired(format!("{} is not the key of the database", live.display()))),
        Ok(None) => return Err(unpaired(format!("{} is missing", live.display()))),
        Err(err) => return Err(unpaired(err.to_string())),
    };
    key.write_copy(&beside).map_err(|err| unpaired(err.to_string()))?;
    Ok(Backup { info, key_file: Some(beside) })
}

/// What a restore does with the data directory's key file.
enum KeyPlan {
    /// Install this key, setting aside the one there.
    Install(KeyFile),
    /// Leave the key file as it is (or missing).
    Keep,
    /// Set the key file aside, so that the first start writes the database's own key there.
    SetAside,
    /// Drop the sealed values and set the key file aside: the first start makes a new key.
    Forget,
}

/// Replaces the database at `database` with the checked backup `file`, and its key file with the
/// one the backup needs, as `key` says.
pub fn restore(file: &Path, database: &Path, key: RestoreKey<'_>) -> Result<Restored, BackupError> {
    let named = match key {
        RestoreKey::Given(path) => Some(path),
        RestoreKey::Find | RestoreKey::Forget => None,
    };
    let info = crate::store::backup::inspect(file)?;
    let live = keys::key_path(database);
    // Only compared: a damaged or too open key file there is set aside or refused at the next start.
    let current = KeyFile::read_copy(&live).ok().flatten();
    let (plan, key_source) = match info.key_id.as_deref() {
        Some(_) if key == RestoreKey::Forget => (KeyPlan::Forget, KeySource::New),
        Some(key_id) => {
            let fits = |k: &KeyFile| k.id() == key_id;
            let beside = key_beside(file);
            match named {
                // Named: it must be the one, even if the data directory's would do.
                Some(path) => {
                    let found = read_key_for(path, file, key_id)?;
                    if current.as_ref().is_some_and(fits) {
                        (KeyPlan::Keep, KeySource::DataDir)
                    } else {
                        (KeyPlan::Install(found), KeySource::Installed(path.to_owned()))
                    }
                }
                None if current.as_ref().is_some_and(fits) => (KeyPlan::Keep, KeySource::DataDir),
                None if beside.exists() => {
                    (KeyPlan::Install(read_key_for(&beside, file, key_id)?), KeySource::Installed(beside))
                }
                None => {
                    let there = if live.exists() { "is another key" } else { "does not exist" };
                    return Err(BackupError::KeyNotFound {
                        path: file.display().to_string(),
                        key_id: key_id.to_owned(),
                        looked: format!("no {} beside it, and {} {there}", beside.display(), live.display()),
                    });
                }
            }
        }
        None if key != RestoreKey::Find => {
            return Err(BackupError::KeyNotNeeded { path: file.display().to_string(), version: info.schema_version });
        }
        None => match keys::legacy_key_of(file)? {
            Some(own) if live.exists() && current.as_ref() != Some(&own) => (KeyPlan::SetAside, KeySource::Database),
            Some(_) => (KeyPlan::Keep, KeySource::Database),
            None if live.exists() => (KeyPlan::Keep, KeySource::DataDir),
            None => (KeyPlan::Keep, KeySource::Database),
        },
    };
    let (info, previous_database) = crate::store::backup::restore(file, database)?;
    let mut forgotten = keys::Forgotten::default();
    let previous_key = match plan {
        KeyPlan::Keep => None,
        KeyPlan::Install(found) => {
            let kept = set_aside(&live)?;
            found.create(&live)?;
            kept
        }
        KeyPlan::SetAside => set_aside(&live)?,
        KeyPlan::Forget => {
            forgotten = keys::forget_sealed(database)?;
            set_aside(&live)?
        }
    };
    Ok(Restored { info, previous_database, key_file: live, key_source, previous_key, forgotten })
}

/// The key file at `path`, which must be the one of id `key_id` that backup `file` needs.
fn read_key_for(path: &Path, file: &Path, key_id: &str) -> Result<KeyFile, BackupError> {
    let found = KeyFile::read_copy(path)?.ok_or_else(|| crate::store::StoreError::KeyFile {
        path: path.display().to_string(),
        reason: "does not exist".to_owned(),
    })?;
    if found.id() != key_id {
        return Err(BackupError::WrongKey { key: path.display().to_string(), path: file.display().to_string() });
    }
    Ok(found)
}

/// Moves the key file `live` to `<live>.before-restore`, if there is one; returns where.
fn set_aside(live: &Path) -> Result<Option<PathBuf>, BackupError> {
    if !live.exists() {
        return Ok(None);
    }
    let mut name = live.as_os_str().to_owned();
    name.push(".before-restore");
    let kept = PathBuf::from(name);
    std::fs::rename(live, &kept)
        .map_err(|err| BackupError::Io { path: live.display().to_string(), reason: err.to_string() })?;
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::clock::Now;
    use crate::services::payments::outcome_push::{PushSettings, set_push_target};
    use crate::store::{Db, pushes};

    const SECRET: &str = "S0VZLUZJTEUtcm91bmQtdHJpcC1vZi1hLWJhY2t1cC13aXRoLWl0cy1rZXktZmlsZS0tLS0tLS0tLS0tLS0tLS0tLS0=";

    /// A demo installation at `<dir>/mypay.db` whose org pushes with [`SECRET`].
    fn installation(dir: &Path) -> PathBuf {
        let path = dir.join("mypay.db");
        let (db, _) = Db::open(&path).unwrap();
        let now = Now::at("2026-11-30T10:00:00Z".parse().unwrap());
        crate::services::demo::seed(&db, now).unwrap();
        let settings = PushSettings {
            url: Some("https://sil.example/esiti".to_owned()),
            secret: Some(SECRET.to_owned()),
            ..PushSettings::default()
        };
        set_push_target(&db, "test", crate::services::demo::DEMO_IPA, &settings, now).unwrap();
        let upstream = crate::services::upstream::settings::UpstreamChanges {
            password: Some("Regione-1234".to_owned()),
            push_kid: Some("k1".to_owned()),
            ..Default::default()
        };
        crate::services::upstream::settings::set(&db, "test", crate::services::demo::DEMO_IPA, &upstream, now).unwrap();
        path
    }

    /// The push secret of the demo org in the database at `path`.
    fn secret(path: &Path) -> Option<String> {
        let (db, _) = Db::open(path).unwrap();
        db.read(|c| {
            let org = crate::store::orgs::find_org_by_ipa(c, crate::services::demo::DEMO_IPA)?.unwrap();
            pushes::find_push_secret(c, org.id)
        })
        .unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_backup_restores_with_its_key_and_is_refused_clearly_without_it() {
        let tmp = tempfile::tempdir().unwrap();
        let data = installation(&tmp.path().join("data"));
        let live = tmp.path().join("data").join("mypay.key");

        let copy = tmp.path().join("copy.db");
        let done = backup_to(&data, &copy, true).unwrap();
        let beside = tmp.path().join("copy.db.key");
        assert_eq!(done.key_file.as_deref(), Some(beside.as_path()));
        assert_eq!(mode(&beside), 0o600);
        assert_eq!(std::fs::read(&beside).unwrap(), std::fs::read(&live).unwrap());
        assert!(done.info.key_id.is_some());

        // On a new machine: the key beside the copy is installed, the secrets open.
        let other = tmp.path().join("other").join("mypay.db");
        let restored = restore(&copy, &other, RestoreKey::Find).unwrap();
        assert_eq!(restored.key_source, KeySource::Installed(beside.clone()));
        assert_eq!((restored.previous_database, restored.previous_key), (None, None));
        assert_eq!(mode(&restored.key_file), 0o600);
        assert_eq!(secret(&other).as_deref(), Some(SECRET));

        // A copy kept apart from its key is refused where its key is not, and nothing changes.
        let bare = tmp.path().join("bare.db");
        assert_eq!(backup_to(&data, &bare, false).unwrap().key_file, None);
        assert!(!tmp.path().join("bare.db.key").exists());
        let third = tmp.path().join("third").join("mypay.db");
        let err = restore(&bare, &third, RestoreKey::Find).unwrap_err();
        assert!(err.is_user_error());
        let text = err.to_string();
        assert!(
            text.contains("bare.db.key") && text.contains("--key") && text.contains("nothing was changed"),
            "{text}"
        );
        assert!(!third.exists() && !third.with_file_name("mypay.key").exists());
        // Another installation's key is refused by name; its own, named, is installed.
        let stranger = tmp.path().join("stranger");
        drop(Db::open(&stranger.join("mypay.db")).unwrap());
        let err = restore(&bare, &third, RestoreKey::Given(&stranger.join("mypay.key"))).unwrap_err();
        assert!(matches!(err, BackupError::WrongKey { .. }), "{err}");
        assert!(!third.exists());
        let restored = restore(&bare, &third, RestoreKey::Given(&beside)).unwrap();
        assert_eq!(restored.key_source, KeySource::Installed(beside.clone()));
        assert_eq!(secret(&third).as_deref(), Some(SECRET));

        // In its own data directory the key is already there.
        let restored = restore(&bare, &data, RestoreKey::Find).unwrap();
        assert_eq!(restored.key_source, KeySource::DataDir);
        assert!(restored.previous_database.is_some());
        assert_eq!(restored.previous_key, None);
        assert_eq!(secret(&data).as_deref(), Some(SECRET));

        // Over another installation: its key file is kept beside its database, as `.before-restore`.
        let replaced = std::fs::read(stranger.join("mypay.key")).unwrap();
        let restored = restore(&copy, &stranger.join("mypay.db"), RestoreKey::Find).unwrap();
        let kept = stranger.join("mypay.key.before-restore");
        assert_eq!(restored.previous_key.as_deref(), Some(kept.as_path()));
        assert_eq!(std::fs::read(&kept).unwrap(), replaced);
        assert_eq!(secret(&stranger.join("mypay.db")).as_deref(), Some(SECRET));

        // A damaged key beside the copy is named.
        std::fs::write(&beside, b"short").unwrap();
        let err =
            restore(&copy, &tmp.path().join("fourth").join("mypay.db"), RestoreKey::Find).unwrap_err().to_string();
        assert!(err.contains("copy.db.key") && err.contains("has 5 bytes"), "{err}");
    }

    /// A copy from before key files holds its key: restored over a data directory with another
    /// key, that key file is set aside so that the first start moves the copy's key there.
    #[test]
    fn a_copy_from_before_key_files_brings_its_own_key() {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join("old.db");
        crate::store::tests::version_15_database(&old, &"ab".repeat(32), SECRET);
        let data = installation(&tmp.path().join("data"));
        let err = restore(&old, &data, RestoreKey::Given(&tmp.path().join("data").join("mypay.key"))).unwrap_err();
        assert!(matches!(err, BackupError::KeyNotNeeded { version: 15, .. }), "{err}");
        let restored = restore(&old, &data, RestoreKey::Find).unwrap();
        assert_eq!(restored.key_source, KeySource::Database);
        assert!(restored.previous_key.is_some());
        assert!(!restored.key_file.exists());
        let (db, _) = Db::open(&data).unwrap();
        assert_eq!(db.signing_key(), [0xab; 32]);
        assert_eq!(db.read(|c| pushes::find_push_secret(c, 1)).unwrap().as_deref(), Some(SECRET));
    }

    /// A key lost for good: the copy restores without its sealed secrets (their push targets
    /// removed, to set again) and the first start makes a new key.
    #[test]
    fn a_copy_whose_key_is_lost_restores_without_its_sealed_secrets() {
        let tmp = tempfile::tempdir().unwrap();
        let data = installation(&tmp.path().join("data"));
        let bare = tmp.path().join("bare.db");
        backup_to(&data, &bare, false).unwrap();
        let other = tmp.path().join("other").join("mypay.db");
        let restored = restore(&bare, &other, RestoreKey::Forget).unwrap();
        assert_eq!(restored.key_source, KeySource::New);
        assert_eq!(restored.forgotten.push_targets, [crate::services::demo::DEMO_IPA]);
        assert_eq!(restored.forgotten.upstream_credentials, [crate::services::demo::DEMO_IPA]);
        let (db, _) = Db::open(&other).unwrap();
        assert_ne!(
            std::fs::read(&restored.key_file).unwrap(),
            std::fs::read(data.with_file_name("mypay.key")).unwrap()
        );
        assert_eq!(
            crate::services::payments::outcome_push::get_push_target(&db, crate::services::demo::DEMO_IPA).unwrap(),
            None
        );
        assert_eq!(db.read(crate::store::orgs::list_orgs).unwrap().len(), 1, "the data is all there");
        // The credentials at the region are cleared, to set again; their identity stays.
        let link = crate::services::upstream::status::view(&db, crate::services::demo::DEMO_IPA).unwrap();
        assert_eq!((link.password_set, link.push_kid.as_deref()), (false, Some("k1")));
    }
}
