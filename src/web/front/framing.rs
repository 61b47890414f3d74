//! Request framing on the way in: where each request's head and body end, read the way tiny_http
//! will read them, so that the front end can put the connection's tag in every head, knows whether
//! a connection is between requests, in a head or in a body (its timeouts), and never attaches a
//! connection to tiny_http before a whole head has arrived.
//!
//! The parser accepts a strict subset of what tiny_http 0.12 accepts, and refuses the rest itself:
//! a head over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] lines (tiny_http reads lines without a bound),
//! a request line that is not `METHOD SP target SP HTTP/1.x`, bytes outside visible ASCII and tab,
//! obsolete line folding, a bare LF, two `Content-Length` or `Transfer-Encoding` headers or both at
//! once, a transfer coding other than `chunked`, chunk trailers, a `Content-Length` above the
//! largest body any route reads (tiny_http would allocate a buffer that size to skip it), an
//! `Expect` other than `100-continue`, and the tag header itself. Whatever it forwards therefore
//! splits into the same requests in tiny_http, and a disagreement could only leave a request
//! without its tag, which the server refuses.
//!
//! Two rewrites. A `Connection: upgrade` token is dropped (with `Upgrade` ignored, as a server that
//! does not upgrade may), because tiny_http would hand the rest of the connection to the handler as
//! the body and a worker would wait for it. And a body that is not held ([`Framing::holding`]) is
//! *gated*: the server must say whether it wants it before any byte of it goes on
//! ([`Framing::take_gates`]), so that a route's guard runs on the head alone; such a body reaches
//! tiny_http chunked (a `Content-Length` one is re-framed, its `Content-Length` kept for the
//! server's early size check), because tiny_http skips an unread `Content-Length` body by reading
//! it into a buffer as large as what is left, while it drops an unread chunked one. So tiny_http
//! sees a chunked body exactly when the body is gated ([`is_gated`]).

/// The largest request head (request line and headers), as large as common servers take: cookies
/// and long query strings fit, and a client cannot make the front end buffer more.
pub const MAX_HEAD: usize = 32 * 1024;
/// The most header lines in one head.
pub const MAX_HEADERS: usize = 100;
/// The largest body [`Framing::holding`] waits for.
pub const HOLD_BODY: u64 = 64 * 1024;

/// Whether tiny_http's view of a request's headers says its body is gated (see the module
/// documentation): the server must open the body (`super::Front::open_body`) before reading it,
/// or cut it (`super::Front::cut_body`).
pub fn is_gated(headers: &[tiny_http::Header]) -> bool {
    headers.iter().any(|h| h.field.equiv("Transfer-Encoding"))
}

/// A request the front end answers itself, or a broken body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The status to answer with; `None` for a body that broke after its head went to the server
    /// (the server answers that request; the connection is then closed).
    pub status: Option<u16>,
    /// Why, for the log and the response body.
    pub reason: &'static str,
}

impl Refusal {
    const fn answer(status: u16, reason: &'static str) -> Refusal {
        Refusal { status: Some(status), reason }
    }
    const fn broken_body(reason: &'static str) -> Refusal {
        Refusal { status: None, reason }
    }
}

/// Where the client is in its stream of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between requests: nothing of the next one has arrived.
    Idle,
    /// Part of a head has arrived.
    Head,
    /// A body is arriving.
    Body,
    /// The connection's last request (`Connection: close`, HTTP/1.0) is forwarded; anything more
    /// the client sends is dropped, as tiny_http would not read it.
    Done,
}

/// The parser of one connection's requests.
#[derive(Debug)]
pub struct Framing {
    state: State,
    /// The head being read, kept until it is whole.
    head: Vec<u8>,
    /// Body bytes of the current chunked request so far.
    chunked_total: u64,
    /// The current request is the connection's last.
    last: bool,
    /// The current request's body is small and follows its head without waiting for a `100
    /// Continue`: see [`Framing::holding`].
    hold: bool,
    /// Where gated heads ended in the output of the latest [`Framing::feed`].
    gates: Vec<usize>,
    /// The largest body any route reads.
    max_body: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Head,
    /// The bytes of a `Content-Length` body still to come; `rechunk` when they go on as chunks.
    Length {
        left: u64,
        rechunk: bool,
    },
    Chunked(Chunk),
    Done,
    Failed,
}

