//! Notice numbers (numero avviso, NAV), IUVs, their 2-digit routing codes, the mod-93 check
//! digits and the generation of IUV17s.
//!
//! Owns: what makes an 18-digit notice number valid, how an IUV relates to it, which IUVs a
//! municipality may supply itself, and how mypay builds new IUV17s from a counter.
//! Must never: keep or advance the counter (the store does, in a transaction), read the clock,
//! draw random numbers, or panic on any input.
//! Implements: `shared/reference/pagopa.md` §2.1-2.3 and `shared/reference/mypay.md` §6.

use std::fmt;

/// Why a text is not a notice number, an IUV or a routing code, or why an IUV cannot be
/// generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// A segregation code, application code or generator id is not exactly 2 ASCII digits.
    #[error("{what} {value:?}: must be exactly 2 digits")]
    InvalidCode {
        /// Which code: `segregation code`, `application code` or `generator id`.
        what: &'static str,
        /// The offending text (possibly cut).
        value: String,
    },
    /// A notice number is not 18 ASCII digits.
    #[error("notice number {value:?}: must be exactly 18 digits")]
    NoticeShape {
        /// The offending text (possibly cut).
        value: String,
    },
    /// A notice number starts with an aux digit other than 0, 1, 2 or 3.
    #[error("notice number {value:?}: aux digit {aux} is not one of 0, 1, 2, 3")]
    AuxDigit {
        /// The offending notice number.
        value: String,
        /// Its first digit.
        aux: u8,
    },
    /// The last two digits of a notice number are not the mod-93 check of the first 16.
    #[error("notice number {value:?}: check digits should be {expected}")]
    NoticeCheckDigits {
        /// The offending notice number.
        value: String,
        /// The check digits its first 16 digits call for.
        expected: String,
    },
    /// An IUV is empty, longer than 35 characters or has characters other than `[A-Za-z0-9]`.
    #[error("iuv {value:?}: must be 1 to 35 letters or digits")]
    IuvShape {
        /// The offending text (possibly cut).
        value: String,
    },
    /// A municipality-supplied IUV breaks one of the rules of mypay.md §6.
    #[error("iuv {value:?}: {rule}")]
    SuppliedIuv {
        /// The offending text (possibly cut).
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The IUV17 counter is outside `1..=99_999_999_999`.
    #[error("iuv counter {counter}: must be between 1 and 99999999999")]
    CounterOutOfRange {
        /// The offending counter.
        counter: u64,
    },
}

/// `"00" "01" … "99"` side by side, so a 2-digit code can lend out a `&'static str`.
const TWO_DIGITS: &str = "0001020304050607080910111213141516171819\
                          2021222324252627282930313233343536373839\
                          4041424344454647484950515253545556575859\
                          6061626364656667686970717273747576777879\
                          8081828384858687888990919293949596979899";

fn two_digits(value: u8) -> &'static str {
    let start = usize::from(value) * 2;
    TWO_DIGITS.get(start..start + 2).unwrap_or("00")
}

fn parse_two_digits(what: &'static str, text: &str) -> Result<u8, NoticeError> {
    match text.as_bytes() {
        [tens @ b'0'..=b'9', units @ b'0'..=b'9'] => Ok((tens - b'0') * 10 + (units - b'0')),
        _ => Err(NoticeError::InvalidCode { what, value: super::shown(text) }),
    }
}

