//! The command line: argument definitions (clap) and the mapping of outcomes to exit codes.
//!
//! Exit codes: 0 success; 1 a failure of the system (database, disk, network); 2 the input or
//! the configuration is wrong (the message names what). Messages go to stderr in English; results
//! to stdout, as text or, with `--json`, as one JSON document that scripts can rely on.
//!
//! A command that only reads (lists, shows, `--status`, notice and receipt PDFs) opens the database
//! read-only ([`Access::Read`]): it answers while another process writes, even during a large
//! import. A command that writes ([`Access::Write`]) waits for another process's writer for as long
//! as it takes, saying so on stderr every few seconds; Ctrl-C ends the wait.
//! **Boundary:** the CLI. Command and flag names are a contract: scripts use them.

mod accertamenti;
mod admin;
mod api_token;
mod backup;
mod cert;
mod demo;
mod documents;
mod export;
mod gdpr;
mod healthcheck;
mod import;
mod json;
mod nodesim;
mod push;
mod reconcile;
mod reporting;
mod serve;
mod upstream;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError, Mode, Overrides, Problem};
use crate::services::ServiceError;
use crate::store::{Db, Patience, StoreError};

/// mypay: pagoPA payments for Italian local authorities, MyPay-compatible.
#[derive(Debug, Parser)]
#[command(name = "mypay", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Folder holding the database and generated files [default: ./mypay-data].
    #[arg(long, global = true, env = "MYPAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file (TOML); see packaging/mypay.toml [default: /etc/mypay/mypay.toml when it
    /// exists, except for the demo].
    #[arg(long, global = true, env = "MYPAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (refuses an incomplete production configuration).
    Serve(ServeArgs),
    /// Run the server with demo data and defaults: the same as `serve --demo`; with `--upstream`, a
    /// municipality's box behind another demo as its regional node.
    Demo(DemoArgs),
    /// Check or show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage organisations (enti).
    #[command(subcommand)]
    Org(admin::OrgCommand),
    /// Manage debt types (tipi dovuto).
    #[command(subcommand, name = "debt-type")]
    DebtType(admin::DebtTypeCommand),
    /// Manage back-office operators.
    #[command(subcommand)]
    Operator(admin::OperatorCommand),
    /// Add and look up single debt positions (dovuti).
    #[command(subcommand)]
    Debt(admin::DebtCommand),
    /// Bearer tokens of the REST API (/api/v1/), one org each.
    #[command(subcommand, name = "api-token")]
    ApiToken(api_token::ApiTokenCommand),
    /// Export receipts (MyPay "flussi RT" layouts 1.0-1.3) to a ZIP.
    // `--version` names the layout here, as in MyPay's requests, so not the program's version.
    #[command(disable_version_flag = true)]
    Export(export::ExportArgs),
    /// Export the open debts past a mandatory due date ("dovuti scaduti") to a ZIP.
    #[command(name = "export-expired")]
    ExportExpired(export::ExpiredArgs),
    /// Payment notices (avvisi pagoPA) as PDF.
    #[command(subcommand)]
    Notice(documents::NoticeCommand),
    /// Payment receipts (quietanze) as PDF.
    #[command(subcommand)]
    Receipt(documents::ReceiptCommand),
    /// Import a debt flow (<IPA>-<IUF>-<version>.zip, MyPay layouts 1_0..1_4), or show imports.
    Import(import::ImportArgs),
    /// Reporting flows (flussi di rendicontazione) from pagoPA.
    #[command(subcommand)]
    Reporting(reporting::ReportingCommand),
    /// Reconciliation (MyPivot): load treasury and notification files, list transfers by label,
    /// the accertamenti and operators' notes.
    #[command(subcommand)]
    Reconcile(reconcile::ReconcileCommand),
    /// Run the simulated pagoPA Node, Checkout and PSPs against a station.
    #[command(name = "node-sim")]
    NodeSim(nodesim::NodeSimArgs),
    /// Make the station's TLS key: a certificate signing request, or a self-signed test certificate.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Copy the database to a file, consistent even while the server is serving.
    Backup(backup::BackupArgs),
    /// Replace the database with a file written by `mypay backup` (the server must be stopped).
    Restore(backup::RestoreArgs),
    /// Ask the running server's /healthz; exit 0 when it answers 200 (for container health checks).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Personal data (GDPR): the retention purge, a data subject's export, erasure, rectification.
    #[command(subcommand)]
    Gdpr(gdpr::GdprCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Seed demo data and fill missing settings with demo values.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub listen: ListenArgs,
    /// Run as a municipality's box behind a regional node: the SIL address of another demo, e.g.
    /// http://127.0.0.1:8080/ws/pa/ (upstream mode; the demo org mirrors its debts there).
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration for production; exit 2 naming every problem.
    Check,
    /// Print the effective configuration (secrets masked).
    Show {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The configuration `mypay demo` runs with: its station identity, its public address and
        /// its simulator's (the port after server.listen's).
        #[arg(long)]
        demo: bool,
    },
}

