//! The front end: owns the public socket, for plain HTTP and HTTPS alike, and hands requests to
//! tiny_http, which stays the request parser, through its unix-socket listener.
//!
//! Why: tiny_http 0.12 accepting on the public socket spawns a thread per connection without a
//! bound, has no read or idle timeouts, and ends its accept loop for good on the first accept error
//! (EMFILE), leaving a live process with a dead socket. Here accept is ours: [`LOOPS`] event-loop
//! threads (mio, edge-triggered) accept, handshake (rustls, when `[tls]` is set), read request heads
//! and relay bytes, with budgets and deadlines; an accept error is logged (at most one line per
//! kind every ten seconds) and accepting resumes after [`ACCEPT_PAUSE`].
//!
//! **Path of a request.** The loop reads the client's bytes (decrypted, with TLS) through
//! [`framing`], which finds each head and body the way tiny_http will and puts the connection's
//! [`tag`] in every head: a per-process secret, the connection id, whether the connection may call
//! the station (`config::NodeAuth`: a verified client certificate or an allowed address) and the
//! TCP peer. Once a whole head is in, the connection is *attached*: it connects to tiny_http's unix
//! socket in `<data_dir>/run/` (mode 0700: a loopback port would let local processes forge tags'
//! effects) and writes the request; responses come back the same way. `server` reads the tag,
//! refuses a request without a valid one, strips it, and calls [`Front::responded`] after each
//! response; an attachment [`PARK_AFTER`] old with nothing in flight is *parked* (detached from
//! tiny_http, whose thread ends) until its next request. Behind `server.trusted_proxies`, the
//! server takes the client address from `X-Forwarded-For` ([`Front::client_address`]).
//!
//! **Bodies wait for the server's word.** A small body (at most [`framing::HOLD_BODY`], sent
//! without waiting for `100 Continue`) goes to tiny_http with its head. Any other body is *gated*:
//! its head goes on, and its bytes stay here (at most [`conn::INBOX_LIMIT`], then the client is no
//! longer read) until the server, having checked who is asking on the head alone, calls
//! [`Front::open_body`]; or [`Front::cut_body`], and then nothing more is read from the client
//! than the last moments of a closing connection ([`LINGER_BYTES`]) and the connection closes
//! once the server's response is delivered.
//!
//! **Budgets** (`caps`), each in total and per client address (IPv6 per /64; a trusted proxy's
//! connections count in the totals only), chosen from the unit's limits (`packaging/mypay.service`:
//! TasksMax=1024, LimitNOFILE=65536):
//! - handshakes: [`HANDSHAKES`] (per client [`HANDSHAKES_PER_CLIENT`]), a budget of their own: a
//!   connection still handshaking never holds a slot an established connection needs;
//! - established connections: [`CONNECTIONS`] (per client [`CONNECTIONS_PER_CLIENT`]); plain HTTP
//!   takes one at accept, TLS after its handshake. Beyond a budget the connection is closed at once
//!   (plain HTTP gets a 503 first);
//! - attached connections: [`ATTACHED`] (per client [`ATTACHED_PER_CLIENT`]); beyond, the request
//!   gets 503.
//!
//! Threads: an idle or handshaking connection holds none; an attached one holds one tiny_http
//! thread (tiny_http's pool keeps 4 idle ones and lets others go after 5 s). So at most
//! `ATTACHED + 4` (516) tiny_http connection threads, plus the workers (`server.workers`, at most
//! 256), 2 loops, tiny_http's accept thread and about ten of the rest (jobs, mail, signals): 785 at
//! the very worst, within TasksMax=1024 with room for the short-lived threads of outbound calls.
//! File descriptors: one per connection, three more per attached one (ours and tiny_http's two):
//! `HANDSHAKES + CONNECTIONS + 3 * ATTACHED` = 6,144, plus the database, logs and files being
//! served: a tenth of LimitNOFILE, so the budgets, not the descriptors, run out first. Memory: an
//! idle plain connection costs a few hundred bytes here; a TLS one its rustls session (tens of
//! KiB); relay buffers (at most 64 KiB each way) are released when a connection parks.
//!
//! **Deadlines** ([`Timeouts`]): a handshake within 5 s; each request head within 10 s of its first
//! byte (the first one within 10 s of the connection: slowloris), answered 408 otherwise; a body
//! with no byte for 30 s closes the connection; a keep-alive connection with no request for 30 s is
//! closed; a client that does not read what it is sent for 30 s is closed. A handler's own time is
//! not limited here.
//!
//! **Failure.** If the serving path dies anyway — tiny_http's accept thread ends (its `recv`
//! returns an error, which `server` reports with [`Front::fail`]), its socket disappears (a connect
//! finds nothing), or a loop thread ends — [`Front::health`] says so and `server::serve` stops the
//! process with an error, so that the supervisor restarts it.

