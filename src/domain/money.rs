//! Money as whole euro cents (`Cents`), with the exact parsers and formatters used at the edges.
//!
//! Owns: the decimal forms an amount takes at the boundaries (CSV/SOAP `30.00`, pagoPA
//! `stAmount`, Italian `1.020,99`) and the displays (`1020.99`, `1.020,99`, `€ 1.020,99`).
//! Must never: go through floating point, read locale settings, or panic on any input.
//! Implements: `shared/reference/pagopa.md` §1.3 (`stAmount`: `\d+\.\d{2}`, max 999999999.99)
//! and `shared/reference/mypay.md` §2.3 (dot decimals, at most 15 characters, max 999,999,999.99).

use std::fmt;

/// An amount of money in euro cents.
///
/// Negative values may exist inside computations (a difference, a refund) and format with a
/// leading `-`; the parsers only ever produce values in `0..=Cents::MAX_AMOUNT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(i64);

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is empty.
    #[error("amount is empty")]
    Empty,
    /// The text is longer than the form allows.
    #[error("amount {value:?}: longer than {max} characters")]
    TooLong {
        /// The offending text (possibly cut).
        value: String,
        /// The maximum length of the form.
        max: usize,
    },
    /// The text does not have the shape of the form.
    #[error("amount {value:?}: {reason}")]
    Malformed {
        /// The offending text (possibly cut).
        value: String,
        /// What is wrong, and what the form expects.
        reason: &'static str,
    },
    /// The amount exceeds [`Cents::MAX_AMOUNT`].
    #[error("amount {value:?}: exceeds the maximum of 999999999.99")]
    TooLarge {
        /// The offending text (possibly cut).
        value: String,
    },
}

/// Longest text [`Cents::parse_decimal`] accepts (MyPay's CSV column limit, mypay.md §2.3).
const DECIMAL_MAX_CHARS: usize = 15;

/// Longest text [`Cents::parse_italian`] accepts; `999.999.999,99` needs 14.
const ITALIAN_MAX_CHARS: usize = 20;

/// The same limit applies to pagoPA's `stAmount`, whose digits are otherwise unbounded.
const XSD_MAX_CHARS: usize = 64;

impl Cents {
    /// Zero euros.
    pub const ZERO: Cents = Cents(0);

    /// The largest amount pagoPA and MyPay accept: 999,999,999.99 euros.
    pub const MAX_AMOUNT: Cents = Cents(99_999_999_999);

    /// Wraps a number of cents; any value is allowed, including negative ones.
    pub const fn new(cents: i64) -> Cents {
        Cents(cents)
    }

    /// The number of cents.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// True when the amount is strictly greater than zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// The sum, or `None` when it overflows `i64` (it may exceed [`Cents::MAX_AMOUNT`]).
    pub const fn checked_add(self, other: Cents) -> Option<Cents> {
        match self.0.checked_add(other.0) {
            Some(sum) => Some(Cents(sum)),
            None => None,
        }
    }

    /// The difference, or `None` when it overflows `i64` (it may be negative).
    pub const fn checked_sub(self, other: Cents) -> Option<Cents> {
        match self.0.checked_sub(other.0) {
            Some(difference) => Some(Cents(difference)),
            None => None,
        }
    }

    /// Parses the dot-decimal form of the CSV flows and SOAP messages: `30`, `30.5`, `30.00`,
    /// `100.50`, `0.01`.
    ///
    /// Rejects a comma, a sign, spaces, more than 2 decimals, an empty text, more than 15
    /// characters and values over [`Cents::MAX_AMOUNT`]. Zero is accepted: whether an amount
    /// may be zero is the caller's rule.
    pub fn parse_decimal(text: &str) -> Result<Cents, MoneyError> {
        check_length(text, DECIMAL_MAX_CHARS)?;
        let (units, decimals) = match text.split_once('.') {
            Some((units, decimals)) => (units, Some(decimals)),
            None => (text, None),
        };
        if text.contains(',') {
            return Err(malformed(text, "a comma is not allowed, the decimal separator is a dot (e.g. 100.50)"));
        }
        if !is_digits(units) {
            return Err(malformed(text, "expected digits with an optional dot and 1 or 2 decimals (e.g. 100.50)"));
        }
        let fraction = match decimals {
            None => 0,
            Some(decimals) => fraction_cents(text, decimals)?,
        };
        combine(text, units, fraction)
    }

