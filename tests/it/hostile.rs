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
