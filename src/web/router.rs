//! The request/route model of every surface: what a route is (method, path pattern, metric name,
//! body limit, guard, handler), the one pattern matcher, and the dispatch to the surface that runs
//! the handler. The routes themselves are declared once, in the table of `super::routes`.
//!
//! A path is read the way each surface always read it, so no URL changed when the three routers
//! became one. The surface is chosen by the path's first segment after its leading slashes:
//! - `api` (the REST API): the path as given, a trailing slash is one more (empty) segment, and a
//!   path the table knows with other methods answers 405 with `Allow` listing them (as JSON);
//! - `operatore` (the back office): exactly one leading slash, trailing slashes ignored;
//! - anything else (the portal, probes, assets, the SOAP endpoints): leading slashes collapsed,
//!   a trailing slash is one more (empty) segment, and `{name}` takes an empty segment too.
//!
//! Patterns: `{name}` takes one segment; `{*name}` (last) takes the rest of the path, even
//! nothing; `/?` at the end makes one trailing slash optional. Rows are tried in table order and
//! the first one that takes the method and the path wins; GET also answers HEAD (the body is
//! dropped here). A row may refuse other methods on its path with 405 where it stands in the table
//! ([`WrongMethod`]); otherwise nothing found is the surface's 404.
//!
//! **Guards run on the head.** [`dispatch`] gets the request without its body and a
//! [`BodySource`]; each surface checks the route's guard (the session's login, an upload's CSRF
//! token carried in the query, the bearer token, the SIL's signed upload token, the regional
//! node's push token) and only then asks
//! for the body, so that nobody unknown makes the server read, store or parse one. A body nobody
//! asked for is never read. Only what travels inside the body (an urlencoded form's CSRF token, a
//! SOAP call's password) is checked after it, within the route's small limit.

use super::body::Body;
use super::routes::{OIDC_CALLBACK, ROUTES};
use super::session::Session;
use super::{AppState, Response, api, backoffice, portal, system, ui, upstream};
use crate::clock::Now;
use crate::config::Config;

/// A request as handlers see it.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The raw query string (after `?`), "" when there is none.
    pub query: &'a str,
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    /// The body, read within the route's limit once the route's guard admitted the head; empty
    /// before.
    pub body: &'a Body,
    /// The connection may call the station (`config::NodeAuth`). `server` already refuses the
    /// station path without it.
    #[allow(dead_code, reason = "for handlers that want it; the station guard itself lives in server")]
    pub node_trusted: bool,
    /// The client's address: the TCP peer, or behind `server.trusted_proxies` the client they
    /// name in `X-Forwarded-For`.
    pub peer: Option<std::net::IpAddr>,
    /// The address that opened the connection (the client, or the proxy in front of it):
    /// trusted-header login checks it against `citizen_auth.trusted_proxies`.
    pub tcp_peer: Option<std::net::IpAddr>,
}

impl<'a> Request<'a> {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// This request with its body.
    pub fn with_body<'b>(&self, body: &'b Body) -> Request<'b>
    where
        'a: 'b,
    {
        Request { body, ..*self }
    }
}

/// Where a request's body comes from: asked for by the surfaces once the route's guard admitted
/// the head (see the module documentation).
pub trait BodySource {
    /// The body, within the route's limit: in memory, or spooled to a file for the routes that
    /// take uploads ([`Limit::spooled`]). A response (413, 400) when it cannot be read.
    fn read(&mut self) -> Result<Body, Response>;
}

/// Reads the body from `source`, then runs `then` with the whole request.
pub fn with_body(
    head: &Request<'_>,
    source: &mut dyn BodySource,
    then: impl FnOnce(&Request<'_>) -> Response,
) -> Response {
    match source.read() {
        Ok(body) => then(&head.with_body(&body)),
        Err(refusal) => refusal,
    }
}

/// A route's method. `Get` also answers HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    fn takes(self, method: &str) -> bool {
        method == self.as_str() || (self == Method::Get && method == "HEAD")
    }
}

