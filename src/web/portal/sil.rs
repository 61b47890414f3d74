//! The citizen's side of a payment started by the municipality's SIL (reference/mypay.md §4.3):
//! the landing URL given to the SIL (`showMyPay=SHORT`: a summary to confirm; `NONE`: straight on
//! to Checkout), the hand-over to Checkout (in upstream mode to the Region, whose return is
//! `upstream::back`), and the return to the SIL's back URL with `idSession`, `esito` and
//! `pollingToken`.
//!
//! A GET never creates anything: with `NONE` the landing page is a form that the browser posts by
//! itself (`mypay-portal.js`; a button without JavaScript), so a link prefetcher or a mail scanner
//! that follows the URL does not create the debts and the cart.

use maud::html;

use super::super::Response;
use super::{Ctx, PageError};
use crate::config::HttpUrl;
use crate::domain::{Cents, Email};
use crate::pagopa::checkout;
use crate::services::sil::fault;
use crate::services::sil::sessions::{self as sil_sessions, Return, ShowMode};
use crate::services::upstream::payments::{self as upstream_payments, UpstreamError};

/// `GET /sil/{token}`.
pub fn landing(ctx: &mut Ctx<'_>, token: &str) -> Result<Response, PageError> {
    let landing = sil_sessions::landing(&ctx.state.db, token, ctx.now)?;
    if landing.started {
        return Err(fault("PAA_PAGAMENTO_IN_CORSO", "already started").into());
    }
    if landing.show == ShowMode::None {
        let csrf = ctx.csrf();
        let body = html! {
            h1 { "Pagamento con pagoPA" }
            p { "L'ente ti chiede di pagare con pagoPA: stai per essere indirizzato alla pagina di pagamento." }
            form method="post" action={ "/sil/" (token) } data-invio-automatico="1" class="mt-4" {
                (csrf)
                button type="submit" class="btn btn-primary btn-lg" { "Prosegui su pagoPA" }
            }
        };
        return Ok(ctx.page_with(200, "Pagamento con pagoPA", body, vec!["mypay-portal.js"]));
    }
    let total: i64 = landing.items.iter().filter_map(|(_, i)| i.amount_due()).map(|c| c.get()).sum();
    let csrf = ctx.csrf();
    let email = landing.session.payer_email.clone().unwrap_or_default();
    let body = html! {
        h1 { "Riepilogo del pagamento" }
        p { "L'ente ti chiede di pagare con pagoPA quanto segue. Controlla i dati e conferma." }
        div class="table-responsive" {
            table class="table" {
                caption class="visually-hidden" { "Dovuti da pagare" }
                thead { tr { th scope="col" { "Ente" } th scope="col" { "Causale" } th scope="col" { "Intestatario" } th scope="col" class="text-end" { "Importo" } } }
                tbody {
                    @for (org, item) in &landing.items {
                        tr {
                            td {
                                (org)
                                @if let Some(mb) = &item.fields.secondary {
                                    br; small { "di cui " (Cents::parse_decimal(&mb.amount).map(Cents::format_eur).unwrap_or_default()) " a " (mb.name) }
                                }
                            }
                            td { (item.fields.causale) }
                            td { (item.fields.debtor_name) }
                            td class="text-end text-nowrap" { (item.amount_due().map(Cents::format_eur).unwrap_or_default()) }
                        }
                    }
                }
                tfoot { tr { th scope="row" colspan="3" { "Totale" } td class="text-end text-nowrap" { strong { (Cents::new(total).format_eur()) } } } }
            }
        }
        form method="post" action={ "/sil/" (token) } class="mt-4" {
            (csrf)
            div class="form-group" {
                label for="email" class="active" { "E-mail per la ricevuta" }
                input type="email" id="email" name="email" class="form-control" autocomplete="email" value=(email) required;
            }
            div class="form-check" {
                input type="checkbox" id="privacy" name="privacy" value="1" required;
                label for="privacy" { "Ho letto l'informativa sul trattamento dei dati personali dell'ente" }
            }
            button type="submit" class="btn btn-primary btn-lg" { "Paga con pagoPA" }
        }
    };
    Ok(ctx.page("Riepilogo del pagamento", body))
}

