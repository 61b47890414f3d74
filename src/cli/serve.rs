//! `mypay serve` and `mypay demo`: build the TLS configuration when `[tls]` is set, open the store,
//! seed the demo when asked, bind, serve until a signal, then checkpoint the database so the data
//! directory is left as one clean file.

use std::io::Write as _;

use super::CliError;
use crate::clock;
use crate::config::Config;
use crate::services::demo::{self, Seeded};
use crate::store::Db;
use crate::web::{self, server};

pub fn run(config: Config, demo_mode: bool) -> Result<(), CliError> {
    init_logging(&config.raw.log.level);
    // Before the database: a certificate rustls refuses is a configuration error, and nothing may
    // be created until the configuration is valid.
    let tls = super::tls_setup(&config)?;
    let (db, applied) = Db::open(&config.database_path)?;
    tracing::info!(path = %config.database_path.display(), migrations = applied, "database ready");
    let now = clock::now();
    let seeded = if demo_mode { Some(demo::seed(&db, clock::today_rome(now), &clock::iso(now))?) } else { None };

    let socket_dir = config.raw.data_dir.join("run");
    let listener = server::bind(config.listen, tls.as_ref().map(|setup| (setup, socket_dir.as_path())))
        .map_err(|err| CliError::System(err.to_string()))?;
    let addr = listener.local_addr;
    let scheme = listener.scheme();
    let shutdown = server::Shutdown::new();
    shutdown.on_signals().map_err(|err| CliError::System(format!("cannot install signal handlers: {err}")))?;
    let state = web::AppState::new(config, db);

    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "mypay {} listening on {scheme}://{addr}", env!("CARGO_PKG_VERSION"));
    if tls.as_ref().is_some_and(web::tls::Setup::requires_client_cert) {
        let _ = writeln!(out, "  /ws/fesp/ requires a client certificate from tls.client_ca");
    }
    match &seeded {
        Some(Seeded::Created { operator_password, debts }) => {
            let _ = writeln!(out, "demo data created: org {} with {debts} debts", demo::DEMO_IPA);
            let _ = writeln!(out, "  portale cittadino: {scheme}://{addr}/");
            let _ = writeln!(
                out,
                "  operator login: user {} password {operator_password}  (shown only now)",
                demo::DEMO_OPERATOR
            );
        }
        Some(Seeded::AlreadyThere) => {
            let _ = writeln!(out, "demo data already present in {}", state.config.raw.data_dir.display());
            let _ = writeln!(out, "  portale cittadino: {scheme}://{addr}/");
        }
        None => {}
    }
    let _ = out.flush();
    drop(out);

    server::serve(listener, std::sync::Arc::clone(&state), &shutdown);
    tracing::info!("stopping: in-flight requests answered, checkpointing the database");
    state.db.checkpoint()?;
    tracing::info!("stopped");
    Ok(())
}

fn init_logging(level: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true)
        .try_init();
}
