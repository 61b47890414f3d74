//! The middle test tier: a real database with one org in production and two debt types, built
//! through the services themselves, so that a service rule is tested in milliseconds without
//! starting the server. Tests only.
//!
//! The database is a file in a temporary folder rather than SQLite's `:memory:`: the same WAL
//! setup, writer and reader pool as production, at the cost of a few milliseconds.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail the test loudly")]

use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::domain::{Cents, NoticeNumber};
use crate::services::admin::debt_types::{DebtTypeChanges, add_debt_type};
use crate::services::admin::orgs::{OrgChanges, add_org};
use crate::services::debts::{Source, add_debt};
use crate::store::Db;
use crate::store::debts::DebtRecord;

/// The kit's org.
pub const IPA: &str = "c_prova";
pub const FISCAL_CODE: &str = "01234567897";
pub const IBAN: &str = "IT60X0542811101000000123456";
pub const POSTAL_IBAN: &str = "IT22L0760101600000012345678";

/// A database seeded with org [`IPA`] (ESERCIZIO, bank and postal IBAN) and its debt types `TARI`
/// (by notice) and `CERT` (spontaneous, 16.00).
pub struct Kit {
    _dir: tempfile::TempDir,
    pub db: Db,
    /// 2026-12-07 at 10:00 in Rome.
    pub now: Now,
}

impl Kit {
    pub fn new() -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let now = Now::at("2026-12-07T09:00:00Z".parse().unwrap());
        let some = |s: &str| Some(s.to_owned());
        let org = OrgChanges {
            fiscal_code: some(FISCAL_CODE),
            name: some("Comune di Prova"),
            state: some("ESERCIZIO"),
            segregation_code: some("01"),
            iban_bank: some(IBAN),
            iban_postal: some(POSTAL_IBAN),
            // Every channel open: the tests of a channel's own rules are not about the mode.
            mode: some("ente"),
            ..OrgChanges::default()
        };
        add_org(&db, "test", IPA, &org, now).unwrap();
        let tari = DebtTypeChanges {
            description: some("TARI"),
            taxonomy_code: some("0101002IM"),
            ..DebtTypeChanges::default()
        };
        add_debt_type(&db, "test", IPA, "TARI", &tari, now).unwrap();
        let cert = DebtTypeChanges {
            description: some("Certificati"),
            spontaneous: Some(true),
            fixed_amount: some("16.00"),
            taxonomy_code: some("0101108TS"),
            ..DebtTypeChanges::default()
        };
        add_debt_type(&db, "test", IPA, "CERT", &cert, now).unwrap();
        Kit { _dir: dir, db, now }
    }

    /// A `TARI` debt of `cents` with a generated IUV and notice number.
    pub fn debt(&self, iud: &str, cents: i64) -> DebtRecord {
        add_debt(&self.db, "test", IPA, &tari_fields(iud, cents), Source::Cli, self.now).unwrap()
    }

    /// The temporary folder (to keep while the database is used), the database and the time: for
    /// a test that hands the database to something that owns it (the web state).
    pub fn into_parts(self) -> (tempfile::TempDir, Db, Now) {
        (self._dir, self.db, self.now)
    }

    /// The notice number of a debt made by [`Kit::debt`].
    pub fn notice(debt: &DebtRecord) -> NoticeNumber {
        debt.notice_number.clone().unwrap()
    }
}

/// The header of a debt flow's CSV in layout 1_4, for tests that build flows.
pub const HEADER_1_4: &str = "IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;\
    indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;emailPagatore;\
    dataScadenzaPagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;\
    datiSpecificiRiscossione;bilancio;flagGeneraIuv;flagMultiBeneficiario;codiceFiscaleEnteSecondario;\
    denominazioneEnteSecondario;ibanAccreditoEnteSecondario;indirizzoEnteSecondario;civicoEnteSecondario;\
    capEnteSecondario;localitaEnteSecondario;provinciaEnteSecondario;nazioneEnteSecondario;\
    datiSpecificiRiscossioneEnteSecondario;causaleVersamentoEnteSecondario;importoVersamentoEnteSecondario;azione";

/// The fields of a `TARI` debt of `cents`, with a generated IUV.
pub fn tari_fields(iud: &str, cents: i64) -> DebtFields {
    DebtFields {
        iud: iud.to_owned(),
        debtor_kind: "F".to_owned(),
        debtor_id: "RSSMRA85T10A562S".to_owned(),
        debtor_name: "Mario Rossi".to_owned(),
        amount: Cents::new(cents).to_decimal_string(),
        debt_type: "TARI".to_owned(),
        causale: "TARI 2026".to_owned(),
        collection_data: "9/0101002IM/".to_owned(),
        generate_iuv: true,
        ..DebtFields::default()
    }
}
