//! `mypay reconcile`: load the municipality's reconciliation files (`import`), read the
//! classification (`list`, `summary`), the org's flags (`settings`), classify again (`run`), give a
//! legacy Poste upload its flow's IUF (`poste-flow`).
//!
//! `import` goes through `services::reconciliation::uploads::submit` (stored, queued as a job)
//! like `mypay import`: a running server on the same data directory loads it (`--wait` polls for
//! the outcome), otherwise this command runs the job here. Exit codes as `mypay import`: 0 loaded,
//! 2 refused (the file, its name, a duplicate), 1 a failure of the system.
//! `export` books a reconciliation export (`services::reconciliation::exports`), runs it here and
//! copies the ZIP to `-o`.
//! `list`, `summary` and `export` first classify what changed since the last classification (receipts and
//! flows noted by the store), so they write, and wait for another writer.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{CliError, Interrupt};
use crate::clock::Now;
use crate::config::Config;
use crate::domain::Day;
use crate::domain::reconciliation::{Label, Source};
use crate::flows::recon::CashColumns;
use crate::jobs;
use crate::services::background::{self, JobSettings};
use crate::services::debts::imports::Limits;
use crate::services::reconciliation::uploads::{self, Upload};
use crate::services::reconciliation::{self, Filter};
use crate::store::Db;
use crate::store::reconciliation::{ItemRecord, UploadRecord, UploadState};

#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// Accertamenti: the registry of offices, chapters and assessments, and the accertamenti.
    #[command(subcommand)]
    Accertamenti(super::accertamenti::AccertamentiCommand),
    /// Operators' notes on reconciled elements (segnalazioni), with their history.
    #[command(subcommand)]
    Notes(super::accertamenti::NotesCommand),
    /// Load a reconciliation file: treasury (T bank movements, C giornale di cassa CSV, O OPI XML,
    /// Y Poste statement), P legacy Poste rendicontazione, D payment notifications.
    Import(ImportArgs),
    /// One object per transfer (and per notification without receipt, per lone treasury
    /// movement): IUV, IUR, transfer index, amounts per source, labels.
    List {
        #[arg(long)]
        org: String,
        /// Only rows with this label (IUD_RT_IUF_TES, ..., TES_NO_MATCH, DOPPI).
        #[arg(long)]
        label: Option<String>,
        /// First day (YYYY-MM-DD) of the row's payment, outcome, notification or booking.
        #[arg(long)]
        from: Option<String>,
        /// Last day, inclusive.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Counts and amounts per label per month.
    Summary {
        #[arg(long)]
        org: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show or change the org's flags: pagati (it sends payment notifications) and tesoreria (it
    /// loads its treasury); they decide which labels apply.
    Settings {
        #[arg(long)]
        org: String,
        #[arg(long)]
        pagati: Option<bool>,
        #[arg(long)]
        tesoreria: Option<bool>,
        #[arg(long)]
        json: bool,
    },
    /// Classify what changed since the last classification; with --from-scratch, everything.
    Run {
        #[arg(long)]
        org: String,
        #[arg(long)]
        from_scratch: bool,
    },
    /// Export the classification in MyPivot's reconciliation layout (1.0 .. 1.4) to a ZIP: one
    /// line per row and label, rows whose day is within --from..--to.
    #[command(disable_version_flag = true)]
    Export(ExportArgs),
    /// Give the lines of a loaded legacy Poste upload (P) the IUF of their flow, as MyPivot asks
    /// with the upload: by it they meet the treasury movements naming that flow.
    PosteFlow {
        #[arg(long)]
        org: String,
        /// The upload's id (`reconcile status`).
        #[arg(long)]
        upload: i64,
        #[arg(long)]
        iuf: String,
        #[arg(long)]
        json: bool,
    },
    /// Show an upload (or, without ID, the org's uploads).
    Status {
        #[arg(long)]
        org: String,
        id: Option<i64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ZIP, named as MyPivot names it (`<IPA>-<id>-1_0.zip`).
    pub file: PathBuf,
    #[arg(long)]
    pub org: String,
    /// C, O, T, Y, P or D; guessed from the name when absent (GDC, OPI, MOVCC, ECPOSTE, RENDPOSTE, NOTIF).
    #[arg(long)]
    pub kind: Option<String>,
    /// C only: the 1-based columns of anno, numero, data contabile, ordinante, causale, importo,
    /// data valuta (default 1,2,3,4,5,6,7).
    #[arg(long)]
    pub columns: Option<String>,
    /// Wait for the outcome even when a running server loads the file.
    #[arg(long)]
    pub wait: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub org: String,
    /// First day (YYYY-MM-DD) of the row's payment, outcome, notification or booking.
    #[arg(long)]
    pub from: String,
    /// Last day, inclusive.
    #[arg(long)]
    pub to: String,
    /// The layout: 1.0, 1.1, 1.2, 1.3 or 1.4.
    #[arg(long)]
    pub version: String,
    /// Only lines of this label (repeatable); none: every label.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Only rows of this debt type (repeatable): the receipt's, else the notification's.
    #[arg(long = "debt-type")]
    pub debt_types: Vec<String>,
    /// Header names: mypivot (MyPivot's camelCase, the default) or p4pa (snake_case, 1.3 and 1.4).
    #[arg(long, default_value = "mypivot")]
    pub headers: String,
    /// Lines allowed before the export ends NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO.
    #[arg(long)]
    pub max_rows: Option<u64>,
    /// Where to write the ZIP.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    #[arg(long)]
    pub json: bool,
}

impl ReconcileCommand {
    /// Whether the command writes: all but `status` and a `settings` that only shows.
    pub fn writes(&self) -> bool {
        match self {
            ReconcileCommand::Accertamenti(cmd) => cmd.writes(),
            ReconcileCommand::Notes(cmd) => cmd.writes(),
            ReconcileCommand::Status { .. } => false,
            ReconcileCommand::Settings { pagati, tesoreria, .. } => pagati.is_some() || tesoreria.is_some(),
            _ => true,
        }
    }
}

fn day(text: Option<&str>, flag: &str) -> Result<Option<Day>, CliError> {
    text.map(|t| Day::parse(t).map_err(|err| CliError::Usage(format!("--{flag} {t}: {err}")))).transpose()
}

fn print_json(value: &Value) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|e| CliError::System(e.to_string()))?);
    Ok(())
}

