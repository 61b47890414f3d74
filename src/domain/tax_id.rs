//! Italian tax identifiers: personal fiscal codes (codice fiscale), VAT numbers (partita IVA),
//! organisations' 11-digit fiscal codes, and the debtor/payer identity built from them.
//!
//! Owns: the structure and check characters of these codes, and which of them a debtor of kind
//! `F` or `G` may carry.
//! Must never: look codes up anywhere (registries, municipality tables), decode birth data
//! beyond what validation needs, or panic on any input.
//! Implements: `shared/reference/mypay.md` §2.4 (columns 2-3, `tipoIdentificativoUnivoco` and
//! `codiceIdentificativoUnivoco`, with `flg_cf_anonimo` of §1.7) and
//! `shared/reference/pagopa.md` §1.3 (`stFiscalCodePA`, `stEntityUniqueIdentifierType`).

use std::fmt;

/// Why a text is not a valid tax identifier or party identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxIdError {
    /// A fiscal code breaks a structural rule (length, a character class, month or day).
    #[error("fiscal code {value:?}: {reason}")]
    FiscalCodeShape {
        /// The offending text, trimmed and uppercased (possibly cut).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A fiscal code's last character does not match the others.
    #[error("fiscal code {value:?}: check character should be {expected}")]
    FiscalCodeCheck {
        /// The offending code.
        value: String,
        /// The check character its first 15 characters call for.
        expected: char,
    },
    /// An 11-digit code (VAT number or organisation fiscal code) is not 11 digits.
    #[error("{what} {value:?}: must be exactly 11 digits")]
    NumericShape {
        /// Which code: `vat number` or `organisation fiscal code`.
        what: &'static str,
        /// The offending text (possibly cut).
        value: String,
    },
    /// An 11-digit code's last digit does not match the others.
    #[error("{what} {value:?}: check digit should be {expected}")]
    NumericCheck {
        /// Which code: `vat number` or `organisation fiscal code`.
        what: &'static str,
        /// The offending code.
        value: String,
        /// The check digit its first 10 digits call for.
        expected: char,
    },
    /// A party kind other than `F` or `G`.
    #[error("party kind {value:?}: must be F (natural person) or G (legal person)")]
    PartyKind {
        /// The offending text (possibly cut).
        value: String,
    },
    /// An identifier that is neither a fiscal code nor a VAT number for a natural person.
    #[error(
        "party identifier {value:?}: a natural person (F) needs a 16-character fiscal code or an 11-digit vat number"
    )]
    NaturalPersonId {
        /// The offending text, trimmed and uppercased (possibly cut).
        value: String,
    },
    /// An identifier that is not a VAT number for a legal person.
    #[error("party identifier {value:?}: a legal person (G) needs an 11-digit vat number")]
    LegalPersonId {
        /// The offending text, trimmed and uppercased (possibly cut).
        value: String,
    },
    /// `ANONIMO` where the debt type does not allow it, or for a legal person.
    #[error("party identifier \"ANONIMO\": {reason}")]
    AnonymousNotAllowed {
        /// Why it is refused.
        reason: &'static str,
    },
}

/// The letters that stand for the digits 0-9 in an omocodic fiscal code.
const OMOCODIA_LETTERS: &[u8; 10] = b"LMNPQRSTUV";

/// Month letters A (January) to T (December).
const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";

/// Positions (0-based) that hold digits, or their omocodia letters when the Agenzia delle
/// Entrate had to tell two people with the same code apart.
const OMOCODIA_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// The magic "ANONIMO" accepted when the debt type sets `flg_cf_anonimo` (mypay.md §1.7).
const ANONYMOUS: &str = "ANONIMO";

/// An Italian personal fiscal code (codice fiscale), 16 characters, uppercased.
///
/// Omocodic codes, whose digits were replaced by the letters `LMNPQRSTUV`, are valid; the
/// check character is computed on the characters as written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiscalCode(String);

