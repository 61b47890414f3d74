//! The Italian words for why a tax id, an IUV or collection data was refused, written after MyPay's
//! `PAA_IMPORT_*` codes in the descriptions operators read (`_SCARTI` files, import pages): the
//! codes stay MyPay's, the words around them are Italian. The domain errors' `Display` stays
//! English, for logs and the CLI.
//! Must never: panic on any input.

use super::notice::NoticeError;
use super::tax_id::TaxIdError;
use super::taxonomy::TaxonomyError;

/// Why a debtor's or an org's identifier was refused, e.g. "carattere di controllo errato, atteso S".
pub fn tax_id(err: &TaxIdError) -> String {
    match err {
        TaxIdError::FiscalCodeShape { value, .. } => {
            let n = value.chars().count();
            if n == 16 {
                "struttura del codice fiscale errata: attese 6 lettere, 2 cifre, 1 lettera, 2 cifre, 1 lettera, \
                 3 cifre e 1 lettera, con mese e giorno validi"
                    .to_owned()
            } else {
                format!("il codice fiscale deve avere 16 caratteri, ne ha {n}")
            }
        }
        TaxIdError::FiscalCodeCheck { expected, .. } => format!("carattere di controllo errato, atteso {expected}"),
        TaxIdError::NumericShape { .. } => "deve avere esattamente 11 cifre".to_owned(),
        TaxIdError::NumericCheck { expected, .. } => format!("cifra di controllo errata, attesa {expected}"),
        TaxIdError::PartyKind { .. } => "tipo soggetto non valido: F o G".to_owned(),
        TaxIdError::NaturalPersonId { .. } => {
            "per una persona fisica (F) serve un codice fiscale di 16 caratteri o una partita IVA di 11 cifre"
                .to_owned()
        }
        TaxIdError::LegalPersonId { .. } => {
            "per una persona giuridica (G) serve una partita IVA di 11 cifre".to_owned()
        }
        TaxIdError::AnonymousNotAllowed { reason } if reason.contains("legal") => {
            "ANONIMO non ammesso per una persona giuridica (G)".to_owned()
        }
        TaxIdError::AnonymousNotAllowed { .. } => "ANONIMO non ammesso per questo tipo dovuto".to_owned(),
    }
}

/// Why an IUV a municipality supplied was refused (mypay.md §6).
pub fn iuv(err: &NoticeError) -> String {
    let NoticeError::SuppliedIuv { rule, .. } = err else {
        return "deve avere da 1 a 35 lettere o cifre".to_owned();
    };
    if let Some(expected) = rule.strip_prefix("check digits should be ") {
        return format!("cifre di controllo errate, attese {expected}");
    }
    if let Some(code) = rule.strip_prefix("a 17-digit iuv must start with the segregation code ") {
        return format!("uno IUV di 17 cifre deve iniziare con il codice di segregazione {code}");
    }
    match rule.as_str() {
        "a 15-character iuv must be all digits" => "uno IUV di 15 caratteri deve avere solo cifre",
        "a 15-digit iuv must not start with 00" => "uno IUV di 15 cifre non deve iniziare con 00",
        "a 17-character iuv must be all digits" => "uno IUV di 17 caratteri deve avere solo cifre",
        "positions 3-4 of a 17-digit iuv must not be 00, reserved to mypay" => {
            "le posizioni 3-4 di uno IUV di 17 cifre non possono essere 00, riservate a mypay"
        }
        "a 25-character iuv must be letters and digits only" => {
            "uno IUV di 25 caratteri deve avere solo lettere e cifre"
        }
        "a 25-character iuv ending in 0000 must have 99 in positions 7-8" => {
            "uno IUV di 25 caratteri che finisce con 0000 deve avere 99 nelle posizioni 7-8"
        }
        _ => "deve avere 15 o 17 cifre, oppure 25 lettere e cifre",
    }
    .to_owned()
}

/// Why `datiSpecificiRiscossione` was refused.
pub fn collection_data(err: &TaxonomyError) -> String {
    let reason = match err {
        TaxonomyError::CollectionData { reason, .. } | TaxonomyError::Code { reason, .. } => *reason,
    };
    match reason {
        "longer than 140 characters" => "più lungo di 140 caratteri",
        "needs at least 3 characters after the slash" => "servono almeno 3 caratteri dopo la barra",
        "must not contain spaces" => "non deve contenere spazi",
        _ => "deve iniziare con 0/, 1/, 2/ o 9/ (ad esempio 9/0101002IM/)",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::domain::{CollectionData, FiscalCode, Iuv, OrgFiscalCode, PartyId, PartyKind, SegregationCode};

    /// No English leaks: every reason the domain gives has its Italian words.
    fn italian(text: &str) -> bool {
        !["must", "should", "digits", "characters", "letters"].iter().any(|w| text.contains(w))
    }

    #[test]
    fn tax_ids_in_italian() {
        assert_eq!(
            tax_id(&FiscalCode::parse("RSSMRA85T10A562X").unwrap_err()),
            "carattere di controllo errato, atteso S"
        );
        assert_eq!(tax_id(&OrgFiscalCode::parse("01234567890").unwrap_err()), "cifra di controllo errata, attesa 7");
        assert_eq!(
            tax_id(&FiscalCode::parse("RSSMRA85T10A56").unwrap_err()),
            "il codice fiscale deve avere 16 caratteri, ne ha 14"
        );
        for (kind, id) in [
            (PartyKind::Natural, "RSSMRA85Z10A562S"),
            (PartyKind::Natural, "12345"),
            (PartyKind::Legal, "RSSMRA85T10A562S"),
            (PartyKind::Legal, "0123456789A"),
            (PartyKind::Natural, "ANONIMO"),
            (PartyKind::Legal, "ANONIMO"),
        ] {
            let text = tax_id(&PartyId::parse(kind, id, false).unwrap_err());
            assert!(italian(&text), "{id}: {text}");
        }
    }

    #[test]
    fn iuvs_and_collection_data_in_italian() {
        let seg = SegregationCode::parse("01").unwrap();
        for text in [
            "0A0000000000001",
            "001234567890123",
            "0110000000000001X",
            "02100000000000011",
            "01000000000000011",
            "01100000000000099",
            "RF12345678901234567890AB!",
            "RF2345000000000000000000",
            "1234",
        ] {
            let text = iuv(&Iuv::parse_supplied(text, seg).unwrap_err());
            assert!(italian(&text), "{text}");
        }
        assert!(
            iuv(&Iuv::parse_supplied("01100000000000099", seg).unwrap_err())
                .starts_with("cifre di controllo errate, attese ")
        );
        for text in ["x", "9/ab", "9/abc def", &"9/".repeat(80)] {
            let reason = collection_data(&CollectionData::parse(text).unwrap_err());
            assert!(italian(&reason), "{reason}");
        }
    }
}
