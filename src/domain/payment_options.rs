//! A debt position's payment options (pagopa.md §2, §5.3-5.4): the single option (pay in full,
//! the debt's own IUV), instalments (each its own IUV, amount and due date) and the reduced amount
//! of a fine (an exclusive option valid until a day the operator sets).
//!
//! Owns: the kinds and stored states of options, the checks of a new plan ([`check_plan`]), and
//! BR-12, which option may be paid given which are paid ([`availability`]): the single option,
//! the instalment plan and the reduced option are three alternatives; paying one closes the others
//! (the Node is then told the closed ones are unknown); instalments are paid one by one and
//! complete the position when all are paid.
//! Must never: read the clock (`today` is the caller's), store anything, panic on any input.

use jiff::civil::Date;

use crate::domain::{Cents, Day};

/// At most this many instalments in a plan (GPD's `installments` 1..100).
pub const MAX_INSTALMENTS: usize = 100;

/// What kind of option a row of the position is (the single option is the debt row itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptionKind {
    /// `RATA`: one instalment of a plan.
    Instalment,
    /// `RIDOTTO`: the reduced amount of a fine, exclusive with paying in full.
    Reduced,
}

impl OptionKind {
    pub const fn code(self) -> &'static str {
        match self {
            OptionKind::Instalment => "RATA",
            OptionKind::Reduced => "RIDOTTO",
        }
    }

    pub fn from_code(code: &str) -> Option<OptionKind> {
        match code {
            "RATA" => Some(OptionKind::Instalment),
            "RIDOTTO" => Some(OptionKind::Reduced),
            _ => None,
        }
    }
}

/// Whether an option was paid (stored); "closed" and "expired" are derived by [`availability`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum OptionState {
    /// `DA_PAGARE`.
    #[default]
    Unpaid,
    /// `PAGATA`: a receipt paid this option.
    Paid,
}

impl OptionState {
    pub const fn code(self) -> &'static str {
        match self {
            OptionState::Unpaid => "DA_PAGARE",
            OptionState::Paid => "PAGATA",
        }
    }

    pub fn from_code(code: &str) -> Option<OptionState> {
        match code {
            "DA_PAGARE" => Some(OptionState::Unpaid),
            "PAGATA" => Some(OptionState::Paid),
            _ => None,
        }
    }
}

/// What [`availability`] needs of one option of the position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionFacts {
    pub kind: OptionKind,
    pub state: OptionState,
    pub due_date: Day,
}

/// Which option of a position a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The debt's own IUV: pay in full.
    Single,
    /// The option at this index of the facts given.
    Option(usize),
}

/// Whether an option can be paid now, by BR-12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    Payable,
    /// This very option was paid (PAA_PAGAMENTO_DUPLICATO).
    Paid,
    /// An alternative was paid: this one is closed (PAA_PAGAMENTO_SCONOSCIUTO, BR-12).
    Closed,
    /// A reduced amount past its last day, or an instalment past a binding due date
    /// (PAA_PAGAMENTO_SCADUTO).
    Expired,
}

/// Whether `target` can be paid on `today`. `position_paid`: the debt row is `COMPLETATO` (by
/// its single option when no option row is paid); `binding_due`: the debt type makes due dates
/// binding (an instalment past its own is expired). The position's other states (annulled,
/// expired) are the caller's to check first.
pub fn availability(
    target: Target,
    position_paid: bool,
    options: &[OptionFacts],
    binding_due: bool,
    today: Date,
) -> Availability {
    let paid = |kind: OptionKind| options.iter().any(|o| o.kind == kind && o.state == OptionState::Paid);
    let single_paid = position_paid && !options.iter().any(|o| o.state == OptionState::Paid);
    match target {
        Target::Single if single_paid => Availability::Paid,
        Target::Single if paid(OptionKind::Instalment) || paid(OptionKind::Reduced) => Availability::Closed,
        Target::Single => Availability::Payable,
        Target::Option(index) => {
            let Some(option) = options.get(index) else {
                return Availability::Closed;
            };
            if option.state == OptionState::Paid {
                return Availability::Paid;
            }
            let other = match option.kind {
                OptionKind::Instalment => OptionKind::Reduced,
                OptionKind::Reduced => OptionKind::Instalment,
            };
            if single_paid || paid(other) || position_paid {
                return Availability::Closed;
            }
            let past = option.due_date.date() < today;
            match option.kind {
                OptionKind::Reduced if past => Availability::Expired,
                OptionKind::Instalment if past && binding_due => Availability::Expired,
                _ => Availability::Payable,
            }
        }
    }
}

