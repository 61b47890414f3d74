//! Carts: finding a payable notice, the cart's limits, carts handed to Checkout and their outcome
//! read from the receipts.
//!
//! The Checkout call itself is made by the web adapter (`pagopa::checkout`) between
//! [`prepare_cart`] and [`cart_sent`], so no transaction is held across HTTP.
//! **Invariant:** a cart's outcome comes only from stored receipts, never from the browser.

use jiff::civil::Date;

use super::PortalError;
use super::privacy_notices;
use crate::clock::Now;
use crate::domain::notice::NoticeError;
use crate::domain::{ApplicationCode, CartState, Cents, Iuv, NoticeNumber, OrgFiscalCode};
use crate::services::debts::options::{self, OptionView};
use crate::services::ids::random_hex;
use crate::services::payments::{self, PaymentView};
use crate::store::carts::{self, CartItemRecord, CartRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, mail, orgs};

/// pagoPA Checkout takes at most 5 notices per cart.
pub const CART_MAX: usize = 5;

/// A notice in a cart, as the session keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub org_fiscal_code: String,
    pub notice_number: String,
}

/// What is wrong with a code a citizen typed (the portal says it in Italian, each case its own
/// sentence): the notice code (18 digits, or the IUV inside it) and the org's fiscal code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    NoticeEmpty,
    /// Letters or signs other than spaces and hyphens.
    NoticeNotDigits,
    /// Neither 18 digits nor an IUV of 15 or 17: how many digits were typed.
    NoticeLength(usize),
    /// 18 digits not starting with 0, 1, 2 or 3.
    NoticeAuxDigit,
    /// 18 digits whose last two are not the check of the others: a typing mistake.
    NoticeCheckDigits,
    /// 17 digits (an IUV) whose last two are not the check of the others.
    IuvCheckDigits,
    /// 15 digits (an old IUV) for an org that has no application code to complete it.
    IuvNeedsNotice,
    OrgEmpty,
    OrgNotDigits,
    /// Not 11 digits: how many were typed.
    OrgLength(usize),
    /// 11 digits whose last is not the check of the others.
    OrgCheckDigit,
}

/// The problem of a notice number refused by [`NoticeNumber::parse`].
fn notice_problem(err: &NoticeError) -> CodeProblem {
    match err {
        NoticeError::AuxDigit { .. } => CodeProblem::NoticeAuxDigit,
        NoticeError::NoticeCheckDigits { .. } => CodeProblem::NoticeCheckDigits,
        _ => CodeProblem::NoticeLength(0),
    }
}

/// Reads the org fiscal code a citizen typed: 11 digits with their check digit (spaces ignored).
pub fn parse_org_code(code: &str) -> Result<OrgFiscalCode, PortalError> {
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = compact.chars().filter(char::is_ascii_digit).count();
    let problem = if compact.is_empty() {
        CodeProblem::OrgEmpty
    } else if digits != compact.chars().count() {
        CodeProblem::OrgNotDigits
    } else if digits != 11 {
        CodeProblem::OrgLength(digits)
    } else {
        return OrgFiscalCode::parse(&compact).map_err(|_| PortalError::BadCode(CodeProblem::OrgCheckDigit));
    };
    Err(PortalError::BadCode(problem))
}

/// Reads what a citizen typed as a notice code: 18 digits (spaces and hyphens allowed) or an IUV
/// of 17 (or 15, with the org's application code) digits; each way of getting it wrong is its own
/// [`CodeProblem`].
pub fn parse_notice_code(db: &Db, org_fiscal_code: &str, code: &str) -> Result<NoticeNumber, PortalError> {
    let bad = |problem| PortalError::BadCode(problem);
    let compact: String = code.chars().filter(|c| !matches!(c, ' ' | '\t' | '-' | '.')).collect();
    if compact.is_empty() {
        return Err(bad(CodeProblem::NoticeEmpty));
    }
    if !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(CodeProblem::NoticeNotDigits));
    }
    match compact.len() {
        18 => NoticeNumber::parse(&compact).map_err(|err| bad(notice_problem(&err))),
        17 => Iuv::parse(&compact).ok().and_then(|iuv| iuv.notice_number(None)).ok_or(bad(CodeProblem::IuvCheckDigits)),
        15 => {
            let app = db
                .read(|conn| orgs::find_org_by_fiscal_code(conn, org_fiscal_code.trim()))?
                .and_then(|org| org.application_code)
                .and_then(|c| ApplicationCode::parse(&c).ok());
            let Some(app) = app else {
                return Err(bad(CodeProblem::IuvNeedsNotice));
            };
            Iuv::parse(&compact)
                .ok()
                .and_then(|iuv| iuv.notice_number(Some(app)))
                .ok_or(bad(CodeProblem::IuvCheckDigits))
        }
        n => Err(bad(CodeProblem::NoticeLength(n))),
    }
}

