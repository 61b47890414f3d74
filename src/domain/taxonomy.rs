//! pagoPA taxonomy codes (tassonomia dei servizi di incasso) and MyPay's "dati specifici di
//! riscossione", the field that carries them.
//!
//! Owns: the shape of a taxonomy code and of `datiSpecificiRiscossione`, and how one is read
//! from the other.
//! Must never: check a code against the official taxonomy list (it changes; that is the
//! configuration's job), or panic on any input.
//! Implements: `shared/reference/pagopa.md` §1.11 (`transferCategory`) and
//! `shared/reference/mypay.md` §2.4 columns 18 and 31 (`[0129]/\S{3,138}`, at most 140).

use std::fmt;

/// Why a text is not a taxonomy code or collection data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    /// Not 7 digits followed by a motive.
    #[error("taxonomy code {value:?}: {reason}")]
    Code {
        /// The offending text (possibly cut).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Not `[0129]/` followed by 3 to 138 non-space characters.
    #[error("collection data {value:?}: {reason}")]
    CollectionData {
        /// The offending text (possibly cut).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The legal reasons of a collection: imposta, tassa, servizio pubblico, sanzione, altri
/// pagamenti.
const MOTIVES: [&str; 5] = ["IM", "TS", "SP", "SA", "AP"];

/// Longest collection data (MyPay's column limit).
const COLLECTION_DATA_MAX_CHARS: usize = 140;

/// A pagoPA taxonomy code: EC type (2 digits) + macro-area (2 digits) + service type
/// (3 digits) + legal motive (`IM`, `TS`, `SP`, `SA` or `AP`), e.g. `0101002IM` for a
/// municipality's TARI tax.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaxonomyCode(String);

impl TaxonomyCode {
    /// Parses exactly 9 characters: 7 ASCII digits then one of the motives, uppercase.
    pub fn parse(text: &str) -> Result<TaxonomyCode, TaxonomyError> {
        let broken = |reason| TaxonomyError::Code { value: super::shown(text), reason };
        if text.len() != 9 || !text.is_ascii() {
            return Err(broken("must be 9 characters, 7 digits and a motive"));
        }
        let (numbers, motive) = text.split_at_checked(7).unwrap_or_default();
        if !numbers.bytes().all(|b| b.is_ascii_digit()) {
            return Err(broken("the first 7 characters must be digits (ec type, macro-area, service type)"));
        }
        if !MOTIVES.contains(&motive) {
            return Err(broken("must end with a motive: IM, TS, SP, SA or AP"));
        }
        Ok(TaxonomyCode(text.to_owned()))
    }

    /// The 9 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaxonomyCode {
    /// The 9 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// MyPay's `datiSpecificiRiscossione`: a type digit (`0`, `1`, `2` or `9`), a slash and 3 to
/// 138 non-space characters, usually `9/<taxonomy code>/` (mypay.md §2.4 column 18).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CollectionData(String);

/// Java's `\s` in MyPay's pattern: ASCII whitespace only, so other characters (even a
/// non-breaking space) are accepted as MyPay accepts them.
fn is_java_space(ch: char) -> bool {
    matches!(ch, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

impl CollectionData {
    /// Parses `^[0129]/\S{3,138}$`, at most 140 characters.
    pub fn parse(text: &str) -> Result<CollectionData, TaxonomyError> {
        let broken = |reason| TaxonomyError::CollectionData { value: super::shown(text), reason };
        let n_chars = text.chars().count();
        if n_chars > COLLECTION_DATA_MAX_CHARS {
            return Err(broken("longer than 140 characters"));
        }
        let mut chars = text.chars();
        if !matches!(chars.next(), Some('0' | '1' | '2' | '9')) || chars.next() != Some('/') {
            return Err(broken("must start with 0/, 1/, 2/ or 9/ (e.g. 9/0101002IM/)"));
        }
        if n_chars < 5 {
            return Err(broken("needs at least 3 characters after the slash"));
        }
        if chars.any(is_java_space) {
            return Err(broken("must not contain spaces"));
        }
        Ok(CollectionData(text.to_owned()))
    }

    /// The usual form for a taxonomy code: `9/<code>/`.
    #[cfg(test)]
    pub fn from_taxonomy(code: &TaxonomyCode) -> CollectionData {
        CollectionData(format!("9/{code}/"))
    }

    /// The taxonomy code of `9/<code>` or `9/<code>/…`; `None` for other types or when the
    /// segment after `9/` is not exactly a valid code.
    pub fn taxonomy_code(&self) -> Option<TaxonomyCode> {
        let rest = self.0.strip_prefix("9/")?;
        let segment = rest.split('/').next()?;
        TaxonomyCode::parse(segment).ok()
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CollectionData {
    /// The text as given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn taxonomy_codes() {
        for text in ["0101002IM", "0101100IM", "9999999AP", "0201001TS", "0101003SP", "0101004SA"] {
            assert_eq!(TaxonomyCode::parse(text).unwrap().as_str(), text);
        }
        for text in
            ["", "0101002", "0101002im", "0101002XX", "010100IM", "01010002IM", "A101002IM", " 0101002IM", "0101002ÌM"]
        {
            assert!(TaxonomyCode::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(
            TaxonomyCode::parse("0101002XX").unwrap_err().to_string(),
            r#"taxonomy code "0101002XX": must end with a motive: IM, TS, SP, SA or AP"#
        );
    }

    #[test]
    fn collection_data() {
        for text in ["9/0101100IM/", "9/0101002IM", "0/abc", "1/x/y/z", "2/ÀÈÌ"] {
            assert_eq!(CollectionData::parse(text).unwrap().as_str(), text);
        }
        let longest = format!("9/{}", "a".repeat(138));
        assert!(CollectionData::parse(&longest).is_ok());
        assert_eq!(
            CollectionData::parse(&format!("{longest}a")).unwrap_err().to_string(),
            format!(r#"collection data "{}…": longer than 140 characters"#, &longest[..64])
        );
        for text in ["", "9/", "9/ab", "3/abc", "9abc", "9/ab c", "9/abc\t", "/9/abc"] {
            assert!(CollectionData::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(
            CollectionData::parse("9/0101002IM/ x").unwrap_err().to_string(),
            r#"collection data "9/0101002IM/ x": must not contain spaces"#
        );
    }

    #[test]
    fn taxonomy_inside_collection_data() {
        let code = TaxonomyCode::parse("0101002IM").unwrap();
        let data = CollectionData::from_taxonomy(&code);
        assert_eq!(data.as_str(), "9/0101002IM/");
        assert_eq!(data.taxonomy_code(), Some(code.clone()));
        assert_eq!(CollectionData::parse(data.as_str()), Ok(data));
        let extra = CollectionData::parse("9/0101002IM/TARI 2024".replace(' ', "_").as_str()).unwrap();
        assert_eq!(extra.taxonomy_code(), Some(code.clone()));
        assert_eq!(CollectionData::parse("9/0101002IM").unwrap().taxonomy_code(), Some(code));
        for text in ["0/0101002IM/", "9/0101002IMX/", "9/010100IM/", "9/abc"] {
            assert_eq!(CollectionData::parse(text).unwrap().taxonomy_code(), None, "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsers_never_panic(text in "\\PC{0,150}|9/[0-9]{7}[A-Z]{2}/\\PC{0,10}") {
            let _ = TaxonomyCode::parse(&text);
            if let Ok(data) = CollectionData::parse(&text) {
                let _ = data.taxonomy_code();
            }
        }
    }
}
