//! Feature services: the rules that need the store, between the adapters (CLI, web, SOAP) and the
//! domain + store below.
//!
//! A service function validates its input with `domain`, opens one transaction through
//! `store::Db::write`, writes the change and its audit entry together, and returns plain records.
//! Adapters never call `store` for writes; they call a service, so every channel applies the same
//! rules (DESIGN: "one way to do each thing").
//! **Invariant:** services never format for a surface (no HTML, no SOAP, no exit codes).

pub mod debt_types;
pub mod debts;
pub mod demo;
pub mod imports;
pub mod journal;
pub mod operators;
pub mod orgs;
pub mod passwords;
pub mod payments;
pub mod reporting;

use crate::store::StoreError;

/// Why a service refused or failed. Adapters map each variant to their surface (exit code 2 for
/// `Invalid` in the CLI, 400/404/409 on the web).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A value is malformed or breaks a rule; `field` names it as the user typed it.
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A debt row broke one or more import rules, each with MyPay's code.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Rejected(Vec<crate::domain::debt_row::RowError>),
    /// What was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// It exists already, or the change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen (no randomness, a broken hash parameter set).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ServiceError {
        ServiceError::Invalid { field: field.into(), reason: reason.into() }
    }

    /// Whether the caller, not the system, is at fault (bad input, a missing object, a conflict).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, ServiceError::Store(StoreError::Sqlite(_)) | ServiceError::Internal(_))
    }
}

/// Trims a free-text input and maps an empty one to `None`.
pub(crate) fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Checks a free-text field's length in characters.
pub(crate) fn check_len(field: &str, value: &str, max: usize) -> Result<(), ServiceError> {
    if value.chars().count() > max {
        return Err(ServiceError::invalid(field, format!("must be at most {max} characters")));
    }
    Ok(())
}
