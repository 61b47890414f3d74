//! The CSV dialect of MyPay's exports (opencsv defaults): `;` separator, every field in double
//! quotes with `"` doubled, `\n` line ends.

use std::io::{self, Write};

/// Writes rows in that dialect to `W`.
pub struct QuotedCsv<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> QuotedCsv<W> {
    pub fn new(out: W) -> QuotedCsv<W> {
        QuotedCsv { out, line: Vec::with_capacity(4096) }
    }

    /// Writes one row.
    pub fn row<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        self.line.clear();
        for (idx, field) in fields.into_iter().enumerate() {
            if idx > 0 {
                self.line.push(b';');
            }
            self.line.push(b'"');
            for byte in field.bytes() {
                if byte == b'"' {
                    self.line.push(b'"');
                }
                self.line.push(byte);
            }
            self.line.push(b'"');
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn quotes_every_field_and_doubles_quotes() {
        let mut csv = QuotedCsv::new(Vec::new());
        csv.row(["a", "b;c", "d\"e", "", "riga\nnuova"]).unwrap();
        assert_eq!(String::from_utf8(csv.into_inner()).unwrap(), "\"a\";\"b;c\";\"d\"\"e\";\"\";\"riga\nnuova\"\n");
    }
}
