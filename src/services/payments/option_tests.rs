//! Payment options through the payments service (issue 20): verify, payment data and receipts of
//! the single option, each instalment and the reduced amount; BR-12 both ways; a receipt for a
//! closed alternative stored and flagged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::domain::payment_options::Plan;
use crate::domain::{Cents, Day};
use crate::services::debts::Source;
use crate::services::debts::options::{self, ViewKind, ViewState};
use crate::services::testkit::{FISCAL_CODE, IBAN, IPA, Kit, tari_fields};
use crate::store::receipts::ReceiptTransferRecord;

fn day(text: &str) -> Day {
    Day::parse(text).unwrap()
}

fn plan(single: Option<i64>, instalments: &[(i64, &str)], reduced: Option<(i64, &str)>) -> Plan {
    Plan {
        single: single.map(Cents::new),
        instalments: instalments.iter().map(|(c, d)| (Cents::new(*c), day(d))).collect(),
        reduced: reduced.map(|(c, d)| (Cents::new(c), day(d))),
    }
}

fn add(kit: &Kit, iud: &str, plan: &Plan) -> DebtRecord {
    options::add_debt_with_options(&kit.db, "test", IPA, &tari_fields(iud, 1), plan, Source::Cli, kit.now).unwrap()
}

/// The notice numbers of a position's options, single first.
fn notices(kit: &Kit, debt: &DebtRecord) -> Vec<NoticeNumber> {
    views(kit, debt).into_iter().map(|v| v.notice_number.unwrap()).collect()
}

fn views(kit: &Kit, debt: &DebtRecord) -> Vec<options::OptionView> {
    let fresh = kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap();
    options::options_of(&kit.db, &fresh, kit.now.today()).unwrap()
}

fn states(kit: &Kit, debt: &DebtRecord) -> Vec<&'static str> {
    views(kit, debt).iter().map(|v| v.state.code()).collect()
}

fn receipt_for(notice: &NoticeNumber, id: &str, cents: i64) -> ReceiptRecord {
    ReceiptRecord {
        receipt_id: id.to_owned(),
        notice_number: notice.to_string(),
        iuv: notice.iuv().to_string(),
        outcome: "OK".to_owned(),
        amount_cents: Cents::new(cents),
        primitive: "paSendRTV2".to_owned(),
        payment_date_time: Some("2026-12-07T10:15:00".to_owned()),
        transfers: vec![ReceiptTransferRecord {
            index: 1,
            amount_cents: Cents::new(cents),
            fiscal_code: FISCAL_CODE.to_owned(),
            iban: Some(IBAN.to_owned()),
            ..ReceiptTransferRecord::default()
        }],
        ..ReceiptRecord::default()
    }
}

fn pay(kit: &Kit, notice: &NoticeNumber, id: &str, cents: i64) -> ReceiptOutcome {
    let view = get_payment(&kit.db, FISCAL_CODE, notice, false, kit.now).unwrap();
    assert_eq!(view.amount(), Cents::new(cents));
    accept(kit, receipt_for(notice, id, cents))
}

fn accept(kit: &Kit, r: ReceiptRecord) -> ReceiptOutcome {
    let exchange = Exchange { actor: "node", response: "<ok/>", duration_ms: 1 };
    accept_receipt(&kit.db, FISCAL_CODE, r, &[], &exchange, kit.now).unwrap()
}

fn position_state(kit: &Kit, debt: &DebtRecord) -> &'static str {
    kit.db.read(|c| debts::find_debt_by_id(c, debt.id)).unwrap().unwrap().state.code()
}

const TARI_PLAN: &[(i64, &str)] = &[(10000, "2026-12-31"), (10000, "2027-01-31"), (10500, "2027-02-28")];

#[test]
fn each_instalment_is_a_notice_of_its_own_amount_and_due_date() {
    let kit = Kit::new();
    let debt = add(&kit, "P1", &plan(Some(30000), TARI_PLAN, None));
    let all = views(&kit, &debt);
    let kinds: Vec<_> = all.iter().map(|v| (v.kind, v.seq, v.amount.get())).collect();
    assert_eq!(
        kinds,
        [
            (ViewKind::Single, 1, 30000),
            (ViewKind::Instalment, 1, 10000),
            (ViewKind::Instalment, 2, 10000),
            (ViewKind::Instalment, 3, 10500)
        ]
    );
    let n = notices(&kit, &debt);
    let mut distinct = n.iter().map(NoticeNumber::as_str).collect::<Vec<_>>();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "four notice numbers");
    let view = verify(&kit.db, FISCAL_CODE, &n[2], kit.now.today()).unwrap();
    assert_eq!((view.amount().get(), view.debt.due_date), (10000, Some(day("2027-01-31"))));
    assert_eq!(view.debt.iuv.as_ref().map(|i| i.as_str()), Some(n[2].iuv().as_str()));
    assert_eq!(verify(&kit.db, FISCAL_CODE, &n[0], kit.now.today()).unwrap().amount().get(), 30000);
}

