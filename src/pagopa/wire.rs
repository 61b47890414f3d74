//! The paForNode wire format (paForNode.xsd): requests read from [`soap::Element`] trees with the
//! schema's rules checked, and responses written in the schema's element order.
//!
//! Children are unqualified; only the wrapper element carries the namespace `PAF_NS`. Amounts are
//! written with two decimals. A verify, getPayment or demand request that breaks the schema yields
//! the text of a `PAA_SINTASSI_XSD` description naming the element: its answer depends on it. A
//! receipt is read leniently instead (`send_rt_request`, through `flows::receipt_xml`): it must
//! never be lost.

use crate::domain::receipt_shape::ShapeIssue;
use crate::domain::{Cents, Email, NoticeNumber};
use crate::flows::receipt_xml;
use crate::services::payments::{PaymentView, Transfer, TransferTarget, truncate};
use crate::soap::{Element, XmlWriter};
use crate::store::debts::DebtRecord;
use crate::store::receipts::ReceiptRecord;

/// The payload namespace of paForNode.
pub const PAF_NS: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";

/// The six operations the Node calls on a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Verify,
    GetPayment,
    GetPaymentV2,
    SendRt,
    SendRtV2,
    Demand,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::Verify,
        Operation::GetPayment,
        Operation::GetPaymentV2,
        Operation::SendRt,
        Operation::SendRtV2,
        Operation::Demand,
    ];

    /// The SOAPAction and primitive name.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Verify => "paVerifyPaymentNotice",
            Operation::GetPayment => "paGetPayment",
            Operation::GetPaymentV2 => "paGetPaymentV2",
            Operation::SendRt => "paSendRT",
            Operation::SendRtV2 => "paSendRTV2",
            Operation::Demand => "paDemandPaymentNotice",
        }
    }

    /// The request wrapper element (note the Req/Request inconsistency of the schema).
    pub fn request_element(self) -> &'static str {
        match self {
            Operation::Verify => "paVerifyPaymentNoticeReq",
            Operation::GetPayment => "paGetPaymentReq",
            Operation::GetPaymentV2 => "paGetPaymentV2Request",
            Operation::SendRt => "paSendRTReq",
            Operation::SendRtV2 => "paSendRTV2Request",
            Operation::Demand => "paDemandPaymentNoticeRequest",
        }
    }

    /// The response wrapper element.
    pub fn response_element(self) -> &'static str {
        match self {
            Operation::Verify => "paVerifyPaymentNoticeRes",
            Operation::GetPayment => "paGetPaymentRes",
            Operation::GetPaymentV2 => "paGetPaymentV2Response",
            Operation::SendRt => "paSendRTRes",
            Operation::SendRtV2 => "paSendRTV2Response",
            Operation::Demand => "paDemandPaymentNoticeResponse",
        }
    }

    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    pub fn from_request_element(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.request_element() == name)
    }
}

/// The identity every request carries.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id_pa: String,
    pub id_broker_pa: String,
    pub id_station: String,
}

/// A notice as the QR code names it.
#[derive(Debug, Clone)]
pub struct QrCode {
    pub fiscal_code: String,
    pub notice: NoticeNumber,
}

/// paVerifyPaymentNotice / paGetPayment(V2) request.
#[derive(Debug, Clone)]
pub struct NoticeRequest {
    pub caller: Caller,
    pub qr: QrCode,
    /// Read to check the request; the answer is the debt's, whatever the Node believed.
    #[allow(dead_code, reason = "part of the checked request; no rule reads it yet")]
    pub amount: Option<Cents>,
    #[allow(dead_code, reason = "part of the checked request; no rule reads it yet")]
    pub payment_note: Option<String>,
    pub postal: bool,
    pub due_date: Option<String>,
}

/// paDemandPaymentNotice request.
#[derive(Debug, Clone)]
pub struct DemandRequest {
    pub caller: Caller,
    pub service_id: String,
    #[allow(dead_code, reason = "part of the checked request; the debtor of a PSP-started payment is unknown to us")]
    pub subject_id: String,
}

