//! The citizen portal's rules: finding a payable notice, the cart's limits, carts handed to
//! Checkout and their outcome read from the receipts, and e-mail verification PINs (hashed by
//! [`super::links::Links`]).
//!
//! The Checkout call itself is made by the web adapter (`pagopa::checkout`) between
//! [`prepare_cart`] and [`cart_sent`], so no transaction is held across HTTP.
//! **Invariant:** a cart's outcome comes only from stored receipts, never from the browser.

use jiff::civil::Date;

use super::ServiceError;
use super::links::Links;
use super::payments::{self, PaymentError, PaymentView};
use crate::clock::Now;
use crate::domain::{ApplicationCode, CartState, Cents, DebtState, Iuv, NoticeNumber};
use crate::store::carts::{self, CartItemRecord, CartRecord};
use crate::store::receipts::{self, ReceiptRecord};
use crate::store::{Db, StoreError, debts, mail, orgs, sessions};

/// pagoPA Checkout takes at most 5 notices per cart.
pub const CART_MAX: usize = 5;
/// The privacy notice's version, recorded with every acceptance.
pub const PRIVACY_VERSION: &str = "1.0";
/// PINs a session, or an address, may ask for per hour.
pub const PINS_PER_HOUR: i64 = 5;
/// Wrong guesses that kill a PIN.
pub const PIN_ATTEMPTS: i64 = 5;

/// Why a portal action was refused.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error("the notice code is neither an 18-digit notice number nor an IUV")]
    BadNoticeCode,
    #[error("the cart already holds {CART_MAX} notices")]
    CartFull,
    #[error("a notice with more than one beneficiary must be paid alone")]
    MultiBeneficiary,
    #[error("the notice is already in the cart")]
    AlreadyInCart,
    #[error("the cart is empty")]
    EmptyCart,
    #[error("too many PINs requested; try again later")]
    PinRateLimited,
    #[error("wrong PIN")]
    PinWrong,
    #[error("the PIN has expired")]
    PinExpired,
    #[error("the PIN was already used")]
    PinUsed,
    #[error("too many wrong PINs")]
    PinDead,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for PortalError {
    fn from(err: StoreError) -> PortalError {
        PortalError::Service(ServiceError::Store(err))
    }
}

/// A notice in a cart, as the session keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub org_fiscal_code: String,
    pub notice_number: String,
}

/// Reads what a citizen typed as a notice code: 18 digits (spaces allowed) or an IUV of 17 (or 15,
/// with the org's application code) characters.
pub fn parse_notice_code(db: &Db, org_fiscal_code: &str, code: &str) -> Result<NoticeNumber, PortalError> {
    let compact: String = code.chars().filter(|c| !matches!(c, ' ' | '\t' | '-')).collect();
    if compact.len() == 18 {
        return NoticeNumber::parse(&compact).map_err(|_| PortalError::BadNoticeCode);
    }
    let iuv = Iuv::parse(&compact).map_err(|_| PortalError::BadNoticeCode)?;
    let app = db
        .read(|conn| orgs::find_org_by_fiscal_code(conn, org_fiscal_code))?
        .and_then(|org| org.application_code)
        .and_then(|c| ApplicationCode::parse(&c).ok());
    iuv.notice_number(app).ok_or(PortalError::BadNoticeCode)
}

/// Looks a notice up as the Node's verify does: unknown, paid, annulled and expired notices are
/// refused with their [`PaymentError`].
pub fn find_payable(
    db: &Db,
    org_fiscal_code: &str,
    notice: &NoticeNumber,
    today: Date,
) -> Result<PaymentView, PortalError> {
    Ok(payments::verify(db, org_fiscal_code.trim(), notice, today)?)
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
        let notice = NoticeNumber::parse(&line.notice_number).map_err(|_| PortalError::BadNoticeCode)?;
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
}

