//! The pagoPA station over loopback: every primitive, every fault code, receipts' idempotency and
//! double payments, hostile input, and schema conformance of every answer (xmllint).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::support::{Reply, Server, data_dir, post_with, run, stdout};

const PAF: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";
const ORG: &str = "01234567897";
const BROKER: &str = "99999000013";
const STATION: &str = "99999000013_01";

/// The shared specs folder, when this checkout has it beside it.
fn specs() -> Option<PathBuf> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/specs"));
    path.is_dir().then_some(path)
}

fn have_xmllint() -> bool {
    std::process::Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Validates the payload of a SOAP answer against paForNode.xsd; prints a notice and passes when
/// the specs or xmllint are not available.
pub fn assert_valid_payload(envelope: &str) {
    let (Some(specs), true) = (specs(), have_xmllint()) else {
        eprintln!("skipped: XSD validation needs ../shared/specs and xmllint");
        return;
    };
    let start = envelope.find("<soapenv:Body>").unwrap() + "<soapenv:Body>".len();
    let end = envelope.find("</soapenv:Body>").unwrap();
    let payload = &envelope[start..end];
    // The envelope declared the prefix; the extracted payload must declare it itself.
    let first_gt = payload.find('>').unwrap();
    let payload = format!("{} xmlns:paf=\"{PAF}\"{}", &payload[..first_gt], &payload[first_gt..]);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), payload).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(specs.join("pagopa/wsdl/xsd/paForNode.xsd"))
        .arg(file.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "XSD validation failed:\n{}\n{envelope}", String::from_utf8_lossy(&out.stderr));
}

pub fn envelope(payload: &str) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:paf=\"{PAF}\">\
         <soapenv:Header/><soapenv:Body>{payload}</soapenv:Body></soapenv:Envelope>"
    )
}

fn ids(id_pa: &str, broker: &str, station: &str) -> String {
    format!("<idPA>{id_pa}</idPA><idBrokerPA>{broker}</idBrokerPA><idStation>{station}</idStation>")
}

pub fn verify_req(notice: &str) -> String {
    verify_req_as(ORG, BROKER, STATION, notice)
}

fn verify_req_as(id_pa: &str, broker: &str, station: &str, notice: &str) -> String {
    envelope(&format!(
        "<paf:paVerifyPaymentNoticeReq>{}<qrCode><fiscalCode>{id_pa}</fiscalCode><noticeNumber>{notice}</noticeNumber></qrCode></paf:paVerifyPaymentNoticeReq>",
        ids(id_pa, broker, station)
    ))
}

pub fn get_payment_req(notice: &str, v2: bool) -> String {
    let element = if v2 { "paGetPaymentV2Request" } else { "paGetPaymentReq" };
    envelope(&format!(
        "<paf:{element}>{}<qrCode><fiscalCode>{ORG}</fiscalCode><noticeNumber>{notice}</noticeNumber></qrCode>\
         <paymentNote>cart-1</paymentNote><transferType>PAGOPA</transferType></paf:{element}>",
        ids(ORG, BROKER, STATION)
    ))
}

/// A paSendRT(V2) request for `notice` / `iuv` of `cents`, with receipt id `token`.
pub fn send_rt_req(notice: &str, iuv: &str, cents: i64, token: &str, v2: bool) -> String {
    let element = if v2 { "paSendRTV2Request" } else { "paSendRTReq" };
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    let note = if v2 { "<paymentNote>cart-1</paymentNote>" } else { "" };
    envelope(&format!(
        "<paf:{element}>{}<receipt><receiptId>{token}</receiptId><noticeNumber>{notice}</noticeNumber>\
         <fiscalCode>{ORG}</fiscalCode><outcome>OK</outcome><creditorReferenceId>{iuv}</creditorReferenceId>\
         <paymentAmount>{amount}</paymentAmount><description>TARI &amp; rifiuti</description>\
         <companyName>Comune di Esempio</companyName><debtor><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType>\
         <entityUniqueIdentifierValue>RSSMRA85T10A562S</entityUniqueIdentifierValue></uniqueIdentifier><fullName>Mario Rossi</fullName></debtor>\
         <transferList><transfer><idTransfer>1</idTransfer><transferAmount>{amount}</transferAmount><fiscalCodePA>{ORG}</fiscalCodePA>\
         <IBAN>IT60X0542811101000000123456</IBAN><remittanceInformation>TARI</remittanceInformation><transferCategory>0101002IM</transferCategory>\
         <metadata><mapEntry><key>k</key><value>v</value></mapEntry></metadata></transfer></transferList>\
         <idPSP>BCITITMM</idPSP><pspFiscalCode>00799960158</pspFiscalCode><PSPCompanyName>Banca di Prova</PSPCompanyName>\
         <idChannel>00799960158_01</idChannel><channelDescription>app</channelDescription>\
         <payer><uniqueIdentifier><entityUniqueIdentifierType>F</entityUniqueIdentifierType><entityUniqueIdentifierValue>BNCGLI90A41F205H</entityUniqueIdentifierValue></uniqueIdentifier><fullName>Giulia Bianchi</fullName></payer>\
         <paymentMethod>creditCard</paymentMethod>{note}<fee>1.50</fee><paymentDateTime>2026-11-30T10:15:00</paymentDateTime>\
         <applicationDate>2026-11-30</applicationDate><transferDate>2026-12-01</transferDate></receipt></paf:{element}>",
        ids(ORG, BROKER, STATION)
    ))
}

