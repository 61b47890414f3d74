//! The reading half of an import (reference/mypay.md §2.3–2.4). On a thread of its own it opens
//! the stored upload, reads the CSV line by line, splits each line and runs every row check that
//! needs no database, then hands the prepared rows, in file order and in batches, to the thread
//! that holds the import's transaction (`flows::import`), which finishes each row against the
//! store. So the checks of one batch run while the previous batch is being written: an import
//! keeps both cores busy. A batch has at most [`BATCH`] rows and about [`BATCH_BYTES`] of lines,
//! so what waits for the transaction thread stays small however long the rows are.
//!
//! What is left to the transaction thread, because only the store knows it: whether an IUD the
//! filter of `seen_iuds` says was seen earlier in the file really was (the earlier row may still be in flight), the
//! current IUV of a debt that `M` or `A` names with an IUV, and everything of §2.5.
//! Must never: touch the database, or reorder rows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, SyncSender};

use jiff::civil::Date;

use super::csv_row::{self, LineReader};
use super::import::{FileError, RunError, Stop, generic, read_bilancio, read_error, zip_error};
use super::import_layout::{Column, Layout, N_COLUMNS, Version};
use super::seen_iuds::SeenIuds;
use super::zipfile::{self, Limited, ZipError};
use crate::domain::debt_row::{self, DebtFields, DebtTypeRules, RowContext, RowError, SecondaryFields, ValidDebt};
use crate::domain::payment_options::{MAX_INSTALMENTS, Plan};
use crate::domain::{Cents, Day, SegregationCode};
use crate::store::debt_types::DebtTypeRecord;

/// Rows per batch handed to the transaction thread.
pub(crate) const BATCH: usize = 512;
/// Bytes of lines per batch, the row that crosses it included: 512 rows of 64 KiB each made a batch
/// of 32 MiB, and with the batches queued for the transaction thread, a file of long rows could keep
/// 300 MiB of lines (and their copies) in flight.
pub(crate) const BATCH_BYTES: usize = 1024 * 1024;

/// Where the reader finds the CSV: the stored upload and the name the CSV must have inside it.
pub(crate) struct Upload {
    pub path: PathBuf,
    /// `<IPA>-<IUF>-<version>`: the CSV is `<base>.csv`.
    pub base: String,
    pub version: Version,
    /// Most bytes the CSV may decompress to.
    pub limit: u64,
}

/// The CSV's first line, and how its columns bind.
pub(crate) struct Header {
    /// As read, without a byte-order mark: the result files repeat it.
    pub text: String,
    pub layout: Layout,
    /// The CSV's size as the ZIP declares it, for progress reports.
    pub declared: u64,
}

/// What the row checks need from the store, read once in the import's transaction.
pub(crate) struct Rules {
    pub version: Version,
    pub segregation_code: SegregationCode,
    /// Today in Europe/Rome.
    pub today: Date,
    /// The org's debt types by code.
    pub debt_types: HashMap<String, KnownType>,
}

/// A debt type of the org, with the rules its rows are checked against.
#[derive(Clone)]
pub(crate) struct KnownType {
    pub record: Arc<DebtTypeRecord>,
    pub rules: DebtTypeRules,
}

impl Rules {
    /// The context of a row's checks.
    pub fn context(&self, debt_type: Option<&KnownType>, is_insert: bool, current_iuv: Option<String>) -> RowContext {
        RowContext {
            debt_type: debt_type.map(|t| t.rules.clone()),
            segregation_code: self.segregation_code,
            today: self.today,
            causale_max: if self.version == Version::V1_0 { 140 } else { 1024 },
            due_date_always_required: self.version <= Version::V1_1,
            is_insert,
            current_iuv,
        }
    }
}

/// What the reader sends, in this order: one `Header` (or `Failed`), then `Rows` until `End` (or
/// `Failed`).
pub(crate) enum Batch {
    Header(Box<Header>),
    Rows(Vec<Prepared>),
    Failed(Stop),
    End,
}

