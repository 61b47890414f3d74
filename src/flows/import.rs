//! The debt-flow import's file formats (reference/mypay.md §2): the upload's name
//! `<IPA>-<IUF>-<version>.zip`, the file-level refusals with MyPay's codes, the errors of a run of
//! the pipeline, and the `bilancio` column. The rows are read by `import_rows`, result files written
//! by `results`; running an import (the transaction, the state checks) is
//! `services::debts::imports::run`'s.
//! Must never: write SQL or open a transaction.

use std::io;

use super::import_layout::Version;
use super::zipfile::ZipError;
use crate::domain::debt_row::BilancioField;
use crate::soap;
use crate::store::StoreError;

/// A file-level refusal: MyPay's code (with its arguments, e.g. `PAA_IMPORT_ENTE_ERR(a,b)`) and
/// a description for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub code: String,
    pub description: String,
}

impl FileError {
    pub fn new(code: impl Into<String>, description: impl Into<String>) -> FileError {
        FileError { code: code.into(), description: description.into() }
    }
}

/// Why a run stopped without an outcome; the job decides whether to try again.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The process is shutting down: nothing was applied, run it again later.
    #[error("interrupted by shutdown")]
    Interrupted,
    /// A failure of the system (disk, database); nothing was applied.
    #[error("{0}")]
    System(String),
}

impl From<StoreError> for RunError {
    fn from(err: StoreError) -> RunError {
        RunError::System(err.to_string())
    }
}

/// A checked file name `<IPA>-<IUF>-<version>.zip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowName {
    /// The name without `.zip`: the CSV and the result files are named after it.
    pub base: String,
    pub ipa: String,
    pub iuf: String,
    pub version: Version,
}

/// Checks an upload's name against the org it was uploaded for (mypay.md §2.1).
pub fn parse_name(file_name: &str, org_ipa: &str) -> Result<FlowName, FileError> {
    // The name is echoed in the code, which reaches pages, JSON and logs: never a control character.
    let shown: String = file_name.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    let bad = || {
        FileError::new(format!("PAA_IMPORT_NOME_FILE_ERR({shown})"), "nome file non valido: <IPA>-<IUF>-<versione>.zip")
    };
    let base = file_name
        .strip_suffix(".zip")
        .or_else(|| file_name.strip_suffix(".ZIP"))
        .filter(|b| !b.contains(['/', '\\']) && !b.contains(".."))
        .ok_or_else(bad)?;
    let parts: Vec<&str> = base.split('-').collect();
    let [ipa, iuf, version] = parts.as_slice() else {
        return Err(bad());
    };
    // IPA codes and IUFs are names, not text: letters, digits, `_` and `.` only, so a name can
    // neither carry a header (CR/LF) nor a path into the result files' names.
    let name_like = |part: &str| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if ipa.is_empty() || iuf.is_empty() || iuf.chars().count() > 50 || !name_like(ipa) || !name_like(iuf) {
        return Err(bad());
    }
    let version = Version::parse(version).ok_or_else(|| {
        FileError::new(
            format!("PAA_IMPORT_FILE_VERSIONE_ERR({version})"),
            "versione del tracciato non supportata (1_0 .. 1_4)",
        )
    })?;
    if !ipa.eq_ignore_ascii_case(org_ipa) {
        return Err(FileError::new(
            format!("PAA_IMPORT_ENTE_ERR({ipa},{org_ipa})"),
            "il codice IPA del nome file non corrisponde all'ente",
        ));
    }
    Ok(FlowName { base: base.to_owned(), ipa: (*ipa).to_owned(), iuf: (*iuf).to_owned(), version })
}

/// The error of a run step: a file-level refusal, or a stop.
pub enum Stop {
    File(FileError),
    Run(RunError),
}

impl From<RunError> for Stop {
    fn from(err: RunError) -> Stop {
        Stop::Run(err)
    }
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Stop {
        Stop::Run(err.into())
    }
}

pub(super) fn generic(description: impl Into<String>) -> FileError {
    FileError::new("PAA_IMPORT_ERRORE_GENERICO", description)
}

/// A ZIP refusal under MyPay's code, in Italian words (the English is for the log).
pub(super) fn zip_error(err: ZipError) -> FileError {
    match &err {
        ZipError::EntryName(name) => FileError::new(
            format!("PAA_IMPORT_NOME_FILE_ERR({name})"),
            format!("il file {name:?} nello ZIP non ha il nome del flusso"),
        ),
        ZipError::NoCsv(base) => FileError::new("PAA_IMPORT_NO_CSV", format!("nessun file {base}.csv nello ZIP")),
        ZipError::SeveralCsv => FileError::new("PAA_IMPORT_NO_CSV", "più di un file CSV nello ZIP"),
        ZipError::Unreadable(_) => generic("il file non è uno ZIP leggibile"),
        ZipError::TooLarge(limit) => generic(format!("il CSV decompresso supera i {limit} byte")),
    }
}

