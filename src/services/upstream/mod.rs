//! Upstream mode: the box of a municipality behind a regional MyPay (issue 18). Here: how the
//! Region's payment outcomes become receipts on the box, confirming a push hint (`outcomes`) or
//! polling the Region's receipt export (`polling`).

// The driver that calls them with the real SIL client is wired when the upstream branches merge.
#[cfg(test)]
mod fake_region;
#[cfg_attr(not(test), allow(dead_code, reason = "called by the upstream driver, wired at the merge"))]
pub mod outcomes;
#[cfg_attr(not(test), allow(dead_code, reason = "called by the upstream driver, wired at the merge"))]
pub mod polling;
