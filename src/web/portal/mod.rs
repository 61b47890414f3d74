//! The citizen portal's pages: orgs and their spontaneous payments, paying a notice, the cart and
//! pagoPA Checkout (in upstream mode the regional MyPay, `upstream`), the outcome read from the
//! receipts, receipts, the citizen's own area, and the privacy pages.
//!
//! Every handler takes a [`Ctx`] built by [`call`], which has already loaded the session and
//! checked the route's guard: the CSRF token of a form submission, a citizen's login where the
//! route needs one. Handlers parse, authorize, call a service and render, or return a
//! [`PageError`]; `errors::error_response` is the one mapping of portal errors to Italian pages.

pub mod account;
pub mod cart;
mod errors;
pub mod home;
pub mod info;
pub mod pay;
pub mod sil;
pub mod upstream;

use maud::{Markup, html};

use super::forms::Form;
use super::router::{self, Auth, BodySource, Params, PortalFn, Request, Route};
use super::session::Session;
use super::ui::layout::{self, Chrome};
use super::{AppState, Response, authz, ui};
use crate::clock::Now;

pub use errors::{PageError, describe, upstream_refused};

/// What a portal handler works with.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub request: &'a Request<'a>,
    pub session: &'a mut Session,
    /// The POST body, or the query of a GET.
    pub form: Form,
    /// The query string, also for POSTs.
    pub query: Form,
    /// When the request arrived, read once: its stored times and its Europe/Rome day.
    pub now: Now,
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

    /// The public base URL (no trailing slash).
    pub fn public_url(&self) -> String {
        self.state.config.server.public_base().to_owned()
    }
}

/// Runs a portal page: loads the session; on the head, refuses a form POST that has no session to
/// match its CSRF token and sends a visitor to the login page where the route needs a citizen;
/// then reads the form (the body of a POST, the query of a GET), refuses a form POST whose CSRF
/// token is missing or wrong before any handler runs, and finally stores the session and sets its
/// cookie.
pub(super) fn call(
    state: &AppState,
    route: &Route,
    params: &Params,
    head: &Request<'_>,
    body: &mut dyn BodySource,
    page: PortalFn,
) -> Response {
    router::with_session(state, head, |session, now| {
        let query = Form::parse(head.query.as_bytes()).unwrap_or_default();
        if route.guard.csrf && session.is_fresh() {
            tracing::warn!(target: "security", page = route.name, "form refused: no session, so no CSRF token");
            return Err(ui::errors::forbidden_form());
        }
        if route.guard.auth == Auth::Citizen && authz::citizen(session).is_err() {
            let mut ctx = Ctx { state, request: head, session, form: Form::default(), query, now };
            return Ok(errors::error_response(&mut ctx, PageError::LoginNeeded));
        }
        let body = body.read()?;
        let request = &head.with_body(&body);
        let raw = if request.method == "POST" { request.body.bytes() } else { request.query.as_bytes() };
        let form = match Form::parse(raw) {
            Ok(form) => form,
            Err(err) => {
                tracing::info!(error = %err, "unreadable form");
                return Err(ui::errors::bad_request("I dati inviati non sono leggibili."));
            }
        };
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
        let shown = page(&mut ctx, params);
        Ok(shown.unwrap_or_else(|err| errors::error_response(&mut ctx, err)))
    })
}

/// Component: a notice number grouped by four.
pub fn grouped(notice: &str) -> String {
    crate::domain::NoticeNumber::parse(notice).map(|n| n.grouped()).unwrap_or_else(|_| notice.to_owned())
}
