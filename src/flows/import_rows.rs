//! The reading half of an import (reference/mypay.md §2.3–2.4). On a thread of its own it opens
//! the stored upload, reads the CSV line by line, splits each line and runs every row check that
//! needs no database, then hands the prepared rows, in file order and in batches, to the thread
//! that holds the import's transaction (`flows::import`), which finishes each row against the
//! store. So the checks of one batch run while the previous batch is being written: an import
//! keeps both cores busy.
//!
//! What is left to the transaction thread, because only the store knows it: whether an IUD whose
//! hash was seen earlier in the file really was (the earlier row may still be in flight), the
//! current IUV of a debt that `M` or `A` names with an IUV, and everything of §2.5.
//! Must never: touch the database, or reorder rows.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::BuildHasher;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver, SyncSender};

use jiff::civil::Date;

use super::csv_row::{self, LineReader};
use super::import::{FileError, RunError, Stop, generic, read_bilancio, read_error, zip_error};
use super::import_layout::{Column, Layout, N_COLUMNS, Version};
use super::zipfile::{self, Limited, ZipError};
use crate::domain::SegregationCode;
use crate::domain::debt_row::{self, DebtFields, DebtTypeRules, RowContext, RowError, SecondaryFields, ValidDebt};
use crate::store::debt_types::DebtTypeRecord;

/// Rows per batch handed to the transaction thread.
const BATCH: usize = 512;

/// Where the reader finds the CSV: the stored upload and the name the CSV must have inside it.
pub(super) struct Upload {
    pub path: PathBuf,
    /// `<IPA>-<IUF>-<version>`: the CSV is `<base>.csv`.
    pub base: String,
    pub version: Version,
    /// Most bytes the CSV may decompress to.
    pub limit: u64,
}

/// The CSV's first line, and how its columns bind.
pub(super) struct Header {
    /// As read, without a byte-order mark: the result files repeat it.
    pub text: String,
    pub layout: Layout,
    /// The CSV's size as the ZIP declares it, for progress reports.
    pub declared: u64,
}

/// What the row checks need from the store, read once in the import's transaction.
pub(super) struct Rules {
    pub version: Version,
    pub segregation_code: SegregationCode,
    /// Today in Europe/Rome.
    pub today: Date,
    /// The org's debt types by code.
    pub debt_types: HashMap<String, KnownType>,
}

/// A debt type of the org, with the rules its rows are checked against.
#[derive(Clone)]
pub(super) struct KnownType {
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
pub(super) enum Batch {
    Header(Box<Header>),
    Rows(Vec<Prepared>),
    Failed(Stop),
    End,
}

/// One data line, checked as far as the file alone allows.
pub(super) struct Prepared {
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
    /// `None` when the line could not even be split into its columns.
    pub row: Option<PreparedRow>,
}

/// The fields of a line that split into the right number of columns.
pub(super) struct PreparedRow {
    pub fields: DebtFields,
    pub debt_type: Option<KnownType>,
    /// The verdict of `debt_row::validate`, or `None` when it needs the debt's current IUV.
    pub checked: Option<Result<ValidDebt, Vec<RowError>>>,
}

pub(super) const SYNTAX: &str = "PAA_IMPORT_SINTASSI_CSV";

pub(super) fn syntax(description: &str) -> RowError {
    RowError { code: SYNTAX, description: description.to_owned() }
}

/// The reader thread's body: reads `upload` and sends what it finds to `out`; waits for the
/// [`Rules`] after the header. Returns quietly when the transaction thread hangs up.
pub(super) fn read(upload: Upload, out: SyncSender<Batch>, rules: Receiver<Arc<Rules>>, read_bytes: Arc<AtomicU64>) {
    if let Err(stop) = read_all(&upload, &out, &rules, read_bytes) {
        let _ = out.send(Batch::Failed(stop));
    }
}

fn read_all(
    upload: &Upload,
    out: &SyncSender<Batch>,
    rules: &Receiver<Arc<Rules>>,
    read_bytes: Arc<AtomicU64>,
) -> Result<(), Stop> {
    let limit = upload.limit;
    let file = File::open(&upload.path)
        .map_err(|err| Stop::Run(RunError::System(format!("cannot open the stored upload: {err}"))))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|err| Stop::File(zip_error(ZipError::Unreadable(err.to_string()))))?;
    let (index, declared) =
        zipfile::find_csv(&mut archive, &upload.base, limit).map_err(|e| Stop::File(zip_error(e)))?;
    let entry = archive.by_index(index).map_err(|err| Stop::File(zip_error(ZipError::Unreadable(err.to_string()))))?;
    let mut lines = LineReader::new(BufReader::with_capacity(256 * 1024, Limited::new(entry, limit, read_bytes)));

    let text = match lines.next_line().map_err(|e| read_error(e, limit))? {
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
    if out.send(Batch::Header(Box::new(Header { text, layout: layout.clone(), declared }))).is_err() {
        return Ok(());
    }
    let Ok(rules) = rules.recv() else {
        return Ok(());
    };
    let mut preparer = Preparer { layout, rules, hasher: std::hash::RandomState::new(), seen: HashSet::new() };
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let line_no = lines.line_no + 1;
        let Some(bytes) = lines.next_line().map_err(|e| read_error(e, limit))? else { break };
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let line = std::str::from_utf8(bytes)
            .map_err(|_| Stop::File(generic(format!("riga {line_no}: il file CSV non è in UTF-8"))))?;
        batch.push(preparer.prepare(line));
        if batch.len() == BATCH
            && out.send(Batch::Rows(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err()
        {
            return Ok(());
        }
    }
    if !batch.is_empty() && out.send(Batch::Rows(batch)).is_err() {
        return Ok(());
    }
    let _ = out.send(Batch::End);
    Ok(())
}

/// Checks lines one after the other.
struct Preparer {
    layout: Layout,
    rules: Arc<Rules>,
    hasher: std::hash::RandomState,
    /// One hash per IUD read so far (mypay.md §2.4: unique in the file); a repeat is confirmed
    /// exactly by the transaction thread.
    seen: HashSet<u64>,
}

impl Preparer {
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
        let expected = self.layout.version.n_columns();
        if fields.len() > expected {
            return unreadable("Too many columns");
        }
        if fields.len() < expected {
            return unreadable("Too few columns");
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
        let iud = get(Column::Iud);
        let repeated_at = (!iud.is_empty() && !self.seen.insert(self.hasher.hash_one(iud))).then_some(errors.len());
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
        let checked = (!needs_current_iuv)
            .then(|| debt_row::validate(&fields, &self.rules.context(debt_type.as_ref(), action == Some("I"), None)));
        Prepared {
            line: line.to_owned(),
            iud: fields.iud.clone(),
            action,
            errors,
            repeated_at,
            row: Some(PreparedRow { fields, debt_type, checked }),
        }
    }
}
