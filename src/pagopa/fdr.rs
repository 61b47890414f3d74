//! Reporting flows (FdR, reference/pagopa.md §4): mypay's client of pagoPA's FdR REST API for
//! organizations, with the legacy nodeForPa SOAP primitives as a fallback (the FlussoRiversamento
//! document they carry is read by `flows::fdr`).
//!
//! [`fetch_all`] asks for the flows of every org in production, skips those already stored, and
//! hands each one to `services::payments::reporting`, which checks and stores it (or records it as rejected
//! with its reason: one bad flow never stops the others). A fetch stops between two flows when asked
//! (`cancelled`: the server is stopping); since stored flows are skipped, the next fetch goes on
//! where it stopped.

use std::time::Duration;

use base64::Engine as _;

use crate::clock::Now;
use crate::domain::Cents;
use crate::flows::fdr::{parse_flusso, psp_of_iuf};
use crate::services::payments::flows_view::{FetchCounts, FlowFetcher};
use crate::services::payments::reporting::{self, FlowInput, FlowSource, ListedFlow, Stored};
use crate::soap::{self, Element, XmlWriter};
use crate::store::Db;
use crate::store::reporting::ReportingPaymentRecord;

/// The nodeForPa namespace.
pub const NODE_FOR_PA_NS: &str = "http://ws.pagamenti.telematici.gov/";
/// Path of the FdR REST API for organizations under the Node's base URL.
pub const FDR_REST_PATH: &str = "/fdr-org/service/v1";
/// Path of the nodeForPa SOAP service under the Node's base URL.
pub const NODE_FOR_PA_PATH: &str = "/nodo-auth/node-for-pa/v1";

/// How to reach pagoPA.
#[derive(Debug, Clone)]
pub struct NodeClient {
    pub base_url: String,
    pub subscription_key: String,
    pub broker_id: String,
    pub station_id: String,
    pub station_password: String,
}

impl NodeClient {
    /// The client the configuration describes.
    pub fn from_config(config: &crate::config::Config) -> NodeClient {
        NodeClient {
            base_url: config.node.base_url.as_ref().map(ToString::to_string).unwrap_or_default(),
            subscription_key: config.node.subscription_key.expose().to_owned(),
            broker_id: config.station.broker_id.clone(),
            station_id: config.station.station_id.clone(),
            station_password: config.station.password.expose().to_owned(),
        }
    }
}

/// A failure to talk to pagoPA (not a bad flow, which is stored as rejected).
#[derive(Debug, thiserror::Error)]
pub enum FdrError {
    #[error("cannot reach {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("unexpected answer from {url}: {reason}")]
    Answer { url: String, reason: String },
    #[error("the Node refused: {code} {description}")]
    Node { code: String, description: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Asked to stop (shutdown) between two flows.
    #[error("stopped by shutdown")]
    Interrupted,
}

/// What one fetch did, per org.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchSummary {
    pub listed: usize,
    pub stored: usize,
    pub rejected: usize,
    pub already_stored: usize,
    /// Earlier versions of flows that a corrected version replaced.
    pub replaced: usize,
    /// Orgs whose list could not be fetched by either interface, with the reason.
    pub failures: Vec<(String, String)>,
    /// Stopped early by shutdown: the next fetch does the rest.
    pub interrupted: bool,
}