/// Whether paying option `index` (now marked paid in `options`) completes the position: a reduced
/// option always, an instalment when every instalment is paid.
pub fn completes_position(options: &[OptionFacts], index: usize) -> bool {
    match options.get(index).map(|o| o.kind) {
        Some(OptionKind::Reduced) => true,
        Some(OptionKind::Instalment) => {
            options.iter().filter(|o| o.kind == OptionKind::Instalment).all(|o| o.state == OptionState::Paid)
        }
        None => false,
    }
}

/// A plan as the operator asks for it, before IUVs are drawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The single option's amount (pay in full); `None`: instalments only.
    pub single: Option<Cents>,
    /// (amount, due date) of each instalment, in order.
    pub instalments: Vec<(Cents, Day)>,
    /// (amount, last day) of the reduced option.
    pub reduced: Option<(Cents, Day)>,
}

impl Plan {
    /// Whether the plan has options beside the single one.
    pub fn has_options(&self) -> bool {
        !self.instalments.is_empty() || self.reduced.is_some()
    }

    /// The amount the debt row carries: the single option's, or (instalments only) their sum.
    pub fn position_amount(&self) -> Option<Cents> {
        self.single.or_else(|| {
            let sum = self.instalments.iter().try_fold(0i64, |acc, (c, _)| acc.checked_add(c.get()))?;
            Some(Cents::new(sum))
        })
    }
}

/// Why a plan is refused (English: CLI, API and logs name it; pages say it in Italian).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("at most {MAX_INSTALMENTS} instalments")]
    TooManyInstalments,
    #[error("instalment {0}: the amount must be more than zero")]
    ZeroInstalment(usize),
    #[error("instalment {0}: due dates must follow one another (each after the one before)")]
    InstalmentOrder(usize),
    #[error("a reduced amount needs the full amount (the single option) too")]
    ReducedWithoutSingle,
    #[error("a reduced amount cannot go with instalments: no payment notice layout prints both")]
    ReducedWithInstalments,
    #[error("the reduced amount must be more than zero and less than the full amount")]
    ReducedAmount,
    #[error("the reduced amount's last day {0} is in the past")]
    ReducedPast(Day),
    #[error("a position needs the single option or at least one instalment")]
    Empty,
}