/// A failed command: what to print and which exit code to use.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    System(String),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Service(err) if err.is_user_error() => 2,
            CliError::Store(
                StoreError::TooNew { .. }
                | StoreError::UnknownVersion { .. }
                | StoreError::NeedsUpgrade { .. }
                | StoreError::Missing { .. },
            ) => 2,
            // A person must put the right key file back, or fix its mode: the message names it.
            CliError::Store(
                StoreError::KeyFile { .. }
                | StoreError::KeyMissing { .. }
                | StoreError::WrongKey { .. }
                | StoreError::KeyConflict { .. },
            ) => 2,
            CliError::Service(_) | CliError::Store(_) | CliError::System(_) => 1,
        }
    }
}

/// A command whose reader went away (`mypay reconcile list --json | head`) stops there, as other
/// Unix tools do, instead of dying with a panic and a backtrace: Rust ignores SIGPIPE, so a print
/// to a closed pipe panics with "Broken pipe". Exit status 141 is the shell's for SIGPIPE. Every
/// other panic goes to the default hook as before.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn run() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

fn execute(mut cli: Cli) -> Result<(), CliError> {
    let interrupt = Interrupt::default();
    let demo = matches!(
        &cli.command,
        Command::Demo(_)
            | Command::Serve(ServeArgs { demo: true, .. })
            | Command::Config(ConfigCommand::Show { demo: true, .. })
            | Command::Reporting(reporting::ReportingCommand::Fetch { demo: true, .. })
            | Command::Reporting(reporting::ReportingCommand::Recover { demo: true, .. })
    );
    cli.config = crate::config::config_path(cli.config.as_deref(), demo);
    let overrides = |listen: Option<String>| Overrides { data_dir: cli.data_dir.clone(), listen, upstream: None };
    match cli.command {
        Command::Serve(args) => {
            let mode = if args.demo { Mode::Demo } else { Mode::Production };
            let config = Config::load(cli.config.as_deref(), &overrides(args.listen.listen), mode)
                .map_err(|err| setup_hint(err, cli.config.as_deref()))?;
            serve::run(config, mode == Mode::Demo)
        }
        Command::Demo(args) => {
            let overrides = Overrides { upstream: args.upstream, ..overrides(args.listen.listen) };
            let config = Config::load(cli.config.as_deref(), &overrides, Mode::Demo)?;
            serve::run(config, true)
        }
        Command::Config(ConfigCommand::Check) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Production)
                .map_err(|err| setup_hint(err, cli.config.as_deref()))?;
            tls_setup(&config)?;
            // Written without println!: a reader that stops early (`| grep -q`) must not turn a
            // valid configuration into a panic on a closed pipe.
            let text =
                format!("configuration is valid ({})\n{}\n", config.sources.join(", "), config.station_summary());
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
            Ok(())
        }
        Command::Config(ConfigCommand::Show { json, demo }) => {
            let config = if demo {
                let mut config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Demo)?;
                demo::wire_for_commands(&mut config)?;
                config
            } else {
                Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?
            };
            let text = if json {
                format!("{}\n", config.show_json().map_err(|e| CliError::System(e.to_string()))?)
            } else {
                let mut text = format!("# sources: {}\n", config.sources.join(", "));
                if demo {
                    text.push_str("# as `mypay demo` runs with these sources (`--demo`)\n");
                }
                text.push_str(&config.show_toml().map_err(|e| CliError::System(e.to_string()))?);
                if !demo && config.upstream.is_none() && config.station.broker_id.is_empty() {
                    text.push_str(&format!(
                        "# station.broker_id and station.station_id are not set: `mypay demo` uses {0} and {0}_01 \
                         (see `mypay config show --demo`)\n",
                        crate::config::DEMO_BROKER_ID
                    ));
                }
                text
            };
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
            Ok(())
        }
        Command::Org(cmd) => {
            admin::org(&open_admin(&cli.config, &cli.data_dir, Access::of(cmd.writes()), &interrupt)?, cmd)
        }
        Command::DebtType(cmd) => {
            admin::debt_type(&open_admin(&cli.config, &cli.data_dir, Access::of(cmd.writes()), &interrupt)?, cmd)
        }
        Command::Operator(cmd) => {
            admin::operator(&open_admin(&cli.config, &cli.data_dir, Access::of(cmd.writes()), &interrupt)?, cmd)
        }
        Command::Debt(cmd) => {
            admin::debt(&open_admin(&cli.config, &cli.data_dir, Access::of(cmd.writes()), &interrupt)?, cmd)
        }
        Command::ApiToken(cmd) => {
            api_token::run(&open_admin(&cli.config, &cli.data_dir, Access::of(cmd.writes()), &interrupt)?, cmd)
        }
        Command::Export(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            // An export is recorded (and its file listed in the back office): it writes.
            export::run(&config, &open(&config, Access::Write, &interrupt)?, args)
        }
        Command::ExportExpired(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            export::run_expired(&config, &open(&config, Access::Write, &interrupt)?, args)
        }
        Command::Notice(cmd) => {
            documents::notice(&open_admin(&cli.config, &cli.data_dir, Access::Read, &interrupt)?, cmd)
        }
        Command::Receipt(cmd) => {
            documents::receipt(&open_admin(&cli.config, &cli.data_dir, Access::Read, &interrupt)?, cmd)
        }
        Command::Reporting(cmd) => {
            let config = reporting::config(cli.config.as_deref(), &overrides(None), &cmd)?;
            reporting::run(&config, &open(&config, Access::Write, &interrupt)?, cmd)
        }
        Command::Import(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            let db = open(&config, Access::of(args.writes()), &interrupt)?;
            import::run(&config, &db, args, &interrupt)
        }
        Command::Reconcile(cmd) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            let db = open(&config, Access::of(cmd.writes()), &interrupt)?;
            reconcile::run(&config, &db, cmd, &interrupt)
        }
        Command::NodeSim(args) => nodesim::run(args),
        Command::Cert(cmd) => cert::run(cmd),
        Command::Backup(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            backup::backup(&config, &args)
        }
        Command::Restore(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            backup::restore(&config, &args)
        }
        Command::Healthcheck(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            healthcheck::run(&config, &args)
        }
        Command::Gdpr(cmd) => {
            let config = Config::load(cli.config.as_deref(), &overrides(None), Mode::Admin)?;
            let db = open(&config, Access::of(cmd.writes()), &interrupt)?;
            gdpr::run(&config, &db, cmd, &interrupt)
        }
    }
}

