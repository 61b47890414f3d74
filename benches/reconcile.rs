//! Reconciliation of one year of a mid-size municipality: 300,000 receipts (one transfer each,
//! every other one notified), reported in three reporting flows a day, each flow transferred by
//! one giornale di cassa movement (a few with a wrong amount, a few receipts never reported).
//! Prints the time to store the sources (each load classifies what it changed), to classify the
//! whole year from scratch, and to classify one more day as it arrives. Never fails on timing.
//! Run with `cargo bench --bench reconcile`; `MYPAY_BENCH_RECEIPTS` changes the receipt count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Instant;

use mypay::testing::clock::Now;
use mypay::testing::domain::reconciliation::{Bolletta, PaymentNotification, Source, TreasuryEvent, TreasuryMovement};
use mypay::testing::domain::{Cents, Day, Party};
use mypay::testing::flows::recon::Item;
use mypay::testing::services::admin::orgs::{OrgChanges, add_org};
use mypay::testing::services::reconciliation::{
    Filter, label_months, list, load_items, rebuild, reconcile_pending, set_settings,
};
use mypay::testing::store::Db;
use mypay::testing::store::receipts::{ReceiptRecord, ReceiptTransferRecord, insert_receipt};
use mypay::testing::store::reporting::{ReportingFlowRecord, ReportingFlowState, ReportingPaymentRecord, insert_flow};

const IPA: &str = "c_f205";
const FISCAL_CODE: &str = "01199250158";
const PSPS: [&str; 3] = ["TESTITM1XXX", "ALTRITM2XXX", "TERZITM3XXX"];

fn day_of(d: usize) -> Day {
    let start = Day::parse("2025-01-01").unwrap();
    Day::from(start.date().checked_add(jiff::Span::new().days(i64::try_from(d).unwrap())).unwrap())
}

fn amount(i: usize) -> i64 {
    1000 + i64::try_from(i % 5000).unwrap()
}

fn receipt(org_id: i64, i: usize, d: usize) -> ReceiptRecord {
    ReceiptRecord {
        org_id,
        receipt_id: format!("IUR{i:012}"),
        notice_number: format!("3{i:017}"),
        iuv: format!("{i:017}"),
        outcome: "OK".to_owned(),
        amount_cents: Cents::new(amount(i)),
        description: "TARI".to_owned(),
        company_name: "Comune".to_owned(),
        debtor: Party {
            kind: "F".to_owned(),
            id: "RSSMRA85T10A562S".to_owned(),
            name: "Mario Rossi".to_owned(),
            ..Party::default()
        },
        psp_id: PSPS[i % 3].to_owned(),
        psp_company_name: "PSP".to_owned(),
        channel_id: "CH".to_owned(),
        channel_description: "canale".to_owned(),
        payment_date: day_of(d),
        primitive: "paSendRTV2".to_owned(),
        request_xml: "<x/>".to_owned(),
        transfers: vec![ReceiptTransferRecord {
            index: 1,
            amount_cents: Cents::new(amount(i)),
            fiscal_code: FISCAL_CODE.to_owned(),
            remittance: "TARI".to_owned(),
            category: "9/0101100IM/".to_owned(),
            ..ReceiptTransferRecord::default()
        }],
        ..ReceiptRecord::default()
    }
}

