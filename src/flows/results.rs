//! The result files of an import (reference/mypay.md §2.7): `<name>_SCARTI.zip` (each rejected
//! line verbatim plus `;cod_rifiuto;de_rifiuto`) and `<name>_IUV.zip` (each loaded row rebuilt
//! normalized, with its IUV), each holding one CSV of the same name.
//!
//! A file is created only when its first row arrives and is streamed to disk as rows come, under a
//! temporary name; [`ResultZip::finish`] syncs it and renames it into place, so a reader never sees
//! half a file. Dropped unfinished (an aborted run), it removes its temporary file.
//! Must never: keep rows in memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One result ZIP being written.
pub struct ResultZip {
    dir: PathBuf,
    /// `<name>_SCARTI` or `<name>_IUV`: the ZIP and its CSV are named after it.
    stem: String,
    header: String,
    writer: Option<ZipWriter<BufWriter<File>>>,
    /// Lines not yet handed to the compressor: it is fed in large chunks, since every write into
    /// it zero-fills its 32 KiB output buffer, whatever the size of the write.
    pending: Vec<u8>,
    rows: u64,
}

/// How many bytes of lines [`ResultZip`] gathers before compressing them.
const CHUNK: usize = 256 * 1024;

impl ResultZip {
    /// A result file `<dir>/<stem>.zip` whose CSV starts with `header`; nothing is created yet.
    pub fn new(dir: &Path, stem: String, header: String) -> ResultZip {
        ResultZip { dir: dir.to_owned(), stem, header, writer: None, pending: Vec::new(), rows: 0 }
    }

    fn temp_path(&self) -> PathBuf {
        self.dir.join(format!("{}.zip.tmp", self.stem))
    }

    /// Appends one record (without its line break).
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let file = File::create(self.temp_path())?;
                let mut writer = ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
                let options = SimpleFileOptions::default()
                    .compression_method(CompressionMethod::Deflated)
                    .compression_level(Some(1))
                    .large_file(true);
                writer.start_file(format!("{}.csv", self.stem), options).map_err(io::Error::other)?;
                self.pending.reserve(CHUNK + 4096);
                self.pending.extend_from_slice(self.header.as_bytes());
                self.pending.push(b'\n');
                self.writer.insert(writer)
            }
        };
        self.pending.extend_from_slice(line.as_bytes());
        self.pending.push(b'\n');
        if self.pending.len() >= CHUNK {
            writer.write_all(&self.pending)?;
            self.pending.clear();
        }
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the ZIP, syncs it and renames it to `<stem>.zip`; returns the file name, or
    /// `None` when no row was written (then there is no file, as in MyPay).
    pub fn finish(mut self) -> io::Result<Option<String>> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(None);
        };
        writer.write_all(&self.pending)?;
        let buffered = writer.finish().map_err(io::Error::other)?;
        let file = buffered.into_inner().map_err(|err| err.into_error())?;
        file.sync_all()?;
        let name = format!("{}.zip", self.stem);
        std::fs::rename(self.temp_path(), self.dir.join(&name))?;
        Ok(Some(name))
    }
}

impl Drop for ResultZip {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(self.temp_path());
        }
    }
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

    #[test]
    fn written_only_when_a_row_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let empty = ResultZip::new(dir.path(), "x_SCARTI".to_owned(), "h".to_owned());
        assert_eq!(empty.finish().unwrap(), None);
        let mut zip = ResultZip::new(dir.path(), "x_IUV".to_owned(), "h;k".to_owned());
        zip.write_line("1;2").unwrap();
        assert_eq!(zip.finish().unwrap().as_deref(), Some("x_IUV.zip"));
        let mut archive = zip::ZipArchive::new(File::open(dir.path().join("x_IUV.zip")).unwrap()).unwrap();
        let mut text = String::new();
        archive.by_name("x_IUV.csv").unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "h;k\n1;2\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unfinished_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut zip = ResultZip::new(dir.path(), "x_IUV".to_owned(), "h".to_owned());
        zip.write_line("1").unwrap();
        drop(zip);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
