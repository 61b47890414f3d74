//! Reading a receipt export back (reference/mypay.md §3.3-3.4, the layouts `rt_export` writes):
//! what a regional MyPay's `paaSILPrenotaExportFlussoIncrementaleConRicevuta` file tells a box
//! about each payment of its debts, one [`ReceiptRow`] per row (one row per paid dovuto).
//!
//! Columns are found by their header names, so every layout (1.0-1.3, with or without the receipt)
//! reads alike; the "ConRicevuta" layouts add `rt`, the receipt itself in base64 (a paSendRT(V2)
//! request or a bare `receipt` element), and `indiceDatiSingoloPagamento`. The dialect is
//! opencsv's (`quoted_csv`): `;`, every field quoted, `"` doubled; a quoted field may hold a line
//! break, so a record may span lines.
//! Must never: hold more than one record in memory (records are at most [`MAX_RECORD_BYTES`]), or
//! trust the ZIP's names or sizes (`zipfile`).

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use base64::Engine as _;
use zip::ZipArchive;

use super::csv_row::LineReader;
use super::zipfile::{self, Limited, ZipError};
use crate::domain::{Cents, Party};

/// Longest record accepted, in bytes: a row is about 2 KB plus its receipt in base64 (a receipt
/// with five transfers and a stamp is some 10 KB).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Why an export cannot be read (further).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Zip(#[from] ZipError),
    #[error("cannot read the export: {0}")]
    Io(#[from] io::Error),
    #[error("the export has no header row")]
    NoHeader,
    #[error("the export's header has no {0} column")]
    MissingColumn(&'static str),
    #[error("line {line}: {reason}")]
    Record { line: u64, reason: String },
}

/// One row: one dovuto paid by one receipt, as the Region exported it. Texts as found (empty when
/// the column is absent or blank); amounts `None` when unreadable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptRow {
    /// The physical line the record starts on, for messages.
    pub line: u64,
    /// `codIud`.
    pub iud: String,
    /// `codIuv`, else `identificativoUnivocoVersamento`.
    pub iuv: String,
    /// `identificativoDominio`: the creditor's fiscal code.
    pub org_fiscal_code: String,
    /// `identificativoMessaggioRicevuta` (`-9-…` for a payment recorded outside pagoPA).
    pub message_id: String,
    /// `dataOraMessaggioRicevuta`, local time without zone.
    pub message_date_time: String,
    /// `tipoIdentificativoUnivoco` and `codiceIdentificativoUnivoco` of the PSP (attestante).
    pub psp_kind: String,
    pub psp_code: String,
    /// `denominazioneAttestante`.
    pub psp_name: String,
    /// The `soggVers*` columns (versante), when there is one.
    pub payer: Option<Party>,
    /// The `soggPag*` columns (pagatore): the debtor.
    pub debtor: Party,
    /// `codiceEsitoPagamento`: `0` paid.
    pub outcome_code: String,
    /// `importoTotalePagato`.
    pub total: Option<Cents>,
    /// `singoloImportoPagato`.
    pub amount: Option<Cents>,
    /// `esitoSingoloPagamento` (`ESEGUITO`, or `PAGATO CON RENDICONTAZIONE 9` outside pagoPA).
    pub line_outcome: String,
    /// `dataEsitoSingoloPagamento`, `YYYY-MM-DD`.
    pub outcome_date: String,
    /// `identificativoUnivocoRiscoss`: the receipt id.
    pub receipt_id: String,
    /// `causaleVersamento`.
    pub causale: String,
    /// `datiSpecificiRiscossione`.
    pub collection_data: String,
    /// `tipoDovuto` (`EXPORT_ENTE_SECONDARIO` for a receipt where the org is a secondary beneficiary).
    pub debt_type: String,
    /// `rt` decoded; empty without one. Bytes that are not base64 are kept as found, so that the
    /// receipt reader says what is wrong with them.
    pub rt: Vec<u8>,
    /// `indiceDatiSingoloPagamento`.
    pub transfer_index: Option<i64>,
    /// `numRtDatiPagDatiSingPagCommissioniApplicatePsp`.
    pub fee: Option<Cents>,
}

