//! The `bilancio` column (`flows::import::read_bilancio`, then `domain::debt_row::validate`):
//! the documents of real flows edited with XML's tokens, and generated documents whose chapters,
//! assessments and amounts are known, within and past the 4,096-character cap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use proptest::prelude::*;

use super::{MAX_EDITED, MESSAGE_SLACK, apply, config, edits};
use crate::domain::debt_row::{self, BilancioField, DebtFields, DebtTypeRules, RowContext};
use crate::domain::{Cents, SegregationCode};
use crate::flows::import::read_bilancio;

/// The `bilancio` documents of the real flows.
const SEEDS: &[&[u8]] = &[
    b"<bilancio><capitolo><codCapitolo>CAP1</codCapitolo><accertamento><codAccertamento>A1</codAccertamento>\
      <importo>80.00</importo></accertamento><accertamento><importo>20.50</importo></accertamento></capitolo></bilancio>",
    b"<bilancio><capitolo><codCapitolo>CAP001</codCapitolo><accertamento><importo>100.00</importo></accertamento>\
      </capitolo></bilancio>",
    b"<bilancio xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\"><capitolo><codCapitolo>C1\
      </codCapitolo><codUfficio>U</codUfficio><accertamento><codAccertamento>A</codAccertamento><importo>1.00</importo>\
      </accertamento></capitolo><capitolo><codCapitolo>C2</codCapitolo><accertamento><importo>0.50</importo>\
      </accertamento></capitolo></bilancio>",
];

/// A row that passes every check but the bilancio's (layout 1_4, an active TARI).
fn fields(amount: Cents, bilancio: BilancioField) -> DebtFields {
    DebtFields {
        iud: "TARI-0001".to_owned(),
        debtor_kind: "F".to_owned(),
        debtor_id: "RSSMRA85T10A562S".to_owned(),
        debtor_name: "Mario Rossi".to_owned(),
        due_date: "2099-12-31".to_owned(),
        amount: amount.to_decimal_string(),
        debt_type: "TARI".to_owned(),
        causale: "TARI".to_owned(),
        collection_data: "9/0101002IM/".to_owned(),
        generate_iuv: true,
        bilancio,
        ..DebtFields::default()
    }
}

fn context() -> RowContext {
    RowContext {
        debt_type: Some(DebtTypeRules { active: true, allow_anonymous: false, due_date_mandatory: false }),
        segregation_code: SegregationCode::parse("02").unwrap(),
        today: jiff::civil::date(2026, 1, 15),
        causale_max: 1024,
        due_date_always_required: false,
        is_insert: true,
        current_iuv: None,
    }
}

/// What any read must give: nothing for an empty column; otherwise the column as given, with
/// amounts or a reason no bigger than the column plus a sentence.
fn check_read(text: &str, read: &BilancioField) -> Result<(), TestCaseError> {
    let given = text.trim();
    match read {
        BilancioField::Absent => prop_assert!(given.is_empty()),
        BilancioField::Read { xml, amounts } => {
            prop_assert_eq!(xml.as_str(), given);
            prop_assert!(!amounts.is_empty());
            prop_assert!(amounts.iter().map(String::len).sum::<usize>() <= given.len());
        }
        BilancioField::Unreadable { xml, reason } => {
            prop_assert_eq!(xml.as_str(), given);
            prop_assert!(reason.len() <= given.len() + MESSAGE_SLACK, "{} bytes of reason", reason.len());
        }
    }
    Ok(())
}

/// A generated document: chapters of assessments, each amount in cents.
#[derive(Debug, Clone)]
struct Bilancio {
    namespace: bool,
    chapters: Vec<Vec<i64>>,
    /// Spaces between elements, as indented documents have.
    indent: usize,
}

