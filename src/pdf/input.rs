//! What the documents print, as typed values: the input of `notice_pdf`, `receipt_pdf` and the
//! bulk ZIP. `services::debts::documents` loads the records and decides what a document shows; these types
//! are this module's own, so that rendering depends on nothing above it.

use jiff::civil::{Date, DateTime};

use crate::domain::{Cents, NoticeNumber};

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