mod caps;
mod conn;
pub mod framing;
pub mod tag;

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use self::caps::{Budgets, Caps, Kind, Refused};
use self::conn::{Conn, Verdict};
use self::framing::Refusal;
use self::tag::{Secret, Tag};
use super::tls;
use crate::config::NodeAuth;
use crate::net::IpRange;

/// Event-loop threads, one per core of the small machine the appliance runs on.
pub const LOOPS: usize = 2;
/// TLS connections handshaking at once.
pub const HANDSHAKES: usize = 512;
/// ... from one client address.
pub const HANDSHAKES_PER_CLIENT: u32 = 32;
/// Established connections at once.
pub const CONNECTIONS: usize = 4096;
/// ... from one client address: an office behind one NAT address fits; one attacker needs 32
/// addresses to fill the budget, and the deadlines empty it again.
pub const CONNECTIONS_PER_CLIENT: u32 = 128;
/// Connections attached to tiny_http (one thread each) at once.
pub const ATTACHED: usize = 512;
/// ... from one client address.
pub const ATTACHED_PER_CLIENT: u32 = 32;
/// How long an attachment lasts: past it, it parks as soon as nothing is in flight, whether its
/// client went quiet or keeps it busy (`conn::Conn::rotate`).
pub const PARK_AFTER: Duration = Duration::from_secs(1);
/// How long accepting pauses after an accept error (out of descriptors or memory).
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// What a closing connection still reads from its client (and drops) at most, so that the close
/// does not reset a response the client has not read yet; a client still sending past that (an
/// upload that was refused) is cut off.
pub const LINGER_BYTES: u64 = 256 * 1024;
/// At shutdown, how long open connections get to deliver the responses already written.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often each loop looks at its connections' deadlines.
const TICK: Duration = Duration::from_millis(250);
/// Connections accepted per wakeup before the loop serves the others.
const ACCEPT_BATCH: usize = 256;
/// How many more connections than another loop a loop may hold and still accept.
const LOOP_SLACK: usize = 4;
/// The loops' read buffer: one TLS record of plaintext.
const SCRATCH: usize = 16 * 1024;
/// The listener and the loop's waker; connections use `2 * index` (client) and `2 * index + 1`
/// (their tiny_http socket).
const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// The front end's deadlines (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub handshake: Duration,
    pub head: Duration,
    pub body: Duration,
    pub keep_alive: Duration,
    pub write: Duration,
    pub park: Duration,
    /// After the last response, how long a closing connection reads what the client still sends.
    pub linger: Duration,
}

impl Timeouts {
    pub const DEFAULT: Timeouts = Timeouts {
        handshake: Duration::from_secs(5),
        head: Duration::from_secs(10),
        body: Duration::from_secs(30),
        keep_alive: Duration::from_secs(30),
        write: Duration::from_secs(30),
        park: PARK_AFTER,
        linger: Duration::from_secs(2),
    };
}

/// What the front end needs from the configuration.
pub struct Settings {
    /// The rustls configuration with `[tls]`; plain HTTP without.
    pub tls: Option<tls::Setup>,
    /// Who may call the station (`station.node_auth`).
    pub node_auth: NodeAuth,
    /// `server.trusted_proxies`.
    pub trusted_proxies: Vec<IpRange>,
    /// The largest body any route reads.
    pub max_body: u64,
    /// Where tiny_http's socket goes (`<data_dir>/run`).
    pub socket_dir: PathBuf,
}