impl Bilancio {
    fn xml(&self) -> String {
        let pad = " ".repeat(self.indent);
        let mut out = String::from(if self.namespace {
            "<bilancio xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\">"
        } else {
            "<bilancio>"
        });
        for (i, chapter) in self.chapters.iter().enumerate() {
            out.push_str(&format!("{pad}<capitolo><codCapitolo>CAP{i}</codCapitolo>"));
            for (j, cents) in chapter.iter().enumerate() {
                let amount = Cents::new(*cents).to_decimal_string();
                out.push_str(&format!(
                    "{pad}<accertamento><codAccertamento>A{j}</codAccertamento><importo>{amount}</importo></accertamento>"
                ));
            }
            out.push_str(&format!("{pad}</capitolo>"));
        }
        out.push_str("</bilancio>");
        out
    }

    fn amounts(&self) -> Vec<String> {
        self.chapters.iter().flatten().map(|c| Cents::new(*c).to_decimal_string()).collect()
    }
}

fn bilancio() -> impl Strategy<Value = Bilancio> {
    let chapter = proptest::collection::vec(1i64..1_000_000, 1..6);
    // Up to 40 chapters of 5 assessments: well past the 4,096 characters a column may have.
    (any::<bool>(), proptest::collection::vec(chapter, 1..40), 0usize..8)
        .prop_map(|(namespace, chapters, indent)| Bilancio { namespace, chapters, indent })
}

proptest! {
    #![proptest_config(config(5_000))]

    /// Real and generated documents, edited: a bounded read, and checks that do not panic and
    /// keep their errors proportionate.
    #[test]
    fn edited_documents_are_read_and_checked_within_bounds(
        doc in prop_oneof![super::seed(SEEDS).prop_map(<[u8]>::to_vec), bilancio().prop_map(|b| b.xml().into_bytes())],
        edits in edits(super::xml::TOKENS, 8),
        amount in 1i64..=Cents::MAX_AMOUNT.get(),
    ) {
        let bytes = apply(&doc, &edits, MAX_EDITED);
        // The column is text: the CSV reader refuses a file that is not UTF-8.
        let text = String::from_utf8_lossy(&bytes);
        let read = read_bilancio(&text);
        check_read(&text, &read)?;
        if let Err(errors) = debt_row::validate(&fields(Cents::new(amount), read), &context()) {
            prop_assert!(errors.len() <= 4);
            for err in errors {
                prop_assert!(err.description.len() <= text.len() + MESSAGE_SLACK, "{} bytes", err.description.len());
            }
        }
    }

}

proptest! {
    #![proptest_config(config(3_000))]

    /// A well-formed document reads as its amounts in order; the row passes when they sum to
    /// its amount and the column fits in 4,096 characters, and is refused with the bilancio's
    /// code otherwise.
    #[test]
    fn generated_documents_sum_to_the_debt_or_are_refused(bilancio in bilancio(), off_by in prop_oneof![3 => Just(0i64), 1 => -5i64..5]) {
        let xml = bilancio.xml();
        let read = read_bilancio(&xml);
        let BilancioField::Read { amounts, .. } = &read else {
            return Err(TestCaseError::fail(format!("{read:?}")));
        };
        prop_assert_eq!(amounts, &bilancio.amounts());
        let total: i64 = bilancio.chapters.iter().flatten().sum();
        let amount = Cents::new(total + off_by);
        prop_assume!(amount.is_positive());
        let result = debt_row::validate(&fields(amount, read), &context());
        if xml.chars().count() <= 4096 && off_by == 0 {
            prop_assert!(result.is_ok(), "{:?}", result.err());
        } else {
            let errors = result.err().unwrap_or_default();
            prop_assert_eq!(errors.len(), 1, "{:?}", errors);
            prop_assert_eq!(errors[0].code, "PAA_IMPORT_SINTASSI_CSV_BILANCIO");
            if xml.chars().count() > 4096 {
                prop_assert_eq!(errors[0].description.as_str(), "BILANCIO TROPPO GRANDE");
            }
        }
    }
}
