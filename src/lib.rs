//! mypay: a pagoPA intermediary appliance for Italian local authorities.
//!
//! Layers point one way: adapters (`cli`, `web`) → `services` → `domain` + `store`.
//! See ARCHITECTURE.md for the codemap.

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod flows;
pub mod jobs;
pub mod net;
pub mod nodesim;
pub mod oidc;
pub mod pagopa;
pub mod pdf;
pub mod services;
pub mod sil;
pub mod soap;
pub mod store;
pub mod web;
