//! The export of the §7 fixtures, byte for byte, in 1.0, 1.2 and 1.4; its states; DOPPI exported;
//! a run stopped by shutdown; an operator's debt types.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Read;

use super::*;
use crate::domain::reconciliation::Source;
use crate::services::reconciliation::tests as seven;
use crate::services::reconciliation::{load_items, set_settings};
use crate::services::testkit::{IPA, Kit};

/// Everything of §7 from its files where there are some (7.1 notifications, 7.4 giornale di cassa),
/// receipts and flows as mypay stores them.
fn all_of_7(kit: &Kit) {
    seven::both_flags(kit);
    seven::receipts(kit);
    seven::flow1(kit);
    seven::flow2(kit);
    let notified =
        seven::file_items(Source::Notification, "c_x999-NOTIF20240517-1_0.zip", "c_x999-NOTIF20240517-1_0.csv");
    load_items(&kit.db, IPA, notified, kit.now).unwrap();
    let cash = seven::file_items(Source::CashJournal, "c_x999-GDC20240520-1_0.zip", "c_x999-GDC20240520-1_0.csv");
    load_items(&kit.db, IPA, cash, kit.now).unwrap();
    seven::catch_up(kit);
}

fn booking(version: &str, headers: Headers, filters: Filters) -> Booking<'_> {
    Booking { ipa: IPA, version, headers, filters, max_rows: None, requested_by: "test", operator: None }
}

/// Books and runs; gives the record and, when a file was written, its CSV's name and lines.
fn export(kit: &Kit, dir: &Path, req: &Booking<'_>) -> (ReconExportRecord, Option<(String, Vec<String>)>) {
    export_of(kit, dir, req, IPA)
}

/// [`export`] for the org `ipa` the booking names.
fn export_of(
    kit: &Kit,
    dir: &Path,
    req: &Booking<'_>,
    ipa: &str,
) -> (ReconExportRecord, Option<(String, Vec<String>)>) {
    let record = book(&kit.db, req, false, kit.now).unwrap();
    let record = if record.state.is_final() {
        record
    } else {
        run(&kit.db, dir, "80012340123_01", &record, &mut |_| {}, &|| false).unwrap()
    };
    let file = file_path(dir, ipa, &record).map(|path| {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(zip.len(), 1);
        let mut entry = zip.by_index(0).unwrap();
        let name = entry.name().to_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        assert!(text.ends_with('\n'));
        (name, text.lines().map(str::to_owned).collect())
    });
    (record, file)
}

fn line_of_iuv<'a>(lines: &'a [String], iuv: &str, label: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter(|l| l.contains(&format!("\"{iuv}\"")) && l.contains(&format!("\"{label}\"")))
        .map(String::as_str)
        .collect()
}

#[test]
fn the_fixtures_of_7_export_in_1_2_byte_for_byte() {
    let kit = Kit::new();
    all_of_7(&kit);
    let dir = tempfile::tempdir().unwrap();
    let (record, file) = export(&kit, dir.path(), &booking("1.2", Headers::MyPivot, Filters::default()));
    assert_eq!(record.state, ReconExportState::Done, "{:?}", record.error);
    let (name, lines) = file.unwrap();
    let stem = record.file_name.as_deref().unwrap().trim_end_matches(".zip");
    assert_eq!(name, format!("{stem}.csv"));
    assert!(stem.starts_with(&format!("{IPA}-{}_ESTRAZIONE_RICONCILIAZIONE_", record.id)) && stem.ends_with("-1_2"));
    // 4 + 3 + 2 + 1 + 1 + 3 + 1 + 3 labels of §7.10's transfers, 1 + 1 of the movements.
    assert_eq!(lines.len(), 1 + 20);
    assert_eq!(record.rows, Some(20));
    assert_eq!(lines[0], HEADER_1_2);
    let p1 = line_of_iuv(&lines, "01000000000012301", "RT_IUF_TES");
    assert_eq!(p1, [P1_RT_IUF_TES_1_2]);
    let keyless = line_of_iuv(&lines, "", "TES_NO_MATCH");
    assert_eq!(keyless, [TES_NO_MATCH_1_2]);
}

#[test]
fn the_fixtures_of_7_export_in_1_0_and_1_4_byte_for_byte() {
    let kit = Kit::new();
    all_of_7(&kit);
    let dir = tempfile::tempdir().unwrap();
    let (record, file) = export(&kit, dir.path(), &booking("1.0", Headers::MyPivot, Filters::default()));
    assert_eq!(record.state, ReconExportState::Done);
    assert!(record.file_name.as_deref().unwrap().ends_with("-1_0.zip"));
    let (_, lines) = file.unwrap();
    assert_eq!(lines[0], HEADER_1_0);
    assert_eq!(lines[0].split(';').count(), 145);
    assert_eq!(line_of_iuv(&lines, "01000000000012305", "IUV_NO_RT"), [IUV_NO_RT_1_0]);
    assert_eq!(line_of_iuv(&lines, "01000000000012303", "RT_TES"), [RT_TES_1_0]);

    let (record, file) = export(&kit, dir.path(), &booking("1.4", Headers::MyPivot, Filters::default()));
    assert_eq!(record.state, ReconExportState::Done);
    let (_, lines) = file.unwrap();
    assert_eq!(lines[0], HEADER_1_4);
    assert_eq!(lines[0].split(';').count(), 141);
    assert_eq!(line_of_iuv(&lines, "01000000000012309", "IUF_TES_DIV_IMP"), [DIV_IMP_1_4]);

    // P4PA's names: the same lines, the I block after the tail.
    let (record, file) = export(&kit, dir.path(), &booking("1.4", Headers::P4pa, Filters::default()));
    assert_eq!(record.state, ReconExportState::Done);
    let (_, lines) = file.unwrap();
    assert_eq!(lines[0], HEADER_1_4_P4PA);
    assert_eq!(line_of_iuv(&lines, "01000000000012304", "IUD_NO_RT"), [IUD_NO_RT_1_4_P4PA]);
}

#[test]
fn filters_select_labels_iuvs_iufs_debt_types_and_days() {
    let kit = Kit::new();
    all_of_7(&kit);
    let dir = tempfile::tempdir().unwrap();
    let labels_of = |filters: Filters| -> Vec<String> {
        let (record, file) = export(&kit, dir.path(), &booking("1.1", Headers::MyPivot, filters));
        match file {
            Some((_, lines)) => lines[1..]
                .iter()
                .map(|l| {
                    let cells: Vec<&str> = l.split(';').map(|c| c.trim_matches('"')).collect();
                    let iuv = cells.iter().find(|c| c.len() == 17 && c.starts_with("0100")).unwrap_or(&"");
                    format!("{iuv}:{}", cells[cells.len() - 2])
                })
                .collect(),
            None => vec![record.state.code().to_owned()],
        }
    };
    let only = |labels: &[Label]| Filters { labels: labels.to_vec(), ..Filters::default() };
    assert_eq!(
        labels_of(only(&[Label::IudNoRt, Label::RtNoIuf])),
        ["01000000000012304:IUD_NO_RT", "01000000000012308:RT_NO_IUF"].map(String::from)
    );
    let by_iuf = Filters { iufs: vec!["2024-05-18testitm1xxx-s000002".to_owned()], ..Filters::default() };
    assert_eq!(
        labels_of(by_iuf),
        ["01000000000012309:IUD_RT_IUF", "01000000000012309:RT_IUF", "01000000000012309:IUF_TES_DIV_IMP"]
            .map(String::from)
    );
    let by_iuv = Filters { iuvs: vec!["01000000000012303".to_owned()], ..only(&[Label::RtTes]) };
    assert_eq!(labels_of(by_iuv), ["01000000000012303:RT_TES"].map(String::from));
    // The period is the row's day; the notification of …309 was paid on the 17th.
    let day = |d: &str| Some(Day::parse(d).unwrap());
    let period = Filters { period: Range { from: day("2024-05-17"), to: day("2024-05-17") }, ..Filters::default() };
    assert_eq!(
        labels_of(period),
        ["01000000000012309:IUD_RT_IUF", "01000000000012309:RT_IUF", "01000000000012309:IUF_TES_DIV_IMP"]
            .map(String::from)
    );
    // The settlement day of FdR2 (18th), then the treasury's value day of the movements of the 20th.
    let settled = Filters { settlement: Range { from: day("2024-05-18"), to: None }, ..Filters::default() };
    assert_eq!(labels_of(settled).len(), 3);
    let valued = Filters { value: Range { from: day("2024-05-20"), to: day("2024-05-20") }, ..Filters::default() };
    assert_eq!(labels_of(valued), [":TES_NO_IUF_OR_IUV", ":TES_NO_MATCH"].map(String::from));
    // Debt types: the receipt's (TARI in the kit), else the notification's.
    let types = Filters { debt_types: vec!["CERT".to_owned()], ..Filters::default() };
    assert_eq!(labels_of(types), ["EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO"]);
}

