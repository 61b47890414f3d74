//! Many notices in one ZIP file (`avviso_<IUV>.pdf` per debt), as an import's result or an
//! operator's bulk download (mypay.md §1.10, §2.7).
//!
//! Owns: the archive layout and streaming: each notice is loaded, rendered and deflated into the
//! archive before the next one is loaded, so memory stays flat however many debts there are.
//! [`NoticesArchive`] writes one archive in steps that survive a stop: at a [`Checkpoint`] the
//! archive is made whole (its central directory written and synced) and a copy of that central
//! directory is kept beside it, so that entries written after the checkpoint, whole or torn by a
//! crash, are cut off and the archive resumed exactly as it was then.
//! Must never: stop at one bad debt: a debt without a printable notice is skipped and counted.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use zip::ZipWriter;
use zip::result::ZipError;
use zip::write::SimpleFileOptions;

use super::input::NoticeView;
use super::{PdfError, notice_pdf};

/// PDFs are already Flate-compressed inside, so a fast level is enough.
fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(1))
}

fn entry_name(view: &NoticeView) -> String {
    format!("avviso_{}.pdf", view.iuv)
}

fn zip_error(err: ZipError) -> PdfError {
    match err {
        // Kept as I/O, so that a full disk is still told apart.
        ZipError::Io(io) => PdfError::Io(io),
        other => PdfError::Zip(other.to_string()),
    }
}

/// What a bulk ZIP holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkSummary {
    /// Names of the entries written, in order.
    pub written: Vec<String>,
    /// The debts left out and why.
    pub skipped: Vec<String>,
}

/// Writes the notices `views` yields into a ZIP on `out`; a view that could not be built, or whose
/// payment options no layout prints, is skipped and reported in the summary.
pub fn write_notices_zip<W: Write + Seek, E: std::fmt::Display>(
    out: W,
    views: impl IntoIterator<Item = Result<NoticeView, E>>,
) -> Result<BulkSummary, PdfError> {
    let mut zip = zip::ZipWriter::new(out);
    let options = entry_options();
    let mut summary = BulkSummary::default();
    for view in views {
        let view = match view {
            Ok(view) => view,
            Err(err) => {
                summary.skipped.push(err.to_string());
                continue;
            }
        };
        let pdf = match notice_pdf(&view) {
            Ok(pdf) => pdf,
            Err(err @ PdfError::Options(_)) => {
                summary.skipped.push(format!("{}: {err}", entry_name(&view)));
                continue;
            }
            Err(err) => return Err(err),
        };
        let name = entry_name(&view);
        zip.start_file(name.as_str(), options).map_err(|err| PdfError::Zip(err.to_string()))?;
        zip.write_all(&pdf)?;
        summary.written.push(name);
    }
    zip.finish().map_err(|err| PdfError::Zip(err.to_string()))?;
    Ok(summary)
}

/// Where a [`NoticesArchive`] was made whole: its entries end at `entries_end`, its central
/// directory (kept beside it too) ends the file at `len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub entries_end: u64,
    pub len: u64,
    /// Notices in it.
    pub entries: u64,
}

/// Notices between two syncs of the archive, so that a checkpoint (at a stop, within the server's
/// few seconds) never has much left to write to the disk.
const SYNC_EVERY: u64 = 1000;

/// The archive file with a write buffer that keeps no position of its own: every read and seek
/// writes the buffer out first, so the file's position (shared with [`NoticesArchive`]'s second
/// handle) is the writer's. The zip writer sends each central-directory record and header in
/// several small writes; a million of them unbuffered took seconds.
struct Buffered {
    file: File,
    out: Vec<u8>,
}

impl Buffered {
    const CAPACITY: usize = 256 * 1024;

    fn new(file: File) -> Buffered {
        Buffered { file, out: Vec::with_capacity(Buffered::CAPACITY) }
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.file.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    fn into_file(mut self) -> std::io::Result<File> {
        self.write_out()?;
        Ok(self.file)
    }
}

impl Write for Buffered {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > Buffered::CAPACITY {
            self.write_out()?;
        }
        if buf.len() >= Buffered::CAPACITY {
            return self.file.write(buf);
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.file.flush()
    }
}

impl Read for Buffered {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.write_out()?;
        self.file.read(buf)
    }
}

impl Seek for Buffered {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.write_out()?;
        self.file.seek(pos)
    }
}

