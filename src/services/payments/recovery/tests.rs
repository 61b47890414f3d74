//! Receipt recovery against a test double of pagoPA: the shared join, the limit kept in the store,
//! anomalies for what pagoPA has not got, stalled payments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
use std::sync::Mutex;

use super::*;
use crate::domain::{Cents, DebtState};
use crate::services::testkit::{FISCAL_CODE, IBAN, Kit};
use crate::store::debts::DebtRecord;
use crate::store::reporting::{ReportingFlowRecord, ReportingPaymentRecord};

/// pagoPA as a test double: it has the receipts of `found` (by IUR), answers 404 for the others,
/// and keeps every question.
#[derive(Debug, Default)]
struct FakeApi {
    found: Vec<(String, String)>,
    asked: Mutex<Vec<String>>,
}

impl ReceiptSource for FakeApi {
    fn fetch(&self, org: &str, iur: &str, iuv: &str) -> Result<Fetched, String> {
        assert_eq!(org, FISCAL_CODE);
        self.asked.lock().unwrap().push(iur.to_owned());
        Ok(match self.found.iter().find(|(i, _)| i == iur) {
            Some((_, xml)) => Fetched::Found(xml.clone()),
            None => {
                let _ = iuv;
                Fetched::NotFound
            }
        })
    }
}

fn receipt_xml(debt: &DebtRecord, iur: &str) -> String {
    let amount = debt.amount_cents.to_decimal_string();
    format!(
        "<receipt><receiptId>{iur}</receiptId><noticeNumber>{notice}</noticeNumber><fiscalCode>{FISCAL_CODE}</fiscalCode>\
         <outcome>OK</outcome><creditorReferenceId>{iuv}</creditorReferenceId><paymentAmount>{amount}</paymentAmount>\
         <description>TARI</description><companyName>Comune di Prova</companyName><debtor><uniqueIdentifier>\
         <entityUniqueIdentifierType>F</entityUniqueIdentifierType><entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue>\
         </uniqueIdentifier><fullName>Mario Rossi</fullName></debtor><transferList><transfer><idTransfer>1</idTransfer>\
         <transferAmount>{amount}</transferAmount><fiscalCodePA>{FISCAL_CODE}</fiscalCodePA><IBAN>{IBAN}</IBAN>\
         <remittanceInformation>TARI</remittanceInformation><transferCategory>0101002IM</transferCategory></transfer>\
         </transferList><idPSP>PSP1</idPSP><PSPCompanyName>Banca</PSPCompanyName><idChannel>PSP1_01</idChannel>\
         <channelDescription>app</channelDescription><paymentDateTime>2026-12-06T10:00:00</paymentDateTime></receipt>",
        notice = debt.notice_number.as_ref().unwrap().as_str(),
        iuv = debt.iuv.as_ref().unwrap().as_str(),
    )
}

fn flow(org_id: i64, iuf: &str, rows: Vec<ReportingPaymentRecord>) -> ReportingFlowRecord {
    ReportingFlowRecord {
        org_id,
        iuf: iuf.to_owned(),
        revision: 1,
        psp_id: "PSP1".to_owned(),
        source: "REST".to_owned(),
        payments: rows,
        ..Default::default()
    }
}

fn row(iuv: &str, iur: &str, cents: i64, outcome: &str) -> ReportingPaymentRecord {
    ReportingPaymentRecord {
        iuv: iuv.to_owned(),
        iur: iur.to_owned(),
        transfer_index: Some(1),
        amount_cents: Cents::new(cents),
        outcome_code: outcome.to_owned(),
        outcome_date: "2026-12-06".to_owned(),
    }
}

fn at(kit: &Kit, minutes: i64) -> Now {
    Now::at(kit.now.instant() + SignedDuration::from_mins(minutes))
}