#[test]
fn the_states_of_a_booking() {
    let kit = Kit::new();
    all_of_7(&kit);
    let dir = tempfile::tempdir().unwrap();
    let day = |d: &str| Some(Day::parse(d).unwrap());
    // Nothing in the period: no file.
    let empty = Filters { period: Range { from: day("2025-01-01"), to: day("2025-12-31") }, ..Filters::default() };
    let (record, file) = export(&kit, dir.path(), &booking("1.2", Headers::MyPivot, empty));
    assert_eq!(record.state.code(), "EXPORT_ESEGUITO_NESSUN_RECORD_TROVATO");
    assert_eq!((record.rows, record.file_name.as_deref(), file.is_none()), (Some(0), None, true));
    // More lines than allowed: no file, and none left behind.
    let mut small = booking("1.2", Headers::MyPivot, Filters::default());
    small.max_rows = Some(5);
    let (record, file) = export(&kit, dir.path(), &small);
    assert_eq!(record.state.code(), "NUMERO_MASSIMO_EXPORT_RIGHE_CONSENTITO_SUPERATO");
    assert_eq!(record.error.as_deref(), Some("more than 5 lines"));
    assert!(file.is_none());
    // Stopped while classifying or while writing: either way no file (nor a folder with one) is left.
    let left = std::fs::read_dir(dir.path().join("export").join(IPA)).map_or(0, Iterator::count);
    assert_eq!(left, 0);
    // A version MyPivot does not have, or P4PA names before 1.3: booked, and final at once.
    for (version, headers) in [("1.5", Headers::MyPivot), ("", Headers::MyPivot), ("1.2", Headers::P4pa)] {
        let record = book(&kit.db, &booking(version, headers, Filters::default()), true, kit.now).unwrap();
        assert_eq!(record.state.code(), "VERSIONE_TRACCIATO_ERRATA", "{version} {headers:?}");
        assert!(record.finished_at.is_some());
        assert_eq!(status(&kit.db, IPA, record.id).unwrap().unwrap().state, ReconExportState::BadVersion);
    }
    // 1.2 asks for IUD_* or RT_NO_IUD of an org without notifications: refused as MyPivot does;
    // 1.3 and an org with notifications are fine.
    set_settings(&kit.db, IPA, Some(false), None, "test", kit.now).unwrap();
    let notified = Filters { labels: vec![Label::RtIuf, Label::RtNoIud], ..Filters::default() };
    let (record, _) = export(&kit, dir.path(), &booking("1.2", Headers::MyPivot, notified.clone()));
    assert_eq!(record.state.code(), "CLASSIFICAZIONE_COMPLETEZZA_NON_VALIDA");
    assert_eq!(
        record.error.as_deref(),
        Some("label RT_NO_IUD needs payment notifications, which this org does not send (version 1.2)")
    );
    let (record, _) = export(&kit, dir.path(), &booking("1.3", Headers::MyPivot, notified.clone()));
    assert_eq!(record.state, ReconExportState::Done);
    // Refused outright: an unknown debt type, an upside-down range, an org that does not exist.
    let unknown = Filters { debt_types: vec!["NOPE".to_owned()], ..Filters::default() };
    let err = book(&kit.db, &booking("1.2", Headers::MyPivot, unknown), true, kit.now).unwrap_err();
    assert_eq!(err.to_string(), "invalid debt_types: unknown debt type NOPE");
    let upside = Filters { outcome: Range { from: day("2024-05-20"), to: day("2024-05-01") }, ..Filters::default() };
    let err = book(&kit.db, &booking("1.2", Headers::MyPivot, upside), true, kit.now).unwrap_err();
    assert_eq!(err.to_string(), "invalid outcome: from 2024-05-20 is after to 2024-05-01");
    assert!(status(&kit.db, "c_nobody", 1).is_err());
    assert_eq!(status(&kit.db, IPA, 999).unwrap(), None);
}

