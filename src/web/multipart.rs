//! `multipart/form-data` bodies (RFC 7578), for file uploads: the parts' names and file names, and
//! where each part's bytes are in the body. Anything malformed is refused rather than guessed at.
//!
//! The parser reads the body through a window of [`WINDOW`] bytes, so a spooled upload of any size
//! is parsed in constant memory; a part's bytes stay where they are and are read on demand
//! ([`Part::reader`]).

use std::io::Read;

use super::body::Body;

/// How much of the body the parser looks at once.
const WINDOW: usize = 64 * 1024;
/// The largest headers of one part.
const MAX_PART_HEAD: u64 = 8 * 1024;
/// The most parts in one body.
const MAX_PARTS: usize = 16;

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    pub name: String,
    pub file_name: Option<String>,
    body: &'a Body,
    offset: u64,
    len: u64,
}

impl<'a> Part<'a> {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The part's bytes as a reader.
    pub fn reader(&self) -> super::body::Range<'a> {
        self.body.range(self.offset, self.len)
    }

    /// The part's bytes in memory: for parts the route's body limit keeps small.
    pub fn bytes(&self) -> Result<Vec<u8>, MultipartError> {
        let mut bytes = Vec::new();
        self.reader().read_to_end(&mut bytes).map_err(|_| MultipartError::Malformed("unreadable part"))?;
        Ok(bytes)
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

/// The boundary of a `Content-Type: multipart/form-data; boundary=...` header.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .split(';')
        .find_map(|p| {
            let (key, value) = p.trim().split_once('=')?;
            key.eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
        })
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

/// Reads a body by position, a window at a time.
struct Scanner<'a> {
    body: &'a Body,
    window: Vec<u8>,
    /// The position of `window[0]` in the body.
    start: u64,
}

impl Scanner<'_> {
    /// Makes the window start at `at`, holding up to [`WINDOW`] bytes.
    fn load(&mut self, at: u64) -> Result<(), MultipartError> {
        self.window.clear();
        self.start = at;
        let len = u64::try_from(WINDOW).unwrap_or(u64::MAX);
        self.body
            .range(at, len)
            .read_to_end(&mut self.window)
            .map_err(|_| MultipartError::Malformed("unreadable body"))?;
        Ok(())
    }

    /// The position of the first `needle` at or after `from`, looking at most `within` bytes past
    /// `from` when given.
    fn find(&mut self, needle: &[u8], from: u64, within: Option<u64>) -> Result<Option<u64>, MultipartError> {
        let overlap = u64::try_from(needle.len().saturating_sub(1)).unwrap_or(0);
        let mut at = from;
        loop {
            self.load(at)?;
            if let Some(found) = position(&self.window, needle) {
                let found = at.saturating_add(u64::try_from(found).unwrap_or(u64::MAX));
                return Ok(within.is_none_or(|w| found <= from.saturating_add(w)).then_some(found));
            }
            let read = u64::try_from(self.window.len()).unwrap_or(0);
            if self.window.len() < WINDOW || read <= overlap {
                return Ok(None);
            }
            // The needle may straddle two windows.
            at = at.saturating_add(read - overlap);
            if within.is_some_and(|w| at > from.saturating_add(w)) {
                return Ok(None);
            }
        }
    }

    /// `len` bytes (at most a window) from `at`; fewer at the end of the body.
    fn bytes(&mut self, at: u64, len: usize) -> Result<&[u8], MultipartError> {
        self.load(at)?;
        Ok(self.window.get(..len).unwrap_or(&self.window))
    }
}

/// Where `needle` first occurs in `haystack`.
fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|b| *b == first) {
        let at = from.saturating_add(offset);
        if haystack.get(at.saturating_add(1)..at.saturating_add(needle.len()))? == rest {
            return Some(at);
        }
        from = at.saturating_add(1);
    }
    None
}

