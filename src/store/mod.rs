//! The SQLite store: the only module that sees rusqlite or writes SQL.
//!
//! One file per aggregate (`orgs`, `debt_types`, `operators`, `debts`, `imports`, `notices` (the debts
//! of an import's notices ZIP), `jobs`, `receipts`, `exports`, `audit`, `pushes`, `api_tokens`,
//! `retention` (the purge's statements), `accertamenti` and `recon_notes` (reconciliation's
//! assessments and operators' notes), `upstream` (each org's link with the regional node, and the region's pushes), `outbox`, `region_payments`,
//! and for the portal `sessions`, `carts`, `mail`), each with its SQL
//! at the top; `backup` copies and checks whole database files; `keys` reads (or makes) the key
//! file beside the database and seals the secrets stored in it, so that callers read and write
//! them in clear and the file holds none; `codes` stores state enums as their codes and domain
//! values as their text. Records carry domain types: a debtor, payer or beneficiary as
//! `domain::Party`, a calendar day as `domain::Day`, validated identifiers as `Iuv`/`NoticeNumber`;
//! what arrived from outside unchecked (a receipt's IUV and notice number) stays text, and instants
//! (`*_at`) are the UTC text of `clock::Now::iso`, compared as text in SQL. [`Db`] owns one writer connection
//! and a few readers; every write runs in one
//! `BEGIN IMMEDIATE` transaction through [`Db::write`], so a change is all there or not at all.
//! Three ways to open it: [`Db::open`] for the server (migrates; a busy writer fails after
//! [`BUSY_TIMEOUT`]), [`Db::open_patient`] for a command that writes (waits for another process's
//! writer as long as its caller's patience lasts, saying so), and [`Db::open_read_only`] for a
//! command that only reads (no writer at all, so a large import in another process never blocks it).
//! `PRAGMA optimize` runs only when the writer is free at that moment, never waiting for it.
//! Callers hold a [`Conn`] and hand it to the functions here; the SQLite connection inside it is
//! reachable from this directory only.
//! Functions are named by the shape of their result: `get_*` (must exist), `find_*` (optional),
//! `list_*` (many), `insert_*`/`update_*`/`delete_*` (writes).
//! **Invariant:** nothing outside this module names a table or column.

pub mod accertamenti;
pub mod accertamenti_auto;
pub mod adhesion;
pub mod anomalies;
pub mod api_tokens;
pub mod audit;
pub mod backup;
pub mod carts;
mod codes;
pub mod dashboard;
pub mod debt_options;
pub mod debt_search;
pub mod debt_types;
pub mod debts;
pub mod exports;
pub mod imports;
pub mod jobs;
pub mod keys;
pub mod mail;
mod migrate;
pub mod notices;
pub mod operators;
pub mod orgs;
pub mod outbox;
pub mod payment_offers;
pub mod pivot;
pub mod privacy_notices;
pub mod pushes;
pub mod receipts;
pub mod recon_exports;
pub mod recon_notes;
pub mod reconciliation;
pub mod recovery;
pub mod region_payments;
pub mod reporting;
pub mod retention;
pub mod sessions;
pub mod sil;
pub mod upstream;
pub mod upstream_poll;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use migrate::SCHEMA_VERSION;

/// A database connection, opaque outside the store: services get one from [`Db::read`],
/// [`Db::read_tx`] or [`Db::write`] (then it is inside the call's transaction) and pass it to store
/// functions. Only this module and its children reach the SQLite connection inside, so no service
/// can run SQL through it, and another engine would change the store alone.
pub struct Conn {
    sqlite: Connection,
    keys: Arc<keys::Keys>,
}

impl Conn {
    /// The SQLite connection inside; private, so visible to the store's own files only.
    fn sqlite(&self) -> &Connection {
        &self.sqlite
    }

    /// The keys that seal the secrets of this database; private like the connection.
    fn keys(&self) -> &keys::Keys {
        &self.keys
    }

    /// Begins a transaction that commits or rolls back through the returned guard, and rolls back
    /// when the guard is dropped unfinished (an `Err` or a panic). Unchecked: rusqlite's checked
    /// form needs `&mut Connection` only to rule out a nested `BEGIN` at compile time, and the
    /// closure run inside must be handed `&self`; a nested `BEGIN` would fail at run time instead,
    /// and no store function issues one.
    fn begin(&self, behavior: TransactionBehavior) -> Result<Transaction<'_>, StoreError> {
        Ok(Transaction::new_unchecked(&self.sqlite, behavior)?)
    }
}

