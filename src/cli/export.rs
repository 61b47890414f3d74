//! `mypay export` (receipt export flows, layouts 1.0-1.3) and `mypay export-expired` (expired debts):
//! the same services the back office and the SIL use, run at once, with the ZIP copied to `-o`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::clock::Now;
use crate::config::Config;
use crate::services::ServiceError;
use crate::services::debts::exports::{self, ExportOutcome, ExportRequest};
use crate::store::Db;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub org: String,
    /// First payment date (YYYY-MM-DD, inclusive); with --incremental a local date-time
    /// (YYYY-MM-DDTHH:MM:SS, Europe/Rome) of when receipts were stored.
    #[arg(long)]
    pub from: String,
    /// Last payment date (inclusive); with --incremental the end of the window (excluded).
    #[arg(long)]
    pub to: String,
    /// Layout: 1.0, 1.1, 1.2 or 1.3.
    #[arg(long, default_value = "1.3")]
    pub version: String,
    /// Add the receipt columns (the receipt XML, base64).
    #[arg(long)]
    pub with_receipt: bool,
    /// Select by when receipts were stored, in [from, to), so consecutive windows neither skip nor repeat.
    #[arg(long)]
    pub incremental: bool,
    /// Only these debt types; repeat or comma-separate.
    #[arg(long = "debt-type", value_delimiter = ',')]
    pub debt_types: Vec<String>,
    /// Where to copy the ZIP.
    #[arg(short = 'o', long = "output", value_name = "FILE.zip")]
    pub output: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExpiredArgs {
    #[arg(long)]
    pub org: String,
    /// Debts due before this date (YYYY-MM-DD).
    #[arg(long)]
    pub due_before: String,
    #[arg(long = "debt-type", value_delimiter = ',')]
    pub debt_types: Vec<String>,
    #[arg(short = 'o', long = "output", value_name = "FILE.zip")]
    pub output: PathBuf,
    #[arg(long)]
    pub json: bool,
}

/// An export's failure as the command reports it: a refused request is a usage error, a store
/// or file failure a system one (exit 1, the file error without the service's wording).
fn export_error(err: ServiceError) -> CliError {
    match err {
        ServiceError::ExportRefused { .. } | ServiceError::NotFound(_) => CliError::Usage(err.to_string()),
        ServiceError::Store(store) => CliError::Store(store),
        ServiceError::ExportFile(io) => CliError::System(io.to_string()),
        other => CliError::Service(other),
    }
}

pub fn run(config: &Config, db: &Db, args: ExportArgs) -> Result<(), CliError> {
    let now = Now::read();
    let request = ExportRequest {
        ipa: &args.org,
        version: &args.version,
        from: &args.from,
        to: &args.to,
        incremental: args.incremental,
        with_receipt: args.with_receipt,
        debt_types: args.debt_types.clone(),
        requested_by: "cli",
        operator: None,
    };
    let export = exports::request_export(db, &request, false, now).map_err(export_error)?;
    let terminal = std::io::stderr().is_terminal();
    let mut progress = |rows: u64| {
        if terminal {
            eprint!("\r{rows} rows written");
        }
    };
    let outcome = exports::run_export(db, &config.data_dir, &config.station.station_id, &export, now, &mut progress)
        .map_err(export_error)?;
    if terminal {
        eprintln!();
    }
    finish(outcome, &args.output, args.json)
}

pub fn run_expired(config: &Config, db: &Db, args: ExpiredArgs) -> Result<(), CliError> {
    let outcome = exports::export_expired(
        db,
        &config.data_dir,
        &args.org,
        &args.due_before,
        &args.debt_types,
        "cli",
        Now::read(),
    )
    .map_err(export_error)?;
    finish(outcome, &args.output, args.json)
}

fn finish(outcome: ExportOutcome, output: &std::path::Path, json: bool) -> Result<(), CliError> {
    if let Some(file) = &outcome.file {
        std::fs::copy(file, output)
            .map_err(|err| CliError::System(format!("cannot write {}: {err}", output.display())))?;
    }
    let rows = outcome.export.rows.unwrap_or(0);
    if json {
        println!(
            "{}",
            serde_json::json!({ "id": outcome.export.id, "state": outcome.export.state.code(), "rows": rows,
                "file": outcome.export.file_name, "output": outcome.file.as_ref().map(|_| output.display().to_string()) })
        );
    } else if outcome.file.is_some() {
        println!(
            "export {} {}: {rows} rows written to {}",
            outcome.export.id,
            outcome.export.state.code(),
            output.display()
        );
    } else {
        println!("export {} {}: nothing matched, no file written", outcome.export.id, outcome.export.state.code());
    }
    Ok(())
}
