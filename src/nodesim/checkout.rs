//! Checkout, the pagoPA front-end an org redirects its citizens to: the carts API
//! (`POST /checkout/ec/v{1,2}/carts`, checkout_v1.json / checkout_v2.json, pagopa.md §6), the cart
//! page `/c/{cartId}` where a person (or a script) chooses the outcome, and the status endpoint
//! tests read.

use serde_json::{Value, json};

use super::http::{Request, parse_urlencoded};
use super::node_fault::NodeFault;
use super::pages;
use super::payment::{self, ActivateArgs};
use super::state::{Sim, random_hex32};
use crate::domain::{Cents, Email};
use crate::web::Response;

/// One notice of a cart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartNotice {
    pub notice_number: String,
    pub fiscal_code: String,
    pub amount: Cents,
    pub company_name: String,
    pub description: String,
}

/// Where the browser goes back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrls {
    pub ok: String,
    pub cancel: String,
    pub error: String,
    /// v2 only.
    pub waiting: Option<String>,
}

/// Where a cart stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartState {
    Created,
    /// The Node is talking to the station.
    InProgress,
    Paid,
    Cancelled,
    Failed,
}

impl CartState {
    fn label(&self) -> &'static str {
        match self {
            CartState::Created => "CREATED",
            CartState::InProgress => "IN_PROGRESS",
            CartState::Paid => "PAID",
            CartState::Cancelled => "CANCELLED",
            CartState::Failed => "FAILED",
        }
    }
}

/// A cart as Checkout keeps it.
#[derive(Debug, Clone)]
pub struct Cart {
    pub id: String,
    pub api_version: u8,
    pub notices: Vec<CartNotice>,
    pub return_urls: ReturnUrls,
    pub email_notice: Option<String>,
    pub id_cart: Option<String>,
    pub all_ccp: bool,
    pub state: CartState,
    /// The payment tokens, one per notice, once paid.
    pub tokens: Vec<String>,
    pub fault: Option<NodeFault>,
    pub psp: Option<String>,
}

impl Cart {
    pub fn total(&self) -> Cents {
        self.notices.iter().fold(Cents::ZERO, |acc, n| acc.checked_add(n.amount).unwrap_or(acc))
    }
}

/// The cart request's fields, validated (no id, no state yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartRequest {
    pub notices: Vec<CartNotice>,
    pub return_urls: ReturnUrls,
    pub email_notice: Option<String>,
    pub id_cart: Option<String>,
    pub all_ccp: bool,
}

/// Validates a CartRequest (v1) or CartRequestV2 (v2); the error is the ProblemJson `detail`.
pub fn parse_cart_request(body: &[u8], version: u8) -> Result<CartRequest, String> {
    let value: Value = serde_json::from_slice(body).map_err(|err| format!("the body is not valid JSON: {err}"))?;
    let obj = value.as_object().ok_or("the body must be a JSON object")?;
    let list =
        obj.get("paymentNotices").and_then(Value::as_array).ok_or("paymentNotices is required and must be an array")?;
    if list.is_empty() || list.len() > 5 {
        return Err(format!("paymentNotices has {} items; 1 to 5 are allowed", list.len()));
    }
    let mut notices = Vec::new();
    for (idx, item) in list.iter().enumerate() {
        let notice = parse_notice(item).map_err(|reason| format!("paymentNotices[{idx}]: {reason}"))?;
        if notices
            .iter()
            .any(|n: &CartNotice| n.notice_number == notice.notice_number && n.fiscal_code == notice.fiscal_code)
        {
            return Err(format!("paymentNotices[{idx}]: notice {} appears twice", notice.notice_number));
        }
        notices.push(notice);
    }
    let urls =
        obj.get("returnUrls").and_then(Value::as_object).ok_or("returnUrls is required and must be an object")?;
    let url = |name: &str| -> Result<String, String> {
        let text = urls.get(name).and_then(Value::as_str).ok_or_else(|| format!("returnUrls.{name} is required"))?;
        if text.is_empty() || text.len() > 2048 || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("returnUrls.{name} is not a valid URI"));
        }
        Ok(text.to_owned())
    };
    let return_urls = ReturnUrls {
        ok: url("returnOkUrl")?,
        cancel: url("returnCancelUrl")?,
        error: url("returnErrorUrl")?,
        waiting: if version >= 2 { Some(url("returnWaitingUrl")?) } else { None },
    };
    let email_notice = match obj.get("emailNotice") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Email::parse(text).map_err(|err| format!("emailNotice: {err}"))?;
            Some(text.clone())
        }
        Some(_) => return Err("emailNotice must be a string".to_owned()),
    };
    let id_cart = match obj.get("idCart") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !text.is_empty() && text.chars().count() <= 210 => Some(text.clone()),
        Some(_) => return Err("idCart must be a string of 1 to 210 characters (it travels as paymentNote)".to_owned()),
    };
    // The OpenAPI example spells the boolean as a string, so both forms are accepted.
    let all_ccp = match obj.get("allCCP") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) if text == "true" || text == "false" => text == "true",
        Some(_) => return Err("allCCP must be a boolean".to_owned()),
    };
    Ok(CartRequest { notices, return_urls, email_notice, id_cart, all_ccp })
}

