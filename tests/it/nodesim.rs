//! The Node simulator end to end, in-process, against a fake station (a tiny_http server that
//! answers fixed, valid paForNode responses): Checkout carts, the PSP counter, receipt delivery
//! and retries, FdR over REST and nodeForPa, fault switches, and the `node-sim` command. Every
//! request the simulator sends to the station is validated against paForNode.xsd with xmllint
//! when the specs and xmllint are available.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mypay::testing::nodesim::{self, PrimitiveVersion, SimConfig, SimHandle};
use mypay::testing::soap::{self, XmlWriter};
use serde_json::{Value, json};

const PA_NS: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";
const NODE_NS: &str = "http://ws.pagamenti.telematici.gov/";
const ORG: &str = "01234567897";
const ORG_B: &str = "80000000006";
const IBAN: &str = "IT60X0542811101000000123456";
const NOTICE: &str = "301000000000000144";
const NOTICE_2: &str = "301000000000000245";

// ---------------------------------------------------------------------------------------------
// The fake station

/// How the fake station answers.
#[derive(Clone, Default)]
struct Behaviour {
    /// paymentAmount differs from the sum of the transfers.
    sum_mismatch: bool,
    /// paVerifyPaymentNotice answers KO with this fault code.
    verify_fault: Option<&'static str>,
    /// The next paSendRT(V2) calls answered with HTTP 503.
    rt_failures: u32,
    /// The second transfer is a marca da bollo (V2 only).
    stamp: bool,
}

/// A request the station received.
#[derive(Clone, Debug)]
struct Call {
    action: String,
    body: String,
}

struct FakeStation {
    url: String,
    calls: Arc<Mutex<Vec<Call>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeStation {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl FakeStation {
    fn start(behaviour: Behaviour) -> FakeStation {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}/ws/fesp/", server.server_addr().to_ip().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, b, s) = (Arc::clone(&calls), Arc::clone(&behaviour), Arc::clone(&stop));
        std::thread::spawn(move || {
            let seen_receipts = Mutex::new(Vec::<String>::new());
            while !s.load(Ordering::SeqCst) {
                let Ok(Some(mut request)) = server.recv_timeout(Duration::from_millis(50)) else { continue };
                let action = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("SOAPAction"))
                    .map(|h| h.value.as_str().to_owned())
                    .unwrap_or_default();
                let mut body = String::new();
                request.as_reader().read_to_string(&mut body).unwrap();
                c.lock().unwrap().push(Call { action: action.clone(), body: body.clone() });
                let (status, answer) = answer(&action, &body, &b, &seen_receipts);
                let response = tiny_http::Response::from_string(answer)
                    .with_status_code(status)
                    .with_header(tiny_http::Header::from_bytes("Content-Type", "text/xml; charset=utf-8").unwrap());
                let _ = request.respond(response);
            }
        });
        FakeStation { url, calls, behaviour, stop }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn actions(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.action).collect()
    }
}

fn iuv_of(notice: &str) -> &str {
    if notice.starts_with('0') { &notice[3..] } else { &notice[1..] }
}

fn wrap(element: &str, inner: &str) -> String {
    soap::envelope("paf", PA_NS, &format!("<paf:{element}>{inner}</paf:{element}>"))
}

fn answer(action: &str, body: &str, behaviour: &Mutex<Behaviour>, seen: &Mutex<Vec<String>>) -> (u16, String) {
    let payload = soap::parse_envelope(body.as_bytes()).unwrap();
    let notice = payload.path_text(&["qrCode", "noticeNumber"]).unwrap_or(NOTICE).to_owned();
    let mut b = behaviour.lock().unwrap();
    match action {
        "paVerifyPaymentNotice" => {
            if let Some(code) = b.verify_fault {
                let mut w = XmlWriter::new();
                w.leaf("outcome", "KO")
                    .open("fault")
                    .leaf("faultCode", code)
                    .leaf("faultString", "Pagamento in attesa risulta sconosciuto all’Ente Creditore")
                    .leaf("id", ORG)
                    .close("fault");
                return (200, wrap("paVerifyPaymentNoticeRes", &w.finish()));
            }
            (200, wrap("paVerifyPaymentNoticeRes", &verify_body()))
        }
        "paGetPayment" | "paGetPaymentV2" => {
            let v2 = action == "paGetPaymentV2";
            let element = if v2 { "paGetPaymentV2Response" } else { "paGetPaymentRes" };
            (200, wrap(element, &payment_body(&notice, v2, b.sum_mismatch, b.stamp)))
        }
        "paSendRT" | "paSendRTV2" => {
            let element = if action == "paSendRTV2" { "paSendRTV2Response" } else { "paSendRTRes" };
            if b.rt_failures > 0 {
                b.rt_failures -= 1;
                return (503, "station down".to_owned());
            }
            let id = payload.path_text(&["receipt", "receiptId"]).unwrap().to_owned();
            let mut seen = seen.lock().unwrap();
            let mut w = XmlWriter::new();
            if seen.contains(&id) {
                w.leaf("outcome", "KO")
                    .open("fault")
                    .leaf("faultCode", "PAA_RECEIPT_DUPLICATA")
                    .leaf("faultString", "pagamento duplicato")
                    .leaf("id", ORG)
                    .close("fault");
            } else {
                seen.push(id);
                w.leaf("outcome", "OK");
            }
            (200, wrap(element, &w.finish()))
        }
        "paDemandPaymentNotice" => {
            let mut w = XmlWriter::new();
            w.leaf("outcome", "OK")
                .open("qrCode")
                .leaf("fiscalCode", ORG)
                .leaf("noticeNumber", NOTICE_2)
                .close("qrCode")
                .raw(&verify_body().replacen("<outcome>OK</outcome>", "", 1));
            (200, wrap("paDemandPaymentNoticeResponse", &w.finish()))
        }
        _ => (500, soap::fault_envelope("Client", "unknown operation")),
    }
}

