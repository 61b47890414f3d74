//! The rules behind MyPay's SIL web services: who may call them (`access`), the payment sessions
//! a SIL opens for a citizen (`sessions`), single debts it inserts, changes or annuls (`debts`),
//! what it may ask (`queries`) and the debt flows it uploads with a token (`uploads`).

pub mod access;
pub mod debts;
pub mod queries;
pub mod sessions;
pub mod uploads;
