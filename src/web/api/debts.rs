//! API debts and payments: create, modify (`PUT`), annul (`DELETE`) and read a debt by IUD or IUV
//! with the import's rules and codes (`services::debts`); start a payment session and read its
//! state (`services::sil::sessions`, the service of MyPay's redirect flow, so the API and the SIL
//! web services pay the same way); the state of the outcome pushes.
//! Amounts travel as decimal strings (`"120.50"`), never as JSON numbers. A debt may be created
//! with payment options (`instalments`, `reduced`: `services::debts::options`); every debt is
//! shown with its options.

use serde_json::{Value, json};

use super::{ApiCtx, ApiError};
use crate::domain::debt_row::DebtFields;
use crate::domain::payment_options::{self, Plan};
use crate::domain::{Cents, Day};
use crate::services::ServiceError;
use crate::services::debts::options::{self, OptionView};
use crate::services::debts::{self as debt_service, DebtKey, Source};
use crate::services::sil::SilError;
use crate::services::sil::sessions::{
    self as sil_sessions, NewSession, PaymentOutcome, SessionItem, SessionKind, SessionStatus, ShowMode,
};
use crate::store::debts::DebtRecord;
use crate::store::receipts::ReceiptRecord;
use crate::web::Response;

/// A debt as the API shows it, with its payment options (`options`: the single one, instalments,
/// a reduced amount; each with its notice number, amount, due date and state).
pub fn debt_json(d: &DebtRecord, receipts: &[ReceiptRecord], options: &[OptionView]) -> Value {
    json!({
        "iud": d.iud, "iuv": d.iuv.as_ref().map(crate::domain::Iuv::as_str), "notice_number": d.notice_number.as_ref().map(crate::domain::NoticeNumber::as_str), "state": d.state.code(),
        "debt_type": d.debt_type_code,
        "debtor": {
            "kind": d.debtor.kind, "id": d.debtor.id, "name": d.debtor.name, "address": d.debtor.address,
            "civic_number": d.debtor.civic_number, "postal_code": d.debtor.postal_code, "city": d.debtor.city,
            "province": d.debtor.province, "country": d.debtor.country, "email": d.debtor.email,
        },
        "amount": d.amount_cents.to_decimal_string(), "due_date": d.due_date.map(|day| day.to_string()), "causale": d.causale,
        "collection_data": d.collection_data, "payment_kinds": d.payment_kinds,
        "created_at": d.created_at, "updated_at": d.updated_at,
        "receipts": receipts.iter().map(receipt_json).collect::<Vec<_>>(),
        "options": options.iter().map(option_json).collect::<Vec<_>>(),
    })
}

fn option_json(o: &OptionView) -> Value {
    json!({
        "kind": o.kind.code(), "seq": o.seq, "iuv": o.iuv,
        "notice_number": o.notice_number.as_ref().map(crate::domain::NoticeNumber::as_str),
        "amount": o.amount.to_decimal_string(), "due_date": o.due_date.map(|day| day.to_string()),
        "state": o.state.code(),
    })
}

/// `{"amount": "100.00", "due_date": "YYYY-MM-DD"}` (the reduced option's day is `valid_until`).
fn amount_and_day(item: &Value, what: &str, day_name: &str) -> Result<(Cents, Day), ApiError> {
    let amount = Cents::parse_decimal(text(item, "amount")?.trim())
        .map_err(|err| ApiError::invalid(format!("{what}: amount: {err}")))?;
    let day = Day::parse(text(item, day_name)?.trim()).map_err(|err| ApiError::invalid(format!("{what}: {err}")))?;
    Ok((amount, day))
}

/// The payment options of a create request: `instalments` (a list, at most
/// [`payment_options::MAX_INSTALMENTS`]) and `reduced`; with instalments, `amount` may be left
/// out (the position is its instalments only).
fn plan_of(body: &Value, fields: &DebtFields) -> Result<Plan, ApiError> {
    let instalments = match body.get("instalments") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() <= payment_options::MAX_INSTALMENTS => list
            .iter()
            .enumerate()
            .map(|(n, item)| amount_and_day(item, &format!("instalments[{n}]"), "due_date"))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "instalments must be a list of at most {} {{amount, due_date}}",
                payment_options::MAX_INSTALMENTS
            )));
        }
    };
    let reduced = match body.get("reduced") {
        None | Some(Value::Null) => None,
        Some(item @ Value::Object(_)) => Some(amount_and_day(item, "reduced", "valid_until")?),
        Some(_) => return Err(ApiError::invalid("reduced must be an object {amount, valid_until}")),
    };
    let single = match fields.amount.trim() {
        "" if !instalments.is_empty() => None,
        amount => Some(Cents::parse_decimal(amount).map_err(|err| ApiError::invalid(format!("amount: {err}")))?),
    };
    Ok(Plan { single, instalments, reduced })
}

