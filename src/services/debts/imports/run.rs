//! Running an import: the orchestration of the debt-flow pipeline (reference/mypay.md §2). The file
//! formats (name, ZIP, CSV rows, result files, `bilancio`) are `crate::flows`'; this module owns the
//! transactions that apply a file, the import's state checks, the audit entry, and the job that
//! follows (the notices).
//!
//! Chunks: a file is applied in bounded transactions ([`CHUNK_BUDGET`] of writer time, or up to
//! [`CHUNK_BUDGET_IDLE`] while nobody else waits for the writer, or [`CHUNK_MAX_ROWS`] rows,
//! whichever comes first), so the station's and the portal's writes go in between them
//! ([`Db::let_writers_in`]) instead of waiting for the whole file. Each chunk commits
//! its rows together with the job's cursor ([`Cursor`]): rows finished, counts, and how long each
//! result part is. The parts are synced before the commit; a run that resumes cuts them back to the
//! recorded lengths and skips the rows already applied, so after a crash or a kill at any point the
//! file is applied to its end exactly once, and its `_IUV` and `_SCARTI` files are the bytes an
//! uninterrupted run writes. Rows of an unfinished import are visible meanwhile, and the import's
//! row counts say how far it got.
//!
//! Before the first chunk a read-only pass reads the whole file with every file-level check (ZIP,
//! name, header, encoding, line lengths, size): a file that aborts, aborts with nothing applied.
//! A job given up after its attempts (it killed its process each time) may have applied some rows:
//! the abort's description says how many.
//! Indexes and statistics: the debt table keeps all its indexes while a file is applied (building
//! them again after a large file would hold the writer for seconds in one go); planner statistics
//! are refreshed by the server's periodic `PRAGMA optimize`, never inside an import. Rows that
//! only insert go in batches, one multi-row INSERT each ([`ChunkApplier`]): SQLite keeps the
//! cursors of the table and its indexes open through one statement, so the many keys that go at
//! the end of an index need no search from its root; a batch is all or nothing, and one the store
//! refuses goes in again row by row, so every row ends as it would alone. A plain flow's batch
//! binds only the columns its rows fill, the values they share once. The page cache is set for
//! the run, not per chunk: shrunk after each chunk, it lost the index pages the next one needed.
//! What the debt table's indexes cost (schema.sql says what each is for), CPU time (user + sys) of
//! `mypay import` of the 1,000,000-row flow of `benches/import.rs`, on a shared 2-core machine:
//! all seven 16.2 s; without the name index 13.6 s; without name, due date, type and state 12.0 s;
//! state and type as one `(org_id, debt_type_id, state)` index 15.8 s. `sqlite3 .import` of the
//! same CSV: 4.9 s. With the narrow batch and the kept cache, all seven indexes: 12.3 s. The name
//! index costs the most (its inserts land inside it, not at its end) but is what the
//! back office's name search needs; the other three are appended at their end and cost little,
//! so all stay.
//! Applied batches go back to the reader's thread to be freed: their memory was allocated there,
//! freeing it here cost the writer 7% of its time (and the import 6-10% of its wall time).
//! Memory: the CSV is read line by line from the ZIP on a thread of its own (`flows::import_rows`);
//! only a Bloom filter of the IUDs is kept (to refuse an IUD seen earlier in the file), plus the
//! IUDs of rejected rows (also kept in a part, for a resumed run).
//! Must never: let one bad row stop the others; hold the writer for a whole file.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock::Now;
use crate::domain::debt_row::{self, RowError};
use crate::domain::payment_options::{self, Plan};
use crate::domain::{ImportState, Iuv, NoticeNumber};
use crate::flows::csv_row;
use crate::flows::import::{FileError, FlowName, RunError, Stop, parse_name};
use crate::flows::import_layout::{Layout, Version};
use crate::flows::import_rows::{self, Batch, Header, KnownType, Prepared, PreparedRow, ResultLine, Rules, Upload};
use crate::flows::results::{self, PartFile, StreamingZip};
use crate::jobs::{Job, Progress};
use crate::services::ServiceError;
use crate::services::debts::{self, OrgScope, Source, options};
use crate::store::debts as store_debts;
use crate::store::imports::{self, ImportRecord, ImportTotals};
use crate::store::{Conn, Db, StoreError, audit, debt_types, operators, outbox};

/// What a run needs besides the import.
pub struct RunEnv<'a> {
    pub db: &'a Db,
    pub data_dir: &'a Path,
    pub max_uncompressed_bytes: u64,
    /// When this attempt started; a first attempt's time is kept in the cursor and reused by every
    /// resumed one (rows' stored time, the Europe/Rome day of their checks).
    pub now: Now,
    /// The import's job, whose cursor each chunk saves.
    pub job_id: i64,
    /// The cursor an earlier attempt saved, if any.
    pub cursor: Option<String>,
    /// Polled between chunks; true stops the run with [`RunError::Interrupted`], resumable.
    pub cancelled: &'a dyn Fn() -> bool,
    pub progress: &'a mut dyn FnMut(Progress),
}

impl From<ServiceError> for RunError {
    fn from(err: ServiceError) -> RunError {
        RunError::System(err.to_string())
    }
}

impl From<ServiceError> for Stop {
    fn from(err: ServiceError) -> Stop {
        Stop::Run(err.into())
    }
}

