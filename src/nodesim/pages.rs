//! The simulator's HTML pages, in Italian: the cart page where the payer picks a PSP and an
//! outcome, a short index, and the error pages. Their own look, not the portal's: a person paying
//! in the demo must see that this is pagoPA's side, simulated (a banner on every page), and find no
//! link to a page of the portal the simulator does not have. One small stylesheet, its own.

use maud::{DOCTYPE, Markup, html};

use super::checkout::Cart;
use super::config::Psp;
use super::router::{FDR_BASE, NODE_FOR_PA_PATH};
use super::state::Sim;
use crate::web::Response;

/// Where [`STYLESHEET`] is served.
pub const STYLESHEET_PATH: &str = "/simulatore.css";

/// The pages' look: a striped warning banner, plain system fonts, touch targets of 44 px, and
/// nothing wider than a 360 px screen.
pub const STYLESHEET: &str = r#"*,*::before,*::after{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:1rem;line-height:1.5;color:#1b1b1b;background:#f3f1ea}
.sim-banner{background:repeating-linear-gradient(135deg,#ffd23f 0 18px,#1b1b1b 18px 36px);padding:.5rem}
.sim-banner p{margin:0 auto;max-width:46rem;background:#1b1b1b;color:#ffd23f;padding:.5rem .75rem;font-weight:700;letter-spacing:.02em}
.sim-banner small{display:block;color:#fff;font-weight:400;letter-spacing:0}
main{max-width:46rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
.sim-box{background:#fff;border:2px solid #1b1b1b;border-radius:4px;padding:1rem;margin-bottom:1rem;overflow-x:auto}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.4rem .25rem;border-bottom:1px solid #c8c4b8;vertical-align:top;overflow-wrap:break-word}
.num{text-align:right;white-space:nowrap}
.sim-nowrap{white-space:nowrap}
tfoot th,tfoot td{font-weight:700;border-bottom:0}
label{display:block;font-weight:700;margin-bottom:.25rem}
select,button{font:inherit;min-height:44px;width:100%}
select{padding:.5rem;border:2px solid #1b1b1b;border-radius:4px;background:#fff;margin-bottom:1rem}
.sim-actions{display:flex;flex-wrap:wrap;gap:.5rem}
.sim-actions button{flex:1 1 10rem;border:2px solid #1b1b1b;border-radius:4px;padding:.5rem 1rem;cursor:pointer;background:#fff;color:#1b1b1b;font-weight:700}
.sim-actions .sim-pay{background:#1b1b1b;color:#ffd23f}
.sim-actions .sim-error{border-color:#a4000f;color:#a4000f}
button:focus-visible,select:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
dl{margin:0}dt{font-weight:700}dd{margin:0 0 .75rem;overflow-wrap:anywhere}
code{font-size:.9em}
"#;

/// A page of the simulator around `main`, under its banner.
fn shell(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="it" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - Simulatore pagoPA (solo demo)" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header class="sim-banner" {
                    p { "Simulatore pagoPA — solo demo"
                        small { "Nodo dei Pagamenti, Checkout e prestatori simulati: nessun pagamento reale, nessun importo addebitato." }
                    }
                }
                main { (main) }
            }
        }
    }
}

/// `GET /c/{cartId}`: the notices, the total, a PSP choice and the three outcomes. A plain form,
/// so scripts can post `outcome=OK&psp=...` too.
pub fn cart(cart: &Cart, psps: &[Psp]) -> Markup {
    shell(
        "Pagamento",
        html! {
            h1 { "Riepilogo del pagamento" }
            div class="sim-box" {
            table {
                caption { "Avvisi nel carrello" }
                thead { tr {
                    th scope="col" { "Ente" }
                    th scope="col" { "Oggetto" }
                    th scope="col" { "Codice avviso" }
                    th scope="col" class="num" { "Importo" }
                } }
                tbody {
                    @for notice in &cart.notices {
                        tr {
                            td { (notice.company_name) br; small class="sim-nowrap" { "C.F. " (notice.fiscal_code) } }
                            td { (notice.description) }
                            td { (group_by_four(&notice.notice_number)) }
                            td class="num" { (notice.amount.format_eur()) }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" colspan="3" { "Totale" }
                    td class="num" { (cart.total().format_eur()) }
                } }
            }
            }
            form class="sim-box" method="post" action={ "/c/" (cart.id) } {
                div {
                    label for="psp" { "Prestatore di servizi di pagamento (simulato)" }
                    select id="psp" name="psp" {
                        @for psp in psps {
                            option value=(psp.id) { (psp.name) " – commissione " (psp.fee.format_eur()) }
                        }
                    }
                }
                div class="sim-actions" {
                    button type="submit" name="outcome" value="OK" class="sim-pay" { "Paga" }
                    button type="submit" name="outcome" value="CANCEL" { "Annulla" }
                    button type="submit" name="outcome" value="ERROR" class="sim-error" { "Simula un errore" }
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
        shell(
            "Simulatore del Nodo pagoPA",
            html! {
                h1 { "Simulatore del Nodo pagoPA" }
                p { "Nodo dei Pagamenti, Checkout e prestatori di servizi di pagamento simulati, per prove e dimostrazioni. I pagamenti si avviano dal portale dell'ente." }
                dl class="sim-box" {
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
    Response::html(status, shell(title, html! { h1 { (title) } div class="sim-box" { p { (text) } } }))
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
        // Its own look under the demo banner, and no link anywhere (the portal's pages are not here).
        assert!(html.contains("<p>Simulatore pagoPA — solo demo<small>"), "{html}");
        assert_eq!(html.matches("href=").count(), 1, "{html}");
        assert!(html.contains(r#"<link rel="stylesheet" href="/simulatore.css">"#), "{html}");
        assert!(!html.contains("Portale dei pagamenti"), "{html}");
        let message = message(404, "Pagina non trovata", "x").body;
        let message = String::from_utf8(message).unwrap();
        assert!(
            message.contains("Simulatore pagoPA — solo demo") && message.matches("href=").count() == 1,
            "{message}"
        );
    }
}
