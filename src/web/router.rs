//! The URL codemap: one table from (method, path) to a handler, with each route's name (for
//! metrics) and body limit. Handlers live beside the pages they render.

use super::backoffice::{self, BoPage};
use super::forms::Form;
use super::session::Session;
use super::{AppState, Response, api, assets, metrics, multipart, portal, ui};
use crate::clock;
use crate::config::HttpUrl;
use crate::pagopa::station::{self, Station};
use crate::sil::{self, Sil};

/// A request as handlers see it.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The raw query string (after `?`), "" when there is none.
    pub query: &'a str,
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    /// The body, read within the route's limit.
    pub body: &'a [u8],
    /// The connection may call the station (`config::NodeAuth`). `server` already refuses the
    /// station path without it.
    #[allow(dead_code, reason = "for handlers that want it; the station guard itself lives in server")]
    pub node_trusted: bool,
    /// The TCP peer; `None` behind the TLS front end (unix sockets). Only trusted-header login
    /// looks at it.
    pub peer: Option<std::net::IpAddr>,
}

impl Request<'_> {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Every route of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Home,
    Healthz,
    Metrics,
    Asset(String),
    /// The pagoPA station (paForNode SOAP).
    Station,
    /// The MyPay-compatible SIL web services (SOAP).
    Sil,
    /// Our WSDL of the SIL web services and the XSD it imports (file name).
    SilWsdl(String),
    /// A file behind a SIL download URL: (org IPA, kind, id).
    SilDownload(String, String, String),
    /// A debt flow uploaded with a SIL authorization token (multipart).
    SilUpload,
    /// A citizen portal page (sessions, CSRF on POST).
    Portal(Page),
    /// A back-office page (operator session, CSRF on POST).
    Backoffice(BoPage),
    /// The REST JSON API (bearer tokens, no session).
    Api(api::ApiRoute),
    MethodNotAllowed(&'static str),
    NotFound,
}

/// The citizen portal's pages. `*Post` variants are HTML form submissions: the router checks
/// their CSRF token before the handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Home,
    Org(String),
    OrgPrivacy(String),
    SpontaneousForm,
    SpontaneousPost,
    NoticeSearch,
    NoticePost,
    Cart,
    CartAddPost,
    CartRemovePost,
    CartEmailPost,
    CartPinPost,
    CartPayPost,
    CartOutcome(String),
    CartStatus(String),
    CartCancelled(String),
    CartError(String),
    Receipt(String),
    ReceiptXml(String),
    ReceiptPdf(String),
    /// (org IPA, `<notice>.pdf`).
    NoticePdf(String, String),
    /// The landing page of a payment started by a SIL (token).
    SilLanding(String),
    /// The citizen confirms a SIL payment (token).
    SilPayPost(String),
    /// Back from Checkout for a SIL payment: (token, `ok` | `annullato` | `errore`).
    SilReturn(String, String),
    Login,
    /// `GET /accedi/oidc`: starts an OpenID Connect login.
    OidcStart,
    /// The OpenID Connect redirect URI (`citizen_auth.oidc_redirect_path`).
    OidcCallback,
    DemoLoginPost,
    LogoutPost,
    MyDebts,
    MyPayments,
    Profile,
    ProfilePost,
    Cookies,
    Accessibility,
    DevOutbox,
}

impl Page {
    /// Whether this page is an HTML form submission (CSRF-checked).
    pub fn is_form_post(&self) -> bool {
        matches!(
            self,
            Page::SpontaneousPost
                | Page::NoticePost
                | Page::CartAddPost
                | Page::CartRemovePost
                | Page::CartEmailPost
                | Page::CartPinPost
                | Page::CartPayPost
                | Page::DemoLoginPost
                | Page::LogoutPost
                | Page::ProfilePost
                | Page::SilPayPost(_)
        )
    }

    fn name(&self) -> &'static str {
        match self {
            Page::Home => "home",
            Page::Org(_) | Page::OrgPrivacy(_) => "org",
            Page::SpontaneousForm | Page::SpontaneousPost => "spontaneous",
            Page::NoticeSearch | Page::NoticePost => "notice",
            Page::Cart | Page::CartAddPost | Page::CartRemovePost | Page::CartEmailPost | Page::CartPinPost => "cart",
            Page::CartPayPost => "checkout",
            Page::CartOutcome(_) | Page::CartCancelled(_) | Page::CartError(_) => "cart_outcome",
            Page::CartStatus(_) => "cart_status",
            Page::Receipt(_) | Page::ReceiptXml(_) | Page::ReceiptPdf(_) => "receipt",
            Page::NoticePdf(..) => "notice_pdf",
            Page::Login | Page::OidcStart | Page::OidcCallback | Page::DemoLoginPost | Page::LogoutPost => "login",
            Page::MyDebts | Page::MyPayments | Page::Profile | Page::ProfilePost => "citizen",
            Page::Cookies | Page::Accessibility => "legal",
            Page::DevOutbox => "dev_outbox",
            Page::SilLanding(_) | Page::SilPayPost(_) | Page::SilReturn(..) => "sil_landing",
        }
    }
}