/// Who may call a route. The router enforces `Citizen`, `Operator`, `ApiToken`,
/// `SilUploadToken` and `Metrics` on the head, before the body is read, and `server` enforces
/// `Station` before anything else; the other rules name the credential the handler's service
/// checks, because it travels inside the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone (object-level checks, such as a receipt's, stay with the handler).
    Public,
    /// A logged-in citizen; anyone else is sent to the login page.
    Citizen,
    /// A logged-in operator; anyone else is sent to the operators' login page. Which orgs the
    /// operator may work on is the handler's `authz::operator` grant.
    Operator,
    /// `Authorization: Bearer` with a token of the org in the path: 401/403 as JSON otherwise.
    ApiToken,
    /// The SIL's `authorizationToken` in the query: signed, unexpired and not yet used
    /// (`services::sil::uploads::check`) before the body is read; claimed by the handler.
    SilUploadToken,
    /// The org's SIL password in the SOAP envelope, checked by `crate::sil` on every call.
    SilPassword,
    /// A link signed by `services::links`, checked by the handler.
    SignedUrl,
    /// `/metrics`: loopback, `metrics.allow` or `metrics.token` (`super::metrics::admits`).
    Metrics,
    /// The pagoPA Node only (`config::NodeAuth`): `server::is_station_path` refuses anyone else
    /// before the body is read.
    Station,
    /// The regional node's outcome push: `Authorization: Bearer` with an HS512 token of an org's
    /// push key (`super::upstream::call`), checked before the body is read; 401 otherwise.
    UpstreamPush,
}

/// What is checked before a route's handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub auth: Auth,
    /// An HTML form submission: its CSRF token is checked (and the session left unsaved when it
    /// is wrong) before the handler runs.
    pub csrf: bool,
}

/// How large a body a route reads; [`Limit::bytes`] gives the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A form or a page: `server.max_body_bytes`, at most 64 KiB.
    Form,
    /// A logo upload: the largest logo the service accepts plus the form around it, so that a file
    /// just over the limit gets the page's own message rather than a bare 413.
    Logo,
    /// A debt flow in a multipart form: `import.max_upload_bytes` plus 64 KiB for the other fields.
    FlowForm,
    /// A debt flow as the whole body: `import.max_upload_bytes`.
    Flow,
    /// An accertamenti registry in a multipart form: the service's budget for the file plus 64 KiB.
    RegistryForm,
    /// A JSON document: 1 MiB.
    Json,
    /// A paForNode message: pagoPA's largest (a receipt with five transfers and metadata) are a
    /// few KiB; 1 MiB.
    Station,
    /// A SIL call: five base64 Dovuti documents, or a carrello of several orgs; 4 MiB.
    Sil,
    /// The regional node's outcome push: a receipt and a `Pagati` in base64, a few KiB; 512 KiB.
    Push,
}

impl Limit {
    /// Uploads go to a spool file rather than memory (`super::body`).
    pub fn spooled(self) -> bool {
        matches!(self, Limit::Logo | Limit::FlowForm | Limit::Flow | Limit::RegistryForm)
    }

    pub fn bytes(self, config: &Config) -> u64 {
        match self {
            Limit::Form => config.server.max_body_bytes.min(64 * 1024),
            Limit::Logo => u64::try_from(crate::services::admin::orgs::LOGO_MAX_BYTES)
                .unwrap_or(u64::MAX)
                .saturating_add(128 * 1024),
            Limit::FlowForm => config.import.max_upload_bytes.saturating_add(64 * 1024),
            Limit::Flow => config.import.max_upload_bytes,
            Limit::RegistryForm => crate::services::reconciliation::accertamenti::payments::REGISTRY_UPLOAD_MAX_BYTES
                .saturating_add(64 * 1024),
            Limit::Json | Limit::Station => 1024 * 1024,
            Limit::Sil => 4 * 1024 * 1024,
            Limit::Push => 512 * 1024,
        }
    }
}