pub(super) fn read_error(err: io::Error, limit: u64) -> Stop {
    if let Some(long) = err.get_ref().and_then(|e| e.downcast_ref::<super::csv_row::LineTooLong>()) {
        // Refused whole: a row of this size is no MyPay row, and nothing of the file is applied.
        return Stop::File(generic(format!("riga {}: più lunga di {} byte", long.line, long.max)));
    }
    if err.kind() == io::ErrorKind::FileTooLarge {
        Stop::File(zip_error(ZipError::TooLarge(limit)))
    } else {
        // Corrupt compressed data reads as an I/O error too: it is the file's fault.
        Stop::File(generic("lettura del file CSV non riuscita: il file compresso è danneggiato"))
    }
}

/// Reads the `bilancio` column (mypay.md §2.6) with the one XML reader: root `bilancio`, 1..n
/// `capitolo` with `codCapitolo`, each with 1..n `accertamento` with `importo`. Namespaces are
/// not required (MyPay adds its own when absent).
pub fn read_bilancio(text: &str) -> BilancioField {
    let text = text.trim();
    if text.is_empty() {
        return BilancioField::Absent;
    }
    let unreadable = |reason: String| BilancioField::Unreadable { xml: text.to_owned(), reason };
    let root = match soap::parse_document(text.as_bytes()) {
        Ok(root) => root,
        // The reader's English reason stays in the log; the operator reads Italian.
        Err(_) => return unreadable("XML non ben formato o con costrutti non ammessi".to_owned()),
    };
    if root.name != "bilancio" {
        return unreadable(format!("l'elemento radice è {}, non bilancio", root.name));
    }
    let mut amounts = Vec::new();
    let mut n_chapters = 0;
    for chapter in root.children_named("capitolo") {
        n_chapters += 1;
        if chapter.child_text("codCapitolo").is_none_or(|c| c.trim().is_empty()) {
            return unreadable("capitolo senza codCapitolo".to_owned());
        }
        let before = amounts.len();
        for assessment in chapter.children_named("accertamento") {
            match assessment.child_text("importo") {
                Some(amount) => amounts.push(amount.to_owned()),
                None => return unreadable("accertamento senza importo".to_owned()),
            }
        }
        if amounts.len() == before {
            return unreadable("capitolo senza accertamento".to_owned());
        }
    }
    if n_chapters == 0 {
        return unreadable("bilancio senza capitolo".to_owned());
    }
    BilancioField::Read { xml: text.to_owned(), amounts }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn names() {
        let name = parse_name("c_f205-FLUSSO01-1_4.zip", "C_F205").unwrap();
        assert_eq!(
            (name.base.as_str(), name.iuf.as_str(), name.version),
            ("c_f205-FLUSSO01-1_4", "FLUSSO01", Version::V1_4)
        );
        assert_eq!(
            parse_name("c_f205-A-B-1_4.zip", "c_f205").unwrap_err().code,
            "PAA_IMPORT_NOME_FILE_ERR(c_f205-A-B-1_4.zip)"
        );
        assert_eq!(
            parse_name("c_f205-A-1_4.csv", "c_f205").unwrap_err().code,
            "PAA_IMPORT_NOME_FILE_ERR(c_f205-A-1_4.csv)"
        );
        assert_eq!(parse_name("c_f205-A-2_0.zip", "c_f205").unwrap_err().code, "PAA_IMPORT_FILE_VERSIONE_ERR(2_0)");
        assert_eq!(parse_name("c_a000-A-1_0.zip", "c_f205").unwrap_err().code, "PAA_IMPORT_ENTE_ERR(c_a000,c_f205)");
        // The hardening issue's REST `file_name` with CR/LF: refused, and never echoed as such.
        let crlf = parse_name("c_f205-A\r\nRefresh: 0;url=http://x-1_4.zip", "c_f205").unwrap_err();
        assert_eq!(crlf.code, "PAA_IMPORT_NOME_FILE_ERR(c_f205-A??Refresh: 0;url=http://x-1_4.zip)");
        assert!(parse_name("c_f205-A B-1_4.zip", "c_f205").is_err());
        assert!(parse_name("c_f205-FLUSSO.2026_01-1_4.zip", "c_f205").is_ok());
    }

    #[test]
    fn bilancio_amounts_are_read() {
        let xml = "<bilancio><capitolo><codCapitolo>C1</codCapitolo><accertamento><importo>10.00</importo>\
                   </accertamento><accertamento><importo>5.50</importo></accertamento></capitolo></bilancio>";
        match read_bilancio(xml) {
            BilancioField::Read { amounts, .. } => assert_eq!(amounts, ["10.00", "5.50"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read_bilancio("<bilancio/>"), BilancioField::Unreadable { .. }));
        assert!(matches!(read_bilancio("<x>"), BilancioField::Unreadable { .. }));
        assert!(matches!(read_bilancio(""), BilancioField::Absent));
    }
}
