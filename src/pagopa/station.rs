//! The station: what the pagoPA Node calls at `/ws/fesp/` (paForNode, reference/pagopa.md §1).
//!
//! One entry point, [`handle`]: read the envelope, find the operation from the payload element
//! (or, when the payload is unreadable, from SOAPAction), check the caller's identity, call the
//! payments service, and write the answer. Contract errors are answered in-band with HTTP 200,
//! `outcome=KO` and a fault bean; only a request that names no operation at all gets an HTTP 400
//! SOAP Fault. Every exchange is journaled with both payloads and its duration.

use std::time::Instant;

use super::faults::{Fault, PaaFault};
use super::wire::{self, Caller, Operation, PAF_NS};
use crate::clock::Now;
use crate::domain::NoticeNumber;
use crate::services::journal::{Journal, JournalEntry};
use crate::services::payments::{self, Exchange, PaymentError, ReceiptOutcome};
use crate::soap::{self, SoapError, XmlWriter};
use crate::store::Db;

/// The station's identity as registered with pagoPA.
#[derive(Debug, Clone)]
pub struct StationIdentity {
    pub broker_id: String,
    pub station_id: String,
}

/// What the station needs for one request.
pub struct Station<'a> {
    pub db: &'a Db,
    pub journal: &'a Journal,
    pub identity: &'a StationIdentity,
}

/// The HTTP answer: status and SOAP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// The notice number the Node's Stand-In probe uses; it must be answered fast and as unknown.
const PROBE_NOTICE: &str = "000000000000000000";

