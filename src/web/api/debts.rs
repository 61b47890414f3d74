//! API debts and payments: create, modify (`PUT`), annul (`DELETE`) and read a debt by IUD or IUV
//! with the import's rules and codes (`services::debts`); start a payment of up to five of the
//! org's debts through pagoPA Checkout (the portal's cart service) and read its state; the state
//! of the outcome pushes.
//! Amounts travel as decimal strings (`"120.50"`), never as JSON numbers.

use serde_json::{Value, json};

use super::{ApiCtx, ApiError};
use crate::domain::Cents;
use crate::domain::debt_row::DebtFields;
use crate::pagopa::checkout;
use crate::services::debts::{self as debt_service, DebtKey, Source};
use crate::services::payments::PaymentError;
use crate::services::portal::{self, CartLine, NewCart, PortalError};
use crate::store::debts::DebtRecord;
use crate::store::receipts::ReceiptRecord;
use crate::web::Response;

/// A debt as the API shows it.
pub fn debt_json(d: &DebtRecord, receipts: &[ReceiptRecord]) -> Value {
    json!({
        "iud": d.iud, "iuv": d.iuv, "notice_number": d.notice_number, "state": d.state,
        "debt_type": d.debt_type_code,
        "debtor": {
            "kind": d.debtor_kind, "id": d.debtor_id, "name": d.debtor_name, "address": d.debtor_address,
            "civic_number": d.debtor_civic_number, "postal_code": d.debtor_postal_code, "city": d.debtor_city,
            "province": d.debtor_province, "country": d.debtor_country, "email": d.debtor_email,
        },
        "amount": Cents::new(d.amount_cents).to_decimal_string(), "due_date": d.due_date, "causale": d.causale,
        "collection_data": d.collection_data, "payment_kinds": d.payment_kinds,
        "created_at": d.created_at, "updated_at": d.updated_at,
        "receipts": receipts.iter().map(receipt_json).collect::<Vec<_>>(),
    })
}

fn receipt_json(r: &ReceiptRecord) -> Value {
    json!({
        "iuv": r.iuv, "receipt_id": r.receipt_id, "outcome": r.outcome,
        "amount": Cents::new(r.amount_cents).to_decimal_string(), "payment_date_time": r.payment_date_time,
        "psp": r.psp_company_name, "received_at": r.received_at,
    })
}

/// A text member of `obj`: absent or null is "", anything but a string is refused.
fn text(obj: &Value, name: &str) -> Result<String, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
    }
}

/// The debt fields of a request body; `iud` comes from the path for `PUT`.
fn fields_of(ctx: &ApiCtx<'_>, body: &Value, iud: Option<&str>) -> Result<DebtFields, ApiError> {
    let debtor = body.get("debtor").cloned().unwrap_or(Value::Null);
    if !(debtor.is_object() || debtor.is_null()) {
        return Err(ApiError::invalid("debtor must be an object"));
    }
    let generate_iuv = match body.get("generate_iuv") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::invalid("generate_iuv must be true or false")),
    };
    let debt_type = text(body, "debt_type")?;
    let mut collection_data = text(body, "collection_data")?;
    if collection_data.is_empty()
        && let Ok(t) = crate::services::debt_types::get_debt_type(&ctx.state.db, ctx.ipa(), debt_type.trim())
    {
        collection_data = format!("9/{}/", t.taxonomy_code);
    }
    Ok(DebtFields {
        iud: match iud {
            Some(iud) => iud.to_owned(),
            None => text(body, "iud")?,
        },
        iuv: text(body, "iuv")?,
        debtor_kind: text(&debtor, "kind")?,
        debtor_id: text(&debtor, "id")?,
        debtor_name: text(&debtor, "name")?,
        debtor_address: text(&debtor, "address")?,
        debtor_civic_number: text(&debtor, "civic_number")?,
        debtor_postal_code: text(&debtor, "postal_code")?,
        debtor_city: text(&debtor, "city")?,
        debtor_province: text(&debtor, "province")?,
        debtor_country: text(&debtor, "country")?,
        debtor_email: text(&debtor, "email")?,
        due_date: text(body, "due_date")?,
        amount: text(body, "amount").map_err(|_| ApiError::invalid("amount must be a string like \"120.50\""))?,
        fee: text(body, "fee")?,
        debt_type,
        payment_kinds: text(body, "payment_kinds")?,
        causale: text(body, "causale")?,
        collection_data,
        generate_iuv,
        ..DebtFields::default()
    })
}