fn verify_body() -> String {
    let mut w = XmlWriter::new();
    w.leaf("outcome", "OK")
        .open("paymentList")
        .open("paymentOptionDescription")
        .leaf("amount", "30.00")
        .leaf("options", "EQ")
        .leaf("dueDate", "2026-12-31")
        .leaf("allCCP", "false")
        .close("paymentOptionDescription")
        .close("paymentList")
        .leaf("paymentDescription", "TARI 2026")
        .leaf("fiscalCodePA", ORG)
        .leaf("companyName", "Comune di Prova");
    w.finish()
}

fn payment_body(notice: &str, v2: bool, sum_mismatch: bool, stamp: bool) -> String {
    let mut w = XmlWriter::new();
    w.leaf("outcome", "OK")
        .open("data")
        .leaf("creditorReferenceId", iuv_of(notice))
        .leaf("paymentAmount", if sum_mismatch { "31.00" } else { "30.00" })
        .leaf("dueDate", "2026-12-31")
        .leaf("description", "TARI 2026")
        .leaf("companyName", "Comune di Prova")
        .open("debtor")
        .open("uniqueIdentifier")
        .leaf("entityUniqueIdentifierType", "F")
        .leaf("entityUniqueIdentifierValue", "RSSMRA80A01H501U")
        .close("uniqueIdentifier")
        .leaf("fullName", "Mario Rossi")
        .leaf("e-mail", "mario.rossi@example.it")
        .close("debtor")
        .open("transferList");
    for (id, amount, org) in [("1", "20.00", ORG), ("2", "10.00", ORG_B)] {
        w.open("transfer").leaf("idTransfer", id).leaf("transferAmount", amount).leaf("fiscalCodePA", org);
        if v2 {
            w.leaf("companyName", if org == ORG { "Comune di Prova" } else { "Provincia di Prova" });
        }
        if stamp && id == "2" {
            w.open("richiestaMarcaDaBollo")
                .leaf("hashDocumento", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")
                .leaf("tipoBollo", "01")
                .leaf("provinciaResidenza", "RM")
                .close("richiestaMarcaDaBollo");
        } else {
            w.leaf("IBAN", IBAN);
        }
        w.leaf("remittanceInformation", "TARI").leaf("transferCategory", "0101002IM");
        if v2 {
            w.open("metadata")
                .open("mapEntry")
                .leaf("key", "capitolo")
                .leaf("value", "1234")
                .close("mapEntry")
                .close("metadata");
        }
        w.close("transfer");
    }
    w.close("transferList")
        .open("metadata")
        .open("mapEntry")
        .leaf("key", "anno")
        .leaf("value", "2026")
        .close("mapEntry")
        .close("metadata")
        .close("data");
    w.finish()
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn sim(station: &FakeStation, adjust: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig::new(&station.url, "99999000013", "99999000013_01");
    config.retry_interval = Duration::from_millis(100);
    config.retry_count = 5;
    config.request_timeout = Duration::from_secs(5);
    config.send_rt_timeout = Duration::from_secs(5);
    adjust(&mut config);
    nodesim::start(config).unwrap()
}

struct Reply {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("{err}: {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<(&str, &[u8])>) -> Reply {
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut req = agent.get(url);
            for (n, v) in headers {
                req = req.header(*n, *v);
            }
            req.call()
        }
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some((content_type, bytes))) => {
            let mut req = agent.post(url).header("Content-Type", content_type);
            for (n, v) in headers {
                req = req.header(*n, *v);
            }
            req.send(bytes)
        }
        _ => panic!("unsupported"),
    }
    .unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Reply { status, location, body }
}

fn get(url: &str) -> Reply {
    send("GET", url, &[], None)
}

