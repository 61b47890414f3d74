//! A stored `bilancio` (mypay.md §2.6) read as its lines: each `capitolo` (`codCapitolo`, an
//! optional `codUfficio`) with each of its `accertamento` (an optional `codAccertamento`, an
//! `importo`), what an automatic accertamento books (mypivot.md §1.7).
//!
//! Owns: [`read_lines`] and [`BilancioLine`]. The import checked the document when the debt was
//! stored (`import::read_bilancio`, the sum in `domain::debt_row`); this reader checks again what it
//! relies on (codes within 64 characters, amounts in the dot-decimal form and above zero) because a
//! booking must never rest on a value it did not read itself.
//! Must never: write SQL, or panic on any stored text.

use crate::domain::Cents;
use crate::soap;

/// The longest code the registry stores (`cod_ufficio`, `cod_capitolo`, `cod_accertamento`).
const CODE_MAX_CHARS: usize = 64;

/// One `accertamento` of a `capitolo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilancioLine {
    pub office_code: Option<String>,
    pub chapter_code: String,
    pub accertamento_code: Option<String>,
    pub amount: Cents,
}

/// Why a stored `bilancio` gives no lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable bilancio: {0}")]
pub struct BilancioError(&'static str);

/// The lines of `xml`, in document order.
pub fn read_lines(xml: &str) -> Result<Vec<BilancioLine>, BilancioError> {
    let root = soap::parse_document(xml.trim().as_bytes()).map_err(|_| BilancioError("not well-formed XML"))?;
    if root.name != "bilancio" {
        return Err(BilancioError("the root is not <bilancio>"));
    }
    let code = |text: Option<&str>| -> Result<Option<String>, BilancioError> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(t) if t.chars().count() > CODE_MAX_CHARS => Err(BilancioError("a code is longer than 64 characters")),
            Some(t) => Ok(Some(t.to_owned())),
        }
    };
    let mut lines = Vec::new();
    for chapter in root.children_named("capitolo") {
        let chapter_code =
            code(chapter.child_text("codCapitolo"))?.ok_or(BilancioError("a capitolo has no codCapitolo"))?;
        let office_code = code(chapter.child_text("codUfficio"))?;
        let before = lines.len();
        for assessment in chapter.children_named("accertamento") {
            let amount = assessment.child_text("importo").ok_or(BilancioError("an accertamento has no importo"))?;
            let amount =
                Cents::parse_decimal(amount.trim()).map_err(|_| BilancioError("an importo is not an amount"))?;
            if !amount.is_positive() {
                return Err(BilancioError("an importo is not above zero"));
            }
            lines.push(BilancioLine {
                office_code: office_code.clone(),
                chapter_code: chapter_code.clone(),
                accertamento_code: code(assessment.child_text("codAccertamento"))?,
                amount,
            });
        }
        if lines.len() == before {
            return Err(BilancioError("a capitolo has no accertamento"));
        }
    }
    if lines.is_empty() {
        return Err(BilancioError("no capitolo"));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_in_document_order_with_optional_codes() {
        let xml = "<bilancio xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\">\
            <capitolo><codCapitolo>1010</codCapitolo><codUfficio>TRIB</codUfficio>\
            <accertamento><codAccertamento>2024/101</codAccertamento><importo>100.00</importo></accertamento>\
            <accertamento><importo>20.50</importo></accertamento></capitolo>\
            <capitolo><codCapitolo>3020</codCapitolo><accertamento><importo>1</importo></accertamento></capitolo>\
            </bilancio>";
        let lines = read_lines(xml).unwrap();
        let shown: Vec<_> = lines
            .iter()
            .map(|l| {
                (l.office_code.as_deref(), l.chapter_code.as_str(), l.accertamento_code.as_deref(), l.amount.get())
            })
            .collect();
        assert_eq!(
            shown,
            [
                (Some("TRIB"), "1010", Some("2024/101"), 10_000),
                (Some("TRIB"), "1010", None, 2_050),
                (None, "3020", None, 100)
            ]
        );
    }

    #[test]
    fn unusable_documents_are_refused() {
        for bad in [
            "",
            "<bilancio>",
            "<altro/>",
            "<bilancio/>",
            "<bilancio><capitolo><codCapitolo>1</codCapitolo></capitolo></bilancio>",
            "<bilancio><capitolo><accertamento><importo>1</importo></accertamento></capitolo></bilancio>",
            "<bilancio><capitolo><codCapitolo>1</codCapitolo><accertamento><importo>1,00</importo></accertamento></capitolo></bilancio>",
            "<bilancio><capitolo><codCapitolo>1</codCapitolo><accertamento><importo>0.00</importo></accertamento></capitolo></bilancio>",
            "<bilancio><capitolo><codCapitolo>1</codCapitolo><accertamento></accertamento></capitolo></bilancio>",
        ] {
            assert!(read_lines(bad).is_err(), "{bad}");
        }
    }
}