impl Route {
    /// The label used in metrics: fixed per route, never the raw path.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Home => "home",
            Route::Healthz => "healthz",
            Route::Metrics => "metrics",
            Route::Asset(_) => "asset",
            Route::Station => "station",
            Route::Sil => "sil",
            Route::SilWsdl(_) => "sil_wsdl",
            Route::SilDownload(..) => "sil_download",
            Route::SilUpload => "sil_upload",
            Route::Portal(page) => page.name(),
            Route::Backoffice(page) => page.name(),
            Route::Api(_) => "api",
            Route::MethodNotAllowed(_) => "method_not_allowed",
            Route::NotFound => "not_found",
        }
    }

    /// The largest body this route reads. GET routes take none worth mentioning.
    pub fn body_limit(&self, state: &AppState) -> u64 {
        match self {
            // pagoPA's largest messages (a receipt with five transfers and metadata) are a few KiB.
            Route::Station => 1024 * 1024,
            // Five base64 Dovuti documents, or a carrello of several orgs.
            Route::Sil => 4 * 1024 * 1024,
            // A debt flow, plus room for the form's other fields.
            Route::Backoffice(BoPage::ImportPost(_)) | Route::SilUpload => {
                state.config.import.max_upload_bytes.saturating_add(64 * 1024)
            }
            // A logo: the largest the service accepts plus the form around it, so a file just over
            // the limit gets the page's own message rather than a bare 413.
            Route::Backoffice(BoPage::LogoPost(_)) => {
                u64::try_from(crate::services::orgs::LOGO_MAX_BYTES).unwrap_or(u64::MAX).saturating_add(128 * 1024)
            }
            Route::Backoffice(_) => state.config.server.max_body_bytes.min(64 * 1024),
            Route::Api(call) if call.is_upload() => state.config.import.max_upload_bytes,
            Route::Api(_) => 1024 * 1024,
            Route::Home
            | Route::Healthz
            | Route::Metrics
            | Route::Asset(_)
            | Route::SilWsdl(_)
            | Route::SilDownload(..)
            | Route::Portal(_)
            | Route::MethodNotAllowed(_)
            | Route::NotFound => state.config.server.max_body_bytes.min(64 * 1024),
        }
    }
}

