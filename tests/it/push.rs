//! The outcome push (mypay.md §4.8) against a real HTTP receiver on 127.0.0.1 owned by the test:
//! the body `{rt, esito}`, the HS512 bearer JWT, retries with backoff, a restart mid-retry, and the
//! state operators see with `mypay org pushes`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha512;

use super::station::{call, open_debts, send_rt_req};
use super::support::{Server, data_dir, run, stderr, stdout};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    authorization: Option<String>,
    body: String,
}

/// A tiny HTTP receiver: answers 500 to the first `failures` requests, then 200 `{}`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(failures: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/esiti", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                let mut authorization = None;
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                loop {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    let trimmed = line.trim_end();
                    if trimmed.is_empty() {
                        break;
                    }
                    let (name, value) = trimmed.split_once(':').unwrap();
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap(),
                        "authorization" => authorization = Some(value.trim().to_owned()),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let n = {
                    let mut all = seen.lock().unwrap();
                    all.push(Received { authorization, body: String::from_utf8(body).unwrap() });
                    all.len()
                };
                let answer = if n <= failures {
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                        .to_owned()
                };
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        while self.received().len() < n {
            assert!(Instant::now() < deadline, "only {} of {n} pushes arrived", self.received().len());
            std::thread::sleep(Duration::from_millis(50));
        }
        self.received()
    }
}

const KEY: [u8; 64] = [42; 64];

