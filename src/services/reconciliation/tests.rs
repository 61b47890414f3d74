//! The fixtures of mypivot.md §7 (built by hand, and the files of `tests/fixtures/recon/` read by
//! `flows::recon`), their labels of §7.10 and DOPPI, the fixes of §8 this side owns (b, c, d, f, h, j), and the properties:
//! order of arrival, reloads, a label for every transfer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
pub(super) mod inputs;
use crate::domain::reconciliation::{Bolletta, PaymentNotification, Source, TreasuryEvent, TreasuryMovement};
use crate::domain::{Cents, Day, Party};
use crate::flows::recon::Item;
use crate::services::testkit::{FISCAL_CODE, IPA, Kit};
use crate::store::receipts::{ReceiptRecord, ReceiptTransferRecord, insert_receipt};
use crate::store::reporting::{ReportingFlowRecord, ReportingFlowState, ReportingPaymentRecord, insert_flow};

pub(super) const FDR1: &str = "2024-05-17TESTITM1XXX-S000001";
pub(super) const FDR2: &str = "2024-05-18TESTITM1XXX-S000002";
pub(super) const FDR3: &str = "2024-05-19ALTRITM2XXX-S000003";

pub(super) fn iuv(n: u32) -> String {
    format!("01000000000012{n:03}")
}

pub(super) fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

/// A paying receipt of the kit's org for `iuv`, one transfer per amount, paying the debt `iud`.
pub(super) fn receipt(kit: &Kit, iuv: &str, iur: &str, transfers: &[i64], iud: Option<&str>, paid_on: &str) {
    let record = receipt_record(kit, iuv, iur, transfers, iud, paid_on);
    kit.db.write(|tx| insert_receipt(tx, &record, &kit.now.iso())).unwrap();
}

