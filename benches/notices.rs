//! Notice rendering benchmark: notices per second on one core and the size of one notice.
//! Prints figures and never fails on timing (targets: ≥ 200 notices/s, < 100 KB per notice).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use mypay::testing::domain::{Day, Party};
use mypay::testing::store::debt_types::DebtTypeRecord;
use mypay::testing::store::debts::DebtRecord;
use mypay::testing::store::orgs::OrgRecord;

fn main() {
    let org = OrgRecord {
        name: "Comune di Esempio".into(),
        fiscal_code: "01234567897".into(),
        cbill_code: Some("A1B2C".into()),
        postal_account: Some("12345678".into()),
        poste_authorization: Some("AUT. DB/SSIC/E 12345 DEL 01/01/2020".into()),
        address: Some("Piazza del Municipio".into()),
        city: Some("Esempio".into()),
        phone: Some("+39 02 0000000".into()),
        ..OrgRecord::default()
    };
    let debt_type = DebtTypeRecord {
        code: "TARI".into(),
        print_due_date: true,
        sector: Some("Ufficio Tributi".into()),
        ..Default::default()
    };
    let debt = DebtRecord {
        iud: "B1".into(),
        state: mypay::testing::domain::DebtState::Inserted,
        notice_number: Some(mypay::testing::domain::NoticeNumber::parse("301000000000000144").unwrap()),
        iuv: Some(mypay::testing::domain::Iuv::parse("01000000000000144").unwrap()),
        debtor: Party {
            id: "RSSMRA85T10A562S".into(),
            name: "Mario Rossi".into(),
            address: Some("Via Roma 1".into()),
            ..Party::default()
        },
        due_date: Some(Day::parse("2030-12-31").unwrap()),
        amount_cents: mypay::testing::domain::Cents::new(15_000),
        causale: "TARI 2030 - rata unica".into(),
        ..DebtRecord::default()
    };
    for (label, postal) in [("plain", false), ("postal", true)] {
        let mut org = org.clone();
        if !postal {
            org.poste_authorization = None;
        }
        let view = mypay::testing::services::debts::documents::build_notice(&org, None, &debt_type, &debt).unwrap();
        let size = mypay::testing::pdf::notice_pdf(&view).unwrap().len();
        let started = Instant::now();
        let mut n = 0u32;
        while started.elapsed() < Duration::from_secs(3) {
            std::hint::black_box(mypay::testing::pdf::notice_pdf(std::hint::black_box(&view)).unwrap());
            n += 1;
        }
        let per_second = f64::from(n) / started.elapsed().as_secs_f64();
        println!(
            "notice ({label}): {per_second:.0} notices/s on one core (target >= 200), {size} bytes each (target < 100 KB)"
        );
    }
}
