//! The URL codemap: one table from (method, path) to a handler, with each route's name (for
//! metrics) and body limit. Handlers live beside the pages they render.

use super::{AppState, Response, assets, metrics, portal, ui};
use crate::clock;
use crate::pagopa::station::{self, Station};

/// A request as handlers see it.
pub struct Request<'a> {
    pub method: &'a str,
    /// Header names in lower case.
    pub headers: &'a [(String, String)],
    /// The body, read within the route's limit.
    pub body: &'a [u8],
    /// The connection presented a client certificate that chains to `tls.client_ca` (always false
    /// without TLS). `server` already refuses the station path without it.
    #[allow(dead_code, reason = "for handlers that want it; the station guard itself lives in server")]
    pub client_verified: bool,
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
    MethodNotAllowed(&'static str),
    NotFound,
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
            Route::MethodNotAllowed(_) => "method_not_allowed",
            Route::NotFound => "not_found",
        }
    }

    /// The largest body this route reads. GET routes take none worth mentioning.
    pub fn body_limit(&self, state: &AppState) -> u64 {
        match self {
            // pagoPA's largest messages (a receipt with five transfers and metadata) are a few KiB.
            Route::Station => 1024 * 1024,
            Route::Home
            | Route::Healthz
            | Route::Metrics
            | Route::Asset(_)
            | Route::MethodNotAllowed(_)
            | Route::NotFound => state.config.raw.server.max_body_bytes.min(64 * 1024),
        }
    }
}

/// Picks the route for a method and path.
#[rustfmt::skip]
pub fn route(method: &str, path: &str) -> Route {
    let get = matches!(method, "GET" | "HEAD");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (get, segments.as_slice()) {
        (true,  [""])                      => Route::Home,
        (true,  ["healthz"])               => Route::Healthz,
        (true,  ["metrics"])               => Route::Metrics,
        (true,  ["static", rest @ ..])     => Route::Asset(rest.join("/")),
        (false, ["ws", "fesp"] | ["ws", "fesp", ""]) if method == "POST" => Route::Station,
        (true,  ["ws", "fesp"] | ["ws", "fesp", ""]) => Route::MethodNotAllowed("POST"),
        (false, [""] | ["healthz"] | ["metrics"] | ["static", ..]) => Route::MethodNotAllowed("GET, HEAD"),
        _                                  => Route::NotFound,
    }
}

/// Runs the handler of `route`.
pub fn dispatch(state: &AppState, route: &Route, request: &Request<'_>) -> Response {
    let response = match route {
        Route::Home => portal::home::page(state),
        Route::Healthz => healthz(state),
        Route::Metrics => metrics::render(state),
        Route::Asset(path) => assets::serve(path, request.header("if-none-match")),
        Route::Station => station_call(state, request),
        Route::MethodNotAllowed(allow) => Response::empty(405).with_header("Allow", *allow),
        Route::NotFound => ui::errors::not_found(),
    };
    if request.method == "HEAD" { Response { body: Vec::new(), ..response } } else { response }
}

/// `POST /ws/fesp/`: one paForNode call.
fn station_call(state: &AppState, request: &Request<'_>) -> Response {
    let now = clock::now();
    let station = Station { db: &state.db, journal: &state.journal, identity: &state.station };
    let reply =
        station::handle(&station, request.header("soapaction"), request.body, clock::today_rome(now), &clock::iso(now));
    Response::text(reply.status, "text/xml; charset=utf-8", reply.body)
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
    }
}