/// The record [`receipt`] stores: every transfer to the kit's org, with its IBAN.
pub(super) fn receipt_record(
    kit: &Kit,
    iuv: &str,
    iur: &str,
    transfers: &[i64],
    iud: Option<&str>,
    paid_on: &str,
) -> ReceiptRecord {
    let org_id = kit.db.read(|c| crate::store::orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap().id;
    let total: i64 = transfers.iter().sum();
    let debt_id = iud.map(|iud| kit.debt(iud, total).id);
    ReceiptRecord {
        org_id,
        debt_id,
        receipt_id: iur.to_owned(),
        notice_number: format!("3{iuv}"),
        iuv: iuv.to_owned(),
        outcome: "OK".to_owned(),
        amount_cents: Cents::new(total),
        description: "pagamento".to_owned(),
        company_name: "Comune di Prova".to_owned(),
        debtor: Party {
            kind: "F".to_owned(),
            id: "RSSMRA80A01H501U".to_owned(),
            name: "ROSSI MARIO".to_owned(),
            ..Party::default()
        },
        psp_id: "TESTITM1XXX".to_owned(),
        psp_company_name: "Banca di Prova S.p.A.".to_owned(),
        channel_id: "TESTITM1XXX_01".to_owned(),
        channel_description: "canale".to_owned(),
        payment_date: day(paid_on),
        primitive: "paSendRTV2".to_owned(),
        request_xml: "<x/>".to_owned(),
        transfers: (1i64..)
            .zip(transfers)
            .map(|(index, cents)| ReceiptTransferRecord {
                index,
                amount_cents: Cents::new(*cents),
                fiscal_code: FISCAL_CODE.to_owned(),
                iban: Some(crate::services::testkit::IBAN.to_owned()),
                remittance: "pagamento".to_owned(),
                category: "9/0101100IM/".to_owned(),
                ..ReceiptTransferRecord::default()
            })
            .collect(),
        ..ReceiptRecord::default()
    }
}

/// A reporting flow of `org_ipa` with rows (IUV, IUR, index, cents, outcome); returns its id.
pub(super) fn flow(
    kit: &Kit,
    org_ipa: &str,
    iuf: &str,
    total: i64,
    rows: &[(&str, &str, Option<i64>, i64, &str)],
) -> i64 {
    let record = flow_record(kit, org_ipa, iuf, total, rows);
    kit.db.write(|tx| insert_flow(tx, &record, &kit.now.iso())).unwrap()
}

/// The record [`flow`] stores.
pub(super) fn flow_record(
    kit: &Kit,
    org_ipa: &str,
    iuf: &str,
    total: i64,
    rows: &[(&str, &str, Option<i64>, i64, &str)],
) -> ReportingFlowRecord {
    let org_id = kit.db.read(|c| crate::store::orgs::find_org_by_ipa(c, org_ipa)).unwrap().unwrap().id;
    ReportingFlowRecord {
        org_id,
        iuf: iuf.to_owned(),
        revision: 1,
        psp_id: iuf.get(10..21).unwrap_or("TESTITM1XXX").to_owned(),
        flow_date: Some(format!("{}T06:30:00", &iuf[..10])),
        settlement_date: Some(iuf[..10].to_owned()),
        total_payments: Some(i64::try_from(rows.len()).unwrap()),
        total_amount_cents: Some(Cents::new(total)),
        state: ReportingFlowState::Acquired,
        source: "SOAP".to_owned(),
        payments: rows
            .iter()
            .map(|(iuv, iur, index, cents, outcome)| ReportingPaymentRecord {
                iuv: (*iuv).to_owned(),
                iur: (*iur).to_owned(),
                transfer_index: *index,
                amount_cents: Cents::new(*cents),
                outcome_code: (*outcome).to_owned(),
                outcome_date: "2024-05-16".to_owned(),
            })
            .collect(),
        ..ReportingFlowRecord::default()
    }
}

pub(super) fn notification(iud: &str, iuv: &str, cents: i64, paid_on: &str) -> Item {
    Item::Notification(Box::new(PaymentNotification {
        iud: iud.to_owned(),
        iuv: iuv.to_owned(),
        payer: Party {
            kind: "F".to_owned(),
            id: "RSSMRA80A01H501U".to_owned(),
            name: "ROSSI MARIO".to_owned(),
            ..Party::default()
        },
        paid_on: day(paid_on),
        amount: Cents::new(cents),
        fee: None,
        debt_type: "TARI".to_owned(),
        payment_kind: "PO".to_owned(),
        causale: "TARI 2024 RATA UNICA".to_owned(),
        collection_data: "9/0101100IM/".to_owned(),
        bilancio: None,
    }))
}

/// A movement as a C or O reader gives it (bolletta 2024/`number`); T and Y have none.
pub(super) fn movement(
    source: Source,
    number: Option<u32>,
    booked: &str,
    cents: i64,
    iuf: Option<&str>,
    iuv: Option<&str>,
) -> TreasuryMovement {
    TreasuryMovement {
        source,
        bolletta: number.map(|n| Bolletta { year: 2024, number: n.to_string() }),
        account: Some("0012345".to_owned()),
        booking_day: day(booked),
        value_day: Some(day(booked)),
        amount: Cents::new(cents),
        causale: match (iuf, iuv) {
            (Some(iuf), _) => format!("/PUR/LGPE-RIVERSAMENTO/URI/{iuf}"),
            (None, Some(iuv)) => format!("/RFB/{iuv}/{}/TXT/PAGAMENTO", Cents::new(cents).to_decimal_string()),
            (None, None) => "BONIFICO AFFITTO LOCALI COMUNALI APRILE 2024".to_owned(),
        },
        payer_name: Some("BANCA DI PROVA SPA".to_owned()),
        iuf: iuf.map(str::to_owned),
        iuv: iuv.map(str::to_owned),
        end_to_end_id: None,
        document: None,
        provisional: None,
        bank: None,
    }
}

pub(super) fn treasury(m: TreasuryMovement) -> Item {
    Item::Treasury(TreasuryEvent::Movement(Box::new(m)))
}

/// §7.4 (C) as its reader gives it; row 6 is the reader's reject.
pub(super) fn cash_journal() -> Vec<Item> {
    let c = Source::CashJournal;
    vec![
        treasury(movement(c, Some(1201), "2024-05-17", 29200, Some(FDR1), None)),
        treasury(movement(c, Some(1202), "2024-05-17", 4550, None, Some(&iuv(303)))),
        treasury(movement(c, Some(1203), "2024-05-18", 5950, Some(FDR2), None)),
        treasury(movement(c, Some(1204), "2024-05-20", 9900, Some(FDR3), None)),
        treasury(movement(c, Some(1205), "2024-05-20", 50000, None, None)),
        Item::Rejected(crate::flows::recon::RejectedRow {
            line: 7,
            fields: vec!["24".to_owned(), "12060000".to_owned()],
            message: "|de_anno_bolletta [24] non valido|cod_bolletta [12060000] non valido".to_owned(),
        }),
    ]
}

/// §7.1 (D) as its reader gives it (row 6 is refused by the reader, left out here).
pub(super) fn notifications() -> Vec<Item> {
    vec![
        notification("TARI-2024-000123", &iuv(301), 15000, "2024-05-16"),
        notification("MENSA-2024-000045", &iuv(303), 4550, "2024-05-16"),
        notification("TARI-2024-000124", &iuv(304), 9900, "2024-05-16"),
        notification("CDS-2024-000007", &iuv(308), 2500, "2024-05-16"),
        notification("TARI-2024-000125", &iuv(309), 6000, "2024-05-17"),
    ]
}

/// §7.2 (E): the receipts mypay stored.
pub(super) fn receipts(kit: &Kit) {
    receipt(kit, &iuv(301), "IUR20240516000001", &[15000], Some("TARI-2024-000123"), "2024-05-16");
    receipt(kit, &iuv(302), "IUR20240516000002", &[8000], Some("TARI-2024-000126"), "2024-05-16");
    receipt(kit, &iuv(303), "IUR20240516000003", &[4550], Some("MENSA-2024-000045"), "2024-05-16");
    receipt(kit, &iuv(308), "IUR20240516000008", &[2500], Some("CDS-2024-000007"), "2024-05-16");
    receipt(kit, &iuv(309), "IUR20240517000009", &[6000], Some("TARI-2024-000125"), "2024-05-17");
}

/// §7.3 (R): the two flows.
pub(super) fn flow1(kit: &Kit) {
    let (a, b, c, d, e) = (iuv(301), iuv(302), iuv(305), iuv(306), iuv(308));
    flow(
        kit,
        IPA,
        FDR1,
        29200,
        &[
            (&a, "IUR20240516000001", Some(1), 15000, "0"),
            (&b, "IUR20240516000002", Some(1), 8000, "0"),
            (&c, "IUR20240516000005", Some(1), 3000, "0"),
            (&d, "IUR20240516000006", Some(1), 1200, "9"),
            (&e, "IUR20240516000008", Some(1), 2000, "0"),
        ],
    );
}

pub(super) fn flow2(kit: &Kit) {
    flow(kit, IPA, FDR2, 6000, &[(&iuv(309), "IUR20240517000009", Some(1), 6000, "0")]);
}

pub(super) fn both_flags(kit: &Kit) {
    set_settings(&kit.db, IPA, Some(true), Some(true), "test", kit.now).unwrap();
}

pub(super) fn catch_up(kit: &Kit) {
    let org_id = kit.db.read(|c| crate::store::orgs::find_org_by_ipa(c, IPA)).unwrap().unwrap().id;
    reconcile_pending(&kit.db, org_id, &|| false).unwrap();
}

/// The classification as (key, labels): the key is IUV/IUR/index, or `mov:<causale's first word>
/// <amount>` for a movement's own row.
pub(super) fn snapshot(kit: &Kit) -> BTreeMap<String, Vec<&'static str>> {
    catch_up(kit);
    list(&kit.db, IPA, Filter::default())
        .unwrap()
        .into_iter()
        .map(|item| {
            let key = match item.movement_id {
                Some(_) => format!("mov:{}:{}", item.iuf.or(item.iuv).unwrap_or_default(), item.amount),
                None => format!(
                    "{}/{}/{}",
                    item.iuv.unwrap_or_default(),
                    item.iur.unwrap_or_else(|| item.iud.unwrap_or_default()),
                    item.transfer_index.map(|i| i.to_string()).unwrap_or_default()
                ),
            };
            (key, item.labels.iter().map(|l| l.code()).collect())
        })
        .collect()
}

