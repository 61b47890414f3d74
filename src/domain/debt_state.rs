//! The debt-position state machine: the states a debt (dovuto) takes and the transitions
//! between them.
//!
//! Owns: the list of states with their MyPay codes and Italian labels, the events that move a
//! debt, and the table of allowed transitions.
//! Must never: decide when an event happens (expiry needs the clock, payment outcomes come
//! from the Node), store anything, or allow a transition outside the table.
//! Implements: `shared/reference/mypay.md` §5.1 (states of `mygov_dovuto` and
//! `mygov_dovuto_elaborato`) and §2.5 (`M`/`A` refused while a payment is in progress).

use std::fmt;

/// The state of a debt position, with MyPay's code (`de_tipo_stato='dovuto'`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum DebtState {
    /// `INSERIMENTO_DOVUTO`, "Da pagare": payable, modifiable, annullable; the state a new debt
    /// takes.
    #[default]
    Inserted,
    /// `PREDISPOSTO`: waiting to be published to pagoPA; not modifiable until then.
    Prepared,
    /// `PAGAMENTO_INIZIATO`, "Pagamento in corso": a payment is in progress at pagoPA.
    PaymentStarted,
    /// `COMPLETATO`, "Pagato": paid; final.
    Paid,
    /// `ANNULLATO`, "Annullato": annulled by the municipality; final.
    Annulled,
    /// `SCADUTO`, "Scaduto": past its due date where the debt type forbids late payment.
    Expired,
}

/// What can happen to a debt position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DebtEvent {
    /// The municipality replaces its fields (flow action `M`, SIL, operator).
    Modify,
    /// The municipality annuls it (flow action `A`, SIL, operator).
    Annul,
    /// A payment starts: the Node asked for it (paGetPayment) or a cart went to Checkout.
    StartPayment,
    /// A positive receipt arrived.
    PaymentSucceeded,
    /// The payment attempt ended without paying (negative outcome, expired token).
    PaymentFailed,
    /// The due date passed and the debt type makes it unpayable.
    Expire,
    /// The position was synchronised with pagoPA and becomes payable.
    Publish,
}

/// A transition the table does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event is not allowed in the state.
    #[error("debt in state {from} cannot take event {event}")]
    NotAllowed {
        /// The state the debt was in.
        from: DebtState,
        /// The refused event.
        event: DebtEvent,
    },
}

impl DebtState {
    /// Every state, in declaration order.
    pub const ALL: [DebtState; 6] = [
        DebtState::Inserted,
        DebtState::Prepared,
        DebtState::PaymentStarted,
        DebtState::Paid,
        DebtState::Annulled,
        DebtState::Expired,
    ];

    /// The state after `event`, or an error naming both when the table does not allow it.
    pub fn apply(self, event: DebtEvent) -> Result<DebtState, TransitionError> {
        use DebtEvent as E;
        use DebtState as S;
        let next = match (self, event) {
            (S::Inserted, E::Modify) => S::Inserted,
            (S::Inserted, E::Annul) => S::Annulled,
            (S::Inserted, E::StartPayment) => S::PaymentStarted,
            (S::Inserted, E::Expire) => S::Expired,
            // A PSP-initiated payment (notice paid at a counter) arrives as a receipt with no
            // activation the debt saw first.
            (S::Inserted, E::PaymentSucceeded) => S::Paid,
            // The Node retries paGetPayment after timeouts and a citizen may retry a failed
            // attempt: a started payment never locks the debt against a new start.
            (S::PaymentStarted, E::StartPayment) => S::PaymentStarted,
            (S::PaymentStarted, E::PaymentSucceeded) => S::Paid,
            (S::PaymentStarted, E::PaymentFailed) => S::Inserted,
            (S::Prepared, E::Publish) => S::Inserted,
            (S::Prepared, E::Annul) => S::Annulled,
            (S::Expired, E::Annul) => S::Annulled,
            (from, event) => return Err(TransitionError::NotAllowed { from, event }),
        };
        Ok(next)
    }

    /// MyPay's code: `INSERIMENTO_DOVUTO`, `PREDISPOSTO`, `PAGAMENTO_INIZIATO`, `COMPLETATO`,
    /// `ANNULLATO` or `SCADUTO`.
    pub const fn code(self) -> &'static str {
        match self {
            DebtState::Inserted => "INSERIMENTO_DOVUTO",
            DebtState::Prepared => "PREDISPOSTO",
            DebtState::PaymentStarted => "PAGAMENTO_INIZIATO",
            DebtState::Paid => "COMPLETATO",
            DebtState::Annulled => "ANNULLATO",
            DebtState::Expired => "SCADUTO",
        }
    }

    /// The state with this MyPay code (exact, uppercase), if any.
    pub fn from_code(code: &str) -> Option<DebtState> {
        DebtState::ALL.into_iter().find(|state| state.code() == code)
    }

    /// The Italian label shown to citizens and operators.
    pub const fn label_it(self) -> &'static str {
        match self {
            DebtState::Inserted => "Da pagare",
            DebtState::Prepared => "In preparazione",
            DebtState::PaymentStarted => "Pagamento in corso",
            DebtState::Paid => "Pagato",
            DebtState::Annulled => "Annullato",
            DebtState::Expired => "Scaduto",
        }
    }

    /// True while the debt lives among the open positions (`mygov_dovuto`): inserted,
    /// prepared, payment started or expired.
    pub const fn is_open(self) -> bool {
        matches!(self, DebtState::Inserted | DebtState::Prepared | DebtState::PaymentStarted | DebtState::Expired)
    }

    /// True once nothing can happen to it any more: paid or annulled.
    pub const fn is_final(self) -> bool {
        matches!(self, DebtState::Paid | DebtState::Annulled)
    }

    /// True when a payment may be started (or restarted) on it: inserted or payment started.
    pub const fn is_payable(self) -> bool {
        matches!(self, DebtState::Inserted | DebtState::PaymentStarted)
    }
}

