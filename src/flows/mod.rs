//! MyPay's file formats: CSV inside ZIP, for the receipt (RT) export and the expired-debts export
//! (reference/mypay.md §3).
//!
//! **Invariant:** only this module knows CSV headers and column order; files are streamed row by
//! row into the ZIP, never built in memory. **Boundary:** CSV/ZIP files.

pub mod expired_export;
pub mod quoted_csv;
pub mod rt_export;