/// Points c_esempio's pushes at `url`, signed with [`KEY`], first retry after `retry` seconds,
/// and makes the debt type of `iud` push its outcomes.
fn configure(dir: &Path, url: &str, retry: &str, iud: &str) {
    let secret = STANDARD.encode(KEY);
    let out = run(
        dir,
        &["org", "set", "c_esempio", "--push-url", url, "--push-secret-stdin", "--push-retry-seconds", retry],
        Some(&format!("{secret}\n")),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(&secret), "the secret is never printed");
    let debt: serde_json::Value =
        serde_json::from_str(&stdout(&run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None)))
            .unwrap();
    let code = debt["debt_type"].as_str().unwrap();
    let out = run(
        dir,
        &["debt-type", "set", "--org", "c_esempio", "--code", code, "--push-outcome", "--max-push-attempts", "5"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

fn pushes(dir: &Path) -> serde_json::Value {
    let out = run(dir, &["org", "pushes", "c_esempio", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn wait_state(dir: &Path, state: &str, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let list = pushes(dir);
        if list["pushes"][0]["state"] == state {
            return list;
        }
        assert!(Instant::now() < deadline, "push never became {state}: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Checks the bearer JWT the way a receiving system would: HS512 over the first two parts.
fn check_jwt(authorization: Option<&str>) -> serde_json::Value {
    let token = authorization.and_then(|a| a.strip_prefix("Bearer ")).expect("a bearer token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS512");
    let mut mac = Hmac::<Sha512>::new_from_slice(&KEY).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).expect("signature made with the org's secret");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap()
}

#[test]
fn each_receipt_is_pushed_signed_and_retried_until_accepted() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let receiver = Receiver::start(2);
    let (iud, notice, iuv, cents) = open_debts(&dir).into_iter().next().unwrap();
    configure(&dir, &receiver.url, "1", &iud);
    let token = "aaaabbbbccccddddeeeeffff00001111";
    let reply = call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, token, true));
    assert!(reply.body.contains("<outcome>OK</outcome>"), "{}", reply.body);

    let got = receiver.wait_for(3, Duration::from_secs(20));
    let list = wait_state(&dir, "sent", Duration::from_secs(5));
    let push = &list["pushes"][0];
    assert_eq!(push["attempts"], 3);
    assert_eq!(push["last_error"], "HTTP 500");
    assert_eq!(push["iuv"], iuv.as_str());
    assert_eq!(
        list["target"],
        serde_json::json!({"url": receiver.url, "signed": true, "retry_seconds": 1, "jwt_kid": null, "jwt_iss": null,
            "jwt_sub": null})
    );

    // The org's systems see the same state through the REST API.
    let out = run(&dir, &["api-token", "create", "--org", "c_esempio", "--json"], None);
    let created: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let auth = format!("Bearer {}", created["token"].as_str().unwrap());
    let reply = super::support::get_with(&server.url("/api/v1/orgs/c_esempio/pushes"), &[("Authorization", &auth)]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(seen, list, "the CLI and the API show one shape");

    // Every attempt carries the same body, with a fresh token.
    assert!(got.iter().all(|r| r.body == got[0].body));
    let claims = check_jwt(got[2].authorization.as_deref());
    assert_eq!(claims["sub"], "c_esempio");
    assert_eq!(claims["iss"], "mypay");
    assert_ne!(got[0].authorization, got[2].authorization);

    let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2);
    assert!(got[0].body.starts_with(r#"{"rt":""#), "rt comes first: {}", got[0].body);
    let rt = String::from_utf8(STANDARD.decode(body["rt"].as_str().unwrap()).unwrap()).unwrap();
    assert!(rt.contains(&format!("<receiptId>{token}</receiptId>")), "{rt}");
    let esito = String::from_utf8(STANDARD.decode(body["esito"].as_str().unwrap()).unwrap()).unwrap();
    assert!(esito.contains(&format!("<identificativoUnivocoDovuto>{iud}</identificativoUnivocoDovuto>")), "{esito}");
    assert!(esito.contains(&format!("<identificativoUnivocoVersamento>{iuv}</identificativoUnivocoVersamento>")));
    assert!(esito.contains("<codiceEsitoPagamento>0</codiceEsitoPagamento>"));
    // The same writer as the SIL's Pagati: the debt's payer and each line's outcome.
    assert!(esito.contains("<esitoSingoloPagamento>ESEGUITO</esitoSingoloPagamento>"), "{esito}");
    validate_pagati(&esito);

    // A replayed receipt changes nothing and pushes nothing more.
    call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, token, true));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(pushes(&dir)["pushes"].as_array().unwrap().len(), 1);
}

/// Whether `needle` occurs in the database file or its WAL.
fn in_database(dir: &Path, needle: &[u8]) -> bool {
    ["mypay.db", "mypay.db-wal"]
        .iter()
        .filter_map(|name| std::fs::read(dir.join(name)).ok())
        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}

/// The push secret is sealed with the key file: the database file never holds it in clear. One
/// altered in the file keeps no receipt from being stored: its pushes fail with the reason until
/// an operator sets the secret again.
#[test]
fn a_sealed_push_secret_never_in_the_file_and_an_altered_one_fails_clearly() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let receiver = Receiver::start(0);
    let (iud, notice, iuv, cents) = open_debts(&dir).into_iter().next().unwrap();
    configure(&dir, &receiver.url, "1", &iud);
    let secret = STANDARD.encode(KEY);
    assert!(!in_database(&dir, secret.as_bytes()) && !in_database(&dir, &KEY), "the secret is sealed");
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let altered = conn.execute("UPDATE org_push SET secret = replace(secret, 'v1:', 'v1:AAAA')", []).unwrap();
    assert_eq!(altered, 1);
    drop(conn);

    let reply =
        call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, "9999888877776666555544443333222a", true));
    assert!(reply.body.contains("<outcome>OK</outcome>"), "the receipt is stored: {}", reply.body);
    let deadline = Instant::now() + Duration::from_secs(20);
    let list = loop {
        let list = pushes(&dir);
        if list["pushes"][0]["attempts"].as_i64().unwrap_or(0) >= 1 {
            break list;
        }
        assert!(Instant::now() < deadline, "no attempt: {list}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let error = list["pushes"][0]["last_error"].as_str().unwrap();
    assert!(error.contains("push secret cannot be read") && error.contains("set it again"), "{error}");
    assert_eq!(list["target"]["signed"], true);
    assert!(receiver.received().is_empty(), "nothing is sent unsigned");

    configure(&dir, &receiver.url, "1", &iud);
    wait_state(&dir, "sent", Duration::from_secs(30));
    check_jwt(receiver.received()[0].authorization.as_deref());
}

#[test]
fn a_push_given_up_after_the_debt_types_attempts_is_failed() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let receiver = Receiver::start(usize::MAX);
    let (iud, notice, iuv, cents) = open_debts(&dir).into_iter().next().unwrap();
    configure(&dir, &receiver.url, "1", &iud);
    call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, "ffffeeeeddddccccbbbbaaaa99998888", true));
    let list = wait_state(&dir, "failed", Duration::from_secs(40));
    assert_eq!(list["pushes"][0]["attempts"], 5);
    assert_eq!(receiver.received().len(), 5);
}

