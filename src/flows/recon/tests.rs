//! The fixtures of mypivot.md §7 (files under `tests/fixtures/recon/`, zipped here as uploaded)
//! read through [`super::read`], with exactly the items and refusals §7 and §8 say.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::domain::reconciliation::{BankDetails, Bolletta, Provisional, TreasuryMovement};

const ORG: OrgRef<'static> = OrgRef { ipa: "c_x999", fiscal_code: "80012340123" };
const P1: &str = "2024-05-17TESTITM1XXX-S000001";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon").join(name)).unwrap()
}

fn zip_of(dir: &Path, zip_name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join("upload.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, data) in entries {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap();
    let _ = zip_name;
    path
}

/// Reads `entries` zipped and uploaded as `zip_name`.
fn load(source: Source, zip_name: &str, entries: &[(&str, &[u8])]) -> Result<(Vec<Item>, Summary), FileRejection> {
    let dir = tempfile::tempdir().unwrap();
    let path = zip_of(dir.path(), zip_name, entries);
    let mut items = Vec::new();
    let read = read(source, zip_name, &path, ORG, CashColumns::default(), |item| {
        items.push(item);
        Ok::<_, std::convert::Infallible>(())
    });
    match read {
        Ok(summary) => Ok((items, summary)),
        Err(ReadError::File(rejection)) => Err(rejection),
        Err(ReadError::Sink(never)) => match never {},
    }
}

fn movements(items: &[Item]) -> Vec<&TreasuryMovement> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Treasury(TreasuryEvent::Movement(movement)) => Some(&**movement),
            _ => None,
        })
        .collect()
}

fn rejected(items: &[Item]) -> Vec<&RejectedRow> {
    items.iter().filter_map(|item| if let Item::Rejected(row) = item { Some(row) } else { None }).collect()
}

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn keys_of(movement: &TreasuryMovement) -> (Option<&str>, Option<&str>) {
    (movement.iuf.as_deref(), movement.iuv.as_deref())
}

/// The keys and amounts of bollette 1201-1205, the same from C (7.4) and O (7.6).
/// A bolletta's number, IUF, IUV, cents and day.
type Expected = (&'static str, Option<&'static str>, Option<&'static str>, i64, &'static str);

const TREASURY: [Expected; 5] = [
    ("1201", Some(P1), None, 29200, "2024-05-17"),
    ("1202", None, Some("01000000000012303"), 4550, "2024-05-17"),
    ("1203", Some("2024-05-18TESTITM1XXX-S000002"), None, 5950, "2024-05-18"),
    ("1204", Some("2024-05-19ALTRITM2XXX-S000003"), None, 9900, "2024-05-20"),
    ("1205", None, None, 50000, "2024-05-20"),
];

fn assert_treasury(found: &[&TreasuryMovement], source: Source) {
    assert_eq!(found.len(), 5);
    for (movement, (number, iuf, iuv, cents, booked)) in found.iter().zip(TREASURY) {
        assert_eq!(movement.source, source);
        assert_eq!(movement.bolletta, Some(Bolletta { year: 2024, number: number.to_owned() }));
        assert_eq!(keys_of(movement), (iuf, iuv), "{number}");
        assert_eq!(movement.amount, Cents::new(cents));
        assert_eq!(movement.booking_day, day(booked));
        assert_eq!(movement.value_day, Some(day(booked)));
    }
}

