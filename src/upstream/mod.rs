//! The client half of MyPay's SIL web services: how a municipality's box behind a regional MyPay
//! (or a regional mypay) talks to the Region (regional.md §7.2, mypay.md §4; issue 18). The box
//! mirrors its debts up (`paaSILImportaDovuto`, or a flow through the token upload), starts
//! payments there (`paaSILInviaDovuti`, `…InviaCarrelloDovuti`, `…VerificaAvviso`), reads their
//! outcome (`paaSILChiediPagatiConRicevuta`), catches up on receipts (the incremental export) and
//! fetches pagoPA's reporting flows (`paaSILChiediElencoFlussiSPC`, `…FlussoSPC`).
//!
//! Owns: [`SilClient`] and its operations, the requests and payload documents it writes, the
//! typed answers it reads, [`UpstreamError`]. Takes plain values and returns typed results:
//! it uses no store and no service, so the services and jobs that drive the mirror call it.
//! Must never: log or print a password (credentials are in [`Creds`], whose `Debug` hides it),
//! send one but in a SOAP body to the configured endpoint, or read an answer past its budget.
//! **Boundary:** MyPay's pa-per-ente.wsdl and mypivot-pa-per-ente.wsdl, as a client.

pub(crate) mod answers;
pub(crate) mod client;
pub(crate) mod documents;
mod error;
pub(crate) mod link;
mod operations;
pub(crate) mod region;
pub(crate) mod requests;
#[cfg(test)]
mod tests;

pub use client::{SilClient, Timeouts};
pub use documents::{Action, DovutiDoc, DovutoItem, VersamentoDoc};
pub use error::UpstreamError;
pub use requests::{CartElement, PagatiKey, SpcKind};

/// An org's credentials at the Region: its IPA code there and its SIL password.
#[derive(Clone, PartialEq, Eq)]
pub struct Creds {
    pub ipa: String,
    pub password: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creds").field("ipa", &self.ipa).field("password", &"***").finish()
    }
}