pub fn call(server: &Server, action: Option<&str>, body: &str) -> Reply {
    let mut headers = vec![];
    if let Some(action) = action {
        headers.push(("SOAPAction", action));
    }
    post_with(&server.url("/ws/fesp/"), "text/xml; charset=utf-8", body.as_bytes(), &headers)
}

fn fault_code(reply: &Reply) -> Option<String> {
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    payload.path_text(&["fault", "faultCode"]).map(str::to_owned)
}

fn outcome(reply: &Reply) -> String {
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    payload.child_text("outcome").unwrap().to_owned()
}

/// The open demo debts: (iud, notice number, iuv, amount in cents).
pub fn open_debts(dir: &Path) -> Vec<(String, String, String, i64)> {
    let out = run(dir, &["debt", "list", "--org", "c_esempio", "--json", "--limit", "100"], None);
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "INSERIMENTO_DOVUTO")
        .map(|d| {
            (
                d["iud"].as_str().unwrap().to_owned(),
                d["notice_number"].as_str().unwrap().to_owned(),
                d["iuv"].as_str().unwrap().to_owned(),
                d["amount_cents"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn debt_state(dir: &Path, iud: &str) -> String {
    let out = run(dir, &["debt", "show", "--org", "c_esempio", "--iud", iud, "--json"], None);
    let d: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    d["state"].as_str().unwrap().to_owned()
}

fn receipts(dir: &Path, iuv: &str) -> Vec<(String, Option<String>)> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT receipt_id, flag FROM receipt WHERE iuv = ?1 ORDER BY id").unwrap();
    stmt.query_map([iuv], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn count(dir: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

#[test]
fn verify_get_payment_and_receipt_of_a_notice() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (iud, notice, iuv, cents) = open_debts(&dir).remove(0);

    let reply = call(&server, Some("\"paVerifyPaymentNotice\""), &verify_req(&notice));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_valid_payload(&reply.body);
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    assert_eq!(payload.name, "paVerifyPaymentNoticeRes");
    assert_eq!(payload.ns.as_deref(), Some(PAF));
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    assert_eq!(payload.path_text(&["paymentList", "paymentOptionDescription", "amount"]), Some(amount.as_str()));
    assert_eq!(payload.path_text(&["paymentList", "paymentOptionDescription", "options"]), Some("EQ"));
    assert_eq!(payload.child_text("fiscalCodePA"), Some(ORG));
    assert_eq!(payload.child_text("companyName"), Some("Comune di Esempio"));
    assert_eq!(debt_state(&dir, &iud), "INSERIMENTO_DOVUTO", "verify changes nothing");

    for v2 in [false, true] {
        let action = if v2 { "paGetPaymentV2" } else { "paGetPayment" };
        let reply = call(&server, Some(action), &get_payment_req(&notice, v2));
        assert_eq!(outcome(&reply), "OK", "{}", reply.body);
        assert_valid_payload(&reply.body);
        let data = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
        let data = data.child("data").unwrap();
        assert_eq!(data.child_text("creditorReferenceId"), Some(iuv.as_str()));
        assert_eq!(data.child_text("paymentAmount"), Some(amount.as_str()));
        let transfer = data.path(&["transferList", "transfer"]).unwrap();
        assert_eq!(transfer.child_text("idTransfer"), Some("1"));
        assert_eq!(transfer.child_text("transferAmount"), Some(amount.as_str()));
        assert_eq!(transfer.child_text("IBAN"), Some("IT60X0542811101000000123456"));
        assert_eq!(transfer.child_text("transferCategory"), Some("0101002IM"));
        assert_eq!(transfer.child("companyName").is_some(), v2);
        // Not locked: the Node may ask again and gets the same answer.
        assert_eq!(debt_state(&dir, &iud), "PAGAMENTO_INIZIATO");
    }

    let token = "c110729d258c4ab1b765fe902aae41d6";
    let reply = call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, token, true));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_valid_payload(&reply.body);
    assert_eq!(debt_state(&dir, &iud), "COMPLETATO");
    assert_eq!(receipts(&dir, &iuv), vec![(token.to_owned(), None)]);

    // Replay: OK, nothing stored twice.
    let reply = call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, cents, token, true));
    assert_eq!(outcome(&reply), "OK");
    assert_eq!(receipts(&dir, &iuv).len(), 1);

    // Paid: verify and getPayment answer DUPLICATO.
    let reply = call(&server, Some("paVerifyPaymentNotice"), &verify_req(&notice));
    assert_eq!(fault_code(&reply).as_deref(), Some("PAA_PAGAMENTO_DUPLICATO"));
    assert_valid_payload(&reply.body);
    let reply = call(&server, Some("paGetPayment"), &get_payment_req(&notice, false));
    assert_eq!(fault_code(&reply).as_deref(), Some("PAA_PAGAMENTO_DUPLICATO"));

    // A different receipt for the paid IUV is kept and flagged as a double payment.
    let reply =
        call(&server, Some("paSendRT"), &send_rt_req(&notice, &iuv, cents, "0123456789abcdef0123456789abcdef", false));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_valid_payload(&reply.body);
    let stored = receipts(&dir, &iuv);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].1.as_deref(), Some("DOPPIO_PAGAMENTO"));

    // Every exchange is in the audit journal (read-only ones once the batch is written).
    let (clean, _) = server.terminate();
    assert!(clean);
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM audit WHERE actor = 'node'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 8, "one entry per exchange");
    let (request, response): (String, String) = conn
        .query_row(
            "SELECT p.request, p.response FROM audit a JOIN audit_payload p ON p.audit_id = a.id \
             WHERE a.action = 'paSendRTV2' ORDER BY a.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(request.contains(token) && response.contains("<outcome>OK</outcome>"));
}