/// Looks a notice up as the Node's verify does: unknown, paid, annulled and expired notices are
/// refused with their [`PaymentError`](crate::services::payments::PaymentError).
pub fn find_payable(
    db: &Db,
    org_fiscal_code: &str,
    notice: &NoticeNumber,
    today: Date,
) -> Result<PaymentView, PortalError> {
    Ok(payments::verify(db, org_fiscal_code.trim(), notice, today)?)
}

/// The payment options of the position a found notice belongs to (every state, as
/// [`options::options_of`] reads them), when it has options beside the single one; empty
/// otherwise. `view.debt` describes the option found: the position is read again.
pub fn position_options(db: &Db, view: &PaymentView, today: Date) -> Result<Vec<OptionView>, PortalError> {
    let Some(debt) = db.read(|conn| crate::store::debts::find_debt_by_id(conn, view.debt.id))? else {
        return Ok(Vec::new());
    };
    let all = options::options_of(db, &debt, today)?;
    Ok(if all.len() > 1 { all } else { Vec::new() })
}

/// Checks that `new` may join a cart already holding `lines` (whose views are `current`).
pub fn check_add(current: &[PaymentView], new: &PaymentView) -> Result<(), PortalError> {
    if current.iter().any(|v| v.org.id == new.org.id && v.debt.id == new.debt.id) {
        return Err(PortalError::AlreadyInCart);
    }
    check_room(current, is_multi(new))
}

/// Checks, before a spontaneous debt is created, that it could join the cart holding `lines`: the
/// rules of [`check_add`] for a new single-beneficiary debt, so that nothing is stored for a
/// payment the cart would then refuse.
pub fn check_room_for_new(db: &Db, lines: &[CartLine], today: Date) -> Result<(), PortalError> {
    if lines.len() >= CART_MAX {
        return Err(PortalError::CartFull);
    }
    check_room(&load_cart(db, lines, today)?, false)
}

fn is_multi(view: &PaymentView) -> bool {
    view.transfers.len() > 1
}

/// A multi-beneficiary debt is paid alone, and a cart holds at most [`CART_MAX`] debts.
fn check_room(current: &[PaymentView], new_is_multi: bool) -> Result<(), PortalError> {
    if !current.is_empty() && (new_is_multi || current.iter().any(is_multi)) {
        return Err(PortalError::MultiBeneficiary);
    }
    if current.len() >= CART_MAX {
        return Err(PortalError::CartFull);
    }
    Ok(())
}

/// Verifies every line of a cart again; a line that can no longer be paid fails the whole cart.
pub fn load_cart(db: &Db, lines: &[CartLine], today: Date) -> Result<Vec<PaymentView>, PortalError> {
    let mut views: Vec<PaymentView> = Vec::with_capacity(lines.len());
    for line in lines {
        let notice =
            NoticeNumber::parse(&line.notice_number).map_err(|err| PortalError::BadCode(notice_problem(&err)))?;
        let view = find_payable(db, &line.org_fiscal_code, &notice, today)?;
        check_add(&views, &view)?;
        views.push(view);
    }
    Ok(views)
}

/// What [`prepare_cart`] needs besides the lines.
#[derive(Debug, Clone)]
pub struct NewCart<'a> {
    pub session_hash: &'a str,
    pub payer_email: Option<&'a str>,
    pub citizen_id: Option<&'a str>,
    /// The notices' versions the page showed when the citizen accepted them
    /// ([`privacy_notices::stamp`]); `None` where the channel shows none of its own.
    pub shown_notices: Option<&'a str>,
}

/// Where a citizen accepted an org's privacy notice, as its consent records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentChannel {
    /// `portale`: this portal's cart or payment page.
    Portal,
    /// `sil`: the landing page of a payment the org's SIL started.
    Sil,
}

impl ConsentChannel {
    pub fn code(self) -> &'static str {
        match self {
            ConsentChannel::Portal => "portale",
            ConsentChannel::Sil => "sil",
        }
    }
}

/// Records a cart about to go to Checkout (state `IN_PAGAMENTO`) and the acceptance, on the
/// portal, of each org's privacy notice; returns the cart with its new random token.
pub fn prepare_cart(db: &Db, views: &[PaymentView], new: &NewCart<'_>, now: Now) -> Result<CartRecord, PortalError> {
    prepare_cart_from(db, views, new, ConsentChannel::Portal, now)
}

/// [`prepare_cart`], the notices accepted through `channel`.
pub fn prepare_cart_from(
    db: &Db,
    views: &[PaymentView],
    new: &NewCart<'_>,
    channel: ConsentChannel,
    now: Now,
) -> Result<CartRecord, PortalError> {
    let items = views
        .iter()
        .zip(1..)
        .map(|(v, position)| {
            Ok(CartItemRecord {
                position,
                org_id: v.org.id,
                debt_id: v.debt.id,
                // A view is found by its notice number, so its debt has one.
                notice_number: Some(
                    v.debt.notice_number.clone().ok_or(PortalError::BadCode(CodeProblem::NoticeEmpty))?,
                ),
                amount_cents: v.amount(),
            })
        })
        .collect::<Result<Vec<_>, PortalError>>()?;
    record_cart(db, items, Some(channel), new, now)
}