fn parse_notice(item: &Value) -> Result<CartNotice, String> {
    let obj = item.as_object().ok_or("must be an object")?;
    let text = |name: &str| obj.get(name).and_then(Value::as_str).ok_or_else(|| format!("{name} is required"));
    let notice_number = text("noticeNumber")?;
    if notice_number.len() != 18 || !notice_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("noticeNumber {notice_number:?} must be 18 digits"));
    }
    let fiscal_code = text("fiscalCode")?;
    if fiscal_code.len() != 11 || !fiscal_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("fiscalCode {fiscal_code:?} must be 11 digits"));
    }
    let amount =
        obj.get("amount").and_then(Value::as_i64).ok_or("amount is required and must be an integer (cents)")?;
    if amount < 1 || amount > Cents::MAX_AMOUNT.get() {
        return Err(format!("amount {amount} must be between 1 and {} cents", Cents::MAX_AMOUNT.get()));
    }
    let company_name = text("companyName")?;
    let description = text("description")?;
    for (name, value) in [("companyName", company_name), ("description", description)] {
        if value.chars().count() > 140 {
            return Err(format!("{name} is longer than 140 characters"));
        }
    }
    Ok(CartNotice {
        notice_number: notice_number.to_owned(),
        fiscal_code: fiscal_code.to_owned(),
        amount: Cents::new(amount),
        company_name: company_name.to_owned(),
        description: description.to_owned(),
    })
}

