//! The TLS front end: owns the public socket when `[tls]` is configured, the rustls handshake
//! (with optional client-certificate verification for the pagoPA Node), and the splicing of
//! decrypted bytes to two internal tiny_http servers.
//!
//! Why a front end: tiny_http 0.12's own TLS (rustls 0.20) cannot ask for client certificates, and
//! the station path needs mutual TLS while the citizen portal must keep working in browsers that
//! have none. So the handshake happens here, with a verifier that *allows* anonymous clients, and
//! the outcome picks the backend: the "node" tiny_http server when the connection may call the
//! station (with `station.node_auth = "mtls"`, a client certificate chaining to `tls.client_ca`;
//! with an address-based kind, a client address in `station.node_addresses`, which only this front
//! end sees), the "plain" one otherwise. `server` reads both and refuses `/ws/fesp/` on plain
//! connections (see `server::is_station_path`).
//!
//! The backends listen on unix sockets in `<data_dir>/run/` (mode 0700) rather than on loopback
//! TCP: a loopback port would let any local process reach the "node" server without a
//! certificate.
//!
//! Threads: [`ACCEPTORS`] acceptor threads block in `accept` and hand each connection to its own
//! thread, which does the handshake under [`HANDSHAKE_TIMEOUT`] and then copies client → backend,
//! while a second thread copies backend → client. Either side closing, an I/O error, or
//! [`IDLE_TIMEOUT`] without a byte ends both threads and closes both sockets; at most
//! [`MAX_CONNECTIONS`] connections are open at once. Two pump threads move requests from the
//! backends to one queue that every HTTP worker reads, each tagged with its connection's kind.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

use crate::config::TlsMaterial;
use crate::net::IpRange;

/// How long a client has to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no byte in either direction for this long is closed (tiny_http has no idle
/// timeout of its own, and a keep-alive connection holds two threads here). Long enough for any
/// handler to answer; browsers simply reconnect.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a blocked write (a client that does not read) may take before the connection is closed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections open at once (handshaking or spliced); more are closed at accept. Each holds three
/// threads (two here, one in tiny_http): `packaging/mypay.service` sizes TasksMax for this.
pub const MAX_CONNECTIONS: usize = 256;
/// Threads blocked in `accept`: accepting is cheap, the handshake runs on the connection's thread.
const ACCEPTORS: usize = 2;
/// At shutdown, how long open connections get to deliver the responses already written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a pump waits on its backend before looking at the stop flag again.
const PUMP_POLL: Duration = Duration::from_millis(100);
/// Copy buffer, one TLS record's worth of plaintext.
const BUF: usize = 16 * 1024;
/// Splice threads only copy bytes; rustls needs little stack.
const THREAD_STACK: usize = 256 * 1024;

/// A `[tls]` setting that rustls refuses (the key does not match the certificate, a CA that is not
/// a usable trust anchor), named by its key like `config::Problem`.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct SetupError {
    pub key: &'static str,
    pub reason: String,
}

/// The rustls server configuration and who may call the station.
#[derive(Debug, Clone)]
pub struct Setup {
    config: Arc<ServerConfig>,
    #[cfg(test)]
    client_ca: bool,
    /// `Some`: the station is for these client addresses (certificates do not matter); `None`: for
    /// connections with a verified client certificate.
    node_addresses: Option<Arc<Vec<IpRange>>>,
}

impl Setup {
    /// True when `tls.client_ca` is set: client certificates are asked for and verified.
    #[cfg(test)]
    pub fn requires_client_cert(&self) -> bool {
        self.client_ca
    }

    /// The station admits callers by address (`station.node_auth` proxy or addresses) instead of
    /// by certificate.
    pub fn with_node_addresses(mut self, ranges: &[IpRange]) -> Setup {
        self.node_addresses = Some(Arc::new(ranges.to_vec()));
        self
    }
}

