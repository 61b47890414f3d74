//! The pagoPA receipt (paForNode.xsd `ctReceipt` / `ctReceiptV2`) read leniently into a
//! [`ReceiptRecord`], wherever it arrives: the `receipt` of the station's paSendRT(V2) requests,
//! and the `rt` bytes of a regional MyPay (a `PagatiConRicevuta` answer, a push, a receipt export
//! row), which hold either a whole paSendRT(V2) SOAP request (a regional mypay) or a bare
//! `receipt` element (MyPay's `CtReceiptV2`) ([`read_rt`]).
//!
//! A receipt is never refused for its shape: every field the schema requires is read when it can
//! be; a missing or invalid one gets a neutral value (empty text, no transfer) and a
//! [`ShapeIssue`] naming it, so the receipt is stored with its bytes and flagged. What settles a
//! debt is then decided by the payment terms alone (amount, creditor, transfers), which a
//! deviation there fails.
//! Here rather than in `pagopa::wire` so that services may read an `rt` without the Node adapter.
//! Must never: panic or allocate out of proportion on any input (the XML reader's budgets apply).

use crate::domain::receipt_shape::{ShapeIssue, ShapeProblem};
use crate::domain::{Cents, NoticeNumber, Party};
use crate::soap::{self, Element, SoapError};
use crate::store::receipts::{ReceiptRecord, ReceiptTransferRecord};

/// A receipt as read: the record (org and debt unresolved), the creditor it names and how it
/// deviates from the schema.
#[derive(Debug, Clone)]
pub struct LenientReceipt {
    /// The receipt's `fiscalCode` when it is an org's fiscal code (11 digits); otherwise `None`
    /// and an issue: the caller knows whose receipt it is.
    pub fiscal_code: Option<String>,
    pub receipt: ReceiptRecord,
    /// Empty for a conforming receipt.
    pub issues: Vec<ShapeIssue>,
}

/// Why `rt` bytes hold no receipt to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtError {
    #[error("the rt is empty")]
    Empty,
    #[error("the rt is not XML: {0}")]
    NotXml(#[from] SoapError),
    #[error("the rt holds no receipt element (root {0})")]
    NoReceipt(String),
}

/// Reads the receipt in `rt` bytes: a SOAP envelope of paSendRT / paSendRTV2, one of those request
/// elements alone, or a bare `receipt` element. A bare receipt is read as a V2 one (its optional
/// fields are a superset of V1's, so a V1 receipt reads the same) and stored as `paSendRTV2`.
pub fn read_rt(bytes: &[u8]) -> Result<LenientReceipt, RtError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RtError::Empty);
    }
    let root = soap::parse_document(bytes)?;
    let raw = String::from_utf8_lossy(bytes);
    let payload = if root.name == "Envelope" && root.ns.as_deref() == Some(soap::ENVELOPE_NS) {
        root.child("Body").and_then(|body| body.children.first())
    } else {
        Some(&root)
    };
    let found = payload.and_then(|p| match p.name.as_str() {
        "receipt" => Some((p, true)),
        "paSendRTReq" => p.child("receipt").map(|r| (r, false)),
        _ => p.child("receipt").map(|r| (r, true)),
    });
    let (receipt, v2) = found.ok_or_else(|| RtError::NoReceipt(truncate(&root.name, 64)))?;
    Ok(read_receipt(receipt, v2, &raw))
}

