//! The CSV dialect of MyPay's exports (opencsv defaults): `;` separator, every field in double
//! quotes with `"` doubled, `\n` line ends.
//!
//! Two uses, two rules for a cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
//! TAB or CR first: `=HYPERLINK(…)` in a citizen's name). The MyPay export layouts are a contract
//! read by the municipality's accounting software, so [`QuotedCsv::new`] writes every value as
//! received, byte for byte, as MyPay does. The CSVs meant for people to open (the back office's
//! search results) use [`QuotedCsv::for_people`], which puts a `'` before such a cell: the
//! spreadsheet shows the text and runs nothing.

use std::io::{self, Write};

/// Writes rows in that dialect to `W`.
pub struct QuotedCsv<W: Write> {
    out: W,
    line: Vec<u8>,
    neutralize_formulas: bool,
}

impl<W: Write> QuotedCsv<W> {
    /// A contract's CSV: every value as given.
    pub fn new(out: W) -> QuotedCsv<W> {
        QuotedCsv { out, line: Vec::with_capacity(4096), neutralize_formulas: false }
    }

    /// A CSV for people to open in a spreadsheet: a value that would start a formula gets a `'`.
    pub fn for_people(out: W) -> QuotedCsv<W> {
        QuotedCsv { neutralize_formulas: true, ..QuotedCsv::new(out) }
    }

    /// Writes one row.
    pub fn row<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) -> io::Result<()> {
        self.line.clear();
        for (idx, field) in fields.into_iter().enumerate() {
            if idx > 0 {
                self.line.push(b';');
            }
            self.line.push(b'"');
            if self.neutralize_formulas && field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                self.line.push(b'\'');
            }
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

    #[test]
    fn cells_for_people_never_start_a_formula_and_contract_cells_stay_as_given() {
        let cells = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "Rossi", "a=b"];
        let mut people = QuotedCsv::for_people(Vec::new());
        people.row(cells).unwrap();
        assert_eq!(
            String::from_utf8(people.into_inner()).unwrap(),
            "\"'=HYPERLINK(\"\"http://x\"\")\";\"'+1\";\"'-2\";\"'@SUM(A1)\";\"'\tx\";\"'\rx\";\"Rossi\";\"a=b\"\n"
        );
        let mut contract = QuotedCsv::new(Vec::new());
        contract.row(["=HYPERLINK(\"http://x\")"]).unwrap();
        assert_eq!(String::from_utf8(contract.into_inner()).unwrap(), "\"=HYPERLINK(\"\"http://x\"\")\"\n");
    }
}
