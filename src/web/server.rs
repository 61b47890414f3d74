//! The listener and its worker pool: reads each request within its route's body limit, runs the
//! handler under `catch_unwind`, adds the security headers, logs and counts the request.
//!
//! Shutdown is cooperative: a SIGTERM/SIGINT sets the [`Shutdown`] flag, workers finish the request
//! they hold and stop taking new ones, then the caller checkpoints the database.
//!
//! Without `[tls]` the workers read one tiny_http server on the public address. With it, the public
//! address belongs to the TLS front end (`tls`), and the workers read the queue it fills from its
//! two internal servers. Every request carries whether its connection may call the station
//! (`config::NodeAuth`: a verified client certificate, or an allowed client address), and
//! [`is_station_path`] is refused to the others here, before the body is read or any handler runs.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::router::{self, Request};
use super::{AppState, Response, tls, ui};
use crate::config::NodeAuth;

/// How long a worker blocks waiting for a request before it looks at the shutdown flag again.
const POLL: Duration = Duration::from_millis(100);

/// Set to ask the server to stop.
#[derive(Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Sets the flag on SIGTERM and SIGINT.
    pub fn on_signals(&self) -> std::io::Result<()> {
        signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&self.0))?;
        signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&self.0))?;
        Ok(())
    }

    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("cannot start the TLS front end in {dir}: {reason}")]
    Tls { dir: String, reason: String },
}

/// Where workers take requests from.
enum Intake {
    /// Plain HTTP: the one tiny_http server on the public address.
    Plain(Arc<tiny_http::Server>),
    /// HTTPS: the front end's queue, fed by its two internal servers.
    Tls(tls::Front),
}

/// A bound listener, not yet serving.
pub struct Listener {
    intake: Intake,
    /// The public address (with TLS too: the front end's, never an internal one).
    pub local_addr: SocketAddr,
}

impl Listener {
    /// `https` when the listener terminates TLS, `http` otherwise; for printed addresses.
    pub fn scheme(&self) -> &'static str {
        match self.intake {
            Intake::Plain(_) => "http",
            Intake::Tls(_) => "https",
        }
    }
}

/// Binds the configured address (port 0 picks a free port; see `local_addr`). With `tls`, the
/// address serves HTTPS through the front end, whose internal sockets go in the given folder.
///
/// The socket is made here rather than by tiny_http so that it carries `TCP_NODELAY`, which Linux
/// passes on to accepted connections: tiny_http writes a response through a 1 KiB buffer, and
/// without it Nagle's algorithm meeting the client's delayed ACK adds about 40 ms to every answer
/// on a keep-alive connection.
pub fn bind(addr: SocketAddr, tls: Option<(&tls::Setup, &std::path::Path)>) -> Result<Listener, ServeError> {
    let bind_error = |reason: String| ServeError::Bind { addr: addr.to_string(), reason };
    let public = tcp_listener(addr).map_err(|err| bind_error(err.to_string()))?;
    let Some((setup, socket_dir)) = tls else {
        let local_addr = public.local_addr().map_err(|err| bind_error(err.to_string()))?;
        let server = tiny_http::Server::from_listener(public, None).map_err(|err| bind_error(err.to_string()))?;
        return Ok(Listener { intake: Intake::Plain(Arc::new(server)), local_addr });
    };
    let local_addr = public.local_addr().map_err(|err| bind_error(err.to_string()))?;
    let front = tls::start(public, setup, socket_dir)
        .map_err(|err| ServeError::Tls { dir: socket_dir.display().to_string(), reason: err.to_string() })?;
    Ok(Listener { intake: Intake::Tls(front), local_addr })
}

fn tcp_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket =
        socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// What the server knows about a request's connection.
#[derive(Debug, Clone, Copy, Default)]
struct Connection {
    /// The connection may call the station (`config::NodeAuth`).
    node_trusted: bool,
}

