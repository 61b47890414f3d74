//! The Node's calls to the station: builds the paForNode requests (SOAP 1.1 through
//! [`crate::soap`], SOAPAction = operation name, unqualified children in XSD order), sends them
//! with the Node's timeouts and classifies what comes back the way the Node does (pagopa.md §1.2,
//! §1.9): no connection → `_IRRAGGIUNGIBILE`, no answer in time → `_TIMEOUT`, anything that is not
//! the expected response element with a coherent outcome → `_ERRORE_RESPONSE`, a valid `KO` →
//! `PPT_ERRORE_EMESSO_DA_PAA`.

use std::io::ErrorKind;
use std::time::Duration;

use super::config::{PrimitiveVersion, SimConfig};
use super::node_fault::{NodeFault, PaaFault};
use crate::domain::Cents;
use crate::soap::{self, Element, XmlWriter};

/// The namespace of the paForNode payloads.
pub const PA_NS: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";

/// Largest answer read from the station; a receipt acknowledgement is a few hundred bytes.
const MAX_ANSWER_BYTES: u64 = 4 * 1024 * 1024;

/// An outbound paForNode call, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapCall {
    /// The operation name, sent as SOAPAction.
    pub action: &'static str,
    /// The whole envelope.
    pub envelope: String,
    /// The response element the contract promises.
    pub response: &'static str,
}

fn call(action: &'static str, response: &'static str, payload: String) -> SoapCall {
    SoapCall { action, envelope: soap::envelope("paf", PA_NS, &payload), response }
}

fn header(w: &mut XmlWriter, config: &SimConfig, id_pa: &str) {
    w.leaf("idPA", id_pa).leaf("idBrokerPA", &config.broker_id).leaf("idStation", &config.station_id);
}

fn qr_code(w: &mut XmlWriter, fiscal_code: &str, notice_number: &str) {
    w.open("qrCode").leaf("fiscalCode", fiscal_code).leaf("noticeNumber", notice_number).close("qrCode");
}

/// paVerifyPaymentNotice for one notice.
pub fn verify_request(config: &SimConfig, fiscal_code: &str, notice_number: &str) -> SoapCall {
    let mut w = XmlWriter::new();
    w.open("paf:paVerifyPaymentNoticeReq");
    header(&mut w, config, fiscal_code);
    qr_code(&mut w, fiscal_code, notice_number);
    w.close("paf:paVerifyPaymentNoticeReq");
    call("paVerifyPaymentNotice", "paVerifyPaymentNoticeRes", w.finish())
}

/// What the Node asks in an activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetPaymentArgs<'a> {
    pub fiscal_code: &'a str,
    pub notice_number: &'a str,
    pub amount: Cents,
    /// The Checkout cart's idCart.
    pub payment_note: Option<&'a str>,
    /// `transferType=POSTAL` (cart `allCCP`).
    pub postal: bool,
}

/// paGetPayment or paGetPaymentV2, per the configured primitive version.
pub fn get_payment_request(config: &SimConfig, args: &GetPaymentArgs<'_>) -> SoapCall {
    let (action, element, response) = match config.primitive_version {
        PrimitiveVersion::V1 => ("paGetPayment", "paf:paGetPaymentReq", "paGetPaymentRes"),
        PrimitiveVersion::V2 => ("paGetPaymentV2", "paf:paGetPaymentV2Request", "paGetPaymentV2Response"),
    };
    let mut w = XmlWriter::new();
    w.open(element);
    header(&mut w, config, args.fiscal_code);
    qr_code(&mut w, args.fiscal_code, args.notice_number);
    w.leaf("amount", &args.amount.to_decimal_string())
        .leaf_opt("paymentNote", args.payment_note)
        .leaf_opt("transferType", args.postal.then_some("POSTAL"))
        .close(element);
    call(action, response, w.finish())
}

/// What a payer asks for a spontaneous payment (service catalogue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandArgs<'a> {
    pub fiscal_code: &'a str,
    pub service_id: &'a str,
    pub service_subject_id: &'a str,
    /// The service-specific XML, sent base64-encoded.
    pub service_data_xml: &'a str,
}

/// paDemandPaymentNotice.
pub fn demand_request(config: &SimConfig, args: &DemandArgs<'_>) -> SoapCall {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(args.service_data_xml.as_bytes());
    let mut w = XmlWriter::new();
    w.open("paf:paDemandPaymentNoticeRequest");
    header(&mut w, config, args.fiscal_code);
    w.leaf("idServizio", args.service_id)
        .leaf("idSoggettoServizio", args.service_subject_id)
        .leaf("datiSpecificiServizioRequest", &encoded)
        .close("paf:paDemandPaymentNoticeRequest");
    call("paDemandPaymentNotice", "paDemandPaymentNoticeResponse", w.finish())
}

