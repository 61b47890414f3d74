//! Hostile inputs against the real server (the hardening issue): each is refused as its contract
//! says, and the server keeps answering everyone else. Only what can be asserted without timing is
//! asserted; `cargo bench` prints what each costs.

use crate::support::{Server, data_dir, get, post_with};

/// One element with 40,000 attributes (277 KB) on the station and on the SIL: a syntax fault each,
/// and the server still answers.
#[test]
fn attribute_heavy_xml_is_refused_and_the_server_stays_up() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let attrs: String = (0..40_000).map(|i| format!(" a{i}=\"v\"")).collect();
    let body = format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
         <paf:paVerifyPaymentNoticeReq xmlns:paf=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\"{attrs}/>\
         </s:Body></s:Envelope>"
    );
    let station =
        post_with(&server.url("/ws/fesp/"), "text/xml", body.as_bytes(), &[("SOAPAction", "paVerifyPaymentNotice")]);
    assert_eq!(station.status, 200);
    assert!(station.body.contains("PAA_SINTASSI_EXTRAXSD"), "{}", station.body);
    assert!(station.body.contains("more than 64 attributes"), "{}", station.body);
    let sil = post_with(&server.url("/ws/pa/"), "text/xml", body.as_bytes(), &[("SOAPAction", "paaSILInviaDovuti")]);
    assert!(sil.status == 200 || sil.status == 400, "{}", sil.status);
    assert!(sil.body.contains("more than 64 attributes"), "{}", sil.body);
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// The hardening issue's endless line: a small ZIP whose CSV is one line of 64 MiB without a
/// newline. The import reads at most 64 KiB of it, refuses the file with MyPay's generic code and
/// applies nothing; the server, which runs it, keeps answering.
#[test]
fn an_endless_csv_line_aborts_the_import_without_reading_it_whole() {
    use std::io::Write;
    let (tmp, dir) = data_dir();
    crate::support::add_milano(&dir);
    let server = Server::start(&dir, &["serve", "--demo"]);
    let path = tmp.path().join("c_f205-ENDLESS-1_4.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("c_f205-ENDLESS-1_4.csv", options).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20, "the upload itself is small");
    let out =
        crate::support::run(&dir, &["import", path.to_str().unwrap(), "--org", "c_f205", "--wait", "--json"], None);
    let text = crate::support::stdout(&out);
    let result: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!(result["state"], "IMPORT_ABORTITO", "{result}");
    assert_eq!(result["error_code"], "PAA_IMPORT_ERRORE_GENERICO");
    assert_eq!(result["error_description"], "riga 1: più lunga di 65536 byte");
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// The server's peak resident memory so far (`VmHWM` of /proc/<pid>/status), in MiB.
fn peak_rss_mib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or_else(|| panic!("{status}"));
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap();
    kib / 1024
}

/// POSTs `body` to the SIL; its status and answer. The timeout is only a guard: eight clients
/// sending 4 MiB each to a debug build on a busy machine take longer than the usual client's 10 s.
fn post_to_sil(server: &Server, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(300)))
        .build()
        .into();
    let mut reply = agent
        .post(&server.url("/ws/pa/"))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "paaSILInviaDovuti")
        .send(body.as_bytes())
        .unwrap();
    (reply.status().as_u16(), reply.body_mut().read_to_string().unwrap_or_default())
}