impl FiscalCode {
    /// Parses a fiscal code: trims, uppercases, then checks the structure
    /// (`AAAAAA99A99A999A` with omocodia letters allowed in the digit positions), the month
    /// letter, the day (1-31 for men, 41-71 for women) and the check character.
    pub fn parse(text: &str) -> Result<FiscalCode, TaxIdError> {
        let code = text.trim().to_ascii_uppercase();
        let shape =
            |reason: &str| TaxIdError::FiscalCodeShape { value: super::shown(&code), reason: reason.to_owned() };
        let bytes: &[u8; 16] = code.as_bytes().try_into().map_err(|_| shape("must be 16 letters and digits"))?;
        for (idx, &b) in bytes.iter().enumerate() {
            let ok = if OMOCODIA_POSITIONS.contains(&idx) {
                b.is_ascii_digit() || OMOCODIA_LETTERS.contains(&b)
            } else {
                b.is_ascii_uppercase()
            };
            if !ok {
                let expected = if OMOCODIA_POSITIONS.contains(&idx) { "a digit" } else { "a letter" };
                return Err(shape(&format!("character {} should be {expected}", idx + 1)));
            }
        }
        let [.., m, d1, d2, _, _, _, _, _] = *bytes;
        if !MONTH_LETTERS.contains(&m) {
            return Err(shape(&format!(
                "month letter {} is not one of {}",
                char::from(m),
                String::from_utf8_lossy(MONTH_LETTERS)
            )));
        }
        let day = omocodia_digit(d1) * 10 + omocodia_digit(d2);
        if !matches!(day, 1..=31 | 41..=71) {
            return Err(shape(&format!("day {day:02} is not 01-31 (men) or 41-71 (women)")));
        }
        let expected = check_letter(bytes.get(..15).unwrap_or_default());
        if bytes.last().copied() != Some(expected as u8) {
            return Err(TaxIdError::FiscalCodeCheck { value: code, expected });
        }
        Ok(FiscalCode(code))
    }

