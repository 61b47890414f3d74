//! `mypay import FILE.zip --org IPA`: submit a debt flow and, unless a server on the same data
//! directory will run it, run it here; `--status ID` and `--list` read imports back.
//!
//! One pipeline for every channel: the upload goes through `services::debts::imports::submit` (stored,
//! queued as a job) whoever runs it. When `serve` is running on this data directory (its pid file
//! names a live process), its job runner applies the file and this command waits by polling the
//! database (`--wait`; a progress bar needs the rows as they go, so it shows only in-process).
//! Otherwise this command claims the job and runs it in-process (so `--wait` is implied); if it is
//! killed, the job stays with a dead owner and the next `serve` runs it again. In-process, a first
//! Ctrl-C asks the job to stop where it can resume (it is queued again for the next run), a second
//! one ends the process at once.
//!
//! `--make-notices ID` asks for the notices ZIP of an applied import (`import.notices = "on-demand"`,
//! or again after a failure), made the same way: by the running server, or here. `--status` shows
//! the progress of an import and of its notices as the job runner records it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use super::{CliError, Interrupt};
use crate::clock::Now;
use crate::config::{Config, NoticesMode};
use crate::domain::ImportState;
use crate::jobs::{self, Job, Progress};
use crate::services::background::{self, JobSettings};
use crate::services::debts::imports::notices::{self, NoticesStatus, bytes_text};
use crate::services::debts::imports::{self, Limits, Upload};
use crate::store::Db;
use crate::store::imports::ImportRecord;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The flow: <IPA>-<IUF>-<version>.zip (version 1_0 .. 1_4).
    #[arg(required_unless_present_any = ["status", "list", "resume", "make_notices"])]
    pub file: Option<PathBuf>,
    /// The org (IPA code) the flow belongs to.
    #[arg(long)]
    pub org: String,
    /// Apply the rows with this operator's debt-type enablement (default: as an administrator).
    #[arg(long)]
    pub operator: Option<String>,
    /// Wait for the end even when a running server applies the flow.
    #[arg(long)]
    pub wait: bool,
    /// Without a running server, also make the notices ZIP (`_AVVISI_PDF`) of rows with
    /// flagGeneraIuv now (unless import.notices is "off"); otherwise the server's job runner makes
    /// it (a few hundred notices a second, so a large flow takes a while).
    #[arg(long)]
    pub notices: bool,
    /// Make the notices ZIP of applied import ID (import.notices = "on-demand", or again after a
    /// failure): by the running server, or here.
    #[arg(long, value_name = "ID", conflicts_with_all = ["file", "list", "status", "resume"])]
    pub make_notices: Option<i64>,
    /// Show import ID, with the progress of its job and of its notices, instead of importing.
    #[arg(long, value_name = "ID", conflicts_with_all = ["file", "list"])]
    pub status: Option<i64>,
    /// List the org's imports, newest first.
    #[arg(long, conflicts_with = "file")]
    pub list: bool,
    /// Without a running server, finish the org's imports that a stopped process left unfinished
    /// (each resumes from its last applied chunk).
    #[arg(long, conflicts_with_all = ["file", "list", "status"])]
    pub resume: bool,
    #[arg(long)]
    pub json: bool,
}

impl ImportArgs {
    /// Whether the command writes (an upload, a request for notices, resuming imports) or only reads.
    pub fn writes(&self) -> bool {
        self.file.is_some() || self.make_notices.is_some() || self.resume
    }
}

/// The pid file `serve` keeps in the data directory while it runs.
pub fn pid_file(data_dir: &Path) -> PathBuf {
    data_dir.join("mypay.pid")
}

/// Whether a server runs on this data directory: its pid file names a live process.
fn server_running(data_dir: &Path) -> bool {
    running_server(data_dir).is_some()
}

/// The pid of the server running on this data directory, if its pid file names a live process.
pub(super) fn running_server(data_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(pid_file(data_dir))
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id() && jobs::owner_alive(&format!("pid:{pid}")))
}