pub fn run(config: &Config, db: &Db, cmd: ReconcileCommand, interrupt: &Interrupt) -> Result<(), CliError> {
    match cmd {
        ReconcileCommand::Accertamenti(cmd) => super::accertamenti::run_accertamenti(db, cmd),
        ReconcileCommand::Notes(cmd) => super::accertamenti::run_notes(db, cmd),
        ReconcileCommand::Import(args) => import(config, db, &args, interrupt),
        ReconcileCommand::List { org, label, from, to, json } => {
            let label = label
                .map(|code| {
                    Label::from_code(&code).ok_or_else(|| {
                        let all: Vec<&str> = Label::ALL.iter().map(|l| l.code()).collect();
                        CliError::Usage(format!("--label {code}: not one of {}", all.join(", ")))
                    })
                })
                .transpose()?;
            let filter = Filter {
                label,
                from: day(from.as_deref(), "from")?,
                to: day(to.as_deref(), "to")?,
                limit: 0,
                offset: 0,
            };
            catch_up(db, &org, interrupt)?;
            let items = reconciliation::list(db, &org, filter)?;
            if json {
                print_json(&Value::Array(items.iter().map(item_json).collect()))
            } else {
                for item in &items {
                    println!(
                        "{:<10} {:<35} {:<35} {:>2} {:>10} {}",
                        item.day,
                        item.iuv.as_deref().unwrap_or("-"),
                        item.iur.as_deref().unwrap_or("-"),
                        item.transfer_index.map(|i| i.to_string()).unwrap_or_default(),
                        crate::domain::Cents::new(item.amount).to_decimal_string(),
                        item.labels.iter().map(|l| l.code()).collect::<Vec<_>>().join(" ")
                    );
                }
                Ok(())
            }
        }
        ReconcileCommand::Summary { org, from, to, json } => {
            let (from, to) = (day(from.as_deref(), "from")?, day(to.as_deref(), "to")?);
            catch_up(db, &org, interrupt)?;
            let months = reconciliation::label_months(db, &org, from, to)?;
            if json {
                let values = months
                    .iter()
                    .map(|m| {
                        json!({
                            "month": m.month, "label": m.label.code(), "caption": m.label.caption_it(),
                            "anomaly": m.label.is_anomaly(), "count": m.count, "amount": m.amount.to_decimal_string(),
                        })
                    })
                    .collect();
                print_json(&Value::Array(values))
            } else {
                for m in &months {
                    println!("{} {:<18} {:>8} {:>14}", m.month, m.label.code(), m.count, m.amount.to_decimal_string());
                }
                Ok(())
            }
        }
        ReconcileCommand::Settings { org, pagati, tesoreria, json } => {
            let flags = if pagati.is_some() || tesoreria.is_some() {
                reconciliation::set_settings(db, &org, pagati, tesoreria, "cli", Now::read())?
            } else {
                reconciliation::settings(db, &org)?
            };
            if json {
                print_json(&json!({ "org": org, "pagati": flags.pagati, "tesoreria": flags.tesoreria }))
            } else {
                println!("{org}: pagati {}, tesoreria {}", flags.pagati, flags.tesoreria);
                Ok(())
            }
        }
        ReconcileCommand::Run { org, from_scratch } => {
            let cancelled = || interrupt.is_set();
            arm(interrupt);
            let rows = if from_scratch {
                reconciliation::rebuild(db, &org, &cancelled)?
            } else {
                catch_up_org(db, &org, &cancelled)?
            };
            println!("{rows} rows classified");
            Ok(())
        }
        ReconcileCommand::Export(args) => export(config, db, &args, interrupt),
        ReconcileCommand::PosteFlow { org, upload, iuf, json } => {
            let lines = uploads::set_poste_flow(db, &org, upload, &iuf, "cli", Now::read())?;
            if json {
                print_json(&json!({ "upload": upload, "iuf": iuf.trim().to_uppercase(), "lines": lines }))
            } else {
                println!("upload {upload}: {lines} lines of flow {}", iuf.trim().to_uppercase());
                Ok(())
            }
        }
        ReconcileCommand::Status { org, id, json } => {
            let uploads = match id {
                Some(id) => vec![uploads::get_upload(db, &org, id)?],
                None => uploads::list_uploads(db, &org, 100)?,
            };
            if json {
                let values: Vec<Value> = uploads.iter().map(|u| upload_json(config, u)).collect();
                match (id, values.first()) {
                    (Some(_), Some(one)) => print_json(one),
                    _ => print_json(&Value::Array(values)),
                }
            } else {
                for u in &uploads {
                    print_upload(config, u);
                }
                Ok(())
            }
        }
    }
}

