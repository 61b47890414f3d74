//! The operators' back office: login (argon2id, lockout), the orgs an operator may work on, debt
//! flow uploads with their results, and receipt exports.
//!
//! Every handler takes a [`BoCtx`] built by `router::backoffice_call`, which loaded the session and
//! checked the CSRF token of every form POST (urlencoded or multipart). A handler that works on an
//! org first obtains an `authz::OperatorGrant`, so a missing check does not compile; imports and
//! exports of an operator (not an admin) are filtered by the debt types enabled for them.

mod anomalies;
mod chart;
mod dashboard;
mod debt_edit;
mod debt_types;
mod debts;
mod exports;
mod flows;
mod journal;
mod login;
mod operators;
mod orgs;
mod settings;

use maud::{Markup, html};

use super::forms::Form;
use super::multipart::Part;
use super::session::Session;
use super::ui::layout::{self, Chrome};
use super::{AppState, Response, authz, ui};

/// The back office's pages. Every POST is a form submission (CSRF-checked by the router).
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
    /// The org's dashboard.
    Dashboard(String),
    /// The debt search (criteria in the query).
    Debts(String),
    /// The search's result as CSV.
    DebtsCsv(String),
    DebtNew(String),
    DebtNewPost(String),
    /// (org, debt id).
    Debt(String, String),
    DebtEdit(String, String),
    DebtEditPost(String, String),
    DebtAnnulPost(String, String),
    DebtNotice(String, String),
    /// (org, debt id, receipt row id).
    DebtReceipt(String, String, String),
    Journal(String),
    /// (org, entry id).
    JournalEntry(String, String),
    Settings(String),
    SettingsPost(String),
    LogoPost(String),
    SilPasswordPost(String),
    PushPost(String),
    PrivacyPost(String),
    OrgStatePost(String),
    Operators(String),
    OperatorAddPost(String),
    /// (org, username).
    OperatorGrantsPost(String, String),
    OperatorPasswordPost(String, String),
    OwnPassword,
    OwnPasswordPost,
    Orgs,
    OrgAddPost,
    DebtTypes(String),
    DebtTypeNew(String),
    DebtTypeNewPost(String),
    /// (org, debt type code).
    DebtType(String, String),
    DebtTypePost(String, String),
    /// The preview of a typed form definition, alone (the editor's live preview fetches it).
    DebtTypePreviewPost(String),
    /// The org's anomalies (`?risolte=1`: the resolved ones).
    Anomalies(String),
    /// (org, anomaly id): resolve it.
    AnomalyPost(String, String),
}

impl BoPage {
    pub fn name(&self) -> &'static str {
        match self {
            BoPage::Home => "bo_home",
            BoPage::Login | BoPage::LoginPost | BoPage::LogoutPost => "bo_login",
            BoPage::Imports(_) | BoPage::ImportPost(_) | BoPage::ImportFile(..) => "bo_imports",
            BoPage::Exports(_) | BoPage::ExportPost(_) | BoPage::ExportFile(..) => "bo_exports",
            BoPage::Dashboard(_) => "bo_dashboard",
            BoPage::Debts(_) | BoPage::DebtsCsv(_) => "bo_debt_search",
            BoPage::DebtNew(_)
            | BoPage::DebtNewPost(_)
            | BoPage::Debt(..)
            | BoPage::DebtEdit(..)
            | BoPage::DebtEditPost(..)
            | BoPage::DebtAnnulPost(..) => "bo_debt",
            BoPage::DebtNotice(..) | BoPage::DebtReceipt(..) => "bo_debt_documents",
            BoPage::Journal(_) | BoPage::JournalEntry(..) => "bo_journal",
            BoPage::Settings(_)
            | BoPage::SettingsPost(_)
            | BoPage::LogoPost(_)
            | BoPage::SilPasswordPost(_)
            | BoPage::PushPost(_)
            | BoPage::PrivacyPost(_)
            | BoPage::OrgStatePost(_) => "bo_settings",
            BoPage::Operators(_)
            | BoPage::OperatorAddPost(_)
            | BoPage::OperatorGrantsPost(..)
            | BoPage::OperatorPasswordPost(..)
            | BoPage::OwnPassword
            | BoPage::OwnPasswordPost => "bo_operators",
            BoPage::Orgs | BoPage::OrgAddPost => "bo_orgs",
            BoPage::DebtTypes(_)
            | BoPage::DebtTypeNew(_)
            | BoPage::DebtTypeNewPost(_)
            | BoPage::DebtType(..)
            | BoPage::DebtTypePost(..)
            | BoPage::DebtTypePreviewPost(_) => "bo_debt_types",
            BoPage::Anomalies(_) | BoPage::AnomalyPost(..) => "bo_anomalies",
        }
    }
}