/// paSendRT(V2) request: the receipt as a store record (org and debt still unresolved).
#[derive(Debug, Clone)]
pub struct SendRtRequest {
    pub caller: Caller,
    pub fiscal_code: String,
    pub receipt: ReceiptRecord,
    /// How the receipt deviates from the schema; empty for a conforming one.
    pub issues: Vec<ShapeIssue>,
}

type Checked<T> = Result<T, String>;

fn text<'a>(el: &'a Element, name: &str, max: usize) -> Checked<&'a str> {
    let value = el.child_text(name).ok_or_else(|| format!("{name} is missing"))?;
    let n = value.chars().count();
    if n == 0 || n > max {
        return Err(format!("{name} must be 1 to {max} characters"));
    }
    Ok(value)
}

fn opt_text<'a>(el: &'a Element, name: &str, max: usize) -> Checked<Option<&'a str>> {
    match el.child(name) {
        None => Ok(None),
        Some(_) => text(el, name, max).map(Some),
    }
}

fn fiscal_code_pa(el: &Element, name: &str) -> Checked<String> {
    let value = el.child_text(name).ok_or_else(|| format!("{name} is missing"))?;
    if value.len() != 11 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} must be 11 digits"));
    }
    Ok(value.to_owned())
}

fn amount(el: &Element, name: &str) -> Checked<Cents> {
    let value = el.child_text(name).ok_or_else(|| format!("{name} is missing"))?;
    Cents::parse_xsd_amount(value).map_err(|err| format!("{name}: {err}"))
}

fn date(el: &Element, name: &str) -> Checked<Option<String>> {
    match el.child_text(name) {
        None => Ok(None),
        Some(v) if crate::domain::debt_row::parse_date(v).is_some() => Ok(Some(v.to_owned())),
        Some(v) => Err(format!("{name} {v:?} is not a date")),
    }
}

fn caller(el: &Element) -> Checked<Caller> {
    Ok(Caller {
        id_pa: text(el, "idPA", 35)?.to_owned(),
        id_broker_pa: text(el, "idBrokerPA", 35)?.to_owned(),
        id_station: text(el, "idStation", 35)?.to_owned(),
    })
}

fn qr_code(el: &Element) -> Checked<QrCode> {
    let qr = el.child("qrCode").ok_or("qrCode is missing")?;
    let fiscal_code = fiscal_code_pa(qr, "fiscalCode")?;
    let number = qr.child_text("noticeNumber").ok_or("qrCode/noticeNumber is missing")?;
    if number.len() != 18 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err("qrCode/noticeNumber must be 18 digits".to_owned());
    }
    // A well-formed number with a wrong check digit names no notice of ours: the caller answers
    // PAA_PAGAMENTO_SCONOSCIUTO, not a syntax error, since the schema only asks for 18 digits.
    let notice = NoticeNumber::parse(number).map_err(|_| format!("#unknown:{number}"))?;
    Ok(QrCode { fiscal_code, notice })
}

/// Reads a verify or getPayment request.
pub fn notice_request(el: &Element) -> Checked<NoticeRequest> {
    let caller = caller(el)?;
    let qr = qr_code(el)?;
    let amount = match el.child("amount") {
        Some(_) => Some(amount(el, "amount")?),
        None => None,
    };
    let payment_note = opt_text(el, "paymentNote", 210)?.map(str::to_owned);
    let postal = match el.child_text("transferType") {
        None | Some("PAGOPA") => false,
        Some("POSTAL") => true,
        Some(other) => return Err(format!("transferType {other:?} must be POSTAL or PAGOPA")),
    };
    Ok(NoticeRequest { caller, qr, amount, payment_note, postal, due_date: date(el, "dueDate")? })
}

