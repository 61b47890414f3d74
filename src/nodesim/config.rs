//! The simulator's settings: a plain struct the CLI (or `mypay demo`) fills in. It has no keys in
//! `mypay.toml` because the simulator is a test and demo tool, not part of a production install.

use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::Cents;

/// Which generation of paForNode primitives the simulated Node uses towards the station
/// (pagoPA configures it per org–station association, `primitive_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimitiveVersion {
    /// paGetPayment + paSendRT.
    V1,
    /// paGetPaymentV2 + paSendRTV2 (per-transfer metadata, marca da bollo).
    V2,
}

impl PrimitiveVersion {
    /// `1` or `2`, as the CLI flag spells it.
    pub fn from_number(number: u8) -> Option<PrimitiveVersion> {
        match number {
            1 => Some(PrimitiveVersion::V1),
            2 => Some(PrimitiveVersion::V2),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        match self {
            PrimitiveVersion::V1 => 1,
            PrimitiveVersion::V2 => 2,
        }
    }
}

/// A fictitious payment service provider that "collects" the money and signs the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psp {
    /// idPSP; also the middle part of the flow ids (IUF), so letters and digits only.
    pub id: String,
    /// PSPCompanyName (3..70 characters).
    pub name: String,
    pub fiscal_code: String,
    /// The PSP's broker (pspBrokerId in FdR).
    pub broker_id: String,
    pub channel_id: String,
    /// channelDescription (at most 35 characters).
    pub channel_description: String,
    pub bic: String,
    /// The commission the PSP charges the payer, reported in the receipt's `fee`.
    pub fee: Cents,
}

/// Everything the simulator needs to know. Build it with [`SimConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where the simulator listens; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The host browsers reach the simulator at (Checkout's cart pages are on it, at the port
    /// the simulator listens on), as a URL writes it (`192.168.1.10`, `[fd00::1]`, a name), when
    /// it is not the address it listens on: the demo on all interfaces gives the machine's here.
    pub public_host: Option<String>,
    /// The station's paForNode endpoint, e.g. `http://127.0.0.1:8080/ws/fesp/`.
    pub station_url: String,
    /// idBrokerPA sent to the station (and expected on nodoChiedi*).
    pub broker_id: String,
    /// idStation sent to the station (and expected on nodoChiedi*).
    pub station_id: String,
    pub primitive_version: PrimitiveVersion,
    /// Fiscal codes of the orgs the station serves; empty accepts any org.
    pub orgs: Vec<String>,
    /// (fiscalCodePA, IBAN) pairs registered on the Node; when non-empty, a transfer to an IBAN not
    /// listed for its org fails the payment with PPT_IBAN_NON_CENSITO.
    pub iban_registry: Vec<(String, String)>,
    /// Pause between paSendRT attempts.
    pub retry_interval: Duration,
    /// Attempts after the first one before a receipt is given up.
    pub retry_count: u32,
    /// Timeout of paVerifyPaymentNotice, paGetPayment(V2) and paDemandPaymentNotice.
    pub request_timeout: Duration,
    /// Timeout of paSendRT(V2).
    pub send_rt_timeout: Duration,
    /// Expected `Ocp-Apim-Subscription-Key` on the Checkout and FdR APIs; empty: not checked.
    pub subscription_key: String,
    /// Expected station password on nodoChiedi*; empty: not checked.
    pub station_password: String,
    /// The PSPs offered on the cart page; the first is the default.
    pub psps: Vec<Psp>,
    /// HTTP worker threads.
    pub workers: usize,
}

