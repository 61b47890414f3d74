//! Safe reading of an uploaded ZIP (reference/mypay.md §2.1): the entry names, exactly one CSV,
//! and a cap on the decompressed size, so a ZIP bomb stops at the configured limit.
//!
//! Entry names are only compared, never used as paths: nothing is extracted to disk.
//! Must never: trust the sizes a ZIP declares (the reader counts what it really inflates).

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zip::ZipArchive;

/// Why a ZIP cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// Not a ZIP, or a damaged one, or a method we do not inflate.
    #[error("not a readable ZIP file: {0}")]
    Unreadable(String),
    /// An entry not named `<base>.<extension>` (a folder, a path, `../`).
    #[error("entry {0:?} is not named after the file")]
    EntryName(String),
    /// No `<base>.csv` entry.
    #[error("no {0}.csv in the ZIP file")]
    NoCsv(String),
    /// More than one CSV entry.
    #[error("more than one CSV in the ZIP file")]
    SeveralCsv,
    /// The CSV inflates to more than the limit.
    #[error("the CSV is larger than {0} bytes once decompressed")]
    TooLarge(u64),
}

/// Finds the one CSV of an upload named `<base>.zip`: every entry must be named `<base>.<ext>`
/// with no path, and exactly one must be `<base>.csv`. Returns its index and declared size.
pub fn find_csv(archive: &mut ZipArchive<File>, base: &str, limit: u64) -> Result<(usize, u64), ZipError> {
    let wanted = format!("{base}.csv");
    let mut found = None;
    let mut n_csv = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|err| ZipError::Unreadable(err.to_string()))?;
        let name = entry.name();
        let plain = !name.contains(['/', '\\']) && !name.contains("..") && !entry.is_dir();
        let after_base = name.strip_prefix(base).and_then(|rest| rest.strip_prefix('.'));
        if !plain || after_base.is_none_or(str::is_empty) {
            return Err(ZipError::EntryName(name.chars().take(200).collect()));
        }
        if name.to_ascii_lowercase().ends_with(".csv") {
            n_csv += 1;
            if name == wanted {
                found = Some((index, entry.size()));
            }
        }
    }
    if n_csv > 1 {
        return Err(ZipError::SeveralCsv);
    }
    let (index, size) = found.ok_or_else(|| ZipError::NoCsv(base.to_owned()))?;
    if size > limit {
        return Err(ZipError::TooLarge(limit));
    }
    Ok((index, size))
}

/// A reader that fails with [`io::ErrorKind::FileTooLarge`] once more than `limit` bytes came
/// through, and counts them for progress reports.
pub struct Limited<R> {
    inner: R,
    limit: u64,
    read: Arc<AtomicU64>,
}

impl<R: Read> Limited<R> {
    /// Wraps `inner`; `read` is shared with whoever reports progress.
    pub fn new(inner: R, limit: u64, read: Arc<AtomicU64>) -> Limited<R> {
        Limited { inner, limit, read }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // One thread reads; the counter is shared only so another can report progress.
        let total = self.read.fetch_add(n as u64, Ordering::Relaxed).saturating_add(n as u64);
        if total > self.limit {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, format!("over {} bytes decompressed", self.limit)));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::io::Write;

    use super::*;

    fn zip_with(entries: &[(&str, &[u8])]) -> (tempfile::NamedTempFile, ZipArchive<File>) {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, data) in entries {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
        let archive = ZipArchive::new(file.reopen().unwrap()).unwrap();
        (file, archive)
    }

    #[test]
    fn exactly_one_csv_named_after_the_file() {
        let (_f, mut a) = zip_with(&[("x-1-1_0.csv", b"h\n")]);
        assert_eq!(find_csv(&mut a, "x-1-1_0", 100).unwrap(), (0, 2));
        let (_f, mut a) = zip_with(&[("x-1-1_0.md5", b"h\n")]);
        assert_eq!(find_csv(&mut a, "x-1-1_0", 100), Err(ZipError::NoCsv("x-1-1_0".to_owned())));
        let (_f, mut a) = zip_with(&[("x-1-1_0.csv", b"h\n"), ("x-1-1_0.CSV", b"h\n")]);
        assert_eq!(find_csv(&mut a, "x-1-1_0", 100), Err(ZipError::SeveralCsv));
        let (_f, mut a) = zip_with(&[("../x-1-1_0.csv", b"h\n")]);
        assert!(matches!(find_csv(&mut a, "x-1-1_0", 100), Err(ZipError::EntryName(_))));
        let (_f, mut a) = zip_with(&[("x-1-1_0.csv", &[b'a'; 200])]);
        assert_eq!(find_csv(&mut a, "x-1-1_0", 100), Err(ZipError::TooLarge(100)));
    }

    #[test]
    fn the_limit_counts_real_bytes() {
        let read = Arc::new(AtomicU64::new(0));
        let mut limited = Limited::new(&[0u8; 50][..], 10, Arc::clone(&read));
        let mut sink = Vec::new();
        let err = limited.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }
}
