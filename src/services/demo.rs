//! The demo data set: "Comune di Esempio" with three debt types, open debts with notice numbers
//! and an operator, so that a first run shows every feature without any configuration.
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
use crate::store::{Db, orgs};

/// The demo org's IPA code.
pub const DEMO_IPA: &str = "c_esempio";
/// The demo operator's username.
pub const DEMO_OPERATOR: &str = "demo";

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

/// Creates the demo data unless it is there already.
pub fn seed(db: &Db, now: Now) -> Result<Seeded, ServiceError> {
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
            functionalities: Some(vec!["PAGAMENTO_SPONTANEO".to_owned(), "AVVISO_DIGITALE".to_owned()]),
            ..OrgChanges::default()
        },
        now,
    )?;

    let types: [(&str, DebtTypeChanges); 3] = [
        (
            "CERT_ANAGRAFICI",
            DebtTypeChanges {
                description: some("Diritti di segreteria - certificati anagrafici"),
                spontaneous: Some(true),
                fixed_amount: some("16.00"),
                allow_anonymous: Some(true),
                print_due_date: Some(false),
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
                sector: some("Ufficio Tributi"),
                taxonomy_code: some("0101002IM"),
                ..DebtTypeChanges::default()
            },
        ),
    ];
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
            iud: format!("TARI-{}-{:04}", today.year(), idx + 1),
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
