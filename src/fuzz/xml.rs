//! The XML and SOAP envelope reader (`soap::parse_document`, `parse_envelope_with_header`): real
//! envelopes of the Node, SIL clients and reporting flows edited with XML's own tokens, random
//! trees that must read back as written, and documents sized around each cap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashSet;

use proptest::prelude::*;

use super::{MAX_EDITED, MESSAGE_SLACK, apply, config, edits, real_world, seed};
use crate::soap::{
    self, ENVELOPE_NS, Element, MAX_ATTRIBUTE_BYTES, MAX_ATTRIBUTES, MAX_ATTRIBUTES_IN_DOCUMENT, MAX_DEPTH,
    MAX_ELEMENTS, MAX_TEXT_BYTES, SoapError,
};

/// Real documents: pagoPA Node requests, SIL envelopes and payloads, reporting flows; and an
/// envelope of the project's own, so the list is never empty.
pub(crate) fn seeds() -> &'static [&'static [u8]] {
    static SEEDS: std::sync::OnceLock<Vec<&'static [u8]>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = real_world(&[
            "gpd_paSendRTReq_default_ns.xml",
            "payhub_RECEIPT_VALID_paSendRTV2.xml",
            "qi_paVerifyPaymentNotice.xml",
            "pagopaapi_ReqPaSendRT.xml",
            "mockec_paVerifyPaymentNoticeReq_avv99_unbound_prefix.xml",
            "p4pa_paGetPaymentV2_no_amount.xml",
            "gisa_paaSILImportaDovuto_envelope.xml",
            "p4pa_paaSILInviaDovuti_envelope.xml",
            "gisa_Versamento_inserisci.xml",
            "p4pa_Dovuti.xml",
            "sanp_doc_FlussoRiversamento.xml",
            "gpdmock_nodoChiediFlussoRendicontazioneRisposta.xml",
            "gpdmock_nodoChiediElencoFlussiRendicontazioneRisposta.xml",
        ]);
        seeds.push(OWN_ENVELOPE);
        seeds
    })
}

/// A paVerifyPaymentNotice envelope as the project's tests write it.
const OWN_ENVELOPE: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope \
    xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:paf=\"http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd\">\
    <soapenv:Header/><soapenv:Body><paf:paVerifyPaymentNoticeReq><idPA>01234567897</idPA><idBrokerPA>99999000013</idBrokerPA>\
    <idStation>99999000013_01</idStation><qrCode><fiscalCode>01234567897</fiscalCode><noticeNumber>301000000000000144</noticeNumber>\
    </qrCode><amount>10.00</amount></paf:paVerifyPaymentNoticeReq></soapenv:Body></soapenv:Envelope>";

/// XML's syntax, the references the reader must resolve or refuse, and the bytes that break
/// UTF-8.
pub(crate) const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"</",
    b"/>",
    b"<a>",
    b"</a>",
    b"<a/>",
    b"<p:a>",
    b"<xml:a>",
    b" a=\"1\"",
    b" a='1'",
    b" xmlns=\"urn:x\"",
    b" xmlns=\"\"",
    b" xmlns:p=\"urn:p\"",
    b" xmlns:xml=\"urn:x\"",
    b" p:a=\"1\"",
    b"=",
    b"\"",
    b"'",
    b"&amp;",
    b"&lt;",
    b"&quot;",
    b"&#233;",
    b"&#x10FFFF;",
    b"&#x110000;",
    b"&#0;",
    b"&#xD800;",
    b"&#99999999999999999999;",
    b"&lol;",
    b"&",
    b";",
    b"<![CDATA[",
    b"]]>",
    b"<![CDATA[x]]>",
    b"<!-- c -->",
    b"<!--",
    b"-->",
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    b"<?pi x?>",
    b"<!DOCTYPE a [<!ENTITY lol \"lol\">]>",
    b"<!DOCTYPE a SYSTEM \"file:///etc/passwd\">",
    b"<!ENTITY",
    b"\xEF\xBB\xBF",
    b"\0",
    b"\xFF",
    b"\xC3",
    b"\xE2\x82",
    "é".as_bytes(),
    b"\r\n",
    b"\t",
    b" ",
];

/// What a parsed tree holds, to compare with the input it came from.
#[derive(Default)]
struct Tally {
    elements: usize,
    attributes: usize,
    depth: usize,
    /// Bytes of every name, attribute, text and namespace URI; a URI shared by several elements
    /// counts once.
    bytes: usize,
    namespaces: HashSet<*const u8>,
}