impl Intake {
    fn recv(&self, node_auth: &NodeAuth) -> Option<(tiny_http::Request, Connection)> {
        match self {
            Intake::Plain(server) => match server.recv_timeout(POLL) {
                Ok(request) => request.map(|r| {
                    // Plain HTTP has no client certificates: only an address can admit the Node.
                    let peer = r.remote_addr().map(|addr| addr.ip());
                    (r, Connection { node_trusted: node_auth.admits(false, peer) })
                }),
                Err(err) => {
                    tracing::warn!(error = %err, "failed to accept a request");
                    None
                }
            },
            // The front end decided, as it alone knows the client's certificate and address.
            Intake::Tls(front) => front
                .recv_timeout(POLL)
                .map(|incoming| (incoming.request, Connection { node_trusted: incoming.node_trusted })),
        }
    }
}

/// True for the station endpoint, which only the pagoPA Node may call. The path is read the way
/// `router::route` reads it (leading slashes collapsed), so that `//ws/fesp/` cannot slip past.
pub fn is_station_path(path: &str) -> bool {
    let path = path.trim_start_matches('/');
    path == "ws/fesp" || path.starts_with("ws/fesp/")
}

/// Serves until `shutdown` is triggered, with `workers` threads; returns when every in-flight
/// request has been answered.
pub fn serve(listener: Listener, state: Arc<AppState>, shutdown: &Shutdown) {
    let n_workers = state.config.server.workers;
    let request_ids = Arc::new(AtomicU64::new(1));
    let intake = Arc::new(listener.intake);
    let mut handles = Vec::with_capacity(n_workers);
    for worker_idx in 0..n_workers {
        let intake = Arc::clone(&intake);
        let state = Arc::clone(&state);
        let shutdown = shutdown.clone();
        let request_ids = Arc::clone(&request_ids);
        let spawned = std::thread::Builder::new().name(format!("http-{worker_idx}")).spawn(move || {
            while !shutdown.is_triggered() {
                match intake.recv(&state.config.node_auth) {
                    Some((request, conn)) => handle(&state, request, request_ids.fetch_add(1, Ordering::Relaxed), conn),
                    // Idle: a good moment to write the journal's pending batch.
                    None => state.journal.flush_if_due(&state.db),
                }
            }
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(err) => tracing::error!(error = %err, "cannot start an HTTP worker"),
        }
    }
    for handle in handles {
        if handle.join().is_err() {
            tracing::error!("an HTTP worker stopped abnormally");
        }
    }
    // Every answered response is now written to its connection; let the front end deliver them.
    if let Intake::Tls(front) = &*intake {
        front.stop();
    }
}

fn handle(state: &AppState, mut raw: tiny_http::Request, request_id: u64, conn: Connection) {
    let started = Instant::now();
    let method = raw.method().as_str().to_owned();
    let url = raw.url().to_owned();
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p).to_owned();
    let route = router::route_in(state, &method, &path);
    let peer = raw.remote_addr().map(|addr| addr.ip());
    let headers: Vec<(String, String)> = raw
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
        .collect();

    let response = if !conn.node_trusted && is_station_path(&path) {
        // Refused before the body is read and before any handler sees it.
        tracing::warn!(target: "security", request_id, ?peer, "station call refused: not the pagoPA Node");
        let why = match state.config.node_auth {
            NodeAuth::MutualTls => "this endpoint answers the pagoPA Node only: a client certificate is required\n",
            NodeAuth::Proxy(_) | NodeAuth::Addresses(_) => "this endpoint answers the pagoPA Node only\n",
        };
        Response::text(403, "text/plain; charset=utf-8", why.to_owned())
    } else {
        match read_body(&mut raw, route.body_limit(state)) {
            Err(response) => response,
            Ok(body) => {
                let query = url.split_once('?').map_or("", |(_, q)| q);
                let request = Request {
                    method: &method,
                    path: &path,
                    query,
                    headers: &headers,
                    body: &body,
                    node_trusted: conn.node_trusted,
                    peer,
                };
                match catch_unwind(AssertUnwindSafe(|| router::dispatch(state, &route, &request))) {
                    Ok(response) => response,
                    Err(_) => {
                        tracing::error!(request_id, method, path, "handler panicked");
                        ui::errors::internal_error(request_id)
                    }
                }
            }
        }
    };
    let response = with_security_headers(response, request_id, &state.csp);
    // The one check of every header value: a CR or LF (or any control character) would let a value
    // taken from a request write headers of its own. Such a response is not sent.
    let response = if let Some(name) = unsafe_header(&response) {
        tracing::error!(request_id, header = %name, "a response header held a control character; answered 500 instead");
        with_security_headers(ui::errors::internal_error(request_id), request_id, &state.csp)
    } else {
        response
    };
    let status = response.status;
    let elapsed = started.elapsed();
    state.metrics.observe(route.name(), &method, status, elapsed);
    tracing::info!(
        target: "access",
        request_id,
        method,
        path,
        status,
        node = conn.node_trusted,
        ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    let mut reply = tiny_http::Response::from_data(response.body).with_status_code(status);
    for (name, value) in response.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            reply.add_header(header);
        }
    }
    if let Err(err) = raw.respond(reply) {
        tracing::debug!(request_id, error = %err, "client went away before the response was sent");
    }
}

