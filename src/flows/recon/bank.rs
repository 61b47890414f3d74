//! T, bank movements as an Excel sheet (mypivot.md §1.1): the first sheet of the `.xls` (BIFF) —
//! or `.xlsx`, which banks send today — in the ZIP, read with calamine. Its first row names the 14
//! columns, found by their text; dates are text `yyyyMMddHHmmss` (MyPivot) or date cells (P4PA);
//! amounts `292,00` (or a number cell); only `SEGNO` `+` rows are credits, `-` rows are skipped.
//! The keys, the `Data Ordine`, the `Descrizione Ordinante` and the `:XXX:` tags come from
//! `DESCRIZIONE ESTESA`. A credit without keys is kept (§8 f: it becomes TES_NO_MATCH; MyPivot
//! dropped it). Budgets: an `.xls` passes `biff::check` (sizes, chains, sheet rectangles) before
//! calamine opens it; an `.xlsx` is inflated once with a cap first (its shared strings are read
//! whole), then read cell by cell up to [`MAX_CELLS`]; a panic inside calamine is a refusal.
//! Must never: hold more than [`MAX_CELLS`] cells of a `.xlsx`, or read an amount through
//! floating-point arithmetic (a number cell is read from its shortest decimal spelling).

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{Data, DataRef, ExcelDateTime, Reader, Xls, Xlsx};

use super::archive::Zip;
use super::{FileRejection, Item, MAX_ROWS, Out, ReadError};
use crate::domain::reconciliation::causale;
use crate::domain::reconciliation::{BankDetails, Source, TreasuryEvent, TreasuryMovement};
use crate::domain::{Cents, Day};
use crate::flows::zipfile::Limited;

/// The largest sheet file, inflated from the upload.
pub const MAX_SHEET_BYTES: u64 = 32 * 1024 * 1024;
/// The most an `.xlsx`'s own entries may inflate to.
pub const MAX_XLSX_INFLATED: u64 = 256 * 1024 * 1024;
/// The most non-empty cells read: 14 columns of some 70,000 rows.
pub const MAX_CELLS: usize = 1_000_000;

/// The 14 headers, in MyPivot's order.
pub const HEADERS: [&str; 14] = [
    "ABI",
    "CAB",
    "CONTO",
    "DIVISA",
    "DATA CONTABILE",
    "DATA VALUTA",
    "IMPORTO",
    "SEGNO",
    "CAUSALE",
    "NUM. ASSEGNO",
    "RIF. BANCA",
    "RIF. CLIENTE",
    "DESCRIZIONE",
    "DESCRIZIONE ESTESA",
];

/// The tags MyPivot reads from `DESCRIZIONE ESTESA`.
const TAGS: [&str; 17] = [
    "BI2", "BE1", "IB1", "IB2", "IB4", "TID", "DTE", "DTN", "ERI", "IM2", "MA2", "RI3", "OR1", "SC2", "TR1", "SEC",
    "IOR",
];

/// A cell as this reader needs it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// Text, trimmed.
    Text(String),
    /// A number cell, in its shortest decimal spelling (`292`, `45.5`).
    Number(String),
    /// A date cell.
    Date(Option<Day>),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(text) | Value::Number(text) => text.clone(),
            Value::Date(Some(day)) => day.text(),
            Value::Date(None) => String::new(),
        }
    }
}

/// Rows by number (from 0), each its cells by column.
type Sheet = BTreeMap<u32, BTreeMap<u32, Value>>;

pub(super) fn read<E>(zip: &mut Zip, base: &str, out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
    let index = zip.named_entry(base, &["xls", "xlsx"])?;
    let bytes = zip.bytes(index, MAX_SHEET_BYTES)?;
    let sheet = if bytes.starts_with(b"PK") { xlsx(bytes)? } else { xls(bytes)? };
    let mut rows = sheet.iter();
    let Some((_, header)) = rows.next() else {
        return Err(FileRejection::Empty.into());
    };
    let columns = columns(header)?;
    for (row_number, cells) in rows {
        let line = u64::from(*row_number) + 1;
        if line > MAX_ROWS {
            return Err(FileRejection::TooManyRows(MAX_ROWS).into());
        }
        let values: [Option<&Value>; 14] = columns.map(|col| cells.get(&col));
        if values.iter().all(|v| v.is_none_or(|v| v.text().is_empty())) {
            continue;
        }
        row(line, &values, out)?;
    }
    Ok(())
}