/// A ZIP of notices written in steps at `path` (a temporary name the caller renames when
/// [`NoticesArchive::finish`] returns), resumable from its last [`Checkpoint`].
pub struct NoticesArchive {
    path: PathBuf,
    /// A second handle on the file, sharing the writer's position: where the next entry starts.
    file: File,
    zip: Option<ZipWriter<Buffered>>,
    entries: u64,
}

impl NoticesArchive {
    /// Starts an empty archive at `path`, replacing whatever was there and its checkpoints.
    pub fn create(path: &Path) -> Result<NoticesArchive, PdfError> {
        discard(path);
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let handle = file.try_clone()?;
        let zip = ZipWriter::new(Buffered::new(file));
        Ok(NoticesArchive { path: path.to_owned(), file: handle, zip: Some(zip), entries: 0 })
    }

    /// Opens the archive at `path` as it was at `at`: whatever was written after it is cut off and
    /// the central directory kept then is put back.
    pub fn resume(path: &Path, at: Checkpoint) -> Result<NoticesArchive, PdfError> {
        let kept = checkpoint_path(path, at.entries_end);
        let cd_len = std::fs::metadata(&kept)?.len();
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        if file.metadata()?.len() < at.entries_end || at.entries_end.checked_add(cd_len) != Some(at.len) {
            return Err(PdfError::Zip(format!("{} does not match its checkpoint", path.display())));
        }
        file.set_len(at.entries_end)?;
        let mut out = &file;
        out.seek(SeekFrom::Start(at.entries_end))?;
        std::io::copy(&mut File::open(&kept)?, &mut out)?;
        NoticesArchive::append(path, file, at)
    }

    /// Goes on writing a whole archive whose entries end at `at.entries_end`.
    fn append(path: &Path, file: File, at: Checkpoint) -> Result<NoticesArchive, PdfError> {
        let handle = file.try_clone()?;
        let zip = ZipWriter::new_append(Buffered::new(file)).map_err(zip_error)?;
        // New entries go over the central directory, which is written again after them.
        let mut position = &handle;
        position.seek(SeekFrom::Start(at.entries_end))?;
        Ok(NoticesArchive { path: path.to_owned(), file: handle, zip: Some(zip), entries: at.entries })
    }

    fn zip(&mut self) -> Result<&mut ZipWriter<Buffered>, PdfError> {
        self.zip.as_mut().ok_or_else(|| PdfError::Zip("the archive was left unusable by an earlier failure".to_owned()))
    }

    /// Renders `view` and adds it as `avviso_<IUV>.pdf`.
    pub fn add(&mut self, view: &NoticeView) -> Result<(), PdfError> {
        let pdf = notice_pdf(view)?;
        let zip = self.zip()?;
        zip.start_file(entry_name(view), entry_options()).map_err(zip_error)?;
        zip.write_all(&pdf)?;
        self.entries += 1;
        if self.entries % SYNC_EVERY == 0 {
            self.zip()?.flush()?;
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Notices in the archive.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes written so far, for estimating what the rest will take.
    pub fn bytes(&self) -> Result<u64, PdfError> {
        let mut position = &self.file;
        Ok(position.stream_position()?)
    }

    /// Makes the archive whole and durable as it is now, keeps a copy of its central directory
    /// beside it, and goes on. The caller records the checkpoint, then calls [`prune`].
    pub fn checkpoint(&mut self) -> Result<Checkpoint, PdfError> {
        let (file, at) = self.make_whole()?;
        *self = NoticesArchive::append(&self.path, file, at)?;
        Ok(at)
    }

    /// [`NoticesArchive::checkpoint`], and stops there (when the process is stopping: reading the
    /// central directory back to go on would cost time for nothing).
    pub fn pause(mut self) -> Result<Checkpoint, PdfError> {
        Ok(self.make_whole()?.1)
    }

    fn make_whole(&mut self) -> Result<(File, Checkpoint), PdfError> {
        let zip = self.zip.take().ok_or_else(|| PdfError::Zip("no archive to checkpoint".to_owned()))?;
        let file = zip.finish().map_err(zip_error)?.into_file()?;
        file.sync_data()?;
        let len = file.metadata()?.len();
        let entries_end = central_directory_start(&file, len)?;
        let at = Checkpoint { entries_end, len, entries: self.entries };
        let kept = checkpoint_path(&self.path, entries_end);
        let mut tmp_name = kept.as_os_str().to_os_string();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        {
            let mut source = &file;
            source.seek(SeekFrom::Start(entries_end))?;
            let mut copy = File::create(&tmp)?;
            std::io::copy(&mut source.take(len - entries_end), &mut copy)?;
            copy.sync_all()?;
        }
        std::fs::rename(&tmp, &kept)?;
        sync_parent(&self.path)?;
        Ok((file, at))
    }

    /// Writes the central directory and syncs the file; returns the number of notices. The
    /// checkpoints' copies are removed.
    pub fn finish(mut self) -> Result<u64, PdfError> {
        let zip = self.zip.take().ok_or_else(|| PdfError::Zip("no archive to finish".to_owned()))?;
        let file = zip.finish().map_err(zip_error)?.into_file()?;
        file.sync_all()?;
        remove_checkpoints(&self.path, None);
        Ok(self.entries)
    }
}

/// Removes the central directories kept for the checkpoints of the archive at `path` other than
/// `keep` (once `keep` is recorded, the older ones are of no use).
pub fn prune(path: &Path, keep: &Checkpoint) {
    remove_checkpoints(path, Some(keep.entries_end));
}

/// Removes a partial archive at `path` and everything kept for its checkpoints.
pub fn discard(path: &Path) {
    let _ = std::fs::remove_file(path);
    remove_checkpoints(path, None);
}

/// `<archive>.cd-<offset>`: the central directory of the checkpoint whose entries end at `offset`.
fn checkpoint_path(path: &Path, entries_end: u64) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".cd-{entries_end}"));
    path.with_file_name(name)
}