/// Checks a plan made on `today`.
pub fn check_plan(plan: &Plan, today: Date) -> Result<(), PlanError> {
    if plan.single.is_none() && plan.instalments.is_empty() {
        return Err(PlanError::Empty);
    }
    if plan.instalments.len() > MAX_INSTALMENTS {
        return Err(PlanError::TooManyInstalments);
    }
    let mut previous: Option<Day> = None;
    for (n, (amount, due)) in plan.instalments.iter().enumerate() {
        if amount.get() <= 0 {
            return Err(PlanError::ZeroInstalment(n + 1));
        }
        if previous.is_some_and(|p| p.date() >= due.date()) {
            return Err(PlanError::InstalmentOrder(n + 1));
        }
        previous = Some(*due);
    }
    if let Some((amount, last_day)) = plan.reduced {
        let Some(full) = plan.single else {
            return Err(PlanError::ReducedWithoutSingle);
        };
        // pagoPA's notice (v3.5) has a layout for instalments and one for a fine, none for both:
        // a position the notice cannot show would be payable only by whoever already knows it.
        if !plan.instalments.is_empty() {
            return Err(PlanError::ReducedWithInstalments);
        }
        if amount.get() <= 0 || amount.get() >= full.get() {
            return Err(PlanError::ReducedAmount);
        }
        if last_day.date() < today {
            return Err(PlanError::ReducedPast(last_day));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    fn facts(kind: OptionKind, state: OptionState, due: &str) -> OptionFacts {
        OptionFacts { kind, state, due_date: day(due) }
    }

    const TODAY: &str = "2026-12-07";

    fn today() -> Date {
        day(TODAY).date()
    }

    #[test]
    fn paying_an_instalment_closes_the_single_option_and_the_reduced_one() {
        let options = [
            facts(OptionKind::Instalment, OptionState::Paid, "2026-12-31"),
            facts(OptionKind::Instalment, OptionState::Unpaid, "2027-01-31"),
        ];
        assert_eq!(availability(Target::Single, false, &options, false, today()), Availability::Closed);
        assert_eq!(availability(Target::Option(0), false, &options, false, today()), Availability::Paid);
        assert_eq!(availability(Target::Option(1), false, &options, false, today()), Availability::Payable);
        assert!(!completes_position(&options, 0));
    }

    #[test]
    fn paying_in_full_closes_every_instalment() {
        let options = [facts(OptionKind::Instalment, OptionState::Unpaid, "2026-12-31")];
        assert_eq!(availability(Target::Single, true, &options, false, today()), Availability::Paid);
        assert_eq!(availability(Target::Option(0), true, &options, false, today()), Availability::Closed);
    }

    #[test]
    fn a_reduced_amount_is_payable_through_its_last_day_only() {
        let options = [facts(OptionKind::Reduced, OptionState::Unpaid, TODAY)];
        assert_eq!(availability(Target::Option(0), false, &options, false, today()), Availability::Payable);
        let tomorrow = day("2026-12-08").date();
        assert_eq!(availability(Target::Option(0), false, &options, false, tomorrow), Availability::Expired);
        assert_eq!(availability(Target::Single, false, &options, false, tomorrow), Availability::Payable);
        let paid = [facts(OptionKind::Reduced, OptionState::Paid, TODAY)];
        assert_eq!(availability(Target::Single, true, &paid, false, today()), Availability::Closed);
        assert!(completes_position(&paid, 0));
    }

    #[test]
    fn the_last_instalment_completes_the_position() {
        let options = [
            facts(OptionKind::Instalment, OptionState::Paid, "2026-12-31"),
            facts(OptionKind::Instalment, OptionState::Paid, "2027-01-31"),
        ];
        assert!(completes_position(&options, 1));
        assert_eq!(
            availability(
                Target::Option(0),
                false,
                &[facts(OptionKind::Instalment, OptionState::Unpaid, "2026-12-01")],
                true,
                today()
            ),
            Availability::Expired,
            "a binding due date passed"
        );
    }

    #[test]
    fn plans_are_checked() {
        let c = Cents::new;
        let ok = Plan {
            single: Some(c(300)),
            instalments: vec![(c(100), day("2026-12-31")), (c(200), day("2027-01-31"))],
            reduced: None,
        };
        assert_eq!(check_plan(&ok, today()), Ok(()));
        assert_eq!(ok.position_amount(), Some(c(300)));
        let only = Plan { single: None, ..ok.clone() };
        assert_eq!(only.position_amount(), Some(c(300)));
        let swapped =
            Plan { instalments: vec![(c(100), day("2027-01-31")), (c(200), day("2026-12-31"))], ..ok.clone() };
        assert_eq!(check_plan(&swapped, today()), Err(PlanError::InstalmentOrder(2)));
        let reduced =
            Plan { single: None, instalments: vec![(c(1), day("2027-01-31"))], reduced: Some((c(70), day(TODAY))) };
        assert_eq!(check_plan(&reduced, today()), Err(PlanError::ReducedWithoutSingle));
        let both = Plan { reduced: Some((c(70), day(TODAY))), ..ok.clone() };
        assert_eq!(check_plan(&both, today()), Err(PlanError::ReducedWithInstalments));
        let fine = Plan { single: Some(c(100)), instalments: vec![], reduced: Some((c(100), day(TODAY))) };
        assert_eq!(check_plan(&fine, today()), Err(PlanError::ReducedAmount));
        let past = Plan { reduced: Some((c(70), day("2026-12-06"))), ..fine };
        assert_eq!(check_plan(&past, today()), Err(PlanError::ReducedPast(day("2026-12-06"))));
        assert_eq!(check_plan(&Plan::default(), today()), Err(PlanError::Empty));
    }
}