/// What a request with a method the row does not take gets, when the row's path matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongMethod {
    /// Nothing: the next rows are tried, and the surface answers if none takes the request.
    Pass,
    /// Every other method: 405 here, `Allow` naming the row's method.
    NotAllowed,
    /// GET and HEAD (a browser opening a SOAP endpoint): 405 here; other methods pass.
    ReadsNotAllowed,
}

/// A citizen portal page: runs with the session and the form; its error becomes the portal's page.
pub type PortalFn = fn(&mut portal::Ctx<'_>, &Params) -> Result<Response, portal::PageError>;
/// A back-office page: runs with the operator's session and the form or the upload's parts; its
/// error becomes the back office's page.
pub type BackofficeFn = fn(&mut backoffice::BoCtx<'_>, &Params) -> Result<Response, backoffice::BoError>;
/// A REST API endpoint: runs with the authenticated token; its error is written as JSON.
pub type ApiFn = fn(&api::ApiCtx<'_>) -> Result<Response, api::ApiError>;
/// Probes, assets, the SOAP endpoints and the SIL's files: the state and the request only.
pub type PlainFn = fn(&AppState, &Request<'_>, &Params) -> Response;
/// The regional node's push: runs with the org its token proved.
pub type UpstreamFn = fn(&upstream::PushCtx<'_>) -> Response;

/// A route's handler, with the surface that runs it.
#[derive(Clone, Copy)]
pub enum Handler {
    Portal(PortalFn),
    Backoffice(BackofficeFn),
    Api(ApiFn),
    Plain(PlainFn),
    Upstream(UpstreamFn),
}

/// One route: a row of `super::routes::ROUTES`.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// The path pattern (see the module doc).
    pub pattern: &'static str,
    /// The `route` label of `mypay_http_requests_total`: fixed per route, never the raw path.
    pub name: &'static str,
    pub limit: Limit,
    pub guard: Guard,
    pub handler: Handler,
    pub wrong_method: WrongMethod,
}

impl Route {
    pub const fn new(
        method: Method,
        pattern: &'static str,
        name: &'static str,
        limit: Limit,
        guard: Guard,
        handler: Handler,
    ) -> Route {
        Route { method, pattern, name, limit, guard, handler, wrong_method: WrongMethod::Pass }
    }

    /// Other methods on this path get 405.
    pub const fn refusing_other_methods(self) -> Route {
        Route { wrong_method: WrongMethod::NotAllowed, ..self }
    }

    /// GET and HEAD on this path get 405.
    pub const fn refusing_reads(self) -> Route {
        Route { wrong_method: WrongMethod::ReadsNotAllowed, ..self }
    }

    pub fn surface(&self) -> Surface {
        Surface::of(self.pattern)
    }

    /// The `Allow` value of a 405 given by this row.
    fn allow(&self) -> &'static str {
        if self.method == Method::Get { "GET, HEAD" } else { self.method.as_str() }
    }
}

/// The values a request's path gave a pattern's `{names}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of `{name}`; "" for a name the pattern does not have.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v.as_str())
    }
}

/// Where a path belongs, by its first segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The portal, probes, assets and the SOAP endpoints.
    Site,
    /// `/operatore/…`.
    Backoffice,
    /// `/api/…`.
    Api,
}

impl Surface {
    /// The surface of a request's path or of a pattern.
    pub fn of(path: &str) -> Surface {
        match path.trim_start_matches('/').split('/').next() {
            Some("api") => Surface::Api,
            Some("operatore") => Surface::Backoffice,
            _ => Surface::Site,
        }
    }