/// One data line, checked as far as the file alone allows.
pub(crate) struct Prepared {
    /// The line as read: a rejected row is repeated verbatim in `_SCARTI`.
    pub line: String,
    pub iud: String,
    /// `I`, `M` or `A`; `None` when absent or invalid (an error says which).
    pub action: Option<&'static str>,
    /// Errors found so far, in MyPay's order.
    pub errors: Vec<RowError>,
    /// This IUD's hash was seen on an earlier line: if the transaction thread confirms it, the
    /// "duplicated in the file" error goes at this position of `errors`.
    pub repeated_at: Option<usize>,
    /// `None` when the line could not even be split into its columns. Boxed: rows are moved from
    /// batch to thread to applier, and a moved `PreparedRow` is 1.7 KB of memcpy.
    pub row: Option<Box<PreparedRow>>,
}

/// The fields of a line that split into the right number of columns.
pub(crate) struct PreparedRow {
    /// Kept only when the checks wait for the store (`checked` is `None`).
    pub fields: Option<DebtFields>,
    pub debt_type: Option<KnownType>,
    /// The verdict of `debt_row::validate`, or `None` when it needs the debt's current IUV.
    pub checked: Option<Result<ValidDebt, Vec<RowError>>>,
    /// The row's `_IUV` line, ready but for the IUV, when the checks passed here.
    pub result: Option<ResultLine>,
    /// The options of a 1_4 `opzioniPagamento` column (action `I` only): the row's own amount is
    /// the single option. Such a row goes in alone, never in a batch.
    pub plan: Option<Plan>,
}

/// A loaded row's line in the `_IUV` result file (mypay.md §2.7), in the file's column order,
/// split where the IUV goes: the IUV is known only once the row is applied.
pub(crate) struct ResultLine {
    before_iuv: String,
    after_iuv: String,
    has_iuv: bool,
}

impl ResultLine {
    /// The line of `record` (by logical column) in `layout`'s physical order.
    pub fn new(layout: &Layout, record: &[String]) -> ResultLine {
        let (mut before_iuv, mut after_iuv) = (String::with_capacity(256), String::with_capacity(64));
        let mut has_iuv = false;
        for (pos, column) in layout.physical.iter().enumerate() {
            let out = if has_iuv { &mut after_iuv } else { &mut before_iuv };
            if pos > 0 {
                out.push(csv_row::SEPARATOR);
            }
            if *column == Column::Iuv {
                has_iuv = true;
                continue;
            }
            csv_row::push_field(out, record.get(column.index()).map(String::as_str).unwrap_or_default());
        }
        ResultLine { before_iuv, after_iuv, has_iuv }
    }

    /// Appends the line, with `iuv`, to `out`.
    pub fn write(&self, iuv: &str, out: &mut String) {
        out.push_str(&self.before_iuv);
        if self.has_iuv {
            csv_row::push_field(out, iuv);
        }
        out.push_str(&self.after_iuv);
    }
}

pub(crate) const SYNTAX: &str = "PAA_IMPORT_SINTASSI_CSV";

pub(crate) fn syntax(description: &str) -> RowError {
    RowError { code: SYNTAX, description: description.to_owned() }
}

/// What the read-only pass over a whole file found: it can be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileFacts {
    /// Data rows (non-blank lines after the header).
    pub rows: u64,
}

/// Reads the whole file once without applying anything, with every file-level check (ZIP
/// structure, the CSV's name, header and layout, UTF-8, line lengths and the size limit): a file
/// that would abort aborts here, before its first row is written.
pub(crate) fn check_file(upload: &Upload) -> Result<FileFacts, Stop> {
    with_csv(upload, Arc::new(AtomicU64::new(0)), |lines, _declared| {
        read_header(lines, upload)?;
        let mut rows = 0u64;
        loop {
            let line_no = lines.line_no + 1;
            let Some(bytes) = lines.next_line().map_err(|e| read_error(e, upload.limit))? else { break };
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            std::str::from_utf8(bytes)
                .map_err(|_| Stop::File(generic(format!("riga {line_no}: il file CSV non è in UTF-8"))))?;
            rows += 1;
        }
        Ok(FileFacts { rows })
    })
}

/// What the transaction thread is done with and hands back to the reader to be freed: the rows'
/// memory was allocated on the reader's thread, where freeing it is cheaper, and the transaction
/// thread (the database writer) has better things to do.
pub(crate) type Trash = Box<dyn Send>;

