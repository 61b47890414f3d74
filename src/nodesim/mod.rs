//! The simulated pagoPA Node, Checkout and PSPs, so that every payment flow of mypay can be shown
//! and tested offline (DESIGN.md "connection to the node"; pagopa.md §7.4).
//!
//! It is an external system: it keeps its own state in memory and talks to mypay's station only
//! over HTTP (paForNode SOAP calls to the station URL), and mypay talks to it only over HTTP
//! (Checkout carts, FdR REST, nodeForPa SOAP). It never touches mypay's store or services.
//!
//! Flow of a Checkout payment: `checkout` (cart API, cart page) → `payment` (lock the notice,
//! `station_client` verify + getPayment, `payment_data` checks) → `receipts` → `delivery`
//! (first paSendRT at once, retries on a background thread) → `fdr` (reporting flows) served by
//! `fdr_api` (REST) and `node_for_pa` (SOAP). `psp` drives the same chain from a PSP counter;
//! `faults` perturbs the answers to mypay; `http` + `router` are its own small server.
//! **Invariant:** SOAP envelopes are read and written only through [`crate::soap`].

mod bizevents;
mod checkout;
pub mod config;
mod delivery;
mod faults;
mod fdr;
mod fdr_api;
mod http;
mod node_fault;
mod node_for_pa;
mod pages;
mod payment;
mod payment_data;
mod psp;
mod receipts;
mod router;
mod state;
mod station_client;

use std::sync::Arc;
use std::thread::JoinHandle;

pub use config::{PrimitiveVersion, SimConfig};
pub use router::NODE_FOR_PA_PATH;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid node simulator settings: {}", .0.join("; "))]
    Config(Vec<String>),
    #[error("node simulator cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("node simulator cannot start a thread: {0}")]
    Thread(String),
}

/// A running simulator. Dropping it without [`SimHandle::stop`] leaves it running until exit.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT` (loopback when it listens on all interfaces), to give mypay as its
    /// Node/Checkout/FdR base URL.
    pub base_url: String,
    /// Where browsers reach it: `SimConfig::public_host` and its port, or `base_url`.
    pub public_url: String,
    sim: Arc<state::Sim>,
    threads: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Stops the workers and the delivery thread; pending deliveries are abandoned.
    pub fn stop(self) {
        self.sim.request_stop();
        for thread in self.threads {
            if thread.join().is_err() {
                tracing::error!("a node simulator thread stopped abnormally");
            }
        }
        tracing::info!(target: "nodesim", "node simulator stopped");
    }
}

/// Binds `config.listen`, starts the HTTP workers and the receipt delivery thread.
pub fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(SimError::Config(problems));
    }
    let server = tiny_http::Server::http(config.listen)
        .map_err(|err| SimError::Bind { addr: config.listen.to_string(), reason: err.to_string() })?;
    let local = server.server_addr().to_ip().unwrap_or(config.listen);
    let base_url = format!("http://{}", crate::net::reachable_here(local));
    let public_url = match &config.public_host {
        Some(host) => format!("http://{host}:{}", local.port()),
        None => base_url.clone(),
    };
    let workers = config.workers;
    let sim = Arc::new(state::Sim::new(config, public_url.clone()));
    let server = Arc::new(server);
    let mut threads = http::start_workers(&sim, &server, workers);
    match delivery::spawn(Arc::clone(&sim)) {
        Ok(thread) => threads.push(thread),
        Err(err) => {
            sim.request_stop();
            for thread in threads {
                let _ = thread.join();
            }
            return Err(SimError::Thread(err.to_string()));
        }
    }
    tracing::info!(target: "nodesim", base_url, public_url, station = %sim.config.station_url, "node simulator started");
    Ok(SimHandle { base_url, public_url, sim, threads })
}