/// Where a chunked body is (RFC 9112 §7.1, as `chunked_transfer` 1.5 decodes it for tiny_http).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// In the chunk-size line: the hex digits so far; `ext` once a `;` began an extension.
    Size {
        digits: u8,
        value: u64,
        ext: bool,
    },
    /// The LF of the chunk-size line, with the size read (0: the last chunk).
    SizeLf {
        value: u64,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// The CRLF after the last chunk (trailers are refused: the decoder does not read them).
    EndCr,
    EndLf,
}

/// How a head says its body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Length(u64),
    Chunked,
}

impl Framing {
    /// A parser for a new connection; `max_body` is the largest body any route reads.
    pub fn new(max_body: u64) -> Framing {
        Framing {
            state: State::Idle,
            head: Vec::new(),
            chunked_total: 0,
            last: false,
            hold: false,
            gates: Vec::new(),
            max_body,
        }
    }

    pub fn phase(&self) -> Phase {
        match self.state {
            State::Idle => Phase::Idle,
            State::Head => Phase::Head,
            State::Length { .. } | State::Chunked(_) => Phase::Body,
            State::Done | State::Failed => Phase::Done,
        }
    }

    /// True while a small body (at most [`HOLD_BODY`] bytes, no `Expect: 100-continue`) is still
    /// arriving: its request waits here whole rather than occupy a tiny_http thread (and wake it
    /// twice) while the client sends the rest.
    pub fn holding(&self) -> bool {
        self.hold && matches!(self.state, State::Length { .. })
    }

