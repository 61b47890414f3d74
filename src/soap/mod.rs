//! The one SOAP 1.1 envelope reader and writer, shared by the station (what the pagoPA Node calls),
//! the simulator (which calls the station and answers mypay's nodeForPa calls), the SIL and the
//! upstream client (which calls a regional MyPay's SIL).
//!
//! Reading builds a small owned tree ([`Element`]) of the single payload element in the Body, with
//! namespaces resolved. It refuses what a hostile client could abuse: DTDs (so no entity
//! definitions and no billion-laughs), references to entities other than the five predefined ones,
//! nesting deeper than [`MAX_DEPTH`], more than [`MAX_ELEMENTS`] elements, more than
//! [`MAX_ATTRIBUTES`] attributes on one element or [`MAX_ATTRIBUTES_IN_DOCUMENT`] in all, and
//! oversized attribute values or texts. Its time is linear in the input, and so is its memory: the
//! strings of the tree are no bigger than the input (elements in one namespace share its URI), and
//! each element and attribute costs a fixed amount more, up to the caps. The size of a whole body
//! is the HTTP layer's limit. Writing escapes every text and attribute value; element order is the
//! caller's (the XSD sequence order).
//! **Invariant:** no other module parses or builds SOAP envelopes.

use std::fmt::Write as _;
use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::Event;

/// The SOAP 1.1 envelope namespace.
pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Deepest element nesting accepted; pagoPA payloads need about 8.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one envelope; a receipt has about 150.
pub const MAX_ELEMENTS: usize = 20_000;
/// Most attributes (namespace declarations included) on one element; pagoPA and MyPay payloads
/// carry a handful.
pub const MAX_ATTRIBUTES: usize = 64;
/// Most attributes (namespace declarations included) in one document: on average one per element
/// at the most. Each costs some 80 bytes of bookkeeping besides its text: 64 on each of 9,000
/// elements, a 4 MiB SIL request (anonymous: the password is inside it), cost 54 MB.
pub const MAX_ATTRIBUTES_IN_DOCUMENT: usize = MAX_ELEMENTS;
/// Longest attribute value accepted, in bytes (namespace URIs, `xsi:type`).
pub const MAX_ATTRIBUTE_BYTES: usize = 4 * 1024;
/// Longest text of one element, in bytes: a SIL `dovuti` is a base64 document, well under this.
pub const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;

/// The budgets of one document. Requests from strangers get [`Limits::REQUESTS`]; a reporting
/// flow, fetched by mypay itself from pagoPA over an authenticated connection, may hold tens of
/// thousands of payments and gets [`Limits::REPORTING_FLOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most elements.
    pub elements: usize,
    /// Most attributes in all.
    pub attributes: usize,
    /// Longest text of one element, in bytes.
    pub text_bytes: usize,
}

impl Limits {
    pub const REQUESTS: Limits =
        Limits { elements: MAX_ELEMENTS, attributes: MAX_ATTRIBUTES_IN_DOCUMENT, text_bytes: MAX_TEXT_BYTES };
    /// About 70,000 payments (seven elements each) in a flow, whose nodeForPa answer carries it
    /// base64-encoded in one text of at most 64 MiB, the size mypay reads of that answer.
    pub const REPORTING_FLOW: Limits = Limits { elements: 500_000, attributes: 500_000, text_bytes: 64 * 1024 * 1024 };
}

/// Why an envelope was refused. Adapters map these to their contract's syntax fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DTDs are not accepted")]
    Dtd,
    #[error("entity reference &{0}; is not allowed")]
    Entity(String),
    #[error("XML nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("XML with more elements than accepted")]
    TooManyElements,
    #[error("an XML element with more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("XML with more attributes than accepted")]
    TooManyAttributesInDocument,
    #[error("XML {0} too large")]
    TooLarge(&'static str),
    #[error("not a SOAP envelope: {0}")]
    NotEnvelope(String),
}

