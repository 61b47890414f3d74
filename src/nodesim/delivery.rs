//! Receipt delivery: every paSendRT(V2) is a [`Delivery`] in the simulator's state, tried once
//! right away and then by a background thread every `retry_interval`, up to `retry_count` more
//! times, like the Node's 48 hourly retries (pagopa.md §1.6).
//!
//! Retried: timeouts, an unreachable station, invalid answers, `KO` with `PAA_SYSTEM_ERROR`.
//! Final: `OK` (delivered); any other `KO`, e.g. `PAA_RECEIPT_DUPLICATA` or `PAA_SEMANTICA`
//! (delivered with error, logged): the station has seen the receipt and retrying would not help.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::node_fault::NodeFault;
use super::state::Sim;
use super::station_client::SoapCall;
use crate::clock;

/// Where a delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Being sent right now.
    InFlight,
    Delivered,
    /// The station answered KO with this fault code; not retried.
    DeliveredWithError(String),
    /// Every attempt failed.
    GaveUp,
}

impl DeliveryState {
    pub fn label(&self) -> &'static str {
        match self {
            DeliveryState::Pending => "PENDING",
            DeliveryState::InFlight => "IN_FLIGHT",
            DeliveryState::Delivered => "DELIVERED",
            DeliveryState::DeliveredWithError(_) => "DELIVERED_WITH_ERROR",
            DeliveryState::GaveUp => "GAVE_UP",
        }
    }
}

/// One attempt and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// UTC, ISO 8601.
    pub at: String,
    /// `OK`, a fault code, or the Node fault code with the reason.
    pub result: String,
}

/// One paSendRT(V2) to send: a receipt may have two with `deliver_twice`.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: u64,
    pub receipt_id: String,
    /// 1, or 2 for the duplicate copy.
    pub copy: u8,
    pub call: SoapCall,
    pub state: DeliveryState,
    pub next_at: Instant,
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    pub fn to_json(&self) -> Value {
        let error = match &self.state {
            DeliveryState::DeliveredWithError(code) => Some(code.as_str()),
            _ => None,
        };
        json!({
            "copy": self.copy,
            "action": self.call.action,
            "state": self.state.label(),
            "faultCode": error,
            "attempts": self.attempts.iter().map(|a| json!({"at": a.at, "result": a.result})).collect::<Vec<_>>(),
        })
    }
}

/// What one attempt achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SendOutcome {
    Delivered,
    DeliveredWithError(String),
    Retry(String),
}

/// Queues `copies` deliveries of one receipt. With `now`, they are marked in flight for the caller
/// to send at once with [`attempt`]; otherwise the background thread picks them up.
pub fn enqueue(sim: &Sim, receipt_id: &str, call: &SoapCall, copies: u8, now: bool) -> Vec<u64> {
    enqueue_at(sim, receipt_id, call, copies, now, Instant::now())
}

/// Queues `copies` deliveries of one receipt for the background thread, first tried after `delay`
/// (the `receipt_delay_ms` fault switch).
pub fn enqueue_delayed(sim: &Sim, receipt_id: &str, call: &SoapCall, copies: u8, delay: Duration) -> Vec<u64> {
    enqueue_at(sim, receipt_id, call, copies, false, Instant::now() + delay)
}

fn enqueue_at(sim: &Sim, receipt_id: &str, call: &SoapCall, copies: u8, now: bool, first: Instant) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut inner = sim.lock();
    for copy in 1..=copies.max(1) {
        inner.next_delivery_id += 1;
        let id = inner.next_delivery_id;
        inner.deliveries.push(Delivery {
            id,
            receipt_id: receipt_id.to_owned(),
            copy,
            call: call.clone(),
            state: if now { DeliveryState::InFlight } else { DeliveryState::Pending },
            next_at: first,
            attempts: Vec::new(),
        });
        ids.push(id);
    }
    drop(inner);
    sim.wake.notify_all();
    ids
}

/// Sends delivery `id`, which the caller has marked in flight, and records the outcome.
pub fn attempt(sim: &Sim, id: u64) {
    let call = {
        let inner = sim.lock();
        match inner.deliveries.iter().find(|d| d.id == id) {
            Some(delivery) => delivery.call.clone(),
            None => return,
        }
    };
    let outcome = classify(sim.station.send(&call));
    record(sim, id, outcome);
}

