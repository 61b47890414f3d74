//! Configuration: `mypay.toml`, `MYPAY_*` environment overrides and command-line flags, merged in
//! that order into one validated [`Config`].
//!
//! Owns the list of settings (each key appears once, in [`RawConfig`], the file's `*Section`s, and
//! once in [`KEYS`], which names its `MYPAY_*` variable), their defaults, and the one
//! [`Config::validate`] that reports every problem by key name and turns the text into typed
//! `*Settings` (modes as enums, addresses parsed). The rest of the crate reads only [`Config`]. It
//! never reads the database and is passed explicitly to whoever needs it: there is no global
//! configuration.
//! See `packaging/mypay.toml` for the commented example; a test keeps the two in step.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

use crate::net::IpRange;

/// The schema version of `mypay.toml`; bumped when a key changes meaning.
pub const CONFIG_VERSION: u32 = 1;

/// The configuration file the Debian package installs. Commands other than the demo read it when no
/// `--config` is given and it exists, so an installed `mypay serve` needs no flag.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/mypay/mypay.toml";

/// The configuration file to read: the one named on the command line, else [`DEFAULT_CONFIG_PATH`]
/// when it exists (never for the demo, which must keep running on its own defaults on a machine
/// where the package is installed), else none.
pub fn config_path(given: Option<&Path>, demo: bool) -> Option<PathBuf> {
    match given {
        Some(path) => Some(path.to_owned()),
        None if demo => None,
        None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|path| path.is_file()),
    }
}

/// A problem with the configuration, named by its key. Startup refuses to go on with any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {reason}")]
    Read { path: String, reason: String },
    /// The file is not valid TOML for our keys (unknown keys are named here).
    #[error("invalid configuration file {path}: {reason}")]
    Parse { path: String, reason: String },
    /// An environment variable has a value of the wrong type.
    #[error("invalid environment variable {name}: {reason}")]
    Env { name: String, reason: String },
    /// One or more settings are missing or invalid.
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// One setting that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key as written in `mypay.toml` (`station.broker_id`).
    pub key: &'static str,
    /// What is wrong with it, in English.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// A secret setting: kept as given, printed as `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The secret value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// The settings as read, before validation. Every key of `mypay.toml` is a field here; unknown keys
/// are refused so that a typo never silently falls back to a default.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Version of this file's layout; must be 1.
    pub version: u32,
    /// Folder holding the database, uploads and generated files.
    pub data_dir: PathBuf,
    pub server: ServerSection,
    pub station: StationSection,
    pub node: NodeSection,
    pub log: LogSection,
    pub tls: TlsSection,
    pub mail: MailSection,
    pub citizen_auth: CitizenAuthSection,
    pub import: ImportSection,
    pub sil: SilSection,
    pub metrics: MetricsSection,
    pub upstream: UpstreamSection,
    pub retention: RetentionSection,
    pub privacy: PrivacySection,
}

/// `[retention]`: how long personal data is kept, per category, before the daily purge
/// anonymises or deletes it (`mypay gdpr purge`). Receipts and paid debts are accounting records:
/// they keep their data for `accounting_years`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Days after their last change that open debts (not paid, annulled or expired) keep their
    /// debtor's data, counted also from their due date.
    pub open_debt_days: u64,
    /// Days after annulment that annulled debts keep their debtor's data.
    pub annulled_debt_days: u64,
    /// Days after expiry that expired debts keep their debtor's data.
    pub expired_debt_days: u64,
    /// Years receipts and paid debts keep their payer's and debtor's data (at least 10, the
    /// legal period for accounting records).
    pub accounting_years: u64,
    /// Days e-mail PINs and mails (sent or failed) are kept.
    pub mail_days: u64,
    /// Days a portal session is kept after its last use (and a SIL session's items after it
    /// expired).
    pub session_days: u64,
    /// Days a finished payment cart keeps the payer's e-mail and the citizen's id after its last
    /// change (its state, total and notices stay).
    pub cart_days: u64,
    /// Days the journal keeps an entry's payloads (requests, responses, before/after); the entry
    /// itself (who, when, what) is never deleted.
    pub journal_payload_days: u64,
    /// Days uploaded debt flows, their result files and receipt export files are kept.
    pub file_days: u64,
    /// Days after which a debt the portal created for a spontaneous payment ("Paga ora", "Crea
    /// l'avviso") and never paid expires (`SCADUTO`): it leaves the open lists and is kept.
    pub unpaid_spontaneous_days: u64,
}

impl Default for RetentionSection {
    fn default() -> RetentionSection {
        RetentionSection {
            open_debt_days: 3650,
            annulled_debt_days: 1825,
            expired_debt_days: 1825,
            accounting_years: 10,
            mail_days: 90,
            session_days: 30,
            cart_days: 365,
            journal_payload_days: 365,
            file_days: 180,
            unpaid_spontaneous_days: 30,
        }
    }
}

/// `[privacy]`: the generic privacy notice, shown for an org that has not published its own.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySection {
    /// How to reach the data protection officer (DPO/RPD) named by the generic notice; empty:
    /// the notice points to the org's own contacts.
    pub dpo_contact: String,
}

/// `[upstream]`: this box behind a regional MyPay (or a regional mypay), reference/regional.md §7.2.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSection {
    /// The regional node's SIL web services (`https://…/ws/pa/`); empty: this box is its own pagoPA
    /// station. Set: upstream mode, the local station is off and the station settings are not needed.
    pub url: String,
    /// How often each org's receipts are polled at the Region (its incremental receipt export),
    /// in seconds; 0: never (pushes only). The Region's pushes do not wait for it.
    pub poll_seconds: u64,
}

impl Default for UpstreamSection {
    fn default() -> UpstreamSection {
        UpstreamSection { url: String::new(), poll_seconds: 300 }
    }
}

/// `[metrics]`: who may read `/metrics` besides the machine itself.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// IP addresses or CIDR blocks of the scrapers allowed to read `/metrics`; loopback always is.
    pub allow: Vec<String>,
    /// A bearer token (`Authorization: Bearer <token>`) that opens `/metrics` from anywhere;
    /// empty: none does. At least 16 characters.
    pub token: Secret,
}

/// `[mail]`: the SMTP server for PINs and receipt links. Empty host: mails stay in the outbox.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSection {
    /// SMTP server name; empty = do not send (the demo shows the outbox at /dev/outbox).
    pub host: String,
    /// SMTP port: 587 with STARTTLS, 465 with implicit TLS.
    pub port: u16,
    /// SMTP login; empty = no authentication.
    pub username: String,
    pub password: Secret,
    /// Sender address, e.g. `Pagamenti <noreply@comune.example.it>`.
    pub from: String,
    /// true: STARTTLS on `port`; false: TLS from the first byte (SMTPS).
    pub starttls: bool,
}

impl Default for MailSection {
    fn default() -> MailSection {
        MailSection {
            host: String::new(),
            port: 587,
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
            starttls: true,
        }
    }
}

/// `[citizen_auth]`: how citizens log in (SPID/CIE arrive through a proxy).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CitizenAuthSection {
    /// `none` (anonymous payments only), `headers` (a trusted reverse proxy authenticates and
    /// passes the identity in headers) or `oidc` (mypay is an OpenID Connect relying party, SPID/CIE
    /// arriving through an OIDC proxy). The demo always adds its own demo login.
    pub mode: String,
    /// Header carrying the citizen's fiscal code (`TINIT-` prefixes are removed).
    pub header_fiscal_code: String,
    /// Header carrying the full name.
    pub header_name: String,
    /// Header carrying the e-mail address.
    pub header_email: String,
    /// IP addresses of the proxies allowed to set those headers; others are ignored.
    pub trusted_proxies: Vec<String>,
    /// `oidc`: the provider's issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub oidc_issuer: String,
    /// `oidc`: the client id registered at the provider.
    pub oidc_client_id: String,
    /// `oidc`: the client secret.
    pub oidc_client_secret: Secret,
    /// `oidc`: how the secret is sent to the token endpoint: `client_secret_basic` or `client_secret_post`.
    pub oidc_token_auth: String,
    /// `oidc`: the path of the redirect URI (registered at the provider as `server.public_url` + path).
    pub oidc_redirect_path: String,
    /// `oidc`: the ID token claim holding the fiscal code (`TINIT-` prefixes are removed).
    pub oidc_fiscal_code_claim: String,
    /// `oidc`: the scopes asked for, separated by spaces; must include `openid`.
    pub oidc_scopes: String,
}

impl Default for CitizenAuthSection {
    fn default() -> CitizenAuthSection {
        CitizenAuthSection {
            mode: "none".to_owned(),
            header_fiscal_code: "x-spid-fiscalnumber".to_owned(),
            header_name: "x-spid-name".to_owned(),
            header_email: "x-spid-email".to_owned(),
            trusted_proxies: vec!["127.0.0.1".to_owned(), "::1".to_owned()],
            oidc_issuer: String::new(),
            oidc_client_id: String::new(),
            oidc_client_secret: Secret::default(),
            oidc_token_auth: "client_secret_basic".to_owned(),
            oidc_redirect_path: "/accedi/oidc/ritorno".to_owned(),
            oidc_fiscal_code_claim: "fiscal_number".to_owned(),
            oidc_scopes: "openid profile email".to_owned(),
        }
    }
}

/// `[sil]`: the intermediary's credentials for the SIL web services (reference/mypay.md §4.1).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SilSection {
    /// IPA code of the org whose SIL password authorizes the cross-org queries
    /// (`paaSILChiediPosizioniAperte`, `paaSILChiediStoricoPagamenti`); empty: they are refused.
    pub intermediary_org: String,
    /// The intermediary's password in `paaSILInviaCarrelloDovuti`'s per-org hash; empty: multi-org
    /// carts are refused.
    pub intermediary_password: Secret,
}

/// `[import]`: debt-flow uploads (CSV in ZIP).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportSection {
    /// Largest accepted upload (the ZIP file), in bytes. MyPay's limit was 10 MiB.
    pub max_upload_bytes: u64,
    /// Largest accepted decompressed CSV, in bytes: a ZIP bomb stops here.
    pub max_uncompressed_bytes: u64,
    /// The notices ZIP (`_AVVISI_PDF`) of a flow's rows with flagGeneraIuv: `on` (made after the
    /// import), `on-demand` (made when an operator asks) or `off`.
    pub notices: String,
}