pub(super) fn expected_7_10() -> BTreeMap<String, Vec<&'static str>> {
    let mut m = BTreeMap::new();
    let mut put = |k: String, v: &[&'static str]| {
        m.insert(k, v.to_vec());
    };
    put(format!("{}/IUR20240516000001/1", iuv(301)), &["IUD_RT_IUF_TES", "IUD_RT_IUF", "RT_IUF_TES", "RT_IUF"]);
    put(format!("{}/IUR20240516000002/1", iuv(302)), &["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"]);
    put(format!("{}/IUR20240516000003/1", iuv(303)), &["IUD_RT_IUF_TES", "RT_TES"]);
    put(format!("{}/TARI-2024-000124/", iuv(304)), &["IUD_NO_RT"]);
    put(format!("{}/IUR20240516000005/1", iuv(305)), &["IUV_NO_RT"]);
    put(format!("{}/IUR20240516000006/1", iuv(306)), &["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"]);
    put(format!("{}/IUR20240516000008/1", iuv(308)), &["RT_NO_IUF"]);
    put(format!("{}/IUR20240517000009/1", iuv(309)), &["IUD_RT_IUF", "RT_IUF", "IUF_TES_DIV_IMP"]);
    put(format!("mov:{FDR3}:9900"), &["TES_NO_IUF_OR_IUV"]);
    put("mov::50000".to_owned(), &["TES_NO_MATCH"]);
    m
}