/// The running front end.
pub struct Front {
    shared: Arc<Shared>,
    backend: Mutex<Option<Arc<tiny_http::Server>>>,
    loops: Mutex<Vec<(JoinHandle<()>, Arc<Waker>)>>,
    trusted_proxies: Vec<IpRange>,
}

/// What the loops and the connections share.
struct Shared {
    secret: Secret,
    tls: Option<Arc<rustls::ServerConfig>>,
    /// With TLS: `Some` admits the station's callers by address, `None` by client certificate.
    tls_node_addresses: Option<Arc<Vec<IpRange>>>,
    node_auth: NodeAuth,
    max_body: u64,
    socket_path: PathBuf,
    timeouts: Timeouts,
    caps: Arc<Caps>,
    /// What each established connection shares with the server (requests in flight, the server's
    /// word on gated bodies), for [`Front::responded`], [`Front::open_body`], [`Front::cut_body`].
    flights: Mutex<HashMap<u64, Arc<Flight>>>,
    next_id: AtomicU64,
    /// SIGTERM seen: no new connections or requests; the workers finish what they hold.
    quiescing: AtomicBool,
    /// Loops that have seen `quiescing`: from then on they complete no new request head.
    quiesced_loops: AtomicUsize,
    /// The workers are gone: deliver what was answered and close.
    stopping: AtomicBool,
    failure: Mutex<Option<String>>,
    notices: Notices,
    /// Connections each loop holds, so that they share the work (see `Loop::accept`).
    loop_live: Vec<AtomicUsize>,
}

/// What one connection and the server share.
#[derive(Debug, Default)]
pub struct Flight {
    /// Requests forwarded whose responses the server has not finished.
    pub requests: AtomicU32,
    /// Gated bodies the server has opened, in the order of their requests.
    pub opened: AtomicU32,
    /// The server refused a gated body, or stopped reading it: drop what is left and close.
    pub cut: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the front end: each critical section here is one insert,
    // remove or read, so the data stays consistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn node_trusted(&self, peer: IpAddr, client_verified: bool, tls: bool) -> bool {
        if !tls {
            // Plain HTTP has no client certificates: only an address can admit the Node.
            return self.node_auth.admits(false, Some(peer));
        }
        match &self.tls_node_addresses {
            Some(ranges) => crate::net::any_contains(ranges, peer),
            None => client_verified,
        }
    }

    fn flights_insert(&self, id: u64, flight: Arc<Flight>) {
        lock(&self.flights).insert(id, flight);
    }

    fn flights_remove(&self, id: u64) {
        lock(&self.flights).remove(&id);
    }

    fn winding_down(&self) -> bool {
        self.quiescing.load(Ordering::Acquire) || self.stopping.load(Ordering::Acquire)
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    fn fail(&self, reason: String) {
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            tracing::error!(%reason, "the HTTP front end cannot serve any more");
            *failure = Some(reason);
        }
    }

    /// A connect to tiny_http's socket failed: gone for good (the process must restart), or only
    /// busy (its accept backlog is full).
    fn backend_unreachable(&self, err: &io::Error) {
        match err.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                self.fail(format!("the internal HTTP server's socket {} is gone: {err}", self.socket_path.display()));
            }
            _ => self.notices.note("backend", |suppressed| {
                tracing::warn!(error = %err, suppressed, "cannot reach the internal HTTP server; answered 503");
            }),
        }
    }
}

