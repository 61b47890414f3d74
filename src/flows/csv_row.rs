//! MyPay's CSV syntax (reference/mypay.md §2.3): `;` separates fields, a field may be wrapped in
//! double quotes (kept `;` inside), `\"` inside quotes is a quote, records are lines.
//!
//! Splitting borrows from the line and allocates only for fields with escapes, so the import's
//! hot loop stays cheap. Writing quotes a field only when it must (it holds `;`, `"` or a line
//! break), so ordinary values come out exactly as MyPay's files carry them.
//! Must never: trim fields (MyPay does not), or read across lines (MyPay reads one record per line).

use std::borrow::Cow;
use std::io::{self, BufRead};

/// The field separator.
pub const SEPARATOR: char = ';';

/// A line that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A quoted field whose closing quote is missing.
    #[error("unterminated quoted field")]
    UnterminatedQuote,
}

/// Splits one record into `out` (cleared first). An empty line gives one empty field; a trailing
/// `;` gives an empty last field.
pub fn split<'a>(line: &'a str, out: &mut Vec<Cow<'a, str>>) -> Result<(), SplitError> {
    out.clear();
    let bytes = line.as_bytes();
    let mut pos = 0;
    loop {
        if bytes.get(pos) == Some(&b'"') {
            let (field, next) = quoted(line, pos + 1)?;
            out.push(field);
            match bytes.get(next) {
                None => return Ok(()),
                // `quoted` stops only at a `;` or the end.
                Some(_) => pos = next + 1,
            }
        } else {
            let rest = line.get(pos..).unwrap_or_default();
            match rest.find(SEPARATOR) {
                Some(at) => {
                    out.push(Cow::Borrowed(rest.get(..at).unwrap_or_default()));
                    pos += at + 1;
                }
                None => {
                    out.push(Cow::Borrowed(rest));
                    return Ok(());
                }
            }
        }
    }
}

/// Reads a quoted field whose content starts at `start`; returns it and the position after the
/// closing quote (a `;` or the end of the line). A quote closes only before `;` or the end, so a
/// stray quote inside is kept; `\"` and `""` are one quote.
fn quoted(line: &str, start: usize) -> Result<(Cow<'_, str>, usize), SplitError> {
    let bytes = line.as_bytes();
    let mut pos = start;
    let mut owned: Option<String> = None;
    let mut copied_to = start;
    while let Some(&b) = bytes.get(pos) {
        let next = bytes.get(pos + 1).copied();
        if b == b'"' && matches!(next, None | Some(b';')) {
            let field = match owned {
                Some(mut text) => {
                    text.push_str(line.get(copied_to..pos).unwrap_or_default());
                    Cow::Owned(text)
                }
                None => Cow::Borrowed(line.get(start..pos).unwrap_or_default()),
            };
            return Ok((field, pos + 1));
        }
        if (b == b'\\' || b == b'"') && next == Some(b'"') {
            let text = owned.get_or_insert_with(String::new);
            text.push_str(line.get(copied_to..pos).unwrap_or_default());
            text.push('"');
            pos += 2;
            copied_to = pos;
            continue;
        }
        pos += 1;
    }
    Err(SplitError::UnterminatedQuote)
}

/// Whether a value must be quoted to survive a round trip.
pub fn needs_quotes(value: &str) -> bool {
    value.bytes().any(|b| matches!(b, b';' | b'"' | b'\n' | b'\r')) || value.starts_with('"')
}

/// Appends one field to a record being built, quoting it when needed (`"` becomes `\"`).
///
/// A value that must be quoted and ends with `\` has no spelling in this dialect: `\"` is always
/// a quote, so `"a;b\"` reads as an open quote. It is written so all the same (`split` refuses it);
/// which spelling MyPay's readers expect is an open question of the dialect.
pub fn push_field(out: &mut String, value: &str) {
    if needs_quotes(value) {
        out.push('"');
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                // A record is one line: line breaks inside a value become spaces.
                '\n' | '\r' => out.push(' '),
                c => out.push(c),
            }
        }
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Longest record accepted, in bytes. MyPay's rows are a few KB (a 1_4 row with a long causale and
/// a `bilancio` stays well under 16 KB); a longer line is an attack or a file that is not a CSV.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A line longer than [`MAX_LINE_BYTES`], as the error inside the `io::Error` of
/// [`LineReader::next_line`].
#[derive(Debug, thiserror::Error)]
#[error("line {line} is longer than {max} bytes")]
pub struct LineTooLong {
    pub line: u64,
    pub max: usize,
}

