//! mypay: a pagoPA intermediary appliance for Italian local authorities.
//!
//! Layers point one way: adapters (`cli`, `web`, `sil`, `pagopa`, `upstream`) → `services` → `domain` + `store`.
//! See ARCHITECTURE.md for the codemap. Every module is crate-private: the binary calls [`run`],
//! and tests and benchmarks reach what they drive through [`testing`], so rustc reports dead code.

pub(crate) mod cli;
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod domain;
pub(crate) mod flows;
#[cfg(test)]
mod fuzz;
pub(crate) mod jobs;
pub(crate) mod net;
pub(crate) mod nodesim;
pub(crate) mod oidc;
pub(crate) mod pagopa;
pub(crate) mod pdf;
pub(crate) mod services;
pub(crate) mod sil;
pub(crate) mod soap;
pub(crate) mod store;
pub(crate) mod upstream;
pub(crate) mod web;

/// The command line, which is the whole program: the binary only calls this.
pub use cli::run;

#[doc(hidden)]
pub mod testing;