/// Log lines about what floods can repeat (refused connections, accept errors): at most one line
/// per kind every [`Notices::EVERY`], saying how many were left out.
#[derive(Default)]
struct Notices {
    last: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl Notices {
    const EVERY: Duration = Duration::from_secs(10);

    /// Calls `emit(suppressed)` unless a line of this kind was written recently.
    fn note(&self, kind: &'static str, emit: impl FnOnce(u64)) {
        let now = Instant::now();
        let mut last = lock(&self.last);
        let entry = last.entry(kind).or_insert((now.checked_sub(Self::EVERY).unwrap_or(now), 0));
        if now.duration_since(entry.0) >= Self::EVERY || entry.0 == now {
            let suppressed = entry.1;
            *entry = (now, 0);
            drop(last);
            emit(suppressed);
        } else {
            entry.1 = entry.1.saturating_add(1);
        }
    }

    fn refused(&self, refused: Refused, kind: Kind, peer: IpAddr) {
        let (key, what) = match (kind, refused) {
            (Kind::Handshake, Refused::Total) => ("handshakes", "every TLS handshake slot is taken"),
            (Kind::Handshake, Refused::PerClient) => ("handshakes-client", "this address holds its TLS handshakes"),
            (Kind::Connection, Refused::Total) => ("connections", "every connection slot is taken"),
            (Kind::Connection, Refused::PerClient) => ("connections-client", "this address holds its connections"),
            (Kind::Attached, Refused::Total) => ("attached", "every request slot is taken; answered 503"),
            (Kind::Attached, Refused::PerClient) => {
                ("attached-client", "this address holds its requests; answered 503")
            }
        };
        self.note(key, |suppressed| {
            tracing::warn!(target: "security", %peer, suppressed, "connection refused: {what}");
        });
    }

    fn refusal(&self, peer: IpAddr, refusal: &Refusal) {
        self.note("refusal", |suppressed| {
            tracing::info!(%peer, status = ?refusal.status, reason = refusal.reason, suppressed, "request refused by the front end");
        });
    }

    fn slow_head(&self, peer: IpAddr) {
        self.note("slow-head", |suppressed| {
            tracing::info!(target: "security", %peer, suppressed, "request head too slow; answered 408");
        });
    }
}

/// The unix socket tiny_http listens on, with a backlog as deep as the attachments it may get at
/// once (std's default is 128).
fn backend_listener(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    // A socket file left by a process that was killed would make bind fail.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
    socket.bind(&socket2::SockAddr::unix(path)?)?;
    socket.listen(1024)?;
    Ok(std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket)))
}

impl Front {
    /// Starts the front end on the bound public `listener`: tiny_http on its unix socket, then the
    /// loops.
    pub fn start(listener: std::net::TcpListener, settings: Settings) -> io::Result<Front> {
        Front::start_with(listener, settings, Timeouts::DEFAULT, default_budgets())
    }