/// Reads records (lines) as bytes, without their `\n` or `\r\n`, into a reused buffer of at most
/// [`MAX_LINE_BYTES`]: memory stays bounded whatever the file (a 1 GiB line without a newline is
/// refused at its 64th KiB).
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    /// Physical line number of the last line returned, from 1.
    pub line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> LineReader<R> {
        LineReader::with_max(inner, MAX_LINE_BYTES)
    }

    /// Lines of at most `max` bytes (a receipt export's rows carry the receipt itself).
    pub fn with_max(inner: R, max: usize) -> LineReader<R> {
        LineReader { inner, buf: Vec::with_capacity(4096), max, line_no: 0 }
    }

    /// The next line, or `None` at the end; a line longer than the limit is an `InvalidData` error
    /// holding a [`LineTooLong`].
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        self.buf.clear();
        let mut read_any = false;
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (taken, done) = match available.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            // The newline itself (and a `\r` before it) does not count towards the limit.
            if self.buf.len() + taken > self.max + 2 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LineTooLong { line: self.line_no + 1, max: self.max },
                ));
            }
            self.buf.extend_from_slice(available.get(..taken).unwrap_or_default());
            self.inner.consume(taken);
            if done {
                break;
            }
        }
        if !read_any {
            return Ok(None);
        }
        self.line_no += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        if self.buf.len() > self.max {
            return Err(io::Error::new(io::ErrorKind::InvalidData, LineTooLong { line: self.line_no, max: self.max }));
        }
        Ok(Some(&self.buf))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        split(line, &mut out).unwrap();
        out.into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        assert_eq!(fields("a;b;;c"), ["a", "b", "", "c"]);
        assert_eq!(fields("a;"), ["a", ""]);
        assert_eq!(fields(""), [""]);
        assert_eq!(fields("\"a;b\";c"), ["a;b", "c"]);
        assert_eq!(fields("\"say \\\"hi\\\"\";x"), ["say \"hi\"", "x"]);
        assert_eq!(fields("\"a\"\"b\""), ["a\"b"]);
        assert_eq!(fields("\"\";x"), ["", "x"]);
        assert_eq!(fields("ab\"c;d"), ["ab\"c", "d"]);
        assert_eq!(fields("\"5\" tall\";x"), ["5\" tall", "x"]);
    }

    #[test]
    fn an_open_quote_is_an_error() {
        let mut out = Vec::new();
        assert_eq!(split("\"abc;def", &mut out), Err(SplitError::UnterminatedQuote));
    }

    #[test]
    fn written_fields_split_back() {
        for value in ["plain", "a;b", "say \"hi\"", "", "\"lead"] {
            let mut line = String::new();
            push_field(&mut line, value);
            line.push(';');
            push_field(&mut line, "z");
            assert_eq!(fields(&line), [value, "z"], "{line}");
        }
    }

    #[test]
    fn lines_lose_their_terminators() {
        let mut reader = LineReader::new(&b"a\r\nb\n\nc"[..]);
        let mut got = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            got.push(String::from_utf8(line.to_vec()).unwrap());
        }
        assert_eq!(got, ["a", "b", "", "c"]);
        assert_eq!(reader.line_no, 4);
    }

    #[test]
    fn lines_are_read_whole_and_a_too_long_one_is_refused() {
        let text = format!("a;b\r\nc\n{}\nlast", "x".repeat(MAX_LINE_BYTES));
        let mut lines = LineReader::new(io::BufReader::with_capacity(1024, text.as_bytes()));
        assert_eq!(lines.next_line().unwrap(), Some(&b"a;b"[..]));
        assert_eq!(lines.next_line().unwrap(), Some(&b"c"[..]));
        assert_eq!(lines.next_line().unwrap().map(<[u8]>::len), Some(MAX_LINE_BYTES), "exactly the limit is fine");
        assert_eq!(lines.next_line().unwrap(), Some(&b"last"[..]));
        assert_eq!(lines.next_line().unwrap(), None);

        let endless = io::Read::take(io::repeat(b'x'), 1 << 30);
        let mut lines = LineReader::new(io::BufReader::with_capacity(64 * 1024, endless));
        let err = lines.next_line().unwrap_err();
        let too_long = err.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>()).unwrap();
        assert_eq!((too_long.line, too_long.max), (1, MAX_LINE_BYTES));
        assert!(lines.buf.capacity() < 4 * MAX_LINE_BYTES, "memory stays bounded");
    }
}