impl Default for ImportSection {
    fn default() -> ImportSection {
        ImportSection {
            max_upload_bytes: 200 * 1024 * 1024,
            max_uncompressed_bytes: 4 * 1024 * 1024 * 1024,
            notices: "on".to_owned(),
        }
    }
}

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address and port to listen on.
    pub listen: String,
    /// The address citizens and the pagoPA Node use to reach this server (used in links and
    /// return URLs). Required in production.
    pub public_url: String,
    /// Number of request worker threads.
    pub workers: usize,
    /// Largest accepted request body for ordinary routes, in bytes.
    pub max_body_bytes: u64,
    /// IP addresses or CIDR blocks of the reverse proxies or load balancers in front of this
    /// server: their connections are not held to the per-address limits, and a request's client
    /// address is read from the `X-Forwarded-For` they append.
    pub trusted_proxies: Vec<String>,
}

/// `[station]`: the identity under which the pagoPA Node knows this intermediary.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StationSection {
    /// idBrokerPA: the intermediary's fiscal code (11 digits).
    pub broker_id: String,
    /// idStation: the station id, by convention `<broker_id>_NN`.
    pub station_id: String,
    /// The station password agreed with pagoPA (legacy nodeForPa calls).
    pub password: Secret,
    /// How the pagoPA Node is authenticated on `/ws/fesp/`: `mtls` (client certificates chaining
    /// to `tls.client_ca`), `proxy` (a reverse proxy at `node_addresses` authenticates it) or
    /// `addresses` (only calls from `node_addresses`). Required by `serve`.
    pub node_auth: String,
    /// With `proxy` or `addresses`: the IP addresses or CIDR blocks allowed to call the station.
    pub node_addresses: Vec<String>,
}

/// `[node]`: where the pagoPA Node (or the regional node) is.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// Base URL of the pagoPA APIs (Checkout, FdR, nodeForPa).
    pub base_url: String,
    /// `Ocp-Apim-Subscription-Key` for the pagoPA APIs.
    pub subscription_key: Secret,
    /// Minutes between two fetches of the reporting flows (FdR); 0 turns the periodic fetch off.
    pub reporting_interval_minutes: u64,
}

/// `[tls]`: HTTPS on the listener itself, and the client certificate the pagoPA Node must present
/// on the station path. Empty paths mean "not used".
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// `auto` (the default): HTTPS with `cert` and `key` when they are set; without them `serve`
    /// generates a self-signed certificate in `<data_dir>/tls/` on first start (the demo stays plain
    /// HTTP). `off`: plain HTTP, for a reverse proxy in front.
    pub mode: String,
    /// PEM certificate chain (leaf first); empty = plain HTTP.
    pub cert: PathBuf,
    /// PEM private key of the leaf (PKCS#8, SEC1 or PKCS#1); required with `cert`.
    pub key: PathBuf,
    /// PEM CA bundle the pagoPA Node's client certificate must chain to on `/ws/fesp/`; empty = no
    /// client certificate required.
    pub client_ca: PathBuf,
}

impl Default for TlsSection {
    fn default() -> TlsSection {
        TlsSection { mode: "auto".to_owned(), cert: PathBuf::new(), key: PathBuf::new(), client_ca: PathBuf::new() }
    }
}

/// The `[tls]` files, read and parsed by [`Config::validate`] so that a bad file is reported by key
/// before anything starts. `web::tls` turns this into the rustls configuration.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The certificate chain, leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (`Arc` because keys are deliberately not `Clone`).
    pub key: Arc<PrivateKeyDer<'static>>,
    /// Trust anchors for client certificates; empty = client certificates are not required.
    pub client_ca: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key bytes, even in debug output.
        f.debug_struct("TlsMaterial")
            .field("cert_chain", &self.cert_chain.len())
            .field("key", &"***")
            .field("client_ca", &self.client_ca.len())
            .finish()
    }
}

/// `[log]`: what is logged.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A tracing filter: `info`, `debug`, `mypay=debug,info`.
    pub level: String,
}

impl Default for RawConfig {
    fn default() -> RawConfig {
        RawConfig {
            version: CONFIG_VERSION,
            data_dir: PathBuf::from("./mypay-data"),
            server: ServerSection::default(),
            station: StationSection::default(),
            node: NodeSection::default(),
            log: LogSection::default(),
            tls: TlsSection::default(),
            mail: MailSection::default(),
            citizen_auth: CitizenAuthSection::default(),
            import: ImportSection::default(),
            sil: SilSection::default(),
            metrics: MetricsSection::default(),
            upstream: UpstreamSection::default(),
            retention: RetentionSection::default(),
            privacy: PrivacySection::default(),
        }
    }
}

impl Default for ServerSection {
    fn default() -> ServerSection {
        ServerSection {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: String::new(),
            workers: 8,
            max_body_bytes: 1024 * 1024,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for NodeSection {
    fn default() -> NodeSection {
        NodeSection { base_url: String::new(), subscription_key: Secret::default(), reporting_interval_minutes: 360 }
    }
}

impl Default for LogSection {
    fn default() -> LogSection {
        LogSection { level: "info".to_owned() }
    }
}

/// Overrides from the command line; `None` leaves the file/environment value alone.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    /// `upstream.url` (`mypay demo --upstream URL`).
    pub upstream: Option<String>,
}

/// How complete the configuration must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `serve`: every setting the station and the portal need must be there.
    Production,
    /// `demo`: missing station and address settings get demo values.
    Demo,
    /// Administrative commands (`org add`, `config show`, ...): only what is set is checked.
    Admin,
}

/// The validated configuration: every key parsed into the type its readers need. Only
/// [`Config::validate`] builds one, so holding a `Config` means every check passed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder holding the database, uploads and generated files (`data_dir`).
    pub data_dir: PathBuf,
    /// The SQLite file, `<data_dir>/mypay.db`.
    pub database_path: PathBuf,
    pub server: ServerSettings,
    pub station: StationSettings,
    /// Who may call the station (`station.node_auth` with `station.node_addresses`).
    pub node_auth: NodeAuth,
    pub node: NodeSettings,
    /// The tracing filter of `log.level`, checked.
    pub log_level: String,
    pub tls: TlsSettings,
    /// `[mail]`; `None` without `mail.host`: mails stay in the outbox.
    pub mail: Option<MailSettings>,
    pub citizen_auth: CitizenAuth,
    pub import: ImportSettings,
    pub sil: SilSettings,
    pub metrics: MetricsSettings,
    /// `[upstream]`; `None` without `upstream.url`: this box is its own pagoPA station. With it
    /// (upstream mode) the local station is off: the station path refuses every call and no
    /// reporting flow is fetched from the Node.
    pub upstream: Option<UpstreamSettings>,
    pub retention: RetentionSettings,
    /// `privacy.dpo_contact`, trimmed; empty: the generic notice points to the org's contacts.
    pub privacy_dpo_contact: String,
    /// Where the settings came from, for `config check` and `config show`.
    pub sources: Vec<String>,
    /// The settings as given (defaults, file, environment, flags, and the demo's fill-ins): what
    /// `config show` prints, and what is validated again with a generated certificate.
    given: RawConfig,
    /// What `given` was validated for.
    mode: Mode,
}

/// An `http://` or `https://` address from the configuration, kept as written (links and logs
/// show what the operator wrote); only the scheme is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Accepts text starting with `http://` or `https://`; the error is the reason, for a [`Problem`].
    pub fn parse(text: &str) -> Result<HttpUrl, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            Ok(HttpUrl(text.to_owned()))
        } else {
            Err(format!("{text:?} must start with http:// or https://"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The address without trailing slashes, to append a path (`/ws/pa/...`) to.
    pub fn base(&self) -> &str {
        self.0.trim_end_matches('/')
    }
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[server]`, validated.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The address and port to listen on.
    pub listen: SocketAddr,
    /// The address citizens and the Node use to reach this server. `None` only for administrative
    /// commands: `serve` requires it and the demo fills it in.
    pub public_url: Option<HttpUrl>,
    /// Request worker threads, 1 to 256.
    pub workers: usize,
    /// Largest request body of ordinary routes, in bytes (at least 1024).
    pub max_body_bytes: u64,
    /// `server.trusted_proxies`: the proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpRange>,
}

impl ServerSettings {
    /// [`HttpUrl::base`] of the public address, for links; empty when it is not set.
    pub fn public_base(&self) -> &str {
        self.public_url.as_ref().map_or("", HttpUrl::base)
    }
}

/// `[station]`, validated (its `node_auth` and `node_addresses` are [`Config::node_auth`]). The
/// identifiers are empty only outside production when not set; the demo fills them in.
#[derive(Debug, Clone)]
pub struct StationSettings {
    /// idBrokerPA: 11 digits.
    pub broker_id: String,
    /// idStation: up to 35 letters, digits, `_` or `-`.
    pub station_id: String,
    pub password: Secret,
}

/// `[node]`, validated.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The pagoPA Node (or regional node); `None` outside production when not set, and then the
    /// demo starts its simulator.
    pub base_url: Option<HttpUrl>,
    pub subscription_key: Secret,
    /// Minutes between two fetches of the reporting flows; 0 = no periodic fetch.
    pub reporting_interval_minutes: u64,
}

/// `tls.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// HTTPS with `tls.cert`, or in production a self-signed certificate made on first start.
    Auto,
    /// Plain HTTP, for a reverse proxy in front.
    Off,
}

impl std::str::FromStr for TlsMode {
    type Err = String;
    fn from_str(text: &str) -> Result<TlsMode, String> {
        match text {
            "auto" => Ok(TlsMode::Auto),
            "off" => Ok(TlsMode::Off),
            other => Err(format!("{other:?} must be auto or off")),
        }
    }
}

/// `[tls]`, validated.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// The CA bundle the Node's client certificate must chain to (`tls.client_ca`), if set.
    pub client_ca: Option<PathBuf>,
    /// The parsed files; `None` = plain HTTP so far. Not loaded in [`Mode::Admin`], whose commands
    /// never listen and may run as a user that cannot read the key.
    pub material: Option<TlsMaterial>,
    /// `serve` must make (or reuse) the self-signed certificate of `tls.mode = "auto"` before it
    /// listens ([`Config::with_tls_files`]): production, mode `auto`, no `tls.cert`.
    pub generate_certificate: bool,
}

/// `[mail]` with a host, validated.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    /// SMTP login; empty = no authentication.
    pub username: String,
    pub password: Secret,
    /// The sender, with an `@`.
    pub from: String,
    /// true: STARTTLS on `port`; false: TLS from the first byte.
    pub starttls: bool,
}

/// `[citizen_auth]`, validated.
#[derive(Debug, Clone)]
pub struct CitizenAuth {
    pub mode: CitizenAuthMode,
    /// The identity headers of mode `headers`, lower-cased (header lookups are case-insensitive).
    pub header_fiscal_code: String,
    pub header_name: String,
    pub header_email: String,
    /// The proxies whose identity headers are believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl CitizenAuth {
    /// The OpenID Connect settings, with `mode = "oidc"`.
    pub fn oidc(&self) -> Option<&OidcSettings> {
        match &self.mode {
            CitizenAuthMode::Oidc(oidc) => Some(oidc),
            CitizenAuthMode::None | CitizenAuthMode::Headers => None,
        }
    }
}

