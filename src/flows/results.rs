//! The result files of an import (reference/mypay.md §2.7): `<name>_SCARTI.zip` (each rejected
//! line verbatim plus `;cod_rifiuto;de_rifiuto`) and `<name>_IUV.zip` (each loaded row rebuilt
//! normalized, with its IUV), each holding one CSV of the same name.
//!
//! An import is applied in chunks and may stop between any two (a crash, a shutdown), so its
//! results grow first as plain CSV parts ([`PartFile`]): appended row by row, synced at the end of
//! each chunk before the chunk commits, and cut back on resume to the length the last committed
//! chunk recorded. Bytes past that length belong to a chunk that never committed. Once every row
//! is applied, [`zip_part`] compresses a part into its ZIP under a temporary name, syncs it and
//! renames it into place, so a reader never sees half a file; the ZIP has no timestamps of the
//! moment, so the same rows give the same bytes whatever the interruptions.
//! Must never: keep rows in memory.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Bytes buffered before a part file is written to.
const BUFFER: usize = 256 * 1024;

/// A result CSV being appended to, resumable at a recorded length.
pub struct PartFile {
    path: PathBuf,
    header: String,
    /// Opened when the first line arrives (a file with no row is never created, as in MyPay).
    out: Option<BufWriter<File>>,
    /// Bytes written so far, the header included; 0 while nothing was.
    len: u64,
    rows: u64,
}

impl PartFile {
    /// The part at `path` whose CSV starts with `header`, cut back to `len` bytes holding `rows`
    /// rows (both 0 for a new run, which also removes a stale part).
    pub fn resume(path: PathBuf, header: String, len: u64, rows: u64) -> io::Result<PartFile> {
        let out = if len == 0 {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
            None
        } else {
            let file = OpenOptions::new().write(true).open(&path)?;
            let found = file.metadata()?.len();
            if found < len {
                return Err(io::Error::other(format!(
                    "{} holds {found} bytes, fewer than the {len} its last chunk recorded",
                    path.display()
                )));
            }
            // What follows `len` was written by a chunk that did not commit.
            file.set_len(len)?;
            let mut out = BufWriter::with_capacity(BUFFER, file);
            io::Seek::seek(out.get_mut(), io::SeekFrom::End(0))?;
            Some(out)
        };
        Ok(PartFile { path, header, out, len, rows })
    }

    /// Appends one record (without its line break).
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let out = match &mut self.out {
            Some(out) => out,
            None => {
                let file = OpenOptions::new().write(true).create(true).truncate(true).open(&self.path)?;
                let mut out = BufWriter::with_capacity(BUFFER, file);
                out.write_all(self.header.as_bytes())?;
                out.write_all(b"\n")?;
                self.len = u64::try_from(self.header.len()).unwrap_or(u64::MAX).saturating_add(1);
                self.out.insert(out)
            }
        };
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        self.len = self.len.saturating_add(u64::try_from(line.len()).unwrap_or(u64::MAX)).saturating_add(1);
        self.rows += 1;
        Ok(())
    }

    /// Writes what is buffered and makes it durable; returns the length to record with the chunk.
    pub fn sync(&mut self) -> io::Result<u64> {
        if let Some(out) = &mut self.out {
            out.flush()?;
            out.get_ref().sync_data()?;
        }
        Ok(self.len)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The part's file, when a row was written.
    pub fn path(&self) -> Option<&Path> {
        self.out.as_ref().map(|_| self.path.as_path())
    }
}

/// Compresses the CSV part at `part` into `<dir>/<stem>.zip` (holding `<stem>.csv`), synced and
/// renamed into place; returns the ZIP's file name.
pub fn zip_part(part: &Path, dir: &Path, stem: &str) -> io::Result<String> {
    let name = format!("{stem}.zip");
    let temp = dir.join(format!("{stem}.zip.tmp"));
    let result = (|| {
        let mut writer = ZipWriter::new(BufWriter::with_capacity(BUFFER, File::create(&temp)?));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        writer.start_file(format!("{stem}.csv"), options).map_err(io::Error::other)?;
        io::copy(&mut BufReader::with_capacity(BUFFER, File::open(part)?), &mut writer)?;
        let buffered = writer.finish().map_err(io::Error::other)?;
        let file = buffered.into_inner().map_err(|err| err.into_error())?;
        file.sync_all()
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(err);
    }
    std::fs::rename(&temp, dir.join(&name))?;
    Ok(name)
}

/// Syncs a directory, so the renames inside it survive a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::io::Read;

    use super::*;

    fn unzip(path: &Path, csv: &str) -> String {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        let mut text = String::new();
        archive.by_name(csv).unwrap().read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn written_only_when_a_row_arrives_and_zipped_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut empty = PartFile::resume(dir.path().join("x_SCARTI.part"), "h".to_owned(), 0, 0).unwrap();
        assert_eq!(empty.sync().unwrap(), 0);
        assert!(empty.path().is_none());
        let mut part = PartFile::resume(dir.path().join("x_IUV.part"), "h;k".to_owned(), 0, 0).unwrap();
        part.write_line("1;2").unwrap();
        assert_eq!(part.sync().unwrap(), 8);
        let name = zip_part(part.path().unwrap(), dir.path(), "x_IUV").unwrap();
        assert_eq!(name, "x_IUV.zip");
        assert_eq!(unzip(&dir.path().join(name), "x_IUV.csv"), "h;k\n1;2\n");
    }

    #[test]
    fn a_resumed_part_drops_what_its_last_chunk_did_not_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x_IUV.part");
        let mut part = PartFile::resume(path.clone(), "h".to_owned(), 0, 0).unwrap();
        part.write_line("1").unwrap();
        let committed = part.sync().unwrap();
        part.write_line("lost").unwrap();
        part.sync().unwrap();
        drop(part);
        let mut again = PartFile::resume(path.clone(), "h".to_owned(), committed, 1).unwrap();
        again.write_line("2").unwrap();
        again.sync().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "h\n1\n2\n");
        assert_eq!(again.rows(), 2);
        // A part shorter than recorded is not this run's: refused, never padded.
        assert!(PartFile::resume(path, "h".to_owned(), 1_000, 9).is_err());
    }

    #[test]
    fn the_same_rows_give_the_same_zip() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("p");
        std::fs::write(&part, "h\n1\n").unwrap();
        let a = zip_part(&part, dir.path(), "a").unwrap();
        let b = zip_part(&part, dir.path(), "a").unwrap();
        assert_eq!(a, b);
        let first = std::fs::read(dir.path().join("a.zip")).unwrap();
        zip_part(&part, dir.path(), "b").unwrap();
        let second = std::fs::read(dir.path().join("b.zip")).unwrap();
        // Only the entry's name differs: no clock in the bytes.
        assert_eq!(first.len(), second.len());
    }
}