/// Records a cart of `items` in state `IN_PAGAMENTO` (with `consent`, the acceptance of each of
/// their orgs' privacy notice through that channel, each with the version the org shows now);
/// returns it with its new random token.
pub(crate) fn record_cart(
    db: &Db,
    items: Vec<CartItemRecord>,
    consent: Option<ConsentChannel>,
    new: &NewCart<'_>,
    now: Now,
) -> Result<CartRecord, PortalError> {
    if items.is_empty() {
        return Err(PortalError::EmptyCart);
    }
    let total =
        items.iter().try_fold(Cents::ZERO, |acc, i| acc.checked_add(i.amount_cents)).unwrap_or(Cents::new(i64::MAX));
    let mut cart = CartRecord {
        token: random_hex(16)?,
        session_hash: new.session_hash.to_owned(),
        state: CartState::InPayment,
        payer_email: new.payer_email.map(str::to_owned),
        citizen_id: new.citizen_id.map(str::to_owned),
        total_cents: total,
        items,
        ..CartRecord::default()
    };
    let iso = now.iso();
    db.write(|tx| {
        if let (Some(_), Some(shown)) = (consent, new.shown_notices) {
            let orgs: Vec<i64> = cart.items.iter().map(|i| i.org_id).collect();
            if privacy_notices::stamp_in(tx, &orgs)? != shown {
                return Err(PortalError::NoticeChanged);
            }
        }
        cart.id = carts::insert_cart(tx, &cart, &iso)?;
        let mut seen = Vec::new();
        for (item, channel) in cart.items.iter().filter_map(|i| consent.map(|c| (i, c))) {
            if !seen.contains(&item.org_id) {
                seen.push(item.org_id);
                let version = privacy_notices::current_label(tx, item.org_id)?;
                let acceptance = carts::NewAcceptance {
                    org_id: item.org_id,
                    version: &version,
                    cart_id: Some(cart.id),
                    session_hash: new.session_hash,
                    citizen_id: new.citizen_id,
                    channel: channel.code(),
                };
                carts::insert_privacy_acceptance(tx, &acceptance, &iso)?;
            }
        }
        Ok::<_, PortalError>(())
    })?;
    Ok(cart)
}

/// Records where Checkout sent the browser, or (`None`) that Checkout refused the cart.
pub fn cart_sent(db: &Db, cart_id: i64, checkout_url: Option<&str>, now: Now) -> Result<(), PortalError> {
    let state = if checkout_url.is_some() { CartState::InPayment } else { CartState::Failed };
    Ok(db.write(|tx| carts::update_cart_state(tx, cart_id, state, checkout_url, &now.iso()))?)
}

/// A cart and what its receipts say.
#[derive(Debug, Clone)]
pub struct CartOutcome {
    pub cart: CartRecord,
    /// The receipts that paid the cart's debts, one per item when paid.
    pub receipts: Vec<ReceiptRecord>,
    /// Every item has a successful receipt.
    pub paid: bool,
}

/// The cart with this token and whether its receipts have all arrived.
pub fn cart_outcome(db: &Db, token: &str) -> Result<Option<CartOutcome>, PortalError> {
    db.read_tx(|conn| {
        let Some(cart) = carts::find_cart_by_token(conn, token)? else {
            return Ok(None);
        };
        let mut found = Vec::new();
        for item in &cart.items {
            if let Some(r) = receipts::list_ok_receipts_for_debt(conn, item.debt_id)?.into_iter().next() {
                found.push(r);
            }
        }
        let paid = !cart.items.is_empty() && found.len() == cart.items.len();
        Ok(Some(CartOutcome { cart, receipts: found, paid }))
    })
}

/// Marks a paid cart `PAGATO`, queueing `mail` (recipient, subject, body) once.
pub fn cart_paid(db: &Db, cart_id: i64, mail: Option<(&str, &str, &str)>, now: Now) -> Result<(), PortalError> {
    db.write(|tx| {
        carts::update_cart_state(tx, cart_id, CartState::Paid, None, &now.iso())?;
        if let Some((to, subject, body)) = mail
            && carts::update_cart_mail_queued(tx, cart_id, &now.iso())?
        {
            mail::insert_mail(tx, to, subject, body, &now.iso())?;
        }
        Ok::<_, PortalError>(())
    })
}

/// Marks a cart cancelled (the citizen's choice at Checkout) or failed.
pub fn cart_abandoned(db: &Db, cart_id: i64, cancelled: bool, now: Now) -> Result<(), PortalError> {
    let state = if cancelled { CartState::Cancelled } else { CartState::Failed };
    Ok(db.write(|tx| carts::update_cart_state(tx, cart_id, state, None, &now.iso()))?)
}

/// Whether a cart of this session paid the debt.
pub fn session_paid(db: &Db, session_hash: &str, debt_id: i64) -> Result<bool, PortalError> {
    Ok(db.read(|conn| carts::session_paid_debt(conn, session_hash, debt_id))?)
}

/// The amount shown for a cart.
pub fn total(views: &[PaymentView]) -> Cents {
    Cents::new(views.iter().map(|v| v.amount().get()).sum())
}