/// Page cache of the importing connection while a file's rows are applied, in KiB.
const IMPORT_CACHE_KIB: i64 = 48 * 1024;
/// Writer time one chunk may take (its commit and syncs come on top, a few milliseconds).
const CHUNK_BUDGET: Duration = Duration::from_millis(60);
/// Writer time a chunk may take when nobody waited for the writer during the previous one: fewer
/// commits and syncs for a file applied on a quiet server. A write that arrives meanwhile waits
/// at most this long (the live-payments target is p99 < 300 ms), and the next chunk is short again.
const CHUNK_BUDGET_IDLE: Duration = Duration::from_millis(240);
/// Rows one chunk applies at most.
const CHUNK_MAX_ROWS: u64 = 20_000;
/// Rows between two looks at the clock inside a chunk.
const CLOCK_EVERY: u64 = 64;
/// How long a chunk waits, at most, for the writes queued behind it before the next chunk.
const LET_IN_MAX: Duration = Duration::from_millis(200);
/// Batches of prepared rows the reader may be ahead of the applier by (memory stays bounded).
const QUEUED_BATCHES: usize = 8;

/// How far an import got, saved in its job's cursor by every chunk, in the chunk's transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// When the first attempt started, as stored.
    started: String,
    /// Data rows in the file, as the read-only pass counted them.
    total: u64,
    /// Data rows finished (loaded or rejected), in file order.
    done: u64,
    loaded: u64,
    rejected: u64,
    /// Committed lengths of the parts: `_IUV`, `_SCARTI`, and the IUDs of rejected rows.
    iuv_bytes: u64,
    scarti_bytes: u64,
    rejected_iud_bytes: u64,
}

/// Runs import `import_id` to its end state and returns the record. Running an import that already
/// ended changes nothing (a job replayed after a crash); one with a cursor resumes from it.
pub fn run(env: &mut RunEnv<'_>, import_id: i64) -> Result<ImportRecord, RunError> {
    let iso = env.now.iso();
    let Some(import) = env.db.read(|conn| imports::find_import(conn, import_id))? else {
        return Err(RunError::System(format!("import {import_id} vanished")));
    };
    if import.state.is_final() {
        return Ok(import);
    }
    let resumed = env.cursor.as_deref().and_then(|text| serde_json::from_str::<Cursor>(text).ok());
    let outcome = match resumed {
        Some(cursor) => {
            tracing::info!(import = import_id, rows_done = cursor.done, rows = cursor.total, "import resumed");
            apply(env, &import, cursor)
        }
        None => begin(env, &import).and_then(|cursor| apply(env, &import, cursor)),
    };
    match outcome {
        Ok(()) => {}
        Err(Stop::Run(err)) => return Err(err),
        Err(Stop::File(file)) => {
            tracing::info!(import = import_id, code = %file.code, "import aborted: {}", file.description);
            env.db.write(|tx| {
                imports::update_import_aborted(tx, import_id, &file.code, &file.description, &iso)?;
                let object = format!("import:{}", import.file_name);
                let entry = audit::AuditEntry {
                    actor: &import.uploader,
                    org_id: Some(import.org_id),
                    action: "import.run",
                    object: Some(&object),
                    outcome: &file.code,
                    ..Default::default()
                };
                audit::insert_audit(tx, &entry, &iso)
            })?;
        }
    }
    let done = env.db.read(|conn| imports::find_import(conn, import_id))?;
    done.ok_or_else(|| RunError::System(format!("import {import_id} vanished")))
}

/// The directory of an import's result files, relative to the data directory.
pub fn results_dir(import_id: i64) -> String {
    format!("imports/results/{import_id}")
}

fn upload_of(env: &RunEnv<'_>, import: &ImportRecord, name: &FlowName) -> Upload {
    Upload {
        path: env.data_dir.join(&import.stored_file),
        base: name.base.clone(),
        version: name.version,
        limit: env.max_uncompressed_bytes,
    }
}

/// A first attempt: marks the import started, reads the whole file once without writing, checks
/// that no other import of the IUF ran or runs, and saves the cursor of a run with nothing done.
fn begin(env: &mut RunEnv<'_>, import: &ImportRecord) -> Result<Cursor, Stop> {
    let started = env.now.iso();
    env.db.write(|tx| imports::update_import_started(tx, import.id, &started))?;
    let name = parse_name(&import.file_name, &import.org_ipa).map_err(Stop::File)?;
    let facts = import_rows::check_file(&upload_of(env, import, &name))?;
    let dir = env.data_dir.join(results_dir(import.id));
    // A first attempt starts from a clean folder: files of a lost attempt are not this run's.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|err| system(format!("cannot create {}: {err}", dir.display())))?;
    let cursor = Cursor { started: started.clone(), total: facts.rows, ..Cursor::default() };
    let text = cursor_text(&cursor)?;
    env.db.write(|tx| {
        for (_, state) in imports::list_states_of_iuf(tx, import.org_id, &name.iuf, import.id)? {
            match state {
                ImportState::Done => {
                    return Err(Stop::File(FileError::new(
                        "PAA_IMPORT_FLUSSO_DUPLICATO",
                        format!("il flusso {} è già stato caricato", name.iuf),
                    )));
                }
                ImportState::Queued | ImportState::InProgress => {
                    return Err(Stop::File(FileError::new(
                        "PAA_IMPORT_FLUSSO_IN_CARICAMENTO",
                        format!("il flusso {} è in caricamento", name.iuf),
                    )));
                }
                ImportState::Aborted => {}
            }
        }
        let rows = i64::try_from(facts.rows).unwrap_or(i64::MAX);
        imports::update_import_begun(tx, import.id, &name.iuf, name.version.code(), rows)?;
        // Upstream mode: the flow goes to the Region whole, queued before its rows are applied so
        // that a change another channel makes to one of them meanwhile comes after it.
        if outbox::org_is_mirrored(tx, import.org_id)? {
            crate::services::upstream::flows::enqueue(tx, import.org_id, import.id, &started)?;
        }
        crate::jobs::save_cursor(tx, env.job_id, &text)?;
        Ok::<_, Stop>(())
    })?;
    crash_point("after_begin", 0);
    tracing::info!(import = import.id, rows = facts.rows, "import checked: applying its rows");
    Ok(cursor)
}

