//! Reconciliation: receipts, reporting flows, the municipality's notifications and its treasury,
//! matched per transfer and labelled as MyPivot does; and what operators keep beside it: the
//! accertamenti (`accertamenti`: the registry and its bulk import, headers and details) and their
//! notes on reconciled elements (`notes`, MyPivot's segnalazioni).
//! Implements: `shared/reference/mypivot.md` §3 to §5.

pub mod accertamenti;
pub mod notes;
