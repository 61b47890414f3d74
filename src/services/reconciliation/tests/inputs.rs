//! The inputs MyPivot gets besides the org's own files: S rows (a receipt of another org of the
//! installation paying a transfer to this one, mypivot.md §1.7) and the legacy Poste lines (P,
//! §1.5) as reporting rows that join nothing.

use super::*;
use crate::domain::reconciliation::PosteReportingRow;
use crate::services::admin::orgs::{OrgChanges, add_org};

pub(in crate::services::reconciliation) const BENEFICIARY: &str = "c_benef";
const BENEFICIARY_CF: &str = "80012340123";
pub(in crate::services::reconciliation) const BENEFICIARY_IUF: &str = "2024-05-20TESTITM1XXX-S000042";

pub(in crate::services::reconciliation) fn add_beneficiary(kit: &Kit) -> i64 {
    add_org(
        &kit.db,
        "test",
        BENEFICIARY,
        &OrgChanges {
            fiscal_code: Some(BENEFICIARY_CF.to_owned()),
            name: Some("Unione dei Comuni".to_owned()),
            segregation_code: Some("02".to_owned()),
            ..Default::default()
        },
        kit.now,
    )
    .unwrap();
    set_settings(&kit.db, BENEFICIARY, Some(false), Some(true), "test", kit.now).unwrap();
    kit.db.read(|c| crate::store::orgs::find_org_by_ipa(c, BENEFICIARY)).unwrap().unwrap().id
}

/// A receipt of the kit's org for a multi-beneficiary debt: 100.00 to the org, 25.00 to the
/// beneficiary's IBAN, and a 16.00 stamp for the beneficiary (no IBAN: never an S row).
pub(in crate::services::reconciliation) fn multi_beneficiary_receipt(kit: &Kit, iuv: &str, held: bool) -> i64 {
    let mut record = receipt_record(kit, iuv, "IUR-MB-1", &[10000, 2500, 1600], None, "2024-05-16");
    record.amount_cents = Cents::new(14100);
    record.held = held;
    if let [_, share, stamp] = record.transfers.as_mut_slice() {
        share.fiscal_code = BENEFICIARY_CF.to_owned();
        share.iban = Some("IT60X0542811101000000654321".to_owned());
        stamp.fiscal_code = BENEFICIARY_CF.to_owned();
        stamp.iban = None;
        stamp.mbd_attachment = Some("UEsDBA==".to_owned());
    }
    kit.db.write(|tx| insert_receipt(tx, &record, &kit.now.iso())).unwrap()
}

fn rows_of(kit: &Kit, ipa: &str) -> Vec<ItemRecord> {
    let org_id = kit.db.read(|c| crate::store::orgs::find_org_by_ipa(c, ipa)).unwrap().unwrap().id;
    reconcile_pending(&kit.db, org_id, &|| false).unwrap();
    list(&kit.db, ipa, Filter::default()).unwrap()
}

fn codes(item: &ItemRecord) -> Vec<&'static str> {
    item.labels.iter().map(|l| l.code()).collect()
}

/// §1.7: the beneficiary's FdR row and treasury movement meet the collecting org's receipt, keyed
/// by its IUR and the transfer's index, with the transfer's amount; whichever arrives last.
#[test]
fn another_orgs_receipt_is_an_s_row_of_the_beneficiary() {
    let kit = Kit::new();
    add_beneficiary(&kit);
    both_flags(&kit);
    let x = iuv(701);

    // The beneficiary's FdR and treasury first: reported, not paid.
    flow(&kit, BENEFICIARY, BENEFICIARY_IUF, 2500, &[(&x, "IUR-MB-1", Some(2), 2500, "0")]);
    let credit = movement(Source::CashJournal, Some(1301), "2024-05-20", 2500, Some(BENEFICIARY_IUF), None);
    load_items(&kit.db, BENEFICIARY, vec![treasury(credit)], kit.now).unwrap();
    let before = rows_of(&kit, BENEFICIARY);
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(codes(&before[0]), ["IUV_NO_RT"]);

    // The collecting org's receipt arrives: the trigger notes the IUV for the beneficiary too.
    multi_beneficiary_receipt(&kit, &x, false);
    let after = rows_of(&kit, BENEFICIARY);
    assert_eq!(after.len(), 1, "the stamp is no S row: {after:?}");
    let row = &after[0];
    assert_eq!(
        (row.iuv.as_deref(), row.iur.as_deref(), row.transfer_index),
        (Some(x.as_str()), Some("IUR-MB-1"), Some(2))
    );
    assert_eq!((row.e_cents, row.e_total_cents, row.r_cents), (Some(2500), Some(2500), Some(2500)));
    assert_eq!((row.r_total_cents, row.t_iuf_cents, row.iud.as_deref()), (Some(2500), Some(2500), None));
    assert_eq!(codes(row), ["RT_IUF_TES", "RT_IUF"]);
    let primary_receipt = row.receipt_row.expect("the S row names the collecting org's receipt");
    assert!(primary_receipt > 0);

    // The collecting org sees its own transfer only (no flow nor treasury of its own: RT_NO_IUF, and
    // RT_NO_IUD as it has pagati).
    let own = rows_of(&kit, IPA);
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!((own[0].transfer_index, own[0].e_cents, own[0].e_total_cents), (Some(1), Some(10000), Some(14100)));
    assert_eq!(codes(&own[0]), ["RT_NO_IUF", "RT_NO_IUD"]);

    // From scratch, the same; and the other order of arrival gives the same rows.
    rebuild(&kit.db, BENEFICIARY, &|| false).unwrap();
    let rebuilt: Vec<_> = rows_of(&kit, BENEFICIARY).into_iter().map(|i| (i.iur, i.transfer_index, i.labels)).collect();
    assert_eq!(rebuilt, vec![(Some("IUR-MB-1".to_owned()), Some(2), row.labels.clone())]);

    // Another order: the receipt first, held (it pays nothing yet), then released (the update
    // trigger notes the beneficiary), then the flow and the movement.
    let kit = Kit::new();
    add_beneficiary(&kit);
    let receipt_id = multi_beneficiary_receipt(&kit, &x, true);
    assert_eq!(rows_of(&kit, BENEFICIARY), []);
    assert!(kit.db.write(|tx| crate::store::receipts::update_released(tx, receipt_id)).unwrap());
    let paid_only = rows_of(&kit, BENEFICIARY);
    assert_eq!(paid_only.len(), 1);
    assert_eq!(codes(&paid_only[0]), ["RT_NO_IUF"]);
    flow(&kit, BENEFICIARY, BENEFICIARY_IUF, 2500, &[(&x, "IUR-MB-1", Some(2), 2500, "0")]);
    let credit = movement(Source::CashJournal, Some(1301), "2024-05-20", 2500, Some(BENEFICIARY_IUF), None);
    load_items(&kit.db, BENEFICIARY, vec![treasury(credit)], kit.now).unwrap();
    let last: Vec<_> = rows_of(&kit, BENEFICIARY).into_iter().map(|i| (i.iur, i.transfer_index, i.labels)).collect();
    assert_eq!(last, vec![(Some("IUR-MB-1".to_owned()), Some(2), row.labels.clone())]);
}