pub fn run(config: &Config, db: &Db, args: ImportArgs, interrupt: &Interrupt) -> Result<(), CliError> {
    let data_dir = &config.data_dir;
    if let Some(id) = args.status {
        let import = imports::get_import(db, &args.org, id)?;
        return print(db, config, &import, args.json);
    }
    if args.list {
        let list = imports::list_imports(db, &args.org, 100, 0)?;
        let states = notices::statuses(db, &list, config.import.notices)?;
        if args.json {
            let values: Vec<Value> = list.iter().zip(&states).map(|(i, n)| to_json(data_dir, i, n)).collect();
            println!("{}", serde_json::to_string_pretty(&values).map_err(|e| CliError::System(e.to_string()))?);
        } else {
            if list.is_empty() {
                eprintln!("org {} has no imports yet: mypay import FILE.zip --org {}", args.org, args.org);
            }
            for (i, n) in list.iter().zip(&states) {
                println!(
                    "{:>6} {:<40} {:<16} rows {:>8} loaded {:>8} rejected {:>8} notices {:<14} {}",
                    i.id,
                    i.file_name,
                    i.state.code(),
                    i.rows_total.unwrap_or(0),
                    i.rows_loaded.unwrap_or(0),
                    i.rows_rejected.unwrap_or(0),
                    notices_code(n),
                    i.error_code.as_deref().unwrap_or("")
                );
            }
        }
        return Ok(());
    }
    if args.resume {
        return resume(config, db, &args, interrupt);
    }
    if let Some(id) = args.make_notices {
        return make_notices(config, db, &args, id, interrupt);
    }
    let Some(path) = args.file.clone() else {
        return Err(CliError::Usage("a file to import is required".to_owned()));
    };
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| CliError::Usage(format!("{} is not a file name", path.display())))?
        .to_owned();
    let mut file =
        std::fs::File::open(&path).map_err(|err| CliError::Usage(format!("cannot read {}: {err}", path.display())))?;
    let actor = actor_of(&args);
    let upload =
        Upload { org_ipa: &args.org, file_name: &file_name, actor: &actor, operator: args.operator.as_deref() };
    let limits = Limits::from_config(config);
    let now = Now::read();
    let submitted = imports::submit(db, data_dir, limits, &upload, &mut file, now)?;
    let id = submitted.import.id;

    if server_running(data_dir) {
        if !args.wait {
            return print(db, config, &submitted.import, args.json);
        }
        return print(db, config, &wait_for(db, &args.org, id)?, args.json);
    }
    let claimed = jobs::claim(db, submitted.job_id, now)?;
    let Some(job) = claimed else {
        // Something else took it (a server that just started): wait for it.
        return print(db, config, &wait_for(db, &args.org, id)?, args.json);
    };
    let handlers = background::handlers(&JobSettings::from_config(config));
    arm(interrupt);
    let show_bar = std::io::stderr().is_terminal();
    let mut bar = |p: Progress| {
        if show_bar {
            progress_bar(p);
        }
    };
    let cancelled = || interrupt.is_set();
    let outcome = jobs::run_claimed(db, &handlers, &job, &cancelled, &mut bar)?;
    if show_bar {
        eprintln!();
    }
    if let jobs::Outcome::Failed(err) | jobs::Outcome::Requeued(err) = &outcome {
        return Err(CliError::System(format!("import {id} did not run: {err}")));
    }
    if args.notices && config.import.notices == NoticesMode::Off {
        eprintln!("note: no notices made: import.notices is \"off\"");
    } else if args.notices && imports::get_import(db, &args.org, id)?.state == ImportState::Done {
        // No server will pick up the notices job the import queued: run it here (asking for it
        // first, which `on-demand` needs). An import without notices to make has nothing to run.
        match notices::request(db, &args.org, id, &actor, config.import.notices, Now::read()) {
            Ok(job_id) => run_notices_here(db, config, job_id, interrupt)?,
            Err(err) => tracing::debug!(error = %err, "no notices to make"),
        }
    }
    let import = imports::get_import(db, &args.org, id)?;
    print(db, config, &import, args.json)
}

fn actor_of(args: &ImportArgs) -> String {
    match &args.operator {
        Some(username) => format!("operator:{username}"),
        None => "cli".to_owned(),
    }
}

/// Installs the Ctrl-C handling of in-process work (see the module documentation).
fn arm(interrupt: &Interrupt) {
    if let Err(err) = interrupt.arm() {
        tracing::warn!(error = %err, "cannot handle Ctrl-C: it ends the process at once");
    }
}

/// `--make-notices ID`.
fn make_notices(config: &Config, db: &Db, args: &ImportArgs, id: i64, interrupt: &Interrupt) -> Result<(), CliError> {
    let data_dir = &config.data_dir;
    let job_id = notices::request(db, &args.org, id, &actor_of(args), config.import.notices, Now::read())?;
    if server_running(data_dir) {
        if args.wait {
            wait_for_notices(db, config, &args.org, id)?;
        } else {
            eprintln!(
                "the running server makes the notices of import {id}: see mypay import --org {} --status {id}",
                args.org
            );
        }
    } else {
        run_notices_here(db, config, job_id, interrupt)?;
    }
    let import = imports::get_import(db, &args.org, id)?;
    print(db, config, &import, args.json)?;
    match notices::status(db, &import, config.import.notices)? {
        NoticesStatus::DiskShort { .. } | NoticesStatus::Failed { .. } => {
            Err(CliError::System(format!("the notices of import {id} were not made")))
        }
        _ => Ok(()),
    }
}

