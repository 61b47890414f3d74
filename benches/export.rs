//! Receipt export benchmark: 1,000,000 stored receipts exported as layout 1.3 with the receipt
//! columns by the real `mypay export` command; prints seconds and peak RSS (targets: ≤ 10 s and
//! < 100 MB), and for reference the time of `sqlite3 -csv` selecting the same rows. Never fails on
//! timing. Run: `cargo bench --bench export` (BENCH_RECEIPTS to change the count).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::process::Command;
use std::time::Instant;

use mypay::testing::domain::{Cents, Day, GeneratorId, Party, SegregationCode, generate_iuv17};
use mypay::testing::store::Db;
use mypay::testing::store::debts::{self, DebtRecord};
use mypay::testing::store::receipts::{self, ReceiptRecord, ReceiptTransferRecord};

fn main() {
    let n: usize = std::env::var("BENCH_RECEIPTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (db, _) = Db::open(&data.join("mypay.db")).unwrap();
    mypay::testing::services::demo::seed(&db, mypay::testing::clock::Now::at("2026-11-30T00:00:00Z".parse().unwrap()))
        .unwrap();
    let (org_id, type_id) = db
        .read(|c| {
            let org = mypay::testing::store::orgs::find_org_by_ipa(c, "c_esempio")?.unwrap();
            let t = mypay::testing::store::debt_types::find_debt_type(c, org.id, "TARI")?.unwrap();
            Ok::<_, mypay::testing::store::StoreError>((org.id, t.id))
        })
        .unwrap();
    let seeding = Instant::now();
    let xml = "<soapenv:Envelope>".to_owned() + &"x".repeat(1500) + "</soapenv:Envelope>";
    db.write(|tx| {
        for i in 0..n {
            let (iuv, notice) = generate_iuv17(
                SegregationCode::parse("01").unwrap(),
                GeneratorId::parse("99").unwrap(),
                u64::try_from(i).unwrap() + 1,
            )
            .unwrap();
            let debt = DebtRecord {
                org_id,
                debt_type_id: type_id,
                iud: format!("BENCH-{i:07}"),
                iuv: Some(iuv.clone()),
                notice_number: Some(notice.clone()),
                state: mypay::testing::domain::DebtState::Paid,
                debtor: Party {
                    kind: "F".into(),
                    id: "RSSMRA85T10A562S".into(),
                    name: "Mario Rossi".into(),
                    address: Some("Via Roma 1".into()),
                    ..Party::default()
                },
                amount_cents: Cents::new(12_345),
                payment_kinds: "ALL".into(),
                causale: "TARI 2026 - rata unica \"saldo\"; grazie".into(),
                collection_data: "9/0101002IM/".into(),
                source: "import".into(),
                ..DebtRecord::default()
            };
            let debt_id = debts::insert_debt(tx, &debt, "2026-11-30T00:00:00Z")?;
            let receipt = ReceiptRecord {
                org_id,
                debt_id: Some(debt_id),
                receipt_id: format!("{i:032x}"),
                notice_number: notice.as_str().to_owned(),
                iuv: iuv.as_str().to_owned(),
                outcome: "OK".into(),
                amount_cents: Cents::new(12_345),
                fee_cents: Some(Cents::new(150)),
                description: "TARI 2026".into(),
                company_name: "Comune di Esempio".into(),
                debtor: Party {
                    kind: "F".into(),
                    id: "RSSMRA85T10A562S".into(),
                    name: "Mario Rossi".into(),
                    ..Party::default()
                },
                payer: Some(Party {
                    kind: "F".into(),
                    id: "BNCGLI90A41F205H".into(),
                    name: "Giulia Bianchi".into(),
                    ..Party::default()
                }),
                psp_id: "BCITITMM".into(),
                psp_company_name: "Banca di Prova".into(),
                channel_id: "BCITITMM_01".into(),
                channel_description: "app".into(),
                payment_date_time: Some("2026-11-30T10:15:00".into()),
                payment_date: Day::parse("2026-11-30").unwrap(),
                primitive: "paSendRTV2".into(),
                request_xml: xml.clone(),
                transfers: vec![ReceiptTransferRecord {
                    index: 1,
                    amount_cents: Cents::new(12_345),
                    fiscal_code: "01234567897".into(),
                    iban: Some("IT60X0542811101000000123456".into()),
                    remittance: "TARI 2026".into(),
                    category: "0101002IM".into(),
                    ..ReceiptTransferRecord::default()
                }],
                ..ReceiptRecord::default()
            };
            receipts::insert_receipt(tx, &receipt, "2026-11-30T09:15:00Z")?;
        }
        Ok::<_, mypay::testing::store::StoreError>(())
    })
    .unwrap();
    drop(db);
    println!("seeded {n} paid debts with receipts in {:.1} s", seeding.elapsed().as_secs_f64());

    for with_receipt in [false, true] {
        let out = tmp.path().join(format!("export-{with_receipt}.zip"));
        let mut args = vec![
            "export",
            "--org",
            "c_esempio",
            "--from",
            "2026-11-30",
            "--to",
            "2026-11-30",
            "--version",
            "1.3",
            "--json",
        ];
        if with_receipt {
            args.push("--with-receipt");
        }
        let started = Instant::now();
        let run = Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%U %M")
            .arg(env!("CARGO_BIN_EXE_mypay"))
            .arg("--data-dir")
            .arg(&data)
            .args(&args)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&run.stderr);
        let last = stderr.lines().last().unwrap_or_default().to_owned();
        let mut figures = last.split_whitespace();
        let cpu: f64 = figures.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        let peak_kb: u64 = figures.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        println!(
            "mypay export 1.3{}: {n} rows in {seconds:.2} s ({cpu:.1} s CPU) = {:.0} rows/s, peak RSS {:.1} MB, zip {:.1} MB",
            if with_receipt { " + receipt (1.5 KB XML, base64)" } else { "" },
            n as f64 / seconds,
            peak_kb as f64 / 1024.0,
            std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
        );
    }

    let sql = "SELECT r.receipt_id, r.iuv, r.amount_cents, r.description, r.debtor_id, r.payer_id, r.psp_id, \
               r.payment_date, t.amount_cents, t.category, d.iud, d.causale, x.request_xml FROM receipt r JOIN receipt_document x ON x.receipt_id = r.id \
               JOIN receipt_transfer t ON t.receipt_id = r.id LEFT JOIN debt d ON d.id = r.debt_id \
               WHERE r.org_id = 1 AND r.payment_date BETWEEN '2026-11-30' AND '2026-11-30';";
    let started = Instant::now();
    let reference = Command::new("sqlite3")
        .arg("-csv")
        .arg(data.join("mypay.db"))
        .arg(sql)
        .stdout(std::fs::File::create(tmp.path().join("ref.csv")).unwrap())
        .status();
    match reference {
        Ok(status) if status.success() => {
            println!(
                "reference: sqlite3 -csv of the same rows (uncompressed) in {:.2} s",
                started.elapsed().as_secs_f64()
            )
        }
        _ => println!("reference: skipped (sqlite3 not available)"),
    }
}
