//! Organisation (ente) rules that need no I/O: its lifecycle state and its functionalities.
//!
//! The codes are MyPay's (reference/mypay.md §1.6): `INSERITO` → `PRE-ESERCIZIO` → `ESERCIZIO`, and
//! the one functionality code kept of `mygov_ente_funzionalita` (the others: `Functionality`).

use std::fmt;

/// Where an org is in its onboarding. The SIL refuses `INSERITO`; the citizen portal needs
/// `ESERCIZIO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OrgState {
    /// `INSERITO`: set up in mypay, not yet registered with pagoPA; the state a new org starts in.
    #[default]
    Inserted,
    /// `PRE-ESERCIZIO`: registered with pagoPA, not yet open to its citizens and its SIL.
    PreProduction,
    /// `ESERCIZIO`: in production.
    Production,
}

/// An org state change that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("unknown org state {0:?}: expected INSERITO, PRE-ESERCIZIO or ESERCIZIO")]
    UnknownState(String),
    #[error("org state cannot go from {from} to {to}: states advance one step at a time")]
    Transition { from: &'static str, to: &'static str },
    #[error("unknown functionality {0:?}: the only one is PAGAMENTO_SPONTANEO")]
    UnknownFunctionality(String),
    #[error("{code} is no longer a functionality: {instead}")]
    RetiredFunctionality { code: &'static str, instead: &'static str },
}

impl OrgState {
    pub const ALL: [OrgState; 3] = [OrgState::Inserted, OrgState::PreProduction, OrgState::Production];

    /// MyPay's code.
    pub fn code(self) -> &'static str {
        match self {
            OrgState::Inserted => "INSERITO",
            OrgState::PreProduction => "PRE-ESERCIZIO",
            OrgState::Production => "ESERCIZIO",
        }
    }

    /// The state with exactly this code, as stored; [`OrgState::parse`] reads what people type.
    pub fn from_code(code: &str) -> Option<OrgState> {
        OrgState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The state a person typed: the code in any case, surrounding spaces ignored.
    pub fn parse(code: &str) -> Result<OrgState, OrgError> {
        OrgState::ALL
            .into_iter()
            .find(|s| s.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| OrgError::UnknownState(code.to_owned()))
    }

    /// True past `INSERITO`: pagoPA knows the org, so the station serves it and its reporting
    /// flows are fetched.
    pub fn is_registered_with_pagopa(self) -> bool {
        self != OrgState::Inserted
    }

    /// Italian label for the UI.
    pub fn label_it(self) -> &'static str {
        match self {
            OrgState::Inserted => "Inserito",
            OrgState::PreProduction => "Pre-esercizio",
            OrgState::Production => "In esercizio",
        }
    }

    /// Checks a change of state: one step forward, one step back (an org suspended from
    /// production goes back to pre-production), or no change.
    pub fn change_to(self, to: OrgState) -> Result<OrgState, OrgError> {
        let rank = |s: OrgState| match s {
            OrgState::Inserted => 0i8,
            OrgState::PreProduction => 1,
            OrgState::Production => 2,
        };
        if (rank(to) - rank(self)).abs() <= 1 {
            Ok(to)
        } else {
            Err(OrgError::Transition { from: self.code(), to: to.code() })
        }
    }
}

impl fmt::Display for OrgState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: `{:<13}` lines a state up as it did the stored text.
        f.pad(self.code())
    }
}

/// A functionality an org can switch on. Of MyPay's five codes (`mygov_ente_funzionalita`) only
/// `PAGAMENTO_SPONTANEO` is kept: whether the org lists spontaneous payments on the portal. The
/// outcome push (`INOLTRO_ESITO_PAGAMENTO_PUSH`) is the `ente` adhesion mode's
/// (`domain::adhesion`); `AVVISO_DIGITALE`, `NOTIFICA_AVVISI_IO` (a debt type's `notify_io`) and
/// `ENTE_PUBBLICO` (the state `ESERCIZIO`) had nothing behind them. Version 25 dropped their rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Functionality {
    /// Citizens may pay spontaneous debt types on the portal.
    SpontaneousPayment,
}

/// MyPay's codes that are no longer functionalities, with what took their place.
const RETIRED: [(&str, &str); 4] = [
    ("INOLTRO_ESITO_PAGAMENTO_PUSH", "outcome pushes come with adhesion mode ente (--mode ente)"),
    ("AVVISO_DIGITALE", "it had no effect"),
    ("NOTIFICA_AVVISI_IO", "App IO notices are a debt type's (--notify-io)"),
    ("ENTE_PUBBLICO", "an org is public in state ESERCIZIO"),
];

impl Functionality {
    pub const ALL: [Functionality; 1] = [Functionality::SpontaneousPayment];

    pub fn code(self) -> &'static str {
        match self {
            Functionality::SpontaneousPayment => "PAGAMENTO_SPONTANEO",
        }
    }

    pub fn parse(code: &str) -> Result<Functionality, OrgError> {
        if let Some((retired, instead)) = RETIRED.iter().find(|(c, _)| c.eq_ignore_ascii_case(code.trim())) {
            return Err(OrgError::RetiredFunctionality { code: retired, instead });
        }
        Functionality::ALL
            .into_iter()
            .find(|f| f.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| OrgError::UnknownFunctionality(code.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn states_advance_one_step_at_a_time() {
        use OrgState::*;
        assert_eq!(Inserted.change_to(PreProduction), Ok(PreProduction));
        assert_eq!(PreProduction.change_to(Production), Ok(Production));
        assert_eq!(Production.change_to(PreProduction), Ok(PreProduction));
        assert_eq!(Production.change_to(Production), Ok(Production));
        assert_eq!(
            Inserted.change_to(Production).unwrap_err().to_string(),
            "org state cannot go from INSERITO to ESERCIZIO: states advance one step at a time"
        );
        assert_eq!(Production.change_to(Inserted).map_err(|_| ()), Err(()));
    }

    #[test]
    fn codes_round_trip() {
        for state in OrgState::ALL {
            assert_eq!(OrgState::parse(state.code()), Ok(state));
        }
        assert_eq!(OrgState::parse("pre-esercizio"), Ok(OrgState::PreProduction));
        assert!(OrgState::parse("ATTIVO").is_err());
        for (state, code) in [
            (OrgState::Inserted, "INSERITO"),
            (OrgState::PreProduction, "PRE-ESERCIZIO"),
            (OrgState::Production, "ESERCIZIO"),
        ] {
            assert_eq!(state.code(), code);
            assert_eq!(OrgState::from_code(code), Some(state));
        }
        // What is stored is the exact code: a typed spelling is `parse`'s business.
        for unknown in ["pre-esercizio", " ESERCIZIO", "PRE_ESERCIZIO", "ATTIVO", ""] {
            assert_eq!(OrgState::from_code(unknown), None, "{unknown:?}");
        }
        assert_eq!(OrgState::default(), OrgState::Inserted);
        assert!(!OrgState::Inserted.is_registered_with_pagopa());
        assert!(
            OrgState::PreProduction.is_registered_with_pagopa() && OrgState::Production.is_registered_with_pagopa()
        );
        for func in Functionality::ALL {
            assert_eq!(Functionality::parse(func.code()), Ok(func));
        }
        assert_eq!(
            Functionality::parse("inoltro_esito_pagamento_push").unwrap_err().to_string(),
            "INOLTRO_ESITO_PAGAMENTO_PUSH is no longer a functionality: outcome pushes come with adhesion mode ente (--mode ente)"
        );
    }
}