/// Stores the receipts, flows, treasury and notifications of days `days`, receipts `per_day` a day.
fn one_period(db: &Db, org_id: i64, days: std::ops::Range<usize>, per_day: usize, now: Now) {
    let mut treasury = Vec::new();
    let mut notifications = Vec::new();
    for d in days {
        let first = d * per_day;
        db.write(|tx| {
            for i in first..first + per_day {
                insert_receipt(tx, &receipt(org_id, i, d), &now.iso())?;
            }
            for (p, psp) in PSPS.iter().enumerate() {
                let rows: Vec<ReportingPaymentRecord> = (first..first + per_day)
                    .filter(|i| i % 3 == p && i % 200 != 0)
                    .map(|i| ReportingPaymentRecord {
                        iuv: format!("{i:017}"),
                        iur: format!("IUR{i:012}"),
                        transfer_index: Some(1),
                        amount_cents: Cents::new(amount(i)),
                        outcome_code: "0".to_owned(),
                        outcome_date: day_of(d).to_string(),
                    })
                    .collect();
                let total: i64 = rows.iter().map(|r| r.amount_cents.get()).sum();
                let iuf = format!("{}{psp}-S{:06}", day_of(d + 1), d);
                insert_flow(
                    tx,
                    &ReportingFlowRecord {
                        org_id,
                        iuf: iuf.clone(),
                        revision: 1,
                        psp_id: (*psp).to_owned(),
                        total_payments: Some(i64::try_from(rows.len()).unwrap()),
                        total_amount_cents: Some(Cents::new(total)),
                        state: ReportingFlowState::Acquired,
                        source: "SOAP".to_owned(),
                        payments: rows,
                        ..ReportingFlowRecord::default()
                    },
                    &now.iso(),
                )?;
                let wrong = i64::from((d * 3 + p) % 50 == 0);
                treasury.push(Item::Treasury(TreasuryEvent::Movement(Box::new(TreasuryMovement {
                    source: Source::CashJournal,
                    bolletta: Some(Bolletta { year: 2025, number: format!("{}", d * 3 + p + 1) }),
                    account: Some("0012345".to_owned()),
                    booking_day: day_of(d + 2),
                    value_day: None,
                    amount: Cents::new(total - wrong),
                    causale: format!("/PUR/LGPE-RIVERSAMENTO/URI/{iuf}"),
                    payer_name: Some((*psp).to_owned()),
                    iuf: Some(iuf),
                    iuv: None,
                    end_to_end_id: None,
                    document: None,
                    provisional: None,
                    bank: None,
                }))));
            }
            Ok::<_, mypay::testing::store::StoreError>(())
        })
        .unwrap();
        for i in (first..first + per_day).filter(|i| i % 2 == 0) {
            notifications.push(Item::Notification(Box::new(PaymentNotification {
                iud: format!("IUD-{i:09}"),
                iuv: format!("{i:017}"),
                payer: Party {
                    kind: "F".to_owned(),
                    id: "RSSMRA85T10A562S".to_owned(),
                    name: "Mario Rossi".to_owned(),
                    ..Party::default()
                },
                paid_on: day_of(d),
                amount: Cents::new(amount(i)),
                fee: None,
                debt_type: "TARI".to_owned(),
                payment_kind: "PO".to_owned(),
                causale: "TARI".to_owned(),
                collection_data: "9/0101100IM/".to_owned(),
                bilancio: None,
            })));
        }
    }
    load_items(db, IPA, treasury, now).unwrap();
    for chunk in notifications.chunks(20_000) {
        load_items(db, IPA, chunk.to_vec(), now).unwrap();
    }
}

fn main() {
    let receipts: usize = std::env::var("MYPAY_BENCH_RECEIPTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300_000);
    let per_day = receipts.div_ceil(365);
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(&tmp.path().join("mypay.db")).unwrap();
    let now = Now::read();
    let org = add_org(
        &db,
        "bench",
        IPA,
        &OrgChanges {
            fiscal_code: Some(FISCAL_CODE.to_owned()),
            name: Some("Comune di Milano".to_owned()),
            segregation_code: Some("01".to_owned()),
            ..OrgChanges::default()
        },
        now,
    )
    .unwrap();
    set_settings(&db, IPA, Some(true), Some(true), "bench", now).unwrap();

    let started = Instant::now();
    one_period(&db, org.id, 0..365, per_day, now);
    reconcile_pending(&db, org.id, &|| false).unwrap();
    let load = started.elapsed();
    println!(
        "reconcile: stored {} receipts, {} flows and movements, {} notifications in {:.1} s (each load classified what it changed)",
        per_day * 365,
        365 * 3,
        per_day * 365 / 2,
        load.as_secs_f64()
    );

    let started = Instant::now();
    let rows = rebuild(&db, IPA, &|| false).unwrap();
    let scratch = started.elapsed();
    println!(
        "reconcile: from scratch {rows} rows in {:.1} s ({:.0} rows/s)",
        scratch.as_secs_f64(),
        rows as f64 / scratch.as_secs_f64()
    );

    let started = Instant::now();
    one_period(&db, org.id, 365..366, per_day, now);
    let rows = reconcile_pending(&db, org.id, &|| false).unwrap();
    let day = started.elapsed();
    println!(
        "reconcile: one more day ({per_day} receipts, 3 flows, 3 movements, {} notifications) stored and classified in {:.2} s (+{rows} rows after its loads)",
        per_day / 2,
        day.as_secs_f64()
    );

    let started = Instant::now();
    let months = label_months(&db, IPA, None, None).unwrap();
    let summary = started.elapsed();
    let started = Instant::now();
    let anomalies = list(
        &db,
        IPA,
        Filter {
            label: mypay::testing::domain::reconciliation::Label::from_code("IUF_TES_DIV_IMP"),
            limit: 100,
            ..Filter::default()
        },
    )
    .unwrap();
    let drill = started.elapsed();
    println!(
        "reconcile: counts and amounts per label per month ({} cells) in {:.0} ms; first 100 IUF_TES_DIV_IMP rows ({} found) in {:.1} ms",
        months.len(),
        summary.as_secs_f64() * 1000.0,
        anomalies.len(),
        drill.as_secs_f64() * 1000.0
    );
}