/// Everything of §7, treasury from the giornale di cassa (7.4).
pub(crate) fn all_of_7(kit: &Kit) {
    both_flags(kit);
    receipts(kit);
    flow1(kit);
    flow2(kit);
    load_items(&kit.db, IPA, notifications(), kit.now).unwrap();
    load_items(&kit.db, IPA, cash_journal(), kit.now).unwrap();
}

#[test]
fn the_fixtures_of_7_yield_the_labels_of_7_10() {
    let kit = Kit::new();
    all_of_7(&kit);
    assert_eq!(snapshot(&kit), expected_7_10());
    // From scratch, the same.
    rebuild(&kit.db, IPA, &|| false).unwrap();
    assert_eq!(snapshot(&kit), expected_7_10());
}

#[test]
fn the_treasury_from_opi_or_bank_movements_gives_the_same_labels() {
    // 7.6: the same bollette as OPI; 7.5: bank movements (§8 f: its keyless row kept).
    for source in [Source::Opi, Source::BankMovements] {
        let kit = Kit::new();
        both_flags(&kit);
        receipts(&kit);
        flow1(&kit);
        flow2(&kit);
        load_items(&kit.db, IPA, notifications(), kit.now).unwrap();
        let items: Vec<Item> = cash_journal()
            .into_iter()
            .filter_map(|item| match item {
                Item::Treasury(TreasuryEvent::Movement(mut m)) => {
                    m.source = source;
                    if source == Source::BankMovements {
                        m.bolletta = None;
                    }
                    Some(treasury(*m))
                }
                _ => None,
            })
            .collect();
        load_items(&kit.db, IPA, items, kit.now).unwrap();
        assert_eq!(snapshot(&kit), expected_7_10(), "{source:?}");
    }
}

/// The items of fixture file `name` of `tests/fixtures/recon/`, zipped as uploaded under
/// `zip_name` and read by `flows::recon` for the org of §7 (refused rows left out).
pub(super) fn file_items(source: Source, zip_name: &str, name: &str) -> Vec<Item> {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(zip_name);
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon").join(name));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let entry = match source {
        Source::Opi => name.to_owned(),
        _ => format!("{}.{}", zip_name.trim_end_matches(".zip"), name.rsplit('.').next().unwrap()),
    };
    zip.start_file(entry, zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&bytes.unwrap()).unwrap();
    zip.finish().unwrap();
    let org = crate::flows::recon::OrgRef { ipa: "c_x999", fiscal_code: "80012340123" };
    let mut items = Vec::new();
    crate::flows::recon::read(source, zip_name, &path, org, Default::default(), |item| {
        if !matches!(item, Item::Rejected(_)) {
            items.push(item);
        }
        Ok::<_, std::convert::Infallible>(())
    })
    .unwrap();
    items
}

