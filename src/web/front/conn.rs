//! One client connection in the front end: its TLS session (if any), the framing of its requests,
//! its attachment to tiny_http, and its deadlines. Everything here is non-blocking and runs on the
//! event loop that accepted the connection ([`super::Loop`]).
//!
//! A connection is *attached* (holds a unix-socket connection to tiny_http, hence one thread
//! there) only from the moment a whole request head has arrived until, [`super::PARK_AFTER`]
//! after it attached, it has no request in flight; it is then *parked* ([`Conn::rotate`]): the
//! front end half-closes its side, tiny_http finishes and closes, and the next request attaches
//! again. So slow or idle clients hold no thread, only a socket and a few bytes here, and a busy
//! one changes threads between two requests at least every [`super::PARK_AFTER`].
//!
//! Readiness is edge-triggered (mio): each socket's `readable`/`writable` flag is set by an event
//! and cleared only when an operation would block, and [`Conn::drive`] moves bytes until nothing
//! moves any more.
//!
//! A gated body (see `super::framing`) stops the bytes for tiny_http right after its head until
//! the server's word arrives through the connection's [`Flight`]: opened, they flow; cut, they are
//! dropped with everything after them, the client is no longer read, and the connection closes
//! once the response is delivered.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use rustls::ServerConnection;

use super::caps::{Kind, Refused, Slot};
use super::framing::{Framing, Phase, Refusal};
use super::tag::Tag;
use super::{Flight, LINGER_BYTES, Shared, Timeouts};

/// Bytes read from the client and not yet taken by tiny_http, beyond which the front end stops
/// reading the client (backpressure).
pub const INBOX_LIMIT: usize = 64 * 1024;
/// Bytes for the client not yet written, beyond which the front end stops reading tiny_http.
const OUTBOX_LIMIT: usize = 64 * 1024;

/// What the loop should do with a connection after driving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// More could move: drive it again before waiting for events (edge-triggered readiness
    /// would not say so again).
    Busy,
    Close,
}

/// The attachment to tiny_http.
struct Backend {
    stream: UnixStream,
    /// The attachment's slot (one tiny_http thread).
    _slot: Slot,
    readable: bool,
    writable: bool,
    /// tiny_http closed its side (or the socket failed): read on to the end.
    hup: bool,
    /// No more requests go this way: the front end half-closed it (`parking`), or tiny_http
    /// stopped reading.
    write_shut: bool,
    /// The front end half-closed it on purpose (to park, or to end the connection).
    shut_by_us: bool,
    /// tiny_http closed its side: everything it wrote has been read.
    eof: bool,
    /// When the attachment began (see [`Conn::rotate`]).
    since: Instant,
}

impl Backend {
    /// Half-closes towards tiny_http: it answers what it holds, then closes, and the attachment
    /// ends when that close is read. True when this changed anything.
    fn shut(&mut self) -> bool {
        if self.shut_by_us {
            return false;
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        self.write_shut = true;
        self.shut_by_us = true;
        true
    }
}

/// The TLS session, and whether its handshake is still going.
struct Tls {
    session: Box<ServerConnection>,
    handshaking: bool,
    close_notify_sent: bool,
}

/// One client connection.
pub struct Conn {
    shared: Arc<Shared>,
    id: u64,
    peer: SocketAddr,
    tcp: TcpStream,
    tls: Option<Tls>,
    /// The handshake or connection slot.
    slot: Slot,
    /// The header line that goes in every head; empty until established.
    tag: Vec<u8>,
    framing: Framing,
    /// Requests in flight and the server's word on gated bodies, shared with the server.
    flight: Arc<Flight>,
    /// Where the bytes of a gated body begin, as positions in everything framed for tiny_http
    /// ([`Conn::forwarded`] is the position of `inbox[0]`); the first one stops the bytes for
    /// tiny_http until the server opens it.
    gates: VecDeque<u64>,
    /// Bytes written to tiny_http since the connection began.
    forwarded: u64,
    /// Gates the server's opens have lifted.
    gates_opened: u32,
    /// The server cut a gated body: nothing more goes to tiny_http.
    cut: bool,
    /// Bytes read and dropped while lingering.
    lingered: u64,
    /// Heads forwarded so far.
    requests: u64,
    /// Framed bytes for tiny_http.
    inbox: Vec<u8>,
    /// Plaintext for the client.
    outbox: Vec<u8>,
    backend: Option<Backend>,
    /// A request the front end answers itself once everything before it is delivered.
    refusal: Option<Refusal>,
    client_readable: bool,
    client_writable: bool,
    /// The client's FIN (or an error) was signalled: read on to the end.
    client_hup: bool,
    /// The client sent its FIN (or TLS close_notify).
    client_eof: bool,
    /// Deliver what is in the outbox, then close.
    closing: bool,
    /// Written side shut; reading what the client still sends before closing, until this instant.
    lingering: Option<Instant>,
    /// When the connection was accepted, then when it was established.
    since: Instant,
    /// When the head being read began (for the first request: when the connection was established).
    head_started: Instant,
    last_client_byte: Instant,
    /// Last time bytes went to tiny_http.
    last_forward: Instant,
    /// Last byte either way, or request finished by the server.
    last_activity: Instant,
    /// Last time pending output moved.
    last_write: Instant,
}

fn is_would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock
}

