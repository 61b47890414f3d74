//! The one integration-test binary: it runs the real `mypay` binary over loopback and on real
//! data directories. One module per surface.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod accertamenti;
mod adhesion;
mod api;
mod assets;
mod backoffice;
mod backoffice_authz;
mod backoffice_dayone;
mod backoffice_debts;
mod backoffice_reconciliation;
mod backoffice_settings;
mod backup;
mod browser;
mod cli;
mod contracts_doc;
mod demo_lan;
mod e2e;
mod export;
mod gdpr;
mod hostile;
mod import;
mod iuvless;
mod jobs;
mod nodesim;
mod oidc;
mod options;
mod pdf;
mod pdf_layouts;
mod pivot;
mod portal;
mod push;
mod real_world;
mod reconcile;
mod server;
mod sil;
mod sil_flows;
mod station;
mod support;
mod tidy;
mod tls;
mod upstream_client;
mod upstream_e2e;
mod upstream_push;
mod upstream_views;
