//! The listener and its worker pool: hands each request's head to the router under
//! `catch_unwind` with its body to be read on demand (within the route's limit, into memory or,
//! for uploads, a spool file: `body`), adds the security headers, logs and counts the request.
//! A gated body (`front::framing::is_gated`) is opened in the front end only when the router asks
//! for it, and cut when it was not read to its end, so that an unwanted body is never read.
//!
//! The public address belongs to the front end (`front`), for plain HTTP and HTTPS alike: it
//! accepts, enforces the connection budgets and deadlines, and hands requests to one internal
//! tiny_http server that the workers read. Every request carries the front end's tag: whether its
//! connection may call the station (`config::NodeAuth`: a verified client certificate, or an
//! allowed client address) and its TCP peer; [`is_station_path`] is refused to the others here,
//! before the body is read or any handler runs, and a request without a valid tag is refused.
//!
//! Shutdown is cooperative: a SIGTERM/SIGINT sets the [`Shutdown`] flag, the front end stops taking
//! connections, workers finish the request they hold and stop taking new ones, the front end
//! delivers what they answered, then the caller checkpoints the database.
//!
//! [`serve`] is also the watchdog: if the serving path dies (see `front`'s module documentation:
//! tiny_http's accept thread ends, its socket disappears, a front-end loop ends, or a worker
//! ends), it stops everything and returns an error, so that the process exits non-zero and the
//! supervisor restarts it instead of keeping a process that answers nobody.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::body::{self, Body, BodyError};
use super::front::{self, Front};
use super::router::{self, Limit, Request};
use super::{AppState, Response, tls, ui};
use crate::config::{Config, NodeAuth};

/// How long a worker blocks waiting for a request before it looks at the shutdown flag again, and
/// how often the watchdog looks at the serving path.
const POLL: Duration = Duration::from_millis(100);
/// At shutdown, how long workers wait for the requests the front end had already handed over.
const DRAIN: Duration = Duration::from_secs(10);

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

    /// Asks the server to stop (the watchdog, when the serving path died).
    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why the server could not start, or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("cannot start the HTTP front end in {dir}: {reason}")]
    Front { dir: String, reason: String },
    #[error("the server stopped serving: {0}")]
    Failed(String),
}

/// A bound listener, not yet serving.
pub struct Listener {
    front: Front,
    tls: bool,
    /// The public address.
    pub local_addr: SocketAddr,
}