/// How long a connection waits for a lock before giving up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a patient writer waits between two calls of its [`Patience`].
const PATIENT_STEP: Duration = Duration::from_secs(1);

/// Called with the time waited so far while another process holds the database's write lock;
/// `false` stops waiting ([`StoreError::GaveUpWaiting`]).
pub type Patience = Box<dyn Fn(Duration) -> bool + Send + Sync>;
/// Read connections kept open; more readers wait for one to be free.
const READERS: usize = 4;

/// A store failure. The details are for logs; users see a generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("cannot prepare data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("database {path} has schema version {found}, newer than this mypay ({supported}): upgrade mypay")]
    TooNew { path: String, found: i64, supported: i64 },
    #[error("database {path} has unknown schema version {found}")]
    UnknownVersion { path: String, found: i64 },
    /// A read-only open found an older schema: only a writer may upgrade it.
    #[error(
        "database {path} has schema version {found}, older than this mypay ({supported}): start `mypay serve` \
         (or run a command that writes) to upgrade it first"
    )]
    NeedsUpgrade { path: String, found: i64, supported: i64 },
    /// A read-only open found no database.
    #[error("no database at {path}: start `mypay serve` (or run a command that writes, such as `mypay org add`) first")]
    Missing { path: String },
    /// A write on a database opened with [`Db::open_read_only`]: a command classified as reading
    /// tried to write.
    #[error("the database was opened read-only")]
    ReadOnly,
    /// The [`Patience`] of a patient writer ran out.
    #[error("gave up waiting for the database")]
    GaveUpWaiting,
    /// A uniqueness rule of the schema refused the write.
    #[error("already exists: {0}")]
    Duplicate(String),
    /// A stored value no longer parses (the file was edited by hand or is corrupt), or a sealed one
    /// does not open.
    #[error("corrupt value in {column}: {reason}")]
    Corrupt { column: &'static str, reason: String },
    /// The key file cannot be read or made, or is not one mypay may use.
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "database {database} keeps its secrets sealed with the key file {key}, which is missing: put back the key \
         file saved with it (mypay backup writes one beside each copy, as <copy>.key); mypay does not make a new \
         key for it, since its secrets and the links it signed would stop working"
    )]
    KeyMissing { database: String, key: String },
    #[error(
        "key file {key} is not the one database {database} was sealed with: put back its own key file (the one \
         saved beside its backup, as <copy>.key)"
    )]
    WrongKey { database: String, key: String },
    #[error(
        "database {database}, from an older mypay, holds its own installation key, and the key file {key} holds \
         another one (of another database): move {key} away and start again, and the upgrade writes this \
         database's key there"
    )]
    KeyConflict { database: String, key: String },
    /// A secret could not be sealed.
    #[error("cannot seal {column}: {reason}")]
    Seal { column: &'static str, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    /// A stored state code no enum knows, or a stored notice number or IUV that does not parse, is
    /// [`StoreError::Corrupt`]; everything else is SQLite's.
    fn from(err: rusqlite::Error) -> StoreError {
        if let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = &err
            && let Some(unknown) = inner.downcast_ref::<codes::UnknownCode>()
        {
            return StoreError::Corrupt { column: unknown.column, reason: unknown.to_string() };
        }
        if let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = &err
            && let Some(invalid) = inner.downcast_ref::<codes::InvalidValue>()
        {
            return StoreError::Corrupt { column: invalid.column, reason: invalid.reason.clone() };
        }
        StoreError::Sqlite(err)
    }
}

impl StoreError {
    /// Whether another connection held the lock this one needed (`SQLITE_BUSY`).
    fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, _))
            if code.code == rusqlite::ErrorCode::DatabaseBusy)
    }

    /// Maps SQLite's unique-constraint failures to [`StoreError::Duplicate`], the one failure callers
    /// handle specially.
    pub(crate) fn from_sqlite(err: rusqlite::Error) -> StoreError {
        match &err {
            rusqlite::Error::SqliteFailure(code, message)
                if code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    // The triggers that keep a live IUV unique across debts and their options.
                    || (code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_TRIGGER
                        && message.as_deref().is_some_and(|m| m.starts_with("UNIQUE"))) =>
            {
                StoreError::Duplicate(message.clone().unwrap_or_default())
            }
            _ => StoreError::from(err),
        }
    }
}