fn post_json(url: &str, value: &Value) -> Reply {
    send("POST", url, &[], Some(("application/json", value.to_string().as_bytes())))
}

fn post_form(url: &str, form: &str) -> Reply {
    send("POST", url, &[], Some(("application/x-www-form-urlencoded", form.as_bytes())))
}

fn cart_body(version: u8, notices: &[&str]) -> Value {
    let mut urls = json!({
        "returnOkUrl": "http://ente.example/ok",
        "returnCancelUrl": "http://ente.example/annullato",
        "returnErrorUrl": "http://ente.example/errore",
    });
    if version == 2 {
        urls["returnWaitingUrl"] = json!("http://ente.example/attesa");
    }
    let notices: Vec<Value> = notices
        .iter()
        .map(|n| json!({"noticeNumber": n, "fiscalCode": ORG, "amount": 3000, "companyName": "Comune di Prova", "description": "TARI 2026"}))
        .collect();
    json!({"paymentNotices": notices, "returnUrls": urls, "idCart": "CART-42", "allCCP": true, "emailNotice": "mario.rossi@example.it"})
}

/// Creates a cart and returns its id.
fn create_cart(handle: &SimHandle, version: u8, notices: &[&str]) -> String {
    let reply = post_json(&format!("{}/checkout/ec/v{version}/carts", handle.base_url), &cart_body(version, notices));
    assert_eq!(reply.status, 302, "{}", reply.body);
    let location = reply.location.unwrap();
    let prefix = format!("{}/c/", handle.base_url);
    assert!(location.starts_with(&prefix), "{location}");
    location[prefix.len()..].to_owned()
}

fn status(handle: &SimHandle, cart: &str) -> Value {
    get(&format!("{}/sim/carts/{cart}", handle.base_url)).json()
}

/// Polls `check` until it holds or 10 s pass.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn specs() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs"));
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return None;
    }
    if Command::new("xmllint").arg("--version").output().is_err() {
        println!("skipped: xmllint is not installed");
        return None;
    }
    Some(dir)
}