/// The SIL reads its body (4 MiB at most) before it knows who sent it: the password is inside.
/// Eight clients at once, one per worker, each send the XML that costs the reader most: 4 MiB of
/// elements with 64 attributes each, 20,000 elements under a 4 KiB namespace, 4 MiB of text in
/// one element, 4 MiB of entity references, 4 MiB of nesting. Every one is answered, and the
/// server's peak memory stays within what its budgets allow.
#[test]
fn hostile_xml_keeps_the_server_within_its_memory_bound() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let before = peak_rss_mib(&server);
    let envelope = |body: &str| {
        format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>{body}</s:Body></s:Envelope>"
        )
    };
    let fill = |unit: &str| unit.repeat((4 * 1024 * 1024 - 200) / unit.len());
    let attrs: String = (0..64).map(|i| format!(" a{i}=\"\"")).collect();
    let uri = "u".repeat(4096);
    let bodies = [
        envelope(&format!("<op>{}</op>", fill(&format!("<e{attrs}/>")))),
        envelope(&format!("<p:op xmlns:p=\"{uri}\">{}</p:op>", "<p:e/>".repeat(19_990))),
        envelope(&format!("<op>{}</op>", fill("t"))),
        envelope(&format!("<op>{}</op>", fill("&amp;"))),
        envelope(&fill("<a>")),
    ];
    std::thread::scope(|scope| {
        for client in 0..8 {
            let (server, bodies) = (&server, &bodies);
            scope.spawn(move || {
                for body in bodies.iter().cycle().skip(client).take(bodies.len()) {
                    let (status, reply) = post_to_sil(server, body);
                    assert!(status == 200 || status == 400, "{status}");
                    assert!(reply.contains("Fault") || reply.contains("fault"), "{reply}");
                }
            });
        }
    });
    assert_eq!(get(&server.url("/healthz")).status, 200);
    // The bound. A worker holds for one request at most the body (4 MiB), the journal's copy with
    // passwords masked and SQLite's copy as it writes it (4 MiB each), and the tree: strings no
    // bigger than the body (4 MiB), plus about 150 bytes per element and 80 per attribute, each
    // at most 20,000 (5 MiB): 21 MiB, 168 MiB for the eight workers. The journal writes what waits
    // once 8 MiB do. The allocator keeps a thread's freed pages for its next request, so the peak
    // is the sum of each worker's own: 256 MiB over the peak before leaves it room. (Without the
    // caps on namespace copies and on attributes per document, these requests took 380 MiB.)
    let after = peak_rss_mib(&server);
    assert!(after <= before + 256, "peak RSS {after} MiB, {before} MiB before the hostile XML");
}