/// The column of each of the 14 headers in the first row (trimmed, any case).
fn columns(header: &BTreeMap<u32, Value>) -> Result<[u32; 14], FileRejection> {
    let mut missing = Vec::new();
    let mut found = [0_u32; 14];
    for (slot, wanted) in found.iter_mut().zip(HEADERS) {
        match header.iter().find(|(_, v)| v.text().trim().eq_ignore_ascii_case(wanted)) {
            Some((col, _)) => *slot = *col,
            None => missing.push(wanted),
        }
    }
    if missing.is_empty() { Ok(found) } else { Err(FileRejection::MissingColumns(missing.join(", "))) }
}

fn row<E>(line: u64, values: &[Option<&Value>; 14], out: &mut Out<'_, E>) -> Result<(), ReadError<E>> {
    let text = |at: usize| values.get(at).copied().flatten().map(Value::text).unwrap_or_default();
    let value = |at: usize| values.get(at).copied().flatten();
    let fields = || (0..14).map(|at| super::shown(&text(at))).collect::<Vec<_>>();
    match text(7).as_str() {
        "+" => {}
        "-" => {
            out.ignore();
            return Ok(());
        }
        other => return out.reject(line, fields(), format!("SEGNO [{other}] non valido")),
    }
    let mut errors = Vec::new();
    let booking_day = value(4).and_then(day_of);
    if booking_day.is_none() {
        errors.push(format!("DATA CONTABILE [{}] non valida: formato atteso yyyyMMddHHmmss", text(4)));
    }
    let value_day = if text(5).is_empty() { Ok(None) } else { value(5).and_then(day_of).map(Some).ok_or(()) };
    if value_day.is_err() {
        errors.push(format!("DATA VALUTA [{}] non valida: formato atteso yyyyMMddHHmmss", text(5)));
    }
    let amount = value(6).and_then(amount_of);
    if amount.is_none() {
        errors.push(format!("IMPORTO [{}] non valido: formato atteso 1234,56", text(6)));
    }
    let (Some(booking_day), Ok(value_day), Some(amount)) = (booking_day, value_day, amount) else {
        return out.reject(line, fields(), errors.join("|"));
    };
    let extended = text(13);
    let keys = causale::keys(&extended);
    let tags = tags(&extended);
    let orderer = after_label(&extended, "DESCRIZIONE ORDINANTE:", ':');
    let non_empty = |at: usize| Some(text(at)).filter(|t| !t.is_empty());
    let payer_name = orderer
        .clone()
        .or_else(|| tags.iter().find(|(tag, _)| tag == "OR1").map(|(_, v)| v.clone()))
        .filter(|p| !p.is_empty());
    let bank = BankDetails {
        abi: non_empty(0),
        cab: non_empty(1),
        currency: non_empty(3),
        cheque: non_empty(9),
        bank_reference: non_empty(10),
        customer_reference: non_empty(11),
        order_day: after_label(&extended, "DATA ORDINE:", ';').and_then(|d| super::day_dmy(&d)),
        orderer,
        tags,
    };
    let movement = TreasuryMovement {
        source: Source::BankMovements,
        bolletta: None,
        account: non_empty(2),
        booking_day,
        value_day,
        amount,
        causale: extended,
        payer_name,
        iuf: keys.iuf,
        iuv: keys.iuv,
        end_to_end_id: None,
        document: None,
        provisional: None,
        bank: Some(bank),
    };
    out.give(Item::Treasury(TreasuryEvent::Movement(Box::new(movement))))
}

/// A day from a date cell, or from text (or a number cell) `yyyyMMddHHmmss` or `yyyyMMdd`.
fn day_of(value: &Value) -> Option<Day> {
    match value {
        Value::Date(day) => *day,
        Value::Text(text) | Value::Number(text) => {
            if !(text.len() == 14 || text.len() == 8) || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Day::parse(&format!("{}-{}-{}", text.get(0..4)?, text.get(4..6)?, text.get(6..8)?)).ok()
        }
    }
}

/// T's amount: text with a decimal comma (`292,00`, MyPivot's `,`→`.`), or a number cell read
/// from its shortest spelling (`292`, `45.5`); a credit above zero.
fn amount_of(value: &Value) -> Option<Cents> {
    match value {
        Value::Text(text) => super::amount_comma(text),
        Value::Number(text) => Cents::parse_decimal(text).ok().filter(|c| c.is_positive()),
        Value::Date(_) => None,
    }
}

