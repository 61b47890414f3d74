//! The PSP counter: a payer pays a notice at a bank or a tobacconist (`POST /sim/psp/pay`), or asks
//! for a spontaneous payment from the service catalogue (`POST /sim/psp/spontaneous`,
//! paDemandPaymentNotice) and then pays the notice the station created. JSON in, JSON out, for
//! scripts and tests.

use serde_json::{Value, json};

use super::http::Request;
use super::node_fault::NodeFault;
use super::payment::{self, ActivateArgs};
use super::payment_data;
use super::state::Sim;
use super::station_client::{self, DemandArgs};
use crate::web::Response;

fn bad_request(reason: &str) -> Response {
    Response::json(400, &json!({ "error": reason }))
}

fn body(request: &Request) -> Result<serde_json::Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("the body must be a JSON object")),
        Err(err) => Err(bad_request(&format!("invalid JSON: {err}"))),
    }
}

fn string_field<'a>(map: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a str, Response> {
    map.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request(&format!("{name} is required and must be a string")))
}

fn ko(fault: &NodeFault) -> Value {
    json!({ "outcome": "KO", "fault": fault.to_json() })
}

/// `POST /sim/psp/pay` `{"fiscalCode", "noticeNumber", "psp"?}`.
pub fn pay(sim: &Sim, request: &Request) -> Response {
    let map = match body(request) {
        Ok(map) => map,
        Err(response) => return response,
    };
    let (fiscal_code, notice_number) = match (string_field(&map, "fiscalCode"), string_field(&map, "noticeNumber")) {
        (Ok(f), Ok(n)) => (f, n),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    if fiscal_code.len() != 11 || !fiscal_code.bytes().all(|b| b.is_ascii_digit()) {
        return bad_request("fiscalCode must be 11 digits");
    }
    if notice_number.len() != 18 || !notice_number.bytes().all(|b| b.is_ascii_digit()) {
        return bad_request("noticeNumber must be 18 digits");
    }
    let psp_id = map.get("psp").and_then(Value::as_str);
    Response::json(200, &pay_notice(sim, fiscal_code, notice_number, psp_id))
}

fn pay_notice(sim: &Sim, fiscal_code: &str, notice_number: &str, psp_id: Option<&str>) -> Value {
    let Some(psp) = sim.config.psp(psp_id).cloned() else {
        return json!({ "outcome": "KO", "error": format!("unknown PSP {}", psp_id.unwrap_or_default()) });
    };
    let args = ActivateArgs { fiscal_code, notice_number, expected_amount: None, payment_note: None, postal: false };
    match payment::activate(sim, &args) {
        Err(fault) => {
            tracing::info!(target: "nodesim", notice = notice_number, code = fault.code, reason = %fault.description, "PSP payment refused");
            ko(&fault)
        }
        Ok(activation) => {
            let amount = activation.data.amount;
            let tokens = payment::pay(sim, std::slice::from_ref(&activation), &psp, None);
            let token = tokens.first().cloned().unwrap_or_default();
            let inner = sim.lock();
            let deliveries: Vec<Value> =
                inner.deliveries.iter().filter(|d| d.receipt_id == token).map(|d| d.to_json()).collect();
            json!({
                "outcome": "OK",
                "fiscalCode": fiscal_code,
                "noticeNumber": notice_number,
                "paymentToken": token,
                "amount": amount.to_decimal_string(),
                "psp": psp.id,
                "deliveries": deliveries,
            })
        }
    }
}

/// `POST /sim/psp/spontaneous` `{"fiscalCode", "idServizio", "idSoggettoServizio",
/// "datiSpecificiServizio", "psp"?}`.
pub fn spontaneous(sim: &Sim, request: &Request) -> Response {
    let map = match body(request) {
        Ok(map) => map,
        Err(response) => return response,
    };
    let mut fields = Vec::new();
    for name in ["fiscalCode", "idServizio", "idSoggettoServizio", "datiSpecificiServizio"] {
        match string_field(&map, name) {
            Ok(value) => fields.push(value),
            Err(response) => return response,
        }
    }
    let [fiscal_code, service_id, service_subject_id, service_data_xml] = fields.as_slice() else {
        return bad_request("missing fields");
    };
    if fiscal_code.len() != 11 || !fiscal_code.bytes().all(|b| b.is_ascii_digit()) {
        return bad_request("fiscalCode must be 11 digits");
    }
    if service_id.chars().count() != 5 || service_subject_id.chars().count() != 5 {
        return bad_request("idServizio and idSoggettoServizio must have exactly 5 characters");
    }
    if service_data_xml.is_empty() {
        return bad_request("datiSpecificiServizio must not be empty");
    }
    if !sim.config.orgs.is_empty() && !sim.config.orgs.iter().any(|org| org == fiscal_code) {
        let fault = NodeFault::unknown_org(format!("org {fiscal_code} is not served by the station"));
        return Response::json(200, &ko(&fault));
    }
    let call = station_client::demand_request(
        &sim.config,
        &DemandArgs { fiscal_code, service_id, service_subject_id, service_data_xml },
    );
    let demanded = sim.station.send(&call).and_then(|answer| {
        payment_data::parse_demand(&answer)
            .map_err(|reason| NodeFault::bad_response(format!("paDemandPaymentNotice: {reason}")))
    });
    let demand = match demanded {
        Ok(demand) => demand,
        Err(fault) => {
            tracing::info!(target: "nodesim", code = fault.code, reason = %fault.description, "spontaneous payment refused");
            return Response::json(200, &ko(&fault));
        }
    };
    let psp_id = map.get("psp").and_then(Value::as_str);
    let mut paid = pay_notice(sim, &demand.fiscal_code, &demand.notice_number, psp_id);
    if let Some(obj) = paid.as_object_mut() {
        obj.insert("noticeNumber".to_owned(), json!(demand.notice_number));
        obj.insert("fiscalCode".to_owned(), json!(demand.fiscal_code));
        obj.insert("paymentDescription".to_owned(), json!(demand.option.description));
    }
    Response::json(200, &paid)
}
