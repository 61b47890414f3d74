//! `mypay reporting fetch`: fetch the reporting flows (FdR) of every org now, as the periodic job
//! of `serve` does.

use clap::Subcommand;

use super::CliError;
use crate::clock::Now;
use crate::config::Config;
use crate::pagopa::fdr::{self, NodeClient};
use crate::store::Db;

#[derive(Debug, Subcommand)]
pub enum ReportingCommand {
    /// Fetch and store new reporting flows from pagoPA (FdR REST, nodeForPa SOAP as fallback).
    Fetch {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: &Config, db: &Db, cmd: ReportingCommand) -> Result<(), CliError> {
    match cmd {
        ReportingCommand::Fetch { json } => {
            if config.upstream.is_some() {
                return Err(CliError::Usage(
                    "upstream mode (upstream.url is set): the regional node fetches the reporting flows from pagoPA, \
                     not this box"
                        .to_owned(),
                ));
            }
            if config.node.base_url.is_none() {
                return Err(CliError::Usage("node.base_url is required to fetch reporting flows".to_owned()));
            }
            let client = NodeClient::from_config(config);
            let summary =
                fdr::fetch_all(db, &client, Now::read(), &|| false).map_err(|err| CliError::System(err.to_string()))?;
            if json {
                let failures: Vec<_> = summary
                    .failures
                    .iter()
                    .map(|(org, reason)| serde_json::json!({ "org": org, "reason": reason }))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "listed": summary.listed, "stored": summary.stored, "rejected": summary.rejected,
                        "already_stored": summary.already_stored, "replaced": summary.replaced, "failures": failures })
                );
            } else {
                println!(
                    "reporting flows: {} listed, {} stored, {} rejected, {} already stored, {} earlier versions replaced",
                    summary.listed, summary.stored, summary.rejected, summary.already_stored, summary.replaced
                );
                for (org, reason) in &summary.failures {
                    eprintln!("error: org {org}: {reason}");
                }
            }
            if summary.failures.is_empty() {
                Ok(())
            } else {
                Err(CliError::System("some orgs could not be fetched".to_owned()))
            }
        }
    }
}
