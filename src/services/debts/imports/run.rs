//! Running an import: the orchestration of the debt-flow pipeline (reference/mypay.md §2). The file
//! formats (name, ZIP, CSV rows, result files, `bilancio`) are `crate::flows`'; this module owns the
//! transaction that applies a file, the import's state checks, the audit entry, the set-aside of
//! the debt table's search indexes, and the job that follows (the notices).
//!
//! Durability: the whole file is applied in ONE transaction, which also ends the import in
//! `IMPORT_ESEGUITO`; result files are synced and renamed into place before it commits. A crash at
//! any point leaves either nothing of the file or all of it; the job runs again after a restart
//! and, finding its import still unfinished, starts over. A file-level error rolls back whatever
//! rows were applied and ends the import in `IMPORT_ABORTITO` with MyPay's code.
//! Memory: the CSV is read line by line from the ZIP on a thread of its own
//! (`flows::import_rows`); only a Bloom filter of the IUDs is kept (to refuse an IUD seen earlier
//! in the file), plus the IUDs of rejected rows.
//! Speed: a file expected to hold more rows than the debt table is applied with the table's search
//! indexes set aside and built again once at the end, inside the same transaction.
//! Must never: let one bad row stop the others.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};

use crate::clock::Now;
use crate::domain::ImportState;
use crate::domain::debt_row::{self, RowError};
use crate::flows::csv_row;
use crate::flows::import::{FileError, RunError, Stop, parse_name};
use crate::flows::import_layout::{Layout, Version};
use crate::flows::import_rows::{self, Batch, KnownType, Prepared, PreparedRow, ResultLine, Rules, Upload};
use crate::flows::results::{self, ResultZip};
use crate::jobs::{Job, Progress};
use crate::services::ServiceError;
use crate::services::debts::{self, OrgScope, Source};
use crate::store::debts as store_debts;
use crate::store::imports::{self, ImportRecord, ImportTotals};
use crate::store::{Conn, Db, audit, debt_types, operators};

/// What a run needs besides the import.
pub struct RunEnv<'a> {
    pub db: &'a Db,
    pub data_dir: &'a Path,
    pub max_uncompressed_bytes: u64,
    /// When the run started: its stored time, and its Europe/Rome day for the rules.
    pub now: Now,
    /// Polled between rows; true stops the run with [`RunError::Interrupted`].
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

/// Page cache of the importing connection while a file is applied, in KiB.
const IMPORT_CACHE_KIB: i64 = 48 * 1024;
/// Page cache, and so memory of SQLite's sorter, while the search indexes are built after a large
/// file's rows, in KiB.
const SORT_CACHE_KIB: i64 = 16 * 1024;
/// Rows between two looks at the cancel flag and two progress reports.
const CHECK_EVERY: u64 = 2048;
/// Batches of prepared rows the reader may be ahead of the transaction by (memory stays bounded).
const QUEUED_BATCHES: usize = 8;
/// Files expected to hold at least this many rows, and more than the debt table, are loaded with
/// the debt table's search indexes built once at the end (`store::debts::set_aside_search_indexes`).
const BULK_MIN_ROWS: u64 = 50_000;
/// The length of a typical 1_4 row, to expect a number of rows from the CSV's declared size.
const TYPICAL_ROW_BYTES: u64 = 150;

