//! The front end on loopback with small budgets and short deadlines, a thread reading tiny_http
//! standing in for `server`'s workers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

struct Harness {
    front: Arc<Front>,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    worker: Option<std::thread::JoinHandle<()>>,
    done: Arc<AtomicBool>,
}

const SHORT: Timeouts = Timeouts {
    handshake: Duration::from_millis(500),
    head: Duration::from_millis(600),
    body: Duration::from_millis(600),
    keep_alive: Duration::from_secs(3),
    write: Duration::from_secs(3),
    park: Duration::from_millis(100),
    linger: Duration::from_millis(200),
};

/// The largest body the harness's routes read.
const MAX_BODY: u64 = 256 * 1024;

/// A front end with `budgets`, and a worker answering each request with the connection's tag:
/// `peer <tcp peer> node <0|1> client <address from X-Forwarded-For> body <bytes read>`. A path
/// starting with `/refuse` is answered without its body, which is cut when gated.
fn start(budgets: Budgets, proxies: &[&str]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let loopback = vec![IpRange::parse("127.0.0.1").unwrap()];
    let settings = Settings {
        tls: None,
        node_auth: NodeAuth::Addresses(loopback),
        trusted_proxies: proxies.iter().map(|p| IpRange::parse(p).unwrap()).collect(),
        max_body: MAX_BODY,
        socket_dir: dir.path().join("run"),
    };
    let front = Arc::new(Front::start_with(listener, settings, SHORT, budgets).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let (front, done) = (Arc::clone(&front), Arc::clone(&done));
        let backend = front.backend().unwrap();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let Ok(Some(mut request)) = backend.recv_timeout(Duration::from_millis(20)) else { continue };
                let tag = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv(tag::TAG_HEADER))
                    .and_then(|h| front.identify(h.value.as_str()));
                let mut body = Vec::new();
                let gated = framing::is_gated(request.headers());
                if let Some(tag) = tag.filter(|_| request.url().starts_with("/refuse")) {
                    if gated {
                        front.cut_body(tag.connection);
                    }
                    let _ = request.respond(tiny_http::Response::from_string("refused").with_status_code(401));
                    front.responded(tag.connection);
                    continue;
                }
                if let Some(tag) = tag.filter(|_| gated) {
                    front.open_body(tag.connection);
                }
                request.as_reader().read_to_end(&mut body).unwrap();
                let Some(tag) = tag else {
                    let _ = request.respond(tiny_http::Response::from_string("untagged").with_status_code(400));
                    continue;
                };
                let forwarded: Vec<String> = request
                    .headers()
                    .iter()
                    .filter(|h| h.field.equiv("X-Forwarded-For"))
                    .map(|h| h.value.to_string())
                    .collect();
                let forwarded: Vec<&str> = forwarded.iter().map(String::as_str).collect();
                let client = front.client_address(tag.peer, &forwarded);
                let text = format!(
                    "peer {} node {} client {client} body {}",
                    tag.peer,
                    u8::from(tag.node_trusted),
                    body.len()
                );
                let _ = request.respond(tiny_http::Response::from_string(text));
                front.responded(tag.connection);
            }
        })
    };
    Harness { front, addr, dir, worker: Some(worker), done }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(worker) = self.worker.take() {
            worker.join().unwrap();
        }
        self.front.stop();
    }
}

fn budgets(connections_per_client: u32, attached: usize) -> Budgets {
    Budgets { total: [8, 64, attached], per_client: [2, connections_per_client, 8] }
}

/// A connection from `source` (a loopback address) to `addr`.
fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&format!("{source}:0").parse::<SocketAddr>().unwrap().into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Reads one response (with a Content-Length) and returns its status line and body.
fn response(stream: &mut TcpStream) -> (String, String) {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "closed in a head: {}", String::from_utf8_lossy(&data));
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    (head.lines().next().unwrap().to_owned(), String::from_utf8(body).unwrap())
}