#[test]
fn notifications_7_1() {
    let csv = fixture("c_x999-NOTIF20240517-1_0.csv");
    let (items, summary) =
        load(Source::Notification, "c_x999-NOTIF20240517-1_0.zip", &[("c_x999-NOTIF20240517-1_0.csv", &csv)]).unwrap();
    assert_eq!(summary, Summary { accepted: 5, rejected: 1, ignored: 0 });
    let Item::Notification(first) = &items[0] else { panic!("{:?}", items[0]) };
    assert_eq!(
        **first,
        PaymentNotification {
            iud: "TARI-2024-000123".to_owned(),
            iuv: "01000000000012301".to_owned(),
            payer: crate::domain::Party {
                kind: "F".to_owned(),
                id: "RSSMRA80A01H501U".to_owned(),
                name: "ROSSI MARIO".to_owned(),
                address: Some("Via Roma".to_owned()),
                civic_number: Some("10".to_owned()),
                postal_code: Some("00100".to_owned()),
                city: Some("Prova".to_owned()),
                province: Some("XX".to_owned()),
                country: Some("IT".to_owned()),
                email: Some("mario.rossi@example.org".to_owned()),
            },
            paid_on: day("2024-05-16"),
            amount: Cents::new(15000),
            fee: None,
            debt_type: "TARI".to_owned(),
            payment_kind: "PO".to_owned(),
            causale: "TARI 2024 RATA UNICA".to_owned(),
            collection_data: "9/0101100IM/".to_owned(),
            bilancio: None,
        }
    );
    let Item::Notification(fifth) = &items[4] else { panic!() };
    assert_eq!(
        (fifth.iud.as_str(), fifth.amount, fifth.fee),
        ("TARI-2024-000125", Cents::new(6000), Some(Cents::new(100)))
    );
    let Item::Notification(fourth) = &items[3] else { panic!() };
    assert_eq!((fourth.payer.address.clone(), fourth.payer.email.clone()), (None, None));
    let refused = rejected(&items);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].line, 7);
    assert_eq!(refused[0].fields[0], "TARI-2024-000127");
    assert_eq!(
        refused[0].message,
        "Data Esecuzione Pagamento: formato errato. Formato corretto 'yyyy-MM-dd'|importo singolo versamento: errato campo numerico. Formato corretto '###.##'"
    );
}

/// §8 a: MyPivot read `60,00` as 60 when the date was right; mypay refuses the row.
#[test]
fn a_notification_of_60_comma_00_is_refused() {
    let csv = "header\nTARI-2024-000127;01000000000012310;F;VLAPRN82M01H501Q;VIOLA PIERO;;;;;;;;2024-05-17;60,00;;TARI;PO;TARI 2024 RATA UNICA;9/0101100IM/;\n";
    let (items, summary) =
        load(Source::Notification, "c_x999-NOTIF20240518-1_0.zip", &[("c_x999-NOTIF20240518-1_0.csv", csv.as_bytes())])
            .unwrap();
    assert_eq!(summary, Summary { accepted: 0, rejected: 1, ignored: 0 });
    assert_eq!(
        rejected(&items)[0].message,
        "importo singolo versamento: errato campo numerico. Formato corretto '###.##'"
    );
}

#[test]
fn cash_journal_7_4() {
    let csv = fixture("c_x999-GDC20240520-1_0.csv");
    let (items, summary) =
        load(Source::CashJournal, "c_x999-GDC20240520-1_0.zip", &[("c_x999-GDC20240520-1_0.csv", &csv)]).unwrap();
    assert_eq!(summary, Summary { accepted: 5, rejected: 1, ignored: 0 });
    let found = movements(&items);
    assert_treasury(&found, Source::CashJournal);
    assert_eq!(found[0].payer_name.as_deref(), Some("BANCA DI PROVA SPA"));
    assert_eq!(found[0].causale, "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001");
    // Row 5 has no key and is kept: it becomes TES_NO_MATCH.
    assert_eq!(found[4].payer_name.as_deref(), Some("BIANCHI LUIGI"));
    let refused = rejected(&items);
    assert_eq!(refused[0].line, 7);
    assert_eq!(
        refused[0].fields,
        ["24", "12060000", "20/05/2024", "ROSSI MARIO", "VERSAMENTO", "1.234,56", "2024-05-20"]
    );
    assert_eq!(
        refused[0].message,
        "|de_anno_bolletta [24] non valido|cod_bolletta [12060000] non valido\
         |data contabile [20/05/2024] non valida: formato atteso yyyy-MM-dd\
         |importo [1.234,56] non valido: formato atteso 1234.56"
    );
}