/// Reads a paDemandPaymentNotice request.
pub fn demand_request(el: &Element) -> Checked<DemandRequest> {
    let caller = caller(el)?;
    let service_id = el.child_text("idServizio").ok_or("idServizio is missing")?;
    let subject_id = el.child_text("idSoggettoServizio").ok_or("idSoggettoServizio is missing")?;
    if service_id.chars().count() != 5 {
        return Err("idServizio must be 5 characters".to_owned());
    }
    if subject_id.chars().count() != 5 {
        return Err("idSoggettoServizio must be 5 characters".to_owned());
    }
    let data = el.child_text("datiSpecificiServizioRequest").ok_or("datiSpecificiServizioRequest is missing")?;
    use base64::Engine as _;
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "datiSpecificiServizioRequest is not base64".to_owned())?;
    Ok(DemandRequest { caller, service_id: service_id.to_owned(), subject_id: subject_id.to_owned() })
}

/// Reads a paSendRT (`v2` false) or paSendRTV2 request, keeping `raw` as the received XML.
///
/// Only the caller's identity and the `receipt` element are required: a receipt is never refused
/// for its shape (`flows::receipt_xml` reads it leniently). A receipt without a usable
/// `fiscalCode` belongs to the caller's `idPA`, which was checked against the orgs served.
pub fn send_rt_request(el: &Element, v2: bool, raw: &str) -> Checked<SendRtRequest> {
    let caller = caller(el)?;
    let r = el.child("receipt").ok_or("receipt is missing")?;
    let read = receipt_xml::read_receipt(r, v2, raw);
    let fiscal_code = read.fiscal_code.unwrap_or_else(|| caller.id_pa.clone());
    Ok(SendRtRequest { caller, fiscal_code, receipt: read.receipt, issues: read.issues })
}

/// Writes `<fault>` of a KO answer.
pub fn write_fault(w: &mut XmlWriter, code: &str, fault_string: &str, id: &str, description: &str) {
    w.open("fault").leaf("faultCode", code).leaf("faultString", fault_string).leaf("id", id);
    if !description.is_empty() {
        w.leaf("description", description);
    }
    w.close("fault");
}

fn write_subject(w: &mut XmlWriter, name: &str, debt: &DebtRecord) {
    w.open(name).open("uniqueIdentifier");
    w.leaf("entityUniqueIdentifierType", &debt.debtor.kind);
    w.leaf("entityUniqueIdentifierValue", &debt.debtor.id);
    w.close("uniqueIdentifier");
    w.leaf("fullName", &truncate(&debt.debtor.name, 70));
    w.leaf_opt("streetName", debt.debtor.address.as_deref().map(|v| truncate(v, 70)).as_deref());
    w.leaf_opt("civicNumber", debt.debtor.civic_number.as_deref().map(|v| truncate(v, 16)).as_deref());
    w.leaf_opt("postalCode", debt.debtor.postal_code.as_deref().map(|v| truncate(v, 16)).as_deref());
    w.leaf_opt("city", debt.debtor.city.as_deref().map(|v| truncate(v, 35)).as_deref());
    w.leaf_opt("stateProvinceRegion", debt.debtor.province.as_deref());
    w.leaf_opt("country", debt.debtor.country.as_deref().filter(|c| c.len() == 2));
    // Our import accepts a wider e-mail charset than pagoPA's stEMail: only pass on what the
    // schema accepts.
    let email = debt.debtor.email.as_deref().and_then(|e| Email::parse(e).ok());
    w.leaf_opt("e-mail", email.as_ref().map(|e| e.as_str()));
    w.close(name);
}

/// `paymentList` of verify and demand answers.
pub fn write_payment_list(w: &mut XmlWriter, view: &PaymentView) {
    w.open("paymentList").open("paymentOptionDescription");
    w.leaf("amount", &view.amount().to_decimal_string());
    w.leaf("options", "EQ");
    w.leaf_opt("dueDate", view.debt.due_date.map(|day| day.to_string()).as_deref());
    w.leaf("detailDescription", &truncate(&view.debt_type.description, 140));
    w.leaf("allCCP", if view.all_postal { "true" } else { "false" });
    w.close("paymentOptionDescription").close("paymentList");
}

