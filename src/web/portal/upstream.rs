//! Upstream mode's side of the portal: the browser's return from the regional MyPay
//! (`GET /upstream/ritorno?idSession=&esito=&pollingToken=`, MyPay's back URL of §4.3 step 4), and
//! what the payment steps share (the Region's port, the back URL given to it).
//!
//! The return trusts nothing it carries: the idSession only finds a cart the box sent to the
//! Region (anything else is "not found"), the outcome is asked of the Region and read from the
//! stored receipts, `esito` is at most a hint passed on to a SIL, and `pollingToken` is neither read
//! nor logged.

use maud::html;

use super::super::Response;
use super::super::forms::encode;
use super::{Ctx, PageError};
use crate::services::upstream::payments::{self, RegionPayments, Verdict};

/// The Region's port, in upstream mode.
pub fn region<'a>(ctx: &Ctx<'a>) -> Option<&'a dyn RegionPayments> {
    ctx.state.region.as_ref().map(|r| r.payments.as_ref())
}

/// Where the Region sends the browser back (MyPay adds `?idSession=&esito=&pollingToken=`).
pub fn back_url(ctx: &Ctx<'_>) -> String {
    format!("{}/upstream/ritorno", ctx.public_url())
}

/// `GET /upstream/ritorno`: the browser is back from the Region.
pub fn back(ctx: &mut Ctx<'_>) -> Result<Response, PageError> {
    let id_session = ctx.query.text("idSession");
    let hint_ok = ctx.query.get("esito") == Some("OK");
    let region = region(ctx);
    let Some(found) = payments::returned(&ctx.state.db, &ctx.state.links, region, &id_session, hint_ok, ctx.now)?
    else {
        let body = html! {
            h1 { "Pagamento non trovato" }
            div class="alert alert-warning upstream-esito" role="alert" {
                "Non troviamo il pagamento indicato. Se hai pagato presso la Regione, la ricevuta arriverà all'ente: non ripetere il pagamento."
            }
            p { a href="/" { "Torna alla pagina iniziale" } }
        };
        return Ok(ctx.page_with(404, "Pagamento non trovato", body, Vec::new()));
    };
    if let Some(url) = found.sil.as_ref().and_then(|b| b.url.as_deref()) {
        return Ok(ctx.redirect(url));
    }
    let own = found.cart.session_hash == ctx.session.id_hash();
    let token = &found.cart.token;
    match found.verdict {
        // The portal's own outcome page: the receipts, the mail, the cart emptied.
        Verdict::Paid if own => return Ok(ctx.redirect(&format!("/carrello/esito/{token}"))),
        Verdict::Pending if own && found.unverified.is_none() => {
            return Ok(ctx.redirect(&format!("/carrello/esito/{token}")));
        }
        Verdict::NotPaid | Verdict::Cancelled if own => {
            ctx.session.flash("warning", not_paid_text(found.verdict));
            return Ok(ctx.redirect("/carrello"));
        }
        _ => {}
    }
    let again = format!("/upstream/ritorno?idSession={}", encode(&id_session));
    let (status, title, class, text) = match found.verdict {
        Verdict::Paid => (
            200,
            "Pagamento eseguito",
            "alert-success",
            "Il pagamento risulta eseguito e la ricevuta è arrivata all'ente.",
        ),
        Verdict::NotPaid | Verdict::Cancelled => {
            (200, "Pagamento non eseguito", "alert-warning", not_paid_text(found.verdict))
        }
        Verdict::Pending if found.unverified.is_some() => (
            503,
            "Esito non ancora disponibile",
            "alert-danger",
            "Il servizio della Regione non risponde: non possiamo ancora verificare l'esito del pagamento. Se hai pagato, non ripetere il pagamento: la ricevuta arriverà all'ente. Riprova tra qualche minuto.",
        ),
        Verdict::Pending => (
            200,
            "Pagamento in corso",
            "alert-info",
            "La Regione non ha ancora confermato il pagamento. Se hai pagato, non ripetere il pagamento: la ricevuta arriverà all'ente. Puoi verificare di nuovo tra qualche minuto.",
        ),
    };
    let body = html! {
        h1 { (title) }
        div class={ "alert upstream-esito " (class) } role="alert" { (text) }
        p {
            @if found.verdict == Verdict::Pending { a href=(again) { "Verifica di nuovo" } " · " }
            a href="/" { "Torna alla pagina iniziale" }
        }
    };
    Ok(ctx.page_with(status, title, body, Vec::new()))
}

fn not_paid_text(verdict: Verdict) -> &'static str {
    if verdict == Verdict::Cancelled {
        "Hai annullato il pagamento: nessun importo è stato addebitato."
    } else {
        "Il pagamento non è andato a buon fine: nessun importo è stato addebitato. Puoi riprovare."
    }
}
