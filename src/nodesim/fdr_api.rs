//! The REST FdR API for organizations (fdr_organization.json, pagopa.md §4.4 B), under
//! `/fdr-org/service/v1`: the list of published flows of an org, one flow, and its payments, with
//! `page`/`size` pagination. Amounts are JSON numbers with exactly two decimals, written from
//! cents (never through floating point).

use jiff::Timestamp;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::fdr::Flow;
use super::http::Request;
use super::state::Sim;
use crate::clock;
use crate::domain::Cents;
use crate::web::Response;

/// Largest page the API serves (and its default).
const MAX_PAGE_SIZE: u64 = 1000;

/// A euro amount as a JSON number with two decimals (`30.00`).
fn euro(amount: Cents) -> Box<RawValue> {
    // A decimal string from `Cents` is always a valid JSON number; null is an unreachable fallback.
    RawValue::from_string(amount.to_decimal_string()).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    page_size: u64,
    page_number: u64,
    tot_page: u64,
}

#[derive(Serialize)]
struct Page<T: Serialize> {
    metadata: Metadata,
    count: u64,
    data: Vec<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    index: u64,
    iuv: String,
    iur: String,
    id_transfer: u8,
    pay: Box<RawValue>,
    pay_status: &'static str,
    pay_date: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sender {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    psp_id: String,
    psp_name: String,
    psp_broker_id: String,
    channel_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Receiver {
    id: String,
    organization_id: String,
    organization_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SingleFlow {
    status: &'static str,
    revision: u64,
    created: String,
    updated: String,
    fdr: String,
    fdr_date: String,
    regulation: String,
    regulation_date: String,
    sender: Sender,
    receiver: Receiver,
    published: String,
    computed_tot_payments: u64,
    computed_sum_payments: Box<RawValue>,
    tot_payments: u64,
    sum_payments: Box<RawValue>,
}

/// The API's ErrorResponse.
fn error(status: u16, description: &str, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({
            "errorId": super::state::random_hex32(),
            "httpStatusCode": status,
            "httpStatusDescription": description,
            "appErrorCode": code,
            "errors": [{ "message": message }],
        }),
    )
}

fn bad_request(message: &str) -> Response {
    error(400, "Bad Request", "FDR-0400", message)
}

fn not_found(message: &str) -> Response {
    error(404, "Not Found", "FDR-0404", message)
}

/// Serializes straight to text: going through `serde_json::Value` would turn `30.00` into a float.
fn to_json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => Response::text(200, "application/json", text),
        Err(err) => error(500, "Internal Server Error", "FDR-0500", &err.to_string()),
    }
}

/// `page` (from 1) and `size` (1..=1000), both defaulting like the API.
fn paging(request: &Request) -> Result<(u64, u64), Response> {
    let number = |name: &str, default: u64, max: u64| -> Result<u64, Response> {
        match request.query_param(name) {
            None => Ok(default),
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(bad_request(&format!("{name} must be an integer between 1 and {max}"))),
            },
        }
    };
    Ok((number("page", 1, u64::MAX)?, number("size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)?))
}

fn paginate<T: Serialize>(items: Vec<T>, page: u64, size: u64) -> Page<T> {
    let total = u64::try_from(items.len()).unwrap_or(u64::MAX);
    let tot_page = total.div_ceil(size).max(1);
    let skip = usize::try_from(page.saturating_sub(1).saturating_mul(size)).unwrap_or(usize::MAX);
    let data: Vec<T> = items.into_iter().skip(skip).take(usize::try_from(size).unwrap_or(usize::MAX)).collect();
    // `count` is the total number of matching elements, as the live API answers, so a client
    // can size its loop from the first page.
    Page { metadata: Metadata { page_size: size, page_number: page, tot_page }, count: total, data }
}

/// `GET /organizations/{organizationId}/fdrs?pspId&publishedGt&page&size`.
pub fn list(sim: &Sim, org: &str, request: &Request) -> Response {
    let (page, size) = match paging(request) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let published_gt = match request.query_param("publishedGt").map(|t| t.parse::<Timestamp>()) {
        None => None,
        Some(Ok(ts)) => Some(ts),
        Some(Err(_)) => return bad_request("publishedGt must be a date-time such as 2026-11-30T00:00:00Z"),
    };
    let psp = request.query_param("pspId");
    let inner = sim.lock();
    let items: Vec<Value> = inner
        .flows
        .iter()
        .filter(|f| f.org_fiscal_code == org)
        .filter(|f| psp.as_deref().is_none_or(|p| f.psp.id == p))
        .filter(|f| published_gt.is_none_or(|gt| f.created > gt))
        .map(|f| json!({ "fdr": f.id, "organizationId": f.org_fiscal_code, "revision": f.revision, "published": clock::iso(f.created) }))
        .collect();
    to_json(&paginate(items, page, size))
}

fn find<'a>(flows: &'a [Flow], org: &str, fdr: &str, revision: &str, psp: &str) -> Option<&'a Flow> {
    let revision: u64 = revision.parse().ok()?;
    flows.iter().find(|f| f.org_fiscal_code == org && f.id == fdr && f.revision == revision && f.psp.id == psp)
}

