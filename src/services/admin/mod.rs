//! Administration: what an installation and each org are set up with, and who may do what. Orgs
//! (with their logo; `adhesion`: the mode each joined with, the channel check, the onboarding checklist), operators (login, roles, passwords; an org admin's management of their own
//! operators), debt types, API tokens, what an operator may reach (`access`), password hashing,
//! and the back office's reading of the audit journal.

pub mod access;
pub mod adhesion;
#[cfg(test)]
mod adhesion_channels;
pub mod api_tokens;
pub mod audit_log;
pub mod debt_types;
pub mod logo;
pub mod operators;
pub mod org_operators;
pub mod orgs;
pub mod passwords;
