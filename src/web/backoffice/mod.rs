//! The operators' back office: login (argon2id, lockout), the orgs an operator may work on, debt
//! flow uploads with their results, and receipt exports.
//!
//! Every handler takes a [`BoCtx`] built by [`call`], which loaded the session, checked the CSRF
//! token of every form POST (urlencoded or multipart) and sent anyone not logged in to the login
//! page where the route needs an operator. An upload form (multipart) carries its CSRF token in its
//! action's query ([`BoCtx::upload_action`]), so that the token and the login are checked before
//! a byte of the file is read. A handler that works on an org first obtains an
//! `authz::OperatorGrant`, so a missing check does not compile; imports and exports of an operator
//! (not an admin) are filtered by the debt types enabled for them.

pub(super) mod accertamenti;
pub(super) mod adhesion;
pub(super) mod anomalies;
mod chart;
pub(super) mod dashboard;
pub(super) mod debt_edit;
pub(super) mod debt_types;
pub(super) mod debts;
pub(super) mod exports;
pub(super) mod flows;
pub(super) mod journal;
pub(super) mod login;
pub(super) mod operators;
pub(super) mod orgs;
pub(super) mod privacy;
mod problems;
pub(super) mod recon_exports;
pub(super) mod recon_item;
pub(super) mod reconciliation;
pub(super) mod reporting;
pub(super) mod settings;
mod timeline;
pub(super) mod tokens;
mod words;

use maud::{Markup, html};

use super::forms::Form;
use super::multipart::{self, Part};
use super::router::{self, Auth, BackofficeFn, BodySource, Params, Request, Route};
use super::session::Session;
use super::ui::layout::{self, Chrome};
use super::{AppState, Response, authz, ui};
use crate::clock::Now;

/// Runs a back-office page: the session; on the head, the CSRF token of an upload (in the query)
/// and the operator's login where the route needs one; then the form (urlencoded, or the parts of
/// a multipart upload) and the CSRF token of any other form POST, before any handler runs; then the
/// session saved and its cookie set.
pub(super) fn call(
    state: &AppState,
    route: &Route,
    params: &Params,
    head: &Request<'_>,
    body: &mut dyn BodySource,
    page: BackofficeFn,
) -> Response {
    router::with_session(state, head, |session, now| {
        let boundary =
            multipart::boundary(head.header("content-type").unwrap_or_default()).filter(|_| head.method == "POST");
        let refuse_form = || {
            tracing::warn!(target: "security", page = route.name, "form refused: missing or wrong CSRF token");
            Err(ui::errors::forbidden_form())
        };
        if route.guard.csrf && session.is_fresh() {
            return refuse_form();
        }
        if route.guard.csrf && boundary.is_some() {
            let query = Form::parse(head.query.as_bytes()).unwrap_or_default();
            let token = query.get("csrf").or_else(|| head.header("x-csrf-token"));
            if !token.is_some_and(|t| session.csrf_matches(t)) {
                return refuse_form();
            }
        }
        if route.guard.auth == Auth::Operator && !operator_session_stands(state, session) {
            let ctx = BoCtx { state, session, form: Form::default(), parts: Vec::new(), now, org_nav: None };
            return Ok(error_response(&ctx, BoError::LoginNeeded));
        }
        let body = body.read()?;
        let (form, parts) = match &boundary {
            Some(boundary) => match multipart::parse(&body, boundary) {
                Ok(parts) => (Form::default(), parts),
                Err(err) => {
                    tracing::info!(error = %err, "unreadable upload");
                    return Err(ui::errors::bad_request("Il file inviato non è leggibile."));
                }
            },
            None => {
                let raw = if head.method == "POST" { body.bytes() } else { head.query.as_bytes() };
                match Form::parse(raw) {
                    Ok(form) => (form, Vec::new()),
                    Err(_) => return Err(ui::errors::bad_request("I dati inviati non sono leggibili.")),
                }
            }
        };
        if route.guard.csrf && boundary.is_none() && !form.get("csrf").is_some_and(|t| session.csrf_matches(t)) {
            return refuse_form();
        }
        let mut ctx = BoCtx { state, session, form, parts, now, org_nav: None };
        let shown = page(&mut ctx, params);
        Ok(shown.unwrap_or_else(|err| error_response(&ctx, err)))
    })
}

