//! A debt's timeline on its page: each event of `services::debts::timeline` as a sentence with its
//! Italian time and who acted, the journal's data behind a toggle.

use maud::{Markup, html};

use super::words;
use crate::services::debts::timeline::{Event, EventKind};
use crate::store::outbox::{ChangeAction, ChangeState};
use crate::store::pushes::PushState;
use crate::web::ui::format::datetime_it;

/// The sentence of one event (who acted is said apart).
fn sentence(kind: &EventKind) -> String {
    match kind {
        EventKind::Journal { action, outcome, .. } => {
            let words = words::action(action);
            if outcome == "OK" { words } else { format!("{words}: {}", words::outcome(outcome)) }
        }
        EventKind::Created { source, import_id } => match (source.as_str(), import_id) {
            ("import", Some(id)) => format!("Dovuto inserito dal flusso dei dovuti n. {id}"),
            ("import", None) => "Dovuto inserito da un flusso dei dovuti".to_owned(),
            ("portal", _) => "Dovuto creato dal portale dei pagamenti".to_owned(),
            ("node", _) => "Dovuto creato per un pagamento avviato presso un PSP".to_owned(),
            ("demo", _) => "Dovuto inserito con i dati dimostrativi".to_owned(),
            _ => "Dovuto inserito".to_owned(),
        },
        EventKind::PaymentStarted => "Pagamento avviato: il nodo pagoPA ha chiesto i dati per pagare".to_owned(),
        EventKind::Receipt { receipt_id, outcome, amount, psp } => {
            let how = if outcome == "OK" { "pagamento riuscito" } else { "pagamento non riuscito" };
            format!("Ricevuta {receipt_id} registrata ({how}): {} presso {psp}", amount.format_eur())
        }
        EventKind::Push { receipt_id, state, attempts, last_error } => match state {
            PushState::Sent => format!("Esito della ricevuta {receipt_id} inoltrato al gestionale dell'ente"),
            PushState::Failed => format!(
                "Esito della ricevuta {receipt_id} non consegnato al gestionale dopo {attempts} tentativi{}",
                last_error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            ),
            PushState::Pending => {
                format!("Esito della ricevuta {receipt_id} in attesa di inoltro al gestionale (tentativi: {attempts})")
            }
        },
        EventKind::Exported { export_id, .. } => format!("Ricevuta inclusa nell'esportazione n. {export_id}"),
        EventKind::Upstream { action, state, error_code, error_text } => {
            // (noun, its participles' ending): "Inserimento inviato", "Modifica inviata".
            let (what, o) = match action {
                ChangeAction::Insert => ("Inserimento", "o"),
                ChangeAction::Annul => ("Annullamento", "o"),
                ChangeAction::Modify | ChangeAction::Flow => ("Modifica", "a"),
            };
            match state {
                ChangeState::Sent => format!("{what} inviat{o} alla Regione"),
                ChangeState::Refused => format!(
                    "{what} rifiutat{o} dalla Regione: {} {}",
                    error_code.clone().unwrap_or_default(),
                    error_text.clone().unwrap_or_default()
                )
                .trim_end()
                .to_owned(),
                ChangeState::Pending => format!("{what} in attesa di invio alla Regione"),
            }
        }
    }
}

/// Who acted, where the event says so.
fn who(kind: &EventKind) -> String {
    match kind {
        EventKind::Journal { actor, .. } => words::actor(actor),
        EventKind::Exported { requested_by, .. } => words::actor(requested_by),
        EventKind::PaymentStarted | EventKind::Receipt { .. } => words::actor("node"),
        EventKind::Upstream { .. } | EventKind::Push { .. } | EventKind::Created { .. } => words::actor("system"),
    }
}

/// The timeline as a list, oldest first.
pub fn render(events: &[Event], journal_base: Option<&str>) -> Markup {
    html! {
        h2 class="h4" id="cronologia" { "Cronologia" }
        @if events.is_empty() {
            p { "Nessun evento registrato." }
        } @else {
            ol class="list-unstyled" aria-labelledby="cronologia" {
                @for e in events {
                    li class="border-start border-3 ps-3 pb-3" {
                        div { strong { (sentence(&e.kind)) } }
                        div class="text-muted small" { (datetime_it(&e.at)) " · " (who(&e.kind)) }
                        @if let EventKind::Journal { entry_id, action, before_json, after_json, .. } = &e.kind {
                            details class="small" {
                                summary { "Dettagli tecnici" }
                                p class="mb-1" {
                                    "Codice dell'operazione: " code { (action) }
                                    @if let Some(base) = journal_base { " · " a href={ (base) "/" (entry_id) } { "voce del giornale n. " (entry_id) } }
                                }
                                @if let Some(b) = before_json { p class="mb-1" { "Prima: " code class="text-break" { (b) } } }
                                @if let Some(a) = after_json { p class="mb-1" { "Dopo: " code class="text-break" { (a) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Cents;

    #[test]
    fn every_kind_of_event_reads_as_a_sentence() {
        let push = |state| EventKind::Push {
            receipt_id: "R1".to_owned(),
            state,
            attempts: 3,
            last_error: Some("HTTP 500".to_owned()),
        };
        assert_eq!(sentence(&push(PushState::Sent)), "Esito della ricevuta R1 inoltrato al gestionale dell'ente");
        assert_eq!(
            sentence(&push(PushState::Failed)),
            "Esito della ricevuta R1 non consegnato al gestionale dopo 3 tentativi: HTTP 500"
        );
        let upstream = |action, state| EventKind::Upstream {
            action,
            state,
            error_code: Some("PAA_X".to_owned()),
            error_text: Some("rifiutato".to_owned()),
        };
        assert_eq!(sentence(&upstream(ChangeAction::Insert, ChangeState::Sent)), "Inserimento inviato alla Regione");
        assert_eq!(
            sentence(&upstream(ChangeAction::Modify, ChangeState::Refused)),
            "Modifica rifiutata dalla Regione: PAA_X rifiutato"
        );
        assert_eq!(
            sentence(&EventKind::Exported { export_id: 4, requested_by: "operator:anna".to_owned() }),
            "Ricevuta inclusa nell'esportazione n. 4"
        );
        assert_eq!(
            sentence(&EventKind::Created { source: "import".to_owned(), import_id: Some(7) }),
            "Dovuto inserito dal flusso dei dovuti n. 7"
        );
        assert_eq!(
            sentence(&EventKind::Receipt {
                receipt_id: "R2".to_owned(),
                outcome: "OK".to_owned(),
                amount: Cents::new(1050),
                psp: "Banca".to_owned()
            }),
            "Ricevuta R2 registrata (pagamento riuscito): € 10,50 presso Banca"
        );
        let journal = EventKind::Journal {
            entry_id: 1,
            actor: "node".to_owned(),
            action: "paSendRTV2".to_owned(),
            outcome: "DOPPIO_PAGAMENTO".to_owned(),
            before_json: None,
            after_json: None,
        };
        assert_eq!(sentence(&journal), "Ricevuta di pagamento ricevuta dal nodo pagoPA: doppio pagamento");
        assert_eq!(who(&journal), "nodo pagoPA");
    }
}