/// Removes the checkpoint copies of `path`'s archive, but the one of `keep`.
fn remove_checkpoints(path: &Path, keep: Option<u64>) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return };
    let prefix = format!("{name}.cd-");
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir }) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let offset = rest.strip_suffix(".tmp").unwrap_or(rest).parse::<u64>().ok();
        if offset.is_none() || offset != keep || rest.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Where the central directory of the whole archive in `file` (`len` bytes, no comment) starts,
/// read from its end records (APPNOTE 4.3.14-16): the classic record has it, or says 0xFFFFFFFF
/// and the ZIP64 record, found through its locator, has it.
fn central_directory_start(file: &File, len: u64) -> std::io::Result<u64> {
    const EOCD: u32 = 0x0605_4b50;
    const LOCATOR: u32 = 0x0706_4b50;
    const EOCD64: u32 = 0x0606_4b50;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a whole ZIP archive");
    let read_at = |at: u64, n: usize| -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        let mut f = file;
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut buf)?;
        Ok(buf)
    };
    let u32_at = |buf: &[u8], at: usize| {
        buf.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).ok_or_else(bad)
    };
    let u64_at = |buf: &[u8], at: usize| {
        buf.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes).ok_or_else(bad)
    };
    let eocd_at = len.checked_sub(22).ok_or_else(bad)?;
    let eocd = read_at(eocd_at, 22)?;
    if u32_at(&eocd, 0)? != EOCD {
        return Err(bad());
    }
    let offset = u32_at(&eocd, 16)?;
    if offset != u32::MAX {
        return Ok(u64::from(offset));
    }
    let locator = read_at(eocd_at.checked_sub(20).ok_or_else(bad)?, 20)?;
    if u32_at(&locator, 0)? != LOCATOR {
        return Err(bad());
    }
    let record = read_at(u64_at(&locator, 8)?, 56)?;
    if u32_at(&record, 0)? != EOCD64 {
        return Err(bad());
    }
    u64_at(&record, 48)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn view(n: u64) -> NoticeView {
        let mut v = crate::pdf::notice::tests::sample();
        v.iuv = format!("{n:017}");
        v
    }

    fn names(path: &Path) -> Vec<String> {
        let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
        (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().to_owned()).collect()
    }

    fn checkpoints(dir: &Path) -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains(".cd-"))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn multi_option_notices_go_into_a_zip_whole_and_unprintable_ones_are_skipped() {
        use crate::pdf::input::OptionKind;
        use crate::pdf::options::tests::{fine, instalments, with_options};
        let plan = with_options(&instalments(4, true), true);
        let mut bad = with_options(&fine(), false);
        bad.options.truncate(1);
        let mut out = std::io::Cursor::new(Vec::new());
        let mut fine_notice = with_options(&fine(), true);
        fine_notice.iuv = "01000000000000999".into();
        let views = [view(1), plan.clone(), bad.clone(), fine_notice];
        let summary = write_notices_zip(&mut out, views.iter().cloned().map(Ok::<_, String>)).unwrap();
        assert_eq!(summary.written.len(), 3);
        assert_eq!(
            summary.skipped,
            [format!(
                "avviso_{}.pdf: payment options: a fine is exactly one reduced and one full option, and nothing else",
                bad.iuv
            )]
        );
        assert_eq!(bad.options[0].kind, OptionKind::Reduced);
        let mut archive = zip::ZipArchive::new(out).unwrap();
        let mut entry = archive.by_name(&format!("avviso_{}.pdf", plan.iuv)).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        assert_eq!(bytes, notice_pdf(&plan).unwrap());

        // The resumable archive takes them too; an unprintable one leaves it as it was.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x_AVVISI_PDF.zip.partial");
        let mut archive = NoticesArchive::create(&path).unwrap();
        archive.add(&plan).unwrap();
        assert!(matches!(archive.add(&bad), Err(PdfError::Options(_))));
        archive.add(&view(2)).unwrap();
        assert_eq!(archive.finish().unwrap(), 2);
        assert_eq!(names(&path), [format!("avviso_{}.pdf", plan.iuv), "avviso_00000000000000002.pdf".to_owned()]);
    }

    #[test]
    fn an_archive_resumes_from_its_checkpoint_after_a_stop_or_a_torn_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x_AVVISI_PDF.zip.partial");
        let mut archive = NoticesArchive::create(&path).unwrap();
        for n in 1..=3 {
            archive.add(&view(n)).unwrap();
        }
        let first = archive.checkpoint().unwrap();
        assert_eq!(first.entries, 3);
        // The file is a whole archive at its checkpoint.
        assert_eq!(names(&path).len(), 3);
        archive.add(&view(4)).unwrap();
        let second = archive.checkpoint().unwrap();
        prune(&path, &second);
        assert_eq!(checkpoints(dir.path()), [format!("x_AVVISI_PDF.zip.partial.cd-{}", second.entries_end)]);
        // Written after the checkpoint, then a crash: half an entry and garbage at the end.
        archive.add(&view(5)).unwrap();
        drop(archive);
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"PK\x03\x04torn").unwrap();

        let mut archive = NoticesArchive::resume(&path, second).unwrap();
        assert_eq!(archive.entries(), 4);
        for n in 5..=6 {
            archive.add(&view(n)).unwrap();
        }
        assert_eq!(archive.finish().unwrap(), 6);
        let expected: Vec<String> = (1..=6).map(|n| format!("avviso_{n:017}.pdf")).collect();
        assert_eq!(names(&path), expected, "every notice once, in order");
        assert!(checkpoints(dir.path()).is_empty(), "the checkpoint copies are removed at the end");
        let mut zip = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        let mut head = [0u8; 5];
        zip.by_index(5).unwrap().read_exact(&mut head).unwrap();
        assert_eq!(&head, b"%PDF-");
    }

    #[test]
    fn an_older_checkpoint_still_resumes_while_a_newer_one_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.zip.partial");
        let mut archive = NoticesArchive::create(&path).unwrap();
        archive.add(&view(1)).unwrap();
        let recorded = archive.checkpoint().unwrap();
        archive.add(&view(2)).unwrap();
        // A crash after this checkpoint was made but before its cursor was saved.
        let _unrecorded = archive.checkpoint().unwrap();
        drop(archive);
        let archive = NoticesArchive::resume(&path, recorded).unwrap();
        assert_eq!(archive.finish().unwrap(), 1);
        assert_eq!(names(&path), ["avviso_00000000000000001.pdf"]);
        // A checkpoint that does not match the file is refused, not guessed at.
        let wrong = Checkpoint { entries_end: 1, len: 10, entries: 1 };
        assert!(NoticesArchive::resume(&path, wrong).is_err());
    }

    #[test]
    fn the_central_directory_is_found_in_classic_and_zip64_archives() {
        let dir = tempfile::tempdir().unwrap();
        for (name, entries) in [("small.zip", 3usize), ("many.zip", 70_000)] {
            let path = dir.path().join(name);
            let mut zip = ZipWriter::new(File::create(&path).unwrap());
            let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            for i in 0..entries {
                zip.start_file(format!("{i}"), stored).unwrap();
            }
            zip.finish().unwrap();
            let file = File::open(&path).unwrap();
            let len = file.metadata().unwrap().len();
            let expected = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap().central_directory_start();
            assert_eq!(central_directory_start(&file, len).unwrap(), expected, "{name}");
        }
        let path = dir.path().join("not.zip");
        std::fs::write(&path, vec![0u8; 100]).unwrap();
        assert!(central_directory_start(&File::open(&path).unwrap(), 100).is_err());
    }
}
