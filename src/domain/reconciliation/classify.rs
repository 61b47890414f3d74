//! The classification of one reconciliation key: given what each source says about it, its labels.
//!
//! Owns: [`Facts`] (the amounts the joins of mypivot.md §3.1 found for one transfer key, one
//! notification without a receipt, or one treasury movement that joins nothing), [`Flags`] (the
//! org's pagati/tesoreria) and [`classify`], the predicates of §3.2 with MyPivot's multi-label
//! semantics plus DOPPI (§3.3, computed by the caller's join, carried here as a fact).
//! Must never: read the store, know how the facts were joined, or return an empty set for facts
//! that name anything (every transfer ends with at least one label).
//! Implements: `shared/reference/mypivot.md` §3.2, §3.3 and the fixes of §8.
//!
//! Two deliberate differences from MyPivot's view, both so that no transfer is left unlabelled:
//! RT_NO_IUF holds for a receipt not (or wrongly) reported unless it was transferred on its own
//! (RT_TES), where MyPivot also required "no treasury row by IUV" and so left a receipt with a
//! mismatching puntuale movement and no report with no label; and IUV_NO_RT (reported, no receipt)
//! is kept without the tesoreria flag, as MyPivot's SIL does (its UI needed the flag).

use super::Label;
use crate::domain::Cents;

/// An org's reconciliation flags (MyPivot's `flg_pagati`, `flg_tesoreria`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// The org sends payment notifications (D).
    pub pagati: bool,
    /// The org loads its treasury (T, C, O, Y).
    pub tesoreria: bool,
}

/// The receipt side (E) of a key: the transfer's amount and the receipt's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    /// singoloImportoPagato: this transfer's amount.
    pub amount: Cents,
    /// importoTotalePagato: the receipt's total, what a puntuale movement carries.
    pub total: Cents,
}

/// The reporting side (R) of a key: the reported amount and its flow's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    /// singoloImportoPagato of the FdR row.
    pub amount: Cents,
    /// importoTotalePagamenti of the flow, what a cumulative movement carries; `None` when the flow
    /// did not say.
    pub flow_total: Option<Cents>,
}

/// What the joins found for one key. An absent side is `None` (or an empty list).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// N: the notification's amount (importoDovutoPagato).
    pub notified: Option<Cents>,
    /// E: a receipt (or the implicit receipt of an FdR row with outcome 8 or 9).
    pub paid: Option<Paid>,
    /// R: the FdR row (outcome other than 3) of a current flow version.
    pub reported: Option<Reported>,
    /// TI/FI: amounts of the treasury movements joined by the flow's IUF (same org).
    pub treasury_by_iuf: Vec<Cents>,
    /// TV/FV: amounts of the treasury movements joined by the IUV (same org).
    pub treasury_by_iuv: Vec<Cents>,
    /// F0: a treasury movement with neither IUF nor IUV.
    pub keyless_treasury: bool,
    /// DOPPI: the same IUV and amount reported once as paid (0) and once as paid without RPT (8, 9).
    pub doppi: bool,
}

impl Facts {
    /// Whether any source names this key at all (the properties' "every named key is labelled").
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.notified.is_none()
            && self.paid.is_none()
            && self.reported.is_none()
            && self.treasury_by_iuf.is_empty()
            && self.treasury_by_iuv.is_empty()
            && !self.keyless_treasury
    }

    /// The facts an org with `flags` reconciles: without pagati its notifications are not
    /// compared, without tesoreria its treasury is not.
    pub fn seen_with(&self, flags: Flags) -> Facts {
        let mut facts = self.clone();
        if !flags.pagati {
            facts.notified = None;
        }
        if !flags.tesoreria {
            facts.treasury_by_iuf.clear();
            facts.treasury_by_iuv.clear();
            facts.keyless_treasury = false;
        }
        facts
    }
}

