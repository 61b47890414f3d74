//! `mypay backup --to FILE` and `mypay restore FILE`: a consistent copy of the database while the
//! server keeps serving, and the checked replacement of the database while no server runs.
//!
//! Only the database is copied: uploads, result files and exports in the data directory can be
//! made again from it (or copied as plain files), and the configuration lives in `mypay.toml`.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::services::backup::{self, BackupError, BackupInfo};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (replaced if it exists; written under a temporary name, then renamed).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `mypay backup` (any schema version this mypay can upgrade).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

impl From<BackupError> for CliError {
    fn from(err: BackupError) -> CliError {
        match err {
            BackupError::Store(err) => CliError::Store(err),
            err if err.is_user_error() => CliError::Usage(err.to_string()),
            err => CliError::System(err.to_string()),
        }
    }
}

pub fn backup(config: &Config, args: &BackupArgs) -> Result<(), CliError> {
    let info = backup::backup_to(&config.database_path, &args.to)?;
    print(
        &format!("backup of {} written to {}", config.database_path.display(), args.to.display()),
        &info,
        None,
        args.json,
    )
}

pub fn restore(config: &Config, args: &RestoreArgs) -> Result<(), CliError> {
    let data_dir = &config.data_dir;
    if let Some(pid) = super::import::running_server(data_dir) {
        return Err(CliError::Usage(format!(
            "a mypay server (pid {pid}) is using {}: stop it first (systemctl stop mypay, or docker stop), \
             run mypay restore again, then start it; nothing was changed",
            data_dir.display()
        )));
    }
    let (info, kept) = backup::restore(&args.file, &config.database_path)?;
    print(
        &format!("{} restored from {}", config.database_path.display(), args.file.display()),
        &info,
        kept.as_deref(),
        args.json,
    )
}

fn print(what: &str, info: &BackupInfo, kept: Option<&std::path::Path>, json: bool) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "schema_version": info.schema_version,
            "bytes": info.bytes,
            "orgs": info.orgs,
            "debts": info.debts,
            "previous_database": kept.map(|p| p.display().to_string()),
        });
        let _ = writeln!(out, "{value}");
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{what}: schema version {}, {} bytes, {} orgs, {} debts",
        info.schema_version, info.bytes, info.orgs, info.debts
    );
    if let Some(kept) = kept {
        let _ = writeln!(out, "the previous database is kept as {} (delete it when all is well)", kept.display());
    }
    Ok(())
}
