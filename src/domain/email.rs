//! E-mail addresses of debtors and payers, as pagoPA accepts them.
//!
//! Owns: the `stEMail` shape, checked by hand so the domain needs no regex engine.
//! Must never: resolve domains, send mail, normalise case (the local part may be
//! case-sensitive), or panic on any input.
//! Implements: `shared/reference/pagopa.md` §1.3 (`stEMail`:
//! `[a-zA-Z0-9_\.\+\-]+@[a-zA-Z0-9\-]+(\.[a-zA-Z0-9\-]+)*`, at most 256 characters).
//! MyPay's CSV column 11 (mypay.md §2.4) is looser; an address that passes here is one pagoPA
//! will not refuse in a receipt or a notice.

use std::fmt;

/// Why a text is not an e-mail address pagoPA accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// The text is empty after trimming.
    #[error("e-mail address is empty")]
    Empty,
    /// The text breaks the `stEMail` pattern or length.
    #[error("e-mail address {value:?}: {reason}")]
    Invalid {
        /// The offending text, trimmed (possibly cut).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Longest address (`stEMail` max length).
const MAX_CHARS: usize = 256;

/// An e-mail address matching pagoPA's `stEMail`, trimmed, case kept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an address: trims, then checks at most 256 characters, a local part of
    /// letters, digits and `_ . + -`, one `@`, and a domain of dot-separated non-empty labels
    /// of letters, digits and `-`.
    pub fn parse(text: &str) -> Result<Email, EmailError> {
        let address = text.trim();
        let invalid = |reason| EmailError::Invalid { value: super::shown(address), reason };
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.chars().count() > MAX_CHARS {
            return Err(invalid("longer than 256 characters"));
        }
        let Some((local, domain)) = address.split_once('@') else {
            return Err(invalid("missing @"));
        };
        if local.is_empty() {
            return Err(invalid("nothing before @"));
        }
        let local_ok = local.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-'));
        if !local_ok {
            return Err(invalid("before @ only letters, digits and _ . + - are allowed"));
        }
        if domain.is_empty() {
            return Err(invalid("nothing after @"));
        }
        for label in domain.split('.') {
            if label.is_empty() {
                return Err(invalid("the domain has an empty part between dots"));
            }
            if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(invalid("after @ only letters, digits, - and single dots are allowed"));
            }
        }
        Ok(Email(address.to_owned()))
    }

    /// The address, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    /// The address, trimmed.
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
    fn accepted() {
        for (input, address) in [
            ("mario.rossi@comune.milano.it", "mario.rossi@comune.milano.it"),
            ("  Mario_Rossi+tari@Example-1.IT ", "Mario_Rossi+tari@Example-1.IT"),
            ("a@b", "a@b"),
            (".a..b.@x-y", ".a..b.@x-y"),
        ] {
            assert_eq!(Email::parse(input).unwrap().as_str(), address, "{input:?}");
        }
        let long_local = format!("{}@x.it", "a".repeat(250));
        assert!(Email::parse(&long_local).is_ok());
    }

    #[test]
    fn rejected() {
        for text in [
            "mario.rossi",
            "@comune.it",
            "mario@",
            "mario@@comune.it",
            "mario@comune..it",
            "mario@comune.it.",
            "mario@.comune.it",
            "mario rossi@comune.it",
            "mario@comune_it",
            "màrio@comune.it",
            "mario@comune.it\u{0}",
            "mario!@comune.it",
        ] {
            assert!(Email::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(Email::parse("   ").unwrap_err().to_string(), "e-mail address is empty");
        assert_eq!(Email::parse("mario.rossi").unwrap_err().to_string(), r#"e-mail address "mario.rossi": missing @"#);
        let too_long = format!("{}@x.it", "a".repeat(252));
        assert!(matches!(
            Email::parse(&too_long),
            Err(EmailError::Invalid { reason: "longer than 256 characters", .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parser_never_panics(text in "\\PC{0,40}|[a-z.@-]{0,20}") {
            let _ = Email::parse(&text);
        }
    }
}
