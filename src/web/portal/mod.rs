//! The citizen portal's pages: orgs and their spontaneous payments, paying a notice, the cart and
//! pagoPA Checkout, the outcome read from the receipts, receipts, the citizen's own area, and the
//! privacy pages.
//!
//! Every handler takes a [`Ctx`] built by [`call`], which has already loaded the session and
//! checked the route's guard: the CSRF token of a form submission, a citizen's login where the
//! route needs one. Handlers parse, authorize, call a service and render; [`error_page`] is the one
//! mapping of portal errors to Italian pages.

pub mod account;
pub mod cart;
pub mod home;
pub mod info;
pub mod pay;
pub mod sil;

use maud::{Markup, html};

use super::forms::Form;
use super::router::{self, Auth, Params, PortalFn, Request, Route};
use super::session::Session;
use super::ui::layout::{self, Chrome};
use super::{AppState, Response, authz, ui};
use crate::domain::Cents;
use crate::services::ServiceError;
use crate::services::payments::PaymentError;
use crate::services::portal::PortalError;

/// What a portal handler works with.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub request: &'a Request<'a>,
    pub session: &'a mut Session,
    /// The POST body, or the query of a GET.
    pub form: Form,
    /// The query string, also for POSTs.
    pub query: Form,
    pub now: jiff::Timestamp,
}

impl Ctx<'_> {
    /// A 200 page on the portal's layout.
    pub fn page(&mut self, title: &str, main: Markup) -> Response {
        self.page_with(200, title, main, Vec::new())
    }

    /// A page with a status and extra scripts.
    pub fn page_with(&mut self, status: u16, title: &str, main: Markup, scripts: Vec<&'static str>) -> Response {
        let citizen = self.session.citizen();
        let chrome = Chrome {
            flash: self.session.take_flash(),
            csrf: citizen.as_ref().map(|_| self.session.csrf_token().to_owned()),
            citizen: citizen.map(|c| if c.name.is_empty() { c.fiscal_code } else { c.name }),
            cart_count: self.session.data.cart.len(),
            scripts,
            nav: true,
        };
        Response::html(status, layout::shell(title, &chrome, main))
    }

    /// 303 to `location` (after a POST, or to the next step).
    pub fn redirect(&self, location: &str) -> Response {
        Response::empty(303).with_header("Location", location.to_owned()).with_header("Cache-Control", "no-store")
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.session.csrf_token()); }
    }

    pub fn today(&self) -> jiff::civil::Date {
        crate::clock::today_rome(self.now)
    }

    pub fn iso_now(&self) -> String {
        crate::clock::iso(self.now)
    }

    /// The public base URL (no trailing slash).
    pub fn public_url(&self) -> String {
        self.state.config.server.public_base().to_owned()
    }
}

/// Runs a portal page: loads the session, reads the form (the body of a POST, the query of a GET),
/// refuses a form POST whose CSRF token is missing or wrong before any handler runs, sends a
/// visitor to the login page where the route needs a citizen, then stores the session and sets its
/// cookie.
pub(super) fn call(
    state: &AppState,
    route: &Route,
    params: &Params,
    request: &Request<'_>,
    page: PortalFn,
) -> Response {
    router::with_session(state, request, |session, now| {
        let raw = if request.method == "POST" { request.body } else { request.query.as_bytes() };
        let form = match Form::parse(raw) {
            Ok(form) => form,
            Err(err) => {
                tracing::info!(error = %err, "unreadable form");
                return Err(ui::errors::bad_request("I dati inviati non sono leggibili."));
            }
        };
        let query = Form::parse(request.query.as_bytes()).unwrap_or_default();
        if route.guard.csrf {
            let is_form = request.header("content-type").is_some_and(|ct| {
                ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
            });
            if !is_form || !form.get("csrf").is_some_and(|token| session.csrf_matches(token)) {
                tracing::warn!(target: "security", page = route.name, "form refused: missing or wrong CSRF token");
                return Err(ui::errors::forbidden_form());
            }
        }
        let mut ctx = Ctx { state, request, session, form, query, now };
        if route.guard.auth == Auth::Citizen && authz::citizen(ctx.session).is_err() {
            return Ok(account::login_needed(&mut ctx));
        }
        Ok(page(&mut ctx, params))
    })
}

