//! MyPay's file formats: CSV inside ZIP, exchanged with municipalities.
//!
//! Owns the CSV and ZIP layers of the debt-flow import and of the exports: safe ZIP reading
//! ([`zipfile`]), MyPay's import CSV syntax ([`csv_row`]), the import layouts 1_0..1_4
//! ([`import_layout`]), the upload's name, file-level codes and `bilancio` ([`import`]), the
//! reading and checking of rows on a thread of their own (`import_rows`, IUDs seen in
//! `seen_iuds`), the import's result files ([`results`]); the receipt export layouts 1.0-1.3
//! ([`rt_export`]), the expired-debts export ([`expired_export`]) and the export CSV dialect
//! ([`quoted_csv`]) and its reading back (`rt_export_reader`, a regional MyPay's receipts); the
//! `Pagati` XML of a receipt ([`pagati`]), read back in [`pagati_read`] (what an upstream MyPay
//! answers and pushes); the pagoPA receipt read leniently from whatever carries it
//! (`receipt_xml`); and pagoPA's FlussoRiversamento reporting document, read and written
//! ([`fdr`]); MyPivot's reconciliation export 1.0-1.4 ([`recon_export`]) and its accertamenti
//! registry file ([`accertamenti_registry`]). Running an import (its transaction) is
//! `services::debts::imports::run`'s.
//! Must never: write SQL, open a transaction, call a service, hold a whole file in memory, or
//! trust a name found inside a ZIP as a path.
//! Implements: `shared/reference/mypay.md` §2, §3 and §6; `mypivot.md` §4 and §5.1.
//! **Invariant:** only this module knows CSV headers and column order. **Boundary:** CSV in ZIP.

pub mod accertamenti_registry;
pub mod bilancio;
pub mod csv_row;
pub mod expired_export;
pub mod fdr;
pub mod import;
pub mod import_layout;
pub(crate) mod import_rows;
pub mod pagati;
pub mod pagati_read;
pub mod quoted_csv;
pub mod receipt_xml;
pub mod recon;
pub mod recon_export;
pub mod results;
pub mod rt_export;
pub mod rt_export_reader;
mod seen_iuds;
pub mod zipfile;
