//! A reconciliation upload's name and ZIP (mypivot.md §1.0): `<IPA>-<id>-1_0.zip` checked per
//! kind, entries named after the ZIP (any name for OPI pages, never a path), inflated through a
//! counter shared by all entries so the whole ZIP stays within [`super::MAX_INFLATED_BYTES`].
//! Must never: extract to disk or use an entry's name as a path; trust the sizes a ZIP declares.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use zip::ZipArchive;
use zip::read::ZipFile;

use super::{FileRejection, MAX_INFLATED_BYTES, MAX_ZIP_BYTES, OrgRef};
use crate::domain::reconciliation::Source;
use crate::flows::csv_row::{LineReader, LineTooLong};
use crate::flows::zipfile::Limited;

/// The most entries a ZIP may hold (OPI pages; every other kind has one).
pub const MAX_ENTRIES: usize = 1000;

/// Checks an upload's name for its kind and org; returns the name without `.zip`.
///
/// T, C, O and D: `<IPA>-<id>-1_0.zip` (MyPivot let T/C/O names that do not split in three pass
/// unchecked; mypay does not). Y and P: the same, or `<IPA>-<id>.zip` (§8 l: MyPivot refused every
/// 3-part Y name, and Poste writes 2-part ones).
pub fn check_name(source: Source, file_name: &str, org: OrgRef<'_>) -> Result<String, FileRejection> {
    // The name reaches pages, JSON and logs: never a control character.
    let shown: String = file_name.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect();
    let base = match file_name.len().checked_sub(4).and_then(|at| file_name.get(at..).map(|ext| (at, ext))) {
        Some((at, ext)) if ext.eq_ignore_ascii_case(".zip") => file_name.get(..at).unwrap_or_default(),
        _ => return Err(FileRejection::NotZip),
    };
    let two_parts_too = matches!(source, Source::PosteStatement | Source::PosteReporting);
    let expected = match (source, two_parts_too) {
        (Source::Notification, _) => "cod_ipa_ente-iuf-versione",
        (_, true) => "cod_ipa_ente-id[-1_0].zip",
        _ => "cod_ipa_ente-id-1_0.zip",
    };
    let bad = || FileRejection::NameConvention { name: shown.clone(), expected };
    // Names, not text: letters, digits, `_` and `.` in each part, so a name can carry neither a
    // header nor a path into the names of the files made from it.
    let name_like = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    };
    let parts: Vec<&str> = base.split('-').collect();
    if !(parts.len() == 3 || (two_parts_too && parts.len() == 2)) || !parts.iter().all(|part| name_like(part)) {
        return Err(bad());
    }
    let ipa = parts.first().copied().unwrap_or_default();
    if !ipa.eq_ignore_ascii_case(org.ipa) {
        return Err(FileRejection::WrongOrg { found: ipa.to_owned(), org: org.ipa.to_owned() });
    }
    if let Some(version) = parts.get(2)
        && *version != "1_0"
    {
        return Err(FileRejection::WrongVersion((*version).to_owned()));
    }
    Ok(base.to_owned())
}

/// An uploaded ZIP, opened.
pub struct Zip {
    archive: ZipArchive<File>,
    inflated: Arc<AtomicU64>,
}

impl Zip {
    /// Opens the ZIP at `path`, at most [`MAX_ZIP_BYTES`].
    pub fn open(path: &Path) -> Result<Zip, FileRejection> {
        let file = File::open(path).map_err(|err| FileRejection::Unreadable(format!("cannot open the file: {err}")))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        if size > MAX_ZIP_BYTES {
            return Err(FileRejection::TooLarge(MAX_ZIP_BYTES));
        }
        let archive = ZipArchive::new(file)
            .map_err(|err| FileRejection::Unreadable(format!("not a readable ZIP file: {err}")))?;
        if archive.len() > MAX_ENTRIES {
            return Err(FileRejection::Several("file".to_owned()));
        }
        Ok(Zip { archive, inflated: Arc::new(AtomicU64::new(0)) })
    }

    /// The entries' names, each a plain file name (no folder, no path, no `..`).
    pub fn names(&mut self) -> Result<Vec<String>, FileRejection> {
        let mut names = Vec::with_capacity(self.archive.len());
        for index in 0..self.archive.len() {
            let entry = self.archive.by_index_raw(index).map_err(|_| FileRejection::Damaged)?;
            let name = entry.name();
            if entry.is_dir() || name.contains(['/', '\\']) || name.contains("..") || name.chars().any(char::is_control)
            {
                return Err(FileRejection::EntryName(name.chars().take(200).collect()));
            }
            names.push(name.to_owned());
        }
        Ok(names)
    }