#[test]
fn bank_movements_7_5() {
    let xls = fixture("c_x999-MOVCC20240520-1_0.xls");
    let (items, summary) =
        load(Source::BankMovements, "c_x999-MOVCC20240520-1_0.zip", &[("c_x999-MOVCC20240520-1_0.xls", &xls)]).unwrap();
    // Five credits, the `-` row skipped; row 6 without keys kept (§8 f: MyPivot dropped it).
    assert_eq!(summary, Summary { accepted: 5, rejected: 0, ignored: 1 });
    let found = movements(&items);
    let keys: Vec<_> = found.iter().map(|m| keys_of(m)).collect();
    assert_eq!(
        keys,
        [
            (Some(P1), None),
            (None, Some("01000000000012303")),
            (Some("2024-05-18TESTITM1XXX-S000002"), None),
            (Some("2024-05-19ALTRITM2XXX-S000003"), None),
            (None, None),
        ]
    );
    let amounts: Vec<i64> = found.iter().map(|m| m.amount.get()).collect();
    assert_eq!(amounts, [29200, 4550, 5950, 9900, 50000]);
    let first = found[0];
    assert_eq!(
        (first.source, first.bolletta.clone(), first.account.as_deref()),
        (Source::BankMovements, None, Some("000000012345"))
    );
    assert_eq!((first.booking_day, first.value_day), (day("2024-05-17"), Some(day("2024-05-17"))));
    assert_eq!(first.payer_name.as_deref(), Some("BANCA DI PROVA SPA"));
    assert_eq!(
        first.bank,
        Some(BankDetails {
            abi: Some("99999".to_owned()),
            cab: Some("01600".to_owned()),
            currency: Some("EUR".to_owned()),
            cheque: None,
            bank_reference: Some("BT240517001".to_owned()),
            customer_reference: None,
            order_day: Some(day("2024-05-17")),
            orderer: Some("BANCA DI PROVA SPA".to_owned()),
            tags: vec![
                ("OR1".to_owned(), "BANCA DI PROVA SPA".to_owned()),
                ("BI2".to_owned(), "TESTITM1XXX".to_owned())
            ],
        })
    );
    assert_eq!(found[1].payer_name.as_deref(), Some("BIANCHI LUIGI"), "from the :OR1: tag");
}

/// P4PA's sheets (date cells, number cells), as .xls and as .xlsx.
#[test]
fn bank_movements_with_date_and_number_cells() {
    for name in ["c_x999-MOVCC20240521-1_0.xls", "c_x999-MOVCC20240522-1_0.xlsx"] {
        let sheet = fixture(name);
        let base = name.split('.').next().unwrap();
        let (items, summary) = load(Source::BankMovements, &format!("{base}.zip"), &[(name, &sheet)]).unwrap();
        assert_eq!(summary, Summary { accepted: 2, rejected: 0, ignored: 0 }, "{name}: {items:?}");
        let found = movements(&items);
        assert_eq!(found.iter().map(|m| m.amount.get()).collect::<Vec<_>>(), [29200, 4550], "{name}");
        assert!(
            found.iter().all(|m| m.booking_day == day("2024-05-21") && m.value_day == Some(day("2024-05-21"))),
            "{name}"
        );
        assert_eq!(found[1].iuv.as_deref(), Some("01000000000012303"));
    }
}