/// Builds the rustls configuration from the parsed `[tls]` files (ring provider, TLS 1.2 and 1.3,
/// HTTP/1.1 only).
pub fn setup(material: &TlsMaterial) -> Result<Setup, SetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| SetupError { key: "tls.cert", reason: err.to_string() })?;
    let builder = if material.client_ca.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        for (n, cert) in material.client_ca.iter().enumerate() {
            roots.add(cert.clone()).map_err(|err| SetupError {
                key: "tls.client_ca",
                reason: format!("certificate {} is not a usable CA: {err}", n.saturating_add(1)),
            })?;
        }
        // allow_unauthenticated: browsers without a certificate still get the portal; the station
        // path is guarded per request in `server`. A certificate that is presented must verify.
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|err| SetupError { key: "tls.client_ca", reason: err.to_string() })?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config =
        builder.with_single_cert(material.cert_chain.clone(), material.key.clone_key()).map_err(|err| match err {
            rustls::Error::InconsistentKeys(_) => {
                SetupError { key: "tls.key", reason: "does not match the certificate in tls.cert".to_owned() }
            }
            rustls::Error::General(reason) if reason.contains("key") => SetupError { key: "tls.key", reason },
            other => SetupError { key: "tls.cert", reason: other.to_string() },
        })?;
    // tiny_http speaks HTTP/1.1 only; saying so stops a client from assuming h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Setup {
        config: Arc::new(config),
        #[cfg(test)]
        client_ca: !material.client_ca.is_empty(),
        node_addresses: None,
    })
}

/// A request read by one of the backends, with the kind of connection it came on.
pub struct Incoming {
    pub request: tiny_http::Request,
    /// The connection may call the station (see the module documentation).
    pub node_trusted: bool,
}

/// The running front end: acceptors, pumps and the two backends.
pub struct Front {
    shared: Arc<Shared>,
    intake: Mutex<Receiver<Incoming>>,
    acceptors: Mutex<Vec<JoinHandle<()>>>,
    pumps: Mutex<Vec<JoinHandle<()>>>,
    backends: Mutex<Vec<Arc<tiny_http::Server>>>,
    wake_addr: SocketAddr,
}

/// What the acceptors, connections and pumps share.
struct Shared {
    config: Arc<ServerConfig>,
    node_addresses: Option<Arc<Vec<IpRange>>>,
    plain_path: PathBuf,
    verified_path: PathBuf,
    stopping: AtomicBool,
    /// Connections open now (for [`MAX_CONNECTIONS`]).
    open: AtomicUsize,
    /// Backend sockets of spliced connections, so that shutdown can close them.
    live: Mutex<HashMap<u64, UnixStream>>,
    next_id: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the front end: the data behind these locks stays consistent
    // (each critical section is a single push, remove or rustls call).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts the front end on an already bound public `listener`; the backends' sockets go in
/// `socket_dir` (created with mode 0700).
pub fn start(listener: TcpListener, setup: &Setup, socket_dir: &Path) -> io::Result<Front> {
    std::fs::create_dir_all(socket_dir)?;
    std::fs::set_permissions(socket_dir, std::fs::Permissions::from_mode(0o700))?;
    let plain_path = socket_dir.join("tls-plain.sock");
    let verified_path = socket_dir.join("tls-verified.sock");
    let (tx, rx) = mpsc::channel();
    let mut backends = Vec::new();
    let shared = Arc::new(Shared {
        config: Arc::clone(&setup.config),
        node_addresses: setup.node_addresses.clone(),
        plain_path: plain_path.clone(),
        verified_path: verified_path.clone(),
        stopping: AtomicBool::new(false),
        open: AtomicUsize::new(0),
        live: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
    });
    let mut pumps = Vec::new();
    for (path, verified) in [(&plain_path, false), (&verified_path, true)] {
        // A socket file left by a process that was killed would make bind fail.
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let server = tiny_http::Server::from_listener(UnixListener::bind(path)?, None)
            .map(Arc::new)
            .map_err(|err| io::Error::other(err.to_string()))?;
        backends.push(Arc::clone(&server));
        pumps.push(spawn_pump(server, verified, tx.clone(), Arc::clone(&shared))?);
    }
    let local = listener.local_addr()?;
    // Waking a blocked `accept` at shutdown needs an address we can connect to.
    let wake_addr = match local {
        SocketAddr::V4(a) if a.ip().is_unspecified() => SocketAddr::from(([127, 0, 0, 1], a.port())),
        SocketAddr::V6(a) if a.ip().is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port())),
        other => other,
    };
    let mut acceptors = Vec::new();
    for idx in 0..ACCEPTORS {
        let listener = listener.try_clone()?;
        let shared = Arc::clone(&shared);
        acceptors.push(
            std::thread::Builder::new()
                .name(format!("tls-accept-{idx}"))
                .spawn(move || accept_loop(&listener, &shared))?,
        );
    }
    Ok(Front {
        shared,
        intake: Mutex::new(rx),
        acceptors: Mutex::new(acceptors),
        pumps: Mutex::new(pumps),
        backends: Mutex::new(backends),
        wake_addr,
    })
}