/// Records a cart about to go to Checkout (state `IN_PAGAMENTO`) and the acceptance of each org's
/// privacy notice; returns the cart with its new random token.
pub fn prepare_cart(db: &Db, views: &[PaymentView], new: &NewCart<'_>, now: Now) -> Result<CartRecord, PortalError> {
    if views.is_empty() {
        return Err(PortalError::EmptyCart);
    }
    let total = views.iter().try_fold(0i64, |acc, v| acc.checked_add(v.amount().get())).unwrap_or(i64::MAX);
    let items = views
        .iter()
        .zip(1..)
        .map(|(v, position)| CartItemRecord {
            position,
            org_id: v.org.id,
            debt_id: v.debt.id,
            notice_number: v.debt.notice_number.clone().unwrap_or_default(),
            amount_cents: v.amount().get(),
        })
        .collect();
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
        cart.id = carts::insert_cart(tx, &cart, &iso)?;
        let mut seen = Vec::new();
        for v in views {
            if !seen.contains(&v.org.id) {
                seen.push(v.org.id);
                carts::insert_privacy_acceptance(
                    tx,
                    v.org.id,
                    PRIVACY_VERSION,
                    Some(cart.id),
                    new.session_hash,
                    new.citizen_id,
                    &iso,
                )?;
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

/// How long a cart may stay `IN_PAGAMENTO` before the housekeeping sweep gives it up.
pub const CART_PAYMENT_MINUTES: i64 = 60;

/// What one housekeeping sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Carts in payment for more than [`CART_PAYMENT_MINUTES`], now `ANNULLATO`.
    pub carts_expired: usize,
    /// Expired sessions deleted.
    pub sessions_deleted: usize,
}

/// The periodic sweep: carts left at Checkout for more than an hour are marked `ANNULLATO` (a
/// receipt arriving later still shows on the outcome page, which reads the receipts), and expired
/// sessions are deleted. One transaction.
pub fn housekeeping(db: &Db, now: Now) -> Result<Swept, PortalError> {
    let before = crate::clock::iso(now.instant() - jiff::SignedDuration::from_mins(CART_PAYMENT_MINUTES));
    let iso = now.iso();
    Ok(db.write(|tx| {
        Ok::<_, StoreError>(Swept {
            carts_expired: carts::update_stale_carts_abandoned(tx, &before, &iso)?,
            sessions_deleted: sessions::delete_expired_sessions(tx, &iso)?,
        })
    })?)
}

/// Whether a cart of this session paid the debt.
pub fn session_paid(db: &Db, session_hash: &str, debt_id: i64) -> Result<bool, PortalError> {
    Ok(db.read(|conn| carts::session_paid_debt(conn, session_hash, debt_id))?)
}

/// The receipt with this id.
pub fn receipt(db: &Db, id: i64) -> Result<Option<ReceiptRecord>, PortalError> {
    Ok(db.read(|conn| receipts::find_receipt_by_id(conn, id))?)
}

/// The open debts of a fiscal code across orgs, with their org's name and fiscal code.
pub fn debts_of(
    db: &Db,
    fiscal_code: &str,
) -> Result<Vec<(crate::store::debts::DebtRecord, String, String)>, PortalError> {
    db.read(|conn| {
        let list =
            debts::list_debts_of_debtor(conn, fiscal_code, &[DebtState::Inserted, DebtState::PaymentStarted], 200)?;
        let all = orgs::list_orgs(conn)?;
        Ok(list
            .into_iter()
            .filter_map(|d| {
                let org = all.iter().find(|o| o.id == d.org_id)?;
                Some((d, org.name.clone(), org.fiscal_code.clone()))
            })
            .collect())
    })
}

/// The receipts where a fiscal code is debtor or payer.
pub fn receipts_of(db: &Db, fiscal_code: &str) -> Result<Vec<ReceiptRecord>, PortalError> {
    Ok(db.read(|conn| receipts::list_receipts_of_party(conn, fiscal_code, 200))?)
}

/// Issues a 6-digit PIN for `email` and queues the mail `compose(pin)` = (subject, body) in the same
/// transaction. Refused past [`PINS_PER_HOUR`] per session or per address.
pub fn issue_pin(
    db: &Db,
    links: &Links,
    session_hash: &str,
    email: &str,
    now: Now,
    compose: impl FnOnce(&str) -> (String, String),
) -> Result<(), PortalError> {
    let email = email.trim().to_lowercase();
    let iso = now.iso();
    let hour_ago = crate::clock::iso(now.instant() - jiff::SignedDuration::from_hours(1));
    let expires = crate::clock::iso(now.instant() + jiff::SignedDuration::from_hours(1));
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    let pin = format!("{:06}", u32::from_le_bytes(random) % 1_000_000);
    let pin_hash = links.pin_hash(session_hash, &email, &pin);
    let (subject, body) = compose(&pin);
    db.write(|tx| {
        let (by_session, by_email) = mail::count_pins_since(tx, session_hash, &email, &hour_ago)?;
        if by_session >= PINS_PER_HOUR || by_email >= PINS_PER_HOUR {
            return Err(PortalError::PinRateLimited);
        }
        mail::insert_pin(tx, session_hash, &email, &pin_hash, &iso, &expires)?;
        mail::insert_mail(tx, &email, &subject, &body, &iso)?;
        Ok(())
    })
}

/// Checks the PIN typed for the session's latest request; a right PIN is used up.
pub fn check_pin(db: &Db, links: &Links, session_hash: &str, pin: &str, now: Now) -> Result<String, PortalError> {
    let iso = now.iso();
    db.write(|tx| {
        let Some(record) = mail::find_latest_pin(tx, session_hash)? else {
            return Err(PortalError::PinWrong);
        };
        if record.used_at.is_some() {
            return Err(PortalError::PinUsed);
        }
        if record.expires_at.as_str() <= iso.as_str() {
            return Err(PortalError::PinExpired);
        }
        if record.attempts >= PIN_ATTEMPTS {
            return Err(PortalError::PinDead);
        }
        if !links.verify_pin(session_hash, &record.email, pin.trim(), &record.pin_hash) {
            mail::update_pin_attempt(tx, record.id)?;
            return Err(PortalError::PinWrong);
        }
        mail::update_pin_used(tx, record.id, &iso)?;
        Ok(record.email)
    })
}

/// `n` random bytes in hex.
pub fn random_hex(n: usize) -> Result<String, ServiceError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|err| ServiceError::Internal(format!("no randomness: {err}")))?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The amount shown for a cart.
pub fn total(views: &[PaymentView]) -> Cents {
    Cents::new(views.iter().map(|v| v.amount().get()).sum())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn housekeeping_expires_old_carts_and_deletes_expired_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(&dir.path().join("mypay.db")).unwrap();
        let cart = |token: &str, state: CartState, at: &str| {
            let record = CartRecord {
                token: token.to_owned(),
                session_hash: "s".to_owned(),
                state,
                total_cents: 100,
                ..CartRecord::default()
            };
            db.write(|tx| carts::insert_cart(tx, &record, at)).unwrap();
        };
        cart("old", CartState::InPayment, "2026-03-01T08:59:00Z");
        cart("recent", CartState::InPayment, "2026-03-01T09:30:00Z");
        cart("paid", CartState::Paid, "2026-03-01T07:00:00Z");
        let session = |hash: &str, expires: &str| sessions::SessionRecord {
            id_hash: hash.to_owned(),
            csrf_token: "c".to_owned(),
            data_json: "{}".to_owned(),
            created_at: "2026-03-01T08:00:00Z".to_owned(),
            last_seen_at: "2026-03-01T08:00:00Z".to_owned(),
            expires_at: expires.to_owned(),
            ..Default::default()
        };
        db.write(|tx| sessions::insert_session(tx, &session("gone", "2026-03-01T09:00:00Z"))).unwrap();
        db.write(|tx| sessions::insert_session(tx, &session("live", "2026-03-01T10:30:00Z"))).unwrap();

        let now = Now::at("2026-03-01T10:00:00Z".parse().unwrap());
        let swept = housekeeping(&db, now).unwrap();
        assert_eq!(swept, Swept { carts_expired: 1, sessions_deleted: 1 });
        let state = |token: &str| db.read(|c| carts::find_cart_by_token(c, token)).unwrap().unwrap().state;
        assert_eq!(
            (state("old"), state("recent"), state("paid")),
            (CartState::Cancelled, CartState::InPayment, CartState::Paid)
        );
        let live = |hash: &str| db.read(|c| sessions::find_live_session(c, hash, "2026-03-01T00:00:00Z")).unwrap();
        assert!(live("gone").is_none() && live("live").is_some());
        assert_eq!(housekeeping(&db, now).unwrap(), Swept::default());
    }
}
