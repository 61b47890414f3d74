//! nodeForPa, the legacy SOAP service an org's intermediary calls on the Node to fetch reporting
//! flows (nodeForPa.xsd, pagopa.md §4.4 A): `nodoChiediElencoFlussiRendicontazione` (the list)
//! and `nodoChiediFlussoRendicontazione` (one flow, base64). Served at
//! [`super::router::NODE_FOR_PA_PATH`]. The caller is authenticated by broker, station and
//! station password; problems are answered in-band with a `fault` (HTTP 200), like the Node.

use base64::Engine as _;

use super::fdr::Flow;
use super::http::Request;
use super::node_fault::NodeFault;
use super::state::Sim;
use crate::soap::{self, Element, XmlWriter};
use crate::web::Response;

/// The nodeForPa namespace.
pub const NODE_NS: &str = "http://ws.pagamenti.telematici.gov/";

/// `POST /nodo-auth/node-for-pa/v1`.
pub fn handle(sim: &Sim, request: &Request) -> Response {
    let payload = match soap::parse_envelope(&request.body) {
        Ok(payload) => payload,
        Err(err) => return soap_fault(&format!("invalid SOAP request: {err}")),
    };
    if payload.ns.as_deref() != Some(NODE_NS) {
        return soap_fault(&format!(
            "unknown operation {{{}}}{}",
            payload.ns.as_deref().unwrap_or_default(),
            payload.name
        ));
    }
    let action = soap::soap_action(request.header("soapaction"));
    if action.is_some_and(|a| a != payload.name) {
        let fault = NodeFault {
            code: "PPT_SOAPACTION_ERRATA",
            string: "SOAPAction errata",
            description: format!("SOAPAction {} does not match {}", action.unwrap_or_default(), payload.name),
            original: None,
        };
        return answer(&format!("{}Risposta", payload.name), Err(fault));
    }
    match payload.name.as_str() {
        "nodoChiediElencoFlussiRendicontazione" => {
            let result = authenticate(sim, &payload).map(|()| list(sim, &payload));
            answer("nodoChiediElencoFlussiRendicontazioneRisposta", result)
        }
        "nodoChiediFlussoRendicontazione" => {
            let result = authenticate(sim, &payload).and_then(|()| one(sim, &payload));
            answer("nodoChiediFlussoRendicontazioneRisposta", result)
        }
        other => soap_fault(&format!("unknown operation {other}")),
    }
}

fn soap_fault(message: &str) -> Response {
    Response::text(500, "text/xml; charset=utf-8", soap::fault_envelope("Client", message))
}

/// The station the Node knows: broker, station and password must all match.
fn authenticate(sim: &Sim, payload: &Element) -> Result<(), NodeFault> {
    let config = &sim.config;
    let broker = payload.child_text("identificativoIntermediarioPA").unwrap_or_default();
    if broker != config.broker_id {
        return Err(NodeFault::unknown_broker(format!("broker {broker:?} is not known")));
    }
    let station = payload.child_text("identificativoStazioneIntermediarioPA").unwrap_or_default();
    if station != config.station_id {
        return Err(NodeFault::unknown_station(format!("station {station:?} is not known")));
    }
    let password = payload.child_text("password").unwrap_or_default();
    if !config.station_password.is_empty() && password != config.station_password {
        return Err(NodeFault::authentication("wrong station password"));
    }
    let unserved = |org: &&str| !config.orgs.is_empty() && !config.orgs.iter().any(|o| o == org);
    if let Some(org) = payload.child_text("identificativoDominio").filter(unserved) {
        return Err(NodeFault::unknown_org(format!("org {org} is not served by the station")));
    }
    Ok(())
}

fn matches(flow: &Flow, payload: &Element) -> bool {
    payload.child_text("identificativoDominio").is_none_or(|org| flow.org_fiscal_code == org)
        && payload.child_text("identificativoPSP").is_none_or(|psp| flow.psp.id == psp)
}

/// `elencoFlussiRendicontazione`.
fn list(sim: &Sim, payload: &Element) -> String {
    let inner = sim.lock();
    let flows: Vec<&Flow> = inner.flows.iter().filter(|f| matches(f, payload)).collect();
    let mut w = XmlWriter::new();
    w.open("elencoFlussiRendicontazione").leaf("totRestituiti", &flows.len().to_string());
    for flow in flows {
        w.open("idRendicontazione")
            .leaf("identificativoFlusso", &flow.id)
            .leaf("dataOraFlusso", &flow.flow_date_time())
            .close("idRendicontazione");
    }
    w.close("elencoFlussiRendicontazione");
    w.finish()
}

/// `xmlRendicontazione` of the flow asked for.
fn one(sim: &Sim, payload: &Element) -> Result<String, NodeFault> {
    let id = payload.child_text("identificativoFlusso").unwrap_or_default();
    let inner = sim.lock();
    let flow = inner
        .flows
        .iter()
        .filter(|f| f.id == id && matches(f, payload))
        .max_by_key(|f| f.revision)
        .ok_or_else(|| NodeFault::unknown_flow(format!("flow {id:?} is not known")))?;
    let mut w = XmlWriter::new();
    w.leaf("xmlRendicontazione", &base64::engine::general_purpose::STANDARD.encode(flow.xml.as_bytes()));
    Ok(w.finish())
}

/// The `…Risposta` envelope: the content, or a `fault`.
fn answer(element: &str, result: Result<String, NodeFault>) -> Response {
    let tag = format!("nfp:{element}");
    let mut w = XmlWriter::new();
    w.open(&tag);
    match result {
        Ok(content) => {
            w.raw(&content);
        }
        Err(fault) => {
            tracing::info!(target: "nodesim", code = fault.code, reason = %fault.description, "nodeForPa request refused");
            fault.write_xml(&mut w);
        }
    }
    w.close(&tag);
    Response::text(200, "text/xml; charset=utf-8", soap::envelope("nfp", NODE_NS, &w.finish()))
}