/// The reader thread's body: reads `upload` and sends what it finds to `out`; waits for the
/// [`Rules`] after the header; frees what comes back on `trash` between batches. The first `skip`
/// data rows were applied by an earlier run of the import: they are only noted as seen (their
/// IUDs), not sent. Returns quietly when the transaction thread hangs up.
pub(crate) fn read(
    upload: Upload,
    out: SyncSender<Batch>,
    rules: Receiver<Arc<Rules>>,
    trash: Receiver<Trash>,
    read_bytes: Arc<AtomicU64>,
    skip: u64,
) {
    if let Err(stop) = read_all(&upload, &out, &rules, &trash, read_bytes, skip) {
        let _ = out.send(Batch::Failed(stop));
    }
}

/// Opens the upload's CSV and hands its lines, and the size its ZIP entry declares, to `f`.
fn with_csv<T>(
    upload: &Upload,
    read_bytes: Arc<AtomicU64>,
    f: impl FnOnce(&mut LineReader<BufReader<Limited<zip::read::ZipFile<'_, File>>>>, u64) -> Result<T, Stop>,
) -> Result<T, Stop> {
    let limit = upload.limit;
    let file = File::open(&upload.path)
        .map_err(|err| Stop::Run(RunError::System(format!("cannot open the stored upload: {err}"))))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|err| Stop::File(zip_error(ZipError::Unreadable(err.to_string()))))?;
    let (index, declared) =
        zipfile::find_csv(&mut archive, &upload.base, limit).map_err(|e| Stop::File(zip_error(e)))?;
    let entry = archive.by_index(index).map_err(|err| Stop::File(zip_error(ZipError::Unreadable(err.to_string()))))?;
    let mut lines = LineReader::new(BufReader::with_capacity(256 * 1024, Limited::new(entry, limit, read_bytes)));
    f(&mut lines, declared)
}

/// Reads the header line: its text (without a byte-order mark) and the layout it binds.
fn read_header<R: std::io::BufRead>(lines: &mut LineReader<R>, upload: &Upload) -> Result<(String, Layout), Stop> {
    let text = match lines.next_line().map_err(|e| read_error(e, upload.limit))? {
        None => return Err(Stop::File(generic("il file CSV è vuoto"))),
        Some(bytes) => {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            std::str::from_utf8(bytes)
                .map_err(|_| Stop::File(generic("riga 1: il file CSV non è in UTF-8")))?
                .to_owned()
        }
    };
    let mut header_fields = Vec::new();
    csv_row::split(&text, &mut header_fields)
        .map_err(|err| Stop::File(generic(format!("intestazione non leggibile: {err}"))))?;
    let header_names: Vec<&str> = header_fields.iter().map(|f| f.as_ref()).collect();
    let layout = Layout::bind(upload.version, &header_names).map_err(|err| {
        Stop::File(FileError::new(format!("PAA_IMPORT_FILE_VERSIONE_ERR({})", upload.version.code()), err.to_string()))
    })?;
    drop(header_fields);
    Ok((text, layout))
}

