//! Upstream mode: mypay as a municipality's box behind a regional MyPay. `outbox`: the durable,
//! ordered queue of debt changes mirrored to the Region and their sending through a port
//! ([`outbox::RegionDebts`]) that the upstream adapter implements; `flows`: a debt flow mirrored
//! whole (upload, status, the Region's `_IUV`/`_SCARTI` mapped back onto the local import).

pub mod flows;
pub mod outbox;