/// Reads until the server closes; what it sent.
fn until_closed(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    String::from_utf8_lossy(&all).into_owned()
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn requests_are_tagged_kept_alive_and_parked_between() {
    let h = start(budgets(8, 8), &[]);
    let mut client = connect_from("127.0.0.1", h.addr);
    client.write_all(b"GET /a HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.9\r\n\r\n").unwrap();
    let (status, body) = response(&mut client);
    assert_eq!(status, "HTTP/1.1 200 OK");
    // Not a trusted proxy: the header is ignored; loopback may call the station.
    assert_eq!(body, "peer 127.0.0.1 node 1 client 127.0.0.1 body 0");
    // Idle past `park`: the connection gives its tiny_http thread back, and the next request
    // on it attaches again.
    eventually("the connection parks", || h.front.held() == [0, 1, 0]);
    client.write_all(b"POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc").unwrap();
    assert_eq!(response(&mut client).1, "peer 127.0.0.1 node 1 client 127.0.0.1 body 3");
    // Pipelined, with a chunked body between.
    client
        .write_all(
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n\
              GET /d HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    assert!(response(&mut client).1.ends_with("body 2"));
    assert!(response(&mut client).1.ends_with("body 0"));
    assert_eq!(until_closed(&mut client), "", "closed after Connection: close");
    eventually("every slot is given back", || h.front.held() == [0, 0, 0]);
}

#[test]
fn another_address_is_served_while_one_holds_its_share() {
    let h = start(budgets(3, 8), &[]);
    let idle: Vec<TcpStream> = (0..6).map(|_| connect_from("127.0.0.1", h.addr)).collect();
    eventually("three are held", || h.front.held()[1] == 3);
    // The three over the share are answered 503 and closed.
    let refused = idle
        .into_iter()
        .filter_map(|mut c| {
            c.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
            let mut first = [0u8; 12];
            c.read_exact(&mut first).ok().map(|()| first)
        })
        .filter(|first| first == b"HTTP/1.1 503")
        .count();
    assert_eq!(refused, 3);
    let mut other = connect_from("127.0.0.2", h.addr);
    other.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    // Not in the station's address list (127.0.0.1 only): not node-trusted.
    assert_eq!(response(&mut other).1, "peer 127.0.0.2 node 0 client 127.0.0.2 body 0");
}

#[test]
fn a_trusted_proxy_is_not_held_to_the_share_and_names_the_client() {
    let h = start(budgets(3, 8), &["127.0.0.1"]);
    let mut held: Vec<TcpStream> = (0..6).map(|_| connect_from("127.0.0.1", h.addr)).collect();
    eventually("all six are held", || h.front.held()[1] == 6);
    let client = &mut held[5];
    client.write_all(b"GET / HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6, 198.51.100.7\r\n\r\n").unwrap();
    assert_eq!(response(client).1, "peer 127.0.0.1 node 1 client 198.51.100.7 body 0");
}

#[test]
fn a_stalled_head_is_answered_408_and_closed() {
    let h = start(budgets(8, 8), &[]);
    let mut slow = connect_from("127.0.0.1", h.addr);
    slow.write_all(b"GET /slo").unwrap();
    assert!(until_closed(&mut slow).starts_with("HTTP/1.1 408 "));
    // A connection that never sends anything is closed without a word.
    let mut silent = connect_from("127.0.0.1", h.addr);
    assert_eq!(until_closed(&mut silent), "");
    // So is a body that stops coming.
    let mut stalled = connect_from("127.0.0.1", h.addr);
    stalled.write_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").unwrap();
    assert_eq!(until_closed(&mut stalled), "");
    eventually("every slot is given back", || h.front.held() == [0, 0, 0]);
}

#[test]
fn refusals_are_answered_after_what_came_before() {
    let h = start(budgets(8, 8), &[]);
    let mut client = connect_from("127.0.0.1", h.addr);
    client.write_all(b"GET /ok HTTP/1.1\r\n\r\nGET /bad HTTP/1.1\r\nX-Mypay-Front: forged\r\n\r\n").unwrap();
    assert!(response(&mut client).1.starts_with("peer 127.0.0.1"));
    let rest = until_closed(&mut client);
    assert!(rest.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{rest}");
    assert!(rest.ends_with("a reserved header\n"), "{rest}");
    let mut big = connect_from("127.0.0.1", h.addr);
    big.write_all(format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1).as_bytes()).unwrap();
    assert!(until_closed(&mut big).starts_with("HTTP/1.1 413 "));
}

/// A large body goes to the server only once it asks for it, and whole; a body the server refuses
/// is neither forwarded nor read beyond the connection's buffers, and the connection closes after
/// the response.
#[test]
fn gated_bodies_wait_for_the_server_and_a_refused_one_is_not_read() {
    let h = start(budgets(8, 8), &[]);
    let mut client = connect_from("127.0.0.1", h.addr);
    let body = vec![b'x'; 200_000];
    client.write_all(format!("POST /up HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes()).unwrap();
    client.write_all(&body).unwrap();
    assert_eq!(response(&mut client).1, "peer 127.0.0.1 node 1 client 127.0.0.1 body 200000");
    client.write_all(b"GET /again HTTP/1.1\r\n\r\n").unwrap();
    assert!(response(&mut client).1.ends_with("body 0"), "the connection goes on");

    // Refused: the client may push what the socket buffers take and the front end's inbox holds,
    // then nothing more is read; it gets the response, and the connection closes.
    let mut refused = connect_from("127.0.0.1", h.addr);
    refused.write_all(format!("POST /refuse HTTP/1.1\r\nContent-Length: {MAX_BODY}\r\n\r\n").as_bytes()).unwrap();
    let mut writer = refused.try_clone().unwrap();
    let pusher = std::thread::spawn(move || {
        let chunk = vec![b'y'; 16 * 1024];
        let mut sent = 0u64;
        while sent < MAX_BODY {
            match writer.write(&chunk) {
                Ok(n) => sent += n as u64,
                Err(_) => break,
            }
        }
        sent
    });
    let (status, body) = response(&mut refused);
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 401 Unauthorized", "refused"));
    let _ = refused.read_to_end(&mut Vec::new());
    pusher.join().unwrap();
    eventually("every slot is given back", || h.front.held() == [0, 1, 0]);
}

#[test]
fn requests_beyond_the_attached_budget_get_503() {
    let h = start(budgets(8, 1), &[]);
    // A small body still on its way holds no attachment: its request goes over whole.
    let mut slow = connect_from("127.0.0.1", h.addr);
    slow.write_all(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab").unwrap();
    eventually("established", || h.front.held()[1] == 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(h.front.held()[2], 0);
    // A client that waits for 100 Continue does hold one: the only one.
    let mut first = connect_from("127.0.0.1", h.addr);
    first.write_all(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nab").unwrap();
    eventually("attached", || h.front.held()[2] == 1);
    let mut second = connect_from("127.0.0.2", h.addr);
    second.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(until_closed(&mut second).starts_with("HTTP/1.1 503 "));
    first.write_all(b"cde").unwrap();
    assert_eq!(response(&mut first).0, "HTTP/1.1 100 Continue");
    assert!(response(&mut first).1.ends_with("body 5"));
    eventually("the first one parks", || h.front.held()[2] == 0);
    slow.write_all(b"cde").unwrap();
    assert!(response(&mut slow).1.ends_with("body 5"));
}

#[test]
fn a_lost_socket_is_reported_by_health() {
    let h = start(budgets(8, 8), &[]);
    assert_eq!(h.front.health(), Ok(()));
    std::fs::remove_file(h.dir.path().join("run/http.sock")).unwrap();
    let mut client = connect_from("127.0.0.1", h.addr);
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(until_closed(&mut client).starts_with("HTTP/1.1 503 "));
    let reason = h.front.health().unwrap_err();
    assert!(reason.contains("http.sock is gone"), "{reason}");
}

#[test]
fn health_reports_a_recorded_failure() {
    let h = start(budgets(8, 8), &[]);
    h.front.fail("tiny_http's accept thread ended".to_owned());
    h.front.fail("a second reason is not kept".to_owned());
    assert_eq!(h.front.health(), Err("tiny_http's accept thread ended".to_owned()));
}

#[test]
fn stopping_closes_idle_connections_and_refuses_new_requests() {
    let h = start(budgets(8, 8), &[]);
    let mut busy = connect_from("127.0.0.1", h.addr);
    busy.write_all(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\na").unwrap();
    let mut idle = connect_from("127.0.0.1", h.addr);
    idle.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    response(&mut idle);
    eventually("both are held", || h.front.held()[1] == 2);
    h.front.quiesce();
    assert_eq!(until_closed(&mut idle), "", "an idle keep-alive connection is closed");
    // The body under way still reaches the worker; nothing after it is taken.
    busy.write_all(b"bGET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(response(&mut busy).1.ends_with("body 2"));
    assert!(until_closed(&mut busy).starts_with("HTTP/1.1 503 "));
    eventually("drained", || h.front.drained());
    assert!(TcpStream::connect_timeout(&h.addr, Duration::from_secs(1)).is_err(), "no longer listening");
}

#[test]
fn the_front_ends_own_responses_carry_hsts_over_https_only() {
    let https = String::from_utf8(conn::error_response(400, "no", true)).unwrap();
    assert!(https.contains("\r\nStrict-Transport-Security: max-age=31536000\r\n"), "{https}");
    let plain = String::from_utf8(conn::error_response(400, "no", false)).unwrap();
    assert!(!plain.contains("Strict-Transport-Security"), "{plain}");
    let busy = String::from_utf8(conn::error_response(503, "the server is busy, try again shortly", false)).unwrap();
    assert!(
        busy.ends_with(
            "\r\n\r\nIl servizio è momentaneamente occupato: riprova tra qualche secondo.\nthe server is busy, try again shortly\n"
        ),
        "{busy}"
    );
}

#[test]
fn the_rate_limited_log_counts_what_it_left_out() {
    let notices = Notices::default();
    let mut lines = Vec::new();
    for _ in 0..5 {
        notices.note("x", |suppressed| lines.push(suppressed));
    }
    notices.note("y", |suppressed| lines.push(suppressed + 100));
    assert_eq!(lines, vec![0, 100], "one line per kind; the others are counted");
    assert_eq!(lock(&notices.last).get("x").map(|(_, n)| *n), Some(4));
}

/// tiny_http 0.12 can queue a new connection's thread behind busy ones (its pool counts a thread
/// already woken for another connection as idle), and a queued connection starts only when a pool
/// thread's connection ends: so no attachment may stay busy for ever. Clients arriving at once,
/// each sending requests back to back, are all served while the others go on.
#[test]
fn busy_attachments_let_every_client_through() {
    const CLIENTS: usize = 8;
    let h = start(Budgets { total: [8, 64, 64], per_client: [2, 64, 64] }, &[]);
    let addr = h.addr;
    for round in 0..4 {
        let stop = Arc::new(AtomicBool::new(false));
        let served: Arc<Vec<AtomicU32>> = Arc::new((0..CLIENTS).map(|_| AtomicU32::new(0)).collect());
        let start = Arc::new(std::sync::Barrier::new(CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let (stop, served, start) = (Arc::clone(&stop), Arc::clone(&served), Arc::clone(&start));
                std::thread::spawn(move || {
                    let mut client = connect_from("127.0.0.1", addr);
                    start.wait();
                    while !stop.load(Ordering::SeqCst) {
                        client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
                        assert_eq!(response(&mut client).0, "HTTP/1.1 200 OK");
                        served[i].fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        while served.iter().any(|n| n.load(Ordering::SeqCst) < 3) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let counts: Vec<u32> = served.iter().map(|n| n.load(Ordering::SeqCst)).collect();
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            client.join().unwrap();
        }
        assert!(
            counts.iter().all(|&n| n >= 3),
            "round {round}: a client waited while the others were served: {counts:?}"
        );
    }
}