/// Claims notices job `job_id` and runs it in this process, with a count on a terminal.
fn run_notices_here(db: &Db, config: &Config, job_id: i64, interrupt: &Interrupt) -> Result<(), CliError> {
    let Some(job) = jobs::claim(db, job_id, Now::read())? else {
        return Ok(());
    };
    let handlers = background::handlers(&JobSettings::from_config(config));
    arm(interrupt);
    let show = std::io::stderr().is_terminal();
    let mut count = |p: Progress| {
        if show && p.units % 50 == 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{} notices", p.units);
            let _ = err.flush();
        }
    };
    let cancelled = || interrupt.is_set();
    let outcome = jobs::run_claimed(db, &handlers, &job, &cancelled, &mut count)?;
    if show {
        eprintln!();
    }
    if let jobs::Outcome::Requeued(reason) = &outcome {
        eprintln!("notices stopped ({reason}): they go on from where they stopped at the next run");
    }
    Ok(())
}

/// `--resume`: queues again the import jobs whose process stopped, and runs the org's unfinished
/// imports here, each from its cursor.
fn resume(config: &Config, db: &Db, args: &ImportArgs, interrupt: &Interrupt) -> Result<(), CliError> {
    let data_dir = &config.data_dir;
    if server_running(data_dir) {
        return Err(CliError::Usage(
            "a server runs on this data directory: it resumes unfinished imports itself".to_owned(),
        ));
    }
    let handlers = background::handlers(&JobSettings::from_config(config));
    jobs::requeue_orphans(db, &handlers, false)?;
    arm(interrupt);
    let cancelled = || interrupt.is_set();
    let mut resumed = Vec::new();
    for import in imports::list_imports(db, &args.org, 1000, 0)? {
        if import.state.is_final() {
            continue;
        }
        let now = Now::read();
        let Some(job_id) = jobs::find_queued(db, &Job::Import { import_id: import.id })? else { continue };
        let Some(job) = jobs::claim(db, job_id, now)? else { continue };
        let outcome = jobs::run_claimed(db, &handlers, &job, &cancelled, &mut |_| {})?;
        if let jobs::Outcome::Failed(err) | jobs::Outcome::Requeued(err) = &outcome {
            return Err(CliError::System(format!("import {} did not run: {err}", import.id)));
        }
        resumed.push(imports::get_import(db, &args.org, import.id)?);
    }
    if args.json {
        let states = notices::statuses(db, &resumed, config.import.notices)?;
        let values: Vec<Value> = resumed.iter().zip(&states).map(|(i, n)| to_json(data_dir, i, n)).collect();
        println!("{}", serde_json::to_string_pretty(&values).map_err(|e| CliError::System(e.to_string()))?);
    } else if resumed.is_empty() {
        println!("no unfinished import of {}", args.org);
    } else {
        for i in &resumed {
            println!("import {} {}: {}", i.id, i.file_name, i.state.code());
        }
    }
    Ok(())
}