impl FetchSummary {
    fn count(&mut self, stored: Stored) {
        match stored {
            Stored::Accepted { replaced } => {
                self.stored += 1;
                self.replaced += replaced;
            }
            Stored::Refused => self.rejected += 1,
            Stored::Known => self.already_stored += 1,
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Fetches and stores the new flows of every org that is not merely INSERITO, until `cancelled`
/// says to stop (looked at between flows).
pub fn fetch_all(
    db: &Db,
    client: &NodeClient,
    now: Now,
    cancelled: &dyn Fn() -> bool,
) -> Result<FetchSummary, FdrError> {
    fetch_orgs(db, client, now, cancelled, None)
}

/// [`fetch_all`], or only the org with id `only`.
fn fetch_orgs(
    db: &Db,
    client: &NodeClient,
    now: Now,
    cancelled: &dyn Fn() -> bool,
    only: Option<i64>,
) -> Result<FetchSummary, FdrError> {
    let orgs: Vec<_> = reporting::orgs_to_fetch(db)?.into_iter().filter(|o| only.is_none_or(|id| id == o.id)).collect();
    let mut summary = FetchSummary::default();
    let fetch = Fetch { db, client, now, cancelled };
    for org in &orgs {
        let result = match fetch_rest(&fetch, &org.fiscal_code, &mut summary) {
            Ok(()) => Ok(()),
            Err(FdrError::Interrupted) => Err(FdrError::Interrupted),
            Err(rest_err) => {
                tracing::warn!(org = %org.ipa_code, error = %rest_err, "FdR REST failed, trying nodeForPa");
                fetch_soap(&fetch, &org.fiscal_code, &mut summary)
            }
        };
        if let Err(FdrError::Interrupted) = result {
            summary.interrupted = true;
            break;
        }
        if let Err(err) = result {
            tracing::error!(org = %org.ipa_code, error = %err, "cannot fetch reporting flows");
            summary.failures.push((org.ipa_code.clone(), err.to_string()));
        }
    }
    Ok(summary)
}

/// The fetch an operator asks for from the back office (`Job::ReportingFetch`): one org's flows.
/// Its `Debug` shows the Node's address only, never the credentials.
pub struct OrgFetcher(pub NodeClient);

impl std::fmt::Debug for OrgFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgFetcher").field("base_url", &self.0.base_url).finish_non_exhaustive()
    }
}

impl FlowFetcher for OrgFetcher {
    fn fetch_org(&self, db: &Db, org_id: i64, now: Now, cancelled: &dyn Fn() -> bool) -> Result<FetchCounts, String> {
        let summary = fetch_orgs(db, &self.0, now, cancelled, Some(org_id)).map_err(|err| err.to_string())?;
        if summary.interrupted {
            return Err("stopped by shutdown".to_owned());
        }
        match summary.failures.first() {
            Some((_, reason)) => Err(reason.clone()),
            None => Ok(FetchCounts { listed: summary.listed, stored: summary.stored, rejected: summary.rejected }),
        }
    }
}

fn get_json(client: &NodeClient, url: &str) -> Result<serde_json::Value, FdrError> {
    let mut res = agent()
        .get(url)
        .header("Ocp-Apim-Subscription-Key", &client.subscription_key)
        .call()
        .map_err(|err| FdrError::Transport { url: url.to_owned(), reason: err.to_string() })?;
    let status = res.status().as_u16();
    if status != 200 {
        return Err(FdrError::Status { url: url.to_owned(), status });
    }
    let text = res
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|err| FdrError::Transport { url: url.to_owned(), reason: err.to_string() })?;
    serde_json::from_str(&text).map_err(|err| FdrError::Answer { url: url.to_owned(), reason: err.to_string() })
}

/// One fetch: where from, and whether to stop.
struct Fetch<'a> {
    db: &'a Db,
    client: &'a NodeClient,
    now: Now,
    cancelled: &'a dyn Fn() -> bool,
}

impl Fetch<'_> {
    fn stop_here(&self) -> Result<(), FdrError> {
        if (self.cancelled)() { Err(FdrError::Interrupted) } else { Ok(()) }
    }
}

fn fetch_rest(fetch: &Fetch<'_>, fiscal_code: &str, summary: &mut FetchSummary) -> Result<(), FdrError> {
    let Fetch { db, client, now, .. } = *fetch;
    let base = format!("{}{FDR_REST_PATH}/organizations/{fiscal_code}/fdrs", client.base_url.trim_end_matches('/'));
    let mut page = 1;
    loop {
        let url = format!("{base}?page={page}&size=1000");
        let list = get_json(client, &url)?;
        let items = list.get("data").and_then(|d| d.as_array()).cloned().unwrap_or_default();
        for item in &items {
            fetch.stop_here()?;
            summary.listed += 1;
            let iuf = item.get("fdr").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let revision = item.get("revision").and_then(|v| v.as_i64()).unwrap_or(1);
            let psp = item.get("pspId").and_then(|v| v.as_str()).map(str::to_owned).or_else(|| psp_of_iuf(&iuf));
            let Some(psp) = psp else {
                let listed = ListedFlow { iuf: &iuf, revision, psp_id: "?", flow_date: None };
                reporting::reject_flow(
                    db,
                    fiscal_code,
                    &listed,
                    FlowSource::Rest,
                    "no PSP id in the list or the IUF",
                    None,
                    now,
                )?;
                summary.rejected += 1;
                continue;
            };
            if reporting::is_stored(db, fiscal_code, &iuf, revision, Some(&psp))? {
                summary.already_stored += 1;
                continue;
            }
            let flow_url = format!("{base}/{iuf}/revisions/{revision}/psps/{psp}");
            let stored = match rest_flow(client, &flow_url) {
                Ok((mut input, document)) => {
                    input.revision = revision;
                    reporting::store_flow(db, fiscal_code, &input, FlowSource::Rest, &document, now)?
                }
                Err(FdrError::Answer { reason, .. }) => {
                    let listed = ListedFlow { iuf: &iuf, revision, psp_id: &psp, flow_date: None };
                    reporting::reject_flow(db, fiscal_code, &listed, FlowSource::Rest, &reason, None, now)?;
                    Stored::Refused
                }
                Err(other) => return Err(other),
            };
            summary.count(stored);
        }
        let total_pages = list.pointer("/metadata/totPage").and_then(|v| v.as_i64()).unwrap_or(1);
        if items.is_empty() || page >= total_pages {
            return Ok(());
        }
        page += 1;
    }
}