fn read_all(
    upload: &Upload,
    out: &SyncSender<Batch>,
    rules: &Receiver<Arc<Rules>>,
    trash: &Receiver<Trash>,
    read_bytes: Arc<AtomicU64>,
    skip: u64,
) -> Result<(), Stop> {
    let limit = upload.limit;
    with_csv(upload, read_bytes, |lines, declared| {
        let (text, layout) = read_header(lines, upload)?;
        if out.send(Batch::Header(Box::new(Header { text, layout: layout.clone(), declared }))).is_err() {
            return Ok(());
        }
        let Ok(rules) = rules.recv() else {
            return Ok(());
        };
        let mut preparer = Preparer { layout, rules, seen: SeenIuds::for_csv_of(declared) };
        let mut batch = Vec::with_capacity(BATCH);
        let mut batch_bytes = 0;
        let mut skipped = 0u64;
        loop {
            let line_no = lines.line_no + 1;
            let Some(bytes) = lines.next_line().map_err(|e| read_error(e, limit))? else { break };
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let line = std::str::from_utf8(bytes)
                .map_err(|_| Stop::File(generic(format!("riga {line_no}: il file CSV non è in UTF-8"))))?;
            if skipped < skip {
                skipped += 1;
                preparer.note_applied(line);
                continue;
            }
            batch_bytes += line.len();
            batch.push(preparer.prepare(line));
            if batch.len() == BATCH || batch_bytes >= BATCH_BYTES {
                batch_bytes = 0;
                if out.send(Batch::Rows(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err() {
                    return Ok(());
                }
                while let Ok(done) = trash.try_recv() {
                    drop(done);
                }
            }
        }
        if !batch.is_empty() && out.send(Batch::Rows(batch)).is_err() {
            return Ok(());
        }
        let _ = out.send(Batch::End);
        Ok(())
    })
}

/// Checks lines one after the other.
struct Preparer {
    layout: Layout,
    rules: Arc<Rules>,
    /// The IUDs read so far (mypay.md §2.4: unique in the file); a repeat is confirmed exactly by
    /// the transaction thread.
    seen: SeenIuds,
}

impl Preparer {
    /// A row an earlier run applied: only its IUD counts, as seen (a later repeat is a duplicate).
    fn note_applied(&mut self, line: &str) {
        let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(N_COLUMNS);
        if csv_row::split(line, &mut fields).is_ok()
            && let Some(iud) = self.layout.position(Column::Iud).and_then(|pos| fields.get(pos))
            && !iud.is_empty()
        {
            self.seen.insert(iud);
        }
    }

    fn prepare(&mut self, line: &str) -> Prepared {
        let unreadable = |description: &str| Prepared {
            line: line.to_owned(),
            iud: String::new(),
            action: None,
            errors: vec![syntax(description)],
            repeated_at: None,
            row: None,
        };
        let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(N_COLUMNS);
        if csv_row::split(line, &mut fields).is_err() {
            return unreadable("ERRORE GENERICO NELLA LETTURA DELLA RIGA DEL CSV");
        }
        let expected = self.layout.physical.len();
        if fields.len() > expected {
            return unreadable("TROPPE COLONNE rispetto all'intestazione");
        }
        if fields.len() < expected {
            return unreadable("COLONNE MANCANTI rispetto all'intestazione");
        }
        let layout = &self.layout;
        let get = |column: Column| -> &str {
            layout.position(column).and_then(|pos| fields.get(pos)).map(|f| f.as_ref()).unwrap_or_default()
        };
        let mut errors = Vec::new();
        let action = match get(Column::Action).trim() {
            "I" => Some("I"),
            "M" => Some("M"),
            "A" => Some("A"),
            "" => {
                errors.push(syntax("AZIONE NON PRESENTE"));
                None
            }
            other => {
                errors.push(RowError {
                    code: "PAA_IMPORT_SINTASSI_CSV_AZIONE",
                    description: format!("azione {other} non valida: I, M o A"),
                });
                None
            }
        };
        let options_text = get(Column::Options).trim();
        let plan = if options_text.is_empty() {
            None
        } else if action.is_some_and(|a| a != "I") {
            errors.push(RowError {
                code: "PAA_IMPORT_SINTASSI_CSV_AZIONE",
                description: "opzioniPagamento ammesse solo con azione I".to_owned(),
            });
            None
        } else {
            match parse_options(options_text) {
                Ok(plan) => Some(plan),
                Err(description) => {
                    errors.push(syntax(&description));
                    None
                }
            }
        };
        let iud = get(Column::Iud);
        let repeated_at = (!iud.is_empty() && self.seen.insert(iud)).then_some(errors.len());
        let generate_iuv = match debt_row::parse_flag(get(Column::GenerateIuv)) {
            Some(flag) => flag,
            None => {
                errors.push(syntax("FLAG_GENERA_IUV NON CONFORME"));
                false
            }
        };
        let secondary = match debt_row::parse_flag(get(Column::MultiBeneficiary)) {
            Some(true) => Some(SecondaryFields {
                fiscal_code: get(Column::MbFiscalCode).to_owned(),
                name: get(Column::MbName).to_owned(),
                iban: get(Column::MbIban).to_owned(),
                address: get(Column::MbAddress).to_owned(),
                civic_number: get(Column::MbCivicNumber).to_owned(),
                postal_code: get(Column::MbPostalCode).to_owned(),
                city: get(Column::MbCity).to_owned(),
                province: get(Column::MbProvince).to_owned(),
                country: get(Column::MbCountry).to_owned(),
                collection_data: get(Column::MbCollectionData).to_owned(),
                causale: get(Column::MbCausale).to_owned(),
                amount: get(Column::MbAmount).to_owned(),
            }),
            Some(false) => None,
            None => {
                errors.push(syntax("FLAG_MULTI_BENEFICIARIO NON CONFORME"));
                None
            }
        };
        let fields = DebtFields {
            iud: iud.to_owned(),
            iuv: get(Column::Iuv).trim().to_owned(),
            debtor_kind: get(Column::DebtorKind).to_owned(),
            debtor_id: get(Column::DebtorId).to_owned(),
            debtor_name: get(Column::DebtorName).to_owned(),
            debtor_address: get(Column::Address).to_owned(),
            debtor_civic_number: get(Column::CivicNumber).to_owned(),
            debtor_postal_code: get(Column::PostalCode).to_owned(),
            debtor_city: get(Column::City).to_owned(),
            debtor_province: get(Column::Province).to_owned(),
            debtor_country: get(Column::Country).to_owned(),
            debtor_email: get(Column::Email).to_owned(),
            due_date: get(Column::DueDate).to_owned(),
            amount: get(Column::Amount).to_owned(),
            fee: get(Column::Fee).to_owned(),
            debt_type: get(Column::DebtType).to_owned(),
            payment_kinds: get(Column::PaymentKinds).to_owned(),
            causale: get(Column::Causale).to_owned(),
            collection_data: get(Column::CollectionData).to_owned(),
            generate_iuv,
            bilancio: read_bilancio(get(Column::Bilancio)),
            secondary,
            ..DebtFields::default()
        };
        let debt_type = self.rules.debt_types.get(fields.debt_type.trim()).cloned();
        // `M` and `A` may repeat the IUV the debt already has, which only the store knows.
        let needs_current_iuv = matches!(action, Some("M" | "A")) && !fields.iuv.is_empty();
        let iud = fields.iud.clone();
        let row = if needs_current_iuv {
            PreparedRow { fields: Some(fields), debt_type, checked: None, result: None, plan }
        } else {
            let checked =
                debt_row::validate(&fields, &self.rules.context(debt_type.as_ref(), action == Some("I"), None));
            let result = match (&checked, action) {
                (Ok(valid), Some(action)) if errors.is_empty() => {
                    let mut record = normalized(valid, action);
                    if let Some(slot) = record.get_mut(Column::Options.index()) {
                        options_text.clone_into(slot);
                    }
                    Some(ResultLine::new(&self.layout, &record))
                }
                _ => None,
            };
            PreparedRow { fields: None, debt_type, checked: Some(checked), result, plan }
        };
        Prepared { line: line.to_owned(), iud, action, errors, repeated_at, row: Some(Box::new(row)) }
    }
}

/// At most this many bytes in an `opzioniPagamento` value (100 instalments of ~25 bytes, and some).
const OPTIONS_MAX: usize = 4096;

/// Parses an `opzioniPagamento` value: `R:AMOUNT:YYYY-MM-DD` per instalment and at most one
/// `D:AMOUNT:YYYY-MM-DD` (reduced amount, last day), separated by `|`, amounts with a dot. The
/// plan's other checks (dates, sums, counts) are the domain's, run when the row is applied.
/// The error is the Italian description the row's `_SCARTI` line carries.
pub(crate) fn parse_options(text: &str) -> Result<Plan, String> {
    if text.len() > OPTIONS_MAX {
        return Err(format!("opzioniPagamento oltre {OPTIONS_MAX} caratteri"));
    }
    let mut plan = Plan::default();
    for part in text.split('|') {
        let bad =
            || format!("opzioniPagamento non valida: '{part}' (atteso R:importo:AAAA-MM-GG o D:importo:AAAA-MM-GG)");
        let mut pieces = part.trim().splitn(3, ':');
        let (Some(kind), Some(amount), Some(day)) = (pieces.next(), pieces.next(), pieces.next()) else {
            return Err(bad());
        };
        let amount = Cents::parse_decimal(amount.trim()).map_err(|_| bad())?;
        let day = Day::parse(day.trim()).map_err(|_| bad())?;
        match kind.trim() {
            "R" if plan.instalments.len() < MAX_INSTALMENTS => plan.instalments.push((amount, day)),
            "R" => return Err(format!("opzioniPagamento: più di {MAX_INSTALMENTS} rate")),
            "D" if plan.reduced.is_none() => plan.reduced = Some((amount, day)),
            "D" => return Err("opzioniPagamento: più di un importo ridotto".to_owned()),
            _ => return Err(bad()),
        }
    }
    Ok(plan)
}

/// The `_IUV` record of a loaded row, by logical column (mypay.md §2.7): normalized values; the
/// IUV is filled in once applied.
pub(crate) fn normalized(valid: &ValidDebt, action: &str) -> Vec<String> {
    let mut record = vec![String::new(); N_COLUMNS];
    let mut set = |column: Column, value: String| {
        if let Some(slot) = record.get_mut(column.index()) {
            *slot = value;
        }
    };
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    set(Column::Iud, valid.iud.clone());
    set(Column::DebtorKind, valid.debtor_kind.code().to_string());
    set(Column::DebtorId, valid.debtor.as_str().to_owned());
    set(Column::DebtorName, valid.debtor_name.clone());
    set(Column::Address, text(&valid.debtor_address));
    set(Column::CivicNumber, text(&valid.debtor_civic_number));
    set(Column::PostalCode, text(&valid.debtor_postal_code));
    set(Column::City, text(&valid.debtor_city));
    set(Column::Province, text(&valid.debtor_province));
    set(Column::Country, text(&valid.debtor_country));
    set(Column::Email, text(&valid.debtor_email));
    set(Column::DueDate, valid.due_date.map(|d| d.to_string()).unwrap_or_default());
    set(Column::Amount, valid.amount.to_decimal_string());
    set(Column::Fee, valid.fee.map(|f| f.to_decimal_string()).unwrap_or_default());
    set(Column::DebtType, valid.debt_type.clone());
    set(Column::PaymentKinds, valid.payment_kinds.clone());
    set(Column::Causale, valid.causale.clone());
    set(Column::CollectionData, valid.collection_data.as_str().to_owned());
    set(Column::Bilancio, text(&valid.bilancio));
    set(Column::GenerateIuv, valid.generate_iuv.to_string());
    set(Column::MultiBeneficiary, valid.secondary.is_some().to_string());
    if let Some(mb) = &valid.secondary {
        set(Column::MbFiscalCode, mb.fiscal_code.as_str().to_owned());
        set(Column::MbName, mb.name.clone());
        set(Column::MbIban, mb.iban.as_str().to_owned());
        set(Column::MbAddress, text(&mb.address));
        set(Column::MbCivicNumber, text(&mb.civic_number));
        set(Column::MbPostalCode, text(&mb.postal_code));
        set(Column::MbCity, text(&mb.city));
        set(Column::MbProvince, text(&mb.province));
        set(Column::MbCountry, text(&mb.country));
        set(Column::MbCollectionData, mb.collection_data.as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default());
        set(Column::MbCausale, text(&mb.causale));
        set(Column::MbAmount, mb.amount.to_decimal_string());
    }
    set(Column::Action, action.to_owned());
    record
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn parses_instalments_and_reduced_and_refuses_the_rest() {
        let plan = parse_options("R:30.00:2027-01-31|R:20.50:2027-02-28|D:40.00:2027-01-15").unwrap();
        assert_eq!(plan.instalments.len(), 2);
        assert_eq!(plan.instalments[1].0.get(), 2050);
        assert_eq!(plan.reduced.map(|r| r.0.get()), Some(4000));
        assert!(parse_options("R:30,00:2027-01-31").is_err());
        assert!(parse_options("X:30.00:2027-01-31").is_err());
        assert!(parse_options("R:30.00").is_err());
        assert!(parse_options("D:1.00:2027-01-01|D:1.00:2027-01-02").is_err());
    }
}
