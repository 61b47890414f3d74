//! Debt flows: files municipalities exchange with mypay in MyPay's formats.
//!
//! Owns the CSV and ZIP layers shared by the debt-flow import (this issue) and, later, the receipt
//! export: safe ZIP reading ([`zipfile`]), MyPay's CSV syntax ([`csv_row`]), the import layouts
//! 1_0..1_4 ([`import_layout`]), the import pipeline ([`import`]) and the result files
//! ([`results`]).
//! Must never: write SQL (it calls `services` and `store` functions), hold a whole file in memory,
//! or trust a name found inside a ZIP as a path.
//! Implements: `shared/reference/mypay.md` §2.1-2.8 and §6.
//! **Boundary:** CSV in ZIP.

pub mod csv_row;
pub mod import;
pub mod import_layout;
pub mod results;
pub mod zipfile;