fn wait_for(db: &Db, org: &str, id: i64) -> Result<ImportRecord, CliError> {
    loop {
        let import = imports::get_import(db, org, id)?;
        if import.state.is_final() {
            return Ok(import);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the notices of import `id` are no longer queued or being made.
fn wait_for_notices(db: &Db, config: &Config, org: &str, id: i64) -> Result<(), CliError> {
    let show = std::io::stderr().is_terminal();
    loop {
        let import = imports::get_import(db, org, id)?;
        match notices::status(db, &import, config.import.notices)? {
            NoticesStatus::Queued { done, total } | NoticesStatus::Running { done, total } => {
                if show {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r{}", progress_text(done, total));
                    let _ = err.flush();
                }
            }
            _ => {
                if show {
                    eprintln!();
                }
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn progress_text(done: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("{done} of {total} notices"),
        None => format!("{done} notices"),
    }
}

/// The `--json` and `--list` code of a notices status: a contract for scripts.
fn notices_code(status: &NoticesStatus) -> &'static str {
    match status {
        NoticesStatus::None => "none",
        NoticesStatus::Ready => "ready",
        NoticesStatus::Queued { .. } => "queued",
        NoticesStatus::Running { .. } => "running",
        NoticesStatus::NotRequested => "not_requested",
        NoticesStatus::Disabled => "disabled",
        NoticesStatus::DiskShort { .. } => "disk_short",
        NoticesStatus::Failed { .. } => "failed",
    }
}

/// The `--json` shape of a notices status.
fn notices_json(status: &NoticesStatus) -> Value {
    let state = notices_code(status);
    match status {
        NoticesStatus::Queued { done, total } | NoticesStatus::Running { done, total } => {
            json!({ "state": state, "done": done, "total": total })
        }
        NoticesStatus::DiskShort { needed, available } => {
            json!({ "state": state, "needed_bytes": needed, "available_bytes": available })
        }
        NoticesStatus::Failed { reason } => json!({ "state": state, "error": reason }),
        _ => json!({ "state": state }),
    }
}

/// One line on the notices of an import, for `--status`; `None` when it has none to make.
fn notices_line(status: &NoticesStatus, org: &str, id: i64) -> Option<String> {
    Some(match status {
        NoticesStatus::None => return None,
        NoticesStatus::Ready => "notices: ready".to_owned(),
        NoticesStatus::Queued { done: 0, .. } => "notices: queued".to_owned(),
        NoticesStatus::Queued { done, total } => format!("notices: paused at {}", progress_text(*done, *total)),
        NoticesStatus::Running { done, total } => format!("notices: being made, {}", progress_text(*done, *total)),
        NoticesStatus::NotRequested => {
            format!("notices: made on request (mypay import --org {org} --make-notices {id})")
        }
        NoticesStatus::Disabled => "notices: not made (import.notices is \"off\")".to_owned(),
        NoticesStatus::DiskShort { needed: 0, available } => format!(
            "notices: stopped, the data disk filled up ({} free): free some space, then \
             mypay import --org {org} --make-notices {id}",
            bytes_text(*available)
        ),
        NoticesStatus::DiskShort { needed, available } => format!(
            "notices: stopped, the data disk is short (about {} needed, {} free): free some space, then \
             mypay import --org {org} --make-notices {id}",
            bytes_text(*needed),
            bytes_text(*available)
        ),
        NoticesStatus::Failed { reason } => format!("notices: failed: {reason}"),
    })
}

fn progress_bar(p: Progress) {
    let pct = (p.bytes.saturating_mul(100)).checked_div(p.total_bytes).unwrap_or(0).min(100);
    let filled = usize::try_from(pct / 4).unwrap_or(0);
    let bar = format!("{}{}", "#".repeat(filled), " ".repeat(25usize.saturating_sub(filled)));
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r[{bar}] {pct:>3}% {} rows", p.units);
    let _ = err.flush();
}

/// The `--json` shape of an import: a contract for scripts. While it runs, its rows so far are
/// `loaded` and `rejected` (each chunk commits them) of `rows`.
fn to_json(data_dir: &Path, i: &ImportRecord, notices: &NoticesStatus) -> Value {
    let files = imports::result_files(data_dir, i);
    json!({
        "id": i.id, "org": i.org_ipa, "file_name": i.file_name, "iuf": i.iuf, "version": i.layout_version,
        "state": i.state.code(), "error_code": i.error_code, "error_description": i.error_description,
        "rows": i.rows_total, "loaded": i.rows_loaded, "rejected": i.rows_rejected,
        "rejects_file": files.rejects.map(|p| p.display().to_string()),
        "iuv_file": files.iuvs.map(|p| p.display().to_string()),
        "notices_file": i.notices_file.as_ref().map(|f| data_dir.join(f).display().to_string()),
        "uploader": i.uploader, "operator": i.operator, "size_bytes": i.size_bytes, "sha256": i.sha256,
        "created_at": i.created_at, "started_at": i.started_at, "finished_at": i.finished_at,
        "notices": notices_json(notices),
    })
}

fn print(db: &Db, config: &Config, import: &ImportRecord, as_json: bool) -> Result<(), CliError> {
    let data_dir = &config.data_dir;
    let notices = notices::status(db, import, config.import.notices)?;
    if as_json {
        let value = to_json(data_dir, import, &notices);
        let text = serde_json::to_string_pretty(&value).map_err(|e| CliError::System(e.to_string()))?;
        println!("{text}");
    } else {
        println!("import {} {}: {}", import.id, import.file_name, import.state.code());
        if let Some(code) = &import.error_code {
            println!("  {code}: {}", import.error_description.as_deref().unwrap_or(""));
        }
        if let Some(rows) = import.rows_total {
            println!(
                "  rows {rows}, loaded {}, rejected {}",
                import.rows_loaded.unwrap_or(0),
                import.rows_rejected.unwrap_or(0)
            );
        }
        let files = imports::result_files(data_dir, import);
        for path in [files.rejects, files.iuvs].into_iter().flatten() {
            println!("  {}", path.display());
        }
        if let Some(line) = notices_line(&notices, &import.org_ipa, import.id) {
            println!("  {line}");
        }
        if let Some(file) = &import.notices_file {
            println!("  {}", data_dir.join(file).display());
        }
    }
    if import.state == ImportState::Aborted {
        return Err(CliError::Usage(format!(
            "import {} aborted: {}",
            import.id,
            import.error_code.as_deref().unwrap_or("PAA_IMPORT_ERRORE_GENERICO")
        )));
    }
    Ok(())
}
