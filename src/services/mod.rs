//! Feature services: the rules that need the store, between the adapters (CLI, web, SOAP) and the
//! domain + store below.
//!
//! A service function validates its input with `domain`, opens one transaction through
//! `store::Db::write`, writes the change and its audit entry together, and returns plain records.
//! Adapters never call `store` for writes; they call a service, so every channel applies the same
//! rules (DESIGN: "one way to do each thing").
//! **Invariant:** services never format for a surface (no HTML, no SOAP, no exit codes).
//!
//! One folder per capability, named for who it serves or what it keeps:
//! - `admin`: how the installation and each org are set up and who may do what: orgs and their
//!   logo, operators and their login, debt types, API tokens, an operator's reach (`access`),
//!   password hashing, the back office's reading of the audit journal.
//! - `debts`: debt positions and the files about them: one debt, the search, flows in
//!   (`imports`), exports out, and the data of printable notices and receipts (`documents`).
//! - `payments`: what the pagoPA Node drives (verify, payment data, receipts) and what follows a
//!   receipt: the outcome push, anomalies, the PSPs' reporting flows, the dashboard's figures.
//! - `portal`: the citizens' side: what is offered, carts, PINs and mails, a citizen's own debts
//!   and receipts, privacy notices, the sweep of stale carts and sessions.
//! - `sil`: the municipality's own systems: SIL access, payment sessions, single debts, queries,
//!   uploads.
//! - `reconciliation`: payments matched across receipts, reporting flows, notifications and the
//!   treasury; the accertamenti and operators' notes beside them.
//! - `gdpr`: personal data's retention purge, the data subject's rights, the register of
//!   processing (art. 30).
//! - `upstream`: the box behind a regional node: each org's settings and credentials there, the
//!   region's outcome pushes kept as hints, the outbox of debt changes mirrored to the Region, and
//!   payments started at the box that go through the Region.
//!
//! Beside them, what every area shares or what serves the installation as a whole: this module's
//! [`ServiceError`] and audit helper, `ids` (random identifiers), `links` (every signed link and
//! token), `sessions` (web sessions, citizens' and operators'), `journal` (the group commit of
//! exchange audit entries), `background` (the job handlers), `backup`, `demo`, and `testkit`
//! (tests only).
//!
//! Errors, one per area, each converting with `From` from the areas it calls: [`ServiceError`] is
//! the common refusal, the one of `admin`, `debts` and what the areas share;
//! `payments::PaymentError` is what the station answers as `PAA_*` faults; `portal::PortalError`
//! what the portal's pages say in Italian; `sil::SilError` MyPay's fault codes, the refusals of a
//! SIL caller's credentials included. The refusals an adapter must tell apart are variants of its
//! area's type: an operator's at login or at an org (`ServiceError::Access`, with
//! `admin::access::AccessDenied` saying which: one answer for every login refusal, "not logged in"
//! apart from "not yours"), an export request's with MyPay's code (`ServiceError::ExportRefused`).
//! `admin::logo`'s decoding errors never leave the area: `admin::orgs::set_logo` turns them into
//! a `ServiceError`.

pub mod admin;
pub mod background;
pub mod backup;
pub mod debts;
pub mod demo;
pub mod gdpr;
pub mod ids;
pub mod journal;
pub mod links;
pub mod payments;
pub mod portal;
pub mod reconciliation;
pub mod sessions;
pub mod sil;
#[cfg(test)]
pub(crate) mod testkit;
pub mod upstream;