/// One back-office route: the method (`GET` also answers `HEAD`), the path pattern (`{name}` takes
/// one segment), and the page built from the taken segments in order.
pub struct BoRoute {
    pub method: &'static str,
    pub pattern: &'static str,
    build: fn(Vec<String>) -> Option<BoPage>,
}

fn one(args: Vec<String>, page: fn(String) -> BoPage) -> Option<BoPage> {
    let [a]: [String; 1] = args.try_into().ok()?;
    Some(page(a))
}

fn two(args: Vec<String>, page: fn(String, String) -> BoPage) -> Option<BoPage> {
    let [a, b]: [String; 2] = args.try_into().ok()?;
    Some(page(a, b))
}

fn three(args: Vec<String>, page: fn(String, String, String) -> BoPage) -> Option<BoPage> {
    let [a, b, c]: [String; 3] = args.try_into().ok()?;
    Some(page(a, b, c))
}

/// Every back-office route, first match wins. The authorization test walks this table, so a route
/// added here is checked across orgs without anyone remembering to.
#[rustfmt::skip]
pub const ROUTES: &[BoRoute] = &[
    BoRoute { method: "GET",  pattern: "/operatore",                                   build: |_| Some(BoPage::Home) },
    BoRoute { method: "GET",  pattern: "/operatore/accedi",                            build: |_| Some(BoPage::Login) },
    BoRoute { method: "POST", pattern: "/operatore/accedi",                            build: |_| Some(BoPage::LoginPost) },
    BoRoute { method: "POST", pattern: "/operatore/esci",                              build: |_| Some(BoPage::LogoutPost) },
    BoRoute { method: "GET",  pattern: "/operatore/password",                          build: |_| Some(BoPage::OwnPassword) },
    BoRoute { method: "POST", pattern: "/operatore/password",                          build: |_| Some(BoPage::OwnPasswordPost) },
    BoRoute { method: "GET",  pattern: "/operatore/enti",                              build: |_| Some(BoPage::Orgs) },
    BoRoute { method: "POST", pattern: "/operatore/enti",                              build: |_| Some(BoPage::OrgAddPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}",                             build: |a| one(a, BoPage::Dashboard) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/flussi",                      build: |a| one(a, BoPage::Imports) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/flussi",                      build: |a| one(a, BoPage::ImportPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/flussi/{import}/{kind}",      build: |a| three(a, BoPage::ImportFile) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/esportazioni",                build: |a| one(a, BoPage::Exports) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/esportazioni",                build: |a| one(a, BoPage::ExportPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/esportazioni/{export}/file",  build: |a| two(a, BoPage::ExportFile) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti",                      build: |a| one(a, BoPage::Debts) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti/csv",                  build: |a| one(a, BoPage::DebtsCsv) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti/nuovo",                build: |a| one(a, BoPage::DebtNew) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/dovuti/nuovo",                build: |a| one(a, BoPage::DebtNewPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti/{debt}",               build: |a| two(a, BoPage::Debt) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti/{debt}/modifica",      build: |a| two(a, BoPage::DebtEdit) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/dovuti/{debt}/modifica",      build: |a| two(a, BoPage::DebtEditPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/dovuti/{debt}/annulla",       build: |a| two(a, BoPage::DebtAnnulPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti/{debt}/avviso",        build: |a| two(a, BoPage::DebtNotice) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/dovuti/{debt}/ricevute/{receipt}", build: |a| three(a, BoPage::DebtReceipt) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/anomalie",                    build: |a| one(a, BoPage::Anomalies) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/anomalie/{anomaly}",          build: |a| two(a, BoPage::AnomalyPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/giornale",                    build: |a| one(a, BoPage::Journal) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/giornale/{entry}",            build: |a| two(a, BoPage::JournalEntry) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/impostazioni",                build: |a| one(a, BoPage::Settings) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/impostazioni",                build: |a| one(a, BoPage::SettingsPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/impostazioni/logo",           build: |a| one(a, BoPage::LogoPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/impostazioni/sil",            build: |a| one(a, BoPage::SilPasswordPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/impostazioni/inoltro",        build: |a| one(a, BoPage::PushPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/impostazioni/privacy",        build: |a| one(a, BoPage::PrivacyPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/impostazioni/stato",          build: |a| one(a, BoPage::OrgStatePost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/tipi",                        build: |a| one(a, BoPage::DebtTypes) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/tipi/nuovo",                  build: |a| one(a, BoPage::DebtTypeNew) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/tipi/nuovo",                  build: |a| one(a, BoPage::DebtTypeNewPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/anteprima-modulo",            build: |a| one(a, BoPage::DebtTypePreviewPost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/tipi/{type}",                 build: |a| two(a, BoPage::DebtType) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/tipi/{type}",                 build: |a| two(a, BoPage::DebtTypePost) },
    BoRoute { method: "GET",  pattern: "/operatore/{ipa}/operatori",                   build: |a| one(a, BoPage::Operators) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/operatori",                   build: |a| one(a, BoPage::OperatorAddPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/operatori/{operator}/abilitazioni", build: |a| two(a, BoPage::OperatorGrantsPost) },
    BoRoute { method: "POST", pattern: "/operatore/{ipa}/operatori/{operator}/password",     build: |a| two(a, BoPage::OperatorPasswordPost) },
];

/// The back-office page for `method` and `path`, if a route of [`ROUTES`] matches.
pub fn route(method: &str, path: &str) -> Option<BoPage> {
    let method = if method == "HEAD" { "GET" } else { method };
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES.iter().filter(|r| r.method == method).find_map(|r| {
        let pattern: Vec<&str> = r.pattern.split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut taken = Vec::new();
        for (p, s) in pattern.iter().zip(&segments) {
            if p.starts_with('{') {
                if s.is_empty() {
                    return None;
                }
                taken.push((*s).to_owned());
            } else if p != s {
                return None;
            }
        }
        (r.build)(taken)
    })
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
    /// The org whose pages the navigation links to, set by [`BoCtx::grant`]: (IPA, admin).
    pub org_nav: Option<(String, bool)>,
}

impl BoCtx<'_> {
    /// A page on the common layout, with the back office's navigation.
    pub fn page(&mut self, title: &str, main: Markup) -> Response {
        self.page_with(200, title, main)
    }

    pub fn page_with(&mut self, status: u16, title: &str, main: Markup) -> Response {
        self.page_with_scripts(status, title, main, Vec::new())
    }

    /// A page that loads `scripts` (files under `/static/`; the CSP allows no inline script).
    pub fn page_with_scripts(
        &mut self,
        status: u16,
        title: &str,
        main: Markup,
        scripts: Vec<&'static str>,
    ) -> Response {
        let chrome = Chrome { flash: self.session.take_flash(), nav: false, scripts, ..Chrome::default() };
        let csrf = self.session.csrf_token().to_owned();
        let operator = self.session.operator().map(str::to_owned);
        let body = html! {
            nav class="d-flex flex-wrap align-items-center justify-content-between mb-4 border-bottom pb-2" aria-label="Area operatori" {
                a href="/operatore" class="fw-semibold" { "Area operatori" }
                @if let Some(name) = &operator {
                    form method="post" action="/operatore/esci" class="d-flex align-items-center gap-2" {
                        span { "Operatore: " strong { (name) } }
                        a href="/operatore/password" class="btn btn-outline-primary btn-sm" { "Password" }
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" class="btn btn-outline-primary btn-sm" { "Esci" }
                    }
                }
            }
            @if let Some((ipa, admin)) = &self.org_nav {
                nav class="mb-4" aria-label="Pagine dell'ente" {
                    ul class="nav nav-tabs org-tabs" {
                        @for (path, label, admin_only) in ORG_PAGES {
                            @if !admin_only || *admin {
                                li class="nav-item" { a class="nav-link" href={ "/operatore/" (ipa) (path) } { (label) } }
                            }
                        }
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

    /// The grant of an org admin (or app admin) on `ipa`, or the page that says why not.
    pub fn admin_grant(&mut self, ipa: &str) -> Result<authz::OperatorGrant, Response> {
        let grant = self.grant(ipa)?;
        if !grant.admin {
            tracing::warn!(target: "security", username = %grant.username, ipa, "org admin page refused to an operator");
            return Err(ui::errors::forbidden("Questa pagina è riservata agli amministratori dell'ente."));
        }
        Ok(grant)
    }

    /// The operator's grant on `ipa`, or the page that says why not.
    pub fn grant(&mut self, ipa: &str) -> Result<authz::OperatorGrant, Response> {
        match authz::operator(&self.state.db, self.session, ipa) {
            Ok(grant) => {
                self.org_nav = Some((grant.org.ipa_code.clone(), grant.admin));
                Ok(grant)
            }
            Err(authz::Deny::NotLoggedIn) => Err(self.redirect("/operatore/accedi")),
            Err(authz::Deny::NotYours) => Err(ui::errors::forbidden("Non sei abilitato a operare su questo ente.")),
        }
    }
}

/// The pages of an org in the navigation: (path after `/operatore/<ipa>`, label, org admins only).
const ORG_PAGES: [(&str, &str, bool); 9] = [
    ("", "Cruscotto", false),
    ("/dovuti", "Dovuti", false),
    ("/flussi", "Flussi", false),
    ("/esportazioni", "Esportazioni", false),
    ("/anomalie", "Anomalie", true),
    ("/giornale", "Giornale", true),
    ("/tipi", "Tipi dovuto", true),
    ("/operatori", "Operatori", true),
    ("/impostazioni", "Impostazioni", true),
];

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
        BoPage::Dashboard(ipa) => dashboard::show(ctx, ipa),
        BoPage::Debts(ipa) => debts::search(ctx, ipa),
        BoPage::DebtsCsv(ipa) => debts::csv(ctx, ipa),
        BoPage::DebtNew(ipa) => debt_edit::new_form(ctx, ipa),
        BoPage::DebtNewPost(ipa) => debt_edit::create(ctx, ipa),
        BoPage::Debt(ipa, id) => debts::detail(ctx, ipa, id),
        BoPage::DebtEdit(ipa, id) => debt_edit::edit_form(ctx, ipa, id),
        BoPage::DebtEditPost(ipa, id) => debt_edit::modify(ctx, ipa, id),
        BoPage::DebtAnnulPost(ipa, id) => debt_edit::annul(ctx, ipa, id),
        BoPage::DebtNotice(ipa, id) => debts::notice(ctx, ipa, id),
        BoPage::DebtReceipt(ipa, id, receipt) => debts::receipt(ctx, ipa, id, receipt),
        BoPage::Anomalies(ipa) => anomalies::list(ctx, ipa),
        BoPage::AnomalyPost(ipa, id) => anomalies::resolve(ctx, ipa, id),
        BoPage::Journal(ipa) => journal::list(ctx, ipa),
        BoPage::JournalEntry(ipa, id) => journal::entry(ctx, ipa, id),
        BoPage::Settings(ipa) => settings::show(ctx, ipa),
        BoPage::SettingsPost(ipa) => settings::save(ctx, ipa),
        BoPage::LogoPost(ipa) => settings::logo(ctx, ipa),
        BoPage::SilPasswordPost(ipa) => settings::sil_password(ctx, ipa),
        BoPage::PushPost(ipa) => settings::push(ctx, ipa),
        BoPage::PrivacyPost(ipa) => settings::privacy(ctx, ipa),
        BoPage::OrgStatePost(ipa) => settings::state(ctx, ipa),
        BoPage::Operators(ipa) => operators::list(ctx, ipa),
        BoPage::OperatorAddPost(ipa) => operators::add(ctx, ipa),
        BoPage::OperatorGrantsPost(ipa, username) => operators::grants(ctx, ipa, username),
        BoPage::OperatorPasswordPost(ipa, username) => operators::reset_password(ctx, ipa, username),
        BoPage::OwnPassword => operators::own_password_form(ctx, None),
        BoPage::OwnPasswordPost => operators::own_password(ctx),
        BoPage::DebtTypes(ipa) => debt_types::list(ctx, ipa),
        BoPage::DebtTypeNew(ipa) => debt_types::new_form(ctx, ipa),
        BoPage::DebtTypeNewPost(ipa) => debt_types::save(ctx, ipa, None),
        BoPage::DebtType(ipa, code) => debt_types::edit_form(ctx, ipa, code),
        BoPage::DebtTypePost(ipa, code) => debt_types::save(ctx, ipa, Some(code)),
        BoPage::DebtTypePreviewPost(ipa) => debt_types::preview_fragment(ctx, ipa),
        BoPage::Orgs => orgs::list(ctx),
        BoPage::OrgAddPost => orgs::add(ctx),
    }
}

/// `GET /operatore`: the orgs the operator may open.
fn home(ctx: &mut BoCtx<'_>) -> Response {
    let Some(username) = ctx.session.operator().map(str::to_owned) else {
        return ctx.redirect("/operatore/accedi");
    };
    let (op, orgs) = match crate::services::access::operator_orgs(&ctx.state.db, &username) {
        Ok(found) => found,
        Err(_) => return ctx.redirect("/operatore/accedi"),
    };
    let main = html! {
        h1 { "Area operatori" }
        @if op.app_admin {
            p { a class="btn btn-outline-primary btn-sm" href="/operatore/enti" { "Gestisci gli enti" } }
        }
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
                                a href={ "/operatore/" (org.ipa_code) } { "Cruscotto" }
                                " · "
                                a href={ "/operatore/" (org.ipa_code) "/dovuti" } { "Dovuti" }
                                " · "
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

/// A refused request in Italian: the import's codes and descriptions for a rejected debt, a short
/// sentence for the rest. The English detail goes to the log.
pub fn user_message(err: &crate::services::ServiceError) -> String {
    use crate::services::ServiceError;
    tracing::info!(error = %err, "back-office request refused");
    match err {
        ServiceError::Rejected(rows) => {
            rows.iter().map(|r| format!("{}: {}", r.code, r.description)).collect::<Vec<_>>().join("; ")
        }
        ServiceError::Invalid { field, .. } if field == "logo-image" => {
            "Il file del logo non è un'immagine PNG o JPEG leggibile (o è troppo grande da elaborare): il logo non è stato cambiato.".to_owned()
        }
        ServiceError::Invalid { field, .. } => format!("Il valore del campo «{}» non è valido.", field_label(field)),
        ServiceError::NotFound(_) => "Non trovato.".to_owned(),
        ServiceError::Conflict(_) => "L'operazione non è possibile nello stato attuale.".to_owned(),
        ServiceError::Store(_) | ServiceError::Internal(_) => "Errore interno: riprova più tardi.".to_owned(),
    }
}

/// The Italian name of a service's field.
fn field_label(field: &str) -> &str {
    match field {
        "notice" => "numero avviso",
        "state" => "stato",
        "debt_type" => "tipo dovuto",
        "due_from" => "scadenza dal",
        "due_to" => "scadenza al",
        "paid_from" => "pagato dal",
        "paid_to" => "pagato al",
        "from" => "dal",
        "to" => "al",
        "iban" | "iban_bank" | "iban-bank" => "IBAN bancario",
        "iban_postal" | "iban-postal" => "IBAN postale",
        "postal-account" => "conto corrente postale",
        "admin-email" => "e-mail dell'amministratore",
        "email" => "e-mail",
        "province" | "country" => "sigla",
        "website" | "push-url" => "indirizzo web",
        "push-secret" => "chiave HS512",
        "notice-language" => "seconda lingua degli avvisi",
        "logo" => "logo",
        "privacy-notice" => "informativa privacy",
        "username" => "nome utente",
        "fiscal-code" => "codice fiscale",
        "segregation-code" => "codice di segregazione",
        "ipa" => "codice IPA",
        "name" => "denominazione",
        "taxonomy" => "codice di tassonomia",
        "form" => "definizione del modulo",
        "description" => "descrizione",
        "code" => "codice",
        "amount" => "importo fisso",
        other => other,
    }
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