fn xmllint(schema: &Path, xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint").arg("--noout").arg("--schema").arg(schema).arg(&file).output().unwrap();
    assert!(out.status.success(), "xmllint refused:\n{}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

/// Validates the payload of every request the station received against paForNode.xsd.
fn validate_requests(station: &FakeStation) {
    let Some(specs) = specs() else { return };
    let schema = specs.join("pagopa/wsdl/xsd/paForNode.xsd");
    for call in station.calls() {
        let start = call.body.find("<soapenv:Body>").unwrap() + "<soapenv:Body>".len();
        let end = call.body.find("</soapenv:Body>").unwrap();
        let payload = call.body[start..end].replacen('>', &format!(" xmlns:paf=\"{PA_NS}\">"), 1);
        xmllint(&schema, &payload);
    }
}

fn payload_of(call: &Call) -> mypay::testing::soap::Element {
    soap::parse_envelope(call.body.as_bytes()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Checkout

#[test]
fn a_v2_cart_paid_calls_verify_get_payment_v2_and_send_rt_v2() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let cart = create_cart(&handle, 2, &[NOTICE]);

    let page = get(&format!("{}/c/{cart}", handle.base_url));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Riepilogo del pagamento") && page.body.contains("€ 30,00"), "{}", page.body);
    assert!(page.body.contains("3010 0000 0000 0001 44"));

    let reply = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=OK&psp=SIMPSP02");
    assert_eq!(reply.status, 303);
    assert_eq!(reply.location.as_deref(), Some("http://ente.example/ok"));

    assert_eq!(station.actions(), ["paVerifyPaymentNotice", "paGetPaymentV2", "paSendRTV2"]);
    let calls = station.calls();
    let names: Vec<(String, Option<String>)> = calls
        .iter()
        .map(|c| {
            let p = payload_of(c);
            (p.name, p.ns.as_deref().map(str::to_owned))
        })
        .collect();
    assert_eq!(names[0], ("paVerifyPaymentNoticeReq".to_owned(), Some(PA_NS.to_owned())));
    assert_eq!(names[1], ("paGetPaymentV2Request".to_owned(), Some(PA_NS.to_owned())));
    assert_eq!(names[2], ("paSendRTV2Request".to_owned(), Some(PA_NS.to_owned())));
    let get_payment = payload_of(&calls[1]);
    assert_eq!(get_payment.child_text("paymentNote"), Some("CART-42"));
    assert_eq!(get_payment.child_text("transferType"), Some("POSTAL"));
    assert_eq!(get_payment.child_text("amount"), Some("30.00"));
    let receipt = payload_of(&calls[2]);
    let receipt = receipt.child("receipt").unwrap();
    assert_eq!(receipt.child_text("idPSP"), Some("SIMPSP02"));
    assert_eq!(receipt.child_text("paymentNote"), Some("CART-42"));
    assert_eq!(receipt.child_text("creditorReferenceId"), Some("01000000000000144"));
    assert_eq!(receipt.path_text(&["metadata", "mapEntry", "key"]), Some("anno"));
    assert_eq!(receipt.child("transferList").unwrap().children.len(), 2);
    let token = receipt.child_text("receiptId").unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let paid_at = receipt.child_text("paymentDateTime").unwrap();
    assert_eq!(paid_at.len(), 19, "local time without offset: {paid_at}");

    let state = status(&handle, &cart);
    assert_eq!(state["state"], "PAID");
    assert_eq!(state["tokens"][0], token.as_str());
    assert_eq!(state["receipts"][0]["deliveries"][0]["state"], "DELIVERED");
    validate_requests(&station);

    // A second submit does not pay again: it goes back to the OK page.
    let again = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=OK");
    assert_eq!(again.location.as_deref(), Some("http://ente.example/ok"));
    assert_eq!(station.actions().len(), 3);
    handle.stop();
}

#[test]
fn a_v1_cart_with_two_notices_uses_the_v1_primitives() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |c| c.primitive_version = PrimitiveVersion::V1);
    let cart = create_cart(&handle, 1, &[NOTICE, NOTICE_2]);
    let reply = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=OK");
    assert_eq!(reply.location.as_deref(), Some("http://ente.example/ok"));
    assert_eq!(
        station.actions(),
        ["paVerifyPaymentNotice", "paGetPayment", "paVerifyPaymentNotice", "paGetPayment", "paSendRT", "paSendRT"]
    );
    let receipt = payload_of(&station.calls()[4]);
    assert_eq!(receipt.name, "paSendRTReq");
    assert!(receipt.child("receipt").unwrap().child("paymentNote").is_none());
    let state = status(&handle, &cart);
    assert_eq!(state["tokens"].as_array().unwrap().len(), 2);
    validate_requests(&station);
    handle.stop();
}

#[test]
fn cancel_and_error_go_back_without_calling_the_station() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let cart = create_cart(&handle, 2, &[NOTICE]);
    let reply = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=CANCEL");
    assert_eq!((reply.status, reply.location.as_deref()), (303, Some("http://ente.example/annullato")));
    assert_eq!(status(&handle, &cart)["state"], "CANCELLED");
    let cart = create_cart(&handle, 2, &[NOTICE]);
    let reply = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=ERROR");
    assert_eq!((reply.status, reply.location.as_deref()), (303, Some("http://ente.example/errore")));
    assert_eq!(status(&handle, &cart)["state"], "FAILED");
    assert!(station.actions().is_empty());
    let bad = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=MAYBE");
    assert_eq!(bad.status, 400);
    assert_eq!(get(&format!("{}/c/nope", handle.base_url)).status, 404);
    handle.stop();
}

#[test]
fn a_sum_mismatch_fails_the_cart_with_errore_response() {
    let station = FakeStation::start(Behaviour { sum_mismatch: true, ..Behaviour::default() });
    let handle = sim(&station, |_| {});
    let cart = create_cart(&handle, 2, &[NOTICE]);
    let reply = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=OK");
    assert_eq!(reply.location.as_deref(), Some("http://ente.example/errore"));
    let state = status(&handle, &cart);
    assert_eq!(state["state"], "FAILED");
    assert_eq!(state["fault"]["faultCode"], "PPT_STAZIONE_INT_PA_ERRORE_RESPONSE");
    assert_eq!(station.actions(), ["paVerifyPaymentNotice", "paGetPaymentV2"]);
    handle.stop();
}

#[test]
fn bad_cart_input_gets_a_400_problem() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let mut body = cart_body(2, &[NOTICE]);
    body["paymentNotices"][0]["noticeNumber"] = json!("123");
    let reply = post_json(&format!("{}/checkout/ec/v2/carts", handle.base_url), &body);
    assert_eq!(reply.status, 400);
    let problem = reply.json();
    assert_eq!(problem["status"], 400);
    assert!(problem["detail"].as_str().unwrap().contains("noticeNumber"), "{problem}");
    // v2 requires returnWaitingUrl.
    let reply = post_json(&format!("{}/checkout/ec/v2/carts", handle.base_url), &cart_body(1, &[NOTICE]));
    assert_eq!(reply.status, 400);
    handle.stop();
}