/// `reconcile export`: books, runs here, copies the ZIP to `-o`. Exit 0 when the file is written
/// or nothing matched (no file), 2 when the request ends in a state that refuses it (version,
/// label, too many lines), 1 on a failure.
fn export(config: &Config, db: &Db, args: &ExportArgs, interrupt: &Interrupt) -> Result<(), CliError> {
    use crate::domain::ReconExportState as State;
    use crate::flows::recon_export::Headers;
    use crate::services::reconciliation::exports::{self, Booking, Filters, Range};
    let headers = match args.headers.as_str() {
        "mypivot" => Headers::MyPivot,
        "p4pa" => Headers::P4pa,
        other => return Err(CliError::Usage(format!("--headers {other}: one of mypivot, p4pa"))),
    };
    let mut labels = Vec::new();
    for code in &args.labels {
        labels.push(Label::from_code(code).ok_or_else(|| {
            let all: Vec<&str> = Label::ALL.iter().map(|l| l.code()).collect();
            CliError::Usage(format!("--label {code}: not one of {}", all.join(", ")))
        })?);
    }
    let period = Range { from: day(Some(&args.from), "from")?, to: day(Some(&args.to), "to")? };
    let filters = Filters { labels, debt_types: args.debt_types.clone(), period, ..Filters::default() };
    catch_up(db, &args.org, interrupt)?;
    let booking = Booking {
        ipa: &args.org,
        version: &args.version,
        headers,
        filters,
        max_rows: args.max_rows,
        requested_by: "cli",
        operator: None,
    };
    let record = exports::book(db, &booking, false, Now::read())?;
    let record = if record.state.is_final() {
        record
    } else {
        arm(interrupt);
        let cancelled = || interrupt.is_set();
        exports::run(db, &config.data_dir, &config.station.station_id, &record, &mut |_| {}, &cancelled)?
    };
    let file = exports::file_path(&config.data_dir, &args.org, &record);
    if let Some(file) = &file {
        std::fs::copy(file, &args.output)
            .map_err(|err| CliError::System(format!("cannot write {}: {err}", args.output.display())))?;
    }
    if args.json {
        print_json(&json!({
            "id": record.id, "state": record.state.code(), "rows": record.rows, "file": record.file_name,
            "output": file.as_ref().map(|_| args.output.display().to_string()), "error": record.error,
        }))?;
    } else if file.is_some() {
        println!(
            "export {} {}: {} lines written to {}",
            record.id,
            record.state.code(),
            record.rows.unwrap_or(0),
            args.output.display()
        );
    } else if record.state == State::NothingFound {
        println!("export {} {}: nothing matched, no file written", record.id, record.state.code());
    }
    match record.state {
        State::Done | State::NothingFound => Ok(()),
        State::Failed | State::Booked => Err(CliError::System(format!(
            "export {} {}: {}",
            record.id,
            record.state.code(),
            record.error.as_deref().unwrap_or("not finished")
        ))),
        _ => Err(CliError::Usage(format!(
            "export {} {}: {}",
            record.id,
            record.state.code(),
            record.error.as_deref().unwrap_or_default()
        ))),
    }
}