/// The database: one writer, a few readers, all on one file in WAL mode.
pub struct Db {
    path: PathBuf,
    /// `None` when opened with [`Db::open_read_only`].
    writer: Option<Mutex<Conn>>,
    /// How a writer waits for another process's write lock: `None` gives up after [`BUSY_TIMEOUT`].
    patience: Option<Patience>,
    /// The key file's keys, shared by every connection.
    keys: Arc<keys::Keys>,
    /// Idle readers, each with the statistics generation it was opened in.
    readers: Mutex<Vec<(Conn, u64)>>,
    /// Bumped when [`Db::optimize`] changed the planner's statistics: SQLite loads them when a
    /// connection reads the schema, so a reader opened before keeps planning with the old ones
    /// and is opened again when it comes back to the pool.
    stats_generation: std::sync::atomic::AtomicU64,
    reader_freed: std::sync::Condvar,
    /// Threads waiting for the writer: bulk work lets them in between its chunks
    /// ([`Db::let_writers_in`]), since the mutex alone would hand the writer back to it.
    waiting_writers: std::sync::atomic::AtomicUsize,
}

/// Makes `path` a file only its owner reads and writes (0600), creating it empty if it is missing:
/// the database holds every debtor's data (its secrets are sealed with the key file, `keys`).
/// SQLite gives its `-wal` and `-shm` files the mode of the database file, so they follow. A
/// database left readable by others (made before this rule) is tightened, and the log says so.
pub(crate) fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::warn!(path = %path.display(), "the database was readable by other users: now 0600");
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) the database at `path`, applies the schema or pending migrations,
    /// and returns the number of migrations applied. Waiting for another process's writer fails
    /// after [`BUSY_TIMEOUT`].
    pub fn open(path: &Path) -> Result<(Db, u32), StoreError> {
        Db::open_writer(path, None)
    }

    /// Like [`Db::open`], for a command that writes while another process may hold the writer for
    /// long (an import): every wait for the write lock, the migration check's included, goes on as
    /// long as `patience` says so, called about once a second with the time waited.
    pub fn open_patient(path: &Path, patience: Patience) -> Result<(Db, u32), StoreError> {
        Db::open_writer(path, Some(patience))
    }

    fn open_writer(path: &Path, patience: Option<Patience>) -> Result<(Db, u32), StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|err| StoreError::DataDir { path: dir.display().to_string(), reason: err.to_string() })?;
        }
        private_file(path)
            .map_err(|err| StoreError::DataDir { path: path.display().to_string(), reason: err.to_string() })?;
        let sqlite = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&sqlite)?;
        if patience.is_some() {
            sqlite.busy_timeout(PATIENT_STEP)?;
        }
        // Before the upgrade: the step that seals the secrets needs the key, and a database from an
        // older mypay gives its own key to the key file.
        let keys = Arc::new(keys::resolve(&sqlite, path)?);
        let writer = Conn { sqlite, keys: Arc::clone(&keys) };
        let display = path.display().to_string();
        let applied = patiently(patience.as_ref(), || migrate::migrate(&writer, &display))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push((open_reader(path, &keys)?, 0));
        }
        let db = Db {
            path: path.to_owned(),
            writer: Some(Mutex::new(writer)),
            patience,
            keys,
            readers: Mutex::new(readers),
            reader_freed: std::sync::Condvar::new(),
            stats_generation: std::sync::atomic::AtomicU64::new(0),
            waiting_writers: std::sync::atomic::AtomicUsize::new(0),
        };
        db.optimize()?;
        Ok((db, applied))
    }

    /// Opens the database at `path` for reading only: no writer connection, no migration, no
    /// `PRAGMA optimize`, nothing that takes SQLite's write lock, so a command that only reads
    /// answers while another process writes. The schema must be this binary's: an older one is
    /// for a writer to upgrade first ([`StoreError::NeedsUpgrade`]), a missing file is
    /// [`StoreError::Missing`]. [`Db::write`] on it fails with [`StoreError::ReadOnly`].
    pub fn open_read_only(path: &Path) -> Result<Db, StoreError> {
        let display = path.display().to_string();
        if !path.is_file() {
            return Err(StoreError::Missing { path: display });
        }
        let first =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        configure(&first)?;
        let found: i64 = first.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        match found {
            0 => return Err(StoreError::Missing { path: display }),
            found if found > SCHEMA_VERSION => {
                return Err(StoreError::TooNew { path: display, found, supported: SCHEMA_VERSION });
            }
            found if found < SCHEMA_VERSION => {
                return Err(StoreError::NeedsUpgrade { path: display, found, supported: SCHEMA_VERSION });
            }
            _ => {}
        }
        // A current database records its key: the key file is read and checked, never made.
        let keys = Arc::new(keys::resolve(&first, path)?);
        let mut readers = vec![(Conn { sqlite: first, keys: Arc::clone(&keys) }, 0)];
        while readers.len() < READERS {
            readers.push((open_reader(path, &keys)?, 0));
        }
        Ok(Db {
            path: path.to_owned(),
            writer: None,
            patience: None,
            keys,
            readers: Mutex::new(readers),
            reader_freed: std::sync::Condvar::new(),
            stats_generation: std::sync::atomic::AtomicU64::new(0),
            waiting_writers: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Refreshes the query planner's statistics of the tables that grew or shrank a lot since the
    /// last time (`PRAGMA optimize`, bounded work). Without them SQLite cannot tell a selective index
    /// from one that matches every row, and the back office's search picks slow plans. Run at open
    /// and by the server's periodic housekeeping, only when no other process holds the write lock
    /// (an import): it never waits for it, and skipping it costs only speed until the next time.
    /// Nothing on a read-only database.
    pub fn optimize(&self) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else { return Ok(()) };
        let guard = lock(writer);
        guard.sqlite().busy_timeout(Duration::ZERO)?;
        let res = self.optimize_on(guard.sqlite());
        let timeout = if self.patience.is_some() { PATIENT_STEP } else { BUSY_TIMEOUT };
        guard.sqlite().busy_timeout(timeout)?;
        match res {
            Err(err) if err.is_busy() => {
                tracing::debug!("the database is busy: planner statistics left for later");
                Ok(())
            }
            other => other,
        }
    }

    fn optimize_on(&self, writer: &Connection) -> Result<(), StoreError> {
        let stats = |c: &Connection| -> Result<Option<String>, StoreError> {
            let exists: bool =
                c.query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_stat1'", [], |r| r.get(0))?;
            if !exists {
                return Ok(None);
            }
            Ok(c.query_row("SELECT group_concat(tbl || ' ' || idx || ' ' || stat, ';') FROM sqlite_stat1", [], |r| {
                r.get(0)
            })?)
        };
        let before = stats(writer)?;
        writer.execute_batch("PRAGMA optimize=0x10002")?;
        // Only the per-index summaries of sqlite_stat1 are kept. With sqlite_stat4's samples SQLite
        // prepares every statement comparing a parameter with an indexed column again each time
        // the parameter's value changes: every verify of the Node recompiled its queries (a third
        // of the station's throughput).
        let has_samples: bool =
            writer.query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_stat4'", [], |r| r.get(0))?;
        let samples_dropped = has_samples && writer.execute("DELETE FROM sqlite_stat4", [])? > 0;
        if samples_dropped || stats(writer)? != before {
            self.stats_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let generation = self.stats_generation.load(std::sync::atomic::Ordering::SeqCst);
            let mut readers = lock(&self.readers);
            for slot in readers.iter_mut() {
                *slot = (open_reader(&self.path, &self.keys)?, generation);
            }
        }
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The installation's HMAC key of signed links and tokens, from the key file; for
    /// `services::links` only.
    pub fn signing_key(&self) -> &[u8] {
        self.keys.signing_key()
    }

    /// Runs `f` on a read connection (a consistent snapshot for the duration of `f` when it runs in
    /// one statement; use [`Db::read_tx`] for several).
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&Conn) -> Result<T, E>) -> Result<T, E> {
        let (reader, generation) = self.take_reader();
        let res = f(&reader);
        self.give_back(reader, generation);
        res
    }

    /// Runs `f` inside a deferred read transaction: every statement sees the same snapshot.
    pub fn read_tx<T, E: From<StoreError>>(&self, f: impl FnOnce(&Conn) -> Result<T, E>) -> Result<T, E> {
        let (reader, generation) = self.take_reader();
        let res = (|| {
            let tx = reader.begin(TransactionBehavior::Deferred)?;
            let out = f(&reader)?;
            tx.finish().map_err(StoreError::from)?;
            Ok(out)
        })();
        self.give_back(reader, generation);
        res
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer and commits when it returns `Ok`;
    /// any `Err` rolls everything back. While another process holds the write lock, this waits
    /// [`BUSY_TIMEOUT`], or as long as the [`Patience`] of [`Db::open_patient`] lasts.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&Conn) -> Result<T, E>) -> Result<T, E> {
        let Some(writer) = &self.writer else { return Err(StoreError::ReadOnly.into()) };
        self.waiting_writers.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let writer = lock(writer);
        self.waiting_writers.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let conn: &Conn = &writer;
        let tx = patiently(self.patience.as_ref(), || conn.begin(TransactionBehavior::Immediate))?;
        let out = f(conn)?;
        tx.commit().map_err(StoreError::from_sqlite)?;
        Ok(out)
    }

    /// Waits, at most `max`, until no other thread waits for the writer: called by bulk work between
    /// two of its transactions, so that a payment's write goes in between them instead of after
    /// the whole file. Returns whether it waited.
    pub fn let_writers_in(&self, max: std::time::Duration) -> bool {
        let started = std::time::Instant::now();
        let mut waited = false;
        while self.waiting_writers.load(std::sync::atomic::Ordering::SeqCst) > 0 && started.elapsed() < max {
            waited = true;
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        waited
    }

    /// Like [`Db::write`], but `None` when this process's writer stays taken for `wait` (another
    /// thread in a long transaction): for the last writes of a process that is exiting anyway.
    pub fn try_write<T, E: From<StoreError>>(
        &self,
        wait: Duration,
        f: impl FnOnce(&Conn) -> Result<T, E>,
    ) -> Option<Result<T, E>> {
        let Some(writer) = &self.writer else { return Some(Err(StoreError::ReadOnly.into())) };
        let until = std::time::Instant::now() + wait;
        let writer = loop {
            match writer.try_lock() {
                Ok(guard) => break guard,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        };
        let conn: &Conn = &writer;
        Some((|| {
            let tx = patiently(self.patience.as_ref(), || conn.begin(TransactionBehavior::Immediate))?;
            let out = f(conn)?;
            tx.commit().map_err(StoreError::from_sqlite)?;
            Ok(out)
        })())
    }

    /// Whether this database was opened without a writer ([`Db::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.writer.is_none()
    }

    /// Checks that the database answers; used by `/healthz`.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.sqlite().query_row("SELECT 1", [], |_| Ok(()))?))
    }

    /// The database size in bytes (pages in use, WAL excluded), for `/metrics`.
    pub fn size_bytes(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            Ok(conn.sqlite().query_row(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                [],
                |row| row.get(0),
            )?)
        })
    }

    /// Copies the WAL into the main file and truncates it, so a stopped server leaves one
    /// self-contained file behind.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else { return Err(StoreError::ReadOnly) };
        let writer = lock(writer);
        writer.sqlite().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn take_reader(&self) -> (Conn, u64) {
        let mut readers = lock(&self.readers);
        loop {
            if let Some(conn) = readers.pop() {
                return conn;
            }
            readers = match self.reader_freed.wait(readers) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
        }
    }

    fn give_back(&self, conn: Conn, generation: u64) {
        let current = self.stats_generation.load(std::sync::atomic::Ordering::SeqCst);
        let conn = if generation < current {
            match open_reader(&self.path, &self.keys) {
                Ok(fresh) => (fresh, current),
                // Stale statistics only cost speed: keep the old connection rather than none.
                Err(_) => (conn, generation),
            }
        } else {
            (conn, generation)
        };
        lock(&self.readers).push(conn);
        self.reader_freed.notify_one();
    }
}

