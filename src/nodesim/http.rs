//! The simulator's own HTTP listener: a small tiny_http worker pool separate from mypay's server
//! (the simulator is another system, with pages of its own). Reads each
//! body within a limit, applies the fault switches to the routes mypay calls, runs the handler
//! under `catch_unwind` and logs one line per request.

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::router::{self, Route};
use super::state::Sim;
use crate::web::Response;

/// Largest request body read; carts and SOAP requests are a few KiB.
const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// How long a worker waits for a request before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(100);

/// A request as the handlers see it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_urlencoded(&self.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// Decodes `a=1&b=x+y%21` (forms and query strings).
pub fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (crate::web::forms::decode_lossy(key), crate::web::forms::decode_lossy(value))
        })
        .collect()
}

/// Starts `n` workers on `server`; they return when the simulator is asked to stop.
pub fn start_workers(sim: &Arc<Sim>, server: &Arc<tiny_http::Server>, n: usize) -> Vec<std::thread::JoinHandle<()>> {
    let mut handles = Vec::new();
    for idx in 0..n {
        let sim = Arc::clone(sim);
        let server = Arc::clone(server);
        let spawned = std::thread::Builder::new().name(format!("nodesim-http-{idx}")).spawn(move || {
            while !sim.stopping() {
                match server.recv_timeout(POLL) {
                    Ok(Some(request)) => handle(&sim, request),
                    Ok(None) => {}
                    Err(err) => tracing::warn!(error = %err, "node simulator: failed to accept a request"),
                }
            }
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(err) => tracing::error!(error = %err, "node simulator: cannot start an HTTP worker"),
        }
    }
    handles
}

fn handle(sim: &Sim, mut raw: tiny_http::Request) {
    let started = Instant::now();
    let method = raw.method().as_str().to_owned();
    let url = raw.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let route = router::route(&method, path);
    let faults = if route.faces_mypay() { Some(sim.lock().faults.clone()) } else { None };
    if let Some(delay_ms) = faults.as_ref().map(|f| f.delay_ms).filter(|ms| *ms > 0) {
        std::thread::sleep(Duration::from_millis(delay_ms));
    }
    if faults.as_ref().is_some_and(|f| f.drop_answer) {
        tracing::info!(target: "nodesim", method, path, "fault switch: dropping the answer");
        // Taking the raw writer and dropping it sends nothing: the client sees no answer.
        drop(raw.into_writer());
        return;
    }
    let mut request = Request {
        method: method.clone(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers: raw
            .headers()
            .iter()
            .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
            .collect(),
        body: Vec::new(),
    };
    let response = if faults.as_ref().is_some_and(|f| f.answer_500) {
        router::fault_500(&route)
    } else {
        match read_body(&mut raw) {
            Err(response) => response,
            Ok(body) => {
                request.body = body;
                match catch_unwind(AssertUnwindSafe(|| router::dispatch(sim, &route, &request))) {
                    Ok(response) => response,
                    Err(_) => {
                        tracing::error!(target: "nodesim", method, path, "handler panicked");
                        Response::text(500, "text/plain; charset=utf-8", "errore interno del simulatore\n".to_owned())
                    }
                }
            }
        }
    };
    let status = response.status;
    tracing::info!(
        target: "nodesim",
        method,
        path,
        status,
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    let response = with_headers(response, &route);
    let mut reply = tiny_http::Response::from_data(response.body).with_status_code(status);
    for (name, value) in response.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            reply.add_header(header);
        }
    }
    if let Err(err) = raw.respond(reply) {
        tracing::debug!(error = %err, "node simulator: client went away before the answer");
    }
}

fn read_body(raw: &mut tiny_http::Request) -> Result<Vec<u8>, Response> {
    let too_large = || Response::text(413, "text/plain; charset=utf-8", "richiesta troppo grande\n".to_owned());
    if raw.body_length().is_some_and(|len| u64::try_from(len).unwrap_or(u64::MAX) > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    match raw.as_reader().take(MAX_BODY_BYTES + 1).read_to_end(&mut body) {
        Ok(_) if u64::try_from(body.len()).unwrap_or(u64::MAX) > MAX_BODY_BYTES => Err(too_large()),
        Ok(_) => Ok(body),
        Err(_) => {
            Err(Response::text(400, "text/plain; charset=utf-8", "corpo della richiesta illeggibile\n".to_owned()))
        }
    }
}

/// Security headers for pages. Unlike mypay's, the CSP has no `form-action`: the cart form's
/// answer redirects to the org's return URLs on another origin, which `form-action 'self'`
/// would block.
fn with_headers(response: Response, route: &Route) -> Response {
    let response = response.with_header("X-Content-Type-Options", "nosniff");
    if !route.is_page() {
        return response;
    }
    response
        .with_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; \
             object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
        )
        .with_header("Referrer-Policy", "same-origin")
        .with_header("X-Frame-Options", "DENY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_and_queries() {
        assert_eq!(
            parse_urlencoded("outcome=OK&psp=SIM%20PSP+1&empty=&flag&bad=%zz%4"),
            vec![
                ("outcome".to_owned(), "OK".to_owned()),
                ("psp".to_owned(), "SIM PSP 1".to_owned()),
                ("empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
                ("bad".to_owned(), "%zz%4".to_owned()),
            ]
        );
        let request = Request { query: "page=2&size=10".to_owned(), ..Request::default() };
        assert_eq!(request.query_param("size").as_deref(), Some("10"));
        assert_eq!(request.query_param("nope"), None);
    }
}
