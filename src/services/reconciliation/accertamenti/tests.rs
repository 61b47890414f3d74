//! The registry import with §7.9, headers' states, and payments booked once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::Write;

use super::*;
use crate::domain::Cents;
use crate::flows::accertamenti_registry::tests::FIXTURE_7_9;
use crate::services::admin::debt_types::{DebtTypeChanges, add_debt_type};
use crate::services::reconciliation::notes::tests::journalled;
use crate::services::testkit::{FISCAL_CODE, IPA, Kit};
use crate::store::receipts::{self, ReceiptRecord, ReceiptTransferRecord};

/// The kit with the debt types of §7.9 besides TARI.
fn kit() -> Kit {
    let kit = Kit::new();
    for (code, taxonomy) in [("MENSA_SCOLASTICA", "0301109AP"), ("CDS", "0201103SA")] {
        let changes = DebtTypeChanges {
            description: Some(code.to_owned()),
            taxonomy_code: Some(taxonomy.to_owned()),
            ..DebtTypeChanges::default()
        };
        add_debt_type(&kit.db, "test", IPA, code, &changes, kit.now).unwrap();
    }
    kit
}

/// The fixture's CSV, for the kit's org, in a ZIP named as MyPivot wants it.
fn upload(dir: &Path, name: &str, csv: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{IPA}-{name}-1_0.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(format!("{IPA}-{name}-1_0.csv"), zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.finish().unwrap();
    path
}

fn import(kit: &Kit, access: &OrgAccess, name: &str, csv: &str) -> Result<RegistryImport, RegistryImportError> {
    let dir = tempfile::tempdir().unwrap();
    let path = upload(dir.path(), name, csv);
    import_registry(&kit.db, access, &path, &format!("{IPA}-{name}-1_0.zip"), kit.now)
}

/// The lines of §7.9 without the last (the D of an entry never inserted).
fn first_four() -> String {
    FIXTURE_7_9.lines().take(5).map(|l| format!("{l}\n")).collect()
}

#[test]
fn the_fixture_of_7_9_rolls_back_at_its_delete_of_a_missing_entry() {
    let kit = kit();
    let access = kit.admin_access();
    let err = import(&kit, &access, "ANAGRAFICA", FIXTURE_7_9).unwrap_err();
    assert_eq!(err.to_string(), "Errore di conversione alla linea 6: la voce da cancellare non esiste");
    assert!(registry(&kit.db, &access).unwrap().is_empty(), "nothing of the file is kept");
    assert_eq!(journalled(&kit, "accertamenti.registry_import"), 0);

    let done = import(&kit, &access, "ANAGRAFICA", &first_four()).unwrap();
    assert_eq!(done, RegistryImport { inserted: 4, deleted: 0 });
    let entries = registry(&kit.db, &access).unwrap();
    let pm = entries.iter().find(|e| e.entry.office_code == "PM").unwrap();
    assert_eq!((pm.entry.accertamento_code.as_str(), pm.entry.accertamento_name.as_deref()), ("n/a", None));
    assert_eq!(pm.entry.debt_type_code, "CDS");
    assert_eq!(journalled(&kit, "accertamenti.registry_import"), 1);

    // Once 2023/88 exists, the fixture's D removes it; the I lines before it now exist already.
    let header = FIXTURE_7_9.lines().next().unwrap();
    let insert_2023 = FIXTURE_7_9.lines().nth(5).unwrap().replace("\"D\"", "\"I\"");
    import(&kit, &access, "ARRETRATI", &format!("{header}\n{insert_2023}\n")).unwrap();
    assert_eq!(registry(&kit.db, &access).unwrap().len(), 5);
    let err = import(&kit, &access, "ANAGRAFICA", FIXTURE_7_9).unwrap_err();
    assert_eq!(err.to_string(), "Errore di conversione alla linea 2: la voce esiste già");
    let delete = FIXTURE_7_9.lines().nth(5).unwrap();
    let done = import(&kit, &access, "PULIZIA", &format!("{header}\n{delete}\n")).unwrap();
    assert_eq!(done, RegistryImport { inserted: 0, deleted: 1 });
    assert_eq!(registry(&kit.db, &access).unwrap().len(), 4);
}

#[test]
fn names_must_match_the_registered_ones_and_debt_types_be_the_operators() {
    let kit = kit();
    let access = kit.admin_access();
    import(&kit, &access, "ANAGRAFICA", &first_four()).unwrap();
    let header = FIXTURE_7_9.lines().next().unwrap();
    let line = |fields: &str| format!("{header}\n{fields}\n");
    let other_office_name =
        line("\"TRIB\";\"Tributi\";\"true\";\"1012\";\"TARI - altro\";\"2024\";\"\";\"\";\"TARI\";\"I\"");
    assert_eq!(
        import(&kit, &access, "X", &other_office_name).unwrap_err().to_string(),
        "Errore di conversione alla linea 2: la descrizione di cod_ufficio TRIB differisce da quella registrata"
    );
    let other_chapter_name =
        line("\"TRIB\";\"Ufficio Tributi\";\"true\";\"1010\";\"TARI\";\"2024\";\"2024/109\";\"\";\"TARI\";\"I\"");
    assert!(import(&kit, &access, "X", &other_chapter_name).unwrap_err().to_string().contains("cod_capitolo 1010"));
    let unknown_type = line("\"IMU\";\"Ufficio IMU\";\"true\";\"2010\";\"IMU\";\"2024\";\"\";\"\";\"IMU\";\"I\"");
    assert_eq!(
        import(&kit, &access, "X", &unknown_type).unwrap_err().to_string(),
        "Errore di conversione alla linea 2: il tipo dovuto IMU non esiste o non è abilitato per l'operatore"
    );
    let blind = OrgAccess { admin: false, allowed_types: Some(Vec::new()), ..access.clone() };
    let cert = line("\"ANAG\";\"Anagrafe\";\"true\";\"3050\";\"Diritti\";\"2024\";\"\";\"\";\"CERT\";\"I\"");
    assert!(matches!(import(&kit, &blind, "X", &cert), Err(RegistryImportError::Line(LineError { line: 2, .. }))));
    assert_eq!(import(&kit, &access, "X", &cert).unwrap().inserted, 1);
    // The file's own rules come first: its name.
    let dir = tempfile::tempdir().unwrap();
    let path = upload(dir.path(), "X", &cert);
    let wrong_name = import_registry(&kit.db, &access, &path, "c_altro-X-1_0.zip", kit.now).unwrap_err();
    assert!(matches!(wrong_name, RegistryImportError::File(RegistryFileError::Name { .. })), "{wrong_name}");
}

/// A paying receipt of a new TARI debt of `cents`, with one transfer to the kit's org.
fn paid(kit: &Kit, iud: &str, cents: i64, receipt_id: &str) -> TransferKey {
    paid_at(kit, iud, cents, receipt_id, kit.now.today().into())
}

fn paid_at(kit: &Kit, iud: &str, cents: i64, receipt_id: &str, day: crate::domain::Day) -> TransferKey {
    receipt_of(kit, &kit.debt(iud, cents), cents, receipt_id, day)
}

/// A paying receipt of `debt` (`cents`, one transfer to the kit's org) on outcome `day`.
fn receipt_of(
    kit: &Kit,
    debt: &crate::store::debts::DebtRecord,
    cents: i64,
    receipt_id: &str,
    day: crate::domain::Day,
) -> TransferKey {
    stored_receipt(kit, debt, cents, receipt_id, day, false).0
}

/// [`receipt_of`], held for review when `held`; with the receipt's row id.
fn stored_receipt(
    kit: &Kit,
    debt: &crate::store::debts::DebtRecord,
    cents: i64,
    receipt_id: &str,
    day: crate::domain::Day,
    held: bool,
) -> (TransferKey, i64) {
    let iuv = debt.iuv.as_ref().unwrap().as_str().to_owned();
    let receipt = ReceiptRecord {
        org_id: debt.org_id,
        debt_id: Some(debt.id),
        receipt_id: receipt_id.to_owned(),
        iuv: iuv.clone(),
        outcome: "OK".to_owned(),
        amount_cents: Cents::new(cents),
        primitive: "paSendRTV2".to_owned(),
        payment_date: day,
        debtor: crate::domain::Party { id: "RSSMRA85T10A562S".to_owned(), ..crate::domain::Party::default() },
        transfers: vec![ReceiptTransferRecord {
            index: 1,
            amount_cents: Cents::new(cents),
            fiscal_code: FISCAL_CODE.to_owned(),
            remittance: "TARI".to_owned(),
            category: "9/0101100IM/".to_owned(),
            ..ReceiptTransferRecord::default()
        }],
        held,
        ..ReceiptRecord::default()
    };
    let row = kit.db.write(|tx| receipts::insert_receipt(tx, &receipt, &kit.now.iso())).unwrap();
    (TransferKey { iuv, iur: receipt_id.to_owned(), transfer_index: 1 }, row)
}

fn tari_2024() -> BookingTarget {
    BookingTarget { office_code: "TRIB".into(), chapter_code: "1010".into(), accertamento_code: "2024/101".into() }
}

#[test]
fn a_payment_is_booked_whole_once_and_closing_needs_one() {
    let kit = kit();
    let access = kit.admin_access();
    import(&kit, &access, "ANAGRAFICA", &first_four()).unwrap();
    let key = paid(&kit, "TARI-2024-000123", 15_000, "IUR20240516000001");

    let empty = create(&kit.db, &access, "TARI", "TARI maggio 2024", kit.now).unwrap();
    assert_eq!(empty.state, AccertamentoState::Inserito);
    let err = change_state(&kit.db, &access, empty.id, AccertamentoState::Chiuso, kit.now).unwrap_err();
    assert!(matches!(err, ServiceError::Conflict(_)), "CHIUSO needs a detail: {err}");

    let detail = assign(&kit.db, &access, empty.id, &key, &tari_2024(), kit.now).unwrap();
    assert_eq!((detail.amount, detail.iud.as_deref()), (Cents::new(15_000), Some("TARI-2024-000123")));
    assert_eq!(detail.target, tari_2024());

    // Not twice: neither in the same accertamento nor in another one not ANNULLATO.
    let other = create(&kit.db, &access, "TARI", "TARI bis", kit.now).unwrap();
    let err = assign(&kit.db, &access, other.id, &key, &tari_2024(), kit.now).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("IUV {} IUR IUR20240516000001 transfer 1 is already booked in accertamento {}", key.iuv, empty.id)
    );
    assert!(assign(&kit.db, &access, empty.id, &key, &tari_2024(), kit.now).is_err());

    let closed = change_state(&kit.db, &access, empty.id, AccertamentoState::Chiuso, kit.now).unwrap();
    assert_eq!(closed.state, AccertamentoState::Chiuso);
    for to in [AccertamentoState::Annullato, AccertamentoState::Inserito] {
        assert!(change_state(&kit.db, &access, empty.id, to, kit.now).is_err(), "only INSERITO changes");
    }
    let second = paid(&kit, "TARI-2024-000124", 9_900, "IUR20240516000004");
    assert!(matches!(
        assign(&kit.db, &access, empty.id, &second, &tari_2024(), kit.now),
        Err(ServiceError::Conflict(_))
    ));

    // An ANNULLATO accertamento frees its payments.
    let third = paid(&kit, "TARI-2024-000125", 6_000, "IUR20240517000009");
    assign(&kit.db, &access, other.id, &third, &tari_2024(), kit.now).unwrap();
    change_state(&kit.db, &access, other.id, AccertamentoState::Annullato, kit.now).unwrap();
    let again = create(&kit.db, &access, "TARI", "TARI ter", kit.now).unwrap();
    assign(&kit.db, &access, again.id, &third, &tari_2024(), kit.now).unwrap();
    let (_, details) = get(&kit.db, &access, again.id).unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(list(&kit.db, &access).unwrap().len(), 3);
    assert_eq!(journalled(&kit, "accertamento.assign"), 3);
    assert_eq!(journalled(&kit, "accertamento.state"), 2);
}

