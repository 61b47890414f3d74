//! Messages written by others, replayed against the station as the Node would send them: pagoPA's
//! own examples and test suites, its Node-log templates, a regional client
//! (`../shared/fixtures/real-world/node`, each file's origin in its SOURCE.txt). Each test writes
//! the answer a real creditor gives: verify and payment data answered when they can be, strict
//! where the answer depends on the request; every receipt stored, whatever its shape, and flagged
//! when it deviates or does not pay what was asked.

use std::path::{Path, PathBuf};

use crate::station::{call, open_debts};
use crate::support::{Reply, Server, data_dir};

const ORG: &str = "01234567897";
const BROKER: &str = "99999000013";
const STATION: &str = "99999000013_01";
const IBAN: &str = "IT60X0542811101000000123456";

/// The shared folder of real-world artefacts, when this checkout has it beside it.
fn have_fixtures() -> bool {
    let found = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real-world")).is_dir();
    if !found {
        eprintln!("skipped: the real-world messages need ../shared/fixtures/real-world");
    }
    found
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real-world/node")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A debt of the demo, for one message.
struct Debt {
    iud: String,
    notice: String,
    iuv: String,
    cents: i64,
}

/// The fixture with its placeholders filled for `debt` and receipt id `token`.
#[allow(clippy::disallowed_methods, reason = "the Node's dates are today's, as the real Node's")]
fn filled(name: &str, debt: &Debt, token: &str) -> String {
    let amount = format!("{}.{:02}", debt.cents / 100, debt.cents % 100);
    let today = jiff::Zoned::now().date();
    let tomorrow = today.tomorrow().unwrap();
    fixture(name)
        .replace("@@CF@@", ORG)
        .replace("@@BROKER@@", BROKER)
        .replace("@@STATION@@", STATION)
        .replace("@@NAV@@", &debt.notice)
        .replace("@@IUV@@", &debt.iuv)
        .replace("@@AMOUNT@@", &amount)
        .replace("@@TOKEN@@", token)
        .replace("@@IBAN@@", IBAN)
        .replace("@@PSP@@", "BCITITMM")
        .replace("@@CHANNEL@@", "00799960158_01")
        .replace("@@FEE@@", "1.00")
        .replace("@@ORGNAME@@", "Comune di Esempio")
        .replace("@@DEBTOR_CF@@", "RSSMRA85T10A562S")
        .replace("@@TODAY@@", &today.to_string())
        .replace("@@TOMORROW@@", &tomorrow.to_string())
        .replace("@@NOW@@", &format!("{today}T10:00:00"))
}

fn payload(reply: &Reply) -> mypay::testing::soap::Element {
    mypay::testing::soap::parse_envelope(reply.body.as_bytes()).unwrap_or_else(|err| panic!("{err}: {}", reply.body))
}

fn outcome(reply: &Reply) -> String {
    payload(reply).child_text("outcome").unwrap_or_default().to_owned()
}

fn fault(reply: &Reply) -> Option<String> {
    payload(reply).path_text(&["fault", "faultCode"]).map(str::to_owned)
}

fn debt_state(dir: &Path, iud: &str) -> String {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    conn.query_row("SELECT state FROM debt WHERE iud = ?1", [iud], |r| r.get(0)).unwrap()
}

/// The receipt stored for `token`: (held, its open anomaly kinds sorted).
fn stored(dir: &Path, token: &str) -> Option<(bool, Vec<String>)> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let (id, held): (i64, bool) = conn
        .query_row("SELECT id, held FROM receipt WHERE receipt_id = ?1", [token], |r| Ok((r.get(0)?, r.get(1)?)))
        .ok()?;
    let mut stmt = conn
        .prepare("SELECT kind FROM anomaly WHERE object_kind = 'receipt' AND object_id = ?1 AND state = 'open' ORDER BY kind")
        .unwrap();
    let kinds = stmt.query_map([id], |r| r.get(0)).unwrap().collect::<Result<Vec<String>, _>>().unwrap();
    Some((held, kinds))
}