    /// The path's segments as this surface reads them (see the module doc), `None` for a path it
    /// reads as no route at all.
    fn segments(self, path: &str) -> Option<Vec<&str>> {
        match self {
            Surface::Site => Some(path.trim_start_matches('/').split('/').collect()),
            Surface::Backoffice => Some(path.trim_end_matches('/').strip_prefix('/')?.split('/').collect()),
            Surface::Api => Some(path.strip_prefix('/')?.split('/').collect()),
        }
    }

    /// Whether `{name}` takes an empty segment.
    fn empty_values(self) -> bool {
        self == Surface::Site
    }
}

/// The values of `pattern`'s `{names}` in `segments`, if the pattern matches them.
fn capture(pattern: &'static str, segments: &[&str], empty_values: bool) -> Option<Params> {
    let (pattern, optional_slash) = pattern.strip_suffix("/?").map_or((pattern, false), |p| (p, true));
    let want: Vec<&'static str> = pattern.strip_prefix('/').unwrap_or(pattern).split('/').collect();
    let segments = match segments.split_last() {
        Some((&"", head)) if optional_slash && head.len() == want.len() => head,
        _ => segments,
    };
    let mut got = segments.iter();
    let mut params = Vec::new();
    for part in want {
        let name = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'));
        if let Some(rest) = name.and_then(|n| n.strip_prefix('*')) {
            params.push((rest, got.by_ref().copied().collect::<Vec<_>>().join("/")));
            return Some(Params(params));
        }
        let segment = *got.next()?;
        match name {
            Some(name) if empty_values || !segment.is_empty() => params.push((name, segment.to_owned())),
            Some(_) => return None,
            None if part == segment => {}
            None => return None,
        }
    }
    got.next().is_none().then_some(Params(params))
}

/// What a request resolved to.
#[derive(Clone)]
pub enum Target {
    Route(&'static Route, Params),
    /// 405: the path takes other methods (the `Allow` value).
    NotAllowed(Surface, String),
    NotFound(Surface),
}

impl Target {
    /// The label used in metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Route(route, _) => route.name,
            Target::NotAllowed(Surface::Api, _) | Target::NotFound(Surface::Api) => "api",
            Target::NotAllowed(..) => "method_not_allowed",
            Target::NotFound(_) => "not_found",
        }
    }

    /// How large a body this request may send.
    pub fn limit(&self) -> Limit {
        match self {
            Target::Route(route, _) => route.limit,
            Target::NotAllowed(Surface::Api, _) | Target::NotFound(Surface::Api) => Limit::Json,
            Target::NotAllowed(..) | Target::NotFound(_) => Limit::Form,
        }
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Route(route, params) => write!(f, "Route({} {}, {params:?})", route.method.as_str(), route.pattern),
            Target::NotAllowed(surface, allow) => write!(f, "NotAllowed({surface:?}, {allow:?})"),
            Target::NotFound(surface) => write!(f, "NotFound({surface:?})"),
        }
    }
}

/// Picks the route of the table for a method and path.
pub fn route(method: &str, path: &str) -> Target {
    let surface = Surface::of(path);
    let Some(segments) = surface.segments(path) else {
        return Target::NotFound(surface);
    };
    let mut allowed: Vec<&str> = Vec::new();
    for route in ROUTES.iter().filter(|r| r.surface() == surface) {
        let Some(params) = capture(route.pattern, &segments, surface.empty_values()) else {
            continue;
        };
        if route.method.takes(method) {
            return Target::Route(route, params);
        }
        let refused = match route.wrong_method {
            WrongMethod::Pass => false,
            WrongMethod::NotAllowed => true,
            WrongMethod::ReadsNotAllowed => Method::Get.takes(method),
        };
        if refused {
            return Target::NotAllowed(surface, route.allow().to_owned());
        }
        allowed.push(route.method.as_str());
    }
    if surface == Surface::Api && !allowed.is_empty() {
        return Target::NotAllowed(surface, allowed.join(", "));
    }
    Target::NotFound(surface)
}

