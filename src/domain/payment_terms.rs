//! What a receipt must carry to settle a debt: the creditor, the amount and the transfers the
//! station offered for it, and the comparison of a received receipt against them.
//!
//! A receipt is only evidence that *some* payment happened; it settles a debt when it pays what the
//! station asked for (reference/pagopa.md §1.7: the Node copies paGetPayment's transfers into the
//! receipt). Anything else is a discrepancy for a person to review, never a paid debt.

use std::fmt;

use super::Cents;

/// One transfer of the terms: where a share of the amount goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsTransfer {
    /// idTransfer, 1..5.
    pub index: i64,
    pub amount: Cents,
    /// fiscalCodePA of the beneficiary.
    pub fiscal_code: String,
    /// The credited IBAN; `None` when it is not checked (a digital stamp, or terms rebuilt from a
    /// debt without knowing which account the Node was given).
    pub iban: Option<String>,
}

/// The creditor, the amount and the transfers of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTerms {
    /// The creditor org's fiscal code (receipt `fiscalCode`).
    pub creditor: String,
    pub amount: Cents,
    pub transfers: Vec<TermsTransfer>,
}

impl PaymentTerms {
    /// The terms a debt asks for when nobody recorded what the station answered (a receipt from
    /// the Node's stand-in, or one stored before offers were kept): the debt's amount to the
    /// creditor and, for a multi-beneficiary debt, the secondary share to its org; accounts are not
    /// checked.
    pub fn of_debt(creditor: &str, amount: Cents, secondary: Option<(Cents, &str)>) -> PaymentTerms {
        let mut transfers = vec![TermsTransfer { index: 1, amount, fiscal_code: creditor.to_owned(), iban: None }];
        let mut total = amount.get();
        if let Some((share, fiscal_code)) = secondary {
            total = total.saturating_add(share.get());
            transfers.push(TermsTransfer { index: 2, amount: share, fiscal_code: fiscal_code.to_owned(), iban: None });
        }
        PaymentTerms { creditor: creditor.to_owned(), amount: Cents::new(total), transfers }
    }
}

/// One way a received payment differs from the terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    Creditor {
        expected: String,
        received: String,
    },
    Amount {
        expected: Cents,
        received: Cents,
    },
    TransferCount {
        expected: usize,
        received: usize,
    },
    /// The terms have transfer `index`; the receipt does not.
    TransferMissing {
        index: i64,
    },
    TransferAmount {
        index: i64,
        expected: Cents,
        received: Cents,
    },
    TransferBeneficiary {
        index: i64,
        expected: String,
        received: String,
    },
    TransferIban {
        index: i64,
        expected: String,
        received: Option<String>,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::Creditor { expected, received } => write!(f, "creditor {received} instead of {expected}"),
            Discrepancy::Amount { expected, received } => write!(f, "amount {received} instead of {expected}"),
            Discrepancy::TransferCount { expected, received } => {
                write!(f, "{received} transfers instead of {expected}")
            }
            Discrepancy::TransferMissing { index } => write!(f, "transfer {index} is missing"),
            Discrepancy::TransferAmount { index, expected, received } => {
                write!(f, "transfer {index}: amount {received} instead of {expected}")
            }
            Discrepancy::TransferBeneficiary { index, expected, received } => {
                write!(f, "transfer {index}: beneficiary {received} instead of {expected}")
            }
            Discrepancy::TransferIban { index, expected, received } => {
                write!(f, "transfer {index}: IBAN {} instead of {expected}", received.as_deref().unwrap_or("none"))
            }
        }
    }
}

/// Every way `received` differs from `expected`; empty when the receipt pays exactly the terms.
/// Transfers are matched by idTransfer, since the Node copies them from the station's answer.
pub fn discrepancies(expected: &PaymentTerms, received: &PaymentTerms) -> Vec<Discrepancy> {
    let mut found = Vec::new();
    if !expected.creditor.eq_ignore_ascii_case(&received.creditor) {
        found.push(Discrepancy::Creditor { expected: expected.creditor.clone(), received: received.creditor.clone() });
    }
    if expected.amount != received.amount {
        found.push(Discrepancy::Amount { expected: expected.amount, received: received.amount });
    }
    if expected.transfers.len() != received.transfers.len() {
        found.push(Discrepancy::TransferCount {
            expected: expected.transfers.len(),
            received: received.transfers.len(),
        });
    }
    for want in &expected.transfers {
        let Some(got) = received.transfers.iter().find(|t| t.index == want.index) else {
            found.push(Discrepancy::TransferMissing { index: want.index });
            continue;
        };
        if got.amount != want.amount {
            found.push(Discrepancy::TransferAmount { index: want.index, expected: want.amount, received: got.amount });
        }
        if !got.fiscal_code.eq_ignore_ascii_case(&want.fiscal_code) {
            found.push(Discrepancy::TransferBeneficiary {
                index: want.index,
                expected: want.fiscal_code.clone(),
                received: got.fiscal_code.clone(),
            });
        }
        if let Some(iban) = &want.iban {
            let same = got.iban.as_deref().is_some_and(|g| normalized_iban(g) == normalized_iban(iban));
            if !same {
                found.push(Discrepancy::TransferIban {
                    index: want.index,
                    expected: iban.clone(),
                    received: got.iban.clone(),
                });
            }
        }
    }
    found
}

