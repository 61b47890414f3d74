//! The EC-side fault codes of the pagoPA node interface and their standard fault strings
//! (reference/pagopa.md §1.8), used verbatim because the Node and PSPs show them to people.

/// A `PAA_*` fault the station answers in-band (`outcome=KO` + `fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaaFault {
    SintassiExtraXsd,
    SintassiXsd,
    IdDominioErrato,
    IdIntermediarioErrato,
    StazioneIntErrata,
    PagamentoSconosciuto,
    PagamentoDuplicato,
    #[allow(dead_code, reason = "the contract's fault table: answered by no operation of ours yet")]
    PagamentoInCorso,
    PagamentoScaduto,
    PagamentoAnnullato,
    #[allow(dead_code, reason = "the contract's fault table: a replayed receipt is answered OK")]
    ReceiptDuplicata,
    Semantica,
    SystemError,
}

impl PaaFault {
    pub fn code(self) -> &'static str {
        match self {
            PaaFault::SintassiExtraXsd => "PAA_SINTASSI_EXTRAXSD",
            PaaFault::SintassiXsd => "PAA_SINTASSI_XSD",
            PaaFault::IdDominioErrato => "PAA_ID_DOMINIO_ERRATO",
            PaaFault::IdIntermediarioErrato => "PAA_ID_INTERMEDIARIO_ERRATO",
            PaaFault::StazioneIntErrata => "PAA_STAZIONE_INT_ERRATA",
            PaaFault::PagamentoSconosciuto => "PAA_PAGAMENTO_SCONOSCIUTO",
            PaaFault::PagamentoDuplicato => "PAA_PAGAMENTO_DUPLICATO",
            PaaFault::PagamentoInCorso => "PAA_PAGAMENTO_IN_CORSO",
            PaaFault::PagamentoScaduto => "PAA_PAGAMENTO_SCADUTO",
            PaaFault::PagamentoAnnullato => "PAA_PAGAMENTO_ANNULLATO",
            PaaFault::ReceiptDuplicata => "PAA_RECEIPT_DUPLICATA",
            PaaFault::Semantica => "PAA_SEMANTICA",
            PaaFault::SystemError => "PAA_SYSTEM_ERROR",
        }
    }

    /// The standard faultString.
    pub fn fault_string(self) -> &'static str {
        match self {
            PaaFault::SintassiExtraXsd => "Errore di sintassi extra XSD",
            PaaFault::SintassiXsd => "Errore di sintassi XSD",
            PaaFault::IdDominioErrato => "La PAA non corrisponde al Dominio indicato",
            PaaFault::IdIntermediarioErrato => "Identificativo intermediario non corrispondente",
            PaaFault::StazioneIntErrata => "Stazione intermediario non corrispondente",
            PaaFault::PagamentoSconosciuto => "Pagamento in attesa risulta sconosciuto all\u{2019}Ente Creditore",
            PaaFault::PagamentoDuplicato => "Pagamento in attesa risulta concluso all\u{2019}Ente Creditore",
            PaaFault::PagamentoInCorso => "Pagamento in attesa risulta in corso all\u{2019}Ente Creditore",
            PaaFault::PagamentoScaduto => "Pagamento in attesa risulta scaduto all\u{2019}Ente Creditore",
            PaaFault::PagamentoAnnullato => "Pagamento in attesa risulta annullato all\u{2019}Ente Creditore",
            PaaFault::ReceiptDuplicata => "Ricevuta duplicata",
            PaaFault::Semantica => "Errore semantico",
            PaaFault::SystemError => "Errore generico",
        }
    }
}

/// A fault to answer: which one and a description for people reading logs on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: PaaFault,
    pub description: String,
}

impl Fault {
    pub fn new(kind: PaaFault, description: impl Into<String>) -> Fault {
        Fault { kind, description: description.into() }
    }
}