impl SimConfig {
    /// The Node's own defaults: 7 s / 15 s timeouts, 48 hourly paSendRT retries, V2 primitives,
    /// any org, no IBAN registry, no keys, the two built-in PSPs, listening on a free loopback port.
    pub fn new(
        station_url: impl Into<String>,
        broker_id: impl Into<String>,
        station_id: impl Into<String>,
    ) -> SimConfig {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_host: None,
            station_url: station_url.into(),
            broker_id: broker_id.into(),
            station_id: station_id.into(),
            primitive_version: PrimitiveVersion::V2,
            orgs: Vec::new(),
            iban_registry: Vec::new(),
            retry_interval: Duration::from_secs(3600),
            retry_count: 48,
            request_timeout: Duration::from_secs(7),
            send_rt_timeout: Duration::from_secs(15),
            subscription_key: String::new(),
            station_password: String::new(),
            psps: default_psps(),
            workers: 4,
        }
    }

    /// The PSP with this id, or the first one when `id` is `None`.
    pub fn psp(&self, id: Option<&str>) -> Option<&Psp> {
        match id {
            Some(id) => self.psps.iter().find(|p| p.id == id),
            None => self.psps.first(),
        }
    }

    /// The problems that would make the simulator misbehave, in English.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.station_url.starts_with("http://") || self.station_url.starts_with("https://")) {
            problems.push(format!("station URL {:?} must start with http:// or https://", self.station_url));
        }
        for (name, value) in [("broker id", &self.broker_id), ("station id", &self.station_id)] {
            if value.is_empty() || value.chars().count() > 35 {
                problems.push(format!("{name} {value:?} must have 1 to 35 characters"));
            }
        }
        if let Some(host) = &self.public_host
            && (host.is_empty() || host.contains(['/', '?', '#', '@', ' ']))
        {
            problems.push(format!("public host {host:?} must be a host name or address"));
        }
        if self.psps.is_empty() {
            problems.push("at least one PSP is needed".to_owned());
        }
        for psp in &self.psps {
            if psp.id.is_empty() || !psp.id.bytes().all(|b| b.is_ascii_alphanumeric()) || psp.id.len() > 16 {
                problems.push(format!("PSP id {:?} must have 1 to 16 letters or digits", psp.id));
            }
        }
        if self.workers == 0 {
            problems.push("at least one HTTP worker is needed".to_owned());
        }
        problems
    }
}

/// Two fictitious PSPs, enough to see per-PSP reporting flows.
pub fn default_psps() -> Vec<Psp> {
    vec![
        Psp {
            id: "SIMPSP01".to_owned(),
            name: "Banca Simulata S.p.A.".to_owned(),
            fiscal_code: "88800000011".to_owned(),
            broker_id: "88800000011".to_owned(),
            channel_id: "88800000011_01".to_owned(),
            channel_description: "Carta di pagamento".to_owned(),
            bic: "SIMBITM1XXX".to_owned(),
            fee: Cents::new(100),
        },
        Psp {
            id: "SIMPSP02".to_owned(),
            name: "Istituto di Pagamento Fittizio S.p.A.".to_owned(),
            fiscal_code: "88800000022".to_owned(),
            broker_id: "88800000022".to_owned(),
            channel_id: "88800000022_01".to_owned(),
            channel_description: "Conto online".to_owned(),
            bic: "SIMPITR1XXX".to_owned(),
            fee: Cents::new(150),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_the_node_ones() {
        let config = SimConfig::new("http://127.0.0.1:8080/ws/fesp/", "99999000013", "99999000013_01");
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        assert_eq!(config.retry_count, 48);
        assert_eq!(config.retry_interval, Duration::from_secs(3600));
        assert_eq!(config.psp(None).map(|p| p.id.as_str()), Some("SIMPSP01"));
        assert_eq!(config.psp(Some("SIMPSP02")).map(|p| p.bic.as_str()), Some("SIMPITR1XXX"));
        assert!(config.psp(Some("NOPE")).is_none());
    }

    #[test]
    fn problems_are_named() {
        let mut config = SimConfig::new("ftp://x", "", "99999000013_01");
        config.psps.clear();
        let problems = config.problems().join("\n");
        assert!(problems.contains("station URL"), "{problems}");
        assert!(problems.contains("broker id"), "{problems}");
        assert!(problems.contains("PSP"), "{problems}");
    }
}