#[test]
fn the_shared_join_gives_current_reported_transfers_without_a_receipt() {
    let kit = Kit::new();
    let org_id = kit.admin_access().org.id;
    let paid = kit.debt("P1", 1_000);
    let iuv = |d: &DebtRecord| d.iuv.as_ref().unwrap().as_str().to_owned();
    let open = kit.debt("O1", 2_000);
    let (old_id, current_id) = kit
        .db
        .write(|tx| {
            let old =
                reporting::insert_flow(tx, &flow(org_id, "F-OLD", vec![row(&iuv(&open), "T-OLD", 2_000, "0")]), "t")?;
            let current = reporting::insert_flow(
                tx,
                &flow(
                    org_id,
                    "F-NEW",
                    vec![
                        row(&iuv(&paid), "T-PAID", 1_000, "0"),
                        row(&iuv(&open), "T-OPEN", 2_000, "0"),
                        row(&iuv(&open), "T-REVOKED", 2_000, "3"),
                    ],
                ),
                "t",
            )?;
            reporting::update_superseded_by(tx, old, Some(current))?;
            Ok::<_, StoreError>((old, current))
        })
        .unwrap();
    // T-PAID has its receipt.
    let read = crate::flows::receipt_xml::read_rt(receipt_xml(&paid, "T-PAID").as_bytes()).unwrap();
    let exchange = Exchange { actor: "node", response: "", duration_ms: 0 };
    kit.db
        .write(|tx| {
            let org = orgs::find_org_by_id(tx, org_id)?.unwrap();
            super::super::store_receipt(tx, &org, FISCAL_CODE, read.receipt, &[], &exchange, kit.now)
        })
        .unwrap();
    crate::services::reconciliation::reconcile_pending(&kit.db, org_id, &|| false).unwrap();
    let missing = kit.db.read(|c| reporting::reported_without_receipt(c, org_id, 10)).unwrap();
    assert_eq!(
        missing,
        vec![ReportedTransfer {
            flow_id: current_id,
            iuf: "F-NEW".to_owned(),
            psp_id: "PSP1".to_owned(),
            iuv: iuv(&open),
            iur: "T-OPEN".to_owned(),
            transfer_index: Some(1),
            amount: Cents::new(2_000),
            outcome_code: "0".to_owned(),
            outcome_date: "2026-12-06".to_owned(),
        }],
        "not the superseded version {old_id}, not the revoked row, not the one with its receipt"
    );
}

#[test]
fn recovery_stores_what_pagopa_has_keeps_the_rest_as_anomalies_and_keeps_the_hourly_limit() {
    let kit = Kit::new();
    let org_id = kit.admin_access().org.id;
    let debts: Vec<DebtRecord> = (0..11).map(|i| kit.debt(&format!("R{i}"), 1_000 + i)).collect();
    let rows = debts
        .iter()
        .enumerate()
        .map(|(i, d)| row(d.iuv.as_ref().unwrap().as_str(), &format!("T{i:02}"), d.amount_cents.get(), "0"))
        .collect();
    kit.db.write(|tx| reporting::insert_flow(tx, &flow(org_id, "F-1", rows), "t")).unwrap();
    // pagoPA has the receipts of the even ones.
    let found = debts
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(i, d)| (format!("T{i:02}"), receipt_xml(d, &format!("T{i:02}"))));
    let api = FakeApi { found: found.collect(), ..FakeApi::default() };

    let first = run(&kit.db, &api, kit.now, &|| false).unwrap();
    let window_end = crate::clock::iso(kit.now.instant() + SignedDuration::from_mins(60));
    assert_eq!(
        first,
        Recovery { asked: 10, recovered: 5, missing: 5, failed: 0, stalled: 0, wait_until: Some(window_end.clone()) }
    );
    // The limit is the store's: ten calls recorded, the eleventh not made.
    let calls = kit.db.read(recovery::list_calls).unwrap();
    assert_eq!(calls.len(), 10);
    assert!(calls.iter().all(|c| c.3 == kit.now.iso()));
    assert_eq!(calls.iter().filter(|c| c.4.as_deref() == Some("FOUND")).count(), 5);
    assert_eq!(api.asked.lock().unwrap().len(), 10);
    // Half an hour later (another process, after a restart: only the store remembers) the window is still full.
    let again = run(&kit.db, &api, at(&kit, 30), &|| false).unwrap();
    assert_eq!((again.asked, again.wait_until), (0, Some(window_end)));
    // An hour after the first call the eleventh is asked; nothing is asked twice.
    let next = run(&kit.db, &api, at(&kit, 60), &|| false).unwrap();
    assert_eq!((next.asked, next.recovered, next.wait_until.as_deref()), (1, 1, None));
    assert_eq!(api.asked.lock().unwrap().last().map(String::as_str), Some("T10"));
    assert_eq!(run(&kit.db, &api, at(&kit, 200), &|| false).unwrap(), Recovery::default());
    assert_eq!(api.asked.lock().unwrap().len(), 11);

    let state = |d: &DebtRecord| kit.db.read(|c| debts::find_debt_by_id(c, d.id)).unwrap().unwrap().state;
    assert_eq!(state(&debts[0]), DebtState::Paid);
    assert_eq!(state(&debts[10]), DebtState::Paid);
    assert_eq!(state(&debts[1]), DebtState::Inserted);
    let open = kit.db.read(|c| anomalies::list_anomalies(c, org_id, anomalies::AnomalyState::Open, 50)).unwrap();
    let missing: Vec<_> = open.iter().filter(|a| a.kind == REPORTED_WITHOUT_RECEIPT).collect();
    assert_eq!(missing.len(), 5);
    let details: serde_json::Value = serde_json::from_str(&missing[0].details).unwrap();
    assert_eq!(details["iuf"], "F-1");
    // A recovered receipt goes the station's way: its outcome journalled by the API's actor.
    let receipt = kit
        .db
        .read(|c| crate::store::receipts::find_receipt(c, org_id, debts[0].iuv.as_ref().unwrap().as_str(), "T00"))
        .unwrap();
    assert!(receipt.is_some_and(|r| r.primitive == "paSendRTV2" && r.outcome == "OK"));
}

