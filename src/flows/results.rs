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
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

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

/// Compresses the CSV part at `part` (its header, then its rows) into `<dir>/<stem>.zip` (holding
/// `<stem>.csv`), synced and renamed into place; returns the ZIP's file name. It feeds the lines
/// exactly as [`StreamingZip`] does while a run writes them, so a run resumed after a crash and one
/// that was never interrupted write the same bytes.
pub fn zip_part(part: &Path, dir: &Path, stem: &str) -> io::Result<String> {
    zip_part_as(part, dir, stem, &format!("{stem}.csv"))
}

/// [`zip_part`] with the CSV inside named `entry` (a reconciliation upload's rejects are
/// `<id>_SCARTI.zip` on disk, holding the CSV named after the uploaded file, as MyPivot names it).
pub fn zip_part_as(part: &Path, dir: &Path, stem: &str, entry: &str) -> io::Result<String> {
    let mut lines = BufReader::with_capacity(BUFFER, File::open(part)?);
    let mut next = |line: &mut Vec<u8>| -> io::Result<bool> {
        line.clear();
        if io::BufRead::read_until(&mut lines, b'\n', line)? == 0 {
            return Ok(false);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(true)
    };
    let mut line = Vec::with_capacity(1024);
    if !next(&mut line)? {
        return Err(io::Error::other(format!("{} is empty", part.display())));
    }
    let header = String::from_utf8(line.clone()).map_err(io::Error::other)?;
    let mut zip = StreamingZip::new(dir, stem.to_owned(), header);
    zip.entry = entry.to_owned();
    while next(&mut line)? {
        zip.write_line_bytes(&line)?;
    }
    zip.finish()?.ok_or_else(|| io::Error::other(format!("{} has no row", part.display())))
}

/// One result ZIP being written as its lines come, compressed by a thread of its own: a run that
/// is not interrupted has its result files ready when its last row is applied.
pub struct StreamingZip {
    dir: PathBuf,
    /// `<name>_SCARTI` or `<name>_IUV`: the ZIP and its CSV are named after it.
    stem: String,
    /// The CSV's name inside the ZIP: `<stem>.csv`.
    entry: String,
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

/// How many bytes of lines [`StreamingZip`] gathers before compressing them.
const CHUNK: usize = 256 * 1024;
/// Chunks that may wait for the compressor (memory stays bounded).
const QUEUED_CHUNKS: usize = 2;

impl StreamingZip {
    /// A result file `<dir>/<stem>.zip` whose CSV starts with `header`; nothing is created yet.
    pub fn new(dir: &Path, stem: String, header: String) -> StreamingZip {
        let entry = format!("{stem}.csv");
        StreamingZip { dir: dir.to_owned(), stem, entry, header, compressor: None, pending: Vec::new(), rows: 0 }
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
        writer.start_file(self.entry.clone(), options).map_err(io::Error::other)?;
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
        self.write_line_bytes(line.as_bytes())
    }

    /// [`StreamingZip::write_line`] of bytes (a part read back).
    fn write_line_bytes(&mut self, line: &[u8]) -> io::Result<()> {
        if self.compressor.is_none() {
            self.compressor = Some(self.start()?);
            self.pending.reserve(CHUNK + 4096);
            self.pending.extend_from_slice(self.header.as_bytes());
            self.pending.push(b'\n');
        }
        self.pending.extend_from_slice(line);
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

impl Drop for StreamingZip {
    fn drop(&mut self) {
        if let Some(compressor) = self.compressor.take() {
            drop(compressor.chunks);
            let _ = compressor.thread.join();
            let _ = std::fs::remove_file(self.temp_path());
        }
    }
}

/// Reads the one CSV of a result ZIP (ours, or another MyPay's: a Region's `_IUV`/`_SCARTI`) line
/// by line, its header first, each line at most `csv_row::MAX_LINE_BYTES` and the CSV at most
/// `limit` bytes once decompressed; returns how many lines. Entry names are only compared, never
/// used as paths; memory holds one line.
pub fn read_result_lines(path: &Path, limit: u64, mut each: impl FnMut(&str) -> io::Result<()>) -> io::Result<u64> {
    let mut archive = zip::ZipArchive::new(File::open(path)?).map_err(io::Error::other)?;
    let mut found = None;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(io::Error::other)?;
        let name = entry.name();
        if !entry.is_dir() && !name.contains(['/', '\\']) && name.to_ascii_lowercase().ends_with(".csv") {
            if found.is_some() {
                return Err(io::Error::other(format!("{} holds more than one CSV", path.display())));
            }
            found = Some(index);
        }
    }
    let index = found.ok_or_else(|| io::Error::other(format!("{} holds no CSV", path.display())))?;
    let entry = archive.by_index(index).map_err(io::Error::other)?;
    let limited = super::zipfile::Limited::new(entry, limit, std::sync::Arc::default());
    let mut lines = super::csv_row::LineReader::new(BufReader::with_capacity(BUFFER, limited));
    let mut n = 0;
    while let Some(line) = lines.next_line()? {
        each(&String::from_utf8_lossy(line))?;
        n += 1;
    }
    Ok(n)
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