/// The labels of one key for an org with `flags`, in MyPivot's order (`Label::ALL`). Empty only
/// when the facts the flags let through name nothing.
pub fn classify(facts: &Facts, flags: Flags) -> Vec<Label> {
    let f = facts.seen_with(flags);
    let n = f.notified;
    let e = f.paid;
    let r = f.reported;
    let r_total = r.and_then(|r| r.flow_total);
    let any_tes = !f.treasury_by_iuf.is_empty() || !f.treasury_by_iuv.is_empty();
    // R.tot = TI.imp OR R.tot = FI.imp: some movement of the flow carries the flow's total.
    let iuf_matches = r_total.is_some_and(|total| f.treasury_by_iuf.contains(&total));
    // E.tot = TV.imp OR E.tot = FV.imp: a puntuale movement carries the receipt's total.
    let iuv_matches = e.is_some_and(|e| f.treasury_by_iuv.contains(&e.total));
    let n_is_e = matches!((n, e), (Some(n), Some(e)) if n == e.amount);
    let r_is_e = matches!((r, e), (Some(r), Some(e)) if r.amount == e.amount);
    let rt_tes = e.is_some() && r.is_none() && iuv_matches;

    let holds = |label: Label| -> bool {
        match label {
            Label::IudRtIufTes => n_is_e && ((r_is_e && iuf_matches) || iuv_matches),
            Label::IudRtIuf => n_is_e && r_is_e,
            Label::RtIufTes => r_is_e && iuf_matches,
            Label::RtIuf => r_is_e,
            Label::RtTes => rt_tes,
            Label::RtNoIuf => e.is_some() && !r_is_e && !rt_tes,
            Label::RtNoIud => e.is_some() && n.is_none(),
            Label::IudNoRt => n.is_some() && !n_is_e,
            Label::IuvNoRt => r.is_some() && e.is_none(),
            Label::IufNoTes => r.is_some() && !any_tes,
            Label::IufTesDivImp => r_total
                .is_some_and(|total| f.treasury_by_iuf.iter().chain(&f.treasury_by_iuv).any(|amount| *amount != total)),
            Label::TesNoIufOrIuv => any_tes && r.is_none() && e.is_none() && n.is_none(),
            Label::TesNoMatch => f.keyless_treasury,
            Label::Doppi => f.doppi,
        }
    };
    Label::ALL
        .into_iter()
        .filter(|label| holds(*label) && (label.applies(flags.pagati, flags.tesoreria) || *label == Label::IuvNoRt))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use proptest::prelude::*;

    const BOTH: Flags = Flags { pagati: true, tesoreria: true };

    fn c(cents: i64) -> Cents {
        Cents::new(cents)
    }

    fn codes(labels: &[Label]) -> Vec<&'static str> {
        labels.iter().map(|l| l.code()).collect()
    }

    fn paid(amount: i64) -> Option<Paid> {
        Some(Paid { amount: c(amount), total: c(amount) })
    }

    fn reported(amount: i64, total: i64) -> Option<Reported> {
        Some(Reported { amount: c(amount), flow_total: Some(c(total)) })
    }

    /// The rows of mypivot.md §7.10, one by one.
    #[test]
    fn the_fixtures_of_7_10() {
        let p1 = Facts {
            notified: Some(c(15000)),
            paid: paid(15000),
            reported: reported(15000, 29200),
            treasury_by_iuf: vec![c(29200)],
            ..Facts::default()
        };
        assert_eq!(codes(&classify(&p1, BOTH)), ["IUD_RT_IUF_TES", "IUD_RT_IUF", "RT_IUF_TES", "RT_IUF"]);
        let r302 = Facts {
            paid: paid(8000),
            reported: reported(8000, 29200),
            treasury_by_iuf: vec![c(29200)],
            ..Facts::default()
        };
        assert_eq!(codes(&classify(&r302, BOTH)), ["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"]);
        let r303 =
            Facts { notified: Some(c(4550)), paid: paid(4550), treasury_by_iuv: vec![c(4550)], ..Facts::default() };
        assert_eq!(codes(&classify(&r303, BOTH)), ["IUD_RT_IUF_TES", "RT_TES"]);
        let r304 = Facts { notified: Some(c(9900)), ..Facts::default() };
        assert_eq!(codes(&classify(&r304, BOTH)), ["IUD_NO_RT"]);
        let r305 = Facts { reported: reported(3000, 29200), treasury_by_iuf: vec![c(29200)], ..Facts::default() };
        assert_eq!(codes(&classify(&r305, BOTH)), ["IUV_NO_RT"]);
        let r306 = Facts {
            paid: paid(1200),
            reported: reported(1200, 29200),
            treasury_by_iuf: vec![c(29200)],
            ..Facts::default()
        };
        assert_eq!(codes(&classify(&r306, BOTH)), ["RT_IUF_TES", "RT_IUF", "RT_NO_IUD"]);
        let r308 = Facts {
            notified: Some(c(2500)),
            paid: paid(2500),
            reported: reported(2000, 29200),
            treasury_by_iuf: vec![c(29200)],
            ..Facts::default()
        };
        assert_eq!(codes(&classify(&r308, BOTH)), ["RT_NO_IUF"]);
        let r309 = Facts {
            notified: Some(c(6000)),
            paid: paid(6000),
            reported: reported(6000, 6000),
            treasury_by_iuf: vec![c(5950)],
            ..Facts::default()
        };
        assert_eq!(codes(&classify(&r309, BOTH)), ["IUD_RT_IUF", "RT_IUF", "IUF_TES_DIV_IMP"]);
        let b1204 = Facts { treasury_by_iuf: vec![c(9900)], ..Facts::default() };
        assert_eq!(codes(&classify(&b1204, BOTH)), ["TES_NO_IUF_OR_IUV"]);
        let b1205 = Facts { keyless_treasury: true, ..Facts::default() };
        assert_eq!(codes(&classify(&b1205, BOTH)), ["TES_NO_MATCH"]);
    }

    #[test]
    fn flags_hide_what_the_org_does_not_reconcile() {
        let p1 = Facts {
            notified: Some(c(15000)),
            paid: paid(15000),
            reported: reported(15000, 29200),
            treasury_by_iuf: vec![c(29200)],
            ..Facts::default()
        };
        assert_eq!(codes(&classify(&p1, Flags::default())), ["RT_IUF"]);
        assert_eq!(codes(&classify(&p1, Flags { pagati: true, tesoreria: false })), ["IUD_RT_IUF", "RT_IUF"]);
        assert_eq!(codes(&classify(&p1, Flags { pagati: false, tesoreria: true })), ["RT_IUF_TES", "RT_IUF"]);
        // Reported without a receipt is an anomaly whatever the flags (MyPivot's SIL rule).
        let lone = Facts { reported: reported(3000, 3000), ..Facts::default() };
        assert_eq!(codes(&classify(&lone, Flags::default())), ["IUV_NO_RT"]);
    }

    /// MyPivot left a receipt with no report and a puntuale movement of another amount unlabelled.
    #[test]
    fn a_receipt_with_a_wrong_puntuale_movement_is_not_correctly_reported() {
        let facts =
            Facts { notified: Some(c(1000)), paid: paid(1000), treasury_by_iuv: vec![c(999)], ..Facts::default() };
        assert_eq!(codes(&classify(&facts, BOTH)), ["RT_NO_IUF"]);
    }

    fn cents() -> impl Strategy<Value = Cents> {
        (1i64..5).prop_map(|n| Cents::new(n * 100))
    }

    fn facts() -> impl Strategy<Value = Facts> {
        (
            proptest::option::of(cents()),
            proptest::option::of((cents(), cents())),
            proptest::option::of((cents(), proptest::option::of(cents()))),
            proptest::collection::vec(cents(), 0..3),
            proptest::collection::vec(cents(), 0..3),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(n, e, r, ti, tv, keyless, doppi)| Facts {
                notified: n,
                paid: e.map(|(amount, total)| Paid { amount, total }),
                reported: r.map(|(amount, flow_total)| Reported { amount, flow_total }),
                treasury_by_iuf: ti,
                treasury_by_iuv: tv,
                keyless_treasury: keyless,
                doppi,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Every key that the org's flags let some fact through for ends with at least one label,
        /// and only labels its flags offer (IUV_NO_RT always).
        #[test]
        fn every_key_gets_a_label(facts in facts(), pagati in any::<bool>(), tesoreria in any::<bool>()) {
            let flags = Flags { pagati, tesoreria };
            let labels = classify(&facts, flags);
            if !facts.seen_with(flags).is_empty() {
                prop_assert!(!labels.is_empty(), "{facts:?} with {flags:?}");
            }
            for label in labels {
                prop_assert!(label.applies(pagati, tesoreria) || label == Label::IuvNoRt);
            }
        }

        /// The order in which treasury movements were joined does not matter.
        #[test]
        fn treasury_order_does_not_matter(mut facts in facts()) {
            let before = classify(&facts, BOTH);
            facts.treasury_by_iuf.reverse();
            facts.treasury_by_iuv.reverse();
            prop_assert_eq!(before, classify(&facts, BOTH));
        }
    }
}
