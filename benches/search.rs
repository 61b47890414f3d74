//! Benchmark of the back office's debt search on 1,000,000 debts of one org (3 debt types, 70% to
//! pay, 25% paid with a receipt each, 5% annulled; 100,000 debtors; due dates over two years) plus
//! 50,000 debts of a second org. Times the service the page calls (`services::debts::search`: the
//! first page of 50 and the bounded count) for the common filters, as an org admin and as an
//! operator enabled on one debt type, and prints min / median / max of 7 runs each. Never fails on
//! timing; the target is < 100 ms per search.
//! Run with `cargo bench --bench search`; `MYPAY_BENCH_ROWS` changes the row count.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Instant;

use mypay::testing::domain::{Cents, Day, DebtState, Iuv, NoticeNumber, Party};
use mypay::testing::services::admin::access::OrgAccess;
use mypay::testing::services::debts::search::{self as debt_search, Criteria};
use mypay::testing::store::debts::DebtRecord;
use mypay::testing::store::receipts::{ReceiptRecord, ReceiptTransferRecord};
use mypay::testing::store::{Db, StoreError, debt_types, debts, orgs, receipts};

const SURNAMES: [&str; 20] = [
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
    "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
];
const NAMES: [&str; 10] = ["Mario", "Giulia", "Luca", "Francesca", "Marco", "Anna", "Paolo", "Sara", "Andrea", "Elena"];