#[test]
fn every_fault_code() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let debts = open_debts(&dir);
    let (_, notice, ..) = &debts[0];
    let check = |body: &str, action: &str, expected: &str| {
        let reply = call(&server, Some(action), body);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(fault_code(&reply).as_deref(), Some(expected), "{}", reply.body);
        assert_eq!(outcome(&reply), "KO");
        assert_valid_payload(&reply.body);
        reply
    };
    check(&verify_req_as(ORG, "12345678901", STATION, notice), "paVerifyPaymentNotice", "PAA_ID_INTERMEDIARIO_ERRATO");
    check(&verify_req_as(ORG, BROKER, "99999000013_02", notice), "paVerifyPaymentNotice", "PAA_STAZIONE_INT_ERRATA");
    check(&verify_req_as("02438750586", BROKER, STATION, notice), "paVerifyPaymentNotice", "PAA_ID_DOMINIO_ERRATO");
    let unknown = check(&verify_req("301000000000999982"), "paVerifyPaymentNotice", "PAA_PAGAMENTO_SCONOSCIUTO");
    assert!(
        unknown
            .body
            .contains("<faultString>Pagamento in attesa risulta sconosciuto all\u{2019}Ente Creditore</faultString>")
    );
    assert!(unknown.body.contains(&format!("<id>{ORG}</id>")));
    // A notice number with a wrong check digit names nothing of ours.
    check(&verify_req("301000000000000145"), "paVerifyPaymentNotice", "PAA_PAGAMENTO_SCONOSCIUTO");
    // The Node's Stand-In probe.
    let started = std::time::Instant::now();
    check(&verify_req("000000000000000000"), "paVerifyPaymentNotice", "PAA_PAGAMENTO_SCONOSCIUTO");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));

    // Annulled.
    let (iud, notice_annulled, ..) = &debts[1];
    assert!(run(&dir, &["debt", "annul", "--org", "c_esempio", "--iud", iud], None).status.success());
    check(&verify_req(notice_annulled), "paVerifyPaymentNotice", "PAA_PAGAMENTO_ANNULLATO");
    check(&get_payment_req(notice_annulled, true), "paGetPaymentV2", "PAA_PAGAMENTO_ANNULLATO");

    // Past a mandatory due date (TARI requires it): time passes, simulated on the stored date.
    let (iud_expired, notice_expired, iuv_expired, cents_expired) = &debts[2];
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.execute("UPDATE debt SET due_date = '2020-01-31' WHERE iud = ?1", [iud_expired]).unwrap();
    drop(conn);
    check(&verify_req(notice_expired), "paVerifyPaymentNotice", "PAA_PAGAMENTO_SCADUTO");
    check(&get_payment_req(notice_expired, false), "paGetPayment", "PAA_PAGAMENTO_SCADUTO");
    // A receipt for it is still accepted, and flagged.
    let reply = call(
        &server,
        Some("paSendRT"),
        &send_rt_req(notice_expired, iuv_expired, *cents_expired, "aaaa0000bbbb1111cccc2222dddd3333", false),
    );
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(receipts(&dir, iuv_expired)[0].1.as_deref(), Some("DOVUTO_SCADUTO"));
    // And a receipt for the annulled one too.
    let iuv_annulled = &debts[1].2;
    let reply = call(
        &server,
        Some("paSendRT"),
        &send_rt_req(notice_annulled, iuv_annulled, debts[1].3, "eeee0000bbbb1111cccc2222dddd3333", false),
    );
    assert_eq!(outcome(&reply), "OK");
    assert_eq!(receipts(&dir, iuv_annulled)[0].1.as_deref(), Some("DOVUTO_ANNULLATO"));

    // A receipt whose amount differs from its transfers is never refused: stored, held, flagged.
    let bad_sum = send_rt_req(&debts[3].1, &debts[3].2, debts[3].3, "ffff0000bbbb1111cccc2222dddd3333", false)
        .replacen("<transferAmount>", "<transferAmount>1", 1);
    let reply = call(&server, Some("paSendRT"), &bad_sum);
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(held(&dir, &debts[3].2), vec![true]);

    // Syntax.
    check(
        &verify_req(notice).replace("<idStation>", "<idStazione>").replace("</idStation>", "</idStazione>"),
        "paVerifyPaymentNotice",
        "PAA_SINTASSI_XSD",
    );
    check(&verify_req("12345"), "paVerifyPaymentNotice", "PAA_SINTASSI_XSD");
    check(&verify_req(notice).replace(PAF, "http://example.org/other"), "paVerifyPaymentNotice", "PAA_SINTASSI_XSD");
    check("<soapenv:Envelope", "paVerifyPaymentNotice", "PAA_SINTASSI_EXTRAXSD");
    let dtd = format!("<!DOCTYPE x [<!ENTITY e \"boom\">]>{}", verify_req(notice));
    check(&dtd, "paGetPayment", "PAA_SINTASSI_EXTRAXSD");
    check(&verify_req(notice).replace(ORG, "&e;"), "paVerifyPaymentNotice", "PAA_SINTASSI_EXTRAXSD");
    // Not SOAP at all and no SOAPAction: no operation to answer in, so a SOAP Fault with 400.
    let reply = call(&server, None, "hello");
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("<faultcode>soapenv:Client</faultcode>"));
    let reply = call(&server, None, &envelope("<paf:paUnknownOperation/>"));
    assert_eq!(reply.status, 400);
    // Refused on its declared length: read while sending, as the server may answer and close first.
    let big = crate::support::push_post(&server.base, "/ws/fesp/", &["Content-Type: text/xml"], 1024 * 1024 + 1);
    assert_eq!(big.status, 413, "{big:?}");
    assert_eq!(crate::support::get(&server.url("/ws/fesp/")).status, 405);
    assert_eq!(count(&dir, "receipt"), 3, "no refused request stored anything");
}

