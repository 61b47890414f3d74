//! mypay's client of pagoPA's biz-events receipt API for organizations (pagopa.md §4.6):
//! `GET {node.base_url}/bizevents/service/v1/organizations/{cf}/receipts/{iur}/paymentoptions/{iuv}`
//! with the subscription key in `Ocp-Apim-Subscription-Key`. The answer (CtReceiptModelResponse:
//! ctReceiptV2's fields in JSON, amounts as decimal euros) is written back as the `receipt`
//! element of a paSendRTV2, so the recovered receipt is read, stored, exported and pushed exactly as
//! one the Node sent (`flows::receipt_xml`, `services::payments::store_receipt`).
//! Used by `services::payments::recovery`, which keeps pagoPA's limit of calls; this client makes
//! one call when asked.

use std::time::Duration;

use serde_json::Value;

use super::fdr::NodeClient;
use crate::domain::Cents;
use crate::services::payments::recovery::{Fetched, ReceiptSource};
use crate::soap::XmlWriter;

/// Path of the biz-events API under the Node's base URL.
pub const BIZEVENTS_PATH: &str = "/bizevents/service/v1";
/// The largest answer read: a receipt is a few KiB (five transfers, metadata).
const MAX_ANSWER_BYTES: u64 = 256 * 1024;

/// The biz-events client; its `Debug` shows the address only, never the key.
pub struct BizEvents(pub NodeClient);

impl std::fmt::Debug for BizEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BizEvents").field("base_url", &self.0.base_url).finish_non_exhaustive()
    }
}

impl ReceiptSource for BizEvents {
    fn fetch(&self, org_fiscal_code: &str, iur: &str, iuv: &str) -> Result<Fetched, String> {
        let url = format!(
            "{}{BIZEVENTS_PATH}/organizations/{}/receipts/{}/paymentoptions/{}",
            self.0.base_url.trim_end_matches('/'),
            percent_encode(org_fiscal_code),
            percent_encode(iur),
            percent_encode(iuv)
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut res = agent
            .get(&url)
            .header("Ocp-Apim-Subscription-Key", &self.0.subscription_key)
            .call()
            .map_err(|err| format!("cannot reach {url}: {err}"))?;
        match res.status().as_u16() {
            200 => {}
            404 => return Ok(Fetched::NotFound),
            429 => return Ok(Fetched::Throttled),
            status => return Err(format!("{url} answered HTTP {status}")),
        }
        let text = res
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|err| format!("cannot read the answer of {url}: {err}"))?;
        let value: Value = serde_json::from_str(&text).map_err(|err| format!("{url} answered no JSON: {err}"))?;
        if !value.is_object() {
            return Err(format!("{url} answered no receipt object"));
        }
        Ok(Fetched::Found(receipt_xml(&value)))
    }
}

/// `text` with everything but RFC 3986's unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A string field; numbers and booleans as their text (an id sent as a number), else nothing.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// An amount: a JSON number or string of decimal euros, written as the XSD's `stAmount` (two
/// decimals). A value that is not an exact amount is written as found, so the lenient reader flags
/// it rather than this client guessing.
fn amount(v: &Value, key: &str) -> Option<String> {
    let raw = text(v, key)?;
    Some(Cents::parse_decimal(&raw).map(Cents::to_decimal_string).unwrap_or(raw))
}

fn leaf(w: &mut XmlWriter, tag: &str, value: Option<String>) {
    if let Some(value) = value {
        w.leaf(tag, &value);
    }
}

fn subject(w: &mut XmlWriter, tag: &str, s: &Value) {
    if !s.is_object() {
        return;
    }
    w.open(tag).open("uniqueIdentifier");
    leaf(w, "entityUniqueIdentifierType", text(s, "entityUniqueIdentifierType"));
    leaf(w, "entityUniqueIdentifierValue", text(s, "entityUniqueIdentifierValue"));
    w.close("uniqueIdentifier");
    leaf(w, "fullName", text(s, "fullName"));
    for key in ["streetName", "civicNumber", "postalCode", "city", "stateProvinceRegion", "country"] {
        leaf(w, key, text(s, key));
    }
    leaf(w, "e-mail", text(s, "eMail").or_else(|| text(s, "e-mail")));
    w.close(tag);
}

fn metadata(w: &mut XmlWriter, v: &Value) {
    let Some(pairs) = v.get("metadata").and_then(Value::as_array).filter(|a| !a.is_empty()) else { return };
    w.open("metadata");
    for pair in pairs.iter().take(15) {
        w.open("mapEntry");
        leaf(w, "key", text(pair, "key"));
        leaf(w, "value", text(pair, "value"));
        w.close("mapEntry");
    }
    w.close("metadata");
}