/// Defines a 2-digit code (`00`..`99`) kept as its value; the three codes differ only in name
/// and meaning, so they share one implementation and cannot be mixed up by the caller.
macro_rules! two_digit_code {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u8);

        impl $name {
            #[doc = concat!("Parses a ", $what, ": exactly 2 ASCII digits, `00` to `99`.")]
            pub fn parse(text: &str) -> Result<$name, NoticeError> {
                parse_two_digits($what, text).map($name)
            }

            #[doc = concat!("The ", $what, " with this value, which must be at most 99.")]
            pub fn new(value: u8) -> Result<$name, NoticeError> {
                if value > 99 {
                    return Err(NoticeError::InvalidCode {
                        what: $what,
                        value: value.to_string(),
                    });
                }
                Ok($name(value))
            }

            /// The numeric value, 0 to 99.
            pub const fn value(self) -> u8 {
                self.0
            }

            /// The two zero-padded digits, e.g. `01`.
            pub fn as_str(self) -> &'static str {
                two_digits(self.0)
            }
        }

        impl fmt::Display for $name {
            /// The two zero-padded digits.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

two_digit_code!(
    /// The segregation code pagoPA assigns to a generation point of IUVs (aux digit 3,
    /// pagopa.md §2.1); in MyPay it is the municipality's `cod_codice_segregazione`.
    SegregationCode,
    "segregation code"
);

two_digit_code!(
    /// The application code that routes aux-digit-0 notice numbers to a station
    /// (pagopa.md §2.1).
    ApplicationCode,
    "application code"
);

two_digit_code!(
    /// The generator id in positions 3-4 of an IUV17; `00` is mypay's own generator, and the
    /// municipality's own systems must use another value (mypay.md §6).
    GeneratorId,
    "generator id"
);

impl GeneratorId {
    /// `00`, the "sistema informativo" id reserved to mypay's own IUVs.
    pub const DEFAULT: GeneratorId = GeneratorId(0);
}

/// The largest IUV17 counter: 11 digits.
const MAX_COUNTER: u64 = 99_999_999_999;

/// Longest IUV (creditorReferenceId, `stText35`).
const IUV_MAX_CHARS: usize = 35;

/// The mod-93 check digits of a number of at most 16 digits (pagopa.md §2.2).
fn check_digits(number: u64) -> String {
    format!("{:02}", number % 93)
}

/// The value of an all-ASCII-digit text of at most 19 digits.
fn digits_value(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0_u64, |acc, b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// A notice number (numero avviso, NAV): 18 digits whose aux digit, routing code and check
/// digits are valid (pagopa.md §2.1-2.2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NoticeNumber(String);

impl NoticeNumber {
    /// Parses 18 ASCII digits with aux digit 0 to 3 and, for aux 0, 2 and 3, the mod-93 check
    /// digits; aux 1 has none.
    ///
    /// The all-zero probe `000000000000000000` is valid (aux 0, application code 00, check
    /// 00) and is answered as an unknown notice, not as a malformed one.
    pub fn parse(text: &str) -> Result<NoticeNumber, NoticeError> {
        if text.len() != 18 || !all_digits(text) {
            return Err(NoticeError::NoticeShape { value: super::shown(text) });
        }
        let aux = text.bytes().next().map_or(0, |b| b - b'0');
        if aux > 3 {
            return Err(NoticeError::AuxDigit { value: text.to_owned(), aux });
        }
        if aux != 1 {
            // For aux 0, 2 and 3 the first 16 digits are exactly what the check covers, so one
            // rule serves all three (pagopa.md §2.2).
            let body = text.get(..16).and_then(digits_value).unwrap_or(0);
            let expected = check_digits(body);
            if text.get(16..) != Some(expected.as_str()) {
                return Err(NoticeError::NoticeCheckDigits { value: text.to_owned(), expected });
            }
        }
        Ok(NoticeNumber(text.to_owned()))
    }

    /// Parses a notice number as people type or copy it, ignoring spaces, tabs and hyphens
    /// (`3010 0000 0000 0001 44`); otherwise as [`NoticeNumber::parse`].
    pub fn parse_loose(text: &str) -> Result<NoticeNumber, NoticeError> {
        let compact: String = text.chars().filter(|ch| !matches!(ch, ' ' | '\t' | '-')).collect();
        NoticeNumber::parse(&compact).map_err(|err| match err {
            // Name what the person typed, not our compacted copy.
            NoticeError::NoticeShape { .. } => NoticeError::NoticeShape { value: super::shown(text) },
            other => other,
        })
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The aux digit, 0 to 3.
    pub fn aux_digit(&self) -> u8 {
        self.0.bytes().next().map_or(0, |b| b - b'0')
    }

    /// The IUV (creditorReferenceId): the last 15 digits for aux 0, the last 17 otherwise.
    pub fn iuv(&self) -> Iuv {
        let start = if self.aux_digit() == 0 { 3 } else { 1 };
        Iuv(self.0.get(start..).unwrap_or_default().to_owned())
    }

    /// The segregation code in positions 2-3, for aux digit 3 only.
    pub fn segregation_code(&self) -> Option<SegregationCode> {
        if self.aux_digit() != 3 {
            return None;
        }
        self.0.get(1..3).and_then(|code| SegregationCode::parse(code).ok())
    }

    /// The application code in positions 2-3, for aux digit 0 only.
    pub fn application_code(&self) -> Option<ApplicationCode> {
        if self.aux_digit() != 0 {
            return None;
        }
        self.0.get(1..3).and_then(|code| ApplicationCode::parse(code).ok())
    }

    /// The digits in groups of 4 from the left, as printed on the notice:
    /// `3010 0000 0000 0001 44` (mypay.md §6, `formatCodAvviso`).
    pub fn grouped(&self) -> String {
        group_by_four(&self.0)
    }
}

impl fmt::Display for NoticeNumber {
    /// The 18 digits, ungrouped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `abcdefghij` to `abcd efgh ij`; shared with the IBAN display.
pub(super) fn group_by_four(text: &str) -> String {
    let mut grouped = String::with_capacity(text.len() + text.len() / 4);
    for (idx, ch) in text.chars().enumerate() {
        if idx > 0 && idx % 4 == 0 {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    grouped
}

/// An IUV (identificativo univoco di versamento, pagoPA's creditorReferenceId): 1 to 35
/// ASCII letters or digits (pagopa.md §2.3).
///
/// [`Iuv::parse`] accepts any such reference, as it may arrive from the Node or an old receipt;
/// [`Iuv::parse_supplied`] applies the stricter rules for IUVs a municipality brings itself.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iuv(String);

impl Iuv {
    /// Parses a generic creditor reference: 1 to 35 characters `[A-Za-z0-9]`, case kept.
    pub fn parse(text: &str) -> Result<Iuv, NoticeError> {
        let valid = !text.is_empty() && text.len() <= IUV_MAX_CHARS && text.bytes().all(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(NoticeError::IuvShape { value: super::shown(text) });
        }
        Ok(Iuv(text.to_owned()))
    }

    /// Parses an IUV supplied by the municipality (CSV `codIuv`, SIL), per mypay.md §6:
    ///
    /// - 15 digits (legacy aux 0), not starting with `00`, the prefix of MyPay3's generator;
    /// - 17 digits starting with the municipality's segregation code, with positions 3-4 other
    ///   than `00` (mypay's own generator id) and valid mod-93 check digits;
    /// - 25 letters or digits (legacy RF), where an IUV ending in `0000` needs `99` in
    ///   positions 7-8.
    ///
    /// An IUV mypay generated itself (generator `00`) is re-read with [`Iuv::parse`] instead.
    pub fn parse_supplied(text: &str, segregation: SegregationCode) -> Result<Iuv, NoticeError> {
        let broken = |rule: String| NoticeError::SuppliedIuv { value: super::shown(text), rule };
        match text.len() {
            15 => {
                if !all_digits(text) {
                    return Err(broken("a 15-character iuv must be all digits".into()));
                }
                if text.starts_with("00") {
                    return Err(broken("a 15-digit iuv must not start with 00".into()));
                }
            }
            17 => {
                if !all_digits(text) {
                    return Err(broken("a 17-character iuv must be all digits".into()));
                }
                if text.get(..2) != Some(segregation.as_str()) {
                    return Err(broken(format!("a 17-digit iuv must start with the segregation code {segregation}")));
                }
                if text.get(2..4) == Some("00") {
                    return Err(broken("positions 3-4 of a 17-digit iuv must not be 00, reserved to mypay".into()));
                }
                let body = text.get(..15).and_then(digits_value).map_or(0, |base| 3 * 10_u64.pow(15) + base);
                let expected = check_digits(body);
                if text.get(15..) != Some(expected.as_str()) {
                    return Err(broken(format!("check digits should be {expected}")));
                }
            }
            25 => {
                if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(broken("a 25-character iuv must be letters and digits only".into()));
                }
                if text.ends_with("0000") && text.get(6..8) != Some("99") {
                    return Err(broken("a 25-character iuv ending in 0000 must have 99 in positions 7-8".into()));
                }
            }
            _ => {
                return Err(broken("must be 15 or 17 digits or 25 letters and digits".into()));
            }
        }
        Ok(Iuv(text.to_owned()))
    }

    /// The IUV's characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The notice number that carries this IUV: `3` + IUV for 17 digits, `0` + application
    /// code + IUV for 15 digits when an application code is given; `None` for any other IUV
    /// or when the result is not a valid notice number (wrong check digits).
    pub fn notice_number(&self, app: Option<ApplicationCode>) -> Option<NoticeNumber> {
        if !all_digits(&self.0) {
            return None;
        }
        let candidate = match (self.0.len(), app) {
            (17, _) => format!("3{}", self.0),
            (15, Some(app)) => format!("0{app}{}", self.0),
            _ => return None,
        };
        NoticeNumber::parse(&candidate).ok()
    }
}

impl fmt::Display for Iuv {
    /// The IUV's characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds the IUV17 and aux-3 notice number for one value of the municipality's counter
/// (mypay.md §6): segregation code (2) + generator id (2) + counter zero-padded to 11 digits +
/// the mod-93 check digits of `3` + those 15 digits.
///
/// The counter must be `1..=99_999_999_999`; it comes from the store, which advances it in the
/// same transaction that saves the debt, so two debts never share an IUV.
pub fn generate_iuv17(
    seg: SegregationCode,
    generator: GeneratorId,
    counter: u64,
) -> Result<(Iuv, NoticeNumber), NoticeError> {
    if !(1..=MAX_COUNTER).contains(&counter) {
        return Err(NoticeError::CounterOutOfRange { counter });
    }
    let body = 3 * 10_u64.pow(15)
        + u64::from(seg.value()) * 10_u64.pow(13)
        + u64::from(generator.value()) * 10_u64.pow(11)
        + counter;
    // The 16 digits of `body` and the two check digits, written directly: an import generates
    // an IUV per row, and formatting (and parsing back) cost more than the rest of the draw.
    let mut digits = [b'0'; 18];
    let mut rest = body * 100 + body % 93;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let notice = String::from_utf8_lossy(&digits).into_owned();
    let iuv = notice.get(1..).unwrap_or_default().to_owned();
    Ok((Iuv(iuv), NoticeNumber(notice)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    fn seg(text: &str) -> SegregationCode {
        SegregationCode::parse(text).unwrap()
    }

    #[test]
    fn the_four_worked_examples_of_pagopa_2_2() {
        // (NAV, aux, IUV, routing code)
        for (nav, aux, iuv, code) in [
            ("301000000000000144", 3, "01000000000000144", Some("01")),
            ("001000000000004282", 0, "000000000004282", Some("01")),
            ("200000000000012332", 2, "00000000000012332", None),
            ("001340000013900808", 0, "340000013900808", Some("01")),
        ] {
            let notice = NoticeNumber::parse(nav).unwrap();
            assert_eq!(notice.as_str(), nav);
            assert_eq!(notice.aux_digit(), aux);
            assert_eq!(notice.iuv().as_str(), iuv);
            let routing = match aux {
                3 => notice.segregation_code().map(SegregationCode::as_str),
                0 => notice.application_code().map(ApplicationCode::as_str),
                _ => None,
            };
            assert_eq!(routing, code, "{nav}");
        }
    }

    #[test]
    fn routing_codes_only_for_their_aux_digit() {
        let aux3 = NoticeNumber::parse("301000000000000144").unwrap();
        assert_eq!(aux3.application_code(), None);
        assert_eq!(aux3.segregation_code(), Some(seg("01")));
        let aux0 = NoticeNumber::parse("001000000000004282").unwrap();
        assert_eq!(aux0.segregation_code(), None);
        let aux2 = NoticeNumber::parse("200000000000012332").unwrap();
        assert_eq!(aux2.segregation_code(), None);
        assert_eq!(aux2.application_code(), None);
    }

    #[test]
    fn the_all_zero_probe_is_valid() {
        let probe = NoticeNumber::parse("000000000000000000").unwrap();
        assert_eq!(probe.aux_digit(), 0);
        assert_eq!(probe.application_code(), Some(ApplicationCode::parse("00").unwrap()));
        assert_eq!(probe.iuv().as_str(), "000000000000000");
    }

    #[test]
    fn aux_1_has_no_check_digits() {
        let notice = NoticeNumber::parse("112345678901234567").unwrap();
        assert_eq!(notice.iuv().as_str(), "12345678901234567");
    }

    #[test]
    fn bad_notice_numbers_are_rejected_with_a_reason() {
        assert_eq!(
            NoticeNumber::parse("301000000000000145").unwrap_err().to_string(),
            r#"notice number "301000000000000145": check digits should be 44"#
        );
        assert_eq!(
            NoticeNumber::parse("401000000000000144").unwrap_err().to_string(),
            r#"notice number "401000000000000144": aux digit 4 is not one of 0, 1, 2, 3"#
        );
        assert_eq!(
            NoticeNumber::parse("30100000000000014").unwrap_err().to_string(),
            r#"notice number "30100000000000014": must be exactly 18 digits"#
        );
        // The SANP documentation example has a wrong check digit (pagopa.md §1.13).
        assert!(NoticeNumber::parse("311111111112222222").is_err());
        for text in ["", "3010000000000001444", "30100000000000014a", " 301000000000000144", "３01000000000000144"] {
            assert!(NoticeNumber::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn grouped_and_loose() {
        let notice = NoticeNumber::parse("301000000000000144").unwrap();
        assert_eq!(notice.grouped(), "3010 0000 0000 0001 44");
        assert_eq!(notice.to_string(), "301000000000000144");
        assert_eq!(NoticeNumber::parse_loose(" 3010 0000-0000 0001 44 "), Ok(notice));
        assert_eq!(
            NoticeNumber::parse_loose("3010 0000").unwrap_err().to_string(),
            r#"notice number "3010 0000": must be exactly 18 digits"#
        );
    }

    #[test]
    fn generate_the_worked_example() {
        let (iuv, notice) = generate_iuv17(seg("01"), GeneratorId::DEFAULT, 1).unwrap();
        assert_eq!(notice.as_str(), "301000000000000144");
        assert_eq!(iuv.as_str(), "01000000000000144");
        assert_eq!(notice.iuv(), iuv);
    }

    #[test]
    fn generate_checks_the_counter() {
        let err = generate_iuv17(seg("01"), GeneratorId::DEFAULT, 0).unwrap_err();
        assert_eq!(err.to_string(), "iuv counter 0: must be between 1 and 99999999999");
        assert!(generate_iuv17(seg("01"), GeneratorId::DEFAULT, 100_000_000_000).is_err());
        let (iuv, _) = generate_iuv17(seg("99"), GeneratorId::DEFAULT, MAX_COUNTER).unwrap();
        assert!(iuv.as_str().starts_with("990099999999999"));
    }

    #[test]
    fn two_digit_codes() {
        assert_eq!(seg("07").value(), 7);
        assert_eq!(seg("07").to_string(), "07");
        assert_eq!(SegregationCode::new(7).unwrap().as_str(), "07");
        assert_eq!(GeneratorId::DEFAULT.as_str(), "00");
        assert_eq!(GeneratorId::parse("42").unwrap().value(), 42);
        assert_eq!(ApplicationCode::parse("99").unwrap().as_str(), "99");
        for text in ["", "1", "123", "a1", " 1", "-1", "١٢"] {
            assert!(SegregationCode::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(
            SegregationCode::parse("1").unwrap_err().to_string(),
            r#"segregation code "1": must be exactly 2 digits"#
        );
        assert_eq!(GeneratorId::new(100).unwrap_err().to_string(), r#"generator id "100": must be exactly 2 digits"#);
    }

    #[test]
    fn generic_iuv() {
        assert_eq!(Iuv::parse("RF23abc").unwrap().as_str(), "RF23abc");
        assert!(Iuv::parse(&"A".repeat(35)).is_ok());
        for text in ["", &"A".repeat(36), "ab-c", "a c", "àbc"] {
            assert!(Iuv::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(Iuv::parse("a b").unwrap_err().to_string(), r#"iuv "a b": must be 1 to 35 letters or digits"#);
    }

    #[test]
    fn supplied_iuv_rules() {
        let org = seg("01");
        // 17 digits with a generator other than mypay's.
        let (iuv, _) = generate_iuv17(org, GeneratorId::parse("05").unwrap(), 42).unwrap();
        assert_eq!(Iuv::parse_supplied(iuv.as_str(), org), Ok(iuv.clone()));
        assert_eq!(
            Iuv::parse_supplied("01000000000000144", org).unwrap_err().to_string(),
            r#"iuv "01000000000000144": positions 3-4 of a 17-digit iuv must not be 00, reserved to mypay"#
        );
        assert_eq!(
            Iuv::parse_supplied(iuv.as_str(), seg("02")).unwrap_err().to_string(),
            format!(r#"iuv "{iuv}": a 17-digit iuv must start with the segregation code 02"#)
        );
        let mut wrong_check = iuv.as_str()[..15].to_owned();
        wrong_check.push_str(if iuv.as_str().ends_with("00") { "01" } else { "00" });
        let err = Iuv::parse_supplied(&wrong_check, org).unwrap_err().to_string();
        assert!(err.contains("check digits should be"), "{err}");
        assert!(Iuv::parse_supplied("0105000000000004a", org).is_err());

        // 15 digits.
        assert!(Iuv::parse_supplied("340000013900808", org).is_ok());
        assert_eq!(
            Iuv::parse_supplied("000000000004282", org).unwrap_err().to_string(),
            r#"iuv "000000000004282": a 15-digit iuv must not start with 00"#
        );
        assert!(Iuv::parse_supplied("34000001390080A", org).is_err());

        // 25 characters.
        assert!(Iuv::parse_supplied("RF2301PO00000000000010000", org).is_err());
        assert!(Iuv::parse_supplied("RF230199000000000001X0000", org).is_ok());
        assert!(Iuv::parse_supplied("RF2301PO00000000000010001", org).is_ok());
        assert!(Iuv::parse_supplied("RF2301PO0000000000001000-", org).is_err());

        // Anything else.
        assert_eq!(
            Iuv::parse_supplied("12345", org).unwrap_err().to_string(),
            r#"iuv "12345": must be 15 or 17 digits or 25 letters and digits"#
        );
        assert!(Iuv::parse_supplied("", org).is_err());
    }

    #[test]
    fn notice_number_from_iuv() {
        let iuv17 = Iuv::parse("01000000000000144").unwrap();
        assert_eq!(iuv17.notice_number(None).unwrap().as_str(), "301000000000000144");
        let iuv15 = Iuv::parse("340000013900808").unwrap();
        let app = ApplicationCode::parse("01").unwrap();
        assert_eq!(iuv15.notice_number(Some(app)).unwrap().as_str(), "001340000013900808");
        assert_eq!(iuv15.notice_number(None), None);
        // Wrong check digits for the application code.
        let other_app = ApplicationCode::parse("02").unwrap();
        assert_eq!(iuv15.notice_number(Some(other_app)), None);
        assert_eq!(Iuv::parse("01000000000000145").unwrap().notice_number(None), None);
        assert_eq!(Iuv::parse("ABC").unwrap().notice_number(Some(app)), None);
        assert_eq!(Iuv::parse("0100000000000014A").unwrap().notice_number(None), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn generated_iuvs_round_trip(
            seg_value in 0_u8..=99,
            generator_value in 0_u8..=99,
            counter in 1..=MAX_COUNTER,
        ) {
            let seg = SegregationCode::new(seg_value).unwrap();
            let generator = GeneratorId::new(generator_value).unwrap();
            let (iuv, notice) = generate_iuv17(seg, generator, counter).unwrap();
            let reparsed = NoticeNumber::parse(notice.as_str()).unwrap();
            prop_assert_eq!(&reparsed, &notice);
            prop_assert_eq!(reparsed.iuv(), iuv.clone());
            prop_assert_eq!(reparsed.segregation_code(), Some(seg));
            prop_assert_eq!(iuv.notice_number(None), Some(notice));
            if generator_value != 0 {
                prop_assert_eq!(Iuv::parse_supplied(iuv.as_str(), seg), Ok(iuv));
            }
        }

        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}|[0-9]{14,26}") {
            let seg = SegregationCode(1);
            let _ = NoticeNumber::parse(&text);
            let _ = NoticeNumber::parse_loose(&text);
            let _ = SegregationCode::parse(&text);
            let _ = ApplicationCode::parse(&text);
            let _ = GeneratorId::parse(&text);
            let _ = Iuv::parse_supplied(&text, seg);
            if let Ok(iuv) = Iuv::parse(&text) {
                let _ = iuv.notice_number(Some(ApplicationCode::parse("01").unwrap()));
                let _ = iuv.notice_number(None);
            }
        }
    }
}