/// Picks the route with the configuration's own paths: the OpenID Connect redirect URI (GET only,
/// since it consumes the pending login), then the table.
pub fn route_in(state: &AppState, method: &str, path: &str) -> Target {
    let oidc_callback = state.config.citizen_auth.oidc().is_some_and(|oidc| path == oidc.redirect_path);
    if state.oidc.is_some() && method == "GET" && oidc_callback {
        return Target::Route(&OIDC_CALLBACK, Params::default());
    }
    route(method, path)
}

/// Runs the handler of `target` on its surface: the route's guard on `head`, then the body from
/// `body`, then the handler. A request no route takes is answered without reading its body.
pub fn dispatch(state: &AppState, target: &Target, head: &Request<'_>, body: &mut dyn BodySource) -> Response {
    let response = match target {
        Target::Route(route, params) => match route.handler {
            Handler::Portal(page) => portal::call(state, route, params, head, body, page),
            Handler::Backoffice(page) => backoffice::call(state, route, params, head, body, page),
            Handler::Api(endpoint) => api::call(state, route, params, head, body, endpoint),
            Handler::Upstream(handler) => upstream::call(state, head, body, handler),
            Handler::Plain(handler) => match plain_guard(state, route, head) {
                Ok(()) => with_body(head, body, |request| handler(state, request, params)),
                Err(refusal) => refusal,
            },
        },
        Target::NotAllowed(Surface::Api, allow) => api::not_allowed(state, head, allow),
        Target::NotFound(Surface::Api) => api::not_found(state, head),
        Target::NotAllowed(_, allow) => Response::empty(405).with_header("Allow", allow.clone()),
        Target::NotFound(_) => ui::errors::not_found(),
    };
    if head.method == "HEAD" { Response { body: Vec::new(), ..response } } else { response }
}

/// The guards of the routes no surface session or token covers, on the head.
fn plain_guard(state: &AppState, route: &Route, head: &Request<'_>) -> Result<(), Response> {
    match route.guard.auth {
        Auth::SilUploadToken => system::sil_upload_admits(state, head),
        Auth::Metrics => super::metrics::admits(state, head),
        // The surfaces of the others check them (`Upstream` handlers take `UpstreamPush`).
        Auth::Public
        | Auth::Citizen
        | Auth::Operator
        | Auth::ApiToken
        | Auth::SilPassword
        | Auth::SignedUrl
        | Auth::UpstreamPush => Ok(()),
        // `server` refuses the station path to anyone else before dispatching.
        Auth::Station => Ok(()),
    }
}

