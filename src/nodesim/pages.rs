//! The simulator's HTML pages, in Italian on mypay's one layout: the cart page where the payer
//! picks a PSP and an outcome, a short index, and the error pages.

use maud::{Markup, html};

use super::checkout::Cart;
use super::config::Psp;
use super::router::{FDR_BASE, NODE_FOR_PA_PATH};
use super::state::Sim;
use crate::web::Response;
use crate::web::ui::layout;

/// `GET /c/{cartId}`: the notices, the total, a PSP choice and the three outcomes. A plain form,
/// so scripts can post `outcome=OK&psp=...` too.
pub fn cart(cart: &Cart, psps: &[Psp]) -> Markup {
    layout::page(
        "Pagamento",
        html! {
            h1 { "Riepilogo del pagamento" }
            div class="alert alert-warning" role="note" {
                "Ambiente di simulazione del Nodo pagoPA: non viene addebitato alcun importo."
            }
            table class="table" {
                caption class="visually-hidden" { "Avvisi nel carrello" }
                thead { tr {
                    th scope="col" { "Ente" }
                    th scope="col" { "Oggetto" }
                    th scope="col" { "Codice avviso" }
                    th scope="col" class="text-end" { "Importo" }
                } }
                tbody {
                    @for notice in &cart.notices {
                        tr {
                            td { (notice.company_name) br; small { "C.F. " (notice.fiscal_code) } }
                            td { (notice.description) }
                            td { (group_by_four(&notice.notice_number)) }
                            td class="text-end" { (notice.amount.format_eur()) }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" colspan="3" { "Totale" }
                    td class="text-end fw-bold" { (cart.total().format_eur()) }
                } }
            }
            form method="post" action={ "/c/" (cart.id) } {
                div class="select-wrapper mb-4" {
                    label for="psp" { "Prestatore di servizi di pagamento" }
                    select id="psp" name="psp" {
                        @for psp in psps {
                            option value=(psp.id) { (psp.name) " – commissione " (psp.fee.format_eur()) }
                        }
                    }
                }
                div class="d-flex flex-wrap gap-2" {
                    button type="submit" name="outcome" value="OK" class="btn btn-primary" { "Paga" }
                    button type="submit" name="outcome" value="CANCEL" class="btn btn-outline-primary" { "Annulla" }
                    button type="submit" name="outcome" value="ERROR" class="btn btn-outline-danger" { "Simula un errore" }
                }
            }
        },
    )
}

fn group_by_four(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + 5);
    for (idx, ch) in digits.chars().enumerate() {
        if idx > 0 && idx % 4 == 0 {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// `GET /`: what this is and where its APIs are.
pub fn index(sim: &Sim) -> Response {
    let config = &sim.config;
    Response::html(
        200,
        layout::page(
            "Simulatore del Nodo pagoPA",
            html! {
                h1 { "Simulatore del Nodo pagoPA" }
                p class="lead" { "Nodo dei Pagamenti, Checkout e prestatori di servizi di pagamento simulati, per prove e dimostrazioni." }
                dl {
                    dt { "Stazione collegata" } dd { code { (config.station_url) } }
                    dt { "Intermediario e stazione" } dd { (config.broker_id) " / " (config.station_id) }
                    dt { "Versione delle primitive" } dd { (config.primitive_version.number()) }
                    dt { "Checkout" } dd { code { "POST /checkout/ec/v1/carts" } ", " code { "POST /checkout/ec/v2/carts" } }
                    dt { "Flussi di rendicontazione (REST)" } dd { code { (FDR_BASE) "/organizations/{ente}/fdrs" } }
                    dt { "nodeForPa (SOAP)" } dd { code { "POST " (NODE_FOR_PA_PATH) } }
                }
            },
        ),
    )
}

/// A short page with a status and a message.
pub fn message(status: u16, title: &str, text: &str) -> Response {
    Response::html(status, layout::page(title, html! { h1 { (title) } p { (text) } }))
}

/// 404.
pub fn not_found() -> Response {
    message(404, "Pagina non trovata", "Il carrello o la pagina richiesta non esiste.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Cents;
    use crate::nodesim::checkout::{CartNotice, CartState, ReturnUrls};
    use crate::nodesim::config::default_psps;

    #[test]
    fn the_cart_page_lists_notices_and_escapes_them() {
        let sample = Cart {
            id: "abc".to_owned(),
            api_version: 1,
            notices: vec![CartNotice {
                notice_number: "301000000000000144".to_owned(),
                fiscal_code: "01234567897".to_owned(),
                amount: Cents::new(102_099),
                company_name: "Comune <di> Prova".to_owned(),
                description: "TARI".to_owned(),
            }],
            return_urls: ReturnUrls {
                ok: "a".to_owned(),
                cancel: "b".to_owned(),
                error: "c".to_owned(),
                waiting: None,
            },
            email_notice: None,
            id_cart: None,
            all_ccp: false,
            state: CartState::Created,
            tokens: Vec::new(),
            fault: None,
            psp: None,
        };
        let html = cart(&sample, &default_psps()).into_string();
        assert!(html.contains("Comune &lt;di&gt; Prova"), "{html}");
        assert!(html.contains("3010 0000 0000 0001 44"), "{html}");
        assert!(html.contains("€ 1.020,99"), "{html}");
        assert!(html.contains(r#"action="/c/abc""#), "{html}");
        assert!(html.contains(r#"name="outcome" value="CANCEL""#), "{html}");
        assert!(html.contains(r#"<option value="SIMPSP02">"#), "{html}");
    }
}