fn tally(el: &Element, depth: usize, t: &mut Tally) {
    t.elements += 1;
    t.depth = t.depth.max(depth);
    assert!(el.attrs.len() <= MAX_ATTRIBUTES, "{} attributes", el.attrs.len());
    t.attributes += el.attrs.len();
    assert!(el.text.len() <= MAX_TEXT_BYTES);
    for (name, value) in &el.attrs {
        assert!(value.len() <= MAX_ATTRIBUTE_BYTES);
        t.bytes += name.len() + value.len();
    }
    if let Some(ns) = &el.ns
        && t.namespaces.insert(ns.as_ptr())
    {
        t.bytes += ns.len();
    }
    t.bytes += el.name.len() + el.text.len();
    for child in &el.children {
        tally(child, depth + 1, t);
    }
}

/// The bounds every parse must meet, whatever `input` is: a tree within the caps whose strings
/// together are no bigger than the input (unescaping only shrinks; each element costs in
/// addition a fixed `size_of::<Element>()`, at most [`MAX_ELEMENTS`] times) but for the `xml`
/// prefix's URI, which no input spells, and an error message no bigger than the input plus a
/// sentence.
fn check_bounds(input: &[u8], result: &Result<Element, SoapError>) -> Result<(), TestCaseError> {
    match result {
        Ok(root) => {
            let mut t = Tally::default();
            tally(root, 1, &mut t);
            prop_assert!(t.elements <= MAX_ELEMENTS);
            prop_assert!(t.attributes <= MAX_ATTRIBUTES_IN_DOCUMENT);
            prop_assert!(t.depth <= MAX_DEPTH);
            let xml_ns = "http://www.w3.org/XML/1998/namespace".len();
            prop_assert!(
                t.bytes <= input.len() + xml_ns,
                "{} bytes of strings from {} bytes of input",
                t.bytes,
                input.len()
            );
        }
        Err(err) => {
            let message = err.to_string();
            prop_assert!(
                message.len() <= input.len() + MESSAGE_SLACK,
                "{} bytes of message: {message:.200}",
                message.len()
            );
        }
    }
    Ok(())
}

/// An XML tree for [`generated_trees_read_back_as_written`]: texts with every character the
/// writer escapes; no attribute starts with `x`, so none is a namespace declaration.
#[derive(Debug, Clone)]
struct Node {
    prefixed: bool,
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

fn node() -> impl Strategy<Value = Node> {
    let name = "[a-zA-Z_][a-zA-Z0-9_.-]{0,8}";
    let text = "[a-z <>&\"'é;\\]\\[]{0,12}";
    let leaf = (any::<bool>(), name, proptest::collection::btree_map("[a-wyz][a-z0-9]{0,5}", text, 0..4), text)
        .prop_map(|(prefixed, name, attrs, text)| Node {
            prefixed,
            name,
            attrs: attrs.into_iter().collect(),
            text,
            children: Vec::new(),
        });
    leaf.prop_recursive(6, 64, 6, |inner| {
        (inner.clone(), proptest::collection::vec(inner, 0..6)).prop_map(|(mut parent, children)| {
            parent.children = children;
            parent
        })
    })
}

fn write(node: &Node, out: &mut String) {
    let tag = if node.prefixed { format!("p:{}", node.name) } else { node.name.clone() };
    out.push('<');
    out.push_str(&tag);
    for (name, value) in &node.attrs {
        out.push_str(&format!(" {name}=\"{}\"", soap::escape(value)));
    }
    out.push('>');
    out.push_str(&soap::escape(&node.text));
    for child in &node.children {
        write(child, out);
    }
    out.push_str(&format!("</{tag}>"));
}

/// Compares a parsed element with the node it was written from; the root declares `p` as `urn:p`
/// and the default namespace as `urn:d`.
fn same(el: &Element, node: &Node) -> Result<(), TestCaseError> {
    prop_assert_eq!(&el.name, &node.name);
    prop_assert_eq!(el.ns.as_deref(), Some(if node.prefixed { "urn:p" } else { "urn:d" }));
    prop_assert_eq!(&el.attrs, &node.attrs);
    prop_assert_eq!(&el.text, &node.text);
    prop_assert_eq!(el.children.len(), node.children.len());
    for (child, expected) in el.children.iter().zip(&node.children) {
        same(child, expected)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(10_000))]

    /// Real envelopes and documents, edited: no panic, and a tree or an error within bounds.
    #[test]
    fn edited_documents_parse_within_bounds(doc in seed(seeds()), edits in edits(TOKENS, 8)) {
        let input = apply(doc, &edits, MAX_EDITED);
        check_bounds(&input, &soap::parse_document(&input))?;
        let _ = soap::parse_envelope_with_header(&input);
    }
}