fn receipt_json(r: &ReceiptRecord) -> Value {
    json!({
        "iuv": r.iuv, "receipt_id": r.receipt_id, "outcome": r.outcome,
        "amount": r.amount_cents.to_decimal_string(), "payment_date_time": r.payment_date_time,
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
        && let Ok(t) = crate::services::admin::debt_types::get_debt_type(&ctx.state.db, ctx.ipa(), debt_type.trim())
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
    let options = options::options_of(&ctx.state.db, debt, ctx.now.today())?;
    Ok(Response::json(status, &debt_json(debt, &receipts, &options)))
}

/// `POST /api/v1/orgs/{ipa}/debts`.
pub fn create(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let fields = fields_of(ctx, &body, None)?;
    let debt = if body.get("instalments").is_some_and(|v| !v.is_null())
        || body.get("reduced").is_some_and(|v| !v.is_null())
    {
        let plan = plan_of(&body, &fields)?;
        options::add_debt_with_options(&ctx.state.db, &ctx.actor(), ctx.ipa(), &fields, &plan, Source::Sil, ctx.now)?
    } else {
        debt_service::add_debt(&ctx.state.db, &ctx.actor(), ctx.ipa(), &fields, Source::Sil, ctx.now)?
    };
    Ok(debt_response(ctx, 201, &debt)?
        .with_header("Location", format!("/api/v1/orgs/{}/debts/{}", ctx.ipa(), debt.iud)))
}

/// `PUT /api/v1/orgs/{ipa}/debts/{iud}`: every field replaced (import action `M`).
pub fn modify(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let fields = fields_of(ctx, &body, Some(ctx.param("iud")))?;
    let debt = debt_service::modify_debt(&ctx.state.db, &ctx.actor(), ctx.ipa(), &fields, ctx.now)?;
    debt_response(ctx, 200, &debt)
}

/// `DELETE /api/v1/orgs/{ipa}/debts/{iud}`: annulled (import action `A`).
pub fn annul(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let debt = debt_service::annul_debt(&ctx.state.db, &ctx.actor(), ctx.ipa(), ctx.param("iud"), ctx.now)?;
    debt_response(ctx, 200, &debt)
}

/// `GET /api/v1/orgs/{ipa}/debts/{iud}`.
pub fn get_by_iud(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let debt = debt_service::get_debt(&ctx.state.db, ctx.ipa(), &DebtKey::Iud(ctx.param("iud").to_owned()))?;
    debt_response(ctx, 200, &debt)
}

/// `GET /api/v1/orgs/{ipa}/debts-by-iuv/{iuv}`.
pub fn get_by_iuv(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let debt = debt_service::get_debt(&ctx.state.db, ctx.ipa(), &DebtKey::Iuv(ctx.param("iuv").to_owned()))?;
    debt_response(ctx, 200, &debt)
}

fn session_error(err: SilError) -> ApiError {
    match err {
        SilError::Fault { code, description } if code == "PAA_ID_SESSION_NON_VALIDO" => {
            ApiError::new(404, code, description, "Sessione di pagamento non trovata.")
        }
        SilError::Fault { code, description } => {
            ApiError::new(422, code, description, "Il pagamento non può essere avviato con questi dati.")
        }
        SilError::Service(err) => err.into(),
        // Refusals of a SIL caller's credentials: the API authenticates by token, never by them.
        other @ (SilError::UnknownOrg(_)
        | SilError::NotInProduction { .. }
        | SilError::BadPassword(_)
        | SilError::Throttled(_)) => ServiceError::Internal(other.to_string()).into(),
    }
}

/// `POST /api/v1/orgs/{ipa}/payments`: a payment session on the SIL session service, as
/// `paaSILInviaDovuti` (`{"debts": [...]}`, created with generated IUVs when the payer confirms) or
/// `paaSILVerificaAvviso` (`{"iuv"}` or `{"iud"}` of an open debt). Answers the address of the
/// payer's page (then pagoPA Checkout, then `back_url?idSession=…&esito=…`) and the session to poll.
pub fn start_payment(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let body = ctx.json_body()?;
    let back_url = match text(&body, "back_url")?.trim() {
        "" => None,
        url if url.starts_with("https://") || url.starts_with("http://") => Some(url.to_owned()),
        _ => return Err(ApiError::invalid("back_url must be an http:// or https:// address")),
    };
    let (db, actor) = (&ctx.state.db, ctx.actor());
    let started = match body.get("debts") {
        Some(Value::Array(list)) => {
            let items = list
                .iter()
                .map(|item| {
                    if !item.is_object() {
                        return Err(ApiError::invalid("debts must be objects"));
                    }
                    Ok(SessionItem { ipa: ctx.ipa().to_owned(), fields: fields_of(ctx, item, None)? })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let show = match text(&body, "show")?.as_str() {
                "" | "SHORT" => ShowMode::Short,
                "NONE" => ShowMode::None,
                other => return Err(ApiError::invalid(format!("show {other:?} must be SHORT or NONE"))),
            };
            let new = NewSession { ipa: ctx.ipa().to_owned(), kind: SessionKind::Dovuti, show, back_url, items };
            sil_sessions::start(db, &actor, &new, ctx.now)
        }
        Some(_) => return Err(ApiError::invalid("debts must be a list")),
        None => {
            let iuv = match (text(&body, "iuv")?.trim(), text(&body, "iud")?.trim()) {
                ("", "") => return Err(ApiError::invalid("debts, iuv or iud is required")),
                ("", iud) => debt_service::get_debt(db, ctx.ipa(), &DebtKey::Iud(iud.to_owned()))?
                    .iuv
                    .map(|i| i.as_str().to_owned())
                    .ok_or_else(|| {
                        ApiError::new(
                            422,
                            "PAA_IUV_NON_VALIDO",
                            format!("debt {iud} has no IUV"),
                            "Il dovuto non ha uno IUV.",
                        )
                    })?,
                (iuv, _) => iuv.to_owned(),
            };
            sil_sessions::start_for_notice(db, &actor, ctx.ipa(), &iuv, back_url, ctx.now)
        }
    }
    .map_err(session_error)?;
    let public = ctx.state.config.server.public_base();
    let redirect = format!("{public}{}", sil_sessions::landing_path(&started.token));
    Ok(Response::json(
        201,
        &json!({ "session": started.id_session, "redirect_url": redirect, "expires_at": started.expires_at }),
    )
    .with_header("Location", format!("/api/v1/orgs/{}/payments/{}", ctx.ipa(), started.id_session)))
}

/// `GET /api/v1/orgs/{ipa}/payments/{session}`: where the session stands (MyPay's table of §4.3)
/// and, once finished, each debt with its receipt.
pub fn payment_status(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let session = ctx.param("session");
    let status = sil_sessions::status(&ctx.state.db, ctx.ipa(), session, ctx.now).map_err(session_error)?;
    let state = match &status {
        SessionStatus::NotStarted => "NON_INIZIATO",
        SessionStatus::Expired => "SCADUTO",
        SessionStatus::InProgress => "IN_CORSO",
        SessionStatus::Cancelled => "ANNULLATO",
        SessionStatus::Finished(o) => match o.outcome {
            PaymentOutcome::Paid => "PAGATO",
            PaymentOutcome::NotPaid => "NON_PAGATO",
            PaymentOutcome::Partial => "PARZIALE",
        },
    };
    let mut value = json!({ "session": session, "state": state, "fault_code": status.fault_code() });
    if let (SessionStatus::Finished(outcome), Some(object)) = (&status, value.as_object_mut()) {
        object.insert("esito".to_owned(), json!(outcome.outcome.code()));
        let items = outcome
            .lines
            .iter()
            .map(|l| {
                json!({
                    "org": l.org.ipa_code, "iud": l.debt.iud, "iuv": l.debt.iuv.as_ref().map(crate::domain::Iuv::as_str),
                    "amount": l.debt.amount_cents.to_decimal_string(),
                    "receipt": l.receipt.as_ref().map(receipt_json),
                })
            })
            .collect::<Vec<_>>();
        object.insert("items".to_owned(), json!(items));
    }
    Ok(Response::json(200, &value))
}

/// `GET /api/v1/orgs/{ipa}/pushes`: the push target and the latest 100 outcome pushes.
pub fn pushes(ctx: &ApiCtx<'_>) -> Result<Response, ApiError> {
    let overview = crate::services::payments::outcome_push::overview(&ctx.state.db, ctx.ipa(), 100)?;
    let value = serde_json::to_value(&overview).map_err(|_| super::internal())?;
    Ok(Response::json(200, &value))
}