#[test]
fn a_restart_between_attempts_still_delivers_once() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let receiver = Receiver::start(1);
    let (iud, notice, iuv, cents) = open_debts(&dir).into_iter().next().unwrap();
    configure(&dir, &receiver.url, "3", &iud);
    call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, "0000111122223333444455556666777a", true));
    receiver.wait_for(1, Duration::from_secs(10));
    let (ok, _) = server.terminate();
    assert!(ok);
    assert_eq!(pushes(&dir)["pushes"][0]["state"], "pending");

    let _server = Server::start(&dir, &["demo"]);
    wait_state(&dir, "sent", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one failed attempt, then exactly one delivery");
    assert_eq!(got[0].body, got[1].body);
}

#[test]
fn push_settings_are_checked_and_the_secret_never_shown() {
    let (_tmp, dir) = data_dir();
    super::support::add_milano(&dir);
    let short = STANDARD.encode([1u8; 32]);
    let out =
        run(&dir, &["org", "set", "c_f205", "--push-url", "http://127.0.0.1:9/x", "--push-secret-stdin"], Some(&short));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HS512 needs at least 64"), "{}", stderr(&out));
    let out = run(&dir, &["org", "set", "c_f205", "--push-url", "ftp://x"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&dir, &["org", "set", "c_f205", "--push-retry-seconds", "5"], None);
    assert_eq!(out.status.code(), Some(2), "no target yet: {}", stderr(&out));
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&run(&dir, &["org", "pushes", "c_f205", "--json"], None))).unwrap();
    assert_eq!(list["target"], serde_json::Value::Null, "nothing stored by refused settings");
    let out = run(&dir, &["org", "set", "c_f205", "--push-url", "https://sil.example/esiti"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&dir, &["org", "set", "c_f205", "--push-url", ""], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value =
        serde_json::from_str(&stdout(&run(&dir, &["org", "pushes", "c_f205", "--json"], None))).unwrap();
    assert_eq!(list["target"], serde_json::Value::Null);
}

/// Validates a Pagati document against MyPay's XSD with xmllint, when both are available.
fn validate_pagati(xml: &str) {
    // Beside the checkout, or beside the folder of worktrees.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs =
        [root.join("../shared/specs/mypay"), root.join("../../shared/specs/mypay")].into_iter().find(|p| p.is_dir());
    let have_xmllint = std::process::Command::new("xmllint").arg("--version").output().is_ok();
    let (Some(specs), true) = (specs, have_xmllint) else {
        println!("skipped: Pagati validation needs ../shared/specs and xmllint");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let xsd = std::fs::read_to_string(specs.join("PagInf_Dovuti_Pagati_6_2_0.xsd")).unwrap().replace(r"\/", "/");
    std::fs::write(tmp.path().join("pagati.xsd"), xsd).unwrap();
    std::fs::write(tmp.path().join("pagati.xml"), xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(tmp.path().join("pagati.xsd"))
        .arg(tmp.path().join("pagati.xml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}