#[test]
fn the_fixture_files_of_7_yield_the_labels_of_7_10() {
    // Notifications of 7.1 and the treasury of 7.4 (C), 7.6 (O) or 7.5 (T), as files.
    let treasuries = [
        (Source::CashJournal, "c_x999-GDC20240520-1_0.zip", "c_x999-GDC20240520-1_0.csv"),
        (Source::Opi, "c_x999-OPI20240520-1_0.zip", "GDC_20240520_p1.xml"),
        (Source::BankMovements, "c_x999-MOVCC20240520-1_0.zip", "c_x999-MOVCC20240520-1_0.xls"),
    ];
    for (source, zip_name, name) in treasuries {
        let kit = Kit::new();
        both_flags(&kit);
        receipts(&kit);
        flow1(&kit);
        flow2(&kit);
        let notified = file_items(Source::Notification, "c_x999-NOTIF20240517-1_0.zip", "c_x999-NOTIF20240517-1_0.csv");
        assert_eq!(notified.len(), 5, "7.1: rows 1-5 read, row 6 refused");
        load_items(&kit.db, IPA, notified, kit.now).unwrap();
        load_items(&kit.db, IPA, file_items(source, zip_name, name), kit.now).unwrap();
        assert_eq!(snapshot(&kit), expected_7_10(), "{source:?}");
    }
}

#[test]
fn doppi_lists_both_rows_of_an_iuv_paid_and_paid_without_rpt() {
    let kit = Kit::new();
    both_flags(&kit);
    receipts(&kit);
    let (a, b, c, d, e) = (iuv(301), iuv(302), iuv(305), iuv(306), iuv(308));
    flow(
        &kit,
        IPA,
        FDR1,
        44200,
        &[
            (&a, "IUR20240516000001", Some(1), 15000, "0"),
            (&b, "IUR20240516000002", Some(1), 8000, "0"),
            (&c, "IUR20240516000005", Some(1), 3000, "0"),
            (&d, "IUR20240516000006", Some(1), 1200, "9"),
            (&e, "IUR20240516000008", Some(1), 2000, "0"),
            (&a, "IUR20240516000099", Some(1), 15000, "9"),
        ],
    );
    let snap = snapshot(&kit);
    let doppi: Vec<&String> = snap.iter().filter(|(_, labels)| labels.contains(&"DOPPI")).map(|(k, _)| k).collect();
    assert_eq!(
        doppi,
        [&format!("{a}/IUR20240516000001/1"), &format!("{a}/IUR20240516000099/1")],
        "both FdR rows of …301, and only they"
    );
    let only = list(&kit.db, IPA, Filter { label: Some(Label::Doppi), ..Filter::default() }).unwrap();
    assert_eq!(only.len(), 2, "DOPPI is listed (and exported) like any label (§8 i)");
}

/// §8 b: MyPivot joins a treasury IUF to the FdR rows of every org; here only the org's own.
#[test]
fn treasury_joins_only_the_flows_of_its_own_org() {
    let kit = Kit::new();
    both_flags(&kit);
    crate::services::admin::orgs::add_org(
        &kit.db,
        "test",
        "c_other",
        &crate::services::admin::orgs::OrgChanges {
            fiscal_code: Some("00000000000".to_owned()),
            name: Some("Altro Comune".to_owned()),
            segregation_code: Some("02".to_owned()),
            ..Default::default()
        },
        kit.now,
    )
    .unwrap();
    // The other org received a flow whose IUF our treasury names.
    flow(&kit, "c_other", FDR3, 9900, &[(&iuv(401), "IUR-OTHER-1", Some(1), 9900, "0")]);
    load_items(
        &kit.db,
        IPA,
        vec![treasury(movement(Source::CashJournal, Some(1204), "2024-05-20", 9900, Some(FDR3), None))],
        kit.now,
    )
    .unwrap();
    let snap = snapshot(&kit);
    assert_eq!(snap.get(&format!("mov:{FDR3}:9900")).unwrap(), &vec!["TES_NO_IUF_OR_IUV"]);
    assert_eq!(snap.len(), 1, "the other org's row is not ours: {snap:?}");
}

/// §8 c: no "since 1 January of last year" window: a payment of 2019 still reconciles.
#[test]
fn old_payments_are_reconciled_too() {
    let kit = Kit::new();
    both_flags(&kit);
    receipt(&kit, &iuv(501), "IUR2019", &[1000], None, "2019-01-10");
    flow(&kit, IPA, "2019-01-11TESTITM1XXX-S000001", 1000, &[(&iuv(501), "IUR2019", Some(1), 1000, "0")]);
    load_items(
        &kit.db,
        IPA,
        vec![treasury(movement(
            Source::CashJournal,
            Some(7),
            "2019-01-11",
            1000,
            Some("2019-01-11TESTITM1XXX-S000001"),
            None,
        ))],
        kit.now,
    )
    .unwrap();
    let snap = snapshot(&kit);
    assert_eq!(snap[&format!("{}/IUR2019/1", iuv(501))], ["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"]);
}