/// `citizen_auth.mode`: how citizens log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitizenAuthMode {
    /// Anonymous payments only (the demo adds its own demo login).
    None,
    /// A trusted reverse proxy authenticates and passes the identity in headers.
    Headers,
    /// mypay is an OpenID Connect relying party (SPID/CIE through an OIDC proxy).
    Oidc(OidcSettings),
}

/// The `oidc_*` keys of `[citizen_auth]`, validated (only with `mode = "oidc"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL, http(s) without query or fragment.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub token_auth: OidcTokenAuth,
    /// The redirect URI's path (`/accedi/oidc/ritorno`); the URI is `server.public_url` + path.
    pub redirect_path: String,
    /// The ID token claim holding the fiscal code.
    pub fiscal_code_claim: String,
    /// The scopes asked for, separated by spaces; includes `openid`.
    pub scopes: String,
}

/// `citizen_auth.oidc_token_auth`: how the client secret reaches the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcTokenAuth {
    /// HTTP Basic authentication.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl std::str::FromStr for OidcTokenAuth {
    type Err = String;
    fn from_str(text: &str) -> Result<OidcTokenAuth, String> {
        match text {
            "client_secret_basic" => Ok(OidcTokenAuth::ClientSecretBasic),
            "client_secret_post" => Ok(OidcTokenAuth::ClientSecretPost),
            other => Err(format!("{other:?} must be client_secret_basic or client_secret_post")),
        }
    }
}

/// `import.notices`: when the notices ZIP of a flow is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoticesMode {
    /// After each import with notices to print, by the job runner (MyPay's behaviour).
    #[default]
    On,
    /// When an operator asks for it (back office, `mypay import --make-notices`).
    OnDemand,
    /// Never: large flows whose notices are printed elsewhere.
    Off,
}

impl std::str::FromStr for NoticesMode {
    type Err = String;
    fn from_str(text: &str) -> Result<NoticesMode, String> {
        match text {
            "on" => Ok(NoticesMode::On),
            "on-demand" => Ok(NoticesMode::OnDemand),
            "off" => Ok(NoticesMode::Off),
            other => Err(format!("{other:?} must be on, on-demand or off")),
        }
    }
}

/// The longest retention in days a `[retention]` key accepts (100 years).
pub const MAX_RETENTION_DAYS: u64 = 36_500;

/// `[retention]`, validated: every count of days between 1 and [`MAX_RETENTION_DAYS`], the
/// accounting years between 10 and 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    pub open_debt_days: u64,
    pub annulled_debt_days: u64,
    pub expired_debt_days: u64,
    pub accounting_years: u64,
    pub mail_days: u64,
    pub session_days: u64,
    pub cart_days: u64,
    pub journal_payload_days: u64,
    pub file_days: u64,
    pub unpaid_spontaneous_days: u64,
}

impl Default for RetentionSettings {
    fn default() -> RetentionSettings {
        let r = RetentionSection::default();
        RetentionSettings {
            open_debt_days: r.open_debt_days,
            annulled_debt_days: r.annulled_debt_days,
            expired_debt_days: r.expired_debt_days,
            accounting_years: r.accounting_years,
            mail_days: r.mail_days,
            session_days: r.session_days,
            cart_days: r.cart_days,
            journal_payload_days: r.journal_payload_days,
            file_days: r.file_days,
            unpaid_spontaneous_days: r.unpaid_spontaneous_days,
        }
    }
}

/// `[import]`, validated.
#[derive(Debug, Clone, Copy)]
pub struct ImportSettings {
    /// Largest accepted upload, in bytes (at least 1024).
    pub max_upload_bytes: u64,
    /// Largest accepted decompressed CSV, in bytes (at least `max_upload_bytes`).
    pub max_uncompressed_bytes: u64,
    /// When the notices ZIP of a flow is made.
    pub notices: NoticesMode,
}

/// `[sil]`, validated.
#[derive(Debug, Clone)]
pub struct SilSettings {
    /// IPA code of the intermediary org; empty: the cross-org queries are refused.
    pub intermediary_org: String,
    /// Empty: multi-org carts are refused.
    pub intermediary_password: Secret,
}

/// `[metrics]`, validated: who may read `/metrics` besides loopback (`web::metrics::admits`).
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// Client addresses allowed (the client as `server.trusted_proxies` reads it).
    pub allow: Vec<IpRange>,
    /// The bearer token that opens it; `None` when not set.
    pub token: Option<Secret>,
}

/// `[upstream]` with a URL, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSettings {
    /// The regional node's SIL endpoint: https, or http to a loopback host only.
    pub url: HttpUrl,
    /// How often receipts are polled; `None`: never.
    pub poll_every: Option<std::time::Duration>,
}

/// How one key's value is written into [`RawConfig`] from text (an environment variable): the
/// parsing is per kind, so each key only names its field.
#[derive(Clone, Copy)]
enum Field {
    Text(fn(&mut RawConfig) -> &mut String),
    Path(fn(&mut RawConfig) -> &mut PathBuf),
    Secret(fn(&mut RawConfig) -> &mut Secret),
    /// Comma-separated in the environment, blanks dropped.
    List(fn(&mut RawConfig) -> &mut Vec<String>),
    U64(fn(&mut RawConfig) -> &mut u64),
    Usize(fn(&mut RawConfig) -> &mut usize),
    U16(fn(&mut RawConfig) -> &mut u16),
    Bool(fn(&mut RawConfig) -> &mut bool),
}

/// One key of `mypay.toml` that the environment may override.
pub struct Key {
    /// The dotted key, as written in `mypay.toml` and in [`Problem::key`].
    pub name: &'static str,
    field: Field,
}

impl Key {
    /// The environment variable that overrides this key: `MYPAY_` and the key upper-cased, `.`
    /// becoming `_` (`station.node_addresses` is `MYPAY_STATION_NODE_ADDRESSES`).
    pub fn env_name(&self) -> String {
        format!("MYPAY_{}", self.name.to_ascii_uppercase().replace('.', "_"))
    }

    fn set(&self, config: &mut RawConfig, value: &str) -> Result<(), String> {
        // Every number goes through u64 first, so a word and a too-large number are told apart.
        let number = |v: &str| v.parse::<u64>().map_err(|_| format!("{v:?} is not a whole number"));
        match self.field {
            Field::Text(field) => *field(config) = value.to_owned(),
            Field::Path(field) => *field(config) = PathBuf::from(value),
            Field::Secret(field) => *field(config) = Secret::new(value),
            Field::List(field) => *field(config) = comma_list(value),
            Field::U64(field) => *field(config) = number(value)?,
            Field::Usize(field) => *field(config) = usize::try_from(number(value)?).map_err(|e| e.to_string())?,
            Field::U16(field) => *field(config) = u16::try_from(number(value)?).map_err(|e| e.to_string())?,
            Field::Bool(field) => {
                *field(config) = value.parse().map_err(|_| format!("{value:?} is not true or false"))?
            }
        }
        Ok(())
    }
}

const fn key(name: &'static str, field: Field) -> Key {
    Key { name, field }
}

/// Every key the environment may override (all but `version`), each declared once: its name gives
/// the variable ([`Key::env_name`]), its field says where the value goes.
pub const KEYS: &[Key] = &[
    key("data_dir", Field::Path(|c| &mut c.data_dir)),
    key("server.listen", Field::Text(|c| &mut c.server.listen)),
    key("server.public_url", Field::Text(|c| &mut c.server.public_url)),
    key("server.workers", Field::Usize(|c| &mut c.server.workers)),
    key("server.max_body_bytes", Field::U64(|c| &mut c.server.max_body_bytes)),
    key("server.trusted_proxies", Field::List(|c| &mut c.server.trusted_proxies)),
    key("station.broker_id", Field::Text(|c| &mut c.station.broker_id)),
    key("station.station_id", Field::Text(|c| &mut c.station.station_id)),
    key("station.password", Field::Secret(|c| &mut c.station.password)),
    key("station.node_auth", Field::Text(|c| &mut c.station.node_auth)),
    key("station.node_addresses", Field::List(|c| &mut c.station.node_addresses)),
    key("node.base_url", Field::Text(|c| &mut c.node.base_url)),
    key("node.subscription_key", Field::Secret(|c| &mut c.node.subscription_key)),
    key("node.reporting_interval_minutes", Field::U64(|c| &mut c.node.reporting_interval_minutes)),
    key("log.level", Field::Text(|c| &mut c.log.level)),
    key("tls.mode", Field::Text(|c| &mut c.tls.mode)),
    key("tls.cert", Field::Path(|c| &mut c.tls.cert)),
    key("tls.key", Field::Path(|c| &mut c.tls.key)),
    key("tls.client_ca", Field::Path(|c| &mut c.tls.client_ca)),
    key("mail.host", Field::Text(|c| &mut c.mail.host)),
    key("mail.port", Field::U16(|c| &mut c.mail.port)),
    key("mail.username", Field::Text(|c| &mut c.mail.username)),
    key("mail.password", Field::Secret(|c| &mut c.mail.password)),
    key("mail.from", Field::Text(|c| &mut c.mail.from)),
    key("mail.starttls", Field::Bool(|c| &mut c.mail.starttls)),
    key("citizen_auth.mode", Field::Text(|c| &mut c.citizen_auth.mode)),
    key("citizen_auth.header_fiscal_code", Field::Text(|c| &mut c.citizen_auth.header_fiscal_code)),
    key("citizen_auth.header_name", Field::Text(|c| &mut c.citizen_auth.header_name)),
    key("citizen_auth.header_email", Field::Text(|c| &mut c.citizen_auth.header_email)),
    key("citizen_auth.trusted_proxies", Field::List(|c| &mut c.citizen_auth.trusted_proxies)),
    key("citizen_auth.oidc_issuer", Field::Text(|c| &mut c.citizen_auth.oidc_issuer)),
    key("citizen_auth.oidc_client_id", Field::Text(|c| &mut c.citizen_auth.oidc_client_id)),
    key("citizen_auth.oidc_client_secret", Field::Secret(|c| &mut c.citizen_auth.oidc_client_secret)),
    key("citizen_auth.oidc_token_auth", Field::Text(|c| &mut c.citizen_auth.oidc_token_auth)),
    key("citizen_auth.oidc_redirect_path", Field::Text(|c| &mut c.citizen_auth.oidc_redirect_path)),
    key("citizen_auth.oidc_fiscal_code_claim", Field::Text(|c| &mut c.citizen_auth.oidc_fiscal_code_claim)),
    key("citizen_auth.oidc_scopes", Field::Text(|c| &mut c.citizen_auth.oidc_scopes)),
    key("import.max_upload_bytes", Field::U64(|c| &mut c.import.max_upload_bytes)),
    key("import.max_uncompressed_bytes", Field::U64(|c| &mut c.import.max_uncompressed_bytes)),
    key("import.notices", Field::Text(|c| &mut c.import.notices)),
    key("sil.intermediary_org", Field::Text(|c| &mut c.sil.intermediary_org)),
    key("sil.intermediary_password", Field::Secret(|c| &mut c.sil.intermediary_password)),
    key("metrics.allow", Field::List(|c| &mut c.metrics.allow)),
    key("metrics.token", Field::Secret(|c| &mut c.metrics.token)),
    key("upstream.url", Field::Text(|c| &mut c.upstream.url)),
    key("upstream.poll_seconds", Field::U64(|c| &mut c.upstream.poll_seconds)),
    key("retention.open_debt_days", Field::U64(|c| &mut c.retention.open_debt_days)),
    key("retention.annulled_debt_days", Field::U64(|c| &mut c.retention.annulled_debt_days)),
    key("retention.expired_debt_days", Field::U64(|c| &mut c.retention.expired_debt_days)),
    key("retention.accounting_years", Field::U64(|c| &mut c.retention.accounting_years)),
    key("retention.mail_days", Field::U64(|c| &mut c.retention.mail_days)),
    key("retention.session_days", Field::U64(|c| &mut c.retention.session_days)),
    key("retention.cart_days", Field::U64(|c| &mut c.retention.cart_days)),
    key("retention.journal_payload_days", Field::U64(|c| &mut c.retention.journal_payload_days)),
    key("retention.file_days", Field::U64(|c| &mut c.retention.file_days)),
    key("retention.unpaid_spontaneous_days", Field::U64(|c| &mut c.retention.unpaid_spontaneous_days)),
    key("privacy.dpo_contact", Field::Text(|c| &mut c.privacy.dpo_contact)),
];

