//! The demo data set: "Comune di Esempio" with three debt types, open debts with notice numbers
//! and an operator, so that a first run shows every feature without any configuration.
//!
//! Two demos on one machine show the whole topology of issue 18: `mypay demo` is the region (its
//! own station, with the simulator), and `mypay demo --upstream URL` a municipality's box behind
//! it ([`DemoRole::Box`]): the same org there, with the region's demo SIL password and push key as its
//! upstream credentials, mirrored, so that its demo debts are queued for the region (without IUVs:
//! the region assigns them). The demo's SIL password and push key are public, for demos only.
//!
//! Seeding is idempotent: when the demo org exists nothing is added, so starting the demo twice on
//! the same data directory reuses what is there.

use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::services::ServiceError;
use crate::services::admin::debt_types::{DebtTypeChanges, add_debt_type};
use crate::services::admin::operators::{NewOperator, Role, add_operator};
use crate::services::admin::orgs::{OrgChanges, add_org};
use crate::services::admin::passwords;
use crate::services::debts::{Source, add_debt};
use crate::services::upstream::{outbox, settings};
use crate::store::{Db, orgs};

/// The demo org's IPA code.
pub const DEMO_IPA: &str = "c_esempio";
/// The demo operator's username.
pub const DEMO_OPERATOR: &str = "demo";
/// The demo org's SIL password (MyPay's 8 to 15 characters): public, for demos only. A box demo
/// calls the region demo's SIL with it.
pub const DEMO_SIL_PASSWORD: &str = "Esempio-SIL-1";
/// The key (base64, 64 bytes) a region demo signs its outcome pushes to a box demo with, and the
/// token's `kid`: public, for demos only.
pub const DEMO_PUSH_SECRET: &str =
    "bXlwYXkgZGVtbzogY2hpYXZlIGRlZ2xpIGVzaXRpIGRlbGxhIFJlZ2lvbmUsIHNvbG8gcGVyIGxhIGRlbW8hIQ==";
pub const DEMO_PUSH_KID: &str = "mypay-demo";

/// Which demo: its own pagoPA station (also a region for a box demo), or a box behind a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoRole {
    Station,
    Box,
}

/// What seeding did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seeded {
    /// The demo data was created; the operator's password is shown once.
    Created { operator_password: String, debts: usize },
    /// The data directory already had the demo org.
    AlreadyThere,
}

/// The form of the "free amount" spontaneous debt type: two fields the causale is built from.
const FORM_CONTRIBUTO: &str = r#"{
  "fields": [
    {"name": "evento", "type": "text", "label": "Evento o iniziativa", "required": true, "max": 60},
    {"name": "data_evento", "type": "date", "label": "Data dell'evento", "required": false}
  ],
  "causale": "Contributo {evento}",
  "amount": "typed"
}"#;

/// Debtors of the demo debts: valid fiscal codes of fictitious people.
const DEBTORS: &[(&str, &str, &str)] = &[
    ("RSSMRA85T10A562S", "Mario Rossi", "Via Roma 1"),
    ("BNCGLI90A41F205H", "Giulia Bianchi", "Corso Italia 24"),
    ("VRDLCU72C15H501Y", "Luca Verdi", "Piazza Garibaldi 3"),
    ("NREFNC80E50L219P", "Francesca Neri", "Via Dante 15"),
    ("GLLPLA65M12D612N", "Paolo Gialli", "Viale Europa 7"),
];

/// The IUD of demo debt `n`: a box's differ from the region demo's own, so that both show.
fn iud(role: DemoRole, year: i16, n: usize) -> String {
    match role {
        DemoRole::Station => format!("TARI-{year}-{n:04}"),
        DemoRole::Box => format!("TARI-{year}-COMUNE-{n:04}"),
    }
}

/// Creates the station demo's data unless it is there already.
pub fn seed(db: &Db, now: Now) -> Result<Seeded, ServiceError> {
    seed_as(db, now, DemoRole::Station)
}