/// An XML element: resolved namespace, local name, attributes, text and children in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The namespace URI, `None` for unqualified elements. Shared by every element of the
    /// declaration's scope: copied into each, one long URI over 20,000 elements made 80 MB out
    /// of a 100 KB document.
    pub ns: Option<Arc<str>>,
    pub name: String,
    /// Attributes as (local name, value), namespace declarations excluded.
    pub attrs: Vec<(String, String)>,
    /// The concatenated text directly inside this element (CDATA included), unescaped.
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child with this local name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Follows a path of child names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |el, name| el.child(name))
    }

    /// The text at a path of child names.
    pub fn path_text(&self, names: &[&str]) -> Option<&str> {
        self.path(names).map(|e| e.text.as_str())
    }
}

/// Parses an XML document into its root element, in time linear in its size.
///
/// Namespaces are resolved here rather than by quick-xml's `NsReader`: its resolver keeps every
/// declaration in one list and scans it for each element, and its attribute iterator checks each
/// attribute against all earlier ones, both quadratic in what a hostile element declares (40,000
/// attributes cost seconds). Here an element may carry at most [`MAX_ATTRIBUTES`], counted before
/// any is looked at, and a prefix is found in a map.
pub fn parse_document(bytes: &[u8]) -> Result<Element, SoapError> {
    parse_document_with(bytes, Limits::REQUESTS)
}

/// [`parse_document`] within other budgets.
pub fn parse_document_with(bytes: &[u8], limits: Limits) -> Result<Element, SoapError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SoapError::Malformed("not UTF-8".to_owned()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut scopes = Scopes::default();
    let mut root: Option<Element> = None;
    let mut n_elements = 0usize;
    let mut n_attributes = 0usize;
    loop {
        let event = reader.read_event().map_err(|err| SoapError::Malformed(err.to_string()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(SoapError::Malformed("content after the root element".to_owned()));
                }
                n_elements += 1;
                if n_elements > limits.elements {
                    return Err(SoapError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::TooDeep);
                }
                let mut declared = Vec::new();
                let mut attrs = Vec::new();
                for (n, attr) in start.attributes().with_checks(false).enumerate() {
                    if n >= MAX_ATTRIBUTES {
                        return Err(SoapError::TooManyAttributes);
                    }
                    n_attributes += 1;
                    if n_attributes > limits.attributes {
                        return Err(SoapError::TooManyAttributesInDocument);
                    }
                    let attr = attr.map_err(|err| SoapError::Malformed(err.to_string()))?;
                    if attr.value.len() > MAX_ATTRIBUTE_BYTES {
                        return Err(SoapError::TooLarge("attribute value"));
                    }
                    let key = attr.key;
                    let value = attr
                        .decode_and_unescape_value(reader.decoder())
                        .map_err(|err| match err {
                            quick_xml::Error::Escape(e) => SoapError::Entity(e.to_string()),
                            other => SoapError::Malformed(other.to_string()),
                        })?
                        .into_owned();
                    let declares = if key.as_ref() == b"xmlns" {
                        Some(Vec::new())
                    } else if key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
                        Some(key.local_name().as_ref().to_vec())
                    } else {
                        None
                    };
                    let name = String::from_utf8_lossy(key.local_name().as_ref()).into_owned();
                    match declares {
                        Some(prefix) if declared.iter().any(|(p, _)| *p == prefix) => {
                            return Err(SoapError::Malformed(format!("namespace prefix {name} declared twice")));
                        }
                        Some(prefix) => declared.push((prefix, value)),
                        None if attrs.iter().any(|(n, _)| *n == name) => {
                            return Err(SoapError::Malformed(format!("duplicate attribute {name}")));
                        }
                        None => attrs.push((name, value)),
                    }
                }
                scopes.open(declared);
                let qname = start.name();
                let prefix = qname.prefix();
                let ns = scopes.resolve(prefix.as_ref().map(|p| p.as_ref()))?;
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                stack.push(Element { ns, name, attrs, text: String::new(), children: Vec::new() });
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(SoapError::Malformed("unbalanced end tag".to_owned()));
                };
                scopes.close();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let decoded = text.decode().map_err(|err| SoapError::Malformed(err.to_string()))?;
                match stack.last_mut() {
                    Some(el) => push_text(el, &decoded, limits.text_bytes)?,
                    None if decoded.trim().is_empty() => {}
                    None => return Err(SoapError::Malformed("text outside the root element".to_owned())),
                }
            }
            Event::CData(data) => {
                let decoded = data.decode().map_err(|err| SoapError::Malformed(err.to_string()))?;
                if let Some(el) = stack.last_mut() {
                    push_text(el, &decoded, limits.text_bytes)?;
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = reference.decode().map_err(|err| SoapError::Malformed(err.to_string()))?;
                        match name.as_ref() {
                            "amp" => "&".to_owned(),
                            "lt" => "<".to_owned(),
                            "gt" => ">".to_owned(),
                            "quot" => "\"".to_owned(),
                            "apos" => "'".to_owned(),
                            other => return Err(SoapError::Entity(other.to_owned())),
                        }
                    }
                    Err(err) => return Err(SoapError::Malformed(err.to_string())),
                };
                if let Some(el) = stack.last_mut() {
                    push_text(el, &resolved, limits.text_bytes)?;
                }
            }
            Event::DocType(_) => return Err(SoapError::Dtd),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Empty(_) => return Err(SoapError::Malformed("unexpected empty element".to_owned())),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(SoapError::Malformed("unexpected end of document".to_owned()));
    }
    root.ok_or_else(|| SoapError::Malformed("no root element".to_owned()))
}

