//! PDF documents: the pagoPA payment notice (avviso di pagamento, spec v3.5: one option, or
//! instalments and a fine's reduced and full amounts over several pages) and the payment
//! receipt (quietanza), and ZIP files of many notices.
//!
//! Owns: its input types ([`input`]: `NoticeView` with its `PaymentOptionView`s, `ReceiptView`, which `services::debts::documents`
//! fills) and rendering them into PDF bytes. `notice` (one option), `options` (several) and `receipt` lay the pages out; `layout` writes PDF objects; `text` measures,
//! limits and wraps; `fonts` embeds Titillium Web; `codes` draws the QR code and the Data Matrix;
//! `images` embeds the org's logo; `bulk` streams notices into a ZIP.
//! Must never: read the store (the services load and decide what a document shows), or let text
//! leave its box.
//! **Boundary:** PDF and ZIP files.

pub mod bulk;
pub mod codes;
pub mod fonts;
pub mod images;
pub mod input;
pub mod layout;
pub mod notice;
pub mod options;
pub mod receipt;
pub mod text;

pub use bulk::write_notices_zip;
pub use notice::notice_pdf;
pub use receipt::receipt_pdf;

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// An embedded font could not be read or subset (a build defect, not bad input).
    #[error("font error: {0}")]
    Font(String),
    /// A code could not be encoded at the required size.
    #[error("cannot encode {0}")]
    Code(String),
    /// A notice's payment options are not a shape a layout prints (`input` module doc).
    #[error("payment options: {0}")]
    Options(String),
    /// Writing a ZIP failed.
    #[error("zip: {0}")]
    Zip(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