/// Picks the route for a method and path.
#[rustfmt::skip]
pub fn route(method: &str, path: &str) -> Route {
    let get = matches!(method, "GET" | "HEAD");
    let post = method == "POST";
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let page = |p: Page| Route::Portal(p);
    match (get, post, segments.as_slice()) {
        (_, _, ["api", ..])                             => Route::Api(api::resolve(method, path)),
        (true, _, [""])                                 => Route::Home,
        (true, _, ["healthz"])                          => Route::Healthz,
        (true, _, ["metrics"])                          => Route::Metrics,
        (true, _, ["static", rest @ ..])                => Route::Asset(rest.join("/")),
        (_, true, ["ws", "fesp"] | ["ws", "fesp", ""])  => Route::Station,
        (true, _, ["ws", "fesp"] | ["ws", "fesp", ""])  => Route::MethodNotAllowed("POST"),
        (_, true, ["ws", "pa"] | ["ws", "pa", ""])      => Route::Sil,
        (_, true, ["ws", "pa", "upload"])               => Route::SilUpload,
        (true, _, ["ws", "pa", file]) if !file.is_empty() => Route::SilWsdl((*file).to_owned()),
        (true, _, ["ws", "pa", "download", ipa, kind, id]) => Route::SilDownload((*ipa).to_owned(), (*kind).to_owned(), (*id).to_owned()),
        (true, _, ["ws", "pa"] | ["ws", "pa", ""])      => Route::MethodNotAllowed("POST"),
        (true, _, ["sil", t])                           => page(Page::SilLanding((*t).to_owned())),
        (_, true, ["sil", t])                           => page(Page::SilPayPost((*t).to_owned())),
        (true, _, ["sil", t, "esito", k])               => page(Page::SilReturn((*t).to_owned(), (*k).to_owned())),
        (true, _, ["enti", ipa])                        => page(Page::Org((*ipa).to_owned())),
        (true, _, ["enti", ipa, "privacy"])             => page(Page::OrgPrivacy((*ipa).to_owned())),
        (true, _, ["spontaneo"])                        => page(Page::SpontaneousForm),
        (_, true, ["spontaneo"])                        => page(Page::SpontaneousPost),
        (true, _, ["avviso"])                           => page(Page::NoticeSearch),
        (_, true, ["avviso"])                           => page(Page::NoticePost),
        (true, _, ["carrello"])                         => page(Page::Cart),
        (_, true, ["carrello", "aggiungi"])             => page(Page::CartAddPost),
        (_, true, ["carrello", "rimuovi"])              => page(Page::CartRemovePost),
        (_, true, ["carrello", "email"])                => page(Page::CartEmailPost),
        (_, true, ["carrello", "pin"])                  => page(Page::CartPinPost),
        (_, true, ["carrello", "paga"])                 => page(Page::CartPayPost),
        (true, _, ["carrello", "esito", t])             => page(Page::CartOutcome((*t).to_owned())),
        (true, _, ["carrello", "stato", t])             => page(Page::CartStatus((*t).to_owned())),
        (true, _, ["carrello", "annullato", t])         => page(Page::CartCancelled((*t).to_owned())),
        (true, _, ["carrello", "errore", t])            => page(Page::CartError((*t).to_owned())),
        (true, _, ["ricevute", id])                     => page(Page::Receipt((*id).to_owned())),
        (true, _, ["ricevute", id, "xml"])              => page(Page::ReceiptXml((*id).to_owned())),
        (true, _, ["ricevute", id, "pdf"])              => page(Page::ReceiptPdf((*id).to_owned())),
        (true, _, ["avvisi", ipa, file])                => page(Page::NoticePdf((*ipa).to_owned(), (*file).to_owned())),
        (true, _, ["accedi"])                           => page(Page::Login),
        (true, _, ["accedi", "oidc"])                   => page(Page::OidcStart),
        (_, true, ["accedi", "demo"])                   => page(Page::DemoLoginPost),
        (_, true, ["esci"])                             => page(Page::LogoutPost),
        (true, _, ["area-personale"])                   => page(Page::MyDebts),
        (true, _, ["area-personale", "pagamenti"])      => page(Page::MyPayments),
        (true, _, ["area-personale", "profilo"])        => page(Page::Profile),
        (_, true, ["area-personale", "profilo"])        => page(Page::ProfilePost),
        (true, _, ["privacy", "cookie"])                => page(Page::Cookies),
        (true, _, ["accessibilita"])                    => page(Page::Accessibility),
        (true, _, ["dev", "outbox"])                    => page(Page::DevOutbox),
        (_, _, ["operatore", ..])                       => backoffice::route(method, path).map_or(Route::NotFound, Route::Backoffice),
        (false, _, [""] | ["healthz"] | ["metrics"] | ["static", ..]) => Route::MethodNotAllowed("GET, HEAD"),
        _                                               => Route::NotFound,
    }
}

/// Picks the route with the configuration's own paths: the OpenID Connect redirect URI (GET only,
/// since it consumes the pending login), then the fixed table of [`route`].
pub fn route_in(state: &AppState, method: &str, path: &str) -> Route {
    let oidc_callback = state.config.citizen_auth.oidc().is_some_and(|oidc| path == oidc.redirect_path);
    if state.oidc.is_some() && method == "GET" && oidc_callback {
        return Route::Portal(Page::OidcCallback);
    }
    route(method, path)
}

/// Runs the handler of `route`.
pub fn dispatch(state: &AppState, route: &Route, request: &Request<'_>) -> Response {
    let response = match route {
        Route::Home => portal_call(state, &Page::Home, request),
        Route::Portal(page) => portal_call(state, page, request),
        Route::Backoffice(page) => backoffice_call(state, page, request),
        Route::Api(call) => api::handle(state, call, request),
        Route::Healthz => healthz(state),
        Route::Metrics => metrics::render(state),
        Route::Asset(path) => assets::serve(path, request.header("if-none-match")),
        Route::Station => station_call(state, request),
        Route::Sil => sil_call(state, request),
        Route::SilWsdl(file) => sil_wsdl(state, file),
        Route::SilDownload(ipa, kind, id) => sil_download(state, request, (ipa, kind, id)),
        Route::SilUpload => sil_upload(state, request),
        Route::MethodNotAllowed(allow) => Response::empty(405).with_header("Allow", *allow),
        Route::NotFound => ui::errors::not_found(),
    };
    if request.method == "HEAD" { Response { body: Vec::new(), ..response } } else { response }
}