/// Whether the session's operator is still logged in: an operator whose password changed since
/// (by themselves elsewhere, or reset by an admin) or who was disabled loses every other session.
fn operator_session_stands(state: &AppState, session: &mut Session) -> bool {
    let Some(username) = session.operator().map(str::to_owned) else { return false };
    let stamp = session.operator_stamp().unwrap_or_default().to_owned();
    match crate::services::admin::operators::session_is_current(&state.db, &username, &stamp) {
        Ok(true) => true,
        Ok(false) => {
            tracing::info!(target: "security", username, "operator session ended: password changed or account disabled");
            session.forget_operator();
            false
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot check an operator session");
            false
        }
    }
}

/// Why a back-office page is not shown; [`error_response`] writes each.
#[derive(Debug, thiserror::Error)]
pub enum BoError {
    /// An operator's page asked for without logging in (or by an operator since removed).
    #[error("an operator must log in first")]
    LoginNeeded,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A file the retention purge deleted at this time (UTC ISO 8601).
    #[error("file purged at {0}")]
    FileGone(String),
    /// A failure already logged where it happened.
    #[error("internal error")]
    Internal,
}

/// The one mapping of back-office errors to responses: the login page for a visitor, the common
/// error pages (in Italian) for the rest.
pub fn error_response(ctx: &BoCtx<'_>, err: BoError) -> Response {
    match err {
        BoError::LoginNeeded => ctx.redirect("/operatore/accedi"),
        BoError::Forbidden(message) => ui::errors::forbidden(message),
        BoError::NotFound => ui::errors::not_found(),
        BoError::BadRequest(message) => ui::errors::bad_request(&message),
        BoError::FileGone(purged_at) => ui::errors::file_gone(&purged_at),
        BoError::Internal => ui::errors::internal_error(0),
    }
}

/// What a list shows instead of the download links of a file the retention purge deleted.
pub(super) fn purged_note(purged_at: &str) -> maud::Markup {
    maud::html! { small class="text-muted" { "File eliminato il " (ui::format::date_it(purged_at)) " (conservazione)" } }
}

/// What a back-office handler works with.
pub struct BoCtx<'a> {
    pub state: &'a AppState,
    pub session: &'a mut Session,
    /// An urlencoded POST body or the query of a GET.
    pub form: Form,
    /// The parts of a multipart POST.
    pub parts: Vec<Part<'a>>,
    /// When the request arrived, read once: its stored times and its Europe/Rome day.
    pub now: Now,
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

    /// The action of an upload form (multipart) posting to `path`: the CSRF token goes in its
    /// query, where `call` checks it before reading the file.
    pub fn upload_action(&self, path: &str) -> String {
        format!("{path}?csrf={}", self.session.csrf_token())
    }

    /// The grant of an org admin (or app admin) on `ipa`, or why not.
    pub fn admin_grant(&mut self, ipa: &str) -> Result<authz::OperatorGrant, BoError> {
        let grant = self.grant(ipa)?;
        if !grant.admin {
            tracing::warn!(target: "security", username = %grant.username, ipa, "org admin page refused to an operator");
            return Err(BoError::Forbidden("Questa pagina è riservata agli amministratori dell'ente."));
        }
        Ok(grant)
    }

    /// The operator's grant on `ipa`, or why not.
    pub fn grant(&mut self, ipa: &str) -> Result<authz::OperatorGrant, BoError> {
        match authz::operator(&self.state.db, self.session, ipa) {
            Ok(grant) => {
                self.org_nav = Some((grant.org.ipa_code.clone(), grant.admin));
                Ok(grant)
            }
            Err(authz::Deny::NotLoggedIn) => Err(BoError::LoginNeeded),
            Err(authz::Deny::NotYours) => Err(BoError::Forbidden("Non sei abilitato a operare su questo ente.")),
        }
    }
}

/// The pages of an org in the navigation: (path after `/operatore/<ipa>`, label, org admins only).
const ORG_PAGES: [(&str, &str, bool); 15] = [
    ("", "Cruscotto", false),
    ("/dovuti", "Dovuti", false),
    ("/flussi", "Flussi dei dovuti", false),
    ("/esportazioni", "Esportazioni", false),
    ("/rendicontazione", "Rendicontazione", false),
    ("/riconciliazione", "Riconciliazione", false),
    ("/accertamenti", "Accertamenti", false),
    ("/anomalie", "Anomalie", true),
    ("/giornale", "Giornale", true),
    ("/tipi", "Tipi dovuto", true),
    ("/operatori", "Operatori", true),
    ("/token", "Token API", true),
    ("/impostazioni", "Impostazioni", true),
    ("/adesione", "Adesione", true),
    ("/privacy", "Privacy", true),
];