fn cursor_text(cursor: &Cursor) -> Result<String, Stop> {
    serde_json::to_string(cursor).map_err(|err| system(format!("cannot save the import's cursor: {err}")))
}

fn system(reason: String) -> Stop {
    Stop::Run(RunError::System(reason))
}

/// The parts of a run's results, in the import's results folder.
struct Parts {
    iuvs: PartFile,
    scarti: PartFile,
    /// A run that started the file also compresses its results as they come (`None` once
    /// resumed: the parts are compressed at the end instead, into the same bytes).
    streams: Option<(StreamingZip, StreamingZip)>,
    /// One JSON string per line: the IUDs of rejected rows, for the duplicate check of a resumed run.
    rejected_iuds: PartFile,
}

impl Parts {
    fn open(dir: &Path, base: &str, header: &str, cursor: &Cursor) -> io::Result<Parts> {
        let part = |stem: &str| dir.join(format!("{stem}.csv.part"));
        let streams = (cursor.done == 0).then(|| {
            (
                StreamingZip::new(dir, format!("{base}_IUV"), header.to_owned()),
                StreamingZip::new(dir, format!("{base}_SCARTI"), format!("{header};cod_rifiuto;de_rifiuto")),
            )
        });
        Ok(Parts {
            streams,
            iuvs: PartFile::resume(part(&format!("{base}_IUV")), header.to_owned(), cursor.iuv_bytes, cursor.loaded)?,
            scarti: PartFile::resume(
                part(&format!("{base}_SCARTI")),
                format!("{header};cod_rifiuto;de_rifiuto"),
                cursor.scarti_bytes,
                cursor.rejected,
            )?,
            rejected_iuds: PartFile::resume(
                dir.join("rejected-iuds.part"),
                "iud".to_owned(),
                cursor.rejected_iud_bytes,
                0,
            )?,
        })
    }

    /// The IUDs a previous attempt rejected, read back from their part (as cut back).
    fn rejected_iuds(&self, dir: &Path) -> io::Result<HashSet<String>> {
        let mut found = HashSet::new();
        let path = dir.join("rejected-iuds.part");
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(found),
            Err(err) => return Err(err),
        };
        for line in io::BufReader::new(file).lines().skip(1) {
            let line = line?;
            let iud: String = serde_json::from_str(&line).map_err(io::Error::other)?;
            found.insert(iud);
        }
        Ok(found)
    }

    /// Appends a loaded row's `_IUV` line.
    fn write_iuv(&mut self, line: &str) -> io::Result<()> {
        if let Some((iuvs, _)) = &mut self.streams {
            iuvs.write_line(line)?;
        }
        self.iuvs.write_line(line)
    }

    /// Appends a rejected row's `_SCARTI` line.
    fn write_scarto(&mut self, line: &str) -> io::Result<()> {
        if let Some((_, scarti)) = &mut self.streams {
            scarti.write_line(line)?;
        }
        self.scarti.write_line(line)
    }

    /// Makes every part durable and records their lengths in `cursor`.
    fn sync_into(&mut self, cursor: &mut Cursor) -> io::Result<()> {
        cursor.iuv_bytes = self.iuvs.sync()?;
        cursor.scarti_bytes = self.scarti.sync()?;
        cursor.rejected_iud_bytes = self.rejected_iuds.sync()?;
        Ok(())
    }
}

/// The rows the reader hands over, one at a time across chunks.
struct Rows {
    batches: Receiver<Batch>,
    current: std::vec::IntoIter<Prepared>,
    ended: bool,
}

impl Rows {
    fn next(&mut self) -> Result<Option<Prepared>, Stop> {
        loop {
            if let Some(row) = self.current.next() {
                return Ok(Some(row));
            }
            if self.ended {
                return Ok(None);
            }
            match self.batches.recv() {
                Ok(Batch::Rows(rows)) => self.current = rows.into_iter(),
                Ok(Batch::End) => self.ended = true,
                // The read-only pass accepted the file: a file-level failure now means the stored
                // upload changed under us, a fault of the system, not of the file.
                Ok(Batch::Failed(Stop::File(file))) => {
                    return Err(system(format!("the stored upload changed after its check: {}", file.description)));
                }
                Ok(Batch::Failed(stop)) => return Err(stop),
                Ok(Batch::Header(_)) => return Err(system("the import's reader sent a second header".to_owned())),
                Err(_) => return Err(system("the import's reader thread stopped".to_owned())),
            }
        }
    }
}

