//! The installation's key file, `<data_dir>/mypay.key` (beside the database), and the secrets
//! sealed with it.
//!
//! What it is for: a copy of the database alone (a backup kept apart from its key, a file sent for
//! support, a disk read past the permissions) must give no credential that works. So the database
//! keeps no key. The HMAC key of every signed link and token (`services::links`) is the key file's
//! 32 bytes; the secrets mypay must read back to use them (the outcome push's HS512 keys, and any
//! credential for another system the box will hold) are sealed with a key derived from them.
//! Passwords and tokens mypay only checks are hashes (argon2id, SHA-256) and need no key.
//!
//! The file is made once, by the first open of a database that has sealed nothing yet: 32 random
//! bytes, or the key an older database kept in its `setting` table, so that the links it signed
//! keep verifying. It is written under a temporary name, synced and hard-linked into place, so it
//! is never half-written and never replaced, and when two processes race both use the first one.
//! A key file readable by others or of the wrong size is refused, not fixed: mypay always makes it
//! 0600, so someone changed it, and a person must look (the fix is one `chmod 600`). A database
//! that records a key (every one from `migrate::SEALED_SINCE` on) is never given a new key by
//! itself: without its own key file it is refused by name, because a new key would quietly turn
//! its sealed secrets and every link already handed out into garbage. When the key is lost for
//! good, [`forget_sealed`] drops every sealed value and the record of the key, in one transaction,
//! so that the next open makes a new one: each sealed column must be cleared there (`org_push.secret`,
//! `org_upstream.password`, `org_upstream.push_secret`, `org_upstream.cart_hash`).
//!
//! Sealing: ChaCha20-Poly1305 (ring; constant-time without the AES instructions a small board may
//! lack) with a key derived by HKDF-SHA256 from the file's bytes and a random 96-bit nonce per
//! value (a few values, rarely rewritten: far from where random nonces could repeat), stored as
//! `v1:` + base64(nonce ‖ ciphertext ‖ tag). The associated data is the column and the row
//! (`org_push.secret:7`), so a sealed value copied into another row does not open. The database
//! records the key's id (another HKDF output, which tells nothing about the key), so that a wrong
//! key file is named when the database is opened instead of failing on the first secret. The
//! links keep using the file's bytes as their HMAC key, as they used the database's before: HKDF
//! only ever takes those bytes as input keying material (the message of HMAC-Extract under a fixed
//! salt), never as the key over a message, so the uses do not meet.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::{aead, hkdf};
use rusqlite::{Connection, OptionalExtension};

use super::{Conn, StoreError};

/// The key file's name, in the database's directory.
pub const KEY_FILE: &str = "mypay.key";
/// A key file holds exactly this many random bytes.
const KEY_BYTES: usize = 32;
/// What every sealed value starts with; a new format would get `v2:`.
const SEALED_PREFIX: &str = "v1:";
const HKDF_SALT: &[u8] = b"mypay key file";
const SEALING_INFO: &[u8] = b"mypay sealed secrets v1";
const ID_INFO: &[u8] = b"mypay key id v1";
/// The `setting` row recording the id of the key the database's secrets are sealed with.
const ID_SETTING: &str = "key_id";
/// The `setting` row where databases before `migrate::SEALED_SINCE` kept the installation key, in
/// hex.
const LEGACY_SETTING: &str = "hmac_key";

/// The key file of the database at `database`: `mypay.key` beside it.
pub fn key_path(database: &Path) -> PathBuf {
    database.with_file_name(KEY_FILE)
}

/// A key file's bytes, read and checked, with their id. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFile {
    bytes: [u8; KEY_BYTES],
    id: String,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyFile {{ id: {}, bytes: *** }}", self.id)
    }
}

impl KeyFile {
    fn new(bytes: [u8; KEY_BYTES]) -> Result<KeyFile, StoreError> {
        let mut id = [0u8; 16];
        prk(&bytes)
            .expand(&[ID_INFO], Len(id.len()))
            .and_then(|okm| okm.fill(&mut id))
            .map_err(|_| StoreError::Seal { column: "key_id", reason: "HKDF refused the length".to_owned() })?;
        Ok(KeyFile { bytes, id: hex(&id) })
    }