impl RawConfig {
    /// Reads `path` (if given; a missing default file is fine, a missing named file is not).
    pub fn from_file(path: Option<&Path>) -> Result<(RawConfig, Option<String>), ConfigError> {
        let Some(path) = path else {
            return Ok((RawConfig::default(), None));
        };
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigError::Read { path: path.display().to_string(), reason: err.to_string() })?;
        RawConfig::from_toml(&text, &path.display().to_string()).map(|raw| (raw, Some(path.display().to_string())))
    }

    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: origin.to_owned(),
            reason: err.message().to_owned()
                + &err.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default(),
        })
    }

    /// Applies `MYPAY_*` variables from `vars` (the process environment in production, a list in
    /// tests). Returns the names applied.
    pub fn apply_env<I>(&mut self, vars: I) -> Result<Vec<String>, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut applied = Vec::new();
        for (name, value) in vars {
            let Some(key) = KEYS.iter().find(|key| key.env_name() == name) else {
                continue;
            };
            key.set(self, &value).map_err(|reason| ConfigError::Env { name: name.clone(), reason })?;
            applied.push(name);
        }
        Ok(applied)
    }

    /// Applies command-line flags, the last layer.
    pub fn apply_overrides(&mut self, overrides: &Overrides) {
        if let Some(dir) = &overrides.data_dir {
            self.data_dir = dir.clone();
        }
        if let Some(listen) = &overrides.listen {
            self.server.listen = listen.clone();
        }
        if let Some(url) = &overrides.upstream {
            self.upstream.url = url.clone();
        }
    }
}

impl Config {
    /// Loads the layers (file < environment < flags) and validates the result for `mode`.
    pub fn load(path: Option<&Path>, overrides: &Overrides, mode: Mode) -> Result<Config, ConfigError> {
        let (mut raw, file) = RawConfig::from_file(path)?;
        let mut sources = vec!["defaults".to_owned()];
        sources.extend(file);
        let env = raw.apply_env(std::env::vars())?;
        sources.extend(env.into_iter().map(|name| format!("env {name}")));
        raw.apply_overrides(overrides);
        Config::validate(raw, mode, sources)
    }

    /// Checks every key and reports all problems at once, by key name.
    pub fn validate(mut raw: RawConfig, mode: Mode, sources: Vec<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut problem = |key: &'static str, reason: String| problems.push(Problem { key, reason });

        if raw.version != CONFIG_VERSION {
            problem("version", format!("must be {CONFIG_VERSION}, found {}", raw.version));
        }
        if raw.data_dir.as_os_str().is_empty() {
            problem("data_dir", "must not be empty".to_owned());
        }
        let listen = match raw.server.listen.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                problem("server.listen", format!("{:?} is not an address like 127.0.0.1:8080", raw.server.listen));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };
        if raw.server.workers == 0 || raw.server.workers > 256 {
            problem("server.workers", format!("must be between 1 and 256, found {}", raw.server.workers));
        }
        if raw.server.max_body_bytes < 1024 {
            problem("server.max_body_bytes", "must be at least 1024".to_owned());
        }
        let mut server_proxies = Vec::new();
        for text in &raw.server.trusted_proxies {
            match IpRange::parse(text) {
                Ok(range) => server_proxies.push(range),
                Err(reason) => problem("server.trusted_proxies", reason),
            }
        }
        let mut metrics_allow = Vec::new();
        for text in &raw.metrics.allow {
            match IpRange::parse(text) {
                Ok(range) => metrics_allow.push(range),
                Err(reason) => problem("metrics.allow", reason),
            }
        }
        // A guessable token would open the page to anyone.
        let metrics_token = raw.metrics.token.expose();
        if !metrics_token.is_empty()
            && (metrics_token.chars().count() < 16 || !metrics_token.chars().all(|c| c.is_ascii_graphic()))
        {
            problem("metrics.token", "must be at least 16 visible ASCII characters".to_owned());
        }
        if raw.import.max_upload_bytes < 1024 {
            problem("import.max_upload_bytes", "must be at least 1024".to_owned());
        }
        if raw.import.max_uncompressed_bytes < raw.import.max_upload_bytes {
            problem("import.max_uncompressed_bytes", "must be at least import.max_upload_bytes".to_owned());
        }
        let notices = raw.import.notices.parse::<NoticesMode>().unwrap_or_else(|reason| {
            problem("import.notices", reason);
            NoticesMode::default()
        });
        let r = &raw.retention;
        for (key, days) in [
            ("retention.open_debt_days", r.open_debt_days),
            ("retention.annulled_debt_days", r.annulled_debt_days),
            ("retention.expired_debt_days", r.expired_debt_days),
            ("retention.mail_days", r.mail_days),
            ("retention.session_days", r.session_days),
            ("retention.cart_days", r.cart_days),
            ("retention.journal_payload_days", r.journal_payload_days),
            ("retention.file_days", r.file_days),
            ("retention.unpaid_spontaneous_days", r.unpaid_spontaneous_days),
        ] {
            if !(1..=MAX_RETENTION_DAYS).contains(&days) {
                problem(key, format!("must be between 1 and {MAX_RETENTION_DAYS} days, found {days}"));
            }
        }
        if !(10..=100).contains(&r.accounting_years) {
            problem(
                "retention.accounting_years",
                format!("must be between 10 (the legal period) and 100, found {}", r.accounting_years),
            );
        }
        if raw.privacy.dpo_contact.chars().count() > 500 {
            problem("privacy.dpo_contact", "must be at most 500 characters".to_owned());
        }
        if let Err(reason) = check_level(&raw.log.level) {
            problem("log.level", reason);
        }

        let tls = check_tls(&raw.tls, mode, &mut problem);