/// Runs `attempt` until it is not refused for a lock another process holds, as long as `patience`
/// lasts; without patience the first refusal is the answer.
fn patiently<T>(
    patience: Option<&Patience>,
    mut attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match attempt() {
            Err(err) if err.is_busy() => match patience {
                Some(patience) if patience(started.elapsed()) => continue,
                Some(_) => return Err(StoreError::GaveUpWaiting),
                None => return Err(err),
            },
            other => return other,
        }
    }
}

/// A read-only connection on `path`, configured like every connection.
fn open_reader(path: &Path, keys: &Arc<keys::Keys>) -> Result<Conn, StoreError> {
    let reader = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    configure(&reader)?;
    Ok(Conn { sqlite: reader, keys: Arc::clone(keys) })
}

/// A panic in one request must not take the database down with it: the connection inside is still
/// usable (SQLite rolls back an unfinished transaction when it is dropped), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The one place connection settings are chosen. `synchronous=FULL`: a receipt acknowledged to the
/// Node must survive a power cut (DESIGN).
fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if !conn.is_readonly(rusqlite::MAIN_DB)? {
        // 8 KiB pages for a new database (an existing one keeps its size: WAL mode fixes it at
        // creation): a large import writes, and checkpoints, fewer and fuller pages.
        conn.pragma_update(None, "page_size", 8192)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt { column: "journal_mode", reason: format!("WAL refused, got {mode}") });
        }
        // Statement journals in memory: a multi-row INSERT (an import's batch) journals the pages
        // it changes so that it can be undone alone, a few hundred KiB, which would otherwise
        // spill into a temporary file at every statement. The writer keeps no temporary tables.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