fn classify(result: Result<crate::soap::Element, NodeFault>) -> SendOutcome {
    match result {
        Ok(_) => SendOutcome::Delivered,
        Err(fault) => match &fault.original {
            Some(paa) if paa.code == "PAA_SYSTEM_ERROR" => SendOutcome::Retry(paa.code.clone()),
            Some(paa) => SendOutcome::DeliveredWithError(paa.code.clone()),
            None => SendOutcome::Retry(format!("{}: {}", fault.code, fault.description)),
        },
    }
}

fn record(sim: &Sim, id: u64, outcome: SendOutcome) {
    let retry_count = sim.config.retry_count;
    let interval = sim.config.retry_interval;
    let mut inner = sim.lock();
    let Some(delivery) = inner.deliveries.iter_mut().find(|d| d.id == id) else { return };
    let result = match &outcome {
        SendOutcome::Delivered => "OK".to_owned(),
        SendOutcome::DeliveredWithError(code) | SendOutcome::Retry(code) => code.clone(),
    };
    delivery.attempts.push(Attempt { at: clock::Now::read().iso(), result });
    let attempts = delivery.attempts.len();
    delivery.state = match outcome {
        SendOutcome::Delivered => {
            tracing::info!(receipt = %delivery.receipt_id, copy = delivery.copy, attempts, "receipt delivered");
            DeliveryState::Delivered
        }
        SendOutcome::DeliveredWithError(code) => {
            tracing::warn!(receipt = %delivery.receipt_id, copy = delivery.copy, fault = %code, "station refused the receipt; not retried");
            DeliveryState::DeliveredWithError(code)
        }
        SendOutcome::Retry(reason) if u32::try_from(attempts).unwrap_or(u32::MAX) > retry_count => {
            tracing::error!(receipt = %delivery.receipt_id, attempts, reason = %reason, "receipt not delivered; giving up");
            DeliveryState::GaveUp
        }
        SendOutcome::Retry(reason) => {
            tracing::warn!(receipt = %delivery.receipt_id, attempts, reason = %reason, retry_in_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX), "receipt delivery failed; will retry");
            delivery.next_at = Instant::now() + interval;
            DeliveryState::Pending
        }
    };
    drop(inner);
    sim.wake.notify_all();
}

/// Longest sleep of the thread between looks at the queue; a stop request wakes it earlier.
const MAX_IDLE: Duration = Duration::from_secs(1);

/// Starts the retry thread; it returns when [`Sim::request_stop`] is called.
pub fn spawn(sim: Arc<Sim>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("nodesim-delivery".to_owned()).spawn(move || run(&sim))
}

fn run(sim: &Sim) {
    loop {
        let due: Vec<u64> = {
            let mut inner = sim.lock();
            if sim.stopping() {
                return;
            }
            let now = Instant::now();
            let mut due = Vec::new();
            for delivery in inner.deliveries.iter_mut() {
                if delivery.state == DeliveryState::Pending && delivery.next_at <= now {
                    delivery.state = DeliveryState::InFlight;
                    due.push(delivery.id);
                }
            }
            if due.is_empty() {
                let next = inner
                    .deliveries
                    .iter()
                    .filter(|d| d.state == DeliveryState::Pending)
                    .map(|d| d.next_at.saturating_duration_since(now))
                    .min()
                    .unwrap_or(MAX_IDLE)
                    .min(MAX_IDLE);
                drop(sim.wait(inner, next.max(Duration::from_millis(1))));
            }
            due
        };
        for id in due {
            if sim.stopping() {
                return;
            }
            attempt(sim, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodesim::node_fault::PaaFault;

    fn paa(code: &str) -> NodeFault {
        NodeFault::from_paa(PaaFault {
            code: code.to_owned(),
            string: "x".to_owned(),
            id: "1".to_owned(),
            description: None,
        })
    }

    #[test]
    fn what_is_retried() {
        assert_eq!(
            classify(Err(NodeFault::timeout("t"))),
            SendOutcome::Retry("PPT_STAZIONE_INT_PA_TIMEOUT: t".to_owned())
        );
        assert!(matches!(classify(Err(NodeFault::bad_response("b"))), SendOutcome::Retry(_)));
        assert!(matches!(classify(Err(paa("PAA_SYSTEM_ERROR"))), SendOutcome::Retry(_)));
        assert_eq!(
            classify(Err(paa("PAA_RECEIPT_DUPLICATA"))),
            SendOutcome::DeliveredWithError("PAA_RECEIPT_DUPLICATA".to_owned())
        );
        assert!(matches!(classify(Err(paa("PAA_SEMANTICA"))), SendOutcome::DeliveredWithError(_)));
    }
}