/// The columns read, by header name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Iud,
    Iuv,
    OrgFiscalCode,
    MessageId,
    MessageDateTime,
    PspKind,
    PspCode,
    PspName,
    PayerKind,
    PayerId,
    PayerName,
    PayerEmail,
    DebtorKind,
    DebtorId,
    DebtorName,
    DebtorAddress,
    DebtorCivic,
    DebtorPostalCode,
    DebtorCity,
    DebtorProvince,
    DebtorCountry,
    DebtorEmail,
    OutcomeCode,
    Total,
    PaymentIuv,
    Amount,
    LineOutcome,
    OutcomeDate,
    ReceiptId,
    Causale,
    CollectionData,
    DebtType,
    Rt,
    TransferIndex,
    Fee,
}

const COLUMNS: [(Col, &str); 35] = [
    (Col::Iud, "codIud"),
    (Col::Iuv, "codIuv"),
    (Col::OrgFiscalCode, "identificativoDominio"),
    (Col::MessageId, "identificativoMessaggioRicevuta"),
    (Col::MessageDateTime, "dataOraMessaggioRicevuta"),
    (Col::PspKind, "tipoIdentificativoUnivoco"),
    (Col::PspCode, "codiceIdentificativoUnivoco"),
    (Col::PspName, "denominazioneAttestante"),
    (Col::PayerKind, "soggVersTipoIdentificativoUnivoco"),
    (Col::PayerId, "soggVersCodiceIdentificativoUnivoco"),
    (Col::PayerName, "anagraficaVersante"),
    (Col::PayerEmail, "emailVersante"),
    (Col::DebtorKind, "soggPagTipoIdentificativoUnivoco"),
    (Col::DebtorId, "soggPagCodiceIdentificativoUnivoco"),
    (Col::DebtorName, "anagraficaPagatore"),
    (Col::DebtorAddress, "indirizzoPagatore"),
    (Col::DebtorCivic, "civicoPagatore"),
    (Col::DebtorPostalCode, "capPagatore"),
    (Col::DebtorCity, "localitaPagatore"),
    (Col::DebtorProvince, "provinciaPagatore"),
    (Col::DebtorCountry, "nazionePagatore"),
    (Col::DebtorEmail, "emailPagatore"),
    (Col::OutcomeCode, "codiceEsitoPagamento"),
    (Col::Total, "importoTotalePagato"),
    (Col::PaymentIuv, "identificativoUnivocoVersamento"),
    (Col::Amount, "singoloImportoPagato"),
    (Col::LineOutcome, "esitoSingoloPagamento"),
    (Col::OutcomeDate, "dataEsitoSingoloPagamento"),
    (Col::ReceiptId, "identificativoUnivocoRiscoss"),
    (Col::Causale, "causaleVersamento"),
    (Col::CollectionData, "datiSpecificiRiscossione"),
    (Col::DebtType, "tipoDovuto"),
    (Col::Rt, "rt"),
    (Col::TransferIndex, "indiceDatiSingoloPagamento"),
    (Col::Fee, "numRtDatiPagDatiSingPagCommissioniApplicatePsp"),
];

/// Without these a row says nothing usable.
const REQUIRED: [Col; 3] = [Col::Iuv, Col::ReceiptId, Col::Amount];

fn name_of(col: Col) -> &'static str {
    COLUMNS.iter().find(|(c, _)| *c == col).map_or("?", |(_, name)| name)
}

/// Reads the rows of one export CSV.
pub struct RowReader<R> {
    lines: LineReader<R>,
    /// For each [`COLUMNS`] entry, its position in the header.
    positions: Vec<Option<usize>>,
    record: String,
    fields: Vec<String>,
}