        if mode == Mode::Demo {
            // The demo wires its own simulator and station identity; only fill what is empty so that
            // an explicit setting still wins. TLS stays off unless `[tls]` is configured.
            // On all interfaces (0.0.0.0) no address is known here: `mypay demo` picks the
            // machine's own once bound (`cli::demo::addresses`).
            if raw.server.public_url.is_empty() && !listen.ip().is_unspecified() {
                let scheme = if raw.tls.cert.as_os_str().is_empty() { "http" } else { "https" };
                raw.server.public_url = format!("{scheme}://{listen}");
            }
            // Its simulator calls the station from the address it is reached at: on one network
            // address (not loopback, not all interfaces), that one too.
            if raw.station.node_auth.is_empty() && !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
                raw.station.node_auth = "addresses".to_owned();
                raw.station.node_addresses = vec!["127.0.0.0/8".to_owned(), "::1".to_owned(), listen.ip().to_string()];
            }
            if raw.station.broker_id.is_empty() {
                raw.station.broker_id = DEMO_BROKER_ID.to_owned();
            }
            if raw.station.station_id.is_empty() {
                raw.station.station_id = format!("{DEMO_BROKER_ID}_01");
            }
        }

        let upstream = check_upstream(&raw.upstream, &mut problem);
        let required = mode == Mode::Production;
        // In upstream mode the local station is off: the regional node is pagoPA's station for
        // these orgs, so its identity, the Node's address and how the Node is authenticated are
        // not needed (what is set is still checked).
        let station_required = required && upstream.is_none();
        let public_url = check_url(
            "server.public_url",
            &raw.server.public_url,
            required.then_some("is required (the address citizens and the Node use)"),
            &mut problem,
        );
        match raw.station.broker_id.as_str() {
            "" if !station_required => {}
            "" => problem("station.broker_id", "is required (idBrokerPA, the intermediary's fiscal code)".to_owned()),
            id if !(id.len() == 11 && id.bytes().all(|b| b.is_ascii_digit())) => {
                problem("station.broker_id", format!("{id:?} must be 11 digits"))
            }
            _ => {}
        }
        match raw.station.station_id.as_str() {
            "" if !station_required => {}
            "" => problem("station.station_id", "is required (idStation, e.g. <broker_id>_01)".to_owned()),
            id if id.len() > 35 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => {
                problem("station.station_id", format!("{id:?} must be 1 to 35 letters, digits, '_' or '-'"))
            }
            _ => {}
        }
        let base_url = check_url(
            "node.base_url",
            &raw.node.base_url,
            station_required.then_some("is required (the pagoPA Node address; or set upstream.url)"),
            &mut problem,
        );

        let node_auth = check_node_auth(&raw.station, &tls, station_required, &mut problem);

        if !raw.mail.host.is_empty() && !raw.mail.from.contains('@') {
            problem("mail.from", "is required with mail.host (the sender address)".to_owned());
        }
        if raw.mail.port == 0 {
            problem("mail.port", "must be a port number".to_owned());
        }
        let citizen_auth_mode = match raw.citizen_auth.mode.as_str() {
            "none" => CitizenAuthMode::None,
            "headers" => CitizenAuthMode::Headers,
            "oidc" => CitizenAuthMode::Oidc(check_oidc(&raw.citizen_auth, &mut problem)),
            other => {
                problem("citizen_auth.mode", format!("{other:?} must be none, headers or oidc"));
                CitizenAuthMode::None
            }
        };
        let mut trusted_proxies = Vec::new();
        for ip in &raw.citizen_auth.trusted_proxies {
            match ip.parse::<IpAddr>() {
                Ok(ip) => trusted_proxies.push(ip),
                Err(_) => problem("citizen_auth.trusted_proxies", format!("{ip:?} is not an IP address")),
            }
        }
        for (key, name) in [
            ("citizen_auth.header_fiscal_code", &raw.citizen_auth.header_fiscal_code),
            ("citizen_auth.header_name", &raw.citizen_auth.header_name),
            ("citizen_auth.header_email", &raw.citizen_auth.header_email),
        ] {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                problem(key, format!("{name:?} is not a header name"));
            }
        }
        raw.citizen_auth.header_fiscal_code.make_ascii_lowercase();
        raw.citizen_auth.header_name.make_ascii_lowercase();
        raw.citizen_auth.header_email.make_ascii_lowercase();

        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        let mail = &raw.mail;
        Ok(Config {
            data_dir: raw.data_dir.clone(),
            database_path: raw.data_dir.join("mypay.db"),
            server: ServerSettings {
                listen,
                public_url,
                workers: raw.server.workers,
                max_body_bytes: raw.server.max_body_bytes,
                trusted_proxies: server_proxies,
            },
            station: StationSettings {
                broker_id: raw.station.broker_id.clone(),
                station_id: raw.station.station_id.clone(),
                password: raw.station.password.clone(),
            },
            node_auth,
            node: NodeSettings {
                base_url,
                subscription_key: raw.node.subscription_key.clone(),
                reporting_interval_minutes: raw.node.reporting_interval_minutes,
            },
            log_level: raw.log.level.clone(),
            tls,
            mail: (!mail.host.is_empty()).then(|| MailSettings {
                host: mail.host.clone(),
                port: mail.port,
                username: mail.username.clone(),
                password: mail.password.clone(),
                from: mail.from.clone(),
                starttls: mail.starttls,
            }),
            citizen_auth: CitizenAuth {
                mode: citizen_auth_mode,
                header_fiscal_code: raw.citizen_auth.header_fiscal_code.clone(),
                header_name: raw.citizen_auth.header_name.clone(),
                header_email: raw.citizen_auth.header_email.clone(),
                trusted_proxies,
            },
            import: ImportSettings {
                max_upload_bytes: raw.import.max_upload_bytes,
                max_uncompressed_bytes: raw.import.max_uncompressed_bytes,
                notices,
            },
            sil: SilSettings {
                intermediary_org: raw.sil.intermediary_org.clone(),
                intermediary_password: raw.sil.intermediary_password.clone(),
            },
            metrics: MetricsSettings {
                allow: metrics_allow,
                token: (!raw.metrics.token.is_empty()).then(|| raw.metrics.token.clone()),
            },
            upstream,
            retention: RetentionSettings {
                open_debt_days: raw.retention.open_debt_days,
                annulled_debt_days: raw.retention.annulled_debt_days,
                expired_debt_days: raw.retention.expired_debt_days,
                accounting_years: raw.retention.accounting_years,
                mail_days: raw.retention.mail_days,
                session_days: raw.retention.session_days,
                cart_days: raw.retention.cart_days,
                journal_payload_days: raw.retention.journal_payload_days,
                file_days: raw.retention.file_days,
                unpaid_spontaneous_days: raw.retention.unpaid_spontaneous_days,
            },
            privacy_dpo_contact: raw.privacy.dpo_contact.trim().to_owned(),
            sources,
            given: raw,
            mode,
        })
    }

    /// This configuration with `tls.cert` and `tls.key` naming these files (the certificate `serve`
    /// makes for `tls.mode = "auto"`), validated again so that they are read and checked like
    /// configured ones.
    pub fn with_tls_files(self, cert: PathBuf, key: PathBuf) -> Result<Config, ConfigError> {
        let Config { mut given, sources, mode, .. } = self;
        given.tls.cert = cert;
        given.tls.key = key;
        Config::validate(given, mode, sources)
    }

    /// `server.public_url` as the demo decides it once it knows where it listens (all interfaces:
    /// the machine's address; port 0: the port bound), kept in what `config show` prints too.
    pub fn set_public_url(&mut self, url: HttpUrl) {
        self.given.server.public_url = url.as_str().to_owned();
        self.server.public_url = Some(url);
    }

    /// `node.base_url` as the demo wires it to its own simulator, kept in what `config show`
    /// prints too.
    pub fn set_node_base_url(&mut self, url: HttpUrl) {
        self.given.node.base_url = url.as_str().to_owned();
        self.node.base_url = Some(url);
    }

    /// How the station authenticates the Node, in one line (the start banner).
    pub fn node_auth_summary(&self) -> String {
        self.node_auth.describe(self.tls.client_ca.as_deref().unwrap_or(Path::new("")))
    }

    /// Who answers pagoPA, in one line (`config check`, the start banner): how the station
    /// authenticates the Node, or in upstream mode that the station is off and where the regional
    /// node is.
    pub fn station_summary(&self) -> String {
        match &self.upstream {
            Some(upstream) => format!(
                "upstream mode: the regional node at {} is the pagoPA station; the local station (/ws/fesp/) is off",
                upstream.url
            ),
            None => format!("pagoPA Node authentication on /ws/fesp/: {}", self.node_auth_summary()),
        }
    }

    /// `mypay config show`: the settings as given, secrets masked, as `mypay.toml` text.
    pub fn show_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(&self.given)
    }

    /// `mypay config show --json`: the settings as given, secrets masked, with the database path
    /// and the sources.
    pub fn show_json(&self) -> Result<String, serde_json::Error> {
        #[derive(Serialize)]
        struct Shown<'a> {
            #[serde(flatten)]
            given: &'a RawConfig,
            database_path: &'a Path,
            sources: &'a [String],
        }
        let shown = Shown { given: &self.given, database_path: &self.database_path, sources: &self.sources };
        serde_json::to_string_pretty(&shown)
    }
}

/// Checks an http(s) address: `required` is the reason given when it is empty and must not be.
fn check_url(
    key: &'static str,
    text: &str,
    required: Option<&str>,
    problem: &mut impl FnMut(&'static str, String),
) -> Option<HttpUrl> {
    if text.is_empty() {
        if let Some(reason) = required {
            problem(key, reason.to_owned());
        }
        return None;
    }
    HttpUrl::parse(text).map_err(|reason| problem(key, reason)).ok()
}

/// A list given in one environment variable: comma-separated, blanks dropped.
fn comma_list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// How the pagoPA Node proves who it is on the station path (`/ws/fesp/`). Anyone who reaches an
/// unauthenticated station could mark debts paid with forged receipts, so `serve` needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAuth {
    /// Mutual TLS on this listener: a client certificate chaining to `tls.client_ca`.
    MutualTls,
    /// A reverse proxy at these addresses authenticates the Node (mutual TLS there) and is the only
    /// caller of the station.
    Proxy(Vec<IpRange>),
    /// Only these addresses (the Node's egress addresses) may call the station.
    Addresses(Vec<IpRange>),
}

impl NodeAuth {
    /// The addresses allowed on the station path, for the address-based kinds.
    pub fn addresses(&self) -> Option<&[IpRange]> {
        match self {
            NodeAuth::MutualTls => None,
            NodeAuth::Proxy(list) | NodeAuth::Addresses(list) => Some(list),
        }
    }

    /// Whether a caller may use the station: its connection presented a verified client
    /// certificate, or came from an allowed address.
    pub fn admits(&self, client_verified: bool, peer: Option<std::net::IpAddr>) -> bool {
        match self.addresses() {
            None => client_verified,
            Some(list) => peer.is_some_and(|ip| crate::net::any_contains(list, ip)),
        }
    }

    /// One line for `config check` and the start banner.
    pub fn describe(&self, client_ca: &Path) -> String {
        let list = |l: &[IpRange]| l.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        match self {
            NodeAuth::MutualTls => {
                format!("mutual TLS, client certificates chaining to {}", client_ca.display())
            }
            NodeAuth::Proxy(l) => format!("a reverse proxy that authenticates the Node, calling from {}", list(l)),
            NodeAuth::Addresses(l) => format!("calls from these addresses only: {}", list(l)),
        }
    }
}