#[test]
fn a_wrong_subscription_key_gets_401() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |c| c.subscription_key = "chiave-segreta".to_owned());
    let url = format!("{}/checkout/ec/v1/carts", handle.base_url);
    let body = cart_body(1, &[NOTICE]).to_string();
    assert_eq!(post_json(&url, &cart_body(1, &[NOTICE])).status, 401);
    let wrong =
        send("POST", &url, &[("Ocp-Apim-Subscription-Key", "sbagliata")], Some(("application/json", body.as_bytes())));
    assert_eq!(wrong.status, 401);
    let right = send(
        "POST",
        &url,
        &[("Ocp-Apim-Subscription-Key", "chiave-segreta")],
        Some(("application/json", body.as_bytes())),
    );
    assert_eq!(right.status, 302);
    let by_query = post_json(&format!("{url}?subscription-key=chiave-segreta"), &cart_body(1, &[NOTICE]));
    assert_eq!(by_query.status, 302);
    let fdr = get(&format!("{}/fdr-org/service/v1/organizations/{ORG}/fdrs", handle.base_url));
    assert_eq!(fdr.status, 401);
    handle.stop();
}

// ---------------------------------------------------------------------------------------------
// Receipt delivery

#[test]
fn receipts_are_retried_until_the_station_is_back() {
    let station = FakeStation::start(Behaviour { rt_failures: 2, ..Behaviour::default() });
    let handle = sim(&station, |_| {});
    let cart = create_cart(&handle, 2, &[NOTICE]);
    let reply = post_form(&format!("{}/c/{cart}", handle.base_url), "outcome=OK");
    assert_eq!(reply.location.as_deref(), Some("http://ente.example/ok"));
    eventually("the receipt to be delivered", || {
        status(&handle, &cart)["receipts"][0]["deliveries"][0]["state"] == "DELIVERED"
    });
    let delivery = &status(&handle, &cart)["receipts"][0]["deliveries"][0];
    let attempts = delivery["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{delivery}");
    assert!(attempts[0]["result"].as_str().unwrap().starts_with("PPT_STAZIONE_INT_PA_ERRORE_RESPONSE"));
    assert_eq!(attempts[2]["result"], "OK");
    assert_eq!(station.actions().iter().filter(|a| *a == "paSendRTV2").count(), 3);
    handle.stop();
}

#[test]
fn receipts_are_given_up_after_the_retry_count() {
    let station = FakeStation::start(Behaviour { rt_failures: 100, ..Behaviour::default() });
    let handle = sim(&station, |c| c.retry_count = 2);
    let reply =
        post_json(&format!("{}/sim/psp/pay", handle.base_url), &json!({"fiscalCode": ORG, "noticeNumber": NOTICE}));
    assert_eq!(reply.json()["outcome"], "OK");
    eventually("three failed attempts", || station.actions().iter().filter(|a| *a == "paSendRTV2").count() == 3);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(station.actions().iter().filter(|a| *a == "paSendRTV2").count(), 3);
    handle.stop();
}

#[test]
fn deliver_twice_sends_each_receipt_twice() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let faults = post_json(&format!("{}/sim/faults", handle.base_url), &json!({"deliver_twice": true}));
    assert_eq!(faults.status, 200);
    let reply =
        post_json(&format!("{}/sim/psp/pay", handle.base_url), &json!({"fiscalCode": ORG, "noticeNumber": NOTICE}));
    let paid = reply.json();
    assert_eq!(paid["outcome"], "OK", "{paid}");
    let sends: Vec<Call> = station.calls().into_iter().filter(|c| c.action == "paSendRTV2").collect();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0].body, sends[1].body);
    let states: Vec<&str> =
        paid["deliveries"].as_array().unwrap().iter().map(|d| d["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["DELIVERED", "DELIVERED_WITH_ERROR"]);
    assert_eq!(paid["deliveries"][1]["faultCode"], "PAA_RECEIPT_DUPLICATA");
    assert_eq!(send("DELETE", &format!("{}/sim/faults", handle.base_url), &[], None).status, 200);
    handle.stop();
}

// ---------------------------------------------------------------------------------------------
// PSP counter

#[test]
fn the_psp_counter_pays_and_relays_station_faults() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let url = format!("{}/sim/psp/pay", handle.base_url);
    let paid = post_json(&url, &json!({"fiscalCode": ORG, "noticeNumber": NOTICE, "psp": "SIMPSP01"})).json();
    assert_eq!(paid["outcome"], "OK", "{paid}");
    assert_eq!(paid["paymentToken"].as_str().unwrap().len(), 32);
    assert_eq!(paid["amount"], "30.00");
    let again = post_json(&url, &json!({"fiscalCode": ORG, "noticeNumber": NOTICE})).json();
    assert_eq!(again["fault"]["faultCode"], "PPT_PAGAMENTO_DUPLICATO");

    station.behaviour.lock().unwrap().verify_fault = Some("PAA_PAGAMENTO_SCONOSCIUTO");
    let unknown = post_json(&url, &json!({"fiscalCode": ORG, "noticeNumber": NOTICE_2})).json();
    assert_eq!(unknown["outcome"], "KO");
    assert_eq!(unknown["fault"]["faultCode"], "PPT_ERRORE_EMESSO_DA_PAA");
    assert_eq!(unknown["fault"]["originalFaultCode"], "PAA_PAGAMENTO_SCONOSCIUTO");
    assert_eq!(post_json(&url, &json!({"fiscalCode": "1"})).status, 400);
    validate_requests(&station);
    handle.stop();
}