    /// The 16 uppercase characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FiscalCode {
    /// The 16 uppercase characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The digit an omocodia position stands for; only called on validated characters.
fn omocodia_digit(b: u8) -> u8 {
    if b.is_ascii_digit() {
        return b - b'0';
    }
    OMOCODIA_LETTERS.iter().position(|&letter| letter == b).and_then(|digit| u8::try_from(digit).ok()).unwrap_or(0)
}

/// Values of `0-9A-Z` at odd (1st, 3rd, …) positions of the check computation; digits share
/// the values of the letters in the same place of the alphabet.
const ODD_VALUES: [u32; 26] =
    [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

/// Index 0-25 of a digit or uppercase letter in the check tables (`0`=`A`, …, `9`=`J`).
fn table_index(b: u8) -> usize {
    usize::from(match b {
        b'0'..=b'9' => b - b'0',
        b'A'..=b'Z' => b - b'A',
        _ => 0,
    })
}

/// The check letter of the odd/even tables (D.M. 23/12/1976): the fiscal code's over its
/// first 15 characters, and the Italian IBAN's CIN over ABI, CAB and account.
pub(super) fn check_letter(chars: &[u8]) -> char {
    let sum: u32 = chars
        .iter()
        .enumerate()
        .map(|(idx, &b)| {
            let index = table_index(b);
            if idx % 2 == 0 { ODD_VALUES.get(index).copied().unwrap_or(0) } else { u32::try_from(index).unwrap_or(0) }
        })
        .sum();
    let letter = u8::try_from(sum % 26).unwrap_or(0);
    char::from(b'A' + letter)
}

/// The check digit of an 11-digit VAT number or organisation code over its first 10 digits:
/// digits in odd places are added, those in even places doubled and reduced by 9 past 9.
fn numeric_check_digit(digits: &[u8; 11]) -> u8 {
    let sum: u32 = digits
        .iter()
        .take(10)
        .enumerate()
        .map(|(idx, &b)| {
            let digit = u32::from(b - b'0');
            if idx % 2 == 0 {
                digit
            } else if digit * 2 > 9 {
                digit * 2 - 9
            } else {
                digit * 2
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    u8::try_from(check).unwrap_or(0)
}

fn parse_numeric(what: &'static str, text: &str) -> Result<String, TaxIdError> {
    let digits: &[u8; 11] = text
        .as_bytes()
        .try_into()
        .ok()
        .filter(|digits: &&[u8; 11]| digits.iter().all(u8::is_ascii_digit))
        .ok_or_else(|| TaxIdError::NumericShape { what, value: super::shown(text) })?;
    let expected = b'0' + numeric_check_digit(digits);
    if digits.last().copied() != Some(expected) {
        return Err(TaxIdError::NumericCheck { what, value: text.to_owned(), expected: char::from(expected) });
    }
    Ok(text.to_owned())
}

/// An Italian VAT number (partita IVA): 11 digits whose last is the check digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VatNumber(String);

impl VatNumber {
    /// Parses 11 ASCII digits with a valid check digit; surrounding spaces are trimmed.
    pub fn parse(text: &str) -> Result<VatNumber, TaxIdError> {
        parse_numeric("vat number", text.trim()).map(VatNumber)
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VatNumber {
    /// The 11 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fiscal code of an organisation (a municipality, any pagoPA creditor): 11 digits with
/// the VAT number's check digit (pagoPA `idPA`, `stFiscalCodePA`).
///
/// pagoPA's XSD only asks for `[0-9]{11}`; mypay also checks the digit, because a mistyped
/// organisation code would route payments and receipts to nobody.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrgFiscalCode(String);

impl OrgFiscalCode {
    /// Parses 11 ASCII digits with a valid check digit; surrounding spaces are trimmed.
    pub fn parse(text: &str) -> Result<OrgFiscalCode, TaxIdError> {
        parse_numeric("organisation fiscal code", text.trim()).map(OrgFiscalCode)
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgFiscalCode {
    /// The 11 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a debtor or payer is a natural or a legal person (`tipoIdentificativoUnivoco`,
/// pagoPA `entityUniqueIdentifierType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartyKind {
    /// A natural person, code `F` (persona fisica).
    Natural,
    /// A legal person, code `G` (persona giuridica).
    Legal,
}

impl PartyKind {
    /// Parses `F` or `G`, in either case, with surrounding spaces trimmed.
    pub fn parse(text: &str) -> Result<PartyKind, TaxIdError> {
        match text.trim() {
            "F" | "f" => Ok(PartyKind::Natural),
            "G" | "g" => Ok(PartyKind::Legal),
            _ => Err(TaxIdError::PartyKind { value: super::shown(text) }),
        }
    }

    /// `F` or `G`.
    pub const fn code(self) -> char {
        match self {
            PartyKind::Natural => 'F',
            PartyKind::Legal => 'G',
        }
    }

    /// The code as text, `F` or `G`, as it is stored.
    pub const fn code_str(self) -> &'static str {
        match self {
            PartyKind::Natural => "F",
            PartyKind::Legal => "G",
        }
    }
}

impl fmt::Display for PartyKind {
    /// `F` or `G`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// The identity of a debtor or payer (`codiceIdentificativoUnivoco`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartyId {
    /// A person identified by a fiscal code.
    Person(FiscalCode),
    /// Identified by a VAT number: a legal person, or a natural person who trades (kind `F`
    /// with an 11-digit code, which MyPay accepts).
    Company(VatNumber),
    /// `ANONIMO`: no identity given, allowed only for some debt types.
    Anonymous,
}

impl PartyId {
    /// Parses an identifier of the given kind, per mypay.md §2.4 column 3 (trimmed, uppercased):
    ///
    /// - `F`: a valid 16-character fiscal code, or a valid 11-digit VAT number;
    /// - `G`: a valid 11-digit VAT number only; a 16-character fiscal code is refused, as MyPay
    ///   refuses it, because legal persons have numeric codes;
    /// - `ANONIMO`: only when `allow_anonymous` (the debt type's `flg_cf_anonimo`) and for `F`.
    ///
    /// `kind` decides which codes are acceptable; it is not stored, see [`PartyId::kind`].
    pub fn parse(kind: PartyKind, value: &str, allow_anonymous: bool) -> Result<PartyId, TaxIdError> {
        let id = value.trim().to_ascii_uppercase();
        if id == ANONYMOUS {
            return match (kind, allow_anonymous) {
                (PartyKind::Natural, true) => Ok(PartyId::Anonymous),
                (PartyKind::Natural, false) => {
                    Err(TaxIdError::AnonymousNotAllowed { reason: "not allowed for this debt type" })
                }
                (PartyKind::Legal, _) => {
                    Err(TaxIdError::AnonymousNotAllowed { reason: "not allowed for a legal person (G)" })
                }
            };
        }
        match (kind, id.len()) {
            // Name the specific problem (check character, month…) once the length says
            // which code the value means to be.
            (PartyKind::Natural, 16) => FiscalCode::parse(&id).map(PartyId::Person),
            (_, 11) => VatNumber::parse(&id).map(PartyId::Company),
            (PartyKind::Natural, _) => Err(TaxIdError::NaturalPersonId { value: super::shown(&id) }),
            (PartyKind::Legal, _) => Err(TaxIdError::LegalPersonId { value: super::shown(&id) }),
        }
    }

    /// The identifier as stored and sent: the fiscal code, the VAT number or `ANONIMO`.
    pub fn as_str(&self) -> &str {
        match self {
            PartyId::Person(code) => code.as_str(),
            PartyId::Company(vat) => vat.as_str(),
            PartyId::Anonymous => ANONYMOUS,
        }
    }

    /// The kind the identifier implies: `Legal` for a VAT number, `Natural` otherwise.
    ///
    /// A natural person identified by a VAT number reads back as `Legal`; a caller that must
    /// echo the kind it was given (an export of the row as uploaded) keeps that kind itself.
    #[cfg(test)]
    pub fn kind(&self) -> PartyKind {
        match self {
            PartyId::Person(_) | PartyId::Anonymous => PartyKind::Natural,
            PartyId::Company(_) => PartyKind::Legal,
        }
    }
}

impl fmt::Display for PartyId {
    /// Same as [`PartyId::as_str`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_fiscal_codes() {
        for (input, code) in [
            ("RSSMRA85T10A562S", "RSSMRA85T10A562S"),
            ("  rssmra85t10a562s ", "RSSMRA85T10A562S"),
            // Omocodia: the last digit of the Belfiore code (2 → N) and of the year (5 → R)
            // replaced; the check character follows the written characters.
            ("RSSMRA85T10A56NH", "RSSMRA85T10A56NH"),
            ("RSSMRA8RT10A56NT", "RSSMRA8RT10A56NT"),
            // A woman born on the 50th - 40 = 10th; every omocodia position replaced.
            ("BNCLRA80A50F205I", "BNCLRA80A50F205I"),
            ("BNCLRAULARLFNLRA", "BNCLRAULARLFNLRA"),
        ] {
            assert_eq!(FiscalCode::parse(input).unwrap().as_str(), code, "{input}");
        }
    }

    #[test]
    fn invalid_fiscal_codes_say_why() {
        for (input, message) in [
            ("RSSMRA85T10A562X", r#"fiscal code "RSSMRA85T10A562X": check character should be S"#),
            ("RSSMRA85T10A562", r#"fiscal code "RSSMRA85T10A562": must be 16 letters and digits"#),
            ("RSSMRA85T10A562SS", r#"fiscal code "RSSMRA85T10A562SS": must be 16 letters and digits"#),
            ("RSSMRA85F10A562S", r#"fiscal code "RSSMRA85F10A562S": month letter F is not one of ABCDEHLMPRST"#),
            ("RSSMRA85T32A562S", r#"fiscal code "RSSMRA85T32A562S": day 32 is not 01-31 (men) or 41-71 (women)"#),
            ("RSSMRA85T00A562S", r#"fiscal code "RSSMRA85T00A562S": day 00 is not 01-31 (men) or 41-71 (women)"#),
            ("RSSMR485T10A562S", r#"fiscal code "RSSMR485T10A562S": character 6 should be a letter"#),
            ("RSSMRA8AT10A562S", r#"fiscal code "RSSMRA8AT10A562S": character 8 should be a digit"#),
        ] {
            assert_eq!(FiscalCode::parse(input).unwrap_err().to_string(), message);
        }
        assert!(FiscalCode::parse("").is_err());
        assert!(FiscalCode::parse("RSSMRA85T10A562É").is_err());
    }

    #[test]
    fn vat_numbers_and_org_codes() {
        // Comune di Milano and Roma Capitale.
        assert_eq!(VatNumber::parse("01199250158").unwrap().as_str(), "01199250158");
        assert_eq!(OrgFiscalCode::parse("02438750586").unwrap().to_string(), "02438750586");
        assert_eq!(
            OrgFiscalCode::parse("00202490174").unwrap_err().to_string(),
            r#"organisation fiscal code "00202490174": check digit should be 3"#
        );
        assert!(OrgFiscalCode::parse("00202490173").is_ok());
        assert_eq!(
            VatNumber::parse("01199250157").unwrap_err().to_string(),
            r#"vat number "01199250157": check digit should be 8"#
        );
        assert_eq!(
            VatNumber::parse("0119925015").unwrap_err().to_string(),
            r#"vat number "0119925015": must be exactly 11 digits"#
        );
        assert!(VatNumber::parse("0119925015A").is_err());
        assert!(VatNumber::parse("").is_err());
    }

    #[test]
    fn party_kind() {
        assert_eq!(PartyKind::parse("F"), Ok(PartyKind::Natural));
        assert_eq!(PartyKind::parse("g"), Ok(PartyKind::Legal));
        assert_eq!(PartyKind::Legal.code(), 'G');
        assert_eq!(
            PartyKind::parse("X").unwrap_err().to_string(),
            r#"party kind "X": must be F (natural person) or G (legal person)"#
        );
        assert!(PartyKind::parse("FG").is_err());
    }

    #[test]
    fn party_ids_follow_mypay_column_3() {
        let natural = PartyKind::Natural;
        let legal = PartyKind::Legal;
        let person = PartyId::parse(natural, "rssmra85t10a562s", false).unwrap();
        assert_eq!(person.as_str(), "RSSMRA85T10A562S");
        assert_eq!(person.kind(), PartyKind::Natural);
        let trader = PartyId::parse(natural, "01199250158", false).unwrap();
        assert!(matches!(trader, PartyId::Company(_)));
        let company = PartyId::parse(legal, " 01199250158 ", false).unwrap();
        assert_eq!(company.as_str(), "01199250158");
        assert_eq!(company.kind(), PartyKind::Legal);
        assert_eq!(
            PartyId::parse(legal, "RSSMRA85T10A562S", true).unwrap_err().to_string(),
            r#"party identifier "RSSMRA85T10A562S": a legal person (G) needs an 11-digit vat number"#
        );
        assert_eq!(
            PartyId::parse(natural, "ABC", false).unwrap_err().to_string(),
            r#"party identifier "ABC": a natural person (F) needs a 16-character fiscal code or an 11-digit vat number"#
        );
        assert!(matches!(PartyId::parse(natural, "RSSMRA85T10A562X", false), Err(TaxIdError::FiscalCodeCheck { .. })));
        assert!(matches!(PartyId::parse(legal, "01199250157", false), Err(TaxIdError::NumericCheck { .. })));
    }

    #[test]
    fn anonymous_only_when_allowed_and_natural() {
        let anonymous = PartyId::parse(PartyKind::Natural, "anonimo", true).unwrap();
        assert_eq!(anonymous, PartyId::Anonymous);
        assert_eq!(anonymous.as_str(), "ANONIMO");
        assert_eq!(anonymous.kind(), PartyKind::Natural);
        assert_eq!(
            PartyId::parse(PartyKind::Natural, "ANONIMO", false).unwrap_err().to_string(),
            r#"party identifier "ANONIMO": not allowed for this debt type"#
        );
        assert_eq!(
            PartyId::parse(PartyKind::Legal, "ANONIMO", true).unwrap_err().to_string(),
            r#"party identifier "ANONIMO": not allowed for a legal person (G)"#
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsers_never_panic(text in "\\PC{0,20}|[A-Z0-9LMNPQRSTUV]{16}|[0-9]{11}") {
            let _ = FiscalCode::parse(&text);
            let _ = VatNumber::parse(&text);
            let _ = OrgFiscalCode::parse(&text);
            let _ = PartyKind::parse(&text);
            for kind in [PartyKind::Natural, PartyKind::Legal] {
                let _ = PartyId::parse(kind, &text, true);
                let _ = PartyId::parse(kind, &text, false);
            }
        }

        #[test]
        fn one_changed_digit_breaks_a_vat_number(position in 0_usize..10, bump in 1_u8..10) {
            let mut digits = b"01199250158".to_vec();
            digits[position] = b'0' + (digits[position] - b'0' + bump) % 10;
            let text = String::from_utf8(digits).unwrap();
            prop_assert!(VatNumber::parse(&text).is_err());
        }
    }
}
