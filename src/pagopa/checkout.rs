//! mypay's client of pagoPA Checkout (reference/pagopa.md §6, checkout_v1/v2.json): creates a cart
//! of 1 to 5 notices and returns the Checkout address the citizen's browser must go to.
//!
//! Checkout answers `POST /carts` with a 302 whose Location is the payment page; the redirect is
//! not followed here, its target is handed back. The outcome never comes from the browser's return:
//! it arrives as a receipt at the station.

use std::time::Duration;

use serde_json::json;

use crate::domain::{Cents, NoticeNumber};

/// Path of the Checkout API for creditor institutions under the Node's base URL.
pub const CHECKOUT_PATH: &str = "/checkout/ec";

/// One notice of a cart.
#[derive(Debug, Clone)]
pub struct CartNotice {
    pub notice_number: NoticeNumber,
    pub fiscal_code: String,
    pub amount: Cents,
    pub company_name: String,
    pub description: String,
}

impl CartNotice {
    /// The notices of payable debts as Checkout wants them (a debt without a notice number is
    /// left out: it cannot be paid through pagoPA).
    pub fn of_views(views: &[crate::services::payments::PaymentView]) -> Vec<CartNotice> {
        views
            .iter()
            .filter_map(|v| {
                Some(CartNotice {
                    notice_number: v.debt.notice_number.clone()?,
                    fiscal_code: v.org.fiscal_code.clone(),
                    amount: v.amount(),
                    company_name: v.org.name.clone(),
                    description: v.debt.causale.clone(),
                })
            })
            .collect()
    }
}

/// Where Checkout sends the browser back.
#[derive(Debug, Clone)]
pub struct ReturnUrls {
    pub ok: String,
    pub cancel: String,
    pub error: String,
    /// Only for v2: the page for a payment still being confirmed.
    pub waiting: Option<String>,
}

/// A cart to create.
#[derive(Debug, Clone)]
pub struct Cart {
    pub notices: Vec<CartNotice>,
    pub return_urls: ReturnUrls,
    pub id_cart: Option<String>,
    pub email: Option<String>,
    pub all_ccp: bool,
}

/// Why a cart could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("a cart holds 1 to 5 notices, this one has {0}")]
    Size(usize),
    #[error("cannot reach Checkout at {url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("Checkout refused the cart: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("Checkout answered {status} without a Location")]
    NoLocation { status: u16 },
}

/// Creates the cart with API version 1 or 2 (v2 needs `return_urls.waiting`); returns the URL of
/// the Checkout page.
pub fn create_cart(base_url: &str, subscription_key: &str, cart: &Cart, v2: bool) -> Result<String, CheckoutError> {
    if cart.notices.is_empty() || cart.notices.len() > 5 {
        return Err(CheckoutError::Size(cart.notices.len()));
    }
    let notices: Vec<_> = cart
        .notices
        .iter()
        .map(|n| {
            json!({
                "noticeNumber": n.notice_number.as_str(), "fiscalCode": n.fiscal_code, "amount": n.amount.get(),
                "companyName": n.company_name.chars().take(140).collect::<String>(),
                "description": n.description.chars().take(140).collect::<String>(),
            })
        })
        .collect();
    let mut urls = json!({
        "returnOkUrl": cart.return_urls.ok, "returnCancelUrl": cart.return_urls.cancel,
        "returnErrorUrl": cart.return_urls.error,
    });
    if v2 && let (Some(obj), Some(waiting)) = (urls.as_object_mut(), &cart.return_urls.waiting) {
        obj.insert("returnWaitingUrl".to_owned(), json!(waiting));
    }
    let mut body = json!({ "paymentNotices": notices, "returnUrls": urls, "allCCP": cart.all_ccp });
    if let Some(obj) = body.as_object_mut() {
        if let Some(id) = &cart.id_cart {
            obj.insert("idCart".to_owned(), json!(id));
        }
        if let Some(email) = &cart.email {
            obj.insert("emailNotice".to_owned(), json!(email));
        }
    }
    let url = format!("{}{CHECKOUT_PATH}/{}/carts", base_url.trim_end_matches('/'), if v2 { "v2" } else { "v1" });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into();
    let mut res = agent
        .post(&url)
        .header("Ocp-Apim-Subscription-Key", subscription_key)
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|err| CheckoutError::Transport { url: url.clone(), reason: err.to_string() })?;
    let status = res.status().as_u16();
    if (300..400).contains(&status) {
        return res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or(CheckoutError::NoLocation { status });
    }
    let text = res.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    Err(CheckoutError::Refused { status, body: text })
}