/// `GET .../fdrs/{fdr}/revisions/{revision}/psps/{pspId}`: SingleFlowResponse.
pub fn get(sim: &Sim, org: &str, fdr: &str, revision: &str, psp: &str) -> Response {
    let inner = sim.lock();
    let Some(flow) = find(&inner.flows, org, fdr, revision, psp) else {
        return not_found(&format!("flow {fdr} revision {revision} of PSP {psp} for org {org} not found"));
    };
    let count = u64::try_from(flow.payments.len()).unwrap_or(u64::MAX);
    let created = clock::iso(flow.created);
    to_json(&SingleFlow {
        status: "PUBLISHED",
        revision: flow.revision,
        created: created.clone(),
        updated: created.clone(),
        fdr: flow.id.clone(),
        fdr_date: created.clone(),
        regulation: flow.regulation_id.clone(),
        regulation_date: flow.regulation_date.to_string(),
        sender: Sender {
            kind: "BIC_CODE",
            id: flow.psp.bic.clone(),
            psp_id: flow.psp.id.clone(),
            psp_name: flow.psp.name.clone(),
            psp_broker_id: flow.psp.broker_id.clone(),
            channel_id: flow.psp.channel_id.clone(),
        },
        receiver: Receiver {
            id: flow.org_fiscal_code.clone(),
            organization_id: flow.org_fiscal_code.clone(),
            organization_name: flow.org_name.clone().unwrap_or_else(|| flow.org_fiscal_code.clone()),
        },
        published: created,
        computed_tot_payments: count,
        computed_sum_payments: euro(flow.total()),
        tot_payments: count,
        sum_payments: euro(flow.total()),
    })
}

/// `GET .../psps/{pspId}/payments?page&size`: PaginatedPaymentsResponse.
pub fn payments(sim: &Sim, org: &str, fdr: &str, revision: &str, psp: &str, request: &Request) -> Response {
    let (page, size) = match paging(request) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let inner = sim.lock();
    let Some(flow) = find(&inner.flows, org, fdr, revision, psp) else {
        return not_found(&format!("flow {fdr} revision {revision} of PSP {psp} for org {org} not found"));
    };
    let items: Vec<Payment> = flow
        .payments
        .iter()
        .map(|p| Payment {
            index: p.index,
            iuv: p.iuv.clone(),
            iur: p.iur.clone(),
            id_transfer: p.id_transfer,
            pay: euro(p.amount),
            pay_status: "EXECUTED",
            pay_date: clock::iso(p.paid_at),
        })
        .collect();
    to_json(&paginate(items, page, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_numbers_with_two_decimals() {
        let payment = Payment {
            index: 1,
            iuv: "1".to_owned(),
            iur: "2".to_owned(),
            id_transfer: 1,
            pay: euro(Cents::new(3000)),
            pay_status: "EXECUTED",
            pay_date: "2026-11-30T09:15:00Z".to_owned(),
        };
        let text = serde_json::to_string(&payment).unwrap();
        assert!(text.contains(r#""pay":30.00"#), "{text}");
        assert!(text.contains(r#""idTransfer":1"#), "{text}");
    }

    #[test]
    fn pagination() {
        let page = paginate((1..=5).collect::<Vec<u32>>(), 2, 2);
        assert_eq!(page.data, vec![3, 4]);
        assert_eq!((page.metadata.tot_page, page.count), (3, 5));
        let empty = paginate(Vec::<u32>::new(), 1, 10);
        assert_eq!((empty.metadata.tot_page, empty.count), (1, 0));
        assert!(paginate((1..=5).collect::<Vec<u32>>(), 9, 2).data.is_empty());
    }
}
