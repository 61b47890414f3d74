//! The simulator's URL codemap: one table from (method, path) to a handler, and the subscription
//! key check of the APIs that pagoPA's API gateway protects (Checkout and FdR).

use serde_json::json;

use super::http::Request;
use super::state::Sim;
use super::{bizevents, checkout, faults::Faults, fdr, fdr_api, node_for_pa, pages, psp};
use crate::soap;
use crate::web::Response;

/// Every route of the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Index,
    Healthz,
    Stylesheet,
    /// `POST /checkout/ec/v{1,2}/carts`.
    CreateCart(u8),
    CartPage(String),
    CartSubmit(String),
    CartStatus(String),
    PspPay,
    PspSpontaneous,
    FdrGenerate,
    FdrList(String),
    FdrGet {
        org: String,
        fdr: String,
        revision: String,
        psp: String,
    },
    FdrPayments {
        org: String,
        fdr: String,
        revision: String,
        psp: String,
    },
    NodeForPa,
    /// `GET /bizevents/service/v1/organizations/{cf}/receipts/{iur}[/paymentoptions/{iuv}]`.
    BizReceipt {
        org: String,
        iur: String,
        iuv: Option<String>,
    },
    GetFaults,
    SetFaults,
    ResetFaults,
    MethodNotAllowed(&'static str),
    NotFound,
}

impl Route {
    /// The routes mypay calls; the fault switches apply to these only.
    pub fn faces_mypay(&self) -> bool {
        matches!(
            self,
            Route::CreateCart(_)
                | Route::FdrList(_)
                | Route::FdrGet { .. }
                | Route::FdrPayments { .. }
                | Route::NodeForPa
                | Route::BizReceipt { .. }
        )
    }

    /// HTML pages, which get the page security headers.
    pub fn is_page(&self) -> bool {
        matches!(self, Route::Index | Route::CartPage(_) | Route::CartSubmit(_) | Route::NotFound)
    }

    fn needs_subscription_key(&self) -> bool {
        matches!(
            self,
            Route::CreateCart(_)
                | Route::FdrList(_)
                | Route::FdrGet { .. }
                | Route::FdrPayments { .. }
                | Route::BizReceipt { .. }
        )
    }
}

/// The FdR API's base path, as on api.platform.pagopa.it.
pub const FDR_BASE: &str = "/fdr-org/service/v1";
/// Where nodeForPa (nodoChiedi*Rendicontazione) answers.
pub const NODE_FOR_PA_PATH: &str = "/nodo-auth/node-for-pa/v1";

/// Picks the route for a method and path.
#[rustfmt::skip]
pub fn route(method: &str, path: &str) -> Route {
    let get = matches!(method, "GET" | "HEAD");
    let post = method == "POST";
    let segments: Vec<&str> = path.trim_start_matches('/').trim_end_matches('/').split('/').collect();
    let owned = |s: &&str| (*s).to_owned();
    match segments.as_slice() {
        [""] if get => Route::Index,
        ["healthz"] if get => Route::Healthz,
        ["simulatore.css"] if get => Route::Stylesheet,
        ["checkout", "ec", "v1", "carts"] if post => Route::CreateCart(1),
        ["checkout", "ec", "v2", "carts"] if post => Route::CreateCart(2),
        ["c", id] if get => Route::CartPage(owned(id)),
        ["c", id] if post => Route::CartSubmit(owned(id)),
        ["sim", "carts", id] if get => Route::CartStatus(owned(id)),
        ["sim", "psp", "pay"] if post => Route::PspPay,
        ["sim", "psp", "spontaneous"] if post => Route::PspSpontaneous,
        ["sim", "fdr", "generate"] if post => Route::FdrGenerate,
        ["sim", "faults"] if get => Route::GetFaults,
        ["sim", "faults"] if post => Route::SetFaults,
        ["sim", "faults"] if method == "DELETE" => Route::ResetFaults,
        ["fdr-org", "service", "v1", "organizations", org, "fdrs"] if get => Route::FdrList(owned(org)),
        ["fdr-org", "service", "v1", "organizations", org, "fdrs", fdr, "revisions", revision, "psps", psp] if get => {
            Route::FdrGet { org: owned(org), fdr: owned(fdr), revision: owned(revision), psp: owned(psp) }
        }
        ["fdr-org", "service", "v1", "organizations", org, "fdrs", fdr, "revisions", revision, "psps", psp, "payments"] if get => {
            Route::FdrPayments { org: owned(org), fdr: owned(fdr), revision: owned(revision), psp: owned(psp) }
        }
        ["nodo-auth", "node-for-pa", "v1"] if post => Route::NodeForPa,
        ["bizevents", "service", "v1", "organizations", org, "receipts", iur] if get => {
            Route::BizReceipt { org: owned(org), iur: owned(iur), iuv: None }
        }
        ["bizevents", "service", "v1", "organizations", org, "receipts", iur, "paymentoptions", iuv] if get => {
            Route::BizReceipt { org: owned(org), iur: owned(iur), iuv: Some(owned(iuv)) }
        }
        [""] | ["healthz"] | ["simulatore.css"] | ["sim", "carts", _] | ["fdr-org", ..] | ["bizevents", ..] => Route::MethodNotAllowed("GET, HEAD"),
        ["checkout", "ec", _, "carts"] | ["sim", "psp", _] | ["sim", "fdr", "generate"] | ["nodo-auth", "node-for-pa", "v1"] => {
            Route::MethodNotAllowed("POST")
        }
        ["c", _] => Route::MethodNotAllowed("GET, HEAD, POST"),
        ["sim", "faults"] => Route::MethodNotAllowed("GET, POST, DELETE"),
        _ => Route::NotFound,
    }
}