#[test]
fn a_sheet_without_its_headers_is_refused() {
    let xls = fixture("c_x999-MOVCC20240520-1_0.xls");
    let refused =
        load(Source::BankMovements, "c_x999-MOVCC20240520-1_0.zip", &[("c_x999-MOVCC20240520-1_0.csv", &xls)]);
    assert_eq!(refused.unwrap_err(), FileRejection::Missing("c_x999-MOVCC20240520-1_0.xls/xlsx".to_owned()));
    let csv = fixture("c_x999-GDC20240520-1_0.csv");
    let refused =
        load(Source::BankMovements, "c_x999-MOVCC20240520-1_0.zip", &[("c_x999-MOVCC20240520-1_0.xls", &csv)]);
    assert!(matches!(refused, Err(FileRejection::NotASheet(_))), "{refused:?}");
}

fn opi_161() -> Vec<u8> {
    fixture("GDC_20240520_p1.xml")
}

#[test]
fn opi_7_6() {
    for page in [opi_161(), fixture("GDC_20240520_v14.xml")] {
        let (items, summary) =
            load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("GDC_20240520_p1.xml", &page)]).unwrap();
        // 101-105 movements, 106 a reversal, 107 (REVERSALE) ignored.
        assert_eq!(summary, Summary { accepted: 6, rejected: 0, ignored: 1 });
        let found = movements(&items);
        assert_treasury(&found, Source::Opi);
        let e2e: Vec<_> = found.iter().map(|m| m.end_to_end_id.as_deref()).collect();
        assert_eq!(
            e2e,
            [
                Some("E2E240517000000000000001"),
                Some("E2E240517000000000000002"),
                Some("E2E240518000000000000003"),
                None,
                None
            ]
        );
        assert!(found.iter().all(|m| m.account.as_deref() == Some("0012345")));
        assert_eq!(found[0].document.as_deref(), Some("1201"));
        assert_eq!(found[0].payer_name.as_deref(), Some("BANCA DI PROVA SPA"));
        assert_eq!(
            found[0].provisional,
            Some(Provisional { day: Some(day("2024-05-17")), code: Some("1000".to_owned()) })
        );
        assert_eq!(found[1].provisional, None);
        assert_eq!(
            items[5],
            Item::Treasury(TreasuryEvent::Reversal(Bolletta { year: 2024, number: "1190".to_owned() }))
        );
    }
}

/// §8 g: `end_to_end_id` is read too, and `data_valuta_ente` is not required.
#[test]
fn opi_end_to_end_id_and_no_value_day() {
    let page = String::from_utf8(opi_161()).unwrap();
    let page = page.replacen(
        "<tipo_esecuzione>ACCREDITO BANCA D'ITALIA</tipo_esecuzione><assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo><cliente><anagrafica_cliente>ALTRA BANCA SPA",
        "<tipo_esecuzione>ACCREDITO BANCA D'ITALIA</tipo_esecuzione><end_to_end_id>E2E-STANDARD-104</end_to_end_id><assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo><cliente><anagrafica_cliente>ALTRA BANCA SPA",
        1,
    );
    let page = page.replacen("<data_valuta_ente>2024-05-20</data_valuta_ente><tipo_esecuzione>ACCREDITO BANCA D'ITALIA</tipo_esecuzione><assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo><cliente><anagrafica_cliente>BIANCHI", "<tipo_esecuzione>ACCREDITO BANCA D'ITALIA</tipo_esecuzione><assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo><cliente><anagrafica_cliente>BIANCHI", 1);
    assert_eq!(
        validate_opi(&page, "OPI_GIORNALE_DI_CASSA_V_1_6_1.XSD"),
        Some(true),
        "the edited page is still valid OPI"
    );
    let (items, _) = load(Source::Opi, "c_x999-OPI20240521-1_0.zip", &[("p1.xml", page.as_bytes())]).unwrap();
    let found = movements(&items);
    assert_eq!(found[3].end_to_end_id.as_deref(), Some("E2E-STANDARD-104"));
    assert_eq!((found[4].booking_day, found[4].value_day), (day("2024-05-20"), None));
}

