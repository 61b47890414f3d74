//! The import CSV's syntax (`flows::csv_row`): lines of real flows (every layout, `bilancio`,
//! multi-beneficiary rows) edited with the dialect's tokens, values written and split back, and
//! streams of lines around the 64 KiB cap read through buffers of every size. The rows' checks
//! run in `fuzz::zip`, where whole files go through the import's reader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::borrow::Cow;
use std::io::{self, BufReader};

use proptest::prelude::*;

use super::{MAX_EDITED, apply, config, edits, real_world, seed};
use crate::flows::csv_row::{self, LineReader, LineTooLong, MAX_LINE_BYTES, SplitError};

/// Real flows: the project's fixtures of every layout and third-party files (MyPay4's feature
/// tests, a Puglia generator).
pub(crate) fn seeds() -> &'static [&'static [u8]] {
    static SEEDS: std::sync::OnceLock<Vec<&'static [u8]>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds: Vec<&'static [u8]> = vec![
            include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO10-1_0.csv"),
            include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO11-1_1.csv"),
            include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO12-1_2.csv"),
            include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO13-1_3.csv"),
            include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO14-1_4.csv"),
            include_bytes!("../../tests/fixtures/import/c_f205-FLUSSOOP-1_1.csv"),
        ];
        seeds.extend(real_world(&[
            "chiricog_tracciato_1_4.csv",
            "p4pa_flusso_A_1_3.csv",
            "p4pa_flusso_B_multibeneficiario_1_4.csv",
        ]));
        seeds
    })
}

/// The dialect's separators, quotes and escapes, line ends, a byte-order mark, bytes that break
/// UTF-8, and pieces of the values the row checks parse.
pub(crate) const TOKENS: &[&[u8]] = &[
    b";",
    b"\"",
    b"\\\"",
    b"\"\"",
    b"\\",
    b"\";",
    b";\"",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xC3",
    b"\0",
    b" ",
    "é".as_bytes(),
    b"I",
    b"M",
    b"A",
    b"true",
    b"TRUE",
    b"0.01",
    b"999999999.99",
    b"1000000000.00",
    b"-1",
    b"2099-12-31",
    b"9/0101002IM/",
    b"<bilancio>",
    b"</bilancio>",
    b"&amp;",
];

/// A value for the round trip: every character the dialect treats specially.
fn value() -> impl Strategy<Value = String> {
    "[a-z ;\"\\\\é\r\n]{0,12}"
}

/// A stream of lines whose lengths sit around the cap, with `\n` or `\r\n` ends (or none, last).
fn long_lines() -> impl Strategy<Value = Vec<u8>> {
    let line = (MAX_LINE_BYTES - 2..=MAX_LINE_BYTES + 2, prop_oneof![Just(&b"\n"[..]), Just(&b"\r\n"[..])]);
    (proptest::collection::vec(prop_oneof![3 => 0usize..40, 1 => line.prop_map(|(n, _)| n)], 1..5), any::<bool>())
        .prop_map(|(lengths, crlf)| {
            let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut out = Vec::new();
            for (i, n) in lengths.iter().enumerate() {
                out.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, *n));
                out.extend_from_slice(end);
            }
            out
        })
}

/// What `LineReader` must return for `input`: its lines without `\n` or `\r\n` (a last line
/// without `\n` keeps its `\r`), or the number of the first line longer than the cap.
fn model_lines(input: &[u8]) -> Result<Vec<&[u8]>, u64> {
    let mut pieces: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    let last = pieces.pop().filter(|l| !l.is_empty());
    let mut lines: Vec<&[u8]> = pieces.into_iter().map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    lines.extend(last);
    match lines.iter().position(|l| l.len() > MAX_LINE_BYTES) {
        Some(n) => Err(n as u64 + 1),
        None => Ok(lines),
    }
}

proptest! {
    #![proptest_config(config(10_000))]

    /// Any line splits (or is refused as an open quote) into no more fields than it has
    /// separators plus one, and no more bytes than it has.
    #[test]
    fn lines_split_within_bounds(doc in seed(seeds()), edits in edits(TOKENS, 8), line_index in any::<usize>()) {
        let bytes = apply(doc, &edits, MAX_EDITED);
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.split('\n').collect();
        let line = lines[line_index % lines.len()];
        let mut fields: Vec<Cow<'_, str>> = Vec::new();
        match csv_row::split(line, &mut fields) {
            Ok(()) => {
                prop_assert!(fields.len() <= line.matches(';').count() + 1);
                prop_assert!(fields.iter().map(|f| f.len()).sum::<usize>() <= line.len());
            }
            Err(SplitError::UnterminatedQuote) => prop_assert!(line.contains('"')),
        }
    }

}

proptest! {
    // Each case reads up to 256 KiB, half of them through a buffer of a few bytes.
    #![proptest_config(config(3_000))]

    /// Lines of any length through buffers of any size: the lines the file has, each at most
    /// the cap, or the typed error at the first longer one.
    #[test]
    fn lines_are_read_as_the_file_has_them(
        input in prop_oneof![
            (seed(seeds()), edits(TOKENS, 8)).prop_map(|(doc, edits)| apply(doc, &edits, MAX_EDITED)),
            long_lines(),
        ],
        capacity in prop_oneof![1usize..16, 16usize..70_000],
    ) {
        let mut reader = LineReader::new(BufReader::with_capacity(capacity, input.as_slice()));
        let mut got: Vec<Vec<u8>> = Vec::new();
        let outcome = loop {
            match reader.next_line() {
                Ok(Some(line)) => {
                    prop_assert!(line.len() <= MAX_LINE_BYTES);
                    got.push(line.to_vec());
                }
                Ok(None) => break Ok(()),
                Err(err) => {
                    prop_assert_eq!(err.kind(), io::ErrorKind::InvalidData);
                    let too_long = err.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>()).unwrap();
                    break Err(too_long.line);
                }
            }
        };
        match (model_lines(&input), outcome) {
            (Ok(expected), Ok(())) => prop_assert_eq!(got, expected),
            (Err(line), Err(reported)) => {
                prop_assert_eq!(reported, line);
                prop_assert_eq!(got.len() as u64, line - 1, "every line before it was returned");
            }
            (expected, outcome) => {
                let expected = expected.map(|lines| lines.len());
                return Err(TestCaseError::fail(format!("expected {expected:?} lines, read {outcome:?}")));
            }
        }
    }

}

proptest! {
    #![proptest_config(config(10_000))]

    /// Values written with `push_field` split back as they were (line breaks become spaces: a
    /// record is one line). Except one kind: a value that must be quoted and ends with `\` has
    /// no spelling in MyPay's dialect, where `\"` is always a quote (see `push_field`).
    #[test]
    fn written_values_split_back(
        values in proptest::collection::vec(value().prop_filter("unspellable", |v| !(v.ends_with('\\') && csv_row::needs_quotes(v))), 1..6),
    ) {
        let mut line = String::new();
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                line.push(csv_row::SEPARATOR);
            }
            csv_row::push_field(&mut line, v);
        }
        let mut fields = Vec::new();
        csv_row::split(&line, &mut fields).map_err(|e| TestCaseError::fail(format!("{e}: {line:?}")))?;
        let expected: Vec<String> = values.iter().map(|v| v.replace(['\r', '\n'], " ")).collect();
        let got: Vec<String> = fields.into_iter().map(Cow::into_owned).collect();
        prop_assert_eq!(got, expected, "{:?}", line);
    }
}