    fn start_with(
        listener: std::net::TcpListener,
        settings: Settings,
        timeouts: Timeouts,
        budgets: Budgets,
    ) -> io::Result<Front> {
        std::fs::create_dir_all(&settings.socket_dir)?;
        std::fs::set_permissions(&settings.socket_dir, std::fs::Permissions::from_mode(0o700))?;
        let socket_path = settings.socket_dir.join("http.sock");
        let backend = tiny_http::Server::from_listener(backend_listener(&socket_path)?, None)
            .map(Arc::new)
            .map_err(|err| io::Error::other(err.to_string()))?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            secret: Secret::generate()?,
            tls: settings.tls.as_ref().map(tls::Setup::server_config),
            tls_node_addresses: settings.tls.as_ref().and_then(tls::Setup::node_addresses),
            node_auth: settings.node_auth,
            max_body: settings.max_body,
            socket_path,
            timeouts,
            caps: Caps::new(budgets, settings.trusted_proxies.clone()),
            flights: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            quiescing: AtomicBool::new(false),
            quiesced_loops: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            failure: Mutex::new(None),
            notices: Notices::default(),
            loop_live: (0..LOOPS).map(|_| AtomicUsize::new(0)).collect(),
        });
        let front = Front {
            shared: Arc::clone(&shared),
            backend: Mutex::new(Some(backend)),
            loops: Mutex::new(Vec::new()),
            trusted_proxies: settings.trusted_proxies,
        };
        for index in 0..LOOPS {
            // On an error the loops already running stop with the front end when it is dropped.
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let mut public = TcpListener::from_std(listener.try_clone()?);
            poll.registry().register(&mut public, LISTENER, Interest::READABLE)?;
            let event_loop = Loop {
                index,
                poll,
                listener: Some(public),
                conns: Vec::new(),
                free: Vec::new(),
                live: 0,
                again: Vec::new(),
                shared: Arc::clone(&shared),
                scratch: vec![0; SCRATCH],
                paused_until: None,
            };
            let handle = std::thread::Builder::new().name(format!("front-{index}")).spawn(move || event_loop.run())?;
            lock(&front.loops).push((handle, waker));
        }
        Ok(front)
    }

    /// tiny_http's server, which the workers read.
    pub fn backend(&self) -> Option<Arc<tiny_http::Server>> {
        lock(&self.backend).clone()
    }

    /// The public socket speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// The tag in a request's `X-Mypay-Front` value, if the front end wrote it.
    pub fn identify(&self, value: &str) -> Option<Tag> {
        self.shared.secret.verify(value)
    }

    /// The client's address: the TCP peer, or behind a trusted proxy what `X-Forwarded-For` says
    /// (see [`tag::client_address`]).
    pub fn client_address(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        tag::client_address(peer, forwarded_for, &self.trusted_proxies)
    }

    /// The server has answered a request of `connection` (the response is written to tiny_http).
    pub fn responded(&self, connection: u64) {
        if let Some(flight) = lock(&self.shared.flights).get(&connection) {
            let _ = flight.requests.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_sub(1)));
        }
    }

    /// The server admitted the request of `connection` whose body is gated
    /// ([`framing::is_gated`]): let the body through.
    pub fn open_body(&self, connection: u64) {
        if let Some(flight) = lock(&self.shared.flights).get(&connection) {
            flight.opened.fetch_add(1, Ordering::AcqRel);
        }
        self.wake();
    }

    /// The server refused the request of `connection` whose body is gated, or stopped reading it:
    /// nothing more of it is read or forwarded, and the connection closes after the response.
    pub fn cut_body(&self, connection: u64) {
        if let Some(flight) = lock(&self.shared.flights).get(&connection) {
            flight.cut.store(true, Ordering::Release);
        }
        self.wake();
    }

    /// Records that the serving path is dead (see [`Front::health`]).
    pub fn fail(&self, reason: String) {
        self.shared.fail(reason);
    }

    /// `Err` with the reason once the front end cannot serve any more: a failure was recorded, or
    /// a loop thread ended while not stopping.
    pub fn health(&self) -> Result<(), String> {
        if let Some(reason) = lock(&self.shared.failure).clone() {
            return Err(reason);
        }
        if !self.shared.winding_down() && lock(&self.loops).iter().any(|(handle, _)| handle.is_finished()) {
            return Err("an event loop of the HTTP front end stopped".to_owned());
        }
        Ok(())
    }

    /// Slots held now: handshakes, connections, attached.
    #[cfg(test)]
    pub fn held(&self) -> [usize; 3] {
        self.shared.caps.held()
    }

    fn wake(&self) {
        for (_, waker) in lock(&self.loops).iter() {
            let _ = waker.wake();
        }
    }

    /// True once no request can reach the workers any more: every loop has seen [`Front::quiesce`]
    /// and every request forwarded has been answered (or its connection is gone).
    pub fn drained(&self) -> bool {
        let loops = lock(&self.loops).len();
        self.shared.quiesced_loops.load(Ordering::Acquire) >= loops
            && lock(&self.shared.flights).values().all(|f| f.requests.load(Ordering::Acquire) == 0)
    }

    /// Shutdown has begun: stop accepting connections and new requests; requests in flight go on.
    pub fn quiesce(&self) {
        self.shared.quiescing.store(true, Ordering::Release);
        self.wake();
    }

    /// The workers have stopped: deliver the responses already written (up to five seconds), close
    /// every connection and tiny_http. Requests tiny_http still queues are answered 500 by it.
    pub fn stop(&self) {
        self.shared.quiescing.store(true, Ordering::Release);
        self.shared.stopping.store(true, Ordering::Release);
        // Dropping the server ends its accept thread and removes the socket file; its connections
        // end as the loops half-close them.
        lock(&self.backend).take();
        self.wake();
        for (handle, _) in std::mem::take(&mut *lock(&self.loops)) {
            if handle.join().is_err() {
                tracing::error!("an event loop of the HTTP front end panicked");
            }
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        if !lock(&self.loops).is_empty() {
            self.stop();
        }
    }
}