/// Checks `upstream.url`: an http(s) endpoint without query, fragment or credentials, and https
/// unless its host is loopback. The orgs' SIL passwords travel in the body of every call to it, so
/// plain http may only stay on this machine (a TLS tunnel such as stunnel, or a regional demo on the
/// same laptop).
fn check_upstream(
    section: &UpstreamSection,
    problem: &mut impl FnMut(&'static str, String),
) -> Option<UpstreamSettings> {
    const KEY: &str = "upstream.url";
    let text = section.url.trim();
    if text.is_empty() {
        return None;
    }
    let url = HttpUrl::parse(text).map_err(|reason| problem(KEY, reason)).ok()?;
    if text.contains(['?', '#']) {
        problem(KEY, format!("{text:?} must be the endpoint's address without query or fragment"));
        return None;
    }
    let Some(uri) = text.parse::<ureq::http::Uri>().ok().filter(|uri| uri.host().is_some_and(|h| !h.is_empty())) else {
        problem(KEY, format!("{text:?} is not an address like https://regione.example.it/ws/pa/"));
        return None;
    };
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        problem(
            KEY,
            "must not carry a user or password: each org's password at the regional node is set with \
             `mypay org set IPA --upstream-password-stdin`"
                .to_owned(),
        );
        return None;
    }
    let host = uri.host().unwrap_or_default();
    if !url.is_https() && !is_loopback_host(host) {
        problem(
            KEY,
            format!(
                "{text:?} is plain http to {host}: the orgs' SIL passwords travel in every call, so use https \
                 (http only to a loopback address, such as a TLS tunnel or a regional demo on this machine)"
            ),
        );
        return None;
    }
    let poll_every = (section.poll_seconds > 0).then(|| std::time::Duration::from_secs(section.poll_seconds));
    Some(UpstreamSettings { url, poll_every })
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `::1`, bracketed or not).
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Checks `station.node_auth` and `station.node_addresses`. Unset when not `required` (outside
/// production, or in upstream mode), the station takes client certificates when `tls.client_ca`
/// is set and loopback callers otherwise (the demo's simulator).
fn check_node_auth(
    station: &StationSection,
    tls: &TlsSettings,
    required: bool,
    problem: &mut impl FnMut(&'static str, String),
) -> NodeAuth {
    let mut ranges = Vec::new();
    for text in &station.node_addresses {
        match IpRange::parse(text) {
            Ok(range) => ranges.push(range),
            Err(reason) => problem("station.node_addresses", reason),
        }
    }
    let has_ca = tls.client_ca.is_some();
    let loopback = || ["127.0.0.0/8", "::1"].iter().filter_map(|r| IpRange::parse(r).ok()).collect::<Vec<_>>();
    match station.node_auth.as_str() {
        "" if !required => {
            if has_ca {
                NodeAuth::MutualTls
            } else {
                NodeAuth::Addresses(loopback())
            }
        }
        "" => {
            problem(
                "station.node_auth",
                "is required: how the pagoPA Node is authenticated on /ws/fesp/ (mtls, proxy or addresses); \
                 without it anyone who reaches the station could send receipts"
                    .to_owned(),
            );
            NodeAuth::Addresses(Vec::new())
        }
        "mtls" => {
            if !has_ca {
                problem("station.node_auth", "is \"mtls\" but tls.client_ca (the Node's CA) is not set".to_owned());
            }
            if tls.mode == TlsMode::Off {
                problem(
                    "station.node_auth",
                    "is \"mtls\" but tls.mode is \"off\": use proxy behind a TLS proxy".to_owned(),
                );
            }
            NodeAuth::MutualTls
        }
        kind @ ("proxy" | "addresses") => {
            if station.node_addresses.is_empty() {
                problem("station.node_addresses", format!("is required with station.node_auth = {kind:?}"));
            }
            if kind == "proxy" { NodeAuth::Proxy(ranges) } else { NodeAuth::Addresses(ranges) }
        }
        other => {
            problem("station.node_auth", format!("{other:?} must be mtls, proxy or addresses"));
            NodeAuth::Addresses(Vec::new())
        }
    }
}

/// Checks the `oidc_*` keys of `[citizen_auth]` (only when `mode = "oidc"`).
fn check_oidc(auth: &CitizenAuthSection, problem: &mut impl FnMut(&'static str, String)) -> OidcSettings {
    let issuer = auth.oidc_issuer.as_str();
    if issuer.is_empty() {
        problem("citizen_auth.oidc_issuer", "is required with mode = \"oidc\" (the provider's issuer URL)".to_owned());
    } else if !(issuer.starts_with("https://") || issuer.starts_with("http://")) || issuer.contains(['?', '#']) {
        problem("citizen_auth.oidc_issuer", format!("{issuer:?} must be an http(s) URL without query or fragment"));
    }
    if auth.oidc_client_id.is_empty() {
        problem("citizen_auth.oidc_client_id", "is required with mode = \"oidc\"".to_owned());
    }
    if auth.oidc_client_secret.is_empty() {
        problem("citizen_auth.oidc_client_secret", "is required with mode = \"oidc\"".to_owned());
    }
    let token_auth = auth.oidc_token_auth.parse().unwrap_or_else(|reason| {
        problem("citizen_auth.oidc_token_auth", reason);
        OidcTokenAuth::ClientSecretBasic
    });
    let path = auth.oidc_redirect_path.as_str();
    let path_ok = path.starts_with('/')
        && path.len() > 1
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
    if !path_ok {
        problem("citizen_auth.oidc_redirect_path", format!("{path:?} must be a path like /accedi/oidc/ritorno"));
    }
    let claim = auth.oidc_fiscal_code_claim.as_str();
    if claim.is_empty() || !claim.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.')) {
        problem("citizen_auth.oidc_fiscal_code_claim", format!("{claim:?} is not a claim name"));
    }
    if !auth.oidc_scopes.split_ascii_whitespace().any(|s| s == "openid") {
        problem("citizen_auth.oidc_scopes", format!("{:?} must include openid", auth.oidc_scopes));
    }
    OidcSettings {
        issuer: auth.oidc_issuer.clone(),
        client_id: auth.oidc_client_id.clone(),
        client_secret: auth.oidc_client_secret.clone(),
        token_auth,
        redirect_path: auth.oidc_redirect_path.clone(),
        fiscal_code_claim: auth.oidc_fiscal_code_claim.clone(),
        scopes: auth.oidc_scopes.clone(),
    }
}

/// The broker id the demo uses when none is configured: a syntactically valid 11-digit code that
/// no real intermediary has.
pub const DEMO_BROKER_ID: &str = "99999000013";

/// Checks `[tls]`: cert and key go together, client_ca needs them, and (outside [`Mode::Admin`])
/// every file exists and holds what its key promises; the files are parsed when TLS is on.
fn check_tls(tls: &TlsSection, mode: Mode, problem: &mut impl FnMut(&'static str, String)) -> TlsSettings {
    let set = |path: &PathBuf| !path.as_os_str().is_empty();
    match (set(&tls.cert), set(&tls.key)) {
        (true, false) => problem("tls.key", "is required when tls.cert is set".to_owned()),
        (false, true) => problem("tls.cert", "is required when tls.key is set".to_owned()),
        _ => {}
    }
    let tls_mode = match tls.mode.parse::<TlsMode>() {
        Ok(TlsMode::Off) if set(&tls.cert) || set(&tls.key) || set(&tls.client_ca) => {
            problem(
                "tls.mode",
                "is \"off\" (plain HTTP) but tls.cert, tls.key or tls.client_ca is set: remove them or use \"auto\""
                    .to_owned(),
            );
            Some(TlsMode::Off)
        }
        Ok(tls_mode) => Some(tls_mode),
        Err(reason) => {
            problem("tls.mode", reason);
            None
        }
    };
    let auto = tls_mode == Some(TlsMode::Auto);
    // In production `auto` makes the server's certificate when none is configured; elsewhere
    // (the demo) there is no TLS without one, so nothing could check client certificates.
    let generated = mode != Mode::Demo && auto;
    if set(&tls.client_ca) && !set(&tls.cert) && !generated {
        problem("tls.client_ca", "needs tls.cert and tls.key (client certificates are checked over TLS)".to_owned());
    }
    let material =
        if mode == Mode::Admin || !set(&tls.cert) || !set(&tls.key) { None } else { read_tls_files(tls, problem) };
    TlsSettings {
        // An unknown mode is a problem already, so the fallback is never used.
        mode: tls_mode.unwrap_or(TlsMode::Auto),
        client_ca: set(&tls.client_ca).then(|| tls.client_ca.clone()),
        material,
        generate_certificate: mode == Mode::Production && auto && !set(&tls.cert),
    }
}

/// Reads and parses `tls.cert`, `tls.key` and (if set) `tls.client_ca`.
fn read_tls_files(tls: &TlsSection, problem: &mut impl FnMut(&'static str, String)) -> Option<TlsMaterial> {
    let cert_chain = read_pem("tls.cert", &tls.cert, problem)
        .and_then(|bytes| certificates(&bytes, &tls.cert).map_err(|reason| problem("tls.cert", reason)).ok());
    let key = read_pem("tls.key", &tls.key, problem).and_then(|bytes| match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => Some(key),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => {
            problem("tls.key", format!("no private key found in {}", tls.key.display()));
            None
        }
        Err(err) => {
            problem("tls.key", format!("{} is not valid PEM: {err}", tls.key.display()));
            None
        }
    });
    let client_ca = if tls.client_ca.as_os_str().is_empty() {
        Some(Vec::new())
    } else {
        read_pem("tls.client_ca", &tls.client_ca, problem).and_then(|bytes| {
            certificates(&bytes, &tls.client_ca).map_err(|reason| problem("tls.client_ca", reason)).ok()
        })
    };
    Some(TlsMaterial { cert_chain: cert_chain?, key: Arc::new(key?), client_ca: client_ca? })
}

fn read_pem(key: &'static str, path: &Path, problem: &mut impl FnMut(&'static str, String)) -> Option<Vec<u8>> {
    std::fs::read(path).map_err(|err| problem(key, format!("cannot read {}: {err}", path.display()))).ok()
}

/// Every `CERTIFICATE` section of a PEM file; other sections (a key in the same file) are skipped.
fn certificates(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("{} is not valid PEM: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate found in {} (expected -----BEGIN CERTIFICATE-----)", path.display()));
    }
    Ok(certs)
}

