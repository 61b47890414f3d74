//! The simulator's memory: carts, issued receipts, their deliveries, reporting flows and the fault
//! switches, behind one mutex. It is a test and demo tool, so nothing is persisted; what matters
//! is that a receipt waiting for the station is retried, never dropped.
//! **Invariant:** the lock is never held across an HTTP call.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::checkout::Cart;
use super::config::SimConfig;
use super::delivery::Delivery;
use super::faults::Faults;
use super::fdr::Flow;
use super::receipts::Receipt;
use super::station_client::StationClient;

/// Why a notice cannot be activated again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLock {
    /// An activation is running (PPT_PAGAMENTO_IN_CORSO).
    InProgress,
    /// A receipt exists (PPT_PAGAMENTO_DUPLICATO).
    Paid,
}

/// Everything the simulator knows; shared by the HTTP workers and the delivery thread.
pub struct Sim {
    pub config: SimConfig,
    /// Where browsers reach the simulator (`SimConfig::public_url`, or where it answers).
    pub public_url: String,
    pub station: StationClient,
    inner: Mutex<Inner>,
    /// Wakes the delivery thread when a delivery is due earlier than it planned, or on stop.
    pub wake: Condvar,
    stop: AtomicBool,
}

/// The mutable part.
#[derive(Default)]
pub struct Inner {
    pub carts: BTreeMap<String, Cart>,
    /// Receipts by receiptId (payment token).
    pub receipts: BTreeMap<String, Receipt>,
    pub deliveries: Vec<Delivery>,
    pub next_delivery_id: u64,
    /// Notices paid or being paid, by (fiscalCode, noticeNumber): the Node's own lock, so one
    /// notice is never paid twice through the simulator.
    pub notices: HashMap<(String, String), NoticeLock>,
    pub flows: Vec<Flow>,
    /// (receiptId, idTransfer) already put in a flow.
    pub reported: HashSet<(String, u8)>,
    pub next_flow_seq: u64,
    pub faults: Faults,
    /// Receipts the `skip_receipts` switch kept from the station: the PSP reports them all the same.
    pub skipped: HashSet<String>,
    /// The biz-events receipt API's calls of the last hour, for its 429.
    pub bizevents: super::bizevents::Throttle,
}

impl Sim {
    pub fn new(config: SimConfig, public_url: String) -> Sim {
        let station = StationClient::new(&config);
        Sim {
            config,
            public_url,
            station,
            inner: Mutex::new(Inner::default()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        }
    }

    /// The state, even after a worker panicked while holding it: every update is a few field
    /// assignments, so a poisoned state is still consistent enough for a simulator.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on [`Sim::wake`] with the lock, for the delivery thread.
    pub fn wait<'a>(&self, guard: MutexGuard<'a, Inner>, timeout: std::time::Duration) -> MutexGuard<'a, Inner> {
        match self.wake.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// 32 lowercase hex digits from the OS random source: payment tokens and cart ids.
pub fn random_hex32() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Without an OS random source, a time-derived id keeps the simulator usable; tokens only
        // need to be unique here, not secret.
        let nanos = crate::clock::Now::read().instant().as_nanosecond();
        bytes = nanos.to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_32_hex_and_differ() {
        let a = random_hex32();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, random_hex32());
    }
}
