//! The REST JSON API over the real server: bearer tokens (missing, wrong, revoked, another org's),
//! debts (create, modify, annul, status by IUD and IUV) with the import's codes, payments through
//! the simulator's Checkout, debt flows and exports, the OpenAPI document, and the journal.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::support::{Server, add_milano, data_dir, run, stderr, stdout};

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One call: `body` is (content type, bytes).
fn api(server: &Server, method: &str, path: &str, token: Option<&str>, body: Option<(&str, &[u8])>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let url = server.url(path);
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match (method, body) {
        ("GET", _) => {
            let mut req = agent.get(&url);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call()
        }
        ("DELETE", _) => {
            let mut req = agent.delete(&url);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call()
        }
        (_, body) => {
            let mut req = if method == "PUT" { agent.put(&url) } else { agent.post(&url) };
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            let (ct, bytes) = body.unwrap_or(("application/json", b""));
            req.header("Content-Type", ct).send(bytes)
        }
    };
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_vec().unwrap();
    Answer { status, body, headers }
}

pub(crate) fn json_call(server: &Server, method: &str, path: &str, token: &str, body: &Value) -> Answer {
    api(server, method, path, Some(token), Some(("application/json", body.to_string().as_bytes())))
}

pub(crate) fn create_token(dir: &Path, org: &str) -> (i64, String) {
    let out = run(dir, &["api-token", "create", "--org", org, "--label", "gestionale", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    (v["id"].as_i64().unwrap(), v["token"].as_str().unwrap().to_owned())
}

fn count(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

pub(crate) fn new_debt(iud: &str) -> Value {
    json!({
        "iud": iud, "debt_type": "TARI", "generate_iuv": true,
        "debtor": {"kind": "F", "id": "RSSMRA85T10A562S", "name": "Mario Rossi", "email": "mario@example.it"},
        "amount": "120.50", "due_date": "2099-03-31", "causale": "TARI 2099",
    })
}

const DEBTS: &str = "/api/v1/orgs/c_esempio/debts";

#[test]
fn tokens_are_checked_before_anything_else() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    add_milano(&dir);
    let (id, token) = create_token(&dir, "c_esempio");
    let (_, other) = create_token(&dir, "c_f205");
    let list: Value =
        serde_json::from_str(&stdout(&run(&dir, &["api-token", "list", "--org", "c_esempio", "--json"], None)))
            .unwrap();
    assert_eq!(list[0]["label"], "gestionale");
    assert!(!list.to_string().contains(&token), "the token is shown only once");
    assert_eq!(count(&dir, &format!("SELECT count(*) FROM api_token WHERE token_hash LIKE '%{}%'", &token[4..20])), 0);

    let before = count(&dir, "SELECT count(*) FROM debt");
    let body = new_debt("API-AUTH-1").to_string();
    let post = |token: Option<&str>| api(&server, "POST", DEBTS, token, Some(("application/json", body.as_bytes())));
    let missing = post(None);
    assert_eq!((missing.status, missing.code()), (401, "UNAUTHORIZED".to_owned()));
    assert!(missing.json()["error"]["messaggio"].as_str().unwrap().contains("Token"));
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"mypay\""));
    let wrong = post(Some("mpy_0000000000000000000000000000000000000000000000000000000000000000"));
    assert_eq!((wrong.status, wrong.code()), (401, "UNAUTHORIZED".to_owned()));
    let garbage = post(Some("not-a-token"));
    assert_eq!(garbage.status, 401);
    let foreign = post(Some(&other));
    assert_eq!((foreign.status, foreign.code()), (403, "FORBIDDEN".to_owned()));
    assert_eq!(count(&dir, "SELECT count(*) FROM debt"), before, "nothing stored");

    let ok = post(Some(&token));
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    let out = run(&dir, &["api-token", "revoke", "--org", "c_esempio", &id.to_string()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let revoked = api(&server, "GET", &format!("{DEBTS}/API-AUTH-1"), Some(&token), None);
    assert_eq!((revoked.status, revoked.code()), (401, "UNAUTHORIZED".to_owned()));
    let out = run(&dir, &["api-token", "revoke", "--org", "c_esempio", &id.to_string()], None);
    assert_eq!(out.status.code(), Some(2), "revoking twice is refused");

    // Unknown paths and methods answer in JSON too.
    let (_, token) = create_token(&dir, "c_esempio");
    let nowhere = api(&server, "GET", "/api/v1/orgs/c_esempio/nothing", Some(&token), None);
    assert_eq!((nowhere.status, nowhere.code()), (404, "NOT_FOUND".to_owned()));
    let patch = api(&server, "POST", &format!("{DEBTS}/X"), Some(&token), None);
    assert_eq!((patch.status, patch.code()), (405, "METHOD_NOT_ALLOWED".to_owned()));
    assert_eq!(patch.header("allow"), Some("GET, PUT, DELETE"));

    // Refused calls are journaled too, without a token's org.
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = "SELECT count(*) FROM audit WHERE actor = 'api:anonymous' AND outcome = 'UNAUTHORIZED'";
    while count(&dir, refused) < 4 {
        assert!(Instant::now() < deadline, "refused calls missing from the journal");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn debts_are_created_changed_annulled_and_read_with_the_import_codes() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (_, token) = create_token(&dir, "c_esempio");
    let before = count(&dir, "SELECT count(*) FROM debt");

    // Bad input: nothing stored, exact codes.
    let bad_json = api(&server, "POST", DEBTS, Some(&token), Some(("application/json", b"{not json")));
    assert_eq!((bad_json.status, bad_json.code()), (400, "INVALID_JSON".to_owned()));
    let number = json_call(&server, "POST", DEBTS, &token, &json!({"iud": "N", "amount": 12.5}));
    assert_eq!((number.status, number.code()), (400, "INVALID_INPUT".to_owned()));
    let mut no_causale = new_debt("API-BAD-1");
    no_causale["causale"] = json!("");
    no_causale["amount"] = json!("12,50");
    let refused = json_call(&server, "POST", DEBTS, &token, &no_causale);
    assert_eq!(refused.status, 422, "{}", String::from_utf8_lossy(&refused.body));
    let codes: Vec<String> = refused.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(refused.code(), codes[0]);
    let descriptions = refused.json()["error"]["details"].to_string();
    assert_eq!(codes, ["PAA_IMPORT_SINTASSI_CSV", "PAA_IMPORT_SINTASSI_CSV"], "{descriptions}");
    assert!(
        descriptions.contains("IMPORTO_DOVUTO NON CONFROME")
            && descriptions.contains("CAUSALE_VERSAMENTO NON PRESENTE"),
        "{descriptions}"
    );
    let mut unknown_type = new_debt("API-BAD-2");
    unknown_type["debt_type"] = json!("NESSUNO");
    let refused = json_call(&server, "POST", DEBTS, &token, &unknown_type);
    assert_eq!(refused.status, 422, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.code(), "PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_INESISTENTE");
    assert_eq!(count(&dir, "SELECT count(*) FROM debt"), before, "nothing stored");

    // Create, read by IUD and IUV.
    let created = json_call(&server, "POST", DEBTS, &token, &new_debt("API-1"));
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let debt = created.json();
    assert_eq!(created.header("location"), Some("/api/v1/orgs/c_esempio/debts/API-1"));
    assert_eq!(debt["state"], "INSERIMENTO_DOVUTO");
    assert_eq!(debt["amount"], "120.50");
    assert_eq!(debt["collection_data"], "9/0101002IM/", "the debt type's taxonomy by default");
    let iuv = debt["iuv"].as_str().unwrap().to_owned();
    assert_eq!(iuv.len(), 17);
    let again = json_call(&server, "POST", DEBTS, &token, &new_debt("API-1"));
    assert_eq!((again.status, again.code()), (422, "PAA_IMPORT_IUD_DUPLICATO".to_owned()));
    let by_iud = api(&server, "GET", &format!("{DEBTS}/API-1"), Some(&token), None);
    assert_eq!(by_iud.json()["iuv"], iuv.as_str());
    let by_iuv = api(&server, "GET", &format!("/api/v1/orgs/c_esempio/debts-by-iuv/{iuv}"), Some(&token), None);
    assert_eq!(by_iuv.json()["iud"], "API-1");
    let missing = api(&server, "GET", &format!("{DEBTS}/API-NONE"), Some(&token), None);
    assert_eq!((missing.status, missing.code()), (404, "NOT_FOUND".to_owned()));

    // Modify: new amount, same IUV; a changed debt type is refused.
    let mut changed = new_debt("ignored");
    changed["amount"] = json!("99.00");
    changed["iuv"] = json!(iuv);
    let modified = json_call(&server, "PUT", &format!("{DEBTS}/API-1"), &token, &changed);
    assert_eq!(modified.status, 200, "{}", String::from_utf8_lossy(&modified.body));
    assert_eq!((modified.json()["amount"].clone(), modified.json()["iuv"].clone()), (json!("99.00"), json!(iuv)));
    let mut other_type = changed.clone();
    other_type["debt_type"] = json!("CERT_ANAGRAFICI");
    let refused = json_call(&server, "PUT", &format!("{DEBTS}/API-1"), &token, &other_type);
    assert_eq!(refused.code(), "PAA_IMPORT_TIPO_DOVUTO_NON_MODIFICABILE");
    let absent = json_call(&server, "PUT", &format!("{DEBTS}/API-NONE"), &token, &changed);
    assert_eq!((absent.status, absent.code()), (404, "NOT_FOUND".to_owned()));

    // Annul, then it is gone for reads by IUD and annulling again is refused.
    let annulled = api(&server, "DELETE", &format!("{DEBTS}/API-1"), Some(&token), None);
    assert_eq!(annulled.status, 200, "{}", String::from_utf8_lossy(&annulled.body));
    assert_eq!(annulled.json()["state"], "ANNULLATO");
    let twice = api(&server, "DELETE", &format!("{DEBTS}/API-1"), Some(&token), None);
    assert_eq!(twice.status, 422, "{}", String::from_utf8_lossy(&twice.body));
    assert_eq!(twice.code(), "PAA_IMPORT_DOVUTO_NON_PRESENTE");

    // Every call is in the journal, and the changes have their own audit entries.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count(&dir, "SELECT count(*) FROM audit WHERE action LIKE 'api %'") < 14 {
        assert!(Instant::now() < deadline, "API calls missing from the journal");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        count(
            &dir,
            "SELECT count(*) FROM audit WHERE action = 'api POST /api/v1/orgs/{ipa}/debts' AND outcome = '201'"
        ),
        1
    );
    assert_eq!(
        count(&dir, "SELECT count(*) FROM audit WHERE action = 'debt.modify' AND actor LIKE 'api:c_esempio#%'"),
        1
    );
    assert_eq!(
        count(&dir, "SELECT count(*) FROM audit WHERE action = 'debt.annul' AND actor LIKE 'api:c_esempio#%'"),
        1
    );
}

/// Pays session `redirect_url` as the payer does: the summary (unless `show` was NONE), the
/// privacy notice, Checkout at the simulator with `outcome`; returns where the payer lands.
fn pay_as_payer(server: &Server, redirect_url: &str, outcome: &str) -> String {
    let mut browser = super::portal::Browser::new(&server.base);
    let path = redirect_url.trim_start_matches(&server.base).to_owned();
    let landing = browser.get(&path);
    let checkout_url = if landing.status == 303 {
        landing.location.unwrap()
    } else {
        assert_eq!(landing.status, 200, "{}", landing.body);
        let sent = browser.submit(&path, &path, &[("privacy", "1"), ("email", "mario@example.it")]);
        assert_eq!(sent.status, 303, "{}", sent.body);
        sent.location.unwrap()
    };
    let paid = browser.post(&checkout_url, &[("outcome", outcome), ("psp", "SIMPSP01")]);
    assert_eq!(paid.status, 303);
    let back = browser.get(&paid.location.unwrap());
    assert_eq!(back.status, 303, "{}", back.body);
    back.location.unwrap()
}

fn wait_paid(server: &Server, token: &str, session: &str) -> Value {
    let path = format!("/api/v1/orgs/c_esempio/payments/{session}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = api(server, "GET", &path, Some(token), None).json();
        if status["state"] != "IN_CORSO" {
            return status;
        }
        assert!(Instant::now() < deadline, "still {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_payment_of_an_existing_debt_follows_the_session_to_its_receipt_and_export() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (_, token) = create_token(&dir, "c_esempio");
    let created = json_call(&server, "POST", DEBTS, &token, &new_debt("API-PAY-1"));
    let debt = created.json();
    let path = "/api/v1/orgs/c_esempio/payments";

    let empty = json_call(&server, "POST", path, &token, &json!({"back_url": "https://sil.example/esito"}));
    assert_eq!((empty.status, empty.code()), (400, "INVALID_INPUT".to_owned()));
    let unknown = json_call(&server, "POST", path, &token, &json!({"iud": "NONE"}));
    assert_eq!((unknown.status, unknown.code()), (404, "NOT_FOUND".to_owned()));
    let bad_iuv = json_call(&server, "POST", path, &token, &json!({"iuv": "01999999999999999"}));
    assert_eq!((bad_iuv.status, bad_iuv.code()), (422, "PAA_IUV_NON_VALIDO".to_owned()));
    assert_eq!(count(&dir, "SELECT count(*) FROM sil_session"), 0, "nothing stored");

    let started =
        json_call(&server, "POST", path, &token, &json!({"iud": "API-PAY-1", "back_url": "https://sil.example/esito"}));
    assert_eq!(started.status, 201, "{}", String::from_utf8_lossy(&started.body));
    let started = started.json();
    let session = started["session"].as_str().unwrap().to_owned();
    let redirect = started["redirect_url"].as_str().unwrap().to_owned();
    assert!(redirect.starts_with(&format!("{}/sil/", server.base)), "{started}");
    let status = api(&server, "GET", &format!("{path}/{session}"), Some(&token), None).json();
    assert_eq!(
        status,
        json!({"session": session, "state": "NON_INIZIATO", "fault_code": "PAA_PAGAMENTO_NON_INIZIATO"})
    );

    let back = pay_as_payer(&server, &redirect, "OK");
    assert!(back.starts_with(&format!("https://sil.example/esito?idSession={session}&esito=OK")), "{back}");
    let status = wait_paid(&server, &token, &session);
    assert_eq!(status["state"], "PAGATO", "{status}");
    assert_eq!(status["esito"], "0");
    assert_eq!(status["items"][0]["iud"], "API-PAY-1");
    assert_eq!(status["items"][0]["receipt"]["amount"], "120.50");
    let debt_now = api(&server, "GET", &format!("{DEBTS}/API-PAY-1"), Some(&token), None).json();
    assert_eq!(debt_now["state"], "COMPLETATO");
    assert_eq!(debt_now["iuv"], debt["iuv"]);

    let paid_again = json_call(&server, "POST", path, &token, &json!({"iud": "API-PAY-1"}));
    assert_eq!((paid_again.status, paid_again.code()), (422, "PAA_IUV_NON_VALIDO".to_owned()));

    // Another org's token cannot see the session; an unknown session is 404.
    add_milano(&dir);
    let (_, other) = create_token(&dir, "c_f205");
    let other_view = api(&server, "GET", &format!("/api/v1/orgs/c_f205/payments/{session}"), Some(&other), None);
    assert_eq!(other_view.status, 404, "{}", String::from_utf8_lossy(&other_view.body));
    let nothing = api(&server, "GET", &format!("{path}/nessuna"), Some(&token), None);
    assert_eq!((nothing.status, nothing.code()), (404, "PAA_ID_SESSION_NON_VALIDO".to_owned()));

    // The receipt can be exported: book, poll, download.
    let bad = json_call(
        &server,
        "POST",
        "/api/v1/orgs/c_esempio/exports",
        &token,
        &json!({"version": "9.9", "from": "2026-11-01", "to": "2026-11-30"}),
    );
    assert_eq!((bad.status, bad.code()), (400, "PAA_VERSIONE_TRACCIATO_NON_VALIDA".to_owned()));
    let bad = json_call(
        &server,
        "POST",
        "/api/v1/orgs/c_esempio/exports",
        &token,
        &json!({"from": "2026-12-01", "to": "2026-11-01"}),
    );
    assert_eq!((bad.status, bad.code()), (400, "PAA_INTERVALLO_DATE_NON_VALIDO".to_owned()));
    let booked = json_call(
        &server,
        "POST",
        "/api/v1/orgs/c_esempio/exports",
        &token,
        &json!({"version": "1.1", "from": "2020-01-01", "to": "2099-12-31"}),
    );
    assert_eq!(booked.status, 202, "{}", String::from_utf8_lossy(&booked.body));
    let id = booked.json()["id"].as_i64().unwrap();
    let export =
        poll(&server, &format!("/api/v1/orgs/c_esempio/exports/{id}"), &token, &["EXPORT_ESEGUITO", "ERROR_EXPORT"]);
    assert_eq!(export["state"], "EXPORT_ESEGUITO", "{export}");
    assert_eq!(export["rows"], 1);
    let file = api(&server, "GET", export["file"].as_str().unwrap(), Some(&token), None);
    assert_eq!(file.status, 200);
    assert_eq!(&file.body[..2], b"PK");
    let foreign = api(&server, "GET", &format!("/api/v1/orgs/c_f205/exports/{id}"), Some(&other), None);
    assert_eq!(foreign.status, 404, "another org's export");

    // The reconciliation export, the same way: the receipt is paid, not yet reported (RT_NO_IUF).
    let recon = "/api/v1/orgs/c_esempio/reconciliation-exports";
    let bad = json_call(&server, "POST", recon, &token, &json!({"version": "1.4", "labels": ["RT_NOPE"]}));
    assert_eq!((bad.status, bad.code()), (400, "INVALID_INPUT".to_owned()));
    let wrong = json_call(&server, "POST", recon, &token, &json!({"version": "2.0"}));
    assert_eq!(wrong.status, 202);
    assert_eq!(wrong.json()["state"], "VERSIONE_TRACCIATO_ERRATA");
    let body = json!({"version": "1.2", "from": "2020-01-01", "to": "2099-12-31", "labels": ["RT_NO_IUF"]});
    let booked = json_call(&server, "POST", recon, &token, &body);
    assert_eq!(booked.status, 202, "{}", String::from_utf8_lossy(&booked.body));
    assert_eq!(booked.json()["state"], "PRENOTATO");
    let id = booked.json()["id"].as_i64().unwrap();
    let done =
        poll(&server, &format!("{recon}/{id}"), &token, &["EXPORT_ESEGUITO", "ERRORE_EXPORT_FLUSSO_RICONCILIAZIONE"]);
    assert_eq!((done["state"].as_str(), done["rows"].as_i64()), (Some("EXPORT_ESEGUITO"), Some(1)), "{done}");
    assert_eq!(done["file"], format!("{recon}/{id}/file"));
    let file = api(&server, "GET", done["file"].as_str().unwrap(), Some(&token), None);
    assert_eq!((file.status, &file.body[..2]), (200, &b"PK"[..]));
    let foreign = api(&server, "GET", &format!("/api/v1/orgs/c_f205/reconciliation-exports/{id}"), Some(&other), None);
    assert_eq!(foreign.status, 404, "another org's export");
}

#[test]
fn new_debts_paid_through_a_session_are_created_with_the_sil_rules() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (_, token) = create_token(&dir, "c_esempio");
    let path = "/api/v1/orgs/c_esempio/payments";
    let item = |iud: &str| {
        let mut d = new_debt(iud);
        d.as_object_mut().unwrap().remove("generate_iuv");
        d.as_object_mut().unwrap().remove("due_date");
        d["debt_type"] = json!("CONTRIBUTO_EVENTI");
        d
    };
    let before = count(&dir, "SELECT count(*) FROM debt");

    let six: Vec<Value> = (1..=6).map(|i| item(&format!("S-{i}"))).collect();
    let refused = json_call(&server, "POST", path, &token, &json!({"debts": six}));
    assert_eq!((refused.status, refused.code()), (422, "PAA_XML_NON_VALIDO".to_owned()));
    let mut with_iuv = item("S-1");
    with_iuv["iuv"] = json!("01000000000000999");
    let refused = json_call(&server, "POST", path, &token, &json!({"debts": [with_iuv]}));
    assert_eq!((refused.status, refused.code()), (422, "PAA_IUV_NON_VALIDO".to_owned()));
    let used = json_call(&server, "POST", path, &token, &json!({"debts": [item("S-1"), item("S-1")]}));
    assert_eq!((used.status, used.code()), (422, "PAA_IUD_DUPLICATO".to_owned()));
    let mut no_causale = item("S-1");
    no_causale["causale"] = json!("");
    let refused = json_call(&server, "POST", path, &token, &json!({"debts": [no_causale]}));
    assert_eq!((refused.status, refused.code()), (422, "PAA_CAUSALE_NON_PRESENTE".to_owned()));
    let refused = json_call(&server, "POST", path, &token, &json!({"debts": [item("S-1")], "show": "FULL"}));
    assert_eq!((refused.status, refused.code()), (400, "INVALID_INPUT".to_owned()));
    assert_eq!(count(&dir, "SELECT count(*) FROM sil_session"), 0, "nothing stored");

    // A due date given is kept (the demo's TARI wants one).
    let mut tari = new_debt("S-2");
    tari.as_object_mut().unwrap().remove("generate_iuv");
    let started = json_call(
        &server,
        "POST",
        path,
        &token,
        &json!({"debts": [item("S-1"), tari], "show": "NONE", "back_url": "https://sil.example/esito"}),
    );
    assert_eq!(started.status, 201, "{}", String::from_utf8_lossy(&started.body));
    let started = started.json();
    assert_eq!(count(&dir, "SELECT count(*) FROM debt"), before, "debts are created when the payer confirms");
    let session = started["session"].as_str().unwrap();
    let back = pay_as_payer(&server, started["redirect_url"].as_str().unwrap(), "OK");
    assert!(back.starts_with(&format!("https://sil.example/esito?idSession={session}&esito=OK")), "{back}");
    let status = wait_paid(&server, &token, session);
    assert_eq!(status["state"], "PAGATO", "{status}");
    let iuds: Vec<&str> = status["items"].as_array().unwrap().iter().map(|i| i["iud"].as_str().unwrap()).collect();
    assert_eq!(iuds, ["S-1", "S-2"]);
    let debt = api(&server, "GET", &format!("{DEBTS}/S-2"), Some(&token), None).json();
    assert_eq!(debt["state"], "COMPLETATO");
    assert_eq!(debt["due_date"], "2099-03-31");
}

fn poll(server: &Server, path: &str, token: &str, done: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = api(server, "GET", path, Some(token), None).json();
        if done.iter().any(|d| v["state"] == *d) {
            return v;
        }
        assert!(Instant::now() < deadline, "still {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn zip_of(name: &str, csv: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    writer.start_file(name, options).unwrap();
    writer.write_all(csv.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_debt_flow_is_uploaded_polled_and_its_results_downloaded() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    add_milano(&dir);
    let (_, token) = create_token(&dir, "c_esempio");
    let (_, other) = create_token(&dir, "c_f205");
    let header = "IUD;codIuv;tipoIdentificativoUnivoco;codiceIdentificativoUnivoco;anagraficaPagatore;indirizzoPagatore;civicoPagatore;capPagatore;localitaPagatore;provinciaPagatore;nazionePagatore;emailPagatore;dataScadenzaPagamento;importoDovuto;commissioneCaricoPa;tipoDovuto;tipoVersamento;causaleVersamento;datiSpecificiRiscossione;azione";
    let csv = format!(
        "{header}\nAPI-F-1;;F;RSSMRA85T10A562S;Mario Rossi;;;;;;;;2099-12-31;10.00;;TARI;;Prova API;9/0101002IM/;I\n\
         API-F-2;;F;RSSMRA85T10A562S;Mario Rossi;;;;;;;;2099-12-31;abc;;TARI;;Prova API;9/0101002IM/;I\n"
    );
    let zip = zip_of("c_esempio-APIFLOW-1_1.csv", &csv);
    let path = "/api/v1/orgs/c_esempio/imports";

    let no_name = api(&server, "POST", path, Some(&token), Some(("application/zip", &zip)));
    assert_eq!((no_name.status, no_name.code()), (400, "INVALID_INPUT".to_owned()));
    assert_eq!(count(&dir, "SELECT count(*) FROM debt_import"), 0, "nothing stored");

    let sent = api(
        &server,
        "POST",
        &format!("{path}?file_name=c_esempio-APIFLOW-1_1.zip"),
        Some(&token),
        Some(("application/zip", &zip)),
    );
    assert_eq!(sent.status, 202, "{}", String::from_utf8_lossy(&sent.body));
    let id = sent.json()["id"].as_i64().unwrap();
    let import = poll(&server, &format!("{path}/{id}"), &token, &["IMPORT_ESEGUITO", "IMPORT_ABORTITO"]);
    assert_eq!(import["state"], "IMPORT_ESEGUITO", "{import}");
    assert_eq!((import["rows_loaded"].clone(), import["rows_rejected"].clone()), (json!(1), json!(1)));
    let rejects = api(&server, "GET", import["files"]["scarti"].as_str().unwrap(), Some(&token), None);
    assert_eq!(rejects.status, 200);
    assert_eq!(&rejects.body[..2], b"PK");
    let iuvs = api(&server, "GET", &format!("{path}/{id}/files/iuv"), Some(&token), None);
    assert_eq!(iuvs.status, 200);
    let none = api(&server, "GET", &format!("{path}/{id}/files/avvisi"), Some(&token), None);
    assert_eq!((none.status, none.code()), (404, "NOT_FOUND".to_owned()));
    let loaded = api(&server, "GET", &format!("{DEBTS}/API-F-1"), Some(&token), None);
    assert_eq!(loaded.json()["amount"], "10.00");

    // Another org's token sees neither this import nor its files.
    assert_eq!(api(&server, "GET", &format!("/api/v1/orgs/c_f205/imports/{id}"), Some(&other), None).status, 404);
    assert_eq!(
        api(&server, "GET", &format!("/api/v1/orgs/c_f205/imports/{id}/files/iuv"), Some(&other), None).status,
        404
    );

    // The same IUF again ends aborted with MyPay's code.
    let again = api(
        &server,
        "POST",
        &format!("{path}?file_name=c_esempio-APIFLOW-1_1.zip"),
        Some(&token),
        Some(("application/zip", &zip)),
    );
    let id = again.json()["id"].as_i64().unwrap();
    let import = poll(&server, &format!("{path}/{id}"), &token, &["IMPORT_ESEGUITO", "IMPORT_ABORTITO"]);
    assert_eq!(import["error_code"], "PAA_IMPORT_FLUSSO_DUPLICATO", "{import}");
}

#[test]
fn the_openapi_document_parses_and_every_operation_it_lists_exists() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let doc = api(&server, "GET", "/api/openapi.json", None, None);
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    let doc = doc.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{ipa}", "c_esempio").replace("{kind}", "iuv").replace('{', "x").replace('}', "");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            let answer = api(&server, &method, &concrete, None, Some(("application/json", b"{}")));
            let expected = if path == "/api/openapi.json" { 200 } else { 401 };
            assert_eq!(answer.status, expected, "{method} {path}");
            operations += 1;
        }
    }
    assert_eq!(operations, 21);
}

#[test]
fn a_debt_with_payment_options_is_created_and_read_with_them() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (_, token) = create_token(&dir, "c_esempio");
    let mut plan = new_debt("API-RATE");
    plan["amount"] = json!("300.00");
    plan["instalments"] =
        json!([{"amount": "150.00", "due_date": "2099-01-31"}, {"amount": "150.00", "due_date": "2099-02-28"}]);
    let created = json_call(&server, "POST", DEBTS, &token, &plan);
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let options = created.json()["options"].clone();
    let shape: Vec<_> = options
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert_eq!(o["notice_number"].as_str().unwrap().len(), 18);
            (
                o["kind"].as_str().unwrap(),
                o["seq"].as_i64().unwrap(),
                o["amount"].as_str().unwrap(),
                o["due_date"].as_str().unwrap(),
                o["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("UNICA", 1, "300.00", "2099-03-31", "DA_PAGARE"),
            ("RATA", 1, "150.00", "2099-01-31", "DA_PAGARE"),
            ("RATA", 2, "150.00", "2099-02-28", "DA_PAGARE")
        ]
    );
    // Read back by an instalment's IUV: the position.
    let iuv = options[2]["iuv"].as_str().unwrap();
    let read = api(&server, "GET", &format!("/api/v1/orgs/c_esempio/debts-by-iuv/{iuv}"), Some(&token), None);
    assert_eq!((read.status, read.json()["iud"].as_str()), (200, Some("API-RATE")));
    assert_eq!(read.json()["options"], options);

    // A fine: the reduced amount until a day; without the full amount it is refused.
    let mut fine = new_debt("API-CDS");
    fine["amount"] = json!("100.00");
    fine["reduced"] = json!({"amount": "70.00", "valid_until": "2099-01-05"});
    let created = json_call(&server, "POST", DEBTS, &token, &fine);
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let reduced = &created.json()["options"][1];
    assert_eq!((reduced["kind"].as_str(), reduced["amount"].as_str()), (Some("RIDOTTO"), Some("70.00")));
    let mut only = new_debt("API-ONLY");
    only["amount"] = json!(null);
    only["instalments"] = json!([{"amount": "10.00", "due_date": "2099-01-31"}]);
    only["reduced"] = json!({"amount": "5.00", "valid_until": "2099-01-05"});
    let refused = json_call(&server, "POST", DEBTS, &token, &only);
    assert_eq!(
        (refused.status, refused.code()),
        (400, "INVALID_INPUT".to_owned()),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    let text = String::from_utf8_lossy(&refused.body).into_owned();
    assert!(text.contains("a reduced amount needs the full amount (the single option) too"), "{text}");
    let bad = json_call(
        &server,
        "POST",
        DEBTS,
        &token,
        &json!({"iud": "X", "instalments": [{"amount": 10, "due_date": "2099-01-31"}]}),
    );
    assert_eq!((bad.status, bad.code()), (400, "INVALID_INPUT".to_owned()));
    assert_eq!(count(&dir, "SELECT count(*) FROM debt WHERE iud IN ('API-ONLY', 'X')"), 0);
}

/// The entries of a ZIP, by name, as text.
fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            (entry.name().to_owned(), text)
        })
        .collect()
}

