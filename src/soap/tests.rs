//! Envelope reading and writing, including the inputs a hostile client would send.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;

const VERIFY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:paf="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd">
  <soapenv:Header/>
  <soapenv:Body>
    <paf:paVerifyPaymentNoticeReq>
      <idPA>01234567897</idPA>
      <idBrokerPA>99999000013</idBrokerPA>
      <idStation>99999000013_01</idStation>
      <qrCode><fiscalCode>01234567897</fiscalCode><noticeNumber>301000000000000144</noticeNumber></qrCode>
    </paf:paVerifyPaymentNoticeReq>
  </soapenv:Body>
</soapenv:Envelope>"#;

#[test]
fn reads_the_payload_with_namespaces() {
    let payload = parse_envelope(VERIFY.as_bytes()).unwrap();
    assert_eq!(payload.name, "paVerifyPaymentNoticeReq");
    assert_eq!(payload.ns.as_deref(), Some("http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd"));
    assert_eq!(payload.child_text("idPA"), Some("01234567897"));
    assert_eq!(payload.child("idPA").unwrap().ns, None);
    assert_eq!(payload.path_text(&["qrCode", "noticeNumber"]), Some("301000000000000144"));
}

#[test]
fn default_namespaces_and_escapes_are_resolved() {
    let xml = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><x:op xmlns:x="urn:t"><a xmlns="">a &amp; b &#233; &lt;c&gt;<![CDATA[<d>]]></a></x:op></Body></Envelope>"#;
    let payload = parse_envelope(xml.as_bytes()).unwrap();
    assert_eq!(payload.ns.as_deref(), Some("urn:t"));
    assert_eq!(payload.child_text("a"), Some("a & b é <c><d>"));
    assert_eq!(payload.child("a").unwrap().ns, None);
}

#[test]
fn refuses_dtds_entities_and_garbage() {
    let dtd = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><a>&lol;</a></soapenv:Body></soapenv:Envelope>"#;
    assert_eq!(parse_envelope(dtd.as_bytes()), Err(SoapError::Dtd));
    let entity = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><a>&lol;</a></soapenv:Body></soapenv:Envelope>"#;
    assert_eq!(parse_envelope(entity.as_bytes()), Err(SoapError::Entity("lol".to_owned())));
    let external = r#"<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>"#;
    assert_eq!(parse_document(external.as_bytes()), Err(SoapError::Dtd));
    assert!(matches!(parse_envelope(b"<a><b></a>"), Err(SoapError::Malformed(_))));
    assert!(matches!(parse_envelope(b"\xff\xfe"), Err(SoapError::Malformed(_))));
    assert!(matches!(parse_envelope(b""), Err(SoapError::Malformed(_))));
    assert!(matches!(parse_envelope(b"<a/>"), Err(SoapError::NotEnvelope(_))));
    let wrong_ns = r#"<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"><soapenv:Body><a/></soapenv:Body></soapenv:Envelope>"#;
    assert!(matches!(parse_envelope(wrong_ns.as_bytes()), Err(SoapError::NotEnvelope(_))));
    let undeclared = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><x:a/></soapenv:Body></soapenv:Envelope>"#;
    assert!(matches!(parse_envelope(undeclared.as_bytes()), Err(SoapError::Malformed(_))));
}

#[test]
fn refuses_deep_nesting() {
    let deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
    assert_eq!(parse_document(deep.as_bytes()), Err(SoapError::TooDeep));
}

#[test]
fn writer_escapes_and_wraps() {
    let mut w = XmlWriter::new();
    w.open("paf:res").leaf("outcome", "OK").leaf("description", "a<b & \"c\"").leaf_opt("none", None).close("paf:res");
    let env = envelope("paf", "urn:x", &w.finish());
    assert_eq!(
        env,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:paf=\"urn:x\"><soapenv:Header/><soapenv:Body><paf:res><outcome>OK</outcome>\
         <description>a&lt;b &amp; &quot;c&quot;</description></paf:res></soapenv:Body></soapenv:Envelope>"
    );
    let back = parse_envelope(env.as_bytes()).unwrap();
    assert_eq!(back.child_text("description"), Some("a<b & \"c\""));
}

