//! The municipality's reconciliation files (mypivot.md §1): treasury movements (T bank movements
//! in Excel, C giornale di cassa CSV, O OPI XML 1.4 and 1.6.1, Y Poste statement), the legacy Poste
//! rendicontazione (P) and payment notifications (D), each a ZIP named as MyPivot names it.
//!
//! Owns: the file contracts — names and ZIP entries (`archive`), encodings, headers and positions,
//! one amount and date parser per format (`cash` C, `opi` O, `bank` T, `poste` Y,
//! `poste_reporting` P, `notifications` D) — and the row-level refusals with MyPivot's messages.
//! [`read`] streams a file's items to a sink, so a caller can run it once as a read-only check (a
//! file that would be refused is refused before anything is stored) and once to store.
//! Budgets: the ZIP at most [`MAX_ZIP_BYTES`] (MyPivot's upload limit), its entries at most
//! [`MAX_INFLATED_BYTES`] once inflated, CSV lines at most 64 KiB (`csv_row`), at most
//! [`MAX_ROWS`] rows, OPI pages and sheets within their own caps (their modules).
//! Must never: write SQL, call a service, hold a whole CSV in memory, or trust a name found in a
//! ZIP as a path.
//! Implements: `shared/reference/mypivot.md` §1.0-§1.6 and the fixes of §8.

mod archive;
mod bank;
mod biff;
mod cash;
mod csv_lines;
mod notifications;
mod opi;
mod poste;
mod poste_reporting;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::domain::reconciliation::{PaymentNotification, PosteReportingRow, Source, TreasuryEvent};
use crate::domain::{Cents, Day};

/// The largest ZIP read: MyPivot's `upload.max-size-MiB=10`.
pub const MAX_ZIP_BYTES: u64 = 10 * 1024 * 1024;
/// The most a ZIP's entries may inflate to, in all (text compresses some tenfold).
pub const MAX_INFLATED_BYTES: u64 = 128 * 1024 * 1024;
/// The most rows (lines, sheet rows, OPI movements) one file may hold.
pub const MAX_ROWS: u64 = 2_000_000;

/// The org a file is loaded for: its name must carry the IPA code, its rows the fiscal code.
#[derive(Debug, Clone, Copy)]
pub struct OrgRef<'a> {
    /// The org's IPA code (`c_x999`).
    pub ipa: &'a str,
    /// The org's fiscal code.
    pub fiscal_code: &'a str,
}

/// The 1-based columns of the 7 fields of a giornale di cassa CSV (C), chosen at upload; MyPivot's
/// default is 1..7 in this order (mypivot.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashColumns {
    /// anno bolletta, numero bolletta, data contabile, ordinante, causale, importo, data valuta.
    pub positions: [usize; 7],
}

impl Default for CashColumns {
    fn default() -> CashColumns {
        CashColumns { positions: [1, 2, 3, 4, 5, 6, 7] }
    }
}

/// A row the file's format refuses: kept with its raw fields and why, for the rejects file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The row's line (CSV) or position (sheet row, OPI movement), from 1.
    pub line: u64,
    /// The row's fields as read.
    pub fields: Vec<String>,
    /// Why, in MyPivot's words where it has them.
    pub message: String,
}

/// One thing a file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A treasury movement or reversal (T, C, O, Y).
    Treasury(TreasuryEvent),
    /// A payment notification (D).
    Notification(Box<PaymentNotification>),
    /// A legacy Poste rendicontazione line (P).
    PosteReporting(PosteReportingRow),
    /// A refused row; the file goes on.
    Rejected(RejectedRow),
}