#[test]
fn doppi_is_exported() {
    let kit = Kit::new();
    seven::both_flags(&kit);
    seven::receipts(&kit);
    let (a, b) = (seven::iuv(301), seven::iuv(302));
    seven::flow(
        &kit,
        IPA,
        seven::FDR1,
        38000,
        &[
            (&a, "IUR20240516000001", Some(1), 15000, "0"),
            (&b, "IUR20240516000002", Some(1), 8000, "0"),
            (&a, "IUR20240516000099", Some(1), 15000, "9"),
        ],
    );
    seven::catch_up(&kit);
    let dir = tempfile::tempdir().unwrap();
    let only = Filters { labels: vec![Label::Doppi], ..Filters::default() };
    let (record, file) = export(&kit, dir.path(), &booking("1.4", Headers::MyPivot, only));
    assert_eq!(record.state, ReconExportState::Done);
    let (_, lines) = file.unwrap();
    assert_eq!(lines.len(), 3, "both FdR rows of …301");
    assert_eq!(line_of_iuv(&lines, &a, "DOPPI").len(), 2);
    assert!(lines[2].contains(r#""IUR20240516000099";"150.00";"9";"2024-05-16""#), "{}", lines[2]);
    // Paid without RPT (9), the row joins no receipt by its IUR; the IUV's receipt gives its E block.
    let e_of = |line: &str| line.split(';').skip(21).take(8).collect::<Vec<_>>().join(";");
    let e = r#""_c_prova_IMPORT-DOVUTO";"1";"TARI-2024-000123";"01000000000012301";"6.2.0";"01234567897";"80012340123_01";"IUR20240516000001""#;
    assert_eq!((e_of(&lines[1]), e_of(&lines[2])), (e.to_owned(), e.to_owned()));
}

/// An FdR row paid without RPT (9) and no receipt of its IUV keeps an empty E block.
#[test]
fn an_implicit_payment_without_receipt_has_no_e_block() {
    let kit = Kit::new();
    seven::both_flags(&kit);
    seven::flow(&kit, IPA, seven::FDR1, 1200, &[(&seven::iuv(306), "IUR20240516000006", Some(1), 1200, "9")]);
    seven::catch_up(&kit);
    let dir = tempfile::tempdir().unwrap();
    let (_, file) = export(&kit, dir.path(), &booking("1.4", Headers::MyPivot, Filters::default()));
    let (_, lines) = file.unwrap();
    assert_eq!(lines.len(), 4, "a line per label");
    for line in &lines[1..] {
        let cells: Vec<&str> = line.split(';').collect();
        assert!(cells[21..87].iter().all(|c| *c == r#""""#), "{line}");
        assert_eq!(cells[87..89], [r#""1.0""#, &format!("\"{}\"", seven::FDR1)]);
    }
}

#[test]
fn a_run_stopped_by_shutdown_is_booked_again_and_leaves_no_file() {
    let kit = Kit::new();
    all_of_7(&kit);
    let dir = tempfile::tempdir().unwrap();
    let record = book(&kit.db, &booking("1.4", Headers::MyPivot, Filters::default()), true, kit.now).unwrap();
    // The classification is caught up (one look at `cancelled`); the stop comes at the first row.
    let looks = std::cell::Cell::new(0);
    let stop = || {
        looks.set(looks.get() + 1);
        looks.get() > 1
    };
    let err = run(&kit.db, dir.path(), "x", &record, &mut |_| {}, &stop).unwrap_err();
    assert_eq!(looks.get(), 2);
    assert!(matches!(err, ServiceError::Interrupted));
    let again = status(&kit.db, IPA, record.id).unwrap().unwrap();
    assert_eq!((again.state, again.file_name.as_deref()), (ReconExportState::Booked, None));
    // Stopped while classifying or while writing: either way no file (nor a folder with one) is left.
    let left = std::fs::read_dir(dir.path().join("export").join(IPA)).map_or(0, Iterator::count);
    assert_eq!(left, 0);
    // The job is still queued, and runs it to its end.
    let done = run(&kit.db, dir.path(), "x", &again, &mut |_| {}, &|| false).unwrap();
    assert_eq!(done.state, ReconExportState::Done);
    assert!(file_path(dir.path(), IPA, &done).unwrap().exists());
}

#[test]
fn an_operator_books_only_their_debt_types() {
    use crate::services::admin::operators as ops;
    let kit = Kit::new();
    all_of_7(&kit);
    let new = ops::NewOperator {
        username: "anna",
        password: "Una-password-lunga-2026!",
        role: ops::Role::Operator,
        org_ipa: Some(IPA),
        full_name: None,
        email: None,
    };
    ops::add_operator(&kit.db, "test", &new, kit.now).unwrap();
    let grant =
        ops::Grant { username: "anna", org_ipa: Some(IPA), debt_types: vec!["CERT".to_owned()], ..Default::default() };
    ops::grant(&kit.db, "test", &grant, kit.now).unwrap();
    let mut req = booking("1.2", Headers::MyPivot, Filters::default());
    req.operator = Some("anna");
    req.requested_by = "operator:anna";
    let record = book(&kit.db, &req, false, kit.now).unwrap();
    assert_eq!(Filters::of(&record).unwrap().debt_types, ["CERT"]);
    req.filters.debt_types = vec!["TARI".to_owned()];
    let err = book(&kit.db, &req, false, kit.now).unwrap_err();
    assert_eq!(err.to_string(), "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO: debt type TARI is not enabled for you");
}

/// §1.7: the beneficiary's export of another org's receipt's transfer to it (an S row) carries the
/// receipt (its E block with MyPivot's S-row names and the transfer's amounts) and, in 1.4, the
/// collecting org's data in the `*_pa1` columns.
#[test]
fn an_s_row_exports_the_receipt_and_the_collecting_org() {
    use crate::services::reconciliation::tests::inputs::{BENEFICIARY, BENEFICIARY_IUF, add_beneficiary};
    let kit = Kit::new();
    add_beneficiary(&kit);
    set_settings(&kit.db, BENEFICIARY, Some(false), Some(true), "test", kit.now).unwrap();
    let x = seven::iuv(701);
    let mut record = seven::receipt_record(&kit, &x, "IUR-MB-1", &[10000, 2500], Some("TARI-MB-1"), "2024-05-16");
    if let [_, share] = record.transfers.as_mut_slice() {
        share.fiscal_code = "80012340123".to_owned();
        share.iban = Some("IT60X0542811101000000654321".to_owned());
        share.category = "0201133IM".to_owned();
    }
    kit.db.write(|tx| crate::store::receipts::insert_receipt(tx, &record, &kit.now.iso())).unwrap();
    seven::flow(&kit, BENEFICIARY, BENEFICIARY_IUF, 2500, &[(&x, "IUR-MB-1", Some(2), 2500, "0")]);
    let credit = seven::movement(Source::CashJournal, Some(1301), "2024-05-20", 2500, Some(BENEFICIARY_IUF), None);
    load_items(&kit.db, BENEFICIARY, vec![seven::treasury(credit)], kit.now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let req = Booking { ipa: BENEFICIARY, ..booking("1.4", Headers::MyPivot, Filters::default()) };
    let (record, file) = export_of(&kit, dir.path(), &req, BENEFICIARY);
    assert_eq!(record.state, ReconExportState::Done, "{:?}", record.error);
    let (_, lines) = file.unwrap();
    assert_eq!(lines[0].split(';').count(), 120);
    assert_eq!(lines[1..], [S_ROW_1_4.to_owned(), S_ROW_1_4.replace("RT_IUF_TES", "RT_IUF")]);
}

/// §1.5: a legacy Poste line exports as the FdR row MyPivot made of it: Poste's PSP as a bank
/// sender, version 1.0, outcome 0, its IUR, amount and operation day, no IUV.
#[test]
fn a_legacy_poste_line_exports_its_reporting_block() {
    let kit = Kit::new();
    let lines = crate::services::reconciliation::tests::inputs::poste_lines();
    load_items(&kit.db, IPA, lines.into_iter().take(1).collect(), kit.now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (record, file) = export(&kit, dir.path(), &booking("1.1", Headers::MyPivot, Filters::default()));
    assert_eq!(record.state, ReconExportState::Done, "{:?}", record.error);
    let (_, lines) = file.unwrap();
    assert_eq!(lines[1..], [POSTE_1_1]);
}

/// MyPivot writes a line per joined treasury movement: a flow credited twice (two bollette
/// naming its IUF) gives each of its rows two lines, one per bolletta.
#[test]
fn a_row_joined_to_two_movements_has_a_line_each() {
    let kit = Kit::new();
    seven::both_flags(&kit);
    seven::receipts(&kit);
    seven::flow1(&kit);
    let credits = [1201, 1207].map(|n| {
        seven::treasury(seven::movement(Source::CashJournal, Some(n), "2024-05-17", 29200, Some(seven::FDR1), None))
    });
    load_items(&kit.db, IPA, credits.to_vec(), kit.now).unwrap();
    seven::catch_up(&kit);
    let dir = tempfile::tempdir().unwrap();
    let only = Filters { iuvs: vec![seven::iuv(301)], ..Filters::default() };
    let (record, file) = export(&kit, dir.path(), &booking("1.1", Headers::MyPivot, only));
    assert_eq!(record.state, ReconExportState::Done, "{:?}", record.error);
    let (_, lines) = file.unwrap();
    let tails: Vec<String> = lines[1..]
        .iter()
        .map(|l| {
            let cells: Vec<&str> = l.split(';').collect();
            cells[cells.len() - 10..].join(";")
        })
        .collect();
    let tail = |bolletta: &str, label: &str| format!(r#""2024";"{bolletta}";"";"";"";"";"";"";"{label}";"2026-12-07""#);
    let labels = ["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"];
    let expected: Vec<String> =
        ["1201", "1207"].iter().flat_map(|b| labels.iter().map(|l| tail(b, l)).collect::<Vec<_>>()).collect();
    assert_eq!(tails, expected);
}

/// `versioneOggettoR` is the one the kept SOAP document names (read once per flow); a flow
/// without one (REST's JSON) gives 1.0, the version of the FlussoRiversamento mypay writes.
#[test]
fn the_flow_s_object_version_is_its_document_s() {
    let kit = Kit::new();
    seven::both_flags(&kit);
    seven::receipts(&kit);
    let mut record = seven::flow_record(
        &kit,
        IPA,
        seven::FDR1,
        15000,
        &[(&seven::iuv(301), "IUR20240516000001", Some(1), 15000, "0")],
    );
    record.document = Some(format!(
        "<?xml version=\"1.0\"?><ns2:FlussoRiversamento xmlns:ns2=\"http://www.digitpa.gov.it/schemas/2011/Pagamenti/\">\
         <ns2:versioneOggetto>1.0.4</ns2:versioneOggetto><ns2:identificativoFlusso>{}</ns2:identificativoFlusso>",
        seven::FDR1
    ));
    let id = kit.db.write(|tx| crate::store::reporting::insert_flow(tx, &record, &kit.now.iso())).unwrap();
    assert_eq!(kit.db.read(|c| rx::flow_object_version(c, id)).unwrap().as_deref(), Some("1.0.4"));
    seven::catch_up(&kit);
    let dir = tempfile::tempdir().unwrap();
    let only = Filters { iuvs: vec![seven::iuv(301)], ..Filters::default() };
    let (_, file) = export(&kit, dir.path(), &booking("1.1", Headers::MyPivot, only));
    let (_, lines) = file.unwrap();
    let expected = format!(r#";"1.0.4";"{}";"2024-05-17T06:30:00";"#, seven::FDR1);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1..].iter().filter(|l| l.contains(&expected)).count(), 3);
}

/// The fields of a bank sheet (§7.5: ABI, CAB, currency, sign, references, order day, tags) and of
/// an OPI sospeso (§7.6: its effective day and code) are kept with the movement and exported.
#[test]
fn bank_sheet_and_opi_sospeso_fields_are_exported() {
    let t_block = |source: Source, zip: &str, name: &str, version: &str, cells: usize| -> String {
        let kit = Kit::new();
        seven::both_flags(&kit);
        seven::receipts(&kit);
        seven::flow1(&kit);
        load_items(&kit.db, IPA, seven::file_items(source, zip, name), kit.now).unwrap();
        seven::catch_up(&kit);
        let dir = tempfile::tempdir().unwrap();
        let only = Filters { iuvs: vec![seven::iuv(301)], labels: vec![Label::RtIufTes], ..Filters::default() };
        let (record, file) = export(&kit, dir.path(), &booking(version, Headers::MyPivot, only));
        assert_eq!(record.state, ReconExportState::Done, "{:?}", record.error);
        let (_, lines) = file.unwrap();
        assert_eq!(lines.len(), 2);
        let all: Vec<&str> = lines[1].split(';').collect();
        all[all.len() - cells..].join(";")
    };
    let bank =
        t_block(Source::BankMovements, "c_x999-MOVCC20240520-1_0.zip", "c_x999-MOVCC20240520-1_0.xls", "1.0", 37);
    assert_eq!(
        bank,
        r#""99999";"01600";"000000012345";"EUR";"2024-05-17";"2024-05-17";"292.00";"+";"Data Ordine: 17/05/2024; Descrizione Ordinante: BANCA DI PROVA SPA: /PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001 :OR1:BANCA DI PROVA SPA:BI2:TESTITM1XXX:";"";"BT240517001";"";"2024-05-17";"BANCA DI PROVA SPA";"TESTITM1XXX";"";"";"";"";"";"";"";"";"";"";"";"BANCA DI PROVA SPA";"";"";"";"";"2024-05-17TESTITM1XXX-S000001";"";"2026-12-07";"RT_IUF_TES";"2026-12-07""#
    );
    let opi = t_block(Source::Opi, "c_x999-OPI20240520-1_0.zip", "GDC_20240520_p1.xml", "1.4", 33);
    assert_eq!(
        opi,
        r#""0012345";"";"2024-05-17";"2024-05-17";"292.00";"";"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001";"";"";"";"";"";"BANCA DI PROVA SPA";"2024-05-17TESTITM1XXX-S000001";"";"2026-12-07";"2024";"1201";"";"";"2024";"1201";"";"";"2024-05-17";"1000";"RT_IUF_TES";"2026-12-07";"";"";"";"";"""#
    );
}

const HEADER_1_2: &str = r#""codIudI";"codRpSilinviarpIdUnivocoVersamentoI";"codRpSoggPagIdUnivPagTipoIdUnivocoI";"codRpSoggPagIdUnivPagCodiceIdUnivocoI";"deRpSoggPagAnagraficaPagatoreI";"deRpSoggPagIndirizzoPagatoreI";"deRpSoggPagCivicoPagatoreI";"codRpSoggPagCapPagatoreI";"deRpSoggPagLocalitaPagatoreI";"deRpSoggPagProvinciaPagatoreI";"codRpSoggPagNazionePagatoreI";"deRpSoggPagEmailPagatoreI";"dtRpDatiVersDataEsecuzionePagamentoI";"codRpDatiVersTipoVersamentoI";"numRpDatiVersDatiSingVersImportoSingoloVersamentoI";"numRpDatiVersDatiSingVersCommissioneCaricoPaI";"deRpDatiVersDatiSingVersCausaleVersamentoI";"deRpDatiVersDatiSingVersDatiSpecificiRiscossioneI";"codTipoDovutoI";"bilancioI";"dtAcquisizioneI";"deNomeFlussoE";"numRigaFlussoE";"codIudE";"codRpSilinviarpIdUnivocoVersamentoE";"deEVersioneOggettoE";"codEDomIdDominioE";"codEDomIdStazioneRichiedenteE";"codEIdMessaggioRicevutaE";"dtEDataOraMessaggioRicevutaE";"codERiferimentoMessaggioRichiestaE";"dtERiferimentoDataRichiestaE";"codEIstitAttIdUnivAttTipoIdUnivocoE";"codEIstitAttIdUnivAttCodiceIdUnivocoE";"deEIstitAttDenominazioneAttestanteE";"codEIstitAttCodiceUnitOperAttestanteE";"deEIstitAttDenomUnitOperAttestanteE";"deEIstitAttIndirizzoAttestanteE";"deEIstitAttCivicoAttestanteE";"codEIstitAttCapAttestanteE";"deEIstitAttLocalitaAttestanteE";"deEIstitAttProvinciaAttestanteE";"codEIstitAttNazioneAttestanteE";"codEEnteBenefIdUnivBenefTipoIdUnivocoE";"codEEnteBenefIdUnivBenefCodiceIdUnivocoE";"deEEnteBenefDenominazioneBeneficiarioE";"codEEnteBenefCodiceUnitOperBeneficiarioE";"deEEnteBenefDenomUnitOperBeneficiarioE";"deEEnteBenefIndirizzoBeneficiarioE";"deEEnteBenefCivicoBeneficiarioE";"codEEnteBenefCapBeneficiarioE";"deEEnteBenefLocalitaBeneficiarioE";"deEEnteBenefProvinciaBeneficiarioE";"codEEnteBenefNazioneBeneficiarioE";"codESoggVersIdUnivVersTipoIdUnivocoE";"codESoggVersIdUnivVersCodiceIdUnivocoE";"codESoggVersAnagraficaVersanteE";"deESoggVersIndirizzoVersanteE";"deESoggVersCivicoVersanteE";"codESoggVersCapVersanteE";"deESoggVersLocalitaVersanteE";"deESoggVersProvinciaVersanteE";"codESoggVersNazioneVersanteE";"deESoggVersEmailVersanteE";"codESoggPagIdUnivPagTipoIdUnivocoE";"codESoggPagIdUnivPagCodiceIdUnivocoE";"codESoggPagAnagraficaPagatoreE";"deESoggPagIndirizzoPagatoreE";"deESoggPagCivicoPagatoreE";"codESoggPagCapPagatoreE";"deESoggPagLocalitaPagatoreE";"deESoggPagProvinciaPagatoreE";"codESoggPagNazionePagatoreE";"deESoggPagEmailPagatoreE";"codEDatiPagCodiceEsitoPagamentoE";"numEDatiPagImportoTotalePagatoE";"codEDatiPagIdUnivocoVersamentoE";"codEDatiPagCodiceContestoPagamentoE";"numEDatiPagDatiSingPagSingoloImportoPagatoE";"deEDatiPagDatiSingPagEsitoSingoloPagamentoE";"dtEDatiPagDatiSingPagDataEsitoSingoloPagamentoE";"codEDatiPagDatiSingPagIdUnivocoRiscossE";"deEDatiPagDatiSingPagCausaleVersamentoE";"deEDatiPagDatiSingPagDatiSpecificiRiscossioneE";"codTipoDovutoE";"dtAcquisizioneE";"bilancioE";"versioneOggettoR";"codIdentificativoFlussoR";"dtDataOraFlussoR";"codIdentificativoUnivocoRegolamentoR";"dtDataRegolamentoR";"codIstMittIdUnivMittTipoIdentificativoUnivocoR";"codIstMittIdUnivMittCodiceIdentificativoUnivocoR";"deIstMittDenominazioneMittenteR";"codIstRicevIdUnivRicevTipoIdentificativoUnivocoR";"codIstRicevIdUnivRicevCodiceIdentificativoUnivocoR";"deIstRicevDenominazioneRiceventeR";"numNumeroTotalePagamentiR";"numImportoTotalePagamentiR";"codDatiSingPagamIdentificativoUnivocoVersamentoR";"codDatiSingPagamIdentificativoUnivocoRiscossioneR";"numDatiSingPagamSingoloImportoPagatoR";"codDatiSingPagamCodiceEsitoSingoloPagamentoR";"dtDatiSingPagamDataEsitoSingoloPagamentoR";"dtAcquisizioneR";"codAbiT";"codCabT";"codContoTesoreria";"codDivisaT";"dtDataContabileT";"dtDataValutaT";"numImportoTesoreria";"codSegnoT";"deCausaleT";"codNumeroAssegnoT";"codRiferimentoBancaT";"codRiferimentoClienteT";"dtDataOrdineT";"deDescrizioneOrdinanteT";"codOr1T";"codIdUnivocoFlussoT";"codIdUnivocoVersamentoT";"dtAcquisizioneT";"deAnnoBollettaT";"codBollettaT";"codIdDominioT";"dtRicezioneT";"deAnnoDocumentoT";"codDocumentoT";"deAnnoProvvisorioT";"codProvvisorioT";"classificazioneCompletezza";"dtDataUltimoAggiornamento""#;
const P1_RT_IUF_TES_1_2: &str = r#""TARI-2024-000123";"01000000000012301";"F";"RSSMRA80A01H501U";"ROSSI MARIO";"";"";"";"";"";"";"mario.rossi@example.org";"2024-05-16";"PO";"150.00";"";"TARI 2024 RATA UNICA";"9/0101100IM/";"TARI";"";"2026-12-07";"_c_prova_IMPORT-DOVUTO";"1";"TARI-2024-000123";"01000000000012301";"6.2.0";"01234567897";"80012340123_01";"IUR20240516000001";"2026-12-07T10:00:00";"IUR20240516000001";"2024-05-16";"B";"TESTITM1XXX";"Banca di Prova S.p.A.";"";"";"";"";"";"";"";"";"G";"01234567897";"Comune di Prova";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"F";"RSSMRA80A01H501U";"ROSSI MARIO";"";"";"";"";"";"";"";"0";"150.00";"01000000000012301";"IUR20240516000001";"150.00";"ESEGUITO";"2024-05-16";"IUR20240516000001";"TARI 2026";"9/0101002IM/";"TARI";"2026-12-07";"";"1.0";"2024-05-17TESTITM1XXX-S000001";"2024-05-17T06:30:00";"";"2024-05-17";"B";"TESTITM1XXX";"";"G";"01234567897";"Comune di Prova";"5";"292.00";"01000000000012301";"IUR20240516000001";"150.00";"0";"2024-05-16";"2026-12-07";"";"";"";"";"2024-05-17";"2024-05-17";"292.00";"";"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001";"";"";"";"";"";"BANCA DI PROVA SPA";"2024-05-17TESTITM1XXX-S000001";"";"2026-12-07";"2024";"1201";"";"";"";"";"";"";"RT_IUF_TES";"2026-12-07""#;
const TES_NO_MATCH_1_2: &str = r#""";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"2024-05-20";"2024-05-20";"500.00";"";"BONIFICO AFFITTO LOCALI COMUNALI APRILE 2024";"";"";"";"";"";"BIANCHI LUIGI";"";"";"2026-12-07";"2024";"1205";"";"";"";"";"";"";"TES_NO_MATCH";"2026-12-07""#;
const HEADER_1_0: &str = r#""mygovManageFlussoIdI";"codIudI";"codRpSilinviarpIdUnivocoVersamentoI";"codRpSoggPagIdUnivPagTipoIdUnivocoI";"codRpSoggPagIdUnivPagCodiceIdUnivocoI";"deRpSoggPagAnagraficaPagatoreI";"deRpSoggPagIndirizzoPagatoreI";"deRpSoggPagCivicoPagatoreI";"codRpSoggPagCapPagatoreI";"deRpSoggPagLocalitaPagatoreI";"deRpSoggPagProvinciaPagatoreI";"codRpSoggPagNazionePagatoreI";"deRpSoggPagEmailPagatoreI";"dtRpDatiVersDataEsecuzionePagamentoI";"codRpDatiVersTipoVersamentoI";"numRpDatiVersDatiSingVersImportoSingoloVersamentoI";"numRpDatiVersDatiSingVersCommissioneCaricoPaI";"deRpDatiVersDatiSingVersCausaleVersamentoI";"deRpDatiVersDatiSingVersDatiSpecificiRiscossioneI";"codTipoDovutoI";"bilancioI";"dtAcquisizioneI";"mygovManageFlussoIdE";"deNomeFlussoE";"numRigaFlussoE";"codIudE";"codRpSilinviarpIdUnivocoVersamentoE";"deEVersioneOggettoE";"codEDomIdDominioE";"codEDomIdStazioneRichiedenteE";"codEIdMessaggioRicevutaE";"dtEDataOraMessaggioRicevutaE";"codERiferimentoMessaggioRichiestaE";"dtERiferimentoDataRichiestaE";"codEIstitAttIdUnivAttTipoIdUnivocoE";"codEIstitAttIdUnivAttCodiceIdUnivocoE";"deEIstitAttDenominazioneAttestanteE";"codEIstitAttCodiceUnitOperAttestanteE";"deEIstitAttDenomUnitOperAttestanteE";"deEIstitAttIndirizzoAttestanteE";"deEIstitAttCivicoAttestanteE";"codEIstitAttCapAttestanteE";"deEIstitAttLocalitaAttestanteE";"deEIstitAttProvinciaAttestanteE";"codEIstitAttNazioneAttestanteE";"codEEnteBenefIdUnivBenefTipoIdUnivocoE";"codEEnteBenefIdUnivBenefCodiceIdUnivocoE";"deEEnteBenefDenominazioneBeneficiarioE";"codEEnteBenefCodiceUnitOperBeneficiarioE";"deEEnteBenefDenomUnitOperBeneficiarioE";"deEEnteBenefIndirizzoBeneficiarioE";"deEEnteBenefCivicoBeneficiarioE";"codEEnteBenefCapBeneficiarioE";"deEEnteBenefLocalitaBeneficiarioE";"deEEnteBenefProvinciaBeneficiarioE";"codEEnteBenefNazioneBeneficiarioE";"codESoggVersIdUnivVersTipoIdUnivocoE";"codESoggVersIdUnivVersCodiceIdUnivocoE";"codESoggVersAnagraficaVersanteE";"deESoggVersIndirizzoVersanteE";"deESoggVersCivicoVersanteE";"codESoggVersCapVersanteE";"deESoggVersLocalitaVersanteE";"deESoggVersProvinciaVersanteE";"codESoggVersNazioneVersanteE";"deESoggVersEmailVersanteE";"codESoggPagIdUnivPagTipoIdUnivocoE";"codESoggPagIdUnivPagCodiceIdUnivocoE";"codESoggPagAnagraficaPagatoreE";"deESoggPagIndirizzoPagatoreE";"deESoggPagCivicoPagatoreE";"codESoggPagCapPagatoreE";"deESoggPagLocalitaPagatoreE";"deESoggPagProvinciaPagatoreE";"codESoggPagNazionePagatoreE";"deESoggPagEmailPagatoreE";"codEDatiPagCodiceEsitoPagamentoE";"numEDatiPagImportoTotalePagatoE";"codEDatiPagIdUnivocoVersamentoE";"codEDatiPagCodiceContestoPagamentoE";"numEDatiPagDatiSingPagSingoloImportoPagatoE";"deEDatiPagDatiSingPagEsitoSingoloPagamentoE";"dtEDatiPagDatiSingPagDataEsitoSingoloPagamentoE";"codEDatiPagDatiSingPagIdUnivocoRiscossE";"deEDatiPagDatiSingPagCausaleVersamentoE";"deEDatiPagDatiSingPagDatiSpecificiRiscossioneE";"codTipoDovutoE";"dtAcquisizioneE";"mygovManageFlussoIdR";"versioneOggettoR";"codIdentificativoFlussoR";"dtDataOraFlussoR";"codIdentificativoUnivocoRegolamentoR";"dtDataRegolamentoR";"codIstMittIdUnivMittTipoIdentificativoUnivocoR";"codIstMittIdUnivMittCodiceIdentificativoUnivocoR";"deIstMittDenominazioneMittenteR";"codIstRicevIdUnivRicevTipoIdentificativoUnivocoR";"codIstRicevIdUnivRicevCodiceIdentificativoUnivocoR";"deIstRicevDenominazioneRiceventeR";"numNumeroTotalePagamentiR";"numImportoTotalePagamentiR";"codDatiSingPagamIdentificativoUnivocoVersamentoR";"codDatiSingPagamIdentificativoUnivocoRiscossioneR";"numDatiSingPagamSingoloImportoPagatoR";"codDatiSingPagamCodiceEsitoSingoloPagamentoR";"dtDatiSingPagamDataEsitoSingoloPagamentoR";"dtAcquisizioneR";"mygovManageFlussoIdT";"codAbiT";"codCabT";"codContoTesoreria";"codDivisaT";"dtDataContabileT";"dtDataValutaT";"numImportoTesoreria";"codSegnoT";"deCausaleT";"codNumeroAssegnoT";"codRiferimentoBancaT";"codRiferimentoClienteT";"dtDataOrdineT";"deDescrizioneOrdinanteT";"codBi2T";"codBe1T";"codIb1T";"codIb2T";"codIb4T";"codTidT";"codDteT";"codDtnT";"codEriT";"codIm2T";"codMa2T";"codRi3T";"codOr1T";"codSc2T";"codTr1T";"codSecT";"codIorT";"codIdUnivocoFlussoT";"codIdUnivocoVersamentoT";"dtAcquisizioneT";"classificazioneCompletezza";"dtDataUltimoAggiornamento""#;
const IUV_NO_RT_1_0: &str = r#""";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"1.0";"2024-05-17TESTITM1XXX-S000001";"2024-05-17T06:30:00";"";"2024-05-17";"B";"TESTITM1XXX";"";"G";"01234567897";"Comune di Prova";"5";"292.00";"01000000000012305";"IUR20240516000005";"30.00";"0";"2024-05-16";"2026-12-07";"";"";"";"";"";"2024-05-17";"2024-05-17";"292.00";"";"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-17TESTITM1XXX-S000001";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"BANCA DI PROVA SPA";"";"";"";"";"2024-05-17TESTITM1XXX-S000001";"";"2026-12-07";"IUV_NO_RT";"2026-12-07""#;
const RT_TES_1_0: &str = r#""";"MENSA-2024-000045";"01000000000012303";"F";"BNCLGU75D12L219K";"BIANCHI LUIGI";"";"";"";"";"";"";"";"2024-05-16";"CP";"45.50";"";"MENSA SCOLASTICA MAGGIO";"9/0301109AP/";"MENSA_SCOLASTICA";"";"2026-12-07";"";"_c_prova_IMPORT-DOVUTO";"1";"MENSA-2024-000045";"01000000000012303";"6.2.0";"01234567897";"80012340123_01";"IUR20240516000003";"2026-12-07T10:00:00";"IUR20240516000003";"2024-05-16";"B";"TESTITM1XXX";"Banca di Prova S.p.A.";"";"";"";"";"";"";"";"";"G";"01234567897";"Comune di Prova";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"F";"RSSMRA80A01H501U";"ROSSI MARIO";"";"";"";"";"";"";"";"0";"45.50";"01000000000012303";"IUR20240516000003";"45.50";"ESEGUITO";"2024-05-16";"IUR20240516000003";"TARI 2026";"9/0101002IM/";"TARI";"2026-12-07";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"2024-05-17";"2024-05-17";"45.50";"";"/RFB/01000000000012303/45.50/TXT/MENSA SCOLASTICA MAGGIO";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"BANCA DI PROVA SPA";"";"";"";"";"";"01000000000012303";"2026-12-07";"RT_TES";"2026-12-07""#;
const HEADER_1_4: &str = r#""codIudI";"codRpSilinviarpIdUnivocoVersamentoI";"codRpSoggPagIdUnivPagTipoIdUnivocoI";"codRpSoggPagIdUnivPagCodiceIdUnivocoI";"deRpSoggPagAnagraficaPagatoreI";"deRpSoggPagIndirizzoPagatoreI";"deRpSoggPagCivicoPagatoreI";"codRpSoggPagCapPagatoreI";"deRpSoggPagLocalitaPagatoreI";"deRpSoggPagProvinciaPagatoreI";"codRpSoggPagNazionePagatoreI";"deRpSoggPagEmailPagatoreI";"dtRpDatiVersDataEsecuzionePagamentoI";"codRpDatiVersTipoVersamentoI";"numRpDatiVersDatiSingVersImportoSingoloVersamentoI";"numRpDatiVersDatiSingVersCommissioneCaricoPaI";"deRpDatiVersDatiSingVersCausaleVersamentoI";"deRpDatiVersDatiSingVersDatiSpecificiRiscossioneI";"codTipoDovutoI";"bilancioI";"dtAcquisizioneI";"deNomeFlussoE";"numRigaFlussoE";"codIudE";"codRpSilinviarpIdUnivocoVersamentoE";"deEVersioneOggettoE";"codEDomIdDominioE";"codEDomIdStazioneRichiedenteE";"codEIdMessaggioRicevutaE";"dtEDataOraMessaggioRicevutaE";"codERiferimentoMessaggioRichiestaE";"dtERiferimentoDataRichiestaE";"codEIstitAttIdUnivAttTipoIdUnivocoE";"codEIstitAttIdUnivAttCodiceIdUnivocoE";"deEIstitAttDenominazioneAttestanteE";"codEIstitAttCodiceUnitOperAttestanteE";"deEIstitAttDenomUnitOperAttestanteE";"deEIstitAttIndirizzoAttestanteE";"deEIstitAttCivicoAttestanteE";"codEIstitAttCapAttestanteE";"deEIstitAttLocalitaAttestanteE";"deEIstitAttProvinciaAttestanteE";"codEIstitAttNazioneAttestanteE";"codEEnteBenefIdUnivBenefTipoIdUnivocoE";"codEEnteBenefIdUnivBenefCodiceIdUnivocoE";"deEEnteBenefDenominazioneBeneficiarioE";"codEEnteBenefCodiceUnitOperBeneficiarioE";"deEEnteBenefDenomUnitOperBeneficiarioE";"deEEnteBenefIndirizzoBeneficiarioE";"deEEnteBenefCivicoBeneficiarioE";"codEEnteBenefCapBeneficiarioE";"deEEnteBenefLocalitaBeneficiarioE";"deEEnteBenefProvinciaBeneficiarioE";"codEEnteBenefNazioneBeneficiarioE";"codESoggVersIdUnivVersTipoIdUnivocoE";"codESoggVersIdUnivVersCodiceIdUnivocoE";"codESoggVersAnagraficaVersanteE";"deESoggVersIndirizzoVersanteE";"deESoggVersCivicoVersanteE";"codESoggVersCapVersanteE";"deESoggVersLocalitaVersanteE";"deESoggVersProvinciaVersanteE";"codESoggVersNazioneVersanteE";"deESoggVersEmailVersanteE";"codESoggPagIdUnivPagTipoIdUnivocoE";"codESoggPagIdUnivPagCodiceIdUnivocoE";"codESoggPagAnagraficaPagatoreE";"deESoggPagIndirizzoPagatoreE";"deESoggPagCivicoPagatoreE";"codESoggPagCapPagatoreE";"deESoggPagLocalitaPagatoreE";"deESoggPagProvinciaPagatoreE";"codESoggPagNazionePagatoreE";"deESoggPagEmailPagatoreE";"codEDatiPagCodiceEsitoPagamentoE";"numEDatiPagImportoTotalePagatoE";"codEDatiPagIdUnivocoVersamentoE";"codEDatiPagCodiceContestoPagamentoE";"numEDatiPagDatiSingPagSingoloImportoPagatoE";"deEDatiPagDatiSingPagEsitoSingoloPagamentoE";"dtEDatiPagDatiSingPagDataEsitoSingoloPagamentoE";"codEDatiPagDatiSingPagIdUnivocoRiscossE";"deEDatiPagDatiSingPagCausaleVersamentoE";"deEDatiPagDatiSingPagDatiSpecificiRiscossioneE";"codTipoDovutoE";"dtAcquisizioneE";"bilancioE";"versioneOggettoR";"codIdentificativoFlussoR";"dtDataOraFlussoR";"codIdentificativoUnivocoRegolamentoR";"dtDataRegolamentoR";"codIstMittIdUnivMittTipoIdentificativoUnivocoR";"codIstMittIdUnivMittCodiceIdentificativoUnivocoR";"deIstMittDenominazioneMittenteR";"codIstRicevIdUnivRicevTipoIdentificativoUnivocoR";"codIstRicevIdUnivRicevCodiceIdentificativoUnivocoR";"deIstRicevDenominazioneRiceventeR";"numNumeroTotalePagamentiR";"numImportoTotalePagamentiR";"codDatiSingPagamIdentificativoUnivocoVersamentoR";"codDatiSingPagamIdentificativoUnivocoRiscossioneR";"numDatiSingPagamSingoloImportoPagatoR";"codDatiSingPagamCodiceEsitoSingoloPagamentoR";"dtDatiSingPagamDataEsitoSingoloPagamentoR";"dtAcquisizioneR";"codAbiT";"codCabT";"codContoTesoreria";"codDivisaT";"dtDataContabileT";"dtDataValutaT";"numImportoTesoreria";"codSegnoT";"deCausaleT";"codNumeroAssegnoT";"codRiferimentoBancaT";"codRiferimentoClienteT";"dtDataOrdineT";"deDescrizioneOrdinanteT";"codOr1T";"codIdUnivocoFlussoT";"codIdUnivocoVersamentoT";"dtAcquisizioneT";"deAnnoBollettaT";"codBollettaT";"codIdDominioT";"dtRicezioneT";"deAnnoDocumentoT";"codDocumentoT";"deAnnoProvvisorioT";"codProvvisorioT";"dt_effettiva_sospeso_t";"codice_gestionale_provvisorio_t";"classificazioneCompletezza";"dtDataUltimoAggiornamento";"cod_tipo_dovuto_pa1";"de_tipo_dovuto_pa1";"cod_tassonomico_dovuto_pa1";"cod_fiscale_pa1";"de_nome_pa1""#;
const DIV_IMP_1_4: &str = r#""TARI-2024-000125";"01000000000012309";"F";"GLLMRC70H10A944N";"GIALLI MARCO";"";"";"";"";"";"";"";"2024-05-17";"BBT";"60.00";"1.00";"TARI 2024 RATA UNICA";"9/0101100IM/";"TARI";"";"2026-12-07";"_c_prova_IMPORT-DOVUTO";"1";"TARI-2024-000125";"01000000000012309";"6.2.0";"01234567897";"80012340123_01";"IUR20240517000009";"2026-12-07T10:00:00";"IUR20240517000009";"2024-05-17";"B";"TESTITM1XXX";"Banca di Prova S.p.A.";"";"";"";"";"";"";"";"";"G";"01234567897";"Comune di Prova";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"F";"RSSMRA80A01H501U";"ROSSI MARIO";"";"";"";"";"";"";"";"0";"60.00";"01000000000012309";"IUR20240517000009";"60.00";"ESEGUITO";"2024-05-17";"IUR20240517000009";"TARI 2026";"9/0101002IM/";"TARI";"2026-12-07";"";"1.0";"2024-05-18TESTITM1XXX-S000002";"2024-05-18T06:30:00";"";"2024-05-18";"B";"TESTITM1XXX";"";"G";"01234567897";"Comune di Prova";"1";"60.00";"01000000000012309";"IUR20240517000009";"60.00";"0";"2024-05-16";"2026-12-07";"";"";"";"";"2024-05-18";"2024-05-18";"59.50";"";"/PUR/LGPE- RIVERSAMENTO/URI/2024-05-18TESTITM1XXX-S000002";"";"";"";"";"";"BANCA DI PROVA SPA";"2024-05-18TESTITM1XXX-S000002";"";"2026-12-07";"2024";"1203";"";"";"";"";"";"";"";"";"IUF_TES_DIV_IMP";"2026-12-07";"";"";"";"";"""#;
const HEADER_1_4_P4PA: &str = r#""de_nome_flusso_e";"num_riga_flusso_e";"cod_iud_e";"cod_rp_silinviarp_id_univoco_versamento_e";"de_e_versione_oggetto_e";"cod_e_dom_id_dominio_e";"cod_e_dom_id_stazione_richiedente_e";"cod_e_id_messaggio_ricevuta_e";"dt_e_data_ora_messaggio_ricevuta_e";"cod_e_riferimento_messaggio_richiesta_e";"dt_e_riferimento_data_richiesta_e";"cod_e_istit_att_id_univ_att_tipo_id_univoco_e";"cod_e_istit_att_id_univ_att_codice_id_univoco_e";"de_e_istit_att_denominazione_attestante_e";"cod_e_istit_att_codice_unit_oper_attestante_e";"de_e_istit_att_denom_unit_oper_attestante_e";"de_e_istit_att_indirizzo_attestante_e";"de_e_istit_att_civico_attestante_e";"cod_e_istit_att_cap_attestante_e";"de_e_istit_att_localita_attestante_e";"de_e_istit_att_provincia_attestante_e";"cod_e_istit_att_nazione_attestante_e";"cod_e_ente_benef_id_univ_benef_tipo_id_univoco_e";"cod_e_ente_benef_id_univ_benef_codice_id_univoco_e";"de_e_ente_benef_denominazione_beneficiario_e";"cod_e_ente_benef_codice_unit_oper_beneficiario_e";"de_e_ente_benef_denom_unit_oper_beneficiario_e";"de_e_ente_benef_indirizzo_beneficiario_e";"de_e_ente_benef_civico_beneficiario_e";"cod_e_ente_benef_cap_beneficiario_e";"de_e_ente_benef_localita_beneficiario_e";"de_e_ente_benef_provincia_beneficiario_e";"cod_e_ente_benef_nazione_beneficiario_e";"cod_e_sogg_vers_id_univ_vers_tipo_id_univoco_e";"cod_e_sogg_vers_id_univ_vers_codice_id_univoco_e";"cod_e_sogg_vers_anagrafica_versante_e";"de_e_sogg_vers_indirizzo_versante_e";"de_e_sogg_vers_civico_versante_e";"cod_e_sogg_vers_cap_versante_e";"de_e_sogg_vers_localita_versante_e";"de_e_sogg_vers_provincia_versante_e";"cod_e_sogg_vers_nazione_versante_e";"de_e_sogg_vers_email_versante_e";"cod_e_sogg_pag_id_univ_pag_tipo_id_univoco_e";"cod_e_sogg_pag_id_univ_pag_codice_id_univoco_e";"cod_e_sogg_pag_anagrafica_pagatore_e";"de_e_sogg_pag_indirizzo_pagatore_e";"de_e_sogg_pag_civico_pagatore_e";"cod_e_sogg_pag_cap_pagatore_e";"de_e_sogg_pag_localita_pagatore_e";"de_e_sogg_pag_provincia_pagatore_e";"cod_e_sogg_pag_nazione_pagatore_e";"de_e_sogg_pag_email_pagatore_e";"cod_e_dati_pag_codice_esito_pagamento_e";"num_e_dati_pag_importo_totale_pagato_e";"cod_e_dati_pag_id_univoco_versamento_e";"cod_e_dati_pag_codice_contesto_pagamento_e";"num_e_dati_pag_dati_sing_pag_singolo_importo_pagato_e";"de_e_dati_pag_dati_sing_pag_esito_singolo_pagamento_e";"dt_e_dati_pag_dati_sing_pag_data_esito_singolo_pagamento_e";"cod_e_dati_pag_dati_sing_pag_id_univoco_riscoss_e";"de_e_dati_pag_dati_sing_pag_causale_versamento_e";"de_e_dati_pag_dati_sing_pag_dati_specifici_riscossione_e";"cod_tipo_dovuto_e";"dt_acquisizione_e";"bilancioE";"versione_oggetto_r";"cod_identificativo_flusso_r";"dt_data_ora_flusso_r";"cod_identificativo_univoco_regolamento_r";"dt_data_regolamento_r";"cod_ist_mitt_id_univ_mitt_tipo_identificativo_univoco_r";"cod_ist_mitt_id_univ_mitt_codice_identificativo_univoco_r";"de_ist_mitt_denominazione_mittente_r";"cod_ist_ricev_id_univ_ricev_tipo_identificativo_univoco_r";"cod_ist_ricev_id_univ_ricev_codice_identificativo_univoco_r";"de_ist_ricev_denominazione_ricevente_r";"num_numero_totale_pagamenti_r";"num_importo_totale_pagamenti_r";"cod_dati_sing_pagam_identificativo_univoco_versamento_r";"cod_dati_sing_pagam_identificativo_univoco_riscossione_r";"num_dati_sing_pagam_singolo_importo_pagato_r";"cod_dati_sing_pagam_codice_esito_singolo_pagamento_r";"dt_dati_sing_pagam_data_esito_singolo_pagamento_r";"dt_acquisizione_r";"cod_abi_t";"cod_cab_t";"cod_conto_tesoreria";"cod_divisa_t";"dt_data_contabile_t";"dt_data_valuta_t";"num_importo_tesoreria";"cod_segno_t";"de_causale_t";"cod_numero_assegno_t";"cod_riferimento_banca_t";"cod_riferimento_cliente_t";"dt_data_ordine_t";"de_descrizione_ordinante_t";"cod_or1_t";"cod_id_univoco_flusso_t";"cod_id_univoco_versamento_t";"dt_acquisizione_t";"de_anno_bolletta_t";"cod_bolletta_t";"cod_id_dominio_t";"dt_ricezione_t";"de_anno_documento_t";"cod_documento_t";"de_anno_provvisorio_t";"cod_provvisorio_t";"dt_effettiva_sospeso_t";"codice_gestionale_provvisorio_t";"classificazione_completezza";"dt_data_ultimo_aggiornamento";"cod_iud_i";"cod_rp_silinviarp_id_univoco_versamento_i";"cod_rp_sogg_pag_id_univ_pag_tipo_id_univoco_i";"cod_rp_sogg_pag_id_univ_pag_codice_id_univoco_i";"de_rp_sogg_pag_anagrafica_pagatore_i";"de_rp_sogg_pag_indirizzo_pagatore_i";"de_rp_sogg_pag_civico_pagatore_i";"cod_rp_sogg_pag_cap_pagatore_i";"de_rp_sogg_pag_localita_pagatore_i";"de_rp_sogg_pag_provincia_pagatore_i";"cod_rp_sogg_pag_nazione_pagatore_i";"de_rp_sogg_pag_email_pagatore_i";"dt_rp_dati_vers_data_esecuzione_pagamento_i";"cod_rp_dati_vers_tipo_versamento_i";"num_rp_dati_vers_dati_sing_vers_importo_singolo_versamento_i";"num_rp_dati_vers_dati_sing_vers_commissione_carico_pa_i";"de_rp_dati_vers_dati_sing_vers_causale_versamento_i";"de_rp_dati_vers_dati_sing_vers_dati_specifici_riscossione_i";"cod_tipo_dovuto_i";"bilancio_i";"dt_acquisizione_i";"cod_tipo_dovuto_pa1";"de_tipo_dovuto_pa1";"cod_tassonomico_dovuto_pa1";"cod_fiscale_pa1";"de_nome_pa1""#;
const IUD_NO_RT_1_4_P4PA: &str = r#""";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"IUD_NO_RT";"2026-12-07";"TARI-2024-000124";"01000000000012304";"F";"BLUGNN60T10H501Z";"BLU GIOVANNI";"";"";"";"";"";"";"";"2024-05-16";"PO";"99.00";"";"TARI 2024 RATA UNICA";"9/0101100IM/";"TARI";"";"2026-12-07";"";"";"";"";"""#;
const S_ROW_1_4: &str = r#""DOVUTO_MULTIBENEF_RECEIPT";"1";"";"01000000000012701";"6.2.0";"80012340123";"80012340123_01";"IUR-MB-1";"2026-12-07T10:00:00";"IUR-MB-1";"2024-05-16";"B";"TESTITM1XXX";"Banca di Prova S.p.A.";"";"";"";"";"";"";"";"";"G";"80012340123";"Unione dei Comuni";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"F";"RSSMRA80A01H501U";"ROSSI MARIO";"";"";"";"";"";"";"";"0";"25.00";"01000000000012701";"IUR-MB-1";"25.00";"ESEGUITO";"2024-05-16";"IUR-MB-1";"TARI 2026";"9/0201133IM/";"EXPORT_ENTE_SECONDARIO";"2026-12-07";"";"1.0";"2024-05-20TESTITM1XXX-S000042";"2024-05-20T06:30:00";"";"2024-05-20";"B";"TESTITM1XXX";"";"G";"80012340123";"Unione dei Comuni";"1";"25.00";"01000000000012701";"IUR-MB-1";"25.00";"0";"2024-05-16";"2026-12-07";"";"";"0012345";"";"2024-05-20";"2024-05-20";"25.00";"";"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20TESTITM1XXX-S000042";"";"";"";"";"";"BANCA DI PROVA SPA";"2024-05-20TESTITM1XXX-S000042";"";"2026-12-07";"2024";"1301";"";"";"";"";"";"";"";"";"RT_IUF_TES";"2026-12-07";"TARI";"TARI";"0101002IM";"01234567897";"Comune di Prova""#;
const POSTE_1_1: &str = r#""";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"1.0";"";"";"";"";"B";"BPPIITRRXXX";"";"G";"01234567897";"Comune di Prova";"";"";"";"0000000123456789";"150.00";"0";"2024-05-16";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"";"IUV_NO_RT";"""#;