    /// Parses pagoPA's strict `stAmount` form `\d+\.\d{2}`, at most 999999999.99.
    pub fn parse_xsd_amount(text: &str) -> Result<Cents, MoneyError> {
        check_length(text, XSD_MAX_CHARS)?;
        let shape_ok = text
            .split_once('.')
            .filter(|(units, decimals)| is_digits(units) && decimals.len() == 2)
            .filter(|(_, decimals)| is_digits(decimals));
        let Some((units, decimals)) = shape_ok else {
            return Err(malformed(text, "expected digits, a dot and exactly 2 decimals (e.g. 30.00)"));
        };
        let fraction = fraction_cents(text, decimals)?;
        combine(text, units, fraction)
    }

    /// Parses the Italian form typed by people: `1.020,99`, `1020,99`, `5`, `5,5`, `0,01`.
    ///
    /// Thousands dots are optional, but when present every group after the first has exactly
    /// 3 digits, so `1,020.99` and `1.02` are rejected instead of being misread; `1.020` is
    /// one thousand and twenty euros.
    pub fn parse_italian(text: &str) -> Result<Cents, MoneyError> {
        check_length(text, ITALIAN_MAX_CHARS)?;
        let (grouped_units, decimals) = match text.split_once(',') {
            Some((units, decimals)) => (units, Some(decimals)),
            None => (text, None),
        };
        let units = ungroup_thousands(grouped_units).ok_or_else(|| {
            malformed(text, "expected digits with optional thousands dots, a comma and 1 or 2 decimals (e.g. 1.020,99)")
        })?;
        let fraction = match decimals {
            None => 0,
            Some(decimals) => fraction_cents(text, decimals)?,
        };
        combine(text, &units, fraction)
    }

    /// The dot-decimal form with exactly two decimals: `1020.99`, `0.00`, `-0.05`.
    pub fn to_decimal_string(self) -> String {
        let (units, fraction) = self.split();
        format!("{}{units}.{fraction:02}", self.sign())
    }

    /// The Italian form with thousands dots and a decimal comma: `1.020,99`.
    pub fn to_italian(self) -> String {
        let (units, fraction) = self.split();
        format!("{}{},{fraction:02}", self.sign(), group_thousands(&units.to_string()))
    }

    /// The Italian form with the euro sign, as shown in pages and PDFs: `€ 1.020,99`
    /// (`€ -5,00` when negative).
    pub fn format_eur(self) -> String {
        format!("€ {}", self.to_italian())
    }

    fn sign(self) -> &'static str {
        if self.0 < 0 { "-" } else { "" }
    }

    /// Whole euros and remaining cents of the absolute value; `unsigned_abs` keeps `i64::MIN`
    /// representable.
    fn split(self) -> (u64, u64) {
        let magnitude = self.0.unsigned_abs();
        (magnitude / 100, magnitude % 100)
    }
}

