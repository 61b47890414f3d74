//! The reconciliation inputs (`flows::recon::read`, `domain::reconciliation::causale`): causali
//! edited with the parser's own keywords, and the fixtures of mypivot.md §7 (C, D, Y, P CSV, OPI
//! XML, the `.xls` bank sheet) edited byte-wise, zipped under their names and read whole. No
//! panic, every key in its shape, as many items as the file has rows at most.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;

use proptest::prelude::*;

use super::{MAX_EDITED, apply, config, edits};
use crate::domain::reconciliation::Source;
use crate::domain::reconciliation::causale::{self, is_iuv_shape};
use crate::flows::recon::{self, CashColumns, Item, OrgRef, ReadError};

const CAUSALI: &[&[u8]] = &[
    b"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001/TXT/RIVERSAMENTO",
    b"ACCREDITI VARI /PUR/LGPE - RIVERSAMENTO/URI/2024-05-1 7TESTITM1 XXX-S000001 /BEN. COMUNE",
    b"/RFB/01000000000012303/45.50/TXT/MENSA RFS RF23 0000 0000 0000 0000 12345 /45.50",
];

const CAUSALE_TOKENS: &[&[u8]] = &[
    b"LGPE-RIVERSAMENTO",
    b"L GPE-RIVERSAMENTO",
    b"/URI/",
    b" URI ",
    b"2024-05-",
    b"RFB/",
    b"RFB ",
    b"RFS/",
    b"RFS",
    b"RF23",
    b"ACCREDITI VARI",
    b" ",
    b"/",
    b"-",
    b"0123456789",
    "é".as_bytes(),
];

/// The fixtures, with the kind and name they are uploaded as.
const FILES: &[(Source, &str, &str, &[u8])] = &[
    (
        Source::CashJournal,
        "c_x999-GDC1-1_0",
        "csv",
        include_bytes!("../../tests/fixtures/recon/c_x999-GDC20240520-1_0.csv"),
    ),
    (
        Source::Notification,
        "c_x999-N1-1_0",
        "csv",
        include_bytes!("../../tests/fixtures/recon/c_x999-NOTIF20240517-1_0.csv"),
    ),
    (
        Source::PosteStatement,
        "c_x999-EC1",
        "csv",
        include_bytes!("../../tests/fixtures/recon/c_x999-ECPOSTE20240521.csv"),
    ),
    (
        Source::PosteReporting,
        "c_x999-R1",
        "csv",
        include_bytes!("../../tests/fixtures/recon/c_x999-RENPOSTE20240518.csv"),
    ),
    (Source::Opi, "c_x999-OPI1-1_0", "xml", include_bytes!("../../tests/fixtures/recon/GDC_20240520_p1.xml")),
    (
        Source::BankMovements,
        "c_x999-MOV1-1_0",
        "xls",
        include_bytes!("../../tests/fixtures/recon/c_x999-MOVCC20240520-1_0.xls"),
    ),
];

const FILE_TOKENS: &[&[u8]] = &[
    b";",
    b"\n",
    b"\"",
    b",",
    b"\\\"",
    b"<",
    b"</movimento_conto_evidenza>",
    b"<pagina>2</pagina>",
    b"60,00",
    b"2024-05-17",
    b"17/05/2024",
    b"\xff\xff\xff\xff",
    b"\x00\x00",
    b"\xfe\xff\xff\xff",
];

proptest! {
    #![proptest_config(config(3_000))]

    #[test]
    fn causali_give_keys_in_their_shape(seed in proptest::sample::select(CAUSALI), edits in edits(CAUSALE_TOKENS, 8)) {
        let text = String::from_utf8_lossy(&apply(seed, &edits, 8 * 1024)).into_owned();
        let keys = causale::keys(&text);
        if let Some(iuv) = &keys.iuv {
            prop_assert!(is_iuv_shape(iuv), "{iuv:?}");
        }
        if let Some(iuf) = &keys.iuf {
            prop_assert!(!iuf.is_empty() && iuf.len() <= 256);
            prop_assert!(iuf.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{iuf:?}");
        }
    }
}

proptest! {
    #![proptest_config(config(1_000))]

    #[test]
    fn edited_files_read_without_panic(file in proptest::sample::select(FILES), edits in edits(FILE_TOKENS, 6)) {
        let (source, base, ext, bytes) = file;
        let edited = apply(bytes, &edits, MAX_EDITED);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.zip");
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        writer.start_file(format!("{base}.{ext}"), zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&edited).unwrap();
        writer.finish().unwrap();
        let org = OrgRef { ipa: "c_x999", fiscal_code: "80012340123" };
        let mut items = 0_usize;
        let read = recon::read(source, &format!("{base}.zip"), &path, org, CashColumns::default(), |item| {
            items += 1;
            if let Item::Rejected(row) = &item {
                assert!(!row.message.is_empty());
            }
            Ok::<_, ()>(())
        });
        match read {
            Ok(summary) => {
                prop_assert_eq!(summary.accepted + summary.rejected, items as u64);
                // A row is at least a line break, a movement or a sheet row some bytes.
                prop_assert!(items <= edited.len() + 1);
            }
            Err(ReadError::File(rejection)) => prop_assert!(!rejection.message_it().is_empty()),
            Err(ReadError::Sink(())) => prop_assert!(false, "the sink never fails"),
        }
    }
}