#[test]
fn only_a_paid_transfer_of_the_debt_type_goes_to_an_active_entry_of_it() {
    let kit = kit();
    let access = kit.admin_access();
    import(&kit, &access, "ANAGRAFICA", &first_four()).unwrap();
    let key = paid(&kit, "TARI-2024-000123", 15_000, "IUR20240516000001");
    let mensa = create(&kit.db, &access, "MENSA_SCOLASTICA", "Mensa", kit.now).unwrap();
    let target = BookingTarget {
        office_code: "SCUOLA".into(),
        chapter_code: "3010".into(),
        accertamento_code: "2024/15".into(),
    };
    let err = assign(&kit.db, &access, mensa.id, &key, &target, kit.now).unwrap_err();
    assert!(err.to_string().contains("is not a payment of debt type MENSA_SCOLASTICA"), "{err}");

    let tari = create(&kit.db, &access, "TARI", "TARI", kit.now).unwrap();
    let err = assign(&kit.db, &access, tari.id, &key, &target, kit.now).unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(_)), "SCUOLA/3010 is MENSA_SCOLASTICA's: {err}");
    let unknown = TransferKey { transfer_index: 2, ..key.clone() };
    assert!(matches!(
        assign(&kit.db, &access, tari.id, &unknown, &tari_2024(), kit.now),
        Err(ServiceError::NotFound(_))
    ));

    assert!(matches!(create(&kit.db, &access, "IMU", "x", kit.now), Err(ServiceError::NotFound(_))));
    assert!(matches!(create(&kit.db, &access, "TARI", " ", kit.now), Err(ServiceError::Invalid { .. })));
    let blind = OrgAccess { admin: false, allowed_types: Some(Vec::new()), ..access.clone() };
    assert!(list(&kit.db, &blind).unwrap().is_empty());
    assert!(matches!(get(&kit.db, &blind, tari.id), Err(ServiceError::NotFound(_))));
}