    fn random() -> Result<KeyFile, StoreError> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|err| StoreError::Seal { column: "key file", reason: format!("no randomness: {err}") })?;
        KeyFile::new(bytes)
    }

    /// The key an older database kept in its `setting` table.
    fn from_legacy_hex(text: &str) -> Result<KeyFile, StoreError> {
        let corrupt = || StoreError::Corrupt {
            column: "setting.value",
            reason: format!("the installation key ({LEGACY_SETTING}) is not {KEY_BYTES} bytes in hex"),
        };
        let mut bytes = [0u8; KEY_BYTES];
        if text.len() != KEY_BYTES * 2 {
            return Err(corrupt());
        }
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = text.get(i * 2..i * 2 + 2).ok_or_else(corrupt)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| corrupt())?;
        }
        KeyFile::new(bytes)
    }

    /// The key's id, as the database records it: it names the key without telling anything of it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The installation's key file at `path`, `None` when there is none. Refused when others may
    /// read or change it, or when it is not 32 bytes.
    pub fn read(path: &Path) -> Result<Option<KeyFile>, StoreError> {
        read_checked(path, true)
    }

    /// A copy of a key file (beside a backup): its size is checked, not its mode, since it is
    /// installed 0600 whatever mode the copy has.
    pub fn read_copy(path: &Path) -> Result<Option<KeyFile>, StoreError> {
        read_checked(path, false)
    }

    /// Makes `path` this key, unless it exists: then the key there is returned (another process
    /// made it first), and a file that is no key file is refused as [`KeyFile::read`] does.
    pub fn create(&self, path: &Path) -> Result<KeyFile, StoreError> {
        let tmp = self.write_temporary(path)?;
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_parent(path);
                Ok(self.clone())
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                KeyFile::read(path)?.ok_or_else(|| key_error(path, "vanished while it was being made"))
            }
            Err(err) => Err(key_error(path, err)),
        }
    }

    /// Writes this key to `path` (0600), replacing what is there: the copy beside a backup.
    pub fn write_copy(&self, path: &Path) -> Result<(), StoreError> {
        let tmp = self.write_temporary(path)?;
        if let Err(err) = std::fs::rename(&tmp, path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(key_error(path, err));
        }
        sync_parent(path);
        Ok(())
    }

    /// The key, synced, in a new 0600 file beside `path`; returns that file's name.
    fn write_temporary(&self, path: &Path) -> Result<PathBuf, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut suffix = [0u8; 4];
        getrandom::fill(&mut suffix)
            .map_err(|err| StoreError::Seal { column: "key file", reason: format!("no randomness: {err}") })?;
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".tmp-{}-{}", std::process::id(), hex(&suffix)));
        let tmp = PathBuf::from(name);
        let written = (|| {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
            file.write_all(&self.bytes)?;
            file.sync_all()
        })();
        if let Err(err) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(key_error(path, err));
        }
        Ok(tmp)
    }
}

fn read_checked(path: &Path, strict: bool) -> Result<Option<KeyFile>, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(key_error(path, err)),
    };
    if !meta.is_file() {
        return Err(key_error(path, "is not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if strict && mode & 0o077 != 0 {
        return Err(key_error(
            path,
            format!(
                "has mode {mode:04o}: other users may read or change it. mypay makes it 0600, so someone changed \
                 it; check who could read it, then: chmod 600 {}",
                path.display()
            ),
        ));
    }
    let data = std::fs::read(path).map_err(|err| key_error(path, err))?;
    let bytes: [u8; KEY_BYTES] = data.as_slice().try_into().map_err(|_| {
        key_error(
            path,
            format!("has {} bytes, a key file has {KEY_BYTES}: not a mypay key file, or a damaged copy", data.len()),
        )
    })?;
    KeyFile::new(bytes).map(Some)
}

/// The keys of one database, derived from its key file.
pub struct Keys {
    file: KeyFile,
    sealing: aead::LessSafeKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys {{ id: {}, .. }}", self.file.id)
    }
}

impl Keys {
    pub fn new(file: KeyFile) -> Result<Keys, StoreError> {
        let prk = prk(&file.bytes);
        let sealing = prk
            .expand(&[SEALING_INFO], &aead::CHACHA20_POLY1305)
            .map_err(|_| StoreError::Seal { column: "key file", reason: "HKDF refused the length".to_owned() })?;
        let sealing = aead::LessSafeKey::new(aead::UnboundKey::from(sealing));
        Ok(Keys { file, sealing })
    }

    /// The id of the key file.
    pub fn id(&self) -> &str {
        self.file.id()
    }

    /// The installation's HMAC key for signed links and tokens: the key file's bytes.
    pub fn signing_key(&self) -> &[u8] {
        &self.file.bytes
    }