/// §7.8's lines as the P reader gives them.
pub(in crate::services::reconciliation) fn poste_lines() -> Vec<Item> {
    [
        ("16/05/2024", "55123", 15000, "17/05/2024", "0000000123456789"),
        ("16/05/2024", "55123", 8000, "17/05/2024", "0000000123456789"),
        ("16/05/2024", "55124", 4550, "17/05/2024", "0000000123456789"),
        ("17/05/2024", "55124", 2500, "18/05/2024", "0000000123456789"),
        ("17/05/2024", "55125", 6000, "18/05/2024", "0000000123456789"),
    ]
    .into_iter()
    .map(|(operation, office, cents, credit, iur)| {
        let dmy = |t: &str| day(&format!("{}-{}-{}", &t[6..10], &t[3..5], &t[..2]));
        Item::PosteReporting(PosteReportingRow {
            operation_day: dmy(operation),
            office: office.to_owned(),
            amount: Cents::new(cents),
            credit_day: dmy(credit),
            iur: iur.to_owned(),
        })
    })
    .collect()
}

/// §1.5: a Poste line is an FdR row without IUV nor IUF: it meets no receipt and no movement, so it
/// is reported-not-paid (IUV_NO_RT) and, with tesoreria, not credited (IUF_NO_TES); the flags and a
/// reload behave as for every other source.
#[test]
fn legacy_poste_lines_are_reporting_rows_that_join_nothing() {
    let kit = Kit::new();
    let loaded = load_items(&kit.db, IPA, poste_lines(), kit.now).unwrap();
    assert_eq!((loaded.counts.accepted, loaded.classified), (5, 5));
    let rows = rows_of(&kit, IPA);
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert_eq!(codes(row), ["IUV_NO_RT"], "{row:?}");
        assert_eq!((row.iuv.as_deref(), row.iur.as_deref()), (None, Some("0000000123456789")));
        assert_eq!((row.r_cents, row.r_outcome.as_deref(), row.e_cents), (Some(row.amount), Some("0"), None));
    }
    let mut days: Vec<(&str, i64)> = rows.iter().map(|r| (r.day.as_str(), r.amount)).collect();
    days.sort_unstable();
    assert_eq!(
        days,
        [("2024-05-16", 4550), ("2024-05-16", 8000), ("2024-05-16", 15000), ("2024-05-17", 2500), ("2024-05-17", 6000)]
    );

    // Treasury on: every line is also not credited. A receipt, a flow or a movement of the
    // same amount changes nothing: nothing joins a line without keys.
    both_flags(&kit);
    receipt(&kit, &iuv(801), "0000000123456789", &[15000], None, "2024-05-16");
    load_items(
        &kit.db,
        IPA,
        vec![treasury(movement(Source::CashJournal, Some(1401), "2024-05-17", 15000, None, None))],
        kit.now,
    )
    .unwrap();
    let rows = rows_of(&kit, IPA);
    let poste: Vec<_> = rows.iter().filter(|r| r.poste_key.is_some()).collect();
    assert_eq!(poste.len(), 5);
    assert!(poste.iter().all(|r| codes(r) == ["IUV_NO_RT", "IUF_NO_TES"]), "{poste:?}");
    assert_eq!(rows.len(), 7, "the receipt and the movement have rows of their own: {rows:?}");

    // A reload stores and classifies nothing; a rebuild gives the same rows.
    let again = load_items(&kit.db, IPA, poste_lines(), kit.now).unwrap();
    assert_eq!(again.classified, 0);
    let before: Vec<_> = rows.iter().map(|r| (r.poste_key.clone(), r.labels.clone())).collect();
    rebuild(&kit.db, IPA, &|| false).unwrap();
    let after: Vec<_> = rows_of(&kit, IPA).iter().map(|r| (r.poste_key.clone(), r.labels.clone())).collect();
    assert_eq!(before, after);
}