/// The Italian sentence for a portal error, and its status.
pub fn describe(err: &PortalError) -> (u16, String) {
    let text = |s: &str| s.to_owned();
    match err {
        PortalError::Payment(p) => match p {
            PaymentError::UnknownOrg(_) => {
                (404, text("L'ente indicato non è servito da questo portale. Controlla il codice fiscale dell'ente."))
            }
            PaymentError::UnknownNotice(_) => {
                (404, text("Non abbiamo trovato un avviso con questo codice per l'ente indicato."))
            }
            PaymentError::AlreadyPaid(_) => (409, text("Questo avviso risulta già pagato.")),
            PaymentError::Annulled(_) => {
                (409, text("Questo avviso è stato annullato dall'ente e non può essere pagato."))
            }
            PaymentError::Expired(_) => {
                (409, text("Questo avviso è scaduto e non può più essere pagato. Contatta l'ente."))
            }
            PaymentError::Semantic(_) | PaymentError::Store(_) => {
                (500, text("Non è stato possibile verificare l'avviso. Riprova più tardi."))
            }
        },
        PortalError::BadNoticeCode => (400, text("Il codice avviso deve avere 18 cifre (oppure indica lo IUV).")),
        PortalError::CartFull => (
            409,
            text(
                "Il carrello contiene già 5 avvisi, il massimo consentito da pagoPA. Paga questi prima di aggiungerne altri.",
            ),
        ),
        PortalError::MultiBeneficiary => (
            409,
            text(
                "Un avviso destinato a più enti deve essere pagato da solo: svuota il carrello o pagalo separatamente.",
            ),
        ),
        PortalError::AlreadyInCart => (409, text("L'avviso è già nel carrello.")),
        PortalError::EmptyCart => (400, text("Il carrello è vuoto.")),
        PortalError::PinRateLimited => (429, text("Hai richiesto troppi codici di verifica. Riprova tra un'ora.")),
        PortalError::PinWrong => (400, text("Il codice di verifica non è corretto.")),
        PortalError::PinExpired => (400, text("Il codice di verifica è scaduto: richiedine uno nuovo.")),
        PortalError::PinUsed => (400, text("Il codice di verifica è già stato usato: richiedine uno nuovo.")),
        PortalError::PinDead => (400, text("Troppi tentativi errati: richiedi un nuovo codice di verifica.")),
        PortalError::Service(s) => match s {
            ServiceError::NotFound(_) => (404, text("L'elemento richiesto non esiste.")),
            ServiceError::Invalid { .. } | ServiceError::Rejected(_) | ServiceError::Conflict(_) => {
                (400, text("I dati inseriti non sono validi."))
            }
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                (500, text("Si è verificato un errore del servizio. Riprova più tardi."))
            }
        },
    }
}

/// The one error page of the portal.
pub fn error_page(ctx: &mut Ctx<'_>, err: &PortalError) -> Response {
    let (status, text) = describe(err);
    if status >= 500 {
        tracing::error!(error = %err, "portal error");
    } else {
        tracing::info!(error = %err, "portal request refused");
    }
    ctx.page_with(
        status,
        "Operazione non riuscita",
        html! {
            h1 { "Operazione non riuscita" }
            div class="alert alert-danger" role="alert" { (text) }
            p { a href="/" { "Torna alla pagina iniziale" } " · " a href="/carrello" { "Vai al carrello" } }
        },
        Vec::new(),
    )
}

/// Component: an amount as `€ 1.234,56`.
pub fn euro(cents: i64) -> String {
    Cents::new(cents).format_eur()
}

/// Component: a notice number grouped by four.
pub fn grouped(notice: &str) -> String {
    crate::domain::NoticeNumber::parse(notice).map(|n| n.grouped()).unwrap_or_else(|_| notice.to_owned())
}