/// The tail shared by verify and demand answers.
pub fn write_notice_description(w: &mut XmlWriter, view: &PaymentView) {
    w.leaf("paymentDescription", &truncate(&view.debt.causale, 140));
    w.leaf("fiscalCodePA", &view.org.fiscal_code);
    w.leaf("companyName", &truncate(&view.org.name, 140));
    w.leaf_opt("officeName", view.debt_type.sector.as_deref().map(|s| truncate(s, 140)).as_deref());
}

fn write_transfer(w: &mut XmlWriter, t: &Transfer, v2: bool) {
    w.open("transfer");
    w.leaf("idTransfer", &t.index.to_string());
    w.leaf("transferAmount", &t.amount.to_decimal_string());
    w.leaf("fiscalCodePA", &t.fiscal_code);
    if v2 {
        w.leaf_opt("companyName", t.company_name.as_deref());
    }
    match &t.target {
        TransferTarget::Iban(iban) => {
            w.leaf("IBAN", iban);
        }
        // Only V2 has the element; the station refuses a stamp over V1 before writing.
        TransferTarget::Stamp { document_hash, province } => {
            w.open("richiestaMarcaDaBollo");
            w.leaf("hashDocumento", document_hash).leaf("tipoBollo", "01").leaf("provinciaResidenza", province);
            w.close("richiestaMarcaDaBollo");
        }
    }
    w.leaf("remittanceInformation", &t.remittance);
    w.leaf("transferCategory", &t.category);
    if !t.metadata.is_empty() {
        w.open("metadata");
        for (key, value) in &t.metadata {
            w.open("mapEntry").leaf("key", key).leaf("value", value).close("mapEntry");
        }
        w.close("metadata");
    }
    w.close("transfer");
}

/// `data` of a getPayment (V1, `v2` false) or getPaymentV2 answer.
pub fn write_payment_data(w: &mut XmlWriter, view: &PaymentView, due_date: &str, v2: bool) {
    w.open("data");
    w.leaf("creditorReferenceId", view.debt.iuv.as_ref().map(crate::domain::Iuv::as_str).unwrap_or_default());
    w.leaf("paymentAmount", &view.amount().to_decimal_string());
    w.leaf("dueDate", due_date);
    w.leaf("description", &truncate(&view.debt.causale, 140));
    w.leaf("companyName", &truncate(&view.org.name, 140));
    w.leaf_opt("officeName", view.debt_type.sector.as_deref().map(|s| truncate(s, 140)).as_deref());
    write_subject(w, "debtor", &view.debt);
    w.open("transferList");
    for t in &view.transfers {
        write_transfer(w, t, v2);
    }
    w.close("transferList");
    w.close("data");
}

/// `qrCode` of a demand answer.
pub fn write_qr_code(w: &mut XmlWriter, fiscal_code: &str, notice: &str) {
    w.open("qrCode").leaf("fiscalCode", fiscal_code).leaf("noticeNumber", notice).close("qrCode");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::domain::receipt_shape::ShapeProblem;

    /// A thousand transfers make one issue for those past the fifth, not one each.
    #[test]
    fn a_flood_of_transfers_is_one_issue() {
        let transfer = "<transfer><idTransfer>1</idTransfer></transfer>";
        let body = format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:paf=\"{PAF_NS}\">\
             <soapenv:Body><paf:paSendRTV2Request><idPA>01234567897</idPA><idBrokerPA>99999000013</idBrokerPA>\
             <idStation>99999000013_01</idStation><receipt><transferList>{}</transferList></receipt>\
             </paf:paSendRTV2Request></soapenv:Body></soapenv:Envelope>",
            transfer.repeat(1000)
        );
        let payload = crate::soap::parse_envelope(body.as_bytes()).unwrap();
        let req = send_rt_request(&payload, true, &body).unwrap();
        let ignored: Vec<_> = req.issues.iter().filter(|i| i.problem == ShapeProblem::Ignored).collect();
        assert_eq!(ignored.len(), 1);
        assert_eq!(ignored[0].field, "receipt/transferList/transfer[6]");
        assert!(req.issues.len() < 60, "{} issues", req.issues.len());
    }
}