fn push_text(el: &mut Element, text: &str, max: usize) -> Result<(), SoapError> {
    if el.text.len().saturating_add(text.len()) > max {
        return Err(SoapError::TooLarge("element text"));
    }
    el.text.push_str(text);
    Ok(())
}

/// The namespace declarations in scope: for each prefix (empty for the default namespace) the
/// URIs declared for it, innermost last, and for each open element the prefixes it declared.
#[derive(Default)]
struct Scopes {
    bound: std::collections::HashMap<Vec<u8>, Vec<Arc<str>>>,
    opened: Vec<Vec<Vec<u8>>>,
    /// [`XML_NS`], made once per document when an element first names the `xml` prefix.
    xml_ns: Option<Arc<str>>,
}

/// The namespace the `xml` prefix is bound to by definition.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

impl Scopes {
    fn open(&mut self, declared: Vec<(Vec<u8>, String)>) {
        let mut prefixes = Vec::with_capacity(declared.len());
        for (prefix, uri) in declared {
            self.bound.entry(prefix.clone()).or_default().push(Arc::from(uri));
            prefixes.push(prefix);
        }
        self.opened.push(prefixes);
    }

    fn close(&mut self) {
        for prefix in self.opened.pop().unwrap_or_default() {
            if let Some(uris) = self.bound.get_mut(&prefix) {
                uris.pop();
            }
        }
    }

    /// The namespace of an element with `prefix`; an empty default declaration (`xmlns=""`) means
    /// none.
    fn resolve(&mut self, prefix: Option<&[u8]>) -> Result<Option<Arc<str>>, SoapError> {
        let key = prefix.unwrap_or_default();
        if key == b"xml" {
            return Ok(Some(Arc::clone(self.xml_ns.get_or_insert_with(|| Arc::from(XML_NS)))));
        }
        match self.bound.get(key).and_then(|uris| uris.last()) {
            Some(uri) if uri.is_empty() => Ok(None),
            Some(uri) => Ok(Some(Arc::clone(uri))),
            None if prefix.is_none() => Ok(None),
            None => Err(SoapError::Malformed(format!("undeclared namespace prefix {}", String::from_utf8_lossy(key)))),
        }
    }
}

