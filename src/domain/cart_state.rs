//! The states of a cart sent to pagoPA Checkout: the citizen's (or the SIL's) payment attempt.
//!
//! Owns: the list of states with their codes and what each means for the payment.
//! Must never: decide when a cart moves (the portal and the SIL sessions do, from Checkout's
//! answers and the receipts; the housekeeping sweep gives up carts left `IN_PAGAMENTO`), or
//! store anything. A cart's state is a hint: whether its debts were paid is what their receipts
//! say.
//! Implements: mypay's own simplification of MyPay's cart states (`shared/reference/mypay.md`
//! §5.1, "Cart states"); the codes appear in the portal's outcome JSON.

use std::fmt;

/// Where a cart stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum CartState {
    /// `IN_PAGAMENTO`: handed (or about to be handed) to Checkout; the state every cart starts in.
    #[default]
    InPayment,
    /// `PAGATO`: every item has its successful receipt.
    Paid,
    /// `ANNULLATO`: the citizen cancelled at Checkout, or the cart was abandoned there.
    Cancelled,
    /// `ERRORE`: Checkout refused the cart or the payment ended in an error.
    Failed,
}

impl CartState {
    /// Every state.
    pub const ALL: [CartState; 4] = [CartState::InPayment, CartState::Paid, CartState::Cancelled, CartState::Failed];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            CartState::InPayment => "IN_PAGAMENTO",
            CartState::Paid => "PAGATO",
            CartState::Cancelled => "ANNULLATO",
            CartState::Failed => "ERRORE",
        }
    }

    /// The state with this code (exact, uppercase), if any.
    pub fn from_code(code: &str) -> Option<CartState> {
        CartState::ALL.into_iter().find(|state| state.code() == code)
    }
}

impl fmt::Display for CartState {
    /// The code, as in [`CartState::code`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `{:<13}` lines a state up as it did the stored text.
        f.pad(self.code())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_refused() {
        let expected = [
            (CartState::InPayment, "IN_PAGAMENTO"),
            (CartState::Paid, "PAGATO"),
            (CartState::Cancelled, "ANNULLATO"),
            (CartState::Failed, "ERRORE"),
        ];
        assert_eq!(expected.len(), CartState::ALL.len());
        for (state, code) in expected {
            assert_eq!(state.code(), code);
            assert_eq!(state.to_string(), code);
            assert_eq!(CartState::from_code(code), Some(state));
        }
        assert_eq!(CartState::default(), CartState::InPayment);
        for unknown in ["pagato", "PAGAM_IN_CORSO", "NON PAGATO", ""] {
            assert_eq!(CartState::from_code(unknown), None, "{unknown:?}");
        }
    }
}