/// Splits `body` into its parts.
pub fn parse<'a>(body: &'a Body, boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let step = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let mut scanner = Scanner { body, window: Vec::with_capacity(WINDOW), start: 0 };
    let mut parts = Vec::new();
    let mut pos = scanner.find(delimiter.as_bytes(), 0, None)?.ok_or(MultipartError::Malformed("no first boundary"))?;
    loop {
        pos = pos.saturating_add(step(delimiter.len()));
        match scanner.bytes(pos, 2)? {
            b"--" => return Ok(parts),
            b"\r\n" => {}
            _ => return Err(MultipartError::Malformed("boundary not followed by a line end")),
        }
        pos = pos.saturating_add(2);
        let headers_end = scanner
            .find(b"\r\n\r\n", pos, Some(MAX_PART_HEAD))?
            .ok_or(MultipartError::Malformed("part without headers"))?;
        let head_len = usize::try_from(headers_end.saturating_sub(pos)).unwrap_or(usize::MAX);
        let headers = std::str::from_utf8(scanner.bytes(pos, head_len)?)
            .map_err(|_| MultipartError::Malformed("headers are not UTF-8"))?
            .to_owned();
        let data_start = headers_end.saturating_add(4);
        let data_end = scanner
            .find(next_delimiter.as_bytes(), data_start, None)?
            .ok_or(MultipartError::Malformed("part not terminated"))?;
        let (mut name, mut file_name) = (None, None);
        for line in headers.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else { continue };
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.trim().split_once('=') else { continue };
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => file_name = Some(v),
                    _ => {}
                }
            }
        }
        let name = name.ok_or(MultipartError::Malformed("part without a name"))?;
        if parts.len() >= MAX_PARTS {
            return Err(MultipartError::Malformed("too many parts"));
        }
        parts.push(Part { name, file_name, body, offset: data_start, len: data_end.saturating_sub(data_start) });
        pos = data_end.saturating_add(2);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn memory(bytes: &[u8]) -> Body {
        Body::Memory(bytes.to_vec())
    }

    #[test]
    fn parts_and_files() {
        let body = memory(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"c_x-F1-1_4.zip\"\r\nContent-Type: application/zip\r\n\r\n\
PK\x03\x04\r\n--XyZ--\r\n",
        );
        let boundary = boundary("multipart/form-data; boundary=XyZ").unwrap();
        let parts = parse(&body, &boundary).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].bytes().unwrap()), ("csrf", b"abc".to_vec()));
        assert_eq!(parts[1].file_name.as_deref(), Some("c_x-F1-1_4.zip"));
        assert_eq!(parts[1].bytes().unwrap(), b"PK\x03\x04");
    }

    /// A file of several windows whose bytes hold near-boundaries, spooled to disk, parsed whole;
    /// a delimiter straddling two windows is found.
    #[test]
    fn a_large_spooled_upload_is_parsed_window_by_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut file: Vec<u8> = Vec::new();
        while file.len() < 3 * WINDOW {
            file.extend_from_slice(b"data\r\n--XyQ\r\n--Xy");
        }
        for shift in [0, 1, 5, 11] {
            let mut data = file.clone();
            data.truncate(2 * WINDOW - 3 - shift);
            let mut raw =
                b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.zip\"\r\n\r\n".to_vec();
            raw.extend_from_slice(&data);
            raw.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--XyZ--\r\n");
            let body = Body::spool(&mut &raw[..], dir.path(), 1 << 20).unwrap();
            let parts = parse(&body, "XyZ").unwrap();
            assert_eq!(parts.len(), 2, "shift {shift}");
            assert_eq!(parts[0].len, data.len() as u64);
            assert_eq!(parts[0].bytes().unwrap(), data, "shift {shift}");
            assert_eq!(parts[1].bytes().unwrap(), b"y");
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert!(parse(&memory(b"nothing"), "XyZ").is_err());
        assert!(parse(&memory(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nopen"), "XyZ").is_err());
        assert!(parse(&memory(b"--XyZ\r\nX: y\r\n\r\nv\r\n--XyZ--"), "XyZ").is_err());
        let endless_head = [&b"--XyZ\r\nX: "[..], &vec![b'y'; 10_000], b"\r\n\r\nv\r\n--XyZ--"].concat();
        assert_eq!(
            parse(&memory(&endless_head), "XyZ").unwrap_err(),
            MultipartError::Malformed("part without headers")
        );
        let many: Vec<u8> = (0..=MAX_PARTS)
            .flat_map(|i| format!("--XyZ\r\nContent-Disposition: form-data; name=\"p{i}\"\r\n\r\nv\r\n").into_bytes())
            .chain(b"--XyZ--".iter().copied())
            .collect();
        assert_eq!(parse(&memory(&many), "XyZ").unwrap_err(), MultipartError::Malformed("too many parts"));
    }
}
