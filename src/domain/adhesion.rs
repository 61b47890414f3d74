//! What an org joined the service for (its adhesion mode) and the one table saying which channel
//! each mode admits.
//!
//! The modes are the Region's (reference/mypay.md §0.1): `base` (citizens' spontaneous payments and
//! receipt exports), `flussi` (plus debt flows and the upkeep of their debts) and `ente` (plus the
//! web services: SIL, REST API, outcome push). Each mode admits what the one before does.

use std::fmt;

/// An org's adhesion mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum Mode {
    /// Spontaneous payments and receipt exports; the mode a new org starts in.
    #[default]
    Base,
    /// Plus debt-flow uploads and the upkeep of single debts.
    Flows,
    /// Plus the web services ("iniziato presso l'ente").
    Full,
}

/// A way into mypay that an adhesion mode opens or closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// A citizen's spontaneous payment on the portal.
    Spontaneous,
    /// Receipt exports (back office, CLI).
    ReceiptExports,
    /// Debt-flow uploads (CLI, back office, REST file upload, SIL upload token).
    DebtFlows,
    /// Single debts added, changed or annulled by operators (back office, CLI).
    DebtUpkeep,
    /// MyPay's SIL SOAP services.
    Sil,
    /// The REST API with a token.
    RestApi,
    /// Payment outcomes pushed to the org's system.
    OutcomePush,
}

/// A mode or act type a person typed that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdhesionError {
    #[error("unknown adhesion mode {0:?}: expected base, flussi or ente")]
    UnknownMode(String),
    #[error("unknown act type {0:?}: expected delibera or determina")]
    UnknownActType(String),
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Base, Mode::Flows, Mode::Full];

    /// The stored and typed code.
    pub fn code(self) -> &'static str {
        match self {
            Mode::Base => "base",
            Mode::Flows => "flussi",
            Mode::Full => "ente",
        }
    }

    pub fn from_code(code: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.code() == code)
    }

    /// A code as typed: any case, surrounding spaces ignored.
    pub fn parse(code: &str) -> Result<Mode, AdhesionError> {
        Mode::ALL
            .into_iter()
            .find(|m| m.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| AdhesionError::UnknownMode(code.to_owned()))
    }

    /// The Italian name, as the Region's adhesion act says it.
    pub fn label_it(self) -> &'static str {
        match self {
            Mode::Base => "Modalità base",
            Mode::Flows => "Modalità per flussi",
            Mode::Full => "Modalità iniziato presso l'ente (servizi web)",
        }
    }

    /// The one table: whether this mode admits `channel`.
    pub fn admits(self, channel: Channel) -> bool {
        self >= channel.least_mode()
    }
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Spontaneous,
        Channel::ReceiptExports,
        Channel::DebtFlows,
        Channel::DebtUpkeep,
        Channel::Sil,
        Channel::RestApi,
        Channel::OutcomePush,
    ];

    /// The first mode that admits the channel.
    pub fn least_mode(self) -> Mode {
        match self {
            Channel::Spontaneous | Channel::ReceiptExports => Mode::Base,
            Channel::DebtFlows | Channel::DebtUpkeep => Mode::Flows,
            Channel::Sil | Channel::RestApi | Channel::OutcomePush => Mode::Full,
        }
    }

    /// A short English name, for logs and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Spontaneous => "spontaneous payments",
            Channel::ReceiptExports => "receipt exports",
            Channel::DebtFlows => "debt-flow uploads",
            Channel::DebtUpkeep => "single debt upkeep",
            Channel::Sil => "SIL web services",
            Channel::RestApi => "REST API",
            Channel::OutcomePush => "outcome push",
        }
    }

    /// The Italian name, for pages and fault descriptions.
    pub fn label_it(self) -> &'static str {
        match self {
            Channel::Spontaneous => "i pagamenti spontanei",
            Channel::ReceiptExports => "l'esportazione delle ricevute",
            Channel::DebtFlows => "il caricamento dei flussi dei dovuti",
            Channel::DebtUpkeep => "la gestione dei singoli dovuti",
            Channel::Sil => "i servizi web SIL",
            Channel::RestApi => "l'API REST",
            Channel::OutcomePush => "l'inoltro degli esiti di pagamento",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

/// The kind of act by which the org joined: a council's resolution or an executive's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActType {
    Delibera,
    Determina,
}

impl ActType {
    pub const ALL: [ActType; 2] = [ActType::Delibera, ActType::Determina];

    pub fn code(self) -> &'static str {
        match self {
            ActType::Delibera => "delibera",
            ActType::Determina => "determina",
        }
    }

    pub fn from_code(code: &str) -> Option<ActType> {
        ActType::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn parse(code: &str) -> Result<ActType, AdhesionError> {
        ActType::ALL
            .into_iter()
            .find(|a| a.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| AdhesionError::UnknownActType(code.to_owned()))
    }

    pub fn label_it(self) -> &'static str {
        match self {
            ActType::Delibera => "Delibera",
            ActType::Determina => "Determina",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_mode_admits_exactly_its_channels() {
        use Channel::*;
        let table: [(Mode, &[Channel]); 3] = [
            (Mode::Base, &[Spontaneous, ReceiptExports]),
            (Mode::Flows, &[Spontaneous, ReceiptExports, DebtFlows, DebtUpkeep]),
            (Mode::Full, &Channel::ALL),
        ];
        for (mode, admitted) in table {
            for channel in Channel::ALL {
                assert_eq!(mode.admits(channel), admitted.contains(&channel), "{mode} {channel:?}");
            }
        }
    }

    #[test]
    fn codes_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(Mode::parse(mode.code()), Ok(mode));
            assert_eq!(Mode::from_code(mode.code()), Some(mode));
        }
        assert_eq!(Mode::parse(" ENTE "), Ok(Mode::Full));
        assert_eq!(Mode::from_code("ENTE"), None);
        assert_eq!(
            Mode::parse("full").unwrap_err().to_string(),
            "unknown adhesion mode \"full\": expected base, flussi or ente"
        );
        for act in ActType::ALL {
            assert_eq!(ActType::parse(act.code()), Ok(act));
            assert_eq!(ActType::from_code(act.code()), Some(act));
        }
        assert!(ActType::parse("decreto").is_err());
        assert_eq!(Mode::default(), Mode::Base);
    }
}
