//! The Node's payment of a notice, shared by Checkout carts and the PSP counter: lock the notice,
//! paVerifyPaymentNotice, paGetPayment(V2), the Node's checks, then (once the PSP has the money)
//! the receipt and its delivery. Station calls happen without the state lock.

use super::config::Psp;
use super::delivery;
use super::node_fault::NodeFault;
use super::payment_data::{self, CheckError, PaymentData, VerifyInfo};
use super::receipts::Receipt;
use super::state::{NoticeLock, Sim, random_hex32};
use super::station_client::{self, GetPaymentArgs};
use crate::clock;
use crate::domain::Cents;

/// A notice the station has confirmed for payment, holding the Node's lock.
#[derive(Debug, Clone)]
pub struct Activation {
    pub fiscal_code: String,
    pub notice_number: String,
    pub verify: VerifyInfo,
    pub data: PaymentData,
}

/// What to activate.
#[derive(Debug, Clone)]
pub struct ActivateArgs<'a> {
    pub fiscal_code: &'a str,
    pub notice_number: &'a str,
    /// The amount the payer was shown (cart amount); `None` takes the verify amount.
    pub expected_amount: Option<Cents>,
    pub payment_note: Option<&'a str>,
    pub postal: bool,
}

/// Verifies and activates one notice. On failure the notice is unlocked again.
pub fn activate(sim: &Sim, args: &ActivateArgs<'_>) -> Result<Activation, NodeFault> {
    let key = (args.fiscal_code.to_owned(), args.notice_number.to_owned());
    if !sim.config.orgs.is_empty() && !sim.config.orgs.iter().any(|org| org == args.fiscal_code) {
        return Err(NodeFault::unknown_org(format!("org {} is not served by the station", args.fiscal_code)));
    }
    {
        let mut inner = sim.lock();
        match inner.notices.get(&key) {
            Some(NoticeLock::Paid) => {
                return Err(NodeFault::already_paid(format!("notice {} is already paid", args.notice_number)));
            }
            Some(NoticeLock::InProgress) => {
                return Err(NodeFault::in_progress(format!("notice {} is being paid", args.notice_number)));
            }
            None => {
                inner.notices.insert(key.clone(), NoticeLock::InProgress);
            }
        }
    }
    let result = verify_and_get(sim, args);
    if result.is_err() {
        sim.lock().notices.remove(&key);
    }
    result
}

fn verify_and_get(sim: &Sim, args: &ActivateArgs<'_>) -> Result<Activation, NodeFault> {
    let config = &sim.config;
    let verify_call = station_client::verify_request(config, args.fiscal_code, args.notice_number);
    let answer = sim.station.send(&verify_call)?;
    let verify = payment_data::parse_verify(&answer)
        .map_err(|reason| NodeFault::bad_response(format!("paVerifyPaymentNotice: {reason}")))?;
    let expected = args.expected_amount.unwrap_or(verify.amount);
    let get_call = station_client::get_payment_request(
        config,
        &GetPaymentArgs {
            fiscal_code: args.fiscal_code,
            notice_number: args.notice_number,
            amount: expected,
            payment_note: args.payment_note,
            postal: args.postal,
        },
    );
    let answer = sim.station.send(&get_call)?;
    let data = payment_data::parse_payment(&answer, config.primitive_version)
        .map_err(|reason| NodeFault::bad_response(format!("{}: {reason}", get_call.action)))?;
    payment_data::check_payment(&data, args.notice_number, expected, &config.iban_registry).map_err(
        |err| match err {
            CheckError::Invalid(reason) => NodeFault::bad_response(format!("{}: {reason}", get_call.action)),
            CheckError::IbanNotRegistered(reason) => NodeFault::iban_not_registered(reason),
        },
    )?;
    Ok(Activation {
        fiscal_code: args.fiscal_code.to_owned(),
        notice_number: args.notice_number.to_owned(),
        verify,
        data,
    })
}

/// Gives the lock of activated notices back when the payment does not happen.
pub fn release(sim: &Sim, activations: &[Activation]) {
    let mut inner = sim.lock();
    for activation in activations {
        inner.notices.remove(&(activation.fiscal_code.clone(), activation.notice_number.clone()));
    }
}

/// The PSP has collected the money: one receipt per activation (receiptId = a fresh 32-hex
/// token), delivered to the station right away and then retried in the background. Returns the
/// tokens in the order of `activations`.
pub fn pay(sim: &Sim, activations: &[Activation], psp: &Psp, payment_note: Option<&str>) -> Vec<String> {
    let paid_at = clock::Now::read().instant();
    let (copies, delay_ms, skip) = {
        let inner = sim.lock();
        (if inner.faults.deliver_twice { 2 } else { 1 }, inner.faults.receipt_delay_ms, inner.faults.skip_receipts)
    };
    let mut tokens = Vec::new();
    let mut deliveries = Vec::new();
    for activation in activations {
        let token = random_hex32();
        let receipt = Receipt::build(
            &token,
            (&activation.fiscal_code, &activation.notice_number),
            &activation.verify,
            &activation.data,
            psp,
            payment_note,
            paid_at,
        );
        let call = station_client::send_rt_request(
            &sim.config,
            &activation.fiscal_code,
            &receipt.to_xml(sim.config.primitive_version),
        );
        {
            let mut inner = sim.lock();
            inner.receipts.insert(token.clone(), receipt);
            if skip {
                inner.skipped.insert(token.clone());
            }
            inner.notices.insert((activation.fiscal_code.clone(), activation.notice_number.clone()), NoticeLock::Paid);
        }
        tracing::info!(
            notice = %activation.notice_number,
            org = %activation.fiscal_code,
            token = %token,
            psp = %psp.id,
            "payment executed; delivering the receipt"
        );
        if skip {
            tracing::info!(token = %token, "receipt kept from the station (skip_receipts)");
        } else if delay_ms > 0 {
            delivery::enqueue_delayed(sim, &token, &call, copies, std::time::Duration::from_millis(delay_ms));
        } else {
            deliveries.extend(delivery::enqueue(sim, &token, &call, copies, true));
        }
        tokens.push(token);
    }
    for id in deliveries {
        delivery::attempt(sim, id);
    }
    tokens
}