/// Runs the handler of `route`.
pub fn dispatch(sim: &Sim, route: &Route, request: &Request) -> Response {
    if route.needs_subscription_key() && !subscription_key_ok(sim, request) {
        return Response::json(
            401,
            &json!({
                "statusCode": 401,
                "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
            }),
        );
    }
    let response = match route {
        Route::Index => pages::index(sim),
        Route::Healthz => Response::json(200, &json!({ "status": "ok" })),
        Route::Stylesheet => Response::text(200, "text/css; charset=utf-8", pages::STYLESHEET.to_owned()),
        Route::CreateCart(version) => checkout::create(sim, *version, request),
        Route::CartPage(id) => checkout::page(sim, id),
        Route::CartSubmit(id) => checkout::submit(sim, id, request),
        Route::CartStatus(id) => checkout::status(sim, id),
        Route::PspPay => psp::pay(sim, request),
        Route::PspSpontaneous => psp::spontaneous(sim, request),
        Route::FdrGenerate => fdr::generate_handler(sim),
        Route::FdrList(org) => fdr_api::list(sim, org, request),
        Route::FdrGet { org, fdr, revision, psp } => fdr_api::get(sim, org, fdr, revision, psp),
        Route::FdrPayments { org, fdr, revision, psp } => fdr_api::payments(sim, org, fdr, revision, psp, request),
        Route::NodeForPa => node_for_pa::handle(sim, request),
        Route::BizReceipt { org, iur, iuv } => bizevents::get(sim, org, iur, iuv.as_deref()),
        Route::GetFaults => Response::json(200, &sim.lock().faults.to_json()),
        Route::SetFaults => set_faults(sim, request),
        Route::ResetFaults => {
            sim.lock().faults = Faults::default();
            Response::json(200, &Faults::default().to_json())
        }
        Route::MethodNotAllowed(allow) => Response::empty(405).with_header("Allow", *allow),
        Route::NotFound => pages::not_found(),
    };
    if request.method == "HEAD" { Response { body: Vec::new(), ..response } } else { response }
}

/// The key in `Ocp-Apim-Subscription-Key` or `?subscription-key=`; not checked when none is set.
fn subscription_key_ok(sim: &Sim, request: &Request) -> bool {
    let expected = &sim.config.subscription_key;
    if expected.is_empty() {
        return true;
    }
    let given = request
        .header("ocp-apim-subscription-key")
        .map(str::to_owned)
        .or_else(|| request.query_param("subscription-key"));
    given.as_deref() == Some(expected.as_str())
}

fn set_faults(sim: &Sim, request: &Request) -> Response {
    let parsed = serde_json::from_slice::<serde_json::Value>(&request.body)
        .map_err(|err| format!("invalid JSON: {err}"))
        .and_then(|value| Faults::from_json(&value));
    match parsed {
        Ok(faults) => {
            tracing::info!(target: "nodesim", ?faults, "fault switches set");
            let body = faults.to_json();
            sim.lock().faults = faults;
            Response::json(200, &body)
        }
        Err(reason) => Response::json(400, &json!({ "error": reason })),
    }
}

/// The answer of the `answer_500` switch, in the route's own dialect.
pub fn fault_500(route: &Route) -> Response {
    if *route == Route::NodeForPa {
        return Response::text(500, "text/xml; charset=utf-8", soap::fault_envelope("Server", "simulated failure"));
    }
    Response::json(
        500,
        &json!({ "type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": "simulated failure" }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("POST", "/checkout/ec/v2/carts"), Route::CreateCart(2));
        assert_eq!(route("GET", "/checkout/ec/v2/carts"), Route::MethodNotAllowed("POST"));
        assert_eq!(route("GET", "/c/abc"), Route::CartPage("abc".to_owned()));
        assert_eq!(route("POST", "/c/abc"), Route::CartSubmit("abc".to_owned()));
        assert_eq!(route("DELETE", "/sim/faults"), Route::ResetFaults);
        assert_eq!(
            route("GET", "/fdr-org/service/v1/organizations/01234567897/fdrs"),
            Route::FdrList("01234567897".to_owned())
        );
        assert_eq!(
            route("GET", "/fdr-org/service/v1/organizations/1/fdrs/F/revisions/1/psps/P/payments"),
            Route::FdrPayments {
                org: "1".to_owned(),
                fdr: "F".to_owned(),
                revision: "1".to_owned(),
                psp: "P".to_owned()
            }
        );
        assert_eq!(route("POST", NODE_FOR_PA_PATH), Route::NodeForPa);
        assert_eq!(
            route("GET", "/bizevents/service/v1/organizations/1/receipts/T/paymentoptions/V"),
            Route::BizReceipt { org: "1".to_owned(), iur: "T".to_owned(), iuv: Some("V".to_owned()) }
        );
        assert_eq!(
            route("POST", "/bizevents/service/v1/organizations/1/receipts/T"),
            Route::MethodNotAllowed("GET, HEAD")
        );
        assert_eq!(route("GET", "/nope"), Route::NotFound);
        assert!(route("POST", "/checkout/ec/v1/carts").faces_mypay());
        assert!(!route("POST", "/sim/faults").faces_mypay());
    }
}