/// Reads the `receipt` element `r` of a paSendRT (`v2` false) or paSendRTV2 request, keeping `raw`
/// (the received XML) as the receipt's document.
pub fn read_receipt(r: &Element, v2: bool, raw: &str) -> LenientReceipt {
    // Fields are read in the schema's order, so the issues are listed in the document's.
    let mut read = Lenient { issues: Vec::new() };
    let mut receipt_id = read.text(r, "receipt", "receiptId", 35);
    if receipt_id.is_empty() {
        // Replays of the same bytes must still be recognised as one receipt.
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(raw.as_bytes());
        receipt_id = format!("SENZA-ID-{}", hex_prefix(&digest, 12));
    }
    let number = read.text(r, "receipt", "noticeNumber", 18);
    if !number.is_empty() && NoticeNumber::parse(&number).is_err() {
        read.issues.push(ShapeIssue::invalid("receipt/noticeNumber", &number));
    }
    let fiscal_code = match r.child_text("fiscalCode") {
        Some(code) if is_org_fiscal_code(code) => Some(code.to_owned()),
        found => {
            read.issues.push(match found {
                None | Some("") => ShapeIssue::new("receipt/fiscalCode", ShapeProblem::Missing),
                Some(code) => ShapeIssue::invalid("receipt/fiscalCode", code),
            });
            None
        }
    };
    let outcome = match r.child_text("outcome") {
        Some(o @ ("OK" | "KO")) => o.to_owned(),
        found => {
            read.issues.push(match found {
                None | Some("") => ShapeIssue::new("receipt/outcome", ShapeProblem::Missing),
                Some(other) => ShapeIssue::invalid("receipt/outcome", other),
            });
            // Without a readable outcome nothing says the payment succeeded.
            "KO".to_owned()
        }
    };
    let mut iuv = read.text(r, "receipt", "creditorReferenceId", 35);
    if iuv.is_empty()
        && let Ok(notice) = NoticeNumber::parse_loose(&number)
    {
        // The notice number carries the IUV (pagopa.md §1.3): attribute the receipt by it.
        iuv = notice.iuv().as_str().to_owned();
    }
    let total = read.amount(r, "receipt", "paymentAmount");
    let description = read.text(r, "receipt", "description", 140);
    let company_name = read.text(r, "receipt", "companyName", 140);
    let office_name = read.opt_text(r, "receipt", "officeName", 140);
    let debtor = read.subject(r, "debtor").unwrap_or_default();
    let transfers = read.transfers(r, v2);
    let sum: i64 = transfers.iter().map(|t| t.amount_cents.get()).sum();
    let amount_cents = match total {
        Some(total) => {
            if total.get() != sum {
                read.issues.push(ShapeIssue::new("receipt/paymentAmount", ShapeProblem::SumDiffers));
            }
            total
        }
        None => Cents::new(sum.max(0)),
    };
    let receipt = ReceiptRecord {
        receipt_id,
        notice_number: number,
        iuv,
        outcome,
        amount_cents,
        description,
        company_name,
        office_name,
        debtor,
        psp_id: read.text(r, "receipt", "idPSP", 35),
        psp_fiscal_code: read.opt_text(r, "receipt", "pspFiscalCode", 70),
        psp_vat_number: read.opt_text(r, "receipt", "pspPartitaIVA", 20),
        psp_company_name: read.text(r, "receipt", "PSPCompanyName", 70),
        channel_id: read.text(r, "receipt", "idChannel", 35),
        channel_description: read.text(r, "receipt", "channelDescription", 35),
        payer: read.subject(r, "payer"),
        payment_method: read.opt_text(r, "receipt", "paymentMethod", 35),
        payment_note: if v2 { read.opt_text(r, "receipt", "paymentNote", 210) } else { None },
        fee_cents: r.child("fee").and_then(|_| read.amount(r, "receipt", "fee")),
        payment_date_time: read.opt_text(r, "receipt", "paymentDateTime", 35),
        application_date: read.date(r, "receipt", "applicationDate"),
        transfer_date: read.date(r, "receipt", "transferDate"),
        stand_in: read.boolean(r, "receipt", "standIn").unwrap_or(false),
        primitive: if v2 { "paSendRTV2" } else { "paSendRT" }.to_owned(),
        request_xml: raw.to_owned(),
        transfers,
        ..ReceiptRecord::default()
    };
    LenientReceipt { fiscal_code, receipt, issues: read.issues }
}

/// At most `max` characters (the schema's text lengths).
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn is_org_fiscal_code(value: &str) -> bool {
    value.len() == 11 && value.bytes().all(|b| b.is_ascii_digit())
}

