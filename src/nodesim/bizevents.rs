//! pagoPA's biz-events receipt API for organizations (pagopa.md §4.6), as the simulator answers
//! it: `GET /bizevents/service/v1/organizations/{cf}/receipts/{iur}[/paymentoptions/{iuv}]` gives
//! the receipt of a payment the simulator executed (iur = the payment token, its receiptId), in
//! the JSON shape of `getOrganizationReceipt` (CtReceiptModelResponse: ctReceiptV2's fields, amounts
//! as decimal euro numbers); 404 when it knows none; 429 past its own limit of
//! [`CALLS_PER_WINDOW`] calls in any [`WINDOW_MINUTES`] minutes, as pagoPA throttles each
//! subscription. A receipt the `skip_receipts` fault switch kept from the station is found here.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::payment_data::{Subject, TransferTarget};
use super::receipts::Receipt;
use super::state::Sim;
use crate::web::Response;

/// pagoPA's throttle: calls per subscription in any window.
pub const CALLS_PER_WINDOW: usize = 10;
/// The window of [`CALLS_PER_WINDOW`], in minutes.
pub const WINDOW_MINUTES: i64 = 60;

/// The instants of the calls of the last window, oldest first.
#[derive(Debug, Default)]
pub struct Throttle {
    calls: VecDeque<Timestamp>,
}

impl Throttle {
    /// Counts a call at `now`; `Err(seconds)` when the window is full, with how long until it frees.
    pub fn admit(&mut self, now: Timestamp) -> Result<(), i64> {
        let window = SignedDuration::from_mins(WINDOW_MINUTES);
        while self.calls.front().is_some_and(|first| *first + window <= now) {
            self.calls.pop_front();
        }
        if self.calls.len() >= CALLS_PER_WINDOW {
            let first = self.calls.front().copied().unwrap_or(now);
            return Err((first + window).duration_since(now).as_secs().max(1));
        }
        self.calls.push_back(now);
        Ok(())
    }
}

/// `GET .../organizations/{cf}/receipts/{iur}[/paymentoptions/{iuv}]`.
pub fn get(sim: &Sim, org: &str, iur: &str, iuv: Option<&str>) -> Response {
    let found = {
        let mut inner = sim.lock();
        if let Err(seconds) = inner.bizevents.admit(crate::clock::Now::read().instant()) {
            return Response::json(
                429,
                &json!({ "statusCode": 429, "message": format!("Rate limit is exceeded. Try again in {seconds} seconds.") }),
            )
            .with_header("Retry-After", seconds.to_string());
        }
        inner
            .receipts
            .get(iur)
            .filter(|r| r.fiscal_code == org && iuv.is_none_or(|iuv| r.creditor_reference_id == iuv))
            .cloned()
    };
    match found {
        Some(receipt) => Response::json(200, &receipt_json(&receipt)),
        None => Response::json(
            404,
            &json!({ "title": "Not Found", "status": 404, "detail": format!("Unable to find the receipt with id {iur}") }),
        ),
    }
}

fn amount(cents: crate::domain::Cents) -> Value {
    // A decimal number, as the API writes amounts; two decimals read exactly back.
    serde_json::from_str(&cents.to_decimal_string()).unwrap_or(Value::Null)
}

fn subject(s: &Subject) -> Value {
    json!({
        "entityUniqueIdentifierType": s.kind,
        "entityUniqueIdentifierValue": s.value,
        "fullName": s.full_name,
        "streetName": s.street_name,
        "civicNumber": s.civic_number,
        "postalCode": s.postal_code,
        "city": s.city,
        "stateProvinceRegion": s.state_province_region,
        "country": s.country,
        "eMail": s.email,
    })
}

fn metadata(pairs: &[(String, String)]) -> Value {
    Value::Array(pairs.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect())
}

/// The receipt as `getOrganizationReceipt` answers it.
pub fn receipt_json(r: &Receipt) -> Value {
    let transfers: Vec<Value> = r
        .transfers
        .iter()
        .map(|t| {
            let iban = match &t.target {
                TransferTarget::Iban(iban) => Some(iban.as_str()),
                TransferTarget::Stamp { .. } => None,
            };
            json!({
                "idTransfer": t.id.to_string(),
                "transferAmount": amount(t.amount),
                "fiscalCodePA": t.fiscal_code_pa,
                "companyName": t.company_name,
                "remittanceInformation": t.remittance,
                "transferCategory": t.category,
                "metadata": metadata(&t.metadata),
                "IBAN": iban,
            })
        })
        .collect();
    json!({
        "receiptId": r.receipt_id,
        "noticeNumber": r.notice_number,
        "fiscalCode": r.fiscal_code,
        "outcome": "OK",
        "creditorReferenceId": r.creditor_reference_id,
        "paymentAmount": amount(r.payment_amount),
        "description": r.description,
        "companyName": r.company_name,
        "officeName": r.office_name,
        "debtor": subject(&r.debtor),
        "transferList": transfers,
        "idPSP": r.psp.id,
        "pspFiscalCode": r.psp.fiscal_code,
        "PSPCompanyName": r.psp.name,
        "idChannel": r.psp.channel_id,
        "channelDescription": r.psp.channel_description,
        "payer": subject(&r.payer),
        "paymentMethod": "creditCard",
        "fee": amount(r.psp.fee),
        "paymentDateTime": r.payment_date_time(),
        "applicationDate": r.application_date.to_string(),
        "transferDate": r.transfer_date.to_string(),
        "metadata": metadata(&r.metadata),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_admits_ten_calls_in_any_hour() {
        let mut throttle = Throttle::default();
        let start: Timestamp = "2026-12-07T09:00:00Z".parse().unwrap();
        for i in 0..10 {
            assert_eq!(throttle.admit(start + SignedDuration::from_mins(i)), Ok(()));
        }
        assert_eq!(throttle.admit(start + SignedDuration::from_mins(30)), Err(30 * 60));
        assert_eq!(throttle.admit(start + SignedDuration::from_mins(60)), Ok(()), "the first call left the window");
        assert!(throttle.admit(start + SignedDuration::from_mins(60)).is_err());
    }

    #[test]
    fn a_receipt_reads_as_the_api_writes_it() {
        let receipt = super::super::receipts::tests::sample(false);
        let v = receipt_json(&receipt);
        assert_eq!(v["receiptId"], receipt.receipt_id.as_str());
        let cents = receipt.payment_amount.get();
        assert_eq!(v["paymentAmount"].as_f64(), Some(cents as f64 / 100.0));
        assert_eq!(v["transferList"][0]["idTransfer"], "1");
        assert_eq!(v["transferList"][0]["IBAN"], "IT60X0542811101000000123456");
        assert_eq!(v["debtor"]["entityUniqueIdentifierValue"], "RSSMRA80A01H501U");
    }
}
