//! Payments started at the box in upstream mode: the portal's notice payments and spontaneous
//! payments, and the SIL sessions the municipality opens on the box, go through the regional
//! MyPay instead of pagoPA Checkout (reference/mypay.md §4.3, regional.md §7.2 items 2, 3 and 8).
//!
//! The Region is reached through the port [`RegionPayments`] (the SIL client implements it; tests
//! use a double), so these rules need no network. What is asked of the Region ([`plan`]):
//!
//! | what the citizen pays | Region operation |
//! |---|---|
//! | one existing debt the Region holds (it has the Region's IUV, [`region_iuv`]) | `paaSILVerificaAvviso(IUV)` |
//! | new debts of one org and one payer (a spontaneous payment; a SIL `InviaDovuti`), ≤ 5 | `paaSILInviaDovuti` with the debts, without IUV |
//! | new debts of several orgs or payers (a SIL `InviaCarrelloDovuti`), ≤ 5 | `paaSILInviaCarrelloDovuti`, one element per (org, payer) |
//! | several existing debts | refused ([`UpstreamError::OneNoticeAtATime`]): VerificaAvviso covers one IUV, a cart only new debts |
//! | existing and new debts together | refused ([`UpstreamError::Mixed`]) |
//! | an existing debt without the Region's IUV (the outbox has not sent it yet) | refused ([`UpstreamError::NotYetMirrored`]) |
//!
//! New debts are created at the box as today, without IUV (the Region assigns one at its
//! checkout), and marked in their own transaction as the Region's own ([`mark_session_debt`]):
//! **the outbox never mirrors a marked debt**, neither its creation nor a later change, or the
//! Region would hold it twice. Their receipts come back matched by IUD.
//!
//! The box keeps a cart as for Checkout (state `IN_PAGAMENTO`), with the Region's idSession beside
//! it, so the browser's return (`?idSession=&esito=&pollingToken=`) finds it. **Invariant:** the
//! outcome comes from the box's stored receipts and the Region's answer ([`returned`]), never from
//! the browser's `esito`. A Region that does not answer or refuses leaves nothing to pay: the cart
//! fails and the debts made for it are annulled (MyPay stores nothing before its own checkout).

pub use super::RegionFailure;

use crate::clock::Now;
use crate::domain::debt_row::DebtFields;
use crate::domain::{CartState, Cents, Iuv, Party};
use crate::services::ServiceError;
use crate::services::debts::{self, Source};
use crate::services::links::Links;
use crate::services::payments::PaymentView;
use crate::services::portal::PortalError;
use crate::services::portal::carts::{self as portal_carts, NewCart};
use crate::services::sil::SilError;
use crate::services::sil::sessions::{self, BackTo, Return};
use crate::store::carts::{self, CartItemRecord, CartRecord};
use crate::store::debts::DebtRecord;
use crate::store::orgs::{self, OrgRecord};
use crate::store::region_payments::{self, RegionPaymentRecord};
use crate::store::{Conn, Db, StoreError, audit};

/// At most this many debts in one payment (a Dovuti's `datiSingoloVersamento`, a pagoPA cart).
pub const MAX_ITEMS: usize = 5;

/// The Region's answer to a payment request: its session and where the browser goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionSession {
    pub id_session: String,
    pub url: String,
}

/// Which operation opened a Region session (stored with it: the outcome of a cart is asked for
/// differently, `paaSILChiediEsitoCarrelloDovuti`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionCall {
    Dovuti,
    Carrello,
    Avviso,
}

impl RegionCall {
    fn code(self) -> &'static str {
        match self {
            RegionCall::Dovuti => "dovuti",
            RegionCall::Carrello => "carrello",
            RegionCall::Avviso => "avviso",
        }
    }

    fn parse(code: &str) -> Option<RegionCall> {
        [RegionCall::Dovuti, RegionCall::Carrello, RegionCall::Avviso].into_iter().find(|c| c.code() == code)
    }
}

/// Where a Region session stands, as the Region says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionOutcome {
    /// Paid: the Region's account of each payment of the session, which [`returned`] stores
    /// through the outcomes' apply before it reads the cart again.
    Paid(Vec<super::outcomes::RegionPayment>),
    /// A cart of several orgs paid: each org's payment, with the org's IPA code here (the outcome
    /// of `paaSILChiediEsitoCarrelloDovuti` names each org).
    CartPaid(Vec<(String, super::outcomes::RegionPayment)>),
    /// Finished without payment (`NON_PAGATO`, expired).
    NotPaid,
    /// Cancelled by the citizen (`PAA_PAGAMENTO_ANNULLATO`).
    Cancelled,
    /// Not started or in progress at pagoPA.
    Pending,
}

/// One element of `paaSILInviaCarrelloDovuti`: the new debts of one org and one payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartPart {
    pub ipa: String,
    pub payer: Party,
    pub items: Vec<DebtRecord>,
}

/// The regional MyPay's payment operations, as the box uses them. `ipa` is the org the box calls
/// as (its SIL credentials); `back_url` is the box's return route. Implementations bound each call
/// with a short timeout: it runs while the citizen waits.
pub trait RegionPayments: Send + Sync {
    /// `paaSILInviaDovuti`: new debts of one org and one payer, without IUV.
    fn start_dovuti(
        &self,
        ipa: &str,
        payer: &Party,
        items: &[DebtRecord],
        back_url: &str,
    ) -> Result<RegionSession, RegionFailure>;
    /// `paaSILInviaCarrelloDovuti`: new debts of several orgs (or payers), called as `caller_ipa`.
    fn start_cart(&self, caller_ipa: &str, parts: &[CartPart], back_url: &str) -> Result<RegionSession, RegionFailure>;
    /// `paaSILVerificaAvviso`: the debts the Region holds under this IUV.
    fn verify_notice(&self, ipa: &str, iuv: &Iuv, back_url: &str) -> Result<RegionSession, RegionFailure>;
    /// Where session `id_session` stands (`paaSILChiediPagatiConRicevuta`, or for a cart
    /// `paaSILChiediEsitoCarrelloDovuti`); an unknown session is a failure.
    fn session_outcome(&self, ipa: &str, call: RegionCall, id_session: &str) -> Result<RegionOutcome, RegionFailure>;
}