fn spawn_pump(
    server: Arc<tiny_http::Server>,
    verified: bool,
    tx: Sender<Incoming>,
    shared: Arc<Shared>,
) -> io::Result<JoinHandle<()>> {
    let name = if verified { "tls-pump-verified" } else { "tls-pump-plain" };
    std::thread::Builder::new().name(name.to_owned()).spawn(move || {
        while !shared.stopping.load(Ordering::SeqCst) {
            match server.recv_timeout(PUMP_POLL) {
                Ok(Some(request)) => {
                    if tx.send(Incoming { request, node_trusted: verified }).is_err() {
                        break;
                    }
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "failed to accept a request"),
            }
        }
    })
}

impl Front {
    /// The next request from either backend, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Incoming> {
        let received = lock(&self.intake).recv_timeout(timeout);
        match received {
            Ok(incoming) => Some(incoming),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                // The pumps are gone (only at stop): wait like a timeout instead of spinning.
                std::thread::sleep(timeout);
                None
            }
        }
    }

    /// Stops accepting, lets open connections deliver what the workers already answered (up to
    /// [`DRAIN_TIMEOUT`]), then closes everything. Call after the workers have stopped.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let acceptors = std::mem::take(&mut *lock(&self.acceptors));
        for _ in &acceptors {
            // One connection per acceptor wakes each from `accept`; it sees the flag and exits.
            let _ = TcpStream::connect_timeout(&self.wake_addr, Duration::from_secs(1));
        }
        for handle in acceptors {
            let _ = handle.join();
        }
        for handle in std::mem::take(&mut *lock(&self.pumps)) {
            let _ = handle.join();
        }
        // Requests queued but never taken by a worker: dropping them answers 500 (tiny_http), as the
        // plain server does for its own queue at shutdown.
        while lock(&self.intake).try_recv().is_ok() {}
        // Dropping the backends stops their accept threads and removes the socket files.
        lock(&self.backends).clear();
        // Half-close towards the backends: tiny_http sees the end of the request stream, finishes
        // the responses it holds and closes, and the splice delivers them and ends.
        for backend in lock(&self.shared.live).values() {
            let _ = backend.shutdown(Shutdown::Write);
        }
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while !lock(&self.shared.live).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        for backend in lock(&self.shared.live).values() {
            let _ = backend.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((tcp, peer)) => {
                if shared.open.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    tracing::warn!(%peer, limit = MAX_CONNECTIONS, "too many open TLS connections, closing a new one");
                    continue;
                }
                let guard = OpenGuard::new(Arc::clone(shared));
                let spawned = std::thread::Builder::new()
                    .name("tls-conn".to_owned())
                    .stack_size(THREAD_STACK)
                    .spawn(move || connection(tcp, peer, guard));
                if let Err(err) = spawned {
                    tracing::error!(error = %err, "cannot start a TLS connection thread");
                }
            }
            Err(err) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %err, "failed to accept a TLS connection");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Counts an open connection from accept until its threads are done.
struct OpenGuard(Arc<Shared>);

