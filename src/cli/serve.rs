//! `mypay serve` and `mypay demo`: build the TLS configuration (making the self-signed certificate of
//! `tls.mode = "auto"` on first start), open the store,
//! seed the demo when asked, bind, serve until a signal, then checkpoint the database so the data
//! directory is left as one clean file.
//!
//! A stop takes a few seconds whatever is running: the background threads and the job runner see
//! the signal between two units of work, and are given [`STOP_GRACE`] after the last request is
//! answered; a thread still busy then (a call to pagoPA that has not answered) is left behind and
//! its job queued again, and the WAL is left for the next start instead of being checkpointed.

use std::io::Write as _;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::CliError;
use crate::clock::Now;
use crate::config::{Config, HttpUrl};
use crate::services::links::Links;
use crate::store::Db;
use crate::web::{self, server};

/// How long, once the last request is answered, the background threads have to stop.
const STOP_GRACE: Duration = Duration::from_secs(4);

pub fn run(config: Config, demo_mode: bool) -> Result<(), CliError> {
    init_logging(&config.log_level);
    // After validation, so nothing is created for a configuration that is refused.
    let config =
        if config.tls.generate_certificate { super::cert::with_generated_certificate(config)? } else { config };
    // Before the database: a certificate rustls refuses is a configuration error, and nothing may
    // be created until the configuration is valid.
    let tls = super::tls_setup(&config)?;
    let (db, applied) = Db::open(&config.database_path)?;
    tracing::info!(path = %config.database_path.display(), migrations = applied, "database ready");
    let links = Links::load(&db);

    let listener = server::bind(&config, tls.as_ref()).map_err(|err| {
        CliError::System(format!("{err} (another mypay on that port? choose another address with --listen)"))
    })?;
    let addr = listener.local_addr;
    let scheme = listener.scheme();
    let shutdown = server::Shutdown::new();
    shutdown.on_signals().map_err(|err| CliError::System(format!("cannot install signal handlers: {err}")))?;
    let mut config = config;
    let found = if demo_mode {
        let mut found =
            super::demo::addresses(config.server.public_url.as_ref(), scheme, addr, crate::net::machine_addresses);
        found.in_container = super::demo::in_container();
        config.set_public_url(HttpUrl::parse(&found.public).map_err(CliError::System)?);
        Some(found)
    } else {
        None
    };
    // In upstream mode the regional node is the station: no simulator calls this one.
    let simulator = if demo_mode && config.upstream.is_none() && config.node.base_url.is_none() && scheme == "http" {
        Some(start_simulator(&mut config, addr)?)
    } else {
        None
    };
    // Once the sockets are bound: a demo that cannot start must not make (and lose) the operator's
    // password, shown only when the data is created.
    let seeded = if demo_mode { Some(super::demo::seed(&db, &config, Now::read())?) } else { None };
    // Upstream mode: the portal's and the SIL sessions' payments go through the Region.
    let region = match &config.upstream {
        Some(upstream) => Some(web::Region {
            payments: std::sync::Arc::new(
                crate::upstream::region::Payments::new(upstream.url.as_str(), &config.database_path)
                    .map_err(CliError::System)?,
            ),
            // The CSP keeps the URL's origin (`web::server::content_security_policy`).
            origin: upstream.url.as_str().to_owned(),
        }),
        None => None,
    };
    let state = web::AppState::new(config, db, links, demo_mode, region);

    let mut out = std::io::stdout().lock();
    let version = env!("CARGO_PKG_VERSION");
    if addr.ip().is_unspecified() {
        let _ = writeln!(out, "mypay {version} listening on {addr} ({scheme}, all interfaces)");
    } else {
        let _ = writeln!(out, "mypay {version} listening on {scheme}://{addr}");
    }
    if !demo_mode && let Some(public) = &state.config.server.public_url {
        let _ = writeln!(out, "  public address (server.public_url): {public}");
    }
    if let Some(sim) = &simulator {
        let _ = writeln!(out, "  pagoPA simulator (Node, Checkout, PSPs; demo only): {}/", sim.public_url);
    }
    match &state.config.upstream {
        Some(_) => {
            let _ = writeln!(out, "  {}", state.config.station_summary());
        }
        None => {
            let _ = writeln!(out, "  /ws/fesp/ answers the pagoPA Node only: {}", state.config.node_auth_summary());
        }
    }
    if let (Some(seeded), Some(found)) = (&seeded, &found) {
        let sim = simulator.as_ref().map(|sim| sim.base_url.as_str());
        super::demo::banner(&mut out, &state.config, seeded, found, sim);
    }
    let _ = out.flush();
    drop(out);

    let reporting = start_reporting_job(&state, &shutdown);
    let mailer = start_mail_job(&state, &shutdown);
    let pid_file = super::import::pid_file(&state.config.data_dir);
    if let Err(err) = std::fs::write(&pid_file, format!("{}\n", std::process::id())) {
        tracing::warn!(error = %err, path = %pid_file.display(), "cannot write the pid file; `mypay import` will run flows itself");
    }
    let jobs = start_job_runner(&state, &shutdown)?;
    let housekeeping = start_housekeeping_job(&state, &shutdown);
    let link = start_upstream_link(&state, &shutdown)?;
    // On an error (the serving path died) everything below still runs, then the process exits
    // with it so that the supervisor restarts it.
    let served = server::serve(listener, std::sync::Arc::clone(&state), &shutdown);
    let stop_by = Instant::now() + STOP_GRACE;
    tracing::info!("stopping: in-flight requests answered, waiting for the background work to pause");
    let mut stopped = true;
    for (name, handle) in
        [("reporting", reporting), ("mail", mailer), ("housekeeping", housekeeping), ("upstream", link)]
    {
        if let Some(handle) = handle
            && !join_by(handle, stop_by)
        {
            tracing::warn!(thread = name, "a background thread is still busy: left behind");
            stopped = false;
        }
    }
    // A running job stops between two units of work, keeping its cursor, and is queued again.
    stopped &= jobs.stop_by(&state.db, stop_by);
    let _ = std::fs::remove_file(&pid_file);
    if let Some(sim) = simulator {
        sim.stop();
    }
    state.journal.flush(&state.db);
    if stopped {
        state.db.checkpoint()?;
    } else {
        // A thread left behind may still read: the WAL stays, and the next start reads it.
        tracing::warn!("database not checkpointed: the next start recovers its WAL");
    }
    served.map_err(|err| CliError::System(err.to_string()))?;
    tracing::info!("stopped");
    Ok(())
}