proptest! {
    #![proptest_config(config(2_000))]

    /// What the writer's escaping and any nesting produce reads back as written.
    #[test]
    fn generated_trees_read_back_as_written(root in node()) {
        let mut xml = String::new();
        write(&root, &mut xml);
        // The root's tag is `<name` or `<p:name`: the declarations go right after it.
        let at = xml.find([' ', '>']).unwrap();
        xml.insert_str(at, " xmlns=\"urn:d\" xmlns:p=\"urn:p\"");
        let parsed = soap::parse_document(xml.as_bytes());
        check_bounds(xml.as_bytes(), &parsed)?;
        same(&parsed.map_err(|e| TestCaseError::fail(e.to_string()))?, &root)?;
    }

    /// Nesting, attributes and attribute values around their caps: accepted up to the cap,
    /// refused past it with the cap's own error, wherever the excess is.
    #[test]
    fn caps_refuse_with_their_typed_error(
        depth in prop_oneof![MAX_DEPTH - 3..=MAX_DEPTH + 3, 1usize..5_000],
        attrs in prop_oneof![MAX_ATTRIBUTES - 3..=MAX_ATTRIBUTES + 3, 1usize..3_000],
        declarations in 0usize..4,
        value_len in prop_oneof![MAX_ATTRIBUTE_BYTES - 3..=MAX_ATTRIBUTE_BYTES + 3, 0usize..60_000],
        at_depth in 0usize..1_000,
    ) {
        let deep = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let expected = if depth > MAX_DEPTH { Err(SoapError::TooDeep) } else { Ok(()) };
        prop_assert_eq!(soap::parse_document(deep.as_bytes()).map(|_| ()), expected);

        // `declarations` of the attributes are namespace declarations: they count too.
        let list: String = (0..attrs)
            .map(|i| if i < declarations { format!(" xmlns:n{i}=\"urn:{i}\"") } else { format!(" a{i}=\"v\"") })
            .collect();
        let depth = 1 + at_depth % MAX_DEPTH;
        let wide = format!("{}<x{list}/>{}", "<a>".repeat(depth - 1), "</a>".repeat(depth - 1));
        let expected = if attrs > MAX_ATTRIBUTES { Err(SoapError::TooManyAttributes) } else { Ok(()) };
        prop_assert_eq!(soap::parse_document(wide.as_bytes()).map(|_| ()), expected);

        let long = format!("<x a=\"{}\"/>", "v".repeat(value_len));
        let expected =
            if value_len > MAX_ATTRIBUTE_BYTES { Err(SoapError::TooLarge("attribute value")) } else { Ok(()) };
        prop_assert_eq!(soap::parse_document(long.as_bytes()).map(|_| ()), expected);
    }
}

proptest! {
    // Each case parses up to 6,000 elements.
    #![proptest_config(config(300))]

    /// Many elements in one namespace with a long URI, declared once: the tree keeps the URI
    /// once, not once per element.
    #[test]
    fn a_namespace_is_kept_once_however_many_elements_use_it(
        elements in 1usize..3_000,
        uri_len in 1usize..=MAX_ATTRIBUTE_BYTES,
        prefixed in any::<bool>(),
    ) {
        let uri = "u".repeat(uri_len);
        let (declaration, child) = if prefixed { (format!("xmlns:p=\"{uri}\""), "<p:c/>") } else { (format!("xmlns=\"{uri}\""), "<c/>") };
        let doc = format!("<r {declaration}>{}{}</r>", child.repeat(elements), "<xml:c/>".repeat(elements));
        let parsed = soap::parse_document(doc.as_bytes());
        prop_assert!(parsed.is_ok(), "{:?}", parsed.err());
        check_bounds(doc.as_bytes(), &parsed)?;
    }
}

/// The caps too costly to cross in every case: the element count and the text size, each just
/// under and just over.
#[test]
fn element_and_text_caps_are_exact() {
    let envelope =
        |inner: &str| format!("<s:Envelope xmlns:s=\"{ENVELOPE_NS}\"><s:Body><op>{inner}</op></s:Body></s:Envelope>");
    // Envelope, Body and op are three of the elements.
    let fits = envelope(&"<e/>".repeat(MAX_ELEMENTS - 3));
    assert_eq!(soap::parse_envelope(fits.as_bytes()).unwrap().children.len(), MAX_ELEMENTS - 3);
    let over = envelope(&"<e/>".repeat(MAX_ELEMENTS - 2));
    assert_eq!(soap::parse_envelope(over.as_bytes()), Err(SoapError::TooManyElements));

    // The text arrives in pieces (text, references, CDATA): the cap counts them together.
    let half = "t".repeat(MAX_TEXT_BYTES / 2);
    let fits = format!("<x>{half}<![CDATA[{}]]>&amp;</x>", &half[1..]);
    assert_eq!(soap::parse_document(fits.as_bytes()).unwrap().text.len(), MAX_TEXT_BYTES);
    let over = format!("<x>{half}<![CDATA[{half}]]>&amp;</x>");
    assert_eq!(soap::parse_document(over.as_bytes()), Err(SoapError::TooLarge("element text")));
}