fn problem(status: u16, title: &str, detail: &str, instance: &str) -> Response {
    Response::json(
        status,
        &json!({ "type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance }),
    )
}

/// `POST /checkout/ec/v{1,2}/carts`: 302 to the cart page, or 400 ProblemJson.
pub fn create(sim: &Sim, version: u8, request: &Request) -> Response {
    let parsed = match parse_cart_request(&request.body, version) {
        Ok(parsed) => parsed,
        Err(detail) => {
            tracing::info!(target: "nodesim", detail, "cart refused");
            return problem(400, "Bad Request", &detail, &request.path);
        }
    };
    let id = random_hex32();
    let cart = Cart {
        id: id.clone(),
        api_version: version,
        notices: parsed.notices,
        return_urls: parsed.return_urls,
        email_notice: parsed.email_notice,
        id_cart: parsed.id_cart,
        all_ccp: parsed.all_ccp,
        state: CartState::Created,
        tokens: Vec::new(),
        fault: None,
        psp: None,
    };
    tracing::info!(target: "nodesim", cart = %id, notices = cart.notices.len(), "cart created");
    sim.lock().carts.insert(id.clone(), cart);
    Response::empty(302).with_header("Location", format!("{}/c/{id}", sim.public_url))
}

/// `GET /c/{cartId}`.
pub fn page(sim: &Sim, id: &str) -> Response {
    let cart = sim.lock().carts.get(id).cloned();
    match cart {
        Some(cart) => Response::html(200, pages::cart(&cart, &sim.config.psps)),
        None => pages::not_found(),
    }
}

/// `POST /c/{cartId}` with `outcome` = OK | CANCEL | ERROR and optional `psp`.
pub fn submit(sim: &Sim, id: &str, request: &Request) -> Response {
    let form = parse_urlencoded(&String::from_utf8_lossy(&request.body));
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let outcome = field("outcome").unwrap_or_default();
    let psp_id = field("psp");
    let psp = match sim.config.psp(psp_id.as_deref()) {
        Some(psp) => psp.clone(),
        None => {
            return pages::message(400, "PSP sconosciuto", "Il prestatore di servizi di pagamento scelto non esiste.");
        }
    };
    if !matches!(outcome.as_str(), "OK" | "CANCEL" | "ERROR") {
        return pages::message(400, "Esito non valido", "Scegli se pagare, annullare o simulare un errore.");
    }
    // Claim the cart under the lock, so a double submit cannot pay twice.
    let cart = {
        let mut inner = sim.lock();
        let Some(cart) = inner.carts.get_mut(id) else { return pages::not_found() };
        match cart.state {
            CartState::Created => {}
            CartState::Paid => return see_other(&cart.return_urls.ok),
            CartState::Cancelled => return see_other(&cart.return_urls.cancel),
            CartState::Failed => return see_other(&cart.return_urls.error),
            CartState::InProgress => {
                return pages::message(409, "Pagamento in corso", "Il pagamento di questo carrello è già in corso.");
            }
        }
        cart.state = match outcome.as_str() {
            "OK" => CartState::InProgress,
            "CANCEL" => CartState::Cancelled,
            _ => CartState::Failed,
        };
        cart.psp = Some(psp.id.clone());
        cart.clone()
    };
    match outcome.as_str() {
        "CANCEL" => {
            tracing::info!(target: "nodesim", cart = %id, "cart cancelled by the payer");
            see_other(&cart.return_urls.cancel)
        }
        "ERROR" => {
            tracing::info!(target: "nodesim", cart = %id, "cart failed on request");
            see_other(&cart.return_urls.error)
        }
        _ => pay_cart(sim, &cart, &psp),
    }
}

fn pay_cart(sim: &Sim, cart: &Cart, psp: &super::config::Psp) -> Response {
    let mut activations = Vec::new();
    for notice in &cart.notices {
        let args = ActivateArgs {
            fiscal_code: &notice.fiscal_code,
            notice_number: &notice.notice_number,
            expected_amount: Some(notice.amount),
            payment_note: cart.id_cart.as_deref(),
            postal: cart.all_ccp,
        };
        match payment::activate(sim, &args) {
            Ok(activation) => activations.push(activation),
            Err(fault) => {
                payment::release(sim, &activations);
                tracing::warn!(target: "nodesim", cart = %cart.id, notice = %notice.notice_number, code = fault.code, reason = %fault.description, "cart payment failed");
                if let Some(stored) = sim.lock().carts.get_mut(&cart.id) {
                    stored.state = CartState::Failed;
                    stored.fault = Some(fault);
                }
                return see_other(&cart.return_urls.error);
            }
        }
    }
    let tokens = payment::pay(sim, &activations, psp, cart.id_cart.as_deref());
    if let Some(stored) = sim.lock().carts.get_mut(&cart.id) {
        stored.state = CartState::Paid;
        stored.tokens = tokens;
    }
    see_other(&cart.return_urls.ok)
}

fn see_other(location: &str) -> Response {
    Response::empty(303).with_header("Location", location)
}

/// `GET /sim/carts/{cartId}`: the cart, its tokens and every delivery attempt.
pub fn status(sim: &Sim, id: &str) -> Response {
    let inner = sim.lock();
    let Some(cart) = inner.carts.get(id) else {
        return Response::json(404, &json!({ "error": format!("cart {id} not found") }));
    };
    let receipts: Vec<Value> = cart
        .tokens
        .iter()
        .map(|token| {
            let deliveries: Vec<Value> =
                inner.deliveries.iter().filter(|d| &d.receipt_id == token).map(|d| d.to_json()).collect();
            let notice = inner.receipts.get(token).map(|r| r.notice_number.clone());
            json!({ "receiptId": token, "noticeNumber": notice, "deliveries": deliveries })
        })
        .collect();
    Response::json(
        200,
        &json!({
            "cartId": cart.id,
            "apiVersion": cart.api_version,
            "state": cart.state.label(),
            "idCart": cart.id_cart,
            "emailNotice": cart.email_notice,
            "allCCP": cart.all_ccp,
            "psp": cart.psp,
            "notices": cart.notices.iter().map(|n| json!({
                "noticeNumber": n.notice_number,
                "fiscalCode": n.fiscal_code,
                "amount": n.amount.get(),
            })).collect::<Vec<_>>(),
            "tokens": cart.tokens,
            "fault": cart.fault.as_ref().map(NodeFault::to_json),
            "receipts": receipts,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(version: u8, notices: Value) -> Vec<u8> {
        let mut urls = json!({"returnOkUrl": "http://ente/ok", "returnCancelUrl": "http://ente/ko", "returnErrorUrl": "http://ente/err"});
        if version == 2 {
            urls["returnWaitingUrl"] = json!("http://ente/wait");
        }
        json!({"paymentNotices": notices, "returnUrls": urls, "idCart": "c1", "allCCP": "true", "emailNotice": "a@b.it"})
            .to_string()
            .into_bytes()
    }

    fn notice() -> Value {
        json!({"noticeNumber": "301000000000000144", "fiscalCode": "01234567897", "amount": 3000, "companyName": "Comune", "description": "TARI"})
    }

    #[test]
    fn a_valid_cart_is_read() {
        let cart = parse_cart_request(&body(2, json!([notice()])), 2).unwrap();
        assert_eq!(cart.notices[0].amount, Cents::new(3000));
        assert!(cart.all_ccp);
        assert_eq!(cart.id_cart.as_deref(), Some("c1"));
        assert_eq!(cart.return_urls.waiting.as_deref(), Some("http://ente/wait"));
    }

    #[test]
    fn invalid_carts_are_refused_with_a_reason() {
        let err = |body: Vec<u8>, version: u8| parse_cart_request(&body, version).unwrap_err();
        assert!(err(body(1, json!([])), 1).contains("1 to 5"));
        assert!(
            err(body(1, json!([notice(), notice(), notice(), notice(), notice(), notice()])), 1).contains("1 to 5")
        );
        let mut bad = notice();
        bad["noticeNumber"] = json!("12345");
        assert!(err(body(1, json!([bad])), 1).contains("18 digits"));
        let mut bad = notice();
        bad["fiscalCode"] = json!("0123456789A");
        assert!(err(body(1, json!([bad])), 1).contains("11 digits"));
        let mut bad = notice();
        bad["amount"] = json!(0);
        assert!(err(body(1, json!([bad])), 1).contains("amount"));
        let mut bad = notice();
        bad["amount"] = json!(10.5);
        assert!(err(body(1, json!([bad])), 1).contains("integer"));
        let mut bad = notice();
        bad["description"] = json!("x".repeat(141));
        assert!(err(body(1, json!([bad])), 1).contains("140"));
        assert!(err(body(1, json!([notice(), notice()])), 1).contains("twice"));
        // v2 needs returnWaitingUrl.
        assert!(err(body(1, json!([notice()])), 2).contains("returnWaitingUrl"));
        assert!(err(b"nope".to_vec(), 1).contains("JSON"));
        let no_urls = json!({"paymentNotices": [notice()]}).to_string().into_bytes();
        assert!(err(no_urls, 1).contains("returnUrls"));
        let newline_url = json!({"paymentNotices": [notice()], "returnUrls": {"returnOkUrl": "http://a\r\nX: y", "returnCancelUrl": "x", "returnErrorUrl": "y"}});
        assert!(err(newline_url.to_string().into_bytes(), 1).contains("returnOkUrl"));
    }
}