#[test]
fn soap_action_quotes() {
    assert_eq!(soap_action(Some("\"paVerifyPaymentNotice\"")), Some("paVerifyPaymentNotice"));
    assert_eq!(soap_action(Some("paGetPayment")), Some("paGetPayment"));
    assert_eq!(soap_action(Some("\"\"")), None);
    assert_eq!(soap_action(None), None);
}

/// The hardening issue's case: one element with 40,000 attributes (or namespace declarations) is
/// refused at its 65th attribute, before any is compared with the others (it took seconds).
#[test]
fn an_element_with_too_many_attributes_is_refused() {
    for attr in ["a{i}=\"v\"", "xmlns:p{i}=\"urn:{i}\""] {
        let attrs: String = (0..40_000).map(|i| format!(" {}", attr.replace("{i}", &i.to_string()))).collect();
        let doc = format!("<s:Envelope xmlns:s=\"{ENVELOPE_NS}\"><s:Body><x{attrs}/></s:Body></s:Envelope>");
        assert_eq!(parse_envelope(doc.as_bytes()), Err(SoapError::TooManyAttributes), "{attr}");
    }
    let ok: String = (0..MAX_ATTRIBUTES).map(|i| format!(" a{i}=\"v\"")).collect();
    let doc = format!("<x{ok}/>");
    assert_eq!(parse_document(doc.as_bytes()).unwrap().attrs.len(), MAX_ATTRIBUTES);
}

#[test]
fn duplicates_and_oversized_values_are_refused() {
    assert!(matches!(parse_document(b"<x a=\"1\" a=\"2\"/>"), Err(SoapError::Malformed(m)) if m.contains("duplicate")));
    assert!(matches!(
        parse_document(b"<x xmlns:p=\"urn:a\" xmlns:p=\"urn:b\"/>"),
        Err(SoapError::Malformed(m)) if m.contains("declared twice")
    ));
    let long = format!("<x a=\"{}\"/>", "v".repeat(MAX_ATTRIBUTE_BYTES + 1));
    assert_eq!(parse_document(long.as_bytes()), Err(SoapError::TooLarge("attribute value")));
}

#[test]
fn namespace_scopes_open_and_close_with_their_elements() {
    let doc = br#"<a xmlns="urn:d" xmlns:p="urn:p1"><p:b xmlns:p="urn:p2"><c xmlns=""/></p:b><p:e xml:lang="it"/></a>"#;
    let root = parse_document(doc).unwrap();
    assert_eq!(root.ns.as_deref(), Some("urn:d"));
    let b = &root.children[0];
    assert_eq!(b.ns.as_deref(), Some("urn:p2"), "the inner declaration wins inside");
    assert_eq!(b.children[0].ns, None, "xmlns=\"\" undeclares the default namespace");
    let e = &root.children[1];
    assert_eq!(e.ns.as_deref(), Some("urn:p1"), "the outer one is back after the inner element closed");
    assert_eq!(e.attrs, [("lang".to_owned(), "it".to_owned())]);
    assert!(matches!(parse_document(b"<q:x/>"), Err(SoapError::Malformed(m)) if m.contains("undeclared")));
}

/// Found by the fuzz tests: every element of a namespace's scope carried its own copy of the URI,
/// so a 4 KiB URI declared once and 20,000 small elements in it (100 KB of XML) cost 80 MB.
/// Now they share one.
#[test]
fn elements_share_their_namespace_uri() {
    let uri = "u".repeat(MAX_ATTRIBUTE_BYTES);
    let doc = format!("<r xmlns=\"{uri}\" xmlns:p=\"{uri}\">{}{}</r>", "<c/>".repeat(3), "<p:c/><xml:c/>".repeat(3));
    let root = parse_document(doc.as_bytes()).unwrap();
    let default = root.ns.as_ref().unwrap();
    let [a, b, c, p1, x1, p2, x2, ..] = root.children.as_slice() else { panic!("{root:?}") };
    for el in [a, b, c] {
        assert!(std::sync::Arc::ptr_eq(el.ns.as_ref().unwrap(), default));
    }
    assert!(std::sync::Arc::ptr_eq(p1.ns.as_ref().unwrap(), p2.ns.as_ref().unwrap()), "one per declaration");
    assert!(std::sync::Arc::ptr_eq(x1.ns.as_ref().unwrap(), x2.ns.as_ref().unwrap()), "xml: once per document");
    assert_eq!(x1.ns.as_deref(), Some(XML_NS));
}