/// A production configuration refused while no file was read: say where settings go, and that the
/// demo needs none (exit code 2 still).
fn setup_hint(err: ConfigError, file: Option<&std::path::Path>) -> CliError {
    match (&err, file) {
        (ConfigError::Invalid(_), None) => CliError::Usage(format!(
            "{err}\nno configuration file was read: give one with --config FILE (a commented example is \
             packaging/mypay.toml, installed as /etc/mypay/mypay.toml) or set MYPAY_<SECTION>_<KEY> variables; \
             to try mypay without any configuration, run `mypay demo`"
        )),
        _ => CliError::Config(err),
    }
}

/// The rustls configuration of `[tls]`, if set. What rustls refuses (a key that does not match
/// the certificate) is reported like every other configuration problem, by key, exit 2.
fn tls_setup(config: &Config) -> Result<Option<crate::web::tls::Setup>, CliError> {
    let Some(material) = &config.tls.material else { return Ok(None) };
    let setup = crate::web::tls::setup(material)
        .map_err(|err| CliError::Config(ConfigError::Invalid(vec![Problem { key: err.key, reason: err.reason }])))?;
    Ok(Some(match config.node_auth.addresses() {
        Some(ranges) => setup.with_node_addresses(ranges),
        None => setup,
    }))
}