#[test]
fn concurrent_receipts_for_one_notice_make_one_payment() {
    let (_tmp, dir) = data_dir();
    let server = Arc::new(Server::start(&dir, &["demo"]));
    let (iud, notice, iuv, cents) = open_debts(&dir).remove(0);
    let body = Arc::new(send_rt_req(&notice, &iuv, cents, "1234567890abcdef1234567890abcdef", true));
    let threads: Vec<_> = (0..32)
        .map(|_| {
            let (server, body) = (Arc::clone(&server), Arc::clone(&body));
            std::thread::spawn(move || outcome(&call(&server, Some("paSendRTV2"), &body)))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "OK");
    }
    assert_eq!(receipts(&dir, &iuv).len(), 1);
    assert_eq!(debt_state(&dir, &iud), "COMPLETATO");
}

#[test]
fn spontaneous_payment_started_at_a_psp() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let data = "PGRhdGk+PC9kYXRpPg=="; // base64 of <dati></dati>
    let body = envelope(&format!(
        "<paf:paDemandPaymentNoticeRequest>{}<idServizio>00001</idServizio><idSoggettoServizio>00001</idSoggettoServizio>\
         <datiSpecificiServizioRequest>{data}</datiSpecificiServizioRequest></paf:paDemandPaymentNoticeRequest>",
        ids(ORG, BROKER, STATION)
    ));
    let reply = call(&server, Some("paDemandPaymentNotice"), &body);
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_valid_payload(&reply.body);
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    let notice = payload.path_text(&["qrCode", "noticeNumber"]).unwrap().to_owned();
    assert!(notice.starts_with("301"), "{notice}");
    assert_eq!(payload.path_text(&["paymentList", "paymentOptionDescription", "amount"]), Some("16.00"));
    // The new notice can be paid like any other.
    let reply = call(&server, Some("paGetPayment"), &get_payment_req(&notice, false));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_valid_payload(&reply.body);

    let unknown_service = body.replace("<idServizio>00001</idServizio>", "<idServizio>99999</idServizio>");
    let reply = call(&server, Some("paDemandPaymentNotice"), &unknown_service);
    assert_eq!(fault_code(&reply).as_deref(), Some("PAA_PAGAMENTO_SCONOSCIUTO"));
    assert_valid_payload(&reply.body);
    let not_base64 = body.replace(data, "***");
    assert_eq!(
        fault_code(&call(&server, Some("paDemandPaymentNotice"), &not_base64)).as_deref(),
        Some("PAA_SINTASSI_XSD")
    );
}

