//! The rules behind MyPay's SIL web services: who may call them (`access`), the payment sessions
//! a SIL opens for a citizen (`sessions`), single debts it inserts, changes or annuls (`debts`),
//! what it may ask (`queries`), the debt flows it uploads with a token (`uploads`) and the reporting
//! flows it lists and downloads (`reporting`); beside them, MyPivot's SIL services (`pivot`).
//!
//! [`SilError`] is every refusal of the area; the SIL adapter answers each with MyPay's fault bean
//! and the REST API and the portal's landing page read the same codes.

pub mod access;
pub mod debts;
pub mod pivot;
pub mod pivot_export;
pub mod queries;
pub mod reporting;
pub mod sessions;
pub mod uploads;

use crate::domain::OrgState;
use crate::services::ServiceError;
use crate::services::portal::PortalError;
use crate::store::StoreError;

/// Why a SIL call was refused: a rule with MyPay's fault code, a caller who may not call, or a
/// system failure.
#[derive(Debug, thiserror::Error)]
pub enum SilError {
    #[error("{code}: {description}")]
    Fault { code: &'static str, description: String },
    #[error("org {0} is unknown")]
    UnknownOrg(String),
    /// The org exists but is not in production.
    #[error("org {ipa} is in state {state}")]
    NotInProduction { ipa: String, state: OrgState },
    #[error("wrong SIL password for org {0}")]
    BadPassword(String),
    /// Too many wrong passwords from this address: refused without checking.
    #[error("too many wrong SIL passwords for org {0} from this address")]
    Throttled(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for SilError {
    fn from(err: StoreError) -> SilError {
        SilError::Service(ServiceError::Store(err))
    }
}

impl From<PortalError> for SilError {
    fn from(err: PortalError) -> SilError {
        match err {
            PortalError::Service(inner) => SilError::Service(inner),
            other => fault("PAA_SYSTEM_ERROR", other.to_string()),
        }
    }
}

/// A refusal with `code`.
pub fn fault(code: &'static str, description: impl Into<String>) -> SilError {
    SilError::Fault { code, description: description.into() }
}