/// An IBAN compared without spaces and case, as people and systems write them differently.
fn normalized_iban(iban: &str) -> String {
    iban.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect()
}

/// The discrepancies of `received` against the closest of `offers` (the one with fewest), or
/// `None` when one of them matches exactly. `offers` must not be empty; with none, nothing was
/// asked and everything matches.
pub fn unmatched(offers: &[PaymentTerms], received: &PaymentTerms) -> Option<Vec<Discrepancy>> {
    let mut closest: Option<Vec<Discrepancy>> = None;
    for offer in offers {
        let found = discrepancies(offer, received);
        if found.is_empty() {
            return None;
        }
        if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
            closest = Some(found);
        }
    }
    closest
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    const ORG: &str = "80012345678";
    const IBAN: &str = "IT60X0542811101000000123456";

    fn offered() -> PaymentTerms {
        let mut terms = PaymentTerms::of_debt(ORG, Cents::new(2000), None);
        terms.transfers[0].iban = Some(IBAN.to_owned());
        terms
    }

    fn paid(cents: i64, fiscal_code: &str, iban: Option<&str>) -> PaymentTerms {
        PaymentTerms {
            creditor: ORG.to_owned(),
            amount: Cents::new(cents),
            transfers: vec![TermsTransfer {
                index: 1,
                amount: Cents::new(cents),
                fiscal_code: fiscal_code.to_owned(),
                iban: iban.map(str::to_owned),
            }],
        }
    }

    #[test]
    fn a_receipt_that_pays_the_offer_has_no_discrepancy() {
        assert!(discrepancies(&offered(), &paid(2000, ORG, Some(IBAN))).is_empty());
        // Spelling of the IBAN does not matter.
        assert!(discrepancies(&offered(), &paid(2000, ORG, Some("it60 x054 2811 1010 0000 0123 456"))).is_empty());
    }

    #[test]
    fn one_cent_for_a_twenty_euro_debt_is_named() {
        let found = discrepancies(&offered(), &paid(1, ORG, Some(IBAN)));
        assert_eq!(
            found,
            vec![
                Discrepancy::Amount { expected: Cents::new(2000), received: Cents::new(1) },
                Discrepancy::TransferAmount { index: 1, expected: Cents::new(2000), received: Cents::new(1) },
            ]
        );
        assert_eq!(found[0].to_string(), "amount 0.01 instead of 20.00");
    }

    #[test]
    fn another_beneficiary_or_account_is_named() {
        let found = discrepancies(&offered(), &paid(2000, "01199250158", Some("IT02A0301503200000003517230")));
        assert!(matches!(found[0], Discrepancy::TransferBeneficiary { index: 1, .. }), "{found:?}");
        assert!(matches!(found[1], Discrepancy::TransferIban { index: 1, .. }), "{found:?}");
        let found = discrepancies(&offered(), &paid(2000, ORG, None));
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn terms_of_a_debt_do_not_check_accounts_and_include_the_secondary_share() {
        let terms = PaymentTerms::of_debt(ORG, Cents::new(1500), Some((Cents::new(500), "01199250158")));
        assert_eq!(terms.amount, Cents::new(2000));
        let mut received = terms.clone();
        received.transfers[0].iban = Some(IBAN.to_owned());
        assert!(discrepancies(&terms, &received).is_empty());
        received.transfers.pop();
        let found = discrepancies(&terms, &received);
        assert!(found.contains(&Discrepancy::TransferCount { expected: 2, received: 1 }));
        assert!(found.contains(&Discrepancy::TransferMissing { index: 2 }));
    }

    #[test]
    fn any_matching_offer_settles_and_the_closest_is_reported_otherwise() {
        let mut postal = offered();
        postal.transfers[0].iban = Some("IT57N0760101600000012345678".to_owned());
        let offers = [offered(), postal];
        assert_eq!(unmatched(&offers, &paid(2000, ORG, Some("IT57N0760101600000012345678"))), None);
        let found = unmatched(&offers, &paid(1999, ORG, Some(IBAN))).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
