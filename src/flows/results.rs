//! The result files of an import (reference/mypay.md §2.7): `<name>_SCARTI.zip` (each rejected
//! line verbatim plus `;cod_rifiuto;de_rifiuto`) and `<name>_IUV.zip` (each loaded row rebuilt
//! normalized, with its IUV), each holding one CSV of the same name.
//!
//! A file is created only when its first row arrives and is streamed to disk as rows come, under a
//! temporary name, compressed by a thread of its own; [`ResultZip::finish`] syncs it and renames it
//! into place, so a reader never sees half a file. Dropped unfinished (an aborted run), it removes its temporary file.
//! Must never: keep rows in memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One result ZIP being written.
pub struct ResultZip {
    dir: PathBuf,
    /// `<name>_SCARTI` or `<name>_IUV`: the ZIP and its CSV are named after it.
    stem: String,
    header: String,
    compressor: Option<Compressor>,
    /// Lines not yet handed to the compressor: it is fed in large chunks, since every write into
    /// it zero-fills its 32 KiB output buffer, whatever the size of the write.
    pending: Vec<u8>,
    rows: u64,
}

/// The thread that compresses a result file: the import's transaction thread only gathers lines,
/// as a million-row import spends a noticeable share of its time in deflate.
struct Compressor {
    chunks: SyncSender<Chunk>,
    thread: JoinHandle<io::Result<()>>,
}

enum Chunk {
    Lines(Vec<u8>),
    /// Every line was sent: complete the ZIP and sync it.
    Finish,
}

/// How many bytes of lines [`ResultZip`] gathers before compressing them.
const CHUNK: usize = 256 * 1024;
/// Chunks that may wait for the compressor (memory stays bounded).
const QUEUED_CHUNKS: usize = 2;

impl ResultZip {
    /// A result file `<dir>/<stem>.zip` whose CSV starts with `header`; nothing is created yet.
    pub fn new(dir: &Path, stem: String, header: String) -> ResultZip {
        ResultZip { dir: dir.to_owned(), stem, header, compressor: None, pending: Vec::new(), rows: 0 }
    }

    fn temp_path(&self) -> PathBuf {
        self.dir.join(format!("{}.zip.tmp", self.stem))
    }

    fn start(&self) -> io::Result<Compressor> {
        let file = File::create(self.temp_path())?;
        let mut writer = ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        writer.start_file(format!("{}.csv", self.stem), options).map_err(io::Error::other)?;
        let (chunks, received) = mpsc::sync_channel::<Chunk>(QUEUED_CHUNKS);
        let thread = std::thread::Builder::new().name("result-zip".to_owned()).spawn(move || {
            for chunk in received {
                match chunk {
                    Chunk::Lines(lines) => writer.write_all(&lines)?,
                    Chunk::Finish => {
                        let buffered = writer.finish().map_err(io::Error::other)?;
                        let file = buffered.into_inner().map_err(|err| err.into_error())?;
                        return file.sync_all();
                    }
                }
            }
            // Hung up without `Finish`: the run was abandoned, the caller removes the file.
            Ok(())
        })?;
        Ok(Compressor { chunks, thread })
    }

    /// Appends one record (without its line break).
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        if self.compressor.is_none() {
            self.compressor = Some(self.start()?);
            self.pending.reserve(CHUNK + 4096);
            self.pending.extend_from_slice(self.header.as_bytes());
            self.pending.push(b'\n');
        }
        self.pending.extend_from_slice(line.as_bytes());
        self.pending.push(b'\n');
        if self.pending.len() >= CHUNK {
            let lines = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK + 4096));
            self.send(Chunk::Lines(lines))?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Hands a chunk to the compressor; if it has stopped, its error.
    fn send(&mut self, chunk: Chunk) -> io::Result<()> {
        let Some(compressor) = &self.compressor else {
            return Ok(());
        };
        if compressor.chunks.send(chunk).is_ok() {
            return Ok(());
        }
        match self.compressor.take().map(|c| c.thread.join()) {
            Some(Ok(Err(err))) => Err(err),
            _ => Err(io::Error::other("the result file's compressor stopped")),
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the ZIP, syncs it and renames it to `<stem>.zip`; returns the file name, or
    /// `None` when no row was written (then there is no file, as in MyPay).
    pub fn finish(mut self) -> io::Result<Option<String>> {
        if self.compressor.is_none() {
            return Ok(None);
        }
        let lines = std::mem::take(&mut self.pending);
        self.send(Chunk::Lines(lines))?;
        self.send(Chunk::Finish)?;
        let Some(compressor) = self.compressor.take() else {
            return Err(io::Error::other("the result file's compressor stopped"));
        };
        drop(compressor.chunks);
        compressor.thread.join().map_err(|_| io::Error::other("the result file's compressor panicked"))??;
        let name = format!("{}.zip", self.stem);
        std::fs::rename(self.temp_path(), self.dir.join(&name))?;
        Ok(Some(name))
    }
}

impl Drop for ResultZip {
    fn drop(&mut self) {
        if let Some(compressor) = self.compressor.take() {
            drop(compressor.chunks);
            let _ = compressor.thread.join();
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
