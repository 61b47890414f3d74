//! Reconciliation's vocabulary: the sources a payment is matched across, what the
//! municipality's treasury and notification files say once read, and MyPivot's labels.
//!
//! Owns: [`Source`] (MyPivot's flow-type codes), [`TreasuryMovement`] and [`TreasuryEvent`] (one
//! credit on the treasury account, from the giornale di cassa CSV, OPI XML, bank movements or a
//! Poste statement), [`PaymentNotification`] (the municipality's own record that a debt was paid),
//! [`PosteReportingRow`] (the legacy Poste rendicontazione), and [`Label`] (the 14 classifications
//! with their captions and the org flags they need); `causale`, the keys (IUF, IUV) a treasury
//! movement's free text names. These are the seam between the file readers
//! (`flows::recon`) and the classification (`services::reconciliation`): a reader produces them,
//! the store keeps them, the classifier reads them back.
//! Must never: parse a file format (that is `flows::recon`'s), read the store, or panic.
//! Implements: `shared/reference/mypivot.md` §1 (what each source carries), §3.2 (labels).

pub mod accertamento;
pub mod causale;
pub mod classify;

use crate::domain::{Cents, Day, Party};

/// Where a reconciliation fact comes from: MyPivot's flow-type codes (mypivot.md §1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// D: the municipality's payment notifications by IUD ("import pagati").
    Notification,
    /// E: a receipt, from mypay's own store.
    Receipt,
    /// R: a reporting flow (FdR) row, from mypay's own store.
    Reporting,
    /// T: bank movements, an Excel sheet.
    BankMovements,
    /// C: the treasurer's giornale di cassa, CSV.
    CashJournal,
    /// O: the giornale di cassa as OPI XML (1.4, 1.6.1).
    Opi,
    /// Y: a Poste Italiane account statement, CSV.
    PosteStatement,
    /// P: the legacy Poste rendicontazione, CSV.
    PosteReporting,
}

impl Source {
    /// Every source, in MyPivot's code order of §1.0.
    pub const ALL: [Source; 8] = [
        Source::Receipt,
        Source::Reporting,
        Source::BankMovements,
        Source::CashJournal,
        Source::Opi,
        Source::PosteStatement,
        Source::PosteReporting,
        Source::Notification,
    ];

    /// MyPivot's one-letter code, as files, the CLI (`--kind`) and the SIL name it.
    pub fn code(self) -> char {
        match self {
            Source::Notification => 'D',
            Source::Receipt => 'E',
            Source::Reporting => 'R',
            Source::BankMovements => 'T',
            Source::CashJournal => 'C',
            Source::Opi => 'O',
            Source::PosteStatement => 'Y',
            Source::PosteReporting => 'P',
        }
    }

    /// The source of a one-letter code (upper case only, as MyPivot writes them).
    pub fn from_code(code: char) -> Option<Source> {
        Source::ALL.into_iter().find(|source| source.code() == code)
    }

    /// Whether the municipality uploads this source (E and R come from mypay's own store).
    pub fn uploaded(self) -> bool {
        !matches!(self, Source::Receipt | Source::Reporting)
    }

    /// Whether rows of this source are treasury movements (money that reached the account).
    pub fn is_treasury(self) -> bool {
        matches!(self, Source::BankMovements | Source::CashJournal | Source::Opi | Source::PosteStatement)
    }
}

/// The treasurer's number of a movement: a later file with the same bolletta replaces it (C, O)
/// and an OPI reversal (STORNATO) deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bolletta {
    /// The financial year (esercizio, anno bolletta).
    pub year: i32,
    /// The bolletta's number within the year (at most 7 characters at MyPivot; Poste: `P000001`).
    pub number: String,
}

/// An OPI "sospeso da regolarizzare": a provisional receipt the treasurer opened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provisional {
    /// `data_effettiva_sospeso`.
    pub day: Option<Day>,
    /// `codice_gestionale_provvisorio`.
    pub code: Option<String>,
}

/// The fields only a bank-movements sheet (T) carries (mypivot.md §1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BankDetails {
    /// ABI of the bank (5 digits).
    pub abi: Option<String>,
    /// CAB of the branch (5 digits).
    pub cab: Option<String>,
    /// The currency column (`EUR`).
    pub currency: Option<String>,
    /// `NUM. ASSEGNO`.
    pub cheque: Option<String>,
    /// `RIF. BANCA`.
    pub bank_reference: Option<String>,
    /// `RIF. CLIENTE`.
    pub customer_reference: Option<String>,
    /// `Data Ordine: dd/MM/yyyy;` found in the extended description.
    pub order_day: Option<Day>,
    /// `Descrizione Ordinante: …:` found in the extended description.
    pub orderer: Option<String>,
    /// The `:XXX:` tags of the extended description (`BI2`, `OR1`, …), in order of appearance.
    pub tags: Vec<(String, String)>,
}

