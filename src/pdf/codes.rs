//! Drawing the notice's codes: the pagoPA QR code and the Poste Data Matrix, as vector modules.
//!
//! Owns: the symbol parameters of pagopa.md §3.2 (QR: ISO/IEC 18004, version 4, 33×33 modules,
//! error correction M) and §3.3 (Data Matrix ECC 200, square symbols), and their quiet zones.
//! The strings they carry are built in `crate::domain::notice_codes`.
//! Must never: change the payload it is given.

use qrcode::{EcLevel, QrCode, Version};

use super::PdfError;

/// A 2D symbol as dark/light modules, row-major.
pub struct Symbol {
    pub size: usize,
    pub modules: Vec<bool>,
}

/// The QR code of `payload`: version 4, ECC M, as the notice spec requires; a payload too long
/// for it (more than 62 bytes, impossible for a valid notice) is an error rather than a silently
/// bigger symbol.
pub fn qr(payload: &str) -> Result<Symbol, PdfError> {
    let code = QrCode::with_version(payload.as_bytes(), Version::Normal(4), EcLevel::M)
        .map_err(|err| PdfError::Code(format!("QR code: {err}")))?;
    let size = code.width();
    let modules = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
    Ok(Symbol { size, modules })
}

/// The Data Matrix (ECC 200, smallest square symbol) of the 256-character Poste string.
pub fn datamatrix(payload: &str) -> Result<Symbol, PdfError> {
    let list = datamatrix::SymbolList::default().enforce_square();
    let code = datamatrix::DataMatrix::encode(payload.as_bytes(), list)
        .map_err(|err| PdfError::Code(format!("Data Matrix: {err:?}")))?;
    let bitmap = code.bitmap();
    let size = bitmap.width();
    Ok(Symbol { size, modules: bitmap.bits().to_vec() })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn the_qr_code_is_version_4_even_for_the_largest_amount() {
        let q = qr("PAGOPA|002|301000000000000144|01199250158|99999999999").unwrap();
        assert_eq!(q.size, 33);
        assert_eq!(q.modules.len(), 33 * 33);
        assert!(qr(&"9".repeat(300)).is_err());
    }

    #[test]
    fn the_data_matrix_of_256_characters_is_square() {
        let s = format!("codfase=NBPA;{}A", "1".repeat(242));
        let d = datamatrix(&s).unwrap();
        assert_eq!(d.modules.len(), d.size * d.size);
        assert!(d.size >= 40, "{}", d.size);
    }
}