/// [`paid`] with its outcome on `day`.
fn paid_on(kit: &Kit, iud: &str, cents: i64, receipt_id: &str, day: &str) -> TransferKey {
    paid_at(kit, iud, cents, receipt_id, crate::domain::Day::parse(day).unwrap())
}

#[test]
fn the_insertable_payments_are_filtered_paged_and_booked_all_or_none() {
    use payments::{FilterInput, PAGE_SIZE, assign_all, filter_of, insertable, totals};
    let kit = kit();
    let access = kit.admin_access();
    import(&kit, &access, "ANAGRAFICA", &first_four()).unwrap();
    let may = paid_on(&kit, "TARI-2024-000123", 15_000, "IUR20240516000001", "2024-05-16");
    let june = paid_on(&kit, "TARI-2024-000124", 9_900, "IUR20240601000002", "2024-06-01");
    let tari = create(&kit.db, &access, "TARI", "TARI 2024", kit.now).unwrap();
    let all = filter_of(&FilterInput::default()).unwrap();
    let keys = |page: &payments::InsertablePage| page.payments.iter().map(|p| p.key.clone()).collect::<Vec<_>>();
    let found = insertable(&kit.db, &access, tari.id, &all, 1).unwrap();
    assert_eq!((keys(&found), found.more), (vec![june.clone(), may.clone()], false), "newest first");

    let by =
        |input: FilterInput<'_>| keys(&insertable(&kit.db, &access, tari.id, &filter_of(&input).unwrap(), 1).unwrap());
    assert_eq!(by(FilterInput { iud: "TARI-2024-000123", ..FilterInput::default() }), std::slice::from_ref(&may));
    assert_eq!(by(FilterInput { iuv: &june.iuv, ..FilterInput::default() }), std::slice::from_ref(&june));
    assert_eq!(by(FilterInput { fiscal_code: "rssmra85t10a562s", ..FilterInput::default() }).len(), 2);
    assert_eq!(by(FilterInput { fiscal_code: "VRDLGU80A01F205X", ..FilterInput::default() }), []);
    assert_eq!(
        by(FilterInput { from: "2024-05-17", to: "2024-06-01", ..FilterInput::default() }),
        std::slice::from_ref(&june)
    );
    assert!(filter_of(&FilterInput { from: "2024-06-02", to: "2024-06-01", ..FilterInput::default() }).is_err());
    assert!(filter_of(&FilterInput { from: "16/05/2024", ..FilterInput::default() }).is_err());
    assert!(filter_of(&FilterInput { iuv: &"1".repeat(36), ..FilterInput::default() }).is_err());

    // A refused payment (unknown) books none of the others.
    let unknown = TransferKey { transfer_index: 2, ..may.clone() };
    let err = assign_all(&kit.db, &access, tari.id, &[may.clone(), unknown], &tari_2024(), kit.now).unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(_)), "{err}");
    assert_eq!(journalled(&kit, "accertamento.assign"), 0);
    assert_eq!(assign_all(&kit.db, &access, tari.id, &[may.clone(), june.clone()], &tari_2024(), kit.now).unwrap(), 2);
    assert!(insertable(&kit.db, &access, tari.id, &all, 1).unwrap().payments.is_empty(), "booked ones leave");
    let sum = totals(&kit.db, &access).unwrap()[&tari.id];
    assert_eq!((sum.count, sum.amount), (2, Cents::new(24_900)));
    assert!(assign_all(&kit.db, &access, tari.id, &[], &tari_2024(), kit.now).is_err());

    // Pages of PAGE_SIZE: one more payment than a page makes a second page of one.
    let other = create(&kit.db, &access, "TARI", "TARI giugno", kit.now).unwrap();
    for n in 0..=PAGE_SIZE {
        paid_on(&kit, &format!("TARI-P-{n:03}"), 100, &format!("IURP{n:03}"), "2024-07-01");
    }
    let first = insertable(&kit.db, &access, other.id, &all, 1).unwrap();
    assert_eq!((first.payments.len(), first.more), (PAGE_SIZE as usize, true));
    let second = insertable(&kit.db, &access, other.id, &all, 2).unwrap();
    assert_eq!((second.payments.len(), second.more), (1, false));
}