/// paSendRT or paSendRTV2 around an already-written `receipt` element.
pub fn send_rt_request(config: &SimConfig, id_pa: &str, receipt_xml: &str) -> SoapCall {
    let (action, element, response) = match config.primitive_version {
        PrimitiveVersion::V1 => ("paSendRT", "paf:paSendRTReq", "paSendRTRes"),
        PrimitiveVersion::V2 => ("paSendRTV2", "paf:paSendRTV2Request", "paSendRTV2Response"),
    };
    let mut w = XmlWriter::new();
    w.open(element);
    header(&mut w, config, id_pa);
    w.raw(receipt_xml).close(element);
    call(action, response, w.finish())
}

/// Sends calls to one station with the Node's timeouts.
pub struct StationClient {
    url: String,
    request_agent: ureq::Agent,
    send_rt_agent: ureq::Agent,
}

impl StationClient {
    pub fn new(config: &SimConfig) -> StationClient {
        StationClient {
            url: config.station_url.clone(),
            request_agent: agent(config.request_timeout),
            send_rt_agent: agent(config.send_rt_timeout),
        }
    }

    /// Sends `call` and returns the OK payload, or the fault the Node reports for it.
    pub fn send(&self, call: &SoapCall) -> Result<Element, NodeFault> {
        let agent = if call.action.starts_with("paSendRT") { &self.send_rt_agent } else { &self.request_agent };
        let result = agent
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", call.action)
            .send(call.envelope.as_bytes());
        let mut response = result.map_err(|err| transport_fault(call.action, &err))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|err| transport_fault(call.action, &err))?;
        if status != 200 {
            return Err(NodeFault::bad_response(format!("{}: the station answered HTTP {status}", call.action)));
        }
        let payload =
            soap::parse_envelope(&body).map_err(|err| NodeFault::bad_response(format!("{}: {err}", call.action)))?;
        if payload.name != call.response || payload.ns.as_deref() != Some(PA_NS) {
            return Err(NodeFault::bad_response(format!(
                "{}: expected {{{PA_NS}}}{}, got {{{}}}{}",
                call.action,
                call.response,
                payload.ns.as_deref().unwrap_or_default(),
                payload.name
            )));
        }
        split_outcome(payload).map_err(|fault| match fault {
            Outcome::Fault(paa) => NodeFault::from_paa(paa),
            Outcome::Invalid(reason) => NodeFault::bad_response(format!("{}: {reason}", call.action)),
        })
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// Why a response is not an OK.
enum Outcome {
    Fault(PaaFault),
    Invalid(String),
}

/// `outcome=OK` without fault → the payload; `outcome=KO` with a complete fault → that fault;
/// anything else (KO without fault, OK with fault, another outcome) is an invalid response.
fn split_outcome(payload: Element) -> Result<Element, Outcome> {
    let fault = payload.child("fault");
    match (payload.child_text("outcome"), fault) {
        (Some("OK"), None) => Ok(payload),
        (Some("OK"), Some(_)) => Err(Outcome::Invalid("outcome OK with a fault".to_owned())),
        (Some("KO"), None) => Err(Outcome::Invalid("outcome KO without a fault".to_owned())),
        (Some("KO"), Some(fault)) => {
            let field = |name: &str| fault.child_text(name).filter(|t| !t.is_empty()).map(str::to_owned);
            match (field("faultCode"), field("faultString"), field("id")) {
                (Some(code), Some(string), Some(id)) => {
                    Err(Outcome::Fault(PaaFault { code, string, id, description: field("description") }))
                }
                _ => Err(Outcome::Invalid("fault without faultCode, faultString or id".to_owned())),
            }
        }
        (other, _) => Err(Outcome::Invalid(format!("outcome {other:?} is neither OK nor KO"))),
    }
}

/// Maps a transport error to the Node's code: refused or unresolvable → unreachable; timeouts →
/// timeout; a connection dropped mid-answer → invalid response.
fn transport_fault(action: &str, err: &ureq::Error) -> NodeFault {
    let description = format!("{action}: {err}");
    match err {
        ureq::Error::Timeout(_) => NodeFault::timeout(description),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::BadUri(_) => {
            NodeFault::unreachable(description)
        }
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => NodeFault::timeout(description),
            ErrorKind::ConnectionRefused
            | ErrorKind::NotConnected
            | ErrorKind::AddrNotAvailable
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable => NodeFault::unreachable(description),
            _ => NodeFault::bad_response(description),
        },
        _ => NodeFault::bad_response(description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig::new("http://127.0.0.1:1/ws/fesp/", "99999000013", "99999000013_01")
    }

    #[test]
    fn verify_request_has_the_xsd_shape() {
        let call = verify_request(&config(), "01234567897", "301000000000000144");
        assert_eq!(call.action, "paVerifyPaymentNotice");
        let payload = soap::parse_envelope(call.envelope.as_bytes()).unwrap();
        assert_eq!(payload.name, "paVerifyPaymentNoticeReq");
        assert_eq!(payload.ns.as_deref(), Some(PA_NS));
        let names: Vec<&str> = payload.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["idPA", "idBrokerPA", "idStation", "qrCode"]);
        assert_eq!(payload.path_text(&["qrCode", "noticeNumber"]), Some("301000000000000144"));
    }

