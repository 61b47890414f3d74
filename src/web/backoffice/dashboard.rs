//! An org's dashboard (`/operatore/{ipa}`): payments today and this month, the chart of amounts per
//! day, and what is under way or needs attention, each linking to its page; in upstream mode, the
//! org's link with the regional node.

use maud::{Markup, html};

use super::chart;
use super::{BoCtx, BoError};
use crate::services::payments::dashboard;
use crate::services::upstream::status::{self as upstream, UpstreamView};
use crate::web::Response;
use crate::web::ui::format::datetime_it;

/// `GET /operatore/{ipa}`.
pub fn show(ctx: &mut BoCtx<'_>, ipa: &str) -> Result<Response, BoError> {
    let grant = ctx.grant(ipa)?;
    let today = ctx.now.today();
    let board = match dashboard::dashboard(&ctx.state.db, &grant, today) {
        Ok(board) => board,
        Err(err) => {
            tracing::error!(error = %err, "cannot load the dashboard");
            return Err(BoError::Internal);
        }
    };
    // Only in upstream mode, and for an org with settings there.
    let link = match &ctx.state.config.upstream {
        Some(_) => upstream::link(&ctx.state.db, grant.org.id).unwrap_or_else(|err| {
            tracing::error!(error = %err, "cannot load the link with the regional node");
            None
        }),
        None => None,
    };
    let base = format!("/operatore/{}", grant.org.ipa_code);
    let a = &board.activity;
    let month = format!("{:02}/{}", today.month(), today.year());
    let main = html! {
        h1 { "Cruscotto" }
        p class="lead" { (grant.org.name) }
        @if let Some(n) = board.open_anomalies.filter(|n| *n > 0) {
            div class="alert alert-warning" role="alert" {
                a href={ (base) "/anomalie" } { "Anomalie da esaminare" } ": " strong { (n) }
                " (ricevute difformi, doppi pagamenti, pagamenti di dovuti non pagabili)"
            }
        }
        div class="row g-3 mb-4" {
            div class="col-12 col-md-6" {
                div class="card border p-3" {
                    h2 class="h5" { "Oggi" }
                    p class="mb-0" { strong { (board.today.count) } " pagamenti, " strong { (board.today.cents.format_eur()) } }
                }
            }
            div class="col-12 col-md-6" {
                div class="card border p-3" {
                    h2 class="h5" { "Questo mese" }
                    p class="mb-0" { strong { (board.month_count) } " pagamenti, " strong { (board.month_cents.format_eur()) } }
                }
            }
        }
        h2 class="h4" { "Importi incassati per giorno" }
        (chart::amounts_per_day(&format!("Importi incassati per giorno, {month}"), &board.days))
        h2 class="h4" { "Attività" }
        ul class="list-unstyled" {
            li { a href={ (base) "/flussi" } { "Flussi dei dovuti in elaborazione" } ": " strong { (a.imports_running) } }
            li { a href={ (base) "/esportazioni" } { "Esportazioni in corso" } ": " strong { (a.exports_running) } }
            li { "Esiti da inoltrare al gestionale dell'ente: " strong { (a.pushes_pending) } ", non consegnati: " strong { (a.pushes_failed) } }
            li { a href={ (base) "/rendicontazione" } { "Flussi di rendicontazione" } ", rifiutati: " strong { (a.flows_rejected) } }
        }
        @if let Some(link) = &link {
            (regional_link(link))
        }
        @if !board.rejected_flows.is_empty() {
            table class="table tabella-compatta" {
                caption { "Ultimi flussi di rendicontazione rifiutati" }
                thead { tr { th scope="col" { "Flusso" } th scope="col" { "PSP" } th scope="col" { "Ricevuto" } th scope="col" { "Motivo" } } }
                tbody {
                    @for f in &board.rejected_flows {
                        tr { td { code { (f.iuf) } } td { (f.psp_id) } td { (datetime_it(&f.fetched_at)) } td { (f.reason.clone().unwrap_or_default()) } }
                    }
                }
            }
        }
    };
    Ok(ctx.page("Cruscotto", main))
}

/// The block "Collegamento con il nodo regionale", compact: the credentials there (set or not,
/// never their value), the last contact and error, the changes waiting and those the Region
/// refused with its code, the last receipt, the polling cursor and the Region's pushes.
fn regional_link(link: &UpstreamView) -> Markup {
    let when = |at: &Option<String>| at.as_deref().map_or_else(|| "mai".to_owned(), datetime_it);
    let set = |yes: bool| if yes { "impostata" } else { "non impostata" };
    let p = &link.pushes;
    let o = &link.outbox;
    html! {
        h2 class="h4" { "Collegamento con il nodo regionale" }
        ul class="list-unstyled" {
            li { "Codice IPA presso la Regione: " strong { (link.region_ipa) } }
            li { "Password SIL presso la Regione: " strong { (set(link.password_set)) } ", chiave degli esiti: " strong { (set(link.push_secret_set)) } }
            li { "Ultimo contatto con la Regione: " strong { (when(&link.last_contact_at)) } }
            @if link.last_error_code.is_some() || link.last_error_text.is_some() {
                li class="text-danger" {
                    "Ultimo errore: " strong { (link.last_error_code.clone().unwrap_or_default()) } " " (link.last_error_text.clone().unwrap_or_default())
                    " (" (when(&link.last_error_at)) ")"
                }
            }
            li {
                "Modifiche in attesa di invio alla Regione: " strong { (o.waiting) }
                @if let Some(head) = &o.head {
                    @if head.attempts > 0 {
                        " (tentativi falliti: " (head.attempts) ", prossimo: " (datetime_it(&head.next_attempt_at)) ")"
                    }
                }
            }
            li {
                "Rifiutate dalla Regione: " strong { (o.refused) }
                @if let Some(last) = o.last_refused.first() {
                    ", l'ultima: " (last.subject.clone().unwrap_or_default()) " " code { (last.code.clone().unwrap_or_default()) }
                    " " (last.text.clone().unwrap_or_default())
                }
            }
            li { "Ultima ricevuta dalla Regione: " strong { (when(&link.last_receipt_at)) } }
            li {
                "Cursore di interrogazione delle ricevute: "
                @match &link.polling {
                    Some(poll) => {
                        strong { (poll.cursor) } ", ultima interrogazione riuscita: " strong { (when(&poll.last_success_at)) }
                        @if let Some(error) = &poll.last_error { span class="text-danger" { " (errore: " (error) ")" } }
                    }
                    None => { strong { "non ancora avviata" } }
                }
            }
            li {
                "Esiti inoltrati dalla Regione da confermare: " strong { (p.received) }
                ", ripetuti: " strong { (p.replayed) } ", illeggibili: " strong { (p.unreadable) }
                ", per IUV sconosciuti: " strong { (p.unknown_iuv) }
            }
        }
    }
}