/// The API's receipt as the `receipt` element of a paSendRTV2 (ctReceiptV2, in the schema's order).
pub fn receipt_xml(r: &Value) -> String {
    let mut w = XmlWriter::new();
    w.open("receipt");
    for key in ["receiptId", "noticeNumber", "fiscalCode", "outcome", "creditorReferenceId"] {
        leaf(&mut w, key, text(r, key));
    }
    leaf(&mut w, "paymentAmount", amount(r, "paymentAmount"));
    for key in ["description", "companyName", "officeName"] {
        leaf(&mut w, key, text(r, key));
    }
    subject(&mut w, "debtor", r.get("debtor").unwrap_or(&Value::Null));
    w.open("transferList");
    for t in r.get("transferList").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default().iter().take(5) {
        w.open("transfer");
        leaf(&mut w, "idTransfer", text(t, "idTransfer"));
        leaf(&mut w, "transferAmount", amount(t, "transferAmount"));
        for key in ["fiscalCodePA", "companyName", "IBAN", "MBDAttachment", "remittanceInformation", "transferCategory"]
        {
            leaf(&mut w, key, text(t, key));
        }
        metadata(&mut w, t);
        w.close("transfer");
    }
    w.close("transferList");
    for key in ["idPSP", "pspFiscalCode", "pspPartitaIVA", "PSPCompanyName", "idChannel", "channelDescription"] {
        leaf(&mut w, key, text(r, key));
    }
    subject(&mut w, "payer", r.get("payer").unwrap_or(&Value::Null));
    leaf(&mut w, "paymentMethod", text(r, "paymentMethod"));
    leaf(&mut w, "paymentNote", text(r, "paymentNote"));
    leaf(&mut w, "fee", amount(r, "fee"));
    leaf(&mut w, "primaryCiIncurredFee", amount(r, "primaryCiIncurredFee"));
    for key in ["idBundle", "idCiBundle", "paymentDateTime", "applicationDate", "transferDate"] {
        leaf(&mut w, key, text(r, key));
    }
    metadata(&mut w, r);
    leaf(&mut w, "standIn", text(r, "standIn"));
    w.close("receipt");
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn the_api_receipt_reads_as_a_station_receipt() {
        let (iuv, notice) = crate::domain::generate_iuv17(
            crate::domain::SegregationCode::parse("01").unwrap(),
            crate::domain::GeneratorId::parse("00").unwrap(),
            147,
        )
        .unwrap();
        let json: Value = serde_json::from_str(&format!(
            r#"{{"receiptId":"a1b2c3","noticeNumber":"{notice}","fiscalCode":"01234567897","outcome":"OK",
            "creditorReferenceId":"{iuv}","paymentAmount":120.5,"description":"TARI 2026",
            "companyName":"Comune di Prova","debtor":{{"entityUniqueIdentifierType":"F",
            "entityUniqueIdentifierValue":"RSSMRA85T10A562S","fullName":"Mario Rossi","eMail":"m@example.it"}},
            "transferList":[{{"idTransfer":"1","transferAmount":"120.50","fiscalCodePA":"01234567897",
            "IBAN":"IT60X0542811101000000123456","remittanceInformation":"TARI","transferCategory":"0101002IM",
            "metadata":[]}}],"idPSP":"SIMPSP01","PSPCompanyName":"Banca Simulata","idChannel":"SIMPSP01_01",
            "channelDescription":"app","fee":1,"paymentDateTime":"2026-12-07T10:00:00",
            "applicationDate":"2026-12-07","transferDate":"2026-12-08"}}"#,
            notice = notice.as_str(),
            iuv = iuv.as_str(),
        ))
        .unwrap();
        let xml = receipt_xml(&json);
        let read = crate::flows::receipt_xml::read_rt(xml.as_bytes()).unwrap();
        assert!(read.issues.is_empty(), "{:?}\n{xml}", read.issues);
        let r = read.receipt;
        assert_eq!((r.receipt_id.as_str(), r.iuv.as_str(), r.outcome.as_str()), ("a1b2c3", iuv.as_str(), "OK"));
        assert_eq!(r.amount_cents, Cents::new(12_050));
        assert_eq!(r.fee_cents, Some(Cents::new(100)));
        assert_eq!(r.debtor.email.as_deref(), Some("m@example.it"));
        assert_eq!(r.transfers.len(), 1);
        assert_eq!(r.transfers[0].amount_cents, Cents::new(12_050));
        assert_eq!(r.primitive, "paSendRTV2");
        assert_eq!(read.fiscal_code.as_deref(), Some("01234567897"));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(percent_encode("a/b c"), "a%2Fb%20c");
    }
}