/// §8 d: MyPivot keeps one RT row per IUV (its update matches on ente and IUV); here each IUR and
/// transfer index is its own row.
#[test]
fn transfers_are_keyed_by_iuv_iur_and_index() {
    let kit = Kit::new();
    both_flags(&kit);
    // Paid twice (two IURs), reported once.
    receipt(&kit, &iuv(601), "IUR-A", &[1000], None, "2024-05-16");
    receipt(&kit, &iuv(601), "IUR-B", &[1000], None, "2024-05-16");
    // Two transfers of one receipt, both reported.
    receipt(&kit, &iuv(602), "IUR-C", &[7000, 3000], None, "2024-05-16");
    flow(
        &kit,
        IPA,
        FDR1,
        11000,
        &[
            (&iuv(601), "IUR-A", Some(1), 1000, "0"),
            (&iuv(602), "IUR-C", Some(1), 7000, "0"),
            (&iuv(602), "IUR-C", Some(2), 3000, "0"),
        ],
    );
    let snap = snapshot(&kit);
    assert_eq!(snap[&format!("{}/IUR-A/1", iuv(601))], ["RT_IUF", "RT_NO_IUD", "IUF_NO_TES"]);
    assert_eq!(snap[&format!("{}/IUR-B/1", iuv(601))], ["RT_NO_IUF", "RT_NO_IUD"]);
    assert_eq!(snap[&format!("{}/IUR-C/1", iuv(602))], ["RT_IUF", "RT_NO_IUD", "IUF_NO_TES"]);
    assert_eq!(snap[&format!("{}/IUR-C/2", iuv(602))], ["RT_IUF", "RT_NO_IUD", "IUF_NO_TES"]);
}

/// §8 f: a bank movement without keys is kept as TES_NO_MATCH (MyPivot drops it to SCARTI).
#[test]
fn a_keyless_bank_movement_is_kept_as_an_unknown_transfer() {
    let kit = Kit::new();
    both_flags(&kit);
    let loaded = load_items(
        &kit.db,
        IPA,
        vec![treasury(movement(Source::BankMovements, None, "2024-05-20", 50000, None, None))],
        kit.now,
    )
    .unwrap();
    assert_eq!(loaded.counts.accepted, 1);
    assert_eq!(snapshot(&kit)["mov::50000"], ["TES_NO_MATCH"]);
}

/// §8 h: outcome 8 is an implicit receipt like 9 (MyPivot made one for 9 only: IUV_NO_RT).
#[test]
fn outcome_8_is_paid_without_rpt_like_9() {
    let kit = Kit::new();
    both_flags(&kit);
    receipt(&kit, &iuv(701), "IUR-0", &[2000], None, "2024-05-16");
    flow(
        &kit,
        IPA,
        FDR1,
        6000,
        &[
            (&iuv(701), "IUR-0", Some(1), 2000, "0"),
            (&iuv(701), "IUR-8", Some(1), 2000, "8"),
            (&iuv(702), "IUR-8B", Some(1), 2000, "8"),
        ],
    );
    let snap = snapshot(&kit);
    assert_eq!(snap[&format!("{}/IUR-8B/1", iuv(702))], ["RT_IUF", "RT_NO_IUD", "IUF_NO_TES"]);
    assert!(snap[&format!("{}/IUR-8/1", iuv(701))].contains(&"DOPPI"));
    assert!(snap[&format!("{}/IUR-0/1", iuv(701))].contains(&"DOPPI"));
}

/// §8 j: the same movement from the giornale di cassa and the bank's sheet is noted, and joins
/// as one amount (the labels do not change).
#[test]
fn the_same_movement_from_two_treasury_sources_is_warned_about() {
    let kit = Kit::new();
    all_of_7(&kit);
    let twin = movement(Source::BankMovements, None, "2024-05-17", 29200, Some(FDR1), None);
    let loaded = load_items(&kit.db, IPA, vec![treasury(twin)], kit.now).unwrap();
    assert_eq!(loaded.counts.warnings, 1);
    assert_eq!(snapshot(&kit), expected_7_10());
}