fn debt_response(ctx: &ApiCtx<'_>, status: u16, debt: &DebtRecord) -> Result<Response, ApiError> {
    let receipts = debt_service::receipts_of_debt(&ctx.state.db, debt.id)?;
    Ok(Response::json(status, &debt_json(debt, &receipts)))
}

/// `POST /api/v1/orgs/{ipa}/debts`.
pub fn create(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let fields = fields_of(ctx, &body, None)?;
    let today = crate::clock::today_rome(ctx.now);
    let debt =
        debt_service::add_debt(&ctx.state.db, &ctx.actor(), ctx.ipa(), &fields, Source::Sil, today, &ctx.iso_now())?;
    Ok(debt_response(ctx, 201, &debt)?
        .with_header("Location", format!("/api/v1/orgs/{}/debts/{}", ctx.ipa(), debt.iud)))
}

/// `PUT /api/v1/orgs/{ipa}/debts/{iud}`: every field replaced (import action `M`).
pub fn modify(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let fields = fields_of(ctx, &body, Some(ctx.param(1)))?;
    let today = crate::clock::today_rome(ctx.now);
    let debt = debt_service::modify_debt(&ctx.state.db, &ctx.actor(), ctx.ipa(), &fields, today, &ctx.iso_now())?;
    debt_response(ctx, 200, &debt)
}

/// `DELETE /api/v1/orgs/{ipa}/debts/{iud}`: annulled (import action `A`).
pub fn annul(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let debt = debt_service::annul_debt(&ctx.state.db, &ctx.actor(), ctx.ipa(), ctx.param(1), &ctx.iso_now())?;
    debt_response(ctx, 200, &debt)
}

/// `GET /api/v1/orgs/{ipa}/debts/{iud}`.
pub fn get_by_iud(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let debt = debt_service::get_debt(&ctx.state.db, ctx.ipa(), &DebtKey::Iud(ctx.param(1).to_owned()))?;
    debt_response(ctx, 200, &debt)
}

/// `GET /api/v1/orgs/{ipa}/debts-by-iuv/{iuv}`.
pub fn get_by_iuv(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let debt = debt_service::get_debt(&ctx.state.db, ctx.ipa(), &DebtKey::Iuv(ctx.param(1).to_owned()))?;
    debt_response(ctx, 200, &debt)
}

fn portal_error(err: PortalError) -> ApiError {
    let conflict = |code: &str, message: String, messaggio: &str| ApiError::new(409, code, message, messaggio);
    match err {
        PortalError::Payment(PaymentError::UnknownNotice(n)) => ApiError::not_found(format!("notice {n} not found")),
        PortalError::Payment(PaymentError::AlreadyPaid(n)) => {
            conflict("PAA_PAGAMENTO_DUPLICATO", format!("notice {n} is already paid"), "Il dovuto è già stato pagato.")
        }
        PortalError::Payment(PaymentError::Annulled(n)) => {
            conflict("PAA_PAGAMENTO_ANNULLATO", format!("notice {n} is annulled"), "Il dovuto è stato annullato.")
        }
        PortalError::Payment(PaymentError::Expired(n)) => {
            conflict("PAA_PAGAMENTO_SCADUTO", format!("notice {n} is expired"), "Il dovuto è scaduto.")
        }
        PortalError::CartFull | PortalError::MultiBeneficiary | PortalError::AlreadyInCart | PortalError::EmptyCart => {
            ApiError::invalid(err.to_string())
        }
        PortalError::Service(service) => service.into(),
        other => {
            tracing::error!(error = %other, "API payment failed");
            super::internal()
        }
    }
}