impl<R: BufRead> RowReader<R> {
    /// Reads the header; fails without one or without the [`REQUIRED`] columns.
    pub fn new(inner: R) -> Result<RowReader<R>, ReadError> {
        let mut reader = RowReader {
            lines: LineReader::with_max(inner, MAX_RECORD_BYTES),
            positions: Vec::new(),
            record: String::new(),
            fields: Vec::new(),
        };
        if !reader.next_record()? {
            return Err(ReadError::NoHeader);
        }
        // A UTF-8 byte order mark is no part of the first name.
        let header: Vec<String> =
            reader.fields.iter().map(|f| f.trim_start_matches('\u{feff}').trim().to_owned()).collect();
        reader.positions = COLUMNS.iter().map(|(_, name)| header.iter().position(|h| h == name)).collect();
        for col in REQUIRED {
            if reader.position(col).is_none() {
                return Err(ReadError::MissingColumn(name_of(col)));
            }
        }
        Ok(reader)
    }

    fn position(&self, col: Col) -> Option<usize> {
        let index = COLUMNS.iter().position(|(c, _)| *c == col)?;
        self.positions.get(index).copied().flatten()
    }

    fn text(&self, col: Col) -> String {
        self.position(col).and_then(|at| self.fields.get(at)).cloned().unwrap_or_default()
    }

    fn amount(&self, col: Col) -> Option<Cents> {
        let text = self.text(col);
        Cents::parse_decimal(text.trim()).ok()
    }

    /// Reads the next record into `fields`; `false` at the end. Physical lines are joined while a
    /// quote is open, within [`MAX_RECORD_BYTES`].
    fn next_record(&mut self) -> Result<bool, ReadError> {
        self.record.clear();
        let mut first = true;
        loop {
            let line = match self.lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) if first => return Ok(false),
                Ok(None) => {
                    let line = self.lines.line_no;
                    return Err(ReadError::Record { line, reason: "a quoted field is not closed".to_owned() });
                }
                Err(err) => {
                    let line = self.lines.line_no + 1;
                    return Err(ReadError::Record { line, reason: err.to_string() });
                }
            };
            let Ok(text) = std::str::from_utf8(line) else {
                let line = self.lines.line_no;
                return Err(ReadError::Record { line, reason: "not UTF-8".to_owned() });
            };
            if !first {
                self.record.push('\n');
            }
            self.record.push_str(text);
            if self.record.len() > MAX_RECORD_BYTES {
                let line = self.lines.line_no;
                return Err(ReadError::Record {
                    line,
                    reason: format!("a record is longer than {MAX_RECORD_BYTES} bytes"),
                });
            }
            first = false;
            if self.record.bytes().filter(|b| *b == b'"').count() % 2 == 0 {
                break;
            }
        }
        split(&self.record, &mut self.fields);
        Ok(true)
    }

    /// The next row, skipping blank lines; `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<ReceiptRow>, ReadError> {
        loop {
            let line = self.lines.line_no + 1;
            if !self.next_record()? {
                return Ok(None);
            }
            if self.fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            return Ok(Some(self.row(line)));
        }
    }

    fn party(&self, kind: Col, id: Col, name: Col) -> Party {
        Party { kind: self.text(kind), id: self.text(id), name: self.text(name), ..Party::default() }
    }

    fn row(&self, line: u64) -> ReceiptRow {
        let some = |text: String| Some(text).filter(|t| !t.is_empty());
        let payer = Party {
            email: some(self.text(Col::PayerEmail)),
            ..self.party(Col::PayerKind, Col::PayerId, Col::PayerName)
        };
        let debtor = Party {
            address: some(self.text(Col::DebtorAddress)),
            civic_number: some(self.text(Col::DebtorCivic)),
            postal_code: some(self.text(Col::DebtorPostalCode)),
            city: some(self.text(Col::DebtorCity)),
            province: some(self.text(Col::DebtorProvince)),
            country: some(self.text(Col::DebtorCountry)),
            email: some(self.text(Col::DebtorEmail)),
            ..self.party(Col::DebtorKind, Col::DebtorId, Col::DebtorName)
        };
        let iuv = Some(self.text(Col::Iuv)).filter(|t| !t.is_empty()).unwrap_or_else(|| self.text(Col::PaymentIuv));
        ReceiptRow {
            line,
            iud: self.text(Col::Iud),
            iuv,
            org_fiscal_code: self.text(Col::OrgFiscalCode),
            message_id: self.text(Col::MessageId),
            message_date_time: self.text(Col::MessageDateTime),
            psp_kind: self.text(Col::PspKind),
            psp_code: self.text(Col::PspCode),
            psp_name: self.text(Col::PspName),
            payer: Some(payer).filter(|p| !p.id.is_empty()),
            debtor,
            outcome_code: self.text(Col::OutcomeCode),
            total: self.amount(Col::Total),
            amount: self.amount(Col::Amount),
            line_outcome: self.text(Col::LineOutcome),
            outcome_date: self.text(Col::OutcomeDate),
            receipt_id: self.text(Col::ReceiptId),
            causale: self.text(Col::Causale),
            collection_data: self.text(Col::CollectionData),
            debt_type: self.text(Col::DebtType),
            rt: decode_rt(&self.text(Col::Rt)),
            transfer_index: self.text(Col::TransferIndex).trim().parse().ok(),
            fee: self.amount(Col::Fee),
        }
    }
}