fn arm(interrupt: &Interrupt) {
    if let Err(err) = interrupt.arm() {
        tracing::warn!(error = %err, "cannot handle Ctrl-C: it ends the process at once");
    }
}

fn catch_up(db: &Db, org: &str, interrupt: &Interrupt) -> Result<(), CliError> {
    let cancelled = || interrupt.is_set();
    catch_up_org(db, org, &cancelled).map(|_| ())
}

fn catch_up_org(db: &Db, org: &str, cancelled: &dyn Fn() -> bool) -> Result<usize, CliError> {
    let org_id = crate::services::admin::orgs::get_org(db, org)?.id;
    Ok(reconciliation::reconcile_pending(db, org_id, cancelled)?)
}

fn import(config: &Config, db: &Db, args: &ImportArgs, interrupt: &Interrupt) -> Result<(), CliError> {
    let kind = match args.kind.as_deref() {
        None => None,
        Some(code) => {
            let mut chars = code.chars();
            let source = match (chars.next(), chars.next()) {
                (Some(c), None) => Source::from_code(c),
                _ => None,
            };
            Some(
                source
                    .filter(|s| s.uploaded())
                    .ok_or_else(|| CliError::Usage(format!("--kind {code}: one of C, O, T, Y, P, D")))?,
            )
        }
    };
    let columns = match &args.columns {
        None => None,
        Some(text) => Some(uploads::parse_columns(Some(text)).ok_or_else(|| {
            CliError::Usage(format!("--columns {text}: seven column numbers, comma-separated (1,2,3,4,5,6,7)"))
        })?),
    };
    let columns: Option<CashColumns> = columns;
    let file_name = args
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| CliError::Usage(format!("{} is not a file name", args.file.display())))?
        .to_owned();
    let mut file = std::fs::File::open(&args.file)
        .map_err(|err| CliError::Usage(format!("cannot read {}: {err}", args.file.display())))?;
    let upload = Upload { org_ipa: &args.org, file_name: &file_name, kind, columns, actor: "cli" };
    let now = Now::read();
    let limits = Limits::from_config(config);
    let submitted = uploads::submit(db, &config.data_dir, limits.max_upload_bytes, &upload, &mut file, now)?;
    let id = submitted.upload.id;
    if super::import::running_server(&config.data_dir).is_some() {
        if !args.wait {
            return finish(config, &submitted.upload, args.json);
        }
        return finish(config, &wait_for(db, &args.org, id)?, args.json);
    }
    let Some(job) = jobs::claim(db, submitted.job_id, now)? else {
        return finish(config, &wait_for(db, &args.org, id)?, args.json);
    };
    let handlers = background::handlers(&JobSettings::from_config(config));
    arm(interrupt);
    let cancelled = || interrupt.is_set();
    let outcome = jobs::run_claimed(db, &handlers, &job, &cancelled, &mut |_| {})?;
    if let jobs::Outcome::Failed(err) | jobs::Outcome::Requeued(err) = &outcome {
        return Err(CliError::System(format!("upload {id} did not load: {err}")));
    }
    finish(config, &uploads::get_upload(db, &args.org, id)?, args.json)
}