#[test]
fn an_unregistered_iban_fails_with_iban_non_censito() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |c| c.iban_registry = vec![(ORG.to_owned(), IBAN.to_owned())]);
    let reply =
        post_json(&format!("{}/sim/psp/pay", handle.base_url), &json!({"fiscalCode": ORG, "noticeNumber": NOTICE}));
    // The second transfer goes to ORG_B, whose IBAN is not registered.
    assert_eq!(reply.json()["fault"]["faultCode"], "PPT_IBAN_NON_CENSITO");
    handle.stop();
}

#[test]
fn a_spontaneous_payment_demands_a_notice_then_pays_it() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let reply = post_json(
        &format!("{}/sim/psp/spontaneous", handle.base_url),
        &json!({"fiscalCode": ORG, "idServizio": "00001", "idSoggettoServizio": "00042", "datiSpecificiServizio": "<dati><targa>AB123CD</targa></dati>"}),
    );
    let paid = reply.json();
    assert_eq!(paid["outcome"], "OK", "{paid}");
    assert_eq!(paid["noticeNumber"], NOTICE_2);
    assert_eq!(station.actions(), ["paDemandPaymentNotice", "paVerifyPaymentNotice", "paGetPaymentV2", "paSendRTV2"]);
    let demand = payload_of(&station.calls()[0]);
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD
        .decode(demand.child_text("datiSpecificiServizioRequest").unwrap())
        .unwrap();
    assert_eq!(data, b"<dati><targa>AB123CD</targa></dati>");
    validate_requests(&station);
    let bad = post_json(
        &format!("{}/sim/psp/spontaneous", handle.base_url),
        &json!({"fiscalCode": ORG, "idServizio": "1", "idSoggettoServizio": "00042", "datiSpecificiServizio": "<a/>"}),
    );
    assert_eq!(bad.status, 400);
    handle.stop();
}

#[test]
fn a_marca_da_bollo_becomes_an_mbd_attachment_and_is_not_reported() {
    let station = FakeStation::start(Behaviour { stamp: true, ..Behaviour::default() });
    let handle = sim(&station, |_| {});
    let reply =
        post_json(&format!("{}/sim/psp/pay", handle.base_url), &json!({"fiscalCode": ORG, "noticeNumber": NOTICE}));
    assert_eq!(reply.json()["outcome"], "OK");
    let send_rt = payload_of(&station.calls()[2]);
    let transfers = send_rt.path(&["receipt", "transferList"]).unwrap();
    assert!(transfers.children[0].child("IBAN").is_some());
    let attachment = transfers.children[1].child_text("MBDAttachment").unwrap();
    use base64::Engine as _;
    let stamp = base64::engine::general_purpose::STANDARD.decode(attachment).unwrap();
    assert!(String::from_utf8(stamp).unwrap().contains("<TipoBollo>01</TipoBollo>"));
    validate_requests(&station);
    let generated = post_json(&format!("{}/sim/fdr/generate", handle.base_url), &json!({})).json();
    let flows = generated["generated"].as_array().unwrap();
    assert_eq!(flows.len(), 1, "{generated}");
    assert_eq!(flows[0]["sumPayments"], "20.00");
    handle.stop();
}

// ---------------------------------------------------------------------------------------------
// Reporting

fn pay_two(handle: &SimHandle) {
    for notice in [NOTICE, NOTICE_2] {
        let reply =
            post_json(&format!("{}/sim/psp/pay", handle.base_url), &json!({"fiscalCode": ORG, "noticeNumber": notice}));
        assert_eq!(reply.json()["outcome"], "OK");
    }
}