/// Why a payment cannot go through the Region.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("nothing to pay")]
    Empty,
    #[error("at most {MAX_ITEMS} debts per payment")]
    TooMany,
    #[error("the Region pays one existing notice at a time")]
    OneNoticeAtATime,
    #[error("existing notices and new debts cannot be paid together through the Region")]
    Mixed,
    #[error("a debt with more than one beneficiary is paid alone")]
    MultiBeneficiary,
    #[error("debt {0} has no IUV from the Region yet")]
    NotYetMirrored(String),
    #[error("the Region did not start the payment: {0}")]
    Region(RegionFailure),
    #[error(transparent)]
    Portal(#[from] PortalError),
    #[error(transparent)]
    Sil(#[from] SilError),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for UpstreamError {
    fn from(err: StoreError) -> UpstreamError {
        UpstreamError::Service(ServiceError::Store(err))
    }
}

/// A debt to pay through the Region, with its org.
#[derive(Debug, Clone)]
pub struct Line {
    pub org: OrgRecord,
    pub debt: DebtRecord,
    /// Created for this payment: the Region creates it at its checkout (never mirrored).
    pub new: bool,
}

/// What the box asks the Region (see the module's table).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant, reason = "one per payment, made and used at once")]
pub enum Plan {
    Dovuti { org: OrgRecord, payer: Party, items: Vec<DebtRecord> },
    Carrello { caller: OrgRecord, parts: Vec<CartPart> },
    Avviso { org: OrgRecord, iuv: Iuv },
}

impl Plan {
    fn call(&self) -> RegionCall {
        match self {
            Plan::Dovuti { .. } => RegionCall::Dovuti,
            Plan::Carrello { .. } => RegionCall::Carrello,
            Plan::Avviso { .. } => RegionCall::Avviso,
        }
    }

    /// The org the box calls the Region as.
    fn org(&self) -> &OrgRecord {
        match self {
            Plan::Dovuti { org, .. } | Plan::Avviso { org, .. } => org,
            Plan::Carrello { caller, .. } => caller,
        }
    }
}

/// The IUV under which the Region holds a debt. In upstream mode a debt's IUV is the Region's:
/// the box generates none for the debts the outbox mirrors, and stores the one `paaSILImportaDovuto`
/// answers; so a debt without IUV is not yet held by the Region. This is the one place to change
/// if the outbox records the Region's acceptance apart from the IUV.
pub fn region_iuv(debt: &DebtRecord) -> Option<&Iuv> {
    debt.iuv.as_ref()
}

/// Decides the Region operation for `lines`, or why the Region cannot take them (module's table).
pub fn plan(lines: &[Line]) -> Result<Plan, UpstreamError> {
    let Some(first) = lines.first() else {
        return Err(UpstreamError::Empty);
    };
    if lines.len() > MAX_ITEMS {
        return Err(UpstreamError::TooMany);
    }
    let existing = lines.iter().filter(|l| !l.new).count();
    if existing > 0 {
        if existing < lines.len() {
            return Err(UpstreamError::Mixed);
        }
        if lines.len() > 1 {
            return Err(UpstreamError::OneNoticeAtATime);
        }
        let iuv = region_iuv(&first.debt).ok_or_else(|| UpstreamError::NotYetMirrored(first.debt.iud.clone()))?;
        return Ok(Plan::Avviso { org: first.org.clone(), iuv: iuv.clone() });
    }
    if lines.len() > 1 && lines.iter().any(|l| l.debt.mb_amount_cents.is_some()) {
        return Err(UpstreamError::MultiBeneficiary);
    }
    // One element per (org, payer), in the order the debts came.
    let mut parts: Vec<(OrgRecord, CartPart)> = Vec::new();
    for line in lines {
        let payer = &line.debt.debtor;
        match parts
            .iter_mut()
            .find(|(org, part)| org.id == line.org.id && part.payer.kind == payer.kind && part.payer.id == payer.id)
        {
            Some((_, part)) => part.items.push(line.debt.clone()),
            None => parts.push((
                line.org.clone(),
                CartPart { ipa: line.org.ipa_code.clone(), payer: payer.clone(), items: vec![line.debt.clone()] },
            )),
        }
    }
    match <[_; 1]>::try_from(parts) {
        Ok([(org, part)]) => Ok(Plan::Dovuti { org, payer: part.payer, items: part.items }),
        Err(parts) => {
            Ok(Plan::Carrello { caller: first.org.clone(), parts: parts.into_iter().map(|(_, p)| p).collect() })
        }
    }
}

/// The portal's cart in upstream mode holds one notice: a second is refused when it is added.
pub fn check_cart_room(notices_in_cart: usize) -> Result<(), UpstreamError> {
    if notices_in_cart > 0 {
        return Err(UpstreamError::OneNoticeAtATime);
    }
    Ok(())
}

/// Marks a debt just created, in its own transaction, as one the Region creates itself at its
/// checkout: the outbox must never mirror it (see [`is_session_debt`]).
pub(crate) fn mark_session_debt(tx: &Conn, debt_id: i64, now: &str) -> Result<(), StoreError> {
    region_payments::insert_region_session_debt(tx, debt_id, now)
}

/// Whether the Region creates this debt itself: what the outbox honours, for every change.
#[cfg(test)]
pub fn is_session_debt(db: &Db, debt_id: i64) -> Result<bool, ServiceError> {
    Ok(db.read(|conn| region_payments::is_region_session_debt(conn, debt_id))?)
}

/// Creates a debt the Region will create itself at its checkout: without IUV, marked in the same
/// transaction ([`mark_session_debt`]).
pub fn add_session_debt(
    db: &Db,
    actor: &str,
    ipa: &str,
    fields: &DebtFields,
    source: Source,
    now: Now,
) -> Result<(OrgRecord, DebtRecord), ServiceError> {
    let fields = DebtFields { generate_iuv: false, ..fields.clone() };
    db.write(|tx| {
        let debt = debts::add_debt_in(tx, actor, ipa, &fields, source, now, false, false)?;
        mark_session_debt(tx, debt.id, &now.iso())?;
        let org = orgs::find_org_by_id(tx, debt.org_id)?.ok_or_else(|| ServiceError::NotFound(format!("org {ipa}")))?;
        Ok((org, debt))
    })
}

/// What the citizen pays for a debt: its share plus a secondary beneficiary's.
pub fn amount_due(debt: &DebtRecord) -> Cents {
    debt.mb_amount_cents.and_then(|mb| debt.amount_cents.checked_add(mb)).unwrap_or(debt.amount_cents)
}

/// The cart items of `lines`, in order.
pub fn cart_items(lines: &[Line]) -> Vec<CartItemRecord> {
    lines
        .iter()
        .zip(1..)
        .map(|(line, position)| CartItemRecord {
            position,
            org_id: line.org.id,
            debt_id: line.debt.id,
            notice_number: line.debt.notice_number.clone(),
            amount_cents: amount_due(&line.debt),
        })
        .collect()
}

/// The portal's cart of notices (already checked as payable) goes to the Region: records the cart
/// and the privacy notices accepted, as for Checkout, then asks the Region; returns its URL.
pub fn pay_notices(
    db: &Db,
    region: &dyn RegionPayments,
    views: &[PaymentView],
    new: &NewCart<'_>,
    back_url: &str,
    now: Now,
) -> Result<String, UpstreamError> {
    let lines: Vec<Line> =
        views.iter().map(|v| Line { org: v.org.clone(), debt: v.debt.clone(), new: false }).collect();
    let plan = plan(&lines)?;
    let cart = portal_carts::prepare_cart(db, views, new, now)?;
    send(db, region, &cart, &plan, &lines, back_url, now)
}

/// A spontaneous payment paid now: its debt is created for the Region (unmirrored), recorded as a
/// cart of one, and sent with `paaSILInviaDovuti`; returns the Region's URL. The citizen accepts
/// the privacy notice and gives an e-mail on the Region's page.
#[allow(clippy::too_many_arguments, reason = "the payment's parts, each named; a struct would only rename them")]
pub fn pay_spontaneous(
    db: &Db,
    region: &dyn RegionPayments,
    ipa: &str,
    fields: &DebtFields,
    actor: &str,
    new: &NewCart<'_>,
    back_url: &str,
    now: Now,
) -> Result<String, UpstreamError> {
    let (org, debt) = add_session_debt(db, actor, ipa, fields, Source::Portal, now)?;
    let lines = [Line { org, debt, new: true }];
    let cart = portal_carts::record_cart(db, cart_items(&lines), None, new, now)?;
    match plan(&lines) {
        Ok(plan) => send(db, region, &cart, &plan, &lines, back_url, now),
        Err(err) => {
            give_up(db, &cart, &lines, now);
            Err(err)
        }
    }
}

/// The citizen confirmed a SIL session's landing page: its debts (created now for the Region, or
/// the existing one of a `VerificaAvviso`) go to the Region; returns its URL. A second
/// confirmation is refused as in local mode.
pub fn pay_sil_session(
    db: &Db,
    region: &dyn RegionPayments,
    token: &str,
    payer_email: Option<&str>,
    back_url: &str,
    now: Now,
) -> Result<String, UpstreamError> {
    let (cart, lines) = sessions::begin_region_checkout(db, token, payer_email, now)?;
    match plan(&lines) {
        Ok(plan) => send(db, region, &cart, &plan, &lines, back_url, now),
        Err(err) => {
            give_up(db, &cart, &lines, now);
            Err(err)
        }
    }
}

/// An idSession as the box accepts it back: MyPay's are UUIDs; anything else is no session of ours.
fn plausible_session(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Asks the Region for the session of `cart` and records it beside the cart; on any failure the
/// cart fails and the debts made for it are annulled.
fn send(
    db: &Db,
    region: &dyn RegionPayments,
    cart: &CartRecord,
    plan: &Plan,
    lines: &[Line],
    back_url: &str,
    now: Now,
) -> Result<String, UpstreamError> {
    let answer = match plan {
        Plan::Dovuti { org, payer, items } => region.start_dovuti(&org.ipa_code, payer, items, back_url),
        Plan::Carrello { caller, parts } => region.start_cart(&caller.ipa_code, parts, back_url),
        Plan::Avviso { org, iuv } => region.verify_notice(&org.ipa_code, iuv, back_url),
    };
    let session = answer.and_then(|session| {
        let url = crate::services::parse_url("url", &session.url).ok().flatten();
        match url {
            Some(url) if plausible_session(&session.id_session) => Ok(RegionSession { url, ..session }),
            _ => Err(RegionFailure {
                retryable: false,
                code: None,
                text: "the Region answered without a usable idSession and http(s) url".to_owned(),
            }),
        }
    });
    let session = match session {
        Ok(session) => session,
        Err(failure) => {
            tracing::warn!(cart = %cart.token, error = %failure, "the Region did not start the payment");
            give_up(db, cart, lines, now);
            return Err(UpstreamError::Region(failure));
        }
    };
    let iso = now.iso();
    let record = RegionPaymentRecord {
        cart_id: cart.id,
        id_session: session.id_session.clone(),
        operation: plan.call().code().to_owned(),
        org_id: plan.org().id,
        created_at: iso.clone(),
    };
    let recorded = db.write(|tx| {
        region_payments::insert_region_payment(tx, &record)?;
        carts::update_cart_state(tx, cart.id, CartState::InPayment, Some(&session.url), &iso)?;
        let object = format!("cart:{}", cart.token);
        let after = serde_json::json!({ "idSession": record.id_session, "operation": record.operation }).to_string();
        audit::insert_audit(
            tx,
            &audit::AuditEntry {
                actor: "upstream",
                org_id: Some(record.org_id),
                action: "upstream.payment.start",
                object: Some(&object),
                outcome: "OK",
                after_json: Some(&after),
                ..Default::default()
            },
            &iso,
        )?;
        Ok::<_, UpstreamError>(())
    });
    if let Err(err) = recorded {
        // Without its session the return could not find the cart (a Region repeating an idSession).
        give_up(db, cart, lines, now);
        return Err(err);
    }
    tracing::info!(cart = %cart.token, operation = record.operation, "cart sent to the Region");
    Ok(session.url)
}

/// The cart fails, and the debts made for it are annulled: the Region stores nothing before its
/// own checkout, so nobody could ever pay them. Best effort: each failure is logged.
fn give_up(db: &Db, cart: &CartRecord, lines: &[Line], now: Now) {
    if let Err(err) = portal_carts::cart_sent(db, cart.id, None, now) {
        tracing::error!(error = %err, cart = %cart.token, "cannot mark the cart failed");
    }
    for line in lines.iter().filter(|l| l.new) {
        if let Err(err) = debts::annul_own_debt(db, "upstream", &line.org.ipa_code, &line.debt.iud, now) {
            tracing::error!(error = %err, iud = %line.debt.iud, "cannot annul a debt the Region never took");
        }
    }
}

/// What the browser's return comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every debt of the cart has a stored receipt.
    Paid,
    /// The Region says it was not paid.
    NotPaid,
    /// The Region says the citizen cancelled.
    Cancelled,
    /// Not known yet: the Region says in progress, or says paid before the receipts are stored,
    /// or did not answer.
    Pending,
}

/// A cart the browser came back for.
#[derive(Debug, Clone)]
pub struct Returned {
    pub cart: CartRecord,
    pub verdict: Verdict,
    /// The Region did not answer about it (the verdict is then the box's own).
    pub unverified: Option<RegionFailure>,
    /// For a SIL session: where the browser goes back (the municipality's back URL).
    pub sil: Option<BackTo>,
}

/// The browser is back from the Region with `id_session` (`None`: no cart of ours has it). Asks
/// the Region (when it is configured), then reads the receipts: a cart is paid only when every
/// receipt is stored, and not paid only when the Region says so; `esito_ok`, the browser's hint, is
/// only passed on to a SIL's back URL when nothing is known yet (as MyPay passes it on).
pub fn returned(
    db: &Db,
    links: &Links,
    region: Option<&dyn RegionPayments>,
    id_session: &str,
    esito_ok: bool,
    now: Now,
) -> Result<Option<Returned>, UpstreamError> {
    let id_session = id_session.trim();
    if !plausible_session(id_session) {
        return Ok(None);
    }
    let found = db.read(|conn| {
        let Some(payment) = region_payments::find_region_payment(conn, id_session)? else {
            return Ok(None);
        };
        let org = orgs::find_org_by_id(conn, payment.org_id)?;
        Ok::<_, StoreError>(org.map(|org| (payment, org)))
    })?;
    let Some((payment, org)) = found else {
        return Ok(None);
    };
    let Some(cart) = db.read(|conn| carts::find_cart_by_id(conn, payment.cart_id))? else {
        return Ok(None);
    };
    let paid_here =
        |db: &Db| Ok::<_, UpstreamError>(portal_carts::cart_outcome(db, &cart.token)?.is_some_and(|o| o.paid));
    // Receipts already stored settle it without a call on the citizen's time.
    let answer = match (paid_here(db)?, region, RegionCall::parse(&payment.operation)) {
        (false, Some(region), Some(call)) => Some(region.session_outcome(&org.ipa_code, call, id_session)),
        _ => None,
    };
    if let Some(Ok(RegionOutcome::Paid(payments))) = &answer {
        for payment in payments {
            super::outcomes::apply(db, org.id, payment, &payment.document, now)?;
        }
    }
    if let Some(Ok(RegionOutcome::CartPaid(payments))) = &answer {
        for (ipa, payment) in payments {
            // Only the cart's own orgs: the Region's answer names them, the box checks it.
            let Some(member) = db.read(|conn| orgs::find_org_by_ipa(conn, ipa))? else { continue };
            if cart.items.iter().any(|item| item.org_id == member.id) {
                super::outcomes::apply(db, member.id, payment, &payment.document, now)?;
            }
        }
    }
    // Read again: a paid answer has stored its receipts meanwhile.
    let paid = paid_here(db)?;
    let verdict = match &answer {
        _ if paid => Verdict::Paid,
        Some(Ok(RegionOutcome::NotPaid)) => Verdict::NotPaid,
        Some(Ok(RegionOutcome::Cancelled)) => Verdict::Cancelled,
        Some(Ok(RegionOutcome::Paid(_) | RegionOutcome::CartPaid(_))) => {
            tracing::warn!(cart = %cart.token, "the Region says paid, but the receipts are not stored yet");
            Verdict::Pending
        }
        _ => Verdict::Pending,
    };
    let unverified = match answer {
        Some(Err(failure)) => {
            tracing::warn!(cart = %cart.token, error = %failure, "the Region did not say how the payment went");
            Some(failure)
        }
        None if !paid => {
            Some(RegionFailure { retryable: true, code: None, text: "upstream mode is not configured".to_owned() })
        }
        _ => None,
    };
    let sil = match sessions::token_of_cart(db, &cart)? {
        Some(token) => {
            let how = match verdict {
                Verdict::Paid => Return::Ok,
                Verdict::NotPaid => Return::Error,
                Verdict::Cancelled => Return::Cancelled,
                Verdict::Pending => Return::Unconfirmed { hint_ok: esito_ok },
            };
            Some(sessions::finish(db, links, &token, how, now)?)
        }
        None => {
            if matches!(verdict, Verdict::NotPaid | Verdict::Cancelled) && cart.state == CartState::InPayment {
                portal_carts::cart_abandoned(db, cart.id, verdict == Verdict::Cancelled, now)?;
            }
            None
        }
    };
    let cart = db.read(|conn| carts::find_cart_by_id(conn, cart.id))?.unwrap_or(cart);
    Ok(Some(Returned { cart, verdict, unverified, sil }))
}

/// A Region for tests: it records what it is asked and answers what the test sets.
#[cfg(test)]
pub(crate) mod double {
    #![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]
    use std::sync::Mutex;

    use super::*;

    pub const ID_SESSION: &str = "6f1c2a4e-1b2c-4d3e-a4f5-251207100000";
    pub const URL: &str = "https://mypay.regione.example/public/landing/inviaDovuti?id=abc";

    /// What the double was asked.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Call {
        Dovuti { ipa: String, payer: String, iuds: Vec<String>, iuvs: Vec<Option<Iuv>>, back: String },
        Cart { caller: String, parts: Vec<(String, String, Vec<String>)> },
        Avviso { ipa: String, iuv: String },
        Outcome { ipa: String, call: RegionCall, id_session: String },
    }

    /// The Region, as the test wants it to answer: a session [`ID_SESSION`] at [`URL`], and
    /// "in progress", until told otherwise.
    pub struct Double {
        calls: Mutex<Vec<Call>>,
        start: Mutex<Result<RegionSession, RegionFailure>>,
        outcome: Mutex<Result<RegionOutcome, RegionFailure>>,
    }

    impl Double {
        pub fn new() -> Double {
            Double {
                calls: Mutex::new(Vec::new()),
                start: Mutex::new(Ok(RegionSession { id_session: ID_SESSION.to_owned(), url: URL.to_owned() })),
                outcome: Mutex::new(Ok(RegionOutcome::Pending)),
            }
        }

        /// Starts answer `start`.
        pub fn starting(self, start: Result<RegionSession, RegionFailure>) -> Double {
            *self.start.lock().unwrap() = start;
            self
        }

        /// Session `id_session` at [`URL`].
        pub fn session(self, id_session: &str) -> Double {
            self.starting(Ok(RegionSession { id_session: id_session.to_owned(), url: URL.to_owned() }))
        }

        /// Unreachable: every call times out.
        pub fn down() -> Double {
            let timeout = RegionFailure { retryable: true, code: None, text: "timed out".to_owned() };
            Double::new().starting(Err(timeout.clone())).answering(Err(timeout))
        }

        pub fn answering(self, outcome: Result<RegionOutcome, RegionFailure>) -> Double {
            self.set_outcome(outcome);
            self
        }

        pub fn set_outcome(&self, outcome: Result<RegionOutcome, RegionFailure>) {
            *self.outcome.lock().unwrap() = outcome;
        }

        pub fn calls(&self) -> Vec<Call> {
            self.calls.lock().unwrap().clone()
        }

        fn record(&self, call: Call) {
            self.calls.lock().unwrap().push(call);
        }
    }

    impl RegionPayments for Double {
        fn start_dovuti(
            &self,
            ipa: &str,
            payer: &Party,
            items: &[DebtRecord],
            back_url: &str,
        ) -> Result<RegionSession, RegionFailure> {
            self.record(Call::Dovuti {
                ipa: ipa.to_owned(),
                payer: payer.id.clone(),
                iuds: items.iter().map(|d| d.iud.clone()).collect(),
                iuvs: items.iter().map(|d| d.iuv.clone()).collect(),
                back: back_url.to_owned(),
            });
            self.start.lock().unwrap().clone()
        }

        fn start_cart(
            &self,
            caller_ipa: &str,
            parts: &[CartPart],
            _back_url: &str,
        ) -> Result<RegionSession, RegionFailure> {
            let parts = parts
                .iter()
                .map(|p| (p.ipa.clone(), p.payer.id.clone(), p.items.iter().map(|d| d.iud.clone()).collect()))
                .collect();
            self.record(Call::Cart { caller: caller_ipa.to_owned(), parts });
            self.start.lock().unwrap().clone()
        }

        fn verify_notice(&self, ipa: &str, iuv: &Iuv, _back_url: &str) -> Result<RegionSession, RegionFailure> {
            self.record(Call::Avviso { ipa: ipa.to_owned(), iuv: iuv.as_str().to_owned() });
            self.start.lock().unwrap().clone()
        }

        fn session_outcome(
            &self,
            ipa: &str,
            call: RegionCall,
            id_session: &str,
        ) -> Result<RegionOutcome, RegionFailure> {
            self.record(Call::Outcome { ipa: ipa.to_owned(), call, id_session: id_session.to_owned() });
            self.outcome.lock().unwrap().clone()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::double::{Call, Double, ID_SESSION, URL};
    use super::*;
    use crate::services::admin::debt_types::{DebtTypeChanges, add_debt_type};
    use crate::services::admin::orgs::{OrgChanges, add_org};
    use crate::services::portal::carts::find_payable;
    use crate::services::sil::sessions::{NewSession, SessionItem, SessionKind, ShowMode};
    use crate::services::testkit::{FISCAL_CODE, IPA, Kit};
    use crate::store::receipts::{self, ReceiptRecord};

    const BACK: &str = "https://box.example/upstream/ritorno";

    fn org(id: i64, ipa: &str) -> OrgRecord {
        OrgRecord { id, ipa_code: ipa.to_owned(), ..OrgRecord::default() }
    }

    fn debt(iud: &str, payer: &str, iuv: Option<&str>) -> DebtRecord {
        DebtRecord {
            iud: iud.to_owned(),
            iuv: iuv.map(|v| Iuv::parse(v).unwrap()),
            debtor: Party { kind: "F".to_owned(), id: payer.to_owned(), ..Party::default() },
            amount_cents: Cents::new(1000),
            ..DebtRecord::default()
        }
    }

    fn line(org_id: i64, ipa: &str, debt: DebtRecord, new: bool) -> Line {
        Line { org: org(org_id, ipa), debt, new }
    }

    #[test]
    fn each_payment_maps_to_the_region_operation_that_can_represent_it() {
        let iuv = "01000000000000123";
        let notice = line(1, "c_a", debt("A", "P1", Some(iuv)), false);
        assert_eq!(
            plan(std::slice::from_ref(&notice)).unwrap(),
            Plan::Avviso { org: org(1, "c_a"), iuv: Iuv::parse(iuv).unwrap() }
        );
        let unmirrored = line(1, "c_a", debt("B", "P1", None), false);
        assert!(matches!(plan(&[unmirrored]), Err(UpstreamError::NotYetMirrored(iud)) if iud == "B"));
        let other = line(1, "c_a", debt("C", "P1", Some("01000000000000224")), false);
        assert!(matches!(plan(&[notice.clone(), other]), Err(UpstreamError::OneNoticeAtATime)));
        let new =
            |iud: &str, org_id: i64, payer: &str| line(org_id, &format!("c_{org_id}"), debt(iud, payer, None), true);
        assert!(matches!(plan(&[notice, new("N", 1, "P1")]), Err(UpstreamError::Mixed)));

        let Plan::Dovuti { org: o, payer, items } = plan(&[new("N1", 1, "P1"), new("N2", 1, "P1")]).unwrap() else {
            panic!("one org and one payer is InviaDovuti");
        };
        assert_eq!((o.ipa_code.as_str(), payer.id.as_str(), items.len()), ("c_1", "P1", 2));

        let Plan::Carrello { caller, parts } =
            plan(&[new("N1", 2, "P1"), new("N2", 3, "P1"), new("N3", 2, "P1")]).unwrap()
        else {
            panic!("several orgs is InviaCarrelloDovuti");
        };
        assert_eq!(caller.ipa_code, "c_2");
        let shape: Vec<(&str, usize)> = parts.iter().map(|p| (p.ipa.as_str(), p.items.len())).collect();
        assert_eq!(shape, [("c_2", 2), ("c_3", 1)]);
        assert!(matches!(plan(&[new("N1", 1, "P1"), new("N2", 1, "P2")]).unwrap(), Plan::Carrello { .. }));

        let six: Vec<Line> = (0..6).map(|i| new(&format!("N{i}"), 1, "P1")).collect();
        assert!(matches!(plan(&six), Err(UpstreamError::TooMany)));
        let mut shared = new("M", 1, "P1");
        shared.debt.mb_amount_cents = Some(Cents::new(200));
        assert!(matches!(plan(&[shared.clone(), new("N", 1, "P1")]), Err(UpstreamError::MultiBeneficiary)));
        assert!(matches!(plan(&[shared]).unwrap(), Plan::Dovuti { .. }));
        assert!(matches!(plan(&[]), Err(UpstreamError::Empty)));
        assert!(check_cart_room(0).is_ok());
        assert!(matches!(check_cart_room(1), Err(UpstreamError::OneNoticeAtATime)));
    }

    fn cart_of(kit: &Kit, id_session: &str) -> (RegionPaymentRecord, CartRecord) {
        kit.db
            .read(|c| {
                let payment = region_payments::find_region_payment(c, id_session)?.unwrap();
                let cart = carts::find_cart_by_id(c, payment.cart_id)?.unwrap();
                Ok::<_, StoreError>((payment, cart))
            })
            .unwrap()
    }

    fn new_cart(session_hash: &str) -> NewCart<'_> {
        NewCart { session_hash, payer_email: Some("mario@example.it"), citizen_id: None, shown_notices: None }
    }

    #[test]
    fn a_notice_the_region_holds_is_paid_with_verifica_avviso_and_the_session_is_kept() {
        let kit = Kit::new();
        let debt = kit.debt("D1", 2500);
        let view = find_payable(&kit.db, FISCAL_CODE, &Kit::notice(&debt), kit.now.today()).unwrap();
        let region = Double::new();
        let url = pay_notices(&kit.db, &region, &[view], &new_cart("s1"), BACK, kit.now).unwrap();
        assert_eq!(url, URL);
        let iuv = debt.iuv.as_ref().unwrap().as_str().to_owned();
        assert_eq!(region.calls(), [Call::Avviso { ipa: IPA.to_owned(), iuv }]);
        let (payment, cart) = cart_of(&kit, ID_SESSION);
        assert_eq!((payment.operation.as_str(), payment.org_id), ("avviso", debt.org_id));
        assert_eq!(
            (cart.state, cart.checkout_url.as_deref(), cart.total_cents),
            (CartState::InPayment, Some(URL), Cents::new(2500))
        );
        assert_eq!(cart.items[0].notice_number, debt.notice_number);
        assert!(!is_session_debt(&kit.db, debt.id).unwrap(), "an existing debt stays the outbox's");
    }

    #[test]
    fn two_notices_are_refused_before_anything_is_stored_or_asked() {
        let kit = Kit::new();
        let views: Vec<PaymentView> = ["D1", "D2"]
            .iter()
            .map(|iud| find_payable(&kit.db, FISCAL_CODE, &Kit::notice(&kit.debt(iud, 1000)), kit.now.today()).unwrap())
            .collect();
        let region = Double::new();
        let err = pay_notices(&kit.db, &region, &views, &new_cart("s1"), BACK, kit.now).unwrap_err();
        assert!(matches!(err, UpstreamError::OneNoticeAtATime), "{err}");
        assert!(region.calls().is_empty());
        let stored = kit.db.read(|c| carts::session_paid_debt(c, "s1", views[0].debt.id)).unwrap();
        assert!(!stored, "no cart was recorded");
    }

    fn cert_fields(iud: &str) -> DebtFields {
        DebtFields {
            iud: iud.to_owned(),
            debtor_kind: "F".to_owned(),
            debtor_id: "RSSMRA85T10A562S".to_owned(),
            debtor_name: "Mario Rossi".to_owned(),
            amount: "16.00".to_owned(),
            debt_type: "CERT".to_owned(),
            causale: "Certificato".to_owned(),
            collection_data: "9/0101108TS/".to_owned(),
            generate_iuv: true,
            ..DebtFields::default()
        }
    }

    /// The newest debt of the kit's org with this IUD, live or annulled.
    fn debt_by_iud(kit: &Kit, iud: &str) -> DebtRecord {
        let filter = crate::store::debts::DebtFilter { limit: 100, ..Default::default() };
        let all = kit
            .db
            .read(|c| {
                let org = orgs::find_org_by_ipa(c, IPA)?.unwrap();
                crate::store::debts::list_debts(c, org.id, &filter)
            })
            .unwrap();
        all.into_iter().find(|d| d.iud == iud).unwrap()
    }

    #[test]
    fn a_spontaneous_payment_goes_with_invia_dovuti_without_iuv_and_is_never_mirrored() {
        let kit = Kit::new();
        let region = Double::new();
        let url = pay_spontaneous(
            &kit.db,
            &region,
            IPA,
            &cert_fields("WEB-1"),
            "portal:anonymous",
            &new_cart("s1"),
            BACK,
            kit.now,
        )
        .unwrap();
        assert_eq!(url, URL);
        assert_eq!(
            region.calls(),
            [Call::Dovuti {
                ipa: IPA.to_owned(),
                payer: "RSSMRA85T10A562S".to_owned(),
                iuds: vec!["WEB-1".to_owned()],
                iuvs: vec![None],
                back: BACK.to_owned(),
            }]
        );
        let debt = debt_by_iud(&kit, "WEB-1");
        assert_eq!((debt.iuv.as_ref(), debt.notice_number.as_ref()), (None, None), "the Region assigns the IUV");
        assert!(is_session_debt(&kit.db, debt.id).unwrap());
        let (payment, cart) = cart_of(&kit, ID_SESSION);
        assert_eq!(payment.operation, "dovuti");
        assert_eq!((cart.items[0].debt_id, cart.items[0].notice_number.as_ref()), (debt.id, None));
        assert_eq!(cart.total_cents, Cents::new(1600));
    }

    #[test]
    fn a_region_that_does_not_answer_or_answers_nonsense_leaves_nothing_to_pay() {
        let kit = Kit::new();
        let err =
            pay_spontaneous(&kit.db, &Double::down(), IPA, &cert_fields("WEB-1"), "t", &new_cart("s1"), BACK, kit.now)
                .unwrap_err();
        assert!(matches!(&err, UpstreamError::Region(f) if f.retryable), "{err}");
        assert_eq!(debt_by_iud(&kit, "WEB-1").state.code(), "ANNULLATO");
        for (id_session, url) in [(ID_SESSION, "javascript:alert(1)"), ("x\r\nSet-Cookie: a", URL), ("", URL)] {
            let region =
                Double::new().starting(Ok(RegionSession { id_session: id_session.to_owned(), url: url.to_owned() }));
            let err =
                pay_spontaneous(&kit.db, &region, IPA, &cert_fields("WEB-2"), "t", &new_cart("s1"), BACK, kit.now)
                    .unwrap_err();
            assert!(matches!(&err, UpstreamError::Region(f) if !f.retryable), "{err}");
            assert_eq!(debt_by_iud(&kit, "WEB-2").state.code(), "ANNULLATO", "{id_session:?} {url:?}");
        }
        let nothing = kit.db.read(|c| region_payments::find_region_payment(c, ID_SESSION)).unwrap();
        assert_eq!(nothing, None);
    }

    #[test]
    fn a_region_repeating_an_id_session_is_refused_the_second_time() {
        let kit = Kit::new();
        let region = Double::new();
        pay_spontaneous(&kit.db, &region, IPA, &cert_fields("WEB-1"), "t", &new_cart("s1"), BACK, kit.now).unwrap();
        let again = pay_spontaneous(&kit.db, &region, IPA, &cert_fields("WEB-2"), "t", &new_cart("s1"), BACK, kit.now);
        assert!(again.is_err());
        assert_eq!(debt_by_iud(&kit, "WEB-2").state.code(), "ANNULLATO");
        assert_eq!(cart_of(&kit, ID_SESSION).1.items[0].debt_id, debt_by_iud(&kit, "WEB-1").id, "the first keeps it");
    }

    fn sil_item(ipa: &str, iud: &str, debtor_id: &str) -> SessionItem {
        SessionItem {
            ipa: ipa.to_owned(),
            fields: DebtFields {
                iud: iud.to_owned(),
                debtor_kind: if debtor_id.len() == 11 { "G" } else { "F" }.to_owned(),
                debtor_id: debtor_id.to_owned(),
                debtor_name: "Mario Rossi".to_owned(),
                debtor_email: "mario@example.it".to_owned(),
                amount: "12.00".to_owned(),
                debt_type: "TARI".to_owned(),
                causale: "TARI 2026".to_owned(),
                collection_data: "9/0101002IM/".to_owned(),
                ..DebtFields::default()
            },
        }
    }

    fn sil_session(kit: &Kit, kind: SessionKind, items: Vec<SessionItem>) -> String {
        let new = NewSession {
            ipa: IPA.to_owned(),
            kind,
            show: ShowMode::Short,
            back_url: Some("https://sil.example/ritorno".to_owned()),
            items,
        };
        sessions::start(&kit.db, "sil", &new, kit.now).unwrap().token
    }

    /// A second org in production, with its own `TARI`.
    fn second_org(kit: &Kit) {
        let some = |s: &str| Some(s.to_owned());
        let changes = OrgChanges {
            fiscal_code: some("07654321095"),
            name: some("Comune di Altrove"),
            state: some("ESERCIZIO"),
            segregation_code: some("02"),
            iban_bank: some(crate::services::testkit::IBAN),
            mode: some("ente"),
            ..OrgChanges::default()
        };
        add_org(&kit.db, "test", "c_altro", &changes, kit.now).unwrap();
        let tari = DebtTypeChanges {
            description: some("TARI"),
            taxonomy_code: some("0101002IM"),
            ..DebtTypeChanges::default()
        };
        add_debt_type(&kit.db, "test", "c_altro", "TARI", &tari, kit.now).unwrap();
    }

    #[test]
    fn sil_sessions_take_the_same_path_at_their_checkout() {
        let kit = Kit::new();
        // InviaDovuti to the box: one org, one payer → InviaDovuti to the Region, debts without IUV.
        let token = sil_session(
            &kit,
            SessionKind::Dovuti,
            vec![sil_item(IPA, "S1", "RSSMRA85T10A562S"), sil_item(IPA, "S2", "RSSMRA85T10A562S")],
        );
        let region = Double::new();
        assert_eq!(pay_sil_session(&kit.db, &region, &token, Some("mario@example.it"), BACK, kit.now).unwrap(), URL);
        let Call::Dovuti { iuds, iuvs, .. } = &region.calls()[0] else { panic!("{:?}", region.calls()) };
        assert_eq!(
            (iuds.as_slice(), iuvs.as_slice()),
            (["S1".to_owned(), "S2".to_owned()].as_slice(), [None, None].as_slice())
        );
        assert!(is_session_debt(&kit.db, debt_by_iud(&kit, "S1").id).unwrap());
        let again = pay_sil_session(&kit.db, &region, &token, None, BACK, kit.now).unwrap_err();
        assert!(matches!(again, UpstreamError::Sil(SilError::Fault { code: "PAA_PAGAMENTO_IN_CORSO", .. })), "{again}");

        // InviaCarrelloDovuti to the box: two orgs → InviaCarrelloDovuti to the Region.
        second_org(&kit);
        let token = sil_session(
            &kit,
            SessionKind::Carrello,
            vec![sil_item(IPA, "K1", "RSSMRA85T10A562S"), sil_item("c_altro", "K2", "RSSMRA85T10A562S")],
        );
        let region = Double::new().session("cart-1");
        pay_sil_session(&kit.db, &region, &token, None, BACK, kit.now).unwrap();
        let expected = vec![
            (IPA.to_owned(), "RSSMRA85T10A562S".to_owned(), vec!["K1".to_owned()]),
            ("c_altro".to_owned(), "RSSMRA85T10A562S".to_owned(), vec!["K2".to_owned()]),
        ];
        assert_eq!(region.calls(), [Call::Cart { caller: IPA.to_owned(), parts: expected }]);
        assert_eq!(cart_of(&kit, "cart-1").0.operation, "carrello");

        // VerificaAvviso to the box on a debt the Region holds → VerificaAvviso to the Region.
        let held = kit.debt("V1", 3000);
        let iuv = held.iuv.as_ref().unwrap().as_str().to_owned();
        let started = sessions::start_for_notice(&kit.db, "sil", IPA, &iuv, None, kit.now).unwrap();
        let region = Double::new().session("avviso-1");
        pay_sil_session(&kit.db, &region, &started.token, None, BACK, kit.now).unwrap();
        assert_eq!(region.calls(), [Call::Avviso { ipa: IPA.to_owned(), iuv }]);
        assert!(!is_session_debt(&kit.db, held.id).unwrap());
    }

    #[test]
    fn a_sil_session_the_region_refuses_is_over_and_its_debts_annulled() {
        let kit = Kit::new();
        let token = sil_session(&kit, SessionKind::Dovuti, vec![sil_item(IPA, "S1", "RSSMRA85T10A562S")]);
        let err = pay_sil_session(&kit.db, &Double::down(), &token, None, BACK, kit.now).unwrap_err();
        assert!(matches!(err, UpstreamError::Region(_)), "{err}");
        assert_eq!(debt_by_iud(&kit, "S1").state.code(), "ANNULLATO");
        let status = sessions::status(
            &kit.db,
            IPA,
            &sessions::landing(&kit.db, &token, kit.now).unwrap().session.id_session,
            kit.now,
        )
        .unwrap();
        assert!(
            matches!(status, sessions::SessionStatus::Finished(o) if o.outcome == sessions::PaymentOutcome::NotPaid)
        );
    }

    /// A spontaneous payment sent to the Region under [`ID_SESSION`] by session `s1`.
    fn sent(kit: &Kit) -> DebtRecord {
        pay_spontaneous(&kit.db, &Double::new(), IPA, &cert_fields("WEB-1"), "t", &new_cart("s1"), BACK, kit.now)
            .unwrap();
        debt_by_iud(kit, "WEB-1")
    }

    /// What the outcomes' apply would store: a paying receipt of `debt`.
    fn store_receipt(kit: &Kit, debt: &DebtRecord) {
        let receipt = ReceiptRecord {
            org_id: debt.org_id,
            debt_id: Some(debt.id),
            receipt_id: "R1".to_owned(),
            iuv: "03000000000000999".to_owned(),
            outcome: "OK".to_owned(),
            amount_cents: Cents::new(1600),
            primitive: "paSendRTV2".to_owned(),
            ..ReceiptRecord::default()
        };
        kit.db.write(|tx| receipts::insert_receipt(tx, &receipt, &kit.now.iso())).unwrap();
    }

    fn back(kit: &Kit, region: Option<&dyn RegionPayments>, id_session: &str, esito_ok: bool) -> Option<Returned> {
        returned(&kit.db, &Links::load(&kit.db), region, id_session, esito_ok, kit.now).unwrap()
    }

    #[test]
    fn the_return_trusts_the_receipts_and_the_region_never_the_browser() {
        let kit = Kit::new();
        let debt = sent(&kit);
        // The browser says OK; the Region says in progress: nothing is paid, nothing changes.
        let region = Double::new();
        let found = back(&kit, Some(&region), ID_SESSION, true).unwrap();
        assert_eq!(
            (found.verdict, found.cart.state, found.unverified.is_none()),
            (Verdict::Pending, CartState::InPayment, true)
        );
        assert_eq!(
            region.calls(),
            [Call::Outcome { ipa: IPA.to_owned(), call: RegionCall::Dovuti, id_session: ID_SESSION.to_owned() }]
        );
        // The Region says paid but no receipt is stored: still not paid.
        let found =
            back(&kit, Some(&Double::new().answering(Ok(RegionOutcome::Paid(Vec::new())))), ID_SESSION, true).unwrap();
        assert_eq!(found.verdict, Verdict::Pending);
        // The Region does not answer: unverified, nothing marked.
        let down =
            Double::new().answering(Err(RegionFailure { retryable: true, code: None, text: "timeout".to_owned() }));
        let found = back(&kit, Some(&down), ID_SESSION, false).unwrap();
        assert_eq!(
            (found.verdict, found.cart.state, found.unverified.is_some()),
            (Verdict::Pending, CartState::InPayment, true)
        );
        let found = back(&kit, None, ID_SESSION, true).unwrap();
        assert!(found.unverified.is_some(), "without the Region nothing can be confirmed");
        // The receipt arrives: paid, and the Region is not asked again.
        store_receipt(&kit, &debt);
        let region = Double::new().answering(Ok(RegionOutcome::NotPaid));
        let found = back(&kit, Some(&region), ID_SESSION, false).unwrap();
        assert_eq!(found.verdict, Verdict::Paid);
        assert!(region.calls().is_empty());
    }

    /// A cart of two orgs: the Region's cart outcome gives each org's payment, stored on that org's
    /// debt; an org the cart does not hold is ignored; the cart is paid once both are stored.
    #[test]
    fn a_cart_of_two_orgs_is_paid_by_each_orgs_payment_in_the_regions_outcome() {
        use super::super::fake_region::{payment, rt_envelope};
        let kit = Kit::new();
        second_org(&kit);
        let token = sil_session(
            &kit,
            SessionKind::Carrello,
            vec![sil_item(IPA, "K1", "RSSMRA85T10A562S"), sil_item("c_altro", "K2", "RSSMRA85T10A562S")],
        );
        pay_sil_session(&kit.db, &Double::new().session("cart-1"), &token, None, BACK, kit.now).unwrap();
        let k1 = debt_by_iud(&kit, "K1");
        let k2 = kit
            .db
            .read(|c| {
                let org = orgs::find_org_by_ipa(c, "c_altro")?.unwrap();
                crate::store::debts::find_debt_by_iud(c, org.id, "K2")
            })
            .unwrap()
            .unwrap();
        let (iuv1, iuv2) = ("03000000000000101", "03000000000000202");
        let rt1 = rt_envelope(iuv1, "R-K1", k1.amount_cents.get());
        let rt2 = rt_envelope(iuv2, "R-K2", k2.amount_cents.get()).replace(FISCAL_CODE, "07654321095");
        let paid_k1 = payment(&k1, iuv1, "R-K1", k1.amount_cents.get(), rt1.as_bytes());
        let only_k1 = Double::new().answering(Ok(RegionOutcome::CartPaid(vec![
            (IPA.to_owned(), paid_k1.clone()),
            ("c_nessuno".to_owned(), paid_k1.clone()),
        ])));
        let found = back(&kit, Some(&only_k1), "cart-1", true).unwrap();
        assert_eq!(found.verdict, Verdict::Pending, "K2 is not paid yet");
        assert_eq!(
            only_k1.calls(),
            [Call::Outcome { ipa: IPA.to_owned(), call: RegionCall::Carrello, id_session: "cart-1".to_owned() }]
        );
        assert_eq!(debt_by_iud(&kit, "K1").iuv.as_ref().map(Iuv::as_str), Some(iuv1), "adopted by IUD");
        let both = Double::new().answering(Ok(RegionOutcome::CartPaid(vec![
            (IPA.to_owned(), paid_k1),
            ("c_altro".to_owned(), payment(&k2, iuv2, "R-K2", k2.amount_cents.get(), rt2.as_bytes())),
        ])));
        let found = back(&kit, Some(&both), "cart-1", true).unwrap();
        assert_eq!(found.verdict, Verdict::Paid);
    }

    #[test]
    fn the_region_saying_not_paid_or_cancelled_closes_the_cart() {
        for (outcome, verdict, state) in [
            (RegionOutcome::NotPaid, Verdict::NotPaid, CartState::Failed),
            (RegionOutcome::Cancelled, Verdict::Cancelled, CartState::Cancelled),
        ] {
            let kit = Kit::new();
            sent(&kit);
            let found = back(&kit, Some(&Double::new().answering(Ok(outcome))), ID_SESSION, true).unwrap();
            assert_eq!((found.verdict, found.cart.state), (verdict, state));
        }
    }

    #[test]
    fn an_unknown_or_malformed_id_session_finds_nothing_and_asks_nobody() {
        let kit = Kit::new();
        sent(&kit);
        let region = Double::new().answering(Ok(RegionOutcome::Paid(Vec::new())));
        let long = "a".repeat(65);
        for id in ["6f1c2a4e-0000-4000-a000-000000000000", "", "x\r\nLocation: /", "../../etc", long.as_str()] {
            assert!(back(&kit, Some(&region), id, true).is_none(), "{id:?}");
        }
        assert!(region.calls().is_empty());
    }

    #[test]
    fn a_sil_session_goes_back_to_the_municipality_with_what_is_known() {
        let kit = Kit::new();
        let token = sil_session(&kit, SessionKind::Dovuti, vec![sil_item(IPA, "S1", "RSSMRA85T10A562S")]);
        pay_sil_session(&kit.db, &Double::new(), &token, None, BACK, kit.now).unwrap();
        let esito = |found: Returned| found.sil.unwrap().url.unwrap();
        // In progress at the Region: the browser's hint is passed on, nothing is marked.
        let url = esito(back(&kit, Some(&Double::new()), ID_SESSION, true).unwrap());
        assert!(
            url.starts_with("https://sil.example/ritorno?idSession=") && url.contains("&esito=OK&pollingToken="),
            "{url}"
        );
        let found = back(&kit, Some(&Double::new()), ID_SESSION, false).unwrap();
        assert_eq!(found.cart.state, CartState::InPayment);
        assert!(esito(found).contains("&esito=ERROR&"));
        // Not paid, says the Region: ERROR, whatever the browser says, and the session is finished.
        let found = back(&kit, Some(&Double::new().answering(Ok(RegionOutcome::NotPaid))), ID_SESSION, true).unwrap();
        assert_eq!(found.cart.state, CartState::Failed);
        assert!(esito(found).contains("&esito=ERROR&"));
    }
}
