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

/// Copies the debt flow `src` (an upload already accepted here, entries `<from>.<ext>`) to `dst`
/// with every entry renamed `<to>.<ext>`: a flow sent to a Region that knows the org by another
/// IPA code, whose name (and its CSV's) must carry that code. The entries are copied compressed,
/// byte for byte; an entry not named after `from` is refused, as [`find_csv`] refuses it.
pub fn copy_renamed(src: &std::path::Path, dst: &std::path::Path, from: &str, to: &str) -> Result<(), ZipError> {
    let unreadable = |err: &dyn std::fmt::Display| ZipError::Unreadable(err.to_string());
    let mut archive = ZipArchive::new(File::open(src).map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
    let out = io::BufWriter::new(File::create(dst).map_err(|e| unreadable(&e))?);
    let mut writer = zip::ZipWriter::new(out);
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| unreadable(&e))?;
        let Some(ext) = entry.name().strip_prefix(from).and_then(|rest| rest.strip_prefix('.')) else {
            return Err(ZipError::EntryName(entry.name().chars().take(200).collect()));
        };
        let name = format!("{to}.{ext}");
        writer.raw_copy_file_rename(entry, name).map_err(|e| unreadable(&e))?;
    }
    let out = writer.finish().map_err(|e| unreadable(&e))?;
    let file = out.into_inner().map_err(|e| unreadable(e.error()))?;
    file.sync_all().map_err(|e| unreadable(&e))
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

    /// A flow renamed for the Region: the same CSV bytes under `<to>.csv`, found as such.
    #[test]
    fn a_flow_is_copied_under_another_ipa_code() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("c_f205-F1-1_4.zip");
        let mut zip = zip::ZipWriter::new(File::create(&src).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("c_f205-F1-1_4.csv", options).unwrap();
        std::io::Write::write_all(&mut zip, b"IUD;codIuv\nA;\n").unwrap();
        zip.finish().unwrap();
        let dst = dir.path().join("C_F205-F1-1_4.zip");
        copy_renamed(&src, &dst, "c_f205-F1-1_4", "C_F205-F1-1_4").unwrap();
        let mut archive = ZipArchive::new(File::open(&dst).unwrap()).unwrap();
        let (index, _) = find_csv(&mut archive, "C_F205-F1-1_4", 1024).unwrap();
        let mut csv = String::new();
        archive.by_index(index).unwrap().read_to_string(&mut csv).unwrap();
        assert_eq!(csv, "IUD;codIuv\nA;\n");
        let wrong = copy_renamed(&src, &dir.path().join("x.zip"), "c_other-F1-1_4", "X");
        assert!(matches!(wrong, Err(ZipError::EntryName(_))));
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