/// What every chunk of a run shares.
struct RunState {
    import_id: i64,
    org_ipa: String,
    /// The first attempt's time, as stored on every row.
    now: String,
    rules: Arc<Rules>,
    /// `None`: every debt type (an administrator); `Some`: the operator's enabled debt types.
    enabled: Option<HashSet<i64>>,
    /// IUDs of rejected rows (loaded ones are found in the store by `import_id`).
    rejected_iuds: HashSet<String>,
    /// Who uploaded the flow: the actor of the audit of a row's payment options.
    uploader: String,
    /// Where applied batches go to be freed (the reader's thread).
    trash: mpsc::Sender<import_rows::Trash>,
}

/// Applies the rows from `cursor` on, chunk by chunk, then writes the result files and ends the
/// import.
fn apply(env: &mut RunEnv<'_>, import: &ImportRecord, mut cursor: Cursor) -> Result<(), Stop> {
    let name = parse_name(&import.file_name, &import.org_ipa).map_err(Stop::File)?;
    let started: jiff::Timestamp =
        cursor.started.parse().map_err(|err| system(format!("the import's cursor has no start time: {err}")))?;
    let first = Now::at(started);
    let upload = upload_of(env, import, &name);
    let dir_rel = results_dir(import.id);
    let dir = env.data_dir.join(&dir_rel);
    std::fs::create_dir_all(&dir).map_err(|err| system(format!("cannot create {}: {err}", dir.display())))?;
    let io_err = |err: io::Error| system(format!("cannot write a result file: {err}"));

    let read_bytes = Arc::new(AtomicU64::new(0));
    let (to_applier, batches) = mpsc::sync_channel::<Batch>(QUEUED_BATCHES);
    let (send_rules, rules) = mpsc::sync_channel::<Arc<Rules>>(1);
    let (trash, trash_in) = mpsc::channel::<import_rows::Trash>();
    let skip = cursor.done;
    // The channels move into the scope's closure: whatever way it returns, they are dropped
    // before the scope waits for the reader, which then sees the hang-up and stops.
    std::thread::scope(move |scope| {
        let counter = Arc::clone(&read_bytes);
        scope.spawn(move || import_rows::read(upload, to_applier, rules, trash_in, counter, skip));
        let header = match batches.recv() {
            Ok(Batch::Header(header)) => header,
            Ok(Batch::Failed(stop)) => return Err(stop),
            Ok(_) => return Err(system("the import's reader sent rows before the header".to_owned())),
            Err(_) => return Err(system("the import's reader thread stopped".to_owned())),
        };
        let Header { text: header_text, layout, declared } = *header;
        let mut state = env.db.read(|conn| run_state(conn, import, name.version, first, trash))?;
        let mut parts = Parts::open(&dir, &name.base, &header_text, &cursor).map_err(io_err)?;
        state.rejected_iuds = parts.rejected_iuds(&dir).map_err(io_err)?;
        // The reader may have failed already; its `Failed` then comes next.
        let _ = send_rules.send(Arc::clone(&state.rules));
        let mut rows = Rows { batches, current: Vec::new().into_iter(), ended: false };
        let mut chunk_no = 0u64;
        let max_rows = chunk_max_rows();
        let mut budget = CHUNK_BUDGET;
        let began = Instant::now();
        let mut out = String::with_capacity(1024);
        // The import's page cache stays from chunk to chunk (shrinking it after each one dropped
        // the pages the next one needs, the index pages where its rows go): it is set with the
        // first chunk and given back once the rows are applied, or the run stops.
        let mut previous_cache: Option<i64> = None;
        let applied = (|| loop {
            if (env.cancelled)() {
                return Err(Stop::Run(RunError::Interrupted));
            }
            chunk_no += 1;
            let ended = env.db.write(|tx| {
                if previous_cache.is_none() {
                    previous_cache = Some(imports::set_cache_kib(tx, IMPORT_CACHE_KIB)?);
                }
                let mut applier = ChunkApplier::new(tx, &mut state, &mut parts, &layout, &mut out)?;
                let clock = Instant::now();
                let mut n = 0u64;
                let ended = loop {
                    if n == max_rows || (n % CLOCK_EVERY == 0 && n > 0 && clock.elapsed() >= budget) {
                        break false;
                    }
                    let Some(row) = rows.next()? else { break true };
                    n += 1;
                    applier.apply(row)?;
                };
                applier.finish()?;
                cursor.done += n;
                cursor.loaded = parts.iuvs.rows();
                cursor.rejected = parts.scarti.rows();
                parts.sync_into(&mut cursor).map_err(io_err)?;
                let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                imports::update_import_progress(tx, import.id, as_i64(cursor.loaded), as_i64(cursor.rejected))?;
                crate::jobs::save_cursor(tx, env.job_id, &cursor_text(&cursor)?)?;
                crash_point("before_commit", chunk_no);
                Ok::<_, Stop>(ended)
            })?;
            crash_point("after_commit", chunk_no);
            (env.progress)(Progress {
                units: cursor.done,
                bytes: read_bytes.load(Ordering::Relaxed),
                total_bytes: declared,
            });
            if ended {
                break Ok::<_, Stop>(());
            }
            // Someone waited: keep chunks short; nobody did: let them grow.
            budget = if env.db.let_writers_in(LET_IN_MAX) { CHUNK_BUDGET } else { (budget * 2).min(CHUNK_BUDGET_IDLE) };
        })();
        if let Some(previous) = previous_cache {
            env.db.write(|tx| imports::restore_cache(tx, previous))?;
        }
        applied?;
        let rows_secs = began.elapsed().as_secs_f64();
        finish(env, import, &name, &dir_rel, parts, &cursor)?;
        tracing::info!(
            import = import.id,
            rows = cursor.done,
            loaded = cursor.loaded,
            rejected = cursor.rejected,
            chunks = chunk_no,
            rows_secs,
            results_secs = began.elapsed().as_secs_f64() - rows_secs,
            "import applied"
        );
        Ok(())
    })
}