impl Listener {
    /// `https` when the listener terminates TLS, `http` otherwise; for printed addresses.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// Binds `server.listen` (port 0 picks a free port; see `local_addr`) and starts the front end on
/// it, HTTPS with `tls`; tiny_http's socket goes in `<data_dir>/run`.
///
/// The socket is made here rather than by std so that it carries `TCP_NODELAY`, which Linux passes
/// on to accepted connections: responses are written in pieces, and without it Nagle's algorithm
/// meeting the client's delayed ACK adds about 40 ms to every answer on a keep-alive connection.
pub fn bind(config: &Config, tls: Option<&tls::Setup>) -> Result<Listener, ServeError> {
    let addr = config.server.listen;
    let bind_error = |reason: String| ServeError::Bind { addr: addr.to_string(), reason };
    let public = tcp_listener(addr).map_err(|err| bind_error(err.to_string()))?;
    let local_addr = public.local_addr().map_err(|err| bind_error(err.to_string()))?;
    let socket_dir = config.data_dir.join("run");
    let settings = front::Settings {
        tls: tls.cloned(),
        node_auth: config.node_auth.clone(),
        trusted_proxies: config.server.trusted_proxies.clone(),
        max_body: largest_body(config),
        socket_dir: socket_dir.clone(),
    };
    let front = Front::start(public, settings)
        .map_err(|err| ServeError::Front { dir: socket_dir.display().to_string(), reason: err.to_string() })?;
    Ok(Listener { front, tls: tls.is_some(), local_addr })
}

/// The largest body any route reads: the front end refuses a longer `Content-Length` at once.
fn largest_body(config: &Config) -> u64 {
    [
        Limit::Form,
        Limit::Logo,
        Limit::FlowForm,
        Limit::Flow,
        Limit::RegistryForm,
        Limit::Json,
        Limit::Station,
        Limit::Sil,
        Limit::Push,
    ]
    .into_iter()
    .map(|limit| limit.bytes(config))
    .max()
    .unwrap_or(u64::MAX)
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

/// What the station path answers in upstream mode (`config::UpstreamSettings`), before its body is
/// read.
const STATION_OFF: &str =
    "the local pagoPA station is off: this box is connected to the regional node (upstream mode)\n";

/// True for the station endpoint, which only the pagoPA Node may call. The path is read the way
/// `router::route` reads it (leading slashes collapsed), so that `//ws/fesp/` cannot slip past.
pub fn is_station_path(path: &str) -> bool {
    let path = path.trim_start_matches('/');
    path == "ws/fesp" || path.starts_with("ws/fesp/")
}

/// Serves until `shutdown` is triggered, with `workers` threads; returns when every in-flight
/// request has been answered. Returns an error when the serving path died (see the module
/// documentation); `shutdown` is then triggered too, for the other threads of the process.
pub fn serve(listener: Listener, state: Arc<AppState>, shutdown: &Shutdown) -> Result<(), ServeError> {
    let front = Arc::new(listener.front);
    let Some(backend) = front.backend() else {
        return Err(ServeError::Failed("the front end has no internal server".to_owned()));
    };
    let n_workers = state.config.server.workers;
    let request_ids = Arc::new(AtomicU64::new(1));
    let mut handles = Vec::with_capacity(n_workers);
    for worker_idx in 0..n_workers {
        let backend = Arc::clone(&backend);
        let front = Arc::clone(&front);
        let state = Arc::clone(&state);
        let shutdown = shutdown.clone();
        let request_ids = Arc::clone(&request_ids);
        let spawned = std::thread::Builder::new().name(format!("http-{worker_idx}")).spawn(move || {
            let mut stop_by = None;
            loop {
                if shutdown.is_triggered() {
                    // Requests the front end already handed over are answered before stopping.
                    let deadline = *stop_by.get_or_insert_with(|| Instant::now() + DRAIN);
                    if front.drained() || front.health().is_err() || Instant::now() >= deadline {
                        break;
                    }
                }
                match backend.recv_timeout(POLL) {
                    Ok(Some(request)) => handle(&state, &front, request, request_ids.fetch_add(1, Ordering::Relaxed)),
                    // Idle: a good moment to write the journal's pending batch.
                    Ok(None) => state.journal.flush_if_due(&state.db),
                    // tiny_http's only error: its accept thread failed and has ended.
                    Err(err) => {
                        front.fail(format!("the internal HTTP server stopped accepting connections: {err}"));
                        std::thread::sleep(POLL);
                    }
                }
            }
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(err) => tracing::error!(error = %err, "cannot start an HTTP worker"),
        }
    }
    drop(backend);
    let failure = watch(&front, &handles, shutdown);
    if let Some(reason) = &failure {
        tracing::error!(%reason, "stopping: the server cannot serve any more; exiting with an error so that it is restarted");
        shutdown.trigger();
    }
    front.quiesce();
    for handle in handles {
        if handle.join().is_err() {
            tracing::error!("an HTTP worker stopped abnormally");
        }
    }
    // Every answered response is now written towards its connection; let the front end deliver it.
    front.stop();
    failure.map_or(Ok(()), |reason| Err(ServeError::Failed(reason)))
}

/// Waits for `shutdown`, looking at the serving path every [`POLL`]; the reason it died, if it did.
fn watch(front: &Front, workers: &[JoinHandle<()>], shutdown: &Shutdown) -> Option<String> {
    loop {
        if let Some(reason) = failure(front, workers, shutdown) {
            return Some(reason);
        }
        if shutdown.is_triggered() {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Why the server cannot serve any more, if so: the front end says so, or a worker ended (they
/// only end at shutdown; a panic outside a handler's `catch_unwind` would end one).
fn failure(front: &Front, workers: &[JoinHandle<()>], shutdown: &Shutdown) -> Option<String> {
    if let Err(reason) = front.health() {
        return Some(reason);
    }
    if workers.is_empty() {
        return Some("no HTTP worker could start".to_owned());
    }
    if !shutdown.is_triggered() && workers.iter().any(JoinHandle::is_finished) {
        return Some("an HTTP worker stopped".to_owned());
    }
    None
}

/// A request whose tag is missing or forged is answered here: it did not come through the front
/// end as it read it, so nothing about its connection is known.
fn refuse_untagged(raw: tiny_http::Request, request_id: u64) {
    tracing::warn!(target: "security", request_id, "request without the front end's tag refused");
    let reply = tiny_http::Response::from_string("bad request\n").with_status_code(400);
    let _ = raw.respond(reply);
}

fn handle(state: &AppState, front: &Front, mut raw: tiny_http::Request, request_id: u64) {
    let started = Instant::now();
    let tag = raw
        .headers()
        .iter()
        .filter(|h| h.field.equiv(front::tag::TAG_HEADER))
        .find_map(|h| front.identify(h.value.as_str()));
    let Some(tag) = tag else {
        refuse_untagged(raw, request_id);
        return;
    };
    let conn = Connection { node_trusted: tag.node_trusted };
    let method = raw.method().as_str().to_owned();
    let url = raw.url().to_owned();
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p).to_owned();
    let route = router::route_in(state, &method, &path);
    let headers: Vec<(String, String)> = raw
        .headers()
        .iter()
        .filter(|h| !h.field.equiv(front::tag::TAG_HEADER))
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
        .collect();
    let forwarded: Vec<&str> =
        headers.iter().filter(|(name, _)| name == "x-forwarded-for").map(|(_, value)| value.as_str()).collect();
    let peer = front.client_address(tag.peer, &forwarded);

    let query = url.split_once('?').map_or("", |(_, q)| q);
    let head = Request {
        method: &method,
        path: &path,
        query,
        headers: &headers,
        body: &body::EMPTY,
        node_trusted: conn.node_trusted,
        peer: Some(peer),
        tcp_peer: Some(tag.peer),
    };
    let limit = route.limit();
    let mut incoming = Incoming {
        gated: front::framing::is_gated(raw.headers()),
        raw: &mut raw,
        front,
        connection: tag.connection,
        limit: limit.bytes(&state.config),
        spool: limit.spooled().then(|| state.config.data_dir.join("tmp")),
        progress: Progress::Untouched,
    };
    let response = if state.config.upstream.is_some() && is_station_path(&path) {
        // Upstream mode: the regional node is the station; nobody, the Node included, calls this one.
        tracing::info!(target: "security", request_id, %peer, "station call refused: the station is off in upstream mode");
        Response::text(404, "text/plain; charset=utf-8", STATION_OFF.to_owned())
    } else if !conn.node_trusted && is_station_path(&path) {
        // Refused before the body is read and before any handler sees it.
        tracing::warn!(target: "security", request_id, %peer, "station call refused: not the pagoPA Node");
        let why = match state.config.node_auth {
            NodeAuth::MutualTls => "this endpoint answers the pagoPA Node only: a client certificate is required\n",
            NodeAuth::Proxy(_) | NodeAuth::Addresses(_) => "this endpoint answers the pagoPA Node only\n",
        };
        Response::text(403, "text/plain; charset=utf-8", why.to_owned())
    } else {
        match catch_unwind(AssertUnwindSafe(|| router::dispatch(state, &route, &head, &mut incoming))) {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(request_id, method, path, "handler panicked");
                ui::errors::internal_error(request_id)
            }
        }
    };
    incoming.finish();
    let https = front.is_tls();
    let response = with_security_headers(response, request_id, &state.csp, https);
    // The one check of every header value: a CR or LF (or any control character) would let a value
    // taken from a request write headers of its own. Such a response is not sent.
    let response = if let Some(name) = unsafe_header(&response) {
        tracing::error!(request_id, header = %name, "a response header held a control character; answered 500 instead");
        with_security_headers(ui::errors::internal_error(request_id), request_id, &state.csp, https)
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
        %peer,
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
    front.responded(tag.connection);
}

/// The name of the first header whose value holds a control character (CR, LF, NUL...), if any.
fn unsafe_header(response: &Response) -> Option<&str> {
    response.headers.iter().find(|(_, v)| v.contains(|c: char| c.is_control())).map(|(n, _)| *n)
}

/// How far a request's body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    /// Not a byte: nobody asked, or it was refused on its declared length.
    Untouched,
    /// Reading began and stopped short (over the limit, or an error).
    Broken,
    /// Read to its end.
    Complete,
}

/// A request's body, read when the router asks for it (see `router::BodySource`): within the
/// route's limit, into memory or a spool file, after telling the front end to let a gated body
/// through.
struct Incoming<'r> {
    raw: &'r mut tiny_http::Request,
    front: &'r Front,
    connection: u64,
    /// The front end holds the body until the server opens it (`front::framing::is_gated`).
    gated: bool,
    limit: u64,
    /// Where an upload is spooled, for the routes that take one.
    spool: Option<PathBuf>,
    progress: Progress,
}

impl router::BodySource for Incoming<'_> {
    fn read(&mut self) -> Result<Body, Response> {
        if self.progress != Progress::Untouched {
            // Read once: a second reader would see nothing.
            return Err(ui::errors::internal_error(0));
        }
        // A gated body reaches tiny_http chunked, with the client's Content-Length kept.
        let declared = self
            .raw
            .headers()
            .iter()
            .find(|h| h.field.equiv("Content-Length"))
            .and_then(|h| h.value.as_str().parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.limit) {
            return Err(ui::errors::payload_too_large(self.limit));
        }
        if self.gated {
            self.front.open_body(self.connection);
        }
        self.progress = Progress::Broken;
        let reader = self.raw.as_reader();
        let read = match &self.spool {
            Some(dir) => Body::spool(reader, dir, self.limit),
            None => Body::read(reader, self.limit),
        };
        match read {
            Ok(body) => {
                self.progress = Progress::Complete;
                Ok(body)
            }
            Err(BodyError::TooLarge(limit)) => Err(ui::errors::payload_too_large(limit)),
            Err(err @ BodyError::Read(_)) => {
                tracing::info!(error = %err, "request body unreadable");
                Err(Response::text(400, "text/plain; charset=utf-8", "cannot read the request body\n".to_owned()))
            }
            Err(err @ BodyError::Spool { .. }) => {
                tracing::error!(error = %err, "cannot store an upload");
                Err(ui::errors::internal_error(0))
            }
        }
    }
}

impl Incoming<'_> {
    /// After the response is made: a gated body not read to its end is cut in the front end, so
    /// that nothing more of it is read; what had already reached tiny_http is drained here, so that
    /// tiny_http does not take it for the next request.
    fn finish(&mut self) {
        if !self.gated || self.progress == Progress::Complete {
            return;
        }
        self.front.cut_body(self.connection);
        if self.progress == Progress::Broken {
            // Bounded by what the front end forwarded before the cut: its inbox and the socket.
            let _ = std::io::copy(self.raw.as_reader(), &mut std::io::sink());
        }
    }
}

/// The headers every response carries, set here and nowhere else; over HTTPS also
/// `Strict-Transport-Security`.
fn with_security_headers(response: Response, request_id: u64, csp: &str, https: bool) -> Response {
    let response = if https {
        response.with_header("Strict-Transport-Security", tls::STRICT_TRANSPORT_SECURITY)
    } else {
        response
    };
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
/// or, in upstream mode, to the Region's pages (`region_origin`) would otherwise be blocked.
pub fn content_security_policy(node_base_url: &str, region_origin: Option<&str>) -> String {
    let origin = |url: &str| {
        url.split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()))
            .filter(|o| o.starts_with("http") && o.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b','))
    };
    let extra: String = [origin(node_base_url), region_origin.and_then(origin)]
        .into_iter()
        .flatten()
        .map(|o| format!(" {o}"))
        .collect();
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self' https://*.pagopa.it{extra}; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_sees_a_stopped_worker_and_a_failed_front_end() {
        #![allow(clippy::unwrap_used)]
        let dir = tempfile::tempdir().unwrap();
        let settings = front::Settings {
            tls: None,
            node_auth: NodeAuth::Addresses(Vec::new()),
            trusted_proxies: Vec::new(),
            max_body: 1024,
            socket_dir: dir.path().join("run"),
        };
        let front = Front::start(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), settings).unwrap();
        let shutdown = Shutdown::new();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let alive = vec![std::thread::spawn(move || {
            let _ = wait.recv();
        })];
        assert_eq!(failure(&front, &alive, &shutdown), None);
        let stopped = vec![std::thread::spawn(|| {})];
        while !stopped.iter().all(JoinHandle::is_finished) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(failure(&front, &stopped, &shutdown).as_deref(), Some("an HTTP worker stopped"));
        assert_eq!(failure(&front, &[], &shutdown).as_deref(), Some("no HTTP worker could start"));
        shutdown.trigger();
        assert_eq!(failure(&front, &stopped, &shutdown), None, "workers end at shutdown");
        assert_eq!(watch(&front, &alive, &shutdown), None);
        front.fail("tiny_http's accept thread ended".to_owned());
        assert_eq!(watch(&front, &alive, &shutdown).as_deref(), Some("tiny_http's accept thread ended"));
        drop(release);
        front.stop();
    }

    #[test]
    fn form_action_allows_checkout_the_node_and_the_region() {
        let csp = content_security_policy("http://127.0.0.1:4000/x", None);
        assert!(csp.contains("form-action 'self' https://*.pagopa.it http://127.0.0.1:4000;"), "{csp}");
        let csp = content_security_policy("", None);
        assert!(csp.contains("form-action 'self' https://*.pagopa.it;"), "{csp}");
        assert!(!content_security_policy("http://a; script-src *", None).contains("script-src *"));
        let csp = content_security_policy("", Some("https://mypay.regione.example:8443"));
        assert!(csp.contains("form-action 'self' https://*.pagopa.it https://mypay.regione.example:8443;"), "{csp}");
        assert!(!content_security_policy("", Some("https://r; script-src *")).contains("script-src *"));
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