#[test]
fn instalments_paid_one_by_one_complete_the_position_and_close_the_single_option() {
    let kit = Kit::new();
    let debt = add(&kit, "P1", &plan(Some(30000), TARI_PLAN, None));
    let n = notices(&kit, &debt);
    assert_eq!(pay(&kit, &n[1], "R1", 10000), ReceiptOutcome::Stored { flag: None, held: false });
    assert_eq!(states(&kit, &debt), ["CHIUSA", "PAGATA", "DA_PAGARE", "DA_PAGARE"]);
    assert_ne!(position_state(&kit, &debt), "COMPLETATO");
    // BR-12: the single option is now unknown to the Node; the paid instalment a duplicate.
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[0], kit.now.today()), Err(PaymentError::UnknownNotice(_))));
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[1], kit.now.today()), Err(PaymentError::AlreadyPaid(_))));
    assert_eq!(pay(&kit, &n[2], "R2", 10000), ReceiptOutcome::Stored { flag: None, held: false });
    assert_eq!(pay(&kit, &n[3], "R3", 10500), ReceiptOutcome::Stored { flag: None, held: false });
    assert_eq!(position_state(&kit, &debt), "COMPLETATO");
    assert_eq!(states(&kit, &debt), ["CHIUSA", "PAGATA", "PAGATA", "PAGATA"]);
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[3], kit.now.today()), Err(PaymentError::AlreadyPaid(_))));
    let receipts = kit.db.read(|c| receipts::list_ok_receipts_for_debt(c, debt.id)).unwrap();
    assert_eq!(receipts.len(), 3, "each receipt belongs to the position");
}

#[test]
fn paying_in_full_closes_the_instalments_and_a_late_instalment_receipt_is_kept_and_flagged() {
    let kit = Kit::new();
    let debt = add(&kit, "P1", &plan(Some(30000), TARI_PLAN, None));
    let n = notices(&kit, &debt);
    assert_eq!(pay(&kit, &n[0], "R1", 30000), ReceiptOutcome::Stored { flag: None, held: false });
    assert_eq!(position_state(&kit, &debt), "COMPLETATO");
    assert_eq!(states(&kit, &debt), ["PAGATA", "CHIUSA", "CHIUSA", "CHIUSA"]);
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[1], kit.now.today()), Err(PaymentError::UnknownNotice(_))));
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[0], kit.now.today()), Err(PaymentError::AlreadyPaid(_))));
    // The Node's stand-in took an instalment all the same: stored, flagged, never lost.
    let outcome = accept(&kit, receipt_for(&n[1], "R2", 10000));
    assert_eq!(outcome, ReceiptOutcome::Stored { flag: Some("DOPPIO_PAGAMENTO".to_owned()), held: false });
    assert_eq!(states(&kit, &debt), ["PAGATA", "CHIUSA", "CHIUSA", "CHIUSA"], "a closed option stays closed");
    let open = anomalies::list(&kit.db, &kit.admin_access(), true).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].record.kind, "DOPPIO_PAGAMENTO");
    assert_eq!(open[0].record.details, format!("{{\"closed_alternative\":\"{}\"}}", n[1].iuv()));
}

#[test]
fn a_reduced_amount_is_payable_until_its_last_day_and_closes_the_full_amount() {
    let kit = Kit::new();
    let debt = add(&kit, "CDS-1", &plan(Some(10000), &[], Some((7000, "2026-12-07"))));
    let n = notices(&kit, &debt);
    assert_eq!(views(&kit, &debt)[1].kind, ViewKind::Reduced);
    assert_eq!(verify(&kit.db, FISCAL_CODE, &n[1], kit.now.today()).unwrap().amount().get(), 7000);
    let tomorrow = day("2026-12-08").date();
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[1], tomorrow), Err(PaymentError::Expired(_))));
    assert_eq!(verify(&kit.db, FISCAL_CODE, &n[0], tomorrow).unwrap().amount().get(), 10000, "the full amount stays");
    assert_eq!(pay(&kit, &n[1], "R1", 7000), ReceiptOutcome::Stored { flag: None, held: false });
    assert_eq!(position_state(&kit, &debt), "COMPLETATO");
    assert_eq!(states(&kit, &debt), ["CHIUSA", "PAGATA"]);
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[0], kit.now.today()), Err(PaymentError::UnknownNotice(_))));
}