/// `<name>.zip` in `dir` holding `<name>.csv`: a header line of layout 1_4, then `rows` lines
/// made by `line`, deflated as they are written (a bomb never sits whole in this process).
fn bomb(dir: &std::path::Path, name: &str, rows: usize, line: impl Fn(usize) -> String) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join(format!("{name}.zip"));
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("{name}.csv"), options).unwrap();
    let header = crate::backoffice::flow_zip_header();
    zip.write_all(format!("{header}\n").as_bytes()).unwrap();
    for i in 0..rows {
        zip.write_all(line(i).as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// The import's hostile files, run by the server's job runner: one line of 64 MiB without a
/// newline, and 6,000 rows of 60 KiB each (a causale far too long), 350 MiB inflated from a 1 MB
/// upload whose headers say 1,000 bytes. The first is refused at 64 KiB, the rows are each
/// rejected, and the server's peak memory stays within what its budgets allow while it reads,
/// checks and writes them.
#[test]
fn import_bombs_keep_the_server_within_their_memory_bound() {
    let (tmp, dir) = data_dir();
    crate::support::add_milano(&dir);
    let server = Server::start(&dir, &["serve", "--demo"]);
    let before = peak_rss_mib(&server);
    let import = |path: &std::path::Path| {
        let out =
            crate::support::run(&dir, &["import", path.to_str().unwrap(), "--org", "c_f205", "--wait", "--json"], None);
        let text = crate::support::stdout(&out);
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|_| panic!("{text}"))
    };
    let endless = bomb(tmp.path(), "c_f205-ENDLESS-1_4", 64, |_| "x".repeat(1 << 20));
    let result = import(&endless);
    assert_eq!(result["state"], "IMPORT_ABORTITO", "{result}");
    assert_eq!(result["error_description"], "riga 2: più lunga di 65536 byte", "after the header");

    let causale = "x".repeat(60 * 1024);
    let long_rows = bomb(tmp.path(), "c_f205-LONGROWS-1_4", 6_000, |i| {
        format!("{}\n", crate::backoffice::row(&format!("LONG-{i}"), "1.00").replace("TARI 2099", &causale))
    });
    assert!(std::fs::metadata(&long_rows).unwrap().len() < 2 << 20, "a bomb: the upload is small");
    // The sizes the local and central headers declare: the reader counts what it inflates.
    let mut zip = std::fs::read(&long_rows).unwrap();
    for (signature, offset) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
        let at = zip.windows(4).position(|w| w == signature).unwrap() + offset;
        zip[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
    }
    std::fs::write(&long_rows, zip).unwrap();
    let result = import(&long_rows);
    assert_eq!(result["state"], "IMPORT_ESEGUITO", "{result}");
    assert_eq!(result["rejected"], 6_000, "{result}");
    assert_eq!(get(&server.url("/healthz")).status, 200);
    // The bound. In flight at most ten batches of rows (eight queued for the transaction, one
    // being read, one being applied), each of at most 512 rows and 1 MiB of lines plus one line
    // of 64 KiB; a row holds its line about four times (as read, its checked fields, its errors,
    // its result line): 43 MiB. Besides: the inflater's and the line reader's buffers (256 KiB
    // each), the result files' deflaters, the filter of IUDs seen (sized by what the ZIP
    // declares, 16 MiB at most); SQLite's 48 MiB import cache stays empty, since every row is
    // rejected. 64 MiB over the peak before. (With batches of 512 rows whatever their length,
    // up to 300 MiB of lines could wait.)
    let after = peak_rss_mib(&server);
    assert!(after <= before + 64, "peak RSS {after} MiB, {before} MiB before the import bombs");
}

/// CSV formula injection: a debtor named `=HYPERLINK(…)` reaches the back office's CSV as text a
/// spreadsheet will not run (the MyPay export layouts keep values as given: a contract).
#[test]
fn the_back_office_csv_never_starts_a_formula() {
    let (_tmp, dir, _server, mut admin) = crate::backoffice::demo_logged_in();
    let name = "=HYPERLINK(\"http://evil.example/\",\"Mario\")";
    let out = crate::support::run(
        &dir,
        &[
            "debt",
            "add",
            "--org",
            "c_esempio",
            "--debt-type",
            "TARI",
            "--iud",
            "EVIL-1",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            name,
            "--amount",
            "10.00",
            "--causale",
            "+cmd|' /C calc'!A0",
            "--due-date",
            "2099-12-31",
            "--generate-iuv",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    let csv = admin.get("/operatore/c_esempio/dovuti/csv?iud=EVIL-1").body;
    let row = csv.lines().find(|l| l.contains("EVIL-1")).unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains("\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Mario\"\")\""), "{row}");
    assert!(row.contains("\"'+cmd|' /C calc'!A0\""), "{row}");
}

/// CRLF header injection: a SIL back URL with CR/LF is refused (it was written into the portal's
/// redirect as a `Set-Cookie`), and an import whose name carries CR/LF is refused by name, never
/// echoed as such into a download's headers or a file name.
#[test]
fn crlf_never_reaches_a_header() {
    use crate::sil::{PASSWORD, b64, call, dovuti, fault_code, invia_dovuti, single};
    let (_tmp, dir, server) = crate::sil::demo_server();
    let doc = dovuti(&single("CRLF-1", "10.00"), None);
    for url in ["https://sil.example.it/r&#13;&#10;Set-Cookie: x=1", "javascript:alert(1)", "https://a b"] {
        let extra = format!("<enteSILInviaRispostaPagamentoUrl>{url}</enteSILInviaRispostaPagamentoUrl>");
        let answer = call(&server, "paaSILInviaDovuti", &invia_dovuti("c_esempio", PASSWORD, &b64(&doc), &extra));
        assert_eq!(fault_code(&answer).as_deref(), Some("PAA_XML_NON_VALIDO"), "{url}: {answer}");
    }
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let sessions: i64 = conn.query_row("SELECT count(*) FROM sil_session", [], |r| r.get(0)).unwrap();
    assert_eq!(sessions, 0, "nothing stored");

    let zip = crate::backoffice::flow_zip("c_esempio-X-1_4", &[crate::backoffice::row("CRLF-2", "1.00")]);
    let token_out =
        crate::support::run(&dir, &["api-token", "create", "--org", "c_esempio", "--label", "crlf", "--json"], None);
    let token: serde_json::Value = serde_json::from_str(&crate::support::stdout(&token_out)).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    // No `/` in it, so only its CR/LF can refuse it.
    let name = "c_esempio-X%0D%0ARefresh:%200;url=evil-1_4.zip";
    let url = server.url(&format!("/api/v1/orgs/c_esempio/imports?file_name={name}"));
    let reply = post_with(&url, "application/zip", &zip, &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.header("refresh").is_none());
    assert!(reply.body.contains("is not a file name"), "{}", reply.body);
    let imports: i64 = conn.query_row("SELECT count(*) FROM debt_import", [], |r| r.get(0)).unwrap();
    assert_eq!(imports, 0, "nothing stored");
}

// Uploads: who is asking is checked on the request's head, before a byte of the body is read;
// an accepted upload goes to a spool file, not to memory.

/// The size of the hardening issue's uploads: `import.max_upload_bytes`, the most a flow may be.
const UPLOAD: u64 = 200 * 1024 * 1024;
/// What a refused client may push before nothing more is taken: its own socket buffer, the
/// server's (Linux grows each to a few MiB on loopback), the front end's inbox and its lingering
/// read; about 4 MiB here. A read body would be all of [`UPLOAD`].
const REFUSED_SENT_AT_MOST: u64 = 16 * 1024 * 1024;
/// The most memory the server process may ever hold in these tests (its `VmHWM`): a debug build
/// of the demo serving pages and running imports peaks near 64 MiB. One 150 MiB upload read into
/// memory would be over this on its own.
const SERVER_PEAK_AT_MOST_KIB: u64 = 128 * 1024;

/// The hardening issue's attack: four 200 MB POSTs at once to the three upload routes, by nobody
/// (no SIL token, no session, no bearer token) and by a logged-in operator who left out the
/// upload's CSRF token. Each is refused as its surface says, having sent a few MiB at most, and the
/// server's memory stays where it was; nothing is stored.
#[test]
fn concurrent_unauthenticated_uploads_are_refused_before_their_bodies() {
    let (_tmp, dir, server, operator) = crate::backoffice::demo_logged_in();
    let cookie = format!("Cookie: {}", operator.cookie().unwrap());
    let cases: Vec<(&str, Vec<String>, u16, &str)> = vec![
        ("/ws/pa/upload?authorizationToken=forged", vec![], 200, "authorizationToken non valido"),
        ("/operatore/c_esempio/flussi", vec![], 403, ""),
        ("/api/v1/orgs/c_esempio/imports?file_name=c_esempio-X-1_4.zip", vec![], 401, "UNAUTHORIZED"),
        ("/operatore/c_esempio/flussi", vec![cookie], 403, ""),
    ];
    let attempts: Vec<_> = cases
        .into_iter()
        .map(|(path, extra, status, says)| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                let mut headers = vec!["Content-Type: multipart/form-data; boundary=XyZ".to_owned()];
                headers.extend(extra);
                let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
                (path, status, says, crate::support::push_post(&base, path, &headers, UPLOAD))
            })
        })
        .collect();
    for attempt in attempts {
        let (path, status, says, pushed) = attempt.join().unwrap();
        assert_eq!(pushed.status, status, "{path}: {}", pushed.response);
        assert!(pushed.response.contains(says), "{path}: {}", pushed.response);
        assert!(pushed.sent <= REFUSED_SENT_AT_MOST, "{path}: {} bytes were taken", pushed.sent);
    }
    let (rss, peak) = crate::support::memory_kib(server.child.id());
    assert!(peak <= SERVER_PEAK_AT_MOST_KIB, "the server held {peak} KiB (now {rss} KiB)");
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let imports: i64 = conn.query_row("SELECT count(*) FROM debt_import", [], |r| r.get(0)).unwrap();
    assert_eq!(imports, 0, "nothing stored");
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// A flow as large as a real one can get (a small CSV and a 150 MiB attachment in its ZIP) goes
/// through the back office's upload form (multipart) and the REST API (the ZIP as the body): each
/// is stored whole and imported, the server's memory never grows by the upload's size, and no
/// spool file is left.
#[test]
fn a_large_valid_upload_is_streamed_to_disk_and_imported() {
    use crate::backoffice::{flow_zip, row, wait_for};
    use std::io::Write;
    let (_tmp, dir, server, mut operator) = crate::backoffice::demo_logged_in();
    let large = |name: &str, iud: &str| {
        let small = flow_zip(name, &[row(iud, "10.00")]);
        let mut zip = zip::ZipWriter::new_append(std::io::Cursor::new(small)).unwrap();
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file(format!("{name}.bin"), stored).unwrap();
        let padding = vec![0x5a; 1 << 20];
        for _ in 0..150 {
            zip.write_all(&padding).unwrap();
        }
        zip.finish().unwrap().into_inner()
    };

    // The back office's form: the CSRF token in the action's query, the file in the body.
    let zip = large("c_esempio-BIG1-1_4", "BIG-1");
    assert!(zip.len() > 150 << 20);
    let token = crate::portal::csrf(&operator.get("/operatore/c_esempio/flussi").body);
    let page = operator.post_multipart(
        &format!("/operatore/c_esempio/flussi?csrf={token}"),
        &[],
        ("file", "c_esempio-BIG1-1_4.zip", &zip),
    );
    assert_eq!(page.status, 303, "{}", page.body);
    let list = wait_for(&mut operator, "/operatore/c_esempio/flussi", "Avvisi PDF");
    assert!(list.contains("c_esempio-BIG1-1_4.zip") && list.contains("Eseguito"), "{list}");

    // The REST API: the ZIP is the body.
    let out =
        crate::support::run(&dir, &["api-token", "create", "--org", "c_esempio", "--label", "big", "--json"], None);
    let created: serde_json::Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    let bearer = format!("Bearer {}", created["token"].as_str().unwrap());
    let zip = large("c_esempio-BIG2-1_4", "BIG-2");
    let url = server.url("/api/v1/orgs/c_esempio/imports?file_name=c_esempio-BIG2-1_4.zip");
    let reply = crate::support::post_with(&url, "application/zip", &zip, &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let stored: i64 = conn
        .query_row("SELECT size_bytes FROM debt_import WHERE file_name = 'c_esempio-BIG2-1_4.zip'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(u64::try_from(stored).unwrap(), zip.len() as u64, "stored whole");
    drop(zip);
    let imported = |iud: &str| {
        crate::support::run(&dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None)
            .status
            .success()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !imported("BIG-2") {
        assert!(std::time::Instant::now() < deadline, "the API's import never ran");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(imported("BIG-1"));

    let (rss, peak) = crate::support::memory_kib(server.child.id());
    assert!(peak <= SERVER_PEAK_AT_MOST_KIB, "the server held {peak} KiB (now {rss} KiB)");
    let spool = std::fs::read_dir(dir.join("tmp")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(spool, 0, "no spool file is left");
}

// The front end (src/web/front): accept, budgets and deadlines, over real loopback connections.
// 127.0.0.0/8 is all loopback, so a test can be several client addresses at once.

/// A connection to `addr` from the loopback address `source`.
fn connect_from(source: &str, addr: std::net::SocketAddr) -> std::net::TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&format!("{source}:0").parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    stream
}

fn address(server: &Server) -> std::net::SocketAddr {
    server.base.rsplit('/').next().unwrap().parse().unwrap()
}

/// `GET /healthz` with `Connection: close` from `source`; everything the server sent.
fn healthz_from(source: &str, addr: std::net::SocketAddr) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = connect_from(source, addr);
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// This process's limit on open files (the server it starts inherits it).
fn open_files_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default();
    line.split_whitespace().nth(3).and_then(|n| n.parse().ok()).unwrap_or(1024)
}

/// Waits until `connections` have each either said something or been closed, up to 20 s; the
/// number whose first bytes were a 503.
fn refused_with_503(connections: &mut [std::net::TcpStream], expected: usize) -> usize {
    use std::io::Read;
    let mut refused = vec![false; connections.len()];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for stream in connections.iter() {
        stream.set_nonblocking(true).unwrap();
    }
    loop {
        for (stream, seen) in connections.iter_mut().zip(refused.iter_mut()).filter(|(_, seen)| !**seen) {
            let mut first = [0u8; 12];
            if let Ok(12) = stream.peek(&mut first) {
                *seen = &first == b"HTTP/1.1 503";
            }
            let _ = stream.read(&mut [0u8; 0]);
        }
        let count = refused.iter().filter(|r| **r).count();
        if count >= expected || std::time::Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The security review's attack: many idle connections. From one address (more than the whole
/// connection budget when the file limit allows it, twice its share otherwise) they get that
/// address's share only; every other one is answered 503 and closed at once, and another
/// address is served.
#[test]
fn idle_connections_from_one_address_leave_room_for_everyone_else() {
    use mypay::testing::web::front::{CONNECTIONS, CONNECTIONS_PER_CLIENT};
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let addr = address(&server);
    let share = usize::try_from(CONNECTIONS_PER_CLIENT).unwrap();
    let attempts = if open_files_limit() > CONNECTIONS + 2048 { CONNECTIONS + 64 } else { 2 * share };
    let mut idle: Vec<_> = (0..attempts).map(|_| connect_from("127.0.0.1", addr)).collect();
    let reply = healthz_from("127.0.0.2", addr).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert_eq!(refused_with_503(&mut idle, attempts - share), attempts - share, "of {attempts}");
    // The share is held, not refused: the same address is turned away while it lasts (with a
    // 503 written at accept, which a reset can overtake when the request was already sent).
    let again = healthz_from("127.0.0.1", addr);
    assert!(again.as_ref().map_or(true, |reply| reply.starts_with("HTTP/1.1 503")), "{again:?}");
    drop(idle);
    assert_eq!(get(&server.url("/healthz")).status, 200);
}

/// Slowloris: half a request line, then nothing. The server answers 408 and closes (after the
/// head deadline, 10 s) rather than keep the connection.
#[test]
fn a_stalled_request_line_is_closed_by_the_server() {
    use std::io::{Read, Write};
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut slow = connect_from("127.0.0.1", address(&server));
    slow.write_all(b"GET /healthz HT").unwrap();
    let mut reply = String::new();
    // Returns at the server's close; the read timeout (60 s) is only a guard.
    slow.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{reply}");
}

/// Behind `server.trusted_proxies` the proxy's connections are not held to one address's share,
/// and a request's client is the address the proxy appended to X-Forwarded-For.
#[test]
fn a_trusted_proxy_is_not_one_client() {
    use mypay::testing::web::front::CONNECTIONS_PER_CLIENT;
    use std::io::Write;
    let (tmp, dir) = data_dir();
    let config = tmp.path().join("mypay.toml");
    std::fs::write(&config, "version = 1\n[server]\ntrusted_proxies = [\"127.0.0.1\"]\n").unwrap();
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    let addr = address(&server);
    let many = 2 * usize::try_from(CONNECTIONS_PER_CLIENT).unwrap();
    let mut held: Vec<_> = (0..many).map(|_| connect_from("127.0.0.1", addr)).collect();
    let last = held.last_mut().unwrap();
    last.write_all(b"GET /healthz HTTP/1.1\r\nX-Forwarded-For: 203.0.113.1, 198.51.100.7\r\n\r\n").unwrap();
    assert_eq!(refused_with_503(&mut held[..many - 1], 1), 0, "none refused");
    let reply = healthz_from("127.0.0.1", addr).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    let (clean, log) = server.terminate();
    assert!(clean, "{log}");
    assert!(log.contains("peer=198.51.100.7"), "the client named by the proxy: {log}");
    assert!(log.contains("peer=127.0.0.1"), "the proxy's own request: {log}");
}

/// An HTTPS client over rustls, trusting the test server's certificate, from `source`.
fn https_from(
    source: &str,
    addr: std::net::SocketAddr,
    cert: &std::path::Path,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    use rustls_pki_types::pem::PemObject;
    let pem = std::fs::read(cert).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for der in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(der.unwrap()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let session = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = connect_from(source, addr);
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    rustls::StreamOwned::new(session, tcp)
}

/// Sends `GET /healthz` on a kept-alive HTTPS connection and reads the response; its status line.
fn healthz_over<S: std::io::Read + std::io::Write>(stream: &mut S) -> Result<String, std::io::Error> {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0);
    stream.read_exact(&mut vec![0u8; length])?;
    Ok(head.lines().next().unwrap_or_default().to_owned())
}

/// Idle TLS handshakes (TCP connections that never send a ClientHello) have a budget of their own:
/// from one address they take its share and another address gets through; from many addresses
/// they can fill the whole budget, yet a connection that finished its handshake keeps being served,
/// and the idle ones are dropped after the handshake deadline (5 s), letting new clients in.
#[test]
fn idle_tls_handshakes_do_not_lock_out_https_clients() {
    use mypay::testing::web::front::{HANDSHAKES, HANDSHAKES_PER_CLIENT};
    let (tmp, dir) = data_dir();
    let pki = crate::tls::pki(tmp.path());
    let config = crate::tls::tls_config_file(tmp.path(), &pki, false);
    let server = Server::start(&dir, &["--config", config.to_str().unwrap(), "demo"]);
    let addr = address(&server);
    let mut established = https_from("127.0.0.1", addr, &pki.server_cert);
    assert_eq!(healthz_over(&mut established).unwrap(), "HTTP/1.1 200 OK");

    let share = usize::try_from(HANDSHAKES_PER_CLIENT).unwrap();
    let one_address: Vec<_> = (0..2 * share).map(|_| connect_from("127.0.0.1", addr)).collect();
    assert_eq!(healthz_over(&mut https_from("127.0.0.2", addr, &pki.server_cert)).unwrap(), "HTTP/1.1 200 OK");

    // Enough addresses to fill every handshake slot.
    let addresses = HANDSHAKES / share + 1;
    let flood: Vec<_> = (0..addresses)
        .flat_map(|a| (0..share).map(move |_| a))
        .map(|a| connect_from(&format!("127.0.1.{a}"), addr))
        .collect();
    assert_eq!(healthz_over(&mut established).unwrap(), "HTTP/1.1 200 OK", "an established connection is served");
    // New clients wait for the idle handshakes to time out, then get in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match healthz_over(&mut https_from("127.0.0.3", addr, &pki.server_cert)) {
            Ok(status) => {
                assert_eq!(status, "HTTP/1.1 200 OK");
                break;
            }
            Err(err) => assert!(std::time::Instant::now() < deadline, "still locked out: {err}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop((one_address, flood));
}

/// The serving path dying (here tiny_http's socket vanishing) stops the process with an error,
/// so that systemd (Restart=on-failure) starts it again instead of keeping a process that
/// answers nobody.
#[test]
fn the_process_exits_with_an_error_when_its_serving_path_dies() {
    let (_tmp, dir) = data_dir();
    let mut server = Server::start(&dir, &["demo"]);
    std::fs::remove_file(dir.join("run/http.sock")).unwrap();
    let reply = healthz_from("127.0.0.1", address(&server)).unwrap();
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success());
    let log = server.log_after_exit();
    assert!(log.contains("the server stopped serving"), "{log}");
    assert!(log.contains("http.sock is gone"), "{log}");
}
