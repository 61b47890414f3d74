//! The citizen portal's rules: what it offers (`catalog`, and the forms of `spontaneous`
//! payments), the cart handed to Checkout and its outcome (`carts`), e-mail verification PINs
//! (`pins`) and the sending of the mails the portal queues (`mail`), a logged-in citizen's own
//! debts and receipts (`account`), the orgs' privacy notices (`privacy_notices`), and the sweep of
//! stale carts and sessions (`housekeeping`).
//!
//! [`PortalError`] is every refusal of the area; the portal's pages map each variant to an Italian
//! sentence.

pub mod account;
pub mod carts;
pub mod catalog;
pub mod housekeeping;
pub mod mail;
pub mod pins;
pub mod privacy_notices;
pub mod spontaneous;

use crate::services::ServiceError;
use crate::services::payments::PaymentError;
use crate::store::StoreError;
use carts::CART_MAX;

/// Why a portal action was refused.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error("a code typed by the citizen is not valid: {0:?}")]
    BadCode(carts::CodeProblem),
    #[error("the cart already holds {CART_MAX} notices")]
    CartFull,
    #[error("a notice with more than one beneficiary must be paid alone")]
    MultiBeneficiary,
    #[error("the notice is already in the cart")]
    AlreadyInCart,
    #[error("the cart is empty")]
    EmptyCart,
    #[error("a privacy notice changed after the page showed it; it must be accepted again")]
    NoticeChanged,
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
