//! The accertamenti registry's bulk import file (MyPivot's "import massivo"): a ZIP
//! `<IPA>-<NAME>-1_0.zip` holding exactly one `<IPA>-<NAME>-1_0.csv`, ISO-8859-1, a header line
//! skipped, then lines of exactly 10 fields each in `"`, separated by `;`.
//!
//! Owns: [`file_base`] (the name's check), [`read_lines`] (the ZIP read within budgets, the text
//! decoded, each line unquoted and checked by `domain::reconciliation::accertamento::registry_line`)
//! and [`LineError`] (MyPivot's "Errore di conversione alla linea N: …", N the line of the file
//! counting the header as line 1). The first bad line stops the reading: MyPivot rolls back the
//! whole file at its first error, so nothing after it matters.
//! Must never: write SQL (applying the lines is `services::reconciliation::accertamenti`'s), trust a
//! name inside the ZIP as a path, or read more than its budgets.
//! Implements: `shared/reference/mypivot.md` §5.1 (registry bulk import) and §7.9.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::zipfile::{self, Limited, ZipError};
use crate::domain::reconciliation::accertamento::{LineProblem, RegistryAction, RegistryEntry, registry_line};

/// The decompressed CSV's budget: the registry of a large org is a few thousand lines.
pub const MAX_CSV_BYTES: u64 = 16 * 1024 * 1024;
/// The most lines a file may hold (header included).
pub const MAX_LINES: usize = 100_000;
/// The longest line, in bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// Why the file as a whole is refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFileError {
    #[error("the file name must be <IPA>-<NAME>-1_0.zip with the org's IPA code {ipa}: {name:?}")]
    Name { ipa: String, name: String },
    #[error(transparent)]
    Zip(#[from] ZipError),
    #[error("the CSV has no header line")]
    Empty,
    #[error("the CSV has more than {MAX_LINES} lines")]
    TooManyLines,
    #[error(transparent)]
    Line(#[from] LineError),
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
}

/// A refused line: MyPivot's message, in Italian, as its operators know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Errore di conversione alla linea {line}: {problem}")]
pub struct LineError {
    /// The line of the file, the header being line 1.
    pub line: usize,
    pub problem: LineProblem,
}

/// One checked line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLine {
    /// The line of the file, the header being line 1.
    pub line: usize,
    pub entry: RegistryEntry,
    pub action: RegistryAction,
}

/// The base name of an upload (`c_x999-ANAGRAFICA-1_0` of `c_x999-ANAGRAFICA-1_0.zip`): the org's
/// IPA code, a name, and the layout `1_0`.
pub fn file_base(file_name: &str, ipa: &str) -> Result<String, RegistryFileError> {
    let refused = || RegistryFileError::Name { ipa: ipa.to_owned(), name: file_name.chars().take(200).collect() };
    let base = file_name.strip_suffix(".zip").ok_or_else(refused)?;
    let name = base.strip_prefix(ipa).and_then(|rest| rest.strip_prefix('-')).ok_or_else(refused)?;
    let name = name.strip_suffix("-1_0").ok_or_else(refused)?;
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || !name.chars().all(plain) {
        return Err(refused());
    }
    Ok(base.to_owned())
}

/// Reads and checks every line of the upload at `path`, named `file_name`, for org `ipa`.
pub fn read_lines(path: &Path, file_name: &str, ipa: &str) -> Result<Vec<RegistryLine>, RegistryFileError> {
    let base = file_base(file_name, ipa)?;
    let mut archive = zip::ZipArchive::new(File::open(path)?).map_err(|err| ZipError::Unreadable(err.to_string()))?;
    let (index, _) = zipfile::find_csv(&mut archive, &base, MAX_CSV_BYTES)?;
    let entry = archive.by_index(index).map_err(|err| ZipError::Unreadable(err.to_string()))?;
    let limited = Limited::new(entry, MAX_CSV_BYTES, Arc::new(AtomicU64::new(0)));
    read_csv(BufReader::new(limited))
}

/// Reads the CSV's lines (bytes, decoded as ISO-8859-1).
pub fn read_csv(mut reader: impl BufRead) -> Result<Vec<RegistryLine>, RegistryFileError> {
    let mut lines = Vec::new();
    let mut raw = Vec::with_capacity(512);
    let mut number = 0;
    loop {
        raw.clear();
        let n = reader.by_ref().take(MAX_LINE_BYTES as u64 + 2).read_until(b'\n', &mut raw)?;
        if n == 0 {
            break;
        }
        number += 1;
        if number > MAX_LINES {
            return Err(RegistryFileError::TooManyLines);
        }
        if raw.len() > MAX_LINE_BYTES && !raw.ends_with(b"\n") {
            return Err(LineError { line: number, problem: LineProblem::Shape }.into());
        }
        let text = latin1(trim_line_end(&raw));
        if number == 1 || text.is_empty() {
            continue;
        }
        let fields = unquote(&text).ok_or(LineError { line: number, problem: LineProblem::Shape })?;
        let (entry, action) = registry_line(&fields).map_err(|problem| LineError { line: number, problem })?;
        lines.push(RegistryLine { line: number, entry, action });
    }
    if number == 0 {
        return Err(RegistryFileError::Empty);
    }
    Ok(lines)
}

