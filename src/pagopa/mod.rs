//! The pagoPA adapter: the station the Node calls (paForNode SOAP under `/ws/fesp/`).
//!
//! `wire` owns the paForNode element names and order, `faults` the `PAA_*` codes and strings,
//! `station` the dispatch. Payment rules live in `services::payments`; this module only
//! translates. **Boundary:** Node SOAP.

pub mod bizevents;
pub mod checkout;
pub mod faults;
pub mod fdr;
pub mod station;
pub mod wire;