/// Compresses the parts into the result files, then ends the import in one transaction with its
/// totals, its audit entry and the notices job; the parts go last.
fn finish(
    env: &RunEnv<'_>,
    import: &ImportRecord,
    name: &FlowName,
    dir_rel: &str,
    parts: Parts,
    cursor: &Cursor,
) -> Result<(), Stop> {
    let dir = env.data_dir.join(dir_rel);
    let io_err = |err: io::Error| system(format!("cannot write a result file: {err}"));
    let zip = |part: &PartFile, stem: String| -> Result<Option<String>, Stop> {
        match part.path() {
            Some(path) => Ok(Some(format!("{dir_rel}/{}", results::zip_part(path, &dir, &stem).map_err(io_err)?))),
            None => Ok(None),
        }
    };
    let (iuv_file, rejects_file) = match parts.streams {
        // A run never interrupted: its ZIPs were compressed as the rows came.
        Some((iuvs, scarti)) => {
            let done = |name: Option<String>| name.map(|n| format!("{dir_rel}/{n}"));
            (Ok(done(iuvs.finish().map_err(io_err)?)), Ok(done(scarti.finish().map_err(io_err)?)))
        }
        // The two compress at once: two cores, and the `_IUV` part of a large file is the larger.
        None => std::thread::scope(|s| {
            let iuvs = s.spawn(|| zip(&parts.iuvs, format!("{}_IUV", name.base)));
            let scarti = zip(&parts.scarti, format!("{}_SCARTI", name.base));
            let iuvs = iuvs.join().unwrap_or_else(|_| Err(system("the result file's compressor panicked".to_owned())));
            (iuvs, scarti)
        }),
    };
    let (iuv_file, rejects_file) = (iuv_file?, rejects_file?);
    results::sync_dir(&dir).map_err(io_err)?;
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let totals = ImportTotals {
        iuf: name.iuf.clone(),
        layout_version: name.version.code().to_owned(),
        rows_total: as_i64(cursor.done),
        rows_loaded: as_i64(cursor.loaded),
        rows_rejected: as_i64(cursor.rejected),
        rejects_file,
        iuv_file,
    };
    crash_point("before_done", 0);
    let finished = Now::read();
    let iso = finished.iso();
    env.db.write(|tx| {
        imports::update_import_done(tx, import.id, &totals, &iso)?;
        // The notices of rows with flagGeneraIuv come after, never inside a chunk (a slow PDF must
        // not hold the writer): queued here, in the same transaction, so a crash cannot lose them.
        // A flow mirrored to the Region has no IUV yet: its notices come once the Region's are here.
        let mirrored = outbox::flow_is_queued(tx, import.id)?;
        if cursor.loaded > 0 && matches!(name.version.code(), "1_3" | "1_4") && !mirrored {
            crate::jobs::enqueue(tx, &Job::ImportNotices { import_id: import.id }, finished)?;
        }
        let object = format!("import:{}", import.file_name);
        let after = serde_json::json!({ "rows": cursor.done, "loaded": cursor.loaded, "rejected": cursor.rejected })
            .to_string();
        let entry = audit::AuditEntry {
            actor: &import.uploader,
            org_id: Some(import.org_id),
            action: "import.run",
            object: Some(&object),
            outcome: "OK",
            after_json: Some(&after),
            ..Default::default()
        };
        audit::insert_audit(tx, &entry, &iso)?;
        Ok::<_, Stop>(())
    })?;
    for part in [parts.iuvs.path(), parts.scarti.path()].into_iter().flatten() {
        let _ = std::fs::remove_file(part);
    }
    let _ = std::fs::remove_file(dir.join("rejected-iuds.part"));
    // A crashed attempt's stream of a file this run had no row for.
    for kind in ["IUV", "SCARTI"] {
        let _ = std::fs::remove_file(dir.join(format!("{}_{kind}.zip.tmp", name.base)));
    }
    Ok(())
}