/// The name of the first header whose value holds a control character (CR, LF, NUL...), if any.
fn unsafe_header(response: &Response) -> Option<&str> {
    response.headers.iter().find(|(_, v)| v.contains(|c: char| c.is_control())).map(|(n, _)| *n)
}

/// Reads the body, refusing more than `limit` bytes with 413 without reading the rest.
fn read_body(raw: &mut tiny_http::Request, limit: u64) -> Result<Vec<u8>, Response> {
    if raw.body_length().is_some_and(|len| u64::try_from(len).unwrap_or(u64::MAX) > limit) {
        return Err(ui::errors::payload_too_large(limit));
    }
    let mut body = Vec::new();
    let reader = raw.as_reader();
    match reader.take(limit.saturating_add(1)).read_to_end(&mut body) {
        Ok(_) if u64::try_from(body.len()).unwrap_or(u64::MAX) > limit => Err(ui::errors::payload_too_large(limit)),
        Ok(_) => Ok(body),
        Err(_) => Err(Response::text(400, "text/plain; charset=utf-8", "cannot read the request body\n".to_owned())),
    }
}

/// The headers every response carries, set here and nowhere else.
fn with_security_headers(response: Response, request_id: u64, csp: &str) -> Response {
    response
        .with_header("Content-Security-Policy", csp.to_owned())
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Referrer-Policy", "same-origin")
        .with_header("X-Frame-Options", "DENY")
        .with_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        .with_header("X-Request-Id", request_id.to_string())
}

/// The Content-Security-Policy of every response. `form-action` also names where the payment
/// form's redirect goes: browsers check a form's redirects against it, so the 303 to pagoPA
/// Checkout (`checkout.pagopa.it`, or the configured Node's origin, e.g. the demo's simulator)
/// would otherwise be blocked.
pub fn content_security_policy(node_base_url: &str) -> String {
    let origin = node_base_url
        .split_once("://")
        .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()))
        .filter(|o| o.starts_with("http") && o.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b','));
    let extra = origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self' https://*.pagopa.it{extra}; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_action_allows_checkout_and_the_node() {
        let csp = content_security_policy("http://127.0.0.1:4000/x");
        assert!(csp.contains("form-action 'self' https://*.pagopa.it http://127.0.0.1:4000;"), "{csp}");
        let csp = content_security_policy("");
        assert!(csp.contains("form-action 'self' https://*.pagopa.it;"), "{csp}");
        assert!(!content_security_policy("http://a; script-src *").contains("script-src *"));
    }

    #[test]
    fn a_header_value_with_a_control_character_is_caught() {
        let clean = Response::empty(303).with_header("Location", "/ok?a=1".to_owned());
        assert_eq!(unsafe_header(&clean), None);
        for bad in ["/x\r\nSet-Cookie: a=1", "/x\nRefresh: 0", "a\0b"] {
            let response = Response::empty(303).with_header("Location", bad.to_owned());
            assert_eq!(unsafe_header(&response), Some("Location"), "{bad:?}");
        }
    }

    #[test]
    fn the_station_path_needs_a_client_certificate_however_it_is_spelled() {
        for path in ["/ws/fesp/", "/ws/fesp/PagamentiTelematiciRPT", "//ws/fesp/x", "/ws/fesp"] {
            assert!(is_station_path(path), "{path}");
        }
        for path in ["/", "/healthz", "/ws/fespx", "/ws/other/", "/static/ws/fesp/"] {
            assert!(!is_station_path(path), "{path}");
        }
    }
}