/// One credit on the treasury account, as a treasury file (T, C, O, Y) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasuryMovement {
    /// Which kind of file it came from.
    pub source: Source,
    /// C, O, Y: the treasurer's number; T: none.
    pub bolletta: Option<Bolletta>,
    /// The account (conto di tesoreria, Poste account).
    pub account: Option<String>,
    /// Data contabile (C, T, Y) or `data_movimento` (O).
    pub booking_day: Day,
    /// Data valuta (`data_valuta_ente` for O), when given.
    pub value_day: Option<Day>,
    /// The credited amount; always positive (debits are not movements here).
    pub amount: Cents,
    /// The text the keys were searched in: C/O causale, Y column 9, T `DESCRIZIONE ESTESA`.
    pub causale: String,
    /// Who sent the money (ordinante, `anagrafica_cliente`), when given.
    pub payer_name: Option<String>,
    /// The reporting flow id (IUF) the causale names, for a cumulative transfer.
    pub iuf: Option<String>,
    /// The IUV the causale names, for a single payment transferred on its own.
    pub iuv: Option<String>,
    /// The SEPA end-to-end id (OPI `end_to_end_id` or `dati_a_disposizione_BT/identificativo_end_to_end`).
    pub end_to_end_id: Option<String>,
    /// OPI `numero_documento`.
    pub document: Option<String>,
    /// OPI sospeso, when the movement is one.
    pub provisional: Option<Provisional>,
    /// T only.
    pub bank: Option<BankDetails>,
}

/// What a treasury file asks for, movement by movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreasuryEvent {
    /// A credit to keep (or, with a bolletta already known, to replace).
    Movement(Box<TreasuryMovement>),
    /// An OPI reversal (SOSPESO ENTRATA, STORNATO): the bolletta is to be deleted.
    Reversal(Bolletta),
}

/// The municipality's record that one of its debts was paid (D, mypivot.md §1.6); a later file
/// with the same IUD replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentNotification {
    /// The municipality's own debt id.
    pub iud: String,
    /// The IUV the payment was made on.
    pub iuv: String,
    /// Who paid (tipoIdentificativoUnivoco, codice, anagrafica, address, e-mail).
    pub payer: Party,
    /// dataEsecuzionePagamento.
    pub paid_on: Day,
    /// importoDovutoPagato.
    pub amount: Cents,
    /// commissioneCaricoPa, when given.
    pub fee: Option<Cents>,
    /// tipoDovuto.
    pub debt_type: String,
    /// tipoVersamento.
    pub payment_kind: String,
    /// causaleVersamento.
    pub causale: String,
    /// datiSpecificiRiscossione.
    pub collection_data: String,
    /// bilancio (MyPay's XML), when given.
    pub bilancio: Option<String>,
}

/// One line of the legacy Poste rendicontazione (P, mypivot.md §1.5): a reported credit with an
/// IUR and no IUV, so it never joins a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosteReportingRow {
    /// Data_Operazione.
    pub operation_day: Day,
    /// Ufficio_Postale.
    pub office: String,
    /// Importo.
    pub amount: Cents,
    /// Data_Accredito.
    pub credit_day: Day,
    /// Quarto_campo without `*`, its first 16 characters.
    pub iur: String,
}

/// MyPivot's classifications of a transfer (mypivot.md §3.2, §3.3). A transfer may carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// Notified, paid, reported and transferred.
    IudRtIufTes,
    /// Notified, paid and reported.
    IudRtIuf,
    /// Paid, reported, and transferred in a cumulative transfer.
    RtIufTes,
    /// Paid and reported.
    RtIuf,
    /// Paid and transferred on its own (no reporting flow).
    RtTes,
    /// Paid, but not (or wrongly) reported.
    RtNoIuf,
    /// Paid, but never notified by the municipality.
    RtNoIud,
    /// Notified, but no matching receipt.
    IudNoRt,
    /// Reported, but no receipt.
    IuvNoRt,
    /// Reported, but never transferred.
    IufNoTes,
    /// Reported and transferred with another amount.
    IufTesDivImp,
    /// Transferred, but neither reported nor paid.
    TesNoIufOrIuv,
    /// A treasury movement with no key at all.
    TesNoMatch,
    /// The same IUV and amount reported twice (paid, and paid without RPT).
    Doppi,
}