    /// `clear`, sealed for `column` of row `row`.
    pub(super) fn seal(&self, column: &'static str, row: i64, clear: &str) -> Result<String, StoreError> {
        let mut nonce = [0u8; aead::NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|err| StoreError::Seal { column, reason: format!("no randomness: {err}") })?;
        let mut sealed = clear.as_bytes().to_vec();
        self.sealing
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(associated(column, row).as_bytes()),
                &mut sealed,
            )
            .map_err(|_| StoreError::Seal { column, reason: "the value is too long".to_owned() })?;
        let mut stored = nonce.to_vec();
        stored.append(&mut sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(stored)))
    }

    /// The clear value of `sealed`, read from `column` of row `row`. A value altered, moved from
    /// another row or sealed with another key is [`StoreError::Corrupt`], naming the column.
    pub(super) fn open(&self, column: &'static str, row: i64, sealed: &str) -> Result<String, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt { column, reason };
        let Some(encoded) = sealed.strip_prefix(SEALED_PREFIX) else {
            return Err(corrupt("is not sealed with the key file (a clear value written by hand?)".to_owned()));
        };
        let refused = || {
            corrupt(format!(
                "does not open with key file {}: altered, copied from another row, or sealed with another key",
                self.id()
            ))
        };
        let data = STANDARD.decode(encoded).map_err(|_| refused())?;
        let (nonce, body) = data.split_at_checked(aead::NONCE_LEN).ok_or_else(refused)?;
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut body = body.to_vec();
        let clear = self
            .sealing
            .open_in_place(nonce, aead::Aad::from(associated(column, row).as_bytes()), &mut body)
            .map_err(|_| refused())?;
        String::from_utf8(clear.to_vec()).map_err(|_| refused())
    }
}

/// The associated data of a sealed value: where it belongs.
fn associated(column: &str, row: i64) -> String {
    format!("{column}:{row}")
}

fn prk(bytes: &[u8]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(bytes)
}

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// The keys of the database at `database`, whose writer is `conn`, before its upgrade: its key file
/// read (and checked against the id the database recorded), or made when the database has sealed
/// nothing yet, from the key an older database kept itself or from random bytes.
pub(super) fn resolve(conn: &Connection, database: &Path) -> Result<Keys, StoreError> {
    let path = key_path(database);
    let has_settings: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'setting'",
        [],
        |row| row.get(0),
    )?;
    let setting = |key: &str| -> Result<Option<String>, StoreError> {
        if !has_settings {
            return Ok(None);
        }
        Ok(conn.query_row("SELECT value FROM setting WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    };
    let recorded = setting(ID_SETTING)?;
    let legacy = setting(LEGACY_SETTING)?.map(|text| KeyFile::from_legacy_hex(&text)).transpose()?;
    let names = || (database.display().to_string(), path.display().to_string());
    let file = match KeyFile::read(&path)? {
        Some(file) => file,
        // Every database from `migrate::SEALED_SINCE` on records its key's id, in the transaction
        // that creates or upgrades it; only `forget_sealed` takes it away, with every sealed value.
        None if recorded.is_some() => {
            let (database, key) = names();
            return Err(StoreError::KeyMissing { database, key });
        }
        None => match &legacy {
            Some(key) => key.create(&path)?,
            None => KeyFile::random()?.create(&path)?,
        },
    };
    if recorded.as_deref().is_some_and(|id| id != file.id()) {
        let (database, key) = names();
        return Err(StoreError::WrongKey { database, key });
    }
    if legacy.as_ref().is_some_and(|legacy| *legacy != file) {
        let (database, key) = names();
        return Err(StoreError::KeyConflict { database, key });
    }
    Keys::new(file)
}

/// Records the id of the database's key, in the transaction that creates or upgrades it.
pub(super) fn record_id(conn: &Conn, now: &str) -> Result<(), StoreError> {
    conn.sqlite().execute(
        "INSERT INTO setting (key, value, created_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [ID_SETTING, conn.keys().id(), now],
    )?;
    Ok(())
}

/// The key an older database file (before `migrate::SEALED_SINCE`) keeps itself, if any; read-only.
pub fn legacy_key_of(file: &Path) -> Result<Option<KeyFile>, StoreError> {
    let conn = Connection::open_with_flags(
        file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let has_settings: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'setting'",
        [],
        |row| row.get(0),
    )?;
    if !has_settings {
        return Ok(None);
    }
    let text: Option<String> =
        conn.query_row("SELECT value FROM setting WHERE key = ?1", [LEGACY_SETTING], |row| row.get(0)).optional()?;
    text.map(|text| KeyFile::from_legacy_hex(&text)).transpose()
}

/// The id of the key a database file's secrets are sealed with, as it recorded it; `None` for a
/// database before `migrate::SEALED_SINCE`. `conn` is any connection on it.
pub(super) fn recorded_id(conn: &Connection) -> Result<Option<String>, StoreError> {
    let has_settings: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'setting'",
        [],
        |row| row.get(0),
    )?;
    if !has_settings {
        return Ok(None);
    }
    Ok(conn.query_row("SELECT value FROM setting WHERE key = ?1", [ID_SETTING], |row| row.get(0)).optional()?)
}

/// What [`forget_sealed`] took away, by org IPA code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Forgotten {
    /// The orgs whose push target was removed.
    pub push_targets: Vec<String>,
    /// The orgs whose credentials at the regional node were cleared.
    pub upstream_credentials: Vec<String>,
}

