//! The journal's codes in words: each action, actor and outcome as an operator reads it in Italian,
//! for the journal and a debt's timeline. The codes themselves stay in the journal (and in the
//! pages' technical details); an action not listed here is shown as its code.

/// Every action the journal holds that a person may filter on, with its sentence: the journal's
/// filter offers them as a list.
pub const ACTIONS: [(&str, &str); 37] = [
    ("debt.add", "Dovuto inserito"),
    ("debt.modify", "Dovuto modificato"),
    ("debt.annul", "Dovuto annullato"),
    ("debt.notice", "Avviso di pagamento scaricato"),
    ("debt.iuv", "IUV assegnato dalla Regione"),
    ("debt.region_iuv", "IUV ricevuto dalla Regione"),
    ("sil.debt.add", "Dovuto inserito dal gestionale (SIL)"),
    ("sil.session.start", "Pagamento avviato dal gestionale (SIL)"),
    ("sil", "Chiamata del gestionale ai servizi SIL"),
    ("paVerifyPaymentNotice", "Il nodo pagoPA ha verificato l'avviso"),
    ("paGetPayment", "Il nodo pagoPA ha chiesto i dati per il pagamento"),
    ("paGetPaymentV2", "Il nodo pagoPA ha chiesto i dati per il pagamento"),
    ("paSendRT", "Ricevuta di pagamento ricevuta dal nodo pagoPA"),
    ("paSendRTV2", "Ricevuta di pagamento ricevuta dal nodo pagoPA"),
    ("paDemandPaymentNotice", "Il nodo pagoPA ha chiesto un avviso per un pagamento spontaneo"),
    ("station", "Richiesta non riconosciuta del nodo pagoPA"),
    ("import.submit", "Flusso dei dovuti caricato"),
    ("import.run", "Flusso dei dovuti elaborato"),
    ("import.notices", "Avvisi del flusso generati"),
    ("import.region", "Flusso dei dovuti inviato alla Regione"),
    ("reporting.fetch", "Flusso di rendicontazione acquisito"),
    ("anomaly.resolve", "Anomalia risolta"),
    ("org.add", "Ente creato"),
    ("org.set", "Dati dell'ente modificati"),
    ("org.sil_password", "Nuova password del gestionale (SIL) generata"),
    ("org.logo", "Logo dell'ente cambiato"),
    ("org.push", "Inoltro degli esiti al gestionale impostato"),
    ("org.privacy_notice", "Informativa privacy dell'ente pubblicata"),
    ("org.upstream", "Collegamento con la Regione impostato"),
    ("org.upstream_mirror", "Invio dei dovuti alla Regione attivato o disattivato"),
    ("operator.add", "Operatore aggiunto"),
    ("operator.passwd", "Password di un operatore cambiata"),
    ("operator.grant", "Abilitazioni di un operatore cambiate"),
    ("debt_type.add", "Tipo dovuto creato"),
    ("debt_type.set", "Tipo dovuto modificato"),
    ("api_token.create", "Token per le API creato"),
    ("api_token.revoke", "Token per le API revocato"),
];

/// The sentence of an action; the API's (`api POST /api/v1/...`) and the Region's named by kind.
pub fn action(code: &str) -> String {
    if let Some((_, words)) = ACTIONS.iter().find(|(c, _)| *c == code) {
        return (*words).to_owned();
    }
    match code {
        "upstream.esito" => "Esito di pagamento inoltrato dalla Regione".to_owned(),
        "upstream.esito.confirm" => "Esito inoltrato dalla Regione verificato".to_owned(),
        "upstream.payment.start" => "Pagamento avviato presso la Regione".to_owned(),
        api if api.starts_with("api ") => format!("Chiamata all'API REST ({})", api.trim_start_matches("api ")),
        other => other.to_owned(),
    }
}

/// Who acted, in words: an operator by name, the Node, the org's own system, the command line.
pub fn actor(code: &str) -> String {
    match code.split_once(':') {
        Some(("operator", name)) => format!("operatore {name}"),
        Some(("sil", ipa)) => format!("gestionale dell'ente ({ipa})"),
        Some(("api", token)) => format!("API REST (token {token})"),
        Some(("citizen", _)) => "cittadino".to_owned(),
        _ => match code {
            "node" => "nodo pagoPA".to_owned(),
            "cli" => "riga di comando".to_owned(),
            "system" => "sistema".to_owned(),
            "demo" => "dati dimostrativi".to_owned(),
            "region" | "upstream" => "Regione".to_owned(),
            other => other.to_owned(),
        },
    }
}

/// The outcome in words; a fault or anomaly code is kept as it is, beside "non riuscita".
pub fn outcome(code: &str) -> String {
    match code {
        "OK" => "riuscita".to_owned(),
        "KO" => "non riuscita".to_owned(),
        "ACQUISITO" => "acquisito".to_owned(),
        "RIFIUTATO" => "rifiutato".to_owned(),
        "DOPPIO_PAGAMENTO" => "doppio pagamento".to_owned(),
        "DOVUTO_ANNULLATO" => "per un dovuto annullato".to_owned(),
        "DOVUTO_SCADUTO" => "per un dovuto scaduto".to_owned(),
        "DOVUTO_SCONOSCIUTO" => "per un dovuto sconosciuto".to_owned(),
        "ESITO_KO" => "pagamento non riuscito".to_owned(),
        "RICEVUTA_DIFFORME" => "ricevuta difforme dal dovuto".to_owned(),
        other => format!("non riuscita ({other})"),
    }
}

/// What the filter "Esito" offers: (code, words).
pub const OUTCOMES: [(&str, &str); 4] =
    [("OK", "Riuscita"), ("KO", "Non riuscita"), ("ACQUISITO", "Acquisito"), ("RIFIUTATO", "Rifiutato")];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_sentences() {
        assert_eq!(action("debt.modify"), "Dovuto modificato");
        assert_eq!(action("paSendRT"), "Ricevuta di pagamento ricevuta dal nodo pagoPA");
        assert_eq!(
            action("api POST /api/v1/orgs/{ipa}/debts"),
            "Chiamata all'API REST (POST /api/v1/orgs/{ipa}/debts)"
        );
        assert_eq!(action("something.new"), "something.new");
        assert_eq!(actor("operator:demo"), "operatore demo");
        assert_eq!(actor("node"), "nodo pagoPA");
        assert_eq!(actor("sil:c_esempio"), "gestionale dell'ente (c_esempio)");
        assert_eq!(outcome("OK"), "riuscita");
        assert_eq!(outcome("PAA_PAGAMENTO_SCONOSCIUTO"), "non riuscita (PAA_PAGAMENTO_SCONOSCIUTO)");
        let mut codes: Vec<_> = ACTIONS.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ACTIONS.len(), "each action once");
    }
}
