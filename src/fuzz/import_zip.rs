//! The upload ZIP and the whole reading half of an import (`flows::zipfile` under
//! `flows::import_rows::read`: the archive, the one CSV, its lines, every row check that needs no
//! store). Inputs: real flows edited as CSV and zipped; valid ZIPs whose headers then lie
//! (sizes, methods, counts, offsets, names), lose their central directory's tail or take byte
//! edits; and bombs, small archives that inflate past the limit under sizes that say otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use proptest::prelude::*;

use super::{MAX_EDITED, MESSAGE_SLACK, apply, config, edits};
use crate::domain::SegregationCode;
use crate::domain::debt_row::{DebtTypeRules, RowError};
use crate::flows::csv_row::MAX_LINE_BYTES;
use crate::flows::import::{FileError, Stop};
use crate::flows::import_layout::Version;
use crate::flows::import_rows::{self, BATCH, BATCH_BYTES, Batch, KnownType, Prepared, Rules, Upload};
use crate::store::debt_types::DebtTypeRecord;

/// The CSV seeds with the layout each is written in: the project's fixtures first (the fifth is
/// the 1_4 one), then third-party files when the shared folder is there.
fn seeds() -> &'static [(&'static [u8], Version)] {
    static SEEDS: std::sync::OnceLock<Vec<(&'static [u8], Version)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds: Vec<(&'static [u8], Version)> = vec![
            (include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO10-1_0.csv"), Version::V1_0),
            (include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO11-1_1.csv"), Version::V1_1),
            (include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO12-1_2.csv"), Version::V1_2),
            (include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO13-1_3.csv"), Version::V1_3),
            (include_bytes!("../../tests/fixtures/import/c_f205-FLUSSO14-1_4.csv"), Version::V1_4),
            (include_bytes!("../../tests/fixtures/import/c_f205-FLUSSOOP-1_1.csv"), Version::V1_1),
        ];
        for (name, version) in [
            ("chiricog_tracciato_1_4.csv", Version::V1_4),
            ("p4pa_flusso_A_1_3.csv", Version::V1_3),
            ("p4pa_flusso_B_multibeneficiario_1_4.csv", Version::V1_4),
        ] {
            seeds.extend(super::real_world(&[name]).into_iter().map(|doc| (doc, version)));
        }
        seeds
    })
}

/// Every upload is `<BASE>.zip` holding `<BASE>.csv`.
const BASE: &str = "c_f205-FUZZ-1_4";

/// The ZIP format's markers and the values a lying header would hold.
const ZIP_TOKENS: &[&[u8]] = &[
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"PK\x07\x08",
    b"\xFF\xFF\xFF\xFF",
    b"\xFF\xFF",
    b"\x00\x00\x00\x00",
    b"\x01\x00",
    b"\x08\x00",
    b"\x63\x00",
];

/// The rules the rows are checked against: the debt types the seeds name, in each state.
fn rules(version: Version) -> Arc<Rules> {
    let known = |code: &str, active: bool, allow_anonymous: bool| {
        let record = DebtTypeRecord { code: code.to_owned(), active, allow_anonymous, ..DebtTypeRecord::default() };
        let rules = DebtTypeRules { active, allow_anonymous, due_date_mandatory: false };
        (code.to_owned(), KnownType { record: Arc::new(record), rules })
    };
    let debt_types: HashMap<String, KnownType> = [
        known("TARI", true, false),
        known("ANON", true, true),
        known("SPENTO", false, false),
        known("TIPO_TEST", true, false),
    ]
    .into_iter()
    .collect();
    Arc::new(Rules {
        version,
        segregation_code: SegregationCode::parse("02").unwrap(),
        today: jiff::civil::date(2026, 1, 15),
        debt_types,
    })
}

/// What one read produced.
struct Outcome {
    header: Option<String>,
    rows: Vec<Prepared>,
    failure: Option<FileError>,
    ended: bool,
    batches: usize,
    /// Bytes inflated, as the progress counter saw them.
    inflated: u64,
}

/// Reads the upload at `path` as an import does: the reader on a thread of its own, this thread
/// taking its batches, the first `skip` rows noted as applied by an earlier run. A panic on the
/// reader's thread fails the case.
fn read_skipping(path: &Path, version: Version, limit: u64, skip: u64) -> Outcome {
    let (to_us, batches) = mpsc::sync_channel::<Batch>(4);
    let (send_rules, rules_rx) = mpsc::sync_channel(1);
    send_rules.send(rules(version)).unwrap();
    let counter = Arc::new(AtomicU64::new(0));
    let (_trash, trash_rx) = mpsc::channel();
    let upload = Upload { path: path.to_owned(), base: BASE.to_owned(), version, limit };
    let mut outcome = Outcome { header: None, rows: Vec::new(), failure: None, ended: false, batches: 0, inflated: 0 };
    std::thread::scope(|scope| {
        let reader_counter = Arc::clone(&counter);
        let reader = scope.spawn(move || import_rows::read(upload, to_us, rules_rx, trash_rx, reader_counter, skip));
        for batch in batches.iter() {
            assert!(!outcome.ended && outcome.failure.is_none(), "nothing comes after End or Failed");
            match batch {
                Batch::Header(header) => {
                    assert!(outcome.header.is_none() && outcome.rows.is_empty(), "one header, first");
                    outcome.header = Some(header.text);
                }
                Batch::Rows(rows) => {
                    assert!(outcome.header.is_some(), "rows come after the header");
                    // What may wait in the channel: a batch's rows and the bytes of their lines.
                    assert!(!rows.is_empty() && rows.len() <= BATCH, "{} rows in a batch", rows.len());
                    let bytes: usize = rows.iter().map(|r| r.line.len()).sum();
                    assert!(bytes < BATCH_BYTES + MAX_LINE_BYTES, "{bytes} bytes of lines in a batch");
                    outcome.batches += 1;
                    outcome.rows.extend(rows);
                }
                Batch::Failed(Stop::File(err)) => outcome.failure = Some(err),
                Batch::Failed(Stop::Run(err)) => panic!("the stored upload is there: {err}"),
                Batch::End => outcome.ended = true,
            }
        }
        if let Err(panic) = reader.join() {
            std::panic::resume_unwind(panic);
        }
    });
    outcome.inflated = counter.load(Ordering::Relaxed);
    assert!(outcome.ended != outcome.failure.is_some(), "a read ends with End or Failed");
    outcome
}

/// Reads the upload at `path` whole, after the import's read-only pass over it
/// (`import_rows::check_file`), which must foresee the outcome: the same file error, or as many
/// rows as the read sends.
fn read(path: &Path, version: Version, limit: u64) -> Outcome {
    let upload = Upload { path: path.to_owned(), base: BASE.to_owned(), version, limit };
    let checked = import_rows::check_file(&upload);
    let outcome = read_skipping(path, version, limit, 0);
    match checked {
        Ok(facts) => {
            assert!(outcome.ended && outcome.rows.len() as u64 == facts.rows, "{facts:?}: {:?}", outcome.failure)
        }
        Err(Stop::File(err)) => assert_eq!(outcome.failure.as_ref(), Some(&err)),
        Err(Stop::Run(err)) => panic!("the stored upload is there: {err}"),
    }
    outcome
}

/// The bounds of every read of an upload whose CSV may inflate to `limit` bytes: what was
/// inflated stops within one read (of the reader's 256 KiB buffer) past the limit; every line
/// within its cap, and all of them within what was inflated; each row's errors and `_IUV` line
/// proportionate to its line.
fn check_bounds(outcome: &Outcome, limit: u64) -> Result<(), TestCaseError> {
    prop_assert!(outcome.inflated <= limit + 256 * 1024, "{} bytes inflated, limit {limit}", outcome.inflated);
    let header = outcome.header.as_ref().map_or(0, String::len);
    prop_assert!(header <= MAX_LINE_BYTES);
    let mut lines = header as u64;
    for row in &outcome.rows {
        let len = row.line.len();
        lines += len as u64 + 1;
        prop_assert!(len <= MAX_LINE_BYTES);
        check_errors(&row.errors, len)?;
        if let Some(result) = row.row.as_ref().and_then(|r| r.result.as_ref()) {
            let mut out = String::new();
            result.write("01234567890123456", &mut out);
            prop_assert!(out.len() <= 2 * len + 512, "{} bytes of _IUV line for {len}", out.len());
        }
        if let Some(Err(errors)) = row.row.as_ref().and_then(|r| r.checked.as_ref()) {
            check_errors(errors, len)?;
        }
    }
    prop_assert!(lines <= outcome.inflated.max(1) + 1, "{lines} bytes of lines from {} inflated", outcome.inflated);
    if let Some(failure) = &outcome.failure {
        // An entry's name is cut to 200 characters, and repeated in the code and the description.
        prop_assert!(
            failure.code.len() + failure.description.len() <= 200 * 4 + 200 * 10 + MESSAGE_SLACK,
            "{failure:?}"
        );
    }
    Ok(())
}

/// A row's errors: a few dozen checks at most, each message repeating at most its own field (so
/// all of them at most the line once) and a value cut to 64 characters.
fn check_errors(errors: &[RowError], line: usize) -> Result<(), TestCaseError> {
    prop_assert!(errors.len() <= 64, "{} errors", errors.len());
    let total: usize = errors.iter().map(|e| e.description.len()).sum();
    prop_assert!(total <= line + errors.len() * MESSAGE_SLACK, "{total} bytes of errors for a line of {line}");
    Ok(())
}

/// One entry of a generated archive.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    deflated: bool,
    data: Vec<u8>,
}

fn zip_of(entries: &[Entry]) -> Vec<u8> {
    let mut writer = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    for entry in entries {
        let method = if entry.deflated { ::zip::CompressionMethod::Deflated } else { ::zip::CompressionMethod::Stored };
        let options = ::zip::write::SimpleFileOptions::default().compression_method(method);
        // The zip writer refuses some names (duplicates): such an entry is simply left out.
        if writer.start_file(entry.name.as_str(), options).is_ok() {
            writer.write_all(&entry.data).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

/// Names around the one the reader wants: itself, another case, another extension, paths.
fn entry_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => Just(format!("{BASE}.csv")),
        1 => Just(format!("{BASE}.CSV")),
        1 => Just(format!("{BASE}.md5")),
        1 => Just(format!("../{BASE}.csv")),
        1 => Just(format!("{BASE}.csv/")),
        1 => Just(format!("dir/{BASE}.csv")),
        1 => Just(format!("{BASE}..csv")),
        1 => Just(format!("{BASE}.")),
        1 => "\\PC{0,20}",
    ]
}

/// An edited seed CSV (as CSV: `fuzz::csv`'s tokens), its layout, and the archive's other
/// entries.
fn upload() -> impl Strategy<Value = (Vec<Entry>, Version)> {
    // Mostly valid UTF-8 (a byte that is not refuses the whole file at its line, and the rows
    // after it would go unchecked).
    let csv = (proptest::sample::select(seeds()), edits(super::csv::TOKENS, 6), 0..4).prop_map(
        |((doc, version), edits, raw)| {
            let bytes = apply(doc, &edits, MAX_EDITED);
            let bytes = if raw == 0 { bytes } else { String::from_utf8_lossy(&bytes).into_owned().into_bytes() };
            (bytes, version)
        },
    );
    let other = (entry_name(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(name, deflated, data)| Entry { name, deflated, data });
    // Mostly the CSV alone: most other entries refuse the archive before its CSV is read.
    let others = prop_oneof![3 => Just(Vec::new()), 1 => proptest::collection::vec(other, 1..3)];
    (csv, any::<bool>(), others, any::<bool>()).prop_map(|((data, version), deflated, mut others, first)| {
        let csv = Entry { name: format!("{BASE}.csv"), deflated, data };
        if first {
            others.insert(0, csv)
        } else {
            others.push(csv)
        }
        (others, version)
    })
}

/// A header field of a valid archive made to lie.
#[derive(Debug, Clone)]
enum Lie {
    /// The `n`th record with `signature`: `width` bytes at `offset` inside it become `value`.
    Field { signature: [u8; 4], n: usize, offset: usize, width: usize, value: u64 },
    /// The archive cut inside its central directory.
    CutDirectory { fraction: u8 },
}

/// Sizes, methods, counts, lengths and offsets of local headers, central headers and the end of
/// the central directory, set to values that lie.
fn lie() -> impl Strategy<Value = Lie> {
    const LOCAL: [u8; 4] = *b"PK\x03\x04";
    const CENTRAL: [u8; 4] = *b"PK\x01\x02";
    const END: [u8; 4] = *b"PK\x05\x06";
    let field = prop_oneof![
        // Local header: method, crc, compressed and uncompressed size, name and extra lengths.
        Just((LOCAL, 8, 2)),
        Just((LOCAL, 14, 4)),
        Just((LOCAL, 18, 4)),
        Just((LOCAL, 22, 4)),
        Just((LOCAL, 26, 2)),
        Just((LOCAL, 28, 2)),
        // Central header: flags, method, sizes, name/extra/comment lengths, local offset.
        Just((CENTRAL, 8, 2)),
        Just((CENTRAL, 10, 2)),
        Just((CENTRAL, 20, 4)),
        Just((CENTRAL, 24, 4)),
        Just((CENTRAL, 28, 2)),
        Just((CENTRAL, 30, 2)),
        Just((CENTRAL, 32, 2)),
        Just((CENTRAL, 42, 4)),
        // End of central directory: entry counts, directory size and offset, comment length.
        Just((END, 8, 2)),
        Just((END, 10, 2)),
        Just((END, 12, 4)),
        Just((END, 16, 4)),
        Just((END, 20, 2)),
    ];
    let value = prop_oneof![Just(0u64), Just(1), Just(0xFFFF), Just(0xFFFF_FFFF), 0u64..200, any::<u64>()];
    prop_oneof![
        5 => (field, 0usize..3, value).prop_map(|((signature, offset, width), n, value)| Lie::Field {
            signature,
            n,
            offset,
            width,
            value
        }),
        1 => any::<u8>().prop_map(|fraction| Lie::CutDirectory { fraction }),
    ]
}

fn tell(zip: &mut Vec<u8>, lie: &Lie) {
    let find = |zip: &[u8], signature: &[u8; 4]| -> Vec<usize> {
        zip.windows(4).enumerate().filter(|(_, w)| w == signature).map(|(at, _)| at).collect()
    };
    match lie {
        Lie::Field { signature, n, offset, width, value } => {
            let found = find(zip, signature);
            if found.is_empty() {
                return;
            }
            let at = found[n % found.len()] + offset;
            for (i, slot) in zip.iter_mut().skip(at).take(*width).enumerate() {
                *slot = (value >> (8 * i)) as u8;
            }
        }
        Lie::CutDirectory { fraction } => {
            if let Some(&start) = find(zip, b"PK\x01\x02").first() {
                let at = start + (zip.len() - start) * usize::from(*fraction) / 256;
                zip.truncate(at);
            }
        }
    }
}

/// An upload limit small enough that a case stays fast and the bombs cross it.
fn limit() -> impl Strategy<Value = u64> {
    prop_oneof![1024u64..64 * 1024, 64 * 1024u64..1024 * 1024]
}

proptest! {
    #![proptest_config(config(1_500))]

    /// Edited CSVs in valid archives, beside other entries: every line read, refused or checked
    /// within bounds.
    #[test]
    fn edited_flows_are_read_within_bounds((entries, version) in upload(), limit in limit(), skip in any::<usize>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{BASE}.zip"));
        std::fs::write(&path, zip_of(&entries)).unwrap();
        let outcome = read(&path, version, limit);
        check_bounds(&outcome, limit)?;
        // A run that resumes after `skip` applied rows sends the rest, as they are.
        if outcome.ended {
            let skip = skip % (outcome.rows.len() + 1);
            let resumed = read_skipping(&path, version, limit, skip as u64);
            prop_assert!(resumed.ended);
            let lines = |rows: &[Prepared]| rows.iter().map(|r| r.line.clone()).collect::<Vec<_>>();
            prop_assert_eq!(lines(&resumed.rows), lines(&outcome.rows[skip..]));
        }
    }

    /// Valid archives whose headers lie, whose directory is cut, or edited byte-wise with the
    /// format's markers: refused with a file error or read within bounds.
    #[test]
    fn lying_archives_are_refused_or_read_within_bounds(
        (entries, version) in upload(),
        lies in proptest::collection::vec(lie(), 1..4),
        edits in prop_oneof![3 => Just(Vec::new()), 1 => edits(ZIP_TOKENS, 4)],
        limit in limit(),
    ) {
        let mut zip = zip_of(&entries);
        for lie in &lies {
            tell(&mut zip, lie);
        }
        let zip = apply(&zip, &edits, MAX_EDITED);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{BASE}.zip"));
        std::fs::write(&path, &zip).unwrap();
        let outcome = read(&path, version, limit);
        check_bounds(&outcome, limit)?;
    }
}

proptest! {
    // Each case inflates up to 256 KiB, and makes a bomb of up to 16 MiB first.
    #![proptest_config(config(32))]


    /// Bombs: a few KB that inflate far past the limit (one endless line, or short lines without
    /// end) while the headers claim a few bytes. The read stops at the limit, at the first line
    /// past 64 KiB, or at a damaged entry, never later.
    #[test]
    fn bombs_stop_at_the_limit(
        endless in any::<bool>(),
        inflated_mib in 2usize..16,
        declared in prop_oneof![Just(0u64), Just(10), Just(0xFFFF_FFFF)],
        // At most 256 KiB: short lines that pass it are that many rows to check.
        limit in 1024u64..256 * 1024,
    ) {
        let header = seeds()[4].0.split(|b| *b == b'\n').next().unwrap();
        let mut csv = header.to_vec();
        csv.push(b'\n');
        let unit: &[u8] = if endless { b";;;;;;;;" } else { b"x;y\n" };
        csv.extend(unit.repeat(inflated_mib * 1024 * 1024 / unit.len()));
        let mut zip = zip_of(&[Entry { name: format!("{BASE}.csv"), deflated: true, data: csv }]);
        prop_assert!(zip.len() < inflated_mib * 1024 * 1024 / 100, "a bomb: {} bytes", zip.len());
        for (signature, offset) in [(*b"PK\x03\x04", 22), (*b"PK\x01\x02", 24)] {
            tell(&mut zip, &Lie::Field { signature, n: 0, offset, width: 4, value: declared });
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{BASE}.zip"));
        std::fs::write(&path, &zip).unwrap();
        let outcome = read(&path, Version::V1_4, limit);
        check_bounds(&outcome, limit)?;
        prop_assert!(outcome.failure.is_some(), "a bomb is refused");
    }
}

/// Found measuring the hostile imports: a batch was 512 rows whatever their length, so 512 rows
/// of 64 KiB made 32 MiB, and the batches queued for the transaction thread up to 300 MiB. Long
/// rows now go in batches of about 1 MiB of lines; short ones still 512 at a time.
#[test]
fn long_rows_go_in_small_batches() {
    let header = seeds()[4].0.split(|b| *b == b'\n').next().unwrap();
    let row = |causale_len: usize| {
        let causale = "x".repeat(causale_len);
        format!(
            "TARI-1;;F;RSSMRA85T10A562S;Mario Rossi;;;;;;;;2099-12-31;1.00;;TARI;;{causale};9/0101002IM/;;true;false;;;;;;;;;;;;;I\n"
        )
    };
    // 1,000 rows of 30 KiB are 29 MiB: about 29 batches of 1 MiB (2 of 512 rows before).
    for (causale_len, rows, batches) in [(30 * 1024, 1_000, 29), (10, 2 * BATCH, 2)] {
        let mut csv = header.to_vec();
        csv.push(b'\n');
        csv.extend(row(causale_len).repeat(rows).into_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("{BASE}.zip"));
        let entry = Entry { name: format!("{BASE}.csv"), deflated: true, data: csv };
        std::fs::write(&path, zip_of(&[entry])).unwrap();
        let outcome = read(&path, Version::V1_4, 1 << 30);
        assert!(outcome.ended && outcome.rows.len() == rows, "{:?}", outcome.failure);
        assert!(
            outcome.batches.abs_diff(batches) <= 1,
            "{} batches of rows with a causale of {causale_len}",
            outcome.batches
        );
    }
}