fn check_level(level: &str) -> Result<(), String> {
    tracing_subscriber::EnvFilter::try_new(level)
        .map(|_| ())
        .map_err(|err| format!("{level:?} is not a valid log filter: {err}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn production(text: &str) -> Result<Config, ConfigError> {
        let raw = RawConfig::from_toml(text, "test.toml")?;
        Config::validate(raw, Mode::Production, vec![])
    }

    #[test]
    fn unknown_key_is_named() {
        let err = production("[server]\nlisten = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown field `listen_port`"), "{text}");
    }

    #[test]
    fn incomplete_production_names_every_missing_key() {
        let Err(ConfigError::Invalid(problems)) = production("") else { panic!("must fail") };
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            ["server.public_url", "station.broker_id", "station.station_id", "node.base_url", "station.node_auth"]
        );
    }

    #[test]
    fn complete_production_is_accepted() {
        let config = production(
            "data_dir = \"/var/lib/mypay\"\n[server]\npublic_url = \"https://pagamenti.example.it\"\n\
             [station]\nbroker_id = \"12345678901\"\nstation_id = \"12345678901_01\"\n\
             node_auth = \"addresses\"\nnode_addresses = [\"192.0.2.0/24\"]\n\
             [node]\nbase_url = \"https://api.example.it\"\n",
        )
        .unwrap();
        assert_eq!(config.database_path, PathBuf::from("/var/lib/mypay/mypay.db"));
    }

    /// Upstream mode: the regional node is the station, so production needs no broker, station,
    /// Node address or Node authentication, only the public address and the upstream URL; what is
    /// set anyway is still checked.
    #[test]
    fn upstream_mode_needs_no_station_settings() {
        let base = "[server]\npublic_url = \"https://pagamenti.example.it\"\n";
        let upstream = format!("{base}[upstream]\nurl = \"https://mypay.regione.example.it/ws/pa/\"\n");
        let config = production(&upstream).unwrap();
        let url = config.upstream.as_ref().map(|u| u.url.as_str());
        assert_eq!(url, Some("https://mypay.regione.example.it/ws/pa/"));
        assert_eq!(
            config.station_summary(),
            "upstream mode: the regional node at https://mypay.regione.example.it/ws/pa/ is the pagoPA station; \
             the local station (/ws/fesp/) is off"
        );
        let Err(ConfigError::Invalid(problems)) = production(&format!("{upstream}[station]\nbroker_id = \"123\"\n"))
        else {
            panic!("a wrong broker id is still named")
        };
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["station.broker_id: \"123\" must be 11 digits"]
        );
        // Without upstream.url nothing changed: every station key is required.
        let Err(ConfigError::Invalid(problems)) = production(base) else { panic!("must fail") };
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["station.broker_id", "station.station_id", "node.base_url", "station.node_auth"]);
        assert!(production("").unwrap_err().to_string().contains("server.public_url: is required"));
        assert!(Config::validate(RawConfig::default(), Mode::Demo, vec![]).unwrap().upstream.is_none());
    }

    #[test]
    fn the_upstream_url_is_https_or_loopback_http_and_comes_from_its_variable() {
        let check = |url: &str| match admin(&format!("[upstream]\nurl = \"{url}\"\n")) {
            Ok(config) => Ok(config.upstream.unwrap().url.as_str().to_owned()),
            Err(problems) => Err(problems.join("; ")),
        };
        for good in [
            "https://mypay.regione.example.it/ws/pa/",
            "http://127.0.0.1:8081/ws/pa/",
            "http://localhost:8081/ws/pa/",
            "http://[::1]:8081/ws/pa/",
        ] {
            assert_eq!(check(good).as_deref(), Ok(good));
        }
        assert_eq!(
            check("http://mypay.regione.example.it/ws/pa/").unwrap_err(),
            "upstream.url: \"http://mypay.regione.example.it/ws/pa/\" is plain http to mypay.regione.example.it: the \
             orgs' SIL passwords travel in every call, so use https (http only to a loopback address, such as a TLS \
             tunnel or a regional demo on this machine)"
        );
        assert_eq!(check("ftp://x/").unwrap_err(), "upstream.url: \"ftp://x/\" must start with http:// or https://");
        assert!(
            check("https://user:pw@x.example.it/ws/pa/")
                .unwrap_err()
                .starts_with("upstream.url: must not carry a user")
        );
        assert!(check("https://x.example.it/ws/pa/?wsdl").unwrap_err().contains("without query or fragment"));
        assert!(check("https:// x/").unwrap_err().contains("is not an address like"));
        assert!(admin("").unwrap().upstream.is_none(), "off by default");

        let mut raw = RawConfig::default();
        let applied =
            raw.apply_env([("MYPAY_UPSTREAM_URL".to_owned(), "https://r.example.it/ws/pa/".to_owned())]).unwrap();
        assert_eq!(applied, ["MYPAY_UPSTREAM_URL"]);
        let config = Config::validate(raw, Mode::Admin, vec![]).unwrap();
        assert_eq!(config.upstream.map(|u| u.url.as_str().to_owned()).as_deref(), Some("https://r.example.it/ws/pa/"));
    }

    #[test]
    fn production_generates_a_certificate_unless_tls_is_off_or_configured() {
        let base = "[server]\npublic_url = \"https://pagamenti.example.it\"\n[station]\nbroker_id = \"12345678901\"\n\
                    station_id = \"12345678901_01\"\nnode_auth = \"proxy\"\nnode_addresses = [\"10.0.0.5\"]\n\
                    [node]\nbase_url = \"https://api.example.it\"\n";
        assert!(production(base).unwrap().tls.generate_certificate);
        assert!(!production(&format!("{base}[tls]\nmode = \"off\"\n")).unwrap().tls.generate_certificate);
        let demo = Config::validate(RawConfig::default(), Mode::Demo, vec![]).unwrap();
        assert!(!demo.tls.generate_certificate && demo.tls.material.is_none());
    }

    /// The station must know how the Node is authenticated: production refuses to start without
    /// it, each kind needs its companion setting, and the demo admits loopback callers only.
    #[test]
    fn the_station_needs_a_way_to_authenticate_the_node() {
        let base = "[server]\npublic_url = \"https://pagamenti.example.it\"\n[node]\nbase_url = \"https://api.example.it\"\n\
                    [station]\nbroker_id = \"12345678901\"\nstation_id = \"12345678901_01\"\n";
        let problems = |extra: &str| match production(&format!("{base}{extra}")) {
            Err(ConfigError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            Ok(_) => Vec::new(),
            Err(other) => vec![other.to_string()],
        };
        let missing = problems("");
        assert!(missing[0].starts_with("station.node_auth: is required"), "{missing:?}");
        assert!(problems("node_auth = \"mtls\"\n")[0].contains("tls.client_ca (the Node's CA) is not set"));
        assert!(problems("node_auth = \"addresses\"\n")[0].starts_with("station.node_addresses: is required"));
        assert!(problems("node_auth = \"proxy\"\nnode_addresses = [\"10.0.0.5/8\"]\n")[0].contains("bits set past /8"));
        assert!(problems("node_auth = \"anyone\"\n")[0].contains("must be mtls, proxy or addresses"));

        let config =
            production(&format!("{base}node_auth = \"proxy\"\nnode_addresses = [\"10.0.0.5\", \"2001:db8::/64\"]\n"))
                .unwrap();
        let ip = |t: &str| Some(t.parse::<std::net::IpAddr>().unwrap());
        assert!(config.node_auth.admits(false, ip("10.0.0.5")) && config.node_auth.admits(false, ip("2001:db8::7")));
        assert!(!config.node_auth.admits(true, ip("10.0.0.6")), "an address-based station ignores certificates");
        assert!(!config.node_auth.admits(false, None));
        assert_eq!(
            config.node_auth.describe(Path::new("")),
            "a reverse proxy that authenticates the Node, calling from 10.0.0.5, 2001:db8::/64"
        );

        let demo = Config::validate(RawConfig::default(), Mode::Demo, vec![]).unwrap();
        assert!(demo.node_auth.admits(false, ip("127.0.0.1")) && demo.node_auth.admits(false, ip("::1")));
        assert!(!demo.node_auth.admits(false, ip("192.168.1.20")), "the demo's station is for its own simulator");
        let described = NodeAuth::MutualTls.describe(Path::new("/etc/ca.pem"));
        assert_eq!(described, "mutual TLS, client certificates chaining to /etc/ca.pem");
    }

    #[test]
    fn the_default_file_is_read_only_when_present_and_never_by_the_demo() {
        let given = Path::new("/srv/mypay.toml");
        assert_eq!(config_path(Some(given), true), Some(given.to_owned()));
        assert_eq!(config_path(None, true), None);
        let expected = Path::new(DEFAULT_CONFIG_PATH).is_file().then(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        assert_eq!(config_path(None, false), expected);
    }

    #[test]
    fn demo_fills_the_station_identity() {
        let config = Config::validate(RawConfig::default(), Mode::Demo, vec![]).unwrap();
        assert_eq!(config.station.station_id, "99999000013_01");
        assert_eq!(config.server.public_url.unwrap().as_str(), "http://127.0.0.1:8080");
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let mut raw = RawConfig::from_toml("[server]\nlisten = \"127.0.0.1:1\"\n", "t").unwrap();
        raw.apply_env([("MYPAY_SERVER_LISTEN".to_owned(), "127.0.0.1:2".to_owned())]).unwrap();
        assert_eq!(raw.server.listen, "127.0.0.1:2");
        raw.apply_overrides(&Overrides { listen: Some("127.0.0.1:3".to_owned()), ..Overrides::default() });
        assert_eq!(raw.server.listen, "127.0.0.1:3");
        raw.apply_overrides(&Overrides {
            upstream: Some("http://127.0.0.1:8080/ws/pa/".to_owned()),
            ..Overrides::default()
        });
        assert_eq!(
            (raw.server.listen.as_str(), raw.upstream.url.as_str()),
            ("127.0.0.1:3", "http://127.0.0.1:8080/ws/pa/")
        );
        let err = raw.apply_env([("MYPAY_SERVER_WORKERS".to_owned(), "many".to_owned())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid environment variable MYPAY_SERVER_WORKERS: \"many\" is not a whole number"
        );
    }

    /// Each key's setter writes the field its dotted name points at: set through its variable, the
    /// value shows up at that path of the serialized configuration and nowhere else.
    #[test]
    fn every_key_sets_the_field_it_names() {
        let shown = |raw: &RawConfig| toml::Value::try_from(raw).unwrap();
        let at = |value: &toml::Value, name: &str| {
            name.split('.').try_fold(value.clone(), |v, part| v.get(part).cloned()).unwrap_or_else(|| panic!("{name}"))
        };
        let before = shown(&RawConfig::default());
        for key in KEYS {
            let value = match key.field {
                Field::U64(_) | Field::Usize(_) | Field::U16(_) => "4242",
                Field::Bool(_) => "false",
                Field::Text(_) | Field::Path(_) | Field::Secret(_) | Field::List(_) => "x1,y2",
            };
            let mut raw = RawConfig::default();
            raw.apply_env([(key.env_name(), value.to_owned())]).unwrap();
            let after = shown(&raw);
            assert_ne!(at(&after, key.name), at(&before, key.name), "{} did not change", key.name);
            let mut restored = after.clone();
            let mut slot = &mut restored;
            let (path, leaf) = key.name.rsplit_once('.').map_or(("", key.name), |(p, l)| (p, l));
            for part in path.split('.').filter(|p| !p.is_empty()) {
                slot = slot.get_mut(part).unwrap();
            }
            slot.as_table_mut().unwrap().insert(leaf.to_owned(), at(&before, key.name));
            assert_eq!(restored, before, "{} changed another key too", key.name);
        }
    }

    #[test]
    fn variable_names_follow_the_keys() {
        let names: Vec<_> = KEYS.iter().map(Key::env_name).collect();
        assert!(names.contains(&"MYPAY_DATA_DIR".to_owned()));
        assert!(names.contains(&"MYPAY_STATION_NODE_ADDRESSES".to_owned()));
        assert!(names.contains(&"MYPAY_CITIZEN_AUTH_OIDC_FISCAL_CODE_CLAIM".to_owned()));
        let unique: std::collections::BTreeSet<_> = KEYS.iter().map(|k| k.name).collect();
        assert_eq!(unique.len(), KEYS.len(), "a key is declared twice");
    }

    #[test]
    fn secrets_are_masked() {
        let mut raw = RawConfig::default();
        raw.station.password = Secret::new("hunter22");
        let json = serde_json::to_string(&raw).unwrap();
        assert!(json.contains("\"password\":\"***\""), "{json}");
        assert!(!json.contains("hunter22"));
    }

    fn tls_problems(tls: &str, mode: Mode) -> Vec<String> {
        let raw = RawConfig::from_toml(&format!("[tls]\n{tls}"), "t").unwrap();
        match Config::validate(raw, mode, vec![]) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn tls_cert_and_key_go_together_and_client_ca_needs_them() {
        assert_eq!(
            tls_problems("cert = \"/x/cert.pem\"\n", Mode::Admin),
            ["tls.key: is required when tls.cert is set"]
        );
        assert_eq!(tls_problems("key = \"/x/key.pem\"\n", Mode::Admin), ["tls.cert: is required when tls.key is set"]);
        let problems = tls_problems("client_ca = \"/x/ca.pem\"\n", Mode::Demo);
        assert!(problems[0].starts_with("tls.client_ca: needs tls.cert"), "{problems:?}");
        // Production makes its own certificate with mode "auto", which client_ca can go with.
        assert!(tls_problems("client_ca = \"/x/ca.pem\"\n", Mode::Admin).is_empty());
        let problems = tls_problems("mode = \"off\"\nclient_ca = \"/x/ca.pem\"\n", Mode::Admin);
        assert!(problems[0].starts_with("tls.mode: is \"off\" (plain HTTP) but"), "{problems:?}");
        assert_eq!(tls_problems("mode = \"on\"\n", Mode::Admin), ["tls.mode: \"on\" must be auto or off"]);
        // Admin commands never listen: they do not read the files (the key may be unreadable to them).
        assert!(tls_problems("cert = \"/x/cert.pem\"\nkey = \"/x/key.pem\"\n", Mode::Admin).is_empty());
    }

    #[test]
    fn tls_files_are_read_and_parsed_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        let junk_path = dir.path().join("junk.pem");
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        std::fs::write(&junk_path, "not a certificate\n").unwrap();
        let (c, k, j) = (cert_path.display(), key_path.display(), junk_path.display());

        let ok = format!("cert = \"{c}\"\nkey = \"{k}\"\nclient_ca = \"{c}\"\n");
        let raw = RawConfig::from_toml(&format!("[tls]\n{ok}"), "t").unwrap();
        let config = Config::validate(raw, Mode::Demo, vec![]).unwrap();
        let tls = config.tls.material.unwrap();
        assert_eq!((tls.cert_chain.len(), tls.client_ca.len()), (1, 1));
        assert!(format!("{tls:?}").contains("\"***\""));
        assert!(config.server.public_url.is_some_and(|url| url.is_https()));

        let problems = tls_problems(&format!("cert = \"{j}\"\nkey = \"{j}\"\n"), Mode::Demo);
        assert_eq!(
            problems,
            [
                format!("tls.cert: no certificate found in {j} (expected -----BEGIN CERTIFICATE-----)"),
                format!("tls.key: no private key found in {j}"),
            ]
        );
        let problems =
            tls_problems(&format!("cert = \"{c}\"\nkey = \"{c}\"\nclient_ca = \"/nope.pem\"\n"), Mode::Production);
        assert!(problems.contains(&format!("tls.key: no private key found in {c}")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("tls.client_ca: cannot read /nope.pem")), "{problems:?}");
    }

    #[test]
    fn oidc_keys_are_checked_by_name() {
        let problems = |text: &str| match Config::validate(RawConfig::from_toml(text, "t").unwrap(), Mode::Demo, vec![])
        {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid(problems)) => problems.iter().map(|p| p.key).collect(),
            Err(other) => panic!("{other}"),
        };
        assert_eq!(
            problems("[citizen_auth]\nmode = \"oidc\"\n"),
            ["citizen_auth.oidc_issuer", "citizen_auth.oidc_client_id", "citizen_auth.oidc_client_secret"]
        );
        let bad = "[citizen_auth]\nmode = \"oidc\"\noidc_issuer = \"ftp://x\"\noidc_client_id = \"c\"\n\
                   oidc_client_secret = \"s\"\noidc_token_auth = \"private_key_jwt\"\noidc_redirect_path = \"x\"\n\
                   oidc_fiscal_code_claim = \"a b\"\noidc_scopes = \"profile\"\n";
        assert_eq!(
            problems(bad),
            [
                "citizen_auth.oidc_issuer",
                "citizen_auth.oidc_token_auth",
                "citizen_auth.oidc_redirect_path",
                "citizen_auth.oidc_fiscal_code_claim",
                "citizen_auth.oidc_scopes"
            ]
        );
        let good = "[citizen_auth]\nmode = \"oidc\"\noidc_issuer = \"https://id.example.it\"\n\
                    oidc_client_id = \"mypay\"\noidc_client_secret = \"s3cret\"\n";
        assert!(problems(good).is_empty());
        // Without mode = "oidc" the keys are not required.
        assert!(problems("[citizen_auth]\nmode = \"none\"\n").is_empty());
    }

    fn admin(text: &str) -> Result<Config, Vec<String>> {
        Config::validate(RawConfig::from_toml(text, "t").unwrap(), Mode::Admin, vec![]).map_err(|err| match err {
            ConfigError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        })
    }

    #[test]
    fn each_mode_parses_and_a_wrong_one_is_named_by_its_key() {
        assert_eq!("auto".parse(), Ok(TlsMode::Auto));
        assert_eq!("off".parse(), Ok(TlsMode::Off));
        assert_eq!(admin("[tls]\nmode = \"off\"\n").unwrap().tls.mode, TlsMode::Off);
        assert_eq!(admin("[tls]\nmode = \"Off\"\n").unwrap_err(), ["tls.mode: \"Off\" must be auto or off"]);

        assert_eq!("client_secret_basic".parse(), Ok(OidcTokenAuth::ClientSecretBasic));
        assert_eq!("client_secret_post".parse(), Ok(OidcTokenAuth::ClientSecretPost));

        let citizen_auth = |extra: &str| admin(&format!("[citizen_auth]\n{extra}")).map(|c| c.citizen_auth.mode);
        assert_eq!(citizen_auth(""), Ok(CitizenAuthMode::None));
        assert_eq!(citizen_auth("mode = \"none\"\n"), Ok(CitizenAuthMode::None));
        assert_eq!(citizen_auth("mode = \"headers\"\n"), Ok(CitizenAuthMode::Headers));
        assert_eq!(
            citizen_auth("mode = \"ldap\"\n").unwrap_err(),
            ["citizen_auth.mode: \"ldap\" must be none, headers or oidc"]
        );
        let oidc = "mode = \"oidc\"\noidc_issuer = \"https://id.example.it\"\noidc_client_id = \"mypay\"\n\
                    oidc_client_secret = \"s3cret\"\n";
        let Ok(CitizenAuthMode::Oidc(settings)) = citizen_auth(oidc) else { panic!("oidc must parse") };
        assert_eq!(settings.token_auth, OidcTokenAuth::ClientSecretBasic);
        assert_eq!((settings.issuer.as_str(), settings.client_secret.expose()), ("https://id.example.it", "s3cret"));
        assert_eq!(settings.redirect_path, "/accedi/oidc/ritorno");
        let post = citizen_auth(&format!("{oidc}oidc_token_auth = \"client_secret_post\"\n"));
        assert!(matches!(
            post,
            Ok(CitizenAuthMode::Oidc(OidcSettings { token_auth: OidcTokenAuth::ClientSecretPost, .. }))
        ));
        assert_eq!(
            citizen_auth(&format!("{oidc}oidc_token_auth = \"private_key_jwt\"\n")).unwrap_err(),
            ["citizen_auth.oidc_token_auth: \"private_key_jwt\" must be client_secret_basic or client_secret_post"]
        );
    }

    #[test]
    fn settings_hold_the_parsed_values() {
        let config = admin(
            "data_dir = \"/srv/mypay\"\n[server]\npublic_url = \"https://pagamenti.example.it/\"\n\
             [citizen_auth]\nheader_name = \"X-Nome\"\ntrusted_proxies = [\"10.0.0.1\", \"::1\"]\n",
        )
        .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/mypay"));
        assert_eq!(config.server.public_base(), "https://pagamenti.example.it");
        assert!(config.server.public_url.as_ref().is_some_and(HttpUrl::is_https));
        assert_eq!(config.node.base_url, None, "unset outside production");
        assert!(config.mail.is_none(), "no mail.host: the outbox is only kept");
        assert_eq!(config.citizen_auth.header_name, "x-nome");
        let proxies: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        assert_eq!(config.citizen_auth.trusted_proxies, proxies);
        assert_eq!(
            admin("[citizen_auth]\ntrusted_proxies = [\"proxy.local\"]\n").unwrap_err(),
            ["citizen_auth.trusted_proxies: \"proxy.local\" is not an IP address"]
        );
        assert_eq!(
            admin("[node]\nbase_url = \"api.example.it\"\n").unwrap_err(),
            ["node.base_url: \"api.example.it\" must start with http:// or https://"]
        );
        // `config show` prints the settings as given, not the parsed ones.
        assert!(config.show_toml().unwrap().contains("public_url = \"https://pagamenti.example.it/\""));
        let mail = admin("[mail]\nhost = \"smtp.example.it\"\nfrom = \"noreply@example.it\"\n").unwrap().mail;
        assert_eq!(mail.map(|m| (m.host, m.port, m.starttls)), Some(("smtp.example.it".to_owned(), 587, true)));
    }

    #[test]
    fn metrics_are_opened_by_addresses_or_a_long_token() {
        let config =
            admin("[metrics]\nallow = [\"10.0.0.20\", \"192.0.2.0/24\"]\ntoken = \"0123456789abcdef\"\n").unwrap();
        assert_eq!(config.metrics.allow.len(), 2);
        assert_eq!(config.metrics.token.as_ref().map(Secret::expose), Some("0123456789abcdef"));
        let default = admin("").unwrap().metrics;
        assert!(default.allow.is_empty() && default.token.is_none(), "loopback only by default");
        assert_eq!(
            admin("[metrics]\nallow = [\"scraper.local\"]\ntoken = \"short\"\n").unwrap_err(),
            [
                "metrics.allow: \"scraper.local\" is not an IP address or a CIDR block",
                "metrics.token: must be at least 16 visible ASCII characters"
            ]
        );
    }

    #[test]
    fn server_trusted_proxies_are_addresses_or_blocks() {
        let config = admin("[server]\ntrusted_proxies = [\"10.0.0.5\", \"2001:db8::/64\"]\n").unwrap();
        let proxies = &config.server.trusted_proxies;
        assert_eq!(proxies.iter().map(ToString::to_string).collect::<Vec<_>>(), ["10.0.0.5", "2001:db8::/64"]);
        assert!(admin("").unwrap().server.trusted_proxies.is_empty(), "none by default");
        assert_eq!(
            admin("[server]\ntrusted_proxies = [\"lb.local\"]\n").unwrap_err(),
            ["server.trusted_proxies: \"lb.local\" is not an IP address or a CIDR block"]
        );
    }

    #[test]
    fn packaged_example_lists_exactly_the_keys() {
        let text = include_str!("../packaging/mypay.toml");
        // Every key must be present, commented or not, so the example documents all of them.
        let uncommented: String = text
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|r| r.contains(" = ")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        // Parsing with deny_unknown_fields proves the example names no key we do not have.
        RawConfig::from_toml(&uncommented, "packaging/mypay.toml").unwrap();
        assert!(uncommented.contains("version = 1"));
        for key in KEYS {
            let leaf = key.name.rsplit('.').next().unwrap();
            assert!(uncommented.contains(&format!("{leaf} = ")), "{} missing from packaging/mypay.toml", key.name);
        }
    }
}