impl OpenGuard {
    fn new(shared: Arc<Shared>) -> OpenGuard {
        shared.open.fetch_add(1, Ordering::SeqCst);
        OpenGuard(shared)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Removes a spliced connection from the live set once everything the backend wrote has been
/// delivered (the backend → client thread is done): that is what shutdown waits for, not for the
/// client to close its end.
struct LiveGuard(Arc<Shared>, u64);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        lock(&self.0.live).remove(&self.1);
    }
}

/// One client connection: handshake, connect to the backend its certificate earns, splice.
fn connection(mut tcp: TcpStream, peer: SocketAddr, guard: OpenGuard) {
    let shared = Arc::clone(&guard.0);
    let mut conn = match ServerConnection::new(Arc::clone(&shared.config)) {
        Ok(conn) => conn,
        Err(err) => {
            tracing::error!(error = %err, "cannot create a TLS session");
            return;
        }
    };
    // Small records both ways: without this, Nagle delays the last segment of each response.
    let _ = tcp.set_nodelay(true);
    // Application data can arrive in the same flight as the client's Finished message.
    let mut early = Vec::new();
    if let Err(err) = handshake(&mut conn, &mut tcp, &mut early) {
        log_handshake_failure(peer, &err);
        return;
    }
    let client_verified = conn.peer_certificates().is_some_and(|certs| !certs.is_empty());
    let node_trusted = match &shared.node_addresses {
        Some(ranges) => crate::net::any_contains(ranges, peer.ip()),
        None => client_verified,
    };
    let path = if node_trusted { &shared.verified_path } else { &shared.plain_path };
    tracing::debug!(%peer, client_verified, node_trusted, "TLS connection established");
    let backend = match UnixStream::connect(path) {
        Ok(backend) => backend,
        Err(err) => {
            if !shared.stopping.load(Ordering::SeqCst) {
                tracing::error!(error = %err, path = %path.display(), "cannot reach the internal HTTP server");
            }
            return;
        }
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    match backend.try_clone() {
        Ok(handle) => {
            lock(&shared.live).insert(id, handle);
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot register a TLS connection");
            return;
        }
    }
    let live = LiveGuard(Arc::clone(&shared), id);
    if let Err(err) = splice(conn, tcp, backend, early, live) {
        tracing::debug!(%peer, error = %err, "TLS connection ended with an error");
    }
    drop(guard);
}

/// Completes the handshake within [`HANDSHAKE_TIMEOUT`] overall, however slowly the bytes come.
/// Plaintext that arrived right after the handshake is appended to `plain`.
fn handshake(conn: &mut ServerConnection, tcp: &mut TcpStream, plain: &mut Vec<u8>) -> io::Result<()> {
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut buf = [0u8; BUF];
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"));
        }
        tcp.set_read_timeout(Some(left))?;
        tcp.set_write_timeout(Some(left))?;
        flush_tls(conn, tcp)?;
        if !conn.is_handshaking() {
            break;
        }
        let n = tcp.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "client closed during the TLS handshake"));
        }
        feed(conn, tcp, buf.get(..n).unwrap_or_default(), plain)?;
    }
    // The last flight (TLS 1.2 Finished, TLS 1.3 session tickets).
    flush_tls(conn, tcp)
}

fn log_handshake_failure(peer: SocketAddr, err: &io::Error) {
    let certificate = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented));
    if certificate {
        // Worth seeing at the default level: this is how a wrong Node certificate shows up.
        tracing::info!(%peer, error = %err, "TLS handshake refused: client certificate");
    } else {
        tracing::debug!(%peer, error = %err, "TLS handshake failed");
    }
}

/// Writes everything rustls has queued for the client.
fn flush_tls(conn: &mut ServerConnection, tcp: &mut TcpStream) -> io::Result<()> {
    while conn.wants_write() {
        if conn.write_tls(tcp)? == 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "client socket accepts no more bytes"));
        }
    }
    Ok(())
}