/// Found by measuring the fuzz tests' documents: 64 attributes on each of 9,000 elements (a
/// 4 MiB SIL request, read before its password is) cost 54 MB of bookkeeping. A document may now
/// carry as many attributes as it may carry elements, declarations included.
#[test]
fn a_document_has_at_most_as_many_attributes_as_elements() {
    let with = |attr: &str, n: usize| {
        let attrs: String = (0..MAX_ATTRIBUTES).map(|i| format!(" {}", attr.replace("{i}", &i.to_string()))).collect();
        let full = format!("<e{attrs}/>").repeat(n / MAX_ATTRIBUTES);
        let rest: String =
            (0..n % MAX_ATTRIBUTES).map(|i| format!(" {}", attr.replace("{i}", &i.to_string()))).collect();
        format!("<r>{full}<e{rest}/></r>")
    };
    for attr in ["a{i}=\"\"", "xmlns:p{i}=\"u\""] {
        let fits = parse_document(with(attr, MAX_ATTRIBUTES_IN_DOCUMENT).as_bytes());
        assert!(fits.is_ok(), "{attr}: {fits:?}");
        let over = parse_document(with(attr, MAX_ATTRIBUTES_IN_DOCUMENT + 1).as_bytes());
        assert_eq!(over, Err(SoapError::TooManyAttributesInDocument), "{attr}");
    }
}

#[test]
fn an_element_stands_alone_with_the_namespaces_it_names() {
    let envelope = r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:pafn="http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body><pafn:paSendRTV2Req><idPA>01234567897</idPA><receipt><receiptId>abc</receiptId><metadata><mapEntry><key>k</key><value xsi:nil="false">v &amp; w</value></mapEntry></metadata></receipt></pafn:paSendRTV2Req></s:Body></s:Envelope>"#;
    assert_eq!(
        standalone_element(envelope.as_bytes(), "receipt").unwrap().unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<receipt xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><receiptId>abc</receiptId><metadata><mapEntry><key>k</key><value xsi:nil=\"false\">v &amp; w</value></mapEntry></metadata></receipt>"
    );
    // A default namespace in scope goes with the element; one it resets stays reset.
    let defaulted = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><paSendRTReq xmlns="urn:pa"><receipt><receiptId>x</receiptId></receipt></paSendRTReq></Body></Envelope>"#;
    assert_eq!(
        standalone_element(defaulted.as_bytes(), "receipt").unwrap().unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<receipt xmlns=\"urn:pa\"><receiptId>x</receiptId></receipt>"
    );
    let reset = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><paSendRTReq xmlns="urn:pa"><receipt xmlns=""><receiptId>x</receiptId></receipt></paSendRTReq></Body></Envelope>"#;
    assert_eq!(
        standalone_element(reset.as_bytes(), "receipt").unwrap().unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<receipt xmlns=\"\"><receiptId>x</receiptId></receipt>"
    );
    // Each result reads on its own, in the namespace it had in the envelope.
    let alone = standalone_element(defaulted.as_bytes(), "receipt").unwrap().unwrap();
    assert_eq!(parse_document(alone.as_bytes()).unwrap().ns.as_deref(), Some("urn:pa"));
    assert_eq!(standalone_element(VERIFY.as_bytes(), "receipt").unwrap(), None);
    assert!(standalone_element(b"<a><receipt></a>", "receipt").is_err());
}