/// Parses a SOAP 1.1 envelope and returns the one payload element of its Body.
pub fn parse_envelope(bytes: &[u8]) -> Result<Element, SoapError> {
    parse_envelope_with_header(bytes).map(|(_, payload)| payload)
}

/// Parses a SOAP 1.1 envelope: its Header (when present) and the one payload element of its Body.
pub fn parse_envelope_with_header(bytes: &[u8]) -> Result<(Option<Element>, Element), SoapError> {
    envelope_of(parse_document(bytes)?)
}

/// [`parse_envelope`] within other budgets (the nodeForPa answer that carries a reporting flow).
pub fn parse_envelope_with(bytes: &[u8], limits: Limits) -> Result<Element, SoapError> {
    envelope_of(parse_document_with(bytes, limits)?).map(|(_, payload)| payload)
}

fn envelope_of(root: Element) -> Result<(Option<Element>, Element), SoapError> {
    if root.name != "Envelope" || root.ns.as_deref() != Some(ENVELOPE_NS) {
        return Err(SoapError::NotEnvelope(format!(
            "root element is {{{}}}{}",
            root.ns.unwrap_or_default(),
            root.name
        )));
    }
    let mut header = None;
    let mut body = None;
    for child in root.children {
        if child.ns.as_deref() == Some(ENVELOPE_NS) {
            match child.name.as_str() {
                "Header" => header = Some(child),
                "Body" => body = Some(child),
                _ => {}
            }
        }
    }
    let body = body.ok_or_else(|| SoapError::NotEnvelope("no Body".to_owned()))?;
    let mut payloads = body.children.into_iter();
    let payload = payloads.next().ok_or_else(|| SoapError::NotEnvelope("empty Body".to_owned()))?;
    if payloads.next().is_some() {
        return Err(SoapError::NotEnvelope("more than one element in the Body".to_owned()));
    }
    Ok((header, payload))
}

/// The first element named `local_name` (at any depth; the root included) as a standalone XML
/// document: its bytes as received, an XML declaration before them, and on its start tag the
/// namespace declarations of its ancestors that its subtree names (the default namespace always,
/// a prefix when `prefix:` occurs in it), so it reads the same on its own. `None` when there is no
/// such element. The document is first read with [`parse_document`], so its budgets apply.
pub fn standalone_element(bytes: &[u8], local_name: &str) -> Result<Option<String>, SoapError> {
    parse_document(bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|_| SoapError::Malformed("not UTF-8".to_owned()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    // Declarations of the open elements: (prefix, value as written), innermost last.
    let mut scopes: Vec<Vec<(String, String)>> = Vec::new();
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|err| SoapError::Malformed(err.to_string()))?;
        let (start, empty) = match event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(_) => {
                scopes.pop();
                continue;
            }
            Event::Eof => return Ok(None),
            _ => continue,
        };
        let mut declared = Vec::new();
        for attr in start.attributes().with_checks(false).flatten() {
            let key = attr.key;
            let prefix = if key.as_ref() == b"xmlns" {
                Some(String::new())
            } else if key.prefix().is_some_and(|p| p.as_ref() == b"xmlns") {
                Some(String::from_utf8_lossy(key.local_name().as_ref()).into_owned())
            } else {
                None
            };
            if let Some(prefix) = prefix {
                declared.push((prefix, String::from_utf8_lossy(&attr.value).replace('"', "&quot;")));
            }
        }
        if start.local_name().as_ref() != local_name.as_bytes() {
            if !empty {
                scopes.push(declared);
            }
            continue;
        }
        let qname = String::from_utf8_lossy(start.name().as_ref()).into_owned();
        let end = if empty {
            reader.buffer_position()
        } else {
            reader.read_to_end(start.name()).map_err(|err| SoapError::Malformed(err.to_string()))?;
            reader.buffer_position()
        };
        let end = usize::try_from(end).unwrap_or(usize::MAX);
        let element = text.get(at..end).ok_or_else(|| SoapError::Malformed("element out of range".to_owned()))?;
        let name_end = 1 + qname.len();
        let (head, rest) = (element.get(..name_end).unwrap_or_default(), element.get(name_end..).unwrap_or_default());
        // The innermost declaration of each prefix the element does not declare itself.
        let mut inherited: Vec<(String, String)> = Vec::new();
        for (prefix, value) in scopes.iter().rev().flatten() {
            if declared.iter().chain(&inherited).any(|(p, _)| p == prefix) {
                continue;
            }
            inherited.push((prefix.clone(), value.clone()));
        }
        let mut out = String::with_capacity(element.len() + 200);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(head);
        for (prefix, value) in inherited.iter().rev() {
            if prefix.is_empty() {
                if !value.is_empty() {
                    let _ = write!(out, " xmlns=\"{value}\"");
                }
            } else if element.contains(&format!("{prefix}:")) {
                let _ = write!(out, " xmlns:{prefix}=\"{value}\"");
            }
        }
        out.push_str(rest);
        return Ok(Some(out));
    }
}

