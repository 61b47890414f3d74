//! A request's body as the server read it: in memory for forms, JSON and SOAP messages, or spooled
//! to a file for uploads, so that a 200 MB debt flow costs disk space while it is handled rather
//! than memory.
//!
//! The spool file is made in `<data_dir>/tmp/` (mode 0700) and unlinked as soon as it is open, so
//! it disappears with the request whatever happens to it, a crash included; its bytes are read
//! back by position ([`Body::range`]), so any number of readers (the multipart parser, then the
//! service that stores the upload) can look at it without sharing a cursor.
//! **Invariant:** neither kind ever holds more than the route's body limit.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::Path;

/// Buffer of the copies to and from a spool file.
const CHUNK: usize = 64 * 1024;

/// A request body.
#[derive(Debug)]
pub enum Body {
    Memory(Vec<u8>),
    /// An unlinked file and its length.
    Spooled(File, u64),
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than {0} bytes")]
    TooLarge(u64),
    #[error("cannot read the request body: {0}")]
    Read(io::Error),
    #[error("cannot spool the request body in {dir}: {source}")]
    Spool { dir: String, source: io::Error },
}

/// No body: what a request's head is given before its body is read.
pub static EMPTY: Body = Body::Memory(Vec::new());

impl Body {
    /// Reads `reader` to its end into memory, refusing more than `limit` bytes.
    pub fn read(reader: &mut dyn Read, limit: u64) -> Result<Body, BodyError> {
        let mut bytes = Vec::new();
        reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(BodyError::Read)?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
            return Err(BodyError::TooLarge(limit));
        }
        Ok(Body::Memory(bytes))
    }

    /// Copies `reader` to its end into a spool file in `dir`, refusing more than `limit` bytes.
    pub fn spool(reader: &mut dyn Read, dir: &Path, limit: u64) -> Result<Body, BodyError> {
        let spool_error = |source| BodyError::Spool { dir: dir.display().to_string(), source };
        let mut file = spool_file(dir).map_err(spool_error)?;
        let mut buf = vec![0u8; CHUNK];
        let mut len = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(BodyError::Read(err)),
            };
            len = len.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
            if len > limit {
                return Err(BodyError::TooLarge(limit));
            }
            file.write_all(buf.get(..n).unwrap_or_default()).map_err(spool_error)?;
        }
        Ok(Body::Spooled(file, len))
    }

    pub fn len(&self) -> u64 {
        match self {
            Body::Memory(bytes) => u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            Body::Spooled(_, len) => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a body kept in memory; empty for a spooled one, which only routes that
    /// stream their uploads get (they read it through [`Body::reader`] or multipart parts).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Body::Memory(bytes) => bytes,
            Body::Spooled(..) => &[],
        }
    }

    /// The whole body as a reader.
    pub fn reader(&self) -> Range<'_> {
        self.range(0, self.len())
    }

    /// `len` bytes from `offset` (fewer past the end) as a reader.
    pub fn range(&self, offset: u64, len: u64) -> Range<'_> {
        let end = offset.saturating_add(len).min(self.len());
        Range { body: self, at: offset.min(end), end }
    }
}

/// A new file in `dir`, already unlinked.
fn spool_file(dir: &Path) -> io::Result<File> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let name = crate::services::ids::random_hex(16).map_err(|err| io::Error::other(err.to_string()))?;
    let path = dir.join(format!("body-{name}"));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// A window of a [`Body`], read by position.
#[derive(Debug)]
pub struct Range<'a> {
    body: &'a Body,
    at: u64,
    end: u64,
}

impl Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.at)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        let Some(buf) = buf.get_mut(..want) else { return Ok(0) };
        if buf.is_empty() {
            return Ok(0);
        }
        let n = match self.body {
            Body::Memory(bytes) => {
                let from = usize::try_from(self.at).unwrap_or(usize::MAX);
                let source = bytes.get(from..from.saturating_add(want)).unwrap_or_default();
                let n = source.len();
                buf.get_mut(..n).unwrap_or_default().copy_from_slice(source);
                n
            }
            Body::Spooled(file, _) => file.read_at(buf, self.at)?,
        };
        self.at = self.at.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn all(mut reader: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_spooled_body_is_an_unlinked_file_read_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("tmp");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let body = Body::spool(&mut &data[..], &spool, 200_000).unwrap();
        assert!(matches!(body, Body::Spooled(_, 200_000)));
        assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0, "no name left behind");
        assert!(body.bytes().is_empty());
        assert_eq!(all(body.reader()), data);
        assert_eq!(all(body.range(70_000, 10)), &data[70_000..70_010]);
        assert_eq!(all(body.range(199_990, 100)), &data[199_990..], "cut at the end");
        assert!(all(body.range(300_000, 5)).is_empty());
        let mut two = (body.range(0, 3), body.range(1, 3));
        assert_eq!((all(&mut two.0), all(&mut two.1)), (data[0..3].to_vec(), data[1..4].to_vec()));
    }

    #[test]
    fn limits_are_kept_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Body::spool(&mut &[1u8; 11][..], dir.path(), 10), Err(BodyError::TooLarge(10))));
        assert!(matches!(Body::read(&mut &[1u8; 11][..], 10), Err(BodyError::TooLarge(10))));
        let body = Body::read(&mut &b"abcdef"[..], 10).unwrap();
        assert_eq!((body.bytes(), body.len()), (&b"abcdef"[..], 6));
        assert_eq!(all(body.range(2, 3)), b"cde");
        assert!(EMPTY.is_empty());
    }
}