#[test]
fn a_digital_stamp_is_asked_for_with_get_payment_v2_only() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let out = run(
        &dir,
        &[
            "debt-type",
            "add",
            "--org",
            "c_esempio",
            "--code",
            "MARCA_BOLLO_DIGITALE",
            "--description",
            "Marca da bollo digitale",
            "--taxonomy",
            "9999999TS",
            "--spontaneous",
            "--amount",
            "16.00",
            "--allow-anonymous",
        ],
        None,
    );
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    // A file row can never be a stamp; the stamp's data make it one.
    let hash = "p6Bvy3lf5PCYcsXTN0tnKsDuoxxCuDRoS9UtY3HhrXw=";
    let mut args = vec![
        "debt",
        "add",
        "--org",
        "c_esempio",
        "--debt-type",
        "MARCA_BOLLO_DIGITALE",
        "--iud",
        "BOLLO-1",
        "--generate-iuv",
        "--debtor-id",
        "RSSMRA85T10A562S",
        "--debtor-name",
        "Mario Rossi",
        "--amount",
        "16.00",
        "--causale",
        "Marca da bollo per certificato",
        "--json",
    ];
    let refused = run(&dir, &args, None);
    assert!(crate::support::stderr(&refused).contains("PAA_IMPORT_SINTASSI_CSV_TIPO_DOVUTO_NON_VALIDO_MARCA_DA_BOLLO"));
    args.extend(["--stamp-hash", hash, "--stamp-province", "MI"]);
    let out = run(&dir, &args, None);
    let debt: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let notice = debt["notice_number"].as_str().unwrap().to_owned();

    let reply = call(&server, Some("paGetPaymentV2"), &get_payment_req(&notice, true));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_valid_payload(&reply.body);
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    let transfer = payload.path(&["data", "transferList", "transfer"]).unwrap();
    assert!(transfer.child("IBAN").is_none());
    assert_eq!(transfer.path_text(&["richiestaMarcaDaBollo", "hashDocumento"]), Some(hash));
    assert_eq!(transfer.path_text(&["richiestaMarcaDaBollo", "tipoBollo"]), Some("01"));
    assert_eq!(transfer.path_text(&["richiestaMarcaDaBollo", "provinciaResidenza"]), Some("MI"));

    let reply = call(&server, Some("paGetPayment"), &get_payment_req(&notice, false));
    assert_eq!(fault_code(&reply).as_deref(), Some("PAA_SEMANTICA"), "{}", reply.body);
    assert_valid_payload(&reply.body);
}