/// Escapes text for element content and attribute values.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['<', '>', '&', '"', '\'']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A minimal XML writer: the caller writes elements in schema order; every text is escaped.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new() -> XmlWriter {
        XmlWriter { out: String::with_capacity(2048) }
    }

    /// `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>");
        self
    }

    /// `<name a="v" ...>`, with escaped attribute values.
    pub fn open_with(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        let _ = write!(self.out, "<{name}");
        for (key, value) in attrs {
            let _ = write!(self.out, " {key}=\"{}\"", escape(value));
        }
        self.out.push('>');
        self
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.out, "</{name}>");
        self
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = write!(self.out, "<{name}>{}</{name}>", escape(text));
        self
    }

    /// A leaf only when there is a value.
    pub fn leaf_opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(name, text);
        }
        self
    }

    /// Appends already-serialized XML (another writer's output).
    pub fn raw(&mut self, xml: &str) -> &mut Self {
        self.out.push_str(xml);
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Wraps `payload_xml` (one element whose prefix is `prefix`, bound to `ns`) in a SOAP 1.1 envelope
/// with an empty Header, as pagoPA's examples do.
pub fn envelope(prefix: &str, ns: &str, payload_xml: &str) -> String {
    envelope_with_header(&[(prefix, ns)], "", payload_xml)
}

/// A SOAP 1.1 envelope declaring each `(prefix, namespace)` on its root, with `header_xml` in the
/// Header (an empty Header when there is none) and `payload_xml` in the Body: the shape of a
/// request whose contract puts an element in the Header (MyPay's `intestazionePPT`).
pub fn envelope_with_header(namespaces: &[(&str, &str)], header_xml: &str, payload_xml: &str) -> String {
    let mut out =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"{ENVELOPE_NS}\"");
    for (prefix, ns) in namespaces {
        let _ = write!(out, " xmlns:{prefix}=\"{}\"", escape(ns));
    }
    out.push('>');
    if header_xml.is_empty() {
        out.push_str("<soapenv:Header/>");
    } else {
        let _ = write!(out, "<soapenv:Header>{header_xml}</soapenv:Header>");
    }
    let _ = write!(out, "<soapenv:Body>{payload_xml}</soapenv:Body></soapenv:Envelope>");
    out
}

/// A SOAP 1.1 Fault envelope, for errors below the contract (an unknown operation, a body that is
/// not SOAP at all). `code` is `Client` or `Server`.
pub fn fault_envelope(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"{ENVELOPE_NS}\"><soapenv:Body><soapenv:Fault>\
         <faultcode>soapenv:{}</faultcode><faultstring>{}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        escape(code),
        escape(message)
    )
}

/// The SOAPAction header value without the quotes some clients add.
pub fn soap_action(header: Option<&str>) -> Option<&str> {
    header.map(|h| h.trim().trim_matches('"')).filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests;