#[test]
fn reporting_flows_are_valid_and_served_over_rest() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |c| c.subscription_key = "k".to_owned());
    pay_two(&handle);
    let generated = post_json(&format!("{}/sim/fdr/generate", handle.base_url), &json!({})).json();
    let flows = generated["generated"].as_array().unwrap();
    // One flow per receiving org: the 20.00 transfers to ORG and the 10.00 ones to ORG_B.
    assert_eq!(flows.len(), 2, "{generated}");
    let ours = flows.iter().find(|f| f["organizationId"] == ORG).unwrap();
    assert_eq!(ours["totPayments"], 2);
    assert_eq!(ours["sumPayments"], "40.00");
    let fdr = ours["fdr"].as_str().unwrap().to_owned();
    assert!(fdr.len() <= 35 && fdr.contains("SIMPSP01-"), "{fdr}");
    // Generating again reports nothing twice.
    let again = post_json(&format!("{}/sim/fdr/generate", handle.base_url), &json!({})).json();
    assert_eq!(again["generated"].as_array().unwrap().len(), 0);

    let base = format!("{}/fdr-org/service/v1/organizations/{ORG}/fdrs", handle.base_url);
    let key = [("Ocp-Apim-Subscription-Key", "k")];
    let list = send("GET", &format!("{base}?page=1&size=10"), &key, None);
    assert_eq!(list.status, 200, "{}", list.body);
    let list = list.json();
    assert_eq!(list["count"], 1);
    assert_eq!(list["metadata"]["totPage"], 1);
    assert_eq!(list["data"][0]["fdr"], fdr.as_str());
    assert_eq!(list["data"][0]["revision"], 1);
    assert_eq!(send("GET", &format!("{base}?size=0"), &key, None).status, 400);

    let one = send("GET", &format!("{base}/{fdr}/revisions/1/psps/SIMPSP01"), &key, None);
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.body.contains("\"sumPayments\":40.00"), "{}", one.body);
    let one = one.json();
    assert_eq!(one["status"], "PUBLISHED");
    assert_eq!(one["totPayments"], 2);
    assert_eq!(one["sender"]["pspId"], "SIMPSP01");
    assert_eq!(one["receiver"]["organizationId"], ORG);
    assert_eq!(send("GET", &format!("{base}/{fdr}/revisions/2/psps/SIMPSP01"), &key, None).status, 404);

    let payments = send("GET", &format!("{base}/{fdr}/revisions/1/psps/SIMPSP01/payments?page=2&size=1"), &key, None);
    assert!(payments.body.contains("\"pay\":20.00"), "{}", payments.body);
    let payments = payments.json();
    assert_eq!(payments["metadata"]["totPage"], 2);
    assert_eq!(payments["data"][0]["index"], 2);
    assert_eq!(payments["data"][0]["idTransfer"], 1);
    assert_eq!(payments["data"][0]["payStatus"], "EXECUTED");
    assert_eq!(payments["data"][0]["iuv"], iuv_of(NOTICE_2));
    handle.stop();
}

fn node_for_pa(handle: &SimHandle, operation: &str, password: &str, extra: &str) -> mypay::testing::soap::Element {
    let body = soap::envelope(
        "nfp",
        NODE_NS,
        &format!(
            "<nfp:{operation}><identificativoIntermediarioPA>99999000013</identificativoIntermediarioPA>\
             <identificativoStazioneIntermediarioPA>99999000013_01</identificativoStazioneIntermediarioPA>\
             <password>{password}</password><identificativoDominio>{ORG}</identificativoDominio>{extra}</nfp:{operation}>"
        ),
    );
    let reply = send(
        "POST",
        &format!("{}{}", handle.base_url, nodesim::NODE_FOR_PA_PATH),
        &[("SOAPAction", operation)],
        Some(("text/xml; charset=utf-8", body.as_bytes())),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let payload = soap::parse_envelope(reply.body.as_bytes()).unwrap();
    assert_eq!(payload.name, format!("{operation}Risposta"));
    assert_eq!(payload.ns.as_deref(), Some(NODE_NS));
    payload
}

#[test]
fn reporting_flows_over_node_for_pa_validate_against_the_xsd() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |c| c.station_password = "Password01".to_owned());
    pay_two(&handle);
    post_json(&format!("{}/sim/fdr/generate", handle.base_url), &json!({}));

    let wrong = node_for_pa(&handle, "nodoChiediElencoFlussiRendicontazione", "sbagliata1", "");
    assert_eq!(wrong.path_text(&["fault", "faultCode"]), Some("PPT_AUTENTICAZIONE"));
    assert!(wrong.child("elencoFlussiRendicontazione").is_none());

    let list = node_for_pa(&handle, "nodoChiediElencoFlussiRendicontazione", "Password01", "");
    assert!(list.child("fault").is_none());
    let elenco = list.child("elencoFlussiRendicontazione").unwrap();
    assert_eq!(elenco.child_text("totRestituiti"), Some("1"));
    let iuf = elenco.path_text(&["idRendicontazione", "identificativoFlusso"]).unwrap().to_owned();

    let flow = node_for_pa(
        &handle,
        "nodoChiediFlussoRendicontazione",
        "Password01",
        &format!("<identificativoFlusso>{iuf}</identificativoFlusso>"),
    );
    use base64::Engine as _;
    let xml = base64::engine::general_purpose::STANDARD.decode(flow.child_text("xmlRendicontazione").unwrap()).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    let doc = soap::parse_document(xml.as_bytes()).unwrap();
    assert_eq!(doc.child_text("identificativoFlusso"), Some(iuf.as_str()));
    assert_eq!(doc.child_text("importoTotalePagamenti"), Some("40.00"));
    assert_eq!(doc.children_named("datiSingoliPagamenti").count(), 2);

    let unknown = node_for_pa(
        &handle,
        "nodoChiediFlussoRendicontazione",
        "Password01",
        "<identificativoFlusso>2026-01-01NOPE-1</identificativoFlusso>",
    );
    assert_eq!(unknown.path_text(&["fault", "faultCode"]), Some("PPT_ID_FLUSSO_SCONOSCIUTO"));

    if let Some(specs) = specs() {
        xmllint(&specs.join("pagopa/xsd-common/FlussoRiversamento_1_0_4.xsd"), &xml);
        // The answers themselves follow nodeForPa.xsd too.
        let schema = specs.join("pagopa/wsdl/xsd/nodeForPa.xsd");
        for answer in [&list, &flow, &wrong] {
            let mut w = XmlWriter::new();
            write_element(&mut w, answer, true);
            xmllint(&schema, &w.finish());
        }
    }
    handle.stop();
}