/// The `:XXX:` tags MyPivot reads, in order, each with the text up to the next `:`, trimmed.
fn tags(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(':') {
        let after = rest.get(at + 1..).unwrap_or_default();
        let tag = after.get(..3).filter(|tag| TAGS.contains(tag) && after.get(3..4) == Some(":"));
        match tag {
            Some(tag) => {
                let value_and_more = after.get(4..).unwrap_or_default();
                let value = value_and_more.split(':').next().unwrap_or_default();
                found.push((tag.to_owned(), value.trim().to_owned()));
                // The `:` that ends the value may open the next tag.
                rest = after.get(4 + value.len()..).unwrap_or_default();
            }
            None => rest = after,
        }
    }
    found
}

/// The text after `label` (any case) up to `end`, trimmed.
fn after_label(text: &str, label: &str, end: char) -> Option<String> {
    let at = text.to_ascii_uppercase().find(label)?;
    let rest = text.get(at + label.len()..)?;
    let value = rest.split(end).next()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn date_cell(date: &ExcelDateTime) -> Value {
    if !date.is_datetime() {
        return Value::Text(String::new());
    }
    let (year, month, day, ..) = date.to_ymd_hms_milli();
    let day = jiff::civil::Date::new(
        i16::try_from(year).unwrap_or(0),
        i8::try_from(month).unwrap_or(0),
        i8::try_from(day).unwrap_or(0),
    )
    .ok()
    .map(Day::from);
    Value::Date(day)
}

fn iso_date(text: &str) -> Value {
    Value::Date(text.get(..10).and_then(|d| Day::parse(d).ok()))
}

/// Runs calamine, turning a panic on a malformed file into a refusal (the budgets are checked
/// before, so what is left is a parse error calamine reports by panicking).
fn guarded<T>(read: impl FnOnce() -> Result<T, FileRejection>) -> Result<T, FileRejection> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
        .unwrap_or_else(|_| Err(FileRejection::NotASheet("the workbook is malformed".to_owned())))
}

fn xls(bytes: Vec<u8>) -> Result<Sheet, FileRejection> {
    super::biff::check(&bytes).map_err(FileRejection::NotASheet)?;
    guarded(|| xls_cells(bytes))
}