/// Aborts the process at a named point of chunk `chunk` when `MYPAY_TEST_CRASH` says
/// `<point>:<chunk>`: how the tests kill an import at fixed cursor positions, as a `kill -9`
/// would. Debug builds only; a release build has no such switch.
#[cfg(debug_assertions)]
fn crash_point(point: &str, chunk: u64) {
    if std::env::var("MYPAY_TEST_CRASH").is_ok_and(|spec| spec == format!("{point}:{chunk}")) {
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
fn crash_point(_point: &str, _chunk: u64) {}

/// Rows per chunk at most: [`CHUNK_MAX_ROWS`], or in debug builds `MYPAY_TEST_CHUNK_ROWS`, so
/// that a test file of a few dozen rows spans many chunks.
fn chunk_max_rows() -> u64 {
    #[cfg(debug_assertions)]
    if let Some(rows) = std::env::var("MYPAY_TEST_CHUNK_ROWS").ok().and_then(|v| v.parse::<u64>().ok()) {
        return rows.max(1);
    }
    CHUNK_MAX_ROWS
}

/// The row rules and grants of a run, read once.
fn run_state(
    conn: &Conn,
    import: &ImportRecord,
    version: Version,
    first: Now,
    trash: mpsc::Sender<import_rows::Trash>,
) -> Result<RunState, Stop> {
    let scope = OrgScope::load(conn, &import.org_ipa)?;
    let debt_types: HashMap<String, KnownType> = debt_types::list_debt_types(conn, scope.org.id)?
        .into_iter()
        .map(|t| {
            let known = KnownType { rules: debts::rules_of(&t), record: Arc::new(t) };
            (known.record.code.clone(), known)
        })
        .collect();
    let enabled = match &import.operator {
        None => None,
        Some(username) => match operators::find_operator(conn, username)? {
            Some(op) if op.app_admin => None,
            Some(op) if op.roles.iter().any(|(ipa, role)| *ipa == scope.org.ipa_code && role == "admin") => None,
            Some(op) if op.active => Some(
                op.debt_types
                    .iter()
                    .filter(|(ipa, _)| *ipa == scope.org.ipa_code)
                    .filter_map(|(_, code)| debt_types.get(code.as_str()).map(|t| t.record.id))
                    .collect(),
            ),
            _ => Some(HashSet::new()),
        },
    };
    let rules = Arc::new(Rules { version, segregation_code: scope.segregation_code, today: first.today(), debt_types });
    Ok(RunState {
        import_id: import.id,
        org_ipa: import.org_ipa.clone(),
        now: first.iso(),
        rules,
        enabled,
        rejected_iuds: HashSet::new(),
        uploader: import.uploader.clone(),
        trash,
    })
}

/// Finishes the rows the reader prepared, inside one chunk's transaction and in file order: what
/// needs the store, then the action itself, and the row's line in `_IUV` or `_SCARTI`.
///
/// Rows that only insert (action `I`, valid, not repeated in the file) wait in `pending` and go
/// in [`store_debts::INSERT_BATCH`] at a time, in one statement, with the IUVs they were given in
/// file order. A row that needs the store (`M`, `A`, an IUD seen before in the file) first lets
/// the waiting rows in; a batch the store refuses (a live IUD or IUV among its rows), and the
/// last rows of a chunk, go in one by one through the same steps as a single debt, their
/// generated IUVs drawn again in the same order: the outcome of every row is the one it would
/// have had alone.
struct ChunkApplier<'t> {
    tx: &'t Conn,
    inserter: store_debts::DebtInserter<'t>,
    scope: OrgScope,
    state: &'t mut RunState,
    parts: &'t mut Parts,
    layout: &'t Layout,
    out: &'t mut String,
    pending: Vec<Pending>,
}

/// A valid `I` row waiting for its batch, with the identifiers it was given.
struct Pending {
    line: String,
    iud: String,
    /// Its `checked` holds the valid debt and its `debt_type` the type.
    row: Box<PreparedRow>,
    result: ResultLine,
    iuv: Option<Iuv>,
    notice_number: Option<NoticeNumber>,
    /// The IUV counter value drawn for it, if generated.
    counter: Option<u64>,
}

/// The code of a row whose payment options cannot be: MyPay has no options, so its generic code
/// for a row the checks refuse (`PAA_IMPORT_SINTASSI_CSV`, as a bad value of any column).
const OPTIONS_REFUSED: &str = "PAA_IMPORT_SINTASSI_CSV";

/// A rejected row: its IUD and its errors.
type Rejected = (String, Vec<RowError>);

fn io_error(err: io::Error) -> Stop {
    system(format!("cannot write a result file: {err}"))
}

impl<'t> ChunkApplier<'t> {
    fn new(
        tx: &'t Conn,
        state: &'t mut RunState,
        parts: &'t mut Parts,
        layout: &'t Layout,
        out: &'t mut String,
    ) -> Result<ChunkApplier<'t>, Stop> {
        // IUV counters are taken in blocks and the unused ones given back at the end of the chunk,
        // so a chunk's commit leaves the counter exactly where its last row left it.
        let scope = OrgScope::load(tx, &state.org_ipa)?.with_counter_block(1024);
        Ok(ChunkApplier {
            tx,
            inserter: store_debts::DebtInserter::new(tx)?,
            scope,
            state,
            parts,
            layout,
            out,
            pending: Vec::with_capacity(store_debts::INSERT_BATCH),
        })
    }

    /// Applies one prepared row, or queues it for its batch.
    fn apply(&mut self, prepared: Prepared) -> Result<(), Stop> {
        if let Some(row) = &prepared.row
            && prepared.repeated_at.is_none()
            && prepared.action == Some("I")
            && prepared.errors.is_empty()
            && matches!(row.checked, Some(Ok(_)))
            && row.plan.is_none()
            && let Some(t) = &row.debt_type
            && self.state.enabled.as_ref().is_none_or(|enabled| enabled.contains(&t.record.id))
        {
            return self.queue(prepared);
        }
        self.flush()?;
        let mut prepared = prepared;
        let line = std::mem::take(&mut prepared.line);
        match self.apply_one(prepared)? {
            // `apply_one` left the row's `_IUV` line in `out`.
            Ok(()) => self.parts.write_iuv(self.out).map_err(io_error),
            Err((iud, errors)) => self.write_rejected(&line, iud, errors),
        }
    }

    /// Lets the waiting rows in, then gives back the counter values the chunk did not use.
    fn finish(mut self) -> Result<(), Stop> {
        self.flush()?;
        self.scope.release_unused_counters(self.tx)?;
        Ok(())
    }

    /// Queues a valid `I` row with the IUV it gets (as given or drawn now, in file order).
    fn queue(&mut self, prepared: Prepared) -> Result<(), Stop> {
        let Prepared { line, iud, row: Some(mut row), .. } = prepared else {
            return Err(system("an import row to queue had no fields".to_owned()));
        };
        let Some(Ok(valid)) = &row.checked else {
            return Err(system("an import row to queue was not valid".to_owned()));
        };
        let (iuv, notice_number, counter) = debts::identifiers_of(self.tx, &self.scope, valid)?;
        let result = match row.result.take() {
            Some(result) => result,
            None => ResultLine::new(self.layout, &import_rows::normalized(valid, "I")),
        };
        self.pending.push(Pending { line, iud, row, result, iuv, notice_number, counter });
        if self.pending.len() == store_debts::INSERT_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Inserts the waiting rows: a full batch in one statement; a refused or short one row by row.
    fn flush(&mut self) -> Result<(), Stop> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        if pending.len() == store_debts::INSERT_BATCH {
            let import_id = Some(self.state.import_id);
            let mut rows = Vec::with_capacity(pending.len());
            for p in &pending {
                let (Some(Ok(valid)), Some(t)) = (&p.row.checked, &p.row.debt_type) else {
                    return Err(system("a queued import row was not valid".to_owned()));
                };
                rows.push(debts::new_debt(
                    &self.scope,
                    &t.record,
                    valid,
                    p.iuv.as_ref(),
                    p.notice_number.as_ref(),
                    Source::Import,
                    import_id,
                ));
            }
            match self.inserter.insert_batch(&rows, &self.state.now) {
                Ok(()) => {
                    drop(rows);
                    for p in &pending {
                        self.out.clear();
                        p.result.write(p.iuv.as_ref().map_or("", Iuv::as_str), self.out);
                        self.parts.write_iuv(self.out).map_err(io_error)?;
                    }
                    self.pending = self.recycle(pending);
                    return Ok(());
                }
                Err(StoreError::Duplicate(_)) => {}
                Err(err) => return Err(ServiceError::from(err).into()),
            }
        }
        // One by one, as single debts: the IUVs drawn for the batch are drawn again.
        if let Some(first) = pending.iter().find_map(|p| p.counter) {
            self.scope.rewind_counters(first);
        }
        let mut pending = pending;
        for p in pending.drain(..) {
            let Pending { line, iud, row, result, .. } = p;
            let (Some(Ok(valid)), Some(t)) = (&row.checked, &row.debt_type) else {
                return Err(system("a queued import row was not valid".to_owned()));
            };
            let applied = debts::insert_valid_with(
                &mut self.inserter,
                &self.scope,
                &t.record,
                valid,
                Source::Import,
                Some(self.state.import_id),
                &self.state.now,
            )?;
            match applied {
                Ok(applied) => {
                    self.out.clear();
                    result.write(applied.iuv.as_ref().map_or("", Iuv::as_str), self.out);
                    self.parts.write_iuv(self.out).map_err(io_error)?;
                }
                Err(errors) => {
                    let rejected = self.rejected(iud, errors);
                    self.write_rejected(&line, rejected.0, rejected.1)?;
                }
            }
        }
        self.pending = pending;
        Ok(())
    }

    /// Writes a rejected row's `_SCARTI` line (the line as read, its codes and descriptions) and
    /// keeps its IUD for a resumed run.
    fn write_rejected(&mut self, line: &str, iud: String, errors: Vec<RowError>) -> Result<(), Stop> {
        let out = &mut *self.out;
        out.clear();
        out.push_str(line);
        out.push(';');
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        out.push_str(&codes.join("|"));
        out.push(';');
        let descriptions: Vec<&str> = errors.iter().map(|e| e.description.as_str()).collect();
        csv_row::push_field(out, &descriptions.join("|"));
        self.parts.write_scarto(out).map_err(io_error)?;
        if !iud.is_empty() {
            let encoded = serde_json::to_string(&iud).unwrap_or_default();
            self.parts.rejected_iuds.write_line(&encoded).map_err(io_error)?;
        }
        Ok(())
    }

    /// Finishes and applies one prepared row. `Ok(Ok(_))`: loaded, its normalized record in
    /// `out`; `Ok(Err(_))`: rejected; `Err(_)`: the run stops.
    fn apply_one(&mut self, prepared: Prepared) -> Result<Result<(), Rejected>, Stop> {
        let Prepared { iud, action, mut errors, repeated_at, row, .. } = prepared;
        // The row stays in its box and is read in place: moved out, its validated debt would be
        // copied (a kilobyte) once or twice a row.
        let Some(mut row) = row else {
            return Ok(Err(self.rejected(iud, errors)));
        };
        if let Some(at) = repeated_at
            && self.repeated(&iud)?
        {
            let error = RowError { code: "PAA_IMPORT_IUD_DUPLICATO", description: "IUD duplicato nel file".to_owned() };
            errors.insert(at.min(errors.len()), error);
        }
        let PreparedRow { fields, debt_type, checked, result, plan } = &mut *row;
        if checked.is_none() {
            let current_iuv = store_debts::find_debt_by_iud(self.tx, self.scope.org.id, &iud)?
                .and_then(|d| d.iuv)
                .map(|i| i.as_str().to_owned());
            let ctx = self.state.rules.context(debt_type.as_ref(), action == Some("I"), current_iuv);
            *checked = Some(debt_row::validate(&fields.take().unwrap_or_default(), &ctx));
        }
        if let Some(Err(found)) = checked {
            errors.append(found);
        }
        if let (Some(enabled), Some(t)) = (&self.state.enabled, &*debt_type)
            && !enabled.contains(&t.record.id)
        {
            errors.push(RowError {
                code: "PAA_IMPORT_OPERATORE_NO_PERMESSI",
                description: format!("operatore non abilitato al tipo dovuto {}", t.record.code),
            });
        }
        let (Some(Ok(valid)), Some(debt_type), Some(action), true) =
            (&*checked, &*debt_type, action, errors.is_empty())
        else {
            return Ok(Err(self.rejected(iud, errors)));
        };
        let debt_type = &debt_type.record;
        let result = match result.take() {
            Some(result) => result,
            None => ResultLine::new(self.layout, &import_rows::normalized(valid, action)),
        };
        let import_id = Some(self.state.import_id);
        let now = &self.state.now;
        let applied = match action {
            "I" if plan.is_some() => {
                let plan = plan.take().unwrap_or_default();
                return self.insert_with_options(iud, valid, debt_type, plan, result);
            }
            "I" => debts::insert_valid_with(
                &mut self.inserter,
                &self.scope,
                debt_type,
                valid,
                Source::Import,
                import_id,
                now,
            )?
            .map(|a| a.iuv),
            "M" => {
                let valid = valid.clone();
                debts::modify_valid(self.tx, &self.scope, debt_type, valid, import_id, now)?.map(|a| a.iuv)
            }
            _ => debts::annul_in(self.tx, &self.scope, &iud, import_id, now)?.map(|(debt, _)| debt.iuv),
        };
        match applied {
            Ok(iuv) => {
                self.out.clear();
                result.write(iuv.as_ref().map_or("", Iuv::as_str), self.out);
                Ok(Ok(()))
            }
            Err(errors) => Ok(Err(self.rejected(iud, errors))),
        }
    }

    /// Inserts a valid `I` row with payment options: the steps of `add_debt_with_options`, in the
    /// chunk's transaction; the row's amount is the single option. A plan the domain refuses, or a
    /// row that can have one option only, is rejected with a description saying why.
    fn insert_with_options(
        &mut self,
        iud: String,
        valid: &debt_row::ValidDebt,
        debt_type: &crate::store::debt_types::DebtTypeRecord,
        mut plan: Plan,
        result: ResultLine,
    ) -> Result<Result<(), Rejected>, Stop> {
        plan.single = Some(valid.amount);
        let refuse = |description: String| vec![RowError { code: OPTIONS_REFUSED, description }];
        let refusal = if let Err(err) = payment_options::check_plan(&plan, self.state.rules.today) {
            Some(format!("opzioniPagamento non valide: {err}"))
        } else if valid.iuv.is_none() && !valid.generate_iuv {
            Some("opzioniPagamento: serve uno IUV (indicato o flagGeneraIuv)".to_owned())
        } else if valid.stamp.is_some() || valid.secondary.is_some() {
            Some("opzioniPagamento: un dovuto multibeneficiario ha una sola opzione".to_owned())
        } else if self.scope.mirror {
            Some("opzioniPagamento: ente collegato alla Regione, una sola opzione per dovuto".to_owned())
        } else {
            None
        };
        if let Some(description) = refusal {
            return Ok(Err(self.rejected(iud, refuse(description))));
        }
        let import_id = Some(self.state.import_id);
        let now = &self.state.now;
        let applied = debts::insert_valid_with(
            &mut self.inserter,
            &self.scope,
            debt_type,
            valid,
            Source::Import,
            import_id,
            now,
        )?;
        match applied {
            Ok(applied) => {
                options::insert_options_in(
                    self.tx,
                    &self.scope,
                    &self.state.uploader,
                    applied.id,
                    &iud,
                    &plan,
                    &self.state.now,
                )?;
                self.out.clear();
                result.write(applied.iuv.as_ref().map_or("", Iuv::as_str), self.out);
                Ok(Ok(()))
            }
            Err(errors) => Ok(Err(self.rejected(iud, errors))),
        }
    }

    /// Hands an applied batch to the reader's thread to be freed; an empty vector for the next.
    fn recycle(&self, pending: Vec<Pending>) -> Vec<Pending> {
        // A reader that has ended gives the batch back, and it is freed here.
        let _ = self.state.trash.send(Box::new(pending));
        Vec::with_capacity(store_debts::INSERT_BATCH)
    }

    fn rejected(&mut self, iud: String, errors: Vec<RowError>) -> Rejected {
        if !iud.is_empty() {
            self.state.rejected_iuds.insert(iud.clone());
        }
        (iud, errors)
    }

    /// Whether an IUD whose hash the reader saw before really appeared on an earlier line: every
    /// earlier line is finished by now, so it is either among the rejected IUDs or in the store,
    /// written by this import.
    fn repeated(&mut self, iud: &str) -> Result<bool, Stop> {
        Ok(self.state.rejected_iuds.contains(iud)
            || store_debts::import_wrote_iud(self.tx, self.scope.org.id, iud, self.state.import_id)?)
    }
}