    #[test]
    fn get_payment_follows_the_primitive_version() {
        let mut config = config();
        let args = GetPaymentArgs {
            fiscal_code: "01234567897",
            notice_number: "301000000000000144",
            amount: Cents::new(3000),
            payment_note: Some("cart-1"),
            postal: true,
        };
        let v2 = get_payment_request(&config, &args);
        assert_eq!((v2.action, v2.response), ("paGetPaymentV2", "paGetPaymentV2Response"));
        let payload = soap::parse_envelope(v2.envelope.as_bytes()).unwrap();
        assert_eq!(payload.name, "paGetPaymentV2Request");
        assert_eq!(payload.child_text("amount"), Some("30.00"));
        assert_eq!(payload.child_text("paymentNote"), Some("cart-1"));
        assert_eq!(payload.child_text("transferType"), Some("POSTAL"));
        config.primitive_version = PrimitiveVersion::V1;
        let v1 = get_payment_request(&config, &GetPaymentArgs { payment_note: None, postal: false, ..args });
        let payload = soap::parse_envelope(v1.envelope.as_bytes()).unwrap();
        assert_eq!(payload.name, "paGetPaymentReq");
        assert!(payload.child("paymentNote").is_none() && payload.child("transferType").is_none());
    }

    #[test]
    fn demand_encodes_the_service_data() {
        let call = demand_request(
            &config(),
            &DemandArgs {
                fiscal_code: "01234567897",
                service_id: "00001",
                service_subject_id: "00002",
                service_data_xml: "<a>1</a>",
            },
        );
        let payload = soap::parse_envelope(call.envelope.as_bytes()).unwrap();
        assert_eq!(payload.child_text("datiSpecificiServizioRequest"), Some("PGE+MTwvYT4="));
    }

    fn answer(body: &str) -> Element {
        soap::parse_envelope(soap::envelope("paf", PA_NS, body).as_bytes()).unwrap()
    }

    #[test]
    fn outcomes_are_classified_like_the_node() {
        assert!(split_outcome(answer("<paf:r><outcome>OK</outcome></paf:r>")).is_ok());
        let ko = "<paf:r><outcome>KO</outcome><fault><faultCode>PAA_PAGAMENTO_SCONOSCIUTO</faultCode>\
                  <faultString>x</faultString><id>01234567897</id></fault></paf:r>";
        assert!(matches!(split_outcome(answer(ko)), Err(Outcome::Fault(f)) if f.code == "PAA_PAGAMENTO_SCONOSCIUTO"));
        assert!(matches!(split_outcome(answer("<paf:r><outcome>KO</outcome></paf:r>")), Err(Outcome::Invalid(_))));
        let ok_fault = "<paf:r><outcome>OK</outcome><fault><faultCode>A</faultCode></fault></paf:r>";
        assert!(matches!(split_outcome(answer(ok_fault)), Err(Outcome::Invalid(_))));
        let partial = "<paf:r><outcome>KO</outcome><fault><faultCode>A</faultCode></fault></paf:r>";
        assert!(matches!(split_outcome(answer(partial)), Err(Outcome::Invalid(_))));
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let client = StationClient::new(&config());
        let fault = client.send(&verify_request(&config(), "01234567897", "301000000000000144")).unwrap_err();
        assert_eq!(fault.code, "PPT_STAZIONE_INT_PA_IRRAGGIUNGIBILE", "{fault:?}");
    }
}
