//! An org's dashboard (`/operatore/{ipa}`): payments today and this month, the chart of amounts per
//! day, and what is under way or needs attention, each linking to its page.

use maud::html;

use super::chart;
use super::{BoCtx, BoError};
use crate::services::payments::dashboard;
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
            li { "Flussi di rendicontazione rifiutati: " strong { (a.flows_rejected) } }
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