fn wait_for(db: &Db, org: &str, id: i64) -> Result<UploadRecord, CliError> {
    loop {
        let upload = uploads::get_upload(db, org, id)?;
        if upload.state.is_final() {
            return Ok(upload);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints the upload; a refused one is exit code 2.
fn finish(config: &Config, upload: &UploadRecord, json: bool) -> Result<(), CliError> {
    if json {
        print_json(&upload_json(config, upload))?;
    } else {
        print_upload(config, upload);
    }
    match upload.state {
        UploadState::Refused | UploadState::Duplicate => Err(CliError::Usage(format!(
            "upload {} {}: {}",
            upload.id,
            upload.state.code(),
            upload.error.as_deref().unwrap_or("")
        ))),
        _ => Ok(()),
    }
}

fn print_upload(config: &Config, u: &UploadRecord) {
    println!("upload {} {} ({}): {}", u.id, u.file_name, u.kind, u.state.code());
    if let Some(error) = &u.error {
        println!("  {error}");
    }
    if let Some(accepted) = u.rows_accepted {
        println!(
            "  rows loaded {accepted}, rejected {}, ignored {}, warnings {}",
            u.rows_rejected.unwrap_or(0),
            u.rows_ignored.unwrap_or(0),
            u.warnings.unwrap_or(0)
        );
    }
    if let Some(file) = &u.rejects_file {
        println!("  {}", config.data_dir.join(file).display());
    }
}

fn upload_json(config: &Config, u: &UploadRecord) -> Value {
    json!({
        "id": u.id,
        "file_name": u.file_name,
        "kind": u.kind,
        "state": u.state.code(),
        "error": u.error,
        "rows_loaded": u.rows_accepted,
        "rows_rejected": u.rows_rejected,
        "rows_ignored": u.rows_ignored,
        "warnings": u.warnings,
        "rejects_file": u.rejects_file.as_ref().map(|f| config.data_dir.join(f).display().to_string()),
        "submitted_at": u.submitted_at,
        "finished_at": u.finished_at,
    })
}

fn cents(value: Option<i64>) -> Value {
    value.map_or(Value::Null, |c| Value::String(crate::domain::Cents::new(c).to_decimal_string()))
}

/// One row of `list --json`: the key, the amounts per source (decimal strings, `null` where the
/// source says nothing) and the labels.
pub fn item_json(item: &ItemRecord) -> Value {
    json!({
        "iuv": item.iuv,
        "iur": item.iur,
        "transfer_index": item.transfer_index,
        "iud": item.iud,
        "iuf": item.iuf,
        "day": item.day,
        "amounts": {
            "notification": cents(item.n_cents),
            "receipt": cents(item.e_cents),
            "receipt_total": cents(item.e_total_cents),
            "reporting": cents(item.r_cents),
            "reporting_flow_total": cents(item.r_total_cents),
            "treasury_by_iuf": cents(item.t_iuf_cents),
            "treasury_by_iuv": cents(item.t_iuv_cents),
        },
        "treasury_movements": item.t_count,
        "labels": item.labels.iter().map(|l| l.code()).collect::<Vec<_>>(),
    })
}