/// The wrapper of every portal page: loads the session, reads the form (the body of a POST, the
/// query of a GET), refuses a form POST whose CSRF token is missing or wrong before any handler
/// runs, then stores the session and sets its cookie.
fn portal_call(state: &AppState, page: &Page, request: &Request<'_>) -> Response {
    with_session(state, request, |session, now| {
        let raw = if request.method == "POST" { request.body } else { request.query.as_bytes() };
        let form = match Form::parse(raw) {
            Ok(form) => form,
            Err(err) => {
                tracing::info!(error = %err, "unreadable form");
                return Err(ui::errors::bad_request("I dati inviati non sono leggibili."));
            }
        };
        let query = Form::parse(request.query.as_bytes()).unwrap_or_default();
        if page.is_form_post() {
            let is_form = request.header("content-type").is_some_and(|ct| {
                ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
            });
            if !is_form || !form.get("csrf").is_some_and(|token| session.csrf_matches(token)) {
                tracing::warn!(target: "security", page = page.name(), "form refused: missing or wrong CSRF token");
                return Err(ui::errors::forbidden_form());
            }
        }
        let mut ctx = portal::Ctx { state, request, session, form, query, now };
        Ok(portal::handle(&mut ctx, page))
    })
}

/// The wrapper of every back-office page: the session, the form (urlencoded, or the parts of a
/// multipart upload), the CSRF check of every form POST before any handler runs, then the session
/// saved and its cookie set.
fn backoffice_call(state: &AppState, page: &BoPage, request: &Request<'_>) -> Response {
    with_session(state, request, |session, now| {
        let content_type = request.header("content-type").unwrap_or_default();
        let (form, parts) = match multipart::boundary(content_type) {
            Some(boundary) if request.method == "POST" => match multipart::parse(request.body, &boundary) {
                Ok(parts) => (Form::default(), parts),
                Err(err) => {
                    tracing::info!(error = %err, "unreadable upload");
                    return Err(ui::errors::bad_request("Il file inviato non è leggibile."));
                }
            },
            _ => {
                let raw = if request.method == "POST" { request.body } else { request.query.as_bytes() };
                match Form::parse(raw) {
                    Ok(form) => (form, Vec::new()),
                    Err(_) => return Err(ui::errors::bad_request("I dati inviati non sono leggibili.")),
                }
            }
        };
        if request.method == "POST" {
            let token = form.get("csrf").map(str::to_owned).or_else(|| {
                parts
                    .iter()
                    .find(|p| p.name == "csrf" && p.file_name.is_none())
                    .map(|p| String::from_utf8_lossy(p.data).into_owned())
            });
            if !token.is_some_and(|t| session.csrf_matches(&t)) {
                tracing::warn!(target: "security", page = page.name(), "form refused: missing or wrong CSRF token");
                return Err(ui::errors::forbidden_form());
            }
        }
        let mut ctx = backoffice::BoCtx { state, session, form, parts, now, org_nav: None };
        Ok(backoffice::handle(&mut ctx, page))
    })
}

/// Loads the caller's session, runs `page` with it, then saves it and sets its cookie: the one
/// place the portal and the back office keep sessions. A request `page` refuses (`Err`: unreadable
/// form, failed CSRF check) is answered as is and leaves the session unsaved.
fn with_session(
    state: &AppState,
    request: &Request<'_>,
    page: impl FnOnce(&mut Session, jiff::Timestamp) -> Result<Response, Response>,
) -> Response {
    let now = clock::now();
    let mut session = match Session::load(state, request, now) {
        Ok(session) => session,
        Err(err) => {
            tracing::error!(error = %err, "cannot load the session");
            return ui::errors::internal_error(0);
        }
    };
    let response = match page(&mut session, now) {
        Ok(response) => response,
        Err(refusal) => return refusal,
    };
    match session.save(state, now) {
        Ok(Some(cookie)) => response.with_header("Set-Cookie", cookie),
        Ok(None) => response,
        Err(err) => {
            tracing::error!(error = %err, "cannot save the session");
            ui::errors::internal_error(0)
        }
    }
}

/// `POST /ws/fesp/`: one paForNode call.
fn station_call(state: &AppState, request: &Request<'_>) -> Response {
    let now = clock::now();
    let station = Station { db: &state.db, journal: &state.journal, identity: &state.station };
    let reply =
        station::handle(&station, request.header("soapaction"), request.body, clock::today_rome(now), &clock::iso(now));
    Response::text(reply.status, "text/xml; charset=utf-8", reply.body)
}