/// The `rt` column decoded from base64 (line breaks and spaces ignored); as found when it is not
/// base64.
fn decode_rt(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).unwrap_or_else(|_| text.as_bytes().to_vec())
}

/// Splits one record of the opencsv dialect into `out`: `;` between fields, a quoted field keeps
/// `;` and line breaks and spells `"` as `""`; an unquoted field (not written by MyPay, read all
/// the same) runs to the next `;`. Never fails: the caller joined lines until quotes balance.
fn split(record: &str, out: &mut Vec<String>) {
    out.clear();
    let mut field = String::new();
    let mut chars = record.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, ';') => {
                out.push(std::mem::take(&mut field));
                at_start = true;
            }
            (_, c) => {
                field.push(c);
                at_start = false;
            }
        }
    }
    out.push(field);
}

/// An export ZIP downloaded to a file: exactly one CSV, with plain entry names (`zipfile`).
pub struct ExportZip {
    archive: ZipArchive<File>,
    index: usize,
    max_csv_bytes: u64,
}

impl ExportZip {
    /// Opens the ZIP at `path`; its CSV may inflate to at most `max_csv_bytes`.
    pub fn open(path: &Path, max_csv_bytes: u64) -> Result<ExportZip, ReadError> {
        let file = File::open(path)?;
        let mut archive = ZipArchive::new(file).map_err(|err| ZipError::Unreadable(err.to_string()))?;
        // The CSV is named after the file, whose name the Region chose: take the base from it.
        let names: Vec<String> = archive.file_names().map(str::to_owned).collect();
        let csv = names
            .iter()
            .find(|name| name.to_ascii_lowercase().ends_with(".csv"))
            .ok_or_else(|| ZipError::NoCsv("export".to_owned()))?;
        let base = csv.get(..csv.len().saturating_sub(4)).unwrap_or_default().to_owned();
        let (index, _) = zipfile::find_csv(&mut archive, &base, max_csv_bytes)?;
        Ok(ExportZip { archive, index, max_csv_bytes })
    }

    /// The rows of its CSV; the header is read first.
    pub fn rows(&mut self) -> Result<RowReader<BufReader<Limited<zip::read::ZipFile<'_, File>>>>, ReadError> {
        let entry = self.archive.by_index(self.index).map_err(|err| ZipError::Unreadable(err.to_string()))?;
        let limited = Limited::new(entry, self.max_csv_bytes, Arc::new(AtomicU64::new(0)));
        RowReader::new(BufReader::with_capacity(64 * 1024, limited))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::io::Write as _;

    use super::*;
    use crate::flows::quoted_csv::QuotedCsv;
    use crate::flows::rt_export::{Version, header};

    #[test]
    fn every_column_read_is_one_the_writer_writes() {
        let written = header(Version::V1_3, true);
        for (_, name) in COLUMNS {
            assert!(written.contains(&name), "{name} is not a column of the receipt export");
        }
    }