/// Why a whole file is refused: nothing of it is to be stored. `Display` is English (CLI, logs);
/// [`FileRejection::message_it`] is what the back office shows, in MyPivot's words where it has
/// them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRejection {
    /// The file cannot be read as its kind says (not a ZIP, an unreadable page).
    #[error("{0}")]
    Unreadable(String),
    /// The name does not end in `.zip`.
    #[error("the file name must end in .zip")]
    NotZip,
    /// The name does not follow the kind's convention.
    #[error("the file name {name:?} does not follow the convention {expected}")]
    NameConvention {
        /// The name as uploaded (control characters shown as `?`).
        name: String,
        /// The convention, e.g. `<IPA>-<id>-1_0.zip`.
        expected: &'static str,
    },
    /// The name's IPA part is another org's.
    #[error("the file name is for org {found}, not {org}")]
    WrongOrg {
        /// The IPA code in the name.
        found: String,
        /// The org it was loaded for.
        org: String,
    },
    /// The name's version part is not `1_0`.
    #[error("version {0:?} in the file name is not supported (1_0)")]
    WrongVersion(String),
    /// The ZIP is larger than [`MAX_ZIP_BYTES`].
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    /// An entry of the ZIP is not named `<zip base name>.<extension>` (or is a path).
    #[error("entry {0:?} of the ZIP is not named after the ZIP")]
    EntryName(String),
    /// The entry the kind needs is missing.
    #[error("no {0} in the ZIP")]
    Missing(String),
    /// More than one entry of the kind.
    #[error("more than one {0} in the ZIP")]
    Several(String),
    /// The entries inflate to more than [`MAX_INFLATED_BYTES`] (or a page or sheet beyond its cap).
    #[error("the ZIP's content is larger than {0} bytes once decompressed")]
    InflatedTooLarge(u64),
    /// The compressed data is damaged.
    #[error("the ZIP's compressed data is damaged")]
    Damaged,
    /// A line longer than the format allows.
    #[error("line {line} is longer than {max} bytes")]
    LineTooLong {
        /// Its number, from 1.
        line: u64,
        /// The limit.
        max: usize,
    },
    /// More rows than [`MAX_ROWS`] (or a sheet's or page's cap).
    #[error("more than {0} rows")]
    TooManyRows(u64),
    /// The file holds no header line.
    #[error("the file is empty")]
    Empty,
    /// An OPI page that is not a giornale di cassa (malformed XML, another root, no `esercizio`).
    #[error("OPI page {page}: {reason}")]
    OpiPage {
        /// The ZIP entry's name.
        page: String,
        /// What is wrong, in English.
        reason: String,
    },
    /// The ZIP holds another number of pages than `pagine_totali` says.
    #[error("{files} files in the ZIP, but the pages say {pages}")]
    OpiPageCount {
        /// Entries in the ZIP.
        files: usize,
        /// `pagine_totali`.
        pages: u64,
    },
    /// Pages numbered other than 1..n (one missing, one twice, or different totals).
    #[error("the OPI pages are not numbered 1 to {0}")]
    OpiPageNumbers(usize),
    /// An OPI 1.4 file without page numbers holds more than one file.
    #[error("an OPI 1.4 giornale without page numbers must be the only file in the ZIP ({0} found)")]
    OpiOldVersionPages(usize),
    /// The file names another org's fiscal code.
    #[error("the file is for fiscal code {found}, not the org's {org}")]
    WrongFiscalCode {
        /// The fiscal code in the file.
        found: String,
        /// The org's.
        org: String,
    },
    /// The sheet is not an Excel workbook calamine reads.
    #[error("not a readable Excel sheet (xls or xlsx): {0}")]
    NotASheet(String),
    /// The sheet's header row lacks columns.
    #[error("the sheet's first row lacks the columns {0}")]
    MissingColumns(String),
    /// A Poste statement whose first line carries no IBAN.
    #[error("the first line carries no IBAN")]
    NoIban,
}

impl FileRejection {
    /// The refusal as the back office shows it (Italian; MyPivot's words where it has them).
    pub fn message_it(&self) -> String {
        match self {
            FileRejection::Unreadable(_) => "Il file non è leggibile come zip.".to_owned(),
            FileRejection::NotZip => "Il formato del file deve essere lo zip.".to_owned(),
            FileRejection::NameConvention { expected, .. } => {
                format!("Convenzione nome file errata: il nome deve essere '{expected}'.")
            }
            FileRejection::WrongOrg { .. } => "File caricato su ente errato.".to_owned(),
            FileRejection::WrongVersion(_) => "Errata indicazione versione.".to_owned(),
            FileRejection::TooLarge(limit) => format!("Il file supera la dimensione massima di {} MiB.", limit >> 20),
            FileRejection::EntryName(_) => {
                "Il nome del file contenuto deve essere uguale al nome dello zip.".to_owned()
            }
            FileRejection::Missing(what) => format!("Nello zip manca il file {what}."),
            FileRejection::Several(what) => format!("Lo zip contiene più di un file {what}."),
            FileRejection::InflatedTooLarge(limit) => {
                format!("Il contenuto dello zip supera i {} MiB una volta decompresso.", limit >> 20)
            }
            FileRejection::Damaged => "Il file zip è danneggiato.".to_owned(),
            FileRejection::LineTooLong { line, max } => format!("La riga {line} supera i {max} byte."),
            FileRejection::TooManyRows(max) => format!("Il file supera le {max} righe."),
            FileRejection::Empty => "Il file è vuoto.".to_owned(),
            FileRejection::OpiPage { page, .. } => {
                format!("Il file {page} non è un giornale di cassa OPI valido (XML non leggibile o incompleto).")
            }
            FileRejection::OpiPageCount { .. } => {
                "Numero file trovati nello zip diverso dal numero pagine interne ai file.".to_owned()
            }
            FileRejection::OpiPageNumbers(_) => "Pagine mancanti o ripetute nello zip.".to_owned(),
            FileRejection::OpiOldVersionPages(_) => {
                "Vecchia versione OPI: al massimo solo un file nello zip.".to_owned()
            }
            FileRejection::WrongFiscalCode { .. } => {
                "Flusso caricato su ente diverso da righe presenti nel flusso.".to_owned()
            }
            FileRejection::NotASheet(_) => "Il file non è un foglio Excel leggibile (xls o xlsx).".to_owned(),
            FileRejection::MissingColumns(columns) => format!("Intestazioni mancanti nel foglio: {columns}."),
            FileRejection::NoIban => "La prima riga del file non contiene l'IBAN del conto.".to_owned(),
        }
    }
}