impl Label {
    /// Every label, in MyPivot's order of §3.2.
    pub const ALL: [Label; 14] = [
        Label::IudRtIufTes,
        Label::IudRtIuf,
        Label::RtIufTes,
        Label::RtIuf,
        Label::RtTes,
        Label::RtNoIuf,
        Label::RtNoIud,
        Label::IudNoRt,
        Label::IuvNoRt,
        Label::IufNoTes,
        Label::IufTesDivImp,
        Label::TesNoIufOrIuv,
        Label::TesNoMatch,
        Label::Doppi,
    ];

    /// MyPivot's code, as exports, the CLI and the SIL write it.
    pub fn code(self) -> &'static str {
        match self {
            Label::IudRtIufTes => "IUD_RT_IUF_TES",
            Label::IudRtIuf => "IUD_RT_IUF",
            Label::RtIufTes => "RT_IUF_TES",
            Label::RtIuf => "RT_IUF",
            Label::RtTes => "RT_TES",
            Label::RtNoIuf => "RT_NO_IUF",
            Label::RtNoIud => "RT_NO_IUD",
            Label::IudNoRt => "IUD_NO_RT",
            Label::IuvNoRt => "IUV_NO_RT",
            Label::IufNoTes => "IUF_NO_TES",
            Label::IufTesDivImp => "IUF_TES_DIV_IMP",
            Label::TesNoIufOrIuv => "TES_NO_IUF_OR_IUV",
            Label::TesNoMatch => "TES_NO_MATCH",
            Label::Doppi => "DOPPI",
        }
    }

    /// The label of a code (exact spelling).
    pub fn from_code(code: &str) -> Option<Label> {
        Label::ALL.into_iter().find(|label| label.code() == code)
    }

    /// MyPivot's caption, as the back office shows it.
    pub fn caption_it(self) -> &'static str {
        match self {
            Label::IudRtIufTes => "Pagamenti notificati",
            Label::IudRtIuf => "Pagamenti notificati e rendicontati",
            Label::RtIufTes => "Pagamenti riversati cumulativamente",
            Label::RtIuf => "Pagamenti rendicontati",
            Label::RtTes => "Pagamenti riversati puntualmente",
            Label::RtNoIuf => "Pagamenti non correttamente rendicontati",
            Label::RtNoIud => "Pagamenti non correttamente notificati",
            Label::IudNoRt => "Notifiche di pagamenti non eseguiti",
            Label::IuvNoRt => "Rendicontazioni di pagamenti non eseguiti",
            Label::IufNoTes => "Rendicontazioni non correttamente riversate",
            Label::IufTesDivImp => "Rendicontazioni riversate con importo scorretto",
            Label::TesNoIufOrIuv => "Riversamenti non rendicontati o di pagamenti non eseguiti",
            Label::TesNoMatch => "Riversamenti di tesoreria sconosciuti",
            Label::Doppi => "Pagamenti doppi",
        }
    }

    /// Whether the label applies to an org with the given flags: `pagati` (the org sends payment
    /// notifications) and `tesoreria` (it loads its treasury). MyPivot's UI column of §3.2, where
    /// a label that needs a flag is offered only when the org has it.
    pub fn applies(self, pagati: bool, tesoreria: bool) -> bool {
        let (needs_pagati, needs_tesoreria) = match self {
            Label::IudRtIufTes => (true, true),
            Label::IudRtIuf | Label::RtNoIud | Label::IudNoRt => (true, false),
            Label::RtIufTes
            | Label::RtTes
            | Label::IuvNoRt
            | Label::IufNoTes
            | Label::IufTesDivImp
            | Label::TesNoIufOrIuv
            | Label::TesNoMatch => (false, true),
            Label::RtIuf | Label::RtNoIuf | Label::Doppi => (false, false),
        };
        (pagati || !needs_pagati) && (tesoreria || !needs_tesoreria)
    }

    /// Whether the label names something an operator must look at (an anomaly), rather than a
    /// payment that closed as it should.
    pub fn is_anomaly(self) -> bool {
        !matches!(self, Label::IudRtIufTes | Label::IudRtIuf | Label::RtIufTes | Label::RtIuf | Label::RtTes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::{Label, Source};

    #[test]
    fn codes_read_back() {
        for source in Source::ALL {
            assert_eq!(Source::from_code(source.code()), Some(source));
        }
        for label in Label::ALL {
            assert_eq!(Label::from_code(label.code()), Some(label));
        }
        assert_eq!(Source::from_code('d'), None);
        assert_eq!(Label::from_code("rt_iuf"), None);
    }

    #[test]
    fn flags_decide_which_labels_apply() {
        assert!(Label::RtIuf.applies(false, false));
        assert!(!Label::IudRtIuf.applies(false, true));
        assert!(!Label::RtTes.applies(true, false));
        assert!(Label::IudRtIufTes.applies(true, true));
        assert_eq!(Label::ALL.iter().filter(|label| label.applies(false, false)).count(), 3);
    }
}