/// Loads the caller's session, runs `page` with it, then saves it and sets its cookie: the one
/// place the portal and the back office keep sessions. A request `page` refuses (`Err`: unreadable
/// form, failed CSRF check) is answered as is and leaves the session unsaved.
pub fn with_session(
    state: &AppState,
    request: &Request<'_>,
    page: impl FnOnce(&mut Session, Now) -> Result<Response, Response>,
) -> Response {
    let now = Now::read();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    /// (method, pattern, (name, value) of each `{name}`) of a resolved route.
    type Resolved = (&'static str, &'static str, Vec<(String, String)>);

    fn resolved(method: &str, path: &str) -> Option<Resolved> {
        match route(method, path) {
            Target::Route(r, Params(values)) => {
                Some((r.method.as_str(), r.pattern, values.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()))
            }
            _ => None,
        }
    }

    fn pattern(method: &str, path: &str) -> &'static str {
        resolved(method, path).map_or("-", |(_, p, _)| p)
    }

    fn values(method: &str, path: &str) -> Vec<String> {
        resolved(method, path).map(|(_, _, v)| v.into_iter().map(|(_, v)| v).collect()).unwrap_or_default()
    }

    fn name(method: &str, path: &str) -> &'static str {
        route(method, path).name()
    }

    fn allow(method: &str, path: &str) -> Option<String> {
        match route(method, path) {
            Target::NotAllowed(_, allow) => Some(allow),
            _ => None,
        }
    }

    #[test]
    fn routes() {
        assert_eq!(pattern("GET", "/"), "/");
        assert_eq!(name("GET", "/"), "home");
        assert_eq!(name("HEAD", "/healthz"), "healthz");
        assert_eq!(values("GET", "/static/mypay.css"), ["mypay.css"]);
        assert_eq!(allow("POST", "/healthz").as_deref(), Some("GET, HEAD"));
        assert_eq!(name("POST", "/healthz"), "method_not_allowed");
        assert_eq!(name("GET", "/nope"), "not_found");
        assert_eq!(
            (pattern("GET", "/enti/c_esempio"), values("GET", "/enti/c_esempio")),
            ("/enti/{ipa}", vec!["c_esempio".to_owned()])
        );
        let pay = resolved("POST", "/carrello/paga").map(|(_, p, _)| p);
        assert_eq!(pay, Some("/carrello/paga"));
        assert!(matches!(route("POST", "/carrello/paga"), Target::Route(r, _) if r.guard.csrf && r.name == "checkout"));
        assert!(matches!(route("GET", "/carrello"), Target::Route(r, _) if !r.guard.csrf && r.name == "cart"));
    }

    /// Leading slashes are collapsed on the site, not in the back office or the API; a trailing
    /// slash is an empty segment on the site and in the API, and ignored in the back office.
    #[test]
    fn slashes_are_read_as_each_surface_always_read_them() {
        assert_eq!(name("GET", "//"), "home");
        assert_eq!(name("GET", "//healthz"), "healthz");
        assert_eq!(name("GET", "/healthz/"), "not_found");
        assert_eq!(values("GET", "/static"), [""]);
        assert_eq!(values("GET", "/static/"), [""]);
        assert_eq!(values("GET", "/static/a//b"), ["a//b"]);
        assert_eq!(values("GET", "/enti/"), [""], "an empty segment is a value on the site");
        assert_eq!(name("GET", "/enti/"), "org");
        assert_eq!(name("GET", "/carrello/"), "not_found");
        assert_eq!(values("GET", "/ws/pa/download/a/b/"), ["a", "b", ""]);

        assert_eq!(pattern("GET", "/operatore/"), "/operatore");
        assert_eq!(pattern("GET", "/operatore/c_x/flussi//"), "/operatore/{ipa}/flussi");
        assert_eq!(name("GET", "//operatore"), "not_found");
        assert_eq!(name("GET", "/operatore//flussi"), "not_found", "no empty values in the back office");
        assert_eq!(values("GET", "/operatore/esci"), ["esci"], "GET /operatore/esci is an org's dashboard");

        assert_eq!(name("GET", "//api/openapi.json"), "api");
        assert!(matches!(route("GET", "//api/openapi.json"), Target::NotFound(Surface::Api)));
        assert!(matches!(route("GET", "/api"), Target::NotFound(Surface::Api)));
        assert!(matches!(route("GET", "/api/v1/orgs/x/debts/"), Target::NotFound(Surface::Api)));
        assert!(matches!(route("GET", "/api/v1/orgs/x/debts/1/more"), Target::NotFound(Surface::Api)));
    }

    #[test]
    fn wrong_methods_get_405_where_they_always_did() {
        for path in ["/", "//", "/healthz", "/metrics", "/static/x.css", "/static"] {
            for method in ["POST", "PUT", "DELETE"] {
                assert_eq!(allow(method, path).as_deref(), Some("GET, HEAD"), "{method} {path}");
            }
        }
        for path in ["/ws/fesp", "/ws/fesp/", "//ws/fesp/", "/ws/pa", "/ws/pa/"] {
            assert_eq!(allow("GET", path).as_deref(), Some("POST"), "{path}");
            assert_eq!(allow("HEAD", path).as_deref(), Some("POST"), "{path}");
            assert_eq!(name("PUT", path), "not_found", "{path}");
        }
        assert_eq!(pattern("POST", "/ws/fesp/"), "/ws/fesp/?");
        assert_eq!(pattern("POST", "/ws/fesp"), "/ws/fesp/?");
        assert_eq!(name("POST", "/ws/fesp//"), "not_found");
        assert_eq!(name("GET", "/ws/pa/upload"), "sil_wsdl");
        assert_eq!(name("POST", "/ws/pa/upload"), "sil_upload");
        assert_eq!(name("POST", "/ws/pa/x"), "not_found");
        assert_eq!(name("POST", "/ws/pa/PagamentiTelematiciFlussiSPC"), "sil");
        assert_eq!(name("GET", "/ws/pa/PagamentiTelematiciFlussiSPC"), "sil_wsdl");
        // Pages answer 404 to a method they do not take, and so does the back office.
        assert_eq!(name("POST", "/carrello"), "not_found");
        assert_eq!(name("GET", "/carrello/paga"), "not_found");
        assert_eq!(name("PUT", "/operatore/accedi"), "not_found");
        // The API names every method of the path.
        assert_eq!(allow("PATCH", "/api/v1/orgs/x/debts/1").as_deref(), Some("GET, PUT, DELETE"));
        assert_eq!(allow("GET", "/api/v1/orgs/x/debts").as_deref(), Some("POST"));
        assert_eq!(name("PATCH", "/api/v1/orgs/x/debts/1"), "api");
    }

    #[test]
    fn api_templates_give_their_values() {
        assert_eq!(
            resolved("GET", "/api/v1/orgs/c_f205/imports/7/files/scarti"),
            Some((
                "GET",
                "/api/v1/orgs/{ipa}/imports/{id}/files/{kind}",
                vec![
                    ("ipa".to_owned(), "c_f205".to_owned()),
                    ("id".to_owned(), "7".to_owned()),
                    ("kind".to_owned(), "scarti".to_owned())
                ]
            ))
        );
        assert_eq!(pattern("HEAD", "/api/v1/orgs/x/debts/1"), "/api/v1/orgs/{ipa}/debts/{iud}");
    }

    #[test]
    fn body_limits_follow_the_route() {
        let limit = |method: &str, path: &str| match route(method, path) {
            Target::Route(r, _) => r.limit,
            Target::NotAllowed(Surface::Api, _) | Target::NotFound(Surface::Api) => Limit::Json,
            _ => Limit::Form,
        };
        assert_eq!(limit("POST", "/ws/fesp/"), Limit::Station);
        assert_eq!(limit("POST", "/ws/pa/"), Limit::Sil);
        assert_eq!(limit("POST", "/ws/pa/upload"), Limit::FlowForm);
        assert_eq!(limit("POST", "/operatore/c_x/flussi"), Limit::FlowForm);
        assert_eq!(limit("POST", "/operatore/c_x/impostazioni/logo"), Limit::Logo);
        assert_eq!(limit("POST", "/operatore/c_x/accertamenti/anagrafica"), Limit::RegistryForm);
        assert_eq!(limit("POST", "/operatore/c_x/impostazioni"), Limit::Form);
        assert_eq!(limit("POST", "/api/v1/orgs/x/imports"), Limit::Flow);
        assert_eq!(limit("POST", "/api/v1/orgs/x/debts"), Limit::Json);
        assert_eq!(limit("GET", "/api/nothing"), Limit::Json);
        assert_eq!(limit("POST", "/"), Limit::Form);
        let spooled: Vec<Limit> =
            [Limit::Form, Limit::Logo, Limit::FlowForm, Limit::Flow, Limit::RegistryForm, Limit::Json, Limit::Sil]
                .into_iter()
                .filter(|l| l.spooled())
                .collect();
        assert_eq!(
            spooled,
            [Limit::Logo, Limit::FlowForm, Limit::Flow, Limit::RegistryForm],
            "uploads, and only they, go to disk"
        );
    }
}