#[test]
fn an_uploaded_registry_is_read_within_its_budget_and_removed() {
    let kit = kit();
    let access = kit.admin_access();
    let files = tempfile::tempdir().unwrap();
    let zip = std::fs::read(upload(files.path(), "ANAGRAFICA", &first_four())).unwrap();
    let tmp = files.path().join("tmp");
    let name = format!("{IPA}-ANAGRAFICA-1_0.zip");
    let done = payments::import_upload(&kit.db, &access, &tmp, &name, &mut &zip[..], kit.now).unwrap();
    assert_eq!(done, RegistryImport { inserted: 4, deleted: 0 });
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "no file left behind");
    let big = vec![0u8; usize::try_from(payments::REGISTRY_UPLOAD_MAX_BYTES).unwrap() + 1];
    let err = payments::import_upload(&kit.db, &access, &tmp, &name, &mut &big[..], kit.now).unwrap_err();
    assert!(matches!(err, payments::UploadError::TooLarge), "{err}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

/// A TARI debt of `cents` whose `bilancio` splits it as `lines` (office, chapter, assessment, amount).
fn debt_with_bilancio(
    kit: &Kit,
    iud: &str,
    cents: i64,
    lines: &[(&str, &str, &str, &str)],
) -> crate::store::debts::DebtRecord {
    let mut xml = String::from("<bilancio>");
    for (office, chapter, assessment, amount) in lines {
        xml.push_str(&format!("<capitolo><codCapitolo>{chapter}</codCapitolo>"));
        if !office.is_empty() {
            xml.push_str(&format!("<codUfficio>{office}</codUfficio>"));
        }
        xml.push_str("<accertamento>");
        if !assessment.is_empty() {
            xml.push_str(&format!("<codAccertamento>{assessment}</codAccertamento>"));
        }
        xml.push_str(&format!("<importo>{amount}</importo></accertamento></capitolo>"));
    }
    xml.push_str("</bilancio>");
    let mut fields = crate::services::testkit::tari_fields(iud, cents);
    fields.bilancio =
        crate::domain::debt_row::BilancioField::Read { xml, amounts: lines.iter().map(|l| l.3.to_owned()).collect() };
    crate::services::debts::add_debt(&kit.db, "test", IPA, &fields, crate::services::debts::Source::Cli, kit.now)
        .unwrap()
}

#[test]
fn receipts_are_booked_automatically_by_their_bilancio_once() {
    use auto::{AutoBooked, book_new, header_name};
    let kit = kit();
    let access = kit.admin_access();
    let one_tari: String = FIXTURE_7_9.lines().take(2).map(|l| format!("{l}\n")).collect();
    import(&kit, &access, "ANAGRAFICA", &one_tari).unwrap();
    let org_id = access.org.id;
    let day = crate::domain::Day::parse("2024-05-16").unwrap();
    // No bilancio, and TARI has one active entry (TRIB/1010/2024/101; it comes first,
    // before the split below registers a second one): booked whole.
    let plain = paid_on(&kit, "TARI-N-1", 3_000, "IUR-N-1", "2024-05-16");
    let split = debt_with_bilancio(
        &kit,
        "TARI-B-1",
        12_050,
        &[("TRIB", "1010", "2024/101", "100.00"), ("", "9999", "", "20.50")],
    );
    let key = receipt_of(&kit, &split, 12_050, "IUR-B-1", day);
    // A bilancio that does not add up to the transfer is left to operators.
    let odd = debt_with_bilancio(&kit, "TARI-B-2", 5_000, &[("TRIB", "1010", "2024/101", "50.00")]);
    let odd_key = receipt_of(&kit, &odd, 4_000, "IUR-B-2", day);

    let done = book_new(&kit.db, org_id, kit.now, &|| false).unwrap();
    assert_eq!(done, AutoBooked { transfers: 2, details: 3, headers: 1, registered: 1 });
    let headers = list(&kit.db, &access).unwrap();
    assert_eq!(headers.len(), 1);
    let header = &headers[0];
    assert_eq!(
        (header.name.as_str(), header.state, header.created_by.as_str()),
        ("RICEVUTE_20240516_TARI", AccertamentoState::Chiuso, "system")
    );
    assert_eq!(header_name(day, "TARI"), header.name);
    let (_, details) = get(&kit.db, &access, header.id).unwrap();
    let booked: Vec<_> = details
        .iter()
        .map(|d| {
            (
                d.key.iuv.as_str(),
                d.target.office_code.as_str(),
                d.target.chapter_code.as_str(),
                d.target.accertamento_code.as_str(),
                d.amount.get(),
            )
        })
        .collect();
    assert_eq!(
        booked,
        [
            (plain.iuv.as_str(), "TRIB", "1010", "2024/101", 3_000),
            (key.iuv.as_str(), "TRIB", "1010", "2024/101", 10_000),
            (key.iuv.as_str(), "n/a", "9999", "n/a", 2_050),
        ]
    );
    let registered = registry(&kit.db, &access).unwrap();
    let new = registered.iter().find(|r| r.entry.chapter_code == "9999").unwrap();
    assert_eq!((new.entry.debt_type_code.as_str(), new.entry.year.as_str(), new.entry.active), ("TARI", "2024", true));
    assert_eq!(journalled(&kit, "accertamento.auto_assign"), 2);

    // Again: nothing (each receipt is considered once, and a booked transfer is never booked twice).
    assert_eq!(book_new(&kit.db, org_id, kit.now, &|| false).unwrap(), AutoBooked::default());
    // Now TARI has two active entries (9999 was registered): a new receipt without bilancio is left to operators.
    let later = paid_on(&kit, "TARI-N-2", 1_000, "IUR-N-2", "2024-05-16");
    let done = book_new(&kit.db, org_id, kit.now, &|| false).unwrap();
    assert_eq!(done.transfers, 0);
    let manual = create(&kit.db, &access, "TARI", "TARI a mano", kit.now).unwrap();
    let all = payments::filter_of(&payments::FilterInput::default()).unwrap();
    let insertable: Vec<_> = payments::insertable(&kit.db, &access, manual.id, &all, 1)
        .unwrap()
        .payments
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(insertable, [later], "the odd bilancio is not insertable by hand either (it carries one); {odd_key:?}");
}

#[test]
fn a_held_receipt_is_booked_automatically_once_when_an_admin_accepts_it() {
    use crate::services::payments::anomalies::{self, Resolution};
    use auto::{AutoBooked, book_new, book_released};
    let kit = kit();
    let access = kit.admin_access();
    let one_tari: String = FIXTURE_7_9.lines().take(2).map(|l| format!("{l}\n")).collect();
    import(&kit, &access, "ANAGRAFICA", &one_tari).unwrap();
    let org_id = access.org.id;
    let day = crate::domain::Day::parse("2024-05-16").unwrap();
    let debt = kit.debt("TARI-H-1", 3_000);
    let (key, row) = stored_receipt(&kit, &debt, 3_000, "IUR-H-1", day, true);
    let details = crate::store::anomalies::receipt_details(&[]);
    let anomaly = crate::store::anomalies::NewAnomaly {
        org_id,
        kind: crate::store::anomalies::RECEIPT_MISMATCH,
        object_kind: "receipt",
        object_id: row,
        details: &details,
    };
    kit.db.write(|tx| crate::store::anomalies::insert_anomaly(tx, &anomaly, &kit.now.iso())).unwrap();

    // Held: the cursor passes it, nothing booked.
    assert_eq!(book_new(&kit.db, org_id, kit.now, &|| false).unwrap(), AutoBooked::default());
    assert!(list(&kit.db, &access).unwrap().is_empty());

    let open = anomalies::list(&kit.db, &access, true).unwrap();
    assert_eq!(open.len(), 1);
    anomalies::resolve(&kit.db, &access, open[0].record.id, Resolution::Accept, "confermata dal PSP", kit.now).unwrap();
    let headers = list(&kit.db, &access).unwrap();
    assert_eq!(headers.len(), 1);
    assert_eq!((headers[0].name.as_str(), headers[0].state), ("RICEVUTE_20240516_TARI", AccertamentoState::Chiuso));
    let (_, booked) = get(&kit.db, &access, headers[0].id).unwrap();
    let booked: Vec<_> = booked.iter().map(|d| (d.key.clone(), d.target.clone(), d.amount.get())).collect();
    assert_eq!(booked, [(key, tari_2024(), 3_000)]);
    assert_eq!(journalled(&kit, "accertamento.auto_assign"), 1);

    // Once: neither the cursor nor a second release books it again.
    assert_eq!(book_new(&kit.db, org_id, kit.now, &|| false).unwrap(), AutoBooked::default());
    assert_eq!(kit.db.write(|tx| book_released(tx, row, kit.now)).unwrap(), AutoBooked::default());
    assert_eq!(get(&kit.db, &access, headers[0].id).unwrap().1.len(), 1);
    assert_eq!(journalled(&kit, "accertamento.auto_assign"), 1);
}