/// Joins `handle` if it ends before `deadline`; whether it did.
fn join_by(handle: JoinHandle<()>, deadline: Instant) -> bool {
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !handle.is_finished() {
        return false;
    }
    if handle.join().is_err() {
        tracing::error!("a background thread stopped abnormally");
    }
    true
}

/// The demo's pagoPA: the simulator in this process, wired as the Node, Checkout and FdR of this
/// server (`bound`), calling back its station. It listens on the same interfaces, on the next
/// port (`demo::simulator_port`), and gives browsers its pages on the portal's host; mypay and
/// the simulator call each other on loopback.
fn start_simulator(config: &mut Config, bound: SocketAddr) -> Result<crate::nodesim::SimHandle, CliError> {
    let station_url = format!("http://{}/ws/fesp/", crate::net::reachable_here(bound));
    let mut sim = crate::nodesim::SimConfig::new(station_url, &config.station.broker_id, &config.station.station_id);
    // The configured port's next, not the bound one's: on a free port (0) the simulator takes
    // another free port rather than one that may be taken.
    sim.listen = SocketAddr::new(bound.ip(), super::demo::simulator_port(config.server.listen.port()));
    sim.public_host = super::demo::public_host(config.server.public_base());
    // A person trying the demo should see a lost receipt arrive within a minute, not an hour.
    sim.retry_interval = std::time::Duration::from_secs(30);
    sim.station_password = config.station.password.expose().to_owned();
    let handle = crate::nodesim::start(sim).map_err(|err| {
        CliError::System(format!(
            "{err} (the demo's pagoPA simulator takes the port after mypay's: free it, or choose another with \
             --listen)"
        ))
    })?;
    config.set_node_base_url(HttpUrl::parse(&handle.base_url).map_err(CliError::System)?);
    Ok(handle)
}