#[test]
fn a_later_bolletta_replaces_and_a_reversal_deletes() {
    let kit = Kit::new();
    all_of_7(&kit);
    // 1203 carried 59.50 for a flow of 60.00: corrected by a later file.
    let fixed = movement(Source::Opi, Some(1203), "2024-05-18", 6000, Some(FDR2), None);
    load_items(&kit.db, IPA, vec![treasury(fixed)], kit.now).unwrap();
    let snap = snapshot(&kit);
    assert_eq!(
        snap[&format!("{}/IUR20240517000009/1", iuv(309))],
        ["IUD_RT_IUF_TES", "IUD_RT_IUF", "RT_IUF_TES", "RT_IUF"]
    );
    // The puntuale movement of …303 reversed: its receipt is no longer transferred.
    let reversal = Item::Treasury(TreasuryEvent::Reversal(Bolletta { year: 2024, number: "1202".to_owned() }));
    let unknown = Item::Treasury(TreasuryEvent::Reversal(Bolletta { year: 2024, number: "1190".to_owned() }));
    let loaded = load_items(&kit.db, IPA, vec![reversal, unknown], kit.now).unwrap();
    assert_eq!((loaded.counts.accepted, loaded.counts.rejected), (1, 1));
    assert_eq!(loaded.rejected[0].message, loader::REVERSAL_UNKNOWN);
    assert_eq!(snapshot(&kit)[&format!("{}/IUR20240516000003/1", iuv(303))], ["RT_NO_IUF"]);
}

#[test]
fn the_flags_decide_which_labels_apply() {
    let kit = Kit::new();
    all_of_7(&kit);
    set_settings(&kit.db, IPA, Some(false), None, "test", kit.now).unwrap();
    let snap = snapshot(&kit);
    assert!(!snap.contains_key(&format!("{}/TARI-2024-000124/", iuv(304))), "no notifications without pagati");
    assert_eq!(snap[&format!("{}/IUR20240516000002/1", iuv(302))], ["RT_IUF_TES", "RT_IUF"]);
    set_settings(&kit.db, IPA, Some(true), Some(false), "test", kit.now).unwrap();
    let snap = snapshot(&kit);
    assert!(!snap.contains_key("mov::50000"), "no treasury without tesoreria");
    assert_eq!(snap[&format!("{}/IUR20240516000005/1", iuv(305))], ["IUV_NO_RT"]);
    assert_eq!(snap[&format!("{}/IUR20240516000003/1", iuv(303))], ["RT_NO_IUF"]);
}

#[test]
fn counts_and_amounts_per_label_per_month() {
    let kit = Kit::new();
    all_of_7(&kit);
    let months = label_months(&kit.db, IPA, Some(day("2024-05-01")), Some(day("2024-05-31"))).unwrap();
    let rt_iuf = months.iter().find(|m| m.label == Label::RtIuf).unwrap();
    // …301 150.00, …302 80.00, …306 12.00, …309 60.00.
    assert_eq!((rt_iuf.month.as_str(), rt_iuf.count, rt_iuf.amount), ("2024-05", 4, Cents::new(30200)));
    let none = label_months(&kit.db, IPA, Some(day("2024-06-01")), None).unwrap();
    assert!(none.is_empty());
    let drill = list(&kit.db, IPA, Filter { label: Some(Label::TesNoMatch), ..Filter::default() }).unwrap();
    assert_eq!(drill.len(), 1);
    assert!(drill[0].movement_id.is_some(), "a movement's row leads to its movement");
}

/// A new receipt is noted by the store's trigger and classified by the job the server queues.
#[test]
fn arrivals_from_other_services_are_classified_by_a_job() {
    let kit = Kit::new();
    all_of_7(&kit);
    catch_up(&kit);
    assert_eq!(schedule(&kit.db, kit.now).unwrap(), 0, "nothing pending");
    receipt(&kit, &iuv(305), "IUR20240516000005", &[3000], None, "2024-05-16");
    assert_eq!(schedule(&kit.db, kit.now).unwrap(), 1);
    assert_eq!(schedule(&kit.db, kit.now).unwrap(), 0, "one job per org at a time");
    catch_up(&kit);
    assert_eq!(snapshot(&kit)[&format!("{}/IUR20240516000005/1", iuv(305))], ["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"]);
}