    /// Where each gated head completed by the latest [`Framing::feed`] ended in its output: the
    /// bytes after such a position are the body, which waits for the server's word.
    pub fn take_gates(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.gates)
    }

    /// Releases the head buffer's memory while the connection waits (a parked keep-alive).
    pub fn shrink(&mut self) {
        if self.head.is_empty() {
            self.head = Vec::new();
        }
    }

    /// Reads `input` from the client and appends to `out` what tiny_http must see: bodies as they
    /// came, and each head whole, with `tag` (a header line with its CRLF) before its blank line;
    /// `None` when no new request is taken any more (shutdown: a head is then refused with 503).
    /// Returns how many heads were completed (each is one request the server will answer); the
    /// gated ones are then in [`Framing::take_gates`]. After a refusal nothing more is accepted.
    pub fn feed(&mut self, input: &[u8], tag: Option<&[u8]>, out: &mut Vec<u8>) -> Result<u32, Refusal> {
        let mut input = input;
        let mut heads = 0u32;
        self.gates.clear();
        while !input.is_empty() {
            match self.state {
                State::Failed => return Err(Refusal::answer(400, "the connection already failed")),
                State::Done => input = &[],
                State::Idle => {
                    // Blank lines before a request line are skipped (RFC 9112 §2.2); tiny_http
                    // would take one for a malformed request line and close.
                    let skip = input.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
                    input = input.get(skip..).unwrap_or_default();
                    if !input.is_empty() {
                        self.state = State::Head;
                    }
                }
                State::Head => {
                    let (used, body) = match self.head_bytes(input, tag, out) {
                        Ok(done) => done,
                        Err(refusal) => return Err(self.fail(refusal)),
                    };
                    input = input.get(used..).unwrap_or_default();
                    if let Some(body) = body {
                        heads = heads.saturating_add(1);
                        match body {
                            Body::None | Body::Length(0) => self.end_request(),
                            Body::Length(n) => self.state = State::Length { left: n, rechunk: !self.hold },
                            Body::Chunked => {
                                self.chunked_total = 0;
                                self.state = State::Chunked(Chunk::Size { digits: 0, value: 0, ext: false });
                            }
                        }
                    }
                }
                State::Length { left, rechunk } => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    let (body, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
                    if rechunk {
                        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                        out.extend_from_slice(body);
                        out.extend_from_slice(b"\r\n");
                    } else {
                        out.extend_from_slice(body);
                    }
                    input = rest;
                    let left = left.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                    if left == 0 {
                        if rechunk {
                            out.extend_from_slice(b"0\r\n\r\n");
                        }
                        self.end_request();
                    } else {
                        self.state = State::Length { left, rechunk };
                    }
                }
                State::Chunked(Chunk::Data(left)) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    let (body, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
                    out.extend_from_slice(body);
                    input = rest;
                    let left = left.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                    self.state = State::Chunked(if left == 0 { Chunk::DataCr } else { Chunk::Data(left) });
                }
                State::Chunked(chunk) => {
                    let Some((&byte, rest)) = input.split_first() else { break };
                    input = rest;
                    out.push(byte);
                    match self.chunk_byte(chunk, byte) {
                        Ok(Some(next)) => self.state = State::Chunked(next),
                        Ok(None) => self.end_request(),
                        Err(refusal) => return Err(self.fail(refusal)),
                    }
                }
            }
        }
        Ok(heads)
    }

    fn fail(&mut self, refusal: Refusal) -> Refusal {
        self.state = State::Failed;
        self.head = Vec::new();
        refusal
    }

    fn end_request(&mut self) {
        self.hold = false;
        self.state = if self.last { State::Done } else { State::Idle };
    }

    /// Takes head bytes from `input`; once the head is whole, checks it and writes it to `out`.
    /// Returns how many bytes of `input` belonged to the head, and the body's framing once whole.
    fn head_bytes(
        &mut self,
        input: &[u8],
        tag: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<(usize, Option<Body>), Refusal> {
        let before = self.head.len();
        let room = MAX_HEAD.saturating_sub(before);
        let take = input.len().min(room);
        self.head.extend_from_slice(input.get(..take).unwrap_or_default());
        // The end may straddle the previous read.
        let from = before.saturating_sub(3);
        let end = self
            .head
            .get(from..)
            .and_then(|tail| tail.windows(4).position(|w| w == b"\r\n\r\n"))
            .map(|at| from.saturating_add(at).saturating_add(4));
        let Some(end) = end else {
            if self.head.len() >= MAX_HEAD {
                return Err(Refusal::answer(431, "the request head is too large"));
            }
            return Ok((take, None));
        };
        let used = end.saturating_sub(before);
        self.head.truncate(end);
        let head = std::mem::take(&mut self.head);
        let checked = check_head(&head, self.max_body)?;
        let Some(tag) = tag else {
            return Err(Refusal::answer(503, "the server is stopping, try again shortly"));
        };
        self.last = checked.last;
        self.hold = !checked.expects_continue && matches!(checked.body, Body::Length(n) if n <= HOLD_BODY);
        let gated = match checked.body {
            Body::None | Body::Length(0) => false,
            Body::Length(_) => !self.hold,
            Body::Chunked => true,
        };
        let rechunk = gated && matches!(checked.body, Body::Length(_));
        write_head(&head, &checked, tag, rechunk, out);
        if gated {
            self.gates.push(out.len());
        }
        // Keep the buffer's memory for the next head of this connection.
        self.head = head;
        self.head.clear();
        Ok((used, Some(checked.body)))
    }

    /// One byte of chunk framing; `None` when the body is complete.
    fn chunk_byte(&mut self, chunk: Chunk, byte: u8) -> Result<Option<Chunk>, Refusal> {
        let bad = |reason| Err(Refusal::broken_body(reason));
        Ok(Some(match chunk {
            Chunk::Size { digits, value, ext: false } => match byte {
                b'\r' if digits > 0 => Chunk::SizeLf { value },
                b';' if digits > 0 => Chunk::Size { digits, value, ext: true },
                _ => {
                    let Some(digit) = char::from(byte).to_digit(16) else {
                        return bad("malformed chunk size");
                    };
                    if digits >= 15 {
                        return bad("chunk size too large");
                    }
                    Chunk::Size {
                        digits: digits.saturating_add(1),
                        value: value.saturating_mul(16).saturating_add(u64::from(digit)),
                        ext: false,
                    }
                }
            },
            Chunk::Size { digits, value, ext: true } => match byte {
                b'\r' => Chunk::SizeLf { value },
                b'\t' | 0x20..=0x7e => Chunk::Size { digits, value, ext: true },
                _ => return bad("malformed chunk extension"),
            },
            Chunk::SizeLf { value } => {
                if byte != b'\n' {
                    return bad("malformed chunk size line");
                }
                if value == 0 {
                    Chunk::EndCr
                } else {
                    self.chunked_total = self.chunked_total.saturating_add(value);
                    if self.chunked_total > self.max_body {
                        return bad("chunked body larger than any route reads");
                    }
                    Chunk::Data(value)
                }
            }
            Chunk::Data(_) => return bad("chunk data out of place"),
            Chunk::DataCr if byte == b'\r' => Chunk::DataLf,
            Chunk::DataLf if byte == b'\n' => Chunk::Size { digits: 0, value: 0, ext: false },
            Chunk::DataCr | Chunk::DataLf => return bad("chunk data longer than its size"),
            Chunk::EndCr if byte == b'\r' => Chunk::EndLf,
            Chunk::EndCr => return bad("chunk trailers are not supported"),
            Chunk::EndLf if byte == b'\n' => return Ok(None),
            Chunk::EndLf => return bad("malformed last chunk"),
        }))
    }
}