#[test]
fn a_payment_started_48_hours_ago_without_a_receipt_is_an_anomaly() {
    let kit = Kit::new();
    let org_id = kit.admin_access().org.id;
    let stalled = kit.debt("S1", 1_000);
    let recent = kit.debt("S2", 1_000);
    let started = |d: &DebtRecord, hours: i64| {
        let when = crate::clock::iso(kit.now.instant() - SignedDuration::from_hours(hours));
        kit.db.write(|tx| debts::update_payment_started(tx, d.id, DebtState::PaymentStarted, &when)).unwrap();
    };
    started(&stalled, 49);
    started(&recent, 47);
    let done = run(&kit.db, &FakeApi::default(), kit.now, &|| false).unwrap();
    assert_eq!(done, Recovery { stalled: 1, ..Recovery::default() });
    let open = kit.db.read(|c| anomalies::list_anomalies(c, org_id, anomalies::AnomalyState::Open, 50)).unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].kind.as_str(), open[0].object_kind.as_str(), open[0].object_id),
        (STARTED_WITHOUT_RECEIPT, "debt", stalled.id)
    );
    run(&kit.db, &FakeApi::default(), kit.now, &|| false).unwrap();
    let open = kit.db.read(|c| anomalies::list_anomalies(c, org_id, anomalies::AnomalyState::Open, 50)).unwrap();
    assert_eq!(open.len(), 1, "one anomaly per stalled payment, however often the job runs");
}

#[test]
fn the_recovery_is_queued_once_a_day_and_waits_for_the_window() {
    let kit = Kit::new();
    assert!(schedule(&kit.db, kit.now).unwrap());
    assert!(!schedule(&kit.db, at(&kit, 60)).unwrap(), "once per Rome day");
    assert!(schedule(&kit.db, at(&kit, 24 * 60)).unwrap(), "and again the next day");
    // The job without a source says why it cannot run.
    let job = Job::ReceiptRecovery { day: "2026-12-07".to_owned() };
    let mut progress = |_| {};
    let mut ctx = JobCtx {
        db: &kit.db,
        job_id: 1,
        attempt: 1,
        cursor: None,
        cancelled: &|| false,
        progress: &mut progress,
        report: &|_| {},
    };
    let failed = RecoveryJob::default().run(&mut ctx, &job);
    assert!(matches!(failed, Err(JobError::Failed(reason)) if reason.contains("node.base_url")));
    // Ten calls made this hour (by an earlier run, before a restart): the job waits for the window.
    let org_id = kit.admin_access().org.id;
    let d = kit.debt("W1", 1_000);
    let rows = vec![row(d.iuv.as_ref().unwrap().as_str(), "T-W1", 1_000, "0")];
    kit.db.write(|tx| reporting::insert_flow(tx, &flow(org_id, "F-W", rows), "t")).unwrap();
    let first = Now::read().iso();
    kit.db
        .write(|tx| {
            for i in 0..10 {
                recovery::insert_call(tx, org_id, "X", &format!("old{i}"), &first)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let api: std::sync::Arc<dyn ReceiptSource> = std::sync::Arc::new(FakeApi::default());
    let step = RecoveryJob { source: Some(api) }.run(&mut ctx, &job).unwrap();
    let until = crate::clock::iso(first.parse::<jiff::Timestamp>().unwrap() + SignedDuration::from_mins(60));
    assert!(matches!(&step, Step::RunAgainAt { at, .. } if *at == until), "{step:?}");
    assert_eq!(kit.db.read(recovery::list_calls).unwrap().len(), 10, "no eleventh call");
}