/// The fields an anomaly's details name as deviating from the schema.
fn shape_fields(dir: &Path, token: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let details: String = conn
        .query_row(
            "SELECT a.details FROM anomaly a JOIN receipt r ON r.id = a.object_id \
             WHERE r.receipt_id = ?1 AND a.kind = 'RICEVUTA_NON_CONFORME'",
            [token],
            |r| r.get(0),
        )
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&details).unwrap();
    value["shape"].as_array().unwrap().iter().map(|i| i["field"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_nodes_messages_from_the_real_world_are_answered_as_a_creditor_would() {
    if !have_fixtures() {
        return;
    }
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let mut debts = open_debts(&dir)
        .into_iter()
        .map(|(iud, notice, iuv, cents)| Debt { iud, notice, iuv, cents })
        .collect::<Vec<_>>()
        .into_iter();
    let mut next = || debts.next().expect("enough open demo debts");

    // --- verify and payment data: answered when the request says what is asked ---------------
    let d = next();
    // The Node's own log template.
    let reply = call(&server, Some("paVerifyPaymentNotice"), &filled("qi_paVerifyPaymentNotice.xml", &d, ""));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(
        payload(&reply).path_text(&["paymentList", "paymentOptionDescription", "amount"]).map(str::to_owned),
        Some(format!("{}.{:02}", d.cents / 100, d.cents % 100))
    );
    // GPD's integration test: unprefixed envelope, default namespace, xmlns="" on the children.
    let reply =
        call(&server, Some("paVerifyPaymentNotice"), &filled("gpd_paVerifyPaymentNotice_default_ns.xml", &d, ""));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    // pagoPA's published example puts the request in nodeForPsp's namespace: not a paForNode
    // request, so a schema fault, as any schema-bound creditor answers.
    let reply =
        call(&server, Some("paVerifyPaymentNotice"), &filled("pagopaapi_ReqPaVerifyPayment_nodeForPsp_ns.xml", &d, ""));
    assert_eq!(fault(&reply).as_deref(), Some("PAA_SINTASSI_XSD"), "{}", reply.body);
    // The mock EC's request is not well-formed (an undeclared prefix): outside the schema.
    let broken = fixture("mockec_paVerifyPaymentNoticeReq_avv99_unbound_prefix.xml");
    let reply = call(&server, Some("paVerifyPaymentNotice"), &broken);
    assert_eq!(fault(&reply).as_deref(), Some("PAA_SINTASSI_EXTRAXSD"), "{}", reply.body);
    assert_eq!(call(&server, None, &broken).status, 400, "no SOAPAction and no readable operation");
    // The mock EC's getPayment names another creditor, broker and station: not ours.
    let reply = call(&server, Some("paGetPayment"), &fixture("mockec_paGetPaymentReq_avv1_foreign_ids.xml"));
    assert_eq!(fault(&reply).as_deref(), Some("PAA_ID_INTERMEDIARIO_ERRATO"), "{}", reply.body);
    // The official V1 example (amount 30.00: the answer is the debt's amount, whatever the Node
    // believed), the log template's V2, and PagoPA's feature test against MyPay4 without <amount>.
    for name in ["pagopaapi_ReqPaGetPayment.xml", "qi_paGetPaymentV2.xml", "p4pa_paGetPaymentV2_no_amount.xml"] {
        let action = if name.contains("V2") { "paGetPaymentV2" } else { "paGetPayment" };
        let reply = call(&server, Some(action), &filled(name, &d, ""));
        assert_eq!(outcome(&reply), "OK", "{name}: {}", reply.body);
        crate::station::assert_valid_payload(&reply.body);
    }
    assert_eq!(debt_state(&dir, &d.iud), "PAGAMENTO_INIZIATO");

    // --- receipts: never refused, stored with their bytes, flagged as they deserve ------------
    // The Node-log template: no debtor fullName, no transferCategory. It pays what was asked, so
    // it settles the debt; the deviations are an anomaly to look at.
    let token = "qi0000000000000000000000000000001";
    let reply = call(&server, Some("paSendRTV2"), &filled("qi_paSendRTV2.xml", &d, token));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(stored(&dir, token), Some((false, vec!["RICEVUTA_NON_CONFORME".to_owned()])));
    assert_eq!(
        shape_fields(&dir, token),
        ["receipt/debtor/fullName", "receipt/transferList/transfer[1]/transferCategory"]
    );
    assert_eq!(debt_state(&dir, &d.iud), "COMPLETATO");
    // The same bytes again: a replay, still OK, nothing new.
    let reply = call(&server, Some("paSendRTV2"), &filled("qi_paSendRTV2.xml", &d, token));
    assert_eq!(outcome(&reply), "OK");

    // GPD's paSendRT: conforming, but 300.00 in two transfers to one account where the station
    // asked for the debt's one transfer: stored held, the debt still payable.
    let d = next();
    let token = "gpd000000000000000000000000000001";
    let reply = call(&server, Some("paSendRT"), &filled("gpd_paSendRTReq_default_ns.xml", &d, token));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(stored(&dir, token), Some((true, vec!["RICEVUTA_DIFFORME".to_owned()])));
    assert_eq!(debt_state(&dir, &d.iud), "INSERIMENTO_DOVUTO");

    // The official paSendRT example: no transferCategory, 20.00 to us and 10.00 to another
    // creditor on placeholder IBANs: stored, held, and both anomalies.
    let d = next();
    let token = "pagopaapi0000000000000000000000001";
    let reply = call(&server, Some("paSendRT"), &filled("pagopaapi_ReqPaSendRT.xml", &d, token));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(
        stored(&dir, token),
        Some((true, vec!["RICEVUTA_DIFFORME".to_owned(), "RICEVUTA_NON_CONFORME".to_owned()]))
    );
    assert_eq!(
        shape_fields(&dir, token),
        ["receipt/transferList/transfer[1]/transferCategory", "receipt/transferList/transfer[2]/transferCategory"]
    );

    // PagoPA's feature test against MyPay4, sent with no paGetPayment before it (as after the
    // Node's stand-in): conforming, the debt's amount to the debt's creditor. With no offer on
    // record the account cannot be compared, so it settles the debt, as MyPay4 does.
    let d = next();
    let token = "p4pa00000000000000000000000000001";
    let reply = call(&server, Some("paSendRTV2"), &filled("p4pa_paSendRTV2.xml", &d, token));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(stored(&dir, token), Some((false, vec![])));
    assert_eq!(debt_state(&dir, &d.iud), "COMPLETATO");
    // The same receipt after a paGetPaymentV2 that named our account: held for an operator.
    let d = next();
    let token = "p4pa00000000000000000000000000002";
    assert_eq!(outcome(&call(&server, Some("paGetPaymentV2"), &filled("qi_paGetPaymentV2.xml", &d, ""))), "OK");
    let reply = call(&server, Some("paSendRTV2"), &filled("p4pa_paSendRTV2.xml", &d, token));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(stored(&dir, token), Some((true, vec!["RICEVUTA_DIFFORME".to_owned()])));
    assert_eq!(debt_state(&dir, &d.iud), "PAGAMENTO_INIZIATO");

    // P4PA's full V2 receipt (two creditors, idBundle, primaryCiIncurredFee, standIn): 30.00
    // split with another creditor, not what our debt asked: held.
    let d = next();
    let token = "payhub000000000000000000000000001";
    let reply = call(&server, Some("paSendRTV2"), &filled("payhub_RECEIPT_VALID_paSendRTV2.xml", &d, token));
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    assert_eq!(stored(&dir, token), Some((true, vec!["RICEVUTA_DIFFORME".to_owned()])));

    // Every receipt keeps the bytes it came with.
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM receipt_document WHERE request_xml LIKE '%paSendRT%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 6);
    drop(server);
}

/// A receipt broken in every way the shape allows still lands, and only the caller's identity
/// and the `receipt` element are required.
#[test]
fn a_receipt_missing_almost_everything_is_stored_and_flagged() {
    let (_tmp, dir) = data_dir();
    let server = Server::start(&dir, &["demo"]);
    let (iud, notice, iuv, _) = open_debts(&dir).remove(0);
    let body = format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:paf=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\"><soapenv:Body><paf:paSendRTV2Request>\
         <idPA>{ORG}</idPA><idBrokerPA>{BROKER}</idBrokerPA><idStation>{STATION}</idStation>\
         <receipt><noticeNumber>{notice}</noticeNumber><outcome>FORSE</outcome>\
         <transferList><transfer><idTransfer>9</idTransfer><transferAmount>dieci</transferAmount></transfer></transferList>\
         </receipt></paf:paSendRTV2Request></soapenv:Body></soapenv:Envelope>"
    );
    let reply = call(&server, Some("paSendRTV2"), &body);
    assert_eq!(outcome(&reply), "OK", "{}", reply.body);
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let (stored_iuv, outcome_code, held, receipt_id): (String, String, bool, String) = conn
        .query_row("SELECT iuv, outcome, held, receipt_id FROM receipt", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(stored_iuv, iuv, "attributed through the notice number");
    assert_eq!(outcome_code, "KO", "an unreadable outcome says no payment succeeded");
    assert!(!held);
    assert!(receipt_id.starts_with("SENZA-ID-"), "{receipt_id}");
    assert_eq!(debt_state(&dir, &iud), "INSERIMENTO_DOVUTO");
    let kinds: Vec<String> = conn
        .prepare("SELECT kind FROM anomaly ORDER BY kind")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kinds, ["RICEVUTA_NON_CONFORME"]);
    // The same bytes again are the same receipt.
    assert_eq!(outcome(&call(&server, Some("paSendRTV2"), &body)), "OK");
    let n: i64 = conn.query_row("SELECT count(*) FROM receipt", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
    // Without the caller's identity it is not a request to this station at all.
    let anonymous = body.replace(&format!("<idBrokerPA>{BROKER}</idBrokerPA>"), "");
    assert_eq!(fault(&call(&server, Some("paSendRTV2"), &anonymous)).as_deref(), Some("PAA_SINTASSI_XSD"));
    drop(server);
}

fn fdr_fixture(name: &str) -> String {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/real-world/fdr")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// A Node whose FdR REST API is down and whose nodeForPa lists and serves one flow: the
/// FlussoRiversamento currently in `serving`, with the Node's own answers (GPD's mock).
fn node_serving(serving: std::sync::Arc<std::sync::Mutex<String>>) -> String {
    crate::support::fake_http(move |req| {
        let flow = serving.lock().unwrap().clone();
        let doc = mypay::testing::soap::parse_document(flow.as_bytes()).unwrap();
        let iuf = doc.child_text("identificativoFlusso").unwrap().to_owned();
        let date = doc.child_text("dataOraFlusso").unwrap().to_owned();
        match req.soap_action.as_str() {
            "nodoChiediElencoFlussiRendicontazione" => (
                200,
                fdr_fixture("gpdmock_nodoChiediElencoFlussiRendicontazioneRisposta.xml")
                    .replace("@@IUF@@", &iuf)
                    .replace("@@DATAORA@@", &date),
            ),
            "nodoChiediFlussoRendicontazione" => {
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(flow.as_bytes());
                (
                    200,
                    fdr_fixture("gpdmock_nodoChiediFlussoRendicontazioneRisposta.xml").replace("@@XML_B64@@", &encoded),
                )
            }
            _ => (404, "{}".to_owned()),
        }
    })
}

/// (dataOraFlusso, total, superseded) of every stored version of the flow, in arrival order.
fn flow_versions(dir: &Path) -> Vec<(String, i64, bool)> {
    let conn = rusqlite::Connection::open(dir.join("mypay.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT flow_date, total_amount_cents, superseded_by IS NOT NULL FROM reporting_flow ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

/// pagoPA's "sovrascrittura": the same flow id with a later dataOraFlusso replaces the earlier
/// version, whichever arrives first; the earlier one is kept, superseded.
#[test]
fn a_corrected_reporting_flow_supersedes_the_earlier_one_in_either_order() {
    if !have_fixtures() {
        return;
    }
    let original = fdr_fixture("sanp_doc_FlussoRiversamento.xml").replace("@@CF@@", ORG);
    let corrected = fdr_fixture("sanp_doc_FlussoRiversamento_sovrascrittura.xml").replace("@@CF@@", ORG);
    for (first, second, label) in [(&original, &corrected, "in order"), (&corrected, &original, "late original")] {
        let (tmp, dir) = data_dir();
        let _server = Server::start(&dir, &["demo"]);
        let serving = std::sync::Arc::new(std::sync::Mutex::new(first.clone()));
        let node = node_serving(serving.clone());
        let config = tmp.path().join("fetch.toml");
        std::fs::write(
            &config,
            format!("version = 1\n[station]\nbroker_id = \"{BROKER}\"\nstation_id = \"{STATION}\"\n[node]\nbase_url = \"{node}\"\n"),
        )
        .unwrap();
        let fetch = || {
            let out = crate::support::run(
                &dir,
                &["--config", config.to_str().unwrap(), "reporting", "fetch", "--json"],
                None,
            );
            assert!(out.status.success(), "{label}: {}", crate::support::stderr(&out));
            serde_json::from_str::<serde_json::Value>(&crate::support::stdout(&out)).unwrap()
        };
        let summary = fetch();
        assert_eq!(
            (summary["stored"].as_i64(), summary["replaced"].as_i64()),
            (Some(1), Some(0)),
            "{label}: {summary}"
        );
        assert_eq!(fetch()["already_stored"], 1, "{label}: the same version again is known");
        *serving.lock().unwrap() = second.clone();
        let summary = fetch();
        assert_eq!(
            (summary["stored"].as_i64(), summary["replaced"].as_i64()),
            (Some(1), Some(1)),
            "{label}: {summary}"
        );
        let early = ("2021-11-22T00:37:32".to_owned(), 123_456, true);
        let late = ("2021-11-22T14:00:00".to_owned(), 123_450, false);
        let expected = if label == "in order" { vec![early, late] } else { vec![late, early] };
        assert_eq!(flow_versions(&dir), expected, "{label}");
    }
}
