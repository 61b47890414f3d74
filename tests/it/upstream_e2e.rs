//! Two mypay processes and the simulator: a regional mypay (`demo`, its own pagoPA station and
//! simulator) and a municipality's box in upstream mode behind it. Debts created at the box (CLI,
//! back office, REST, the SIL's ImportaDovuto, answered with the Region's IUV) are mirrored up,
//! paid through the Region's station, and the receipt comes back to the box by push (confirmed
//! with the Region) and, with push off, by polling; a replayed or forged push changes nothing.
//! The box's portal pays through the Region's landing page and Checkout; a debt flow uploaded at
//! the box is mirrored whole; a box restored from an older backup converges with the Region
//! without duplicates.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::portal::Browser;
use crate::support::{Server, data_dir, post, post_with, run, stderr, stdout};

const IPA: &str = "c_esempio";
/// The org's SIL password at the Region: the demo's, with which a box demo starts linked (a box
/// that called with another would lock the org out at the Region for a while).
const PASSWORD: &str = "Esempio-SIL-1";
/// The HS512 key the Region signs its pushes to the box with (base64 of 64 bytes).
const PUSH_SECRET: &str = "cmVnaW9uZS1wdXNoLWtleS1mb3ItdGhlLWJveC0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM=";

fn ok(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let out = run(dir, args, stdin);
    assert!(out.status.success(), "mypay {args:?}: {}", stderr(&out));
    stdout(&out)
}

fn debt(dir: &Path, iud: &str) -> serde_json::Value {
    serde_json::from_str(&ok(dir, &["debt", "show", "--org", IPA, "--iud", iud, "--json"], None)).unwrap()
}

/// Waits up to 60 s for `what` of the debt to hold.
fn wait_debt(dir: &Path, iud: &str, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let d = debt(dir, iud);
        if check(&d) {
            return d;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what}: still {d}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn add_debt(dir: &Path, iud: &str, cents: &str) {
    ok(
        dir,
        &[
            "debt",
            "add",
            "--org",
            IPA,
            "--debt-type",
            "TARI",
            "--iud",
            iud,
            "--generate-iuv",
            "--debtor-id",
            "RSSMRA85T10A562S",
            "--debtor-name",
            "Mario Rossi",
            "--amount",
            cents,
            "--causale",
            "TARI 2026",
            "--due-date",
            "2099-12-31",
        ],
        None,
    );
}

/// The Region (a demo with its station and simulator) and a box behind it, linked: the org's SIL
/// password at the Region, and (with `push`) the Region pushing outcomes to the box.
struct Topology {
    _tmp: (tempfile::TempDir, tempfile::TempDir),
    rdir: std::path::PathBuf,
    bdir: std::path::PathBuf,
    region: Server,
    bx: Server,
    /// The Region's SIL endpoint as the box reaches it.
    endpoint: String,
    /// With push: the relay the Region's pushes to the box go through, which records them.
    pushes: Proxy,
}

fn topology(push: bool) -> Topology {
    topology_via(push, None)
}

/// [`topology`], the box reaching the Region through `proxy` when given.
fn topology_via(push: bool, proxy: Option<&Proxy>) -> Topology {
    let (rtmp, rdir) = data_dir();
    let region = Server::start(&rdir, &["demo"]);
    ok(&rdir, &["org", "set", IPA, "--sil-password-stdin"], Some(&format!("{PASSWORD}\n")));
    let (btmp, bdir) = data_dir();
    let endpoint = match proxy {
        Some(proxy) => proxy.start(&region.base),
        None => region.url("/ws/pa/"),
    };
    let poll = if push { "3600" } else { "1" };
    let pushes = Proxy::new();
    let bx = Server::start_with_env(
        &bdir,
        &["demo"],
        &[("MYPAY_UPSTREAM_URL", endpoint.as_str()), ("MYPAY_UPSTREAM_POLL_SECONDS", poll)],
    );
    ok(&bdir, &["org", "set", IPA, "--upstream-password-stdin"], Some(&format!("{PASSWORD}\n")));
    if push {
        ok(
            &bdir,
            &[
                "org",
                "set",
                IPA,
                "--upstream-push-secret-stdin",
                "--upstream-push-kid",
                "regione-1",
                "--upstream-push-iss",
                "mypay-regione",
                "--upstream-push-sub",
                IPA,
            ],
            Some(&format!("{PUSH_SECRET}\n")),
        );
        let target = format!("{}/upstream/esito", pushes.relay(&bx.base));
        ok(
            &rdir,
            &[
                "org",
                "set",
                IPA,
                "--push-url",
                &target,
                "--push-secret-stdin",
                "--push-kid",
                "regione-1",
                "--push-iss",
                "mypay-regione",
                "--push-sub",
                IPA,
                "--push-retry-seconds",
                "1",
            ],
            Some(&format!("{PUSH_SECRET}\n")),
        );
        ok(
            &rdir,
            &["debt-type", "set", "--org", IPA, "--code", "TARI", "--push-outcome", "--max-push-attempts", "5"],
            None,
        );
    }
    Topology { _tmp: (rtmp, btmp), rdir, bdir, region, bx, endpoint, pushes }
}

/// `SELECT count(*)` of `sql` with one parameter on the database of `dir`.
fn count(dir: &Path, sql: &str, param: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [param], |r| r.get(0)).unwrap()
}