/// The durable job runner (imports): it also runs the jobs a crash left behind.
fn start_job_runner(
    state: &std::sync::Arc<web::AppState>,
    shutdown: &server::Shutdown,
) -> Result<crate::jobs::Runner, CliError> {
    let mut settings = crate::services::background::JobSettings::from_config(&state.config);
    // An operator's "acquire now" does what the periodic fetch does, where this box fetches at all.
    if state.config.node.base_url.is_some() && state.config.upstream.is_none() {
        let client = crate::pagopa::fdr::NodeClient::from_config(&state.config);
        settings.reporting = Some(std::sync::Arc::new(crate::pagopa::fdr::OrgFetcher(client.clone())));
        settings.receipts = Some(std::sync::Arc::new(crate::pagopa::bizevents::BizEvents(client)));
    }
    let handlers = crate::services::background::handlers(&settings);
    let shutdown = shutdown.clone();
    let stopping: std::sync::Arc<dyn Fn() -> bool + Send + Sync> = std::sync::Arc::new(move || shutdown.is_triggered());
    crate::jobs::start(std::sync::Arc::clone(state), |s: &web::AppState| &s.db, handlers, stopping)
        .map_err(|err| CliError::System(format!("cannot start the job runner: {err}")))
}

/// The periodic fetch of reporting flows. Fetching is idempotent (a stored flow is skipped), so a
/// timer is enough: a fetch lost to a restart is simply done by the next one. Not in upstream
/// mode, where the orgs' flows are the regional node's to fetch from pagoPA.
fn start_reporting_job(state: &std::sync::Arc<web::AppState>, shutdown: &server::Shutdown) -> Option<JoinHandle<()>> {
    let minutes = state.config.node.reporting_interval_minutes;
    if minutes == 0 || state.config.node.base_url.is_none() || state.config.upstream.is_some() {
        return None;
    }
    let state = std::sync::Arc::clone(state);
    let shutdown = shutdown.clone();
    let client = crate::pagopa::fdr::NodeClient::from_config(&state.config);
    std::thread::Builder::new()
        .name("reporting".to_owned())
        .spawn(move || {
            let interval = std::time::Duration::from_secs(minutes.saturating_mul(60));
            // The first fetch waits a minute, so a starting server answers the Node first.
            let mut next = std::time::Instant::now() + std::time::Duration::from_secs(60).min(interval);
            while !shutdown.is_triggered() {
                if std::time::Instant::now() >= next {
                    let stopping = || shutdown.is_triggered();
                    match crate::pagopa::fdr::fetch_all(&state.db, &client, Now::read(), &stopping) {
                        // Counts only: each org that failed has had its own line.
                        Ok(s) => tracing::info!(
                            listed = s.listed,
                            stored = s.stored,
                            rejected = s.rejected,
                            already_stored = s.already_stored,
                            replaced = s.replaced,
                            failed_orgs = s.failures.len(),
                            interrupted = s.interrupted,
                            "reporting flows fetched"
                        ),
                        Err(err) => tracing::error!(error = %err, "reporting fetch failed"),
                    }
                    next = std::time::Instant::now() + interval;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
        .ok()
}

/// Upstream mode's link with the Region (`upstream::link`): the outbox sent up, pushes confirmed,
/// receipts polled, reporting flows fetched. `None` when this box is its own station.
fn start_upstream_link(
    state: &std::sync::Arc<web::AppState>,
    shutdown: &server::Shutdown,
) -> Result<Option<JoinHandle<()>>, CliError> {
    let Some(upstream) = state.config.upstream.clone() else { return Ok(None) };
    let client = crate::upstream::link::Link::client(upstream.url.as_str()).map_err(CliError::System)?;
    let state = std::sync::Arc::clone(state);
    let shutdown = shutdown.clone();
    Ok(std::thread::Builder::new()
        .name("upstream".to_owned())
        .spawn(move || {
            let link = crate::upstream::link::Link {
                db: &state.db,
                data_dir: state.config.data_dir.clone(),
                client,
                // Never: a day between polls that nothing starts (pushes still arrive).
                poll_every: upstream.poll_every.unwrap_or(Duration::from_secs(86_400 * 365)),
                flows_every: Duration::from_secs(state.config.node.reporting_interval_minutes.max(1) * 60),
            };
            link.run(&|| shutdown.is_triggered());
        })
        .ok())
}

/// The mail outbox sender: every few seconds, the due mails go out through `[mail]`. Without a
/// host the outbox is only kept (the demo shows it at /dev/outbox).
fn start_mail_job(state: &std::sync::Arc<web::AppState>, shutdown: &server::Shutdown) -> Option<JoinHandle<()>> {
    let settings = state.config.mail.clone()?;
    let state = std::sync::Arc::clone(state);
    let shutdown = shutdown.clone();
    std::thread::Builder::new()
        .name("mail".to_owned())
        .spawn(move || {
            let mut next = std::time::Instant::now();
            while !shutdown.is_triggered() {
                if std::time::Instant::now() >= next {
                    match crate::services::portal::mail::send_due(&state.db, &settings, Now::read()) {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(sent = n, "mails sent"),
                        Err(err) => tracing::error!(error = %err, "mail outbox"),
                    }
                    next = std::time::Instant::now() + std::time::Duration::from_secs(5);
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
        .ok()
}

/// Housekeeping every few minutes: carts left at Checkout expire, expired sessions are deleted
/// (`services::portal::housekeeping::sweep`), unpaid portal debts expire, and the day's retention
/// purge and receipt recovery are queued; every 10 s, a reconciliation job for the orgs whose
/// receipts or flows changed. The first sweep runs right after start.
fn start_housekeeping_job(
    state: &std::sync::Arc<web::AppState>,
    shutdown: &server::Shutdown,
) -> Option<JoinHandle<()>> {
    let state = std::sync::Arc::clone(state);
    let shutdown = shutdown.clone();
    std::thread::Builder::new()
        .name("housekeeping".to_owned())
        .spawn(move || {
            let mut next = std::time::Instant::now();
            let mut next_reconcile = std::time::Instant::now();
            while !shutdown.is_triggered() {
                if std::time::Instant::now() >= next {
                    match crate::services::portal::housekeeping::sweep(&state.db, Now::read()) {
                        Ok(swept) if swept == Default::default() => {}
                        Ok(swept) => tracing::info!(?swept, "housekeeping"),
                        Err(err) => tracing::error!(error = %err, "housekeeping failed"),
                    }
                    // Unpaid portal debts expire; not in upstream mode, where the Region's payment
                    // sessions own the portal's debts.
                    if state.config.upstream.is_none() {
                        let days = state.config.retention.unpaid_spontaneous_days;
                        match crate::services::portal::housekeeping::expire_unpaid_spontaneous(
                            &state.db,
                            days,
                            Now::read(),
                        ) {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(expired = n, "unpaid portal debts expired"),
                            Err(err) => tracing::error!(error = %err, "cannot expire unpaid portal debts"),
                        }
                    }
                    // The day's receipt recovery, where this box is a station that reaches pagoPA.
                    if state.config.upstream.is_none()
                        && state.config.node.base_url.is_some()
                        && let Err(err) = crate::services::payments::recovery::schedule(&state.db, Now::read())
                    {
                        tracing::error!(error = %err, "cannot queue the receipt recovery");
                    }
                    // The day's retention purge, queued once a day; the job runner runs it.
                    if let Err(err) = crate::services::gdpr::purge::schedule(&state.db, Now::read()) {
                        tracing::error!(error = %err, "cannot queue the retention purge");
                    }
                    // Planner statistics follow the data (an import of a million debts, say).
                    if let Err(err) = state.db.optimize() {
                        tracing::warn!(error = %err, "cannot refresh the query planner's statistics");
                    }
                    next = std::time::Instant::now() + std::time::Duration::from_secs(300);
                }
                // Receipts and flows that arrived are classified by a job within seconds.
                if std::time::Instant::now() >= next_reconcile {
                    if let Err(err) = crate::services::reconciliation::schedule(&state.db, Now::read()) {
                        tracing::error!(error = %err, "cannot queue the reconciliation");
                    }
                    next_reconcile = std::time::Instant::now() + std::time::Duration::from_secs(10);
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
        .ok()
}

pub(super) fn init_logging(level: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true)
        .try_init();
}