/// What a command does with the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Only reads: opened read-only, never waiting for a writer.
    Read,
    /// Writes: waits for another process's writer as long as it takes.
    Write,
}

impl Access {
    fn of(writes: bool) -> Access {
        if writes { Access::Write } else { Access::Read }
    }
}

/// Opens the database of the configured data directory for an administrative command.
fn open_admin(
    config_path: &Option<PathBuf>,
    data_dir: &Option<PathBuf>,
    access: Access,
    interrupt: &Interrupt,
) -> Result<Db, CliError> {
    let overrides = Overrides { data_dir: data_dir.clone(), ..Overrides::default() };
    let config = Config::load(config_path.as_deref(), &overrides, Mode::Admin)?;
    open(&config, access, interrupt)
}

/// Opens the configured database as `access` says.
fn open(config: &Config, access: Access, interrupt: &Interrupt) -> Result<Db, CliError> {
    match access {
        Access::Read => Ok(Db::open_read_only(&config.database_path)?),
        Access::Write => {
            let (db, _) = Db::open_patient(&config.database_path, waiting_notice(interrupt.clone()))?;
            Ok(db)
        }
    }
}

/// Seconds between two lines of [`waiting_notice`].
const WAIT_NOTICE_EVERY: u64 = 10;

/// What a writing command says while another process holds the database's writer: a line at
/// once, then every [`WAIT_NOTICE_EVERY`] seconds, with the time waited. It waits until the writer
/// is free, or until `interrupt` is set (Ctrl-C, once in-process work has armed it; before, Ctrl-C
/// ends the process, which holds nothing while it waits).
fn waiting_notice(interrupt: Interrupt) -> Patience {
    let next = AtomicU64::new(0);
    Box::new(move |waited| {
        let secs = waited.as_secs();
        if secs >= next.load(Ordering::SeqCst) {
            eprintln!("waiting for the database: another mypay process is writing (e.g. an import)… {secs} s");
            next.store(secs + WAIT_NOTICE_EVERY, Ordering::SeqCst);
        }
        !interrupt.is_set()
    })
}

/// Ctrl-C (or SIGTERM) during in-process work that can stop where it will resume (a job): once
/// [armed](Interrupt::arm), the first signal sets the flag the work polls, a second one ends the
/// process at once (exit status 130).
#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    fn arm(&self) -> std::io::Result<()> {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&self.0))?;
            signal_hook::flag::register(signal, Arc::clone(&self.0))?;
        }
        Ok(())
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Reads a password from the first line of standard input.
fn read_password_stdin() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|err| CliError::System(format!("cannot read standard input: {err}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(CliError::Usage("no password on standard input".to_owned()));
    }
    Ok(password)
}