#[test]
fn uploads_are_refused_clearly() {
    let kit = Kit::new();
    let dir = tempfile::tempdir().unwrap();
    let submit = |name: &str, kind: Option<Source>| {
        let upload = uploads::Upload { org_ipa: IPA, file_name: name, kind, columns: None, actor: "test" };
        uploads::submit(&kit.db, dir.path(), 1 << 20, &upload, &mut &b"PK"[..], kit.now)
    };
    assert_eq!(uploads::guess_kind("c_x999-GDC20240520-1_0.zip"), Some(Source::CashJournal));
    assert_eq!(uploads::guess_kind("c_x999-OPI20240520-1_0.zip"), Some(Source::Opi));
    assert_eq!(uploads::guess_kind("c_x999-MOVCC20240520-1_0.zip"), Some(Source::BankMovements));
    assert_eq!(uploads::guess_kind("c_x999-ECPOSTE20240521.zip"), Some(Source::PosteStatement));
    assert_eq!(uploads::guess_kind("c_x999-NOTIF20240517-1_0.zip"), Some(Source::Notification));
    assert!(submit("c_prova-XYZ-1_0.zip", None).unwrap_err().to_string().contains("cannot tell the kind"));
    assert!(submit("c_prova-GDC1-1_0.csv", None).unwrap_err().to_string().contains("must be a ZIP"));
    assert!(submit("c_prova-GDC1-1_0.zip", Some(Source::Receipt)).unwrap_err().to_string().contains("not uploaded"));
    // A file the reader refuses is refused whole, with the reader's words.
    let submitted = submit("c_prova-GDC1-1_0.zip", None).unwrap();
    let job = crate::jobs::claim(&kit.db, submitted.job_id, kit.now).unwrap().unwrap();
    let settings = crate::services::background::JobSettings {
        data_dir: dir.path().to_owned(),
        max_uncompressed_bytes: 1 << 20,
        station_id: String::new(),
        notices: crate::config::NoticesMode::Off,
        reporting: None,
        retention: crate::config::RetentionSettings::default(),
        receipts: None,
    };
    let handlers = crate::services::background::handlers(&settings);
    crate::jobs::run_claimed(&kit.db, &handlers, &job, &|| false, &mut |_| {}).unwrap();
    let upload = uploads::get_upload(&kit.db, IPA, submitted.upload.id).unwrap();
    assert_eq!(upload.state, crate::store::reconciliation::UploadState::Refused);
    assert!(upload.error.is_some());
}

/// One source's arrival, for the properties.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    Receipts,
    Flow1,
    Flow2,
    Notifications,
    CashJournal,
}

fn arrive(kit: &Kit, arrival: Arrival) {
    match arrival {
        Arrival::Receipts => receipts(kit),
        Arrival::Flow1 => flow1(kit),
        Arrival::Flow2 => flow2(kit),
        Arrival::Notifications => {
            load_items(&kit.db, IPA, notifications(), kit.now).unwrap();
        }
        Arrival::CashJournal => {
            load_items(&kit.db, IPA, cash_journal(), kit.now).unwrap();
        }
    }
    catch_up(kit);
}

fn arrivals() -> impl Strategy<Value = Vec<Arrival>> {
    Just(vec![Arrival::Receipts, Arrival::Flow1, Arrival::Flow2, Arrival::Notifications, Arrival::CashJournal])
        .prop_shuffle()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Whatever the order the sources arrive in, the classification is §7.10's, the same as from
    /// scratch, and every row has a label.
    #[test]
    fn reconciliation_does_not_depend_on_the_order_of_arrival(order in arrivals()) {
        let kit = Kit::new();
        both_flags(&kit);
        for arrival in &order {
            arrive(&kit, *arrival);
            prop_assert!(snapshot(&kit).values().all(|labels| !labels.is_empty()));
        }
        prop_assert_eq!(snapshot(&kit), expected_7_10());
    }

    /// Loading a source again changes nothing: no fact stored twice, no label moved.
    #[test]
    fn reloading_a_source_changes_nothing(order in arrivals(), again in 0usize..2) {
        let kit = Kit::new();
        both_flags(&kit);
        for arrival in &order {
            arrive(&kit, *arrival);
        }
        let before = snapshot(&kit);
        let reload = if again == 0 { notifications() } else { cash_journal() };
        let loaded = load_items(&kit.db, IPA, reload, kit.now).unwrap();
        prop_assert_eq!(loaded.classified, 0, "nothing changed, nothing to classify");
        prop_assert_eq!(snapshot(&kit), before);
    }
}