impl Conn {
    /// A freshly accepted connection holding `slot` (a connection slot for plain HTTP, a handshake
    /// slot for TLS). Register it before driving it.
    pub fn new(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr, slot: Slot, now: Instant) -> io::Result<Conn> {
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let tls = match &shared.tls {
            Some(config) => Some(Tls {
                session: Box::new(ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?),
                handshaking: true,
                close_notify_sent: false,
            }),
            None => None,
        };
        let framing = Framing::new(shared.max_body);
        let mut conn = Conn {
            shared,
            id,
            peer,
            tcp,
            tls,
            slot,
            tag: Vec::new(),
            framing,
            flight: Arc::new(Flight::default()),
            gates: VecDeque::new(),
            forwarded: 0,
            gates_opened: 0,
            cut: false,
            lingered: 0,
            requests: 0,
            inbox: Vec::new(),
            outbox: Vec::new(),
            backend: None,
            refusal: None,
            client_readable: true,
            client_writable: true,
            client_hup: false,
            client_eof: false,
            closing: false,
            lingering: None,
            since: now,
            head_started: now,
            last_client_byte: now,
            last_forward: now,
            last_activity: now,
            last_write: now,
        };
        if conn.tls.is_none() {
            conn.establish(false, now);
        }
        Ok(conn)
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.tcp, token, Interest::READABLE | Interest::WRITABLE)
    }

    /// Records an event on the client socket (`backend` false) or the tiny_http one; `closed` when
    /// it says the other side closed or the socket failed.
    pub fn ready(&mut self, backend: bool, readable: bool, writable: bool, closed: bool) {
        if backend {
            if let Some(b) = &mut self.backend {
                b.readable |= readable;
                b.writable |= writable;
                b.hup |= closed;
            }
        } else {
            self.client_readable |= readable;
            self.client_writable |= writable;
            self.client_hup |= closed;
        }
    }

    /// The handshake is done (or there is none): the connection's kind and tag are known, and it
    /// trades its handshake slot for a connection slot.
    fn establish(&mut self, client_verified: bool, now: Instant) -> bool {
        if let Some(tls) = &mut self.tls {
            tls.handshaking = false;
            match self.shared.caps.take(self.peer.ip(), Kind::Connection) {
                Ok(slot) => self.slot = slot,
                Err(refused) => {
                    self.shared.notices.refused(refused, Kind::Connection, self.peer.ip());
                    return false;
                }
            }
        }
        let node_trusted = self.shared.node_trusted(self.peer.ip(), client_verified, self.tls.is_some());
        tracing::debug!(peer = %self.peer, client_verified, node_trusted, tls = self.tls.is_some(), "connection established");
        self.tag = self.shared.secret.line(&Tag { connection: self.id, node_trusted, peer: self.peer.ip() });
        self.shared.flights_insert(self.id, Arc::clone(&self.flight));
        self.since = now;
        self.head_started = now;
        self.last_activity = now;
        true
    }

    fn established(&self) -> bool {
        !self.tag.is_empty()
    }

    fn output_pending(&self) -> bool {
        !self.outbox.is_empty() || self.tls.as_ref().is_some_and(|t| t.session.wants_write())
    }

    fn in_flight(&self) -> u32 {
        self.flight.requests.load(Ordering::Acquire)
    }

    /// The server said something this connection has not acted on yet.
    pub fn has_word(&self) -> bool {
        let opened = self.flight.opened.load(Ordering::Acquire);
        (opened > self.gates_opened && !self.gates.is_empty()) || (!self.cut && self.flight.cut.load(Ordering::Acquire))
    }

    /// Acts on the server's word on gated bodies; true when anything changed.
    fn hear_server(&mut self) -> bool {
        let mut changed = false;
        let opened = self.flight.opened.load(Ordering::Acquire);
        while self.gates_opened < opened && self.gates.pop_front().is_some() {
            self.gates_opened = self.gates_opened.saturating_add(1);
            changed = true;
        }
        if !self.cut && self.flight.cut.load(Ordering::Acquire) {
            // Everything the server saw is already with tiny_http: what is left here is the refused
            // body and whatever the client sent after it.
            self.cut = true;
            self.inbox.clear();
            self.gates.clear();
            self.framing.shrink();
            if self.refusal.is_none() {
                self.refusal = Some(Refusal { status: None, reason: "the server refused the request body" });
            }
            changed = true;
        }
        changed
    }

    /// How many bytes of the inbox may go to tiny_http now: up to the first closed gate.
    fn sendable(&self) -> usize {
        match self.gates.front() {
            Some(&gate) => {
                usize::try_from(gate.saturating_sub(self.forwarded)).unwrap_or(usize::MAX).min(self.inbox.len())
            }
            None => self.inbox.len(),
        }
    }

    /// Moves bytes every way they can go until nothing moves; then decides whether to close.
    pub fn drive(&mut self, registry: &Registry, token: Token, scratch: &mut [u8], now: Instant) -> Verdict {
        // Bounded, so that one fast client cannot starve the loop's other connections.
        for _ in 0..32 {
            match self.step(registry, token, scratch, now) {
                Ok(true) => {}
                Ok(false) => return self.verdict(now),
                Err(err) => {
                    tracing::debug!(peer = %self.peer, error = %err, "connection ended");
                    return Verdict::Close;
                }
            }
        }
        match self.verdict(now) {
            Verdict::Keep => Verdict::Busy,
            other => other,
        }
    }

    fn verdict(&mut self, now: Instant) -> Verdict {
        if let Some(until) = self.lingering {
            return if self.client_eof || now >= until { Verdict::Close } else { Verdict::Keep };
        }
        if self.closing && !self.output_pending() {
            // Shut our side and read what the client still sends for a moment: closing a socket
            // with unread bytes sends a reset, which can destroy the response before it is read.
            let _ = self.tcp.shutdown(Shutdown::Write);
            if self.client_eof {
                return Verdict::Close;
            }
            self.lingering = Some(now + self.shared.timeouts.linger);
        }
        Verdict::Keep
    }

    /// One pass over every direction; true when anything moved or changed.
    fn step(&mut self, registry: &Registry, token: Token, scratch: &mut [u8], now: Instant) -> io::Result<bool> {
        let mut progress = false;
        if self.lingering.is_some() {
            return self.discard_client(scratch);
        }
        if !self.output_pending() {
            // A write stall is counted from the last moment nothing waited.
            self.last_write = now;
        }
        progress |= self.hear_server();
        progress |= self.read_client(scratch, now)?;
        progress |= self.attach_if_needed(registry, token, now);
        progress |= self.write_backend(now)?;
        progress |= self.read_backend(registry, scratch, now)?;
        progress |= self.flush_client(now)?;
        progress |= self.settle();
        progress |= self.rotate(now);
        Ok(progress)
    }

    /// Whether the client's bytes are wanted now.
    fn reading_client(&self) -> bool {
        if self.closing || self.client_eof || self.refusal.is_some() || self.inbox.len() >= INBOX_LIMIT {
            return false;
        }
        if self.shared.winding_down() {
            // No new request is taken once stopping: only a body already under way is read.
            return self.framing.phase() == Phase::Body;
        }
        true
    }

    fn read_client(&mut self, scratch: &mut [u8], now: Instant) -> io::Result<bool> {
        let mut progress = false;
        while self.client_readable && self.reading_client() {
            if self.tls.is_some() {
                progress |= self.read_tls(scratch, now)?;
                continue;
            }
            match (&self.tcp).read(scratch) {
                Ok(0) => {
                    self.client_eof = true;
                    progress = true;
                }
                Ok(n) => {
                    // A short read emptied the socket, and the next bytes bring an event: asking
                    // again would only say WouldBlock. Unless a FIN came with this event's data:
                    // it brings no event of its own, so read on to it.
                    self.client_readable = n == scratch.len() || self.client_hup;
                    self.take_plaintext(scratch.get(..n).unwrap_or_default(), now);
                    progress = true;
                }
                Err(err) if is_would_block(&err) => self.client_readable = false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(progress)
    }

    /// Reads ciphertext, completes the handshake, and takes the plaintext.
    fn read_tls(&mut self, scratch: &mut [u8], now: Instant) -> io::Result<bool> {
        let Some(tls) = &mut self.tls else { return Ok(false) };
        let mut tcp = &self.tcp;
        match tls.session.read_tls(&mut tcp) {
            Ok(0) => {
                self.client_eof = true;
                return Ok(true);
            }
            Ok(_) => {}
            Err(err) if is_would_block(&err) => {
                self.client_readable = false;
                return Ok(false);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(err) => return Err(err),
        }
        let state = match tls.session.process_new_packets() {
            Ok(state) => state,
            Err(err) => {
                // Send the alert that says why, then give up.
                let _ = tls.session.write_tls(&mut tcp);
                if tls.handshaking {
                    log_handshake_failure(self.peer, &err);
                }
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
        };
        let closed = state.peer_has_closed();
        if tls.handshaking && !tls.session.is_handshaking() {
            let verified = tls.session.peer_certificates().is_some_and(|certs| !certs.is_empty());
            if !self.establish(verified, now) {
                return Err(io::Error::other("no connection slot after the handshake"));
            }
        }
        if self.established() {
            while let Some(tls) = &mut self.tls {
                match tls.session.reader().read(scratch) {
                    Ok(0) => {
                        self.client_eof = true;
                        break;
                    }
                    Ok(n) => self.take_plaintext(scratch.get(..n).unwrap_or_default(), now),
                    Err(err) if is_would_block(&err) => break,
                    Err(err) => return Err(err),
                }
            }
        }
        self.client_eof |= closed;
        Ok(true)
    }

    /// Plaintext from the client: framed into the inbox, deadlines updated.
    fn take_plaintext(&mut self, data: &[u8], now: Instant) {
        if data.is_empty() {
            return;
        }
        self.last_client_byte = now;
        self.last_activity = now;
        let before = self.framing.phase();
        // Once stopping, a head that completes is refused rather than handed to workers that
        // may have gone (see `Front::drained`).
        let tag = if self.shared.winding_down() { None } else { Some(self.tag.as_slice()) };
        match self.framing.feed(data, tag, &mut self.inbox) {
            Ok(heads) => {
                for gate in self.framing.take_gates() {
                    // A position in the inbox, whose first byte is the `forwarded`th.
                    self.gates.push_back(self.forwarded.saturating_add(u64::try_from(gate).unwrap_or(u64::MAX)));
                }
                if heads > 0 {
                    self.flight.requests.fetch_add(heads, Ordering::AcqRel);
                    self.requests = self.requests.saturating_add(u64::from(heads));
                }
                if self.framing.phase() == Phase::Head && (before != Phase::Head || heads > 0) {
                    self.head_started = now;
                }
            }
            Err(refusal) => {
                self.shared.notices.refusal(self.peer.ip(), &refusal);
                self.refusal = Some(refusal);
            }
        }
    }

    /// A whole head waits and no attachment exists: attach, or answer 503.
    fn attach_if_needed(&mut self, registry: &Registry, token: Token, now: Instant) -> bool {
        if self.backend.is_some() || self.inbox.is_empty() || self.closing || self.holding() {
            return false;
        }
        let busy = |conn: &mut Conn, why: &'static str| {
            // Nothing of these requests reached the server: they are answered here.
            conn.inbox.clear();
            conn.gates.clear();
            conn.flight.requests.store(0, Ordering::Release);
            conn.refusal = Some(Refusal { status: Some(503), reason: why });
            true
        };
        let slot = match self.shared.caps.take(self.peer.ip(), Kind::Attached) {
            Ok(slot) => slot,
            Err(refused) => {
                self.shared.notices.refused(refused, Kind::Attached, self.peer.ip());
                let why = match refused {
                    Refused::Total => "the server is busy, try again shortly",
                    Refused::PerClient => "too many requests at once from this address",
                };
                return busy(self, why);
            }
        };
        let mut stream = match UnixStream::connect(&self.shared.socket_path) {
            Ok(stream) => stream,
            Err(err) => {
                self.shared.backend_unreachable(&err);
                return busy(self, "the server is busy, try again shortly");
            }
        };
        let backend_token = Token(token.0 | 1);
        if let Err(err) = registry.register(&mut stream, backend_token, Interest::READABLE | Interest::WRITABLE) {
            tracing::warn!(error = %err, "cannot watch a connection to the internal HTTP server");
            return busy(self, "the server is busy, try again shortly");
        }
        // Nothing to read yet: the first response brings an event.
        self.backend = Some(Backend {
            stream,
            _slot: slot,
            readable: false,
            writable: true,
            hup: false,
            write_shut: false,
            shut_by_us: false,
            eof: false,
            since: now,
        });
        self.last_activity = now;
        true
    }

    /// A small body is on its way: its request goes to tiny_http whole (see `Framing::holding`).
    fn holding(&self) -> bool {
        self.framing.holding() && !self.client_eof && self.refusal.is_none()
    }

    fn write_backend(&mut self, now: Instant) -> io::Result<bool> {
        if self.holding() {
            return Ok(false);
        }
        let mut sendable = self.sendable();
        let Some(backend) = &mut self.backend else { return Ok(false) };
        let mut progress = false;
        while backend.writable && !backend.write_shut && !backend.eof && sendable > 0 {
            match (&backend.stream).write(self.inbox.get(..sendable).unwrap_or_default()) {
                Ok(0) => backend.eof = true,
                Ok(n) => {
                    // A short write filled the socket's buffer: wait for its event.
                    backend.writable = n == sendable;
                    let n = n.min(sendable);
                    self.inbox.drain(..n);
                    sendable = sendable.saturating_sub(n);
                    self.forwarded = self.forwarded.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
                    progress = true;
                }
                Err(err) if is_would_block(&err) => backend.writable = false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // tiny_http closed the connection: what it wrote is still read below.
                Err(_) => {
                    backend.writable = false;
                    backend.write_shut = true;
                    progress = true;
                }
            }
        }
        if progress {
            self.last_forward = now;
            self.last_activity = now;
        }
        Ok(progress)
    }

    fn read_backend(&mut self, registry: &Registry, scratch: &mut [u8], now: Instant) -> io::Result<bool> {
        let mut progress = false;
        while let Some(backend) = &mut self.backend {
            if backend.eof || !backend.readable || self.outbox.len() >= OUTBOX_LIMIT {
                break;
            }
            match (&backend.stream).read(scratch) {
                Ok(0) => backend.eof = true,
                Ok(n) => {
                    backend.readable = n == scratch.len() || backend.hup;
                    self.outbox.extend_from_slice(scratch.get(..n).unwrap_or_default());
                    self.last_activity = now;
                    progress = true;
                }
                Err(err) if is_would_block(&err) => backend.readable = false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => backend.eof = true,
            }
        }
        // Everything tiny_http has written so far goes out in one write.
        self.flush_client(now)?;
        if self.backend.as_ref().is_some_and(|b| b.eof) {
            self.detached(registry);
            progress = true;
        }
        Ok(progress)
    }

    /// tiny_http has closed its side: the attachment is over.
    fn detached(&mut self, registry: &Registry) {
        let Some(mut backend) = self.backend.take() else { return };
        let _ = registry.deregister(&mut backend.stream);
        if !backend.shut_by_us {
            // tiny_http ended the connection itself (`Connection: close`, HTTP/1.0, an error it
            // answered): nothing more can be served on it.
            self.closing = true;
        } else if !self.closing && self.refusal.is_none() && !self.client_eof {
            // Parked: release what an idle connection does not need.
            self.inbox.shrink_to_fit();
            self.outbox = Vec::new();
            self.framing.shrink();
        }
    }

    fn flush_client(&mut self, now: Instant) -> io::Result<bool> {
        let mut progress = false;
        match &mut self.tls {
            None => {
                while self.client_writable && !self.outbox.is_empty() {
                    match (&self.tcp).write(&self.outbox) {
                        Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "client accepts no more bytes")),
                        Ok(n) => {
                            self.client_writable = n == self.outbox.len();
                            self.outbox.drain(..n.min(self.outbox.len()));
                            progress = true;
                        }
                        Err(err) if is_would_block(&err) => self.client_writable = false,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => return Err(err),
                    }
                }
            }
            Some(tls) => loop {
                let mut moved = false;
                if !self.outbox.is_empty() && !tls.handshaking {
                    let n = tls.session.writer().write(&self.outbox)?;
                    self.outbox.drain(..n.min(self.outbox.len()));
                    moved |= n > 0;
                }
                if self.client_writable && tls.session.wants_write() {
                    let mut tcp = &self.tcp;
                    match tls.session.write_tls(&mut tcp) {
                        Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "client accepts no more bytes")),
                        Ok(_) => moved = true,
                        Err(err) if is_would_block(&err) => self.client_writable = false,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => moved = true,
                        Err(err) => return Err(err),
                    }
                }
                if !moved {
                    break;
                }
                progress = true;
            },
        }
        if progress {
            self.last_write = now;
            self.last_activity = now;
        }
        Ok(progress)
    }

    /// The state changes that follow from the bytes moved: half-closes, refusals, closing.
    fn settle(&mut self) -> bool {
        let mut changed = false;
        let stopping = self.shared.winding_down();
        let nothing_waits = self.inbox.is_empty() && self.in_flight() == 0;
        // The client is done, or a refusal or a shutdown ends the connection: once every request
        // before that point is with tiny_http, tell it that no more come. Once the workers are
        // gone nothing in flight will be answered by them: tiny_http answers it as it closes.
        let wind_up = self.client_eof
            || self.refusal.is_some()
            || self.shared.is_stopping()
            || (stopping && nothing_waits && self.framing.phase() != Phase::Body);
        if wind_up && (self.inbox.is_empty() || self.shared.is_stopping()) {
            if let Some(backend) = &mut self.backend {
                changed |= backend.shut();
            }
        }
        if self.backend.is_none() && !self.closing {
            if let Some(refusal) = self.refusal {
                // Everything before the refused request has been delivered.
                if let Some(status) = refusal.status {
                    self.outbox.extend_from_slice(&error_response(status, refusal.reason, self.tls.is_some()));
                }
                self.closing = true;
                changed = true;
            } else if self.inbox.is_empty() && (self.client_eof || (stopping && self.in_flight() == 0)) {
                self.closing = true;
                changed = true;
            }
        }
        if self.closing {
            if let Some(tls) = &mut self.tls {
                if !tls.close_notify_sent && self.outbox.is_empty() && !tls.handshaking {
                    tls.session.send_close_notify();
                    tls.close_notify_sent = true;
                    changed = true;
                }
            }
        }
        changed
    }

    /// Parks an attachment that is [`super::PARK_AFTER`] old as soon as nothing is in flight,
    /// whether its client went quiet or keeps it busy: the one parking rule. tiny_http 0.12 runs each connection on a pool
    /// thread that its next connection may queue behind (the pool counts a thread already woken
    /// for another connection as idle), and a queued connection starts only when some pool
    /// thread's connection ends: attachments that lived as long as their busy clients would hold
    /// a queued one, its request and its slot until the load stopped. True when this changed
    /// anything.
    fn rotate(&mut self, now: Instant) -> bool {
        let park = self.shared.timeouts.park;
        let idle = self.inbox.is_empty() && self.in_flight() == 0 && !self.output_pending();
        let between = matches!(self.framing.phase(), Phase::Idle | Phase::Done);
        if self.closing || self.refusal.is_some() || !idle || !between {
            return false;
        }
        match &mut self.backend {
            Some(backend) if now >= backend.since + park => backend.shut(),
            _ => false,
        }
    }

    /// Reads and drops what a closing client still sends, until its FIN or [`LINGER_BYTES`].
    fn discard_client(&mut self, scratch: &mut [u8]) -> io::Result<bool> {
        let mut progress = false;
        while self.client_readable && !self.client_eof {
            match (&self.tcp).read(scratch) {
                Ok(0) => {
                    self.client_eof = true;
                    progress = true;
                }
                Ok(n) => {
                    self.lingered = self.lingered.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
                    if self.lingered > LINGER_BYTES {
                        return Err(io::Error::other("the client kept sending after its response"));
                    }
                    progress = true;
                }
                Err(err) if is_would_block(&err) => self.client_readable = false,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(progress)
    }

    /// The deadlines, parking and shutdown, looked at on every tick of the loop.
    pub fn tick(&mut self, registry: &Registry, token: Token, scratch: &mut [u8], now: Instant) -> Verdict {
        let t: Timeouts = self.shared.timeouts;
        if self.lingering.is_some() {
            return self.verdict(now);
        }
        if self.tls.as_ref().is_some_and(|tls| tls.handshaking) {
            if now >= self.since + t.handshake {
                tracing::debug!(peer = %self.peer, "TLS handshake timed out");
                return Verdict::Close;
            }
            return Verdict::Keep;
        }
        if self.output_pending() && now >= self.last_write + t.write {
            tracing::debug!(peer = %self.peer, "client stopped reading; closing");
            return Verdict::Close;
        }
        if !self.closing && self.refusal.is_none() {
            let idle = self.inbox.is_empty() && self.in_flight() == 0 && !self.output_pending();
            match self.framing.phase() {
                Phase::Head if now >= self.head_started + t.head => {
                    self.shared.notices.slow_head(self.peer.ip());
                    self.refusal = Some(Refusal { status: Some(408), reason: "the request head took too long" });
                }
                Phase::Idle if idle && self.requests == 0 && now >= self.since + t.head => {
                    // Connected and never asked anything.
                    return Verdict::Close;
                }
                Phase::Idle if idle && now >= self.last_activity + t.keep_alive => return Verdict::Close,
                // Only while waiting for the client: a body that tiny_http is slow to take is not
                // the client's fault.
                Phase::Body
                    if (self.inbox.is_empty() || self.holding())
                        && now >= self.last_client_byte.max(self.last_forward) + t.body =>
                {
                    tracing::debug!(peer = %self.peer, "request body stalled; closing");
                    return Verdict::Close;
                }
                // Parking (an attachment with nothing in flight gives tiny_http's thread back) is
                // `rotate`'s, in the `drive` below.
                _ => {}
            }
        }
        self.drive(registry, token, scratch, now)
    }

    /// Closes both sockets (the loop drops the connection right after).
    pub fn close(&mut self, registry: &Registry) {
        if let Some(tls) = &mut self.tls {
            if !tls.handshaking && !tls.close_notify_sent {
                tls.session.send_close_notify();
                tls.close_notify_sent = true;
            }
            let mut tcp = &self.tcp;
            // Best effort: the socket is non-blocking and about to close.
            let _ = tls.session.write_tls(&mut tcp);
        }
        if let Some(mut backend) = self.backend.take() {
            let _ = registry.deregister(&mut backend.stream);
        }
        let _ = registry.deregister(&mut self.tcp);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.established() {
            self.shared.flights_remove(self.id);
        }
    }
}

/// A response the front end writes itself: a refused request, 408, 503; over HTTPS with
/// `Strict-Transport-Security` like every other.
pub fn error_response(status: u16, reason: &str, tls: bool) -> Vec<u8> {
    let title = match status {
        400 => "Bad Request",
        408 => "Request Timeout",
        413 => "Content Too Large",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
    // A person may read this (a citizen's phone on a busy day): Italian first, then the English
    // reason that the log also has.
    let italian = match status {
        503 => "Il servizio è momentaneamente occupato: riprova tra qualche secondo.",
        408 => "La richiesta è arrivata troppo lentamente: riprova.",
        413 | 431 => "La richiesta è troppo grande.",
        _ => "La richiesta non può essere accolta.",
    };
    let body = format!("{italian}\n{reason}\n");
    let retry = if status == 503 { "Retry-After: 5\r\n" } else { "" };
    let hsts = if tls {
        format!("Strict-Transport-Security: {}\r\n", super::tls::STRICT_TRANSPORT_SECURITY)
    } else {
        String::new()
    };
    format!(
        "HTTP/1.1 {status} {title}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
         X-Content-Type-Options: nosniff\r\n{hsts}{retry}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn log_handshake_failure(peer: SocketAddr, err: &rustls::Error) {
    if matches!(err, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented) {
        // Worth seeing at the default level: this is how a wrong Node certificate shows up.
        tracing::info!(%peer, error = %err, "TLS handshake refused: client certificate");
    } else {
        tracing::debug!(%peer, error = %err, "TLS handshake failed");
    }
}
