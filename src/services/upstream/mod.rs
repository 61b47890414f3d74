//! Upstream mode (issue 18; reference/regional.md §3, §7.2): this box behind the regional node (a
//! stock regional MyPay, or a regional mypay), which is then the pagoPA station of its orgs.
//! `config::UpstreamSettings` turns it on; each org has its own credentials there.
//!
//! - `settings`: each org's IPA code, SIL password, push key and cart hash at the region (sealed
//!   with the key file, never shown), the link's last contact and error (`record_*`), and
//!   `creds_of`, the one way the drivers get the clear password; `status`: the whole link as
//!   operators see it (settings, outbox, polling, pushes) and its gauges.
//! - `token`: the HS512 bearer token of the region's outcome pushes, checked.
//! - `outbox`: the durable, ordered queue of debt changes mirrored to the Region, sent through a
//!   port ([`outbox::RegionDebts`]) the adapter implements; `flows`: a debt flow mirrored whole
//!   (upload, status, the Region's `_IUV`/`_SCARTI` mapped back onto the local import).
//! - `outcomes`: the Region's payment outcomes as receipts on the box, push hints confirmed
//!   through a port ([`outcomes::RegionOutcomes`]); `polling`: the Region's receipt export read
//!   by a durable cursor.
//! - `payments`: how a payment started at the box goes through the Region instead of pagoPA
//!   Checkout.
//! - `pushes`: who sent a push (on the request's head) and the push kept as a hint to confirm with
//!   `paaSILChiediPagatiConRicevuta`; `pending` and `mark` are the confirmation step's.
//!
//! The SOAP client of the region's SIL services is the `upstream` adapter's (`src/upstream/`);
//! the drivers that mirror debts up (the outbox), confirm pushes and poll receipts build on these.
//! Must never: mark a debt paid on a push alone; print, log or journal a password, key or token.

#[cfg(test)]
mod fake_region;
pub mod flows;
// The driver that calls them with the real SIL client is wired when the upstream branches merge.
pub mod outbox;
pub mod outcomes;
pub mod payments;
pub mod polling;
pub mod pushes;
pub mod settings;
pub mod status;
pub mod token;

/// Why the Region did not answer as asked, for every call the box makes there. `retryable`: the
/// same call may succeed later unchanged (transport, timeout, 5xx, `PAA_SYSTEM_ERROR`,
/// `PAA_PAGAMENTO_IN_CORSO`); otherwise a person must act (credentials refused, a request the
/// Region cannot read). `text` is for logs and operators: never a credential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionFailure {
    pub retryable: bool,
    /// MyPay's fault code, when the Region answered one.
    pub code: Option<String>,
    pub text: String,
}

impl std::fmt::Display for RegionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.text),
            None => f.write_str(&self.text),
        }
    }
}