#[test]
fn the_postal_iban_travels_as_metadata_or_replaces_the_bank_one() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let notice = open_debts(&dir).remove(0).1;
    let reply = call(&server, Some("paGetPaymentV2"), &get_payment_req(&notice, true));
    assert_valid_payload(&reply.body);
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    let transfer = payload.path(&["data", "transferList", "transfer"]).unwrap();
    assert_eq!(transfer.child_text("IBAN"), Some("IT60X0542811101000000123456"));
    assert_eq!(transfer.path_text(&["metadata", "mapEntry", "key"]), Some("IBANAPPOGGIO"));
    assert_eq!(transfer.path_text(&["metadata", "mapEntry", "value"]), Some("IT22L0760101600000012345678"));
    let postal = get_payment_req(&notice, true)
        .replace("<transferType>PAGOPA</transferType>", "<transferType>POSTAL</transferType>");
    let reply = call(&server, Some("paGetPaymentV2"), &postal);
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    assert_eq!(payload.path_text(&["data", "transferList", "transfer", "IBAN"]), Some("IT22L0760101600000012345678"));
    // Verify tells the PSP that every transfer could go to a postal account.
    let reply = call(&server, Some("paVerifyPaymentNotice"), &verify_req(&notice));
    let payload = mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap();
    assert_eq!(payload.path_text(&["paymentList", "paymentOptionDescription", "allCCP"]), Some("true"));
}

/// The receipt of `send_rt_req` with the transfer credited to `iban` instead of the demo's account.
fn send_rt_to(notice: &str, iuv: &str, cents: i64, token: &str, iban: &str) -> String {
    send_rt_req(notice, iuv, cents, token, true).replace("IT60X0542811101000000123456", iban)
}

fn held(dir: &Path, iuv: &str) -> Vec<bool> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let mut stmt = conn.prepare("SELECT held FROM receipt WHERE iuv = ?1 ORDER BY id").unwrap();
    stmt.query_map([iuv], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Rows of the receipt export (layout 1.3, every payment date) that name `iuv`.
fn exported_rows(dir: &Path, iuv: &str) -> usize {
    let zip_path = dir.join("export-test.zip");
    let args = ["export", "--org", "c_esempio", "--from", "2000-01-01", "--to", "2099-12-31", "-o"];
    let out = run(dir, &[&args[..], &[zip_path.to_str().unwrap()]].concat(), None);
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    if stdout(&out).contains("nothing matched") {
        return 0;
    }
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut archive.by_index(0).unwrap(), &mut csv).unwrap();
    csv.lines().filter(|l| l.contains(iuv)).count()
}