fn default_budgets() -> Budgets {
    Budgets {
        total: [HANDSHAKES, CONNECTIONS, ATTACHED],
        per_client: [HANDSHAKES_PER_CLIENT, CONNECTIONS_PER_CLIENT, ATTACHED_PER_CLIENT],
    }
}

/// One event-loop thread and the connections it accepted.
struct Loop {
    index: usize,
    poll: Poll,
    /// Dropped when shutdown begins.
    listener: Option<TcpListener>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    live: usize,
    /// Connections that had more to do when their turn ended.
    again: Vec<usize>,
    shared: Arc<Shared>,
    scratch: Vec<u8>,
    /// Accepting waits until then after an accept error.
    paused_until: Option<Instant>,
}

impl Loop {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<(Token, bool, bool, bool)> = Vec::with_capacity(1024);
        let mut next_tick = Instant::now() + TICK;
        let mut accept_again = false;
        let mut drain_until: Option<Instant> = None;
        let mut quiesced = false;
        loop {
            let now = Instant::now();
            let mut timeout = next_tick.saturating_duration_since(now);
            if let Some(until) = self.paused_until {
                timeout = timeout.min(until.saturating_duration_since(now));
            }
            if accept_again || !self.again.is_empty() {
                timeout = Duration::ZERO;
            }
            if let Err(err) = self.poll.poll(&mut events, Some(timeout)) {
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                self.shared.fail(format!("an event loop of the HTTP front end failed: {err}"));
                return;
            }
            let now = Instant::now();
            if !quiesced && self.shared.winding_down() {
                // Every head completed from here on sees the flag and is refused.
                quiesced = true;
                self.shared.quiesced_loops.fetch_add(1, Ordering::AcqRel);
            }
            ready.clear();
            ready.extend(events.iter().map(|e| {
                let failed = e.is_error();
                let closed = e.is_read_closed() || failed;
                (e.token(), e.is_readable() || closed, e.is_writable() || e.is_write_closed() || failed, closed)
            }));
            let mut accept = std::mem::take(&mut accept_again);
            for &(token, readable, writable, closed) in &ready {
                match token {
                    LISTENER => accept = true,
                    // The server's word on a gated body, or a shutdown step.
                    WAKER => self.hear_server(now),
                    Token(n) => {
                        let index = n >> 1;
                        if let Some(Some(conn)) = self.conns.get_mut(index) {
                            conn.ready(n & 1 == 1, readable, writable, closed);
                            self.drive(index, now);
                        }
                    }
                }
            }
            for index in std::mem::take(&mut self.again) {
                self.drive(index, now);
            }
            if self.paused_until.is_some_and(|until| now >= until) {
                self.paused_until = None;
                accept = true;
            }
            if self.shared.winding_down() {
                if let Some(mut listener) = self.listener.take() {
                    let _ = self.poll.registry().deregister(&mut listener);
                    next_tick = now;
                }
            } else if accept && self.paused_until.is_none() {
                accept_again = self.accept(now);
            }
            if self.shared.is_stopping() && drain_until.is_none() {
                drain_until = Some(now + DRAIN_TIMEOUT);
                next_tick = now;
            }
            if now >= next_tick {
                self.tick(now);
                next_tick = now + TICK;
            }
            if let Some(until) = drain_until {
                if self.live == 0 {
                    return;
                }
                if now >= until {
                    self.close_all();
                    return;
                }
            }
        }
    }

    fn drive(&mut self, index: usize, now: Instant) {
        let Some(Some(conn)) = self.conns.get_mut(index) else { return };
        let token = Token(index << 1);
        match conn.drive(self.poll.registry(), token, &mut self.scratch, now) {
            Verdict::Keep => {}
            Verdict::Busy => self.again.push(index),
            Verdict::Close => self.remove(index),
        }
    }

    /// Drives the connections the server has said something to since they last moved.
    fn hear_server(&mut self, now: Instant) {
        for index in 0..self.conns.len() {
            if self.conns.get(index).is_some_and(|c| c.as_ref().is_some_and(Conn::has_word)) {
                self.drive(index, now);
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        for index in 0..self.conns.len() {
            let Some(Some(conn)) = self.conns.get_mut(index) else { continue };
            let token = Token(index << 1);
            match conn.tick(self.poll.registry(), token, &mut self.scratch, now) {
                Verdict::Keep => {}
                Verdict::Busy => self.again.push(index),
                Verdict::Close => self.remove(index),
            }
        }
    }

    fn remove(&mut self, index: usize) {
        let Some(entry) = self.conns.get_mut(index) else { return };
        if let Some(mut conn) = entry.take() {
            conn.close(self.poll.registry());
            self.free.push(index);
            self.set_live(self.live.saturating_sub(1));
        }
    }

    fn set_live(&mut self, live: usize) {
        self.live = live;
        if let Some(published) = self.shared.loop_live.get(self.index) {
            published.store(live, Ordering::Relaxed);
        }
    }

    fn close_all(&mut self) {
        for index in 0..self.conns.len() {
            self.remove(index);
        }
    }

    /// Accepts what is waiting; true when the batch ran out before the queue did. Every loop is
    /// woken for each new connection, and the first to call `accept` gets it: a loop that holds
    /// clearly more connections than another leaves them to it, so that both cores share the work
    /// (a TLS handshake costs about a millisecond of CPU).
    fn accept(&mut self, now: Instant) -> bool {
        let fewest = self.shared.loop_live.iter().map(|n| n.load(Ordering::Relaxed)).min().unwrap_or(0);
        if self.live > fewest.saturating_add(LOOP_SLACK) {
            return false;
        }
        let Some(listener) = self.listener.take() else { return false };
        let mut more = true;
        for _ in 0..ACCEPT_BATCH {
            match listener.accept() {
                Ok((tcp, peer)) => self.admit(tcp, peer, now),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    more = false;
                    break;
                }
                // About that one connection (it went away before it was accepted, a firewall
                // refused it): the next one is fine.
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::PermissionDenied
                    ) => {}
                // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or worse: pause,
                // then try again; never give the socket up.
                Err(err) => {
                    self.shared.notices.note("accept", |suppressed| {
                        tracing::warn!(error = %err, suppressed, pause_ms = ACCEPT_PAUSE.as_millis(), "cannot accept connections; retrying");
                    });
                    self.paused_until = Some(now + ACCEPT_PAUSE);
                    more = false;
                    break;
                }
            }
        }
        self.listener = Some(listener);
        more
    }

    fn admit(&mut self, tcp: mio::net::TcpStream, peer: SocketAddr, now: Instant) {
        let kind = if self.shared.tls.is_some() { Kind::Handshake } else { Kind::Connection };
        let slot = match self.shared.caps.take(peer.ip(), kind) {
            Ok(slot) => slot,
            Err(refused) => {
                self.shared.notices.refused(refused, kind, peer.ip());
                if self.shared.tls.is_none() {
                    // Best effort, into a fresh socket's buffer: a person sees why.
                    let _ = (&tcp).write(&conn::error_response(503, "too many connections, try again shortly", false));
                }
                return;
            }
        };
        let mut conn = match Conn::new(Arc::clone(&self.shared), tcp, peer, slot, now) {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(%peer, error = %err, "cannot set up a connection");
                return;
            }
        };
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.conns.push(None);
                self.conns.len().saturating_sub(1)
            }
        };
        if let Err(err) = conn.register(self.poll.registry(), Token(index << 1)) {
            tracing::warn!(%peer, error = %err, "cannot watch a connection");
            self.free.push(index);
            return;
        }
        if let Some(entry) = self.conns.get_mut(index) {
            *entry = Some(conn);
            self.set_live(self.live.saturating_add(1));
        }
        self.drive(index, now);
    }
}

#[cfg(test)]
mod tests;