use crate::clock::Now;
use crate::domain::{Email, Iban};
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
    /// An export request MyPay refuses, with its code (`debts::exports`).
    #[error("{code}: {message}")]
    ExportRefused { code: &'static str, message: String },
    /// An export's file could not be written (`debts::exports`).
    #[error("cannot write the export file: {0}")]
    ExportFile(#[source] std::io::Error),
    /// Bulk work stopped between two units because the process is stopping; it is queued again.
    #[error("stopped by shutdown")]
    Interrupted,
    /// An operator refused, at login or at an org (`admin::access`).
    #[error(transparent)]
    Access(#[from] admin::access::AccessDenied),
    /// The org's adhesion mode does not include the channel (`admin::adhesion`).
    #[error(transparent)]
    NotAdmitted(#[from] admin::adhesion::NotAdmitted),
    /// A note on an element its label's result set does not hold (`reconciliation::notes`).
    #[error(transparent)]
    NoteElementUnknown(#[from] reconciliation::notes::UnknownElement),
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
        !matches!(
            self,
            ServiceError::Store(StoreError::Sqlite(_) | StoreError::ReadOnly)
                | ServiceError::ExportFile(_)
                | ServiceError::Interrupted
                | ServiceError::Internal(_)
        )
    }
}

/// One administrative change for the audit journal: who did what to which object, and the object
/// before and after (JSON), recorded in the transaction that makes the change.
pub(crate) struct Change<'a> {
    pub actor: &'a str,
    pub org_id: Option<i64>,
    pub action: &'a str,
    pub object: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// Appends `change` to the audit journal.
pub(crate) fn journal_change(tx: &crate::store::Conn, change: &Change<'_>, now: Now) -> Result<(), StoreError> {
    let entry = crate::store::audit::AuditEntry {
        actor: change.actor,
        org_id: change.org_id,
        action: change.action,
        object: Some(change.object),
        outcome: "OK",
        before_json: change.before,
        after_json: change.after,
        ..Default::default()
    };
    crate::store::audit::insert_audit(tx, &entry, &now.iso())
}

/// Trims a free-text input and maps an empty one to `None`.
pub(crate) fn non_empty(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Checks a free-text field: at most `max` characters, and no control character but line breaks
/// and tabs (a NUL or an escape sequence would reach the Node's XML, documents and logs).
pub(crate) fn check_len(field: &str, value: &str, max: usize) -> Result<(), ServiceError> {
    if value.chars().count() > max {
        return Err(ServiceError::invalid(field, format!("must be at most {max} characters")));
    }
    if value.contains(|c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ServiceError::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

// Field parsers shared by the org and debt-type services: `Some("")` clears an optional field.

pub(crate) fn set_text(
    slot: &mut Option<String>,
    value: &Option<String>,
    field: &str,
    max: usize,
) -> Result<(), ServiceError> {
    if let Some(value) = value {
        let value = non_empty(Some(value));
        if let Some(v) = &value {
            check_len(field, v, max)?;
        }
        *slot = value;
    }
    Ok(())
}

pub(crate) fn parse_iban(field: &str, value: &str) -> Result<Option<String>, ServiceError> {
    match non_empty(Some(value)) {
        None => Ok(None),
        Some(v) => {
            Ok(Some(Iban::parse(&v).map_err(|err| ServiceError::invalid(field, err.to_string()))?.as_str().to_owned()))
        }
    }
}

pub(crate) fn parse_email(field: &str, value: &str) -> Result<Option<String>, ServiceError> {
    match non_empty(Some(value)) {
        None => Ok(None),
        Some(v) => {
            Ok(Some(Email::parse(&v).map_err(|err| ServiceError::invalid(field, err.to_string()))?.as_str().to_owned()))
        }
    }
}

pub(crate) fn parse_two_letters(field: &str, value: &str) -> Result<Option<String>, ServiceError> {
    match non_empty(Some(value)) {
        None => Ok(None),
        Some(v) if v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()) => Ok(Some(v.to_ascii_uppercase())),
        Some(v) => Err(ServiceError::invalid(field, format!("{v:?} must be two letters"))),
    }
}

pub(crate) fn parse_url(field: &str, value: &str) -> Result<Option<String>, ServiceError> {
    match non_empty(Some(value)) {
        None => Ok(None),
        Some(v)
            if (v.starts_with("https://") || v.starts_with("http://"))
                && v.len() <= 2048
                && !v.contains(|c: char| c.is_whitespace() || c.is_control()) =>
        {
            Ok(Some(v))
        }
        Some(v) => Err(ServiceError::invalid(field, format!("{v:?} must be an http:// or https:// address"))),
    }
}

/// A postal account number (conto corrente postale): up to 18 digits; empty clears it.
pub(crate) fn parse_postal_account(value: &str) -> Result<Option<String>, ServiceError> {
    match non_empty(Some(value)) {
        Some(account) if !(account.len() <= 18 && account.bytes().all(|b| b.is_ascii_digit())) => {
            Err(ServiceError::invalid("postal-account", format!("{account:?} must be up to 18 digits")))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn free_text_refuses_control_characters_but_keeps_line_breaks() {
        assert!(check_len("name", "Comune di Prova", 50).is_ok());
        assert!(check_len("privacy-notice", "Riga 1\r\nRiga 2\tfine", 50).is_ok());
        assert!(check_len("name", "Comune\u{0}", 50).is_err());
        assert!(check_len("name", "Comune\u{1b}[2J", 50).is_err());
        assert!(check_len("name", &"x".repeat(51), 50).is_err());
    }
}