/// Gives `input` (ciphertext from the client) to rustls and appends the plaintext to `plain`.
/// Returns true when the client sent close_notify. A protocol error is answered with its alert.
fn feed(conn: &mut ServerConnection, tcp: &mut TcpStream, input: &[u8], plain: &mut Vec<u8>) -> io::Result<bool> {
    let mut rest = input;
    let mut closed = false;
    loop {
        if !rest.is_empty() {
            conn.read_tls(&mut rest)?;
        }
        match conn.process_new_packets() {
            Ok(state) => closed |= state.peer_has_closed(),
            Err(err) => {
                let _ = flush_tls(conn, tcp);
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
        }
        closed |= drain_plaintext(conn, plain)?;
        flush_tls(conn, tcp)?;
        if rest.is_empty() {
            return Ok(closed);
        }
    }
}

/// Moves the decrypted bytes rustls holds into `plain`; true at close_notify.
fn drain_plaintext(conn: &mut ServerConnection, plain: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; BUF];
    loop {
        match conn.reader().read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => plain.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(err) => return Err(err),
        }
    }
}

/// Milliseconds since the connection was spliced, of its last byte in either direction.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle(&self) -> bool {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let idle_ms = u64::try_from(IDLE_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
        now.saturating_sub(self.last_ms.load(Ordering::Relaxed)) >= idle_ms
    }
}