/// The states of the box's stored pushes naming `iuv`, in order.
fn pushes_of(bdir: &Path, iuv: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT state FROM upstream_push WHERE iuv = ?1 ORDER BY id").unwrap();
    stmt.query_map([iuv], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// The token a stock regional MyPay signs its pushes with: HS512 with the org's push secret,
/// header `kid`, claims `iss` and `sub`, as the box is configured to expect.
fn region_token() -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use hmac::{Hmac, Mac};
    let header = serde_json::json!({"kid": "regione-1", "alg": "HS512"}).to_string();
    let claims = serde_json::json!({"iss": "mypay-regione", "sub": IPA}).to_string();
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(&STANDARD.decode(PUSH_SECRET).unwrap()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// MyPay's push body (`{rt, esito}` in base64) claiming that the debt `iud` of `iuv` was paid.
fn forged_push(iuv: &str, iud: &str, amount: &str) -> Vec<u8> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    let rt = format!(
        "<receipt><receiptId>FORGED{iuv}</receiptId><noticeNumber>3{iuv}</noticeNumber><fiscalCode>01234567897</fiscalCode>\
         <outcome>OK</outcome><creditorReferenceId>{iuv}</creditorReferenceId><paymentAmount>{amount}</paymentAmount>\
         <description>TARI 2026</description><companyName>Comune di Esempio</companyName>\
         <debtor><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType>\
         <entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue></uniqueIdentifier>\
         <fullName>Mario Rossi</fullName></debtor><idPSP>FORGEPSP</idPSP><pspCompanyName>Nessuno</pspCompanyName>\
         <idChannel>FORGE_01</idChannel><channelDescription>app</channelDescription>\
         <paymentDateTime>2026-01-10T10:00:00</paymentDateTime><applicationDate>2026-01-10</applicationDate>\
         <transferDate>2026-01-11</transferDate></receipt>"
    );
    let esito = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Pagati xmlns=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\">\
         <versioneOggetto>6.2.0</versioneOggetto><datiPagamento><codiceEsitoPagamento>0</codiceEsitoPagamento>\
         <importoTotalePagato>{amount}</importoTotalePagato>\
         <identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento><datiSingoloPagamento>\
         <singoloImportoPagato>{amount}</singoloImportoPagato><identificativoUnivocoRiscossione>FORGED{iuv}</identificativoUnivocoRiscossione>\
         <identificativoUnivocoDovuto>{iud}</identificativoUnivocoDovuto></datiSingoloPagamento></datiPagamento></Pagati>"
    );
    serde_json::json!({"rt": STANDARD.encode(rt), "esito": STANDARD.encode(esito)}).to_string().into_bytes()
}

fn pay_at_region(region: &Server, notice: &str) {
    let sim = region.simulator_url();
    let body = format!(r#"{{"fiscalCode":"01234567897","noticeNumber":"{notice}"}}"#);
    let paid = post(&format!("{sim}/sim/psp/pay"), "application/json", body.as_bytes());
    let paid: serde_json::Value = serde_json::from_str(&paid.body).unwrap();
    assert_eq!(paid["outcome"], "OK", "{paid}");
}

#[test]
fn a_box_debt_is_mirrored_paid_at_the_region_pushed_back_and_bad_pushes_change_nothing() {
    let t = topology(true);
    let (rdir, bdir, region) = (t.rdir.clone(), t.bdir.clone(), &t.region);

    add_debt(&bdir, "UP-1", "12.34");
    let at_box = wait_debt(&bdir, "UP-1", "the Region's IUV at the box", |d| d["iuv"].is_string());
    let at_region = debt(&rdir, "UP-1");
    assert_eq!(at_region["iuv"], at_box["iuv"], "the box stores the Region's IUV");
    assert_eq!(at_region["notice_number"], at_box["notice_number"]);
    assert_eq!(at_region["amount_cents"], 1234);

    // The municipality's SIL imports a debt at the box: answered at once with the Region's IUV.
    let versamento = crate::sil::versamento("SIL-UP-1", "7.00", "I", None);
    let body = format!(
        "<password>{PASSWORD}</password><dovuto>{}</dovuto><flagGeneraIuv>true</flagGeneraIuv>",
        crate::sil::b64(&versamento)
    );
    let answer =
        crate::sil::call(&t.bx, "paaSILImportaDovuto", &crate::sil::request("paaSILImportaDovuto", Some(IPA), &body));
    assert_eq!(crate::sil::fault_code(&answer), None, "{answer}");
    let sil_iuv = crate::sil::text_of(&answer, "identificativoUnivocoVersamento").expect("the Region's IUV");
    assert_eq!(debt(&rdir, "SIL-UP-1")["iuv"].as_str(), Some(sil_iuv.as_str()), "{answer}");
    assert_eq!(debt(&bdir, "SIL-UP-1")["iuv"].as_str(), Some(sil_iuv.as_str()));

    // A debt created, then modified, through the REST API: at the Region with its IUV, modified.
    let (_, token) = crate::api::create_token(&bdir, IPA);
    let path = format!("/api/v1/orgs/{IPA}/debts");
    let created = crate::api::json_call(&t.bx, "POST", &path, &token, &crate::api::new_debt("API-UP-1"));
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let api_debt = wait_debt(&bdir, "API-UP-1", "the Region's IUV", |d| d["iuv"].is_string());
    assert_eq!(debt(&rdir, "API-UP-1")["iuv"], api_debt["iuv"]);
    let mut changed = crate::api::new_debt("API-UP-1");
    changed["amount"] = serde_json::json!("99.00");
    changed["iuv"] = api_debt["iuv"].clone();
    let modified = crate::api::json_call(&t.bx, "PUT", &format!("{path}/API-UP-1"), &token, &changed);
    assert_eq!(modified.status, 200, "{}", String::from_utf8_lossy(&modified.body));
    let started = Instant::now();
    while debt(&rdir, "API-UP-1")["amount_cents"] != 9900 {
        assert!(started.elapsed() < Duration::from_secs(30), "the modification did not reach the Region");
        std::thread::sleep(Duration::from_millis(200));
    }

    // A debt created in the box's back office: at the Region with its IUV.
    let mut operator = crate::portal::Browser::new(&t.bx.base);
    let password = crate::backoffice::demo_password(&t.bx);
    assert_eq!(crate::backoffice::login(&mut operator, "demo", &password).status, 303);
    let new = format!("/operatore/{IPA}/dovuti/nuovo");
    let fields = [
        ("tipo", "TARI"),
        ("iud", "WEB-UP-1"),
        ("tipo_soggetto", "F"),
        ("cf", "RSSMRA85T10A562S"),
        ("nome", "Mario Rossi"),
        ("email", ""),
        ("scadenza", "2099-12-31"),
        ("importo", "20,50"),
        ("causale", "TARI 2099 conguaglio"),
        ("genera_iuv", "1"),
    ];
    let created = operator.submit(&new, &new, &fields);
    assert_eq!(created.status, 303, "{}", created.body);
    let web_debt = wait_debt(&bdir, "WEB-UP-1", "the Region's IUV", |d| d["iuv"].is_string());
    assert_eq!(debt(&rdir, "WEB-UP-1")["iuv"], web_debt["iuv"]);
    assert_eq!(debt(&rdir, "WEB-UP-1")["amount_cents"], 2050);

    pay_at_region(region, at_region["notice_number"].as_str().unwrap());
    assert_eq!(debt(&rdir, "UP-1")["state"], "COMPLETATO");
    wait_debt(&bdir, "UP-1", "the receipt pushed to the box", |d| d["state"] == "COMPLETATO");
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    let confirmed: i64 = conn
        .query_row(
            "SELECT count(*) FROM upstream_push WHERE state = 'CONFIRMED' AND iuv = ?1",
            [at_box["iuv"].as_str()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(confirmed, 1, "the push came, and the Region confirmed it");

    // The Region's genuine push replayed (the same bytes, the same token): `200 {}`, kept as a
    // replay of the first, and nothing stored twice.
    let (head, body) = t
        .pushes
        .requests()
        .into_iter()
        .find(|(head, _)| head.starts_with("POST /upstream/esito "))
        .expect("the Region pushed through the relay");
    let authorization = header(&head, "authorization").expect("a signed push").to_owned();
    let replay =
        post_with(&t.bx.url("/upstream/esito"), "application/json", &body, &[("Authorization", &authorization)]);
    assert_eq!((replay.status, replay.body.as_str()), (200, "{}"));
    let iuv = at_box["iuv"].as_str().unwrap();
    assert_eq!(pushes_of(&bdir, iuv), ["CONFIRMED", "REPLAY"]);
    assert_eq!(count(&bdir, "SELECT count(*) FROM receipt WHERE iuv = ?1", iuv), 1, "one receipt");
    assert_eq!(count(&rdir, "SELECT count(*) FROM receipt WHERE iuv = ?1", iuv), 1);

    // A well-signed push with a forged receipt of a debt the Region holds unpaid: taken (`200 {}`,
    // since the Region would retry a fault for days), asked of the Region, not confirmed; nothing
    // is marked paid on either side.
    add_debt(&bdir, "FORGED-1", "9.99");
    let forged = wait_debt(&bdir, "FORGED-1", "the Region's IUV", |d| d["iuv"].is_string());
    let forged_iuv = forged["iuv"].as_str().unwrap();
    let reply = post_with(
        &t.bx.url("/upstream/esito"),
        "application/json",
        &forged_push(forged_iuv, "FORGED-1", "9.99"),
        &[("Authorization", &format!("Bearer {}", region_token()))],
    );
    assert_eq!((reply.status, reply.body.as_str()), (200, "{}"));
    let started = Instant::now();
    while pushes_of(&bdir, forged_iuv) != ["NOT_CONFIRMED"] {
        assert!(started.elapsed() < Duration::from_secs(30), "still {:?}", pushes_of(&bdir, forged_iuv));
        std::thread::sleep(Duration::from_millis(200));
    }
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    let detail: String =
        conn.query_row("SELECT detail FROM upstream_push WHERE iuv = ?1", [forged_iuv], |r| r.get(0)).unwrap();
    assert!(detail.contains("the Region does not confirm this payment"), "{detail}");
    assert_eq!(debt(&bdir, "FORGED-1")["state"], "INSERIMENTO_DOVUTO");
    assert_eq!(debt(&rdir, "FORGED-1")["state"], "INSERIMENTO_DOVUTO");
    assert_eq!(count(&bdir, "SELECT count(*) FROM receipt WHERE iuv = ?1", forged_iuv), 0);
    assert_eq!(count(&rdir, "SELECT count(*) FROM receipt WHERE iuv = ?1", forged_iuv), 0);

    let link: serde_json::Value = serde_json::from_str(&ok(&bdir, &["org", "upstream", IPA, "--json"], None)).unwrap();
    let text = link.to_string();
    assert!(!text.contains(PASSWORD) && !text.contains(PUSH_SECRET), "{text}");

    // An annulment at the box reaches the Region.
    add_debt(&bdir, "UP-2", "5.00");
    wait_debt(&bdir, "UP-2", "the Region's IUV", |d| d["iuv"].is_string());
    ok(&bdir, &["debt", "annul", "--org", IPA, "--iud", "UP-2"], None);
    let annulled_at_region = || {
        let list: serde_json::Value =
            serde_json::from_str(&ok(&rdir, &["debt", "list", "--org", IPA, "--json", "--limit", "100"], None))
                .unwrap();
        list.as_array().unwrap().iter().any(|d| d["iud"] == "UP-2" && d["state"] == "ANNULLATO")
    };
    let started = Instant::now();
    while !annulled_at_region() {
        assert!(started.elapsed() < Duration::from_secs(30), "the annulment did not reach the Region");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A TCP relay that can be cut (the target "down": connections refused at once while down) and
/// that records what clients send through it, one buffer per connection.
struct Proxy {
    up: Arc<AtomicBool>,
    sent: Arc<Mutex<Vec<Recorded>>>,
}

/// What a client sent on one connection through a [`Proxy`].
type Recorded = Arc<Mutex<Vec<u8>>>;

impl Proxy {
    fn new() -> Proxy {
        Proxy { up: Arc::new(AtomicBool::new(true)), sent: Arc::default() }
    }

    /// Listens on a free loopback port, relaying to `target` (`http://127.0.0.1:port`) while up;
    /// returns the SIL endpoint through it.
    fn start(&self, target: &str) -> String {
        format!("{}/ws/pa/", self.relay(target))
    }

    /// Listens on a free loopback port, relaying to `target` while up; returns its base URL.
    fn relay(&self, target: &str) -> String {
        use std::net::{Shutdown, TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = target.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let (up, sent) = (Arc::clone(&self.up), Arc::clone(&self.sent));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let record = Arc::new(Mutex::new(Vec::new()));
                sent.lock().unwrap().push(Arc::clone(&record));
                let relay = |mut from: TcpStream, mut to: TcpStream, record: Option<Recorded>| {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if let Some(record) = &record {
                                record.lock().unwrap().extend_from_slice(&buf[..n]);
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        // Either side closing closes both, as a direct connection would.
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                };
                relay(client.try_clone().unwrap(), server.try_clone().unwrap(), Some(record));
                relay(server, client, None);
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// The HTTP requests clients sent through the relay, in order: (head, body).
    fn requests(&self) -> Vec<(String, Vec<u8>)> {
        let mut found = Vec::new();
        for record in self.sent.lock().unwrap().iter() {
            let mut rest = record.lock().unwrap().clone();
            while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&rest[..end]).into_owned();
                let length: usize = header(&head, "content-length").map_or(0, |v| v.parse().unwrap());
                let body_end = (end + 4 + length).min(rest.len());
                found.push((head, rest[end + 4..body_end].to_vec()));
                rest.drain(..body_end);
            }
        }
        found
    }
}

/// The value of header `name` in an HTTP head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The Region's debts whose IUD starts with `prefix`, in the order the Region stored them.
fn region_iuds(rdir: &Path, prefix: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(rdir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT iud FROM debt WHERE iud LIKE ?1 || '%' ORDER BY id").unwrap();
    stmt.query_map([prefix], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn without_push_the_receipt_comes_by_polling_even_across_the_regions_and_the_boxs_downtime() {
    let proxy = Proxy::new();
    let mut t = topology_via(false, Some(&proxy));
    let (rdir, bdir) = (t.rdir.clone(), t.bdir.clone());
    add_debt(&bdir, "POLL-1", "7.00");
    let at_box = wait_debt(&bdir, "POLL-1", "the Region's IUV", |d| d["iuv"].is_string());
    pay_at_region(&t.region, at_box["notice_number"].as_str().unwrap());
    assert_eq!(debt(&rdir, "POLL-1")["state"], "COMPLETATO");
    wait_debt(&bdir, "POLL-1", "the receipt polled by the box", |d| d["state"] == "COMPLETATO");

    // The Region is down while the box makes debts: they wait, then go up in order, once each,
    // as soon as the Region answers again (the link's next poll sees it back).
    proxy.set_up(false);
    for (iud, cents) in [("LATER-1", "1.00"), ("LATER-2", "2.00"), ("LATER-3", "3.00")] {
        add_debt(&bdir, iud, cents);
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(region_iuds(&rdir, "LATER-").is_empty());
    assert!(debt(&bdir, "LATER-1")["iuv"].is_null(), "no IUV while the Region is away");
    proxy.set_up(true);
    let started = Instant::now();
    while region_iuds(&rdir, "LATER-").len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "not mirrored: {:?}", region_iuds(&rdir, "LATER-"));
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(region_iuds(&rdir, "LATER-"), ["LATER-1", "LATER-2", "LATER-3"], "in order, none twice");
    let at_box = wait_debt(&bdir, "LATER-3", "the Region's IUV", |d| d["iuv"].is_string());

    // The box is down while a payment completes: after its restart the receipt comes by polling.
    let (_, _) = t.bx.terminate();
    pay_at_region(&t.region, at_box["notice_number"].as_str().unwrap());
    t.bx = Server::start_with_env(
        &bdir,
        &["demo"],
        &[("MYPAY_UPSTREAM_URL", t.endpoint.as_str()), ("MYPAY_UPSTREAM_POLL_SECONDS", "1")],
    );
    wait_debt(&bdir, "LATER-3", "the receipt polled after the restart", |d| d["state"] == "COMPLETATO");
}

/// The box's portal in upstream mode: a spontaneous payment ("Paga ora") at the box goes to the
/// Region (`paaSILInviaDovuti`), is paid through the Region's landing page and Checkout, and the
/// browser comes back to the box, which asks the Region (never trusting `esito`) and shows the
/// paid page; a return claiming `esito=OK` for a session nobody paid marks nothing paid.
#[test]
fn a_portal_payment_started_at_the_box_completes_through_the_region() {
    let t = topology(true);
    let (rdir, bdir) = (t.rdir.clone(), t.bdir.clone());
    let sim = t.region.simulator_url();
    let mut citizen = Browser::new(&t.bx.base);
    let form_path = "/spontaneo?codIpaEnte=c_esempio&codTipo=CONTRIBUTO_EVENTI";
    let fields = |event: &'static str| {
        [
            ("codIpaEnte", IPA),
            ("codTipo", "CONTRIBUTO_EVENTI"),
            ("evento", event),
            ("data_evento", "2026-05-01"),
            ("importo", "25,50"),
            ("tipo_soggetto", "F"),
            ("codice_fiscale", "BNCGLI90A41F205H"),
            ("anagrafica", "Giulia Bianchi"),
            ("azione", "paga"),
        ]
    };
    let sent = citizen.submit(form_path, "/spontaneo", &fields("Festa di primavera"));
    assert_eq!(sent.status, 303, "{}", sent.body);
    let landing = sent.location.unwrap();
    assert!(landing.starts_with(&format!("{}/sil/", t.region.base)), "{landing}");
    // The debt exists at the box, without IUV (the Region assigns it at its checkout), and not at
    // the Region before the citizen confirms there.
    let (iud, id_session) = portal_payment(&bdir, 0);
    assert!(debt(&bdir, &iud)["iuv"].is_null());
    assert_eq!(count(&rdir, "SELECT count(*) FROM debt WHERE iud = ?1", &iud), 0);

    // At the Region: the landing page, the confirmation, its Checkout, back to the box.
    let mut at_region = Browser::new(&t.region.base);
    let summary = at_region.get(&landing);
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert!(summary.body.contains("Giulia Bianchi") && summary.body.contains("€ 25,50"), "{}", summary.body);
    let confirmed = at_region.submit(&landing, &landing, &[("privacy", "1"), ("email", "giulia@example.it")]);
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let checkout = confirmed.location.unwrap();
    assert!(checkout.starts_with(&format!("{sim}/c/")), "{checkout}");
    let paid = at_region.post(&checkout, &[("outcome", "OK"), ("psp", "SIMPSP01")]);
    assert_eq!(paid.status, 303);
    let to_box = at_region.get(&paid.location.unwrap());
    assert_eq!(to_box.status, 303);
    let back = to_box.location.unwrap();
    let prefix = format!("{}/upstream/ritorno?idSession={id_session}&esito=OK&pollingToken=", t.bx.base);
    assert!(back.starts_with(&prefix), "{back}");
    assert_eq!(debt(&rdir, &iud)["state"], "COMPLETATO", "paid at the Region");
    assert_eq!(debt(&bdir, &iud)["state"], "INSERIMENTO_DOVUTO", "nothing at the box before the return");

    // Back at the box: it asks the Region, stores the receipt and shows the portal's paid page.
    let returned = citizen.get(&back);
    assert_eq!(returned.status, 303, "{}", returned.body);
    let outcome_path = returned.location.unwrap();
    assert!(outcome_path.starts_with("/carrello/esito/"), "{outcome_path}");
    let outcome = citizen.get(&outcome_path);
    assert_eq!(outcome.status, 200);
    assert!(outcome.body.contains("Pagamento eseguito"), "{}", outcome.body);
    let (at_box, at_region) = (debt(&bdir, &iud), debt(&rdir, &iud));
    assert_eq!(at_box["state"], "COMPLETATO");
    assert_eq!(at_box["iuv"], at_region["iuv"], "the box's debt takes the Region's IUV");
    let iuv = at_box["iuv"].as_str().unwrap();
    assert_eq!(count(&bdir, "SELECT count(*) FROM receipt WHERE iuv = ?1 AND outcome = 'OK'", iuv), 1);
    assert_eq!(count(&bdir, "SELECT count(*) FROM cart WHERE state = ?1", "PAGATO"), 1);
    // The same return again (a reload) stores nothing more.
    assert_eq!(Browser::new(&t.bx.base).get(&back).status, 200);
    assert_eq!(count(&bdir, "SELECT count(*) FROM receipt WHERE iuv = ?1", iuv), 1);

    // A notice of a debt mirrored from the box, paid on the box's portal: through the Region's
    // `paaSILVerificaAvviso`, the same way back.
    add_debt(&bdir, "AVV-1", "42.00");
    let mirrored = wait_debt(&bdir, "AVV-1", "the Region's IUV", |d| d["iuv"].is_string());
    let notice = mirrored["notice_number"].as_str().unwrap();
    let mut payer = Browser::new(&t.bx.base);
    let added = payer.submit("/avviso", "/carrello/aggiungi", &[("ente", "01234567897"), ("avviso", notice)]);
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(payer.submit("/carrello", "/carrello/email", &[("email", "mario@example.it")]).status, 303);
    let outbox = payer.get("/dev/outbox").body;
    let at = outbox.rfind("codice di verifica è ").expect("a PIN mail") + "codice di verifica è ".len();
    let pin = outbox[at..at + 6].to_owned();
    assert_eq!(payer.submit("/carrello", "/carrello/pin", &[("pin", &pin)]).status, 303);
    let sent = payer.submit("/carrello", "/carrello/paga", &[("privacy", "1")]);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let back = pay_at_region_checkout(&t.region, &sent.location.unwrap());
    let (_, id_session) = portal_payment(&bdir, 1);
    assert!(back.starts_with(&format!("{}/upstream/ritorno?idSession={id_session}&esito=OK&", t.bx.base)), "{back}");
    let returned = payer.get(&back);
    assert_eq!(returned.status, 303, "{}", returned.body);
    assert!(payer.get(&returned.location.unwrap()).body.contains("Pagamento eseguito"));
    assert_eq!(debt(&rdir, "AVV-1")["state"], "COMPLETATO");
    let paid_notice = debt(&bdir, "AVV-1");
    assert_eq!((&paid_notice["state"], &paid_notice["iuv"]), (&serde_json::json!("COMPLETATO"), &mirrored["iuv"]));
    let iuv = mirrored["iuv"].as_str().unwrap();
    assert_eq!(count(&bdir, "SELECT count(*) FROM receipt WHERE iuv = ?1 AND outcome = 'OK'", iuv), 1);

    // A third payment nobody pays at the Region: a return claiming `esito=OK` marks nothing paid.
    let mut other = Browser::new(&t.bx.base);
    let sent = other.submit(form_path, "/spontaneo", &fields("Festa d'estate"));
    assert_eq!(sent.status, 303, "{}", sent.body);
    let (unpaid, id_session) = portal_payment(&bdir, 2);
    let forged = format!("/upstream/ritorno?idSession={id_session}&esito=OK&pollingToken=x");
    let stranger = Browser::new(&t.bx.base).get(&forged);
    assert_eq!(stranger.status, 200, "{}", stranger.body);
    // The Region says the session was not started: in progress, as far as the box can tell.
    assert!(stranger.body.contains("Pagamento in corso"), "{}", stranger.body);
    assert!(!stranger.body.contains("Pagamento eseguito"), "{}", stranger.body);
    let own = other.get(&forged);
    assert_eq!(own.status, 303);
    let waiting = other.get(&own.location.unwrap());
    assert!(waiting.body.contains("Stiamo verificando il pagamento"), "{}", waiting.body);
    assert!(!waiting.body.contains("Pagamento eseguito"), "{}", waiting.body);
    assert_eq!(debt(&bdir, &unpaid)["state"], "INSERIMENTO_DOVUTO");
    assert_eq!(
        count(&bdir, "SELECT count(*) FROM receipt WHERE debt_id = (SELECT id FROM debt WHERE iud = ?1)", &unpaid),
        0
    );
    assert_eq!(count(&bdir, "SELECT count(*) FROM cart WHERE state = ?1", "PAGATO"), 2);
}

/// The citizen at the Region's landing page `landing`: the summary, the confirmation, the
/// simulator's Checkout; returns the box's back URL the Region sends the browser to.
fn pay_at_region_checkout(region: &Server, landing: &str) -> String {
    let sim = region.simulator_url();
    let mut at_region = Browser::new(&region.base);
    let summary = at_region.get(landing);
    assert_eq!(summary.status, 200, "{}", summary.body);
    let confirmed = at_region.submit(landing, landing, &[("privacy", "1"), ("email", "mario@example.it")]);
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let checkout = confirmed.location.unwrap();
    assert!(checkout.starts_with(&format!("{sim}/c/")), "{checkout}");
    let paid = at_region.post(&checkout, &[("outcome", "OK"), ("psp", "SIMPSP01")]);
    assert_eq!(paid.status, 303);
    let to_box = at_region.get(&paid.location.unwrap());
    assert_eq!(to_box.status, 303);
    to_box.location.unwrap()
}

/// The IUD and the Region's idSession of the box's `n`th portal payment through the Region.
fn portal_payment(bdir: &Path, n: i64) -> (String, String) {
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    conn.query_row(
        "SELECT d.iud, p.id_session FROM region_payment p JOIN cart_item i ON i.cart_id = p.cart_id \
         JOIN debt d ON d.id = i.debt_id ORDER BY p.cart_id LIMIT 1 OFFSET ?1",
        [n],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// A 1_4 debt flow of the demo org: one row per (IUD, amount), flagGeneraIuv true, azione I.
fn box_flow(rows: &[(&str, &str)]) -> Vec<u8> {
    let header = "IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;emailPagatore;dataScadenzaPagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;datiSpecificiRiscossione;bilancio;flagGeneraIuv;flagMultiBeneficiario;codiceFiscaleEnteSecondario;denominazioneEnteSecondario;ibanAccreditoEnteSecondario;indirizzoEnteSecondario;civicoEnteSecondario;capEnteSecondario;localitaEnteSecondario;provinciaEnteSecondario;nazioneEnteSecondario;datiSpecificiRiscossioneEnteSecondario;causaleVersamentoEnteSecondario;importoVersamentoEnteSecondario;azione";
    let mut csv = format!("{header}\n");
    for (iud, amount) in rows {
        csv.push_str(&format!(
            "{iud};;F;RSSMRA85T10A562S;Mario Rossi;Via Roma;1;20100;Milano;MI;IT;;2099-12-31;{amount};;TARI;;TARI 2099;9/0101002IM/;;true;false;;;;;;;;;;;;;I\n"
        ));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("c_esempio-FLUSSOBOX1-1_4.csv", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(csv.as_bytes()).unwrap();
    zip.finish().unwrap().into_inner()
}

/// The lines of the one CSV in the ZIP at `path`.
fn zip_lines(path: &str) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    archive.by_index(0).unwrap().read_to_string(&mut text).unwrap();
    text.lines().map(str::to_owned).collect()
}

/// A debt flow uploaded at the box is mirrored whole (an `F` change, MyPay's token upload): the
/// Region imports it, the box's rows take the Region's IUVs, the box's `_IUV` is the Region's, and
/// a row the box took but the Region refused (its IUD is already used at the Region) lands in the
/// box's `_SCARTI` with MyPay's code, beside the box's own refusal.
#[test]
fn a_flow_uploaded_at_the_box_is_mirrored_whole_and_the_regions_refusals_come_back() {
    let t = topology(false);
    let (rdir, bdir) = (t.rdir.clone(), t.bdir.clone());
    // An IUD the Region already uses (a debt of its own), free at the box.
    add_debt(&rdir, "FL-TAKEN", "1.00");
    let zip = t._tmp.1.path().join("c_esempio-FLUSSOBOX1-1_4.zip");
    std::fs::write(&zip, box_flow(&[("FL-1", "10.00"), ("FL-TAKEN", "3.00"), ("FL-2", "20.00"), ("FL-BAD", "dieci")]))
        .unwrap();
    let started = Instant::now();
    let import: serde_json::Value =
        serde_json::from_str(&ok(&bdir, &["import", zip.to_str().unwrap(), "--org", IPA, "--wait", "--json"], None))
            .unwrap();
    assert_eq!(
        (import["state"].as_str(), import["loaded"].as_i64(), import["rejected"].as_i64()),
        (Some("IMPORT_ESEGUITO"), Some(3), Some(1)),
        "{import}"
    );
    let id = import["id"].as_i64().unwrap().to_string();

    // Mirrored: the flow's change finished, the Region holds the rows it took. The box uploads
    // the flow once its import has ended (looked at every 10 s) and asks the Region about it every
    // 20 s (`services::upstream::flows`): about 20 s here, twice that at worst.
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    let flow_state = || -> String {
        conn.query_row("SELECT state FROM upstream_change WHERE action = 'F'", [], |r| r.get(0)).unwrap()
    };
    while flow_state() == "PENDING" {
        if started.elapsed() > Duration::from_secs(90) {
            let row: String = conn
                .query_row(
                    "SELECT json_object('attempts', attempts, 'next', next_attempt_at, 'code', last_error_code, \
                     'text', last_error_text, 'token', request_token) FROM upstream_change WHERE action = 'F'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            panic!("the flow was not mirrored: {row}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(flow_state(), "SENT");
    assert_eq!(
        count(
            &bdir,
            "SELECT count(*) FROM upstream_change c JOIN debt d ON d.id = c.debt_id WHERE d.iud LIKE ?1",
            "FL-%"
        ),
        0,
        "the rows of a flow are not sent one by one"
    );
    for iud in ["FL-1", "FL-2"] {
        let (at_box, at_region) = (debt(&bdir, iud), debt(&rdir, iud));
        assert!(at_region["iuv"].is_string(), "{at_region}");
        assert_eq!(at_box["iuv"], at_region["iuv"], "{iud}: the Region's IUV at the box");
        assert_eq!(at_box["notice_number"], at_region["notice_number"]);
        assert_eq!(at_box["amount_cents"], at_region["amount_cents"]);
    }
    assert_eq!(region_iuds(&rdir, "FL-"), ["FL-TAKEN", "FL-1", "FL-2"], "the Region's own FL-TAKEN, once");
    assert_eq!(debt(&rdir, "FL-TAKEN")["amount_cents"], 100, "the Region's debt is untouched");
    let taken = debt(&bdir, "FL-TAKEN");
    assert!(taken["iuv"].is_null(), "refused at the Region: no IUV at the box ({taken})");

    // The box's result files: its `_IUV` is the Region's; its `_SCARTI` has both refusals.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&bdir, &["import", "--org", IPA, "--status", &id, "--json"], None)).unwrap();
    let iuvs = zip_lines(shown["iuv_file"].as_str().unwrap());
    assert_eq!(iuvs.len(), 3, "{iuvs:?}");
    for iud in ["FL-1", "FL-2"] {
        let iuv = debt(&rdir, iud)["iuv"].as_str().unwrap().to_owned();
        assert!(iuvs.iter().any(|l| l.starts_with(&format!("{iud};")) && l.contains(&iuv)), "{iud} {iuv}: {iuvs:?}");
    }
    let scarti = zip_lines(shown["rejects_file"].as_str().unwrap());
    assert_eq!(scarti.len(), 3, "{scarti:?}");
    assert!(scarti[0].ends_with(";cod_rifiuto;de_rifiuto"), "{scarti:?}");
    assert!(
        scarti[1].starts_with("FL-BAD;")
            && scarti[1].ends_with(";I;PAA_IMPORT_SINTASSI_CSV;IMPORTO_DOVUTO NON CONFROME: dieci"),
        "{scarti:?}"
    );
    assert!(
        scarti[2].starts_with("FL-TAKEN;")
            && scarti[2].ends_with(";I;PAA_IMPORT_IUD_DUPLICATO;IUD attivo presente nel database"),
        "{scarti:?}"
    );
    assert_eq!((shown["loaded"].as_i64(), shown["rejected"].as_i64()), (Some(2), Some(2)), "{shown}");
}

/// A box restored from an older backup converges with the Region without duplicates: a change the
/// backup still holds as pending, which the Region already took, is sent again; a debt made after
/// the backup, lost with the restore, is made again at the box; the Region answers both as
/// duplicates, the outbox sends them again as modifications, and each IUD is at the Region once,
/// with the same IUV on both sides.
#[test]
fn a_box_restored_from_an_older_backup_converges_with_the_region_without_duplicates() {
    let proxy = Proxy::new();
    let mut t = topology_via(false, Some(&proxy));
    let (rdir, bdir) = (t.rdir.clone(), t.bdir.clone());
    add_debt(&bdir, "RB-1", "1.00");
    wait_debt(&bdir, "RB-1", "the Region's IUV", |d| d["iuv"].is_string());
    // RB-2 waits in the outbox (the Region away) when the backup is taken.
    proxy.set_up(false);
    add_debt(&bdir, "RB-2", "2.00");
    let backup = t._tmp.1.path().join("box-backup.db");
    ok(&bdir, &["backup", "--to", backup.to_str().unwrap()], None);
    proxy.set_up(true);
    wait_debt(&bdir, "RB-2", "the Region's IUV", |d| d["iuv"].is_string());
    add_debt(&bdir, "RB-3", "3.00");
    wait_debt(&bdir, "RB-3", "the Region's IUV", |d| d["iuv"].is_string());
    assert_eq!(region_iuds(&rdir, "RB-"), ["RB-1", "RB-2", "RB-3"]);

    // The box goes back to the backup: RB-2 unsent, RB-3 never made.
    let (clean, log) = t.bx.terminate();
    assert!(clean, "{log}");
    let restored: serde_json::Value =
        serde_json::from_str(&ok(&bdir, &["restore", backup.to_str().unwrap(), "--json"], None)).unwrap();
    assert_eq!(restored["upstream_credentials_cleared"], serde_json::json!([]), "{restored}");
    assert!(debt(&bdir, "RB-2")["iuv"].is_null());
    assert!(!run(&bdir, &["debt", "show", "--org", IPA, "--iud", "RB-3", "--json"], None).status.success());
    t.bx = Server::start_with_env(
        &bdir,
        &["demo"],
        &[("MYPAY_UPSTREAM_URL", t.endpoint.as_str()), ("MYPAY_UPSTREAM_POLL_SECONDS", "1")],
    );
    // RB-3 made again at the box, for another amount.
    add_debt(&bdir, "RB-3", "3.50");
    for iud in ["RB-2", "RB-3"] {
        wait_debt(&bdir, iud, "the Region's IUV after the restore", |d| d["iuv"].is_string());
    }
    assert_eq!(region_iuds(&rdir, "RB-"), ["RB-1", "RB-2", "RB-3"], "each IUD once at the Region");
    for iud in ["RB-1", "RB-2", "RB-3"] {
        let (at_box, at_region) = (debt(&bdir, iud), debt(&rdir, iud));
        assert_eq!(at_box["iuv"], at_region["iuv"], "{iud}: the Region's IUV at the box");
        assert_eq!(at_box["notice_number"], at_region["notice_number"], "{iud}");
        assert_eq!(at_box["amount_cents"], at_region["amount_cents"], "{iud}");
    }
    assert_eq!(debt(&rdir, "RB-3")["amount_cents"], 350, "the box's RB-3 as it is now");
    // Nothing refused, nothing waiting.
    let conn = rusqlite::Connection::open(bdir.join("mypay.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT c.state, count(*) FROM upstream_change c JOIN debt d ON d.id = c.debt_id \
             WHERE d.iud LIKE 'RB-%' GROUP BY c.state",
        )
        .unwrap();
    let states: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(states, [("SENT".to_owned(), 3)], "RB-1 (before the backup), RB-2 and RB-3 (after it)");
    // The Region answered the second `I` of RB-2 and RB-3 as a duplicate: each went again as `M`.
    let mut stmt = conn
        .prepare(
            "SELECT d.iud, c.action, c.last_error_code, c.last_error_text FROM upstream_change c \
             JOIN debt d ON d.id = c.debt_id WHERE d.iud LIKE 'RB-%' ORDER BY c.id",
        )
        .unwrap();
    let changes: Vec<(String, String, Option<String>, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let realigned = Some("IUD già presente alla Regione: allineato con un M".to_owned());
    assert_eq!(
        changes,
        [
            ("RB-1".to_owned(), "I".to_owned(), None, None),
            ("RB-2".to_owned(), "I".to_owned(), None, realigned.clone()),
            ("RB-3".to_owned(), "I".to_owned(), None, realigned),
        ]
    );
}

/// A `mypay.toml` naming the intermediary of multi-org carts (`[sil]`), in `tmp`.
fn cart_config(tmp: &tempfile::TempDir) -> String {
    let config = tmp.path().join("mypay.toml");
    let text = format!(
        "version = 1\n[sil]\nintermediary_password = \"{}\"\nintermediary_org = \"{IPA}\"\n",
        crate::sil::INTERMEDIARY
    );
    std::fs::write(&config, text).unwrap();
    config.to_str().unwrap().to_owned()
}

/// Comune di Milano (`c_f205`) beside the demo org, with its debt type `CDS`.
fn add_milano_with_cds(dir: &Path) {
    crate::support::add_milano(dir);
    let cds = ["debt-type", "add", "--org", "c_f205", "--code", "CDS", "--description", "Sanzioni", "--taxonomy"];
    ok(dir, &[&cds[..], &["0101002IM"]].concat(), None);
}

/// The municipality's SIL sends the box a cart of two orgs' new debts (paaSILInviaCarrelloDovuti):
/// the box sends it to the Region with each org's cart hash, the citizen pays it there, and back
/// at the box the cart's outcome (paaSILChiediEsitoCarrelloDovuti) stores each org's receipt.
#[test]
fn a_cart_of_two_orgs_started_at_the_box_completes_through_the_region() {
    use crate::sil::{b64, call, carrello_hash, dovuti, request, single, text_of};
    const MILANO_PASSWORD: &str = "Milano-SIL-1";
    let (rtmp, rdir) = data_dir();
    add_milano_with_cds(&rdir);
    let region = Server::start(&rdir, &["--config", &cart_config(&rtmp), "demo"]);
    ok(&rdir, &["org", "set", IPA, "--sil-password-stdin"], Some(&format!("{PASSWORD}\n")));
    ok(&rdir, &["org", "set", "c_f205", "--sil-password-stdin"], Some(&format!("{MILANO_PASSWORD}\n")));

    let (btmp, bdir) = data_dir();
    add_milano_with_cds(&bdir);
    let endpoint = region.url("/ws/pa/");
    let env = [("MYPAY_UPSTREAM_URL", endpoint.as_str()), ("MYPAY_UPSTREAM_POLL_SECONDS", "3600")];
    let bx = Server::start_with_env(&bdir, &["--config", &cart_config(&btmp), "demo"], &env);
    for (ipa, password, fiscal_code) in [(IPA, PASSWORD, "01234567897"), ("c_f205", MILANO_PASSWORD, "01199250158")] {
        ok(&bdir, &["org", "set", ipa, "--upstream-password-stdin"], Some(&format!("{password}\n")));
        let hash = carrello_hash(fiscal_code);
        ok(&bdir, &["org", "set", ipa, "--upstream-cart-hash-stdin"], Some(&format!("{hash}\n")));
    }
    let shown = ok(&bdir, &["org", "upstream", "c_f205", "--json"], None);
    assert!(shown.contains("\"cart_hash_set\": true") && !shown.contains(&carrello_hash("01199250158")), "{shown}");

    // The SIL's cart at the box, each element with the box's own hash.
    let esempio = dovuti(&single("CART-ES-1", "3.00"), None);
    let milano = dovuti(
        &single("CART-MI-1", "7.00").replace("CONTRIBUTO_EVENTI", "CDS").replace("0101108TS", "0101002IM"),
        None,
    );
    let element = |ipa: &str, fiscal_code: &str, doc: &str| {
        format!(
            "<elementoListaDovuti><codIpaEnte>{ipa}</codIpaEnte><password>{}</password><dovuti>{}</dovuti>\
             </elementoListaDovuti>",
            carrello_hash(fiscal_code),
            b64(doc)
        )
    };
    let body = format!(
        "<password>{PASSWORD}</password><listaDovuti>{}{}</listaDovuti>\
         <enteSILInviaRispostaPagamentoUrl>https://sil.example.it/carrello</enteSILInviaRispostaPagamentoUrl>",
        element(IPA, "01234567897", &esempio),
        element("c_f205", "01199250158", &milano)
    );
    let answer = call(&bx, "paaSILInviaCarrelloDovuti", &request("paaSILInviaCarrelloDovuti", Some(IPA), &body));
    assert_eq!(text_of(&answer, "esito").as_deref(), Some("OK"), "{answer}");
    let box_session = text_of(&answer, "idSessionCarrello").unwrap();

    // The citizen confirms at the box and is sent to the Region's landing page, pays there, and
    // comes back to the box, which asks the Region how the cart went.
    let mut citizen = Browser::new(&bx.base);
    let landing = text_of(&answer, "url").unwrap().trim_start_matches(&bx.base).to_owned();
    let sent = citizen.submit(&landing, &landing, &[("privacy", "1"), ("email", "mario@example.it")]);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let at_region = sent.location.unwrap();
    assert!(at_region.starts_with(&format!("{}/sil/", region.base)), "{at_region}");
    let back = pay_at_region_checkout(&region, &at_region);
    assert!(back.starts_with(&format!("{}/upstream/ritorno?idSession=", bx.base)), "{back}");
    let returned = citizen.get(&back);
    assert_eq!(returned.status, 303, "{}", returned.body);
    let to_sil = returned.location.unwrap();
    assert!(
        to_sil.starts_with(&format!("https://sil.example.it/carrello?idSession={box_session}&esito=OK")),
        "{to_sil}"
    );

    // Each org's debt is paid at the box with the Region's IUV and one receipt.
    for (ipa, iud) in [(IPA, "CART-ES-1"), ("c_f205", "CART-MI-1")] {
        let show = |dir: &Path| -> serde_json::Value {
            serde_json::from_str(&ok(dir, &["debt", "show", "--org", ipa, "--iud", iud, "--json"], None)).unwrap()
        };
        let (at_box, at_region) = (show(&bdir), show(&rdir));
        assert_eq!((&at_box["state"], &at_region["state"]), (&"COMPLETATO".into(), &"COMPLETATO".into()), "{iud}");
        assert_eq!(at_box["iuv"], at_region["iuv"], "{iud}");
        let iuv = at_box["iuv"].as_str().unwrap();
        assert_eq!(count(&bdir, "SELECT count(*) FROM receipt WHERE iuv = ?1 AND outcome = 'OK'", iuv), 1, "{iud}");
    }
}