/// `POST /sil/{token}`: the citizen confirmed the summary (or, with `NONE`, went on).
pub fn pay(ctx: &mut Ctx<'_>, token: &str) -> Result<Response, PageError> {
    if sil_sessions::landing(&ctx.state.db, token, ctx.now)?.show == ShowMode::None {
        return to_checkout(ctx, token, None);
    }
    if ctx.form.get("privacy") != Some("1") {
        ctx.session.flash("danger", "Per pagare devi dichiarare di aver letto l'informativa privacy.");
        return Ok(ctx.redirect(&sil_sessions::landing_path(token)));
    }
    let Ok(email) = Email::parse(&ctx.form.text("email")) else {
        ctx.session.flash("danger", "Inserisci un indirizzo e-mail valido.");
        return Ok(ctx.redirect(&sil_sessions::landing_path(token)));
    };
    to_checkout(ctx, token, Some(email.as_str()))
}

/// Creates the debts and the cart, then sends the browser to Checkout (or, in upstream mode, to
/// the Region).
fn to_checkout(ctx: &mut Ctx<'_>, token: &str, email: Option<&str>) -> Result<Response, PageError> {
    if let Some(region) = super::upstream::region(ctx) {
        let back = super::upstream::back_url(ctx);
        return match upstream_payments::pay_sil_session(&ctx.state.db, region, token, email, &back, ctx.now) {
            Ok(url) => Ok(ctx.redirect(&url)),
            Err(err @ UpstreamError::Sil(_)) => Err(err.into()),
            Err(err) => {
                // As when Checkout is down: this session is over, and the citizen may go back.
                let back = sil_sessions::finish(&ctx.state.db, &ctx.state.links, token, Return::Error, ctx.now)
                    .ok()
                    .and_then(|b| b.url);
                Ok(super::upstream_refused(ctx, &err, back.as_deref()))
            }
        };
    }
    let started = sil_sessions::begin_checkout(&ctx.state.db, token, email, ctx.now)?;
    let base = ctx.public_url();
    let return_urls = checkout::ReturnUrls {
        ok: format!("{base}/sil/{token}/esito/ok"),
        cancel: format!("{base}/sil/{token}/esito/annullato"),
        error: format!("{base}/sil/{token}/esito/errore"),
        waiting: None,
    };
    let request = checkout::Cart {
        notices: checkout::CartNotice::of_views(&started.views),
        return_urls,
        id_cart: Some(started.cart.token.clone()),
        email: started.payer_email.clone(),
        all_ccp: false,
    };
    let node = &ctx.state.config.node;
    let base_url = node.base_url.as_ref().map_or("", HttpUrl::as_str);
    match checkout::create_cart(base_url, node.subscription_key.expose(), &request, false) {
        Ok(url) => {
            if let Err(err) = sil_sessions::checkout_sent(&ctx.state.db, started.cart.id, Some(&url), ctx.now) {
                return Err(err.into());
            }
            Ok(ctx.redirect(&url))
        }
        Err(err) => {
            tracing::error!(error = %err, "Checkout refused or unreachable");
            let _ = sil_sessions::checkout_sent(&ctx.state.db, started.cart.id, None, ctx.now);
            back(ctx, token, "errore")
        }
    }
}

/// `GET /sil/{token}/esito/{ok|annullato|errore}`: back to the SIL, or our own outcome page.
pub fn back(ctx: &mut Ctx<'_>, token: &str, how: &str) -> Result<Response, PageError> {
    let how = match how {
        "ok" => Return::Ok,
        "annullato" => Return::Cancelled,
        _ => Return::Error,
    };
    match sil_sessions::finish(&ctx.state.db, &ctx.state.links, token, how, ctx.now) {
        Ok(back) => match back.url {
            Some(url) => Ok(ctx.redirect(&url)),
            None => {
                let ok = back.esito == "OK";
                let body = html! {
                    h1 { @if ok { "Pagamento inviato" } @else { "Pagamento non eseguito" } }
                    div class={ "alert " @if ok { "alert-success" } @else { "alert-warning" } } role="alert" {
                        @if ok { "Il pagamento è stato inviato a pagoPA. L'ente riceverà la ricevuta." }
                        @else { "Il pagamento non è andato a buon fine: nessun importo è stato addebitato." }
                    }
                };
                Ok(ctx.page("Esito del pagamento", body))
            }
        },
        Err(err) => Err(err.into()),
    }
}
