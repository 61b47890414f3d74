//! The cart (in the session, up to five notices; one in upstream mode), the payer's e-mail
//! verification by PIN, the hand over to pagoPA Checkout (or the Region), and the outcome page that
//! waits for the receipts.
//!
//! The return from Checkout is only a hint (reference/pagopa.md §6): the outcome page shows a
//! payment as done only when the receipts of every notice are stored.

use maud::html;

use super::super::Response;
use super::{Ctx, PageError, grouped};
use crate::config::HttpUrl;
use crate::domain::{CartState, Email, NoticeNumber};
use crate::pagopa::checkout;
use crate::services::portal::PortalError;
use crate::services::portal::carts::{self, CartOutcome, NewCart};
use crate::services::portal::pins;
use crate::services::portal::privacy_notices;
use crate::services::upstream::payments as upstream_payments;

/// `GET /carrello`.
pub fn page(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    // Lines that can no longer be paid (paid elsewhere, annulled) leave the cart with a message.
    let mut views = Vec::new();
    let mut kept = Vec::new();
    for line in ctx.session.cart_lines() {
        let checked = NoticeNumber::parse(&line.notice_number)
            .map_err(|_| PortalError::BadCode(carts::CodeProblem::NoticeCheckDigits))
            .and_then(|n| carts::find_payable(&ctx.state.db, &line.org_fiscal_code, &n, ctx.now.today()))
            .and_then(|v| carts::check_add(&views, &v).map(|()| v));
        match checked {
            Ok(view) => {
                kept.push((line.org_fiscal_code, line.notice_number));
                views.push(view);
            }
            Err(err) => {
                let (_, text) = super::describe(&err);
                ctx.session
                    .flash("warning", format!("Avviso {} rimosso dal carrello: {text}", grouped(&line.notice_number)));
            }
        }
    }
    if kept.len() != ctx.session.data.cart.len() {
        ctx.session.data.cart = kept;
        ctx.session.touch();
    }
    let citizen = ctx.session.citizen();
    let verified = citizen.as_ref().and_then(|c| c.email.clone()).or_else(|| ctx.session.data.verified_email.clone());
    let pending = ctx.session.data.pending_email.clone();
    let typed_email = ctx.session.data.typed_email().map(str::to_owned);
    let mut orgs: Vec<(String, String)> = Vec::new();
    for v in &views {
        if !orgs.iter().any(|(ipa, _)| ipa == &v.org.ipa_code) {
            orgs.push((v.org.ipa_code.clone(), v.org.name.clone()));
        }
    }
    let org_ids: Vec<i64> = views.iter().map(|v| v.org.id).collect();
    let shown_notices = privacy_notices::stamp(&ctx.state.db, &org_ids)?;
    let csrf = ctx.csrf();
    let upstream = ctx.state.region.is_some();
    let body = html! {
        h1 { "Carrello" }
        @if views.is_empty() {
            p { "Il carrello è vuoto." }
            p { a href="/avviso" { "Paga un avviso" } " oppure " a href="/" { "scegli un ente" } "." }
        } @else {
            // A list rather than a table: at 360 px every line shows its amount and its button.
            ul class="list-group carrello-righe mb-2" aria-label="Avvisi nel carrello" {
                @for v in &views {
                    @let notice = v.debt.notice_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default();
                    li class="list-group-item" {
                        div class="riga-testo" {
                            strong { (v.debt.causale) } br;
                            (v.org.name) br;
                            "Codice avviso " span class="notice-number" { (grouped(&notice)) }
                        }
                        span class="riga-importo" { (v.amount().format_eur()) }
                        form method="post" action="/carrello/rimuovi" {
                            (csrf)
                            input type="hidden" name="avviso" value=(notice);
                            button type="submit" class="btn btn-link px-0" { "Rimuovi" span class="visually-hidden" { " " (grouped(&notice)) } }
                        }
                    }
                }
            }
            p class="carrello-totale border-top border-bottom" { span { "Totale" } strong { (carts::total(&views).format_eur()) } }
            p class="text-muted" {
                @if upstream { "Si paga un avviso alla volta, sul portale dei pagamenti della Regione." }
                @else { (views.len()) " di " (carts::CART_MAX) " avvisi." }
                " Le commissioni del prestatore di servizi di pagamento ti saranno mostrate da pagoPA."
            }
            h2 class="h4 mt-4" { "E-mail per la ricevuta" }
            @if let Some(email) = &verified {
                p { "La ricevuta sarà inviata a " strong { (email) } "." }
            } @else if let Some(email) = &pending {
                p { "Abbiamo inviato un codice di 6 cifre a " strong { (email) } ". Il codice vale un'ora." }
                form method="post" action="/carrello/pin" class="mb-3" {
                    (csrf)
                    div class="form-group" {
                        label for="pin" class="active" { "Codice di verifica" }
                        input type="text" id="pin" name="pin" class="form-control" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                    }
                    button type="submit" class="btn btn-primary" { "Verifica" }
                }
                form method="post" action="/carrello/email" {
                    (csrf)
                    input type="hidden" name="email" value=(email);
                    button type="submit" class="btn btn-link px-0" { "Invia un nuovo codice" }
                }
                details class="mt-2" {
                    summary { "Usa un altro indirizzo" }
                    form method="post" action="/carrello/email" class="mt-2" {
                        (csrf)
                        div class="form-group" {
                            label for="email" class="active" { "Indirizzo e-mail" }
                            input type="email" id="email" name="email" class="form-control" autocomplete="email" required;
                        }
                        button type="submit" class="btn btn-outline-primary" { "Invia il codice" }
                    }
                }
            } @else {
                p { "Per pagare senza accedere verifica il tuo indirizzo e-mail: ti invieremo un codice di 6 cifre. " a href="/accedi?torna=/carrello" { "Oppure accedi con SPID o CIE." } }
                form method="post" action="/carrello/email" {
                    (csrf)
                    div class="form-group" {
                        label for="email" class="active" { "Indirizzo e-mail" }
                        input type="email" id="email" name="email" class="form-control" autocomplete="email" value=[typed_email.as_deref()] required;
                    }
                    button type="submit" class="btn btn-outline-primary" { "Invia il codice" }
                }
            }
            @if verified.is_some() {
                form method="post" action="/carrello/paga" class="mt-4" {
                    (csrf)
                    input type="hidden" name="informativa" value=(shown_notices);
                    // The links stay outside the label: on a phone, a tap on the label's middle
                    // would open the notice instead of ticking the box.
                    p class="mb-2" {
                        "Informativa sul trattamento dei dati personali: "
                        @for (idx, (ipa, name)) in orgs.iter().enumerate() {
                            @if idx > 0 { ", " }
                            a href={ "/enti/" (ipa) "/privacy" } { (name) }
                        }
                        "."
                    }
                    div class="form-check" {
                        input type="checkbox" id="privacy" name="privacy" value="1" required;
                        label for="privacy" { "Ho letto l'informativa sul trattamento dei dati personali" }
                    }
                    button type="submit" class="btn btn-primary btn-lg" { "Paga con pagoPA" }
                }
            }
        }
    };
    Ok(ctx.page("Carrello", body))
}