fn trim_line_end(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// ISO-8859-1: every byte is the code point of the same value.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `"a";"b";…` → `[a, b, …]`: every field in quotes, `";"` between them (MyPivot splits on it,
/// so a field cannot hold that sequence).
fn unquote(line: &str) -> Option<Vec<&str>> {
    let inner = line.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.split("\";\"").collect())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use std::io::Write;

    use super::*;

    /// §7.9, as the file holds it (ISO-8859-1 bytes).
    pub(crate) const FIXTURE_7_9: &str = "\"cod_ufficio\";\"de_ufficio\";\"flg_attivo\";\"cod_capitolo\";\"de_capitolo\";\"de_anno_esercizio\";\"cod_accertamento\";\"de_accertamento\";\"cod_tipo_dovuto\";\"azione\"\r\n\
\"TRIB\";\"Ufficio Tributi\";\"true\";\"1010\";\"TARI - Tassa rifiuti\";\"2024\";\"2024/101\";\"Accertamento TARI 2024\";\"TARI\";\"I\"\r\n\
\"SCUOLA\";\"Servizi scolastici\";\"true\";\"3010\";\"Proventi mensa\";\"2024\";\"2024/15\";\"Mensa a.s. 2023/24\";\"MENSA_SCOLASTICA\";\"I\"\r\n\
\"PM\";\"Polizia Locale\";\"true\";\"3020\";\"Sanzioni CdS\";\"2024\";\"\";\"\";\"CDS\";\"I\"\r\n\
\"TRIB\";\"Ufficio Tributi\";\"true\";\"1011\";\"TARI - arretrati\";\"2024\";\"2024/102\";\"Recupero evasione TARI\";\"TARI\";\"I\"\r\n\
\"TRIB\";\"Ufficio Tributi\";\"true\";\"1011\";\"TARI - arretrati\";\"2023\";\"2023/88\";\"Recupero evasione 2023\";\"TARI\";\"D\"\r\n";

    fn zip_of(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join(name);
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        for (entry, bytes) in entries {
            zip.start_file(*entry, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn the_fixture_of_7_9_reads_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let path =
            zip_of(dir.path(), "c_x999-ANAGRAFICA-1_0.zip", &[("c_x999-ANAGRAFICA-1_0.csv", FIXTURE_7_9.as_bytes())]);
        let lines = read_lines(&path, "c_x999-ANAGRAFICA-1_0.zip", "c_x999").unwrap();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), [2, 3, 4, 5, 6]);
        assert_eq!(lines[2].entry.accertamento_code, "n/a");
        assert_eq!(lines[1].entry.debt_type_code, "MENSA_SCOLASTICA");
        assert_eq!(lines[4].action, RegistryAction::Delete);
        assert_eq!(lines[4].entry.year, "2023");
    }

    #[test]
    fn iso_8859_1_text_is_decoded() {
        let mut csv = b"\"h\"\n".to_vec();
        csv.extend_from_slice(
            b"\"CULT\";\"Attivit\xe0 culturali\";\"false\";\"5010\";\"Biglietti\";\"2024\";\"\";\"\";\"CERT\";\"I\"\n",
        );
        let lines = read_csv(&csv[..]).unwrap();
        assert_eq!(lines[0].entry.office_name, "Attività culturali");
        assert!(!lines[0].entry.active);
    }

    #[test]
    fn the_first_bad_line_is_named_in_mypivots_words() {
        let csv = "\"h\"\n\"A\";\"a\";\"true\";\"1\";\"c\";\"2024\";\"\";\"\";\"T\";\"I\"\nA;a;true;1;c;2024;;;T;I\n";
        let err = read_csv(csv.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Errore di conversione alla linea 3: la riga deve avere 10 campi tra virgolette separati da \";\""
        );
        let csv = "\"h\"\n\"A\";\"a\";\"vero\";\"1\";\"c\";\"2024\";\"\";\"\";\"T\";\"I\"\n";
        assert_eq!(
            read_csv(csv.as_bytes()).unwrap_err().to_string(),
            "Errore di conversione alla linea 2: flg_attivo deve essere true o false"
        );
        assert!(matches!(read_csv(&b""[..]), Err(RegistryFileError::Empty)));
        let long = format!("\"h\"\n\"{}\"\n", "x".repeat(MAX_LINE_BYTES + 10));
        assert!(matches!(read_csv(long.as_bytes()), Err(RegistryFileError::Line(LineError { line: 2, .. }))));
    }

    #[test]
    fn names_and_entries_are_checked() {
        assert_eq!(file_base("c_x999-ANAGRAFICA-1_0.zip", "c_x999").unwrap(), "c_x999-ANAGRAFICA-1_0");
        for bad in
            ["c_x999-ANAGRAFICA-1_1.zip", "c_y000-ANAGRAFICA-1_0.zip", "c_x999--1_0.zip", "c_x999-A/B-1_0.zip", "x.csv"]
        {
            assert!(matches!(file_base(bad, "c_x999"), Err(RegistryFileError::Name { .. })), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let name = "c_x999-ANAGRAFICA-1_0.zip";
        let two = zip_of(
            dir.path(),
            name,
            &[("c_x999-ANAGRAFICA-1_0.csv", b"\"h\"\n"), ("c_x999-ANAGRAFICA-1_0.CSV", b"\"h\"\n")],
        );
        assert!(matches!(read_lines(&two, name, "c_x999"), Err(RegistryFileError::Zip(ZipError::SeveralCsv))));
        let other = zip_of(dir.path(), name, &[("other.csv", b"\"h\"\n")]);
        assert!(matches!(read_lines(&other, name, "c_x999"), Err(RegistryFileError::Zip(ZipError::EntryName(_)))));
    }
}
