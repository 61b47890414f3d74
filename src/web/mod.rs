//! The HTTP adapter: a tiny_http server with a fixed worker pool (behind the `tls` front end when
//! `[tls]` is configured), one router table, embedded assets, and the pages (maud) of the citizen
//! portal.
//!
//! Requests flow `server` (read with a body limit, time, catch panics) → `router` (pick a handler by
//! method and path) → handler (parse → call a service or the store's reads → render) → `server`
//! (security headers, access log, metrics).
//! **Invariant:** only this module uses tiny_http and maud; handlers never write SQL.
//! **Boundary:** HTTP.

mod assets;
pub mod metrics;
mod portal;
mod response;
mod router;
pub mod server;
pub mod tls;
mod ui;

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::store::Db;

pub use response::Response;

/// What every handler may use. Shared by all workers.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub metrics: metrics::Metrics,
    pub started: Instant,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Arc<AppState> {
        Arc::new(AppState { config, db, metrics: metrics::Metrics::default(), started: Instant::now() })
    }
}