fn open_anomalies(dir: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT a.kind, r.iuv FROM anomaly a JOIN receipt r ON r.id = a.object_id \
             WHERE a.object_kind = 'receipt' AND a.state = 'open' ORDER BY a.id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

/// The fraud of the hardening issue: a receipt of one cent for a 20-euro debt, or one crediting
/// another account than the one the station gave, is stored and answered OK (receipts are never
/// lost) but held: the debt stays payable, nothing reaches the SIL, the exports or the push, and an
/// org admin finds it among the anomalies, where accepting it settles the debt.
#[test]
fn a_receipt_that_does_not_pay_what_was_asked_settles_nothing() {
    let (_tmp, dir, server, mut admin) = crate::backoffice::demo_logged_in();
    let mut debts = open_debts(&dir);
    let (iud, notice, iuv, cents) = debts.remove(0);
    assert!(cents > 1);

    // One cent, with no paGetPayment before it (what a forged call would do).
    let reply =
        call(&server, Some("paSendRTV2"), &send_rt_req(&notice, &iuv, 1, "forged0000000000000000000000001", true));
    assert_eq!(outcome(&reply), "OK", "stored, so the Node does not retry: {}", reply.body);
    assert_eq!(debt_state(&dir, &iud), "INSERIMENTO_DOVUTO");
    assert_eq!(held(&dir, &iuv), vec![true]);
    assert_eq!(open_anomalies(&dir), vec![("RICEVUTA_DIFFORME".to_owned(), iuv.clone())]);
    // Still payable: verify answers OK with the debt's amount.
    assert_eq!(outcome(&call(&server, Some("paVerifyPaymentNotice"), &verify_req(&notice))), "OK");
    // Nothing reaches the SIL's or the citizen's view of payments, nor the exports.
    assert_eq!(exported_rows(&dir, &iuv), 0, "a held receipt is not exported");

    // The right amount, after paGetPayment, but credited to another account.
    let (iud2, notice2, iuv2, cents2) = debts.remove(0);
    assert_eq!(outcome(&call(&server, Some("paGetPaymentV2"), &get_payment_req(&notice2, true))), "OK");
    let other = "IT02A0301503200000003517230";
    let reply = call(
        &server,
        Some("paSendRTV2"),
        &send_rt_to(&notice2, &iuv2, cents2, "other0000000000000000000000000001", other),
    );
    assert_eq!(outcome(&reply), "OK");
    assert_eq!(debt_state(&dir, &iud2), "PAGAMENTO_INIZIATO");
    assert_eq!(held(&dir, &iuv2), vec![true]);

    // A receipt that pays what was offered settles its debt as before.
    let reply = call(
        &server,
        Some("paSendRTV2"),
        &send_rt_req(&notice2, &iuv2, cents2, "good00000000000000000000000000001", true),
    );
    assert_eq!(outcome(&reply), "OK");
    assert_eq!(debt_state(&dir, &iud2), "COMPLETATO");
    assert_eq!(held(&dir, &iuv2), vec![true, false]);

    // The back office: the dashboard counts them, the list explains them in Italian.
    let board = admin.get("/operatore/c_esempio");
    assert!(board.body.contains("Anomalie da esaminare"), "{}", board.body);
    let page = admin.get("/operatore/c_esempio/anomalie");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Ricevuta difforme da quanto richiesto"), "{}", page.body);
    assert!(page.body.contains("importo € 0,01 invece di € "), "{}", page.body);
    assert!(
        page.body.contains(&format!("accreditato su {other} invece di IT60X0542811101000000123456")),
        "{}",
        page.body
    );

    // Accepting the one-cent receipt needs a note, then settles the debt.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let anomaly: i64 = conn
        .query_row("SELECT a.id FROM anomaly a JOIN receipt r ON r.id = a.object_id WHERE r.iuv = ?1", [&iuv], |r| {
            r.get(0)
        })
        .unwrap();
    let path = format!("/operatore/c_esempio/anomalie/{anomaly}");
    let token = crate::portal::csrf(&page.body);
    let refused = admin.post(&path, &[("csrf", &token), ("esito", "accetta"), ("nota", " ")]);
    assert_eq!(refused.status, 303);
    assert_eq!(debt_state(&dir, &iud), "INSERIMENTO_DOVUTO", "no note, no decision");
    let done = admin.post(&path, &[("csrf", &token), ("esito", "accetta"), ("nota", "Importo confermato dal PSP")]);
    assert_eq!(done.status, 303);
    assert_eq!(debt_state(&dir, &iud), "COMPLETATO");
    assert_eq!(held(&dir, &iuv), vec![false]);
    assert_eq!(exported_rows(&dir, &iuv), 1, "an accepted receipt is exported");
    assert_eq!(open_anomalies(&dir), vec![("RICEVUTA_DIFFORME".to_owned(), iuv2.clone())]);
    let resolved = admin.get("/operatore/c_esempio/anomalie?risolte=1");
    assert!(resolved.body.contains("Importo confermato dal PSP"), "{}", resolved.body);
    // Resolved once: a second decision is refused.
    admin.post(&path, &[("csrf", &token), ("esito", "archivia"), ("nota", "di nuovo")]);
    assert!(!admin.get("/operatore/c_esempio/anomalie?risolte=1").body.contains("di nuovo"));

    // /metrics counts what is still open.
    let metrics = crate::support::get(&server.url("/metrics"));
    assert!(metrics.body.contains("mypay_anomalies_open{kind=\"RICEVUTA_DIFFORME\"} 1"), "{}", metrics.body);
}