/// Re-serializes a parsed payload (namespaced root, unqualified children) for xmllint.
fn write_element(w: &mut XmlWriter, el: &mypay::testing::soap::Element, root: bool) {
    if root {
        w.open_with(&format!("nfp:{}", el.name), &[("xmlns:nfp", NODE_NS)]);
    } else {
        w.open(&el.name);
    }
    if el.children.is_empty() {
        w.raw(&soap::escape(&el.text));
    }
    for child in &el.children {
        write_element(w, child, false);
    }
    if root {
        w.close(&format!("nfp:{}", el.name));
    } else {
        w.close(&el.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Fault switches

#[test]
fn fault_switches_perturb_the_answers_to_mypay() {
    let station = FakeStation::start(Behaviour::default());
    let handle = sim(&station, |_| {});
    let faults = format!("{}/sim/faults", handle.base_url);
    let carts = format!("{}/checkout/ec/v1/carts", handle.base_url);

    post_json(&faults, &json!({"answer_500": true}));
    assert_eq!(post_json(&carts, &cart_body(1, &[NOTICE])).status, 500);
    // The control endpoints are not affected.
    assert_eq!(get(&faults).json()["answer_500"], true);

    post_json(&faults, &json!({"delay_ms": 300}));
    let started = Instant::now();
    assert_eq!(post_json(&carts, &cart_body(1, &[NOTICE])).status, 302);
    assert!(started.elapsed() >= Duration::from_millis(300));

    post_json(&faults, &json!({"drop_answer": true}));
    let short = ureq::Agent::config_builder().timeout_global(Some(Duration::from_millis(500))).build();
    let short: ureq::Agent = short.into();
    let dropped = short
        .post(&carts)
        .header("Content-Type", "application/json")
        .send(cart_body(1, &[NOTICE]).to_string().as_bytes());
    assert!(dropped.is_err(), "an answer arrived");

    assert_eq!(send("DELETE", &faults, &[], None).status, 200);
    assert_eq!(post_json(&carts, &cart_body(1, &[NOTICE])).status, 302);
    assert_eq!(post_json(&faults, &json!({"nope": 1})).status, 400);
    handle.stop();
}

// ---------------------------------------------------------------------------------------------
// The command

#[test]
fn the_node_sim_command_listens_until_sigterm() {
    let station = FakeStation::start(Behaviour::default());
    let mut child = Command::new(env!("CARGO_BIN_EXE_mypay"))
        .args(["node-sim", "--listen", "127.0.0.1:0", "--station-url", &station.url])
        .args(["--broker-id", "99999000013", "--station-id", "99999000013_01", "--primitive-version", "1"])
        .args(["--retry-interval-secs", "1", "--retry-count", "2", "--subscription-key", "k"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("node simulator listening on ").unwrap_or_else(|| panic!("{first}")).to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    assert_eq!(get(&format!("{base}/healthz")).status, 200);
    let index = get(&format!("{base}/"));
    assert!(index.body.contains("Simulatore del Nodo pagoPA"), "{}", index.body);
    assert!(index.body.contains("Simulatore pagoPA — solo demo"), "{}", index.body);
    let css = crate::support::get(&format!("{base}/simulatore.css"));
    assert_eq!((css.status, css.header("content-type")), (200, Some("text/css; charset=utf-8")));
    assert_eq!(get(&format!("{base}/static/mypay.css")).status, 404, "not the portal's look");
    let paid = post_json(&format!("{base}/sim/psp/pay"), &json!({"fiscalCode": ORG, "noticeNumber": NOTICE})).json();
    assert_eq!(paid["outcome"], "OK", "{paid}");
    assert_eq!(station.actions(), ["paVerifyPaymentNotice", "paGetPayment", "paSendRT"]);
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(Instant::now() < deadline, "node-sim did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_mypay"))
        .args([
            "node-sim",
            "--station-url",
            "ftp://x",
            "--broker-id",
            "b",
            "--station-id",
            "s",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
}