    /// The one entry `<base>.<ext>` for one of `extensions` (case-insensitive), every entry being
    /// named `<base>.<something>` ("Il nome del file contenuto deve essere uguale al nome dello
    /// zip."): its index.
    pub fn named_entry(&mut self, base: &str, extensions: &[&str]) -> Result<usize, FileRejection> {
        let mut found = None;
        for (index, name) in self.names()?.into_iter().enumerate() {
            let Some(ext) = name.strip_prefix(base).and_then(|rest| rest.strip_prefix('.')).filter(|e| !e.is_empty())
            else {
                return Err(FileRejection::EntryName(name.chars().take(200).collect()));
            };
            if extensions.iter().any(|wanted| wanted.eq_ignore_ascii_case(ext)) {
                if found.is_some() {
                    return Err(FileRejection::Several(format!("{base}.{}", extensions.join("/"))));
                }
                found = Some(index);
            }
        }
        found.ok_or_else(|| FileRejection::Missing(format!("{base}.{}", extensions.join("/"))))
    }

    /// The entry at `index`, inflated through the shared counter.
    pub fn entry(&mut self, index: usize) -> Result<Limited<ZipFile<'_, File>>, FileRejection> {
        let inflated = Arc::clone(&self.inflated);
        let entry = self.archive.by_index(index).map_err(|err| match err {
            zip::result::ZipError::UnsupportedArchive(what) => {
                FileRejection::Unreadable(format!("unsupported ZIP: {what}"))
            }
            _ => FileRejection::Damaged,
        })?;
        Ok(Limited::new(entry, MAX_INFLATED_BYTES, inflated))
    }

    /// The entry at `index` as lines of at most 64 KiB.
    pub fn lines(&mut self, index: usize) -> Result<LineReader<BufReader<Limited<ZipFile<'_, File>>>>, FileRejection> {
        Ok(LineReader::new(BufReader::with_capacity(64 * 1024, self.entry(index)?)))
    }

    /// The whole entry at `index`, if it inflates to at most `cap` bytes.
    pub fn bytes(&mut self, index: usize, cap: u64) -> Result<Vec<u8>, FileRejection> {
        let mut bytes = Vec::new();
        let mut entry = self.entry(index)?.take(cap.saturating_add(1));
        entry.read_to_end(&mut bytes).map_err(io_error)?;
        if bytes.len() as u64 > cap {
            return Err(FileRejection::InflatedTooLarge(cap));
        }
        Ok(bytes)
    }
}

/// A read that failed: too much inflated, a line too long, or damaged data.
pub fn io_error(err: io::Error) -> FileRejection {
    if let Some(long) = err.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>()) {
        return FileRejection::LineTooLong { line: long.line, max: long.max };
    }
    if err.kind() == io::ErrorKind::FileTooLarge {
        FileRejection::InflatedTooLarge(MAX_INFLATED_BYTES)
    } else {
        FileRejection::Damaged
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    const ORG: OrgRef<'static> = OrgRef { ipa: "c_x999", fiscal_code: "80012340123" };

    #[test]
    fn names_per_kind() {
        assert_eq!(
            check_name(Source::CashJournal, "c_x999-GDC20240520-1_0.zip", ORG).unwrap(),
            "c_x999-GDC20240520-1_0"
        );
        assert_eq!(check_name(Source::Opi, "C_X999-OPI20240520-1_0.ZIP", ORG).unwrap(), "C_X999-OPI20240520-1_0");
        assert_eq!(
            check_name(Source::PosteStatement, "c_x999-ECPOSTE20240521.zip", ORG).unwrap(),
            "c_x999-ECPOSTE20240521"
        );
        assert_eq!(
            check_name(Source::PosteStatement, "c_x999-ECPOSTE20240521-1_0.zip", ORG).unwrap(),
            "c_x999-ECPOSTE20240521-1_0"
        );
        assert_eq!(check_name(Source::CashJournal, "c_x999-GDC20240520-1_0.csv", ORG), Err(FileRejection::NotZip));
        assert_eq!(check_name(Source::CashJournal, "zip", ORG), Err(FileRejection::NotZip));
        assert_eq!(
            check_name(Source::CashJournal, "c_a000-GDC20240520-1_0.zip", ORG),
            Err(FileRejection::WrongOrg { found: "c_a000".to_owned(), org: "c_x999".to_owned() })
        );
        assert_eq!(
            check_name(Source::BankMovements, "c_x999-MOVCC20240520-1_1.zip", ORG),
            Err(FileRejection::WrongVersion("1_1".to_owned()))
        );
        assert_eq!(
            check_name(Source::Notification, "c_x999-NOTIF20240517.zip", ORG),
            Err(FileRejection::NameConvention {
                name: "c_x999-NOTIF20240517.zip".to_owned(),
                expected: "cod_ipa_ente-iuf-versione"
            })
        );
        assert!(matches!(
            check_name(Source::CashJournal, "c_x999-GDC.zip", ORG),
            Err(FileRejection::NameConvention { .. })
        ));
        assert!(matches!(
            check_name(Source::CashJournal, "c_x999-G C-1_0.zip", ORG),
            Err(FileRejection::NameConvention { .. })
        ));
        assert!(matches!(
            check_name(Source::CashJournal, "c_x999-..-1_0.zip", ORG),
            Err(FileRejection::NameConvention { .. })
        ));
        let crlf = check_name(Source::Opi, "c_x999-A\r\nB-1_0.zip", ORG).unwrap_err();
        assert_eq!(
            crlf.to_string(),
            "the file name \"c_x999-A??B-1_0.zip\" does not follow the convention cod_ipa_ente-id-1_0.zip"
        );
    }
}