impl fmt::Display for DebtState {
    /// MyPay's code, as in [`DebtState::code`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `{:<13}` lines a state up as it did the stored text.
        f.pad(self.code())
    }
}

impl DebtEvent {
    /// Every event, in declaration order.
    pub const ALL: [DebtEvent; 7] = [
        DebtEvent::Modify,
        DebtEvent::Annul,
        DebtEvent::StartPayment,
        DebtEvent::PaymentSucceeded,
        DebtEvent::PaymentFailed,
        DebtEvent::Expire,
        DebtEvent::Publish,
    ];

    /// A lowercase English name for messages and logs, e.g. `start payment`.
    pub const fn name(self) -> &'static str {
        match self {
            DebtEvent::Modify => "modify",
            DebtEvent::Annul => "annul",
            DebtEvent::StartPayment => "start payment",
            DebtEvent::PaymentSucceeded => "payment succeeded",
            DebtEvent::PaymentFailed => "payment failed",
            DebtEvent::Expire => "expire",
            DebtEvent::Publish => "publish",
        }
    }
}

impl fmt::Display for DebtEvent {
    /// Same as [`DebtEvent::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use DebtEvent as E;
    use DebtState as S;

    /// The whole table, written out independently of `apply`: every (state, event) pair not
    /// listed must be refused.
    const ALLOWED: [(DebtState, DebtEvent, DebtState); 11] = [
        (S::Inserted, E::Modify, S::Inserted),
        (S::Inserted, E::Annul, S::Annulled),
        (S::Inserted, E::StartPayment, S::PaymentStarted),
        (S::Inserted, E::Expire, S::Expired),
        (S::Inserted, E::PaymentSucceeded, S::Paid),
        (S::PaymentStarted, E::StartPayment, S::PaymentStarted),
        (S::PaymentStarted, E::PaymentSucceeded, S::Paid),
        (S::PaymentStarted, E::PaymentFailed, S::Inserted),
        (S::Prepared, E::Publish, S::Inserted),
        (S::Prepared, E::Annul, S::Annulled),
        (S::Expired, E::Annul, S::Annulled),
    ];

    #[test]
    fn every_state_and_event() {
        let mut n_checked = 0;
        for state in DebtState::ALL {
            for event in DebtEvent::ALL {
                let expected =
                    ALLOWED.iter().find(|(from, on, _)| *from == state && *on == event).map(|(_, _, to)| *to);
                let actual = state.apply(event);
                match expected {
                    Some(to) => assert_eq!(actual, Ok(to), "{state} + {event}"),
                    None => {
                        assert_eq!(actual, Err(TransitionError::NotAllowed { from: state, event }), "{state} + {event}")
                    }
                }
                n_checked += 1;
            }
        }
        assert_eq!(n_checked, 6 * 7);
    }

    #[test]
    fn final_states_take_no_event() {
        for state in [S::Paid, S::Annulled] {
            for event in DebtEvent::ALL {
                assert!(state.apply(event).is_err());
            }
        }
        for state in DebtState::ALL {
            assert_eq!(state.is_final(), matches!(state, S::Paid | S::Annulled), "{state}");
        }
        assert_eq!(DebtState::default(), S::Inserted);
    }

    #[test]
    fn refusal_names_state_and_event() {
        assert_eq!(
            S::PaymentStarted.apply(E::Annul).unwrap_err().to_string(),
            "debt in state PAGAMENTO_INIZIATO cannot take event annul"
        );
        assert_eq!(
            S::Prepared.apply(E::Modify).unwrap_err().to_string(),
            "debt in state PREDISPOSTO cannot take event modify"
        );
    }

    #[test]
    fn codes_labels_and_flags() {
        let expected = [
            (S::Inserted, "INSERIMENTO_DOVUTO", "Da pagare", true, true),
            (S::Prepared, "PREDISPOSTO", "In preparazione", true, false),
            (S::PaymentStarted, "PAGAMENTO_INIZIATO", "Pagamento in corso", true, true),
            (S::Paid, "COMPLETATO", "Pagato", false, false),
            (S::Annulled, "ANNULLATO", "Annullato", false, false),
            (S::Expired, "SCADUTO", "Scaduto", true, false),
        ];
        assert_eq!(expected.len(), DebtState::ALL.len());
        for (state, code, label, open, payable) in expected {
            assert_eq!(state.code(), code);
            assert_eq!(state.to_string(), code);
            assert_eq!(DebtState::from_code(code), Some(state));
            assert_eq!(state.label_it(), label);
            assert_eq!(state.is_open(), open, "{state}");
            assert_eq!(state.is_payable(), payable, "{state}");
        }
        assert_eq!(DebtState::from_code("inserimento_dovuto"), None);
        assert_eq!(DebtState::from_code("SCADUTO_ELABORATO"), None);
        assert_eq!(DebtState::from_code(""), None);
    }
}