/// Reads one flow and all its payment pages.
fn rest_flow(client: &NodeClient, flow_url: &str) -> Result<(FlowInput, String), FdrError> {
    let flow = get_json(client, flow_url)?;
    let bad = |reason: &str| FdrError::Answer { url: flow_url.to_owned(), reason: reason.to_owned() };
    let text = |v: &serde_json::Value, p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_owned);
    let mut payments = Vec::new();
    let mut page = 1;
    loop {
        let list = get_json(client, &format!("{flow_url}/payments?page={page}&size=1000"))?;
        let items = list.get("data").and_then(|d| d.as_array()).cloned().unwrap_or_default();
        for p in &items {
            payments.push(ReportingPaymentRecord {
                iuv: text(p, "/iuv").ok_or_else(|| bad("payment without iuv"))?,
                iur: text(p, "/iur").ok_or_else(|| bad("payment without iur"))?,
                transfer_index: p.get("idTransfer").and_then(|v| v.as_i64()),
                amount_cents: json_amount(p.get("pay")).ok_or_else(|| bad("payment with an invalid pay amount"))?,
                outcome_code: match p.get("payStatus").and_then(|v| v.as_str()) {
                    Some("EXECUTED") => "0",
                    Some("REVOKED") => "3",
                    Some("STAND_IN") => "4",
                    Some("STAND_IN_NO_RPT") => "8",
                    Some("NO_RPT") => "9",
                    _ => return Err(bad("payment with an unknown payStatus")),
                }
                .to_owned(),
                outcome_date: text(p, "/payDate").map(|d| d.chars().take(10).collect()).unwrap_or_default(),
            });
        }
        let total_pages = list.pointer("/metadata/totPage").and_then(|v| v.as_i64()).unwrap_or(1);
        if items.is_empty() || page >= total_pages {
            break;
        }
        page += 1;
    }
    let input = FlowInput {
        iuf: text(&flow, "/fdr").ok_or_else(|| bad("flow without fdr"))?,
        revision: flow.get("revision").and_then(|v| v.as_i64()).unwrap_or(1),
        psp_id: text(&flow, "/sender/pspId").ok_or_else(|| bad("flow without sender.pspId"))?,
        psp_name: text(&flow, "/sender/pspName"),
        flow_date: text(&flow, "/fdrDate"),
        settlement_id: text(&flow, "/regulation"),
        settlement_date: text(&flow, "/regulationDate"),
        receiver_fiscal_code: text(&flow, "/receiver/organizationId").ok_or_else(|| bad("flow without receiver"))?,
        declared_count: flow
            .get("totPayments")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| bad("flow without totPayments"))?,
        declared_total: json_amount(flow.get("sumPayments")).ok_or_else(|| bad("flow with an invalid sumPayments"))?,
        payments,
    };
    Ok((input, flow.to_string()))
}

/// A JSON number of euro as cents. The API sends decimal euro as JSON numbers; serde_json keeps the
/// shortest text that reads back to the same double, which for amounts of at most 2 decimals and
/// 12 digits is the decimal the sender wrote, so it is parsed as text, exactly.
fn json_amount(value: Option<&serde_json::Value>) -> Option<Cents> {
    match value? {
        serde_json::Value::Number(n) => Cents::parse_decimal(&n.to_string()).ok(),
        serde_json::Value::String(s) => Cents::parse_decimal(s).ok(),
        _ => None,
    }
}

fn node_for_pa_request(client: &NodeClient, operation: &str, fiscal_code: &str, iuf: Option<&str>) -> String {
    let element = format!("nfpa:{operation}");
    let mut w = XmlWriter::new();
    w.open(&element);
    w.leaf("identificativoIntermediarioPA", &client.broker_id);
    w.leaf("identificativoStazioneIntermediarioPA", &client.station_id);
    w.leaf("password", &client.station_password);
    w.leaf("identificativoDominio", fiscal_code);
    w.leaf_opt("identificativoFlusso", iuf);
    w.close(&element);
    soap::envelope("nfpa", NODE_FOR_PA_NS, &w.finish())
}

