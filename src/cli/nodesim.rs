//! `mypay node-sim`: runs the pagoPA Node simulator on its own, wired to a station URL, until
//! SIGTERM or SIGINT. It needs no data directory and no configuration file.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::nodesim::{self, PrimitiveVersion, SimConfig};
use crate::web::server::Shutdown;

#[derive(Debug, Args)]
pub struct NodeSimArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// The station's paForNode endpoint, e.g. http://127.0.0.1:8080/ws/fesp/.
    #[arg(long, value_name = "URL")]
    pub station_url: String,
    /// idBrokerPA sent to the station.
    #[arg(long, value_name = "ID")]
    pub broker_id: String,
    /// idStation sent to the station.
    #[arg(long, value_name = "ID")]
    pub station_id: String,
    /// 1: paGetPayment + paSendRT; 2: paGetPaymentV2 + paSendRTV2.
    #[arg(long, value_name = "1|2", default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub primitive_version: u8,
    /// Seconds between paSendRT attempts.
    #[arg(long, value_name = "N", default_value_t = 3600)]
    pub retry_interval_secs: u64,
    /// paSendRT attempts after the first one.
    #[arg(long, value_name = "N", default_value_t = 48)]
    pub retry_count: u32,
    /// Subscription key expected on the Checkout and FdR APIs (empty: not checked).
    #[arg(long, value_name = "K", default_value = "")]
    pub subscription_key: String,
    /// Station password expected on nodoChiedi* (empty: not checked).
    #[arg(long, value_name = "P", default_value = "")]
    pub station_password: String,
    /// Fiscal code of an org served by the station (repeat; none: any org).
    #[arg(long = "org", value_name = "FISCAL_CODE")]
    pub orgs: Vec<String>,
    /// A registered IBAN as FISCAL_CODE=IBAN (repeat; none: IBANs are not looked up).
    #[arg(long = "iban", value_name = "FISCAL_CODE=IBAN")]
    pub ibans: Vec<String>,
}

/// Starts the simulator and waits for a signal.
pub fn run(args: NodeSimArgs) -> Result<(), CliError> {
    let level = std::env::var("MYPAY_LOG_LEVEL").unwrap_or_else(|_| "info".to_owned());
    super::serve::init_logging(&level);
    let config = config(args)?;
    let shutdown = Shutdown::new();
    shutdown.on_signals().map_err(|err| CliError::System(format!("cannot install signal handlers: {err}")))?;
    let handle = nodesim::start(config).map_err(|err| match err {
        nodesim::SimError::Config(_) => CliError::Usage(err.to_string()),
        other => CliError::System(other.to_string()),
    })?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "node simulator listening on {}", handle.base_url);
    let _ = out.flush();
    drop(out);
    while !shutdown.is_triggered() {
        std::thread::sleep(Duration::from_millis(100));
    }
    handle.stop();
    Ok(())
}

fn config(args: NodeSimArgs) -> Result<SimConfig, CliError> {
    let listen: SocketAddr = args
        .listen
        .parse()
        .map_err(|_| CliError::Usage(format!("--listen {:?} is not an address such as 127.0.0.1:8090", args.listen)))?;
    let mut config = SimConfig::new(args.station_url, args.broker_id, args.station_id);
    config.listen = listen;
    config.primitive_version = PrimitiveVersion::from_number(args.primitive_version)
        .ok_or_else(|| CliError::Usage("--primitive-version must be 1 or 2".to_owned()))?;
    config.retry_interval = Duration::from_secs(args.retry_interval_secs);
    config.retry_count = args.retry_count;
    config.subscription_key = args.subscription_key;
    config.station_password = args.station_password;
    config.orgs = args.orgs;
    for pair in args.ibans {
        let (org, iban) =
            pair.split_once('=').ok_or_else(|| CliError::Usage(format!("--iban {pair:?} must be FISCAL_CODE=IBAN")))?;
        config.iban_registry.push((org.to_owned(), iban.to_owned()));
    }
    Ok(config)
}
