//! PDF documents: the pagoPA payment notice (avviso di pagamento, spec v3.5) and the payment
//! receipt (quietanza), one A4 page each, and ZIP files of many notices.
//!
//! Owns: its input types ([`input`]: `NoticeView`, `ReceiptView`, which `services::debts::documents`
//! fills) and rendering them into PDF bytes. `notice` and `receipt` lay the pages out; `layout` writes PDF objects; `text` measures,
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
    /// Writing a ZIP failed.
    #[error("zip: {0}")]
    Zip(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