fn hex_prefix(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

/// The most transfers a receipt has (paForNode.xsd `ctTransferListPA`).
const MAX_TRANSFERS: usize = 5;

/// Reads a receipt's fields one by one, noting each deviation instead of stopping at the first.
struct Lenient {
    issues: Vec<ShapeIssue>,
}

impl Lenient {
    /// A required text of at most `max` characters: cut to `max` when longer, empty when absent.
    fn text(&mut self, el: &Element, path: &str, name: &str, max: usize) -> String {
        match el.child_text(name) {
            None | Some("") => {
                self.issues.push(ShapeIssue::new(format!("{path}/{name}"), ShapeProblem::Missing));
                String::new()
            }
            Some(value) => self.capped(value, path, name, max),
        }
    }

    /// An optional text: `None` when absent, cut to `max` when longer.
    fn opt_text(&mut self, el: &Element, path: &str, name: &str, max: usize) -> Option<String> {
        match el.child_text(name) {
            None => None,
            Some("") => {
                self.issues.push(ShapeIssue::invalid(format!("{path}/{name}"), ""));
                None
            }
            Some(value) => Some(self.capped(value, path, name, max)),
        }
    }

    fn capped(&mut self, value: &str, path: &str, name: &str, max: usize) -> String {
        if value.chars().count() > max {
            self.issues.push(ShapeIssue::new(format!("{path}/{name}"), ShapeProblem::TooLong { max }));
        }
        truncate(value, max)
    }

    /// A required amount; `None` (and an issue) when absent or not an XSD amount.
    fn amount(&mut self, el: &Element, path: &str, name: &str) -> Option<Cents> {
        match el.child_text(name) {
            None | Some("") => {
                self.issues.push(ShapeIssue::new(format!("{path}/{name}"), ShapeProblem::Missing));
                None
            }
            Some(value) => match Cents::parse_xsd_amount(value) {
                Ok(cents) => Some(cents),
                Err(_) => {
                    self.issues.push(ShapeIssue::invalid(format!("{path}/{name}"), value));
                    None
                }
            },
        }
    }

    fn date(&mut self, el: &Element, path: &str, name: &str) -> Option<String> {
        let value = el.child_text(name)?;
        if crate::domain::debt_row::parse_date(value).is_some() {
            Some(value.to_owned())
        } else {
            self.issues.push(ShapeIssue::invalid(format!("{path}/{name}"), value));
            None
        }
    }

    fn boolean(&mut self, el: &Element, path: &str, name: &str) -> Option<bool> {
        match el.child_text(name)? {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            other => {
                self.issues.push(ShapeIssue::invalid(format!("{path}/{name}"), other));
                None
            }
        }
    }

    /// The debtor or payer; `None` when the element is absent (an issue for the debtor, whom
    /// the schema requires).
    fn subject(&mut self, r: &Element, name: &str) -> Option<Party> {
        let path = format!("receipt/{name}");
        let Some(s) = r.child(name) else {
            if name == "debtor" {
                self.issues.push(ShapeIssue::new(path, ShapeProblem::Missing));
            }
            return None;
        };
        let id_path = format!("{path}/uniqueIdentifier");
        let (kind, id) = match s.child("uniqueIdentifier") {
            None => {
                self.issues.push(ShapeIssue::new(id_path, ShapeProblem::Missing));
                (String::new(), String::new())
            }
            Some(unique) => {
                let kind = match unique.child_text("entityUniqueIdentifierType") {
                    Some(k @ ("F" | "G")) => k.to_owned(),
                    None | Some("") => {
                        let field = format!("{id_path}/entityUniqueIdentifierType");
                        self.issues.push(ShapeIssue::new(field, ShapeProblem::Missing));
                        String::new()
                    }
                    Some(other) => {
                        self.issues.push(ShapeIssue::invalid(format!("{id_path}/entityUniqueIdentifierType"), other));
                        String::new()
                    }
                };
                (kind, self.text(unique, &id_path, "entityUniqueIdentifierValue", 16))
            }
        };
        Some(Party {
            kind,
            id,
            name: self.text(s, &path, "fullName", 70),
            email: self.opt_text(s, &path, "e-mail", 256),
            ..Party::default()
        })
    }

    /// The transfers that can be stored (idTransfer 1 to 5, each once, a positive amount); the
    /// others are issues, kept only in the received bytes.
    fn transfers(&mut self, r: &Element, v2: bool) -> Vec<ReceiptTransferRecord> {
        let Some(list) = r.child("transferList") else {
            self.issues.push(ShapeIssue::new("receipt/transferList", ShapeProblem::Missing));
            return Vec::new();
        };
        let mut transfers: Vec<ReceiptTransferRecord> = Vec::new();
        for (position, t) in list.children_named("transfer").take(MAX_TRANSFERS).enumerate() {
            let path = format!("receipt/transferList/transfer[{}]", position + 1);
            let index = match t.child_text("idTransfer") {
                Some(v) => match v.parse::<i64>() {
                    Ok(i) if (1..=5).contains(&i) => Some(i),
                    _ => {
                        self.issues.push(ShapeIssue::invalid(format!("{path}/idTransfer"), v));
                        None
                    }
                },
                None => {
                    self.issues.push(ShapeIssue::new(format!("{path}/idTransfer"), ShapeProblem::Missing));
                    None
                }
            };
            // Without a usable idTransfer the transfer takes the first free number, in list order.
            let index = index
                .filter(|i| transfers.iter().all(|t| t.index != *i))
                .or_else(|| (1..=5).find(|i| transfers.iter().all(|t| t.index != *i)));
            let Some(index) = index else {
                self.issues.push(ShapeIssue::new(path, ShapeProblem::Ignored));
                continue;
            };
            let Some(amount) = self.amount(t, &path, "transferAmount") else {
                continue;
            };
            if amount.get() <= 0 {
                self.issues.push(ShapeIssue::invalid(format!("{path}/transferAmount"), "0.00"));
                continue;
            }
            let fiscal_code = match t.child_text("fiscalCodePA") {
                Some(code) if is_org_fiscal_code(code) => code.to_owned(),
                None | Some("") => {
                    self.issues.push(ShapeIssue::new(format!("{path}/fiscalCodePA"), ShapeProblem::Missing));
                    String::new()
                }
                Some(code) => {
                    self.issues.push(ShapeIssue::invalid(format!("{path}/fiscalCodePA"), code));
                    truncate(code, 35)
                }
            };
            let iban = self.opt_text(t, &path, "IBAN", 35);
            let mbd = if v2 { t.child_text("MBDAttachment").map(str::to_owned) } else { None };
            if iban.is_none() && mbd.is_none() {
                self.issues.push(ShapeIssue::new(format!("{path}/IBAN"), ShapeProblem::Missing));
            }
            transfers.push(ReceiptTransferRecord {
                index,
                amount_cents: amount,
                fiscal_code,
                company_name: if v2 { self.opt_text(t, &path, "companyName", 140) } else { None },
                iban,
                mbd_attachment: mbd,
                remittance: self.text(t, &path, "remittanceInformation", 140),
                category: self.text(t, &path, "transferCategory", 140),
                metadata_json: metadata(t),
            });
        }
        // Only the schema's five are read: a flood of transfers would otherwise make one issue
        // each (the document's element cap allows thousands). Those after are one issue.
        if list.children_named("transfer").nth(MAX_TRANSFERS).is_some() {
            let path = format!("receipt/transferList/transfer[{}]", MAX_TRANSFERS + 1);
            self.issues.push(ShapeIssue::new(path, ShapeProblem::Ignored));
        }
        if transfers.is_empty() && list.children_named("transfer").next().is_none() {
            self.issues.push(ShapeIssue::new("receipt/transferList/transfer", ShapeProblem::Missing));
        }
        transfers
    }
}

/// A transfer's metadata as `[[key, value], ...]` JSON; entries without a key are dropped (they
/// stay in the received bytes).
fn metadata(el: &Element) -> Option<String> {
    let meta = el.child("metadata")?;
    let pairs: Vec<(String, String)> = meta
        .children_named("mapEntry")
        .filter_map(|e| {
            let key = e.child_text("key").filter(|k| !k.is_empty())?;
            Some((truncate(key, 140), truncate(e.child_text("value").unwrap_or_default(), 140)))
        })
        .collect();
    Some(serde_json::to_string(&pairs).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    const RECEIPT: &str = "<receipt><receiptId>R1</receiptId><noticeNumber>301000000000000144</noticeNumber>\
        <fiscalCode>01234567897</fiscalCode><outcome>OK</outcome><creditorReferenceId>01000000000000144\
        </creditorReferenceId><paymentAmount>1.00</paymentAmount></receipt>";

    #[test]
    fn the_receipt_is_found_in_an_envelope_a_request_or_alone() {
        let request = |name: &str| format!("<p:{name} xmlns:p=\"urn:x\"><idPA>1</idPA>{RECEIPT}</p:{name}>");
        let envelope = format!(
            "<s:Envelope xmlns:s=\"{}\"><s:Body>{}</s:Body></s:Envelope>",
            soap::ENVELOPE_NS,
            request("paSendRTV2Request")
        );
        for (rt, primitive) in [
            (envelope, "paSendRTV2"),
            (request("paSendRTReq"), "paSendRT"),
            (RECEIPT.to_owned(), "paSendRTV2"),
            (
                RECEIPT
                    .replace("<receipt>", "<ns2:receipt xmlns:ns2=\"urn:y\">")
                    .replace("</receipt>", "</ns2:receipt>"),
                "paSendRTV2",
            ),
        ] {
            let read = read_rt(rt.as_bytes()).unwrap();
            assert_eq!((read.receipt.receipt_id.as_str(), read.receipt.primitive.as_str()), ("R1", primitive), "{rt}");
            assert_eq!(read.fiscal_code.as_deref(), Some("01234567897"));
            assert_eq!(read.receipt.request_xml, rt, "the document is kept as received");
        }
    }

    #[test]
    fn what_holds_no_receipt_says_why() {
        assert_eq!(read_rt(b" \n").unwrap_err(), RtError::Empty);
        assert!(matches!(read_rt(b"\xff\xfe"), Err(RtError::NotXml(_))));
        assert!(matches!(read_rt(b"<!DOCTYPE x><x/>"), Err(RtError::NotXml(SoapError::Dtd))));
        assert_eq!(read_rt(b"<Pagati><x/></Pagati>").unwrap_err(), RtError::NoReceipt("Pagati".to_owned()));
    }
}
