//! `mypay reporting fetch`: fetch the reporting flows (FdR) of every org now, as the periodic job
//! of `serve` does. `--demo` fetches from a running `mypay demo`'s simulator, with the demo's
//! station identity; `--node URL` names the Node (or simulator) for this run.

use std::path::Path;

use clap::Subcommand;

use super::CliError;
use crate::clock::Now;
use crate::config::{Config, HttpUrl, Mode, Overrides};
use crate::pagopa::fdr::{self, NodeClient};
use crate::store::Db;

#[derive(Debug, Subcommand)]
pub enum ReportingCommand {
    /// Fetch and store new reporting flows from pagoPA (FdR REST, nodeForPa SOAP as fallback).
    Fetch {
        #[arg(long)]
        json: bool,
        /// With the settings `mypay demo` runs with: its station identity and its simulator (on the
        /// port after server.listen's, unless --node says where).
        #[arg(long)]
        demo: bool,
        /// The pagoPA Node's (or the simulator's) address for this run, instead of node.base_url.
        #[arg(long, value_name = "URL")]
        node: Option<String>,
    },
    /// Ask pagoPA's receipt API (biz-events) for the receipts of reported payments that have none,
    /// within pagoPA's limit of 10 calls an hour, and mark payments started 48 hours ago without a
    /// receipt; what the daily receipt recovery job does.
    Recover {
        #[arg(long)]
        json: bool,
        /// As for fetch: with the settings `mypay demo` runs with.
        #[arg(long)]
        demo: bool,
        /// The pagoPA Node's (or the simulator's) address for this run, instead of node.base_url.
        #[arg(long, value_name = "URL")]
        node: Option<String>,
    },
}

/// The configuration of `cmd`: the demo's with `--demo`, else the administrative one; `--node`
/// over either.
pub fn config(path: Option<&Path>, overrides: &Overrides, cmd: &ReportingCommand) -> Result<Config, CliError> {
    let (ReportingCommand::Fetch { demo, node, .. } | ReportingCommand::Recover { demo, node, .. }) = cmd;
    let mut config = Config::load(path, overrides, if *demo { Mode::Demo } else { Mode::Admin })?;
    if let Some(node) = node {
        let url = HttpUrl::parse(node).map_err(|reason| CliError::Usage(format!("--node {reason}")))?;
        config.set_node_base_url(url);
    }
    if *demo {
        super::demo::wire_for_commands(&mut config)?;
    }
    Ok(config)
}

pub fn run(config: &Config, db: &Db, cmd: ReportingCommand) -> Result<(), CliError> {
    match cmd {
        ReportingCommand::Recover { json, .. } => {
            if config.upstream.is_some() {
                return Err(CliError::Usage(
                    "upstream mode (upstream.url is set): this box has no station; the Region recovers receipts"
                        .to_owned(),
                ));
            }
            if config.node.base_url.is_none() {
                return Err(CliError::Usage(
                    "no pagoPA to ask: set node.base_url (MYPAY_NODE_BASE_URL) or give it with --node URL".to_owned(),
                ));
            }
            let source = crate::pagopa::bizevents::BizEvents(NodeClient::from_config(config));
            let done = crate::services::payments::recovery::run(db, &source, Now::read(), &|| false)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "asked": done.asked, "recovered": done.recovered, "missing": done.missing,
                        "failed": done.failed, "stalled": done.stalled, "wait_until": done.wait_until })
                );
            } else {
                println!(
                    "receipt recovery: {} asked, {} recovered, {} missing at pagoPA too, {} failed; {} payments started \
                     48 hours ago without a receipt",
                    done.asked, done.recovered, done.missing, done.failed, done.stalled
                );
                if let Some(at) = &done.wait_until {
                    println!("pagoPA's limit of 10 calls an hour is reached: the next call not before {at}");
                }
            }
            Ok(())
        }
        ReportingCommand::Fetch { json, demo, .. } => {
            if config.upstream.is_some() {
                return Err(CliError::Usage(
                    "upstream mode (upstream.url is set): the regional node fetches the reporting flows from pagoPA, \
                     not this box"
                        .to_owned(),
                ));
            }
            if config.node.base_url.is_none() {
                let hint = if demo {
                    "the demo listens on a free port (server.listen port 0): give its simulator's address, printed \
                     by the demo, with --node URL"
                } else {
                    "set node.base_url (MYPAY_NODE_BASE_URL), the pagoPA Node's address, or give it with --node URL; \
                     from a running `mypay demo`, add --demo"
                };
                return Err(CliError::Usage(format!("no pagoPA Node to fetch reporting flows from: {hint}")));
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
