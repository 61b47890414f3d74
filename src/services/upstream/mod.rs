//! Upstream mode (issue 18): the box as a municipality's intermediary behind a regional MyPay,
//! reached through MyPay's own SIL web services. `payments`: how a payment started at the box goes
//! through the Region instead of pagoPA Checkout.

pub mod payments;