fn is_timeout(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Copies client → backend on this thread and backend → client on a second one, until both are
/// done. Every way out closes what the other thread reads from, so neither can be left blocked.
fn splice(
    conn: ServerConnection,
    tcp: TcpStream,
    backend: UnixStream,
    early: Vec<u8>,
    live: LiveGuard,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_write_timeout(Some(WRITE_TIMEOUT))?;
    backend.set_read_timeout(Some(IDLE_TIMEOUT))?;
    backend.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let conn = Arc::new(Mutex::new(conn));
    let activity = Arc::new(Activity { start: Instant::now(), last_ms: AtomicU64::new(0) });
    let outbound = {
        let conn = Arc::clone(&conn);
        let tcp = tcp.try_clone()?;
        let backend = backend.try_clone()?;
        let activity = Arc::clone(&activity);
        std::thread::Builder::new().name("tls-out".to_owned()).stack_size(THREAD_STACK).spawn(move || {
            let result = backend_to_client(&conn, tcp, backend, &activity);
            drop(live);
            result
        })?
    };
    let inbound = client_to_backend(&conn, tcp.try_clone()?, backend.try_clone()?, &activity, early);
    let inbound = match inbound {
        // The client is done sending: half-close so that tiny_http answers what it has and closes,
        // which ends the other thread.
        Inbound::ClientDone => {
            let _ = backend.shutdown(Shutdown::Write);
            Ok(())
        }
        // tiny_http closed (or stopped reading): the other thread still delivers what it wrote.
        Inbound::BackendGone(err) => {
            tracing::debug!(error = %err, "internal HTTP server stopped reading");
            Ok(())
        }
        Inbound::Failed(err) => {
            let _ = tcp.shutdown(Shutdown::Both);
            let _ = backend.shutdown(Shutdown::Both);
            Err(err)
        }
    };
    let outbound = outbound.join().unwrap_or_else(|_| Err(io::Error::other("TLS output thread panicked")));
    inbound.and(outbound)
}

/// How the client → backend direction ended.
enum Inbound {
    /// close_notify or EOF from the client.
    ClientDone,
    /// Writing to the backend failed.
    BackendGone(io::Error),
    /// The client broke the protocol, the socket failed, or the connection sat idle.
    Failed(io::Error),
}

/// Client → backend, starting with the plaintext that came with the handshake.
fn client_to_backend(
    conn: &Mutex<ServerConnection>,
    mut tcp: TcpStream,
    mut backend: UnixStream,
    activity: &Activity,
    mut plain: Vec<u8>,
) -> Inbound {
    let mut buf = vec![0u8; BUF];
    let mut closed = match feed(&mut lock(conn), &mut tcp, &[], &mut plain) {
        Ok(closed) => closed,
        Err(err) => return Inbound::Failed(err),
    };
    loop {
        if !plain.is_empty() {
            if let Err(err) = backend.write_all(&plain) {
                return Inbound::BackendGone(err);
            }
            plain.clear();
            activity.touch();
        }
        if closed {
            return Inbound::ClientDone;
        }
        let n = match tcp.read(&mut buf) {
            Ok(0) => return Inbound::ClientDone,
            Ok(n) => n,
            Err(err) if is_timeout(&err) => {
                if activity.idle() {
                    return Inbound::Failed(io::Error::new(io::ErrorKind::TimedOut, "idle TLS connection"));
                }
                continue;
            }
            Err(err) => return Inbound::Failed(err),
        };
        activity.touch();
        closed = match feed(&mut lock(conn), &mut tcp, buf.get(..n).unwrap_or_default(), &mut plain) {
            Ok(closed) => closed,
            Err(err) => return Inbound::Failed(err),
        };
    }
}

/// Backend → client. At the backend's end, sends close_notify and half-closes towards the client.
fn backend_to_client(
    conn: &Mutex<ServerConnection>,
    mut tcp: TcpStream,
    mut backend: UnixStream,
    activity: &Activity,
) -> io::Result<()> {
    let mut buf = vec![0u8; BUF];
    let result = loop {
        let n = match backend.read(&mut buf) {
            Ok(0) => {
                let mut conn = lock(conn);
                conn.send_close_notify();
                let flushed = flush_tls(&mut conn, &mut tcp);
                // FIN, not a full close: the client reads the last bytes and closes, which ends
                // the other thread.
                let _ = tcp.shutdown(Shutdown::Write);
                return flushed;
            }
            Ok(n) => n,
            Err(err) if is_timeout(&err) => {
                if activity.idle() {
                    break Err(io::Error::new(io::ErrorKind::TimedOut, "idle TLS connection"));
                }
                continue;
            }
            Err(err) => break Err(err),
        };
        activity.touch();
        if let Err(err) = send(&mut lock(conn), &mut tcp, buf.get(..n).unwrap_or_default()) {
            break Err(err);
        }
    };
    // Failure: unblock the other thread wherever it waits.
    let _ = tcp.shutdown(Shutdown::Both);
    let _ = backend.shutdown(Shutdown::Both);
    result
}

/// Encrypts `data` and writes it to the client, within rustls' buffer limit.
fn send(conn: &mut ServerConnection, tcp: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let n = conn.writer().write(rest)?;
        rest = rest.get(n..).unwrap_or_default();
        flush_tls(conn, tcp)?;
        if n == 0 && !rest.is_empty() && !conn.wants_write() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "TLS session accepts no more data"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn material(client_ca: bool) -> TlsMaterial {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let ca = if client_ca { vec![cert.der().clone()] } else { Vec::new() };
        TlsMaterial { cert_chain: vec![cert.der().clone()], key: Arc::new(key_der), client_ca: ca }
    }

    #[test]
    fn setup_accepts_matching_files_and_reports_client_ca() {
        assert!(!setup(&material(false)).unwrap().requires_client_cert());
        assert!(setup(&material(true)).unwrap().requires_client_cert());
    }

    #[test]
    fn a_key_of_another_certificate_is_named_tls_key() {
        let mut m = material(false);
        m.key = material(false).key;
        let err = setup(&m).unwrap_err();
        assert_eq!(err.key, "tls.key", "{err}");
    }

    #[test]
    fn garbage_client_ca_is_named() {
        let mut m = material(false);
        m.client_ca = vec![rustls_pki_types::CertificateDer::from(vec![1, 2, 3])];
        assert_eq!(setup(&m).unwrap_err().key, "tls.client_ca");
    }

    #[test]
    fn idle_after_the_timeout_only() {
        let activity = Activity { start: Instant::now(), last_ms: AtomicU64::new(0) };
        assert!(!activity.idle());
        activity.touch();
        assert!(!activity.idle());
    }
}
