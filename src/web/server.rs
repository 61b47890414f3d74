//! The listener and its worker pool: reads each request within its route's body limit, runs the
//! handler under `catch_unwind`, adds the security headers, logs and counts the request.
//!
//! Shutdown is cooperative: a SIGTERM/SIGINT sets the [`Shutdown`] flag, workers finish the request
//! they hold and stop taking new ones, then the caller checkpoints the database.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::router::{self, Request};
use super::{AppState, Response, ui};

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

    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
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
}

/// A bound listener, not yet serving.
pub struct Listener {
    server: Arc<tiny_http::Server>,
    pub local_addr: SocketAddr,
}

/// Binds the configured address (port 0 picks a free port; see `local_addr`).
///
/// The socket is made here rather than by tiny_http so that it carries `TCP_NODELAY`, which Linux
/// passes on to accepted connections: tiny_http writes a response through a 1 KiB buffer, and
/// without it Nagle's algorithm meeting the client's delayed ACK adds about 40 ms to every answer
/// on a keep-alive connection.
pub fn bind(addr: SocketAddr) -> Result<Listener, ServeError> {
    let fail = |err: std::io::Error| ServeError::Bind { addr: addr.to_string(), reason: err.to_string() };
    let socket =
        socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, Some(socket2::Protocol::TCP))
            .map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.set_tcp_nodelay(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    socket.listen(1024).map_err(fail)?;
    let listener: std::net::TcpListener = socket.into();
    let local_addr = listener.local_addr().map_err(fail)?;
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|err| ServeError::Bind { addr: addr.to_string(), reason: err.to_string() })?;
    Ok(Listener { server: Arc::new(server), local_addr })
}

/// Serves until `shutdown` is triggered, with `workers` threads; returns when every in-flight
/// request has been answered.
pub fn serve(listener: Listener, state: Arc<AppState>, shutdown: &Shutdown) {
    let n_workers = state.config.raw.server.workers;
    let request_ids = Arc::new(AtomicU64::new(1));
    let mut handles = Vec::with_capacity(n_workers);
    for worker_idx in 0..n_workers {
        let server = Arc::clone(&listener.server);
        let state = Arc::clone(&state);
        let shutdown = shutdown.clone();
        let request_ids = Arc::clone(&request_ids);
        let spawned = std::thread::Builder::new().name(format!("http-{worker_idx}")).spawn(move || {
            while !shutdown.is_triggered() {
                match server.recv_timeout(POLL) {
                    Ok(Some(request)) => handle(&state, request, request_ids.fetch_add(1, Ordering::Relaxed)),
                    Ok(None) => state.journal.flush_if_due(&state.db),
                    Err(err) => tracing::warn!(error = %err, "failed to accept a request"),
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
}

fn handle(state: &AppState, mut raw: tiny_http::Request, request_id: u64) {
    let started = Instant::now();
    let method = raw.method().as_str().to_owned();
    let url = raw.url().to_owned();
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p).to_owned();
    let route = router::route(&method, &path);
    let headers: Vec<(String, String)> = raw
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
        .collect();

    let response = match read_body(&mut raw, route.body_limit(state)) {
        Err(response) => response,
        Ok(body) => {
            let request = Request { method: &method, headers: &headers, body: &body };
            match catch_unwind(AssertUnwindSafe(|| router::dispatch(state, &route, &request))) {
                Ok(response) => response,
                Err(_) => {
                    tracing::error!(request_id, method, path, "handler panicked");
                    ui::errors::internal_error(request_id)
                }
            }
        }
    };
    let response = with_security_headers(response, request_id);
    let status = response.status;
    let elapsed = started.elapsed();
    state.metrics.observe(route.name(), &method, status, elapsed);
    tracing::info!(
        target: "access",
        request_id,
        method,
        path,
        status,
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
fn with_security_headers(response: Response, request_id: u64) -> Response {
    response
        .with_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        .with_header("X-Content-Type-Options", "nosniff")
        .with_header("Referrer-Policy", "same-origin")
        .with_header("X-Frame-Options", "DENY")
        .with_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        .with_header("X-Request-Id", request_id.to_string())
}