/// `GET /operatore`: the orgs the operator may open.
pub(super) fn home(ctx: &mut BoCtx<'_>) -> Result<Response, BoError> {
    let Some(username) = ctx.session.operator().map(str::to_owned) else {
        return Err(BoError::LoginNeeded);
    };
    let (op, orgs) = match crate::services::admin::access::operator_orgs(&ctx.state.db, &username) {
        Ok(found) => found,
        Err(_) => return Err(BoError::LoginNeeded),
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
    Ok(ctx.page("Area operatori", main))
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
        ServiceError::ExportRefused { code, .. } => export_refusal(code),
        ServiceError::Access(_) => "Accesso non consentito.".to_owned(),
        ServiceError::NotAdmitted(refusal) => refusal.message_it(),
        ServiceError::NoteElementUnknown(refusal) => refusal.message_it(),
        ServiceError::Store(_) | ServiceError::ExportFile(_) | ServiceError::Interrupted | ServiceError::Internal(_) => {
            "Errore interno: riprova più tardi.".to_owned()
        }
    }
}

/// An export request MyPay refuses, in Italian beside its code (the service's English detail
/// stays in the log).
pub fn export_refusal(code: &str) -> String {
    let words = match code {
        "PAA_VERSIONE_TRACCIATO_NON_VALIDA" => "la versione del tracciato deve essere 1.0, 1.1, 1.2 o 1.3.",
        "PAA_DATE_FROM_NON_VALIDO" => "la data «Pagamenti dal» non è valida.",
        "PAA_DATE_TO_NON_VALIDO" => "la data «al» non è valida.",
        "PAA_INTERVALLO_DATE_NON_VALIDO" => "la data «Pagamenti dal» viene dopo la data «al».",
        "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_VALIDO" => "il tipo dovuto scelto non esiste per questo ente.",
        "PAA_IDENTIFICATIVO_TIPO_DOVUTO_NON_ABILITATO" => "non sei abilitato ai tipi dovuti richiesti.",
        _ => "la richiesta non può essere accolta.",
    };
    format!("Richiesta non valida ({code}): {words}")
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
        "address" => "indirizzo",
        "civic-number" => "numero civico",
        "postal-code" => "CAP",
        "city" => "località",
        "province" | "country" => "sigla",
        "website" | "push-url" => "indirizzo web",
        "push-secret" => "chiave HS512",
        "notice-language" => "seconda lingua degli avvisi",
        "logo" => "logo",
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
        "mode" => "modalità di adesione",
        "mode-since" => "attiva dal",
        "act-type" => "tipo di atto",
        "act-number" => "numero dell'atto",
        "act-date" => "data dell'atto",
        "contacts" => "referenti",
        other => other,
    }
}

/// A file under the data directory as a download.
pub fn download(path: &std::path::Path, content_type: &str) -> Response {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    download_as(path, content_type, &name)
}

/// [`download`] under the name `name`.
pub fn download_as(path: &std::path::Path, content_type: &str, name: &str) -> Response {
    let name = name.replace(['"', '\\', '\r', '\n'], "");
    match std::fs::read(path) {
        Ok(bytes) => Response { status: 200, headers: Vec::new(), body: bytes }
            .with_header("Content-Type", content_type)
            .with_header("Content-Disposition", format!("attachment; filename=\"{name}\""))
            .with_header("Cache-Control", "no-store"),
        Err(err) => {
            tracing::warn!(error = %err, path = %path.display(), "download: file missing");
            ui::errors::not_found()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ServiceError;

    #[test]
    fn export_refusals_are_italian_beside_the_code() {
        let refused = ServiceError::ExportRefused {
            code: "PAA_INTERVALLO_DATE_NON_VALIDO",
            message: "from 2026-02-01 is after to 2026-01-01".to_owned(),
        };
        assert_eq!(
            user_message(&refused),
            "Richiesta non valida (PAA_INTERVALLO_DATE_NON_VALIDO): la data «Pagamenti dal» viene dopo la data «al»."
        );
        assert_eq!(
            export_refusal("PAA_VERSIONE_TRACCIATO_NON_VALIDA"),
            "Richiesta non valida (PAA_VERSIONE_TRACCIATO_NON_VALIDA): la versione del tracciato deve essere 1.0, 1.1, 1.2 o 1.3."
        );
        assert_eq!(
            export_refusal("PAA_ALTRO"),
            "Richiesta non valida (PAA_ALTRO): la richiesta non può essere accolta."
        );
    }
}