/// `POST /carrello/aggiungi` (ente, avviso).
pub fn add(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    if ctx.state.region.is_some() {
        upstream_payments::check_cart_room(ctx.session.data.cart.len())?;
    }
    let (org, code) = (ctx.form.text("ente"), ctx.form.text("avviso"));
    let added =
        carts::parse_notice_code(&ctx.state.db, &org, &code).and_then(|n| super::pay::add_to_cart(ctx, &org, &n));
    match added {
        Ok(()) => {
            carry_typed_email(ctx);
            ctx.session.flash("success", "Avviso aggiunto al carrello.");
            Ok(ctx.redirect("/carrello"))
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /carrello/rimuovi` (avviso).
pub fn remove(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let notice = ctx.form.text("avviso");
    ctx.session.data.cart.retain(|(_, n)| *n != notice);
    ctx.session.touch();
    Ok(ctx.redirect("/carrello"))
}

/// `POST /carrello/email`: mails a PIN to verify the payer's address.
pub fn email(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let Ok(email) = Email::parse(&ctx.form.text("email")) else {
        ctx.session.flash("danger", "Inserisci un indirizzo e-mail valido.");
        return Ok(ctx.redirect("/carrello"));
    };
    send_pin(ctx, &email)?;
    ctx.session.flash("info", "Ti abbiamo inviato un codice di verifica.");
    Ok(ctx.redirect("/carrello"))
}

/// Mails a PIN to `email` and waits for it on this session.
pub(super) fn send_pin(ctx: &mut Ctx<'_>, email: &Email) -> Result<(), PortalError> {
    pins::issue_pin(&ctx.state.db, &ctx.state.links, ctx.session.id_hash(), email.as_str(), ctx.now, |pin| {
        (
            "Codice di verifica per il pagamento pagoPA".to_owned(),
            format!(
                "Il tuo codice di verifica è {pin}.\n\nInseriscilo nella pagina del carrello entro un'ora.\n\
                 Se non hai richiesto tu questo codice, ignora questo messaggio.\n"
            ),
        )
    })?;
    ctx.session.data.pending_email = Some(email.as_str().to_lowercase());
    ctx.session.data.verified_email = None;
    ctx.session.touch();
    Ok(())
}

/// The e-mail the citizen typed in a payment form goes on to the cart: when the cart has no
/// address yet (none verified, none waiting, no logged-in citizen's), its PIN is mailed at once, so
/// the cart asks for the code and not for the address again. A refusal (too many PINs) leaves the
/// address in the cart's form.
pub(super) fn carry_typed_email(ctx: &mut Ctx<'_>) {
    let has_address = ctx.session.citizen().is_some_and(|c| c.email.is_some())
        || ctx.session.data.verified_email.is_some()
        || ctx.session.data.pending_email.is_some();
    let typed = ctx.session.data.typed_email().and_then(|e| Email::parse(e).ok());
    if let (false, Some(email)) = (has_address, typed)
        && let Err(err) = send_pin(ctx, &email)
    {
        tracing::info!(error = %err, "PIN for the typed e-mail not sent");
    }
}

/// `POST /carrello/pin`.
pub fn pin(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    match pins::check_pin(&ctx.state.db, &ctx.state.links, ctx.session.id_hash(), &ctx.form.text("pin"), ctx.now) {
        Ok(email) => {
            ctx.session.data.verified_email = Some(email);
            ctx.session.data.pending_email = None;
            ctx.session.flash("success", "Indirizzo e-mail verificato.");
            Ok(ctx.redirect("/carrello"))
        }
        Err(err) => {
            let (_, text) = super::describe(&err);
            ctx.session.flash("danger", text);
            Ok(ctx.redirect("/carrello"))
        }
    }
}

/// `POST /carrello/paga`: records the cart and sends the browser to pagoPA Checkout.
pub fn pay(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    if ctx.form.get("privacy") != Some("1") {
        ctx.session.flash("danger", "Per pagare devi dichiarare di aver letto l'informativa privacy.");
        return Ok(ctx.redirect("/carrello"));
    }
    let citizen = ctx.session.citizen();
    let email = citizen.as_ref().and_then(|c| c.email.clone()).or_else(|| ctx.session.data.verified_email.clone());
    let Some(email) = email else {
        ctx.session.flash("danger", "Verifica il tuo indirizzo e-mail prima di pagare.");
        return Ok(ctx.redirect("/carrello"));
    };
    let views = match carts::load_cart(&ctx.state.db, &ctx.session.cart_lines(), ctx.now.today()) {
        Ok(views) if !views.is_empty() => views,
        Ok(_) => return Err(PortalError::EmptyCart.into()),
        Err(err) => return Err(err.into()),
    };
    let shown_notices = ctx.form.get("informativa").unwrap_or_default().to_owned();
    let new = NewCart {
        session_hash: ctx.session.id_hash(),
        payer_email: Some(&email),
        citizen_id: citizen.as_ref().map(|c| c.fiscal_code.as_str()),
        shown_notices: Some(&shown_notices),
    };
    if let Some(region) = super::upstream::region(ctx) {
        // Upstream mode: the Region, not Checkout (services::upstream::payments).
        let back = super::upstream::back_url(ctx);
        let url = upstream_payments::pay_notices(&ctx.state.db, region, &views, &new, &back, ctx.now)?;
        return Ok(ctx.redirect(&url));
    }
    let cart = match carts::prepare_cart(&ctx.state.db, &views, &new, ctx.now) {
        Ok(cart) => cart,
        Err(err @ PortalError::NoticeChanged) => {
            // The cart page shows the notices again, with their new versions.
            let (_, text) = super::describe(&err);
            ctx.session.flash("warning", text);
            return Ok(ctx.redirect("/carrello"));
        }
        Err(err) => return Err(err.into()),
    };
    let base = ctx.public_url();
    let request = checkout::Cart {
        notices: checkout::CartNotice::of_views(&views),
        return_urls: checkout::ReturnUrls {
            ok: format!("{base}/carrello/esito/{}", cart.token),
            cancel: format!("{base}/carrello/annullato/{}", cart.token),
            error: format!("{base}/carrello/errore/{}", cart.token),
            waiting: None,
        },
        id_cart: Some(cart.token.clone()),
        email: Some(email),
        all_ccp: false,
    };
    let node = &ctx.state.config.node;
    let base_url = node.base_url.as_ref().map_or("", HttpUrl::as_str);
    match checkout::create_cart(base_url, node.subscription_key.expose(), &request, false) {
        Ok(url) => {
            if let Err(err) = carts::cart_sent(&ctx.state.db, cart.id, Some(&url), ctx.now) {
                return Err(err.into());
            }
            tracing::info!(cart = %cart.token, "cart sent to Checkout");
            Ok(ctx.redirect(&url))
        }
        Err(err) => {
            tracing::error!(error = %err, "Checkout refused or unreachable");
            let _ = carts::cart_sent(&ctx.state.db, cart.id, None, ctx.now);
            ctx.session.flash("danger", "Il servizio pagoPA non è raggiungibile in questo momento. Nessun pagamento è stato effettuato: riprova tra qualche minuto.");
            Ok(ctx.redirect("/carrello"))
        }
    }
}

/// The cart with this token, if it belongs to the session.
fn own_cart(ctx: &Ctx<'_>, token: &str) -> Result<Option<CartOutcome>, PortalError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(carts::cart_outcome(&ctx.state.db, token)?.filter(|o| o.cart.session_hash == ctx.session.id_hash()))
}

/// `GET /carrello/esito/{token}`: waits for the receipts, then shows the outcome.
pub fn outcome(ctx: &mut Ctx<'_>, token: &str) -> Result<Response, PageError> {
    let found = match own_cart(ctx, token) {
        Ok(Some(found)) => found,
        Ok(None) => return Err(PageError::NotFound),
        Err(err) => return Err(err.into()),
    };
    if !found.paid {
        let status_url = format!("/carrello/stato/{token}");
        let body = html! {
            h1 { "Stiamo verificando il pagamento" }
            div id="attesa-esito" data-status-url=(status_url) aria-live="polite" {
                div class="d-flex align-items-center gap-3 my-4" {
                    div class="progress-spinner progress-spinner-active" { span class="visually-hidden" { "Verifica in corso" } }
                    p class="mb-0" { "Attendiamo da pagoPA la ricevuta del pagamento. Di solito serve qualche secondo." }
                }
            }
            p { "Se la pagina non si aggiorna da sola, " a href={ "/carrello/esito/" (token) } { "aggiornala" } "." }
        };
        return Ok(ctx.page_with(200, "Verifica del pagamento", body, vec!["mypay-portal.js"]));
    }
    if found.cart.state != CartState::Paid {
        let base = ctx.public_url();
        let links: Vec<String> = found
            .receipts
            .iter()
            .map(|r| {
                format!(
                    "- {} {}: {base}{}",
                    r.company_name,
                    r.amount_cents.format_eur(),
                    ctx.state.links.receipt_url(r.id, ctx.now)
                )
            })
            .collect();
        let body = format!(
            "Grazie, il pagamento è stato eseguito.\n\nPuoi consultare e scaricare le ricevute a questi indirizzi:\n{}\n",
            links.join("\n")
        );
        let mail = found.cart.payer_email.as_deref().map(|to| (to, "Ricevuta del pagamento pagoPA", body.as_str()));
        if let Err(err) = carts::cart_paid(&ctx.state.db, found.cart.id, mail, ctx.now) {
            return Err(err.into());
        }
        let paid: Vec<String> =
            found.cart.items.iter().filter_map(|i| i.notice_number.as_ref()).map(|n| n.as_str().to_owned()).collect();
        ctx.session.data.cart.retain(|(_, n)| !paid.contains(n));
        ctx.session.touch();
    }
    let body = html! {
        h1 { "Pagamento eseguito" }
        div class="alert alert-success" role="alert" {
            "Il pagamento di " strong { (found.cart.total_cents.format_eur()) } " è stato eseguito e le ricevute sono arrivate all'ente."
            @if let Some(email) = &found.cart.payer_email { " Ti abbiamo inviato i collegamenti alle ricevute all'indirizzo " (email) "." }
        }
        h2 class="h4" { "Ricevute" }
        ul class="list-group" {
            @for r in &found.receipts {
                li class="list-group-item" {
                    a href={ "/ricevute/" (r.id) } { (r.company_name) " — " (r.description) } " — " (r.amount_cents.format_eur())
                }
            }
        }
    };
    Ok(ctx.page("Pagamento eseguito", body))
}

/// `GET /carrello/stato/{token}`: JSON for the outcome page's script.
pub fn status(ctx: &mut Ctx<'_>, token: &str) -> Result<Response, PageError> {
    match own_cart(ctx, token) {
        Ok(Some(found)) => {
            Ok(Response::json(200, &serde_json::json!({ "paid": found.paid, "state": found.cart.state.code() })))
        }
        Ok(None) => Ok(Response::json(404, &serde_json::json!({ "error": "not found" }))),
        Err(err) => {
            tracing::error!(error = %err, "cart status");
            Ok(Response::json(500, &serde_json::json!({ "error": "internal" })))
        }
    }
}

/// `GET /carrello/annullato/{token}` and `/carrello/errore/{token}`: back to the cart.
pub fn abandoned(ctx: &mut Ctx<'_>, token: &str, cancelled: bool) -> Result<Response, PageError> {
    let found = match own_cart(ctx, token) {
        Ok(Some(found)) => found,
        Ok(None) => return Err(PageError::NotFound),
        Err(err) => return Err(err.into()),
    };
    if found.paid {
        // The receipts say otherwise: trust them, not the browser's return.
        return Ok(ctx.redirect(&format!("/carrello/esito/{token}")));
    }
    if found.cart.state == CartState::InPayment
        && let Err(err) = carts::cart_abandoned(&ctx.state.db, found.cart.id, cancelled, ctx.now)
    {
        return Err(err.into());
    }
    if cancelled {
        ctx.session.flash(
            "warning",
            "Hai annullato il pagamento: nessun importo è stato addebitato. Gli avvisi sono ancora nel carrello.",
        );
    } else {
        ctx.session.flash(
            "danger",
            "Il pagamento non è andato a buon fine: nessun importo è stato addebitato. Puoi riprovare.",
        );
    }
    Ok(ctx.redirect("/carrello"))
}