    /// A CSV in the export dialect with `values` set by column name, the others empty.
    fn csv(rows: &[&[(&str, &str)]]) -> Vec<u8> {
        let columns = header(Version::V1_1, true);
        let mut out = QuotedCsv::new(Vec::new());
        out.row(columns.iter().copied()).unwrap();
        for values in rows {
            let fields: Vec<&str> =
                columns.iter().map(|c| values.iter().find(|(name, _)| name == c).map_or("", |(_, v)| *v)).collect();
            out.row(fields).unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn rows_are_read_by_column_name_with_the_receipt_decoded() {
        let rt = base64::engine::general_purpose::STANDARD.encode("<receipt/>");
        let bytes = csv(&[&[
            ("codIud", "IUD-1"),
            ("codIuv", "01000000000000144"),
            ("singoloImportoPagato", "20.00"),
            ("importoTotalePagato", "20.00"),
            ("identificativoUnivocoRiscoss", "R-1"),
            ("causaleVersamento", "TARI \"2026\";\nrata 1"),
            ("soggPagCodiceIdentificativoUnivoco", "RSSMRA85T10A562S"),
            ("rt", &rt),
            ("indiceDatiSingoloPagamento", "1"),
        ]]);
        let mut reader = RowReader::new(&bytes[..]).unwrap();
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(
            (row.iud.as_str(), row.iuv.as_str(), row.receipt_id.as_str()),
            ("IUD-1", "01000000000000144", "R-1")
        );
        assert_eq!((row.amount, row.total), (Some(Cents::new(2000)), Some(Cents::new(2000))));
        assert_eq!(row.causale, "TARI \"2026\";\nrata 1", "a quoted line break stays inside its field");
        assert_eq!(row.debtor.id, "RSSMRA85T10A562S");
        assert_eq!(row.payer, None);
        assert_eq!(row.rt, b"<receipt/>");
        assert_eq!(row.transfer_index, Some(1));
        assert_eq!(row.line, 2);
        assert!(reader.next_row().unwrap().is_none());
    }

    #[test]
    fn a_header_without_the_receipt_id_is_refused_and_an_open_quote_is_an_error() {
        let err = RowReader::new(&b"\"codIuv\";\"singoloImportoPagato\"\n"[..]).err().unwrap();
        assert!(matches!(err, ReadError::MissingColumn("identificativoUnivocoRiscoss")), "{err}");
        let mut bytes = csv(&[&[("codIuv", "1"), ("identificativoUnivocoRiscoss", "R")]]);
        bytes.extend_from_slice(b"\"01\";\"open");
        let mut reader = RowReader::new(&bytes[..]).unwrap();
        assert!(reader.next_row().unwrap().is_some());
        let err = reader.next_row().unwrap_err();
        assert!(matches!(err, ReadError::Record { line: 3, .. }), "{err}");
    }

    #[test]
    fn a_record_longer_than_the_limit_stops_the_reading() {
        let long = "x".repeat(MAX_RECORD_BYTES + 10);
        let bytes = csv(&[&[("codIuv", "1"), ("rt", &long)]]);
        let mut reader = RowReader::new(&bytes[..]).unwrap();
        assert!(matches!(reader.next_row(), Err(ReadError::Record { line: 2, .. })));
    }

    #[test]
    fn the_zip_holds_one_csv_named_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.zip");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        writer.start_file("c_x-7_ESTRAZIONE_DOVUTI-1_1.csv", zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&csv(&[&[("codIuv", "1"), ("identificativoUnivocoRiscoss", "R")]])).unwrap();
        writer.finish().unwrap();
        let mut zip = ExportZip::open(&path, 1 << 20).unwrap();
        let mut rows = zip.rows().unwrap();
        assert_eq!(rows.next_row().unwrap().unwrap().receipt_id, "R");
        assert!(rows.next_row().unwrap().is_none());
        assert!(matches!(ExportZip::open(&path, 10), Err(ReadError::Zip(ZipError::TooLarge(10)))));
        std::fs::write(&path, b"not a zip").unwrap();
        assert!(matches!(ExportZip::open(&path, 1 << 20), Err(ReadError::Zip(ZipError::Unreadable(_)))));
    }
}
