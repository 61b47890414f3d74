//! The HTTP adapter: a tiny_http server with a fixed worker pool behind the `front` end (which owns
//! the public socket, HTTP or HTTPS with `tls`), one route table, embedded assets, and the pages
//! (maud) of the citizen portal and the back office, the REST API and the machine endpoints.
//!
//! The portal's foundation, reusable by the back office: `session` (server-side sessions),
//! `forms` (urlencoded parsing with limits), CSRF checked before the handler of every form POST,
//! flash messages in the session, `authz` (grants), and one error mapping per surface.
//!
//! Requests flow `server` (the head; time, catch panics) → `router` (pick the row of `routes` by
//! method and path, check its guard on its surface, then read the body within the route's limit:
//! `body`, spooled to disk for uploads) → handler (parse → call a service → render, or return the
//! surface's typed error) → `server` (security headers, access log, metrics).
//! **Invariant:** only this module (and `crate::nodesim`, an external system with its own small
//! server that borrows `ui::layout` and `assets`) uses tiny_http and maud; handlers never write SQL.
//! **Boundary:** HTTP.

pub mod api;
pub(crate) mod assets;
mod authz;
mod backoffice;
mod body;
pub mod forms;
pub mod front;
pub mod metrics;
mod multipart;
mod portal;
mod response;
mod router;
mod routes;
pub mod server;
pub mod session;
mod system;
pub mod tls;
pub(crate) mod ui;
mod upstream;

use std::sync::Arc;
use std::time::Instant;

use crate::config::{Config, HttpUrl};
use crate::pagopa::station::StationIdentity;
use crate::services::journal::Journal;
use crate::services::links::Links;
use crate::services::upstream::payments::RegionPayments;
use crate::store::Db;

pub use response::Response;

/// Every back-office route as (method, path pattern), `{name}` standing for one segment: for the
/// authorization test, which must cover every route there is.
pub fn backoffice_routes() -> Vec<(&'static str, &'static str)> {
    routes::ROUTES
        .iter()
        .filter(|r| r.surface() == router::Surface::Backoffice)
        .map(|r| (r.method.as_str(), r.pattern))
        .collect()
}

/// Every route of the table as (method, path pattern): for the tidy test that keeps route paths
/// spelled in the table only.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    routes::ROUTES.iter().map(|r| (r.method.as_str(), r.pattern)).collect()
}

/// What every handler may use. Shared by all workers.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub metrics: metrics::Metrics,
    /// Audit entries of read-only exchanges, written in batches.
    pub journal: Journal,
    pub station: StationIdentity,
    pub started: Instant,
    /// `mypay demo` / `serve --demo`: enables the demo login and `/dev/outbox`.
    pub demo: bool,
    /// The OpenID Connect relying party, with `citizen_auth.mode = "oidc"`.
    pub oidc: Option<crate::oidc::Client>,
    /// The Content-Security-Policy header ([`server::content_security_policy`]).
    pub csp: String,
    /// SIL passwords already verified (argon2id once per password, not per call).
    pub sil_passwords: crate::sil::PasswordCache,
    /// The installation key's signed links and tokens, loaded once at start.
    pub links: Links,
    /// Upstream mode: the regional MyPay that the portal's and the SIL sessions' payments go
    /// through instead of Checkout; `None` in local mode.
    pub region: Option<Region>,
}

/// The seam of upstream mode's payments (issue 18): built from `Config.upstream` with the SIL
/// client of the Region when upstream mode is on.
pub struct Region {
    pub payments: Arc<dyn RegionPayments>,
    /// Where the Region's pages are (a URL of its host; the CSP keeps its origin), allowed in
    /// the CSP's `form-action` like Checkout's: browsers check a form's redirects against it.
    pub origin: String,
}

impl AppState {
    pub fn new(config: Config, db: Db, links: Links, demo: bool, region: Option<Region>) -> Arc<AppState> {
        let station = StationIdentity {
            broker_id: config.station.broker_id.clone(),
            station_id: config.station.station_id.clone(),
        };
        let oidc = crate::oidc::Client::from_config(&config);
        let csp = server::content_security_policy(
            config.node.base_url.as_ref().map_or("", HttpUrl::as_str),
            region.as_ref().map(|r| r.origin.as_str()),
        );
        Arc::new(AppState {
            csp,
            oidc,
            config,
            db,
            metrics: metrics::Metrics::default(),
            journal: Journal::default(),
            station,
            started: Instant::now(),
            demo,
            sil_passwords: crate::sil::PasswordCache::default(),
            links,
            region,
        })
    }
}