/// `POST /api/v1/orgs/{ipa}/payments`: `{"iuds": [...], "payer_email"?, "back_url"?}` → the
/// Checkout address to send the payer to, and the session to poll.
pub fn start_payment(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let iuds: Vec<String> = match body.get("iuds") {
        Some(Value::Array(list)) if (1..=portal::CART_MAX).contains(&list.len()) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| ApiError::invalid("iuds must be strings")))
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::invalid(format!("iuds must list 1 to {} IUDs", portal::CART_MAX))),
    };
    let email = text(&body, "payer_email")?;
    let email = match email.trim() {
        "" => None,
        e => Some(crate::domain::Email::parse(e).map_err(|err| ApiError::invalid(format!("payer_email: {err}")))?),
    };
    let org = crate::services::orgs::get_org(&ctx.state.db, ctx.ipa())?;
    let back_url = match text(&body, "back_url")?.trim() {
        "" => org.back_url.clone().ok_or_else(|| ApiError::invalid("back_url is required: the org has no default"))?,
        url if url.starts_with("https://") || url.starts_with("http://") => url.to_owned(),
        _ => return Err(ApiError::invalid("back_url must be an http:// or https:// address")),
    };
    let mut lines = Vec::new();
    for iud in &iuds {
        let debt = debt_service::get_debt(&ctx.state.db, ctx.ipa(), &DebtKey::Iud(iud.clone()))?;
        let notice_number = debt.notice_number.ok_or_else(|| {
            ApiError::new(409, "PAA_IUV_NON_VALIDO", format!("debt {iud} has no IUV"), "Il dovuto non ha uno IUV.")
        })?;
        lines.push(CartLine { org_fiscal_code: org.fiscal_code.clone(), notice_number });
    }
    let today = crate::clock::today_rome(ctx.now);
    let views = portal::load_cart(&ctx.state.db, &lines, today).map_err(portal_error)?;
    let mut checked = Vec::new();
    for view in &views {
        portal::check_add(&checked, view).map_err(portal_error)?;
        checked.push(view.clone());
    }
    let owner = format!("api:{}", org.ipa_code);
    let new = NewCart { session_hash: &owner, payer_email: email.as_ref().map(|e| e.as_str()), citizen_id: None };
    let cart = portal::prepare_cart(&ctx.state.db, &views, &new, &ctx.iso_now()).map_err(portal_error)?;
    let sep = if back_url.contains('?') { '&' } else { '?' };
    let back = |esito: &str| format!("{back_url}{sep}idSession={}&esito={esito}", cart.token);
    let request = checkout::Cart {
        notices: checkout::CartNotice::of_views(&views),
        return_urls: checkout::ReturnUrls {
            ok: back("OK"),
            cancel: back("ANNULLATO"),
            error: back("ERROR"),
            waiting: None,
        },
        id_cart: Some(cart.token.clone()),
        email: email.as_ref().map(|e| e.as_str().to_owned()),
        all_ccp: false,
    };
    let node = &ctx.state.config.raw.node;
    match checkout::create_cart(&node.base_url, node.subscription_key.expose(), &request, false) {
        Ok(url) => {
            portal::cart_sent(&ctx.state.db, cart.id, Some(&url), &ctx.iso_now()).map_err(portal_error)?;
            let total = Cents::new(cart.total_cents).to_decimal_string();
            Ok(Response::json(
                201,
                &json!({ "session": cart.token, "redirect_url": url, "state": "IN_PAGAMENTO", "total": total }),
            )
            .with_header("Location", format!("/api/v1/orgs/{}/payments/{}", org.ipa_code, cart.token)))
        }
        Err(err) => {
            tracing::error!(error = %err, "Checkout refused or unreachable");
            let _ = portal::cart_sent(&ctx.state.db, cart.id, None, &ctx.iso_now());
            Err(ApiError::new(
                502,
                "CHECKOUT_UNAVAILABLE",
                format!("pagoPA Checkout refused the cart or is unreachable: {err}"),
                "Il servizio pagoPA non è raggiungibile: nessun pagamento è stato avviato.",
            ))
        }
    }
}

/// `GET /api/v1/orgs/{ipa}/payments/{session}`: the cart's state and its receipts.
pub fn payment_status(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let session = ctx.param(1);
    let owner = format!("api:{}", ctx.ipa());
    let found = if session.len() == 32 && session.bytes().all(|b| b.is_ascii_hexdigit()) {
        portal::cart_outcome(&ctx.state.db, session).map_err(portal_error)?.filter(|o| o.cart.session_hash == owner)
    } else {
        None
    };
    let outcome = found.ok_or_else(|| ApiError::not_found(format!("payment session {session} not found")))?;
    let state = if outcome.paid { "PAGATO" } else { outcome.cart.state.as_str() };
    Ok(Response::json(
        200,
        &json!({
            "session": outcome.cart.token, "state": state, "paid": outcome.paid,
            "total": Cents::new(outcome.cart.total_cents).to_decimal_string(),
            "redirect_url": outcome.cart.checkout_url, "created_at": outcome.cart.created_at,
            "receipts": outcome.receipts.iter().map(receipt_json).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /api/v1/orgs/{ipa}/pushes`: the push target and the latest 100 outcome pushes.
pub fn pushes(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let overview = crate::services::outcome_push::overview(&ctx.state.db, ctx.ipa(), 100)?;
    let value = serde_json::to_value(&overview).map_err(|_| super::internal())?;
    Ok(Response::json(200, &value))
}
