//! `mypay backup --to FILE` and `mypay restore FILE`: a consistent copy of the database while the
//! server keeps serving, and the checked replacement of the database while no server runs.
//!
//! The database is copied with its key file (`<copy>.key`, unless `--without-key`); uploads, result
//! files and exports in the data directory can be made again from it (or copied as plain files),
//! and the configuration lives in `mypay.toml`. A restore installs the key the copy needs (`--key`,
//! else the data directory's or the one beside the copy) and refuses, changing nothing, when it
//! has none.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::services::backup::{self, BackupError, BackupInfo, KeySource, RestoreKey};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (replaced if it exists; written under a temporary name, then renamed).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Do not write the key file beside the copy as FILE.key: keep mypay.key apart yourself (the
    /// copy cannot be restored without it).
    #[arg(long)]
    without_key: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `mypay backup` (any schema version this mypay can upgrade).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The key file of that backup [default: the data directory's mypay.key if it is the right
    /// one, else FILE.key].
    #[arg(long, value_name = "KEYFILE", conflicts_with = "forget_secrets")]
    key: Option<PathBuf>,
    /// Restore without the key file, which is lost for good: the push secrets sealed with it are
    /// dropped (those push targets are removed, to set again), links and tokens signed before stop
    /// working, and the first start makes a new key file.
    #[arg(long)]
    forget_secrets: bool,
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
    // A wrong --data-dir must not pass for a backup of an empty database made on the spot.
    if !config.database_path.exists() {
        let path = config.database_path.display().to_string();
        return Err(CliError::Store(crate::store::StoreError::Missing { path }));
    }
    let done = backup::backup_to(&config.database_path, &args.to, !args.without_key)?;
    let key = match (&done.key_file, &done.info.key_id) {
        (Some(file), _) => {
            format!("its key file written to {} (keep the two together, or apart on purpose)", file.display())
        }
        (None, Some(_)) => format!(
            "no key file written: it restores only with {} (keep a copy of it)",
            backup::key_file_of(&config.database_path).display()
        ),
        (None, None) => "the copy holds its own key (a database from an older mypay)".to_owned(),
    };
    let json = serde_json::json!({"key_file": done.key_file.as_ref().map(|p| p.display().to_string())});
    print(
        &format!("backup of {} written to {}", config.database_path.display(), args.to.display()),
        &done.info,
        &[key],
        json,
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
    let key = match (&args.key, args.forget_secrets) {
        (Some(path), _) => RestoreKey::Given(path),
        (None, true) => RestoreKey::Forget,
        (None, false) => RestoreKey::Find,
    };
    let done = backup::restore(&args.file, &config.database_path, key)?;
    let key = done.key_file.display();
    let mut notes = vec![match &done.key_source {
        KeySource::Installed(from) => format!("key file {key} installed from {}", from.display()),
        KeySource::DataDir => format!("key file {key} kept: it is the one the database needs"),
        KeySource::Database => format!("the database is from an older mypay: the first start moves its key to {key}"),
        KeySource::New => format!("the sealed secrets are forgotten: the first start makes a new key file {key}"),
    }];
    if !done.forgotten.push_targets.is_empty() {
        notes.push(format!(
            "push targets removed, to set again with their secret (mypay org set --push-url ... --push-secret-stdin): {}",
            done.forgotten.push_targets.join(", ")
        ));
    }
    if !done.forgotten.upstream_credentials.is_empty() {
        notes.push(format!(
            "credentials at the regional node cleared, to set again (mypay org set --upstream-password-stdin, \
             --upstream-push-secret-stdin): {}",
            done.forgotten.upstream_credentials.join(", ")
        ));
    }
    let display = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    if let Some(kept) = &done.previous_database {
        notes.push(format!("the previous database is kept as {} (delete it when all is well)", kept.display()));
    }
    if let Some(kept) = &done.previous_key {
        notes
            .push(format!("the previous key file is kept as {} (it opens the previous database only)", kept.display()));
    }
    let json = serde_json::json!({
        "previous_database": display(&done.previous_database),
        "key_file": key.to_string(),
        "key_source": match &done.key_source {
            KeySource::Installed(_) => "backup",
            KeySource::DataDir => "data_dir",
            KeySource::Database => "database",
            KeySource::New => "new",
        },
        "push_targets_removed": done.forgotten.push_targets,
        "upstream_credentials_cleared": done.forgotten.upstream_credentials,
        "previous_key_file": display(&done.previous_key),
    });
    print(
        &format!("{} restored from {}", config.database_path.display(), args.file.display()),
        &done.info,
        &notes,
        json,
        args.json,
    )
}

/// Prints what a backup or restore did: `info`, then `notes` as lines, or as JSON `info` with the
/// fields of `extra`.
fn print(
    what: &str,
    info: &BackupInfo,
    notes: &[String],
    extra: serde_json::Value,
    json: bool,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = serde_json::json!({
            "schema_version": info.schema_version,
            "bytes": info.bytes,
            "orgs": info.orgs,
            "debts": info.debts,
            "key_id": info.key_id,
        });
        if let (Some(value), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
            value.extend(extra);
        }
        let _ = writeln!(out, "{value}");
        return Ok(());
    }
    let _ = writeln!(
        out,
        "{what}: schema version {}, {} bytes, {} orgs, {} debts",
        info.schema_version, info.bytes, info.orgs, info.debts
    );
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    Ok(())
}