/// Runs import `import_id` to its end state and returns the record. Running an import that already
/// ended changes nothing (a job replayed after a crash).
pub fn run(env: &mut RunEnv<'_>, import_id: i64) -> Result<ImportRecord, RunError> {
    let iso = env.now.iso();
    let now = iso.as_str();
    let import = env.db.write(|tx| {
        let import = imports::find_import(tx, import_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("import {import_id}")))?;
        if import.state.is_final() {
            return Ok::<_, ServiceError>(import);
        }
        imports::update_import_started(tx, import_id, now)?;
        Ok(ImportRecord { state: ImportState::InProgress, ..import })
    })?;
    if import.state.is_final() {
        return Ok(import);
    }
    match apply(env, &import) {
        Ok(()) => {}
        Err(Stop::Run(err)) => return Err(err),
        Err(Stop::File(file)) => {
            tracing::info!(import = import_id, code = %file.code, "import aborted: {}", file.description);
            env.db.write(|tx| {
                imports::update_import_aborted(tx, import_id, &file.code, &file.description, now)?;
                let object = format!("import:{}", import.file_name);
                let entry = audit::AuditEntry {
                    actor: &import.uploader,
                    org_id: Some(import.org_id),
                    action: "import.run",
                    object: Some(&object),
                    outcome: &file.code,
                    ..Default::default()
                };
                audit::insert_audit(tx, &entry, now)
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

fn apply(env: &mut RunEnv<'_>, import: &ImportRecord) -> Result<(), Stop> {
    let name = parse_name(&import.file_name, &import.org_ipa).map_err(Stop::File)?;
    let upload = Upload {
        path: env.data_dir.join(&import.stored_file),
        base: name.base.clone(),
        version: name.version,
        limit: env.max_uncompressed_bytes,
    };
    let read_bytes = Arc::new(AtomicU64::new(0));
    let (to_applier, batches) = mpsc::sync_channel::<Batch>(QUEUED_BATCHES);
    let (send_rules, rules) = mpsc::sync_channel::<Arc<Rules>>(1);
    // The channels move into the scope's closure: whatever way it returns, they are dropped
    // before the scope waits for the reader, which then sees the hang-up and stops.
    std::thread::scope(move |scope| {
        let counter = Arc::clone(&read_bytes);
        scope.spawn(move || import_rows::read(upload, to_applier, rules, counter));
        let next = |batches: &Receiver<Batch>| {
            batches.recv().map_err(|_| Stop::Run(RunError::System("the import's reader thread stopped".to_owned())))
        };
        let header = match next(&batches)? {
            Batch::Header(header) => header,
            Batch::Failed(stop) => return Err(stop),
            Batch::Rows(_) | Batch::End => {
                return Err(Stop::Run(RunError::System("the import's reader sent rows before the header".to_owned())));
            }
        };
        let dir_rel = results_dir(import.id);
        let dir = env.data_dir.join(&dir_rel);
        // A run after a crash starts from a clean folder: files of the lost run are not this run's.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|err| RunError::System(format!("cannot create {}: {err}", dir.display())))?;

        let db = env.db;
        let iso = env.now.iso();
        let now = iso.as_str();
        db.write(|tx| {
            let current = imports::find_import(tx, import.id)?;
            if current.as_ref().is_none_or(|i| i.state.is_final()) {
                // Another process finished it meanwhile; nothing to do.
                return Ok(());
            }
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
            let previous_cache = imports::set_cache_kib(tx, IMPORT_CACHE_KIB)?;
            let mut rows = RowApplier::new(tx, import, name.version, env.now)?;
            let expected_rows = header.declared / TYPICAL_ROW_BYTES;
            let table_rows = u64::try_from(store_debts::count_debts_at_most(tx)?).unwrap_or(0);
            let set_aside = if expected_rows >= BULK_MIN_ROWS && expected_rows > table_rows {
                tracing::info!(import = import.id, expected_rows, table_rows, "search indexes rebuilt after the rows");
                Some(store_debts::set_aside_search_indexes(tx)?)
            } else {
                None
            };
            // The reader may have failed already; its `Failed` then comes next.
            let _ = send_rules.send(Arc::clone(&rows.rules));
            let header_text = &header.text;
            let mut scarti =
                ResultZip::new(&dir, format!("{}_SCARTI", name.base), format!("{header_text};cod_rifiuto;de_rifiuto"));
            let mut iuvs = ResultZip::new(&dir, format!("{}_IUV", name.base), header_text.clone());
            let total_bytes = header.declared;
            let mut n_rows = 0u64;
            let started = std::time::Instant::now();
            let mut out = String::with_capacity(1024);
            let write_err = |err: io::Error| RunError::System(format!("cannot write a result file: {err}"));
            loop {
                let prepared = match next(&batches)? {
                    Batch::Rows(prepared) => prepared,
                    Batch::End => break,
                    Batch::Failed(stop) => return Err(stop),
                    Batch::Header(_) => {
                        return Err(Stop::Run(RunError::System("the import's reader sent a second header".to_owned())));
                    }
                };
                for mut row in prepared {
                    n_rows += 1;
                    if n_rows % CHECK_EVERY == 0 {
                        if (env.cancelled)() {
                            return Err(Stop::Run(RunError::Interrupted));
                        }
                        let bytes = read_bytes.load(Ordering::Relaxed);
                        (env.progress)(Progress { units: n_rows, bytes, total_bytes });
                    }
                    let line = std::mem::take(&mut row.line);
                    out.clear();
                    match rows.apply(row, &header.layout, &mut out)? {
                        Ok(()) => iuvs.write_line(&out),
                        Err(errors) => {
                            out.push_str(&line);
                            out.push(';');
                            let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
                            out.push_str(&codes.join("|"));
                            out.push(';');
                            let descriptions: Vec<&str> = errors.iter().map(|e| e.description.as_str()).collect();
                            csv_row::push_field(&mut out, &descriptions.join("|"));
                            scarti.write_line(&out)
                        }
                    }
                    .map_err(write_err)?;
                }
            }
            (env.progress)(Progress { units: n_rows, bytes: read_bytes.load(Ordering::Relaxed), total_bytes });
            let (loaded, rejected) = (iuvs.rows(), scarti.rows());
            let rejects_file = scarti.finish().map_err(write_err)?.map(|f| format!("{dir_rel}/{f}"));
            let iuv_file = iuvs.finish().map_err(write_err)?.map(|f| format!("{dir_rel}/{f}"));
            results::sync_dir(&dir).map_err(write_err)?;
            let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            let totals = ImportTotals {
                iuf: name.iuf.clone(),
                layout_version: name.version.code().to_owned(),
                rows_total: as_i64(n_rows),
                rows_loaded: as_i64(loaded),
                rows_rejected: as_i64(rejected),
                rejects_file,
                iuv_file,
            };
            let rows_secs = started.elapsed().as_secs_f64();
            if let Some(set_aside) = set_aside {
                store_debts::rebuild_search_indexes(tx, set_aside, SORT_CACHE_KIB)?;
            }
            let indexes_secs = started.elapsed().as_secs_f64() - rows_secs;
            rows.scope.release_unused_counters(tx).map_err(|err| RunError::System(err.to_string()))?;
            imports::update_import_done(tx, import.id, &totals, now)?;
            // The notices of rows with flagGeneraIuv come after the commit, never inside it (a slow
            // PDF must not hold the import's transaction): queued here, in the same transaction, so
            // a crash cannot lose them.
            if loaded > 0 && matches!(name.version.code(), "1_3" | "1_4") {
                crate::jobs::enqueue(tx, &Job::ImportNotices { import_id: import.id }, env.now)?;
            }
            let object = format!("import:{}", import.file_name);
            let after = serde_json::json!({ "rows": n_rows, "loaded": loaded, "rejected": rejected }).to_string();
            let entry = audit::AuditEntry {
                actor: &import.uploader,
                org_id: Some(import.org_id),
                action: "import.run",
                object: Some(&object),
                outcome: "OK",
                after_json: Some(&after),
                ..Default::default()
            };
            audit::insert_audit(tx, &entry, now)?;
            imports::restore_cache(tx, previous_cache)?;
            tracing::info!(
                import = import.id,
                rows = n_rows,
                loaded,
                rejected,
                rows_secs,
                indexes_secs,
                "import applied"
            );
            Ok(())
        })
    })
}

/// Finishes the rows the reader prepared, inside the import's transaction and in file order:
/// what needs the store, then the action itself.
struct RowApplier<'t> {
    tx: &'t Conn,
    inserter: store_debts::DebtInserter<'t>,
    import_id: i64,
    scope: OrgScope,
    /// The run's time as stored, formatted once for every row.
    now: String,
    rules: Arc<Rules>,
    /// `None`: every debt type (an administrator); `Some`: the operator's enabled debt types.
    enabled: Option<HashSet<i64>>,
    /// IUDs of rejected rows (loaded ones are found in the store by `import_id`).
    rejected_iuds: HashSet<String>,
}

impl<'t> RowApplier<'t> {
    fn new(tx: &'t Conn, import: &ImportRecord, version: Version, now: Now) -> Result<RowApplier<'t>, Stop> {
        let scope = OrgScope::load(tx, &import.org_ipa)?.with_counter_block(1024);
        let debt_types: HashMap<String, KnownType> = debt_types::list_debt_types(tx, scope.org.id)?
            .into_iter()
            .map(|t| {
                let known = KnownType { rules: debts::rules_of(&t), record: Arc::new(t) };
                (known.record.code.clone(), known)
            })
            .collect();
        let enabled = match &import.operator {
            None => None,
            Some(username) => match operators::find_operator(tx, username)? {
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
        let rules =
            Arc::new(Rules { version, segregation_code: scope.segregation_code, today: now.today(), debt_types });
        Ok(RowApplier {
            tx,
            inserter: store_debts::DebtInserter::new(tx)?,
            import_id: import.id,
            scope,
            now: now.iso(),
            rules,
            enabled,
            rejected_iuds: HashSet::new(),
        })
    }

    /// Finishes and applies one prepared row. `Ok(Ok(()))`: loaded, its normalized record in
    /// `out`; `Ok(Err(_))`: rejected with these errors; `Err(_)`: the run stops.
    fn apply(
        &mut self,
        prepared: Prepared,
        layout: &Layout,
        out: &mut String,
    ) -> Result<Result<(), Vec<RowError>>, Stop> {
        let Prepared { iud, action, mut errors, repeated_at, row, .. } = prepared;
        let Some(PreparedRow { fields, debt_type, checked, result }) = row.map(|row| *row) else {
            return Ok(Err(self.rejected(&iud, errors)));
        };
        if let Some(at) = repeated_at
            && self.repeated(&iud)?
        {
            let error = RowError { code: "PAA_IMPORT_IUD_DUPLICATO", description: "IUD duplicato nel file".to_owned() };
            errors.insert(at.min(errors.len()), error);
        }
        let checked = match (checked, fields) {
            (Some(checked), _) => checked,
            (None, fields) => {
                let current_iuv = store_debts::find_debt_by_iud(self.tx, self.scope.org.id, &iud)?
                    .and_then(|d| d.iuv)
                    .map(|i| i.as_str().to_owned());
                let ctx = self.rules.context(debt_type.as_ref(), action == Some("I"), current_iuv);
                debt_row::validate(&fields.unwrap_or_default(), &ctx)
            }
        };
        let valid = match checked {
            Ok(valid) if errors.is_empty() => Some(valid),
            Ok(_) => None,
            Err(found) => {
                errors.extend(found);
                None
            }
        };
        if let (Some(enabled), Some(t)) = (&self.enabled, &debt_type)
            && !enabled.contains(&t.record.id)
        {
            errors.push(RowError {
                code: "PAA_IMPORT_OPERATORE_NO_PERMESSI",
                description: format!("operatore non abilitato al tipo dovuto {}", t.record.code),
            });
        }
        let (Some(valid), Some(debt_type), Some(action), true) = (valid, debt_type, action, errors.is_empty()) else {
            return Ok(Err(self.rejected(&iud, errors)));
        };
        let debt_type = &debt_type.record;
        let result = result.unwrap_or_else(|| ResultLine::new(layout, &import_rows::normalized(&valid, action)));
        let applied = match action {
            "I" => debts::insert_valid_with(
                &mut self.inserter,
                &self.scope,
                debt_type,
                valid,
                Source::Import,
                Some(self.import_id),
                &self.now,
            )?
            .map(|a| a.iuv),
            "M" => debts::modify_valid(self.tx, &self.scope, debt_type, valid, Some(self.import_id), &self.now)?
                .map(|a| a.iuv),
            _ => {
                debts::annul_in(self.tx, &self.scope, &iud, Some(self.import_id), &self.now)?.map(|(debt, _)| debt.iuv)
            }
        };
        match applied {
            Ok(iuv) => {
                result.write(iuv.as_ref().map_or("", crate::domain::Iuv::as_str), out);
                Ok(Ok(()))
            }
            Err(errors) => Ok(Err(self.rejected(&iud, errors))),
        }
    }

    fn rejected(&mut self, iud: &str, errors: Vec<RowError>) -> Vec<RowError> {
        if !iud.is_empty() {
            self.rejected_iuds.insert(iud.to_owned());
        }
        errors
    }

    /// Whether an IUD whose hash the reader saw before really appeared on an earlier line: every
    /// earlier line is finished by now, so it is either among the rejected IUDs or in the store,
    /// written by this import.
    fn repeated(&mut self, iud: &str) -> Result<bool, Stop> {
        Ok(self.rejected_iuds.contains(iud)
            || store_debts::import_wrote_iud(self.tx, self.scope.org.id, iud, self.import_id)?)
    }
}