fn xls_cells(bytes: Vec<u8>) -> Result<Sheet, FileRejection> {
    let mut book = Xls::new(Cursor::new(bytes)).map_err(|err| FileRejection::NotASheet(err.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| FileRejection::NotASheet("no sheet".to_owned()))?
        .map_err(|err| FileRejection::NotASheet(err.to_string()))?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let mut sheet = Sheet::new();
    let mut cells = 0_usize;
    for (row, col, data) in range.used_cells() {
        cells += 1;
        if cells > MAX_CELLS {
            return Err(FileRejection::TooManyRows(MAX_ROWS));
        }
        let value = match data {
            Data::Int(n) => Value::Number(n.to_string()),
            Data::Float(f) => Value::Number(f.to_string()),
            Data::String(s) => Value::Text(s.trim().to_owned()),
            Data::Bool(b) => Value::Text(b.to_string()),
            Data::DateTime(date) => date_cell(date),
            Data::DateTimeIso(text) => iso_date(text),
            Data::DurationIso(_) | Data::Error(_) | Data::Empty => continue,
        };
        let (row, col) = (
            u32::try_from(row).unwrap_or(u32::MAX).saturating_add(row0),
            u32::try_from(col).unwrap_or(u32::MAX).saturating_add(col0),
        );
        sheet.entry(row).or_default().insert(col, value);
    }
    Ok(sheet)
}

fn xlsx(bytes: Vec<u8>) -> Result<Sheet, FileRejection> {
    inflate_within(&bytes, MAX_XLSX_INFLATED)?;
    guarded(|| xlsx_cells(bytes))
}

fn xlsx_cells(bytes: Vec<u8>) -> Result<Sheet, FileRejection> {
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(|err| FileRejection::NotASheet(err.to_string()))?;
    let name = book.sheet_names().first().cloned().ok_or_else(|| FileRejection::NotASheet("no sheet".to_owned()))?;
    let mut reader = book.worksheet_cells_reader(&name).map_err(|err| FileRejection::NotASheet(err.to_string()))?;
    let mut sheet = Sheet::new();
    let mut cells = 0_usize;
    while let Some(cell) = reader.next_cell().map_err(|err| FileRejection::NotASheet(err.to_string()))? {
        let value = match cell.get_value() {
            DataRef::Int(n) => Value::Number(n.to_string()),
            DataRef::Float(f) => Value::Number(f.to_string()),
            DataRef::String(s) => Value::Text(s.trim().to_owned()),
            DataRef::SharedString(s) => Value::Text(s.trim().to_owned()),
            DataRef::Bool(b) => Value::Text(b.to_string()),
            DataRef::DateTime(date) => date_cell(date),
            DataRef::DateTimeIso(text) => iso_date(text),
            DataRef::DurationIso(_) | DataRef::Error(_) | DataRef::Empty => continue,
        };
        cells += 1;
        if cells > MAX_CELLS {
            return Err(FileRejection::TooManyRows(MAX_ROWS));
        }
        let (row, col) = cell.get_position();
        sheet.entry(row).or_default().insert(col, value);
    }
    Ok(sheet)
}

/// Inflates every entry of an `.xlsx` (itself a ZIP) through a counter, so one whose shared
/// strings or sheet would inflate beyond `cap` ([`MAX_XLSX_INFLATED`]) is refused before calamine
/// reads it.
fn inflate_within(bytes: &[u8], cap: u64) -> Result<(), FileRejection> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|err| FileRejection::NotASheet(err.to_string()))?;
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut sink = [0_u8; 64 * 1024];
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|err| FileRejection::NotASheet(err.to_string()))?;
        let mut limited = Limited::new(entry, cap, std::sync::Arc::clone(&counter));
        loop {
            match limited.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::FileTooLarge => {
                    return Err(FileRejection::InflatedTooLarge(cap));
                }
                Err(err) => return Err(FileRejection::NotASheet(err.to_string())),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn tags_and_labels_of_the_extended_description() {
        let text = "Data Ordine: 17/05/2024; Descrizione Ordinante: BANCA DI PROVA SPA: /PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001 :OR1:BANCA DI PROVA SPA:BI2:TESTITM1XXX:";
        assert_eq!(
            tags(text),
            [("OR1".to_owned(), "BANCA DI PROVA SPA".to_owned()), ("BI2".to_owned(), "TESTITM1XXX".to_owned())]
        );
        assert_eq!(after_label(text, "DESCRIZIONE ORDINANTE:", ':').as_deref(), Some("BANCA DI PROVA SPA"));
        assert_eq!(after_label(text, "DATA ORDINE:", ';').as_deref(), Some("17/05/2024"));
        assert_eq!(tags(":XYZ:a:OR1:"), [("OR1".to_owned(), String::new())]);
        assert!(tags("::::é:").is_empty());
    }

    #[test]
    fn days_and_amounts_of_cells() {
        assert_eq!(day_of(&Value::Text("20240517000000".to_owned())).unwrap().text(), "2024-05-17");
        assert_eq!(day_of(&Value::Number("20240517000000".to_owned())).unwrap().text(), "2024-05-17");
        assert_eq!(day_of(&Value::Text("17/05/2024".to_owned())), None);
        assert_eq!(amount_of(&Value::Text("292,00".to_owned())), Some(Cents::new(29200)));
        assert_eq!(amount_of(&Value::Text("1.234,56".to_owned())), Some(Cents::new(123456)));
        assert_eq!(amount_of(&Value::Number("45.5".to_owned())), Some(Cents::new(4550)));
        assert_eq!(amount_of(&Value::Number("0.30000000000000004".to_owned())), None);
        assert_eq!(amount_of(&Value::Text("-2,00".to_owned())), None);
    }

    #[test]
    fn an_xlsx_inflating_past_its_cap_is_refused_before_calamine() {
        let xlsx = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon/c_x999-MOVCC20240522-1_0.xlsx"),
        )
        .unwrap();
        assert_eq!(inflate_within(&xlsx, MAX_XLSX_INFLATED), Ok(()));
        assert_eq!(inflate_within(&xlsx, 1000), Err(FileRejection::InflatedTooLarge(1000)));
    }

    #[test]
    fn a_panic_inside_calamine_is_a_refusal() {
        let refused: Result<(), FileRejection> = guarded(|| panic!("calamine indexed out of bounds"));
        assert_eq!(refused, Err(FileRejection::NotASheet("the workbook is malformed".to_owned())));
    }
}
