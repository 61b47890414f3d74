//! Fault switches for tests and demos (`POST /sim/faults`, `DELETE /sim/faults`): they make the
//! simulator's answers to mypay (Checkout, FdR, nodeForPa) slow, missing or 500, make every new
//! receipt be delivered twice, or late (`receipt_delay_ms`: the first paSendRT waits in the retry
//! queue, so the payer's browser returns before the receipt), so mypay's timeouts, retries,
//! idempotency and waiting pages can be exercised, or never sent (`skip_receipts`: a lost
//! receipt, for receipt recovery).

use serde_json::{Value, json};

/// The active switches; all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// Close without answering.
    pub drop_answer: bool,
    /// Send each new receipt twice.
    pub deliver_twice: bool,
    /// Answer HTTP 500.
    pub answer_500: bool,
    /// Send each new receipt this long after the payment instead of at once.
    pub receipt_delay_ms: u64,
    /// Never send new receipts to the station (a lost paSendRT): they stay known to the FdR and
    /// to the biz-events receipt API, where mypay's receipt recovery finds them.
    pub skip_receipts: bool,
}

/// Longest delay accepted, so a typo cannot hang a worker for hours.
const MAX_DELAY_MS: u64 = 120_000;

impl Faults {
    /// Reads the JSON body of `POST /sim/faults`; missing fields are off.
    pub fn from_json(value: &Value) -> Result<Faults, String> {
        let Some(map) = value.as_object() else { return Err("the body must be a JSON object".to_owned()) };
        let mut faults = Faults::default();
        for (key, field) in map {
            match key.as_str() {
                "delay_ms" | "receipt_delay_ms" => {
                    let delay = field.as_u64().ok_or_else(|| format!("{key} must be a non-negative integer"))?;
                    if delay > MAX_DELAY_MS {
                        return Err(format!("{key} must be at most {MAX_DELAY_MS}"));
                    }
                    if key == "delay_ms" {
                        faults.delay_ms = delay;
                    } else {
                        faults.receipt_delay_ms = delay;
                    }
                }
                "drop_answer" | "deliver_twice" | "answer_500" | "skip_receipts" => {
                    let flag = field.as_bool().ok_or_else(|| format!("{key} must be true or false"))?;
                    match key.as_str() {
                        "drop_answer" => faults.drop_answer = flag,
                        "deliver_twice" => faults.deliver_twice = flag,
                        "skip_receipts" => faults.skip_receipts = flag,
                        _ => faults.answer_500 = flag,
                    }
                }
                other => return Err(format!("unknown switch {other:?}")),
            }
        }
        Ok(faults)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "delay_ms": self.delay_ms,
            "drop_answer": self.drop_answer,
            "deliver_twice": self.deliver_twice,
            "answer_500": self.answer_500,
            "receipt_delay_ms": self.receipt_delay_ms,
            "skip_receipts": self.skip_receipts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_switches_and_refuses_unknown_ones() {
        let faults = Faults::from_json(&json!({"delay_ms": 50, "deliver_twice": true})).unwrap();
        assert_eq!(faults, Faults { delay_ms: 50, deliver_twice: true, ..Faults::default() });
        assert_eq!(Faults::from_json(&json!({})).unwrap(), Faults::default());
        assert!(Faults::from_json(&json!({"delay": 1})).is_err());
        let late = Faults::from_json(&json!({"receipt_delay_ms": 3000})).unwrap();
        assert_eq!(late.receipt_delay_ms, 3000);
        assert!(Faults::from_json(&json!({"drop_answer": "yes"})).is_err());
        assert!(Faults::from_json(&json!({"delay_ms": 10_000_000})).is_err());
        assert!(Faults::from_json(&json!([1])).is_err());
        assert_eq!(faults.to_json()["delay_ms"], 50);
    }
}
