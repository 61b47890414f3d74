//! Upstream mode: mypay as a municipality's box behind a regional MyPay. `outbox`: the durable,
//! ordered queue of debt changes mirrored to the Region and their sending through a port
//! ([`outbox::RegionDebts`]) that the upstream adapter implements; `flows`: a debt flow mirrored
//! whole (upload, status, the Region's `_IUV`/`_SCARTI` mapped back onto the local import);
//! `outcomes`: the Region's payment outcomes as receipts on the box, push hints confirmed through a
//! port ([`outcomes::RegionOutcomes`]); `polling`: the Region's receipt export read by cursor.

#[cfg(test)]
mod fake_region;
pub mod flows;
// The driver that calls them with the real SIL client is wired when the upstream branches merge.
pub mod outbox;
#[cfg_attr(not(test), allow(dead_code, reason = "called by the upstream driver, wired at the merge"))]
pub mod outcomes;
#[cfg_attr(not(test), allow(dead_code, reason = "called by the upstream driver, wired at the merge"))]
pub mod polling;