/// What a checked head says.
#[derive(Debug)]
struct Checked {
    body: Body,
    /// tiny_http will read no further request on this connection.
    last: bool,
    /// The client waits for `100 Continue` before sending the body.
    expects_continue: bool,
    /// `Connection` lines that named `upgrade`: (line number, the value without it, empty to drop).
    rewrites: Vec<(usize, String)>,
}

const fn bad_request(reason: &'static str) -> Refusal {
    Refusal::answer(400, reason)
}

/// The lines of a whole head (ending in CRLF CRLF), without their CRLF; a bare LF is an error.
fn lines(head: &[u8]) -> Result<Vec<&[u8]>, Refusal> {
    let content = head.strip_suffix(b"\r\n\r\n").ok_or(bad_request("the request head does not end"))?;
    let mut lines = Vec::new();
    let mut pieces = content.split(|b| *b == b'\n').peekable();
    while let Some(piece) = pieces.next() {
        let line = if pieces.peek().is_some() {
            piece.strip_suffix(b"\r").ok_or(bad_request("a line of the request head ends in a bare LF"))?
        } else {
            piece
        };
        lines.push(line);
    }
    Ok(lines)
}

/// RFC 9110 `tchar`: the characters of methods and header names.
fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
}

/// Checks a whole head against what tiny_http reads the same way (see the module documentation).
fn check_head(head: &[u8], max_body: u64) -> Result<Checked, Refusal> {
    let lines = lines(head)?;
    let Some((request_line, headers)) = lines.split_first() else {
        return Err(bad_request("empty request head"));
    };
    if headers.len() > MAX_HEADERS {
        return Err(Refusal::answer(431, "too many header lines"));
    }
    let mut parts = request_line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_request("malformed request line"));
    };
    if method.len() > 32 || !is_token(method) {
        return Err(bad_request("malformed method"));
    }
    if target.is_empty() || !target.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(bad_request("malformed request target"));
    }
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        v if v.starts_with(b"HTTP/") => return Err(Refusal::answer(505, "only HTTP/1.0 and HTTP/1.1 are served")),
        _ => return Err(bad_request("malformed request line")),
    };

    let mut length: Option<u64> = None;
    let mut lengths = 0;
    let mut codings = 0;
    let mut chunked = false;
    let mut expect: Option<&[u8]> = None;
    let mut connection: Option<String> = None;
    let mut rewrites = Vec::new();
    for (n, line) in headers.iter().enumerate() {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            return Err(bad_request("a header line without a colon"));
        };
        let (name, value) = line.split_at_checked(colon).unwrap_or((line, &[]));
        let value = value.get(1..).unwrap_or_default();
        if !is_token(name) {
            return Err(bad_request("malformed header name"));
        }
        if !value.iter().all(|b| *b == b'\t' || (0x20..=0x7e).contains(b)) {
            return Err(bad_request("a header value holds a control character or a non-ASCII byte"));
        }
        let value = value.trim_ascii();
        let is = |expected: &str| name.eq_ignore_ascii_case(expected.as_bytes());
        if is(super::tag::TAG_HEADER) {
            return Err(bad_request("a reserved header"));
        } else if is("content-length") {
            lengths += 1;
            if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
                return Err(bad_request("malformed Content-Length"));
            }
            length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
        } else if is("transfer-encoding") {
            codings += 1;
            chunked = value.eq_ignore_ascii_case(b"chunked");
            if !chunked {
                return Err(Refusal::answer(501, "only the chunked transfer coding is supported"));
            }
        } else if is("expect") {
            expect = expect.or(Some(value));
        } else if is("connection") {
            let text = String::from_utf8_lossy(value).into_owned();
            let kept = if text.to_ascii_lowercase().contains("upgrade") {
                let kept: Vec<&str> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty() && !t.to_ascii_lowercase().contains("upgrade"))
                    .collect();
                let kept = kept.join(", ");
                rewrites.push((n, kept.clone()));
                kept
            } else {
                text
            };
            // tiny_http looks at the first Connection header it is given.
            if connection.is_none() && !kept.is_empty() {
                connection = Some(kept.to_ascii_lowercase());
            }
        }
    }
    if lengths > 1 || codings > 1 || (lengths > 0 && codings > 0) {
        return Err(bad_request("ambiguous body length"));
    }
    if lengths == 1 && length.is_none() {
        return Err(bad_request("malformed Content-Length"));
    }
    if length.is_some_and(|n| n > max_body) {
        return Err(Refusal::answer(413, "the request body is larger than any route reads"));
    }
    if expect.is_some_and(|e| !e.eq_ignore_ascii_case(b"100-continue")) {
        return Err(Refusal::answer(417, "only Expect: 100-continue is supported"));
    }
    // As tiny_http decides that no request follows (client.rs, ClientConnection::next).
    let last = match &connection {
        Some(c) if c.contains("close") => true,
        Some(c) => http10 && !c.contains("keep-alive"),
        None => http10,
    };
    let body = if chunked { Body::Chunked } else { length.map_or(Body::None, Body::Length) };
    let expects_continue = expect.is_some();
    Ok(Checked { body, last, expects_continue, rewrites })
}