/// Handles one station request received at `now`, whose Europe/Rome day decides due dates.
pub fn handle(station: &Station<'_>, soap_action: Option<&str>, body: &[u8], now: Now) -> Reply {
    let started = Instant::now();
    let action = soap::soap_action(soap_action).and_then(Operation::from_name);
    let raw = String::from_utf8_lossy(body);
    let (op, result, org_id) = match soap::parse_envelope(body) {
        Err(err) => match action {
            Some(op) => (op, Err(syntax_fault(&err)), None),
            None => return unknown_operation(station, &raw, &format!("unreadable request: {err}"), now),
        },
        Ok(payload) => {
            let by_element = Operation::from_request_element(&payload.name);
            match (by_element, action) {
                (Some(op), _) if payload.ns.as_deref() == Some(PAF_NS) => {
                    let (result, org_id) = dispatch(station, op, &payload, &raw, now, started);
                    (op, result, org_id)
                }
                (Some(op), _) | (None, Some(op)) => {
                    let found = format!("{{{}}}{}", payload.ns.as_deref().unwrap_or(""), payload.name);
                    (op, Err(Fault::new(PaaFault::SintassiXsd, format!("unexpected element {found}"))), None)
                }
                (None, None) => {
                    return unknown_operation(station, &raw, &format!("unknown operation {}", payload.name), now);
                }
            }
        }
    };
    let (body, outcome) = match &result {
        Ok(inner) => (soap::envelope("paf", PAF_NS, inner), "OK".to_owned()),
        Err(fault) => (fault_response(op, fault, &id_pa_of(&raw)), fault.kind.code().to_owned()),
    };
    // A stored receipt journals itself inside its own transaction; everything else goes here.
    if !(matches!(op, Operation::SendRt | Operation::SendRtV2) && result.is_ok() && org_id.is_some()) {
        station.journal.record(
            station.db,
            JournalEntry {
                at: now.iso(),
                actor: "node".to_owned(),
                org_id,
                action: op.name().to_owned(),
                object: None,
                outcome,
                request: Some(raw.into_owned()),
                response: Some(body.clone()),
                duration_ms: Some(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
            },
        );
    }
    Reply { status: 200, body }
}

/// The id of the fault bean: the idPA of the request when it can be read (SANP), else empty.
fn id_pa_of(raw: &str) -> String {
    soap::parse_envelope(raw.as_bytes()).ok().and_then(|p| p.child_text("idPA").map(str::to_owned)).unwrap_or_default()
}

fn unknown_operation(station: &Station<'_>, raw: &str, reason: &str, now: Now) -> Reply {
    station.journal.record(
        station.db,
        JournalEntry {
            at: now.iso(),
            actor: "node".to_owned(),
            action: "station".to_owned(),
            outcome: "SOAP_FAULT".to_owned(),
            request: Some(raw.to_owned()),
            response: Some(reason.to_owned()),
            ..JournalEntry::default()
        },
    );
    Reply { status: 400, body: soap::fault_envelope("Client", reason) }
}

fn syntax_fault(err: &SoapError) -> Fault {
    Fault::new(PaaFault::SintassiExtraXsd, err.to_string())
}

fn fault_response(op: Operation, fault: &Fault, id: &str) -> String {
    let element = format!("paf:{}", op.response_element());
    let mut w = XmlWriter::new();
    w.open(&element).leaf("outcome", "KO");
    wire::write_fault(&mut w, fault.kind.code(), fault.kind.fault_string(), id, &fault.description);
    w.close(&element);
    soap::envelope("paf", PAF_NS, &w.finish())
}

/// Checks the caller's identity in the order the Node's documentation lists the faults.
fn check_caller(station: &Station<'_>, caller: &Caller) -> Result<i64, Fault> {
    if caller.id_broker_pa != station.identity.broker_id {
        return Err(Fault::new(
            PaaFault::IdIntermediarioErrato,
            format!("idBrokerPA {} is not ours", caller.id_broker_pa),
        ));
    }
    if caller.id_station != station.identity.station_id {
        return Err(Fault::new(PaaFault::StazioneIntErrata, format!("idStation {} is not ours", caller.id_station)));
    }
    match payments::served_org_id(station.db, &caller.id_pa) {
        Ok(Some(id)) => Ok(id),
        Ok(None) => {
            Err(Fault::new(PaaFault::IdDominioErrato, format!("idPA {} is not served by this station", caller.id_pa)))
        }
        Err(err) => {
            tracing::error!(error = %err, "station: cannot read orgs");
            Err(Fault::new(PaaFault::SystemError, "temporary failure"))
        }
    }
}

fn payment_fault(err: PaymentError) -> Fault {
    match err {
        PaymentError::UnknownOrg(_) | PaymentError::UnknownNotice(_) => {
            Fault::new(PaaFault::PagamentoSconosciuto, err.to_string())
        }
        PaymentError::AlreadyPaid(_) => Fault::new(PaaFault::PagamentoDuplicato, err.to_string()),
        PaymentError::Annulled(_) => Fault::new(PaaFault::PagamentoAnnullato, err.to_string()),
        PaymentError::Expired(_) => Fault::new(PaaFault::PagamentoScaduto, err.to_string()),
        PaymentError::Semantic(_) => Fault::new(PaaFault::Semantica, err.to_string()),
        PaymentError::Store(store) => {
            tracing::error!(error = %store, "station: store failure");
            Fault::new(PaaFault::SystemError, "temporary failure")
        }
    }
}

/// A request that breaks the schema: a syntax fault, except a notice number with a wrong check
/// digit, which simply names no notice of ours.
fn request_fault(reason: String) -> Fault {
    match reason.strip_prefix("#unknown:") {
        Some(number) => Fault::new(PaaFault::PagamentoSconosciuto, format!("notice {number} is unknown")),
        None => Fault::new(PaaFault::SintassiXsd, reason),
    }
}

type Answer = (Result<String, Fault>, Option<i64>);

fn dispatch(
    station: &Station<'_>,
    op: Operation,
    payload: &soap::Element,
    raw: &str,
    now: Now,
    started: Instant,
) -> Answer {
    match op {
        Operation::Verify | Operation::GetPayment | Operation::GetPaymentV2 => {
            notice_operation(station, op, payload, now)
        }
        Operation::SendRt | Operation::SendRtV2 => send_rt(station, op, payload, raw, now, started),
        Operation::Demand => demand(station, payload, now),
    }
}

fn notice_operation(station: &Station<'_>, op: Operation, payload: &soap::Element, now: Now) -> Answer {
    // Identity first when it can be read: a wrong broker or station is reported as such even if the
    // notice part is malformed.
    let caller = match wire::notice_request(payload) {
        Ok(req) => req.caller.clone(),
        Err(reason) if reason.starts_with("#unknown:") => match payload_caller(payload) {
            Some(c) => c,
            None => return (Err(request_fault(reason)), None),
        },
        Err(reason) => return (Err(request_fault(reason)), None),
    };
    let org_id = match check_caller(station, &caller) {
        Ok(id) => id,
        Err(fault) => return (Err(fault), None),
    };
    let req = match wire::notice_request(payload) {
        Ok(req) => req,
        Err(reason) => return (Err(request_fault(reason)), Some(org_id)),
    };
    if req.qr.notice.as_str() == PROBE_NOTICE {
        return (Err(Fault::new(PaaFault::PagamentoSconosciuto, "stand-in probe")), Some(org_id));
    }
    let element = format!("paf:{}", op.response_element());
    let mut w = XmlWriter::new();
    match op {
        Operation::Verify => match payments::verify(station.db, &req.qr.fiscal_code, &req.qr.notice, now.today()) {
            Ok(view) => {
                w.open(&element).leaf("outcome", "OK");
                wire::write_payment_list(&mut w, &view);
                wire::write_notice_description(&mut w, &view);
                w.close(&element);
            }
            Err(err) => return (Err(payment_fault(err)), Some(org_id)),
        },
        _ => match payments::get_payment(station.db, &req.qr.fiscal_code, &req.qr.notice, req.postal, now) {
            Ok(view) if view.has_stamp() && op == Operation::GetPayment => {
                let reason = "a digital stamp (marca da bollo) can only be paid with paGetPaymentV2";
                return (Err(Fault::new(PaaFault::Semantica, reason)), Some(org_id));
            }
            Ok(view) => {
                let due = view
                    .debt
                    .due_date
                    .map(|day| day.to_string())
                    .or(req.due_date.clone())
                    .unwrap_or_else(|| now.today().to_string());
                w.open(&element).leaf("outcome", "OK");
                wire::write_payment_data(&mut w, &view, &due, op == Operation::GetPaymentV2);
                w.close(&element);
            }
            Err(err) => return (Err(payment_fault(err)), Some(org_id)),
        },
    }
    (Ok(w.finish()), Some(org_id))
}

fn payload_caller(payload: &soap::Element) -> Option<Caller> {
    Some(Caller {
        id_pa: payload.child_text("idPA")?.to_owned(),
        id_broker_pa: payload.child_text("idBrokerPA")?.to_owned(),
        id_station: payload.child_text("idStation")?.to_owned(),
    })
}

fn send_rt(
    station: &Station<'_>,
    op: Operation,
    payload: &soap::Element,
    raw: &str,
    now: Now,
    started: Instant,
) -> Answer {
    let req = match wire::send_rt_request(payload, op == Operation::SendRtV2, raw) {
        Ok(req) => req,
        Err(reason) => return (Err(request_fault(reason)), None),
    };
    let org_id = match check_caller(station, &req.caller) {
        Ok(id) => id,
        Err(fault) => return (Err(fault), None),
    };
    let element = format!("paf:{}", op.response_element());
    let mut w = XmlWriter::new();
    w.open(&element).leaf("outcome", "OK").close(&element);
    let inner = w.finish();
    let response = soap::envelope("paf", PAF_NS, &inner);
    let exchange = Exchange {
        actor: "node",
        response: &response,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(0),
    };
    match payments::accept_receipt(station.db, &req.fiscal_code, req.receipt, &req.issues, &exchange, now) {
        Ok(ReceiptOutcome::Stored { .. }) => (Ok(inner), Some(org_id)),
        // A replay stored nothing, so it journals through the buffer like a read.
        Ok(ReceiptOutcome::Replay) => (Ok(inner), None),
        Err(PaymentError::UnknownOrg(code)) => (
            Err(Fault::new(PaaFault::IdDominioErrato, format!("receipt/fiscalCode {code} is not served"))),
            Some(org_id),
        ),
        Err(err) => (Err(payment_fault(err)), Some(org_id)),
    }
}

fn demand(station: &Station<'_>, payload: &soap::Element, now: Now) -> Answer {
    let req = match wire::demand_request(payload) {
        Ok(req) => req,
        Err(reason) => return (Err(request_fault(reason)), None),
    };
    let org_id = match check_caller(station, &req.caller) {
        Ok(id) => id,
        Err(fault) => return (Err(fault), None),
    };
    match payments::demand_notice(station.db, &req.caller.id_pa, &req.service_id, now) {
        Ok(view) => {
            let element = format!("paf:{}", Operation::Demand.response_element());
            let mut w = XmlWriter::new();
            w.open(&element).leaf("outcome", "OK");
            wire::write_qr_code(
                &mut w,
                &view.org.fiscal_code,
                view.debt.notice_number.as_ref().map(NoticeNumber::as_str).unwrap_or_default(),
            );
            wire::write_payment_list(&mut w, &view);
            wire::write_notice_description(&mut w, &view);
            w.close(&element);
            (Ok(w.finish()), Some(org_id))
        }
        Err(err) => (Err(payment_fault(err)), Some(org_id)),
    }
}