/// For a database whose key file is lost for good: removes every sealed value (the push targets
/// that had a secret, since pushing unsigned where a signature was asked would be worse than not
/// pushing; the orgs' credentials at the regional node) and the record of the key, in one
/// transaction, so that the next open makes a new key.
pub fn forget_sealed(database: &Path) -> Result<Forgotten, StoreError> {
    let mut conn = Connection::open_with_flags(
        database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let push_targets = super::pushes::forget_sealed_secrets(&tx)?;
    let upstream_credentials = super::upstream::forget_sealed_secrets(&tx)?;
    tx.execute("DELETE FROM setting WHERE key = ?1", [ID_SETTING])?;
    tx.commit()?;
    Ok(Forgotten { push_targets, upstream_credentials })
}

fn key_error(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::KeyFile { path: path.display().to_string(), reason: reason.to_string() }
}

/// Makes a new name durable; best effort (not every filesystem lets a directory be synced).
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
impl Keys {
    /// Keys from fixed bytes, for tests that build a connection by hand.
    pub(crate) fn for_tests() -> Keys {
        #[allow(clippy::unwrap_used, reason = "fixed bytes always derive")]
        Keys::new(KeyFile::new([7u8; KEY_BYTES]).unwrap()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_row_and_column_with_its_own_key() {
        let keys = Keys::for_tests();
        let sealed = keys.seal("org_push.secret", 7, "hunter2").unwrap();
        assert!(sealed.starts_with("v1:"), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, keys.seal("org_push.secret", 7, "hunter2").unwrap(), "a fresh nonce each time");
        assert_eq!(keys.open("org_push.secret", 7, &sealed).unwrap(), "hunter2");

        let refused = |err: StoreError| {
            let text = err.to_string();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{text}");
            text
        };
        assert!(refused(keys.open("org_push.secret", 8, &sealed).unwrap_err()).contains("copied from another row"));
        refused(keys.open("upstream.password", 7, &sealed).unwrap_err());
        let other = Keys::new(KeyFile::new([8u8; KEY_BYTES]).unwrap()).unwrap();
        refused(other.open("org_push.secret", 7, &sealed).unwrap_err());
        // Any altered character, a truncation, or a clear value: a clear error, never a panic.
        for at in 3..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            refused(keys.open("org_push.secret", 7, &altered).unwrap_err());
        }
        for cut in [3, 5, 10, sealed.len() - 1] {
            refused(keys.open("org_push.secret", 7, &sealed[..cut]).unwrap_err());
        }
        assert!(refused(keys.open("org_push.secret", 7, "hunter2").unwrap_err()).contains("not sealed"));
    }

    #[test]
    fn the_key_file_is_made_once_private_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        assert_eq!(KeyFile::read(&path).unwrap(), None);
        let first = KeyFile::random().unwrap().create(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_BYTES);
        assert_eq!(KeyFile::read(&path).unwrap().as_ref(), Some(&first));
        // A second maker gets the first key: the file is never replaced.
        let again = KeyFile::random().unwrap().create(&path).unwrap();
        assert_eq!(again, first);
        assert_eq!(first.id().len(), 32);
        assert!(!format!("{first:?}").contains(&hex(&first.bytes)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = KeyFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("mode 0640") && err.contains("chmod 600"), "{err}");
        assert_eq!(mode(&path), 0o640, "refused, not changed");
        assert_eq!(KeyFile::read_copy(&path).unwrap().as_ref(), Some(&first), "a copy's mode is not checked");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, [1u8; 31]).unwrap();
        let err = KeyFile::read(&path).unwrap_err().to_string();
        assert!(err.contains("has 31 bytes"), "{err}");
        let err = KeyFile::random().unwrap().create(&path).unwrap_err().to_string();
        assert!(err.contains("has 31 bytes"), "a damaged key file is not replaced: {err}");

        let copy = dir.path().join("backup.db.key");
        first.write_copy(&copy).unwrap();
        first.write_copy(&copy).unwrap();
        assert_eq!(mode(&copy), 0o600);
        assert_eq!(KeyFile::read(&copy).unwrap(), Some(first));
    }

    #[test]
    fn a_legacy_key_must_be_32_bytes_of_hex() {
        let key = KeyFile::from_legacy_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(key.bytes, [0xab; 32]);
        for bad in ["ab", "zz".repeat(32).as_str(), "é".repeat(32).as_str()] {
            assert!(matches!(KeyFile::from_legacy_hex(bad), Err(StoreError::Corrupt { .. })), "{bad}");
        }
    }
}
