//! The strings printed as codes on a payment notice: the pagoPA QR code payload and the Poste
//! Data Matrix of the "Bollettino Postale PA".
//!
//! Owns: the exact layouts of pagopa.md §3.2 (`PAGOPA|002|…`) and §3.3 (the 256-character
//! `codfase=NBPA;…` string), built from validated values.
//! Must never: draw anything (that is `crate::pdf::codes`) or read any record.
//! Implements: `shared/reference/pagopa.md` §3.2-3.3, `shared/reference/mypay.md` §1.8.

use super::{Cents, NoticeNumber, OrgFiscalCode};

/// The largest amount a notice may carry: € 999.999.999,99 (pagopa.md §3.1, AVVISO.IMPORTO).
pub const NOTICE_MAX_CENTS: i64 = 99_999_999_999;

/// The largest amount the Data Matrix's 10-digit amount field can hold: € 99.999.999,99.
pub const POSTE_MAX_CENTS: i64 = 9_999_999_999;

/// Why a code cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeCodeError {
    /// The amount is not between 0,01 and the field's maximum.
    #[error("amount {amount} must be between 0,01 and {max}")]
    Amount { amount: String, max: String },
    /// The postal account number is not 1 to 12 digits.
    #[error("postal account {0:?} must be 1 to 12 digits")]
    PostalAccount(String),
}

/// The QR code payload of a notice: `PAGOPA|002|<NAV>|<org fiscal code>|<amount in cents>`.
///
/// The amount is the plain cents value, as pagoPA's own generator writes it (pagopa.md §3.2: "parsers must accept
/// both" the plain and the zero-padded form; the plain one is what PSP apps are tested with).
pub fn qr_payload(notice: &NoticeNumber, org: &OrgFiscalCode, amount: Cents) -> Result<String, NoticeCodeError> {
    check_amount(amount, NOTICE_MAX_CENTS)?;
    Ok(format!("PAGOPA|002|{}|{}|{}", notice.as_str(), org.as_str(), amount.get()))
}

/// What the Poste Data Matrix carries besides the notice number, amount and org.
#[derive(Debug, Clone, Copy)]
pub struct PosteParty<'a> {
    /// The debtor's fiscal code or VAT number (16 characters at most are kept).
    pub debtor_id: &'a str,
    /// The debtor's name (40 characters at most are kept).
    pub debtor_name: &'a str,
    /// The payment subject (110 characters at most are kept).
    pub subject: &'a str,
}

/// The 256-character Data Matrix string of the Bollettino Postale PA (pagopa.md §3.3):
///
/// `codfase=NBPA;` `18` NAV(18) `12` account(12, zero-padded) `10` cents(10, zero-padded) `3` `896` `1P1`
/// org CF(11) debtor id(16) debtor name(40) subject(110) 12 spaces `A`.
///
/// Text fields are cut or padded with spaces to their width. They are folded to printable ASCII
/// (accented letters lose their accent, anything else becomes a space) so that every field stays at
/// its byte offset: readers such as the IO app slice the string by position.
pub fn poste_datamatrix(
    notice: &NoticeNumber,
    postal_account: &str,
    amount: Cents,
    org: &OrgFiscalCode,
    party: PosteParty<'_>,
) -> Result<String, NoticeCodeError> {
    check_amount(amount, POSTE_MAX_CENTS)?;
    let account = postal_account.trim();
    if account.is_empty() || account.len() > 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoticeCodeError::PostalAccount(super::shown(postal_account)));
    }
    let mut out = String::with_capacity(256);
    out.push_str("codfase=NBPA;");
    out.push_str("18");
    out.push_str(notice.as_str());
    out.push_str("12");
    out.push_str(&format!("{account:0>12}"));
    out.push_str("10");
    out.push_str(&format!("{:010}", amount.get()));
    out.push('3');
    out.push_str("896");
    out.push_str("1P1");
    push_field(&mut out, org.as_str(), 11);
    push_field(&mut out, party.debtor_id, 16);
    push_field(&mut out, party.debtor_name, 40);
    push_field(&mut out, party.subject, 110);
    out.push_str(&" ".repeat(12));
    out.push('A');
    Ok(out)
}

fn check_amount(amount: Cents, max: i64) -> Result<(), NoticeCodeError> {
    if amount.get() < 1 || amount.get() > max {
        return Err(NoticeCodeError::Amount { amount: amount.to_italian(), max: Cents::new(max).to_italian() });
    }
    Ok(())
}