/// Creates the data of the demo in `role` unless it is there already.
pub fn seed_as(db: &Db, now: Now, role: DemoRole) -> Result<Seeded, ServiceError> {
    let today = now.today();
    if db.read(|conn| orgs::find_org_by_ipa(conn, DEMO_IPA))?.is_some() {
        return Ok(Seeded::AlreadyThere);
    }
    let actor = "demo";
    let some = |s: &str| Some(s.to_owned());
    add_org(
        db,
        actor,
        DEMO_IPA,
        &OrgChanges {
            fiscal_code: some("01234567897"),
            name: some("Comune di Esempio"),
            state: some("ESERCIZIO"),
            segregation_code: some("01"),
            cbill_code: some("A1B2C"),
            iban_bank: some("IT60X0542811101000000123456"),
            iban_postal: some("IT22L0760101600000012345678"),
            postal_account: some("12345678"),
            postal_account_holder: some("Comune di Esempio - Servizio Tesoreria"),
            address: some("Piazza del Municipio"),
            civic_number: some("1"),
            postal_code: some("20100"),
            city: some("Esempio"),
            province: some("MI"),
            country: some("IT"),
            phone: some("+39 02 0000000"),
            website: some("https://www.comune.esempio.it"),
            email: some("protocollo@comune.esempio.it"),
            info_text: some("Qui puoi pagare con pagoPA i servizi e i tributi del Comune di Esempio."),
            functionalities: Some(vec!["PAGAMENTO_SPONTANEO".to_owned()]),
            // The demo shows every channel: the SIL, imports, the REST API, outcome pushes.
            mode: some("ente"),
            ..OrgChanges::default()
        },
        now,
    )?;

    crate::services::admin::orgs::set_sil_password(db, actor, DEMO_IPA, DEMO_SIL_PASSWORD, now)?;
    if role == DemoRole::Box {
        // The same org at the region demo, reached with that demo's SIL password; its pushes are
        // signed as MyPay (and a region demo given the key) signs them: `kid`, `iss` mypay, `sub` the org.
        let link = settings::UpstreamChanges {
            password: some(DEMO_SIL_PASSWORD),
            push_secret: some(DEMO_PUSH_SECRET),
            push_kid: some(DEMO_PUSH_KID),
            push_iss: some("mypay"),
            push_sub: some(DEMO_IPA),
            ..Default::default()
        };
        settings::set(db, actor, DEMO_IPA, &link, now)?;
        // Before the debts: each is then queued for the region in its own transaction.
        outbox::set_mirrored(db, actor, DEMO_IPA, true, now)?;
    }

    let types: [(&str, DebtTypeChanges); 3] = [
        (
            "CERT_ANAGRAFICI",
            DebtTypeChanges {
                description: some("Diritti di segreteria - certificati anagrafici"),
                spontaneous: Some(true),
                fixed_amount: some("16.00"),
                allow_anonymous: Some(true),
                print_due_date: Some(false),
                push_outcome: Some(true),
                sector: some("Servizi demografici"),
                taxonomy_code: some("0101108TS"),
                catalog_service_id: some("00001"),
                ..DebtTypeChanges::default()
            },
        ),
        (
            "CONTRIBUTO_EVENTI",
            DebtTypeChanges {
                description: some("Contributo per eventi e iniziative culturali"),
                spontaneous: Some(true),
                form_definition: some(FORM_CONTRIBUTO),
                allow_anonymous: Some(true),
                print_due_date: Some(false),
                push_outcome: Some(true),
                sector: some("Cultura e tempo libero"),
                taxonomy_code: some("0101101SP"),
                ..DebtTypeChanges::default()
            },
        ),
        (
            "TARI",
            DebtTypeChanges {
                description: some("TARI - Tassa sui rifiuti"),
                spontaneous: Some(false),
                due_date_mandatory: Some(true),
                print_due_date: Some(true),
                push_outcome: Some(true),
                sector: some("Ufficio Tributi"),
                taxonomy_code: some("0101002IM"),
                ..DebtTypeChanges::default()
            },
        ),
    ];
    // Every type pushes its outcomes (MyPay's `flg_notifica_esito_push`): nothing is sent until
    // the org has a push target, such as a box demo's (`mypay org set --push-url`).
    for (code, changes) in &types {
        add_debt_type(db, actor, DEMO_IPA, code, changes, now)?;
    }

    let mut n_debts = 0;
    for (idx, (fiscal_code, name, address)) in DEBTORS.iter().cycle().take(20).enumerate() {
        let installment = idx / DEBTORS.len() + 1;
        // Rates fall due at the end of each of the next four months, so they are all open.
        let due = today.checked_add(jiff::Span::new().months(i64::try_from(installment).unwrap_or(1))).unwrap_or(today);
        let amount_cents = 8_000 + i64::try_from(idx).unwrap_or(0) * 1_275;
        let fields = DebtFields {
            iud: iud(role, today.year(), idx + 1),
            debtor_kind: "F".to_owned(),
            debtor_id: (*fiscal_code).to_owned(),
            debtor_name: (*name).to_owned(),
            debtor_address: (*address).to_owned(),
            debtor_postal_code: "20100".to_owned(),
            debtor_city: "Esempio".to_owned(),
            debtor_province: "MI".to_owned(),
            debtor_country: "IT".to_owned(),
            due_date: due.to_string(),
            amount: crate::domain::Cents::new(amount_cents).to_decimal_string(),
            debt_type: "TARI".to_owned(),
            causale: format!("TARI {} - rata {installment} di 4", today.year()),
            collection_data: "9/0101002IM/".to_owned(),
            generate_iuv: true,
            ..DebtFields::default()
        };
        add_debt(db, actor, DEMO_IPA, &fields, Source::Demo, now)?;
        n_debts += 1;
    }

    let operator_password = passwords::random_password(16)?;
    add_operator(
        db,
        actor,
        &NewOperator {
            username: DEMO_OPERATOR,
            password: &operator_password,
            role: Role::OrgAdmin,
            org_ipa: Some(DEMO_IPA),
            full_name: Some("Operatore dimostrativo"),
            email: None,
        },
        now,
    )?;
    Ok(Seeded::Created { operator_password, debts: n_debts })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::services::upstream::status;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        (dir, db)
    }

    fn now() -> Now {
        Now::at("2026-01-10T10:00:00Z".parse().unwrap())
    }

    /// The station demo (also a region) has the demo's SIL password and no upstream settings;
    /// the box demo is linked with the demo's credentials, mirrored, and its debts are queued
    /// without IUVs, under IUDs of its own.
    #[test]
    fn a_box_demo_is_linked_mirrored_and_its_debts_queued() {
        let (_dir, station) = db();
        assert!(matches!(seed(&station, now()).unwrap(), Seeded::Created { debts: 20, .. }));
        let org = crate::services::admin::orgs::get_org(&station, DEMO_IPA).unwrap();
        assert!(org.has_sil_password);
        assert!(crate::services::admin::passwords::check_sil_password(DEMO_SIL_PASSWORD).is_ok());
        assert!(!status::view(&station, DEMO_IPA).unwrap().configured);
        assert_eq!(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, DEMO_PUSH_SECRET).unwrap().len(),
            64
        );

        let (_dir, boxed) = db();
        assert!(matches!(seed_as(&boxed, now(), DemoRole::Box).unwrap(), Seeded::Created { debts: 20, .. }));
        let link = status::view(&boxed, DEMO_IPA).unwrap();
        assert!(link.configured && link.password_set && link.push_secret_set, "{link:?}");
        assert_eq!(link.region_ipa, DEMO_IPA);
        assert_eq!(
            (link.push_kid.as_deref(), link.push_iss.as_deref(), link.push_sub.as_deref()),
            (Some(DEMO_PUSH_KID), Some("mypay"), Some(DEMO_IPA))
        );
        assert!(link.outbox.mirrored);
        assert_eq!(link.outbox.waiting, 20);
        let head = link.outbox.head.unwrap();
        assert_eq!((head.action, head.subject.as_deref()), ("I", Some("TARI-2026-COMUNE-0001")));
        let creds = settings::creds_of(&boxed, link_org_id(&boxed)).unwrap().unwrap();
        assert_eq!(creds.password.expose(), DEMO_SIL_PASSWORD);
        let debt = boxed
            .read(|c| crate::store::debts::find_debt_by_iud(c, link_org_id(&boxed), "TARI-2026-COMUNE-0001"))
            .unwrap()
            .unwrap();
        assert_eq!(debt.iuv, None, "the region assigns it");
        assert!(matches!(seed_as(&boxed, now(), DemoRole::Box).unwrap(), Seeded::AlreadyThere));
    }

    fn link_org_id(db: &Db) -> i64 {
        crate::services::admin::orgs::get_org(db, DEMO_IPA).unwrap().id
    }
}
