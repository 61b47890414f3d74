//! The operators' back office: login (argon2id, lockout), the orgs an operator may work on, debt
//! flow uploads with their results, and receipt exports.
//!
//! Every handler takes a [`BoCtx`] built by `router::backoffice_call`, which loaded the session and
//! checked the CSRF token of every form POST (urlencoded or multipart). A handler that works on an
//! org first obtains an `authz::OperatorGrant`, so a missing check does not compile; imports and
//! exports of an operator (not an admin) are filtered by the debt types enabled for them.

mod exports;
mod flows;
mod login;

use maud::{Markup, html};

use super::forms::Form;
use super::multipart::Part;
use super::session::Session;
use super::ui::layout::{self, Chrome};
use super::{AppState, Response, authz, ui};

/// The back office's pages. `*Post` variants are form submissions (CSRF-checked by the router).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoPage {
    Home,
    Login,
    LoginPost,
    LogoutPost,
    Imports(String),
    ImportPost(String),
    /// (org, import id, `scarti` | `iuv` | `avvisi`).
    ImportFile(String, String, String),
    Exports(String),
    ExportPost(String),
    ExportFile(String, String),
}

impl BoPage {
    pub fn is_form_post(&self) -> bool {
        matches!(self, BoPage::LoginPost | BoPage::LogoutPost | BoPage::ImportPost(_) | BoPage::ExportPost(_))
    }

    pub fn name(&self) -> &'static str {
        match self {
            BoPage::Home => "bo_home",
            BoPage::Login | BoPage::LoginPost | BoPage::LogoutPost => "bo_login",
            BoPage::Imports(_) | BoPage::ImportPost(_) | BoPage::ImportFile(..) => "bo_imports",
            BoPage::Exports(_) | BoPage::ExportPost(_) | BoPage::ExportFile(..) => "bo_exports",
        }
    }
}

/// What a back-office handler works with.
pub struct BoCtx<'a> {
    pub state: &'a AppState,
    pub session: &'a mut Session,
    /// An urlencoded POST body or the query of a GET.
    pub form: Form,
    /// The parts of a multipart POST.
    pub parts: Vec<Part<'a>>,
    pub now: jiff::Timestamp,
}

impl BoCtx<'_> {
    /// A page on the common layout, with the back office's navigation.
    pub fn page(&mut self, title: &str, main: Markup) -> Response {
        self.page_with(200, title, main)
    }

    pub fn page_with(&mut self, status: u16, title: &str, main: Markup) -> Response {
        let chrome = Chrome { flash: self.session.take_flash(), nav: false, ..Chrome::default() };
        let csrf = self.session.csrf_token().to_owned();
        let operator = self.session.operator().map(str::to_owned);
        let body = html! {
            nav class="d-flex flex-wrap align-items-center justify-content-between mb-4 border-bottom pb-2" aria-label="Area operatori" {
                a href="/operatore" class="fw-semibold" { "Area operatori" }
                @if let Some(name) = &operator {
                    form method="post" action="/operatore/esci" class="d-flex align-items-center gap-2" {
                        span { "Operatore: " strong { (name) } }
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" class="btn btn-outline-primary btn-sm" { "Esci" }
                    }
                }
            }
            (main)
        };
        Response::html(status, layout::shell(title, &chrome, body))
    }

    /// 303 to `location`.
    pub fn redirect(&self, location: &str) -> Response {
        Response::empty(303).with_header("Location", location.to_owned()).with_header("Cache-Control", "no-store")
    }

    /// The hidden CSRF field of every form.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.session.csrf_token()); }
    }

    /// The operator's grant on `ipa`, or the page that says why not.
    pub fn grant(&mut self, ipa: &str) -> Result<authz::OperatorGrant, Response> {
        match authz::operator(&self.state.db, self.session, ipa) {
            Ok(grant) => Ok(grant),
            Err(authz::Deny::NotLoggedIn) => Err(self.redirect("/operatore/accedi")),
            Err(authz::Deny::NotYours) => Err(ui::errors::forbidden("Non sei abilitato a operare su questo ente.")),
        }
    }
}

/// Runs the page's handler.
pub fn handle(ctx: &mut BoCtx<'_>, page: &BoPage) -> Response {
    match page {
        BoPage::Home => home(ctx),
        BoPage::Login => login::form(ctx, None),
        BoPage::LoginPost => login::post(ctx),
        BoPage::LogoutPost => login::logout(ctx),
        BoPage::Imports(ipa) => flows::list(ctx, ipa),
        BoPage::ImportPost(ipa) => flows::upload(ctx, ipa),
        BoPage::ImportFile(ipa, id, kind) => flows::file(ctx, ipa, id, kind),
        BoPage::Exports(ipa) => exports::list(ctx, ipa),
        BoPage::ExportPost(ipa) => exports::request(ctx, ipa),
        BoPage::ExportFile(ipa, id) => exports::file(ctx, ipa, id),
    }
}

/// `GET /operatore`: the orgs the operator may open.
fn home(ctx: &mut BoCtx<'_>) -> Response {
    let orgs = match authz::operator_orgs(&ctx.state.db, ctx.session) {
        Ok(orgs) => orgs,
        Err(_) => return ctx.redirect("/operatore/accedi"),
    };
    let main = html! {
        h1 { "Area operatori" }
        @if orgs.is_empty() {
            div class="alert alert-info" role="alert" { "Non sei abilitato su alcun ente." }
        } @else {
            table class="table tabella-compatta" {
                caption class="visually-hidden" { "Enti su cui puoi operare" }
                thead { tr { th scope="col" { "Ente" } th scope="col" { "Codice IPA" } th scope="col" { "Stato" } th scope="col" { "Attività" } } }
                tbody {
                    @for org in &orgs {
                        tr {
                            td { (org.name) }
                            td { code { (org.ipa_code) } }
                            td { (org.state) }
                            td {
                                a href={ "/operatore/" (org.ipa_code) "/flussi" } { "Flussi dei dovuti" }
                                " · "
                                a href={ "/operatore/" (org.ipa_code) "/esportazioni" } { "Esportazione ricevute" }
                            }
                        }
                    }
                }
            }
        }
    };
    ctx.page("Area operatori", main)
}

/// A file under the data directory as a download.
pub fn download(path: &std::path::Path, content_type: &str) -> Response {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match std::fs::read(path) {
        Ok(bytes) => Response { status: 200, headers: Vec::new(), body: bytes }
            .with_header("Content-Type", content_type)
            .with_header("Content-Disposition", format!("attachment; filename=\"{}\"", name.replace('"', "")))
            .with_header("Cache-Control", "no-store"),
        Err(err) => {
            tracing::warn!(error = %err, path = %path.display(), "download: file missing");
            ui::errors::not_found()
        }
    }
}