/// `POST /ws/pa/`: one SIL call.
fn sil_call(state: &AppState, request: &Request<'_>) -> Response {
    let now = clock::now();
    let sil = Sil {
        db: &state.db,
        journal: &state.journal,
        passwords: &state.sil_passwords,
        public_url: state.config.server.public_base(),
        station_id: &state.station.station_id,
        links: &state.links,
        data_dir: &state.config.data_dir,
        intermediary_password: state.config.sil.intermediary_password.expose(),
        intermediary_org: &state.config.sil.intermediary_org,
    };
    let reply = sil::handle(&sil, request.header("soapaction"), request.body, now);
    Response::text(reply.status, "text/xml; charset=utf-8", reply.body)
}

/// `GET /ws/pa/<file>`: our WSDL (with this server's endpoint address) and the XSD it imports.
fn sil_wsdl(state: &AppState, file: &str) -> Response {
    match sil::wsdl::document(file, state.config.server.public_url.as_ref().map_or("", HttpUrl::as_str)) {
        Some(text) => Response::text(200, "text/xml; charset=utf-8", text),
        None => ui::errors::not_found(),
    }
}

/// `GET /ws/pa/download/<ipa>/<kind>/<id>?scadenza=&firma=`: a file behind a SIL download URL.
fn sil_download(state: &AppState, request: &Request<'_>, (ipa, kind, id): (&str, &str, &str)) -> Response {
    let now = clock::now();
    let query = Form::parse(request.query.as_bytes()).unwrap_or_default();
    let signed = (query.get("scadenza").unwrap_or_default(), query.get("firma").unwrap_or_default());
    match sil::downloads::resolve(&state.db, &state.config.data_dir, &state.links, ipa, kind, id, signed, now) {
        Some(path) => backoffice::download(&path, "application/zip"),
        None => ui::errors::not_found(),
    }
}

/// `POST /ws/pa/upload?authorizationToken=…`: a debt flow uploaded by a SIL, exactly one non-empty
/// file part. Always HTTP 200 with MyPay's JSON array of one object: `{fileName, fileSize,
/// fileType}`, or `{codice, descrizione}`.
fn sil_upload(state: &AppState, request: &Request<'_>) -> Response {
    let now = clock::now();
    let answer = |value: serde_json::Value| Response::json(200, &serde_json::json!([value]));
    let refuse = |code: &str, message: &str| answer(serde_json::json!({ "codice": code, "descrizione": message }));
    let query = Form::parse(request.query.as_bytes()).unwrap_or_default();
    let token = query.get("authorizationToken").unwrap_or_default().to_owned();
    let parts = match multipart::boundary(request.header("content-type").unwrap_or_default()) {
        Some(boundary) => multipart::parse(request.body, &boundary).unwrap_or_default(),
        None => Vec::new(),
    };
    let files: Vec<_> = parts.iter().filter(|p| p.file_name.is_some() && !p.data.is_empty()).collect();
    let [file] = files.as_slice() else {
        return refuse("400", "un solo file non vuoto è richiesto");
    };
    let limits = crate::services::imports::Limits::from_config(&state.config);
    let name = file.file_name.clone().unwrap_or_default();
    let mut data = file.data;
    match crate::services::sil_uploads::upload(
        &state.db,
        &state.config.data_dir,
        limits,
        &state.links,
        &token,
        &name,
        &mut data,
        now,
    ) {
        Ok(import) => answer(serde_json::json!({
            "fileName": import.file_name, "fileSize": import.size_bytes, "fileType": "application/zip"
        })),
        Err(refused) => refuse(refused.code, &refused.message),
    }
}

/// `/healthz`: 200 when the database answers, 503 otherwise.
fn healthz(state: &AppState) -> Response {
    match state.db.ping() {
        Ok(()) => Response::json(200, &serde_json::json!({ "status": "ok" })),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            Response::json(503, &serde_json::json!({ "status": "error", "reason": "database unreachable" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("GET", "/"), Route::Home);
        assert_eq!(route("HEAD", "/healthz"), Route::Healthz);
        assert_eq!(route("GET", "/static/mypay.css"), Route::Asset("mypay.css".to_owned()));
        assert_eq!(route("POST", "/healthz"), Route::MethodNotAllowed("GET, HEAD"));
        assert_eq!(route("GET", "/nope"), Route::NotFound);
        assert_eq!(route("GET", "/enti/c_esempio"), Route::Portal(Page::Org("c_esempio".to_owned())));
        assert_eq!(route("POST", "/carrello/paga"), Route::Portal(Page::CartPayPost));
        assert!(Page::CartPayPost.is_form_post() && !Page::Cart.is_form_post());
    }
}