#[test]
fn opi_pages() {
    let one = String::from_utf8(opi_161()).unwrap();
    let paged = |n: u32| {
        one.replace(
            "<pagina>1</pagina><pagine_totali>1</pagine_totali>",
            &format!("<pagina>{n}</pagina><pagine_totali>2</pagine_totali>"),
        )
        .replace("<numero_bolletta_quietanza>1", &format!("<numero_bolletta_quietanza>{n}"))
    };
    let (p1, p2) = (paged(1), paged(2));
    // Stored in the ZIP second to first, read first to second.
    let (items, summary) =
        load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("b.xml", p2.as_bytes()), ("a.xml", p1.as_bytes())]).unwrap();
    assert_eq!(summary, Summary { accepted: 12, rejected: 0, ignored: 2 });
    let numbers: Vec<_> = movements(&items).iter().map(|m| m.bolletta.clone().unwrap().number).collect();
    assert_eq!(numbers, ["1201", "1202", "1203", "1204", "1205", "2201", "2202", "2203", "2204", "2205"]);

    let refused =
        load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", one.as_bytes()), ("b.xml", one.as_bytes())]);
    assert_eq!(refused, Err(FileRejection::OpiPageCount { files: 2, pages: 1 }));
    assert_eq!(
        FileRejection::OpiPageCount { files: 2, pages: 1 }.message_it(),
        "Numero file trovati nello zip diverso dal numero pagine interne ai file."
    );
    let refused =
        load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", p1.as_bytes()), ("b.xml", p1.as_bytes())]);
    assert_eq!(refused, Err(FileRejection::OpiPageNumbers(2)));
    let refused = load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", p1.as_bytes())]);
    assert_eq!(refused, Err(FileRejection::OpiPageCount { files: 1, pages: 2 }));
    let old = fixture("GDC_20240520_v14.xml");
    let refused = load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", &old), ("b.xml", &old)]);
    assert_eq!(refused, Err(FileRejection::OpiOldVersionPages(2)));
    assert_eq!(refused.unwrap_err().message_it(), "Vecchia versione OPI: al massimo solo un file nello zip.");

    let other_org = one.replace("<codice_fiscale_ente>80012340123<", "<codice_fiscale_ente>80099990123<");
    let refused = load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", other_org.as_bytes())]);
    assert_eq!(
        refused,
        Err(FileRejection::WrongFiscalCode { found: "80099990123".to_owned(), org: "80012340123".to_owned() })
    );
    let not_opi = load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", b"<x/>")]);
    assert_eq!(not_opi.unwrap_err().to_string(), "OPI page a.xml: the root element is x, not flusso_giornale_di_cassa");
    let dtd = load(Source::Opi, "c_x999-OPI20240520-1_0.zip", &[("a.xml", b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>")]);
    assert_eq!(dtd.unwrap_err().to_string(), "OPI page a.xml: DTDs are not accepted");
}

/// The fixtures are OPI documents: xmllint validates them against the XSDs of
/// `../shared/specs/mypivot` (read at run time; skipped where the folder or xmllint is absent).
#[test]
fn opi_fixtures_validate_against_the_xsds() {
    let page = String::from_utf8(opi_161()).unwrap();
    let v14 = String::from_utf8(fixture("GDC_20240520_v14.xml")).unwrap();
    match (
        validate_opi(&page, "OPI_GIORNALE_DI_CASSA_V_1_6_1.XSD"),
        validate_opi(&v14, "OPI_GIORNALE_DI_CASSA_V_1_4.XSD"),
    ) {
        (Some(new), Some(old)) => assert!(new && old, "1.6.1 valid: {new}, 1.4 valid: {old}"),
        _ => println!("skipped: OPI validation needs ../shared/specs/mypivot and xmllint"),
    }
}

/// Whether xmllint finds `xml` valid against `xsd`; `None` without the specs or xmllint.
fn validate_opi(xml: &str, xsd: &str) -> Option<bool> {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs/mypivot");
    let schema = specs.join(xsd);
    if !schema.is_file() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.xml");
    std::fs::write(&file, xml).unwrap();
    let status = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    Some(status.success())
}

#[test]
fn poste_statement_7_7() {
    let csv = fixture("c_x999-ECPOSTE20240521.csv");
    let (items, summary) =
        load(Source::PosteStatement, "c_x999-ECPOSTE20240521.zip", &[("c_x999-ECPOSTE20240521.csv", &csv)]).unwrap();
    // Rows 1-3 movements, row 4 (a debit) and the footer skipped, row 5 refused.
    assert_eq!(summary, Summary { accepted: 3, rejected: 1, ignored: 2 });
    let found = movements(&items);
    let numbers: Vec<_> = found.iter().map(|m| m.bolletta.clone().unwrap()).collect();
    assert_eq!(
        numbers,
        ["P000001", "P000002", "P000003"].map(|number| Bolletta { year: 2024, number: number.to_owned() })
    );
    assert!(
        found
            .iter()
            .all(|m| m.account.as_deref() == Some("2345678") && m.payer_name.as_deref() == Some("POSTE ITALIANE SPA"))
    );
    assert_eq!(
        found.iter().map(|m| keys_of(m)).collect::<Vec<_>>(),
        [
            (Some("2024-05-17BPPIITRRXXX-S000101"), None),
            (None, Some("01000000000012311")),
            (None, Some("01000000000012312")),
        ]
    );
    assert_eq!(found.iter().map(|m| m.amount.get()).collect::<Vec<_>>(), [29200, 4550, 1800]);
    assert_eq!((found[2].booking_day, found[2].value_day), (day("2024-05-21"), Some(day("2024-05-21"))));
    let refused = rejected(&items);
    assert_eq!(refused[0].line, 7);
    assert_eq!(
        refused[0].message,
        "Non è stato possibile decodificare, dal campo delegato del file csv, un valore per 'codice iuf - bi2' oppure un valore 'codice IUV'"
    );
    // A 3-part name is accepted too (§8 l: MyPivot refused every one).
    let named = "c_x999-ECPOSTE20240521-1_0";
    let (_, summary) =
        load(Source::PosteStatement, &format!("{named}.zip"), &[(&format!("{named}.csv"), &csv)]).unwrap();
    assert_eq!(summary.accepted, 3);
    let no_iban =
        load(Source::PosteStatement, "c_x999-ECPOSTE20240521.zip", &[("c_x999-ECPOSTE20240521.csv", b"IBAN;\n")]);
    assert_eq!(no_iban, Err(FileRejection::NoIban));
}

#[test]
fn poste_reporting_7_8() {
    let csv = fixture("c_x999-RENPOSTE20240518.csv");
    let (items, summary) =
        load(Source::PosteReporting, "c_x999-RENPOSTE20240518.zip", &[("c_x999-RENPOSTE20240518.csv", &csv)]).unwrap();
    assert_eq!(summary, Summary { accepted: 5, rejected: 0, ignored: 0 });
    assert_eq!(
        items[0],
        Item::PosteReporting(PosteReportingRow {
            operation_day: day("2024-05-16"),
            office: "55123".to_owned(),
            amount: Cents::new(15000),
            credit_day: day("2024-05-17"),
            iur: "0000000123456789".to_owned(),
        })
    );
    let Item::PosteReporting(last) = &items[4] else { panic!() };
    assert_eq!((last.amount, last.credit_day), (Cents::new(6000), day("2024-05-18")));
}

#[test]
fn file_level_refusals() {
    let csv = fixture("c_x999-GDC20240520-1_0.csv");
    let entry = [("c_x999-GDC20240520-1_0.csv", &csv[..])];
    let wrong_org = load(Source::CashJournal, "c_a000-GDC20240520-1_0.zip", &entry).unwrap_err();
    assert_eq!(wrong_org.to_string(), "the file name is for org c_a000, not c_x999");
    assert_eq!(wrong_org.message_it(), "File caricato su ente errato.");
    let version = load(Source::CashJournal, "c_x999-GDC20240520-1_1.zip", &entry).unwrap_err();
    assert_eq!(version.to_string(), "version \"1_1\" in the file name is not supported (1_0)");
    assert_eq!(version.message_it(), "Errata indicazione versione.");
    let not_zip_name = load(Source::CashJournal, "c_x999-GDC20240520-1_0.csv", &entry).unwrap_err();
    assert_eq!(not_zip_name.message_it(), "Il formato del file deve essere lo zip.");
    let entry_name = load(Source::CashJournal, "c_x999-GDC20240520-1_0.zip", &[("giornale.csv", &csv)]).unwrap_err();
    assert_eq!(entry_name.to_string(), "entry \"giornale.csv\" of the ZIP is not named after the ZIP");
    assert_eq!(entry_name.message_it(), "Il nome del file contenuto deve essere uguale al nome dello zip.");
    let path_entry =
        load(Source::CashJournal, "c_x999-GDC20240520-1_0.zip", &[("../c_x999-GDC20240520-1_0.csv", &csv)]);
    assert!(matches!(path_entry, Err(FileRejection::EntryName(_))));
    let d_name = load(Source::Notification, "c_x999-NOTIF.zip", &[("c_x999-NOTIF.csv", &csv)]).unwrap_err();
    assert_eq!(d_name.message_it(), "Convenzione nome file errata: il nome deve essere 'cod_ipa_ente-iuf-versione'.");

    // Not a ZIP at all, under a ZIP's name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.zip");
    std::fs::write(&path, &csv).unwrap();
    let refused =
        read(
            Source::CashJournal,
            "c_x999-GDC20240520-1_0.zip",
            &path,
            ORG,
            CashColumns::default(),
            |_| Ok::<_, ()>(()),
        );
    let Err(ReadError::File(not_zip)) = refused else { panic!("{refused:?}") };
    assert!(
        matches!(&not_zip, FileRejection::Unreadable(text) if text.starts_with("not a readable ZIP file")),
        "{not_zip}"
    );
    assert_eq!(not_zip.message_it(), "Il file non è leggibile come zip.");
    // Too large: refused before it is opened as a ZIP.
    std::fs::write(&path, vec![0_u8; MAX_ZIP_BYTES as usize + 1]).unwrap();
    let refused =
        read(
            Source::CashJournal,
            "c_x999-GDC20240520-1_0.zip",
            &path,
            ORG,
            CashColumns::default(),
            |_| Ok::<_, ()>(()),
        );
    assert!(matches!(refused, Err(ReadError::File(FileRejection::TooLarge(MAX_ZIP_BYTES)))));
    let receipts = load(Source::Receipt, "c_x999-X-1_0.zip", &entry).unwrap_err();
    assert!(receipts.to_string().contains("not uploaded"));
}

#[test]
fn a_sink_error_stops_the_read() {
    let csv = fixture("c_x999-GDC20240520-1_0.csv");
    let dir = tempfile::tempdir().unwrap();
    let path = zip_of(dir.path(), "", &[("c_x999-GDC20240520-1_0.csv", &csv)]);
    let mut seen = 0;
    let refused = read(Source::CashJournal, "c_x999-GDC20240520-1_0.zip", &path, ORG, CashColumns::default(), |_| {
        seen += 1;
        if seen == 2 { Err("disk full") } else { Ok(()) }
    });
    assert!(matches!(refused, Err(ReadError::Sink("disk full"))));
    assert_eq!(seen, 2);
}

#[test]
fn a_line_too_long_refuses_the_file() {
    let csv = format!("h\n{}\n", "x".repeat(70_000));
    let refused = load(Source::CashJournal, "c_x999-GDC1-1_0.zip", &[("c_x999-GDC1-1_0.csv", csv.as_bytes())]);
    assert_eq!(refused, Err(FileRejection::LineTooLong { line: 2, max: 64 * 1024 }));
}