fn mypay(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mypay"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("MYPAY_DATA_DIR")
        .env_remove("MYPAY_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn add_org(dir: &std::path::Path, ipa: &str, fiscal: &str, iban: &str) {
    mypay(
        dir,
        &[
            "org",
            "add",
            ipa,
            "--fiscal-code",
            fiscal,
            "--name",
            ipa,
            "--segregation-code",
            "02",
            "--iban",
            iban,
            "--state",
            "ESERCIZIO",
            "--mode",
            "flussi",
        ],
    );
    for (code, taxonomy) in [("TARI", "0101002IM"), ("IMU", "0101001IM"), ("MENSA", "0201102SP")] {
        mypay(
            dir,
            &[
                "debt-type",
                "add",
                "--org",
                ipa,
                "--code",
                code,
                "--description",
                code,
                "--taxonomy",
                taxonomy,
                "--due-date-mandatory",
            ],
        );
    }
}

/// A synthetic but well-formed-looking fiscal code per debtor number (the search compares text).
fn fiscal_code(debtor: usize) -> String {
    format!("BNCMRA{:02}A01F{:03}X", debtor % 100, debtor / 100 % 1000)
}

/// The IUV17 and notice number of debt `i` (org segregation code 02, generator 00).
fn iuv_of(i: usize) -> (Iuv, NoticeNumber) {
    let seg = mypay::testing::domain::SegregationCode::parse("02").unwrap();
    let generator = mypay::testing::domain::GeneratorId::parse("00").unwrap();
    let (iuv, notice) = mypay::testing::domain::generate_iuv17(seg, generator, u64::try_from(i).unwrap() + 1).unwrap();
    (iuv, notice)
}

fn fill(db: &Db, ipa: &str, rows: usize) {
    let org = db.read(|c| orgs::find_org_by_ipa(c, ipa)).unwrap().unwrap();
    let types = db.read(|c| debt_types::list_debt_types(c, org.id)).unwrap();
    let start = jiff::civil::date(2025, 1, 1);
    let chunk = 50_000;
    for first in (0..rows).step_by(chunk) {
        db.write(|tx| {
            for i in first..(first + chunk).min(rows) {
                let debtor = i % 100_000;
                let state = match i % 20 {
                    0 => DebtState::Annulled,
                    1..=5 => DebtState::Paid,
                    _ => DebtState::Inserted,
                };
                let due = start.checked_add(jiff::Span::new().days(i64::try_from(i % 730).unwrap())).unwrap();
                let (iuv, notice) = iuv_of(i);
                let record = DebtRecord {
                    org_id: org.id,
                    debt_type_id: types[i % types.len()].id,
                    iud: format!("{ipa}-{i:09}"),
                    iuv: Some(iuv),
                    notice_number: Some(notice),
                    state,
                    debtor: Party {
                        kind: "F".to_owned(),
                        id: fiscal_code(debtor),
                        name: format!("{} {}", SURNAMES[debtor % 20], NAMES[debtor / 20 % 10]),
                        ..Party::default()
                    },
                    due_date: Some(Day::from(due)),
                    amount_cents: Cents::new(1_000 + i64::try_from(i % 50_000).unwrap()),
                    payment_kinds: "ALL".to_owned(),
                    causale: format!("Rata {i}"),
                    collection_data: "9/0101002IM/".to_owned(),
                    source: "import".to_owned(),
                    ..DebtRecord::default()
                };
                let id = debts::insert_debt(tx, &record, "2025-01-01T00:00:00Z")?;
                if state == DebtState::Paid {
                    let day = i64::try_from(i / 20 % 700).unwrap();
                    let paid = start.checked_add(jiff::Span::new().days(day)).unwrap();
                    receipts::insert_receipt(
                        tx,
                        &receipt(org.id, id, &record, &paid.to_string()),
                        "2025-01-01T00:00:00Z",
                    )?;
                }
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }
}

fn receipt(org_id: i64, debt_id: i64, d: &DebtRecord, date: &str) -> ReceiptRecord {
    let party =
        Party { kind: "F".to_owned(), id: d.debtor.id.clone(), name: d.debtor.name.clone(), ..Party::default() };
    ReceiptRecord {
        org_id,
        debt_id: Some(debt_id),
        receipt_id: format!("R{debt_id}"),
        notice_number: d.notice_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
        iuv: d.iuv.as_ref().map(|i| i.as_str().to_owned()).unwrap_or_default(),
        outcome: "OK".to_owned(),
        amount_cents: d.amount_cents,
        description: d.causale.clone(),
        company_name: "Comune".to_owned(),
        debtor: party,
        psp_id: "PSP".to_owned(),
        psp_company_name: "PSP".to_owned(),
        channel_id: "C".to_owned(),
        channel_description: "C".to_owned(),
        payment_date: Day::parse(date).unwrap(),
        primitive: "paSendRTV2".to_owned(),
        request_xml: "<x/>".to_owned(),
        received_at: format!("{date}T10:00:00Z"),
        transfers: vec![ReceiptTransferRecord {
            index: 1,
            amount_cents: d.amount_cents,
            fiscal_code: "01199250158".to_owned(),
            iban: Some("IT60X0542811101000000123456".to_owned()),
            remittance: d.causale.clone(),
            category: "0101002IM".to_owned(),
            ..ReceiptTransferRecord::default()
        }],
        ..ReceiptRecord::default()
    }
}

fn time(db: &Db, access: &OrgAccess, label: &str, c: &Criteria, page: u64) {
    let mut runs = Vec::new();
    let mut found = (0, 0, false);
    for _ in 0..7 {
        let t = Instant::now();
        let query = debt_search::build_query(db, access, c).unwrap();
        let result = debt_search::search(db, access.org.id, &query, page).unwrap();
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
        found = (result.hits.len(), result.total, result.more);
    }
    runs.sort_by(f64::total_cmp);
    let more = if found.2 { "+" } else { "" };
    println!(
        "{label:<44} {:>7.2} {:>7.2} {:>7.2} ms   page {:>2} rows, count {}{more}",
        runs[0], runs[3], runs[6], found.0, found.1
    );
}

fn main() {
    let rows: usize = std::env::var("MYPAY_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    // MYPAY_BENCH_DIR keeps the database for a look at the query plans.
    let dir = std::env::var_os("MYPAY_BENCH_DIR").map_or_else(|| tmp.path().join("data"), std::path::PathBuf::from);
    let reuse = dir.join("mypay.db").exists();
    if !reuse {
        add_org(&dir, "c_f205", "01199250158", "IT60X0542811101000000123456");
        add_org(&dir, "c_a001", "00000000000", "IT60X0542811101000000123456");
    }
    let (db, _) = Db::open(&dir.join("mypay.db")).unwrap();
    if !reuse {
        let t = Instant::now();
        fill(&db, "c_f205", rows);
        fill(&db, "c_a001", rows / 20);
        println!("filled {} + {} debts in {:.1} s", rows, rows / 20, t.elapsed().as_secs_f64());
    }
    // What the server's housekeeping does within 5 minutes of a large import.
    let t = Instant::now();
    db.optimize().unwrap();
    println!("planner statistics refreshed in {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);

    let org = db.read(|c| orgs::find_org_by_ipa(c, "c_f205")).unwrap().unwrap();
    let types = db.read(|c| debt_types::list_debt_types(c, org.id)).unwrap();
    let admin = OrgAccess {
        username: "admin".to_owned(),
        org: org.clone(),
        admin: true,
        app_admin: false,
        allowed_types: None,
    };
    let operator = OrgAccess { admin: false, allowed_types: Some(vec![types[1].id]), ..admin.clone() };
    let mid = rows / 2;
    let c = |f: &dyn Fn(&mut Criteria)| {
        let mut c = Criteria::default();
        f(&mut c);
        c
    };
    println!("{:<44} {:>7} {:>7} {:>7}", "search (first page of 50 + count)", "min", "median", "max");
    time(&db, &admin, "no criteria", &Criteria::default(), 1);
    time(&db, &admin, "IUD", &c(&|c| c.iud = format!("c_f205-{mid:09}")), 1);
    time(&db, &admin, "IUV", &c(&|c| c.iuv = iuv_of(mid).0.as_str().to_owned()), 1);
    time(&db, &admin, "notice number", &c(&|c| c.notice = iuv_of(mid).1.as_str().to_owned()), 1);
    time(&db, &admin, "debtor fiscal code", &c(&|c| c.debtor_id = fiscal_code(4242)), 1);
    time(&db, &admin, "debtor name prefix \"Rossi M\"", &c(&|c| c.debtor_name = "Rossi M".to_owned()), 1);
    time(&db, &admin, "debtor name prefix \"ros\"", &c(&|c| c.debtor_name = "ros".to_owned()), 1);
    time(&db, &admin, "state COMPLETATO", &c(&|c| c.state = "COMPLETATO".to_owned()), 1);
    time(&db, &admin, "debt type IMU", &c(&|c| c.debt_type = "IMU".to_owned()), 1);
    let month = |c: &mut Criteria| {
        c.due_from = "2025-03-01".to_owned();
        c.due_to = "2025-03-31".to_owned();
    };
    time(&db, &admin, "due date in one month", &c(&month), 1);
    let week = |c: &mut Criteria| {
        c.paid_from = "2025-06-01".to_owned();
        c.paid_to = "2025-06-07".to_owned();
    };
    time(&db, &admin, "paid date in one week", &c(&week), 1);
    let combined = |c: &mut Criteria| {
        month(c);
        c.state = "INSERIMENTO_DOVUTO".to_owned();
        c.debt_type = "TARI".to_owned();
    };
    time(&db, &admin, "state + type + due month", &c(&combined), 1);
    time(&db, &admin, "no criteria, page 100", &Criteria::default(), 100);
    time(&db, &operator, "operator (1 type): no criteria", &Criteria::default(), 1);
    time(&db, &operator, "operator (1 type): name prefix \"Rossi\"", &c(&|c| c.debtor_name = "Rossi".to_owned()), 1);
    time(&db, &operator, "operator (1 type): state COMPLETATO", &c(&|c| c.state = "COMPLETATO".to_owned()), 1);
    time(&db, &operator, "operator (1 type): due month", &c(&month), 1);

    let t = Instant::now();
    let query = debt_search::build_query(&db, &admin, &c(&|c| c.debtor_name = "Rossi".to_owned())).unwrap();
    let bytes = debt_search::csv(&db, org.id, &query).unwrap();
    println!(
        "CSV of name prefix \"Rossi\": {} rows, {} KiB in {:.0} ms",
        bytes.iter().filter(|b| **b == b'\n').count() - 1,
        bytes.len() / 1024,
        t.elapsed().as_secs_f64() * 1000.0
    );
}