/// A read that stopped: the file was refused, or the sink failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// The file is refused.
    #[error(transparent)]
    File(#[from] FileRejection),
    /// The sink refused an item (its own error).
    #[error("storing the file's rows failed")]
    Sink(E),
}

/// What a read found, once its items were given to the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Items given as Treasury, Notification or PosteReporting.
    pub accepted: u64,
    /// Items given as Rejected.
    pub rejected: u64,
    /// Rows skipped as the format says (debits, reversali, footers), neither kept nor refused.
    pub ignored: u64,
}

/// Reads the ZIP at `path`, uploaded as `file_name`, as a file of `source` for `org`, giving each
/// item to `sink` in file order. `columns` is for C only (default positions otherwise).
///
/// E and R are not uploaded (they come from mypay's own store): asking for them is a refusal.
pub fn read<E>(
    source: Source,
    file_name: &str,
    path: &Path,
    org: OrgRef<'_>,
    columns: CashColumns,
    mut sink: impl FnMut(Item) -> Result<(), E>,
) -> Result<Summary, ReadError<E>> {
    let base = archive::check_name(source, file_name, org)?;
    let mut zip = archive::Zip::open(path)?;
    let mut out = Out { sink: &mut sink, summary: Summary::default() };
    match source {
        Source::CashJournal => cash::read(&mut zip, &base, columns, &mut out)?,
        Source::Opi => opi::read(&mut zip, org, &mut out)?,
        Source::BankMovements => bank::read(&mut zip, &base, &mut out)?,
        Source::PosteStatement => poste::read(&mut zip, &base, &mut out)?,
        Source::PosteReporting => poste_reporting::read(&mut zip, &base, &mut out)?,
        Source::Notification => notifications::read(&mut zip, &base, &mut out)?,
        Source::Receipt | Source::Reporting => {
            return Err(ReadError::File(FileRejection::Unreadable(format!(
                "files of kind {} are not uploaded: mypay reads them from its own store",
                source.code()
            ))));
        }
    }
    Ok(out.summary)
}

/// Where a reader puts its items: the caller's sink, with the counts.
struct Out<'s, E> {
    sink: &'s mut dyn FnMut(Item) -> Result<(), E>,
    summary: Summary,
}

impl<E> Out<'_, E> {
    fn give(&mut self, item: Item) -> Result<(), ReadError<E>> {
        match item {
            Item::Rejected(_) => self.summary.rejected += 1,
            _ => self.summary.accepted += 1,
        }
        (self.sink)(item).map_err(ReadError::Sink)
    }

    fn reject(&mut self, line: u64, fields: Vec<String>, message: String) -> Result<(), ReadError<E>> {
        self.give(Item::Rejected(RejectedRow { line, fields, message }))
    }

    fn ignore(&mut self) {
        self.summary.ignored += 1;
    }
}

/// A day written `dd/MM/yyyy` (Poste files), strictly: two digits, two digits, four digits.
fn day_dmy(text: &str) -> Option<Day> {
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes.get(2) == Some(&b'/')
        && bytes.get(5) == Some(&b'/')
        && bytes.iter().enumerate().all(|(i, b)| i == 2 || i == 5 || b.is_ascii_digit());
    if !shape {
        return None;
    }
    let iso = format!("{}-{}-{}", text.get(6..10)?, text.get(3..5)?, text.get(0..2)?);
    Day::parse(&iso).ok()
}

/// An amount written with a decimal comma (T, Y: `292,00`, thousands dots allowed as in
/// `1.234,56`), or, without a comma, with a decimal dot (`292.00`), as MyPivot's `,`→`.` reads it.
/// Only positive amounts: these are credits.
fn amount_comma(text: &str) -> Option<Cents> {
    let cents = if text.contains(',') { Cents::parse_italian(text) } else { Cents::parse_decimal(text) };
    cents.ok().filter(|c| c.is_positive())
}

/// A field as a rejects file repeats it: at most 2,000 characters (MyPivot's longest column).
fn shown(text: &str) -> String {
    text.chars().take(2000).collect()
}