impl fmt::Display for Cents {
    /// Same as [`Cents::to_decimal_string`], the form of the wire contracts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

fn malformed(text: &str, reason: &'static str) -> MoneyError {
    MoneyError::Malformed { value: super::shown(text), reason }
}

fn check_length(text: &str, max: usize) -> Result<(), MoneyError> {
    if text.is_empty() {
        return Err(MoneyError::Empty);
    }
    if text.chars().count() > max {
        return Err(MoneyError::TooLong { value: super::shown(text), max });
    }
    Ok(())
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Cents from the 1 or 2 digits after the decimal separator (`5` means 50 cents).
fn fraction_cents(text: &str, decimals: &str) -> Result<i64, MoneyError> {
    if !is_digits(decimals) {
        return Err(malformed(text, "expected 1 or 2 digits after the decimal separator"));
    }
    let value = digits_value(decimals).unwrap_or(0);
    match decimals.len() {
        1 => Ok(value * 10),
        2 => Ok(value),
        _ => Err(malformed(text, "more than 2 decimals")),
    }
}

/// Euros and cents to `Cents`, checking the maximum without ever overflowing.
fn combine(text: &str, units: &str, fraction: i64) -> Result<Cents, MoneyError> {
    let too_large = || MoneyError::TooLarge { value: super::shown(text) };
    let cents = digits_value(units)
        .and_then(|euros| euros.checked_mul(100))
        .and_then(|cents| cents.checked_add(fraction))
        .ok_or_else(too_large)?;
    if cents > Cents::MAX_AMOUNT.0 {
        return Err(too_large());
    }
    Ok(Cents(cents))
}

/// Value of an ASCII digit string, `None` when it does not fit an `i64`.
fn digits_value(digits: &str) -> Option<i64> {
    digits.bytes().try_fold(0_i64, |acc, b| acc.checked_mul(10)?.checked_add(i64::from(b.checked_sub(b'0')?)))
}

/// `1.020.000` to `1020000`; `None` unless the text is plain digits or well-formed groups.
fn ungroup_thousands(units: &str) -> Option<String> {
    if !units.contains('.') {
        return is_digits(units).then(|| units.to_owned());
    }
    let mut groups = units.split('.');
    let first = groups.next()?;
    if !is_digits(first) || first.len() > 3 {
        return None;
    }
    let mut plain = first.to_owned();
    for group in groups {
        if group.len() != 3 || !is_digits(group) {
            return None;
        }
        plain.push_str(group);
    }
    Some(plain)
}

/// `1020000` to `1.020.000`: the Italian grouping of a run of digits (amounts, counts).
pub fn group_thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (idx, ch) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    grouped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_accepts_the_csv_forms() {
        for (text, cents) in [
            ("30", 3000),
            ("30.5", 3050),
            ("30.00", 3000),
            ("100.50", 10050),
            ("0.01", 1),
            ("0", 0),
            ("007.10", 710),
            ("999999999.99", 99_999_999_999),
        ] {
            assert_eq!(Cents::parse_decimal(text), Ok(Cents::new(cents)), "{text}");
        }
    }

    #[test]
    fn decimal_rejects_what_mypay_rejects() {
        for text in [
            "30,00",
            "-5",
            "+5",
            " 5",
            "5 ",
            "1.234",
            "",
            ".5",
            "5.",
            "1.2.3",
            "1e3",
            "1_000",
            "٣",
            "1000000000.00",
            "1234567890123456",
        ] {
            assert!(Cents::parse_decimal(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn decimal_errors_name_value_and_problem() {
        assert_eq!(
            Cents::parse_decimal("30,00").unwrap_err().to_string(),
            r#"amount "30,00": a comma is not allowed, the decimal separator is a dot (e.g. 100.50)"#
        );
        assert_eq!(Cents::parse_decimal("1.234").unwrap_err().to_string(), r#"amount "1.234": more than 2 decimals"#);
        assert_eq!(
            Cents::parse_decimal("1000000000").unwrap_err().to_string(),
            r#"amount "1000000000": exceeds the maximum of 999999999.99"#
        );
        assert_eq!(
            Cents::parse_decimal("1234567890123456").unwrap_err().to_string(),
            r#"amount "1234567890123456": longer than 15 characters"#
        );
        assert_eq!(Cents::parse_decimal("").unwrap_err().to_string(), "amount is empty");
    }

    #[test]
    fn xsd_amount_is_strict() {
        assert_eq!(Cents::parse_xsd_amount("30.00"), Ok(Cents::new(3000)));
        assert_eq!(Cents::parse_xsd_amount("0.00"), Ok(Cents::ZERO));
        assert_eq!(Cents::parse_xsd_amount("999999999.99"), Ok(Cents::MAX_AMOUNT));
        assert_eq!(Cents::parse_xsd_amount("00000000000000000000000001.00"), Ok(Cents::new(100)));
        for text in
            ["30", "30.0", "30.000", ".00", "30,00", "-1.00", "1000000000.00", "99999999999999999999999999.00", ""]
        {
            assert!(Cents::parse_xsd_amount(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn italian_accepts_people_forms() {
        for (text, cents) in [
            ("1.020,99", 102_099),
            ("1020,99", 102_099),
            ("5", 500),
            ("5,5", 550),
            ("0,01", 1),
            ("1.020", 102_000),
            ("999.999.999,99", 99_999_999_999),
            ("12.345.678", 1_234_567_800),
        ] {
            assert_eq!(Cents::parse_italian(text), Ok(Cents::new(cents)), "{text}");
        }
    }

    #[test]
    fn italian_rejects_ambiguous_or_foreign_forms() {
        for text in
            ["1,020.99", "1.02", "1.0200", "1234.567", ".020", "1.", "5,", "5,123", "-5", "€ 5", "1.000.000.000", ""]
        {
            assert!(Cents::parse_italian(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn formats() {
        let amount = Cents::new(102_099);
        assert_eq!(amount.to_decimal_string(), "1020.99");
        assert_eq!(amount.to_italian(), "1.020,99");
        assert_eq!(amount.format_eur(), "€ 1.020,99");
        assert_eq!(amount.to_string(), "1020.99");
        assert_eq!(Cents::ZERO.to_decimal_string(), "0.00");
        assert_eq!(Cents::ZERO.to_italian(), "0,00");
        assert_eq!(Cents::new(5).to_decimal_string(), "0.05");
        assert_eq!(Cents::new(-5).to_decimal_string(), "-0.05");
        assert_eq!(Cents::new(-123_456).to_italian(), "-1.234,56");
        assert_eq!(Cents::new(-500).format_eur(), "€ -5,00");
        assert_eq!(Cents::MAX_AMOUNT.to_italian(), "999.999.999,99");
        assert_eq!(Cents::new(100_000).to_italian(), "1.000,00");
        assert_eq!(Cents::new(i64::MIN).to_decimal_string(), "-92233720368547758.08");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Cents::new(5).checked_add(Cents::new(7)), Some(Cents::new(12)));
        assert_eq!(Cents::new(5).checked_sub(Cents::new(7)), Some(Cents::new(-2)));
        assert_eq!(Cents::new(i64::MAX).checked_add(Cents::new(1)), None);
        assert_eq!(Cents::new(i64::MIN).checked_sub(Cents::new(1)), None);
        assert_eq!(Cents::new(42).get(), 42);
        assert_eq!(Cents::default(), Cents::ZERO);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decimal_round_trips(cents in 0..=Cents::MAX_AMOUNT.get()) {
            let amount = Cents::new(cents);
            prop_assert_eq!(Cents::parse_decimal(&amount.to_decimal_string()), Ok(amount));
            prop_assert_eq!(Cents::parse_xsd_amount(&amount.to_decimal_string()), Ok(amount));
        }

        #[test]
        fn italian_round_trips(cents in 0..=Cents::MAX_AMOUNT.get()) {
            let amount = Cents::new(cents);
            prop_assert_eq!(Cents::parse_italian(&amount.to_italian()), Ok(amount));
        }

        #[test]
        fn parsers_never_panic(text in "\\PC{0,24}|[0-9.,]{0,24}") {
            let _ = Cents::parse_decimal(&text);
            let _ = Cents::parse_xsd_amount(&text);
            let _ = Cents::parse_italian(&text);
        }
    }
}
