//! `mypay gdpr purge|export|erase|rectify`: the retention purge run now (or counted, with
//! `--dry-run`), a data subject's export (JSON and a readable HTML beside it, journaled), and
//! their erasure and rectification requests, each refusal with the law's reason.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::{CliError, Interrupt};
use crate::clock::Now;
use crate::config::Config;
use crate::services::gdpr::{purge, subject};
use crate::store::Db;

/// The audit actor of CLI changes.
const ACTOR: &str = "cli";

#[derive(Debug, Subcommand)]
pub enum GdprCommand {
    /// Anonymise or delete the personal data past its retention ([retention] in mypay.toml).
    Purge {
        /// Only count what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Everything held about a fiscal code (debts, receipts, consents, mails): JSON to FILE and a
    /// readable HTML beside it (FILE with the extension .html).
    Export {
        #[arg(long, value_name = "CF")]
        fiscal_code: String,
        /// Only this org's data.
        #[arg(long, value_name = "IPA")]
        org: Option<String>,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Erase a fiscal code's data in an org where the law allows it (annulled and expired debts);
    /// say why the rest is kept.
    Erase {
        #[arg(long, value_name = "CF")]
        fiscal_code: String,
        #[arg(long, value_name = "IPA")]
        org: String,
        #[arg(long)]
        json: bool,
    },
    /// Correct the debtor's contact data (e-mail, address) of an open debt. Every field is
    /// replaced: an empty or missing one is removed.
    Rectify {
        #[arg(long, value_name = "IPA")]
        org: String,
        #[arg(long)]
        iud: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        civic_number: Option<String>,
        #[arg(long)]
        postal_code: Option<String>,
        #[arg(long)]
        city: Option<String>,
        #[arg(long)]
        province: Option<String>,
        #[arg(long)]
        country: Option<String>,
    },
}

impl GdprCommand {
    /// Whether the command writes or only reads (an export is journaled: it writes).
    pub fn writes(&self) -> bool {
        !matches!(self, GdprCommand::Purge { dry_run: true, .. })
    }
}

fn print(value: &serde_json::Value) -> Result<(), CliError> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|err| CliError::System(err.to_string()))?);
    Ok(())
}

pub(super) fn run(config: &Config, db: &Db, cmd: GdprCommand, interrupt: &Interrupt) -> Result<(), CliError> {
    let now = Now::read();
    match cmd {
        GdprCommand::Purge { dry_run, json } => {
            let settings = purge::PurgeSettings { data_dir: config.data_dir.clone(), retention: config.retention };
            let report = if dry_run {
                purge::dry_run(db, &settings, now)?
            } else {
                interrupt.arm().map_err(|err| CliError::System(format!("cannot handle signals: {err}")))?;
                let cancelled = || interrupt.is_set();
                purge::run(db, &settings, ACTOR, purge::Cursor::default(), &|_, _| Ok(()), &cancelled, now)?
            };
            if json {
                print(&report.to_json())?;
            } else {
                let verb = if dry_run { "would be" } else { "were" };
                for (category, n) in &report.counts {
                    println!("{:<18} {n:>9} {verb} {}", category.code(), category.treatment());
                }
            }
        }
        GdprCommand::Export { fiscal_code, org, output } => {
            let data = subject::export(db, ACTOR, &fiscal_code, org.as_deref(), now)?;
            let json = serde_json::to_string_pretty(&crate::web::ui::subject_export::to_json(&data))
                .map_err(|err| CliError::System(err.to_string()))?;
            let html_path = output.with_extension("html");
            if html_path == output {
                return Err(CliError::Usage(
                    "the output file must not end in .html: the HTML goes beside it".to_owned(),
                ));
            }
            let write = |path: &PathBuf, text: &str| {
                std::fs::write(path, text)
                    .map_err(|err| CliError::System(format!("cannot write {}: {err}", path.display())))
            };
            write(&output, &json)?;
            write(&html_path, &crate::web::ui::subject_export::to_html(&data))?;
            println!(
                "{} debts, {} receipts, {} consents, {} mails of {}: {} and {}",
                data.debts.len(),
                data.receipts.len(),
                data.consents.len(),
                data.mails.len(),
                data.fiscal_code,
                output.display(),
                html_path.display()
            );
        }
        GdprCommand::Erase { fiscal_code, org, json } => {
            let done = subject::erase(db, ACTOR, &org, &fiscal_code, now)?;
            if json {
                let refused: Vec<_> =
                    done.refused.iter().map(|r| json!({ "object": r.object, "reason": r.reason })).collect();
                print(&json!({ "erased": done.erased, "refused": refused }))?;
            } else {
                for object in &done.erased {
                    println!("erased   {object}");
                }
                for r in &done.refused {
                    println!("kept     {}: {}", r.object, r.reason);
                }
            }
        }
        GdprCommand::Rectify { org, iud, email, address, civic_number, postal_code, city, province, country } => {
            let contact = subject::Contact { email, address, civic_number, postal_code, city, province, country };
            let debt = subject::rectify_contact(db, ACTOR, &org, &iud, &contact, now)?;
            println!("debtor contact data of debt {iud} of org {org} corrected (version {})", debt.version);
        }
    }
    Ok(())
}