fn soap_call(client: &NodeClient, operation: &str, body: &str) -> Result<Element, FdrError> {
    let url = format!("{}{NODE_FOR_PA_PATH}", client.base_url.trim_end_matches('/'));
    let mut res = agent()
        .post(&url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", operation)
        .header("Ocp-Apim-Subscription-Key", &client.subscription_key)
        .send(body.as_bytes())
        .map_err(|err| FdrError::Transport { url: url.clone(), reason: err.to_string() })?;
    let status = res.status().as_u16();
    let text = res
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(|err| FdrError::Transport { url: url.clone(), reason: err.to_string() })?;
    if status != 200 {
        return Err(FdrError::Status { url, status });
    }
    // A flow's answer carries tens of thousands of payments: the budgets of a reporting flow.
    let payload = soap::parse_envelope_with(text.as_bytes(), soap::Limits::REPORTING_FLOW)
        .map_err(|err| FdrError::Answer { url: url.clone(), reason: err.to_string() })?;
    if let Some(fault) = payload.child("fault") {
        return Err(FdrError::Node {
            code: fault.child_text("faultCode").unwrap_or_default().to_owned(),
            description: fault
                .child_text("description")
                .or(fault.child_text("faultString"))
                .unwrap_or_default()
                .to_owned(),
        });
    }
    Ok(payload)
}

fn fetch_soap(fetch: &Fetch<'_>, fiscal_code: &str, summary: &mut FetchSummary) -> Result<(), FdrError> {
    let Fetch { db, client, now, .. } = *fetch;
    let list = soap_call(
        client,
        "nodoChiediElencoFlussiRendicontazione",
        &node_for_pa_request(client, "nodoChiediElencoFlussiRendicontazione", fiscal_code, None),
    )?;
    let Some(elenco) = list.child("elencoFlussiRendicontazione") else {
        return Ok(());
    };
    for entry in elenco.children_named("idRendicontazione") {
        fetch.stop_here()?;
        summary.listed += 1;
        let iuf = entry.child_text("identificativoFlusso").unwrap_or_default().to_owned();
        // A corrected flow keeps its IUF and comes with a later dataOraFlusso.
        let listed_date = entry.child_text("dataOraFlusso").filter(|d| !d.is_empty()).map(str::to_owned);
        if reporting::is_version_stored(db, fiscal_code, &iuf, listed_date.as_deref())? {
            summary.already_stored += 1;
            continue;
        }
        let flow = soap_call(
            client,
            "nodoChiediFlussoRendicontazione",
            &node_for_pa_request(client, "nodoChiediFlussoRendicontazione", fiscal_code, Some(&iuf)),
        )?;
        let psp_guess = psp_of_iuf(&iuf).unwrap_or_else(|| "?".to_owned());
        let listed = ListedFlow { iuf: &iuf, revision: 1, psp_id: &psp_guess, flow_date: listed_date.as_deref() };
        let encoded: String = flow.child_text("xmlRendicontazione").unwrap_or_default().split_whitespace().collect();
        let xml = match base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()) {
            Ok(bytes) => bytes,
            Err(_) => {
                let reason = "xmlRendicontazione is not base64";
                reporting::reject_flow(db, fiscal_code, &listed, FlowSource::Soap, reason, None, now)?;
                summary.rejected += 1;
                continue;
            }
        };
        let document = String::from_utf8_lossy(&xml).into_owned();
        let stored = match parse_flusso(&xml) {
            Ok(mut input) => {
                input.psp_id = psp_of_iuf(&input.iuf).unwrap_or(input.psp_id);
                reporting::store_flow(db, fiscal_code, &input, FlowSource::Soap, &document, now)?
            }
            Err(reason) => {
                reporting::reject_flow(db, fiscal_code, &listed, FlowSource::Soap, &reason, Some(&document), now)?;
                Stored::Refused
            }
        };
        summary.count(stored);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn json_amounts_are_exact() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a": 120.5, "b": 0.1, "c": 999999999.99, "d": 3}"#).unwrap();
        assert_eq!(json_amount(v.get("a")), Some(Cents::new(12050)));
        assert_eq!(json_amount(v.get("b")), Some(Cents::new(10)));
        assert_eq!(json_amount(v.get("c")), Some(Cents::new(99_999_999_999)));
        assert_eq!(json_amount(v.get("d")), Some(Cents::new(300)));
    }
}
