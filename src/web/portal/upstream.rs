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

/// The portal's payment steps in upstream mode, driven in process like a browser (cookie, CSRF
/// tokens read from the pages) against a Region double.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use std::sync::Arc;

    use super::super::super::body::{Body, EMPTY};
    use super::super::super::router::{self, BodySource, Request};
    use super::super::super::{AppState, Region, Response};
    use super::encode;
    use crate::config::{Config, Mode, RawConfig};
    use crate::services::admin::orgs::{OrgChanges, set_org};
    use crate::services::links::Links;
    use crate::services::testkit::{FISCAL_CODE, IPA, Kit};
    use crate::services::upstream::payments::RegionOutcome;
    use crate::services::upstream::payments::double::{Call, Double, ID_SESSION, URL};

    struct Bytes(Vec<u8>);

    impl BodySource for Bytes {
        fn read(&mut self) -> Result<Body, Response> {
            Body::read(&mut self.0.as_slice(), 1 << 16).map_err(|_| Response::empty(413))
        }
    }

    /// A portal in upstream mode on the kit's database (two `TARI` notices, `D1` and `D2`), and a
    /// browser on it.
    struct Browser {
        _dir: tempfile::TempDir,
        state: Arc<AppState>,
        cookie: Option<String>,
        notices: Vec<(String, String)>,
    }

    impl Browser {
        fn new(region: Arc<Double>) -> Browser {
            let kit = Kit::new();
            let spontaneous =
                OrgChanges { functionalities: Some(vec!["PAGAMENTO_SPONTANEO".to_owned()]), ..OrgChanges::default() };
            set_org(&kit.db, "test", IPA, &spontaneous, kit.now).unwrap();
            let notices = ["D1", "D2"]
                .iter()
                .map(|iud| {
                    let debt = kit.debt(iud, 1500);
                    (Kit::notice(&debt).as_str().to_owned(), debt.iuv.unwrap().as_str().to_owned())
                })
                .collect();
            let (dir, db, _) = kit.into_parts();
            let config = Config::validate(RawConfig::default(), Mode::Demo, Vec::new()).unwrap();
            let links = Links::load(&db);
            let region = Region { payments: region, origin: "https://mypay.regione.example".to_owned() };
            let state = AppState::new(config, db, links, true, Some(region));
            Browser { _dir: dir, state, cookie: None, notices }
        }

        fn call(&mut self, method: &str, target: &str, form: &[(&str, &str)]) -> Response {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let mut headers = Vec::new();
            if let Some(cookie) = &self.cookie {
                headers.push(("cookie".to_owned(), format!("mypay_sid={cookie}")));
            }
            if method == "POST" {
                headers.push(("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()));
            }
            let body: Vec<String> = form.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect();
            let head = Request {
                method,
                path,
                query,
                headers: &headers,
                body: &EMPTY,
                node_trusted: false,
                peer: None,
                tcp_peer: None,
            };
            let target = router::route(method, path);
            let response = router::dispatch(&self.state, &target, &head, &mut Bytes(body.join("&").into_bytes()));
            for (name, value) in &response.headers {
                if let Some(cookie) = value.strip_prefix("mypay_sid=").filter(|_| *name == "Set-Cookie") {
                    self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
                }
            }
            response
        }

        fn get(&mut self, target: &str) -> (u16, String) {
            let response = self.call("GET", target, &[]);
            (response.status, String::from_utf8(response.body).unwrap())
        }

        /// Posts `form` to `action` with the CSRF token of page `from` (and the notices' versions
        /// the cart page shows, as a browser sends them).
        fn submit(&mut self, from: &str, action: &str, form: &[(&str, &str)]) -> Response {
            let (_, page) = self.get(from);
            let value_of = |name: &str| {
                let marker = format!("name=\"{name}\" value=\"");
                page.find(&marker).map(|at| page[at + marker.len()..].split('"').next().unwrap_or_default().to_owned())
            };
            let csrf = value_of("csrf").unwrap_or_else(|| panic!("no CSRF token in {page}"));
            let shown = value_of("informativa");
            let mut form = form.to_vec();
            form.push(("csrf", &csrf));
            if let Some(shown) = &shown {
                form.push(("informativa", shown));
            }
            self.call("POST", action, &form)
        }
    }

    fn location(response: &Response) -> &str {
        response.headers.iter().find(|(n, _)| *n == "Location").map_or("", |(_, v)| v.as_str())
    }

    fn text(response: Response) -> String {
        String::from_utf8(response.body).unwrap()
    }

    const FORM: &str = "/spontaneo?codIpaEnte=c_prova&codTipo=CERT";

    fn pay_spontaneous(b: &mut Browser) -> Response {
        let form = [
            ("codIpaEnte", IPA),
            ("codTipo", "CERT"),
            ("causale", "Certificato anagrafico"),
            ("tipo_soggetto", "F"),
            ("codice_fiscale", "RSSMRA85T10A562S"),
            ("anagrafica", "Mario Rossi"),
            ("azione", "paga"),
        ];
        b.submit(FORM, "/spontaneo", &form)
    }

    #[test]
    fn a_spontaneous_payment_goes_to_the_region_and_its_return_asks_the_region() {
        let region = Arc::new(Double::new());
        let mut b = Browser::new(region.clone());
        assert!(b.get(FORM).1.contains("Paga ora"));
        let sent = pay_spontaneous(&mut b);
        assert_eq!((sent.status, location(&sent)), (303, URL));
        let Call::Dovuti { ipa, iuvs, back, .. } = &region.calls()[0] else { panic!("{:?}", region.calls()) };
        assert_eq!((ipa.as_str(), iuvs.as_slice()), (IPA, [None].as_slice()));
        assert!(back.ends_with("/upstream/ritorno"), "{back}");

        // Back with esito=OK while the Region says in progress: the portal's waiting page.
        let query = format!("/upstream/ritorno?idSession={ID_SESSION}&esito=OK&pollingToken=eyJ.x.y");
        let back = b.call("GET", &query, &[]);
        assert_eq!(back.status, 303);
        assert!(location(&back).starts_with("/carrello/esito/"), "{}", location(&back));
        let (status, waiting) = b.get(location(&back));
        assert!(status == 200 && waiting.contains("Stiamo verificando il pagamento"), "{waiting}");
        // Another browser with the same query learns nothing more, and nothing is paid.
        let mut other = Browser { cookie: None, ..b };
        let (status, page) = other.get(&query);
        assert!(status == 200 && page.contains("Pagamento in corso") && !page.contains("eseguito"), "{page}");
        // The Region says not paid: the cart is closed and the citizen told so.
        region.set_outcome(Ok(RegionOutcome::NotPaid));
        let (status, page) = other.get(&query);
        assert!(status == 200 && page.contains("Pagamento non eseguito"), "{page}");
    }

    #[test]
    fn a_region_that_does_not_answer_gives_a_clear_page() {
        let mut b = Browser::new(Arc::new(Double::down()));
        let refused = pay_spontaneous(&mut b);
        assert_eq!(refused.status, 503);
        assert!(text(refused).contains("Il servizio della Regione non risponde"));
    }

    #[test]
    fn a_notice_is_paid_through_the_region_one_at_a_time() {
        let region = Arc::new(Double::new());
        let mut b = Browser::new(region.clone());
        let [(first, iuv), (second, _)] = <[_; 2]>::try_from(b.notices.clone()).unwrap();
        let added = b.submit("/avviso", "/carrello/aggiungi", &[("ente", FISCAL_CODE), ("avviso", &first)]);
        assert_eq!(added.status, 303);
        assert!(b.get("/carrello").1.contains("Si paga un avviso alla volta"));
        let refused = b.submit("/avviso", "/carrello/aggiungi", &[("ente", FISCAL_CODE), ("avviso", &second)]);
        assert_eq!(refused.status, 409);
        assert!(text(refused).contains("si paga un avviso alla volta"));
        assert_eq!(b.submit("/carrello", "/carrello/email", &[("email", "mario@example.it")]).status, 303);
        let (_, outbox) = b.get("/dev/outbox");
        let marker = "codice di verifica è ";
        let at = outbox.find(marker).expect("a PIN mail") + marker.len();
        let pin = outbox[at..at + 6].to_owned();
        assert_eq!(b.submit("/carrello", "/carrello/pin", &[("pin", &pin)]).status, 303);
        let paid = b.submit("/carrello", "/carrello/paga", &[("privacy", "1")]);
        assert_eq!((paid.status, location(&paid)), (303, URL));
        assert_eq!(region.calls(), [Call::Avviso { ipa: IPA.to_owned(), iuv }]);
    }
}
