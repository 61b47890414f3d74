//! `mypay healthcheck`: asks the local server's `/healthz` and exits 0 when it answers 200, so that
//! a container (Docker's HEALTHCHECK) or a script can probe the server with the binary itself: a
//! slim image has no curl.
//!
//! The address comes from the configuration (`server.listen`; an unspecified address such as
//! `0.0.0.0` is probed on loopback). The server may speak HTTPS with a self-signed certificate
//! (`tls.mode = "auto"`), so the probe does not verify the certificate: it only asks whether the
//! process answers, and sends nothing secret.

use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::config::{Config, TlsMode};

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The URL to probe instead of /healthz on the configured listen address.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, value_name = "N", default_value_t = 5)]
    timeout: u64,
}

pub fn run(config: &Config, args: &HealthcheckArgs) -> Result<(), CliError> {
    let urls = match &args.url {
        Some(url) => vec![url.clone()],
        None => {
            let addr = crate::net::reachable_here(config.server.listen);
            // The configured scheme first; the other one too, since flags and the demo may differ.
            let schemes = if config.tls.mode == TlsMode::Off { ["http", "https"] } else { ["https", "http"] };
            schemes.iter().map(|scheme| format!("{scheme}://{addr}/healthz")).collect()
        }
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().disable_verification(true).build())
        .timeout_global(Some(Duration::from_secs(args.timeout)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut failures = Vec::new();
    for url in &urls {
        match agent.get(url).call() {
            Ok(res) if res.status() == 200 => {
                println!("ok: {url} answered 200");
                return Ok(());
            }
            Ok(res) => failures.push(format!("{url} answered {}", res.status())),
            Err(err) => failures.push(format!("{url}: {err}")),
        }
    }
    Err(CliError::System(format!("unhealthy: {}", failures.join("; "))))
}