/// Writes a checked head: its lines (a rewritten `Connection`), `Transfer-Encoding: chunked` for a
/// body that goes on re-framed, then `tag`, then the blank line.
fn write_head(head: &[u8], checked: &Checked, tag: &[u8], rechunk: bool, out: &mut Vec<u8>) {
    let content = head.strip_suffix(b"\r\n\r\n").unwrap_or(head);
    if checked.rewrites.is_empty() {
        out.reserve(content.len().saturating_add(tag.len()).saturating_add(4));
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    } else {
        for (n, line) in content.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // Line 0 is the request line; header `n` is line `n + 1`.
            match checked.rewrites.iter().find(|(h, _)| h.saturating_add(1) == n) {
                Some((_, kept)) if kept.is_empty() => continue,
                Some((_, kept)) => {
                    out.extend_from_slice(b"Connection: ");
                    out.extend_from_slice(kept.as_bytes());
                }
                None => out.extend_from_slice(line),
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    if rechunk {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    out.extend_from_slice(tag);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const TAG: &[u8] = b"X-Mypay-Front: t\r\n";

    /// Feeds `input` in pieces of `step` bytes; returns (heads, what tiny_http gets, phase).
    fn run(input: &[u8], step: usize) -> (u32, String, Phase) {
        let mut framing = Framing::new(1 << 20);
        let mut out = Vec::new();
        let mut heads = 0;
        for piece in input.chunks(step) {
            heads += framing.feed(piece, Some(TAG), &mut out).unwrap();
        }
        (heads, String::from_utf8(out).unwrap(), framing.phase())
    }

    fn refusal(input: &[u8]) -> Refusal {
        let mut framing = Framing::new(1 << 20);
        let err = framing.feed(input, Some(TAG), &mut Vec::new()).unwrap_err();
        assert_eq!(framing.phase(), Phase::Done);
        err
    }

    #[test]
    fn each_head_gets_the_tag_whatever_the_pieces() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
                      POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
                      POST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n\
                      GET /z HTTP/1.1\r\n\r\n";
        let expected = "GET / HTTP/1.1\r\nHost: a\r\nX-Mypay-Front: t\r\n\r\n\
                        POST /x HTTP/1.1\r\nContent-Length: 5\r\nX-Mypay-Front: t\r\n\r\nhello\
                        POST /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Mypay-Front: t\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n\
                        GET /z HTTP/1.1\r\nX-Mypay-Front: t\r\n\r\n";
        for step in [1, 2, 3, 7, 64, input.len()] {
            assert_eq!(run(input, step), (4, expected.to_owned(), Phase::Idle), "pieces of {step}");
        }
    }

    #[test]
    fn phases_follow_the_request() {
        let mut framing = Framing::new(1 << 20);
        let mut out = Vec::new();
        assert_eq!(framing.phase(), Phase::Idle);
        framing.feed(b"\r\n", Some(TAG), &mut out).unwrap();
        assert_eq!(framing.phase(), Phase::Idle, "blank lines between requests are skipped");
        assert!(out.is_empty());
        framing.feed(b"POST / HTTP/1.1\r\nContent-Le", Some(TAG), &mut out).unwrap();
        assert_eq!(framing.phase(), Phase::Head);
        assert!(out.is_empty(), "a head is forwarded whole");
        assert_eq!(framing.feed(b"ngth: 3\r\n\r\nab", Some(TAG), &mut out).unwrap(), 1);
        assert_eq!(framing.phase(), Phase::Body);
        framing.feed(b"c", Some(TAG), &mut out).unwrap();
        assert_eq!(framing.phase(), Phase::Idle);
        framing.feed(b"GET / HTTP/1.0\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n", Some(TAG), &mut out).unwrap();
        assert_eq!(framing.phase(), Phase::Done, "HTTP/1.0 without keep-alive ends the connection");
        assert!(!String::from_utf8(out).unwrap().contains("ignored"));
    }

    #[test]
    fn a_small_body_is_waited_for_unless_the_client_waits_first() {
        let mut framing = Framing::new(1 << 20);
        let mut out = Vec::new();
        framing.feed(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\na", Some(TAG), &mut out).unwrap();
        assert!(framing.holding());
        framing.feed(b"bc", Some(TAG), &mut out).unwrap();
        assert!(!framing.holding());
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let mut framing = Framing::new(1 << 20);
            framing.feed(head.as_bytes(), Some(TAG), &mut Vec::new()).unwrap();
            assert_eq!(framing.phase(), Phase::Body);
            assert!(!framing.holding(), "{head}");
        }
    }

    #[test]
    fn a_body_that_is_not_held_is_gated_and_reaches_tiny_http_chunked() {
        let mut framing = Framing::new(1 << 20);
        let mut out = Vec::new();
        let head = b"POST /up HTTP/1.1\r\nContent-Length: 70000\r\n\r\n";
        let mut input = head.to_vec();
        input.extend_from_slice(b"abc");
        assert_eq!(framing.feed(&input, Some(TAG), &mut out).unwrap(), 1);
        let expected_head =
            "POST /up HTTP/1.1\r\nContent-Length: 70000\r\nTransfer-Encoding: chunked\r\nX-Mypay-Front: t\r\n\r\n";
        assert_eq!(framing.take_gates(), [expected_head.len()], "the body waits after the head");
        assert_eq!(String::from_utf8_lossy(&out), format!("{expected_head}3\r\nabc\r\n"));
        assert!(framing.take_gates().is_empty());
        let rest = vec![b'x'; 70000 - 3];
        out.clear();
        framing.feed(&rest, Some(TAG), &mut out).unwrap();
        assert_eq!(framing.phase(), Phase::Idle);
        assert!(out.starts_with(b"1116d\r\nxxx"), "{}", String::from_utf8_lossy(&out[..10]));
        assert!(out.ends_with(b"xxx\r\n0\r\n\r\n"));
        assert!(framing.take_gates().is_empty(), "a body is no head");

        // A client waiting for 100 Continue, and a chunked body, are gated too; a held body is not.
        for (head, gated, rechunked) in [
            (&b"POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"[..], true, true),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", true, false),
            (b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", false, false),
            (b"GET / HTTP/1.1\r\n\r\n", false, false),
        ] {
            let mut framing = Framing::new(1 << 20);
            let mut out = Vec::new();
            framing.feed(head, Some(TAG), &mut out).unwrap();
            assert_eq!(framing.take_gates() == [out.len()], gated, "{}", String::from_utf8_lossy(head));
            let text = String::from_utf8_lossy(&out);
            assert_eq!(text.matches("Transfer-Encoding: chunked").count(), usize::from(gated), "{text}");
            assert_eq!(text.contains("Content-Length") && gated, rechunked, "{text}");
        }
    }

    #[test]
    fn the_last_request_is_the_one_tiny_http_stops_after() {
        for (head, done) in [
            ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false),
            ("GET / HTTP/1.0\r\n\r\n", true),
            ("GET / HTTP/1.1\r\n\r\n", false),
        ] {
            let (_, _, phase) = run(head.as_bytes(), 1000);
            assert_eq!(phase == Phase::Done, done, "{head}");
        }
    }

    #[test]
    fn connection_upgrade_is_ignored_rather_than_handed_to_a_handler() {
        let head = b"GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n";
        let (heads, out, phase) = run(head, 1000);
        assert_eq!((heads, phase), (1, Phase::Idle));
        assert_eq!(out, "GET / HTTP/1.1\r\nConnection: HTTP2-Settings\r\nUpgrade: h2c\r\nX-Mypay-Front: t\r\n\r\n");
        let (_, out, _) = run(b"GET / HTTP/1.1\r\nHost: a\r\nconnection: upgrade\r\n\r\n", 1000);
        assert_eq!(out, "GET / HTTP/1.1\r\nHost: a\r\nX-Mypay-Front: t\r\n\r\n");
        let (_, _, phase) = run(b"GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n", 1000);
        assert_eq!(phase, Phase::Done);
    }

    #[test]
    fn what_tiny_http_could_read_otherwise_is_refused() {
        for (input, status) in [
            (&b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"[..], 400),
            (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413),
            (b"POST / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417),
            (b"GET / HTTP/1.1\r\nX-Mypay-Front: forged\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / FTP/1.0\r\n\r\n", 400),
            (b"GET /  HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1 x\r\n\r\n", 400),
            (b"GET\r\n\r\n", 400),
            (b"G(T / HTTP/1.1\r\n\r\n", 400),
            (b"GET /\x01 HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400),
        ] {
            assert_eq!(refusal(input).status, Some(status), "{}", String::from_utf8_lossy(input));
        }
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(refusal(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()).status, Some(431));
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(refusal(long.as_bytes()).status, Some(431), "refused before the end of the head arrives");
    }

    #[test]
    fn no_new_request_is_taken_when_stopping() {
        let mut framing = Framing::new(1 << 20);
        let mut out = Vec::new();
        framing.feed(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\na", Some(TAG), &mut out).unwrap();
        // The body under way is still read; the next head is refused.
        let err = framing.feed(b"bGET / HTTP/1.1\r\n\r\n", None, &mut out).unwrap_err();
        assert_eq!(err.status, Some(503));
        assert!(String::from_utf8(out).unwrap().ends_with("\r\n\r\nab"));
    }

    #[test]
    fn a_broken_chunked_body_closes_without_an_answer() {
        for body in
            [&b"x\r\n"[..], b"3\r\nabcd", b"3\nabc", b"0\r\nTrailer: x\r\n\r\n", b"1234567890abcdef0\r\n", b";x\r\n"]
        {
            let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            input.extend_from_slice(body);
            let mut framing = Framing::new(1 << 20);
            let mut out = Vec::new();
            let err = framing.feed(&input, Some(TAG), &mut out).unwrap_err();
            assert_eq!(err.status, None, "{}", String::from_utf8_lossy(body));
            assert!(String::from_utf8_lossy(&out).contains("X-Mypay-Front"), "the head went on before the body broke");
        }
        let mut framing = Framing::new(10);
        let input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n";
        assert_eq!(framing.feed(input, Some(TAG), &mut Vec::new()).unwrap_err().status, None, "over max_body");
    }
}