#[test]
fn a_plan_of_instalments_only_has_no_notice_of_its_own() {
    let kit = Kit::new();
    let debt = add(&kit, "P2", &plan(None, &TARI_PLAN[..2], None));
    assert_eq!((debt.iuv.is_none(), debt.amount_cents.get()), (true, 20000));
    let all = views(&kit, &debt);
    assert_eq!(all.iter().map(|v| v.kind).collect::<Vec<_>>(), [ViewKind::Instalment, ViewKind::Instalment]);
    assert!(all.iter().all(|v| v.state == ViewState::Open));
    // Found by an instalment's notice number too.
    let key = crate::services::debts::DebtKey::NoticeNumber(all[1].notice_number.clone().unwrap().to_string());
    assert_eq!(crate::services::debts::get_debt(&kit.db, IPA, &key).unwrap().id, debt.id);
}

#[test]
fn annulling_the_position_annuls_its_options() {
    let kit = Kit::new();
    let debt = add(&kit, "P1", &plan(Some(30000), TARI_PLAN, None));
    let n = notices(&kit, &debt);
    crate::services::debts::annul_debt(&kit.db, "test", IPA, "P1", kit.now).unwrap();
    assert!(matches!(verify(&kit.db, FISCAL_CODE, &n[1], kit.now.today()), Err(PaymentError::Annulled(_))));
    assert_eq!(states(&kit, &debt), ["CHIUSA", "CHIUSA", "CHIUSA", "CHIUSA"]);
    let live =
        kit.db.read(|c| debts::identifier_is_live(c, debt.org_id, debts::IdKind::Iuv, n[2].iuv().as_str())).unwrap();
    assert!(!live, "the options' IUVs are released with the position's");
}

#[test]
fn a_live_iuv_is_a_debt_or_an_option_never_both() {
    let kit = Kit::new();
    let debt = add(&kit, "P1", &plan(Some(30000), TARI_PLAN, None));
    let n = notices(&kit, &debt);
    // Generated IUVs come from one counter; the store refuses a collision all the same.
    let copy =
        DebtRecord { iud: "P9".to_owned(), iuv: Some(n[2].iuv()), notice_number: Some(n[2].clone()), ..debt.clone() };
    let err = kit.db.write(|tx| debts::insert_debt(tx, &copy, "2026-12-07T09:00:00Z")).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    let single_iuv = n[0].iuv();
    let option = crate::store::debt_options::NewOption {
        debt_id: debt.id,
        org_id: debt.org_id,
        kind: crate::domain::payment_options::OptionKind::Reduced,
        seq: 1,
        iuv: single_iuv.as_str(),
        notice_number: n[0].as_str(),
        amount_cents: Cents::new(100),
        due_date: day("2026-12-31"),
    };
    let err = kit.db.write(|tx| crate::store::debt_options::insert_option(tx, &option, "t")).unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
    let live =
        kit.db.read(|c| debts::identifier_is_live(c, debt.org_id, debts::IdKind::Iuv, n[2].iuv().as_str())).unwrap();
    assert!(live);
}

#[test]
fn options_are_refused_where_one_option_is_all_there_can_be() {
    let kit = Kit::new();
    kit.db
        .write(|tx| {
            let org = orgs::find_org_by_ipa(tx, IPA)?.unwrap();
            crate::store::outbox::update_org_mirrored(tx, org.id, true, "2026-12-07T09:00:00Z")
        })
        .unwrap();
    let err = options::add_debt_with_options(
        &kit.db,
        "test",
        IPA,
        &tari_fields("P1", 1),
        &plan(Some(300), &[(100, "2026-12-31")], None),
        Source::Cli,
        kit.now,
    )
    .unwrap_err();
    assert!(err.to_string().contains("mirrored to the Region"), "{err}");
    assert!(kit.db.read(|c| debts::find_debt_by_iud(c, 1, "P1")).unwrap().is_none(), "nothing was added");
}

#[test]
fn a_position_with_options_is_not_changed_by_a_row_nor_annulled_once_partly_paid() {
    let kit = Kit::new();
    let debt = add(&kit, "P1", &plan(Some(30000), TARI_PLAN, None));
    let err = crate::services::debts::modify_debt(&kit.db, "test", IPA, &tari_fields("P1", 500), kit.now).unwrap_err();
    assert_eq!(
        err.to_string(),
        "PAA_IMPORT_DOVUTO_NON_PRESENTE: Dovuto con più opzioni di pagamento (rate o importo ridotto): non modificabile da una riga"
    );
    let n = notices(&kit, &debt);
    assert_eq!(pay(&kit, &n[1], "R1", 10000), ReceiptOutcome::Stored { flag: None, held: false });
    assert!(crate::services::debts::annul_debt(&kit.db, "test", IPA, "P1", kit.now).is_err());
    assert_eq!(states(&kit, &debt), ["CHIUSA", "PAGATA", "DA_PAGARE", "DA_PAGARE"]);
}