/// Appends `text` folded to ASCII, cut or right-padded with spaces to exactly `width` bytes.
fn push_field(out: &mut String, text: &str, width: usize) {
    let mut n = 0;
    for ch in text.chars().map(fold_ascii) {
        if n == width {
            break;
        }
        out.push(ch);
        n += 1;
    }
    out.extend(std::iter::repeat_n(' ', width - n));
}

/// One printable ASCII character for `ch`: itself, its letter without the accent, or a space.
pub fn fold_ascii(ch: char) -> char {
    match ch {
        ' '..='~' => ch,
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ç' => 'c',
        'Ç' => 'C',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ß' => 's',
        '’' | '‘' => '\'',
        _ => ' ',
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    fn nav() -> NoticeNumber {
        NoticeNumber::parse("301000000000000144").unwrap()
    }

    fn org() -> OrgFiscalCode {
        OrgFiscalCode::parse("01199250158").unwrap()
    }

    #[test]
    fn qr_payload_is_the_worked_example_of_pagopa_3_2() {
        assert_eq!(
            qr_payload(&nav(), &org(), Cents::new(15_000)).unwrap(),
            "PAGOPA|002|301000000000000144|01199250158|15000"
        );
    }

    #[test]
    fn qr_payload_takes_the_largest_notice_amount_and_refuses_more() {
        let max = qr_payload(&nav(), &org(), Cents::new(NOTICE_MAX_CENTS)).unwrap();
        assert!(max.ends_with("|99999999999"), "{max}");
        assert!(qr_payload(&nav(), &org(), Cents::new(NOTICE_MAX_CENTS + 1)).is_err());
        assert!(qr_payload(&nav(), &org(), Cents::new(0)).is_err());
    }

    #[test]
    fn poste_datamatrix_follows_the_offsets_of_pagopa_3_3() {
        let party = PosteParty {
            debtor_id: "RSSMRA85T10A562S",
            debtor_name: "Mario Rossi",
            subject: "TARI 2026 - rata 1 di 4",
        };
        let got = poste_datamatrix(&nav(), "12345678", Cents::new(15_000), &org(), party).unwrap();
        let expected = format!(
            "codfase=NBPA;183010000000000001441200001234567810000001500038961P101199250158RSSMRA85T10A562S{:<40}{:<110}{}A",
            "Mario Rossi",
            "TARI 2026 - rata 1 di 4",
            " ".repeat(12)
        );
        assert_eq!(got, expected);
        assert_eq!(got.len(), 256);
        // The positions the IO app's decoder reads.
        assert_eq!(&got[15..33], "301000000000000144");
        assert_eq!(&got[49..59], "0000015000");
        assert_eq!(&got[66..77], "01199250158");
        // The classic codeline, offsets 13-62.
        assert_eq!(&got[13..63], "18301000000000000144120000123456781000000150003896");
    }

    #[test]
    fn poste_datamatrix_folds_cuts_and_pads_text_to_keep_offsets() {
        let long_name = "Società Agricola Fratelli Dell'Acqua e Figli di Città di Castello";
        let party = PosteParty { debtor_id: "01234567897", debtor_name: long_name, subject: &"è".repeat(200) };
        let got = poste_datamatrix(&nav(), "1", Cents::new(1), &org(), party).unwrap();
        assert_eq!(got.len(), 256);
        assert!(got.is_ascii());
        assert_eq!(&got[35..47], "000000000001");
        assert_eq!(&got[77..93], "01234567897     ");
        assert_eq!(&got[93..133], "Societa Agricola Fratelli Dell'Acqua e F");
        assert_eq!(&got[133..243], "e".repeat(110));
        assert!(got.ends_with(&format!("{}A", " ".repeat(12))));
    }

    #[test]
    fn poste_datamatrix_refuses_what_does_not_fit() {
        let party = PosteParty { debtor_id: "X", debtor_name: "Y", subject: "Z" };
        assert!(matches!(
            poste_datamatrix(&nav(), "1234567890123", Cents::new(100), &org(), party),
            Err(NoticeCodeError::PostalAccount(_))
        ));
        assert!(matches!(
            poste_datamatrix(&nav(), "12AB", Cents::new(100), &org(), party),
            Err(NoticeCodeError::PostalAccount(_))
        ));
        assert!(matches!(
            poste_datamatrix(&nav(), "123", Cents::new(POSTE_MAX_CENTS + 1), &org(), party),
            Err(NoticeCodeError::Amount { .. })
        ));
        assert_eq!(
            NoticeCodeError::Amount { amount: "0,00".into(), max: "1,00".into() }.to_string(),
            "amount 0,00 must be between 0,01 and 1,00"
        );
    }
}
