//! IBANs of the accounts a municipality is credited on, with the Italian account structure.
//!
//! Owns: the ISO 13616 shape and mod-97 check, the per-country lengths, and the Italian (and
//! San Marino) BBAN: CIN check letter, ABI, CAB, account.
//! Must never: look up banks or BICs, accept an IBAN of a country it has no length for, or
//! panic on any input.
//! Implements: `shared/reference/mypay.md` §1.7 (`iban_accredito_*`) and §2.4 column 24 ("valid
//! IBAN"); `shared/reference/pagopa.md` §1.3 (`stIBAN`).

use std::fmt;

/// Why a text is not a valid IBAN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    /// Not a country code, two check digits and letters or digits.
    #[error("iban {value:?}: {reason}")]
    Shape {
        /// The offending text, compacted and uppercased (possibly cut).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A country code this table does not know.
    #[error("iban {value:?}: unknown country code {country}")]
    UnknownCountry {
        /// The offending IBAN.
        value: String,
        /// Its first two letters.
        country: String,
    },
    /// The length is not the one of the country.
    #[error("iban {value:?}: must have {expected} characters for country {country}, found {found}")]
    Length {
        /// The offending IBAN (possibly cut).
        value: String,
        /// Its country code.
        country: String,
        /// The length for that country.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// The mod-97 check fails.
    #[error("iban {value:?}: check digits should be {expected}")]
    CheckDigits {
        /// The offending IBAN.
        value: String,
        /// The check digits the rest of the IBAN calls for.
        expected: String,
    },
    /// An Italian or San Marino BBAN is not CIN letter + ABI + CAB + account.
    #[error("iban {value:?}: {reason}")]
    ItalianStructure {
        /// The offending IBAN.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The CIN letter of an Italian or San Marino BBAN does not match ABI, CAB and account.
    #[error("iban {value:?}: cin should be {expected}")]
    Cin {
        /// The offending IBAN.
        value: String,
        /// The CIN the rest of the BBAN calls for.
        expected: char,
    },
}

/// IBAN length per country: every SEPA country plus the other ISO 13616 registrants a
/// municipality's creditor may plausibly bank with. An unknown country is refused rather than
/// guessed, because an account pagoPA cannot credit must not reach a debt type.
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// ABI code of Poste Italiane (BancoPosta accounts), whose notices carry a postal bulletin.
const POSTE_ITALIANE_ABI: &str = "07601";

/// Longest input looked at; ISO 13616 IBANs have at most 34 characters, so anything much
/// longer is refused before being copied around.
const MAX_INPUT_CHARS: usize = 64;

/// A validated IBAN, compact and uppercase (`IT60X0542811101000000123456`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iban(String);

impl Iban {
    /// Parses an IBAN: removes spaces, uppercases, then checks the country code, the
    /// country's length, the ISO 13616 mod-97 check and, for Italy and San Marino, the BBAN
    /// structure (CIN letter, 5-digit ABI, 5-digit CAB, 12-character account) and the CIN.
    pub fn parse(text: &str) -> Result<Iban, IbanError> {
        if text.chars().count() > MAX_INPUT_CHARS {
            return Err(IbanError::Shape { value: super::shown(text), reason: "too long" });
        }
        let iban: String = text.chars().filter(|ch| *ch != ' ').map(|ch| ch.to_ascii_uppercase()).collect();
        let shape = |reason| IbanError::Shape { value: super::shown(&iban), reason };
        let bytes = iban.as_bytes();
        let [c1, c2, d1, d2, ..] = *bytes else {
            return Err(shape("too short"));
        };
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(shape("only letters and digits are allowed"));
        }
        if !c1.is_ascii_uppercase() || !c2.is_ascii_uppercase() {
            return Err(shape("must start with a 2-letter country code"));
        }
        if !d1.is_ascii_digit() || !d2.is_ascii_digit() {
            return Err(shape("the country code must be followed by 2 check digits"));
        }
        let country = iban.get(..2).unwrap_or_default();
        let Some(&(_, expected_len)) = LENGTHS.iter().find(|(code, _)| *code == country) else {
            return Err(IbanError::UnknownCountry { value: iban.clone(), country: country.to_owned() });
        };
        if iban.len() != expected_len {
            return Err(IbanError::Length {
                value: super::shown(&iban),
                country: country.to_owned(),
                expected: expected_len,
                found: iban.len(),
            });
        }
        let bban = iban.get(4..).unwrap_or_default();
        let check = iban.get(2..4).unwrap_or_default();
        // ISO 13616: moving the country and check digits to the end, the whole number is
        // 1 mod 97. 98 minus the remainder with `00` in place of the digits gives the right
        // ones, which also refuses the equivalent but non-canonical 00, 01 and 99.
        let expected = format!("{:02}", 98 - mod97(&format!("{bban}{country}00")));
        if check != expected {
            return Err(IbanError::CheckDigits { value: iban.clone(), expected });
        }
        if matches!(country, "IT" | "SM") {
            check_italian_bban(&iban, bban)?;
        }
        Ok(Iban(iban))
    }

    /// The compact, uppercase IBAN.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ISO 3166 country code, e.g. `IT`.
    pub fn country(&self) -> &str {
        self.0.get(..2).unwrap_or_default()
    }

    /// True for an Italian (`IT`) IBAN.
    pub fn is_italian(&self) -> bool {
        self.country() == "IT"
    }

    /// The 5-digit ABI (bank) code of an Italian or San Marino IBAN.
    pub fn abi(&self) -> Option<&str> {
        if matches!(self.country(), "IT" | "SM") { self.0.get(5..10) } else { None }
    }

    /// The 5-digit CAB (branch) code of an Italian or San Marino IBAN.
    #[cfg(test)]
    pub fn cab(&self) -> Option<&str> {
        if matches!(self.country(), "IT" | "SM") { self.0.get(10..15) } else { None }
    }

    /// True for an Italian BancoPosta account (ABI `07601`, Poste Italiane), which lets the
    /// notice carry a postal bulletin.
    pub fn is_postal(&self) -> bool {
        self.is_italian() && self.abi() == Some(POSTE_ITALIANE_ABI)
    }

    /// The IBAN in groups of 4 separated by spaces, as printed:
    /// `IT60 X054 2811 1010 0000 0123 456`.
    #[cfg(test)]
    pub fn grouped(&self) -> String {
        super::notice::group_by_four(&self.0)
    }
}

impl fmt::Display for Iban {
    /// The compact, uppercase IBAN.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The remainder mod 97 of the number the text stands for, letters counting as 10..35, folded
/// one character at a time so no big integer is needed.
fn mod97(text: &str) -> u32 {
    text.bytes().fold(0, |rem, b| match b {
        b'0'..=b'9' => (rem * 10 + u32::from(b - b'0')) % 97,
        b'A'..=b'Z' => (rem * 100 + u32::from(b - b'A') + 10) % 97,
        _ => rem,
    })
}

/// Italian BBAN: CIN (1 letter) + ABI (5 digits) + CAB (5 digits) + account (12 letters or
/// digits); San Marino uses the same layout.
fn check_italian_bban(iban: &str, bban: &str) -> Result<(), IbanError> {
    let structure = |reason| IbanError::ItalianStructure { value: iban.to_owned(), reason };
    let bytes = bban.as_bytes();
    let Some((&cin, rest)) = bytes.split_first() else {
        return Err(structure("the bban is empty"));
    };
    if !cin.is_ascii_uppercase() {
        return Err(structure("the cin (5th character) must be a letter"));
    }
    let (abi, after_abi) = rest.split_at_checked(5).unwrap_or_default();
    let (cab, account) = after_abi.split_at_checked(5).unwrap_or_default();
    if abi.len() != 5 || !abi.iter().all(u8::is_ascii_digit) {
        return Err(structure("the abi (characters 6-10) must be 5 digits"));
    }
    if cab.len() != 5 || !cab.iter().all(u8::is_ascii_digit) {
        return Err(structure("the cab (characters 11-15) must be 5 digits"));
    }
    if account.len() != 12 {
        return Err(structure("the account (characters 16-27) must be 12 characters"));
    }
    let expected = super::tax_id::check_letter(rest);
    if char::from(cin) != expected {
        return Err(IbanError::Cin { value: iban.to_owned(), expected });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = "IT60X0542811101000000123456";

    #[test]
    fn the_italian_example() {
        let iban = Iban::parse(EXAMPLE).unwrap();
        assert_eq!(iban.as_str(), EXAMPLE);
        assert_eq!(iban.country(), "IT");
        assert!(iban.is_italian());
        assert_eq!(iban.abi(), Some("05428"));
        assert_eq!(iban.cab(), Some("11101"));
        assert!(!iban.is_postal());
        assert_eq!(iban.grouped(), "IT60 X054 2811 1010 0000 0123 456");
        assert_eq!(iban.to_string(), EXAMPLE);
    }

    #[test]
    fn spaces_and_case_are_forgiven() {
        let iban = Iban::parse(" it60 x054 2811 1010 0000 0123 456").unwrap();
        assert_eq!(iban.as_str(), EXAMPLE);
    }

    #[test]
    fn other_countries() {
        for text in [
            "DE89370400440532013000",
            "FR1420041010050500013M02606",
            "ES9121000418450200051332",
            "GB29NWBK60161331926819",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "NO9386011117947",
            "CH9300762011623852957",
            "MT84MALT011000012345MTLCAST001S",
        ] {
            let iban = Iban::parse(text).unwrap();
            assert!(!iban.is_italian());
            assert_eq!(iban.abi(), None);
        }
    }

    #[test]
    fn a_postal_account() {
        let bban = "0760101600000012345678";
        let cin = super::super::tax_id::check_letter(bban.as_bytes());
        let rest = format!("{cin}{bban}");
        let check = 98 - mod97(&format!("{rest}IT00"));
        let iban = Iban::parse(&format!("IT{check:02}{rest}")).unwrap();
        assert!(iban.is_postal());
    }

    #[test]
    fn corrupted_variants_are_rejected() {
        assert_eq!(
            Iban::parse("IT61X0542811101000000123456").unwrap_err().to_string(),
            r#"iban "IT61X0542811101000000123456": check digits should be 60"#
        );
        // Two swapped digits in the account.
        assert!(matches!(Iban::parse("IT60X0542811101000000124356"), Err(IbanError::CheckDigits { .. })));
        assert_eq!(
            Iban::parse("IT60X054281110100000012345").unwrap_err().to_string(),
            r#"iban "IT60X054281110100000012345": must have 27 characters for country IT, found 26"#
        );
        assert_eq!(
            Iban::parse("XX60X0542811101000000123456").unwrap_err().to_string(),
            r#"iban "XX60X0542811101000000123456": unknown country code XX"#
        );
        assert!(matches!(Iban::parse("IT60X05428111010000001234-6"), Err(IbanError::Shape { .. })));
        for text in ["", "IT", "IT6", "6T60X0542811101000000123456", "ITX0"] {
            assert!(matches!(Iban::parse(text), Err(IbanError::Shape { .. })), "{text:?}");
        }
        assert!(Iban::parse(&"IT".repeat(40)).is_err());
    }

    #[test]
    fn italian_structure_and_cin() {
        // Valid mod 97 with the wrong CIN: only the CIN check catches it.
        let rest = "Y0542811101000000123456";
        let check = 98 - mod97(&format!("{rest}IT00"));
        let text = format!("IT{check:02}{rest}");
        assert_eq!(Iban::parse(&text).unwrap_err().to_string(), format!(r#"iban "{text}": cin should be X"#));
        // Valid mod 97 with letters in the ABI.
        let rest = "X05A2811101000000123456";
        let check = 98 - mod97(&format!("{rest}IT00"));
        let text = format!("IT{check:02}{rest}");
        assert_eq!(
            Iban::parse(&text).unwrap_err().to_string(),
            format!(r#"iban "{text}": the abi (characters 6-10) must be 5 digits"#)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parser_never_panics(text in "\\PC{0,40}|IT[0-9]{2}[A-Z][0-9A-Z ]{22}") {
            let _ = Iban::parse(&text);
        }

        #[test]
        fn any_single_substitution_is_caught(position in 0_usize..27, replacement in "[0-9A-Z]") {
            let mut chars: Vec<char> = EXAMPLE.chars().collect();
            let new_char = replacement.chars().next().unwrap();
            prop_assume!(chars[position] != new_char);
            chars[position] = new_char;
            let text: String = chars.into_iter().collect();
            prop_assert!(Iban::parse(&text).is_err());
        }
    }
}