#[test]
fn a_reconciliation_file_is_uploaded_polled_and_its_rejects_downloaded() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    add_milano(&dir);
    let (_, token) = create_token(&dir, "c_esempio");
    let (_, other) = create_token(&dir, "c_f205");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon/c_x999-GDC20240520-1_0.csv");
    let csv = std::fs::read_to_string(fixture).unwrap();
    let zip = zip_of("c_esempio-GDC20240520-1_0.csv", &csv);
    let path = "/api/v1/orgs/c_esempio/reconciliation-files";
    let post =
        |query: &str| api(&server, "POST", &format!("{path}{query}"), Some(&token), Some(("application/zip", &zip)));

    // Refused before anything is stored, in the API's error style.
    for (query, message) in [
        ("", "file_name is required"),
        ("?file_name=c_esempio-GDC20240520-1_0.zip&kind=E", "kind E: one of C, O, T, Y, P, D"),
        ("?file_name=c_esempio-GDC20240520-1_0.zip&columns=1,2", "columns 1,2: seven column numbers"),
        ("?file_name=c_esempio-XYZ-1_0.zip", "cannot tell the kind"),
        ("?file_name=c_esempio-GDC20240520-1_0.zip&kind=O&columns=1,2,3,4,5,6,7", "giornale di cassa CSV (C) only"),
    ] {
        let refused = post(query);
        assert_eq!((refused.status, refused.code()), (400, "INVALID_INPUT".to_owned()), "{query}");
        let text = refused.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(text.contains(message), "{query}: {text}");
    }
    assert_eq!(count(&dir, "SELECT count(*) FROM recon_upload"), 0, "nothing stored");

    let sent = post("?file_name=c_esempio-GDC20240520-1_0.zip&columns=1,2,3,4,5,6,7");
    assert_eq!(sent.status, 202, "{}", String::from_utf8_lossy(&sent.body));
    let id = sent.json()["id"].as_i64().unwrap();
    assert_eq!(sent.header("location"), Some(format!("{path}/{id}").as_str()));
    assert_eq!(sent.json()["kind"], "C");
    let upload = poll(&server, &format!("{path}/{id}"), &token, &["FILE_CARICATO", "ERROR_LOAD", "FILE_DUPLICATO"]);
    assert_eq!(upload["state"], "FILE_CARICATO", "{upload}");
    assert_eq!(
        (upload["rows_loaded"].clone(), upload["rows_rejected"].clone(), upload["warnings"].clone()),
        (json!(5), json!(1), json!(0))
    );
    assert_eq!(upload["rejects"], format!("{path}/{id}/rejects"));

    // The rejected rows: a ZIP named after the upload, holding `<name>.csv` (MyPivot's `;` rows).
    let rejects = api(&server, "GET", &format!("{path}/{id}/rejects"), Some(&token), None);
    assert_eq!(rejects.status, 200);
    assert_eq!(rejects.header("content-type"), Some("application/zip"));
    assert_eq!(
        rejects.header("content-disposition"),
        Some("attachment; filename=\"c_esempio-GDC20240520-1_0_SCARTI.zip\"")
    );
    let entries = unzip(&rejects.body);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "c_esempio-GDC20240520-1_0.csv");
    assert_eq!(entries[0].1, EXPECTED_GDC_REJECTS);

    // Another org's token sees neither the upload nor its rejects.
    assert_eq!(
        api(&server, "GET", &format!("/api/v1/orgs/c_f205/reconciliation-files/{id}"), Some(&other), None).status,
        404
    );
    let foreign =
        api(&server, "GET", &format!("/api/v1/orgs/c_f205/reconciliation-files/{id}/rejects"), Some(&other), None);
    assert_eq!((foreign.status, foreign.code()), (404, "NOT_FOUND".to_owned()));

    // The same name again: MyPivot's FILE_DUPLICATO, and no rejects.
    let again = post("?file_name=c_esempio-GDC20240520-1_0.zip&kind=c");
    let id = again.json()["id"].as_i64().unwrap();
    let upload = poll(&server, &format!("{path}/{id}"), &token, &["FILE_CARICATO", "ERROR_LOAD", "FILE_DUPLICATO"]);
    assert_eq!(upload["state"], "FILE_DUPLICATO", "{upload}");
    assert_eq!(upload["rejects"], Value::Null);
    let none = api(&server, "GET", &format!("{path}/{id}/rejects"), Some(&token), None);
    assert_eq!((none.status, none.code()), (404, "NOT_FOUND".to_owned()));
}

const EXPECTED_GDC_REJECTS: &str = "numRiga;campi;errorMessage\n\
    7;24;12060000;20/05/2024;ROSSI MARIO;VERSAMENTO;1.234,56;2024-05-20;|de_anno_bolletta [24] non valido|\
    cod_bolletta [12060000] non valido|data contabile [20/05/2024] non valida: formato atteso yyyy-MM-dd|\
    importo [1.234,56] non valido: formato atteso 1234.56\n";
