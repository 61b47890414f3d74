//! What the documents print, as typed values: the input of `notice_pdf`, `receipt_pdf` and the
//! bulk ZIP. `services::debts::documents` loads the records and decides what a document shows; these types
//! are this module's own, so that rendering depends on nothing above it.
//!
//! A notice's payment options (pagopa.md §3.1, §5.3): `NoticeView::options` empty is the notice
//! of one option, printed from `amount`, `due_date`, `notice_number`, `qr_payload` and
//! `postal.datamatrix` (the "rata unica" page). Otherwise the options decide the layout, and
//! those top-level fields are only the notice's name (the PDF title, the ZIP entry
//! `avviso_<iuv>.pdf`): set them to the first option's (`postal` then gives the account, holder
//! and authorization; each option carries its own Data Matrix). A position's options map one to one
//! from "kind, amount in cents, due date or valid-until day, notice number (its IUV inside)"
//! with [`PaymentOptionView::new`], which builds the QR payload and, when the notice has a
//! postal account, the Data Matrix; accepted shapes (`notice_pdf` refuses others with
//! `PdfError::Options`):
//! - instalments (`Instalment`, in their order: "Rata 1 di N" is the first), with at most one
//!   `Single` (the pay-in-full option, printed first, on page 1);
//! - a traffic fine: exactly one `Reduced` (its `due_date` the last day the reduced amount is
//!   valid) and one `Full` (payable after that day; its own `due_date`, if any, printed too);
//! - a lone `Single`: the one-option notice.

use jiff::civil::{Date, DateTime};

use crate::domain::notice_codes::{self, NoticeCodeError, PosteParty};
use crate::domain::{Cents, NoticeNumber, OrgFiscalCode};

/// The second language of a bilingual notice (avviso pagoPA v3.5, bilingual variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondLanguage {
    German,
    English,
}

impl SecondLanguage {
    /// The org setting's code, `de` or `en`.
    pub fn from_code(code: &str) -> Option<SecondLanguage> {
        match code {
            "de" => Some(SecondLanguage::German),
            "en" => Some(SecondLanguage::English),
            _ => None,
        }
    }
}

/// An image to print as the org's logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoView {
    pub bytes: Vec<u8>,
    /// `image/png` or `image/jpeg`.
    pub mime: String,
}

/// The creditor org as a notice shows it (module 2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeOrgView {
    pub name: String,
    pub fiscal_code: String,
    /// The office (debt type `sector`).
    pub sector: Option<String>,
    /// Contact channels (ENTE.INFO), in the order they should be printed.
    pub contacts: Vec<String>,
    pub cbill_code: Option<String>,
    pub logo: Option<LogoView>,
}

/// The Bollettino Postale PA section of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalView {
    pub account: String,
    pub holder: String,
    /// Poste's authorization text, `AUT. DB/…`.
    pub authorization: String,
    /// The 256-character Data Matrix string (pagopa.md §3.3).
    pub datamatrix: String,
}

/// Everything a payment notice prints, already decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeView {
    pub language: Option<SecondLanguage>,
    pub org: NoticeOrgView,
    pub debtor_name: String,
    /// `None` for an anonymous debtor (DESTINATARIO.CF is omitted only when unknown).
    pub debtor_id: Option<String>,
    pub debtor_address: Option<String>,
    /// What is being paid (AVVISO.OGGETTO): the debt's causale.
    pub subject: String,
    pub amount: Cents,
    /// `None` prints the "avviso senza scadenza" variant.
    pub due_date: Option<Date>,
    pub notice_number: NoticeNumber,
    pub iuv: String,
    pub qr_payload: String,
    pub postal: Option<PostalView>,
    /// The position's payment options; empty for the notice of the one option above (see the
    /// module doc).
    pub options: Vec<PaymentOptionView>,
}

/// The most options a notice prints (GPD v3's limit on a position's instalments).
pub const MAX_OPTIONS: usize = 100;

/// What a payment option is, in pagoPA's model (GPD `isPartialPayment`; a fine's reduced and full
/// amounts are two exclusive options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Pay in full ("rata unica"), alternative to the instalments.
    Single,
    /// One instalment of a plan.
    Instalment,
    /// The reduced amount, valid until its `due_date` included.
    Reduced,
    /// The full amount, payable after the reduced one's last day.
    Full,
}

/// One payment option of a notice: its own notice number, QR code and Data Matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOptionView {
    pub kind: OptionKind,
    pub amount: Cents,
    /// The due date (`Single`, `Instalment`, `Full`; `None` prints none) or the last day a
    /// `Reduced` amount is valid.
    pub due_date: Option<Date>,
    pub notice_number: NoticeNumber,
    /// `PAGOPA|002|<this option's NAV>|<org CF>|<this option's cents>` (pagopa.md §3.2).
    pub qr_payload: String,
    /// This option's 256-character Poste Data Matrix (pagopa.md §3.3); the bollettino is printed
    /// when the notice has `postal` and every option has one.
    pub datamatrix: Option<String>,
}

impl PaymentOptionView {
    /// An option with its codes built from its values: the QR payload always, the Data Matrix
    /// when `postal` (the account and what the bollettino names) is given and the amount fits it
    /// (an amount that does not leaves the option without, and the notice without bollettino).
    pub fn new(
        kind: OptionKind,
        amount: Cents,
        due_date: Option<Date>,
        notice_number: NoticeNumber,
        org: &OrgFiscalCode,
        postal: Option<(&str, PosteParty<'_>)>,
    ) -> Result<PaymentOptionView, NoticeCodeError> {
        let qr_payload = notice_codes::qr_payload(&notice_number, org, amount)?;
        let datamatrix = postal.and_then(|(account, party)| {
            notice_codes::poste_datamatrix(&notice_number, account, amount, org, party).ok()
        });
        Ok(PaymentOptionView { kind, amount, due_date, notice_number, qr_payload, datamatrix })
    }

    /// The IUV inside the notice number.
    pub fn iuv(&self) -> String {
        self.notice_number.iuv().as_str().to_owned()
    }
}

/// A debtor or payer as the receipt shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyView {
    pub name: String,
    pub id: String,
}

/// One transfer of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferView {
    pub index: i64,
    pub fiscal_code: String,
    pub company_name: Option<String>,
    /// `None` for a digital stamp (marca da bollo).
    pub iban: Option<String>,
    pub remittance: String,
    pub amount: Cents,
}

/// Everything a receipt (quietanza) prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptView {
    pub org_name: String,
    pub org_fiscal_code: String,
    pub office_name: Option<String>,
    pub ok: bool,
    pub debtor: PartyView,
    pub payer: Option<PartyView>,
    pub amount: Cents,
    /// The PSP's commission, paid by the payer.
    pub fee: Option<Cents>,
    /// When the PSP took the payment (local time as the Node sends it).
    pub paid_at: Option<DateTime>,
    pub psp_name: String,
    pub psp_id: String,
    pub payment_method: Option<String>,
    /// receiptId, the IUR.
    pub receipt_id: String,
    pub iuv: String,
    pub notice_number: Option<NoticeNumber>,
    pub description: String,
    pub transfers: Vec<TransferView>,
}
